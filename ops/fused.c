/* ops/fused.c -- the fused_elementwise op: a small register program of
 * elementwise f32/f64 ops over NumPy-broadcast inputs, made by the fuse_ew
 * pass. The CPU kernel runs it tile by tile (each instruction one tight
 * vectorised loop over a tile kept in per-thread scratch), so every input is
 * read once and the output written once, whatever the chain's length. A
 * mul, add or sub by a scalar (or a mul then an add/sub) whose result only
 * feeds one unary instruction is not run as a loop of its own: that
 * instruction reads x * m + c from the source register instead (the same two
 * roundings, see "Folding").
 *
 * Program (attributes prog, prog1, prog2, prog3, concatenated; see fused.h):
 * a sequence of instruction words, each followed by its param words.
 * Registers 0..n_in-1 are the node's inputs; instruction i writes register
 * n_in + i and may read only lower registers (so nothing is read unset); the
 * last instruction's register is the output. Opcodes are the op_kinds of
 * add sub mul div pow minimum maximum neg abs exp log sqrt rsqrt reciprocal
 * tanh sigmoid relu leaky_relu(alpha) gelu(variant = approximate) erf
 * clip(min, max) identity. All inputs and the output share one dtype, f32 or
 * f64; the output shape is the broadcast of all inputs.
 *
 * Numerics: every instruction calls the same ew_math.h function as the
 * unfused kernel of its op (with the same f32 rounding of leaky_relu/clip
 * attributes), in the same compiler mode (no FMA contraction, no errno), so
 * the result is bitwise identical to running the ops one by one, for any
 * tile and thread split, folded or not -- except which nan a binary op on
 * two nans returns (x86 keeps one operand's, and the compiler may swap the
 * operands of a commutative op): nan results are nan in both, sign and
 * payload may differ. */
#include "kernels.h"
#include "fused.h"
#include "ew_math.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#define FE_TILE_BYTES 4096   /* one register tile: 1024 f32 or 512 f64 (a tile's
                                buffers and its input stay in the L1 cache) */
#define FE_WS_SLOTS 32       /* thread slots the workspace is sized for at most */
#define FE_PAR_MIN 32768     /* below this many output elements: one thread */
#define FE_NT_MIN_BYTES ((size_t)8 << 20) /* outputs this big are written with streaming stores */

/* ======================================================================== */
/* The program format                                                       */
/* ======================================================================== */

int fe_op_arity(int k)
{
    switch (k) {
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_POW:
    case OP_MINIMUM: case OP_MAXIMUM:
        return 2;
    case OP_NEG: case OP_ABS: case OP_EXP: case OP_LOG: case OP_SQRT: case OP_RSQRT:
    case OP_RECIPROCAL: case OP_TANH: case OP_SIGMOID: case OP_RELU: case OP_LEAKY_RELU:
    case OP_GELU: case OP_ERF: case OP_CLIP: case OP_IDENTITY:
        return 1;
    default:
        return 0;
    }
}

int fe_op_n_params(int k)
{
    return k == OP_LEAKY_RELU ? 1 : k == OP_CLIP ? 2 : 0;
}

static double fe_word_double(int64_t w)
{
    union { double d; int64_t i; } u;
    u.i = w;
    return u.d;
}

int fe_prog_decode(const op_attr *attrs, int n_in, fe_prog *p, char *err, size_t err_len)
{
    int64_t words[FE_MAX_WORDS];
    int nw = 0;
    if (!attrs || !p) {
        op_set_err(err, err_len, "fused_elementwise: no program");
        return -1;
    }
    if (n_in < 1 || n_in > OP_MAX_INPUTS) {
        op_set_err(err, err_len, "fused_elementwise: %d inputs (1 to %d allowed)", n_in, OP_MAX_INPUTS);
        return -1;
    }
    for (int k = 0; k < FE_PROG_ATTRS; k++) {
        if (attrs[k].n < 0 || attrs[k].n > OP_MAX_INTS) {
            op_set_err(err, err_len, "fused_elementwise: program attribute %d has %d ints (0 to %d allowed)",
                       k, attrs[k].n, OP_MAX_INTS);
            return -1;
        }
        for (int j = 0; j < attrs[k].n; j++)
            words[nw++] = attrs[k].ints[j];
    }
    if (nw == 0) {
        op_set_err(err, err_len, "fused_elementwise: empty program");
        return -1;
    }
    memset(p, 0, sizeof *p);
    p->n_in = n_in;
    for (int pos = 0; pos < nw;) {
        int at = pos, i = p->n_instr;
        int64_t w = words[pos++];
        if (w < 0 || w > (int64_t)0xffffffff) {
            op_set_err(err, err_len, "fused_elementwise: word %d (%lld) is not an instruction", at,
                       (long long)w);
            return -1;
        }
        fe_instr *in = &p->ins[i];
        in->op = (int)(w & 0xff);
        in->a = (int)((w >> 8) & 0xff);
        in->b = (int)((w >> 16) & 0xff);
        in->variant = (int)((w >> 24) & 0xff);
        int arity = in->op < OP_COUNT ? fe_op_arity(in->op) : 0;
        if (arity == 0) {
            op_set_err(err, err_len, "fused_elementwise: word %d: opcode %d (%s) cannot be fused", at, in->op,
                       in->op < OP_COUNT ? op_table[in->op].name : "unknown");
            return -1;
        }
        const char *nm = op_table[in->op].name;
        int n_regs = n_in + i;
        if (in->a >= n_regs || (arity == 2 && in->b >= n_regs)) {
            op_set_err(err, err_len,
                       "fused_elementwise: instruction %d (%s) reads register %d, only %d are set",
                       i, nm, in->a >= n_regs ? in->a : in->b, n_regs);
            return -1;
        }
        if (arity == 1 && in->b != 0) {
            op_set_err(err, err_len, "fused_elementwise: instruction %d (%s) is unary but names register %d",
                       i, nm, in->b);
            return -1;
        }
        if (in->op == OP_GELU ? in->variant > 1 : in->variant != 0) {
            op_set_err(err, err_len, "fused_elementwise: instruction %d (%s): invalid variant %d", i, nm,
                       in->variant);
            return -1;
        }
        int np = fe_op_n_params(in->op);
        if (nw - pos < np) {
            op_set_err(err, err_len, "fused_elementwise: instruction %d (%s) lacks %d param word%s", i, nm,
                       np - (nw - pos), np - (nw - pos) == 1 ? "" : "s");
            return -1;
        }
        for (int k = 0; k < np; k++)
            in->p[k] = fe_word_double(words[pos++]);
        if (in->op == OP_LEAKY_RELU && !isfinite(in->p[0])) {
            op_set_err(err, err_len, "fused_elementwise: instruction %d (leaky_relu): alpha %g is not finite", i,
                       in->p[0]);
            return -1;
        }
        if (in->op == OP_CLIP && (isnan(in->p[0]) || isnan(in->p[1]))) {
            op_set_err(err, err_len, "fused_elementwise: instruction %d (clip): a bound is nan", i);
            return -1;
        }
        p->n_instr++;
    }
    return 0;
}

int fe_prog_words(const fe_prog *p)
{
    int n = 0;
    for (int i = 0; i < p->n_instr; i++)
        n += 1 + fe_op_n_params(p->ins[i].op);
    return n;
}

int fe_prog_encode(const fe_prog *p, op_attr *attrs)
{
    int nw = fe_prog_words(p);
    if (nw < 1 || nw > FE_MAX_WORDS || p->n_instr > FE_MAX_INSTR)
        return -1;
    for (int k = 0; k < FE_PROG_ATTRS; k++) {
        memset(&attrs[k], 0, sizeof attrs[k]);
    }
    int pos = 0;
#define FE_PUT(v) (attrs[pos / OP_MAX_INTS].ints[pos % OP_MAX_INTS] = (v), attrs[pos / OP_MAX_INTS].n++, pos++)
    for (int i = 0; i < p->n_instr; i++) {
        const fe_instr *in = &p->ins[i];
        FE_PUT(fe_word(in->op, in->a, in->b, in->variant));
        for (int k = 0; k < fe_op_n_params(in->op); k++)
            FE_PUT(fe_param_word(in->p[k]));
    }
#undef FE_PUT
    return nw;
}

/* ======================================================================== */
/* Inference                                                                */
/* ======================================================================== */

/* Inputs: 1..OP_MAX_INPUTS tensors of one dtype, f32 or f64, broadcasting
 * together; out: that dtype and the broadcast shape. The program is checked
 * completely (fe_prog_decode). */
OP_INFER(op_infer_fused_elementwise)
{
    if (n_out != 1 || !out) {
        op_set_err(err, err_len, "fused_elementwise: expected 1 output, got %d", n_out);
        return -1;
    }
    if (n_in < 1 || n_in > OP_MAX_INPUTS || !in) {
        op_set_err(err, err_len, "fused_elementwise: %d inputs (1 to %d allowed)", n_in, OP_MAX_INPUTS);
        return -1;
    }
    for (int k = 0; k < n_in; k++) {
        if (in[k].rank < 0 || in[k].rank > OP_MAX_RANK) {
            op_set_err(err, err_len, "fused_elementwise: input %d: rank %d out of range 0..%d", k, in[k].rank,
                       OP_MAX_RANK);
            return -1;
        }
        for (int d = 0; d < in[k].rank; d++)
            if (in[k].dims[d].coef < 0) {
                op_set_err(err, err_len, "fused_elementwise: input %d: negative dimension %lld", k,
                           (long long)in[k].dims[d].coef);
                return -1;
            }
        if (in[k].dtype != in[0].dtype || !op_dtype_is_float(in[k].dtype)) {
            char s[320];
            op_type_str(&in[k], NULL, s, sizeof s);
            op_set_err(err, err_len, "fused_elementwise: input %d is %s; all inputs must be f32, or all f64", k, s);
            return -1;
        }
    }
    fe_prog prog;
    if (fe_prog_decode(attrs, n_in, &prog, err, err_len))
        return -1;
    op_type acc = in[0];
    for (int k = 1; k < n_in; k++) {
        op_type nx;
        if (op_broadcast(&acc, &in[k], &nx, err, err_len))
            return -1;
        acc = nx;
    }
    acc.dtype = in[0].dtype;
    out[0] = acc;
    return 0;
}

/* ======================================================================== */
/* The loops, one per (op, dtype)                                           */
/* ======================================================================== */

/* As ops/elementwise.c: the f32 loops are cloned for AVX-512 and AVX2 (the
 * same bits: no FMA contraction in ISO C mode), picked at load time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(EW_NO_CLONES)
#define FE_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FE_CLONES
#endif

/* Binary: mode 0 both vectors, 1 b is the scalar sb, 2 a is the scalar sa.
 * o may be a or b (in place): each element is read before it is written. */
#define FE_BIN_LOOP(ATTR, NAME, T, EXPR)                                              \
    ATTR static void NAME(T *o, const T *a, const T *b, T sa, T sb, int mode, int64_t n) \
    {                                                                                 \
        if (mode == 0) {                                                              \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                     \
                const T x = a[i], y = b[i];                                           \
                o[i] = (EXPR);                                                        \
            }                                                                         \
        } else if (mode == 1) {                                                       \
            const T y = sb;                                                           \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                     \
                const T x = a[i];                                                     \
                o[i] = (EXPR);                                                        \
            }                                                                         \
        } else {                                                                      \
            const T x = sa;                                                           \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                     \
                const T y = b[i];                                                     \
                o[i] = (EXPR);                                                        \
            }                                                                         \
        }                                                                             \
    }

/* Folded operand forms of a unary instruction (see fe_plan_fold). */
enum { FE_PRE_NONE, FE_PRE_MUL, FE_PRE_ADD, FE_PRE_MULADD };

/* Unary: o[i] = EXPR over x = a[i], with params p0, p1; or, by pre, over
 * x = a[i] * pm, a[i] + pc or a[i] * pm + pc (two roundings: ISO C mode does
 * not contract them into an FMA). */
#define FE_UN_BODY(T, X, EXPR)                                                        \
    _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                             \
        const T x = (X);                                                              \
        o[i] = (EXPR);                                                                \
    }
#define FE_UN_LOOP(ATTR, NAME, T, EXPR)                                               \
    ATTR static void NAME(T *o, const T *a, T p0, T p1, int pre, T pm, T pc, int64_t n) \
    {                                                                                 \
        (void)p0;                                                                     \
        (void)p1;                                                                     \
        switch (pre) {                                                                \
        case FE_PRE_MUL: FE_UN_BODY(T, a[i] * pm, EXPR) break;                        \
        case FE_PRE_ADD: FE_UN_BODY(T, a[i] + pc, EXPR) break;                        \
        case FE_PRE_MULADD: FE_UN_BODY(T, a[i] * pm + pc, EXPR) break;                \
        default: FE_UN_BODY(T, a[i], EXPR) break;                                     \
        }                                                                             \
    }

/* X(name, f32 expression, f64 expression) over x, y (binary) or x, p0, p1. */
#define FE_BINARY_OPS(X)                                                              \
    X(add, ew_add_f32(x, y), ew_add_f64(x, y))                                        \
    X(sub, ew_sub_f32(x, y), ew_sub_f64(x, y))                                        \
    X(mul, ew_mul_f32(x, y), ew_mul_f64(x, y))                                        \
    X(div, ew_div_f32(x, y), ew_div_f64(x, y))                                        \
    X(pow, ew_pow_f32(x, y), ew_pow_f64(x, y))                                        \
    X(minimum, ew_minimum_f32(x, y), ew_minimum_f64(x, y))                            \
    X(maximum, ew_maximum_f32(x, y), ew_maximum_f64(x, y))
#define FE_UNARY_OPS(X)                                                               \
    X(neg, ew_neg_f32(x), ew_neg_f64(x))                                              \
    X(abs, ew_abs_f32(x), ew_abs_f64(x))                                              \
    X(exp, ew_exp_f32(x), ew_exp_f64(x))                                              \
    X(log, ew_log_f32(x), ew_log_f64(x))                                              \
    X(sqrt, ew_sqrt_f32(x), ew_sqrt_f64(x))                                           \
    X(rsqrt, ew_rsqrt_f32(x), ew_rsqrt_f64(x))                                        \
    X(reciprocal, ew_reciprocal_f32(x), ew_reciprocal_f64(x))                         \
    X(tanh, ew_tanh_f32(x), ew_tanh_f64(x))                                           \
    X(sigmoid, ew_sigmoid_f32(x), ew_sigmoid_f64(x))                                  \
    X(relu, ew_relu_f32(x), ew_relu_f64(x))                                           \
    X(leaky_relu, ew_leaky_relu_f32(x, p0), ew_leaky_relu_f64(x, p0))                 \
    X(gelu_erf, ew_gelu_erf_f32(x), ew_gelu_erf_f64(x))                               \
    X(gelu_tanh, ew_gelu_tanh_f32(x), ew_gelu_tanh_f64(x))                            \
    X(erf, ew_erf_f32(x), ew_erf_f64(x))                                              \
    X(clip, ew_clip_f32(x, p0, p1), ew_clip_f64(x, p0, p1))                           \
    X(identity, x, x)

#define FE_DEF_BIN(nm, E32, E64)                                                      \
    FE_BIN_LOOP(FE_CLONES, fe_##nm##_f32, float, E32)                                 \
    FE_BIN_LOOP(, fe_##nm##_f64, double, E64)
#define FE_DEF_UN(nm, E32, E64)                                                       \
    FE_UN_LOOP(FE_CLONES, fe_##nm##_f32, float, E32)                                  \
    FE_UN_LOOP(, fe_##nm##_f64, double, E64)
FE_BINARY_OPS(FE_DEF_BIN)
FE_UNARY_OPS(FE_DEF_UN)

/* Maps an instruction to its unary loop name (gelu by variant). */
#define FE_CASE_UN(OPK, nm, SFX) case OPK: fe_##nm##_##SFX(o, a, p0, p1, pre, pm, pc, n); break;

/* Runs one instruction over n elements: o = f(a, b); a/b NULL means the
 * scalar sa/sb (never both). A unary instruction reads its operand in the
 * form pre (FE_PRE_*) with pm, pc. */
static void fe_exec_f32(const fe_instr *in, float *o, const float *a, const float *b, float sa, float sb,
                        float p0, float p1, int pre, float pm, float pc, int64_t n)
{
    int mode = !b ? 1 : !a ? 2 : 0;
    switch (in->op) {
    case OP_ADD: fe_add_f32(o, a, b, sa, sb, mode, n); break;
    case OP_SUB: fe_sub_f32(o, a, b, sa, sb, mode, n); break;
    case OP_MUL: fe_mul_f32(o, a, b, sa, sb, mode, n); break;
    case OP_DIV: fe_div_f32(o, a, b, sa, sb, mode, n); break;
    case OP_POW: fe_pow_f32(o, a, b, sa, sb, mode, n); break;
    case OP_MINIMUM: fe_minimum_f32(o, a, b, sa, sb, mode, n); break;
    case OP_MAXIMUM: fe_maximum_f32(o, a, b, sa, sb, mode, n); break;
    FE_CASE_UN(OP_NEG, neg, f32)
    FE_CASE_UN(OP_ABS, abs, f32)
    FE_CASE_UN(OP_EXP, exp, f32)
    FE_CASE_UN(OP_LOG, log, f32)
    FE_CASE_UN(OP_SQRT, sqrt, f32)
    FE_CASE_UN(OP_RSQRT, rsqrt, f32)
    FE_CASE_UN(OP_RECIPROCAL, reciprocal, f32)
    FE_CASE_UN(OP_TANH, tanh, f32)
    FE_CASE_UN(OP_SIGMOID, sigmoid, f32)
    FE_CASE_UN(OP_RELU, relu, f32)
    FE_CASE_UN(OP_LEAKY_RELU, leaky_relu, f32)
    FE_CASE_UN(OP_ERF, erf, f32)
    FE_CASE_UN(OP_CLIP, clip, f32)
    FE_CASE_UN(OP_IDENTITY, identity, f32)
    case OP_GELU:
        if (in->variant)
            fe_gelu_tanh_f32(o, a, p0, p1, pre, pm, pc, n);
        else
            fe_gelu_erf_f32(o, a, p0, p1, pre, pm, pc, n);
        break;
    default:
        break; /* excluded by fe_prog_decode */
    }
}

static void fe_exec_f64(const fe_instr *in, double *o, const double *a, const double *b, double sa,
                        double sb, double p0, double p1, int pre, double pm, double pc, int64_t n)
{
    int mode = !b ? 1 : !a ? 2 : 0;
    switch (in->op) {
    case OP_ADD: fe_add_f64(o, a, b, sa, sb, mode, n); break;
    case OP_SUB: fe_sub_f64(o, a, b, sa, sb, mode, n); break;
    case OP_MUL: fe_mul_f64(o, a, b, sa, sb, mode, n); break;
    case OP_DIV: fe_div_f64(o, a, b, sa, sb, mode, n); break;
    case OP_POW: fe_pow_f64(o, a, b, sa, sb, mode, n); break;
    case OP_MINIMUM: fe_minimum_f64(o, a, b, sa, sb, mode, n); break;
    case OP_MAXIMUM: fe_maximum_f64(o, a, b, sa, sb, mode, n); break;
    FE_CASE_UN(OP_NEG, neg, f64)
    FE_CASE_UN(OP_ABS, abs, f64)
    FE_CASE_UN(OP_EXP, exp, f64)
    FE_CASE_UN(OP_LOG, log, f64)
    FE_CASE_UN(OP_SQRT, sqrt, f64)
    FE_CASE_UN(OP_RSQRT, rsqrt, f64)
    FE_CASE_UN(OP_RECIPROCAL, reciprocal, f64)
    FE_CASE_UN(OP_TANH, tanh, f64)
    FE_CASE_UN(OP_SIGMOID, sigmoid, f64)
    FE_CASE_UN(OP_RELU, relu, f64)
    FE_CASE_UN(OP_LEAKY_RELU, leaky_relu, f64)
    FE_CASE_UN(OP_ERF, erf, f64)
    FE_CASE_UN(OP_CLIP, clip, f64)
    FE_CASE_UN(OP_IDENTITY, identity, f64)
    case OP_GELU:
        if (in->variant)
            fe_gelu_tanh_f64(o, a, p0, p1, pre, pm, pc, n);
        else
            fe_gelu_erf_f64(o, a, p0, p1, pre, pm, pc, n);
        break;
    default:
        break;
    }
}

/* ======================================================================== */
/* The plan of one call                                                     */
/* ======================================================================== */

enum {
    FE_R_SCALAR = 1, /* one value for every element (known before the tiles) */
    FE_R_DIRECT,     /* an input with the output's layout: read in place */
    FE_R_GATHER,     /* a broadcast input, copied into a tile buffer per tile */
    FE_R_BUF,        /* an instruction result in a tile buffer */
    FE_R_OUT,        /* the last instruction: written into the output */
    FE_R_FOLDED,     /* a result folded into its one reader (never stored) */
};

/* A broadcast input's walk over the output: dims merged where the input is
 * walked as one run, innermost last, element strides (0: broadcast). */
typedef struct fe_walk {
    int rank;
    int64_t dims[OP_MAX_RANK], st[OP_MAX_RANK];
} fe_walk;

typedef struct fe_plan {
    fe_prog prog;
    op_dtype dt;
    size_t esz;
    int n_in, n_regs;
    int64_t total, tile, n_tiles;
    uint8_t kind[FE_MAX_REGS];
    int16_t phys[FE_MAX_REGS];   /* tile buffer of a GATHER/BUF register */
    int16_t last_use[FE_MAX_REGS];
    float sf[FE_MAX_REGS];       /* SCALAR values */
    double sd[FE_MAX_REGS];
    float pf[FE_MAX_INSTR][2];   /* params as the f32 loops take them */
    /* folding: instruction i reads pre_src (x) as x * m + c (FE_PRE_*), m and
     * c from scalar registers pre_m, pre_c (-1: 1 and -0, the identities),
     * negated where pre_neg has bit 0 (m) or bit 1 (c) */
    int8_t pre[FE_MAX_INSTR], pre_neg[FE_MAX_INSTR];
    int16_t pre_src[FE_MAX_INSTR], pre_m[FE_MAX_INSTR], pre_c[FE_MAX_INSTR];
    float pmf[FE_MAX_INSTR], pcf[FE_MAX_INSTR];
    double pmd[FE_MAX_INSTR], pcd[FE_MAX_INSTR];
    int n_phys;
    int out_buf;                 /* >= 0: the last instruction writes this tile buffer,
                                    streamed to the output (no read for ownership) */
    int n_walk;
    int walk_reg[OP_MAX_INPUTS];
    fe_walk walk[OP_MAX_INPUTS];
    const char *base[OP_MAX_INPUTS];
    char *out;
} fe_plan;

/* Doubles to float, out-of-range values becoming +-inf (as elementwise.c
 * rounds leaky_relu and clip attributes for its f32 loops). */
static float fe_to_f32(double v)
{
    if (v > FLT_MAX)
        return INFINITY;
    if (v < -FLT_MAX)
        return -INFINITY;
    return (float)v;
}

/* Checks the tensors (counts, dtypes, out exactly the broadcast shape of the
 * inputs, data present) and decodes the program. */
static int fe_check(const op_attr *attrs, const op_tensor *in, int n_in, const op_tensor *out, int n_out,
                    fe_plan *p, char *err, size_t el)
{
    if (n_in < 1 || n_in > OP_MAX_INPUTS || !in || n_out != 1 || !out) {
        op_set_err(err, el, "fused_elementwise: expected 1 to %d inputs and 1 output, got %d and %d",
                   OP_MAX_INPUTS, n_in, n_out);
        return -1;
    }
    if (!op_dtype_is_float(out->dtype) || out->rank < 0 || out->rank > OP_MAX_RANK) {
        op_set_err(err, el, "fused_elementwise: the output must be f32 or f64 of rank 0..%d", OP_MAX_RANK);
        return -1;
    }
    for (int k = 0; k < n_in; k++)
        if (in[k].dtype != out->dtype || in[k].rank < 0 || in[k].rank > out->rank) {
            op_set_err(err, el, "fused_elementwise: input %d (%s, rank %d) does not fit the output (%s, rank %d)",
                       k, op_dtype_name(in[k].dtype), in[k].rank, op_dtype_name(out->dtype), out->rank);
            return -1;
        }
    for (int d = 0; d < out->rank; d++) {
        int64_t want = 1;
        for (int k = 0; k < n_in; k++) {
            int id = d - (out->rank - in[k].rank);
            int64_t dim = id >= 0 ? in[k].dims[id] : 1;
            if (dim < 0 || (dim != 1 && want != 1 && dim != want)) {
                op_set_err(err, el, "fused_elementwise: inputs do not broadcast (dim %d: %lld vs %lld)", d,
                           (long long)want, (long long)dim);
                return -1;
            }
            if (dim != 1)
                want = dim;
        }
        if (out->dims[d] != want) {
            op_set_err(err, el, "fused_elementwise: output dim %d is %lld, the inputs give %lld", d,
                       (long long)out->dims[d], (long long)want);
            return -1;
        }
    }
    int64_t total = op_dims_numel(out->rank, out->dims);
    if (total < 0) {
        op_set_err(err, el, "fused_elementwise: invalid output size");
        return -1;
    }
    if (fe_prog_decode(attrs, n_in, &p->prog, err, el))
        return -1;
    p->total = total;
    p->dt = out->dtype;
    p->esz = op_dtype_size(out->dtype);
    p->n_in = n_in;
    p->n_regs = n_in + p->prog.n_instr;
    return 0;
}

/* A binary instruction with exactly one scalar operand: 1 with that operand's
 * register in *sc and the other's in *v; else 0. */
static int fe_one_scalar(const fe_plan *p, const fe_instr *x, int *v, int *sc)
{
    if (fe_op_arity(x->op) != 2)
        return 0;
    int sa = p->kind[x->a] == FE_R_SCALAR, sb = p->kind[x->b] == FE_R_SCALAR;
    if (sa == sb)
        return 0;
    *sc = sa ? x->a : x->b;
    *v = sa ? x->b : x->a;
    return 1;
}

/* Folding. A unary instruction i whose operand is the result of one of
 *   mul(v, m)          -> i reads v * m
 *   add(u, c)          -> u + c,          sub(u, c) -> u + (-c),
 *   sub(c, u)          -> u * -1 + c,
 * with m, c scalars, where u may itself be mul(v, m) (-> v * m + c, or v *
 * -m + c under sub(c, u)), each result read by nothing else, reads that form
 * of v and the mul/add/sub become FE_R_FOLDED. The values are the same bits:
 * u - c is u + (-c) in IEEE arithmetic, c - u is (-u) + c, and -(v * m) is
 * v * -m (rounding to nearest is symmetric). Needs only the kinds (shapes). */
static void fe_plan_fold(fe_plan *p)
{
    const int n_in = p->n_in, NI = p->prog.n_instr;
    int uses[FE_MAX_REGS];
    memset(uses, 0, sizeof uses);
    for (int i = 0; i < NI; i++) {
        const fe_instr *x = &p->prog.ins[i];
        p->pre[i] = FE_PRE_NONE;
        p->pmf[i] = p->pcf[i] = 0.0f;
        p->pmd[i] = p->pcd[i] = 0.0;
        if (p->kind[n_in + i] == FE_R_SCALAR)
            continue;
        uses[x->a]++;
        if (fe_op_arity(x->op) == 2)
            uses[x->b]++;
    }
    for (int i = 0; i < NI; i++) {
        const fe_instr *x = &p->prog.ins[i];
        int r = x->a, v, sc, w, s1;
        if (p->kind[n_in + i] == FE_R_SCALAR || fe_op_arity(x->op) != 1 || p->kind[r] != FE_R_BUF ||
            uses[r] != 1)
            continue;
        const fe_instr *y = &p->prog.ins[r - n_in];
        if (!fe_one_scalar(p, y, &v, &sc) || (y->op != OP_MUL && y->op != OP_ADD && y->op != OP_SUB))
            continue;
        int neg_u = y->op == OP_SUB && sc == y->a; /* c - u */
        p->kind[r] = FE_R_FOLDED;
        p->pre_neg[i] = 0;
        p->pre_m[i] = p->pre_c[i] = -1;
        if (y->op == OP_MUL) {
            p->pre[i] = FE_PRE_MUL;
            p->pre_m[i] = (int16_t)sc;
        } else {
            p->pre_c[i] = (int16_t)sc;
            p->pre_neg[i] = (int8_t)(y->op == OP_SUB && !neg_u ? 2 : 0) | (int8_t)neg_u;
            const fe_instr *z = v >= n_in ? &p->prog.ins[v - n_in] : NULL;
            if (z && z->op == OP_MUL && p->kind[v] == FE_R_BUF && uses[v] == 1 && fe_one_scalar(p, z, &w, &s1)) {
                p->kind[v] = FE_R_FOLDED;
                p->pre_m[i] = (int16_t)s1;
                v = w;
                p->pre[i] = FE_PRE_MULADD;
            } else {
                p->pre[i] = neg_u ? FE_PRE_MULADD : FE_PRE_ADD;
            }
        }
        p->pre_src[i] = (int16_t)v;
    }
}

/* The registers instruction i reads (after folding): 1 or 2 in r[]. */
static int fe_reads(const fe_plan *p, int i, int r[2])
{
    const fe_instr *x = &p->prog.ins[i];
    r[0] = p->pre[i] != FE_PRE_NONE ? p->pre_src[i] : x->a;
    if (fe_op_arity(x->op) != 2 || x->b == x->a)
        return 1;
    r[1] = x->b;
    return 2;
}

/* Register kinds, folding, liveness and tile buffers (no data needed: the
 * workspace function runs this too). Buffers are taken at a register's
 * definition and given back after its last use, so an instruction may write
 * over an operand it is the last reader of. */
static void fe_plan_layout(fe_plan *p, const op_tensor *in, const op_tensor *out)
{
    const int n_in = p->n_in, NI = p->prog.n_instr;
    p->tile = FE_TILE_BYTES / (int64_t)p->esz;
    p->n_tiles = (p->total + p->tile - 1) / p->tile;
    for (int k = 0; k < n_in; k++) {
        int64_t ne = op_tensor_numel(&in[k]);
        p->kind[k] = ne == 1 ? FE_R_SCALAR : ne == p->total ? FE_R_DIRECT : FE_R_GATHER;
    }
    for (int i = 0; i < NI; i++) {
        const fe_instr *x = &p->prog.ins[i];
        int sc = p->kind[x->a] == FE_R_SCALAR && (fe_op_arity(x->op) == 1 || p->kind[x->b] == FE_R_SCALAR);
        p->kind[n_in + i] = sc ? FE_R_SCALAR : i == NI - 1 ? FE_R_OUT : FE_R_BUF;
    }
    fe_plan_fold(p);
    for (int r = 0; r < p->n_regs; r++) {
        p->last_use[r] = -1;
        p->phys[r] = -1;
    }
    for (int i = 0; i < NI; i++) {
        int k = p->kind[n_in + i], rd[2];
        if (k == FE_R_SCALAR || k == FE_R_FOLDED)
            continue;
        for (int j = fe_reads(p, i, rd) - 1; j >= 0; j--)
            p->last_use[rd[j]] = (int16_t)i;
    }
    /* buffers: a free list of ids */
    int free_ids[FE_MAX_REGS], n_free = 0, n_phys = 0;
#define FE_TAKE() (n_free ? free_ids[--n_free] : n_phys++)
    p->n_walk = 0;
    for (int k = 0; k < n_in; k++)
        if (p->kind[k] == FE_R_GATHER && p->last_use[k] >= 0) {
            p->phys[k] = (int16_t)FE_TAKE();
            /* the walk of input k over the output, dims merged */
            fe_walk *w = &p->walk[p->n_walk];
            p->walk_reg[p->n_walk++] = k;
            int64_t full[OP_MAX_RANK], stride = 1;
            int R = out->rank;
            for (int d = R - 1; d >= 0; d--) {
                int id = d - (R - in[k].rank);
                int64_t dim = id >= 0 ? in[k].dims[id] : 1;
                full[d] = dim == 1 ? 0 : stride;
                stride *= dim;
            }
            int64_t rd[OP_MAX_RANK], rs[OP_MAX_RANK]; /* innermost first */
            int nr = 0;
            for (int d = R - 1; d >= 0; d--) {
                if (out->dims[d] == 1)
                    continue;
                if (nr > 0 && full[d] == rs[nr - 1] * rd[nr - 1]) {
                    rd[nr - 1] *= out->dims[d];
                } else {
                    rd[nr] = out->dims[d];
                    rs[nr] = full[d];
                    nr++;
                }
            }
            if (nr == 0) {
                rd[0] = 1;
                rs[0] = 0;
                nr = 1;
            }
            w->rank = nr;
            for (int j = 0; j < nr; j++) {
                w->dims[j] = rd[nr - 1 - j];
                w->st[j] = rs[nr - 1 - j];
            }
        }
    for (int i = 0; i < NI; i++) {
        int r = n_in + i, rd[2];
        if (p->kind[r] != FE_R_BUF)
            continue;
        for (int j = fe_reads(p, i, rd) - 1; j >= 0; j--)
            if (p->phys[rd[j]] >= 0 && p->last_use[rd[j]] == i)
                free_ids[n_free++] = p->phys[rd[j]];
        p->phys[r] = (int16_t)FE_TAKE();
        if (p->last_use[r] < 0)
            free_ids[n_free++] = p->phys[r];
    }
#undef FE_TAKE
    /* a big output is written through a tile buffer with streaming stores:
     * it skips reading every output line before writing it (the data would
     * not stay in cache anyway) */
    p->out_buf = -1;
#if defined(__SSE2__)
    if (p->kind[p->n_regs - 1] == FE_R_OUT && (size_t)p->total * p->esz >= FE_NT_MIN_BYTES)
        p->out_buf = n_phys++;
#endif
    p->n_phys = n_phys;
}

/* Bytes of scratch per thread slot. */
static size_t fe_slot_bytes(const fe_plan *p) { return (size_t)p->n_phys * FE_TILE_BYTES; }

/* Scratch for min(FE_WS_SLOTS, tiles) threads, plus 64 bytes to align it. */
OP_WORKSPACE(op_ws_fused_elementwise)
{
    fe_plan p; /* about 15 KiB */
    char err[8];
    if (fe_check(attrs, in, n_in, out, n_out, &p, err, sizeof err) || p.total == 0)
        return 0; /* the kernel reports the error */
    fe_plan_layout(&p, in, out);
    if (p.n_phys == 0)
        return 0;
    int64_t slots = p.n_tiles < FE_WS_SLOTS ? p.n_tiles : FE_WS_SLOTS;
    return (size_t)slots * fe_slot_bytes(&p) + 64;
}

/* Evaluates instruction x on scalars (an instruction whose operands are all
 * scalars) with the same ew_math functions as the loops. */
static double fe_scalar_f64(const fe_instr *x, double a, double b)
{
    double r;
    fe_exec_f64(x, &r, &a, &b, 0, 0, x->p[0], x->p[1], FE_PRE_NONE, 0, 0, 1);
    return r;
}
static float fe_scalar_f32(const fe_instr *x, float a, float b, float p0, float p1)
{
    float r;
    fe_exec_f32(x, &r, &a, &b, 0, 0, p0, p1, FE_PRE_NONE, 0, 0, 1);
    return r;
}

/* Copies the tile [s, s + n) of broadcast input walk w into buf. */
static void fe_gather(const fe_walk *w, const char *base, size_t esz, int64_t s, int64_t n, char *buf)
{
    const int R = w->rank;
    const int64_t inner = w->dims[R - 1], ist = w->st[R - 1];
    int64_t idx[OP_MAX_RANK], off = 0, row = s / inner, col = s % inner;
    for (int d = R - 2; d >= 0; d--) {
        idx[d] = row % w->dims[d];
        row /= w->dims[d];
        off += idx[d] * w->st[d];
    }
    for (int64_t pos = 0; pos < n;) {
        int64_t len = inner - col < n - pos ? inner - col : n - pos;
        char *dst = buf + (size_t)pos * esz;
        if (ist) {
            memcpy(dst, base + (size_t)(off + col) * esz, (size_t)len * esz);
        } else if (esz == 4) {
            float v;
            memcpy(&v, base + (size_t)off * 4, 4);
            float *o = (float *)(void *)dst;
            for (int64_t i = 0; i < len; i++)
                o[i] = v;
        } else {
            double v;
            memcpy(&v, base + (size_t)off * 8, 8);
            double *o = (double *)(void *)dst;
            for (int64_t i = 0; i < len; i++)
                o[i] = v;
        }
        pos += len;
        col = 0;
        for (int d = R - 2; d >= 0; d--) {
            off += w->st[d];
            if (++idx[d] < w->dims[d])
                break;
            off -= w->st[d] * w->dims[d];
            idx[d] = 0;
        }
    }
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__AVX512F__)
#define FE_STREAM_512 1
/* 64-byte streaming stores (a tile's 4 KiB in 64 stores instead of 256 takes
 * a quarter of the store buffer, so it drains while the next tile computes);
 * src is a 64-byte aligned tile buffer. */
__attribute__((target("avx512f"))) static void fe_stream_out512(char *dst, const char *src, size_t bytes)
{
    size_t q = 0;
    for (; q + 64 <= bytes; q += 64)
        _mm512_stream_ps((float *)(void *)(dst + q), _mm512_load_ps((const float *)(const void *)(src + q)));
    memcpy(dst + q, src + q, bytes - q);
}
#endif

/* Copies a tile to the output: streaming stores where both are 16-byte
 * aligned (the kernel checks the output; tiles are multiples of 16 bytes),
 * 64-byte ones where the output is 64-byte aligned and the CPU has AVX-512. */
static void fe_stream_out(char *dst, const void *src, size_t bytes)
{
#if defined(FE_STREAM_512)
    if (((uintptr_t)dst & 63) == 0 && __builtin_cpu_supports("avx512f")) {
        fe_stream_out512(dst, src, bytes);
        return;
    }
#endif
#if defined(__SSE2__)
    if (((uintptr_t)dst & 15) == 0) {
        const __m128 *s = src;
        size_t q = 0;
        for (; q < bytes / 16; q++)
            _mm_stream_ps((float *)(void *)(dst + q * 16), s[q]);
        memcpy(dst + q * 16, (const char *)src + q * 16, bytes - q * 16);
        return;
    }
#endif
    memcpy(dst, src, bytes);
}

/* Runs tiles [t0, t1) with tile buffers at ws (n_phys * FE_TILE_BYTES). */
static void fe_run_tiles(const fe_plan *p, int64_t t0, int64_t t1, char *ws)
{
    const int n_in = p->n_in, NI = p->prog.n_instr;
    const size_t esz = p->esz;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t s = t * p->tile;
        const int64_t n = p->total - s < p->tile ? p->total - s : p->tile;
        for (int j = 0; j < p->n_walk; j++) {
            int k = p->walk_reg[j];
            fe_gather(&p->walk[j], p->base[k], esz, s, n, ws + (size_t)p->phys[k] * FE_TILE_BYTES);
        }
        const void *ptr[FE_MAX_REGS];
        for (int r = 0; r < p->n_regs; r++) {
            switch (p->kind[r]) {
            case FE_R_DIRECT: ptr[r] = p->base[r] + (size_t)s * esz; break;
            case FE_R_GATHER:
            case FE_R_BUF: ptr[r] = p->phys[r] >= 0 ? ws + (size_t)p->phys[r] * FE_TILE_BYTES : NULL; break;
            case FE_R_OUT:
                ptr[r] = p->out_buf >= 0 ? ws + (size_t)p->out_buf * FE_TILE_BYTES : p->out + (size_t)s * esz;
                break;
            default: ptr[r] = NULL; break;
            }
        }
        for (int i = 0; i < NI; i++) {
            const fe_instr *x = &p->prog.ins[i];
            const int r = n_in + i;
            if (p->kind[r] == FE_R_SCALAR || p->kind[r] == FE_R_FOLDED)
                continue;
            const int bin = fe_op_arity(x->op) == 2, pre = p->pre[i];
            const int a = pre != FE_PRE_NONE ? p->pre_src[i] : x->a, b = bin ? x->b : a;
            const int as = p->kind[a] == FE_R_SCALAR, bs = p->kind[b] == FE_R_SCALAR;
            if (p->dt == OP_F32)
                fe_exec_f32(x, (float *)ptr[r], as ? NULL : ptr[a], bs ? NULL : ptr[b], p->sf[a], p->sf[b],
                            p->pf[i][0], p->pf[i][1], pre, p->pmf[i], p->pcf[i], n);
            else
                fe_exec_f64(x, (double *)ptr[r], as ? NULL : ptr[a], bs ? NULL : ptr[b], p->sd[a], p->sd[b],
                            x->p[0], x->p[1], pre, p->pmd[i], p->pcd[i], n);
        }
        const int last = p->n_regs - 1;
        if (p->out_buf >= 0)
            fe_stream_out(p->out + (size_t)s * esz, ptr[last], (size_t)n * esz);
        if (p->kind[last] == FE_R_SCALAR) { /* every input it reads is a scalar */
            if (p->dt == OP_F32)
                for (int64_t i = 0; i < n; i++)
                    ((float *)(void *)p->out)[s + i] = p->sf[last];
            else
                for (int64_t i = 0; i < n; i++)
                    ((double *)(void *)p->out)[s + i] = p->sd[last];
        }
    }
#if defined(__SSE2__)
    if (p->out_buf >= 0)
        _mm_sfence(); /* the streamed lines are visible before the kernel returns */
#endif
}

/* fused_elementwise: out = the program of attributes prog..prog3 over the
 * inputs (one dtype, f32 or f64, NumPy broadcast to out's shape). Runs in
 * tiles of FE_TILE_BYTES, on up to ctx->n_threads threads (as many as the
 * workspace has slots for); results do not depend on the split. */
OP_KERNEL(op_cpu_fused_elementwise)
{
    fe_plan p; /* about 15 KiB */
    if (fe_check(attrs, in, n_in, out, n_out, &p, ctx->err, sizeof ctx->err))
        return -1;
    if (p.total == 0)
        return 0;
    if (!out->data) {
        op_set_err(ctx->err, sizeof ctx->err, "fused_elementwise: output has no data");
        return -1;
    }
    for (int k = 0; k < n_in; k++)
        if (!in[k].data) {
            op_set_err(ctx->err, sizeof ctx->err, "fused_elementwise: input %d has no data", k);
            return -1;
        }
    fe_plan_layout(&p, in, out);
    for (int k = 0; k < n_in; k++) {
        p.base[k] = in[k].data;
        if (p.kind[k] == FE_R_SCALAR) {
            if (p.dt == OP_F32) {
                memcpy(&p.sf[k], in[k].data, 4);
                p.sd[k] = p.sf[k];
            } else {
                memcpy(&p.sd[k], in[k].data, 8);
            }
        }
    }
    p.out = out->data;
    for (int i = 0; i < p.prog.n_instr; i++) {
        const fe_instr *x = &p.prog.ins[i];
        p.pf[i][0] = fe_to_f32(x->p[0]);
        p.pf[i][1] = fe_to_f32(x->p[1]);
        int r = n_in + i, b = fe_op_arity(x->op) == 2 ? x->b : x->a;
        if (p.kind[r] != FE_R_SCALAR)
            continue;
        if (p.dt == OP_F32)
            p.sf[r] = fe_scalar_f32(x, p.sf[x->a], p.sf[b], p.pf[i][0], p.pf[i][1]);
        else
            p.sd[r] = fe_scalar_f64(x, p.sd[x->a], p.sd[b]);
    }
    /* the m and c of folded operands (scalars are all known now) */
    for (int i = 0; i < p.prog.n_instr; i++) {
        if (p.pre[i] == FE_PRE_NONE)
            continue;
        int m = p.pre_m[i], c = p.pre_c[i], neg = p.pre_neg[i];
        if (p.dt == OP_F32) {
            p.pmf[i] = (neg & 1 ? -1.0f : 1.0f) * (m >= 0 ? p.sf[m] : 1.0f);
            p.pcf[i] = neg & 2 ? -p.sf[c] : c >= 0 ? p.sf[c] : -0.0f;
        } else {
            p.pmd[i] = (neg & 1 ? -1.0 : 1.0) * (m >= 0 ? p.sd[m] : 1.0);
            p.pcd[i] = neg & 2 ? -p.sd[c] : c >= 0 ? p.sd[c] : -0.0;
        }
    }
    /* scratch: 64-byte aligned slots of n_phys tile buffers */
    size_t slot = fe_slot_bytes(&p);
    char *ws = NULL;
    int64_t slots = FE_WS_SLOTS;
    if (slot) {
        uintptr_t a0 = (uintptr_t)ctx->workspace, a1 = (a0 + 63) & ~(uintptr_t)63;
        size_t have = ctx->workspace && ctx->workspace_size >= (size_t)(a1 - a0) ? ctx->workspace_size - (a1 - a0) : 0;
        slots = (int64_t)(have / slot);
        if (slots < 1) {
            op_set_err(ctx->err, sizeof ctx->err,
                       "fused_elementwise: workspace of %zu bytes is too small (needs %zu)",
                       ctx->workspace ? ctx->workspace_size : 0, slot + 64);
            return -1;
        }
        ws = (char *)a1;
    }
    int64_t nt = ctx->n_threads < 1 ? 1 : ctx->n_threads;
    if (nt > slots)
        nt = slots;
    if (nt > p.n_tiles)
        nt = p.n_tiles;
    if (p.total < FE_PAR_MIN || nt <= 1) {
        fe_run_tiles(&p, 0, p.n_tiles, ws);
        return 0;
    }
    const fe_plan *pp = &p;
#pragma omp parallel num_threads((int)nt)
    {
        int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
        int64_t per = (pp->n_tiles + T - 1) / T;
        int64_t t0 = t * per, t1 = t0 + per < pp->n_tiles ? t0 + per : pp->n_tiles;
        if (t0 < t1)
            fe_run_tiles(pp, t0, t1, ws ? ws + (size_t)t * slot : NULL);
    }
    return 0;
}
