/* ops/elementwise.c -- inference rules and CPU kernels of the elementwise ops:
 * binary arithmetic, comparisons and logic with NumPy broadcasting (rank <= 8),
 * unary math, clip, cast, where, identity and dropout. The scalar math is in
 * ew_math.h; this file holds the loops: a planner that merges dims so every
 * inner loop runs over one contiguous (or stride-0) run, and an OpenMP split. */
#include "kernels.h"
#include "ew_math.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

/* ======================================================================== */
/* Inference                                                                */
/* ======================================================================== */

static int dtype_valid(op_dtype t) { return (int)t > OP_DT_INVALID && t < OP_DT_COUNT; }

/* A type read from an untrusted file: valid dtype, rank 0..8, dims >= 0. */
static int check_type(const op_type *t, int idx, char *err, size_t err_len)
{
    if (!dtype_valid(t->dtype)) {
        op_set_err(err, err_len, "input %d: invalid dtype %d", idx, (int)t->dtype);
        return -1;
    }
    if (t->rank < 0 || t->rank > OP_MAX_RANK) {
        op_set_err(err, err_len, "input %d: rank %d out of range 0..%d", idx, t->rank, OP_MAX_RANK);
        return -1;
    }
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i].coef < 0) {
            op_set_err(err, err_len, "input %d: negative dimension %lld", idx,
                       (long long)t->dims[i].coef);
            return -1;
        }
    return 0;
}

static int check_arity(const op_type *in, int n_in, int want_in, int n_out, char *err, size_t err_len)
{
    if (n_in != want_in || !in) {
        op_set_err(err, err_len, "expected %d input%s, got %d", want_in, want_in == 1 ? "" : "s", n_in);
        return -1;
    }
    if (n_out != 1) {
        op_set_err(err, err_len, "expected 1 output, got %d", n_out);
        return -1;
    }
    for (int i = 0; i < n_in; i++)
        if (check_type(&in[i], i, err, err_len))
            return -1;
    return 0;
}

static void type_pair_str(const op_type *a, const op_type *b, char *sa, char *sb, size_t len)
{
    op_type_str(a, NULL, sa, len);
    op_type_str(b, NULL, sb, len);
}

/* Two inputs of one dtype, broadcast: out gets the broadcast shape, dtype a's. */
static int infer_same_dtype_bcast(const op_type *in, int n_in, op_type *out, int n_out,
                                  char *err, size_t err_len)
{
    if (check_arity(in, n_in, 2, n_out, err, err_len))
        return -1;
    if (in[0].dtype != in[1].dtype) {
        char sa[320], sb[320];
        type_pair_str(&in[0], &in[1], sa, sb, sizeof sa);
        op_set_err(err, err_len, "dtype mismatch: %s and %s", sa, sb);
        return -1;
    }
    return op_broadcast(&in[0], &in[1], &out[0], err, err_len);
}

/* add sub mul div pow minimum maximum: same numeric dtype, broadcast. */
OP_INFER(op_infer_binary)
{
    if (infer_same_dtype_bcast(in, n_in, out, n_out, err, err_len))
        return -1;
    if (in[0].dtype == OP_BOOL) {
        char sa[320], sb[320];
        type_pair_str(&in[0], &in[1], sa, sb, sizeof sa);
        op_set_err(err, err_len, "expected numeric operands, got %s and %s", sa, sb);
        return -1;
    }
    return 0;
}

/* equal ... greater_equal: same dtype (any), broadcast, bool out. */
OP_INFER(op_infer_compare)
{
    if (infer_same_dtype_bcast(in, n_in, out, n_out, err, err_len))
        return -1;
    out[0].dtype = OP_BOOL;
    return 0;
}

/* logical_and/or (2 inputs, broadcast) and logical_not (1 input): bool only. */
OP_INFER(op_infer_logical)
{
    if (n_in != 1 && n_in != 2) {
        op_set_err(err, err_len, "expected 1 or 2 inputs, got %d", n_in);
        return -1;
    }
    if (check_arity(in, n_in, n_in, n_out, err, err_len))
        return -1;
    for (int i = 0; i < n_in; i++)
        if (in[i].dtype != OP_BOOL) {
            char s[320];
            op_type_str(&in[i], NULL, s, sizeof s);
            op_set_err(err, err_len, "expected bool input %d, got %s", i, s);
            return -1;
        }
    if (n_in == 1) {
        out[0] = in[0];
        return 0;
    }
    if (op_broadcast(&in[0], &in[1], &out[0], err, err_len))
        return -1;
    out[0].dtype = OP_BOOL;
    return 0;
}

/* neg abs relu identity clip: any numeric dtype, same type out. */
OP_INFER(op_infer_unary)
{
    if (check_arity(in, n_in, 1, n_out, err, err_len))
        return -1;
    if (in[0].dtype == OP_BOOL) {
        char s[320];
        op_type_str(&in[0], NULL, s, sizeof s);
        op_set_err(err, err_len, "expected a numeric input, got %s", s);
        return -1;
    }
    out[0] = in[0];
    return 0;
}

/* exp log sqrt ... erf: f32/f64 only, same type out. */
OP_INFER(op_infer_unary_float)
{
    if (check_arity(in, n_in, 1, n_out, err, err_len))
        return -1;
    if (!op_dtype_is_float(in[0].dtype)) {
        char s[320];
        op_type_str(&in[0], NULL, s, sizeof s);
        op_set_err(err, err_len, "expected an f32 or f64 input, got %s", s);
        return -1;
    }
    out[0] = in[0];
    return 0;
}

/* Attribute checks, shared by the inference rules and the kernels (a kernel
 * may be called on attributes nobody inferred, e.g. by a test or the folder). */
static int check_leaky_attrs(const op_attr *attrs, char *err, size_t err_len)
{
    if (!attrs || !isfinite(attrs[0].f)) {
        op_set_err(err, err_len, "leaky_relu: alpha must be a finite number, got %g",
                   attrs ? attrs[0].f : NAN);
        return -1;
    }
    return 0;
}

static int check_gelu_attrs(const op_attr *attrs, char *err, size_t err_len)
{
    if (!attrs || (attrs[0].i != 0 && attrs[0].i != 1)) {
        op_set_err(err, err_len, "gelu: approximate must be 0 (\"none\") or 1 (\"tanh\"), got %lld",
                   attrs ? (long long)attrs[0].i : -1LL);
        return -1;
    }
    return 0;
}

static int check_clip_attrs(const op_attr *attrs, char *err, size_t err_len)
{
    if (!attrs || isnan(attrs[0].f) || isnan(attrs[1].f)) {
        op_set_err(err, err_len, "clip: min and max must not be nan");
        return -1;
    }
    return 0;
}

static int check_dropout_attrs(const op_attr *attrs, char *err, size_t err_len)
{
    if (!attrs || !(attrs[0].f >= 0.0 && attrs[0].f <= 1.0)) {
        op_set_err(err, err_len, "dropout: p must be in [0, 1], got %g", attrs ? attrs[0].f : NAN);
        return -1;
    }
    return 0;
}

OP_INFER(op_infer_leaky_relu)
{
    if (check_leaky_attrs(attrs, err, err_len))
        return -1;
    return op_infer_unary_float(attrs, in, n_in, out, n_out, err, err_len);
}

OP_INFER(op_infer_gelu)
{
    if (check_gelu_attrs(attrs, err, err_len))
        return -1;
    return op_infer_unary_float(attrs, in, n_in, out, n_out, err, err_len);
}

OP_INFER(op_infer_clip)
{
    if (check_clip_attrs(attrs, err, err_len))
        return -1;
    return op_infer_unary(attrs, in, n_in, out, n_out, err, err_len);
}

OP_INFER(op_infer_dropout)
{
    if (check_dropout_attrs(attrs, err, err_len))
        return -1;
    return op_infer_unary_float(attrs, in, n_in, out, n_out, err, err_len);
}

/* cast: any dtype to the valid dtype attrs[0].i, same shape. */
OP_INFER(op_infer_cast)
{
    if (check_arity(in, n_in, 1, n_out, err, err_len))
        return -1;
    if (!attrs || attrs[0].i <= OP_DT_INVALID || attrs[0].i >= OP_DT_COUNT) {
        op_set_err(err, err_len, "cast: invalid target dtype %lld", attrs ? (long long)attrs[0].i : -1LL);
        return -1;
    }
    out[0] = in[0];
    out[0].dtype = (op_dtype)attrs[0].i;
    return 0;
}

/* where(cond, a, b): cond bool, a and b one dtype, all three broadcast. */
OP_INFER(op_infer_where)
{
    if (check_arity(in, n_in, 3, n_out, err, err_len))
        return -1;
    char s0[320], s1[320], s2[320];
    if (in[0].dtype != OP_BOOL) {
        op_type_str(&in[0], NULL, s0, sizeof s0);
        op_set_err(err, err_len, "where: expected a bool condition, got %s", s0);
        return -1;
    }
    if (in[1].dtype != in[2].dtype) {
        type_pair_str(&in[1], &in[2], s1, s2, sizeof s1);
        op_set_err(err, err_len, "dtype mismatch: %s and %s", s1, s2);
        return -1;
    }
    op_type ab, o;
    if (op_broadcast(&in[1], &in[2], &ab, err, err_len))
        return -1;
    if (op_broadcast(&in[0], &ab, &o, NULL, 0)) {
        op_shape_str(&in[0], NULL, s0, sizeof s0);
        op_shape_str(&in[1], NULL, s1, sizeof s1);
        op_shape_str(&in[2], NULL, s2, sizeof s2);
        op_set_err(err, err_len, "where: shapes %s, %s and %s cannot be broadcast", s0, s1, s2);
        return -1;
    }
    o.dtype = in[1].dtype;
    out[0] = o;
    return 0;
}

/* ======================================================================== */
/* The loop engine                                                          */
/* ======================================================================== */

/* Attribute values prepared once per kernel call for the inner loops. */
typedef struct ew_params {
    double d0, d1;  /* f64 loops */
    float f0, f1;   /* f32 loops */
    int64_t i0, i1; /* integer loops */
} ew_params;

/* Inner loop over one run of n output elements. in[k] points at the first
 * element of input k for this run, st[k] is its stride in elements: 1
 * (contiguous) or 0 (the same element repeated). Returns 0 or EW_E_* bits. */
typedef int (*ew_loop_fn)(void *out, const void *const *in, const int64_t *st, int64_t n,
                          const ew_params *prm);

enum { EW_E_DIV0 = 1, EW_E_OVERFLOW = 2, EW_E_NEGPOW = 4 };

#define EW_MAX_IN 3
#define EW_PAR_MIN 32768     /* below this many elements a kernel runs on one thread */
#define EW_CHUNK_ALIGN 64    /* thread chunks start at multiples of this (cache lines) */

/* The iteration space after merging dims: dims[0..rank-1], innermost last,
 * with per-input element strides (0 where an input is broadcast). */
typedef struct ew_plan {
    int n_in, rank;
    int64_t dims[OP_MAX_RANK];
    int64_t st[EW_MAX_IN][OP_MAX_RANK];
    size_t esz[EW_MAX_IN], osz;
    const char *in[EW_MAX_IN];
    char *out;
    int64_t total;
    ew_loop_fn fn;
    const ew_params *prm;
} ew_plan;

/* Builds the plan for out = f(in...), shapes already checked by ew_check.
 * Dims of size 1 are dropped; an outer dim merges into the inner one when
 * every input walks both as one (stride_outer == stride_inner * size_inner),
 * which also merges runs of broadcast (stride 0) dims. */
static void ew_plan_build(ew_plan *p, const op_tensor *out, const op_tensor *in, int n_in,
                          ew_loop_fn fn, const ew_params *prm)
{
    int64_t full[EW_MAX_IN][OP_MAX_RANK];
    int r = out->rank;
    memset(p, 0, sizeof *p);
    for (int k = 0; k < n_in; k++) {
        int64_t stride = 1;
        for (int d = r - 1; d >= 0; d--) {
            int id = d - (r - in[k].rank);
            int64_t dim = id >= 0 ? in[k].dims[id] : 1;
            full[k][d] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
    }
    /* Merge from the innermost dim outwards into rev[] (innermost first). */
    int64_t rdims[OP_MAX_RANK], rst[EW_MAX_IN][OP_MAX_RANK];
    int nr = 0;
    for (int d = r - 1; d >= 0; d--) {
        if (out->dims[d] == 1)
            continue;
        int merge = nr > 0;
        for (int k = 0; k < n_in && merge; k++)
            if (full[k][d] != rst[k][nr - 1] * rdims[nr - 1])
                merge = 0;
        if (merge) {
            rdims[nr - 1] *= out->dims[d];
        } else {
            rdims[nr] = out->dims[d];
            for (int k = 0; k < n_in; k++)
                rst[k][nr] = full[k][d];
            nr++;
        }
    }
    if (nr == 0) { /* rank 0, or all dims 1: one element */
        rdims[0] = 1;
        for (int k = 0; k < n_in; k++)
            rst[k][0] = 0;
        nr = 1;
    }
    p->rank = nr;
    p->n_in = n_in;
    p->total = 1;
    for (int i = 0; i < nr; i++) {
        p->dims[i] = rdims[nr - 1 - i];
        p->total *= p->dims[i];
        for (int k = 0; k < n_in; k++)
            p->st[k][i] = rst[k][nr - 1 - i];
    }
    for (int k = 0; k < n_in; k++) {
        p->in[k] = in[k].data;
        p->esz[k] = op_dtype_size(in[k].dtype);
    }
    p->out = out->data;
    p->osz = op_dtype_size(out->dtype);
    p->fn = fn;
    p->prm = prm;
}

/* Computes output elements [s, e) (flat row-major indices): a partial first
 * run, whole runs, a partial last run; an odometer walks the outer dims. */
static int ew_run_range(const ew_plan *p, int64_t s, int64_t e)
{
    const int R = p->rank;
    const int64_t inner = p->dims[R - 1];
    int64_t idx[OP_MAX_RANK], off[EW_MAX_IN], ist[EW_MAX_IN];
    const void *ip[EW_MAX_IN];
    int64_t row = s / inner, col = s % inner;
    for (int k = 0; k < p->n_in; k++) {
        off[k] = 0;
        ist[k] = p->st[k][R - 1];
    }
    for (int d = R - 2; d >= 0; d--) {
        idx[d] = row % p->dims[d];
        row /= p->dims[d];
        for (int k = 0; k < p->n_in; k++)
            off[k] += idx[d] * p->st[k][d];
    }
    int err = 0;
    for (int64_t pos = s; pos < e;) {
        int64_t len = inner - col < e - pos ? inner - col : e - pos;
        for (int k = 0; k < p->n_in; k++)
            ip[k] = p->in[k] + (size_t)(off[k] + col * ist[k]) * p->esz[k];
        err |= p->fn(p->out + (size_t)pos * p->osz, ip, ist, len, p->prm);
        pos += len;
        col = 0;
        for (int d = R - 2; d >= 0; d--) {
            for (int k = 0; k < p->n_in; k++)
                off[k] += p->st[k][d];
            if (++idx[d] < p->dims[d])
                break;
            for (int k = 0; k < p->n_in; k++)
                off[k] -= p->st[k][d] * p->dims[d];
            idx[d] = 0;
        }
    }
    return err;
}

/* Runs the plan, on up to n_threads OpenMP threads when the output is big
 * (each thread gets one contiguous slice of at least EW_PAR_MIN/2 elements).
 * Every element is computed by the same code whatever the split, so results
 * do not depend on the thread count. */
static int ew_exec(const ew_plan *p, int n_threads)
{
    const int64_t total = p->total;
    int64_t nt = n_threads;
    if (nt > total / (EW_PAR_MIN / 2))
        nt = total / (EW_PAR_MIN / 2);
    if (total < EW_PAR_MIN || nt <= 1)
        return ew_run_range(p, 0, total);
    int err = 0;
#pragma omp parallel num_threads((int)nt) reduction(| : err)
    {
        int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
        int64_t per = (total + T - 1) / T;
        per = (per + EW_CHUNK_ALIGN - 1) / EW_CHUNK_ALIGN * EW_CHUNK_ALIGN;
        int64_t s = t * per, e = s + per < total ? s + per : total;
        if (s < e)
            err |= ew_run_range(p, s, e);
    }
    return err;
}

/* Checks a kernel's tensors: counts, dtypes, ranks, that out has exactly the
 * broadcast shape of the inputs (so no loop can read out of bounds), and that
 * data is present. Sets *numel to the output's element count. */
static int ew_check(op_ctx *ctx, const char *name, const op_tensor *in, int n_in, int want_in,
                    const op_tensor *out, int n_out, int64_t *numel)
{
    char *err = ctx->err;
    size_t el = sizeof ctx->err;
    if (n_in != want_in || !in || n_out != 1 || !out) {
        op_set_err(err, el, "%s: expected %d inputs and 1 output, got %d and %d", name, want_in,
                   n_in, n_out);
        return -1;
    }
    if (!dtype_valid(out->dtype) || out->rank < 0 || out->rank > OP_MAX_RANK) {
        op_set_err(err, el, "%s: invalid output tensor", name);
        return -1;
    }
    for (int k = 0; k < n_in; k++)
        if (!dtype_valid(in[k].dtype) || in[k].rank < 0 || in[k].rank > out->rank) {
            op_set_err(err, el, "%s: input %d (rank %d) does not fit the output (rank %d)", name, k,
                       in[k].rank, out->rank);
            return -1;
        }
    for (int d = 0; d < out->rank; d++) {
        int64_t want = 1;
        for (int k = 0; k < n_in; k++) {
            int id = d - (out->rank - in[k].rank);
            int64_t dim = id >= 0 ? in[k].dims[id] : 1;
            if (dim == 1)
                continue;
            if (want != 1 && dim != want) {
                op_set_err(err, el, "%s: inputs do not broadcast (dim %d: %lld vs %lld)", name, d,
                           (long long)want, (long long)dim);
                return -1;
            }
            want = dim;
        }
        if (out->dims[d] != want) {
            op_set_err(err, el, "%s: output dim %d is %lld, the inputs give %lld", name, d,
                       (long long)out->dims[d], (long long)want);
            return -1;
        }
    }
    int64_t n = op_dims_numel(out->rank, out->dims);
    if (n < 0) {
        op_set_err(err, el, "%s: invalid output size", name);
        return -1;
    }
    if (n > 0) {
        if (!out->data) {
            op_set_err(err, el, "%s: output has no data", name);
            return -1;
        }
        for (int k = 0; k < n_in; k++)
            if (!in[k].data) {
                op_set_err(err, el, "%s: input %d has no data", name, k);
                return -1;
            }
    }
    *numel = n;
    return 0;
}

static int ew_unsupported(op_ctx *ctx, const char *name, op_dtype t)
{
    op_set_err(ctx->err, sizeof ctx->err, "%s: dtype %s is not supported by the CPU kernel", name,
               op_dtype_name(t));
    return -1;
}

/* Maps the EW_E_* bits a loop returned to a message; 0 stays 0. */
static int ew_status(op_ctx *ctx, const char *name, int bits)
{
    if (!bits)
        return 0;
    if (bits & EW_E_DIV0)
        op_set_err(ctx->err, sizeof ctx->err, "%s: integer division by zero", name);
    else if (bits & EW_E_OVERFLOW)
        op_set_err(ctx->err, sizeof ctx->err, "%s: integer overflow (minimum value / -1)", name);
    else
        op_set_err(ctx->err, sizeof ctx->err, "%s: integer to a negative integer power", name);
    return -1;
}

static const ew_params ew_no_params;

/* out = fn(in...) with in[] of one dtype; fns is indexed by that dtype and
 * out must have out_dt (OP_DT_INVALID: the inputs' dtype). */
static int ew_apply(op_ctx *ctx, const char *name, const ew_loop_fn *fns, const ew_params *prm,
                    const op_tensor *in, int n_in, int want_in, op_tensor *out, int n_out,
                    op_dtype out_dt)
{
    int64_t n;
    if (ew_check(ctx, name, in, n_in, want_in, out, n_out, &n))
        return -1;
    op_dtype t = in[0].dtype;
    for (int k = 1; k < n_in; k++)
        if (in[k].dtype != t) {
            op_set_err(ctx->err, sizeof ctx->err, "%s: dtype mismatch: %s and %s", name,
                       op_dtype_name(t), op_dtype_name(in[k].dtype));
            return -1;
        }
    op_dtype want_out = out_dt == OP_DT_INVALID ? t : out_dt;
    if (out->dtype != want_out) {
        op_set_err(ctx->err, sizeof ctx->err, "%s: output dtype is %s, expected %s", name,
                   op_dtype_name(out->dtype), op_dtype_name(want_out));
        return -1;
    }
    if (!fns[t])
        return ew_unsupported(ctx, name, t);
    if (n == 0)
        return 0;
    ew_plan p;
    ew_plan_build(&p, out, in, n_in, fns[t], prm ? prm : &ew_no_params);
    return ew_status(ctx, name, ew_exec(&p, ctx->n_threads));
}

/* ======================================================================== */
/* Loops, generated per (op, dtype)                                         */
/* ======================================================================== */

#define EW_LOOP_ARGS void *o_, const void *const *in, const int64_t *st, int64_t n, const ew_params *prm

/* The compute-bound f32 math loops (exp, log, tanh, sigmoid, erf, gelu) are
 * compiled for AVX-512, AVX2 and baseline x86-64 and the best is picked at
 * load time (GCC target_clones, an ifunc): 2-3x faster. Every clone gives the
 * same bits: the loops are purely elementwise, ISO C mode (-std=c11)
 * contracts no a*b+c into an FMA, and the explicit fmaf of ew_math.h is
 * exactly rounded everywhere (one instruction in the AVX2 and AVX-512 clones,
 * glibc's exact fmaf in the baseline one, which is therefore slow: x86 CPUs
 * without FMA predate 2013). Memory-bound loops stay baseline: wide
 * unaligned loads made them slower. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(EW_NO_CLONES)
#define EW_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EW_CLONES
#endif

/* Binary: o[i] = EXPR over x (from in[0]) and y (from in[1]); one loop per
 * stride pattern so each is a plain vectorisable loop. */
#define EW_BINARY_LOOP(NAME, TI, TO, EXPR)                                        \
    static int NAME(EW_LOOP_ARGS)                                                 \
    {                                                                             \
        TO *o = o_;                                                               \
        const TI *a = in[0], *b = in[1];                                          \
        (void)prm;                                                                \
        if (st[0] && st[1]) {                                                     \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                 \
                const TI x = a[i], y = b[i];                                      \
                o[i] = (EXPR);                                                    \
            }                                                                     \
        } else if (st[0]) {                                                       \
            const TI y = b[0];                                                    \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                 \
                const TI x = a[i];                                                \
                o[i] = (EXPR);                                                    \
            }                                                                     \
        } else if (st[1]) {                                                       \
            const TI x = a[0];                                                    \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                 \
                const TI y = b[i];                                                \
                o[i] = (EXPR);                                                    \
            }                                                                     \
        } else {                                                                  \
            const TI x = a[0], y = b[0];                                          \
            const TO r = (EXPR);                                                  \
            for (int64_t i = 0; i < n; i++)                                       \
                o[i] = r;                                                         \
        }                                                                         \
        return 0;                                                                 \
    }

/* Unary: o[i] = EXPR over x = in[0][i]; P is a local copy of the params.
 * ATTR is empty or EW_CLONES. */
#define EW_UNARY_LOOP_A(ATTR, NAME, TI, TO, EXPR)                                 \
    ATTR static int NAME(EW_LOOP_ARGS)                                            \
    {                                                                             \
        TO *o = o_;                                                               \
        const TI *a = in[0];                                                      \
        const ew_params P = *prm;                                                 \
        (void)P;                                                                  \
        (void)st;                                                                 \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                     \
            const TI x = a[i];                                                    \
            o[i] = (EXPR);                                                        \
        }                                                                         \
        return 0;                                                                 \
    }
#define EW_UNARY_LOOP(NAME, TI, TO, EXPR) EW_UNARY_LOOP_A(, NAME, TI, TO, EXPR)

/* Table of loops by dtype for the four arithmetic dtypes. */
#define EW_TABLE4(op)                                                             \
    static const ew_loop_fn op##_fns[OP_DT_COUNT] = {                             \
        [OP_F32] = op##_f32, [OP_F64] = op##_f64, [OP_I32] = op##_i32, [OP_I64] = op##_i64 };
#define EW_TABLE_FLOAT(op)                                                        \
    static const ew_loop_fn op##_fns[OP_DT_COUNT] = { [OP_F32] = op##_f32, [OP_F64] = op##_f64 };

/* add sub mul minimum maximum: f32 f64 i32 i64 through ew_<op>_<type>. */
#define EW_ARITH4(op)                                                             \
    EW_BINARY_LOOP(op##_f32, float, float, ew_##op##_f32(x, y))                   \
    EW_BINARY_LOOP(op##_f64, double, double, ew_##op##_f64(x, y))                 \
    EW_BINARY_LOOP(op##_i32, int32_t, int32_t, ew_##op##_i32(x, y))               \
    EW_BINARY_LOOP(op##_i64, int64_t, int64_t, ew_##op##_i64(x, y))               \
    EW_TABLE4(op)

EW_ARITH4(add)
EW_ARITH4(sub)
EW_ARITH4(mul)
EW_ARITH4(minimum)
EW_ARITH4(maximum)

/* Integer division and power check every element (no SIMD for these anyway). */
#define EW_INT_DIV_LOOP(NAME, T, TMIN)                                            \
    static int NAME(EW_LOOP_ARGS)                                                 \
    {                                                                             \
        T *o = o_;                                                                \
        const T *a = in[0], *b = in[1];                                           \
        const int64_t sa = st[0], sb = st[1];                                     \
        int err = 0;                                                              \
        (void)prm;                                                                \
        for (int64_t i = 0; i < n; i++) {                                         \
            const T x = a[i * sa], y = b[i * sb];                                 \
            if (y == 0) {                                                         \
                err |= EW_E_DIV0;                                                 \
                o[i] = 0;                                                         \
            } else if (y == -1 && x == TMIN) {                                    \
                err |= EW_E_OVERFLOW;                                             \
                o[i] = TMIN;                                                      \
            } else {                                                              \
                o[i] = x / y;                                                     \
            }                                                                     \
        }                                                                         \
        return err;                                                               \
    }
#define EW_INT_POW_LOOP(NAME, T, POWFN)                                           \
    static int NAME(EW_LOOP_ARGS)                                                 \
    {                                                                             \
        T *o = o_;                                                                \
        const T *a = in[0], *b = in[1];                                           \
        const int64_t sa = st[0], sb = st[1];                                     \
        int err = 0;                                                              \
        (void)prm;                                                                \
        for (int64_t i = 0; i < n; i++) {                                         \
            const T x = a[i * sa], y = b[i * sb];                                 \
            if (y < 0) {                                                          \
                err |= EW_E_NEGPOW;                                               \
                o[i] = 0;                                                         \
            } else {                                                              \
                o[i] = POWFN(x, y);                                               \
            }                                                                     \
        }                                                                         \
        return err;                                                               \
    }

EW_BINARY_LOOP(div_f32, float, float, ew_div_f32(x, y))
EW_BINARY_LOOP(div_f64, double, double, ew_div_f64(x, y))
EW_INT_DIV_LOOP(div_i32, int32_t, INT32_MIN)
EW_INT_DIV_LOOP(div_i64, int64_t, INT64_MIN)
EW_TABLE4(div)

EW_BINARY_LOOP(pow_f32, float, float, ew_pow_f32(x, y))
EW_BINARY_LOOP(pow_f64, double, double, ew_pow_f64(x, y))
EW_INT_POW_LOOP(pow_i32, int32_t, ew_pow_i32)
EW_INT_POW_LOOP(pow_i64, int64_t, ew_pow_i64)
EW_TABLE4(pow)

/* Comparisons: all seven dtypes (bool as uint8_t), bool (0/1) out. */
#define EW_COMPARE(op, OPER)                                                      \
    EW_BINARY_LOOP(op##_f32, float, uint8_t, (uint8_t)(x OPER y))                 \
    EW_BINARY_LOOP(op##_f64, double, uint8_t, (uint8_t)(x OPER y))                \
    EW_BINARY_LOOP(op##_i32, int32_t, uint8_t, (uint8_t)(x OPER y))               \
    EW_BINARY_LOOP(op##_i64, int64_t, uint8_t, (uint8_t)(x OPER y))               \
    EW_BINARY_LOOP(op##_u8, uint8_t, uint8_t, (uint8_t)(x OPER y))                \
    EW_BINARY_LOOP(op##_i8, int8_t, uint8_t, (uint8_t)(x OPER y))                 \
    static const ew_loop_fn op##_fns[OP_DT_COUNT] = {                             \
        [OP_F32] = op##_f32, [OP_F64] = op##_f64, [OP_I32] = op##_i32,            \
        [OP_I64] = op##_i64, [OP_BOOL] = op##_u8, [OP_U8] = op##_u8, [OP_I8] = op##_i8 };

EW_COMPARE(equal, ==)
EW_COMPARE(not_equal, !=)
EW_COMPARE(less, <)
EW_COMPARE(less_equal, <=)
EW_COMPARE(greater, >)
EW_COMPARE(greater_equal, >=)

/* Logic on bools; any non-zero byte counts as true, the output is 0/1. */
EW_BINARY_LOOP(logical_and_b, uint8_t, uint8_t, (uint8_t)((x != 0) & (y != 0)))
EW_BINARY_LOOP(logical_or_b, uint8_t, uint8_t, (uint8_t)((x != 0) | (y != 0)))
EW_UNARY_LOOP(logical_not_b, uint8_t, uint8_t, (uint8_t)(x == 0))
static const ew_loop_fn logical_and_fns[OP_DT_COUNT] = { [OP_BOOL] = logical_and_b };
static const ew_loop_fn logical_or_fns[OP_DT_COUNT] = { [OP_BOOL] = logical_or_b };
static const ew_loop_fn logical_not_fns[OP_DT_COUNT] = { [OP_BOOL] = logical_not_b };

/* Unary ops on f32 f64 i32 i64 through ew_<op>_<type>(x). */
#define EW_UNARY4(op)                                                             \
    EW_UNARY_LOOP(op##_f32, float, float, ew_##op##_f32(x))                       \
    EW_UNARY_LOOP(op##_f64, double, double, ew_##op##_f64(x))                     \
    EW_UNARY_LOOP(op##_i32, int32_t, int32_t, ew_##op##_i32(x))                   \
    EW_UNARY_LOOP(op##_i64, int64_t, int64_t, ew_##op##_i64(x))                   \
    EW_TABLE4(op)
/* Unary ops on f32 f64 only. */
#define EW_UNARY_FLOAT(op)                                                        \
    EW_UNARY_LOOP(op##_f32, float, float, ew_##op##_f32(x))                       \
    EW_UNARY_LOOP(op##_f64, double, double, ew_##op##_f64(x))                     \
    EW_TABLE_FLOAT(op)

EW_UNARY4(neg)
EW_UNARY4(abs)
EW_UNARY4(relu)
/* The same with the f32 loop cloned for wider vectors (see EW_CLONES). */
#define EW_UNARY_MATH(op)                                                         \
    EW_UNARY_LOOP_A(EW_CLONES, op##_f32, float, float, ew_##op##_f32(x))          \
    EW_UNARY_LOOP(op##_f64, double, double, ew_##op##_f64(x))                     \
    EW_TABLE_FLOAT(op)

EW_UNARY_MATH(exp)
EW_UNARY_MATH(log)
EW_UNARY_FLOAT(sqrt)
EW_UNARY_FLOAT(rsqrt)
EW_UNARY_FLOAT(reciprocal)
EW_UNARY_MATH(tanh)
EW_UNARY_MATH(sigmoid)
EW_UNARY_MATH(erf)
EW_UNARY_MATH(gelu_erf)
EW_UNARY_MATH(gelu_tanh)

EW_UNARY_LOOP(leaky_relu_f32, float, float, ew_leaky_relu_f32(x, P.f0))
EW_UNARY_LOOP(leaky_relu_f64, double, double, ew_leaky_relu_f64(x, P.d0))
EW_TABLE_FLOAT(leaky_relu)

EW_UNARY_LOOP(clip_f32, float, float, ew_clip_f32(x, P.f0, P.f1))
EW_UNARY_LOOP(clip_f64, double, double, ew_clip_f64(x, P.d0, P.d1))
EW_UNARY_LOOP(clip_i32, int32_t, int32_t, ew_clip_i32(x, (int32_t)P.i0, (int32_t)P.i1))
EW_UNARY_LOOP(clip_i64, int64_t, int64_t, ew_clip_i64(x, P.i0, P.i1))
EW_TABLE4(clip)

/* Copies by element size (identity, dropout at inference); in place is a no-op. */
static int copy_run(void *o, const void *a, int64_t n, size_t sz)
{
    if (o != a)
        memmove(o, a, (size_t)n * sz);
    return 0;
}
static int copy_1(EW_LOOP_ARGS) { (void)st; (void)prm; return copy_run(o_, in[0], n, 1); }
static int copy_4(EW_LOOP_ARGS) { (void)st; (void)prm; return copy_run(o_, in[0], n, 4); }
static int copy_8(EW_LOOP_ARGS) { (void)st; (void)prm; return copy_run(o_, in[0], n, 8); }
static const ew_loop_fn copy_fns[OP_DT_COUNT] = {
    [OP_F32] = copy_4, [OP_F64] = copy_8, [OP_I32] = copy_4, [OP_I64] = copy_8,
    [OP_BOOL] = copy_1, [OP_U8] = copy_1, [OP_I8] = copy_1,
};

/* where: the selected element is copied bit for bit, so loops go by size. */
#define EW_WHERE_LOOP(NAME, T)                                                    \
    static int NAME(EW_LOOP_ARGS)                                                 \
    {                                                                             \
        T *o = o_;                                                                \
        const uint8_t *c = in[0];                                                 \
        const T *a = in[1], *b = in[2];                                           \
        const int64_t sc = st[0], sa = st[1], sb = st[2];                         \
        (void)prm;                                                                \
        if (sc && sa && sb) {                                                     \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                 \
                const T x = a[i], y = b[i]; /* both loaded: no branch */          \
                o[i] = c[i] ? x : y;                                              \
            }                                                                     \
        } else if (sc && sa) { /* where(mask, g, 0): ReLU's gradient */           \
            const T y = b[0];                                                     \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                 \
                const T x = a[i];                                                 \
                o[i] = c[i] ? x : y;                                              \
            }                                                                     \
        } else if (sc && sb) {                                                    \
            const T x = a[0];                                                     \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                 \
                const T y = b[i];                                                 \
                o[i] = c[i] ? x : y;                                              \
            }                                                                     \
        } else {                                                                  \
            for (int64_t i = 0; i < n; i++) {                                     \
                const T x = a[i * sa], y = b[i * sb]; /* a select, not a jump */  \
                o[i] = c[i * sc] ? x : y;                                         \
            }                                                                     \
        }                                                                         \
        return 0;                                                                 \
    }
EW_WHERE_LOOP(where_1, uint8_t)
EW_WHERE_LOOP(where_4, uint32_t)
EW_WHERE_LOOP(where_8, uint64_t)

/* cast: one loop per (source, target) pair. Values go through the converter
 * of the target for the source's kind: F (float source) or I (integer/bool). */
#define CV_f32_F(x) ((float)(x))
#define CV_f32_I(x) ((float)(x))
#define CV_f64_F(x) ((double)(x))
#define CV_f64_I(x) ((double)(x))
#define CV_i32_F(x) ew_f2i32((double)(x))
#define CV_i32_I(x) ((int32_t)(x))
#define CV_i64_F(x) ew_f2i64((double)(x))
#define CV_i64_I(x) ((int64_t)(x))
#define CV_b_F(x) ((uint8_t)((x) != 0))
#define CV_b_I(x) ((uint8_t)((x) != 0))
#define CV_u8_F(x) ew_f2u8((double)(x))
#define CV_u8_I(x) ((uint8_t)(x))
#define CV_i8_F(x) ew_f2i8((double)(x))
#define CV_i8_I(x) ((int8_t)(x))

/* X(short name, C type, kind, enum) for every dtype, as sources and targets. */
#define EW_SOURCES(X, DN, DT, DE)                                                 \
    X(f32, float, F, OP_F32, DN, DT, DE) X(f64, double, F, OP_F64, DN, DT, DE)   \
    X(i32, int32_t, I, OP_I32, DN, DT, DE) X(i64, int64_t, I, OP_I64, DN, DT, DE) \
    X(b, uint8_t, I, OP_BOOL, DN, DT, DE) X(u8, uint8_t, I, OP_U8, DN, DT, DE)   \
    X(i8, int8_t, I, OP_I8, DN, DT, DE)
#define EW_TARGETS(X)                                                             \
    X(f32, float, OP_F32) X(f64, double, OP_F64) X(i32, int32_t, OP_I32)          \
    X(i64, int64_t, OP_I64) X(b, uint8_t, OP_BOOL) X(u8, uint8_t, OP_U8)          \
    X(i8, int8_t, OP_I8)

#define CAST_LOOP(SN, ST, SK, SE, DN, DT, DE)                                     \
    EW_UNARY_LOOP(cast_##SN##_##DN, ST, DT, CV_##DN##_##SK(x))
#define CAST_ENTRY(SN, ST, SK, SE, DN, DT, DE) [SE][DE] = cast_##SN##_##DN,
#define CAST_LOOPS_TO(DN, DT, DE) EW_SOURCES(CAST_LOOP, DN, DT, DE)
#define CAST_ENTRIES_TO(DN, DT, DE) EW_SOURCES(CAST_ENTRY, DN, DT, DE)

EW_TARGETS(CAST_LOOPS_TO)
static const ew_loop_fn cast_fns[OP_DT_COUNT][OP_DT_COUNT] = { EW_TARGETS(CAST_ENTRIES_TO) };

/* ======================================================================== */
/* Kernels                                                                  */
/* ======================================================================== */

#define EW_BIN(name, fns, out_dt) \
    ew_apply(ctx, name, fns, NULL, in, n_in, 2, out, n_out, out_dt)
#define EW_UN(name, fns, prm) \
    ew_apply(ctx, name, fns, prm, in, n_in, 1, out, n_out, OP_DT_INVALID)

/* Binary arithmetic: a, b of one dtype (f32 f64 i32 i64), NumPy broadcasting
 * to the output shape, out of the same dtype. Integer add/sub/mul wrap. */
OP_KERNEL(op_cpu_add) { return EW_BIN("add", add_fns, OP_DT_INVALID); }
OP_KERNEL(op_cpu_sub) { return EW_BIN("sub", sub_fns, OP_DT_INVALID); }
OP_KERNEL(op_cpu_mul) { return EW_BIN("mul", mul_fns, OP_DT_INVALID); }
/* a / b: IEEE for floats; integers truncate toward zero, and a zero divisor
 * or INT_MIN / -1 anywhere makes the kernel fail. */
OP_KERNEL(op_cpu_div) { return EW_BIN("div", div_fns, OP_DT_INVALID); }
/* a ** b: powf/pow for floats; integers by squaring (wrapping), a negative
 * exponent is an error (as NumPy). */
OP_KERNEL(op_cpu_pow) { return EW_BIN("pow", pow_fns, OP_DT_INVALID); }
/* Elementwise min/max; a nan in either operand gives nan. */
OP_KERNEL(op_cpu_minimum) { return EW_BIN("minimum", minimum_fns, OP_DT_INVALID); }
OP_KERNEL(op_cpu_maximum) { return EW_BIN("maximum", maximum_fns, OP_DT_INVALID); }

/* Comparisons: a, b of one dtype (any of the seven), broadcast, bool out
 * (IEEE: every comparison with nan is false except not_equal). */
OP_KERNEL(op_cpu_equal) { return EW_BIN("equal", equal_fns, OP_BOOL); }
OP_KERNEL(op_cpu_not_equal) { return EW_BIN("not_equal", not_equal_fns, OP_BOOL); }
OP_KERNEL(op_cpu_less) { return EW_BIN("less", less_fns, OP_BOOL); }
OP_KERNEL(op_cpu_less_equal) { return EW_BIN("less_equal", less_equal_fns, OP_BOOL); }
OP_KERNEL(op_cpu_greater) { return EW_BIN("greater", greater_fns, OP_BOOL); }
OP_KERNEL(op_cpu_greater_equal) { return EW_BIN("greater_equal", greater_equal_fns, OP_BOOL); }

/* Logic: bool inputs (non-zero bytes are true), broadcast, bool (0/1) out. */
OP_KERNEL(op_cpu_logical_and) { return EW_BIN("logical_and", logical_and_fns, OP_BOOL); }
OP_KERNEL(op_cpu_logical_or) { return EW_BIN("logical_or", logical_or_fns, OP_BOOL); }
OP_KERNEL(op_cpu_logical_not) { return EW_UN("logical_not", logical_not_fns, NULL); }

/* Unary, f32 f64 i32 i64, same shape and dtype out: -x (integers wrap), |x|
 * (|INT_MIN| = INT_MIN), max(x, 0) (relu(nan) = nan). */
OP_KERNEL(op_cpu_neg) { return EW_UN("neg", neg_fns, NULL); }
OP_KERNEL(op_cpu_abs) { return EW_UN("abs", abs_fns, NULL); }
OP_KERNEL(op_cpu_relu) { return EW_UN("relu", relu_fns, NULL); }

/* Unary, f32/f64 only, C99 libm semantics: exp, log (log 0 = -inf, log of a
 * negative = nan), sqrt, rsqrt = 1/sqrt, reciprocal = 1/x, tanh, erf, and the
 * overflow-free sigmoid of ew_math.h. */
OP_KERNEL(op_cpu_exp) { return EW_UN("exp", exp_fns, NULL); }
OP_KERNEL(op_cpu_log) { return EW_UN("log", log_fns, NULL); }
OP_KERNEL(op_cpu_sqrt) { return EW_UN("sqrt", sqrt_fns, NULL); }
OP_KERNEL(op_cpu_rsqrt) { return EW_UN("rsqrt", rsqrt_fns, NULL); }
OP_KERNEL(op_cpu_reciprocal) { return EW_UN("reciprocal", reciprocal_fns, NULL); }
OP_KERNEL(op_cpu_tanh) { return EW_UN("tanh", tanh_fns, NULL); }
OP_KERNEL(op_cpu_sigmoid) { return EW_UN("sigmoid", sigmoid_fns, NULL); }
OP_KERNEL(op_cpu_erf) { return EW_UN("erf", erf_fns, NULL); }

/* Doubles to float, out-of-range values becoming +-inf (a plain C conversion
 * of an out-of-range double is undefined). */
static float to_f32(double v)
{
    if (v > FLT_MAX)
        return INFINITY;
    if (v < -FLT_MAX)
        return -INFINITY;
    return (float)v;
}

/* leaky_relu(x; alpha = attrs[0].f) = x if x > 0 else alpha * x; f32/f64. */
OP_KERNEL(op_cpu_leaky_relu)
{
    if (check_leaky_attrs(attrs, ctx->err, sizeof ctx->err))
        return -1;
    ew_params p = { .d0 = attrs[0].f, .f0 = to_f32(attrs[0].f) };
    return EW_UN("leaky_relu", leaky_relu_fns, &p);
}

/* gelu(x; approximate = attrs[0].i): 0 = erf form 0.5 x (1 + erf(x/sqrt 2)),
 * 1 = tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); f32/f64.
 * Both are evaluated without cancellation for negative x (see ew_math.h). */
OP_KERNEL(op_cpu_gelu)
{
    if (check_gelu_attrs(attrs, ctx->err, sizeof ctx->err))
        return -1;
    return EW_UN("gelu", attrs[0].i ? gelu_tanh_fns : gelu_erf_fns, NULL);
}

/* Rounds a clip bound inward to an integer of [tmin, tmax] (the bound is not
 * nan): lower bounds round up, upper bounds down, +-inf saturate. */
static int64_t clip_int_bound(double v, int lower, int64_t tmin, int64_t tmax)
{
    double r = lower ? ceil(v) : floor(v);
    if (r <= (double)tmin)
        return tmin;
    if (r >= (double)tmax)
        return tmax;
    return (int64_t)r;
}

/* clip(x; min = attrs[0].f, max = attrs[1].f) = min(max(x, min), max), so
 * min > max gives max and nan stays nan; f32 f64 i32 i64. For f32 the
 * bounds are rounded to f32; for integers they are rounded inward
 * (ceil(min), floor(max)) and saturated to the dtype's range. */
OP_KERNEL(op_cpu_clip)
{
    if (check_clip_attrs(attrs, ctx->err, sizeof ctx->err))
        return -1;
    double lo = attrs[0].f, hi = attrs[1].f;
    ew_params p = { .d0 = lo, .d1 = hi, .f0 = to_f32(lo), .f1 = to_f32(hi) };
    if (n_in >= 1 && in && in[0].dtype == OP_I32) {
        p.i0 = clip_int_bound(lo, 1, INT32_MIN, INT32_MAX);
        p.i1 = clip_int_bound(hi, 0, INT32_MIN, INT32_MAX);
    } else {
        p.i0 = clip_int_bound(lo, 1, INT64_MIN, INT64_MAX);
        p.i1 = clip_int_bound(hi, 0, INT64_MIN, INT64_MAX);
    }
    return EW_UN("clip", clip_fns, &p);
}

/* identity: a copy of x (any dtype); nothing to do when out aliases x. */
OP_KERNEL(op_cpu_identity) { return EW_UN("identity", copy_fns, NULL); }

/* dropout(x; p = attrs[0].f): at inference (ctx->training == 0) a copy of x;
 * training mode (random mask, scale 1/(1-p)) is not implemented and fails. */
OP_KERNEL(op_cpu_dropout)
{
    if (check_dropout_attrs(attrs, ctx->err, sizeof ctx->err))
        return -1;
    if (ctx->training) {
        op_set_err(ctx->err, sizeof ctx->err, "dropout in training mode is not supported yet");
        return -1;
    }
    if (n_in == 1 && in && !op_dtype_is_float(in[0].dtype))
        return ew_unsupported(ctx, "dropout", in[0].dtype);
    return EW_UN("dropout", copy_fns, NULL);
}

/* cast(x; to = attrs[0].i): any of the seven dtypes to any, same shape.
 * float -> integer truncates toward zero, saturates out-of-range values and
 * maps nan to 0; integer -> narrower integer wraps; -> bool is x != 0;
 * -> float rounds to nearest. */
OP_KERNEL(op_cpu_cast)
{
    int64_t n;
    if (ew_check(ctx, "cast", in, n_in, 1, out, n_out, &n))
        return -1;
    if (!attrs || attrs[0].i <= OP_DT_INVALID || attrs[0].i >= OP_DT_COUNT) {
        op_set_err(ctx->err, sizeof ctx->err, "cast: invalid target dtype %lld",
                   attrs ? (long long)attrs[0].i : -1LL);
        return -1;
    }
    op_dtype to = (op_dtype)attrs[0].i;
    if (out->dtype != to) {
        op_set_err(ctx->err, sizeof ctx->err, "cast: output dtype is %s, expected %s",
                   op_dtype_name(out->dtype), op_dtype_name(to));
        return -1;
    }
    if (n == 0)
        return 0;
    ew_loop_fn fn = in[0].dtype == to && to != OP_BOOL ? copy_fns[to] : cast_fns[in[0].dtype][to];
    ew_plan p;
    ew_plan_build(&p, out, in, 1, fn, &ew_no_params);
    return ew_status(ctx, "cast", ew_exec(&p, ctx->n_threads));
}

/* where(cond, a, b) = cond ? a : b elementwise; cond bool (non-zero is
 * true), a and b of one dtype (any), all three broadcast NumPy style. */
OP_KERNEL(op_cpu_where)
{
    int64_t n;
    if (ew_check(ctx, "where", in, n_in, 3, out, n_out, &n))
        return -1;
    if (in[0].dtype != OP_BOOL || in[1].dtype != in[2].dtype || out->dtype != in[1].dtype) {
        op_set_err(ctx->err, sizeof ctx->err,
                   "where: expected bool, T, T -> T, got %s, %s, %s -> %s",
                   op_dtype_name(in[0].dtype), op_dtype_name(in[1].dtype),
                   op_dtype_name(in[2].dtype), op_dtype_name(out->dtype));
        return -1;
    }
    if (n == 0)
        return 0;
    size_t sz = op_dtype_size(in[1].dtype);
    ew_loop_fn fn = sz == 1 ? where_1 : sz == 4 ? where_4 : where_8;
    ew_plan p;
    ew_plan_build(&p, out, in, 3, fn, &ew_no_params);
    return ew_exec(&p, ctx->n_threads) ? -1 : 0;
}
