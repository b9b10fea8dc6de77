/*
 * test_infonce.c — the InfoNCE loss and its gradient: closed forms (equal
 * logits give log B; a hugely dominant diagonal gives 0), invariance under
 * relabelling the pairs, no overflow for logits near the float limit, NaN
 * for non-finite input, the bounds 0 <= loss and ELBO = log B - loss <=
 * log B, rows of ds summing to 0, and central finite differences of ds.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "ssvae.h"

/* splitmix64: a self-contained stream so this test needs only the loss */
static uint64_t rng_state = 777;
static double urand(void) /* [0, 1) */
{
    uint64_t x = (rng_state += 0x9e3779b97f4a7c15ULL);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (double)(x >> 11) * 0x1p-53;
}
static float frand(double lo, double hi) { return (float)(lo + (hi - lo) * urand()); }

#define MAXB 30

static int all_finite(const float *x, int n)
{
    for (int k = 0; k < n; k++)
        if (!isfinite(x[k]))
            return 0;
    return 1;
}

/* All z_i = z'_j: every logit is the same, each row is a uniform guess. */
static void test_identical_latents(void)
{
    const ssvae_prior_ops *g = ssvae_prior_get(SSVAE_PRIOR_GAUSSIAN);
    enum { B = 30, D = 6 };
    float z[B * D], s[B * B], ds[B * B], theta = -2.0f;
    for (int k = 0; k < B * D; k++)
        z[k] = 0.3f * (float)(k % D);
    g->logits(s, &theta, z, z, B, D);
    double loss = ssvae_infonce(ds, s, B);
    CHECK_CLOSE(loss, log((double)B), 1e-6, 0);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++)
            CHECK_CLOSE(ds[i * B + j], (1.0 / B - (i == j)) / B, 1e-9, 1e-6);
    /* the same for any constant logit, however large */
    const float c[] = {0.0f, -7.5f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX};
    for (size_t q = 0; q < sizeof c / sizeof c[0]; q++) {
        for (int k = 0; k < B * B; k++)
            s[k] = c[q];
        CHECK_CLOSE(ssvae_infonce(ds, s, B), log((double)B), 1e-12, 0);
        CHECK(all_finite(ds, B * B), "constant %g: ds not finite", c[q]);
    }
    /* B = 1: one pair, nothing to contrast, loss 0 and no gradient */
    float s1 = 3.0f, d1 = 99;
    CHECK(ssvae_infonce(&d1, &s1, 1) == 0.0 && d1 == 0.0f, "B = 1: ds %g", d1);
}

/* Relabelling pairs (rows and columns of s by the same permutation) is the
 * same batch: same loss, ds permuted the same way. */
static void test_permutation(void)
{
    enum { B = 30 };
    float s[B * B], t[B * B], ds[B * B], dt[B * B];
    int perm[B];
    for (int rep = 0; rep < 5; rep++) {
        for (int k = 0; k < B * B; k++)
            s[k] = frand(-5, 5);
        for (int i = 0; i < B; i++)
            perm[i] = i;
        for (int i = B - 1; i > 0; i--) { /* Fisher-Yates */
            int j = (int)(urand() * (i + 1)), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++)
                t[i * B + j] = s[perm[i] * B + perm[j]];
        double ls = ssvae_infonce(ds, s, B), lt = ssvae_infonce(dt, t, B);
        /* only the order of the final mean changes: a few ulps of double */
        CHECK_CLOSE(lt, ls, 0, 1e-13);
        int same = 1;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++)
                same &= dt[i * B + j] == ds[perm[i] * B + perm[j]];
        CHECK(same, "ds not permuted with s (rep %d)", rep);
        /* a permutation of the columns alone moves the positives: the loss
         * changes (a sanity check that the diagonal is what is used) */
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++)
                t[i * B + j] = s[i * B + (j + 1) % B];
        CHECK(ssvae_infonce(NULL, t, B) != ls, "shifting columns left the loss");
    }
}

/* Logits near the float limit: the max shift keeps everything finite. */
static void test_huge(void)
{
    enum { B = 30 };
    float s[B * B], ds[B * B];
    const float big[] = {1e30f, 1e38f, FLT_MAX};
    for (size_t q = 0; q < sizeof big / sizeof big[0]; q++) {
        float b = big[q];
        /* diagonal hugely dominant: a certain, correct classifier */
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++)
                s[i * B + j] = i == j ? b : -b;
        double loss = ssvae_infonce(ds, s, B);
        CHECK(loss == 0.0, "dominant diagonal %g: loss %g", b, loss);
        int zero = 1;
        for (int k = 0; k < B * B; k++)
            zero &= ds[k] == 0.0f;
        CHECK(zero, "dominant diagonal %g: ds not all 0", b);

        /* diagonal hugely below: certain and wrong. loss = 2b + log(B-1):
         * the log term is far below b's ulp, so loss == 2b in double. */
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++)
                s[i * B + j] = i == j ? -b : b;
        loss = ssvae_infonce(ds, s, B);
        CHECK(isfinite(loss), "wrong diagonal %g: loss %g", b, loss);
        CHECK_CLOSE(loss, 2.0 * b, 0, 1e-15);
        CHECK(all_finite(ds, B * B), "wrong diagonal %g: ds not finite", b);
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++)
                CHECK_CLOSE(ds[i * B + j], i == j ? -1.0 / B : 1.0 / ((B - 1.0) * B), 1e-12, 1e-6);

        /* a mix of scales in one row: huge and O(1) logits together */
        for (int k = 0; k < B * B; k++)
            s[k] = frand(-1, 1) * b;
        loss = ssvae_infonce(ds, s, B);
        CHECK(isfinite(loss) && loss >= 0, "random %g: loss %g", b, loss);
        CHECK(all_finite(ds, B * B), "random %g: ds not finite", b);
    }
    /* two tied maxima on the diagonal's row: loss log 2 exactly */
    for (int k = 0; k < 4; k++)
        s[k] = 1e30f;
    CHECK_CLOSE(ssvae_infonce(ds, s, 2), log(2.0), 1e-15, 0);
}

/* Non-finite logits: NaN out, ds all NaN. */
static void test_nonfinite(void)
{
    enum { B = 4 };
    float s[B * B], ds[B * B];
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t q = 0; q < 3; q++) {
        for (int k = 0; k < B * B; k++)
            s[k] = frand(-1, 1);
        s[5] = bad[q];
        double loss = ssvae_infonce(ds, s, B);
        CHECK(isnan(loss), "s has %g: loss %g", bad[q], loss);
        int nan = 1;
        for (int k = 0; k < B * B; k++)
            nan &= isnan(ds[k]);
        CHECK(nan, "s has %g: ds not all NaN", bad[q]);
        CHECK(isnan(ssvae_infonce(NULL, s, B)), "ds NULL: loss not NaN");
    }
}

/* Random logits: bounds, row sums, ds NULL gives the same loss. */
static void test_bounds(void)
{
    float s[MAXB * MAXB], ds[MAXB * MAXB];
    const int Bs[] = {1, 2, 3, 5, 30};
    const double scale[] = {1e-3, 1, 10, 100};
    for (int b = 0; b < 5; b++) {
        int B = Bs[b];
        for (int sc = 0; sc < 4; sc++) {
            for (int rep = 0; rep < 10; rep++) {
                for (int k = 0; k < B * B; k++)
                    s[k] = frand(-scale[sc], scale[sc]);
                double loss = ssvae_infonce(ds, s, B);
                double elbo = log((double)B) - loss;
                CHECK(loss >= 0, "B=%d: loss %g < 0", B, loss);
                CHECK(elbo <= log((double)B), "B=%d: ELBO %g > log B", B, elbo);
                CHECK(ssvae_infonce(NULL, s, B) == loss, "B=%d: ds NULL changes the loss", B);
                for (int i = 0; i < B; i++) {
                    double sum = 0, off = 0;
                    for (int j = 0; j < B; j++) {
                        sum += ds[i * B + j];
                        if (j != i)
                            off += ds[i * B + j];
                        CHECK(j == i ? ds[i * B + j] <= 0 : ds[i * B + j] >= 0,
                              "B=%d: ds[%d,%d] = %g has the wrong sign", B, i, j, ds[i * B + j]);
                    }
                    /* each entry is rounded to float once: |sum| <~ B ulp(1/B) */
                    CHECK(fabs(sum) <= 1e-6 / B + 1e-7, "B=%d row %d sums to %g", B, i, sum);
                    CHECK(off <= 1.0 / B + 1e-7, "B=%d row %d: off-diagonal %g", B, i, off);
                }
            }
        }
    }
    /* a perfect classifier approaches 0 from above, a uniform one is log B */
    enum { B = 5 };
    float t[B * B];
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++)
            t[i * B + j] = i == j ? 40.0f : 0.0f;
    double l = ssvae_infonce(NULL, t, B);
    CHECK(l > 0 && l < 1e-15, "dominant by 40: loss %g", l);
    /* closed form: diagonal a, off-diagonal 0: loss = log(1 + (B-1) e^-a) */
    for (int i = 0; i < B; i++)
        t[i * B + i] = 1.5f;
    CHECK_CLOSE(ssvae_infonce(NULL, t, B), log(1.0 + (B - 1) * exp(-1.5)), 1e-15, 1e-14);
}

/*
 * ds against central differences of the loss. The loss is computed in
 * double from float logits, so it is exact to ~1e-16 relative for a given s;
 * the step actually taken, (float)(s + h) - (float)(s - h), is used. With
 * h = 1e-3 on |s| <= 3: rounding in the quotient ~1e-16 / 2e-3 ~ 1e-13;
 * truncation h^2/6 |d^3 loss / ds^3| <= 1.7e-7 * (1/B) * max |p(1-p)(1-2p)|
 * (<= 0.1) ~ 2e-8. ds itself is rounded to float: 6e-8 * |ds| <= 6e-8 / B.
 * Observed at most ~2e-8, so |fd - ds| <= 1e-7 leaves a margin of 5 while
 * an error of a factor or a sign (O(1/B^2) at least) shows.
 */
static void test_fd(void)
{
    float s[MAXB * MAXB], ds[MAXB * MAXB];
    const int Bs[] = {1, 2, 3, 5, 8};
    double worst = 0;
    for (int b = 0; b < 5; b++) {
        int B = Bs[b];
        for (int rep = 0; rep < 5; rep++) {
            for (int k = 0; k < B * B; k++)
                s[k] = frand(-3, 3);
            ssvae_infonce(ds, s, B);
            for (int k = 0; k < B * B; k++) {
                float s0 = s[k], sp = (float)(s0 + 1e-3), sm = (float)(s0 - 1e-3);
                s[k] = sp;
                double lp = ssvae_infonce(NULL, s, B);
                s[k] = sm;
                double lm = ssvae_infonce(NULL, s, B);
                s[k] = s0;
                double fd = (lp - lm) / ((double)sp - (double)sm);
                if (fabs(fd - ds[k]) > worst)
                    worst = fabs(fd - ds[k]);
                CHECK(fabs(fd - ds[k]) <= 1e-7, "B=%d ds[%d] = %.9g, fd %.9g", B, k, ds[k], fd);
            }
        }
    }
    if (getenv("SSVAE_TEST_VERBOSE"))
        printf("largest |fd - ds|: %.3g\n", worst);
}

int main(void)
{
    test_identical_latents();
    test_permutation();
    test_huge();
    test_nonfinite();
    test_bounds();
    test_fd();
    return check_report("test_infonce");
}
