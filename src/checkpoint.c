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
 */
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

int ssvae_model_save(const ssvae_model *m, const char *path,
                     const ssvae_meta *extra, int nextra, ssvae_error *err)
{
    ssvae_tensor t[16];
    float *stats[4] = {m->bn1_mean, m->bn1_var, m->bn2_mean, m->bn2_var};
    int n = model_tensors(m, t, stats);
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
    if (nextra < 0 || nextra > 32) return ssvae_fail(err, "%s: too many metadata entries", path);
    ssvae_meta meta[64];
    memcpy(meta, base, sizeof base);
    for (int i = 0; i < nextra; i++) meta[nbase + i] = extra[i];
    return ssvae_st_write(path, t, n, meta, nbase + nextra, err);
}

/* Reads an integer metadata entry into *out; fails naming the key. */
static int meta_int(const ssvae_checkpoint *ck, const char *path, const char *key,
                    int lo, int hi, int *out, ssvae_error *err)
{
    const char *v = ssvae_st_meta(ck, key);
    char *end;
    if (!v) return ssvae_fail(err, "%s: not an ssvae checkpoint (no '%s' in the metadata)", path, key);
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi)
        return ssvae_fail(err, "%s: metadata '%s' = '%s' is not an integer in [%d, %d]", path, key, v, lo, hi);
    *out = (int)x;
    return 0;
}

int ssvae_model_load(ssvae_model *m, const char *path, ssvae_error *err)
{
    ssvae_checkpoint ck;
    memset(m, 0, sizeof *m);
    if (ssvae_st_read(path, &ck, err)) return -1;
    int rc = -1;
    ssvae_model_config cfg;
    ssvae_model_config_default(&cfg);
    const char *fmt = ssvae_st_meta(&ck, "format"), *ver = ssvae_st_meta(&ck, "format_version");
    const char *head = ssvae_st_meta(&ck, "head"), *units = ssvae_st_meta(&ck, "units");
    if (!fmt || strcmp(fmt, "ssvae")) {
        ssvae_fail(err, "%s: not an ssvae checkpoint (metadata 'format' is not \"ssvae\")", path);
        goto done;
    }
    if (!ver || strcmp(ver, FORMAT_VERSION)) {
        ssvae_fail(err, "%s: checkpoint format version %s, this ssvae reads %s", path,
                   ver ? ver : "(none)", FORMAT_VERSION);
        goto done;
    }
    if (meta_int(&ck, path, "C", 1, 4096, &cfg.C, err) || meta_int(&ck, path, "H", 1, 1 << 16, &cfg.H, err) ||
        meta_int(&ck, path, "W", 1, 1 << 16, &cfg.W, err) || meta_int(&ck, path, "F", 1, 4096, &cfg.F, err) ||
        meta_int(&ck, path, "K", 1, 4096, &cfg.K, err))
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
        ssvae_fail(err, "%s: unknown prior '%s'", path, head);
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
        const ssvae_tensor *got = ssvae_st_find(&ck, want[i].name);
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
        int64_t count = 1;
        for (int d = 0; d < got->ndim; d++) count *= got->shape[d];
        memcpy(want[i].data, got->data, (size_t)count * sizeof(float));
    }
    rc = 0;
done:
    if (rc) ssvae_model_free(m);
    ssvae_st_free(&ck);
    return rc;
}
