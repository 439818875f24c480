/* ops/reduce.c -- reductions: sum, mean, max, min over a set of axes (with
 * keepdims) and argmax along one axis, for f32, f64, i32 and i64.
 * The axes are coalesced into a [outer, reduced, inner] walk when they form
 * one block (a general strided walk otherwise); f32 sums accumulate in double
 * (pairwise over contiguous runs), integer sums wrap as two's complement. */
#include "kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define STR_LEN 320
#define PAR_ELEMS ((int64_t)1 << 15) /* below this many input elements: one thread */
#define BLOCK 256                    /* inner elements reduced side by side */
#define MAX_CHUNKS 64                /* fixed split of one long reduction */
#define CHUNK_MIN ((int64_t)1 << 14)
#define FEW_ROWS 8 /* fewer rows than this: split each row instead */

static void type_str(const op_type *t, char *buf)
{
    op_type_str(t, NULL, buf, STR_LEN);
}

static int reduce_dtype_ok(op_dtype t)
{
    return t == OP_F32 || t == OP_F64 || t == OP_I32 || t == OP_I64;
}

static int check_input(const char *op, const op_type *in, int n_in, int n_out, char *err,
                       size_t err_len)
{
    if (n_in != 1 || n_out != 1) {
        op_set_err(err, err_len, "%s: takes 1 input and 1 output, got %d and %d", op, n_in, n_out);
        return -1;
    }
    if (in[0].rank < 0 || in[0].rank > OP_MAX_RANK) {
        op_set_err(err, err_len, "%s: input rank %d is outside 0..%d", op, in[0].rank, OP_MAX_RANK);
        return -1;
    }
    char s[STR_LEN];
    for (int i = 0; i < in[0].rank; i++)
        if (in[0].dims[i].coef < 0) {
            type_str(&in[0], s);
            op_set_err(err, err_len, "%s: input %s has a negative dim", op, s);
            return -1;
        }
    if (!reduce_dtype_ok(in[0].dtype)) {
        type_str(&in[0], s);
        op_set_err(err, err_len, "%s: input %s: dtype must be f32, f64, i32 or i64", op, s);
        return -1;
    }
    return 0;
}

/* Bit i of *mask set when axis i is reduced; empty axes reduce all. */
static int reduce_mask(const char *op, const op_attr *axes, const op_type *x, unsigned *mask,
                       char *err, size_t err_len)
{
    char s[STR_LEN];
    if (axes->n < 0 || axes->n > OP_MAX_INTS) {
        op_set_err(err, err_len, "%s: axes has %d values (at most %d)", op, axes->n, OP_MAX_INTS);
        return -1;
    }
    *mask = 0;
    if (axes->n == 0) {
        *mask = x->rank ? (1u << x->rank) - 1 : 0;
        return 0;
    }
    for (int i = 0; i < axes->n; i++) {
        int ax = op_axis(axes->ints[i], x->rank);
        if (ax < 0 || (*mask & (1u << ax))) {
            type_str(x, s);
            op_set_err(err, err_len, "%s: axis %lld is %s for input %s", op,
                       (long long)axes->ints[i], ax < 0 ? "out of range" : "repeated", s);
            return -1;
        }
        *mask |= 1u << ax;
    }
    return 0;
}

static int infer_reduce(const char *op, const op_attr *attrs, const op_type *in, int n_in,
                        op_type *out, int n_out, char *err, size_t err_len)
{
    if (check_input(op, in, n_in, n_out, err, err_len))
        return -1;
    const op_type *x = &in[0];
    unsigned mask;
    if (reduce_mask(op, &attrs[0], x, &mask, err, err_len))
        return -1;
    int keep = attrs[1].i != 0;
    op_type o;
    memset(&o, 0, sizeof o);
    o.dtype = x->dtype;
    for (int i = 0; i < x->rank; i++) {
        if (!(mask & (1u << i)))
            o.dims[o.rank++] = x->dims[i];
        else if (keep)
            o.dims[o.rank++] = op_dim_const(1);
    }
    out[0] = o;
    return 0;
}

/* sum / max / min: same dtype out; axes (empty: all), keepdims. */
OP_INFER(op_infer_reduce)
{
    return infer_reduce("reduce", attrs, in, n_in, out, n_out, err, err_len);
}

/* mean: as op_infer_reduce, float dtypes only. */
OP_INFER(op_infer_reduce_float)
{
    if (infer_reduce("mean", attrs, in, n_in, out, n_out, err, err_len))
        return -1;
    if (!op_dtype_is_float(in[0].dtype)) {
        char s[STR_LEN];
        type_str(&in[0], s);
        op_set_err(err, err_len, "mean: input %s must be f32 or f64", s);
        return -1;
    }
    return 0;
}

OP_INFER(op_infer_argmax)
{
    if (check_input("argmax", in, n_in, n_out, err, err_len))
        return -1;
    const op_type *x = &in[0];
    int ax = op_axis(attrs[0].i, x->rank);
    if (ax < 0) {
        char s[STR_LEN];
        type_str(x, s);
        op_set_err(err, err_len, "argmax: axis %lld is out of range for input %s",
                   (long long)attrs[0].i, s);
        return -1;
    }
    op_type o;
    memset(&o, 0, sizeof o);
    o.dtype = OP_I64;
    for (int i = 0; i < x->rank; i++) {
        if (i != ax)
            o.dims[o.rank++] = x->dims[i];
        else if (attrs[1].i)
            o.dims[o.rank++] = op_dim_const(1);
    }
    out[0] = o;
    return 0;
}

/* ---- kernel plumbing ---- */

/* Runs the inference rule on the concrete shapes and checks the output. */
static int kernel_check(op_ctx *ctx, op_infer_fn infer, const char *op, const op_attr *attrs,
                        const op_tensor *in, int n_in, const op_tensor *out, int n_out)
{
    if (n_in != 1 || n_out != 1 || in[0].rank < 0 || in[0].rank > OP_MAX_RANK ||
        out[0].rank < 0 || out[0].rank > OP_MAX_RANK || op_tensor_numel(&in[0]) < 0) {
        op_set_err(ctx->err, sizeof ctx->err, "%s: bad tensors (%d in, %d out)", op, n_in, n_out);
        return -1;
    }
    op_type ti, to, got;
    op_type_from_tensor(&in[0], &ti);
    if (infer(attrs, &ti, 1, &to, 1, ctx->err, sizeof ctx->err))
        return -1;
    op_type_from_tensor(&out[0], &got);
    if (!op_type_eq(&got, &to)) {
        char a[STR_LEN], b[STR_LEN];
        type_str(&got, a);
        type_str(&to, b);
        op_set_err(ctx->err, sizeof ctx->err, "%s: output is %s, expected %s", op, a, b);
        return -1;
    }
    if ((!in[0].data && op_tensor_numel(&in[0]) > 0) || (!out[0].data && op_tensor_numel(&out[0]) > 0)) {
        op_set_err(ctx->err, sizeof ctx->err, "%s: missing data", op);
        return -1;
    }
    return 0;
}

/* How a reduction walks its input (all dims >= 1 here). With one reduced
 * block: out[o, i] = reduce over r of x[o, r, i] (inner may be 1). Otherwise
 * (general): kept and reduced dims with their input strides. */
typedef struct red_plan {
    int64_t outer, n, inner;
    int general;
    int nk, nr;
    int64_t kd[OP_MAX_RANK], ks[OP_MAX_RANK], rd[OP_MAX_RANK], rs[OP_MAX_RANK];
    int64_t n_out, count;
} red_plan;

static void red_plan_make(const op_tensor *x, unsigned mask, red_plan *p)
{
    int64_t gs[OP_MAX_RANK];
    int gr[OP_MAX_RANK], ng = 0;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < x->rank; i++) {
        int64_t d = x->dims[i];
        int red = (mask >> i) & 1;
        if (d == 1)
            continue;
        if (ng > 0 && gr[ng - 1] == red) {
            gs[ng - 1] *= d;
        } else {
            gs[ng] = d;
            gr[ng++] = red;
        }
    }
    int n_red_groups = 0;
    for (int g = 0; g < ng; g++)
        n_red_groups += gr[g];
    p->outer = p->n = p->inner = 1;
    p->n_out = p->count = 1;
    for (int g = 0; g < ng; g++) {
        if (gr[g])
            p->count *= gs[g];
        else
            p->n_out *= gs[g];
    }
    if (n_red_groups <= 1) {
        int seen = 0;
        for (int g = 0; g < ng; g++) {
            if (gr[g]) {
                p->n = gs[g];
                seen = 1;
            } else if (seen) {
                p->inner *= gs[g];
            } else {
                p->outer *= gs[g];
            }
        }
        return;
    }
    p->general = 1;
    int64_t stride = 1;
    int64_t st[OP_MAX_RANK];
    for (int g = ng - 1; g >= 0; g--) {
        st[g] = stride;
        stride *= gs[g];
    }
    for (int g = 0; g < ng; g++) {
        if (gr[g]) {
            p->rd[p->nr] = gs[g];
            p->rs[p->nr++] = st[g];
        } else {
            p->kd[p->nk] = gs[g];
            p->ks[p->nk++] = st[g];
        }
    }
}

/* One step of the general walk over the reduced dims 0..last (the odometer
 * idx, last fastest): the offset of the next element, from off. */
static inline int64_t red_next(const red_plan *p, int last, int64_t *idx, int64_t off)
{
    for (int k = last; k >= 0; k--) {
        off += p->rs[k];
        if (++idx[k] < p->rd[k])
            break;
        off -= p->rs[k] * p->rd[k];
        idx[k] = 0;
    }
    return off;
}

/* Pairwise sums of contiguous runs, in double (as NumPy's, with a wider
 * accumulator). */
#define DEFINE_PAIRWISE(NAME, T)                                                            \
    static double NAME(const T *x, int64_t n)                                               \
    {                                                                                       \
        if (n <= 128) {                                                                     \
            double s[8] = { 0 };                                                            \
            int64_t i = 0;                                                                  \
            for (; i + 8 <= n; i += 8)                                                      \
                for (int k = 0; k < 8; k++)                                                 \
                    s[k] += (double)x[i + k];                                               \
            for (; i < n; i++)                                                              \
                s[0] += (double)x[i];                                                       \
            return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));       \
        }                                                                                   \
        int64_t h = (n / 2) & ~(int64_t)7;                                                  \
        return NAME(x, h) + NAME(x + h, n - h);                                             \
    }
DEFINE_PAIRWISE(psum_f32, float)
DEFINE_PAIRWISE(psum_f64, double)

/* Generic reducer over a plan: T element type, A accumulator type,
 * INIT identity, ACC(a, v) folds v (of type T or A) into a, CONTIG(x, n) the
 * accumulator of a contiguous run, FIN(a, count) the output value. */
#define DEFINE_REDUCER(NAME, T, A, INIT, ACC, CONTIG, FIN)                                  \
    static void NAME(const red_plan *p, const T *x, T *y, int nt)                           \
    {                                                                                       \
        if (p->general) {                                                                   \
            _Pragma("omp parallel for num_threads(nt) schedule(static) if (nt > 1)")        \
            for (int64_t o = 0; o < p->n_out; o++) {                                        \
                int64_t base = 0, rem = o;                                                  \
                for (int k = p->nk - 1; k >= 0; k--) {                                      \
                    base += (rem % p->kd[k]) * p->ks[k];                                    \
                    rem /= p->kd[k];                                                        \
                }                                                                           \
                int64_t idx[OP_MAX_RANK] = { 0 }, off = 0;                                  \
                A a = INIT;                                                                 \
                if (p->rs[p->nr - 1] == 1) {                                                \
                    /* the innermost reduced dims are contiguous (the bias gradient's     \
                       H*W of [N, C, H, W]): fold each run with CONTIG, then the runs */   \
                    const int64_t run = p->rd[p->nr - 1], runs = p->count / run;           \
                    for (int64_t c = 0; c < runs; c++) {                                    \
                        const A r_ = CONTIG(x + base + off, run);                           \
                        ACC(a, r_);                                                         \
                        off = red_next(p, p->nr - 2, idx, off);                             \
                    }                                                                       \
                    y[o] = FIN(a, p->count);                                                \
                    continue;                                                               \
                }                                                                           \
                for (int64_t c = 0; c < p->count; c++) {                                    \
                    ACC(a, x[base + off]);                                                  \
                    off = red_next(p, p->nr - 1, idx, off);                                \
                }                                                                           \
                y[o] = FIN(a, p->count);                                                    \
            }                                                                               \
            return;                                                                         \
        }                                                                                   \
        int64_t n = p->n, inner = p->inner;                                                 \
        if (inner == 1 && p->outer < FEW_ROWS && n >= 2 * CHUNK_MIN) {                      \
            /* few long rows: each is cut at fixed points (not per thread), so the        \
               result is the same for any thread count */                                   \
            int64_t nch = n / CHUNK_MIN < MAX_CHUNKS ? n / CHUNK_MIN : MAX_CHUNKS;          \
            for (int64_t o = 0; o < p->outer; o++) {                                        \
                A part[MAX_CHUNKS];                                                         \
                const T *row = x + o * n;                                                   \
                _Pragma("omp parallel for num_threads(nt) schedule(static) if (nt > 1)")    \
                for (int64_t c = 0; c < nch; c++) {                                         \
                    int64_t lo = n * c / nch, hi = n * (c + 1) / nch;                       \
                    part[c] = CONTIG(row + lo, hi - lo);                                    \
                }                                                                           \
                A a = part[0];                                                              \
                for (int64_t c = 1; c < nch; c++)                                           \
                    ACC(a, part[c]);                                                        \
                y[o] = FIN(a, n);                                                           \
            }                                                                               \
            return;                                                                         \
        }                                                                                   \
        if (inner == 1) {                                                                   \
            _Pragma("omp parallel for num_threads(nt) schedule(static) if (nt > 1)")        \
            for (int64_t o = 0; o < p->outer; o++)                                          \
                y[o] = FIN(CONTIG(x + o * n, n), n);                                        \
            return;                                                                         \
        }                                                                                   \
        int64_t nb = (inner + BLOCK - 1) / BLOCK, items = p->outer * nb;                    \
        _Pragma("omp parallel for num_threads(nt) schedule(static) if (nt > 1)")            \
        for (int64_t it = 0; it < items; it++) {                                            \
            int64_t o = it / nb, j0 = (it % nb) * BLOCK;                                    \
            int64_t len = inner - j0 < BLOCK ? inner - j0 : BLOCK;                          \
            A acc[BLOCK];                                                                   \
            for (int64_t j = 0; j < len; j++)                                               \
                acc[j] = INIT;                                                              \
            const T *xo = x + o * n * inner + j0;                                           \
            for (int64_t r = 0; r < n; r++) {                                               \
                const T *row = xo + r * inner;                                              \
                for (int64_t j = 0; j < len; j++)                                           \
                    ACC(acc[j], row[j]);                                                    \
            }                                                                               \
            T *yo = y + o * inner + j0;                                                     \
            for (int64_t j = 0; j < len; j++)                                               \
                yo[j] = FIN(acc[j], n);                                                     \
        }                                                                                   \
    }

/* A plain contiguous fold with ACC, for the reducers without a pairwise one. */
#define DEFINE_CONTIG(NAME, T, A, INIT, ACC)                                                \
    static A NAME(const T *x, int64_t n)                                                    \
    {                                                                                       \
        A a = INIT;                                                                         \
        for (int64_t i = 0; i < n; i++)                                                     \
            ACC(a, x[i]);                                                                   \
        return a;                                                                           \
    }

#define ACC_ADD(a, v) ((a) += (v))
#define ACC_ADDU(a, v) ((a) += (uint64_t)(v))
#define ACC_MAXF(a, v) do { if ((v) > (a) || isnan(v)) (a) = (v); } while (0)
#define ACC_MINF(a, v) do { if ((v) < (a) || isnan(v)) (a) = (v); } while (0)
#define ACC_MAXI(a, v) do { if ((v) > (a)) (a) = (v); } while (0)
#define ACC_MINI(a, v) do { if ((v) < (a)) (a) = (v); } while (0)
#define FIN_F32(a, c) ((float)(a))
#define FIN_F64(a, c) ((double)(a))
#define FIN_I32(a, c) ((int32_t)(int64_t)(a))
#define FIN_I64(a, c) ((int64_t)(a))
#define FIN_MEAN_F32(a, c) ((float)((a) / (double)(c)))
#define FIN_MEAN_F64(a, c) ((a) / (double)(c))

DEFINE_CONTIG(usum_i32, int32_t, uint64_t, 0, ACC_ADDU)
DEFINE_CONTIG(usum_i64, int64_t, uint64_t, 0, ACC_ADDU)
/* Contiguous float max/min: 8 lanes of selects and a NaN flag, which the
 * compiler vectorises (the branchy fold above does not). */
#define DEFINE_MINMAX_F(NAME, T, INIT, CMP)                                                 \
    static T NAME(const T *x, int64_t n)                                                    \
    {                                                                                       \
        T m[8];                                                                             \
        int nan = 0;                                                                        \
        for (int k = 0; k < 8; k++)                                                         \
            m[k] = INIT;                                                                    \
        int64_t i = 0;                                                                      \
        for (; i + 8 <= n; i += 8)                                                          \
            for (int k = 0; k < 8; k++) {                                                   \
                T v = x[i + k];                                                             \
                m[k] = v CMP m[k] ? v : m[k];                                               \
                nan |= isnan(v);                                                            \
            }                                                                               \
        for (; i < n; i++) {                                                                \
            m[0] = x[i] CMP m[0] ? x[i] : m[0];                                             \
            nan |= isnan(x[i]);                                                             \
        }                                                                                   \
        if (nan)                                                                            \
            return (T)NAN;                                                                  \
        T r = m[0];                                                                         \
        for (int k = 1; k < 8; k++)                                                         \
            r = m[k] CMP r ? m[k] : r;                                                      \
        return r;                                                                           \
    }
DEFINE_MINMAX_F(max_f32, float, -INFINITY, >)
DEFINE_MINMAX_F(max_f64, double, -INFINITY, >)
DEFINE_MINMAX_F(min_f32, float, INFINITY, <)
DEFINE_MINMAX_F(min_f64, double, INFINITY, <)
DEFINE_CONTIG(max_i32, int32_t, int32_t, INT32_MIN, ACC_MAXI)
DEFINE_CONTIG(max_i64, int64_t, int64_t, INT64_MIN, ACC_MAXI)
DEFINE_CONTIG(min_i32, int32_t, int32_t, INT32_MAX, ACC_MINI)
DEFINE_CONTIG(min_i64, int64_t, int64_t, INT64_MAX, ACC_MINI)

DEFINE_REDUCER(red_sum_f32, float, double, 0.0, ACC_ADD, psum_f32, FIN_F32)
DEFINE_REDUCER(red_sum_f64, double, double, 0.0, ACC_ADD, psum_f64, FIN_F64)
DEFINE_REDUCER(red_sum_i32, int32_t, uint64_t, 0, ACC_ADDU, usum_i32, FIN_I32)
DEFINE_REDUCER(red_sum_i64, int64_t, uint64_t, 0, ACC_ADDU, usum_i64, FIN_I64)
DEFINE_REDUCER(red_mean_f32, float, double, 0.0, ACC_ADD, psum_f32, FIN_MEAN_F32)
DEFINE_REDUCER(red_mean_f64, double, double, 0.0, ACC_ADD, psum_f64, FIN_MEAN_F64)
DEFINE_REDUCER(red_max_f32, float, float, -INFINITY, ACC_MAXF, max_f32, FIN_F32)
DEFINE_REDUCER(red_max_f64, double, double, -INFINITY, ACC_MAXF, max_f64, FIN_F64)
DEFINE_REDUCER(red_max_i32, int32_t, int32_t, INT32_MIN, ACC_MAXI, max_i32, FIN_I32)
DEFINE_REDUCER(red_max_i64, int64_t, int64_t, INT64_MIN, ACC_MAXI, max_i64, FIN_I64)
DEFINE_REDUCER(red_min_f32, float, float, INFINITY, ACC_MINF, min_f32, FIN_F32)
DEFINE_REDUCER(red_min_f64, double, double, INFINITY, ACC_MINF, min_f64, FIN_F64)
DEFINE_REDUCER(red_min_i32, int32_t, int32_t, INT32_MAX, ACC_MINI, min_i32, FIN_I32)
DEFINE_REDUCER(red_min_i64, int64_t, int64_t, INT64_MAX, ACC_MINI, min_i64, FIN_I64)

enum red_kind { RED_SUM, RED_MEAN, RED_MAX, RED_MIN };

static int run_reduce(op_ctx *ctx, enum red_kind kind, const op_attr *attrs, const op_tensor *in,
                      int n_in, op_tensor *out, int n_out)
{
    static const char *const names[] = { "sum", "mean", "max", "min" };
    const char *op = names[kind];
    if (kernel_check(ctx, kind == RED_MEAN ? op_infer_reduce_float : op_infer_reduce, op, attrs,
                     in, n_in, out, n_out))
        return -1;
    const op_tensor *x = &in[0];
    op_tensor *y = &out[0];
    op_type xt;
    op_type_from_tensor(x, &xt);
    unsigned mask;
    reduce_mask(op, &attrs[0], &xt, &mask, ctx->err, sizeof ctx->err);
    int64_t n_y = op_tensor_numel(y), n_x = op_tensor_numel(x);
    if (n_y == 0)
        return 0;
    if (n_x == 0) { /* every output reduces zero elements */
        if (kind == RED_MAX || kind == RED_MIN) {
            char s[STR_LEN];
            type_str(&xt, s);
            op_set_err(ctx->err, sizeof ctx->err, "%s: reduction of %s over an empty axis", op, s);
            return -1;
        }
        size_t esz = op_dtype_size(y->dtype);
        for (int64_t i = 0; i < n_y; i++) {
            if (kind == RED_SUM)
                memset((char *)y->data + i * (int64_t)esz, 0, esz);
            else if (y->dtype == OP_F32)
                ((float *)y->data)[i] = NAN;
            else
                ((double *)y->data)[i] = NAN;
        }
        return 0;
    }
    red_plan p;
    red_plan_make(x, mask, &p);
    int nt = n_x >= PAR_ELEMS && ctx->n_threads > 1 ? ctx->n_threads : 1;
#define DISPATCH(K, fn32, fn64, fni32, fni64)                                                 \
    case K:                                                                                 \
        switch (x->dtype) {                                                                 \
        case OP_F32: fn32(&p, x->data, y->data, nt); break;                                 \
        case OP_F64: fn64(&p, x->data, y->data, nt); break;                                 \
        case OP_I32: fni32(&p, x->data, y->data, nt); break;                                \
        default: fni64(&p, x->data, y->data, nt); break;                                    \
        }                                                                                   \
        break;
    switch (kind) {
        DISPATCH(RED_SUM, red_sum_f32, red_sum_f64, red_sum_i32, red_sum_i64)
        DISPATCH(RED_MAX, red_max_f32, red_max_f64, red_max_i32, red_max_i64)
        DISPATCH(RED_MIN, red_min_f32, red_min_f64, red_min_i32, red_min_i64)
    case RED_MEAN:
        if (x->dtype == OP_F32)
            red_mean_f32(&p, x->data, y->data, nt);
        else
            red_mean_f64(&p, x->data, y->data, nt);
        break;
    }
#undef DISPATCH
    return 0;
}

/* sum(x; axes, keepdims): sum over axes (empty: all). f32 accumulates in
 * double (pairwise on contiguous runs); i32/i64 wrap on overflow; an empty
 * reduction gives 0. */
OP_KERNEL(op_cpu_sum) { return run_reduce(ctx, RED_SUM, attrs, in, n_in, out, n_out); }

/* mean(x; axes, keepdims): sum / count in double, f32 and f64 only; an empty
 * reduction gives NaN (as NumPy). */
OP_KERNEL(op_cpu_mean) { return run_reduce(ctx, RED_MEAN, attrs, in, n_in, out, n_out); }

/* max(x; axes, keepdims): largest element; NaN if any element is NaN (as
 * NumPy); an empty reduction is an error. */
OP_KERNEL(op_cpu_max) { return run_reduce(ctx, RED_MAX, attrs, in, n_in, out, n_out); }

/* min(x; axes, keepdims): smallest element; NaN propagates; empty is an error. */
OP_KERNEL(op_cpu_min) { return run_reduce(ctx, RED_MIN, attrs, in, n_in, out, n_out); }

/* ---- argmax ---- */

#define ISNAN_F(v) (isnan(v) != 0)
#define ISNAN_I(v) 0

/* First index of the max along the middle dim of [outer, n, inner]; the first
 * NaN wins over everything (NumPy). Rows (inner == 1) take two vectorised
 * passes: the max (NaN if any), then its first position. */
#define DEFINE_ARGMAX(NAME, T, ISNAN, MAXFN)                                                \
    static void NAME(const T *x, int64_t *y, int64_t outer, int64_t n, int64_t inner, int nt) \
    {                                                                                       \
        if (inner == 1) {                                                                   \
            _Pragma("omp parallel for num_threads(nt) schedule(static) if (nt > 1)")        \
            for (int64_t o = 0; o < outer; o++) {                                           \
                const T *row = x + o * n;                                                   \
                T m = MAXFN(row, n);                                                        \
                int64_t i = 0;                                                              \
                if (ISNAN(m))                                                               \
                    while (i < n - 1 && !ISNAN(row[i]))                                     \
                        i++;                                                                \
                else                                                                        \
                    while (i < n - 1 && row[i] != m)                                        \
                        i++;                                                                \
                y[o] = i;                                                                   \
            }                                                                               \
            return;                                                                         \
        }                                                                                   \
        int64_t nb = (inner + BLOCK - 1) / BLOCK, items = outer * nb;                       \
        _Pragma("omp parallel for num_threads(nt) schedule(static) if (nt > 1)")            \
        for (int64_t it = 0; it < items; it++) {                                            \
            int64_t o = it / nb, j0 = (it % nb) * BLOCK;                                    \
            int64_t len = inner - j0 < BLOCK ? inner - j0 : BLOCK;                          \
            const T *xo = x + o * n * inner + j0;                                           \
            T best[BLOCK];                                                                  \
            int64_t bi[BLOCK];                                                              \
            for (int64_t j = 0; j < len; j++) {                                             \
                best[j] = xo[j];                                                            \
                bi[j] = 0;                                                                  \
            }                                                                               \
            for (int64_t r = 1; r < n; r++) {                                               \
                const T *row = xo + r * inner;                                              \
                for (int64_t j = 0; j < len; j++) {                                         \
                    T v = row[j];                                                           \
                    int take = (1 - ISNAN(best[j])) & ((v > best[j]) | ISNAN(v));              \
                    best[j] = take ? v : best[j];                                           \
                    bi[j] = take ? r : bi[j];                                               \
                }                                                                           \
            }                                                                               \
            memcpy(y + o * inner + j0, bi, (size_t)len * sizeof(int64_t));                 \
        }                                                                                   \
    }

DEFINE_ARGMAX(argmax_f32, float, ISNAN_F, max_f32)
DEFINE_ARGMAX(argmax_f64, double, ISNAN_F, max_f64)
DEFINE_ARGMAX(argmax_i32, int32_t, ISNAN_I, max_i32)
DEFINE_ARGMAX(argmax_i64, int64_t, ISNAN_I, max_i64)

/* argmax(x; axis, keepdims): i64 index of the first maximum along axis; NaN
 * counts as the maximum (the first NaN wins); an empty axis is an error. */
OP_KERNEL(op_cpu_argmax)
{
    if (kernel_check(ctx, op_infer_argmax, "argmax", attrs, in, n_in, out, n_out))
        return -1;
    const op_tensor *x = &in[0];
    int ax = op_axis(attrs[0].i, x->rank);
    int64_t outer = op_dims_numel(ax, x->dims), n = x->dims[ax];
    int64_t inner = op_dims_numel(x->rank - ax - 1, x->dims + ax + 1);
    if (outer * inner == 0)
        return 0;
    if (n == 0) {
        char s[STR_LEN];
        op_type xt;
        op_type_from_tensor(x, &xt);
        type_str(&xt, s);
        op_set_err(ctx->err, sizeof ctx->err, "argmax: axis %d of %s is empty", ax, s);
        return -1;
    }
    int nt = outer * n * inner >= PAR_ELEMS && ctx->n_threads > 1 ? ctx->n_threads : 1;
    switch (x->dtype) {
    case OP_F32: argmax_f32(x->data, out[0].data, outer, n, inner, nt); break;
    case OP_F64: argmax_f64(x->data, out[0].data, outer, n, inner, nt); break;
    case OP_I32: argmax_i32(x->data, out[0].data, outer, n, inner, nt); break;
    default: argmax_i64(x->data, out[0].data, outer, n, inner, nt); break;
    }
    return 0;
}
