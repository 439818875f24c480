/* ops/grad_kernels.c -- the ops autodiff (graphc/autodiff.c) emits:
 * reshape_as / expand_as / sum_to (target shape from a reference tensor, so
 * symbolic dims need no attribute) and backward kernels: gelu_grad, conv2d
 * data / filter (im2col, col2im, sgemm), max/avg pool, gather (scatter-add).
 * Inference validates everything: graph files are untrusted. */
#include "grad_kernels.h"

#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <string.h>

#define TSTR_LEN 320
#define PAR_MIN_WORK 32768

static void tstr(const op_type *t, char *buf) { op_type_str(t, NULL, buf, TSTR_LEN); }
static int nthreads(const op_ctx *ctx) { return ctx->n_threads > 0 ? ctx->n_threads : 1; }
static int is_float(op_dtype t) { return t == OP_F32 || t == OP_F64; }

/* The most inputs a kernel here takes (op_kernel_check). */
#define MAX_IN 4

/* ================================================================== */
/* reshape_as, expand_as, sum_to                                       */

OP_INFER(op_infer_reshape_as)
{
    if (op_check_inputs("reshape_as", in, n_in, 2, n_out, err, err_len))
        return -1;
    op_dim a, b;
    char sx[TSTR_LEN], sr[TSTR_LEN];
    tstr(&in[0], sx);
    tstr(&in[1], sr);
    if (op_type_numel(&in[0], &a) || op_type_numel(&in[1], &b)) {
        op_set_err(err, err_len, "reshape_as: the element counts of %s and %s are not k*N or k",
                   sx, sr);
        return -1;
    }
    if (!op_dim_eq(a, b) && !(a.coef == 0 && b.coef == 0)) {
        op_set_err(err, err_len, "reshape_as: cannot reshape %s to the shape of %s (element counts differ)",
                   sx, sr);
        return -1;
    }
    out[0] = in[1];
    out[0].dtype = in[0].dtype;
    return 0;
}

/* reshape_as(x, ref): x's elements (row-major) in ref's shape; ref gives
 * only its shape. Any dtype; may run in place. */
OP_KERNEL(op_cpu_reshape_as)
{
    if (op_kernel_check(ctx, op_infer_reshape_as, "reshape_as", attrs, in, n_in, out, n_out, MAX_IN))
        return -1;
    return op_cpu_reshape(ctx, attrs, in, 1, out, 1);
}

OP_INFER(op_infer_expand_as)
{
    if (op_check_inputs("expand_as", in, n_in, 2, n_out, err, err_len))
        return -1;
    op_type o;
    char tmp[8];
    int ok = in[0].rank <= in[1].rank && op_broadcast(&in[0], &in[1], &o, tmp, sizeof tmp) == 0;
    for (int i = 0; ok && i < in[1].rank; i++)
        ok = op_dim_eq(o.dims[i], in[1].dims[i]);
    if (!ok) {
        char sx[TSTR_LEN], sr[TSTR_LEN];
        tstr(&in[0], sx);
        tstr(&in[1], sr);
        op_set_err(err, err_len, "expand_as: %s does not broadcast to the shape of %s", sx, sr);
        return -1;
    }
    out[0] = in[1];
    out[0].dtype = in[0].dtype;
    return 0;
}

/* expand_as(x, ref): x broadcast (NumPy rules, x's rank <= ref's) to ref's
 * shape; ref gives only its shape. Any dtype. */
OP_KERNEL(op_cpu_expand_as)
{
    if (op_kernel_check(ctx, op_infer_expand_as, "expand_as", attrs, in, n_in, out, n_out, MAX_IN))
        return -1;
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_EXPAND, a);
    a[0].n = out[0].rank;
    for (int i = 0; i < out[0].rank; i++)
        a[0].ints[i] = out[0].dims[i];
    return op_cpu_expand(ctx, a, in, 1, out, 1);
}

OP_INFER(op_infer_sum_to)
{
    if (op_check_inputs("sum_to", in, n_in, 2, n_out, err, err_len))
        return -1;
    const op_type *x = &in[0], *r = &in[1];
    char sx[TSTR_LEN], sr[TSTR_LEN];
    tstr(x, sx);
    tstr(r, sr);
    if (x->dtype != OP_F32 && x->dtype != OP_F64 && x->dtype != OP_I32 && x->dtype != OP_I64) {
        op_set_err(err, err_len, "sum_to: x %s must be f32, f64, i32 or i64", sx);
        return -1;
    }
    int ok = r->rank <= x->rank;
    for (int i = 0; ok && i < r->rank; i++) {
        op_dim dr = r->dims[i], dx = x->dims[i + x->rank - r->rank];
        ok = op_dim_eq(dr, dx) || op_dim_is(dr, 1);
    }
    if (!ok) {
        op_set_err(err, err_len, "sum_to: %s cannot be summed to the shape of %s (it does not broadcast to %s)",
                   sx, sr, sx);
        return -1;
    }
    out[0] = *r;
    out[0].dtype = x->dtype;
    return 0;
}

/* sum_to(x, ref): NumPy "unbroadcast": sums x over its leading dims and over
 * the dims where ref has 1 (and x not), giving ref's shape; ref gives only
 * its shape. Sums as the sum op (f32 accumulates in double). */
OP_KERNEL(op_cpu_sum_to)
{
    if (op_kernel_check(ctx, op_infer_sum_to, "sum_to", attrs, in, n_in, out, n_out, MAX_IN))
        return -1;
    const op_tensor *x = &in[0];
    int lead = x->rank - out[0].rank;
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_SUM, a);
    op_tensor view = out[0];
    view.rank = x->rank;
    for (int i = 0; i < x->rank; i++) {
        int64_t rd = i < lead ? 1 : out[0].dims[i - lead];
        view.dims[i] = rd;
        if (i < lead || (rd == 1 && x->dims[i] != 1))
            a[0].ints[a[0].n++] = i;
    }
    if (a[0].n == 0)
        return op_cpu_reshape(ctx, NULL, in, 1, out, 1);
    a[1].i = 1;
    return op_cpu_sum(ctx, a, in, 1, &view, 1);
}

/* ================================================================== */
/* gelu_grad                                                           */

OP_INFER(op_infer_gelu_grad)
{
    if (op_check_inputs("gelu_grad", in, n_in, 2, n_out, err, err_len))
        return -1;
    if (!attrs || (attrs[0].i != 0 && attrs[0].i != 1)) {
        op_set_err(err, err_len, "gelu_grad: approximate must be 0 or 1");
        return -1;
    }
    if (!is_float(in[0].dtype) || !op_type_eq(&in[0], &in[1])) {
        char sx[TSTR_LEN], sg[TSTR_LEN];
        tstr(&in[0], sx);
        tstr(&in[1], sg);
        op_set_err(err, err_len, "gelu_grad: x and gy must be one f32/f64 type, got %s and %s", sx, sg);
        return -1;
    }
    out[0] = in[0];
    return 0;
}

static double gelu_deriv(double x, int tanh_mode)
{
    if (tanh_mode) {
        const double c = 0.79788456080286535588, k = 0.044715;
        double t = tanh(c * (x + k * x * x * x));
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * k * x * x);
    }
    double cdf = 0.5 * (1.0 + erf(x * 0.70710678118654752440));
    double pdf = exp(-0.5 * x * x) * 0.39894228040143267794;
    return cdf + x * pdf;
}

/* gelu_grad(x, gy; approximate): gy * d gelu(x) / dx, same shapes, f32/f64,
 * computed in double. approximate 0: Phi(x) + x phi(x); 1: the derivative of
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
OP_KERNEL(op_cpu_gelu_grad)
{
    if (op_kernel_check(ctx, op_infer_gelu_grad, "gelu_grad", attrs, in, n_in, out, n_out, MAX_IN))
        return -1;
    int64_t n = op_tensor_numel(&in[0]);
    int tm = (int)attrs[0].i, nt = nthreads(ctx);
    if (in[0].dtype == OP_F32) {
        const float *x = in[0].data, *gy = in[1].data;
        float *gx = out[0].data;
#pragma omp parallel for num_threads(nt) if (nt > 1 && n >= PAR_MIN_WORK) schedule(static)
        for (int64_t i = 0; i < n; i++)
            gx[i] = (float)((double)gy[i] * gelu_deriv((double)x[i], tm));
    } else {
        const double *x = in[0].data, *gy = in[1].data;
        double *gx = out[0].data;
#pragma omp parallel for num_threads(nt) if (nt > 1 && n >= PAR_MIN_WORK) schedule(static)
        for (int64_t i = 0; i < n; i++)
            gx[i] = gy[i] * gelu_deriv(x[i], tm);
    }
    return 0;
}

/* ================================================================== */
/* conv2d backward                                                     */

/* conv2d's own attributes (stride, padding, dilation, groups) from ours. */
static void conv_attrs(const op_attr *attrs, op_attr *ca)
{
    op_attrs_default(OP_CONV2D, ca);
    for (int i = 0; i < 4; i++)
        ca[i] = attrs[i];
}

/* A 2-int attribute with values in [1, INT32_MAX]. */
static int hw_attr(const op_attr *a, const char *op, const char *what, char *err, size_t err_len)
{
    if (a->n != 2 || a->ints[0] < 1 || a->ints[1] < 1 || a->ints[0] > INT32_MAX || a->ints[1] > INT32_MAX) {
        op_set_err(err, err_len, "%s: %s needs 2 values in [1, %d]", op, what, INT32_MAX);
        return -1;
    }
    return 0;
}

/* Checks gy against the forward conv2d of x (type) and w (type). */
static int conv_match(const char *op, const op_attr *attrs, const op_type *x, const op_type *w,
                      const op_type *gy, char *err, size_t err_len)
{
    op_attr ca[OP_MAX_ATTRS];
    conv_attrs(attrs, ca);
    op_type ins[2] = { *x, *w }, y;
    char msg[OP_ERR_LEN];
    if (op_infer_conv2d(ca, ins, 2, &y, 1, msg, sizeof msg)) {
        op_set_err(err, err_len, "%s: %s", op, msg);
        return -1;
    }
    if (!op_type_eq(&y, gy)) {
        char sy[TSTR_LEN], sg[TSTR_LEN];
        tstr(&y, sy);
        tstr(gy, sg);
        op_set_err(err, err_len, "%s: gy is %s but the conv output is %s", op, sg, sy);
        return -1;
    }
    return 0;
}

OP_INFER(op_infer_conv2d_backward_data)
{
    const char *op = "conv2d_backward_data";
    if (op_check_inputs(op, in, n_in, 2, n_out, err, err_len) ||
        hw_attr(&attrs[4], op, "input_hw", err, err_len))
        return -1;
    const op_type *gy = &in[0], *w = &in[1];
    int64_t G = attrs[3].i, C;
    if (gy->rank != 4 || w->rank != 4 || w->dims[1].sym >= 0 || G < 1 || G > INT32_MAX ||
        __builtin_mul_overflow(w->dims[1].coef, G, &C)) {
        char sg[TSTR_LEN], sw[TSTR_LEN];
        tstr(gy, sg);
        tstr(w, sw);
        op_set_err(err, err_len, "%s: gy %s and w %s must be 4-D, groups %lld >= 1", op, sg, sw,
                   (long long)G);
        return -1;
    }
    op_type x = { OP_F32, 4, { gy->dims[0], op_dim_const(C), op_dim_const(attrs[4].ints[0]),
                               op_dim_const(attrs[4].ints[1]) } };
    if (conv_match(op, attrs, &x, w, gy, err, err_len))
        return -1;
    out[0] = x;
    return 0;
}

OP_INFER(op_infer_conv2d_backward_filter)
{
    const char *op = "conv2d_backward_filter";
    if (op_check_inputs(op, in, n_in, 2, n_out, err, err_len) ||
        hw_attr(&attrs[4], op, "kernel", err, err_len))
        return -1;
    const op_type *x = &in[0], *gy = &in[1];
    int64_t G = attrs[3].i;
    if (x->rank != 4 || gy->rank != 4 || x->dims[1].sym >= 0 || gy->dims[1].sym >= 0 || G < 1 ||
        x->dims[1].coef % G != 0) {
        char sx[TSTR_LEN], sg[TSTR_LEN];
        tstr(x, sx);
        tstr(gy, sg);
        op_set_err(err, err_len, "%s: x %s and gy %s must be 4-D with concrete channels divisible by groups %lld",
                   op, sx, sg, (long long)G);
        return -1;
    }
    op_type w = { OP_F32, 4, { gy->dims[1], op_dim_const(x->dims[1].coef / G),
                               op_dim_const(attrs[4].ints[0]), op_dim_const(attrs[4].ints[1]) } };
    if (conv_match(op, attrs, x, &w, gy, err, err_len))
        return -1;
    out[0] = w;
    return 0;
}

/* Geometry from concrete x [N,C,H,W], w [O,Cg,kh,kw], gy [N,O,OH,OW] and
 * the attributes (inference has checked that they agree). */
static void conv_geom_fill(op_conv_geom *g, const op_attr *attrs, const int64_t *x, const int64_t *w,
                           const int64_t *gy)
{
    g->N = x[0], g->C = x[1], g->H = x[2], g->W = x[3];
    g->O = w[0], g->Cg = w[1], g->kh = w[2], g->kw = w[3];
    g->OH = gy[2], g->OW = gy[3];
    g->G = attrs[3].i;
    g->Og = g->O / g->G;
    for (int i = 0; i < 2; i++) {
        g->s[i] = attrs[0].ints[i];
        g->p[i] = attrs[1].ints[i];
        g->d[i] = attrs[2].ints[i];
    }
}

/* Both kernels take the batch in chunks of nb images and, per chunk and
 * group, fill two workspace buffers with the images side by side (image n's
 * columns at n*OHW, ld = nb*OHW): col [K, nb*OHW] (K = Cg*kh*kw) and gyp
 * [Og, nb*OHW], the chunk's gy of the group. Then one sgemm per chunk and
 * group has nb*OHW as a dimension, instead of one tiny sgemm per image.
 * A chunk holds at most CONV_BWD_CHUNK_BYTES (one image at least), so the
 * workspace of large images stays bounded. */
#define CONV_BWD_CHUNK_BYTES ((size_t)64 << 20)

/* The filter gradient's sgemm has a long k (nb*OHW) and, in small CNNs, a
 * small Og x K result, which oneDNN runs on one thread. For Og*K up to
 * CONV_BWD_SLICE_MAX the filter kernel cuts a chunk into up to
 * CONV_BWD_SLICES slices of images, run in parallel (gather and sgemm on
 * one thread each, CONV_BWD_SUB_BYTES of images at a time so they are still
 * in cache for the sgemm) into partial sums then added in slice order.
 * The slice count follows from the chunk, not from the thread count. */
#define CONV_BWD_SLICES 8
#define CONV_BWD_SLICE_MAX 16384
#define CONV_BWD_SUB_BYTES ((size_t)1 << 20)

/* Workspace bytes of the filter kernel's partial sums (cache-line rounded);
 * 0 when it does not slice. */
static size_t conv_bwd_partial_bytes(int64_t K, int64_t Og)
{
    if (K < 0 || Og < 0 || K > CONV_BWD_SLICE_MAX || Og > CONV_BWD_SLICE_MAX ||
        Og * K > CONV_BWD_SLICE_MAX)
        return 0;
    return ((size_t)(CONV_BWD_SLICES * Og * K) * sizeof(float) + 63) & ~(size_t)63;
}

/* Workspace bytes per image of a chunk: (K + Og)*OHW floats. 0 when one of
 * them is 0, SIZE_MAX on overflow or a negative dim. */
static size_t conv_bwd_image_bytes(int64_t K, int64_t Og, int64_t OHW)
{
    int64_t rows, n;
    if (K < 0 || Og < 0 || OHW < 0 || __builtin_add_overflow(K, Og, &rows) ||
        __builtin_mul_overflow(rows, OHW, &n) || (uint64_t)n > (SIZE_MAX - 128) / sizeof(float))
        return SIZE_MAX;
    return (size_t)n * sizeof(float);
}

/* Images per chunk the kernels plan for: as many as CONV_BWD_CHUNK_BYTES
 * holds, one at least, N at most. */
static int64_t conv_bwd_chunk(int64_t N, size_t img)
{
    size_t nb = CONV_BWD_CHUNK_BYTES / img;
    if (nb < 1)
        nb = 1;
    return (uint64_t)nb > (uint64_t)N ? N : (int64_t)nb;
}

/* The workspace a kernel asks for: `partial` bytes (the filter kernel's
 * partial sums, else 0), one chunk, 64 bytes to round col up to a cache line
 * and 64 to align the start. 0 when there is no work, SIZE_MAX on overflow. */
static size_t conv_bwd_ws(int64_t N, int64_t K, int64_t Og, int64_t OHW, size_t partial)
{
    size_t img = conv_bwd_image_bytes(K, Og, OHW);
    if (img == SIZE_MAX || N < 0)
        return SIZE_MAX;
    if (N == 0 || img == 0)
        return 0;
    /* nb * img <= max(img, CONV_BWD_CHUNK_BYTES) and partial <= 512 KiB:
     * no overflow */
    return partial + (size_t)conv_bwd_chunk(N, img) * img + 128;
}

/* gy [N,O,OH,OW], w [O,Cg,kh,kw], groups attrs[3]. */
OP_WORKSPACE(op_ws_conv2d_backward_data)
{
    if (n_in != 2 || n_out != 1 || in[1].rank != 4 || in[0].rank != 4 || attrs[3].i < 1)
        return 0; /* the kernel reports the error */
    int64_t K = op_dims_numel(3, in[1].dims + 1), OHW = op_dims_numel(2, in[0].dims + 2);
    return conv_bwd_ws(in[0].dims[0], K, in[0].dims[1] / attrs[3].i, OHW, 0);
}

/* x [N,C,H,W], gy [N,O,OH,OW], gw [O,Cg,kh,kw], groups attrs[3]. */
OP_WORKSPACE(op_ws_conv2d_backward_filter)
{
    if (n_in != 2 || n_out != 1 || out[0].rank != 4 || in[1].rank != 4 || attrs[3].i < 1)
        return 0;
    int64_t K = op_dims_numel(3, out[0].dims + 1), OHW = op_dims_numel(2, in[1].dims + 2);
    int64_t Og = in[1].dims[1] / attrs[3].i;
    return conv_bwd_ws(in[1].dims[0], K, Og, OHW, conv_bwd_partial_bytes(K, Og));
}

/* Points the buffers into the workspace: `partial` bytes at *part (NULL
 * when 0), then col and gyp; sets *nb, the images per chunk: as many as the
 * kernels plan for (conv_bwd_ws), or fewer when the workspace is smaller,
 * but one at least: -1 with the message in ctx->err if not even one image
 * fits. */
static int conv_bwd_buffers(op_ctx *ctx, const char *op, const op_conv_geom *g, size_t partial,
                            float **part, float **col, float **gyp, int64_t *nb)
{
    int64_t K = g->Cg * g->kh * g->kw, OHW = g->OH * g->OW;
    size_t img = conv_bwd_image_bytes(K, g->Og, OHW);
    uintptr_t base = (uintptr_t)ctx->workspace, aligned = (base + 63) & ~(uintptr_t)63;
    size_t pad = (size_t)(aligned - base) + 64 + partial;
    size_t fit = ctx->workspace && img != SIZE_MAX && ctx->workspace_size > pad
                     ? (ctx->workspace_size - pad) / img
                     : 0;
    if (fit < 1) {
        op_set_err(ctx->err, sizeof ctx->err, "%s: workspace too small: need %zu bytes, got %zu", op,
                   conv_bwd_ws(g->N, K, g->Og, OHW, partial), ctx->workspace ? ctx->workspace_size : 0);
        return -1;
    }
    int64_t want = conv_bwd_chunk(g->N, img);
    *nb = (uint64_t)fit < (uint64_t)want ? (int64_t)fit : want;
    *part = partial ? (float *)aligned : NULL;
    *col = (float *)(aligned + partial);
    size_t col_bytes = ((size_t)(K * *nb * OHW) * sizeof(float) + 63) & ~(size_t)63;
    *gyp = (float *)(aligned + partial + col_bytes);
    return 0;
}

/* One image n of the chunk starting at image n0, group gi: its gy rows into
 * gyp and, when x is given, its im2col into col (both with leading dimension
 * ld, the image's columns at n*OHW). */
static void conv_bwd_gather_image(const op_conv_geom *g, const float *x, const float *gy, int64_t n0,
                                  int64_t n, int64_t gi, int64_t ld, float *col, float *gyp, int nt)
{
    int64_t OHW = g->OH * g->OW;
    const float *gyn = gy + ((n0 + n) * g->O + gi * g->Og) * OHW;
    for (int64_t o = 0; o < g->Og; o++)
        memcpy(gyp + o * ld + n * OHW, gyn + o * OHW, (size_t)OHW * sizeof(float));
    if (x)
        op_conv_im2col(g, x + ((n0 + n) * g->C + gi * g->Cg) * g->H * g->W, col + n * OHW, ld, nt);
}

/* Fills gyp (and col when x is given) for images n0 .. n0+m-1 and group gi.
 * Images split over threads when there are at least as many as threads,
 * else one image at a time with its im2col rows split. */
static void conv_bwd_gather(const op_conv_geom *g, const float *x, const float *gy, int64_t n0,
                            int64_t m, int64_t gi, float *col, float *gyp, int nt)
{
    int64_t ld = m * g->OH * g->OW, rows = g->Og + (x ? g->Cg * g->kh * g->kw : 0);
    if (nt > 1 && m >= nt && rows * ld >= PAR_MIN_WORK) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t n = 0; n < m; n++)
            conv_bwd_gather_image(g, x, gy, n0, n, gi, ld, col, gyp, 1);
    } else {
        for (int64_t n = 0; n < m; n++)
            conv_bwd_gather_image(g, x, gy, n0, n, gi, ld, col, gyp, nt);
    }
}

/* The adjoint of op_conv_im2col for images n0 .. n0+m-1 and group gi: each
 * of their channel planes of gx is set to the sum of the col entries (ld =
 * m*OHW) that im2col reads from its positions, in (i, j, oh, ow) order.
 * Planes split over threads, each written by exactly one, so the result does
 * not depend on the thread count. */
static void conv_bwd_col2im(const op_conv_geom *g, const float *col, int64_t n0, int64_t m, int64_t gi,
                            float *gx, int nt)
{
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, kh = g->kh, kw = g->kw;
    const int64_t sh = g->s[0], sw = g->s[1], ph = g->p[0], pw = g->p[1], dh = g->d[0], dw = g->d[1];
    const int64_t OHW = OH * OW, ld = m * OHW, planes = m * g->Cg;
#pragma omp parallel for num_threads(nt) if (nt > 1 && planes > 1 && planes * kh * kw * OHW >= PAR_MIN_WORK) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        int64_t n = pl / g->Cg, c = pl % g->Cg;
        float *xc = gx + ((n0 + n) * g->C + gi * g->Cg + c) * H * W;
        memset(xc, 0, (size_t)(H * W) * sizeof(float));
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++) {
                const float *src = col + ((c * kh + i) * kw + j) * ld + n * OHW;
                int64_t off_w = j * dw - pw, lo, hi;
                op_conv_valid_range(off_w, sw, W, OW, &lo, &hi);
                int64_t len = hi - lo;
                if (len <= 0)
                    continue;
                for (int64_t oh = 0; oh < OH; oh++) {
                    int64_t ih = oh * sh - ph + i * dh;
                    if (ih < 0 || ih >= H)
                        continue;
                    /* x of output column lo; the others of the row read padding */
                    float *restrict d = xc + ih * W + off_w + lo * sw;
                    const float *restrict s = src + oh * OW + lo;
                    if (sw == 1) {
#pragma omp simd
                        for (int64_t q = 0; q < len; q++)
                            d[q] += s[q];
                    } else {
#pragma omp simd
                        for (int64_t q = 0; q < len; q++)
                            d[q * sw] += s[q];
                    }
                }
            }
    }
}

/* conv2d_backward_data(gy, w; stride, padding, dilation, groups, input_hw):
 * the gradient of conv2d with respect to x: gx[n,c,ih,iw] = sum over the
 * (o, oh, ow, i, j) with ih = oh*sh - ph + i*dh, iw = ow*sw - pw + j*dw of
 * gy[n,o,oh,ow] * w[o, c mod Cg, i, j] (o in c's group). NCHW f32. Per
 * chunk of images and group: gy copied side by side into gyp, one sgemm
 * col [K, nb*OHW] = w_g^T gyp, then col2im with (image, channel) planes split
 * over threads. Every plane is summed in a fixed order: the result does not
 * depend on the thread count beyond oneDNN's sgemm. */
OP_KERNEL(op_cpu_conv2d_backward_data)
{
    const char *op = "conv2d_backward_data";
    if (op_kernel_check(ctx, op_infer_conv2d_backward_data, op, attrs, in, n_in, out, n_out, MAX_IN))
        return -1;
    op_conv_geom g;
    conv_geom_fill(&g, attrs, out[0].dims, in[1].dims, in[0].dims);
    float *gx = out[0].data;
    const float *gy = in[0].data, *w = in[1].data;
    int64_t nx = op_tensor_numel(&out[0]), K = g.Cg * g.kh * g.kw, OHW = g.OH * g.OW;
    if (nx == 0)
        return 0;
    if (OHW == 0 || K == 0 || g.Og == 0) {
        memset(gx, 0, (size_t)nx * sizeof(float));
        return 0;
    }
    float *part, *col, *gyp;
    int64_t nb;
    if (conv_bwd_buffers(ctx, op, &g, 0, &part, &col, &gyp, &nb))
        return -1;
    int nt = nthreads(ctx);
    omp_set_num_threads(nt); /* oneDNN's pool */
    for (int64_t n0 = 0; n0 < g.N; n0 += nb) {
        int64_t m = g.N - n0 < nb ? g.N - n0 : nb, ld = m * OHW;
        for (int64_t gi = 0; gi < g.G; gi++) {
            conv_bwd_gather(&g, NULL, gy, n0, m, gi, NULL, gyp, nt);
            dnnl_status_t st = dnnl_sgemm('T', 'N', K, ld, g.Og, 1.0f, w + gi * g.Og * K, K, gyp, ld,
                                          0.0f, col, ld);
            if (st != dnnl_success) {
                op_set_err(ctx->err, sizeof ctx->err, "%s: dnnl_sgemm failed (status %d)", op, (int)st);
                return -1;
            }
            conv_bwd_col2im(&g, col, n0, m, gi, gx, nt);
        }
    }
    return 0;
}

/* Filter gradient of images n0 .. n0+m-1, group gi, into gwg (added to
 * it) through CONV_BWD_SLICES slices: slice s gathers its images and runs
 * its sgemm into part[s] on one thread; then gwg += part[0] + part[1] + ...
 * Returns oneDNN's status. */
static int conv_bwd_filter_sliced(const op_conv_geom *g, const float *x, const float *gy, int64_t n0,
                                  int64_t m, int64_t gi, float *col, float *gyp, float *part,
                                  float *gwg, int nt)
{
    const int64_t K = g->Cg * g->kh * g->kw, OHW = g->OH * g->OW, ld = m * OHW, Og = g->Og, nw = Og * K;
    const int64_t S = m < CONV_BWD_SLICES ? m : CONV_BWD_SLICES;
    const size_t img = conv_bwd_image_bytes(K, Og, OHW); /* > 0: K, Og, OHW are */
    const int64_t sub = img < CONV_BWD_SUB_BYTES ? (int64_t)(CONV_BWD_SUB_BYTES / img) : 1;
    int status = dnnl_success;
#pragma omp parallel for num_threads(nt) if (nt > 1 && (K + Og) * ld >= PAR_MIN_WORK) schedule(static)
    for (int64_t sl = 0; sl < S; sl++) {
        int64_t a = m * sl / S, b = m * (sl + 1) / S;
        /* a few images at a time, so they are still in cache for the sgemm */
        for (int64_t u = a; u < b; u += sub) {
            int64_t v = b - u < sub ? b : u + sub;
            for (int64_t n = u; n < v; n++)
                conv_bwd_gather_image(g, x, gy, n0, n, gi, ld, col, gyp, 1);
            /* inside a parallel region oneDNN runs on the calling thread */
            dnnl_status_t st = dnnl_sgemm('N', 'T', Og, K, (v - u) * OHW, 1.0f, gyp + u * OHW, ld,
                                          col + u * OHW, ld, u == a ? 0.0f : 1.0f, part + sl * nw, K);
            if (st != dnnl_success) {
#pragma omp atomic write
                status = (int)st;
            }
        }
    }
    if (status != dnnl_success)
        return status;
    for (int64_t e = 0; e < nw; e++) {
        float acc = gwg[e];
        for (int64_t sl = 0; sl < S; sl++)
            acc += part[sl * nw + e];
        gwg[e] = acc;
    }
    return dnnl_success;
}

/* conv2d_backward_filter(x, gy; stride, padding, dilation, groups, kernel):
 * the gradient of conv2d with respect to w: gw[o,c,i,j] = sum over n, oh, ow
 * of gy[n,o,oh,ow] * x[n, g*Cg + c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
 * (0 outside x). NCHW f32. Per chunk of images and group: im2col of the
 * images side by side into col and their gy into gyp, then
 * gw_g += gyp col^T (sgemm, k = nb*OHW), chunks in order; small filters
 * (Og*K <= CONV_BWD_SLICE_MAX) through parallel slices of the chunk with
 * partial sums added in order. Chunks and slices follow from the shapes
 * (and a smaller workspace, if given one), not from the thread count. */
OP_KERNEL(op_cpu_conv2d_backward_filter)
{
    const char *op = "conv2d_backward_filter";
    if (op_kernel_check(ctx, op_infer_conv2d_backward_filter, op, attrs, in, n_in, out, n_out, MAX_IN))
        return -1;
    op_conv_geom g;
    conv_geom_fill(&g, attrs, in[0].dims, out[0].dims, in[1].dims);
    float *gw = out[0].data;
    const float *x = in[0].data, *gy = in[1].data;
    int64_t nw = op_tensor_numel(&out[0]), K = g.Cg * g.kh * g.kw, OHW = g.OH * g.OW;
    if (nw == 0)
        return 0;
    memset(gw, 0, (size_t)nw * sizeof(float));
    if (OHW == 0 || g.N == 0)
        return 0;
    float *part, *col, *gyp;
    int64_t nb;
    if (conv_bwd_buffers(ctx, op, &g, conv_bwd_partial_bytes(K, g.Og), &part, &col, &gyp, &nb))
        return -1;
    int nt = nthreads(ctx);
    omp_set_num_threads(nt);
    for (int64_t n0 = 0; n0 < g.N; n0 += nb) {
        int64_t m = g.N - n0 < nb ? g.N - n0 : nb, ld = m * OHW;
        for (int64_t gi = 0; gi < g.G; gi++) {
            float *gwg = gw + gi * g.Og * K;
            int st;
            if (part && m > 1) {
                st = conv_bwd_filter_sliced(&g, x, gy, n0, m, gi, col, gyp, part, gwg, nt);
            } else {
                conv_bwd_gather(&g, x, gy, n0, m, gi, col, gyp, nt);
                st = (int)dnnl_sgemm('N', 'T', g.Og, K, ld, 1.0f, gyp, ld, col, ld, 1.0f, gwg, K);
            }
            if (st != dnnl_success) {
                op_set_err(ctx->err, sizeof ctx->err, "%s: dnnl_sgemm failed (status %d)", op, st);
                return -1;
            }
        }
    }
    return 0;
}

/* ================================================================== */
/* pooling backward                                                    */

typedef struct pgeo {
    int64_t planes, H, W, OH, OW, k[2], s[2], p[2], d[2];
} pgeo;

/* Checks gy against the forward pool of x (op_infer_pool2d validates the
 * attributes) and that out is x's type. */
static int pool_match(const char *op, const op_attr *attrs, const op_type *in, int n_in, op_type *out,
                      int n_out, char *err, size_t err_len)
{
    if (op_check_inputs(op, in, n_in, 2, n_out, err, err_len))
        return -1;
    op_type y;
    char msg[OP_ERR_LEN];
    if (op_infer_pool2d(attrs, &in[0], 1, &y, 1, msg, sizeof msg)) {
        op_set_err(err, err_len, "%s: %s", op, msg);
        return -1;
    }
    if (!op_type_eq(&y, &in[1])) {
        char sy[TSTR_LEN], sg[TSTR_LEN];
        tstr(&y, sy);
        tstr(&in[1], sg);
        op_set_err(err, err_len, "%s: gy is %s but the pool output is %s", op, sg, sy);
        return -1;
    }
    out[0] = in[0];
    return 0;
}

OP_INFER(op_infer_max_pool2d_grad) { return pool_match("max_pool2d_grad", attrs, in, n_in, out, n_out, err, err_len); }
OP_INFER(op_infer_avg_pool2d_grad) { return pool_match("avg_pool2d_grad", attrs, in, n_in, out, n_out, err, err_len); }

static void pgeo_fill(pgeo *g, const op_attr *attrs, const op_tensor *x, const op_tensor *gy)
{
    g->planes = x->dims[0] * x->dims[1];
    g->H = x->dims[2], g->W = x->dims[3], g->OH = gy->dims[2], g->OW = gy->dims[3];
    for (int i = 0; i < 2; i++) {
        g->k[i] = attrs[0].ints[i];
        g->s[i] = attrs[1].n == 2 && attrs[1].ints[i] != 0 ? attrs[1].ints[i] : g->k[i];
        g->p[i] = attrs[2].ints[i];
        g->d[i] = attrs[3].ints[i];
    }
}

/* Taps of a window along one axis (as ops/nn.c): positions o*s - p + t*d,
 * [t0, t1) inside [0, n); n_pad = taps inside the padded input [-p, n + p). */
static void taps(int64_t o, int64_t n, int64_t k, int64_t s, int64_t p, int64_t d, int64_t *t0,
                 int64_t *t1, int64_t *n_pad)
{
    int64_t start = o * s - p;
    int64_t a = start >= 0 ? 0 : (-start + d - 1) / d;
    int64_t b = n - start <= 0 ? 0 : (n - start + d - 1) / d;
    int64_t c = n + p - start <= 0 ? 0 : (n + p - start + d - 1) / d;
    b = b < k ? b : k;
    *t0 = a < b ? a : b;
    *t1 = b;
    *n_pad = c < k ? c : k;
}

/* max_pool2d's pick, one tap at a time (with acc = -inf, best = -1 before
 * the first): tap value v at position pos becomes the winner when it is
 * greater, or a NaN; as selects, no branch (the winner is data, so a branch
 * mispredicts). The first maximum wins, or the last NaN; best stays -1 when
 * every tap is -inf. */
#define POOL_MAX_TAKE(v, pos)                                                                \
    do {                                                                                     \
        const int take_ = ((v) > acc) | ((v) != (v));                                       \
        acc = take_ ? (v) : acc;                                                             \
        best = take_ ? (pos) : best;                                                         \
    } while (0)

#define DEFINE_POOL_GRAD(T, SFX)                                                             \
    static void pool_grad_##SFX(const pgeo *g, const T *x, const T *gy, T *gx, int mode, int nt) \
    {                                                                                        \
        const int64_t ipl = g->H * g->W, opl = g->OH * g->OW;                                \
        /* no padding and every window inside x (LeNet's 2x2 pools): all taps, \
         * no per-window tap ranges (their divisions dominated the time) */   \
        const int inside = g->p[0] == 0 && g->p[1] == 0 &&                                   \
                           (g->OH - 1) * g->s[0] + (g->k[0] - 1) * g->d[0] < g->H &&          \
                           (g->OW - 1) * g->s[1] + (g->k[1] - 1) * g->d[1] < g->W;            \
        /* and of those the common 2x2 stride-2 max pool: its four taps unrolled */          \
        const int pool2x2 = inside && g->k[0] == 2 && g->k[1] == 2 && g->s[0] == 2 && g->s[1] == 2 && \
                            g->d[0] == 1 && g->d[1] == 1;                                    \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1 && g->planes > 1 && g->planes * opl * g->k[0] * g->k[1] >= PAR_MIN_WORK) schedule(static)") \
        for (int64_t pl = 0; pl < g->planes; pl++) {                                        \
            const T *xp = x + pl * ipl, *gp = gy + pl * opl;                                 \
            T *dp = gx + pl * ipl;                                                           \
            for (int64_t q = 0; q < ipl; q++)                                                \
                dp[q] = (T)0;                                                                \
            if (mode == 0 && pool2x2) {                                                      \
                for (int64_t oh = 0; oh < g->OH; oh++)                                       \
                    for (int64_t ow = 0; ow < g->OW; ow++) {                                 \
                        const int64_t at = 2 * oh * g->W + 2 * ow;                           \
                        const T *r0 = xp + at, *r1 = r0 + g->W;                              \
                        T acc = (T)-INFINITY; /* the generic taps' order, unrolled */        \
                        int64_t best = -1;                                                   \
                        POOL_MAX_TAKE(r0[0], at);                                            \
                        POOL_MAX_TAKE(r0[1], at + 1);                                        \
                        POOL_MAX_TAKE(r1[0], at + g->W);                                     \
                        POOL_MAX_TAKE(r1[1], at + g->W + 1);                                 \
                        if (best >= 0)                                                       \
                            dp[best] += gp[oh * g->OW + ow];                                 \
                    }                                                                        \
                continue;                                                                    \
            }                                                                                \
            for (int64_t oh = 0; oh < g->OH; oh++) {                                         \
                int64_t i0 = 0, i1 = g->k[0], ip = g->k[0];                                  \
                if (!inside)                                                                 \
                    taps(oh, g->H, g->k[0], g->s[0], g->p[0], g->d[0], &i0, &i1, &ip);       \
                int64_t hs = oh * g->s[0] - g->p[0];                                         \
                for (int64_t ow = 0; ow < g->OW; ow++) {                                     \
                    int64_t j0 = 0, j1 = g->k[1], jp = g->k[1];                              \
                    if (!inside)                                                             \
                        taps(ow, g->W, g->k[1], g->s[1], g->p[1], g->d[1], &j0, &j1, &jp);   \
                    int64_t ws = ow * g->s[1] - g->p[1];                                     \
                    T gv = gp[oh * g->OW + ow];                                              \
                    if (mode == 0) {                                                         \
                        T acc = (T)-INFINITY;                                                \
                        int64_t best = -1;                                                   \
                        for (int64_t i = i0; i < i1; i++)                                    \
                            for (int64_t j = j0; j < j1; j++) {                              \
                                int64_t at = (hs + i * g->d[0]) * g->W + ws + j * g->d[1];   \
                                POOL_MAX_TAKE(xp[at], at);                                   \
                            }                                                                \
                        if (best >= 0)                                                       \
                            dp[best] += gv;                                                  \
                        continue;                                                            \
                    }                                                                        \
                    int64_t cnt = mode == 1 ? ip * jp : (i1 - i0) * (j1 - j0);               \
                    if (cnt <= 0)                                                            \
                        continue;                                                            \
                    T share = gv / (T)cnt;                                                   \
                    for (int64_t i = i0; i < i1; i++)                                        \
                        for (int64_t j = j0; j < j1; j++)                                    \
                            dp[(hs + i * g->d[0]) * g->W + ws + j * g->d[1]] += share;       \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }
DEFINE_POOL_GRAD(float, f32)
DEFINE_POOL_GRAD(double, f64)

static int pool_grad_run(op_ctx *ctx, op_infer_fn infer, const char *op, const op_attr *attrs,
                         const op_tensor *in, int n_in, op_tensor *out, int n_out, int mode)
{
    if (op_kernel_check(ctx, infer, op, attrs, in, n_in, out, n_out, MAX_IN))
        return -1;
    pgeo g;
    pgeo_fill(&g, attrs, &in[0], &in[1]);
    if (op_tensor_numel(&out[0]) == 0)
        return 0;
    if (in[0].dtype == OP_F32)
        pool_grad_f32(&g, in[0].data, in[1].data, out[0].data, mode, nthreads(ctx));
    else
        pool_grad_f64(&g, in[0].data, in[1].data, out[0].data, mode, nthreads(ctx));
    return 0;
}

/* max_pool2d_grad(x, gy; the attributes of max_pool2d): gx of x's shape, 0
 * except that each window's gy goes to the tap max_pool2d picked (the first
 * maximum; the last NaN when the window holds NaN; nothing when every tap is
 * -inf or outside x). NCHW, f32/f64. */
OP_KERNEL(op_cpu_max_pool2d_grad)
{
    return pool_grad_run(ctx, op_infer_max_pool2d_grad, "max_pool2d_grad", attrs, in, n_in, out, n_out, 0);
}

/* avg_pool2d_grad(x, gy; the attributes of avg_pool2d): each window's gy is
 * shared equally by its taps inside x, divided by avg_pool2d's divisor
 * (count_include_pad: taps inside the padded input; else taps inside x).
 * x gives only its shape. NCHW, f32/f64. */
OP_KERNEL(op_cpu_avg_pool2d_grad)
{
    return pool_grad_run(ctx, op_infer_avg_pool2d_grad, "avg_pool2d_grad", attrs, in, n_in, out, n_out,
                         attrs[5].i ? 1 : 2);
}

/* ================================================================== */
/* gather_grad                                                         */

OP_INFER(op_infer_gather_grad)
{
    if (op_check_inputs("gather_grad", in, n_in, 3, n_out, err, err_len))
        return -1;
    const op_type *gy = &in[0], *ref = &in[2];
    char sg[TSTR_LEN], sr[TSTR_LEN];
    tstr(gy, sg);
    tstr(ref, sr);
    if (!is_float(ref->dtype) || gy->dtype != ref->dtype) {
        op_set_err(err, err_len, "gather_grad: gy %s and ref %s must be one float dtype", sg, sr);
        return -1;
    }
    op_type fin[2] = { *ref, in[1] }, y;
    char msg[OP_ERR_LEN];
    if (op_infer_gather(attrs, fin, 2, &y, 1, msg, sizeof msg)) {
        op_set_err(err, err_len, "gather_grad: %s", msg);
        return -1;
    }
    if (!op_type_eq(&y, gy)) {
        char sy[TSTR_LEN];
        tstr(&y, sy);
        op_set_err(err, err_len, "gather_grad: gy is %s but gather gives %s", sg, sy);
        return -1;
    }
    out[0] = *ref;
    return 0;
}

#define DEFINE_SCATTER(T, SFX)                                                               \
    static void scatter_##SFX(const T *gy, const void *ix, int is64, T *gx, int64_t outer,     \
                              int64_t dim, int64_t n_idx, int64_t inner, int nt)             \
    {                                                                                        \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1 && outer > 1 && outer * n_idx * inner >= PAR_MIN_WORK) schedule(static)") \
        for (int64_t o = 0; o < outer; o++)                                                  \
            for (int64_t j = 0; j < n_idx; j++) {                                            \
                int64_t v = is64 ? ((const int64_t *)ix)[j] : ((const int32_t *)ix)[j];      \
                if (v < 0)                                                                   \
                    v += dim;                                                                \
                T *dst = gx + (o * dim + v) * inner;                                         \
                const T *src = gy + (o * n_idx + j) * inner;                                 \
                for (int64_t q = 0; q < inner; q++)                                          \
                    dst[q] += src[q];                                                        \
            }                                                                                \
    }
DEFINE_SCATTER(float, f32)
DEFINE_SCATTER(double, f64)

/* gather_grad(gy, indices, ref; axis): the adjoint of gather(ref, indices,
 * axis): zeros of ref's shape, then gx[a.., indices[i..], b..] +=
 * gy[a.., i.., b..] (repeated indices accumulate, in index order); negative
 * indices count from the end, out of range is an error. ref gives only its
 * shape. f32/f64. */
OP_KERNEL(op_cpu_gather_grad)
{
    if (op_kernel_check(ctx, op_infer_gather_grad, "gather_grad", attrs, in, n_in, out, n_out, MAX_IN))
        return -1;
    const op_tensor *ix = &in[1], *ref = &in[2];
    int ax = op_axis(attrs[0].i, ref->rank);
    int64_t dim = ref->dims[ax], n_idx = op_tensor_numel(ix);
    int64_t outer = op_dims_numel(ax, ref->dims);
    int64_t inner = op_dims_numel(ref->rank - ax - 1, ref->dims + ax + 1);
    int is64 = ix->dtype == OP_I64;
    for (int64_t j = 0; j < n_idx; j++) {
        int64_t v = is64 ? ((const int64_t *)ix->data)[j] : ((const int32_t *)ix->data)[j];
        if (v < -dim || v >= dim) {
            op_set_err(ctx->err, sizeof ctx->err,
                       "gather_grad: index %lld (at position %lld) is out of range for axis %d of size %lld",
                       (long long)v, (long long)j, ax, (long long)dim);
            return -1;
        }
    }
    int64_t n = op_tensor_numel(&out[0]);
    if (n == 0)
        return 0;
    memset(out[0].data, 0, (size_t)n * op_dtype_size(out[0].dtype));
    if (ref->dtype == OP_F32)
        scatter_f32(in[0].data, ix->data, is64, out[0].data, outer, dim, n_idx, inner, nthreads(ctx));
    else
        scatter_f64(in[0].data, ix->data, is64, out[0].data, outer, dim, n_idx, inner, nthreads(ctx));
    return 0;
}
