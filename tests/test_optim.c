/*
 * test_optim.c — SGD, SGD with momentum and Adam against references
 * worked out here in double (PyTorch's update rules), plus defaults, frozen
 * entries, the step counter and lookup by name.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ssvae.h"

static void test_defaults_and_names(void)
{
    ssvae_optim o;
    ssvae_optim_init(&o, SSVAE_ADAM, 0.003, 7);
    CHECK(o.kind == SSVAE_ADAM && o.lr == 0.003 && o.n == 7 && o.step == 0, "init fields");
    CHECK(o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8 && o.momentum == 0.0, "defaults");
    int zero = o.m && o.v;
    for (int k = 0; zero && k < 7; k++)
        zero &= o.m[k] == 0.0f && o.v[k] == 0.0f;
    CHECK(zero, "state not zeroed");
    ssvae_optim_free(&o);
    CHECK(o.m == NULL && o.v == NULL && o.n == 0, "free leaves the struct zeroed");
    ssvae_optim_free(&o); /* twice is harmless */

    ssvae_optim_kind k = (ssvae_optim_kind)-1;
    CHECK(ssvae_optim_lookup("sgd", &k) == 0 && k == SSVAE_SGD, "sgd");
    CHECK(ssvae_optim_lookup("adam", &k) == 0 && k == SSVAE_ADAM, "adam");
    const char *bad[] = {"", "SGD", "Adam", "adamw", "rmsprop", "sgd "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        k = (ssvae_optim_kind)-1;
        CHECK(ssvae_optim_lookup(bad[i], &k) == -1 && (int)k == -1, "\"%s\" accepted", bad[i]);
    }
    CHECK(ssvae_optim_lookup(NULL, &k) == -1, "NULL accepted");
}

/* p - lr g exactly: lr is a float value, so lr * g (24 x 24 bits) is exact
 * in double and the only rounding is the final one to float, whether or
 * not the compiler fuses the multiply-add. */
static void test_sgd(void)
{
    enum { N = 5 };
    const double lr = (double)0.01f;
    float p[N] = {1.0f, -2.5f, 0.1f, 1e-3f, 3e4f}, g[N] = {0.5f, -3.0f, 1e-4f, 7.25f, -0.3f};
    float want[N];
    for (int k = 0; k < N; k++)
        want[k] = (float)((double)p[k] - lr * (double)g[k]);
    ssvae_optim o;
    ssvae_optim_init(&o, SSVAE_SGD, lr, N);
    ssvae_optim_step(&o, p, g, NULL);
    for (int k = 0; k < N; k++)
        CHECK(p[k] == want[k], "sgd p[%d] = %.9g, want %.9g", k, p[k], want[k]);
    CHECK(o.step == 1, "step %lld", (long long)o.step);
    ssvae_optim_free(&o);
}

/* Momentum, PyTorch convention: v = mu v + g; p -= lr v. By hand, with
 * p0 = 1, lr = 0.1, mu = 0.9 and gradients 1, 2, 3:
 *   v1 = 1,    p1 = 1    - 0.1   = 0.9
 *   v2 = 2.9,  p2 = 0.9  - 0.29  = 0.61
 *   v3 = 5.61, p3 = 0.61 - 0.561 = 0.049 */
static void test_momentum(void)
{
    ssvae_optim o;
    ssvae_optim_init(&o, SSVAE_SGD, 0.1, 1);
    o.momentum = 0.9;
    float p = 1.0f;
    const float g[3] = {1, 2, 3};
    const double want_p[3] = {0.9, 0.61, 0.049}, want_v[3] = {1, 2.9, 5.61};
    for (int t = 0; t < 3; t++) {
        ssvae_optim_step(&o, &p, &g[t], NULL);
        /* velocity and parameter are stored in float: half an ulp of 1
         * (6e-8) each step, absolute (p3 = 0.61 - 0.561 cancels) */
        CHECK_CLOSE(p, want_p[t], 2e-7, 0);
        CHECK_CLOSE(o.m[0], want_v[t], 0, 1e-6);
    }
    CHECK(o.step == 3, "step %lld", (long long)o.step);
    ssvae_optim_free(&o);

    /* the same rule on several parameters and random-ish gradients, with
     * the reference kept entirely in double */
    enum { N = 4 };
    float q[N] = {0.3f, -1.2f, 2.0f, 0.0f};
    double ref[N], vel[N] = {0};
    for (int k = 0; k < N; k++)
        ref[k] = q[k];
    ssvae_optim_init(&o, SSVAE_SGD, 0.05, N);
    o.momentum = 0.8;
    for (int t = 0; t < 3; t++) {
        float gr[N];
        for (int k = 0; k < N; k++) {
            gr[k] = (float)(sin(1.0 + 3.0 * k + 7.0 * t) * (k + 1));
            vel[k] = 0.8 * vel[k] + gr[k];
            ref[k] -= 0.05 * vel[k];
        }
        ssvae_optim_step(&o, q, gr, NULL);
    }
    for (int k = 0; k < N; k++)
        CHECK_CLOSE(q[k], ref[k], 1e-7, 1e-6);
    ssvae_optim_free(&o);
}

/* Adam with PyTorch's bias correction, reference in double. */
static void test_adam(void)
{
    enum { N = 6 };
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    float p[N] = {0.5f, -0.25f, 1.0f, 0.0f, 3.0f, -2.0f};
    double ref[N], m[N] = {0}, v[N] = {0};
    for (int k = 0; k < N; k++)
        ref[k] = p[k];
    /* gradients that change sign and size from step to step */
    const float G[3][N] = {{0.1f, -2.0f, 5e-3f, 1.0f, -0.5f, 30.0f},
                           {-0.2f, -1.0f, 4e-3f, 0.0f, 0.5f, 10.0f},
                           {0.3f, 0.5f, -1e-2f, -1.0f, -0.25f, 20.0f}};
    ssvae_optim o;
    ssvae_optim_init(&o, SSVAE_ADAM, lr, N);
    for (int t = 1; t <= 3; t++) {
        for (int k = 0; k < N; k++) {
            double g = G[t - 1][k];
            m[k] = b1 * m[k] + (1 - b1) * g;
            v[k] = b2 * v[k] + (1 - b2) * g * g;
            double mhat = m[k] / (1 - pow(b1, t)), vhat = v[k] / (1 - pow(b2, t));
            ref[k] -= lr * mhat / (sqrt(vhat) + eps);
        }
        ssvae_optim_step(&o, p, G[t - 1], NULL);
        /* m, v are kept in float by the library (rel. 6e-8 each step) and
         * p is rounded to float each step: |p| <= 3, so 1e-6 absolute */
        for (int k = 0; k < N; k++) {
            CHECK_CLOSE(p[k], ref[k], 1e-6, 0);
            CHECK_CLOSE(o.m[k], m[k], 1e-9, 1e-6);
            CHECK_CLOSE(o.v[k], v[k], 1e-12, 1e-6);
        }
    }
    CHECK(o.step == 3, "step %lld", (long long)o.step);
    ssvae_optim_free(&o);

    /* By hand, one parameter, g = 1 then 1 then 1: mhat = vhat = 1 at every
     * step, so each step moves by lr / (1 + eps): p = 1 - 3 * 0.01 = 0.97. */
    float one = 1.0f;
    const float g1 = 1.0f;
    ssvae_optim_init(&o, SSVAE_ADAM, 0.01, 1);
    for (int t = 0; t < 3; t++)
        ssvae_optim_step(&o, &one, &g1, NULL);
    CHECK_CLOSE(one, 0.97, 1e-7, 0);
    ssvae_optim_free(&o);
}

/* First Adam step: mhat = g, vhat = g^2, so p moves by lr g / (|g| + eps),
 * i.e. lr * sign(g) for any |g| >> eps, whatever its size; g = 0 stays. */
static void test_adam_first_step(void)
{
    enum { N = 8 };
    const double lr = 0.001;
    const float g[N] = {1e-3f, -1e-3f, 1.0f, -1.0f, 1e3f, -1e6f, 0.37f, 0.0f};
    float p[N], p0[N];
    for (int k = 0; k < N; k++)
        p[k] = p0[k] = 0.5f;
    ssvae_optim o;
    ssvae_optim_init(&o, SSVAE_ADAM, lr, N);
    ssvae_optim_step(&o, p, g, NULL);
    for (int k = 0; k < N; k++) {
        double moved = (double)p0[k] - (double)p[k];
        double want = g[k] > 0 ? lr : g[k] < 0 ? -lr : 0.0;
        /* eps / |g| <= 1e-5 relative, plus the float rounding of p ~ 6e-8 */
        CHECK_CLOSE(moved, want, 1e-7, 1e-5);
    }
    ssvae_optim_free(&o);
}

/* Frozen entries: parameter and state untouched, the others step as usual,
 * the counter counts calls. */
static void test_frozen(void)
{
    enum { N = 4 };
    const uint8_t frozen[N] = {0, 1, 0, 7};
    const float g[N] = {1.0f, 2.0f, -3.0f, 4.0f};
    for (int kind = 0; kind < 2; kind++) {
        float p[N] = {1, 2, 3, 4}, ref[N] = {1, 2, 3, 4};
        ssvae_optim o, r;
        ssvae_optim_init(&o, (ssvae_optim_kind)kind, 0.1, N);
        ssvae_optim_init(&r, (ssvae_optim_kind)kind, 0.1, N);
        o.momentum = r.momentum = 0.9;
        for (int t = 0; t < 3; t++) {
            ssvae_optim_step(&o, p, g, frozen);
            ssvae_optim_step(&r, ref, g, NULL);
        }
        CHECK(p[1] == 2.0f && p[3] == 4.0f, "kind %d: frozen moved: %g %g", kind, p[1], p[3]);
        CHECK(o.m[1] == 0.0f && o.m[3] == 0.0f && o.v[1] == 0.0f && o.v[3] == 0.0f,
              "kind %d: frozen state touched", kind);
        CHECK(p[0] == ref[0] && p[2] == ref[2], "kind %d: free entries differ from an unfrozen run", kind);
        CHECK(p[0] != 1.0f && p[2] != 3.0f, "kind %d: free entries did not move", kind);
        CHECK(o.step == 3, "kind %d: step %lld", kind, (long long)o.step);
        ssvae_optim_free(&o);
        ssvae_optim_free(&r);
    }
}

int main(void)
{
    test_defaults_and_names();
    test_sgd();
    test_momentum();
    test_adam();
    test_adam_first_step();
    test_frozen();
    return check_report("test_optim");
}
