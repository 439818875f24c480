/* tests/test_ops_linalg.c -- matmul: NumPy references (tests/ref/nn_ref.h,
 * made by tests/gen_nn_ref.py) for 2-D, transposed and broadcast-batched
 * products in f32 and f64; larger products against a naive double loop on
 * 1 and 2 threads (sgemm, the blocked f64 loop, folded and batch-parallel
 * paths); inference with symbolic dims and its error messages. */
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

/* A reference f32 array as an f32 tensor (data shared) or as a fresh f64
 * tensor (caller frees data). */
#define REF_F32(name) tensor(OP_F32, RANK(name), name##_shape, (void *)name)
#define REF_F64(name) tensor(OP_F64, RANK(name), name##_shape, to_f64(name, NEL(name)))

static double *to_f64(const float *v, size_t n)
{
    double *d = malloc(n * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++)
        d[i] = v[i];
    return d;
}

static void set_mm(op_attr *at, int ta, int tb)
{
    op_attrs_default(OP_MATMUL, at);
    at[0].i = ta;
    at[1].i = tb;
}

/* |got - want| <= tol * (1 + max|want|) elementwise, shapes equal. */
static void check_close(const op_tensor *o, const double *want, const int64_t *shape, int rank,
                        double tol)
{
    assert_int_equal(o->rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(o->dims[i], shape[i]);
    int64_t n = op_tensor_numel(o);
    double scale = 1.0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    for (int64_t i = 0; i < n; i++) {
        double g = elem(o, i);
        if (!(fabs(g - want[i]) <= tol * scale))
            fail_msg("element %lld: got %.9g, want %.9g", (long long)i, g, want[i]);
    }
}

#define CHECK_REF(o, name, tol) check_close(&(o), name, name##_shape, RANK(name), tol)

static void mm_ref_case(const op_tensor *a32, const op_tensor *b32, int ta, int tb,
                        const double *want, const int64_t *shape, int rank)
{
    op_attr at[OP_MAX_ATTRS];
    set_mm(at, ta, tb);
    char err[OP_ERR_LEN];
    for (int nt = 1; nt <= 2; nt++) {
        op_tensor in[2] = { *a32, *b32 }, o;
        assert_int_equal(run_op(OP_MATMUL, at, in, 2, nt, &o, err, sizeof err), 0);
        check_close(&o, want, shape, rank, 1e-5);
        free(o.data);
        /* f64: same values, double math */
        in[0] = tensor(OP_F64, a32->rank, a32->dims, to_f64(a32->data, (size_t)op_tensor_numel(a32)));
        in[1] = tensor(OP_F64, b32->rank, b32->dims, to_f64(b32->data, (size_t)op_tensor_numel(b32)));
        assert_int_equal(run_op(OP_MATMUL, at, in, 2, nt, &o, err, sizeof err), 0);
        check_close(&o, want, shape, rank, 1e-13);
        free(o.data);
        free(in[0].data);
        free(in[1].data);
    }
}

#define MM_CASE(name, ta, tb)                                                              \
    do {                                                                                   \
        op_tensor a_ = REF_F32(name##_a), b_ = REF_F32(name##_b);                          \
        mm_ref_case(&a_, &b_, ta, tb, name##_out, name##_out_shape, RANK(name##_out));     \
    } while (0)

static void test_matmul_ref_2d(void **state)
{
    (void)state;
    MM_CASE(mm_2d, 0, 0);
    MM_CASE(mm_tt, 1, 1);
}

static void test_matmul_ref_batched(void **state)
{
    (void)state;
    MM_CASE(mm_bcast, 0, 0);    /* [2,1,4,6] @ [3,6,5] -> [2,3,4,5] */
    MM_CASE(mm_fold_tb, 0, 1);  /* [3,4,6] @ [5,6]^T: batch folded into M */
    MM_CASE(mm_ta_bcast, 1, 0); /* [2,3,6,4]^T @ [1,3,6,5] */
}

/* Deterministic inputs in [-1, 1). */
static void fill(float *v, int64_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        v[i] = (float)((s >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0);
    }
}

/* Naive batched product in double; batch dims given right-aligned. */
static void naive_mm(const float *a, const float *b, double *c, int64_t nb, const int64_t *sa,
                     const int64_t *sb, int64_t M, int64_t N, int64_t K, int ta, int tb)
{
    for (int64_t t = 0; t < nb; t++) {
        const float *A = a + sa[t], *B = b + sb[t];
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += (double)(ta ? A[k * M + i] : A[i * K + k]) *
                         (double)(tb ? B[j * K + k] : B[k * N + j]);
                c[(t * M + i) * N + j] = s;
            }
    }
}

/* a [ba, M, K] (or [ba, K, M]) @ b [bb, K, N]: ba and bb are 1 or nb. */
static void mm_big_case(int64_t ba, int64_t bb, int64_t M, int64_t N, int64_t K, int ta, int tb)
{
    int64_t nb = ba > bb ? ba : bb;
    int64_t da[3] = { ba, ta ? K : M, ta ? M : K }, db[3] = { bb, tb ? N : K, tb ? K : N };
    float *a = malloc((size_t)(ba * M * K) * sizeof *a), *b = malloc((size_t)(bb * K * N) * sizeof *b);
    double *want = malloc((size_t)(nb * M * N) * sizeof *want);
    int64_t *sa = malloc((size_t)nb * sizeof *sa), *sb = malloc((size_t)nb * sizeof *sb);
    fill(a, ba * M * K, 1);
    fill(b, bb * K * N, 2);
    for (int64_t t = 0; t < nb; t++) {
        sa[t] = ba == 1 ? 0 : t * M * K;
        sb[t] = bb == 1 ? 0 : t * K * N;
    }
    naive_mm(a, b, want, nb, sa, sb, M, N, K, ta, tb);
    int64_t oshape[3] = { nb, M, N };
    op_attr at[OP_MAX_ATTRS];
    set_mm(at, ta, tb);
    char err[OP_ERR_LEN];
    for (int nt = 1; nt <= 2; nt++) {
        op_tensor in[2] = { tensor(OP_F32, 3, da, a), tensor(OP_F32, 3, db, b) }, o;
        assert_int_equal(run_op(OP_MATMUL, at, in, 2, nt, &o, err, sizeof err), 0);
        check_close(&o, want, oshape, 3, 2e-6 * (double)K);
        free(o.data);
        in[0] = tensor(OP_F64, 3, da, to_f64(a, (size_t)(ba * M * K)));
        in[1] = tensor(OP_F64, 3, db, to_f64(b, (size_t)(bb * K * N)));
        assert_int_equal(run_op(OP_MATMUL, at, in, 2, nt, &o, err, sizeof err), 0);
        check_close(&o, want, oshape, 3, 1e-13);
        free(o.data);
        free(in[0].data);
        free(in[1].data);
    }
    free(a);
    free(b);
    free(want);
    free(sa);
    free(sb);
}

static void test_matmul_large_and_threads(void **state)
{
    (void)state;
    /* one product over several f64 blocks (32 x 128 x 256) in every flag combination */
    mm_big_case(1, 1, 70, 300, 130, 0, 0);
    mm_big_case(1, 1, 70, 300, 130, 1, 1);
    mm_big_case(1, 1, 45, 70, 260, 1, 0);
    mm_big_case(1, 1, 45, 70, 260, 0, 1);
    /* many small products: one per thread */
    mm_big_case(8, 8, 16, 17, 18, 0, 1);
    mm_big_case(1, 6, 9, 10, 11, 1, 0); /* a shared by the batch */
    /* b shared, a not transposed: batch folded into M */
    mm_big_case(5, 1, 33, 20, 40, 0, 0);
}

/* Thread counts give the same numbers (sgemm splits the work over M and N,
 * each element summed in the same order here). */
static void test_matmul_threads_agree(void **state)
{
    (void)state;
    int64_t da[3] = { 6, 24, 32 }, db[2] = { 32, 40 };
    float *a = malloc(6 * 24 * 32 * sizeof *a), *b = malloc(32 * 40 * sizeof *b);
    fill(a, 6 * 24 * 32, 3);
    fill(b, 32 * 40, 4);
    op_attr at[OP_MAX_ATTRS];
    set_mm(at, 0, 0);
    op_tensor in[2] = { tensor(OP_F32, 3, da, a), tensor(OP_F32, 2, db, b) }, o1, o2;
    char err[OP_ERR_LEN];
    assert_int_equal(run_op(OP_MATMUL, at, in, 2, 1, &o1, err, sizeof err), 0);
    assert_int_equal(run_op(OP_MATMUL, at, in, 2, 2, &o2, err, sizeof err), 0);
    for (int64_t i = 0; i < 6 * 24 * 40; i++)
        assert_true(fabsf(((float *)o1.data)[i] - ((float *)o2.data)[i]) <=
                    1e-5f * (1.0f + fabsf(((float *)o1.data)[i])));
    free(o1.data);
    free(o2.data);
    free(a);
    free(b);
}

static void test_matmul_empty_inner(void **state)
{
    (void)state;
    int64_t da[2] = { 3, 0 }, db[2] = { 0, 4 };
    float dummy = 0;
    op_attr at[OP_MAX_ATTRS];
    set_mm(at, 0, 0);
    op_tensor in[2] = { tensor(OP_F32, 2, da, &dummy), tensor(OP_F32, 2, db, &dummy) }, o;
    char err[OP_ERR_LEN];
    assert_int_equal(run_op(OP_MATMUL, at, in, 2, 1, &o, err, sizeof err), 0);
    assert_int_equal(o.dims[0], 3);
    assert_int_equal(o.dims[1], 4);
    for (int i = 0; i < 12; i++)
        assert_true(((float *)o.data)[i] == 0.0f);
    free(o.data);
}

#define C(v) ((op_dim){ (v), -1 })
#define SYM(s) ((op_dim){ 1, (s) })

static int infer_mm(op_type a, op_type b, int ta, int tb, op_type *o, char *err)
{
    op_attr at[OP_MAX_ATTRS];
    set_mm(at, ta, tb);
    op_type in[2] = { a, b };
    return op_get(OP_MATMUL)->infer(at, in, 2, o, 1, err, OP_ERR_LEN);
}

static void test_matmul_infer(void **state)
{
    (void)state;
    static const char *const syms[] = { "N", "B" };
    op_set_sym_names(syms, 2);
    char err[OP_ERR_LEN] = "";
    op_type o;
    /* symbolic batch row count flows through */
    assert_int_equal(infer_mm(ty(OP_F32, 2, (op_dim[]){ SYM(0), C(1000) }),
                              ty(OP_F32, 2, (op_dim[]){ C(1000), C(10) }), 0, 0, &o, err), 0);
    assert_int_equal(o.dtype, OP_F32);
    assert_int_equal(o.rank, 2);
    assert_true(op_dim_eq(o.dims[0], SYM(0)));
    assert_true(op_dim_is(o.dims[1], 10));
    /* symbolic inner dims match when they are the same symbol; broadcast batch */
    assert_int_equal(infer_mm(ty(OP_F64, 4, (op_dim[]){ SYM(1), C(1), SYM(0), C(64) }),
                              ty(OP_F64, 3, (op_dim[]){ C(4), SYM(0), C(64) }), 0, 1, &o, err), 0);
    assert_int_equal(o.rank, 4);
    assert_true(op_dim_eq(o.dims[0], SYM(1)));
    assert_true(op_dim_is(o.dims[1], 4));
    assert_true(op_dim_eq(o.dims[2], SYM(0)));
    assert_true(op_dim_eq(o.dims[3], SYM(0)));
    /* trans_a: [K, M] */
    assert_int_equal(infer_mm(ty(OP_F32, 2, (op_dim[]){ C(7), C(5) }),
                              ty(OP_F32, 2, (op_dim[]){ C(7), C(3) }), 1, 0, &o, err), 0);
    assert_true(op_dim_is(o.dims[0], 5) && op_dim_is(o.dims[1], 3));

    /* the message names both operands in full */
    assert_int_equal(infer_mm(ty(OP_F32, 2, (op_dim[]){ SYM(0), C(1000) }),
                              ty(OP_F32, 2, (op_dim[]){ C(100), C(10) }), 0, 0, &o, err), -1);
    assert_string_equal(err, "matmul: inner dimensions differ: f32[N, 1000] @ f32[100, 10]");
    assert_int_equal(infer_mm(ty(OP_F32, 2, (op_dim[]){ C(5), SYM(0) }),
                              ty(OP_F32, 2, (op_dim[]){ C(5), C(3) }), 0, 0, &o, err), -1);
    assert_non_null(strstr(err, "f32[5, N] @ f32[5, 3]"));
    assert_int_equal(infer_mm(ty(OP_F32, 3, (op_dim[]){ C(2), C(3), C(4) }),
                              ty(OP_F32, 3, (op_dim[]){ C(3), C(4), C(5) }), 0, 0, &o, err), -1);
    assert_non_null(strstr(err, "batch"));
    assert_non_null(strstr(err, "f32[2, 3, 4] @ f32[3, 4, 5]"));
    assert_int_equal(infer_mm(ty(OP_F32, 1, (op_dim[]){ C(4) }),
                              ty(OP_F32, 2, (op_dim[]){ C(4), C(5) }), 0, 0, &o, err), -1);
    assert_non_null(strstr(err, "f32[4] @ f32[4, 5]"));
    assert_int_equal(infer_mm(ty(OP_F32, 2, (op_dim[]){ C(4), C(4) }),
                              ty(OP_F64, 2, (op_dim[]){ C(4), C(5) }), 0, 0, &o, err), -1);
    assert_non_null(strstr(err, "f32[4, 4] @ f64[4, 5]"));
    assert_int_equal(infer_mm(ty(OP_I32, 2, (op_dim[]){ C(4), C(4) }),
                              ty(OP_I32, 2, (op_dim[]){ C(4), C(5) }), 0, 0, &o, err), -1);
    assert_non_null(strstr(err, "i32[4, 4] @ i32[4, 5]"));
    assert_int_equal(infer_mm(ty(OP_F32, 2, (op_dim[]){ C(4), C(4) }),
                              ty(OP_F32, 2, (op_dim[]){ C(4), C(5) }), 2, 0, &o, err), -1);
    assert_non_null(strstr(err, "trans_a"));
    op_set_sym_names(NULL, 0);
}

/* The kernel refuses an output buffer of the wrong shape. */
static void test_matmul_kernel_checks_output(void **state)
{
    (void)state;
    float a[6] = { 0 }, b[6] = { 0 }, c[9];
    int64_t da[2] = { 2, 3 }, db[2] = { 3, 2 }, dc[2] = { 3, 3 };
    op_tensor in[2] = { tensor(OP_F32, 2, da, a), tensor(OP_F32, 2, db, b) };
    op_tensor o = tensor(OP_F32, 2, dc, c);
    op_attr at[OP_MAX_ATTRS];
    set_mm(at, 0, 0);
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_threads = 1;
    assert_int_equal(op_get(OP_MATMUL)->cpu(&ctx, at, in, 2, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "f32[3, 3]"));
    assert_non_null(strstr(ctx.err, "f32[2, 2]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_ref_2d),
        cmocka_unit_test(test_matmul_ref_batched),
        cmocka_unit_test(test_matmul_large_and_threads),
        cmocka_unit_test(test_matmul_threads_agree),
        cmocka_unit_test(test_matmul_empty_inner),
        cmocka_unit_test(test_matmul_infer),
        cmocka_unit_test(test_matmul_kernel_checks_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
