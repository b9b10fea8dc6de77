/*
 * args.c — the flag parser every subcommand uses, its --help text, and the
 * one-line errors of bad usage (exit status 2).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_error(const char *cmd, int status, const char *fmt, ...)
{
    /* Through the library's one quoting rule (ssvae_fit_message): a name
     * with a newline in it cannot split the line, a long path is
     * shortened in its middle and the reason stays. */
    char full[1 << 14], line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(full, sizeof full, fmt, ap);
    va_end(ap);
    ssvae_fit_message(line, sizeof line, full);
    fprintf(stderr, "ssvae %s: %s\n", cmd, line);
    return status;
}

static void print_default(const cli_flag *f)
{
    switch (f->type) {
    /* negative numbers mean "taken from the preset", said in the help */
    case FLAG_INT:
        if (*(int *)f->value >= 0) printf(" (default %d)", *(int *)f->value);
        break;
    case FLAG_U64: printf(" (default %llu)", (unsigned long long)*(uint64_t *)f->value); break;
    case FLAG_DOUBLE:
        if (*(double *)f->value >= 0) printf(" (default %g)", *(double *)f->value);
        break;
    case FLAG_STRING:
        if (*(const char **)f->value) printf(" (default %s)", *(const char **)f->value);
        break;
    case FLAG_BOOL: break;
    }
}

static void print_help(const char *cmd, const char *summary, const cli_flag *flags)
{
    printf("usage: ssvae %s [flags]\n\n%s\n\nflags:\n", cmd, summary);
    for (const cli_flag *f = flags; f->name; f++) {
        const char *arg = f->type == FLAG_BOOL ? "" : f->type == FLAG_STRING ? " S" :
                          f->type == FLAG_DOUBLE ? " X" : " N";
        char left[64];
        snprintf(left, sizeof left, "--%s%s", f->name, arg);
        printf("  %-22s %s", left, f->help);
        print_default(f);
        putchar('\n');
    }
    printf("  %-22s %s\n", "--help", "show this text");
}

/* Parses one value; returns 0 or 2 after printing the error. */
static int set_value(const char *cmd, const cli_flag *f, const char *text)
{
    char *end = NULL;
    errno = 0;
    int ranged = f->min <= f->max;
    if (f->type == FLAG_STRING) {
        *(const char **)f->value = text;
        return 0;
    }
    if (f->type == FLAG_DOUBLE) {
        double v = strtod(text, &end);
        if (end == text || *end || (errno && errno != ERANGE) || isnan(v))
            return cli_error(cmd, 2, "--%s: '%s' is not a number", f->name, text);
        if (errno == ERANGE || !isfinite(v)) /* 1e999, 1e-999: a number, but not one a double holds */
            return ranged ? cli_error(cmd, 2, "--%s: '%s' is out of range [%g, %g]", f->name, text, f->min, f->max)
                          : cli_error(cmd, 2, "--%s: '%s' is out of range (not a finite double)", f->name, text);
        if (ranged && (v < f->min || v > f->max))
            return cli_error(cmd, 2, "--%s: %g is out of range [%g, %g]", f->name, v, f->min, f->max);
        *(double *)f->value = v;
        return 0;
    }
    if (f->type == FLAG_U64) { /* strtoull alone: strtoll calls 2^63 and up out of range */
        if (text[strspn(text, " \t\n")] == '-') /* strtoull would wrap it */
            return cli_error(cmd, 2, "--%s: '%s' must not be negative", f->name, text);
        unsigned long long u = strtoull(text, &end, 10);
        if (end == text || *end || (errno && errno != ERANGE))
            return cli_error(cmd, 2, "--%s: '%s' is not an integer", f->name, text);
        if (errno == ERANGE)
            return cli_error(cmd, 2, "--%s: '%s' is out of range [0, 18446744073709551615]", f->name, text);
        *(uint64_t *)f->value = u;
        return 0;
    }
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || (errno && errno != ERANGE))
        return cli_error(cmd, 2, "--%s: '%s' is not an integer", f->name, text);
    if (errno == ERANGE || (!ranged && (v < INT_MIN || v > INT_MAX)))
        return ranged ? cli_error(cmd, 2, "--%s: '%s' is out of range [%.0f, %.0f]", f->name, text, f->min, f->max)
                      : cli_error(cmd, 2, "--%s: '%s' is out of range for an int", f->name, text);
    if (ranged && (v < f->min || v > f->max))
        return cli_error(cmd, 2, "--%s: %lld is out of range [%.0f, %.0f]", f->name, v, f->min, f->max);
    *(int *)f->value = (int)v;
    return 0;
}

int cli_parse(const char *cmd, const char *summary, const cli_flag *flags,
              int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(cmd, summary, flags);
            return -1;
        }
        if (strncmp(a, "--", 2))
            return cli_error(cmd, 2, "unexpected argument '%s' (see ssvae %s --help)", a, cmd);
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_flag *f = flags;
        while (f->name && (strlen(f->name) != len || strncmp(f->name, name, len))) f++;
        if (!f->name)
            return cli_error(cmd, 2, "unknown flag '--%.*s' (see ssvae %s --help)", (int)len, name, cmd);
        if (f->type == FLAG_BOOL) {
            if (eq) return cli_error(cmd, 2, "--%s takes no value", f->name);
            *(int *)f->value = 1;
            continue;
        }
        const char *text = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!text) return cli_error(cmd, 2, "--%s needs a value", f->name);
        int rc = set_value(cmd, f, text);
        if (rc) return rc;
    }
    return 0;
}
