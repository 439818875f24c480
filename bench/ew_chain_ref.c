/* bench/ew_chain_ref.c -- the yardstick for elementwise fusion: the chain of
 * samples/ew_chain.g, y = gelu(x*1.5 + 0.25) * sigmoid(x) + tanh(x*0.5), as
 * one hand-written C loop over 4M floats, timed with 1 and 2 OpenMP threads
 * (median of 50 runs), twice: with glibc's vector math (libmvec expf, erff,
 * tanhf) and with the project's own f32 math (ops/ew_math.h, the functions
 * graphc's kernels use, so the second loop is what fusion itself can reach).
 *   gcc -std=c11 -O2 -fopenmp -fno-math-errno -fno-trapping-math -Iops \
 *       bench/ew_chain_ref.c -lm -o build/ew_chain_ref
 *   build/ew_chain_ref [N]          (N elements, default 4194304) */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ew_math.h"

/* libmvec has SIMD variants of these (glibc >= 2.35 for erff and tanhf);
 * declaring them lets the `omp simd` loop below call the vector versions. */
#if defined(__GLIBC__) && defined(__x86_64__)
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float erff(float);
#pragma omp declare simd notinbranch
float tanhf(float);
#endif

/* Picks AVX-512 / AVX2 / baseline at load time, as the project's kernels do. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define REF_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define REF_CLONES
#endif

REF_CLONES static void chain(const float *restrict x, float *restrict y, long s, long e)
{
    const float a = 1.5f, b = 0.25f;
#pragma omp simd
    for (long i = s; i < e; i++) {
        float xi = x[i], v = xi * a + b;
        float g = 0.5f * v * (1.0f + erff(v * 0.70710678f));
        float sg = 1.0f / (1.0f + expf(-xi));
        y[i] = g * sg + tanhf(xi * 0.5f);
    }
}

/* The same chain with the math of ops/ew_math.h. */
REF_CLONES static void chain_ew(const float *restrict x, float *restrict y, long s, long e)
{
    const float a = 1.5f, b = 0.25f;
#pragma omp simd
    for (long i = s; i < e; i++) {
        float xi = x[i];
        y[i] = ew_gelu_erf_f32(xi * a + b) * ew_sigmoid_f32(xi) + ew_tanh_f32(xi * 0.5f);
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *p, const void *q)
{
    double a = *(const double *)p, b = *(const double *)q;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 4194304;
    if (n < 1) {
        fprintf(stderr, "usage: %s [N > 0]\n", argv[0]);
        return 2;
    }
    float *x = aligned_alloc(64, ((size_t)n * 4 + 63) / 64 * 64);
    float *y = aligned_alloc(64, ((size_t)n * 4 + 63) / 64 * 64);
    if (!x || !y) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    unsigned s = 12345;
    for (long i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 8.0f;
        y[i] = 0;
    }
    /* check one value against double precision */
    double xv = x[n / 2], v = xv * 1.5 + 0.25;
    double want = 0.5 * v * (1 + erf(v / sqrt(2.0))) / (1 + exp(-xv)) + tanh(xv * 0.5);
    for (int variant = 0; variant < 2; variant++)
        for (int threads = 1; threads <= 2; threads++) {
            double t[50];
            for (int r = -3; r < 50; r++) { /* 3 warm-up runs */
                double t0 = now_ms();
#pragma omp parallel num_threads(threads)
                {
                    long T = omp_get_num_threads(), k = omp_get_thread_num();
                    long per = (n + T - 1) / T, b = k * per, e = b + per < n ? b + per : n;
                    if (b < e)
                        (variant ? chain_ew : chain)(x, y, b, e);
                }
                if (r >= 0)
                    t[r] = now_ms() - t0;
            }
            qsort(t, 50, sizeof t[0], cmp_d);
            printf("hand-fused loop (%s), %ld floats, %d thread%s: median %.3f ms (min %.3f, max %.3f); "
                   "y[n/2] = %.7g (double: %.7g)\n",
                   variant ? "ew_math.h" : "libmvec  ", n, threads, threads == 1 ? " " : "s", t[25], t[0], t[49],
                   y[n / 2], want);
        }
    free(x);
    free(y);
    return 0;
}
