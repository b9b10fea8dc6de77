/*
 * cmd_generate.c — `ssvae generate`: a moving-balls video as frames.npy
 * (T, H, W, 3) uint8, or (T, H, W, 1) with --grey, and centres.npy
 * (T, K, 2) float32 pixels.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* "R,G,B:R,G,B:..." (0..255 each) into cfg->colours; 0, or 2 after a
 * one-line error. */
static int parse_colours(const char *text, ssvae_balls_config *cfg)
{
    const char *p = text;
    int n = 0;
    while (*p) {
        if (n == SSVAE_MAXBALLS)
            return cli_error("generate", 2, "--colours: more than %d colours in '%s'", SSVAE_MAXBALLS, text);
        int rgb[3];
        for (int c = 0; c < 3; c++) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 0 || v > 255 || (c < 2 && *end != ','))
                return cli_error("generate", 2, "--colours: '%s' is not R,G,B[:R,G,B...] with values 0..255", text);
            rgb[c] = (int)v;
            p = end + (c < 2);
        }
        if (*p && *p != ':')
            return cli_error("generate", 2, "--colours: '%s' is not R,G,B[:R,G,B...] with values 0..255", text);
        if (*p) p++;
        if (rgb[0] + rgb[1] + rgb[2] == 0)
            return cli_error("generate", 2, "--colours: colour %d is black, which the black background hides", n + 1);
        for (int c = 0; c < 3; c++) cfg->colours[n][c] = (uint8_t)rgb[c];
        n++;
    }
    if (n < cfg->nballs)
        return cli_error("generate", 2, "--colours: %d colour%s for %d balls", n, n == 1 ? "" : "s", cfg->nballs);
    return 0;
}

int cmd_generate(int argc, char **argv)
{
    ssvae_balls_config bc;
    ssvae_balls_default(&bc);
    const char *out = "data", *colours = NULL;
    int size = 0, width = 0, height = 0, grey = 0;
    cli_flag flags[] = {
        {"frames", FLAG_INT, &bc.frames, "frames in the video (at least 3: the fewest train takes, two pairs)", 3, 1000000},
        {"seed", FLAG_U64, &bc.seed, "random seed (same seed, same bytes)", 0, -1},
        {"balls", FLAG_INT, &bc.nballs, "number of balls", 1, SSVAE_MAXBALLS},
        {"size", FLAG_INT, &size, "frame width and height in pixels (0: 256)", 0, 8192},
        {"width", FLAG_INT, &width, "frame width in pixels (0: --size)", 0, 8192},
        {"height", FLAG_INT, &height, "frame height in pixels (0: --size)", 0, 8192},
        {"radius", FLAG_DOUBLE, &bc.radius, "ball radius in pixels", 0.5, 4096},
        {"step", FLAG_DOUBLE, &bc.step, "distance a ball moves a frame, pixels", 0, 4096},
        {"colours", FLAG_STRING, &colours, "ball colours R,G,B:R,G,B:... (0..255), one per ball; default coral, sea green, royal blue, ...", 0, -1},
        {"grey", FLAG_BOOL, &grey, "one channel: each pixel the rounded mean (R + G + B) / 3", 0, -1},
        {"out", FLAG_STRING, &out, "output folder", 0, -1},
        {0},
    };
    int rc = cli_parse("generate", "Writes a video of bouncing balls (SPEC section 1) into a folder:\n"
                       "frames.npy (T, H, W, 3) uint8 ((T, H, W, 1) with --grey) and centres.npy\n"
                       "(T, K, 2) float32 pixels.",
                       flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    if (size) bc.width = bc.height = size;
    if (width) bc.width = width;
    if (height) bc.height = height;
    if (colours && parse_colours(colours, &bc)) return 2;
    int C = grey ? 1 : 3;
    if ((double)bc.frames * bc.width * bc.height * 3 > 64e9)
        return cli_error("generate", 2, "--frames: the video would exceed 64 GB");
    ssvae_error err;
    size_t npix = (size_t)bc.frames * bc.height * bc.width;
    uint8_t *frames = malloc(npix * 3);
    float *centres = malloc((size_t)bc.frames * bc.nballs * 2 * sizeof *centres);
    if (!frames || !centres) {
        free(frames);
        free(centres);
        return cli_error("generate", 1, "out of memory for %d frames", bc.frames);
    }
    rc = 1;
    if (ssvae_balls_generate(&bc, frames, centres, NULL, &err)) {
        cli_error("generate", 2, "%s (flags --radius, --step, --balls, --width, --height)", err.msg);
        rc = 2;
        goto done;
    }
    if (grey) /* in place: pixel i's grey byte overwrites bytes already read */
        for (size_t i = 0; i < npix; i++)
            frames[i] = (uint8_t)((frames[3 * i] + frames[3 * i + 1] + frames[3 * i + 2] + 1) / 3);
    if (cli_make_dir(out, &err)) { cli_error("generate", 1, "%s", err.msg); goto done; }
    char path[4200];
    int64_t fs[4] = {bc.frames, bc.height, bc.width, C}, cs[3] = {bc.frames, bc.nballs, 2};
    snprintf(path, sizeof path, "%s/frames.npy", out);
    if (ssvae_npy_write(path, SSVAE_U8, 4, fs, frames, &err)) { cli_error("generate", 1, "%s", err.msg); goto done; }
    snprintf(path, sizeof path, "%s/centres.npy", out);
    if (ssvae_npy_write(path, SSVAE_F32, 3, cs, centres, &err)) { cli_error("generate", 1, "%s", err.msg); goto done; }
    printf("wrote %s/frames.npy (%d x %d x %d x %d) and %s/centres.npy\n", out, bc.frames, bc.height,
           bc.width, C, out);
    rc = 0;
done:
    free(frames);
    free(centres);
    return rc;
}
