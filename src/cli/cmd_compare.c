/*
 * cmd_compare.c — `ssvae compare`: every prior of the table trained on the
 * same moving-balls videos with the same seeds, recipe and budget, beside
 * the untrained encoder and the supervised baseline, in one table (text,
 * compare.csv, compare.json, and every run in runs.csv), a grouped bar
 * chart of the decoding errors (errors.png) and each prior's predictive
 * map for the same held-out frame (maps.png: Fig. 1D/E for every prior).
 *
 * Seeds: seed S (the recipe's --seed, then S+1, ... for --seeds N) trains
 * on the video of seed S and is scored on the video of seed S+1, as in
 * `ssvae demo`. The models and latents of the first seed are kept in
 * models/ and latents/ (the figure is drawn from them).
 *
 * The output folder appears whole or not at all (cli_run_dir, as for
 * demo): a killed run leaves OUT.partial-XXXXXX, never a mix of two runs'
 * files. An existing OUT is refused unless --force, and then moved aside
 * to OUT.previous-N once the new run is complete: nothing is deleted.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"

#define MAX_MODELS (SSVAE_PRIOR_COUNT + 2)
#define MAX_SEEDS 100

/* A row of the table: a prior, or one of the two references. */
typedef struct model_row {
    char name[32];
    int supervised, trained;
    ssvae_prior_kind prior;
} model_row;

/* One training scored. */
typedef struct run_result {
    double elbo, probe_test, direct_test, probe_train, direct_train, seconds, chance;
    int found, perm[SSVAE_MAXBALLS];
    char learned[64];
} run_result;

/* The prior names of the table, "a, b, c", for messages. */
static void prior_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < SSVAE_PRIOR_COUNT && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", k ? ", " : "", ssvae_prior_get(k)->name);
}

/* The rows: untrained, the priors asked for (all by default, in table
 * order), supervised. 0, or 2 after a one-line error. */
static int choose_rows(const char *priors, model_row *rows, int *n)
{
    char names[512];
    prior_names(names, sizeof names);
    *n = 0;
    rows[(*n)++] = (model_row){"untrained", 0, 0, (ssvae_prior_kind)0};
    if (!priors) {
        for (int k = 0; k < SSVAE_PRIOR_COUNT; k++) {
            model_row *r = &rows[(*n)++];
            *r = (model_row){"", 0, 1, (ssvae_prior_kind)k};
            snprintf(r->name, sizeof r->name, "%s", ssvae_prior_get(k)->name);
        }
    } else {
        for (const char *p = priors;;) {
            size_t l = strcspn(p, ",");
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(l < 63 ? l : 63), p);
            ssvae_prior_kind kind;
            if (l == 0 || l > 31 || ssvae_prior_lookup(name, &kind))
                return cli_error("compare", 2, "--priors: unknown prior '%.*s' (%s)", (int)l, p, names);
            for (int i = 1; i < *n; i++)
                if (rows[i].prior == kind)
                    return cli_error("compare", 2, "--priors: '%s' is given twice", name);
            rows[(*n)++] = (model_row){"", 0, 1, kind};
            snprintf(rows[*n - 1].name, sizeof rows[*n - 1].name, "%.31s", name);
            if (!p[l]) break;
            p += l + 1;
        }
    }
    rows[(*n)++] = (model_row){"supervised", 1, 1, (ssvae_prior_kind)0};
    return 0;
}

/* Mean and sample standard deviation of the finite values of x[0, n). */
static void mean_sd(const double *x, int n, double *mean, double *sd)
{
    double s = 0, q = 0;
    int c = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) s += x[i], c++;
    *mean = c ? s / c : NAN;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) q += (x[i] - *mean) * (x[i] - *mean);
    *sd = c > 1 ? sqrt(q / (c - 1)) : 0.0;
}

/* What the table shows of one model over the seeds. */
typedef struct summary {
    double mean[6], sd[6]; /* elbo, probe test, direct test, probe train, direct train, seconds */
    int found, balls;
} summary;

static void summarise(const run_result *res, int nseeds, int K, summary *s)
{
    double v[6][MAX_SEEDS];
    s->found = 0;
    for (int j = 0; j < nseeds; j++) {
        const run_result *r = &res[j];
        double x[6] = {r->elbo, r->probe_test, r->direct_test, r->probe_train, r->direct_train, r->seconds};
        for (int c = 0; c < 6; c++) v[c][j] = x[c];
        s->found += r->found;
    }
    for (int c = 0; c < 6; c++) mean_sd(v[c], nseeds, &s->mean[c], &s->sd[c]);
    s->balls = K * nseeds;
}

/* "2.850" or "2.850 ± 0.120" (several seeds), "-" for none. */
static void fmt_stat(char *buf, size_t len, double mean, double sd, int nseeds, const char *f)
{
    char a[24], b[24];
    if (isnan(mean)) {
        snprintf(buf, len, "-");
        return;
    }
    snprintf(a, sizeof a, f, mean);
    if (nseeds < 2) {
        snprintf(buf, len, "%s", a);
        return;
    }
    snprintf(b, sizeof b, f, sd);
    snprintf(buf, len, "%s ± %s", a, b);
}

static void print_table(FILE *out, const model_row *rows, int nrows, const summary *sm, int nseeds, double chance)
{
    fprintf(out, "%-12s %17s %17s %17s %10s %14s\n", "model", "ELBO nats", "probe test px", "direct test px",
            "found", "seconds");
    for (int i = 0; i < nrows; i++) {
        char e[64], p[64], d[64], t[64], f[32];
        fmt_stat(e, sizeof e, sm[i].mean[0], sm[i].sd[0], nseeds, "%.3f");
        fmt_stat(p, sizeof p, sm[i].mean[1], sm[i].sd[1], nseeds, "%.2f");
        fmt_stat(d, sizeof d, sm[i].mean[2], sm[i].sd[2], nseeds, "%.2f");
        fmt_stat(t, sizeof t, sm[i].mean[5], sm[i].sd[5], nseeds, "%.1f");
        snprintf(f, sizeof f, "%d of %d", sm[i].found, sm[i].balls);
        /* "±" is two bytes and one column: pad the numbers by hand */
        fprintf(out, "%-12s %*s %*s %*s %10s %*s\n", rows[i].name, 17 + (nseeds > 1 && strcmp(e, "-")), e,
                17 + (nseeds > 1), p, 17 + (nseeds > 1), d, f, 14 + (nseeds > 1), t);
    }
    fprintf(out, "%s over %d seed%s; chance level (always the training mean): %.2f px; found: maps "
                 "within %.0f px of their ball on the held-out video\n",
            nseeds > 1 ? "mean ± sd" : "one run each", nseeds, nseeds > 1 ? "s" : "", chance, SSVAE_FOUND_PX);
}

static int write_tables(const char *dir, const model_row *rows, int nrows, const summary *sm,
                        const run_result *res, int nseeds, uint64_t seed0, double chance,
                        const char *recipe, int T_train, int T_test, int map_frame, ssvae_error *err)
{
    char path[4300], *text;
    size_t cap = 4096 + (size_t)nrows * (nseeds + 1) * 400, used = 0;
    if (!(text = malloc(cap))) return ssvae_fail(err, "%s: out of memory", dir);
    used = (size_t)snprintf(text, cap, "model,runs,elbo_nats,elbo_sd,probe_test_px,probe_test_sd,direct_test_px,"
                            "direct_test_sd,probe_train_px,direct_train_px,balls_found,balls,seconds,seconds_sd,"
                            "chance_test_px\n");
    for (int i = 0; i < nrows; i++) {
        const summary *s = &sm[i];
        char e[32], esd[32];
        if (isnan(s->mean[0])) snprintf(e, sizeof e, "-"), snprintf(esd, sizeof esd, "-");
        else snprintf(e, sizeof e, "%.6f", s->mean[0]), snprintf(esd, sizeof esd, "%.6f", s->sd[0]);
        used += (size_t)snprintf(text + used, cap - used, "%s,%d,%s,%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%d,%d,%.3f,%.3f,%.6f\n",
                                 rows[i].name, nseeds, e, esd, s->mean[1], s->sd[1], s->mean[2], s->sd[2],
                                 s->mean[3], s->mean[4], s->found, s->balls, s->mean[5], s->sd[5], chance);
    }
    snprintf(path, sizeof path, "%s/compare.csv", dir);
    int rc = cli_write_text(path, text, err);
    used = (size_t)snprintf(text, cap, "model,seed,elbo_nats,probe_test_px,direct_test_px,probe_train_px,"
                            "direct_train_px,balls_found,learned,seconds,chance_test_px\n");
    for (int i = 0; i < nrows && !rc; i++)
        for (int j = 0; j < nseeds; j++) {
            const run_result *r = &res[i * nseeds + j];
            char e[32];
            if (isnan(r->elbo)) snprintf(e, sizeof e, "-");
            else snprintf(e, sizeof e, "%.6f", r->elbo);
            used += (size_t)snprintf(text + used, cap - used, "%s,%llu,%s,%.6f,%.6f,%.6f,%.6f,%d,%s,%.3f,%.6f\n",
                                     rows[i].name, (unsigned long long)(seed0 + (uint64_t)j), e, r->probe_test,
                                     r->direct_test, r->probe_train, r->direct_train, r->found, r->learned,
                                     r->seconds, r->chance);
        }
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if (!rc) rc = cli_write_text(path, text, err);
    free(text);
    if (rc) return rc;

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "ssvae_version", SSVAE_VERSION);
    cJSON_AddStringToObject(root, "recipe", recipe);
    cJSON_AddNumberToObject(root, "seeds", nseeds);
    cJSON_AddNumberToObject(root, "first_seed", (double)seed0);
    cJSON_AddNumberToObject(root, "train_frames", T_train);
    cJSON_AddNumberToObject(root, "test_frames", T_test);
    cJSON_AddNumberToObject(root, "chance_test_px", chance);
    cJSON_AddNumberToObject(root, "map_frame", map_frame);
    cJSON *arr = cJSON_AddArrayToObject(root, "rows");
    static const char *const keys[6] = {"elbo_nats", "probe_test_px", "direct_test_px", "probe_train_px",
                                        "direct_train_px", "seconds"};
    for (int i = 0; i < nrows; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", rows[i].name);
        for (int c = 0; c < 6; c++) {
            if (isnan(sm[i].mean[c])) {
                cJSON_AddNullToObject(o, keys[c]);
                continue;
            }
            cJSON *st = cJSON_AddObjectToObject(o, keys[c]);
            cJSON_AddNumberToObject(st, "mean", sm[i].mean[c]);
            cJSON_AddNumberToObject(st, "sd", sm[i].sd[c]);
        }
        cJSON_AddNumberToObject(o, "balls_found", sm[i].found);
        cJSON_AddNumberToObject(o, "balls", sm[i].balls);
        cJSON *per = cJSON_AddArrayToObject(o, "runs");
        for (int j = 0; j < nseeds; j++) {
            const run_result *r = &res[i * nseeds + j];
            cJSON *q = cJSON_CreateObject();
            cJSON_AddNumberToObject(q, "seed", (double)(seed0 + (uint64_t)j));
            double x[6] = {r->elbo, r->probe_test, r->direct_test, r->probe_train, r->direct_train, r->seconds};
            for (int c = 0; c < 6; c++) {
                if (isnan(x[c])) cJSON_AddNullToObject(q, keys[c]);
                else cJSON_AddNumberToObject(q, keys[c], x[c]);
            }
            cJSON_AddNumberToObject(q, "balls_found", r->found);
            cJSON_AddStringToObject(q, "learned", r->learned);
            cJSON_AddItemToArray(per, q);
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *json = cJSON_Print(root);
    cJSON_Delete(root);
    snprintf(path, sizeof path, "%s/compare.json", dir);
    rc = json ? cli_write_text(path, json, err) : ssvae_fail(err, "%s: out of memory", path);
    free(json);
    return rc;
}

/* The first held-out frame t (with a next one) where the ball is at least
 * a quarter of the image from every edge, as Figure 1 chooses; 0 if none. */
static int auto_frame(const cli_data *d, int ball)
{
    double mx = 0.25 * d->W, my = 0.25 * d->H;
    for (int t = 0; t + 1 < d->T; t++) {
        const float *c = d->centres + ((size_t)t * d->K + ball) * 2;
        if (c[0] >= mx && c[0] <= d->W - mx && c[1] >= my && c[1] <= d->H - my) return t;
    }
    return 0;
}

/* The frame the maps are drawn on, kept from the first seed's videos. */
typedef struct map_frame {
    int t, ball, C, H, W;
    uint8_t *pixels;
    float now[2], next[2];
} map_frame;

/* maps.png from the first seed's models and latents in dir. */
static int draw_maps(const char *dir, const model_row *rows, int nrows, const run_result *res, int nseeds,
                     const map_frame *mf, ssvae_error *err)
{
    ssvae_model models[MAX_MODELS];
    ssvae_array lat[MAX_MODELS];
    ssvae_map_entry e[MAX_MODELS];
    int n = 0, rc = -1;
    memset(models, 0, sizeof models);
    memset(lat, 0, sizeof lat);
    for (int i = 0; i < nrows; i++) {
        if (!rows[i].trained || rows[i].supervised) continue;
        char path[4300];
        snprintf(path, sizeof path, "%.4200s/models/%.31s.safetensors", dir, rows[i].name);
        if (ssvae_model_load(&models[n], path, err)) goto done;
        snprintf(path, sizeof path, "%.4200s/latents/%.31s_test.npy", dir, rows[i].name);
        if (ssvae_npy_read(path, &lat[n], err)) goto done;
        if (lat[n].dtype != SSVAE_F32 || lat[n].ndim != 2 || lat[n].shape[0] <= mf->t ||
            lat[n].shape[1] != models[n].D) {
            ssvae_fail(err, "%s: not the latents of this run", path);
            goto done;
        }
        int k = 0;
        const int *perm = res[i * nseeds].perm;
        for (int j = 0; j < models[n].cfg.K; j++)
            if (perm[j] == mf->ball) k = j;
        e[n] = (ssvae_map_entry){rows[i].name, &models[n], (const float *)lat[n].data + (size_t)mf->t * models[n].D, k};
        n++;
    }
    char path[4300];
    snprintf(path, sizeof path, "%s/maps.png", dir);
    rc = n ? ssvae_figure_maps(path, e, n, mf->pixels, mf->C, mf->H, mf->W, mf->now, mf->next, 1.0, err) : 0;
done:
    for (int i = 0; i < MAX_MODELS; i++) {
        if (models[i].params) ssvae_model_free(&models[i]);
        ssvae_array_free(&lat[i]);
    }
    return rc;
}

static int draw_bars(const char *dir, const model_row *rows, int nrows, const summary *sm, int nseeds,
                     double chance, ssvae_error *err)
{
    const char *groups[MAX_MODELS], *series[2] = {"linear probe", "direct (each map read as its ball)"};
    double v[2 * MAX_MODELS], sd[2 * MAX_MODELS];
    for (int i = 0; i < nrows; i++) {
        groups[i] = rows[i].name;
        v[i] = sm[i].mean[1], sd[i] = sm[i].sd[1];
        v[nrows + i] = sm[i].mean[2], sd[nrows + i] = sm[i].sd[2];
    }
    char path[4300], title[128], line[64];
    snprintf(path, sizeof path, "%s/errors.png", dir);
    if (nseeds > 1) snprintf(title, sizeof title, "Decoding error per prior (mean ± sd, %d seeds)", nseeds);
    else snprintf(title, sizeof title, "Decoding error per prior");
    snprintf(line, sizeof line, "chance: the training mean, %.0f px", chance);
    return ssvae_figure_bars(path, title, "mean distance on the held-out video (px)", groups, nrows, series, 2,
                             v, sd, chance, line, err);
}

int cmd_compare(int argc, char **argv)
{
    const char *out = "compare-out", *priors = NULL;
    int nseeds = 1, T_train = 900, T_test = 300, quiet = 0, force = 0, frame = -1, ball = 0;
    cli_recipe r;
    cli_recipe_init(&r);
    cli_flag flags[40] = {
        {"priors", FLAG_STRING, &priors, "comma-separated priors to train (default: every prior of the table)", 0, -1},
        {"seeds", FLAG_INT, &nseeds, "seeds S, S+1, ... (S is --seed); the table shows mean ± sd", 1, MAX_SEEDS},
        {"out", FLAG_STRING, &out, "output folder (must not exist unless --force)", 0, -1},
        {"force", FLAG_BOOL, &force, "move an existing output folder aside (OUT.previous-N) once the new run is complete", 0, -1},
        {"frames", FLAG_INT, &T_train, "frames of each training video (at least 7, for the probe)", 7, 1000000},
        {"test-frames", FLAG_INT, &T_test, "frames of each held-out video", 8, 1000000},
        {"frame", FLAG_INT, &frame, "held-out frame of the maps picture (-1: the first with the ball a quarter of "
                                    "the image from every edge)", -1, 1000000},
        {"ball", FLAG_INT, &ball, "ball whose next position the maps picture shows", 0, 2},
        {"quiet", FLAG_BOOL, &quiet, "no progress lines", 0, -1},
    };
    int n = 9;
    cli_recipe_flags(&r, flags, &n);
    char names[512], summary_text[1024];
    prior_names(names, sizeof names);
    snprintf(summary_text, sizeof summary_text,
             "Trains every prior (%s) on the moving-balls video of seed S and scores it\n"
             "on the video of seed S+1, with the same seeds, recipe and budget, beside the\n"
             "untrained encoder and the supervised baseline. Writes the table (printed,\n"
             "compare.csv, compare.json, every run in runs.csv), errors.png (probe and\n"
             "direct error per prior) and maps.png (each prior's predictive map for the\n"
             "same held-out frame, Fig. 1D/E), and the first seed's models/ and latents/.",
             names);
    int rc = cli_parse("compare", summary_text, flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    model_row rows[MAX_MODELS];
    int nrows;
    if ((rc = choose_rows(priors, rows, &nrows))) return rc;
    if (frame > T_test - 2)
        return cli_error("compare", 2, "--frame: %d has no next frame in a held-out video of %d frames", frame, T_test);
    ssvae_train_config tc;
    double units;
    if ((rc = cli_recipe_resolve("compare", &r, 256, &tc, &units))) return rc;
    if (r.seed > UINT64_MAX - (uint64_t)nseeds - 1)
        return cli_error("compare", 2, "--seed: %llu leaves no room for %d seeds and their held-out videos",
                         (unsigned long long)r.seed, nseeds);
    char recipe[256];
    cli_recipe_describe(&tc, units, 256, recipe, sizeof recipe);
    ssvae_error err;
    struct stat st_out;
    if (!force && stat(out, &st_out) == 0)
        return cli_error("compare", 1, "%s: exists; give --force to move it aside once the new run is complete", out);
    cli_run_dir od;
    if (cli_run_dir_begin(&od, out, &err)) return cli_error("compare", 1, "%s", err.msg);
    if (!quiet) fprintf(stderr, "ssvae compare: recipe %s (preset %s); writing %s\n", recipe, r.preset, od.work);

    run_result *res = calloc((size_t)nrows * nseeds, sizeof *res);
    map_frame mf = {0};
    char models[4300], latents[4300];
    snprintf(models, sizeof models, "%s/models", od.work);
    snprintf(latents, sizeof latents, "%s/latents", od.work);
    rc = 1;
    if (!res) {
        cli_error("compare", 1, "out of memory");
        goto fail;
    }
    if (cli_make_dir(models, &err) || cli_make_dir(latents, &err)) {
        cli_error("compare", 1, "%s", err.msg);
        goto fail;
    }
    int K = 3, runs = nrows * nseeds, done = 0;
    for (int j = 0; j < nseeds; j++) {
        uint64_t seed = r.seed + (uint64_t)j;
        tc.seed = seed;
        cli_pair p;
        if (cli_pair_make("compare", seed, T_train, T_test, &p)) {
            cli_pair_free(&p);
            goto fail;
        }
        const cli_data *te = &p.data[1];
        K = te->K;
        if (j == 0) { /* the frame of the maps picture */
            mf = (map_frame){frame >= 0 ? frame : auto_frame(te, ball), ball, te->C, te->H, te->W, NULL, {0}, {0}};
            size_t bytes = (size_t)te->H * te->W * te->C;
            if (!(mf.pixels = malloc(bytes))) {
                cli_pair_free(&p);
                cli_error("compare", 1, "out of memory");
                goto fail;
            }
            memcpy(mf.pixels, te->frames + (size_t)mf.t * bytes, bytes);
            memcpy(mf.now, te->centres + ((size_t)mf.t * K + ball) * 2, sizeof mf.now);
            memcpy(mf.next, te->centres + ((size_t)(mf.t + 1) * K + ball) * 2, sizeof mf.next);
        }
        for (int i = 0; i < nrows; i++) {
            char label[64], save[4400];
            snprintf(label, sizeof label, "%.31s/%llu", rows[i].name, (unsigned long long)seed);
            snprintf(save, sizeof save, "%.4300s/%.31s.safetensors", models, rows[i].name);
            if (!quiet) fprintf(stderr, "ssvae compare: run %d of %d: %s, seed %llu\n", ++done, runs, rows[i].name,
                                (unsigned long long)seed);
            cli_row row;
            /* cli_run_model names the latents after the row: keep the name plain */
            if (cli_run_model("compare", j == 0 ? rows[i].name : label, rows[i].supervised, rows[i].prior, &tc, units,
                              &p.data[0], &p.data[1], rows[i].trained, quiet, j == 0 ? save : NULL,
                              j == 0 ? latents : NULL, &row)) {
                cli_pair_free(&p);
                goto fail;
            }
            run_result *o = &res[i * nseeds + j];
            *o = (run_result){row.elbo, row.ev.probe_test, row.ev.direct_test, row.ev.probe_train,
                              row.ev.direct_train, row.seconds, row.ev.chance_test, row.ev.found, {0}, ""};
            memcpy(o->perm, row.ev.perm, sizeof o->perm);
            snprintf(o->learned, sizeof o->learned, "%s", row.learned);
            ssvae_train_result_free(&row.curve);
        }
        cli_pair_free(&p);
    }

    summary sm[MAX_MODELS];
    double chances[MAX_SEEDS] = {0}, chance, chance_sd;
    for (int j = 0; j < nseeds; j++) chances[j] = res[j].chance;
    mean_sd(chances, nseeds, &chance, &chance_sd);
    for (int i = 0; i < nrows; i++) summarise(&res[i * nseeds], nseeds, K, &sm[i]);
    printf("\nssvae compare (seed%s %llu%s; %d training frames, %d held-out frames; %s)\n", nseeds > 1 ? "s" : "",
           (unsigned long long)r.seed, nseeds > 1 ? "..." : "", T_train, T_test, recipe);
    print_table(stdout, rows, nrows, sm, nseeds, chance);
    if (write_tables(od.work, rows, nrows, sm, res, nseeds, r.seed, chance, recipe, T_train, T_test, mf.t, &err) ||
        draw_bars(od.work, rows, nrows, sm, nseeds, chance, &err) ||
        draw_maps(od.work, rows, nrows, res, nseeds, &mf, &err)) {
        cli_error("compare", 1, "%s", err.msg);
        goto fail;
    }
    if (cli_run_dir_commit(&od, &err)) {
        cli_error("compare", 1, "%s", err.msg);
        goto fail;
    }
    if (od.aside[0] && !quiet) fprintf(stderr, "ssvae compare: the earlier run in %s is now %s\n", od.final, od.aside);
    printf("wrote %s: compare.csv, compare.json, runs.csv, errors.png, maps.png (held-out frame %d), models/, latents/\n",
           od.final, mf.t);
    free(res);
    free(mf.pixels);
    return 0;
fail:
    cli_run_dir_abandon(&od);
    free(res);
    free(mf.pixels);
    return 1;
}
