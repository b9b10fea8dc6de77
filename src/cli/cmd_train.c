/*
 * cmd_train.c — `ssvae train`, `ssvae probe` and `ssvae encode`: one model
 * trained on a video (any form: docs/own-video.md) and saved as a
 * resumable safetensors checkpoint; a model, or latents from .npy files,
 * scored against true centres or the user's own targets; a model's latents
 * written as .npy.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dist.h"

/* ---- train ---------------------------------------------------------- */

/* What the per-epoch hook needs. prog comes first: the same ctx goes to
 * cli_progress_epoch, which reads it as a cli_progress. */
typedef struct save_ctx {
    cli_progress prog;
    const char *path;          /* --save */
    int every;                 /* --save-every (0: only at the end) */
    const ssvae_train_config *tc;
    const ssvae_meta *meta;    /* recipe, data, pairs */
    int nmeta;
    int saved_epoch;           /* last epoch written, 0 if none */
} save_ctx;

/* Writes the checkpoint every `every` epochs and after the last. */
static int save_epoch(void *ctx, const ssvae_model *m, const ssvae_train_state *st, ssvae_error *err)
{
    save_ctx *s = ctx;
    int last = st->epoch == s->tc->epochs;
    if (!last && !(s->every > 0 && st->epoch % s->every == 0)) return 0;
    if (ssvae_train_save(s->path, m, s->tc, st, s->meta, s->nmeta, err)) return -1;
    s->saved_epoch = st->epoch;
    return 0;
}

/* 1 if any recipe flag was given (they are refused with --resume). */
static int recipe_given(const cli_recipe *r)
{
    return strcmp(r->preset, "default") || r->optim || r->lr > 0 || r->momentum >= 0 ||
           r->batch > 0 || r->L0 || r->W0 || r->units || r->fix_L || r->nu > 0 || r->seed != 1 ||
           !isnan(r->bn2_gain) || !isnan(r->bn2_bias);
}

int cmd_train(int argc, char **argv)
{
    static const char default_save[] = "model.safetensors", default_prior[] = "gaussian";
    const char *data = "data", *test = NULL, *prior_name = default_prior, *save = default_save;
    const char *pairs = NULL, *resume = NULL, *cache = NULL;
    int quiet = 0, K = 0, offset = 0, every = 0;
    cli_recipe r;
    cli_recipe_init(&r);
    cli_flag flags[40] = {
        {"data", FLAG_STRING, &data, "training video: a .npy file, or a folder of frames.npy or PNG frames", 0, -1},
        {"pairs", FLAG_STRING, &pairs, "paired data: a second video aligned with --data; pair t is (data[t], pairs[t])", 0, -1},
        {"offset", FLAG_INT, &offset, "pairs are frames (t, t + offset); 0: 1, or the checkpoint's", 0, 1000000},
        {"test", FLAG_STRING, &test, "held-out video folder with centres.npy: score the model on it after training", 0, -1},
        {"prior", FLAG_STRING, &prior_name, "a prior of the table (ssvae compare --help lists them: gaussian, linear, ...) or supervised", 0, -1},
        {"maps", FLAG_INT, &K, "maps (objects) K, so z has 2K latents; 0: the balls in centres.npy, or 3", 0, SSVAE_MAXBALLS},
        {"save", FLAG_STRING, &save, "checkpoint to write at the end (safetensors; with --resume: the resumed file)", 0, -1},
        {"save-every", FLAG_INT, &every, "also write the checkpoint every N epochs (0: only at the end)", 0, 1000000},
        {"resume", FLAG_STRING, &resume, "continue the run saved in this checkpoint, with its recipe; --epochs sets the new total", 0, -1},
        {"quiet", FLAG_BOOL, &quiet, "no progress line", 0, -1},
        {"cache", FLAG_STRING, &cache, "folder for decoded PNG/float videos and patch moments, made once and mapped (videos larger than memory)", 0, -1},
    };
    int n = 11;
    cli_recipe_flags(&r, flags, &n);
    int rc = cli_parse("train", "Trains the encoder of Fig. 2 on pairs of frames of a video with the\n"
                       "InfoNCE loss of a prior (or, for 'supervised', on the true centres). The\n"
                       "checkpoint can be resumed: stopping and resuming gives the same numbers\n"
                       "as a run never stopped (docs/own-video.md).",
                       flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    int supervised = !strcmp(prior_name, "supervised");
    ssvae_prior_kind prior = SSVAE_PRIOR_GAUSSIAN;
    if (!supervised && ssvae_prior_lookup(prior_name, &prior)) {
        char names[256];
        return cli_error("train", 2, "--prior: unknown prior '%s' (%s, supervised)", prior_name,
                         ssvae_prior_names(names, sizeof names));
    }
    if (supervised && pairs)
        return cli_error("train", 2, "--pairs: the supervised baseline trains on single frames, not pairs");
    if (pairs && offset)
        return cli_error("train", 2, "--offset and --pairs exclude each other (a pair is data[t], pairs[t])");
    if (resume && recipe_given(&r))
        return cli_error("train", 2, "--resume continues the recipe saved in %s; of the recipe flags only --epochs may be given", resume);
    /* A bad recipe is bad usage (status 2) even before the video is read;
     * it is resolved again below with the frame width. */
    ssvae_train_config tc;
    double units = 1;
    if (!resume && cli_recipe_resolve("train", &r, 1, &tc, &units)) return 2;

    ssvae_error err;
    /* The output before any work: not a device or FIFO, not an input. */
    const char *inputs[] = {data, pairs, test};
    if (ssvae_output_check(save == default_save && resume ? resume : save, inputs, 3, &err))
        return cli_error("train", 1, "--save %s", err.msg);
    ssvae_model m = {0};
    ssvae_train_state state = {0};
    cli_video tv = {0}, pv = {0}, sv = {0};
    ssvae_array moments[2] = {{0}};
    rc = 1;
    /* Under MPI every rank trains; rank 0 alone speaks and writes. */
    int root = dist_rank() == 0;
    if (!root) quiet = 1;
    if (cache && cli_make_dir(cache, &err)) {
        rc = cli_error("train", 1, "--cache: %s", err.msg);
        goto done;
    }
    if (resume) {
        /* The model, the optimiser, the shuffle and the recipe come from the file. */
        int epochs_asked = r.epochs;
        if (ssvae_train_load(resume, &m, &tc, &state, &err)) {
            cli_error("train", 1, "%s", err.msg);
            goto done;
        }
        const char *head = m.cfg.supervised ? "supervised" : ssvae_prior_get(m.cfg.prior)->name;
        if (prior_name != default_prior && strcmp(prior_name, head)) {
            cli_error("train", 1, "%s: the checkpoint trains the %s prior, not %s", resume, head, prior_name);
            goto done;
        }
        if (K && K != m.cfg.K) {
            cli_error("train", 1, "%s: the checkpoint has %d maps, not %d", resume, m.cfg.K, K);
            goto done;
        }
        if (offset && offset != tc.offset) {
            cli_error("train", 1, "%s: the checkpoint pairs frames %d apart, not %d", resume, tc.offset, offset);
            goto done;
        }
        if (epochs_asked >= 0) tc.epochs = epochs_asked;
        if (tc.epochs < state.epoch) {
            rc = cli_error("train", 2, "--epochs: %s has already trained %d epochs", resume, state.epoch);
            goto done;
        }
        if (save == default_save) save = resume;
        supervised = m.cfg.supervised;
        prior = m.cfg.prior;
        prior_name = head;
        units = m.cfg.units;
    }
    if (resume) { /* the frame size from the header, before decoding the video */
        int64_t sh[4];
        if (ssvae_video_shape(data, sh, &err)) {
            cli_error("train", 1, "%s", err.msg);
            goto done;
        }
        if (sh[1] != m.cfg.H || sh[2] != m.cfg.W || sh[3] != m.cfg.C) {
            cli_error("train", 1, "%s: the checkpoint expects %dx%dx%d frames, %s has %lldx%lldx%lld", resume,
                      m.cfg.W, m.cfg.H, m.cfg.C, data, (long long)sh[2], (long long)sh[1], (long long)sh[3]);
            goto done;
        }
    }
    if (cli_open_video_cached("train", data, cache, &tv, supervised || test, quiet)) goto done;
    if (pairs) {
        if (cli_open_video_cached("train", pairs, cache, &pv, 0, quiet)) goto done;
        if (pv.T != tv.T || pv.H != tv.H || pv.W != tv.W || pv.C != tv.C) {
            cli_error("train", 1, "%s: %d frames of %dx%dx%d, but %s has %d of %dx%dx%d: paired videos must match",
                      pairs, pv.T, pv.W, pv.H, pv.C, data, tv.T, tv.W, tv.H, tv.C);
            goto done;
        }
    }
    if (resume) {
        if (tv.H != m.cfg.H || tv.W != m.cfg.W || tv.C != m.cfg.C) {
            cli_error("train", 1, "%s: the checkpoint expects %dx%dx%d frames, %s has %dx%dx%d", resume,
                      m.cfg.W, m.cfg.H, m.cfg.C, data, tv.W, tv.H, tv.C);
            goto done;
        }
    } else {
        if (cli_recipe_resolve("train", &r, tv.W, &tc, &units)) {
            rc = 2;
            goto done;
        }
        tc.offset = offset ? offset : 1;
    }
    if (!pairs && tv.T < tc.offset + 2) { /* two pairs at the least: the video's fault, said with its name */
        cli_error("train", 1, "%s: %d frames; pairs %d apart need at least %d", data, tv.T, tc.offset,
                  tc.offset + 2);
        goto done;
    }
    if (test && (cli_open_video("train", test, &sv, 1, quiet))) goto done;
    if (test && (sv.H != tv.H || sv.W != tv.W || sv.C != tv.C || sv.K != tv.K)) {
        cli_error("train", 1, "%s: %dx%dx%d frames with %d balls, but %s has %dx%dx%d frames with %d balls", test,
                  sv.W, sv.H, sv.C, sv.K, data, tv.W, tv.H, tv.C, tv.K);
        goto done;
    }
    if (!resume) {
        ssvae_model_config mc;
        ssvae_model_config_default(&mc);
        mc.C = tv.C; mc.H = tv.H; mc.W = tv.W;
        mc.K = K ? K : tv.K ? tv.K : 3;
        if (tv.K && K && K != tv.K && (supervised || test)) {
            rc = cli_error("train", 2, "--maps %d: the centres hold %d balls", K, tv.K);
            goto done;
        }
        mc.supervised = supervised; mc.prior = prior; mc.units = units;
        if (ssvae_model_init(&m, &mc, tc.seed, &err)) {
            cli_error("train", 1, "%s", err.msg);
            goto done;
        }
    }

    char recipe[320], base[256];
    cli_recipe_describe(&tc, units, tv.W, base, sizeof base);
    if (pairs) snprintf(recipe, sizeof recipe, "%s pairs=aligned", base);
    else snprintf(recipe, sizeof recipe, "%s offset=%d", base, tc.offset);
    if (!quiet) {
        if (resume) fprintf(stderr, "ssvae train: resuming %s at epoch %d of %d: %s prior, %s\n", resume,
                            state.epoch, tc.epochs, prior_name, recipe);
        else fprintf(stderr, "ssvae train: %s prior, %d maps, %s\n", prior_name, m.cfg.K, recipe);
    }
    ssvae_meta meta[] = {{"recipe", recipe}, {"data", (char *)data}, {"pairs", (char *)(pairs ? pairs : "")}};
    save_ctx sc = {{"train", quiet, supervised}, save, every, &tc, meta, 3, 0};
    ssvae_train_data td = {.video = tv.frames.data, .partners = pairs ? pv.frames.data : NULL, .T = tv.T, .centres = tv.centres.data};
    td.mapped = tv.frames.map && (!pairs || pv.frames.map);
    /* With --cache (one process) the patch moments go to a file beside the
     * decoded videos and are mapped too; under MPI the ranks compute them
     * between them, in memory (docs/scaling.md). */
    for (int v = 0; cache && dist_size() == 1 && v < 1 + (pairs != NULL); v++) {
        char key[17], mpath[4200];
        int written;
        const char *src = v ? pairs : data;
        cli_video *cv = v ? &pv : &tv;
        if (ssvae_video_key(src, key, &err)) {
            cli_error("train", 1, "%s", err.msg);
            goto done;
        }
        snprintf(mpath, sizeof mpath, "%s/%s.moments.npy", cache, key);
        if (ssvae_moments_cache(mpath, cv->frames.data, cv->T, cv->C, cv->H, cv->W, td.mapped, &moments[v],
                                &written, &err)) {
            cli_error("train", 1, "%s", err.msg);
            goto done;
        }
        if (!quiet) fprintf(stderr, "ssvae train: %s: %s its patch moments, %s\n", src,
                            written ? "wrote" : "reading", mpath);
    }
    td.moments = moments[0].data;
    td.partner_moments = moments[1].data;
    ssvae_train_result res;
    if (ssvae_train_run(&m, &tc, &td, resume ? &state : NULL, cli_progress_epoch, save_epoch, &sc, &res, &err)) {
        /* the same failure on every rank (the numbers are the same bits),
         * or rank 0's, said there */
        if (!root) ;
        else if (sc.saved_epoch) cli_error("train", 1, "%s; %s holds epoch %d, the last good one", err.msg, save, sc.saved_epoch);
        else if (resume) cli_error("train", 1, "%s; %s is unchanged", err.msg, resume);
        else cli_error("train", 1, "%s; no checkpoint was written", err.msg);
        ssvae_train_result_free(&res);
        goto done;
    }
    if (!root) {
        ssvae_train_result_free(&res);
        rc = 0;
        goto done;
    }
    if (dist_size() > 1 && res.steps > 0 && !quiet)
        fprintf(stderr, "ssvae train: %d ranks; rank 0 received %.1f KB a step from the others "
                "(%llu bytes in %lld steps)\n", dist_size(), res.exchanged / 1e3 / (double)res.steps,
                (unsigned long long)res.exchanged, (long long)res.steps);
    /* Nothing left to train (--epochs 0, or a resume already at its
     * total): the end-of-run save has not happened in the hook. */
    if (res.epochs == 0 && ssvae_model_save(&m, save, meta, 3, &err)) {
        cli_error("train", 1, "%s", err.msg);
        ssvae_train_result_free(&res);
        goto done;
    }
    if (!sc.saved_epoch && res.epochs > 0) {
        ssvae_train_state st = {res.epochs, state.step, m.nparams, state.m, state.v, state.shuffle,
                                res.init_value, res.loss, res.elbo};
        if (ssvae_train_save(save, &m, &tc, &st, meta, 3, &err)) {
            cli_error("train", 1, "%s", err.msg);
            ssvae_train_result_free(&res);
            goto done;
        }
    }
    double final_elbo = res.epochs ? res.elbo[res.epochs - 1] : 0.0;
    if (!test) {
        /* the supervised baseline and a prior with its own loss have no ELBO */
        int own_loss = supervised || ssvae_prior_get(prior)->loss;
        printf("trained in %.1f s, final %s %.4f; wrote %s\n", res.seconds,
               own_loss ? "loss" : "ELBO (nats)", own_loss ? (res.epochs ? res.loss[res.epochs - 1] : 0.0)
                                                          : final_elbo, save);
        ssvae_train_result_free(&res);
        rc = 0;
        goto done;
    }
    cli_row row;
    cli_row_init(&row, prior_name, m.cfg.K);
    row.curve = res;
    cli_row_training(&row, &m, &tc, tv.T);
    if (ssvae_evaluate(&m, tv.frames.data, tv.centres.data, tv.T, sv.frames.data, sv.centres.data, sv.T,
                       NULL, NULL, &row.ev, &err)) {
        cli_error("train", 1, "%s and %s: %s", data, test, err.msg);
    } else {
        cli_print_table(stdout, &row, 1, row.ev.chance_test);
        printf("wrote %s\n", save);
        rc = 0;
    }
    ssvae_train_result_free(&row.curve);
done:
    ssvae_array_free(&moments[0]);
    ssvae_array_free(&moments[1]);
    ssvae_model_free(&m);
    ssvae_train_state_free(&state);
    cli_video_free(&tv);
    cli_video_free(&pv);
    cli_video_free(&sv);
    return rc;
}

/* ---- probe ---------------------------------------------------------- */

/* A 2-D float32 .npy (rows, cols), rows == want_rows unless want_rows < 0;
 * 0, or fills err. */
static int load_matrix(const char *path, const char *what, int want_rows, ssvae_array *a, ssvae_error *err)
{
    if (ssvae_npy_read(path, a, err)) return -1;
    if (a->dtype != SSVAE_F32 || a->ndim != 2 || a->shape[0] < 1 || a->shape[1] < 1 ||
        a->shape[0] > 100000000 || a->shape[1] > 4096) {
        char found[200];
        ssvae_array_describe(a, found, sizeof found); /* before the free zeroes it */
        ssvae_array_free(a);
        return ssvae_fail(err, "%s: %s must be a float32 array of shape (T, columns), 1 <= columns <= 4096; "
                          "found %s", path, what, found);
    }
    const float *x = a->data;
    int64_t cols = a->shape[1];
    for (int64_t i = 0; i < a->shape[0] * cols; i++) {
        if (!isfinite(x[i])) {
            double v = x[i];
            ssvae_array_free(a);
            return ssvae_fail(err, "%s: %s: row %lld, column %lld is %g (must be finite)", path, what,
                              (long long)(i / cols), (long long)(i % cols), v);
        }
    }
    if (want_rows >= 0 && a->shape[0] != want_rows) {
        int64_t got = a->shape[0];
        ssvae_array_free(a);
        return ssvae_fail(err, "%s: %s has %lld rows, the latents %d", path, what, (long long)got, want_rows);
    }
    return 0;
}

/* Probes latents x -> targets y: fits on train, prints per-column RMSE on
 * train and test, the chance RMSE (training mean), and for an even
 * number of columns the mean distance between the (x, y) points of column
 * pairs (2i, 2i+1). */
static int probe_targets(const float *xtr, const float *ytr, int Ttr, const float *xte, const float *yte,
                         int Tte, int D, int P, ssvae_error *err)
{
    ssvae_probe pr;
    if (ssvae_probe_fit(&pr, xtr, ytr, Ttr, D, P, err)) return -1;
    float *ptr = malloc((size_t)Ttr * P * sizeof *ptr), *pte = malloc((size_t)Tte * P * sizeof *pte);
    float *chance = malloc((size_t)Tte * P * sizeof *chance);
    double *mean = calloc((size_t)P, sizeof *mean);
    ssvae_probe_apply(&pr, xtr, Ttr, ptr);
    ssvae_probe_apply(&pr, xte, Tte, pte);
    for (int t = 0; t < Ttr; t++)
        for (int p = 0; p < P; p++) mean[p] += (double)ytr[(size_t)t * P + p] / Ttr;
    for (int t = 0; t < Tte; t++)
        for (int p = 0; p < P; p++) chance[(size_t)t * P + p] = (float)mean[p];
    printf("%-8s %12s %12s %12s\n", "target", "rmse_train", "rmse_test", "rmse_chance");
    double all[3] = {0, 0, 0};
    for (int p = 0; p < P; p++) {
        double s[3] = {0, 0, 0};
        for (int t = 0; t < Ttr; t++) {
            double e = (double)ptr[(size_t)t * P + p] - ytr[(size_t)t * P + p];
            s[0] += e * e / Ttr;
        }
        for (int t = 0; t < Tte; t++) {
            double e = (double)pte[(size_t)t * P + p] - yte[(size_t)t * P + p];
            double c = (double)chance[(size_t)t * P + p] - yte[(size_t)t * P + p];
            s[1] += e * e / Tte;
            s[2] += c * c / Tte;
        }
        for (int k = 0; k < 3; k++) all[k] += s[k] / P;
        printf("%-8d %12.6g %12.6g %12.6g\n", p, sqrt(s[0]), sqrt(s[1]), sqrt(s[2]));
    }
    printf("%-8s %12.6g %12.6g %12.6g\n", "all", sqrt(all[0]), sqrt(all[1]), sqrt(all[2]));
    if (P % 2 == 0) {
        int Kp = P / 2;
        printf("mean distance of the %d (x, y) points: train %.6g, test %.6g, chance %.6g\n", Kp,
               ssvae_mean_distance(ptr, ytr, Ttr, Kp, 1, 1), ssvae_mean_distance(pte, yte, Tte, Kp, 1, 1),
               ssvae_mean_distance(chance, yte, Tte, Kp, 1, 1));
    }
    free(ptr); free(pte); free(chance); free(mean);
    ssvae_probe_free(&pr);
    return 0;
}

/* Latents of a video with a model; malloc'd (T, D), or NULL after err. */
static float *encode_video(ssvae_model *m, const char *model, const char *path, int *T, ssvae_error *err)
{
    cli_video v;
    int64_t sh[4];
    if (ssvae_video_shape(path, sh, err)) return NULL; /* the size before decoding */
    if (sh[1] != m->cfg.H || sh[2] != m->cfg.W || sh[3] != m->cfg.C) {
        ssvae_fail(err, "%s: the model %s expects %dx%dx%d frames, the video has %lldx%lldx%lld", path, model,
                   m->cfg.W, m->cfg.H, m->cfg.C, (long long)sh[2], (long long)sh[1], (long long)sh[3]);
        return NULL;
    }
    if (cli_load_video(path, &v, 0, err)) return NULL;
    if (v.H != m->cfg.H || v.W != m->cfg.W || v.C != m->cfg.C) {
        ssvae_fail(err, "%s: the model %s expects %dx%dx%d frames, the video has %dx%dx%d", path, model,
                   m->cfg.W, m->cfg.H, m->cfg.C, v.W, v.H, v.C);
        cli_video_free(&v);
        return NULL;
    }
    float *z = malloc((size_t)v.T * m->D * sizeof *z);
    if (z) ssvae_model_encode(m, v.frames.data, v.T, z);
    else ssvae_fail(err, "%s: out of memory", path);
    *T = v.T;
    cli_video_free(&v);
    return z;
}

/* `ssvae probe` against the user's targets: latents from .npy files, or
 * from the model on the --train / --test videos. */
static int probe_own(const char *model, const char *train, const char *test, const char *ltr,
                     const char *lte, const char *ytr_path, const char *yte_path)
{
    ssvae_error err;
    ssvae_array xa[2] = {{0}}, ya[2] = {{0}};
    ssvae_model m = {0};
    float *z[2] = {NULL, NULL};
    int T[2] = {0, 0}, D = 0, rc = 1;
    const char *lat[2] = {ltr, lte}, *vid[2] = {train, test}, *tgt[2] = {ytr_path, yte_path};
    const float *x[2];
    if ((!ltr || !lte) && ssvae_model_load(&m, model, &err)) goto fail;
    for (int i = 0; i < 2; i++) {
        if (lat[i]) {
            if (load_matrix(lat[i], "latents", -1, &xa[i], &err)) goto fail;
            x[i] = xa[i].data;
            T[i] = (int)xa[i].shape[0];
            if (i == 1 && xa[1].shape[1] != D) {
                ssvae_fail(&err, "%s: %lld latent columns, the training latents have %d", lat[1],
                           (long long)xa[1].shape[1], D);
                goto fail;
            }
            D = (int)xa[i].shape[1];
        } else {
            if (!vid[i]) {
                ssvae_fail(&err, "--%s: give the latents (.npy) or a video to encode with --model",
                           i ? "latents-test" : "latents-train");
                goto fail;
            }
            if (!(z[i] = encode_video(&m, model, vid[i], &T[i], &err))) goto fail;
            x[i] = z[i];
            D = m.D;
        }
        if (load_matrix(tgt[i], "targets", T[i], &ya[i], &err)) goto fail;
    }
    if (T[0] < D + 1) {
        ssvae_fail(&err, "%s: %d rows to fit the probe on; %d latents and a bias need at least %d",
                   lat[0] ? lat[0] : vid[0], T[0], D, D + 1);
        goto fail;
    }
    if (ya[1].shape[1] != ya[0].shape[1]) {
        ssvae_fail(&err, "%s: %lld target columns, the training targets have %lld", yte_path,
                   (long long)ya[1].shape[1], (long long)ya[0].shape[1]);
        goto fail;
    }
    if (probe_targets(x[0], ya[0].data, T[0], x[1], ya[1].data, T[1], D, (int)ya[0].shape[1], &err)) {
        ssvae_error inner = err; /* the probe's own words, with the files it was fitted on */
        ssvae_fail(&err, "%s with %s: %s", lat[0] ? lat[0] : vid[0], tgt[0], inner.msg);
        goto fail;
    }
    rc = 0;
fail:
    if (rc) cli_error("probe", 1, "%s", err.msg);
    for (int i = 0; i < 2; i++) {
        ssvae_array_free(&xa[i]);
        ssvae_array_free(&ya[i]);
        free(z[i]);
    }
    ssvae_model_free(&m);
    return rc;
}

int cmd_probe(int argc, char **argv)
{
    const char *model = "model.safetensors", *train = "data", *test = NULL;
    const char *ltr = NULL, *lte = NULL, *ytr = NULL, *yte = NULL;
    cli_flag flags[] = {
        {"model", FLAG_STRING, &model, "trained model (safetensors)", 0, -1},
        {"train", FLAG_STRING, &train, "video to fit the probe and the pairing on (a folder with centres.npy, unless --targets-train)", 0, -1},
        {"test", FLAG_STRING, &test, "held-out video to score on (required unless --latents-test)", 0, -1},
        {"latents-train", FLAG_STRING, &ltr, "latents (T, D) float32 .npy to fit on, instead of encoding --train", 0, -1},
        {"latents-test", FLAG_STRING, &lte, "latents (T, D) float32 .npy to score on, instead of encoding --test", 0, -1},
        {"targets-train", FLAG_STRING, &ytr, "your own targets (T, P) float32 .npy for the training latents", 0, -1},
        {"targets-test", FLAG_STRING, &yte, "your own targets (T, P) float32 .npy for the test latents", 0, -1},
        {0},
    };
    int rc = cli_parse("probe", "Scores a trained encoder (SPEC section 4): the linear probe from the\n"
                       "latents to the true centres, the direct error (maps read as positions),\n"
                       "and the chance level, in pixels. With --targets-train/--targets-test it\n"
                       "probes against your own labels instead: RMSE per target column and, for\n"
                       "an even number of columns, the mean distance of the (x, y) points.",
                       flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    if (!ytr != !yte) return cli_error("probe", 2, "--targets-train and --targets-test go together");
    if ((ltr || lte) && !ytr)
        return cli_error("probe", 2, "--latents-train/--latents-test need --targets-train and --targets-test");
    if (ytr) return probe_own(model, train, test, ltr, lte, ytr, yte);
    if (!test) return cli_error("probe", 2, "--test: a held-out video folder is required");
    ssvae_error err;
    ssvae_model m;
    if (ssvae_model_load(&m, model, &err)) return cli_error("probe", 1, "%s", err.msg);
    cli_video tv = {0}, sv = {0};
    rc = 1;
    if (cli_load_video(train, &tv, 1, &err) || cli_load_video(test, &sv, 1, &err)) {
        cli_error("probe", 1, "%s", err.msg);
    } else if (tv.H != m.cfg.H || tv.W != m.cfg.W || tv.C != m.cfg.C || tv.K != m.cfg.K ||
               sv.H != m.cfg.H || sv.W != m.cfg.W || sv.C != m.cfg.C || sv.K != m.cfg.K) {
        const cli_video *bad = tv.H != m.cfg.H || tv.W != m.cfg.W || tv.C != m.cfg.C || tv.K != m.cfg.K ? &tv : &sv;
        cli_error("probe", 1, "%s: %dx%dx%d frames with %d balls, but the model %s expects %dx%dx%d frames and %d",
                  bad == &tv ? train : test, bad->W, bad->H, bad->C, bad->K, model, m.cfg.W, m.cfg.H, m.cfg.C,
                  m.cfg.K);
    } else {
        cli_row row;
        memset(&row, 0, sizeof row);
        snprintf(row.name, sizeof row.name, "%s", m.cfg.supervised ? "supervised" : ssvae_prior_get(m.cfg.prior)->name);
        row.nballs = m.cfg.K;
        row.elbo = NAN;
        if (m.cfg.supervised) snprintf(row.learned, sizeof row.learned, "-");
        else ssvae_prior_get(m.cfg.prior)->describe(row.learned, sizeof row.learned, m.head, m.D);
        if (ssvae_evaluate(&m, tv.frames.data, tv.centres.data, tv.T, sv.frames.data, sv.centres.data,
                           sv.T, NULL, NULL, &row.ev, &err)) {
            cli_error("probe", 1, "%s and %s: %s", train, test, err.msg);
        } else {
            cli_print_table(stdout, &row, 1, row.ev.chance_test);
            rc = 0;
        }
    }
    cli_video_free(&tv);
    cli_video_free(&sv);
    ssvae_model_free(&m);
    return rc;
}

/* ---- encode --------------------------------------------------------- */

int cmd_encode(int argc, char **argv)
{
    const char *model = "model.safetensors", *data = "data", *out = "latents.npy";
    int quiet = 0;
    cli_flag flags[] = {
        {"model", FLAG_STRING, &model, "trained model (safetensors)", 0, -1},
        {"data", FLAG_STRING, &data, "video: a .npy file, or a folder of frames.npy or PNG frames", 0, -1},
        {"frames", FLAG_STRING, &data, "the same as --data", 0, -1},
        {"out", FLAG_STRING, &out, "latents (T, 2K) float32 .npy", 0, -1},
        {"quiet", FLAG_BOOL, &quiet, "say nothing about the input", 0, -1},
        {0},
    };
    int rc = cli_parse("encode", "Writes the latents z (normalised centres of mass of each map) of every\n"
                       "frame of a video, as a (T, 2K) float32 .npy file.", flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    ssvae_error err;
    const char *inputs[] = {model, data};
    if (ssvae_output_check(out, inputs, 2, &err)) return cli_error("encode", 1, "--out %s", err.msg);
    ssvae_model m;
    if (ssvae_model_load(&m, model, &err)) return cli_error("encode", 1, "%s", err.msg);
    cli_video v = {0};
    rc = 1;
    int64_t sh0[4];
    /* The frame size from the header first: a mismatch is found before
     * the whole video is decoded. */
    if (ssvae_video_shape(data, sh0, &err)) {
        cli_error("encode", 1, "%s", err.msg);
    } else if (sh0[1] != m.cfg.H || sh0[2] != m.cfg.W || sh0[3] != m.cfg.C) {
        cli_error("encode", 1, "%s: the model expects %dx%dx%d frames, %s has %lldx%lldx%lld", model, m.cfg.W,
                  m.cfg.H, m.cfg.C, data, (long long)sh0[2], (long long)sh0[1], (long long)sh0[3]);
    } else if (cli_open_video("encode", data, &v, 0, quiet)) {
        /* said */
    } else if (v.H != m.cfg.H || v.W != m.cfg.W || v.C != m.cfg.C) {
        cli_error("encode", 1, "%s: the model expects %dx%dx%d frames, %s has %dx%dx%d", model, m.cfg.W,
                  m.cfg.H, m.cfg.C, data, v.W, v.H, v.C);
    } else {
        float *z = malloc((size_t)v.T * m.D * sizeof *z);
        ssvae_model_encode(&m, v.frames.data, v.T, z);
        int64_t sh[2] = {v.T, m.D};
        if (ssvae_npy_write(out, SSVAE_F32, 2, sh, z, &err)) cli_error("encode", 1, "%s", err.msg);
        else { printf("wrote %s (%d x %d)\n", out, v.T, m.D); rc = 0; }
        free(z);
    }
    cli_video_free(&v);
    ssvae_model_free(&m);
    return rc;
}
