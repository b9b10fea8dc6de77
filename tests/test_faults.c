/*
 * test_faults.c — the program against a careless or hostile user (issue
 * 14), one section a class of fault, each case one that did the harm
 * before it was fixed:
 *   - outputs: an existing device/FIFO/folder, or one of the run's own
 *     inputs (any spelling, a link, a file inside an input folder), is
 *     refused and left as it was;
 *   - nothing non-finite is saved, loaded, encoded or called "last good";
 *   - demo's run folder is one run, never a mix; an earlier run is moved
 *     aside, not mixed in or deleted;
 *   - a FIFO given as any input fails at once instead of hanging;
 *   - messages: shapes say what was expected and found, non-finite
 *     centres are named with their frame, probe errors name their files,
 *     a truncated PNG says so, out-of-range numbers are called that,
 *     names with control characters stay on one line, long paths keep
 *     the reason;
 *   - sizes checked from headers first; one minimum video length;
 *   - the malformed-input suite at program level: every broken file of
 *     the fuzzers' seed corpus (fuzz/corpus/ * /bad_*, regress_*) given to
 *     the program it would reach, rejected with status 1 and one line
 *     naming the file. Under make test-sanitize this runs the sanitized
 *     program (build-san/ssvae).
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"
#include "io/png.h"
#include "scratch.h"
#include "ssvae.h"

/* A hang shows as status 124 instead of waiting for ever. */
#define TIMEOUT "timeout 60 env"

static int nmalformed; /* broken inputs rejected by the program, for the closing line */

/* The last run failed with status 1 and one line naming word and why. */
static int refused(int st, const char *word, const char *why)
{
    nmalformed++;
    return st == 1 && one_line_naming(word) && (!why || strstr(err_text, why));
}

static void write_npy_f32(const char *path, int ndim, const int64_t *shape, const float *x)
{
    ssvae_error err;
    if (ssvae_npy_write(path, SSVAE_F32, ndim, shape, x, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
}

/* ---- outputs ------------------------------------------------------------ */

static void test_outputs(void)
{
    /* Before the fix each of these replaced the target by the run's output
     * (as root, a device too), exit 0. */
    CHECK(mkfifo(in_dir("fifo_out"), 0644) == 0, "mkfifo");
    int st = run_env(TIMEOUT, "encode --model @/m.st --data @/v --out @/fifo_out --quiet");
    struct stat sb;
    CHECK(refused(st, "fifo_out", "a FIFO") && stat(in_dir("fifo_out"), &sb) == 0 && S_ISFIFO(sb.st_mode),
          "encode --out FIFO: status %d: %s", st, err_text);
    symlink("fifo_out", in_dir("link_to_fifo"));
    st = run_env(TIMEOUT, "train --data @/v --epochs 1 --quiet --save @/link_to_fifo");
    CHECK(refused(st, "link_to_fifo", "a FIFO") && stat(in_dir("fifo_out"), &sb) == 0 && S_ISFIFO(sb.st_mode),
          "train --save LINK-TO-FIFO: status %d: %s", st, err_text);
    mkdir(in_dir("a_folder"), 0755);
    st = run("encode --model @/m.st --data @/v --out @/a_folder --quiet");
    CHECK(refused(st, "a_folder", "a folder"), "encode --out FOLDER: status %d: %s", st, err_text);
    st = run("generate --frames 3 --size 16 --radius 2 --out @/gen_fifo_dir");
    unlink(in_dir("gen_fifo_dir/frames.npy"));
    mkfifo(in_dir("gen_fifo_dir/frames.npy"), 0644);
    st = run_env(TIMEOUT, "generate --frames 3 --size 16 --radius 2 --out @/gen_fifo_dir");
    CHECK(refused(st, "frames.npy", "a FIFO"), "generate into a FIFO frames.npy: status %d: %s", st, err_text);

    /* The same file as an input: before, the input was overwritten. */
    unsigned char *before, *after;
    long nb = read_all(in_dir("v/frames.npy"), &before);
    struct { const char *args, *word; } same[] = {
        {"train --data @/v/frames.npy --save @/v/frames.npy --epochs 1 --quiet", "--save"},
        {"train --data @/v --save @/v/frames.npy --epochs 1 --quiet", "input folder"},
        {"train --data @/v --save @/./v/../v/centres.npy --epochs 1 --quiet", "input folder"},
        {"train --data @/v --test @/v --save @/v/centres.npy --epochs 1 --quiet", "--save"},
        {"train --data @/v2 --pairs @/v --save @/vlink.npy --epochs 1 --quiet", "vlink.npy"},
        {"encode --model @/m.st --data @/v --out @/m.st --quiet", "--out"},
        {"encode --model @/m.st --data @/v --out @/./m.st --quiet", "same file"},
        {"encode --model @/m.st --data @/v --out @/mlink.st --quiet", "mlink.st"},
        {"encode --model @/m.st --data @/v/frames.npy --out @/v/frames.npy --quiet", "frames.npy"},
    };
    symlink("v/frames.npy", in_dir("vlink.npy"));
    symlink("m.st", in_dir("mlink.st"));
    unsigned char *mb;
    long nm = read_all(in_dir("m.st"), &mb);
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        st = run("%s", same[i].args);
        CHECK(refused(st, same[i].word, "refusing to overwrite an input"), "ssvae %s: status %d: %s", same[i].args,
              st, err_text);
    }
    long na = read_all(in_dir("v/frames.npy"), &after);
    CHECK(na == nb && !memcmp(before, after, (size_t)nb), "the input video is untouched");
    free(after);
    na = read_all(in_dir("m.st"), &after);
    CHECK(na == nm && !memcmp(mb, after, (size_t)nm), "the input model is untouched");
    free(after);
    free(before);
    free(mb);
    /* Resuming into the checkpoint it resumes is the point of --resume. */
    st = run("train --data @/v --save-every 1 --epochs 1 --quiet --save @/r.st");
    st |= run("train --data @/v --resume @/r.st --epochs 2 --quiet");
    CHECK(st == 0, "train --resume writes back to the file it resumed: %s", err_text);
}

/* ---- finite checkpoints --------------------------------------------------- */

/* Copies the checkpoint src to dst with one value of tensor name set to x. */
static void poison(const char *src, const char *dst, const char *name, float x)
{
    ssvae_checkpoint ck;
    ssvae_error err;
    if (ssvae_st_read(src, &ck, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    for (int i = 0; i < ck.ntensors; i++)
        if (!strcmp(ck.tensors[i].name, name))
            ck.tensors[i].data[0] = x;
    if (ssvae_st_write(dst, ck.tensors, ck.ntensors, ck.meta, ck.nmeta, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    ssvae_st_free(&ck);
}

static void test_finite(void)
{
    ssvae_error err;
    /* A NaN behind the ReLU: before, encode wrote latents and resume saved
     * it again, both exit 0. */
    poison(in_dir("r.st"), in_dir("nan.st"), "conv2.weight", NAN);
    poison(in_dir("r.st"), in_dir("inf.st"), "optim.v", INFINITY);
    int st = run("encode --model @/nan.st --data @/v --out @/z_nan.npy --quiet");
    CHECK(refused(st, "nan.st", "non-finite") && !exists(in_dir("z_nan.npy")), "encode a NaN model: %d: %s", st,
          err_text);
    st = run("train --data @/v --resume @/nan.st --epochs 3 --quiet");
    CHECK(refused(st, "nan.st", "conv2.weight"), "resume a NaN model: %d: %s", st, err_text);
    st = run("train --data @/v --resume @/inf.st --epochs 3 --quiet");
    CHECK(refused(st, "inf.st", "optim.v"), "resume an infinite optimiser state: %d: %s", st, err_text);
    st = run("probe --model @/nan.st --train @/v --test @/v");
    CHECK(refused(st, "nan.st", "non-finite"), "probe a NaN model: %d: %s", st, err_text);

    /* The library refuses to save one. */
    ssvae_model m;
    CHECK(ssvae_model_load(&m, in_dir("m.st"), &err) == 0, "%s", err.msg);
    m.bn1_w[1] = NAN;
    CHECK(ssvae_model_save(&m, in_dir("saved_nan.st"), NULL, 0, &err) == -1 && strstr(err.msg, "bn1.weight") &&
              !exists(in_dir("saved_nan.st")),
          "ssvae_model_save refuses NaN weights: %s", err.msg);
    ssvae_model_free(&m);

    /* Diverging with a large momentum: the loss stayed finite while the
     * weights were not, and "the last good" checkpoint held NaN. Now the
     * epoch that turns them non-finite stops the run, and what is on
     * disk loads and is finite. */
    st = run("train --data @/v --prior supervised --momentum 0.99 --lr 50 --epochs 20 --save-every 1 --quiet "
             "--save @/div.st");
    CHECK(st == 1 && err_lines == 1 && strstr(err_text, "non-finite") && strstr(err_text, "last good"),
          "diverging run: status %d: %s", st, err_text);
    if (exists(in_dir("div.st"))) {
        CHECK(ssvae_model_load(&m, in_dir("div.st"), &err) == 0, "the last good checkpoint loads: %s", err.msg);
        ssvae_model_free(&m);
    }
}

/* ---- run folders ---------------------------------------------------------- */

static void test_run_folder(void)
{
    const char *demo = "demo --frames 7 --test-frames 8 --epochs 1 --no-figure --quiet --out @/run";
    /* An older run's leftover (say, from a run killed halfway before the
     * fix wrote into the folder in place): it must not end up mixed in. */
    mkdir(in_dir("run"), 0755);
    write_text(in_dir("run/results.json"), "{\"stale\": true}\n");
    int st = run("%s", demo);
    unsigned char *buf;
    read_all(in_dir("run/results.json"), &buf);
    CHECK(st == 0 && buf && !strstr((char *)buf, "stale") && exists(in_dir("run/models/gaussian.safetensors")),
          "demo: a complete new run in run/: status %d: %s", st, err_text);
    free(buf);
    read_all(in_dir("run.previous-1/results.json"), &buf);
    CHECK(buf && strstr((char *)buf, "stale") && strstr(err_text, "run.previous-1"),
          "demo: the earlier folder moved aside whole, and said: %s", err_text);
    free(buf);
    st = run("%s", demo);
    CHECK(st == 0 && exists(in_dir("run.previous-2/results.json")), "a third run: the second moved aside");
    /* A failing run leaves the existing folder as it was. */
    st = run("demo --frames 7 --test-frames 8 --epochs 1 --no-figure --quiet --lr 100 --L0 1e-30 --out @/run");
    CHECK(st == 1 && !exists(in_dir("run.previous-3")) && exists(in_dir("run/results.json")),
          "a failed demo: status %d, run/ kept: %s", st, err_text);
    int partial = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        partial += strstr(e->d_name, ".partial-") != NULL;
    if (d) closedir(d);
    CHECK(partial == 0, "no .partial folder left after complete runs and a failed one");
}

/* ---- FIFOs as inputs ------------------------------------------------------ */

static void test_fifos(void)
{
    /* Before the fix each of these blocked for ever in open(). */
    mkfifo(in_dir("fifo.st"), 0644);
    mkfifo(in_dir("fifo.npy"), 0644);
    mkdir(in_dir("fifo_frames"), 0755);
    mkfifo(in_dir("fifo_frames/frames.npy"), 0644);
    run("generate --frames 12 --size 16 --radius 2 --out @/fifo_centres");
    unlink(in_dir("fifo_centres/centres.npy"));
    mkfifo(in_dir("fifo_centres/centres.npy"), 0644);
    mkdir(in_dir("fifo_run"), 0755);
    mkdir(in_dir("fifo_run/data"), 0755);
    mkdir(in_dir("fifo_run/data/train"), 0755);
    mkfifo(in_dir("fifo_run/data/train/frames.npy"), 0644);
    struct { const char *args, *word; } cases[] = {
        {"encode --model @/fifo.st --data @/v --out @/z.npy --quiet", "fifo.st"},
        {"encode --model @/m.st --data @/fifo.npy --out @/z.npy --quiet", "fifo.npy"},
        {"encode --model @/m.st --data @/fifo_frames --out @/z.npy --quiet", "frames.npy"},
        {"train --data @/fifo_centres --prior supervised --epochs 1 --quiet --save @/x.st", "centres.npy"},
        {"train --data @/v --resume @/fifo.st --quiet", "fifo.st"},
        {"probe --latents-train @/fifo.npy --targets-train @/y.npy --latents-test @/y.npy --targets-test @/y.npy",
         "fifo.npy"},
        {"figure --run @/fifo_run --quiet", "frames.npy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int st = run_env(TIMEOUT, "%s", cases[i].args);
        CHECK(refused(st, cases[i].word, "FIFO"), "ssvae %s: status %d (124: hung): %s", cases[i].args, st, err_text);
    }
}

/* ---- messages ------------------------------------------------------------- */

static void test_messages(void)
{
    ssvae_error err;
    /* a 1-D video: before, "got 0 dimensions" (read after the free) */
    uint8_t bytes[64] = {0};
    int64_t sh1[1] = {64};
    ssvae_npy_write(in_dir("oned.npy"), SSVAE_U8, 1, sh1, bytes, &err);
    int st = run("encode --model @/m.st --data @/oned.npy --out @/z.npy --quiet");
    CHECK(refused(st, "oned.npy", "found 1 dimensions: uint8 of shape (64,)"), "1-D video: %s", err_text);

    /* centres of the wrong length: before, "shape (0, K<=8, 2)" */
    run("generate --frames 12 --size 16 --radius 2 --out @/short_c");
    float c[3 * 2 * 2] = {0};
    int64_t cs[3] = {3, 2, 2};
    write_npy_f32(in_dir("short_c/centres.npy"), 3, cs, c);
    st = run("train --data @/short_c --prior supervised --epochs 1 --quiet --save @/x.st");
    CHECK(refused(st, "centres.npy", "shape (12, K, 2)") && strstr(err_text, "found float32 of shape (3, 2, 2)"),
          "short centres: %s", err_text);

    /* NaN in centres.npy: before, training blamed the learning rate and
     * --test printed "nan px" with exit 0 */
    run("generate --frames 12 --size 16 --radius 2 --out @/nan_c");
    ssvae_array ca;
    CHECK(ssvae_npy_read(in_dir("nan_c/centres.npy"), &ca, &err) == 0, "%s", err.msg);
    ((float *)ca.data)[2 * ca.shape[1] * 5 + 1] = NAN; /* frame 5, ball 0, y */
    write_npy_f32(in_dir("nan_c/centres.npy"), 3, ca.shape, ca.data);
    ssvae_array_free(&ca);
    st = run("train --data @/nan_c --prior supervised --epochs 1 --quiet --save @/x.st");
    CHECK(refused(st, "nan_c/centres.npy", "frame 5, ball 0"), "NaN centres: %s", err_text);
    st = run("train --data @/v --test @/nan_c --epochs 1 --quiet --save @/x.st");
    CHECK(refused(st, "nan_c/centres.npy", "finite"), "NaN centres in --test: %s", err_text);

    /* probe errors that named no file */
    float lat[4 * 6], y[4 * 2];
    for (int i = 0; i < 24; i++) lat[i] = (float)(i % 7);
    for (int i = 0; i < 8; i++) y[i] = (float)i;
    int64_t ls[2] = {4, 6}, ys[2] = {4, 2};
    write_npy_f32(in_dir("few.npy"), 2, ls, lat);
    write_npy_f32(in_dir("y.npy"), 2, ys, y);
    lat[3 * 6 + 2] = NAN;
    write_npy_f32(in_dir("lat_nan.npy"), 2, ls, lat);
    st = run("probe --latents-train @/few.npy --targets-train @/y.npy --latents-test @/few.npy --targets-test @/y.npy");
    CHECK(refused(st, "few.npy", "at least 7"), "probe: too few rows: %s", err_text);
    st = run("probe --latents-train @/lat_nan.npy --targets-train @/y.npy --latents-test @/few.npy "
             "--targets-test @/y.npy");
    CHECK(refused(st, "lat_nan.npy", "row 3, column 2"), "probe: NaN latents: %s", err_text);
    /* a K mismatch says both sides */
    run("generate --frames 12 --size 16 --radius 2 --balls 2 --out @/two_balls");
    st = run("probe --model @/m.st --train @/v --test @/two_balls");
    CHECK(refused(st, "two_balls", "2 balls") && strstr(err_text, "expects 16x16x3 frames and 3"),
          "probe: K mismatch: %s", err_text);

    /* a truncated PNG: before, only libpng's "Read Error" */
    mkdir(in_dir("trunc_png"), 0755);
    uint8_t px[16 * 16 * 3] = {0};
    unsigned char *png;
    ssvae_png_write(in_dir("trunc_png/0.png"), px, 16, 16, 3, &err);
    ssvae_png_write(in_dir("full.png"), px, 16, 16, 3, &err);
    long n = read_all(in_dir("full.png"), &png);
    write_raw(in_dir("trunc_png/1.png"), png, (size_t)n - 20);
    free(png);
    st = run("train --data @/trunc_png --epochs 1 --quiet --save @/x.st");
    CHECK(refused(st, "trunc_png/1.png", "truncated"), "truncated PNG: %s", err_text);

    /* a number out of range: before, "is not an integer" */
    st = run("generate --frames 99999999999999999999 --size 16 --radius 2 --out @/u");
    CHECK(st == 2 && one_line_naming("--frames") && strstr(err_text, "out of range"), "huge --frames: %s", err_text);
    st = run("train --lr 1e999 --data @/v --quiet");
    CHECK(st == 2 && one_line_naming("--lr") && strstr(err_text, "out of range"), "--lr 1e999: %s", err_text);

    /* control characters in a name: before, a newline split the message */
    st = run("encode --model '@/a\nb\033[31m.st' --data @/v --out @/z.npy --quiet");
    CHECK(refused(st, "a?b?[31m.st", "cannot open"), "newline in a name: %d lines: %s", err_lines, err_text);
    /* a very long path: before, cut at 511 bytes, the reason lost */
    char longp[1400] = "@";
    for (int i = 0; i < 4; i++) { /* 600 characters: over the 511 of a message, under scratch.h's limit */
        strcat(longp, "/");
        for (int k = 0; k < 150; k++) strcat(longp, "d");
        /* the folders exist, so only the last name is missing */
        char real[1600];
        snprintf(real, sizeof real, "%s%s", dir, longp + 1);
        mkdir(real, 0755);
    }
    st = run("encode --model %s/model.st --data @/v --out @/z.npy --quiet", longp);
    CHECK(refused(st, "model.st: cannot open: No such file or directory", "..."), "long path: %s", err_text);
    st = run("encode --model @/m.st --data %s/video.npy --out @/z.npy --quiet", longp);
    CHECK(refused(st, "video.npy: No such file or directory", NULL), "long path of a video: %s", err_text);
}

/* ---- sizes first, one minimum --------------------------------------------- */

static void test_sizes(void)
{
    /* the model's frame size against a PNG folder whose second frame is
     * not a PNG: the mismatch is found from the first frame, before the
     * rest is decoded (before: the whole video was read first) */
    mkdir(in_dir("big_png"), 0755);
    static uint8_t px[32 * 32 * 3];
    ssvae_error err;
    ssvae_png_write(in_dir("big_png/0.png"), px, 32, 32, 3, &err);
    write_raw(in_dir("big_png/1.png"), "not a PNG at all", 16);
    int st = run("encode --model @/m.st --data @/big_png --out @/z.npy --quiet");
    CHECK(refused(st, "m.st", "expects 16x16x3 frames") && strstr(err_text, "32x32x3"), "header first: %s",
          err_text);

    /* generate and train agree: 3 frames, two pairs */
    st = run("generate --frames 2 --size 16 --radius 2 --out @/g2");
    CHECK(st == 2 && one_line_naming("--frames") && !exists(in_dir("g2")), "generate --frames 2: %s", err_text);
    st = run("generate --frames 3 --size 16 --radius 2 --out @/g3");
    st |= run("train --data @/g3 --epochs 1 --quiet --save @/g3.st");
    CHECK(st == 0, "a 3-frame video from generate trains: %s", err_text);
    /* a 2-frame video made elsewhere: the message names it */
    uint8_t two[2 * 16 * 16 * 3] = {0};
    int64_t sh[4] = {2, 16, 16, 3};
    ssvae_npy_write(in_dir("two.npy"), SSVAE_U8, 4, sh, two, &err);
    st = run("train --data @/two.npy --epochs 1 --quiet --save @/x.st");
    CHECK(refused(st, "two.npy", "at least 3"), "a 2-frame video: %s", err_text);
    /* .npy format 3.0 is read, as the docs say */
    unsigned char *b;
    long n = read_all(in_dir("two.npy"), &b);
    unsigned char *v3 = malloc((size_t)n + 2);
    memcpy(v3, b, 8);
    v3[6] = 3;
    v3[8] = b[8]; v3[9] = b[9]; v3[10] = 0; v3[11] = 0; /* 4-byte header length */
    memcpy(v3 + 12, b + 10, (size_t)n - 10);
    write_raw(in_dir("v3.npy"), v3, (size_t)n + 2);
    ssvae_array a;
    CHECK(ssvae_npy_read(in_dir("v3.npy"), &a, &err) == 0 && a.ndim == 4 && a.shape[0] == 2,
          "npy format 3.0 is read: %s", err.msg);
    ssvae_array_free(&a);
    free(v3);
    free(b);
}

/* ---- the malformed-input suite at program level --------------------------- */

static void test_corpus(const char *corpus)
{
    static const struct { const char *sub, *args; } how[] = {
        {"npy", "encode --model @/m.st --data %s --out @/x.npy --quiet"},
        {"safetensors", "encode --model %s --data @/v --out @/x.npy --quiet"},
        {"model", "encode --model %s --data @/v --out @/x.npy --quiet"},
        {"resume", "train --data @/v --resume %s --save @/x.st --quiet"},
        {"png", "train --data @/png_case --epochs 1 --save @/x.st --quiet"},
    };
    int tried = 0;
    for (size_t k = 0; k < sizeof how / sizeof *how; k++) {
        char sub[700];
        snprintf(sub, sizeof sub, "%s/%s", corpus, how[k].sub);
        DIR *d = opendir(sub);
        CHECK(d != NULL, "%s: cannot read the seed corpus", sub);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (strncmp(e->d_name, "bad_", 4) && strncmp(e->d_name, "regress_", 8))
                continue;
            char file[1400];
            snprintf(file, sizeof file, "%s/%s", sub, e->d_name);
            const char *named = file;
            if (!strcmp(how[k].sub, "png")) { /* a good first frame, then the broken one */
                remove_tree(in_dir("png_case"));
                mkdir(in_dir("png_case"), 0755);
                static uint8_t px[16 * 16 * 3];
                ssvae_error err;
                            ssvae_png_write(in_dir("png_case/0.png"), px, 16, 16, 3, &err);
                unsigned char *b;
                long n = read_all(file, &b);
                write_raw(in_dir("png_case/1.png"), b, (size_t)n);
                free(b);
                named = "png_case/1.png";
            }
            int st = run(how[k].args, file);
            CHECK(refused(st, named, NULL), "ssvae on %s: status %d, %d lines: %s", file, st, err_lines, err_text);
            tried++;
        }
        if (d) closedir(d);
    }
    CHECK(tried >= 20, "the seed corpus gave %d broken files", tried);
    CHECK(!exists(in_dir("x.st")) && !exists(in_dir("x.npy")), "no output from a broken input");
}

int main(int argc, char **argv)
{
    (void)argc;
    if (make_scratch("/tmp/ssvae_faults_XXXXXX"))
        return 1;
    CHECK(cli_run_init(argv[0]) == 0, "%s is not built (make tests builds it)", prog);
    /* the seed corpus, from BUILD/tests/test_faults: BUILD/../fuzz/corpus */
    char corpus[600];
    snprintf(corpus, sizeof corpus, "%s", argv[0]);
    char *slash = strrchr(corpus, '/');
    if (slash) strcpy(slash, "/../../fuzz/corpus");
    if (!check_failed) {
        /* a small video with centres, its copy, and a model */
        int st = run("generate --frames 12 --size 16 --radius 2 --out @/v");
        st |= run("generate --frames 12 --size 16 --radius 2 --seed 2 --out @/v2");
        st |= run("train --data @/v --epochs 1 --quiet --save @/m.st");
        CHECK(st == 0, "setup: %s", err_text);
        test_outputs();
        test_finite();
        test_run_folder();
        test_fifos();
        test_messages();
        test_sizes();
        test_corpus(corpus);
        printf("test_faults: %d malformed inputs rejected by the program\n", nmalformed);
    }
    remove_tree(dir);
    return check_report("test_faults");
}
