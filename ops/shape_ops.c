/* ops/shape_ops.c -- shape and data-movement ops: transpose, reshape (whose
 * kernel also serves flatten, squeeze and unsqueeze), expand, concat, split,
 * slice, gather and pad. Inference works on symbolic shapes and validates
 * every attribute (graph files are untrusted); kernels are dtype-generic (they
 * move bytes by element size) and share one strided-copy routine. */
#include "kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define STR_LEN 320
/* Below this many bytes a copy runs on one thread. */
#define PAR_BYTES ((int64_t)1 << 16)
/* Tile edge of the cache-blocked 2-D transpose. */
#define TILE 64

/* ---- messages and validation shared by the inference rules ---- */

static void type_str(const op_type *t, char *buf)
{
    op_type_str(t, NULL, buf, STR_LEN);
}

/* "[1, -1, 3]" from an INTS attribute. */
static void ints_str(const op_attr *a, char *buf)
{
    size_t used = 0;
    int n = a->n < 0 ? 0 : a->n > OP_MAX_INTS ? OP_MAX_INTS : a->n;
    used += (size_t)snprintf(buf, STR_LEN, "[");
    for (int i = 0; i < n && used < STR_LEN; i++)
        used += (size_t)snprintf(buf + used, STR_LEN - used, "%s%lld", i ? ", " : "",
                                 (long long)a->ints[i]);
    if (used < STR_LEN)
        snprintf(buf + used, STR_LEN - used, "]");
}

/* The printed name of symbol `sym` ("N"), as inference messages show it. */
static void sym_str(int32_t sym, char *buf)
{
    op_type t = { OP_F32, 1, { { 1, sym } } };
    char s[STR_LEN];
    op_shape_str(&t, NULL, s, sizeof s);
    size_t n = strlen(s);
    if (n >= 2) {
        s[n - 1] = 0;
        snprintf(buf, STR_LEN, "%s", s + 1);
    } else {
        snprintf(buf, STR_LEN, "%s", s);
    }
}

static int check_arity(const char *op, int n_in, int min_in, int max_in, int n_out,
                       int want_out, char *err, size_t err_len)
{
    if (n_in < min_in || n_in > max_in) {
        op_set_err(err, err_len, "%s: takes %d to %d inputs, got %d", op, min_in, max_in, n_in);
        return -1;
    }
    if (want_out >= 0 && n_out != want_out) {
        op_set_err(err, err_len, "%s: has %d output(s), asked for %d", op, want_out, n_out);
        return -1;
    }
    return 0;
}

/* Valid dtype, rank within bounds, no negative dim. */
static int check_type(const char *op, const op_type *t, char *err, size_t err_len)
{
    if (op_dtype_size(t->dtype) == 0) {
        op_set_err(err, err_len, "%s: input has an invalid dtype (%d)", op, (int)t->dtype);
        return -1;
    }
    if (t->rank < 0 || t->rank > OP_MAX_RANK) {
        op_set_err(err, err_len, "%s: input rank %d is outside 0..%d", op, t->rank, OP_MAX_RANK);
        return -1;
    }
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i].coef < 0) {
            char s[STR_LEN];
            type_str(t, s);
            op_set_err(err, err_len, "%s: input %s has a negative dim", op, s);
            return -1;
        }
    return 0;
}

static int check_ints(const char *op, const char *what, const op_attr *a, char *err, size_t err_len)
{
    if (a->n < 0 || a->n > OP_MAX_INTS) {
        op_set_err(err, err_len, "%s: attribute %s has %d values (at most %d)", op, what, a->n,
                   OP_MAX_INTS);
        return -1;
    }
    return 0;
}

/* Normalises the n axes of attribute a against rank into axes[]; each must be
 * in [-rank, rank) and appear once. */
static int parse_axes(const char *op, const char *what, const op_attr *a, int rank,
                      const op_type *t, int *axes, char *err, size_t err_len)
{
    if (check_ints(op, what, a, err, err_len))
        return -1;
    unsigned seen = 0;
    for (int i = 0; i < a->n; i++) {
        int ax = op_axis(a->ints[i], rank);
        if (ax < 0) {
            char s[STR_LEN];
            type_str(t, s);
            op_set_err(err, err_len, "%s: %s entry %lld is out of range for rank %d (input %s)",
                       op, what, (long long)a->ints[i], rank, s);
            return -1;
        }
        if (seen & (1u << ax)) {
            char s[STR_LEN], v[STR_LEN];
            type_str(t, s);
            ints_str(a, v);
            op_set_err(err, err_len, "%s: %s %s names axis %d twice (input %s)", op, what, v, ax, s);
            return -1;
        }
        seen |= 1u << ax;
        axes[i] = ax;
    }
    return 0;
}

static int mul_ok(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0 || (b != 0 && a > INT64_MAX / b))
        return -1;
    *out = a * b;
    return 0;
}

static op_type type_like(const op_type *x, int rank)
{
    op_type o;
    memset(&o, 0, sizeof o);
    o.dtype = x->dtype;
    o.rank = rank;
    return o;
}

/* ---- kernel-side checks ---- */

/* Checks the tensors a kernel got against its inference rule run on their
 * concrete shapes: every kernel trusts nothing about its caller. */
static int kernel_check(op_ctx *ctx, op_infer_fn infer, const char *op, const op_attr *attrs,
                        const op_tensor *in, int n_in, const op_tensor *out, int n_out)
{
    if (n_in < 1 || n_in > OP_MAX_INPUTS || n_out < 1 || n_out > OP_MAX_OUTPUTS) {
        op_set_err(ctx->err, sizeof ctx->err, "%s: bad tensor counts (%d in, %d out)", op, n_in,
                   n_out);
        return -1;
    }
    op_type ti[OP_MAX_INPUTS], to[OP_MAX_OUTPUTS];
    for (int i = 0; i < n_in; i++) {
        if (in[i].rank < 0 || in[i].rank > OP_MAX_RANK || op_tensor_numel(&in[i]) < 0) {
            op_set_err(ctx->err, sizeof ctx->err, "%s: input %d has a bad shape", op, i);
            return -1;
        }
        if (!in[i].data && op_tensor_numel(&in[i]) > 0) {
            op_set_err(ctx->err, sizeof ctx->err, "%s: input %d has no data", op, i);
            return -1;
        }
        op_type_from_tensor(&in[i], &ti[i]);
    }
    if (infer(attrs, ti, n_in, to, n_out, ctx->err, sizeof ctx->err))
        return -1;
    for (int j = 0; j < n_out; j++) {
        op_type got;
        if (out[j].rank < 0 || out[j].rank > OP_MAX_RANK) {
            op_set_err(ctx->err, sizeof ctx->err, "%s: output %d has rank %d", op, j, out[j].rank);
            return -1;
        }
        op_type_from_tensor(&out[j], &got);
        if (!op_type_eq(&got, &to[j])) {
            char a[STR_LEN], b[STR_LEN];
            type_str(&got, a);
            type_str(&to[j], b);
            op_set_err(ctx->err, sizeof ctx->err, "%s: output %d is %s, expected %s", op, j, a, b);
            return -1;
        }
        if (!out[j].data && op_tensor_numel(&out[j]) > 0) {
            op_set_err(ctx->err, sizeof ctx->err, "%s: output %d has no data", op, j);
            return -1;
        }
    }
    return 0;
}

/* ---- the strided copy every kernel here uses ---- */

/* dst[sum i_k*ds[k]] = src[sum i_k*ss[k]] over the box dims; strides in
 * elements, src strides may be 0 (broadcast) or negative (reversed slice). */
typedef struct copy_plan {
    int rank;
    int64_t dims[OP_MAX_RANK];
    int64_t ds[OP_MAX_RANK];
    int64_t ss[OP_MAX_RANK];
} copy_plan;

static void contiguous_strides(int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* Drops size-1 dims and merges neighbours that are contiguous in both. */
static void plan_simplify(copy_plan *p)
{
    int r = 0;
    for (int i = 0; i < p->rank; i++) {
        int64_t d = p->dims[i];
        if (d == 1)
            continue;
        if (r > 0 && p->ds[r - 1] == p->ds[i] * d && p->ss[r - 1] == p->ss[i] * d) {
            p->dims[r - 1] *= d;
            p->ds[r - 1] = p->ds[i];
            p->ss[r - 1] = p->ss[i];
            continue;
        }
        p->dims[r] = d;
        p->ds[r] = p->ds[i];
        p->ss[r] = p->ss[i];
        r++;
    }
    if (r == 0) {
        p->dims[0] = 1;
        p->ds[0] = p->ss[0] = 1;
        r = 1;
    }
    p->rank = r;
}

/* n elements; steps in bytes. */
static void copy_run(char *dst, int64_t dstep, const char *src, int64_t sstep, int64_t n, size_t esz)
{
    if (dstep == (int64_t)esz && sstep == (int64_t)esz) {
        memcpy(dst, src, (size_t)n * esz);
        return;
    }
    switch (esz) {
    case 1:
        for (int64_t j = 0; j < n; j++)
            dst[j * dstep] = src[j * sstep];
        break;
    case 2:
        for (int64_t j = 0; j < n; j++)
            memcpy(dst + j * dstep, src + j * sstep, 2);
        break;
    case 4:
        for (int64_t j = 0; j < n; j++)
            memcpy(dst + j * dstep, src + j * sstep, 4);
        break;
    case 8:
        for (int64_t j = 0; j < n; j++)
            memcpy(dst + j * dstep, src + j * sstep, 8);
        break;
    default:
        for (int64_t j = 0; j < n; j++)
            memcpy(dst + j * dstep, src + j * sstep, esz);
    }
}

/* Rows row0..row1-1, a row being one run along the last dim. */
static void copy_rows(const copy_plan *p, char *dst, const char *src, size_t esz, int64_t row0,
                      int64_t row1)
{
    int r = p->rank;
    int64_t idx[OP_MAX_RANK] = { 0 };
    int64_t doff = 0, soff = 0, rem = row0;
    for (int k = r - 2; k >= 0; k--) {
        idx[k] = rem % p->dims[k];
        rem /= p->dims[k];
        doff += idx[k] * p->ds[k];
        soff += idx[k] * p->ss[k];
    }
    int64_t n = p->dims[r - 1];
    int64_t dstep = p->ds[r - 1] * (int64_t)esz, sstep = p->ss[r - 1] * (int64_t)esz;
    for (int64_t row = row0; row < row1; row++) {
        copy_run(dst + doff * (int64_t)esz, dstep, src + soff * (int64_t)esz, sstep, n, esz);
        for (int k = r - 2; k >= 0; k--) {
            idx[k]++;
            doff += p->ds[k];
            soff += p->ss[k];
            if (idx[k] < p->dims[k])
                break;
            doff -= p->ds[k] * p->dims[k];
            soff -= p->ss[k] * p->dims[k];
            idx[k] = 0;
        }
    }
}

/* One tile of a transposing copy: dst(i, j) = src(i, j) for i < nr, j < nc,
 * dst contiguous along j (row stride dr), src contiguous along i (column
 * stride sc). Staged through a small buffer so that both sides are read and
 * written in whole cache lines: a direct copy walks one side with a large
 * power-of-two stride, whose lines all fall in one cache set and evict each
 * other. Strides in elements. */
#define DEFINE_TILE_COPY(NAME, SZ)                                                          \
    static void NAME(char *dst, int64_t dr, const char *src, int64_t sc, int64_t nr,        \
                     int64_t nc)                                                            \
    {                                                                                       \
        unsigned char buf[TILE * TILE * SZ];                                                \
        for (int64_t j = 0; j < nc; j++) {                                                  \
            const char *s = src + j * sc * SZ;                                              \
            memcpy(buf + j * TILE * SZ, s, (size_t)nr * SZ);                                \
        }                                                                                   \
        for (int64_t i = 0; i < nr; i++) {                                                  \
            char *d = dst + i * dr * SZ;                                                    \
            for (int64_t j = 0; j < nc; j++)                                                \
                memcpy(d + j * SZ, buf + (j * TILE + i) * SZ, SZ);                          \
        }                                                                                   \
    }
DEFINE_TILE_COPY(tile_copy1, 1)
DEFINE_TILE_COPY(tile_copy2, 2)
DEFINE_TILE_COPY(tile_copy4, 4)
DEFINE_TILE_COPY(tile_copy8, 8)

/* Work item it of the tiled path: batch b (dims 0..r-3) and band tb of
 * TILE rows of dim r-2; copies the band TILE x TILE blocks at a time. */
static void copy_tile_band(const copy_plan *p, char *dst, const char *src, size_t esz, int64_t it)
{
    int r = p->rank;
    int64_t rows = p->dims[r - 2], cols = p->dims[r - 1];
    int64_t bands = (rows + TILE - 1) / TILE;
    int64_t b = it / bands, i0 = (it % bands) * TILE;
    int64_t doff = 0, soff = 0;
    for (int k = r - 3; k >= 0; k--) {
        int64_t ik = b % p->dims[k];
        b /= p->dims[k];
        doff += ik * p->ds[k];
        soff += ik * p->ss[k];
    }
    int64_t nr = rows - i0 < TILE ? rows - i0 : TILE;
    int64_t e = (int64_t)esz, dr = p->ds[r - 2], sc = p->ss[r - 1];
    for (int64_t j0 = 0; j0 < cols; j0 += TILE) {
        int64_t nc = cols - j0 < TILE ? cols - j0 : TILE;
        char *d = dst + (doff + i0 * dr + j0) * e;
        const char *s = src + (soff + i0 + j0 * sc) * e;
        switch (esz) {
        case 1: tile_copy1(d, dr, s, sc, nr, nc); break;
        case 2: tile_copy2(d, dr, s, sc, nr, nc); break;
        case 4: tile_copy4(d, dr, s, sc, nr, nc); break;
        default: tile_copy8(d, dr, s, sc, nr, nc); break;
        }
    }
}

/* Runs the plan (simplifying it first); dst and src point at the elements
 * of index 0. Parallel over rows (or tiles) when the copy is large. */
static void strided_copy(const op_ctx *ctx, copy_plan *p, void *dst, const void *src, size_t esz)
{
    for (int i = 0; i < p->rank; i++)
        if (p->dims[i] == 0)
            return;
    plan_simplify(p);
    int r = p->rank;
    int64_t total = 1;
    for (int i = 0; i < r; i++)
        total *= p->dims[i];
    int nt = total * (int64_t)esz >= PAR_BYTES && ctx->n_threads > 1 ? ctx->n_threads : 1;

    /* Transposed last two dims: dst walks the last dim, src the one before. */
    if (r >= 2 && p->ds[r - 1] == 1 && p->ss[r - 2] == 1 && p->ss[r - 1] != 1 &&
        p->dims[r - 1] >= 8 && p->dims[r - 2] >= 8 &&
        (esz == 1 || esz == 2 || esz == 4 || esz == 8)) {
        int64_t bands = (p->dims[r - 2] + TILE - 1) / TILE;
        int64_t items = total / (p->dims[r - 2] * p->dims[r - 1]) * bands;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t it = 0; it < items; it++)
            copy_tile_band(p, dst, src, esz, it);
        return;
    }

    int64_t rows = total / p->dims[r - 1];
    if (nt <= 1 || rows < 2) {
        copy_rows(p, dst, src, esz, 0, rows);
        return;
    }
    int64_t chunks = rows < 4 * (int64_t)nt ? rows : 4 * (int64_t)nt;
    int64_t q = rows / chunks, rm = rows % chunks;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t r0 = c * q + (c < rm ? c : rm);
        int64_t r1 = r0 + q + (c < rm ? 1 : 0);
        copy_rows(p, dst, src, esz, r0, r1);
    }
}

/* ---- transpose ---- */

static int get_perm(const op_attr *attrs, const op_type *x, int *perm, char *err, size_t err_len)
{
    const op_attr *a = &attrs[0];
    if (check_ints("transpose", "perm", a, err, err_len))
        return -1;
    if (a->n == 0) {
        for (int i = 0; i < x->rank; i++)
            perm[i] = x->rank - 1 - i;
        return 0;
    }
    if (a->n != x->rank) {
        char s[STR_LEN], v[STR_LEN];
        type_str(x, s);
        ints_str(a, v);
        op_set_err(err, err_len, "transpose: perm %s has %d entries but the input %s has rank %d",
                   v, a->n, s, x->rank);
        return -1;
    }
    unsigned seen = 0;
    for (int i = 0; i < a->n; i++) {
        int ax = op_axis(a->ints[i], x->rank);
        if (ax < 0 || (seen & (1u << ax))) {
            char s[STR_LEN], v[STR_LEN];
            type_str(x, s);
            ints_str(a, v);
            op_set_err(err, err_len, "transpose: perm %s is not a permutation of the %d dims of %s",
                       v, x->rank, s);
            return -1;
        }
        seen |= 1u << ax;
        perm[i] = ax;
    }
    return 0;
}

OP_INFER(op_infer_transpose)
{
    if (check_arity("transpose", n_in, 1, 1, n_out, 1, err, err_len) ||
        check_type("transpose", &in[0], err, err_len))
        return -1;
    int perm[OP_MAX_RANK];
    if (get_perm(attrs, &in[0], perm, err, err_len))
        return -1;
    op_type o = type_like(&in[0], in[0].rank);
    for (int i = 0; i < o.rank; i++)
        o.dims[i] = in[0].dims[perm[i]];
    out[0] = o;
    return 0;
}

/* transpose(x; perm): out.dims[i] = x.dims[perm[i]], out[..i..] = x[..perm..];
 * empty perm reverses the dims. Any dtype; large 2-D swaps are cache-tiled. */
OP_KERNEL(op_cpu_transpose)
{
    if (kernel_check(ctx, op_infer_transpose, "transpose", attrs, in, n_in, out, n_out))
        return -1;
    op_type xt;
    op_type_from_tensor(&in[0], &xt);
    int perm[OP_MAX_RANK];
    get_perm(attrs, &xt, perm, ctx->err, sizeof ctx->err);
    int64_t xs[OP_MAX_RANK];
    contiguous_strides(in[0].rank, in[0].dims, xs);
    copy_plan p = { .rank = out[0].rank };
    for (int i = 0; i < p.rank; i++) {
        p.dims[i] = out[0].dims[i];
        p.ss[i] = xs[perm[i]];
    }
    contiguous_strides(p.rank, p.dims, p.ds);
    strided_copy(ctx, &p, out[0].data, in[0].data, op_dtype_size(in[0].dtype));
    return 0;
}

/* ---- reshape, flatten, squeeze, unsqueeze ---- */

OP_INFER(op_infer_reshape)
{
    if (check_arity("reshape", n_in, 1, 1, n_out, 1, err, err_len) ||
        check_type("reshape", &in[0], err, err_len))
        return -1;
    const op_type *x = &in[0];
    const op_attr *a = &attrs[0];
    char xs[STR_LEN], ts[STR_LEN];
    type_str(x, xs);
    ints_str(a, ts);
    if (a->n < 0 || a->n > OP_MAX_RANK) {
        op_set_err(err, err_len, "reshape: target shape %s has %d dims (at most %d)", ts, a->n,
                   OP_MAX_RANK);
        return -1;
    }
    /* Element counts as coefficient times a multiset of symbols. */
    int64_t cin = 1, ct = 1;
    int32_t syms[OP_MAX_RANK];
    int n_syms = 0;
    for (int i = 0; i < x->rank; i++) {
        if (mul_ok(cin, x->dims[i].coef, &cin)) {
            op_set_err(err, err_len, "reshape: element count of %s overflows", xs);
            return -1;
        }
        if (x->dims[i].sym >= 0)
            syms[n_syms++] = x->dims[i].sym;
    }
    op_type o = type_like(x, a->n);
    int neg = -1;
    for (int i = 0; i < a->n; i++) {
        int64_t v = a->ints[i];
        if (v == -1) {
            if (neg >= 0) {
                op_set_err(err, err_len, "reshape: target shape %s has more than one -1", ts);
                return -1;
            }
            neg = i;
            continue;
        }
        if (v < -1) {
            op_set_err(err, err_len, "reshape: target shape %s has a negative dim %lld", ts,
                       (long long)v);
            return -1;
        }
        if (v == 0) {
            if (i >= x->rank) {
                op_set_err(err, err_len,
                           "reshape: target shape %s has 0 (copy the input dim) at position %d "
                           "but the input %s has rank %d", ts, i, xs, x->rank);
                return -1;
            }
            o.dims[i] = x->dims[i];
            if (x->dims[i].sym >= 0) { /* this symbol is accounted for */
                for (int k = 0; k < n_syms; k++)
                    if (syms[k] == x->dims[i].sym) {
                        syms[k] = syms[--n_syms];
                        break;
                    }
            }
        } else {
            o.dims[i] = op_dim_const(v);
        }
        if (mul_ok(ct, o.dims[i].coef, &ct)) {
            op_set_err(err, err_len, "reshape: target shape %s overflows int64", ts);
            return -1;
        }
    }
    if (neg < 0) {
        if (n_syms > 0) {
            char sn[STR_LEN];
            sym_str(syms[0], sn);
            op_set_err(err, err_len, "reshape: cannot reshape %s to %s: %s is only known at run time",
                       xs, ts, sn);
            return -1;
        }
        if (ct != cin) {
            op_set_err(err, err_len, "reshape: cannot reshape %s to %s: %lld elements vs %lld",
                       xs, ts, (long long)cin, (long long)ct);
            return -1;
        }
    } else {
        if (n_syms > 1) {
            op_set_err(err, err_len,
                       "reshape: cannot reshape %s to %s: the -1 would be a product of run-time sizes",
                       xs, ts);
            return -1;
        }
        if (ct == 0) {
            op_set_err(err, err_len,
                       "reshape: cannot reshape %s to %s: -1 is ambiguous when the other dims "
                       "multiply to 0", xs, ts);
            return -1;
        }
        if (cin % ct != 0) {
            if (n_syms) {
                char sn[STR_LEN];
                sym_str(syms[0], sn);
                op_set_err(err, err_len,
                           "reshape: cannot reshape %s to %s: %lld*%s is not a multiple of %lld "
                           "(%s is only known at run time)",
                           xs, ts, (long long)cin, sn, (long long)ct, sn);
            } else {
                op_set_err(err, err_len,
                           "reshape: cannot reshape %s to %s: %lld elements are not a multiple of %lld",
                           xs, ts, (long long)cin, (long long)ct);
            }
            return -1;
        }
        o.dims[neg].coef = cin / ct;
        o.dims[neg].sym = n_syms ? syms[0] : -1;
    }
    out[0] = o;
    return 0;
}

OP_INFER(op_infer_flatten)
{
    if (check_arity("flatten", n_in, 1, 1, n_out, 1, err, err_len) ||
        check_type("flatten", &in[0], err, err_len))
        return -1;
    const op_type *x = &in[0];
    char xs[STR_LEN];
    type_str(x, xs);
    op_type x1 = *x; /* a scalar flattens as [1] */
    if (x1.rank == 0) {
        x1.rank = 1;
        x1.dims[0] = op_dim_const(1);
    }
    int s = op_axis(attrs[0].i, x1.rank), e = op_axis(attrs[1].i, x1.rank);
    if (s < 0 || e < 0 || s > e) {
        op_set_err(err, err_len, "flatten: start_dim %lld .. end_dim %lld is not a range of the dims of %s",
                   (long long)attrs[0].i, (long long)attrs[1].i, xs);
        return -1;
    }
    op_type mid = type_like(x, e - s + 1);
    for (int i = s; i <= e; i++)
        mid.dims[i - s] = x1.dims[i];
    op_dim m;
    if (op_type_numel(&mid, &m)) {
        op_set_err(err, err_len,
                   "flatten: cannot merge dims %d..%d of %s: a product of run-time sizes (or an overflow)",
                   s, e, xs);
        return -1;
    }
    op_type o = type_like(x, x1.rank - (e - s));
    for (int i = 0; i < s; i++)
        o.dims[i] = x1.dims[i];
    o.dims[s] = m;
    for (int i = e + 1; i < x1.rank; i++)
        o.dims[i - (e - s)] = x1.dims[i];
    out[0] = o;
    return 0;
}

OP_INFER(op_infer_squeeze)
{
    if (check_arity("squeeze", n_in, 1, 1, n_out, 1, err, err_len) ||
        check_type("squeeze", &in[0], err, err_len))
        return -1;
    const op_type *x = &in[0];
    int axes[OP_MAX_INTS];
    if (parse_axes("squeeze", "axes", &attrs[0], x->rank, x, axes, err, err_len))
        return -1;
    unsigned drop = 0;
    if (attrs[0].n == 0) {
        for (int i = 0; i < x->rank; i++)
            if (op_dim_is(x->dims[i], 1))
                drop |= 1u << i;
    } else {
        for (int k = 0; k < attrs[0].n; k++) {
            if (!op_dim_is(x->dims[axes[k]], 1)) {
                char s[STR_LEN];
                type_str(x, s);
                op_set_err(err, err_len, "squeeze: dim %d of %s is not 1", axes[k], s);
                return -1;
            }
            drop |= 1u << axes[k];
        }
    }
    op_type o = type_like(x, 0);
    for (int i = 0; i < x->rank; i++)
        if (!(drop & (1u << i)))
            o.dims[o.rank++] = x->dims[i];
    out[0] = o;
    return 0;
}

OP_INFER(op_infer_unsqueeze)
{
    if (check_arity("unsqueeze", n_in, 1, 1, n_out, 1, err, err_len) ||
        check_type("unsqueeze", &in[0], err, err_len) ||
        check_ints("unsqueeze", "axes", &attrs[0], err, err_len))
        return -1;
    const op_type *x = &in[0];
    int r = x->rank + attrs[0].n;
    if (r > OP_MAX_RANK) {
        char s[STR_LEN];
        type_str(x, s);
        op_set_err(err, err_len, "unsqueeze: %s with %d new dims exceeds rank %d", s, attrs[0].n,
                   OP_MAX_RANK);
        return -1;
    }
    int axes[OP_MAX_INTS];
    if (parse_axes("unsqueeze", "axes", &attrs[0], r, x, axes, err, err_len))
        return -1;
    unsigned ins = 0;
    for (int k = 0; k < attrs[0].n; k++)
        ins |= 1u << axes[k];
    op_type o = type_like(x, r);
    for (int i = 0, j = 0; i < r; i++)
        o.dims[i] = (ins & (1u << i)) ? op_dim_const(1) : x->dims[j++];
    out[0] = o;
    return 0;
}

/* reshape / flatten / squeeze / unsqueeze: row-major data is unchanged, so
 * the output is a byte copy of the input (nothing to do when it aliases). */
OP_KERNEL(op_cpu_reshape)
{
    if (n_in < 1 || n_out != 1) {
        op_set_err(ctx->err, sizeof ctx->err, "reshape: bad tensor counts (%d in, %d out)", n_in,
                   n_out);
        return -1;
    }
    if (in[0].rank < 0 || in[0].rank > OP_MAX_RANK || out[0].rank < 0 ||
        out[0].rank > OP_MAX_RANK) {
        op_set_err(ctx->err, sizeof ctx->err, "reshape: bad rank");
        return -1;
    }
    int64_t n = op_tensor_numel(&in[0]), m = op_tensor_numel(&out[0]);
    size_t esz = op_dtype_size(in[0].dtype);
    if (n < 0 || n != m || in[0].dtype != out[0].dtype || esz == 0) {
        char a[STR_LEN], b[STR_LEN];
        op_type ta, tb;
        op_type_from_tensor(&in[0], &ta);
        op_type_from_tensor(&out[0], &tb);
        type_str(&ta, a);
        type_str(&tb, b);
        op_set_err(ctx->err, sizeof ctx->err, "reshape: cannot copy %s into %s", a, b);
        return -1;
    }
    if (n == 0 || out[0].data == in[0].data)
        return 0;
    if (!in[0].data || !out[0].data) {
        op_set_err(ctx->err, sizeof ctx->err, "reshape: missing data");
        return -1;
    }
    copy_plan p = { .rank = 1, .dims = { n }, .ds = { 1 }, .ss = { 1 } };
    strided_copy(ctx, &p, out[0].data, in[0].data, esz);
    return 0;
}

/* ---- expand ---- */

OP_INFER(op_infer_expand)
{
    if (check_arity("expand", n_in, 1, 1, n_out, 1, err, err_len) ||
        check_type("expand", &in[0], err, err_len))
        return -1;
    const op_type *x = &in[0];
    const op_attr *a = &attrs[0];
    char xs[STR_LEN], ts[STR_LEN];
    type_str(x, xs);
    ints_str(a, ts);
    if (a->n < 0 || a->n > OP_MAX_RANK) {
        op_set_err(err, err_len, "expand: shape %s has %d dims (at most %d)", ts, a->n, OP_MAX_RANK);
        return -1;
    }
    op_type t = type_like(x, a->n);
    for (int i = 0; i < a->n; i++) {
        int64_t v = a->ints[i];
        int k = i - (a->n - x->rank);
        if (v == -1) {
            if (k < 0) {
                op_set_err(err, err_len, "expand: -1 at position %d of %s has no input dim in %s", i,
                           ts, xs);
                return -1;
            }
            t.dims[i] = x->dims[k];
        } else if (v < 0) {
            op_set_err(err, err_len, "expand: shape %s has a negative dim", ts);
            return -1;
        } else {
            t.dims[i] = op_dim_const(v);
        }
    }
    char tmp[8];
    if (op_broadcast(x, &t, &out[0], tmp, sizeof tmp)) {
        op_set_err(err, err_len, "expand: cannot broadcast %s to shape %s", xs, ts);
        return -1;
    }
    out[0].dtype = x->dtype;
    return 0;
}

/* expand(x; shape): NumPy broadcast of x and shape (x * ones(shape)), -1 in
 * shape keeping x's dim; broadcast dims are read with stride 0. Any dtype. */
OP_KERNEL(op_cpu_expand)
{
    if (kernel_check(ctx, op_infer_expand, "expand", attrs, in, n_in, out, n_out))
        return -1;
    const op_tensor *x = &in[0];
    int64_t xs[OP_MAX_RANK];
    contiguous_strides(x->rank, x->dims, xs);
    copy_plan p = { .rank = out[0].rank };
    for (int i = 0; i < p.rank; i++) {
        int k = i - (p.rank - x->rank);
        p.dims[i] = out[0].dims[i];
        p.ss[i] = (k < 0 || x->dims[k] == 1) ? 0 : xs[k];
    }
    contiguous_strides(p.rank, p.dims, p.ds);
    strided_copy(ctx, &p, out[0].data, x->data, op_dtype_size(x->dtype));
    return 0;
}

/* ---- concat and split ---- */

OP_INFER(op_infer_concat)
{
    if (check_arity("concat", n_in, 1, OP_MAX_INPUTS, n_out, 1, err, err_len))
        return -1;
    for (int i = 0; i < n_in; i++)
        if (check_type("concat", &in[i], err, err_len))
            return -1;
    const op_type *x = &in[0];
    char s0[STR_LEN], si[STR_LEN];
    type_str(x, s0);
    int ax = op_axis(attrs[0].i, x->rank);
    if (ax < 0) {
        op_set_err(err, err_len, "concat: axis %lld is out of range for %s", (long long)attrs[0].i, s0);
        return -1;
    }
    op_type o = *x;
    for (int i = 1; i < n_in; i++) {
        const op_type *y = &in[i];
        int same = y->dtype == x->dtype && y->rank == x->rank;
        for (int d = 0; same && d < x->rank; d++)
            if (d != ax && !op_dim_eq(x->dims[d], y->dims[d]))
                same = 0;
        if (!same) {
            type_str(y, si);
            op_set_err(err, err_len, "concat: input %d is %s but input 0 is %s (only dim %d may differ)",
                       i, si, s0, ax);
            return -1;
        }
        op_dim a = o.dims[ax], b = y->dims[ax];
        if (op_dim_is(b, 0))
            continue;
        if (op_dim_is(a, 0)) {
            o.dims[ax] = b;
            continue;
        }
        if (a.sym != b.sym) {
            type_str(y, si);
            op_set_err(err, err_len,
                       "concat: cannot join %s and %s along axis %d: their sizes are not the same "
                       "run-time symbol", s0, si, ax);
            return -1;
        }
        if (b.coef > INT64_MAX - a.coef) {
            op_set_err(err, err_len, "concat: size along axis %d overflows", ax);
            return -1;
        }
        o.dims[ax].coef = a.coef + b.coef;
    }
    out[0] = o;
    return 0;
}

/* concat(x0..xk; axis): join along axis; all other dims equal. Any dtype. */
OP_KERNEL(op_cpu_concat)
{
    if (kernel_check(ctx, op_infer_concat, "concat", attrs, in, n_in, out, n_out))
        return -1;
    const op_tensor *y = &out[0];
    int ax = op_axis(attrs[0].i, y->rank);
    size_t esz = op_dtype_size(y->dtype);
    int64_t outer = op_dims_numel(ax, y->dims);
    int64_t inner = op_dims_numel(y->rank - ax - 1, y->dims + ax + 1);
    int64_t off = 0;
    for (int i = 0; i < n_in; i++) {
        int64_t w = in[i].dims[ax] * inner;
        if (w > 0 && outer > 0) {
            copy_plan p = { .rank = 2, .dims = { outer, w }, .ds = { y->dims[ax] * inner, 1 },
                            .ss = { w, 1 } };
            strided_copy(ctx, &p, (char *)y->data + off * (int64_t)esz, in[i].data, esz);
        }
        off += w;
    }
    return 0;
}

OP_INFER(op_infer_split)
{
    if (check_arity("split", n_in, 1, 1, n_out, -1, err, err_len) ||
        check_type("split", &in[0], err, err_len) ||
        check_ints("split", "sizes", &attrs[0], err, err_len))
        return -1;
    const op_type *x = &in[0];
    const op_attr *a = &attrs[0];
    char xs[STR_LEN], ss[STR_LEN];
    type_str(x, xs);
    ints_str(a, ss);
    if (a->n < 1 || a->n > OP_MAX_OUTPUTS || n_out != a->n) {
        op_set_err(err, err_len, "split: sizes %s gives %d outputs (1..%d), asked for %d", ss, a->n,
                   OP_MAX_OUTPUTS, n_out);
        return -1;
    }
    int ax = op_axis(attrs[1].i, x->rank);
    if (ax < 0) {
        op_set_err(err, err_len, "split: axis %lld is out of range for %s", (long long)attrs[1].i, xs);
        return -1;
    }
    if (x->dims[ax].sym >= 0) {
        op_set_err(err, err_len, "split: axis %d of %s has a run-time size; sizes %s cannot match it",
                   ax, xs, ss);
        return -1;
    }
    int64_t sum = 0;
    for (int i = 0; i < a->n; i++) {
        if (a->ints[i] < 0 || a->ints[i] > INT64_MAX - sum) {
            op_set_err(err, err_len, "split: sizes %s must be >= 0 and sum to %lld (axis %d of %s)",
                       ss, (long long)x->dims[ax].coef, ax, xs);
            return -1;
        }
        sum += a->ints[i];
    }
    if (sum != x->dims[ax].coef) {
        op_set_err(err, err_len, "split: sizes %s sum to %lld but axis %d of %s is %lld", ss,
                   (long long)sum, ax, xs, (long long)x->dims[ax].coef);
        return -1;
    }
    for (int i = 0; i < a->n; i++) {
        out[i] = *x;
        out[i].dims[ax] = op_dim_const(a->ints[i]);
    }
    return 0;
}

/* split(x; sizes, axis): output i is the i-th consecutive piece of sizes[i]
 * along axis (sizes sum to the dim). Any dtype. */
OP_KERNEL(op_cpu_split)
{
    if (kernel_check(ctx, op_infer_split, "split", attrs, in, n_in, out, n_out))
        return -1;
    const op_tensor *x = &in[0];
    int ax = op_axis(attrs[1].i, x->rank);
    size_t esz = op_dtype_size(x->dtype);
    int64_t outer = op_dims_numel(ax, x->dims);
    int64_t inner = op_dims_numel(x->rank - ax - 1, x->dims + ax + 1);
    int64_t off = 0;
    for (int i = 0; i < n_out; i++) {
        int64_t w = out[i].dims[ax] * inner;
        if (w > 0 && outer > 0) {
            copy_plan p = { .rank = 2, .dims = { outer, w }, .ds = { w, 1 },
                            .ss = { x->dims[ax] * inner, 1 } };
            strided_copy(ctx, &p, out[i].data, (const char *)x->data + off * (int64_t)esz, esz);
        }
        off += w;
    }
    return 0;
}

/* ---- slice ---- */

/* NumPy's slice normalisation of start:end:step on a dim of size d: first
 * index and element count. */
static void slice_range(int64_t d, int64_t start, int64_t end, int64_t step, int64_t *first,
                        int64_t *len)
{
    if (start < 0)
        start += d;
    if (end < 0)
        end += d;
    if (step > 0) {
        start = start < 0 ? 0 : start > d ? d : start;
        end = end < 0 ? 0 : end > d ? d : end;
        *len = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
        start = start < -1 ? -1 : start > d - 1 ? d - 1 : start;
        end = end < -1 ? -1 : end > d - 1 ? d - 1 : end;
        uint64_t mag = (uint64_t)0 - (uint64_t)step;
        *len = start > end ? (int64_t)((uint64_t)(start - end - 1) / mag + 1) : 0;
    }
    *first = start;
}

/* Per-dim first index, step and length of the slice; validates attributes. */
static int slice_params(const op_attr *attrs, const op_type *x, int64_t *first, int64_t *step,
                        int64_t *len, char *err, size_t err_len)
{
    const op_attr *st = &attrs[0], *en = &attrs[1], *ax = &attrs[2], *sp = &attrs[3];
    char xs[STR_LEN];
    type_str(x, xs);
    if (check_ints("slice", "starts", st, err, err_len) || check_ints("slice", "ends", en, err, err_len) ||
        check_ints("slice", "axes", ax, err, err_len) || check_ints("slice", "steps", sp, err, err_len))
        return -1;
    int n = st->n;
    if (en->n != n || (ax->n != 0 && ax->n != n) || (sp->n != 0 && sp->n != n)) {
        op_set_err(err, err_len,
                   "slice: starts, ends, axes and steps must have the same length (%d, %d, %d, %d)",
                   st->n, en->n, ax->n, sp->n);
        return -1;
    }
    int axes[OP_MAX_INTS];
    if (ax->n == 0) {
        if (n > x->rank) {
            op_set_err(err, err_len, "slice: %d starts for the %d dims of %s", n, x->rank, xs);
            return -1;
        }
        for (int i = 0; i < n; i++)
            axes[i] = i;
    } else if (parse_axes("slice", "axes", ax, x->rank, x, axes, err, err_len)) {
        return -1;
    }
    for (int i = 0; i < x->rank; i++) {
        first[i] = 0;
        step[i] = 1;
        len[i] = x->dims[i].coef;
    }
    for (int k = 0; k < n; k++) {
        int d = axes[k];
        int64_t s = sp->n ? sp->ints[k] : 1;
        if (s == 0) {
            op_set_err(err, err_len, "slice: step 0 on axis %d of %s", d, xs);
            return -1;
        }
        if (x->dims[d].sym >= 0) {
            if (st->ints[k] != 0 || en->ints[k] < INT64_MAX / 2 || s != 1) {
                op_set_err(err, err_len,
                           "slice: axis %d of %s has a run-time size: only the full slice 0:end:1 "
                           "is allowed there (got %lld:%lld:%lld)",
                           d, xs, (long long)st->ints[k], (long long)en->ints[k], (long long)s);
                return -1;
            }
            continue;
        }
        slice_range(x->dims[d].coef, st->ints[k], en->ints[k], s, &first[d], &len[d]);
        step[d] = len[d] > 1 ? s : 1; /* a huge step over <= 1 element stays harmless */
    }
    return 0;
}

OP_INFER(op_infer_slice)
{
    if (check_arity("slice", n_in, 1, 1, n_out, 1, err, err_len) ||
        check_type("slice", &in[0], err, err_len))
        return -1;
    int64_t first[OP_MAX_RANK], step[OP_MAX_RANK], len[OP_MAX_RANK];
    if (slice_params(attrs, &in[0], first, step, len, err, err_len))
        return -1;
    op_type o = in[0];
    for (int i = 0; i < o.rank; i++)
        if (o.dims[i].sym < 0)
            o.dims[i].coef = len[i];
    out[0] = o;
    return 0;
}

/* slice(x; starts, ends, axes, steps): x[start:end:step] on each listed axis
 * with NumPy clamping; negative starts/ends count from the end, negative
 * steps walk backwards (INT64_MIN as end reaches index 0). Any dtype. */
OP_KERNEL(op_cpu_slice)
{
    if (kernel_check(ctx, op_infer_slice, "slice", attrs, in, n_in, out, n_out))
        return -1;
    const op_tensor *x = &in[0];
    op_type xt;
    op_type_from_tensor(x, &xt);
    int64_t first[OP_MAX_RANK], step[OP_MAX_RANK], len[OP_MAX_RANK], xs[OP_MAX_RANK];
    slice_params(attrs, &xt, first, step, len, ctx->err, sizeof ctx->err);
    if (op_tensor_numel(&out[0]) == 0)
        return 0;
    contiguous_strides(x->rank, x->dims, xs);
    copy_plan p = { .rank = x->rank };
    int64_t base = 0;
    for (int i = 0; i < x->rank; i++) {
        p.dims[i] = len[i];
        p.ss[i] = xs[i] * step[i];
        base += first[i] * xs[i];
    }
    contiguous_strides(p.rank, p.dims, p.ds);
    size_t esz = op_dtype_size(x->dtype);
    strided_copy(ctx, &p, out[0].data, (const char *)x->data + base * (int64_t)esz, esz);
    return 0;
}

/* ---- gather ---- */

OP_INFER(op_infer_gather)
{
    if (check_arity("gather", n_in, 2, 2, n_out, 1, err, err_len) ||
        check_type("gather", &in[0], err, err_len) || check_type("gather", &in[1], err, err_len))
        return -1;
    const op_type *x = &in[0], *ix = &in[1];
    char xs[STR_LEN], is[STR_LEN];
    type_str(x, xs);
    type_str(ix, is);
    if (ix->dtype != OP_I32 && ix->dtype != OP_I64) {
        op_set_err(err, err_len, "gather: indices %s must be i32 or i64", is);
        return -1;
    }
    int ax = op_axis(attrs[0].i, x->rank);
    if (ax < 0) {
        op_set_err(err, err_len, "gather: axis %lld is out of range for data %s",
                   (long long)attrs[0].i, xs);
        return -1;
    }
    int r = x->rank - 1 + ix->rank;
    if (r > OP_MAX_RANK) {
        op_set_err(err, err_len, "gather: data %s with indices %s gives rank %d (at most %d)", xs,
                   is, r, OP_MAX_RANK);
        return -1;
    }
    op_type o = type_like(x, r);
    int j = 0;
    for (int i = 0; i < ax; i++)
        o.dims[j++] = x->dims[i];
    for (int i = 0; i < ix->rank; i++)
        o.dims[j++] = ix->dims[i];
    for (int i = ax + 1; i < x->rank; i++)
        o.dims[j++] = x->dims[i];
    out[0] = o;
    return 0;
}

/* gather(data, indices; axis): NumPy take: out[a.., i.., b..] =
 * data[a.., indices[i..], b..]; indices i32/i64, negative counts from the end,
 * out of range is an error (nothing written is relied on). Any data dtype. */
OP_KERNEL(op_cpu_gather)
{
    if (kernel_check(ctx, op_infer_gather, "gather", attrs, in, n_in, out, n_out))
        return -1;
    const op_tensor *x = &in[0], *ix = &in[1];
    int ax = op_axis(attrs[0].i, x->rank);
    int64_t dim = x->dims[ax];
    int64_t n_idx = op_tensor_numel(ix);
    int64_t outer = op_dims_numel(ax, x->dims);
    int64_t inner = op_dims_numel(x->rank - ax - 1, x->dims + ax + 1);
    size_t esz = op_dtype_size(x->dtype);
    int is64 = ix->dtype == OP_I64;
    for (int64_t j = 0; j < n_idx; j++) {
        int64_t v = is64 ? ((const int64_t *)ix->data)[j] : ((const int32_t *)ix->data)[j];
        if (v < -dim || v >= dim) {
            op_set_err(ctx->err, sizeof ctx->err,
                       "gather: index %lld (at position %lld) is out of range for axis %d of size %lld",
                       (long long)v, (long long)j, ax, (long long)dim);
            return -1;
        }
    }
    int64_t chunk = inner * (int64_t)esz, items = outer * n_idx;
    if (items == 0 || chunk == 0)
        return 0;
    int nt = items * chunk >= PAR_BYTES && items > 1 && ctx->n_threads > 1 ? ctx->n_threads : 1;
    const char *src = x->data;
    char *dst = out[0].data;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int64_t it = 0; it < items; it++) {
        int64_t o = it / n_idx, j = it % n_idx;
        int64_t v = is64 ? ((const int64_t *)ix->data)[j] : ((const int32_t *)ix->data)[j];
        if (v < 0)
            v += dim;
        memcpy(dst + it * chunk, src + (o * dim + v) * chunk, (size_t)chunk);
    }
    return 0;
}

/* ---- pad ---- */

/* The pad value as one element of dtype dt; integers must hold it exactly
 * enough: finite and in range (fractions truncate, as cast does). */
static int pad_value(op_dtype dt, double v, unsigned char *buf, char *err, size_t err_len)
{
    int ok = 1;
    switch (dt) {
    case OP_F32: { float f = (float)v; memcpy(buf, &f, 4); break; }
    case OP_F64: memcpy(buf, &v, 8); break;
    case OP_I32:
        ok = v > -2147483649.0 && v < 2147483648.0;
        if (ok) { int32_t i = (int32_t)v; memcpy(buf, &i, 4); }
        break;
    case OP_I64:
        ok = v >= -9223372036854775808.0 && v < 9223372036854775808.0;
        if (ok) { int64_t i = (int64_t)v; memcpy(buf, &i, 8); }
        break;
    case OP_BOOL: buf[0] = v != 0; ok = !isnan(v); break;
    case OP_U8:
        ok = v > -1.0 && v < 256.0;
        if (ok) buf[0] = (unsigned char)v;
        break;
    case OP_I8:
        ok = v > -129.0 && v < 128.0;
        if (ok) { int8_t i = (int8_t)v; memcpy(buf, &i, 1); }
        break;
    default: ok = 0;
    }
    if (!ok) {
        op_set_err(err, err_len, "pad: value %g does not fit dtype %s", v, op_dtype_name(dt));
        return -1;
    }
    return 0;
}

OP_INFER(op_infer_pad)
{
    if (check_arity("pad", n_in, 1, 1, n_out, 1, err, err_len) ||
        check_type("pad", &in[0], err, err_len) || check_ints("pad", "pads", &attrs[0], err, err_len))
        return -1;
    const op_type *x = &in[0];
    const op_attr *a = &attrs[0];
    char xs[STR_LEN], ps[STR_LEN];
    type_str(x, xs);
    ints_str(a, ps);
    if (a->n != 2 * x->rank) {
        op_set_err(err, err_len, "pad: pads %s must have 2 * rank = %d entries for %s", ps,
                   2 * x->rank, xs);
        return -1;
    }
    unsigned char vb[8];
    if (pad_value(x->dtype, attrs[1].f, vb, err, err_len))
        return -1;
    op_type o = *x;
    for (int i = 0; i < x->rank; i++) {
        int64_t b = a->ints[i], e = a->ints[x->rank + i];
        if (b < 0 || e < 0) {
            op_set_err(err, err_len, "pad: pads %s has a negative entry (not supported)", ps);
            return -1;
        }
        if (b == 0 && e == 0)
            continue;
        if (x->dims[i].sym >= 0) {
            op_set_err(err, err_len, "pad: dim %d of %s has a run-time size and cannot be padded", i, xs);
            return -1;
        }
        if (b > INT64_MAX - e || x->dims[i].coef > INT64_MAX - b - e) {
            op_set_err(err, err_len, "pad: padding %s of %s overflows", ps, xs);
            return -1;
        }
        o.dims[i].coef = x->dims[i].coef + b + e;
    }
    int64_t total = 1;
    for (int i = 0; i < o.rank; i++)
        if (mul_ok(total, o.dims[i].coef, &total)) {
            op_set_err(err, err_len, "pad: padding %s of %s overflows", ps, xs);
            return -1;
        }
    out[0] = o;
    return 0;
}

/* pad(x; pads, value): constant padding, pads = [begin_0..begin_{r-1},
 * end_0..end_{r-1}] (ONNX order, all >= 0); the border holds value converted
 * to x's dtype. Any dtype. */
OP_KERNEL(op_cpu_pad)
{
    if (kernel_check(ctx, op_infer_pad, "pad", attrs, in, n_in, out, n_out))
        return -1;
    const op_tensor *x = &in[0];
    op_tensor *y = &out[0];
    size_t esz = op_dtype_size(x->dtype);
    unsigned char vb[8];
    if (pad_value(x->dtype, attrs[1].f, vb, ctx->err, sizeof ctx->err))
        return -1;
    int64_t n = op_tensor_numel(y);
    if (n == 0)
        return 0;
    /* Fill everything with the value, then copy x into the interior. */
    int zero = 1;
    for (size_t k = 0; k < esz; k++)
        zero &= vb[k] == 0;
    char *dst = y->data;
    int nt = n * (int64_t)esz >= PAR_BYTES && ctx->n_threads > 1 ? ctx->n_threads : 1;
    if (zero || esz == 1) {
        memset(dst, vb[0], (size_t)n * esz);
    } else {
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + i * (int64_t)esz, vb, esz);
    }
    int64_t xs[OP_MAX_RANK], ys[OP_MAX_RANK];
    contiguous_strides(x->rank, x->dims, xs);
    contiguous_strides(y->rank, y->dims, ys);
    copy_plan p = { .rank = x->rank };
    int64_t base = 0;
    for (int i = 0; i < x->rank; i++) {
        p.dims[i] = x->dims[i];
        p.ss[i] = xs[i];
        p.ds[i] = ys[i];
        base += attrs[0].ints[i] * ys[i];
    }
    if (op_tensor_numel(x) > 0)
        strided_copy(ctx, &p, dst + base * (int64_t)esz, x->data, esz);
    return 0;
}
