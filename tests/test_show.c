/*
 * test_show.c — `ssvae show`'s library side and what it rests on:
 * ssvae_model_maps gives the planes whose centres of mass are exactly the
 * latents ssvae_model_encode gives; ssvae_evaluate_latents gives exactly
 * ssvae_evaluate's scores; ssvae_show writes its PNG files (read back
 * with their sizes) on colour and grey videos of odd sizes and K, with and
 * without centres, none for the supervised baseline's predictive map, and
 * on bad input fails with one line leaving no file or folder; and the
 * struct sizes a binding checks.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/png.h"
#include "scratch.h"
#include "ssvae.h"

/* PLplot's fontconfig caches are never freed (as in test_figure.c). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}

/* A small video and a model trained on it for a few epochs. */
typedef struct fixture {
    ssvae_balls_config bc;
    uint8_t *frames;
    float *centres;
    ssvae_model m;
} fixture;

static int make_fixture(fixture *f, int W, int H, int K, int grey, int supervised, int mapsK)
{
    ssvae_error err;
    memset(f, 0, sizeof *f);
    ssvae_balls_default(&f->bc);
    f->bc.frames = 24;
    f->bc.width = W;
    f->bc.height = H;
    f->bc.nballs = K;
    f->bc.radius = 3;
    f->bc.step = 3;
    size_t npix = (size_t)f->bc.frames * W * H;
    f->frames = malloc(npix * 3);
    f->centres = malloc((size_t)f->bc.frames * K * 2 * sizeof(float));
    if (ssvae_balls_generate(&f->bc, f->frames, f->centres, NULL, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    if (grey)
        for (size_t i = 0; i < npix; i++)
            f->frames[i] = (uint8_t)((f->frames[3 * i] + f->frames[3 * i + 1] + f->frames[3 * i + 2] + 1) / 3);
    ssvae_model_config mc;
    ssvae_model_config_default(&mc);
    mc.C = grey ? 1 : 3, mc.H = H, mc.W = W, mc.K = mapsK, mc.supervised = supervised;
    if (ssvae_model_init(&f->m, &mc, 3, &err))
        return -1;
    ssvae_train_config tc;
    ssvae_train_config_default(&tc);
    tc.epochs = 2, tc.batch = 8, tc.L0 = 0.01, tc.W0 = 1;
    ssvae_train_result res;
    int rc = ssvae_train(&f->m, &tc, f->frames, f->bc.frames, f->centres, NULL, NULL, &res, &err);
    ssvae_train_result_free(&res);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    return rc;
}

static void free_fixture(fixture *f)
{
    free(f->frames);
    free(f->centres);
    ssvae_model_free(&f->m);
}

/* The maps' centres of mass, taken here in double, against the latents. */
static void test_maps(void)
{
    fixture f;
    CHECK(make_fixture(&f, 40, 24, 3, 0, 0, 4) == 0, "fixture");
    int H = 24, W = 40, K = 4, D = 8, T = f.bc.frames;
    float *z = malloc((size_t)T * D * sizeof *z), *maps = malloc((size_t)K * H * W * sizeof *maps), zm[8];
    ssvae_model_encode(&f.m, f.frames, T, z);
    double worst_own = 0;
    int exact = 1, in01 = 1;
    for (int t = 0; t < T; t++) {
        ssvae_model_maps(&f.m, f.frames + (size_t)t * H * W * 3, maps, zm);
        for (int d = 0; d < D; d++)
            exact &= zm[d] == z[(size_t)t * D + d];
        for (int k = 0; k < K; k++) {
            const float *s = maps + (size_t)k * H * W;
            double m = 0, mx = 0, my = 0;
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    in01 &= s[i * W + j] > 0 && s[i * W + j] < 1;
                    m += s[i * W + j], mx += s[i * W + j] * (j + 0.5), my += s[i * W + j] * (i + 0.5);
                }
            worst_own = fmax(worst_own, fabs(mx / m / W - z[(size_t)t * D + 2 * k]));
            worst_own = fmax(worst_own, fabs(my / m / H - z[(size_t)t * D + 2 * k + 1]));
        }
    }
    CHECK(exact, "ssvae_model_maps' z equals ssvae_model_encode's bit for bit");
    CHECK(in01, "the maps are sigmoids, in (0, 1)");
    CHECK(worst_own < 1e-6, "centre of mass of the returned maps vs z: %.3g", worst_own);
    free(z), free(maps);
    free_fixture(&f);
}

static void test_evaluate_latents(void)
{
    fixture f;
    CHECK(make_fixture(&f, 32, 32, 2, 0, 0, 2) == 0, "fixture");
    int T = f.bc.frames, D = 4;
    ssvae_eval a, b;
    ssvae_error err;
    float *z = malloc((size_t)T * D * sizeof *z);
    /* held-out = the second half of the video */
    int Ttr = T / 2, Tte = T - Ttr;
    const uint8_t *vte = f.frames + (size_t)Ttr * 32 * 32 * 3;
    const float *cte = f.centres + (size_t)Ttr * 2 * 2;
    CHECK(ssvae_evaluate(&f.m, f.frames, f.centres, Ttr, vte, cte, Tte, NULL, NULL, &a, &err) == 0, "%s", err.msg);
    ssvae_model_encode(&f.m, f.frames, T, z);
    CHECK(ssvae_evaluate_latents(z, f.centres, Ttr, z + (size_t)Ttr * D, cte, Tte, 2, 32, 32, &b, &err) == 0,
          "%s", err.msg);
    CHECK(a.probe_test == b.probe_test && a.probe_train == b.probe_train && a.direct_test == b.direct_test &&
              a.direct_train == b.direct_train && a.chance_test == b.chance_test && a.found == b.found,
          "the same scores: probe %.9g / %.9g", a.probe_test, b.probe_test);
    CHECK(ssvae_evaluate_latents(z, f.centres, 3, z, f.centres, 3, 2, 32, 32, &b, &err) == -1 &&
              err.msg[0] && !strchr(err.msg, '\n'),
          "too few frames for the probe is an error: %s", err.msg);
    free(z);
    free_fixture(&f);
}

/* 1 if dir/name is a PNG libpng reads, of at least 200 x 100 pixels. */
static int png_ok(const char *name)
{
    uint8_t *px = NULL;
    int w = 0, h = 0;
    ssvae_error err;
    int ok = ssvae_png_read(in_dir(name), &px, &w, &h, &err) == 0 && w >= 200 && h >= 100;
    free(px);
    return ok;
}

static int count_files(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_show(void)
{
    ssvae_error err;
    ssvae_show_options opt;
    ssvae_show_options_default(&opt);
    CHECK(opt.nframes == 4 && opt.frame == -1 && opt.scale == 1.0, "defaults");
    int written = -1;

    /* colour, with centres: four pictures */
    fixture f;
    CHECK(make_fixture(&f, 48, 32, 3, 0, 0, 3) == 0, "fixture");
    CHECK(ssvae_show(&f.m, f.frames, f.bc.frames, f.centres, 3, in_dir("a"), &opt, &written, &err) == 0,
          "%s", err.msg);
    CHECK(written == 4 && count_files(in_dir("a")) == 4, "4 files, got %d", written);
    CHECK(png_ok("a/maps.png") && png_ok("a/tracks.png") && png_ok("a/predictive.png") &&
              png_ok("a/decoded.png"), "readable PNGs");
    /* centres of another number of objects than maps: the probe still draws */
    CHECK(ssvae_show(&f.m, f.frames, f.bc.frames, f.centres, 2, in_dir("a2"), NULL, &written, &err) == 0 &&
              written == 4, "%s", err.msg);
    /* bad input: one line, no folder made */
    opt.nframes = 0;
    CHECK(ssvae_show(&f.m, f.frames, f.bc.frames, NULL, 0, in_dir("bad1"), &opt, &written, &err) == -1 &&
              !exists(in_dir("bad1")) && !strchr(err.msg, '\n'), "nframes 0: %s", err.msg);
    ssvae_show_options_default(&opt);
    opt.frame = f.bc.frames;
    CHECK(ssvae_show(&f.m, f.frames, f.bc.frames, NULL, 0, in_dir("bad2"), &opt, &written, &err) == -1 &&
              !exists(in_dir("bad2")), "frame out of range: %s", err.msg);
    ssvae_show_options_default(&opt);
    CHECK(ssvae_show(&f.m, f.frames, 4, f.centres, 3, in_dir("bad3"), &opt, &written, &err) == -1 &&
              strstr(err.msg, "decoded.png") && !exists(in_dir("bad3")), "4 frames, 6 latents: %s", err.msg);
    float keep = f.centres[5];
    f.centres[5] = NAN;
    CHECK(ssvae_show(&f.m, f.frames, f.bc.frames, f.centres, 3, in_dir("bad4"), &opt, &written, &err) == -1 &&
              strstr(err.msg, "not finite") && !exists(in_dir("bad4")), "NaN centre: %s", err.msg);
    f.centres[5] = keep;
    write_raw(in_dir("file"), "x", 1);
    CHECK(ssvae_show(&f.m, f.frames, f.bc.frames, NULL, 0, in_dir("file"), &opt, &written, &err) == -1 &&
              strstr(err.msg, "not a folder"), "output is a file: %s", err.msg);
    free_fixture(&f);

    /* grey, 5 maps, odd size, no centres, frames from 10 on: three pictures */
    CHECK(make_fixture(&f, 37, 21, 2, 1, 0, 5) == 0, "fixture");
    opt.frame = 10;
    opt.nframes = 3;
    opt.scale = 0.5;
    CHECK(ssvae_show(&f.m, f.frames, f.bc.frames, NULL, 0, in_dir("g"), &opt, &written, &err) == 0 &&
              written == 3 && count_files(in_dir("g")) == 3 && !exists(in_dir("g/decoded.png")),
          "grey: %s", err.msg);
    free_fixture(&f);

    /* the supervised baseline has no prior: no predictive.png */
    CHECK(make_fixture(&f, 32, 32, 2, 0, 1, 2) == 0, "fixture");
    ssvae_show_options_default(&opt);
    CHECK(ssvae_show(&f.m, f.frames, f.bc.frames, f.centres, 2, in_dir("s"), &opt, &written, &err) == 0 &&
              written == 3 && !exists(in_dir("s/predictive.png")) && exists(in_dir("s/decoded.png")),
          "supervised: %s", err.msg);
    free_fixture(&f);
}

static void test_struct_sizes(void)
{
    CHECK(ssvae_struct_size("ssvae_model") == sizeof(ssvae_model), "ssvae_model");
    CHECK(ssvae_struct_size("ssvae_train_config") == sizeof(ssvae_train_config), "ssvae_train_config");
    CHECK(ssvae_struct_size("ssvae_show_options") == sizeof(ssvae_show_options), "ssvae_show_options");
    CHECK(ssvae_struct_size("no_such_struct") == 0, "unknown: 0");
    CHECK(ssvae_prior_count() == SSVAE_PRIOR_COUNT, "prior count");
    ssvae_prior_kind k;
    for (int i = 0; i < ssvae_prior_count(); i++)
        CHECK(ssvae_prior_lookup(ssvae_prior_get((ssvae_prior_kind)i)->name, &k) == 0 && (int)k == i,
              "prior %d by its name", i);
}

int main(void)
{
    if (make_scratch("/tmp/ssvae_test_show_XXXXXX"))
        return 1;
    test_maps();
    test_evaluate_latents();
    test_show();
    test_struct_sizes();
    remove_tree(dir);
    return check_report("test_show");
}
