/* tests/test_ops_reduce.c -- the reductions (ops/reduce.c): NumPy reference
 * cases (tests/ref/reduce_ref.h, made by tests/gen_reduce_ref.py) on 1 and
 * several threads, the accuracy of long f32 sums, large reductions of every
 * walk (contiguous, strided, general, split rows) against naive loops and
 * across thread counts, symbolic inference, and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "op.h"
#include "ref/reduce_ref.h"

/* ---- NumPy reference cases ---- */

static double elem(const void *data, op_dtype dt, int64_t i)
{
    switch (dt) {
    case OP_F32: return ((const float *)data)[i];
    case OP_F64: return ((const double *)data)[i];
    case OP_I32: return ((const int32_t *)data)[i];
    default: return (double)((const int64_t *)data)[i];
    }
}

/* Floats: NaN where NumPy has NaN, else within a few ulps of the
 * float64-computed value; integers: exact (bytes). */
static void compare(const char *name, op_dtype dt, const void *got, const void *want, int64_t n)
{
    if (dt == OP_I32 || dt == OP_I64) {
        if (n && memcmp(got, want, (size_t)n * op_dtype_size(dt)) != 0)
            fail_msg("%s: integer result differs from NumPy", name);
        return;
    }
    double tol = dt == OP_F32 ? 2e-7 : 1e-14;
    for (int64_t i = 0; i < n; i++) {
        double g = elem(got, dt, i), w = elem(want, dt, i);
        if (isnan(w) || isnan(g)) {
            if (!(isnan(w) && isnan(g)))
                fail_msg("%s: element %lld is %g, NumPy says %g", name, (long long)i, g, w);
            continue;
        }
        if (isinf(w)) {
            if (g != w)
                fail_msg("%s: element %lld is %g, NumPy says %g", name, (long long)i, g, w);
            continue;
        }
        if (fabs(g - w) > tol * (fabs(w) + 1.0))
            fail_msg("%s: element %lld is %.17g, NumPy says %.17g", name, (long long)i, g, w);
    }
}

static void run_case(const reduce_ref_case *c, int n_threads)
{
    int k = op_find(c->op);
    assert_true(k >= 0);
    const op_def *d = op_get((op_kind)k);
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default((op_kind)k, at);
    for (int a = 0; a < c->n_attrs; a++) {
        int idx = op_attr_index((op_kind)k, c->attrs[a].name);
        assert_true(idx >= 0);
        at[idx].i = c->attrs[a].i;
        at[idx].n = c->attrs[a].n;
        memcpy(at[idx].ints, c->attrs[a].ints, sizeof at[idx].ints);
    }
    op_tensor x;
    memset(&x, 0, sizeof x);
    x.dtype = (op_dtype)c->in[0].dtype;
    x.rank = c->in[0].rank;
    memcpy(x.dims, c->in[0].dims, sizeof x.dims);
    x.data = (void *)c->in[0].data;
    op_type xt, yt;
    op_type_from_tensor(&x, &xt);
    char err[OP_ERR_LEN] = "";
    if (d->infer(at, &xt, 1, &yt, 1, err, sizeof err))
        fail_msg("%s: inference failed: %s", c->name, err);
    const reduce_ref_tensor *e = &c->out[0];
    assert_int_equal(yt.dtype, e->dtype);
    assert_int_equal(yt.rank, e->rank);
    op_tensor y;
    assert_int_equal(op_type_eval(&yt, NULL, 0, &y), 0);
    for (int r = 0; r < e->rank; r++)
        assert_int_equal(y.dims[r], e->dims[r]);
    int64_t n = op_tensor_numel(&y);
    size_t bytes = (size_t)n * op_dtype_size(y.dtype);
    y.data = malloc(bytes + 1);
    memset(y.data, 0xA5, bytes + 1);
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_threads = n_threads;
    if (d->cpu(&ctx, at, &x, 1, &y, 1))
        fail_msg("%s: kernel failed: %s", c->name, ctx.err);
    compare(c->name, y.dtype, y.data, e->data, n);
    assert_int_equal(((unsigned char *)y.data)[bytes], 0xA5);
    free(y.data);
}

static void run_refs(const char *op)
{
    int n = 0;
    for (int i = 0; i < REDUCE_REF_N_CASES; i++) {
        if (strcmp(reduce_ref_cases[i].op, op) != 0)
            continue;
        run_case(&reduce_ref_cases[i], 1);
        run_case(&reduce_ref_cases[i], 3);
        n++;
    }
    assert_true(n > 0);
}

static void test_sum_ref(void **s) { (void)s; run_refs("sum"); }
static void test_mean_ref(void **s) { (void)s; run_refs("mean"); }
static void test_max_min_ref(void **s) { (void)s; run_refs("max"); run_refs("min"); }
static void test_argmax_ref(void **s) { (void)s; run_refs("argmax"); }

/* ---- large reductions ---- */

static op_tensor tensor(op_dtype dt, int rank, const int64_t *dims)
{
    op_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
    size_t n = (size_t)op_tensor_numel(&t);
    t.data = calloc(n ? n : 1, op_dtype_size(dt));
    return t;
}

/* Runs op k with axes/keepdims on x; returns the allocated output. */
static op_tensor reduce(op_kind k, const op_tensor *x, int n_axes, const int64_t *axes, int keep,
                        int n_threads, int *rc, char *err)
{
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(k, at);
    if (k == OP_ARGMAX) {
        at[0].i = axes[0];
        at[1].i = keep;
    } else {
        at[0].n = n_axes;
        for (int i = 0; i < n_axes; i++)
            at[0].ints[i] = axes[i];
        at[1].i = keep;
    }
    op_type xt, yt;
    op_type_from_tensor(x, &xt);
    op_tensor y;
    memset(&y, 0, sizeof y);
    *rc = op_get(k)->infer(at, &xt, 1, &yt, 1, err, OP_ERR_LEN);
    if (*rc)
        return y;
    assert_int_equal(op_type_eval(&yt, NULL, 0, &y), 0);
    y = tensor(y.dtype, y.rank, y.dims);
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_threads = n_threads;
    *rc = op_get(k)->cpu(&ctx, at, x, 1, &y, 1);
    snprintf(err, OP_ERR_LEN, "%s", ctx.err);
    return y;
}

static void test_sum_accuracy(void **s)
{
    (void)s;
    int64_t n = (1 << 21) + 3;
    op_tensor x = tensor(OP_F32, 1, &n);
    for (int64_t i = 0; i < n; i++)
        ((float *)x.data)[i] = 0.1f;
    int rc;
    char err[OP_ERR_LEN];
    double exact = (double)0.1f * (double)n;
    float prev = 0;
    for (int nt = 1; nt <= 4; nt += 3) {
        op_tensor y = reduce(OP_SUM, &x, 0, NULL, 0, nt, &rc, err);
        assert_int_equal(rc, 0);
        float got = ((float *)y.data)[0];
        /* naive f32 accumulation would be off by about 1e-2 relative here */
        assert_true(fabs(got - exact) <= 1e-7 * exact);
        if (nt > 1)
            assert_true(got == prev); /* same bits for any thread count */
        prev = got;
        free(y.data);
        y = reduce(OP_MEAN, &x, 0, NULL, 0, nt, &rc, err);
        assert_int_equal(rc, 0);
        assert_true(fabsf(((float *)y.data)[0] - 0.1f) <= 1e-7f);
        free(y.data);
    }
    free(x.data);
}

/* Naive reduction of a [A, B, C, D] f32 tensor over the axes in mask;
 * output element o gets the accumulation in double. */
static void naive(op_kind k, const float *x, const int64_t *dims, unsigned mask, double *out,
                  int64_t n_out)
{
    for (int64_t o = 0; o < n_out; o++)
        out[o] = k == OP_MAX ? -INFINITY : k == OP_MIN ? INFINITY : 0.0;
    int64_t idx[4];
    int64_t total = dims[0] * dims[1] * dims[2] * dims[3];
    for (int64_t f = 0; f < total; f++) {
        int64_t r = f;
        for (int i = 3; i >= 0; i--) {
            idx[i] = r % dims[i];
            r /= dims[i];
        }
        int64_t o = 0;
        for (int i = 0; i < 4; i++)
            if (!(mask & (1u << i)))
                o = o * dims[i] + idx[i];
        double v = x[f];
        if (k == OP_MAX)
            out[o] = v > out[o] ? v : out[o];
        else if (k == OP_MIN)
            out[o] = v < out[o] ? v : out[o];
        else
            out[o] += v;
    }
    if (k == OP_MEAN) {
        int64_t per = total / n_out;
        for (int64_t o = 0; o < n_out; o++)
            out[o] /= (double)per;
    }
}

static void test_large_walks(void **s)
{
    (void)s;
    /* masks: last axes (contiguous rows), middle (strided), leading, mixed
     * (general walk: 0x5 strided inside, 0xA, 0x9 and 0xD with contiguous
     * runs inside, 0xD being a conv bias gradient's N, H, W), all (split
     * rows) */
    static const unsigned masks[] = { 0x8, 0xC, 0x2, 0x1, 0x3, 0x5, 0xA, 0x9, 0xD, 0xF };
    static const op_kind kinds[] = { OP_SUM, OP_MEAN, OP_MAX, OP_MIN };
    int64_t dims[4] = { 3, 40, 7, 300 };
    op_tensor x = tensor(OP_F32, 4, dims);
    int64_t total = op_tensor_numel(&x);
    uint32_t seed = 12345;
    for (int64_t i = 0; i < total; i++) {
        seed = seed * 1664525u + 1013904223u;
        ((float *)x.data)[i] = (float)((int32_t)(seed >> 8) % 20001) / 1000.0f;
    }
    double *ref = malloc(sizeof(double) * (size_t)total);
    char err[OP_ERR_LEN];
    int rc;
    for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++) {
        int64_t axes[4];
        int na = 0;
        int64_t n_out = 1;
        for (int i = 0; i < 4; i++) {
            if (masks[m] & (1u << i))
                axes[na++] = i - 4; /* negative axes */
            else
                n_out *= dims[i];
        }
        for (size_t kk = 0; kk < 4; kk++) {
            naive(kinds[kk], x.data, dims, masks[m], ref, n_out);
            op_tensor y1 = reduce(kinds[kk], &x, na, axes, 1, 1, &rc, err);
            assert_int_equal(rc, 0);
            op_tensor y4 = reduce(kinds[kk], &x, na, axes, 1, 4, &rc, err);
            assert_int_equal(rc, 0);
            assert_int_equal(y1.rank, 4);
            assert_memory_equal(y1.data, y4.data, (size_t)n_out * 4);
            for (int64_t o = 0; o < n_out; o++) {
                double g = ((float *)y1.data)[o];
                if (fabs(g - ref[o]) > 1e-6 * (fabs(ref[o]) + 1.0))
                    fail_msg("%s mask 0x%x: output %lld is %.9g, expected %.9g",
                             op_get(kinds[kk])->name, masks[m], (long long)o, g, ref[o]);
            }
            free(y1.data);
            free(y4.data);
        }
    }
    /* argmax along each axis, threads vs serial vs naive */
    for (int ax = 0; ax < 4; ax++) {
        int64_t a = ax;
        op_tensor y1 = reduce(OP_ARGMAX, &x, 1, &a, 0, 1, &rc, err);
        assert_int_equal(rc, 0);
        op_tensor y4 = reduce(OP_ARGMAX, &x, 1, &a, 0, 4, &rc, err);
        assert_int_equal(rc, 0);
        int64_t n_out = total / dims[ax];
        assert_memory_equal(y1.data, y4.data, (size_t)n_out * 8);
        int64_t inner = 1;
        for (int i = ax + 1; i < 4; i++)
            inner *= dims[i];
        for (int64_t o = 0; o < n_out; o++) {
            int64_t base = (o / inner) * dims[ax] * inner + o % inner, bi = 0;
            const float *xf = x.data;
            for (int64_t r = 1; r < dims[ax]; r++)
                if (xf[base + r * inner] > xf[base + bi * inner])
                    bi = r;
            assert_int_equal(((int64_t *)y1.data)[o], bi);
        }
        free(y1.data);
        free(y4.data);
    }
    /* a NaN reaches max and min of its channel through the general walk's
     * contiguous runs (mask 0xD), and no other channel */
    ((float *)x.data)[(2 * 40 + 17) * 7 * 300 + 3 * 300 + 250] = NAN;
    int64_t ax3[3] = { 0, 2, 3 };
    for (int kk = 2; kk < 4; kk++) {
        op_tensor y = reduce(kinds[kk], &x, 3, ax3, 0, 2, &rc, err);
        assert_int_equal(rc, 0);
        for (int64_t c = 0; c < 40; c++)
            assert_true(isnan(((float *)y.data)[c]) == (c == 17));
        free(y.data);
    }
    free(ref);
    free(x.data);
}

static void test_large_int(void **s)
{
    (void)s;
    int64_t dims[2] = { 5, 70000 };
    op_tensor x = tensor(OP_I64, 2, dims);
    int64_t *xi = x.data;
    for (int64_t i = 0; i < 5 * 70000; i++)
        xi[i] = (i * 7919) % 100003 - 50000;
    xi[3 * 70000 + 777] = INT64_MAX; /* the row sum wraps, the max is exact */
    int rc;
    char err[OP_ERR_LEN];
    int64_t ax = 1;
    for (int nt = 1; nt <= 4; nt += 3) {
        op_tensor ys = reduce(OP_SUM, &x, 1, &ax, 0, nt, &rc, err);
        op_tensor ym = reduce(OP_MAX, &x, 1, &ax, 0, nt, &rc, err);
        op_tensor yn = reduce(OP_MIN, &x, 1, &ax, 0, nt, &rc, err);
        for (int r = 0; r < 5; r++) {
            uint64_t sum = 0;
            int64_t mx = INT64_MIN, mn = INT64_MAX;
            for (int64_t j = 0; j < 70000; j++) {
                int64_t v = xi[r * 70000 + j];
                sum += (uint64_t)v;
                mx = v > mx ? v : mx;
                mn = v < mn ? v : mn;
            }
            assert_true(((int64_t *)ys.data)[r] == (int64_t)sum);
            assert_true(((int64_t *)ym.data)[r] == mx);
            assert_true(((int64_t *)yn.data)[r] == mn);
        }
        assert_true(((int64_t *)ym.data)[3] == INT64_MAX);
        free(ys.data);
        free(ym.data);
        free(yn.data);
    }
    free(x.data);
}

/* ---- symbolic inference ---- */

static void test_symbolic(void **s)
{
    (void)s;
    static const char *const names[] = { "N" };
    op_set_sym_names(names, 1);
    op_type x = { OP_F32, 2, { { 1, 0 }, { 4, -1 } } }, o;
    op_attr at[OP_MAX_ATTRS];
    char err[OP_ERR_LEN], buf[128];
    op_attrs_default(OP_SUM, at);
    at[0] = (op_attr){ .n = 1, .ints = { 1 } };
    assert_int_equal(op_get(OP_SUM)->infer(at, &x, 1, &o, 1, err, sizeof err), 0);
    op_type_str(&o, NULL, buf, sizeof buf);
    assert_string_equal(buf, "f32[N]");
    at[1].i = 1;
    assert_int_equal(op_get(OP_MAX)->infer(at, &x, 1, &o, 1, err, sizeof err), 0);
    op_type_str(&o, NULL, buf, sizeof buf);
    assert_string_equal(buf, "f32[N, 1]");
    at[0].n = 0;
    assert_int_equal(op_get(OP_MEAN)->infer(at, &x, 1, &o, 1, err, sizeof err), 0);
    op_type_str(&o, NULL, buf, sizeof buf);
    assert_string_equal(buf, "f32[1, 1]");
    at[1].i = 0;
    assert_int_equal(op_get(OP_MIN)->infer(at, &x, 1, &o, 1, err, sizeof err), 0);
    assert_int_equal(o.rank, 0);
    op_type xa = { OP_F64, 2, { { 1, 0 }, { 10, -1 } } };
    op_attrs_default(OP_ARGMAX, at);
    assert_int_equal(op_get(OP_ARGMAX)->infer(at, &xa, 1, &o, 1, err, sizeof err), 0);
    op_type_str(&o, NULL, buf, sizeof buf);
    assert_string_equal(buf, "i64[N]");
    at[0].i = 0;
    at[1].i = 1;
    assert_int_equal(op_get(OP_ARGMAX)->infer(at, &xa, 1, &o, 1, err, sizeof err), 0);
    op_type_str(&o, NULL, buf, sizeof buf);
    assert_string_equal(buf, "i64[1, 10]");
    op_set_sym_names(NULL, 0);
}

/* ---- errors ---- */

static void expect_infer_err(op_kind k, const op_attr *at, const op_type *x, const char *needle)
{
    op_type o;
    char err[OP_ERR_LEN] = "";
    if (op_get(k)->infer(at, x, 1, &o, 1, err, sizeof err) != -1)
        fail_msg("%s: expected an error with \"%s\"", op_get(k)->name, needle);
    if (!strstr(err, needle))
        fail_msg("%s: error \"%s\" lacks \"%s\"", op_get(k)->name, err, needle);
}

static void test_errors(void **s)
{
    (void)s;
    op_attr at[OP_MAX_ATTRS];
    op_type x = { OP_F32, 2, { { 2, -1 }, { 3, -1 } } };
    op_attrs_default(OP_SUM, at);
    at[0] = (op_attr){ .n = 2, .ints = { 1, -1 } };
    expect_infer_err(OP_SUM, at, &x, "repeated");
    at[0] = (op_attr){ .n = 1, .ints = { 2 } };
    expect_infer_err(OP_MAX, at, &x, "out of range");
    at[0].n = OP_MAX_INTS + 1;
    expect_infer_err(OP_SUM, at, &x, "at most");
    op_type xi = { OP_I32, 1, { { 3, -1 } } };
    op_attrs_default(OP_MEAN, at);
    expect_infer_err(OP_MEAN, at, &xi, "i32[3] must be f32 or f64");
    op_type xb = { OP_BOOL, 1, { { 3, -1 } } };
    expect_infer_err(OP_SUM, at, &xb, "bool[3]");
    op_attrs_default(OP_ARGMAX, at);
    at[0].i = -3;
    expect_infer_err(OP_ARGMAX, at, &x, "out of range");
    op_type x0 = { OP_F32, 0, { { 0, 0 } } };
    at[0].i = -1;
    expect_infer_err(OP_ARGMAX, at, &x0, "out of range");

    /* max / min / argmax of an empty reduction are kernel errors; sum is 0 */
    int64_t dims[2] = { 0, 3 }, ax = 0;
    op_tensor e = tensor(OP_F32, 2, dims);
    int rc;
    char err[OP_ERR_LEN];
    op_tensor y = reduce(OP_MAX, &e, 1, &ax, 0, 1, &rc, err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "f32[0, 3]"));
    free(y.data);
    y = reduce(OP_MIN, &e, 0, &ax, 0, 1, &rc, err);
    assert_int_equal(rc, -1);
    free(y.data);
    y = reduce(OP_ARGMAX, &e, 1, &ax, 0, 1, &rc, err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "empty"));
    free(y.data);
    ax = 1; /* reducing the non-empty axis of an empty tensor: nothing to do */
    y = reduce(OP_MAX, &e, 1, &ax, 0, 1, &rc, err);
    assert_int_equal(rc, 0);
    assert_int_equal(y.dims[0], 0);
    free(y.data);
    free(e.data);

    /* a kernel given a wrong output shape refuses it */
    int64_t d2[2] = { 2, 3 };
    op_tensor x2 = tensor(OP_F32, 2, d2), bad = tensor(OP_F32, 1, d2);
    op_attrs_default(OP_SUM, at);
    at[0] = (op_attr){ .n = 1, .ints = { 0 } };
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_threads = 1;
    assert_int_equal(op_get(OP_SUM)->cpu(&ctx, at, &x2, 1, &bad, 1), -1);
    assert_non_null(strstr(ctx.err, "expected f32[3]"));
    op_tensor xm = tensor(OP_I32, 2, d2), ym = tensor(OP_I32, 1, d2);
    op_attrs_default(OP_MEAN, at);
    at[0] = (op_attr){ .n = 1, .ints = { 1 } };
    assert_int_equal(op_get(OP_MEAN)->cpu(&ctx, at, &xm, 1, &ym, 1), -1);
    free(x2.data);
    free(bad.data);
    free(xm.data);
    free(ym.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sum_ref),
        cmocka_unit_test(test_mean_ref),
        cmocka_unit_test(test_max_min_ref),
        cmocka_unit_test(test_argmax_ref),
        cmocka_unit_test(test_sum_accuracy),
        cmocka_unit_test(test_large_walks),
        cmocka_unit_test(test_large_int),
        cmocka_unit_test(test_symbolic),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
