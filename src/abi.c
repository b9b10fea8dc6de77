/*
 * abi.c — the sizes of the public structs, by name, so that a binding which
 * mirrors them field for field (python/ssvae/_lib.py, through ctypes) can
 * refuse to run against a library whose structs have changed, instead of
 * reading the wrong bytes.
 */
#include <string.h>

#include "ssvae.h"
#include "theory.h"

typedef struct struct_size {
    const char *name;
    size_t size;
} struct_size;

#define ENTRY(T) {#T, sizeof(T)}

static const struct_size sizes[] = {
    ENTRY(ssvae_error),          ENTRY(ssvae_rng),           ENTRY(ssvae_array),
    ENTRY(ssvae_balls_config),   ENTRY(ssvae_prior_ops),     ENTRY(ssvae_model_config),
    ENTRY(ssvae_model),          ENTRY(ssvae_train_config),  ENTRY(ssvae_epoch_stats),
    ENTRY(ssvae_train_result),   ENTRY(ssvae_train_data),    ENTRY(ssvae_train_state),
    ENTRY(ssvae_eval),           ENTRY(ssvae_show_options),  ENTRY(theory_row),
    ENTRY(theory_curve_point),   ENTRY(theory_curve),        ENTRY(theory_report),
};

size_t ssvae_struct_size(const char *name)
{
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if (!strcmp(sizes[i].name, name))
            return sizes[i].size;
    return 0;
}

int ssvae_prior_count(void)
{
    return SSVAE_PRIOR_COUNT;
}
