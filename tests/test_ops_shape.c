/* tests/test_ops_shape.c -- the shape and data-movement ops (ops/shape_ops.c):
 * NumPy reference cases (tests/ref/shape_ref.h, made by tests/gen_shape_ref.py)
 * run through inference and the CPU kernel on 1 and several threads, large
 * copies checked against naive index arithmetic, symbolic-shape inference,
 * and the errors that bad attributes and bad indices must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "op.h"
#include "ref/shape_ref.h"

static const char *const sym_names[] = { "N", "M" };

static op_dim S(int64_t coef, int32_t sym) { return (op_dim){ coef, sym }; }
static op_dim C(int64_t v) { return op_dim_const(v); }

/* ---- NumPy reference cases ---- */

static void set_attrs(op_kind k, const shape_ref_case *c, op_attr *at)
{
    op_attrs_default(k, at);
    for (int a = 0; a < c->n_attrs; a++) {
        int idx = op_attr_index(k, c->attrs[a].name);
        if (idx < 0)
            fail_msg("%s: op %s has no attribute %s", c->name, c->op, c->attrs[a].name);
        at[idx].i = c->attrs[a].i;
        at[idx].f = c->attrs[a].f;
        at[idx].n = c->attrs[a].n;
        memcpy(at[idx].ints, c->attrs[a].ints, sizeof at[idx].ints);
    }
}

static void run_case(const shape_ref_case *c, int n_threads)
{
    int k = op_find(c->op);
    assert_true(k >= 0);
    const op_def *d = op_get((op_kind)k);
    op_attr at[OP_MAX_ATTRS];
    set_attrs((op_kind)k, c, at);
    op_type ti[4], to[OP_MAX_OUTPUTS];
    op_tensor tin[4], tout[4];
    for (int i = 0; i < c->n_in; i++) {
        memset(&tin[i], 0, sizeof tin[i]);
        tin[i].dtype = (op_dtype)c->in[i].dtype;
        tin[i].rank = c->in[i].rank;
        memcpy(tin[i].dims, c->in[i].dims, sizeof tin[i].dims);
        tin[i].data = (void *)c->in[i].data;
        op_type_from_tensor(&tin[i], &ti[i]);
    }
    int n_out = op_n_outputs((op_kind)k, at);
    assert_int_equal(n_out, c->n_out);
    char err[OP_ERR_LEN] = "";
    if (d->infer(at, ti, c->n_in, to, n_out, err, sizeof err))
        fail_msg("%s: inference failed: %s", c->name, err);
    void *bufs[4] = { 0 };
    for (int j = 0; j < n_out; j++) {
        const shape_ref_tensor *e = &c->out[j];
        assert_int_equal(to[j].dtype, e->dtype);
        assert_int_equal(to[j].rank, e->rank);
        for (int r = 0; r < e->rank; r++) {
            assert_int_equal(to[j].dims[r].sym, -1);
            if (to[j].dims[r].coef != e->dims[r])
                fail_msg("%s: output %d dim %d is %lld, NumPy says %lld", c->name, j, r,
                         (long long)to[j].dims[r].coef, (long long)e->dims[r]);
        }
        assert_int_equal(op_type_eval(&to[j], NULL, 0, &tout[j]), 0);
        size_t bytes = (size_t)op_tensor_numel(&tout[j]) * op_dtype_size(tout[j].dtype);
        bufs[j] = malloc(bytes + 1);
        memset(bufs[j], 0xA5, bytes + 1); /* unwritten bytes show */
        tout[j].data = bufs[j];
    }
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_threads = n_threads;
    if (d->cpu(&ctx, at, tin, c->n_in, tout, n_out))
        fail_msg("%s: kernel failed: %s", c->name, ctx.err);
    for (int j = 0; j < n_out; j++) {
        size_t esz = op_dtype_size(tout[j].dtype);
        size_t bytes = (size_t)op_tensor_numel(&tout[j]) * esz;
        if (bytes && memcmp(bufs[j], c->out[j].data, bytes) != 0) {
            size_t b = 0;
            while (((unsigned char *)bufs[j])[b] == ((const unsigned char *)c->out[j].data)[b])
                b++;
            fail_msg("%s (%d threads): output %d differs from NumPy at element %zu", c->name,
                     n_threads, j, b / esz);
        }
        assert_int_equal(((unsigned char *)bufs[j])[bytes], 0xA5); /* no overrun */
        free(bufs[j]);
    }
}

static void run_refs(const char *op)
{
    int n = 0;
    for (int i = 0; i < SHAPE_REF_N_CASES; i++) {
        if (strcmp(shape_ref_cases[i].op, op) != 0)
            continue;
        run_case(&shape_ref_cases[i], 1);
        run_case(&shape_ref_cases[i], 3);
        n++;
    }
    assert_true(n > 0);
}

static void test_transpose_ref(void **s) { (void)s; run_refs("transpose"); }
static void test_reshape_ref(void **s) { (void)s; run_refs("reshape"); run_refs("flatten"); }
static void test_squeeze_ref(void **s) { (void)s; run_refs("squeeze"); run_refs("unsqueeze"); }
static void test_expand_ref(void **s) { (void)s; run_refs("expand"); }
static void test_concat_ref(void **s) { (void)s; run_refs("concat"); }
static void test_split_ref(void **s) { (void)s; run_refs("split"); }
static void test_slice_ref(void **s) { (void)s; run_refs("slice"); }
static void test_gather_ref(void **s) { (void)s; run_refs("gather"); }
static void test_pad_ref(void **s) { (void)s; run_refs("pad"); }

/* ---- helpers for hand-made cases ---- */

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

static void fill_seq_f32(op_tensor *t)
{
    int64_t n = op_tensor_numel(t);
    for (int64_t i = 0; i < n; i++)
        ((float *)t->data)[i] = (float)i * 0.25f - 7.0f;
}

/* Infers the output of op k on the concrete inputs and allocates it. */
static int infer_alloc(op_kind k, const op_attr *at, const op_tensor *in, int n_in, op_tensor *out,
                       int n_out, char *err)
{
    op_type ti[8], to[OP_MAX_OUTPUTS];
    for (int i = 0; i < n_in; i++)
        op_type_from_tensor(&in[i], &ti[i]);
    if (op_get(k)->infer(at, ti, n_in, to, n_out, err, OP_ERR_LEN))
        return -1;
    for (int j = 0; j < n_out; j++) {
        assert_int_equal(op_type_eval(&to[j], NULL, 0, &out[j]), 0);
        out[j] = tensor(out[j].dtype, out[j].rank, out[j].dims);
    }
    return 0;
}

static int run_kernel(op_kind k, const op_attr *at, const op_tensor *in, int n_in, op_tensor *out,
                      int n_out, int n_threads, char *err)
{
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_threads = n_threads;
    int rc = op_get(k)->cpu(&ctx, at, in, n_in, out, n_out);
    snprintf(err, OP_ERR_LEN, "%s", ctx.err);
    return rc;
}

static void unravel(int64_t flat, int rank, const int64_t *dims, int64_t *idx)
{
    for (int i = rank - 1; i >= 0; i--) {
        idx[i] = flat % dims[i];
        flat /= dims[i];
    }
}

static int64_t ravel(int rank, const int64_t *dims, const int64_t *idx)
{
    int64_t f = 0;
    for (int i = 0; i < rank; i++)
        f = f * dims[i] + idx[i];
    return f;
}

/* ---- large copies (the tiled and threaded paths) against index arithmetic ---- */

static void check_transpose(op_dtype dt, int rank, const int64_t *dims, const int64_t *perm,
                            int n_threads)
{
    op_attr at[OP_MAX_ATTRS];
    char err[OP_ERR_LEN];
    op_attrs_default(OP_TRANSPOSE, at);
    at[0].n = rank;
    memcpy(at[0].ints, perm, sizeof(int64_t) * (size_t)rank);
    op_tensor x = tensor(dt, rank, dims), y;
    size_t esz = op_dtype_size(dt);
    int64_t n = op_tensor_numel(&x), oi[OP_MAX_RANK], xi[OP_MAX_RANK];
    uint32_t seed = 99;
    for (size_t b = 0; b < (size_t)n * esz; b++) {
        seed = seed * 1103515245u + 12345u;
        ((unsigned char *)x.data)[b] = (unsigned char)(seed >> 16);
    }
    assert_int_equal(infer_alloc(OP_TRANSPOSE, at, &x, 1, &y, 1, err), 0);
    assert_int_equal(run_kernel(OP_TRANSPOSE, at, &x, 1, &y, 1, n_threads, err), 0);
    for (int64_t f = 0; f < n; f++) {
        unravel(f, rank, y.dims, oi);
        for (int i = 0; i < rank; i++)
            xi[perm[i]] = oi[i];
        if (memcmp((char *)y.data + f * (int64_t)esz,
                   (char *)x.data + ravel(rank, dims, xi) * (int64_t)esz, esz) != 0)
            fail_msg("transpose %s: element %lld is wrong", op_dtype_name(dt), (long long)f);
    }
    free(x.data);
    free(y.data);
}

static void test_transpose_large(void **s)
{
    (void)s;
    int64_t d2[] = { 131, 67 }, p2[] = { 1, 0 };
    int64_t d3[] = { 3, 50, 70 }, p3[] = { 2, 1, 0 };
    int64_t d4[] = { 4, 33, 9, 40 }, p4[] = { 0, 2, 1, 3 };
    int64_t d5[] = { 2, 130, 3, 64 }, p5[] = { 0, 3, 2, 1 };
    static const op_dtype dts[] = { OP_F32, OP_F64, OP_U8, OP_I32, OP_BOOL };
    for (int nt = 1; nt <= 4; nt += 3) {
        for (size_t t = 0; t < sizeof dts / sizeof dts[0]; t++) {
            check_transpose(dts[t], 2, d2, p2, nt);
            check_transpose(dts[t], 4, d5, p5, nt);
        }
        check_transpose(OP_F32, 3, d3, p3, nt);
        check_transpose(OP_I64, 4, d4, p4, nt);
    }
}

static void test_slice_expand_pad_large(void **s)
{
    (void)s;
    char err[OP_ERR_LEN];
    for (int nt = 1; nt <= 4; nt += 3) {
        /* slice x[::-3, 5:-2, ::2] of a [90, 80, 30] f32 */
        int64_t dx[] = { 90, 80, 30 };
        op_tensor x = tensor(OP_F32, 3, dx), y;
        fill_seq_f32(&x);
        op_attr at[OP_MAX_ATTRS];
        op_attrs_default(OP_SLICE, at);
        at[0] = (op_attr){ .n = 3, .ints = { -1, 5, 0 } };
        at[1] = (op_attr){ .n = 3, .ints = { INT64_MIN, -2, INT64_MAX } };
        at[3] = (op_attr){ .n = 3, .ints = { -3, 1, 2 } };
        assert_int_equal(infer_alloc(OP_SLICE, at, &x, 1, &y, 1, err), 0);
        assert_int_equal(y.dims[0], 30);
        assert_int_equal(y.dims[1], 73);
        assert_int_equal(y.dims[2], 15);
        assert_int_equal(run_kernel(OP_SLICE, at, &x, 1, &y, 1, nt, err), 0);
        int64_t idx[3], xi[3];
        for (int64_t f = 0; f < op_tensor_numel(&y); f++) {
            unravel(f, 3, y.dims, idx);
            xi[0] = 89 - 3 * idx[0];
            xi[1] = 5 + idx[1];
            xi[2] = 2 * idx[2];
            assert_true(((float *)y.data)[f] == ((float *)x.data)[ravel(3, dx, xi)]);
        }
        free(y.data);

        /* expand [90, 1, 30] -> [2, 90, 50, 30] */
        int64_t de[] = { 90, 1, 30 };
        op_tensor e = tensor(OP_F32, 3, de);
        fill_seq_f32(&e);
        op_attrs_default(OP_EXPAND, at);
        at[0] = (op_attr){ .n = 4, .ints = { 2, -1, 50, -1 } };
        assert_int_equal(infer_alloc(OP_EXPAND, at, &e, 1, &y, 1, err), 0);
        assert_int_equal(run_kernel(OP_EXPAND, at, &e, 1, &y, 1, nt, err), 0);
        int64_t i4[4];
        for (int64_t f = 0; f < op_tensor_numel(&y); f++) {
            unravel(f, 4, y.dims, i4);
            assert_true(((float *)y.data)[f] == ((float *)e.data)[i4[1] * 30 + i4[3]]);
        }
        free(y.data);
        free(e.data);

        /* pad [90, 80, 30] by (1, 2), (0, 3), (4, 0) with -1 */
        op_attrs_default(OP_PAD, at);
        at[0] = (op_attr){ .n = 6, .ints = { 1, 0, 4, 2, 3, 0 } };
        at[1].f = -1.0;
        assert_int_equal(infer_alloc(OP_PAD, at, &x, 1, &y, 1, err), 0);
        assert_int_equal(run_kernel(OP_PAD, at, &x, 1, &y, 1, nt, err), 0);
        for (int64_t f = 0; f < op_tensor_numel(&y); f++) {
            unravel(f, 3, y.dims, idx);
            xi[0] = idx[0] - 1;
            xi[1] = idx[1];
            xi[2] = idx[2] - 4;
            int inside = xi[0] >= 0 && xi[0] < 90 && xi[1] < 80 && xi[2] >= 0;
            float want = inside ? ((float *)x.data)[ravel(3, dx, xi)] : -1.0f;
            assert_true(((float *)y.data)[f] == want);
        }
        free(y.data);
        free(x.data);
    }
}

static void test_gather_concat_split_large(void **s)
{
    (void)s;
    char err[OP_ERR_LEN];
    for (int nt = 1; nt <= 4; nt += 3) {
        int64_t dx[] = { 40, 300, 20 }, di[] = { 7, 60 };
        op_tensor in[2] = { tensor(OP_F32, 3, dx), tensor(OP_I32, 2, di) }, y;
        fill_seq_f32(&in[0]);
        for (int i = 0; i < 420; i++)
            ((int32_t *)in[1].data)[i] = (i * 37) % 600 - 300; /* -300..299 */
        op_attr at[OP_MAX_ATTRS];
        op_attrs_default(OP_GATHER, at);
        at[0].i = 1;
        assert_int_equal(infer_alloc(OP_GATHER, at, in, 2, &y, 1, err), 0);
        assert_int_equal(y.rank, 4);
        assert_int_equal(run_kernel(OP_GATHER, at, in, 2, &y, 1, nt, err), 0);
        int64_t i4[4];
        for (int64_t f = 0; f < op_tensor_numel(&y); f++) {
            unravel(f, 4, y.dims, i4);
            int64_t v = ((int32_t *)in[1].data)[i4[1] * 60 + i4[2]];
            if (v < 0)
                v += 300;
            assert_true(((float *)y.data)[f] == ((float *)in[0].data)[(i4[0] * 300 + v) * 20 + i4[3]]);
        }
        free(y.data);

        /* split [40, 300, 20] along 1 into 100, 150, 50 and concat back */
        op_attrs_default(OP_SPLIT, at);
        at[0] = (op_attr){ .n = 3, .ints = { 100, 150, 50 } };
        at[1].i = -2;
        op_tensor parts[3], back;
        assert_int_equal(infer_alloc(OP_SPLIT, at, in, 1, parts, 3, err), 0);
        assert_int_equal(run_kernel(OP_SPLIT, at, in, 1, parts, 3, nt, err), 0);
        assert_true(((float *)parts[1].data)[0] == ((float *)in[0].data)[100 * 20]);
        assert_true(((float *)parts[2].data)[20 * 50] == ((float *)in[0].data)[300 * 20 + 250 * 20]);
        op_attrs_default(OP_CONCAT, at);
        at[0].i = 1;
        assert_int_equal(infer_alloc(OP_CONCAT, at, parts, 3, &back, 1, err), 0);
        assert_int_equal(run_kernel(OP_CONCAT, at, parts, 3, &back, 1, nt, err), 0);
        assert_memory_equal(back.data, in[0].data, (size_t)op_tensor_numel(&back) * 4);
        for (int j = 0; j < 3; j++)
            free(parts[j].data);
        free(back.data);
        free(in[0].data);
        free(in[1].data);
    }
}

static void test_reshape_inplace_and_large(void **s)
{
    (void)s;
    char err[OP_ERR_LEN];
    int64_t dx[] = { 64, 1024 }, dy[] = { 1024, 64 };
    op_tensor x = tensor(OP_F32, 2, dx);
    fill_seq_f32(&x);
    op_tensor y = x;
    y.rank = 2;
    memcpy(y.dims, dy, sizeof dy);
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_RESHAPE, at);
    at[0] = (op_attr){ .n = 2, .ints = { 1024, -1 } };
    /* in place: same buffer, data untouched */
    assert_int_equal(run_kernel(OP_RESHAPE, at, &x, 1, &y, 1, 2, err), 0);
    assert_true(((float *)y.data)[65535] == 65535 * 0.25f - 7.0f);
    /* out of place, several threads */
    y = tensor(OP_F32, 2, dy);
    assert_int_equal(run_kernel(OP_RESHAPE, at, &x, 1, &y, 1, 4, err), 0);
    assert_memory_equal(y.data, x.data, 65536 * 4);
    /* element count mismatch is refused */
    y.dims[0] = 1000;
    assert_int_equal(run_kernel(OP_RESHAPE, at, &x, 1, &y, 1, 1, err), -1);
    assert_non_null(strstr(err, "f32[64, 1024]"));
    free(y.data);
    free(x.data);
}

/* ---- symbolic inference ---- */

static int infer1(op_kind k, const op_attr *at, const op_type *in, int n_in, op_type *out, char *err)
{
    err[0] = 0;
    return op_get(k)->infer(at, in, n_in, out, 1, err, OP_ERR_LEN);
}

static void expect_type(const op_type *t, const char *want)
{
    char buf[256];
    op_type_str(t, sym_names, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_symbolic_reshape(void **s)
{
    (void)s;
    op_set_sym_names(sym_names, 2);
    op_attr at[OP_MAX_ATTRS];
    op_type o;
    char err[OP_ERR_LEN];
    op_attrs_default(OP_RESHAPE, at);

    op_type x = { OP_F32, 4, { S(1, 0), C(16), C(5), C(5) } };
    at[0] = (op_attr){ .n = 2, .ints = { 0, -1 } };
    assert_int_equal(infer1(OP_RESHAPE, at, &x, 1, &o, err), 0);
    expect_type(&o, "f32[N, 400]");

    op_type x2 = { OP_F32, 2, { S(1, 0), C(4) } };
    at[0] = (op_attr){ .n = 1, .ints = { -1 } };
    assert_int_equal(infer1(OP_RESHAPE, at, &x2, 1, &o, err), 0);
    assert_int_equal(o.rank, 1);
    assert_int_equal(o.dims[0].coef, 4);
    assert_int_equal(o.dims[0].sym, 0);

    at[0] = (op_attr){ .n = 2, .ints = { 8, 2 } };
    assert_int_equal(infer1(OP_RESHAPE, at, &x2, 1, &o, err), -1);
    assert_string_equal(err, "reshape: cannot reshape f32[N, 4] to [8, 2]: N is only known at run time");

    op_type x3 = { OP_F32, 2, { S(2, 0), C(6) } };
    at[0] = (op_attr){ .n = 3, .ints = { 0, 3, -1 } };
    assert_int_equal(infer1(OP_RESHAPE, at, &x3, 1, &o, err), 0);
    expect_type(&o, "f32[2*N, 3, 2]");
    at[0] = (op_attr){ .n = 2, .ints = { -1, 4 } }; /* 12N / 4 = 3N */
    assert_int_equal(infer1(OP_RESHAPE, at, &x3, 1, &o, err), 0);
    expect_type(&o, "f32[3*N, 4]");

    op_type x4 = { OP_F32, 2, { S(1, 0), C(5) } };
    at[0] = (op_attr){ .n = 2, .ints = { 3, -1 } };
    assert_int_equal(infer1(OP_RESHAPE, at, &x4, 1, &o, err), -1);
    assert_non_null(strstr(err, "not a multiple of 3"));

    op_type x5 = { OP_F32, 3, { S(1, 0), S(1, 1), C(4) } };
    at[0] = (op_attr){ .n = 1, .ints = { -1 } };
    assert_int_equal(infer1(OP_RESHAPE, at, &x5, 1, &o, err), -1);
    assert_non_null(strstr(err, "product of run-time sizes"));
    at[0] = (op_attr){ .n = 4, .ints = { 0, 0, 2, -1 } };
    assert_int_equal(infer1(OP_RESHAPE, at, &x5, 1, &o, err), 0);
    expect_type(&o, "f32[N, M, 2, 2]");
    op_set_sym_names(NULL, 0);
}

static void test_symbolic_other_ops(void **s)
{
    (void)s;
    op_set_sym_names(sym_names, 2);
    op_attr at[OP_MAX_ATTRS];
    op_type o, outs[4];
    char err[OP_ERR_LEN];

    /* flatten */
    op_type x = { OP_F32, 3, { S(1, 0), C(3), C(4) } };
    op_attrs_default(OP_FLATTEN, at);
    assert_int_equal(infer1(OP_FLATTEN, at, &x, 1, &o, err), 0);
    expect_type(&o, "f32[N, 12]");
    at[0].i = 0;
    assert_int_equal(infer1(OP_FLATTEN, at, &x, 1, &o, err), 0);
    expect_type(&o, "f32[12*N]");
    op_type nm = { OP_F32, 2, { S(1, 0), S(1, 1) } };
    assert_int_equal(infer1(OP_FLATTEN, at, &nm, 1, &o, err), -1);
    assert_non_null(strstr(err, "f32[N, M]"));

    /* slice: only the full slice on a symbolic axis */
    op_type xs = { OP_F32, 2, { S(1, 0), C(8) } };
    op_attrs_default(OP_SLICE, at);
    at[0] = (op_attr){ .n = 2, .ints = { 0, 2 } };
    at[1] = (op_attr){ .n = 2, .ints = { INT64_MAX, 6 } };
    assert_int_equal(infer1(OP_SLICE, at, &xs, 1, &o, err), 0);
    expect_type(&o, "f32[N, 4]");
    at[0].ints[0] = 1;
    assert_int_equal(infer1(OP_SLICE, at, &xs, 1, &o, err), -1);
    assert_non_null(strstr(err, "run-time size"));
    at[0].ints[0] = 0;
    at[1].ints[0] = -1;
    assert_int_equal(infer1(OP_SLICE, at, &xs, 1, &o, err), -1);
    at[1].ints[0] = INT64_MAX;
    at[3] = (op_attr){ .n = 2, .ints = { 2, 1 } };
    assert_int_equal(infer1(OP_SLICE, at, &xs, 1, &o, err), -1);

    /* concat */
    op_type cc[3] = { { OP_F32, 2, { S(1, 0), C(4) } }, { OP_F32, 2, { S(1, 0), C(4) } },
                      { OP_F32, 2, { C(3), C(4) } } };
    op_attrs_default(OP_CONCAT, at);
    assert_int_equal(infer1(OP_CONCAT, at, cc, 2, &o, err), 0);
    expect_type(&o, "f32[2*N, 4]");
    assert_int_equal(infer1(OP_CONCAT, at, cc, 3, &o, err), -1);
    assert_non_null(strstr(err, "f32[3, 4]"));
    op_type cm[2] = { { OP_F32, 2, { S(1, 0), C(4) } }, { OP_F32, 2, { S(1, 1), C(4) } } };
    assert_int_equal(infer1(OP_CONCAT, at, cm, 2, &o, err), -1);
    op_type cz[2] = { { OP_F32, 2, { S(1, 0), C(4) } }, { OP_F32, 2, { C(0), C(4) } } };
    assert_int_equal(infer1(OP_CONCAT, at, cz, 2, &o, err), 0);
    expect_type(&o, "f32[N, 4]");
    op_type c1[2] = { { OP_F32, 2, { S(1, 0), C(4) } }, { OP_F32, 2, { S(1, 0), C(2) } } };
    at[0].i = 1;
    assert_int_equal(infer1(OP_CONCAT, at, c1, 2, &o, err), 0);
    expect_type(&o, "f32[N, 6]");
    c1[1].dims[0] = S(2, 0); /* N vs 2N off the axis */
    assert_int_equal(infer1(OP_CONCAT, at, c1, 2, &o, err), -1);

    /* transpose, squeeze, unsqueeze, expand */
    op_type t = { OP_I64, 2, { S(1, 0), C(3) } };
    op_attrs_default(OP_TRANSPOSE, at);
    assert_int_equal(infer1(OP_TRANSPOSE, at, &t, 1, &o, err), 0);
    expect_type(&o, "i64[3, N]");
    op_type q = { OP_F32, 2, { S(1, 0), C(1) } };
    op_attrs_default(OP_SQUEEZE, at);
    assert_int_equal(infer1(OP_SQUEEZE, at, &q, 1, &o, err), 0);
    expect_type(&o, "f32[N]");
    at[0] = (op_attr){ .n = 1, .ints = { 0 } };
    assert_int_equal(infer1(OP_SQUEEZE, at, &q, 1, &o, err), -1);
    op_attrs_default(OP_UNSQUEEZE, at);
    at[0] = (op_attr){ .n = 1, .ints = { 0 } };
    assert_int_equal(infer1(OP_UNSQUEEZE, at, &q, 1, &o, err), 0);
    expect_type(&o, "f32[1, N, 1]");
    op_type ex = { OP_F32, 2, { C(1), S(1, 0) } };
    op_attrs_default(OP_EXPAND, at);
    at[0] = (op_attr){ .n = 2, .ints = { 4, -1 } };
    assert_int_equal(infer1(OP_EXPAND, at, &ex, 1, &o, err), 0);
    expect_type(&o, "f32[4, N]");
    at[0] = (op_attr){ .n = 2, .ints = { 4, 5 } };
    assert_int_equal(infer1(OP_EXPAND, at, &ex, 1, &o, err), -1);

    /* split, gather, pad */
    op_type sp = { OP_F32, 2, { S(1, 0), C(6) } };
    op_attrs_default(OP_SPLIT, at);
    at[0] = (op_attr){ .n = 2, .ints = { 2, 4 } };
    at[1].i = 1;
    assert_int_equal(op_get(OP_SPLIT)->infer(at, &sp, 1, outs, 2, err, sizeof err), 0);
    expect_type(&outs[0], "f32[N, 2]");
    expect_type(&outs[1], "f32[N, 4]");
    at[1].i = 0;
    assert_int_equal(op_get(OP_SPLIT)->infer(at, &sp, 1, outs, 2, err, sizeof err), -1);
    op_type g[2] = { { OP_F32, 2, { S(1, 0), C(5) } }, { OP_I64, 1, { C(3) } } };
    op_attrs_default(OP_GATHER, at);
    at[0].i = 1;
    assert_int_equal(infer1(OP_GATHER, at, g, 2, &o, err), 0);
    expect_type(&o, "f32[N, 3]");
    g[1].dims[0] = S(1, 1);
    at[0].i = 0;
    assert_int_equal(infer1(OP_GATHER, at, g, 2, &o, err), 0);
    expect_type(&o, "f32[M, 5]");
    op_attrs_default(OP_PAD, at);
    at[0] = (op_attr){ .n = 4, .ints = { 0, 1, 0, 1 } };
    assert_int_equal(infer1(OP_PAD, at, &sp, 1, &o, err), 0);
    expect_type(&o, "f32[N, 8]");
    at[0] = (op_attr){ .n = 4, .ints = { 1, 0, 0, 0 } };
    assert_int_equal(infer1(OP_PAD, at, &sp, 1, &o, err), -1);
    op_set_sym_names(NULL, 0);
}

/* ---- errors ---- */

static void expect_infer_err(op_kind k, const op_attr *at, const op_type *in, int n_in, int n_out,
                             const char *needle)
{
    op_type o[OP_MAX_OUTPUTS];
    char err[OP_ERR_LEN] = "";
    int rc = op_get(k)->infer(at, in, n_in, o, n_out, err, sizeof err);
    if (rc != -1)
        fail_msg("%s: expected an error containing \"%s\"", op_get(k)->name, needle);
    if (!strstr(err, needle))
        fail_msg("%s: error \"%s\" lacks \"%s\"", op_get(k)->name, err, needle);
}

static void test_infer_errors(void **s)
{
    (void)s;
    op_attr at[OP_MAX_ATTRS];
    op_type x = { OP_F32, 2, { C(2), C(3) } };
    op_type x4 = { OP_F32, 4, { C(1), C(3), C(1), C(2) } };

    op_attrs_default(OP_TRANSPOSE, at);
    at[0] = (op_attr){ .n = 2, .ints = { 0, 0 } };
    expect_infer_err(OP_TRANSPOSE, at, &x, 1, 1, "not a permutation");
    at[0] = (op_attr){ .n = 2, .ints = { 0, 2 } };
    expect_infer_err(OP_TRANSPOSE, at, &x, 1, 1, "not a permutation");
    at[0] = (op_attr){ .n = 3, .ints = { 0, 1, 2 } };
    expect_infer_err(OP_TRANSPOSE, at, &x, 1, 1, "f32[2, 3]");
    at[0].n = OP_MAX_INTS + 1;
    expect_infer_err(OP_TRANSPOSE, at, &x, 1, 1, "at most");
    op_type bad = x;
    bad.rank = OP_MAX_RANK + 1;
    op_attrs_default(OP_TRANSPOSE, at);
    expect_infer_err(OP_TRANSPOSE, at, &bad, 1, 1, "rank");

    op_attrs_default(OP_RESHAPE, at);
    at[0] = (op_attr){ .n = 2, .ints = { -1, -1 } };
    expect_infer_err(OP_RESHAPE, at, &x, 1, 1, "more than one -1");
    at[0] = (op_attr){ .n = 2, .ints = { 4, 2 } };
    expect_infer_err(OP_RESHAPE, at, &x, 1, 1, "cannot reshape f32[2, 3] to [4, 2]");
    at[0] = (op_attr){ .n = 2, .ints = { 4, -1 } };
    expect_infer_err(OP_RESHAPE, at, &x, 1, 1, "not a multiple of 4");
    at[0] = (op_attr){ .n = 2, .ints = { -2, 3 } };
    expect_infer_err(OP_RESHAPE, at, &x, 1, 1, "negative");
    at[0] = (op_attr){ .n = 3, .ints = { 0, 0, 0 } };
    expect_infer_err(OP_RESHAPE, at, &x, 1, 1, "rank 2");
    at[0] = (op_attr){ .n = 3, .ints = { INT64_MAX, 4, -1 } };
    expect_infer_err(OP_RESHAPE, at, &x, 1, 1, "overflows");

    op_attrs_default(OP_FLATTEN, at);
    at[0].i = 1;
    at[1].i = 0;
    expect_infer_err(OP_FLATTEN, at, &x, 1, 1, "start_dim");

    op_attrs_default(OP_SQUEEZE, at);
    at[0] = (op_attr){ .n = 1, .ints = { 1 } };
    expect_infer_err(OP_SQUEEZE, at, &x4, 1, 1, "dim 1 of f32[1, 3, 1, 2] is not 1");
    at[0] = (op_attr){ .n = 2, .ints = { 0, -4 } };
    expect_infer_err(OP_SQUEEZE, at, &x4, 1, 1, "twice");
    at[0] = (op_attr){ .n = 1, .ints = { 4 } };
    expect_infer_err(OP_SQUEEZE, at, &x4, 1, 1, "out of range");

    op_attrs_default(OP_UNSQUEEZE, at);
    at[0] = (op_attr){ .n = 1, .ints = { 3 } };
    expect_infer_err(OP_UNSQUEEZE, at, &x, 1, 1, "out of range");
    at[0] = (op_attr){ .n = 5, .ints = { 0, 1, 2, 3, 4 } };
    expect_infer_err(OP_UNSQUEEZE, at, &x4, 1, 1, "exceeds rank");

    op_attrs_default(OP_EXPAND, at);
    at[0] = (op_attr){ .n = 2, .ints = { 4, 4 } };
    expect_infer_err(OP_EXPAND, at, &x, 1, 1, "cannot broadcast f32[2, 3] to shape [4, 4]");
    at[0] = (op_attr){ .n = 3, .ints = { -1, 2, 3 } };
    expect_infer_err(OP_EXPAND, at, &x, 1, 1, "no input dim");

    op_type cat[2] = { x, { OP_F64, 2, { C(2), C(3) } } };
    op_attrs_default(OP_CONCAT, at);
    expect_infer_err(OP_CONCAT, at, cat, 2, 1, "f64[2, 3]");
    cat[1] = (op_type){ OP_F32, 2, { C(2), C(4) } };
    expect_infer_err(OP_CONCAT, at, cat, 2, 1, "only dim 0 may differ");
    at[0].i = 2;
    expect_infer_err(OP_CONCAT, at, cat, 2, 1, "out of range");

    op_attrs_default(OP_SPLIT, at);
    at[0] = (op_attr){ .n = 2, .ints = { 1, 2 } };
    expect_infer_err(OP_SPLIT, at, &x, 1, 2, "sum to 3 but axis 0 of f32[2, 3] is 2");
    at[0] = (op_attr){ .n = 2, .ints = { 3, -1 } };
    expect_infer_err(OP_SPLIT, at, &x, 1, 2, ">= 0");
    at[0] = (op_attr){ .n = 2, .ints = { 1, 1 } };
    expect_infer_err(OP_SPLIT, at, &x, 1, 3, "asked for 3");

    op_attrs_default(OP_SLICE, at);
    at[0] = (op_attr){ .n = 1, .ints = { 0 } };
    at[1] = (op_attr){ .n = 1, .ints = { 2 } };
    at[3] = (op_attr){ .n = 1, .ints = { 0 } };
    expect_infer_err(OP_SLICE, at, &x, 1, 1, "step 0");
    at[3].n = 0;
    at[1].n = 2;
    expect_infer_err(OP_SLICE, at, &x, 1, 1, "same length");
    at[1].n = 1;
    at[2] = (op_attr){ .n = 1, .ints = { 5 } };
    expect_infer_err(OP_SLICE, at, &x, 1, 1, "out of range");

    op_type g[2] = { x, { OP_F32, 1, { C(2) } } };
    op_attrs_default(OP_GATHER, at);
    expect_infer_err(OP_GATHER, at, g, 2, 1, "i32 or i64");
    g[1] = (op_type){ OP_I64, 8, { C(1), C(1), C(1), C(1), C(1), C(1), C(1), C(1) } };
    expect_infer_err(OP_GATHER, at, g, 2, 1, "gives rank 9");
    at[0].i = -3;
    g[1].rank = 1;
    expect_infer_err(OP_GATHER, at, g, 2, 1, "out of range");

    op_attrs_default(OP_PAD, at);
    at[0] = (op_attr){ .n = 4, .ints = { 0, -1, 0, 0 } };
    expect_infer_err(OP_PAD, at, &x, 1, 1, "negative");
    at[0] = (op_attr){ .n = 2, .ints = { 0, 1 } };
    expect_infer_err(OP_PAD, at, &x, 1, 1, "2 * rank = 4");
    op_type u = { OP_U8, 1, { C(2) } };
    at[0] = (op_attr){ .n = 2, .ints = { 1, 1 } };
    at[1].f = 300.0;
    expect_infer_err(OP_PAD, at, &u, 1, 1, "does not fit dtype u8");
}

static void test_kernel_errors(void **s)
{
    (void)s;
    char err[OP_ERR_LEN];
    op_attr at[OP_MAX_ATTRS];
    int64_t dx[] = { 4, 3 }, di[] = { 3 };

    /* gather: an out-of-range index is an error from the kernel, not a crash */
    for (int dt = 0; dt < 2; dt++) {
        op_tensor in[2] = { tensor(OP_F32, 2, dx), tensor(dt ? OP_I64 : OP_I32, 1, di) }, y;
        int64_t bad[] = { 4, -5 };
        for (int b = 0; b < 2; b++) {
            for (int i = 0; i < 3; i++) {
                int64_t v = i == 1 ? bad[b] : i;
                if (dt)
                    ((int64_t *)in[1].data)[i] = v;
                else
                    ((int32_t *)in[1].data)[i] = (int32_t)v;
            }
            op_attrs_default(OP_GATHER, at);
            assert_int_equal(infer_alloc(OP_GATHER, at, in, 2, &y, 1, err), 0);
            assert_int_equal(run_kernel(OP_GATHER, at, in, 2, &y, 1, 1, err), -1);
            assert_non_null(strstr(err, "out of range for axis 0 of size 4"));
            assert_non_null(strstr(err, b ? "index -5" : "index 4"));
            free(y.data);
        }
        /* axis 1 of size 3, index 3 */
        ((int32_t *)in[1].data)[0] = 3;
        if (dt)
            ((int64_t *)in[1].data)[0] = 3;
        at[0].i = -1;
        assert_int_equal(infer_alloc(OP_GATHER, at, in, 2, &y, 1, err), 0);
        assert_int_equal(run_kernel(OP_GATHER, at, in, 2, &y, 1, 1, err), -1);
        assert_non_null(strstr(err, "size 3"));
        free(y.data);
        free(in[0].data);
        free(in[1].data);
    }

    /* a kernel given an output of the wrong shape refuses it */
    op_tensor x = tensor(OP_F32, 2, dx);
    int64_t dy[] = { 4, 3 };
    op_tensor y = tensor(OP_F32, 2, dy);
    op_attrs_default(OP_TRANSPOSE, at);
    assert_int_equal(run_kernel(OP_TRANSPOSE, at, &x, 1, &y, 1, 1, err), -1);
    assert_non_null(strstr(err, "expected f32[3, 4]"));
    /* and a bad attribute reaches the kernel as an error too */
    at[0] = (op_attr){ .n = 2, .ints = { 1, 1 } };
    assert_int_equal(run_kernel(OP_TRANSPOSE, at, &x, 1, &y, 1, 1, err), -1);
    assert_non_null(strstr(err, "not a permutation"));
    op_attrs_default(OP_SQUEEZE, at);
    at[0] = (op_attr){ .n = 1, .ints = { 0 } };
    op_type o;
    op_type xt;
    op_type_from_tensor(&x, &xt);
    assert_int_equal(op_get(OP_SQUEEZE)->infer(at, &xt, 1, &o, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "dim 0 of f32[4, 3] is not 1"));
    free(x.data);
    free(y.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose_ref),
        cmocka_unit_test(test_reshape_ref),
        cmocka_unit_test(test_squeeze_ref),
        cmocka_unit_test(test_expand_ref),
        cmocka_unit_test(test_concat_ref),
        cmocka_unit_test(test_split_ref),
        cmocka_unit_test(test_slice_ref),
        cmocka_unit_test(test_gather_ref),
        cmocka_unit_test(test_pad_ref),
        cmocka_unit_test(test_transpose_large),
        cmocka_unit_test(test_slice_expand_pad_large),
        cmocka_unit_test(test_gather_concat_split_large),
        cmocka_unit_test(test_reshape_inplace_and_large),
        cmocka_unit_test(test_symbolic_reshape),
        cmocka_unit_test(test_symbolic_other_ops),
        cmocka_unit_test(test_infer_errors),
        cmocka_unit_test(test_kernel_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
