/*
 * student_t.c — the Student-t prior, P(z'|z) = t_nu(z'; z, L^2 I): the
 * critic log f(z, z') = -(nu + D)/2 log(1 + |z - z'|^2 / (nu L^2)).
 * Heavy tails: a far negative costs log-distance, not squared distance,
 * so a few large jumps (a bounce, a wrong frame) do not dominate. nu -> inf
 * gives the Gaussian prior; nu = 1 is the Cauchy (t-SNE's kernel).
 *
 * theta = [log L, log nu]: L learned (or fixed), nu held at the recipe's
 * --nu (it lives in theta so a checkpoint carries it). Sums in double.
 */
#include <math.h>
#include <stdio.h>

#include "priors_internal.h"

static int student_nparams(int D)
{
    (void)D;
    return 2;
}

static double sqdist(const float *a, const float *b, int D)
{
    double acc = 0;
    for (int d = 0; d < D; d++) {
        double diff = (double)a[d] - b[d];
        acc += diff * diff;
    }
    return acc;
}

/* s_ij = -(nu + D)/2 log(1 + q_ij),  q_ij = |z_i - z'_j|^2 / (nu L^2) */
static void student_logits(float *s, const float *theta, const float *z, const float *zp, int B, int D)
{
    double nu = exp((double)theta[1]), inv = exp(-2.0 * (double)theta[0]) / nu;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++)
            s[i * B + j] = (float)(-0.5 * (nu + D) * log1p(sqdist(z + i * D, zp + j * D, D) * inv));
}

/* ds/dz_i = -(nu + D) (z_i - z'_j) / (nu L^2 (1 + q)) = -ds/dz'_j,
 * ds/dlog L = (nu + D) q / (1 + q),
 * ds/dlog nu = -nu/2 log(1 + q) + (nu + D) q / (2 (1 + q)) */
static void student_logits_backward(float *dz, float *dzp, float *dtheta, const float *ds,
                                    const float *theta, const float *z, const float *zp, int B, int D)
{
    double nu = exp((double)theta[1]), inv = exp(-2.0 * (double)theta[0]) / nu;
    double dl = 0, dn = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double g = ds[i * B + j], q = sqdist(z + i * D, zp + j * D, D) * inv;
            double c = -g * (nu + D) * inv / (1 + q);
            for (int d = 0; d < D; d++) {
                double diff = (double)z[i * D + d] - zp[j * D + d];
                if (dz)
                    dz[i * D + d] += (float)(c * diff);
                if (dzp)
                    dzp[j * D + d] += (float)(-c * diff);
            }
            dl += g * (nu + D) * q / (1 + q);
            dn += g * (-0.5 * nu * log1p(q) + 0.5 * (nu + D) * q / (1 + q));
        }
    if (dtheta) {
        dtheta[0] += (float)dl;
        dtheta[1] += (float)dn;
    }
}

static double student_init(float *theta, const ssvae_train_config *cfg, const float *z,
                           const float *zp, int B, int D, ssvae_rng *rng)
{
    double L = prior_init_log_length(theta, cfg, z, zp, B, D, rng);
    theta[1] = (float)log(cfg->nu > 0 ? cfg->nu : 1.0);
    return L;
}

/* nu is a recipe choice, never trained */
static void student_freeze(uint8_t *frozen, const ssvae_train_config *cfg, int D)
{
    (void)D;
    frozen[0] = !cfg->learn_L;
    frozen[1] = 1;
}

static void student_describe(char *buf, size_t len, const float *theta, int D)
{
    (void)D;
    snprintf(buf, len, "L=%.4g nu=%.3g", exp((double)theta[0]), exp((double)theta[1]));
}

const ssvae_prior_ops ssvae_prior_student_t_ops = {
    .name = "student-t",
    .density = "P(z'|z) = t_nu(z'; z, L^2 I): like the Gaussian near z, with heavy tails (nu degrees of freedom)",
    .choose = "the Gaussian prior's nearness, but robust to occasional large jumps; set nu with --nu",
    .nparams = student_nparams,
    .init = student_init,
    .freeze = student_freeze,
    .logits = student_logits,
    .logits_backward = student_logits_backward,
    .describe = student_describe,
};
