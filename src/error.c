/*
 * error.c — the one-line error messages that every fallible function of the
 * library returns through an ssvae_error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ssvae.h"

int ssvae_fail(ssvae_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *ssvae_printable(char *buf, size_t len, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 4 < len; i++)
        buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (s[i]) { memcpy(buf + i, "...", 3); i += 3; }
    buf[i] = '\0';
    return buf;
}
