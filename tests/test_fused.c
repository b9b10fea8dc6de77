/*
 * test_fused.c — every fused kernel of src/nn/fused.c (and the convolution
 * with batch statistics) against the composition of the plain reference
 * layers of nn.h, on random shapes including widths that are not multiples
 * of the vector length (W = 37, 17, 1) and single-row planes; and the
 * vectorised exp against the C library's expf.
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
        bn_sigmoid_com_forward(y1, z1, m1, x, sc, sh, N, C, H, W);
        check_arrays("bn_sigmoid_com_forward s", y1, y0, n, TOL);
        check_arrays("bn_sigmoid_com_forward z", z1, z0, (size_t)N * 2 * C, TOL);
        check_arrays("bn_sigmoid_com_forward mass", m1, m0, (size_t)N * C, TOL);
        bn_sigmoid_com_forward(NULL, z1, m1, x, sc, sh, N, C, H, W); /* s not stored */
        check_arrays("bn_sigmoid_com_forward z (no s)", z1, z0, (size_t)N * 2 * C, TOL);
        check_arrays("bn_sigmoid_com_forward mass (no s)", m1, m0, (size_t)N * C, TOL);
        free(t);
    }
    free(x); free(g); free(be); free(rm); free(rv); free(y0); free(y1); free(work);
    free(z0); free(z1); free(m0); free(m1);
}

/* Backward: com_sigmoid_bn_backward and relu_bn_backward against the
 * chains of plain backward layers, after a training forward pass. */
static void test_backward(int N, int C, int H, int W)
{
    int HW = H * W;
    size_t n = (size_t)N * C * HW;
    float *x = rnd(n, -2, 3), *g = rnd(C, 0.5, 2), *be = rnd(C, -1, 1);
    float mean[CONV3X3_MAXCH], rstd[CONV3X3_MAXCH], sc[CONV3X3_MAXCH], sh[CONV3X3_MAXCH];
    float *y = malloc(n * sizeof *y), *s = malloc(n * sizeof *s), *h = malloc(n * sizeof *h);
    double *work = malloc(batchnorm_work_size(N, C) * sizeof *work);
    double *fwork = malloc(fused_backward_work_size(N, C) * sizeof *fwork);
    float *z = malloc((size_t)N * 2 * C * sizeof *z), *mass = malloc((size_t)N * C * sizeof *mass);
    float *dz = rnd((size_t)N * 2 * C, -1, 1), *dy = rnd(n, -1, 1);
    float *dx0 = malloc(n * sizeof *dx0), *dx1 = malloc(n * sizeof *dx1);
    float *dg0 = calloc(C, sizeof(float)), *db0 = calloc(C, sizeof(float));
    float *dg1 = calloc(C, sizeof(float)), *db1 = calloc(C, sizeof(float));
    batchnorm_forward_train(y, mean, rstd, NULL, x, g, be, work, N, C, HW);
    sigmoid_forward(s, y, n);
    com_forward(z, mass, s, N, C, H, W);
    relu_forward(h, y, n);

    com_backward(dx0, dz, z, mass, N, C, H, W);
    sigmoid_backward(dx0, dx0, s, n);
    batchnorm_backward(dx0, dg0, db0, dx0, x, mean, rstd, g, work, N, C, HW);
    batchnorm_affine(sc, sh, mean, rstd, g, be, C);
    com_sigmoid_bn_backward(dx1, dg1, db1, dz, z, mass, x, sc, sh, mean, rstd, g, fwork, N, C, H, W);
    check_arrays("com_sigmoid_bn_backward dx", dx1, dx0, n, TOL);
    for (int c = 0; c < C; c++) {
        CHECK_CLOSE(dg1[c], dg0[c], TOL, TOL_SUM);
        CHECK_CLOSE(db1[c], db0[c], TOL, TOL_SUM);
    }

    relu_backward(dx0, dy, h, n);
    batchnorm_backward(dx0, dg0, db0, dx0, x, mean, rstd, g, work, N, C, HW);
    memcpy(dx1, dy, n * sizeof *dx1);
    relu_bn_backward(dx1, dg1, db1, dx1, h, x, mean, rstd, g, fwork, N, C, HW); /* in place */
    check_arrays("relu_bn_backward dx", dx1, dx0, n, TOL);
    for (int c = 0; c < C; c++) {
        CHECK_CLOSE(dg1[c], dg0[c], TOL, TOL_SUM);
        CHECK_CLOSE(db1[c], db0[c], TOL, TOL_SUM);
    }
    free(x); free(g); free(be); free(y); free(s); free(h); free(work); free(fwork);
    free(z); free(mass); free(dz); free(dy); free(dx0); free(dx1);
    free(dg0); free(db0); free(dg1); free(db1);
}

/* The streamed convolutions against the plain layers: forward from bytes,
 * batch norm + ReLU + conv forward, and the two backward kernels against
 * conv3x3_backward, relu_backward, batchnorm_backward, conv3x3_backward. The
 * network is bytes (N, C) -> conv -> a (N, F) -> bn, relu -> h -> conv ->
 * (N, O), with dy the gradient at the last conv's output. */
static void test_streamed(int N, int C, int F, int O, int H, int W)
{
    int HW = H * W;
    size_t nx = (size_t)N * C * HW, na = (size_t)N * F * HW, ny = (size_t)N * O * HW;
    uint8_t *xq = malloc(nx);
    for (size_t i = 0; i < nx; i++) xq[i] = (uint8_t)ssvae_rng_below(&rng, 256);
    float *x = malloc(nx * sizeof *x);
    for (size_t i = 0; i < nx; i++) x[i] = xq[i] * (1.0f / 255.0f);
    float *w1 = rnd((size_t)F * C * 9, -0.5, 0.5), *b1 = rnd(F, -0.5, 0.5);
    float *w2 = rnd((size_t)O * F * 9, -0.5, 0.5), *b2 = rnd(O, -0.5, 0.5);
    float *ga = rnd(F, 0.5, 2), *be = rnd(F, -1, 1), *dy = rnd(ny, -1, 1);
    float *a0 = malloc(na * sizeof *a0), *a1 = malloc(na * sizeof *a1);
    float *h = malloc(na * sizeof *h), *y0 = malloc(ny * sizeof *y0), *y1 = malloc(ny * sizeof *y1);
    float *g0 = malloc(na * sizeof *g0), *g1 = malloc(na * sizeof *g1);
    int CF = C > F ? C : F, FO = F > O ? F : O;
    size_t nrows = fused_rows_size(N, CF, FO, W);
    float *rows = malloc(nrows * sizeof *rows);
    size_t nw = conv3x3_work_size(N, CF, FO);
    float *work = malloc(nw * sizeof *work);
    double *st0 = malloc(batchnorm_stats_size(N, FO) * sizeof *st0);
    double *st1 = malloc(batchnorm_stats_size(N, FO) * sizeof *st1);
    double *bw = malloc(batchnorm_work_size(N, F) * sizeof *bw);
    double *sums = malloc(fused_backward_work_size(N, F) * sizeof *sums);
    float mean[CONV3X3_MAXCH], rstd[CONV3X3_MAXCH], sc[CONV3X3_MAXCH], sh[CONV3X3_MAXCH];

    /* forward: bytes -> a, with statistics; then a -> bn, relu -> conv */
    conv3x3_forward_stats(a0, st0, x, w1, b1, N, C, F, H, W);
    conv3x3_forward_u8(a1, st1, xq, w1, b1, rows, N, C, F, H, W);
    check_arrays("conv3x3_forward_u8 y", a1, a0, na, TOL);
    check_stats("conv3x3_forward_u8", st1, a0, N, F, HW);
    conv3x3_forward_u8(a1, NULL, xq, w1, b1, rows, N, C, F, H, W);
    check_arrays("conv3x3_forward_u8 y (no stats)", a1, a0, na, TOL);
    batchnorm_forward_train(h, mean, rstd, NULL, a0, ga, be, bw, N, F, HW);
    batchnorm_affine(sc, sh, mean, rstd, ga, be, F);
    relu_forward(h, h, na);
    conv3x3_forward_stats(y0, st0, h, w2, b2, N, F, O, H, W);
    bn_relu_conv3x3_forward(y1, st1, a0, sc, sh, w2, b2, rows, N, F, O, H, W);
    check_arrays("bn_relu_conv3x3_forward y", y1, y0, ny, TOL);
    check_stats("bn_relu_conv3x3_forward", st1, y0, N, O, HW);

    /* backward through conv2 and the ReLU, with bn1's sums */
    float *dw0 = calloc((size_t)O * F * 9, sizeof(float)), *db0 = calloc(O, sizeof(float));
    float *dw1 = calloc((size_t)O * F * 9, sizeof(float)), *db1 = calloc(O, sizeof(float));
    conv3x3_backward(g0, dw0, db0, dy, h, w2, work, N, F, O, H, W);
    relu_backward(g0, g0, h, na);
    bn_relu_conv3x3_backward(g1, sums, dw1, db1, dy, a0, sc, sh, mean, w2, work, rows,
                             N, F, O, H, W);
    check_arrays("bn_relu_conv3x3_backward dx", g1, g0, na, TOL);
    check_arrays("bn_relu_conv3x3_backward dw", dw1, dw0, (size_t)O * F * 9, TOL_SUM);
    check_arrays("bn_relu_conv3x3_backward db", db1, db0, O, TOL_SUM);

    /* the rest of bn1's backward into conv1's weight gradient */
    float *dg0 = calloc(F, sizeof(float)), *dbe0 = calloc(F, sizeof(float));
    float *dg1 = calloc(F, sizeof(float)), *dbe1 = calloc(F, sizeof(float));
    float *dv0 = calloc((size_t)F * C * 9, sizeof(float)), *dc0 = calloc(F, sizeof(float));
    float *dv1 = calloc((size_t)F * C * 9, sizeof(float)), *dc1 = calloc(F, sizeof(float));
    batchnorm_backward(g0, dg0, dbe0, g0, a0, mean, rstd, ga, bw, N, F, HW);
    conv3x3_backward(NULL, dv0, dc0, g0, x, w1, work, N, C, F, H, W);
    bn_conv3x3_backward_u8(dv1, dc1, dg1, dbe1, g1, sums, a0, mean, rstd, ga, xq, work, rows,
                           N, C, F, H, W);
    check_arrays("bn_conv3x3_backward_u8 dgamma", dg1, dg0, F, TOL_SUM);
    check_arrays("bn_conv3x3_backward_u8 dbeta", dbe1, dbe0, F, TOL_SUM);
    check_arrays("bn_conv3x3_backward_u8 dw", dv1, dv0, (size_t)F * C * 9, TOL_SUM);
    check_arrays("bn_conv3x3_backward_u8 db", dc1, dc0, F, TOL_SUM);

    free(xq); free(x); free(w1); free(b1); free(w2); free(b2); free(ga); free(be); free(dy);
    free(a0); free(a1); free(h); free(y0); free(y1); free(g0); free(g1); free(rows);
    free(work); free(st0); free(st1); free(bw); free(sums);
    free(dw0); free(db0); free(dw1); free(db1); free(dg0); free(dbe0); free(dg1); free(dbe1);
    free(dv0); free(dc0); free(dv1); free(dc1);
}

int main(void)
{
    ssvae_rng_seed(&rng, 20240611);
    test_exp();
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
    return check_report("test_fused");
}
