/*
 * conv3x3.c — 3x3 convolution, stride 1, zero padding 1, written for the
 * few channels of the encoder (3 -> 6 -> 3). The work is organised by
 * image rows: each output row gets all nine taps of one input channel in a
 * single pass over W, a loop the compiler vectorises, so a row of inputs is
 * read from L1 once per (output, input) channel pair.
 *
 * Letters: N frames, C input channels, O output channels, H x W pixels.
 */
#include <assert.h>
#include <string.h>

#include "nn/nn.h"

/* Full-width AVX-512 vectors where the target has them: GCC's default for
 * these CPUs is 256 bits, which halves the throughput of the row loops. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#pragma GCC target("prefer-vector-width=512")
#endif

/* out[x] += sum_{dy,dx in -1..1} k[(dy+1)*3 + dx+1] * row_dy[x + dx] for one
 * row. r0 / r2 are the rows above / below, NULL outside the image. */
void conv3x3_row(float *restrict out, const float *r0, const float *r1,
                     const float *r2, const float *k, int W)
{
    float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5],
          k6 = k[6], k7 = k[7], k8 = k[8];
    /* A missing row contributes nothing: give it zero weights and let it
     * point at the middle row, which keeps the inner loop branch-free. */
    if (!r0) { r0 = r1; k0 = k1 = k2 = 0.0f; }
    if (!r2) { r2 = r1; k6 = k7 = k8 = 0.0f; }
    if (W == 1) {
        out[0] += k1 * r0[0] + k4 * r1[0] + k7 * r2[0];
        return;
    }
    out[0] += k1 * r0[0] + k2 * r0[1] + k4 * r1[0] + k5 * r1[1] +
              k7 * r2[0] + k8 * r2[1];
    for (int x = 1; x < W - 1; x++)
        out[x] += k0 * r0[x - 1] + k1 * r0[x] + k2 * r0[x + 1] +
                  k3 * r1[x - 1] + k4 * r1[x] + k5 * r1[x + 1] +
                  k6 * r2[x - 1] + k7 * r2[x] + k8 * r2[x + 1];
    int e = W - 1;
    out[e] += k0 * r0[e - 1] + k1 * r0[e] + k3 * r1[e - 1] + k4 * r1[e] +
              k6 * r2[e - 1] + k7 * r2[e];
}

/* One pixel x of out against the three rows with kernel k, zero outside
 * columns 0..W-1 (the edge columns of conv3x3_row3). */
static float conv_pixel(const float *r0, const float *r1, const float *r2,
                        const float *k, int x, int W)
{
    float s = 0;
    for (int dx = -1; dx <= 1; dx++) {
        int j = x + dx;
        if (j < 0 || j >= W) continue;
        s += k[dx + 1] * r0[j] + k[dx + 4] * r1[j] + k[dx + 7] * r2[j];
    }
    return s;
}

/* conv3x3_row for three output rows at once, sharing the loads of the
 * input rows: 27 FMAs for 9 loads, where one output row does 9 for 9. */
void conv3x3_row3(float *restrict o0, float *restrict o1,
                      float *restrict o2, const float *r0, const float *r1,
                      const float *r2, const float *ka, const float *kb,
                      const float *kc, int W)
{
    float k[3][9];
    for (int t = 0; t < 9; t++) { k[0][t] = ka[t]; k[1][t] = kb[t]; k[2][t] = kc[t]; }
    if (!r0) { r0 = r1; for (int i = 0; i < 3; i++) k[i][0] = k[i][1] = k[i][2] = 0.0f; }
    if (!r2) { r2 = r1; for (int i = 0; i < 3; i++) k[i][6] = k[i][7] = k[i][8] = 0.0f; }
    o0[0] += conv_pixel(r0, r1, r2, k[0], 0, W);
    o1[0] += conv_pixel(r0, r1, r2, k[1], 0, W);
    o2[0] += conv_pixel(r0, r1, r2, k[2], 0, W);
    if (W == 1) return;
    float a0 = k[0][0], a1 = k[0][1], a2 = k[0][2], a3 = k[0][3], a4 = k[0][4],
          a5 = k[0][5], a6 = k[0][6], a7 = k[0][7], a8 = k[0][8];
    float b0 = k[1][0], b1 = k[1][1], b2 = k[1][2], b3 = k[1][3], b4 = k[1][4],
          b5 = k[1][5], b6 = k[1][6], b7 = k[1][7], b8 = k[1][8];
    float c0 = k[2][0], c1 = k[2][1], c2 = k[2][2], c3 = k[2][3], c4 = k[2][4],
          c5 = k[2][5], c6 = k[2][6], c7 = k[2][7], c8 = k[2][8];
    for (int x = 1; x < W - 1; x++) {
        float u0 = r0[x - 1], u1 = r0[x], u2 = r0[x + 1];
        float v0 = r1[x - 1], v1 = r1[x], v2 = r1[x + 1];
        float w0 = r2[x - 1], w1 = r2[x], w2 = r2[x + 1];
        o0[x] += a0 * u0 + a1 * u1 + a2 * u2 + a3 * v0 + a4 * v1 + a5 * v2 +
                 a6 * w0 + a7 * w1 + a8 * w2;
        o1[x] += b0 * u0 + b1 * u1 + b2 * u2 + b3 * v0 + b4 * v1 + b5 * v2 +
                 b6 * w0 + b7 * w1 + b8 * w2;
        o2[x] += c0 * u0 + c1 * u1 + c2 * u2 + c3 * v0 + c4 * v1 + c5 * v2 +
                 c6 * w0 + c7 * w1 + c8 * w2;
    }
    o0[W - 1] += conv_pixel(r0, r1, r2, k[0], W - 1, W);
    o1[W - 1] += conv_pixel(r0, r1, r2, k[1], W - 1, W);
    o2[W - 1] += conv_pixel(r0, r1, r2, k[2], W - 1, W);
}

/* y[n,o] = b[o] + sum_c w[o,c] (*) x[n,c]; b may be NULL (zero bias).
 * Output channels go in groups of three (conv_row3) where O allows, one at
 * a time otherwise. With stats (not NULL), each output row's batch
 * statistics are added to its plane's (batchnorm_row_stats) while the row
 * is still in L1. */
static void conv_core(float *y, double *stats, const float *x, const float *w,
                      const float *b, int N, int C, int O, int H, int W)
{
    size_t plane = (size_t)H * W;
    int G = O % 3 == 0 ? 3 : 1, groups = O / G;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int grp = 0; grp < groups; grp++) {
            int o = grp * G;
            float *out = y + ((size_t)n * O + o) * plane;
            const float *in = x + (size_t)n * C * plane;
            if (stats)
                for (int g = 0; g < G; g++) {
                    double *st = stats + 3 * ((size_t)n * O + o + g);
                    st[0] = st[1] = st[2] = 0;
                }
            for (int r = 0; r < H; r++) {
                for (int g = 0; g < G; g++) {
                    float *orow = out + g * plane + (size_t)r * W;
                    float bias = b ? b[o + g] : 0.0f;
                    for (int j = 0; j < W; j++) orow[j] = bias;
                }
                float *orow = out + (size_t)r * W;
                for (int c = 0; c < C; c++) {
                    const float *r1 = in + c * plane + (size_t)r * W;
                    const float *r0 = r > 0 ? r1 - W : NULL, *r2 = r < H - 1 ? r1 + W : NULL;
                    if (G == 3)
                        conv3x3_row3(orow, orow + plane, orow + 2 * plane, r0, r1, r2,
                                  w + (o * C + c) * 9, w + ((o + 1) * C + c) * 9,
                                  w + ((o + 2) * C + c) * 9, W);
                    else
                        conv3x3_row(orow, r0, r1, r2, w + (o * C + c) * 9, W);
                }
                if (stats)
                    for (int g = 0; g < G; g++)
                        batchnorm_row_stats(stats + 3 * ((size_t)n * O + o + g),
                                            orow + g * plane, W);
            }
        }
    }
}

void conv3x3_forward_stats(float *y, double *stats, const float *x,
                           const float *w, const float *b, int N, int C, int O,
                           int H, int W)
{
    conv_core(y, stats, x, w, b, N, C, O, H, W);
}

void conv3x3_forward(float *y, const float *x, const float *w, const float *b,
                     int N, int C, int O, int H, int W)
{
    conv_core(y, NULL, x, w, b, N, C, O, H, W);
}

size_t conv3x3_work_size(int N, int C, int O)
{
    return (size_t)N * ((size_t)O * C * 9 + O);
}

/* The nine sums dw[ky*3+kx] += sum_x g[x] * row_ky[x + kx - 1] of one output
 * row g against the three input rows around it (NULL outside the image).
 * All nine in one pass over x: nine independent sums keep both FMA units
 * busy (three at a time would wait on the FMA latency), and g is loaded
 * once. A missing row is read in place of the middle one and its sums
 * dropped, which keeps the loop branch-free. */
void conv3x3_dw_row(float *acc, const float *g, const float *const rows[3], int W)
{
    const float *r1 = rows[1];
    const float *r0 = rows[0] ? rows[0] : r1, *r2 = rows[2] ? rows[2] : r1;
    float s[9];
    float a0 = 0, a1 = 0, a2 = 0, b0 = 0, b1 = 0, b2 = 0, c0 = 0, c1 = 0, c2 = 0;
    /* Interior columns x = 1 .. W - 2, indexed from 0 with one pointer a
     * tap: clang 14 does not take r[x - 1] + r[x] + r[x + 1] as nine
     * reductions, and then leaves the loop scalar. */
    const float *gi = g + 1;
    const float *r0l = r0, *r0m = r0 + 1, *r0r = r0 + 2;
    const float *r1l = r1, *r1m = r1 + 1, *r1r = r1 + 2;
    const float *r2l = r2, *r2m = r2 + 1, *r2r = r2 + 2;
#pragma omp simd reduction(+ : a0, a1, a2, b0, b1, b2, c0, c1, c2)
    for (int x = 0; x < W - 2; x++) {
        float gx = gi[x];
        a0 += gx * r0l[x]; a1 += gx * r0m[x]; a2 += gx * r0r[x];
        b0 += gx * r1l[x]; b1 += gx * r1m[x]; b2 += gx * r1r[x];
        c0 += gx * r2l[x]; c1 += gx * r2m[x]; c2 += gx * r2r[x];
    }
    s[0] = a0; s[1] = a1; s[2] = a2; s[3] = b0; s[4] = b1; s[5] = b2;
    s[6] = c0; s[7] = c1; s[8] = c2;
    const float *r[3] = {r0, r1, r2};
    for (int ky = 0; ky < 3; ky++) {
        if (!rows[ky]) continue;
        /* the two edge columns, each missing one neighbour */
        float e0 = s[ky * 3], e1 = s[ky * 3 + 1] + g[0] * r[ky][0], e2 = s[ky * 3 + 2];
        if (W > 1) {
            e2 += g[0] * r[ky][1];
            e0 += g[W - 1] * r[ky][W - 2];
            e1 += g[W - 1] * r[ky][W - 1];
        }
        acc[ky * 3 + 0] += e0;
        acc[ky * 3 + 1] += e1;
        acc[ky * 3 + 2] += e2;
    }
}

/* Sum the frames in order, in double: the same bits at any thread count. */
void conv3x3_work_reduce(float *dw, float *db, const float *work, int N, int C,
                         int O)
{
    size_t per = (size_t)O * C * 9 + O;
    for (size_t i = 0; i < per; i++) {
        double s = 0;
        for (int n = 0; n < N; n++) s += work[(size_t)n * per + i];
        if (i < (size_t)O * C * 9) dw[i] += (float)s;
        else db[i - (size_t)O * C * 9] += (float)s;
    }
}

void conv3x3_backward(float *dx, float *dw, float *db, const float *dy,
                      const float *x, const float *w, float *work, int N,
                      int C, int O, int H, int W)
{
    assert(C <= CONV3X3_MAXCH && O <= CONV3X3_MAXCH);
    size_t plane = (size_t)H * W;
    size_t per = (size_t)O * C * 9 + O; /* one frame's partial gradients */

    /* Weight and bias gradients, one frame per task into its own slot. */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *part = work + (size_t)n * per;
        memset(part, 0, per * sizeof *part);
        const float *in = x + (size_t)n * C * plane;
        for (int o = 0; o < O; o++) {
            const float *g = dy + ((size_t)n * O + o) * plane;
            float gsum = 0;
            for (int r = 0; r < H; r++) {
                const float *grow = g + (size_t)r * W;
#pragma omp simd reduction(+ : gsum)
                for (int j = 0; j < W; j++) gsum += grow[j];
                for (int c = 0; c < C; c++) {
                    const float *r1 = in + c * plane + (size_t)r * W;
                    const float *rows[3] = {r > 0 ? r1 - W : NULL, r1,
                                            r < H - 1 ? r1 + W : NULL};
                    conv3x3_dw_row(part + (o * C + c) * 9, grow, rows, W);
                }
            }
            part[(size_t)O * C * 9 + o] = gsum;
        }
    }
    conv3x3_work_reduce(dw, db, work, N, C, O);

    /* dx[n,c] = sum_o rot180(w[o,c]) (*) dy[n,o]: a forward convolution of
     * dy with the flipped, transposed kernel. */
    if (dx) {
        float wt[CONV3X3_MAXCH * CONV3X3_MAXCH * 9];
        for (int o = 0; o < O; o++)
            for (int c = 0; c < C; c++)
                for (int t = 0; t < 9; t++)
                    wt[(c * O + o) * 9 + t] = w[(o * C + c) * 9 + (8 - t)];
        conv_core(dx, NULL, dy, wt, NULL, N, O, C, H, W);
    }
}
