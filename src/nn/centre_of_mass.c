/*
 * centre_of_mass.c — reads each of the K maps of a frame as a position: the
 * column sums normalised to 1 weight the column centres (x), the row sums
 * weight the row centres (y). Coordinates are pixel centres divided by the
 * image size, so they lie in [0, 1] (SPEC section 2).
 */
#include "nn/nn.h"

// z_x = sum_ij s_ij (j + .5) / W / mass,  z_y = sum_ij s_ij (i + .5) / H / mass
void com_forward(float *z, float *mass, const float *s, int N, int K, int H,
                 int W)
{
    size_t plane = (size_t)H * W;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) {
            const float *p = s + ((size_t)n * K + k) * plane;
            double m = 0, mx = 0, my = 0;
            for (int i = 0; i < H; i++) {
                const float *row = p + (size_t)i * W;
                float rs = 0, rx = 0;
#pragma omp simd reduction(+ : rs, rx)
                for (int j = 0; j < W; j++) {
                    rs += row[j];
                    rx += row[j] * (float)j;
                }
                m += rs;
                mx += rx;
                my += (double)rs * i;
            }
            /* sum s (j + .5) = mx + .5 m */
            z[(size_t)n * 2 * K + 2 * k] = (float)((mx / m + 0.5) / W);
            z[(size_t)n * 2 * K + 2 * k + 1] = (float)((my / m + 0.5) / H);
            mass[(size_t)n * K + k] = (float)m;
        }
    }
}

// ds_ij = (dz_x ((j + .5)/W - z_x) + dz_y ((i + .5)/H - z_y)) / mass
void com_backward(float *ds, const float *dz, const float *z,
                  const float *mass, int N, int K, int H, int W)
{
    size_t plane = (size_t)H * W;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++) {
        for (int k = 0; k < K; k++) {
            float *q = ds + ((size_t)n * K + k) * plane;
            float gx = dz[(size_t)n * 2 * K + 2 * k] / mass[(size_t)n * K + k];
            float gy = dz[(size_t)n * 2 * K + 2 * k + 1] / mass[(size_t)n * K + k];
            float zx = z[(size_t)n * 2 * K + 2 * k];
            float zy = z[(size_t)n * 2 * K + 2 * k + 1];
            /* ds = ax + bx j + ay + by i: constants hoisted out of the loops */
            float bx = gx / W, ax = gx * (0.5f / W - zx);
            float by = gy / H, ay = gy * (0.5f / H - zy);
            for (int i = 0; i < H; i++) {
                float rowc = ax + ay + by * (float)i;
                float *row = q + (size_t)i * W;
                for (int j = 0; j < W; j++) row[j] = rowc + bx * (float)j;
            }
        }
    }
}
