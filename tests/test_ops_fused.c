/* tests/test_ops_fused.c -- the fused_elementwise op (ops/fused.c): its
 * kernel against the same program run op by op with the unfused kernels
 * (bitwise, f32 and f64, special values included), broadcasting (gathered
 * inputs, scalars, scalar-only subexpressions, an unused input, rank 0),
 * scalar mul/add/sub folded into the unary instruction that reads them,
 * thread counts, small workspaces, big (streamed) outputs, the program
 * encoding, and the checks that reject malformed programs and tensors with
 * a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ew_math.h"
#include "fused.h"
#include "kernels.h"

/* ---- helpers -------------------------------------------------------------- */

static uint64_t rng_state = 88172645463325252ull;
static double rnd(void) /* uniform [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 4503599627370496.0 - 1.0;
}

static op_tensor tensor_new(op_dtype dt, int rank, const int64_t *dims)
{
    op_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int d = 0; d < rank; d++)
        t.dims[d] = dims[d];
    int64_t n = op_tensor_numel(&t);
    t.data = calloc((size_t)(n ? n : 1), op_dtype_size(dt));
    assert_non_null(t.data);
    return t;
}

/* Random values in [-scale, scale), and every 7th a special value. */
static void tensor_fill(op_tensor *t, double scale, int specials)
{
    static const double sp[] = { 0.0, -0.0, 1.0, -1.0, INFINITY, -INFINITY, NAN, 1e-40, 88.0, -90.0, 0.5 };
    int64_t n = op_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double v = rnd() * scale;
        if (specials && i % 7 == 3)
            v = sp[(i / 7) % (sizeof sp / sizeof sp[0])];
        if (t->dtype == OP_F32)
            ((float *)t->data)[i] = (float)v;
        else
            ((double *)t->data)[i] = v;
    }
}


/* Output of op k on inputs in (shapes by its infer rule), by its CPU kernel. */
static op_tensor run_op(op_kind k, const op_attr *at, const op_tensor *in, int n_in)
{
    op_type ti[3], to;
    for (int i = 0; i < n_in; i++)
        op_type_from_tensor(&in[i], &ti[i]);
    char err[OP_ERR_LEN] = "";
    int rc = op_table[k].infer(at, ti, n_in, &to, 1, err, sizeof err);
    if (rc)
        fprintf(stderr, "%s: %s\n", op_table[k].name, err);
    assert_int_equal(rc, 0);
    op_tensor o;
    assert_int_equal(op_type_eval(&to, NULL, 0, &o), 0);
    o = tensor_new(o.dtype, o.rank, o.dims);
    op_ctx c;
    memset(&c, 0, sizeof c);
    c.n_threads = 1;
    rc = op_table[k].cpu(&c, at, in, n_in, &o, 1);
    if (rc)
        fprintf(stderr, "%s: %s\n", op_table[k].name, c.err);
    assert_int_equal(rc, 0);
    return o;
}

/* The reference: program p run one instruction at a time with the unfused
 * kernels (registers as tensors). Returns the last register. */
static op_tensor run_unfused(const fe_prog *p, const op_tensor *in)
{
    op_tensor regs[FE_MAX_REGS];
    for (int k = 0; k < p->n_in; k++)
        regs[k] = in[k];
    for (int i = 0; i < p->n_instr; i++) {
        const fe_instr *x = &p->ins[i];
        op_attr at[OP_MAX_ATTRS];
        op_attrs_default((op_kind)x->op, at);
        if (x->op == OP_GELU)
            at[0].i = x->variant;
        if (x->op == OP_LEAKY_RELU)
            at[0].f = x->p[0];
        if (x->op == OP_CLIP) {
            at[0].f = x->p[0];
            at[1].f = x->p[1];
        }
        op_tensor ops[2] = { regs[x->a], regs[x->b] };
        regs[p->n_in + i] = run_op((op_kind)x->op, at, ops, fe_op_arity(x->op));
    }
    for (int i = 0; i < p->n_instr - 1; i++)
        free(regs[p->n_in + i].data);
    return regs[p->n_in + p->n_instr - 1];
}

/* Runs the fused kernel with n_threads and a workspace of ws_size bytes
 * (SIZE_MAX: what the workspace function asks for). Returns the kernel's
 * status; *out is allocated by the infer rule's shape. */
static int run_fused(const fe_prog *p, const op_tensor *in, int n_threads, size_t ws_size, op_tensor *out,
                     char *msg)
{
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_FUSED_ELEMENTWISE, at);
    assert_true(fe_prog_encode(p, at) > 0);
    op_type ti[OP_MAX_INPUTS], to;
    for (int i = 0; i < p->n_in; i++)
        op_type_from_tensor(&in[i], &ti[i]);
    char err[OP_ERR_LEN] = "";
    int rc = op_infer_fused_elementwise(at, ti, p->n_in, &to, 1, err, sizeof err);
    if (rc)
        fprintf(stderr, "infer: %s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(op_type_eval(&to, NULL, 0, out), 0);
    *out = tensor_new(out->dtype, out->rank, out->dims);
    size_t want = op_ws_fused_elementwise(at, in, p->n_in, out, 1);
    size_t have = ws_size == SIZE_MAX ? want : ws_size;
    op_ctx c;
    memset(&c, 0, sizeof c);
    c.n_threads = n_threads;
    c.workspace = have ? malloc(have) : NULL; /* malloc: only 16-byte aligned */
    c.workspace_size = have;
    rc = op_cpu_fused_elementwise(&c, at, in, p->n_in, out, 1);
    if (msg)
        snprintf(msg, OP_ERR_LEN, "%s", c.err);
    free(c.workspace);
    return rc;
}

static void expect_same(const op_tensor *a, const op_tensor *b)
{
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->rank, b->rank);
    for (int d = 0; d < a->rank; d++)
        assert_int_equal(a->dims[d], b->dims[d]);
    int64_t n = op_tensor_numel(a);
    size_t esz = op_dtype_size(a->dtype);
    for (int64_t i = 0; i < n; i++)
        if (memcmp((const char *)a->data + i * esz, (const char *)b->data + i * esz, esz)) {
            double x = a->dtype == OP_F32 ? ((float *)a->data)[i] : ((double *)a->data)[i];
            double y = b->dtype == OP_F32 ? ((float *)b->data)[i] : ((double *)b->data)[i];
            if (isnan(x) && isnan(y))
                continue; /* which nan an op on two nans returns is the compiler's operand order */
            fprintf(stderr, "element %lld: fused %.9g, unfused %.9g\n", (long long)i, x, y);
            fail();
        }
}

/* Fused vs unfused on inputs in, bitwise (nan: any nan); 1 and 2 threads. */
static void check_prog(const fe_prog *p, const op_tensor *in)
{
    op_tensor ref = run_unfused(p, in);
    for (int t = 1; t <= 2; t++) {
        op_tensor got;
        assert_int_equal(run_fused(p, in, t, SIZE_MAX, &got, NULL), 0);
        expect_same(&got, &ref);
        free(got.data);
    }
    free(ref.data);
}

static fe_instr I2(int op, int a, int b) { return (fe_instr){ .op = op, .a = a, .b = b }; }
static fe_instr I1(int op, int a) { return (fe_instr){ .op = op, .a = a }; }

/* gelu(x*a + b) * sigmoid(x) + tanh(x*h): inputs x, a, b, h. */
static fe_prog chain_prog(void)
{
    fe_prog p;
    memset(&p, 0, sizeof p);
    p.n_in = 4;
    fe_instr ins[] = {
        I2(OP_MUL, 0, 1), I2(OP_ADD, 4, 2), I1(OP_GELU, 5), I1(OP_SIGMOID, 0),
        I2(OP_MUL, 6, 7), I2(OP_MUL, 0, 3), I1(OP_TANH, 9), I2(OP_ADD, 8, 10),
    };
    p.n_instr = (int)(sizeof ins / sizeof ins[0]);
    memcpy(p.ins, ins, sizeof ins);
    return p;
}

static void free_all(op_tensor *t, int n)
{
    for (int i = 0; i < n; i++)
        free(t[i].data);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_chain_matches_unfused(void **state)
{
    (void)state;
    for (int dt = OP_F32; dt <= OP_F64; dt++) {
        int64_t n = 10007; /* several tiles and a partial one */
        op_tensor in[4] = { tensor_new(dt, 1, &n), tensor_new(dt, 0, NULL), tensor_new(dt, 0, NULL),
                            tensor_new(dt, 0, NULL) };
        tensor_fill(&in[0], 6.0, 1);
        double consts[3] = { 1.5, 0.25, 0.5 };
        for (int k = 0; k < 3; k++) {
            if (dt == OP_F32)
                *(float *)in[k + 1].data = (float)consts[k];
            else
                *(double *)in[k + 1].data = consts[k];
        }
        fe_prog p = chain_prog();
        check_prog(&p, in);
        /* the tanh form of gelu as well */
        p.ins[2].variant = 1;
        check_prog(&p, in);
        free_all(in, 4);
    }
}

/* Every fusable op once, on data with nan, inf, -0 and subnormals. */
static void test_every_op(void **state)
{
    (void)state;
    for (int dt = OP_F32; dt <= OP_F64; dt++) {
        int64_t n = 3001;
        op_tensor in[2] = { tensor_new(dt, 1, &n), tensor_new(dt, 1, &n) };
        tensor_fill(&in[0], 4.0, 1);
        tensor_fill(&in[1], 3.0, 1);
        fe_prog p;
        memset(&p, 0, sizeof p);
        p.n_in = 2;
        int r = 2;
        fe_instr ins[] = {
            I2(OP_ADD, 0, 1), I2(OP_SUB, 0, 1), I2(OP_MUL, 0, 1), I2(OP_DIV, 0, 1), I2(OP_POW, 0, 1),
            I2(OP_MINIMUM, 0, 1), I2(OP_MAXIMUM, 0, 1), I1(OP_NEG, 0), I1(OP_ABS, 0), I1(OP_EXP, 0),
            I1(OP_LOG, 0), I1(OP_SQRT, 0), I1(OP_RSQRT, 0), I1(OP_RECIPROCAL, 0), I1(OP_TANH, 0),
            I1(OP_SIGMOID, 0), I1(OP_RELU, 0), I1(OP_LEAKY_RELU, 0), I1(OP_GELU, 0), I1(OP_GELU, 0),
            I1(OP_ERF, 0), I1(OP_CLIP, 0), I1(OP_IDENTITY, 0),
        };
        int n_ins = (int)(sizeof ins / sizeof ins[0]);
        for (int i = 0; i < n_ins; i++) {
            /* one op alone, so a nan of one op does not hide another's result */
            memset(&p, 0, sizeof p);
            p.n_in = 2;
            p.n_instr = 1;
            p.ins[0] = ins[i];
            if (i == 19)
                p.ins[0].variant = 1;
            if (ins[i].op == OP_LEAKY_RELU)
                p.ins[0].p[0] = 0.1; /* not exact in f32: the rounding must match */
            if (ins[i].op == OP_CLIP) {
                p.ins[0].p[0] = -1.3;
                p.ins[0].p[1] = 2.7;
            }
            check_prog(&p, in);
            /* the same op fed by another instruction's tile buffer */
            p.ins[1] = p.ins[0];
            p.ins[0] = I2(OP_MUL, 0, 1);
            p.ins[1].a = r;
            if (fe_op_arity(p.ins[1].op) == 2)
                p.ins[1].b = r;
            p.n_instr = 2;
            check_prog(&p, in);
        }
        free_all(in, 2);
    }
}

/* A mul, add or sub by a scalar (or a mul then an add/sub) feeding only one
 * unary instruction is folded into that instruction's operand: the same bits
 * as the ops one by one, with either operand order, signed zeros, inf and nan
 * scalars, a tile buffer or a gathered input as the source, and not folded
 * where the result has another reader or feeds a binary op. */
static void test_folded_operands(void **state)
{
    (void)state;
    static const struct { int n, ins[4][3]; } P[] = { /* {op, a, b}: x = 0, s1 = 1, s2 = 2, y = 3 */
        { 2, { { OP_MUL, 0, 1 }, { OP_TANH, 4 } } },
        { 2, { { OP_MUL, 1, 0 }, { OP_TANH, 4 } } },
        { 2, { { OP_ADD, 0, 2 }, { OP_SIGMOID, 4 } } },
        { 2, { { OP_ADD, 2, 0 }, { OP_SIGMOID, 4 } } },
        { 2, { { OP_SUB, 0, 2 }, { OP_EXP, 4 } } },
        { 2, { { OP_SUB, 2, 0 }, { OP_EXP, 4 } } },
        { 3, { { OP_MUL, 0, 1 }, { OP_ADD, 4, 2 }, { OP_GELU, 5 } } },
        { 3, { { OP_MUL, 1, 0 }, { OP_SUB, 2, 4 }, { OP_GELU, 5 } } },
        { 3, { { OP_MUL, 0, 1 }, { OP_SUB, 4, 2 }, { OP_RELU, 5 } } },
        { 3, { { OP_MUL, 0, 1 }, { OP_TANH, 4 }, { OP_ADD, 5, 4 } } },                  /* two readers */
        { 4, { { OP_MUL, 0, 3 }, { OP_MUL, 4, 1 }, { OP_ADD, 5, 2 }, { OP_NEG, 6 } } }, /* from a buffer */
        { 3, { { OP_ADD, 0, 2 }, { OP_MUL, 4, 1 }, { OP_SIGMOID, 5 } } },               /* (x + c) * m */
        { 2, { { OP_MUL, 0, 1 }, { OP_ADD, 4, 3 } } },                                  /* binary reader */
        { 4, { { OP_MUL, 0, 1 }, { OP_TANH, 4 }, { OP_MUL, 5, 2 }, { OP_SIGMOID, 6 } } },
    };
    static const double S[][2] = { { 1.5, -0.25 }, { -0.0, 0.0 }, { 0.0, -0.0 }, { -3.0, INFINITY }, { NAN, 2.0 } };
    for (int dt = OP_F32; dt <= OP_F64; dt++) {
        int64_t n = 2500;
        op_tensor in[4] = { tensor_new(dt, 1, &n), tensor_new(dt, 0, NULL), tensor_new(dt, 0, NULL),
                            tensor_new(dt, 1, &n) };
        tensor_fill(&in[0], 5.0, 1);
        tensor_fill(&in[3], 2.0, 1);
        for (size_t k = 0; k < sizeof S / sizeof S[0]; k++) {
            for (int j = 0; j < 2; j++) {
                if (dt == OP_F32)
                    *(float *)in[1 + j].data = (float)S[k][j];
                else
                    *(double *)in[1 + j].data = S[k][j];
            }
            for (size_t q = 0; q < sizeof P / sizeof P[0]; q++) {
                fe_prog p;
                memset(&p, 0, sizeof p);
                p.n_in = 4;
                for (int i = 0; i < P[q].n; i++)
                    p.ins[p.n_instr++] = (fe_instr){ .op = P[q].ins[i][0], .a = P[q].ins[i][1], .b = P[q].ins[i][2] };
                check_prog(&p, in);
            }
        }
        /* folded: gelu(x*s1 + s2) needs no tile buffer at all; with a second
         * reader of x*s1 it does */
        fe_prog p;
        memset(&p, 0, sizeof p);
        p.n_in = 4;
        p.n_instr = 3;
        p.ins[0] = I2(OP_MUL, 0, 1);
        p.ins[1] = I2(OP_ADD, 4, 2);
        p.ins[2] = I1(OP_GELU, 5);
        op_attr at[OP_MAX_ATTRS];
        op_attrs_default(OP_FUSED_ELEMENTWISE, at);
        fe_prog_encode(&p, at);
        op_tensor out = tensor_new(dt, 1, &n);
        assert_int_equal(op_ws_fused_elementwise(at, in, 4, &out, 1), 0);
        p.ins[2] = I2(OP_ADD, 5, 4);
        fe_prog_encode(&p, at);
        assert_true(op_ws_fused_elementwise(at, in, 4, &out, 1) > 0);
        free(out.data);
        free_all(in, 4);
    }
    /* the source a gathered (broadcast) input: x[40, 33] + tanh(g[33] * s) */
    int64_t dx[2] = { 40, 33 }, dg[1] = { 33 };
    op_tensor in[3] = { tensor_new(OP_F32, 2, dx), tensor_new(OP_F32, 1, dg), tensor_new(OP_F32, 0, NULL) };
    tensor_fill(&in[0], 3.0, 1);
    tensor_fill(&in[1], 3.0, 1);
    *(float *)in[2].data = -0.75f;
    fe_prog p;
    memset(&p, 0, sizeof p);
    p.n_in = 3;
    p.n_instr = 3;
    p.ins[0] = I2(OP_MUL, 1, 2);
    p.ins[1] = I1(OP_TANH, 3);
    p.ins[2] = I2(OP_ADD, 0, 4);
    check_prog(&p, in);
    free_all(in, 3);
}

static void test_broadcast(void **state)
{
    (void)state;
    /* x[4,5,6] + per-channel c[5,1] * row r[6] + scalar s, then a tree */
    int64_t dx[3] = { 4, 5, 6 }, dc[2] = { 5, 1 }, dr[1] = { 6 }, dq[3] = { 4, 1, 6 };
    op_tensor in[5] = { tensor_new(OP_F32, 3, dx), tensor_new(OP_F32, 2, dc), tensor_new(OP_F32, 1, dr),
                        tensor_new(OP_F32, 0, NULL), tensor_new(OP_F32, 3, dq) };
    for (int k = 0; k < 5; k++)
        tensor_fill(&in[k], 2.0, 0);
    fe_prog p;
    memset(&p, 0, sizeof p);
    p.n_in = 5;
    fe_instr ins[] = {
        I2(OP_MUL, 1, 2),     /* 5: [5,6] from two gathered inputs */
        I2(OP_ADD, 0, 5),     /* 6 */
        I2(OP_SUB, 6, 3),     /* 7: scalar operand */
        I1(OP_TANH, 4),       /* 8: [4,1,6] */
        I2(OP_MAXIMUM, 7, 8), /* 9 */
        I2(OP_MUL, 9, 9),     /* 10: the same register twice */
    };
    p.n_instr = 6;
    memcpy(p.ins, ins, sizeof ins);
    check_prog(&p, in);
    /* the output shape from a gathered input, x not read at all */
    p.n_instr = 1;
    p.ins[0] = I2(OP_MUL, 1, 2);
    op_tensor got;
    assert_int_equal(run_fused(&p, in, 1, SIZE_MAX, &got, NULL), 0);
    assert_int_equal(got.rank, 3);
    assert_int_equal(got.dims[0], 4);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++)
            for (int k = 0; k < 6; k++)
                assert_true(((float *)got.data)[(i * 5 + j) * 6 + k] ==
                            ((float *)in[1].data)[j] * ((float *)in[2].data)[k]);
    free(got.data);
    /* a scalar-only result broadcast to the shape of an unused input */
    p.ins[0] = I1(OP_EXP, 3);
    p.ins[1] = I2(OP_MUL, 5, 3);
    p.n_instr = 2;
    assert_int_equal(run_fused(&p, in, 2, SIZE_MAX, &got, NULL), 0);
    float s = *(float *)in[3].data, want = ew_exp_f32(s) * s;
    assert_int_equal(op_tensor_numel(&got), 120);
    for (int i = 0; i < 120; i++)
        assert_true(memcmp(&((float *)got.data)[i], &want, 4) == 0);
    free(got.data);
    free_all(in, 5);
    /* rank 0 everything */
    op_tensor z[2] = { tensor_new(OP_F64, 0, NULL), tensor_new(OP_F64, 0, NULL) };
    *(double *)z[0].data = 0.75;
    *(double *)z[1].data = -2.0;
    p.n_in = 2;
    p.n_instr = 2;
    p.ins[0] = I2(OP_POW, 0, 1);
    p.ins[1] = I1(OP_SIGMOID, 2);
    check_prog(&p, z);
    free_all(z, 2);
    /* a zero-size output */
    int64_t d0[2] = { 0, 3 };
    op_tensor e[1] = { tensor_new(OP_F32, 2, d0) };
    p.n_in = 1;
    p.n_instr = 2;
    p.ins[0] = I1(OP_EXP, 0);
    p.ins[1] = I1(OP_NEG, 1);
    assert_int_equal(run_fused(&p, e, 2, SIZE_MAX, &got, NULL), 0);
    assert_int_equal(op_tensor_numel(&got), 0);
    free(got.data);
    free_all(e, 1);
}

/* Big enough for several threads; each thread count and a workspace with
 * room for one thread only give the same bits. */
static void test_threads_and_workspace(void **state)
{
    (void)state;
    int64_t dx[2] = { 300, 1001 }, db[1] = { 1001 };
    op_tensor in[4] = { tensor_new(OP_F32, 2, dx), tensor_new(OP_F32, 1, db), tensor_new(OP_F32, 0, NULL),
                        tensor_new(OP_F32, 0, NULL) };
    tensor_fill(&in[0], 5.0, 1);
    tensor_fill(&in[1], 1.0, 0);
    *(float *)in[2].data = 0.25f;
    *(float *)in[3].data = 0.5f;
    fe_prog p = chain_prog(); /* here the "a" of x*a is the row vector b[1001] */
    op_tensor ref = run_unfused(&p, in);
    for (int t = 1; t <= 4; t++) {
        op_tensor got;
        assert_int_equal(run_fused(&p, in, t, SIZE_MAX, &got, NULL), 0);
        expect_same(&got, &ref);
        free(got.data);
    }
    /* the workspace function's size, and a workspace for one thread only */
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_FUSED_ELEMENTWISE, at);
    fe_prog_encode(&p, at);
    size_t ws = op_ws_fused_elementwise(at, in, 4, &ref, 1);
    assert_true(ws > 64);
    assert_int_equal((ws - 64) % 8192, 0);
    size_t one = (ws - 64) / 32 + 64; /* 32 slots: 300*1001 floats are > 32 tiles */
    op_tensor got;
    char msg[OP_ERR_LEN];
    assert_int_equal(run_fused(&p, in, 2, one, &got, msg), 0);
    expect_same(&got, &ref);
    free(got.data);
    /* too small for even one thread: an error, not a crash */
    assert_int_equal(run_fused(&p, in, 2, one - 65, &got, msg), -1);
    assert_non_null(strstr(msg, "workspace"));
    free(got.data);
    assert_int_equal(run_fused(&p, in, 1, 0, &got, msg), -1);
    free(got.data);
    free(ref.data);
    free_all(in, 4);
}

/* Outputs of 8 MiB and more go out through streaming stores: the same bits,
 * also into an output that is not 16-byte aligned. */
static void test_big_output(void **state)
{
    (void)state;
    int64_t n = (8 << 20) / 4 + 1001;
    op_tensor in[4] = { tensor_new(OP_F32, 1, &n), tensor_new(OP_F32, 0, NULL), tensor_new(OP_F32, 0, NULL),
                        tensor_new(OP_F32, 0, NULL) };
    tensor_fill(&in[0], 6.0, 1);
    *(float *)in[1].data = 1.5f;
    *(float *)in[2].data = 0.25f;
    *(float *)in[3].data = 0.5f;
    fe_prog p = chain_prog();
    op_tensor ref = run_unfused(&p, in);
    for (int t = 1; t <= 2; t++) {
        op_tensor got;
        assert_int_equal(run_fused(&p, in, t, SIZE_MAX, &got, NULL), 0);
        expect_same(&got, &ref);
        free(got.data);
    }
    /* unaligned: the output starts 4 bytes into a buffer */
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_FUSED_ELEMENTWISE, at);
    fe_prog_encode(&p, at);
    float *raw = malloc((size_t)(n + 1) * 4);
    assert_non_null(raw);
    op_tensor out = ref;
    out.data = raw + ((uintptr_t)raw % 16 == 0 ? 1 : 0);
    size_t ws = op_ws_fused_elementwise(at, in, 4, &out, 1);
    op_ctx c;
    memset(&c, 0, sizeof c);
    c.n_threads = 2;
    c.workspace = malloc(ws);
    c.workspace_size = ws;
    assert_int_equal(op_cpu_fused_elementwise(&c, at, in, 4, &out, 1), 0);
    expect_same(&out, &ref);
    free(c.workspace);
    free(raw);
    free(ref.data);
    free_all(in, 4);
}

static void test_encode_decode(void **state)
{
    (void)state;
    fe_prog p;
    memset(&p, 0, sizeof p);
    p.n_in = 3;
    for (int i = 0; i < 20; i++) { /* 20 instructions, 40 words: spans three attributes */
        p.ins[p.n_instr++] = (fe_instr){ .op = OP_CLIP, .a = i == 0 ? 0 : p.n_in + i - 1, .p = { -1.0 - i, 1.0 + i } };
    }
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_FUSED_ELEMENTWISE, at);
    assert_int_equal(fe_prog_encode(&p, at), 60);
    assert_int_equal(at[0].n, OP_MAX_INTS);
    assert_int_equal(at[3].n, 60 - 3 * OP_MAX_INTS);
    fe_prog q;
    char err[OP_ERR_LEN];
    assert_int_equal(fe_prog_decode(at, 3, &q, err, sizeof err), 0);
    assert_int_equal(q.n_instr, 20);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(q.ins[i].op, OP_CLIP);
        assert_int_equal(q.ins[i].a, p.ins[i].a);
        assert_true(q.ins[i].p[0] == -1.0 - i && q.ins[i].p[1] == 1.0 + i);
    }
    /* more than 4 * OP_MAX_INTS words does not fit */
    p.n_instr = 0;
    for (int i = 0; i < 33; i++)
        p.ins[p.n_instr++] = (fe_instr){ .op = OP_CLIP, .a = 0, .p = { 0, 1 } };
    assert_int_equal(fe_prog_encode(&p, at), -1);
    assert_int_equal(fe_op_arity(OP_CAST), 0);
    assert_int_equal(fe_op_arity(OP_WHERE), 0);
    assert_int_equal(fe_op_arity(OP_FUSED_ELEMENTWISE), 0);
    assert_int_equal(fe_op_arity(OP_MAXIMUM), 2);
}

/* Infer on the chain's types with a program given as words. */
static int infer_words(const int64_t *w, int nw, const op_type *ti, int n_in, op_type *to, char *err)
{
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_FUSED_ELEMENTWISE, at);
    for (int i = 0; i < nw; i++) {
        at[i / OP_MAX_INTS].ints[i % OP_MAX_INTS] = w[i];
        at[i / OP_MAX_INTS].n++;
    }
    err[0] = 0;
    return op_infer_fused_elementwise(at, ti, n_in, to, 1, err, OP_ERR_LEN);
}

static void test_infer_and_malformed(void **state)
{
    (void)state;
    op_type ti[3] = {
        { OP_F32, 2, { { 1, 0 }, { 1, -1 } } }, /* [N, 1] */
        { OP_F32, 1, { { 7, -1 } } },           /* [7] */
        { OP_F32, 0, { { 0, 0 } } },            /* [] */
    }, to;
    char err[OP_ERR_LEN];
    int64_t ok[] = { fe_word(OP_MUL, 0, 1, 0), fe_word(OP_GELU, 3, 0, 1), fe_word(OP_ADD, 4, 2, 0) };
    assert_int_equal(infer_words(ok, 3, ti, 3, &to, err), 0);
    assert_int_equal(to.dtype, OP_F32);
    assert_int_equal(to.rank, 2);
    assert_true(to.dims[0].sym == 0 && to.dims[0].coef == 1);
    assert_true(to.dims[1].sym < 0 && to.dims[1].coef == 7);

    struct { int64_t w[4]; int nw; const char *msg; } bad[] = {
        { { 0 }, 0, "empty program" },
        { { fe_word(OP_CAST, 0, 0, 0) }, 1, "cannot be fused" },
        { { fe_word(OP_MATMUL, 0, 1, 0) }, 1, "cannot be fused" },
        { { fe_word(OP_FUSED_ELEMENTWISE, 0, 0, 0) }, 1, "cannot be fused" },
        { { fe_word(255, 0, 0, 0) }, 1, "cannot be fused" },
        { { fe_word(OP_ADD, 0, 3, 0) }, 1, "reads register 3" },       /* its own result */
        { { fe_word(OP_EXP, 0, 0, 0), fe_word(OP_ADD, 5, 0, 0) }, 2, "reads register 5" },
        { { fe_word(OP_EXP, 0, 2, 0) }, 1, "unary" },
        { { fe_word(OP_GELU, 0, 0, 2) }, 1, "variant" },
        { { fe_word(OP_EXP, 0, 0, 1) }, 1, "variant" },
        { { fe_word(OP_CLIP, 0, 0, 0), fe_param_word(0.0) }, 2, "lacks 1 param" },
        { { fe_word(OP_LEAKY_RELU, 0, 0, 0) }, 1, "lacks 1 param" },
        { { fe_word(OP_CLIP, 0, 0, 0), fe_param_word(NAN), fe_param_word(1.0) }, 3, "nan" },
        { { fe_word(OP_LEAKY_RELU, 0, 0, 0), fe_param_word(INFINITY) }, 2, "not finite" },
        { { -5 }, 1, "not an instruction" },
        { { (int64_t)1 << 40 | OP_EXP }, 1, "not an instruction" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = infer_words(bad[i].w, bad[i].nw, ti, 3, &to, err);
        if (rc == 0 || !strstr(err, bad[i].msg))
            fprintf(stderr, "case %zu: rc %d, message '%s', wanted '%s'\n", i, rc, err, bad[i].msg);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, bad[i].msg));
    }
    /* types: mixed dtypes, integers, shapes that do not broadcast, arity */
    op_type t2[2] = { ti[0], ti[1] };
    int64_t one[] = { fe_word(OP_ADD, 0, 1, 0) };
    t2[1].dtype = OP_F64;
    assert_int_equal(infer_words(one, 1, t2, 2, &to, err), -1);
    assert_non_null(strstr(err, "all f64"));
    t2[0].dtype = t2[1].dtype = OP_I32;
    assert_int_equal(infer_words(one, 1, t2, 2, &to, err), -1);
    t2[0] = ti[1];
    t2[1] = ti[1];
    t2[1].dims[0].coef = 8;
    assert_int_equal(infer_words(one, 1, t2, 2, &to, err), -1);
    assert_int_equal(infer_words(one, 1, ti, 0, &to, err), -1);
    assert_non_null(strstr(err, "inputs"));
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_FUSED_ELEMENTWISE, at);
    at[1].n = OP_MAX_INTS + 1; /* a count no loader gives, yet checked */
    assert_int_equal(op_infer_fused_elementwise(at, ti, 3, &to, 1, err, sizeof err), -1);
    op_type two[2];
    at[1].n = 0;
    at[0].n = 1;
    at[0].ints[0] = one[0];
    assert_int_equal(op_infer_fused_elementwise(at, ti, 3, two, 2, err, sizeof err), -1);
    assert_int_equal(op_infer_fused_elementwise(NULL, ti, 3, &to, 1, err, sizeof err), -1);
}

/* The kernel checks its tensors itself (it may run on shapes nobody inferred). */
static void test_kernel_rejects(void **state)
{
    (void)state;
    int64_t n = 10, m = 11;
    op_tensor in[2] = { tensor_new(OP_F32, 1, &n), tensor_new(OP_F32, 1, &n) };
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_FUSED_ELEMENTWISE, at);
    at[0].n = 1;
    at[0].ints[0] = fe_word(OP_ADD, 0, 1, 0);
    op_ctx c;
    memset(&c, 0, sizeof c);
    c.n_threads = 1;
    op_tensor out = tensor_new(OP_F32, 1, &m);
    assert_int_equal(op_cpu_fused_elementwise(&c, at, in, 2, &out, 1), -1);
    assert_non_null(strstr(c.err, "output dim 0 is 11"));
    free(out.data);
    out = tensor_new(OP_F64, 1, &n);
    assert_int_equal(op_cpu_fused_elementwise(&c, at, in, 2, &out, 1), -1);
    free(out.data);
    out = tensor_new(OP_F32, 1, &n);
    void *keep = in[1].data;
    in[1].data = NULL;
    assert_int_equal(op_cpu_fused_elementwise(&c, at, in, 2, &out, 1), -1);
    assert_non_null(strstr(c.err, "no data"));
    in[1].data = keep;
    at[0].ints[0] = fe_word(OP_ADD, 0, 2, 0);
    assert_int_equal(op_cpu_fused_elementwise(&c, at, in, 2, &out, 1), -1);
    assert_non_null(strstr(c.err, "register 2"));
    at[0].ints[0] = fe_word(OP_ADD, 0, 1, 0);
    assert_int_equal(op_cpu_fused_elementwise(&c, at, in, 2, &out, 1), 0);
    assert_int_equal(op_ws_fused_elementwise(at, in, 2, &out, 1), 0); /* nothing to keep in tiles */
    free(out.data);
    free_all(in, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_matches_unfused),
        cmocka_unit_test(test_every_op),
        cmocka_unit_test(test_folded_operands),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_threads_and_workspace),
        cmocka_unit_test(test_big_output),
        cmocka_unit_test(test_encode_decode),
        cmocka_unit_test(test_infer_and_malformed),
        cmocka_unit_test(test_kernel_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
