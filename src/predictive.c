/*
 * predictive.c — the predictive distribution of Fig. 1D/E,
 * P(z'|z) ∝ Q(z') f(z, z'), of one map's next position over the whole
 * image, with Q(z') uniform over the pixels (as the paper draws it). Built
 * only on the prior's logits op, so every prior in the table gets the map.
 *
 * H x W pixels, D latents, k the map whose coordinates move.
 */
#include <math.h>
#include <stdlib.h>

#include "ssvae.h"

/* Pixels given to one logits call. The op computes a (B, B) matrix and we
 * keep its first row (the one current z against B candidates z'), so the
 * cost is B logits per pixel: small B, but large enough to amortise. */
#define PRED_CHUNK 16

int ssvae_predictive_map(const ssvae_model *m, const float *z, int k,
                         float *out, ssvae_error *err)
{
    const ssvae_model_config *c = &m->cfg;
    int D = m->D, H = c->H, W = c->W;
    if (c->supervised)
        return ssvae_fail(err, "the supervised baseline has no prior, so no predictive map");
    if (k < 0 || k >= c->K)
        return ssvae_fail(err, "map %d is out of range [0, %d)", k, c->K);
    if (!(c->units > 0) || !isfinite(c->units))
        return ssvae_fail(err, "model units %g are not a positive number", c->units);
    for (int d = 0; d < D; d++)
        if (!isfinite(z[d]))
            return ssvae_fail(err, "latent %d is not finite", d);
    const ssvae_prior_ops *ops = ssvae_prior_get(c->prior);
    int B = PRED_CHUNK;
    float *zs = malloc((size_t)B * D * sizeof *zs);   /* (B, D) copies of z * units */
    float *zp = malloc((size_t)B * D * sizeof *zp);   /* (B, D) candidates z' * units */
    float *s = malloc((size_t)B * B * sizeof *s);     /* (B, B) logits */
    if (!zs || !zp || !s) {
        free(zs), free(zp), free(s);
        return ssvae_fail(err, "out of memory for the predictive map");
    }
    float units = (float)c->units;
    for (int b = 0; b < B; b++)
        for (int d = 0; d < D; d++)
            zs[b * D + d] = zp[b * D + d] = z[d] * units;
    /* log f(z, z'(pixel)) for every pixel, into out */
    int npix = H * W;
    for (int p0 = 0; p0 < npix; p0 += B) {
        int n = npix - p0 < B ? npix - p0 : B;
        for (int b = 0; b < n; b++) {
            int i = (p0 + b) / W, j = (p0 + b) % W;
            zp[b * D + 2 * k] = (float)((j + 0.5) / W) * units;
            zp[b * D + 2 * k + 1] = (float)((i + 0.5) / H) * units;
        }
        ops->logits(s, m->head, zs, zp, B, D); /* row 0: z against each z'_b */
        for (int b = 0; b < n; b++)
            out[p0 + b] = s[b];
    }
    free(zs), free(zp), free(s);
    /* P = exp(s - max) / sum exp(s - max): the softmax over pixels, Q uniform */
    double mx = -INFINITY;
    for (int p = 0; p < npix; p++) {
        if (isnan(out[p]))
            return ssvae_fail(err, "the prior's log f is NaN at pixel %d", p);
        if (out[p] > mx)
            mx = out[p];
    }
    if (!isfinite(mx))
        return ssvae_fail(err, "the prior's log f is not finite anywhere on the image");
    double sum = 0.0;
    for (int p = 0; p < npix; p++)
        sum += exp((double)out[p] - mx);
    for (int p = 0; p < npix; p++)
        out[p] = (float)(exp((double)out[p] - mx) / sum);
    return 0;
}
