/*
 * error.c — the one-line error messages that every fallible function of the
 * library returns through an ssvae_error, and the one quoting rule for
 * names inside them (ssvae_printable): whatever a message quotes (a path
 * typed by the user, a name read from a file), it stays one line, and a
 * long name is shortened in its middle so that the reason after it
 * survives.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ssvae.h"

static int is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

/* Writes s[0..n) into buf (room for len bytes, len >= 8) with control
 * characters as '?' and, if it does not fit, its middle replaced by
 * "...": the start and the end (a file's name, the reason) both stay. */
static void quote_span(char *buf, size_t len, const char *s, size_t n)
{
    if (n + 1 <= len) {
        for (size_t i = 0; i < n; i++) buf[i] = is_control((unsigned char)s[i]) ? '?' : s[i];
        buf[n] = '\0';
        return;
    }
    size_t keep = len - 1 - 3, head = keep / 2, tail = keep - head;
    for (size_t i = 0; i < head; i++) buf[i] = is_control((unsigned char)s[i]) ? '?' : s[i];
    memcpy(buf + head, "...", 3);
    for (size_t i = 0; i < tail; i++) {
        char c = s[n - tail + i];
        buf[head + 3 + i] = is_control((unsigned char)c) ? '?' : c;
    }
    buf[len - 1] = '\0';
}

const char *ssvae_printable(char *buf, size_t len, const char *s)
{
    quote_span(buf, len, s, strlen(s));
    return buf;
}

void ssvae_fit_message(char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    if (n + 1 <= len) {
        quote_span(dst, len, src, n);
        return;
    }
    /* Too long: shorten the longest runs of non-blank characters (paths,
     * as a rule) in their middles, longest first, down to 40 characters
     * each, until the whole fits; only then cut the middle of the whole. */
    char work[SSVAE_ERRLEN * 32];
    quote_span(work, sizeof work, src, n);
    for (int round = 0; round < 64; round++) {
        size_t total = strlen(work);
        if (total + 1 <= len) break;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < total;) {
            size_t j = i;
            while (j < total && work[j] != ' ') j++;
            if (j - i > best_len) { best = i; best_len = j - i; }
            i = j + 1;
        }
        if (best_len <= 40) break;
        size_t excess = total + 1 - len, want = best_len > excess + 40 ? best_len - excess : 40;
        char token[sizeof work];
        quote_span(token, want + 1, work + best, best_len);
        size_t tl = strlen(token);
        memmove(work + best + tl, work + best + best_len, total - best - best_len + 1);
        memcpy(work + best, token, tl);
    }
    quote_span(dst, len, work, strlen(work));
}

int ssvae_fail(ssvae_error *err, const char *fmt, ...)
{
    if (err) {
        char full[SSVAE_ERRLEN * 32];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(full, sizeof full, fmt, ap);
        va_end(ap);
        ssvae_fit_message(err->msg, sizeof err->msg, full);
    }
    return -1;
}
