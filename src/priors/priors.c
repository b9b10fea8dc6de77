/*
 * priors.c — the table of priors (InfoNCE critics). Each row is one prior's
 * ops struct (log f, its gradients, its description), indexed by
 * ssvae_prior_kind; looking a prior up by name walks the same table, so a
 * new prior is one row here and never an extra `if` elsewhere.
 */
#include <assert.h>
#include <string.h>

#include "priors_internal.h"

static const ssvae_prior_ops *const prior_table[SSVAE_PRIOR_COUNT] = {
    [SSVAE_PRIOR_GAUSSIAN] = &ssvae_prior_gaussian_ops,
    [SSVAE_PRIOR_LINEAR] = &ssvae_prior_linear_ops,
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
