/*
 * gaussian_diag.c — the Gaussian prior with one length scale per latent,
 * P(z'|z) = N(z'; z, diag(L_1^2 .. L_D^2)), i.e. the critic
 * log f(z, z') = -sum_d (z_d - z'_d)^2 / (2 L_d^2).
 *
 * theta = log L (D), learned as logs. A map's x and y, or two maps, may
 * then move on their own scales. Sums run in double.
 */
#include <math.h>
#include <stdio.h>

#include "priors_internal.h"

static int diag_nparams(int D)
{
    return D;
}

/* s_ij = -sum_d (z_id - z'_jd)^2 / (2 L_d^2) */
static void diag_logits(float *s, const float *theta, const float *z, const float *zp, int B, int D)
{
    double w[2 * SSVAE_MAXBALLS]; /* 1 / (2 L_d^2) */
    for (int d = 0; d < D; d++)
        w[d] = 0.5 * exp(-2.0 * (double)theta[d]);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double acc = 0;
            for (int d = 0; d < D; d++) {
                double diff = (double)z[i * D + d] - zp[j * D + d];
                acc += diff * diff * w[d];
            }
            s[i * B + j] = (float)-acc;
        }
}

/* ds_ij/dz_id = -(z_id - z'_jd) / L_d^2 = -ds_ij/dz'_jd,
 * ds_ij/dlog L_d = (z_id - z'_jd)^2 / L_d^2 */
static void diag_logits_backward(float *dz, float *dzp, float *dtheta, const float *ds,
                                 const float *theta, const float *z, const float *zp, int B, int D)
{
    double inv[2 * SSVAE_MAXBALLS], dth[2 * SSVAE_MAXBALLS] = {0};
    for (int d = 0; d < D; d++)
        inv[d] = exp(-2.0 * (double)theta[d]);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double g = ds[i * B + j];
            for (int d = 0; d < D; d++) {
                double diff = (double)z[i * D + d] - zp[j * D + d];
                if (dz)
                    dz[i * D + d] += (float)(-g * diff * inv[d]);
                if (dzp)
                    dzp[j * D + d] += (float)(g * diff * inv[d]);
                dth[d] += g * diff * diff * inv[d];
            }
        }
    if (dtheta)
        for (int d = 0; d < D; d++)
            dtheta[d] += (float)dth[d];
}

/* Every L_d = L0; from the data, L_d = sqrt(D mean_i (z_id - z'_id)^2), so
 * that each latent contributes equally and the sum matches the isotropic
 * prior's start. */
static double diag_init(float *theta, const ssvae_train_config *cfg, const float *z,
                        const float *zp, int B, int D, ssvae_rng *rng)
{
    (void)rng;
    double L = prior_start_length(cfg, z, zp, B, D);
    for (int d = 0; d < D; d++) {
        double Ld = L;
        if (!(cfg->L0 > 0)) {
            double ss = 0;
            for (int i = 0; i < B; i++)
                ss += ((double)z[i * D + d] - zp[i * D + d]) * ((double)z[i * D + d] - zp[i * D + d]);
            Ld = sqrt(D * ss / B);
            if (!(Ld > 0))
                Ld = 1e-6;
        }
        theta[d] = (float)log(Ld);
    }
    return L;
}

static void diag_freeze(uint8_t *frozen, const ssvae_train_config *cfg, int D)
{
    for (int d = 0; d < D; d++)
        frozen[d] = !cfg->learn_L;
}

/* "L=0.0021..0.0103": the smallest and largest length scale */
static void diag_describe(char *buf, size_t len, const float *theta, int D)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int d = 0; d < D; d++) {
        double L = exp((double)theta[d]);
        lo = L < lo ? L : lo;
        hi = L > hi ? L : hi;
    }
    snprintf(buf, len, "L=%.4g..%.4g", lo, hi);
}

const ssvae_prior_ops ssvae_prior_gaussian_diag_ops = {
    .name = "gaussian-diag",
    .density = "P(z'|z) = N(z'; z, diag L^2): z' is z moved by Gaussian noise, each latent on its own scale L_d",
    .choose = "the Gaussian prior when the latents move on different scales (x and y, or objects of different speeds)",
    .nparams = diag_nparams,
    .init = diag_init,
    .freeze = diag_freeze,
    .logits = diag_logits,
    .logits_backward = diag_logits_backward,
    .describe = diag_describe,
};
