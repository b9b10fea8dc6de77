/*
 * linear.c — the bilinear critic of the original InfoNCE,
 * log f(z, z') = z^T W z' (paper Eq. 5), which stands for the prior
 * P(z'|z) ∝ Q(z') exp(z^T W z') (Eq. 34).
 *
 * theta = W, (D, D) row-major: W[a*D + b] couples z_a with z'_b. Sums run in
 * double; inputs and outputs are float. B pairs, D latents; z, zp are (B, D).
 */
#include <math.h>
#include <stdio.h>

#include "priors_internal.h"

static int linear_nparams(int D)
{
    return D * D;
}

/* s_ij = z_i^T W z'_j  (Eq. 5) */
static void linear_logits(float *s, const float *theta, const float *z,
                          const float *zp, int B, int D)
{
    for (int i = 0; i < B; i++) {
        for (int j = 0; j < B; j++) {
            double acc = 0.0;
            for (int a = 0; a < D; a++) {
                double wz = 0.0; /* (W z'_j)_a */
                for (int b = 0; b < D; b++)
                    wz += (double)theta[a * D + b] * (double)zp[j * D + b];
                acc += (double)z[i * D + a] * wz;
            }
            s[i * B + j] = (float)acc;
        }
    }
}

/* dz_i += sum_j ds_ij W z'_j,  dz'_j += sum_i ds_ij W^T z_i,
 * dW += sum_ij ds_ij z_i z'_j^T  (derivatives of Eq. 5) */
static void linear_logits_backward(float *dz, float *dzp, float *dtheta,
                                   const float *ds, const float *theta,
                                   const float *z, const float *zp, int B,
                                   int D)
{
    const float *W = theta;
    if (dz) {
        for (int i = 0; i < B; i++) {
            for (int a = 0; a < D; a++) {
                double acc = 0.0;
                for (int j = 0; j < B; j++) {
                    double wz = 0.0;
                    for (int b = 0; b < D; b++)
                        wz += (double)W[a * D + b] * (double)zp[j * D + b];
                    acc += (double)ds[i * B + j] * wz;
                }
                dz[i * D + a] += (float)acc;
            }
        }
    }
    if (dzp) {
        for (int j = 0; j < B; j++) {
            for (int b = 0; b < D; b++) {
                double acc = 0.0;
                for (int i = 0; i < B; i++) {
                    double wtz = 0.0;
                    for (int a = 0; a < D; a++)
                        wtz += (double)W[a * D + b] * (double)z[i * D + a];
                    acc += (double)ds[i * B + j] * wtz;
                }
                dzp[j * D + b] += (float)acc;
            }
        }
    }
    if (dtheta) {
        for (int a = 0; a < D; a++) {
            for (int b = 0; b < D; b++) {
                double acc = 0.0;
                for (int i = 0; i < B; i++) {
                    double row = 0.0; /* sum_j ds_ij z'_jb */
                    for (int j = 0; j < B; j++)
                        row += (double)ds[i * B + j] * (double)zp[j * D + b];
                    acc += (double)z[i * D + a] * row;
                }
                dtheta[a * D + b] += (float)acc;
            }
        }
    }
}

/* W = a I: a = W0, or the gain that gives the first batch's logits at
 * W = I unit spread (SPEC section 3: start where the loss has a gradient) */
static double linear_init(float *theta, const ssvae_train_config *cfg, const float *z,
                          const float *zp, int B, int D, ssvae_rng *rng)
{
    (void)rng;
    double a = cfg->W0;
    for (int i = 0; i < D * D; i++)
        theta[i] = i % (D + 1) == 0 ? 1.0f : 0.0f;
    if (!(a > 0))
        a = prior_unit_spread_gain(linear_logits, theta, z, zp, B, D);
    for (int i = 0; i < D * D; i++)
        theta[i] = i % (D + 1) == 0 ? (float)a : 0.0f;
    return a;
}

/* "|W|=1.234": the Frobenius norm sqrt(sum_ab W_ab^2) */
static void linear_describe(char *buf, size_t len, const float *theta, int D)
{
    double ss = 0.0;
    for (int k = 0; k < D * D; k++)
        ss += (double)theta[k] * (double)theta[k];
    snprintf(buf, len, "|W|=%.4g", sqrt(ss));
}

const ssvae_prior_ops ssvae_prior_linear_ops = {
    .name = "linear",
    .density = "P(z'|z) ∝ Q(z') exp(z^T W z'): z' pushed along W^T z without limit, no notion of nearness (Eq. 34)",
    .choose = "the usual InfoNCE critic (CPC); the paper's counter-example: no notion of nearness",
    .nparams = linear_nparams,
    .init = linear_init,
    .freeze = prior_freeze_none,
    .logits = linear_logits,
    .logits_backward = linear_logits_backward,
    .describe = linear_describe,
};
