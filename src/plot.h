/*
 * plot.h — the drawing layer under the figures (internal): an RGBA canvas
 * in memory, pictures painted into it pixel for pixel, and PLplot (its
 * cairo "memcairo" device, headless) drawing axes, lines, bars and text on
 * top. The figure code (figure.c) composes canvases and writes them with
 * io/png.h; nothing here touches a file.
 *
 * Coordinates: canvas pixels have (0, 0) at the top left; a plot_rect is a
 * rectangle of canvas pixels; inside a plot the world coordinates are
 * whatever plot_frame set (y may run downwards, as in an image).
 */
#ifndef SSVAE_PLOT_H
#define SSVAE_PLOT_H

#include <stdint.h>

typedef struct plot_canvas {
    int w, h;
    uint8_t *rgba; /* (h, w, 4), owned */
} plot_canvas;

typedef struct plot_rect {
    double x, y, w, h; /* canvas pixels, top left corner and size */
} plot_rect;

typedef struct plot_rgb {
    uint8_t r, g, b;
} plot_rgb;

/* A white canvas; -1 when out of memory. */
int plot_canvas_init(plot_canvas *c, int w, int h);
void plot_canvas_free(plot_canvas *c);
/* Copies src into dst with its top left corner at (x, y), clipped. */
void plot_canvas_blit(plot_canvas *dst, const plot_canvas *src, int x, int y);
/* Paints an RGB picture (ih, iw, 3) into r, nearest pixel. Call before
 * plot_begin or after plot_end (PLplot owns the pixels in between). */
void plot_canvas_image(plot_canvas *c, plot_rect r, const uint8_t *rgb, int iw, int ih);

/* Starts PLplot on the canvas; text sizes are multiplied by text_scale.
 * Returns -1 (and draws nothing) if PLplot could not start. */
int plot_begin(plot_canvas *c, double text_scale);
/* Finishes drawing: the canvas then holds the picture. Returns -1 if
 * PLplot reported a problem while drawing (its message in plot_last_error). */
int plot_end(void);
const char *plot_last_error(void);

/* A plot area at r (canvas pixels) showing world [x0, x1] x [y0, y1]
 * (y0 at the bottom edge; give y0 > y1 for image coordinates). */
void plot_frame(const plot_canvas *c, plot_rect r, double x0, double x1, double y0, double y1);
/* Axes with ticks and numbers on the left and bottom (box all around),
 * labels, and a title above. xopt/yopt are PLplot plbox options, NULL for
 * those defaults ("bcnst", "bcnstv"). */
void plot_axes(const char *xopt, const char *yopt, const char *xlabel,
               const char *ylabel, const char *title);
/* plbox with the caller's options, in black. */
void plot_box_opts(const char *xopt, const char *yopt);
/* A bare box (for pictures), with a title above. */
void plot_box(const char *title);
/* The panel letter (A, B, ...) in bold at the canvas' top left corner. */
void plot_letter(const plot_canvas *c, double scale, const char *letter);

void plot_color(plot_rgb col);
void plot_width(double w);       /* line width, in PLplot units (1 thin) */
void plot_dashed(int on);
void plot_lines(int n, const double *x, const double *y);
void plot_segment(double x0, double y0, double x1, double y1);
/* An arrow from (x0, y0) to (x1, y1) with a filled head of length head
 * (world units, measured along the arrow). */
void plot_arrow(double x0, double y0, double x1, double y1, double head);
void plot_fill_rect(double x0, double y0, double x1, double y1);
/* A circle of radius rad (world units in x), filled or outlined. */
void plot_circle(double x, double y, double rad, int fill);
/* A cross (x) of half-size rad (world units). */
void plot_cross(double x, double y, double rad);
/* Vertical error bar from y0 to y1 at x. */
void plot_errbar(double x, double y0, double y1);
/* Text at world (x, y); just 0 left, 0.5 centred, 1 right; size relative
 * to the default text. */
void plot_text(double x, double y, double just, double size, const char *text);
/* Text at canvas pixel (x, y) (y down), whatever plot is current. */
void plot_canvas_text(const plot_canvas *c, double x, double y, double just,
                      double size, const char *text);
/* Text at a viewport edge: side "t", "b", "l", "r" (PLplot plmtex). */
void plot_mtext(const char *side, double disp, double pos, double just, const char *text);

/* A perceptual colour map (inferno-like), v in [0, 1]. */
plot_rgb plot_colormap(double v);

#endif
