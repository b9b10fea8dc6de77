/*
 * main.c — the ssvae program: a table of subcommands, each with --help.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dist.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"demo", cmd_demo, "the paper's experiment end to end: data, three trainings, probes, table"},
    {"generate", cmd_generate, "write a moving-balls video (frames.npy, centres.npy)"},
    {"train", cmd_train, "train an encoder with a prior (or the supervised baseline)"},
    {"probe", cmd_probe, "score a trained encoder: linear probe, direct error, chance"},
    {"encode", cmd_encode, "write the latents of a video as .npy"},
    {"sweep", cmd_sweep, "many settings x seeds: when do the maps find the balls?"},
    {"compare", cmd_compare, "every prior on the same videos, seeds and recipe: table, bar chart, maps"},
    {"figure", cmd_figure, "draw the paper's Figure 1 (PNG) from a demo output folder"},
    {"show", cmd_show, "pictures of what a model learned on any video (PNG)"},
    {"theory", cmd_theory, "check the paper's identities on Gaussian problems"},
    {"bench", cmd_bench, "speed of the paper's model: frames/s, GFLOP/s, seconds an epoch, threads"},
};

static void usage(FILE *out)
{
    fprintf(out, "ssvae %s: self-supervised learning as variational inference\n\n"
                 "usage: ssvae COMMAND [flags]   (ssvae COMMAND --help for its flags)\n\ncommands:\n",
            SSVAE_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

/* Ranks mpirun (or srun) says this process is one of: 1 when started
 * alone. Read from the launchers' environment, so the plain build can tell. */
static int launched_ranks(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 1 && (i < 3 || getenv("SLURM_STEP_ID"))) return atoi(v);
    }
    return 1;
}

static int run_command(int argc, char **argv);

int main(int argc, char **argv)
{
    int ranks = launched_ranks();
    if (ranks > 1 && !dist_has_mpi()) {
        fprintf(stderr, "ssvae: started as one of %d MPI ranks, but this ssvae was built without MPI "
                        "(each rank would train alone): build the MPI one with `make mpi` "
                        "(Debian: libopenmpi-dev openmpi-bin) and run build-mpi/ssvae\n", ranks);
        return 2;
    }
    dist_init(&argc, &argv);
    if (dist_size() > 1 && (argc < 2 || strcmp(argv[1], "train"))) {
        if (dist_rank() == 0)
            fprintf(stderr, "ssvae %s: only `ssvae train` runs across MPI ranks; run it as one process\n",
                    argc < 2 ? "" : argv[1]);
        dist_finalize();
        return 2;
    }
    int rc = run_command(argc, argv);
    /* A rank that failed alone must not leave the others waiting in an
     * exchange: the job ends on every rank. */
    if (rc && dist_size() > 1) dist_abort(rc);
    dist_finalize();
    return rc;
}

static int run_command(int argc, char **argv)
{
    if (argc < 2) { /* bad usage: one line, like every other */
        fprintf(stderr, "ssvae: no command given; one of");
        for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
            fprintf(stderr, "%s %s", i ? "," : "", commands[i].name);
        fprintf(stderr, " (see ssvae --help)\n");
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ssvae %s\n", SSVAE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ssvae: unknown command '%s' (see ssvae --help)\n", argv[1]);
    return 2;
}
