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
#include <stdint.h>

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

/* One output row of the convolution for one (output, input) channel pair:
 * out[x] += sum_{dy,dx in -1..1} k[(dy+1)*3 + dx+1] * row_dy[x + dx]; r0 / r2
 * are the rows above / below, NULL outside the image. */
void conv3x3_row(float *restrict out, const float *r0, const float *r1,
                 const float *r2, const float *k, int W);

/* conv3x3_row for three output channels at once (kernels ka, kb, kc),
 * sharing the loads of the input rows. */
void conv3x3_row3(float *restrict o0, float *restrict o1, float *restrict o2,
                  const float *r0, const float *r1, const float *r2,
                  const float *ka, const float *kb, const float *kc, int W);

/* One output row's share of a weight gradient: acc[ky*3 + kx] += sum_x
 * g[x] rows[ky][x + kx - 1], rows[0] / rows[2] NULL outside the image. */
void conv3x3_dw_row(float *acc, const float *g, const float *const rows[3],
                    int W);

/* conv3x3_row3 and conv3x3_dw_row for input rows padded with a zero on
 * each side (r[-1] and r[W] readable and 0): every column vectorises. */
void conv3x3_row3_padded(float *restrict o0, float *restrict o1,
                         float *restrict o2, const float *r0, const float *r1,
                         const float *r2, const float *ka, const float *kb,
                         const float *kc, int W);
void conv3x3_dw_row_padded(float *acc, const float *g,
                           const float *const rows[3], int W);

/* dw, db += the per-frame partials in work (conv3x3_work_size), summed in
 * frame order in double. */
void conv3x3_work_reduce(float *dw, float *db, const float *work, int N, int C,
                         int O);

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

/* fused.c --------------------------------------------------------------- */
/* The training passes of the encoder with element-wise layers fused in, so
 * each activation is read and written fewer times. Each equals a
 * composition of the layers above up to float rounding (tests/test_fused.c). */

/* exp(x) to ~2 ulp for x in [-87, 88], clamped outside (see fused.c); the
 * scalar face of the vectorised exp the fused sigmoid uses. */
float nn_exp(float x);
/* sigmoid_forward with nn_exp: vectorises. */
void sigmoid_forward_fast(float *y, const float *x, size_t n);

/* Doubles of per-plane statistics conv3x3_forward_stats and
 * batchnorm_plane_stats write: (N, C, 3). */
size_t batchnorm_stats_size(int N, int C);
/* stats (N, C, 3) of x (N, C, H, W): per plane, its count, mean and sum of
 * squared deviations from the mean (merged row by row, see fused.c). */
void batchnorm_plane_stats(double *stats, const float *x, int N, int C, int H,
                           int W);
/* Merges one row of W values into its plane's st[3] (count, mean, M2;
 * start from zeros). */
void batchnorm_row_stats(double *st, const float *row, int W);
/* mean, rstd, var_unbiased (C, may be NULL) from stats, as
 * batchnorm_forward_train computes them. */
void batchnorm_stats_finish(float *mean, float *rstd, float *var_unbiased,
                            const double *stats, int N, int C, int HW);
/* conv3x3_forward that also writes its output's stats (in conv3x3.c). */
void conv3x3_forward_stats(float *y, double *stats, const float *x,
                           const float *w, const float *b, int N, int C, int O,
                           int H, int W);
/* Batch norm as y = x scale + shift: training (batch mean, rstd) and
 * evaluation (running statistics) give scale and shift (C) as
 * batchnorm_forward_train and batchnorm_forward_eval compute them. */
void batchnorm_affine(float *scale, float *shift, const float *mean,
                      const float *rstd, const float *gamma, const float *beta,
                      int C);
void batchnorm_affine_eval(float *scale, float *shift, const float *gamma,
                           const float *beta, const float *running_mean,
                           const float *running_var, int C);
/* y = relu(x scale + shift); y, x (N, C, HW); may alias. */
void bn_relu_forward(float *y, const float *x, const float *scale,
                     const float *shift, int N, int C, int HW);
/* s = sigmoid(x scale + shift) (N, K, H, W), then com_forward's z, mass;
 * s may be NULL (not stored). */
void bn_sigmoid_com_forward(float *s, float *z, float *mass, const float *x,
                            const float *scale, const float *shift, int N,
                            int K, int H, int W);

/* Doubles of workspace the fused backward passes need. */
size_t fused_backward_work_size(int N, int C);
/* com_backward, sigmoid_backward and batchnorm_backward in two passes:
 * dx (N, K, H, W) overwritten; dgamma, dbeta (K) accumulate; z, mass from
 * com_forward; x, mean, rstd the batch norm's input and statistics, scale
 * and shift its affine form (batchnorm_affine): the sigmoid's output is
 * recomputed from x, not read. */
void com_sigmoid_bn_backward(float *dx, float *dgamma, float *dbeta,
                             const float *dz, const float *z,
                             const float *mass, const float *x,
                             const float *scale, const float *shift,
                             const float *mean, const float *rstd,
                             const float *gamma, double *work, int N, int K,
                             int H, int W);
/* relu_backward (y the ReLU's output) then batchnorm_backward, in two
 * passes; dx may alias dy. */
void relu_bn_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                      const float *y, const float *x, const float *mean,
                      const float *rstd, const float *gamma, double *work,
                      int N, int C, int HW);

/* Streamed convolutions (fused.c): the convolution's input is made a row
 * at a time into a ring of three rows per channel and never stored. rows:
 * fused_rows_size(N, C, O, W) floats of scratch (one slot per frame), for
 * a convolution of C inputs and O outputs. */
size_t fused_rows_size(int N, int C, int O, int W);
/* conv3x3_forward_stats (stats may be NULL) of x = xq / 255, xq (N, C, H, W)
 * bytes, without storing x. */
void conv3x3_forward_u8(float *y, double *stats, const uint8_t *xq,
                        const float *w, const float *b, float *rows, int N,
                        int C, int O, int H, int W);
/* bn_relu_forward of a (N, C, H, W) then conv3x3_forward_stats (stats may
 * be NULL), without storing the ReLU's output. */
void bn_relu_conv3x3_forward(float *y, double *stats, const float *a,
                             const float *scale, const float *shift,
                             const float *w, const float *b, float *rows,
                             int N, int C, int O, int H, int W);
/* The backward of bn_relu_conv3x3_forward down to the batch norm's output:
 * conv3x3_backward against h = relu(a scale + shift) (recomputed), then
 * relu_backward, giving dx (N, C, H, W) overwritten; dw, db accumulate
 * (work: conv3x3_work_size); and the first pass of the batch norm's
 * backward, sums (N, C, 2) (fused_backward_work_size doubles): per plane,
 * sum dx and sum dx (a - mean), for bn_conv3x3_backward_u8. */
void bn_relu_conv3x3_backward(float *dx, double *sums, float *dw, float *db,
                              const float *dy, const float *a,
                              const float *scale, const float *shift,
                              const float *mean, const float *w, float *work,
                              float *rows, int N, int C, int O, int H, int W);
/* The rest of the batch norm's backward (dgamma, dbeta (O) accumulate)
 * applied to dy (N, O, H, W) a row at a time, each corrected row going
 * straight into the weight gradient of the convolution before it (dw
 * (O, C, 3, 3), db (O) accumulate) against x = xq / 255 (N, C, H, W): the
 * batch norm's input gradient is never stored. a, mean, rstd: the batch
 * norm's input and statistics; sums from bn_relu_conv3x3_backward. */
void bn_conv3x3_backward_u8(float *dw, float *db, float *dgamma,
                            float *dbeta, const float *dy, const double *sums,
                            const float *a, const float *mean,
                            const float *rstd, const float *gamma,
                            const uint8_t *xq, float *work, float *rows,
                            int N, int C, int O, int H, int W);

#endif
