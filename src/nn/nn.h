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

/* dw, db += the per-frame partials in work (conv3x3_work_size), summed in
 * frame order in double. */
void conv3x3_work_reduce(float *dw, float *db, const float *work, int N, int C,
                         int O);

/* Largest channel count the convolution takes (a bound for stack buffers). */
#define CONV3X3_MAXCH 32

/* conv_rows.c: vector row kernels ---------------------------------------- */

/* Lanes of the vectors the row kernels work in: the widest the target has
 * (AVX-512 16, AVX 8, otherwise 4, which SSE and NEON have). */
#if defined(__AVX512F__)
#define NN_VL 16
#elif defined(__AVX__)
#define NN_VL 8
#else
#define NN_VL 4
#endif

/* A padded row for these kernels: Wv = conv_rows_width(W) floats (W rounded
 * up to the kernels' step), starting on a multiple of NN_VL floats, with
 * its columns W .. Wv and the NN_VL floats either side readable and zero.
 * A row outside the image is an all-zero padded row. */
size_t conv_rows_width(int W);

/* One output row of the convolution for every output channel:
 * out[o][x] = b[o] + sum_c sum_{ky,kx} w[o, c, ky, kx] in[3c + ky][x + kx - 1]
 * for x < Wv; in[3c + 0, 1, 2]: rows r - 1, r, r + 1 of channel c (padded);
 * out[o]: Wv floats on a multiple of NN_VL floats; w (O, C, 3, 3); b (O)
 * or NULL. */
void conv_rows_forward(float *const *out, const float *const *in, const float *w,
                       const float *b, int C, int O, size_t Wv);

/* Floats of the weight-gradient sums: (O C 9 + O) vectors of NN_VL lanes. */
size_t conv_rows_dw_size(int C, int O);
/* One output row's share of the weight and bias gradients, kept as vector
 * sums: acc (conv_rows_dw_size floats, on a multiple of NN_VL floats)
 * accumulates g[o][x] in[3c + ky][x + kx - 1] into (o, c, ky, kx) and g[o][x]
 * into o's bias sum. g[o]: padded rows of the output gradient (zero from W
 * on); in as conv_rows_forward. */
void conv_rows_dw(float *acc, const float *const *g, const float *const *in,
                  int C, int O, size_t Wv);
/* part (O, C, 3, 3) then (O) = acc's sums with their lanes added in order. */
void conv_rows_dw_reduce(float *part, const float *acc, int C, int O);

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
 * s may be NULL (not stored). sums: NULL, or (N, K, COM_SUMS) doubles for
 * com_grad_init, taken against mean (K), the batch mean of x (training). */
#define COM_SUMS 6
void bn_sigmoid_com_forward(float *s, float *z, float *mass, double *sums,
                            const float *x, const float *scale,
                            const float *shift, const float *mean, int N,
                            int K, int H, int W);

/* The backward of batch norm -> sigmoid -> centre of mass (com_backward,
 * sigmoid_backward, batchnorm_backward) as constants, so that the gradient
 * at the batch norm's input can be made a row at a time from its input x,
 * anywhere, without a pass over the batch: at row i, column j of plane
 * (n, k) it is ac (p0 + p1 i + p2 j) s (1 - s) + kc (x - mean) + bc, with
 * s = sigmoid(x scale + shift), (p0, p1, p2) = plane[(n K + k) 3 ..] and the
 * rest per channel k. */
typedef struct com_grad {
    float *plane; /* (N, K, 3), caller-owned */
    int K, H, W;
    float ac[CONV3X3_MAXCH], kc[CONV3X3_MAXCH], bc[CONV3X3_MAXCH];
    float mean[CONV3X3_MAXCH], scale[CONV3X3_MAXCH], shift[CONV3X3_MAXCH];
} com_grad;
/* Fills cg (plane: (N, K, 3) floats) from dz (N, 2K), the forward's z, mass
 * and sums (bn_sigmoid_com_forward), and the batch norm's statistics (mean,
 * rstd), affine form (scale, shift) and gamma; dgamma, dbeta (K) accumulate. */
void com_grad_init(com_grad *cg, float *plane, float *dgamma, float *dbeta,
                   const float *dz, const float *z, const float *mass,
                   const double *sums, const float *scale, const float *shift,
                   const float *mean, const float *rstd, const float *gamma,
                   int N, int K, int H, int W);
/* Row i of plane (n, k) of the gradient into dst (W), from that row of x. */
void com_grad_row(float *dst, const com_grad *cg, const float *x_row, int n,
                  int k, int i);
/* Every row: dx (N, K, H, W) overwritten from x (N, K, H, W). */
void com_sigmoid_bn_backward(float *dx, const com_grad *cg, const float *x, int N);

/* Doubles of the per-plane sums (N, C, 2) conv_bn_relu_conv_backward writes. */
size_t fused_backward_work_size(int N, int C);
/* batchnorm_backward's second pass as dx = a dy + k (x - mean) + b (a, k,
 * b: C each) from per-plane sums (N, C, 2) of dy and of dy (x - mean),
 * added in frame order; dgamma, dbeta (C) accumulate. */
void batchnorm_backward_coeffs(float *a, float *k, float *b, float *dgamma,
                               float *dbeta, const double *sums,
                               const float *rstd, const float *gamma, int N,
                               int C, int HW);

/* moments.c ------------------------------------------------------------ */
/* The second moments of a frame's 3x3 patches (see moments.c):
 * G = sum_p P(p) P(p)', P(p) the (C, 3, 3) patch of x = q / 255 at pixel p
 * (zero outside the frame) followed by a 1; symmetric, (9C + 1)^2 =
 * patch_moments_size(C) doubles, exact up to its last rounding. frame:
 * (H, W, C) bytes. */
size_t patch_moments_size(int C);
void patch_moments(double *G, const uint8_t *frame, int C, int H, int W);
/* sum = moments[0] + ... + moments[N - 1], in that order. */
void patch_moments_sum(double *sum, const double *const *moments, int N,
                       int C);
/* mean, rstd, var_unbiased (O; the last may be NULL) of conv3x3_forward's
 * output over a batch, as batchnorm_stats_finish gives them, from G: the
 * batch's summed moments; w (O, C, 3, 3), b (O). */
void conv3x3_moment_stats(float *mean, float *rstd, float *var_unbiased,
                          const double *G, const float *w, const float *b,
                          int C, int O);
/* From the same G: E (O, 9C + 1) = sum over the batch of (a_o - mean_o)
 * P, a = conv3x3_forward's output; X (9C + 1) = sum of P. */
void conv3x3_moment_sums(double *E, double *X, const double *G, const float *w,
                         const float *b, const float *mean, int C, int O);

/* Streamed convolutions (stream.c): a convolution's input is made a row at
 * a time into a ring of rows per channel and never stored. Two passes
 * train an encoder x (bytes) -> conv1 -> a1 (F) -> batch norm, ReLU -> h1
 * -> conv2 -> a2 (K): conv_bn_relu_conv_forward, and after the loss
 * conv_bn_relu_conv_backward, then bn_conv3x3_backward_finish with no pass
 * of its own. a1 and h1 are never stored: each pass remakes their rows
 * from the frames' bytes, frames[n] (H, W, C) each, x = q / 255; bn1's
 * batch statistics come from the frames' patch moments (moments.c).
 * rows: fused_rows_size(N, C, F, K, W) floats of scratch (one slot per
 * frame), enough for both passes; no alignment needed. */
size_t fused_rows_size(int N, int C, int F, int K, int W);
/* Floats of the per-frame sums conv_bn_relu_conv_backward leaves for
 * bn_conv3x3_backward_finish. */
size_t fused_xsums_size(int N, int C, int F);
/* y (N, O, H, W) = conv(relu(conv(x, w1, b1) scale + shift), w2, b2) and
 * its batch statistics (stats: batchnorm_stats_size(N, O) doubles, or
 * NULL). w1 (F, C, 3, 3), b1, scale, shift (F): the first convolution and
 * its batch norm as x scale + shift; w2 (O, F, 3, 3), b2 (O). */
void conv_bn_relu_conv_forward(float *y, double *stats,
                               const uint8_t *const *frames, const float *w1,
                               const float *b1, const float *scale,
                               const float *shift, const float *w2,
                               const float *b2, float *rows, int N, int C,
                               int F, int O, int H, int W);
/* The backward pass through conv_bn_relu_conv_forward up to the first
 * batch norm: dw (O, F, 3, 3), db (O) accumulate conv3x3_backward's weight
 * gradients against h1 (remade); of the input gradient
 * dh = relu_backward(conv3x3_backward's dx) only sums leave: the batch
 * norm backward's per plane, sums (N, F, 2) = sum dh, sum dh (a1 - mean),
 * and xsums (fused_xsums_size) = dh against x. The gradient at the
 * output is dy (N, O, H, W), or, with cg, made by com_grad_row from
 * dy = the next batch norm's input. mean (F): bn1's batch mean. work:
 * conv3x3_work_size(N, F, O) floats, which keeps the per-frame partials
 * of dw, db; dw NULL: they are left there unsummed (conv3x3_work_reduce
 * adds them later, as a data-parallel run does after gathering them). */
void conv_bn_relu_conv_backward(double *sums, float *dw, float *db,
                                float *xsums, const float *dy,
                                const com_grad *cg,
                                const uint8_t *const *frames, const float *w1,
                                const float *b1, const float *scale,
                                const float *shift, const float *mean,
                                const float *w2, float *work, float *rows,
                                int N, int C, int F, int O, int H, int W);
/* The rest: the first batch norm's backward (sums from
 * conv_bn_relu_conv_backward; rstd, gamma of that batch norm; dgamma,
 * dbeta (F) accumulate) and the first convolution's weight gradients
 * dw (F, C, 3, 3), db (F), which accumulate, from the backward's xsums and
 * the batch's summed patch moments G alone (see stream.c); w, b: that
 * convolution's weights; mean: its batch mean. */
void bn_conv3x3_backward_finish(float *dw, float *db, float *dgamma,
                                float *dbeta, const double *sums,
                                const double *G, const float *w,
                                const float *b, const float *mean,
                                const float *xsums, const float *rstd,
                                const float *gamma, int N, int C, int F,
                                int H, int W);

#endif
