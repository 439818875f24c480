/* scripts/ew_math_accuracy.c -- the accuracy of the f32 math of ops/ew_math.h
 * over every finite float (or every STEP-th), against double-precision libm:
 * the largest error in ulp of the exact result, and the largest relative
 * error where the exact result is a normal float. The figures quoted in
 * ew_math.h's comments come from this (2 threads: 1-3 minutes a function).
 *   gcc -std=c11 -O2 -march=native -fopenmp -fno-math-errno -Iops \
 *       scripts/ew_math_accuracy.c -lm -o build/ew_math_accuracy
 *   build/ew_math_accuracy FUNC [STEP]   FUNC: 0 exp, 1 log, 2 erf, 3 sigmoid,
 *                                        4 tanh, 5 gelu (erf form)
 * (-march=native only makes it faster: the functions give the same bits in
 * every build, see ew_math.h.) */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ew_math.h"

static double ref_sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }
static double ref_gelu(double x) { return 0.5 * x * erfc(-x * 0.70710678118654752440); }

/* One ulp of the float nearest w (2^-149 in the subnormals). */
static double ulp_of(double w)
{
    int e;
    frexp(w, &e);
    double u = ldexp(1.0, e - 24);
    return u < 0x1p-149 ? 0x1p-149 : u;
}

int main(int argc, char **argv)
{
    static const char *names[] = { "exp", "log", "erf", "sigmoid", "tanh", "gelu" };
    int k = argc > 1 ? atoi(argv[1]) : -1;
    int64_t step = argc > 2 ? atoll(argv[2]) : 1;
    if (k < 0 || k > 5 || step < 1) {
        fprintf(stderr, "usage: %s FUNC [STEP]   FUNC 0-5: exp log erf sigmoid tanh gelu\n", argv[0]);
        return 2;
    }
    double worst_ulp = 0, worst_rel = 0;
    float at_ulp = 0, at_rel = 0;
#pragma omp parallel
    {
        double lu = 0, lr = 0;
        float xu = 0, xr = 0;
#pragma omp for schedule(dynamic, 65536)
        for (int64_t i = 0; i < 0x100000000LL; i += step) {
            uint32_t b = (uint32_t)i;
            float x;
            memcpy(&x, &b, 4);
            if (!isfinite(x) || (k == 1 && x <= 0))
                continue;
            double want;
            float got;
            switch (k) {
            case 0: want = exp(x), got = ew_exp_f32(x); break;
            case 1: want = log(x), got = ew_log_f32(x); break;
            case 2: want = erf(x), got = ew_erf_f32(x); break;
            case 3: want = ref_sigmoid(x), got = ew_sigmoid_f32(x); break;
            case 4: want = tanh(x), got = ew_tanh_f32(x); break;
            default: want = ref_gelu(x), got = ew_gelu_erf_f32(x); break;
            }
            if (fabs(want) > FLT_MAX)
                continue;
            double d = fabs((double)got - want), u = d / ulp_of(want);
            if (u > lu)
                lu = u, xu = x;
            if (fabs(want) >= FLT_MIN && d / fabs(want) > lr)
                lr = d / fabs(want), xr = x;
        }
#pragma omp critical
        {
            if (lu > worst_ulp)
                worst_ulp = lu, at_ulp = xu;
            if (lr > worst_rel)
                worst_rel = lr, at_rel = xr;
        }
    }
    printf("%-8s max %.2f ulp (x = %.9g), max relative %.3g (x = %.9g) where the result is normal\n", names[k],
           worst_ulp, at_ulp, worst_rel, at_rel);
    return 0;
}
