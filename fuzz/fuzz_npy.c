/*
 * fuzz_npy.c — libFuzzer harness for the .npy reader (ssvae_npy_read).
 * Any input must give either an array whose buffer holds the whole shape,
 * or a one-line error naming the file; never a crash, leak or huge
 * allocation (libFuzzer's -rss_limit_mb and ASan's malloc limit catch those).
 */
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    ssvae_array a;
    ssvae_error err = {{0}};
    if (ssvae_npy_read(path, &a, &err) != 0) {
        fuzz_check_error(path, &err);
        if (a.data) abort(); /* a failed read leaves the array empty */
        return 0;
    }
    if (!a.data || a.ndim < 0 || a.ndim > SSVAE_MAXDIM) abort();
    fuzz_touch(a.data, (size_t)ssvae_array_count(&a) * ssvae_dtype_size(a.dtype));
    ssvae_array_free(&a);
    return 0;
}
