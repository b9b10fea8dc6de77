/*
 * files.c — the two checks every file the library opens goes through:
 * inputs must be regular files (a FIFO would block open() forever, a
 * device would be read without end), and an output must not replace
 * something that is not a regular file, nor one of the run's own inputs.
 * The readers and writers of npy, safetensors and PNG all call these, so
 * the rules hold in one place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/files.h"

const char *ssvae_file_kind(unsigned mode)
{
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

int io_open_input(const char *path, ssvae_error *err)
{
    struct stat st;
    /* The type first, without opening: opening a FIFO blocks until a
     * writer comes, opening some devices has side effects. */
    if (stat(path, &st) != 0)
        return ssvae_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ssvae_fail(err, "%s: not a regular file (%s)", path, ssvae_file_kind(st.st_mode));
    /* O_NONBLOCK in case it was swapped for a FIFO since: then open()
     * returns at once and the fstat below refuses it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return ssvae_fail(err, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ssvae_fail(err, "%s: not a regular file", path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

FILE *io_fopen_input(const char *path, ssvae_error *err)
{
    int fd = io_open_input(path, err);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        ssvae_fail(err, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

/* 1 if a regular file of the folder dir is the file (dev, ino). */
static int folder_holds(const char *dir, dev_t dev, ino_t ino)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    char path[4352];
    for (struct dirent *e; !found && (e = readdir(d));) {
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        found = stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == dev && st.st_ino == ino;
    }
    closedir(d);
    return found;
}

int ssvae_output_check(const char *path, const char *const *inputs, int ninputs, ssvae_error *err)
{
    struct stat out;
    if (stat(path, &out) != 0) return 0; /* nothing there yet (or unreachable: the write says) */
    if (!S_ISREG(out.st_mode))
        return ssvae_fail(err, "%s: exists and is %s, not a regular file; refusing to replace it",
                          path, ssvae_file_kind(out.st_mode));
    for (int i = 0; i < ninputs; i++) {
        struct stat in;
        if (!inputs[i] || stat(inputs[i], &in) != 0) continue;
        int same = S_ISDIR(in.st_mode) ? folder_holds(inputs[i], out.st_dev, out.st_ino)
                                       : in.st_dev == out.st_dev && in.st_ino == out.st_ino;
        if (same)
            return ssvae_fail(err, "%s: is the same file as %s%s; refusing to overwrite an input",
                              path, S_ISDIR(in.st_mode) ? "a file of the input folder " : "the input ", inputs[i]);
    }
    return 0;
}

int io_commit_output(const char *tmp, const char *path, ssvae_error *err)
{
    /* Checked again right before the rename: the writer may have taken a
     * while, and the rename replaces whatever is there by then. */
    if (ssvae_output_check(path, NULL, 0, err)) {
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return ssvae_fail(err, "%s: cannot rename the temporary file into place: %s", path, strerror(e));
    }
    return 0;
}
