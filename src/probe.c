/*
 * probe.c — how well the latents locate the balls (SPEC section 4): the
 * linear probe (least squares with a bias from z to the true centres), the
 * direct error (each map's centre of mass read as a ball position, best of
 * the K! pairings) and the chance level (every ball at its mean position).
 *
 * Letters: T frames, D inputs (latents), P outputs, K balls. Matrices inside
 * the solver are column-major doubles so that a Householder reflector works
 * on contiguous columns; everything crossing the API is row-major float.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ssvae.h"

/* ------------------------------------------------------------------------ */
/* Householder reflectors                                                    */
/* ------------------------------------------------------------------------ */

/* Turns x (m) into the reflector H = I - beta v v^T with H x = (alpha, 0...)
 * and returns alpha; x is overwritten by v. alpha takes the sign opposite to
 * x[0] so that v[0] = x[0] - alpha never cancels. A zero x gives beta = 0
 * (H = I) and alpha = 0. With |alpha| = |x|:  v^T v = 2 alpha (alpha - x0),
 * hence beta = 2 / v^T v = 1 / (alpha (alpha - x0)). */
static double house_make(double *x, int m, double *beta)
{
    double ss = 0.0;
    for (int i = 0; i < m; i++)
        ss += x[i] * x[i];
    if (ss == 0.0) {
        *beta = 0.0;
        return 0.0;
    }
    double norm = sqrt(ss);
    double alpha = x[0] >= 0.0 ? -norm : norm;
    *beta = 1.0 / (alpha * (alpha - x[0]));
    x[0] -= alpha;
    return alpha;
}

/* y (m) <- (I - beta v v^T) y */
static void house_apply(const double *v, double beta, double *y, int m)
{
    if (beta == 0.0)
        return;
    double s = 0.0;
    for (int i = 0; i < m; i++)
        s += v[i] * y[i];
    s *= beta;
    for (int i = 0; i < m; i++)
        y[i] -= s * v[i];
}

/* ------------------------------------------------------------------------ */
/* Least squares on standardised columns                                     */
/* ------------------------------------------------------------------------ */

/* A column whose standard deviation is below this fraction of its largest
 * magnitude is constant up to the rounding of its mean: it gets zero weight
 * (the bias already spans it). Float data is never that flat otherwise. */
#define PROBE_CONST_TOL 1e-12
/* Rank: after pivoting, a remaining column norm below this fraction of the
 * first pivot counts as zero. The columns are standardised, so this is a
 * relative tolerance on the conditioning of the latents, far above double
 * rounding and far below the independence of any real pair of latents. */
#define PROBE_RANK_TOL 1e-10

/* Solves min |A w - B| for w (n, P), the minimum-norm solution among the
 * minimisers when A is rank deficient. A (m, n) and B (m, P) are column-major
 * with leading dimension m and are destroyed; w is column-major with leading
 * dimension n. m >= n. Returns 0, or -1 if out of memory.
 *
 * Method: Householder QR with column pivoting, A Pi = Q [R11 R12; 0 R22],
 * stopped when the largest remaining column norm is negligible (rank r).
 * The least-squares solutions are those of [R11 R12] Pi^T w = (Q^T B)[0:r];
 * full rank: back substitution. Rank deficient: the minimum-norm solution of
 * that underdetermined system, M u = c with M = [R11 R12] (r, n), via a QR of
 * M^T = Q2 R2: w' = Q2 [R2^-T c; 0] (a complete orthogonal decomposition). */
static int lstsq_min_norm(double *A, double *B, int m, int n, int P, double *w)
{
    memset(w, 0, (size_t)n * (size_t)P * sizeof *w);
    if (n == 0)
        return 0;

    int *piv = malloc((size_t)n * sizeof *piv);
    double *norm2 = malloc((size_t)n * sizeof *norm2);
    if (!piv || !norm2) {
        free(piv);
        free(norm2);
        return -1;
    }
    for (int j = 0; j < n; j++)
        piv[j] = j;

    /* QR with column pivoting. The remaining column norms are recomputed
     * at every step rather than downdated: O(m n^2) either way, and exact. */
    int r = 0;
    double first = 0.0;
    for (int k = 0; k < n; k++) {
        int best = k;
        for (int j = k; j < n; j++) {
            const double *col = A + (size_t)j * m;
            double ss = 0.0;
            for (int i = k; i < m; i++)
                ss += col[i] * col[i];
            norm2[j] = ss;
            if (ss > norm2[best])
                best = j;
        }
        double nb = sqrt(norm2[best]);
        if (k == 0)
            first = nb;
        if (!(nb > PROBE_RANK_TOL * first)) /* also stops on nb == first == 0 */
            break;
        if (best != k) {
            double *a = A + (size_t)k * m, *b = A + (size_t)best * m;
            for (int i = 0; i < m; i++) {
                double t = a[i];
                a[i] = b[i];
                b[i] = t;
            }
            int t = piv[k];
            piv[k] = piv[best];
            piv[best] = t;
        }
        double *v = A + (size_t)k * m + k, beta;
        double alpha = house_make(v, m - k, &beta);
        for (int j = k + 1; j < n; j++)
            house_apply(v, beta, A + (size_t)j * m + k, m - k);
        for (int p = 0; p < P; p++)
            house_apply(v, beta, B + (size_t)p * m + k, m - k);
        /* R's diagonal replaces v[0]; the rest of v is no longer needed
         * because Q is only ever applied to B, which is done. */
        v[0] = alpha;
        r = k + 1;
    }

    /* R(i, j) = A[j*m + i] for i <= j < n, i < r; c = (Q^T B)[0:r]. */
    if (r == n) {
        for (int p = 0; p < P; p++) {
            const double *c = B + (size_t)p * m;
            double *x = w + (size_t)p * n;
            for (int i = r - 1; i >= 0; i--) {
                double s = c[i];
                for (int j = i + 1; j < r; j++)
                    s -= A[(size_t)j * m + i] * x[j];
                x[i] = s / A[(size_t)i * m + i];
            }
        }
    } else if (r > 0) {
        /* Mt = M^T (n, r), column-major with leading dimension n; beta2 and
         * diag (r each) describe its QR; u (n) is the solution workspace. */
        double *Mt = malloc(((size_t)n * r + 2 * (size_t)r + n) * sizeof *Mt);
        if (!Mt) {
            free(piv);
            free(norm2);
            return -1;
        }
        double *beta2 = Mt + (size_t)n * r, *diag = beta2 + r, *u = diag + r;
        for (int i = 0; i < r; i++)         /* row i of M */
            for (int j = 0; j < n; j++)     /* column j of M */
                Mt[(size_t)i * n + j] = j >= i ? A[(size_t)j * m + i] : 0.0;
        /* Mt = Q2 R2: R2's strict upper triangle stays in Mt, its diagonal
         * goes to diag, and the reflectors' vectors take the diagonal and
         * below. Mt has full column rank r, as R11 does. */
        for (int k = 0; k < r; k++) {
            double *v = Mt + (size_t)k * n + k;
            diag[k] = house_make(v, n - k, &beta2[k]);
            for (int j = k + 1; j < r; j++)
                house_apply(v, beta2[k], Mt + (size_t)j * n + k, n - k);
        }
        for (int p = 0; p < P; p++) {
            const double *c = B + (size_t)p * m;
            /* R2^T u = c by forward substitution; R2(j, i), j < i, is at
             * Mt[i*n + j]. */
            for (int i = 0; i < r; i++) {
                double s = c[i];
                for (int j = 0; j < i; j++)
                    s -= Mt[(size_t)i * n + j] * u[j];
                u[i] = s / diag[i];
            }
            for (int i = r; i < n; i++)
                u[i] = 0.0;
            /* w' = Q2 [u; 0] = H_0 H_1 ... H_{r-1} [u; 0] */
            for (int k = r - 1; k >= 0; k--)
                house_apply(Mt + (size_t)k * n + k, beta2[k], u + k, n - k);
            memcpy(w + (size_t)p * n, u, (size_t)n * sizeof *u);
        }
        free(Mt);
    }

    /* Undo the pivoting: w'[k] belongs to original column piv[k]. */
    double *tmp = norm2; /* n doubles, free now */
    for (int p = 0; p < P; p++) {
        double *x = w + (size_t)p * n;
        for (int k = 0; k < n; k++)
            tmp[piv[k]] = x[k];
        memcpy(x, tmp, (size_t)n * sizeof *tmp);
    }
    free(piv);
    free(norm2);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Linear probe                                                              */
/* ------------------------------------------------------------------------ */

/* y ≈ [x, 1] coef, coef (D + 1, P), row D the bias.
 * Centring x and y removes the bias from the problem (the least-squares fit
 * passes through the means), and scaling each x column to unit standard
 * deviation makes the rank tolerance and the pivoting independent of the
 * units of each latent. Then coef[j] = w[j] / s_j, bias = mean(y) -
 * mean(x) coef. */
int ssvae_probe_fit(ssvae_probe *probe, const float *x, const float *y,
                    int T, int D, int P, ssvae_error *err)
{
    assert(probe && (x || D == 0) && y);
    probe->D = 0;
    probe->P = 0;
    probe->coef = NULL;
    if (D < 0 || P < 1)
        return ssvae_fail(err, "probe: bad sizes (D=%d, P=%d)", D, P);
    if (T < D + 1)
        return ssvae_fail(err, "probe: need at least D+1 frames (T=%d, D=%d)", T, D);
    for (int t = 0; t < T; t++) {
        for (int j = 0; j < D; j++)
            if (!isfinite(x[(size_t)t * D + j]))
                return ssvae_fail(err, "probe: non-finite input at frame %d, column %d", t, j);
        for (int p = 0; p < P; p++)
            if (!isfinite(y[(size_t)t * P + p]))
                return ssvae_fail(err, "probe: non-finite target at frame %d, column %d", t, p);
    }

    size_t sT = (size_t)T, sD = (size_t)D, sP = (size_t)P;
    double *coef = calloc((sD + 1) * sP, sizeof *coef);
    /* mx, sx, keep-map (D each), my (P), A (T, n <= D), B (T, P), w (n, P) */
    double *work = malloc((3 * sD + sP + sT * sD + sT * sP + sD * sP + 1) * sizeof *work);
    int *cols = malloc((sD + 1) * sizeof *cols);
    if (!coef || !work || !cols) {
        free(coef);
        free(work);
        free(cols);
        return ssvae_fail(err, "probe: out of memory (T=%d, D=%d, P=%d)", T, D, P);
    }
    double *mx = work, *sx = mx + sD, *my = sx + sD, *A = my + sP;
    double *B = A + sT * sD, *w = B + sT * sP;

    for (int p = 0; p < P; p++) {
        double s = 0.0;
        for (int t = 0; t < T; t++)
            s += y[(size_t)t * P + p];
        my[p] = s / T;
        for (int t = 0; t < T; t++)
            B[(size_t)p * T + t] = y[(size_t)t * P + p] - my[p];
    }
    int n = 0; /* kept (non-constant) columns, listed in cols */
    for (int j = 0; j < D; j++) {
        double s = 0.0, amax = 0.0;
        for (int t = 0; t < T; t++) {
            double v = x[(size_t)t * D + j];
            s += v;
            amax = fmax(amax, fabs(v));
        }
        mx[j] = s / T;
        double ss = 0.0;
        for (int t = 0; t < T; t++) {
            double d = x[(size_t)t * D + j] - mx[j];
            ss += d * d;
        }
        sx[j] = sqrt(ss / T);
        if (!(sx[j] > PROBE_CONST_TOL * amax))
            continue;
        double *col = A + (size_t)n * T;
        for (int t = 0; t < T; t++)
            col[t] = (x[(size_t)t * D + j] - mx[j]) / sx[j];
        cols[n++] = j;
    }

    if (lstsq_min_norm(A, B, T, n, P, w) != 0) {
        free(coef);
        free(work);
        free(cols);
        return ssvae_fail(err, "probe: out of memory (T=%d, D=%d, P=%d)", T, D, P);
    }
    for (int p = 0; p < P; p++) {
        double bias = my[p];
        for (int k = 0; k < n; k++) {
            int j = cols[k];
            double c = w[(size_t)p * n + k] / sx[j];
            coef[(size_t)j * P + p] = c;
            bias -= mx[j] * c;
        }
        coef[sD * P + p] = bias;
    }
    free(work);
    free(cols);
    probe->D = D;
    probe->P = P;
    probe->coef = coef;
    return 0;
}

/* yhat (T, P) = [x, 1] coef, accumulated in double. */
void ssvae_probe_apply(const ssvae_probe *probe, const float *x, int T, float *yhat)
{
    assert(probe && probe->coef && T >= 0);
    int D = probe->D, P = probe->P;
    const double *coef = probe->coef;
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * D;
        for (int p = 0; p < P; p++) {
            double s = coef[(size_t)D * P + p];
            for (int j = 0; j < D; j++)
                s += (double)xt[j] * coef[(size_t)j * P + p];
            yhat[(size_t)t * P + p] = (float)s;
        }
    }
}

void ssvae_probe_free(ssvae_probe *probe)
{
    if (!probe)
        return;
    free(probe->coef);
    probe->coef = NULL;
    probe->D = 0;
    probe->P = 0;
}

/* ------------------------------------------------------------------------ */
/* Distances in pixels                                                       */
/* ------------------------------------------------------------------------ */

/* mean over t, k of sqrt((sx (px - tx))^2 + (sy (py - ty))^2) */
double ssvae_mean_distance(const float *pred, const float *truth, int T, int K,
                           double scale_x, double scale_y)
{
    assert(pred && truth && T > 0 && K > 0);
    size_t n = (size_t)T * (size_t)K;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double dx = scale_x * ((double)pred[2 * i] - truth[2 * i]);
        double dy = scale_y * ((double)pred[2 * i + 1] - truth[2 * i + 1]);
        sum += sqrt(dx * dx + dy * dy);
    }
    return sum / (double)n;
}

/* Pixel distance between map k of z (T, 2K, normalised) and ball b of c
 * (T, K, 2, pixels) at frame t. */
static double map_ball_distance(const float *z, const float *c, int t, int K,
                                int k, int b, int W, int H)
{
    const float *zt = z + (size_t)t * 2 * K, *ct = c + (size_t)t * 2 * K;
    double dx = (double)zt[2 * k] * W - ct[2 * b];
    double dy = (double)zt[2 * k + 1] * H - ct[2 * b + 1];
    return sqrt(dx * dx + dy * dy);
}

/* Next permutation of a (n) in lexicographic order; 0 after the last. */
static int next_permutation(int *a, int n)
{
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0)
        return 0;
    int j = n - 1;
    while (a[j] <= a[i])
        j--;
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
    for (int lo = i + 1, hi = n - 1; lo < hi; lo++, hi--) {
        t = a[lo];
        a[lo] = a[hi];
        a[hi] = t;
    }
    return 1;
}

/* error = mean_{t,k} | (W z[t,2k], H z[t,2k+1]) - c[t, perm[k]] |, with perm
 * the pairing that minimises the same mean on the fit set. The mean over a
 * pairing is a sum of per-(map, ball) totals, so those K^2 totals are
 * computed once and the K! pairings are scored in O(K) each. Pairings are
 * visited in lexicographic order and only a strictly smaller total replaces
 * the best, so ties go to the first (the identity if it is among them). */
double ssvae_direct_error(const float *z_fit, const float *c_fit, int T_fit,
                          const float *z_eval, const float *c_eval, int T_eval,
                          int K, int W, int H, int *perm)
{
    assert(z_fit && c_fit && z_eval && c_eval && perm);
    assert(T_fit > 0 && T_eval > 0 && K >= 1 && K <= SSVAE_MAXBALLS);
    double cost[SSVAE_MAXBALLS][SSVAE_MAXBALLS];
    for (int k = 0; k < K; k++)
        for (int b = 0; b < K; b++) {
            double s = 0.0;
            for (int t = 0; t < T_fit; t++)
                s += map_ball_distance(z_fit, c_fit, t, K, k, b, W, H);
            cost[k][b] = s;
        }

    int a[SSVAE_MAXBALLS];
    for (int k = 0; k < K; k++)
        a[k] = perm[k] = k;
    double best = INFINITY;
    do {
        double s = 0.0;
        for (int k = 0; k < K; k++)
            s += cost[k][a[k]];
        if (s < best) {
            best = s;
            memcpy(perm, a, (size_t)K * sizeof *a);
        }
    } while (next_permutation(a, K));

    double sum = 0.0;
    for (int t = 0; t < T_eval; t++)
        for (int k = 0; k < K; k++)
            sum += map_ball_distance(z_eval, c_eval, t, K, k, perm[k], W, H);
    return sum / ((double)T_eval * K);
}

/* error = mean_{t,k} | c_eval[t, k] - mean_t' c_fit[t', k] | */
double ssvae_chance_error(const float *c_fit, int T_fit, const float *c_eval,
                          int T_eval, int K)
{
    assert(c_fit && c_eval && T_fit > 0 && T_eval > 0);
    assert(K >= 1 && K <= SSVAE_MAXBALLS);
    double mean[SSVAE_MAXBALLS][2] = {{0.0}};
    for (int t = 0; t < T_fit; t++)
        for (int k = 0; k < K; k++) {
            mean[k][0] += c_fit[((size_t)t * K + k) * 2];
            mean[k][1] += c_fit[((size_t)t * K + k) * 2 + 1];
        }
    double sum = 0.0;
    for (int k = 0; k < K; k++) {
        double mx = mean[k][0] / T_fit, my = mean[k][1] / T_fit;
        for (int t = 0; t < T_eval; t++) {
            double dx = c_eval[((size_t)t * K + k) * 2] - mx;
            double dy = c_eval[((size_t)t * K + k) * 2 + 1] - my;
            sum += sqrt(dx * dx + dy * dy);
        }
    }
    return sum / ((double)T_eval * K);
}
