/*
 * files.c — the CLI's file chores: folders, run folders written as a set,
 * small text outputs written atomically, loading a video (any form
 * ssvae_video_read takes, and centres.npy beside it), and the progress
 * line.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

int cli_make_dir(const char *path, ssvae_error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return ssvae_fail(err, "%s: path too long", path);
    for (char *p = buf + 1; ; p++) {
        int end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(buf, 0777) && errno != EEXIST)
                return ssvae_fail(err, "%s: cannot create folder: %s", buf, strerror(errno));
            struct stat st;
            if (stat(buf, &st) || !S_ISDIR(st.st_mode))
                return ssvae_fail(err, "%s: exists and is not a folder", buf);
            if (end) break;
            *p = '/';
        }
    }
    if (access(path, W_OK))
        return ssvae_fail(err, "%s: folder is not writable: %s", path, strerror(errno));
    return 0;
}

/* ---- run folders ---------------------------------------------------------
 * A command that writes a run (demo; compare) writes into a fresh sibling
 * folder, OUT.partial-XXXXXX, and renames it onto OUT only once every file
 * is in, so OUT is always one whole run: never a mix of two, which figure
 * would draw without a word. A run killed halfway leaves only the
 * .partial folder (safe to delete). If OUT already exists, the earlier
 * run is moved aside to OUT.previous-N (the first free N) after the new
 * one is complete, and the command says so: nothing is deleted. */

int cli_run_dir_begin(cli_run_dir *rd, const char *final, ssvae_error *err)
{
    memset(rd, 0, sizeof rd[0]);
    size_t n = strlen(final);
    while (n > 1 && final[n - 1] == '/') n--; /* "out/" names the folder out */
    if (n == 0) return ssvae_fail(err, "'': no output folder given");
    if (n + 32 > sizeof rd->work) return ssvae_fail(err, "%s: path too long", final);
    memcpy(rd->final, final, n);
    rd->final[n] = '\0';
    struct stat st;
    if (stat(rd->final, &st) == 0 && !S_ISDIR(st.st_mode))
        return ssvae_fail(err, "%s: exists and is %s, not a folder", rd->final, ssvae_file_kind(st.st_mode));
    /* the parent first (mkdir -p), so the sibling can be made beside it */
    char parent[sizeof rd->final];
    snprintf(parent, sizeof parent, "%s", rd->final);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (cli_make_dir(parent, err)) return -1;
    }
    snprintf(rd->work, sizeof rd->work, "%s.partial-XXXXXX", rd->final);
    if (!mkdtemp(rd->work))
        return ssvae_fail(err, "%s: cannot create the folder %s: %s", rd->final, rd->work, strerror(errno));
    return 0;
}

int cli_run_dir_commit(cli_run_dir *rd, ssvae_error *err)
{
    struct stat st;
    rd->aside[0] = '\0';
    if (stat(rd->final, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return ssvae_fail(err, "%s: exists and is %s, not a folder; the run is in %s", rd->final,
                              ssvae_file_kind(st.st_mode), rd->work);
        for (int i = 1;; i++) {
            snprintf(rd->aside, sizeof rd->aside, "%s.previous-%d", rd->final, i);
            if (lstat(rd->aside, &st) != 0) break;
            if (i == 100000)
                return ssvae_fail(err, "%s: no free name to move the earlier run to; the run is in %s",
                                  rd->final, rd->work);
        }
        if (rename(rd->final, rd->aside))
            return ssvae_fail(err, "%s: cannot move the earlier run to %s: %s; the run is in %s", rd->final,
                              rd->aside, strerror(errno), rd->work);
    }
    if (rename(rd->work, rd->final)) {
        int e = errno;
        if (rd->aside[0] && rename(rd->aside, rd->final) == 0) rd->aside[0] = '\0';
        return ssvae_fail(err, "%s: cannot rename %s into place: %s", rd->final, rd->work, strerror(e));
    }
    rd->work[0] = '\0';
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

void cli_run_dir_abandon(cli_run_dir *rd)
{
    /* Only the folder mkdtemp made for this run: nothing of the user's. */
    if (rd->work[0]) nftw(rd->work, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    rd->work[0] = '\0';
}

int cli_write_text(const char *path, const char *text, ssvae_error *err)
{
    char tmp[4200];
    if (ssvae_output_check(path, NULL, 0, err)) return -1;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return ssvae_fail(err, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return ssvae_fail(err, "%s: cannot write: %s", path, strerror(errno));
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, f) != n;
    bad |= fclose(f) != 0;
    if (!bad && ssvae_output_check(path, NULL, 0, err)) { /* again: the rename replaces what is there now */
        remove(tmp);
        return -1;
    }
    if (bad || rename(tmp, path)) {
        int e = errno;
        remove(tmp);
        return ssvae_fail(err, "%s: cannot write: %s", path, strerror(e));
    }
    return 0;
}

int cli_load_video(const char *path, cli_video *v, int need_centres, ssvae_error *err)
{
    return cli_load_video_cached(path, NULL, v, need_centres, err);
}

int cli_load_video_cached(const char *path, const char *cache, cli_video *v, int need_centres,
                          ssvae_error *err)
{
    char cpath[4200];
    memset(v, 0, sizeof *v);
    if (ssvae_video_open(path, cache, &v->frames, &v->quantised, &v->cache_state, err)) return -1;
    const ssvae_array *f = &v->frames;
    v->T = (int)f->shape[0];
    v->H = (int)f->shape[1];
    v->W = (int)f->shape[2];
    v->C = (int)f->shape[3];
    struct stat st;
    int folder = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    snprintf(cpath, sizeof cpath, "%s/centres.npy", path);
    if (!folder || access(cpath, F_OK)) {
        if (!need_centres) return 0;
        ssvae_array_free(&v->frames);
        if (!folder)
            return ssvae_fail(err, "%s: true centres are needed here: give a folder holding frames and centres.npy", path);
        return ssvae_fail(err, "%s: missing (true centres are needed here)", cpath);
    }
    if (ssvae_npy_read(cpath, &v->centres, err)) {
        ssvae_array_free(&v->frames);
        return -1;
    }
    const ssvae_array *c = &v->centres;
    if (c->dtype != SSVAE_F32 || c->ndim != 3 || c->shape[0] != v->T || c->shape[1] < 1 ||
        c->shape[1] > SSVAE_MAXBALLS || c->shape[2] != 2) {
        char found[200];
        int T = v->T; /* both taken before the free zeroes them */
        ssvae_array_describe(c, found, sizeof found);
        cli_video_free(v);
        return ssvae_fail(err, "%s: expected float32 centres of shape (%d, K, 2) with K in 1..%d (one row a frame "
                          "of the video), found %s", cpath, T, SSVAE_MAXBALLS, found);
    }
    v->K = (int)c->shape[1];
    /* NaN or infinity would surface later as a "diverged" training or
     * a "nan px" score: refused here, with the frame. */
    const float *cf = c->data;
    for (int64_t i = 0; i < ssvae_array_count(c); i++) {
        if (!isfinite(cf[i])) {
            int frame = (int)(i / (2 * v->K)), ball = (int)(i / 2 % v->K);
            double x = cf[i];
            cli_video_free(v);
            return ssvae_fail(err, "%s: frame %d, ball %d: the centre's %s is %g (centres must be finite)", cpath,
                              frame, ball, i % 2 ? "y" : "x", x);
        }
    }
    return 0;
}

int cli_open_video(const char *cmd, const char *path, cli_video *v, int need_centres, int quiet)
{
    return cli_open_video_cached(cmd, path, NULL, v, need_centres, quiet);
}

int cli_open_video_cached(const char *cmd, const char *path, const char *cache, cli_video *v,
                          int need_centres, int quiet)
{
    ssvae_error err;
    if (cli_load_video_cached(path, cache, v, need_centres, &err)) return cli_error(cmd, 1, "%s", err.msg);
    if (!quiet) {
        fprintf(stderr, "ssvae %s: %s: %d frames of %dx%d, %d channel%s%s\n", cmd, path, v->T, v->W, v->H,
                v->C, v->C == 1 ? "" : "s", v->K ? ", with centres" : "");
        if (v->quantised)
            fprintf(stderr, "ssvae %s: note: %s holds float frames; quantised to 8 bits as round(255 x)\n",
                    cmd, path);
        if (v->cache_state)
            fprintf(stderr, "ssvae %s: %s: %s the decoded cache in %s\n", cmd, path,
                    v->cache_state == 1 ? "reading" : "wrote", cache);
    }
    return 0;
}

void cli_video_free(cli_video *v)
{
    ssvae_array_free(&v->frames);
    ssvae_array_free(&v->centres);
    memset(v, 0, sizeof *v);
}

void cli_progress_epoch(void *ctx, const ssvae_epoch_stats *st)
{
    const cli_progress *p = ctx;
    if (p->quiet) return;
    double left = st->elapsed / st->epoch * (st->epochs - st->epoch);
    int tty = isatty(STDERR_FILENO);
    char what[64];
    if (p->supervised) snprintf(what, sizeof what, "mse %.3g", st->loss);
    else snprintf(what, sizeof what, "loss %.4f  elbo %.4f nats (max %.2f)", st->loss, st->elbo, st->log_b);
    fprintf(stderr, "%s%s epoch %d/%d  %s  %.2f s/epoch  %.0f s left%s", tty ? "\r\033[K" : "",
            p->label, st->epoch, st->epochs, what, st->seconds, left, tty ? "" : "\n");
    if (tty && st->epoch == st->epochs) fputc('\n', stderr);
    fflush(stderr);
}
