#define _DEFAULT_SOURCE /* madvise, realpath */
/*
 * video.c — a user's video in whichever form it comes: a .npy file, a
 * folder holding frames.npy, or a folder of PNG frames. Whatever the form,
 * the result is one (T, H, W, C) uint8 array, the encoder's input.
 *
 *   .npy        (T, H, W, C) or (T, H, W) (then C = 1); uint8, or float32 /
 *               float64 in [0, 1], quantised to bytes as round(255 x)
 *               (nearest, ties to even). A value outside [0, 1] or not
 *               finite is an error, not clamped.
 *   PNG folder  every *.png (any case, hidden files skipped) in natural
 *               name order (frame_2 before frame_10; zero-padded names sort
 *               as they read); 8- or 16-bit grey, grey + alpha, RGB, RGBA or
 *               palette, through io/png.c. All frames must share size and
 *               channels; 16-bit samples are scaled to 8 bits.
 *
 * Checked for every form: at least 2 frames, H and W at least 8, 1 to 32
 * channels, frames of at most 2^26 pixels.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <limits.h>

#include "io/png.h"
#include "ssvae.h"

#define VIDEO_MAXCH 32          /* the convolutions' channel limit (nn/conv3x3) */
#define VIDEO_MAXPIX (1 << 26)  /* pixels a frame, as ssvae_model_init allows */

/* Shape rules shared by every form; names the file. */
static int check_shape(const char *path, int64_t T, int64_t H, int64_t W, int64_t C,
                       ssvae_error *err)
{
    if (T < 2)
        return ssvae_fail(err, "%s: a video needs at least 2 frames, got %lld", path, (long long)T);
    if (H < 8 || W < 8)
        return ssvae_fail(err, "%s: frames must be at least 8x8 pixels, got %lldx%lld (W x H)", path,
                          (long long)W, (long long)H);
    if (H * W > VIDEO_MAXPIX)
        return ssvae_fail(err, "%s: frames of %lldx%lld pixels are too large (at most %d pixels)", path,
                          (long long)W, (long long)H, VIDEO_MAXPIX);
    if (C < 1 || C > VIDEO_MAXCH)
        return ssvae_fail(err, "%s: frames must have 1 to %d channels, got %lld", path, VIDEO_MAXCH,
                          (long long)C);
    if (T > INT32_MAX / 2)
        return ssvae_fail(err, "%s: too many frames (%lld)", path, (long long)T);
    return 0;
}

/* ---- .npy ---- */

/* Drops pages of a read-only file mapping from this process's resident
 * memory (they stay in the page cache); p .. p + len inside the mapping. */
static void release_pages(const void *p, size_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p / page * page, hi = (uintptr_t)p + len;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* The frames of a .npy video: a uint8 one mapped (never copied); a float
 * one checked and quantised frame by frame, into memory, or with cache
 * (not NULL) into that .npy file through its stream (out then holds the
 * shape only). */
static int read_npy(const char *path, ssvae_array *out, int *quantised, const char *cache,
                    ssvae_error *err)
{
    ssvae_array a;
    /* Mapped, not read: a uint8 video stays the file's pages (larger than
     * memory is fine); a float one is read from the mapping once. */
    if (ssvae_npy_map(path, &a, err))
        return -1;
    static const char *const names[] = {"uint8", "float32", "float64"};
    if (a.ndim != 3 && a.ndim != 4) {
        char found[200];
        int ndim = a.ndim; /* both taken before the free zeroes a */
        ssvae_array_describe(&a, found, sizeof found);
        ssvae_array_free(&a);
        return ssvae_fail(err, "%s: expected frames of shape (T, H, W, C) or (T, H, W), found %d dimensions: %s",
                          path, ndim, found);
    }
    if (a.ndim == 3) {
        a.shape[3] = 1;
        a.ndim = 4;
    }
    if (check_shape(path, a.shape[0], a.shape[1], a.shape[2], a.shape[3], err)) {
        ssvae_array_free(&a);
        return -1;
    }
    if (a.dtype == SSVAE_U8 && !cache) {
        *out = a;
        return 0;
    }
    /* float32 / float64 in [0, 1] -> round(255 x), a frame at a time: a
     * frame is checked before it is converted, so nothing is kept of a
     * file we refuse. */
    int64_t n = ssvae_array_count(&a), T = a.shape[0], per = n / T;
    size_t item = ssvae_dtype_size(a.dtype);
    ssvae_array res = a;
    res.map = NULL;
    res.map_len = 0;
    res.dtype = SSVAE_U8;
    uint8_t *bytes = NULL, *frame = NULL;
    ssvae_npy_stream st = {0};
    int rc = -1;
    if (cache) {
        frame = malloc((size_t)per);
        if (!frame || ssvae_npy_stream_open(&st, cache, SSVAE_U8, 4, res.shape, err)) {
            if (!frame) ssvae_fail(err, "%s: out of memory", path);
            goto done;
        }
    } else if (!(bytes = malloc((size_t)n))) { /* n > 0: check_shape passed */
        ssvae_fail(err, "%s: out of memory (%lld bytes)", path, (long long)n);
        goto done;
    }
    for (int64_t t = 0; t < T; t++) {
        const uint8_t *src = (const uint8_t *)a.data + (size_t)(t * per) * item;
        uint8_t *dst = cache ? frame : bytes + (size_t)(t * per);
        for (int64_t i = 0; i < per; i++) {
            double x = a.dtype == SSVAE_U8 ? src[i]
                       : a.dtype == SSVAE_F32 ? ((const float *)src)[i] : ((const double *)src)[i];
            if (a.dtype != SSVAE_U8 && !(x >= 0.0 && x <= 1.0)) {
                ssvae_fail(err, "%s: %s frames must lie in [0, 1]; frame %lld holds %g", path,
                           names[a.dtype], (long long)t, x);
                goto done;
            }
            dst[i] = a.dtype == SSVAE_U8 ? (uint8_t)x : (uint8_t)lrint(255.0 * x);
        }
        if (cache) {
            if (ssvae_npy_stream_write(&st, frame, (size_t)per, err)) goto done;
            release_pages(src, (size_t)per * item);
        }
    }
    if (cache && ssvae_npy_stream_close(&st, 1, err)) goto done;
    res.data = bytes;
    bytes = NULL;
    *out = res;
    if (quantised && a.dtype != SSVAE_U8)
        *quantised = 1;
    rc = 0;
done:
    if (st.f) ssvae_npy_stream_close(&st, 0, NULL);
    free(bytes);
    free(frame);
    ssvae_array_free(&a);
    return rc;
}

/* ---- a folder of PNG frames ---- */

/* Natural order: runs of digits compare as numbers (shorter run of equal
 * value first, so "01" after "1"), everything else byte by byte. */
static int natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            const char *za = a, *zb = b;
            while (*za == '0') za++;
            while (*zb == '0') zb++;
            const char *ea = za, *eb = zb;
            while (*ea >= '0' && *ea <= '9') ea++;
            while (*eb >= '0' && *eb <= '9') eb++;
            if (ea - za != eb - zb) return ea - za < eb - zb ? -1 : 1;
            int c = strncmp(za, zb, (size_t)(ea - za));
            if (c) return c;
            if ((ea - a) != (eb - b)) return (ea - a) < (eb - b) ? -1 : 1;
            a = ea;
            b = eb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int name_cmp(const void *x, const void *y)
{
    const char *a = *(const char *const *)x, *b = *(const char *const *)y;
    int c = natural_cmp(a, b);
    return c ? c : strcmp(a, b);
}

static int has_png_suffix(const char *name)
{
    size_t n = strlen(name);
    if (n < 5) return 0;
    const char *s = name + n - 4;
    return s[0] == '.' && (s[1] | 32) == 'p' && (s[2] | 32) == 'n' && (s[3] | 32) == 'g';
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* The sorted names of the folder's PNG files; *count 0 if none. */
static int list_pngs(const char *dir, char ***out, int *count, ssvae_error *err)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return ssvae_fail(err, "%s: cannot open folder: %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_png_suffix(e->d_name)) continue;
        if (n == cap) {
            if (cap >= (1 << 24)) {
                closedir(d);
                free_names(names, n);
                return ssvae_fail(err, "%s: more than %d PNG files", dir, 1 << 24);
            }
            cap = cap ? 2 * cap : 64;
            char **grown = realloc(names, (size_t)cap * sizeof *names);
            if (!grown) {
                closedir(d);
                free_names(names, n);
                return ssvae_fail(err, "%s: out of memory listing the folder", dir);
            }
            names = grown;
        }
        names[n] = strdup(e->d_name);
        if (!names[n]) {
            closedir(d);
            free_names(names, n);
            return ssvae_fail(err, "%s: out of memory listing the folder", dir);
        }
        n++;
    }
    closedir(d);
    if (n) qsort(names, (size_t)n, sizeof *names, name_cmp);
    *out = names;
    *count = n;
    return 0;
}

/* The PNG frames of dir, decoded one at a time, into memory, or with cache
 * (not NULL) into that .npy file (out then holds the shape only). */
static int read_png_folder(const char *dir, ssvae_array *out, const char *cache, ssvae_error *err)
{
    ssvae_npy_stream stream = {0};
    char **names;
    int n;
    if (list_pngs(dir, &names, &n, err)) return -1;
    if (n == 0) return ssvae_fail(err, "%s: no frames.npy and no .png frames in the folder", dir);
    int rc = -1, w0 = 0, h0 = 0, c0 = 0;
    size_t frame_bytes = 0;
    uint8_t *video = NULL;
    char path[4200];
    for (int t = 0; t < n; t++) {
        if (snprintf(path, sizeof path, "%s/%s", dir, names[t]) >= (int)sizeof path) {
            ssvae_fail(err, "%s/%s: path too long", dir, names[t]);
            goto done;
        }
        struct stat st;
        if (stat(path, &st) || !S_ISREG(st.st_mode)) {
            ssvae_fail(err, "%s: not a regular file", path);
            goto done;
        }
        uint8_t *px;
        int w, h, c;
        if (ssvae_png_read_frame(path, &px, &w, &h, &c, err)) goto done;
        if (t == 0) {
            if (check_shape(path, n, h, w, c, err)) {
                free(px);
                /* a single frame is the folder's fault, not the file's */
                if (n < 2) ssvae_fail(err, "%s: a video needs at least 2 frames, the folder has 1 (%s)", dir, names[0]);
                goto done;
            }
            w0 = w; h0 = h; c0 = c;
            frame_bytes = (size_t)w * h * c;
            if (cache) {
                int64_t shape[4] = {n, h, w, c};
                if (ssvae_npy_stream_open(&stream, cache, SSVAE_U8, 4, shape, err)) {
                    free(px);
                    goto done;
                }
            } else if ((size_t)n > SIZE_MAX / frame_bytes || !(video = malloc((size_t)n * frame_bytes))) {
                free(px);
                ssvae_fail(err, "%s: out of memory for %d frames of %dx%dx%d", dir, n, w, h, c);
                goto done;
            }
        } else if (w != w0 || h != h0 || c != c0) {
            free(px);
            ssvae_fail(err, "%s: frame is %dx%d with %d channel%s, but %s is %dx%d with %d", path, w, h, c,
                       c == 1 ? "" : "s", names[0], w0, h0, c0);
            goto done;
        }
        int bad = cache ? ssvae_npy_stream_write(&stream, px, frame_bytes, err) : 0;
        if (!cache) memcpy(video + (size_t)t * frame_bytes, px, frame_bytes);
        free(px);
        if (bad) goto done;
    }
    if (cache && ssvae_npy_stream_close(&stream, 1, err)) goto done;
    memset(out, 0, sizeof *out);
    out->dtype = SSVAE_U8;
    out->ndim = 4;
    out->shape[0] = n; out->shape[1] = h0; out->shape[2] = w0; out->shape[3] = c0;
    out->data = video;
    video = NULL;
    rc = 0;
done:
    if (stream.f) ssvae_npy_stream_close(&stream, 0, NULL);
    free(video);
    free_names(names, n);
    return rc;
}

int ssvae_video_read(const char *path, ssvae_array *frames, int *quantised, ssvae_error *err)
{
    memset(frames, 0, sizeof *frames);
    if (quantised) *quantised = 0;
    struct stat st;
    if (stat(path, &st)) return ssvae_fail(err, "%s: %s", path, strerror(errno));
    if (S_ISREG(st.st_mode)) return read_npy(path, frames, quantised, NULL, err);
    if (!S_ISDIR(st.st_mode)) return ssvae_fail(err, "%s: %s, not a .npy file or a folder of frames", path, ssvae_file_kind(st.st_mode));
    char npy[4200];
    if (snprintf(npy, sizeof npy, "%s/frames.npy", path) >= (int)sizeof npy)
        return ssvae_fail(err, "%s: path too long", path);
    if (stat(npy, &st) == 0) return read_npy(npy, frames, quantised, NULL, err);
    return read_png_folder(path, frames, NULL, err);
}

/* ---- the decoded cache ---- */

/* FNV-1a, 64 bits: a name for a cache file, not a defence against anyone. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t fnv_stat(uint64_t h, const struct stat *st)
{
    int64_t v[4] = {(int64_t)st->st_size, (int64_t)st->st_mtim.tv_sec, (int64_t)st->st_mtim.tv_nsec,
                    (int64_t)st->st_ino};
    return fnv(h, v, sizeof v);
}

int ssvae_video_key(const char *path, char key[17], ssvae_error *err)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st)) return ssvae_fail(err, "%s: %s", path, strerror(errno));
    uint64_t h = fnv(0xcbf29ce484222325ULL, real, strlen(real) + 1);
    char npy[PATH_MAX + 16];
    snprintf(npy, sizeof npy, "%s/frames.npy", real);
    struct stat ns;
    if (S_ISREG(st.st_mode)) {
        h = fnv_stat(h, &st);
    } else if (S_ISDIR(st.st_mode) && stat(npy, &ns) == 0) {
        h = fnv_stat(fnv(h, "frames.npy", 11), &ns);
    } else if (S_ISDIR(st.st_mode)) {
        char **names;
        int n;
        if (list_pngs(real, &names, &n, err)) return -1;
        for (int t = 0; t < n; t++) {
            char f[PATH_MAX + 256];
            snprintf(f, sizeof f, "%s/%s", real, names[t]);
            struct stat fs;
            if (stat(f, &fs)) {
                ssvae_fail(err, "%s: %s", f, strerror(errno));
                free_names(names, n);
                return -1;
            }
            h = fnv_stat(fnv(h, names[t], strlen(names[t]) + 1), &fs);
        }
        free_names(names, n);
    } else {
        return ssvae_fail(err, "%s: not a file or a folder", path);
    }
    snprintf(key, 17, "%016llx", (unsigned long long)h);
    return 0;
}

int ssvae_video_open(const char *path, const char *cache_dir, ssvae_array *frames, int *quantised,
                     int *cache_state, ssvae_error *err)
{
    if (cache_state) *cache_state = 0;
    if (!cache_dir) return ssvae_video_read(path, frames, quantised, err);
    memset(frames, 0, sizeof *frames);
    if (quantised) *quantised = 0;
    struct stat st;
    if (stat(path, &st)) return ssvae_fail(err, "%s: %s", path, strerror(errno));
    char npy[4200];
    const char *src = path;
    if (S_ISDIR(st.st_mode)) {
        if (snprintf(npy, sizeof npy, "%s/frames.npy", path) >= (int)sizeof npy)
            return ssvae_fail(err, "%s: path too long", path);
        if (stat(npy, &st) == 0) src = npy;
    }
    /* A uint8 .npy is mapped where it is: nothing to cache. */
    if (src != path || S_ISREG(st.st_mode)) {
        ssvae_array a;
        if (ssvae_npy_map(src, &a, err)) return -1;
        int u8 = a.dtype == SSVAE_U8;
        ssvae_array_free(&a);
        if (u8) return read_npy(src, frames, quantised, NULL, err);
    }
    char key[17], cache[4200];
    if (ssvae_video_key(path, key, err)) return -1;
    if (snprintf(cache, sizeof cache, "%s/%s.frames.npy", cache_dir, key) >= (int)sizeof cache)
        return ssvae_fail(err, "%s: path too long", cache_dir);
    if (access(cache, R_OK)) {
        /* Not there yet (or the video changed, so its key did): decode. */
        ssvae_array shape_only;
        int rc = src != path || S_ISREG(st.st_mode) ? read_npy(src, &shape_only, quantised, cache, err)
                                                     : read_png_folder(path, &shape_only, cache, err);
        if (rc) return -1;
        if (cache_state) *cache_state = 2;
    } else if (cache_state) {
        *cache_state = 1;
    }
    /* The cache is ours: read it as any uint8 video, mapped. */
    if (read_npy(cache, frames, NULL, NULL, err)) return -1;
    if (quantised && (src != path || S_ISREG(st.st_mode))) *quantised = 1;
    return 0;
}

int ssvae_video_shape(const char *path, int64_t shape[4], ssvae_error *err)
{
    struct stat st;
    if (stat(path, &st)) return ssvae_fail(err, "%s: %s", path, strerror(errno));
    char npy[4200];
    const char *file = path;
    if (S_ISDIR(st.st_mode)) {
        if (snprintf(npy, sizeof npy, "%s/frames.npy", path) >= (int)sizeof npy)
            return ssvae_fail(err, "%s: path too long", path);
        if (stat(npy, &st) == 0) {
            file = npy;
        } else {
            /* A PNG folder: the count of frames and the first one's size
             * (each later frame is checked when the video is read). */
            char **names;
            int n;
            if (list_pngs(path, &names, &n, err)) return -1;
            if (n == 0) return ssvae_fail(err, "%s: no frames.npy and no .png frames in the folder", path);
            int rc = -1;
            uint8_t *px = NULL;
            int w, h, c;
            if (snprintf(npy, sizeof npy, "%s/%s", path, names[0]) >= (int)sizeof npy)
                ssvae_fail(err, "%s/%s: path too long", path, names[0]);
            else if (ssvae_png_read_frame(npy, &px, &w, &h, &c, err) == 0) {
                shape[0] = n; shape[1] = h; shape[2] = w; shape[3] = c;
                rc = check_shape(npy, n, h, w, c, err);
            }
            free(px);
            free_names(names, n);
            return rc;
        }
    } else if (!S_ISREG(st.st_mode)) {
        return ssvae_fail(err, "%s: %s, not a .npy file or a folder of frames", path, ssvae_file_kind(st.st_mode));
    }
    ssvae_array a;
    if (ssvae_npy_read_header(file, &a, err)) return -1;
    if (a.ndim != 3 && a.ndim != 4) {
        char found[200];
        return ssvae_fail(err, "%s: expected frames of shape (T, H, W, C) or (T, H, W), found %d dimensions: %s",
                          file, a.ndim, ssvae_array_describe(&a, found, sizeof found));
    }
    shape[0] = a.shape[0]; shape[1] = a.shape[1]; shape[2] = a.shape[2];
    shape[3] = a.ndim == 4 ? a.shape[3] : 1;
    return check_shape(file, shape[0], shape[1], shape[2], shape[3], err);
}
