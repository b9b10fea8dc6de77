/*
 * cmd_theory.c — `ssvae theory`: the paper's §3 identities checked on
 * jointly Gaussian latents (closed form against Monte Carlo, PASS within 4
 * standard errors), the finite-batch InfoNCE curve, and with --staircase
 * the benchmark of Poole et al. (2019). Numbers go to --out as CSV and JSON.
 * Exit status 0 when every line passes, 1 when one fails or a file cannot
 * be written, 2 on bad usage.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "theory.h"

/* A growing text buffer for the CSV and JSON files. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

/* A JSON number, or null for NaN and infinities (JSON has neither). */
static void sb_num(sbuf *b, double x)
{
    if (isfinite(x))
        sb_printf(b, "%.10g", x);
    else
        sb_printf(b, "null");
}

/* Writes b to dir/name through cli_write_text (temporary file + rename). */
static int write_file(const char *cmd, const char *dir, const char *name, sbuf *b)
{
    ssvae_error err;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (b->oom)
        return cli_error(cmd, 1, "out of memory writing %s", path);
    if (cli_write_text(path, b->p ? b->p : "", &err))
        return cli_error(cmd, 1, "%s", err.msg);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The identities                                                            */
/* ------------------------------------------------------------------------ */

static void print_row(void *ctx, const theory_row *r)
{
    if (*(int *)ctx)
        return;
    printf("%-14s %-13s %11.6f %11.6f %9.6f %6.2f  %s  %s\n", r->id, r->setting, r->closed,
           r->mc, r->se, r->se > 0 ? fabs(r->mc - r->closed) / r->se : 0.0,
           r->pass ? "PASS" : "FAIL", r->detail);
    fflush(stdout);
}

static void print_curve(const theory_curve *cv, int reps)
{
    printf("\nfinite-batch InfoNCE, %s critic at its Eq.33 optimum, %s: I = %.4f, Eq.33 = %.4f "
           "(%d repetitions)\n",
           cv->critic, cv->setting, cv->mi, cv->eq33, reps);
    printf("%6s %7s %12s %9s %9s %10s %9s  %s\n", "B", "log B", "log B-loss", "s.e.", "max",
           "vs B/2", "s.e.", "result");
    for (int p = 0; p < cv->npts; p++) {
        const theory_curve_point *q = &cv->pts[p];
        printf("%6d %7.4f %12.6f %9.6f %9.4f ", q->B, q->log_b, q->mean, q->se, q->max);
        if (p == 0)
            printf("%10s %9s", "", "");
        else
            printf("%+10.6f %9.6f", q->diff, q->se_diff);
        printf("  %s\n", q->pass ? "PASS" : "FAIL");
    }
}

static void csv_rows(sbuf *b, const theory_report *rep)
{
    sb_printf(b, "id,label,setting,closed,closed2,mc,se,tol,pass,detail\n");
    for (int i = 0; i < rep->nrows; i++) {
        const theory_row *r = &rep->rows[i];
        sb_printf(b, "%s,\"%s\",\"%s\",%.10g,%.10g,%.10g,%.10g,%.10g,%d,\"%s\"\n", r->id,
                  r->label, r->setting, r->closed, r->closed2, r->mc, r->se, r->tol, r->pass,
                  r->detail);
    }
}

static void csv_curves(sbuf *b, const theory_report *rep)
{
    sb_printf(b, "critic,setting,B,log_b,mean,se,max,diff,se_diff,mi,eq33,pass\n");
    for (int c = 0; c < rep->ncurves; c++) {
        const theory_curve *cv = &rep->curves[c];
        for (int p = 0; p < cv->npts; p++) {
            const theory_curve_point *q = &cv->pts[p];
            sb_printf(b, "%s,\"%s\",%d,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%d\n",
                      cv->critic, cv->setting, q->B, q->log_b, q->mean, q->se, q->max, q->diff,
                      q->se_diff, cv->mi, cv->eq33, q->pass);
        }
    }
}

static void json_report(sbuf *b, const theory_report *rep, long samples, uint64_t seed, int reps)
{
    sb_printf(b, "{\n  \"samples\": %ld,\n  \"seed\": %llu,\n  \"tolerance\": \"4 standard errors\",\n",
              samples, (unsigned long long)seed);
    sb_printf(b, "  \"failures\": %d,\n  \"rows\": [\n", rep->failures);
    for (int i = 0; i < rep->nrows; i++) {
        const theory_row *r = &rep->rows[i];
        sb_printf(b, "    {\"id\": \"%s\", \"label\": \"%s\", \"setting\": \"%s\", \"closed\": ", r->id,
                  r->label, r->setting);
        sb_num(b, r->closed);
        sb_printf(b, ", \"closed2\": ");
        sb_num(b, r->closed2);
        sb_printf(b, ", \"mc\": ");
        sb_num(b, r->mc);
        sb_printf(b, ", \"se\": ");
        sb_num(b, r->se);
        sb_printf(b, ", \"pass\": %s, \"detail\": \"%s\"}%s\n", r->pass ? "true" : "false",
                  r->detail, i + 1 < rep->nrows ? "," : "");
    }
    sb_printf(b, "  ],\n  \"curves\": [\n");
    for (int c = 0; c < rep->ncurves; c++) {
        const theory_curve *cv = &rep->curves[c];
        sb_printf(b, "    {\"critic\": \"%s\", \"setting\": \"%s\", \"reps\": %d, \"mi\": ", cv->critic,
                  cv->setting, reps);
        sb_num(b, cv->mi);
        sb_printf(b, ", \"eq33\": ");
        sb_num(b, cv->eq33);
        sb_printf(b, ", \"points\": [\n");
        for (int p = 0; p < cv->npts; p++) {
            const theory_curve_point *q = &cv->pts[p];
            sb_printf(b, "      {\"B\": %d, \"log_b\": ", q->B);
            sb_num(b, q->log_b);
            sb_printf(b, ", \"mean\": ");
            sb_num(b, q->mean);
            sb_printf(b, ", \"se\": ");
            sb_num(b, q->se);
            sb_printf(b, ", \"max\": ");
            sb_num(b, q->max);
            sb_printf(b, ", \"diff\": ");
            sb_num(b, q->diff);
            sb_printf(b, ", \"se_diff\": ");
            sb_num(b, q->se_diff);
            sb_printf(b, ", \"pass\": %s}%s\n", q->pass ? "true" : "false",
                      p + 1 < cv->npts ? "," : "");
        }
        sb_printf(b, "    ]}%s\n", c + 1 < rep->ncurves ? "," : "");
    }
    sb_printf(b, "  ]\n}\n");
}

static int run_identities(const char *out, long samples, int nmax, int reps, uint64_t seed,
                          int quiet)
{
    const char *cmd = "theory";
    theory_report *rep = malloc(sizeof *rep);
    if (!rep)
        return cli_error(cmd, 1, "out of memory");
    ssvae_error err;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!quiet) {
        printf("The paper's section 3 on jointly Gaussian latents: closed form against Monte Carlo\n"
               "(%ld samples a line, seed %llu); PASS when |MC - closed| <= 4 s.e. and the two\n"
               "closed-form routes agree to 1e-9. Values in nats.\n\n",
               samples, (unsigned long long)seed);
        printf("%-14s %-13s %11s %11s %9s %6s  %s  %s\n", "identity", "setting", "closed form",
               "Monte Carlo", "s.e.", "|d|/se", "result", "detail");
    }
    if (theory_run(rep, samples, nmax, reps, seed, print_row, &quiet, &err)) {
        free(rep);
        return cli_error(cmd, 1, "%s", err.msg);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!quiet)
        for (int c = 0; c < rep->ncurves; c++)
            print_curve(&rep->curves[c], reps);

    int rc = 0;
    if (cli_make_dir(out, &err)) {
        rc = cli_error(cmd, 1, "%s", err.msg);
    } else {
        sbuf a = {0}, b = {0}, c = {0};
        csv_rows(&a, rep);
        csv_curves(&b, rep);
        json_report(&c, rep, samples, seed, reps);
        rc = write_file(cmd, out, "theory.csv", &a);
        if (!rc) rc = write_file(cmd, out, "infonce_batch.csv", &b);
        if (!rc) rc = write_file(cmd, out, "theory.json", &c);
        free(a.p), free(b.p), free(c.p);
    }
    int checks = rep->nrows;
    for (int c = 0; c < rep->ncurves; c++)
        checks += rep->curves[c].npts;
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("%s%d checks, %d failed (%.1f s)%s%s%s\n", quiet ? "theory: " : "\n", checks,
           rep->failures, secs, rc ? "" : "; wrote ", rc ? "" : out,
           rc ? "" : "/theory.csv, theory.json, infonce_batch.csv");
    if (!rc && rep->failures)
        rc = 1;
    free(rep);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The staircase                                                             */
/* ------------------------------------------------------------------------ */

typedef struct level_ctx {
    int quiet;
    double log_b;
} level_ctx;

static void print_level(void *ctx, int level, const theory_level_summary *s)
{
    const level_ctx *lc = ctx;
    if (lc->quiet)
        return;
    printf("%7.1f %6.4f %8.3f ", s->mi, s->rho, lc->log_b);
    for (int c = 0; c < THEORY_NCRITICS; c++) {
        printf("  %6.3f ± %5.3f", s->est[c], s->se[c]);
        if (isfinite(s->eq33[c]))
            printf(" (%6.3f)", s->eq33[c]);
    }
    putchar('\n');
    fflush(stdout);
    (void)level;
}

static int run_staircase(const char *out, const theory_staircase_config *cfg, int quiet)
{
    const char *cmd = "theory";
    level_ctx lc = {quiet, log((double)cfg->batch)};
    if (!quiet) {
        printf("Staircase (Poole et al. 2019): d = %d, batch %d, Adam lr %g, %d steps a level,\n"
               "one continuous run; estimate = mean of log B - loss over each level's last %d "
               "steps ± s.e.;\n(in brackets) the critic's B -> infinity value (Eq. 33) at the "
               "level's end. Ceiling log %d = %.3f nats.\n\n",
               cfg->d, cfg->batch, cfg->lr, cfg->steps, cfg->steps - cfg->steps / 2, cfg->batch,
               lc.log_b);
        printf("%7s %6s %8s   %-25s %-25s %s\n", "true MI", "rho", "log B", "bilinear (Eq.33)",
               "gaussian (Eq.33)", "separable MLP");
    }
    theory_staircase_result res;
    ssvae_error err;
    if (theory_staircase(cfg, &res, print_level, &lc, &err))
        return cli_error(cmd, 1, "%s", err.msg);
    int rc = 0;
    if (cli_make_dir(out, &err)) {
        rc = cli_error(cmd, 1, "%s", err.msg);
    } else {
        sbuf a = {0}, b = {0};
        sb_printf(&a, "step,level,true_mi,log_b,bilinear,gaussian,mlp\n");
        for (int t = 0; t < res.nsteps; t++) {
            const double *e = res.est + (size_t)t * THEORY_NCRITICS;
            sb_printf(&a, "%d,%d,%.6g,%.6g,%.6g,%.6g,%.6g\n", t + 1, t / cfg->steps + 1,
                      res.true_mi[t], lc.log_b, e[0], e[1], e[2]);
        }
        sb_printf(&b, "level,true_mi,rho,critic,estimate,se,eq33\n");
        for (int l = 0; l < cfg->nlevels; l++)
            for (int c = 0; c < THEORY_NCRITICS; c++) {
                const theory_level_summary *s = &res.levels[l];
                sb_printf(&b, "%d,%.6g,%.6g,%s,%.6g,%.6g,", l + 1, s->mi, s->rho,
                          theory_critic_names[c], s->est[c], s->se[c]);
                if (isfinite(s->eq33[c]))
                    sb_printf(&b, "%.6g", s->eq33[c]);
                sb_printf(&b, "\n");
            }
        rc = write_file(cmd, out, "staircase.csv", &a);
        if (!rc) rc = write_file(cmd, out, "staircase_summary.csv", &b);
        free(a.p), free(b.p);
    }
    printf("%s%d steps in %.1f s%s%s%s\n", quiet ? "theory: staircase, " : "\n", res.nsteps,
           res.seconds, rc ? "" : "; wrote ", rc ? "" : out,
           rc ? "" : "/staircase.csv, staircase_summary.csv");
    theory_staircase_free(&res);
    return rc;
}

int cmd_theory(int argc, char **argv)
{
    int samples = 200000, nmax = 4096, reps = 16, staircase = 0, quiet = 0;
    uint64_t seed = 1;
    const char *out = "theory-out";
    theory_staircase_config sc;
    theory_staircase_default(&sc);
    cli_flag flags[] = {
        {"samples", FLAG_INT, &samples, "Monte Carlo draws for each identity", 100, 100000000},
        {"seed", FLAG_U64, &seed, "random seed (same seed, same numbers)", 0, -1},
        {"batch-max", FLAG_INT, &nmax, "largest B of the finite-batch curve (a power of two)", 512, 8192},
        {"reps", FLAG_INT, &reps, "repetitions of the finite-batch curve", 2, 100000},
        {"staircase", FLAG_BOOL, &staircase, "run the staircase benchmark instead", 0, -1},
        {"steps", FLAG_INT, &sc.steps, "staircase: Adam steps per MI level", 1, 1000000},
        {"lr", FLAG_DOUBLE, &sc.lr, "staircase: Adam learning rate", 1e-9, 10},
        {"out", FLAG_STRING, &out, "output folder", 0, -1},
        {"quiet", FLAG_BOOL, &quiet, "print only the closing line", 0, -1},
        {0},
    };
    int rc = cli_parse("theory",
                       "Checks the paper's equations numerically on jointly Gaussian latents:\n"
                       "Eq. 26 (ELBO = I - KL), Eq. 28 (P = Q gives the MI), Eq. 33 for the\n"
                       "Gaussian and bilinear critics, and the finite-batch InfoNCE bound\n"
                       "(<= log B, growing with B, tending to Eq. 33). Writes theory.csv,\n"
                       "theory.json and infonce_batch.csv to --out. With --staircase, runs\n"
                       "the benchmark of Poole et al. (2019) (d = 20, MI 2..10 nats, batch 64)\n"
                       "and writes staircase.csv (every step) and staircase_summary.csv.",
                       flags, argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (nmax & (nmax - 1))
        return cli_error("theory", 2, "--batch-max: %d is not a power of two", nmax);
    if (!out[0])
        return cli_error("theory", 2, "--out: empty folder name");
    if (staircase) {
        sc.seed = seed;
        return run_staircase(out, &sc, quiet);
    }
    return run_identities(out, samples, nmax, reps, seed, quiet);
}
