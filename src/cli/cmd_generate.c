/*
 * cmd_generate.c — `ssvae generate`: a moving-balls video as frames.npy
 * (T, H, W, 3) uint8 and centres.npy (T, K, 2) float32 pixels.
 */
#include <stdlib.h>

#include "cli/cli.h"

int cmd_generate(int argc, char **argv)
{
    ssvae_balls_config bc;
    ssvae_balls_default(&bc);
    const char *out = "data";
    int size = 0;
    cli_flag flags[] = {
        {"frames", FLAG_INT, &bc.frames, "frames in the video", 1, 1000000},
        {"seed", FLAG_U64, &bc.seed, "random seed (same seed, same bytes)", 0, -1},
        {"balls", FLAG_INT, &bc.nballs, "number of balls", 1, SSVAE_MAXBALLS},
        {"size", FLAG_INT, &size, "frame width and height in pixels (0: 256)", 0, 8192},
        {"radius", FLAG_DOUBLE, &bc.radius, "ball radius in pixels", 0.5, 4096},
        {"step", FLAG_DOUBLE, &bc.step, "distance a ball moves a frame, pixels", 0, 4096},
        {"out", FLAG_STRING, &out, "output folder", 0, -1},
        {0},
    };
    int rc = cli_parse("generate", "Writes a video of bouncing balls (SPEC section 1) into a folder:\n"
                       "frames.npy (T, H, W, 3) uint8 and centres.npy (T, K, 2) float32 pixels.",
                       flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    if (size) bc.width = bc.height = size;
    if ((double)bc.frames * bc.width * bc.height * 3 > 64e9)
        return cli_error("generate", 2, "--frames: the video would exceed 64 GB");
    ssvae_error err;
    size_t npix = (size_t)bc.frames * bc.height * bc.width * 3;
    uint8_t *frames = malloc(npix);
    float *centres = malloc((size_t)bc.frames * bc.nballs * 2 * sizeof *centres);
    if (!frames || !centres) return cli_error("generate", 1, "out of memory for %d frames", bc.frames);
    rc = 1;
    if (ssvae_balls_generate(&bc, frames, centres, NULL, &err)) {
        cli_error("generate", 2, "%s", err.msg);
        rc = 2;
        goto done;
    }
    if (cli_make_dir(out, &err)) { cli_error("generate", 1, "%s", err.msg); goto done; }
    char path[4200];
    int64_t fs[4] = {bc.frames, bc.height, bc.width, 3}, cs[3] = {bc.frames, bc.nballs, 2};
    snprintf(path, sizeof path, "%s/frames.npy", out);
    if (ssvae_npy_write(path, SSVAE_U8, 4, fs, frames, &err)) { cli_error("generate", 1, "%s", err.msg); goto done; }
    snprintf(path, sizeof path, "%s/centres.npy", out);
    if (ssvae_npy_write(path, SSVAE_F32, 3, cs, centres, &err)) { cli_error("generate", 1, "%s", err.msg); goto done; }
    printf("wrote %s/frames.npy (%d x %d x %d x 3) and %s/centres.npy\n", out, bc.frames, bc.height,
           bc.width, out);
    rc = 0;
done:
    free(frames);
    free(centres);
    return rc;
}
