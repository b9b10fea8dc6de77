/*
 * test_model.c — the whole encoder and its training: gradients of the full
 * model (batch norm in training mode included) against finite differences,
 * bit-identical training at 1 and 2 threads, a short run whose loss goes
 * down, checkpoints that round-trip and reject a different architecture.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ssvae.h"

/* A small video: 64x64, 2 balls of radius 6 moving 8 px a frame. */
static void small_video(int T, uint64_t seed, uint8_t **frames, float **centres)
{
    ssvae_balls_config bc;
    ssvae_balls_default(&bc);
    bc.frames = T; bc.width = bc.height = 64; bc.nballs = 2; bc.radius = 6; bc.step = 8; bc.seed = seed;
    *frames = malloc((size_t)T * 64 * 64 * 3);
    *centres = malloc((size_t)T * 2 * 2 * sizeof(float));
    ssvae_error err;
    if (ssvae_balls_generate(&bc, *frames, *centres, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
}

static ssvae_model_config small_config(int supervised, ssvae_prior_kind prior)
{
    ssvae_model_config mc;
    ssvae_model_config_default(&mc);
    mc.H = mc.W = 64; mc.K = 2; mc.F = 4; mc.supervised = supervised; mc.prior = prior;
    return mc;
}

/* L = sum r * z over a training-mode forward pass, in double. */
static double objective(ssvae_model *m, const uint8_t *video, const int *idx, int N,
                        const float *r, float *z)
{
    size_t nstats = 2 * (size_t)m->cfg.F + 2 * (size_t)m->cfg.K;
    float keep[64];
    memcpy(keep, m->stats, nstats * sizeof *keep); /* forward updates them */
    ssvae_model_forward(m, video, idx, N, 1, z);
    memcpy(m->stats, keep, nstats * sizeof *keep);
    double s = 0;
    for (int i = 0; i < N * m->D; i++) s += (double)r[i] * z[i];
    return s;
}

/* Central differences in every encoder parameter. The latents move by
 * ~1e-3 per unit of parameter, so the objective is scaled up by 1e3 to keep
 * float rounding (~1e-7 relative) small against the differences; step 1e-2,
 * tolerance 2e-3 |g|_max + 5e-2 |g|: batch norm and the sigmoid make the
 * third derivative O(1), giving O(h^2) ~ 1e-4 truncation. */
static void test_model_gradient(void)
{
    uint8_t *video;
    float *centres;
    small_video(6, 3, &video, &centres);
    ssvae_model_config mc = small_config(0, SSVAE_PRIOR_GAUSSIAN);
    ssvae_model m;
    ssvae_error err;
    CHECK(ssvae_model_init(&m, &mc, 5, &err) == 0, "%s", err.msg);
    int idx[4] = {0, 2, 3, 5}, N = 4;
    float r[16], z[16];
    ssvae_rng rng;
    ssvae_rng_seed(&rng, 11);
    for (int i = 0; i < N * m.D; i++) r[i] = (float)(1e3 * (2 * ssvae_rng_uniform(&rng) - 1));
    objective(&m, video, idx, N, r, z);
    memset(m.grads, 0, m.nparams * sizeof *m.grads);
    ssvae_model_backward(&m, r);
    size_t nenc = m.nparams - m.nhead;
    double gmax = 0;
    for (size_t i = 0; i < nenc; i++) gmax = fmax(gmax, fabs(m.grads[i]));
    int bad = 0;
    double h = 1e-2;
    for (size_t i = 0; i < nenc; i++) {
        float keep = m.params[i];
        m.params[i] = keep + (float)h;
        double up = objective(&m, video, idx, N, r, z);
        m.params[i] = keep - (float)h;
        double down = objective(&m, video, idx, N, r, z);
        m.params[i] = keep;
        double num = (up - down) / (2 * h), g = m.grads[i];
        if (fabs(num - g) > 2e-3 * gmax + 5e-2 * fabs(num)) {
            if (bad++ < 5) fprintf(stderr, "param %zu: analytic %.6g numeric %.6g\n", i, g, num);
        }
    }
    CHECK(bad == 0, "%d of %zu encoder parameters disagree with finite differences (max |g| %.3g)", bad, nenc, gmax);
    CHECK(gmax > 0, "gradient is all zero");
    ssvae_model_free(&m);
    free(video);
    free(centres);
}

/* Trains for a few epochs at a thread count; returns the latents and the
 * final parameters (caller frees). */
static void train_run(int threads, int supervised, ssvae_prior_kind prior, ssvae_optim_kind optim,
                      int epochs, const uint8_t *video, const float *centres, int T,
                      float **z, float **params, size_t *np, ssvae_train_result *res)
{
    omp_set_num_threads(threads);
    ssvae_model_config mc = small_config(supervised, prior);
    ssvae_model m;
    ssvae_error err;
    ssvae_model_init(&m, &mc, 9, &err);
    ssvae_train_config tc;
    ssvae_train_config_default(&tc);
    tc.epochs = epochs; tc.batch = 8; tc.optim = optim; tc.lr = optim == SSVAE_ADAM ? 0.01 : 0.005;
    tc.seed = 4;
    int rc = ssvae_train(&m, &tc, video, T, centres, NULL, NULL, res, &err);
    CHECK(rc == 0, "training failed: %s", err.msg);
    *z = malloc((size_t)T * m.D * sizeof **z);
    ssvae_model_encode(&m, video, T, *z);
    *np = m.nparams;
    *params = malloc(m.nparams * sizeof **params);
    memcpy(*params, m.params, m.nparams * sizeof **params);
    ssvae_model_free(&m);
}

static void test_determinism(void)
{
    uint8_t *video;
    float *centres;
    int T = 40;
    small_video(T, 1, &video, &centres);
    ssvae_prior_kind priors[2] = {SSVAE_PRIOR_GAUSSIAN, SSVAE_PRIOR_LINEAR};
    for (int p = 0; p < 3; p++) {
        float *z1, *z2, *p1, *p2, *z3, *p3;
        size_t n1, n2, n3;
        ssvae_train_result r1, r2, r3;
        int sup = p == 2;
        ssvae_prior_kind prior = sup ? SSVAE_PRIOR_GAUSSIAN : priors[p];
        train_run(1, sup, prior, SSVAE_ADAM, 2, video, centres, T, &z1, &p1, &n1, &r1);
        train_run(2, sup, prior, SSVAE_ADAM, 2, video, centres, T, &z2, &p2, &n2, &r2);
        train_run(2, sup, prior, SSVAE_ADAM, 2, video, centres, T, &z3, &p3, &n3, &r3);
        CHECK(memcmp(z1, z2, (size_t)T * 4 * sizeof *z1) == 0, "latents differ between 1 and 2 threads (head %d)", p);
        CHECK(memcmp(p1, p2, n1 * sizeof *p1) == 0, "parameters differ between 1 and 2 threads (head %d)", p);
        CHECK(memcmp(z2, z3, (size_t)T * 4 * sizeof *z1) == 0, "latents differ between two runs (head %d)", p);
        free(z1); free(z2); free(z3); free(p1); free(p2); free(p3);
        ssvae_train_result_free(&r1); ssvae_train_result_free(&r2); ssvae_train_result_free(&r3);
    }
    omp_set_num_threads(2);
    free(video);
    free(centres);
}

static void test_loss_goes_down(void)
{
    uint8_t *video;
    float *centres;
    int T = 60;
    small_video(T, 2, &video, &centres);
    for (int p = 0; p < 3; p++) {
        float *z, *params;
        size_t np;
        ssvae_train_result r;
        int sup = p == 2;
        ssvae_prior_kind prior = p == 1 ? SSVAE_PRIOR_LINEAR : SSVAE_PRIOR_GAUSSIAN;
        train_run(2, sup, prior, SSVAE_ADAM, 6, video, centres, T, &z, &params, &np, &r);
        CHECK(r.epochs == 6, "ran %d epochs", r.epochs);
        CHECK(r.loss[5] < r.loss[0], "head %d: loss did not go down: %.5f -> %.5f", p, r.loss[0], r.loss[5]);
        if (!sup) CHECK(r.elbo[5] > r.elbo[0], "head %d: ELBO did not go up: %.5f -> %.5f", p, r.elbo[0], r.elbo[5]);
        for (int e = 0; e < 6; e++) CHECK(r.elbo[e] <= log(8.0) + 1e-9, "ELBO above log B");
        free(z); free(params);
        ssvae_train_result_free(&r);
    }
    free(video);
    free(centres);
}

static void test_checkpoint(void)
{
    char dir[] = "/tmp/ssvae-test-model-XXXXXX", path[256], bad[256];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    uint8_t *video;
    float *centres;
    small_video(12, 5, &video, &centres);
    for (int p = 0; p < 3; p++) {
        ssvae_model_config mc = small_config(p == 2, p == 1 ? SSVAE_PRIOR_LINEAR : SSVAE_PRIOR_GAUSSIAN);
        ssvae_model m, l;
        ssvae_error err;
        ssvae_model_init(&m, &mc, 3, &err);
        for (size_t i = 0; i < m.nhead; i++) m.head[i] = 0.25f * (float)i - 1.0f;
        int idx[4] = {0, 1, 2, 3};
        float z[16];
        ssvae_model_forward(&m, video, idx, 4, 1, z); /* moves the running statistics */
        CHECK(ssvae_model_save(&m, path, NULL, 0, &err) == 0, "save: %s", err.msg);
        CHECK(ssvae_model_load(&l, path, &err) == 0, "load: %s", err.msg);
        CHECK(l.nparams == m.nparams && memcmp(l.params, m.params, m.nparams * 4) == 0, "parameters differ after load");
        CHECK(memcmp(l.stats, m.stats, (2 * 4 + 2 * 2) * 4) == 0, "running statistics differ after load");
        CHECK(l.cfg.supervised == m.cfg.supervised && l.cfg.prior == m.cfg.prior && l.cfg.K == 2 &&
              l.cfg.W == 64 && l.cfg.F == 4, "configuration differs after load");
        float za[48], zb[48];
        ssvae_model_encode(&m, video, 12, za);
        ssvae_model_encode(&l, video, 12, zb);
        CHECK(memcmp(za, zb, sizeof za) == 0, "loaded model encodes differently");
        ssvae_model_free(&l);
        ssvae_model_free(&m);
    }
    /* a checkpoint of another architecture: the tensor shapes do not match */
    ssvae_checkpoint ck;
    ssvae_error err;
    CHECK(ssvae_st_read(path, &ck, &err) == 0, "%s", err.msg);
    ssvae_tensor t[32];
    ssvae_meta meta[32];
    for (int i = 0; i < ck.ntensors; i++) t[i] = ck.tensors[i];
    for (int i = 0; i < ck.nmeta; i++) {
        meta[i] = ck.meta[i];
        if (!strcmp(meta[i].key, "F")) meta[i].value = "5";
    }
    CHECK(ssvae_st_write(bad, t, ck.ntensors, meta, ck.nmeta, &err) == 0, "%s", err.msg);
    ssvae_model l;
    CHECK(ssvae_model_load(&l, bad, &err) == -1 && strstr(err.msg, "wrong shape") && strstr(err.msg, bad),
          "architecture mismatch not rejected: %s", err.msg);
    for (int i = 0; i < ck.nmeta; i++) if (!strcmp(meta[i].key, "format")) meta[i].value = "other";
    ssvae_st_write(bad, t, ck.ntensors, meta, ck.nmeta, &err);
    CHECK(ssvae_model_load(&l, bad, &err) == -1 && strstr(err.msg, "not an ssvae checkpoint"),
          "foreign file not rejected: %s", err.msg);
    ssvae_st_write(bad, t, ck.ntensors - 1, ck.meta, ck.nmeta, &err);
    CHECK(ssvae_model_load(&l, bad, &err) == -1 && strstr(err.msg, "missing"),
          "missing tensor not rejected: %s", err.msg);
    ssvae_st_free(&ck);
    unlink(path);
    unlink(bad);
    rmdir(dir);
    free(video);
    free(centres);
}

/* ---- resumable checkpoints (issue 6) ---------------------------------- */

typedef struct stop_ctx {
    const char *path;
    const ssvae_train_config *tc;
    int at;                     /* epoch to save after */
} stop_ctx;

static int save_after(void *ctx, const ssvae_model *m, const ssvae_train_state *st, ssvae_error *err)
{
    const stop_ctx *s = ctx;
    return st->epoch == s->at ? ssvae_train_save(s->path, m, s->tc, st, NULL, 0, err) : 0;
}

/* The bn2 start of the recipe is what a fresh run begins from: after 0
 * epochs gamma and beta of every map are the configured gain and bias. */
static void test_bn2_start(void)
{
    uint8_t *video;
    float *centres;
    int T = 8;
    small_video(T, 4, &video, &centres);
    ssvae_model_config mc = small_config(0, SSVAE_PRIOR_GAUSSIAN);
    ssvae_model m;
    ssvae_error err;
    ssvae_model_init(&m, &mc, 3, &err);
    ssvae_train_config tc;
    ssvae_train_config_default(&tc);
    CHECK(tc.bn2_gain == 1 && tc.bn2_bias == 0, "default bn2 start %g, %g (want 1, 0)", tc.bn2_gain, tc.bn2_bias);
    tc.epochs = 0; tc.batch = 4; tc.bn2_gain = 2; tc.bn2_bias = -5;
    ssvae_train_result res;
    CHECK(ssvae_train(&m, &tc, video, T, NULL, NULL, NULL, &res, &err) == 0, "%s", err.msg);
    int ok = 1;
    for (int k = 0; k < mc.K; k++) ok &= m.bn2_w[k] == 2.0f && m.bn2_b[k] == -5.0f;
    CHECK(ok, "after 0 epochs bn2 is gamma %g beta %g (want 2, -5)", m.bn2_w[0], m.bn2_b[0]);
    ssvae_train_result_free(&res);
    tc.bn2_bias = NAN;
    CHECK(ssvae_train(&m, &tc, video, T, NULL, NULL, NULL, &res, &err) == -1 && strstr(err.msg, "bn2"),
          "a NaN bn2 bias is refused: %s", err.msg);
    ssvae_train_result_free(&res);
    ssvae_model_free(&m);
    free(video);
    free(centres);
}

/* ssvae_train_save -> ssvae_train_load gives back the same model, running
 * statistics, optimiser state, shuffle stream, losses and recipe. */
static void test_train_checkpoint_round_trip(void)
{
    char dir[] = "/tmp/ssvae-test-resume-XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/r.safetensors", dir);
    uint8_t *video;
    float *centres;
    int T = 16;
    small_video(T, 6, &video, &centres);
    ssvae_model_config mc = small_config(0, SSVAE_PRIOR_LINEAR);
    ssvae_model m, l;
    ssvae_error err;
    ssvae_model_init(&m, &mc, 3, &err);
    ssvae_train_config tc, lc;
    ssvae_train_config_default(&tc);
    tc.epochs = 2; tc.batch = 5; tc.optim = SSVAE_SGD; tc.momentum = 0.9; tc.lr = 0.003; tc.seed = 77;
    tc.offset = 2; tc.W0 = 0.5; tc.learn_L = 0; tc.bn2_gain = 1.5; tc.bn2_bias = -3.25;
    ssvae_train_result res;
    ssvae_train_data td = {.video = video, .partners = NULL, .T = T, .centres = NULL};
    /* capture the state handed to the hook at epoch 2 by saving it */
    stop_ctx sc = {path, &tc, 2};
    CHECK(ssvae_train_run(&m, &tc, &td, NULL, NULL, save_after, &sc, &res, &err) == 0, "%s", err.msg);
    ssvae_train_state st;
    CHECK(ssvae_train_load(path, &l, &lc, &st, &err) == 0, "load: %s", err.msg);
    if (l.params) {
        CHECK(l.nparams == m.nparams && !memcmp(l.params, m.params, m.nparams * sizeof *m.params),
              "parameters differ after save and load");
        CHECK(!memcmp(l.stats, m.stats, (2 * 4 + 2 * 2) * sizeof *m.stats), "running statistics differ");
        CHECK(st.epoch == 2 && st.n == m.nparams && st.step == 2 * ((T - 2 + 4) / 5),
              "epoch %d, step %lld", st.epoch, (long long)st.step);
        CHECK(st.loss[0] == res.loss[0] && st.loss[1] == res.loss[1] && st.elbo[1] == res.elbo[1] &&
              st.init_value == res.init_value, "losses or the starting scale differ after load");
        CHECK(lc.optim == tc.optim && lc.lr == tc.lr && lc.momentum == tc.momentum && lc.epochs == tc.epochs &&
              lc.batch == tc.batch && lc.offset == tc.offset && lc.seed == tc.seed && lc.L0 == tc.L0 &&
              lc.learn_L == tc.learn_L && lc.W0 == tc.W0 && lc.bn2_gain == 1.5 && lc.bn2_bias == -3.25,
              "recipe differs after load");
        int nonzero = 0;
        for (size_t i = 0; i < st.n; i++) nonzero += st.m[i] != 0;
        CHECK(nonzero > 0, "the SGD velocity was saved as all zeros");
    }
    ssvae_train_state_free(&st);
    ssvae_model_free(&l);

    /* A checkpoint written before the bn2 start was a recipe entry (the
     * same file without train.bn2_gain, train.bn2_bias) reads as 1, 0. */
    ssvae_checkpoint ck;
    CHECK(ssvae_st_read(path, &ck, &err) == 0, "%s", err.msg);
    ssvae_meta keep[64];
    int nkeep = 0;
    for (int i = 0; i < ck.nmeta && nkeep < 64; i++)
        if (strncmp(ck.meta[i].key, "train.bn2_", 10)) keep[nkeep++] = ck.meta[i];
    CHECK(nkeep == ck.nmeta - 2, "the checkpoint holds train.bn2_gain and train.bn2_bias");
    CHECK(ssvae_st_write(path, ck.tensors, ck.ntensors, keep, nkeep, &err) == 0, "%s", err.msg);
    ssvae_st_free(&ck);
    CHECK(ssvae_train_load(path, &l, &lc, &st, &err) == 0 && lc.bn2_gain == 1 && lc.bn2_bias == 0,
          "an old checkpoint reads bn2 gain %g, bias %g (want 1, 0): %s", lc.bn2_gain, lc.bn2_bias, err.msg);
    ssvae_train_state_free(&st);
    ssvae_model_free(&l);
    ssvae_model_free(&m);
    ssvae_train_result_free(&res);
    unlink(path);
    rmdir(dir);
    free(video);
    free(centres);
}

/* Stop after epoch 2, save, load, resume to epoch 4: parameters, running
 * statistics, latents and every epoch's loss equal a straight 4-epoch run,
 * bit for bit, for each head and optimiser. */
static void test_resume_bit_identical(void)
{
    char dir[] = "/tmp/ssvae-test-resume-XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/r.safetensors", dir);
    uint8_t *video;
    float *centres;
    int T = 20;
    small_video(T, 8, &video, &centres);
    for (int p = 0; p < 3; p++) {
        int sup = p == 2;
        ssvae_model_config mc = small_config(sup, p == 1 ? SSVAE_PRIOR_LINEAR : SSVAE_PRIOR_GAUSSIAN);
        ssvae_train_config tc;
        ssvae_train_config_default(&tc);
        tc.epochs = 4; tc.batch = 6; tc.optim = p == 0 ? SSVAE_SGD : SSVAE_ADAM; tc.momentum = p == 0 ? 0.5 : 0;
        tc.lr = p == 0 ? 0.01 : 0.005; tc.seed = 12;
        ssvae_train_data td = {.video = video, .partners = NULL, .T = T, .centres = centres};
        ssvae_model a, b;
        ssvae_error err;
        ssvae_train_result ra, rb, rpart;
        ssvae_model_init(&a, &mc, 8, &err);
        CHECK(ssvae_train_run(&a, &tc, &td, NULL, NULL, NULL, NULL, &ra, &err) == 0, "straight: %s", err.msg);

        ssvae_model_init(&b, &mc, 8, &err);
        ssvae_train_config first = tc;
        first.epochs = 2; /* the run that stops */
        stop_ctx sc = {path, &first, 2};
        CHECK(ssvae_train_run(&b, &first, &td, NULL, NULL, save_after, &sc, &rpart, &err) == 0, "%s", err.msg);
        ssvae_model_free(&b);
        ssvae_train_result_free(&rpart);
        ssvae_train_config lc;
        ssvae_train_state st;
        CHECK(ssvae_train_load(path, &b, &lc, &st, &err) == 0, "load: %s", err.msg);
        lc.epochs = 4;
        CHECK(ssvae_train_run(&b, &lc, &td, &st, NULL, NULL, NULL, &rb, &err) == 0, "resume: %s", err.msg);
        CHECK(rb.epochs == 4 && a.nparams == b.nparams && !memcmp(a.params, b.params, a.nparams * sizeof *a.params),
              "head %d: resumed parameters differ from the straight run", p);
        CHECK(!memcmp(a.stats, b.stats, (2 * 4 + 2 * 2) * sizeof *a.stats), "head %d: running statistics differ", p);
        CHECK(!memcmp(ra.loss, rb.loss, 4 * sizeof *ra.loss) && !memcmp(ra.elbo, rb.elbo, 4 * sizeof *ra.elbo),
              "head %d: per-epoch losses differ (epoch 4: %.17g vs %.17g)", p, ra.loss[3], rb.loss[3]);
        float za[20 * 4], zb[20 * 4];
        ssvae_model_encode(&a, video, T, za);
        ssvae_model_encode(&b, video, T, zb);
        CHECK(!memcmp(za, zb, sizeof za), "head %d: resumed latents differ", p);
        ssvae_train_state_free(&st);
        ssvae_train_result_free(&ra);
        ssvae_train_result_free(&rb);
        ssvae_model_free(&a);
        ssvae_model_free(&b);
    }
    unlink(path);
    rmdir(dir);
    free(video);
    free(centres);
}

int main(void)
{
    test_model_gradient();
    test_determinism();
    test_loss_goes_down();
    test_checkpoint();
    test_bn2_start();
    test_train_checkpoint_round_trip();
    test_resume_bit_identical();
    return check_report("test_model");
}
