/*
 * png_crc.h — shared by the PNG harnesses (fuzz_png.c, fuzz_pngdir.c).
 * libpng refuses a chunk whose CRC is wrong before it looks inside, so
 * random mutations would rarely get past the first chunk: the harnesses
 * recompute every chunk's CRC before writing a file, which lets the fuzzer
 * reach the header checks, the conversions and the row reading.
 */
#ifndef SSVAE_FUZZ_PNG_CRC_H
#define SSVAE_FUZZ_PNG_CRC_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

/* p[0..size) is one PNG file: signature, then chunks. */
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

#endif
