/*
 * checkpoint.c — a model as a safetensors file. Tensor names follow
 * PyTorch's for the same network (conv1.weight, bn1.running_mean, ...), so
 * a PyTorch user can load them with load_state_dict(strict=False) (we store
 * no num_batches_tracked). The head is "prior.theta" (the prior's
 * parameters: [log L] for gaussian, W row-major for linear) or
 * "head.weight" / "head.bias" for the supervised baseline.
 *
 * __metadata__ (all strings): format "ssvae", format_version "1",
 * ssvae_version, head ("supervised" or the prior's name), units, C, H, W,
 * F, K; callers may add more (the training recipe, for instance).
 *
 * A resumable checkpoint (ssvae_train_save) is the same file with two more
 * tensors, optim.m and optim.v, and the training state and recipe in the
 * metadata; ssvae_model_load reads it as a plain model, ignoring them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssvae.h"

#define FORMAT_VERSION "1"

/* The model's tensors in file order; returns their count. */
static int model_tensors(const ssvae_model *m, ssvae_tensor *t, float *const *stats_src)
{
    const ssvae_model_config *c = &m->cfg;
    int F = c->F, K = c->K, C = c->C, D = m->D, n = 0;
#define T1(nm, ptr, a) t[n++] = (ssvae_tensor){(char *)(nm), 1, {a}, (ptr)}
#define T2(nm, ptr, a, b) t[n++] = (ssvae_tensor){(char *)(nm), 2, {a, b}, (ptr)}
#define T4(nm, ptr, a, b, cc, d) t[n++] = (ssvae_tensor){(char *)(nm), 4, {a, b, cc, d}, (ptr)}
    T4("conv1.weight", m->conv1_w, F, C, 3, 3);
    T1("conv1.bias", m->conv1_b, F);
    T1("bn1.weight", m->bn1_w, F);
    T1("bn1.bias", m->bn1_b, F);
    T1("bn1.running_mean", stats_src[0], F);
    T1("bn1.running_var", stats_src[1], F);
    T4("conv2.weight", m->conv2_w, K, F, 3, 3);
    T1("conv2.bias", m->conv2_b, K);
    T1("bn2.weight", m->bn2_w, K);
    T1("bn2.bias", m->bn2_b, K);
    T1("bn2.running_mean", stats_src[2], K);
    T1("bn2.running_var", stats_src[3], K);
    if (c->supervised) {
        T2("head.weight", m->head, D, D);
        T1("head.bias", m->head + (size_t)D * D, D);
    } else {
        T1("prior.theta", m->head, (int64_t)m->nhead);
    }
#undef T1
#undef T2
#undef T4
    return n;
}

/* Elements in a tensor's shape. */
static int64_t tensor_count(const ssvae_tensor *t)
{
    int64_t count = 1;
    for (int d = 0; d < t->ndim; d++) count *= t->shape[d];
    return count;
}

/* 0 if every value of t is finite; otherwise fills err with
 * "PATH: WHAT: tensor 'NAME' holds a non-finite value (nan at element I)". */
static int check_finite(const ssvae_tensor *t, const char *path, const char *what, ssvae_error *err)
{
    int64_t n = tensor_count(t);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(t->data[i]))
            return ssvae_fail(err, "%s: %s: tensor '%s' holds a non-finite value (%g at element %lld)", path,
                              what, t->name, (double)t->data[i], (long long)i);
    return 0;
}

/* The model's tensors, then more (xt, nxt), and its metadata, then extra,
 * to path through a temporary file. */
static int model_write(const ssvae_model *m, const char *path, const ssvae_tensor *xt, int nxt,
                       const ssvae_meta *extra, int nextra, ssvae_error *err)
{
    ssvae_tensor t[16 + 4];
    float *stats[4] = {m->bn1_mean, m->bn1_var, m->bn2_mean, m->bn2_var};
    int n = model_tensors(m, t, stats);
    if (nxt < 0 || nxt > 4) return ssvae_fail(err, "%s: too many extra tensors", path);
    for (int i = 0; i < nxt; i++) t[n++] = xt[i];
    /* Nothing non-finite is ever saved: such a checkpoint cannot be good,
     * and a NaN hidden by a ReLU would spread on resuming. */
    for (int i = 0; i < n; i++)
        if (check_finite(&t[i], path, "not saved", err)) return -1;
    const ssvae_model_config *c = &m->cfg;
    char vals[8][32];
    snprintf(vals[0], 32, "%.17g", c->units);
    snprintf(vals[1], 32, "%d", c->C);
    snprintf(vals[2], 32, "%d", c->H);
    snprintf(vals[3], 32, "%d", c->W);
    snprintf(vals[4], 32, "%d", c->F);
    snprintf(vals[5], 32, "%d", c->K);
    const char *head = c->supervised ? "supervised" : ssvae_prior_get(c->prior)->name;
    ssvae_meta base[] = {
        {"format", "ssvae"}, {"format_version", FORMAT_VERSION},
        {"ssvae_version", SSVAE_VERSION}, {"head", (char *)head},
        {"units", vals[0]}, {"C", vals[1]}, {"H", vals[2]}, {"W", vals[3]},
        {"F", vals[4]}, {"K", vals[5]},
    };
    int nbase = (int)(sizeof base / sizeof *base);
    if (nextra < 0 || nextra > 64) return ssvae_fail(err, "%s: too many metadata entries", path);
    ssvae_meta meta[16 + 64];
    memcpy(meta, base, sizeof base);
    for (int i = 0; i < nextra; i++) meta[nbase + i] = extra[i];
    return ssvae_st_write(path, t, n, meta, nbase + nextra, err);
}

int ssvae_model_save(const ssvae_model *m, const char *path,
                     const ssvae_meta *extra, int nextra, ssvae_error *err)
{
    if (nextra < 0 || nextra > 32) return ssvae_fail(err, "%s: too many metadata entries", path);
    return model_write(m, path, NULL, 0, extra, nextra, err);
}

/* Reads an integer metadata entry into *out; fails naming the key. */
static int meta_int(const ssvae_checkpoint *ck, const char *path, const char *key,
                    int lo, int hi, int *out, ssvae_error *err)
{
    const char *v = ssvae_st_meta(ck, key);
    char *end, vb[44];
    if (!v) return ssvae_fail(err, "%s: not an ssvae checkpoint (no '%s' in the metadata)", path, key);
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi)
        return ssvae_fail(err, "%s: metadata '%s' = '%s' is not an integer in [%d, %d]", path, key,
                          ssvae_printable(vb, sizeof vb, v), lo, hi);
    *out = (int)x;
    return 0;
}

/* The model described by the checkpoint ck (read from path) into m. */
static int model_from_ck(ssvae_model *m, const ssvae_checkpoint *ck, const char *path,
                         ssvae_error *err)
{
    memset(m, 0, sizeof *m);
    int rc = -1;
    ssvae_model_config cfg;
    ssvae_model_config_default(&cfg);
    char vb[44];
    const char *fmt = ssvae_st_meta(ck, "format"), *ver = ssvae_st_meta(ck, "format_version");
    const char *head = ssvae_st_meta(ck, "head"), *units = ssvae_st_meta(ck, "units");
    if (!fmt || strcmp(fmt, "ssvae")) {
        ssvae_fail(err, "%s: not an ssvae checkpoint (metadata 'format' is not \"ssvae\")", path);
        goto done;
    }
    if (!ver || strcmp(ver, FORMAT_VERSION)) {
        ssvae_fail(err, "%s: checkpoint format version %s, this ssvae reads %s", path,
                   ver ? ssvae_printable(vb, sizeof vb, ver) : "(none)", FORMAT_VERSION);
        goto done;
    }
    if (meta_int(ck, path, "C", 1, 4096, &cfg.C, err) || meta_int(ck, path, "H", 1, 1 << 16, &cfg.H, err) ||
        meta_int(ck, path, "W", 1, 1 << 16, &cfg.W, err) || meta_int(ck, path, "F", 1, 4096, &cfg.F, err) ||
        meta_int(ck, path, "K", 1, 4096, &cfg.K, err))
        goto done;
    char *end;
    cfg.units = units ? strtod(units, &end) : 0;
    if (!units || *end) {
        ssvae_fail(err, "%s: metadata 'units' is missing or not a number", path);
        goto done;
    }
    if (!head) {
        ssvae_fail(err, "%s: metadata 'head' is missing", path);
        goto done;
    }
    cfg.supervised = !strcmp(head, "supervised");
    if (!cfg.supervised && ssvae_prior_lookup(head, &cfg.prior)) {
        ssvae_fail(err, "%s: unknown prior '%s'", path, ssvae_printable(vb, sizeof vb, head));
        goto done;
    }
    ssvae_error inner;
    if (ssvae_model_init(m, &cfg, 0, &inner)) {
        ssvae_fail(err, "%s: %s", path, inner.msg);
        goto done;
    }
    ssvae_tensor want[16];
    float *stats[4] = {m->bn1_mean, m->bn1_var, m->bn2_mean, m->bn2_var};
    int n = model_tensors(m, want, stats);
    for (int i = 0; i < n; i++) {
        const ssvae_tensor *got = ssvae_st_find(ck, want[i].name);
        if (!got) {
            ssvae_fail(err, "%s: tensor '%s' is missing", path, want[i].name);
            goto done;
        }
        int same = got->ndim == want[i].ndim;
        for (int d = 0; same && d < got->ndim; d++) same = got->shape[d] == want[i].shape[d];
        if (!same) {
            ssvae_fail(err, "%s: tensor '%s' has the wrong shape for this architecture", path, want[i].name);
            goto done;
        }
        if (check_finite(got, path, "refused", err)) goto done;
        memcpy(want[i].data, got->data, (size_t)tensor_count(got) * sizeof(float));
    }
    rc = 0;
done:
    if (rc) ssvae_model_free(m);
    return rc;
}

int ssvae_model_load(ssvae_model *m, const char *path, ssvae_error *err)
{
    ssvae_checkpoint ck;
    memset(m, 0, sizeof *m);
    if (ssvae_st_read(path, &ck, err)) return -1;
    int rc = model_from_ck(m, &ck, path, err);
    ssvae_st_free(&ck);
    return rc;
}

/* ---- Resumable training checkpoints ---------------------------------- */

/* "a,b,c" with %.17g (exact for doubles); malloc'd. */
static char *join_doubles(const double *x, int n)
{
    char *s = malloc((size_t)n * 26 + 1), *p = s;
    if (!s) return NULL;
    *p = '\0';
    for (int i = 0; i < n; i++) p += sprintf(p, "%s%.17g", i ? "," : "", x[i]);
    return s;
}

/* Parses exactly n comma-separated finite numbers into out (n). */
static int split_doubles(const char *s, double *out, int n)
{
    if (n == 0) return *s ? -1 : 0;
    for (int i = 0; i < n; i++) {
        char *end;
        if (*s == ' ' || *s == '\0') return -1;
        out[i] = strtod(s, &end);
        if (end == s || !isfinite(out[i])) return -1;
        if (i + 1 < n && *end != ',') return -1;
        s = end + (i + 1 < n);
        if (i + 1 == n && *end) return -1;
    }
    return 0;
}

int ssvae_train_save(const char *path, const ssvae_model *m,
                     const ssvae_train_config *cfg, const ssvae_train_state *st,
                     const ssvae_meta *extra, int nextra, ssvae_error *err)
{
    if (st->n != m->nparams || !st->m || !st->v || st->epoch < 0)
        return ssvae_fail(err, "%s: training state does not match the model", path);
    if (nextra < 0 || nextra > 32) return ssvae_fail(err, "%s: too many metadata entries", path);
    char v[16][40], rng[72];
    /* Every field of ssvae_train_config: a field added there must be added
     * here and in ssvae_train_load, or resuming would change the run. */
    snprintf(v[0], 40, "%d", st->epoch);
    snprintf(v[1], 40, "%lld", (long long)st->step);
    snprintf(v[2], 40, "%.17g", st->init_value);
    snprintf(v[3], 40, "%s", cfg->optim == SSVAE_ADAM ? "adam" : "sgd");
    snprintf(v[4], 40, "%.17g", cfg->lr);
    snprintf(v[5], 40, "%.17g", cfg->momentum);
    snprintf(v[6], 40, "%d", cfg->epochs);
    snprintf(v[7], 40, "%d", cfg->batch);
    snprintf(v[8], 40, "%d", cfg->offset);
    snprintf(v[9], 40, "%llu", (unsigned long long)cfg->seed);
    snprintf(v[10], 40, "%.17g", cfg->L0);
    snprintf(v[11], 40, "%d", cfg->learn_L ? 1 : 0);
    snprintf(v[12], 40, "%.17g", cfg->W0);
    snprintf(v[13], 40, "%.17g", cfg->bn2_gain);
    snprintf(v[14], 40, "%.17g", cfg->bn2_bias);
    for (int i = 0; i < 4; i++) snprintf(rng + 16 * i, 17, "%016llx", (unsigned long long)st->shuffle.s[i]);
    char *losses = join_doubles(st->loss, st->epoch), *elbos = join_doubles(st->elbo, st->epoch);
    if (!losses || !elbos) {
        free(losses);
        free(elbos);
        return ssvae_fail(err, "%s: out of memory", path);
    }
    ssvae_meta meta[64] = {
        {"epoch", v[0]}, {"optim_step", v[1]}, {"init_value", v[2]}, {"rng", rng},
        {"losses", losses}, {"elbos", elbos},
        {"train.optim", v[3]}, {"train.lr", v[4]}, {"train.momentum", v[5]},
        {"train.epochs", v[6]}, {"train.batch", v[7]}, {"train.offset", v[8]},
        {"train.seed", v[9]}, {"train.L0", v[10]}, {"train.learn_L", v[11]}, {"train.W0", v[12]},
        {"train.bn2_gain", v[13]}, {"train.bn2_bias", v[14]},
    };
    int nm = 18;
    for (int i = 0; i < nextra; i++) meta[nm++] = extra[i];
    ssvae_tensor xt[2] = {{"optim.m", 1, {(int64_t)st->n}, st->m}, {"optim.v", 1, {(int64_t)st->n}, st->v}};
    int rc = model_write(m, path, xt, 2, meta, nm, err);
    free(losses);
    free(elbos);
    return rc;
}

void ssvae_train_state_free(ssvae_train_state *st)
{
    free(st->m);
    free(st->v);
    free(st->loss);
    free(st->elbo);
    memset(st, 0, sizeof *st);
}

/* A number entry of the training metadata, finite and in [lo, hi]. */
static int meta_double(const ssvae_checkpoint *ck, const char *path, const char *key,
                       double lo, double hi, double *out, ssvae_error *err)
{
    const char *v = ssvae_st_meta(ck, key);
    char *end, vb[44];
    if (!v) return ssvae_fail(err, "%s: not a resumable checkpoint (no '%s' in the metadata)", path, key);
    double x = strtod(v, &end);
    if (end == v || *end || !isfinite(x) || x < lo || x > hi)
        return ssvae_fail(err, "%s: metadata '%s' = '%s' is not a number in [%g, %g]", path, key,
                          ssvae_printable(vb, sizeof vb, v), lo, hi);
    *out = x;
    return 0;
}

static int state_from_ck(const ssvae_checkpoint *ck, const char *path, const ssvae_model *m,
                         ssvae_train_config *cfg, ssvae_train_state *st, ssvae_error *err)
{
    char vb[44];
    const char *key[] = {"epoch", "optim_step", "rng", "losses", "elbos", "train.optim", "train.seed"};
    for (size_t i = 0; i < sizeof key / sizeof *key; i++)
        if (!ssvae_st_meta(ck, key[i]))
            return ssvae_fail(err, "%s: not a resumable checkpoint (no '%s' in the metadata; "
                              "it holds a model only)", path, key[i]);
    ssvae_train_config_default(cfg);
    double x;
    if (meta_int(ck, path, "epoch", 0, 100000000, &st->epoch, err)) return -1;
    if (meta_double(ck, path, "optim_step", 0, 9e15, &x, err)) return -1;
    st->step = (int64_t)x;
    if (x != (double)st->step) return ssvae_fail(err, "%s: metadata 'optim_step' is not an integer", path);
    if (meta_double(ck, path, "init_value", -1e300, 1e300, &st->init_value, err)) return -1;
    const char *rng = ssvae_st_meta(ck, "rng");
    if (strlen(rng) != 64 || strspn(rng, "0123456789abcdef") != 64)
        return ssvae_fail(err, "%s: metadata 'rng' is not 64 hex digits", path);
    for (int i = 0; i < 4; i++) {
        char word[17];
        memcpy(word, rng + 16 * i, 16);
        word[16] = '\0';
        st->shuffle.s[i] = strtoull(word, NULL, 16);
    }
    const char *optim = ssvae_st_meta(ck, "train.optim");
    if (ssvae_optim_lookup(optim, &cfg->optim))
        return ssvae_fail(err, "%s: metadata 'train.optim' = '%s' is not sgd or adam", path, ssvae_printable(vb, sizeof vb, optim));
    if (meta_double(ck, path, "train.lr", 1e-300, 1e300, &cfg->lr, err) ||
        meta_double(ck, path, "train.momentum", 0, 1, &cfg->momentum, err) ||
        meta_int(ck, path, "train.epochs", 0, 100000000, &cfg->epochs, err) ||
        meta_int(ck, path, "train.batch", 2, 4096, &cfg->batch, err) ||
        meta_int(ck, path, "train.offset", 1, 1 << 30, &cfg->offset, err) ||
        meta_double(ck, path, "train.L0", 0, 1e300, &cfg->L0, err) ||
        meta_int(ck, path, "train.learn_L", 0, 1, &cfg->learn_L, err) ||
        meta_double(ck, path, "train.W0", 0, 1e300, &cfg->W0, err))
        return -1;
    /* Checkpoints from before the encoder's start was a recipe choice
     * lack these two: they started at PyTorch's gamma 1, beta 0. */
    if ((ssvae_st_meta(ck, "train.bn2_gain") &&
         meta_double(ck, path, "train.bn2_gain", -1e300, 1e300, &cfg->bn2_gain, err)) ||
        (ssvae_st_meta(ck, "train.bn2_bias") &&
         meta_double(ck, path, "train.bn2_bias", -1e300, 1e300, &cfg->bn2_bias, err)))
        return -1;
    const char *seed = ssvae_st_meta(ck, "train.seed");
    char *end;
    errno = 0;
    cfg->seed = strtoull(seed, &end, 10);
    if (end == seed || *end || errno || seed[0] == '-')
        return ssvae_fail(err, "%s: metadata 'train.seed' = '%s' is not an integer", path, ssvae_printable(vb, sizeof vb, seed));
    if (st->epoch > cfg->epochs)
        return ssvae_fail(err, "%s: metadata 'epoch' (%d) is past 'train.epochs' (%d)", path, st->epoch, cfg->epochs);
    const char *name[2] = {"optim.m", "optim.v"};
    float **dst[2] = {&st->m, &st->v};
    st->n = m->nparams;
    for (int i = 0; i < 2; i++) {
        const ssvae_tensor *t = ssvae_st_find(ck, name[i]);
        if (!t) return ssvae_fail(err, "%s: not a resumable checkpoint (tensor '%s' is missing)", path, name[i]);
        if (t->ndim != 1 || t->shape[0] != (int64_t)m->nparams)
            return ssvae_fail(err, "%s: tensor '%s' has the wrong shape for this architecture (%zu parameters)",
                              path, name[i], m->nparams);
        if (check_finite(t, path, "refused", err)) return -1;
        *dst[i] = malloc(m->nparams * sizeof(float));
        if (!*dst[i]) return ssvae_fail(err, "%s: out of memory", path);
        memcpy(*dst[i], t->data, m->nparams * sizeof(float));
    }
    /* a number a finished epoch in each list, checked before anything the
     * size of 'epoch' is allocated */
    const char *lists[2] = {ssvae_st_meta(ck, "losses"), ssvae_st_meta(ck, "elbos")};
    for (int i = 0; i < 2; i++) {
        size_t commas = 0;
        for (const char *c = lists[i]; *c; c++) commas += *c == ',';
        if (st->epoch == 0 ? lists[i][0] != '\0' : commas + 1 != (size_t)st->epoch)
            return ssvae_fail(err, "%s: metadata 'losses' or 'elbos' is not %d numbers", path, st->epoch);
    }
    size_t ne = (size_t)st->epoch + 1;
    st->loss = calloc(ne, sizeof(double));
    st->elbo = calloc(ne, sizeof(double));
    if (!st->loss || !st->elbo) return ssvae_fail(err, "%s: out of memory", path);
    if (split_doubles(ssvae_st_meta(ck, "losses"), st->loss, st->epoch) ||
        split_doubles(ssvae_st_meta(ck, "elbos"), st->elbo, st->epoch))
        return ssvae_fail(err, "%s: metadata 'losses' or 'elbos' is not %d numbers", path, st->epoch);
    return 0;
}

int ssvae_train_load(const char *path, ssvae_model *m, ssvae_train_config *cfg,
                     ssvae_train_state *st, ssvae_error *err)
{
    ssvae_checkpoint ck;
    memset(m, 0, sizeof *m);
    memset(st, 0, sizeof *st);
    if (ssvae_st_read(path, &ck, err)) return -1;
    int rc = model_from_ck(m, &ck, path, err);
    if (!rc && state_from_ck(&ck, path, m, cfg, st, err)) {
        rc = -1;
        ssvae_train_state_free(st);
        ssvae_model_free(m);
    }
    ssvae_st_free(&ck);
    return rc;
}
