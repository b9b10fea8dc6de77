/*
 * experiment.c — the videos of an experiment (a training and a held-out
 * moving-balls video), one model trained and scored (a row of the Figure
 * 1C table), and the table itself as text, CSV and JSON. The demo, the
 * sweep and compare are loops over this.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"

/* ---- the moving-balls videos of an experiment --------------------------- */

void cli_pair_free(cli_pair *p)
{
    for (int i = 0; i < 2; i++) {
        free(p->frames[i]);
        free(p->centres[i]);
    }
}

int cli_pair_make(const char *cmd, uint64_t seed, int T_train, int T_test, cli_pair *p)
{
    memset(p, 0, sizeof *p);
    int T[2] = {T_train, T_test};
    for (int i = 0; i < 2; i++) {
        ssvae_balls_config bc;
        ssvae_balls_default(&bc);
        bc.frames = T[i];
        bc.seed = seed + (uint64_t)i;
        p->frames[i] = malloc((size_t)bc.frames * bc.height * bc.width * 3);
        p->centres[i] = malloc((size_t)bc.frames * bc.nballs * 2 * sizeof(float));
        ssvae_error err;
        if (!p->frames[i] || !p->centres[i]) return cli_error(cmd, 1, "out of memory for %d frames", T[i]);
        if (ssvae_balls_generate(&bc, p->frames[i], p->centres[i], NULL, &err))
            return cli_error(cmd, 1, "%s", err.msg);
        p->data[i] = (cli_data){p->frames[i], p->centres[i], bc.frames, bc.height, bc.width, 3, bc.nballs};
    }
    return 0;
}

int cli_pair_write(const char *cmd, const char *out, const cli_pair *p)
{
    const char *names[2] = {"train", "test"};
    ssvae_error err;
    for (int i = 0; i < 2; i++) {
        const cli_data *d = &p->data[i];
        char dir[4200], path[4300];
        snprintf(dir, sizeof dir, "%s/data/%s", out, names[i]);
        int64_t fs[4] = {d->T, d->H, d->W, d->C}, cs[3] = {d->T, d->K, 2};
        if (cli_make_dir(dir, &err)) return cli_error(cmd, 1, "%s", err.msg);
        snprintf(path, sizeof path, "%s/frames.npy", dir);
        if (ssvae_npy_write(path, SSVAE_U8, 4, fs, d->frames, &err)) return cli_error(cmd, 1, "%s", err.msg);
        snprintf(path, sizeof path, "%s/centres.npy", dir);
        if (ssvae_npy_write(path, SSVAE_F32, 3, cs, d->centres, &err)) return cli_error(cmd, 1, "%s", err.msg);
    }
    return 0;
}

void cli_row_init(cli_row *row, const char *name, int K)
{
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", name);
    row->nballs = K;
    row->elbo = NAN;
    snprintf(row->learned, sizeof row->learned, "-");
}

void cli_row_training(cli_row *row, const ssvae_model *m, const ssvae_train_config *tc, int T)
{
    const ssvae_train_result *c = &row->curve;
    row->seconds = c->seconds;
    row->init = c->init_value;
    if (m->cfg.supervised) return;
    if (c->epochs > 0 && !ssvae_prior_get(m->cfg.prior)->loss) { /* InfoNCE: an ELBO */
        row->elbo = c->elbo[c->epochs - 1];
        row->log_b = log((double)(tc->batch < T - tc->offset ? tc->batch : T - tc->offset));
    }
    ssvae_prior_get(m->cfg.prior)->describe(row->learned, sizeof row->learned, m->head, m->D);
}

int cli_run_model(const char *cmd, const char *name, int supervised,
                  ssvae_prior_kind prior, const ssvae_train_config *tc,
                  double units, const cli_data *train, const cli_data *test,
                  int do_train, int quiet, const char *save_path,
                  const char *latents_dir, cli_row *row)
{
    cli_row_init(row, name, train->K);
    ssvae_model_config mc;
    ssvae_model_config_default(&mc);
    mc.C = train->C; mc.H = train->H; mc.W = train->W; mc.K = train->K;
    mc.supervised = supervised;
    mc.prior = prior;
    mc.units = units;
    ssvae_model m;
    ssvae_error err;
    if (ssvae_model_init(&m, &mc, tc->seed, &err)) return cli_error(cmd, 1, "%s", err.msg);
    int rc = 1;
    float *ztr = malloc((size_t)train->T * m.D * sizeof *ztr);
    float *zte = malloc((size_t)test->T * m.D * sizeof *zte);
    if (do_train) {
        char label[64];
        snprintf(label, sizeof label, "%-10s", name);
        cli_progress prog = {label, quiet, supervised};
        if (ssvae_train(&m, tc, train->frames, train->T, train->centres, cli_progress_epoch,
                        &prog, &row->curve, &err)) {
            cli_error(cmd, 1, "%s: %s", name, err.msg);
            goto done;
        }
        cli_row_training(row, &m, tc, train->T);
    }
    if (ssvae_evaluate(&m, train->frames, train->centres, train->T, test->frames, test->centres,
                       test->T, ztr, zte, &row->ev, &err)) {
        cli_error(cmd, 1, "%s: %s", name, err.msg);
        goto done;
    }
    if (save_path && ssvae_model_save(&m, save_path, NULL, 0, &err)) {
        cli_error(cmd, 1, "%s", err.msg);
        goto done;
    }
    if (latents_dir) {
        char path[4200];
        int64_t sh[2] = {train->T, m.D};
        snprintf(path, sizeof path, "%s/%s_train.npy", latents_dir, name);
        if (ssvae_npy_write(path, SSVAE_F32, 2, sh, ztr, &err)) { cli_error(cmd, 1, "%s", err.msg); goto done; }
        sh[0] = test->T;
        snprintf(path, sizeof path, "%s/%s_test.npy", latents_dir, name);
        if (ssvae_npy_write(path, SSVAE_F32, 2, sh, zte, &err)) { cli_error(cmd, 1, "%s", err.msg); goto done; }
    }
    rc = 0;
done:
    free(ztr);
    free(zte);
    ssvae_model_free(&m);
    return rc;
}

static void fmt_num(char *buf, size_t len, double v, const char *f)
{
    if (isnan(v)) snprintf(buf, len, "-");
    else snprintf(buf, len, f, v);
}

void cli_print_table(FILE *out, const cli_row *rows, int n, double chance)
{
    fprintf(out, "%-11s %11s %12s %12s %13s %6s %10s %-13s %8s\n", "model", "probe test",
            "direct test", "probe train", "direct train", "found", "ELBO nats", "learned", "seconds");
    for (int i = 0; i < n; i++) {
        const cli_row *r = &rows[i];
        char elbo[32];
        fmt_num(elbo, sizeof elbo, r->elbo, "%.3f");
        fprintf(out, "%-11s %8.2f px %9.2f px %9.2f px %10.2f px %6d %10s %-13s %8.1f\n", r->name,
                r->ev.probe_test, r->ev.direct_test, r->ev.probe_train, r->ev.direct_train, r->ev.found,
                elbo, r->learned, r->seconds);
    }
    fprintf(out, "chance level (always the training mean): %.2f px on the test video; "
                 "found: balls whose map reads them to within %.0f px\n", chance, SSVAE_FOUND_PX);
}

int cli_write_rows(const char *dir, const char *stem, const cli_row *rows,
                   int n, double chance, const char *recipe, ssvae_error *err)
{
    /* CSV */
    size_t cap = 256 + (size_t)n * 256;
    char *csv = malloc(cap), path[4200];
    size_t used = (size_t)snprintf(csv, cap, "model,probe_test_px,direct_test_px,probe_train_px,"
                                   "direct_train_px,balls_found,elbo_nats,log_b,init,learned,seconds,chance_test_px\n");
    for (int i = 0; i < n; i++) {
        const cli_row *r = &rows[i];
        char elbo[32];
        fmt_num(elbo, sizeof elbo, r->elbo, "%.6f");
        used += (size_t)snprintf(csv + used, cap - used, "%s,%.6f,%.6f,%.6f,%.6f,%d,%s,%.6f,%.6g,%s,%.3f,%.6f\n",
                                 r->name, r->ev.probe_test, r->ev.direct_test, r->ev.probe_train,
                                 r->ev.direct_train, r->ev.found, elbo, r->log_b, r->init, r->learned, r->seconds, chance);
    }
    snprintf(path, sizeof path, "%s/%s.csv", dir, stem);
    int rc = cli_write_text(path, csv, err);
    free(csv);
    if (rc) return rc;

    /* JSON, through cJSON */
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "rows");
    cJSON_AddStringToObject(root, "ssvae_version", SSVAE_VERSION);
    cJSON_AddStringToObject(root, "recipe", recipe);
    cJSON_AddNumberToObject(root, "chance_test_px", chance);
    for (int i = 0; i < n; i++) {
        const cli_row *r = &rows[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", r->name);
        cJSON_AddNumberToObject(o, "probe_test_px", r->ev.probe_test);
        cJSON_AddNumberToObject(o, "direct_test_px", r->ev.direct_test);
        cJSON_AddNumberToObject(o, "probe_train_px", r->ev.probe_train);
        cJSON_AddNumberToObject(o, "direct_train_px", r->ev.direct_train);
        cJSON_AddNumberToObject(o, "balls_found", r->ev.found);
        cJSON *per = cJSON_AddArrayToObject(o, "direct_test_px_per_ball");
        for (int b = 0; b < r->nballs; b++) cJSON_AddItemToArray(per, cJSON_CreateNumber(r->ev.direct_ball[b]));
        if (isnan(r->elbo)) cJSON_AddNullToObject(o, "elbo_nats");
        else cJSON_AddNumberToObject(o, "elbo_nats", r->elbo);
        cJSON_AddNumberToObject(o, "log_b", r->log_b);
        cJSON_AddStringToObject(o, "learned", r->learned);
        cJSON_AddNumberToObject(o, "seconds", r->seconds);
        cJSON *le = cJSON_AddArrayToObject(o, "epoch_loss"), *ee = cJSON_AddArrayToObject(o, "epoch_elbo");
        for (int e = 0; e < r->curve.epochs; e++) {
            cJSON_AddItemToArray(le, cJSON_CreateNumber(r->curve.loss[e]));
            cJSON_AddItemToArray(ee, cJSON_CreateNumber(r->curve.elbo[e]));
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    snprintf(path, sizeof path, "%s/%s.json", dir, stem);
    rc = text ? cli_write_text(path, text, err) : ssvae_fail(err, "%s: out of memory", path);
    free(text);
    return rc;
}
