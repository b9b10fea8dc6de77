/*
 * test_priors.c — the prior table and each prior's log f and gradients:
 * closed forms (a hand-computed Gaussian pair, W = I gives the dot product),
 * lookup by name, describe, and central finite differences of every
 * gradient (z, z', theta) on small random shapes, plus the full chain
 * loss(logits(z, z')) through ssvae_infonce.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ssvae.h"

/* splitmix64: a self-contained stream so this test needs only the priors */
static uint64_t rng_state = 12345;
static double urand(void) /* [0, 1) */
{
    uint64_t x = (rng_state += 0x9e3779b97f4a7c15ULL);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (double)(x >> 11) * 0x1p-53;
}
static float frand(double lo, double hi) { return (float)(lo + (hi - lo) * urand()); }

/* B rows of D latents uniform in [-1, 1], each row at least 0.5 long: the
 * cosine critic's curvature grows as 1/|z|^2, and central differences with
 * h = 1e-2 need it bounded. */
static void latents(float *z, int B, int D)
{
    for (int i = 0; i < B; i++) {
        double n2;
        do {
            n2 = 0;
            for (int d = 0; d < D; d++) {
                z[i * D + d] = frand(-1, 1);
                n2 += (double)z[i * D + d] * z[i * D + d];
            }
        } while (n2 < 0.25);
    }
}

#define MAXB 5
#define MAXD 6
#define MAXP 1024 /* theta of the largest prior at D = MAXD */

/* ------------------------------------------------------------------------ */
/* Closed forms, table, names                                               */
/* ------------------------------------------------------------------------ */

static void test_table(void)
{
    ssvae_prior_kind k = SSVAE_PRIOR_COUNT;
    char names[256];
    CHECK(strcmp(ssvae_prior_names(names, sizeof names),
                 "gaussian, linear, cosine, gaussian-diag, student-t, dynamics, mlp, hinge") == 0,
          "names: %s", names);
    CHECK(ssvae_prior_lookup("gaussian", &k) == 0 && k == SSVAE_PRIOR_GAUSSIAN, "gaussian -> %d", (int)k);
    CHECK(ssvae_prior_lookup("linear", &k) == 0 && k == SSVAE_PRIOR_LINEAR, "linear -> %d", (int)k);
    const char *bad[] = {"", "Gaussian", "gauss", "linear ", "Cosine", "bilinear"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        k = SSVAE_PRIOR_COUNT;
        CHECK(ssvae_prior_lookup(bad[i], &k) == -1 && k == SSVAE_PRIOR_COUNT, "\"%s\" accepted", bad[i]);
    }
    CHECK(ssvae_prior_lookup(NULL, &k) == -1, "NULL name accepted");
    for (int p = 0; p < SSVAE_PRIOR_COUNT; p++) {
        const ssvae_prior_ops *ops = ssvae_prior_get((ssvae_prior_kind)p);
        CHECK(ops && ops->name && ops->density && ops->density[0], "prior %d incomplete", p);
        CHECK(ops->logits && ops->logits_backward && ops->describe && ops->nparams && ops->init &&
              ops->freeze && ops->choose, "prior %d ops", p);
        /* the name in the table finds the same row */
        CHECK(ssvae_prior_lookup(ops->name, &k) == 0 && (int)k == p, "%s round trip", ops->name);
    }
    CHECK(ssvae_prior_get(SSVAE_PRIOR_GAUSSIAN)->nparams(6) == 1, "gaussian nparams");
    CHECK(ssvae_prior_get(SSVAE_PRIOR_LINEAR)->nparams(6) == 36, "linear nparams");
    CHECK(ssvae_prior_get(SSVAE_PRIOR_LINEAR)->nparams(2) == 4, "linear nparams");
}

static void test_gaussian_closed_form(void)
{
    const ssvae_prior_ops *g = ssvae_prior_get(SSVAE_PRIOR_GAUSSIAN);
    /* L = 2, z = (1, 2), z' = (4, 6): |z - z'|^2 = 9 + 16 = 25, s = -25/8 */
    float theta = (float)log(2.0), z[2] = {1, 2}, zp[2] = {4, 6}, s = 0;
    g->logits(&s, &theta, z, zp, 1, 2);
    /* theta holds log 2 rounded to float (rel. err. 6e-8), so s is within
     * ~2e-7 relative of -3.125 */
    CHECK_CLOSE(s, -3.125, 0, 1e-6);

    /* B = 2: the whole matrix, s_ij = -|z_i - z'_j|^2 / 2 with L = 1 */
    float th0 = 0, Z[4] = {0, 0, 1, 0}, ZP[4] = {0, 1, 3, 4}, S[4];
    g->logits(S, &th0, Z, ZP, 2, 2);
    CHECK(S[0] == -0.5f && S[1] == -12.5f && S[2] == -1.0f && S[3] == -10.0f,
          "S = %g %g %g %g", S[0], S[1], S[2], S[3]);

    char buf[64];
    float th = (float)log(0.0213);
    g->describe(buf, sizeof buf, &th, 6);
    CHECK(strcmp(buf, "L=0.0213") == 0, "describe: \"%s\"", buf);
    char small[4];
    g->describe(small, sizeof small, &th, 6); /* truncates, never overflows */
    CHECK(strcmp(small, "L=0") == 0, "truncated: \"%s\"", small);
}

static void test_linear_closed_form(void)
{
    const ssvae_prior_ops *l = ssvae_prior_get(SSVAE_PRIOR_LINEAR);
    enum { D = 6, B = 3 };
    float W[D * D] = {0}, z[B * D], zp[B * D], s[B * B];
    for (int a = 0; a < D; a++)
        W[a * D + a] = 1;
    for (int k = 0; k < B * D; k++) {
        z[k] = (float)(k % 5) - 2.0f; /* small integers: every sum is exact */
        zp[k] = (float)(k % 3) + 0.5f;
    }
    l->logits(s, W, z, zp, B, D);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double dot = 0;
            for (int d = 0; d < D; d++)
                dot += (double)z[i * D + d] * zp[j * D + d];
            CHECK(s[i * B + j] == (float)dot, "W = I: s[%d,%d] = %g, dot = %g", i, j, s[i * B + j], dot);
        }

    /* orientation: W[a*D + b] couples z_a with z'_b. W = e_0 e_1^T, D = 2 */
    float W2[4] = {0, 1, 0, 0}, z2[2] = {3, 5}, zp2[2] = {7, 11}, s2;
    l->logits(&s2, W2, z2, zp2, 1, 2);
    CHECK(s2 == 3.0f * 11.0f, "z^T W z' with W01 = 1: %g", s2);

    char buf[64];
    l->describe(buf, sizeof buf, W, D); /* |I_6| = sqrt 6 */
    CHECK(strcmp(buf, "|W|=2.449") == 0, "describe: \"%s\"", buf);
    float W3[4] = {3, 0, 0, -4};
    l->describe(buf, sizeof buf, W3, 2);
    CHECK(strcmp(buf, "|W|=5") == 0, "describe: \"%s\"", buf);
}

/* ------------------------------------------------------------------------ */
/* Finite differences                                                        */
/* ------------------------------------------------------------------------ */

/*
 * theta for a check: the prior's own start (init op, with L0 = 1 and
 * W0 = 1 so scales are O(1) on O(1) latents), each entry then moved by up
 * to +-jitter, so A != I, b != 0, unequal scales etc. are all exercised.
 */
static void start_theta(const ssvae_prior_ops *ops, float *theta, const float *z, const float *zp,
                        int B, int D, double jitter)
{
    ssvae_train_config cfg;
    ssvae_train_config_default(&cfg);
    cfg.L0 = 1;
    cfg.W0 = 1;
    cfg.nu = 3;
    ssvae_rng rng;
    ssvae_rng_seed(&rng, 7);
    ops->init(theta, &cfg, z, zp, B, D, &rng);
    for (int k = 0; k < ops->nparams(D); k++)
        theta[k] += frand(-jitter, jitter);
}

/* J = sum_ij r_ij s_ij(z, z', theta), in double from the float logits. Its
 * gradient is logits_backward with ds = r. */
static double objective(const ssvae_prior_ops *ops, const float *r, const float *theta,
                        const float *z, const float *zp, int B, int D)
{
    float s[MAXB * MAXB];
    ops->logits(s, theta, z, zp, B, D);
    double J = 0;
    for (int k = 0; k < B * B; k++)
        J += (double)r[k] * s[k];
    return J;
}

/* Central difference of J in x[k], with the step actually taken (x +- h
 * rounded to float) rather than the nominal one. */
static double central(const ssvae_prior_ops *ops, const float *r, float *theta, float *z,
                      float *zp, int B, int D, float *x, int k, double h)
{
    float x0 = x[k];
    float xp = (float)(x0 + h), xm = (float)(x0 - h);
    x[k] = xp;
    double Jp = objective(ops, r, theta, z, zp, B, D);
    x[k] = xm;
    double Jm = objective(ops, r, theta, z, zp, B, D);
    x[k] = x0;
    return (Jp - Jm) / ((double)xp - (double)xm);
}

/*
 * Tolerance. The logits are float: with |z| <= 1, |s| <~ 10, each s_ij
 * carries a rounding error <~ 6e-8 * 10, so J (B^2 <= 25 terms, |r| <= 1)
 * is known to ~1e-6 typically (errors of random sign add as sqrt(25)). The
 * difference quotient divides that by 2h = 2e-2 (h = 1e-2 on O(1) values):
 * noise ~5e-5; observed at most 2.3e-5. Truncation is zero for z, z' and W
 * (s is quadratic in each coordinate of z, z' and linear in W: the third
 * derivative that central differences miss vanishes). For log L, J is
 * proportional to exp(-2 theta), so the truncation h^2/6 |J'''| is
 * h^2 * 4/6 = 6.7e-5 relative to J' (observed: 6.6e-5). Hence
 * |fd - analytic| <= 2e-4 + 1e-3 |analytic|: ~10x above what rounding and
 * truncation give, far below the O(|grad|) error of a wrong sign or factor.
 */
#define FD_H 1e-2
#define FD_ATOL 2e-4
#define FD_RTOL 1e-3

static double fd_worst; /* largest |fd - analytic| / tolerance seen */
static int kinks_skipped; /* hinge chain checks whose step crossed the margin */

static void fd_check_prior(ssvae_prior_kind kind, int B, int D)
{
    const ssvae_prior_ops *ops = ssvae_prior_get(kind);
    int P = ops->nparams(D);
    float theta[MAXP], z[MAXB * MAXD], zp[MAXB * MAXD], r[MAXB * MAXB];
    float dz[MAXB * MAXD], dzp[MAXB * MAXD], dth[MAXP];
    const float pre = 0.25f; /* gradients start here: backward must add */

    latents(z, B, D);
    latents(zp, B, D);
    for (int k = 0; k < B * D; k++)
        dz[k] = dzp[k] = pre;
    start_theta(ops, theta, z, zp, B, D, 0.2);
    for (int k = 0; k < B * B; k++)
        r[k] = frand(-1, 1);
    for (int k = 0; k < P; k++)
        dth[k] = pre;
    ops->logits_backward(dz, dzp, dth, r, theta, z, zp, B, D);

    struct { const char *what; float *x, *g; int n; } vars[] = {
        {"z", z, dz, B * D}, {"z'", zp, dzp, B * D}, {"theta", theta, dth, P}};
    for (int v = 0; v < 3; v++) {
        for (int k = 0; k < vars[v].n; k++) {
            double an = (double)vars[v].g[k] - pre;
            double fd = central(ops, r, theta, z, zp, B, D, vars[v].x, k, FD_H);
            double err = fabs(fd - an);
            if (err / (FD_ATOL + FD_RTOL * fabs(an)) > fd_worst)
                fd_worst = err / (FD_ATOL + FD_RTOL * fabs(an));
            CHECK(err <= FD_ATOL + FD_RTOL * fabs(an),
                  "%s B=%d D=%d d%s[%d]: analytic %.7g, fd %.7g", ops->name, B, D,
                  vars[v].what, k, an, fd);
        }
    }

    /* NULL outputs are allowed and leave the others as computed */
    float dz2[MAXB * MAXD];
    for (int k = 0; k < B * D; k++)
        dz2[k] = pre;
    ops->logits_backward(dz2, NULL, NULL, r, theta, z, zp, B, D);
    int same = 1;
    for (int k = 0; k < B * D; k++)
        same &= dz2[k] == dz[k];
    CHECK(same, "%s: dz alone differs from dz with the others", ops->name);
    ops->logits_backward(NULL, NULL, NULL, r, theta, z, zp, B, D);
}

/* The full chain: J = infonce(logits(z, z')), gradient through ds. */
/* Which off-diagonal logits pass the hinge's margin (bit k of the mask);
 * 0 for InfoNCE priors, whose loss is smooth. */
static uint64_t kink_side(const ssvae_prior_ops *ops, const float *s, int B)
{
    uint64_t mask = 0;
    if (ops->loss)
        for (int k = 0; k < B * B; k++)
            if (s[k] > -1.0f)
                mask |= 1ULL << k;
    return mask;
}

static double chain_loss(const ssvae_prior_ops *ops, const float *theta, const float *z,
                         const float *zp, int B, int D, uint64_t *side)
{
    float s[MAXB * MAXB];
    ops->logits(s, theta, z, zp, B, D);
    *side = kink_side(ops, s, B);
    return ssvae_prior_loss(ops, NULL, s, B);
}

/*
 * Chain tolerance. The loss is a double function of float logits, known to
 * ~1e-7 (a row's rounding errors, averaged over B rows); over 2h = 2e-2
 * that is ~1e-5 (observed <= 9e-6 for z, z'). J is no longer quadratic, so
 * truncation h^2/6 |J'''| enters; it is largest for log L, ~1e-4 relative
 * (observed 1.0e-4 on gradients ~1). Hence 1e-4 + 1e-3 |analytic|.
 */
#define CHAIN_ATOL 1e-4

static void fd_check_chain(ssvae_prior_kind kind, int B, int D)
{
    const ssvae_prior_ops *ops = ssvae_prior_get(kind);
    int P = ops->nparams(D);
    float theta[MAXP], z[MAXB * MAXD], zp[MAXB * MAXD], s[MAXB * MAXB], ds[MAXB * MAXB];
    float dz[MAXB * MAXD] = {0}, dzp[MAXB * MAXD] = {0}, dth[MAXP] = {0};
    latents(z, B, D);
    for (int k = 0; k < B * D; k++)
        zp[k] = z[k] + frand(-0.3, 0.3); /* positives near, as in training */
    start_theta(ops, theta, z, zp, B, D, 0.3);
    ops->logits(s, theta, z, zp, B, D);
    ssvae_prior_loss(ops, ds, s, B);
    ops->logits_backward(dz, dzp, dth, ds, theta, z, zp, B, D);

    struct { const char *what; float *x, *g; int n; } vars[] = {
        {"z", z, dz, B * D}, {"z'", zp, dzp, B * D}, {"theta", theta, dth, P}};
    /* A hinge loss has kinks: a step in its scale moves every pair at once
     * and some across the margin, so its theta is checked at the logits
     * (fd_check_prior), where it is smooth, and not through the loss. */
    int nvars = ops->loss ? 2 : 3;
    for (int v = 0; v < nvars; v++) {
        for (int k = 0; k < vars[v].n; k++) {
            float *x = vars[v].x, x0 = x[k];
            float xp = (float)(x0 + FD_H), xm = (float)(x0 - FD_H);
            uint64_t sp, sm;
            x[k] = xp;
            double Jp = chain_loss(ops, theta, z, zp, B, D, &sp);
            x[k] = xm;
            double Jm = chain_loss(ops, theta, z, zp, B, D, &sm);
            x[k] = x0;
            if (sp != sm) { /* the step crosses a hinge: no derivative to compare */
                kinks_skipped++;
                continue;
            }
            double fd = (Jp - Jm) / ((double)xp - (double)xm), an = vars[v].g[k];
            double err = fabs(fd - an);
            if (err / (CHAIN_ATOL + FD_RTOL * fabs(an)) > fd_worst)
                fd_worst = err / (CHAIN_ATOL + FD_RTOL * fabs(an));
            CHECK(err <= CHAIN_ATOL + FD_RTOL * fabs(an),
                  "chain %s B=%d D=%d d%s[%d]: analytic %.7g, fd %.7g", ops->name, B, D,
                  vars[v].what, k, an, fd);
        }
    }
}

/* dynamics at A = I, b = 0, equal sigma is the Gaussian prior with L = sigma */
static void test_dynamics_is_gaussian(void)
{
    const ssvae_prior_ops *g = ssvae_prior_get(SSVAE_PRIOR_GAUSSIAN);
    const ssvae_prior_ops *dy = ssvae_prior_get(SSVAE_PRIOR_DYNAMICS);
    enum { B = 5, D = 6 };
    float z[B * D], zp[B * D], sg[B * B], sd[B * B], thg[1], thd[D * D + 2 * D];
    for (int k = 0; k < B * D; k++) {
        z[k] = frand(0, 1);
        zp[k] = z[k] + frand(-0.05, 0.05);
    }
    ssvae_train_config cfg;
    ssvae_train_config_default(&cfg);
    ssvae_rng rng;
    ssvae_rng_seed(&rng, 1);
    double Lg = g->init(thg, &cfg, z, zp, B, D, &rng), Ld = dy->init(thd, &cfg, z, zp, B, D, &rng);
    CHECK(Lg == Ld, "starts differ: %g %g", Lg, Ld);
    g->logits(sg, thg, z, zp, B, D);
    dy->logits(sd, thd, z, zp, B, D);
    double worst = 0;
    int same = 0;
    for (int k = 0; k < B * B; k++) {
        double e = fabs((double)sg[k] - sd[k]) / (fabs((double)sg[k]) + 1e-30);
        worst = e > worst ? e : worst;
        same += sg[k] == sd[k];
    }
    CHECK(worst <= 1e-6, "dynamics at its start vs gaussian: relative %g", worst);
    if (getenv("SSVAE_TEST_VERBOSE"))
        printf("dynamics = gaussian: %d of %d logits bit for bit, worst relative %.3g\n", same, B * B, worst);
}

/* The recipe's fixed scale freezes exactly the scale entries; student-t's
 * nu is always frozen and takes --nu; hinge's L is never trained. */
static void test_freeze(void)
{
    ssvae_train_config cfg;
    ssvae_train_config_default(&cfg);
    enum { D = 4 };
    uint8_t fr[MAXP];
    struct { ssvae_prior_kind k; int learned_frozen, fixed_frozen; } want[] = {
        {SSVAE_PRIOR_GAUSSIAN, 0, 1}, {SSVAE_PRIOR_LINEAR, 0, 0}, {SSVAE_PRIOR_COSINE, 0, 1},
        {SSVAE_PRIOR_GAUSSIAN_DIAG, 0, D}, {SSVAE_PRIOR_STUDENT_T, 1, 2}, {SSVAE_PRIOR_DYNAMICS, 0, D},
        {SSVAE_PRIOR_MLP, 0, 0}, {SSVAE_PRIOR_HINGE, 1, 1}};
    CHECK(sizeof want / sizeof *want == SSVAE_PRIOR_COUNT, "every prior listed");
    for (size_t w = 0; w < sizeof want / sizeof *want; w++) {
        const ssvae_prior_ops *ops = ssvae_prior_get(want[w].k);
        for (int fixed = 0; fixed < 2; fixed++) {
            cfg.learn_L = !fixed;
            memset(fr, 0, sizeof fr);
            ops->freeze(fr, &cfg, D);
            int n = 0;
            for (int p = 0; p < ops->nparams(D); p++) n += fr[p];
            int expect = fixed ? want[w].fixed_frozen : want[w].learned_frozen;
            CHECK(n == expect, "%s fixed=%d: %d frozen, want %d", ops->name, fixed, n, expect);
        }
    }
    float th[2], z[2 * D] = {0.1f, 0.2f, 0.3f, 0.4f, 0.1f, 0.25f, 0.3f, 0.45f};
    cfg.nu = 4;
    cfg.L0 = 0.5;
    ssvae_prior_get(SSVAE_PRIOR_STUDENT_T)->init(th, &cfg, z, z + D, 1, D, NULL);
    CHECK_CLOSE(exp(th[1]), 4.0, 0, 1e-6);
    CHECK_CLOSE(exp(th[0]), 0.5, 0, 1e-6);
}

/* hinge loss closed form: B = 2, s = [[-0.5, -3], [-0.2, -0.1]], margin 1:
 * rows: 0.5 + max(0, 1 - 3) = 0.5; 0.1 + max(0, 1 - 0.2) = 0.9; mean 0.7 */
static void test_hinge_loss(void)
{
    const ssvae_prior_ops *h = ssvae_prior_get(SSVAE_PRIOR_HINGE);
    float s[4] = {-0.5f, -3.0f, -0.2f, -0.1f}, ds[4];
    double loss = ssvae_prior_loss(h, ds, s, 2);
    CHECK_CLOSE(loss, 0.7, 1e-7, 0);
    CHECK(ds[0] == -0.5f && ds[1] == 0.0f && ds[2] == 0.5f && ds[3] == -0.5f,
          "ds = %g %g %g %g", ds[0], ds[1], ds[2], ds[3]);
    CHECK(ssvae_prior_get(SSVAE_PRIOR_GAUSSIAN)->loss == NULL, "gaussian is InfoNCE");
}

int main(void)
{
    test_dynamics_is_gaussian();
    test_freeze();
    test_hinge_loss();
    test_table();
    test_gaussian_closed_form();
    test_linear_closed_form();

    const int Bs[] = {1, 3, 5}, Ds[] = {2, 6};
    for (int p = 0; p < SSVAE_PRIOR_COUNT; p++)
        for (int b = 0; b < 3; b++)
            for (int d = 0; d < 2; d++)
                for (int rep = 0; rep < 3; rep++) {
                    fd_check_prior((ssvae_prior_kind)p, Bs[b], Ds[d]);
                    fd_check_chain((ssvae_prior_kind)p, Bs[b], Ds[d]);
                }
    if (getenv("SSVAE_TEST_VERBOSE"))
        printf("largest |fd - analytic| / tolerance: %.3g (%d hinge steps across the margin skipped)\n",
               fd_worst, kinks_skipped);
    return check_report("test_priors");
}
