/*
 * files.c — the CLI's file chores: folders, small text outputs written
 * atomically, loading a video (any form ssvae_video_read takes, and
 * centres.npy beside it), and the progress line.
 */
#include <dirent.h>
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

int cli_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st)) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) return remove(path);
    DIR *d = opendir(path);
    if (!d) return -1;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[4200];
        if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub) { rc = -1; continue; }
        rc |= cli_remove_tree(sub);
    }
    closedir(d);
    return rmdir(path) | rc;
}

int cli_outdir_begin(const char *cmd, const char *path, int force, cli_outdir *o)
{
    memset(o, 0, sizeof *o);
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--; /* "out/" is the folder out */
    if (len == 0 || len + 32 >= sizeof o->final)
        return cli_error(cmd, 2, "--out: '%s' is not a usable folder name", path);
    snprintf(o->final, sizeof o->final, "%.*s", (int)len, path);
    struct stat st;
    if (!lstat(o->final, &st)) {
        if (!S_ISDIR(st.st_mode)) return cli_error(cmd, 1, "%s: exists and is not a folder", o->final);
        if (!force) return cli_error(cmd, 1, "%s: exists; give --force to replace it once the new one is complete", o->final);
    }
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld", o->final, (long)getpid());
    ssvae_error err;
    cli_remove_tree(o->tmp); /* a stale one of a killed run with this pid */
    if (mkdir(o->tmp, 0777)) {
        /* the parent may be missing: create it, then try again */
        char parent[4200];
        snprintf(parent, sizeof parent, "%s", o->final);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            if (cli_make_dir(parent, &err)) return cli_error(cmd, 1, "%s", err.msg);
        }
        if (mkdir(o->tmp, 0777)) return cli_error(cmd, 1, "%s: cannot create folder: %s", o->tmp, strerror(errno));
    }
    return 0;
}

int cli_outdir_commit(const char *cmd, cli_outdir *o)
{
    char old[4300];
    snprintf(old, sizeof old, "%s.old.%ld", o->final, (long)getpid());
    struct stat st;
    int had = !lstat(o->final, &st);
    if (had && rename(o->final, old)) {
        int e = errno;
        cli_outdir_abandon(o);
        return cli_error(cmd, 1, "%s: cannot move the previous folder aside: %s", o->final, strerror(e));
    }
    if (rename(o->tmp, o->final)) {
        int e = errno;
        if (had) rename(old, o->final);
        cli_outdir_abandon(o);
        return cli_error(cmd, 1, "%s: cannot rename the finished folder into place: %s", o->final, strerror(e));
    }
    o->tmp[0] = '\0';
    if (had && cli_remove_tree(old))
        return cli_error(cmd, 1, "%s: the new folder is in place but the previous one could not be removed", old);
    return 0;
}

void cli_outdir_abandon(cli_outdir *o)
{
    if (o->tmp[0]) cli_remove_tree(o->tmp);
    o->tmp[0] = '\0';
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
    char cpath[4200];
    memset(v, 0, sizeof *v);
    if (ssvae_video_read(path, &v->frames, &v->quantised, err)) return -1;
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
    ssvae_error err;
    if (cli_load_video(path, v, need_centres, &err)) return cli_error(cmd, 1, "%s", err.msg);
    if (!quiet) {
        fprintf(stderr, "ssvae %s: %s: %d frames of %dx%d, %d channel%s%s\n", cmd, path, v->T, v->W, v->H,
                v->C, v->C == 1 ? "" : "s", v->K ? ", with centres" : "");
        if (v->quantised)
            fprintf(stderr, "ssvae %s: note: %s holds float frames; quantised to 8 bits as round(255 x)\n",
                    cmd, path);
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
