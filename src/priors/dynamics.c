/*
 * dynamics.c — a prior that can learn motion: P(z'|z) = N(z'; A z + b,
 * diag sigma^2), the critic log f(z, z') = -sum_d (z'_d - (A z + b)_d)^2 /
 * (2 sigma_d^2). Where the Gaussian prior says "the next latent is near
 * this one", this one says "the next latent is near where this one is
 * heading": a ball that keeps moving is predictable under it.
 *
 * theta = [A (D x D, row-major: A[d*D + e] maps z_e into mean_d), b (D),
 * log sigma (D)]. It starts at A = I, b = 0 and equal sigma, where it is
 * the Gaussian prior with L = sigma (tests/test_priors.c checks this).
 * A and b are always learned; sigma is fixed with the recipe's fixed
 * scale. Sums in double.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "priors_internal.h"

static int dynamics_nparams(int D)
{
    return D * D + 2 * D;
}

/* mean_i = A z_i + b, (B, D) in double */
static void predict(double *mean, const float *theta, const float *z, int B, int D)
{
    const float *A = theta, *b = theta + D * D;
    for (int i = 0; i < B; i++)
        for (int d = 0; d < D; d++) {
            double acc = 0;
            for (int e = 0; e < D; e++)
                acc += (double)A[d * D + e] * z[i * D + e];
            mean[i * D + d] = acc + b[d];
        }
}

static double *mean_buffer(int B, int D)
{
    double *mean = malloc((size_t)B * D * sizeof *mean);
    if (!mean)
        abort();
    return mean;
}

/* s_ij = -sum_d (z'_jd - mean_id)^2 / (2 sigma_d^2) */
static void dynamics_logits(float *s, const float *theta, const float *z, const float *zp, int B, int D)
{
    const float *ls = theta + D * D + D;
    double w[2 * SSVAE_MAXBALLS], *mean = mean_buffer(B, D);
    for (int d = 0; d < D; d++)
        w[d] = 0.5 * exp(-2.0 * (double)ls[d]);
    predict(mean, theta, z, B, D);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double acc = 0;
            for (int d = 0; d < D; d++) {
                double r = (double)zp[j * D + d] - mean[i * D + d];
                acc += r * r * w[d];
            }
            s[i * B + j] = (float)-acc;
        }
    free(mean);
}

/* With r = z'_j - mean_i: ds/dz'_jd = -r_d / sigma_d^2, ds/dmean_id =
 * r_d / sigma_d^2, ds/dlog sigma_d = r_d^2 / sigma_d^2; then dz_i = A^T
 * dmean_i, dA = sum_i dmean_i z_i^T, db = sum_i dmean_i. */
static void dynamics_logits_backward(float *dz, float *dzp, float *dtheta, const float *ds,
                                     const float *theta, const float *z, const float *zp, int B, int D)
{
    const float *A = theta, *ls = theta + D * D + D;
    double inv[2 * SSVAE_MAXBALLS], dls[2 * SSVAE_MAXBALLS] = {0}, dmean[2 * SSVAE_MAXBALLS];
    double *mean = mean_buffer(B, D);
    for (int d = 0; d < D; d++)
        inv[d] = exp(-2.0 * (double)ls[d]);
    predict(mean, theta, z, B, D);
    for (int i = 0; i < B; i++) {
        for (int d = 0; d < D; d++)
            dmean[d] = 0;
        for (int j = 0; j < B; j++) {
            double g = ds[i * B + j];
            for (int d = 0; d < D; d++) {
                double r = (double)zp[j * D + d] - mean[i * D + d];
                dmean[d] += g * r * inv[d];
                if (dzp)
                    dzp[j * D + d] += (float)(-g * r * inv[d]);
                dls[d] += g * r * r * inv[d];
            }
        }
        if (dz)
            for (int e = 0; e < D; e++) {
                double acc = 0;
                for (int d = 0; d < D; d++)
                    acc += (double)A[d * D + e] * dmean[d];
                dz[i * D + e] += (float)acc;
            }
        if (dtheta)
            for (int d = 0; d < D; d++) {
                for (int e = 0; e < D; e++)
                    dtheta[d * D + e] += (float)(dmean[d] * z[i * D + e]);
                dtheta[D * D + d] += (float)dmean[d];
            }
    }
    if (dtheta)
        for (int d = 0; d < D; d++)
            dtheta[D * D + D + d] += (float)dls[d];
    free(mean);
}

/* A = I, b = 0, every sigma_d = L0 (or the data's RMS pair distance): the
 * Gaussian prior's start */
static double dynamics_init(float *theta, const ssvae_train_config *cfg, const float *z,
                            const float *zp, int B, int D, ssvae_rng *rng)
{
    (void)rng;
    double L = prior_start_length(cfg, z, zp, B, D);
    for (int k = 0; k < D * D; k++)
        theta[k] = k % (D + 1) == 0 ? 1.0f : 0.0f;
    for (int d = 0; d < D; d++) {
        theta[D * D + d] = 0.0f;
        theta[D * D + D + d] = (float)log(L);
    }
    return L;
}

static void dynamics_freeze(uint8_t *frozen, const ssvae_train_config *cfg, int D)
{
    for (int d = 0; d < D; d++)
        frozen[D * D + D + d] = !cfg->learn_L;
}

/* "sigma=0.002..0.01 |A-I|=0.03 |b|=0.01" */
static void dynamics_describe(char *buf, size_t len, const float *theta, int D)
{
    double lo = INFINITY, hi = -INFINITY, ai = 0, bb = 0;
    for (int d = 0; d < D; d++) {
        double sg = exp((double)theta[D * D + D + d]);
        lo = sg < lo ? sg : lo;
        hi = sg > hi ? sg : hi;
        bb += (double)theta[D * D + d] * theta[D * D + d];
        for (int e = 0; e < D; e++) {
            double a = theta[d * D + e] - (d == e);
            ai += a * a;
        }
    }
    snprintf(buf, len, "sigma=%.3g..%.3g |A-I|=%.3g |b|=%.3g", lo, hi, sqrt(ai), sqrt(bb));
}

const ssvae_prior_ops ssvae_prior_dynamics_ops = {
    .name = "dynamics",
    .density = "P(z'|z) = N(z'; A z + b, diag sigma^2): z' is where a learned linear motion takes z, plus noise",
    .choose = "objects that keep moving: the prior can learn where a latent goes next, not only that it stays near",
    .nparams = dynamics_nparams,
    .init = dynamics_init,
    .freeze = dynamics_freeze,
    .logits = dynamics_logits,
    .logits_backward = dynamics_logits_backward,
    .describe = dynamics_describe,
};
