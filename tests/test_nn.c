/*
 * test_nn.c — every layer of src/nn against finite differences (central,
 * on small random shapes) and the convolution against a plain reference.
 *
 * Tolerance: layers compute in float. The objective L = sum r * y is summed
 * in double from float outputs, so its rounding error is about
 * 1e-7 * sum |r y| ~ 1e-6; with a step h = 5e-3 the central difference
 * carries ~1e-4 of rounding and O(h^2 f''') ~ 1e-5 of truncation error. We
 * accept |analytic - numeric| <= 2e-3 + 2e-2 |numeric|.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/nn.h"
#include "ssvae.h"

#define H_STEP 5e-3
#define ATOL 2e-3
#define RTOL 2e-2

static ssvae_rng rng;

static void fill(float *a, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * ssvae_rng_uniform(&rng));
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* A layer under test: evaluates L = sum r * forward(params) in double. */
typedef double (*objective_fn)(void *ctx);

/* Compares grad (n) with central differences of f in each entry of p. */
static void check_grad(const char *what, objective_fn f, void *ctx, float *p,
                       const float *grad, size_t n)
{
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        p[i] = keep + (float)H_STEP;
        double up = f(ctx);
        p[i] = keep - (float)H_STEP;
        double down = f(ctx);
        p[i] = keep;
        double num = (up - down) / (2 * H_STEP);
        double err = fabs(num - grad[i]);
        if (err > ATOL + RTOL * fabs(num)) {
            if (!bad) fprintf(stderr, "%s[%zu]: analytic %.6g numeric %.6g\n", what, i, grad[i], num);
            bad++;
        }
        if (err > worst) worst = err;
    }
    CHECK(bad == 0, "%s: %d of %zu entries off (worst abs error %.3g)", what, bad, n, worst);
}

/* ---- convolution ------------------------------------------------------ */

typedef struct { int N, C, O, H, W; float *x, *w, *b, *y, *r; } conv_case;

static double conv_obj(void *ctx)
{
    conv_case *t = ctx;
    conv3x3_forward(t->y, t->x, t->w, t->b, t->N, t->C, t->O, t->H, t->W);
    return dot(t->y, t->r, (size_t)t->N * t->O * t->H * t->W);
}

static void conv_reference(double *y, const float *x, const float *w,
                           const float *b, int N, int C, int O, int H, int W)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    double s = b[o];
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int yi = i + ky - 1, xj = j + kx - 1;
                                if (yi < 0 || yi >= H || xj < 0 || xj >= W) continue;
                                s += (double)w[((o * C + c) * 3 + ky) * 3 + kx] *
                                     x[((size_t)(n * C + c) * H + yi) * W + xj];
                            }
                    y[((size_t)(n * O + o) * H + i) * W + j] = s;
                }
}

static void test_conv(int N, int C, int O, int H, int W)
{
    conv_case t = {N, C, O, H, W, NULL, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * O * H * W, nw = (size_t)O * C * 9;
    t.x = malloc(nx * 4); t.w = malloc(nw * 4); t.b = malloc(O * 4);
    t.y = malloc(ny * 4); t.r = malloc(ny * 4);
    float *dx = malloc(nx * 4), *dw = calloc(nw, 4), *db = calloc(O, 4);
    float *work = malloc(conv3x3_work_size(N, C, O) * 4);
    double *ref = malloc(ny * sizeof *ref);
    fill(t.x, nx, -1, 1); fill(t.w, nw, -1, 1); fill(t.b, O, -1, 1); fill(t.r, ny, -1, 1);

    conv3x3_forward(t.y, t.x, t.w, t.b, N, C, O, H, W);
    conv_reference(ref, t.x, t.w, t.b, N, C, O, H, W);
    double worst = 0;
    for (size_t i = 0; i < ny; i++) worst = fmax(worst, fabs(ref[i] - t.y[i]));
    /* 9C float products of magnitude <= 1: a few float ulps of 9C */
    CHECK(worst < 1e-5 * 9 * C, "conv %dx%dx%dx%dx%d vs reference: %.3g", N, C, O, H, W, worst);

    conv3x3_backward(dx, dw, db, t.r, t.x, t.w, work, N, C, O, H, W);
    char name[64];
    snprintf(name, sizeof name, "conv dx %dx%dx%dx%dx%d", N, C, O, H, W);
    check_grad(name, conv_obj, &t, t.x, dx, nx);
    snprintf(name, sizeof name, "conv dw %dx%dx%dx%dx%d", N, C, O, H, W);
    check_grad(name, conv_obj, &t, t.w, dw, nw);
    snprintf(name, sizeof name, "conv db %dx%dx%dx%dx%d", N, C, O, H, W);
    check_grad(name, conv_obj, &t, t.b, db, O);
    free(t.x); free(t.w); free(t.b); free(t.y); free(t.r);
    free(dx); free(dw); free(db); free(work); free(ref);
}

/* ---- batch norm (training mode) --------------------------------------- */

typedef struct { int N, C, HW; float *x, *g, *b, *y, *r, *mean, *rstd; double *work; } bn_case;

static double bn_obj(void *ctx)
{
    bn_case *t = ctx;
    batchnorm_forward_train(t->y, t->mean, t->rstd, NULL, t->x, t->g, t->b, t->work, t->N, t->C, t->HW);
    return dot(t->y, t->r, (size_t)t->N * t->C * t->HW);
}

static void test_batchnorm(int N, int C, int HW)
{
    bn_case t = {N, C, HW, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t n = (size_t)N * C * HW;
    t.x = malloc(n * 4); t.y = malloc(n * 4); t.r = malloc(n * 4);
    t.g = malloc(C * 4); t.b = malloc(C * 4); t.mean = malloc(C * 4); t.rstd = malloc(C * 4);
    t.work = malloc(batchnorm_work_size(N, C) * sizeof(double));
    float *dx = malloc(n * 4), *dg = calloc(C, 4), *dbeta = calloc(C, 4), *var = malloc(C * 4);
    fill(t.x, n, -2, 3); fill(t.g, C, 0.5, 1.5); fill(t.b, C, -1, 1); fill(t.r, n, -1, 1);

    batchnorm_forward_train(t.y, t.mean, t.rstd, var, t.x, t.g, t.b, t.work, N, C, HW);
    /* closed form: each channel of the output has mean beta, variance ~gamma^2 */
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0, M = (double)N * HW;
        for (int k = 0; k < N; k++)
            for (int i = 0; i < HW; i++) {
                double v = t.y[((size_t)k * C + c) * HW + i];
                s += v; ss += v * v;
            }
        double m = s / M, v = ss / M - m * m;
        CHECK_CLOSE(m, t.b[c], 1e-5, 0);
        CHECK_CLOSE(v, (double)t.g[c] * t.g[c] * (1 - 1e-5 / (v / (t.g[c] * t.g[c]) + 1e-5)), 1e-4, 1e-3);
    }
    batchnorm_backward(dx, dg, dbeta, t.r, t.x, t.mean, t.rstd, t.g, t.work, N, C, HW);
    check_grad("batchnorm dx", bn_obj, &t, t.x, dx, n);
    check_grad("batchnorm dgamma", bn_obj, &t, t.g, dg, C);
    check_grad("batchnorm dbeta", bn_obj, &t, t.b, dbeta, C);

    /* running statistics and evaluation mode */
    float rm[8] = {0}, rv[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    batchnorm_update_running(rm, rv, t.mean, var, C, 0.1f);
    for (int c = 0; c < C; c++) {
        CHECK_CLOSE(rm[c], 0.1 * t.mean[c], 1e-7, 1e-6);
        CHECK_CLOSE(rv[c], 0.9 + 0.1 * var[c], 1e-7, 1e-6);
    }
    /* with running stats equal to the batch's, eval matches training mode
     * (recompute first: the gradient check left a perturbed forward pass) */
    bn_obj(&t);
    for (int c = 0; c < C; c++) { rm[c] = t.mean[c]; rv[c] = 1.0f / (t.rstd[c] * t.rstd[c]) - BATCHNORM_EPS; }
    float *ye = malloc(n * 4);
    batchnorm_forward_eval(ye, t.x, t.g, t.b, rm, rv, N, C, HW);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(ye[i] - t.y[i]));
    CHECK(worst < 1e-4, "eval with batch statistics differs from training mode by %.3g", worst);
    free(ye); free(t.x); free(t.y); free(t.r); free(t.g); free(t.b); free(t.mean); free(t.rstd);
    free(t.work); free(dx); free(dg); free(dbeta); free(var);
}

/* ---- activations -------------------------------------------------------- */

typedef struct { size_t n; int sig; float *x, *y, *r; } act_case;

static double act_obj(void *ctx)
{
    act_case *t = ctx;
    if (t->sig) sigmoid_forward(t->y, t->x, t->n);
    else relu_forward(t->y, t->x, t->n);
    return dot(t->y, t->r, t->n);
}

static void test_activation(int sig)
{
    act_case t = {64, sig, malloc(64 * 4), malloc(64 * 4), malloc(64 * 4)};
    float *dx = malloc(64 * 4);
    fill(t.x, t.n, -4, 4); fill(t.r, t.n, -1, 1);
    /* keep ReLU inputs away from its kink at 0 */
    for (size_t i = 0; i < t.n; i++)
        if (fabsf(t.x[i]) < 0.05f) t.x[i] = 0.5f;
    act_obj(&t);
    if (sig) sigmoid_backward(dx, t.r, t.y, t.n);
    else relu_backward(dx, t.r, t.y, t.n);
    check_grad(sig ? "sigmoid" : "relu", act_obj, &t, t.x, dx, t.n);
    free(t.x); free(t.y); free(t.r); free(dx);
}

/* ---- centre of mass ----------------------------------------------------- */

typedef struct { int N, K, H, W; float *s, *z, *m, *r; } com_case;

static double com_obj(void *ctx)
{
    com_case *t = ctx;
    com_forward(t->z, t->m, t->s, t->N, t->K, t->H, t->W);
    return dot(t->z, t->r, (size_t)t->N * 2 * t->K);
}

static void test_com(void)
{
    /* closed form: a single bright pixel at (row 2, col 5) of a 8x10 map */
    float one[80] = {0}, z[2], m;
    for (int i = 0; i < 80; i++) one[i] = 1e-7f;
    one[2 * 10 + 5] = 1.0f;
    com_forward(z, &m, one, 1, 1, 8, 10);
    CHECK_CLOSE(z[0], 5.5 / 10, 1e-5, 0);
    CHECK_CLOSE(z[1], 2.5 / 8, 1e-5, 0);
    /* a uniform map sits at the centre */
    for (int i = 0; i < 80; i++) one[i] = 0.3f;
    com_forward(z, &m, one, 1, 1, 8, 10);
    CHECK_CLOSE(z[0], 0.5, 1e-6, 0);
    CHECK_CLOSE(z[1], 0.5, 1e-6, 0);

    com_case t = {2, 3, 5, 7, NULL, NULL, NULL, NULL};
    size_t n = 2 * 3 * 5 * 7;
    t.s = malloc(n * 4); t.z = malloc(12 * 4); t.m = malloc(6 * 4); t.r = malloc(12 * 4);
    float *ds = malloc(n * 4);
    fill(t.s, n, 0.1, 1); fill(t.r, 12, -1, 1);
    com_obj(&t);
    com_backward(ds, t.r, t.z, t.m, 2, 3, 5, 7);
    check_grad("centre of mass", com_obj, &t, t.s, ds, n);
    free(t.s); free(t.z); free(t.m); free(t.r); free(ds);
}

/* ---- linear --------------------------------------------------------------- */

typedef struct { int N, I, O; float *x, *w, *b, *y, *r; } lin_case;

static double lin_obj(void *ctx)
{
    lin_case *t = ctx;
    linear_forward(t->y, t->x, t->w, t->b, t->N, t->I, t->O);
    return dot(t->y, t->r, (size_t)t->N * t->O);
}

static void test_linear(void)
{
    lin_case t = {4, 6, 5, malloc(24 * 4), malloc(30 * 4), malloc(5 * 4), malloc(20 * 4), malloc(20 * 4)};
    float *dx = malloc(24 * 4), *dw = calloc(30, 4), *db = calloc(5, 4);
    fill(t.x, 24, -1, 1); fill(t.w, 30, -1, 1); fill(t.b, 5, -1, 1); fill(t.r, 20, -1, 1);
    lin_obj(&t);
    linear_backward(dx, dw, db, t.r, t.x, t.w, 4, 6, 5);
    check_grad("linear dx", lin_obj, &t, t.x, dx, 24);
    check_grad("linear dw", lin_obj, &t, t.w, dw, 30);
    check_grad("linear db", lin_obj, &t, t.b, db, 5);
    free(t.x); free(t.w); free(t.b); free(t.y); free(t.r); free(dx); free(dw); free(db);
}

int main(void)
{
    ssvae_rng_seed(&rng, 7);
    test_conv(2, 3, 6, 5, 7);
    test_conv(3, 6, 3, 4, 4);
    test_conv(1, 2, 2, 1, 1);
    test_conv(1, 1, 2, 1, 5);
    test_conv(2, 2, 1, 6, 1);
    test_conv(1, 3, 2, 3, 37); /* not a multiple of any vector width */
    test_batchnorm(3, 2, 20);
    test_batchnorm(2, 6, 9);
    test_activation(0);
    test_activation(1);
    test_com();
    test_linear();
    return check_report("test_nn");
}
