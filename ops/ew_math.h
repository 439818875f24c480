/* ops/ew_math.h -- the scalar math of every elementwise op, one static inline
 * function per (op, dtype), shared by the CPU loops of ops/elementwise.c, by
 * fused kernels and (compiled as __host__ __device__) by CUDA kernels, so that
 * every backend computes the very same formula. Integer arithmetic wraps
 * (two's complement, as NumPy) and never invokes C undefined behaviour. */
#ifndef OPS_EW_MATH_H
#define OPS_EW_MATH_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define OP_HD __host__ __device__
#else
#define OP_HD
#endif

/* The f32 functions are always inlined: GCC otherwise leaves the bigger ones
 * (gelu) as calls inside the vector loops of a target clone, which then do
 * not vectorise. */
#if defined(__GNUC__) && !defined(__CUDACC__)
#define EW_F32 static inline __attribute__((always_inline)) OP_HD
#else
#define EW_F32 static inline OP_HD
#endif

#define EW_SQRT1_2 0.70710678118654752440         /* 1 / sqrt(2) */
#define EW_SQRT_2_OVER_PI 0.79788456080286535588  /* sqrt(2 / pi) */
#define EW_GELU_TANH_C 0.044715

/* ---- arithmetic (binary) ------------------------------------------------ */

EW_F32 float ew_add_f32(float a, float b) { return a + b; }
static inline OP_HD double ew_add_f64(double a, double b) { return a + b; }
static inline OP_HD int32_t ew_add_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline OP_HD int64_t ew_add_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

EW_F32 float ew_sub_f32(float a, float b) { return a - b; }
static inline OP_HD double ew_sub_f64(double a, double b) { return a - b; }
static inline OP_HD int32_t ew_sub_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }
static inline OP_HD int64_t ew_sub_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }

EW_F32 float ew_mul_f32(float a, float b) { return a * b; }
static inline OP_HD double ew_mul_f64(double a, double b) { return a * b; }
static inline OP_HD int32_t ew_mul_i32(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }
static inline OP_HD int64_t ew_mul_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

/* Float division is IEEE (x/0 = +-inf, 0/0 = nan). Integer division truncates
 * toward zero; the caller must have excluded b == 0 and (INT_MIN, -1). */
EW_F32 float ew_div_f32(float a, float b) { return a / b; }
static inline OP_HD double ew_div_f64(double a, double b) { return a / b; }
static inline OP_HD int32_t ew_div_i32(int32_t a, int32_t b) { return a / b; }
static inline OP_HD int64_t ew_div_i64(int64_t a, int64_t b) { return a / b; }

EW_F32 float ew_pow_f32(float a, float b) { return powf(a, b); }
static inline OP_HD double ew_pow_f64(double a, double b) { return pow(a, b); }
/* Integer power by squaring, wrapping on overflow; the caller must have
 * excluded e < 0. 0^0 = 1. */
static inline OP_HD int32_t ew_pow_i32(int32_t b, int32_t e)
{
    uint32_t r = 1, x = (uint32_t)b, k = (uint32_t)e;
    while (k) {
        if (k & 1u)
            r *= x;
        x *= x;
        k >>= 1;
    }
    return (int32_t)r;
}
static inline OP_HD int64_t ew_pow_i64(int64_t b, int64_t e)
{
    uint64_t r = 1, x = (uint64_t)b, k = (uint64_t)e;
    while (k) {
        if (k & 1u)
            r *= x;
        x *= x;
        k >>= 1;
    }
    return (int64_t)r;
}

/* minimum/maximum propagate NaN (NumPy's np.minimum, np.maximum). */
EW_F32 float ew_minimum_f32(float a, float b) { return (a < b || a != a) ? a : b; }
static inline OP_HD double ew_minimum_f64(double a, double b) { return (a < b || a != a) ? a : b; }
static inline OP_HD int32_t ew_minimum_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline OP_HD int64_t ew_minimum_i64(int64_t a, int64_t b) { return a < b ? a : b; }

EW_F32 float ew_maximum_f32(float a, float b) { return (a > b || a != a) ? a : b; }
static inline OP_HD double ew_maximum_f64(double a, double b) { return (a > b || a != a) ? a : b; }
static inline OP_HD int32_t ew_maximum_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline OP_HD int64_t ew_maximum_i64(int64_t a, int64_t b) { return a > b ? a : b; }

/* ---- unary, any numeric type --------------------------------------------- */

EW_F32 float ew_neg_f32(float x) { return -x; }
static inline OP_HD double ew_neg_f64(double x) { return -x; }
static inline OP_HD int32_t ew_neg_i32(int32_t x) { return (int32_t)(0u - (uint32_t)x); }
static inline OP_HD int64_t ew_neg_i64(int64_t x) { return (int64_t)(0u - (uint64_t)x); }

/* |INT_MIN| wraps to INT_MIN, as NumPy. */
EW_F32 float ew_abs_f32(float x) { return fabsf(x); }
static inline OP_HD double ew_abs_f64(double x) { return fabs(x); }
static inline OP_HD int32_t ew_abs_i32(int32_t x) { return x < 0 ? ew_neg_i32(x) : x; }
static inline OP_HD int64_t ew_abs_i64(int64_t x) { return x < 0 ? ew_neg_i64(x) : x; }

/* relu(nan) = nan. */
EW_F32 float ew_relu_f32(float x) { return x < 0.0f ? 0.0f : x; }
static inline OP_HD double ew_relu_f64(double x) { return x < 0.0 ? 0.0 : x; }
static inline OP_HD int32_t ew_relu_i32(int32_t x) { return x < 0 ? 0 : x; }
static inline OP_HD int64_t ew_relu_i64(int64_t x) { return x < 0 ? 0 : x; }

/* min(max(x, lo), hi): lo > hi gives hi (as np.clip); nan stays nan. */
EW_F32 float ew_clip_f32(float x, float lo, float hi)
{
    float y = x < lo ? lo : x;
    return y > hi ? hi : y;
}
static inline OP_HD double ew_clip_f64(double x, double lo, double hi)
{
    double y = x < lo ? lo : x;
    return y > hi ? hi : y;
}
static inline OP_HD int32_t ew_clip_i32(int32_t x, int32_t lo, int32_t hi)
{
    int32_t y = x < lo ? lo : x;
    return y > hi ? hi : y;
}
static inline OP_HD int64_t ew_clip_i64(int64_t x, int64_t lo, int64_t hi)
{
    int64_t y = x < lo ? lo : x;
    return y > hi ? hi : y;
}

/* ---- f32 exp, log, tanh, sigmoid, erf, gelu: branch-free, vectorisable ----
 * glibc's expf/logf/tanhf/erff are scalar calls (3-12 ns an element here); these
 * are plain arithmetic that GCC vectorises and that gives the same bits in a
 * vector body, a scalar tail, any clone and any thread split: ISO C mode
 * contracts no a*b+c, and the polynomial steps are explicit fmaf, exactly
 * rounded everywhere (an instruction in the AVX2 / AVX-512 clones and on
 * CUDA, glibc's exact fmaf otherwise). Fused multiply-adds made the chain of
 * samples/ew_chain.g 1.35x faster in cache here (Intel Xeon, AVX-512).
 * Polynomials and rational functions: least squares on dense nodes,
 * iteratively reweighted towards minimax, of the relative error. Measured
 * over every float against double libm (scripts/ew_math_accuracy.c): exp
 * < 1 ulp, log < 0.9, erf < 2.5, sigmoid < 3.5 (relative error < 2.8e-7),
 * tanh < 5.3 (< 3.2e-7), gelu (erf form) < 13.2 ulp and < 1.25e-6 relative
 * wherever the result is normal (the old erfc-based form reached 1.6e-5
 * near x = -13). f64 versions use libm.
 *
 * sigmoid, tanh and gelu are the hot ones of activation chains, and are
 * written for the vector units: on the x86 here (AMD Zen 4) float
 * multiplies, float compares and divisions share two ports while integer
 * operations and additions run beside them, so their clamps and selects are
 * integer operations on the bits (min of |x| as an unsigned integer, masks
 * from the sign bit), a power of two is applied by adding to the exponent
 * field where the result stays normal, and each needs only one division. */

EW_F32 float ew__f32_from_bits(uint32_t u)
{
    union { uint32_t u; float f; } v;
    v.u = u;
    return v.f;
}
EW_F32 uint32_t ew__bits_f32(float f)
{
    union { uint32_t u; float f; } v;
    v.f = f;
    return v.u;
}
/* c ? a : b, as a bit mask: GCC keeps this a data select, whereas a ?: with
 * a constant arm becomes a branch that blocks vectorisation (-ftrapping-math
 * forbids computing the other arm unconditionally). */
EW_F32 float ew__sel_f32(int c, float a, float b)
{
    uint32_t m = 0u - (uint32_t)(c != 0);
    return ew__f32_from_bits((ew__bits_f32(a) & m) | (ew__bits_f32(b) & ~m));
}

/* x's sign bit set ? a : b (-0 and -nan count as negative). */
EW_F32 float ew__sel_neg(float x, float a, float b)
{
    uint32_t m = 0u - (ew__bits_f32(x) >> 31);
    return ew__f32_from_bits((ew__bits_f32(a) & m) | (ew__bits_f32(b) & ~m));
}

/* min(|x|, c) for a finite c >= 0, compared as unsigned integers (the bits of
 * non-negative floats order as their values); nan gives c. */
EW_F32 float ew__absmin(float x, float c)
{
    uint32_t a = ew__bits_f32(x) & 0x7fffffffu, b = ew__bits_f32(c);
    return ew__f32_from_bits(a < b ? a : b);
}

/* x if x is a nan, else y. */
EW_F32 float ew__nan_or(float x, float y)
{
    uint32_t m = 0u - ((0x7f800000u - (ew__bits_f32(x) & 0x7fffffffu)) >> 31);
    return ew__f32_from_bits((ew__bits_f32(x) & m) | (ew__bits_f32(y) & ~m));
}

/* |y| with the sign of x. */
EW_F32 float ew__copysign(float y, float x)
{
    return ew__f32_from_bits((ew__bits_f32(y) & 0x7fffffffu) | (ew__bits_f32(x) & 0x80000000u));
}

/* e^x = 2^n e^r, n = round(x / ln 2), r = x - n ln 2 (ln 2 in two parts so
 * n ln2_hi is exact), e^r = 1 + r + r^2 P(r). 2^n is applied as two powers
 * so results that are subnormal (x < -87.3) still round once. x > 88.73
 * gives inf, x < -103.98 gives 0, nan stays nan. */
EW_F32 float ew__expf(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    x = ew__sel_f32(x < -104.0f, -104.0f, x);
    x = ew__sel_f32(x > 89.0f, 89.0f, x);
    float t = fmaf(x, 1.44269504f, magic);
    int32_t n = (int32_t)(ew__bits_f32(t) - ew__bits_f32(magic));
    float nf = t - magic;
    float r = fmaf(nf, -0.693359375f, x);  /* exact */
    r = fmaf(nf, 2.12194440e-4f, r);
    float p = 1.985787676e-4f;
    p = fmaf(p, r, 1.393385581e-3f);
    p = fmaf(p, r, 8.333360776e-3f);
    p = fmaf(p, r, 4.166646302e-2f);
    p = fmaf(p, r, 1.666666716e-1f);
    p = fmaf(p, r, 5.000000000e-1f);
    p = fmaf(p, r * r, r) + 1.0f;
    int32_t n1 = n / 2, n2 = n - n1;
    return p * ew__f32_from_bits((uint32_t)(n1 + 127) << 23) *
           ew__f32_from_bits((uint32_t)(n2 + 127) << 23);
}

/* e^r for |r| <= ln2/2 (+ a little): 1 + r + r^2 (E2 + E3 r + E4 r^2 + E5 r^3),
 * relative error 1.1e-7 (ew_gelu_erf_f32 uses the E's at a scaled argument). */
#define EW__E2 4.999921322e-01f
#define EW__E3 1.666712612e-01f
#define EW__E4 4.189267382e-02f
#define EW__E5 8.312216960e-03f
EW_F32 float ew__exp_r(float r)
{
    float p = EW__E5;
    p = fmaf(p, r, EW__E4);
    p = fmaf(p, r, EW__E3);
    p = fmaf(p, r, EW__E2);
    p = fmaf(p, r, 1.0f);
    return fmaf(p, r, 1.0f);
}

/* 2^64 e^x for -104 <= x <= 0 (not nan): e^x = 2^n e^r as in ew__expf, and
 * 2^(n+64) is applied by adding n + 64 to the exponent field of e^r: t = x
 * log2(e) + 1.5 * 2^23 + 64 holds that integer in its low bits, and shifting
 * them into place shifts the 1.5 * 2^23 out. The result is always a normal
 * float, so a caller that divides it by a 2^64-scaled value gets even a
 * subnormal result rounded once. */
EW_F32 float ew__exp_s64(float x)
{
    const float magic = 12582912.0f + 64.0f;
    float t = fmaf(x, 1.44269504f, magic);
    float nf = t - magic;
    float r = fmaf(nf, -0.693359375f, x);  /* exact */
    r = fmaf(nf, 2.12194440e-4f, r);
    return ew__f32_from_bits(ew__bits_f32(ew__exp_r(r)) + (ew__bits_f32(t) << 23));
}

/* log x = e ln 2 + log m, x = 2^e m, m in [sqrt(1/2), sqrt(2)); with
 * f = m - 1, log m = f - f^2/2 + f^3 P(f). Subnormals are scaled by 2^23
 * first; log 0 = -inf, log of a negative = nan, log inf = inf. */
EW_F32 float ew__logf(float x)
{
    int sub = x < 1.17549435e-38f;
    float xs = ew__sel_f32(sub, x * 8388608.0f, x);
    uint32_t u = ew__bits_f32(xs);
    int32_t e = (int32_t)((u >> 23) & 0xffu) - 127 - (sub ? 23 : 0);
    float m = ew__f32_from_bits((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
    int big = m > 1.41421356f;
    m = ew__sel_f32(big, m * 0.5f, m);
    e += big ? 1 : 0;
    float f = m - 1.0f, f2 = f * f;
    float p = 7.038258016e-02f;
    p = fmaf(p, f, -1.151592210e-01f);
    p = fmaf(p, f, 1.167740077e-01f);
    p = fmaf(p, f, -1.242000014e-01f);
    p = fmaf(p, f, 1.424927115e-01f);
    p = fmaf(p, f, -1.666806191e-01f);
    p = fmaf(p, f, 2.000071555e-01f);
    p = fmaf(p, f, -2.499999404e-01f);
    p = fmaf(p, f, 3.333333135e-01f);
    float ef = (float)e;
    float y = f * f2 * p;
    y = y + ef * -2.12194440e-4f;
    y = y - 0.5f * f2;
    float r = (f + y) + ef * 0.693359375f;
    r = ew__sel_f32(x == INFINITY, x, r);
    r = ew__sel_f32(x == 0.0f, -INFINITY, r);
    r = ew__sel_f32(x < 0.0f, NAN, r);
    return ew__sel_f32(x != x, x, r);
}

/* erf(x) = x P(x^2) for |x| <= 0.75 */
EW_F32 float ew__erf_small(float x)
{
    float s = x * x;
    float p = -6.749508902e-04f;
    p = fmaf(p, s, 5.114344880e-03f);
    p = fmaf(p, s, -2.683462389e-02f);
    p = fmaf(p, s, 1.128337681e-01f);
    p = fmaf(p, s, -3.761262000e-01f);
    p = fmaf(p, s, 1.128379107e+00f);
    return x * p;
}

/* erfc(a) = e^(-a^2) Q(t), t = 1 / (1 + a/2), for a >= 0.75 (0 past a ~ 10) */
EW_F32 float ew__erfc_big(float a)
{
    float t = 1.0f / (1.0f + 0.5f * a);
    float q = 6.513473392e-02f;
    q = fmaf(q, t, -1.355469227e-01f);
    q = fmaf(q, t, -4.083985463e-02f);
    q = fmaf(q, t, 1.538144350e-01f);
    q = fmaf(q, t, 1.365440190e-01f);
    q = fmaf(q, t, 2.588438988e-01f);
    q = fmaf(q, t, 2.800250351e-01f);
    q = fmaf(q, t, 2.822865844e-01f);
    q = fmaf(q, t, -7.413610547e-06f);
    return ew__expf(-a * a) * q;
}

EW_F32 float ew__erff(float x)
{
    float a = fabsf(x);
    float big = 1.0f - ew__erfc_big(a);
    big = ew__sel_f32(x < 0.0f, -big, big);
    return ew__sel_f32(a < 0.75f, ew__erf_small(x), big);
}

/* ---- unary, floating point only ----------------------------------------- */

EW_F32 float ew_exp_f32(float x) { return ew__expf(x); }
static inline OP_HD double ew_exp_f64(double x) { return exp(x); }
EW_F32 float ew_log_f32(float x) { return ew__logf(x); }
static inline OP_HD double ew_log_f64(double x) { return log(x); }
EW_F32 float ew_sqrt_f32(float x) { return sqrtf(x); }
static inline OP_HD double ew_sqrt_f64(double x) { return sqrt(x); }
EW_F32 float ew_rsqrt_f32(float x) { return 1.0f / sqrtf(x); }
static inline OP_HD double ew_rsqrt_f64(double x) { return 1.0 / sqrt(x); }
EW_F32 float ew_reciprocal_f32(float x) { return 1.0f / x; }
static inline OP_HD double ew_reciprocal_f64(double x) { return 1.0 / x; }
/* tanh x = x P(x^2) / Q(x^2) on |x| <= 9.2 (beyond, tanh rounds to +-1),
 * degree 4 over 4: relative error 2.5e-8 in exact arithmetic, < 6 ulp in
 * float; the result is clamped to [-1, 1]. */
EW_F32 float ew_tanh_f32(float x)
{
    float c = ew__absmin(x, 9.2f), s = c * c;
    float p = 1.300228991e-08f;
    p = fmaf(p, s, 2.035348007e-05f);
    p = fmaf(p, s, 3.480004845e-03f);
    p = fmaf(p, s, 1.336788982e-01f);
    p = fmaf(p, s, 1.0f);
    float q = 7.631942935e-07f;
    q = fmaf(q, s, 3.260184603e-04f);
    q = fmaf(q, s, 2.581764944e-02f);
    q = fmaf(q, s, 4.670120180e-01f);
    q = fmaf(q, s, 1.0f);
    return ew__nan_or(x, ew__copysign(ew__absmin(c * p / q, 1.0f), x));
}
static inline OP_HD double ew_tanh_f64(double x) { return tanh(x); }
EW_F32 float ew_erf_f32(float x) { return ew__erff(x); }
static inline OP_HD double ew_erf_f64(double x) { return erf(x); }

/* 1 / (1 + e^-x), stable for any |x|: with e = e^-|x| (never overflows),
 * sigmoid(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0; computed as
 * 2^64/(2^64+E) and E/(2^64+E) with E = 2^64 e (ew__exp_s64), so the tail
 * below x = -87.3 rounds once into the subnormals. e^-104 rounds to 0. */
EW_F32 float ew_sigmoid_f32(float x)
{
    float e = ew__exp_s64(-ew__absmin(x, 104.0f)); /* nan: fixed below */
    return ew__nan_or(x, ew__sel_neg(x, e, 0x1p64f) / (0x1p64f + e));
}
static inline OP_HD double ew_sigmoid_f64(double x)
{
    double e = exp(-fabs(x));
    double s = 1.0 / (1.0 + e);
    return x >= 0.0 ? s : e * s;
}

/* x if x > 0 else alpha * x */
EW_F32 float ew_leaky_relu_f32(float x, float alpha) { return ew__sel_f32(x > 0.0f, x, alpha * x); }
static inline OP_HD double ew_leaky_relu_f64(double x, double alpha) { return x > 0.0 ? x : alpha * x; }

/* GELU, erf form (PyTorch approximate="none"): 0.5 x (1 + erf(x / sqrt 2)) =
 * x Phi(x), Phi the standard normal CDF. With a = |x| and h = Phi(-a) =
 * 0.5 erfc(a / sqrt 2), gelu(x) = x h for x < 0 and x (1 - h) for x >= 0
 * (no cancellation: h <= 1/2). h = e^(-a^2/2) P(a) / Q(a), degree 3 over 4
 * (relative error 4e-7 for a <= 14.5; past it h is below the subnormals).
 * a^2 is formed exactly as s + w (s = a*a rounded, w = fmaf(a, a, -s) its
 * rounding error, so the tail keeps its relative accuracy; s - n 2ln2_hi is
 * exact by Sterbenz's lemma), -a^2/2 = n ln2 + r, and e^r is
 * ew__exp_r at r = -u/2 (its coefficients scaled by powers of -1/2). The
 * 2^n goes into the exponent of e^r P(a) as 2^(n+64) (normal for every a),
 * undone by Q's coefficients, which carry 2^64. */
EW_F32 float ew_gelu_erf_f32(float x)
{
    const float magic = 12582912.0f + 64.0f;
    float a = ew__absmin(x, 14.5f);
    float s = a * a, w = fmaf(a, a, -s);        /* a^2 = s + w exactly */
    float t = fmaf(s + w, -0.72134752f, magic); /* -a^2/2 log2(e): n + 64 */
    float nf = t - magic;
    float u = fmaf(nf, 1.38671875f, s);         /* 2 ln2_hi: exact */
    u = u + w;
    u = fmaf(nf, -4.24388880e-4f, u);               /* u = -2r */
    float e = EW__E5 * -0.03125f;
    e = fmaf(e, u, EW__E4 * 0.0625f);
    e = fmaf(e, u, EW__E3 * -0.125f);
    e = fmaf(e, u, EW__E2 * 0.25f);
    e = fmaf(e, u, -0.5f);
    e = fmaf(e, u, 1.0f);                           /* e^r */
    float p = 1.717113145e-02f;
    p = fmaf(p, a, 1.200514361e-01f);
    p = fmaf(p, a, 3.628746867e-01f);
    p = fmaf(p, a, 4.999997914e-01f);
    float q = 4.304636270e-02f * 0x1p64f;
    q = fmaf(q, a, 3.007296026e-01f * 0x1p64f);
    q = fmaf(q, a, 9.559265375e-01f * 0x1p64f);
    q = fmaf(q, a, 1.523614287e+00f * 0x1p64f);
    q = fmaf(q, a, 0x1p64f);
    float h = ew__f32_from_bits(ew__bits_f32(e * p) + (ew__bits_f32(t) << 23)) / q;
    return x * ew__sel_neg(x, h, 1.0f - h);
}
static inline OP_HD double ew_gelu_erf_f64(double x) { return 0.5 * x * erfc(-x * EW_SQRT1_2); }

/* GELU, tanh form (PyTorch approximate="tanh"):
 * 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as
 * x * sigmoid(2u) (1 + tanh(u) = 2 sigmoid(2u)), again free of cancellation. */
EW_F32 float ew_gelu_tanh_f32(float x)
{
    float u = (float)EW_SQRT_2_OVER_PI * (x + (float)EW_GELU_TANH_C * x * x * x);
    return x * ew_sigmoid_f32(2.0f * u);
}
static inline OP_HD double ew_gelu_tanh_f64(double x)
{
    double u = EW_SQRT_2_OVER_PI * (x + EW_GELU_TANH_C * x * x * x);
    return x * ew_sigmoid_f64(2.0 * u);
}

/* ---- cast: float -> integer conversions ------------------------------------
 * Truncate toward zero; out-of-range values saturate to the type's limits and
 * nan gives 0 (C leaves both undefined). Integer -> integer wraps modulo 2^n,
 * anything -> bool is x != 0, bool/int -> float rounds to nearest. */
static inline OP_HD int32_t ew_f2i32(double x)
{
    return x != x ? 0 : x <= -2147483648.0 ? INT32_MIN : x >= 2147483647.0 ? INT32_MAX : (int32_t)x;
}
static inline OP_HD int64_t ew_f2i64(double x)
{
    return x != x ? 0
         : x <= -9223372036854775808.0 ? INT64_MIN
         : x >= 9223372036854775808.0 ? INT64_MAX : (int64_t)x;
}
static inline OP_HD uint8_t ew_f2u8(double x)
{
    return x != x ? 0 : x <= 0.0 ? 0 : x >= 255.0 ? 255 : (uint8_t)x;
}
static inline OP_HD int8_t ew_f2i8(double x)
{
    return x != x ? 0 : x <= -128.0 ? INT8_MIN : x >= 127.0 ? INT8_MAX : (int8_t)x;
}

#endif
