/*
 * cmd_train.c — `ssvae train`, `ssvae probe` and `ssvae encode`: one model
 * trained on a video folder and saved as safetensors; a saved model scored
 * against true centres; a saved model's latents written as .npy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static cli_data as_data(const cli_video *v)
{
    return (cli_data){v->frames.data, v->centres.data, v->T, v->H, v->W, v->C, v->K};
}

int cmd_train(int argc, char **argv)
{
    const char *data = "data", *test = NULL, *prior_name = "gaussian", *save = "model.safetensors";
    int quiet = 0, K = 3;
    cli_recipe r;
    cli_recipe_init(&r);
    cli_flag flags[32] = {
        {"data", FLAG_STRING, &data, "training video folder (frames.npy; centres.npy for supervised)", 0, -1},
        {"test", FLAG_STRING, &test, "held-out video folder: score the model on it after training", 0, -1},
        {"prior", FLAG_STRING, &prior_name, "gaussian, linear or supervised", 0, -1},
        {"maps", FLAG_INT, &K, "maps (objects) the encoder has, when there are no centres", 1, SSVAE_MAXBALLS},
        {"save", FLAG_STRING, &save, "where to write the trained model (safetensors)", 0, -1},
        {"quiet", FLAG_BOOL, &quiet, "no progress line", 0, -1},
    };
    int n = 6;
    cli_recipe_flags(&r, flags, &n);
    int rc = cli_parse("train", "Trains the encoder of Fig. 2 on consecutive frames of a video with the\n"
                       "InfoNCE loss of a prior (or, for 'supervised', on the true centres).",
                       flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    int supervised = !strcmp(prior_name, "supervised");
    ssvae_prior_kind prior = SSVAE_PRIOR_GAUSSIAN;
    if (!supervised && ssvae_prior_lookup(prior_name, &prior))
        return cli_error("train", 2, "--prior: unknown prior '%s' (gaussian, linear, supervised)", prior_name);
    ssvae_error err;
    cli_video tv = {0}, sv = {0};
    if (cli_load_video(data, &tv, supervised || test, &err)) return cli_error("train", 1, "%s", err.msg);
    ssvae_train_config tc;
    double units;
    rc = cli_recipe_resolve("train", &r, tv.W, &tc, &units);
    if (!rc && test && cli_load_video(test, &sv, 1, &err)) rc = cli_error("train", 1, "%s", err.msg);
    if (!rc && test && (sv.H != tv.H || sv.W != tv.W || sv.C != tv.C || sv.K != tv.K))
        rc = cli_error("train", 1, "%s: frames or balls differ in shape from %s", test, data);
    if (rc) goto done;
    if (tv.K) K = tv.K;
    char recipe[256];
    cli_recipe_describe(&tc, units, tv.W, recipe, sizeof recipe);
    if (!quiet) fprintf(stderr, "ssvae train: %s prior, %s\n", prior_name, recipe);
    cli_data td = as_data(&tv), sd = test ? as_data(&sv) : td;
    td.K = K;
    if (!test) {
        /* No held-out video: train, save, and say so; scoring needs centres. */
        ssvae_model_config mc;
        ssvae_model_config_default(&mc);
        mc.C = tv.C; mc.H = tv.H; mc.W = tv.W; mc.K = K; mc.supervised = supervised;
        mc.prior = prior; mc.units = units;
        ssvae_model m;
        ssvae_train_result res;
        cli_progress prog = {"train", quiet, supervised};
        if (ssvae_model_init(&m, &mc, tc.seed, &err) ||
            ssvae_train(&m, &tc, tv.frames.data, tv.T, tv.centres.data, cli_progress_epoch, &prog, &res, &err)) {
            rc = cli_error("train", 1, "%s", err.msg);
        } else {
            ssvae_meta meta[] = {{"recipe", recipe}};
            if (ssvae_model_save(&m, save, meta, 1, &err)) rc = cli_error("train", 1, "%s", err.msg);
            else printf("trained in %.1f s, final ELBO %.4f nats; wrote %s\n", res.seconds,
                        res.epochs ? res.elbo[res.epochs - 1] : 0.0, save);
            ssvae_train_result_free(&res);
        }
        ssvae_model_free(&m);
        goto done;
    }
    cli_row row;
    rc = cli_run_model("train", prior_name, supervised, prior, &tc, units, &td, &sd, 1, quiet, save, NULL, &row);
    if (!rc) {
        cli_print_table(stdout, &row, 1, row.ev.chance_test);
        printf("wrote %s\n", save);
    }
    ssvae_train_result_free(&row.curve);
done:
    cli_video_free(&tv);
    cli_video_free(&sv);
    return rc;
}

int cmd_probe(int argc, char **argv)
{
    const char *model = "model.safetensors", *train = "data", *test = NULL;
    cli_flag flags[] = {
        {"model", FLAG_STRING, &model, "trained model (safetensors)", 0, -1},
        {"train", FLAG_STRING, &train, "video folder to fit the probe and the pairing on", 0, -1},
        {"test", FLAG_STRING, &test, "held-out video folder to score on (required)", 0, -1},
        {0},
    };
    int rc = cli_parse("probe", "Scores a trained encoder (SPEC section 4): the linear probe from the\n"
                       "latents to the true centres, the direct error (maps read as positions),\n"
                       "and the chance level, in pixels.", flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
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
        cli_error("probe", 1, "%s: the model expects %dx%dx%d frames and %d balls", model,
                  m.cfg.W, m.cfg.H, m.cfg.C, m.cfg.K);
    } else {
        cli_row row;
        memset(&row, 0, sizeof row);
        snprintf(row.name, sizeof row.name, "%s", m.cfg.supervised ? "supervised" : ssvae_prior_get(m.cfg.prior)->name);
        row.nballs = m.cfg.K;
        row.elbo = 0.0 / 0.0;
        if (m.cfg.supervised) snprintf(row.learned, sizeof row.learned, "-");
        else ssvae_prior_get(m.cfg.prior)->describe(row.learned, sizeof row.learned, m.head, m.D);
        if (ssvae_evaluate(&m, tv.frames.data, tv.centres.data, tv.T, sv.frames.data, sv.centres.data,
                           sv.T, NULL, NULL, &row.ev, &err)) {
            cli_error("probe", 1, "%s", err.msg);
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

int cmd_encode(int argc, char **argv)
{
    const char *model = "model.safetensors", *data = "data", *out = "latents.npy";
    cli_flag flags[] = {
        {"model", FLAG_STRING, &model, "trained model (safetensors)", 0, -1},
        {"data", FLAG_STRING, &data, "video folder (frames.npy)", 0, -1},
        {"out", FLAG_STRING, &out, "latents (T, 2K) float32 .npy", 0, -1},
        {0},
    };
    int rc = cli_parse("encode", "Writes the latents z (normalised centres of mass of each map) of every\n"
                       "frame of a video, as a (T, 2K) float32 .npy file.", flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    ssvae_error err;
    ssvae_model m;
    if (ssvae_model_load(&m, model, &err)) return cli_error("encode", 1, "%s", err.msg);
    cli_video v = {0};
    rc = 1;
    if (cli_load_video(data, &v, 0, &err)) {
        cli_error("encode", 1, "%s", err.msg);
    } else if (v.H != m.cfg.H || v.W != m.cfg.W || v.C != m.cfg.C) {
        cli_error("encode", 1, "%s: the model expects %dx%dx%d frames", model, m.cfg.W, m.cfg.H, m.cfg.C);
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
