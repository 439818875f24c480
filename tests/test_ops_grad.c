/* tests/test_ops_grad.c -- the ops of ops/grad_kernels.c called directly:
 * reshape_as / expand_as / sum_to (values, symbolic shapes, rejected
 * shapes), gather_grad (accumulation, index errors), conv2d backward data and
 * filter against a naive loop over the conv2d definition, pooling gradients,
 * and kernels refusing tensors that do not match their inference rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grad_kernels.h"

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

static int infer2(op_kind k, const op_attr *attrs, op_type a, op_type b, op_type *out)
{
    op_type in[2] = { a, b };
    char err[OP_ERR_LEN];
    return op_table[k].infer(attrs, in, 2, out, 1, err, sizeof err);
}

static const op_dim SN = { 1, 0 }; /* the symbol N */
#define C(v) ((op_dim){ (v), -1 })

static void test_shape_helpers_infer(void **state)
{
    (void)state;
    op_type o;
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_SUM_TO, at);
    /* sum_to: [N, 3] -> [1, 3]; [N, 3] -> [3]; [2, 3] -> [2] is rejected */
    assert_int_equal(infer2(OP_SUM_TO, at, (op_type){ OP_F32, 2, { SN, C(3) } }, (op_type){ OP_F32, 2, { C(1), C(3) } }, &o), 0);
    assert_true(o.rank == 2 && op_dim_is(o.dims[0], 1) && op_dim_is(o.dims[1], 3));
    assert_int_equal(infer2(OP_SUM_TO, at, (op_type){ OP_F32, 2, { SN, C(3) } }, (op_type){ OP_F32, 1, { C(3) } }, &o), 0);
    assert_int_equal(o.rank, 1);
    assert_int_equal(infer2(OP_SUM_TO, at, (op_type){ OP_F32, 2, { C(2), C(3) } }, (op_type){ OP_F32, 1, { C(2) } }, &o), -1);
    assert_int_equal(infer2(OP_SUM_TO, at, (op_type){ OP_BOOL, 1, { C(2) } }, (op_type){ OP_F32, 1, { C(1) } }, &o), -1);
    /* expand_as keeps the symbol; x must broadcast to ref exactly */
    assert_int_equal(infer2(OP_EXPAND_AS, at, (op_type){ OP_F64, 0, { C(0) } }, (op_type){ OP_F32, 2, { SN, C(4) } }, &o), 0);
    assert_true(o.dtype == OP_F64 && op_dim_eq(o.dims[0], SN) && op_dim_is(o.dims[1], 4));
    assert_int_equal(infer2(OP_EXPAND_AS, at, (op_type){ OP_F32, 1, { C(2) } }, (op_type){ OP_F32, 2, { C(2), C(3) } }, &o), -1);
    assert_int_equal(infer2(OP_EXPAND_AS, at, (op_type){ OP_F32, 2, { C(2), C(3) } }, (op_type){ OP_F32, 1, { C(3) } }, &o), -1);
    /* reshape_as: [N, 6] -> [N, 2, 3] yes, -> [N, 3] no, -> [2N, 3] yes */
    assert_int_equal(infer2(OP_RESHAPE_AS, at, (op_type){ OP_F32, 2, { SN, C(6) } }, (op_type){ OP_I32, 3, { SN, C(2), C(3) } }, &o), 0);
    assert_true(o.dtype == OP_F32 && o.rank == 3);
    assert_int_equal(infer2(OP_RESHAPE_AS, at, (op_type){ OP_F32, 2, { SN, C(6) } }, (op_type){ OP_F32, 2, { SN, C(3) } }, &o), -1);
    assert_int_equal(infer2(OP_RESHAPE_AS, at, (op_type){ OP_F32, 2, { SN, C(6) } }, (op_type){ OP_F32, 2, { { 2, 0 }, C(3) } }, &o), 0);
    /* a corrupt type is rejected, not trusted */
    assert_int_equal(infer2(OP_RESHAPE_AS, at, (op_type){ OP_F32, 9, { C(0) } }, (op_type){ OP_F32, 1, { C(1) } }, &o), -1);
    assert_int_equal(infer2(OP_SUM_TO, at, (op_type){ OP_F32, 1, { C(-3) } }, (op_type){ OP_F32, 1, { C(1) } }, &o), -1);
}

static void test_shape_helpers_kernels(void **state)
{
    (void)state;
    op_ctx ctx = { .n_threads = 2 };
    float x[6] = { 1, 2, 3, 4, 5, 6 }, out[6];
    int64_t d23[2] = { 2, 3 }, d13[2] = { 1, 3 }, d21[2] = { 2, 1 }, d3[1] = { 3 }, d32[2] = { 3, 2 };
    float ref[6];
    op_tensor in[2] = { tens(OP_F32, 2, d23, x), tens(OP_F32, 2, d13, ref) };
    op_tensor o = tens(OP_F32, 2, d13, out);
    assert_int_equal(op_cpu_sum_to(&ctx, NULL, in, 2, &o, 1), 0);
    assert_true(out[0] == 5 && out[1] == 7 && out[2] == 9);
    in[1] = tens(OP_F32, 2, d21, ref);
    o = tens(OP_F32, 2, d21, out);
    assert_int_equal(op_cpu_sum_to(&ctx, NULL, in, 2, &o, 1), 0);
    assert_true(out[0] == 6 && out[1] == 15);
    in[1] = tens(OP_F32, 0, NULL, ref);
    o = tens(OP_F32, 0, NULL, out);
    assert_int_equal(op_cpu_sum_to(&ctx, NULL, in, 2, &o, 1), 0);
    assert_true(out[0] == 21);
    /* wrong output shape: refused */
    in[1] = tens(OP_F32, 2, d13, ref);
    o = tens(OP_F32, 2, d21, out);
    assert_int_equal(op_cpu_sum_to(&ctx, NULL, in, 2, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "sum_to"));
    /* expand_as: [3] -> [2, 3] */
    in[0] = tens(OP_F32, 1, d3, x);
    in[1] = tens(OP_F32, 2, d23, ref);
    o = tens(OP_F32, 2, d23, out);
    assert_int_equal(op_cpu_expand_as(&ctx, NULL, in, 2, &o, 1), 0);
    assert_true(out[0] == 1 && out[3] == 1 && out[5] == 3);
    /* reshape_as: [2, 3] -> [3, 2] keeps the order */
    in[0] = tens(OP_F32, 2, d23, x);
    in[1] = tens(OP_F32, 2, d32, ref);
    o = tens(OP_F32, 2, d32, out);
    assert_int_equal(op_cpu_reshape_as(&ctx, NULL, in, 2, &o, 1), 0);
    for (int i = 0; i < 6; i++)
        assert_true(out[i] == x[i]);
}

static void test_gather_grad(void **state)
{
    (void)state;
    op_ctx ctx = { .n_threads = 1 };
    double gy[6] = { 1, 2, 3, 4, 5, 6 }, out[6], ref[6];
    int64_t idx[3] = { 1, 1, -1 }, d32[2] = { 3, 2 }, d3[1] = { 3 };
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_GATHER_GRAD, at);
    op_tensor in[3] = { tens(OP_F64, 2, d32, gy), tens(OP_I64, 1, d3, idx), tens(OP_F64, 2, d32, ref) };
    op_tensor o = tens(OP_F64, 2, d32, out);
    memset(out, 0x7f, sizeof out);
    assert_int_equal(op_cpu_gather_grad(&ctx, at, in, 3, &o, 1), 0);
    double want[6] = { 0, 0, 4, 6, 5, 6 };
    for (int i = 0; i < 6; i++)
        assert_true(out[i] == want[i]);
    idx[2] = 3;
    assert_int_equal(op_cpu_gather_grad(&ctx, at, in, 3, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "out of range"));
    /* gy that gather could not have made */
    op_type ti[3] = { { OP_F64, 2, { C(2), C(2) } }, { OP_I64, 1, { C(3) } }, { OP_F64, 2, { C(3), C(2) } } }, to;
    char err[OP_ERR_LEN];
    assert_int_equal(op_infer_gather_grad(at, ti, 3, &to, 1, err, sizeof err), -1);
}

/* conv2d definition, accumulated both ways: gx += gy * w, gw += gy * x */
static void naive_conv_grads(const float *x, const float *w, const float *gy, float *gx, float *gw, int64_t N,
                             int64_t Cc, int64_t H, int64_t W, int64_t O, int64_t kh, int64_t kw, int64_t OH,
                             int64_t OW, const int64_t *s, const int64_t *p, const int64_t *d, int64_t G)
{
    int64_t Cg = Cc / G, Og = O / G;
    memset(gx, 0, sizeof(float) * (size_t)(N * Cc * H * W));
    memset(gw, 0, sizeof(float) * (size_t)(O * Cg * kh * kw));
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++)
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t i = 0; i < kh; i++)
                            for (int64_t j = 0; j < kw; j++) {
                                int64_t ih = oh * s[0] - p[0] + i * d[0], iw = ow * s[1] - p[1] + j * d[1];
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                    continue;
                                int64_t xc = (o / Og) * Cg + c;
                                float g = gy[((n * O + o) * OH + oh) * OW + ow];
                                gx[((n * Cc + xc) * H + ih) * W + iw] += g * w[((o * Cg + c) * kh + i) * kw + j];
                                gw[((o * Cg + c) * kh + i) * kw + j] += g * x[((n * Cc + xc) * H + ih) * W + iw];
                            }
}

typedef struct conv_case {
    int64_t N, C, H, W, O, G, kh, kw, s[2], p[2], d[2];
} conv_case;

static float rnd_unit(unsigned *r)
{
    *r = *r * 1103515245u + 12345u;
    return (float)(*r >> 16 & 255) / 128.0f - 1.0f;
}

static void attrs_for(const conv_case *c, op_attr *at, int64_t hw0, int64_t hw1)
{
    op_attrs_default(OP_CONV2D_BACKWARD_DATA, at);
    for (int i = 0; i < 2; i++) {
        at[0].ints[i] = c->s[i];
        at[1].ints[i] = c->p[i];
        at[2].ints[i] = c->d[i];
    }
    at[3].i = c->G;
    at[4].n = 2;
    at[4].ints[0] = hw0;
    at[4].ints[1] = hw1;
}

/* Every element of got within float rounding of want (got was poisoned
 * before the call, so an element the kernel skipped fails too). */
static void assert_close(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i]))))
            fail_msg("element %zu: got %g, want %g", i, (double)got[i], (double)want[i]);
}

/* Runs both backward kernels on c with n_threads threads and a workspace
 * made for `images` images per chunk (0: what the op asks for) and checks
 * them against naive_conv_grads. The workspace is malloc'd to the byte, so
 * ASan catches any write past it. */
static void run_conv_case(const conv_case *c, int n_threads, int64_t images)
{
    const int64_t Cg = c->C / c->G, Og = c->O / c->G;
    const int64_t OH = (c->H + 2 * c->p[0] - c->d[0] * (c->kh - 1) - 1) / c->s[0] + 1;
    const int64_t OW = (c->W + 2 * c->p[1] - c->d[1] * (c->kw - 1) - 1) / c->s[1] + 1;
    int64_t dx[4] = { c->N, c->C, c->H, c->W }, dw[4] = { c->O, Cg, c->kh, c->kw }, dy[4] = { c->N, c->O, OH, OW };
    size_t nx = (size_t)(c->N * c->C * c->H * c->W), nw = (size_t)(c->O * Cg * c->kh * c->kw);
    size_t ny = (size_t)(c->N * c->O * OH * OW);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *gy = malloc(ny * 4);
    float *gx = malloc(nx * 4), *gw = malloc(nw * 4), *rx = malloc(nx * 4), *rw = malloc(nw * 4);
    unsigned r = 1;
    for (size_t i = 0; i < nx; i++)
        x[i] = rnd_unit(&r);
    for (size_t i = 0; i < nw; i++)
        w[i] = rnd_unit(&r);
    for (size_t i = 0; i < ny; i++)
        gy[i] = rnd_unit(&r);
    naive_conv_grads(x, w, gy, rx, rw, c->N, c->C, c->H, c->W, c->O, c->kh, c->kw, OH, OW, c->s, c->p, c->d, c->G);
    /* bytes per image of a chunk: col [Cg*kh*kw, OHW] and gy [Og, OHW] */
    size_t img = (size_t)((Cg * c->kh * c->kw + Og) * OH * OW) * sizeof(float);
    op_attr at[OP_MAX_ATTRS];
    op_ctx ctx = { .n_threads = n_threads };

    attrs_for(c, at, c->H, c->W);
    op_tensor in[2] = { tens(OP_F32, 4, dy, gy), tens(OP_F32, 4, dw, w) }, o = tens(OP_F32, 4, dx, gx);
    size_t ws = op_ws_conv2d_backward_data(at, in, 2, &o, 1);
    assert_int_equal(ws, (size_t)c->N * img + 128);
    if (images > 0)
        ws = (size_t)images * img + 128;
    ctx.workspace = malloc(ws);
    ctx.workspace_size = ws;
    memset(gx, 0xff, nx * 4); /* NaN */
    assert_int_equal(op_cpu_conv2d_backward_data(&ctx, at, in, 2, &o, 1), 0);
    assert_close(gx, rx, nx);
    free(ctx.workspace);

    attrs_for(c, at, c->kh, c->kw);
    in[0] = tens(OP_F32, 4, dx, x);
    in[1] = tens(OP_F32, 4, dy, gy);
    o = tens(OP_F32, 4, dw, gw);
    size_t ws_f = op_ws_conv2d_backward_filter(at, in, 2, &o, 1);
    /* the whole (small) batch, plus room for the filter's partial sums */
    assert_true(ws_f >= (size_t)c->N * img + 128);
    ws = images > 0 ? ws_f - (size_t)c->N * img + (size_t)images * img : ws_f;
    ctx.workspace = malloc(ws);
    ctx.workspace_size = ws;
    memset(gw, 0xff, nw * 4);
    assert_int_equal(op_cpu_conv2d_backward_filter(&ctx, at, in, 2, &o, 1), 0);
    assert_close(gw, rw, nw);
    free(ctx.workspace);
    free(x), free(w), free(gy), free(gx), free(gw), free(rx), free(rw);
}

static const conv_case conv_cases[] = {
    /* groups, stride, padding, dilation, unequal per axis */
    { 2, 4, 7, 6, 6, 2, 3, 2, { 2, 1 }, { 1, 1 }, { 2, 1 } },
    /* stride along W (col2im's strided path), one output channel per group */
    { 5, 6, 9, 11, 3, 3, 3, 3, { 1, 2 }, { 0, 2 }, { 1, 2 } },
    /* big enough for the threaded paths (images split over threads) */
    { 8, 4, 16, 16, 8, 2, 3, 3, { 1, 1 }, { 1, 1 }, { 1, 1 } },
    /* kernel columns that see only padding; depthwise */
    { 3, 2, 4, 2, 2, 1, 2, 3, { 1, 1 }, { 1, 2 }, { 1, 2 } },
    { 3, 4, 5, 5, 8, 4, 3, 3, { 2, 2 }, { 1, 1 }, { 1, 1 } },
    /* Og*K = 64*576 > CONV_BWD_SLICE_MAX: the filter's unsliced sgemm */
    { 3, 64, 4, 5, 64, 1, 3, 3, { 1, 1 }, { 1, 1 }, { 1, 1 } },
};

static void test_conv_backward(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof conv_cases / sizeof conv_cases[0]; k++)
        for (int nt = 1; nt <= 2; nt++)
            run_conv_case(&conv_cases[k], nt, 0);
    /* 475 KiB per image: the filter's 8 slices of 3 images each go through
     * the sgemm 2 images (1 MiB) at a time */
    const conv_case big = { 24, 1, 64, 64, 4, 1, 5, 5, { 1, 1 }, { 2, 2 }, { 1, 1 } };
    run_conv_case(&big, 2, 0);
}

/* A workspace for fewer images than the batch: the kernels go through the
 * batch in chunks (uneven last chunk included). */
static void test_conv_backward_chunks(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof conv_cases / sizeof conv_cases[0]; k++)
        for (int64_t images = 1; images < conv_cases[k].N && images <= 3; images++)
            for (int nt = 1; nt <= 2; nt++)
                run_conv_case(&conv_cases[k], nt, images);
}

static void test_conv_backward_errors(void **state)
{
    (void)state;
    const conv_case c = conv_cases[0];
    const int64_t Cg = c.C / c.G, Og = c.O / c.G, OH = 3, OW = 7;
    int64_t dx[4] = { c.N, c.C, c.H, c.W }, dw[4] = { c.O, Cg, c.kh, c.kw }, dy[4] = { c.N, c.O, OH, OW };
    float x[2 * 4 * 7 * 6] = { 0 }, w[6 * 2 * 3 * 2] = { 0 }, gy[2 * 6 * 3 * 7] = { 0 }, gx[2 * 4 * 7 * 6];
    size_t img = (size_t)((Cg * c.kh * c.kw + Og) * OH * OW) * sizeof(float);
    op_attr at[OP_MAX_ATTRS];
    attrs_for(&c, at, c.H, c.W);
    op_tensor in[2] = { tens(OP_F32, 4, dy, gy), tens(OP_F32, 4, dw, w) }, o = tens(OP_F32, 4, dx, gx);
    size_t ws = op_ws_conv2d_backward_data(at, in, 2, &o, 1);
    assert_int_equal(ws, 2 * img + 128);
    /* less than one image: an error, not an overrun */
    op_ctx ctx = { .n_threads = 2, .workspace = malloc(img), .workspace_size = img };
    assert_int_equal(op_cpu_conv2d_backward_data(&ctx, at, in, 2, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "workspace too small"));
    free(ctx.workspace);
    ctx.workspace = NULL;
    ctx.workspace_size = 0;
    assert_int_equal(op_cpu_conv2d_backward_data(&ctx, at, in, 2, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "workspace too small"));

    attrs_for(&c, at, c.kh, c.kw);
    in[0] = tens(OP_F32, 4, dx, x);
    in[1] = tens(OP_F32, 4, dy, gy);
    o = tens(OP_F32, 4, dw, gx);
    assert_int_equal(op_cpu_conv2d_backward_filter(&ctx, at, in, 2, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "workspace too small"));
    /* gy of the wrong size for this conv: inference refuses it */
    op_type ti[2] = { { OP_F32, 4, { C(c.N), C(c.C), C(c.H), C(c.W) } }, { OP_F32, 4, { C(c.N), C(c.O), C(OH + 1), C(OW) } } }, to;
    char err[OP_ERR_LEN];
    assert_int_equal(op_infer_conv2d_backward_filter(at, ti, 2, &to, 1, err, sizeof err), -1);
    ti[1].dims[2] = C(OH);
    assert_int_equal(op_infer_conv2d_backward_filter(at, ti, 2, &to, 1, err, sizeof err), 0);
    assert_true(op_dim_is(to.dims[0], c.O) && op_dim_is(to.dims[1], Cg) && op_dim_is(to.dims[3], c.kw));
}

/* The workspace the ops ask for: the whole batch while it fits in 64 MiB,
 * else chunks of as many images as fit (one at least); the filter's adds
 * 8 partial sums when Og*K <= 16384. No data needed. */
static void test_conv_backward_workspace_size(void **state)
{
    (void)state;
    const size_t limit = (size_t)64 << 20;
    op_attr at[OP_MAX_ATTRS];
    conv_case c = { 64, 64, 56, 56, 64, 1, 3, 3, { 1, 1 }, { 1, 1 }, { 1, 1 } };
    attrs_for(&c, at, c.kh, c.kw);
    /* per image: (64*9 + 64) * 56*56 floats = 8028160 bytes: 8 images a chunk */
    int64_t dx[4] = { 64, 64, 56, 56 }, dw[4] = { 64, 64, 3, 3 }, dy[4] = { 64, 64, 56, 56 };
    size_t img = (size_t)(64 * 9 + 64) * 56 * 56 * 4;
    op_tensor in[2] = { tens(OP_F32, 4, dx, NULL), tens(OP_F32, 4, dy, NULL) }, o = tens(OP_F32, 4, dw, NULL);
    size_t ws = op_ws_conv2d_backward_filter(at, in, 2, &o, 1);
    assert_int_equal(ws, 8 * img + 128);
    assert_true(ws <= limit + 128);
    in[0] = tens(OP_F32, 4, dy, NULL);
    in[1] = tens(OP_F32, 4, dw, NULL);
    o = tens(OP_F32, 4, dx, NULL);
    assert_int_equal(op_ws_conv2d_backward_data(at, in, 2, &o, 1), 8 * img + 128);
    /* small batch: all of it */
    in[0].dims[0] = o.dims[0] = 3;
    assert_int_equal(op_ws_conv2d_backward_data(at, in, 2, &o, 1), 3 * img + 128);
    /* one image over the limit: one image a chunk */
    int64_t bx[4] = { 4, 64, 224, 224 }, by[4] = { 4, 64, 224, 224 };
    size_t big = (size_t)(64 * 9 + 64) * 224 * 224 * 4;
    in[0] = tens(OP_F32, 4, bx, NULL);
    in[1] = tens(OP_F32, 4, by, NULL);
    o = tens(OP_F32, 4, dw, NULL);
    assert_int_equal(op_ws_conv2d_backward_filter(at, in, 2, &o, 1), big + 128);
    /* no images: no workspace; dims that overflow: SIZE_MAX */
    in[0].dims[0] = in[1].dims[0] = 0;
    assert_int_equal(op_ws_conv2d_backward_filter(at, in, 2, &o, 1), 0);
    in[0].dims[0] = in[1].dims[0] = 2;
    in[1].dims[2] = in[1].dims[3] = INT64_C(1) << 40;
    assert_true(op_ws_conv2d_backward_filter(at, in, 2, &o, 1) == SIZE_MAX);
    /* a small filter (Og*K = 16*150): plus 8 partial sums of it */
    int64_t lx[4] = { 64, 6, 14, 14 }, lw[4] = { 16, 6, 5, 5 }, ly[4] = { 64, 16, 10, 10 };
    c = (conv_case){ 64, 6, 14, 14, 16, 1, 5, 5, { 1, 1 }, { 0, 0 }, { 1, 1 } };
    attrs_for(&c, at, c.kh, c.kw);
    op_tensor lin[2] = { tens(OP_F32, 4, lx, NULL), tens(OP_F32, 4, ly, NULL) }, lo = tens(OP_F32, 4, lw, NULL);
    assert_int_equal(op_ws_conv2d_backward_filter(at, lin, 2, &lo, 1), 8 * 16 * 150 * 4 + 64 * (150 + 16) * 100 * 4 + 128);
    attrs_for(&c, at, c.H, c.W);
    lin[0] = tens(OP_F32, 4, ly, NULL);
    lin[1] = tens(OP_F32, 4, lw, NULL);
    lo = tens(OP_F32, 4, lx, NULL);
    assert_int_equal(op_ws_conv2d_backward_data(at, lin, 2, &lo, 1), 64 * (150 + 16) * 100 * 4 + 128);
}

static void test_pool_grads(void **state)
{
    (void)state;
    op_ctx ctx = { .n_threads = 1 };
    float x[16] = { 1, 9, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5, 6 }, gy[4] = { 1, 2, 3, 4 }, gx[16];
    int64_t dx[4] = { 1, 1, 4, 4 }, dy[4] = { 1, 1, 2, 2 };
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_MAX_POOL2D_GRAD, at);
    at[0].n = 2;
    at[0].ints[0] = at[0].ints[1] = 2;
    op_tensor in[2] = { tens(OP_F32, 4, dx, x), tens(OP_F32, 4, dy, gy) }, o = tens(OP_F32, 4, dx, gx);
    assert_int_equal(op_cpu_max_pool2d_grad(&ctx, at, in, 2, &o, 1), 0);
    float want[16] = { 0, 1, 0, 0, 0, 0, 0, 2, 3, 0, 0, 0, 0, 0, 0, 4 };
    for (int i = 0; i < 16; i++)
        assert_true(gx[i] == want[i]);
    /* ties go to the first maximum, a window with NaNs to its last NaN,
     * an all -inf window to nobody (as max_pool2d picks) */
    float xt[16] = { 5, 5, 1, NAN, 5, 5, NAN, 2, -INFINITY, -INFINITY, 7, 7,
                     -INFINITY, -INFINITY, 7, NAN };
    in[0].data = xt;
    assert_int_equal(op_cpu_max_pool2d_grad(&ctx, at, in, 2, &o, 1), 0);
    float want_t[16] = { 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 4 };
    for (int i = 0; i < 16; i++)
        assert_true(gx[i] == want_t[i]);
    in[0].data = x;
    op_attrs_default(OP_AVG_POOL2D_GRAD, at);
    at[0].n = 2;
    at[0].ints[0] = at[0].ints[1] = 2;
    assert_int_equal(op_cpu_avg_pool2d_grad(&ctx, at, in, 2, &o, 1), 0);
    assert_true(gx[0] == 0.25f && gx[5] == 0.25f && gx[15] == 1.0f);
    /* gy not matching the pool of x */
    in[1].dims[2] = 3;
    assert_int_equal(op_cpu_avg_pool2d_grad(&ctx, at, in, 2, &o, 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_helpers_infer),
        cmocka_unit_test(test_shape_helpers_kernels),
        cmocka_unit_test(test_gather_grad),
        cmocka_unit_test(test_conv_backward),
        cmocka_unit_test(test_conv_backward_chunks),
        cmocka_unit_test(test_conv_backward_errors),
        cmocka_unit_test(test_conv_backward_workspace_size),
        cmocka_unit_test(test_pool_grads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
