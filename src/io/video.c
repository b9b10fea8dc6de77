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
#include <sys/stat.h>

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

static int read_npy(const char *path, ssvae_array *out, int *quantised, ssvae_error *err)
{
    ssvae_array a;
    if (ssvae_npy_read(path, &a, err))
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
    if (a.dtype == SSVAE_U8) {
        *out = a;
        return 0;
    }
    /* float32 / float64 in [0, 1] -> round(255 x); the check comes first so
     * that nothing is allocated for a file we refuse. */
    int64_t n = ssvae_array_count(&a);
    for (int64_t i = 0; i < n; i++) {
        double x = a.dtype == SSVAE_F32 ? ((const float *)a.data)[i] : ((const double *)a.data)[i];
        if (!(x >= 0.0 && x <= 1.0)) {
            int64_t frame = n ? i / (n / a.shape[0]) : 0;
            ssvae_fail(err, "%s: %s frames must lie in [0, 1]; frame %lld holds %g", path,
                       names[a.dtype], (long long)frame, x);
            ssvae_array_free(&a);
            return -1;
        }
    }
    uint8_t *bytes = n > 0 ? malloc((size_t)n) : NULL; /* n > 0: check_shape passed */
    if (!bytes) {
        ssvae_array_free(&a);
        return ssvae_fail(err, "%s: out of memory (%lld bytes)", path, (long long)n);
    }
    for (int64_t i = 0; i < n; i++) {
        double x = a.dtype == SSVAE_F32 ? ((const float *)a.data)[i] : ((const double *)a.data)[i];
        bytes[i] = (uint8_t)lrint(255.0 * x);
    }
    free(a.data);
    a.data = bytes;
    a.dtype = SSVAE_U8;
    *out = a;
    if (quantised)
        *quantised = 1;
    return 0;
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

static int read_png_folder(const char *dir, ssvae_array *out, ssvae_error *err)
{
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
            if ((size_t)n > SIZE_MAX / frame_bytes || !(video = malloc((size_t)n * frame_bytes))) {
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
        memcpy(video + (size_t)t * frame_bytes, px, frame_bytes);
        free(px);
    }
    memset(out, 0, sizeof *out);
    out->dtype = SSVAE_U8;
    out->ndim = 4;
    out->shape[0] = n; out->shape[1] = h0; out->shape[2] = w0; out->shape[3] = c0;
    out->data = video;
    video = NULL;
    rc = 0;
done:
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
    if (S_ISREG(st.st_mode)) return read_npy(path, frames, quantised, err);
    if (!S_ISDIR(st.st_mode)) return ssvae_fail(err, "%s: %s, not a .npy file or a folder of frames", path, ssvae_file_kind(st.st_mode));
    char npy[4200];
    if (snprintf(npy, sizeof npy, "%s/frames.npy", path) >= (int)sizeof npy)
        return ssvae_fail(err, "%s: path too long", path);
    if (stat(npy, &st) == 0) return read_npy(npy, frames, quantised, err);
    return read_png_folder(path, frames, err);
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
