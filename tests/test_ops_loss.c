/* tests/test_ops_loss.c -- the loss ops against NumPy references
 * (tests/ref/loss_ref.h, made by tests/gen_loss_ref.py): softmax_cross_entropy
 * and its backward op, binary_cross_entropy_with_logits and mse_loss with
 * every reduction, f32 and f64, i32 and i64 labels, 1 and 2 threads; extreme
 * logits (+-1e4) giving finite values; the same bits on any thread count;
 * inference with a symbolic batch; errors (out-of-range labels, bad shapes,
 * dtypes and attributes, missing workspace) reported, never a crash. */
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
#include "loss.h"
#include "ref/loss_ref.h"
#include "ops_testutil.h"

/* A copy of n floats as dtype dt (malloc'ed). */
static void *floats_as(const float *v, size_t n, op_dtype dt)
{
    void *p = malloc((n ? n : 1) * 8);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        if (dt == OP_F32)
            ((float *)p)[i] = v[i];
        else
            ((double *)p)[i] = v[i];
    }
    return p;
}

/* A copy of n labels as i32 or i64 (malloc'ed). */
static void *labels_as(const int64_t *v, size_t n, op_dtype dt)
{
    void *p = malloc((n ? n : 1) * 8);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        if (dt == OP_I32)
            ((int32_t *)p)[i] = (int32_t)v[i];
        else
            ((int64_t *)p)[i] = v[i];
    }
    return p;
}

static void attrs_red(op_kind k, op_attr *at, int red)
{
    op_attrs_default(k, at);
    at[0].i = red;
}

/* |got - want| <= tol * max(1, |want|) elementwise, every value finite;
 * shapes equal (rank 0 for a reduced loss, whose reference has shape {1}). */
static void check_close(const op_tensor *o, const double *want, const int64_t *shape, int rank, double tol)
{
    int64_t n = 1;
    if (rank == 1 && shape[0] == 1 && o->rank == 0) {
        n = 1;
    } else {
        assert_int_equal(o->rank, rank);
        for (int i = 0; i < rank; i++) {
            assert_int_equal(o->dims[i], shape[i]);
            n *= shape[i];
        }
    }
    for (int64_t i = 0; i < n; i++) {
        double g = elem(o, i);
        if (!isfinite(g) || fabs(g - want[i]) > tol * fmax(1.0, fabs(want[i])))
            fail_msg("element %lld: got %.17g, want %.17g", (long long)i, g, want[i]);
    }
}

#define CHECK(o, name, tol) check_close(&(o), name, name##_shape, RANK(name), tol)

static double tol_of(op_dtype dt) { return dt == OP_F32 ? 3e-7 : 1e-13; }

/* ------------------------------------------------------------ cross entropy */

/* Runs softmax_cross_entropy on (x, y) for every dtype, label type, thread
 * count and reduction, and compares with the three references. */
static void ce_case(const float *x, const int64_t *xs, const int64_t *y, const double *want_none,
                    const int64_t *none_shape, const double *want_mean, const double *want_sum)
{
    static const op_dtype fdt[2] = { OP_F32, OP_F64 }, ldt[2] = { OP_I32, OP_I64 };
    char err[OP_ERR_LEN];
    for (int f = 0; f < 2; f++)
        for (int l = 0; l < 2; l++)
            for (int nt = 1; nt <= 2; nt++)
                for (int red = 0; red <= 2; red++) {
                    op_tensor in[2] = { tensor(fdt[f], 2, xs, floats_as(x, (size_t)(xs[0] * xs[1]), fdt[f])),
                                        tensor(ldt[l], 1, xs, labels_as(y, (size_t)xs[0], ldt[l])) };
                    op_attr at[OP_MAX_ATTRS];
                    attrs_red(OP_SOFTMAX_CROSS_ENTROPY, at, red);
                    op_tensor o;
                    int rc = run_op(OP_SOFTMAX_CROSS_ENTROPY, at, in, 2, nt, &o, err, sizeof err);
                    if (rc)
                        fail_msg("%s", err);
                    assert_int_equal(o.dtype, fdt[f]);
                    static const int64_t one[1] = { 1 };
                    if (red == OP_LOSS_NONE)
                        check_close(&o, want_none, none_shape, 1, tol_of(fdt[f]));
                    else
                        check_close(&o, red == OP_LOSS_MEAN ? want_mean : want_sum, one, 1, tol_of(fdt[f]));
                    free(o.data);
                    free(in[0].data);
                    free(in[1].data);
                }
}

static void test_ce_ref(void **state)
{
    (void)state;
    ce_case(ce_x, ce_x_shape, ce_y, ce_none, ce_none_shape, ce_mean, ce_sum);
    assert_int_equal(RANK(ce_y), 1);
    assert_int_equal(NEL(ce_y), 5);
}

/* +-1e4 logits: finite losses (20000 when the label's logit is 2e4 below
 * the max), ties, all-equal rows. */
static void test_ce_extreme(void **state)
{
    (void)state;
    ce_case(ceb_x, ceb_x_shape, ceb_y, ceb_none, ceb_none_shape, ceb_mean, ceb_sum);
    assert_int_equal(NEL(ceb_y), 5);
    assert_int_equal(RANK(ceb_y), 1);
}

/* the backward op: gy per row ("none"), 1 ("mean"), 2.5 ("sum") */
static void test_ce_grad_ref(void **state)
{
    (void)state;
    char err[OP_ERR_LEN];
    static const op_dtype fdt[2] = { OP_F32, OP_F64 };
    for (int f = 0; f < 2; f++)
        for (int nt = 1; nt <= 2; nt++)
            for (int red = 0; red <= 2; red++) {
                op_dtype dt = fdt[f];
                op_tensor in[3] = { tensor(dt, 2, ce_x_shape, floats_as(ce_x, NEL(ce_x), dt)),
                                    tensor(OP_I64, 1, ce_y_shape, labels_as(ce_y, NEL(ce_y), OP_I64)), { 0 } };
                float g1 = red == OP_LOSS_MEAN ? 1.0f : 2.5f;
                in[2] = red == OP_LOSS_NONE ? tensor(dt, 1, ce_gy_shape, floats_as(ce_gy, NEL(ce_gy), dt))
                                            : tensor(dt, 0, NULL, floats_as(&g1, 1, dt));
                op_attr at[OP_MAX_ATTRS];
                attrs_red(OP_SOFTMAX_CROSS_ENTROPY_GRAD, at, red);
                op_tensor o;
                if (run_op(OP_SOFTMAX_CROSS_ENTROPY_GRAD, at, in, 3, nt, &o, err, sizeof err))
                    fail_msg("%s", err);
                if (red == OP_LOSS_NONE)
                    CHECK(o, ce_grad_none, tol_of(dt));
                else if (red == OP_LOSS_MEAN)
                    CHECK(o, ce_grad_mean, tol_of(dt));
                else
                    CHECK(o, ce_grad_sum, tol_of(dt));
                free(o.data);
                for (int i = 0; i < 3; i++)
                    free(in[i].data);
            }
    /* extreme logits: a finite gradient */
    op_tensor in[3] = { tensor(OP_F32, 2, ceb_x_shape, (void *)ceb_x),
                        tensor(OP_I64, 1, ceb_y_shape, (void *)ceb_y), { 0 } };
    float one = 1.0f;
    in[2] = tensor(OP_F32, 0, NULL, &one);
    op_attr at[OP_MAX_ATTRS];
    attrs_red(OP_SOFTMAX_CROSS_ENTROPY_GRAD, at, OP_LOSS_SUM);
    op_tensor o;
    if (run_op(OP_SOFTMAX_CROSS_ENTROPY_GRAD, at, in, 3, 1, &o, err, sizeof err))
        fail_msg("%s", err);
    CHECK(o, ceb_grad_sum, 3e-7);
    free(o.data);
}

/* ------------------------------------------------------------ bce, mse */

static void pair_case(op_kind k, const float *a, const float *b, const int64_t *shape, int rank, size_t n,
                      const double *want_none, const double *want_mean, const double *want_sum)
{
    static const op_dtype fdt[2] = { OP_F32, OP_F64 };
    static const int64_t one[1] = { 1 };
    char err[OP_ERR_LEN];
    for (int f = 0; f < 2; f++)
        for (int nt = 1; nt <= 2; nt++)
            for (int red = 0; red <= 2; red++) {
                op_tensor in[2] = { tensor(fdt[f], rank, shape, floats_as(a, n, fdt[f])),
                                    tensor(fdt[f], rank, shape, floats_as(b, n, fdt[f])) };
                op_attr at[OP_MAX_ATTRS];
                attrs_red(k, at, red);
                op_tensor o;
                if (run_op(k, at, in, 2, nt, &o, err, sizeof err))
                    fail_msg("%s", err);
                if (red == OP_LOSS_NONE)
                    check_close(&o, want_none, shape, rank, tol_of(fdt[f]));
                else
                    check_close(&o, red == OP_LOSS_MEAN ? want_mean : want_sum, one, 1, tol_of(fdt[f]));
                free(o.data);
                free(in[0].data);
                free(in[1].data);
            }
}

#define PAIR(k, a, b, w) \
    pair_case(k, a, b, a##_shape, RANK(a), NEL(a), w##_none, w##_mean, w##_sum)

static void test_bce_ref(void **state)
{
    (void)state;
    assert_int_equal(RANK(bce_none), 2);
    PAIR(OP_BCE_WITH_LOGITS, bce_x, bce_t, bce);
    assert_int_equal(NEL(bce_t), NEL(bce_x));
    assert_int_equal(RANK(bce_t) + RANK(bce_mean) + RANK(bce_sum), 4);
}

/* +-1e4, +-50, 88.5 (exp overflows f32 there): finite, exact */
static void test_bce_extreme(void **state)
{
    (void)state;
    PAIR(OP_BCE_WITH_LOGITS, bceb_x, bceb_t, bceb);
    assert_int_equal(RANK(bceb_t) + RANK(bceb_none) + RANK(bceb_mean) + RANK(bceb_sum), 4);
}

static void test_mse_ref(void **state)
{
    (void)state;
    PAIR(OP_MSE_LOSS, mse_a, mse_b, mse);
    assert_int_equal(RANK(mse_b) + RANK(mse_none) + RANK(mse_mean) + RANK(mse_sum), 6);
}

/* ------------------------------------------------------------ determinism */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Big enough to go parallel: the reduced losses have the same bits on 1, 3
 * and 8 threads. */
static void test_same_bits_any_threads(void **state)
{
    (void)state;
    enum { N = 4099, C = 17, E = 70001 };
    float *x = malloc(sizeof(float) * N * C), *a = malloc(sizeof(float) * E), *b = malloc(sizeof(float) * E);
    int32_t *y = malloc(sizeof(int32_t) * N);
    assert_true(x && a && b && y);
    for (int i = 0; i < N * C; i++)
        x[i] = (float)(urand() * 20 - 10);
    for (int i = 0; i < N; i++)
        y[i] = (int32_t)(urand() * C);
    for (int i = 0; i < E; i++) {
        a[i] = (float)(urand() * 8 - 4);
        b[i] = (float)urand();
    }
    int64_t xs[2] = { N, C }, es[1] = { E };
    op_tensor ce_in[2] = { tensor(OP_F32, 2, xs, x), tensor(OP_I32, 1, xs, y) };
    op_tensor p_in[2] = { tensor(OP_F32, 1, es, a), tensor(OP_F32, 1, es, b) };
    static const op_kind ks[3] = { OP_SOFTMAX_CROSS_ENTROPY, OP_BCE_WITH_LOGITS, OP_MSE_LOSS };
    char err[OP_ERR_LEN];
    for (int ki = 0; ki < 3; ki++)
        for (int red = OP_LOSS_MEAN; red <= OP_LOSS_SUM; red++) {
            float first = 0;
            for (int t = 0; t < 3; t++) {
                static const int nts[3] = { 1, 3, 8 };
                op_attr at[OP_MAX_ATTRS];
                attrs_red(ks[ki], at, red);
                op_tensor o;
                if (run_op(ks[ki], at, ki ? p_in : ce_in, 2, nts[t], &o, err, sizeof err))
                    fail_msg("%s", err);
                float v = *(float *)o.data;
                free(o.data);
                assert_true(isfinite(v));
                if (t == 0)
                    first = v;
                else
                    assert_memory_equal(&v, &first, sizeof v);
            }
        }
    free(x);
    free(a);
    free(b);
    free(y);
}

/* ------------------------------------------------------------ inference */

static void test_infer_symbolic(void **state)
{
    (void)state;
    op_dim nc[2] = { { 1, 0 }, { 10, -1 } }, n1[1] = { { 1, 0 } };
    op_type in[3] = { ty(OP_F32, 2, nc), ty(OP_I32, 1, n1) }, out;
    op_attr at[OP_MAX_ATTRS];
    char err[OP_ERR_LEN], s[128];
    attrs_red(OP_SOFTMAX_CROSS_ENTROPY, at, OP_LOSS_NONE);
    assert_int_equal(op_table[OP_SOFTMAX_CROSS_ENTROPY].infer(at, in, 2, &out, 1, err, sizeof err), 0);
    op_type_str(&out, NULL, s, sizeof s);
    assert_string_equal(s, "f32[s0]");
    at[0].i = OP_LOSS_MEAN;
    assert_int_equal(op_table[OP_SOFTMAX_CROSS_ENTROPY].infer(at, in, 2, &out, 1, err, sizeof err), 0);
    assert_int_equal(out.rank, 0);
    assert_int_equal(out.dtype, OP_F32);
    in[2] = out; /* gy of the mean: a scalar */
    assert_int_equal(op_table[OP_SOFTMAX_CROSS_ENTROPY_GRAD].infer(at, in, 3, &out, 1, err, sizeof err), 0);
    assert_true(op_type_eq(&out, &in[0]));
    in[1] = in[0];
    attrs_red(OP_BCE_WITH_LOGITS, at, OP_LOSS_NONE);
    assert_int_equal(op_table[OP_BCE_WITH_LOGITS].infer(at, in, 2, &out, 1, err, sizeof err), 0);
    assert_true(op_type_eq(&out, &in[0]));
    at[0].i = OP_LOSS_SUM;
    assert_int_equal(op_table[OP_MSE_LOSS].infer(at, in, 2, &out, 1, err, sizeof err), 0);
    assert_int_equal(out.rank, 0);
    /* names the user writes */
    assert_string_equal(op_table[OP_MSE_LOSS].attrs[0].enum_names[OP_LOSS_SUM], "sum");
    assert_int_equal(op_table[OP_BCE_WITH_LOGITS].attrs[0].def.i, OP_LOSS_MEAN);
}

static void expect_infer_err(op_kind k, int red, const op_type *in, int n_in, const char *want)
{
    op_attr at[OP_MAX_ATTRS];
    attrs_red(k, at, red);
    op_type out;
    char err[OP_ERR_LEN] = "";
    assert_int_equal(op_table[k].infer(at, in, n_in, &out, 1, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("got \"%s\", want \"%s\"", err, want);
}

static void test_infer_errors(void **state)
{
    (void)state;
    op_dim d43[2] = { { 4, -1 }, { 3, -1 } }, d3[1] = { { 3, -1 } }, d4[1] = { { 4, -1 } };
    op_dim d433[3] = { { 4, -1 }, { 3, -1 }, { 3, -1 } }, neg[2] = { { -4, -1 }, { 3, -1 } };
    op_type x = ty(OP_F32, 2, d43), lab = ty(OP_I64, 1, d4);
    op_type in[3] = { x, lab };
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY, 3, in, 2, "reduction must be 0 (\"none\"), 1 (\"mean\") or 2");
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY, -1, in, 2, "got -1");
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY, 1, in, 1, "expects 2 inputs and 1 output, got 1 and 1");
    in[1] = ty(OP_I64, 1, d3);
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY, 1, in, 2, "logits f32[4, 3] and labels i64[3] differ in N");
    in[1] = ty(OP_F32, 1, d4);
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY, 1, in, 2, "labels must be i32 or i64 [N] (class indices), got f32[4]");
    in[1] = lab;
    in[0] = ty(OP_F32, 3, d433);
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY, 1, in, 2, "logits must be f32 or f64 [N, C], got f32[4, 3, 3]");
    in[0] = ty(OP_I32, 2, d43);
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY, 1, in, 2, "logits must be f32 or f64");
    in[0] = ty(OP_F32, 2, neg);
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY, 1, in, 2, "negative dim");
    in[0] = x;
    in[1].dtype = (op_dtype)99;
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY, 1, in, 2, "input 1 has an invalid dtype or rank");
    /* the backward op: gy must have the loss's type */
    in[1] = lab;
    in[2] = ty(OP_F32, 1, d4);
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY_GRAD, OP_LOSS_MEAN, in, 3, "gy is f32[4] but the loss is f32[]");
    in[2] = ty(OP_F64, 1, d4);
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY_GRAD, OP_LOSS_NONE, in, 3, "gy is f64[4] but the loss is f32[4]");
    in[1] = ty(OP_I64, 1, d3);
    expect_infer_err(OP_SOFTMAX_CROSS_ENTROPY_GRAD, OP_LOSS_NONE, in, 3, "softmax_cross_entropy_grad: "
                                                                        "softmax_cross_entropy: logits");
    /* bce / mse: one dtype, one shape */
    in[0] = x;
    in[1] = ty(OP_F32, 2, d43);
    in[1].dims[0].coef = 2;
    expect_infer_err(OP_BCE_WITH_LOGITS, 1, in, 2,
                     "binary_cross_entropy_with_logits: logits f32[4, 3] and targets f32[2, 3] must have the same shape");
    in[1] = ty(OP_F32, 1, d3);
    expect_infer_err(OP_MSE_LOSS, 1, in, 2, "mse_loss: a f32[4, 3] and b f32[3] must have the same shape (no broadcasting)");
    in[1] = ty(OP_F64, 2, d43);
    expect_infer_err(OP_MSE_LOSS, 0, in, 2, "must be one float dtype");
    in[0] = ty(OP_I32, 2, d43);
    in[1] = in[0];
    expect_infer_err(OP_BCE_WITH_LOGITS, 0, in, 2, "must be one float dtype");
    expect_infer_err(OP_MSE_LOSS, 7, in, 2, "reduction must be");
}

/* ------------------------------------------------------------ kernel errors */

static void test_label_out_of_range(void **state)
{
    (void)state;
    float x[6] = { 1, 2, 3, 4, 5, 6 }, g = 1;
    int64_t xs[2] = { 2, 3 };
    int32_t bad32[2] = { 0, 3 };
    int64_t bad64[2] = { -1, 1 }, big[2] = { 1, (int64_t)1 << 40 };
    char err[OP_ERR_LEN];
    op_tensor o;
    for (int red = 0; red <= 2; red++) {
        op_attr at[OP_MAX_ATTRS];
        attrs_red(OP_SOFTMAX_CROSS_ENTROPY, at, red);
        op_tensor in[3] = { tensor(OP_F32, 2, xs, x), tensor(OP_I32, 1, xs, bad32) };
        assert_int_equal(run_op(OP_SOFTMAX_CROSS_ENTROPY, at, in, 2, 1, &o, err, sizeof err), -1);
        assert_string_equal(err, "softmax_cross_entropy: label 3 (row 1) is out of range for 3 classes");
        free(o.data);
        in[1] = tensor(OP_I64, 1, xs, bad64);
        assert_int_equal(run_op(OP_SOFTMAX_CROSS_ENTROPY, at, in, 2, 2, &o, err, sizeof err), -1);
        assert_string_equal(err, "softmax_cross_entropy: label -1 (row 0) is out of range for 3 classes");
        free(o.data);
        in[1] = tensor(OP_I64, 1, xs, big);
        in[2] = red == OP_LOSS_NONE ? tensor(OP_F32, 1, xs, x) : tensor(OP_F32, 0, NULL, &g);
        assert_int_equal(run_op(OP_SOFTMAX_CROSS_ENTROPY_GRAD, at, in, 3, 1, &o, err, sizeof err), -1);
        assert_string_equal(err, "softmax_cross_entropy_grad: label 1099511627776 (row 1) is out of range for 3 classes");
        free(o.data);
    }
    /* no classes: every label is out of range */
    int64_t x0s[2] = { 2, 0 };
    int32_t ok[2] = { 0, 0 };
    op_attr at[OP_MAX_ATTRS];
    attrs_red(OP_SOFTMAX_CROSS_ENTROPY, at, OP_LOSS_MEAN);
    op_tensor in[2] = { tensor(OP_F32, 2, x0s, x), tensor(OP_I32, 1, x0s, ok) };
    assert_int_equal(run_op(OP_SOFTMAX_CROSS_ENTROPY, at, in, 2, 1, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "label 0 (row 0) is out of range for 0 classes"));
    free(o.data);
}

/* A caller giving the wrong output shape or no workspace gets an error. */
static void test_kernel_checks(void **state)
{
    (void)state;
    float x[6] = { 1, 2, 3, 4, 5, 6 }, out[6];
    int64_t xs[2] = { 2, 3 }, ys[1] = { 2 };
    int64_t y[2] = { 0, 2 };
    op_tensor in[2] = { tensor(OP_F32, 2, xs, x), tensor(OP_I64, 1, ys, y) };
    op_tensor o = tensor(OP_F32, 1, ys, out); /* mean wants a scalar */
    op_attr at[OP_MAX_ATTRS];
    attrs_red(OP_SOFTMAX_CROSS_ENTROPY, at, OP_LOSS_MEAN);
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    assert_int_equal(op_cpu_softmax_cross_entropy(&ctx, at, in, 2, &o, 1), -1);
    assert_string_equal(ctx.err, "softmax_cross_entropy: output is f32[2], expected f32[]");
    o = tensor(OP_F32, 0, NULL, out);
    memset(&ctx, 0, sizeof ctx);
    assert_int_equal(op_cpu_softmax_cross_entropy(&ctx, at, in, 2, &o, 1), -1);
    assert_string_equal(ctx.err, "softmax_cross_entropy: needs 16 bytes of workspace, got 0");
    in[1] = tensor(OP_F32, 2, xs, out);
    memset(&ctx, 0, sizeof ctx);
    assert_int_equal(op_cpu_mse_loss(&ctx, at, in, 2, &o, 1), -1);
    assert_string_equal(ctx.err, "mse_loss: needs 8 bytes of workspace, got 0");
    memset(&ctx, 0, sizeof ctx);
    assert_int_equal(op_cpu_bce_with_logits(&ctx, at, in, 1, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "expects 2 inputs"));
    in[1].data = NULL;
    memset(&ctx, 0, sizeof ctx);
    assert_int_equal(op_cpu_bce_with_logits(&ctx, at, in, 2, &o, 1), -1);
    assert_string_equal(ctx.err, "binary_cross_entropy_with_logits: tensor 1 has no data");
}

/* N = 0: "none" gives an empty tensor, "sum" 0, "mean" NaN (as PyTorch) */
static void test_empty(void **state)
{
    (void)state;
    int64_t xs[2] = { 0, 4 };
    float dummy = 0;
    static const op_kind ks[3] = { OP_SOFTMAX_CROSS_ENTROPY, OP_BCE_WITH_LOGITS, OP_MSE_LOSS };
    char err[OP_ERR_LEN];
    for (int ki = 0; ki < 3; ki++)
        for (int red = 0; red <= 2; red++) {
            op_tensor in[2] = { tensor(OP_F64, 2, xs, &dummy), ki ? tensor(OP_F64, 2, xs, &dummy)
                                                                  : tensor(OP_I32, 1, xs, &dummy) };
            op_attr at[OP_MAX_ATTRS];
            attrs_red(ks[ki], at, red);
            op_tensor o;
            if (run_op(ks[ki], at, in, 2, 2, &o, err, sizeof err))
                fail_msg("%s", err);
            if (red == OP_LOSS_NONE)
                assert_int_equal(op_tensor_numel(&o), 0);
            else if (red == OP_LOSS_SUM)
                assert_true(*(double *)o.data == 0.0);
            else
                assert_true(isnan(*(double *)o.data));
            free(o.data);
        }
}

/* NaN in a row makes that row's loss NaN and no other. */
static void test_nan_row(void **state)
{
    (void)state;
    float x[6] = { 1, NAN, 3, 4, 5, 6 };
    int64_t xs[2] = { 2, 3 }, y[2] = { 0, 1 };
    op_tensor in[2] = { tensor(OP_F32, 2, xs, x), tensor(OP_I64, 1, xs, y) };
    op_attr at[OP_MAX_ATTRS];
    attrs_red(OP_SOFTMAX_CROSS_ENTROPY, at, OP_LOSS_NONE);
    op_tensor o;
    char err[OP_ERR_LEN];
    assert_int_equal(run_op(OP_SOFTMAX_CROSS_ENTROPY, at, in, 2, 1, &o, err, sizeof err), 0);
    assert_true(isnan(elem(&o, 0)));
    assert_true(fabs(elem(&o, 1) - (log(exp(-2.0) + exp(-1.0) + 1.0) + 1.0)) < 1e-6);
    free(o.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ce_ref),
        cmocka_unit_test(test_ce_extreme),
        cmocka_unit_test(test_ce_grad_ref),
        cmocka_unit_test(test_bce_ref),
        cmocka_unit_test(test_bce_extreme),
        cmocka_unit_test(test_mse_ref),
        cmocka_unit_test(test_same_bits_any_threads),
        cmocka_unit_test(test_infer_symbolic),
        cmocka_unit_test(test_infer_errors),
        cmocka_unit_test(test_label_out_of_range),
        cmocka_unit_test(test_kernel_checks),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_nan_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
