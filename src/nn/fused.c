/*
 * fused.c — the encoder's element-wise layers fused with each other, so
 * each large activation is read and written fewer times: batch statistics
 * merged row by row, batch norm + ReLU, batch norm + sigmoid + centre of
 * mass (with the sums its backward needs), and that backward as per-plane
 * constants (com_grad) that make any row of the gradient on demand. Every
 * kernel computes what a composition of the plain layers in nn.h computes
 * (the reference path, checked against finite differences in
 * tests/test_nn.c); tests/test_fused.c checks each against that composition.
 *
 * Work is split by (frame, channel) plane and never within a plane; sums are
 * formed per image row in float, per plane in double, and across frames in
 * frame order, so results do not depend on the thread count.
 *
 * Letters: N frames, C input channels, O output channels, H x W pixels,
 * HW = H * W, M = N * HW elements per channel.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/nn.h"

/* Full-width AVX-512 vectors where the target has them: GCC's default for
 * these CPUs is 256 bits, which halves the throughput of the row loops. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#pragma GCC target("prefer-vector-width=512")
#endif

/* ------------------------------------------------------------------------ */
/* exp and sigmoid that vectorise                                            */
/* ------------------------------------------------------------------------ */

/* exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2]
 * (Cody-Waite: ln 2 split in two so n ln 2 is exact), exp(r) by its degree-6
 * Taylor-like minimax polynomial (error below 2^-24 on that interval), 2^n
 * put straight into the exponent bits. Inputs are clamped to [-87, 88], where
 * 2^n stays a normal float; below, the true value is under 1.7e-38, above,
 * over 1.6e38 (the sigmoid uses it as 1 / (1 + exp(-x)), where neither end
 * matters beyond 1e-38). NaN stays NaN. Plain float arithmetic, no calls:
 * GCC vectorises it without -ffast-math. */
static inline float exp_vec(float x)
{
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.0f ? -87.0f : x;
    /* round x log2(e) to an integer by the 1.5 * 2^23 trick */
    const float magic = 12582912.0f;
    float nb = fmaf(x, 1.44269504088896341f, magic);
    float n = nb - magic;
    float r = fmaf(n, -0.693145751953125f, x);        /* ln 2, high bits */
    r = fmaf(n, -1.428606765330187045e-6f, r);        /* ln 2, low bits */
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p * r, r, r) + 1.0f;
    /* 2^n: the low bits of nb hold n + 0x400000 (magic's mantissa) */
    uint32_t bits;
    memcpy(&bits, &nb, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23; /* unsigned: wraps, never UB */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

float nn_exp(float x) { return exp_vec(x); }

// y = 1 / (1 + exp(-x))
static inline float sigmoid_vec(float x) { return 1.0f / (1.0f + exp_vec(-x)); }

void sigmoid_forward_fast(float *y, const float *x, size_t n)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = sigmoid_vec(x[i]);
}

/* ------------------------------------------------------------------------ */
/* Batch statistics                                                          */
/* ------------------------------------------------------------------------ */

/* Statistics are kept as (count, mean, sum of squared deviations) and
 * merged with Chan et al.'s update, in double:
 *   n = na + nb, mean = ma + (mb - ma) nb / n,
 *   M2 = M2a + M2b + (mb - ma)^2 na nb / n.
 * Nothing cancels, however far the data sit from zero (a sum and a sum of
 * squares would lose everything to cancellation at mean / std ~ 1e4 in
 * float). A row is summarised in float while it sits in L1: its mean, then
 * its squared deviations from that mean; the merges across rows and frames
 * are in double, frames in order. */
static inline void chan_merge(double *st, double nb, double mb, double m2b)
{
    double n = st[0] + nb, d = mb - st[1];
    st[1] += d * (nb / n);
    st[2] += m2b + d * d * (st[0] * nb / n);
    st[0] = n;
}

void batchnorm_row_stats(double *st, const float *row, int W)
{
    float s = 0, q = 0;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < W; j++) s += row[j];
    float mu = s / (float)W;
#pragma omp simd reduction(+ : q)
    for (int j = 0; j < W; j++) q += (row[j] - mu) * (row[j] - mu);
    chan_merge(st, W, mu, q);
}

size_t batchnorm_stats_size(int N, int C) { return 3 * (size_t)N * C; }

void batchnorm_stats_finish(float *mean, float *rstd, float *var_unbiased,
                            const double *stats, int N, int C, int HW)
{
    for (int c = 0; c < C; c++) {
        double st[3] = {0, 0, 0};
        for (int n = 0; n < N; n++) {
            const double *p = stats + 3 * ((size_t)n * C + c);
            chan_merge(st, p[0], p[1], p[2]);
        }
        double M = st[0], ss = st[2];
        mean[c] = (float)st[1];
        rstd[c] = (float)(1.0 / sqrt(ss / M + BATCHNORM_EPS));
        if (var_unbiased) var_unbiased[c] = (float)(M > 1 ? ss / (M - 1) : 0.0);
    }
}

void batchnorm_plane_stats(double *stats, const float *x, int N, int C, int H,
                           int W)
{
    size_t plane = (size_t)H * W;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double *st = stats + 3 * ((size_t)n * C + c);
            st[0] = st[1] = st[2] = 0;
            for (int r = 0; r < H; r++)
                batchnorm_row_stats(st, x + ((size_t)n * C + c) * plane + (size_t)r * W, W);
        }
}

void batchnorm_affine(float *scale, float *shift, const float *mean,
                      const float *rstd, const float *gamma, const float *beta,
                      int C)
{
    for (int c = 0; c < C; c++) {
        scale[c] = rstd[c] * gamma[c];
        shift[c] = beta[c] - mean[c] * scale[c];
    }
}

void batchnorm_affine_eval(float *scale, float *shift, const float *gamma,
                           const float *beta, const float *running_mean,
                           const float *running_var, int C)
{
    for (int c = 0; c < C; c++) {
        scale[c] = gamma[c] / sqrtf(running_var[c] + BATCHNORM_EPS);
        shift[c] = beta[c] - running_mean[c] * scale[c];
    }
}

/* ------------------------------------------------------------------------ */
/* Forward                                                                   */
/* ------------------------------------------------------------------------ */

// y = max(x scale + shift, 0)
void bn_relu_forward(float *y, const float *x, const float *scale,
                     const float *shift, int N, int C, int HW)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *p = x + ((size_t)n * C + c) * HW;
            float *q = y + ((size_t)n * C + c) * HW;
            float a = scale[c], b = shift[c];
#pragma omp simd
            for (int i = 0; i < HW; i++) {
                float v = p[i] * a + b;
                q[i] = v > 0.0f ? v : 0.0f;
            }
        }
}

/* s = sigmoid(x scale + shift); z, mass as com_forward; with sums, the six
 * plane sums com_grad_init needs: with s' = s (1 - s) and d = x - mean,
 * sum s', sum i s', sum j s', sum s' d, sum i s' d, sum j s' d (row i,
 * column j). They do not depend on the loss, so the backward needs no pass
 * of its own to find them. */
void bn_sigmoid_com_forward(float *s, float *z, float *mass, double *sums,
                            const float *x, const float *scale,
                            const float *shift, const float *mean, int N,
                            int K, int H, int W)
{
    size_t plane = (size_t)H * W;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) {
            const float *p = x + ((size_t)n * K + k) * plane;
            float *q = s ? s + ((size_t)n * K + k) * plane : NULL;
            float a = scale[k], b = shift[k], mu = sums ? mean[k] : 0.0f;
            double m = 0, mx = 0, my = 0, t[COM_SUMS] = {0};
            for (int i = 0; i < H; i++) {
                const float *xrow = p + (size_t)i * W;
                float rs = 0, rx = 0, d0 = 0, dj = 0, e0 = 0, ej = 0;
                if (q) {
                    float *row = q + (size_t)i * W;
#pragma omp simd
                    for (int j = 0; j < W; j++) row[j] = sigmoid_vec(xrow[j] * a + b);
                }
                if (sums) {
#pragma omp simd reduction(+ : rs, rx, d0, dj, e0, ej)
                    for (int j = 0; j < W; j++) {
                        float v = sigmoid_vec(xrow[j] * a + b), sd = v * (1.0f - v);
                        float sdd = sd * (xrow[j] - mu);
                        rs += v;
                        rx += v * (float)j;
                        d0 += sd;
                        dj += sd * (float)j;
                        e0 += sdd;
                        ej += sdd * (float)j;
                    }
                } else {
#pragma omp simd reduction(+ : rs, rx)
                    for (int j = 0; j < W; j++) {
                        float v = sigmoid_vec(xrow[j] * a + b);
                        rs += v;
                        rx += v * (float)j;
                    }
                }
                m += rs;
                mx += rx;
                my += (double)rs * i;
                t[0] += d0; t[1] += (double)d0 * i; t[2] += dj;
                t[3] += e0; t[4] += (double)e0 * i; t[5] += ej;
            }
            z[(size_t)n * 2 * K + 2 * k] = (float)((mx / m + 0.5) / W);
            z[(size_t)n * 2 * K + 2 * k + 1] = (float)((my / m + 0.5) / H);
            mass[(size_t)n * K + k] = (float)m;
            if (sums) memcpy(sums + ((size_t)n * K + k) * COM_SUMS, t, sizeof t);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Backward                                                                  */
/* ------------------------------------------------------------------------ */

/* The batch-norm backward's second pass, from the channel sums db = sum dy
 * and dg = sum dy (x - mean) (C each, over the batch):
 * dx = gamma rstd (dy - dbeta/M - xhat dgamma/M), written as dx = a dy +
 * k (x - mean) + b exactly as batchnorm_backward does. Returns through
 * a, k, b (C). */
static void bn_backward_coeffs(float *a, float *k, float *b, float *dgamma,
                               float *dbeta, const double *db, const double *dg,
                               const float *rstd, const float *gamma, int N,
                               int C, int HW)
{
    double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double dgc = dg[c] * rstd[c]; /* sum dy xhat */
        dgamma[c] += (float)dgc;
        dbeta[c] += (float)db[c];
        a[c] = gamma[c] * rstd[c];
        k[c] = (float)(-(double)a[c] * rstd[c] * dgc / M);
        b[c] = (float)(-(double)a[c] * db[c] / M);
    }
}

void batchnorm_backward_coeffs(float *a, float *k, float *b, float *dgamma,
                               float *dbeta, const double *sums,
                               const float *rstd, const float *gamma, int N,
                               int C, int HW)
{
    double db[CONV3X3_MAXCH] = {0}, dg[CONV3X3_MAXCH] = {0};
    for (int c = 0; c < C; c++) {
        for (int n = 0; n < N; n++) db[c] += sums[2 * ((size_t)n * C + c)];
        for (int n = 0; n < N; n++) dg[c] += sums[2 * ((size_t)n * C + c) + 1];
    }
    bn_backward_coeffs(a, k, b, dgamma, dbeta, db, dg, rstd, gamma, N, C, HW);
}

size_t fused_backward_work_size(int N, int C) { return 2 * (size_t)N * C; }

/* The centre of mass backward at plane (n, k) is ds_ij = rowc_i + bx j with
 * rowc_i = ax + ay + by i (com_backward's hoisted constants); the gradient
 * at the sigmoid's input is ds s (1 - s). Summed over a plane, with the
 * forward's sums (bn_sigmoid_com_forward), that gives the batch norm
 * backward's sum g = (ax + ay) S0 + by Si + bx Sj and sum g (x - mean)
 * likewise from the d sums. */
void com_grad_init(com_grad *cg, float *plane, float *dgamma, float *dbeta,
                   const float *dz, const float *z, const float *mass,
                   const double *sums, const float *scale, const float *shift,
                   const float *mean, const float *rstd, const float *gamma,
                   int N, int K, int H, int W)
{
    assert(K <= CONV3X3_MAXCH);
    cg->plane = plane;
    cg->K = K; cg->H = H; cg->W = W;
    double db[CONV3X3_MAXCH] = {0}, dg[CONV3X3_MAXCH] = {0};
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) {
            size_t nk = (size_t)n * K + k;
            float gx = dz[2 * nk] / mass[nk], gy = dz[2 * nk + 1] / mass[nk];
            float bx = gx / W, ax = gx * (0.5f / W - z[2 * nk]);
            float by = gy / H, ay = gy * (0.5f / H - z[2 * nk + 1]);
            float *p = plane + 3 * nk;
            p[0] = ax + ay; p[1] = by; p[2] = bx;
            const double *t = sums + nk * COM_SUMS;
            db[k] += p[0] * t[0] + p[1] * t[1] + p[2] * t[2];
            dg[k] += p[0] * t[3] + p[1] * t[4] + p[2] * t[5];
        }
    }
    bn_backward_coeffs(cg->ac, cg->kc, cg->bc, dgamma, dbeta, db, dg, rstd, gamma, N, K, H * W);
    for (int k = 0; k < K; k++) {
        cg->mean[k] = mean[k];
        cg->scale[k] = scale[k];
        cg->shift[k] = shift[k];
    }
}

void com_grad_row(float *dst, const com_grad *cg, const float *x_row, int n,
                  int k, int i)
{
    const float *p = cg->plane + 3 * ((size_t)n * cg->K + k);
    float rowc = p[0] + p[1] * (float)i, bx = p[2];
    float m = cg->mean[k], ac = cg->ac[k], kc = cg->kc[k], bc = cg->bc[k];
    float sa = cg->scale[k], sb = cg->shift[k];
#pragma omp simd
    for (int j = 0; j < cg->W; j++) {
        float s = sigmoid_vec(x_row[j] * sa + sb);
        float g = (rowc + bx * (float)j) * s * (1.0f - s);
        dst[j] = ac * g + kc * (x_row[j] - m) + bc;
    }
}

void com_sigmoid_bn_backward(float *dx, const com_grad *cg, const float *x, int N)
{
    int K = cg->K, H = cg->H, W = cg->W;
    size_t plane = (size_t)H * W;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            for (int i = 0; i < H; i++) {
                size_t at = ((size_t)n * K + k) * plane + (size_t)i * W;
                com_grad_row(dx + at, cg, x + at, n, k, i);
            }
}
