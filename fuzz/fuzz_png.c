/*
 * fuzz_png.c — libFuzzer harness for the PNG readers on libpng: each input
 * goes through ssvae_png_read (any PNG to RGB, the figure code's) and
 * ssvae_png_read_frame (video frames, the file's own channels). Every
 * chunk's CRC is recomputed first (png_crc.h).
 * (libpng is not instrumented, so coverage counts only our side of it.)
 */
#include "fuzz_file.h" /* first: it defines _GNU_SOURCE */

#include "io/png.h"
#include "png_crc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    const char *path = fuzz_write_input(copy, size);
    free(copy);
    uint8_t *pixels;
    int w, h, c;
    ssvae_error err = {{0}};
    if (ssvae_png_read(path, &pixels, &w, &h, &err) != 0) {
        fuzz_check_error(path, &err);
        if (pixels) abort(); /* a failed read hands nothing back */
    } else {
        if (!pixels || w < 1 || h < 1) abort();
        fuzz_touch(pixels, (size_t)w * (size_t)h * 3);
        free(pixels);
    }
    memset(&err, 0, sizeof err);
    if (ssvae_png_read_frame(path, &pixels, &w, &h, &c, &err) != 0) {
        fuzz_check_error(path, &err);
        if (pixels) abort();
    } else {
        if (!pixels || w < 1 || h < 1 || c < 1 || c > 4) abort();
        fuzz_touch(pixels, (size_t)w * (size_t)h * (size_t)c);
        free(pixels);
    }
    return 0;
}
