/*
 * stream.c — the encoder's convolutions as three passes over a batch, each
 * a frame at a time and a row at a time (nn.h, "Streamed convolutions"):
 *
 *   conv3x3_forward_u8        x (bytes) -> a1, bn1's statistics
 *   bn_relu_conv3x3_forward   a1 -> h1 -> a2, bn2's statistics, and sums of
 *                             a1 - mean against x for the backward
 *   bn_relu_conv3x3_backward  conv2's weight gradient, bn1's backward sums,
 *                             and sums of dh1 against x
 *   bn_conv3x3_backward_finish  conv1's weight gradient from those sums
 *
 * A convolution's input never exists as a plane: each frame keeps a ring of
 * the last three rows of every input channel in its own slot of a
 * caller-owned buffer, made from a cheaper source (the frame's bytes, a1
 * through bn1 and the ReLU, or bn2's input through com_grad), and the
 * vector row kernels of conv_rows.c run over those rings. Only a1 and a2
 * are stored: memory traffic, not arithmetic, is what a plane costs here.
 *
 * Work is split by frame; within a frame rows go in order; per-frame sums
 * are added across frames in frame order. Results do not depend on the
 * thread count.
 *
 * Letters: N frames, C input channels, O output channels, H x W pixels;
 * for the encoder C -> F -> K.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "nn/nn.h"

#if defined(__SSE2__)
#include <immintrin.h>
#endif

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

/* What a frame's slot holds, in padded rows: a ring of 3 rows for each of
 * R input channels and of D gradient channels, one zero row, Q rows of
 * results; then A floats of weight-gradient sums. Every part starts on a
 * multiple of NN_VL floats. */
typedef struct slot_shape { int R, D, Q; size_t A; } slot_shape;

static size_t slot_rows(slot_shape sh) { return 3 * ((size_t)sh.R + sh.D) + 1 + (size_t)sh.Q; }

static size_t slot_size(slot_shape sh, int W)
{
    return slot_rows(sh) * row_stride(W) + sh.A;
}

/* The slots of the three streamed passes of an encoder C -> F -> K. The
 * first convolution: x's rings; F results. The second: h1's and x's rings;
 * K results and F rows of a1 - mean; the sums of a1 - mean against x. The
 * backward: h1's, x's and the output gradient's rings; F rows of dh; the
 * sums of conv2's weight gradient and of dh against x. */
static slot_shape shape_forward1(int C, int F) { return (slot_shape){C, 0, F, 0}; }
static slot_shape shape_forward2(int C, int F, int K)
{
    return (slot_shape){F + C, 0, K + F, conv_rows_dw_size(C, F)};
}
static slot_shape shape_backward(int C, int F, int K)
{
    return (slot_shape){F + C, K, F, conv_rows_dw_size(F, K) + conv_rows_dw_size(C, F)};
}

size_t fused_rows_size(int N, int C, int F, int K, int W)
{
    size_t s[] = {slot_size(shape_forward1(C, F), W), slot_size(shape_forward2(C, F, K), W),
                  slot_size(shape_backward(C, F, K), W)};
    size_t most = 0;
    for (int i = 0; i < 3; i++) most = s[i] > most ? s[i] : most;
    return (size_t)N * most + NN_VL; /* + room to align */
}

size_t fused_xsums_size(int N, int C, int F)
{
    return (size_t)N * ((size_t)F + 1) * (9 * (size_t)C + 1);
}

/* The parts of frame n's slot, zeroed (the pads and rows outside the image
 * must read as zero; the sums start at zero). */
typedef struct slot {
    float *ring;  /* (R, 3) padded rows: the inputs */
    float *dring; /* (D, 3) padded rows: the output gradient */
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
    s.dring = s.ring + 3 * (size_t)sh.R * s.stride;
    s.zero = s.dring + 3 * (size_t)sh.D * s.stride;
    s.out = s.zero + s.stride;
    s.acc = base + slot_rows(sh) * s.stride;
    return s;
}

/* Row r of ring channel c (its first column). */
static float *ring_row(float *ring, size_t stride, int c, int r)
{
    return ring + ((size_t)c * 3 + r % 3) * stride;
}

/* in[3c + 0, 1, 2] = rows r - 1, r, r + 1 of the ring's C channels, the
 * zero row outside the image. */
static void ring_rows(const float **in, float *ring, const slot *s, int C,
                      int r, int H)
{
    for (int c = 0; c < C; c++) {
        in[3 * c] = r > 0 ? ring_row(ring, s->stride, c, r + 2) : s->zero;
        in[3 * c + 1] = ring_row(ring, s->stride, c, r);
        in[3 * c + 2] = r < H - 1 ? ring_row(ring, s->stride, c, r + 1) : s->zero;
    }
}

/* The slot's result rows, one per channel. */
static void out_rows(float **out, const slot *s, int n)
{
    for (int i = 0; i < n; i++) out[i] = s->out + (size_t)i * s->stride;
}

/* x = q / 255: row r of every channel of a frame's interleaved bytes
 * (W, C) into the ring. Three channels (colour video) have a loop of their
 * own, which the compiler vectorises with shuffles; a general C does not. */
static void frame_rows(float *ring, size_t stride, const uint8_t *restrict src,
                       int r, int C, int W)
{
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

/* The rows of one frame n: its bytes (H, W, C) as x = q / 255; or a
 * (C, H, W) through scale and shift and a ReLU; or a as it is; or, with
 * cg, the gradient com_grad_row makes from a. */
typedef struct row_source {
    const uint8_t *frame;
    const float *a, *scale, *shift;
    const com_grad *cg;
    int n, C, H, W;
} row_source;

/* Row r of every channel into its ring slot r % 3; columns W and on keep
 * the zeros slot_open wrote. */
static void source_rows(float *ring, size_t stride, const row_source *src, int r)
{
    size_t plane = (size_t)src->H * src->W, at = (size_t)r * src->W;
    if (src->frame) {
        frame_rows(ring, stride, src->frame + at * src->C, r, src->C, src->W);
        return;
    }
    for (int c = 0; c < src->C; c++) {
        float *dst = ring_row(ring, stride, c, r);
        if (src->cg) com_grad_row(dst, src->cg, src->a + c * plane + at, src->n, c, r);
        else if (src->scale)
            bn_relu_row(dst, src->a + c * plane + at, src->scale[c], src->shift[c], src->W);
        else memcpy(dst, src->a + c * plane + at, (size_t)src->W * sizeof *dst);
    }
}

/* The gradient rows of frame n: dy (N, O, H, W) as it is, or made by cg
 * from a2 = dy. */
static row_source grad_source(const float *dy, const com_grad *cg, int n, int O,
                              int H, int W)
{
    return (row_source){.a = dy + (size_t)n * O * H * W, .cg = cg, .n = n, .C = O, .H = H, .W = W};
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

/* dst[0..W) = src[0..W) with stores that bypass the caches where the
 * target has them: a batch's planes are far larger than the caches and are
 * read again only in the next pass, so a cached store would first read the
 * line it overwrites, which costs as much memory traffic as the store.
 * stream_fence() after a frame's last row orders these stores before the
 * threads meet. */
static void stream_row(float *restrict dst, const float *restrict src, int W)
{
    int j = 0;
#if defined(__AVX512F__) || defined(__AVX__) || defined(__SSE2__)
#if defined(__AVX512F__)
    const int L = 16;
#elif defined(__AVX__)
    const int L = 8;
#else
    const int L = 4;
#endif
    for (; j < W && (uintptr_t)(dst + j) % (L * sizeof(float)); j++) dst[j] = src[j];
    for (; j + L <= W; j += L) {
#if defined(__AVX512F__)
        _mm512_stream_ps(dst + j, _mm512_loadu_ps(src + j));
#elif defined(__AVX__)
        _mm256_stream_ps(dst + j, _mm256_loadu_ps(src + j));
#else
        _mm_stream_ps(dst + j, _mm_loadu_ps(src + j));
#endif
    }
#endif
    for (; j < W; j++) dst[j] = src[j];
}

static void stream_fence(void)
{
#if defined(__SSE2__)
    _mm_sfence();
#endif
}

/* The first pass of the encoder: a1 (N, F, H, W) = conv of x = q / 255
 * with w, b, and its batch statistics. a1 is written past the caches: the
 * batch's a1 is larger than they are. */
void conv3x3_forward_u8(float *y, double *stats, const uint8_t *const *frames,
                        const float *w, const float *b, float *rows, int N,
                        int C, int O, int H, int W)
{
    assert(C <= CONV3X3_MAXCH && O <= CONV3X3_MAXCH);
    size_t plane = (size_t)H * W, Wv = conv_rows_width(W);
    slot_shape shape = shape_forward1(C, O);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        row_source src = {.frame = frames[n], .C = C, .H = H, .W = W};
        slot s = slot_open(rows, n, shape, W);
        const float *in[3 * CONV3X3_MAXCH];
        float *out[CONV3X3_MAXCH];
        out_rows(out, &s, O);
        if (stats)
            for (int o = 0; o < O; o++) {
                double *st = stats + 3 * ((size_t)n * O + o);
                st[0] = st[1] = st[2] = 0;
            }
        source_rows(s.ring, s.stride, &src, 0);
        for (int r = 0; r < H; r++) {
            if (r + 1 < H) source_rows(s.ring, s.stride, &src, r + 1);
            ring_rows(in, s.ring, &s, C, r, H);
            conv_rows_forward(out, in, w, b, C, O, Wv);
            for (int o = 0; o < O; o++) {
                stream_row(y + ((size_t)n * O + o) * plane + (size_t)r * W, out[o], W);
                if (stats) batchnorm_row_stats(stats + 3 * ((size_t)n * O + o), out[o], W);
            }
        }
        stream_fence();
    }
}

/* The forward's xsums for one frame: the sums conv_rows_dw_reduce makes
 * for C inputs and F outputs (a1 - mean against x), then tap_sums' 9 C,
 * then the frame's pixel count. */
static size_t xsums_per_frame(int C, int F) { return ((size_t)F + 1) * (9 * (size_t)C + 1); }

/* X (C, 3, 3) = sum over pixels p of x_c(p + t), x zero outside the
 * frame, for the nine offsets t = (ky - 1, kx - 1): the whole channel less
 * the row and the column the offset pushes out, plus their corner. A
 * channel's row sums and edges are gathered row by row (tap_sums_row): in
 * float within a row, in double across rows. */
typedef struct tap_sums {
    double total, top, bottom, left, right;
    double corner[2][2]; /* [top, bottom][left, right] */
} tap_sums;

static void tap_sums_row(tap_sums *t, const float *row, int r, int H, int W)
{
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < W; j++) s += row[j];
    t->total += s;
    t->left += row[0];
    t->right += row[W - 1];
    if (r == 0) {
        t->top = s;
        t->corner[0][0] = row[0];
        t->corner[0][1] = row[W - 1];
    }
    if (r == H - 1) {
        t->bottom = s;
        t->corner[1][0] = row[0];
        t->corner[1][1] = row[W - 1];
    }
}

/* X (C, 3, 3) from the channels' sums, then X[9 C] = H W. */
static void tap_sums_finish(float *X, const tap_sums *t, int C, int H, int W)
{
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                /* ky = 0 reads one row up, so the bottom row is never
                 * read; ky = 2 one down: the top row; likewise kx */
                const tap_sums *q = t + c;
                double s = q->total;
                if (ky != 1) s -= ky == 0 ? q->bottom : q->top;
                if (kx != 1) s -= kx == 0 ? q->right : q->left;
                if (ky != 1 && kx != 1) s += q->corner[ky == 0][kx == 0];
                X[c * 9 + ky * 3 + kx] = (float)s;
            }
    X[9 * C] = (float)((double)H * W);
}

void bn_relu_conv3x3_forward(float *y, double *stats, float *xsums,
                             const float *a, const float *scale,
                             const float *shift, const float *mean,
                             const uint8_t *const *frames, int Cx, const float *w,
                             const float *b, float *rows, int N, int C, int O,
                             int H, int W)
{
    assert(C <= CONV3X3_MAXCH && O <= CONV3X3_MAXCH && Cx <= CONV3X3_MAXCH);
    size_t plane = (size_t)H * W, Wv = conv_rows_width(W);
    slot_shape shape = shape_forward2(Cx, C, O);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        row_source src = {.a = a + (size_t)n * C * plane, .scale = scale, .shift = shift,
                          .C = C, .H = H, .W = W};
        row_source xsrc = {.frame = xsums ? frames[n] : NULL, .C = Cx, .H = H, .W = W};
        slot s = slot_open(rows, n, shape, W);
        float *xring = s.ring + 3 * (size_t)C * s.stride;
        const float *in[3 * CONV3X3_MAXCH], *xin[3 * CONV3X3_MAXCH], *g[CONV3X3_MAXCH];
        float *out[2 * CONV3X3_MAXCH];
        out_rows(out, &s, O + C);
        for (int c = 0; c < C; c++) g[c] = out[O + c];
        tap_sums taps[CONV3X3_MAXCH];
        memset(taps, 0, sizeof taps);
        if (stats)
            for (int o = 0; o < O; o++) {
                double *st = stats + 3 * ((size_t)n * O + o);
                st[0] = st[1] = st[2] = 0;
            }
        source_rows(s.ring, s.stride, &src, 0);
        if (xsums) source_rows(xring, s.stride, &xsrc, 0);
        for (int r = 0; r < H; r++) {
            if (r + 1 < H) {
                source_rows(s.ring, s.stride, &src, r + 1);
                if (xsums) source_rows(xring, s.stride, &xsrc, r + 1);
            }
            ring_rows(in, s.ring, &s, C, r, H);
            conv_rows_forward(out, in, w, b, C, O, Wv);
            for (int o = 0; o < O; o++) {
                memcpy(y + ((size_t)n * O + o) * plane + (size_t)r * W, out[o],
                       (size_t)W * sizeof(float));
                if (stats) batchnorm_row_stats(stats + 3 * ((size_t)n * O + o), out[o], W);
            }
            if (xsums) {
                /* a - mean against x: a linear part of the backward */
                for (int c = 0; c < C; c++) {
                    const float *ar = src.a + c * plane + (size_t)r * W;
                    float *q = out[O + c], m = mean[c];
#pragma omp simd
                    for (int j = 0; j < W; j++) q[j] = ar[j] - m;
                }
                ring_rows(xin, xring, &s, Cx, r, H);
                conv_rows_dw(s.acc, g, xin, Cx, C, Wv);
                for (int c = 0; c < Cx; c++) tap_sums_row(&taps[c], xin[3 * c + 1], r, H, W);
            }
        }
        if (xsums) {
            float *xs = xsums + (size_t)n * xsums_per_frame(Cx, C);
            conv_rows_dw_reduce(xs, s.acc, Cx, C);
            tap_sums_finish(xs + (size_t)C * (9 * Cx + 1), taps, Cx, H, W);
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

void bn_relu_conv3x3_backward(double *sums, float *dw, float *db,
                              float *xsums, const float *dy,
                              const com_grad *cg, const float *a,
                              const float *scale, const float *shift,
                              const float *mean, const uint8_t *const *frames, int Cx,
                              const float *w, float *work, float *rows, int N,
                              int C, int O, int H, int W)
{
    assert(C <= CONV3X3_MAXCH && O <= CONV3X3_MAXCH && Cx <= CONV3X3_MAXCH);
    size_t plane = (size_t)H * W, per = (size_t)O * C * 9 + O, Wv = conv_rows_width(W);
    size_t xper = (size_t)C * (9 * (size_t)Cx + 1);
    float wt[CONV3X3_MAXCH * CONV3X3_MAXCH * 9];
    flip_kernel(wt, w, C, O);
    slot_shape shape = shape_backward(Cx, C, O);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        row_source src = {.a = a + (size_t)n * C * plane, .scale = scale,
                          .shift = shift, .C = C, .H = H, .W = W};
        row_source xsrc = {.frame = xsums ? frames[n] : NULL, .C = Cx, .H = H, .W = W};
        row_source dsrc = grad_source(dy, cg, n, O, H, W);
        slot s = slot_open(rows, n, shape, W);
        float *xring = s.ring + 3 * (size_t)C * s.stride;
        float *xacc = s.acc + conv_rows_dw_size(C, O);
        const float *in[3 * CONV3X3_MAXCH], *din[3 * CONV3X3_MAXCH], *g[CONV3X3_MAXCH];
        const float *xin[3 * CONV3X3_MAXCH], *dh[CONV3X3_MAXCH];
        float *out[CONV3X3_MAXCH];
        out_rows(out, &s, C);
        for (int c = 0; c < C; c++) dh[c] = out[c];
        double sc[CONV3X3_MAXCH] = {0}, scx[CONV3X3_MAXCH] = {0};
        source_rows(s.ring, s.stride, &src, 0);
        source_rows(s.dring, s.stride, &dsrc, 0);
        if (xsums) source_rows(xring, s.stride, &xsrc, 0);
        for (int r = 0; r < H; r++) {
            if (r + 1 < H) {
                source_rows(s.ring, s.stride, &src, r + 1);
                source_rows(s.dring, s.stride, &dsrc, r + 1);
                if (xsums) source_rows(xring, s.stride, &xsrc, r + 1);
            }
            ring_rows(in, s.ring, &s, C, r, H);
            ring_rows(din, s.dring, &s, O, r, H);
            for (int o = 0; o < O; o++) g[o] = din[3 * o + 1];
            conv_rows_dw(s.acc, g, in, C, O, Wv);
            /* row r of the input gradient dh, masked in place: its sums,
             * and its correlations with x */
            conv_rows_forward(out, din, wt, NULL, O, C, Wv);
            for (int c = 0; c < C; c++) {
                float rs, rsx;
                relu_mask_row(out[c], &rs, &rsx, src.a + c * plane + (size_t)r * W, scale[c],
                              shift[c], mean[c], W);
                sc[c] += rs;
                scx[c] += rsx;
                /* columns W and on: zero, as conv_rows_dw needs */
                memset(out[c] + W, 0, (Wv - (size_t)W) * sizeof(float));
            }
            if (xsums) {
                ring_rows(xin, xring, &s, Cx, r, H);
                conv_rows_dw(xacc, dh, xin, Cx, C, Wv);
            }
        }
        conv_rows_dw_reduce(work + (size_t)n * per, s.acc, C, O);
        if (xsums) conv_rows_dw_reduce(xsums + (size_t)n * xper, xacc, Cx, C);
        for (int c = 0; c < C; c++) {
            sums[2 * ((size_t)n * C + c)] = sc[c];
            sums[2 * ((size_t)n * C + c) + 1] = scx[c];
        }
    }
    conv3x3_work_reduce(dw, db, work, N, C, O);
}

/* The batch norm backward is dx = a dh + k (a1 - mean) + b with a, k, b
 * constant per channel (bn_backward_coeffs), and the convolution's weight
 * gradient is linear in dx: dw[f, c, t] = sum_px dx_f(px) x_c(px + t)
 * = a_f D + k_f E + b_f X, with D = dh (*) x (the backward pass's xsums),
 * E = (a1 - mean) (*) x and X = 1 (*) x (the forward's). So no pass over
 * the batch is needed once a, k, b are known. Frames are summed in order,
 * in double. */
void bn_conv3x3_backward_finish(float *dw, float *db, float *dgamma,
                                float *dbeta, const double *sums,
                                const float *xsums_forward,
                                const float *xsums_backward,
                                const float *rstd, const float *gamma, int N,
                                int C, int F, int H, int W)
{
    assert(C <= CONV3X3_MAXCH && F <= CONV3X3_MAXCH);
    float ac[CONV3X3_MAXCH], kc[CONV3X3_MAXCH], bc[CONV3X3_MAXCH];
    batchnorm_backward_coeffs(ac, kc, bc, dgamma, dbeta, sums, rstd, gamma, N, F, H * W);
    /* Layouts (xsums_per_frame): the forward's xsums hold, per frame,
     * (F, C, 3, 3) sums of a1 - mean against x, F sums of a1 - mean, then
     * X (C, 3, 3) and the pixel count; the backward's (F, C, 3, 3) sums of
     * dh against x, then F sums of dh. */
    size_t taps = 9 * (size_t)C;
    size_t fper = xsums_per_frame(C, F), fx = (size_t)F * (taps + 1);
    size_t bper = (size_t)F * (taps + 1), bias = (size_t)F * taps;
    for (int f = 0; f < F; f++) {
        for (size_t t = 0; t <= taps; t++) {
            /* t < taps: weight (c, ky, kx) = t; t = taps: the bias */
            size_t id = t < taps ? f * taps + t : bias + f;
            size_t ix = fx + t;
            double sd = 0, se = 0, sx = 0;
            for (int n = 0; n < N; n++) {
                sd += xsums_backward[(size_t)n * bper + id];
                se += xsums_forward[(size_t)n * fper + id];
                sx += xsums_forward[(size_t)n * fper + ix];
            }
            double v = ac[f] * sd + kc[f] * se + bc[f] * sx;
            if (t < taps) dw[f * taps + t] += (float)v;
            else db[f] += (float)v;
        }
    }
}
