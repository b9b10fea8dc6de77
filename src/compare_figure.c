/*
 * compare_figure.c — the pictures of `ssvae compare`: Fig. 1D/E for many
 * models side by side (each one's predictive map P(z'|z) for the same
 * held-out frame, predictive.c), and a grouped bar chart of the decoding
 * errors. Each is drawn in memory and written as one PNG through a
 * temporary renamed into place, as figure.c does for Figure 1.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/png.h"
#include "plot.h"
#include "ssvae.h"

static const plot_rgb BLACK = {0, 0, 0}, WHITE = {255, 255, 255}, GREY = {120, 120, 120};
static const plot_rgb NEXT_COL = {0, 230, 255};
static const plot_rgb SERIES_COL[4] = {{70, 120, 180}, {235, 145, 40}, {0, 140, 130}, {130, 80, 170}};

#define MAPS_PER_ROW 4

/* The frame (H, W, C) dimmed to a third under the map p (H, W) in the
 * colour map, opaque where p is near its maximum: rgb (H, W, 3). */
static void overlay(uint8_t *rgb, const uint8_t *frame, int C, const float *p, int H, int W)
{
    double pmax = 0;
    for (int i = 0; i < H * W; i++)
        if (p[i] > pmax)
            pmax = p[i];
    for (int i = 0; i < H * W; i++) {
        double v = pmax > 0 ? p[i] / pmax : 0, a = sqrt(v);
        plot_rgb hc = plot_colormap(v);
        uint8_t hv[3] = {hc.r, hc.g, hc.b};
        for (int ch = 0; ch < 3; ch++) {
            uint8_t f = frame[(size_t)i * C + (C >= 3 ? ch : 0)];
            rgb[3 * i + ch] = (uint8_t)lround((1 - a) * f * 0.33 + a * hv[ch]);
        }
    }
}

int ssvae_figure_maps(const char *path, const ssvae_map_entry *e, int n, const uint8_t *frame,
                      int C, int H, int W, const float *now, const float *next, double scale,
                      ssvae_error *err)
{
    if (n < 1 || n > 64)
        return ssvae_fail(err, "%s: %d maps to draw (1 to 64)", path, n);
    if (!(scale >= 0.25 && scale <= 4))
        return ssvae_fail(err, "scale %g is out of range [0.25, 4]", scale);
    double s = scale;
    int cols = n < MAPS_PER_ROW ? n : MAPS_PER_ROW, rows = (n + cols - 1) / cols;
    double side = 300 * s, pw = side + 40 * s, ph = side * H / W + 90 * s;
    plot_canvas c = {0};
    float *p = malloc((size_t)H * W * sizeof *p);
    uint8_t *pic = malloc((size_t)H * W * 3);
    int rc = -1;
    if (!p || !pic || plot_canvas_init(&c, (int)lround(cols * pw), (int)lround(rows * ph + 50 * s))) {
        ssvae_fail(err, "%s: out of memory", path);
        goto done;
    }
    /* The pictures first: PLplot owns the pixels once it has begun. */
    for (int i = 0; i < n; i++) {
        if (ssvae_predictive_map(e[i].model, e[i].z, e[i].map, p, err))
            goto done;
        overlay(pic, frame, C, p, H, W);
        plot_rect r = {(i % cols) * pw + 20 * s, 50 * s + (i / cols) * ph + 50 * s, side, side * H / W};
        plot_canvas_image(&c, r, pic, W, H);
    }
    if (plot_begin(&c, s)) {
        ssvae_fail(err, "%s: %s", path, plot_last_error());
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const ssvae_model *m = e[i].model;
        int k = e[i].map;
        plot_rect r = {(i % cols) * pw + 20 * s, 50 * s + (i / cols) * ph + 50 * s, side, side * H / W};
        plot_frame(&c, r, 0, W, H, 0);
        plot_color(WHITE);
        plot_width(1.6 * s);
        plot_circle(now[0], now[1], 16.0 * W / 256.0, 0);
        plot_circle(e[i].z[2 * k] * W, e[i].z[2 * k + 1] * H, 5.0 * W / 256.0, 0);
        plot_color(NEXT_COL);
        plot_width(2.2 * s);
        plot_cross(next[0], next[1], 7.0 * W / 256.0);
        plot_width(1.0);
        plot_box("");
        char learned[64], text[160];
        ssvae_prior_get(m->cfg.prior)->describe(learned, sizeof learned, m->head, m->D);
        plot_color(BLACK);
        snprintf(text, sizeof text, "%s", e[i].name);
        plot_canvas_text(&c, r.x + r.w / 2, r.y - 28 * s, 0.5, 1.0, text);
        snprintf(text, sizeof text, "map %d, %s", k, learned);
        plot_canvas_text(&c, r.x + r.w / 2, r.y - 10 * s, 0.5, 0.75, text);
    }
    plot_color(BLACK);
    plot_canvas_text(&c, c.w / 2.0, 22 * s, 0.5, 1.05,
                     "P(z'|z) ∝ f(z, z') over the image, one held-out frame, every prior");
    plot_canvas_text(&c, c.w / 2.0, 42 * s, 0.5, 0.8,
                     "large circle: the ball now;  cyan cross: where it is next;  small ring: the map now");
    if (plot_end()) {
        ssvae_fail(err, "%s: %s", path, plot_last_error());
        goto done;
    }
    rc = ssvae_png_write(path, c.rgba, c.w, c.h, 4, err);
done:
    free(p);
    free(pic);
    plot_canvas_free(&c);
    return rc;
}

int ssvae_figure_bars(const char *path, const char *title, const char *ylabel,
                      const char *const *groups, int n, const char *const *series, int nseries,
                      const double *value, const double *sd, double line, const char *line_label,
                      ssvae_error *err)
{
    if (n < 1 || n > 64 || nseries < 1 || nseries > 4)
        return ssvae_fail(err, "%s: %d groups of %d bars (1 to 64 groups of 1 to 4)", path, n, nseries);
    for (int i = 0; i < n * nseries; i++)
        if (!isfinite(value[i]) || (sd && !isfinite(sd[i])))
            return ssvae_fail(err, "%s: bar %d of group '%s' is not a finite number", path, i / n, groups[i % n]);
    double ymax = line > 0 && isfinite(line) ? line : 0;
    for (int i = 0; i < n * nseries; i++) {
        double top = value[i] + (sd ? sd[i] : 0);
        if (top > ymax)
            ymax = top;
    }
    ymax = ymax > 0 ? ymax * 1.35 : 1.0; /* room for the legend above the bars */
    plot_canvas c = {0};
    int w = 160 + 90 * n;
    if (plot_canvas_init(&c, w < 560 ? 560 : w, 480))
        return ssvae_fail(err, "%s: out of memory", path);
    if (plot_begin(&c, 1)) {
        plot_canvas_free(&c);
        return ssvae_fail(err, "%s: %s", path, plot_last_error());
    }
    plot_rect r = {78, 62, c.w - 100, c.h - 130};
    plot_frame(&c, r, -0.5, n - 0.5, 0, ymax);
    double bw = 0.8 / nseries;
    for (int g = 0; g < n; g++) {
        for (int k = 0; k < nseries; k++) {
            double x = g - 0.4 + bw * (k + 0.5), v = value[k * n + g], top = v;
            plot_color(SERIES_COL[k]);
            plot_fill_rect(x - 0.45 * bw, 0, x + 0.45 * bw, v);
            if (sd && sd[k * n + g] > 0) {
                plot_color(BLACK);
                plot_width(1.2);
                plot_errbar(x, v - sd[k * n + g], v + sd[k * n + g]);
                top += sd[k * n + g];
            }
            char t[32];
            snprintf(t, sizeof t, v < 10 ? "%.1f" : "%.0f", v);
            plot_color(BLACK);
            plot_text(x, top + ymax * 0.02, 0.5, 0.7, t);
        }
        plot_mtext("b", 1.4 + 1.2 * (g % 2), (g + 0.5) / n, 0.5, groups[g]);
    }
    if (line > 0 && isfinite(line)) {
        plot_color(GREY);
        plot_width(1.5);
        plot_dashed(1);
        plot_segment(-0.5, line, n - 0.5, line);
        plot_dashed(0);
    }
    plot_box_opts("bc", "bcnstv");
    plot_mtext("l", 4.2, 0.5, 0.5, ylabel);
    double lx = -0.45, dx = 0.04 * n;
    for (int k = 0; k <= nseries; k++) {
        double y = ymax * (0.95 - 0.065 * k);
        if (k < nseries) {
            plot_color(SERIES_COL[k]);
            plot_fill_rect(lx, y - ymax * 0.02, lx + dx, y + ymax * 0.02);
        } else if (line_label && line > 0 && isfinite(line)) {
            plot_color(GREY);
            plot_dashed(1);
            plot_segment(lx, y, lx + dx, y);
            plot_dashed(0);
        } else {
            break;
        }
        plot_color(BLACK);
        plot_text(lx + 1.5 * dx, y, 0.0, 0.8, k < nseries ? series[k] : line_label);
    }
    plot_canvas_text(&c, c.w / 2.0, 34, 0.5, 1.1, title);
    int rc = plot_end() ? ssvae_fail(err, "%s: %s", path, plot_last_error())
                        : ssvae_png_write(path, c.rgba, c.w, c.h, 4, err);
    plot_canvas_free(&c);
    return rc;
}
