/*
 * activations.c — the element-wise nonlinearities of the encoder: ReLU after
 * the first batch norm, sigmoid after the second (its output is the map
 * whose centre of mass is a latent). Backward passes use the forward
 * output, which the encoder keeps anyway.
 */
#include <math.h>

#include "nn/nn.h"

void relu_forward(float *y, const float *x, size_t n)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

// dx = dy [y > 0]
void relu_backward(float *dx, const float *dy, const float *y, size_t n)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// y = 1 / (1 + exp(-x))
void sigmoid_forward(float *y, const float *x, size_t n)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
}

// dx = dy y (1 - y)
void sigmoid_backward(float *dx, const float *dy, const float *y, size_t n)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}
