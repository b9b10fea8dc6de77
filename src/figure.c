/*
 * figure.c — the paper's Figure 1 drawn from a `ssvae demo` output folder:
 *   A  three consecutive training frames, each ball's step drawn as an arrow;
 *   B  the linear probe's decoded centres against the true ones, held-out
 *      video, per model, coloured per ball;
 *   C  mean held-out distance (probe and direct error) per model, chance as
 *      a line; mean and spread when several runs are pooled;
 *   D, E  the predictive map P(z'|z) ∝ Q(z') f(z, z') of one ball's next
 *      position under the gaussian and the linear prior (predictive.c);
 *   F  (curves.png) training loss and ELBO per epoch, log B dashed.
 * Every panel is its own PNG, and figure1.png puts them side by side.
 *
 * Order of work: read every input, draw every canvas in memory, then write
 * all files as temporaries and rename them at the end: a failure anywhere
 * leaves no partial file behind.
 *
 * Run folder layout (cmd_demo.c): results.json, models/NAME.safetensors,
 * latents/NAME_{train,test}.npy (T, D), data/{train,test}/frames.npy
 * (T, H, W, 3) uint8 and centres.npy (T, K, 2) px.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "figure_files.h"
#include "io/files.h"
#include "io/png.h"
#include "plot.h"
#include "ssvae.h"

#define PATHLEN 4200
#define MAXROWS 256

/* Colours that are not the balls'. */
static const plot_rgb BLACK = {0, 0, 0}, WHITE = {255, 255, 255}, GREY = {120, 120, 120};
static const plot_rgb PROBE_COL = {70, 120, 180}, DIRECT_COL = {235, 145, 40};
static const plot_rgb NEXT_COL = {0, 230, 255};

/* The models drawn in panels B and the curves, and their colours. */
static const char *const learned_models[3] = {"gaussian", "linear", "supervised"};
static const plot_rgb model_col[3] = {{0, 140, 130}, {130, 80, 170}, {60, 60, 60}};

void ssvae_figure_options_default(ssvae_figure_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->frame = -1;
    opt->ball = 0;
    opt->scale = 1.0;
}

/* ---- inputs ------------------------------------------------------------ */

typedef struct fig_row {
    char name[32];
    double probe, direct;   /* held-out px */
    int epochs;
    double *loss, *elbo;    /* (epochs), owned */
} fig_row;

typedef struct fig_input {
    int nrows;
    fig_row rows[MAXROWS];  /* every run's rows, pooled */
    int nruns;
    double chance;          /* mean over runs */
    double log_b;           /* ELBO ceiling of the main run; NaN if unknown */
    ssvae_array frames[2], centres[2]; /* train, test */
    int T[2], H, W, K, D;
    ssvae_array ztr[3], zte[3]; /* latents of learned_models[i]; data NULL if absent */
    ssvae_model model[2];   /* gaussian, linear */
    plot_rgb ball[SSVAE_MAXBALLS];
} fig_input;

static void input_free(fig_input *in)
{
    for (int i = 0; i < in->nrows; i++) {
        free(in->rows[i].loss);
        free(in->rows[i].elbo);
    }
    for (int i = 0; i < 2; i++) {
        ssvae_array_free(&in->frames[i]);
        ssvae_array_free(&in->centres[i]);
        ssvae_model_free(&in->model[i]);
    }
    for (int i = 0; i < 3; i++) {
        ssvae_array_free(&in->ztr[i]);
        ssvae_array_free(&in->zte[i]);
    }
}

/* The whole of a small text file, NUL-terminated; NULL after filling err. */
static char *read_text(const char *path, ssvae_error *err)
{
    FILE *f = io_fopen_input(path, err); /* regular files only: a FIFO would block */
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1 || ferror(f))
            break;
        if (cap >= ((size_t)64 << 20)) {
            free(buf);
            fclose(f);
            ssvae_fail(err, "%s: larger than 64 MB, not a results file", path);
            return NULL;
        }
        char *grown = realloc(buf, cap *= 2);
        if (!grown)
            free(buf);
        buf = grown;
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        ssvae_fail(err, "%s: cannot read", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* A JSON array of numbers as a malloc'd vector (NULL, n 0 when empty). */
static int json_numbers(const cJSON *arr, double **out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(arr))
        return 0;
    int len = cJSON_GetArraySize(arr);
    if (len <= 0)
        return 0;
    *out = malloc((size_t)len * sizeof **out);
    if (!*out)
        return -1;
    for (int i = 0; i < len; i++) {
        const cJSON *v = cJSON_GetArrayItem(arr, i);
        (*out)[i] = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    }
    *n = len;
    return 0;
}

/* Adds the rows of DIR/results.json to in; main: also its ELBO ceiling. */
static int read_results(const char *dir, int main_run, int T_train, fig_input *in, ssvae_error *err)
{
    char path[PATHLEN];
    snprintf(path, sizeof path, "%s/results.json", dir);
    char *text = read_text(path, err);
    if (!text)
        return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root)
        return ssvae_fail(err, "%s: not valid JSON", path);
    int rc = -1;
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(root, "rows");
    const cJSON *chance = cJSON_GetObjectItemCaseSensitive(root, "chance_test_px");
    if (!cJSON_IsArray(rows) || !cJSON_IsNumber(chance)) {
        ssvae_fail(err, "%s: no 'rows' array or 'chance_test_px' (not a demo results file)", path);
        goto done;
    }
    in->chance += chance->valuedouble;
    in->nruns++;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(row, "model");
        const cJSON *probe = cJSON_GetObjectItemCaseSensitive(row, "probe_test_px");
        const cJSON *direct = cJSON_GetObjectItemCaseSensitive(row, "direct_test_px");
        if (!cJSON_IsString(name) || !cJSON_IsNumber(probe) || !cJSON_IsNumber(direct)) {
            ssvae_fail(err, "%s: a row lacks 'model', 'probe_test_px' or 'direct_test_px'", path);
            goto done;
        }
        if (in->nrows == MAXROWS) {
            ssvae_fail(err, "%s: more than %d rows in all", path, MAXROWS);
            goto done;
        }
        fig_row *r = &in->rows[in->nrows++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", name->valuestring);
        r->probe = probe->valuedouble;
        r->direct = direct->valuedouble;
        int nl, ne;
        if (json_numbers(cJSON_GetObjectItemCaseSensitive(row, "epoch_loss"), &r->loss, &nl) ||
            json_numbers(cJSON_GetObjectItemCaseSensitive(row, "epoch_elbo"), &r->elbo, &ne)) {
            ssvae_fail(err, "%s: out of memory", path);
            goto done;
        }
        r->epochs = nl < ne ? nl : ne;
        const cJSON *lb = cJSON_GetObjectItemCaseSensitive(row, "log_b");
        if (main_run && cJSON_IsNumber(lb) && lb->valuedouble > 0)
            in->log_b = lb->valuedouble;
    }
    /* Older results files carry the batch only in the recipe line. */
    const cJSON *recipe = cJSON_GetObjectItemCaseSensitive(root, "recipe");
    const char *b = cJSON_IsString(recipe) ? strstr(recipe->valuestring, "batch=") : NULL;
    if (main_run && isnan(in->log_b) && b) {
        int batch = atoi(b + 6);
        if (batch > T_train - 1)
            batch = T_train - 1;
        if (batch >= 2)
            in->log_b = log((double)batch);
    }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

static int read_array(const char *dir, const char *name, ssvae_array *a, ssvae_error *err)
{
    char path[PATHLEN];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return ssvae_npy_read(path, a, err);
}

/* Reads everything the panels need from run_dir (and the pooled folders). */
static int read_inputs(const char *run_dir, const ssvae_figure_options *opt, fig_input *in,
                       ssvae_error *err)
{
    struct stat st;
    if (stat(run_dir, &st) || !S_ISDIR(st.st_mode))
        return ssvae_fail(err, "%s: no such run folder", run_dir);
    const char *split[2] = {"train", "test"};
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "data/%s/frames.npy", split[i]);
        if (read_array(run_dir, name, &in->frames[i], err))
            return -1;
        snprintf(name, sizeof name, "data/%s/centres.npy", split[i]);
        if (read_array(run_dir, name, &in->centres[i], err))
            return -1;
        const ssvae_array *f = &in->frames[i], *c = &in->centres[i];
        if (f->dtype != SSVAE_U8 || f->ndim != 4 || f->shape[3] != 3 || f->shape[0] < 3 ||
            f->shape[1] < 8 || f->shape[2] < 8 || f->shape[1] > 4096 || f->shape[2] > 4096)
            return ssvae_fail(err, "%s/data/%s/frames.npy: expected uint8 (T>=3, H, W, 3) frames",
                              run_dir, split[i]);
        if (c->dtype != SSVAE_F32 || c->ndim != 3 || c->shape[0] != f->shape[0] || c->shape[1] < 1 ||
            c->shape[1] > SSVAE_MAXBALLS || c->shape[2] != 2)
            return ssvae_fail(err, "%s/data/%s/centres.npy: expected float32 (%lld, K, 2) centres",
                              run_dir, split[i], (long long)f->shape[0]);
        in->T[i] = (int)f->shape[0];
    }
    in->H = (int)in->frames[0].shape[1];
    in->W = (int)in->frames[0].shape[2];
    in->K = (int)in->centres[0].shape[1];
    in->D = 2 * in->K;
    if (in->frames[1].shape[1] != in->H || in->frames[1].shape[2] != in->W || in->centres[1].shape[1] != in->K)
        return ssvae_fail(err, "%s: the training and held-out videos differ in size or balls", run_dir);
    if (opt->ball < 0 || opt->ball >= in->K)
        return ssvae_fail(err, "ball %d is out of range [0, %d]", opt->ball, in->K - 1);
    if (opt->frame < -1 || opt->frame > in->T[1] - 2)
        return ssvae_fail(err, "frame %d is out of range [0, %d]: the held-out video has %d frames "
                          "and panels D/E need the next one", opt->frame, in->T[1] - 2, in->T[1]);

    in->log_b = NAN;
    if (read_results(run_dir, 1, in->T[0], in, err))
        return -1;
    for (int p = 0; p < opt->npool; p++)
        if (read_results(opt->pool[p], 0, in->T[0], in, err))
            return -1;
    in->chance /= in->nruns;

    for (int i = 0; i < 3; i++) {
        char name[64];
        for (int s = 0; s < 2; s++) {
            ssvae_array *a = s ? &in->zte[i] : &in->ztr[i];
            snprintf(name, sizeof name, "latents/%s_%s.npy", learned_models[i], split[s]);
            char path[PATHLEN];
            snprintf(path, sizeof path, "%s/%s", run_dir, name);
            if (i == 2 && access(path, F_OK))
                break; /* the supervised baseline is optional */
            if (read_array(run_dir, name, a, err))
                return -1;
            if (a->dtype != SSVAE_F32 || a->ndim != 2 || a->shape[0] != in->T[s] || a->shape[1] != in->D)
                return ssvae_fail(err, "%s: expected float32 latents of shape (%d, %d)", path, in->T[s], in->D);
        }
    }
    for (int i = 0; i < 2; i++) {
        char path[PATHLEN];
        snprintf(path, sizeof path, "%s/models/%s.safetensors", run_dir, learned_models[i]);
        if (ssvae_model_load(&in->model[i], path, err))
            return -1;
        const ssvae_model_config *c = &in->model[i].cfg;
        ssvae_prior_kind want = SSVAE_PRIOR_COUNT;
        ssvae_prior_lookup(learned_models[i], &want);
        if (c->supervised || c->prior != want)
            return ssvae_fail(err, "%s: not a %s-prior model", path, learned_models[i]);
        if (c->H != in->H || c->W != in->W || c->K != in->K)
            return ssvae_fail(err, "%s: model is for %d x %d frames with %d maps, the data are %d x %d with %d balls",
                              path, c->H, c->W, c->K, in->H, in->W, in->K);
    }

    /* Each ball's colour: the pixel at its centre in the first frame (balls
     * never overlap); the generator's defaults if that pixel is black. */
    ssvae_balls_config bc;
    ssvae_balls_default(&bc);
    const float *c0 = in->centres[0].data;
    const uint8_t *f0 = in->frames[0].data;
    for (int b = 0; b < in->K; b++) {
        int x = (int)c0[2 * b], y = (int)c0[2 * b + 1];
        plot_rgb col = {bc.colours[b][0], bc.colours[b][1], bc.colours[b][2]};
        if (x >= 0 && x < in->W && y >= 0 && y < in->H) {
            const uint8_t *p = f0 + ((size_t)y * in->W + x) * 3;
            if (p[0] + p[1] + p[2] > 60)
                col = (plot_rgb){p[0], p[1], p[2]};
        }
        in->ball[b] = col;
    }
    return 0;
}

/* ---- small helpers ----------------------------------------------------- */

static const uint8_t *frame_at(const fig_input *in, int split, int t)
{
    return (const uint8_t *)in->frames[split].data + (size_t)t * in->H * in->W * 3;
}

static const float *centre_at(const fig_input *in, int split, int t, int b)
{
    return (const float *)in->centres[split].data + ((size_t)t * in->K + b) * 2;
}

static plot_rgb mix(plot_rgb a, plot_rgb b, double t) /* (1 - t) a + t b */
{
    return (plot_rgb){(uint8_t)lround(a.r + t * (b.r - a.r)), (uint8_t)lround(a.g + t * (b.g - a.g)),
                      (uint8_t)lround(a.b + t * (b.b - a.b))};
}

static const char *const colour_names[3] = {"coral", "sea green", "royal blue"};

/* "ball 0 (coral)" when the ball has the generator's default colour */
static void ball_name(char *buf, size_t len, const fig_input *in, int b)
{
    ssvae_balls_config bc;
    ssvae_balls_default(&bc);
    plot_rgb c = in->ball[b];
    if (b < 3 && c.r == bc.colours[b][0] && c.g == bc.colours[b][1] && c.b == bc.colours[b][2])
        snprintf(buf, len, "ball %d (%s)", b, colour_names[b]);
    else
        snprintf(buf, len, "ball %d", b);
}

/* Pairing map k -> ball perm[k] by the direct error on the training video. */
static void pairing(const fig_input *in, int model, int *perm)
{
    ssvae_direct_error(in->ztr[model].data, in->centres[0].data, in->T[0], in->ztr[model].data,
                       in->centres[0].data, in->T[0], in->K, in->W, in->H, perm);
}

/* ---- panel A: consecutive frames, motion as arrows --------------------- */

static int panel_a(plot_canvas *c, const fig_input *in, int t0, double s)
{
    if (plot_canvas_init(c, (int)lround(840 * s), (int)lround(400 * s)))
        return -1;
    double dw = 248 * s, dh = dw * in->H / in->W, gap = (c->w - 3 * dw) / 4, top = 62 * s;
    plot_rect r[3];
    for (int f = 0; f < 3; f++) {
        r[f] = (plot_rect){gap + f * (dw + gap), top, dw, dh};
        plot_canvas_image(c, r[f], frame_at(in, 0, t0 + f), in->W, in->H);
    }
    if (plot_begin(c, s))
        return -1;
    for (int f = 0; f < 3; f++) {
        int t = t0 + f;
        char title[64];
        snprintf(title, sizeof title, "frame %d", t);
        plot_frame(c, r[f], 0, in->W, in->H, 0);
        plot_box(title);
        if (t + 1 >= in->T[0])
            continue;
        plot_color(WHITE);
        plot_width(2.0 * s);
        for (int b = 0; b < in->K; b++) {
            const float *p = centre_at(in, 0, t, b), *q = centre_at(in, 0, t + 1, b);
            plot_arrow(p[0], p[1], q[0], q[1], 11.0);
        }
    }
    plot_color(BLACK);
    char text[160];
    snprintf(text, sizeof text, "Training video, frames %d to %d. Arrows: each ball's step to the next frame", t0, t0 + 2);
    plot_canvas_text(c, c->w / 2.0, top + dh + 34 * s, 0.5, 1.0, text);
    plot_canvas_text(c, c->w / 2.0, top + dh + 58 * s, 0.5, 1.0,
                     "(one diameter a frame; direction = previous one + small noise)");
    plot_letter(c, s, "A");
    return plot_end();
}

/* ---- panel B: probe-decoded vs true centres ---------------------------- */

static int panel_b(plot_canvas *c, const fig_input *in, double s, ssvae_error *err)
{
    if (plot_canvas_init(c, (int)lround(840 * s), (int)lround(400 * s)))
        return ssvae_fail(err, "out of memory for panel B");
    int T = in->T[1], K = in->K, D = in->D, nm = 0, which[3];
    for (int i = 0; i < 3; i++)
        if (in->ztr[i].data)
            which[nm++] = i;
    float *ytr = malloc((size_t)in->T[0] * D * sizeof *ytr), *yhat = malloc((size_t)nm * T * D * sizeof *yhat);
    double errpx[3] = {0};
    if (!ytr || !yhat) {
        free(ytr), free(yhat);
        return ssvae_fail(err, "out of memory for panel B");
    }
    /* Fit on the training video in normalised coordinates (as evaluate.c),
     * decode the held-out video, back to px. */
    const float *ctr = in->centres[0].data, *cte = in->centres[1].data;
    for (int t = 0; t < in->T[0] * K; t++) {
        ytr[2 * t] = ctr[2 * t] / in->W;
        ytr[2 * t + 1] = ctr[2 * t + 1] / in->H;
    }
    for (int m = 0; m < nm; m++) {
        ssvae_probe probe = {0};
        if (ssvae_probe_fit(&probe, in->ztr[which[m]].data, ytr, in->T[0], D, D, err)) {
            free(ytr), free(yhat);
            return -1;
        }
        float *y = yhat + (size_t)m * T * D;
        ssvae_probe_apply(&probe, in->zte[which[m]].data, T, y);
        ssvae_probe_free(&probe);
        for (int t = 0; t < T * K; t++) {
            y[2 * t] *= in->W;
            y[2 * t + 1] *= in->H;
        }
        errpx[m] = ssvae_mean_distance(y, cte, T, K, 1.0, 1.0);
    }
    free(ytr);
    if (plot_begin(c, s)) {
        free(yhat);
        return ssvae_fail(err, "%s", plot_last_error());
    }
    double q = 226 * s, x0 = 72 * s, step = (c->w - x0 - 16 * s - q) / 2, top = 56 * s;
    for (int m = 0; m < nm; m++) {
        plot_rect r = {x0 + m * step, top, q, q * in->H / in->W};
        plot_frame(c, r, 0, in->W, in->H, 0);
        const float *y = yhat + (size_t)m * T * D;
        /* true centres light and large, decoded ones dark and small */
        for (int b = 0; b < K; b++) {
            plot_color(mix(in->ball[b], WHITE, 0.6));
            for (int t = 0; t < T; t++)
                plot_circle(cte[(t * K + b) * 2], cte[(t * K + b) * 2 + 1], 4.5, 1);
        }
        for (int b = 0; b < K; b++) {
            plot_color(mix(in->ball[b], BLACK, 0.25));
            for (int t = 0; t < T; t++)
                plot_circle(y[(t * K + b) * 2], y[(t * K + b) * 2 + 1], 2.0, 1);
        }
        char title[96];
        snprintf(title, sizeof title, "%s: %.1f px", learned_models[which[m]], errpx[m]);
        plot_axes(NULL, NULL, "x (px)", m == 0 ? "y (px)" : "", title);
    }
    free(yhat);
    plot_color(BLACK);
    plot_canvas_text(c, c->w / 2.0, top + q + 64 * s, 0.5, 1.0,
                     "Held-out video: linear-probe decoded centres (dark dots) over the true centres (light)");
    plot_letter(c, s, "B");
    if (plot_end())
        return ssvae_fail(err, "panel B: %s", plot_last_error());
    return 0;
}

/* ---- panel C: bar chart of the errors ---------------------------------- */

typedef struct bar_group {
    const char *name;
    int n;
    double mean[2], sd[2]; /* probe, direct */
} bar_group;

static int panel_c(plot_canvas *c, const fig_input *in, double s)
{
    if (plot_canvas_init(c, (int)lround(560 * s), (int)lround(510 * s)))
        return -1;
    /* The paper's order first, then any other model in order of appearance. */
    static const char *const order[4] = {"untrained", "supervised", "gaussian", "linear"};
    bar_group g[MAXROWS];
    int ng = 0, pooled = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < (pass ? in->nrows : 4); i++) {
            const char *name = pass ? in->rows[i].name : order[i];
            int seen = 0;
            for (int k = 0; k < ng; k++)
                seen |= !strcmp(g[k].name, name);
            if (seen)
                continue;
            bar_group *b = &g[ng];
            memset(b, 0, sizeof *b);
            b->name = name;
            double sum[2] = {0}, sq[2] = {0};
            for (int k = 0; k < in->nrows; k++) {
                if (strcmp(in->rows[k].name, name))
                    continue;
                double v[2] = {in->rows[k].probe, in->rows[k].direct};
                for (int e = 0; e < 2; e++)
                    sum[e] += v[e], sq[e] += v[e] * v[e];
                b->n++;
            }
            if (!b->n)
                continue;
            for (int e = 0; e < 2; e++) {
                b->mean[e] = sum[e] / b->n;
                double var = b->n > 1 ? (sq[e] - b->n * b->mean[e] * b->mean[e]) / (b->n - 1) : 0.0;
                b->sd[e] = var > 0 ? sqrt(var) : 0.0;
            }
            pooled |= b->n > 1;
            ng++;
        }
    }
    double ymax = in->chance;
    for (int k = 0; k < ng; k++)
        for (int e = 0; e < 2; e++)
            if (g[k].mean[e] + g[k].sd[e] > ymax)
                ymax = g[k].mean[e] + g[k].sd[e];
    ymax = ymax > 0 ? ymax * 1.42 : 1.0; /* room for the legend above the bars */
    if (plot_begin(c, s))
        return -1;
    plot_rect r = {78 * s, 62 * s, c->w - 100 * s, c->h - 120 * s};
    plot_frame(c, r, -0.5, ng - 0.5, 0, ymax);
    plot_rgb col[2] = {PROBE_COL, DIRECT_COL};
    for (int k = 0; k < ng; k++) {
        for (int e = 0; e < 2; e++) {
            double x = k + (e ? 0.19 : -0.19);
            plot_color(col[e]);
            plot_fill_rect(x - 0.17, 0, x + 0.17, g[k].mean[e]);
            double top = g[k].mean[e];
            if (g[k].n > 1) {
                plot_color(BLACK);
                plot_width(1.2 * s);
                plot_errbar(x, g[k].mean[e] - g[k].sd[e], g[k].mean[e] + g[k].sd[e]);
                top += g[k].sd[e];
            }
            char v[32];
            snprintf(v, sizeof v, g[k].mean[e] < 10 ? "%.1f" : "%.0f", g[k].mean[e]);
            plot_color(BLACK);
            plot_text(x, top + ymax * 0.02, 0.5, 0.8, v);
        }
        plot_mtext("b", 1.4, (k + 0.5) / ng, 0.5, g[k].name);
    }
    plot_color(GREY);
    plot_width(1.5 * s);
    plot_dashed(1);
    plot_segment(-0.5, in->chance, ng - 0.5, in->chance);
    plot_dashed(0);
    plot_box_opts("bc", "bcnstv");
    plot_mtext("l", 4.2, 0.5, 0.5, "mean distance on the held-out video (px)");
    /* legend, top left inside the plot */
    char text[96];
    const char *what[2] = {"linear probe (least squares z to centres)", "direct (each map read as its ball)"};
    double lx = -0.5 + 0.05 * ng;
    for (int e = 0; e < 3; e++) {
        double y = ymax * (0.945 - 0.07 * e), dx = 0.035 * ng;
        if (e < 2) {
            plot_color(col[e]);
            plot_fill_rect(lx, y - ymax * 0.02, lx + dx, y + ymax * 0.02);
        } else {
            plot_color(GREY);
            plot_width(1.5 * s);
            plot_dashed(1);
            plot_segment(lx, y, lx + dx, y);
            plot_dashed(0);
            snprintf(text, sizeof text, "chance: the training mean, %.0f px", in->chance);
        }
        plot_color(BLACK);
        plot_text(lx + 1.5 * dx, y, 0.0, 0.85, e < 2 ? what[e] : text);
    }
    if (pooled)
        snprintf(text, sizeof text, "Decoding error (mean ± sd, %d runs)", in->nruns);
    else
        snprintf(text, sizeof text, "Decoding error per ball and frame");
    plot_canvas_text(c, c->w / 2.0, 36 * s, 0.5, 1.1, text);
    plot_letter(c, s, "C");
    return plot_end();
}

/* ---- panels D and E: the predictive map -------------------------------- */

static int panel_pred(plot_canvas *c, const fig_input *in, int which, int t, int ball, double s,
                      const char *letter, ssvae_error *err)
{
    const ssvae_model *m = &in->model[which];
    int H = in->H, W = in->W, perm[SSVAE_MAXBALLS], k = 0;
    pairing(in, which, perm);
    for (int j = 0; j < in->K; j++)
        if (perm[j] == ball)
            k = j;
    float *p = malloc((size_t)H * W * sizeof *p);
    uint8_t *pic = malloc((size_t)H * W * 3), bar[256 * 3];
    if (!p || !pic || plot_canvas_init(c, (int)lround(560 * s), (int)lround(510 * s))) {
        free(p), free(pic);
        return ssvae_fail(err, "out of memory for panel %s", letter);
    }
    const float *z = (const float *)in->zte[which].data + (size_t)t * in->D;
    if (ssvae_predictive_map(m, z, k, p, err)) {
        free(p), free(pic);
        return -1;
    }
    double pmax = 0;
    for (int i = 0; i < H * W; i++)
        if (p[i] > pmax)
            pmax = p[i];
    /* The frame dimmed to a third, the map on top in inferno, opaque where
     * the probability is high. */
    const uint8_t *fr = frame_at(in, 1, t);
    for (int i = 0; i < H * W; i++) {
        double v = pmax > 0 ? p[i] / pmax : 0, a = sqrt(v);
        plot_rgb hc = plot_colormap(v);
        uint8_t hv[3] = {hc.r, hc.g, hc.b};
        for (int ch = 0; ch < 3; ch++)
            pic[3 * i + ch] = (uint8_t)lround((1 - a) * fr[3 * i + ch] * 0.33 + a * hv[ch]);
    }
    for (int i = 0; i < 256; i++) {
        plot_rgb hc = plot_colormap(1.0 - i / 255.0); /* top row is the maximum */
        bar[3 * i] = hc.r, bar[3 * i + 1] = hc.g, bar[3 * i + 2] = hc.b;
    }
    double side = 340 * s, x0 = 70 * s, top = 60 * s;
    plot_rect r = {x0, top, side, side * H / W};
    plot_rect rb = {x0 + side + 18 * s, top, 16 * s, r.h};
    plot_canvas_image(c, r, pic, W, H);
    plot_canvas_image(c, rb, bar, 1, 256);
    free(pic);
    free(p);
    if (plot_begin(c, s))
        return ssvae_fail(err, "%s", plot_last_error());
    plot_frame(c, r, 0, W, H, 0);
    const float *now = centre_at(in, 1, t, ball), *next = centre_at(in, 1, t + 1, ball);
    plot_color(WHITE);
    plot_width(1.6 * s);
    plot_circle(now[0], now[1], 16.0 * W / 256.0, 0);
    plot_circle(z[2 * k] * W, z[2 * k + 1] * H, 5.0 * W / 256.0, 0);
    plot_color(NEXT_COL);
    plot_width(2.2 * s);
    plot_cross(next[0], next[1], 7.0 * W / 256.0);
    plot_width(1.0);
    plot_axes(NULL, NULL, "x (px)", "y (px)", "");
    plot_frame(c, rb, 0, 1, 0, 1);
    plot_box_opts("bc", "bcmstv");
    plot_mtext("r", 3.6, 0.5, 0.5, "P / max P");
    char text[160], bname[48], learned[64];
    ball_name(bname, sizeof bname, in, ball);
    ssvae_prior_get(m->cfg.prior)->describe(learned, sizeof learned, m->head, m->D);
    snprintf(text, sizeof text, "%s prior: where %s goes next", learned_models[which], bname);
    plot_color(BLACK);
    plot_canvas_text(c, c->w / 2.0, 22 * s, 0.5, 1.05, text);
    snprintf(text, sizeof text, "P(z'|z) ∝ f(z, z') over the image, held-out frame %d, map %d, %s", t, k, learned);
    plot_canvas_text(c, c->w / 2.0, 44 * s, 0.5, 0.85, text);
    plot_canvas_text(c, c->w / 2.0, c->h - 36 * s, 0.5, 0.85,
                     "large circle: the ball now;  cyan cross: where it truly is next;");
    snprintf(text, sizeof text, "small ring: map %d now (z, what the encoder reads)", k);
    plot_canvas_text(c, c->w / 2.0, c->h - 18 * s, 0.5, 0.85, text);
    plot_letter(c, s, letter);
    if (plot_end())
        return ssvae_fail(err, "panel %s: %s", letter, plot_last_error());
    return 0;
}

/* ---- training curves ---------------------------------------------------- */

static plot_rgb row_colour(const char *name, int i)
{
    for (int m = 0; m < 3; m++)
        if (!strcmp(name, learned_models[m]))
            return model_col[m];
    static const plot_rgb more[4] = {{200, 60, 60}, {40, 120, 200}, {150, 110, 20}, {200, 80, 160}};
    return more[i % 4];
}

/* One legend line at canvas pixel (x, y): a short line and the name. */
static void legend_line(const plot_canvas *c, double x, double y, double s, plot_rgb col, int dashed,
                        const char *text)
{
    plot_frame(c, (plot_rect){0, 0, c->w, c->h}, 0, c->w, c->h, 0);
    plot_color(col);
    plot_width(2.0 * s);
    plot_dashed(dashed);
    plot_segment(x, y, x + 26 * s, y);
    plot_dashed(0);
    plot_width(1.0);
    plot_color(BLACK);
    plot_text(x + 32 * s, y, 0.0, 0.85, text);
}

static int panel_curves(plot_canvas *c, const fig_input *in, double s)
{
    if (plot_canvas_init(c, (int)lround(1680 * s), (int)lround(320 * s)))
        return -1;
    int emax = 1;
    double lmax = 0, mmax = 0, emin = 0, etop = isnan(in->log_b) ? 0 : in->log_b;
    int have_sup = 0;
    for (int i = 0; i < in->nrows; i++) {
        const fig_row *r = &in->rows[i];
        int sup = !strcmp(r->name, "supervised");
        for (int e = 0; e < r->epochs; e++) {
            if (r->epochs > emax)
                emax = r->epochs;
            if (!isfinite(r->loss[e]))
                continue;
            if (sup) {
                mmax = fmax(mmax, r->loss[e]);
            } else {
                lmax = fmax(lmax, r->loss[e]);
                if (isfinite(r->elbo[e]))
                    emin = fmin(emin, r->elbo[e]), etop = fmax(etop, r->elbo[e]);
            }
        }
        have_sup |= sup && r->epochs > 0;
    }
    if (!(lmax > 0))
        lmax = 1;
    if (!(mmax > 0))
        mmax = 1;
    if (!(etop > emin))
        etop = emin + 1;
    double x1 = emax > 1 ? emax : 2;
    if (plot_begin(c, s))
        return -1;
    plot_rect left = {90 * s, 52 * s, 620 * s, c->h - 110 * s};
    plot_rect right = {1070 * s, 52 * s, 580 * s, c->h - 110 * s};
    double *xs = malloc((size_t)emax * sizeof *xs);
    if (!xs) {
        plot_end();
        return -1;
    }
    for (int e = 0; e < emax; e++)
        xs[e] = e + 1;
    /* left: the InfoNCE loss (nats), and the supervised MSE on its own axis */
    if (have_sup) {
        plot_frame(c, left, 1, x1, 0, mmax * 1.08);
        for (int i = 0; i < in->nrows; i++) {
            const fig_row *r = &in->rows[i];
            if (strcmp(r->name, "supervised") || !r->epochs)
                continue;
            plot_color(row_colour(r->name, i));
            plot_width(2.0 * s);
            plot_dashed(1);
            plot_lines(r->epochs, xs, r->loss);
            plot_dashed(0);
        }
        plot_box_opts("", "cmstv");
        plot_mtext("r", 3.8, 0.5, 0.5, "supervised MSE (dashed)");
    }
    plot_frame(c, left, 1, x1, 0, lmax * 1.08);
    for (int i = 0; i < in->nrows; i++) {
        const fig_row *r = &in->rows[i];
        if (!strcmp(r->name, "supervised") || !r->epochs)
            continue;
        plot_color(row_colour(r->name, i));
        plot_width(2.0 * s);
        plot_lines(r->epochs, xs, r->loss);
    }
    plot_axes(NULL, have_sup ? "bnstv" : NULL, "epoch", "InfoNCE loss (nats)", "Training loss per epoch");
    /* right: the ELBO estimate log B - loss, and its ceiling log B */
    plot_frame(c, right, 1, x1, emin, etop * 1.1);
    if (!isnan(in->log_b)) {
        plot_color(GREY);
        plot_width(1.5 * s);
        plot_dashed(1);
        plot_segment(1, in->log_b, x1, in->log_b);
        plot_dashed(0);
    }
    for (int i = 0; i < in->nrows; i++) {
        const fig_row *r = &in->rows[i];
        if (!strcmp(r->name, "supervised") || !r->epochs)
            continue;
        plot_color(row_colour(r->name, i));
        plot_width(2.0 * s);
        plot_lines(r->epochs, xs, r->elbo);
    }
    plot_axes(NULL, NULL, "epoch", "ELBO (nats)", "ELBO = log B - loss per epoch");
    free(xs);
    /* one legend for both plots, between them */
    double ly = 70 * s, lx = 805 * s;
    int seen = 0;
    for (int i = 0; i < in->nrows; i++) {
        const fig_row *r = &in->rows[i];
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= !strcmp(in->rows[j].name, r->name);
        if (dup || !r->epochs)
            continue;
        legend_line(c, lx, ly + 22 * s * seen++, s, row_colour(r->name, i), !strcmp(r->name, "supervised"),
                    r->name);
    }
    if (!isnan(in->log_b)) {
        char text[48];
        snprintf(text, sizeof text, "log B = %.2f", in->log_b);
        legend_line(c, lx, ly + 22 * s * seen++, s, GREY, 1, text);
    }
    plot_letter(c, s, "F");
    return plot_end();
}

/* ---- the whole figure --------------------------------------------------- */

/* The first held-out frame where the ball is at least 64 px (a quarter of
 * the image) from every edge, so its whole neighbourhood is on the map. */
static int auto_frame(const fig_input *in, int ball)
{
    double mx = 0.25 * in->W, my = 0.25 * in->H;
    for (int t = 0; t + 1 < in->T[1]; t++) {
        const float *c = centre_at(in, 1, t, ball);
        if (c[0] >= mx && c[0] <= in->W - mx && c[1] >= my && c[1] <= in->H - my)
            return t;
    }
    return 0;
}

enum { P_A, P_B, P_C, P_D, P_E, P_F, P_ALL, NPIC };
static const char *const pic_names[NPIC] = {"panel_a.png", "panel_b.png", "panel_c.png", "panel_d.png",
                                            "panel_e.png", "curves.png", "figure1.png"};

int ssvae_figure(const char *run_dir, const char *out_dir, const ssvae_figure_options *opt,
                 int *written, ssvae_error *err)
{
    ssvae_figure_options def;
    if (!opt) {
        ssvae_figure_options_default(&def);
        opt = &def;
    }
    if (written)
        *written = 0;
    if (!(opt->scale >= 0.25 && opt->scale <= 4))
        return ssvae_fail(err, "scale %g is out of range [0.25, 4]", opt->scale);
    char out[PATHLEN];
    if (snprintf(out, sizeof out, "%s", out_dir ? out_dir : run_dir) >= (int)sizeof out - 16)
        return ssvae_fail(err, "%s: path too long", out_dir ? out_dir : run_dir);
    if (!out_dir)
        strcat(out, "/figures");
    fig_input *in = calloc(1, sizeof *in);
    plot_canvas pic[NPIC];
    memset(pic, 0, sizeof pic);
    int rc = -1;
    if (!in)
        return ssvae_fail(err, "out of memory");
    if (read_inputs(run_dir, opt, in, err))
        goto done;
    int t = opt->frame >= 0 ? opt->frame : auto_frame(in, opt->ball);
    int t0 = t < in->T[0] - 3 ? t : in->T[0] - 3;
    double s = opt->scale;
    if (panel_a(&pic[P_A], in, t0, s)) {
        ssvae_fail(err, "panel A: %s", plot_last_error()[0] ? plot_last_error() : "out of memory");
        goto done;
    }
    if (panel_b(&pic[P_B], in, s, err))
        goto done;
    if (panel_c(&pic[P_C], in, s)) {
        ssvae_fail(err, "panel C: %s", plot_last_error()[0] ? plot_last_error() : "out of memory");
        goto done;
    }
    if (panel_pred(&pic[P_D], in, 0, t, opt->ball, s, "D", err) ||
        panel_pred(&pic[P_E], in, 1, t, opt->ball, s, "E", err))
        goto done;
    if (panel_curves(&pic[P_F], in, s)) {
        ssvae_fail(err, "training curves: %s", plot_last_error()[0] ? plot_last_error() : "out of memory");
        goto done;
    }
    /* figure1: [A | B] over [C | D | E] over [curves] */
    int W1 = pic[P_A].w + pic[P_B].w, W2 = pic[P_C].w + pic[P_D].w + pic[P_E].w;
    int Wall = W1 > W2 ? W1 : W2;
    if (pic[P_F].w > Wall)
        Wall = pic[P_F].w;
    int h1 = pic[P_A].h, h2 = pic[P_C].h;
    if (plot_canvas_init(&pic[P_ALL], Wall, h1 + h2 + pic[P_F].h)) {
        ssvae_fail(err, "out of memory composing figure1.png");
        goto done;
    }
    plot_canvas_blit(&pic[P_ALL], &pic[P_A], 0, 0);
    plot_canvas_blit(&pic[P_ALL], &pic[P_B], pic[P_A].w, 0);
    plot_canvas_blit(&pic[P_ALL], &pic[P_C], 0, h1);
    plot_canvas_blit(&pic[P_ALL], &pic[P_D], pic[P_C].w, h1);
    plot_canvas_blit(&pic[P_ALL], &pic[P_E], pic[P_C].w + pic[P_D].w, h1);
    plot_canvas_blit(&pic[P_ALL], &pic[P_F], 0, h1 + h2);

    rc = figure_write_set(out, pic, pic_names, NPIC, written, err);
done:
    for (int i = 0; i < NPIC; i++)
        plot_canvas_free(&pic[i]);
    input_free(in);
    free(in);
    return rc;
}
