/*
 * test_balls.c — tests for the random number generator (src/rng.c) and the
 * moving-balls generator (src/data/balls.c, SPEC section 1): reference
 * values, reproducibility, the motion rules frame by frame, and the pixels.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ssvae.h"

static const double pi = 3.14159265358979323846;

/* ------------------------------------------------------------------------ */
/* Random numbers                                                            */
/* ------------------------------------------------------------------------ */

static void test_rng(void)
{
    ssvae_rng a, b;

    /* Reference values from an independent Python implementation of
     * splitmix64 and xoshiro256**; splitmix64(0)'s first output,
     * 0xe220a8397b1dcdaf, is the one published with the algorithm. */
    ssvae_rng_seed(&a, 0);
    CHECK(a.s[0] == 0xe220a8397b1dcdafu && a.s[3] == 0xf88bb8a8724c81ecu,
          "splitmix64 seeding of seed 0");
    ssvae_rng_seed(&a, 1);
    CHECK(ssvae_rng_next(&a) == 0xb3f2af6d0fc710c5u, "seed 1, first output");
    CHECK(ssvae_rng_next(&a) == 0x853b559647364ceau, "seed 1, second output");
    CHECK(ssvae_rng_next(&a) == 0x92f89756082a4514u, "seed 1, third output");

    /* Same seed, same stream, through every kind of draw. */
    ssvae_rng_seed(&a, 42);
    ssvae_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) {
        same &= ssvae_rng_next(&a) == ssvae_rng_next(&b);
        same &= ssvae_rng_uniform(&a) == ssvae_rng_uniform(&b);
        same &= ssvae_rng_normal(&a) == ssvae_rng_normal(&b);
        same &= ssvae_rng_below(&a, 7) == ssvae_rng_below(&b, 7);
    }
    CHECK(same, "two generators with seed 42 diverged");
    ssvae_rng_seed(&b, 43);
    ssvae_rng_seed(&a, 42);
    CHECK(ssvae_rng_next(&a) != ssvae_rng_next(&b), "seeds 42 and 43 agree");

    /* Uniform: in [0, 1), mean 1/2, variance 1/12. */
    int n = 200000, in_range = 1;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double u = ssvae_rng_uniform(&a);
        in_range &= u >= 0 && u < 1;
        sum += u, sum2 += u * u;
    }
    CHECK(in_range, "uniform left [0, 1)");
    CHECK_CLOSE(sum / n, 0.5, 0.005, 0);
    CHECK_CLOSE(sum2 / n - (sum / n) * (sum / n), 1.0 / 12, 0.002, 0);

    /* Normal: finite, mean 0, variance 1, about 68% within one sigma. */
    int finite = 1, within = 0;
    sum = sum2 = 0;
    for (int i = 0; i < n; i++) {
        double z = ssvae_rng_normal(&a);
        finite &= isfinite(z);
        sum += z, sum2 += z * z;
        within += fabs(z) < 1;
    }
    CHECK(finite, "normal gave inf or NaN");
    CHECK_CLOSE(sum / n, 0, 0.01, 0);
    CHECK_CLOSE(sum2 / n, 1, 0.02, 0);
    CHECK_CLOSE((double)within / n, 0.6827, 0.01, 0);

    /* below(n): in range, every value about equally often; n = 1 gives 0;
     * n just over 2^63 (where half of all 64-bit draws are rejected) still
     * stays below n. */
    int counts[7] = {0};
    in_range = 1;
    for (int i = 0; i < 70000; i++) {
        uint64_t v = ssvae_rng_below(&a, 7);
        in_range &= v < 7;
        if (v < 7)
            counts[v]++;
    }
    CHECK(in_range, "below(7) left [0, 7)");
    for (int v = 0; v < 7; v++)
        CHECK_CLOSE(counts[v], 10000, 400, 0);
    CHECK(ssvae_rng_below(&a, 1) == 0, "below(1) must be 0");
    uint64_t big = (UINT64_C(1) << 63) + 1;
    int big_ok = 1, high = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = ssvae_rng_below(&a, big);
        big_ok &= v < big;
        high += v >= (UINT64_C(1) << 62);
    }
    CHECK(big_ok, "below(2^63 + 1) out of range");
    CHECK(high > 430 && high < 570, "below(2^63 + 1): %d of 1000 in the top half",
          high);

    /* shuffle: a permutation, and not always the identity. */
    int p[100], seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++)
        p[i] = i;
    ssvae_rng_shuffle(&a, p, 100);
    int perm = 1;
    for (int i = 0; i < 100; i++) {
        perm &= p[i] >= 0 && p[i] < 100 && !seen[p[i]];
        if (p[i] >= 0 && p[i] < 100)
            seen[p[i]] = 1;
        moved += p[i] != i;
    }
    CHECK(perm, "shuffle is not a permutation");
    CHECK(moved > 50, "shuffle moved only %d of 100", moved);
    int one = 5;
    ssvae_rng_shuffle(&a, &one, 1);
    ssvae_rng_shuffle(&a, NULL, 0);
    CHECK(one == 5, "shuffling one element changed it");
}

/* ------------------------------------------------------------------------ */
/* The balls                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct video {
    ssvae_balls_config cfg;
    uint8_t *frames;  /* (T, H, W, 3) */
    float *centres;   /* (T, K, 2) */
    uint8_t *stuck;   /* (T, K) */
} video;

static int make(video *v, const ssvae_balls_config *cfg, ssvae_error *err)
{
    v->cfg = *cfg;
    v->frames = malloc((size_t)cfg->frames * cfg->height * cfg->width * 3);
    v->centres = malloc(sizeof(float) * cfg->frames * cfg->nballs * 2);
    v->stuck = malloc((size_t)cfg->frames * cfg->nballs);
    return ssvae_balls_generate(cfg, v->frames, v->centres, v->stuck, err);
}

static void drop(video *v)
{
    free(v->frames);
    free(v->centres);
    free(v->stuck);
}

static const float *centre(const video *v, int t, int k)
{
    return v->centres + ((size_t)t * v->cfg.nballs + k) * 2;
}

/* 1 if ball k could stand at (x, y) in frame t, the way the generator
 * decides it: inside the frame and clear of balls already moved (their frame
 * t positions) and balls yet to move (frame t - 1). Slack eps absorbs the
 * float rounding of the stored centres. */
static int valid_at(const video *v, int t, int k, double x, double y, double eps)
{
    double r = v->cfg.radius;
    if (x - r < -eps || x + r > v->cfg.width + eps || y - r < -eps ||
        y + r > v->cfg.height + eps)
        return 0;
    for (int j = 0; j < v->cfg.nballs; j++) {
        if (j == k)
            continue;
        const float *c = centre(v, j < k ? t : t - 1, j);
        if (hypot(x - c[0], y - c[1]) < 2 * r - eps)
            return 0;
    }
    return 1;
}

/* Checks the motion rules over the whole video; returns the stuck count.
 * min_small: the least fraction of turns expected within +-noise_deg (a
 * ball turns further only when blocked, which depends on how crowded the
 * frame is). */
static int check_motion(const video *v, double min_small)
{
    const ssvae_balls_config *c = &v->cfg;
    int T = c->frames, K = c->nballs, nstuck = 0;
    int inside = 1, apart = 1, steps = 1, stuck_ok = 1, turns_small = 0, turns = 0;
    double r = c->radius, eps = 1e-4;
    double dir[SSVAE_MAXBALLS];
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++) {
            const float *p = centre(v, t, k);
            inside &= p[0] - r >= -eps && p[0] + r <= c->width + eps &&
                      p[1] - r >= -eps && p[1] + r <= c->height + eps;
            for (int j = 0; j < k; j++) {
                const float *q = centre(v, t, j);
                apart &= hypot(p[0] - q[0], p[1] - q[1]) >= 2 * r - eps;
            }
            if (t == 0) {
                stuck_ok &= v->stuck[k] == 0;
                dir[k] = NAN;
                continue;
            }
            const float *o = centre(v, t - 1, k);
            double dx = p[0] - o[0], dy = p[1] - o[1], d = hypot(dx, dy);
            if (v->stuck[(size_t)t * K + k]) {
                nstuck++;
                stuck_ok &= d == 0;
                continue;
            }
            steps &= fabs(d - c->step) < 1e-3 && valid_at(v, t, k, p[0], p[1], eps);
            /* The turn from the previous move: within +-noise unless the
             * ball had to look further. */
            double th = atan2(dy, dx) * 180 / pi;
            if (!isnan(dir[k])) {
                double turn = fabs(remainder(th - dir[k], 360));
                turns++;
                turns_small += turn <= c->noise_deg + 1e-3;
            }
            dir[k] = th;
        }
    CHECK(inside, "a ball left the frame");
    CHECK(apart, "two balls overlap");
    CHECK(steps, "a move was not exactly one step to a free place");
    CHECK(stuck_ok, "a stuck ball moved, or a ball was stuck in frame 0");
    CHECK(turns_small >= min_small * turns, "only %d of %d turns within noise",
          turns_small, turns);
    return nstuck;
}

/* Checks every pixel of frame t: a pixel clearly inside a ball (by more than
 * a rounding margin) has its colour, one clearly outside all balls is black;
 * the pixel holding each centre has its ball's colour; and each ball covers
 * pi r^2 pixels give or take r (2% at the default radius 16). */
static void check_pixels(const video *v, int t)
{
    const ssvae_balls_config *c = &v->cfg;
    int H = c->height, W = c->width, K = c->nballs, ok = 1;
    int count[SSVAE_MAXBALLS] = {0};
    double r = c->radius;
    const uint8_t *f = v->frames + (size_t)t * H * W * 3;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            const uint8_t *px = f + ((size_t)i * W + j) * 3;
            int want = -1, sure = 1;
            for (int k = 0; k < K; k++) {
                const float *p = centre(v, t, k);
                double dx = j + 0.5 - p[0], dy = i + 0.5 - p[1];
                double d2 = dx * dx + dy * dy;
                sure &= fabs(d2 - r * r) > 1e-2;
                if (d2 < r * r)
                    want = k;
                if (!memcmp(px, c->colours[k], 3))
                    count[k]++;
            }
            if (!sure)
                continue;
            ok &= want >= 0 ? !memcmp(px, c->colours[want], 3)
                            : px[0] == 0 && px[1] == 0 && px[2] == 0;
        }
    CHECK(ok, "frame %d: a pixel has the wrong colour", t);
    for (int k = 0; k < K; k++) {
        const float *p = centre(v, t, k);
        const uint8_t *px = f + ((size_t)floor(p[1]) * W + (size_t)floor(p[0])) * 3;
        CHECK(!memcmp(px, c->colours[k], 3), "frame %d: ball %d's centre pixel",
              t, k);
        CHECK_CLOSE(count[k], pi * r * r, r, 0);
    }
}

static void test_default(void)
{
    ssvae_balls_config cfg;
    ssvae_balls_default(&cfg);
    CHECK(cfg.frames == 900 && cfg.height == 256 && cfg.width == 256 &&
          cfg.nballs == 3 && cfg.radius == 16 && cfg.step == 32 &&
          cfg.noise_deg == 2 && cfg.seed == 1, "default config");
    CHECK(cfg.colours[0][0] == 255 && cfg.colours[0][1] == 127 &&
          cfg.colours[0][2] == 80 && cfg.colours[1][0] == 60 &&
          cfg.colours[1][1] == 179 && cfg.colours[1][2] == 113 &&
          cfg.colours[2][0] == 65 && cfg.colours[2][1] == 105 &&
          cfg.colours[2][2] == 225, "default colours");

    cfg.frames = 200;
    ssvae_error err = {{0}};
    video a, b, c;
    CHECK(make(&a, &cfg, &err) == 0, "default video: %s", err.msg);
    CHECK(make(&b, &cfg, &err) == 0, "default video again: %s", err.msg);
    size_t nbytes = (size_t)cfg.frames * cfg.height * cfg.width * 3;
    size_t ncentres = sizeof(float) * cfg.frames * cfg.nballs * 2;
    CHECK(!memcmp(a.frames, b.frames, nbytes), "same seed, different frames");
    CHECK(!memcmp(a.centres, b.centres, ncentres), "same seed, different centres");
    CHECK(!memcmp(a.stuck, b.stuck, (size_t)cfg.frames * cfg.nballs),
          "same seed, different stuck flags");
    cfg.seed = 2;
    CHECK(make(&c, &cfg, &err) == 0, "seed 2: %s", err.msg);
    CHECK(memcmp(a.frames, c.frames, nbytes), "seeds 1 and 2 give the same frames");
    CHECK(memcmp(a.centres, c.centres, ncentres), "seeds 1 and 2 give the same centres");

    /* stuck may be NULL and changes nothing else. */
    float *cent = malloc(ncentres);
    uint8_t *frames = malloc(nbytes);
    cfg.seed = 1;
    CHECK(ssvae_balls_generate(&cfg, frames, cent, NULL, &err) == 0, "%s", err.msg);
    CHECK(!memcmp(frames, a.frames, nbytes) && !memcmp(cent, a.centres, ncentres),
          "stuck = NULL changed the video");
    free(cent);
    free(frames);

    int nstuck = check_motion(&a, 0.6);
    CHECK(nstuck == 0, "%d stuck moves with three balls in 256x256", nstuck);
    for (int t = 0; t < cfg.frames; t += 20)
        check_pixels(&a, t);
    drop(&a);
    drop(&b);
    drop(&c);
}

/* A small frame with smaller balls and steps, and more of them. */
static void test_small(void)
{
    ssvae_balls_config cfg;
    ssvae_balls_default(&cfg);
    cfg.frames = 300, cfg.height = 64, cfg.width = 48, cfg.nballs = 4;
    cfg.radius = 5.5, cfg.step = 7, cfg.seed = 7;
    cfg.colours[3][0] = 200, cfg.colours[3][1] = 200, cfg.colours[3][2] = 10;
    ssvae_error err = {{0}};
    video v;
    CHECK(make(&v, &cfg, &err) == 0, "small video: %s", err.msg);
    check_motion(&v, 0.3);
    for (int t = 0; t < cfg.frames; t += 30)
        check_pixels(&v, t);
    drop(&v);
}

/* Eight balls in 128x128 jam often. The run must still end; a ball flagged
 * stuck must stay put, and must really have had (almost) nowhere to go: a
 * gap wider than 2% of the circle would have been found in 1000 draws at
 * +-180 degrees except with probability 0.98^1000 ~ 2e-9. */
static void test_crowded(void)
{
    ssvae_balls_config cfg;
    ssvae_balls_default(&cfg);
    cfg.frames = 200, cfg.height = cfg.width = 128, cfg.nballs = 8;
    for (int k = 3; k < 8; k++) {
        cfg.colours[k][0] = (uint8_t)(30 * k);
        cfg.colours[k][1] = (uint8_t)(250 - 25 * k);
        cfg.colours[k][2] = 128;
    }
    ssvae_error err = {{0}};
    video v;
    CHECK(make(&v, &cfg, &err) == 0, "crowded video: %s", err.msg);
    int nstuck = check_motion(&v, 0), blocked = 1;
    CHECK(nstuck > 0, "no ball was ever stuck in a crowded frame");
    for (int t = 1; t < cfg.frames; t++)
        for (int k = 0; k < cfg.nballs; k++) {
            if (!v.stuck[t * cfg.nballs + k])
                continue;
            const float *o = centre(&v, t - 1, k);
            int free_dirs = 0;
            for (int a = 0; a < 3600; a++) {
                double th = a * pi / 1800;
                free_dirs += valid_at(&v, t, k, o[0] + cfg.step * cos(th),
                                      o[1] + cfg.step * sin(th), -1e-4);
            }
            blocked &= free_dirs <= 72;
        }
    CHECK(blocked, "a ball was flagged stuck with room to move");
    check_pixels(&v, cfg.frames - 1);
    drop(&v);

    /* 8 balls of radius 16 do pack into 96x96 (a 3x3 grid), but rejection
     * sampling does not find such a tight start: it must give up cleanly. */
    cfg.height = cfg.width = 96;
    err.msg[0] = 0;
    int rc = make(&v, &cfg, &err);
    CHECK(rc == 0 || strstr(err.msg, "do not fit"), "96x96: %s", err.msg);
    drop(&v);
}

static void expect_reject(const ssvae_balls_config *cfg, const char *what)
{
    uint8_t frames[64 * 64 * 3 * 2];
    float centres[2 * SSVAE_MAXBALLS * 2];
    ssvae_error err;
    strcpy(err.msg, "");
    int rc = ssvae_balls_generate(cfg, frames, centres, NULL, &err);
    CHECK(rc == -1, "%s: accepted", what);
    CHECK(err.msg[0] && !strchr(err.msg, '\n'), "%s: message '%s'", what, err.msg);
}

static void test_bad(void)
{
    ssvae_balls_config good, c;
    ssvae_balls_default(&good);
    good.frames = 2, good.height = good.width = 64, good.radius = 8;
    good.step = 16;
    uint8_t frames[64 * 64 * 3 * 2];
    float centres[2 * SSVAE_MAXBALLS * 2];
    ssvae_error err = {{0}};
    CHECK(ssvae_balls_generate(&good, frames, centres, NULL, &err) == 0,
          "the base of the bad configs: %s", err.msg);

#define BAD(field, value)                                                  \
    do {                                                                   \
        c = good;                                                          \
        c.field = value;                                                   \
        expect_reject(&c, #field " = " #value);                            \
    } while (0)
    BAD(frames, 0);
    BAD(frames, -3);
    BAD(height, 0);
    BAD(width, -1);
    BAD(nballs, 0);
    BAD(nballs, SSVAE_MAXBALLS + 1);
    BAD(radius, 0);
    BAD(radius, -2);
    BAD(radius, NAN);
    BAD(radius, 33);        /* wider than the frame */
    BAD(radius, INFINITY);
    BAD(step, -1);
    BAD(step, NAN);
    BAD(step, INFINITY);
    BAD(noise_deg, 0);
    BAD(noise_deg, NAN);
#undef BAD
    c = good;
    c.nballs = 8, c.radius = 20; /* each fits alone, eight never do */
    expect_reject(&c, "8 balls of radius 20 in 64x64");
}

int main(void)
{
    test_rng();
    test_default();
    test_small();
    test_crowded();
    test_bad();
    return check_report("test_balls");
}
