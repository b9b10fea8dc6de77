/*
 * test_mapped.c — videos larger than memory: .npy files mapped instead of
 * read (same bytes, unmapped by ssvae_array_free), PNG folders and float
 * videos decoded once into a cache and reused until they change, the
 * patch moments' cache file (the same bits as computed in memory), the
 * .npy stream writer, and training on mapped data with the pages dropped
 * after each step: the same parameters, bit for bit, as in memory.
 */
#define _DEFAULT_SOURCE /* utimes */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "check.h"
#include "io/png.h"
#include "scratch.h"
#include "ssvae.h"

enum { T = 20, W = 24, H = 16, C = 3 };

static uint8_t *balls(void)
{
    ssvae_balls_config bc;
    ssvae_balls_default(&bc);
    bc.frames = T; bc.width = W; bc.height = H; bc.nballs = 2; bc.radius = 4; bc.step = 4; bc.seed = 5;
    uint8_t *v = malloc((size_t)T * W * H * C);
    float *c = malloc((size_t)T * 2 * 2 * sizeof *c);
    ssvae_error err;
    if (ssvae_balls_generate(&bc, v, c, NULL, &err)) abort();
    free(c);
    return v;
}

static void test_map(const uint8_t *video)
{
    ssvae_error err;
    int64_t shape[4] = {T, H, W, C};
    const char *p = in_dir("v.npy");
    CHECK(ssvae_npy_write(p, SSVAE_U8, 4, shape, video, &err) == 0, "%s", err.msg);
    ssvae_array a, r;
    CHECK(ssvae_npy_map(p, &a, &err) == 0, "%s", err.msg);
    CHECK(ssvae_npy_read(p, &r, &err) == 0, "%s", err.msg);
    CHECK(a.map != NULL && a.map_len > (size_t)T * W * H * C && r.map == NULL, "mapped, not read");
    CHECK(a.ndim == 4 && a.shape[0] == T && a.shape[3] == C && !memcmp(a.data, r.data, (size_t)T * W * H * C),
          "same array as read");
    ssvae_array_free(&a);
    ssvae_array_free(&r);
    CHECK(a.map == NULL && a.data == NULL, "freed");
    /* the video reader maps a uint8 .npy */
    int q = 1;
    CHECK(ssvae_video_read(p, &a, &q, &err) == 0 && a.map != NULL && q == 0 &&
          !memcmp(a.data, video, (size_t)T * W * H * C), "video_read maps: %s", err.msg);
    ssvae_array_free(&a);
    /* the map checks as the reader does */
    write_raw(in_dir("short.npy"), "\x93NUMPY\x01\x00\x10\x00{'descr': '|u1'", 24);
    CHECK(ssvae_npy_map(in_dir("short.npy"), &a, &err) == -1 && strstr(err.msg, "short.npy") && a.map == NULL,
          "a broken file is refused: %s", err.msg);
}

static void test_stream(void)
{
    ssvae_error err;
    const char *p = in_dir("s.npy");
    int64_t shape[2] = {2, 3};
    float x[6] = {1, 2, 3, 4, 5, 6};
    CHECK(ssvae_npy_write(p, SSVAE_F32, 2, shape, x, &err) == 0, "%s", err.msg);
    ssvae_npy_stream s;
    CHECK(ssvae_npy_stream_open(&s, p, SSVAE_F32, 2, shape, &err) == 0, "%s", err.msg);
    CHECK(ssvae_npy_stream_write(&s, x, 3 * sizeof *x, &err) == 0, "%s", err.msg);
    CHECK(ssvae_npy_stream_close(&s, 1, &err) == -1 && strstr(err.msg, "missing"), "short: %s", err.msg);
    CHECK(ssvae_npy_stream_open(&s, p, SSVAE_F32, 2, shape, &err) == 0, "%s", err.msg);
    CHECK(ssvae_npy_stream_write(&s, x, sizeof x + 4, &err) == -1, "too long refused");
    CHECK(ssvae_npy_stream_close(&s, 0, &err) == 0, "discarded");
    ssvae_array a;
    CHECK(ssvae_npy_read(p, &a, &err) == 0 && !memcmp(a.data, x, sizeof x), "the old file is untouched");
    ssvae_array_free(&a);
    float y[6] = {6, 5, 4, 3, 2, 1};
    CHECK(ssvae_npy_stream_open(&s, p, SSVAE_F32, 2, shape, &err) == 0, "%s", err.msg);
    for (int i = 0; i < 2; i++) CHECK(ssvae_npy_stream_write(&s, y + 3 * i, 3 * sizeof *y, &err) == 0, "%s", err.msg);
    CHECK(ssvae_npy_stream_close(&s, 1, &err) == 0, "%s", err.msg);
    CHECK(ssvae_npy_read(p, &a, &err) == 0 && !memcmp(a.data, y, sizeof y), "streamed file reads back");
    ssvae_array_free(&a);
}

static void test_cache(const uint8_t *video)
{
    ssvae_error err;
    char folder[600], cache[600];
    snprintf(folder, sizeof folder, "%s", in_dir("pngs"));
    snprintf(cache, sizeof cache, "%s", in_dir("cache"));
    mkdir(folder, 0777);
    mkdir(cache, 0777);
    for (int t = 0; t < T; t++) {
        char name[700];
        snprintf(name, sizeof name, "%s/f_%d.png", folder, t);
        CHECK(ssvae_png_write(name, video + (size_t)t * W * H * C, W, H, C, &err) == 0, "%s", err.msg);
    }
    ssvae_array a, r;
    int state = -1, q = 1;
    CHECK(ssvae_video_read(folder, &r, NULL, &err) == 0 && r.map == NULL, "%s", err.msg);
    CHECK(ssvae_video_open(folder, cache, &a, &q, &state, &err) == 0, "%s", err.msg);
    CHECK(state == 2 && a.map != NULL && q == 0, "the folder decoded into the cache (state %d)", state);
    CHECK(a.shape[0] == T && a.shape[1] == H && a.shape[2] == W && a.shape[3] == C &&
          !memcmp(a.data, r.data, (size_t)T * W * H * C), "the cache holds the frames");
    ssvae_array_free(&a);
    CHECK(ssvae_video_open(folder, cache, &a, NULL, &state, &err) == 0 && state == 1 &&
          !memcmp(a.data, r.data, (size_t)T * W * H * C), "reused (state %d)", state);
    ssvae_array_free(&a);
    char key1[17], key2[17], name[700];
    CHECK(ssvae_video_key(folder, key1, &err) == 0, "%s", err.msg);
    snprintf(name, sizeof name, "%s/f_3.png", folder);
    struct timeval tv[2] = {{1000000, 0}, {1000000, 0}};
    utimes(name, tv);
    CHECK(ssvae_video_key(folder, key2, &err) == 0 && strcmp(key1, key2), "a touched frame changes the key");
    CHECK(ssvae_video_open(folder, cache, &a, NULL, &state, &err) == 0 && state == 2, "decoded again");
    ssvae_array_free(&a);
    ssvae_array_free(&r);

    /* a float video: quantised through the cache, as the reader does */
    size_t n = (size_t)T * W * H * C;
    float *f = malloc(n * sizeof *f);
    for (size_t i = 0; i < n; i++) f[i] = video[i] / 255.0f;
    int64_t shape[4] = {T, H, W, C};
    const char *fp = in_dir("f.npy");
    CHECK(ssvae_npy_write(fp, SSVAE_F32, 4, shape, f, &err) == 0, "%s", err.msg);
    CHECK(ssvae_video_open(fp, cache, &a, &q, &state, &err) == 0 && state == 2 && q == 1 && a.map &&
          !memcmp(a.data, video, n), "float video through the cache: %s", err.msg);
    ssvae_array_free(&a);
    f[n - 1] = 2.0f;
    CHECK(ssvae_npy_write(fp, SSVAE_F32, 4, shape, f, &err) == 0, "%s", err.msg);
    CHECK(ssvae_video_open(fp, cache, &a, &q, &state, &err) == -1 && strstr(err.msg, "[0, 1]") &&
          strstr(err.msg, "frame 19"), "out of range refused: %s", err.msg);
    free(f);
    /* a uint8 .npy is mapped where it is, never copied into the cache */
    CHECK(ssvae_video_open(in_dir("v.npy"), cache, &a, &q, &state, &err) == 0 && state == 0 && a.map,
          "uint8 mapped in place: %s", err.msg);
    ssvae_array_free(&a);
}

/* Trains 3 epochs; the parameters, malloc'd. */
static float *train(const uint8_t *video, const double *moments, int mapped, size_t *np)
{
    ssvae_model_config mc;
    ssvae_model_config_default(&mc);
    mc.H = H; mc.W = W; mc.K = 2; mc.F = 3;
    ssvae_model m;
    ssvae_error err;
    ssvae_model_init(&m, &mc, 1, &err);
    ssvae_train_config tc;
    ssvae_train_config_default(&tc);
    tc.epochs = 3; tc.batch = 4;
    ssvae_train_data td = {.video = video, .T = T, .moments = moments, .mapped = mapped};
    ssvae_train_result res;
    CHECK(ssvae_train_run(&m, &tc, &td, NULL, NULL, NULL, NULL, &res, &err) == 0, "%s", err.msg);
    ssvae_train_result_free(&res);
    float *p = malloc(m.nparams * sizeof *p);
    memcpy(p, m.params, m.nparams * sizeof *p);
    *np = m.nparams;
    ssvae_model_free(&m);
    return p;
}

static void test_train_mapped(const uint8_t *video)
{
    ssvae_error err;
    ssvae_array v, mom;
    int written = 0;
    CHECK(ssvae_video_read(in_dir("v.npy"), &v, NULL, &err) == 0 && v.map, "%s", err.msg);
    const char *mp = in_dir("v.moments.npy");
    CHECK(ssvae_moments_cache(mp, v.data, T, C, H, W, 1, &mom, &written, &err) == 0 && written == 1 && mom.map,
          "%s", err.msg);
    size_t size = ssvae_frame_moments_size(C);
    double *ref = malloc((size_t)T * size * sizeof *ref);
    ssvae_video_moments(ref, video, T, C, H, W);
    CHECK(mom.shape[0] == T && mom.shape[1] == (int64_t)size && !memcmp(mom.data, ref, (size_t)T * size * 8),
          "cached moments are the same bits");
    ssvae_array_free(&mom);
    CHECK(ssvae_moments_cache(mp, v.data, T, C, H, W, 1, &mom, &written, &err) == 0 && written == 0,
          "reused: %s", err.msg);
    CHECK(ssvae_moments_cache(mp, v.data, T - 1, C, H, W, 1, &mom, &written, &err) == -1 &&
          strstr(err.msg, "remove it"), "another video's moments refused: %s", err.msg);
    CHECK(ssvae_moments_cache(mp, v.data, T, C, H, W, 1, &mom, &written, &err) == 0, "%s", err.msg);
    size_t n1, n2, n3;
    float *a = train(video, NULL, 0, &n1);
    float *b = train(v.data, mom.data, 1, &n2);
    float *c = train(v.data, NULL, 1, &n3);
    CHECK(n1 == n2 && !memcmp(a, b, n1 * sizeof *a), "mapped video and moments, pages dropped: same bits");
    CHECK(n1 == n3 && !memcmp(a, c, n1 * sizeof *a), "mapped video, moments in memory: same bits");
    CHECK(!memcmp(v.data, video, (size_t)T * W * H * C), "the frames read back after their pages were dropped");
    free(a); free(b); free(c); free(ref);
    ssvae_array_free(&mom);
    ssvae_array_free(&v);
}

int main(void)
{
    if (make_scratch("/tmp/ssvae_mapped_XXXXXX")) return 1;
    uint8_t *video = balls();
    test_map(video);
    test_stream();
    test_cache(video);
    test_train_mapped(video);
    free(video);
    remove_tree(dir);
    return check_report("test_mapped");
}
