/*
 * mlp.c — a flexible critic, log f(z, z') = w2 . tanh(W1 [z; z'] + b1):
 * one hidden layer of MLP_HIDDEN tanh units on the pair (the "better
 * mutual-information estimator" that need not be a better representation
 * learner). It stands for P(z'|z) ∝ Q(z') exp(MLP(z, z')), a prior with no
 * built-in notion of nearness or motion: it must learn one.
 *
 * theta = [W1 (MLP_HIDDEN x 2D, row h: D weights on z, then D on z'), b1
 * (MLP_HIDDEN), w2 (MLP_HIDDEN)]. The output bias is left out: InfoNCE is
 * blind to a constant. The first layer splits as u_i + v_j (u_i = W1_z z_i
 * + b1, v_j = W1_z' z'_j), so a batch costs B^2 MLP_HIDDEN tanh calls.
 * tanh rather than ReLU: smooth, so finite differences check it exactly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "priors_internal.h"

#define MLP_HIDDEN 32

static int mlp_nparams(int D)
{
    return MLP_HIDDEN * (2 * D + 2);
}

static double *scratch(size_t n)
{
    double *p = calloc(n, sizeof *p);
    if (!p)
        abort();
    return p;
}

/* u (B, H) = W1_z z + b1 and v (B, H) = W1_z' z' */
static void first_layer(double *u, double *v, const float *theta, const float *z, const float *zp,
                        int B, int D)
{
    const float *W1 = theta, *b1 = theta + MLP_HIDDEN * 2 * D;
    for (int i = 0; i < B; i++)
        for (int h = 0; h < MLP_HIDDEN; h++) {
            double a = b1[h], c = 0;
            for (int d = 0; d < D; d++) {
                a += (double)W1[h * 2 * D + d] * z[i * D + d];
                c += (double)W1[h * 2 * D + D + d] * zp[i * D + d];
            }
            u[i * MLP_HIDDEN + h] = a;
            v[i * MLP_HIDDEN + h] = c;
        }
}

static void mlp_logits(float *s, const float *theta, const float *z, const float *zp, int B, int D)
{
    const float *w2 = theta + MLP_HIDDEN * (2 * D + 1);
    double *u = scratch((size_t)2 * B * MLP_HIDDEN), *v = u + (size_t)B * MLP_HIDDEN;
    first_layer(u, v, theta, z, zp, B, D);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double acc = 0;
            for (int h = 0; h < MLP_HIDDEN; h++)
                acc += (double)w2[h] * tanh(u[i * MLP_HIDDEN + h] + v[j * MLP_HIDDEN + h]);
            s[i * B + j] = (float)acc;
        }
    free(u);
}

/* a = tanh(u_i + v_j): ds/dw2 = a, ds/du_i = ds/dv_j = w2 (1 - a^2); then
 * through the first layer. */
static void mlp_logits_backward(float *dz, float *dzp, float *dtheta, const float *ds,
                                const float *theta, const float *z, const float *zp, int B, int D)
{
    const float *W1 = theta, *w2 = theta + MLP_HIDDEN * (2 * D + 1);
    size_t BH = (size_t)B * MLP_HIDDEN;
    double *u = scratch(4 * BH + MLP_HIDDEN), *v = u + BH, *du = v + BH, *dv = du + BH, *dw2 = dv + BH;
    first_layer(u, v, theta, z, zp, B, D);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            double g = ds[i * B + j];
            for (int h = 0; h < MLP_HIDDEN; h++) {
                double a = tanh(u[i * MLP_HIDDEN + h] + v[j * MLP_HIDDEN + h]);
                double dpre = g * w2[h] * (1 - a * a);
                dw2[h] += g * a;
                du[i * MLP_HIDDEN + h] += dpre;
                dv[j * MLP_HIDDEN + h] += dpre;
            }
        }
    for (int i = 0; i < B; i++)
        for (int d = 0; d < D; d++) {
            double az = 0, azp = 0;
            for (int h = 0; h < MLP_HIDDEN; h++) {
                az += W1[h * 2 * D + d] * du[i * MLP_HIDDEN + h];
                azp += W1[h * 2 * D + D + d] * dv[i * MLP_HIDDEN + h];
            }
            if (dz)
                dz[i * D + d] += (float)az;
            if (dzp)
                dzp[i * D + d] += (float)azp;
        }
    if (dtheta) {
        float *dW1 = dtheta, *db1 = dtheta + MLP_HIDDEN * 2 * D, *dw2f = db1 + MLP_HIDDEN;
        for (int h = 0; h < MLP_HIDDEN; h++) {
            double db = 0;
            for (int d = 0; d < D; d++) {
                double a = 0, c = 0;
                for (int i = 0; i < B; i++) {
                    a += du[i * MLP_HIDDEN + h] * z[i * D + d];
                    c += dv[i * MLP_HIDDEN + h] * zp[i * D + d];
                }
                dW1[h * 2 * D + d] += (float)a;
                dW1[h * 2 * D + D + d] += (float)c;
            }
            for (int i = 0; i < B; i++)
                db += du[i * MLP_HIDDEN + h];
            db1[h] += (float)db;
            dw2f[h] += (float)dw2[h];
        }
    }
    free(u);
}

/* PyTorch's nn.Linear start (uniform in +-1/sqrt(fan_in)) for both layers,
 * then w2 scaled by W0, or so that the first batch's logits have unit
 * spread. Returns that gain. */
static double mlp_init(float *theta, const ssvae_train_config *cfg, const float *z,
                       const float *zp, int B, int D, ssvae_rng *rng)
{
    int P = mlp_nparams(D), first = MLP_HIDDEN * (2 * D + 1);
    double b1 = 1 / sqrt(2.0 * D), b2 = 1 / sqrt((double)MLP_HIDDEN);
    for (int k = 0; k < P; k++)
        theta[k] = (float)((k < first ? b1 : b2) * (2 * ssvae_rng_uniform(rng) - 1));
    double gain = cfg->W0;
    if (!(gain > 0))
        gain = prior_unit_spread_gain(mlp_logits, theta, z, zp, B, D);
    for (int k = first; k < P; k++)
        theta[k] = (float)(theta[k] * gain);
    return gain;
}

/* "|W1|=1.2 |w2|=0.8" (Frobenius norms) */
static void mlp_describe(char *buf, size_t len, const float *theta, int D)
{
    double a = 0, c = 0;
    for (int k = 0; k < MLP_HIDDEN * 2 * D; k++)
        a += (double)theta[k] * theta[k];
    for (int h = 0; h < MLP_HIDDEN; h++)
        c += (double)theta[MLP_HIDDEN * (2 * D + 1) + h] * theta[MLP_HIDDEN * (2 * D + 1) + h];
    snprintf(buf, len, "|W1|=%.3g |w2|=%.3g", sqrt(a), sqrt(c));
}

const ssvae_prior_ops ssvae_prior_mlp_ops = {
    .name = "mlp",
    .density = "P(z'|z) ∝ Q(z') exp(MLP(z, z')): any smooth relation between z and z', learned",
    .choose = "a flexible critic (a tighter mutual-information bound); no built-in structure to localise with",
    .nparams = mlp_nparams,
    .init = mlp_init,
    .freeze = prior_freeze_none,
    .logits = mlp_logits,
    .logits_backward = mlp_logits_backward,
    .describe = mlp_describe,
};
