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

static void test_conv_backward(void **state)
{
    (void)state;
    const int64_t N = 2, Cc = 4, H = 7, W = 6, O = 6, G = 2, kh = 3, kw = 2;
    const int64_t s[2] = { 2, 1 }, p[2] = { 1, 1 }, dl[2] = { 2, 1 };
    const int64_t OH = (H + 2 * p[0] - dl[0] * (kh - 1) - 1) / s[0] + 1;
    const int64_t OW = (W + 2 * p[1] - dl[1] * (kw - 1) - 1) / s[1] + 1;
    int64_t dx[4] = { N, Cc, H, W }, dw[4] = { O, Cc / G, kh, kw }, dy[4] = { N, O, OH, OW };
    size_t nx = (size_t)(N * Cc * H * W), nw = (size_t)(O * Cc / G * kh * kw), ny = (size_t)(N * O * OH * OW);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *gy = malloc(ny * 4);
    float *gx = malloc(nx * 4), *gw = malloc(nw * 4), *rx = malloc(nx * 4), *rw = malloc(nw * 4);
    unsigned r = 1;
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)((r = r * 1103515245u + 12345u) >> 16 & 255) / 128.0f - 1.0f;
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)((r = r * 1103515245u + 12345u) >> 16 & 255) / 128.0f - 1.0f;
    for (size_t i = 0; i < ny; i++)
        gy[i] = (float)((r = r * 1103515245u + 12345u) >> 16 & 255) / 128.0f - 1.0f;
    naive_conv_grads(x, w, gy, rx, rw, N, Cc, H, W, O, kh, kw, OH, OW, s, p, dl, G);
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_CONV2D_BACKWARD_DATA, at);
    for (int i = 0; i < 2; i++) {
        at[0].ints[i] = s[i];
        at[1].ints[i] = p[i];
        at[2].ints[i] = dl[i];
    }
    at[3].i = G;
    at[4].n = 2;
    at[4].ints[0] = H;
    at[4].ints[1] = W;
    op_tensor in[2] = { tens(OP_F32, 4, dy, gy), tens(OP_F32, 4, dw, w) }, o = tens(OP_F32, 4, dx, gx);
    size_t ws = op_ws_conv2d_backward_data(at, in, 2, &o, 1);
    assert_true(ws > 0);
    op_ctx ctx = { .n_threads = 2, .workspace = malloc(ws), .workspace_size = ws };
    assert_int_equal(op_cpu_conv2d_backward_data(&ctx, at, in, 2, &o, 1), 0);
    for (size_t i = 0; i < nx; i++)
        assert_true(fabsf(gx[i] - rx[i]) < 1e-4f);
    ctx.workspace_size = ws / 2; /* too small: an error, not an overrun */
    assert_int_equal(op_cpu_conv2d_backward_data(&ctx, at, in, 2, &o, 1), -1);
    assert_non_null(strstr(ctx.err, "workspace"));
    free(ctx.workspace);

    at[4].ints[0] = kh;
    at[4].ints[1] = kw;
    in[0] = tens(OP_F32, 4, dx, x);
    in[1] = tens(OP_F32, 4, dy, gy);
    o = tens(OP_F32, 4, dw, gw);
    ws = op_ws_conv2d_backward_filter(at, in, 2, &o, 1);
    ctx.workspace = malloc(ws);
    ctx.workspace_size = ws;
    assert_int_equal(op_cpu_conv2d_backward_filter(&ctx, at, in, 2, &o, 1), 0);
    for (size_t i = 0; i < nw; i++)
        assert_true(fabsf(gw[i] - rw[i]) < 1e-4f);
    /* gy of the wrong size for this conv: inference refuses it */
    op_type ti[2] = { { OP_F32, 4, { C(N), C(Cc), C(H), C(W) } }, { OP_F32, 4, { C(N), C(O), C(OH + 1), C(OW) } } }, to;
    char err[OP_ERR_LEN];
    assert_int_equal(op_infer_conv2d_backward_filter(at, ti, 2, &to, 1, err, sizeof err), -1);
    ti[1].dims[2] = C(OH);
    assert_int_equal(op_infer_conv2d_backward_filter(at, ti, 2, &to, 1, err, sizeof err), 0);
    assert_true(op_dim_is(to.dims[0], O) && op_dim_is(to.dims[1], Cc / G) && op_dim_is(to.dims[3], kw));
    free(ctx.workspace);
    free(x), free(w), free(gy), free(gx), free(gw), free(rx), free(rw);
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
        cmocka_unit_test(test_pool_grads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
