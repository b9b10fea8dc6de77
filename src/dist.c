/*
 * dist.c — the ranks of a data-parallel run (dist.h): Open MPI when built
 * with -DSSVAE_MPI, else one rank and no exchanges. The only file that
 * includes mpi.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"

#ifdef SSVAE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;
static uint64_t g_received = 0;

void dist_share(int N, int r, int P, int *lo, int *n)
{
    int64_t a = (int64_t)N * r / P, b = (int64_t)N * (r + 1) / P;
    *lo = (int)a;
    *n = (int)(b - a);
}

uint64_t dist_bytes_received(void) { return g_received; }
int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }

#ifdef SSVAE_MPI

int dist_has_mpi(void) { return 1; }

void dist_init(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    /* A failed collective ends the job (the default), never returns junk. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

void dist_finalize(void) { MPI_Finalize(); }

void dist_abort(int status) { MPI_Abort(MPI_COMM_WORLD, status); }

/* Scratch for packing the parts: grown, never shrunk. */
static unsigned char *g_pack;
static size_t g_pack_size;

static unsigned char *pack_room(size_t n)
{
    if (n > g_pack_size) {
        free(g_pack);
        g_pack = malloc(n);
        if (!g_pack) {
            fprintf(stderr, "ssvae: out of memory (%zu bytes) for an all-gather\n", n);
            dist_abort(1);
        }
        g_pack_size = n;
    }
    return g_pack;
}

void dist_allgather(const dist_part *parts, int nparts, int N)
{
    if (g_size == 1) return;
    size_t rec = 0;
    for (int i = 0; i < nparts; i++) rec += parts[i].bytes;
    if (rec == 0 || N == 0) return;
    /* Records packed frame by frame (all parts of item 0, then item 1 ...),
     * so one call moves them all; MPI counts are ints: MPI_BYTE records in
     * chunks of rec bytes. */
    int counts[4096], displs[4096];
    int *cnt = g_size <= 4096 ? counts : malloc(sizeof(int) * g_size);
    int *dsp = g_size <= 4096 ? displs : malloc(sizeof(int) * g_size);
    MPI_Datatype record;
    MPI_Type_contiguous((int)rec, MPI_BYTE, &record);
    MPI_Type_commit(&record);
    for (int r = 0; r < g_size; r++) dist_share(N, r, g_size, &dsp[r], &cnt[r]);
    /* One part is gathered where it lies; several are packed first. */
    unsigned char *buf = nparts == 1 ? parts[0].buf : pack_room(rec * (size_t)N);
    int lo = dsp[g_rank], n = cnt[g_rank];
    for (int t = lo; t < lo + n && nparts > 1; t++) {
        unsigned char *dst = buf + rec * (size_t)t;
        for (int i = 0; i < nparts; i++) {
            memcpy(dst, (unsigned char *)parts[i].buf + parts[i].bytes * (size_t)t, parts[i].bytes);
            dst += parts[i].bytes;
        }
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, cnt, dsp, record, MPI_COMM_WORLD);
    MPI_Type_free(&record);
    for (int t = 0; t < N && buf != parts[0].buf; t++) {
        if (t >= lo && t < lo + n) continue;
        const unsigned char *src = buf + rec * (size_t)t;
        for (int i = 0; i < nparts; i++) {
            memcpy((unsigned char *)parts[i].buf + parts[i].bytes * (size_t)t, src, parts[i].bytes);
            src += parts[i].bytes;
        }
    }
    g_received += rec * (uint64_t)(N - n);
    if (cnt != counts) free(cnt);
    if (dsp != displs) free(dsp);
}

int dist_max(int v)
{
    if (g_size == 1) return v;
    int out;
    MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    g_received += sizeof(int);
    return out;
}

#else /* one rank: nothing to exchange */

int dist_has_mpi(void) { return 0; }
void dist_init(int *argc, char ***argv) {}
void dist_finalize(void) {}
void dist_abort(int status) { exit(status); }
void dist_allgather(const dist_part *parts, int nparts, int N) {}
int dist_max(int v) { return v; }

#endif
