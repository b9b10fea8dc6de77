/*
 * theory.h — the paper's §3 checked numerically on jointly Gaussian latents
 * (SPEC section 5). Internal to the library: the `ssvae theory` command and
 * tests/test_theory.c use it; nothing here prints.
 *
 * Setting. Q(z, z') is a zero-mean Gaussian in 2d dimensions with joint
 * covariance S = [[Sa, C], [C^T, Sb]] (Sa = Cov z, Sb = Cov z',
 * C = Cov(z, z')), stored row-major as a (2d, 2d) matrix. The isotropic
 * case z' = rho z + sqrt(1 - rho^2) eps per coordinate is Sa = Sb = I,
 * C = rho I. Everything is in nats and double precision; d <= THEORY_MAXD.
 *
 * Identities (paper equation numbers):
 *   Eq. 26  E_Q[log P(z,z') - log Q(z) - log Q(z')] = I(z; z') - KL(Q || P)
 *   Eq. 28  with P = Q that expectation is I(z; z')
 *   Eq. 33  with the InfoNCE prior P(z'|z) = Q(z') f(z,z') / E_Q(z')[f]:
 *           E_Q[log f] - E_Q(z)[log E_Q(z')[f(z, z')]]
 *   finite batches: log B - InfoNCE loss <= log B, grows with B, and tends
 *   to Eq. 33 as B -> infinity.
 */
#ifndef SSVAE_THEORY_H
#define SSVAE_THEORY_H

#include <stdint.h>

#include "ssvae.h"

#define THEORY_MAXD 32 /* latents per side; the joint has 2d <= 64 */

/* ------------------------------------------------------------------------ */
/* Dense linear algebra in double, row-major (n, n), n <= 2 * THEORY_MAXD    */
/* ------------------------------------------------------------------------ */

/* S = Lc Lc^T with Lc lower triangular; -1 if S is not positive definite. */
int theory_chol(double *Lc, const double *S, int n);
/* log det S from its Cholesky factor. */
double theory_chol_logdet(const double *Lc, int n);
/* Inv = S^-1 for a positive definite S; -1 if it is not. */
int theory_spd_inverse(double *Inv, const double *S, int n);

/* ------------------------------------------------------------------------ */
/* Jointly Gaussian Q(z, z')                                                  */
/* ------------------------------------------------------------------------ */

/* S (2d, 2d): z ~ N(0, I), z' = rho z + sqrt(1 - rho^2) eps, |rho| < 1. */
void theory_cov_rho(double *S, int d, double rho);
/* S (2d, 2d): a random joint covariance, z = A e1, z' = M z + N e2 with
 * A, M, N random (d, d) matrices (N well conditioned), so S is positive
 * definite with correlated, unequal coordinates. */
void theory_cov_random(double *S, int d, ssvae_rng *rng);
/* The block (d, d) of S (2d, 2d) starting at row r0, column c0. */
void theory_block(double *out, const double *S, int d, int r0, int c0);

/* rho per coordinate for a total MI of mi nats over d coordinates:
 * MI = -d/2 log(1 - rho^2)  =>  rho = sqrt(1 - exp(-2 mi / d)). */
double theory_rho_for_mi(double mi, int d);
/* I(z; z') = 1/2 (log det Sa + log det Sb - log det S); NaN if S is not PD. */
double theory_gauss_mi(const double *S, int d);
/* KL(N(m0, S0) || N(m1, S1)) in n dimensions (means may be NULL = 0):
 * 1/2 [tr(S1^-1 S0) + (m1 - m0)^T S1^-1 (m1 - m0) - n + log det S1 - log det S0].
 * NaN if S0 or S1 is not PD. */
double theory_gauss_kl(const double *m0, const double *S0, const double *m1,
                       const double *S1, int n);
/* log N(x; m, S) given the Cholesky factor Lc of S and its log det (m may be
 * NULL = 0). */
double theory_gauss_logpdf(const double *x, const double *m, const double *Lc,
                           double logdet, int n);

/* SP (2d, 2d): the joint covariance of the parametric prior
 * P(z) = N(0, sp^2 I), P(z'|z) = N(z'; z, L^2 I) — the library's Gaussian
 * prior (Eq. 35) with a Gaussian P(z): [[sp^2 I, sp^2 I], [sp^2 I, (sp^2 + L^2) I]]. */
void theory_prior_rbf_cov(double *SP, int d, double sp, double L);

/* Eq. 26 closed form: I(Q) - KL(Q || P), both zero mean; mi and kl receive
 * the two terms (either may be NULL). */
double theory_elbo_closed(const double *SQ, const double *SP, int d,
                          double *mi, double *kl);
/* The same expectation by a second route, term by term:
 * E_Q[log P(z,z')] - E_Q[log Q(z)] - E_Q[log Q(z')], where for Gaussians
 * E_Q[log N(x; 0, S)] = -1/2 [n log 2 pi + log det S + tr(S^-1 SQ)]. */
double theory_elbo_cross(const double *SQ, const double *SP, int d);

/* ------------------------------------------------------------------------ */
/* Eq. 33 for the two library critics                                        */
/* ------------------------------------------------------------------------ */

/* Gaussian (RBF) critic log f = -|z - z'|^2 / (2 L^2) (Eq. 36). Inner
 * expectation, a Gaussian integral (Q(z') = N(0, Sb)):
 *   E_Q(z')[f(z, z')] = (2 pi L^2)^(d/2) N(z; 0, Sb + L^2 I)
 *   log E = d log L - 1/2 log det(Sb + L^2 I) - 1/2 z^T (Sb + L^2 I)^-1 z. */
double theory_inner_rbf(const double *z, const double *Sb, int d, double L);
/* Eq. 33 closed form for the RBF critic:
 *   E[log f]        = -tr(Sa + Sb - C - C^T) / (2 L^2)
 *   E_z[log E f]    = d log L - 1/2 log det(Sb + L^2 I) - 1/2 tr((Sb + L^2 I)^-1 Sa). */
double theory_eq33_rbf(const double *SQ, int d, double L);
/* The L that maximises theory_eq33_rbf (golden section on log L). */
double theory_best_rbf_L(const double *SQ, int d);

/* Bilinear critic log f = z^T W z' (Eq. 5), W (d, d) row-major. Inner
 * expectation, the Gaussian moment generating function at t = W^T z:
 *   E_Q(z')[exp(z^T W z')] = exp(1/2 z^T W Sb W^T z). */
double theory_inner_bilinear(const double *z, const double *Sb, int d,
                             const double *W);
/* Eq. 33 closed form: tr(W^T C) - 1/2 tr(W Sb W^T Sa). */
double theory_eq33_bilinear(const double *SQ, int d, const double *W);
/* The maximiser W* = Sa^-1 C Sb^-1 (the value is then 1/2 tr(W*^T C)). */
void theory_best_bilinear_W(double *W, const double *SQ, int d);

/* The InfoNCE prior P(z, z') = Q(z) Q(z') f(z, z') / E_Q(z')[f] (Eqs. 29-31)
 * is itself Gaussian for both critics; SP (2d, 2d) receives its covariance,
 * so Eq. 33 can also be computed as I(Q) - KL(Q || P_InfoNCE) (Eq. 26).
 *   RBF:      z'|z ~ N(K z, K L^2),  K = Sb (Sb + L^2 I)^-1
 *   bilinear: z'|z ~ N(Sb W^T z, Sb). */
void theory_infonce_prior_rbf(double *SP, const double *SQ, int d, double L);
void theory_infonce_prior_bilinear(double *SP, const double *SQ, int d,
                                   const double *W);

/* ------------------------------------------------------------------------ */
/* Monte Carlo through the library's own code paths                          */
/* ------------------------------------------------------------------------ */

typedef struct theory_mc {
    double mean, se; /* sample mean and its standard error (std / sqrt n) */
    long n;
} theory_mc;

/* Eq. 26: samples (z, z') ~ Q and averages log P(z,z') - log Q(z) - log Q(z')
 * for P(z) = N(0, sp^2 I), P(z'|z) = N(z'; z, L^2 I) with L = exp(theta[0]);
 * log P(z'|z) comes from the library's gaussian prior logits. */
theory_mc theory_mc_elbo_rbf(const double *SQ, int d, double sp,
                             const float *theta, long n, uint64_t seed);
/* Eq. 28: averages log Q(z, z') - log Q(z) - log Q(z'). */
theory_mc theory_mc_mi(const double *SQ, int d, long n, uint64_t seed);
/* Eq. 33: averages log f(z, z') - log E_Q(z')[f(z, .)], log f from the
 * library prior's logits (kind GAUSSIAN: theta = [log L]; LINEAR: theta = W)
 * and the inner expectation from the closed form above. */
theory_mc theory_mc_eq33(ssvae_prior_kind kind, const float *theta,
                         const double *SQ, int d, long n, uint64_t seed);

/* Finite-batch InfoNCE: `reps` times, draw nmax pairs from Q and for every
 * B = 2, 4, ..., nmax (nmax a power of two) split them into nmax / B
 * batches, score each with the library's logits and ssvae_infonce, and
 * average log B - loss. Using the same pairs for every B makes the step
 * from B/2 to B a paired difference with a small standard error. */
typedef struct theory_curve_point {
    int B;
    double log_b;
    double mean, se;   /* E[log B - loss] over reps */
    double max;        /* largest single-batch value seen */
    double diff, se_diff; /* mean[B] - mean[B/2] (0 for B = 2) */
    int pass;          /* max <= log B, mean <= I + 4 se, diff >= -4 se_diff */
} theory_curve_point;

/* Fills pts (log2(nmax) points, at most 13); returns the count, or -1 on
 * bad arguments (nmax not a power of two in [2, 8192], reps < 2) or out of
 * memory. The points are checked against I(z; z') of SQ. */
int theory_infonce_curve(theory_curve_point *pts, ssvae_prior_kind kind,
                         const float *theta, const double *SQ, int d,
                         int nmax, int reps, uint64_t seed);

/* ------------------------------------------------------------------------ */
/* All checks of `ssvae theory`                                               */
/* ------------------------------------------------------------------------ */

typedef struct theory_row {
    char id[16];        /* "eq26", "eq28", "eq33-rbf", "eq33-bilinear", "eq33-limit" */
    char label[48];     /* what is checked, for humans */
    char setting[48];   /* "d=5 rho=0.9", "d=3 general" */
    char detail[96];    /* parameters and terms, e.g. "I=0.1438 KL=0.0567" */
    double closed;      /* closed form, nats */
    double closed2;     /* the same by a second closed-form route */
    double mc, se;      /* Monte Carlo estimate and its standard error */
    double tol;         /* allowed |mc - closed|: 4 se */
    int pass;           /* |mc - closed| <= tol and closed == closed2 (1e-9) */
} theory_row;

typedef struct theory_curve {
    char critic[16];    /* "bilinear", "rbf" */
    char setting[48];
    double mi, eq33;    /* true I(z; z') and the B -> infinity limit */
    int npts;
    theory_curve_point pts[16];
} theory_curve;

typedef struct theory_report {
    int nrows;
    theory_row rows[32];
    int ncurves;
    theory_curve curves[2];
    int failures;       /* rows and curve points that did not pass */
} theory_report;

/* Called after each row is computed (progress), may be NULL. */
typedef void (*theory_row_fn)(void *ctx, const theory_row *row);

/* Runs every identity check with `samples` Monte Carlo draws each and the
 * finite-batch curves up to nmax pairs (reps repetitions). Returns 0, or -1
 * with a message if memory runs out. */
int theory_run(theory_report *rep, long samples, int nmax, int reps,
               uint64_t seed, theory_row_fn fn, void *ctx, ssvae_error *err);

/* ------------------------------------------------------------------------ */
/* A separable MLP critic log f(z, z') = g(z)^T h(z') (Poole et al. 2019),   */
/* g and h each Linear(D, H) -> ReLU -> Linear(H, K), own parameters.        */
/* ------------------------------------------------------------------------ */

/* Parameter layout (floats): for g then h: W1 (H, D), b1 (H), W2 (K, H), b2 (K). */
int theory_mlp_nparams(int D, int H, int K);
/* PyTorch's default: uniform in +-1/sqrt(fan_in) for weights and biases. */
void theory_mlp_init(float *theta, int D, int H, int K, ssvae_rng *rng);
/* Floats of activations one forward pass keeps for the backward pass. */
long theory_mlp_nacts(int B, int H, int K);
/* s (B, B): s_ij = g(z_i) . h(z'_j); acts (theory_mlp_nacts) is written. */
void theory_mlp_logits(float *s, float *acts, const float *theta,
                       const float *z, const float *zp, int B, int D, int H,
                       int K);
/* Accumulates (+=) dtheta from ds (B, B) and the acts of the forward pass. */
void theory_mlp_backward(float *dtheta, const float *ds, const float *acts,
                         const float *theta, const float *z, const float *zp,
                         int B, int D, int H, int K);

/* ------------------------------------------------------------------------ */
/* The staircase benchmark (Poole et al. 2019, Fig. 2)                       */
/* ------------------------------------------------------------------------ */

#define THEORY_NCRITICS 3 /* bilinear, rbf (gaussian), separable MLP */
#define THEORY_MAXLEVELS 16

typedef struct theory_staircase_config {
    int d;              /* latents per side, default 20 */
    int nlevels;        /* default 5 */
    double mi[THEORY_MAXLEVELS]; /* true MI per level, default 2,4,6,8,10 */
    int steps;          /* Adam steps per level, default 1000 */
    int batch;          /* B, default 64 */
    double lr;          /* Adam learning rate, default 1e-3 */
    int hidden, embed;  /* MLP H and K, default 64 and 32 */
    uint64_t seed;      /* default 1 */
} theory_staircase_config;

void theory_staircase_default(theory_staircase_config *cfg);

extern const char *const theory_critic_names[THEORY_NCRITICS];

typedef struct theory_level_summary {
    double mi, rho;
    double est[THEORY_NCRITICS], se[THEORY_NCRITICS]; /* mean over the level's last half */
    double eq33[THEORY_NCRITICS]; /* B -> infinity value at the level's final
                                   * parameters (NaN for the MLP) */
} theory_level_summary;

typedef struct theory_staircase_result {
    int nsteps;         /* nlevels * steps */
    double *est;        /* (nsteps, THEORY_NCRITICS) log B - loss per step, owned */
    double *true_mi;    /* (nsteps), owned */
    theory_level_summary levels[THEORY_MAXLEVELS];
    double seconds;
} theory_staircase_result;

/* Called after each level (progress), may be NULL. */
typedef void (*theory_level_fn)(void *ctx, int level, const theory_level_summary *s);

/* One continuous training run: every critic sees the same fresh batch each
 * step; the true MI steps up every cfg->steps steps. Returns 0, or -1 with
 * a message on bad configuration, out of memory, or a NaN loss. */
int theory_staircase(const theory_staircase_config *cfg,
                     theory_staircase_result *res, theory_level_fn fn,
                     void *ctx, ssvae_error *err);
void theory_staircase_free(theory_staircase_result *res);

#endif
