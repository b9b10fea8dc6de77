/*
 * check.h — the tiny assertion kit every test program uses. Each failed
 * check prints file, line and a message; check_report() prints the
 * program's "name: N passed, N failed" line and gives its exit status.
 */
#ifndef SSVAE_CHECK_H
#define SSVAE_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            check_passed++;                                                \
        } else {                                                           \
            check_failed++;                                                \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,         \
                    __LINE__, #cond);                                      \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_CLOSE(a, b, atol, rtol)                                      \
    do {                                                                   \
        double a_ = (a), b_ = (b);                                         \
        CHECK(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_),                 \
              "%s = %.9g, %s = %.9g", #a, a_, #b, b_);                     \
    } while (0)

static inline int check_report(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
