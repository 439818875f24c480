/* tests/test_gc_loss.c -- the losses in the language, end to end: one graph
 * with a symbolic batch (cross_entropy + binary_cross_entropy_with_logits +
 * mse_loss, their gradients through gradients()) run at two batch sizes
 * against NumPy (tests/gen_loss_ref.py) at -O0 and -O2; constant folding of
 * a loss; an out-of-range label at run time is a session error; shape and
 * dtype mistakes are compile errors at the call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphrt.h"
#include "pass.h"
#include "sema.h"
#include "ref/loss_ref.h"
#include "gc_testutil.h"

/* Source text compiled as "loss.g" (gct_compile_text). */
static rt_model *compile_text(const char *src, int level, char **diag)
{
    return gct_compile_text("loss.g", src, level, diag);
}

static void check_values(const char *what, const rt_tensor *t, const double *want, const int64_t *shape, int rank)
{
    int64_t n = 1;
    if (rank == 1 && shape[0] == 1 && t->rank == 0) {
        n = 1;
    } else {
        assert_int_equal(t->rank, rank);
        for (int i = 0; i < rank; i++) {
            assert_int_equal(t->dims[i], shape[i]);
            n *= shape[i];
        }
    }
    assert_int_equal(t->dtype, RT_F64);
    for (int64_t i = 0; i < n; i++) {
        double g = ((const double *)t->data)[i];
        if (!(fabs(g - want[i]) <= 1e-12 * fmax(1.0, fabs(want[i]))))
            fail_msg("%s[%lld] = %.17g, NumPy %.17g", what, (long long)i, g, want[i]);
    }
}

#define CHECK(what, t, name) check_values(what, &(t), name, name##_shape, (int)(sizeof name##_shape / sizeof(int64_t)))

static const char *const e2e_src =
    "graph t {\n"
    "  input z: f64[N, 4]\n"
    "  input lab: i64[N]\n"
    "  input tg: f64[N, 4]\n"
    "  loss = cross_entropy(z, lab) + binary_cross_entropy_with_logits(z, tg) + mse_loss(z, tg)\n"
    "  gz, gt = gradients(loss, [z, tg])\n"
    "  output loss, gz, gt\n"
    "}\n";

static void run_e2e(int level)
{
    rt_model *m = compile_text(e2e_src, level, NULL);
    assert_non_null(m);
    rt_session *s = NULL;
    char err[512];
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    for (int rep = 0; rep < 2; rep++) {
        int n = rep == 0 ? 5 : 3;
        rt_tensor feeds[3] = {
            { .dtype = RT_F64, .rank = 2, .dims = { n, 4 }, .data = (void *)e2e_z },
            { .dtype = RT_I64, .rank = 1, .dims = { n }, .data = (void *)e2e_lab },
            { .dtype = RT_F64, .rank = 2, .dims = { n, 4 }, .data = (void *)e2e_t },
        };
        const char *fn[3] = { "z", "lab", "tg" }, *fe[3] = { "loss", "gz", "gt" };
        rt_tensor got[3];
        rt_status st = rt_session_run(s, 3, fn, feeds, 3, fe, got);
        if (st != RT_OK)
            fail_msg("-O%d N=%d: %s", level, n, rt_session_last_error(s));
        if (n == 5) {
            CHECK("loss", got[0], e2e_loss5);
            CHECK("gz", got[1], e2e_gz5);
            CHECK("gt", got[2], e2e_gt5);
        } else {
            CHECK("loss", got[0], e2e_loss3);
            CHECK("gz", got[1], e2e_gz3);
            CHECK("gt", got[2], e2e_gt3);
        }
    }
    /* a label out of range: an error of the run, the session still usable */
    int64_t bad[3] = { 0, 4, 1 };
    rt_tensor feeds[3] = {
        { .dtype = RT_F64, .rank = 2, .dims = { 3, 4 }, .data = (void *)e2e_z },
        { .dtype = RT_I64, .rank = 1, .dims = { 3 }, .data = bad },
        { .dtype = RT_F64, .rank = 2, .dims = { 3, 4 }, .data = (void *)e2e_t },
    };
    const char *fn[3] = { "z", "lab", "tg" }, *fe[1] = { "loss" };
    rt_tensor got;
    assert_int_not_equal(rt_session_run(s, 3, fn, feeds, 1, fe, &got), RT_OK);
    if (!strstr(rt_session_last_error(s), "label 4 (row 1) is out of range for 4 classes"))
        fail_msg("message: %s", rt_session_last_error(s));
    feeds[1].data = (void *)e2e_lab;
    assert_int_equal(rt_session_run(s, 3, fn, feeds, 1, fe, &got), RT_OK);
    CHECK("loss", got, e2e_loss3);
    rt_session_free(s);
    rt_model_free(m);
}

static void test_e2e_O0(void **state) { (void)state; run_e2e(0); }
static void test_e2e_O2(void **state) { (void)state; run_e2e(2); }

/* A loss of constants folds away at -O2 with the runtime's kernel. */
static void test_constant_fold(void **state)
{
    (void)state;
    const char *src =
        "graph t {\n"
        "  input x: f64[2]\n"
        "  const lg: f64[2, 3] = [[10000, 0, -10000], [1, 2, 3]]\n"
        "  const lab: i32[2] = [2, 0]\n"
        "  output y = x + softmax_cross_entropy(lg, lab, reduction=\"none\")\n"
        "}\n";
    rt_model *m = compile_text(src, 2, NULL);
    assert_non_null(m);
    assert_int_equal(rt_model_n_nodes(m), 1); /* only the add is left */
    rt_session *s = NULL;
    char err[512];
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    double xv[2] = { 0, 0 };
    rt_tensor feed = { .dtype = RT_F64, .rank = 1, .dims = { 2 }, .data = xv }, y;
    const char *fn[1] = { "x" }, *fe[1] = { "y" };
    assert_int_equal(rt_session_run(s, 1, fn, &feed, 1, fe, &y), RT_OK);
    const double *v = y.data;
    assert_true(v[0] == 20000.0);
    assert_true(fabs(v[1] - (2 + log(1 + exp(-1.0) + exp(-2.0)))) < 1e-12);
    rt_session_free(s);
    rt_model_free(m);
}

/* A constant label out of range is not folded (the fold fails): the
 * compile succeeds and the run reports the error. */
static void test_bad_constant_label(void **state)
{
    (void)state;
    const char *src =
        "graph t {\n"
        "  input x: f32[2, 3]\n"
        "  const lab: i64[2] = [1, 3]\n"
        "  output y = softmax_cross_entropy(x * 2, lab)\n"
        "}\n";
    rt_model *m = compile_text(src, 2, NULL);
    assert_non_null(m);
    rt_session *s = NULL;
    char err[512];
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    float xv[6] = { 0 };
    rt_tensor feed = { .dtype = RT_F32, .rank = 2, .dims = { 2, 3 }, .data = xv }, y;
    const char *fn[1] = { "x" }, *fe[1] = { "y" };
    assert_int_not_equal(rt_session_run(s, 1, fn, &feed, 1, fe, &y), RT_OK);
    assert_non_null(strstr(rt_session_last_error(s), "label 3 (row 1) is out of range for 3 classes"));
    rt_session_free(s);
    rt_model_free(m);
}

static void expect_error(const char *body, const char *want)
{
    char src[1024], *diag = NULL;
    snprintf(src, sizeof src,
             "graph t {\n  input p: f32[N, 1]\n  input q: f32[N]\n  input k: i64[N]\n  input r: f64[N, 3]\n%s\n}\n",
             body);
    rt_model *m = compile_text(src, 0, &diag);
    assert_null(m);
    assert_non_null(diag);
    if (!strstr(diag, want))
        fail_msg("expected:\n%s\ngot:\n%s", want, diag);
    free(diag);
}

static void test_compile_errors(void **state)
{
    (void)state;
    expect_error("  output y = mse_loss(p, q)",
                 "loss.g:6:14: error: mse_loss: a f32[N, 1] and b f32[N] must have the same shape (no broadcasting)");
    expect_error("  output y = binary_cross_entropy_with_logits(r, r, reduction=\"avg\")",
                 "binary_cross_entropy_with_logits: 'reduction' must be one of \"none\", \"mean\", \"sum\"");
    expect_error("  output y = cross_entropy(r, q)", "labels must be i32 or i64 [N] (class indices), got f32[N]");
    expect_error("  output y = softmax_cross_entropy(p, k, \"mean\", 3)", "softmax_cross_entropy: too many arguments");
    expect_error("  output y = mse_loss(r, cast(r, \"f32\"))", "must be one float dtype (f32 or f64)");
    /* the backward op needs no gradient: labels are integers */
    expect_error("  g = gradients(softmax_cross_entropy(r, k), k)\n  output g",
                 "gradients: 'k' is i64: only f32 and f64 tensors have gradients");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_e2e_O0),
        cmocka_unit_test(test_e2e_O2),
        cmocka_unit_test(test_constant_fold),
        cmocka_unit_test(test_bad_constant_label),
        cmocka_unit_test(test_compile_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
