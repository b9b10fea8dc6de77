/*
 * cmd_figure.c — `ssvae figure`: the paper's Figure 1 from a demo output
 * folder (the drawing is ssvae_figure in the library; this is its flags),
 * and the figure step the demo runs at its end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_figure_run(const char *cmd, const char *run, const char *out,
                   const ssvae_figure_options *opt, int quiet)
{
    ssvae_error err;
    int written = 0;
    if (ssvae_figure(run, out, opt, &written, &err))
        return cli_error(cmd, 1, "%s", err.msg);
    if (!quiet)
        printf("wrote %d pictures to %s%s (figure1.png and one per panel)\n", written,
               out ? out : run, out ? "" : "/figures");
    return 0;
}

int cmd_figure(int argc, char **argv)
{
    const char *run = NULL, *out = NULL, *pool = NULL;
    int quiet = 0;
    ssvae_figure_options opt;
    ssvae_figure_options_default(&opt);
    cli_flag flags[] = {
        {"run", FLAG_STRING, &run, "demo output folder to draw (required)", 0, -1},
        {"frame", FLAG_INT, &opt.frame, "held-out frame t of D/E, training frames t..t+2 of A (-1: auto)",
         -1, 1000000000},
        {"ball", FLAG_INT, &opt.ball, "ball of panels D/E (0 coral, 1 sea green, 2 royal blue)", 0, SSVAE_MAXBALLS - 1},
        {"out", FLAG_STRING, &out, "output folder (default RUN/figures)", 0, -1},
        {"pool", FLAG_STRING, &pool, "comma-separated run folders (other seeds) pooled into panel C", 0, -1},
        {"scale", FLAG_DOUBLE, &opt.scale, "picture size factor", 0.25, 4},
        {"quiet", FLAG_BOOL, &quiet, "print nothing on success", 0, -1},
        {0},
    };
    int rc = cli_parse("figure", "Draws the paper's Figure 1 from a `ssvae demo` output folder: (A)\n"
                       "consecutive frames with the motion, (B) probe-decoded vs true centres, (C) the\n"
                       "error bar chart, (D, E) the predictive map of one ball's next position under\n"
                       "the gaussian and the linear prior, and the training curves. Writes\n"
                       "panel_a.png ... panel_e.png, curves.png and figure1.png (see docs/figures.md).",
                       flags, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (!run)
        return cli_error("figure", 2, "--run is required (a folder written by ssvae demo)");
    /* --pool a,b,c: split into a list of folders */
    char *copy = pool ? strdup(pool) : NULL;
    const char *dirs[64];
    int n = 0;
    char *save = NULL;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == 64) {
            free(copy);
            return cli_error("figure", 2, "--pool: more than 64 folders");
        }
        dirs[n++] = tok;
    }
    opt.pool = dirs;
    opt.npool = n;
    rc = cli_figure_run("figure", run, out, &opt, quiet);
    free(copy);
    return rc;
}
