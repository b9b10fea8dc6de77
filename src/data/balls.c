/*
 * balls.c — the moving-balls video (SPEC section 1): K hard-edged coloured
 * disks on black that each move one step a frame, turning a little at random
 * and turning more when the way ahead is blocked by a wall or another ball.
 *
 * Shapes: T frames, H x W pixels, K balls. Positions are doubles in pixel
 * coordinates: pixel (row i, column j) covers [j, j+1) x [i, i+1), so its
 * centre is (j + 0.5, i + 0.5). Directions are in degrees.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ssvae.h"

#define START_TRIES 100000 /* centre draws before the start is declared impossible */
#define BALL_TRIES 1000    /* draws for one ball before the start is redrawn */
#define STUCK_DRAWS 1000   /* draws at +-180 degrees before a ball stays put */

static const double pi = 3.14159265358979323846;

/* Fills cfg with the paper's set-up (SPEC section 1). */
void ssvae_balls_default(ssvae_balls_config *cfg)
{
    /* The paper's three, then five more so that every ball up to
     * SSVAE_MAXBALLS is visible on the black background. */
    static const uint8_t colours[SSVAE_MAXBALLS][3] = {
        {255, 127, 80},  /* coral */
        {60, 179, 113},  /* sea green */
        {65, 105, 225},  /* royal blue */
        {255, 215, 0},   /* gold */
        {218, 112, 214}, /* orchid */
        {64, 224, 208},  /* turquoise */
        {240, 240, 240}, /* near white */
        {205, 92, 92},   /* indian red */
    };
    memset(cfg, 0, sizeof *cfg);
    cfg->frames = 900;
    cfg->height = cfg->width = 256;
    cfg->nballs = 3;
    cfg->radius = 16;
    cfg->step = 32;
    cfg->noise_deg = 2;
    memcpy(cfg->colours, colours, sizeof colours);
    cfg->seed = 1;
}

/* 1 if a disk centred at (x, y) would overlap ball j (centres closer than 2r). */
static int overlaps(const double *pos, int j, double x, double y, double r)
{
    double dx = x - pos[2 * j], dy = y - pos[2 * j + 1];
    return dx * dx + dy * dy < 4 * r * r;
}

/* 1 if ball k may stand at (x, y): fully inside the frame and clear of every
 * other ball where it stands now. */
static int free_at(const ssvae_balls_config *cfg, const double *pos, int k,
                   double x, double y)
{
    double r = cfg->radius;
    if (x - r < 0 || x + r > cfg->width || y - r < 0 || y + r > cfg->height)
        return 0;
    for (int j = 0; j < cfg->nballs; j++)
        if (j != k && overlaps(pos, j, x, y, r))
            return 0;
    return 1;
}

/* Draws frame-0 centres (pos, (K, 2)) uniform in [r, W-r] x [r, H-r], ball by
 * ball, rejecting a draw that overlaps a ball already placed. A ball that
 * finds no room in BALL_TRIES draws sends us back to ball 0, so a crowded
 * start is not stuck with a bad early choice. */
static int place_balls(const ssvae_balls_config *cfg, ssvae_rng *rng,
                       double *pos, ssvae_error *err)
{
    double r = cfg->radius;
    int k = 0, fails = 0;
    for (long tries = 0; k < cfg->nballs; tries++) {
        if (tries == START_TRIES)
            return ssvae_fail(err, "balls do not fit: no room for %d balls of "
                              "radius %g in %dx%d after %d tries", cfg->nballs,
                              r, cfg->width, cfg->height, START_TRIES);
        double x = r + (cfg->width - 2 * r) * ssvae_rng_uniform(rng);
        double y = r + (cfg->height - 2 * r) * ssvae_rng_uniform(rng);
        int clear = 1;
        for (int j = 0; j < k && clear; j++)
            clear = !overlaps(pos, j, x, y, r);
        if (clear) {
            pos[2 * k] = x;
            pos[2 * k + 1] = y;
            k++;
            fails = 0;
        } else if (++fails == BALL_TRIES) {
            k = 0;
            fails = 0;
        }
    }
    return 0;
}

/* Moves ball k one step, or leaves it where it is; returns 1 if it stays
 * stuck. theta (degrees) is updated only on a successful move. */
static int move_ball(const ssvae_balls_config *cfg, ssvae_rng *rng,
                     double *pos, double *theta, int k)
{
    double a = fmin(cfg->noise_deg, 180);
    for (int draws180 = 0;;) {
        double th = theta[k] + a * (2 * ssvae_rng_uniform(rng) - 1);
        double x = pos[2 * k] + cfg->step * cos(th * pi / 180);
        double y = pos[2 * k + 1] + cfg->step * sin(th * pi / 180);
        if (free_at(cfg, pos, k, x, y)) {
            pos[2 * k] = x;
            pos[2 * k + 1] = y;
            /* Kept in [0, 360) so the angle does not lose precision as the
             * noise adds up over a long video. */
            th = fmod(th, 360);
            theta[k] = th < 0 ? th + 360 : th;
            return 0;
        }
        if (a >= 180 && ++draws180 == STUCK_DRAWS)
            return 1;
        a = fmin(2 * a, 180);
    }
}

/* Paints one frame (H, W, 3): black, then each ball's hard disk, testing each
 * pixel centre against the circle (strictly inside is painted). */
static void render(const ssvae_balls_config *cfg, const double *pos,
                   uint8_t *frame)
{
    int H = cfg->height, W = cfg->width;
    double r = cfg->radius;
    memset(frame, 0, (size_t)H * W * 3);
    for (int k = 0; k < cfg->nballs; k++) {
        double cx = pos[2 * k], cy = pos[2 * k + 1];
        int i0 = (int)fmax(0, floor(cy - r)), i1 = (int)fmin(H - 1, ceil(cy + r));
        int j0 = (int)fmax(0, floor(cx - r)), j1 = (int)fmin(W - 1, ceil(cx + r));
        for (int i = i0; i <= i1; i++)
            for (int j = j0; j <= j1; j++) {
                double dx = j + 0.5 - cx, dy = i + 0.5 - cy;
                if (dx * dx + dy * dy < r * r)
                    memcpy(frame + ((size_t)i * W + j) * 3, cfg->colours[k], 3);
            }
    }
}

/* Generates the whole video into the caller's frames (T, H, W, 3), centres
 * (T, K, 2) and, if not NULL, stuck (T, K). All randomness comes from one
 * generator seeded with cfg->seed, so a seed fixes every byte. */
int ssvae_balls_generate(const ssvae_balls_config *cfg, uint8_t *frames,
                         float *centres, uint8_t *stuck, ssvae_error *err)
{
    if (!cfg || !frames || !centres)
        return ssvae_fail(err, "balls: config, frames and centres are required");
    int T = cfg->frames, H = cfg->height, W = cfg->width, K = cfg->nballs;
    double r = cfg->radius;
    if (T < 1 || H < 1 || W < 1)
        return ssvae_fail(err, "balls: frames (%d), height (%d) and width (%d) "
                          "must be at least 1", T, H, W);
    if ((size_t)H * W > SIZE_MAX / 3 / (size_t)T)
        return ssvae_fail(err, "balls: %d frames of %dx%d do not fit in memory",
                          T, W, H);
    if (K < 1 || K > SSVAE_MAXBALLS)
        return ssvae_fail(err, "balls: nballs is %d, must be 1 to %d", K,
                          SSVAE_MAXBALLS);
    if (!(r > 0) || !(cfg->step >= 0) || !isfinite(cfg->step))
        return ssvae_fail(err, "balls: radius (%g) must be > 0 and step (%g) "
                          "finite and >= 0", r, cfg->step);
    /* Zero noise could never widen to 180 degrees when a ball is blocked. */
    if (!(cfg->noise_deg > 0))
        return ssvae_fail(err, "balls: noise_deg is %g, must be > 0",
                          cfg->noise_deg);
    if (2 * r > W || 2 * r > H)
        return ssvae_fail(err, "balls do not fit: diameter %g exceeds the "
                          "%dx%d frame", 2 * r, W, H);

    ssvae_rng rng;
    ssvae_rng_seed(&rng, cfg->seed);
    double pos[2 * SSVAE_MAXBALLS], theta[SSVAE_MAXBALLS];
    if (place_balls(cfg, &rng, pos, err))
        return -1;
    for (int k = 0; k < K; k++)
        theta[k] = 360 * ssvae_rng_uniform(&rng);

    size_t frame_bytes = (size_t)H * W * 3;
    for (int t = 0; t < T; t++) {
        for (int k = 0; k < K; k++) {
            int s = t > 0 && move_ball(cfg, &rng, pos, theta, k);
            if (stuck)
                stuck[(size_t)t * K + k] = (uint8_t)s;
        }
        for (int k = 0; k < 2 * K; k++)
            centres[(size_t)t * K * 2 + k] = (float)pos[k];
        render(cfg, pos, frames + (size_t)t * frame_bytes);
    }
    return 0;
}
