/*
 * cmd_demo.c — `ssvae demo`, the paper's experiment end to end, and
 * `ssvae sweep`, the same experiment over many settings and seeds.
 *
 * Seeds: with --seed S the training video has seed S, the held-out video
 * S + 1, and every model is initialised and shuffled with seed S.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* A training and a held-out video in memory. */
typedef struct video_pair {
    uint8_t *frames[2];
    float *centres[2];
    cli_data data[2]; /* train, test */
} video_pair;

static void pair_free(video_pair *p)
{
    for (int i = 0; i < 2; i++) {
        free(p->frames[i]);
        free(p->centres[i]);
    }
}

static int make_pair(const char *cmd, uint64_t seed, int T_train, int T_test, video_pair *p)
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

static int write_pair(const char *cmd, const char *out, const video_pair *p)
{
    const char *names[2] = {"train", "test"};
    ssvae_error err;
    for (int i = 0; i < 2; i++) {
        const cli_data *d = &p->data[i];
        char dir[4400], path[4500];
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

int cmd_demo(int argc, char **argv)
{
    const char *out = "ssvae-out";
    int T_train = 900, T_test = 300, quiet = 0, no_data = 0, no_figure = 0;
    cli_recipe r;
    cli_recipe_init(&r);
    cli_flag flags[32] = {
        {"out", FLAG_STRING, &out, "output folder", 0, -1},
        {"frames", FLAG_INT, &T_train, "frames of the training video (at least 7, for the probe)", 7, 1000000},
        {"test-frames", FLAG_INT, &T_test, "frames of the held-out video", 8, 1000000},
        {"no-data", FLAG_BOOL, &no_data, "do not write the videos into the output folder", 0, -1},
        {"quiet", FLAG_BOOL, &quiet, "no progress lines", 0, -1},
        {"no-figure", FLAG_BOOL, &no_figure, "do not draw Figure 1 into OUT/figures (needs the videos)", 0, -1},
    };
    int n = 6;
    cli_recipe_flags(&r, flags, &n);
    int rc = cli_parse("demo", "The paper's experiment (section 4, Fig. 1C) end to end: generates the\n"
                       "training video (seed S) and the held-out video (seed S+1), trains the\n"
                       "gaussian prior, the linear prior and the supervised baseline, scores them\n"
                       "and an untrained encoder, prints the table and writes results.csv/.json,\n"
                       "the models and the latents into the output folder.", flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    ssvae_train_config tc;
    double units;
    if ((rc = cli_recipe_resolve("demo", &r, 256, &tc, &units))) return rc;
    ssvae_error err;
    char dir[4300];
    /* The run goes into a fresh folder renamed onto --out at the end
     * (cli_run_dir): a run killed halfway never leaves a mix of two. */
    cli_run_dir rd;
    if (cli_run_dir_begin(&rd, out, &err)) return cli_error("demo", 1, "%s", err.msg);
    const char *work = rd.work;
    snprintf(dir, sizeof dir, "%s/models", work);
    if (cli_make_dir(dir, &err)) {
        cli_run_dir_abandon(&rd);
        return cli_error("demo", 1, "%s", err.msg);
    }
    snprintf(dir, sizeof dir, "%s/latents", work);
    if (cli_make_dir(dir, &err)) {
        cli_run_dir_abandon(&rd);
        return cli_error("demo", 1, "%s", err.msg);
    }

    char recipe[256];
    cli_recipe_describe(&tc, units, 256, recipe, sizeof recipe);
    if (!quiet) fprintf(stderr, "ssvae demo: recipe %s (preset %s)\n", recipe, r.preset);
    video_pair p;
    rc = make_pair("demo", tc.seed, T_train, T_test, &p);
    if (!rc && !no_data) rc = write_pair("demo", work, &p);
    cli_row rows[4];
    memset(rows, 0, sizeof rows);
    const char *names[4] = {"untrained", "gaussian", "linear", "supervised"};
    ssvae_prior_kind priors[4] = {SSVAE_PRIOR_GAUSSIAN, SSVAE_PRIOR_GAUSSIAN, SSVAE_PRIOR_LINEAR, SSVAE_PRIOR_GAUSSIAN};
    for (int i = 0; i < 4 && !rc; i++) {
        char save[4300];
        snprintf(save, sizeof save, "%s/models/%s.safetensors", work, names[i]);
        rc = cli_run_model("demo", names[i], i == 3, priors[i], &tc, units, &p.data[0], &p.data[1],
                           i > 0, quiet, save, dir, &rows[i]);
    }
    if (!rc) {
        printf("\nFigure 1C (seed %llu; %d training frames, %d held-out frames; %s)\n",
               (unsigned long long)tc.seed, T_train, T_test, recipe);
        cli_print_table(stdout, rows, 4, rows[0].ev.chance_test);
        if (cli_write_rows(work, "results", rows, 4, rows[0].ev.chance_test, recipe, &err)) {
            rc = cli_error("demo", 1, "%s", err.msg);
        } else if (cli_run_dir_commit(&rd, &err)) {
            rc = cli_error("demo", 1, "%s", err.msg); /* says where the complete run is: kept */
            rd.work[0] = '\0';
        } else {
            printf("wrote %s/results.csv, %s/results.json, models/ and latents/\n", rd.final, rd.final);
            if (rd.aside[0])
                fprintf(stderr, "ssvae demo: the earlier run in %s was moved to %s\n", rd.final, rd.aside);
        }
    }
    if (rc) cli_run_dir_abandon(&rd);
    /* Figure 1 from the run just committed: drawn from its own files only. */
    if (!rc && !no_figure && !no_data)
        rc = cli_figure_run("demo", rd.final, NULL, NULL, 0);
    for (int i = 0; i < 4; i++) ssvae_train_result_free(&rows[i].curve);
    pair_free(&p);
    return rc;
}

/* ---- sweep ---------------------------------------------------------------- */

/* One setting of the sweep: a head and a recipe on top of the paper's. */
typedef struct setting {
    const char *name;
    const char *head;  /* gaussian, linear, supervised, untrained */
    const char *optim;
    const char *L0;    /* gaussian */
    int fix_L;
    const char *W0;    /* linear */
    const char *units;
} setting;

static const setting settings[] = {
    {"untrained", "untrained", "sgd", "0.01", 0, "1", "norm"},
    {"gaussian-sgd-L0.01", "gaussian", "sgd", "0.01", 0, NULL, "norm"},
    {"linear-adam-I", "linear", "adam", NULL, 0, "1", "norm"},
    {"linear-sgd-I", "linear", "sgd", NULL, 0, "1", "norm"},
    {"gaussian-adam-L0.01", "gaussian", "adam", "0.01", 0, NULL, "norm"},
    {"supervised-sgd", "supervised", "sgd", NULL, 0, NULL, "norm"},
    {"gaussian-sgd-Lfixed0.125", "gaussian", "sgd", "0.125", 1, NULL, "norm"},
    {"gaussian-sgd-Ldata", "gaussian", "sgd", "data", 0, NULL, "norm"},
    {"linear-sgd-Wdata", "linear", "sgd", NULL, 0, "data", "norm"},
    {"gaussian-adam-Lfixed0.125", "gaussian", "adam", "0.125", 1, NULL, "norm"},
    {"supervised-adam", "supervised", "adam", NULL, 0, NULL, "norm"},
    {"linear-sgd-I-px", "linear", "sgd", NULL, 0, "1", "px"},
};
#define NSETTINGS ((int)(sizeof settings / sizeof *settings))


static int wanted(const char *only, const char *name)
{
    if (!only) return 1;
    size_t len = strlen(name);
    for (const char *p = only; *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l == len && !strncmp(p, name, l)) return 1;
        p += l + (c != NULL);
    }
    return 0;
}

int cmd_sweep(int argc, char **argv)
{
    const char *out = "sweep-out", *only = NULL;
    int seeds = 5, first = 1, data_seed = 0, T_train = 900, T_test = 300, epochs = 30, quiet = 0, list = 0;
    double lr = 0.005;
    cli_flag flags[] = {
        {"seeds", FLAG_INT, &seeds, "seeds per setting", 1, 1000},
        {"first-seed", FLAG_INT, &first, "first seed", 0, 1000000},
        {"data-seed", FLAG_INT, &data_seed, "0: each run's videos follow its seed (S, S+1); N: every run "
                                            "trains on video N and is scored on N+1, only the initialisation varies", 0, 1000000},
        {"only", FLAG_STRING, &only, "comma-separated settings to run (see --list)", 0, -1},
        {"list", FLAG_BOOL, &list, "list the settings and exit", 0, -1},
        {"epochs", FLAG_INT, &epochs, "epochs per run", 0, 100000},
        {"lr", FLAG_DOUBLE, &lr, "learning rate of every run", 1e-12, 100},
        {"frames", FLAG_INT, &T_train, "frames of each training video (at least 7, for the probe)", 7, 1000000},
        {"test-frames", FLAG_INT, &T_test, "frames of each held-out video", 8, 1000000},
        {"out", FLAG_STRING, &out, "output folder (sweep.csv, summary.csv)", 0, -1},
        {"quiet", FLAG_BOOL, &quiet, "no progress lines", 0, -1},
        {0},
    };
    int rc = cli_parse("sweep", "Runs the experiment for every setting (prior x optimiser x\n"
                       "initialisation) and seed, and reports for each setting how often the maps\n"
                       "find the balls (a map's direct test error under 8 px).", flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    if (list) {
        for (int s = 0; s < NSETTINGS; s++)
            printf("%-26s head=%s optim=%s L0=%s%s W0=%s units=%s\n", settings[s].name, settings[s].head,
                   settings[s].optim, settings[s].L0 ? settings[s].L0 : "-", settings[s].fix_L ? " (fixed)" : "",
                   settings[s].W0 ? settings[s].W0 : "-", settings[s].units);
        return 0;
    }
    for (const char *p = only; p && *p;) { /* every name in --only is a setting */
        size_t l = strcspn(p, ",");
        int known = 0;
        for (int s = 0; s < NSETTINGS; s++)
            known |= strlen(settings[s].name) == l && !strncmp(p, settings[s].name, l);
        if (!known)
            return cli_error("sweep", 2, "--only: unknown setting '%.*s' (see ssvae sweep --list)", (int)l, p);
        p += l + (p[l] == ',');
    }
    ssvae_error err;
    if (cli_make_dir(out, &err)) return cli_error("sweep", 1, "%s", err.msg);
    size_t cap = 1 << 20, used = 0;
    char *csv = malloc(cap), path[4200];
    used += (size_t)snprintf(csv, cap, "setting,seed,data_seed,elbo_nats,probe_test_px,direct_test_px,"
                             "probe_train_px,direct_train_px,learned,seconds,balls_found,all_found\n");
    snprintf(path, sizeof path, "%s/sweep.csv", out);
    double sum[NSETTINGS][4] = {{0}};
    int count[NSETTINGS] = {0}, found[NSETTINGS] = {0}, balls[NSETTINGS] = {0};
    for (int s = 0; s < NSETTINGS && !rc; s++) {
        const setting *st = &settings[s];
        if (!wanted(only, st->name)) continue;
        for (int k = 0; k < seeds && !rc; k++) {
            uint64_t seed = (uint64_t)(first + k);
            cli_recipe r;
            cli_recipe_init(&r);
            r.optim = st->optim; r.lr = lr; r.epochs = epochs; r.seed = seed;
            r.L0 = st->L0; r.fix_L = st->fix_L; r.W0 = st->W0; r.units = st->units;
            ssvae_train_config tc;
            double units;
            if ((rc = cli_recipe_resolve("sweep", &r, 256, &tc, &units))) break;
            video_pair p;
            uint64_t dseed = data_seed ? (uint64_t)data_seed : seed;
            if ((rc = make_pair("sweep", dseed, T_train, T_test, &p))) { pair_free(&p); break; }
            int untrained = !strcmp(st->head, "untrained"), sup = !strcmp(st->head, "supervised");
            ssvae_prior_kind prior = SSVAE_PRIOR_GAUSSIAN;
            if (!untrained && !sup) ssvae_prior_lookup(st->head, &prior);
            char label[64];
            snprintf(label, sizeof label, "%s/%llu", st->name, (unsigned long long)seed);
            cli_row row;
            rc = cli_run_model("sweep", label, sup, prior, &tc, units, &p.data[0], &p.data[1],
                               !untrained, quiet, NULL, NULL, &row);
            int K = p.data[0].K;
            pair_free(&p);
            if (rc) break;
            int ok = row.ev.found == K;
            char elbo[32];
            if (isnan(row.elbo)) snprintf(elbo, sizeof elbo, "-");
            else snprintf(elbo, sizeof elbo, "%.4f", row.elbo);
            if (used + 512 > cap) csv = realloc(csv, cap *= 2);
            used += (size_t)snprintf(csv + used, cap - used, "%s,%llu,%llu,%s,%.3f,%.3f,%.3f,%.3f,%s,%.1f,%d,%d\n",
                                     st->name, (unsigned long long)seed, (unsigned long long)dseed, elbo, row.ev.probe_test,
                                     row.ev.direct_test, row.ev.probe_train, row.ev.direct_train,
                                     row.learned, row.seconds, row.ev.found, ok);
            if (cli_write_text(path, csv, &err)) rc = cli_error("sweep", 1, "%s", err.msg);
            if (!quiet)
                fprintf(stderr, "%-30s elbo %s probe %.2f px direct %.2f px, %d of %d balls found\n",
                        label, elbo, row.ev.probe_test, row.ev.direct_test, row.ev.found, K);
            sum[s][0] += isnan(row.elbo) ? 0 : row.elbo;
            sum[s][1] += row.ev.probe_test;
            sum[s][2] += row.ev.direct_test;
            sum[s][3] += row.seconds;
            count[s]++;
            found[s] += ok;
            balls[s] += row.ev.found;
            ssvae_train_result_free(&row.curve);
        }
    }
    free(csv);
    if (rc) return rc;
    char summary[1 << 14];
    size_t su = (size_t)snprintf(summary, sizeof summary,
                                 "setting,runs,all_found,mean_balls_found,mean_elbo_nats,mean_probe_test_px,"
                                 "mean_direct_test_px,mean_seconds\n");
    printf("\n%-26s %5s %10s %12s %10s %12s %13s\n", "setting", "runs", "all found", "balls found",
           "mean ELBO", "mean probe", "mean direct");
    for (int s = 0; s < NSETTINGS; s++) {
        if (!count[s]) continue;
        double c = count[s];
        printf("%-26s %5d %10d %12.2f %10.3f %9.2f px %10.2f px\n", settings[s].name, count[s], found[s],
               balls[s] / c, sum[s][0] / c, sum[s][1] / c, sum[s][2] / c);
        su += (size_t)snprintf(summary + su, sizeof summary - su, "%s,%d,%d,%.2f,%.4f,%.3f,%.3f,%.1f\n",
                               settings[s].name, count[s], found[s], balls[s] / c, sum[s][0] / c,
                               sum[s][1] / c, sum[s][2] / c, sum[s][3] / c);
    }
    snprintf(path, sizeof path, "%s/summary.csv", out);
    if (cli_write_text(path, summary, &err)) return cli_error("sweep", 1, "%s", err.msg);
    printf("wrote %s/sweep.csv and %s/summary.csv\n", out, out);
    return 0;
}
