/*
 * moments.c — the second moments of a frame's 3x3 patches, from which the
 * first convolution's batch statistics and one of the two parts of its
 * weight gradient follow without a pass over the batch.
 *
 * Let P(p) be the patch of pixel p — x_c(p + t) for the C channels and
 * nine offsets t, zero outside the frame, in the weights' (C, 3, 3) order —
 * followed by a 1. The convolution's output is a_o(p) = u_o . P(p) with
 * u_o = (w_o, b_o), so with G = sum_p P(p) P(p)' ((9C + 1)^2 per frame):
 *
 *   sum_p a_o          = u_o . G[last]
 *   sum_p a_o^2        = u_o' G u_o
 *   sum_p (a_o - m) P  = G u_o - m G[last]
 *
 * G depends on the frame alone, not on the weights: a training run
 * computes it once per frame of its video (ssvae_train) and every step
 * reads it back, which costs (9C + 1)^2 doubles a frame instead of a pass
 * over the batch's pixels every step.
 *
 * x = q / 255 with q the byte, so G is 1 / 255^2 times a matrix of sums of
 * products of bytes, which are computed exactly: a product is below 2^16,
 * a float holds the sum of up to 256 of them exactly (256 * 255^2 < 2^24),
 * and those sums are added in double (exact below 2^53). G is therefore
 * the same whatever the order of the additions, the vector width or the
 * thread count.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#pragma GCC target("prefer-vector-width=512")
#endif

/* Columns whose byte products a float sums exactly: 256 * 255^2 < 2^24. */
#define EXACT_COLS 256
/* Zeros either side of a row: the column lags reach two columns out. */
#define PAD 2

size_t patch_moments_size(int C)
{
    size_t P = 9 * (size_t)C + 1;
    return P * P;
}

/* Row r of channel c of the frame as float bytes, into dst[0 .. W); the PAD
 * floats either side stay zero. */
static void byte_row(float *dst, const uint8_t *frame, int c, int C, int r, int W)
{
    const uint8_t *src = frame + (size_t)r * W * C + c;
    for (int j = 0; j < W; j++) dst[j] = src[(size_t)j * C];
}

/* sum_{t < W} a[t] b[t], exactly: floats over EXACT_COLS columns at a
 * time, then double. a[t], b[t] are bytes (or the zero padding). */
static double exact_dot(const float *a, const float *b, int W)
{
    double s = 0;
    for (int j0 = 0; j0 < W; j0 += EXACT_COLS) {
        int n = W - j0 < EXACT_COLS ? W - j0 : EXACT_COLS;
        float f = 0;
#pragma omp simd reduction(+ : f)
        for (int j = 0; j < n; j++) f += a[j0 + j] * b[j0 + j];
        s += f;
    }
    return s;
}

static double exact_sum(const float *a, int W)
{
    double s = 0;
    for (int j0 = 0; j0 < W; j0 += EXACT_COLS) {
        int n = W - j0 < EXACT_COLS ? W - j0 : EXACT_COLS;
        float f = 0;
#pragma omp simd reduction(+ : f)
        for (int j = 0; j < n; j++) f += a[j0 + j];
        s += f;
    }
    return s;
}

/* The patch entries of one image row come from 3C "base rows", row
 * r + ky - 1 of channel c for base index 3c + ky, each read at the three
 * column shifts kx - 1; entry (c, ky, kx) is 3 (3c + ky) + kx. Two entries'
 * product summed along the row depends on their shifts only through the
 * lag d = kx' - kx, up to the one column a shift pushes out of the frame:
 *   sum_j A(j + kx - 1) B(j + kx' - 1) = L(d) - [kx = 0] A(W-1) B(W-1+d)
 *                                             - [kx = 2] A(0) B(d),
 * L(d) = sum_{t < W} A(t) B(t + d), with A, B zero outside the row. So a
 * pair of base rows needs 5 sums along the row (3 for a row with itself),
 * not 9. */
void patch_moments(double *G, const uint8_t *frame, int C, int H, int W)
{
    assert(C >= 1 && C <= CONV3X3_MAXCH && H >= 1 && W >= 1);
    int T = 9 * C, P = T + 1, nb = 3 * C;
    size_t stride = (size_t)W + 2 * PAD;
    /* three rows per channel, as a ring */
    float *rows = calloc(3 * (size_t)C * stride, sizeof *rows);
    if (!rows) {
        fprintf(stderr, "ssvae: out of memory (patch moments of a %dx%d frame)\n", W, H);
        abort();
    }
    memset(G, 0, (size_t)P * P * sizeof *G);
    const float *base[3 * CONV3X3_MAXCH];
    for (int c = 0; c < C; c++) byte_row(rows + (size_t)c * 3 * stride + PAD, frame, c, C, 0, W);
    for (int r = 0; r < H; r++) {
        for (int c = 0; c < C; c++) {
            if (r + 1 < H)
                byte_row(rows + ((size_t)c * 3 + (r + 1) % 3) * stride + PAD, frame, c, C,
                         r + 1, W);
            for (int ky = 0; ky < 3; ky++) {
                int y = r + ky - 1;
                base[3 * c + ky] = y < 0 || y >= H
                                       ? NULL : rows + ((size_t)c * 3 + y % 3) * stride + PAD;
            }
        }
        for (int a = 0; a < nb; a++) {
            const float *A = base[a];
            if (!A) continue; /* a row outside the frame: all zero */
            double s = exact_sum(A, W);
            for (int kx = 0; kx < 3; kx++)
                G[(size_t)(3 * a + kx) * P + T] += s - (kx == 0 ? A[W - 1] : 0) -
                                                   (kx == 2 ? A[0] : 0);
            for (int b = a; b < nb; b++) {
                const float *B = base[b];
                if (!B) continue;
                for (int d = a == b ? 0 : -2; d <= 2; d++) {
                    double L = exact_dot(A, B + d, W);
                    for (int kx = 0; kx < 3; kx++) {
                        int kx2 = kx + d;
                        if (kx2 < 0 || kx2 > 2) continue;
                        double v = L;
                        if (kx == 0) v -= (double)A[W - 1] * B[W - 1 + d];
                        if (kx == 2) v -= (double)A[0] * B[d];
                        G[(size_t)(3 * a + kx) * P + 3 * b + kx2] += v;
                    }
                }
            }
        }
    }
    free(rows);
    /* bytes to x = q / 255, and the lower triangle from the upper */
    const double k1 = 1.0 / 255.0, k2 = k1 * k1;
    for (int i = 0; i < T; i++) {
        for (int k = i; k < T; k++) G[(size_t)k * P + i] = G[(size_t)i * P + k] *= k2;
        G[(size_t)T * P + i] = G[(size_t)i * P + T] *= k1;
    }
    G[(size_t)T * P + T] = (double)H * W;
}

void patch_moments_sum(double *sum, const double *const *moments, int N, int C)
{
    size_t n = patch_moments_size(C);
    memset(sum, 0, n * sizeof *sum);
    for (int f = 0; f < N; f++)
        for (size_t i = 0; i < n; i++) sum[i] += moments[f][i];
}

/* u = (w_o, b_o) in double. */
static void unit_weights(double *u, const float *w, const float *b, int o, int T)
{
    for (int i = 0; i < T; i++) u[i] = w[(size_t)o * T + i];
    u[T] = b[o];
}

/* gu = G u, G (P, P). */
static void gram_times(double *gu, const double *G, const double *u, int P)
{
    for (int i = 0; i < P; i++) {
        double s = 0;
        for (int k = 0; k < P; k++) s += G[(size_t)i * P + k] * u[k];
        gu[i] = s;
    }
}

void conv3x3_moment_stats(float *mean, float *rstd, float *var_unbiased,
                          const double *G, const float *w, const float *b,
                          int C, int O)
{
    int T = 9 * C, P = T + 1;
    double M = G[(size_t)T * P + T], u[9 * CONV3X3_MAXCH + 1], gu[9 * CONV3X3_MAXCH + 1];
    for (int o = 0; o < O; o++) {
        unit_weights(u, w, b, o, T);
        gram_times(gu, G, u, P);
        double s1 = 0, s2 = 0;
        for (int i = 0; i < P; i++) {
            s1 += u[i] * G[(size_t)T * P + i];
            s2 += u[i] * gu[i];
        }
        double mu = s1 / M, var = s2 / M - mu * mu;
        if (var < 0) var = 0; /* rounding, for a constant output */
        mean[o] = (float)mu;
        rstd[o] = (float)(1.0 / sqrt(var + BATCHNORM_EPS));
        if (var_unbiased) var_unbiased[o] = (float)(M > 1 ? var * M / (M - 1) : 0.0);
    }
}

void conv3x3_moment_sums(double *E, double *X, const double *G, const float *w,
                         const float *b, const float *mean, int C, int O)
{
    int T = 9 * C, P = T + 1;
    double u[9 * CONV3X3_MAXCH + 1], gu[9 * CONV3X3_MAXCH + 1];
    for (int i = 0; i < P; i++) X[i] = G[(size_t)T * P + i];
    for (int o = 0; o < O; o++) {
        unit_weights(u, w, b, o, T);
        gram_times(gu, G, u, P);
        for (int i = 0; i < P; i++) E[(size_t)o * P + i] = gu[i] - (double)mean[o] * X[i];
    }
}
