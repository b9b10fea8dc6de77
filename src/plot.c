/*
 * plot.c — the drawing layer under the figures: an RGBA canvas in memory,
 * pictures painted into it pixel for pixel (so a video frame or a heat map
 * is exact, not resampled by a plotting library), and PLplot's cairo
 * "memcairo" device drawing axes, lines, bars and text onto the same
 * memory. Headless: no display, no file; figure.c writes the canvases.
 *
 * PLplot keeps global state, so one plot is drawn at a time
 * (plot_begin ... plot_end). Its non-fatal problems ("warnings") are
 * caught by plsabort and turned into a failed plot_end; its fatal path
 * (plexit) ends the process, so everything that could trigger it (a bad
 * device, no memory buffer) is made impossible before plinit.
 */
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

/* cmap0 slot we recolour for every plot_color call; slot 0 is the
 * background (white). */
#define SLOT 15

/* PLplot's character height at text scale 1, in canvas pixels. */
#define BASE_TEXT_PX 12.0

static char last_error[256];

static void on_abort(PLCHAR_VECTOR msg)
{
    if (!last_error[0])
        snprintf(last_error, sizeof last_error, "PLplot: %s", msg);
}

const char *plot_last_error(void)
{
    return last_error;
}

int plot_canvas_init(plot_canvas *c, int w, int h)
{
    c->w = w;
    c->h = h;
    c->rgba = (w > 0 && h > 0) ? malloc((size_t)w * h * 4) : NULL;
    if (!c->rgba)
        return -1;
    memset(c->rgba, 255, (size_t)w * h * 4);
    return 0;
}

void plot_canvas_free(plot_canvas *c)
{
    free(c->rgba);
    c->rgba = NULL;
    c->w = c->h = 0;
}

void plot_canvas_blit(plot_canvas *dst, const plot_canvas *src, int x, int y)
{
    for (int sy = 0; sy < src->h; sy++) {
        int dy = y + sy;
        if (dy < 0 || dy >= dst->h)
            continue;
        for (int sx = 0; sx < src->w; sx++) {
            int dx = x + sx;
            if (dx < 0 || dx >= dst->w)
                continue;
            memcpy(dst->rgba + ((size_t)dy * dst->w + dx) * 4,
                   src->rgba + ((size_t)sy * src->w + sx) * 4, 4);
        }
    }
}

void plot_canvas_image(plot_canvas *c, plot_rect r, const uint8_t *rgb, int iw, int ih)
{
    int x0 = (int)lround(r.x), y0 = (int)lround(r.y);
    int x1 = (int)lround(r.x + r.w), y1 = (int)lround(r.y + r.h);
    for (int y = y0; y < y1; y++) {
        if (y < 0 || y >= c->h)
            continue;
        int sy = (int)((y - y0 + 0.5) * ih / (y1 - y0));
        for (int x = x0; x < x1; x++) {
            if (x < 0 || x >= c->w)
                continue;
            int sx = (int)((x - x0 + 0.5) * iw / (x1 - x0));
            uint8_t *d = c->rgba + ((size_t)y * c->w + x) * 4;
            const uint8_t *s = rgb + ((size_t)sy * iw + sx) * 3;
            d[0] = s[0], d[1] = s[1], d[2] = s[2], d[3] = 255;
        }
    }
}

/* 1 if PLplot has the memcairo device. Without it plinit would ask for a
 * device on stdin, so we look first (once). */
static int have_memcairo(void)
{
    static int known = -1;
    if (known < 0) {
        const char *menu_buf[128], *names_buf[128];
        const char **menu = menu_buf, **names = names_buf;
        int n = 128; /* in: room; out: devices */
        plgDevs(&menu, &names, &n);
        known = 0;
        for (int i = 0; i < n && i < 128; i++)
            if (names[i] && !strcmp(names[i], "memcairo"))
                known = 1;
    }
    return known;
}

int plot_begin(plot_canvas *c, double text_scale)
{
    last_error[0] = '\0';
    if (!c->rgba || c->w <= 0 || c->h <= 0) {
        snprintf(last_error, sizeof last_error, "out of memory for a %d x %d picture", c->w, c->h);
        return -1;
    }
    if (!have_memcairo()) {
        snprintf(last_error, sizeof last_error,
                 "PLplot has no memcairo device (install plplot-driver-cairo)");
        return -1;
    }
    plsabort(on_abort);
    plsdev("memcairo");
    plsmema(c->w, c->h, c->rgba); /* draws over what the canvas holds */
    plscolbg(255, 255, 255);
    plinit();
    pladv(0);
    /* PLplot sizes text in mm of a page whose size in mm does not follow
     * the canvas' pixels; ask for a height in pixels instead, so that text
     * looks the same on every canvas: BASE_TEXT_PX times text_scale. */
    PLFLT xmin, xmax, ymin, ymax;
    plgspa(&xmin, &xmax, &ymin, &ymax);
    double px_per_mm = xmax > xmin ? c->w / (xmax - xmin) : 1.0;
    plschr(BASE_TEXT_PX * text_scale / px_per_mm, 1.0);
    plfontld(1);
    plscol0(SLOT, 0, 0, 0);
    plcol0(SLOT);
    plwidth(1.0);
    pllsty(1);
    return 0;
}

int plot_end(void)
{
    plend1();
    return last_error[0] ? -1 : 0;
}

void plot_frame(const plot_canvas *c, plot_rect r, double x0, double x1, double y0, double y1)
{
    plvpor(r.x / c->w, (r.x + r.w) / c->w, 1.0 - (r.y + r.h) / c->h, 1.0 - r.y / c->h);
    plwind(x0, x1, y0, y1);
}

void plot_axes(const char *xopt, const char *yopt, const char *xlabel,
               const char *ylabel, const char *title)
{
    plot_color((plot_rgb){0, 0, 0});
    plot_width(1.0);
    plot_dashed(0);
    plbox(xopt ? xopt : "bcnst", 0.0, 0, yopt ? yopt : "bcnstv", 0.0, 0);
    pllab(xlabel ? xlabel : "", ylabel ? ylabel : "", "");
    if (title && *title)
        plmtex("t", 1.2, 0.5, 0.5, title);
}

void plot_box(const char *title)
{
    plot_color((plot_rgb){0, 0, 0});
    plot_width(1.0);
    plot_dashed(0);
    plbox("bc", 0.0, 0, "bc", 0.0, 0);
    if (title && *title)
        plmtex("t", 0.8, 0.5, 0.5, title);
}

void plot_box_opts(const char *xopt, const char *yopt)
{
    plot_color((plot_rgb){0, 0, 0});
    plot_width(1.0);
    plot_dashed(0);
    plbox(xopt, 0.0, 0, yopt, 0.0, 0);
}

void plot_letter(const plot_canvas *c, double scale, const char *letter)
{
    plvpor(0.0, 1.0, 0.0, 1.0);
    plwind(0.0, c->w, c->h, 0.0); /* canvas pixels, y down */
    plot_color((plot_rgb){0, 0, 0});
    char buf[64];
    snprintf(buf, sizeof buf, "#<bold/>%s", letter);
    plot_text(12.0 * scale, 18.0 * scale, 0.0, 1.7, buf);
}

void plot_color(plot_rgb col)
{
    plscol0(SLOT, col.r, col.g, col.b);
    plcol0(SLOT);
}

void plot_width(double w)
{
    plwidth(w);
}

void plot_dashed(int on)
{
    pllsty(on ? 2 : 1);
}

void plot_lines(int n, const double *x, const double *y)
{
    if (n >= 2)
        plline(n, x, y);
}

void plot_segment(double x0, double y0, double x1, double y1)
{
    PLFLT x[2] = {x0, x1}, y[2] = {y0, y1};
    plline(2, x, y);
}

void plot_arrow(double x0, double y0, double x1, double y1, double head)
{
    double dx = x1 - x0, dy = y1 - y0, len = sqrt(dx * dx + dy * dy);
    if (!(len > 0))
        return;
    double ux = dx / len, uy = dy / len;
    if (head > 0.6 * len)
        head = 0.6 * len;
    double bx = x1 - ux * head, by = y1 - uy * head; /* base of the head */
    plot_segment(x0, y0, bx, by);
    PLFLT hx[3] = {x1, bx - uy * head * 0.45, bx + uy * head * 0.45};
    PLFLT hy[3] = {y1, by + ux * head * 0.45, by - ux * head * 0.45};
    plfill(3, hx, hy);
}

void plot_fill_rect(double x0, double y0, double x1, double y1)
{
    PLFLT x[4] = {x0, x1, x1, x0}, y[4] = {y0, y0, y1, y1};
    plfill(4, x, y);
}

void plot_circle(double x, double y, double rad, int fill)
{
    plarc(x, y, rad, rad, 0.0, 360.0, 0.0, fill ? 1 : 0);
}

void plot_cross(double x, double y, double rad)
{
    plot_segment(x - rad, y - rad, x + rad, y + rad);
    plot_segment(x - rad, y + rad, x + rad, y - rad);
}

void plot_errbar(double x, double y0, double y1)
{
    PLFLT xs[1] = {x}, lo[1] = {y0}, hi[1] = {y1};
    plerry(1, xs, lo, hi);
}

void plot_text(double x, double y, double just, double size, const char *text)
{
    PLFLT def, cur;
    plgchr(&def, &cur);
    (void)cur;
    PLFLT keep = cur / def;            /* the scale plot_begin set */
    plschr(0.0, keep * size);
    plptex(x, y, 1.0, 0.0, just, text);
    plschr(0.0, keep);
}

void plot_canvas_text(const plot_canvas *c, double x, double y, double just,
                      double size, const char *text)
{
    plvpor(0.0, 1.0, 0.0, 1.0);
    plwind(0.0, c->w, c->h, 0.0);
    plot_text(x, y, just, size, text);
}

void plot_mtext(const char *side, double disp, double pos, double just, const char *text)
{
    plmtex(side, disp, pos, just, text);
}

plot_rgb plot_colormap(double v)
{
    /* matplotlib's inferno at 0, 0.1, ..., 1 */
    static const uint8_t pts[11][3] = {
        {0, 0, 4},      {22, 11, 57},   {66, 10, 104},  {106, 23, 110},
        {147, 38, 103}, {188, 55, 84},  {221, 81, 58},  {243, 120, 25},
        {252, 165, 10}, {246, 215, 70}, {252, 255, 164},
    };
    if (!(v > 0))
        v = 0;
    if (v > 1)
        v = 1;
    double t = v * 10.0;
    int i = (int)t;
    if (i >= 10)
        i = 9;
    double f = t - i;
    plot_rgb c;
    c.r = (uint8_t)lround(pts[i][0] + f * (pts[i + 1][0] - pts[i][0]));
    c.g = (uint8_t)lround(pts[i][1] + f * (pts[i + 1][1] - pts[i][1]));
    c.b = (uint8_t)lround(pts[i][2] + f * (pts[i + 1][2] - pts[i][2]));
    return c;
}
