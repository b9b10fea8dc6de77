/*
 * array.c — the n-dimensional array every file reader hands back: element
 * sizes of the dtypes, element counts, and freeing (or unmapping).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ssvae.h"

size_t ssvae_dtype_size(ssvae_dtype dtype)
{
    switch (dtype) {
    case SSVAE_U8: return 1;
    case SSVAE_F32: return 4;
    case SSVAE_F64: return 8;
    }
    return 0; /* not a dtype: callers treat size 0 as an error */
}

/* Product of the shape; 1 for a scalar (ndim 0). Readers have already
 * checked that the product fits, so no overflow test here. */
int64_t ssvae_array_count(const ssvae_array *a)
{
    int64_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= a->shape[i];
    return n;
}

void ssvae_array_free(ssvae_array *a)
{
    if (!a)
        return;
    if (a->map)
        munmap(a->map, a->map_len);
    else
        free(a->data);
    memset(a, 0, sizeof *a);
}

const char *ssvae_array_describe(const ssvae_array *a, char *buf, size_t len)
{
    static const char *const names[] = {"uint8", "float32", "float64"};
    const char *dt = (unsigned)a->dtype <= SSVAE_F64 ? names[a->dtype] : "unknown";
    size_t n = (size_t)snprintf(buf, len, "%s of shape (", dt);
    for (int i = 0; i < a->ndim && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
    if (n < len) snprintf(buf + n, len - n, "%s)", a->ndim == 1 ? "," : "");
    return buf;
}
