/*
 * png.h — PNG files through libpng (internal to the library; the figure
 * code, the video reader and the tests use it). Pictures are (H, W,
 * channels) uint8, C order.
 */
#ifndef SSVAE_IO_PNG_H
#define SSVAE_IO_PNG_H

#include <stdint.h>

#include "ssvae.h"

/* Writes pixels (h, w, channels) as an RGB PNG (alpha is dropped) to the
 * file tmp, checking every libpng call; on failure tmp is removed and the
 * message names path (the file tmp stands in for). No rename: callers that
 * write several files rename them all at the end (ssvae_png_write does both
 * steps for one file). */
int ssvae_png_write_tmp(const char *path, const char *tmp, const uint8_t *pixels,
                        int w, int h, int channels, ssvae_error *err);

/* Writes path through "path.tmp.PID" renamed into place: a failure leaves
 * any previous file untouched and no temporary behind. */
int ssvae_png_write(const char *path, const uint8_t *pixels, int w, int h,
                    int channels, ssvae_error *err);

/* Reads any PNG libpng understands, converted to 8-bit RGB. *pixels (h, w,
 * 3) is malloc'd and owned by the caller. */
int ssvae_png_read(const char *path, uint8_t **pixels, int *w, int *h,
                   ssvae_error *err);

/* Reads one video frame keeping the file's channels: *channels is 1 (grey),
 * 2 (grey + alpha), 3 (RGB) or 4 (RGBA); a palette becomes RGB, or RGBA
 * where it has transparency. 16-bit samples are scaled to 8 bits, rounded
 * (v * 255 / 65535). *pixels (h, w, channels) is malloc'd, owned by the
 * caller. Pictures over 256 MB, or wider or taller than a million pixels,
 * are refused before anything is allocated. */
int ssvae_png_read_frame(const char *path, uint8_t **pixels, int *w, int *h,
                         int *channels, ssvae_error *err);

#endif
