/*
 * encoder.c — the network of the paper's Fig. 2 and its head, as one flat
 * parameter buffer with named pointers into it:
 *
 *   frames (N, H, W, C) uint8 -> x (N, C, H, W) in [0, 1]
 *   conv 3x3 C -> F -> batch norm -> ReLU          a1 -> h1
 *   conv 3x3 F -> K -> batch norm -> sigmoid       a2 -> s
 *   centre of mass of each of the K maps           z (N, 2K)
 *
 * Only the frames' bytes and a2 are stored: x, a1, h1, s and every
 * gradient plane are remade from them a row at a time where they are
 * needed (nn/stream.c, nn/fused.c). Memory traffic, not arithmetic, is what
 * a plane costs here (docs/performance.md), so a few remade rows are
 * cheaper than a stored plane. bn1's batch statistics come from the
 * frames' patch moments (nn/moments.c), given by the caller (ssvae_train
 * computes them once per frame of its video) or computed here.
 *
 * The head after z (a prior's parameters, or the supervised baseline's
 * linear layer) lives in the same buffer, so the optimiser sees one array.
 * Activations for a batch are allocated once and reused.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "nn/nn.h"
#include "ssvae.h"

#define BN_MOMENTUM 0.1f

/* Activation buffers for up to cap frames; sizes in comments per frame. */
struct ssvae_acts {
    int cap;          /* frames the buffers hold */
    int N;            /* frames of the last training forward pass */
    int lo, nl, dist; /* of which this rank's share [lo, lo + nl) (dist.h) */
    const uint8_t **frames; /* (cap) the batch's frames (H, W, C), x = q / 255 */
    const double **moments; /* (cap) their patch moments (nn/moments.c) */
    double *own_moments;    /* (cap, patch_moments_size) those computed here */
    double *moment_sum;     /* (patch_moments_size) the batch's */
    float *a2;        /* (K, HW) conv2's output (bn2's input) */
    float *z, *mass;  /* (D), (K) */
    double *com_sums; /* (K, COM_SUMS) the forward's sums for the backward */
    float *com_plane; /* (K, 3) com_grad's per-plane constants */
    float *mean1, *rstd1, *mean2, *rstd2, *var1, *var2; /* (F) or (K) */
    float scale1[CONV3X3_MAXCH], shift1[CONV3X3_MAXCH]; /* batch norms as */
    float scale2[CONV3X3_MAXCH], shift2[CONV3X3_MAXCH]; /* x scale + shift */
    float *conv_work; /* conv3x3_work_size */
    float *rows;      /* fused_rows_size: the streamed convolutions' rings */
    float *xsums;     /* fused_xsums_size: conv1's backward sums */
    double *bn_work;  /* batch statistics and the fused backward's sums */
};

static void acts_free(struct ssvae_acts *a)
{
    if (!a) return;
    free(a->frames); free(a->moments); free(a->own_moments); free(a->moment_sum);
    free(a->a2);
    free(a->z); free(a->mass); free(a->com_sums); free(a->com_plane);
    free(a->mean1); free(a->rstd1); free(a->mean2); free(a->rstd2);
    free(a->var1); free(a->var2); free(a->conv_work); free(a->rows);
    free(a->xsums); free(a->bn_work);
    free(a);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "ssvae: out of memory (%zu bytes)\n", n * size);
        abort();
    }
    return p;
}

/* Makes sure the buffers hold N frames. */
static struct ssvae_acts *acts_reserve(ssvae_model *m, int N)
{
    if (m->acts && m->acts->cap >= N) return m->acts;
    acts_free(m->acts);
    const ssvae_model_config *c = &m->cfg;
    size_t hw = (size_t)c->H * c->W;
    struct ssvae_acts *a = xcalloc(1, sizeof *a);
    a->cap = N;
    a->frames = xcalloc((size_t)N, sizeof *a->frames);
    a->moments = xcalloc((size_t)N, sizeof *a->moments);
    a->own_moments = xcalloc((size_t)N * patch_moments_size(c->C), sizeof(double));
    a->moment_sum = xcalloc(patch_moments_size(c->C), sizeof(double));
    a->a2 = xcalloc((size_t)N * c->K * hw, sizeof(float));
    a->com_sums = xcalloc((size_t)N * c->K * COM_SUMS, sizeof(double));
    a->com_plane = xcalloc((size_t)N * c->K * 3, sizeof(float));
    a->z = xcalloc((size_t)N * m->D, sizeof(float));
    a->mass = xcalloc((size_t)N * c->K, sizeof(float));
    a->mean1 = xcalloc(c->F, sizeof(float)); a->rstd1 = xcalloc(c->F, sizeof(float));
    a->var1 = xcalloc(c->F, sizeof(float));
    a->mean2 = xcalloc(c->K, sizeof(float)); a->rstd2 = xcalloc(c->K, sizeof(float));
    a->var2 = xcalloc(c->K, sizeof(float));
    size_t w1 = conv3x3_work_size(N, c->C, c->F), w2 = conv3x3_work_size(N, c->F, c->K);
    a->conv_work = xcalloc(w1 > w2 ? w1 : w2, sizeof(float));
    a->rows = xcalloc(fused_rows_size(N, c->C, c->F, c->K, c->W), sizeof(float));
    a->xsums = xcalloc(fused_xsums_size(N, c->C, c->F), sizeof(float));
    int fk = c->F > c->K ? c->F : c->K;
    size_t b1 = batchnorm_stats_size(N, fk), b2 = fused_backward_work_size(N, fk);
    a->bn_work = xcalloc(b1 > b2 ? b1 : b2, sizeof(double));
    m->acts = a;
    return a;
}

void ssvae_model_config_default(ssvae_model_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->C = 3; cfg->H = 256; cfg->W = 256;
    cfg->F = 6; cfg->K = 3;
    cfg->supervised = 0;
    cfg->prior = SSVAE_PRIOR_GAUSSIAN;
    cfg->units = 1.0;
}

int ssvae_model_init(ssvae_model *m, const ssvae_model_config *cfg,
                     uint64_t seed, ssvae_error *err)
{
    memset(m, 0, sizeof *m);
    if (cfg->C < 1 || cfg->C > CONV3X3_MAXCH)
        return ssvae_fail(err, "channels must be 1..%d, got %d", CONV3X3_MAXCH, cfg->C);
    if (cfg->F < 1 || cfg->F > CONV3X3_MAXCH)
        return ssvae_fail(err, "hidden maps must be 1..%d, got %d", CONV3X3_MAXCH, cfg->F);
    if (cfg->K < 1 || cfg->K > SSVAE_MAXBALLS)
        return ssvae_fail(err, "maps must be 1..%d, got %d", SSVAE_MAXBALLS, cfg->K);
    if (cfg->H < 1 || cfg->W < 1 || (int64_t)cfg->H * cfg->W > (1 << 26))
        return ssvae_fail(err, "bad frame size %dx%d", cfg->W, cfg->H);
    if (!(cfg->units > 0) || !isfinite(cfg->units))
        return ssvae_fail(err, "latent units must be positive, got %g", cfg->units);
    if (!cfg->supervised && (cfg->prior < 0 || cfg->prior >= SSVAE_PRIOR_COUNT))
        return ssvae_fail(err, "unknown prior %d", (int)cfg->prior);
    m->cfg = *cfg;
    int C = cfg->C, F = cfg->F, K = cfg->K, D = 2 * K;
    m->D = D;
    m->nhead = cfg->supervised ? (size_t)D * D + D
                               : (size_t)ssvae_prior_get(cfg->prior)->nparams(D);
    size_t sizes[] = {(size_t)F * C * 9, F, F, F, (size_t)K * F * 9, K, K, K, m->nhead};
    float **ptrs[] = {&m->conv1_w, &m->conv1_b, &m->bn1_w, &m->bn1_b, &m->conv2_w,
                      &m->conv2_b, &m->bn2_w, &m->bn2_b, &m->head};
    m->nparams = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) m->nparams += sizes[i];
    m->params = xcalloc(m->nparams, sizeof(float));
    m->grads = xcalloc(m->nparams, sizeof(float));
    m->frozen = xcalloc(m->nparams, 1);
    float *p = m->params;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        *ptrs[i] = p;
        p += sizes[i];
    }
    m->stats = xcalloc(2 * (size_t)F + 2 * (size_t)K, sizeof(float));
    m->bn1_mean = m->stats; m->bn1_var = m->stats + F;
    m->bn2_mean = m->stats + 2 * F; m->bn2_var = m->stats + 2 * F + K;

    /* PyTorch's defaults, so a run starts where a PyTorch user's would. */
    ssvae_rng rng;
    ssvae_rng_seed(&rng, seed);
    double b1 = 1.0 / sqrt(C * 9.0), b2 = 1.0 / sqrt(F * 9.0);
    for (int i = 0; i < F * C * 9; i++) m->conv1_w[i] = (float)(b1 * (2 * ssvae_rng_uniform(&rng) - 1));
    for (int i = 0; i < F; i++) m->conv1_b[i] = (float)(b1 * (2 * ssvae_rng_uniform(&rng) - 1));
    for (int i = 0; i < K * F * 9; i++) m->conv2_w[i] = (float)(b2 * (2 * ssvae_rng_uniform(&rng) - 1));
    for (int i = 0; i < K; i++) m->conv2_b[i] = (float)(b2 * (2 * ssvae_rng_uniform(&rng) - 1));
    for (int i = 0; i < F; i++) { m->bn1_w[i] = 1; m->bn1_var[i] = 1; }
    for (int i = 0; i < K; i++) { m->bn2_w[i] = 1; m->bn2_var[i] = 1; }
    return 0;
}

void ssvae_model_free(ssvae_model *m)
{
    free(m->params); free(m->grads); free(m->frozen); free(m->stats);
    acts_free(m->acts);
    memset(m, 0, sizeof *m);
}

void ssvae_model_forward(ssvae_model *m, const uint8_t *video, const int *idx,
                         int N, int train, float *z)
{
    assert(N >= 1);
    struct ssvae_acts *a = acts_reserve(m, N);
    size_t frame = (size_t)m->cfg.H * m->cfg.W * m->cfg.C;
    for (int n = 0; n < N; n++) a->frames[n] = video + (size_t)idx[n] * frame;
    ssvae_model_forward_frames(m, a->frames, NULL, N, train, z);
}

size_t ssvae_frame_moments_size(int C) { return patch_moments_size(C); }

void ssvae_video_moments(double *moments, const uint8_t *video, int T, int C, int H,
                         int W)
{
    size_t frame = (size_t)H * W * C, size = patch_moments_size(C);
#pragma omp parallel for schedule(dynamic, 4)
    for (int t = 0; t < T; t++)
        patch_moments(moments + (size_t)t * size, video + (size_t)t * frame, C, H, W);
}

/* bn1's batch statistics from the batch's patch moments: those given, the
 * rest computed into the buffers' own. */
static void moment_stats(ssvae_model *m, struct ssvae_acts *a, const double *const *moments,
                         int N)
{
    const ssvae_model_config *c = &m->cfg;
    size_t size = patch_moments_size(c->C);
#pragma omp parallel for schedule(dynamic, 1)
    for (int n = 0; n < N; n++) {
        if (moments && moments[n]) {
            a->moments[n] = moments[n];
        } else {
            patch_moments(a->own_moments + (size_t)n * size, a->frames[n], c->C, c->H, c->W);
            a->moments[n] = a->own_moments + (size_t)n * size;
        }
    }
    patch_moments_sum(a->moment_sum, a->moments, N, c->C);
    conv3x3_moment_stats(a->mean1, a->rstd1, a->var1, a->moment_sum, m->conv1_w, m->conv1_b,
                         c->C, c->F);
}

/* Evaluation: the running statistics, frame by frame, nothing exchanged. */
static void forward_eval(ssvae_model *m, struct ssvae_acts *a, int N, float *z)
{
    const ssvae_model_config *c = &m->cfg;
    int C = c->C, F = c->F, K = c->K, H = c->H, W = c->W;
    batchnorm_affine_eval(a->scale1, a->shift1, m->bn1_w, m->bn1_b, m->bn1_mean, m->bn1_var, F);
    conv_bn_relu_conv_forward(a->a2, NULL, a->frames, m->conv1_w, m->conv1_b, a->scale1, a->shift1,
                              m->conv2_w, m->conv2_b, a->rows, N, C, F, K, H, W);
    batchnorm_affine_eval(a->scale2, a->shift2, m->bn2_w, m->bn2_b, m->bn2_mean, m->bn2_var, K);
    bn_sigmoid_com_forward(NULL, a->z, a->mass, NULL, a->a2, a->scale2, a->shift2, a->mean2, N, K, H, W);
    memcpy(z, a->z, (size_t)N * m->D * sizeof *z);
    a->N = 0;
}

void ssvae_model_forward_frames(ssvae_model *m, const uint8_t *const *frames,
                                const double *const *moments, int N, int train,
                                float *z)
{
    assert(N >= 1);
    if (train) {
        model_forward_shared(m, frames, moments, N, 0, z);
        return;
    }
    struct ssvae_acts *a = acts_reserve(m, N);
    if (frames != a->frames) memcpy(a->frames, frames, (size_t)N * sizeof *frames);
    forward_eval(m, a, N, z);
}

/* The passes of nn/stream.c and nn/fused.c (each the composition of the
 * plain layers up to float rounding): conv + batch norm + ReLU + conv +
 * batch statistics from the bytes, bn1's statistics known beforehand from
 * the patch moments; batch norm + sigmoid + centre of mass. Each rank runs
 * them on its share of the frames; what crosses frames (bn2's statistics,
 * then the latents and the sums of the backward) is gathered per frame
 * and reduced in frame order, so every rank gets the bits one process
 * would. */
void model_forward_shared(ssvae_model *m, const uint8_t *const *frames,
                          const double *const *moments, int N, int dist, float *z)
{
    assert(N >= 1);
    const ssvae_model_config *c = &m->cfg;
    struct ssvae_acts *a = acts_reserve(m, N);
    int C = c->C, F = c->F, K = c->K, H = c->H, W = c->W, HW = H * W, D = m->D;
    int lo = 0, nl = N;
    if (dist) {
        assert(moments && "a shared pass reads the moments of every frame of the batch");
        dist_share(N, dist_rank(), dist_size(), &lo, &nl);
    }
    /* the backward reads the frames again: they must outlive it */
    if (frames != a->frames) memcpy(a->frames, frames, (size_t)N * sizeof *frames);

    moment_stats(m, a, moments, N);
    batchnorm_update_running(m->bn1_mean, m->bn1_var, a->mean1, a->var1, F, BN_MOMENTUM);
    batchnorm_affine(a->scale1, a->shift1, a->mean1, a->rstd1, m->bn1_w, m->bn1_b, F);
    double *stats2 = a->bn_work; /* (N, K, 3) */
    if (nl > 0)
        conv_bn_relu_conv_forward(a->a2, stats2 + (size_t)3 * lo * K, a->frames + lo, m->conv1_w,
                                  m->conv1_b, a->scale1, a->shift1, m->conv2_w, m->conv2_b, a->rows,
                                  nl, C, F, K, H, W);
    if (dist) {
        dist_part p[] = {{stats2, 3 * (size_t)K * sizeof *stats2}};
        dist_allgather(p, 1, N);
    }
    batchnorm_stats_finish(a->mean2, a->rstd2, a->var2, stats2, N, K, HW);
    batchnorm_update_running(m->bn2_mean, m->bn2_var, a->mean2, a->var2, K, BN_MOMENTUM);
    batchnorm_affine(a->scale2, a->shift2, a->mean2, a->rstd2, m->bn2_w, m->bn2_b, K);
    if (nl > 0)
        bn_sigmoid_com_forward(NULL, a->z + (size_t)lo * D, a->mass + (size_t)lo * K,
                               a->com_sums + (size_t)lo * K * COM_SUMS, a->a2, a->scale2, a->shift2,
                               a->mean2, nl, K, H, W);
    if (dist) {
        dist_part p[] = {{a->z, (size_t)D * sizeof *a->z},
                         {a->mass, (size_t)K * sizeof *a->mass},
                         {a->com_sums, (size_t)K * COM_SUMS * sizeof *a->com_sums}};
        dist_allgather(p, 3, N);
    }
    memcpy(z, a->z, (size_t)N * D * sizeof *z);
    a->N = N;
    a->lo = lo;
    a->nl = nl;
    a->dist = dist;
}

void ssvae_model_backward(ssvae_model *m, const float *dz) { model_backward_shared(m, dz); }

void model_backward_shared(ssvae_model *m, const float *dz)
{
    struct ssvae_acts *a = m->acts;
    assert(a && a->N > 0 && "backward needs a training forward pass");
    const ssvae_model_config *c = &m->cfg;
    int N = a->N, lo = a->lo, nl = a->nl, C = c->C, F = c->F, K = c->K, H = c->H, W = c->W;
#define GRAD(p) (m->grads + (m->p - m->params))
    /* The gradient at bn2's input as constants (no pass over the batch;
     * every rank makes them for the whole batch from the gathered sums);
     * then one pass over this rank's frames: conv2's weight gradients,
     * with that gradient made from a2 row by row, and the sums of bn1's
     * backward, all per frame; gathered, then summed in frame order:
     * conv2's gradients, and conv1's from sums alone. */
    com_grad cg;
    com_grad_init(&cg, a->com_plane, GRAD(bn2_w), GRAD(bn2_b), dz, a->z, a->mass, a->com_sums,
                  a->scale2, a->shift2, a->mean2, a->rstd2, m->bn2_w, N, K, H, W);
    size_t per = (size_t)K * F * 9 + K, xper = (size_t)F * (9 * (size_t)C + 1);
    double *sums = a->bn_work; /* (N, F, 2) */
    if (nl > 0) {
        com_grad mine = cg;
        mine.plane = a->com_plane + (size_t)3 * lo * K;
        conv_bn_relu_conv_backward(sums + (size_t)2 * lo * F, NULL, NULL, a->xsums + lo * xper, a->a2,
                                   &mine, a->frames + lo, m->conv1_w, m->conv1_b, a->scale1, a->shift1,
                                   a->mean1, m->conv2_w, a->conv_work + lo * per, a->rows, nl, C, F,
                                   K, H, W);
    }
    if (a->dist) {
        dist_part p[] = {{sums, 2 * (size_t)F * sizeof *sums},
                         {a->xsums, xper * sizeof *a->xsums},
                         {a->conv_work, per * sizeof *a->conv_work}};
        dist_allgather(p, 3, N);
    }
    conv3x3_work_reduce(GRAD(conv2_w), GRAD(conv2_b), a->conv_work, N, F, K);
    bn_conv3x3_backward_finish(GRAD(conv1_w), GRAD(conv1_b), GRAD(bn1_w), GRAD(bn1_b), sums,
                               a->moment_sum, m->conv1_w, m->conv1_b, a->mean1, a->xsums, a->rstd1,
                               m->bn1_w, N, C, F, H, W);
#undef GRAD
}

/* Frames encoded per evaluation chunk: enough to keep the threads busy,
 * few enough that activations stay small. */
#define ENCODE_CHUNK 64

void ssvae_model_encode(ssvae_model *m, const uint8_t *video, int T, float *z)
{
    int idx[ENCODE_CHUNK];
    for (int t0 = 0; t0 < T; t0 += ENCODE_CHUNK) {
        int n = T - t0 < ENCODE_CHUNK ? T - t0 : ENCODE_CHUNK;
        for (int i = 0; i < n; i++) idx[i] = t0 + i;
        ssvae_model_forward(m, video, idx, n, 0, z + (size_t)t0 * m->D);
    }
}

void ssvae_model_maps(ssvae_model *m, const uint8_t *frame, float *maps, float *z)
{
    float zbuf[2 * SSVAE_MAXBALLS];
    const uint8_t *one[1] = {frame};
    ssvae_model_forward_frames(m, one, NULL, 1, 0, zbuf);
    /* the forward kept conv2's output and bn2's evaluation affine form:
     * the same planes again, stored this time */
    struct ssvae_acts *a = m->acts;
    const ssvae_model_config *c = &m->cfg;
    bn_sigmoid_com_forward(maps, zbuf, a->mass, NULL, a->a2, a->scale2, a->shift2, a->mean2, 1,
                           c->K, c->H, c->W);
    if (z) memcpy(z, zbuf, (size_t)m->D * sizeof *z);
}
