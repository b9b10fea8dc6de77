/*
 * fused.c — the encoder's training passes with their element-wise layers
 * fused, so each large activation is read and written fewer times. Every
 * kernel here computes what a composition of the plain layers in nn.h
 * computes (the reference path, checked against finite differences in
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

// s = sigmoid(x scale + shift); z, mass as com_forward
void bn_sigmoid_com_forward(float *s, float *z, float *mass, const float *x,
                            const float *scale, const float *shift, int N,
                            int K, int H, int W)
{
    size_t plane = (size_t)H * W;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) {
            const float *p = x + ((size_t)n * K + k) * plane;
            float *q = s ? s + ((size_t)n * K + k) * plane : NULL;
            float a = scale[k], b = shift[k];
            double m = 0, mx = 0, my = 0;
            for (int i = 0; i < H; i++) {
                const float *xrow = p + (size_t)i * W;
                float rs = 0, rx = 0;
                if (s) {
                    float *row = q + (size_t)i * W;
#pragma omp simd
                    for (int j = 0; j < W; j++) row[j] = sigmoid_vec(xrow[j] * a + b);
#pragma omp simd reduction(+ : rs, rx)
                    for (int j = 0; j < W; j++) {
                        rs += row[j];
                        rx += row[j] * (float)j;
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
            }
            z[(size_t)n * 2 * K + 2 * k] = (float)((mx / m + 0.5) / W);
            z[(size_t)n * 2 * K + 2 * k + 1] = (float)((my / m + 0.5) / H);
            mass[(size_t)n * K + k] = (float)m;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Backward                                                                  */
/* ------------------------------------------------------------------------ */

/* The batch-norm backward's second pass, from the channel sums of dy and of
 * dy (x - mean) (per-plane partials in sums: (N, C, 2)):
 * dx = gamma rstd (dy - dbeta/M - xhat dgamma/M), written as dx = a dy +
 * k (x - mean) + b exactly as batchnorm_backward does. Returns through
 * a, k, b (C). */
static void bn_backward_coeffs(float *a, float *k, float *b, float *dgamma,
                               float *dbeta, const double *sums,
                               const float *rstd, const float *gamma, int N,
                               int C, int HW)
{
    double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double db = 0, dg = 0;
        for (int n = 0; n < N; n++) db += sums[2 * ((size_t)n * C + c)];
        for (int n = 0; n < N; n++) dg += sums[2 * ((size_t)n * C + c) + 1];
        dg *= rstd[c]; /* sum dy xhat */
        dgamma[c] += (float)dg;
        dbeta[c] += (float)db;
        a[c] = gamma[c] * rstd[c];
        k[c] = (float)(-(double)a[c] * rstd[c] * dg / M);
        b[c] = (float)(-(double)a[c] * db / M);
    }
}

size_t fused_backward_work_size(int N, int C) { return 2 * (size_t)N * C; }

/* The gradient at the sigmoid's input at pixel (i, j) of a map: the centre
 * of mass backward ds_ij = rowc + bx j (rowc holds the row's terms), times
 * the sigmoid's derivative s (1 - s). ds is never stored. */
static inline float com_sigmoid_grad(float rowc, float bx, int j, float s)
{
    float ds = rowc + bx * (float)j;
    return ds * s * (1.0f - s);
}

void com_sigmoid_bn_backward(float *dx, float *dgamma, float *dbeta,
                             const float *dz, const float *z,
                             const float *mass, const float *x,
                             const float *scale, const float *shift,
                             const float *mean, const float *rstd,
                             const float *gamma, double *work, int N, int K,
                             int H, int W)
{
    assert(K <= CONV3X3_MAXCH);
    size_t plane = (size_t)H * W;
    /* The same hoisted constants as com_backward. */
#define COM_CONSTS                                                           \
    float gx = dz[(size_t)n * 2 * K + 2 * k] / mass[(size_t)n * K + k];     \
    float gy = dz[(size_t)n * 2 * K + 2 * k + 1] / mass[(size_t)n * K + k]; \
    float zx = z[(size_t)n * 2 * K + 2 * k];                                \
    float zy = z[(size_t)n * 2 * K + 2 * k + 1];                            \
    float bx = gx / W, ax = gx * (0.5f / W - zx);                           \
    float by = gy / H, ay = gy * (0.5f / H - zy);
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) {
            COM_CONSTS
            const float *xp = x + ((size_t)n * K + k) * plane;
            float m = mean[k], sa = scale[k], sb = shift[k];
            double t = 0, tx = 0;
            for (int i = 0; i < H; i++) {
                const float *xr = xp + (size_t)i * W;
                float rowc = ax + ay + by * (float)i, rs = 0, rsx = 0;
#pragma omp simd reduction(+ : rs, rsx)
                for (int j = 0; j < W; j++) {
                    float g = com_sigmoid_grad(rowc, bx, j, sigmoid_vec(xr[j] * sa + sb));
                    rs += g;
                    rsx += g * (xr[j] - m);
                }
                t += rs;
                tx += rsx;
            }
            work[2 * ((size_t)n * K + k)] = t;
            work[2 * ((size_t)n * K + k) + 1] = tx;
        }
    }
    float a[CONV3X3_MAXCH], kk[CONV3X3_MAXCH], b[CONV3X3_MAXCH];
    bn_backward_coeffs(a, kk, b, dgamma, dbeta, work, rstd, gamma, N, K, (int)plane);
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) {
            COM_CONSTS
            const float *xp = x + ((size_t)n * K + k) * plane;
            float *q = dx + ((size_t)n * K + k) * plane;
            float m = mean[k], ac = a[k], kc = kk[k], bc = b[k], sa = scale[k], sb = shift[k];
            for (int i = 0; i < H; i++) {
                const float *xr = xp + (size_t)i * W;
                float *qr = q + (size_t)i * W, rowc = ax + ay + by * (float)i;
#pragma omp simd
                for (int j = 0; j < W; j++) {
                    float g = com_sigmoid_grad(rowc, bx, j, sigmoid_vec(xr[j] * sa + sb));
                    qr[j] = ac * g + kc * (xr[j] - m) + bc;
                }
            }
        }
    }
#undef COM_CONSTS
}

void relu_bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                      const float *y, const float *x, const float *mean,
                      const float *rstd, const float *gamma, double *work,
                      int N, int C, int HW)
{
    assert(C <= CONV3X3_MAXCH);
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            const float *g = dy + ((size_t)n * C + c) * HW;
            const float *yp = y + ((size_t)n * C + c) * HW;
            const float *p = x + ((size_t)n * C + c) * HW;
            float m = mean[c], s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
            for (int i = 0; i < HW; i++) {
                float gi = yp[i] > 0.0f ? g[i] : 0.0f;
                s += gi;
                sx += gi * (p[i] - m);
            }
            work[2 * ((size_t)n * C + c)] = s;
            work[2 * ((size_t)n * C + c) + 1] = sx;
        }
    }
    float a[CONV3X3_MAXCH], k[CONV3X3_MAXCH], b[CONV3X3_MAXCH];
    bn_backward_coeffs(a, k, b, dgamma, dbeta, work, rstd, gamma, N, C, HW);
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            const float *g = dy + ((size_t)n * C + c) * HW;
            const float *yp = y + ((size_t)n * C + c) * HW;
            const float *p = x + ((size_t)n * C + c) * HW;
            float *q = dx + ((size_t)n * C + c) * HW;
            float m = mean[c], ac = a[c], kc = k[c], bc = b[c];
#pragma omp simd
            for (int i = 0; i < HW; i++) {
                float gi = yp[i] > 0.0f ? g[i] : 0.0f;
                q[i] = ac * gi + kc * (p[i] - m) + bc;
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Streamed convolutions: the convolution's input made a row at a time      */
/* ------------------------------------------------------------------------ */

/* The convolutions below never store their input plane: each frame keeps a
 * ring of its last three input rows per channel (the rows a 3x3 output row
 * needs) in its own slot of a caller-owned buffer, filled from a cheaper
 * source: bytes of the frames, or the pre-activation a of the previous layer
 * through its batch norm and ReLU. Work is split by frame; within a frame,
 * rows are done in order, so each output value sees the same float
 * operations as in conv3x3_forward / conv3x3_backward. */

/* A frame's slot: rings of 3 padded rows (W + 2 floats, a zero each side,
 * so the row kernels need no edge cases) for C inputs and O outputs, then
 * O rows of W. */
static size_t slot_size(int C, int O, int W)
{
    return 3 * ((size_t)C + O) * ((size_t)W + 2) + (size_t)O * W;
}

size_t fused_rows_size(int N, int C, int O, int W)
{
    return (size_t)N * slot_size(C, O, W);
}

/* Row r of ring channel c (its first value; r[-1] and r[W] are the pads). */
static float *ring_row(float *ring, int c, int r, int W)
{
    return ring + ((size_t)c * 3 + r % 3) * ((size_t)W + 2) + 1;
}

// x = q / 255
static void u8_row(float *restrict dst, const uint8_t *restrict src, int W)
{
#pragma omp simd
    for (int j = 0; j < W; j++) dst[j] = src[j] * (1.0f / 255.0f);
}

// h = max(a scale + shift, 0), as bn_relu_forward
static void bn_relu_row(float *restrict dst, const float *restrict src,
                        float scale, float shift, int W)
{
#pragma omp simd
    for (int j = 0; j < W; j++) {
        float v = src[j] * scale + shift;
        dst[j] = v > 0.0f ? v : 0.0f;
    }
}

/* The input rows of one frame: bytes xq (C, H, W), or a (C, H, W) through
 * scale and shift. */
typedef struct row_source {
    const uint8_t *xq;
    const float *a, *scale, *shift;
    int C, H, W;
} row_source;

/* Row r of every channel into its ring slot r % 3 (ring: (C, 3, W)). */
static void source_rows(float *ring, const row_source *src, int r)
{
    size_t plane = (size_t)src->H * src->W;
    for (int c = 0; c < src->C; c++) {
        float *dst = ring_row(ring, c, r, src->W);
        dst[-1] = dst[src->W] = 0.0f;
        if (src->xq) u8_row(dst, src->xq + c * plane + (size_t)r * src->W, src->W);
        else bn_relu_row(dst, src->a + c * plane + (size_t)r * src->W,
                         src->scale[c], src->shift[c], src->W);
    }
}

/* Row r of every channel of src->a, copied as it is into the ring. */
static void dy_rows(float *ring, const row_source *src, int r)
{
    size_t plane = (size_t)src->H * src->W;
    for (int c = 0; c < src->C; c++) {
        float *dst = ring_row(ring, c, r, src->W);
        dst[-1] = dst[src->W] = 0.0f;
        memcpy(dst, src->a + c * plane + (size_t)r * src->W, (size_t)src->W * sizeof *dst);
    }
}

/* The rows r - 1, r, r + 1 of channel c in the ring (NULL outside). */
static void ring_rows(const float *rows[3], const float *ring, int c, int r,
                      int H, int W)
{
    float *base = (float *)ring;
    rows[0] = r > 0 ? ring_row(base, c, r + 2, W) : NULL;
    rows[1] = ring_row(base, c, r, W);
    rows[2] = r < H - 1 ? ring_row(base, c, r + 1, W) : NULL;
}

/* y (N, O, H, W) = conv of the source with w, b; stats (may be NULL) as
 * conv3x3_forward_stats. */
static void conv_streamed(float *y, double *stats, const row_source *s0,
                          size_t src_stride, const float *w, const float *b,
                          float *rows, int N, int O)
{
    int C = s0->C, H = s0->H, W = s0->W;
    size_t plane = (size_t)H * W;
    int G = O % 3 == 0 ? 3 : 1;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        row_source src = *s0;
        if (src.xq) src.xq += (size_t)n * src_stride;
        else src.a += (size_t)n * src_stride;
        float *ring = rows + (size_t)n * slot_size(C, O, W);
        if (stats)
            for (int o = 0; o < O; o++) {
                double *st = stats + 3 * ((size_t)n * O + o);
                st[0] = st[1] = st[2] = 0;
            }
        source_rows(ring, &src, 0);
        for (int r = 0; r < H; r++) {
            if (r + 1 < H) source_rows(ring, &src, r + 1);
            for (int o = 0; o < O; o += G) {
                float *orow = y + ((size_t)n * O + o) * plane + (size_t)r * W;
                for (int g = 0; g < G; g++) {
                    float bias = b ? b[o + g] : 0.0f;
                    for (int j = 0; j < W; j++) orow[g * plane + j] = bias;
                }
                for (int c = 0; c < C; c++) {
                    const float *in[3];
                    ring_rows(in, ring, c, r, H, W);
                    if (G == 3)
                        conv3x3_row3_padded(orow, orow + plane, orow + 2 * plane, in[0], in[1],
                                     in[2], w + (o * C + c) * 9, w + ((o + 1) * C + c) * 9,
                                     w + ((o + 2) * C + c) * 9, W);
                    else
                        conv3x3_row(orow, in[0], in[1], in[2], w + (o * C + c) * 9, W);
                }
                if (stats)
                    for (int g = 0; g < G; g++)
                        batchnorm_row_stats(stats + 3 * ((size_t)n * O + o + g),
                                            orow + g * plane, W);
            }
        }
    }
}

void conv3x3_forward_u8(float *y, double *stats, const uint8_t *xq,
                        const float *w, const float *b, float *rows, int N,
                        int C, int O, int H, int W)
{
    assert(C <= CONV3X3_MAXCH && O <= CONV3X3_MAXCH);
    row_source src = {.xq = xq, .C = C, .H = H, .W = W};
    conv_streamed(y, stats, &src, (size_t)C * H * W, w, b, rows, N, O);
}

void bn_relu_conv3x3_forward(float *y, double *stats, const float *a,
                             const float *scale, const float *shift,
                             const float *w, const float *b, float *rows,
                             int N, int C, int O, int H, int W)
{
    assert(C <= CONV3X3_MAXCH && O <= CONV3X3_MAXCH);
    row_source src = {.a = a, .scale = scale, .shift = shift, .C = C, .H = H, .W = W};
    conv_streamed(y, stats, &src, (size_t)C * H * W, w, b, rows, N, O);
}

/* The weight-gradient rows of one output row r: for each output channel o,
 * gsum[o] += sum of g's row, part[(o C + c) 9 ..] += its correlation with
 * the ring's rows around r. g (O, W) holds row r of every output channel,
 * gstride apart. */
static void dw_rows(float *part, float *gsum, const float *g, size_t gstride,
                    const float *ring, int r, int C, int O, int H, int W)
{
    for (int o = 0; o < O; o++) {
        const float *grow = g + o * gstride;
        float s = gsum[o];
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < W; j++) s += grow[j];
        gsum[o] = s;
        for (int c = 0; c < C; c++) {
            const float *in[3];
            ring_rows(in, ring, c, r, H, W);
            conv3x3_dw_row_padded(part + (o * C + c) * 9, grow, in, W);
        }
    }
}

void bn_relu_conv3x3_backward(float *dx, double *sums, float *dw, float *db,
                              const float *dy, const float *a,
                              const float *scale, const float *shift,
                              const float *mean, const float *w, float *work,
                              float *rows, int N, int C, int O, int H, int W)
{
    assert(C <= CONV3X3_MAXCH && O <= CONV3X3_MAXCH);
    size_t plane = (size_t)H * W, per = (size_t)O * C * 9 + O;
    /* dx = rot180(w)^T (*) dy: the flipped, transposed kernel (O in, C out) */
    float wt[CONV3X3_MAXCH * CONV3X3_MAXCH * 9];
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < 9; t++)
                wt[(c * O + o) * 9 + t] = w[(o * C + c) * 9 + (8 - t)];
    int G = C % 3 == 0 ? 3 : 1;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        row_source src = {.a = a + (size_t)n * C * plane, .scale = scale,
                          .shift = shift, .C = C, .H = H, .W = W};
        float *ring = rows + (size_t)n * slot_size(C, O, W);
        float *dring = ring + 3 * (size_t)C * (W + 2); /* dy's rows, padded */
        float *part = work + (size_t)n * per, gsum[CONV3X3_MAXCH] = {0};
        memset(part, 0, per * sizeof *part);
        const float *g = dy + (size_t)n * O * plane;
        double s[CONV3X3_MAXCH] = {0}, sx[CONV3X3_MAXCH] = {0};
        source_rows(ring, &src, 0);
        row_source dsrc = {.a = g, .C = O, .H = H, .W = W};
        dy_rows(dring, &dsrc, 0);
        for (int r = 0; r < H; r++) {
            if (r + 1 < H) {
                source_rows(ring, &src, r + 1);
                dy_rows(dring, &dsrc, r + 1);
            }
            dw_rows(part, gsum, g + (size_t)r * W, plane, ring, r, C, O, H, W);
            /* row r of dx for every input channel, then the ReLU's mask
             * and the batch norm backward's two sums */
            for (int c = 0; c < C; c += G) {
                float *q = dx + ((size_t)n * C + c) * plane + (size_t)r * W;
                for (int k = 0; k < G; k++)
                    for (int j = 0; j < W; j++) q[k * plane + j] = 0.0f;
                for (int o = 0; o < O; o++) {
                    const float *in[3];
                    ring_rows(in, dring, o, r, H, W);
                    if (G == 3)
                        conv3x3_row3_padded(q, q + plane, q + 2 * plane, in[0], in[1], in[2],
                                            wt + (c * O + o) * 9, wt + ((c + 1) * O + o) * 9,
                                            wt + ((c + 2) * O + o) * 9, W);
                    else
                        conv3x3_row(q, in[0], in[1], in[2], wt + (c * O + o) * 9, W);
                }
                for (int k = 0; k < G; k++) {
                    const float *hr = ring_row(ring, c + k, r, W);
                    const float *ar = src.a + (c + k) * plane + (size_t)r * W;
                    float *qr = q + k * plane, m = mean[c + k], rs = 0, rsx = 0;
#pragma omp simd reduction(+ : rs, rsx)
                    for (int j = 0; j < W; j++) {
                        float gi = hr[j] > 0.0f ? qr[j] : 0.0f;
                        qr[j] = gi;
                        rs += gi;
                        rsx += gi * (ar[j] - m);
                    }
                    s[c + k] += rs;
                    sx[c + k] += rsx;
                }
            }
        }
        for (int o = 0; o < O; o++) part[(size_t)O * C * 9 + o] = gsum[o];
        for (int c = 0; c < C; c++) {
            sums[2 * ((size_t)n * C + c)] = s[c];
            sums[2 * ((size_t)n * C + c) + 1] = sx[c];
        }
    }
    conv3x3_work_reduce(dw, db, work, N, C, O);
}

void bn_conv3x3_backward_u8(float *dw, float *db, float *dgamma,
                            float *dbeta, const float *dy, const double *sums,
                            const float *a, const float *mean,
                            const float *rstd, const float *gamma,
                            const uint8_t *xq, float *work, float *rows,
                            int N, int C, int O, int H, int W)
{
    assert(C <= CONV3X3_MAXCH && O <= CONV3X3_MAXCH);
    size_t plane = (size_t)H * W, per = (size_t)O * C * 9 + O;
    float ac[CONV3X3_MAXCH], kc[CONV3X3_MAXCH], bc[CONV3X3_MAXCH];
    bn_backward_coeffs(ac, kc, bc, dgamma, dbeta, sums, rstd, gamma, N, O, (int)plane);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        row_source src = {.xq = xq + (size_t)n * C * plane, .C = C, .H = H, .W = W};
        float *ring = rows + (size_t)n * slot_size(C, O, W);
        float *grows = ring + 3 * ((size_t)C + O) * (W + 2); /* (O, W): row r of dx */
        float *part = work + (size_t)n * per, gsum[CONV3X3_MAXCH] = {0};
        memset(part, 0, per * sizeof *part);
        source_rows(ring, &src, 0);
        for (int r = 0; r < H; r++) {
            if (r + 1 < H) source_rows(ring, &src, r + 1);
            for (int o = 0; o < O; o++) {
                const float *gr = dy + ((size_t)n * O + o) * plane + (size_t)r * W;
                const float *ar = a + ((size_t)n * O + o) * plane + (size_t)r * W;
                float *q = grows + (size_t)o * W, m = mean[o], ao = ac[o], ko = kc[o], bo = bc[o];
#pragma omp simd
                for (int j = 0; j < W; j++) q[j] = ao * gr[j] + ko * (ar[j] - m) + bo;
            }
            dw_rows(part, gsum, grows, W, ring, r, C, O, H, W);
        }
        for (int o = 0; o < O; o++) part[(size_t)O * C * 9 + o] = gsum[o];
    }
    conv3x3_work_reduce(dw, db, work, N, C, O);
}
