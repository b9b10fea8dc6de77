/*
 * show.c — pictures of what a model learned, on any video (`ssvae show`,
 * ssvae.show in Python), drawn through the same layer as Figure 1
 * (plot.c: frames painted pixel for pixel, PLplot on top):
 *   maps.png        a few frames, each of the K maps overlaid in its own
 *                   colour, its centre of mass (the latents) marked;
 *   tracks.png      the latents of every frame, one track per map, on a
 *                   still frame;
 *   predictive.png  a prior's predictive map P(z'|z) of each map's next
 *                   position for the same frames, and where the encoder
 *                   reads the map in the next frame;
 *   decoded.png     with true centres: the linear probe fitted on this
 *                   video's latents against the true positions.
 * No ground truth is needed except for decoded.png. Any frame size, any K,
 * any channel count: one or two channels are shown as grey, three or more
 * as the first three (RGB).
 *
 * T frames of H x W x C bytes, K maps, D = 2K latents, Kc true objects.
 * As in figure.c: everything is drawn in memory, then written as
 * temporaries renamed at the end.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "figure_files.h"
#include "io/png.h"
#include "plot.h"
#include "ssvae.h"

#define PATHLEN 4200

static const plot_rgb BLACK = {0, 0, 0}, WHITE = {255, 255, 255};

/* One colour a map, far apart from each other (Kelly-like). */
static const plot_rgb map_col[SSVAE_MAXBALLS] = {
    {230, 25, 75}, {60, 180, 75}, {0, 130, 200}, {255, 225, 25},
    {145, 30, 180}, {70, 240, 240}, {245, 130, 48}, {240, 50, 230},
};

void ssvae_show_options_default(ssvae_show_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->nframes = 4;
    opt->frame = -1;
    opt->scale = 1.0;
}

/* What every picture reads. */
typedef struct show_input {
    ssvae_model *m;
    const uint8_t *video;      /* (T, H, W, C) */
    int T, H, W, C, K, D;
    float *z;                  /* (T, D) latents, owned */
    const float *centres;      /* (T, Kc, 2) px or NULL */
    int Kc;
    int n, t[16];              /* the drawn frames */
    double dw, dh;             /* a frame's size on the canvas */
    double s;                  /* scale */
} show_input;

/* Frame t as RGB (H, W, 3), each byte times dim. */
static void frame_rgb(uint8_t *rgb, const show_input *in, int t, double dim)
{
    size_t hw = (size_t)in->H * in->W;
    const uint8_t *f = in->video + (size_t)t * hw * in->C;
    for (size_t p = 0; p < hw; p++)
        for (int ch = 0; ch < 3; ch++) {
            uint8_t v = f[p * in->C + (in->C >= 3 ? ch : 0)];
            rgb[3 * p + ch] = (uint8_t)lround(v * dim);
        }
}

/* Paints colour col over rgb with opacity a[p] (in [0, 1]) a pixel. */
static void overlay(uint8_t *rgb, const float *a, size_t hw, plot_rgb col)
{
    const uint8_t c[3] = {col.r, col.g, col.b};
    for (size_t p = 0; p < hw; p++)
        for (int ch = 0; ch < 3; ch++)
            rgb[3 * p + ch] = (uint8_t)lround((1 - a[p]) * rgb[3 * p + ch] + a[p] * c[ch]);
}

/* Rescales v (n) to [0, 1] by its range, in place; returns min and max. */
static void stretch(float *v, size_t n, double *lo, double *hi)
{
    double mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        mn = fmin(mn, v[i]);
        mx = fmax(mx, v[i]);
    }
    for (size_t i = 0; i < n; i++)
        v[i] = mx > mn ? (float)((v[i] - mn) / (mx - mn)) : 0.0f;
    *lo = mn, *hi = mx;
}

/* A legend row of K coloured squares and names along the bottom. */
static void legend(const plot_canvas *c, const show_input *in, double y, char names[][64])
{
    double s = in->s, x = 20 * s;
    plot_frame(c, (plot_rect){0, 0, c->w, c->h}, 0, c->w, c->h, 0);
    for (int k = 0; k < in->K; k++) {
        plot_color(map_col[k]);
        plot_fill_rect(x, y - 6 * s, x + 12 * s, y + 6 * s);
        plot_color(BLACK);
        plot_text(x + 18 * s, y, 0.0, 0.8, names[k]);
        x += (44 + 8.5 * strlen(names[k])) * s;
        if (x > c->w - 150 * s && k + 1 < in->K) {
            x = 20 * s;
            y += 20 * s;
        }
    }
}

/* The grid of maps.png and predictive.png: a row per drawn frame, a
 * column per map (maps.png has the plain frame first). */
static int grid_canvas(plot_canvas *c, const show_input *in, int cols)
{
    double gap = 22 * in->s;
    return plot_canvas_init(c, (int)lround(fmax(cols * (in->dw + gap) + gap, 700 * in->s)),
                            (int)lround(70 * in->s + in->n * (in->dh + gap + 8 * in->s) + 60 * in->s));
}

static plot_rect grid_rect(const show_input *in, int row, int col)
{
    double gap = 22 * in->s;
    return (plot_rect){gap + col * (in->dw + gap), 70 * in->s + row * (in->dh + gap + 8 * in->s),
                       in->dw, in->dh};
}

static double grid_bottom(const show_input *in)
{
    return grid_rect(in, in->n - 1, 0).y + in->dh + 30 * in->s;
}

/* Map k's centre of mass in frame t, in pixels. */
static void com_px(const show_input *in, int t, int k, double *x, double *y)
{
    *x = in->z[(size_t)t * in->D + 2 * k] * in->W;
    *y = in->z[(size_t)t * in->D + 2 * k + 1] * in->H;
}

static void mark(const show_input *in, double x, double y, plot_rgb col)
{
    double r = 7.0 * in->W / in->dw; /* 7 canvas pixels, whatever the frame size */
    plot_color(BLACK);
    plot_width(3.2 * in->s);
    plot_cross(x, y, r);
    plot_color(col);
    plot_width(1.6 * in->s);
    plot_cross(x, y, r);
}

/* ---- maps.png ------------------------------------------------------------ */

static int draw_maps(plot_canvas *c, show_input *in, ssvae_error *err)
{
    size_t hw = (size_t)in->H * in->W;
    float *maps = malloc((size_t)in->K * hw * sizeof *maps);
    uint8_t *rgb = malloc(hw * 3);
    double glo[SSVAE_MAXBALLS], ghi[SSVAE_MAXBALLS];
    for (int k = 0; k < in->K; k++)
        glo[k] = INFINITY, ghi[k] = -INFINITY;
    if (!maps || !rgb || grid_canvas(c, in, in->K + 1)) {
        free(maps), free(rgb);
        return ssvae_fail(err, "out of memory for maps.png");
    }
    for (int i = 0; i < in->n; i++) {
        ssvae_model_maps(in->m, in->video + (size_t)in->t[i] * hw * in->C, maps, NULL);
        frame_rgb(rgb, in, in->t[i], 1.0);
        plot_canvas_image(c, grid_rect(in, i, 0), rgb, in->W, in->H);
        for (int k = 0; k < in->K; k++) {
            float *a = maps + (size_t)k * hw;
            double lo, hi;
            stretch(a, hw, &lo, &hi);
            glo[k] = fmin(glo[k], lo), ghi[k] = fmax(ghi[k], hi);
            for (size_t p = 0; p < hw; p++)
                a[p] *= 0.85f;
            frame_rgb(rgb, in, in->t[i], 0.5);
            overlay(rgb, a, hw, map_col[k]);
            plot_canvas_image(c, grid_rect(in, i, k + 1), rgb, in->W, in->H);
        }
    }
    free(maps), free(rgb);
    if (plot_begin(c, in->s))
        return ssvae_fail(err, "maps.png: %s", plot_last_error());
    for (int i = 0; i < in->n; i++) {
        for (int col = 0; col <= in->K; col++) {
            char title[48];
            if (col == 0) snprintf(title, sizeof title, "frame %d", in->t[i]);
            else snprintf(title, sizeof title, "map %d", col - 1);
            plot_frame(c, grid_rect(in, i, col), 0, in->W, in->H, 0);
            plot_box(title);
            for (int k = 0; k < in->K; k++) {
                if (col && k != col - 1)
                    continue;
                double x, y;
                com_px(in, in->t[i], k, &x, &y);
                mark(in, x, y, map_col[k]);
            }
        }
    }
    char names[SSVAE_MAXBALLS][64], text[200];
    for (int k = 0; k < in->K; k++)
        snprintf(names[k], sizeof names[k], "map %d: s in [%.3g, %.3g]", k, glo[k], ghi[k]);
    legend(c, in, grid_bottom(in), names);
    const char *head = in->m->cfg.supervised ? "supervised" : ssvae_prior_get(in->m->cfg.prior)->name;
    snprintf(text, sizeof text, "What each map sees: %s, %d maps", head, in->K);
    plot_color(BLACK);
    plot_canvas_text(c, 20 * in->s, 22 * in->s, 0.0, 0.95, text);
    plot_canvas_text(c, 20 * in->s, 42 * in->s, 0.0, 0.8,
                     "each map stretched from its min to its max in that frame;  +: its centre of mass (the latents)");
    if (plot_end())
        return ssvae_fail(err, "maps.png: %s", plot_last_error());
    return 0;
}

/* ---- tracks.png ------------------------------------------------------------ */

static int draw_tracks(plot_canvas *c, show_input *in, ssvae_error *err)
{
    double s = in->s, side = 460 * s;
    double w = in->W >= in->H ? side : side * in->W / in->H, h = in->W >= in->H ? side * in->H / in->W : side;
    plot_rect r = {80 * s, 60 * s, w, h};
    size_t hw = (size_t)in->H * in->W;
    uint8_t *rgb = malloc(hw * 3);
    double *xs = malloc((size_t)in->T * sizeof *xs), *ys = malloc((size_t)in->T * sizeof *ys);
    if (!rgb || !xs || !ys || plot_canvas_init(c, (int)lround(fmax(r.x + w + 40 * s, 560 * s)),
                                               (int)lround(r.y + h + 110 * s))) {
        free(rgb), free(xs), free(ys);
        return ssvae_fail(err, "out of memory for tracks.png");
    }
    frame_rgb(rgb, in, in->t[0], 0.45);
    plot_canvas_image(c, r, rgb, in->W, in->H);
    free(rgb);
    if (plot_begin(c, s)) {
        free(xs), free(ys);
        return ssvae_fail(err, "tracks.png: %s", plot_last_error());
    }
    plot_frame(c, r, 0, in->W, in->H, 0);
    for (int k = 0; k < in->K; k++) {
        for (int t = 0; t < in->T; t++)
            com_px(in, t, k, &xs[t], &ys[t]);
        plot_color(map_col[k]);
        plot_width(1.4 * s);
        plot_lines(in->T, xs, ys);
        plot_circle(xs[0], ys[0], 4.0 * in->W / w, 1);
        mark(in, xs[in->T - 1], ys[in->T - 1], map_col[k]);
    }
    free(xs), free(ys);
    plot_width(1.0);
    plot_axes(NULL, NULL, "x (px)", "y (px)", "");
    char names[SSVAE_MAXBALLS][64], text[200];
    for (int k = 0; k < in->K; k++)
        snprintf(names[k], sizeof names[k], "map %d", k);
    legend(c, in, r.y + h + 60 * s, names);
    snprintf(text, sizeof text, "Each map's centre of mass over all %d frames", in->T);
    plot_color(BLACK);
    plot_canvas_text(c, 20 * s, 20 * s, 0.0, 0.95, text);
    snprintf(text, sizeof text, "drawn on frame %d;  dot: frame 0;  +: frame %d", in->t[0], in->T - 1);
    plot_canvas_text(c, 20 * s, 38 * s, 0.0, 0.8, text);
    if (plot_end())
        return ssvae_fail(err, "tracks.png: %s", plot_last_error());
    return 0;
}

/* ---- predictive.png ---------------------------------------------------------- */

static int draw_predictive(plot_canvas *c, show_input *in, ssvae_error *err)
{
    size_t hw = (size_t)in->H * in->W;
    float *p = malloc(hw * sizeof *p);
    uint8_t *rgb = malloc(hw * 3);
    if (!p || !rgb || grid_canvas(c, in, in->K)) {
        free(p), free(rgb);
        return ssvae_fail(err, "out of memory for predictive.png");
    }
    for (int i = 0; i < in->n; i++) {
        for (int k = 0; k < in->K; k++) {
            if (ssvae_predictive_map(in->m, in->z + (size_t)in->t[i] * in->D, k, p, err)) {
                free(p), free(rgb);
                return -1;
            }
            double lo, hi;
            stretch(p, hw, &lo, &hi);
            for (size_t q = 0; q < hw; q++) /* as figure.c: opaque where P is high */
                p[q] = 0.9f * sqrtf(p[q]);
            frame_rgb(rgb, in, in->t[i], 0.4);
            overlay(rgb, p, hw, map_col[k]);
            plot_canvas_image(c, grid_rect(in, i, k), rgb, in->W, in->H);
        }
    }
    free(p), free(rgb);
    if (plot_begin(c, in->s))
        return ssvae_fail(err, "predictive.png: %s", plot_last_error());
    for (int i = 0; i < in->n; i++) {
        int t = in->t[i];
        for (int k = 0; k < in->K; k++) {
            char title[64];
            if (t + 1 < in->T) snprintf(title, sizeof title, "map %d, frame %d -> %d", k, t, t + 1);
            else snprintf(title, sizeof title, "map %d, frame %d (last)", k, t);
            plot_frame(c, grid_rect(in, i, k), 0, in->W, in->H, 0);
            plot_box(title);
            double x, y;
            com_px(in, t, k, &x, &y);
            plot_color(WHITE);
            plot_width(1.4 * in->s);
            plot_circle(x, y, 5.0 * in->W / in->dw, 0);
            if (t + 1 < in->T) {
                com_px(in, t + 1, k, &x, &y);
                mark(in, x, y, map_col[k]);
            }
        }
    }
    char text[240], learned[64];
    const ssvae_prior_ops *ops = ssvae_prior_get(in->m->cfg.prior);
    ops->describe(learned, sizeof learned, in->m->head, in->D);
    snprintf(text, sizeof text, "%s prior (%s): P(z'|z) of each map's next position", ops->name, learned);
    plot_color(BLACK);
    plot_canvas_text(c, 20 * in->s, 22 * in->s, 0.0, 0.95, text);
    plot_canvas_text(c, 20 * in->s, 42 * in->s, 0.0, 0.8,
                     "scaled to its maximum;  ring: the map's centre of mass now;  +: where the encoder reads it next");
    if (plot_end())
        return ssvae_fail(err, "predictive.png: %s", plot_last_error());
    return 0;
}

/* ---- decoded.png ---------------------------------------------------------------- */

static int draw_decoded(plot_canvas *c, show_input *in, ssvae_error *err)
{
    int T = in->T, Kc = in->Kc, P = 2 * Kc;
    if (T < in->D + 1)
        return ssvae_fail(err, "decoded.png: %d frames are too few to fit the linear probe from %d latents "
                          "(needs %d)", T, in->D, in->D + 1);
    float *y = malloc((size_t)T * P * sizeof *y), *yhat = malloc((size_t)T * P * sizeof *yhat);
    ssvae_probe pr = {0};
    if (!y || !yhat) {
        free(y), free(yhat);
        return ssvae_fail(err, "out of memory for decoded.png");
    }
    for (int i = 0; i < T * Kc; i++) { /* normalised, as evaluate.c */
        y[2 * i] = in->centres[2 * i] / in->W;
        y[2 * i + 1] = in->centres[2 * i + 1] / in->H;
    }
    if (ssvae_probe_fit(&pr, in->z, y, T, in->D, P, err)) {
        free(y), free(yhat);
        return -1;
    }
    ssvae_probe_apply(&pr, in->z, T, yhat);
    ssvae_probe_free(&pr);
    double probe_px = ssvae_mean_distance(yhat, y, T, Kc, in->W, in->H);
    double direct_px = NAN;
    if (Kc == in->K) {
        int perm[SSVAE_MAXBALLS];
        direct_px = ssvae_direct_error(in->z, in->centres, T, in->z, in->centres, T, in->K, in->W, in->H, perm);
    }
    free(y);
    double s = in->s, side = 460 * s;
    double w = in->W >= in->H ? side : side * in->W / in->H, h = in->W >= in->H ? side * in->H / in->W : side;
    plot_rect r = {80 * s, 84 * s, w, h};
    size_t hw = (size_t)in->H * in->W;
    uint8_t *rgb = malloc(hw * 3);
    if (!rgb || plot_canvas_init(c, (int)lround(fmax(r.x + w + 40 * s, 640 * s)), (int)lround(r.y + h + 90 * s))) {
        free(rgb), free(yhat);
        return ssvae_fail(err, "out of memory for decoded.png");
    }
    frame_rgb(rgb, in, in->t[0], 0.3);
    plot_canvas_image(c, r, rgb, in->W, in->H);
    free(rgb);
    if (plot_begin(c, s)) {
        free(yhat);
        return ssvae_fail(err, "decoded.png: %s", plot_last_error());
    }
    plot_frame(c, r, 0, in->W, in->H, 0);
    double big = 3.0 * in->W / w, small = 1.5 * in->W / w;
    for (int b = 0; b < Kc; b++) { /* true centres light and large, decoded dark and small */
        plot_rgb col = map_col[b % SSVAE_MAXBALLS];
        plot_color((plot_rgb){(uint8_t)((col.r + 2 * 255) / 3), (uint8_t)((col.g + 2 * 255) / 3),
                              (uint8_t)((col.b + 2 * 255) / 3)});
        for (int t = 0; t < T; t++)
            plot_circle(in->centres[(t * Kc + b) * 2], in->centres[(t * Kc + b) * 2 + 1], big, 1);
    }
    for (int b = 0; b < Kc; b++) {
        plot_color(map_col[b % SSVAE_MAXBALLS]);
        for (int t = 0; t < T; t++)
            plot_circle(yhat[(t * Kc + b) * 2] * in->W, yhat[(t * Kc + b) * 2 + 1] * in->H, small, 1);
    }
    free(yhat);
    plot_axes(NULL, NULL, "x (px)", "y (px)", "");
    char text[240];
    snprintf(text, sizeof text, "Linear probe, %d latents to %d true centres: %.2f px", in->D, Kc, probe_px);
    plot_color(BLACK);
    plot_canvas_text(c, 20 * s, 24 * s, 0.0, 0.95, text);
    if (isnan(direct_px))
        snprintf(text, sizeof text, "fitted and scored on this video (optimistic)");
    else
        snprintf(text, sizeof text, "maps read directly as positions: %.2f px; both on this video (optimistic)",
                 direct_px);
    plot_canvas_text(c, 20 * s, 44 * s, 0.0, 0.8, text);
    plot_canvas_text(c, 20 * s, 62 * s, 0.0, 0.8, "light: true centres;  dark: decoded");
    if (plot_end())
        return ssvae_fail(err, "decoded.png: %s", plot_last_error());
    return 0;
}

/* ---- the pictures ---------------------------------------------------------------- */

enum { S_MAPS, S_TRACKS, S_PRED, S_DECODED, NSHOW };
static const char *const show_names[NSHOW] = {"maps.png", "tracks.png", "predictive.png", "decoded.png"};

int ssvae_show(ssvae_model *m, const uint8_t *video, int T, const float *centres, int Kc,
               const char *out_dir, const ssvae_show_options *opt, int *written, ssvae_error *err)
{
    ssvae_show_options def;
    if (!opt) {
        ssvae_show_options_default(&def);
        opt = &def;
    }
    if (written)
        *written = 0;
    if (T < 1)
        return ssvae_fail(err, "the video has no frames");
    if (opt->nframes < 1 || opt->nframes > 16)
        return ssvae_fail(err, "frames to draw: %d is out of range [1, 16]", opt->nframes);
    if (opt->frame < -1 || opt->frame >= T)
        return ssvae_fail(err, "frame %d is out of range [0, %d]", opt->frame, T - 1);
    if (!(opt->scale >= 0.25 && opt->scale <= 4))
        return ssvae_fail(err, "scale %g is out of range [0.25, 4]", opt->scale);
    if (centres && (Kc < 1 || Kc > SSVAE_MAXBALLS))
        return ssvae_fail(err, "centres: %d objects is out of range [1, %d]", Kc, SSVAE_MAXBALLS);
    for (size_t i = 0; centres && i < (size_t)T * Kc * 2; i++)
        if (!isfinite(centres[i]))
            return ssvae_fail(err, "centres: value %zu is not finite", i);
    show_input in = {m, video, T, m->cfg.H, m->cfg.W, m->cfg.C, m->cfg.K, m->D, NULL, centres,
                     centres ? Kc : 0, 0, {0}, 0, 0, opt->scale};
    in.n = opt->nframes < T ? opt->nframes : T;
    if (opt->frame >= 0) {
        if (in.n > T - opt->frame)
            in.n = T - opt->frame;
        for (int i = 0; i < in.n; i++)
            in.t[i] = opt->frame + i;
    } else {
        for (int i = 0; i < in.n; i++) /* spread evenly, first and last frames included */
            in.t[i] = in.n > 1 ? (int)lround((double)i * (T - 1) / (in.n - 1)) : 0;
    }
    /* a frame is drawn 200 px on its longer side */
    double side = 200 * opt->scale;
    in.dw = in.W >= in.H ? side : side * in.W / in.H;
    in.dh = in.W >= in.H ? side * in.H / in.W : side;
    if (strlen(out_dir) + 32 >= PATHLEN)
        return ssvae_fail(err, "%s: path too long", out_dir);
    plot_canvas pic[NSHOW];
    memset(pic, 0, sizeof pic);
    int want[NSHOW] = {1, 1, !m->cfg.supervised, centres != NULL};
    int rc = -1;
    in.z = malloc((size_t)T * in.D * sizeof *in.z);
    if (!in.z)
        return ssvae_fail(err, "out of memory encoding %d frames", T);
    ssvae_model_encode(m, video, T, in.z);
    if (draw_maps(&pic[S_MAPS], &in, err) || draw_tracks(&pic[S_TRACKS], &in, err) ||
        (want[S_PRED] && draw_predictive(&pic[S_PRED], &in, err)) ||
        (want[S_DECODED] && draw_decoded(&pic[S_DECODED], &in, err)))
        goto done;
    const char *names[NSHOW];
    for (int i = 0; i < NSHOW; i++)
        names[i] = want[i] ? show_names[i] : NULL;
    rc = figure_write_set(out_dir, pic, names, NSHOW, written, err);
done:
    for (int i = 0; i < NSHOW; i++)
        plot_canvas_free(&pic[i]);
    free(in.z);
    return rc;
}
