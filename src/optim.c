/*
 * optim.c — SGD (with optional momentum) and Adam over one flat parameter
 * buffer, following PyTorch's torch.optim.SGD and torch.optim.Adam (no
 * weight decay, no Nesterov, no AMSGrad) so that learning rates carry over.
 *
 * State is kept in float (m: SGD velocity or Adam first moment; v: Adam
 * second moment); each update is computed in double and rounded once.
 * Frozen entries are skipped entirely: their parameter and state stay as
 * they were (a frozen L keeps its value, and unfreezing it later resumes
 * from untouched moments). The step counter counts calls, frozen or not.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ssvae.h"

/* Zeroed state; lr and kind as given; momentum 0; Adam betas (0.9, 0.999),
 * eps 1e-8. The caller may change lr, momentum, betas, eps afterwards. Out
 * of memory aborts (the state is a few floats per parameter). */
void ssvae_optim_init(ssvae_optim *opt, ssvae_optim_kind kind, double lr, size_t n)
{
    memset(opt, 0, sizeof *opt);
    opt->kind = kind;
    opt->lr = lr;
    opt->momentum = 0.0;
    opt->beta1 = 0.9;
    opt->beta2 = 0.999;
    opt->eps = 1e-8;
    opt->step = 0;
    opt->n = n;
    size_t cnt = n ? n : 1;
    opt->m = calloc(cnt, sizeof *opt->m);
    opt->v = calloc(cnt, sizeof *opt->v);
    if (!opt->m || !opt->v)
        abort();
}

void ssvae_optim_free(ssvae_optim *opt)
{
    if (!opt)
        return;
    free(opt->m);
    free(opt->v);
    memset(opt, 0, sizeof *opt);
}

/* SGD:  v = mu v + g;  p -= lr v   (mu = 0: p -= lr g)
 * Adam: m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *       p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),  t = step */
void ssvae_optim_step(ssvae_optim *opt, float *params, const float *grads,
                      const uint8_t *frozen)
{
    assert(opt && opt->m && opt->v);
    opt->step++;
    const double lr = opt->lr;
    switch (opt->kind) {
    case SSVAE_SGD: {
        const double mu = opt->momentum;
        for (size_t k = 0; k < opt->n; k++) {
            if (frozen && frozen[k])
                continue;
            double g = grads[k];
            if (mu != 0.0) {
                double vel = mu * (double)opt->m[k] + g;
                opt->m[k] = (float)vel;
                g = vel;
            }
            params[k] = (float)((double)params[k] - lr * g);
        }
        break;
    }
    case SSVAE_ADAM: {
        const double b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps;
        const double bc1 = 1.0 - pow(b1, (double)opt->step);
        const double bc2 = 1.0 - pow(b2, (double)opt->step);
        for (size_t k = 0; k < opt->n; k++) {
            if (frozen && frozen[k])
                continue;
            double g = grads[k];
            double m = b1 * (double)opt->m[k] + (1.0 - b1) * g;
            double v = b2 * (double)opt->v[k] + (1.0 - b2) * g * g;
            opt->m[k] = (float)m;
            opt->v[k] = (float)v;
            double mhat = m / bc1, vhat = v / bc2;
            params[k] = (float)((double)params[k] - lr * mhat / (sqrt(vhat) + eps));
        }
        break;
    }
    default:
        assert(!"unknown optimiser kind");
    }
}

/* "sgd" or "adam" (exact); -1 if neither (kind untouched). */
int ssvae_optim_lookup(const char *name, ssvae_optim_kind *kind)
{
    static const struct {
        const char *name;
        ssvae_optim_kind kind;
    } names[] = {{"sgd", SSVAE_SGD}, {"adam", SSVAE_ADAM}};
    if (!name)
        return -1;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (strcmp(names[k].name, name) == 0) {
            if (kind)
                *kind = names[k].kind;
            return 0;
        }
    }
    return -1;
}
