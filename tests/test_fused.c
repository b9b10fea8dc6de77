/*
 * test_fused.c — the fast paths against the plain reference: the vector
 * row kernels of src/nn/conv_rows.c against conv3x3.c's row loops on widths
 * around every multiple of the vector length; every fused kernel of
 * src/nn/fused.c (and the convolution with batch statistics) against the
 * composition of the plain layers of nn.h, on random shapes including
 * widths that are not multiples of the vector length (W = 37, 17, 1) and
 * single-row planes; and the vectorised exp against the C library's expf.
 *
 * The streamed passes compute sums in another order than the reference
 * (conv1's weight gradient from correlations summed before the batch
 * norm's coefficients are applied, and bn1's statistics from the frames'
 * patch moments, stream.c and moments.c), which the same tolerances cover.
 * The patch moments themselves are exact, and checked bit for bit against
 * sums of byte products in 64-bit integers.
 *
 * Tolerance: both paths compute in float from the same inputs; they differ
 * only in the order of float sums (per row and per plane here, per plane
 * there) and, for the sigmoid, by exp's own error (<= 2 ulp against expf's
 * <= 1). With values of order 1 and at most a few thousand terms a sum, the
 * reordering moves a result by a few float ulps of the largest partial
 * sum, so we accept |fused - ref| <= 1e-5 * (1 + max |ref|) for outputs and
 * 1e-4 relative for sums over a whole batch (gradients of gamma and beta,
 * statistics of data shifted far from zero, where the two-pass and
 * row-merged variances differ most).
 */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/nn.h"
#include "ssvae.h"

static ssvae_rng rng;

static float *rnd(size_t n, double lo, double hi)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * ssvae_rng_uniform(&rng));
    return a;
}

static double maxabs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m;
}

/* Worst |a - b| against tol * (1 + max |b|); one CHECK for the array. */
static void check_arrays(const char *what, const float *a, const float *b,
                         size_t n, double tol)
{
    double scale = 1 + maxabs(b, n), worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= worst)) { worst = e; at = i; }
    }
    CHECK(worst <= tol * scale, "%s: worst |diff| %.3g at %zu (%.9g vs %.9g), allowed %.3g",
          what, worst, at, a[at], b[at], tol * scale);
}

#define TOL 1e-5
#define TOL_SUM 1e-4

/* ulps between two finite floats of the same sign */
static int64_t ulps(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    return ia > ib ? (int64_t)ia - ib : (int64_t)ib - ia;
}

static void test_exp(void)
{
    int64_t worst = 0;
    float at = 0;
    for (int i = 0; i <= 2000000; i++) {
        float x = -87.0f + 175.0f * (float)i / 2000000.0f;
        int64_t u = ulps(nn_exp(x), expf(x));
        if (u > worst) { worst = u; at = x; }
    }
    CHECK(worst <= 2, "nn_exp: %lld ulps from expf at x = %.9g", (long long)worst, at);
    CHECK(nn_exp(0.0f) == 1.0f, "nn_exp(0) = %.9g", nn_exp(0.0f));
    CHECK(isnan(nn_exp(NAN)), "nn_exp(NaN) = %g", nn_exp(NAN));
    CHECK(nn_exp(-1000.0f) > 0 && nn_exp(-1000.0f) < 1e-37f, "nn_exp(-1000) = %g", nn_exp(-1000.0f));
    CHECK(nn_exp(1000.0f) > 1e38f, "nn_exp(1000) = %g", nn_exp(1000.0f));

    size_t n = 1001;
    float *x = rnd(n, -30, 30), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    x[0] = -100; x[1] = 100; x[2] = 0;
    sigmoid_forward_fast(a, x, n);
    sigmoid_forward(b, x, n);
    double worst_rel = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (b[i] > 1e-30f ? b[i] : 1e-30f);
        if (e > worst_rel) worst_rel = e;
    }
    /* 2 ulp of exp reach y = 1 / (1 + e) as at most 2 ulp, plus the divide */
    CHECK(worst_rel <= 4 * FLT_EPSILON, "sigmoid_forward_fast: relative error %.3g", worst_rel);
    free(x); free(a); free(b);
}

/* The vector row kernels of conv_rows.c against the plain row loops of
 * conv3x3.c (the reference), on widths around every multiple of the
 * vector length and of the forward kernel's step, for channel counts that
 * fill the output groups and leave remainders. Rows are padded as nn.h
 * asks (aligned, zeros either side and past W); the rows above and below
 * include the zero row a frame's edge reads. Same terms, another order:
 * |fast - ref| <= 1e-5 (1 + max |ref|) (see the top of this file). */
static void test_row_kernels(int C, int O, int W)
{
    size_t Wv = conv_rows_width(W), stride = Wv + 2 * NN_VL;
    CHECK(Wv >= (size_t)W && Wv % NN_VL == 0, "conv_rows_width(%d) = %zu", W, Wv);
    int nrows = 3 * C + 2 * O + 1;
    float *buf = aligned_alloc(64, ((size_t)nrows * stride * sizeof(float) + 63) / 64 * 64);
    memset(buf, 0, (size_t)nrows * stride * sizeof(float));
    const float *in[3 * CONV3X3_MAXCH], *g[CONV3X3_MAXCH];
    float *out[CONV3X3_MAXCH], *zero = buf + NN_VL + (size_t)(nrows - 1) * stride;
    for (int i = 0; i < 3 * C; i++) {
        float *row = buf + NN_VL + (size_t)i * stride;
        for (int j = 0; j < W; j++) row[j] = (float)(ssvae_rng_uniform(&rng) * 2 - 1);
        in[i] = row;
    }
    in[0] = zero; /* the first channel's row above is outside the frame */
    for (int o = 0; o < O; o++) {
        out[o] = buf + NN_VL + (size_t)(3 * C + o) * stride;
        float *gr = buf + NN_VL + (size_t)(3 * C + O + o) * stride;
        for (int j = 0; j < W; j++) gr[j] = (float)(ssvae_rng_uniform(&rng) * 2 - 1);
        g[o] = gr;
    }
    float *w = rnd((size_t)O * C * 9, -1, 1), *b = rnd(O, -1, 1);
    float *ref = malloc((size_t)W * sizeof *ref);
    char what[96];

    conv_rows_forward(out, in, w, b, C, O, Wv);
    for (int o = 0; o < O; o++) {
        for (int j = 0; j < W; j++) ref[j] = b[o];
        for (int c = 0; c < C; c++)
            conv3x3_row(ref, in[3 * c] == zero ? NULL : in[3 * c], in[3 * c + 1], in[3 * c + 2],
                        w + ((size_t)o * C + c) * 9, W);
        snprintf(what, sizeof what, "conv_rows_forward C=%d O=%d W=%d o=%d", C, O, W, o);
        check_arrays(what, out[o], ref, W, TOL);
    }

    size_t nacc = conv_rows_dw_size(C, O), npart = (size_t)O * C * 9 + O;
    float *acc = aligned_alloc(64, (nacc * sizeof(float) + 63) / 64 * 64);
    float *part = malloc(npart * sizeof *part), *want = calloc(npart, sizeof *want);
    memset(acc, 0, nacc * sizeof(float));
    conv_rows_dw(acc, g, in, C, O, Wv);
    conv_rows_dw(acc, g, in, C, O, Wv); /* twice: the sums accumulate */
    conv_rows_dw_reduce(part, acc, C, O);
    for (int o = 0; o < O; o++) {
        for (int c = 0; c < C; c++) {
            const float *rows[3] = {in[3 * c] == zero ? NULL : in[3 * c], in[3 * c + 1],
                                    in[3 * c + 2]};
            for (int k = 0; k < 2; k++)
                conv3x3_dw_row(want + ((size_t)o * C + c) * 9, g[o], rows, W);
        }
        for (int j = 0; j < W; j++) want[(size_t)O * C * 9 + o] += 2 * g[o][j];
    }
    snprintf(what, sizeof what, "conv_rows_dw C=%d O=%d W=%d", C, O, W);
    check_arrays(what, part, want, npart, TOL);
    free(buf); free(w); free(b); free(ref); free(acc); free(part); free(want);
}

/* Reference statistics: batchnorm_forward_train's mean, rstd, var. */
static void check_stats(const char *what, const double *stats, const float *x,
                        int N, int C, int HW)
{
    size_t n = (size_t)N * C * HW;
    float *y = malloc(n * sizeof *y), one[CONV3X3_MAXCH], zero[CONV3X3_MAXCH];
    float m0[CONV3X3_MAXCH], r0[CONV3X3_MAXCH], v0[CONV3X3_MAXCH];
    float m1[CONV3X3_MAXCH], r1[CONV3X3_MAXCH], v1[CONV3X3_MAXCH];
    double *work = malloc(batchnorm_work_size(N, C) * sizeof *work);
    for (int c = 0; c < C; c++) { one[c] = 1; zero[c] = 0; }
    batchnorm_forward_train(y, m0, r0, v0, x, one, zero, work, N, C, HW);
    batchnorm_stats_finish(m1, r1, v1, stats, N, C, HW);
    char name[128];
    snprintf(name, sizeof name, "%s mean", what);
    check_arrays(name, m1, m0, C, TOL);
    for (int c = 0; c < C; c++) {
        CHECK_CLOSE(r1[c], r0[c], 0, TOL_SUM);
        CHECK_CLOSE(v1[c], v0[c], 0, TOL_SUM);
    }
    free(y); free(work);
}

static void test_conv_stats(int N, int C, int O, int H, int W)
{
    int HW = H * W;
    float *x = rnd((size_t)N * C * HW, -1, 1), *w = rnd((size_t)O * C * 9, -0.5, 0.5);
    float *b = rnd(O, -1, 1);
    float *y0 = malloc((size_t)N * O * HW * sizeof *y0), *y1 = malloc((size_t)N * O * HW * sizeof *y1);
    double *st = malloc(batchnorm_stats_size(N, O) * sizeof *st);
    conv3x3_forward(y0, x, w, b, N, C, O, H, W);
    conv3x3_forward_stats(y1, st, x, w, b, N, C, O, H, W);
    check_arrays("conv3x3_forward_stats y", y1, y0, (size_t)N * O * HW, 0);
    check_stats("conv3x3_forward_stats", st, y0, N, O, HW);
    /* the same statistics from batchnorm_plane_stats, on data far from 0 */
    for (size_t i = 0; i < (size_t)N * O * HW; i++) y0[i] = 100 + y0[i];
    batchnorm_plane_stats(st, y0, N, O, H, W);
    check_stats("batchnorm_plane_stats (offset 100)", st, y0, N, O, HW);
    free(x); free(w); free(b); free(y0); free(y1); free(st);
}

/* Forward: bn_relu_forward and bn_sigmoid_com_forward (training and
 * evaluation affine) against batch norm, then the activation, then com. */
static void test_forward(int N, int C, int H, int W)
{
    int HW = H * W;
    size_t n = (size_t)N * C * HW;
    float *x = rnd(n, -2, 3), *g = rnd(C, 0.5, 2), *be = rnd(C, -1, 1);
    float *rm = rnd(C, -1, 1), *rv = rnd(C, 0.2, 3);
    float *y0 = malloc(n * sizeof *y0), *y1 = malloc(n * sizeof *y1);
    float mean[CONV3X3_MAXCH], rstd[CONV3X3_MAXCH], sc[CONV3X3_MAXCH], sh[CONV3X3_MAXCH];
    double *work = malloc(batchnorm_work_size(N, C) * sizeof *work);
    float *z0 = malloc((size_t)N * 2 * C * sizeof *z0), *z1 = malloc((size_t)N * 2 * C * sizeof *z1);
    float *m0 = malloc((size_t)N * C * sizeof *m0), *m1 = malloc((size_t)N * C * sizeof *m1);
    for (int mode = 0; mode < 2; mode++) {
        if (mode == 0) {
            batchnorm_forward_train(y0, mean, rstd, NULL, x, g, be, work, N, C, HW);
            batchnorm_affine(sc, sh, mean, rstd, g, be, C);
        } else {
            batchnorm_forward_eval(y0, x, g, be, rm, rv, N, C, HW);
            batchnorm_affine_eval(sc, sh, g, be, rm, rv, C);
        }
        float *t = malloc(n * sizeof *t);
        memcpy(t, y0, n * sizeof *t);
        relu_forward(y0, t, n);
        bn_relu_forward(y1, x, sc, sh, N, C, HW);
        check_arrays(mode ? "bn_relu_forward (eval)" : "bn_relu_forward", y1, y0, n, TOL);
        sigmoid_forward(y0, t, n);
        com_forward(z0, m0, y0, N, C, H, W);
        bn_sigmoid_com_forward(y1, z1, m1, NULL, x, sc, sh, NULL, N, C, H, W);
        check_arrays("bn_sigmoid_com_forward s", y1, y0, n, TOL);
        check_arrays("bn_sigmoid_com_forward z", z1, z0, (size_t)N * 2 * C, TOL);
        check_arrays("bn_sigmoid_com_forward mass", m1, m0, (size_t)N * C, TOL);
        bn_sigmoid_com_forward(NULL, z1, m1, NULL, x, sc, sh, NULL, N, C, H, W); /* no s */
        check_arrays("bn_sigmoid_com_forward z (no s)", z1, z0, (size_t)N * 2 * C, TOL);
        check_arrays("bn_sigmoid_com_forward mass (no s)", m1, m0, (size_t)N * C, TOL);
        free(t);
    }
    free(x); free(g); free(be); free(rm); free(rv); free(y0); free(y1); free(work);
    free(z0); free(z1); free(m0); free(m1);
}

/* Backward: com_grad (from the forward's sums) and com_sigmoid_bn_backward
 * against com_backward, sigmoid_backward and batchnorm_backward after a
 * training forward pass; the sums with s stored and without. */
static void test_backward(int N, int C, int H, int W)
{
    int HW = H * W;
    size_t n = (size_t)N * C * HW;
    float *x = rnd(n, -2, 3), *g = rnd(C, 0.5, 2), *be = rnd(C, -1, 1);
    float mean[CONV3X3_MAXCH], rstd[CONV3X3_MAXCH], sc[CONV3X3_MAXCH], sh[CONV3X3_MAXCH];
    float *y = malloc(n * sizeof *y), *s = malloc(n * sizeof *s), *s1 = malloc(n * sizeof *s1);
    double *work = malloc(batchnorm_work_size(N, C) * sizeof *work);
    double *sums = malloc((size_t)N * C * COM_SUMS * sizeof *sums);
    double *sums1 = malloc((size_t)N * C * COM_SUMS * sizeof *sums1);
    float *z = malloc((size_t)N * 2 * C * sizeof *z), *mass = malloc((size_t)N * C * sizeof *mass);
    float *z1 = malloc((size_t)N * 2 * C * sizeof *z1), *mass1 = malloc((size_t)N * C * sizeof *mass1);
    float *plane = malloc((size_t)N * C * 3 * sizeof *plane);
    float *dz = rnd((size_t)N * 2 * C, -1, 1);
    float *dx0 = malloc(n * sizeof *dx0), *dx1 = malloc(n * sizeof *dx1);
    float *dg0 = calloc(C, sizeof(float)), *db0 = calloc(C, sizeof(float));
    float *dg1 = calloc(C, sizeof(float)), *db1 = calloc(C, sizeof(float));
    batchnorm_forward_train(y, mean, rstd, NULL, x, g, be, work, N, C, HW);
    sigmoid_forward(s, y, n);
    com_forward(z, mass, s, N, C, H, W);

    com_backward(dx0, dz, z, mass, N, C, H, W);
    sigmoid_backward(dx0, dx0, s, n);
    batchnorm_backward(dx0, dg0, db0, dx0, x, mean, rstd, g, work, N, C, HW);
    batchnorm_affine(sc, sh, mean, rstd, g, be, C);
    bn_sigmoid_com_forward(NULL, z1, mass1, sums, x, sc, sh, mean, N, C, H, W);
    check_arrays("bn_sigmoid_com_forward z (sums)", z1, z, (size_t)N * 2 * C, TOL);
    bn_sigmoid_com_forward(s1, z1, mass1, sums1, x, sc, sh, mean, N, C, H, W);
    CHECK(memcmp(sums, sums1, (size_t)N * C * COM_SUMS * sizeof *sums) == 0,
          "bn_sigmoid_com_forward: the sums differ with s stored");
    com_grad cg;
    com_grad_init(&cg, plane, dg1, db1, dz, z1, mass1, sums, sc, sh, mean, rstd, g, N, C, H, W);
    com_sigmoid_bn_backward(dx1, &cg, x, N);
    check_arrays("com_sigmoid_bn_backward dx", dx1, dx0, n, TOL);
    for (int c = 0; c < C; c++) {
        CHECK_CLOSE(dg1[c], dg0[c], TOL, TOL_SUM);
        CHECK_CLOSE(db1[c], db0[c], TOL, TOL_SUM);
    }
    free(x); free(g); free(be); free(y); free(s); free(s1); free(work); free(sums); free(sums1);
    free(z); free(mass); free(z1); free(mass1); free(plane); free(dz); free(dx0); free(dx1);
    free(dg0); free(db0); free(dg1); free(db1);
}

/* Per-plane sums (N, C, 2) of g: sum g, sum g (a - mean), in double. */
static void plane_sums(double *sums, const float *g, const float *a,
                       const float *mean, int N, int C, int HW)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            const float *gp = g + ((size_t)n * C + c) * HW, *ap = a + ((size_t)n * C + c) * HW;
            double t = 0, tx = 0;
            for (int i = 0; i < HW; i++) {
                t += gp[i];
                tx += (double)gp[i] * (ap[i] - mean[c]);
            }
            sums[2 * ((size_t)n * C + c)] = t;
            sums[2 * ((size_t)n * C + c) + 1] = tx;
        }
}

/* x (N, C, H, W) = q / 255 of frames (H, W, C) bytes, as a video holds
 * them. */
static void frames_to_planes(float *x, const uint8_t *const *frames, int N, int C, int HW)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < HW; i++)
                x[((size_t)n * C + c) * HW + i] = frames[n][(size_t)i * C + c] * (1.0f / 255.0f);
}

/* patch_moments against the sums of products of bytes in 64-bit integers,
 * scaled the same way: equal bit for bit (both exact before the scaling);
 * then the statistics and sums taken from moments against
 * batchnorm_forward_train and direct sums over conv3x3_forward's output. */
static void test_moments(int N, int C, int O, int H, int W)
{
    int HW = H * W, T = 9 * C, P = T + 1;
    size_t size = patch_moments_size(C), nx = (size_t)N * C * HW;
    CHECK(size == (size_t)P * P, "patch_moments_size(%d) = %zu", C, size);
    uint8_t *bytes = malloc(nx);
    for (size_t i = 0; i < nx; i++) bytes[i] = (uint8_t)ssvae_rng_below(&rng, 256);
    if (N > 1) memset(bytes, 255, (size_t)HW * C); /* the largest products, frame 0 */
    const uint8_t **frames = malloc((size_t)N * sizeof *frames);
    const double **mom = malloc((size_t)N * sizeof *mom);
    double *G = malloc((size_t)N * size * sizeof *G), *ref = malloc(size * sizeof *ref);
    int64_t *S = malloc(size * sizeof *S);
    int mismatches = 0;
    for (int n = 0; n < N; n++) {
        frames[n] = bytes + (size_t)n * HW * C;
        mom[n] = G + (size_t)n * size;
        patch_moments(G + (size_t)n * size, frames[n], C, H, W);
        memset(S, 0, size * sizeof *S);
        int64_t q[9 * CONV3X3_MAXCH + 1];
        for (int r = 0; r < H; r++)
            for (int j = 0; j < W; j++) {
                for (int c = 0; c < C; c++)
                    for (int t = 0; t < 9; t++) {
                        int y = r + t / 3 - 1, x = j + t % 3 - 1;
                        q[c * 9 + t] = y < 0 || y >= H || x < 0 || x >= W
                                           ? 0 : frames[n][((size_t)y * W + x) * C + c];
                    }
                for (int i = 0; i < T; i++) {
                    for (int k = 0; k < T; k++) S[(size_t)i * P + k] += q[i] * q[k];
                    S[(size_t)i * P + T] += q[i];
                }
            }
        for (int i = 0; i < T; i++) {
            for (int k = 0; k < T; k++) ref[(size_t)i * P + k] = S[(size_t)i * P + k] * (1.0 / 255.0 * (1.0 / 255.0));
            ref[(size_t)i * P + T] = ref[(size_t)T * P + i] = S[(size_t)i * P + T] * (1.0 / 255.0);
        }
        ref[(size_t)T * P + T] = HW;
        mismatches += memcmp(ref, G + (size_t)n * size, size * sizeof *ref) != 0;
    }
    CHECK(mismatches == 0, "patch_moments N=%d C=%d %dx%d: %d frames differ from the exact sums",
          N, C, H, W, mismatches);

    /* statistics and sums of the convolution's output */
    float *x = malloc(nx * sizeof *x), *w = rnd((size_t)O * T, -0.5, 0.5), *b = rnd(O, -0.5, 0.5);
    float *a = malloc((size_t)N * O * HW * sizeof *a), *y = malloc((size_t)N * O * HW * sizeof *y);
    frames_to_planes(x, frames, N, C, HW);
    conv3x3_forward(a, x, w, b, N, C, O, H, W);
    double *sum = malloc(size * sizeof *sum), *bw = malloc(batchnorm_work_size(N, O) * sizeof *bw);
    patch_moments_sum(sum, mom, N, C);
    float one[CONV3X3_MAXCH], zero[CONV3X3_MAXCH], m0[CONV3X3_MAXCH], r0[CONV3X3_MAXCH];
    float v0[CONV3X3_MAXCH], m1[CONV3X3_MAXCH], r1[CONV3X3_MAXCH], v1[CONV3X3_MAXCH];
    for (int o = 0; o < O; o++) { one[o] = 1; zero[o] = 0; }
    batchnorm_forward_train(y, m0, r0, v0, a, one, zero, bw, N, O, HW);
    conv3x3_moment_stats(m1, r1, v1, sum, w, b, C, O);
    check_arrays("conv3x3_moment_stats mean", m1, m0, O, TOL);
    for (int o = 0; o < O; o++) {
        CHECK_CLOSE(r1[o], r0[o], 0, TOL_SUM);
        CHECK_CLOSE(v1[o], v0[o], 0, TOL_SUM);
    }
    double E[CONV3X3_MAXCH * (9 * CONV3X3_MAXCH + 1)], X[9 * CONV3X3_MAXCH + 1];
    conv3x3_moment_sums(E, X, sum, w, b, m1, C, O);
    for (int i = 0; i < P; i++) {
        /* X: the sum of patch entry i (the last, 1: the pixel count) */
        double sx = 0, se[CONV3X3_MAXCH] = {0};
        for (int n = 0; n < N; n++)
            for (int p = 0; p < HW; p++) {
                double v = 1;
                if (i < T) {
                    int c = i / 9, t = i % 9, r = p / W + t / 3 - 1, j = p % W + t % 3 - 1;
                    v = r < 0 || r >= H || j < 0 || j >= W ? 0 : x[((size_t)n * C + c) * HW + r * W + j];
                }
                sx += v;
                for (int o = 0; o < O; o++) se[o] += v * (a[((size_t)n * O + o) * HW + p] - (double)m1[o]);
            }
        CHECK_CLOSE(X[i], sx, 1e-9, 1e-6);
        for (int o = 0; o < O; o++) CHECK_CLOSE(E[(size_t)o * P + i], se[o], 1e-4, TOL_SUM);
    }
    free(bytes); free(frames); free(mom); free(G); free(ref); free(S); free(x); free(w); free(b);
    free(a); free(y); free(sum); free(bw);
}

/* The streamed convolutions against the plain layers: the forward from
 * bytes (conv, batch norm + ReLU, conv, with statistics), and the backward
 * passes against conv3x3_backward, relu_backward, batchnorm_backward,
 * conv3x3_backward. The network is bytes (N, C) -> conv -> a (N, F) ->
 * bn, relu -> h -> conv -> y (N, O), with bn's statistics from the patch
 * moments (checked in test_moments) on both sides, and dy the gradient at
 * y: given as a plane, and made by com_grad from y as the encoder does
 * (checked bit for bit against the same gradient given as a plane,
 * com_sigmoid_bn_backward's). */
static void test_streamed(int N, int C, int F, int O, int H, int W)
{
    int HW = H * W;
    size_t nx = (size_t)N * C * HW, na = (size_t)N * F * HW, ny = (size_t)N * O * HW;
    uint8_t *bytes = malloc(nx);
    for (size_t i = 0; i < nx; i++) bytes[i] = (uint8_t)ssvae_rng_below(&rng, 256);
    const uint8_t **frames = malloc((size_t)N * sizeof *frames);
    const double **mom = malloc((size_t)N * sizeof *mom);
    size_t msize = patch_moments_size(C);
    double *G = malloc((size_t)N * msize * sizeof *G), *Gsum = malloc(msize * sizeof *Gsum);
    for (int n = 0; n < N; n++) {
        frames[n] = bytes + (size_t)n * HW * C;
        mom[n] = G + (size_t)n * msize;
        patch_moments(G + (size_t)n * msize, frames[n], C, H, W);
    }
    patch_moments_sum(Gsum, mom, N, C);
    float *x = malloc(nx * sizeof *x);
    frames_to_planes(x, frames, N, C, HW);
    float *w1 = rnd((size_t)F * C * 9, -0.5, 0.5), *b1 = rnd(F, -0.5, 0.5);
    float *w2 = rnd((size_t)O * F * 9, -0.5, 0.5), *b2 = rnd(O, -0.5, 0.5);
    float *ga = rnd(F, 0.5, 2), *be = rnd(F, -1, 1), *dy = rnd(ny, -1, 1);
    float *a0 = malloc(na * sizeof *a0), *h = malloc(na * sizeof *h);
    float *y0 = malloc(ny * sizeof *y0), *y1 = malloc(ny * sizeof *y1);
    float *g0 = malloc(na * sizeof *g0);
    float *rows = malloc(fused_rows_size(N, C, F, O, W) * sizeof *rows);
    int CF = C > F ? C : F, FO = F > O ? F : O;
    float *work = malloc(conv3x3_work_size(N, CF, FO) * sizeof *work);
    float *xs = malloc(fused_xsums_size(N, C, F) * sizeof *xs);
    double *st0 = malloc(batchnorm_stats_size(N, FO) * sizeof *st0);
    double *st1 = malloc(batchnorm_stats_size(N, FO) * sizeof *st1);
    double *bw = malloc(batchnorm_work_size(N, F) * sizeof *bw);
    double *sums0 = malloc(fused_backward_work_size(N, F) * sizeof *sums0);
    double *sums = malloc(fused_backward_work_size(N, F) * sizeof *sums);
    float mean[CONV3X3_MAXCH], rstd[CONV3X3_MAXCH], sc[CONV3X3_MAXCH], sh[CONV3X3_MAXCH];

    /* forward: bytes -> a -> bn, relu -> h -> conv -> y, with statistics */
    conv3x3_moment_stats(mean, rstd, NULL, Gsum, w1, b1, C, F);
    batchnorm_affine(sc, sh, mean, rstd, ga, be, F);
    conv3x3_forward(a0, x, w1, b1, N, C, F, H, W);
    bn_relu_forward(h, a0, sc, sh, N, F, HW);
    conv3x3_forward_stats(y0, st0, h, w2, b2, N, F, O, H, W);
    conv_bn_relu_conv_forward(y1, NULL, frames, w1, b1, sc, sh, w2, b2, rows, N, C, F, O, H, W);
    check_arrays("conv_bn_relu_conv_forward y (no stats)", y1, y0, ny, TOL);
    conv_bn_relu_conv_forward(y1, st1, frames, w1, b1, sc, sh, w2, b2, rows, N, C, F, O, H, W);
    check_arrays("conv_bn_relu_conv_forward y", y1, y0, ny, TOL);
    check_stats("conv_bn_relu_conv_forward", st1, y0, N, O, HW);

    /* backward through conv2 and the ReLU: weight gradients and bn1's sums */
    float *dw0 = calloc((size_t)O * F * 9, sizeof(float)), *db0 = calloc(O, sizeof(float));
    float *dw1 = calloc((size_t)O * F * 9, sizeof(float)), *db1 = calloc(O, sizeof(float));
    conv3x3_backward(g0, dw0, db0, dy, h, w2, work, N, F, O, H, W);
    relu_backward(g0, g0, h, na);
    plane_sums(sums0, g0, a0, mean, N, F, HW);
    conv_bn_relu_conv_backward(sums, dw1, db1, xs, dy, NULL, frames, w1, b1, sc, sh, mean, w2,
                               work, rows, N, C, F, O, H, W);
    check_arrays("conv_bn_relu_conv_backward dw", dw1, dw0, (size_t)O * F * 9, TOL_SUM);
    check_arrays("conv_bn_relu_conv_backward db", db1, db0, O, TOL_SUM);
    for (int i = 0; i < N * F; i++) {
        CHECK_CLOSE(sums[2 * i], sums0[2 * i], TOL, TOL_SUM);
        CHECK_CLOSE(sums[2 * i + 1], sums0[2 * i + 1], TOL, TOL_SUM);
    }

    /* the rest of bn1's backward into conv1's weight gradient */
    float *dg0 = calloc(F, sizeof(float)), *dbe0 = calloc(F, sizeof(float));
    float *dg1 = calloc(F, sizeof(float)), *dbe1 = calloc(F, sizeof(float));
    float *dv0 = calloc((size_t)F * C * 9, sizeof(float)), *dc0 = calloc(F, sizeof(float));
    float *dv1 = calloc((size_t)F * C * 9, sizeof(float)), *dc1 = calloc(F, sizeof(float));
    batchnorm_backward(g0, dg0, dbe0, g0, a0, mean, rstd, ga, bw, N, F, HW);
    conv3x3_backward(NULL, dv0, dc0, g0, x, w1, work, N, C, F, H, W);
    bn_conv3x3_backward_finish(dv1, dc1, dg1, dbe1, sums, Gsum, w1, b1, mean, xs, rstd, ga, N, C,
                               F, H, W);
    check_arrays("bn_conv3x3_backward_finish dgamma", dg1, dg0, F, TOL_SUM);
    check_arrays("bn_conv3x3_backward_finish dbeta", dbe1, dbe0, F, TOL_SUM);
    check_arrays("bn_conv3x3_backward_finish dw", dv1, dv0, (size_t)F * C * 9, TOL_SUM);
    check_arrays("bn_conv3x3_backward_finish db", dc1, dc0, F, TOL_SUM);

    /* dy made from y by com_grad, as the encoder's backward makes it */
    float *g2 = rnd(O, 0.5, 2), *be2 = rnd(O, -1, 1), *dz = rnd((size_t)N * 2 * O, -1, 1);
    float m2[CONV3X3_MAXCH], r2[CONV3X3_MAXCH], sc2[CONV3X3_MAXCH], sh2[CONV3X3_MAXCH];
    float *z = malloc((size_t)N * 2 * O * sizeof *z), *mass = malloc((size_t)N * O * sizeof *mass);
    float *plane = malloc((size_t)N * O * 3 * sizeof *plane), *dyc = malloc(ny * sizeof *dyc);
    double *csums = malloc((size_t)N * O * COM_SUMS * sizeof *csums);
    float *gb2 = calloc(O, sizeof(float)), *bb2 = calloc(O, sizeof(float));
    batchnorm_stats_finish(m2, r2, NULL, st1, N, O, HW);
    batchnorm_affine(sc2, sh2, m2, r2, g2, be2, O);
    bn_sigmoid_com_forward(NULL, z, mass, csums, y1, sc2, sh2, m2, N, O, H, W);
    com_grad cg;
    com_grad_init(&cg, plane, gb2, bb2, dz, z, mass, csums, sc2, sh2, m2, r2, g2, N, O, H, W);
    com_sigmoid_bn_backward(dyc, &cg, y1, N);
    float *p[2][8];
    for (int k = 0; k < 2; k++) {
        p[k][0] = calloc((size_t)O * F * 9, sizeof(float)); p[k][1] = calloc(O, sizeof(float));
        p[k][2] = calloc((size_t)F * C * 9, sizeof(float)); p[k][3] = calloc(F, sizeof(float));
        p[k][4] = calloc(F, sizeof(float)); p[k][5] = calloc(F, sizeof(float));
        p[k][6] = malloc(fused_backward_work_size(N, F) * sizeof(double));
        conv_bn_relu_conv_backward((double *)p[k][6], p[k][0], p[k][1], xs, k ? y1 : dyc,
                                   k ? &cg : NULL, frames, w1, b1, sc, sh, mean, w2, work, rows,
                                   N, C, F, O, H, W);
        bn_conv3x3_backward_finish(p[k][2], p[k][3], p[k][4], p[k][5], (double *)p[k][6], Gsum,
                                   w1, b1, mean, xs, rstd, ga, N, C, F, H, W);
    }
    size_t len[] = {(size_t)O * F * 9, O, (size_t)F * C * 9, F, F, F,
                    fused_backward_work_size(N, F) * 2};
    for (int i = 0; i < 7; i++)
        CHECK(memcmp(p[0][i], p[1][i], len[i] * sizeof(float)) == 0,
              "streamed backward, dy from com_grad: output %d differs from dy given", i);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 7; i++) free(p[k][i]);

    free(bytes); free(frames); free(mom); free(G); free(Gsum); free(x); free(xs);
    free(w1); free(b1); free(w2); free(b2); free(ga); free(be); free(dy);
    free(a0); free(h); free(y0); free(y1); free(g0); free(rows);
    free(work); free(st0); free(st1); free(bw); free(sums0); free(sums);
    free(dw0); free(db0); free(dw1); free(db1); free(dg0); free(dbe0); free(dg1); free(dbe1);
    free(dv0); free(dc0); free(dv1); free(dc1);
    free(g2); free(be2); free(dz); free(z); free(mass); free(plane); free(dyc); free(csums);
    free(gb2); free(bb2);
}

int main(void)
{
    ssvae_rng_seed(&rng, 20240611);
    test_exp();
    static const int widths[] = {1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 256};
    static const int chans[][2] = {{3, 6}, {6, 3}, {1, 1}, {2, 7}, {5, 4}, {4, 13}};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
        for (size_t k = 0; k < sizeof chans / sizeof *chans; k++)
            test_row_kernels(chans[k][0], chans[k][1], widths[i]);
    static const int shapes[][5] = {
        /* N, C, O, H, W */
        {2, 3, 6, 5, 37}, {3, 6, 3, 7, 1}, {1, 2, 4, 1, 17}, {2, 1, 1, 1, 1},
        {2, 3, 5, 9, 16}, {4, 6, 3, 3, 33},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int *s = shapes[i];
        test_conv_stats(s[0], s[1], s[2], s[3], s[4]);
        test_forward(s[0], s[2], s[3], s[4]);
        test_backward(s[0], s[2], s[3], s[4]);
    }
    static const int sshapes[][6] = {
        /* N, C, F, O, H, W */
        {2, 3, 6, 3, 5, 37}, {3, 3, 6, 3, 7, 1}, {1, 2, 4, 1, 1, 17}, {2, 1, 1, 1, 1, 1},
        {2, 3, 5, 2, 9, 16}, {4, 3, 6, 3, 3, 33}, {2, 2, 3, 6, 2, 5},
    };
    for (size_t i = 0; i < sizeof sshapes / sizeof *sshapes; i++) {
        const int *s = sshapes[i];
        test_streamed(s[0], s[1], s[2], s[3], s[4], s[5]);
    }
    static const int mshapes[][5] = {
        /* N, C, O, H, W: one row past the exact float sums' 256 columns */
        {2, 3, 6, 5, 37}, {1, 1, 2, 1, 1}, {3, 2, 3, 4, 7}, {2, 3, 4, 2, 300}, {1, 4, 5, 6, 3},
    };
    for (size_t i = 0; i < sizeof mshapes / sizeof *mshapes; i++) {
        const int *s = mshapes[i];
        test_moments(s[0], s[1], s[2], s[3], s[4]);
    }
    return check_report("test_fused");
}
