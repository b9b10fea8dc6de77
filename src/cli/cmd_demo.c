/*
 * cmd_demo.c — `ssvae demo`, the paper's experiment end to end (the same
 * experiment over many settings is `ssvae sweep`, cmd_sweep.c; over every
 * prior, `ssvae compare`, cmd_compare.c).
 *
 * Seeds: with --seed S the training video has seed S, the held-out video
 * S + 1, and every model is initialised and shuffled with seed S.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

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
    cli_pair p;
    rc = cli_pair_make("demo", tc.seed, T_train, T_test, &p);
    if (!rc && !no_data) rc = cli_pair_write("demo", work, &p);
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
    cli_pair_free(&p);
    return rc;
}
