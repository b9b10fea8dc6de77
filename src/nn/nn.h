/*
 * nn.h — the layers of the encoder (SPEC section 2), each a forward and a
 * backward function over caller-owned buffers. Nothing here allocates,
 * prints, or knows about files, priors or training.
 *
 * Letters: N frames, C input channels, O output channels, H x W pixels,
 * M = N*H*W elements per channel. Planes are (N, C, H, W), C order.
 * Backward functions accumulate (+=) parameter gradients; input gradients
 * (dx) are overwritten. Reductions over frames are done per frame and then
 * summed in frame order, so results do not depend on the thread count.
 */
#ifndef SSVAE_NN_H
#define SSVAE_NN_H

#include <stddef.h>

/* conv3x3.c ------------------------------------------------------------- */

/* y[n,o] = b[o] + sum_c w[o,c] (*) x[n,c], 3x3, stride 1, zero padding 1.
 * y (N, O, H, W); x (N, C, H, W); w (O, C, 3, 3); b (O). */
void conv3x3_forward(float *y, const float *x, const float *w, const float *b,
                     int N, int C, int O, int H, int W);

/* Floats of workspace conv3x3_backward needs: per-frame partial weight
 * gradients, summed afterwards in frame order (deterministic reduction). */
size_t conv3x3_work_size(int N, int C, int O);

/* dx (N, C, H, W), overwritten, may be NULL; dw (O, C, 3, 3) and db (O)
 * accumulate; dy (N, O, H, W); work: conv3x3_work_size(N, C, O) floats. */
void conv3x3_backward(float *dx, float *dw, float *db, const float *dy,
                      const float *x, const float *w, float *work, int N,
                      int C, int O, int H, int W);

/* Largest channel count the convolution takes (a bound for stack buffers). */
#define CONV3X3_MAXCH 32

/* batchnorm.c ----------------------------------------------------------- */

#define BATCHNORM_EPS 1e-5f

/* Training mode: statistics over the batch (all N frames and pixels).
 * y = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps), var
 * biased. mean, rstd (C) are outputs that backward needs; var_unbiased (C,
 * may be NULL) is what the running statistics take. */
void batchnorm_forward_train(float *y, float *mean, float *rstd,
                             float *var_unbiased, const float *x,
                             const float *gamma, const float *beta,
                             double *work, int N, int C, int HW);

/* Doubles of workspace the training-mode functions need: per-frame partial
 * sums, added afterwards in frame order. */
size_t batchnorm_work_size(int N, int C);

/* Evaluation mode: the running statistics instead of the batch's. */
void batchnorm_forward_eval(float *y, const float *x, const float *gamma,
                            const float *beta, const float *running_mean,
                            const float *running_var, int N, int C, int HW);

/* running = (1 - momentum) running + momentum batch, as PyTorch does. */
void batchnorm_update_running(float *running_mean, float *running_var,
                              const float *mean, const float *var_unbiased,
                              int C, float momentum);

/* dx (N, C, HW) overwritten; dgamma, dbeta (C) accumulate. x is the input
 * of the forward pass, mean and rstd its outputs. dx may alias dy. */
void batchnorm_backward(float *dx, float *dgamma, float *dbeta,
                        const float *dy, const float *x, const float *mean,
                        const float *rstd, const float *gamma, double *work,
                        int N, int C, int HW);

/* activations.c --------------------------------------------------------- */

void relu_forward(float *y, const float *x, size_t n);
/* dx = dy * (y > 0); dx may alias dy. */
void relu_backward(float *dx, const float *dy, const float *y, size_t n);
void sigmoid_forward(float *y, const float *x, size_t n);
/* dx = dy * y (1 - y); dx may alias dy. */
void sigmoid_backward(float *dx, const float *dy, const float *y, size_t n);

/* centre_of_mass.c ------------------------------------------------------ */

/* For each of the K maps of frame n, its centre of mass in normalised
 * coordinates: z[n, 2k] = sum_ij s_ij (j + 0.5) / W / mass,
 * z[n, 2k+1] = sum_ij s_ij (i + 0.5) / H / mass, mass = sum_ij s_ij.
 * z (N, 2K); mass (N, K) is an output that backward needs; s (N, K, H, W)
 * must be positive (the sigmoid makes it so). */
void com_forward(float *z, float *mass, const float *s, int N, int K, int H,
                 int W);

/* ds (N, K, H, W) overwritten from dz (N, 2K). */
void com_backward(float *ds, const float *dz, const float *z,
                  const float *mass, int N, int K, int H, int W);

/* linear.c -------------------------------------------------------------- */

/* y (N, O) = x (N, I) w^T + b; w (O, I); b (O). */
void linear_forward(float *y, const float *x, const float *w, const float *b,
                    int N, int I, int O);
/* dx (N, I) overwritten, may be NULL; dw (O, I), db (O) accumulate. */
void linear_backward(float *dx, float *dw, float *db, const float *dy,
                     const float *x, const float *w, int N, int I, int O);

#endif
