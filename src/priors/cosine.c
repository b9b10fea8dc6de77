/*
 * cosine.c — the von Mises-Fisher prior of SimCLR and CLIP: the critic
 * log f(z, z') = kappa cos(z, z'), which stands for P(z'|z) ∝ Q(z')
 * exp(kappa cos(z, z')): z' points the way z does, its length is free.
 *
 * theta = [log kappa], learned; kappa is clamped at KAPPA_MAX (CLIP's 100:
 * a larger kappa only sharpens the softmax and lets the loss run away), and
 * the gradient of log kappa is zero beyond it. Norms carry a tiny epsilon
 * so that a zero latent has cosine 0, not NaN. Sums in double.
 */
#include <math.h>
#include <stdio.h>

#include "priors_internal.h"

#define KAPPA_MAX 100.0
#define NORM_EPS 1e-12

static int cosine_nparams(int D)
{
    (void)D;
    return 1;
}

static double kappa_of(const float *theta, int *clamped)
{
    double lk = theta[0], lmax = log(KAPPA_MAX);
    if (clamped)
        *clamped = lk > lmax;
    return exp(lk > lmax ? lmax : lk);
}

static double norm(const float *z, int D)
{
    double ss = NORM_EPS;
    for (int d = 0; d < D; d++)
        ss += (double)z[d] * z[d];
    return sqrt(ss);
}

static double dot(const float *a, const float *b, int D)
{
    double acc = 0;
    for (int d = 0; d < D; d++)
        acc += (double)a[d] * b[d];
    return acc;
}

/* s_ij = kappa z_i . z'_j / (|z_i| |z'_j|) */
static void cosine_logits(float *s, const float *theta, const float *z, const float *zp, int B, int D)
{
    double kappa = kappa_of(theta, NULL);
    for (int i = 0; i < B; i++) {
        double ni = norm(z + i * D, D);
        for (int j = 0; j < B; j++)
            s[i * B + j] = (float)(kappa * dot(z + i * D, zp + j * D, D) / (ni * norm(zp + j * D, D)));
    }
}

/* With c = z.z'/(|z||z'|): dc/dz = z'/(|z||z'|) - c z/|z|^2 (and the same
 * with z, z' swapped); ds/dlog kappa = kappa c = s below the clamp. */
static void cosine_logits_backward(float *dz, float *dzp, float *dtheta, const float *ds,
                                   const float *theta, const float *z, const float *zp, int B, int D)
{
    int clamped;
    double kappa = kappa_of(theta, &clamped), dth = 0;
    for (int i = 0; i < B; i++) {
        const float *zi = z + i * D;
        double ni = norm(zi, D);
        for (int j = 0; j < B; j++) {
            const float *zj = zp + j * D;
            double nj = norm(zj, D), c = dot(zi, zj, D) / (ni * nj), g = ds[i * B + j] * kappa;
            for (int d = 0; d < D; d++) {
                if (dz)
                    dz[i * D + d] += (float)(g * (zj[d] / (ni * nj) - c * zi[d] / (ni * ni)));
                if (dzp)
                    dzp[j * D + d] += (float)(g * (zi[d] / (ni * nj) - c * zj[d] / (nj * nj)));
            }
            dth += g * c;
        }
    }
    if (dtheta && !clamped)
        dtheta[0] += (float)dth;
}

/* kappa = W0, or the kappa that gives the first batch's logits unit spread */
static double cosine_init(float *theta, const ssvae_train_config *cfg, const float *z,
                          const float *zp, int B, int D, ssvae_rng *rng)
{
    (void)rng;
    double kappa = cfg->W0;
    if (!(kappa > 0)) {
        theta[0] = 0.0f; /* kappa = 1 */
        kappa = prior_unit_spread_gain(cosine_logits, theta, z, zp, B, D);
    }
    if (kappa > KAPPA_MAX)
        kappa = KAPPA_MAX;
    theta[0] = (float)log(kappa);
    return kappa;
}

static void cosine_describe(char *buf, size_t len, const float *theta, int D)
{
    (void)D;
    int clamped;
    double kappa = kappa_of(theta, &clamped);
    snprintf(buf, len, "kappa=%.4g%s", kappa, clamped ? " (max)" : "");
}

const ssvae_prior_ops ssvae_prior_cosine_ops = {
    .name = "cosine",
    .density = "P(z'|z) ∝ Q(z') exp(kappa cos(z, z')): von Mises-Fisher, z' points where z does, its length free",
    .choose = "the SimCLR/CLIP critic; direction matters, not position: a poor fit for coordinates",
    .nparams = cosine_nparams,
    .init = cosine_init,
    .freeze = prior_freeze_scale0,
    .logits = cosine_logits,
    .logits_backward = cosine_logits_backward,
    .describe = cosine_describe,
};
