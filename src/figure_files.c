/*
 * figure_files.c — a set of pictures written as one: drawn canvases in
 * memory become PNG files in a folder only once every one of them is
 * written (figure_files.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "figure_files.h"
#include "io/files.h"
#include "io/png.h"

#define PATHLEN 4200
#define MAXSET 16

/* mkdir -p, then checks the folder is writable. */
static int make_dirs(const char *path, ssvae_error *err)
{
    char buf[PATHLEN];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return ssvae_fail(err, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        int end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            struct stat st;
            if (mkdir(buf, 0777) && errno != EEXIST)
                return ssvae_fail(err, "%s: cannot create folder: %s", buf, strerror(errno));
            if (stat(buf, &st) || !S_ISDIR(st.st_mode))
                return ssvae_fail(err, "%s: exists and is not a folder", buf);
            if (end)
                break;
            *p = '/';
        }
    }
    if (access(path, W_OK))
        return ssvae_fail(err, "%s: folder is not writable: %s", path, strerror(errno));
    return 0;
}

int figure_write_set(const char *dir, const plot_canvas *pics, const char *const *names, int n,
                     int *written, ssvae_error *err)
{
    if (n > MAXSET)
        return ssvae_fail(err, "%s: %d pictures, at most %d in one set", dir, n, MAXSET);
    if (strlen(dir) + 32 >= PATHLEN)
        return ssvae_fail(err, "%s: path too long", dir);
    if (make_dirs(dir, err))
        return -1;
    char dst[MAXSET][PATHLEN + 32], tmp[MAXSET][PATHLEN + 64];
    int pending[MAXSET] = {0}, rc = -1;
    for (int i = 0; i < n; i++) {
        if (!names[i])
            continue;
        snprintf(dst[i], sizeof dst[i], "%s/%s", dir, names[i]);
        snprintf(tmp[i], sizeof tmp[i], "%s/%s.tmp.%ld", dir, names[i], (long)getpid());
        if (ssvae_png_write_tmp(dst[i], tmp[i], pics[i].rgba, pics[i].w, pics[i].h, 4, err))
            goto done; /* this one removed its own temporary */
        pending[i] = 1;
    }
    for (int i = 0; i < n; i++) {
        if (!pending[i])
            continue;
        pending[i] = 0;
        if (io_commit_output(tmp[i], dst[i], err)) /* removes tmp[i] */
            goto done;
        if (written)
            (*written)++;
    }
    rc = 0;
done:
    for (int i = 0; i < n; i++)
        if (pending[i])
            remove(tmp[i]);
    return rc;
}
