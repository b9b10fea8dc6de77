/*
 * priors_internal.h — what the prior table (priors.c) needs from the files
 * that implement one prior each (gaussian.c, linear.c, ...). Not public:
 * users reach a prior through ssvae_prior_get / ssvae_prior_lookup.
 *
 * To add a prior: a value in ssvae_prior_kind (ssvae.h), a file here that
 * defines its ops struct, a line below, and a row in priors.c.
 */
#ifndef SSVAE_PRIORS_INTERNAL_H
#define SSVAE_PRIORS_INTERNAL_H

#include "ssvae.h"

extern const ssvae_prior_ops ssvae_prior_gaussian_ops; /* gaussian.c */
extern const ssvae_prior_ops ssvae_prior_linear_ops;   /* linear.c */

#endif
