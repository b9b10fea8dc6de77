/*
 * fuzz_pngdir.c — libFuzzer harness for the PNG-folder video reader as a
 * whole (ssvae_video_read on a folder of frames): listing, natural name
 * order, reading every frame, checking that each matches the first, and
 * assembling the (T, H, W, C) array. The input is cut into files at each
 * PNG signature (at most 8 files, named frame_1.png ... frame_N.png), each
 * with its chunks' CRCs recomputed (png_crc.h), and written into one
 * scratch folder under /dev/shm (or /tmp), emptied before every input.
 *
 * On failure the message must be one line starting with the folder's path
 * (the folder's own fault) or with the path of a frame inside it.
 */
#include "fuzz_file.h" /* first: it defines _GNU_SOURCE */

#include <sys/stat.h>

#include "png_crc.h"

#define MAX_FILES 8

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static char dir[64];
static int nwritten; /* frame files left in dir by the last input */

static void frame_path(char *buf, size_t len, int i)
{
    snprintf(buf, len, "%s/frame_%d.png", dir, i + 1);
}

static void clear_dir(void)
{
    char path[128];
    for (int i = 0; i < nwritten; i++) {
        frame_path(path, sizeof path, i);
        unlink(path);
    }
    nwritten = 0;
}

static void remove_dir(void)
{
    clear_dir();
    if (dir[0]) rmdir(dir);
}

static void write_file(int i, const uint8_t *data, size_t size)
{
    char path[128];
    frame_path(path, sizeof path, i);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) abort();
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(copy, 1, size, f) != size || fclose(f)) {
        perror("ssvae fuzz: writing a frame");
        abort();
    }
    free(copy);
    nwritten = i + 1;
}

/* Aborts unless err is one line starting with "dir: " or "dir/". */
static void check_error(const ssvae_error *err)
{
    size_t n = strnlen(err->msg, sizeof err->msg), p = strlen(dir);
    const char *why = n == 0 ? "empty"
                    : n == sizeof err->msg ? "not terminated"
                    : memchr(err->msg, '\n', n) ? "more than one line"
                    : (n < p + 2 || memcmp(err->msg, dir, p) ||
                       (memcmp(err->msg + p, ": ", 2) && err->msg[p] != '/'))
                        ? "does not start with the folder's path" : NULL;
    if (why) {
        fprintf(stderr, "ssvae fuzz: error message %s: '%.*s'\n", why, (int)n, err->msg);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/ssvae-fuzz-dir.XXXXXX", base);
        if (!mkdtemp(dir)) { perror("ssvae fuzz: mkdtemp"); abort(); }
        atexit(remove_dir);
    }
    clear_dir();
    /* Files start at offset 0 and at every later PNG signature. */
    size_t start = 0;
    int files = 0;
    for (size_t i = 1; i + sizeof png_signature <= size && files < MAX_FILES - 1; i++) {
        if (memcmp(data + i, png_signature, sizeof png_signature) == 0) {
            write_file(files++, data + start, i - start);
            start = i;
        }
    }
    write_file(files++, data + start, size - start);

    ssvae_array frames;
    int quantised = 0;
    ssvae_error err = {{0}};
    if (ssvae_video_read(dir, &frames, &quantised, &err) != 0) {
        check_error(&err);
        if (frames.data) abort(); /* a failed read hands nothing back */
        return 0;
    }
    if (frames.dtype != SSVAE_U8 || frames.ndim != 4 || frames.shape[0] != files ||
        frames.shape[1] < 8 || frames.shape[2] < 8 || frames.shape[3] < 1 || frames.shape[3] > 4 ||
        quantised)
        abort();
    fuzz_touch(frames.data, (size_t)ssvae_array_count(&frames));
    ssvae_array_free(&frames);
    return 0;
}
