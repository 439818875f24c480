/* ops/nn.c -- neural-network ops: softmax / log_softmax, conv2d (im2col +
 * oneDNN sgemm, direct loops for depthwise), max / avg / global-average
 * pooling (PyTorch semantics), batch_norm (inference) and layer_norm.
 * Inference validates every attribute: the runtime feeds it untrusted files.
 * Layout is NCHW; only the batch dim N may be symbolic for conv and pooling. */
#include "kernels.h"
#include "epilogue.h"

#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <string.h>

#define TSTR_LEN 300
/* Loops over fewer elements than this stay on one thread. */
#define PAR_MIN_WORK 32768

static void tstr(const op_type *t, char *buf, size_t len) { op_type_str(t, NULL, buf, len); }

static int is_float(op_dtype t) { return t == OP_F32 || t == OP_F64; }

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Dims from..rank-1 of t are concrete and > 0; a concrete dim before from
 * must be >= 0. Else an error naming op, what and the full type. */
static int need_concrete(const op_type *t, int from, const char *op, const char *what,
                         char *err, size_t err_len)
{
    for (int i = 0; i < t->rank; i++) {
        op_dim d = t->dims[i];
        if (i < from ? d.coef < 0 : d.sym >= 0 || d.coef <= 0) {
            char s[TSTR_LEN];
            tstr(t, s, sizeof s);
            if (i < from)
                op_set_err(err, err_len, "%s: %s has a negative dimension: %s", op, what, s);
            else
                op_set_err(err, err_len,
                           "%s: %s dims after the batch dim must be concrete and positive, got %s",
                           op, what, s);
            return -1;
        }
    }
    return 0;
}

/* Reads a 2-int attribute into v; every value must be >= lo. */
static int attr_pair(const op_attr *a, const char *op, const char *name, int64_t lo,
                     int64_t v[2], char *err, size_t err_len)
{
    if (a->n != 2) {
        op_set_err(err, err_len, "%s: %s needs 2 values (height, width), got %d", op, name, a->n);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        if (a->ints[i] < lo || a->ints[i] > INT32_MAX) {
            op_set_err(err, err_len, "%s: %s must be in [%lld, %d], got [%lld, %lld]", op, name,
                       (long long)lo, INT32_MAX, (long long)a->ints[0], (long long)a->ints[1]);
            return -1;
        }
        v[i] = a->ints[i];
    }
    return 0;
}

/* Output length of a sliding window: PyTorch's pooling_output_shape (conv is
 * the ceil_mode 0 case). All arguments are bounded by INT32_MAX (dims of a
 * tensor may be larger), so the int64 arithmetic below cannot overflow for
 * in < 2^62. Returns the size, <= 0 when no window fits. */
static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int ceil_mode)
{
    if (in > INT64_MAX / 4)
        return -1;
    int64_t num = in + 2 * p - d * (k - 1) - 1;
    if (ceil_mode)
        num += s - 1;
    int64_t q = num >= 0 ? num / s : -((-num + s - 1) / s); /* floor division */
    int64_t o = q + 1;
    if (ceil_mode && o > 0 && (o - 1) * s >= in + p)
        o--; /* the last window must start inside the input or left padding */
    return o;
}

/* ------------------------------------------------------------------ */
/* Re-running inference in a kernel: a caller passing tensors that do not
 * match the op gets an error instead of an out-of-bounds access. */
static int kernel_check(op_ctx *ctx, op_infer_fn infer, const char *op, const op_attr *attrs,
                        const op_tensor *in, int n_in, const op_tensor *out, int n_out)
{
    op_type ti[5], to;
    if (n_in < 1 || n_in > 5 || n_out != 1) {
        op_set_err(ctx->err, sizeof ctx->err, "%s: wrong number of inputs or outputs (%d, %d)", op,
                   n_in, n_out);
        return -1;
    }
    for (int i = 0; i < n_in; i++) {
        if (in[i].rank < 0 || in[i].rank > OP_MAX_RANK || out[0].rank < 0 || out[0].rank > OP_MAX_RANK) {
            op_set_err(ctx->err, sizeof ctx->err, "%s: bad tensor rank", op);
            return -1;
        }
        op_type_from_tensor(&in[i], &ti[i]);
    }
    if (infer(attrs, ti, n_in, &to, 1, ctx->err, sizeof ctx->err) != 0)
        return -1;
    op_type got;
    op_type_from_tensor(&out[0], &got);
    if (!op_type_eq(&to, &got)) {
        char se[TSTR_LEN], sg[TSTR_LEN];
        tstr(&to, se, sizeof se);
        tstr(&got, sg, sizeof sg);
        op_set_err(ctx->err, sizeof ctx->err, "%s: output is %s, expected %s", op, sg, se);
        return -1;
    }
    return 0;
}

static int nthreads(const op_ctx *ctx) { return ctx->n_threads > 0 ? ctx->n_threads : 1; }

/* ================================================================== */
/* softmax, log_softmax                                                */

OP_INFER(op_infer_softmax)
{
    if (n_in != 1 || n_out != 1) {
        op_set_err(err, err_len, "softmax: expects 1 input and 1 output");
        return -1;
    }
    char s[TSTR_LEN];
    tstr(&in[0], s, sizeof s);
    if (!is_float(in[0].dtype)) {
        op_set_err(err, err_len, "softmax: x must be f32 or f64, got %s", s);
        return -1;
    }
    if (in[0].rank < 1 || op_axis(attrs[0].i, in[0].rank) < 0) {
        op_set_err(err, err_len, "softmax: axis %lld out of range for %s", (long long)attrs[0].i, s);
        return -1;
    }
    out[0] = in[0];
    return 0;
}

/* glibc's vector math (libmvec, pulled in by -lm) has SIMD variants of
 * expf, within 4 ulp; declaring them lets `omp simd` loops call them, about
 * 4x faster than the scalar expf on the SSE baseline. */
#if defined(__GLIBC__) && defined(__x86_64__) && !defined(__FAST_MATH__)
#pragma omp declare simd notinbranch
float expf(float);
#endif

/* x viewed as [outer, L, inner] with L the softmax axis. Rows (one per
 * (outer, inner) pair) are independent: each is computed the same way for
 * any thread count. Max-subtracted; the sum accumulates in double. A NaN
 * anywhere in a row makes its sum, so the whole row, NaN. */
#define DEFINE_SOFTMAX(T, SFX, EXP)                                                          \
    static void softmax_row_##SFX(const T *restrict xr, T *restrict yr, int64_t L,          \
                                  int log_mode)                                              \
    {                                                                                        \
        T m = xr[0];                                                                         \
        _Pragma("omp simd reduction(max : m)")                                               \
        for (int64_t l = 1; l < L; l++)                                                      \
            m = xr[l] > m ? xr[l] : m;                                                       \
        double sum = 0.0;                                                                    \
        if (log_mode) {                                                                      \
            _Pragma("omp simd reduction(+ : sum)")                                           \
            for (int64_t l = 0; l < L; l++)                                                  \
                sum += (double)EXP(xr[l] - m);                                               \
            T ls = (T)log(sum);                                                              \
            _Pragma("omp simd")                                                              \
            for (int64_t l = 0; l < L; l++)                                                  \
                yr[l] = (xr[l] - m) - ls;                                                    \
        } else {                                                                             \
            _Pragma("omp simd reduction(+ : sum)")                                           \
            for (int64_t l = 0; l < L; l++) {                                                \
                T e = EXP(xr[l] - m);                                                        \
                yr[l] = e;                                                                   \
                sum += (double)e;                                                            \
            }                                                                                \
            T inv = (T)(1.0 / sum);                                                          \
            _Pragma("omp simd")                                                              \
            for (int64_t l = 0; l < L; l++)                                                  \
                yr[l] *= inv;                                                                \
        }                                                                                    \
    }                                                                                        \
    static void softmax_##SFX(const T *x, T *y, int64_t outer, int64_t L, int64_t inner,   \
                              int log_mode, int nt)                                          \
    {                                                                                        \
        int64_t rows = outer * inner;                                                        \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1 && rows > 1 && rows * L >= PAR_MIN_WORK) schedule(static)") \
        for (int64_t r = 0; r < rows; r++) {                                                 \
            if (inner == 1) {                                                                \
                softmax_row_##SFX(x + r * L, y + r * L, L, log_mode);                        \
                continue;                                                                    \
            }                                                                                \
            int64_t o = r / inner, i = r % inner;                                            \
            const T *xr = x + o * L * inner + i;                                             \
            T *yr = y + o * L * inner + i;                                                   \
            T m = xr[0];                                                                     \
            for (int64_t l = 1; l < L; l++)                                                  \
                m = xr[l * inner] > m ? xr[l * inner] : m;                                   \
            double sum = 0.0;                                                                \
            if (log_mode) {                                                                  \
                for (int64_t l = 0; l < L; l++)                                              \
                    sum += (double)EXP(xr[l * inner] - m);                                   \
                T ls = (T)log(sum);                                                          \
                for (int64_t l = 0; l < L; l++)                                              \
                    yr[l * inner] = (xr[l * inner] - m) - ls;                                \
            } else {                                                                         \
                for (int64_t l = 0; l < L; l++) {                                            \
                    T e = EXP(xr[l * inner] - m);                                            \
                    yr[l * inner] = e;                                                       \
                    sum += (double)e;                                                        \
                }                                                                            \
                T inv = (T)(1.0 / sum);                                                      \
                for (int64_t l = 0; l < L; l++)                                              \
                    yr[l * inner] *= inv;                                                    \
            }                                                                                \
        }                                                                                    \
    }
DEFINE_SOFTMAX(float, f32, expf)
DEFINE_SOFTMAX(double, f64, exp)

static int softmax_run(op_ctx *ctx, const op_attr *attrs, const op_tensor *in, int n_in,
                       op_tensor *out, int n_out, int log_mode)
{
    const char *op = log_mode ? "log_softmax" : "softmax";
    if (kernel_check(ctx, op_infer_softmax, op, attrs, in, n_in, out, n_out) != 0)
        return -1;
    const op_tensor *x = &in[0];
    int ax = op_axis(attrs[0].i, x->rank);
    int64_t outer = op_dims_numel(ax, x->dims), L = x->dims[ax];
    int64_t inner = op_dims_numel(x->rank - ax - 1, x->dims + ax + 1);
    if (outer * L * inner == 0)
        return 0;
    if (x->dtype == OP_F32)
        softmax_f32(x->data, out[0].data, outer, L, inner, log_mode, nthreads(ctx));
    else
        softmax_f64(x->data, out[0].data, outer, L, inner, log_mode, nthreads(ctx));
    return 0;
}

/* softmax: y = exp(x - max) / sum(exp(x - max)) along attrs[0] axis
 * (negative counts from the end); f32/f64; NaN in a row gives NaN. */
OP_KERNEL(op_cpu_softmax) { return softmax_run(ctx, attrs, in, n_in, out, n_out, 0); }

/* log_softmax: y = x - max - log(sum(exp(x - max))) along the axis. */
OP_KERNEL(op_cpu_log_softmax) { return softmax_run(ctx, attrs, in, n_in, out, n_out, 1); }

/* ================================================================== */
/* conv2d                                                              */

/* Validates everything about a conv2d node and fills g (concrete dims only;
 * g->N is meaningless when the batch dim is symbolic). */
static int conv_validate(const op_attr *attrs, const op_type *in, int n_in, op_conv_geom *g,
                         char *err, size_t err_len)
{
    if (n_in < 2 || n_in > 3) {
        op_set_err(err, err_len, "conv2d: expects x, w and optional b (got %d inputs)", n_in);
        return -1;
    }
    const op_type *x = &in[0], *w = &in[1], *b = n_in > 2 ? &in[2] : NULL;
    char sx[TSTR_LEN], sw[TSTR_LEN], sb[TSTR_LEN] = "";
    tstr(x, sx, sizeof sx);
    tstr(w, sw, sizeof sw);
    if (b)
        tstr(b, sb, sizeof sb);
    if (x->dtype != OP_F32 || w->dtype != OP_F32 || (b && b->dtype != OP_F32)) {
        op_set_err(err, err_len, "conv2d supports f32: x %s, w %s%s%s", sx, sw, b ? ", b " : "", sb);
        return -1;
    }
    if (x->rank != 4) {
        op_set_err(err, err_len, "conv2d: x must be [N, C, H, W], got %s", sx);
        return -1;
    }
    if (w->rank != 4) {
        op_set_err(err, err_len, "conv2d: w must be [O, C/groups, kh, kw], got %s (x %s)", sw, sx);
        return -1;
    }
    if (need_concrete(x, 1, "conv2d", "x", err, err_len) ||
        need_concrete(w, 0, "conv2d", "w", err, err_len))
        return -1;
    if (attr_pair(&attrs[0], "conv2d", "stride", 1, g->s, err, err_len) ||
        attr_pair(&attrs[1], "conv2d", "padding", 0, g->p, err, err_len) ||
        attr_pair(&attrs[2], "conv2d", "dilation", 1, g->d, err, err_len))
        return -1;
    g->N = x->dims[0].sym < 0 ? x->dims[0].coef : 0;
    g->C = x->dims[1].coef;
    g->H = x->dims[2].coef;
    g->W = x->dims[3].coef;
    g->O = w->dims[0].coef;
    g->kh = w->dims[2].coef;
    g->kw = w->dims[3].coef;
    g->G = attrs[3].i;
    if (g->G < 1 || g->C % g->G != 0 || g->O % g->G != 0) {
        op_set_err(err, err_len, "conv2d: groups=%lld must be >= 1 and divide C and O: x %s, w %s",
                   (long long)g->G, sx, sw);
        return -1;
    }
    g->Cg = g->C / g->G;
    g->Og = g->O / g->G;
    if (w->dims[1].coef != g->Cg) {
        op_set_err(err, err_len,
                   "conv2d: w %s does not match x %s: w[1] must be C/groups = %lld (groups=%lld)",
                   sw, sx, (long long)g->Cg, (long long)g->G);
        return -1;
    }
    if (b && (b->rank != 1 || !op_dim_is(b->dims[0], g->O))) {
        op_set_err(err, err_len, "conv2d: b must be [%lld] for w %s, got %s", (long long)g->O, sw, sb);
        return -1;
    }
    if (op_act_check("conv2d", attrs[4].i, err, err_len) != 0)
        return -1;
    if (g->kh > INT32_MAX || g->kw > INT32_MAX) {
        op_set_err(err, err_len, "conv2d: kernel too large: w %s", sw);
        return -1;
    }
    g->OH = window_out(g->H, g->kh, g->s[0], g->p[0], g->d[0], 0);
    g->OW = window_out(g->W, g->kw, g->s[1], g->p[1], g->d[1], 0);
    if (g->OH <= 0 || g->OW <= 0) {
        op_set_err(err, err_len,
                   "conv2d: output would be empty: x %s, w %s, stride [%lld, %lld], padding [%lld, %lld], "
                   "dilation [%lld, %lld]",
                   sx, sw, (long long)g->s[0], (long long)g->s[1], (long long)g->p[0],
                   (long long)g->p[1], (long long)g->d[0], (long long)g->d[1]);
        return -1;
    }
    return 0;
}

OP_INFER(op_infer_conv2d)
{
    op_conv_geom g;
    if (n_out != 1) {
        op_set_err(err, err_len, "conv2d: expects 1 output");
        return -1;
    }
    if (conv_validate(attrs, in, n_in, &g, err, err_len) != 0)
        return -1;
    op_type o;
    memset(&o, 0, sizeof o);
    o.dtype = OP_F32;
    o.rank = 4;
    o.dims[0] = in[0].dims[0];
    o.dims[1] = op_dim_const(g.O);
    o.dims[2] = op_dim_const(g.OH);
    o.dims[3] = op_dim_const(g.OW);
    out[0] = o;
    return 0;
}

/* Grouped convs with one input channel per group run as direct loops. */
static int conv_direct(const op_conv_geom *g) { return g->G > 1 && g->Cg == 1; }

static int conv_pointwise(const op_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->s[0] == 1 && g->s[1] == 1 && g->p[0] == 0 && g->p[1] == 0;
}

/* Per-image, per-group im2col buffer: [Cg*kh*kw, OH*OW] floats, rounded up
 * to a cache line. 0 when the conv needs none (1x1 stride-1 pad-0, or
 * grouped with one input channel per group: direct loops). Overflow: SIZE_MAX. */
static size_t conv_slot_bytes(const op_conv_geom *g)
{
    if (conv_pointwise(g) || conv_direct(g))
        return 0;
    int64_t dims[4] = { g->Cg * g->kh, g->kw, g->OH, g->OW };
    int64_t n = op_dims_numel(4, dims);
    if (n < 0 || (uint64_t)n > (SIZE_MAX - 128) / sizeof(float))
        return SIZE_MAX;
    return ((size_t)n * sizeof(float) + 63) & ~(size_t)63;
}

#define CONV_MAX_SLOTS 16
#define CONV_SLOTS_BYTES ((size_t)4 << 20)

/* Scratch of conv2d: one im2col buffer per image processed at once. Up to
 * 16 images (bounded by N and 4 MiB in all, one at least) so small convs can
 * run one image per thread; the kernel uses as many slots as it is given.
 * Plus 64 bytes to align the start. */
OP_WORKSPACE(op_ws_conv2d)
{
    if (n_in < 2)
        return 0;
    op_type ti[3];
    for (int i = 0; i < n_in && i < 3; i++)
        op_type_from_tensor(&in[i], &ti[i]);
    op_conv_geom g;
    char err[8];
    if (conv_validate(attrs, ti, n_in < 3 ? n_in : 3, &g, err, sizeof err) != 0)
        return 0; /* the kernel reports the error */
    size_t slot = conv_slot_bytes(&g);
    if (slot == 0)
        return 0;
    if (slot == SIZE_MAX)
        return SIZE_MAX;
    size_t n = CONV_SLOTS_BYTES / slot;
    if (n > CONV_MAX_SLOTS)
        n = CONV_MAX_SLOTS;
    if ((int64_t)n > g.N)
        n = (size_t)g.N;
    if (n < 1)
        n = 1;
    return n * slot + 64;
}

/* First and one-past-last output index o in [0, n_out) whose input position
 * o*s + off lies in [0, n_in) (kernels.h). */
void op_conv_valid_range(int64_t off, int64_t s, int64_t n_in, int64_t n_out, int64_t *lo,
                         int64_t *hi)
{
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t end = n_in - off; /* need o*s < end */
    int64_t h = end <= 0 ? 0 : (end + s - 1) / s;
    l = min64(l, n_out);
    h = min64(h, n_out);
    *lo = l;
    *hi = max64(l, h);
}

/* col[((c*kh + i)*kw + j)*ld + oh*OW + ow] = x[c][oh*sh - ph + i*dh][ow*sw - pw + j*dw]
 * (0 outside), for the Cg channels at xg; ld >= OH*OW. Rows split over nt
 * threads (kernels.h). */
void op_conv_im2col(const op_conv_geom *g, const float *restrict xg, float *restrict col, int64_t ld,
                    int nt)
{
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, kh = g->kh, kw = g->kw;
    const int64_t sh = g->s[0], sw = g->s[1], ph = g->p[0], pw = g->p[1], dh = g->d[0], dw = g->d[1];
    const int64_t rows = g->Cg * kh * kw, OHW = OH * OW;
#pragma omp parallel for num_threads(nt) if (nt > 1 && rows * OHW >= PAR_MIN_WORK) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t c = r / (kh * kw), i = (r / kw) % kh, j = r % kw;
        const float *xc = xg + c * H * W;
        float *dst = col + r * ld;
        int64_t off_w = j * dw - pw, lo, hi;
        op_conv_valid_range(off_w, sw, W, OW, &lo, &hi);
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t ih = oh * sh - ph + i * dh;
            float *restrict drow = dst + oh * OW;
            if (ih < 0 || ih >= H) {
                memset(drow, 0, (size_t)OW * sizeof(float));
                continue;
            }
            /* x of output column lo; columns before lo and from hi read padding */
            const float *restrict src = xc + ih * W + off_w + lo * sw;
            for (int64_t ow = 0; ow < lo; ow++)
                drow[ow] = 0.0f;
            float *restrict d = drow + lo;
            int64_t n = hi - lo;
            if (sw == 1) { /* rows are short: an inlined loop beats memcpy calls */
#pragma omp simd
                for (int64_t q = 0; q < n; q++)
                    d[q] = src[q];
            } else {
#pragma omp simd
                for (int64_t q = 0; q < n; q++)
                    d[q] = src[q * sw];
            }
            for (int64_t ow = hi; ow < OW; ow++)
                drow[ow] = 0.0f;
        }
    }
}

/* Direct conv for grouped convs with one input channel per group
 * (depthwise and its channel multipliers): out plane (n, o) reads input
 * plane (n, o / Og). Planes split over threads. */
static void conv_direct_cg1(const op_conv_geom *g, const float *x, const float *w, const float *b,
                            int act, float *y, int nt)
{
    const int64_t H = g->H, W = g->W, OH = g->OH, OW = g->OW, kh = g->kh, kw = g->kw;
    const int64_t sh = g->s[0], sw = g->s[1], ph = g->p[0], pw = g->p[1], dh = g->d[0], dw = g->d[1];
    const int64_t C = g->C, O = g->O, Og = g->Og, planes = g->N * O, OHW = OH * OW;
    const int64_t work = planes * OHW * kh * kw;
#pragma omp parallel for num_threads(nt) if (nt > 1 && planes > 1 && work >= PAR_MIN_WORK) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        int64_t n = pl / O, o = pl % O;
        const float *xp = x + (n * C + o / Og) * H * W;
        const float *wo = w + o * kh * kw;
        float *restrict yp = y + pl * OHW;
        for (int64_t q = 0; q < OHW; q++)
            yp[q] = 0.0f;
        for (int64_t j = 0; j < kw; j++) {
            int64_t off_w = j * dw - pw, lo, hi;
            op_conv_valid_range(off_w, sw, W, OW, &lo, &hi);
            int64_t len = hi - lo;
            for (int64_t oh = 0; oh < OH; oh++) {
                float *restrict yr = yp + oh * OW + lo;
                for (int64_t i = 0; i < kh; i++) {
                    int64_t ih = oh * sh - ph + i * dh;
                    if (ih < 0 || ih >= H)
                        continue;
                    float wv = wo[i * kw + j];
                    /* x of output column lo */
                    const float *restrict src = xp + ih * W + off_w + lo * sw;
                    if (sw == 1) {
#pragma omp simd
                        for (int64_t q = 0; q < len; q++)
                            yr[q] += wv * src[q];
                    } else {
#pragma omp simd
                        for (int64_t q = 0; q < len; q++)
                            yr[q] += wv * src[q * sw];
                    }
                }
            }
        }
        /* bias and activation on the plane just computed (cannot fail:
         * the shapes were validated) */
        char e[8];
        (void)op_epilogue(OP_F32, yp, 1, OHW, b ? b + o : NULL, 1, act, e, sizeof e);
    }
}

/* One image: for each group, out[Og, OHW] = act(w_g[Og, K] @ col_g[K, OHW]
 * + bias), bias and activation applied right after the sgemm. col is the
 * image's slot, or NULL for pointwise convs, whose col is the input itself. */
static int conv_image(const op_conv_geom *g, const float *xn, const float *w, const float *b, int act,
                      float *yn, float *col, int nt)
{
    int64_t K = g->Cg * g->kh * g->kw, OHW = g->OH * g->OW;
    for (int64_t gi = 0; gi < g->G; gi++) {
        const float *xg = xn + gi * g->Cg * g->H * g->W;
        const float *src = xg;
        if (col) {
            op_conv_im2col(g, xg, col, OHW, nt);
            src = col;
        }
        float *yg = yn + gi * g->Og * OHW;
        dnnl_status_t st = dnnl_sgemm('N', 'N', g->Og, OHW, K, 1.0f, w + gi * g->Og * K, K, src,
                                      OHW, 0.0f, yg, OHW);
        if (st != dnnl_success)
            return (int)st;
        /* epilogue on the group's planes while they are in cache: one call
         * per thread's share of the planes (a call has a fixed cost) */
        if (b || act != OP_ACT_NONE) {
            const float *bg = b ? b + gi * g->Og : NULL;
            int64_t n_chunks = nt > 1 && g->Og > 1 && g->Og * OHW >= PAR_MIN_WORK ? min64(nt, g->Og) : 1;
#pragma omp parallel for num_threads(nt) if (n_chunks > 1) schedule(static)
            for (int64_t ch = 0; ch < n_chunks; ch++) {
                int64_t o0 = g->Og * ch / n_chunks, o1 = g->Og * (ch + 1) / n_chunks;
                char e[8]; /* cannot fail: the shapes were validated */
                (void)op_epilogue(OP_F32, yg + o0 * OHW, o1 - o0, OHW, bg ? bg + o0 : NULL, 1, act, e, sizeof e);
            }
        }
    }
    return 0;
}

/* conv2d: y[n,o,oh,ow] = act(sum_{c,i,j} w[o,c,i,j] *
 *   x[n, g*C/groups + c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] + b[o]), g = o / (O/groups),
 * act = attrs[4] (ops/epilogue.h), bias and act applied per output plane
 * after its sum with the unfused add / activation arithmetic,
 * zero padding, NCHW, f32 with float accumulation. Paths: groups > 1 with
 * one input channel per group (depthwise) -> direct loops; 1x1 stride-1
 * pad-0 -> oneDNN sgemm on x; else im2col into ctx->workspace + sgemm.
 * Images of a batch run one per thread (one workspace slot each) when they
 * are small or divide evenly; otherwise one image at a time on all threads. */
OP_KERNEL(op_cpu_conv2d)
{
    if (kernel_check(ctx, op_infer_conv2d, "conv2d", attrs, in, n_in, out, n_out) != 0)
        return -1;
    op_type ti[3];
    for (int i = 0; i < n_in; i++)
        op_type_from_tensor(&in[i], &ti[i]);
    op_conv_geom g;
    if (conv_validate(attrs, ti, n_in, &g, ctx->err, sizeof ctx->err) != 0)
        return -1;
    const float *x = in[0].data, *w = in[1].data, *b = n_in > 2 ? in[2].data : NULL;
    float *y = out[0].data;
    int nt = nthreads(ctx), act = (int)attrs[4].i;
    if (g.N == 0)
        return 0;
    if (conv_direct(&g)) {
        conv_direct_cg1(&g, x, w, b, act, y, nt);
        return 0;
    }
    size_t slot = conv_slot_bytes(&g);
    float *ws = NULL;
    int64_t n_slots = 1;
    if (slot != 0) {
        uintptr_t base = (uintptr_t)ctx->workspace, aligned = (base + 63) & ~(uintptr_t)63;
        size_t have = ctx->workspace && ctx->workspace_size >= aligned - base + slot
                          ? ctx->workspace_size - (aligned - base)
                          : 0;
        if (slot == SIZE_MAX || have < slot) {
            op_set_err(ctx->err, sizeof ctx->err,
                       "conv2d: workspace too small: need %zu bytes, got %zu",
                       op_ws_conv2d(attrs, in, n_in, out, n_out),
                       ctx->workspace ? ctx->workspace_size : 0);
            return -1;
        }
        ws = (float *)aligned;
        n_slots = (int64_t)(have / slot);
    } else {
        n_slots = g.N; /* no scratch: any number of images at once */
    }
    int64_t K = g.Cg * g.kh * g.kw, OHW = g.OH * g.OW;
    double img_flops = 2.0 * (double)g.O * (double)K * (double)OHW;
    int64_t nb = min64(min64(nt, n_slots), g.N);
    int batch_par = nb >= 2 && (img_flops < 16e6 || g.N % nb == 0);
    int status = 0;
    omp_set_num_threads(nt); /* oneDNN's pool; inside our own region it runs serial */
    if (batch_par) {
#pragma omp parallel num_threads((int)nb)
        {
            int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
            float *col = ws ? (float *)((char *)ws + (size_t)t * slot) : NULL;
            for (int64_t n = t; n < g.N; n += T) {
                int st = conv_image(&g, x + n * g.C * g.H * g.W, w, b, act, y + n * g.O * OHW, col, 1);
                if (st != 0) {
#pragma omp atomic write
                    status = st;
                }
            }
        }
    } else {
        for (int64_t n = 0; n < g.N && status == 0; n++)
            status = conv_image(&g, x + n * g.C * g.H * g.W, w, b, act, y + n * g.O * OHW, ws, nt);
    }
    if (status != 0) {
        op_set_err(ctx->err, sizeof ctx->err, "conv2d: dnnl_sgemm failed (status %d)", status);
        return -1;
    }
    return 0;
}

/* ================================================================== */
/* max_pool2d, avg_pool2d, global_avg_pool                             */

typedef struct pool_geom {
    int64_t N, C, H, W, OH, OW;
    int64_t ow_in0, ow_in1; /* outputs whose window lies inside x along W */
    int64_t k[2], s[2], p[2], d[2];
    int ceil_mode;
} pool_geom;

/* attrs: kernel[2], stride[0 or 2] (0 values: = kernel), padding[2],
 * dilation[2], ceil_mode (avg_pool2d adds count_include_pad, read by its
 * kernel). Padding is at most half the kernel (PyTorch's rule). */
static int pool_validate(const op_attr *attrs, const op_type *in, int n_in, pool_geom *g,
                         char *err, size_t err_len)
{
    if (n_in != 1) {
        op_set_err(err, err_len, "pool2d: expects 1 input, got %d", n_in);
        return -1;
    }
    const op_type *x = &in[0];
    char sx[TSTR_LEN];
    tstr(x, sx, sizeof sx);
    if (!is_float(x->dtype) || x->rank != 4) {
        op_set_err(err, err_len, "pool2d: x must be f32 or f64 [N, C, H, W], got %s", sx);
        return -1;
    }
    if (need_concrete(x, 1, "pool2d", "x", err, err_len) != 0)
        return -1;
    if (attr_pair(&attrs[0], "pool2d", "kernel", 1, g->k, err, err_len) != 0)
        return -1;
    if (attrs[1].n == 0) {
        g->s[0] = g->k[0];
        g->s[1] = g->k[1];
    } else {
        if (attr_pair(&attrs[1], "pool2d", "stride", 0, g->s, err, err_len) != 0)
            return -1;
        for (int i = 0; i < 2; i++)
            if (g->s[i] == 0)
                g->s[i] = g->k[i];
    }
    if (attr_pair(&attrs[2], "pool2d", "padding", 0, g->p, err, err_len) != 0 ||
        attr_pair(&attrs[3], "pool2d", "dilation", 1, g->d, err, err_len) != 0)
        return -1;
    if (g->p[0] > g->k[0] / 2 || g->p[1] > g->k[1] / 2) {
        op_set_err(err, err_len, "pool2d: padding [%lld, %lld] exceeds half the kernel [%lld, %lld] (x %s)",
                   (long long)g->p[0], (long long)g->p[1], (long long)g->k[0], (long long)g->k[1], sx);
        return -1;
    }
    if (attrs[4].i != 0 && attrs[4].i != 1) {
        op_set_err(err, err_len, "pool2d: ceil_mode must be 0 or 1, got %lld", (long long)attrs[4].i);
        return -1;
    }
    g->ceil_mode = (int)attrs[4].i;
    g->N = x->dims[0].sym < 0 ? x->dims[0].coef : 0;
    g->C = x->dims[1].coef;
    g->H = x->dims[2].coef;
    g->W = x->dims[3].coef;
    g->OH = window_out(g->H, g->k[0], g->s[0], g->p[0], g->d[0], g->ceil_mode);
    g->OW = window_out(g->W, g->k[1], g->s[1], g->p[1], g->d[1], g->ceil_mode);
    /* ow*s - p >= 0 and ow*s - p + (k-1)*d <= W - 1 */
    int64_t last = g->W - 1 + g->p[1] - (g->k[1] - 1) * g->d[1];
    g->ow_in0 = min64((g->p[1] + g->s[1] - 1) / g->s[1], max64(g->OW, 0));
    g->ow_in1 = last < 0 ? g->ow_in0 : max64(g->ow_in0, min64(last / g->s[1] + 1, g->OW));
    if (g->OH <= 0 || g->OW <= 0) {
        op_set_err(err, err_len,
                   "pool2d: output would be empty: x %s, kernel [%lld, %lld], stride [%lld, %lld], "
                   "padding [%lld, %lld], dilation [%lld, %lld]",
                   sx, (long long)g->k[0], (long long)g->k[1], (long long)g->s[0], (long long)g->s[1],
                   (long long)g->p[0], (long long)g->p[1], (long long)g->d[0], (long long)g->d[1]);
        return -1;
    }
    return 0;
}

OP_INFER(op_infer_pool2d)
{
    pool_geom g;
    if (n_out != 1) {
        op_set_err(err, err_len, "pool2d: expects 1 output");
        return -1;
    }
    if (pool_validate(attrs, in, n_in, &g, err, err_len) != 0)
        return -1;
    out[0] = in[0];
    out[0].dims[2] = op_dim_const(g.OH);
    out[0].dims[3] = op_dim_const(g.OW);
    return 0;
}

/* Window taps along one axis for output index o: positions o*s - p + t*d,
 * t in [0, k). [t0, t1) are the taps inside [0, n); n_pad counts the taps
 * inside the padded input [-p, n + p) (avg_pool2d with count_include_pad). */
static void taps(int64_t o, int64_t n, int64_t k, int64_t s, int64_t p, int64_t d, int64_t *t0,
                 int64_t *t1, int64_t *n_pad)
{
    int64_t start = o * s - p;
    int64_t a = start >= 0 ? 0 : (-start + d - 1) / d;
    int64_t b = n - start <= 0 ? 0 : (n - start + d - 1) / d;
    int64_t c = n + p - start <= 0 ? 0 : (n + p - start + d - 1) / d;
    b = min64(b, k);
    *t0 = min64(a, b);
    *t1 = b;
    *n_pad = min64(c, k);
}

/* Pools one [H, W] plane; mode 0 max, 1 avg counting padding, 2 avg over
 * the real elements only. Sums accumulate in T. Columns whose window lies
 * inside x along W are done a tap at a time across the whole run of
 * columns (independent lanes, vectorisable); the border columns one by one. */
#define DEFINE_POOL(T, SFX)                                                                  \
    static void pool_plane_##SFX(const pool_geom *g, const T *restrict x, T *restrict y,    \
                                 int mode)                                                   \
    {                                                                                        \
        const int64_t W = g->W, OW = g->OW, kw = g->k[1], sw = g->s[1], pw = g->p[1];        \
        const int64_t dh = g->d[0], dw = g->d[1], c0 = g->ow_in0, c1 = g->ow_in1;            \
        for (int64_t oh = 0; oh < g->OH; oh++) {                                             \
            int64_t i0, i1, ipad;                                                            \
            taps(oh, g->H, g->k[0], g->s[0], g->p[0], dh, &i0, &i1, &ipad);                  \
            int64_t hs = oh * g->s[0] - g->p[0];                                             \
            T *restrict yr = y + oh * OW;                                                    \
            for (int64_t ow = 0; ow < OW; ow++) {                                            \
                if (ow == c0 && c1 > c0)                                                     \
                    ow = c1; /* interior run: below */                                       \
                if (ow >= OW)                                                                \
                    break;                                                                   \
                int64_t j0, j1, jpad;                                                        \
                taps(ow, W, kw, sw, pw, dw, &j0, &j1, &jpad);                                \
                int64_t ws = ow * sw - pw;                                                   \
                T acc = mode == 0 ? (T)-INFINITY : (T)0;                                     \
                for (int64_t i = i0; i < i1; i++) {                                          \
                    int64_t row = (hs + i * dh) * W + ws;                                    \
                    for (int64_t j = j0; j < j1; j++) {                                      \
                        T v = x[row + j * dw];                                               \
                        if (mode != 0)                                                       \
                            acc += v;                                                        \
                        else if (v > acc || v != v)                                          \
                            acc = v;                                                         \
                    }                                                                        \
                }                                                                            \
                if (mode != 0) {                                                             \
                    int64_t cnt = mode == 1 ? ipad * jpad : (i1 - i0) * (j1 - j0);           \
                    acc = cnt > 0 ? acc / (T)cnt : (T)0;                                     \
                }                                                                            \
                yr[ow] = acc;                                                                \
            }                                                                                \
            if (c1 <= c0)                                                                    \
                continue;                                                                    \
            T init = mode == 0 ? (T)-INFINITY : (T)0;                                        \
            for (int64_t ow = c0; ow < c1; ow++)                                             \
                yr[ow] = init;                                                               \
            for (int64_t i = i0; i < i1; i++) {                                              \
                for (int64_t j = 0; j < kw; j++) {                                           \
                    /* x of column c0 for this tap */                                        \
                    const T *restrict src = x + (hs + i * dh) * W + c0 * sw - pw + j * dw;   \
                    int64_t n = c1 - c0;                                                     \
                    T *restrict acc = yr + c0;                                               \
                    if (mode == 0) {                                                         \
                        _Pragma("omp simd")                                                  \
                        for (int64_t q = 0; q < n; q++) {                                    \
                            T v = src[q * sw];                                               \
                            acc[q] = (v > acc[q] || v != v) ? v : acc[q];                    \
                        }                                                                    \
                    } else {                                                                 \
                        _Pragma("omp simd")                                                  \
                        for (int64_t q = 0; q < n; q++)                                      \
                            acc[q] += src[q * sw];                                           \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
            if (mode != 0) {                                                                 \
                int64_t cnt = (mode == 1 ? ipad : i1 - i0) * kw;                             \
                T inv = cnt > 0 ? (T)1 / (T)cnt : (T)0;                                      \
                for (int64_t ow = c0; ow < c1; ow++)                                         \
                    yr[ow] *= inv;                                                           \
            }                                                                                \
        }                                                                                    \
    }
DEFINE_POOL(float, f32)
DEFINE_POOL(double, f64)

static int pool_run(op_ctx *ctx, const op_attr *attrs, const op_tensor *in, int n_in,
                    op_tensor *out, int n_out, int mode, const char *op)
{
    if (kernel_check(ctx, op_infer_pool2d, op, attrs, in, n_in, out, n_out) != 0)
        return -1;
    op_type tx;
    op_type_from_tensor(&in[0], &tx);
    pool_geom g;
    if (pool_validate(attrs, &tx, 1, &g, ctx->err, sizeof ctx->err) != 0)
        return -1;
    int64_t planes = g.N * g.C, ipl = g.H * g.W, opl = g.OH * g.OW;
    int64_t work = planes * opl * g.k[0] * g.k[1];
    int nt = nthreads(ctx);
    int is64 = in[0].dtype == OP_F64;
#pragma omp parallel for num_threads(nt) if (nt > 1 && planes > 1 && work >= PAR_MIN_WORK) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        if (is64)
            pool_plane_f64(&g, (const double *)in[0].data + pl * ipl, (double *)out[0].data + pl * opl, mode);
        else
            pool_plane_f32(&g, (const float *)in[0].data + pl * ipl, (float *)out[0].data + pl * opl, mode);
    }
    return 0;
}

/* max_pool2d: y[n,c,oh,ow] = max over taps (oh*sh - ph + i*dh, ow*sw - pw + j*dw)
 * inside x (padding counts as -inf); NaN propagates; PyTorch output sizes
 * (ceil_mode: the last window must start inside the input or left padding).
 * A window with no tap inside x (only with dilation) gives -inf. f32/f64. */
OP_KERNEL(op_cpu_max_pool2d) { return pool_run(ctx, attrs, in, n_in, out, n_out, 0, "max_pool2d"); }

/* avg_pool2d: mean over the window taps (summed in the dtype). The divisor is,
 * as in PyTorch, the taps inside the padded input [-p, n + p) when
 * count_include_pad (attrs[5]) is set (taps past it in ceil_mode are not
 * counted), else the taps inside x; a window with none gives 0. f32/f64. */
OP_KERNEL(op_cpu_avg_pool2d)
{
    return pool_run(ctx, attrs, in, n_in, out, n_out, attrs[5].i ? 1 : 2, "avg_pool2d");
}

OP_INFER(op_infer_global_avg_pool)
{
    if (n_in != 1 || n_out != 1) {
        op_set_err(err, err_len, "global_avg_pool: expects 1 input and 1 output");
        return -1;
    }
    char sx[TSTR_LEN];
    tstr(&in[0], sx, sizeof sx);
    if (!is_float(in[0].dtype) || in[0].rank < 3) {
        op_set_err(err, err_len, "global_avg_pool: x must be f32 or f64 [N, C, H, W...], got %s", sx);
        return -1;
    }
    out[0] = in[0];
    for (int i = 2; i < in[0].rank; i++)
        out[0].dims[i] = op_dim_const(1);
    return 0;
}

#define DEFINE_GAP(T, SFX)                                                                   \
    static void gap_##SFX(const T *x, T *y, int64_t planes, int64_t n, int nt)               \
    {                                                                                        \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1 && planes > 1 && planes * n >= PAR_MIN_WORK) schedule(static)") \
        for (int64_t pl = 0; pl < planes; pl++) {                                           \
            const T *xp = x + pl * n;                                                        \
            double s = 0.0;                                                                  \
            for (int64_t q = 0; q < n; q++)                                                  \
                s += (double)xp[q];                                                          \
            y[pl] = n > 0 ? (T)(s / (double)n) : (T)NAN;                                     \
        }                                                                                    \
    }
DEFINE_GAP(float, f32)
DEFINE_GAP(double, f64)

/* global_avg_pool: y[n,c,1,1] = mean of x[n,c,:,:] (any number of spatial
 * dims), summed in double; empty planes give NaN as NumPy's mean. */
OP_KERNEL(op_cpu_global_avg_pool)
{
    if (kernel_check(ctx, op_infer_global_avg_pool, "global_avg_pool", attrs, in, n_in, out, n_out) != 0)
        return -1;
    int64_t planes = in[0].dims[0] * in[0].dims[1];
    int64_t n = op_dims_numel(in[0].rank - 2, in[0].dims + 2);
    if (in[0].dtype == OP_F32)
        gap_f32(in[0].data, out[0].data, planes, n, nthreads(ctx));
    else
        gap_f64(in[0].data, out[0].data, planes, n, nthreads(ctx));
    return 0;
}

/* ================================================================== */
/* batch_norm, layer_norm                                              */

static int check_eps(const char *op, double eps, char *err, size_t err_len)
{
    if (!(eps >= 0.0) || isinf(eps)) {
        op_set_err(err, err_len, "%s: eps must be finite and >= 0, got %g", op, eps);
        return -1;
    }
    return 0;
}

OP_INFER(op_infer_batch_norm)
{
    static const char *const names[5] = { "x", "scale", "bias", "mean", "var" };
    if (n_in != 5 || n_out != 1) {
        op_set_err(err, err_len, "batch_norm: expects x, scale, bias, mean, var (got %d inputs)", n_in);
        return -1;
    }
    const op_type *x = &in[0];
    char sx[TSTR_LEN];
    tstr(x, sx, sizeof sx);
    if (!is_float(x->dtype) || x->rank < 2) {
        op_set_err(err, err_len,
                   "batch_norm: x must be f32 or f64 with rank >= 2 (channels at axis 1), got %s", sx);
        return -1;
    }
    for (int i = 1; i < 5; i++) {
        const op_type *p = &in[i];
        if (p->dtype != x->dtype || p->rank != 1 || !op_dim_eq(p->dims[0], x->dims[1])) {
            char sp[TSTR_LEN], sc[TSTR_LEN];
            tstr(p, sp, sizeof sp);
            op_type c = { x->dtype, 1, { x->dims[1] } };
            tstr(&c, sc, sizeof sc);
            op_set_err(err, err_len, "batch_norm: %s must be %s for x %s, got %s", names[i], sc, sx, sp);
            return -1;
        }
    }
    if (check_eps("batch_norm", attrs[0].f, err, err_len) != 0)
        return -1;
    out[0] = *x;
    return 0;
}

#define DEFINE_BN(T, SFX)                                                                    \
    static void bn_##SFX(const T *x, const T *sc, const T *bi, const T *mu, const T *var,    \
                         T *y, int64_t N, int64_t C, int64_t inner, double eps, int nt)      \
    {                                                                                        \
        int64_t planes = N * C;                                                              \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1 && planes > 1 && planes * inner >= PAR_MIN_WORK) schedule(static)") \
        for (int64_t pl = 0; pl < planes; pl++) {                                           \
            int64_t c = pl % C;                                                              \
            double a = (double)sc[c] / sqrt((double)var[c] + eps);                           \
            T ta = (T)a, tb = (T)((double)bi[c] - (double)mu[c] * a);                        \
            const T *xp = x + pl * inner;                                                    \
            T *yp = y + pl * inner;                                                          \
            for (int64_t q = 0; q < inner; q++)                                              \
                yp[q] = xp[q] * ta + tb;                                                     \
        }                                                                                    \
    }
DEFINE_BN(float, f32)
DEFINE_BN(double, f64)

/* batch_norm (inference): y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c]
 * + bias[c], c the index on axis 1 of x (rank >= 2); applied as y = x*a + b
 * with a, b per channel formed in double. eps is attrs[0]. f32/f64. */
OP_KERNEL(op_cpu_batch_norm)
{
    if (kernel_check(ctx, op_infer_batch_norm, "batch_norm", attrs, in, n_in, out, n_out) != 0)
        return -1;
    const op_tensor *x = &in[0];
    int64_t inner = op_dims_numel(x->rank - 2, x->dims + 2);
    if (x->dtype == OP_F32)
        bn_f32(x->data, in[1].data, in[2].data, in[3].data, in[4].data, out[0].data, x->dims[0],
               x->dims[1], inner, attrs[0].f, nthreads(ctx));
    else
        bn_f64(x->data, in[1].data, in[2].data, in[3].data, in[4].data, out[0].data, x->dims[0],
               x->dims[1], inner, attrs[0].f, nthreads(ctx));
    return 0;
}

OP_INFER(op_infer_layer_norm)
{
    static const char *const names[3] = { "x", "scale", "bias" };
    if (n_in < 1 || n_in > 3 || n_out != 1) {
        op_set_err(err, err_len, "layer_norm: expects x [, scale [, bias]] (got %d inputs)", n_in);
        return -1;
    }
    const op_type *x = &in[0];
    char sx[TSTR_LEN];
    tstr(x, sx, sizeof sx);
    if (!is_float(x->dtype) || x->rank < 1) {
        op_set_err(err, err_len, "layer_norm: x must be f32 or f64 with rank >= 1, got %s", sx);
        return -1;
    }
    int ax = op_axis(attrs[0].i, x->rank);
    if (ax < 0) {
        op_set_err(err, err_len, "layer_norm: axis %lld out of range for %s", (long long)attrs[0].i, sx);
        return -1;
    }
    op_type want;
    memset(&want, 0, sizeof want);
    want.dtype = x->dtype;
    want.rank = x->rank - ax;
    for (int i = ax; i < x->rank; i++)
        want.dims[i - ax] = x->dims[i];
    for (int i = 1; i < n_in; i++) {
        if (!op_type_eq(&in[i], &want)) {
            char sp[TSTR_LEN], sw[TSTR_LEN];
            tstr(&in[i], sp, sizeof sp);
            tstr(&want, sw, sizeof sw);
            op_set_err(err, err_len, "layer_norm: %s must be %s for x %s with axis %lld, got %s",
                       names[i], sw, sx, (long long)attrs[0].i, sp);
            return -1;
        }
    }
    if (check_eps("layer_norm", attrs[1].f, err, err_len) != 0)
        return -1;
    out[0] = *x;
    return 0;
}

#define DEFINE_LN(T, SFX)                                                                    \
    static void ln_##SFX(const T *x, const T *sc, const T *bi, T *y, int64_t rows,           \
                         int64_t D, double eps, int nt)                                      \
    {                                                                                        \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1 && rows > 1 && rows * D >= PAR_MIN_WORK) schedule(static)") \
        for (int64_t r = 0; r < rows; r++) {                                                 \
            const T *restrict xr = x + r * D;                                                \
            T *restrict yr = y + r * D;                                                      \
            double s = 0.0;                                                                  \
            _Pragma("omp simd reduction(+ : s)")                                             \
            for (int64_t q = 0; q < D; q++)                                                  \
                s += (double)xr[q];                                                          \
            double mean = s / (double)D, v = 0.0;                                            \
            _Pragma("omp simd reduction(+ : v)")                                             \
            for (int64_t q = 0; q < D; q++) {                                                \
                double t = (double)xr[q] - mean;                                             \
                v += t * t;                                                                  \
            }                                                                                \
            T m = (T)mean, inv = (T)(1.0 / sqrt(v / (double)D + eps));                       \
            if (sc && bi) {                                                                  \
                _Pragma("omp simd")                                                          \
                for (int64_t q = 0; q < D; q++)                                              \
                    yr[q] = (xr[q] - m) * inv * sc[q] + bi[q];                               \
            } else if (sc) {                                                                 \
                _Pragma("omp simd")                                                          \
                for (int64_t q = 0; q < D; q++)                                              \
                    yr[q] = (xr[q] - m) * inv * sc[q];                                       \
            } else {                                                                         \
                _Pragma("omp simd")                                                          \
                for (int64_t q = 0; q < D; q++)                                              \
                    yr[q] = (xr[q] - m) * inv;                                               \
            }                                                                                \
        }                                                                                    \
    }
DEFINE_LN(float, f32)
DEFINE_LN(double, f64)

/* layer_norm: for each index of the leading dims 0..axis-1, over the trailing
 * dims axis..rank-1: y = (x - mean) / sqrt(var + eps) * scale + bias with the
 * biased variance (two passes summed in double; the output formed in the
 * dtype); scale/bias (optional, in that order)
 * have the shape of the trailing dims. attrs: axis, eps. f32/f64. */
OP_KERNEL(op_cpu_layer_norm)
{
    if (kernel_check(ctx, op_infer_layer_norm, "layer_norm", attrs, in, n_in, out, n_out) != 0)
        return -1;
    const op_tensor *x = &in[0];
    int ax = op_axis(attrs[0].i, x->rank);
    int64_t rows = op_dims_numel(ax, x->dims), D = op_dims_numel(x->rank - ax, x->dims + ax);
    if (rows == 0 || D == 0)
        return 0;
    const void *sc = n_in > 1 ? in[1].data : NULL, *bi = n_in > 2 ? in[2].data : NULL;
    if (x->dtype == OP_F32)
        ln_f32(x->data, sc, bi, out[0].data, rows, D, attrs[1].f, nthreads(ctx));
    else
        ln_f64(x->data, sc, bi, out[0].data, rows, D, attrs[1].f, nthreads(ctx));
    return 0;
}
