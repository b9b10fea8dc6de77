/*
 * test_figure.c — the pictures of Figure 1: PNG files that libpng reads
 * back with the stated sizes; the predictive map of Fig. 1D/E (sums to 1;
 * for the gaussian prior its peak sits at z and its spread is the learned
 * L; for the bilinear prior its log is a plane); and bad input (no run
 * folder, no models, a frame out of range, an output folder that cannot be
 * made) failing with one line and leaving no file behind. The CLI's exit
 * statuses are checked through the built program beside this test.
 */
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "io/png.h"
#include "scratch.h"
#include "ssvae.h"

/* PLplot's cairo driver lays text out with pango, whose fontconfig caches
 * are never freed; LeakSanitizer would report them at exit. They are not
 * ours, so under the sanitizers they (and only they) are suppressed, here
 * and in the program the CLI checks run (LSAN_OPTIONS below). */
#define LSAN_SUPPRESSIONS "leak:libfontconfig.so\n"
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return LSAN_SUPPRESSIONS;
}
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}

/* ---- helpers ------------------------------------------------------------- */

/* Reads a PNG with libpng directly (not through io/png.c); 0 if it is a
 * valid 8-bit RGB PNG, with its size in *w, *h. */
static int png_size(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_bytep *volatile rows = NULL;
    volatile int ok = -1;
    if (setjmp(png_jmpbuf(png)) == 0) {
        png_init_io(png, f);
        png_read_info(png, info);
        *w = (int)png_get_image_width(png, info);
        *h = (int)png_get_image_height(png, info);
        if (png_get_bit_depth(png, info) == 8 && png_get_color_type(png, info) == PNG_COLOR_TYPE_RGB) {
            size_t rb = png_get_rowbytes(png, info);
            rows = calloc((size_t)*h, sizeof *rows);
            for (int y = 0; y < *h; y++)
                rows[y] = malloc(rb);
            png_read_image(png, rows); /* decodes every byte: CRCs and zlib checked */
            png_read_end(png, NULL);
            ok = 0;
        }
    }
    if (rows)
        for (int y = 0; y < *h; y++)
            free(rows[y]);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return ok;
}

/* Files in folder d (0 if it does not exist); tmps: how many are temporaries. */
static int count_files(const char *d, int *tmps)
{
    DIR *dp = opendir(d);
    int n = 0;
    if (tmps)
        *tmps = 0;
    if (!dp)
        return 0;
    for (struct dirent *e; (e = readdir(dp));) {
        if (e->d_name[0] == '.')
            continue;
        n++;
        if (tmps && strstr(e->d_name, ".tmp."))
            (*tmps)++;
    }
    closedir(dp);
    return n;
}

static int one_line(const char *msg)
{
    return msg[0] != '\0' && strchr(msg, '\n') == NULL;
}

/* ---- PNG files ------------------------------------------------------------ */

static void test_png(void)
{
    int w = 37, h = 23;
    uint8_t *rgb = malloc((size_t)w * h * 3), *rgba = malloc((size_t)w * h * 4);
    for (int i = 0; i < w * h; i++) {
        for (int c = 0; c < 3; c++)
            rgb[3 * i + c] = rgba[4 * i + c] = (uint8_t)(i * 7 + c * 50);
        rgba[4 * i + 3] = 128;
    }
    char path[256];
    ssvae_error err;
    for (int ch = 3; ch <= 4; ch++) {
        snprintf(path, sizeof path, "%s/p%d.png", dir, ch);
        CHECK(ssvae_png_write(path, ch == 3 ? rgb : rgba, w, h, ch, &err) == 0, "%s", err.msg);
        int pw = 0, ph = 0;
        CHECK(png_size(path, &pw, &ph) == 0 && pw == w && ph == h, "%s: %d x %d", path, pw, ph);
        uint8_t *back = NULL;
        int bw = 0, bh = 0;
        CHECK(ssvae_png_read(path, &back, &bw, &bh, &err) == 0, "%s", err.msg);
        CHECK(back && bw == w && bh == h && memcmp(back, rgb, (size_t)w * h * 3) == 0,
              "pixels round-trip (%d channels in)", ch);
        free(back);
    }
    /* failures: a folder that does not exist, a file that is not a PNG */
    snprintf(path, sizeof path, "%s/missing/x.png", dir);
    CHECK(ssvae_png_write(path, rgb, w, h, 3, &err) == -1 && one_line(err.msg), "write into a missing folder");
    CHECK(ssvae_png_write(path, rgb, 0, h, 3, &err) == -1, "zero width refused");
    snprintf(path, sizeof path, "%s/notpng.png", dir);
    FILE *f = fopen(path, "wb");
    fputs("not a png at all", f);
    fclose(f);
    uint8_t *back = NULL;
    int bw, bh;
    CHECK(ssvae_png_read(path, &back, &bw, &bh, &err) == -1 && back == NULL && one_line(err.msg),
          "a text file is not a PNG");
    /* a truncated PNG: libpng's error comes back as a message, not a crash */
    snprintf(path, sizeof path, "%s/p3.png", dir);
    char cut[256];
    snprintf(cut, sizeof cut, "%s/cut.png", dir);
    FILE *in = fopen(path, "rb"), *out = fopen(cut, "wb");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    fwrite(buf, 1, n / 2, out); /* the first half of the file */
    fclose(in);
    fclose(out);
    CHECK(ssvae_png_read(cut, &back, &bw, &bh, &err) == -1 && back == NULL && one_line(err.msg),
          "truncated PNG: %s", err.msg);
    remove(cut);
    int tmps;
    count_files(dir, &tmps);
    CHECK(tmps == 0, "no temporaries left behind (%d)", tmps);
    free(rgb);
    free(rgba);
}

/* ---- the predictive map ---------------------------------------------------- */

static void map_model(ssvae_model *m, ssvae_prior_kind prior, int supervised, double units)
{
    ssvae_model_config mc;
    ssvae_model_config_default(&mc);
    mc.H = 48;
    mc.W = 64; /* not square: rows and columns must not be swapped */
    mc.K = 3;
    mc.F = 4;
    mc.prior = prior;
    mc.supervised = supervised;
    mc.units = units;
    ssvae_error err;
    if (ssvae_model_init(m, &mc, 1, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
}

/* mean and standard deviation of x and y (pixel centres) under p */
static void moments(const float *p, int H, int W, double *mx, double *my, double *sx, double *sy, double *sum)
{
    double s = 0, ax = 0, ay = 0, axx = 0, ayy = 0;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            double q = p[i * W + j], x = j + 0.5, y = i + 0.5;
            s += q, ax += q * x, ay += q * y, axx += q * x * x, ayy += q * y * y;
        }
    *sum = s;
    *mx = ax / s;
    *my = ay / s;
    *sx = sqrt(axx / s - *mx * *mx);
    *sy = sqrt(ayy / s - *my * *my);
}

static void test_predictive_gaussian(void)
{
    /* units 1 (normalised) and units W (pixels): L is in the prior's units */
    for (int u = 0; u < 2; u++) {
        ssvae_model m;
        double units = u ? 64.0 : 1.0, L_px = 4.0, L = L_px / 64.0 * units;
        map_model(&m, SSVAE_PRIOR_GAUSSIAN, 0, units);
        m.head[0] = (float)log(L);
        int H = m.cfg.H, W = m.cfg.W, k = 1;
        float z[6] = {0.2f, 0.8f, 0.55f, 0.45f, 0.9f, 0.1f}; /* map 1 at (35.2, 21.6) px */
        float *p = malloc((size_t)H * W * sizeof *p);
        ssvae_error err;
        CHECK(ssvae_predictive_map(&m, z, k, p, &err) == 0, "%s", err.msg);
        double mx, my, sx, sy, sum;
        moments(p, H, W, &mx, &my, &sx, &sy, &sum);
        CHECK_CLOSE(sum, 1.0, 1e-5, 0);
        int best = 0;
        for (int i = 1; i < H * W; i++)
            if (p[i] > p[best])
                best = i;
        double bx = best % W + 0.5, by = best / W + 0.5;
        CHECK(fabs(bx - z[2] * W) <= 0.5 && fabs(by - z[3] * H) <= 0.5,
              "peak at (%g, %g), z at (%g, %g) px", bx, by, z[2] * W, z[3] * H);
        CHECK_CLOSE(mx, z[2] * W, 1e-3, 0);
        CHECK_CLOSE(my, z[3] * H, 1e-3, 0);
        /* the spread is L in px, L / units * W, in both directions (y in
         * normalised units is scaled by H: the map is L / units * H there) */
        CHECK_CLOSE(sx, L / units * W, 0, 0.01);
        CHECK_CLOSE(sy, L / units * H, 0, 0.01);
        free(p);
        ssvae_model_free(&m);
    }
}

/* Every prior of the table, at its own start from a batch of nearby
 * pairs: the map is a finite distribution over the pixels summing to 1. */
static void test_predictive_every_prior(void)
{
    for (int k = 0; k < SSVAE_PRIOR_COUNT; k++) {
        ssvae_model m;
        map_model(&m, (ssvae_prior_kind)k, 0, 1.0);
        enum { B = 4 };
        float zb[2 * B * 6];
        for (int i = 0; i < B * 6; i++) {
            zb[i] = (float)(0.2 + 0.6 * fabs(sin(1.3 * i + 0.4)));
            zb[B * 6 + i] = zb[i] + (float)(0.02 * cos(2.1 * i));
        }
        ssvae_train_config cfg;
        ssvae_train_config_default(&cfg);
        ssvae_rng rng;
        ssvae_rng_seed(&rng, 3);
        const ssvae_prior_ops *ops = ssvae_prior_get((ssvae_prior_kind)k);
        ops->init(m.head, &cfg, zb, zb + B * 6, B, m.D, &rng);
        float *p = malloc((size_t)m.cfg.H * m.cfg.W * sizeof *p);
        ssvae_error err;
        CHECK(ssvae_predictive_map(&m, zb, 1, p, &err) == 0, "%s: %s", ops->name, err.msg);
        double sum = 0;
        int finite = 1;
        for (int i = 0; i < m.cfg.H * m.cfg.W; i++) {
            sum += p[i];
            finite &= isfinite(p[i]) && p[i] >= 0;
        }
        CHECK(finite, "%s: a pixel is negative or not finite", ops->name);
        CHECK_CLOSE(sum, 1.0, 1e-5, 0);
        free(p);
        ssvae_model_free(&m);
    }
}

static void test_predictive_linear(void)
{
    ssvae_model m;
    map_model(&m, SSVAE_PRIOR_LINEAR, 0, 1.0);
    int H = m.cfg.H, W = m.cfg.W, D = m.D, k = 2;
    for (int i = 0; i < D * D; i++)
        m.head[i] = (float)(0.9 * sin(1.7 * i + 0.3)); /* any W */
    float z[6] = {0.3f, 0.6f, 0.5f, 0.2f, 0.7f, 0.4f};
    float *p = malloc((size_t)H * W * sizeof *p);
    ssvae_error err;
    CHECK(ssvae_predictive_map(&m, z, k, p, &err) == 0, "%s", err.msg);
    /* log p = a + b x + c y: least squares on the 3 x 3 normal equations */
    double A[3][4] = {{0}}, sum = 0;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            double f[3] = {1, (j + 0.5) / W, (i + 0.5) / H}, lp = log(p[i * W + j]);
            sum += p[i * W + j];
            for (int r = 0; r < 3; r++) {
                for (int c = 0; c < 3; c++)
                    A[r][c] += f[r] * f[c];
                A[r][3] += f[r] * lp;
            }
        }
    for (int c = 0; c < 3; c++) /* Gauss-Jordan, no pivoting needed (SPD) */
        for (int r = 0; r < 3; r++)
            if (r != c) {
                double q = A[r][c] / A[c][c];
                for (int cc = 0; cc < 4; cc++)
                    A[r][cc] -= q * A[c][cc];
            }
    double a = A[0][3] / A[0][0], b = A[1][3] / A[1][1], c = A[2][3] / A[2][2], worst = 0;
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            double r = log(p[i * W + j]) - (a + b * (j + 0.5) / W + c * (i + 0.5) / H);
            worst = fmax(worst, fabs(r));
        }
    CHECK_CLOSE(sum, 1.0, 1e-5, 0);
    CHECK(worst < 1e-4, "log map is a plane: worst residual %g", worst);
    /* and the plane's slopes are (z^T W)_{2k}, (z^T W)_{2k+1} */
    double gx = 0, gy = 0;
    for (int d = 0; d < D; d++) {
        gx += z[d] * m.head[d * D + 2 * k];
        gy += z[d] * m.head[d * D + 2 * k + 1];
    }
    CHECK_CLOSE(b, gx, 1e-4, 1e-4);
    CHECK_CLOSE(c, gy, 1e-4, 1e-4);

    /* bad arguments */
    CHECK(ssvae_predictive_map(&m, z, 3, p, &err) == -1 && one_line(err.msg), "k out of range");
    CHECK(ssvae_predictive_map(&m, z, -1, p, &err) == -1, "negative k");
    float bad[6] = {0.1f, NAN, 0.5f, 0.5f, 0.5f, 0.5f};
    CHECK(ssvae_predictive_map(&m, bad, 0, p, &err) == -1 && one_line(err.msg), "NaN in z");
    ssvae_model_free(&m);
    map_model(&m, SSVAE_PRIOR_GAUSSIAN, 1, 1.0);
    CHECK(ssvae_predictive_map(&m, z, 0, p, &err) == -1 && strstr(err.msg, "supervised"), "%s", err.msg);
    ssvae_model_free(&m);
    free(p);
}

/* ---- a small run folder, as `ssvae demo` writes it --------------------- */

enum { RH = 64, RW = 64, RK = 3, TTR = 40, TTE = 20 };

static void write_npy(const char *run, const char *name, ssvae_dtype dt, int nd, const int64_t *sh,
                      const void *data)
{
    char path[1024];
    ssvae_error err;
    snprintf(path, sizeof path, "%s/%s", run, name);
    if (ssvae_npy_write(path, dt, nd, sh, data, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
}

static void make_run(const char *run)
{
    const char *sub[] = {"", "/data", "/data/train", "/data/test", "/models", "/latents"};
    char path[512];
    for (int i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s%s", run, sub[i]);
        mkdir(path, 0777);
    }
    uint8_t *frames[2];
    float *centres[2];
    int T[2] = {TTR, TTE};
    const char *split[2] = {"train", "test"};
    for (int s = 0; s < 2; s++) {
        ssvae_balls_config bc;
        ssvae_balls_default(&bc);
        bc.frames = T[s]; bc.width = RW; bc.height = RH; bc.nballs = RK; bc.radius = 6; bc.step = 8;
        bc.seed = 7 + (uint64_t)s;
        frames[s] = malloc((size_t)T[s] * RH * RW * 3);
        centres[s] = malloc((size_t)T[s] * RK * 2 * sizeof(float));
        ssvae_error err;
        if (ssvae_balls_generate(&bc, frames[s], centres[s], NULL, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            abort();
        }
        int64_t fs[4] = {T[s], RH, RW, 3}, cs[3] = {T[s], RK, 2};
        snprintf(path, sizeof path, "data/%s/frames.npy", split[s]);
        write_npy(run, path, SSVAE_U8, 4, fs, frames[s]);
        snprintf(path, sizeof path, "data/%s/centres.npy", split[s]);
        write_npy(run, path, SSVAE_F32, 3, cs, centres[s]);
    }
    /* untrained encoders with a prior head set by hand; their latents */
    const char *names[3] = {"gaussian", "linear", "supervised"};
    for (int i = 0; i < 3; i++) {
        ssvae_model_config mc;
        ssvae_model_config_default(&mc);
        mc.H = RH; mc.W = RW; mc.K = RK; mc.F = 4;
        mc.prior = i == 1 ? SSVAE_PRIOR_LINEAR : SSVAE_PRIOR_GAUSSIAN;
        mc.supervised = i == 2;
        ssvae_model m;
        ssvae_error err;
        if (ssvae_model_init(&m, &mc, 3 + (uint64_t)i, &err)) abort();
        if (i == 0) m.head[0] = (float)log(0.05);
        if (i == 1) for (int d = 0; d < m.D; d++) m.head[d * m.D + d] = 2.0f;
        snprintf(path, sizeof path, "%s/models/%s.safetensors", run, names[i]);
        if (ssvae_model_save(&m, path, NULL, 0, &err)) abort();
        for (int s = 0; s < 2; s++) {
            float *z = malloc((size_t)T[s] * m.D * sizeof *z);
            ssvae_model_encode(&m, frames[s], T[s], z);
            int64_t sh[2] = {T[s], m.D};
            snprintf(path, sizeof path, "latents/%s_%s.npy", names[i], split[s]);
            write_npy(run, path, SSVAE_F32, 2, sh, z);
            free(z);
        }
        ssvae_model_free(&m);
    }
    for (int s = 0; s < 2; s++) {
        free(frames[s]);
        free(centres[s]);
    }
    snprintf(path, sizeof path, "%s/results.json", run);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"rows\": ["
               "{\"model\": \"untrained\", \"probe_test_px\": 1.0, \"direct_test_px\": 20.0, \"epoch_loss\": [], \"epoch_elbo\": []},"
               "{\"model\": \"gaussian\", \"probe_test_px\": 0.5, \"direct_test_px\": 1.5, \"epoch_loss\": [2.0, 1.5, 1.0], \"epoch_elbo\": [1.4, 1.9, 2.4]},"
               "{\"model\": \"linear\", \"probe_test_px\": 9.0, \"direct_test_px\": 19.0, \"epoch_loss\": [3.4, 3.4, 3.4], \"epoch_elbo\": [0.0, 0.0, 0.0]},"
               "{\"model\": \"supervised\", \"probe_test_px\": 2.0, \"direct_test_px\": 18.0, \"epoch_loss\": [0.3, 0.2, 0.1], \"epoch_elbo\": [0, 0, 0]}"
               "], \"recipe\": \"sgd lr=0.005 epochs=3 batch=30\", \"chance_test_px\": 22.0}\n");
    fclose(f);
}

/* ---- the figure end to end, and its failures ---------------------------- */

static void test_figure(void)
{
    char run[256], out[256], path[512];
    snprintf(run, sizeof run, "%s/run", dir);
    make_run(run);
    snprintf(out, sizeof out, "%s/figs", dir);
    ssvae_figure_options opt;
    ssvae_figure_options_default(&opt);
    opt.scale = 0.5;
    ssvae_error err;
    int written = -1;
    CHECK(ssvae_figure(run, out, &opt, &written, &err) == 0, "%s", err.msg);
    CHECK(written == 7, "wrote %d files", written);
    /* the sizes the panels are drawn at, times the scale */
    struct { const char *name; int w, h; } want[] = {
        {"panel_a.png", 420, 200}, {"panel_b.png", 420, 200}, {"panel_c.png", 280, 255},
        {"panel_d.png", 280, 255}, {"panel_e.png", 280, 255}, {"curves.png", 840, 160},
        {"figure1.png", 840, 615},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        snprintf(path, sizeof path, "%s/%s", out, want[i].name);
        int w = 0, h = 0;
        CHECK(png_size(path, &w, &h) == 0 && w == want[i].w && h == want[i].h,
              "%s: %d x %d, want %d x %d", want[i].name, w, h, want[i].w, want[i].h);
    }
    int tmps, n = count_files(out, &tmps);
    CHECK(n == 7 && tmps == 0, "%d files, %d temporaries", n, tmps);

    /* default output folder RUN/figures; another ball and frame */
    opt.ball = 2;
    opt.frame = TTE - 2;
    CHECK(ssvae_figure(run, NULL, &opt, NULL, &err) == 0, "%s", err.msg);
    snprintf(path, sizeof path, "%s/figures/figure1.png", run);
    CHECK(exists(path), "%s", path);

    /* pooled runs: the same folder twice gives mean and (zero) spread */
    const char *pool[1] = {run};
    opt.pool = pool;
    opt.npool = 1;
    opt.frame = -1;
    CHECK(ssvae_figure(run, out, &opt, NULL, &err) == 0, "pooled: %s", err.msg);
    opt.pool = NULL;
    opt.npool = 0;

    /* failures leave the earlier files alone and write nothing */
    struct stat before, after;
    snprintf(path, sizeof path, "%s/figure1.png", out);
    stat(path, &before);
    char fresh[256];
    snprintf(fresh, sizeof fresh, "%s/fresh", dir);

    opt.frame = TTE - 1; /* the last frame has no next one */
    CHECK(ssvae_figure(run, fresh, &opt, NULL, &err) == -1 && one_line(err.msg) && strstr(err.msg, "frame"),
          "frame out of range: %s", err.msg);
    CHECK(!exists(fresh), "no output folder after a bad frame");
    CHECK(ssvae_figure(run, out, &opt, NULL, &err) == -1, "bad frame into an existing folder");
    opt.frame = -1;
    opt.ball = RK;
    CHECK(ssvae_figure(run, fresh, &opt, NULL, &err) == -1 && one_line(err.msg) && strstr(err.msg, "ball"),
          "ball out of range: %s", err.msg);
    opt.ball = 0;
    opt.scale = 100;
    CHECK(ssvae_figure(run, fresh, &opt, NULL, &err) == -1 && one_line(err.msg), "scale out of range");
    opt.scale = 0.5;

    snprintf(path, sizeof path, "%s/nothing-here", dir);
    CHECK(ssvae_figure(path, fresh, &opt, NULL, &err) == -1 && one_line(err.msg) && strstr(err.msg, "no such"),
          "missing run folder: %s", err.msg);

    /* a run folder without trained models */
    char half[256];
    snprintf(half, sizeof half, "%s/half", dir);
    make_run(half);
    snprintf(path, sizeof path, "%s/models/linear.safetensors", half);
    remove(path);
    CHECK(ssvae_figure(half, fresh, &opt, NULL, &err) == -1 && one_line(err.msg) && strstr(err.msg, "linear"),
          "no trained model: %s", err.msg);
    CHECK(!exists(fresh), "nothing written without a model");

    /* an output folder that cannot be made: its parent is a file */
    char blocked[256];
    snprintf(path, sizeof path, "%s/a-file", dir);
    FILE *f = fopen(path, "w");
    fclose(f);
    snprintf(blocked, sizeof blocked, "%s/a-file/figs", dir);
    CHECK(ssvae_figure(run, blocked, &opt, NULL, &err) == -1 && one_line(err.msg), "unwritable out: %s", err.msg);
    count_files(dir, &tmps);
    CHECK(tmps == 0, "no temporaries in %s", dir);

    snprintf(path, sizeof path, "%s/figure1.png", out);
    stat(path, &after);
    CHECK(before.st_mtime == after.st_mtime && before.st_size == after.st_size, "earlier figure untouched");
    n = count_files(out, &tmps);
    CHECK(n == 7 && tmps == 0, "still 7 files and no temporaries (%d, %d)", n, tmps);
}

/* The program beside this test (BUILD/ssvae): exit statuses and one-line
 * errors of `ssvae figure`. */
static void test_cli(const char *argv0)
{
    char prog[512], cmd[4096], errf[256];
    snprintf(prog, sizeof prog, "%s", argv0);
    char *slash = strrchr(prog, '/');
    if (!slash)
        return;
    strcpy(slash, "/../ssvae");
    if (access(prog, X_OK)) {
        printf("test_figure: %s not built, CLI checks skipped\n", prog);
        return;
    }
    snprintf(errf, sizeof errf, "%s/stderr.txt", dir);
    char supp[256];
    snprintf(supp, sizeof supp, "%s/lsan.supp", dir);
    FILE *sf = fopen(supp, "w");
    fputs(LSAN_SUPPRESSIONS, sf);
    fclose(sf);
    struct { const char *args; int status; int lines; } cases[] = {
        {"--help", 0, 0},
        {"", 2, 1},                            /* --run missing */
        {"--run %s/run --frame x", 2, 1},      /* not a number */
        {"--run %s/nothing-here", 1, 1},
        {"--run %s/run --frame 19", 1, 1},     /* no next frame */
        {"--run %s/run --out %s/a-file/x", 1, 1},
        {"--run %s/run --out %s/cli --scale 0.3 --quiet", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char args[1024];
        snprintf(args, sizeof args, cases[i].args, dir, dir);
        snprintf(cmd, sizeof cmd, "LSAN_OPTIONS=suppressions=%s:print_suppressions=0 %s figure %s >/dev/null 2>%s", supp, prog, args,
                 errf);
        int rc = system(cmd);
        int status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
        FILE *f = fopen(errf, "r");
        int lines = 0, ch;
        while (f && (ch = fgetc(f)) != EOF)
            lines += ch == '\n';
        if (f)
            fclose(f);
        CHECK(status == cases[i].status && lines == cases[i].lines, "ssvae figure %s: status %d, %d stderr lines",
              args, status, lines);
    }
    snprintf(cmd, sizeof cmd, "%s/cli", dir);
    CHECK(count_files(cmd, NULL) == 7, "CLI wrote 7 files");
}

/* ---- the pictures of ssvae compare -------------------------------------- */

static void test_compare_pictures(void)
{
    ssvae_model m[SSVAE_PRIOR_COUNT + 1];
    ssvae_map_entry e[SSVAE_PRIOR_COUNT + 1];
    float z[6] = {0.2f, 0.8f, 0.55f, 0.45f, 0.9f, 0.1f};
    int H = 48, W = 64, w, h, tmps;
    uint8_t *frame = calloc((size_t)H * W * 3, 1);
    float now[2] = {35, 21}, next[2] = {40, 25};
    for (int k = 0; k < SSVAE_PRIOR_COUNT; k++) { /* every prior of the table */
        map_model(&m[k], (ssvae_prior_kind)k, 0, 1.0);
        e[k] = (ssvae_map_entry){ssvae_prior_get(k)->name, &m[k], z, 1};
    }
    ssvae_error err;
    const char *maps = in_dir("cmp/maps.png");
    mkdir(in_dir("cmp"), 0777);
    CHECK(ssvae_figure_maps(maps, e, SSVAE_PRIOR_COUNT, frame, 3, H, W, now, next, 1.0, &err) == 0, "maps: %s",
          err.msg);
    int cols = SSVAE_PRIOR_COUNT < 4 ? SSVAE_PRIOR_COUNT : 4, rows = (SSVAE_PRIOR_COUNT + 3) / 4;
    CHECK(png_size(maps, &w, &h) == 0 && w == 340 * cols && h == (int)lround(rows * (300.0 * H / W + 90) + 50),
          "maps.png: a valid RGB PNG of %d x %d panels (%d x %d)", cols, rows, w, h);
    /* a supervised model has no predictive map: refused, nothing written */
    map_model(&m[SSVAE_PRIOR_COUNT], SSVAE_PRIOR_GAUSSIAN, 1, 1.0);
    e[SSVAE_PRIOR_COUNT] = (ssvae_map_entry){"supervised", &m[SSVAE_PRIOR_COUNT], z, 0};
    const char *bad = in_dir("cmp/bad.png");
    CHECK(ssvae_figure_maps(bad, e, SSVAE_PRIOR_COUNT + 1, frame, 3, H, W, now, next, 1.0, &err) == -1 &&
              one_line(err.msg) && access(bad, F_OK) != 0,
          "maps with a supervised model: refused (%s), no file", err.msg);
    for (int k = 0; k <= SSVAE_PRIOR_COUNT; k++)
        ssvae_model_free(&m[k]);

    const char *groups[3] = {"untrained", "gaussian", "linear"}, *series[2] = {"probe", "direct"};
    double v[6] = {1, 0.3, 22, 91, 89, 90}, sd[6] = {0.1, 0, 3, 1, 1, 2};
    const char *bars = in_dir("cmp/errors.png");
    CHECK(ssvae_figure_bars(bars, "errors", "px", groups, 3, series, 2, v, sd, 91, "chance", &err) == 0 &&
              png_size(bars, &w, &h) == 0 && w == 560 && h == 480,
          "bars: a valid 560 x 480 PNG (%s)", err.msg);
    v[4] = NAN;
    CHECK(ssvae_figure_bars(bad, "errors", "px", groups, 3, series, 2, v, NULL, 0, NULL, &err) == -1 &&
              strstr(err.msg, "gaussian") && one_line(err.msg) && access(bad, F_OK) != 0,
          "bars with a NaN: refused naming the group (%s), no file", err.msg);
    count_files(in_dir("cmp"), &tmps);
    CHECK(tmps == 0, "no temporaries left");
    free(frame);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (make_scratch("/tmp/ssvae_figure_XXXXXX"))
        return 1;
    test_png();
    test_predictive_gaussian();
    test_predictive_linear();
    test_predictive_every_prior();
    test_figure();
    test_compare_pictures();
    test_cli(argv[0]);
    remove_tree(dir);
    return check_report("test_figure");
}
