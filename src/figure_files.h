/*
 * figure_files.h — how the picture commands (Figure 1, `ssvae show`) put a
 * set of drawn canvases on disk (internal): all or none, through
 * temporaries committed at the end.
 */
#ifndef SSVAE_FIGURE_FILES_H
#define SSVAE_FIGURE_FILES_H

#include "plot.h"
#include "ssvae.h"

/* Writes pics[i] as dir/names[i] (PNG, RGBA) for every i with names[i]
 * not NULL. dir is created if needed (mkdir -p) and must be writable.
 * Every picture is first written to a temporary in dir; only when all are
 * written are they renamed into place (each through the output check of
 * io_commit_output), so a failure leaves no partial file. written (may be
 * NULL) receives the number of files put in place. */
int figure_write_set(const char *dir, const plot_canvas *pics, const char *const *names, int n,
                     int *written, ssvae_error *err);

#endif
