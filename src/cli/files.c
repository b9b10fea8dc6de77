/*
 * files.c — the CLI's file chores: folders, small text outputs written
 * atomically, loading a video (any form ssvae_video_read takes, and
 * centres.npy beside it), and the progress line.
 */
#include <errno.h>
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

int cli_write_text(const char *path, const char *text, ssvae_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return ssvae_fail(err, "%s: cannot write: %s", path, strerror(errno));
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, f) != n;
    bad |= fclose(f) != 0;
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
        cli_video_free(v);
        return ssvae_fail(err, "%s: expected float32 centres of shape (%d, K<=%d, 2)", cpath, v->T, SSVAE_MAXBALLS);
    }
    v->K = (int)c->shape[1];
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
