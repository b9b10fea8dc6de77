/*
 * evaluate.c — scores a trained encoder the way SPEC section 4 asks: the
 * linear probe (fitted on the training video, scored on both), the direct
 * error (each map's centre of mass read as a ball, the pairing chosen on the
 * training video) and the chance level. The probe alone cannot tell a
 * trained encoder from an untrained one; the direct error can.
 */
#include <math.h>
#include <stdlib.h>

#include "ssvae.h"

int ssvae_evaluate(ssvae_model *m, const uint8_t *train_video,
                   const float *train_centres, int T_train,
                   const uint8_t *test_video, const float *test_centres,
                   int T_test, float *z_train, float *z_test, ssvae_eval *out,
                   ssvae_error *err)
{
    int D = m->D;
    float *ztr = malloc((size_t)T_train * D * sizeof *ztr);
    float *zte = malloc((size_t)T_test * D * sizeof *zte);
    int rc = -1;
    if (!ztr || !zte) {
        ssvae_fail(err, "out of memory encoding %d + %d frames", T_train, T_test);
    } else {
        ssvae_model_encode(m, train_video, T_train, ztr);
        ssvae_model_encode(m, test_video, T_test, zte);
        rc = ssvae_evaluate_latents(ztr, train_centres, T_train, zte, test_centres, T_test,
                                    m->cfg.K, m->cfg.W, m->cfg.H, out, err);
    }
    if (rc == 0 && z_train) for (size_t i = 0; i < (size_t)T_train * D; i++) z_train[i] = ztr[i];
    if (rc == 0 && z_test) for (size_t i = 0; i < (size_t)T_test * D; i++) z_test[i] = zte[i];
    free(ztr);
    free(zte);
    return rc;
}

int ssvae_evaluate_latents(const float *ztr, const float *train_centres, int T_train,
                           const float *zte, const float *test_centres, int T_test, int K,
                           int W, int H, ssvae_eval *out, ssvae_error *err)
{
    int D = 2 * K;
    float *yhat = malloc((size_t)(T_train > T_test ? T_train : T_test) * D * sizeof *yhat);
    float *ytr = malloc((size_t)T_train * D * sizeof *ytr), *yte = malloc((size_t)T_test * D * sizeof *yte);
    ssvae_probe probe = {0};
    int rc = -1;
    if (!yhat || !ytr || !yte) {
        ssvae_fail(err, "out of memory scoring %d + %d frames", T_train, T_test);
        goto done;
    }
    /* The probe works in normalised coordinates; distances are scaled to px. */
    for (int t = 0; t < T_train * K; t++) {
        ytr[2 * t] = train_centres[2 * t] / W;
        ytr[2 * t + 1] = train_centres[2 * t + 1] / H;
    }
    for (int t = 0; t < T_test * K; t++) {
        yte[2 * t] = test_centres[2 * t] / W;
        yte[2 * t + 1] = test_centres[2 * t + 1] / H;
    }
    if (ssvae_probe_fit(&probe, ztr, ytr, T_train, D, D, err) == 0) {
        ssvae_probe_apply(&probe, ztr, T_train, yhat);
        out->probe_train = ssvae_mean_distance(yhat, ytr, T_train, K, W, H);
        ssvae_probe_apply(&probe, zte, T_test, yhat);
        out->probe_test = ssvae_mean_distance(yhat, yte, T_test, K, W, H);
        out->direct_train = ssvae_direct_error(ztr, train_centres, T_train, ztr, train_centres,
                                               T_train, K, W, H, out->perm);
        out->direct_test = ssvae_direct_error(ztr, train_centres, T_train, zte, test_centres,
                                              T_test, K, W, H, out->perm);
        out->chance_test = ssvae_chance_error(train_centres, T_train, test_centres, T_test, K);
        /* per ball: map k read against ball perm[k] on the held-out video */
        out->found = 0;
        for (int k = 0; k < K; k++) {
            int b = out->perm[k];
            double sum = 0;
            for (int t = 0; t < T_test; t++) {
                double dx = (double)zte[(size_t)t * D + 2 * k] * W - test_centres[((size_t)t * K + b) * 2];
                double dy = (double)zte[(size_t)t * D + 2 * k + 1] * H - test_centres[((size_t)t * K + b) * 2 + 1];
                sum += sqrt(dx * dx + dy * dy);
            }
            out->direct_ball[b] = sum / T_test;
            out->found += out->direct_ball[b] < SSVAE_FOUND_PX;
        }
        rc = 0;
    }
done:
    ssvae_probe_free(&probe);
    free(ytr);
    free(yte);
    free(yhat);
    return rc;
}
