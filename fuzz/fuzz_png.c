/*
 * fuzz_png.c — libFuzzer harness for the PNG readers on libpng: each input
 * goes through ssvae_png_read (any PNG to RGB, the figure code's) and
 * ssvae_png_read_frame (video frames, the file's own channels). libpng refuses a chunk whose CRC is wrong before it looks
 * inside, so random mutations would rarely get past the first chunk: the
 * harness recomputes every chunk's CRC before writing the file, which lets
 * the fuzzer reach the header checks, the conversions and the row reading.
 * (libpng is not instrumented, so coverage counts only our side of it.)
 */
#include "fuzz_file.h" /* first: it defines _GNU_SOURCE */

#include <zlib.h>

#include "io/png.h"

static void fix_crcs(uint8_t *p, size_t size)
{
    for (size_t off = 8; off + 12 <= size;) {
        size_t len = (size_t)p[off] << 24 | (size_t)p[off + 1] << 16 |
                     (size_t)p[off + 2] << 8 | p[off + 3];
        if (len > size - off - 12) break;
        uint32_t crc = (uint32_t)crc32(0, p + off + 4, (uInt)(len + 4));
        uint8_t *c = p + off + 8 + len;
        c[0] = (uint8_t)(crc >> 24); c[1] = (uint8_t)(crc >> 16);
        c[2] = (uint8_t)(crc >> 8);  c[3] = (uint8_t)crc;
        off += 12 + len;
    }
}

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
