/*
 * recipe.c — the training recipe as flags: a named preset, then any flag
 * given explicitly on top of it. The presets are a table:
 *
 *   paper    the paper's words taken literally: plain SGD, lr 0.005, 30
 *            epochs, 30 pairs, normalised latents, L0 = 1 and W0 = I. Every
 *            logit starts equal and nothing trains (SPEC section 3).
 *   default  what the sweep in docs/experiments.md found to work; the demo
 *            uses it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct preset {
    const char *name;
    const char *optim;
    double lr;
    int epochs, batch;
    const char *L0, *W0, *units;
    int fix_L;
    double bn2_gain, bn2_bias; /* the last batch norm's starting gamma, beta */
} preset;

static const preset presets[] = {
    {"default", "sgd", 0.005, 30, 30, "0.01", "1", "norm", 0, 1, 0},
    {"paper", "sgd", 0.005, 30, 30, "1", "1", "norm", 0, 1, 0},
};

void cli_recipe_init(cli_recipe *r)
{
    memset(r, 0, sizeof *r);
    r->preset = "default";
    r->lr = -1;
    r->momentum = -1;
    r->epochs = -1;
    r->batch = -1;
    r->bn2_gain = NAN;
    r->bn2_bias = NAN;
    r->seed = 1;
}

void cli_recipe_flags(cli_recipe *r, cli_flag *f, int *n)
{
    f[(*n)++] = (cli_flag){"preset", FLAG_STRING, &r->preset, "recipe to start from: default or paper", 0, -1};
    f[(*n)++] = (cli_flag){"optim", FLAG_STRING, &r->optim, "optimiser: sgd or adam (preset)", 0, -1};
    f[(*n)++] = (cli_flag){"lr", FLAG_DOUBLE, &r->lr, "learning rate (preset: 0.005)", 1e-12, 100};
    f[(*n)++] = (cli_flag){"momentum", FLAG_DOUBLE, &r->momentum, "SGD momentum (preset: 0)", 0, 0.999999};
    f[(*n)++] = (cli_flag){"epochs", FLAG_INT, &r->epochs, "passes over all pairs (preset: 30)", 0, 100000};
    f[(*n)++] = (cli_flag){"batch", FLAG_INT, &r->batch, "pairs a batch (preset: 30)", 2, 4096};
    f[(*n)++] = (cli_flag){"L0", FLAG_STRING, &r->L0, "gaussian: initial length scale, or 'data' (RMS |z-z'| of the first batch)", 0, -1};
    f[(*n)++] = (cli_flag){"fix-L", FLAG_BOOL, &r->fix_L, "gaussian: hold L at L0 instead of learning it", 0, -1};
    f[(*n)++] = (cli_flag){"W0", FLAG_STRING, &r->W0, "linear: W = W0 I, or 'data' (first batch's logits get unit spread)", 0, -1};
    f[(*n)++] = (cli_flag){"nu", FLAG_DOUBLE, &r->nu, "student-t: degrees of freedom (1: Cauchy; large: Gaussian)", 1e-3, 1e6};
    f[(*n)++] = (cli_flag){"bn2-gain", FLAG_DOUBLE, &r->bn2_gain, "starting gamma of the last batch norm, every map (preset: 1)", -100, 100};
    f[(*n)++] = (cli_flag){"bn2-bias", FLAG_DOUBLE, &r->bn2_bias, "starting beta of the last batch norm: maps start as sigmoid(gain x + bias) (preset: 0)", -100, 100};
    f[(*n)++] = (cli_flag){"units", FLAG_STRING, &r->units, "latent units the prior sees: norm ([0,1]) or px", 0, -1};
    f[(*n)++] = (cli_flag){"seed", FLAG_U64, &r->seed, "initialisation and shuffling seed", 0, -1};
}

/* "data" -> 0 (choose from the data), a positive number -> itself. */
static int scale_value(const char *cmd, const char *flag, const char *text, double *out)
{
    if (!strcmp(text, "data")) {
        *out = 0;
        return 0;
    }
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || !(v > 0) || v > 1e6)
        return cli_error(cmd, 2, "--%s: '%s' must be 'data' or a positive number", flag, text);
    *out = v;
    return 0;
}

int cli_recipe_resolve(const char *cmd, const cli_recipe *r, int W,
                       ssvae_train_config *tc, double *units)
{
    const preset *p = NULL;
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (!strcmp(presets[i].name, r->preset)) p = &presets[i];
    if (!p) return cli_error(cmd, 2, "--preset: unknown preset '%s' (default, paper)", r->preset);
    ssvae_train_config_default(tc);
    const char *optim = r->optim ? r->optim : p->optim;
    if (ssvae_optim_lookup(optim, &tc->optim))
        return cli_error(cmd, 2, "--optim: unknown optimiser '%s' (sgd, adam)", optim);
    tc->lr = r->lr > 0 ? r->lr : p->lr;
    tc->momentum = r->momentum >= 0 ? r->momentum : 0.0;
    tc->epochs = r->epochs >= 0 ? r->epochs : p->epochs;
    tc->batch = r->batch > 0 ? r->batch : p->batch;
    tc->seed = r->seed;
    tc->learn_L = !(r->fix_L || p->fix_L);
    if (r->nu > 0) tc->nu = r->nu;
    tc->bn2_gain = isnan(r->bn2_gain) ? p->bn2_gain : r->bn2_gain;
    tc->bn2_bias = isnan(r->bn2_bias) ? p->bn2_bias : r->bn2_bias;
    if (scale_value(cmd, "L0", r->L0 ? r->L0 : p->L0, &tc->L0)) return 2;
    if (scale_value(cmd, "W0", r->W0 ? r->W0 : p->W0, &tc->W0)) return 2;
    if (!tc->learn_L && tc->L0 <= 0)
        return cli_error(cmd, 2, "--fix-L needs a number for --L0");
    const char *u = r->units ? r->units : p->units;
    if (!strcmp(u, "norm")) *units = 1.0;
    else if (!strcmp(u, "px")) *units = W;
    else return cli_error(cmd, 2, "--units: '%s' must be norm or px", u);
    return 0;
}

void cli_recipe_describe(const ssvae_train_config *tc, double units, int W,
                         char *buf, size_t len)
{
    char L0[32], W0[32];
    if (tc->L0 > 0) snprintf(L0, sizeof L0, "%g", tc->L0); else snprintf(L0, sizeof L0, "data");
    if (tc->W0 > 0) snprintf(W0, sizeof W0, "%g", tc->W0); else snprintf(W0, sizeof W0, "data");
    snprintf(buf, len, "%s lr=%g%s epochs=%d batch=%d L0=%s%s W0=%s bn2_gain=%g bn2_bias=%g units=%s seed=%llu",
             tc->optim == SSVAE_ADAM ? "adam" : "sgd", tc->lr,
             tc->momentum > 0 ? " momentum" : "", tc->epochs, tc->batch, L0,
             tc->learn_L ? "" : " (fixed)", W0, tc->bn2_gain, tc->bn2_bias,
             units == 1.0 ? "norm" : "px", (unsigned long long)tc->seed);
    (void)W;
}
