/*
 * test_probe.c — the linear probe against exact affine data and against an
 * independent normal-equations solve in long double; rank-deficient and
 * badly scaled inputs; the distance, direct-error and chance-level
 * measures on hand-computed cases.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ssvae.h"

/* A private LCG so that this test needs nothing but probe.c and error.c. */
static uint64_t lcg = 12345;

static double uniform(void) /* [0, 1) */
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg >> 11) * 0x1p-53;
}

static int uniform_int(int lo, int hi) /* [lo, hi] */
{
    return lo + (int)(uniform() * (hi - lo + 1));
}

static double normal(void) /* Box-Muller */
{
    double u = 1.0 - uniform(), v = uniform();
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* The least-squares coefficients (D + 1, P), bias last, from the normal
 * equations [x 1]^T [x 1] c = [x 1]^T y, solved by Gauss-Jordan with
 * partial pivoting in long double. Independent of probe.c's QR. */
static void normal_equations(double *coef, const float *x, const float *y,
                             int T, int D, int P)
{
    int n = D + 1;
    long double *G = calloc((size_t)n * (n + P), sizeof *G); /* [G | rhs] */
    int ld = n + P;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < n; i++) {
            long double xi = i < D ? x[t * D + i] : 1.0L;
            for (int j = 0; j < n; j++)
                G[i * ld + j] += xi * (j < D ? x[t * D + j] : 1.0L);
            for (int p = 0; p < P; p++)
                G[i * ld + n + p] += xi * y[t * P + p];
        }
    }
    for (int k = 0; k < n; k++) {
        int piv = k;
        for (int i = k + 1; i < n; i++)
            if (fabsl(G[i * ld + k]) > fabsl(G[piv * ld + k]))
                piv = i;
        for (int j = 0; j < ld; j++) {
            long double t = G[k * ld + j];
            G[k * ld + j] = G[piv * ld + j];
            G[piv * ld + j] = t;
        }
        long double d = G[k * ld + k];
        for (int j = 0; j < ld; j++)
            G[k * ld + j] /= d;
        for (int i = 0; i < n; i++) {
            if (i == k)
                continue;
            long double f = G[i * ld + k];
            for (int j = 0; j < ld; j++)
                G[i * ld + j] -= f * G[k * ld + j];
        }
    }
    for (int i = 0; i < n; i++)
        for (int p = 0; p < P; p++)
            coef[i * P + p] = (double)G[i * ld + n + p];
    free(G);
}

/* [x 1] coef in double, for comparing fits without float rounding. */
static double predict(const ssvae_probe *pr, const float *x, int t, int p)
{
    double s = pr->coef[pr->D * pr->P + p];
    for (int j = 0; j < pr->D; j++)
        s += (double)x[t * pr->D + j] * pr->coef[j * pr->P + p];
    return s;
}

/* y = x A + b with small integers and dyadic coefficients, so that every
 * value is exact in float and the fit must return A and b themselves. */
static void test_exact_affine(void)
{
    enum { T = 50, D = 6, P = 6 };
    static float x[T * D], y[T * P], yhat[T * P];
    double A[D * P], b[P];
    for (int i = 0; i < D * P; i++)
        A[i] = uniform_int(-32, 32) / 16.0;
    for (int p = 0; p < P; p++)
        b[p] = uniform_int(-64, 64) / 8.0;
    for (int i = 0; i < T * D; i++)
        x[i] = (float)uniform_int(-8, 8);
    int exact = 1;
    for (int t = 0; t < T; t++)
        for (int p = 0; p < P; p++) {
            double s = b[p];
            for (int j = 0; j < D; j++)
                s += x[t * D + j] * A[j * P + p];
            y[t * P + p] = (float)s;
            exact &= (double)y[t * P + p] == s;
        }
    CHECK(exact, "test data not exact in float");

    ssvae_probe pr;
    ssvae_error err = {{0}};
    CHECK(ssvae_probe_fit(&pr, x, y, T, D, P, &err) == 0, "%s", err.msg);
    CHECK(pr.D == D && pr.P == P && pr.coef, "probe fields D=%d P=%d", pr.D, pr.P);
    for (int j = 0; j < D; j++)
        for (int p = 0; p < P; p++)
            CHECK_CLOSE(pr.coef[j * P + p], A[j * P + p], 1e-12, 1e-9);
    for (int p = 0; p < P; p++)
        CHECK_CLOSE(pr.coef[D * P + p], b[p], 1e-12, 1e-9);

    ssvae_probe_apply(&pr, x, T, yhat);
    double worst = 0.0;
    for (int i = 0; i < T * P; i++)
        worst = fmax(worst, fabs((double)yhat[i] - y[i]));
    CHECK(worst == 0.0, "apply on exact data: max error %g", worst);

    ssvae_probe_free(&pr);
    CHECK(pr.coef == NULL && pr.D == 0 && pr.P == 0, "free zeroes the probe");
    ssvae_probe_free(&pr); /* twice is harmless */
}

/* Noisy data: the QR solution equals the normal-equations solution. */
static void test_noise_matches_normal_equations(void)
{
    enum { T = 200, D = 6, P = 4 };
    static float x[T * D], y[T * P];
    double A[D * P], ref[(D + 1) * P];
    for (int i = 0; i < D * P; i++)
        A[i] = normal();
    for (int i = 0; i < T * D; i++)
        x[i] = (float)normal();
    for (int t = 0; t < T; t++)
        for (int p = 0; p < P; p++) {
            double s = 0.3 * p - 1.0 + 0.1 * normal();
            for (int j = 0; j < D; j++)
                s += x[t * D + j] * A[j * P + p];
            y[t * P + p] = (float)s;
        }
    normal_equations(ref, x, y, T, D, P);

    ssvae_probe pr;
    ssvae_error err = {{0}};
    CHECK(ssvae_probe_fit(&pr, x, y, T, D, P, &err) == 0, "%s", err.msg);
    for (int i = 0; i < (D + 1) * P; i++)
        CHECK_CLOSE(pr.coef[i], ref[i], 1e-8, 1e-8);
    ssvae_probe_free(&pr);
}

/* Columns scaled by 2^-20 (~1e-6) and 2^20 (~1e6) and one shifted by 256:
 * powers of two and a shift of 2^-12-quantised values are exact in float,
 * so the fit must be the base fit with those columns' coefficients scaled
 * back and the bias moved. */
static void test_bad_scaling(void)
{
    enum { T = 120, D = 5, P = 3 };
    static float xb[T * D], xs[T * D], y[T * P];
    const double lo = 0x1p-20, hi = 0x1p20, shift = 256.0;
    for (int t = 0; t < T; t++) {
        for (int j = 0; j < D; j++)
            xb[t * D + j] = (float)normal();
        xb[t * D + 4] = (float)(round(xb[t * D + 4] * 4096.0) / 4096.0);
        memcpy(xs + t * D, xb + t * D, D * sizeof *xs);
        xs[t * D + 1] = (float)(xb[t * D + 1] * lo);
        xs[t * D + 3] = (float)(xb[t * D + 3] * hi);
        xs[t * D + 4] = (float)(xb[t * D + 4] + shift);
        for (int p = 0; p < P; p++) {
            double s = 0.5 * normal();
            for (int j = 0; j < D; j++)
                s += (j + 1.0) * (p - 1.0) * xb[t * D + j];
            y[t * P + p] = (float)s;
        }
    }
    CHECK((double)xs[4] == (double)xb[4] + shift, "shift not exact");

    ssvae_probe base, bad;
    ssvae_error err = {{0}};
    double ref[(D + 1) * P];
    normal_equations(ref, xb, y, T, D, P);
    CHECK(ssvae_probe_fit(&base, xb, y, T, D, P, &err) == 0, "%s", err.msg);
    CHECK(ssvae_probe_fit(&bad, xs, y, T, D, P, &err) == 0, "%s", err.msg);
    for (int i = 0; i < (D + 1) * P; i++)
        CHECK_CLOSE(base.coef[i], ref[i], 1e-8, 1e-8);
    for (int p = 0; p < P; p++) {
        CHECK_CLOSE(bad.coef[0 * P + p], base.coef[0 * P + p], 1e-12, 1e-9);
        CHECK_CLOSE(bad.coef[1 * P + p] * lo, base.coef[1 * P + p], 1e-12, 1e-9);
        CHECK_CLOSE(bad.coef[2 * P + p], base.coef[2 * P + p], 1e-12, 1e-9);
        CHECK_CLOSE(bad.coef[3 * P + p] * hi, base.coef[3 * P + p], 1e-12, 1e-9);
        CHECK_CLOSE(bad.coef[4 * P + p], base.coef[4 * P + p], 1e-12, 1e-9);
        CHECK_CLOSE(bad.coef[D * P + p],
                    base.coef[D * P + p] - shift * base.coef[4 * P + p], 1e-9, 1e-9);
    }
    ssvae_probe_free(&base);
    ssvae_probe_free(&bad);
}

/* A constant column, an exact duplicate and an exact double of another
 * column: the fit succeeds and predicts exactly what the fit without them
 * predicts. The constant gets zero weight; the minimum-norm solution (in
 * standardised units) splits the weight of identical standardised columns
 * equally. */
static void test_rank_deficient(void)
{
    enum { T = 80, DB = 5, D = 8, P = 3 };
    static float xb[T * DB], x[T * D], y[T * P];
    for (int t = 0; t < T; t++) {
        for (int j = 0; j < DB; j++)
            xb[t * DB + j] = x[t * D + j] = (float)normal();
        x[t * D + 5] = 3.5f;
        x[t * D + 6] = x[t * D + 2];
        x[t * D + 7] = 2.0f * x[t * D + 0];
        for (int p = 0; p < P; p++)
            y[t * P + p] = (float)(xb[t * DB + p] - 0.5 * xb[t * DB + 4] + p + 0.2 * normal());
    }
    ssvae_probe base, full;
    ssvae_error err = {{0}};
    CHECK(ssvae_probe_fit(&base, xb, y, T, DB, P, &err) == 0, "%s", err.msg);
    CHECK(ssvae_probe_fit(&full, x, y, T, D, P, &err) == 0, "%s", err.msg);
    double worst = 0.0;
    for (int t = 0; t < T; t++)
        for (int p = 0; p < P; p++)
            worst = fmax(worst, fabs(predict(&full, x, t, p) - predict(&base, xb, t, p)));
    CHECK(worst < 1e-9, "rank-deficient predictions differ by %g", worst);
    for (int p = 0; p < P; p++) {
        const double *c = full.coef, *cb = base.coef;
        CHECK(c[5 * P + p] == 0.0, "constant column weight %g", c[5 * P + p]);
        CHECK_CLOSE(c[2 * P + p], c[6 * P + p], 1e-12, 1e-9);
        CHECK_CLOSE(c[2 * P + p] + c[6 * P + p], cb[2 * P + p], 1e-12, 1e-9);
        CHECK_CLOSE(c[0 * P + p], 2.0 * c[7 * P + p], 1e-12, 1e-9);
        CHECK_CLOSE(c[0 * P + p] + 2.0 * c[7 * P + p], cb[0 * P + p], 1e-12, 1e-9);
    }
    ssvae_probe_free(&base);
    ssvae_probe_free(&full);

    /* Nothing but constants (and no inputs at all): the bias is the mean. */
    float xc[4 * 2] = {1, -2, 1, -2, 1, -2, 1, -2}, yc[4] = {1, 2, 3, 6};
    ssvae_probe pr;
    CHECK(ssvae_probe_fit(&pr, xc, yc, 4, 2, 1, &err) == 0, "%s", err.msg);
    CHECK(pr.coef[0] == 0.0 && pr.coef[1] == 0.0, "constant weights %g %g",
          pr.coef[0], pr.coef[1]);
    CHECK_CLOSE(pr.coef[2], 3.0, 1e-15, 0.0);
    ssvae_probe_free(&pr);
    CHECK(ssvae_probe_fit(&pr, NULL, yc, 4, 0, 1, &err) == 0, "%s", err.msg);
    CHECK_CLOSE(pr.coef[0], 3.0, 1e-15, 0.0);
    ssvae_probe_free(&pr);
}

static void test_rejects(void)
{
    enum { D = 6, P = 2 };
    float x[(D + 1) * D], y[(D + 1) * P];
    for (int i = 0; i < (D + 1) * D; i++)
        x[i] = (float)normal();
    for (int i = 0; i < (D + 1) * P; i++)
        y[i] = (float)normal();
    ssvae_probe pr;
    ssvae_error err = {{0}};
    CHECK(ssvae_probe_fit(&pr, x, y, D, D, P, &err) == -1, "T = D accepted");
    CHECK(strstr(err.msg, "D+1 frames") != NULL, "message: '%s'", err.msg);
    CHECK(pr.coef == NULL, "failed fit leaves coef NULL");

    /* T = D + 1: square system, interpolates exactly. */
    CHECK(ssvae_probe_fit(&pr, x, y, D + 1, D, P, &err) == 0, "%s", err.msg);
    double worst = 0.0;
    for (int t = 0; t < D + 1; t++)
        for (int p = 0; p < P; p++)
            worst = fmax(worst, fabs(predict(&pr, x, t, p) - y[t * P + p]));
    CHECK(worst < 1e-9, "T = D+1 residual %g", worst);
    ssvae_probe_free(&pr);

    err.msg[0] = 0;
    CHECK(ssvae_probe_fit(&pr, x, y, D + 1, D, 0, &err) == -1, "P = 0 accepted");
    CHECK(err.msg[0] != 0, "no message for P = 0");
    x[3] = NAN;
    err.msg[0] = 0;
    CHECK(ssvae_probe_fit(&pr, x, y, D + 1, D, P, &err) == -1, "NaN accepted");
    CHECK(strstr(err.msg, "non-finite") != NULL, "message: '%s'", err.msg);
}

static void test_mean_distance(void)
{
    float p1[2] = {0, 0}, t1[2] = {3, 4};
    CHECK_CLOSE(ssvae_mean_distance(p1, t1, 1, 1, 1.0, 1.0), 5.0, 1e-12, 0.0);
    float t2[2] = {0.3f, 0.4f};
    CHECK_CLOSE(ssvae_mean_distance(p1, t2, 1, 1, 10.0, 10.0), 5.0, 1e-6, 0.0);
    float p3[2] = {1, 2}, t3[2] = {2, 3};                /* diff (1, 1) */
    CHECK_CLOSE(ssvae_mean_distance(p3, t3, 1, 1, 3.0, 4.0), 5.0, 1e-12, 0.0);
    /* (T=2, K=2): distances 5, 0, 13, 10 -> 7 */
    float p[8] = {0, 0, 1, 1, 0, 0, 6, 8}, t[8] = {3, 4, 1, 1, 5, 12, 0, 0};
    CHECK_CLOSE(ssvae_mean_distance(p, t, 2, 2, 1.0, 1.0), 7.0, 1e-12, 0.0);
}

/* z (T, 2K) normalised from centres c (T, K, 2) px with map k = ball
 * perm[k], moved by off (K, 2) px. */
static void make_z(float *z, const float *c, int T, int K, const int *perm,
                   const double *off, int W, int H)
{
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++) {
            const float *b = c + (t * K + perm[k]) * 2;
            z[t * 2 * K + 2 * k] = (float)((b[0] + (off ? off[2 * k] : 0.0)) / W);
            z[t * 2 * K + 2 * k + 1] = (float)((b[1] + (off ? off[2 * k + 1] : 0.0)) / H);
        }
}

static void random_centres(float *c, int T, int K, int W, int H)
{
    for (int i = 0; i < T * K; i++) {
        c[2 * i] = (float)(W * uniform());
        c[2 * i + 1] = (float)(H * uniform());
    }
}

/* mean_{t,k} |(W z, H z) of map k - ball perm[k]|, the plain way */
static double hand_error(const float *z, const float *c, int T, int K,
                         const int *perm, int W, int H)
{
    double s = 0.0;
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++)
            s += hypot((double)z[t * 2 * K + 2 * k] * W - c[(t * K + perm[k]) * 2],
                       (double)z[t * 2 * K + 2 * k + 1] * H - c[(t * K + perm[k]) * 2 + 1]);
    return s / (T * K);
}

static void test_direct_error(void)
{
    enum { W = 64, H = 48, TF = 40, TE = 30 };
    static float cf[TF * 8 * 2], ce[TE * 8 * 2], zf[TF * 16], ze[TE * 16];
    int perm[8];

    /* K = 3, maps permuted (map 0 = ball 2, ...): zero error, pairing found. */
    {
        enum { K = 3 };
        const int truth[K] = {2, 0, 1};
        random_centres(cf, TF, K, W, H);
        random_centres(ce, TE, K, W, H);
        make_z(zf, cf, TF, K, truth, NULL, W, H);
        make_z(ze, ce, TE, K, truth, NULL, W, H);
        double e = ssvae_direct_error(zf, cf, TF, ze, ce, TE, K, W, H, perm);
        CHECK_CLOSE(e, 0.0, 1e-4, 0.0);
        CHECK(perm[0] == 2 && perm[1] == 0 && perm[2] == 1, "perm %d %d %d",
              perm[0], perm[1], perm[2]);

        /* Offsets of 5, 10 and 0 px on the eval set: error 5. */
        const double off[2 * K] = {3, 4, 6, -8, 0, 0};
        make_z(ze, ce, TE, K, truth, off, W, H);
        e = ssvae_direct_error(zf, cf, TF, ze, ce, TE, K, W, H, perm);
        CHECK_CLOSE(e, 5.0, 1e-4, 0.0);

        /* The pairing comes from the fit set, not the eval set. */
        const int other[K] = {0, 1, 2};
        make_z(ze, ce, TE, K, other, NULL, W, H);
        e = ssvae_direct_error(zf, cf, TF, ze, ce, TE, K, W, H, perm);
        double want = hand_error(ze, ce, TE, K, truth, W, H);
        CHECK(want > 1.0, "test not discriminating: %g", want);
        CHECK_CLOSE(e, want, 1e-9, 1e-9);
    }

    /* K = 1: only one pairing; a (3, 4) px offset reads as 5 px. */
    {
        random_centres(cf, TF, 1, W, H);
        random_centres(ce, TE, 1, W, H);
        const int id[1] = {0};
        const double off[2] = {-3, 4};
        make_z(zf, cf, TF, 1, id, off, W, H);
        make_z(ze, ce, TE, 1, id, off, W, H);
        perm[0] = 7;
        double e = ssvae_direct_error(zf, cf, TF, ze, ce, TE, 1, W, H, perm);
        CHECK(perm[0] == 0, "K=1 perm %d", perm[0]);
        CHECK_CLOSE(e, 5.0, 1e-4, 0.0);
    }

    /* K = 4 with noise on both sets: the pairing is still found and the
     * error is the plain mean under it. */
    {
        enum { K = 4 };
        const int truth[K] = {3, 1, 0, 2};
        random_centres(cf, TF, K, W, H);
        random_centres(ce, TE, K, W, H);
        make_z(zf, cf, TF, K, truth, NULL, W, H);
        make_z(ze, ce, TE, K, truth, NULL, W, H);
        for (int i = 0; i < TF * 2 * K; i++)
            zf[i] += (float)(0.02 * normal());
        for (int i = 0; i < TE * 2 * K; i++)
            ze[i] += (float)(0.02 * normal());
        double e = ssvae_direct_error(zf, cf, TF, ze, ce, TE, K, W, H, perm);
        CHECK(perm[0] == 3 && perm[1] == 1 && perm[2] == 0 && perm[3] == 2,
              "perm %d %d %d %d", perm[0], perm[1], perm[2], perm[3]);
        double want = hand_error(ze, ce, TE, K, truth, W, H);
        CHECK(want > 0.5, "noise too small to test: %g", want);
        CHECK_CLOSE(e, want, 1e-9, 1e-9);
    }

    /* Ties (two balls always at the same place) go to the first pairing. */
    {
        enum { K = 2 };
        random_centres(cf, TF, K, W, H);
        for (int t = 0; t < TF; t++) {
            cf[(t * K + 1) * 2] = cf[(t * K) * 2];
            cf[(t * K + 1) * 2 + 1] = cf[(t * K) * 2 + 1];
        }
        const int id[K] = {0, 1};
        make_z(zf, cf, TF, K, id, NULL, W, H);
        ssvae_direct_error(zf, cf, TF, zf, cf, TF, K, W, H, perm);
        CHECK(perm[0] == 0 && perm[1] == 1, "tie perm %d %d", perm[0], perm[1]);
    }
}

static void test_chance_error(void)
{
    /* Ball 0 at (0,0), (2,0): mean (1,0); ball 1 at (10,10), (10,12): mean
     * (10,11). Eval: ball 0 at (4,4) -> 5, ball 1 at (10,11) -> 0. */
    float cf[8] = {0, 0, 10, 10, 2, 0, 10, 12};
    float ce[4] = {4, 4, 10, 11};
    CHECK_CLOSE(ssvae_chance_error(cf, 2, ce, 1, 2), 2.5, 1e-12, 0.0);
    /* Two eval frames: ball 0 at (1,0) -> 0, ball 1 at (10,-1) -> 12. */
    float ce2[8] = {4, 4, 10, 11, 1, 0, 10, -1};
    CHECK_CLOSE(ssvae_chance_error(cf, 2, ce2, 2, 2), (5.0 + 0 + 0 + 12) / 4, 1e-12, 0.0);
}

int main(void)
{
    test_exact_affine();
    test_noise_matches_normal_equations();
    test_bad_scaling();
    test_rank_deficient();
    test_rejects();
    test_mean_distance();
    test_direct_error();
    test_chance_error();
    return check_report("test_probe");
}
