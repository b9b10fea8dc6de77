/*
 * bench_step.c — speed of one training step and of one epoch of the
 * encoder on the paper's data (900 frames of 256x256x3, N = 60 frames a
 * step), and a checksum of the results so runs at different thread counts
 * (or before and after an optimisation) can be compared bit for bit.
 * Not built by the Makefile:
 *
 *   gcc -O3 -march=native -std=c11 -D_POSIX_C_SOURCE=200809L -ffp-contract=fast \
 *       -fopenmp -Iinclude -Isrc dev/bench_step.c build/libssvae.a \
 *       $(pkg-config --libs libpng libcjson) -lm -o build/bench_step
 *   OMP_NUM_THREADS=1 build/bench_step; OMP_NUM_THREADS=2 build/bench_step
 *
 * Arguments: steps (default 20), epochs (default 1; 0 = steps only).
 * Prints seconds per forward+backward step (median of the timed steps),
 * the process's CPU seconds a step, seconds for one epoch through ssvae_train, and FNV-1a hashes of the
 * trained parameters, running statistics and the encoded z of all frames.
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ssvae.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* CPU seconds of the whole process (all threads): on a shared machine, a
 * figure that waiting for a core does not inflate (run with
 * OMP_WAIT_POLICY=passive so idle threads do not spin). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 20;
    int epochs = argc > 2 ? atoi(argv[2]) : 1;
    ssvae_error err;
    ssvae_balls_config bc;
    ssvae_balls_default(&bc);
    size_t fsz = (size_t)bc.height * bc.width * 3;
    uint8_t *video = malloc((size_t)bc.frames * fsz);
    float *centres = malloc((size_t)bc.frames * bc.nballs * 2 * sizeof(float));
    if (ssvae_balls_generate(&bc, video, centres, NULL, &err)) {
        fprintf(stderr, "bench_step: %s\n", err.msg);
        return 1;
    }
    ssvae_model_config mc;
    ssvae_model_config_default(&mc);
    ssvae_model m;
    if (ssvae_model_init(&m, &mc, 1, &err)) {
        fprintf(stderr, "bench_step: %s\n", err.msg);
        return 1;
    }

    /* Steps: forward + backward on N = 60 frames with a fixed dz. */
    enum { N = 60 };
    int idx[N];
    float z[N * 2 * SSVAE_MAXBALLS] = {0}, dz[N * 2 * SSVAE_MAXBALLS];
    ssvae_rng rng;
    ssvae_rng_seed(&rng, 7);
    for (int i = 0; i < N * m.D; i++) dz[i] = (float)(ssvae_rng_uniform(&rng) - 0.5);
    double *t = malloc((size_t)(steps + 1) * sizeof *t);
    double tf = 0, tb = 0, tcpu = 0;
    for (int s = 0; s <= steps; s++) { /* step 0 warms up (allocates) */
        for (int i = 0; i < N; i++) idx[i] = (int)((s * 37 + i * 13) % bc.frames);
        double c0 = cpu_now(), t0 = now();
        ssvae_model_forward(&m, video, idx, N, 1, z);
        double t1 = now();
        ssvae_model_backward(&m, dz);
        double t2 = now();
        t[s] = t2 - t0;
        if (s) { tf += t1 - t0; tb += t2 - t1; tcpu += cpu_now() - c0; }
    }
    qsort(t + 1, steps, sizeof *t, cmp_double);
    printf("threads %d: step %.4f s (median of %d; forward %.4f, backward %.4f mean)\n",
           omp_get_max_threads(), t[1 + steps / 2], steps, tf / steps, tb / steps);
    printf("  cpu %.4f s a step (all threads, mean)\n", tcpu / steps);
    uint64_t hg = fnv(1469598103934665603ULL, m.grads, m.nparams * sizeof(float));
    hg = fnv(hg, z, sizeof z);
    printf("  step checksum (grads, z): %016llx\n", (unsigned long long)hg);
    ssvae_model_free(&m);

    if (epochs < 1) { /* steps only */
        free(t); free(video); free(centres);
        return 0;
    }
    /* Epochs through ssvae_train, from a fresh model. */
    ssvae_model_init(&m, &mc, 1, &err);
    ssvae_train_config tc;
    ssvae_train_config_default(&tc);
    tc.epochs = epochs;
    ssvae_train_result res;
    double t0 = now();
    if (ssvae_train(&m, &tc, video, bc.frames, centres, NULL, NULL, &res, &err)) {
        fprintf(stderr, "bench_step: %s\n", err.msg);
        return 1;
    }
    double te = now() - t0;
    printf("  train %d epoch(s): %.3f s (%.3f s an epoch), loss %.6f\n", epochs, te,
           te / epochs, res.loss[epochs - 1]);
    float *zall = malloc((size_t)bc.frames * m.D * sizeof(float));
    ssvae_model_encode(&m, video, bc.frames, zall);
    uint64_t h = fnv(1469598103934665603ULL, m.params, m.nparams * sizeof(float));
    h = fnv(h, m.stats, (2 * (size_t)mc.F + 2 * (size_t)mc.K) * sizeof(float));
    uint64_t hz = fnv(1469598103934665603ULL, zall, (size_t)bc.frames * m.D * sizeof(float));
    printf("  trained checksum: params+stats %016llx, z %016llx, z[0] = (%.7g, %.7g)\n",
           (unsigned long long)h, (unsigned long long)hz, zall[0], zall[1]);
    ssvae_train_result_free(&res);
    free(zall); free(t); free(video); free(centres);
    ssvae_model_free(&m);
    return 0;
}
