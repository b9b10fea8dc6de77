/*
 * test_video.c — a user's own video: every input form ssvae_video_read
 * takes (PNG folders in every colour type and bit depth, .npy files of
 * uint8 or float, folders with frames.npy), paired training, the resumable
 * checkpoint's reader, a malformed-input suite (each broken file rejected
 * with a one-line message naming it and saying what is wrong), and the
 * program end to end at other shapes: generate, train, resume, encode,
 * probe.
 */
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "scratch.h"
#include "ssvae.h"

static int nmalformed;  /* broken inputs rejected, for the closing line */

/* A PNG through libpng: channels 1..4 (grey, grey + alpha, RGB, RGBA),
 * depth 8 or 16; samples (h, w, channels) as unsigned values. */
static void write_png(const char *path, int w, int h, int channels, int depth, const uint16_t *samples)
{
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGBA};
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) abort();
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, types[channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    int bps = depth / 8;
    unsigned char *row = malloc((size_t)w * channels * bps);
    for (int y = 0; y < h; y++) {
        for (int i = 0; i < w * channels; i++) {
            uint16_t v = samples[(size_t)y * w * channels + i];
            if (bps == 2) { row[2 * i] = (unsigned char)(v >> 8); row[2 * i + 1] = (unsigned char)v; }
            else row[i] = (unsigned char)v;
        }
        png_write_row(png, row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    fclose(f);
}

/* An 8-bit palette PNG with 4 entries, pixel (x, y) = entry (x + y) % 4;
 * with_trns: entry 0 transparent. */
static void write_palette_png(const char *path, int w, int h, int with_trns)
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) abort();
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_color pal[4] = {{10, 20, 30}, {40, 50, 60}, {70, 80, 90}, {200, 210, 220}};
    png_set_PLTE(png, info, pal, 4);
    png_byte alpha[1] = {0};
    if (with_trns) png_set_tRNS(png, info, alpha, 1, NULL);
    png_write_info(png, info);
    unsigned char *row = malloc((size_t)w);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) row[x] = (unsigned char)((x + y) % 4);
        png_write_row(png, row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    fclose(f);
}

/* A folder of n frames frame_<i>.png (unpadded names), w x h, each frame t
 * with every sample equal to (t * 16 + channel) (scaled to 16 bits as
 * value * 257 when depth is 16). */
static void write_png_folder(const char *folder, int n, int w, int h, int channels, int depth)
{
    mkdir(folder, 0777);
    uint16_t *s = malloc((size_t)w * h * channels * sizeof *s);
    for (int t = 0; t < n; t++) {
        for (int i = 0; i < w * h * channels; i++) {
            uint16_t v = (uint16_t)((t * 16 + i % channels) & 255);
            s[i] = depth == 16 ? (uint16_t)(v * 257) : v;
        }
        char p[600];
        snprintf(p, sizeof p, "%s/frame_%d.png", folder, t);
        write_png(p, w, h, channels, depth, s);
    }
    free(s);
}

/* A .npy written through the library. */
static void write_npy(const char *path, ssvae_dtype dt, int ndim, const int64_t *shape, const void *data)
{
    ssvae_error err;
    if (ssvae_npy_write(path, dt, ndim, shape, data, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
}

/* ---- PNG chunk surgery: CRC-32 as in the PNG specification ------------ */

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

/* Rewrites the CRC of the chunk starting at byte off (its length field). */
static void fix_crc(unsigned char *file, size_t off)
{
    uint32_t len = (uint32_t)file[off] << 24 | file[off + 1] << 16 | file[off + 2] << 8 | file[off + 3];
    put_be32(file + off + 8 + len, crc32_png(file + off + 4, 4 + len));
}

/* ---- the reader on good input ----------------------------------------- */

static void test_png_forms(void)
{
    /* every colour type and depth: values and channel counts */
    int chans[4] = {1, 2, 3, 4};
    for (int ci = 0; ci < 4; ci++)
        for (int depth = 8; depth <= 16; depth += 8) {
            char name[64];
            snprintf(name, sizeof name, "png_c%d_d%d", chans[ci], depth);
            const char *folder = in_dir(name);
            write_png_folder(folder, 12, 9, 8, chans[ci], depth);
            ssvae_array a;
            ssvae_error err;
            int q = -1;
            int rc = ssvae_video_read(folder, &a, &q, &err);
            CHECK(rc == 0, "%s: %s", folder, err.msg);
            if (rc) continue;
            CHECK(a.dtype == SSVAE_U8 && a.ndim == 4 && a.shape[0] == 12 && a.shape[1] == 8 && a.shape[2] == 9 &&
                  a.shape[3] == chans[ci] && q == 0, "%s: shape (%lld, %lld, %lld, %lld)", folder,
                  (long long)a.shape[0], (long long)a.shape[1], (long long)a.shape[2], (long long)a.shape[3]);
            /* natural order: frame_10 after frame_9, not after frame_1 */
            int bad = 0;
            const uint8_t *px = a.data;
            for (int t = 0; t < 12; t++)
                for (int i = 0; i < 72 * chans[ci]; i++)
                    bad += px[(size_t)t * 72 * chans[ci] + i] != ((t * 16 + i % chans[ci]) & 255);
            CHECK(bad == 0, "%s: %d samples differ (order, 16-bit scaling or channels)", folder, bad);
            ssvae_array_free(&a);
        }

    /* 16-bit samples scale with rounding: 128 -> 0, 129 -> 1, 65535 -> 255 */
    const char *f16 = in_dir("png16");
    mkdir(f16, 0777);
    uint16_t s[64];
    for (int i = 0; i < 64; i++) s[i] = i == 0 ? 128 : i == 1 ? 129 : i == 2 ? 65535 : 0;
    write_png(in_dir("png16/a.png"), 8, 8, 1, 16, s);
    write_png(in_dir("png16/b.png"), 8, 8, 1, 16, s);
    ssvae_array a;
    ssvae_error err;
    CHECK(ssvae_video_read(f16, &a, NULL, &err) == 0, "%s", err.msg);
    if (a.data) {
        const uint8_t *p = a.data;
        CHECK(p[0] == 0 && p[1] == 1 && p[2] == 255, "16-bit scaling: %d %d %d", p[0], p[1], p[2]);
    }
    ssvae_array_free(&a);

    /* palettes: RGB, and RGBA with a tRNS chunk; mixed bit depths are fine */
    const char *pal = in_dir("palette");
    mkdir(pal, 0777);
    write_palette_png(in_dir("palette/0.png"), 8, 8, 0);
    write_palette_png(in_dir("palette/1.png"), 8, 8, 0);
    uint16_t rgb16[8 * 8 * 3];
    for (int i = 0; i < 8 * 8 * 3; i++) rgb16[i] = 257 * 7;
    write_png(in_dir("palette/2.png"), 8, 8, 3, 16, rgb16);
    CHECK(ssvae_video_read(pal, &a, NULL, &err) == 0 && a.shape[3] == 3 && a.shape[0] == 3, "palette: %s", err.msg);
    if (a.data) {
        const uint8_t *p = a.data;
        CHECK(p[0] == 10 && p[1] == 20 && p[2] == 30 && p[3] == 40 && p[2 * 192] == 7, "palette values");
    }
    ssvae_array_free(&a);
    const char *palt = in_dir("palette_trns");
    mkdir(palt, 0777);
    write_palette_png(in_dir("palette_trns/0.png"), 8, 8, 1);
    write_palette_png(in_dir("palette_trns/1.png"), 8, 8, 1);
    CHECK(ssvae_video_read(palt, &a, NULL, &err) == 0 && a.shape[3] == 4, "palette with tRNS: %s", err.msg);
    if (a.data) {
        const uint8_t *p = a.data;
        CHECK(p[3] == 0 && p[7] == 255, "tRNS alpha: %d %d", p[3], p[7]);
    }
    ssvae_array_free(&a);
}

static void test_npy_forms(void)
{
    int T = 3, H = 8, W = 10;
    int64_t n = (int64_t)T * H * W * 2;
    uint8_t *u = malloc((size_t)n);
    float *f = malloc((size_t)n * sizeof *f);
    double *d = malloc((size_t)n * sizeof *d);
    for (int64_t i = 0; i < n; i++) {
        u[i] = (uint8_t)(i * 7);
        f[i] = (float)u[i] / 255.0f; /* k/255 in float32 comes back as k */
        d[i] = u[i] / 255.0;
    }
    int64_t s4[4] = {T, H, W, 2}, s3[3] = {T, H, W * 2};
    ssvae_array a;
    ssvae_error err;
    int q;
    write_npy(in_dir("u8.npy"), SSVAE_U8, 4, s4, u);
    CHECK(ssvae_video_read(in_dir("u8.npy"), &a, &q, &err) == 0 && q == 0 && a.shape[3] == 2 &&
          !memcmp(a.data, u, (size_t)n), "uint8 .npy: %s", err.msg);
    ssvae_array_free(&a);
    write_npy(in_dir("f32.npy"), SSVAE_F32, 4, s4, f);
    CHECK(ssvae_video_read(in_dir("f32.npy"), &a, &q, &err) == 0 && q == 1 && a.dtype == SSVAE_U8 &&
          !memcmp(a.data, u, (size_t)n), "float32 k/255 .npy quantises back to k: %s", err.msg);
    ssvae_array_free(&a);
    write_npy(in_dir("f64.npy"), SSVAE_F64, 4, s4, d);
    CHECK(ssvae_video_read(in_dir("f64.npy"), &a, &q, &err) == 0 && q == 1 && !memcmp(a.data, u, (size_t)n),
          "float64 .npy: %s", err.msg);
    ssvae_array_free(&a);
    /* rounding: nearest, ties to even: 0.5/255 -> 0, 1.5/255 -> 2, 0.6/255 -> 1 */
    for (int64_t i = 0; i < n; i++) d[i] = 0;
    d[0] = 0.5 / 255; d[1] = 1.5 / 255; d[2] = 0.6 / 255;
    write_npy(in_dir("round.npy"), SSVAE_F64, 4, s4, d);
    CHECK(ssvae_video_read(in_dir("round.npy"), &a, &q, &err) == 0, "%s", err.msg);
    if (a.data) {
        const uint8_t *p = a.data;
        CHECK(p[0] == 0 && p[1] == 2 && p[2] == 1, "rounding %d %d %d", p[0], p[1], p[2]);
    }
    ssvae_array_free(&a);
    /* (T, H, W) is one channel */
    write_npy(in_dir("grey3d.npy"), SSVAE_U8, 3, s3, u);
    CHECK(ssvae_video_read(in_dir("grey3d.npy"), &a, &q, &err) == 0 && a.ndim == 4 && a.shape[3] == 1 &&
          a.shape[2] == W * 2, "(T, H, W) .npy: %s", err.msg);
    ssvae_array_free(&a);
    /* a folder with frames.npy wins over PNG files beside it */
    const char *fold = in_dir("npyfolder");
    mkdir(fold, 0777);
    write_npy(in_dir("npyfolder/frames.npy"), SSVAE_U8, 4, s4, u);
    write_raw(in_dir("npyfolder/notes.png"), "not a picture", 13);
    CHECK(ssvae_video_read(fold, &a, &q, &err) == 0 && !memcmp(a.data, u, (size_t)n), "folder/frames.npy: %s", err.msg);
    ssvae_array_free(&a);
    free(u); free(f); free(d);
}

/* ---- the malformed-input suite ---------------------------------------- */

/* path must be rejected by ssvae_video_read with one line naming who and
 * containing word. */
static void expect_video_reject(const char *path, const char *who, const char *word)
{
    ssvae_array a;
    ssvae_error err = {{0}};
    int rc = ssvae_video_read(path, &a, NULL, &err);
    nmalformed++;
    CHECK(rc == -1, "%s: accepted, expected '%s'", path, word);
    CHECK(strstr(err.msg, who) && strstr(err.msg, word) && !strchr(err.msg, '\n'),
          "%s: message '%s' should name %s and say '%s'", path, err.msg, who, word);
    CHECK(a.data == NULL, "%s: array not left empty", path);
    if (rc == 0) ssvae_array_free(&a);
}

/* Makes the folder dir/name and returns its path. */
static const char *folder_with(const char *name)
{
    const char *d = in_dir(name);
    mkdir(d, 0777);
    return d;
}

static void test_malformed_png_folders(void)
{
    uint16_t rgb[16 * 16 * 3];
    for (int i = 0; i < 16 * 16 * 3; i++) rgb[i] = (uint16_t)(i & 255);
    char p[600];

    /* empty folder; a folder of other files only */
    const char *d = folder_with("bad_empty");
    expect_video_reject(d, d, "no frames.npy and no .png");
    d = folder_with("bad_others");
    write_raw(in_dir("bad_others/readme.txt"), "hello", 5);
    write_raw(in_dir("bad_others/.hidden.png"), "x", 1);
    expect_video_reject(d, d, "no frames.npy and no .png");

    /* one frame only */
    d = folder_with("bad_one");
    write_png(in_dir("bad_one/0.png"), 16, 16, 3, 8, rgb);
    expect_video_reject(d, d, "at least 2 frames");

    /* a .png that is not a PNG; an empty one */
    d = folder_with("bad_notpng");
    write_png(in_dir("bad_notpng/0.png"), 16, 16, 3, 8, rgb);
    write_raw(in_dir("bad_notpng/1.png"), "GIF89a this is not a PNG", 24);
    expect_video_reject(d, "bad_notpng/1.png", "not a PNG");
    d = folder_with("bad_zero");
    write_png(in_dir("bad_zero/0.png"), 16, 16, 3, 8, rgb);
    write_raw(in_dir("bad_zero/1.png"), "", 0);
    expect_video_reject(d, "bad_zero/1.png", "not a PNG");

    /* truncated: half a file; the signature alone */
    unsigned char *file;
    write_png(in_dir("good.png"), 16, 16, 3, 8, rgb);
    long n = read_all(in_dir("good.png"), &file);
    d = folder_with("bad_trunc");
    write_png(in_dir("bad_trunc/0.png"), 16, 16, 3, 8, rgb);
    write_raw(in_dir("bad_trunc/1.png"), file, (size_t)n / 2);
    expect_video_reject(d, "bad_trunc/1.png", "libpng");
    d = folder_with("bad_sig");
    write_png(in_dir("bad_sig/0.png"), 16, 16, 3, 8, rgb);
    write_raw(in_dir("bad_sig/1.png"), file, 8);
    expect_video_reject(d, "bad_sig/1.png", "libpng");
    /* no IEND: everything but the last 12 bytes */
    d = folder_with("bad_noend");
    write_png(in_dir("bad_noend/0.png"), 16, 16, 3, 8, rgb);
    write_raw(in_dir("bad_noend/1.png"), file, (size_t)n - 12);
    expect_video_reject(d, "bad_noend/1.png", "libpng");

    /* IHDR (at byte 8) with a bad CRC */
    unsigned char *copy = malloc((size_t)n);
    memcpy(copy, file, (size_t)n);
    copy[8 + 8 + 3] ^= 1; /* width's low byte, CRC left as it was */
    d = folder_with("bad_crc");
    write_png(in_dir("bad_crc/0.png"), 16, 16, 3, 8, rgb);
    write_raw(in_dir("bad_crc/1.png"), copy, (size_t)n);
    expect_video_reject(d, "bad_crc/1.png", "libpng");

    /* IHDR claiming 2^30 x 2^30 pixels, CRC fixed: refused before allocating */
    memcpy(copy, file, (size_t)n);
    put_be32(copy + 16, 1u << 30);
    put_be32(copy + 20, 1u << 30);
    fix_crc(copy, 8);
    d = folder_with("bad_huge");
    write_raw(in_dir("bad_huge/0.png"), copy, (size_t)n);
    write_png(in_dir("bad_huge/1.png"), 16, 16, 3, 8, rgb);
    expect_video_reject(d, "bad_huge/0.png", "libpng");

    /* IHDR claiming 4000 x 4000 RGB (48 MB) in a file of a few hundred
     * bytes: more than deflate can pack, refused before decoding */
    memcpy(copy, file, (size_t)n);
    put_be32(copy + 16, 4000);
    put_be32(copy + 20, 4000);
    fix_crc(copy, 8);
    d = folder_with("bad_claims");
    write_raw(in_dir("bad_claims/0.png"), copy, (size_t)n);
    write_png(in_dir("bad_claims/1.png"), 16, 16, 3, 8, rgb);
    expect_video_reject(d, "bad_claims/0.png", "more pixels than the file can hold");

    /* IHDR with width 0, CRC fixed */
    memcpy(copy, file, (size_t)n);
    put_be32(copy + 16, 0);
    fix_crc(copy, 8);
    d = folder_with("bad_width0");
    write_raw(in_dir("bad_width0/0.png"), copy, (size_t)n);
    write_png(in_dir("bad_width0/1.png"), 16, 16, 3, 8, rgb);
    expect_video_reject(d, "bad_width0/0.png", "libpng");

    /* IHDR with bit depth 7 (not a PNG depth), CRC fixed */
    memcpy(copy, file, (size_t)n);
    copy[24] = 7;
    fix_crc(copy, 8);
    d = folder_with("bad_depth");
    write_raw(in_dir("bad_depth/0.png"), copy, (size_t)n);
    write_png(in_dir("bad_depth/1.png"), 16, 16, 3, 8, rgb);
    expect_video_reject(d, "bad_depth/0.png", "libpng");

    /* IDAT with garbage compressed data, CRC fixed: the first chunk after
     * IHDR (8 + 25 bytes in) is IDAT for this file */
    memcpy(copy, file, (size_t)n);
    CHECK(!memcmp(copy + 33 + 4, "IDAT", 4), "the test PNG's second chunk is IDAT");
    uint32_t len = (uint32_t)copy[33] << 24 | copy[34] << 16 | copy[35] << 8 | copy[36];
    for (uint32_t i = 2; i < len; i++) copy[41 + i] ^= 0x5a;
    fix_crc(copy, 33);
    d = folder_with("bad_zlib");
    write_png(in_dir("bad_zlib/0.png"), 16, 16, 3, 8, rgb);
    write_raw(in_dir("bad_zlib/1.png"), copy, (size_t)n);
    expect_video_reject(d, "bad_zlib/1.png", "libpng");
    free(copy);
    free(file);

    /* frames of different sizes; of different channels */
    d = folder_with("bad_sizes");
    write_png(in_dir("bad_sizes/0.png"), 16, 16, 3, 8, rgb);
    write_png(in_dir("bad_sizes/1.png"), 16, 12, 3, 8, rgb);
    expect_video_reject(d, "bad_sizes/1.png", "16x12");
    d = folder_with("bad_channels");
    write_png(in_dir("bad_channels/0.png"), 16, 16, 3, 8, rgb);
    write_png(in_dir("bad_channels/1.png"), 16, 16, 1, 8, rgb);
    expect_video_reject(d, "bad_channels/1.png", "1 channel");

    /* frames smaller than 8x8 */
    d = folder_with("bad_small");
    write_png(in_dir("bad_small/0.png"), 4, 16, 3, 8, rgb);
    write_png(in_dir("bad_small/1.png"), 4, 16, 3, 8, rgb);
    expect_video_reject(d, "bad_small/0.png", "at least 8x8");

    /* a folder named like a frame */
    d = folder_with("bad_subdir");
    write_png(in_dir("bad_subdir/0.png"), 16, 16, 3, 8, rgb);
    mkdir(in_dir("bad_subdir/1.png"), 0777);
    expect_video_reject(d, "bad_subdir/1.png", "not a regular file");

    /* a path that is not there */
    snprintf(p, sizeof p, "%s/missing", dir);
    expect_video_reject(p, p, "No such file");
}

static void test_malformed_npy_videos(void)
{
    uint8_t u[2 * 8 * 8 * 33];
    memset(u, 1, sizeof u);
    float f[2 * 8 * 8];
    for (int i = 0; i < 128; i++) f[i] = 0.5f;
    struct { const char *name; ssvae_dtype dt; int ndim; int64_t shape[5]; const char *word; } cases[] = {
        {"v_2d.npy", SSVAE_U8, 2, {16, 64}, "dimensions"},
        {"v_5d.npy", SSVAE_U8, 5, {2, 8, 8, 1, 1}, "dimensions"},
        {"v_one_frame.npy", SSVAE_U8, 4, {1, 8, 8, 1}, "at least 2 frames"},
        {"v_no_frames.npy", SSVAE_U8, 4, {0, 8, 8, 1}, "at least 2 frames"},
        {"v_short.npy", SSVAE_U8, 4, {2, 4, 16, 1}, "at least 8x8"},
        {"v_narrow.npy", SSVAE_U8, 4, {2, 16, 4, 1}, "at least 8x8"},
        {"v_33ch.npy", SSVAE_U8, 4, {2, 8, 8, 33}, "channels"},
        {"v_0ch.npy", SSVAE_U8, 4, {2, 8, 8, 0}, "channels"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_npy(in_dir(cases[i].name), cases[i].dt, cases[i].ndim, cases[i].shape, u);
        expect_video_reject(in_dir(cases[i].name), cases[i].name, cases[i].word);
    }
    int64_t s[4] = {2, 8, 8, 1};
    f[77] = 1.5f;
    write_npy(in_dir("v_above.npy"), SSVAE_F32, 4, s, f);
    expect_video_reject(in_dir("v_above.npy"), "v_above.npy", "frame 1 holds 1.5");
    f[77] = -0.25f;
    write_npy(in_dir("v_below.npy"), SSVAE_F32, 4, s, f);
    expect_video_reject(in_dir("v_below.npy"), "v_below.npy", "[0, 1]");
    f[77] = NAN;
    write_npy(in_dir("v_nan.npy"), SSVAE_F32, 4, s, f);
    expect_video_reject(in_dir("v_nan.npy"), "v_nan.npy", "[0, 1]");
    f[77] = INFINITY;
    write_npy(in_dir("v_inf.npy"), SSVAE_F32, 4, s, f);
    expect_video_reject(in_dir("v_inf.npy"), "v_inf.npy", "[0, 1]");
    /* broken .npy files through the video path: the npy reader's message */
    write_raw(in_dir("v_magic.npy"), "PK\x03\x04 a zip file", 16);
    expect_video_reject(in_dir("v_magic.npy"), "v_magic.npy", "magic");
    unsigned char *file;
    long n = read_all(in_dir("v_above.npy"), &file);
    write_raw(in_dir("v_cut.npy"), file, (size_t)n - 3);
    expect_video_reject(in_dir("v_cut.npy"), "v_cut.npy", "truncated");
    free(file);
    /* a folder whose frames.npy is broken, or a folder */
    const char *d = folder_with("v_folder_bad");
    write_raw(in_dir("v_folder_bad/frames.npy"), "\x93NUMPY\x01\x00\xff\xff{", 11);
    expect_video_reject(d, "v_folder_bad/frames.npy", "header");
    d = folder_with("v_folder_dir");
    mkdir(in_dir("v_folder_dir/frames.npy"), 0777);
    expect_video_reject(d, "v_folder_dir/frames.npy", "regular");
}

/* ---- resumable checkpoints: the reader's rejections ------------------- */

static void small_video(int T, int W, int H, uint64_t seed, uint8_t **frames, float **centres)
{
    ssvae_balls_config bc;
    ssvae_balls_default(&bc);
    bc.frames = T; bc.width = W; bc.height = H; bc.nballs = 2; bc.radius = 4; bc.step = 4; bc.seed = seed;
    *frames = malloc((size_t)T * W * H * 3);
    *centres = malloc((size_t)T * 2 * 2 * sizeof(float));
    ssvae_error err;
    if (ssvae_balls_generate(&bc, *frames, *centres, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
}

static ssvae_model_config tiny_config(ssvae_prior_kind prior)
{
    ssvae_model_config mc;
    ssvae_model_config_default(&mc);
    mc.H = 16; mc.W = 24; mc.K = 2; mc.F = 3; mc.prior = prior;
    return mc;
}

typedef struct saver { const char *path; const ssvae_train_config *tc; int at; } saver;

static int save_at(void *ctx, const ssvae_model *m, const ssvae_train_state *st, ssvae_error *err)
{
    saver *s = ctx;
    return st->epoch == s->at ? ssvae_train_save(s->path, m, s->tc, st, NULL, 0, err) : 0;
}

/* Writes a resumable checkpoint with its metadata entry key set to value
 * (or its tensor `drop` left out) into bad, from the good one. */
static void rewrite(const char *good, const char *bad, const char *key, const char *value, const char *drop,
                    int shrink)
{
    ssvae_checkpoint ck;
    ssvae_error err;
    if (ssvae_st_read(good, &ck, &err)) abort();
    ssvae_tensor t[32];
    ssvae_meta meta[64];
    int nt = 0;
    for (int i = 0; i < ck.ntensors; i++) {
        if (drop && !strcmp(ck.tensors[i].name, drop)) continue;
        t[nt] = ck.tensors[i];
        if (shrink && !strcmp(t[nt].name, "optim.v")) t[nt].shape[0]--;
        nt++;
    }
    for (int i = 0; i < ck.nmeta; i++) {
        meta[i] = ck.meta[i];
        if (key && !strcmp(meta[i].key, key)) meta[i].value = (char *)value;
    }
    if (ssvae_st_write(bad, t, nt, meta, ck.nmeta, &err)) abort();
    ssvae_st_free(&ck);
}

static void expect_resume_reject(const char *path, const char *word)
{
    ssvae_model m;
    ssvae_train_config tc;
    ssvae_train_state st;
    ssvae_error err = {{0}};
    int rc = ssvae_train_load(path, &m, &tc, &st, &err);
    nmalformed++;
    CHECK(rc == -1 && strstr(err.msg, path) && strstr(err.msg, word) && !strchr(err.msg, '\n'),
          "%s: '%s' should be rejected saying '%s'", path, err.msg, word);
    CHECK(m.params == NULL && st.m == NULL && st.loss == NULL, "nothing left allocated on failure");
    if (rc == 0) { ssvae_model_free(&m); ssvae_train_state_free(&st); }
}

static void test_resume_files(void)
{
    uint8_t *video;
    float *centres;
    int T = 16;
    small_video(T, 24, 16, 7, &video, &centres);
    ssvae_model_config mc = tiny_config(SSVAE_PRIOR_GAUSSIAN);
    ssvae_model m;
    ssvae_error err;
    ssvae_train_config tc;
    ssvae_train_config_default(&tc);
    tc.epochs = 2; tc.batch = 4; tc.optim = SSVAE_ADAM; tc.lr = 0.01;
    const char *good = in_dir("resume.safetensors"), *bad = in_dir("resume_bad.safetensors");
    CHECK(ssvae_model_init(&m, &mc, 1, &err) == 0, "%s", err.msg);
    saver sv = {good, &tc, 2};
    ssvae_train_result res;
    ssvae_train_data td = {.video = video, .partners = NULL, .T = T, .centres = NULL};
    CHECK(ssvae_train_run(&m, &tc, &td, NULL, NULL, save_at, &sv, &res, &err) == 0, "%s", err.msg);
    ssvae_train_result_free(&res);

    /* the good file loads, with the recipe */
    ssvae_model l;
    ssvae_train_config lc;
    ssvae_train_state st;
    CHECK(ssvae_train_load(good, &l, &lc, &st, &err) == 0, "%s", err.msg);
    CHECK(st.epoch == 2 && st.step == 2 * 4 && lc.optim == SSVAE_ADAM && lc.lr == 0.01 && lc.batch == 4 &&
          lc.epochs == 2 && lc.seed == 1 && lc.offset == 1, "recipe and state read back");

    /* resuming on other data, or with another seed: the shuffle does not replay */
    lc.epochs = 3;
    ssvae_train_data other = {.video = video, .partners = NULL, .T = T - 1, .centres = NULL};
    CHECK(ssvae_train_run(&l, &lc, &other, &st, NULL, NULL, NULL, &res, &err) == -1 &&
          strstr(err.msg, "other data"), "resume on other data: %s", err.msg);
    ssvae_train_result_free(&res);
    nmalformed++;
    lc.seed = 2;
    CHECK(ssvae_train_run(&l, &lc, &td, &st, NULL, NULL, NULL, &res, &err) == -1 &&
          strstr(err.msg, "another seed"), "resume with another seed: %s", err.msg);
    ssvae_train_result_free(&res);
    nmalformed++;
    lc.seed = 1;
    lc.epochs = 1;
    CHECK(ssvae_train_run(&l, &lc, &td, &st, NULL, NULL, NULL, &res, &err) == -1 &&
          strstr(err.msg, "already trained 2 epochs"), "resume to fewer epochs: %s", err.msg);
    ssvae_train_result_free(&res);
    ssvae_model_free(&l);
    ssvae_train_state_free(&st);

    /* a model-only checkpoint is not resumable */
    CHECK(ssvae_model_save(&m, bad, NULL, 0, &err) == 0, "%s", err.msg);
    expect_resume_reject(bad, "not a resumable checkpoint");
    /* broken training entries */
    struct { const char *key, *value, *drop; int shrink; const char *word; } cases[] = {
        {"rng", "xyz", NULL, 0, "'rng'"},
        {"rng", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeF", NULL, 0, "'rng'"},
        {"epoch", "-1", NULL, 0, "'epoch'"},
        {"epoch", "3", NULL, 0, "past 'train.epochs'"},
        {"epoch", "two", NULL, 0, "'epoch'"},
        {"optim_step", "1e400", NULL, 0, "'optim_step'"},
        {"optim_step", "2.5", NULL, 0, "'optim_step'"},
        {"losses", "1,2,3", NULL, 0, "'losses'"},
        {"elbos", "1,nan", NULL, 0, "'elbos'"},
        {"losses", "1,,", NULL, 0, "'losses'"},
        {"train.optim", "rmsprop", NULL, 0, "'train.optim'"},
        {"train.lr", "-1", NULL, 0, "'train.lr'"},
        {"train.batch", "1", NULL, 0, "'train.batch'"},
        {"train.seed", "-4", NULL, 0, "'train.seed'"},
        {"train.momentum", "inf", NULL, 0, "'train.momentum'"},
        {NULL, NULL, "optim.m", 0, "'optim.m' is missing"},
        {NULL, NULL, NULL, 1, "'optim.v' has the wrong shape"},
        {"F", "5", NULL, 0, "wrong shape for this architecture"},
        {"head", "linear", NULL, 0, "wrong shape for this architecture"}, /* prior.theta (1) vs linear's (16) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rewrite(good, bad, cases[i].key, cases[i].value, cases[i].drop, cases[i].shrink);
        expect_resume_reject(bad, cases[i].word);
    }
    ssvae_model_free(&m);
    remove(good);
    remove(bad);
    free(video);
    free(centres);
}

/* ---- paired data ------------------------------------------------------ */

/* Training on (video[:-1], partners = video[1:]) is training on the
 * consecutive pairs of video, bit for bit: same pairs, same shuffle. */
static void test_pairs(void)
{
    uint8_t *video;
    float *centres;
    int T = 14, W = 24, H = 16;
    small_video(T, W, H, 3, &video, &centres);
    size_t frame = (size_t)W * H * 3;
    ssvae_model_config mc = tiny_config(SSVAE_PRIOR_LINEAR);
    ssvae_train_config tc;
    ssvae_train_config_default(&tc);
    tc.epochs = 2; tc.batch = 4; tc.optim = SSVAE_ADAM; tc.lr = 0.01;
    ssvae_model a, b;
    ssvae_error err;
    ssvae_train_result ra, rb;
    ssvae_model_init(&a, &mc, 2, &err);
    ssvae_model_init(&b, &mc, 2, &err);
    CHECK(ssvae_train(&a, &tc, video, T, NULL, NULL, NULL, &ra, &err) == 0, "%s", err.msg);
    ssvae_train_data pd = {.video = video, .partners = video + frame, .T = T - 1, .centres = NULL};
    CHECK(ssvae_train_run(&b, &tc, &pd, NULL, NULL, NULL, NULL, &rb, &err) == 0, "%s", err.msg);
    CHECK(memcmp(a.params, b.params, a.nparams * sizeof *a.params) == 0 && ra.loss[1] == rb.loss[1],
          "paired training differs from offset-1 training");
    ssvae_train_result_free(&ra);
    ssvae_train_result_free(&rb);
    /* the supervised baseline takes no pairs */
    ssvae_model s;
    mc.supervised = 1;
    ssvae_model_init(&s, &mc, 2, &err);
    pd.centres = centres;
    CHECK(ssvae_train_run(&s, &tc, &pd, NULL, NULL, NULL, NULL, &rb, &err) == -1 && strstr(err.msg, "paired"),
          "supervised + pairs: %s", err.msg);
    ssvae_train_result_free(&rb);
    ssvae_model_free(&s);
    ssvae_model_free(&a);
    ssvae_model_free(&b);
    free(video);
    free(centres);
}

/* ---- the program end to end ------------------------------------------ */

static char prog[512];

/* Runs `ssvae ARGS` (args formatted with %s = dir), stdout to out (may be
 * NULL), stderr to dir/stderr.txt; returns the exit status and the number
 * of stderr lines in *lines. */
static int run(const char *args, const char *out, int *lines)
{
    char cmd[4096], a[2048], errf[600];
    snprintf(a, sizeof a, args, dir, dir, dir, dir, dir, dir);
    snprintf(errf, sizeof errf, "%s/stderr.txt", dir);
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", prog, a, out ? out : "/dev/null", errf);
    int rc = system(cmd);
    FILE *f = fopen(errf, "r");
    int nl = 0, ch;
    while (f && (ch = fgetc(f)) != EOF) nl += ch == '\n';
    if (f) fclose(f);
    if (lines) *lines = nl;
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The error line of the last run contains word. */
static int said(const char *word)
{
    unsigned char *text;
    char errf[600];
    snprintf(errf, sizeof errf, "%s/stderr.txt", dir);
    long n = read_all(errf, &text);
    if (n < 0) return 0;
    int ok = strstr((char *)text, word) != NULL;
    if (!ok) fprintf(stderr, "stderr was: %s", text);
    free(text);
    return ok;
}

static int file_contains(const char *path, const char *word)
{
    unsigned char *text;
    long n = read_all(path, &text);
    if (n < 0) return 0;
    int ok = strstr((char *)text, word) != NULL;
    free(text);
    return ok;
}

static void test_cli(void)
{
    int lines, st;
    /* generate: 96 x 128 grey, 2 balls, chosen colours */
    st = run("generate --frames 24 --width 128 --height 96 --balls 2 --radius 8 --step 8 --grey "
             "--colours 255,127,80:60,179,113 --seed 3 --out %s/g96", NULL, &lines);
    CHECK(st == 0, "generate grey 96x128: status %d", st);
    ssvae_array a;
    ssvae_error err;
    CHECK(ssvae_npy_read(in_dir("g96/frames.npy"), &a, &err) == 0 && a.ndim == 4 && a.shape[1] == 96 &&
          a.shape[2] == 128 && a.shape[3] == 1, "generated shape");
    if (a.data) {
        /* coral (255+127+80+1)/3 = 154, sea green (60+179+113+1)/3 = 117 */
        int seen = 0, other = 0;
        for (int64_t i = 0; i < ssvae_array_count(&a); i++) {
            int v = ((uint8_t *)a.data)[i];
            seen |= (v == 154) | (v == 117) << 1;
            other += v != 0 && v != 154 && v != 117;
        }
        CHECK(seen == 3 && other == 0, "grey frames: balls seen %d, %d other values", seen, other);
    }
    ssvae_array_free(&a);
    st = run("generate --frames 16 --width 128 --height 96 --balls 2 --radius 8 --step 8 --grey "
             "--colours 255,127,80:60,179,113 --seed 4 --out %s/g96test", NULL, &lines);
    CHECK(st == 0, "generate test video: status %d", st);

    /* train on the grey 96x128 video, score on another, encode, probe */
    char table[600]; /* its own copy: in_dir's buffers rotate */
    snprintf(table, sizeof table, "%s", in_dir("table.txt"));
    st = run("train --data %s/g96 --test %s/g96test --epochs 2 --batch 8 --save %s/g96.st --quiet", table, &lines);
    CHECK(st == 0 && file_contains(table, "probe test"), "train --test at 96x128x1: status %d", st);
    st = run("encode --model %s/g96.st --frames %s/g96/frames.npy --out %s/z96.npy --quiet", NULL, &lines);
    CHECK(st == 0 && lines == 0, "encode: status %d", st);
    CHECK(ssvae_npy_read(in_dir("z96.npy"), &a, &err) == 0 && a.dtype == SSVAE_F32 && a.shape[0] == 24 &&
          a.shape[1] == 4, "latents (24, 4)");
    ssvae_array_free(&a);
    st = run("probe --model %s/g96.st --train %s/g96 --test %s/g96test", table, &lines);
    CHECK(st == 0 && file_contains(table, "chance level"), "probe: status %d", st);

    /* your own targets: the centres as (T, 4), latents from a file and from the model */
    ssvae_array c;
    CHECK(ssvae_npy_read(in_dir("g96/centres.npy"), &c, &err) == 0, "%s", err.msg);
    int64_t s2[2] = {24, 4};
    write_npy(in_dir("y96.npy"), SSVAE_F32, 2, s2, c.data);
    ssvae_array_free(&c);
    st = run("probe --latents-train %s/z96.npy --targets-train %s/y96.npy --latents-test %s/z96.npy "
             "--targets-test %s/y96.npy", table, &lines);
    CHECK(st == 0 && file_contains(table, "rmse_test") && file_contains(table, "mean distance of the 2"),
          "probe own targets: status %d", st);
    st = run("probe --model %s/g96.st --train %s/g96/frames.npy --targets-train %s/y96.npy "
             "--latents-test %s/z96.npy --targets-test %s/y96.npy", table, &lines);
    CHECK(st == 0 && file_contains(table, "rmse_train"), "probe own targets, encoding --train: status %d", st);

    /* a folder of PNG frames (RGBA, unpadded names) with centres.npy */
    uint8_t *video;
    float *centres;
    int T = 20, W = 40, H = 32;
    small_video(T, W, H, 9, &video, &centres);
    const char *pf = in_dir("pngvideo");
    mkdir(pf, 0777);
    uint16_t *s = malloc((size_t)W * H * 4 * sizeof *s);
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < W * H; i++) {
            for (int k = 0; k < 3; k++) s[4 * i + k] = video[((size_t)t * W * H + i) * 3 + k];
            s[4 * i + 3] = 255;
        }
        char name[64];
        snprintf(name, sizeof name, "pngvideo/f%d.png", t);
        write_png(in_dir(name), W, H, 4, 8, s);
    }
    free(s);
    int64_t cs[3] = {T, 2, 2};
    write_npy(in_dir("pngvideo/centres.npy"), SSVAE_F32, 3, cs, centres);
    st = run("train --data %s/pngvideo --test %s/pngvideo --epochs 2 --batch 6 --save %s/png.st --quiet", table, &lines);
    CHECK(st == 0 && file_contains(table, "probe test"), "train on a PNG folder: status %d", st);
    ssvae_model m;
    CHECK(ssvae_model_load(&m, in_dir("png.st"), &err) == 0 && m.cfg.C == 4 && m.cfg.W == 40 && m.cfg.H == 32,
          "PNG-trained model is 40x32x4: %s", err.msg);
    ssvae_model_free(&m);
    st = run("encode --model %s/png.st --data %s/pngvideo --out %s/zpng.npy --quiet", NULL, &lines);
    CHECK(st == 0, "encode a PNG folder: status %d", st);

    /* a float32 .npy file, straight; and --pairs; and --save-every + resume */
    float *fv = malloc((size_t)T * W * H * 3 * sizeof *fv);
    for (size_t i = 0; i < (size_t)T * W * H * 3; i++) fv[i] = video[i] / 255.0f;
    int64_t fs[4] = {T, H, W, 3};
    write_npy(in_dir("float.npy"), SSVAE_F32, 4, fs, fv);
    free(fv);
    st = run("train --data %s/float.npy --epochs 1 --batch 6 --maps 3 --save %s/float.st", NULL, &lines);
    CHECK(st == 0 && said("quantised"), "train on float32 .npy: status %d", st);
    CHECK(ssvae_model_load(&m, in_dir("float.st"), &err) == 0 && m.cfg.K == 3 && m.D == 6, "--maps 3: %s", err.msg);
    ssvae_model_free(&m);
    int64_t hs[4] = {T - 1, H, W, 3};
    write_npy(in_dir("first.npy"), SSVAE_U8, 4, hs, video);
    write_npy(in_dir("next.npy"), SSVAE_U8, 4, hs, video + (size_t)W * H * 3);
    st = run("train --data %s/first.npy --pairs %s/next.npy --epochs 2 --batch 6 --seed 5 --save %s/paired.st --quiet",
             NULL, &lines);
    CHECK(st == 0, "train --pairs: status %d", st);
    st = run("train --data %s/pngvideo --epochs 3 --batch 6 --optim adam --lr 0.01 --save %s/straight.st --quiet",
             NULL, &lines);
    CHECK(st == 0, "straight run: status %d", st);
    st = run("train --data %s/pngvideo --epochs 1 --batch 6 --optim adam --lr 0.01 --save %s/part.st --quiet",
             NULL, &lines);
    st |= run("train --data %s/pngvideo --resume %s/part.st --epochs 3 --save-every 1 --quiet", NULL, &lines);
    CHECK(st == 0, "stop and resume: status %d", st);
    ssvae_model m1, m2;
    CHECK(ssvae_model_load(&m1, in_dir("straight.st"), &err) == 0 && ssvae_model_load(&m2, in_dir("part.st"), &err) == 0,
          "%s", err.msg);
    CHECK(m1.params && m2.params && m1.nparams == m2.nparams && !memcmp(m1.params, m2.params, m1.nparams * 4) &&
          !memcmp(m1.stats, m2.stats, (2 * (size_t)m1.cfg.F + 2 * (size_t)m1.cfg.K) * 4),
          "the CLI's stopped-and-resumed run differs from the straight one");
    ssvae_model_free(&m1);
    ssvae_model_free(&m2);

    /* bad input and bad flags: one line, the right status */
    struct { const char *args; int status; const char *word; } cases[] = {
        {"train --data %s/nothing-here --quiet", 1, "No such file"},
        {"train --data %s/bad_one --quiet", 1, "at least 2 frames"},
        {"train --data %s/bad_sizes --quiet", 1, "16x12"},
        {"train --data %s/bad_notpng --quiet", 1, "not a PNG"},
        /* the frame size is compared from the first frame, before the rest is decoded */
        {"encode --model %s/g96.st --data %s/bad_notpng --quiet", 1, "expects 128x96x1"},
        {"train --data %s/v_nan.npy --quiet", 1, "[0, 1]"},
        {"train --data %s/pngvideo --resume %s/g96.st --quiet", 1, "expects 128x96x1"},
        {"train --data %s/g96 --resume %s/g96.st --prior linear --quiet", 1, "gaussian prior, not linear"},
        {"train --data %s/pngvideo --resume %s/part.st --lr 0.1 --quiet", 2, "only --epochs"},
        {"train --data %s/pngvideo --resume %s/part.st --epochs 2 --quiet", 2, "already trained 3"},
        {"train --data %s/pngvideo --resume %s/resume_plain.st --quiet", 1, "not a resumable checkpoint"},
        {"train --data %s/first.npy --pairs %s/g96 --quiet", 1, "paired videos must match"},
        {"train --data %s/first.npy --pairs %s/next.npy --offset 2 --quiet", 2, "exclude"},
        {"generate --colours 1,2 --out %s/x", 2, "--colours"},
        {"generate --colours 0,0,0:1,1,1:2,2,2 --out %s/x", 2, "black"},
        {"generate --colours 9,9,9 --balls 2 --out %s/x", 2, "1 colour for 2 balls"},
        {"probe --latents-train %s/z96.npy --targets-train %s/y96.npy --latents-test %s/z96.npy "
         "--targets-test %s/pngvideo/centres.npy", 1, "float32 array of shape (T, columns)"},
        {"probe --latents-train %s/z96.npy --targets-train %s/zpng.npy --latents-test %s/z96.npy "
         "--targets-test %s/y96.npy", 1, "has 20 rows, the latents 24"},
    };
    CHECK(ssvae_model_load(&m, in_dir("png.st"), &err) == 0, "%s", err.msg);
    ssvae_model_save(&m, in_dir("resume_plain.st"), NULL, 0, &err);
    ssvae_model_free(&m);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        st = run(cases[i].args, NULL, &lines);
        nmalformed++;
        CHECK(st == cases[i].status && lines == 1 && said(cases[i].word),
              "ssvae %s: status %d (want %d), %d stderr lines", cases[i].args, st, cases[i].status, lines);
    }
    free(video);
    free(centres);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (make_scratch("/tmp/ssvae-test-video-XXXXXX")) abort();
    test_png_forms();
    test_npy_forms();
    test_malformed_png_folders();
    test_malformed_npy_videos();
    test_resume_files();
    test_pairs();
    snprintf(prog, sizeof prog, "%s", argv[0]);
    char *slash = strrchr(prog, '/');
    if (slash) {
        strcpy(slash, "/../ssvae");
        if (access(prog, X_OK)) printf("test_video: %s not built, CLI checks skipped\n", prog);
        else test_cli();
    }
    printf("test_video: %d malformed inputs rejected\n", nmalformed);
    if (!getenv("SSVAE_TEST_KEEP")) remove_tree(dir);
    else printf("test_video: kept %s\n", dir);
    return check_report("test_video");
}
