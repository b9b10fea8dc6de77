/*
 * cmd_show.c — `ssvae show`: pictures of what a trained model learned, on
 * any video (the drawing is ssvae_show in the library; this is its flags
 * and the checks of the model against the video).
 */
#include <stdio.h>

#include "cli/cli.h"

int cmd_show(int argc, char **argv)
{
    const char *model = "model.safetensors", *data = "data", *out = "show";
    int quiet = 0;
    ssvae_show_options opt;
    ssvae_show_options_default(&opt);
    cli_flag flags[] = {
        {"model", FLAG_STRING, &model, "trained model (safetensors)", 0, -1},
        {"data", FLAG_STRING, &data, "video: a .npy file, or a folder of frames.npy or PNG frames "
                                     "(centres.npy beside them is used when present)", 0, -1},
        {"out", FLAG_STRING, &out, "output folder", 0, -1},
        {"frames", FLAG_INT, &opt.nframes, "frames to draw, spread over the video", 1, 16},
        {"frame", FLAG_INT, &opt.frame, "first frame to draw, the others following it (-1: spread)",
         -1, 1000000000},
        {"scale", FLAG_DOUBLE, &opt.scale, "picture size factor", 0.25, 4},
        {"quiet", FLAG_BOOL, &quiet, "print nothing on success", 0, -1},
        {0},
    };
    int rc = cli_parse("show", "Draws what a trained model learned on a video, any size, any number of\n"
                       "maps, grey or colour, no ground truth needed (docs/own-video.md):\n"
                       "maps.png (each map over the frames in its own colour, its centre of mass\n"
                       "marked), tracks.png (the latents of every frame on a still frame),\n"
                       "predictive.png (the prior's predictive map of each map's next position)\n"
                       "and, when the folder has centres.npy, decoded.png (the linear probe\n"
                       "against the true positions).",
                       flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    ssvae_error err;
    ssvae_model m;
    if (ssvae_model_load(&m, model, &err)) return cli_error("show", 1, "%s", err.msg);
    cli_video v = {0};
    rc = 1;
    int written = 0;
    if (cli_open_video("show", data, &v, 0, quiet)) {
        /* said */
    } else if (v.H != m.cfg.H || v.W != m.cfg.W || v.C != m.cfg.C) {
        cli_error("show", 1, "%s: the model expects %dx%dx%d frames, %s has %dx%dx%d", model, m.cfg.W,
                  m.cfg.H, m.cfg.C, data, v.W, v.H, v.C);
    } else if (opt.frame >= v.T) {
        cli_error("show", 2, "--frame %d: %s has %d frames", opt.frame, data, v.T);
        rc = 2;
    } else if (ssvae_show(&m, v.frames.data, v.T, v.K ? v.centres.data : NULL, v.K, out, &opt, &written,
                          &err)) {
        cli_error("show", 1, "%s", err.msg);
    } else {
        if (!quiet)
            printf("wrote %d pictures to %s (maps.png, tracks.png%s%s)\n", written, out,
                   m.cfg.supervised ? "" : ", predictive.png", v.K ? ", decoded.png" : "");
        rc = 0;
    }
    cli_video_free(&v);
    ssvae_model_free(&m);
    return rc;
}
