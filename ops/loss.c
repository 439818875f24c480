/* ops/loss.c -- training losses as ops, each with PyTorch's reduction
 * ("none", "mean", "sum"): softmax_cross_entropy (log-sum-exp form) and its
 * backward op, binary_cross_entropy_with_logits (the |x| form, finite for
 * any finite logit), mse_loss. Losses are computed and summed in double in
 * a fixed order, so a result has the same bits on any thread count.
 * Inference validates everything: graph files are untrusted. */
#include "loss.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

#define TSTR_LEN 320
#define PAR_MIN_WORK 32768
/* mean / sum of the elementwise losses: partial sums of blocks of this many
 * elements (in parallel), then the block sums in order. */
#define SUM_BLOCK 4096

const char *const op_loss_reductions[] = { "none", "mean", "sum", NULL };

static void tstr(const op_type *t, char *buf) { op_type_str(t, NULL, buf, TSTR_LEN); }
static int nthreads(const op_ctx *ctx) { return ctx->n_threads > 0 ? ctx->n_threads : 1; }
static int is_float(op_dtype t) { return t == OP_F32 || t == OP_F64; }

/* n_in == want inputs, one output, each input a valid type (known dtype,
 * rank in range, no negative dim); the reduction attribute in range. */
static int check_common(const char *op, const op_attr *attrs, const op_type *in, int n_in, int want,
                        int n_out, char *err, size_t err_len)
{
    if (op_check_inputs(op, in, n_in, want, n_out, err, err_len))
        return -1;
    if (!attrs || attrs[0].i < OP_LOSS_NONE || attrs[0].i > OP_LOSS_SUM) {
        op_set_err(err, err_len, "%s: reduction must be 0 (\"none\"), 1 (\"mean\") or 2 (\"sum\"), got %lld", op,
                   attrs ? (long long)attrs[0].i : -1LL);
        return -1;
    }
    return 0;
}

/* The output of a loss: the per-element type for "none", else a scalar. */
static void reduced_type(const op_type *per_elem, int64_t reduction, op_type *out)
{
    *out = *per_elem;
    if (reduction != OP_LOSS_NONE)
        out->rank = 0;
}

/* The most inputs a loss kernel takes (op_kernel_check). */
#define MAX_IN 3

/* The scratch a reducing kernel needs: `need` bytes, else an error. */
static double *scratch(op_ctx *ctx, const char *op, size_t need)
{
    if (need == 0)
        return NULL;
    if (!ctx->workspace || ctx->workspace_size < need) {
        op_set_err(ctx->err, sizeof ctx->err, "%s: needs %zu bytes of workspace, got %zu", op, need,
                   ctx->workspace ? ctx->workspace_size : 0);
        return NULL;
    }
    return ctx->workspace;
}

/* Writes the reduced value of the n partial values v (in order). */
static void store_reduced(op_tensor *out, int64_t reduction, const double *v, int64_t n_v, int64_t count)
{
    double s = 0.0;
    for (int64_t i = 0; i < n_v; i++)
        s += v[i];
    if (reduction == OP_LOSS_MEAN)
        s = count > 0 ? s / (double)count : NAN; /* the mean of nothing: NaN, as PyTorch */
    if (out->dtype == OP_F32)
        *(float *)out->data = (float)s;
    else
        *(double *)out->data = s;
}

/* ================================================================== */
/* softmax_cross_entropy, softmax_cross_entropy_grad                   */

OP_INFER(op_infer_softmax_cross_entropy)
{
    const char *op = "softmax_cross_entropy";
    if (check_common(op, attrs, in, n_in, 2, n_out, err, err_len))
        return -1;
    const op_type *x = &in[0], *lab = &in[1];
    char sx[TSTR_LEN], sl[TSTR_LEN];
    tstr(x, sx);
    tstr(lab, sl);
    if (!is_float(x->dtype) || x->rank != 2) {
        op_set_err(err, err_len, "%s: logits must be f32 or f64 [N, C], got %s", op, sx);
        return -1;
    }
    if ((lab->dtype != OP_I32 && lab->dtype != OP_I64) || lab->rank != 1) {
        op_set_err(err, err_len, "%s: labels must be i32 or i64 [N] (class indices), got %s", op, sl);
        return -1;
    }
    if (!op_dim_eq(x->dims[0], lab->dims[0])) {
        op_set_err(err, err_len, "%s: logits %s and labels %s differ in N", op, sx, sl);
        return -1;
    }
    op_type per = { .dtype = x->dtype, .rank = 1, .dims = { x->dims[0] } };
    reduced_type(&per, attrs[0].i, &out[0]);
    return 0;
}

OP_INFER(op_infer_softmax_cross_entropy_grad)
{
    const char *op = "softmax_cross_entropy_grad";
    if (check_common(op, attrs, in, n_in, 3, n_out, err, err_len))
        return -1;
    op_type y;
    char msg[OP_ERR_LEN];
    if (op_infer_softmax_cross_entropy(attrs, in, 2, &y, 1, msg, sizeof msg)) {
        op_set_err(err, err_len, "%s: %s", op, msg);
        return -1;
    }
    if (!op_type_eq(&y, &in[2])) {
        char sg[TSTR_LEN], sy[TSTR_LEN];
        tstr(&in[2], sg);
        tstr(&y, sy);
        op_set_err(err, err_len, "%s: gy is %s but the loss is %s", op, sg, sy);
        return -1;
    }
    out[0] = in[0];
    return 0;
}

OP_WORKSPACE(op_ws_softmax_cross_entropy)
{
    if (!attrs || attrs[0].i == OP_LOSS_NONE || n_in < 1 || !in || in[0].rank != 2 || in[0].dims[0] <= 0 ||
        (uint64_t)in[0].dims[0] > SIZE_MAX / sizeof(double))
        return 0;
    return (size_t)in[0].dims[0] * sizeof(double);
}

/* Every label in [0, C), else an error naming the first bad one. */
static int check_labels(op_ctx *ctx, const char *op, const op_tensor *lab, int64_t C)
{
    int is64 = lab->dtype == OP_I64;
    for (int64_t i = 0; i < lab->dims[0]; i++) {
        int64_t v = is64 ? ((const int64_t *)lab->data)[i] : ((const int32_t *)lab->data)[i];
        if (v < 0 || v >= C) {
            op_set_err(ctx->err, sizeof ctx->err, "%s: label %lld (row %lld) is out of range for %lld classes", op,
                       (long long)v, (long long)i, (long long)C);
            return -1;
        }
    }
    return 0;
}

static int64_t label_at(const op_tensor *lab, int64_t i)
{
    return lab->dtype == OP_I64 ? ((const int64_t *)lab->data)[i] : ((const int32_t *)lab->data)[i];
}

/* One row: max m, s = sum exp(x - m) (double), the loss (m - x[y]) + log s
 * (no cancellation of two large numbers, finite for any finite row); the
 * gradient row (exp(x - m) / s - [c == y]) * g. */
#define DEFINE_CE(T, SFX)                                                                    \
    static T row_max_##SFX(const T *x, int64_t C)                                            \
    {                                                                                        \
        T m = x[0];                                                                          \
        for (int64_t c = 1; c < C; c++)                                                      \
            m = x[c] > m ? x[c] : m;                                                         \
        return m;                                                                            \
    }                                                                                        \
    static double row_sumexp_##SFX(const T *x, int64_t C, double m)                          \
    {                                                                                        \
        double s = 0.0;                                                                      \
        for (int64_t c = 0; c < C; c++)                                                      \
            s += exp((double)x[c] - m);                                                      \
        return s;                                                                            \
    }                                                                                        \
    static void ce_fwd_##SFX(const T *x, const op_tensor *lab, int64_t N, int64_t C, T *out, \
                             double *part, int nt)                                           \
    {                                                                                        \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1 && N > 1 && N * C >= PAR_MIN_WORK) schedule(static)") \
        for (int64_t r = 0; r < N; r++) {                                                    \
            const T *xr = x + r * C;                                                         \
            double m = (double)row_max_##SFX(xr, C);                                         \
            double l = (m - (double)xr[label_at(lab, r)]) + log(row_sumexp_##SFX(xr, C, m)); \
            if (out)                                                                         \
                out[r] = (T)l;                                                               \
            else                                                                             \
                part[r] = l;                                                                 \
        }                                                                                    \
    }                                                                                        \
    static void ce_bwd_##SFX(const T *x, const op_tensor *lab, const T *gy, int64_t reduction, \
                             int64_t N, int64_t C, T *gx, int nt)                            \
    {                                                                                        \
        double gs = reduction == OP_LOSS_NONE ? 0.0 : (double)gy[0];                         \
        if (reduction == OP_LOSS_MEAN)                                                       \
            gs /= (double)N;                                                                 \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1 && N > 1 && N * C >= PAR_MIN_WORK) schedule(static)") \
        for (int64_t r = 0; r < N; r++) {                                                    \
            const T *xr = x + r * C;                                                         \
            T *gr = gx + r * C;                                                              \
            double g = reduction == OP_LOSS_NONE ? (double)gy[r] : gs;                       \
            double m = (double)row_max_##SFX(xr, C);                                         \
            double inv = 1.0 / row_sumexp_##SFX(xr, C, m);                                   \
            int64_t y = label_at(lab, r);                                                    \
            for (int64_t c = 0; c < C; c++)                                                  \
                gr[c] = (T)((exp((double)xr[c] - m) * inv - (c == y ? 1.0 : 0.0)) * g);     \
        }                                                                                    \
    }
DEFINE_CE(float, f32)
DEFINE_CE(double, f64)

/* softmax_cross_entropy(logits[N, C] f32/f64, labels[N] i32/i64;
 * reduction): loss[n] = logsumexp(logits[n, :]) - logits[n, labels[n]]
 * (PyTorch's cross_entropy with class indices), computed in double with the
 * row max subtracted; "none" gives loss[N] in the logits dtype, "mean" the
 * scalar sum / N (NaN when N = 0), "sum" the scalar sum. A label outside
 * [0, C) is an error. A NaN in a row gives a NaN loss; +inf logits give NaN. */
OP_KERNEL(op_cpu_softmax_cross_entropy)
{
    const char *op = "softmax_cross_entropy";
    if (op_kernel_check(ctx, op_infer_softmax_cross_entropy, op, attrs, in, n_in, out, n_out, MAX_IN))
        return -1;
    const op_tensor *x = &in[0], *lab = &in[1];
    int64_t N = x->dims[0], C = x->dims[1], red = attrs[0].i;
    if (check_labels(ctx, op, lab, C))
        return -1;
    double *part = NULL;
    if (red != OP_LOSS_NONE && N > 0 && !(part = scratch(ctx, op, (size_t)N * sizeof(double))))
        return -1;
    if (N > 0) {
        void *o = red == OP_LOSS_NONE ? out[0].data : NULL;
        if (x->dtype == OP_F32)
            ce_fwd_f32(x->data, lab, N, C, o, part, nthreads(ctx));
        else
            ce_fwd_f64(x->data, lab, N, C, o, part, nthreads(ctx));
    }
    if (red != OP_LOSS_NONE)
        store_reduced(&out[0], red, part, N, N);
    return 0;
}

/* softmax_cross_entropy_grad(logits, labels, gy; reduction): the gradient
 * of softmax_cross_entropy w.r.t. logits, gx[n, c] = (softmax(logits[n])[c]
 * - [c == labels[n]]) * g[n] with g[n] = gy[n] ("none"), gy ("sum") or
 * gy / N ("mean"); gy has the loss's shape. Out-of-range labels are an error. */
OP_KERNEL(op_cpu_softmax_cross_entropy_grad)
{
    const char *op = "softmax_cross_entropy_grad";
    if (op_kernel_check(ctx, op_infer_softmax_cross_entropy_grad, op, attrs, in, n_in, out, n_out,
                        MAX_IN))
        return -1;
    const op_tensor *x = &in[0], *lab = &in[1];
    int64_t N = x->dims[0], C = x->dims[1];
    if (check_labels(ctx, op, lab, C))
        return -1;
    if (N == 0 || C == 0)
        return 0;
    if (x->dtype == OP_F32)
        ce_bwd_f32(x->data, lab, in[2].data, attrs[0].i, N, C, out[0].data, nthreads(ctx));
    else
        ce_bwd_f64(x->data, lab, in[2].data, attrs[0].i, N, C, out[0].data, nthreads(ctx));
    return 0;
}

/* ================================================================== */
/* binary_cross_entropy_with_logits, mse_loss                          */

/* Two float inputs of one dtype and one shape (no broadcasting: PyTorch
 * refuses it for BCE and warns for MSE, where [N, 1] against [N] silently
 * makes [N, N]). */
static int infer_pair(const char *op, const char *na, const char *nb, const op_attr *attrs, const op_type *in,
                      int n_in, op_type *out, int n_out, char *err, size_t err_len)
{
    if (check_common(op, attrs, in, n_in, 2, n_out, err, err_len))
        return -1;
    char sa[TSTR_LEN], sb[TSTR_LEN];
    tstr(&in[0], sa);
    tstr(&in[1], sb);
    if (!is_float(in[0].dtype) || in[1].dtype != in[0].dtype) {
        op_set_err(err, err_len, "%s: %s %s and %s %s must be one float dtype (f32 or f64)", op, na, sa, nb, sb);
        return -1;
    }
    if (!op_type_eq(&in[0], &in[1])) {
        op_set_err(err, err_len, "%s: %s %s and %s %s must have the same shape (no broadcasting)", op, na, sa,
                   nb, sb);
        return -1;
    }
    reduced_type(&in[0], attrs[0].i, &out[0]);
    return 0;
}

OP_INFER(op_infer_bce_with_logits)
{
    return infer_pair("binary_cross_entropy_with_logits", "logits", "targets", attrs, in, n_in, out, n_out, err,
                      err_len);
}

OP_INFER(op_infer_mse_loss) { return infer_pair("mse_loss", "a", "b", attrs, in, n_in, out, n_out, err, err_len); }

OP_WORKSPACE(op_ws_loss_elementwise)
{
    if (!attrs || attrs[0].i == OP_LOSS_NONE || n_in < 1 || !in)
        return 0;
    int64_t n = op_tensor_numel(&in[0]);
    if (n <= 0)
        return 0;
    return (size_t)((n + SUM_BLOCK - 1) / SUM_BLOCK) * sizeof(double);
}

/* max(x, 0) - x t + log(1 + exp(-|x|)): log(1 + e^x) - x t without overflow */
static inline double bce1(double x, double t) { return (x > 0 ? x : 0.0) - x * t + log1p(exp(-fabs(x))); }
static inline double mse1(double a, double b) { return (a - b) * (a - b); }

#define DEFINE_PAIR(T, SFX, NAME, F)                                                         \
    static void NAME##_##SFX(const T *a, const T *b, int64_t n, int64_t reduction, T *out,   \
                             double *part, int nt)                                           \
    {                                                                                        \
        if (reduction == OP_LOSS_NONE) {                                                     \
            _Pragma("omp parallel for num_threads(nt) if (nt > 1 && n >= PAR_MIN_WORK) schedule(static)") \
            for (int64_t i = 0; i < n; i++)                                                  \
                out[i] = (T)F((double)a[i], (double)b[i]);                                   \
            return;                                                                          \
        }                                                                                    \
        int64_t nb = (n + SUM_BLOCK - 1) / SUM_BLOCK;                                        \
        _Pragma("omp parallel for num_threads(nt) if (nt > 1 && nb > 1 && n >= PAR_MIN_WORK) schedule(static)") \
        for (int64_t k = 0; k < nb; k++) {                                                   \
            int64_t e = (k + 1) * SUM_BLOCK < n ? (k + 1) * SUM_BLOCK : n;                   \
            double s = 0.0;                                                                  \
            for (int64_t i = k * SUM_BLOCK; i < e; i++)                                      \
                s += F((double)a[i], (double)b[i]);                                          \
            part[k] = s;                                                                     \
        }                                                                                    \
    }
DEFINE_PAIR(float, f32, bce, bce1)
DEFINE_PAIR(double, f64, bce, bce1)
DEFINE_PAIR(float, f32, mse, mse1)
DEFINE_PAIR(double, f64, mse, mse1)

static int pair_run(op_ctx *ctx, const char *op, op_infer_fn infer, int is_bce, const op_attr *attrs,
                    const op_tensor *in, int n_in, op_tensor *out, int n_out)
{
    if (op_kernel_check(ctx, infer, op, attrs, in, n_in, out, n_out, MAX_IN))
        return -1;
    int64_t n = op_tensor_numel(&in[0]), red = attrs[0].i, nb = (n + SUM_BLOCK - 1) / SUM_BLOCK;
    double *part = NULL;
    if (red != OP_LOSS_NONE && nb > 0 && !(part = scratch(ctx, op, (size_t)nb * sizeof(double))))
        return -1;
    if (n > 0) {
        int nt = nthreads(ctx);
        if (in[0].dtype == OP_F32)
            (is_bce ? bce_f32 : mse_f32)(in[0].data, in[1].data, n, red, out[0].data, part, nt);
        else
            (is_bce ? bce_f64 : mse_f64)(in[0].data, in[1].data, n, red, out[0].data, part, nt);
    }
    if (red != OP_LOSS_NONE)
        store_reduced(&out[0], red, part, nb, n);
    return 0;
}

/* binary_cross_entropy_with_logits(logits, targets; reduction): elementwise
 * max(x, 0) - x * t + log(1 + exp(-|x|)) (= -t log sigmoid(x) - (1 - t)
 * log(1 - sigmoid(x)), PyTorch's stable form, finite for any finite x; t is
 * any real, usually in [0, 1]). Same dtype (f32/f64) and shape for both;
 * computed in double; "none" keeps the shape, "mean" / "sum" give a scalar
 * (the mean of no elements is NaN). No weight / pos_weight. */
OP_KERNEL(op_cpu_bce_with_logits)
{
    return pair_run(ctx, "binary_cross_entropy_with_logits", op_infer_bce_with_logits, 1, attrs, in, n_in, out,
                    n_out);
}

/* mse_loss(a, b; reduction): elementwise (a - b)^2, same dtype (f32/f64)
 * and shape; computed in double; reductions as binary_cross_entropy_with_logits. */
OP_KERNEL(op_cpu_mse_loss)
{
    return pair_run(ctx, "mse_loss", op_infer_mse_loss, 0, attrs, in, n_in, out, n_out);
}
