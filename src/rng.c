/*
 * rng.c — the library's one source of randomness: xoshiro256** (Blackman and
 * Vigna) seeded through splitmix64. Integer arithmetic only up to the last
 * step, so the same seed gives the same stream on every machine.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ssvae.h"

/* M_PI is not in C11; spelled out here. */
static const double pi = 3.14159265358979323846;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Fills the four state words from successive splitmix64 outputs, which is
 * what the xoshiro authors recommend: it never yields the all-zero state. */
void ssvae_rng_seed(ssvae_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        rng->s[i] = z ^ (z >> 31);
    }
}

/* Returns 64 random bits and advances the state. */
uint64_t ssvae_rng_next(ssvae_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1): the top 53 bits scaled by 2^-53, exact in a double. */
double ssvae_rng_uniform(ssvae_rng *rng)
{
    return (double)(ssvae_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* Standard normal by Box-Muller, using exactly two uniforms per call and
 * caching nothing, so a draw depends only on the state it starts from.
 * 1 - u lies in (0, 1], which keeps log away from 0. */
double ssvae_rng_normal(ssvae_rng *rng)
{
    double u1 = 1.0 - ssvae_rng_uniform(rng);
    double u2 = ssvae_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * pi * u2);
}

/* Uniform in [0, n). Rejects the lowest 2^64 mod n values of the 64-bit draw
 * so that every residue is equally likely; fewer than half the draws are ever
 * rejected. n = 0 is a programmer error. */
uint64_t ssvae_rng_below(ssvae_rng *rng, uint64_t n)
{
    if (n == 0) {
        fprintf(stderr, "%s:%d: ssvae_rng_below: n = 0\n", __FILE__, __LINE__);
        abort();
    }
    uint64_t threshold = -n % n; /* 2^64 mod n */
    for (;;) {
        uint64_t r = ssvae_rng_next(rng);
        if (r >= threshold)
            return r % n;
    }
}

/* Shuffles a[0..n) in place (Fisher-Yates, from the back). */
void ssvae_rng_shuffle(ssvae_rng *rng, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ssvae_rng_below(rng, (uint64_t)i + 1);
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
