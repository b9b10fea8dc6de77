/*
 * conv_rows.c — the inner loops of the streamed convolutions (fused.c): one
 * output row of a 3x3 convolution for every output channel at once, and one
 * output row's share of the weight gradient, on padded rows (nn.h, "Vector
 * row kernels").
 *
 * Why written with vectors: the plain loops (conv3x3.c) go one (output,
 * input) channel pair at a time, so every input vector they load feeds at
 * most three multiply-adds and every row's nine weight-gradient sums are
 * reduced across lanes again and again. Here an input vector, once loaded,
 * feeds every output channel of its group (up to six, 12 accumulators in
 * registers), and the weight gradient keeps its sums as whole vectors for a
 * whole frame: lanes are added only once, at the end. GCC's and Clang's
 * vector extensions write the same code for AVX-512, AVX or SSE / NEON
 * (NN_VL lanes, nn.h); the plain loops of conv3x3.c stay the reference,
 * and tests/test_fused.c checks these against them.
 *
 * Order of sums (fixed, so results do not depend on threads): an output
 * value is bias, then input channels in order, taps in order; a weight
 * gradient's lane l sums the columns x = l (mod NN_VL) row after row, and
 * lanes are added in order at the end (conv_rows_dw_reduce).
 *
 * Letters: C input channels, O output channels, Wv = conv_rows_width(W).
 */
#include <string.h>

#include "nn/nn.h"

typedef float vf __attribute__((vector_size(NN_VL * sizeof(float))));
/* The same vector at any float alignment (the rows shifted by one column),
 * and allowed to alias the float arrays it is read from. */
typedef float vf_unaligned
    __attribute__((vector_size(NN_VL * sizeof(float)), aligned(sizeof(float)), may_alias));
typedef float vf_aliased __attribute__((vector_size(NN_VL * sizeof(float)), may_alias));

static inline vf load(const float *p) { return *(const vf_aliased *)p; }
static inline vf load_shifted(const float *p) { return *(const vf_unaligned *)p; }
static inline void store(float *p, vf v) { *(vf_aliased *)p = v; }

/* Columns per pass of the forward kernel: up to four vectors, so each
 * weight, broadcast once, feeds several multiply-adds. Rows are padded to a
 * multiple of it. */
#define FWD_STEP (4 * NN_VL)

size_t conv_rows_width(int W)
{
    return ((size_t)W + FWD_STEP - 1) / FWD_STEP * FWD_STEP;
}

/* Largest output group of the forward kernel: 6 channels x 2 vectors = 12
 * accumulators, which leaves registers for the loads on every target with
 * 16 or more vector registers. Groups of 3 or fewer take 4 vectors a pass
 * (12 accumulators again). */
#define FWD_GROUP 6

/* out[g] = b[o0 + g] + sum_c w[o0 + g, c] (*) in[c] for g < G, V vectors of
 * columns a pass. G and V are compile-time constants at each call
 * (fwd_group's switch), so the loops over g, v, ky and kx unroll and the
 * accumulators stay in registers. */
static inline __attribute__((always_inline)) void
fwd_group_body(float *const *out, const float *const *in, const float *w,
               const float *b, int o0, int C, size_t Wv, const int G, const int V)
{
    size_t ostride = (size_t)C * 9; /* w (O, C, 3, 3) */
    for (size_t x = 0; x < Wv; x += (size_t)V * NN_VL) {
        vf acc[FWD_GROUP][4];
        for (int g = 0; g < G; g++) {
            float bias = b ? b[o0 + g] : 0.0f;
            for (int v = 0; v < V; v++) acc[g][v] = (vf){0} + bias;
        }
        for (int c = 0; c < C; c++) {
            const float *wc = w + ((size_t)o0 * C + c) * 9;
            for (int ky = 0; ky < 3; ky++) {
                const float *row = in[3 * c + ky] + x - 1;
                for (int kx = 0; kx < 3; kx++) {
                    vf u[4];
                    for (int v = 0; v < V; v++) u[v] = load_shifted(row + kx + v * NN_VL);
                    for (int g = 0; g < G; g++) {
                        float k = wc[g * ostride + ky * 3 + kx];
                        for (int v = 0; v < V; v++) acc[g][v] += k * u[v];
                    }
                }
            }
        }
        for (int g = 0; g < G; g++)
            for (int v = 0; v < V; v++) store(out[o0 + g] + x + v * NN_VL, acc[g][v]);
    }
}

static void fwd_group(float *const *out, const float *const *in, const float *w,
                      const float *b, int o0, int C, size_t Wv, int G)
{
    switch (G) {
    case 1: fwd_group_body(out, in, w, b, o0, C, Wv, 1, 4); break;
    case 2: fwd_group_body(out, in, w, b, o0, C, Wv, 2, 4); break;
    case 3: fwd_group_body(out, in, w, b, o0, C, Wv, 3, 4); break;
    case 4: fwd_group_body(out, in, w, b, o0, C, Wv, 4, 2); break;
    case 5: fwd_group_body(out, in, w, b, o0, C, Wv, 5, 2); break;
    default: fwd_group_body(out, in, w, b, o0, C, Wv, 6, 2); break;
    }
}

void conv_rows_forward(float *const *out, const float *const *in, const float *w,
                       const float *b, int C, int O, size_t Wv)
{
    for (int o0 = 0; o0 < O; o0 += FWD_GROUP) {
        int G = O - o0 < FWD_GROUP ? O - o0 : FWD_GROUP;
        fwd_group(out, in, w, b, o0, C, Wv, G);
    }
}

/* Largest output group of the weight-gradient kernel: 3 channels x 9 taps =
 * 27 vector sums, the most that fit in 32 registers beside the loads. With
 * fewer registers (16: AVX, SSE) the compiler keeps some in memory; still
 * correct, a little slower. */
#define DW_GROUP 3

/* acc[(o C + c) 9 + t] += g[o] * in[3 c + ky] shifted by kx - 1 (t = 3 ky +
 * kx), for o = o0 .. o0 + G - 1 and one input channel c, G constant. */
static inline __attribute__((always_inline)) void
dw_group_body(vf *acc, const float *const *g, const float *const *in, int o0,
              int c, int C, size_t Wv, const int G)
{
    /* the row's sums start from zero in registers and are added to acc at
     * the end: copying acc in and out would cost as much as the row */
    vf s[DW_GROUP][9];
    for (int k = 0; k < G; k++)
        for (int t = 0; t < 9; t++) s[k][t] = (vf){0};
    const float *r0 = in[3 * c] - 1, *r1 = in[3 * c + 1] - 1, *r2 = in[3 * c + 2] - 1;
    for (size_t x = 0; x < Wv; x += NN_VL) {
        vf gv[DW_GROUP];
        for (int k = 0; k < G; k++) gv[k] = load(g[o0 + k] + x);
        for (int kx = 0; kx < 3; kx++) {
            vf u0 = load_shifted(r0 + x + kx), u1 = load_shifted(r1 + x + kx),
               u2 = load_shifted(r2 + x + kx);
            for (int k = 0; k < G; k++) {
                s[k][kx] += gv[k] * u0;
                s[k][3 + kx] += gv[k] * u1;
                s[k][6 + kx] += gv[k] * u2;
            }
        }
    }
    for (int k = 0; k < G; k++)
        for (int t = 0; t < 9; t++) acc[((size_t)(o0 + k) * C + c) * 9 + t] += s[k][t];
}

static void dw_group(vf *acc, const float *const *g, const float *const *in,
                     int o0, int c, int C, size_t Wv, int G)
{
    switch (G) {
    case 1: dw_group_body(acc, g, in, o0, c, C, Wv, 1); break;
    case 2: dw_group_body(acc, g, in, o0, c, C, Wv, 2); break;
    default: dw_group_body(acc, g, in, o0, c, C, Wv, 3); break;
    }
}

size_t conv_rows_dw_size(int C, int O)
{
    return ((size_t)O * C * 9 + O) * NN_VL;
}

void conv_rows_dw(float *acc, const float *const *g, const float *const *in,
                  int C, int O, size_t Wv)
{
    vf *va = (vf *)acc;
    for (int o0 = 0; o0 < O; o0 += DW_GROUP) {
        int G = O - o0 < DW_GROUP ? O - o0 : DW_GROUP;
        for (int c = 0; c < C; c++) dw_group(va, g, in, o0, c, C, Wv, G);
    }
    /* the bias gradient: the sum of g */
    vf *gs = va + (size_t)O * C * 9;
    for (int o = 0; o < O; o++) {
        vf s = gs[o];
        for (size_t x = 0; x < Wv; x += NN_VL) s += load(g[o] + x);
        gs[o] = s;
    }
}

void conv_rows_dw_reduce(float *part, const float *acc, int C, int O)
{
    size_t n = (size_t)O * C * 9 + O;
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int l = 0; l < NN_VL; l++) s += acc[i * NN_VL + l];
        part[i] = s;
    }
}
