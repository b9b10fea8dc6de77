/*
 * test_cli.c — the command-line contract of the ssvae program, checked by
 * running the built program beside this test (BUILD/ssvae) for every
 * subcommand: --help exits 0 with the usage on stdout; bad usage (an
 * unknown flag, a flag without its value, a value that is not a number or
 * is out of range, a stray argument, no or an unknown command) is exit
 * status 2 and one stderr line naming the culprit; a missing or malformed
 * input file is exit status 1 and one line naming the file; outputs that
 * cannot be written leave no temporary behind. Then a tiny run end to end
 * on 64x64 videos: generate (same seed, same bytes), train, encode (z.npy
 * is (T, 6) float32), probe, stop and resume (the same checkpoint bytes as
 * a run never stopped), and demo, sweep, theory, figure and bench --quick
 * at their smallest sizes.
 */
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "cli_run.h"
#include "scratch.h"
#include "ssvae.h"

/* Lines (newlines) of text, and occurrences of sub in it. */
static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static int count_substr(const char *text, const char *sub)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, sub)); p++)
        n++;
    return n;
}

/* 1 if the CSV texts a and b hold the same lines in any order, each
 * compared without its last field (a run's seconds). */
static int same_rows_but_seconds(const char *a, const char *b)
{
    if (count_lines(a) != count_lines(b))
        return 0;
    for (const char *p = a; *p;) {
        const char *nl = strchr(p, '\n'), *comma = p;
        if (!nl)
            return 0;
        for (const char *q = p; q < nl; q++)
            if (*q == ',')
                comma = q;
        size_t len = (size_t)(comma - p);
        int found = 0;
        for (const char *r = b; *r && !found;) {
            const char *rn = strchr(r, '\n');
            if (!rn)
                break;
            found = !strncmp(r, p, len) && r[len] == ',' && !memchr(r + len + 1, ',', (size_t)(rn - r - len - 1));
            r = rn + 1;
        }
        if (!found)
            return 0;
        p = nl + 1;
    }
    return 1;
}

/* ---- the program as a whole ---------------------------------------------- */

static const char *const commands[] = {"generate", "train", "probe", "encode", "demo",
                                       "sweep", "compare", "theory", "figure", "bench"};
#define NCOMMANDS ((int)(sizeof commands / sizeof *commands))

static void test_top_level(void)
{
    int st = run("");
    CHECK(st == 2 && err_lines == 1 && strstr(err_text, "--help"),
          "ssvae (no command): status %d, %d stderr lines: %s", st, err_lines, err_text);
    st = run("frobnicate --help");
    CHECK(st == 2 && one_line_naming("frobnicate"), "ssvae frobnicate: status %d, %d stderr lines: %s", st,
          err_lines, err_text);
    st = run("--frobnicate");
    CHECK(st == 2 && one_line_naming("--frobnicate"), "ssvae --frobnicate: status %d, %d lines", st, err_lines);
    st = run("--help");
    CHECK(st == 0 && err_lines == 0 && strstr(out_text, "usage: ssvae"), "ssvae --help: status %d", st);
    for (int i = 0; i < NCOMMANDS; i++) {
        char word[32];
        snprintf(word, sizeof word, "  %s ", commands[i]);
        CHECK(strstr(out_text, word) != NULL, "ssvae --help lists %s", commands[i]);
    }
    st = run("--version");
    CHECK(st == 0 && !strncmp(out_text, "ssvae ", 6), "ssvae --version: status %d: %s", st, out_text);
}

/* For each subcommand: --help, and the one-line errors of bad usage. The
 * bad part comes first and harmless small settings after it, so that a
 * flag wrongly accepted makes a quick run inside the test folder, never
 * the full-size default. */
typedef struct usage_case {
    const char *cmd;
    const char *safe;     /* small, harmless flags for this command */
    const char *valued;   /* a flag that takes a value */
    const char *number;   /* a numeric flag (NULL: the command has none) */
    const char *range;    /* "--flag value" out of its range */
} usage_case;

static const usage_case usage_cases[] = {
    {"generate", "--frames 3 --size 16 --radius 2 --step 1 --out @/u", "out", "frames", "--frames 0"},
    {"train", "--data @/nothing --epochs 0 --quiet --save @/u.st", "data", "epochs", "--batch 1"},
    {"probe", "--model @/nothing.st --test @/nothing", "model", NULL, NULL},
    {"encode", "--model @/nothing.st --out @/u.npy --quiet", "model", NULL, NULL},
    {"demo", "--frames 7 --test-frames 8 --epochs 0 --no-data --quiet --out @/u", "out", "frames",
     "--frames 6"},
    {"sweep", "--list --out @/u", "out", "seeds", "--seeds 0"},
    {"compare", "--frames 7 --test-frames 8 --epochs 0 --quiet --out @/u", "out", "seeds", "--seeds 0"},
    {"theory", "--samples 100 --reps 2 --batch-max 512 --quiet --out @/u", "out", "samples", "--samples 99"},
    {"figure", "--run @/nothing --quiet", "run", "frame", "--scale 9"},
    {"bench", "--quick --threads 1 --frames 6", "json", "reps", "--reps 0"},
};

static void test_usage(void)
{
    for (size_t i = 0; i < sizeof usage_cases / sizeof *usage_cases; i++) {
        const usage_case *c = &usage_cases[i];
        char want[64];
        int st = run("%s --help", c->cmd);
        snprintf(want, sizeof want, "usage: ssvae %s", c->cmd);
        CHECK(st == 0 && err_lines == 0 && !strncmp(out_text, want, strlen(want)) && strstr(out_text, "--help"),
              "ssvae %s --help: status %d, %d stderr lines", c->cmd, st, err_lines);
        st = run("%s -h", c->cmd);
        CHECK(st == 0 && !strncmp(out_text, want, strlen(want)), "ssvae %s -h: status %d", c->cmd, st);

        st = run("%s --no-such-flag %s", c->cmd, c->safe);
        CHECK(st == 2 && one_line_naming("--no-such-flag"), "ssvae %s --no-such-flag: status %d, %d lines: %s",
              c->cmd, st, err_lines, err_text);
        st = run("%s --no-such-flag=3 %s", c->cmd, c->safe);
        CHECK(st == 2 && one_line_naming("--no-such-flag"), "ssvae %s --no-such-flag=3: status %d, %d lines",
              c->cmd, st, err_lines);
        st = run("%s stray %s", c->cmd, c->safe);
        CHECK(st == 2 && one_line_naming("stray"), "ssvae %s stray: status %d, %d lines: %s", c->cmd, st,
              err_lines, err_text);

        char flag[64];
        snprintf(flag, sizeof flag, "--%s", c->valued);
        st = run("%s %s --%s", c->cmd, c->safe, c->valued);
        CHECK(st == 2 && one_line_naming(flag), "ssvae %s ... --%s (no value): status %d, %d lines: %s", c->cmd,
              c->valued, st, err_lines, err_text);
        if (c->number) {
            snprintf(flag, sizeof flag, "--%s", c->number);
            st = run("%s --%s abc %s", c->cmd, c->number, c->safe);
            CHECK(st == 2 && one_line_naming(flag), "ssvae %s --%s abc: status %d, %d lines: %s", c->cmd,
                  c->number, st, err_lines, err_text);
            st = run("%s --%s=12x %s", c->cmd, c->number, c->safe);
            CHECK(st == 2 && one_line_naming(flag), "ssvae %s --%s=12x: status %d, %d lines", c->cmd, c->number,
                  st, err_lines);
            st = run("%s --%s '' %s", c->cmd, c->number, c->safe);
            CHECK(st == 2 && one_line_naming(flag), "ssvae %s --%s '': status %d, %d lines", c->cmd, c->number,
                  st, err_lines);
        }
        if (c->range) {
            snprintf(flag, sizeof flag, "%s", c->range);
            *strchr(flag, ' ') = '\0';
            st = run("%s %s %s", c->cmd, c->range, c->safe);
            CHECK(st == 2 && one_line_naming(flag) && strstr(err_text, "range"),
                  "ssvae %s %s: status %d, %d lines: %s", c->cmd, c->range, st, err_lines, err_text);
        }
    }

    /* the other kinds of value, and the checks made after parsing */
    struct { const char *args, *word; } cases[] = {
        {"generate --frames 99999999999999999999 --size 16 --radius 2 --out @/u", "--frames"},
        {"generate --seed -1 --frames 3 --size 16 --radius 2 --out @/u", "--seed"},
        {"generate --seed 18446744073709551616 --frames 3 --size 16 --radius 2 --out @/u", "--seed"},
        {"generate --radius nan --frames 3 --size 16 --out @/u", "--radius"},
        {"generate --radius 0.1 --frames 3 --size 16 --out @/u", "--radius"},
        {"generate --grey=1 --frames 3 --size 16 --radius 2 --out @/u", "--grey"},
        {"generate --colours 1,2 --frames 3 --size 16 --radius 2 --out @/u", "--colours"},
        {"train --lr abc --data @/nothing --quiet", "--lr"},
        {"train --lr 0 --data @/nothing --quiet", "--lr"},
        {"train --momentum 1 --data @/nothing --quiet", "--momentum"},
        {"train --seed x --data @/nothing --quiet", "--seed"},
        {"train --prior bogus --data @/nothing --quiet", "--prior"},
        {"train --maps 9 --data @/nothing --quiet", "--maps"},
        /* a bad recipe is bad usage, whatever --data holds */
        {"train --preset bogus --data @/nothing --quiet", "--preset"},
        {"train --optim bogus --data @/nothing --quiet", "--optim"},
        {"train --L0 -1 --data @/nothing --quiet", "--L0"},
        {"train --units furlongs --data @/nothing --quiet", "--units"},
        {"probe --model @/nothing.st", "--test"},
        {"probe --targets-train @/y.npy --test @/nothing", "--targets-test"},
        {"demo --preset bogus --frames 7 --test-frames 8 --epochs 0 --no-data --quiet --out @/u", "--preset"},
        {"demo --test-frames 7 --frames 7 --epochs 0 --no-data --quiet --out @/u", "--test-frames"},
        {"sweep --only no-such-setting --frames 7 --test-frames 8 --epochs 0 --quiet --out @/u", "no-such-setting"},
        {"sweep --lr 1e999 --list", "--lr"},
        {"theory --batch-max 1000 --samples 100 --reps 2 --quiet --out @/u", "--batch-max"},
        {"theory --out '' --samples 100 --reps 2 --batch-max 512 --quiet", "--out"},
        {"figure --scale 9 --run @/nothing", "--scale"},
        {"figure --quiet", "--run"},
        {"bench --sizes 64, --quick --threads 1", "--sizes"},
        {"bench --threads 0 --quick", "--threads"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int st = run("%s", cases[i].args);
        CHECK(st == 2 && one_line_naming(cases[i].word), "ssvae %s: status %d (want 2), %d stderr lines: %s",
              cases[i].args, st, err_lines, err_text);
    }
    CHECK(!exists(in_dir("u")) && !exists(in_dir("u.st")) && !exists(in_dir("u.npy")),
          "bad usage wrote nothing into %s", dir);
}

/* ---- generate ------------------------------------------------------------ */

static void test_generate(void)
{
    ssvae_array a = {0}, b = {0};
    ssvae_error err;
    int tmps;
    /* the small video of the brief */
    int st = run("generate --frames 3 --width 32 --height 24 --balls 1 --radius 4 --step 3 --seed 7 --out @/g1");
    CHECK(st == 0 && err_lines == 0 && strstr(out_text, "frames.npy"), "generate 3 x 24 x 32, 1 ball: status %d: %s",
          st, err_text);
    CHECK(ssvae_npy_read(in_dir("g1/frames.npy"), &a, &err) == 0 && a.dtype == SSVAE_U8 && a.ndim == 4 &&
              a.shape[0] == 3 && a.shape[1] == 24 && a.shape[2] == 32 && a.shape[3] == 3,
          "generate: frames.npy is (3, 24, 32, 3) uint8");
    CHECK(ssvae_npy_read(in_dir("g1/centres.npy"), &b, &err) == 0 && b.dtype == SSVAE_F32 && b.ndim == 3 &&
              b.shape[0] == 3 && b.shape[1] == 1 && b.shape[2] == 2,
          "generate: centres.npy is (3, 1, 2) float32");
    ssvae_array_free(&a);
    ssvae_array_free(&b);
    CHECK(count_files(in_dir("g1"), &tmps) == 2 && tmps == 0, "generate wrote 2 files, no temporaries");

    /* same seed, same bytes; another seed, other bytes */
    st = run("generate --frames 5 --size 48 --radius 5 --step 4 --seed 7 --out @/s7a");
    st |= run("generate --frames 5 --size 48 --radius 5 --step 4 --seed 7 --out @/s7b");
    st |= run("generate --frames 5 --size 48 --radius 5 --step 4 --seed 8 --out @/s8");
    CHECK(st == 0, "generate three 48x48 videos: status %d", st);
    CHECK(same_bytes(in_dir("s7a/frames.npy"), in_dir("s7b/frames.npy")) &&
              same_bytes(in_dir("s7a/centres.npy"), in_dir("s7b/centres.npy")),
          "generate --seed 7 twice: byte-identical frames.npy and centres.npy");
    CHECK(!same_bytes(in_dir("s7a/frames.npy"), in_dir("s8/frames.npy")), "generate --seed 8 differs from 7");
    /* the largest seed is a seed */
    st = run("generate --frames 3 --size 16 --radius 2 --step 1 --seed 18446744073709551615 --out @/smax");
    CHECK(st == 0 && err_lines == 0, "generate --seed 2^64-1: status %d: %s", st, err_text);

    /* balls that cannot fit: the flags disagree, one line */
    st = run("generate --frames 3 --width 32 --height 24 --balls 1 --out @/nofit");
    CHECK(st == 2 && err_lines == 1 && strstr(err_text, "fit") && !exists(in_dir("nofit")),
          "generate, default radius in 32x24: status %d, %d lines: %s", st, err_lines, err_text);

    /* outputs that cannot be written: status 1, one line, nothing left */
    write_text(in_dir("a-file"), "not a folder\n");
    st = run("generate --frames 3 --size 16 --radius 2 --out @/a-file/x");
    CHECK(st == 1 && one_line_naming("a-file"), "generate --out under a file: status %d, %d lines: %s", st,
          err_lines, err_text);
    mkdir(in_dir("locked"), 0555);
    chmod(in_dir("locked"), 0555);
    if (geteuid() != 0) { /* root writes anywhere */
        st = run("generate --frames 3 --size 16 --radius 2 --out @/locked");
        CHECK(st == 1 && one_line_naming("locked"), "generate --out unwritable: status %d, %d lines: %s", st,
              err_lines, err_text);
        CHECK(count_files(in_dir("locked"), &tmps) == 0, "generate left nothing in the unwritable folder");
    }
    chmod(in_dir("locked"), 0755);
    /* centres.npy cannot be renamed into place (a folder of that name): the
     * run fails after frames.npy, and leaves no temporary */
    mkdir(in_dir("half"), 0777);
    mkdir(in_dir("half/centres.npy"), 0777);
    mkdir(in_dir("half/centres.npy/x"), 0777);
    st = run("generate --frames 3 --size 16 --radius 2 --out @/half");
    CHECK(st == 1 && one_line_naming("centres.npy"), "generate, centres.npy a folder: status %d, %d lines: %s", st,
          err_lines, err_text);
    int n = count_files(in_dir("half"), &tmps);
    CHECK(n == 2 && tmps == 0, "generate left %d files, %d temporaries, in %s", n, tmps, in_dir("half"));
}

/* ---- a tiny run end to end ----------------------------------------------- */

static void test_end_to_end(void)
{
    ssvae_error err;
    int st = run("generate --frames 40 --size 64 --radius 4 --step 4 --seed 1 --out @/train");
    st |= run("generate --frames 20 --size 64 --radius 4 --step 4 --seed 2 --out @/test");
    CHECK(st == 0, "generate the 64x64 training and test videos: status %d: %s", st, err_text);

    /* train: a checkpoint, stdout says so, --quiet keeps stderr empty */
    st = run("train --data @/train --prior gaussian --epochs 2 --quiet --save @/straight.st");
    CHECK(st == 0 && err_lines == 0 && strstr(out_text, "straight.st"), "train --epochs 2: status %d: %s", st,
          err_text);
    ssvae_model m = {0};
    CHECK(ssvae_model_load(&m, in_dir("straight.st"), &err) == 0 && m.cfg.W == 64 && m.cfg.H == 64 &&
              m.cfg.C == 3 && m.cfg.K == 3 && m.D == 6 && !m.cfg.supervised,
          "train: a 64x64x3 gaussian model with 3 maps: %s", err.msg);
    ssvae_model_free(&m);
    st = run("train --data @/train --test @/test --prior linear --epochs 1 --batch 10 --quiet --save @/lin.st");
    CHECK(st == 0 && err_lines == 0 && strstr(out_text, "probe test") && strstr(out_text, "linear"),
          "train --test --prior linear: status %d: %s", st, err_text);

    /* encode: (T, 2K) float32 latents in [0, 1] */
    st = run("encode --model @/straight.st --data @/test --out @/z.npy --quiet");
    CHECK(st == 0 && err_lines == 0, "encode: status %d: %s", st, err_text);
    ssvae_array z = {0};
    CHECK(ssvae_npy_read(in_dir("z.npy"), &z, &err) == 0 && z.dtype == SSVAE_F32 && z.ndim == 2 &&
              z.shape[0] == 20 && z.shape[1] == 6,
          "encode: z.npy is (20, 6) float32: %s", err.msg);
    int inside = z.data != NULL;
    for (int64_t i = 0; z.data && i < ssvae_array_count(&z); i++) {
        float v = ((const float *)z.data)[i];
        inside &= v >= 0 && v <= 1;
    }
    CHECK(inside, "encode: latents are finite, in [0, 1]");
    ssvae_array_free(&z);
    st = run("encode --model @/straight.st --data @/test/frames.npy --out @/z2.npy");
    CHECK(st == 0 && err_lines == 1 && same_bytes(in_dir("z.npy"), in_dir("z2.npy")),
          "encode frames.npy (not quiet: one note): status %d, %d lines", st, err_lines);

    /* probe */
    st = run("probe --model @/straight.st --train @/train --test @/test");
    CHECK(st == 0 && err_lines == 0 && strstr(out_text, "probe test") && strstr(out_text, "chance level"),
          "probe: status %d: %s", st, err_text);

    /* stop after epoch 1, resume to 2: the bytes of the run never stopped */
    st = run("train --data @/train --prior gaussian --epochs 1 --save-every 1 --quiet --save @/part.st");
    CHECK(st == 0, "train --epochs 1 --save-every 1: status %d: %s", st, err_text);
    CHECK(!same_bytes(in_dir("part.st"), in_dir("straight.st")), "after 1 epoch the checkpoint differs");
    st = run("train --data @/train --resume @/part.st --epochs 2 --quiet");
    CHECK(st == 0 && err_lines == 0 && strstr(out_text, "part.st"), "train --resume --epochs 2: status %d: %s", st,
          err_text);
    ssvae_model a = {0}, b = {0};
    CHECK(ssvae_model_load(&a, in_dir("straight.st"), &err) == 0 && ssvae_model_load(&b, in_dir("part.st"), &err) == 0,
          "load both checkpoints: %s", err.msg);
    CHECK(a.params && b.params && a.nparams == b.nparams &&
              !memcmp(a.params, b.params, a.nparams * sizeof *a.params) &&
              !memcmp(a.stats, b.stats, (2 * (size_t)a.cfg.F + 2 * (size_t)a.cfg.K) * sizeof *a.stats),
          "train --resume: parameters and running statistics equal the straight run's");
    ssvae_model_free(&a);
    ssvae_model_free(&b);
    CHECK(same_bytes(in_dir("part.st"), in_dir("straight.st")),
          "train --resume: the checkpoint is byte-identical to the straight 2-epoch run's");
    st = run("train --data @/train --resume @/part.st --epochs 1 --quiet");
    CHECK(st == 2 && one_line_naming("--epochs"), "train --resume past --epochs: status %d: %s", st, err_text);

    /* the bn2 start: a fresh run begins from it, the checkpoint keeps it,
     * and a resume continues from the trained values, not from it again */
    st = run("train --data @/train --epochs 0 --bn2-bias -5 --bn2-gain 2 --quiet --save @/bn2e0.st");
    CHECK(st == 0 && ssvae_model_load(&a, in_dir("bn2e0.st"), &err) == 0, "train --bn2-bias -5 --epochs 0: %d: %s%s",
          st, err_text, err.msg);
    CHECK(a.bn2_b && a.bn2_b[0] == -5.0f && a.bn2_b[a.cfg.K - 1] == -5.0f && a.bn2_w[0] == 2.0f,
          "after 0 epochs bn2 starts at gamma 2, beta -5");
    ssvae_model_free(&a);
    st = run("train --data @/train --epochs 2 --bn2-bias -5 --quiet --save @/bn2straight.st");
    st |= run("train --data @/train --epochs 1 --bn2-bias -5 --save-every 1 --quiet --save @/bn2part.st");
    ssvae_train_config lc;
    ssvae_train_state ls;
    CHECK(st == 0 && ssvae_train_load(in_dir("bn2part.st"), &a, &lc, &ls, &err) == 0 && lc.bn2_bias == -5 &&
              lc.bn2_gain == 1, "the checkpoint's recipe keeps bn2 bias -5: %s%s", err_text, err.msg);
    ssvae_model_free(&a);
    ssvae_train_state_free(&ls);
    st = run("train --data @/train --resume @/bn2part.st --epochs 2 --quiet");
    CHECK(st == 0 && same_bytes(in_dir("bn2part.st"), in_dir("bn2straight.st")),
          "train --bn2-bias -5 stopped and resumed: the bytes of the run never stopped (%d: %s)", st, err_text);
    st = run("train --data @/train --resume @/bn2part.st --bn2-bias -3 --epochs 3 --quiet");
    CHECK(st == 2 && one_line_naming("--resume"), "--bn2-bias with --resume: status %d: %s", st, err_text);
    st = run("train --data @/train --bn2-bias -101 --epochs 0 --quiet --save @/x.st");
    CHECK(st == 2 && one_line_naming("--bn2-bias"), "--bn2-bias -101: status %d: %s", st, err_text);
    st = run("train --data @/train --bn2-gain nan --epochs 0 --quiet --save @/x.st");
    CHECK(st == 2 && one_line_naming("--bn2-gain"), "--bn2-gain nan: status %d: %s", st, err_text);

    /* missing and malformed inputs: status 1, one line naming the file */
    write_text(in_dir("junk.safetensors"), "this is not a checkpoint\n");
    struct { const char *args, *word; } cases[] = {
        {"train --data @/nothing-here --epochs 1 --quiet --save @/x.st", "nothing-here"},
        {"train --data @/train --test @/nothing-here --epochs 1 --quiet --save @/x.st", "nothing-here"},
        {"train --data @/junk.safetensors --epochs 1 --quiet --save @/x.st", "junk.safetensors"},
        {"train --data @/train --resume @/junk.safetensors --quiet", "junk.safetensors"},
        {"train --data @/train --resume @/nothing-here.st --quiet", "nothing-here.st"},
        {"probe --model @/junk.safetensors --train @/train --test @/test", "junk.safetensors"},
        {"probe --model @/nothing-here.st --train @/train --test @/test", "nothing-here.st"},
        {"probe --model @/straight.st --train @/train --test @/nothing-here", "nothing-here"},
        {"probe --model @/straight.st --train @/train/frames.npy --test @/test", "frames.npy"},
        {"probe --model @/z.npy --train @/train --test @/test", "z.npy"},
        {"encode --model @/junk.safetensors --data @/test --out @/x.npy --quiet", "junk.safetensors"},
        {"encode --model @/straight.st --data @/junk.safetensors --out @/x.npy --quiet", "junk.safetensors"},
        {"encode --model @/straight.st --data @/s7a --out @/x.npy --quiet", "straight.st"}, /* 48x48 */
        {"encode --model @/straight.st --data @/test --out @/a-file/x.npy --quiet", "a-file/x.npy"},
        {"figure --run @/nothing-here --quiet", "nothing-here"},
        {"demo --frames 7 --test-frames 8 --epochs 0 --no-data --quiet --out @/a-file/d", "a-file"},
        {"sweep --only untrained --frames 7 --test-frames 8 --epochs 0 --quiet --out @/a-file/s", "a-file"},
        {"theory --samples 100 --reps 2 --batch-max 512 --quiet --out @/a-file/t", "a-file"},
        {"compare --frames 7 --test-frames 8 --epochs 0 --quiet --out @/a-file/c", "a-file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        st = run("%s", cases[i].args);
        CHECK(st == 1 && one_line_naming(cases[i].word), "ssvae %s: status %d (want 1), %d stderr lines: %s",
              cases[i].args, st, err_lines, err_text);
    }
    CHECK(!exists(in_dir("x.st")) && !exists(in_dir("x.npy")), "failed runs wrote no output");
    int tmps;
    count_files(dir, &tmps);
    CHECK(tmps == 0, "no temporaries left in %s", dir);
}

/* ---- the bigger commands at their smallest -------------------------------- */

static void test_commands(void)
{
    int tmps;
    char path[700];
    /* demo: the Figure 1C table as results.csv, one row a model. Its
     * frames are 256x256: under the sanitizers (-O1, ASan) 40 + 20 of
     * them take 25 s, so there the videos are 10 + 8 frames (7 s). */
    int sanitized = getenv("SSVAE_SANITIZED") != NULL, T_test = sanitized ? 8 : 20;
    int st = run("demo --frames %d --test-frames %d --epochs 1 --no-figure --quiet --out @/demo", sanitized ? 10 : 40,
                 T_test);
    CHECK(st == 0 && err_lines == 0 && strstr(out_text, "Figure 1C"), "demo: status %d: %s", st, err_text);
    static char csv[1 << 14];
    slurp(in_dir("demo/results.csv"), csv, sizeof csv);
    const char *rows[] = {"untrained,", "gaussian,", "linear,", "supervised,"};
    const char *line = strchr(csv, '\n');
    int order = !strncmp(csv, "model,", 6) && line;
    for (int i = 0; i < 4 && order; i++) {
        order = !strncmp(line + 1, rows[i], strlen(rows[i]));
        line = strchr(line + 1, '\n');
        order &= line != NULL;
    }
    CHECK(order && line[1] == '\0', "demo: results.csv holds the header and 4 rows in order:\n%s", csv);
    CHECK(exists(in_dir("demo/results.json")) && exists(in_dir("demo/models/gaussian.safetensors")) &&
              exists(in_dir("demo/latents/supervised_test.npy")) && exists(in_dir("demo/data/test/frames.npy")) &&
              !exists(in_dir("demo/figures")),
          "demo: results.json, models, latents and data, no figures");

    /* figure from that folder */
    st = run("figure --run @/demo --out @/fig --scale 0.25 --quiet");
    CHECK(st == 0 && err_lines == 0 && out_text[0] == '\0', "figure --quiet: status %d: %s", st, err_text);
    int n = count_files(in_dir("fig"), &tmps);
    CHECK(n == 7 && tmps == 0, "figure wrote 7 pictures (%d, %d temporaries)", n, tmps);
    st = run("figure --run @/demo --frame %d --out @/fig2 --quiet", T_test - 1);
    CHECK(st == 1 && err_lines == 1 && !exists(in_dir("fig2")),
          "figure --frame %d (the last, no next): status %d, %d lines: %s", T_test - 1, st, err_lines, err_text);

    /* --pool reads every folder of its list: the last one is missing */
    st = run("figure --run @/demo --pool @/demo,@/demo,@/missing-run --out @/fig3 --quiet");
    CHECK(st == 1 && err_lines == 1 && strstr(err_text, "missing-run") && !exists(in_dir("fig3")),
          "figure --pool with a missing third folder: status %d, %d lines: %s", st, err_lines, err_text);
    st = run("figure --run @/demo --pool @/demo,@/demo --out @/fig4 --scale 0.25 --quiet");
    CHECK(st == 0 && err_lines == 0, "figure --pool of two folders: status %d: %s", st, err_text);

    /* sweep */
    st = run("sweep --list");
    CHECK(st == 0 && err_lines == 0 && strstr(out_text, "gaussian-sgd-L0.01") && strstr(out_text, "linear-adam-I"),
          "sweep --list: status %d", st);
    st = run("sweep --seeds 1 --only untrained --frames 7 --test-frames 8 --epochs 0 --quiet --out @/sweep");
    snprintf(path, sizeof path, "%s/sweep/sweep.csv", dir);
    CHECK(st == 0 && err_lines == 0 && exists(path) && exists(in_dir("sweep/summary.csv")),
          "sweep --only untrained: status %d: %s", st, err_text);
    slurp(path, csv, sizeof csv);
    /* columns 13 and 14 (from 0) are the seed and the data seed */
    CHECK(strstr(csv, "\nuntrained-e0,untrained,") && strstr(csv, ",norm,1,0,1,1,7,8,"),
          "sweep: seed 1's videos are seed 1's: %s", csv);
    st = run("sweep --seeds 2 --data-seed 5 --only untrained --frames 7 --test-frames 8 --epochs 0 --quiet --out @/sweep2");
    snprintf(path, sizeof path, "%s/sweep2/sweep.csv", dir);
    slurp(path, csv, sizeof csv);
    CHECK(st == 0 && strstr(csv, ",norm,1,0,1,5,7,8,") && strstr(csv, ",norm,1,0,2,5,7,8,"),
          "sweep --data-seed 5: every run on video 5: status %d: %s", st, csv);

    /* a grid as flags: 2 priors x 2 bn2 starts x 2 seeds, one row a run */
    static const char grid[] = "sweep --priors gaussian,linear --bn2-bias 0,-5 --epochs 0 --seeds 2 --frames 7 "
                               "--test-frames 8 --quiet --out @/grid";
    st = run("%s", grid);
    static char full[1 << 14], again[1 << 14];
    long nfull = slurp(in_dir("grid/sweep.csv"), full, sizeof full);
    CHECK(st == 0 && err_lines == 0 && count_lines(full) == 9 && count_substr(full, ",norm,1,-5,") == 4 &&
              count_substr(full, "\ngaussian-b-5-e0,gaussian,") == 2,
          "sweep grid: header and 8 runs, 4 of them with bias -5: status %d: %s%s", st, err_text, full);
    slurp(in_dir("grid/summary.csv"), csv, sizeof csv);
    CHECK(count_lines(csv) == 5, "summary.csv: one line per setting: %s", csv);
    /* rerun: nothing added */
    st = run("%s", grid);
    slurp(in_dir("grid/sweep.csv"), again, sizeof again);
    CHECK(st == 0 && !strcmp(full, again), "sweep rerun: sweep.csv unchanged (status %d)", st);
    /* a run killed while writing its row: five rows and half of the sixth
     * remain; the rerun drops the half row and runs the three left, with
     * the same numbers as the first time */
    long cut = 0;
    for (int nl = 0; cut < nfull && nl < 6; cut++) nl += full[cut] == '\n';
    cut += 30;
    FILE *f = fopen(in_dir("grid/sweep.csv"), "wb");
    if (f) {
        fwrite(full, 1, (size_t)cut, f);
        fclose(f);
    }
    st = run_env(NULL, "%s", grid);
    slurp(in_dir("grid/sweep.csv"), again, sizeof again);
    CHECK(st == 0 && count_lines(again) == 9 && strstr(err_text, "cut off") && same_rows_but_seconds(full, again),
          "sweep resumed after a kill: 8 rows, none twice, the same results (status %d): %s%s", st, err_text, again);
    /* bad grids: status 2, one line naming the flag, nothing run */
    struct { const char *args, *word; } bad[] = {
        {"sweep --bn2-bias 0,abc --out @/grid", "--bn2-bias"},
        {"sweep --bn2-bias 0,-500 --out @/grid", "--bn2-bias"},
        {"sweep --lr 0.005,,0.05 --out @/grid", "--lr"},
        {"sweep --scale sometimes --out @/grid", "--scale"},
        {"sweep --scale fixed --L0 data --out @/grid", "--scale"},
        {"sweep --priors gaussian,nonesuch --out @/grid", "nonesuch"},
        {"sweep --optim sgd,rmsprop --out @/grid", "--optim"},
        {"sweep --epochs 1.5 --out @/grid", "--epochs"},
        {"sweep --only untrained --priors linear --out @/grid", "--only"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        st = run("%s", bad[i].args);
        CHECK(st == 2 && one_line_naming(bad[i].word), "ssvae %s: status %d (want 2): %s", bad[i].args, st,
              err_text);
    }
    slurp(in_dir("grid/sweep.csv"), again, sizeof again);
    CHECK(!strcmp(full, again) || same_rows_but_seconds(full, again), "bad grids left sweep.csv as it was");
    /* a sweep.csv with other columns is not appended to */
    mkdir(in_dir("oldsweep"), 0777);
    write_text(in_dir("oldsweep/sweep.csv"), "setting,seed,data_seed,elbo_nats\nuntrained,1,1,-\n");
    st = run("sweep --only untrained --frames 7 --test-frames 8 --epochs 0 --quiet --out @/oldsweep");
    CHECK(st == 1 && one_line_naming("sweep.csv"), "sweep into an old sweep.csv: status %d: %s", st, err_text);

    /* compare: one row per prior of the table, between the references,
     * and an output folder that appears whole or not at all */
    st = run("compare --frames 7 --test-frames 8 --epochs 1 --seeds 2 --quiet --out @/cmp");
    CHECK(st == 0 && err_lines == 0 && strstr(out_text, "mean ± sd over 2 seeds"), "compare: status %d: %s", st,
          err_text);
    const char *cmp_files[] = {"compare.csv", "compare.json", "runs.csv", "errors.png", "maps.png",
                               "models/gaussian.safetensors", "latents/linear_test.npy"};
    for (size_t i = 0; i < sizeof cmp_files / sizeof *cmp_files; i++) {
        snprintf(path, sizeof path, "%s/cmp/%s", dir, cmp_files[i]);
        CHECK(exists(path), "compare wrote %s", path);
    }
    slurp(in_dir("cmp/compare.csv"), csv, sizeof csv);
    int lines = 0;
    for (const char *q = csv; *q; q++) lines += *q == '\n';
    CHECK(lines == 1 + SSVAE_PRIOR_COUNT + 2 && strstr(csv, "\nuntrained,2,") && strstr(csv, "\nsupervised,2,"),
          "compare.csv: a header, untrained, %d priors, supervised: %s", SSVAE_PRIOR_COUNT, csv);
    for (int k = 0; k < SSVAE_PRIOR_COUNT; k++) {
        char want[64];
        snprintf(want, sizeof want, "\n%s,2,", ssvae_prior_get(k)->name);
        CHECK(strstr(csv, want) != NULL, "compare.csv has the row of prior %s", ssvae_prior_get(k)->name);
    }
    slurp(in_dir("cmp/runs.csv"), csv, sizeof csv);
    CHECK(strstr(csv, "\ngaussian,1,") && strstr(csv, "\ngaussian,2,"), "runs.csv: every seed's run: %s", csv);
    st = run("compare --frames 7 --test-frames 8 --epochs 0 --priors linear --quiet --out @/cmp");
    CHECK(st == 1 && one_line_naming("--force"), "compare into an existing folder: status %d: %s", st, err_text);
    slurp(in_dir("cmp/compare.csv"), csv, sizeof csv);
    CHECK(strstr(csv, "\ngaussian,2,") != NULL, "the refused run left the folder as it was");
    st = run("compare --frames 7 --test-frames 8 --epochs 0 --priors linear --quiet --force --out @/cmp");
    slurp(in_dir("cmp/compare.csv"), csv, sizeof csv);
    CHECK(st == 0 && strstr(csv, "\nlinear,1,") && !strstr(csv, "\ngaussian,"),
          "compare --force --priors linear replaced the folder: status %d: %s %s", st, err_text, csv);
    snprintf(path, sizeof path, "%s/cmp/models/gaussian.safetensors", dir);
    CHECK(!exists(path), "the replaced folder holds nothing of the previous run");
    st = run("compare --priors linear,nonesuch --quiet --out @/cmp2");
    CHECK(st == 2 && one_line_naming("nonesuch") && !exists(in_dir("cmp2")), "compare --priors nonesuch: status %d: %s",
          st, err_text);
    st = run("compare --priors linear,linear --quiet --out @/cmp2");
    CHECK(st == 2 && one_line_naming("--priors"), "compare --priors linear,linear: status %d: %s", st, err_text);
    st = run("compare --frames 7 --test-frames 8 --frame 7 --quiet --out @/cmp2");
    CHECK(st == 2 && one_line_naming("--frame"), "compare --frame past the last pair: status %d: %s", st, err_text);
    count_files(dir, &tmps);
    CHECK(tmps == 0, "compare left no temporary folder in %s", dir);

    /* theory, small */
    st = run("theory --samples 2000 --reps 2 --batch-max 512 --quiet --out @/theory");
    CHECK(st == 0 && err_lines == 0 && strstr(out_text, ", 0 failed") && exists(in_dir("theory/theory.json")),
          "theory: status %d: %s%s", st, out_text, err_text);
    st = run("theory --staircase --steps 2 --quiet --out @/stair");
    CHECK(st == 0 && err_lines == 0 && exists(in_dir("stair/staircase.csv")), "theory --staircase: status %d: %s",
          st, err_text);

    /* bench --quick at 1 and 2 threads: the parameters agree */
    st = run_env("OMP_NUM_THREADS=2", "bench --quick --json @/bench.json");
    CHECK(st == 0 && err_lines == 0 && has_line(out_text, "size=64 identical=yes") && exists(in_dir("bench.json")),
          "bench --quick: status %d, 'size=64 identical=yes' %s: %s", st,
          has_line(out_text, "size=64 identical=yes") ? "printed" : "missing", err_text);
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    (void)argc;
    if (make_scratch("/tmp/ssvae_cli_XXXXXX"))
        return 1;
    CHECK(cli_run_init(argv[0]) == 0, "%s is not built (make tests builds it)", prog);
    if (check_failed) {
        remove_tree(dir);
        return check_report("test_cli");
    }
    test_top_level();
    test_usage();
    test_generate();
    test_end_to_end();
    test_commands();
    remove_tree(dir);
    return check_report("test_cli");
}
