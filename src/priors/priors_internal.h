/*
 * priors_internal.h — what the prior table (priors.c) needs from the files
 * that implement one prior each, and the few helpers they share. Not
 * public: users reach a prior through ssvae_prior_get / ssvae_prior_lookup.
 *
 * To add a prior (docs/priors.md): a value in ssvae_prior_kind (ssvae.h),
 * a file here that defines its ops struct, a line below, and a row in
 * priors.c. Nothing else in ssvae knows a prior by name.
 */
#ifndef SSVAE_PRIORS_INTERNAL_H
#define SSVAE_PRIORS_INTERNAL_H

#include "ssvae.h"

extern const ssvae_prior_ops ssvae_prior_gaussian_ops;      /* gaussian.c */
extern const ssvae_prior_ops ssvae_prior_linear_ops;        /* linear.c */
extern const ssvae_prior_ops ssvae_prior_cosine_ops;        /* cosine.c */
extern const ssvae_prior_ops ssvae_prior_gaussian_diag_ops; /* gaussian_diag.c */
extern const ssvae_prior_ops ssvae_prior_student_t_ops;     /* student_t.c */
extern const ssvae_prior_ops ssvae_prior_dynamics_ops;      /* dynamics.c */
extern const ssvae_prior_ops ssvae_prior_mlp_ops;           /* mlp.c */
extern const ssvae_prior_ops ssvae_prior_hinge_ops;         /* hinge.c */

/* The length scale a distance prior starts from: cfg->L0 if positive,
 * else sqrt(mean_i |z_i - z'_i|^2) over the B positive pairs (1e-6 if
 * every pair is identical). */
double prior_start_length(const struct ssvae_train_config *cfg, const float *z,
                          const float *zp, int B, int D);

/* An init op for priors whose theta[0] is log L and nothing else starts:
 * L from prior_start_length; returns L. */
double prior_init_log_length(float *theta, const struct ssvae_train_config *cfg, const float *z,
                             const float *zp, int B, int D, ssvae_rng *rng);

/* The gain g that gives the logits of theta on the first batch, g * s,
 * unit spread: 1 / std_ij of the row-centred s (B, B) (1 when they do not
 * vary). logits is the prior's own op. */
double prior_unit_spread_gain(void (*logits)(float *s, const float *theta, const float *z,
                                             const float *zp, int B, int D),
                              const float *theta, const float *z, const float *zp, int B, int D);

/* freeze ops: nothing held fixed, and only entry 0 (a scale) held fixed
 * when the recipe fixes the scale. */
void prior_freeze_none(uint8_t *frozen, const struct ssvae_train_config *cfg, int D);
void prior_freeze_scale0(uint8_t *frozen, const struct ssvae_train_config *cfg, int D);

#endif
