/*
 * fuzz_file.h — shared by the libFuzzer harnesses (fuzz_*.c). The readers
 * take paths, so each input is written to one in-memory file (memfd_create)
 * opened by the reader through /proc/self/fd/N: nothing touches the disk,
 * and the file goes away with the process. Where memfd is missing, a
 * mkstemp file in /tmp is used instead and removed at exit.
 *
 * Also the contract every reader's failure must keep (ssvae.h, issue 6):
 * a non-empty, one-line message that starts with the file's path. A
 * harness that sees anything else aborts, which libFuzzer reports as a
 * crash with the input that caused it.
 */
#ifndef SSVAE_FUZZ_FILE_H
#define SSVAE_FUZZ_FILE_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ssvae.h"

static char fuzz_tmp[64]; /* the /tmp fallback's name, removed at exit */

static void fuzz_remove_tmp(void)
{
    if (fuzz_tmp[0]) unlink(fuzz_tmp);
}

/* Writes the input to the scratch file and returns the path to read it
 * by. Aborts if the file cannot be written: that is the harness's fault,
 * not the reader's. */
__attribute__((unused)) static const char *fuzz_write_input(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("ssvae-fuzz", MFD_CLOEXEC);
        if (fd >= 0) {
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        } else {
            snprintf(fuzz_tmp, sizeof fuzz_tmp, "/tmp/ssvae-fuzz.XXXXXX");
            fd = mkstemp(fuzz_tmp);
            if (fd < 0) { perror("ssvae fuzz: mkstemp"); abort(); }
            atexit(fuzz_remove_tmp);
            snprintf(path, sizeof path, "%s", fuzz_tmp);
        }
    }
    if (ftruncate(fd, 0) != 0) { perror("ssvae fuzz: ftruncate"); abort(); }
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0) { perror("ssvae fuzz: pwrite"); abort(); }
        done += (size_t)n;
    }
    return path;
}

/* Aborts unless err holds one non-empty line starting with "path: ". */
__attribute__((unused)) static void fuzz_check_error(const char *path, const ssvae_error *err)
{
    size_t n = strnlen(err->msg, sizeof err->msg), p = strlen(path);
    const char *why = n == 0 ? "empty"
                    : n == sizeof err->msg ? "not terminated"
                    : memchr(err->msg, '\n', n) ? "more than one line"
                    : (n < p + 2 || memcmp(err->msg, path, p) || memcmp(err->msg + p, ": ", 2))
                        ? "does not start with the path" : NULL;
    if (why) {
        fprintf(stderr, "ssvae fuzz: error message %s: '%.*s'\n", why, (int)n, err->msg);
        abort();
    }
}

/* Reads every byte of a buffer the reader claims to have filled, so ASan
 * catches a buffer shorter than the shape says. */
static void fuzz_touch(const void *p, size_t n)
{
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i += 64) sink ^= ((const uint8_t *)p)[i];
    if (n) sink ^= ((const uint8_t *)p)[n - 1];
    (void)sink;
}

#endif
