/*
 * test_theory.c — the paper's §3 on jointly Gaussian latents (src/theory.c):
 *   - the KL, MI and Eq. 33 closed forms against independent quadrature on
 *     a grid (1, 2 and 4 dimensions), and the inner Gaussian integrals of
 *     the RBF and bilinear critics against quadrature in 1 and 2 dimensions;
 *   - the two closed-form routes of each identity agree (Eq. 26 as I - KL and
 *     as cross-entropies; Eq. 33 as traces and as I - KL(Q || P_InfoNCE));
 *   - Eqs. 26, 28 and 33 hold within 4 standard errors of the Monte Carlo
 *     estimates (fixed seeds) for four settings of rho and d, and a wrong
 *     closed form is rejected;
 *   - the finite-batch InfoNCE estimate never exceeds log B, grows with B
 *     and approaches Eq. 33 at large B;
 *   - the separable MLP critic's backward pass against finite differences;
 *   - a short staircase run and the whole `ssvae theory` report.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "theory.h"

static const double two_pi = 6.28318530717958647692;

/* x rounded to float (volatile: GCC 12 with AVX folds a vectorised
 * (double)(float)x round trip away) */
static double fround(double x)
{
    volatile float f = (float)x;
    return f;
}

/* log N(x; m, S) by hand for n = 1, 2 (independent of theory.c's Cholesky) */
static double logn1(double x, double m, double v)
{
    return -0.5 * log(two_pi * v) - (x - m) * (x - m) / (2.0 * v);
}
static double logn2(double x, double y, const double *m, const double *S)
{
    double det = S[0] * S[3] - S[1] * S[2];
    double dx = x - m[0], dy = y - m[1];
    double q = (S[3] * dx * dx - (S[1] + S[2]) * dx * dy + S[0] * dy * dy) / det;
    return -log(two_pi) - 0.5 * log(det) - 0.5 * q;
}

/* ------------------------------------------------------------------------ */
/* Closed forms against quadrature                                           */
/* ------------------------------------------------------------------------ */

static void test_kl_quadrature(void)
{
    /* 1D: KL(N(0.3, 1.44) || N(-0.5, 0.49)), trapezoid on [-15, 15] */
    double m0 = 0.3, v0 = 1.44, m1 = -0.5, v1 = 0.49, h = 1e-3, q = 0.0;
    for (double x = -15.0; x <= 15.0; x += h) {
        double lp = logn1(x, m0, v0), lq = logn1(x, m1, v1);
        q += exp(lp) * (lp - lq) * h;
    }
    CHECK_CLOSE(theory_gauss_kl(&m0, &v0, &m1, &v1, 1), q, 1e-9, 1e-9);
    /* 2D, correlated, both means nonzero */
    double M0[2] = {0.2, -0.1}, S0[4] = {1.0, 0.6, 0.6, 1.5};
    double M1[2] = {-0.4, 0.5}, S1[4] = {2.0, -0.3, -0.3, 0.8};
    double h2 = 0.04;
    q = 0.0;
    for (int i = 0; i <= 600; i++)
        for (int j = 0; j <= 600; j++) {
            double x = -12.0 + i * h2, y = -12.0 + j * h2;
            double lp = logn2(x, y, M0, S0), lq = logn2(x, y, M1, S1);
            q += exp(lp) * (lp - lq) * h2 * h2;
        }
    CHECK_CLOSE(theory_gauss_kl(M0, S0, M1, S1, 2), q, 1e-8, 1e-8);
    /* KL(P || P) = 0 and non-PD input gives NaN */
    CHECK_CLOSE(theory_gauss_kl(M0, S0, M0, S0, 2), 0.0, 1e-12, 0);
    double bad[4] = {1.0, 2.0, 2.0, 1.0};
    CHECK(isnan(theory_gauss_kl(NULL, S0, NULL, bad, 2)), "not PD must give NaN");
}

/* I(z; z') = int q log q / (q_z q_z') for d = 1 on a 2D grid */
static double mi_quad_2d(const double *S)
{
    double zero[2] = {0, 0}, h = 0.02, acc = 0.0;
    double sa = S[0], sb = S[3];
    for (int i = 0; i <= 1000; i++)
        for (int j = 0; j <= 1000; j++) {
            double x = -10.0 + i * h, y = -10.0 + j * h;
            double lq = logn2(x, y, zero, S);
            acc += exp(lq) * (lq - logn1(x, 0, sa) - logn1(y, 0, sb)) * h * h;
        }
    return acc;
}

static void test_mi_quadrature(void)
{
    double S[4];
    theory_cov_rho(S, 1, 0.8);
    double q = mi_quad_2d(S);
    CHECK_CLOSE(theory_gauss_mi(S, 1), q, 1e-8, 1e-8);
    CHECK_CLOSE(theory_gauss_mi(S, 1), -0.5 * log(1.0 - 0.64), 1e-12, 0);
    double G[4] = {1.7, -0.9, -0.9, 1.1}; /* general: unequal variances, rho < 0 */
    CHECK_CLOSE(theory_gauss_mi(G, 1), mi_quad_2d(G), 1e-8, 1e-8);

    /* d = 2 (a 4D grid, 41 points a side): rho = 0.5 per coordinate */
    double S4[16], Lc[16];
    theory_cov_rho(S4, 2, 0.5);
    CHECK(theory_chol(Lc, S4, 4) == 0, "chol");
    double ld = theory_chol_logdet(Lc, 4), h = 0.35, acc = 0.0;
    for (int a = 0; a <= 40; a++)
        for (int b = 0; b <= 40; b++)
            for (int c = 0; c <= 40; c++)
                for (int e = 0; e <= 40; e++) {
                    double x[4] = {-7 + a * h, -7 + b * h, -7 + c * h, -7 + e * h};
                    double lq = theory_gauss_logpdf(x, NULL, Lc, ld, 4);
                    double lm = logn1(x[0], 0, 1) + logn1(x[1], 0, 1) + logn1(x[2], 0, 1) +
                                logn1(x[3], 0, 1);
                    acc += exp(lq) * (lq - lm);
                }
    acc *= h * h * h * h;
    CHECK_CLOSE(theory_gauss_mi(S4, 2), acc, 1e-7, 1e-7);
    CHECK_CLOSE(theory_gauss_mi(S4, 2), -log(1.0 - 0.25), 1e-12, 0);
    /* the staircase's rho: d = 20 at 6 nats */
    double S20[40 * 40];
    theory_cov_rho(S20, 20, theory_rho_for_mi(6.0, 20));
    CHECK_CLOSE(theory_gauss_mi(S20, 20), 6.0, 1e-10, 1e-10);
}

/* int N(z'; 0, vb) f(z, z') dz' by quadrature, d = 1 */
static double inner_quad_1d(double z, double vb, int rbf, double par)
{
    double h = 1e-3, acc = 0.0;
    for (double y = -20.0; y <= 20.0; y += h) {
        double lf = rbf ? -(z - y) * (z - y) / (2 * par * par) : z * par * y;
        acc += exp(logn1(y, 0, vb) + lf) * h;
    }
    return log(acc);
}

static void test_inner_integrals(void)
{
    /* 1D */
    const double zs[] = {-2.0, -0.3, 0.0, 1.1, 2.5};
    for (size_t k = 0; k < sizeof zs / sizeof zs[0]; k++) {
        double z = zs[k], vb = 1.3;
        CHECK_CLOSE(theory_inner_rbf(&z, &vb, 1, 0.7), inner_quad_1d(z, vb, 1, 0.7), 1e-9, 1e-9);
        CHECK_CLOSE(theory_inner_bilinear(&z, &vb, 1, &(double){0.8}),
                    inner_quad_1d(z, vb, 0, 0.8), 1e-9, 1e-9);
    }
    /* 2D: correlated Sb, a non-symmetric W */
    double Sb[4] = {1.2, 0.4, 0.4, 0.7}, W[4] = {0.5, -0.3, 0.2, 0.9}, zero[2] = {0, 0};
    double z[2] = {0.7, -1.2}, L = 0.8, h = 0.02, ar = 0.0, ab = 0.0;
    for (int i = 0; i <= 1200; i++)
        for (int j = 0; j <= 1200; j++) {
            double y0 = -12.0 + i * h, y1 = -12.0 + j * h;
            double lq = logn2(y0, y1, zero, Sb);
            double d0 = z[0] - y0, d1 = z[1] - y1;
            ar += exp(lq - (d0 * d0 + d1 * d1) / (2 * L * L));
            double zwy = z[0] * (W[0] * y0 + W[1] * y1) + z[1] * (W[2] * y0 + W[3] * y1);
            ab += exp(lq + zwy);
        }
    CHECK_CLOSE(theory_inner_rbf(z, Sb, 2, L), log(ar * h * h), 1e-8, 1e-8);
    CHECK_CLOSE(theory_inner_bilinear(z, Sb, 2, W), log(ab * h * h), 1e-8, 1e-8);
}

/* Eq. 33 for d = 1 by quadrature: E_Q[log f] on a 2D grid minus
 * E_Q(z)[log E_Q(z')[f]] with the inner integral itself by quadrature */
static void test_eq33_quadrature(void)
{
    double S[4] = {1.3, 0.7, 0.7, 0.9}, zero[2] = {0, 0}, L = 0.9, w = 0.6;
    double h = 0.02, elf_r = 0.0, elf_b = 0.0;
    for (int i = 0; i <= 1000; i++)
        for (int j = 0; j <= 1000; j++) {
            double x = -10.0 + i * h, y = -10.0 + j * h, q = exp(logn2(x, y, zero, S));
            elf_r += q * (-(x - y) * (x - y) / (2 * L * L)) * h * h;
            elf_b += q * (x * w * y) * h * h;
        }
    double inn_r = 0.0, inn_b = 0.0, h1 = 0.05;
    for (double x = -9.0; x <= 9.0; x += h1) {
        double qx = exp(logn1(x, 0, S[0]));
        inn_r += qx * inner_quad_1d(x, S[3], 1, L) * h1;
        inn_b += qx * inner_quad_1d(x, S[3], 0, w) * h1;
    }
    CHECK_CLOSE(theory_eq33_rbf(S, 1, L), elf_r - inn_r, 1e-6, 1e-6);
    CHECK_CLOSE(theory_eq33_bilinear(S, 1, &w), elf_b - inn_b, 1e-6, 1e-6);
}

/* The two closed-form routes agree, for random covariances d = 1..6; the
 * InfoNCE bound never exceeds the MI; the optima are optima. */
static void test_closed_routes(void)
{
    ssvae_rng rng;
    ssvae_rng_seed(&rng, 42);
    double S[144], SP[144], W[36], W2[36];
    for (int d = 1; d <= 6; d++) {
        theory_cov_random(S, d, &rng);
        double mi = theory_gauss_mi(S, d);
        CHECK(mi > 0, "d=%d: MI %g should be positive", d, mi);
        theory_prior_rbf_cov(SP, d, 1.1, 0.6);
        CHECK_CLOSE(theory_elbo_closed(S, SP, d, NULL, NULL), theory_elbo_cross(S, SP, d), 1e-10, 1e-10);
        double L = theory_best_rbf_L(S, d), e = theory_eq33_rbf(S, d, L);
        theory_infonce_prior_rbf(SP, S, d, L);
        CHECK_CLOSE(e, mi - theory_gauss_kl(NULL, S, NULL, SP, 2 * d), 1e-10, 1e-10);
        CHECK(e <= mi + 1e-12, "d=%d: Eq.33 rbf %g > MI %g", d, e, mi);
        CHECK(theory_eq33_rbf(S, d, L * 1.05) < e && theory_eq33_rbf(S, d, L / 1.05) < e,
              "d=%d: L*=%g is not the optimum", d, L);
        theory_best_bilinear_W(W, S, d);
        double eb = theory_eq33_bilinear(S, d, W);
        theory_infonce_prior_bilinear(SP, S, d, W);
        CHECK_CLOSE(eb, mi - theory_gauss_kl(NULL, S, NULL, SP, 2 * d), 1e-10, 1e-10);
        CHECK(eb <= mi + 1e-12, "d=%d: Eq.33 bilinear %g > MI %g", d, eb, mi);
        for (int k = 0; k < d * d; k++)
            W2[k] = W[k] + 0.05 * ssvae_rng_normal(&rng);
        CHECK(theory_eq33_bilinear(S, d, W2) < eb, "d=%d: W* is not the optimum", d);
    }
    /* isotropic: the bilinear optimum is W = rho I with value d rho^2 / 2 */
    theory_cov_rho(S, 3, 0.6);
    theory_best_bilinear_W(W, S, 3);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            CHECK_CLOSE(W[a * 3 + b], a == b ? 0.6 : 0.0, 1e-12, 0);
    CHECK_CLOSE(theory_eq33_bilinear(S, 3, W), 3 * 0.36 / 2, 1e-12, 0);
    CHECK_CLOSE(theory_rho_for_mi(-0.5 * 7 * log(1 - 0.3 * 0.3), 7), 0.3, 1e-12, 0);
}

/* ------------------------------------------------------------------------ */
/* Monte Carlo within 4 standard errors                                      */
/* ------------------------------------------------------------------------ */

#define MC_N 20000

static int within(theory_mc m, double closed)
{
    return isfinite(m.mean) && m.se > 0 && fabs(m.mean - closed) <= 4.0 * m.se;
}

static void test_monte_carlo(void)
{
    struct { int d; double rho; } set[] = {{1, 0.3}, {4, 0.8}, {10, 0.95}, {2, -1}};
    double S[400], SP[400], W[100];
    float theta[100];
    for (size_t k = 0; k < sizeof set / sizeof set[0]; k++) {
        int d = set[k].d;
        uint64_t seed = 100 + k;
        if (set[k].rho >= 0) {
            theory_cov_rho(S, d, set[k].rho);
        } else {
            ssvae_rng rng;
            ssvae_rng_seed(&rng, 7);
            theory_cov_random(S, d, &rng);
        }
        double mi = theory_gauss_mi(S, d);
        /* Eq. 26 with P(z) = N(0, 0.8^2 I), P(z'|z) = N(z, 0.5^2 I) */
        theta[0] = (float)log(0.5);
        double L = exp((double)theta[0]), kl;
        theory_prior_rbf_cov(SP, d, 0.8, L);
        double e26 = theory_elbo_closed(S, SP, d, NULL, &kl);
        theory_mc m = theory_mc_elbo_rbf(S, d, 0.8, theta, MC_N, seed);
        CHECK(within(m, e26), "Eq.26 d=%d: MC %g +- %g vs closed %g", d, m.mean, m.se, e26);
        /* ... and it can fail: the estimate is not I when KL is large */
        if (kl > 0.2)
            CHECK(!within(m, mi), "Eq.26 d=%d: MC %g should differ from I %g", d, m.mean, mi);
        /* Eq. 28 */
        m = theory_mc_mi(S, d, MC_N, seed + 10);
        CHECK(within(m, mi), "Eq.28 d=%d: MC %g +- %g vs MI %g", d, m.mean, m.se, mi);
        /* Eq. 33, RBF critic at a non-optimal L */
        theta[0] = (float)log(0.9);
        L = exp((double)theta[0]);
        double e33 = theory_eq33_rbf(S, d, L);
        m = theory_mc_eq33(SSVAE_PRIOR_GAUSSIAN, theta, S, d, MC_N, seed + 20);
        CHECK(within(m, e33), "Eq.33 rbf d=%d: MC %g +- %g vs closed %g", d, m.mean, m.se, e33);
        /* Eq. 33, bilinear critic at half its optimum plus a skew part */
        theory_best_bilinear_W(W, S, d);
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) {
                W[a * d + b] = fround(0.5 * W[a * d + b] + 0.05 * (a - b));
                theta[a * d + b] = (float)W[a * d + b];
            }
        e33 = theory_eq33_bilinear(S, d, W);
        m = theory_mc_eq33(SSVAE_PRIOR_LINEAR, theta, S, d, MC_N, seed + 30);
        CHECK(within(m, e33), "Eq.33 bilinear d=%d: MC %g +- %g vs closed %g", d, m.mean, m.se, e33);
    }
    /* same seed, same numbers */
    double S2[16];
    theory_cov_rho(S2, 2, 0.5);
    theory_mc a = theory_mc_mi(S2, 2, 1000, 5), b = theory_mc_mi(S2, 2, 1000, 5);
    CHECK(a.mean == b.mean && a.se == b.se, "not deterministic");
}

/* ------------------------------------------------------------------------ */
/* Finite batches                                                            */
/* ------------------------------------------------------------------------ */

static void test_finite_batch(void)
{
    double S[16], W[4];
    theory_cov_rho(S, 2, 0.9);
    double mi = theory_gauss_mi(S, 2);
    for (int c = 0; c < 2; c++) {
        float theta[4];
        double eq33;
        ssvae_prior_kind kind;
        if (c == 0) {
            kind = SSVAE_PRIOR_LINEAR;
            theory_best_bilinear_W(W, S, 2);
            for (int k = 0; k < 4; k++)
                theta[k] = (float)(W[k] = fround(W[k]));
            eq33 = theory_eq33_bilinear(S, 2, W);
        } else {
            kind = SSVAE_PRIOR_GAUSSIAN;
            theta[0] = (float)log(theory_best_rbf_L(S, 2));
            eq33 = theory_eq33_rbf(S, 2, exp((double)theta[0]));
        }
        theory_curve_point pts[16];
        int n = theory_infonce_curve(pts, kind, theta, S, 2, 1024, 8, 11 + c);
        CHECK(n == 10, "points %d", n);
        if (n != 10)
            continue;
        for (int p = 0; p < n; p++) {
            CHECK(pts[p].max <= pts[p].log_b, "B=%d: max %g > log B", pts[p].B, pts[p].max);
            CHECK(pts[p].mean <= mi + 4 * pts[p].se, "B=%d: %g above the MI", pts[p].B, pts[p].mean);
            CHECK(pts[p].pass, "B=%d did not pass", pts[p].B);
            if (p > 0) {
                CHECK(pts[p].diff >= -4 * pts[p].se_diff, "B=%d: decreased by %g (se %g)",
                      pts[p].B, pts[p].diff, pts[p].se_diff);
                /* while the curve is steep the increase is significant */
                if (pts[p].B <= 64)
                    CHECK(pts[p].diff > 4 * pts[p].se_diff, "B=%d: increase %g not significant (se %g)",
                          pts[p].B, pts[p].diff, pts[p].se_diff);
            }
        }
        /* B = 2 is capped at log 2, far below Eq. 33 for the RBF critic */
        CHECK(pts[0].mean < eq33 - 0.3 || c == 0, "B=2 %g vs Eq.33 %g", pts[0].mean, eq33);
        CHECK(fabs(pts[n - 1].mean - eq33) <= 4 * pts[n - 1].se,
              "B=1024: %g +- %g vs Eq.33 %g", pts[n - 1].mean, pts[n - 1].se, eq33);
    }
    theory_curve_point pts[16];
    float th = 0.0f;
    CHECK(theory_infonce_curve(pts, SSVAE_PRIOR_GAUSSIAN, &th, S, 2, 1000, 8, 1) == -1,
          "nmax not a power of two must fail");
    CHECK(theory_infonce_curve(pts, SSVAE_PRIOR_GAUSSIAN, &th, S, 2, 64, 1, 1) == -1,
          "reps < 2 must fail");
}

/* ------------------------------------------------------------------------ */
/* MLP critic, staircase, the whole report                                   */
/* ------------------------------------------------------------------------ */

/* sum_ij R_ij s_ij: its gradient is the backward pass with ds = R */
static double mlp_objective(const float *theta, const float *R, const float *z,
                            const float *zp, int B, int D, int H, int K, float *s, float *acts)
{
    theory_mlp_logits(s, acts, theta, z, zp, B, D, H, K);
    double acc = 0.0;
    for (int k = 0; k < B * B; k++)
        acc += (double)R[k] * s[k];
    return acc;
}

static void test_mlp_gradient(void)
{
    enum { B = 5, D = 3, H = 7, K = 4 };
    ssvae_rng rng;
    ssvae_rng_seed(&rng, 3);
    int np = theory_mlp_nparams(D, H, K);
    CHECK(np == 2 * (H * D + H + K * H + K), "nparams %d", np);
    float *theta = malloc(np * sizeof *theta), *grad = calloc(np, sizeof *grad);
    float *acts = malloc(theory_mlp_nacts(B, H, K) * sizeof *acts);
    float z[B * D], zp[B * D], R[B * B], s[B * B];
    theory_mlp_init(theta, D, H, K, &rng);
    for (int k = 0; k < B * D; k++) {
        z[k] = (float)ssvae_rng_normal(&rng);
        zp[k] = (float)ssvae_rng_normal(&rng);
    }
    for (int k = 0; k < B * B; k++)
        R[k] = (float)ssvae_rng_normal(&rng);
    mlp_objective(theta, R, z, zp, B, D, H, K, s, acts);
    theory_mlp_backward(grad, R, acts, theta, z, zp, B, D, H, K);
    int bad = 0;
    double worst = 0.0;
    for (int p = 0; p < np; p++) {
        float keep = theta[p];
        float eps = 1e-2f;
        theta[p] = keep + eps;
        double up = mlp_objective(theta, R, z, zp, B, D, H, K, s, acts);
        theta[p] = keep - eps;
        double dn = mlp_objective(theta, R, z, zp, B, D, H, K, s, acts);
        theta[p] = keep;
        double fd = (up - dn) / (2.0 * ((double)(keep + eps) - (double)keep));
        double err = fabs(fd - grad[p]);
        /* a ReLU kink inside +-eps makes the difference one-sided; allow it */
        if (err > 2e-3 + 2e-3 * fabs(fd))
            bad++;
        if (err > worst)
            worst = err;
    }
    CHECK(bad <= np / 50, "%d of %d MLP gradients off (worst %g)", bad, np, worst);
    free(theta), free(grad), free(acts);
}

static void test_staircase(void)
{
    theory_staircase_config cfg;
    theory_staircase_default(&cfg);
    CHECK(cfg.d == 20 && cfg.nlevels == 5 && cfg.batch == 64 && cfg.mi[4] == 10.0, "defaults");
    cfg.d = 4;
    cfg.nlevels = 2;
    cfg.mi[0] = 1.0;
    cfg.mi[1] = 2.5;
    cfg.steps = 150;
    cfg.batch = 32;
    cfg.hidden = 16;
    cfg.embed = 8;
    cfg.lr = 5e-3;
    theory_staircase_result res;
    ssvae_error err = {{0}};
    int rc = theory_staircase(&cfg, &res, NULL, NULL, &err);
    CHECK(rc == 0, "staircase failed: %s", err.msg);
    if (rc)
        return;
    CHECK(res.nsteps == 300, "steps %d", res.nsteps);
    double log_b = log(32.0);
    int over = 0;
    for (int t = 0; t < res.nsteps * THEORY_NCRITICS; t++)
        over += !(res.est[t] <= log_b);
    CHECK(over == 0, "%d estimates above log B", over);
    CHECK(res.true_mi[0] == 1.0 && res.true_mi[299] == 2.5, "true MI per step");
    for (int l = 0; l < 2; l++)
        for (int c = 0; c < THEORY_NCRITICS; c++) {
            const theory_level_summary *s = &res.levels[l];
            /* learned something, and (in expectation) not above the truth */
            CHECK(s->est[c] > 0.4 * s->mi, "level %d %s: %g of %g", l, theory_critic_names[c],
                  s->est[c], s->mi);
            CHECK(s->est[c] < s->mi + 4 * s->se[c], "level %d %s: %g above %g", l,
                  theory_critic_names[c], s->est[c], s->mi);
        }
    /* the gaussian critic's Eq.33 at its learned L is below the MI */
    CHECK(res.levels[1].eq33[1] <= 2.5 + 1e-9, "Eq.33 %g", res.levels[1].eq33[1]);
    theory_staircase_free(&res);

    cfg.steps = 0;
    CHECK(theory_staircase(&cfg, &res, NULL, NULL, &err) == -1 && strstr(err.msg, "staircase"),
          "bad configuration must fail with a message");
    cfg.steps = 10;
    cfg.d = THEORY_MAXD + 1;
    CHECK(theory_staircase(&cfg, &res, NULL, NULL, &err) == -1, "d too large must fail");
}

static int rows_seen;
static void count_row(void *ctx, const theory_row *r)
{
    (void)ctx;
    (void)r;
    rows_seen++;
}

static void test_report(void)
{
    theory_report *rep = malloc(sizeof *rep);
    ssvae_error err = {{0}};
    CHECK(theory_run(rep, 3000, 512, 4, 1, count_row, NULL, &err) == 0, "run: %s", err.msg);
    CHECK(rep->nrows == 18 && rows_seen == 18, "rows %d, seen %d", rep->nrows, rows_seen);
    CHECK(rep->ncurves == 2 && rep->curves[0].npts == 9, "curves");
    for (int i = 0; i < rep->nrows; i++)
        CHECK(rep->rows[i].pass, "%s %s: closed %g (%g) MC %g +- %g", rep->rows[i].id,
              rep->rows[i].setting, rep->rows[i].closed, rep->rows[i].closed2, rep->rows[i].mc,
              rep->rows[i].se);
    CHECK(rep->failures == 0, "failures %d", rep->failures);
    free(rep);
}

int main(void)
{
    test_kl_quadrature();
    test_mi_quadrature();
    test_inner_integrals();
    test_eq33_quadrature();
    test_closed_routes();
    test_monte_carlo();
    test_finite_batch();
    test_mlp_gradient();
    test_staircase();
    test_report();
    return check_report("test_theory");
}
