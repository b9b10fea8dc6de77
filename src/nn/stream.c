/*
 * stream.c — the encoder's convolutions as two passes over a batch, each a
 * frame at a time and a row at a time (nn.h, "Streamed convolutions"):
 *
 *   conv_bn_relu_conv_forward   x (bytes) -> a1 -> h1 -> a2, and bn2's
 *                               statistics
 *   conv_bn_relu_conv_backward  conv2's weight gradient, bn1's backward
 *                               sums, and sums of dh1 against x
 *   bn_conv3x3_backward_finish  conv1's weight gradient from those sums
 *                               and the frames' patch moments (moments.c)
 *
 * No convolution's input exists as a plane: each frame keeps a ring of
 * the last rows of every input channel in its own slot of a caller-owned
 * buffer, made from a cheaper source (the frame's bytes; a1, remade by
 * conv1 from them, through bn1 and the ReLU; bn2's input through
 * com_grad), and the vector row kernels of conv_rows.c run over those
 * rings. Only a2 is stored. Remaking a1 costs conv1's arithmetic again in
 * the backward; storing it would cost a write and a read of 6 floats a
 * pixel, and memory traffic is the scarcer resource here
 * (docs/performance.md). bn1's batch statistics come from the frames'
 * patch moments, so no pass is needed before bn1 can be applied.
 *
 * Work is split by frame; within a frame rows go in order; per-frame sums
 * are added across frames in frame order. Results do not depend on the
 * thread count.
 *
 * Letters: N frames, C input channels, F hidden and O output channels,
 * H x W pixels; for the encoder C -> F -> K.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "nn/nn.h"

/* Full-width AVX-512 vectors where the target has them (see fused.c). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#pragma GCC target("prefer-vector-width=512")
#endif

/* ------------------------------------------------------------------------ */
/* Slots and rings                                                           */
/* ------------------------------------------------------------------------ */

/* Floats from one padded row to the next: the Wv columns and NN_VL zeros
 * either side. */
static size_t row_stride(int W) { return conv_rows_width(W) + 2 * NN_VL; }

/* Rows a ring keeps per channel: the backward needs x's rows r - 1 .. r + 2
 * at row r (r - 1 .. r + 1 for dh's sums against x, r .. r + 2 to remake
 * a1's row r + 1). */
#define RING 4

/* What a frame's slot holds, in padded rows: a ring of RING rows for each
 * of R input channels and of D gradient channels, one zero row, Q rows of
 * results; then A floats of weight-gradient sums. Every part starts on a
 * multiple of NN_VL floats. */
typedef struct slot_shape { int R, D, Q; size_t A; } slot_shape;

static size_t slot_rows(slot_shape sh)
{
    return RING * ((size_t)sh.R + sh.D) + 1 + (size_t)sh.Q;
}

static size_t slot_size(slot_shape sh, int W)
{
    return slot_rows(sh) * row_stride(W) + sh.A;
}

/* The slots of the two passes of an encoder C -> F -> K. The forward:
 * rings of x and h1; F rows of a1 and K of a2. The backward: rings of x,
 * a1, h1 and the output gradient; F rows of dh; the sums of conv2's weight
 * gradient and of dh against x. */
static slot_shape shape_forward(int C, int F, int K) { return (slot_shape){C + F, 0, F + K, 0}; }
static slot_shape shape_backward(int C, int F, int K)
{
    return (slot_shape){C + 2 * F, K, F, conv_rows_dw_size(F, K) + conv_rows_dw_size(C, F)};
}

size_t fused_rows_size(int N, int C, int F, int K, int W)
{
    size_t f = slot_size(shape_forward(C, F, K), W), b = slot_size(shape_backward(C, F, K), W);
    return (size_t)N * (f > b ? f : b) + NN_VL; /* + room to align */
}

size_t fused_xsums_size(int N, int C, int F)
{
    return (size_t)N * F * (9 * (size_t)C + 1);
}

/* The parts of frame n's slot, zeroed (the pads and rows outside the image
 * must read as zero; the sums start at zero). */
typedef struct slot {
    float *ring;  /* (R, RING) padded rows: the inputs */
    float *dring; /* (D, RING) padded rows: the output gradient */
    float *zero;  /* one padded row of zeros */
    float *out;   /* (Q) padded rows of results */
    float *acc;   /* A floats */
    size_t stride;
} slot;

static slot slot_open(float *rows, int n, slot_shape sh, int W)
{
    uintptr_t align = NN_VL * sizeof(float), p = (uintptr_t)rows;
    float *base = rows + ((align - p % align) % align) / sizeof(float);
    size_t size = slot_size(sh, W);
    base += (size_t)n * size;
    memset(base, 0, size * sizeof *base);
    slot s;
    s.stride = row_stride(W);
    s.ring = base + NN_VL;
    s.dring = s.ring + RING * (size_t)sh.R * s.stride;
    s.zero = s.dring + RING * (size_t)sh.D * s.stride;
    s.out = s.zero + s.stride;
    s.acc = base + slot_rows(sh) * s.stride;
    return s;
}

/* Row r (-1 <= r) of ring channel c (its first column). */
static float *ring_row(float *ring, size_t stride, int c, int r)
{
    return ring + ((size_t)c * RING + (r + RING) % RING) * stride;
}

/* in[3c + 0, 1, 2] = rows r - 1, r, r + 1 of the ring's C channels, the
 * zero row outside the image. */
static void ring_rows(const float **in, float *ring, const slot *s, int C,
                      int r, int H)
{
    for (int c = 0; c < C; c++) {
        in[3 * c] = r > 0 ? ring_row(ring, s->stride, c, r - 1) : s->zero;
        in[3 * c + 1] = ring_row(ring, s->stride, c, r);
        in[3 * c + 2] = r < H - 1 ? ring_row(ring, s->stride, c, r + 1) : s->zero;
    }
}

/* Row r of ring channels 0 .. C - 1, one pointer each. */
static void ring_row_set(float **row, float *ring, size_t stride, int C, int r)
{
    for (int c = 0; c < C; c++) row[c] = ring_row(ring, stride, c, r);
}

/* The slot's result rows, one per channel. */
static void out_rows(float **out, const slot *s, int n)
{
    for (int i = 0; i < n; i++) out[i] = s->out + (size_t)i * s->stride;
}

/* x = q / 255: row r of every channel of a frame's interleaved bytes
 * (H, W, C) into x's ring; columns W and on keep the zeros slot_open wrote.
 * Three channels (colour video) have a loop of their own, which the
 * compiler vectorises with shuffles; a general C does not. */
static void x_rows(float *ring, size_t stride, const uint8_t *frame, int r,
                   int C, int W)
{
    const uint8_t *restrict src = frame + (size_t)r * W * C;
    const float k = 1.0f / 255.0f;
    if (C == 3) {
        float *restrict d0 = ring_row(ring, stride, 0, r);
        float *restrict d1 = ring_row(ring, stride, 1, r);
        float *restrict d2 = ring_row(ring, stride, 2, r);
        for (int j = 0; j < W; j++) {
            d0[j] = src[3 * j] * k;
            d1[j] = src[3 * j + 1] * k;
            d2[j] = src[3 * j + 2] * k;
        }
        return;
    }
    for (int c = 0; c < C; c++) {
        float *restrict d = ring_row(ring, stride, c, r);
#pragma omp simd
        for (int j = 0; j < W; j++) d[j] = src[(size_t)j * C + c] * k;
    }
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

/* Row r of the O channels of the output gradient of frame n into its ring:
 * dy (N, O, H, W) as it is, or made by cg from dy = a2. */
static void grad_rows(float *ring, size_t stride, const float *dy,
                      const com_grad *cg, int n, int r, int O, int H, int W)
{
    size_t plane = (size_t)H * W;
    const float *src = dy + (size_t)n * O * plane + (size_t)r * W;
    for (int o = 0; o < O; o++) {
        float *dst = ring_row(ring, stride, o, r);
        if (cg) com_grad_row(dst, cg, src + o * plane, n, o, r);
        else memcpy(dst, src + o * plane, (size_t)W * sizeof *dst);
    }
}

/* Row r of a1 = conv(x, w1, b1) into a[0 .. F) (padded rows; columns W
 * and on are not zero), from x's ring; and h1 = relu(a1 scale + shift)
 * into h1's ring. */
static void hidden_row(float *const *a, float *hring, float *xring,
                       const slot *s, const float *w1, const float *b1,
                       const float *scale, const float *shift, int r, int C,
                       int F, int H, int W)
{
    const float *xin[3 * CONV3X3_MAXCH];
    ring_rows(xin, xring, s, C, r, H);
    conv_rows_forward(a, xin, w1, b1, C, F, conv_rows_width(W));
    for (int f = 0; f < F; f++)
        bn_relu_row(ring_row(hring, s->stride, f, r), a[f], scale[f], shift[f], W);
}

/* wt (C, O, 3, 3): w (O, C, 3, 3) flipped and transposed, so that
 * dx = conv(dy, wt) is the convolution's input gradient. */
static void flip_kernel(float *wt, const float *w, int C, int O)
{
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < 9; t++)
                wt[(c * O + o) * 9 + t] = w[(o * C + c) * 9 + (8 - t)];
}

void conv_bn_relu_conv_forward(float *y, double *stats,
                               const uint8_t *const *frames, const float *w1,
                               const float *b1, const float *scale,
                               const float *shift, const float *w2,
                               const float *b2, float *rows, int N, int C,
                               int F, int O, int H, int W)
{
    assert(C <= CONV3X3_MAXCH && F <= CONV3X3_MAXCH && O <= CONV3X3_MAXCH);
    size_t plane = (size_t)H * W, Wv = conv_rows_width(W);
    slot_shape shape = shape_forward(C, F, O);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        slot s = slot_open(rows, n, shape, W);
        float *xring = s.ring, *hring = s.ring + RING * (size_t)C * s.stride;
        const float *hin[3 * CONV3X3_MAXCH];
        float *out[2 * CONV3X3_MAXCH];
        out_rows(out, &s, F + O);
        float *const *a = out, *const *yr = out + F;
        if (stats)
            for (int o = 0; o < O; o++) {
                double *st = stats + 3 * ((size_t)n * O + o);
                st[0] = st[1] = st[2] = 0;
            }
        /* x runs two rows ahead of a2, h1 one */
        for (int r = 0; r < 2 && r < H; r++) x_rows(xring, s.stride, frames[n], r, C, W);
        hidden_row(a, hring, xring, &s, w1, b1, scale, shift, 0, C, F, H, W);
        for (int r = 0; r < H; r++) {
            if (r + 2 < H) x_rows(xring, s.stride, frames[n], r + 2, C, W);
            if (r + 1 < H) hidden_row(a, hring, xring, &s, w1, b1, scale, shift, r + 1, C, F, H, W);
            ring_rows(hin, hring, &s, F, r, H);
            conv_rows_forward(yr, hin, w2, b2, F, O, Wv);
            for (int o = 0; o < O; o++) {
                memcpy(y + ((size_t)n * O + o) * plane + (size_t)r * W, yr[o], (size_t)W * sizeof(float));
                if (stats) batchnorm_row_stats(stats + 3 * ((size_t)n * O + o), yr[o], W);
            }
        }
    }
}

/* One row of the ReLU's input gradient, dx = conv(dy, wt) masked where
 * h = a scale + shift <= 0 (ar: row r of a), in place, then the batch norm
 * backward's row sums sum dx, sum dx (a - mean) into rs, rsx. */
static void relu_mask_row(float *q, float *rs, float *rsx, const float *ar,
                          float scale, float shift, float mean, int W)
{
    float s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
    for (int j = 0; j < W; j++) {
        float gi = ar[j] * scale + shift > 0.0f ? q[j] : 0.0f;
        q[j] = gi;
        s += gi;
        sx += gi * (ar[j] - mean);
    }
    *rs = s;
    *rsx = sx;
}

void conv_bn_relu_conv_backward(double *sums, float *dw, float *db,
                                float *xsums, const float *dy,
                                const com_grad *cg,
                                const uint8_t *const *frames, const float *w1,
                                const float *b1, const float *scale,
                                const float *shift, const float *mean,
                                const float *w2, float *work, float *rows,
                                int N, int C, int F, int O, int H, int W)
{
    assert(C <= CONV3X3_MAXCH && F <= CONV3X3_MAXCH && O <= CONV3X3_MAXCH);
    size_t per = (size_t)O * F * 9 + O, Wv = conv_rows_width(W);
    size_t xper = (size_t)F * (9 * (size_t)C + 1);
    float wt[CONV3X3_MAXCH * CONV3X3_MAXCH * 9];
    flip_kernel(wt, w2, F, O);
    slot_shape shape = shape_backward(C, F, O);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        slot s = slot_open(rows, n, shape, W);
        float *xring = s.ring, *aring = s.ring + RING * (size_t)C * s.stride;
        float *hring = aring + RING * (size_t)F * s.stride;
        float *xacc = s.acc + conv_rows_dw_size(F, O);
        const float *hin[3 * CONV3X3_MAXCH], *din[3 * CONV3X3_MAXCH], *g[CONV3X3_MAXCH];
        const float *xin[3 * CONV3X3_MAXCH];
        float *dh[CONV3X3_MAXCH], *a[CONV3X3_MAXCH];
        out_rows(dh, &s, F);
        double sc[CONV3X3_MAXCH] = {0}, scx[CONV3X3_MAXCH] = {0};
        /* x runs two rows ahead of dh, a1, h1 and dy one */
        for (int r = 0; r < 2 && r < H; r++) x_rows(xring, s.stride, frames[n], r, C, W);
        ring_row_set(a, aring, s.stride, F, 0);
        hidden_row(a, hring, xring, &s, w1, b1, scale, shift, 0, C, F, H, W);
        grad_rows(s.dring, s.stride, dy, cg, n, 0, O, H, W);
        for (int r = 0; r < H; r++) {
            if (r + 2 < H) x_rows(xring, s.stride, frames[n], r + 2, C, W);
            if (r + 1 < H) {
                ring_row_set(a, aring, s.stride, F, r + 1);
                hidden_row(a, hring, xring, &s, w1, b1, scale, shift, r + 1, C, F, H, W);
                grad_rows(s.dring, s.stride, dy, cg, n, r + 1, O, H, W);
            }
            ring_rows(hin, hring, &s, F, r, H);
            ring_rows(din, s.dring, &s, O, r, H);
            for (int o = 0; o < O; o++) g[o] = din[3 * o + 1];
            conv_rows_dw(s.acc, g, hin, F, O, Wv);
            /* row r of the input gradient dh, masked in place: its sums,
             * and its correlations with x */
            conv_rows_forward(dh, din, wt, NULL, O, F, Wv);
            for (int f = 0; f < F; f++) {
                float rs, rsx;
                relu_mask_row(dh[f], &rs, &rsx, ring_row(aring, s.stride, f, r), scale[f],
                              shift[f], mean[f], W);
                sc[f] += rs;
                scx[f] += rsx;
                /* columns W and on: zero, as conv_rows_dw needs */
                memset(dh[f] + W, 0, (Wv - (size_t)W) * sizeof(float));
            }
            ring_rows(xin, xring, &s, C, r, H);
            conv_rows_dw(xacc, (const float *const *)dh, xin, C, F, Wv);
        }
        conv_rows_dw_reduce(work + (size_t)n * per, s.acc, F, O);
        conv_rows_dw_reduce(xsums + (size_t)n * xper, xacc, C, F);
        for (int f = 0; f < F; f++) {
            sums[2 * ((size_t)n * F + f)] = sc[f];
            sums[2 * ((size_t)n * F + f) + 1] = scx[f];
        }
    }
    if (dw) conv3x3_work_reduce(dw, db, work, N, F, O);
}

/* The batch norm backward is dx = a dh + k (a1 - mean) + b with a, k, b
 * constant per channel (batchnorm_backward_coeffs), and the convolution's
 * weight gradient is linear in dx: for each patch entry i (a weight
 * (c, ky, kx), or the bias), dw[f, i] = sum_px dx_f(px) P_i(px)
 * = a_f D[f, i] + k_f E[f, i] + b_f X[i], with D = dh against P (the
 * backward's xsums, added over frames in order, in double), and
 * E = (a1 - mean) against P and X = 1 against P from the batch's patch
 * moments (conv3x3_moment_sums). So no pass over the batch is needed once
 * a, k, b are known. */
void bn_conv3x3_backward_finish(float *dw, float *db, float *dgamma,
                                float *dbeta, const double *sums,
                                const double *G, const float *w,
                                const float *b, const float *mean,
                                const float *xsums, const float *rstd,
                                const float *gamma, int N, int C, int F,
                                int H, int W)
{
    assert(C <= CONV3X3_MAXCH && F <= CONV3X3_MAXCH);
    float ac[CONV3X3_MAXCH], kc[CONV3X3_MAXCH], bc[CONV3X3_MAXCH];
    batchnorm_backward_coeffs(ac, kc, bc, dgamma, dbeta, sums, rstd, gamma, N, F, H * W);
    size_t taps = 9 * (size_t)C, P = taps + 1;
    double E[CONV3X3_MAXCH * (9 * CONV3X3_MAXCH + 1)], X[9 * CONV3X3_MAXCH + 1];
    conv3x3_moment_sums(E, X, G, w, b, mean, C, F);
    /* xsums per frame (conv_rows_dw_reduce): (F, C, 3, 3) sums of dh
     * against x, then F sums of dh */
    size_t per = (size_t)F * P;
    for (int f = 0; f < F; f++)
        for (size_t i = 0; i < P; i++) {
            size_t id = i < taps ? f * taps + i : (size_t)F * taps + f;
            double sd = 0;
            for (int n = 0; n < N; n++) sd += xsums[(size_t)n * per + id];
            double v = ac[f] * sd + kc[f] * E[f * P + i] + bc[f] * X[i];
            if (i < taps) dw[f * taps + i] += (float)v;
            else db[f] += (float)v;
        }
}
