/*
 * cli.h — what the subcommands of the ssvae program share: a table-driven
 * flag parser, the progress line, and file helpers. Only the CLI prints.
 *
 * Exit statuses: 0 success, 1 a failure while working (bad file, NaN loss),
 * 2 bad usage (unknown flag, missing or out-of-range value).
 */
#ifndef SSVAE_CLI_H
#define SSVAE_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "ssvae.h"

typedef enum { FLAG_INT, FLAG_U64, FLAG_DOUBLE, FLAG_STRING, FLAG_BOOL } flag_type;

typedef struct cli_flag {
    const char *name;   /* without the dashes: "frames" for --frames */
    flag_type type;
    void *value;        /* int*, uint64_t*, double*, const char**, int* (bool) */
    const char *help;   /* one line; the default is printed after it */
    double min, max;    /* inclusive range for numbers (ignored if min > max) */
} cli_flag;

/* Parses argv[1..argc) against flags (terminated by a zero entry). Accepts
 * --name VALUE and --name=VALUE; booleans take no value. Returns 0 to go
 * on, -1 after printing --help (exit 0), or 2 after a one-line error on
 * stderr (exit 2). */
int cli_parse(const char *cmd, const char *summary, const cli_flag *flags,
              int argc, char **argv);

/* One-line error "ssvae CMD: message" on stderr; returns status. */
int cli_error(const char *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Progress line on stderr: rewritten in place on a terminal, plain lines
 * otherwise; silent when quiet. */
typedef struct cli_progress {
    const char *label;
    int quiet;
    int supervised;     /* report mean squared error, not an ELBO */
} cli_progress;

void cli_progress_epoch(void *ctx, const ssvae_epoch_stats *st);

/* mkdir -p; returns 0 or fills err. */
int cli_make_dir(const char *path, ssvae_error *err);


/* A run folder written as a set (files.c): cli_run_dir_begin makes the
 * fresh sibling work folder (OUT.partial-XXXXXX) that the run writes
 * into; cli_run_dir_commit renames it onto OUT once the run is complete,
 * moving an earlier OUT aside to OUT.previous-N first (aside says where;
 * empty if there was none); cli_run_dir_abandon removes the work folder
 * after a failure. Used by demo and compare. */
typedef struct cli_run_dir {
    char final[4096];   /* OUT, without trailing slashes */
    char work[4200];    /* where the run writes; empty once committed */
    char aside[4200];   /* where the earlier run went, or empty */
} cli_run_dir;

int cli_run_dir_begin(cli_run_dir *rd, const char *final, ssvae_error *err);
int cli_run_dir_commit(cli_run_dir *rd, ssvae_error *err);
void cli_run_dir_abandon(cli_run_dir *rd);

/* Writes text to path through a temporary file renamed into place. */
int cli_write_text(const char *path, const char *text, ssvae_error *err);

/* A video in any form ssvae_video_read takes (a .npy file, a folder with
 * frames.npy, a folder of PNG frames), as (T, H, W, C) uint8, and, for
 * the folder forms, centres.npy (T, K, 2) float32 pixels if present. */
typedef struct cli_video {
    ssvae_array frames, centres;
    int T, H, W, C, K; /* K = 0 without centres */
    int quantised;     /* float frames were rounded to 8 bits */
    int cache_state;   /* ssvae_video_open's: 0 none, 1 reused, 2 written */
} cli_video;

/* need_centres: fail unless path is a folder holding centres.npy. */
int cli_load_video(const char *path, cli_video *v, int need_centres, ssvae_error *err);
/* Loads a video and says, unless quiet, how it was read ("ssvae CMD:
 * PATH: T frames of WxH, C channels" and a note if quantised); 0, or 1
 * after a one-line error. */
int cli_open_video(const char *cmd, const char *path, cli_video *v, int need_centres, int quiet);
/* The same with a cache folder (ssvae_video_open; NULL: none) for PNG and
 * float videos, which are then decoded once and mapped. */
int cli_load_video_cached(const char *path, const char *cache, cli_video *v, int need_centres,
                          ssvae_error *err);
int cli_open_video_cached(const char *cmd, const char *path, const char *cache, cli_video *v,
                          int need_centres, int quiet);
void cli_video_free(cli_video *v);

/* The training recipe flags shared by train, demo and sweep. Unset values
 * (NULL, negative) take the preset's. */
typedef struct cli_recipe {
    const char *preset;  /* "default" or "paper" */
    const char *optim;   /* "sgd" or "adam" */
    double lr, momentum;
    int epochs, batch;
    const char *L0;      /* a number, or "data" */
    int fix_L;
    const char *W0;      /* a number, or "data" */
    const char *units;   /* "norm" or "px" */
    double nu;           /* student-t degrees of freedom; <= 0: default */
    double bn2_gain, bn2_bias; /* NaN: the preset's */
    uint64_t seed;
} cli_recipe;

void cli_recipe_init(cli_recipe *r);
/* Appends the recipe's flags to flags[*n...]. */
void cli_recipe_flags(cli_recipe *r, cli_flag *flags, int *n);
/* Turns the recipe into a training configuration and the latent units for
 * frames W pixels wide; 0, or 2 after a one-line error. */
int cli_recipe_resolve(const char *cmd, const cli_recipe *r, int W,
                       ssvae_train_config *tc, double *units);
/* "sgd lr=0.005 epochs=30 batch=30 L0=data ..." for reports. */
void cli_recipe_describe(const ssvae_train_config *tc, double units, int W,
                         char *buf, size_t len);

/* One video in memory (borrowed pointers). */
typedef struct cli_data {
    const uint8_t *frames;  /* (T, H, W, C) */
    const float *centres;   /* (T, K, 2) px */
    int T, H, W, C, K;
} cli_data;

/* A training video (seed S) and a held-out video (seed S + 1) of the
 * moving balls, default size, in memory (owned). */
typedef struct cli_pair {
    uint8_t *frames[2];
    float *centres[2];
    cli_data data[2]; /* train, test */
} cli_pair;

/* 0, or 1 after a one-line error; free with cli_pair_free either way. */
int cli_pair_make(const char *cmd, uint64_t seed, int T_train, int T_test, cli_pair *p);
void cli_pair_free(cli_pair *p);
/* Writes out/data/{train,test}/{frames,centres}.npy; 0, or 1 after an error. */
int cli_pair_write(const char *cmd, const char *out, const cli_pair *p);

/* One row of the Figure 1C table. */
typedef struct cli_row {
    char name[32];          /* untrained, gaussian, linear, supervised, ... */
    int nballs;             /* K */
    ssvae_eval ev;
    double elbo;            /* last epoch's mean ELBO, nats (NaN if none) */
    double log_b;           /* its ceiling */
    double init;            /* L0 or W0 scale the run started from */
    char learned[64];       /* "L=0.0213", "|W|=3.2", "-" */
    double seconds;         /* training time */
    ssvae_train_result curve; /* per-epoch loss and ELBO (owned) */
} cli_row;

/* A row named name for K balls, nothing measured yet (ELBO NaN, learned "-"). */
void cli_row_init(cli_row *row, const char *name, int K);
/* Fills the training columns from row->curve, the run that trained m on
 * T frames with tc: seconds, starting scale, and for a prior the last
 * epoch's ELBO, its ceiling log B and the learned parameters. */
void cli_row_training(cli_row *row, const ssvae_model *m, const ssvae_train_config *tc, int T);

/* Trains (unless train == 0) and evaluates one model; saves it to
 * save_path and its latents under latents_dir when not NULL. Returns 0 or 1
 * after a one-line error. */
int cli_run_model(const char *cmd, const char *name, int supervised,
                  ssvae_prior_kind prior, const ssvae_train_config *tc,
                  double units, const cli_data *train, const cli_data *test,
                  int do_train, int quiet, const char *save_path,
                  const char *latents_dir, cli_row *row);

/* The table as text, CSV and JSON. */
void cli_print_table(FILE *out, const cli_row *rows, int n, double chance);
int cli_write_rows(const char *dir, const char *stem, const cli_row *rows,
                   int n, double chance, const char *recipe, ssvae_error *err);

/* The subcommands. */
int cmd_generate(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_theory(int argc, char **argv);
int cmd_figure(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Draws Figure 1 of the run folder run into out (NULL: run/figures) and
 * says where; 0, or 1 after a one-line error (cmd_figure.c). */
int cli_figure_run(const char *cmd, const char *run, const char *out,
                   const ssvae_figure_options *opt, int quiet);

#endif
