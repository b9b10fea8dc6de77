/*
 * scratch.h — the scratch folder of the tests that write files: dir, made
 * by make_scratch() from a mkdtemp template, in_dir() for paths inside it,
 * remove_tree() to delete it at the end, and small whole-file helpers
 * (write_raw, read_all, exists).
 */
#ifndef SSVAE_SCRATCH_H
#define SSVAE_SCRATCH_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64]; /* the mkdtemp folder every file lives in */

/* Makes dir from template ("/tmp/name_XXXXXX"); 0, or -1 after a perror line. */
static inline int make_scratch(const char *template)
{
    snprintf(dir, sizeof dir, "%s", template);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

/* dir/name (rotating buffers: a few may be live). */
static inline const char *in_dir(const char *name)
{
    static char buf[8][600];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

/* rm -r */
static inline void remove_tree(const char *d)
{
    DIR *dp = opendir(d);
    if (!dp) {
        remove(d);
        return;
    }
    for (struct dirent *e; (e = readdir(dp));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[1200];
        if (snprintf(p, sizeof p, "%s/%s", d, e->d_name) >= (int)sizeof p)
            continue; /* cannot be named here: left alone */
        struct stat st;
        if (!lstat(p, &st) && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            remove(p);
    }
    closedir(dp);
    rmdir(d);
}

static inline int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Writes n bytes to path; exits if it cannot. */
static inline void write_raw(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

/* The whole file in *buf (malloc'd, NUL-terminated); its length, or -1
 * (and *buf NULL) if it cannot be opened. */
static inline long read_all(const char *path, unsigned char **buf)
{
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc((size_t)n + 1);
    if (!*buf || fread(*buf, 1, (size_t)n, f) != (size_t)n)
        abort();
    (*buf)[n] = '\0';
    fclose(f);
    return n;
}

#endif
