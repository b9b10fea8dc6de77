/*
 * theory.c — closed forms and Monte Carlo checks of the paper's §3 on
 * jointly Gaussian latents (SPEC section 5), and the "staircase" benchmark
 * of Poole et al. (2019). See theory.h for the identities and docs/theory.md
 * for the derivations.
 *
 * Dimension letters: d latents per side, n = 2d for the joint (z, z'),
 * B pairs in a batch. Matrices are double, row-major. Monte Carlo sums run
 * in double; samples are rounded to float once (the library's priors take
 * float), and every term — closed form and estimator alike — is then
 * evaluated at those rounded values and at float-rounded critic parameters,
 * so the only float error left is the rounding of each logit the library
 * returns (relative 6e-8, far below the Monte Carlo standard errors).
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "theory.h"

#define MAXN (2 * THEORY_MAXD)

static const double log2pi = 1.83787706640934548356; /* log(2 pi) */

/* A dimension outside [1, 2 * THEORY_MAXD] is a programmer error; saying so
 * also tells the compiler every loop below runs at least once. */
static void die_dims(int n) __attribute__((noreturn));
static void die_dims(int n)
{
    fprintf(stderr, "%s:%d: theory: dimension %d out of range\n", __FILE__, __LINE__, n);
    abort();
}

/* x rounded to float, as a double. Through a volatile on purpose: GCC 12.2
 * with AVX (-march=native) folds a vectorised round trip (double)(float)x
 * back to x, which would leave the closed forms using unrounded critic
 * parameters and samples while the library sees the rounded ones. */
static double round_to_float(double x)
{
    volatile float f = (float)x;
    return (double)f;
}

/* ------------------------------------------------------------------------ */
/* Linear algebra                                                            */
/* ------------------------------------------------------------------------ */

/* Cholesky–Banachiewicz: S = Lc Lc^T. */
int theory_chol(double *Lc, const double *S, int n)
{
    assert(n >= 1 && n <= MAXN);
    memset(Lc, 0, (size_t)n * n * sizeof *Lc);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++) {
            double acc = S[i * n + j];
            for (int k = 0; k < j; k++)
                acc -= Lc[i * n + k] * Lc[j * n + k];
            if (i == j) {
                if (!(acc > 0.0))
                    return -1;
                Lc[i * n + i] = sqrt(acc);
            } else {
                Lc[i * n + j] = acc / Lc[j * n + j];
            }
        }
    }
    return 0;
}

double theory_chol_logdet(const double *Lc, int n)
{
    double acc = 0.0;
    for (int i = 0; i < n; i++)
        acc += log(Lc[i * n + i]);
    return 2.0 * acc;
}

/* u = Lc^-1 y (forward substitution) */
static void forward_solve(double *u, const double *Lc, const double *y, int n)
{
    for (int i = 0; i < n; i++) {
        double acc = y[i];
        for (int k = 0; k < i; k++)
            acc -= Lc[i * n + k] * u[k];
        u[i] = acc / Lc[i * n + i];
    }
}

/* x = Lc^-T u (back substitution) */
static void back_solve(double *x, const double *Lc, const double *u, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        double acc = u[i];
        for (int k = i + 1; k < n; k++)
            acc -= Lc[k * n + i] * x[k];
        x[i] = acc / Lc[i * n + i];
    }
}

int theory_spd_inverse(double *Inv, const double *S, int n)
{
    double Lc[MAXN * MAXN], e[MAXN], u[MAXN], x[MAXN];
    if (theory_chol(Lc, S, n))
        return -1;
    for (int c = 0; c < n; c++) {
        for (int i = 0; i < n; i++)
            e[i] = i == c;
        forward_solve(u, Lc, e, n);
        back_solve(x, Lc, u, n);
        for (int i = 0; i < n; i++)
            Inv[i * n + c] = x[i];
    }
    return 0;
}

/* C = A B, all (n, n); C may not alias A or B */
static void matmul(double *C, const double *A, const double *B, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int k = 0; k < n; k++)
                acc += A[i * n + k] * B[k * n + j];
            C[i * n + j] = acc;
        }
}

/* C = A B^T */
static void matmul_bt(double *C, const double *A, const double *B, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int k = 0; k < n; k++)
                acc += A[i * n + k] * B[j * n + k];
            C[i * n + j] = acc;
        }
}

/* tr(A B) */
static double trace_ab(const double *A, const double *B, int n)
{
    double acc = 0.0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            acc += A[i * n + k] * B[k * n + i];
    return acc;
}

static double trace(const double *A, int n)
{
    double acc = 0.0;
    for (int i = 0; i < n; i++)
        acc += A[i * n + i];
    return acc;
}

/* log det of a PD matrix, NaN if it is not */
static double logdet_spd(const double *S, int n)
{
    double Lc[MAXN * MAXN];
    if (theory_chol(Lc, S, n))
        return NAN;
    return theory_chol_logdet(Lc, n);
}

/* S (2d, 2d) from blocks: [[Sa, C], [C^T, Sb]] */
static void join_blocks(double *S, const double *Sa, const double *C,
                        const double *Sb, int d)
{
    int n = 2 * d;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            S[i * n + j] = Sa[i * d + j];
            S[i * n + d + j] = C[i * d + j];
            S[(d + j) * n + i] = C[i * d + j];
            S[(d + i) * n + d + j] = Sb[i * d + j];
        }
}

void theory_block(double *out, const double *S, int d, int r0, int c0)
{
    if (d < 1 || d > THEORY_MAXD)
        die_dims(d);
    int n = 2 * d;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            out[i * d + j] = S[(r0 + i) * n + c0 + j];
}

/* ------------------------------------------------------------------------ */
/* Jointly Gaussian Q(z, z')                                                  */
/* ------------------------------------------------------------------------ */

void theory_cov_rho(double *S, int d, double rho)
{
    assert(d >= 1 && d <= THEORY_MAXD && fabs(rho) < 1.0);
    int n = 2 * d;
    memset(S, 0, (size_t)n * n * sizeof *S);
    for (int i = 0; i < d; i++) {
        S[i * n + i] = 1.0;
        S[(d + i) * n + d + i] = 1.0;
        S[i * n + d + i] = rho;
        S[(d + i) * n + i] = rho;
    }
}

/* z = A e1, z' = M z + N e2:  Sa = A A^T, C = Sa M^T, Sb = M Sa M^T + N N^T */
void theory_cov_random(double *S, int d, ssvae_rng *rng)
{
    assert(d >= 1 && d <= THEORY_MAXD);
    double A[THEORY_MAXD * THEORY_MAXD], M[THEORY_MAXD * THEORY_MAXD],
        N[THEORY_MAXD * THEORY_MAXD], Sa[THEORY_MAXD * THEORY_MAXD],
        C[THEORY_MAXD * THEORY_MAXD], Sb[THEORY_MAXD * THEORY_MAXD],
        T[THEORY_MAXD * THEORY_MAXD];
    double sc = 1.0 / sqrt((double)d);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            A[i * d + j] = (i == j) + 0.5 * sc * ssvae_rng_normal(rng);
            M[i * d + j] = 0.7 * (i == j) + 0.3 * sc * ssvae_rng_normal(rng);
            N[i * d + j] = 0.6 * (i == j) + 0.1 * sc * ssvae_rng_normal(rng);
        }
    matmul_bt(Sa, A, A, d);
    matmul_bt(C, Sa, M, d);  /* Sa M^T */
    matmul(T, M, C, d);      /* M Sa M^T */
    matmul_bt(Sb, N, N, d);
    for (int k = 0; k < d * d; k++)
        Sb[k] += T[k];
    join_blocks(S, Sa, C, Sb, d);
}

double theory_rho_for_mi(double mi, int d)
{
    return sqrt(1.0 - exp(-2.0 * mi / d));
}

double theory_gauss_mi(const double *S, int d)
{
    double Sa[THEORY_MAXD * THEORY_MAXD], Sb[THEORY_MAXD * THEORY_MAXD];
    theory_block(Sa, S, d, 0, 0);
    theory_block(Sb, S, d, d, d);
    return 0.5 * (logdet_spd(Sa, d) + logdet_spd(Sb, d) - logdet_spd(S, 2 * d));
}

double theory_gauss_kl(const double *m0, const double *S0, const double *m1,
                       const double *S1, int n)
{
    double Inv1[MAXN * MAXN];
    if (theory_spd_inverse(Inv1, S1, n))
        return NAN;
    double quad = 0.0;
    if (m0 || m1) {
        double dm[MAXN];
        for (int i = 0; i < n; i++)
            dm[i] = (m1 ? m1[i] : 0.0) - (m0 ? m0[i] : 0.0);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                quad += dm[i] * Inv1[i * n + j] * dm[j];
    }
    return 0.5 * (trace_ab(Inv1, S0, n) + quad - n + logdet_spd(S1, n) -
                  logdet_spd(S0, n));
}

double theory_gauss_logpdf(const double *x, const double *m, const double *Lc,
                           double logdet, int n)
{
    if (n < 1 || n > MAXN)
        die_dims(n);
    double y[MAXN] = {0}, u[MAXN]; /* = {0} quiets a false -Wmaybe-uninitialized */
    for (int i = 0; i < n; i++)
        y[i] = x[i] - (m ? m[i] : 0.0);
    forward_solve(u, Lc, y, n);
    double quad = 0.0;
    for (int i = 0; i < n; i++)
        quad += u[i] * u[i];
    return -0.5 * (n * log2pi + logdet + quad);
}

void theory_prior_rbf_cov(double *SP, int d, double sp, double L)
{
    int n = 2 * d;
    memset(SP, 0, (size_t)n * n * sizeof *SP);
    for (int i = 0; i < d; i++) {
        SP[i * n + i] = sp * sp;
        SP[i * n + d + i] = sp * sp;
        SP[(d + i) * n + i] = sp * sp;
        SP[(d + i) * n + d + i] = sp * sp + L * L;
    }
}

double theory_elbo_closed(const double *SQ, const double *SP, int d,
                          double *mi, double *kl)
{
    double i_ = theory_gauss_mi(SQ, d);
    double k_ = theory_gauss_kl(NULL, SQ, NULL, SP, 2 * d);
    if (mi)
        *mi = i_;
    if (kl)
        *kl = k_;
    return i_ - k_;
}

/* E_{N(0, SQ)}[log N(x; 0, S)] = -1/2 [n log 2 pi + log det S + tr(S^-1 SQ)] */
static double cross_entropy_term(const double *SQ, const double *S, int n)
{
    double Inv[MAXN * MAXN];
    if (theory_spd_inverse(Inv, S, n))
        return NAN;
    return -0.5 * (n * log2pi + logdet_spd(S, n) + trace_ab(Inv, SQ, n));
}

double theory_elbo_cross(const double *SQ, const double *SP, int d)
{
    double Sa[THEORY_MAXD * THEORY_MAXD], Sb[THEORY_MAXD * THEORY_MAXD];
    theory_block(Sa, SQ, d, 0, 0);
    theory_block(Sb, SQ, d, d, d);
    return cross_entropy_term(SQ, SP, 2 * d) - cross_entropy_term(Sa, Sa, d) -
           cross_entropy_term(Sb, Sb, d);
}

/* ------------------------------------------------------------------------ */
/* Eq. 33 for the RBF (Eq. 36) and bilinear (Eq. 5) critics                   */
/* ------------------------------------------------------------------------ */

/* T = Sb + L^2 I */
static void sb_plus_l2(double *T, const double *Sb, int d, double L)
{
    memcpy(T, Sb, (size_t)d * d * sizeof *T);
    for (int i = 0; i < d; i++)
        T[i * d + i] += L * L;
}

/* log E_Q(z')[f] = d log L - 1/2 log det(Sb + L^2 I) - 1/2 z^T (Sb + L^2 I)^-1 z
 * from  int N(z'; 0, Sb) exp(-|z - z'|^2 / 2L^2) dz'
 *     = (2 pi L^2)^(d/2) int N(z'; 0, Sb) N(z; z', L^2 I) dz'
 *     = (2 pi L^2)^(d/2) N(z; 0, Sb + L^2 I). */
double theory_inner_rbf(const double *z, const double *Sb, int d, double L)
{
    double T[THEORY_MAXD * THEORY_MAXD], Lc[THEORY_MAXD * THEORY_MAXD],
        u[THEORY_MAXD];
    sb_plus_l2(T, Sb, d, L);
    if (theory_chol(Lc, T, d))
        return NAN;
    forward_solve(u, Lc, z, d);
    double quad = 0.0;
    for (int i = 0; i < d; i++)
        quad += u[i] * u[i];
    return d * log(L) - 0.5 * theory_chol_logdet(Lc, d) - 0.5 * quad;
}

/* E[log f] - E_z[log E f], each term analytic:
 * E|z - z'|^2 = tr(Sa + Sb - C - C^T),  E_z[z^T T^-1 z] = tr(T^-1 Sa). */
double theory_eq33_rbf(const double *SQ, int d, double L)
{
    double Sa[THEORY_MAXD * THEORY_MAXD], Sb[THEORY_MAXD * THEORY_MAXD],
        C[THEORY_MAXD * THEORY_MAXD], T[THEORY_MAXD * THEORY_MAXD],
        Ti[THEORY_MAXD * THEORY_MAXD];
    theory_block(Sa, SQ, d, 0, 0);
    theory_block(Sb, SQ, d, d, d);
    theory_block(C, SQ, d, 0, d);
    double e_logf = -(trace(Sa, d) + trace(Sb, d) - 2.0 * trace(C, d)) / (2.0 * L * L);
    sb_plus_l2(T, Sb, d, L);
    if (theory_spd_inverse(Ti, T, d))
        return NAN;
    double e_inner = d * log(L) - 0.5 * logdet_spd(T, d) - 0.5 * trace_ab(Ti, Sa, d);
    return e_logf - e_inner;
}

/* Golden-section search on log L in [-8, 8]; Eq. 33 for the RBF critic is
 * smooth and single-peaked in log L for the covariances used here. */
double theory_best_rbf_L(const double *SQ, int d)
{
    const double g = 0.6180339887498949;
    double a = -8.0, b = 8.0;
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    double f1 = theory_eq33_rbf(SQ, d, exp(x1)), f2 = theory_eq33_rbf(SQ, d, exp(x2));
    for (int it = 0; it < 200 && b - a > 1e-10; it++) {
        if (f1 > f2) {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - g * (b - a);
            f1 = theory_eq33_rbf(SQ, d, exp(x1));
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (b - a);
            f2 = theory_eq33_rbf(SQ, d, exp(x2));
        }
    }
    return exp(0.5 * (a + b));
}

/* log E_Q(z')[exp(z^T W z')] = 1/2 t^T Sb t,  t = W^T z  (the moment
 * generating function of N(0, Sb) at t) */
double theory_inner_bilinear(const double *z, const double *Sb, int d,
                             const double *W)
{
    double t[THEORY_MAXD];
    for (int b = 0; b < d; b++) {
        double acc = 0.0;
        for (int a = 0; a < d; a++)
            acc += W[a * d + b] * z[a];
        t[b] = acc;
    }
    double quad = 0.0;
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            quad += t[i] * Sb[i * d + j] * t[j];
    return 0.5 * quad;
}

/* E[z^T W z'] = sum_ab W_ab C_ab = tr(W^T C);  E_z[1/2 z^T W Sb W^T z] = 1/2 tr(W Sb W^T Sa) */
double theory_eq33_bilinear(const double *SQ, int d, const double *W)
{
    double Sa[THEORY_MAXD * THEORY_MAXD], Sb[THEORY_MAXD * THEORY_MAXD],
        C[THEORY_MAXD * THEORY_MAXD], T[THEORY_MAXD * THEORY_MAXD],
        X[THEORY_MAXD * THEORY_MAXD];
    theory_block(Sa, SQ, d, 0, 0);
    theory_block(Sb, SQ, d, d, d);
    theory_block(C, SQ, d, 0, d);
    double e_logf = 0.0;
    for (int k = 0; k < d * d; k++)
        e_logf += W[k] * C[k];
    matmul(T, W, Sb, d);
    matmul_bt(X, T, W, d); /* W Sb W^T */
    return e_logf - 0.5 * trace_ab(X, Sa, d);
}

/* d/dW [tr(W^T C) - 1/2 tr(W Sb W^T Sa)] = C - Sa W Sb = 0 */
void theory_best_bilinear_W(double *W, const double *SQ, int d)
{
    double Sa[THEORY_MAXD * THEORY_MAXD], Sb[THEORY_MAXD * THEORY_MAXD],
        C[THEORY_MAXD * THEORY_MAXD], Sai[THEORY_MAXD * THEORY_MAXD],
        Sbi[THEORY_MAXD * THEORY_MAXD], T[THEORY_MAXD * THEORY_MAXD];
    theory_block(Sa, SQ, d, 0, 0);
    theory_block(Sb, SQ, d, d, d);
    theory_block(C, SQ, d, 0, d);
    if (theory_spd_inverse(Sai, Sa, d) || theory_spd_inverse(Sbi, Sb, d)) {
        for (int k = 0; k < d * d; k++)
            W[k] = NAN;
        return;
    }
    matmul(T, Sai, C, d);
    matmul(W, T, Sbi, d);
}

/* P(z) = Q(z) = N(0, Sa); z'|z ~ N(K z, K L^2), K = Sb (Sb + L^2 I)^-1
 * (symmetric: Sb and its shifted inverse commute). Joint:
 * Cov(z, z') = Sa K^T,  Var z' = K Sa K^T + K L^2. */
void theory_infonce_prior_rbf(double *SP, const double *SQ, int d, double L)
{
    double Sa[THEORY_MAXD * THEORY_MAXD], Sb[THEORY_MAXD * THEORY_MAXD],
        T[THEORY_MAXD * THEORY_MAXD], Ti[THEORY_MAXD * THEORY_MAXD],
        K[THEORY_MAXD * THEORY_MAXD], C[THEORY_MAXD * THEORY_MAXD],
        V[THEORY_MAXD * THEORY_MAXD];
    theory_block(Sa, SQ, d, 0, 0);
    theory_block(Sb, SQ, d, d, d);
    sb_plus_l2(T, Sb, d, L);
    if (theory_spd_inverse(Ti, T, d)) {
        for (int k = 0; k < 4 * d * d; k++)
            SP[k] = NAN;
        return;
    }
    matmul(K, Sb, Ti, d);
    matmul_bt(C, Sa, K, d);  /* Sa K^T */
    matmul(V, K, C, d);      /* K Sa K^T */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            V[i * d + j] += 0.5 * (K[i * d + j] + K[j * d + i]) * L * L;
    join_blocks(SP, Sa, C, V, d);
}

/* P(z'|z) ∝ N(z'; 0, Sb) exp(z^T W z') = N(z'; Sb W^T z, Sb). Joint:
 * Cov(z, z') = Sa W Sb,  Var z' = Sb W^T Sa W Sb + Sb. */
void theory_infonce_prior_bilinear(double *SP, const double *SQ, int d,
                                   const double *W)
{
    double Sa[THEORY_MAXD * THEORY_MAXD], Sb[THEORY_MAXD * THEORY_MAXD],
        T[THEORY_MAXD * THEORY_MAXD], C[THEORY_MAXD * THEORY_MAXD],
        V[THEORY_MAXD * THEORY_MAXD];
    theory_block(Sa, SQ, d, 0, 0);
    theory_block(Sb, SQ, d, d, d);
    matmul(T, Sa, W, d);
    matmul(C, T, Sb, d);     /* Sa W Sb */
    matmul_bt(T, Sb, W, d);  /* Sb W^T */
    matmul(V, T, C, d);      /* Sb W^T Sa W Sb */
    for (int k = 0; k < d * d; k++)
        V[k] += Sb[k];
    join_blocks(SP, Sa, C, V, d);
}

/* ------------------------------------------------------------------------ */
/* Monte Carlo                                                               */
/* ------------------------------------------------------------------------ */

/* Welford's running mean and variance */
typedef struct acc {
    long n;
    double mean, m2;
} acc;

static void acc_add(acc *a, double x)
{
    a->n++;
    double delta = x - a->mean;
    a->mean += delta / a->n;
    a->m2 += delta * (x - a->mean);
}

static theory_mc acc_result(const acc *a)
{
    theory_mc r = {a->mean, NAN, a->n};
    if (a->n > 1)
        r.se = sqrt(a->m2 / (a->n - 1) / a->n);
    return r;
}

/* One draw x = Lc eps ~ N(0, S) (for the rho case this is exactly
 * z = eps1, z' = rho eps1 + sqrt(1 - rho^2) eps2), rounded to float:
 * zf, zpf (d each) for the library and x (2d) the same values in double. */
static void draw(float *zf, float *zpf, double *x, const double *Lc, int d,
                 ssvae_rng *rng)
{
    int n = 2 * d;
    double eps[MAXN];
    for (int i = 0; i < n; i++)
        eps[i] = ssvae_rng_normal(rng);
    for (int i = 0; i < n; i++) {
        double acc_ = 0.0;
        for (int k = 0; k <= i; k++)
            acc_ += Lc[i * n + k] * eps[k];
        x[i] = round_to_float(acc_);
        if (i < d)
            zf[i] = (float)x[i];
        else
            zpf[i - d] = (float)x[i];
    }
}

/* Cholesky factors and log dets of Q's joint and its two marginals */
typedef struct qfactors {
    double L[MAXN * MAXN], La[THEORY_MAXD * THEORY_MAXD], Lb[THEORY_MAXD * THEORY_MAXD];
    double ld, lda, ldb;
} qfactors;

static int qfactors_init(qfactors *q, const double *SQ, int d)
{
    double Sa[THEORY_MAXD * THEORY_MAXD], Sb[THEORY_MAXD * THEORY_MAXD];
    theory_block(Sa, SQ, d, 0, 0);
    theory_block(Sb, SQ, d, d, d);
    if (theory_chol(q->L, SQ, 2 * d) || theory_chol(q->La, Sa, d) ||
        theory_chol(q->Lb, Sb, d))
        return -1;
    q->ld = theory_chol_logdet(q->L, 2 * d);
    q->lda = theory_chol_logdet(q->La, d);
    q->ldb = theory_chol_logdet(q->Lb, d);
    return 0;
}

/* log P(z,z') - log Q(z) - log Q(z') with
 * log P = log N(z; 0, sp^2 I) + log N(z'; z, L^2 I),
 * log N(z'; z, L^2 I) = s - d/2 log(2 pi L^2), s the library's gaussian logit. */
theory_mc theory_mc_elbo_rbf(const double *SQ, int d, double sp,
                             const float *theta, long n, uint64_t seed)
{
    theory_mc bad = {NAN, NAN, 0};
    qfactors q;
    if (qfactors_init(&q, SQ, d))
        return bad;
    const ssvae_prior_ops *ops = ssvae_prior_get(SSVAE_PRIOR_GAUSSIAN);
    double L = exp((double)theta[0]);
    double lognorm = -0.5 * d * (log2pi + 2.0 * log(L));
    ssvae_rng rng;
    ssvae_rng_seed(&rng, seed);
    float zf[THEORY_MAXD], zpf[THEORY_MAXD], s;
    double x[MAXN];
    acc a = {0};
    for (long k = 0; k < n; k++) {
        draw(zf, zpf, x, q.L, d, &rng);
        ops->logits(&s, theta, zf, zpf, 1, d);
        double zz = 0.0;
        for (int i = 0; i < d; i++)
            zz += x[i] * x[i];
        double logp = -0.5 * d * (log2pi + 2.0 * log(sp)) - zz / (2.0 * sp * sp) +
                      (double)s + lognorm;
        double lqa = theory_gauss_logpdf(x, NULL, q.La, q.lda, d);
        double lqb = theory_gauss_logpdf(x + d, NULL, q.Lb, q.ldb, d);
        acc_add(&a, logp - lqa - lqb);
    }
    return acc_result(&a);
}

/* log Q(z, z') - log Q(z) - log Q(z') = log Q(z'|z) / Q(z')  (Eq. 28) */
theory_mc theory_mc_mi(const double *SQ, int d, long n, uint64_t seed)
{
    theory_mc bad = {NAN, NAN, 0};
    qfactors q;
    if (qfactors_init(&q, SQ, d))
        return bad;
    ssvae_rng rng;
    ssvae_rng_seed(&rng, seed);
    float zf[THEORY_MAXD], zpf[THEORY_MAXD];
    double x[MAXN];
    acc a = {0};
    for (long k = 0; k < n; k++) {
        draw(zf, zpf, x, q.L, d, &rng);
        double lq = theory_gauss_logpdf(x, NULL, q.L, q.ld, 2 * d);
        double lqa = theory_gauss_logpdf(x, NULL, q.La, q.lda, d);
        double lqb = theory_gauss_logpdf(x + d, NULL, q.Lb, q.ldb, d);
        acc_add(&a, lq - lqa - lqb);
    }
    return acc_result(&a);
}

/* log f(z, z') - log E_Q(z')[f(z, .)]  (Eq. 32), averaged over Q (Eq. 33) */
theory_mc theory_mc_eq33(ssvae_prior_kind kind, const float *theta,
                         const double *SQ, int d, long n, uint64_t seed)
{
    theory_mc bad = {NAN, NAN, 0};
    qfactors q;
    if (qfactors_init(&q, SQ, d))
        return bad;
    double Sb[THEORY_MAXD * THEORY_MAXD], W[THEORY_MAXD * THEORY_MAXD];
    theory_block(Sb, SQ, d, d, d);
    /* the inner expectation's constant part, prepared once */
    double Tl[THEORY_MAXD * THEORY_MAXD], X[THEORY_MAXD * THEORY_MAXD], c0 = 0.0;
    if (kind == SSVAE_PRIOR_GAUSSIAN) {
        double L = exp((double)theta[0]), T[THEORY_MAXD * THEORY_MAXD];
        sb_plus_l2(T, Sb, d, L);
        if (theory_chol(Tl, T, d))
            return bad;
        c0 = d * log(L) - 0.5 * theory_chol_logdet(Tl, d);
    } else {
        assert(kind == SSVAE_PRIOR_LINEAR);
        double T[THEORY_MAXD * THEORY_MAXD];
        for (int k = 0; k < d * d; k++)
            W[k] = theta[k];
        matmul(T, W, Sb, d);
        matmul_bt(X, T, W, d); /* W Sb W^T */
    }
    const ssvae_prior_ops *ops = ssvae_prior_get(kind);
    ssvae_rng rng;
    ssvae_rng_seed(&rng, seed);
    float zf[THEORY_MAXD], zpf[THEORY_MAXD], s;
    double x[MAXN], u[THEORY_MAXD];
    acc a = {0};
    for (long k = 0; k < n; k++) {
        draw(zf, zpf, x, q.L, d, &rng);
        ops->logits(&s, theta, zf, zpf, 1, d);
        double inner = 0.0;
        if (kind == SSVAE_PRIOR_GAUSSIAN) {
            forward_solve(u, Tl, x, d);
            double quad = 0.0;
            for (int i = 0; i < d; i++)
                quad += u[i] * u[i];
            inner = c0 - 0.5 * quad;
        } else {
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++)
                    inner += x[i] * X[i * d + j] * x[j];
            inner *= 0.5;
        }
        acc_add(&a, (double)s - inner);
    }
    return acc_result(&a);
}

int theory_infonce_curve(theory_curve_point *pts, ssvae_prior_kind kind,
                         const float *theta, const double *SQ, int d,
                         int nmax, int reps, uint64_t seed)
{
    int npts = 0;
    while ((2 << npts) <= nmax)
        npts++;
    if (nmax < 2 || nmax > 8192 || (nmax & (nmax - 1)) || reps < 2 || npts > 13)
        return -1;
    qfactors q;
    if (qfactors_init(&q, SQ, d))
        return -1;
    double mi = theory_gauss_mi(SQ, d);
    const ssvae_prior_ops *ops = ssvae_prior_get(kind);
    float *z = malloc((size_t)nmax * d * sizeof *z);
    float *zp = malloc((size_t)nmax * d * sizeof *zp);
    float *s = malloc((size_t)nmax * nmax * sizeof *s);
    double *est = calloc((size_t)reps * npts, sizeof *est); /* (reps, npts) */
    if (!z || !zp || !s || !est) {
        free(z), free(zp), free(s), free(est);
        return -1;
    }
    ssvae_rng rng;
    ssvae_rng_seed(&rng, seed);
    double x[MAXN];
    for (int p = 0; p < npts; p++) {
        pts[p].B = 2 << p;
        pts[p].log_b = log((double)pts[p].B);
        pts[p].max = -INFINITY;
    }
    for (int r = 0; r < reps; r++) {
        for (int k = 0; k < nmax; k++)
            draw(z + (size_t)k * d, zp + (size_t)k * d, x, q.L, d, &rng);
        for (int p = 0; p < npts; p++) {
            int B = pts[p].B, nb = nmax / B;
            double sum = 0.0;
            for (int b = 0; b < nb; b++) {
                ops->logits(s, theta, z + (size_t)b * B * d, zp + (size_t)b * B * d, B, d);
                double e = pts[p].log_b - ssvae_infonce(NULL, s, B);
                if (e > pts[p].max)
                    pts[p].max = e;
                sum += e;
            }
            est[r * npts + p] = sum / nb;
        }
    }
    for (int p = 0; p < npts; p++) {
        acc a = {0}, ad = {0};
        for (int r = 0; r < reps; r++) {
            acc_add(&a, est[r * npts + p]);
            if (p > 0)
                acc_add(&ad, est[r * npts + p] - est[r * npts + p - 1]);
        }
        theory_mc m = acc_result(&a);
        pts[p].mean = m.mean;
        pts[p].se = m.se;
        if (p > 0) {
            theory_mc md = acc_result(&ad);
            pts[p].diff = md.mean;
            pts[p].se_diff = md.se;
        } else {
            pts[p].diff = 0.0;
            pts[p].se_diff = 0.0;
        }
        pts[p].pass = pts[p].max <= pts[p].log_b && pts[p].mean <= mi + 4.0 * pts[p].se &&
                      (p == 0 || pts[p].diff >= -4.0 * pts[p].se_diff);
    }
    free(z), free(zp), free(s), free(est);
    return npts;
}

/* ------------------------------------------------------------------------ */
/* All checks                                                                */
/* ------------------------------------------------------------------------ */

static uint64_t mix_seed(uint64_t seed, uint64_t k)
{
    return seed * 0x9e3779b97f4a7c15ULL + k * 0xbf58476d1ce4e5b9ULL + 1;
}

/* closed == closed2 to 1e-9, and the estimate within 4 standard errors */
static void row_finish(theory_row *r, theory_mc m)
{
    r->mc = m.mean;
    r->se = m.se;
    r->tol = 4.0 * m.se;
    r->pass = isfinite(r->closed) && isfinite(r->mc) && isfinite(r->se) &&
              fabs(r->closed - r->closed2) <= 1e-9 * (1.0 + fabs(r->closed)) &&
              fabs(r->mc - r->closed) <= r->tol;
}

static theory_row *row_new(theory_report *rep, const char *id, const char *label,
                           const char *setting)
{
    assert(rep->nrows < (int)(sizeof rep->rows / sizeof rep->rows[0]));
    theory_row *r = &rep->rows[rep->nrows++];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    snprintf(r->label, sizeof r->label, "%s", label);
    snprintf(r->setting, sizeof r->setting, "%s", setting);
    return r;
}

int theory_run(theory_report *rep, long samples, int nmax, int reps,
               uint64_t seed, theory_row_fn fn, void *ctx, ssvae_error *err)
{
    memset(rep, 0, sizeof *rep);
    struct { int d; double rho; } settings[] = {{1, 0.6}, {5, 0.9}, {20, 0.7}, {3, -1.0}};
    int nset = (int)(sizeof settings / sizeof settings[0]);
    double SQ[MAXN * MAXN], SP[MAXN * MAXN], W[THEORY_MAXD * THEORY_MAXD],
        Sa[THEORY_MAXD * THEORY_MAXD], Sb[THEORY_MAXD * THEORY_MAXD],
        C[THEORY_MAXD * THEORY_MAXD], Z[THEORY_MAXD * THEORY_MAXD];
    float theta[THEORY_MAXD * THEORY_MAXD];
    uint64_t k = 0;
    for (int si = 0; si < nset; si++) {
        int d = settings[si].d;
        double rho = settings[si].rho;
        char setting[48];
        if (rho >= 0.0) {
            theory_cov_rho(SQ, d, rho);
            snprintf(setting, sizeof setting, "d=%d rho=%g", d, rho);
        } else {
            ssvae_rng rng;
            ssvae_rng_seed(&rng, mix_seed(seed, 1000 + si));
            theory_cov_random(SQ, d, &rng);
            snprintf(setting, sizeof setting, "d=%d general", d);
        }
        theory_block(Sa, SQ, d, 0, 0);
        theory_block(Sb, SQ, d, d, d);
        theory_block(C, SQ, d, 0, d);
        double mi = theory_gauss_mi(SQ, d);

        /* Eq. 26: the library's Gaussian prior P(z'|z) = N(z; z, L^2 I) with
         * P(z) = N(0, sp^2 I); L is the RMS step |z - z'| per coordinate
         * (the rule train uses for L0), sp^2 the mean variance of z. */
        double L = sqrt((trace(Sa, d) + trace(Sb, d) - 2.0 * trace(C, d)) / d);
        double sp = sqrt(trace(Sa, d) / d);
        theta[0] = (float)log(L);
        L = exp(round_to_float(log(L)));
        theory_prior_rbf_cov(SP, d, sp, L);
        theory_row *r = row_new(rep, "eq26", "ELBO = I - KL(Q||P), P Gaussian", setting);
        double i_, kl;
        r->closed = theory_elbo_closed(SQ, SP, d, &i_, &kl);
        r->closed2 = theory_elbo_cross(SQ, SP, d);
        snprintf(r->detail, sizeof r->detail, "I=%.4f KL=%.4f sp=%.3g L=%.3g", i_, kl, sp, L);
        row_finish(r, theory_mc_elbo_rbf(SQ, d, sp, theta, samples, mix_seed(seed, k++)));
        if (fn) fn(ctx, r);

        /* Eq. 28: P = Q, the ELBO is the MI; second route KL(Q || Qz Qz') */
        r = row_new(rep, "eq28", "ELBO with P = Q is I(z;z')", setting);
        r->closed = mi;
        memset(Z, 0, sizeof Z);
        join_blocks(SP, Sa, Z, Sb, d);
        r->closed2 = theory_gauss_kl(NULL, SQ, NULL, SP, 2 * d);
        if (rho >= 0.0)
            snprintf(r->detail, sizeof r->detail, "-d/2 log(1-rho^2)=%.6f",
                     -0.5 * d * log(1.0 - rho * rho));
        else
            snprintf(r->detail, sizeof r->detail, "KL(Q||QzQz')=%.6f", r->closed2);
        row_finish(r, theory_mc_mi(SQ, d, samples, mix_seed(seed, k++)));
        if (fn) fn(ctx, r);

        /* Eq. 33, RBF critic at its best L; second route I - KL(Q || P_InfoNCE) */
        double logl = round_to_float(log(theory_best_rbf_L(SQ, d)));
        theta[0] = (float)logl;
        L = exp(logl);
        r = row_new(rep, "eq33-rbf", "Eq.33, Gaussian critic (Eq.36)", setting);
        r->closed = theory_eq33_rbf(SQ, d, L);
        theory_infonce_prior_rbf(SP, SQ, d, L);
        r->closed2 = mi - theory_gauss_kl(NULL, SQ, NULL, SP, 2 * d);
        snprintf(r->detail, sizeof r->detail, "L*=%.4g I=%.4f", L, mi);
        row_finish(r, theory_mc_eq33(SSVAE_PRIOR_GAUSSIAN, theta, SQ, d, samples,
                                     mix_seed(seed, k++)));
        if (fn) fn(ctx, r);

        /* Eq. 33, bilinear critic at W* = Sa^-1 C Sb^-1 */
        theory_best_bilinear_W(W, SQ, d);
        double wn = 0.0;
        for (int q = 0; q < d * d; q++) {
            W[q] = round_to_float(W[q]);
            theta[q] = (float)W[q];
            wn += W[q] * W[q];
        }
        r = row_new(rep, "eq33-bilinear", "Eq.33, bilinear critic (Eq.5)", setting);
        r->closed = theory_eq33_bilinear(SQ, d, W);
        theory_infonce_prior_bilinear(SP, SQ, d, W);
        r->closed2 = mi - theory_gauss_kl(NULL, SQ, NULL, SP, 2 * d);
        snprintf(r->detail, sizeof r->detail, "|W*|=%.4g I=%.4f", sqrt(wn), mi);
        row_finish(r, theory_mc_eq33(SSVAE_PRIOR_LINEAR, theta, SQ, d, samples,
                                     mix_seed(seed, k++)));
        if (fn) fn(ctx, r);
    }

    /* Finite batches: d = 2, rho = 0.9, each critic at its Eq. 33 optimum */
    const int cd = 2;
    const double crho = 0.9;
    theory_cov_rho(SQ, cd, crho);
    double cmi = theory_gauss_mi(SQ, cd);
    for (int c = 0; c < 2; c++) {
        theory_curve *cv = &rep->curves[rep->ncurves++];
        ssvae_prior_kind kind = c == 0 ? SSVAE_PRIOR_LINEAR : SSVAE_PRIOR_GAUSSIAN;
        snprintf(cv->critic, sizeof cv->critic, "%s", c == 0 ? "bilinear" : "rbf");
        snprintf(cv->setting, sizeof cv->setting, "d=%d rho=%g", cd, crho);
        cv->mi = cmi;
        double eq33_2;
        if (kind == SSVAE_PRIOR_LINEAR) {
            theory_best_bilinear_W(W, SQ, cd);
            for (int q = 0; q < cd * cd; q++)
                theta[q] = (float)(W[q] = round_to_float(W[q]));
            cv->eq33 = theory_eq33_bilinear(SQ, cd, W);
            theory_infonce_prior_bilinear(SP, SQ, cd, W);
        } else {
            double logl = round_to_float(log(theory_best_rbf_L(SQ, cd)));
            theta[0] = (float)logl;
            double Lc = exp(logl);
            cv->eq33 = theory_eq33_rbf(SQ, cd, Lc);
            theory_infonce_prior_rbf(SP, SQ, cd, Lc);
        }
        eq33_2 = cmi - theory_gauss_kl(NULL, SQ, NULL, SP, 2 * cd);
        cv->npts = theory_infonce_curve(cv->pts, kind, theta, SQ, cd, nmax, reps,
                                        mix_seed(seed, k++));
        if (cv->npts < 0)
            return ssvae_fail(err, "theory: finite-batch curve failed (nmax %d, reps %d, or out of memory)",
                              nmax, reps);
        for (int p = 0; p < cv->npts; p++)
            rep->failures += !cv->pts[p].pass;
        const theory_curve_point *last = &cv->pts[cv->npts - 1];
        char label[48];
        snprintf(label, sizeof label, "log B - loss at B=%d -> Eq.33", last->B);
        theory_row *r = row_new(rep, "eq33-limit", label, cv->setting);
        r->closed = cv->eq33;
        r->closed2 = eq33_2;
        snprintf(r->detail, sizeof r->detail, "%s critic, one batch of %d x %d reps", cv->critic,
                 last->B, reps);
        row_finish(r, (theory_mc){last->mean, last->se, reps});
        if (fn) fn(ctx, r);
    }
    for (int i = 0; i < rep->nrows; i++)
        rep->failures += !rep->rows[i].pass;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Separable MLP critic                                                      */
/* ------------------------------------------------------------------------ */

/* one tower's size: W1 (H, D), b1 (H), W2 (K, H), b2 (K) */
static int tower_size(int D, int H, int K)
{
    return H * D + H + K * H + K;
}

int theory_mlp_nparams(int D, int H, int K)
{
    return 2 * tower_size(D, H, K);
}

void theory_mlp_init(float *theta, int D, int H, int K, ssvae_rng *rng)
{
    for (int t = 0; t < 2; t++) {
        float *p = theta + t * tower_size(D, H, K);
        double b1 = 1.0 / sqrt((double)D), b2 = 1.0 / sqrt((double)H);
        for (int k = 0; k < H * D + H; k++)
            *p++ = (float)(b1 * (2.0 * ssvae_rng_uniform(rng) - 1.0));
        for (int k = 0; k < K * H + K; k++)
            *p++ = (float)(b2 * (2.0 * ssvae_rng_uniform(rng) - 1.0));
    }
}

/* acts: for g then h: a (B, H) post-ReLU hidden, e (B, K) embedding */
long theory_mlp_nacts(int B, int H, int K)
{
    return 2L * B * (H + K);
}

/* a = relu(W1 x + b1), e = W2 a + b2, for B rows of x (B, D) */
static void tower_forward(float *a, float *e, const float *p, const float *x,
                          int B, int D, int H, int K)
{
    const float *W1 = p, *b1 = W1 + H * D, *W2 = b1 + H, *b2 = W2 + K * H;
    for (int i = 0; i < B; i++) {
        for (int h = 0; h < H; h++) {
            double acc_ = b1[h];
            for (int q = 0; q < D; q++)
                acc_ += (double)W1[h * D + q] * x[i * D + q];
            a[i * H + h] = acc_ > 0.0 ? (float)acc_ : 0.0f;
        }
        for (int k = 0; k < K; k++) {
            double acc_ = b2[k];
            for (int h = 0; h < H; h++)
                acc_ += (double)W2[k * H + h] * a[i * H + h];
            e[i * K + k] = (float)acc_;
        }
    }
}

/* s_ij = g(z_i) . h(z'_j) */
void theory_mlp_logits(float *s, float *acts, const float *theta,
                       const float *z, const float *zp, int B, int D, int H,
                       int K)
{
    float *ag = acts, *eg = ag + (size_t)B * H, *ah = eg + (size_t)B * K,
          *eh = ah + (size_t)B * H;
    tower_forward(ag, eg, theta, z, B, D, H, K);
    tower_forward(ah, eh, theta + tower_size(D, H, K), zp, B, D, H, K);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double acc_ = 0.0;
            for (int k = 0; k < K; k++)
                acc_ += (double)eg[i * K + k] * eh[j * K + k];
            s[i * B + j] = (float)acc_;
        }
}

/* de (B, K) -> dW2 += de^T a, db2 += sum de, da = de W2 masked by a > 0,
 * dW1 += da^T x, db1 += sum da */
static void tower_backward(float *dp, const double *de, const float *a,
                           const float *p, const float *x, int B, int D, int H,
                           int K)
{
    const float *W2 = p + H * D + H;
    float *dW1 = dp, *db1 = dW1 + H * D, *dW2 = db1 + H, *db2 = dW2 + K * H;
    for (int i = 0; i < B; i++) {
        for (int k = 0; k < K; k++) {
            db2[k] += (float)de[i * K + k];
            for (int h = 0; h < H; h++)
                dW2[k * H + h] += (float)(de[i * K + k] * a[i * H + h]);
        }
        for (int h = 0; h < H; h++) {
            if (!(a[i * H + h] > 0.0f))
                continue;
            double da = 0.0;
            for (int k = 0; k < K; k++)
                da += de[i * K + k] * W2[k * H + h];
            db1[h] += (float)da;
            for (int q = 0; q < D; q++)
                dW1[h * D + q] += (float)(da * x[i * D + q]);
        }
    }
}

/* dg_i = sum_j ds_ij h_j,  dh_j = sum_i ds_ij g_i, then through each tower */
void theory_mlp_backward(float *dtheta, const float *ds, const float *acts,
                         const float *theta, const float *z, const float *zp,
                         int B, int D, int H, int K)
{
    const float *ag = acts, *eg = ag + (size_t)B * H, *ah = eg + (size_t)B * K,
                *eh = ah + (size_t)B * H;
    double *dg = calloc((size_t)B * K, sizeof *dg), *dh = calloc((size_t)B * K, sizeof *dh);
    if (!dg || !dh)
        abort(); /* B * K doubles: a few kilobytes */
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double g = ds[i * B + j];
            for (int k = 0; k < K; k++) {
                dg[i * K + k] += g * eh[j * K + k];
                dh[j * K + k] += g * eg[i * K + k];
            }
        }
    tower_backward(dtheta, dg, ag, theta, z, B, D, H, K);
    int ts = tower_size(D, H, K);
    tower_backward(dtheta + ts, dh, ah, theta + ts, zp, B, D, H, K);
    free(dg);
    free(dh);
}

/* ------------------------------------------------------------------------ */
/* Staircase                                                                 */
/* ------------------------------------------------------------------------ */

const char *const theory_critic_names[THEORY_NCRITICS] = {"bilinear", "gaussian", "mlp"};

void theory_staircase_default(theory_staircase_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->d = 20;
    cfg->nlevels = 5;
    for (int l = 0; l < 5; l++)
        cfg->mi[l] = 2.0 * (l + 1);
    cfg->steps = 1000;
    cfg->batch = 64;
    cfg->lr = 1e-3;
    cfg->hidden = 64;
    cfg->embed = 32;
    cfg->seed = 1;
}

void theory_staircase_free(theory_staircase_result *res)
{
    if (!res)
        return;
    free(res->est);
    free(res->true_mi);
    memset(res, 0, sizeof *res);
}

int theory_staircase(const theory_staircase_config *cfg,
                     theory_staircase_result *res, theory_level_fn fn,
                     void *ctx, ssvae_error *err)
{
    memset(res, 0, sizeof *res);
    const int d = cfg->d, B = cfg->batch, H = cfg->hidden, K = cfg->embed;
    if (d < 1 || d > THEORY_MAXD)
        return ssvae_fail(err, "staircase: d = %d is outside [1, %d]", d, THEORY_MAXD);
    if (cfg->nlevels < 1 || cfg->nlevels > THEORY_MAXLEVELS || cfg->steps < 1 || B < 2 ||
        B > 4096 || H < 1 || K < 1 || !(cfg->lr > 0.0))
        return ssvae_fail(err, "staircase: bad configuration (levels %d, steps %d, batch %d)",
                          cfg->nlevels, cfg->steps, B);
    for (int l = 0; l < cfg->nlevels; l++)
        if (!(cfg->mi[l] > 0.0) || !isfinite(cfg->mi[l]))
            return ssvae_fail(err, "staircase: MI of level %d must be positive", l + 1);
    res->nsteps = cfg->nlevels * cfg->steps;
    res->est = calloc((size_t)res->nsteps * THEORY_NCRITICS, sizeof *res->est);
    res->true_mi = calloc((size_t)res->nsteps, sizeof *res->true_mi);

    /* parameters of the three critics in one flat buffer: W (d, d), log L, MLP */
    const int nw = d * d, nl = 1, nm = theory_mlp_nparams(d, H, K);
    const size_t np = (size_t)nw + nl + nm;
    float *params = calloc(np, sizeof *params), *grads = calloc(np, sizeof *grads);
    float *z = malloc((size_t)B * d * sizeof *z), *zp = malloc((size_t)B * d * sizeof *zp);
    float *s = malloc((size_t)B * B * sizeof *s), *ds = malloc((size_t)B * B * sizeof *ds);
    float *acts = malloc((size_t)theory_mlp_nacts(B, H, K) * sizeof *acts);
    ssvae_optim opt = {0};
    int rc = -1;
    if (!res->est || !res->true_mi || !params || !grads || !z || !zp || !s || !ds || !acts) {
        ssvae_fail(err, "staircase: out of memory");
        goto done;
    }
    float *W = params, *logL = params + nw, *mlp = logL + nl;
    ssvae_rng rng;
    ssvae_rng_seed(&rng, cfg->seed);
    theory_mlp_init(mlp, d, H, K, &rng); /* W = 0 and L = 1 start from zero */
    ssvae_optim_init(&opt, SSVAE_ADAM, cfg->lr, np);
    const ssvae_prior_ops *lin = ssvae_prior_get(SSVAE_PRIOR_LINEAR);
    const ssvae_prior_ops *gau = ssvae_prior_get(SSVAE_PRIOR_GAUSSIAN);
    const double log_b = log((double)B);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double SQ[MAXN * MAXN], Wd[THEORY_MAXD * THEORY_MAXD];
    for (int l = 0; l < cfg->nlevels; l++) {
        double rho = theory_rho_for_mi(cfg->mi[l], d), a = sqrt(1.0 - rho * rho);
        for (int t = 0; t < cfg->steps; t++) {
            int step = l * cfg->steps + t;
            /* z ~ N(0, I), z' = rho z + sqrt(1 - rho^2) eps, one batch for all critics */
            for (int k = 0; k < B * d; k++) {
                double zz = ssvae_rng_normal(&rng);
                z[k] = (float)zz;
                zp[k] = (float)(rho * zz + a * ssvae_rng_normal(&rng));
            }
            memset(grads, 0, np * sizeof *grads);
            double *e = res->est + (size_t)step * THEORY_NCRITICS;
            lin->logits(s, W, z, zp, B, d);
            e[0] = log_b - ssvae_infonce(ds, s, B);
            lin->logits_backward(NULL, NULL, grads, ds, W, z, zp, B, d);
            gau->logits(s, logL, z, zp, B, d);
            e[1] = log_b - ssvae_infonce(ds, s, B);
            gau->logits_backward(NULL, NULL, grads + nw, ds, logL, z, zp, B, d);
            theory_mlp_logits(s, acts, mlp, z, zp, B, d, H, K);
            e[2] = log_b - ssvae_infonce(ds, s, B);
            theory_mlp_backward(grads + nw + nl, ds, acts, mlp, z, zp, B, d, H, K);
            res->true_mi[step] = cfg->mi[l];
            for (int c = 0; c < THEORY_NCRITICS; c++)
                if (!isfinite(e[c])) {
                    ssvae_fail(err, "staircase: %s critic's loss is not finite at step %d",
                               theory_critic_names[c], step + 1);
                    goto done;
                }
            ssvae_optim_step(&opt, params, grads, NULL);
        }
        /* level summary: mean over the last half of the level's steps */
        theory_level_summary *ls = &res->levels[l];
        ls->mi = cfg->mi[l];
        ls->rho = rho;
        int from = l * cfg->steps + cfg->steps / 2, to = (l + 1) * cfg->steps;
        for (int c = 0; c < THEORY_NCRITICS; c++) {
            acc ac = {0};
            for (int st = from; st < to; st++)
                acc_add(&ac, res->est[(size_t)st * THEORY_NCRITICS + c]);
            theory_mc m = acc_result(&ac);
            ls->est[c] = m.mean;
            ls->se[c] = m.se;
        }
        theory_cov_rho(SQ, d, rho);
        for (int k = 0; k < nw; k++)
            Wd[k] = W[k];
        ls->eq33[0] = theory_eq33_bilinear(SQ, d, Wd);
        ls->eq33[1] = theory_eq33_rbf(SQ, d, exp((double)logL[0]));
        ls->eq33[2] = NAN;
        if (fn)
            fn(ctx, l, ls);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    rc = 0;
done:
    ssvae_optim_free(&opt);
    free(params), free(grads), free(z), free(zp), free(s), free(ds), free(acts);
    if (rc)
        theory_staircase_free(res);
    return rc;
}
