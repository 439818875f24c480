/* tests/test_ops_nn.c -- softmax, log_softmax, conv2d, pooling, batch_norm
 * and layer_norm against NumPy references (tests/ref/nn_ref.h, made by
 * tests/gen_nn_ref.py, pooling cross-checked with PyTorch there); larger
 * convs against a naive loop on 1 and 2 threads; inference of every op with
 * symbolic batch dims and the error messages for bad shapes and attributes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "op.h"
#include "ref/nn_ref.h"
#include "ops_testutil.h"

static double *to_f64(const float *v, size_t n)
{
    double *d = malloc(n * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++)
        d[i] = v[i];
    return d;
}

#define REF_F32(name) tensor(OP_F32, RANK(name), name##_shape, (void *)name)
#define REF_F64(name) tensor(OP_F64, RANK(name), name##_shape, to_f64(name, NEL(name)))

/* |got - want| <= tol * (1 + max|want|) elementwise (infinities must match
 * exactly), shapes equal. */
static void check_close(const op_tensor *o, const double *want, const int64_t *shape, int rank,
                        double tol)
{
    assert_int_equal(o->rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(o->dims[i], shape[i]);
    int64_t n = op_tensor_numel(o);
    double scale = 1.0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(want[i]))
            scale = fmax(scale, fabs(want[i]));
    for (int64_t i = 0; i < n; i++) {
        double g = elem(o, i);
        int ok = isfinite(want[i]) ? fabs(g - want[i]) <= tol * scale : g == want[i];
        if (!ok)
            fail_msg("element %lld: got %.9g, want %.9g", (long long)i, g, want[i]);
    }
}

#define CHECK_REF(o, name, tol) check_close(&(o), name, name##_shape, RANK(name), tol)

/* Runs op on in (f32) and on an f64 copy when f64 is set, with 1 and 2
 * threads, and compares with want. */
static void ref_case(op_kind k, const op_attr *at, const op_tensor *in, int n_in, int f64,
                     const double *want, const int64_t *shape, int rank)
{
    char err[OP_ERR_LEN];
    for (int nt = 1; nt <= 2; nt++) {
        op_tensor o;
        int rc = run_op(k, at, in, n_in, nt, &o, err, sizeof err);
        if (rc != 0)
            fail_msg("%s: %s", op_get(k)->name, err);
        check_close(&o, want, shape, rank, 2e-6);
        free(o.data);
        if (!f64)
            continue;
        op_tensor in64[5];
        for (int i = 0; i < n_in; i++)
            in64[i] = tensor(OP_F64, in[i].rank, in[i].dims,
                             to_f64(in[i].data, (size_t)op_tensor_numel(&in[i])));
        rc = run_op(k, at, in64, n_in, nt, &o, err, sizeof err);
        if (rc != 0)
            fail_msg("%s f64: %s", op_get(k)->name, err);
        check_close(&o, want, shape, rank, 1e-13);
        free(o.data);
        for (int i = 0; i < n_in; i++)
            free(in64[i].data);
    }
}

#define REF_CASE(k, at, in, n_in, f64, want) \
    ref_case(k, at, in, n_in, f64, want, want##_shape, RANK(want))

static void set_ints(op_attr *a, int64_t v0, int64_t v1)
{
    a->n = 2;
    a->ints[0] = v0;
    a->ints[1] = v1;
}

/* ------------------------------------------------------------ softmax */

static void test_softmax_ref(void **state)
{
    (void)state;
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_SOFTMAX, at);
    op_tensor x = REF_F32(sm_big_x); /* values near +-1000: exp overflows without the max */
    REF_CASE(OP_SOFTMAX, at, &x, 1, 1, sm_big_out);
    REF_CASE(OP_LOG_SOFTMAX, at, &x, 1, 1, sm_big_log);
    at[0].i = 1;
    x = REF_F32(sm_ax1_x);
    REF_CASE(OP_SOFTMAX, at, &x, 1, 1, sm_ax1_out);
    REF_CASE(OP_LOG_SOFTMAX, at, &x, 1, 1, sm_ax1_log);
    at[0].i = -2; /* the same axis counted from the end */
    REF_CASE(OP_SOFTMAX, at, &x, 1, 0, sm_ax1_out);
}

static void test_softmax_nan_and_threads(void **state)
{
    (void)state;
    enum { R = 300, L = 257 };
    float *x = malloc(R * L * sizeof *x);
    for (int i = 0; i < R * L; i++)
        x[i] = (float)((i * 37) % 101) * 0.25f - 12.0f;
    x[5 * L + 7] = NAN;
    int64_t d[2] = { R, L };
    op_tensor in = tensor(OP_F32, 2, d, x), o1, o2;
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_SOFTMAX, at);
    char err[OP_ERR_LEN];
    assert_int_equal(run_op(OP_SOFTMAX, at, &in, 1, 1, &o1, err, sizeof err), 0);
    assert_int_equal(run_op(OP_SOFTMAX, at, &in, 1, 2, &o2, err, sizeof err), 0);
    assert_memory_equal(o1.data, o2.data, R * L * sizeof(float));
    const float *y = o1.data;
    assert_true(isnan(y[5 * L]));   /* the row with a NaN is NaN */
    for (int r = 0; r < R; r += 50) { /* the others sum to 1 */
        if (r == 5)
            continue;
        double s = 0;
        for (int l = 0; l < L; l++)
            s += y[r * L + l];
        assert_true(fabs(s - 1.0) < 1e-5);
    }
    free(o1.data);
    free(o2.data);
    free(x);
}

/* ------------------------------------------------------------- conv2d */

static void set_conv(op_attr *at, int64_t s0, int64_t s1, int64_t p0, int64_t p1, int64_t d0,
                     int64_t d1, int64_t groups)
{
    op_attrs_default(OP_CONV2D, at);
    set_ints(&at[0], s0, s1);
    set_ints(&at[1], p0, p1);
    set_ints(&at[2], d0, d1);
    at[3].i = groups;
}

static void test_conv2d_ref(void **state)
{
    (void)state;
    op_attr at[OP_MAX_ATTRS];
    /* stride 2, padding 1, dilation 2, groups 2, bias: im2col + sgemm */
    set_conv(at, 2, 2, 1, 1, 2, 2, 2);
    op_tensor in[3] = { REF_F32(cv_mix_x), REF_F32(cv_mix_w), REF_F32(cv_mix_b) };
    REF_CASE(OP_CONV2D, at, in, 3, 0, cv_mix_out);
    /* depthwise with channel multiplier 2: direct loops */
    set_conv(at, 1, 1, 1, 1, 1, 1, 3);
    in[0] = REF_F32(cv_dw_x);
    in[1] = REF_F32(cv_dw_w);
    in[2] = REF_F32(cv_dw_b);
    REF_CASE(OP_CONV2D, at, in, 3, 0, cv_dw_out);
    /* 1x1: sgemm on x without im2col */
    set_conv(at, 1, 1, 0, 0, 1, 1, 1);
    in[0] = REF_F32(cv_1x1_x);
    in[1] = REF_F32(cv_1x1_w);
    in[2] = REF_F32(cv_1x1_b);
    REF_CASE(OP_CONV2D, at, in, 3, 0, cv_1x1_out);
    /* different stride and padding per axis, 3x2 kernel, no bias */
    set_conv(at, 1, 2, 2, 0, 1, 1, 1);
    in[0] = REF_F32(cv_asym_x);
    in[1] = REF_F32(cv_asym_w);
    REF_CASE(OP_CONV2D, at, in, 2, 0, cv_asym_out);
    /* depthwise, stride 2, no bias */
    set_conv(at, 2, 2, 1, 1, 1, 1, 4);
    in[0] = REF_F32(cv_dw_s2_x);
    in[1] = REF_F32(cv_dw_s2_w);
    REF_CASE(OP_CONV2D, at, in, 2, 0, cv_dw_s2_out);
}

static void fill(float *v, int64_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = (float)((s >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0);
    }
}

/* The definition, in double, for any geometry. */
static void naive_conv(const float *x, const float *w, const float *b, double *y, int64_t N,
                       int64_t C, int64_t H, int64_t W, int64_t O, int64_t kh, int64_t kw,
                       const int64_t *s, const int64_t *p, const int64_t *d, int64_t G,
                       int64_t OH, int64_t OW)
{
    int64_t Cg = C / G, Og = O / G;
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double acc = b ? b[o] : 0.0;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t i = 0; i < kh; i++)
                            for (int64_t j = 0; j < kw; j++) {
                                int64_t ih = oh * s[0] - p[0] + i * d[0];
                                int64_t iw = ow * s[1] - p[1] + j * d[1];
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                    continue;
                                acc += (double)w[((o * Cg + c) * kh + i) * kw + j] *
                                       x[((n * C + (o / Og) * Cg + c) * H + ih) * W + iw];
                            }
                    y[((n * O + o) * OH + oh) * OW + ow] = acc;
                }
}

static void conv_big_case(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t kh,
                          int64_t kw, int64_t s0, int64_t s1, int64_t p0, int64_t p1, int64_t d0,
                          int64_t d1, int64_t G, int bias)
{
    int64_t s[2] = { s0, s1 }, p[2] = { p0, p1 }, d[2] = { d0, d1 };
    int64_t dx[4] = { N, C, H, W }, dw[4] = { O, C / G, kh, kw }, db[1] = { O };
    int64_t OH = (H + 2 * p0 - d0 * (kh - 1) - 1) / s0 + 1, OW = (W + 2 * p1 - d1 * (kw - 1) - 1) / s1 + 1;
    int64_t nx = N * C * H * W, nw = O * (C / G) * kh * kw, ny = N * O * OH * OW;
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
    float *b = malloc((size_t)O * sizeof *b);
    double *want = malloc((size_t)ny * sizeof *want);
    fill(x, nx, 5);
    fill(w, nw, 6);
    fill(b, O, 7);
    naive_conv(x, w, bias ? b : NULL, want, N, C, H, W, O, kh, kw, s, p, d, G, OH, OW);
    op_attr at[OP_MAX_ATTRS];
    set_conv(at, s0, s1, p0, p1, d0, d1, G);
    op_tensor in[3] = { tensor(OP_F32, 4, dx, x), tensor(OP_F32, 4, dw, w), tensor(OP_F32, 1, db, b) };
    int64_t oshape[4] = { N, O, OH, OW };
    char err[OP_ERR_LEN];
    float *first = NULL;
    for (int nt = 1; nt <= 2; nt++) {
        op_tensor o;
        int rc = run_op(OP_CONV2D, at, in, bias ? 3 : 2, nt, &o, err, sizeof err);
        if (rc != 0)
            fail_msg("conv2d: %s", err);
        check_close(&o, want, oshape, 4, 2e-6 * (double)(C / G * kh * kw));
        if (!first) {
            first = o.data;
            continue;
        }
        for (int64_t i = 0; i < ny; i++) /* 1 and 2 threads agree */
            assert_true(fabsf(first[i] - ((float *)o.data)[i]) <= 1e-5f * (1.0f + fabsf(first[i])));
        free(o.data);
    }
    free(first);
    free(x);
    free(w);
    free(b);
    free(want);
}

static void test_conv2d_large_and_threads(void **state)
{
    (void)state;
    /* small images, batch of 6: one image per thread */
    conv_big_case(6, 8, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
    conv_big_case(5, 8, 11, 13, 12, 3, 3, 2, 1, 1, 0, 1, 2, 2, 1);
    /* one large image: all threads on one sgemm, parallel im2col */
    conv_big_case(1, 16, 40, 40, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1);
    /* LeNet's first layer, 5x5 pad 2 */
    conv_big_case(4, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1, 1);
    /* pointwise and depthwise on a batch */
    conv_big_case(4, 16, 9, 9, 24, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1);
    conv_big_case(3, 16, 20, 20, 16, 3, 3, 1, 1, 1, 1, 2, 2, 16, 1);
    /* 1x1 with stride 2: im2col subsamples */
    conv_big_case(2, 8, 9, 9, 8, 1, 1, 2, 2, 0, 0, 1, 1, 1, 0);
}

static uint32_t rnd_state = 12345;
static int64_t rnd(int64_t lo, int64_t hi) /* uniform in [lo, hi] */
{
    rnd_state = rnd_state * 1664525u + 1013904223u;
    return lo + (int64_t)((rnd_state >> 8) % (uint32_t)(hi - lo + 1));
}

/* Many small random geometries (every path: direct, pointwise, im2col;
 * strides, padding, dilation, groups) against the naive loop. */
static void test_conv2d_random_vs_naive(void **state)
{
    (void)state;
    int ran = 0;
    for (int it = 0; it < 150; it++) {
        int64_t G = rnd(1, 3), Cg = rnd(1, 3), Og = rnd(1, 3);
        int64_t N = rnd(1, 3), C = G * Cg, O = G * Og, H = rnd(1, 9), W = rnd(1, 9);
        int64_t kh = rnd(1, 4), kw = rnd(1, 4), s[2] = { rnd(1, 3), rnd(1, 3) };
        int64_t p[2] = { rnd(0, 2), rnd(0, 2) }, d[2] = { rnd(1, 3), rnd(1, 3) };
        if (it % 5 == 0) { /* pointwise */
            kh = kw = 1;
            s[0] = s[1] = 1;
            p[0] = p[1] = 0;
        }
        int64_t OH = (H + 2 * p[0] - d[0] * (kh - 1) - 1), OW = (W + 2 * p[1] - d[1] * (kw - 1) - 1);
        if (OH < 0 || OW < 0)
            continue; /* inference rejects it: tested elsewhere */
        OH = OH / s[0] + 1;
        OW = OW / s[1] + 1;
        ran++;
        int64_t dx[4] = { N, C, H, W }, dw[4] = { O, Cg, kh, kw }, db[1] = { O };
        int64_t nx = N * C * H * W, nw = O * Cg * kh * kw, ny = N * O * OH * OW;
        float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
        float *b = malloc((size_t)O * sizeof *b);
        double *want = malloc((size_t)ny * sizeof *want);
        fill(x, nx, (uint32_t)it);
        fill(w, nw, (uint32_t)it + 1000);
        fill(b, O, (uint32_t)it + 2000);
        int bias = it % 2;
        naive_conv(x, w, bias ? b : NULL, want, N, C, H, W, O, kh, kw, s, p, d, G, OH, OW);
        op_attr at[OP_MAX_ATTRS];
        set_conv(at, s[0], s[1], p[0], p[1], d[0], d[1], G);
        op_tensor in[3] = { tensor(OP_F32, 4, dx, x), tensor(OP_F32, 4, dw, w), tensor(OP_F32, 1, db, b) };
        int64_t oshape[4] = { N, O, OH, OW };
        char err[OP_ERR_LEN];
        op_tensor o;
        int rc = run_op(OP_CONV2D, at, in, bias ? 3 : 2, 1 + it % 2, &o, err, sizeof err);
        if (rc != 0)
            fail_msg("conv2d case %d: %s", it, err);
        check_close(&o, want, oshape, 4, 1e-5);
        free(o.data);
        free(x);
        free(w);
        free(b);
        free(want);
    }
    assert_true(ran > 100);
}

/* A workspace smaller than op_ws_conv2d's is an error, not an overflow. */
static void test_conv2d_workspace_checked(void **state)
{
    (void)state;
    op_attr at[OP_MAX_ATTRS];
    set_conv(at, 2, 2, 1, 1, 2, 2, 2);
    op_tensor in[3] = { REF_F32(cv_mix_x), REF_F32(cv_mix_w), REF_F32(cv_mix_b) };
    float y[2 * 6 * 3 * 3];
    int64_t dy[4] = { 2, 6, 3, 3 };
    op_tensor o = tensor(OP_F32, 4, dy, y);
    size_t ws = op_get(OP_CONV2D)->workspace(at, in, 3, &o, 1);
    assert_true(ws >= 2 * 9 * 9 * sizeof(float)); /* Cg*kh*kw x OH*OW floats at least */
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_threads = 1;
    ctx.workspace = malloc(64);
    ctx.workspace_size = 64;
    assert_int_equal(op_get(OP_CONV2D)->cpu(&ctx, at, in, 3, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "workspace"));
    free(ctx.workspace);
    /* 1x1 and depthwise need none */
    set_conv(at, 1, 1, 0, 0, 1, 1, 1);
    op_tensor in1[2] = { REF_F32(cv_1x1_x), REF_F32(cv_1x1_w) };
    assert_int_equal(op_get(OP_CONV2D)->workspace(at, in1, 2, &o, 1), 0);
}

/* ------------------------------------------------------------ pooling */

static void set_pool(op_kind k, op_attr *at, int64_t k0, int64_t k1, int64_t s0, int64_t s1,
                     int64_t p0, int64_t p1, int64_t d0, int64_t d1, int ceil_mode, int cip)
{
    op_attrs_default(k, at);
    set_ints(&at[0], k0, k1);
    set_ints(&at[1], s0, s1);
    set_ints(&at[2], p0, p1);
    set_ints(&at[3], d0, d1);
    at[4].i = ceil_mode;
    if (k == OP_AVG_POOL2D)
        at[5].i = cip;
}

static void test_max_pool_ref(void **state)
{
    (void)state;
    op_attr at[OP_MAX_ATTRS];
    set_pool(OP_MAX_POOL2D, at, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0);
    op_tensor x = REF_F32(mp_ceil_x);
    REF_CASE(OP_MAX_POOL2D, at, &x, 1, 1, mp_ceil_out);
    /* stride left out: it is the kernel */
    op_attrs_default(OP_MAX_POOL2D, at);
    set_ints(&at[0], 2, 2);
    x = REF_F32(mp_dflt_x);
    REF_CASE(OP_MAX_POOL2D, at, &x, 1, 0, mp_dflt_out);
    set_ints(&at[1], 0, 0); /* zeros mean the same */
    REF_CASE(OP_MAX_POOL2D, at, &x, 1, 0, mp_dflt_out);
    at[4].i = 1; /* ceil_mode adds a partial window: 3 x 3 */
    x = REF_F32(mp_dflt_ceil_x);
    REF_CASE(OP_MAX_POOL2D, at, &x, 1, 1, mp_dflt_ceil_out);
    set_pool(OP_MAX_POOL2D, at, 3, 2, 1, 2, 1, 1, 2, 3, 0, 0);
    x = REF_F32(mp_dil_x);
    REF_CASE(OP_MAX_POOL2D, at, &x, 1, 1, mp_dil_out);
}

static void test_avg_pool_ref(void **state)
{
    (void)state;
    op_attr at[OP_MAX_ATTRS];
    set_pool(OP_AVG_POOL2D, at, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1);
    op_tensor x = REF_F32(ap_ceil_inc_x);
    REF_CASE(OP_AVG_POOL2D, at, &x, 1, 1, ap_ceil_inc_out);
    at[5].i = 0;
    x = REF_F32(ap_ceil_exc_x);
    REF_CASE(OP_AVG_POOL2D, at, &x, 1, 1, ap_ceil_exc_out);
    /* ceil_mode where the extra window would start in the right padding */
    set_pool(OP_AVG_POOL2D, at, 2, 3, 2, 3, 1, 1, 1, 1, 1, 1);
    x = REF_F32(ap_drop_x);
    REF_CASE(OP_AVG_POOL2D, at, &x, 1, 1, ap_drop_out);
    /* ceil_mode adding a window that runs past the input, no padding */
    set_pool(OP_AVG_POOL2D, at, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1);
    x = REF_F32(ap_grow_x);
    REF_CASE(OP_AVG_POOL2D, at, &x, 1, 1, ap_grow_out);
}

static void test_pool_threads_and_nan(void **state)
{
    (void)state;
    int64_t d[4] = { 3, 16, 33, 31 };
    int64_t n = 3 * 16 * 33 * 31;
    float *x = malloc((size_t)n * sizeof *x);
    fill(x, n, 9);
    x[100] = NAN;
    op_tensor in = tensor(OP_F32, 4, d, x), o1, o2;
    op_attr at[OP_MAX_ATTRS];
    char err[OP_ERR_LEN];
    for (int k = 0; k < 2; k++) {
        op_kind kind = k ? OP_AVG_POOL2D : OP_MAX_POOL2D;
        set_pool(kind, at, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0);
        assert_int_equal(run_op(kind, at, &in, 1, 1, &o1, err, sizeof err), 0);
        assert_int_equal(run_op(kind, at, &in, 1, 2, &o2, err, sizeof err), 0);
        assert_int_equal(o1.dims[2], 17);
        assert_int_equal(o1.dims[3], 16);
        /* x[0, 0, 3, 7] is NaN: output (1, 3) of the first plane sees it */
        assert_true(isnan(((float *)o1.data)[1 * 16 + 3]));
        assert_memory_equal(o1.data, o2.data, (size_t)op_tensor_numel(&o1) * sizeof(float));
        free(o1.data);
        free(o2.data);
    }
    free(x);
}

/* The definition of a pooled value: every tap checked one by one. */
static double naive_pool(const float *x, int64_t H, int64_t W, int64_t oh, int64_t ow,
                         const int64_t *k, const int64_t *s, const int64_t *p, const int64_t *d,
                         int mode)
{
    double acc = mode == 0 ? -INFINITY : 0.0;
    int64_t n_real = 0, n_pad = 0;
    for (int64_t i = 0; i < k[0]; i++)
        for (int64_t j = 0; j < k[1]; j++) {
            int64_t ih = oh * s[0] - p[0] + i * d[0], iw = ow * s[1] - p[1] + j * d[1];
            if (ih < H + p[0] && iw < W + p[1])
                n_pad++;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                continue;
            n_real++;
            double v = x[ih * W + iw];
            acc = mode == 0 ? (v > acc ? v : acc) : acc + v;
        }
    if (mode == 0)
        return acc;
    int64_t cnt = mode == 1 ? n_pad : n_real;
    return cnt ? acc / (double)cnt : 0.0;
}

static void test_pool_random_vs_naive(void **state)
{
    (void)state;
    int ran = 0;
    for (int it = 0; it < 300; it++) {
        int64_t k[2] = { rnd(1, 4), rnd(1, 4) }, s[2] = { rnd(1, 3), rnd(1, 3) };
        int64_t p[2] = { rnd(0, k[0] / 2), rnd(0, k[1] / 2) }, d[2] = { rnd(1, 2), rnd(1, 2) };
        int64_t H = rnd(1, 11), W = rnd(1, 11), NC[2] = { rnd(1, 2), rnd(1, 3) };
        int mode = (int)(it % 3), ceil_mode = (int)rnd(0, 1);
        op_kind kind = mode == 0 ? OP_MAX_POOL2D : OP_AVG_POOL2D;
        op_attr at[OP_MAX_ATTRS];
        set_pool(kind, at, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], ceil_mode, mode == 1);
        int64_t dx[4] = { NC[0], NC[1], H, W };
        float *x = malloc((size_t)(NC[0] * NC[1] * H * W) * sizeof *x);
        fill(x, NC[0] * NC[1] * H * W, (uint32_t)it + 77);
        op_tensor in = tensor(OP_F32, 4, dx, x), o;
        char err[OP_ERR_LEN];
        int rc = run_op(kind, at, &in, 1, 1 + it % 2, &o, err, sizeof err);
        if (rc == -2) { /* rejected: only when no window fits */
            assert_non_null(strstr(err, "empty"));
            free(x);
            continue;
        }
        assert_int_equal(rc, 0);
        ran++;
        int64_t OH = o.dims[2], OW = o.dims[3];
        /* PyTorch's sizes: the last window starts inside the input or left padding */
        assert_true((OH - 1) * s[0] - p[0] < H && (OW - 1) * s[1] - p[1] < W);
        if (!ceil_mode)
            assert_true((OH - 1) * s[0] + d[0] * (k[0] - 1) + 1 <= H + 2 * p[0]);
        for (int64_t pl = 0; pl < NC[0] * NC[1]; pl++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double want = naive_pool(x + pl * H * W, H, W, oh, ow, k, s, p, d, mode);
                    double got = ((float *)o.data)[(pl * OH + oh) * OW + ow];
                    if (!(got == want || fabs(got - want) <= 1e-6 * (1 + fabs(want))))
                        fail_msg("pool case %d (%d,%lld,%lld): got %g want %g", it, mode,
                                 (long long)oh, (long long)ow, got, want);
                }
        free(o.data);
        free(x);
    }
    assert_true(ran > 200);
}

static void test_global_avg_pool_ref(void **state)
{
    (void)state;
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_GLOBAL_AVG_POOL, at);
    op_tensor x = REF_F32(gap_x);
    REF_CASE(OP_GLOBAL_AVG_POOL, at, &x, 1, 1, gap_out);
}

/* -------------------------------------------------------------- norms */

static void test_batch_norm_ref(void **state)
{
    (void)state;
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_BATCH_NORM, at);
    op_tensor in[5] = { REF_F32(bn_x), REF_F32(bn_sc), REF_F32(bn_bi), REF_F32(bn_mu), REF_F32(bn_var) };
    REF_CASE(OP_BATCH_NORM, at, in, 5, 1, bn_out);
}

static void test_layer_norm_ref(void **state)
{
    (void)state;
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_LAYER_NORM, at);
    op_tensor in[3] = { REF_F32(ln_x), REF_F32(ln_sc), REF_F32(ln_bi) };
    REF_CASE(OP_LAYER_NORM, at, in, 3, 1, ln_last_out);
    at[0].i = 1;
    at[1].f = 1e-3;
    in[1] = REF_F32(ln_sc2);
    REF_CASE(OP_LAYER_NORM, at, in, 2, 1, ln_ax1_out);
    at[0].i = -2;
    at[1].f = 1e-5;
    REF_CASE(OP_LAYER_NORM, at, in, 1, 1, ln_plain_out);
}

static void test_norms_threads(void **state)
{
    (void)state;
    enum { N = 64, C = 32, S = 40 };
    float *x = malloc(N * C * S * sizeof *x), p[4][C];
    fill(x, N * C * S, 11);
    for (int i = 0; i < 4; i++)
        fill(p[i], C, 12 + (uint32_t)i);
    for (int c = 0; c < C; c++)
        p[3][c] = fabsf(p[3][c]) + 0.5f;
    int64_t dx[3] = { N, C, S }, dc[1] = { C };
    op_tensor bn_in[5] = { tensor(OP_F32, 3, dx, x), tensor(OP_F32, 1, dc, p[0]),
                           tensor(OP_F32, 1, dc, p[1]), tensor(OP_F32, 1, dc, p[2]),
                           tensor(OP_F32, 1, dc, p[3]) };
    op_tensor ln_in[1] = { tensor(OP_F32, 3, dx, x) };
    op_attr at[OP_MAX_ATTRS];
    char err[OP_ERR_LEN];
    op_tensor o1, o2;
    op_attrs_default(OP_BATCH_NORM, at);
    assert_int_equal(run_op(OP_BATCH_NORM, at, bn_in, 5, 1, &o1, err, sizeof err), 0);
    assert_int_equal(run_op(OP_BATCH_NORM, at, bn_in, 5, 2, &o2, err, sizeof err), 0);
    assert_memory_equal(o1.data, o2.data, N * C * S * sizeof(float));
    /* spot check: element (n=3, c=5, s=7) */
    int64_t i = (3 * C + 5) * S + 7;
    double want = (x[i] - p[2][5]) / sqrt(p[3][5] + 1e-5) * p[0][5] + p[1][5];
    assert_true(fabs(((float *)o1.data)[i] - want) < 1e-5);
    free(o1.data);
    free(o2.data);
    op_attrs_default(OP_LAYER_NORM, at);
    at[0].i = 1;
    assert_int_equal(run_op(OP_LAYER_NORM, at, ln_in, 1, 1, &o1, err, sizeof err), 0);
    assert_int_equal(run_op(OP_LAYER_NORM, at, ln_in, 1, 2, &o2, err, sizeof err), 0);
    assert_memory_equal(o1.data, o2.data, N * C * S * sizeof(float));
    double s = 0, ss = 0; /* one row: mean 0, variance 1 */
    for (int q = 0; q < C * S; q++) {
        double v = ((float *)o1.data)[5 * C * S + q];
        s += v;
        ss += v * v;
    }
    assert_true(fabs(s / (C * S)) < 1e-5);
    assert_true(fabs(ss / (C * S) - 1.0) < 1e-3);
    free(o1.data);
    free(o2.data);
    free(x);
}

/* ---------------------------------------------------------- inference */

#define C_(v) ((op_dim){ (v), -1 })
#define SYM(s) ((op_dim){ 1, (s) })

static int infer(op_kind k, const op_attr *at, const op_type *in, int n_in, op_type *o, char *err)
{
    err[0] = 0;
    return op_get(k)->infer(at, in, n_in, o, 1, err, OP_ERR_LEN);
}

/* The call fails and its message contains each of the given strings. */
static void expect_err(op_kind k, const op_attr *at, const op_type *in, int n_in, const char *s1,
                       const char *s2)
{
    char err[OP_ERR_LEN];
    op_type o;
    if (infer(k, at, in, n_in, &o, err) != -1)
        fail_msg("%s: inference accepted what it should reject (want \"%s\")", op_get(k)->name, s1);
    if (!strstr(err, s1) || (s2 && !strstr(err, s2)))
        fail_msg("%s: message \"%s\" lacks \"%s\" / \"%s\"", op_get(k)->name, err, s1, s2 ? s2 : "");
}

static const char *const sym_names[] = { "N", "H" };

static void test_conv2d_infer(void **state)
{
    (void)state;
    op_set_sym_names(sym_names, 2);
    op_attr at[OP_MAX_ATTRS];
    char err[OP_ERR_LEN];
    op_type o;
    set_conv(at, 2, 2, 1, 1, 1, 1, 1);
    op_type in[3] = { ty(OP_F32, 4, (op_dim[]){ SYM(0), C_(3), C_(32), C_(31) }),
                      ty(OP_F32, 4, (op_dim[]){ C_(8), C_(3), C_(3), C_(3) }),
                      ty(OP_F32, 1, (op_dim[]){ C_(8) }) };
    assert_int_equal(infer(OP_CONV2D, at, in, 3, &o, err), 0);
    assert_int_equal(o.rank, 4);
    assert_true(op_dim_eq(o.dims[0], SYM(0))); /* the batch symbol flows through */
    assert_true(op_dim_is(o.dims[1], 8));
    assert_true(op_dim_is(o.dims[2], 16));
    assert_true(op_dim_is(o.dims[3], 16));

    in[1].dims[1] = C_(4);
    expect_err(OP_CONV2D, at, in, 3, "f32[N, 3, 32, 31]", "f32[8, 4, 3, 3]");
    in[1].dims[1] = C_(3);
    in[2].dims[0] = C_(7);
    expect_err(OP_CONV2D, at, in, 3, "f32[7]", "f32[8, 3, 3, 3]");
    in[2].dims[0] = C_(8);
    at[3].i = 2; /* 2 does not divide C = 3 */
    expect_err(OP_CONV2D, at, in, 3, "groups=2", "f32[N, 3, 32, 31]");
    at[3].i = 0;
    expect_err(OP_CONV2D, at, in, 3, "groups=0", NULL);
    at[3].i = 1;
    at[0].ints[1] = 0;
    expect_err(OP_CONV2D, at, in, 3, "stride", NULL);
    at[0].ints[1] = 2;
    at[0].n = 1;
    expect_err(OP_CONV2D, at, in, 3, "stride needs 2 values", NULL);
    at[0].n = 2;
    at[1].ints[0] = -1;
    expect_err(OP_CONV2D, at, in, 3, "padding", NULL);
    at[1].ints[0] = 1;
    at[2].ints[0] = 0;
    expect_err(OP_CONV2D, at, in, 3, "dilation", NULL);
    at[2].ints[0] = 20; /* dilated kernel of 41 rows does not fit 32 + 2 */
    expect_err(OP_CONV2D, at, in, 3, "empty", "f32[N, 3, 32, 31]");
    at[2].ints[0] = 1;
    in[0].dims[2] = SYM(1);
    expect_err(OP_CONV2D, at, in, 3, "concrete", "f32[N, 3, H, 31]");
    in[0].dims[2] = C_(32);
    in[0].dtype = OP_F64;
    in[1].dtype = OP_F64;
    in[2].dtype = OP_F64;
    expect_err(OP_CONV2D, at, in, 3, "conv2d supports f32", NULL);
    in[0].dtype = OP_F32;
    in[1].dtype = OP_F32;
    in[2].dtype = OP_F32;
    in[0].rank = 3;
    expect_err(OP_CONV2D, at, in, 3, "[N, C, H, W]", "f32[N, 3, 32]");
    op_set_sym_names(NULL, 0);
}

static void test_pool_infer(void **state)
{
    (void)state;
    op_set_sym_names(sym_names, 2);
    op_attr at[OP_MAX_ATTRS];
    char err[OP_ERR_LEN];
    op_type o;
    op_type x = ty(OP_F64, 4, (op_dim[]){ SYM(0), C_(16), C_(7), C_(7) });
    set_pool(OP_MAX_POOL2D, at, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0);
    assert_int_equal(infer(OP_MAX_POOL2D, at, &x, 1, &o, err), 0);
    assert_int_equal(o.dtype, OP_F64);
    assert_true(op_dim_eq(o.dims[0], SYM(0)));
    assert_true(op_dim_is(o.dims[1], 16));
    assert_true(op_dim_is(o.dims[2], 4) && op_dim_is(o.dims[3], 4));
    at[4].i = 0;
    assert_int_equal(infer(OP_MAX_POOL2D, at, &x, 1, &o, err), 0);
    assert_true(op_dim_is(o.dims[2], 4)); /* (7 + 2 - 3) / 2 + 1 */
    at[0].ints[0] = 1; /* padding 1 > kernel 1 / 2 */
    expect_err(OP_MAX_POOL2D, at, &x, 1, "padding", "f64[N, 16, 7, 7]");
    at[0].ints[0] = 0;
    expect_err(OP_MAX_POOL2D, at, &x, 1, "kernel", NULL);
    at[0].ints[0] = 3;
    at[1].ints[0] = -1;
    expect_err(OP_MAX_POOL2D, at, &x, 1, "stride", NULL);
    at[1].n = 3;
    at[1].ints[0] = 1;
    expect_err(OP_MAX_POOL2D, at, &x, 1, "stride needs 2 values", NULL);
    at[1].n = 2;
    at[3].ints[1] = 0;
    expect_err(OP_MAX_POOL2D, at, &x, 1, "dilation", NULL);
    at[3].ints[1] = 1;
    at[4].i = 2;
    expect_err(OP_MAX_POOL2D, at, &x, 1, "ceil_mode", NULL);
    at[4].i = 0;
    set_pool(OP_AVG_POOL2D, at, 9, 3, 1, 1, 0, 0, 1, 1, 0, 1);
    expect_err(OP_AVG_POOL2D, at, &x, 1, "empty", "f64[N, 16, 7, 7]");
    set_pool(OP_AVG_POOL2D, at, 3, 3, 1, 1, 0, 0, 1, 1, 0, 1);
    x.dims[3] = SYM(1);
    expect_err(OP_AVG_POOL2D, at, &x, 1, "concrete", "f64[N, 16, 7, H]");
    x.dims[3] = C_(7);
    x.dtype = OP_I32;
    expect_err(OP_AVG_POOL2D, at, &x, 1, "f32 or f64", "i32[N, 16, 7, 7]");

    /* global_avg_pool keeps N and C */
    x.dtype = OP_F32;
    op_attrs_default(OP_GLOBAL_AVG_POOL, at);
    assert_int_equal(infer(OP_GLOBAL_AVG_POOL, at, &x, 1, &o, err), 0);
    assert_int_equal(o.rank, 4);
    assert_true(op_dim_eq(o.dims[0], SYM(0)) && op_dim_is(o.dims[1], 16));
    assert_true(op_dim_is(o.dims[2], 1) && op_dim_is(o.dims[3], 1));
    x.rank = 2;
    expect_err(OP_GLOBAL_AVG_POOL, at, &x, 1, "f32[N, 16]", NULL);
    op_set_sym_names(NULL, 0);
}

static void test_softmax_norm_infer(void **state)
{
    (void)state;
    op_set_sym_names(sym_names, 2);
    op_attr at[OP_MAX_ATTRS];
    char err[OP_ERR_LEN];
    op_type o;
    op_type x = ty(OP_F32, 3, (op_dim[]){ SYM(0), C_(4), C_(6) });

    op_attrs_default(OP_SOFTMAX, at);
    assert_int_equal(infer(OP_SOFTMAX, at, &x, 1, &o, err), 0);
    assert_true(op_type_eq(&o, &x));
    at[0].i = 3;
    expect_err(OP_SOFTMAX, at, &x, 1, "axis 3", "f32[N, 4, 6]");
    at[0].i = -4;
    expect_err(OP_LOG_SOFTMAX, at, &x, 1, "axis -4", NULL);
    at[0].i = -1;
    op_type xi = x;
    xi.dtype = OP_I64;
    expect_err(OP_SOFTMAX, at, &xi, 1, "i64[N, 4, 6]", NULL);

    /* batch_norm: every parameter is [C] */
    op_attrs_default(OP_BATCH_NORM, at);
    op_type c4 = ty(OP_F32, 1, (op_dim[]){ C_(4) });
    op_type bn[5] = { x, c4, c4, c4, c4 };
    assert_int_equal(infer(OP_BATCH_NORM, at, bn, 5, &o, err), 0);
    assert_true(op_type_eq(&o, &x));
    bn[3] = ty(OP_F32, 1, (op_dim[]){ C_(6) });
    expect_err(OP_BATCH_NORM, at, bn, 5, "mean must be f32[4]", "f32[N, 4, 6], got f32[6]");
    bn[3] = c4;
    bn[4].dtype = OP_F64;
    expect_err(OP_BATCH_NORM, at, bn, 5, "var", "f64[4]");
    bn[4].dtype = OP_F32;
    at[0].f = -1.0;
    expect_err(OP_BATCH_NORM, at, bn, 5, "eps", NULL);
    at[0].f = NAN;
    expect_err(OP_BATCH_NORM, at, bn, 5, "eps", NULL);

    /* layer_norm: scale and bias have the shape of the normalised dims */
    op_attrs_default(OP_LAYER_NORM, at);
    op_type s6 = ty(OP_F32, 1, (op_dim[]){ C_(6) });
    op_type ln[3] = { x, s6, s6 };
    assert_int_equal(infer(OP_LAYER_NORM, at, ln, 3, &o, err), 0);
    assert_true(op_type_eq(&o, &x));
    at[0].i = 1;
    expect_err(OP_LAYER_NORM, at, ln, 3, "scale must be f32[4, 6]", "f32[N, 4, 6] with axis 1, got f32[6]");
    ln[1] = ty(OP_F32, 2, (op_dim[]){ C_(4), C_(6) });
    ln[2] = ln[1];
    assert_int_equal(infer(OP_LAYER_NORM, at, ln, 3, &o, err), 0);
    at[0].i = 0; /* normalising over N: the symbol must appear in scale too */
    expect_err(OP_LAYER_NORM, at, ln, 2, "f32[N, 4, 6]", "f32[4, 6]");
    at[0].i = 5;
    expect_err(OP_LAYER_NORM, at, ln, 1, "axis 5", NULL);
    op_set_sym_names(NULL, 0);
}

/* A kernel given an output of the wrong shape refuses to run. */
static void test_kernels_check_output(void **state)
{
    (void)state;
    op_attr at[OP_MAX_ATTRS];
    float y[64];
    int64_t dy[4] = { 2, 3, 2, 2 };
    op_tensor o = tensor(OP_F32, 4, dy, y);
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_threads = 1;
    op_attrs_default(OP_MAX_POOL2D, at);
    set_ints(&at[0], 2, 2);
    op_tensor x = REF_F32(mp_dflt_x); /* [1, 2, 5, 5] -> [1, 2, 2, 2] */
    assert_int_equal(op_get(OP_MAX_POOL2D)->cpu(&ctx, at, &x, 1, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "f32[1, 2, 2, 2]"));
    op_attrs_default(OP_SOFTMAX, at);
    assert_int_equal(op_get(OP_SOFTMAX)->cpu(&ctx, at, &x, 1, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "f32[1, 2, 5, 5]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_ref),
        cmocka_unit_test(test_softmax_nan_and_threads),
        cmocka_unit_test(test_conv2d_ref),
        cmocka_unit_test(test_conv2d_large_and_threads),
        cmocka_unit_test(test_conv2d_random_vs_naive),
        cmocka_unit_test(test_conv2d_workspace_checked),
        cmocka_unit_test(test_max_pool_ref),
        cmocka_unit_test(test_avg_pool_ref),
        cmocka_unit_test(test_pool_threads_and_nan),
        cmocka_unit_test(test_pool_random_vs_naive),
        cmocka_unit_test(test_global_avg_pool_ref),
        cmocka_unit_test(test_batch_norm_ref),
        cmocka_unit_test(test_layer_norm_ref),
        cmocka_unit_test(test_norms_threads),
        cmocka_unit_test(test_conv2d_infer),
        cmocka_unit_test(test_pool_infer),
        cmocka_unit_test(test_softmax_norm_infer),
        cmocka_unit_test(test_kernels_check_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
