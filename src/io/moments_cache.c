/*
 * moments_cache.c — the patch moments of every frame of a video (nn/
 * moments.c, ssvae_video_moments) in a .npy file beside a cache of the
 * video, mapped like the video: a training run on a video larger than
 * memory then holds neither the frames nor their moments (784 doubles a
 * colour frame) in memory, and a second run skips computing them.
 */
#define _DEFAULT_SOURCE /* madvise */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ssvae.h"

/* Frames whose moments are computed and written at a time. */
#define CHUNK 256

static void release_pages(const void *p, size_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p / page * page, hi = (uintptr_t)p + len;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int ssvae_moments_cache(const char *path, const uint8_t *video, int T, int C, int H, int W,
                        int mapped, ssvae_array *out, int *written, ssvae_error *err)
{
    size_t size = ssvae_frame_moments_size(C), frame = (size_t)H * W * C;
    if (written) *written = 0;
    if (access(path, R_OK) == 0) {
        if (ssvae_npy_map(path, out, err)) return -1;
        if (out->dtype == SSVAE_F64 && out->ndim == 2 && out->shape[0] == T &&
            out->shape[1] == (int64_t)size)
            return 0;
        ssvae_array_free(out);
        return ssvae_fail(err, "%s: not the patch moments of this video (%d frames, %zu doubles "
                          "each): remove it", path, T, size);
    }
    double *buf = malloc((size_t)CHUNK * size * sizeof *buf);
    if (!buf) return ssvae_fail(err, "%s: out of memory", path);
    int64_t shape[2] = {T, (int64_t)size};
    ssvae_npy_stream s;
    if (ssvae_npy_stream_open(&s, path, SSVAE_F64, 2, shape, err)) {
        free(buf);
        return -1;
    }
    for (int t0 = 0; t0 < T; t0 += CHUNK) {
        int n = T - t0 < CHUNK ? T - t0 : CHUNK;
        const uint8_t *src = video + (size_t)t0 * frame;
        ssvae_video_moments(buf, src, n, C, H, W);
        if (mapped) release_pages(src, (size_t)n * frame);
        if (ssvae_npy_stream_write(&s, buf, (size_t)n * size * sizeof *buf, err)) {
            ssvae_npy_stream_close(&s, 0, NULL);
            free(buf);
            return -1;
        }
    }
    free(buf);
    if (ssvae_npy_stream_close(&s, 1, err)) return -1;
    if (written) *written = 1;
    return ssvae_npy_map(path, out, err);
}
