/*
 * cmd_bench.c — `ssvae bench`: how fast the paper's model runs. For each
 * square frame size S and thread count, on a moving-balls video made in
 * memory (T frames of S x S, balls scaled with S), it times the encoder of
 * Fig. 2 (3 -> 6 -> 3 channels, K = 3, gaussian prior) on batches of 30
 * pairs = 60 frames with SGD, as ssvae_train does:
 *
 *   forward_fps    evaluation forward passes (train = 0) of 60 frames
 *   epoch_s        one real ssvae_train epoch on T frames (its epoch loop,
 *                  timed by ssvae_train's own monotonic clock); half_epoch_s
 *                  the same on the first T/2 frames, to show cost grows with T
 *   step_fps       frames a second through the training steps of that
 *                  epoch (forward with batch statistics, InfoNCE loss and
 *                  its gradient, backward, SGD update): 2 (T - 1) / epoch_s
 *   step_gflops    convolution flops of those frames (conv_flops below) / time
 *   moments_s      the patch moments of the T frames (ssvae_video_moments),
 *                  which ssvae_train computes once before its first epoch
 *   checksum       FNV-1a of the parameters and running statistics after
 *                  the epochs: equal at every thread count
 *
 * Each figure is the median of --reps repetitions (the forward passes after
 * one warm-up). Exit status 1 if the checksums differ.
 */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"

enum { B = 30, N = 2 * B, MAXLIST = 16 }; /* pairs, frames a step; list lengths */

typedef struct bench_run {
    int threads;
    double forward_fps, step_fps, step_gflops, epoch_s, half_epoch_s, moments_s;
    uint64_t checksum;
} bench_run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int n)
{
    qsort(t, n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* Convolution flops of one frame of a training step, counted as the model
 * needs them: every 3x3 convolution does all 9 taps at all H W pixels for
 * each (input, output) channel pair, padding included, so a pair costs
 * 9 H W multiply-adds = 18 H W flops:
 *   forward          conv1 C->F, conv2 F->K:           9HW (C F + F K)
 *   backward data    conv2 only (conv1's input is the
 *                    frame, its gradient is not needed): 9HW (K F)
 *   backward weights conv2 and conv1:                  9HW (F K + C F)
 *   conv_flops = 2 * 9HW (2 C F + 3 F K)  (1620 HW for 3, 6, 3)
 * ssvae's kernels run one correlation more than this, 9HW C F (conv1's
 * weight gradient from sums, nn/stream.c): 1944 HW in all, not counted.
 * Biases, batch norm, activations, centre of mass and the loss are not
 * counted. The taps that land in the image are (3H-2)(3W-2) of the 9HW. */
static double conv_flops(int C, int F, int K, int H, int W)
{
    return 2.0 * 9.0 * H * W * (2.0 * C * F + 3.0 * F * K);
}

/* The forward share of it: 2 * 9HW (C F + F K) (648 HW for 3, 6, 3). */
static double conv_flops_forward(int C, int F, int K, int H, int W)
{
    return 2.0 * 9.0 * H * W * ((double)C * F + (double)F * K);
}

/* Times one thread count on video (T, S, S, 3); 0, or -1 with err. */
static int bench_one(const uint8_t *video, int S, int T, int reps, bench_run *r, ssvae_error *err)
{
    omp_set_num_threads(r->threads);
    ssvae_model_config mc;
    ssvae_model_config_default(&mc);
    mc.H = mc.W = S;
    ssvae_model m;
    if (ssvae_model_init(&m, &mc, 1, err)) return -1;
    int idx[N];
    float z[N * 2 * SSVAE_MAXBALLS];
    double *t = malloc((size_t)(reps + 1) * sizeof *t);

    /* Evaluation forward passes of the first 60 frames. */
    for (int i = 0; i < N; i++) idx[i] = i % T;
    for (int k = 0; k <= reps; k++) { /* k = 0 warms up (allocates) */
        double t0 = now();
        ssvae_model_forward(&m, video, idx, N, 0, z);
        t[k] = now() - t0;
    }
    r->forward_fps = N / median(t + 1, reps);

    /* The once-a-run patch moments of the T frames. */
    double *moments = malloc((size_t)T * ssvae_frame_moments_size(mc.C) * sizeof *moments);
    if (!moments) {
        free(t);
        ssvae_model_free(&m);
        return ssvae_fail(err, "out of memory for the patch moments of %d frames", T);
    }
    for (int k = 0; k <= reps; k++) {
        double t0 = now();
        ssvae_video_moments(moments, video, T, mc.C, S, S);
        t[k] = now() - t0;
    }
    r->moments_s = median(t + 1, reps);
    free(moments);

    /* Real epochs of the paper's recipe, on T and T/2 frames. */
    ssvae_train_config tc;
    ssvae_train_config_default(&tc);
    tc.epochs = 1;
    int rc = 0;
    for (int half = 0; half < 2 && !rc; half++) {
        for (int k = 0; k < reps && !rc; k++) {
            ssvae_train_result res;
            rc = ssvae_train(&m, &tc, video, half ? T / 2 : T, NULL, NULL, NULL, &res, err);
            t[k] = res.seconds;
            ssvae_train_result_free(&res);
        }
        if (!rc) *(half ? &r->half_epoch_s : &r->epoch_s) = median(t, reps);
    }
    /* An epoch on T frames puts each of the T - 1 pairs, 2 (T - 1) frames,
     * through a training step once. */
    if (!rc) {
        r->step_fps = 2.0 * (T - 1) / r->epoch_s;
        r->step_gflops = r->step_fps * conv_flops(mc.C, mc.F, mc.K, S, S) / 1e9;
    }
    r->checksum = fnv(fnv(1469598103934665603ULL, m.params, m.nparams * sizeof(float)), m.stats,
                      (2 * (size_t)mc.F + 2 * (size_t)mc.K) * sizeof(float));
    free(t);
    ssvae_model_free(&m);
    return rc;
}

/* "a,b,c" into out, each lo..hi, or "N" for nmax where nmax > 0; repeats
 * dropped. The count, or -1 after a one-line error. */
static int parse_list(const char *flag, const char *text, int *out, int lo, int hi, int nmax)
{
    int n = 0;
    for (const char *p = text; *p;) {
        char *end;
        long v;
        if (nmax > 0 && *p == 'N') {
            v = nmax;
            end = (char *)p + 1;
        } else {
            v = strtol(p, &end, 10);
        }
        if (end == p || (*end && (*end != ',' || !end[1])) || v < lo || v > hi) {
            cli_error("bench", 2, "--%s: '%s' is not a list of integers %d..%d%s", flag, text, lo, hi,
                      nmax > 0 ? " or N" : "");
            return -1;
        }
        int seen = 0;
        for (int i = 0; i < n; i++) seen |= out[i] == v;
        if (!seen && n == MAXLIST) {
            cli_error("bench", 2, "--%s: more than %d values", flag, MAXLIST);
            return -1;
        }
        if (!seen) out[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (!n) cli_error("bench", 2, "--%s: empty list", flag);
    return n ? n : -1;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_maxrss; /* KiB on Linux */
}

int cmd_bench(int argc, char **argv)
{
    const char *sizes_text = NULL, *threads_text = "1,N", *json = NULL;
    int frames = -1, reps = -1, quick = 0;
    cli_flag flags[] = {
        {"sizes", FLAG_STRING, &sizes_text, "frame sizes S (S x S), comma-separated (default 256,128,512; --quick: 64)", 0, -1},
        {"threads", FLAG_STRING, &threads_text, "thread counts, comma-separated; N: omp_get_max_threads()", 0, -1},
        {"frames", FLAG_INT, &frames, "frames T of the epoch video (default 900; --quick: 60)", 6, 100000},
        {"reps", FLAG_INT, &reps, "repetitions of each timing, median reported (default 3; --quick: 1)", 1, 1000},
        {"json", FLAG_STRING, &json, "also write the figures to this JSON file", 0, -1},
        {"quick", FLAG_BOOL, &quick, "a tiny run for tests: --sizes 64 --frames 60 --reps 1", 0, -1},
        {0},
    };
    int rc = cli_parse("bench",
                       "Speed of the paper's model (encoder of Fig. 2, 3->6->3 channels, K=3, gaussian\n"
                       "prior, 30 pairs = 60 frames a step, SGD) on moving balls made in memory.\n"
                       "Output on stdout: '#' lines describe the run; every other line is\n"
                       "'size=S threads=T KEY=VALUE' (or 'size=S KEY=VALUE'), one figure a line, the\n"
                       "unit in the key: forward_fps, step_fps (frames/s), step_gflops (convolution\n"
                       "GFLOP/s of a training step), epoch_s, half_epoch_s (s, one ssvae_train epoch on\n"
                       "T and T/2 frames), moments_s (s, the patch moments of T frames, once a run),\n"
                       "checksum (hex), identical (yes/no: equal checksums at every\n"
                       "thread count), video_bytes, peak_rss_kib (process peak so far). Medians of\n"
                       "--reps runs after a warm-up. Exit status 1 if the checksums differ.",
                       flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    if (!sizes_text) sizes_text = quick ? "64" : "256,128,512";
    if (frames < 0) frames = quick ? 60 : 900;
    if (reps < 0) reps = quick ? 1 : 3;
    int sizes[MAXLIST], threads[MAXLIST], nmax = omp_get_max_threads();
    int nsizes = parse_list("sizes", sizes_text, sizes, 16, 4096, 0);
    if (nsizes < 0) return 2;
    int nthreads = parse_list("threads", threads_text, threads, 1, 1024, nmax);
    if (nthreads < 0) return 2;
    for (int i = 0; i < nsizes; i++)
        if ((double)frames * sizes[i] * sizes[i] * 3 > 64e9)
            return cli_error("bench", 2, "--frames: %d frames of %dx%d would exceed 64 GB", frames, sizes[i], sizes[i]);

    double fwd = conv_flops_forward(3, 6, 3, 1, 1), step = conv_flops(3, 6, 3, 1, 1); /* a pixel */
    printf("# ssvae bench %s: encoder 3->6->3, K=3, gaussian prior, %d pairs = %d frames a step, SGD lr 0.005\n",
           SSVAE_VERSION, B, N);
    printf("# T=%d frames (%d pairs; steps an epoch: %d), median of %d after 1 warm-up, max threads %d\n",
           frames, frames - 1, (frames - 3) / B + 1, reps, nmax); /* as ssvae_train batches */
    printf("# conv flops a frame: forward 2*9*H*W*(C*F+F*K) = %.0f*H*W; step (forward, backward data of\n"
           "#   conv2, backward weights of both) 2*9*H*W*(2*C*F+3*F*K) = %.0f*H*W; padding taps included;\n"
           "#   the kernels run %.0f*H*W (conv1's forward once more: its output is remade, not stored)\n",
           fwd, step, step + 18.0 * 3 * 6);
    printf("# epoch_s: measured, one real ssvae_train call (epochs=1) on T frames, its epoch loop;\n"
           "#   half_epoch_s the same on T/2 frames (ideal ratio (T-1)/(T/2-1) = %.3f)\n",
           (frames - 1.0) / (frames / 2 - 1.0));
    fflush(stdout);

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "ssvae_version", SSVAE_VERSION);
    cJSON_AddNumberToObject(root, "frames", frames);
    cJSON_AddNumberToObject(root, "reps", reps);
    cJSON_AddNumberToObject(root, "frames_per_step", N);
    cJSON_AddNumberToObject(root, "conv_flops_per_pixel_forward", fwd);
    cJSON_AddNumberToObject(root, "conv_flops_per_pixel_step", step);
    cJSON_AddStringToObject(root, "epoch_method", "measured: ssvae_train epochs=1, epoch loop");
    cJSON *jsizes = cJSON_AddArrayToObject(root, "sizes");
    ssvae_error err;
    int failed = 0, mismatch = 0;
    for (int si = 0; si < nsizes && !failed; si++) {
        int S = sizes[si];
        ssvae_balls_config bc;
        ssvae_balls_default(&bc);
        bc.frames = frames;
        bc.width = bc.height = S;
        bc.radius *= S / 256.0; /* the paper's picture at any size */
        bc.step *= S / 256.0;
        size_t vbytes = (size_t)frames * S * S * 3;
        uint8_t *video = malloc(vbytes);
        float *centres = malloc((size_t)frames * bc.nballs * 2 * sizeof *centres);
        if (!video || !centres)
            failed = cli_error("bench", 1, "size %d: out of memory for %zu bytes of video", S, vbytes);
        else if (ssvae_balls_generate(&bc, video, centres, NULL, &err))
            failed = cli_error("bench", 1, "size %d: %s", S, err.msg);
        free(centres);
        cJSON *js = cJSON_CreateObject();
        cJSON_AddItemToArray(jsizes, js);
        cJSON_AddNumberToObject(js, "size", S);
        cJSON_AddNumberToObject(js, "video_bytes", (double)vbytes);
        cJSON *jruns = cJSON_AddArrayToObject(js, "runs");
        int identical = 1;
        uint64_t first = 0;
        for (int ti = 0; ti < nthreads && !failed; ti++) {
            bench_run r = {.threads = threads[ti]};
            if (bench_one(video, S, frames, reps, &r, &err)) {
                failed = cli_error("bench", 1, "size %d, %d threads: %s", S, r.threads, err.msg);
                break;
            }
            if (ti == 0) first = r.checksum;
            identical &= r.checksum == first;
            char hex[17];
            snprintf(hex, sizeof hex, "%016llx", (unsigned long long)r.checksum);
            printf("size=%d threads=%d forward_fps=%.1f\n", S, r.threads, r.forward_fps);
            printf("size=%d threads=%d step_fps=%.1f\n", S, r.threads, r.step_fps);
            printf("size=%d threads=%d step_gflops=%.2f\n", S, r.threads, r.step_gflops);
            printf("size=%d threads=%d epoch_s=%.3f\n", S, r.threads, r.epoch_s);
            printf("size=%d threads=%d half_epoch_s=%.3f\n", S, r.threads, r.half_epoch_s);
            printf("size=%d threads=%d moments_s=%.3f\n", S, r.threads, r.moments_s);
            printf("size=%d threads=%d checksum=%s\n", S, r.threads, hex);
            fflush(stdout);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "threads", r.threads);
            cJSON_AddNumberToObject(o, "forward_fps", r.forward_fps);
            cJSON_AddNumberToObject(o, "step_fps", r.step_fps);
            cJSON_AddNumberToObject(o, "step_gflops", r.step_gflops);
            cJSON_AddNumberToObject(o, "epoch_s", r.epoch_s);
            cJSON_AddNumberToObject(o, "half_epoch_s", r.half_epoch_s);
            cJSON_AddNumberToObject(o, "moments_s", r.moments_s);
            cJSON_AddStringToObject(o, "checksum", hex);
            cJSON_AddItemToArray(jruns, o);
        }
        free(video);
        if (failed) break;
        long rss = peak_rss_kib();
        if (nthreads > 1) printf("size=%d identical=%s\n", S, identical ? "yes" : "no");
        printf("size=%d video_bytes=%zu\n", S, vbytes);
        printf("size=%d peak_rss_kib=%ld\n", S, rss);
        fflush(stdout);
        cJSON_AddBoolToObject(js, "identical", identical);
        cJSON_AddNumberToObject(js, "peak_rss_kib", (double)rss);
        if (!identical) {
            cli_error("bench", 1, "size %d: the parameters differ between thread counts", S);
            mismatch = 1; /* the other sizes still run */
        }
    }
    /* The JSON file only for a run that finished (a mismatch is a finding). */
    if (json && !failed) {
        char *text = cJSON_Print(root);
        if (!text) failed = cli_error("bench", 1, "%s: out of memory", json);
        else if (cli_write_text(json, text, &err)) failed = cli_error("bench", 1, "%s", err.msg);
        free(text);
    }
    cJSON_Delete(root);
    return failed || mismatch ? 1 : 0;
}
