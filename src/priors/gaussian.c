/*
 * gaussian.c — the Gaussian prior P(z'|z) = N(z'; z, L^2 I) (paper Eq. 35),
 * i.e. the RBF critic log f(z, z') = -|z - z'|^2 / (2 L^2) (Eq. 36).
 *
 * theta = [log L] (one number): the length scale is learned as its log, so
 * any real theta is a valid L > 0 and steps are relative. Sums run in double;
 * inputs and outputs are float. B pairs, D latents; z, zp are (B, D).
 */
#include <math.h>
#include <stdio.h>

#include "priors_internal.h"

static int gaussian_nparams(int D)
{
    (void)D;
    return 1;
}

/* |z_i - z'_j|^2 in double */
static double sqdist(const float *zi, const float *zpj, int D)
{
    double d2 = 0.0;
    for (int d = 0; d < D; d++) {
        double diff = (double)zi[d] - (double)zpj[d];
        d2 += diff * diff;
    }
    return d2;
}

/* s_ij = -|z_i - z'_j|^2 / (2 L^2),  L = exp(theta[0])  (Eq. 36) */
static void gaussian_logits(float *s, const float *theta, const float *z,
                            const float *zp, int B, int D)
{
    double inv2l2 = 0.5 * exp(-2.0 * (double)theta[0]); /* 1 / (2 L^2) */
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++)
            s[i * B + j] = (float)(-sqdist(z + i * D, zp + j * D, D) * inv2l2);
}

/* ds_ij/dz_i = -(z_i - z'_j) / L^2,  ds_ij/dz'_j = +(z_i - z'_j) / L^2,
 * ds_ij/dlog L = |z_i - z'_j|^2 / L^2 = -2 s_ij  (derivatives of Eq. 36) */
static void gaussian_logits_backward(float *dz, float *dzp, float *dtheta,
                                     const float *ds, const float *theta,
                                     const float *z, const float *zp, int B,
                                     int D)
{
    double invl2 = exp(-2.0 * (double)theta[0]); /* 1 / L^2 */
    if (dz) {
        for (int i = 0; i < B; i++) {
            for (int d = 0; d < D; d++) {
                double acc = 0.0;
                for (int j = 0; j < B; j++)
                    acc += (double)ds[i * B + j] *
                           ((double)z[i * D + d] - (double)zp[j * D + d]);
                dz[i * D + d] += (float)(-acc * invl2);
            }
        }
    }
    if (dzp) {
        for (int j = 0; j < B; j++) {
            for (int d = 0; d < D; d++) {
                double acc = 0.0;
                for (int i = 0; i < B; i++)
                    acc += (double)ds[i * B + j] *
                           ((double)z[i * D + d] - (double)zp[j * D + d]);
                dzp[j * D + d] += (float)(acc * invl2);
            }
        }
    }
    if (dtheta) {
        double acc = 0.0;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++)
                acc += (double)ds[i * B + j] * sqdist(z + i * D, zp + j * D, D);
        dtheta[0] += (float)(acc * invl2);
    }
}

/* "L=0.0213" */
static void gaussian_describe(char *buf, size_t len, const float *theta, int D)
{
    (void)D;
    snprintf(buf, len, "L=%.4g", exp((double)theta[0]));
}

const ssvae_prior_ops ssvae_prior_gaussian_ops = {
    .name = "gaussian",
    .density = "P(z'|z) = N(z'; z, L^2 I): z' is z moved by isotropic Gaussian noise of scale L (Eq. 35)",
    .choose = "the paper's prior: nearness in latent space; one length scale for every latent",
    .nparams = gaussian_nparams,
    .init = prior_init_log_length,
    .freeze = prior_freeze_scale0,
    .logits = gaussian_logits,
    .logits_backward = gaussian_logits_backward,
    .describe = gaussian_describe,
};
