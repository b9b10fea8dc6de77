/*
 * batchnorm.c — batch normalisation over (N, C, HW) planes, one mean and
 * variance per channel. Training mode uses the batch's statistics (every
 * frame of the batch, base and target together); evaluation mode uses the
 * running statistics, updated with momentum 0.1 as PyTorch does.
 *
 * Sums run per (frame, channel) plane in parallel and are then added in
 * frame order in double, so the result does not depend on the thread count.
 */
#include <assert.h>
#include <math.h>

#include "nn/nn.h"

size_t batchnorm_work_size(int N, int C) { return 2 * (size_t)N * C; }

/* part[n*C + c] = sum over the plane of f(x), for every (n, c) plane. */
static void plane_sums(double *part, const float *x, const float *shift,
                       int squared, int N, int C, int HW)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            const float *p = x + ((size_t)n * C + c) * HW;
            float m = shift ? shift[c] : 0.0f;
            float s = 0;
            if (squared) {
#pragma omp simd reduction(+ : s)
                for (int i = 0; i < HW; i++) s += (p[i] - m) * (p[i] - m);
            } else {
#pragma omp simd reduction(+ : s)
                for (int i = 0; i < HW; i++) s += p[i];
            }
            part[(size_t)n * C + c] = s;
        }
    }
}

static double frame_total(const double *part, int c, int N, int C)
{
    double s = 0;
    for (int n = 0; n < N; n++) s += part[(size_t)n * C + c];
    return s;
}

// mean = E[x], var = E[(x - mean)^2] (two passes: no cancellation)
void batchnorm_forward_train(float *y, float *mean, float *rstd,
                             float *var_unbiased, const float *x,
                             const float *gamma, const float *beta,
                             double *work, int N, int C, int HW)
{
    double M = (double)N * HW;
    plane_sums(work, x, NULL, 0, N, C, HW);
    for (int c = 0; c < C; c++) mean[c] = (float)(frame_total(work, c, N, C) / M);
    plane_sums(work, x, mean, 1, N, C, HW);
    for (int c = 0; c < C; c++) {
        double ss = frame_total(work, c, N, C);
        rstd[c] = (float)(1.0 / sqrt(ss / M + BATCHNORM_EPS));
        if (var_unbiased) var_unbiased[c] = (float)(M > 1 ? ss / (M - 1) : 0.0);
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            const float *p = x + ((size_t)n * C + c) * HW;
            float *q = y + ((size_t)n * C + c) * HW;
            float a = rstd[c] * gamma[c], b = beta[c] - mean[c] * a;
            for (int i = 0; i < HW; i++) q[i] = p[i] * a + b;
        }
    }
}

void batchnorm_forward_eval(float *y, const float *x, const float *gamma,
                            const float *beta, const float *running_mean,
                            const float *running_var, int N, int C, int HW)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            const float *p = x + ((size_t)n * C + c) * HW;
            float *q = y + ((size_t)n * C + c) * HW;
            float a = gamma[c] / sqrtf(running_var[c] + BATCHNORM_EPS);
            float b = beta[c] - running_mean[c] * a;
            for (int i = 0; i < HW; i++) q[i] = p[i] * a + b;
        }
    }
}

void batchnorm_update_running(float *running_mean, float *running_var,
                              const float *mean, const float *var_unbiased,
                              int C, float momentum)
{
    for (int c = 0; c < C; c++) {
        running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean[c];
        running_var[c] = (1 - momentum) * running_var[c] + momentum * var_unbiased[c];
    }
}

// xhat = (x - mean) rstd;  dgamma = sum dy xhat;  dbeta = sum dy;
// dx = gamma rstd (dy - dbeta/M - xhat dgamma/M)
void batchnorm_backward(float *dx, float *dgamma, float *dbeta,
                        const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *gamma, double *work,
                        int N, int C, int HW)
{
    assert(C <= CONV3X3_MAXCH);
    double *sum_dy = work, *sum_dyx = work + (size_t)N * C;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            const float *g = dy + ((size_t)n * C + c) * HW;
            const float *p = x + ((size_t)n * C + c) * HW;
            float m = mean[c], s = 0, sx = 0;
#pragma omp simd reduction(+ : s, sx)
            for (int i = 0; i < HW; i++) {
                s += g[i];
                sx += g[i] * (p[i] - m);
            }
            sum_dy[(size_t)n * C + c] = s;
            sum_dyx[(size_t)n * C + c] = sx;
        }
    }
    double M = (double)N * HW;
    float a[CONV3X3_MAXCH], b[CONV3X3_MAXCH], k[CONV3X3_MAXCH];
    for (int c = 0; c < C; c++) {
        double db = frame_total(sum_dy, c, N, C);
        double dg = frame_total(sum_dyx, c, N, C) * rstd[c]; /* sum dy xhat */
        dgamma[c] += (float)dg;
        dbeta[c] += (float)db;
        /* dx = a dy + k (x - mean) + b, with the sums folded into a, b, k */
        a[c] = gamma[c] * rstd[c];
        k[c] = (float)(-(double)a[c] * rstd[c] * dg / M);
        b[c] = (float)(-(double)a[c] * db / M);
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            const float *g = dy + ((size_t)n * C + c) * HW;
            const float *p = x + ((size_t)n * C + c) * HW;
            float *q = dx + ((size_t)n * C + c) * HW;
            float m = mean[c];
            for (int i = 0; i < HW; i++) q[i] = a[c] * g[i] + k[c] * (p[i] - m) + b[c];
        }
    }
}
