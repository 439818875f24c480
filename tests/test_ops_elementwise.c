/* tests/test_ops_elementwise.c -- the elementwise ops: every op and dtype
 * against the NumPy references of tests/ref/elementwise_ref.h (made by
 * tests/gen_elementwise_ref.py), run out of place, in place and through
 * inference; plus error paths, inference messages, cast semantics, GELU
 * against the textbook formulas, the f32 transcendentals against double libm
 * on a dense sweep, and multi-threaded runs on big tensors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>

#include "op.h"
#include "ew_math.h"
#include "ref/elementwise_ref.h"

/* ---- helpers --------------------------------------------------------------- */

static op_ctx make_ctx(int n_threads)
{
    op_ctx c;
    memset(&c, 0, sizeof c);
    c.n_threads = n_threads;
    return c;
}

static op_tensor tens(op_dtype dt, int rank, const int64_t *dims, void *data)
{
    op_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    t.data = data;
    return t;
}

static op_type ty(op_dtype dt, int rank, const int64_t *dims)
{
    op_type t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++)
        t.dims[i] = op_dim_const(dims[i]);
    return t;
}

static op_tensor ref_tensor(const ew_ref_tensor *r)
{
    return tens((op_dtype)r->dtype, r->rank, r->dims, (void *)r->data);
}

static double get_f(op_dtype dt, const void *p, int64_t i)
{
    return dt == OP_F32 ? ((const float *)p)[i] : ((const double *)p)[i];
}

static int64_t get_i(op_dtype dt, const void *p, int64_t i)
{
    switch (dt) {
    case OP_I32: return ((const int32_t *)p)[i];
    case OP_I64: return ((const int64_t *)p)[i];
    case OP_I8: return ((const int8_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
    }
}

/* Compares got with the expected tensor; prints the first mismatch. */
static int check_values(const char *name, const ew_ref_tensor *want, const void *got, double rtol)
{
    op_dtype dt = (op_dtype)want->dtype;
    int64_t n = op_dims_numel(want->rank, want->dims);
    for (int64_t i = 0; i < n; i++) {
        if (op_dtype_is_float(dt)) {
            double e = get_f(dt, want->data, i), g = get_f(dt, got, i);
            int ok;
            if (isnan(e))
                ok = isnan(g);
            else if (isinf(e) || rtol == 0)
                ok = g == e;
            else
                ok = fabs(g - e) <= rtol * fabs(e) + (dt == OP_F32 ? 1e-38 : 1e-300);
            if (!ok) {
                print_error("%s: element %lld is %.17g, expected %.17g (rtol %g)\n", name,
                            (long long)i, g, e, rtol);
                return -1;
            }
        } else if (get_i(dt, got, i) != get_i(dt, want->data, i)) {
            print_error("%s: element %lld is %lld, expected %lld\n", name, (long long)i,
                        (long long)get_i(dt, got, i), (long long)get_i(dt, want->data, i));
            return -1;
        }
    }
    return 0;
}

/* Runs one reference case: inference must give the expected type, the kernel
 * the expected values (with n_threads 1 and 2), and, where the op may run in
 * place and input 0 has the output's type, also in place. */
static int run_ref_case(const ew_ref_case *c)
{
    int k = op_find(c->op);
    if (k < 0) {
        print_error("%s: unknown op %s\n", c->name, c->op);
        return -1;
    }
    const op_def *d = op_get((op_kind)k);
    op_attr attrs[OP_MAX_ATTRS];
    op_attrs_default((op_kind)k, attrs);
    for (int i = 0; i < c->n_attrs; i++) {
        attrs[i].i = c->attr_i[i];
        attrs[i].f = c->attr_f[i];
    }
    op_tensor in[3], out;
    op_type in_t[3], out_t, want_t;
    for (int i = 0; i < c->n_in; i++) {
        in[i] = ref_tensor(&c->in[i]);
        op_type_from_tensor(&in[i], &in_t[i]);
    }
    out = ref_tensor(&c->out);
    op_type_from_tensor(&out, &want_t);
    char err[OP_ERR_LEN] = "";
    if (d->infer(attrs, in_t, c->n_in, &out_t, 1, err, sizeof err) != 0) {
        print_error("%s: inference failed: %s\n", c->name, err);
        return -1;
    }
    if (!op_type_eq(&out_t, &want_t)) {
        char a[256], b[256];
        op_type_str(&out_t, NULL, a, sizeof a);
        op_type_str(&want_t, NULL, b, sizeof b);
        print_error("%s: inferred %s, expected %s\n", c->name, a, b);
        return -1;
    }
    int64_t n = op_dims_numel(out.rank, out.dims);
    size_t bytes = (size_t)n * op_dtype_size(out.dtype);
    unsigned char *buf = malloc(bytes + 16);
    int rc = 0;
    for (int threads = 1; threads <= 2 && rc == 0; threads++) {
        memset(buf, 0xA5, bytes + 16); /* unwritten elements show up as garbage */
        out.data = buf;
        op_ctx ctx = make_ctx(threads);
        if (d->cpu(&ctx, attrs, in, c->n_in, &out, 1) != 0) {
            print_error("%s: kernel failed: %s\n", c->name, ctx.err);
            rc = -1;
        } else {
            rc = check_values(c->name, &c->out, buf, c->rtol);
        }
    }
    if (rc == 0 && (d->flags & OPF_INPLACE) && n > 0 && in[0].dtype == out.dtype &&
        op_type_eq(&in_t[0], &want_t)) {
        memcpy(buf, in[0].data, bytes);
        op_tensor in2[3];
        memcpy(in2, in, sizeof in2);
        in2[0].data = buf;
        out.data = buf;
        op_ctx ctx = make_ctx(1);
        if (d->cpu(&ctx, attrs, in2, c->n_in, &out, 1) != 0) {
            print_error("%s (in place): kernel failed: %s\n", c->name, ctx.err);
            rc = -1;
        } else if (check_values(c->name, &c->out, buf, c->rtol)) {
            print_error("%s: wrong in place\n", c->name);
            rc = -1;
        }
    }
    free(buf);
    return rc;
}

/* Runs every reference case of the given ops; each op must have cases. */
static void run_ref_ops(const char *const *ops, int n_ops)
{
    int failed = 0;
    for (int j = 0; j < n_ops; j++) {
        int count = 0;
        for (int i = 0; i < EW_REF_N_CASES; i++) {
            if (strcmp(ew_ref_cases[i].op, ops[j]) != 0)
                continue;
            count++;
            if (run_ref_case(&ew_ref_cases[i]))
                failed++;
        }
        if (count == 0) {
            print_error("no reference cases for %s\n", ops[j]);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
}

#define RUN_REF(...)                                                                   \
    do {                                                                               \
        static const char *const ops_[] = { __VA_ARGS__ };                             \
        run_ref_ops(ops_, (int)(sizeof ops_ / sizeof ops_[0]));                        \
    } while (0)

/* ---- NumPy reference cases -------------------------------------------------- */

static void test_ref_arith(void **state)
{
    (void)state;
    RUN_REF("add", "sub", "mul", "div", "pow", "minimum", "maximum");
}

static void test_ref_compare_logical(void **state)
{
    (void)state;
    RUN_REF("equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
            "logical_and", "logical_or", "logical_not");
}

static void test_ref_unary(void **state)
{
    (void)state;
    RUN_REF("neg", "abs", "relu", "identity", "clip");
}

static void test_ref_unary_float(void **state)
{
    (void)state;
    RUN_REF("exp", "log", "sqrt", "rsqrt", "reciprocal", "tanh", "sigmoid", "erf", "leaky_relu",
            "gelu");
}

static void test_ref_cast_where(void **state)
{
    (void)state;
    RUN_REF("cast", "where");
}

/* Every op whose kernel lives in ops/elementwise.c has reference cases
 * (dropout, whose only behaviour is a copy or an error, is tested below). */
static void test_ref_covers_family(void **state)
{
    (void)state;
    for (int k = 0; k < OP_COUNT; k++) {
        const op_def *d = op_get((op_kind)k);
        if (!(d->flags & OPF_ELEMENTWISE))
            continue;
        int found = 0;
        for (int i = 0; i < EW_REF_N_CASES && !found; i++)
            found = strcmp(ew_ref_cases[i].op, d->name) == 0;
        if (!found)
            print_error("no reference case for %s\n", d->name);
        assert_true(found);
    }
    assert_true(EW_REF_N_CASES > 500);
}

/* ---- GELU and sigmoid against the textbook formulas ------------------------- */

static void test_gelu_formulas(void **state)
{
    (void)state;
    for (int i = 0; i <= 90; i++) {
        double x = -3.0 + i * 0.1;
        long double xl = x;
        long double e = 0.5L * xl * (1.0L + erfl(xl / sqrtl(2.0L)));
        long double u = sqrtl(2.0L / acosl(-1.0L)) * (xl + 0.044715L * xl * xl * xl);
        long double t = 0.5L * xl * (1.0L + tanhl(u));
        double tol_e = 1e-12 * fabs((double)e) + 1e-300, tol_t = 1e-12 * fabs((double)t) + 1e-300;
        assert_true(fabs(ew_gelu_erf_f64(x) - (double)e) <= tol_e);
        assert_true(fabs(ew_gelu_tanh_f64(x) - (double)t) <= tol_t);
        float xf = (float)x;
        long double xfl = xf;
        long double ef = 0.5L * xfl * (1.0L + erfl(xfl / sqrtl(2.0L)));
        long double uf = sqrtl(2.0L / acosl(-1.0L)) * (xfl + 0.044715L * xfl * xfl * xfl);
        long double tf = 0.5L * xfl * (1.0L + tanhl(uf));
        assert_true(fabs(ew_gelu_erf_f32(xf) - (double)ef) <= 1e-5 * fabs((double)ef) + 1e-30);
        assert_true(fabs(ew_gelu_tanh_f32(xf) - (double)tf) <= 1e-5 * fabs((double)tf) + 1e-30);
    }
    /* the two forms differ (by up to ~1e-3 near |x| = 2), so mode matters */
    assert_true(fabs(ew_gelu_erf_f64(2.0) - ew_gelu_tanh_f64(2.0)) > 1e-5);
    /* far tails: no overflow, no nan, correct limits */
    assert_true(ew_gelu_erf_f32(-100.0f) == 0.0f && ew_gelu_tanh_f32(-100.0f) == 0.0f);
    assert_true(ew_gelu_erf_f32(100.0f) == 100.0f && ew_gelu_tanh_f32(100.0f) == 100.0f);
    assert_true(ew_sigmoid_f32(-1e30f) == 0.0f && ew_sigmoid_f32(1e30f) == 1.0f);
    assert_true(ew_sigmoid_f64(-INFINITY) == 0.0 && ew_sigmoid_f64(INFINITY) == 1.0);
    assert_true(isnan(ew_sigmoid_f32(NAN)));
    /* e/(1+e) keeps relative accuracy deep in the negative tail */
    assert_true(fabs(ew_sigmoid_f64(-700.0) / exp(-700.0) - 1.0) < 1e-12);
}

/* ---- f32 transcendental accuracy over a dense sweep ------------------------- */

static double ref_sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }
static double ref_gelu_erf(double x) { return 0.5 * x * erfc(-x * 0.70710678118654752440); }
static float f_exp(float x) { return ew_exp_f32(x); }
static float f_sigmoid(float x) { return ew_sigmoid_f32(x); }
static float f_tanh(float x) { return ew_tanh_f32(x); }
static float f_gelu_erf(float x) { return ew_gelu_erf_f32(x); }

/* The f32 exp, sigmoid, tanh and gelu (erf form) against double libm on
 * over a million floats of [-lim, lim] (every 971st float from FLT_MIN up,
 * both signs: tiny values and the tails included): the largest relative
 * error wherever the exact result is a normal float stays within a few ulp
 * (the bounds are 1.5 to 2 times what a run over every float measures), and
 * the limits hold exactly: tanh in [-1, 1], sigmoid in [0, 1], nan in, nan
 * out. */
static void test_math_accuracy_sweep(void **state)
{
    (void)state;
    struct { const char *name; float (*f)(float); double (*ref)(double); float lim; double bound; } fns[] = {
        { "exp", f_exp, exp, 88.0f, 1.5e-7 },
        { "sigmoid", f_sigmoid, ref_sigmoid, 110.0f, 4.5e-7 },
        { "tanh", f_tanh, tanh, 12.0f, 5.0e-7 },
        { "gelu", f_gelu_erf, ref_gelu_erf, 15.0f, 1.7e-6 },
    };
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        double worst = 0;
        float worst_x = 0;
        long n = 0;
        uint32_t top;
        memcpy(&top, &fns[k].lim, 4);
        for (uint32_t u = 0x00800000u; u <= top; u += 971) { /* positive normals up to lim */
            for (int sign = 0; sign < 2; sign++) {
                uint32_t b = u | (sign ? 0x80000000u : 0);
                float x;
                memcpy(&x, &b, 4);
                double want = fns[k].ref((double)x), got = fns[k].f(x);
                if (fabs(want) < FLT_MIN || fabs(want) > FLT_MAX)
                    continue;
                double e = fabs(got - want) / fabs(want);
                if (e > worst) {
                    worst = e;
                    worst_x = x;
                }
                n++;
            }
        }
        if (worst > fns[k].bound)
            print_error("%s: relative error %.3g at x = %.9g (bound %.3g)\n", fns[k].name, worst, worst_x,
                        fns[k].bound);
        assert_true(n > 1000000);
        assert_true(worst <= fns[k].bound);
    }
    const float special[] = { INFINITY, -INFINITY, 9.2f, -9.2f, 20.0f, -20.0f, 8.0f, -8.0f, 1e30f, -1e30f };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        float x = special[i], t = ew_tanh_f32(x), sg = ew_sigmoid_f32(x);
        assert_true(t >= -1.0f && t <= 1.0f);
        assert_true(sg >= 0.0f && sg <= 1.0f);
        if (fabsf(x) >= 9.2f)
            assert_true(t == (x > 0 ? 1.0f : -1.0f));
    }
    assert_true(ew_tanh_f32(-0.0f) == 0.0f && signbit(ew_tanh_f32(-0.0f)));
    assert_true(ew_tanh_f32(1e-30f) == 1e-30f && ew_tanh_f32(1e-40f) == 1e-40f);
    assert_true(ew_sigmoid_f32(-INFINITY) == 0.0f && ew_sigmoid_f32(INFINITY) == 1.0f);
    assert_true(ew_gelu_erf_f32(INFINITY) == INFINITY);
    float nans[] = { NAN, -NAN };
    for (int i = 0; i < 2; i++) {
        assert_true(isnan(ew_tanh_f32(nans[i])));
        assert_true(isnan(ew_sigmoid_f32(nans[i])));
        assert_true(isnan(ew_gelu_erf_f32(nans[i])));
        assert_true(isnan(ew_gelu_tanh_f32(nans[i])));
    }
}

/* ---- integer errors ---------------------------------------------------------- */

static void test_int_div_by_zero(void **state)
{
    (void)state;
    int32_t a[4] = { 7, -7, 8, 9 }, b[4] = { 2, 3, 0, 1 }, o[4];
    int64_t d4[1] = { 4 };
    op_tensor in[2] = { tens(OP_I32, 1, d4, a), tens(OP_I32, 1, d4, b) };
    op_tensor out = tens(OP_I32, 1, d4, o);
    op_ctx ctx = make_ctx(1);
    assert_int_equal(op_get(OP_DIV)->cpu(&ctx, NULL, in, 2, &out, 1), -1);
    assert_non_null(strstr(ctx.err, "division by zero"));
    /* a broadcast zero scalar, i64 */
    int64_t a64[3] = { 1, 2, 3 }, z = 0, o64[3];
    int64_t d3[1] = { 3 };
    op_tensor in64[2] = { tens(OP_I64, 1, d3, a64), tens(OP_I64, 0, NULL, &z) };
    op_tensor out64 = tens(OP_I64, 1, d3, o64);
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_DIV)->cpu(&ctx, NULL, in64, 2, &out64, 1), -1);
    assert_non_null(strstr(ctx.err, "division by zero"));
    /* no zero: C truncation toward zero */
    b[2] = -3;
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_DIV)->cpu(&ctx, NULL, in, 2, &out, 1), 0);
    assert_int_equal(o[0], 3);
    assert_int_equal(o[1], -2);
    assert_int_equal(o[2], -2);
    assert_int_equal(o[3], 9);
}

static void test_int_div_overflow(void **state)
{
    (void)state;
    int32_t a[2] = { INT32_MIN, 5 }, b[2] = { -1, -1 }, o[2];
    int64_t d2[1] = { 2 };
    op_tensor in[2] = { tens(OP_I32, 1, d2, a), tens(OP_I32, 1, d2, b) };
    op_tensor out = tens(OP_I32, 1, d2, o);
    op_ctx ctx = make_ctx(1);
    assert_int_equal(op_get(OP_DIV)->cpu(&ctx, NULL, in, 2, &out, 1), -1);
    assert_non_null(strstr(ctx.err, "overflow"));
    int64_t a64[1] = { INT64_MIN }, b64[1] = { -1 }, o64[1];
    int64_t d1[1] = { 1 };
    op_tensor in64[2] = { tens(OP_I64, 1, d1, a64), tens(OP_I64, 1, d1, b64) };
    op_tensor out64 = tens(OP_I64, 1, d1, o64);
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_DIV)->cpu(&ctx, NULL, in64, 2, &out64, 1), -1);
    assert_non_null(strstr(ctx.err, "overflow"));
}

static void test_int_pow_negative(void **state)
{
    (void)state;
    int32_t a[3] = { 2, 1, 3 }, b[3] = { 3, -1, 2 }, o[3];
    int64_t d3[1] = { 3 };
    op_tensor in[2] = { tens(OP_I32, 1, d3, a), tens(OP_I32, 1, d3, b) };
    op_tensor out = tens(OP_I32, 1, d3, o);
    op_ctx ctx = make_ctx(1);
    assert_int_equal(op_get(OP_POW)->cpu(&ctx, NULL, in, 2, &out, 1), -1);
    assert_non_null(strstr(ctx.err, "negative"));
    b[1] = 0;
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_POW)->cpu(&ctx, NULL, in, 2, &out, 1), 0);
    assert_int_equal(o[0], 8);
    assert_int_equal(o[1], 1);
    assert_int_equal(o[2], 9);
}

/* ---- kernels reject what they cannot do, without touching memory ------------- */

static void test_kernel_errors(void **state)
{
    (void)state;
    uint8_t u[4] = { 1, 2, 3, 4 }, uo[4];
    int64_t d4[1] = { 4 }, d5[1] = { 5 }, d23[2] = { 2, 3 };
    op_tensor in[2] = { tens(OP_U8, 1, d4, u), tens(OP_U8, 1, d4, u) };
    op_tensor out = tens(OP_U8, 1, d4, uo);
    op_ctx ctx = make_ctx(1);
    assert_int_equal(op_get(OP_ADD)->cpu(&ctx, NULL, in, 2, &out, 1), -1);
    assert_non_null(strstr(ctx.err, "u8"));

    float f[6] = { 0 }, fo[6];
    int32_t i4[4] = { 0 };
    /* dtype mismatch between inputs */
    in[0] = tens(OP_F32, 1, d4, f);
    in[1] = tens(OP_I32, 1, d4, i4);
    out = tens(OP_F32, 1, d4, fo);
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_MUL)->cpu(&ctx, NULL, in, 2, &out, 1), -1);
    assert_non_null(strstr(ctx.err, "mismatch"));
    /* output bigger than the broadcast shape: refused, nothing read past the end */
    in[1] = tens(OP_F32, 1, d4, f);
    out = tens(OP_F32, 1, d5, fo);
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_ADD)->cpu(&ctx, NULL, in, 2, &out, 1), -1);
    /* inputs that do not broadcast */
    in[1] = tens(OP_F32, 2, d23, f);
    out = tens(OP_F32, 2, d23, fo);
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_ADD)->cpu(&ctx, NULL, in, 2, &out, 1), -1);
    assert_non_null(strstr(ctx.err, "broadcast"));
    /* unary with a wrong output shape, float op on integers, missing data */
    in[0] = tens(OP_F32, 1, d4, f);
    out = tens(OP_F32, 1, d5, fo);
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_EXP)->cpu(&ctx, NULL, in, 1, &out, 1), -1);
    in[0] = tens(OP_I32, 1, d4, i4);
    out = tens(OP_I32, 1, d4, i4);
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_EXP)->cpu(&ctx, NULL, in, 1, &out, 1), -1);
    assert_non_null(strstr(ctx.err, "i32"));
    in[0] = tens(OP_F32, 1, d4, NULL);
    out = tens(OP_F32, 1, d4, fo);
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_NEG)->cpu(&ctx, NULL, in, 1, &out, 1), -1);
    /* wrong arity, wrong output dtype for a comparison */
    in[0] = tens(OP_F32, 1, d4, f);
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_ADD)->cpu(&ctx, NULL, in, 1, &out, 1), -1);
    in[1] = tens(OP_F32, 1, d4, f);
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_LESS)->cpu(&ctx, NULL, in, 2, &out, 1), -1);
    /* bad attributes reach a kernel directly */
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_GELU, at);
    at[0].i = 7;
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_GELU)->cpu(&ctx, at, in, 1, &out, 1), -1);
    op_attrs_default(OP_CAST, at);
    at[0].i = 99;
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_CAST)->cpu(&ctx, at, in, 1, &out, 1), -1);
    at[0].i = OP_I32; /* output tensor is f32: refused */
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_CAST)->cpu(&ctx, at, in, 1, &out, 1), -1);
    op_attrs_default(OP_CLIP, at);
    at[0].f = NAN;
    ctx = make_ctx(1);
    assert_int_equal(op_get(OP_CLIP)->cpu(&ctx, at, in, 1, &out, 1), -1);
}

/* ---- inference ----------------------------------------------------------------- */

static op_type sym_type(op_dtype dt, int rank, const op_dim *dims)
{
    op_type t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    return t;
}

static int infer(op_kind k, const op_attr *attrs, const op_type *in, int n_in, op_type *out,
                 char *err)
{
    op_attr def[OP_MAX_ATTRS];
    if (!attrs) {
        op_attrs_default(k, def);
        attrs = def;
    }
    err[0] = 0;
    return op_get(k)->infer(attrs, in, n_in, out, 1, err, OP_ERR_LEN);
}

static void test_infer_binary(void **state)
{
    (void)state;
    const char *syms[] = { "N" };
    op_set_sym_names(syms, 1);
    char err[OP_ERR_LEN], buf[128];
    op_type in[3], out;
    in[0] = sym_type(OP_F32, 2, (op_dim[]){ { 1, 0 }, { 10, -1 } });
    in[1] = sym_type(OP_I32, 1, (op_dim[]){ { 10, -1 } });
    assert_int_equal(infer(OP_ADD, NULL, in, 2, &out, err), -1);
    assert_string_equal(err, "dtype mismatch: f32[N, 10] and i32[10]");
    /* symbolic broadcast [N, 1] + [1, 10] -> [N, 10] */
    in[0] = sym_type(OP_F32, 2, (op_dim[]){ { 1, 0 }, { 1, -1 } });
    in[1] = sym_type(OP_F32, 2, (op_dim[]){ { 1, -1 }, { 10, -1 } });
    assert_int_equal(infer(OP_SUB, NULL, in, 2, &out, err), 0);
    op_type_str(&out, NULL, buf, sizeof buf);
    assert_string_equal(buf, "f32[N, 10]");
    /* incompatible shapes: both named in the message */
    in[0] = ty(OP_F32, 2, (int64_t[]){ 2, 3 });
    in[1] = ty(OP_F32, 1, (int64_t[]){ 4 });
    assert_int_equal(infer(OP_MUL, NULL, in, 2, &out, err), -1);
    assert_non_null(strstr(err, "[2, 3]"));
    assert_non_null(strstr(err, "[4]"));
    /* bool is not numeric */
    in[0] = ty(OP_BOOL, 1, (int64_t[]){ 3 });
    in[1] = ty(OP_BOOL, 1, (int64_t[]){ 3 });
    assert_int_equal(infer(OP_ADD, NULL, in, 2, &out, err), -1);
    assert_non_null(strstr(err, "bool[3]"));
    /* comparisons give bool, accept bool inputs */
    assert_int_equal(infer(OP_EQUAL, NULL, in, 2, &out, err), 0);
    assert_int_equal(out.dtype, OP_BOOL);
    in[0] = ty(OP_I64, 2, (int64_t[]){ 2, 1 });
    in[1] = ty(OP_I64, 1, (int64_t[]){ 5 });
    assert_int_equal(infer(OP_LESS, NULL, in, 2, &out, err), 0);
    op_type_str(&out, NULL, buf, sizeof buf);
    assert_string_equal(buf, "bool[2, 5]");
    in[1] = ty(OP_F64, 1, (int64_t[]){ 5 });
    assert_int_equal(infer(OP_GREATER, NULL, in, 2, &out, err), -1);
    assert_non_null(strstr(err, "i64[2, 1]"));
    assert_non_null(strstr(err, "f64[5]"));
    /* logic needs bool; logical_not takes one input */
    in[0] = ty(OP_F32, 1, (int64_t[]){ 3 });
    in[1] = ty(OP_BOOL, 1, (int64_t[]){ 3 });
    assert_int_equal(infer(OP_LOGICAL_AND, NULL, in, 2, &out, err), -1);
    assert_non_null(strstr(err, "f32[3]"));
    in[0] = ty(OP_BOOL, 2, (int64_t[]){ 4, 1 });
    assert_int_equal(infer(OP_LOGICAL_OR, NULL, in, 2, &out, err), 0);
    op_type_str(&out, NULL, buf, sizeof buf);
    assert_string_equal(buf, "bool[4, 3]");
    assert_int_equal(infer(OP_LOGICAL_NOT, NULL, in, 1, &out, err), 0);
    assert_int_equal(out.rank, 2);
    /* arity and malformed types (an untrusted file) */
    assert_int_equal(infer(OP_ADD, NULL, in, 1, &out, err), -1);
    assert_int_equal(infer(OP_ADD, NULL, in, 3, &out, err), -1);
    in[0] = ty(OP_F32, 1, (int64_t[]){ 3 });
    in[1] = in[0];
    in[1].rank = 9;
    assert_int_equal(infer(OP_ADD, NULL, in, 2, &out, err), -1);
    in[1] = in[0];
    in[1].dtype = (op_dtype)42;
    in[0].dtype = (op_dtype)42;
    assert_int_equal(infer(OP_ADD, NULL, in, 2, &out, err), -1);
    in[0] = ty(OP_F32, 1, (int64_t[]){ 3 });
    in[0].dims[0].coef = -3;
    assert_int_equal(infer(OP_NEG, NULL, in, 1, &out, err), -1);
    op_set_sym_names(NULL, 0);
}

static void test_infer_unary_cast_where(void **state)
{
    (void)state;
    char err[OP_ERR_LEN], buf[128];
    op_type in[3], out;
    op_attr at[OP_MAX_ATTRS];
    /* unary_float: f32/f64 only */
    in[0] = ty(OP_I32, 1, (int64_t[]){ 2 });
    assert_int_equal(infer(OP_EXP, NULL, in, 1, &out, err), -1);
    assert_non_null(strstr(err, "i32[2]"));
    in[0] = ty(OP_F64, 3, (int64_t[]){ 2, 0, 4 });
    assert_int_equal(infer(OP_SIGMOID, NULL, in, 1, &out, err), 0);
    assert_true(op_type_eq(&out, &in[0]));
    /* unary: numeric, not bool */
    in[0] = ty(OP_I64, 1, (int64_t[]){ 2 });
    assert_int_equal(infer(OP_ABS, NULL, in, 1, &out, err), 0);
    assert_int_equal(out.dtype, OP_I64);
    in[0] = ty(OP_BOOL, 1, (int64_t[]){ 2 });
    assert_int_equal(infer(OP_NEG, NULL, in, 1, &out, err), -1);
    assert_non_null(strstr(err, "bool[2]"));
    /* cast: target validated */
    in[0] = ty(OP_F32, 2, (int64_t[]){ 2, 3 });
    op_attrs_default(OP_CAST, at);
    const int64_t bad_dt[4] = { -1, 0, OP_DT_COUNT, 1000 };
    for (int i = 0; i < 4; i++) {
        at[0].i = bad_dt[i];
        assert_int_equal(infer(OP_CAST, at, in, 1, &out, err), -1);
        assert_non_null(strstr(err, "dtype"));
    }
    at[0].i = OP_BOOL;
    assert_int_equal(infer(OP_CAST, at, in, 1, &out, err), 0);
    op_type_str(&out, NULL, buf, sizeof buf);
    assert_string_equal(buf, "bool[2, 3]");
    /* attributes of gelu, leaky_relu, clip, dropout */
    op_attrs_default(OP_GELU, at);
    at[0].i = 2;
    assert_int_equal(infer(OP_GELU, at, in, 1, &out, err), -1);
    assert_non_null(strstr(err, "approximate"));
    at[0].i = 1;
    assert_int_equal(infer(OP_GELU, at, in, 1, &out, err), 0);
    op_attrs_default(OP_LEAKY_RELU, at);
    at[0].f = NAN;
    assert_int_equal(infer(OP_LEAKY_RELU, at, in, 1, &out, err), -1);
    at[0].f = INFINITY;
    assert_int_equal(infer(OP_LEAKY_RELU, at, in, 1, &out, err), -1);
    op_attrs_default(OP_CLIP, at);
    assert_int_equal(infer(OP_CLIP, at, in, 1, &out, err), 0); /* -inf, inf defaults */
    at[1].f = NAN;
    assert_int_equal(infer(OP_CLIP, at, in, 1, &out, err), -1);
    op_attrs_default(OP_DROPOUT, at);
    assert_int_equal(infer(OP_DROPOUT, at, in, 1, &out, err), 0);
    double bad_p[3] = { -0.1, 1.5, NAN };
    for (int i = 0; i < 3; i++) {
        at[0].f = bad_p[i];
        assert_int_equal(infer(OP_DROPOUT, at, in, 1, &out, err), -1);
    }
    /* where: bool cond, a/b one dtype, three-way broadcast */
    in[0] = ty(OP_BOOL, 3, (int64_t[]){ 2, 1, 3 });
    in[1] = ty(OP_F32, 2, (int64_t[]){ 4, 1 });
    in[2] = ty(OP_F32, 1, (int64_t[]){ 3 });
    assert_int_equal(infer(OP_WHERE, NULL, in, 3, &out, err), 0);
    op_type_str(&out, NULL, buf, sizeof buf);
    assert_string_equal(buf, "f32[2, 4, 3]");
    in[2] = ty(OP_F64, 1, (int64_t[]){ 3 });
    assert_int_equal(infer(OP_WHERE, NULL, in, 3, &out, err), -1);
    assert_non_null(strstr(err, "f32[4, 1]"));
    assert_non_null(strstr(err, "f64[3]"));
    in[2] = ty(OP_F32, 1, (int64_t[]){ 3 });
    in[0] = ty(OP_I32, 3, (int64_t[]){ 2, 1, 3 });
    assert_int_equal(infer(OP_WHERE, NULL, in, 3, &out, err), -1);
    assert_non_null(strstr(err, "bool"));
    in[0] = ty(OP_BOOL, 1, (int64_t[]){ 5 });
    assert_int_equal(infer(OP_WHERE, NULL, in, 3, &out, err), -1);
    assert_non_null(strstr(err, "[5]"));
    assert_non_null(strstr(err, "[4, 1]"));
    assert_non_null(strstr(err, "[3]"));
}

/* ---- cast semantics -------------------------------------------------------------- */

static int run_cast(op_dtype to, op_tensor *in, void *out_data, int n_threads)
{
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_CAST, at);
    at[0].i = to;
    op_tensor out = *in;
    out.dtype = to;
    out.data = out_data;
    op_ctx ctx = make_ctx(n_threads);
    return op_get(OP_CAST)->cpu(&ctx, at, in, 1, &out, 1);
}

static void test_cast_round_trips(void **state)
{
    (void)state;
    int64_t d[1] = { 6 };
    int32_t i32[6] = { 0, 1, -1, INT32_MAX, INT32_MIN, 123456789 }, i32b[6];
    double f64[6];
    op_tensor t = tens(OP_I32, 1, d, i32);
    assert_int_equal(run_cast(OP_F64, &t, f64, 1), 0);
    t = tens(OP_F64, 1, d, f64);
    assert_int_equal(run_cast(OP_I32, &t, i32b, 1), 0);
    assert_memory_equal(i32, i32b, sizeof i32);

    float f32[6] = { 0.1f, -1e-30f, 3.4e38f, -0.0f, 1.0f / 3.0f, 16777217.0f }, f32b[6];
    t = tens(OP_F32, 1, d, f32);
    assert_int_equal(run_cast(OP_F64, &t, f64, 1), 0);
    t = tens(OP_F64, 1, d, f64);
    assert_int_equal(run_cast(OP_F32, &t, f32b, 1), 0);
    assert_memory_equal(f32, f32b, sizeof f32);

    int64_t i64[6] = { 0, -1, (INT64_C(1) << 53), -(INT64_C(1) << 53), 987654321012LL, 7 }, i64b[6];
    t = tens(OP_I64, 1, d, i64);
    assert_int_equal(run_cast(OP_F64, &t, f64, 1), 0);
    t = tens(OP_F64, 1, d, f64);
    assert_int_equal(run_cast(OP_I64, &t, i64b, 1), 0);
    assert_memory_equal(i64, i64b, sizeof i64);

    uint8_t u8[6] = { 0, 1, 127, 128, 254, 255 }, u8b[6];
    t = tens(OP_U8, 1, d, u8);
    assert_int_equal(run_cast(OP_I32, &t, i32b, 1), 0);
    t = tens(OP_I32, 1, d, i32b);
    assert_int_equal(run_cast(OP_U8, &t, u8b, 1), 0);
    assert_memory_equal(u8, u8b, sizeof u8);

    uint8_t bl[6] = { 0, 1, 1, 0, 0, 1 }, blb[6];
    t = tens(OP_BOOL, 1, d, bl);
    assert_int_equal(run_cast(OP_F32, &t, f32b, 1), 0);
    assert_true(f32b[1] == 1.0f && f32b[0] == 0.0f);
    t = tens(OP_F32, 1, d, f32b);
    assert_int_equal(run_cast(OP_BOOL, &t, blb, 1), 0);
    assert_memory_equal(bl, blb, sizeof bl);
}

static void test_cast_saturation(void **state)
{
    (void)state;
    int64_t d[1] = { 7 };
    float f[7] = { 1e10f, -1e10f, NAN, 2.9f, -2.9f, INFINITY, -INFINITY };
    int32_t i32[7];
    op_tensor t = tens(OP_F32, 1, d, f);
    assert_int_equal(run_cast(OP_I32, &t, i32, 1), 0);
    int32_t want32[7] = { INT32_MAX, INT32_MIN, 0, 2, -2, INT32_MAX, INT32_MIN };
    assert_memory_equal(i32, want32, sizeof want32);
    int8_t i8[7];
    assert_int_equal(run_cast(OP_I8, &t, i8, 1), 0);
    int8_t want8[7] = { 127, -128, 0, 2, -2, 127, -128 };
    assert_memory_equal(i8, want8, sizeof want8);
    uint8_t u8[7];
    assert_int_equal(run_cast(OP_U8, &t, u8, 1), 0);
    uint8_t wantu8[7] = { 255, 0, 0, 2, 0, 255, 0 };
    assert_memory_equal(u8, wantu8, sizeof wantu8);
    double g[7] = { 1e19, -1e19, 9223372036854775807.0, -9223372036854775808.0, NAN, 300.7, -0.9 };
    int64_t i64[7];
    t = tens(OP_F64, 1, d, g);
    assert_int_equal(run_cast(OP_I64, &t, i64, 1), 0);
    int64_t want64[7] = { INT64_MAX, INT64_MIN, INT64_MAX, INT64_MIN, 0, 300, 0 };
    assert_memory_equal(i64, want64, sizeof want64);
    /* integer narrowing wraps; anything to bool is != 0 */
    int64_t w[7] = { 256, 257, -1, (INT64_C(1) << 32) + 5, 128, -129, 0 };
    t = tens(OP_I64, 1, d, w);
    assert_int_equal(run_cast(OP_I32, &t, i32, 1), 0);
    assert_int_equal(i32[3], 5);
    assert_int_equal(run_cast(OP_U8, &t, u8, 1), 0);
    uint8_t wantw[7] = { 0, 1, 255, 5, 128, 127, 0 };
    assert_memory_equal(u8, wantw, sizeof wantw);
    assert_int_equal(run_cast(OP_BOOL, &t, u8, 1), 0);
    uint8_t wantb[7] = { 1, 1, 1, 1, 1, 1, 0 };
    assert_memory_equal(u8, wantb, sizeof wantb);
}

/* ---- dropout, logic on non-canonical bools ------------------------------------------ */

static void test_dropout(void **state)
{
    (void)state;
    float x[6] = { 1, -2, 3, -4, 5, -6 }, y[6] = { 0 };
    int64_t d[2] = { 2, 3 };
    op_tensor in = tens(OP_F32, 2, d, x), out = tens(OP_F32, 2, d, y);
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_DROPOUT, at);
    op_ctx ctx = make_ctx(1);
    assert_int_equal(op_get(OP_DROPOUT)->cpu(&ctx, at, &in, 1, &out, 1), 0);
    assert_memory_equal(x, y, sizeof x);
    out.data = x; /* in place */
    assert_int_equal(op_get(OP_DROPOUT)->cpu(&ctx, at, &in, 1, &out, 1), 0);
    assert_memory_equal(x, y, sizeof x);
    ctx = make_ctx(1);
    ctx.training = 1;
    out.data = y;
    assert_int_equal(op_get(OP_DROPOUT)->cpu(&ctx, at, &in, 1, &out, 1), -1);
    assert_string_equal(ctx.err, "dropout in training mode is not supported yet");
    ctx = make_ctx(1);
    at[0].f = 2.0;
    assert_int_equal(op_get(OP_DROPOUT)->cpu(&ctx, at, &in, 1, &out, 1), -1);
}

static void test_logical_nonzero_bytes(void **state)
{
    (void)state;
    uint8_t a[4] = { 2, 0, 255, 0 }, b[4] = { 1, 7, 0, 0 }, o[4];
    int64_t d[1] = { 4 };
    op_tensor in[2] = { tens(OP_BOOL, 1, d, a), tens(OP_BOOL, 1, d, b) };
    op_tensor out = tens(OP_BOOL, 1, d, o);
    op_ctx ctx = make_ctx(1);
    assert_int_equal(op_get(OP_LOGICAL_AND)->cpu(&ctx, NULL, in, 2, &out, 1), 0);
    uint8_t want_and[4] = { 1, 0, 0, 0 };
    assert_memory_equal(o, want_and, 4);
    assert_int_equal(op_get(OP_LOGICAL_OR)->cpu(&ctx, NULL, in, 2, &out, 1), 0);
    uint8_t want_or[4] = { 1, 1, 1, 0 };
    assert_memory_equal(o, want_or, 4);
    assert_int_equal(op_get(OP_LOGICAL_NOT)->cpu(&ctx, NULL, in, 1, &out, 1), 0);
    uint8_t want_not[4] = { 0, 1, 0, 1 };
    assert_memory_equal(o, want_not, 4);
}

/* ---- the f32 math kernels give the bits of the scalar functions ------------- */

/* The f32 exp/log/tanh/sigmoid/erf/gelu kernels run vectorised (AVX-512 or AVX2
 * clones where the CPU has them, two threads here); every element must be
 * bit for bit what the scalar ew_math.h function gives, tails included. */
static void test_math_matches_scalar(void **state)
{
    (void)state;
    enum { N = 100003 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    assert_non_null(x);
    assert_non_null(y);
    const float special[] = { NAN, INFINITY, -INFINITY, -0.0f, 0.0f, 1e-30f, -1e-30f, 88.72f,
                              -87.5f, -103.9f, 0.625f, -0.625f, 0.75f, -0.75f, 1e-40f, 1.0f,
                              1.41421354f, 1.41421366f, 3e38f };
    int ns = (int)(sizeof special / sizeof special[0]);
    for (int i = 0; i < N; i++)
        x[i] = i < ns ? special[i] : -110.0f + 220.0f * (float)i / (float)N;
    int64_t d[1] = { N };
    struct { op_kind k; int64_t mode; float (*f)(float); const char *name; } ops[] = {
        { OP_EXP, 0, ew_exp_f32, "exp" },          { OP_LOG, 0, ew_log_f32, "log" },
        { OP_TANH, 0, ew_tanh_f32, "tanh" },
        { OP_SIGMOID, 0, ew_sigmoid_f32, "sigmoid" }, { OP_ERF, 0, ew_erf_f32, "erf" },
        { OP_GELU, 0, ew_gelu_erf_f32, "gelu" },   { OP_GELU, 1, ew_gelu_tanh_f32, "gelu tanh" },
    };
    for (size_t j = 0; j < sizeof ops / sizeof ops[0]; j++) {
        op_attr at[OP_MAX_ATTRS];
        op_attrs_default(ops[j].k, at);
        at[0].i = ops[j].mode;
        op_tensor in = tens(OP_F32, 1, d, x), out = tens(OP_F32, 1, d, y);
        op_ctx ctx = make_ctx(2);
        assert_int_equal(op_get(ops[j].k)->cpu(&ctx, at, &in, 1, &out, 1), 0);
        for (int i = 0; i < N; i++) {
            float want = ops[j].f(x[i]);
            if (memcmp(&want, &y[i], sizeof want) != 0) {
                print_error("%s(%.9g): kernel %.9g, scalar %.9g\n", ops[j].name, x[i], y[i], want);
                fail();
            }
        }
    }
    free(x);
    free(y);
}

/* ---- multi-threaded runs on big tensors --------------------------------------------- */

/* Runs kernel k with 1 and with 2 threads; both must succeed and agree
 * bit for bit. Returns the 1-thread output (caller frees). */
static void *run_both(op_kind k, const op_attr *attrs, op_tensor *in, int n_in, op_tensor out)
{
    size_t bytes = (size_t)op_tensor_numel(&out) * op_dtype_size(out.dtype);
    void *o1 = malloc(bytes), *o2 = malloc(bytes);
    assert_non_null(o1);
    assert_non_null(o2);
    memset(o1, 0x11, bytes);
    memset(o2, 0x22, bytes);
    op_ctx ctx = make_ctx(1);
    out.data = o1;
    assert_int_equal(op_get(k)->cpu(&ctx, attrs, in, n_in, &out, 1), 0);
    ctx = make_ctx(2);
    out.data = o2;
    assert_int_equal(op_get(k)->cpu(&ctx, attrs, in, n_in, &out, 1), 0);
    assert_memory_equal(o1, o2, bytes);
    free(o2);
    return o1;
}

static void test_threads_big(void **state)
{
    (void)state;
    /* add f32 [301, 257] + [257]: thread split falls inside a row */
    enum { R = 301, C = 257 };
    float *a = malloc(sizeof(float) * R * C), b[C];
    for (int i = 0; i < R * C; i++)
        a[i] = (float)((i * 7919) % 1000) * 0.01f - 5.0f;
    for (int j = 0; j < C; j++)
        b[j] = (float)j * 0.5f;
    int64_t da[2] = { R, C }, db[1] = { C };
    op_tensor in[3] = { tens(OP_F32, 2, da, a), tens(OP_F32, 1, db, b) };
    float *o = run_both(OP_ADD, NULL, in, 2, tens(OP_F32, 2, da, NULL));
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++)
            assert_true(o[i * C + j] == a[i * C + j] + b[j]);
    free(o);

    /* sigmoid f32 over 100000 elements (flat split) */
    int64_t dn[1] = { (int64_t)R * C };
    in[0] = tens(OP_F32, 1, dn, a);
    o = run_both(OP_SIGMOID, NULL, in, 1, tens(OP_F32, 1, dn, NULL));
    for (int i = 0; i < R * C; i++)
        assert_true(o[i] == ew_sigmoid_f32(a[i]));
    free(o);

    /* outer product f64 [300, 1] * [1, 250] */
    double *x = malloc(sizeof(double) * 300), *y = malloc(sizeof(double) * 250);
    for (int i = 0; i < 300; i++)
        x[i] = i - 150.5;
    for (int j = 0; j < 250; j++)
        y[j] = 0.25 * j + 1;
    int64_t dx[2] = { 300, 1 }, dy[2] = { 1, 250 }, dxy[2] = { 300, 250 };
    in[0] = tens(OP_F64, 2, dx, x);
    in[1] = tens(OP_F64, 2, dy, y);
    double *p = run_both(OP_MUL, NULL, in, 2, tens(OP_F64, 2, dxy, NULL));
    for (int i = 0; i < 300; i++)
        for (int j = 0; j < 250; j++)
            assert_true(p[i * 250 + j] == x[i] * y[j]);
    free(p);

    /* where with three-way broadcast [64, 40, 1] ? [40, 33] : [33] */
    uint8_t *c = malloc(64 * 40);
    for (int i = 0; i < 64 * 40; i++)
        c[i] = (uint8_t)((i * 31) % 3 == 0);
    float *wa = malloc(sizeof(float) * 40 * 33), wb[33];
    for (int i = 0; i < 40 * 33; i++)
        wa[i] = (float)i;
    for (int j = 0; j < 33; j++)
        wb[j] = -1.0f - (float)j;
    int64_t dc[3] = { 64, 40, 1 }, dwa[2] = { 40, 33 }, dwb[1] = { 33 }, dw[3] = { 64, 40, 33 };
    in[0] = tens(OP_BOOL, 3, dc, c);
    in[1] = tens(OP_F32, 2, dwa, wa);
    in[2] = tens(OP_F32, 1, dwb, wb);
    o = run_both(OP_WHERE, NULL, in, 3, tens(OP_F32, 3, dw, NULL));
    for (int i = 0; i < 64; i++)
        for (int r = 0; r < 40; r++)
            for (int j = 0; j < 33; j++)
                assert_true(o[(i * 40 + r) * 33 + j] == (c[i * 40 + r] ? wa[r * 33 + j] : wb[j]));
    free(o);

    /* where(mask, g, 0) (ReLU's gradient) and where(mask, 0, g): a scalar
     * arm, both threads, the mask's pattern irregular */
    uint8_t *m = malloc((size_t)R * C);
    for (int i = 0; i < R * C; i++)
        m[i] = (uint8_t)((i * 2654435761u >> 7) & 1);
    float zero = 0.0f;
    int64_t d0[1] = { 0 };
    in[0] = tens(OP_BOOL, 1, dn, m);
    in[1] = tens(OP_F32, 1, dn, a);
    in[2] = tens(OP_F32, 0, d0, &zero);
    o = run_both(OP_WHERE, NULL, in, 3, tens(OP_F32, 1, dn, NULL));
    for (int i = 0; i < R * C; i++)
        assert_true(o[i] == (m[i] ? a[i] : 0.0f));
    free(o);
    in[1] = tens(OP_F32, 0, d0, &zero);
    in[2] = tens(OP_F32, 1, dn, a);
    o = run_both(OP_WHERE, NULL, in, 3, tens(OP_F32, 1, dn, NULL));
    for (int i = 0; i < R * C; i++)
        assert_true(o[i] == (m[i] ? 0.0f : a[i]));
    free(o);
    free(m);

    /* cast f32 -> i32 */
    in[0] = tens(OP_F32, 1, dn, a);
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_CAST, at);
    at[0].i = OP_I32;
    int32_t *q = run_both(OP_CAST, at, in, 1, tens(OP_I32, 1, dn, NULL));
    for (int i = 0; i < R * C; i++)
        assert_int_equal(q[i], (int32_t)a[i]);
    free(q);

    /* integer division: a zero divisor in the second half is found with 2 threads */
    int32_t *ia = malloc(sizeof(int32_t) * R * C), *ib = malloc(sizeof(int32_t) * R * C);
    int32_t *io = malloc(sizeof(int32_t) * R * C);
    for (int i = 0; i < R * C; i++) {
        ia[i] = i - 1000;
        ib[i] = 1 + i % 13;
    }
    in[0] = tens(OP_I32, 1, dn, ia);
    in[1] = tens(OP_I32, 1, dn, ib);
    q = run_both(OP_DIV, NULL, in, 2, tens(OP_I32, 1, dn, NULL));
    for (int i = 0; i < R * C; i++)
        assert_int_equal(q[i], (i - 1000) / (1 + i % 13));
    free(q);
    ib[R * C - 10] = 0;
    op_tensor out = tens(OP_I32, 1, dn, io);
    op_ctx ctx = make_ctx(2);
    assert_int_equal(op_get(OP_DIV)->cpu(&ctx, NULL, in, 2, &out, 1), -1);
    assert_non_null(strstr(ctx.err, "division by zero"));

    free(ia);
    free(ib);
    free(io);
    free(c);
    free(wa);
    free(x);
    free(y);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_arith),
        cmocka_unit_test(test_ref_compare_logical),
        cmocka_unit_test(test_ref_unary),
        cmocka_unit_test(test_ref_unary_float),
        cmocka_unit_test(test_ref_cast_where),
        cmocka_unit_test(test_ref_covers_family),
        cmocka_unit_test(test_gelu_formulas),
        cmocka_unit_test(test_math_accuracy_sweep),
        cmocka_unit_test(test_int_div_by_zero),
        cmocka_unit_test(test_int_div_overflow),
        cmocka_unit_test(test_int_pow_negative),
        cmocka_unit_test(test_kernel_errors),
        cmocka_unit_test(test_infer_binary),
        cmocka_unit_test(test_infer_unary_cast_where),
        cmocka_unit_test(test_cast_round_trips),
        cmocka_unit_test(test_cast_saturation),
        cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_logical_nonzero_bytes),
        cmocka_unit_test(test_math_matches_scalar),
        cmocka_unit_test(test_threads_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
