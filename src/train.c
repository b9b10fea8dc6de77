/*
 * train.c — the training loop of SPEC section 4: each epoch a fresh shuffle
 * of all consecutive pairs (t, t + offset) (or of aligned pairs (t, t) of
 * a video and its partner video), batches of B pairs whose 2B
 * frames go through the encoder (and its batch norm) together, and one
 * optimiser step per batch on
 *   a prior:      the InfoNCE loss, s_ij = log f(z_i, z'_j), negatives from
 *                 the other pairs of the batch;
 *   supervised:   mean squared error of a linear D -> D head on the true
 *                 centres (normalised), on all 2B frames.
 *
 * Under MPI (dist.h, docs/scaling.md) every rank runs this loop on the
 * same batches; each encodes and reads only its share of a batch's frames,
 * and the encoder gathers what crosses frames, so the loss, the gradient
 * and the update are the same bits on every rank and at any rank count.
 * Rank 0 alone calls the progress and checkpoint hooks.
 */
#define _DEFAULT_SOURCE /* madvise */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dist.h"
#include "nn/nn.h"
#include "ssvae.h"

void ssvae_train_config_default(ssvae_train_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->optim = SSVAE_SGD;
    cfg->lr = 0.005;
    cfg->momentum = 0.0;
    cfg->epochs = 30;
    cfg->batch = 30;
    cfg->offset = 1;
    cfg->seed = 1;
    cfg->L0 = 0;      /* from the data */
    cfg->learn_L = 1;
    cfg->W0 = 0;      /* unit spread */
    cfg->nu = 1;      /* student-t: the Cauchy */
    cfg->bn2_gain = 1;
    cfg->bn2_bias = 0;
}

void ssvae_train_result_free(ssvae_train_result *r)
{
    free(r->loss);
    free(r->elbo);
    memset(r, 0, sizeof *r);
}

/* Index of the first NaN or infinity in x (n), or -1. */
static ptrdiff_t first_non_finite(const float *x, size_t n)
{
    if (!x) return -1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return (ptrdiff_t)i;
    return -1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Scratch for one batch, allocated once per training run. */
typedef struct batch_bufs {
    int *idx;        /* (2B) frame indices: bases, then targets */
    const uint8_t **frames; /* (2B) where those frames are */
    const double **moments; /* (2B) and their patch moments */
    float *z, *dz;   /* (2B, D) latents and their gradient */
    float *zu, *dzu; /* (2B, D) latents in the prior's units */
    float *s, *ds;   /* (B, B) logits */
    float *y, *yhat, *dy; /* (2B, D) supervised targets and predictions */
} batch_bufs;

static void bufs_free(batch_bufs *b)
{
    free(b->idx); free(b->frames); free(b->moments); free(b->z); free(b->dz); free(b->zu); free(b->dzu);
    free(b->s); free(b->ds); free(b->y); free(b->yhat); free(b->dy);
}

/* Loss of one batch of B pairs; accumulates the gradient into m->grads. */
static double prior_step(ssvae_model *m, const batch_bufs *b, int B)
{
    const ssvae_prior_ops *prior = ssvae_prior_get(m->cfg.prior);
    int D = m->D;
    size_t n = (size_t)2 * B * D;
    float units = (float)m->cfg.units;
    for (size_t i = 0; i < n; i++) b->zu[i] = b->z[i] * units;
    prior->logits(b->s, m->head, b->zu, b->zu + (size_t)B * D, B, D);
    double loss = ssvae_prior_loss(prior, b->ds, b->s, B);
    memset(b->dzu, 0, n * sizeof *b->dzu);
    prior->logits_backward(b->dzu, b->dzu + (size_t)B * D, m->grads + (m->head - m->params),
                           b->ds, m->head, b->zu, b->zu + (size_t)B * D, B, D);
    for (size_t i = 0; i < n; i++) b->dz[i] = b->dzu[i] * units;
    return loss;
}

// loss = mean_{n,d} (z W^T + b - y)^2
static double supervised_step(ssvae_model *m, const batch_bufs *b, int N,
                              const float *centres)
{
    int D = m->D, K = m->cfg.K;
    for (int i = 0; i < N; i++)
        for (int k = 0; k < K; k++) {
            const float *c = centres + ((size_t)b->idx[i] * K + k) * 2;
            b->y[i * D + 2 * k] = c[0] / m->cfg.W;
            b->y[i * D + 2 * k + 1] = c[1] / m->cfg.H;
        }
    float *w = m->head, *bias = m->head + (size_t)D * D;
    linear_forward(b->yhat, b->z, w, bias, N, D, D);
    double loss = 0;
    for (int i = 0; i < N * D; i++) {
        double e = (double)b->yhat[i] - b->y[i];
        loss += e * e;
        b->dy[i] = (float)(2 * e / (N * D));
    }
    float *gw = m->grads + (m->head - m->params);
    linear_backward(b->dz, gw, gw + (size_t)D * D, b->dy, b->z, w, N, D, D);
    return loss / (N * D);
}

/* The patch moments of every frame of the video and of its partner video
 * (NULL when there is none), size doubles a frame (nn/moments.c): computed
 * once, read by every step's batch norm. */
typedef struct video_moments {
    double *video, *partners;
    size_t size;
} video_moments;

/* Fills b->idx, b->frames and b->moments with pairs pairs[first .. first + B) and
 * returns 2B: bases first, then their partners, which are frame t + offset
 * of the same video, or frame t of the partner video when there is one. */
static int fill_batch(batch_bufs *b, const ssvae_train_data *d, const video_moments *vm,
                      size_t frame, const int *pairs, int first, int B, int offset)
{
    for (int i = 0; i < B; i++) {
        int t = pairs[first + i];
        b->idx[i] = t;
        b->idx[B + i] = d->partners ? t : t + offset;
        b->frames[i] = d->video + (size_t)t * frame;
        b->frames[B + i] = d->partners ? d->partners + (size_t)t * frame
                                       : d->video + (size_t)(t + offset) * frame;
        b->moments[i] = vm->video + (size_t)t * vm->size;
        b->moments[B + i] = d->partners ? vm->partners + (size_t)t * vm->size
                                        : vm->video + (size_t)(t + offset) * vm->size;
    }
    return 2 * B;
}

/* Drops p .. p + len, inside a read-only file mapping, from this process's
 * resident memory: the pages stay in the page cache (or are read again),
 * so resident memory follows the batch, not the video's length. */
static void release(const void *p, size_t len)
{
    static long page;
    if (!page) page = sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p / page * page, hi = (uintptr_t)p + len;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* After a step on mapped data: this rank's frames of the batch (and their
 * moments, when they came mapped with the data) leave resident memory. */
static void release_batch(const batch_bufs *b, const ssvae_train_data *d, const video_moments *vm,
                          size_t frame, int N)
{
    int lo, n;
    dist_share(N, dist_rank(), dist_size(), &lo, &n);
    for (int i = lo; i < lo + n; i++) {
        release(b->frames[i], frame);
        if (d->moments) release(b->moments[i], vm->size * sizeof(double));
    }
}

/* Sets the head's starting point (SPEC section 3: start where the loss has
 * a gradient) from z of the first batch, and returns the scale chosen: a
 * prior starts as its table row says (its init op, from the latents in
 * its units); the supervised baseline as PyTorch's nn.Linear. */
static double init_head(ssvae_model *m, const ssvae_train_config *cfg,
                        batch_bufs *b, int B, ssvae_rng *rng)
{
    int D = m->D;
    if (m->cfg.supervised) {
        double bound = 1.0 / sqrt((double)D);
        for (size_t i = 0; i < m->nhead; i++) m->head[i] = (float)(bound * (2 * ssvae_rng_uniform(rng) - 1));
        return bound;
    }
    float units = (float)m->cfg.units;
    for (size_t i = 0; i < (size_t)2 * B * D; i++) b->zu[i] = b->z[i] * units;
    return ssvae_prior_get(m->cfg.prior)->init(m->head, cfg, b->zu, b->zu + (size_t)B * D, B, D, rng);
}

int ssvae_train(ssvae_model *m, const ssvae_train_config *cfg,
                const uint8_t *video, int T, const float *centres,
                ssvae_progress_fn progress, void *ctx,
                ssvae_train_result *res, ssvae_error *err)
{
    ssvae_train_data d = {.video = video, .partners = NULL, .T = T, .centres = centres};
    return ssvae_train_run(m, cfg, &d, NULL, progress, NULL, ctx, res, err);
}

/* Seeds the shuffle stream and replays the shuffles of epochs 1..epochs
 * into pairs (npairs), as the loop below makes them. */
static void replay_shuffle(ssvae_rng *rng, int *pairs, int npairs, uint64_t seed, int epochs)
{
    ssvae_rng_seed(rng, seed ^ 0x53485546464c45ULL);
    for (int i = 0; i < npairs; i++) pairs[i] = i;
    for (int e = 1; e <= (epochs > 1 ? epochs : 1); e++) ssvae_rng_shuffle(rng, pairs, npairs);
}

int ssvae_train_run(ssvae_model *m, const ssvae_train_config *cfg,
                    const ssvae_train_data *data, const ssvae_train_state *resume,
                    ssvae_progress_fn progress, ssvae_epoch_fn on_epoch, void *ctx,
                    ssvae_train_result *res, ssvae_error *err)
{
    memset(res, 0, sizeof *res);
    int T = data->T, paired = data->partners != NULL;
    int off = paired ? 0 : cfg->offset, npairs = T - off, B = cfg->batch, D = m->D;
    const float *centres = data->centres;
    if (cfg->epochs < 0) return ssvae_fail(err, "epochs must be >= 0, got %d", cfg->epochs);
    if (!paired && off < 1) return ssvae_fail(err, "offset must be >= 1, got %d", off);
    if (B < 2 || B > 4096) return ssvae_fail(err, "batch must be 2..4096 pairs, got %d", B);
    if (npairs < 2) {
        if (paired) return ssvae_fail(err, "need at least 2 paired frames, got %d", T);
        return ssvae_fail(err, "need at least %d frames for offset %d, got %d", off + 2, off, T);
    }
    if (B > npairs) B = npairs;
    if (!(cfg->lr > 0) || !isfinite(cfg->lr)) return ssvae_fail(err, "learning rate must be positive, got %g", cfg->lr);
    if (m->cfg.supervised && !centres) return ssvae_fail(err, "supervised training needs the true centres");
    if (m->cfg.supervised && paired) return ssvae_fail(err, "the supervised baseline does not take paired data");
    if (!isfinite(cfg->bn2_gain) || !isfinite(cfg->bn2_bias))
        return ssvae_fail(err, "the bn2 gain and bias must be finite, got %g and %g", cfg->bn2_gain, cfg->bn2_bias);
    if (resume) {
        if (resume->n != m->nparams || !resume->m || !resume->v)
            return ssvae_fail(err, "the saved optimiser state has %zu parameters, the model %zu", resume->n, m->nparams);
        if (resume->epoch < 0 || resume->epoch > cfg->epochs)
            return ssvae_fail(err, "the run has already trained %d epochs, more than the %d asked for",
                              resume->epoch, cfg->epochs);
    }

    batch_bufs b = {0};
    size_t nz = (size_t)2 * B * D, frame = (size_t)m->cfg.H * m->cfg.W * m->cfg.C;
    b.idx = malloc(2 * (size_t)B * sizeof *b.idx);
    b.frames = malloc(2 * (size_t)B * sizeof *b.frames);
    b.moments = malloc(2 * (size_t)B * sizeof *b.moments);
    b.z = malloc(nz * sizeof(float)); b.dz = malloc(nz * sizeof(float));
    b.zu = malloc(nz * sizeof(float)); b.dzu = malloc(nz * sizeof(float));
    b.y = malloc(nz * sizeof(float)); b.yhat = malloc(nz * sizeof(float)); b.dy = malloc(nz * sizeof(float));
    b.s = malloc((size_t)B * B * sizeof(float)); b.ds = malloc((size_t)B * B * sizeof(float));
    const ssvae_model_config *mc = &m->cfg;
    int dist = dist_size() > 1, root = dist_rank() == 0;
    video_moments vm = {(double *)data->moments, (double *)data->partner_moments,
                        ssvae_frame_moments_size(mc->C)};
    double *own[2] = {NULL, NULL};
    const uint8_t *srcs[2] = {data->video, data->partners};
    for (int v = 0; v < 1 + paired; v++) {
        if (v == 0 ? vm.video : vm.partners) continue;
        own[v] = malloc((size_t)T * vm.size * sizeof(double));
        if (!own[v]) {
            free(own[0]); free(own[1]); bufs_free(&b);
            return ssvae_fail(err, "out of memory for the patch moments of %d frames", T);
        }
        /* each rank the moments of its share of the frames, then all of them */
        int lo, n;
        dist_share(T, dist_rank(), dist_size(), &lo, &n);
        ssvae_video_moments(own[v] + (size_t)lo * vm.size, srcs[v] + (size_t)lo * frame, n, mc->C,
                            mc->H, mc->W);
        if (data->mapped) release(srcs[v] + (size_t)lo * frame, (size_t)n * frame);
        dist_part part = {own[v], vm.size * sizeof(double)};
        dist_allgather(&part, 1, T);
        if (v == 0) vm.video = own[v];
        else vm.partners = own[v];
    }
    int *pairs = malloc((size_t)npairs * sizeof *pairs);
    res->loss = calloc(cfg->epochs + 1, sizeof(double));
    res->elbo = calloc(cfg->epochs + 1, sizeof(double));
    ssvae_optim opt;
    ssvae_optim_init(&opt, cfg->optim, cfg->lr, m->nparams);
    opt.momentum = cfg->momentum;

    /* Shuffling has its own stream, so changing the head's initialisation
     * does not change the order of the batches. */
    ssvae_rng shuffle_rng, head_rng;
    ssvae_rng_seed(&head_rng, cfg->seed ^ 0x48454144ULL);
    int status = 0, first_epoch = 1;
    if (resume) {
        /* The shuffles of the finished epochs, replayed: the stream must
         * end where the saved one did, or this is another run's file. */
        replay_shuffle(&shuffle_rng, pairs, npairs, cfg->seed, resume->epoch);
        if (resume->epoch > 0 && memcmp(&shuffle_rng, &resume->shuffle, sizeof shuffle_rng)) {
            status = ssvae_fail(err, "the saved shuffle state does not replay: the checkpoint was "
                                "trained on other data (%d pairs here) or with another seed", npairs);
        }
        memcpy(opt.m, resume->m, m->nparams * sizeof *opt.m);
        memcpy(opt.v, resume->v, m->nparams * sizeof *opt.v);
        opt.step = resume->step;
        res->init_value = resume->init_value;
        for (int e = 0; e < resume->epoch; e++) {
            res->loss[e] = resume->loss ? resume->loss[e] : 0.0;
            res->elbo[e] = resume->elbo ? resume->elbo[e] : 0.0;
        }
        res->epochs = resume->epoch;
        first_epoch = resume->epoch + 1;
    } else {
        /* The first batch of the first epoch sets the head's scale. Its
         * forward pass must not count towards the running statistics. */
        replay_shuffle(&shuffle_rng, pairs, npairs, cfg->seed, 1);
        /* The encoder's starting point is part of the recipe: the maps
         * start as sigmoid(gain x + bias), and the head's scale below is
         * chosen from the latents that start gives. */
        for (int k = 0; k < m->cfg.K; k++) {
            m->bn2_w[k] = (float)cfg->bn2_gain;
            m->bn2_b[k] = (float)cfg->bn2_bias;
        }
        size_t nstats = 2 * (size_t)m->cfg.F + 2 * (size_t)m->cfg.K;
        float *keep = malloc(nstats * sizeof *keep);
        memcpy(keep, m->stats, nstats * sizeof *keep);
        fill_batch(&b, data, &vm, frame, pairs, 0, B, off);
        model_forward_shared(m, b.frames, b.moments, 2 * B, dist, b.z);
        memcpy(m->stats, keep, nstats * sizeof *keep);
        free(keep);
        res->init_value = init_head(m, cfg, &b, B, &head_rng);
    }

    memset(m->frozen, 0, m->nparams);
    if (!m->cfg.supervised) ssvae_prior_get(m->cfg.prior)->freeze(m->frozen + (m->head - m->params), cfg, D);

    /* InfoNCE's log B - loss is an ELBO; the supervised loss and a prior
     * with its own loss have none (reported as 0). */
    int has_elbo = !m->cfg.supervised && !ssvae_prior_get(m->cfg.prior)->loss;
    double t_start = now();
    uint64_t received0 = dist_bytes_received();
    for (int epoch = first_epoch; epoch <= cfg->epochs && status == 0; epoch++) {
        double t0 = now(), sum_loss = 0, sum_elbo = 0;
        int steps = 0;
        if (epoch > 1) ssvae_rng_shuffle(&shuffle_rng, pairs, npairs);
        for (int first = 0; first + 2 <= npairs; first += B) {
            int nb = npairs - first < B ? npairs - first : B; /* last batch may be short */
            int N = fill_batch(&b, data, &vm, frame, pairs, first, nb, off);
            model_forward_shared(m, b.frames, b.moments, N, dist, b.z);
            double loss = m->cfg.supervised ? supervised_step(m, &b, N, centres)
                                            : prior_step(m, &b, nb);
            if (!isfinite(loss)) {
                status = ssvae_fail(err, "the loss became %s at epoch %d, step %d: "
                                    "lower the learning rate", isnan(loss) ? "NaN" : "infinite",
                                    epoch, steps + 1);
                break;
            }
            model_backward_shared(m, b.dz);
            ssvae_optim_step(&opt, m->params, m->grads, m->frozen);
            if (data->mapped) release_batch(&b, data, &vm, frame, N);
            memset(m->grads, 0, m->nparams * sizeof *m->grads);
            sum_loss += loss;
            sum_elbo += has_elbo ? log((double)nb) - loss : 0.0;
            steps++;
            res->steps++;
        }
        if (status) break;
        /* A finite loss does not make finite weights: a NaN behind a ReLU
         * or a zero batch-norm scale, or in the optimiser's state, stays
         * hidden until it spreads. The epoch is checked as a whole before
         * anyone (the checkpoint hook) may call it good. */
        const char *bad = first_non_finite(m->params, m->nparams) >= 0 ? "the parameters"
                          : first_non_finite(m->stats, 2 * (size_t)m->cfg.F + 2 * (size_t)m->cfg.K) >= 0
                              ? "the batch-norm running statistics"
                          : first_non_finite(opt.m, m->nparams) >= 0 ||
                                    (opt.v && first_non_finite(opt.v, m->nparams) >= 0)
                              ? "the optimiser's state" : NULL;
        if (bad) {
            status = ssvae_fail(err, "%s became non-finite in epoch %d: lower the learning rate "
                                "(or the momentum)", bad, epoch);
            break;
        }
        ssvae_epoch_stats st = {epoch, cfg->epochs, sum_loss / steps, sum_elbo / steps,
                                log((double)B), now() - t0, now() - t_start};
        res->loss[epoch - 1] = st.loss;
        res->elbo[epoch - 1] = st.elbo;
        res->epochs = epoch;
        if (progress && root) progress(ctx, &st);
        if (on_epoch && root) {
            ssvae_train_state ts = {epoch, opt.step, m->nparams, opt.m, opt.v, shuffle_rng,
                                    res->init_value, res->loss, res->elbo};
            if (on_epoch(ctx, m, &ts, err)) status = -1;
        }
        /* rank 0's hook failed (a checkpoint not written): every rank stops */
        if (dist && dist_max(status ? 1 : 0) && !status)
            status = ssvae_fail(err, "rank 0 stopped the run after epoch %d", epoch);
    }
    res->seconds = now() - t_start;
    res->exchanged = dist_bytes_received() - received0;
    ssvae_optim_free(&opt);
    bufs_free(&b);
    free(pairs);
    free(own[0]);
    free(own[1]);
    return status;
}
