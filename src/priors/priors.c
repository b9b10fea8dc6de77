/*
 * priors.c — the table of priors (InfoNCE critics). Each row is one prior's
 * ops struct (its start, log f and its gradients, its description, and
 * optionally its own loss), indexed by ssvae_prior_kind; looking a prior up
 * by name walks the same table, so a new prior is one row here and never
 * an extra `if` elsewhere. Also the helpers the rows share.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "priors_internal.h"

static const ssvae_prior_ops *const prior_table[SSVAE_PRIOR_COUNT] = {
    [SSVAE_PRIOR_GAUSSIAN] = &ssvae_prior_gaussian_ops,
    [SSVAE_PRIOR_LINEAR] = &ssvae_prior_linear_ops,
    [SSVAE_PRIOR_COSINE] = &ssvae_prior_cosine_ops,
    [SSVAE_PRIOR_GAUSSIAN_DIAG] = &ssvae_prior_gaussian_diag_ops,
    [SSVAE_PRIOR_STUDENT_T] = &ssvae_prior_student_t_ops,
    [SSVAE_PRIOR_DYNAMICS] = &ssvae_prior_dynamics_ops,
    [SSVAE_PRIOR_MLP] = &ssvae_prior_mlp_ops,
    [SSVAE_PRIOR_HINGE] = &ssvae_prior_hinge_ops,
};

/* The ops of one prior. kind out of range is a programmer error. */
const ssvae_prior_ops *ssvae_prior_get(ssvae_prior_kind kind)
{
    assert((int)kind >= 0 && kind < SSVAE_PRIOR_COUNT && prior_table[kind]);
    return prior_table[kind];
}

/* The kind whose ops name is `name` (exact, case-sensitive); -1 if none
 * (kind untouched). */
int ssvae_prior_lookup(const char *name, ssvae_prior_kind *kind)
{
    if (!name)
        return -1;
    for (int k = 0; k < SSVAE_PRIOR_COUNT; k++) {
        if (prior_table[k] && strcmp(prior_table[k]->name, name) == 0) {
            if (kind)
                *kind = (ssvae_prior_kind)k;
            return 0;
        }
    }
    return -1;
}

const char *ssvae_prior_names(char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (int k = 0; k < SSVAE_PRIOR_COUNT && used < len; k++) {
        int n = snprintf(buf + used, len - used, "%s%s", k ? ", " : "", prior_table[k]->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

double ssvae_prior_loss(const ssvae_prior_ops *ops, float *ds, const float *s, int B)
{
    return ops->loss ? ops->loss(ds, s, B) : ssvae_infonce(ds, s, B);
}

double prior_start_length(const ssvae_train_config *cfg, const float *z,
                          const float *zp, int B, int D)
{
    if (cfg->L0 > 0)
        return cfg->L0;
    double ss = 0;
    for (int i = 0; i < B * D; i++)
        ss += ((double)z[i] - zp[i]) * ((double)z[i] - zp[i]);
    double L = sqrt(ss / B);
    return L > 0 ? L : 1e-6; /* identical frames: any small L */
}

double prior_init_log_length(float *theta, const ssvae_train_config *cfg, const float *z,
                             const float *zp, int B, int D, ssvae_rng *rng)
{
    (void)rng;
    double L = prior_start_length(cfg, z, zp, B, D);
    theta[0] = (float)log(L);
    return L;
}

double prior_unit_spread_gain(void (*logits)(float *s, const float *theta, const float *z,
                                             const float *zp, int B, int D),
                              const float *theta, const float *z, const float *zp, int B, int D)
{
    float *s0 = malloc((size_t)B * B * sizeof *s0);
    if (!s0)
        abort();
    logits(s0, theta, z, zp, B, D);
    double s1 = 0, s2 = 0;
    for (int i = 0; i < B; i++) {
        double mean = 0;
        for (int j = 0; j < B; j++)
            mean += (double)s0[i * B + j] / B;
        for (int j = 0; j < B; j++) {
            double c = s0[i * B + j] - mean;
            s1 += c;
            s2 += c * c;
        }
    }
    free(s0);
    double n = (double)B * B, var = s2 / n - (s1 / n) * (s1 / n);
    return var > 0 ? 1.0 / sqrt(var) : 1.0;
}

void prior_freeze_none(uint8_t *frozen, const ssvae_train_config *cfg, int D)
{
    (void)cfg;
    (void)frozen;
    (void)D; /* the caller cleared the mask */
}

void prior_freeze_scale0(uint8_t *frozen, const ssvae_train_config *cfg, int D)
{
    (void)D;
    frozen[0] = !cfg->learn_L;
}
