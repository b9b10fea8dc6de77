/*
 * linear.c — a fully connected layer, used by the supervised baseline's
 * 6 -> 6 head. Sizes are tiny, so the loops are plain.
 */
#include "nn/nn.h"

// y = x w^T + b
void linear_forward(float *y, const float *x, const float *w, const float *b,
                    int N, int I, int O)
{
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            float s = b ? b[o] : 0.0f;
            for (int i = 0; i < I; i++) s += x[n * I + i] * w[o * I + i];
            y[n * O + o] = s;
        }
}

// dx = dy w;  dw += dy^T x;  db += sum_n dy
void linear_backward(float *dx, float *dw, float *db, const float *dy,
                     const float *x, const float *w, int N, int I, int O)
{
    for (int n = 0; n < N; n++) {
        for (int o = 0; o < O; o++) {
            float g = dy[n * O + o];
            if (db) db[o] += g;
            for (int i = 0; i < I; i++) dw[o * I + i] += g * x[n * I + i];
        }
        if (dx)
            for (int i = 0; i < I; i++) {
                float s = 0;
                for (int o = 0; o < O; o++) s += dy[n * O + o] * w[o * I + i];
                dx[n * I + i] = s;
            }
    }
}
