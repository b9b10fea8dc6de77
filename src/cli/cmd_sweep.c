/*
 * cmd_sweep.c — `ssvae sweep`, the experiment of `ssvae demo` over many
 * settings and seeds, cheap to leave running unattended.
 *
 * The settings are either a grid given as flags (comma lists: --priors,
 * --optim, --lr, --scale, --L0, --W0, --units, --bn2-gain, --bn2-bias,
 * --epochs, --batch; the cartesian product of them), or the named
 * settings of the table below (--only, --list), which the lists of --lr,
 * --epochs, --batch and the bn2 start multiply too.
 *
 * Every run is one row of OUT/sweep.csv, appended and flushed as soon as
 * it finishes; rerunning the same command skips the runs already there
 * (a run is known by its full resolved recipe, its seed and its videos),
 * so a killed sweep resumes where it stopped. A row cut off by the kill
 * is dropped. At the end OUT/summary.csv holds one line per setting.
 *
 * Seeds: with seed S the training video has seed S, the held-out video
 * S + 1, and every model is initialised and shuffled with seed S
 * (--data-seed N: every run on videos N and N + 1).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

/* One named setting: a head and a recipe on top of the default preset
 * (NULL: the preset's value). */
typedef struct named {
    const char *name;
    const char *head;  /* a prior's name, supervised, untrained */
    const char *optim;
    const char *L0;
    int fix_L;
    const char *W0;
    const char *units;
} named;

static const named named_settings[] = {
    {"untrained", "untrained", "sgd", "0.01", 0, "1", "norm"},
    {"gaussian-sgd-L0.01", "gaussian", "sgd", "0.01", 0, NULL, "norm"},
    {"linear-adam-I", "linear", "adam", NULL, 0, "1", "norm"},
    {"linear-sgd-I", "linear", "sgd", NULL, 0, "1", "norm"},
    {"gaussian-adam-L0.01", "gaussian", "adam", "0.01", 0, NULL, "norm"},
    {"supervised-sgd", "supervised", "sgd", NULL, 0, NULL, "norm"},
    {"gaussian-sgd-Lfixed0.125", "gaussian", "sgd", "0.125", 1, NULL, "norm"},
    {"gaussian-sgd-Ldata", "gaussian", "sgd", "data", 0, NULL, "norm"},
    {"linear-sgd-Wdata", "linear", "sgd", NULL, 0, "data", "norm"},
    {"gaussian-adam-Lfixed0.125", "gaussian", "adam", "0.125", 1, NULL, "norm"},
    {"supervised-adam", "supervised", "adam", NULL, 0, NULL, "norm"},
    {"linear-sgd-I-px", "linear", "sgd", NULL, 0, "1", "px"},
};
#define NNAMED ((int)(sizeof named_settings / sizeof *named_settings))

#define MAXLIST 32        /* values in one list flag */
#define MAXSETTINGS 4096
#define NKEY 16           /* key columns of sweep.csv: prior .. test_frames */
#define NCOLS 27

static const char CSV_HEADER[] =
    "setting,prior,optim,lr,momentum,epochs,batch,L0,learn_L,W0,units,bn2_gain,bn2_bias,seed,data_seed,"
    "frames,test_frames,elbo_nats,probe_test_px,probe_train_px,direct_test_px,direct_train_px,balls_found,"
    "balls,all_found,learned,seconds\n";

/* One setting: the head and the recipe, resolved. */
typedef struct setting {
    char name[160];
    char head[32];
    int untrained, supervised;
    ssvae_prior_kind prior;
    ssvae_train_config tc;
    double units;
    char key[400];        /* the key columns but seed, data seed and sizes */
    /* results over the seeds, for the summary */
    int runs, all_found, balls_found, balls;
    double elbo, probe, direct, seconds;
    int elbo_runs;
} setting;

/* Splits a comma list into at most MAXLIST items (pointers into buf, which
 * receives a copy of text). 0, or 2 after a one-line error. */
static int split_list(const char *flag, const char *text, char *buf, size_t cap, const char **items, int *n)
{
    if (snprintf(buf, cap, "%s", text) >= (int)cap) return cli_error("sweep", 2, "--%s: list too long", flag);
    *n = 0;
    for (char *p = buf;;) {
        char *c = strchr(p, ',');
        if (c) *c = '\0';
        if (!*p) return cli_error("sweep", 2, "--%s: empty item in '%s'", flag, text);
        if (*n == MAXLIST) return cli_error("sweep", 2, "--%s: more than %d values", flag, MAXLIST);
        items[(*n)++] = p;
        if (!c) break;
        p = c + 1;
    }
    return 0;
}

/* A number in [lo, hi]; 0, or 2 after a one-line error. */
static int list_number(const char *flag, const char *text, double lo, double hi, int integer, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v) || (integer && v != floor(v)))
        return cli_error("sweep", 2, "--%s: '%s' is not %s", flag, text, integer ? "an integer" : "a number");
    if (v < lo || v > hi) return cli_error("sweep", 2, "--%s: %s is out of range [%g, %g]", flag, text, lo, hi);
    *out = v;
    return 0;
}

static void fmt_scale(char *buf, size_t len, double v)
{
    if (v > 0) snprintf(buf, len, "%.10g", v);
    else snprintf(buf, len, "data");
}

/* The key of a resolved setting (every recipe column of sweep.csv). */
static void make_key(setting *s)
{
    const ssvae_train_config *tc = &s->tc;
    char L0[32], W0[32];
    fmt_scale(L0, sizeof L0, tc->L0);
    fmt_scale(W0, sizeof W0, tc->W0);
    snprintf(s->key, sizeof s->key, "%s,%s,%.10g,%.10g,%d,%d,%s,%d,%s,%s,%.10g,%.10g", s->head,
             tc->optim == SSVAE_ADAM ? "adam" : "sgd", tc->lr, tc->momentum, tc->epochs, tc->batch, L0,
             tc->learn_L, W0, s->units == 1.0 ? "norm" : "px", tc->bn2_gain, tc->bn2_bias);
}

/* Resolves head and recipe r into s; 0, or 2 after a one-line error. */
static int resolve(setting *s, const char *head, const cli_recipe *r)
{
    memset(s, 0, sizeof *s);
    snprintf(s->head, sizeof s->head, "%s", head);
    s->untrained = !strcmp(head, "untrained");
    s->supervised = !strcmp(head, "supervised");
    if (!s->untrained && !s->supervised && ssvae_prior_lookup(head, &s->prior)) {
        char names[512];
        size_t used = 0;
        for (int k = 0; k < SSVAE_PRIOR_COUNT; k++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s, ", ssvae_prior_get(k)->name);
        return cli_error("sweep", 2, "--priors: unknown prior '%s' (%suntrained, supervised)", head, names);
    }
    if (r->fix_L && r->L0 && !strcmp(r->L0, "data"))
        return cli_error("sweep", 2, "--scale fixed needs a number for --L0, not 'data'");
    if (cli_recipe_resolve("sweep", r, 256, &s->tc, &s->units)) return 2;
    make_key(s);
    return 0;
}

/* The grid, or the named settings, as resolved settings; 0 or 2. */
typedef struct grid_flags {
    const char *priors, *optim, *lr, *scale, *L0, *W0, *units, *gain, *bias, *epochs, *batch, *only, *preset;
} grid_flags;

static int build_settings(const grid_flags *g, setting *set, int *nset)
{
    static char bufs[11][4096];
    const char *items[11][MAXLIST];
    int count[11];
    const char *text[11] = {g->priors, g->optim, g->lr, g->scale, g->L0, g->W0, g->units, g->gain, g->bias,
                            g->epochs, g->batch};
    const char *flag[11] = {"priors", "optim", "lr", "scale", "L0", "W0", "units", "bn2-gain", "bn2-bias",
                            "epochs", "batch"};
    int grid = 0;
    for (int d = 0; d < 7; d++) grid |= text[d] != NULL;
    if (grid && g->only)
        return cli_error("sweep", 2, "--only runs named settings; --priors, --optim, --scale, --L0, --W0 and "
                         "--units build a grid instead: give one or the other");
    for (int d = 0; d < 11; d++) {
        if (!text[d]) {
            count[d] = 1;
            items[d][0] = NULL; /* the preset's */
            continue;
        }
        if (split_list(flag[d], text[d], bufs[d], sizeof bufs[d], items[d], &count[d])) return 2;
    }
    /* the priors of the grid: every prior of the table unless given */
    static char names[SSVAE_PRIOR_COUNT][32];
    if (grid && !g->priors) {
        count[0] = SSVAE_PRIOR_COUNT;
        for (int k = 0; k < SSVAE_PRIOR_COUNT; k++) {
            snprintf(names[k], sizeof names[k], "%s", ssvae_prior_get(k)->name);
            items[0][k] = names[k];
        }
    }
    /* numbers of the lists, checked once */
    double num[11][MAXLIST];
    const double lo[11] = {0, 0, 1e-12, 0, 0, 0, 0, -100, -100, 0, 2};
    const double hi[11] = {0, 0, 100, 0, 0, 0, 0, 100, 100, 100000, 4096};
    for (int d = 2; d < 11; d++) {
        if (d >= 3 && d <= 6) continue;
        for (int i = 0; i < count[d]; i++)
            if (items[d][i] && list_number(flag[d], items[d][i], lo[d], hi[d], d >= 9, &num[d][i])) return 2;
    }
    for (int i = 0; i < count[3]; i++)
        if (items[3][i] && strcmp(items[3][i], "learned") && strcmp(items[3][i], "fixed"))
            return cli_error("sweep", 2, "--scale: '%s' must be learned or fixed", items[3][i]);
    for (const char *p = g->only; p && *p;) { /* every name in --only is a setting */
        size_t l = strcspn(p, ",");
        int known = 0;
        for (int s = 0; s < NNAMED; s++)
            known |= strlen(named_settings[s].name) == l && !strncmp(p, named_settings[s].name, l);
        if (!known)
            return cli_error("sweep", 2, "--only: unknown setting '%.*s' (see ssvae sweep --list)", (int)l, p);
        p += l + (p[l] == ',');
    }
    /* the bases: named settings, or the grid's head x optim x scale x L0 x W0 x units */
    int nbase = grid ? count[0] * count[1] * count[3] * count[4] * count[5] * count[6] : NNAMED;
    int nmult = count[2] * count[7] * count[8] * count[9] * count[10];
    *nset = 0;
    for (int b = 0; b < nbase; b++) {
        cli_recipe r;
        cli_recipe_init(&r);
        r.preset = g->preset;
        const char *head;
        char base[128];
        if (grid) {
            int x = b, i6 = x % count[6]; x /= count[6];
            int i5 = x % count[5]; x /= count[5];
            int i4 = x % count[4]; x /= count[4];
            int i3 = x % count[3]; x /= count[3];
            int i1 = x % count[1]; x /= count[1];
            int i0 = x;
            head = items[0][i0];
            r.optim = items[1][i1];
            r.fix_L = items[3][i3] && !strcmp(items[3][i3], "fixed");
            r.L0 = items[4][i4];
            r.W0 = items[5][i5];
            r.units = items[6][i6];
            snprintf(base, sizeof base, "%s%s%s%s%s%s%s%s%s%s%s", head, r.optim ? "-" : "", r.optim ? r.optim : "",
                     r.L0 ? "-L" : "", r.L0 ? r.L0 : "", items[3][i3] ? "-" : "", items[3][i3] ? items[3][i3] : "",
                     r.W0 ? "-W" : "", r.W0 ? r.W0 : "", r.units ? "-" : "", r.units ? r.units : "");
        } else {
            const named *ns = &named_settings[b];
            if (g->only) { /* only the names listed */
                int want = 0;
                size_t len = strlen(ns->name);
                for (const char *p = g->only; *p;) {
                    size_t l = strcspn(p, ",");
                    want |= l == len && !strncmp(p, ns->name, l);
                    p += l + (p[l] == ',');
                }
                if (!want) continue;
            }
            head = ns->head;
            r.optim = ns->optim; r.L0 = ns->L0; r.fix_L = ns->fix_L; r.W0 = ns->W0; r.units = ns->units;
            snprintf(base, sizeof base, "%s", ns->name);
        }
        for (int m = 0; m < nmult; m++) {
            int x = m, i10 = x % count[10]; x /= count[10];
            int i9 = x % count[9]; x /= count[9];
            int i8 = x % count[8]; x /= count[8];
            int i7 = x % count[7]; x /= count[7];
            int i2 = x;
            r.lr = items[2][i2] ? num[2][i2] : -1;
            r.bn2_gain = items[7][i7] ? num[7][i7] : NAN;
            r.bn2_bias = items[8][i8] ? num[8][i8] : NAN;
            r.epochs = items[9][i9] ? (int)num[9][i9] : -1;
            r.batch = items[10][i10] ? (int)num[10][i10] : -1;
            if (*nset == MAXSETTINGS) return cli_error("sweep", 2, "the grid has more than %d settings", MAXSETTINGS);
            setting *s = &set[*nset];
            if (resolve(s, head, &r)) return 2;
            snprintf(s->name, sizeof s->name, "%s%s%s%s%s%s%s%s%s%s%s", base, items[2][i2] ? "-lr" : "",
                     items[2][i2] ? items[2][i2] : "", items[7][i7] ? "-g" : "", items[7][i7] ? items[7][i7] : "",
                     items[8][i8] ? "-b" : "", items[8][i8] ? items[8][i8] : "", items[9][i9] ? "-e" : "",
                     items[9][i9] ? items[9][i9] : "", items[10][i10] ? "-B" : "", items[10][i10] ? items[10][i10] : "");
            int dup = 0; /* the same values twice in a list: one setting */
            for (int k = 0; k < *nset; k++) dup |= !strcmp(set[k].key, s->key);
            if (!dup) (*nset)++;
        }
    }
    return 0;
}

/* ---- sweep.csv ---------------------------------------------------------- */

/* The runs sweep.csv already holds: each line's key (the NKEY columns
 * after the name) and its results. */
typedef struct done_run {
    char *key;
    double elbo, probe, direct, seconds;
    int found, balls;
} done_run;

static void done_free(done_run *d, int n)
{
    for (int i = 0; i < n; i++) free(d[i].key);
    free(d);
}

/* The n-th comma field of line (no quoting: no field holds a comma). */
static const char *field(const char *line, int n)
{
    for (int i = 0; i < n && line; i++) {
        line = strchr(line, ',');
        if (line) line++;
    }
    return line;
}

/* Reads path if it exists: checks the header, drops a last line cut off
 * by a killed run (the file is truncated to its last complete line), and
 * returns its runs. 0, or 1 after a one-line error. */
static int read_done(const char *path, done_run **out, int *nout)
{
    *out = NULL;
    *nout = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? 0 : cli_error("sweep", 1, "%s: cannot read: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (size_t got; text && (got = fread(text + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (len + 1 == cap) text = realloc(text, cap *= 2);
    }
    fclose(f);
    if (!text) return cli_error("sweep", 1, "%s: out of memory", path);
    text[len] = '\0';
    size_t hl = strlen(CSV_HEADER);
    if (len < hl || strncmp(text, CSV_HEADER, hl)) {
        free(text);
        return cli_error("sweep", 1, "%s: not a sweep.csv of this version (other columns); move it away or "
                         "give another --out", path);
    }
    size_t complete = len;
    while (complete > hl && text[complete - 1] != '\n') complete--;
    if (complete < len) {
        if (truncate(path, (off_t)complete)) {
            free(text);
            return cli_error("sweep", 1, "%s: cannot drop the cut-off last line: %s", path, strerror(errno));
        }
        fprintf(stderr, "ssvae sweep: %s: dropped a last line cut off by an interrupted run\n", path);
        text[complete] = '\0';
    }
    int cap_runs = 64, lineno = 1;
    done_run *d = malloc(cap_runs * sizeof *d);
    for (char *line = text + hl, *nl; d && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        *nl = '\0';
        lineno++;
        int commas = 0;
        for (const char *q = line; *q; q++) commas += *q == ',';
        if (commas != NCOLS - 1) {
            done_free(d, *nout);
            free(text);
            return cli_error("sweep", 1, "%s: line %d has %d columns, not %d", path, lineno, commas + 1, NCOLS);
        }
        if (*nout == cap_runs) d = realloc(d, (cap_runs *= 2) * sizeof *d);
        if (!d) break;
        done_run *r = &d[*nout];
        const char *k0 = field(line, 1), *k1 = field(line, 1 + NKEY);
        r->key = strndup(k0, (size_t)(k1 - 1 - k0));
        const char *e = field(line, 17);
        r->elbo = *e == '-' && e[1] == ',' ? NAN : strtod(e, NULL);
        r->probe = strtod(field(line, 18), NULL);
        r->direct = strtod(field(line, 20), NULL);
        r->found = atoi(field(line, 22));
        r->balls = atoi(field(line, 23));
        r->seconds = strtod(field(line, 26), NULL);
        (*nout)++;
    }
    free(text);
    if (!d) return cli_error("sweep", 1, "%s: out of memory", path);
    *out = d;
    return 0;
}

/* Appends one line and flushes it to the disk. 0, or 1 after an error. */
static int append_line(const char *path, const char *line)
{
    FILE *f = fopen(path, "ab");
    if (!f) return cli_error("sweep", 1, "%s: cannot append: %s", path, strerror(errno));
    int bad = fputs(line, f) < 0;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    return bad ? cli_error("sweep", 1, "%s: cannot append: %s", path, strerror(errno)) : 0;
}

static void add_result(setting *s, double elbo, double probe, double direct, double seconds, int found, int balls)
{
    s->runs++;
    if (isfinite(elbo)) s->elbo += elbo, s->elbo_runs++;
    s->probe += probe;
    s->direct += direct;
    s->seconds += seconds;
    s->balls_found += found;
    s->balls += balls;
    s->all_found += balls > 0 && found == balls;
}

static void fmt_duration(char *buf, size_t len, double s)
{
    if (s < 90) snprintf(buf, len, "%.0f s", s);
    else if (s < 5400) snprintf(buf, len, "%.0f min", s / 60);
    else snprintf(buf, len, "%.1f h", s / 3600);
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int cmd_sweep(int argc, char **argv)
{
    const char *out = "sweep-out";
    grid_flags g = {0};
    g.preset = "default";
    int seeds = 5, first = 1, data_seed = 0, T_train = 900, T_test = 300, quiet = 0, list = 0;
    cli_flag flags[] = {
        {"priors", FLAG_STRING, &g.priors, "grid: comma-separated priors of the table, untrained, supervised "
                                           "(with any grid flag; default every prior)", 0, -1},
        {"optim", FLAG_STRING, &g.optim, "grid: optimisers, e.g. sgd,adam (preset: sgd)", 0, -1},
        {"lr", FLAG_STRING, &g.lr, "learning rates, e.g. 0.005,0.05 (preset: 0.005)", 0, -1},
        {"scale", FLAG_STRING, &g.scale, "grid: learned,fixed: learn the length scale L or hold it at L0", 0, -1},
        {"L0", FLAG_STRING, &g.L0, "grid: initial length scales, numbers or 'data' (preset: 0.01)", 0, -1},
        {"W0", FLAG_STRING, &g.W0, "grid: initial W = W0 I, numbers or 'data' (preset: 1)", 0, -1},
        {"units", FLAG_STRING, &g.units, "grid: latent units, norm,px (preset: norm)", 0, -1},
        {"bn2-gain", FLAG_STRING, &g.gain, "starting gains of the last batch norm (preset: 1)", 0, -1},
        {"bn2-bias", FLAG_STRING, &g.bias, "starting biases of the last batch norm, e.g. 0,-5,-8 (preset: 0)", 0, -1},
        {"epochs", FLAG_STRING, &g.epochs, "epochs per run, e.g. 30 (preset: 30)", 0, -1},
        {"batch", FLAG_STRING, &g.batch, "pairs a batch (preset: 30)", 0, -1},
        {"preset", FLAG_STRING, &g.preset, "recipe every setting starts from: default or paper", 0, -1},
        {"only", FLAG_STRING, &g.only, "named settings instead of a grid, comma-separated (see --list)", 0, -1},
        {"list", FLAG_BOOL, &list, "list the named settings and exit", 0, -1},
        {"seeds", FLAG_INT, &seeds, "seeds per setting", 1, 1000},
        {"first-seed", FLAG_INT, &first, "first seed", 0, 1000000},
        {"data-seed", FLAG_INT, &data_seed, "0: each run's videos follow its seed (S, S+1); N: every run "
                                            "trains on video N and is scored on N+1, only the initialisation varies", 0, 1000000},
        {"frames", FLAG_INT, &T_train, "frames of each training video (at least 7, for the probe)", 7, 1000000},
        {"test-frames", FLAG_INT, &T_test, "frames of each held-out video", 8, 1000000},
        {"out", FLAG_STRING, &out, "output folder (sweep.csv, appended and resumed; summary.csv)", 0, -1},
        {"quiet", FLAG_BOOL, &quiet, "no progress lines (runs, epochs, ETA)", 0, -1},
        {0},
    };
    int rc = cli_parse("sweep", "Runs the experiment for every setting and seed and reports for each\n"
                       "setting how often the maps find the balls (a map's direct test error under\n"
                       "8 px). The settings are the cartesian product of the comma lists given\n"
                       "(e.g. --priors gaussian,linear --optim sgd,adam --bn2-bias 0,-5), or the\n"
                       "named settings (--only, --list; the default when no grid flag is given).\n"
                       "Each run is appended to OUT/sweep.csv as it finishes; the same command run\n"
                       "again skips the runs already there.", flags, argc, argv);
    if (rc) return rc < 0 ? 0 : rc;
    setting *set = calloc(MAXSETTINGS, sizeof *set);
    if (!set) return cli_error("sweep", 1, "out of memory");
    int nset = 0;
    if ((rc = build_settings(&g, set, &nset))) {
        free(set);
        return rc;
    }
    if (list) {
        for (int s = 0; s < NNAMED; s++) {
            const named *n = &named_settings[s];
            printf("%-26s head=%s optim=%s L0=%s%s W0=%s units=%s\n", n->name, n->head, n->optim,
                   n->L0 ? n->L0 : "-", n->fix_L ? " (fixed)" : "", n->W0 ? n->W0 : "-", n->units);
        }
        free(set);
        return 0;
    }
    ssvae_error err;
    char path[4200];
    done_run *done = NULL;
    int ndone = 0;
    rc = 1;
    if (cli_make_dir(out, &err)) {
        cli_error("sweep", 1, "%s", err.msg);
        goto end;
    }
    snprintf(path, sizeof path, "%s/sweep.csv", out);
    if (read_done(path, &done, &ndone)) goto end;
    if (!done && cli_write_text(path, CSV_HEADER, &err)) {
        cli_error("sweep", 1, "%s", err.msg);
        goto end;
    }
    int total = nset * seeds, skipped = 0, ran = 0;
    double spent = 0;
    /* runs already in sweep.csv */
    char **keys = malloc((size_t)total * sizeof *keys);
    if (!keys) {
        cli_error("sweep", 1, "out of memory");
        goto end;
    }
    for (int s = 0; s < nset; s++)
        for (int k = 0; k < seeds; k++) {
            uint64_t seed = (uint64_t)(first + k), dseed = data_seed ? (uint64_t)data_seed : seed;
            char *key = malloc(512);
            if (key) snprintf(key, 512, "%s,%llu,%llu,%d,%d", set[s].key, (unsigned long long)seed,
                              (unsigned long long)dseed, T_train, T_test);
            keys[s * seeds + k] = key;
        }
    int todo = 0;
    for (int i = 0; i < total; i++) {
        int have = 0;
        for (int j = 0; j < ndone && keys[i] && !have; j++)
            if (!strcmp(done[j].key, keys[i])) {
                have = 1;
                add_result(&set[i / seeds], done[j].elbo, done[j].probe, done[j].direct, done[j].seconds,
                           done[j].found, done[j].balls);
            }
        if (have) {
            free(keys[i]);
            keys[i] = NULL; /* done */
            skipped++;
        } else {
            todo++;
        }
    }
    if (!quiet)
        fprintf(stderr, "ssvae sweep: %d settings x %d seeds = %d runs; %d already in %s, %d to run\n", nset,
                seeds, total, skipped, path, todo);
    rc = 0;
    for (int i = 0; i < total && !rc; i++) {
        if (!keys[i]) continue;
        setting *s = &set[i / seeds];
        uint64_t seed = (uint64_t)(first + i % seeds), dseed = data_seed ? (uint64_t)data_seed : seed;
        char eta[32] = "?";
        if (ran) fmt_duration(eta, sizeof eta, spent / ran * (todo - ran));
        if (!quiet)
            fprintf(stderr, "ssvae sweep: run %d of %d (%d of %d to run), ETA %s: %s seed %llu\n",
                    skipped + ran + 1, total, ran + 1, todo, eta, s->name, (unsigned long long)seed);
        double t0 = wall();
        s->tc.seed = seed;
        cli_pair p;
        if ((rc = cli_pair_make("sweep", dseed, T_train, T_test, &p))) {
            cli_pair_free(&p);
            break;
        }
        char label[200];
        snprintf(label, sizeof label, "%s/%llu", s->name, (unsigned long long)seed);
        cli_row row;
        rc = cli_run_model("sweep", label, s->supervised, s->prior, &s->tc, s->units, &p.data[0], &p.data[1],
                           !s->untrained, quiet, NULL, NULL, &row);
        int K = p.data[0].K;
        cli_pair_free(&p);
        if (rc) break;
        char elbo[32], line[1024];
        for (char *q = row.learned; *q; q++) /* one CSV field */
            if (*q == ',') *q = ';';
        if (isnan(row.elbo)) snprintf(elbo, sizeof elbo, "-");
        else snprintf(elbo, sizeof elbo, "%.6f", row.elbo);
        /* the key's first column is the head: the setting's name goes before it */
        snprintf(line, sizeof line, "%s,%s,%s,%.6f,%.6f,%.6f,%.6f,%d,%d,%d,%s,%.3f\n", s->name, keys[i], elbo,
                 row.ev.probe_test, row.ev.probe_train, row.ev.direct_test, row.ev.direct_train, row.ev.found, K,
                 row.ev.found == K, row.learned, row.seconds);
        if ((rc = append_line(path, line))) {
            ssvae_train_result_free(&row.curve);
            break;
        }
        add_result(s, row.elbo, row.ev.probe_test, row.ev.direct_test, row.seconds, row.ev.found, K);
        if (!quiet)
            fprintf(stderr, "ssvae sweep: %-40s elbo %s probe %.2f px direct %.2f px, %d of %d balls found\n",
                    label, elbo, row.ev.probe_test, row.ev.direct_test, row.ev.found, K);
        ssvae_train_result_free(&row.curve);
        ran++;
        spent += wall() - t0;
    }
    for (int i = 0; i < total; i++) free(keys[i]);
    free(keys);
    if (rc) goto end;

    size_t cap = 512 + (size_t)nset * 640, su = 0;
    char *summary = malloc(cap);
    if (!summary) {
        rc = cli_error("sweep", 1, "out of memory");
        goto end;
    }
    su = (size_t)snprintf(summary, cap, "setting,%s,runs,all_found,balls_found,balls,mean_elbo_nats,"
                          "mean_probe_test_px,mean_direct_test_px,mean_seconds\n",
                          "prior,optim,lr,momentum,epochs,batch,L0,learn_L,W0,units,bn2_gain,bn2_bias");
    printf("\n%-44s %5s %10s %12s %10s %12s %13s\n", "setting", "runs", "all found", "balls found", "mean ELBO",
           "mean probe", "mean direct");
    for (int i = 0; i < nset; i++) {
        const setting *s = &set[i];
        if (!s->runs) continue;
        double c = s->runs;
        char elbo[32], bf[32];
        if (s->elbo_runs) snprintf(elbo, sizeof elbo, "%.3f", s->elbo / s->elbo_runs);
        else snprintf(elbo, sizeof elbo, "-");
        snprintf(bf, sizeof bf, "%d of %d", s->balls_found, s->balls);
        printf("%-44s %5d %10d %12s %10s %9.2f px %10.2f px\n", s->name, s->runs, s->all_found, bf, elbo,
               s->probe / c, s->direct / c);
        su += (size_t)snprintf(summary + su, cap - su, "%s,%s,%d,%d,%d,%d,%s,%.3f,%.3f,%.1f\n", s->name, s->key,
                               s->runs, s->all_found, s->balls_found, s->balls, elbo, s->probe / c, s->direct / c,
                               s->seconds / c);
    }
    snprintf(path, sizeof path, "%s/summary.csv", out);
    if (cli_write_text(path, summary, &err)) rc = cli_error("sweep", 1, "%s", err.msg);
    else printf("wrote %s/sweep.csv (%d runs added, %d already there) and %s/summary.csv\n", out, ran, skipped, out);
    free(summary);
end:
    done_free(done, ndone);
    free(set);
    return rc;
}
