/*
 * fuzz_safetensors.c — libFuzzer harness for the safetensors reader
 * (ssvae_st_read). On success every tensor has a name that ssvae_st_find
 * finds and a buffer holding its whole shape; on failure, a one-line error
 * naming the file and nothing left allocated.
 */
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    ssvae_checkpoint ck;
    ssvae_error err = {{0}};
    if (ssvae_st_read(path, &ck, &err) != 0) {
        fuzz_check_error(path, &err);
        if (ck.tensors || ck.meta) abort(); /* a failed read leaves it empty */
        return 0;
    }
    for (int i = 0; i < ck.ntensors; i++) {
        const ssvae_tensor *t = &ck.tensors[i];
        if (!t->name || !t->data || t->ndim < 0 || t->ndim > SSVAE_MAXDIM) abort();
        if (!ssvae_st_find(&ck, t->name)) abort();
        size_t count = 1;
        for (int d = 0; d < t->ndim; d++) count *= (size_t)t->shape[d];
        fuzz_touch(t->data, count * sizeof(float));
    }
    for (int i = 0; i < ck.nmeta; i++)
        if (!ck.meta[i].key || !ck.meta[i].value || !ssvae_st_meta(&ck, ck.meta[i].key)) abort();
    ssvae_st_free(&ck);
    return 0;
}
