/*
 * png.c — PNG files through libpng: 8-bit RGB out; in, 8- or 16-bit grey,
 * grey + alpha, RGB, RGBA or palette, to 8 bits. Every libpng call is checked:
 * libpng reports errors through a callback that must not return, so ours
 * records the message and longjmps back into the function that made the
 * call, which frees what it holds and returns -1 with the message. Only
 * libpng's own structures, the FILE and `volatile` locals are touched after
 * the jump (C11 7.13.2.1: other locals changed after setjmp are
 * indeterminate there).
 */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/files.h"
#include "io/png.h"

/* Pictures larger than this many bytes are refused on reading: a hostile
 * header cannot make us allocate gigabytes. */
#define PNG_MAX_BYTES ((size_t)1 << 28)

typedef struct png_ctx {
    jmp_buf jmp;
    char msg[256];
} png_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
    png_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
    longjmp(ctx->jmp, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings (e.g. a bad CRC in an ancillary chunk) are not errors */
}

int ssvae_png_write_tmp(const char *path, const char *tmp, const uint8_t *pixels,
                        int w, int h, int channels, ssvae_error *err)
{
    if (!pixels || w <= 0 || h <= 0 || (channels != 3 && channels != 4))
        return ssvae_fail(err, "%s: bad picture (%d x %d x %d)", path, w, h, channels);
    if (w > 1000000 || h > 1000000)
        return ssvae_fail(err, "%s: picture too large (%d x %d)", path, w, h);
    if (ssvae_output_check(path, NULL, 0, err))
        return -1;
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return ssvae_fail(err, "%s: cannot write: %s", path, strerror(errno));
    png_ctx ctx;
    ctx.msg[0] = '\0';
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        fclose(f);
        remove(tmp);
        return ssvae_fail(err, "%s: out of memory starting libpng", path);
    }
    uint8_t *volatile row = NULL; /* RGB copy of one row when channels == 4 */
    if (setjmp(ctx.jmp)) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        remove(tmp);
        free(row);
        return ssvae_fail(err, "%s: libpng: %s", path, ctx.msg);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 9);
    png_write_info(png, info);
    if (channels == 4) {
        row = malloc((size_t)w * 3);
        if (!row)
            png_error(png, "out of memory"); /* longjmps to the cleanup above */
    }
    for (int y = 0; y < h; y++) {
        const uint8_t *src = pixels + (size_t)y * w * channels;
        if (channels == 4) {
            for (int x = 0; x < w; x++)
                memcpy(row + 3 * x, src + 4 * x, 3);
            src = row;
        }
        png_write_row(png, (png_const_bytep)src);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    bad |= fclose(f) != 0;
    if (bad) {
        if (!e) e = errno;
        remove(tmp);
        return ssvae_fail(err, "%s: cannot write: %s", path, strerror(e));
    }
    return 0;
}

int ssvae_png_write(const char *path, const uint8_t *pixels, int w, int h,
                    int channels, ssvae_error *err)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ssvae_fail(err, "%s: path too long", path);
    if (ssvae_png_write_tmp(path, tmp, pixels, w, h, channels, err))
        return -1;
    return io_commit_output(tmp, path, err);
}

/* Reads path into 8-bit pixels. channels_out 3: converted to RGB (alpha
 * dropped, grey spread); channels_out 0: the file's own channels (grey 1,
 * grey + alpha 2, RGB 3, RGBA 4; a palette becomes RGB, or RGBA where it
 * has transparency). 16-bit samples are scaled to 8 bits with rounding
 * (png_set_scale_16: v * 255 / 65535). */
static int png_read_common(const char *path, int channels_out, uint8_t **pixels,
                           int *w, int *h, int *channels, ssvae_error *err)
{
    *pixels = NULL;
    FILE *f = io_fopen_input(path, err); /* regular files only: a FIFO would block */
    if (!f)
        return -1;
    uint8_t sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8)) {
        fclose(f);
        return ssvae_fail(err, "%s: not a PNG file", path);
    }
    png_ctx ctx;
    ctx.msg[0] = '\0';
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        fclose(f);
        return ssvae_fail(err, "%s: out of memory starting libpng", path);
    }
    uint8_t *volatile data = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(ctx.jmp)) {
        /* libpng says only "Read Error" when the file ends early: say so. */
        int ended = feof(f);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        free(data);
        free(rows);
        if (ended) return ssvae_fail(err, "%s: truncated PNG: the file ends before the picture (libpng: %s)", path, ctx.msg);
        return ssvae_fail(err, "%s: damaged PNG (libpng: %s)", path, ctx.msg);
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    /* libpng's own limits: no picture wider or taller than a million
     * pixels, no ancillary chunk over 1 MB (its defaults are laxer). */
    png_set_user_limits(png, 1000000, 1000000);
    png_set_chunk_malloc_max(png, (png_alloc_size_t)1 << 20);
    /* A damaged stream is an error, not a warning with a partly black
     * picture (libpng's default on reading since 1.6). */
    png_set_benign_errors(png, 0);
    png_read_info(png, info);
    png_uint_32 pw = png_get_image_width(png, info), ph = png_get_image_height(png, info);
    /* Deflate packs at most 1032 bytes into one, so a header claiming
     * more raw bytes than that many times the file's length is a lie:
     * refuse it before anything of that size is allocated. */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 &&
        (double)ph * (double)png_get_rowbytes(png, info) > 1032.0 * (double)st.st_size + 4096.0)
        png_error(png, "the header claims more pixels than the file can hold");
    png_set_expand(png);   /* palette -> RGB(A), grey < 8 bits -> 8, tRNS -> alpha */
    png_set_scale_16(png); /* 16 -> 8 bits, rounded */
    if (channels_out == 3) {
        png_set_strip_alpha(png);
        png_set_gray_to_rgb(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    if (png_get_bit_depth(png, info) != 8 || ch < 1 || ch > 4 || (channels_out && ch != channels_out))
        png_error(png, "unexpected pixel format after conversion to 8 bits");
    if (png_get_rowbytes(png, info) != (size_t)pw * ch)
        png_error(png, "unexpected row size after conversion to 8 bits");
    if ((size_t)pw * ph * ch > PNG_MAX_BYTES)
        png_error(png, "picture too large");
    data = malloc((size_t)pw * ph * ch);
    rows = malloc((size_t)ph * sizeof *rows);
    if (!data || !rows)
        png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < ph; y++)
        rows[y] = data + (size_t)y * pw * ch;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(rows);
    *pixels = data;
    *w = (int)pw;
    *h = (int)ph;
    if (channels)
        *channels = ch;
    return 0;
}

int ssvae_png_read(const char *path, uint8_t **pixels, int *w, int *h,
                   ssvae_error *err)
{
    return png_read_common(path, 3, pixels, w, h, NULL, err);
}

int ssvae_png_read_frame(const char *path, uint8_t **pixels, int *w, int *h,
                         int *channels, ssvae_error *err)
{
    return png_read_common(path, 0, pixels, w, h, channels, err);
}
