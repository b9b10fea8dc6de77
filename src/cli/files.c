/*
 * files.c — the CLI's file chores: folders, small text outputs written
 * atomically, loading a video folder (frames.npy, centres.npy), and the
 * progress line.
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

int cli_load_video(const char *dir, cli_video *v, int need_centres, ssvae_error *err)
{
    char path[4200];
    memset(v, 0, sizeof *v);
    snprintf(path, sizeof path, "%s/frames.npy", dir);
    if (ssvae_npy_read(path, &v->frames, err)) return -1;
    const ssvae_array *f = &v->frames;
    if (f->dtype != SSVAE_U8 || f->ndim != 4 || f->shape[0] < 2 || f->shape[1] < 1 ||
        f->shape[2] < 1 || f->shape[3] < 1 || f->shape[3] > 32) {
        ssvae_array_free(&v->frames);
        return ssvae_fail(err, "%s: expected uint8 frames of shape (T>=2, H, W, C<=32)", path);
    }
    v->T = (int)f->shape[0];
    v->H = (int)f->shape[1];
    v->W = (int)f->shape[2];
    v->C = (int)f->shape[3];
    snprintf(path, sizeof path, "%s/centres.npy", dir);
    if (access(path, F_OK)) {
        if (!need_centres) return 0;
        ssvae_array_free(&v->frames);
        return ssvae_fail(err, "%s: missing (true centres are needed here)", path);
    }
    if (ssvae_npy_read(path, &v->centres, err)) {
        ssvae_array_free(&v->frames);
        return -1;
    }
    const ssvae_array *c = &v->centres;
    if (c->dtype != SSVAE_F32 || c->ndim != 3 || c->shape[0] != v->T || c->shape[1] < 1 ||
        c->shape[1] > SSVAE_MAXBALLS || c->shape[2] != 2) {
        cli_video_free(v);
        return ssvae_fail(err, "%s: expected float32 centres of shape (%d, K<=%d, 2)", path, v->T, SSVAE_MAXBALLS);
    }
    v->K = (int)c->shape[1];
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
