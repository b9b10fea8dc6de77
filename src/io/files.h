/*
 * files.h — opening inputs and committing outputs (internal to the
 * library; src/io/files.c). ssvae_output_check and ssvae_file_kind are
 * public (ssvae.h).
 */
#ifndef SSVAE_IO_FILES_H
#define SSVAE_IO_FILES_H

#include <stdio.h>

#include "ssvae.h"

/* Opens path for reading if it is a regular file: the type is checked
 * before open() (a FIFO would block it forever) and again on the open
 * descriptor. Returns the descriptor, or -1 after filling err
 * ("PATH: cannot open: REASON" or "PATH: not a regular file (a FIFO)"). */
int io_open_input(const char *path, ssvae_error *err);
/* The same as a stdio stream ("rb"). */
FILE *io_fopen_input(const char *path, ssvae_error *err);

/* Renames the finished temporary file tmp onto path, after checking path
 * again with ssvae_output_check (no inputs); tmp is removed on failure. */
int io_commit_output(const char *tmp, const char *path, ssvae_error *err);

#endif
