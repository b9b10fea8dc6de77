/*
 * dist.h — data-parallel training across processes (MPI ranks), behind
 * one small interface so the trainer and the encoder call it without
 * #ifdefs: dist.c is built against Open MPI with -DSSVAE_MPI (make mpi),
 * and otherwise as a stub with one rank in which every exchange is a
 * no-op (docs/scaling.md).
 *
 * Every exchange is an all-gather of per-item records (a frame's partial
 * sums, its latents): each rank fills the records of its share of N
 * items, and afterwards every rank holds all N, in item order. Reducing
 * them in that order on every rank gives the same bits as one process
 * computing all N, whatever the rank count: no floating-point sum is ever
 * split across ranks.
 */
#ifndef SSVAE_DIST_H
#define SSVAE_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "ssvae.h"

/* Starts MPI (MPI build; the stub does nothing). Call first in main. */
void dist_init(int *argc, char ***argv);
/* Ends MPI after a normal run. */
void dist_finalize(void);
/* Ends every rank of the job at once (a failure on one rank). */
void dist_abort(int status);
/* This process's rank and the job's number of ranks (0 and 1 without MPI,
 * or before dist_init). */
int dist_rank(void);
int dist_size(void);
/* 1 if this build has MPI. */
int dist_has_mpi(void);

/* The share of N items rank r of P works on: [*lo, *lo + *n), contiguous,
 * in rank order; sizes differ by at most one (an uneven split is fine). */
void dist_share(int N, int r, int P, int *lo, int *n);

/* One array of N records of `bytes` bytes each. */
typedef struct dist_part {
    void *buf;
    size_t bytes;
} dist_part;
/* After the call every rank holds, in each part, the records of every
 * rank's share of N (dist_share), each rank having filled its own. One
 * collective call for all the parts. Counts the bytes received. */
void dist_allgather(const dist_part *parts, int nparts, int N);
/* The largest v over the ranks (a status: any rank's failure stops all). */
int dist_max(int v);
/* Bytes this rank has received in all-gathers so far. */
uint64_t dist_bytes_received(void);

/* The encoder's training passes (encoder.c) over this rank's share of a
 * batch of N frames: frames and moments (N) as ssvae_model_forward_frames
 * takes them (moments required; only the share's frames are read), z (N,
 * D) the whole batch's latents on every rank; the backward takes dz (N, D)
 * and leaves the whole batch's gradient in m->grads on every rank. With
 * dist = 0 they are ssvae_model_forward_frames (train = 1) and
 * ssvae_model_backward. */
void model_forward_shared(ssvae_model *m, const uint8_t *const *frames,
                          const double *const *moments, int N, int dist, float *z);
void model_backward_shared(ssvae_model *m, const float *dz);

#endif
