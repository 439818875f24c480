/* tests/test_ops_fused_gemm.c -- the fused epilogues of matmul (bias input,
 * activation attribute) and conv2d (activation attribute): every activation
 * against the unfused kernels run one after the other (bit for bit: the
 * epilogue uses the same arithmetic), on the 2-D, folded-batch,
 * batch-parallel and large (threaded epilogue) matmul paths and the im2col, pointwise,
 * grouped and depthwise conv paths, on 1 and 2 threads; plus inference
 * errors for bad biases and activation codes. */
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
#include "epilogue.h"
#include "ops_testutil.h"

/* A fresh tensor of pseudo-random values in [-1, 1) (caller frees data). */
static op_tensor rnd(op_dtype dt, int rank, const int64_t *dims, uint32_t seed)
{
    op_tensor t = tensor(dt, rank, dims, NULL);
    int64_t n = op_tensor_numel(&t);
    t.data = malloc((size_t)(n ? n : 1) * op_dtype_size(dt));
    assert_non_null(t.data);
    uint32_t s = seed * 2654435761u + 12345u;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        double v = (double)(s >> 8) / (double)(1u << 24) * 2.0 - 1.0;
        if (dt == OP_F32)
            ((float *)t.data)[i] = (float)v;
        else
            ((double *)t.data)[i] = v;
    }
    return t;
}

static void run_ok(op_kind k, const op_attr *at, const op_tensor *in, int n_in, int nt, op_tensor *o)
{
    char err[OP_ERR_LEN];
    int rc = run_op(k, at, in, n_in, nt, o, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", op_get(k)->name, err);
}

/* Applies activation code act to t with the unfused kernel (in place). */
static void unfused_act(op_tensor *t, int act, int nt)
{
    static const op_kind kinds[] = { 0, OP_RELU, OP_GELU, OP_GELU, OP_SIGMOID, OP_TANH };
    if (act == OP_ACT_NONE)
        return;
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(kinds[act], at);
    if (kinds[act] == OP_GELU)
        at[0].i = act == OP_ACT_GELU_TANH;
    op_tensor o;
    run_ok(kinds[act], at, t, 1, nt, &o);
    free(t->data);
    t->data = o.data;
}

static void unfused_add(op_tensor *t, const op_tensor *b, int nt)
{
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_ADD, at);
    op_tensor in[2] = { *t, *b }, o;
    run_ok(OP_ADD, at, in, 2, nt, &o);
    free(t->data);
    t->data = o.data;
}

/* Same shape and dtype, and every element equal (tol 0: the same bits; else
 * |a - b| <= tol * (1 + |b|)). */
static void check_same(const op_tensor *a, const op_tensor *b, double tol, const char *what)
{
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->rank, b->rank);
    for (int i = 0; i < a->rank; i++)
        assert_int_equal(a->dims[i], b->dims[i]);
    int64_t n = op_tensor_numel(a);
    if (tol == 0.0) {
        if (memcmp(a->data, b->data, (size_t)n * op_dtype_size(a->dtype)) != 0) {
            for (int64_t i = 0; i < n; i++)
                if (elem(a, i) != elem(b, i))
                    fail_msg("%s: element %lld: fused %.9g, unfused %.9g", what, (long long)i, elem(a, i),
                             elem(b, i));
            fail_msg("%s: bits differ", what);
        }
        return;
    }
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(elem(a, i) - elem(b, i)) <= tol * (1.0 + fabs(elem(b, i)))))
            fail_msg("%s: element %lld: fused %.9g, unfused %.9g", what, (long long)i, elem(a, i), elem(b, i));
}

typedef struct mm_case {
    int ra, rb;
    int64_t da[3], db[3];
    int tb;
    double tol; /* 0: bitwise */
} mm_case;

/* matmul(a, b, bias, activation=act) against matmul -> add -> act. */
static void mm_compare(const mm_case *c, op_dtype dt, int act, int nt, int with_bias)
{
    op_tensor a = rnd(dt, c->ra, c->da, 1), b = rnd(dt, c->rb, c->db, 2);
    int64_t N = c->tb ? c->db[c->rb - 2] : c->db[c->rb - 1];
    op_tensor bias = rnd(dt, 1, &N, 3);
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_MATMUL, at);
    at[1].i = c->tb;
    op_tensor in[3] = { a, b, bias }, ref, got;
    run_ok(OP_MATMUL, at, in, 2, nt, &ref);
    if (with_bias)
        unfused_add(&ref, &bias, nt);
    unfused_act(&ref, act, nt);
    at[2].i = act;
    run_ok(OP_MATMUL, at, in, with_bias ? 3 : 2, nt, &got);
    char what[128];
    snprintf(what, sizeof what, "matmul %s act %s bias %d threads %d rank %d", op_dtype_name(dt), op_act_names[act],
             with_bias, nt, c->ra);
    check_same(&got, &ref, c->tol, what);
    free(a.data);
    free(b.data);
    free(bias.data);
    free(ref.data);
    free(got.data);
}

static void test_matmul_epilogue_vs_unfused(void **state)
{
    (void)state;
    static const mm_case cases[] = {
        { 2, 2, { 37, 53 }, { 29, 53 }, 1, 0.0 },         /* Linear: x @ W^T */
        { 2, 2, { 64, 100 }, { 100, 48 }, 0, 0.0 },       /* two blocks per thread */
        { 3, 2, { 3, 17, 24 }, { 24, 40 }, 0, 0.0 },      /* batch folded into M */
        { 3, 3, { 4, 9, 16 }, { 4, 16, 12 }, 0, 0.0 },    /* batch of small products */
        { 2, 2, { 700, 300 }, { 600, 300 }, 1, 0.0 },     /* > 1 MiB, threaded epilogue */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int act = 0; act < OP_ACT_COUNT; act++)
            for (int nt = 1; nt <= 2; nt++)
                for (int wb = 0; wb <= 1; wb++) {
                    mm_compare(&cases[i], OP_F32, act, nt, wb);
                    if (i < 4)
                        mm_compare(&cases[i], OP_F64, act, nt, wb);
                }
}

/* Fused results against a naive double reference: catches an epilogue that
 * is skipped, applied twice or with the bias on the wrong axis. */
static void test_matmul_epilogue_values(void **state)
{
    (void)state;
    int64_t da[2] = { 5, 7 }, db[2] = { 6, 7 }, dn = 6;
    op_tensor a = rnd(OP_F32, 2, da, 11), b = rnd(OP_F32, 2, db, 12), bias = rnd(OP_F32, 1, &dn, 13);
    for (int act = 0; act < OP_ACT_COUNT; act++) {
        op_attr at[OP_MAX_ATTRS];
        op_attrs_default(OP_MATMUL, at);
        at[1].i = 1;
        at[2].i = act;
        op_tensor in[3] = { a, b, bias }, o;
        run_ok(OP_MATMUL, at, in, 3, 1, &o);
        for (int64_t i = 0; i < 5; i++)
            for (int64_t j = 0; j < 6; j++) {
                double s = 0;
                for (int64_t k = 0; k < 7; k++)
                    s += elem(&a, i * 7 + k) * elem(&b, j * 7 + k);
                s += elem(&bias, j);
                double want = act == OP_ACT_RELU ? (s > 0 ? s : 0)
                              : act == OP_ACT_GELU ? 0.5 * s * (1 + erf(s / sqrt(2.0)))
                              : act == OP_ACT_GELU_TANH
                                  ? 0.5 * s * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (s + 0.044715 * s * s * s)))
                              : act == OP_ACT_SIGMOID ? 1 / (1 + exp(-s))
                              : act == OP_ACT_TANH    ? tanh(s)
                                                      : s;
                double g = elem(&o, i * 6 + j);
                if (fabs(g - want) > 1e-5 * (1 + fabs(want)))
                    fail_msg("act %s [%lld, %lld]: got %.9g want %.9g", op_act_names[act], (long long)i,
                             (long long)j, g, want);
            }
        free(o.data);
    }
    free(a.data);
    free(b.data);
    free(bias.data);
}

/* K == 0: the product is zeros, the epilogue still applies. */
static void test_matmul_epilogue_k0(void **state)
{
    (void)state;
    int64_t da[2] = { 3, 0 }, db[2] = { 0, 4 }, dn = 4;
    float bias_v[4] = { -1.0f, 0.5f, 2.0f, -0.25f };
    op_tensor in[3] = { tensor(OP_F32, 2, da, bias_v), tensor(OP_F32, 2, db, bias_v), tensor(OP_F32, 1, &dn, bias_v) };
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_MATMUL, at);
    at[2].i = OP_ACT_RELU;
    op_tensor o;
    run_ok(OP_MATMUL, at, in, 3, 2, &o);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            assert_true(((float *)o.data)[i * 4 + j] == (bias_v[j] > 0 ? bias_v[j] : 0.0f));
    free(o.data);
}

typedef struct cv_case {
    int64_t x[4], w[4];
    int64_t stride, pad, groups;
} cv_case;

/* conv2d(x, w, b?, activation=act) against conv2d(x, w) -> add b[O,1,1] -> act. */
static void cv_compare(const cv_case *c, int act, int nt, int with_bias)
{
    op_tensor x = rnd(OP_F32, 4, c->x, 21), w = rnd(OP_F32, 4, c->w, 22);
    op_tensor b = rnd(OP_F32, 1, c->w, 23);
    int64_t bd3[3] = { c->w[0], 1, 1 };
    op_tensor b3 = tensor(OP_F32, 3, bd3, b.data);
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_CONV2D, at);
    at[0].ints[0] = at[0].ints[1] = c->stride;
    at[1].ints[0] = at[1].ints[1] = c->pad;
    at[3].i = c->groups;
    op_tensor in[3] = { x, w, b }, ref, got;
    run_ok(OP_CONV2D, at, in, 2, nt, &ref);
    if (with_bias)
        unfused_add(&ref, &b3, nt);
    unfused_act(&ref, act, nt);
    at[4].i = act;
    run_ok(OP_CONV2D, at, in, with_bias ? 3 : 2, nt, &got);
    char what[160];
    snprintf(what, sizeof what, "conv2d x[%lld,%lld,%lld,%lld] groups %lld act %s bias %d threads %d",
             (long long)c->x[0], (long long)c->x[1], (long long)c->x[2], (long long)c->x[3], (long long)c->groups,
             op_act_names[act], with_bias, nt);
    check_same(&got, &ref, 0.0, what);
    free(x.data);
    free(w.data);
    free(b.data);
    free(ref.data);
    free(got.data);
}

static void test_conv_epilogue_vs_unfused(void **state)
{
    (void)state;
    static const cv_case cases[] = {
        { { 3, 4, 11, 9 }, { 6, 4, 3, 3 }, 1, 1, 1 },    /* im2col */
        { { 2, 8, 7, 7 }, { 5, 8, 1, 1 }, 1, 0, 1 },     /* pointwise: sgemm on x */
        { { 2, 6, 9, 9 }, { 4, 3, 3, 3 }, 2, 1, 2 },     /* grouped, strided */
        { { 3, 5, 10, 8 }, { 5, 1, 3, 3 }, 1, 1, 5 },    /* depthwise: direct loops */
        { { 1, 16, 40, 40 }, { 32, 16, 3, 3 }, 1, 1, 1 }, /* one image on all threads */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int act = 0; act < OP_ACT_COUNT; act++)
            for (int nt = 1; nt <= 2; nt++)
                for (int wb = 0; wb <= 1; wb++)
                    cv_compare(&cases[i], act, nt, wb);
}

static int infer_err(op_kind k, const op_attr *at, const op_type *in, int n_in, char *err)
{
    op_type o;
    return op_get(k)->infer(at, in, n_in, &o, 1, err, OP_ERR_LEN);
}

static void test_infer_errors(void **state)
{
    (void)state;
    char err[OP_ERR_LEN];
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_MATMUL, at);
    at[1].i = 1;
    op_type in[3] = {
        { OP_F32, 2, { { 1, 0 }, { 8, -1 } } },  /* [N, 8] */
        { OP_F32, 2, { { 5, -1 }, { 8, -1 } } }, /* [5, 8] */
        { OP_F32, 1, { { 5, -1 } } },
    };
    op_type o;
    assert_int_equal(op_get(OP_MATMUL)->infer(at, in, 3, &o, 1, err, sizeof err), 0);
    assert_int_equal(o.rank, 2);
    assert_int_equal(o.dims[1].coef, 5);
    in[2].dims[0].coef = 6;
    assert_int_equal(infer_err(OP_MATMUL, at, in, 3, err), -1);
    assert_non_null(strstr(err, "bias must be f32[5]"));
    assert_non_null(strstr(err, "f32[6]"));
    in[2].dims[0].coef = 5;
    in[2].dtype = OP_F64;
    assert_int_equal(infer_err(OP_MATMUL, at, in, 3, err), -1);
    assert_non_null(strstr(err, "bias"));
    in[2].dtype = OP_F32;
    in[2].rank = 2;
    in[2].dims[1] = op_dim_const(5);
    in[2].dims[0] = op_dim_const(1);
    assert_int_equal(infer_err(OP_MATMUL, at, in, 3, err), -1);
    in[2].rank = 1;
    in[2].dims[0] = op_dim_const(5);
    for (int64_t bad = -1; bad <= OP_ACT_COUNT; bad += OP_ACT_COUNT + 1) {
        at[2].i = bad;
        assert_int_equal(infer_err(OP_MATMUL, at, in, 3, err), -1);
        assert_non_null(strstr(err, "activation"));
    }
    at[2].i = OP_ACT_TANH;
    assert_int_equal(infer_err(OP_MATMUL, at, in, 2, err), 0);

    op_attrs_default(OP_CONV2D, at);
    op_type cin[2] = { { OP_F32, 4, { { 1, 0 }, { 3, -1 }, { 8, -1 }, { 8, -1 } } },
                       { OP_F32, 4, { { 4, -1 }, { 3, -1 }, { 3, -1 }, { 3, -1 } } } };
    assert_int_equal(infer_err(OP_CONV2D, at, cin, 2, err), 0);
    at[4].i = 9;
    assert_int_equal(infer_err(OP_CONV2D, at, cin, 2, err), -1);
    assert_non_null(strstr(err, "conv2d: activation"));
    /* the names the language accepts */
    int ai = op_attr_index(OP_CONV2D, "activation");
    assert_int_equal(ai, 4);
    assert_int_equal(op_attr_index(OP_MATMUL, "activation"), 2);
    assert_string_equal(op_get(OP_MATMUL)->attrs[2].enum_names[OP_ACT_GELU_TANH], "gelu_tanh");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_epilogue_vs_unfused),
        cmocka_unit_test(test_matmul_epilogue_values),
        cmocka_unit_test(test_matmul_epilogue_k0),
        cmocka_unit_test(test_conv_epilogue_vs_unfused),
        cmocka_unit_test(test_infer_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
