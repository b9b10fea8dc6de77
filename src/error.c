/*
 * error.c — the one-line error messages that every fallible function of the
 * library returns through an ssvae_error.
 */
#include <stdarg.h>
#include <stdio.h>

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
