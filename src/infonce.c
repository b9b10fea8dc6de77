/*
 * infonce.c — the InfoNCE loss over a (B, B) matrix of logits
 * s_ij = log f(z_i, z'_j) (paper Eq. 3 with N = B - 1 negatives): row i is
 * a B-way classification whose right answer is column i. log B - loss is the
 * finite-sample SSVAE ELBO estimate in nats (SPEC section 3).
 *
 * Everything is computed in double with a max-shifted log-sum-exp, so any
 * finite float logits (up to ±3.4e38) give a finite loss and gradient:
 * s - max(s) is at most 0 and at least -6.8e38, which double holds, and exp
 * of it lies in [0, 1] with the row's maximum contributing exactly 1.
 *
 * Non-finite input (any NaN or ±inf in s) is not a loss we can define (an
 * inf logit makes inf - inf appear): the function then returns NaN and, if
 * ds is given, fills ds with NaN, so the caller's NaN check sees it.
 */
#include <assert.h>
#include <math.h>

#include "ssvae.h"

/* loss = (1/B) sum_i [ -s_ii + log sum_j exp s_ij ]   (Eq. 3, negated)
 * ds_ij = (softmax_j(s_i.) - [i == j]) / B */
double ssvae_infonce(float *ds, const float *s, int B)
{
    assert(B >= 1 && s);
    for (long k = 0; k < (long)B * B; k++) {
        if (!isfinite(s[k])) {
            if (ds)
                for (long q = 0; q < (long)B * B; q++)
                    ds[q] = NAN;
            return NAN;
        }
    }

    double total = 0.0;
    for (int i = 0; i < B; i++) {
        const float *row = s + (long)i * B;
        int jmax = 0;
        for (int j = 1; j < B; j++)
            if (row[j] > row[jmax])
                jmax = j;
        double m = row[jmax];
        /* sum_j exp(s_ij - m) = 1 + rest; log1p keeps a tiny rest (a nearly
         * certain row, loss ~1e-17) instead of rounding 1 + rest to 1 */
        double rest = 0.0;
        for (int j = 0; j < B; j++)
            if (j != jmax)
                rest += exp((double)row[j] - m);
        double logsum = log1p(rest);
        /* -s_ii + m + log sum, with (m - s_ii) taken first: both terms are
         * >= 0, so huge logits cancel exactly instead of losing the log. */
        total += (m - (double)row[i]) + logsum;
        if (ds) {
            float *drow = ds + (long)i * B;
            for (int j = 0; j < B; j++) {
                double p = exp((double)row[j] - m - logsum); /* softmax */
                drow[j] = (float)((p - (j == i ? 1.0 : 0.0)) / B);
            }
        }
    }
    return total / B;
}
