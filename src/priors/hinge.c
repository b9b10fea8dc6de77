/*
 * hinge.c — the contrastive energy of structured world models (C-SWM), as
 * a comparison point that is not InfoNCE. The energy of a pair is the
 * Gaussian prior's squared distance, E_ij = |z_i - z'_j|^2 / (2 L^2) (so
 * s_ij = -E_ij, and its predictive map is that Gaussian), but the loss is
 *   mean_i [ E_ii + 1/(B-1) sum_{j != i} max(0, MARGIN - E_ij) ]:
 * positives pulled together, negatives pushed out to the margin and no
 * further. It is not a log-likelihood bound, so a run reports no ELBO.
 *
 * theta = [log L], never trained: with the margin fixed, L sets the
 * distance in latent units at which negatives stop pushing (C-SWM fixes
 * it too). It starts at L0 or, from the data, the RMS pair distance.
 */
#include <math.h>
#include <stdio.h>

#include "priors_internal.h"

#define MARGIN 1.0

static int hinge_nparams(int D)
{
    (void)D;
    return 1;
}

static void hinge_logits(float *s, const float *theta, const float *z, const float *zp, int B, int D)
{
    ssvae_prior_gaussian_ops.logits(s, theta, z, zp, B, D);
}

static void hinge_logits_backward(float *dz, float *dzp, float *dtheta, const float *ds,
                                  const float *theta, const float *z, const float *zp, int B, int D)
{
    ssvae_prior_gaussian_ops.logits_backward(dz, dzp, dtheta, ds, theta, z, zp, B, D);
}

/* loss = mean_i [-s_ii + 1/(B-1) sum_{j!=i} max(0, MARGIN + s_ij)] */
static double hinge_loss(float *ds, const float *s, int B)
{
    double loss = 0, wn = B > 1 ? 1.0 / (B - 1) : 0.0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double v = s[i * B + j], g = 0;
            if (i == j) {
                loss -= v;
                g = -1.0;
            } else if (MARGIN + v > 0) {
                loss += wn * (MARGIN + v);
                g = wn;
            }
            if (ds)
                ds[i * B + j] = (float)(g / B);
        }
    return loss / B;
}

static void hinge_freeze(uint8_t *frozen, const ssvae_train_config *cfg, int D)
{
    (void)cfg;
    (void)D;
    frozen[0] = 1;
}

static void hinge_describe(char *buf, size_t len, const float *theta, int D)
{
    (void)D;
    snprintf(buf, len, "L=%.4g margin=%g", exp((double)theta[0]), MARGIN);
}

const ssvae_prior_ops ssvae_prior_hinge_ops = {
    .name = "hinge",
    .density = "energy |z - z'|^2 / (2 L^2) with a hinge on the negatives (C-SWM); not a normalised P(z'|z)",
    .choose = "a non-InfoNCE comparison point: the contrastive loss of structured world models",
    .nparams = hinge_nparams,
    .init = prior_init_log_length,
    .freeze = hinge_freeze,
    .logits = hinge_logits,
    .logits_backward = hinge_logits_backward,
    .describe = hinge_describe,
    .loss = hinge_loss,
};
