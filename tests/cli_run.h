/*
 * cli_run.h — running the built program from a test (test_cli.c,
 * test_faults.c): prog is BUILD/ssvae beside the test program, run_env()
 * runs it through the shell with "@" in the arguments standing for the
 * scratch folder (scratch.h), and keeps its stdout, stderr and the count
 * of stderr lines; helpers to check a one-line error and compare files.
 * cli_run_init() finds the program and writes the LeakSanitizer
 * suppressions.
 */
#ifndef SSVAE_CLI_RUN_H
#define SSVAE_CLI_RUN_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scratch.h"

/* The figure step draws text with pango, whose fontconfig caches are never
 * freed; under the sanitizers LeakSanitizer would report them when the
 * program exits. They are not ours: suppressed (only they) in the program
 * through LSAN_OPTIONS below, as in test_figure.c. */
#define LSAN_SUPPRESSIONS "leak:libfontconfig.so\n"

static char prog[512];   /* BUILD/ssvae */
static char supp[256];   /* the LSAN suppressions file */
static char out_text[1 << 16], err_text[1 << 14]; /* the last run's stdout, stderr */
static int err_lines;    /* newlines in err_text */

/* ---- helpers ------------------------------------------------------------- */

/* Reads a whole file into buf (NUL-terminated, cut at cap - 1 bytes);
 * its length, or -1. */
static __attribute__((unused)) long slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    buf[0] = '\0';
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return (long)n;
}

/* Runs `[env] ssvae ARGS` through the shell, every "@" in the formatted
 * args replaced by the test folder; stdout and stderr land in out_text
 * and err_text. Returns the exit status (-1 if killed by a signal). */
static __attribute__((unused)) int run_env(const char *env, const char *fmt, ...)
{
    char args[2048], expanded[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    size_t n = 0;
    for (const char *p = args; *p && n + sizeof dir + 1 < sizeof expanded; p++) {
        if (*p == '@')
            n += (size_t)snprintf(expanded + n, sizeof expanded - n, "%s", dir);
        else
            expanded[n++] = *p;
    }
    expanded[n] = '\0';
    snprintf(cmd, sizeof cmd, "%s LSAN_OPTIONS=suppressions=%s:print_suppressions=0 %s %s >%s 2>%s",
             env ? env : "", supp, prog, expanded, in_dir("stdout.txt"), in_dir("stderr.txt"));
    int rc = system(cmd);
    slurp(in_dir("stdout.txt"), out_text, sizeof out_text);
    slurp(in_dir("stderr.txt"), err_text, sizeof err_text);
    err_lines = 0;
    for (const char *p = err_text; *p; p++)
        err_lines += *p == '\n';
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#define run(...) run_env(NULL, __VA_ARGS__)

/* The last run failed with exactly one stderr line, "ssvae ...", that
 * contains word (the flag or the file it is about). */
static __attribute__((unused)) int one_line_naming(const char *word)
{
    return err_lines == 1 && !strncmp(err_text, "ssvae", 5) && strstr(err_text, word) != NULL;
}

/* A line of text equal to line. */
static __attribute__((unused)) int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/* Files in folder d (-1 if it cannot be read); *tmps: how many are
 * temporaries (".tmp." in the name). */
static __attribute__((unused)) int count_files(const char *d, int *tmps)
{
    DIR *dp = opendir(d);
    int n = 0;
    *tmps = 0;
    if (!dp)
        return -1;
    for (struct dirent *e; (e = readdir(dp));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        n++;
        *tmps += strstr(e->d_name, ".tmp.") != NULL;
    }
    closedir(dp);
    return n;
}

/* 1 if the two files hold the same bytes. */
static __attribute__((unused)) int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static __attribute__((unused)) void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Finds BUILD/ssvae from the test's argv[0] and writes the suppressions
 * into the scratch folder (made already); 0, or -1 if the program is not
 * built. */
static int cli_run_init(const char *argv0)
{
    snprintf(prog, sizeof prog, "%s", argv0);
    char *slash = strrchr(prog, '/');
    if (!slash || (size_t)(slash - prog) + 10 >= sizeof prog)
        return -1;
    strcpy(slash, "/../ssvae");
    snprintf(supp, sizeof supp, "%s/lsan.supp", dir);
    write_text(supp, LSAN_SUPPRESSIONS);
    return access(prog, X_OK) == 0 ? 0 : -1;
}

#endif
