/* ops/types.c -- dtype names and sizes, symbolic dimensions, shape printing,
 * broadcasting and element counts with overflow checks. Shared by the
 * compiler's inference, the runtime's validator and the kernels. */
#include "op.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const dt_names[OP_DT_COUNT] = {
    [OP_DT_INVALID] = "?", [OP_F32] = "f32", [OP_F64] = "f64", [OP_I32] = "i32",
    [OP_I64] = "i64", [OP_BOOL] = "bool", [OP_U8] = "u8", [OP_I8] = "i8",
};
static const size_t dt_sizes[OP_DT_COUNT] = {
    [OP_F32] = 4, [OP_F64] = 8, [OP_I32] = 4, [OP_I64] = 8, [OP_BOOL] = 1, [OP_U8] = 1, [OP_I8] = 1,
};

const char *op_dtype_name(op_dtype t)
{
    if ((int)t <= 0 || t >= OP_DT_COUNT)
        return "?";
    return dt_names[t];
}

int op_dtype_from_name(const char *name)
{
    for (int t = 1; t < OP_DT_COUNT; t++)
        if (strcmp(dt_names[t], name) == 0)
            return t;
    return -1;
}

size_t op_dtype_size(op_dtype t)
{
    if ((int)t <= 0 || t >= OP_DT_COUNT)
        return 0;
    return dt_sizes[t];
}

int op_dtype_is_float(op_dtype t) { return t == OP_F32 || t == OP_F64; }

void op_set_err(char *err, size_t len, const char *fmt, ...)
{
    if (!err || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

int op_dim_eq(op_dim a, op_dim b)
{
    if (a.sym < 0 && b.sym < 0)
        return a.coef == b.coef;
    return a.sym == b.sym && a.coef == b.coef;
}

int op_dim_is(op_dim a, int64_t v) { return a.sym < 0 && a.coef == v; }

op_dim op_dim_const(int64_t v) { return (op_dim){ v, -1 }; }

static _Thread_local const char *const *cur_sym_names;
static _Thread_local int cur_n_syms;

void op_set_sym_names(const char *const *names, int n)
{
    cur_sym_names = names;
    cur_n_syms = n;
}

static void dim_str(op_dim d, const char *const *syms, char *buf, size_t len)
{
    if (d.sym < 0) {
        snprintf(buf, len, "%lld", (long long)d.coef);
        return;
    }
    char sname[32];
    const char *s = syms ? syms[d.sym]
                  : (cur_sym_names && d.sym < cur_n_syms ? cur_sym_names[d.sym] : NULL);
    if (!s) {
        snprintf(sname, sizeof sname, "s%d", (int)d.sym);
        s = sname;
    }
    if (d.coef == 1)
        snprintf(buf, len, "%s", s);
    else
        snprintf(buf, len, "%lld*%s", (long long)d.coef, s);
}

void op_shape_str(const op_type *t, const char *const *syms, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return;
    buf[0] = 0;
    used += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < t->rank && i < OP_MAX_RANK && used < len; i++) {
        char d[64];
        dim_str(t->dims[i], syms, d, sizeof d);
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", d);
    }
    if (used < len)
        snprintf(buf + used, len - used, "]");
}

void op_type_str(const op_type *t, const char *const *syms, char *buf, size_t len)
{
    char shape[256];
    op_shape_str(t, syms, shape, sizeof shape);
    snprintf(buf, len, "%s%s", op_dtype_name(t->dtype), shape);
}

int op_type_eq(const op_type *a, const op_type *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (!op_dim_eq(a->dims[i], b->dims[i]))
            return 0;
    return 1;
}

int op_type_numel(const op_type *t, op_dim *out)
{
    op_dim acc = { 1, -1 };
    for (int i = 0; i < t->rank; i++) {
        op_dim d = t->dims[i];
        if (d.sym >= 0) {
            if (acc.sym >= 0)
                return -1; /* N * M: not a monomial we track */
            acc.sym = d.sym;
        }
        if (d.coef < 0)
            return -1;
        if (d.coef != 0 && acc.coef > INT64_MAX / d.coef)
            return -1;
        acc.coef *= d.coef;
    }
    *out = acc;
    return 0;
}

int64_t op_dims_numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] != 0 && n > INT64_MAX / dims[i])
            return -1;
        n *= dims[i];
    }
    return n;
}

int64_t op_tensor_numel(const op_tensor *t) { return op_dims_numel(t->rank, t->dims); }

void op_type_from_tensor(const op_tensor *t, op_type *out)
{
    memset(out, 0, sizeof *out);
    out->dtype = t->dtype;
    out->rank = t->rank;
    for (int i = 0; i < t->rank; i++)
        out->dims[i] = op_dim_const(t->dims[i]);
}

int op_type_eval(const op_type *t, const int64_t *sym_values, int n_syms, op_tensor *out)
{
    memset(out, 0, sizeof *out);
    out->dtype = t->dtype;
    out->rank = t->rank;
    if (t->rank < 0 || t->rank > OP_MAX_RANK)
        return -1;
    for (int i = 0; i < t->rank; i++) {
        op_dim d = t->dims[i];
        if (d.coef < 0)
            return -1;
        if (d.sym < 0) {
            out->dims[i] = d.coef;
            continue;
        }
        if (d.sym >= n_syms || !sym_values || sym_values[d.sym] < 0)
            return -1;
        int64_t v = sym_values[d.sym];
        if (v != 0 && d.coef > INT64_MAX / v)
            return -1;
        out->dims[i] = d.coef * v;
    }
    return 0;
}

int op_broadcast(const op_type *a, const op_type *b, op_type *out, char *err, size_t err_len)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    op_type o;
    memset(&o, 0, sizeof o);
    o.dtype = a->dtype;
    o.rank = r;
    for (int i = 0; i < r; i++) {
        int ia = a->rank - r + i, ib = b->rank - r + i;
        op_dim da = ia >= 0 ? a->dims[ia] : op_dim_const(1);
        op_dim db = ib >= 0 ? b->dims[ib] : op_dim_const(1);
        if (op_dim_eq(da, db) || op_dim_is(db, 1))
            o.dims[i] = da;
        else if (op_dim_is(da, 1))
            o.dims[i] = db;
        else {
            char sa[256], sb[256];
            op_shape_str(a, NULL, sa, sizeof sa);
            op_shape_str(b, NULL, sb, sizeof sb);
            op_set_err(err, err_len, "shapes %s and %s cannot be broadcast (dim %d)", sa, sb, i);
            return -1;
        }
    }
    *out = o;
    return 0;
}

int op_axis(int64_t axis, int rank)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return -1;
    return (int)(axis < 0 ? axis + rank : axis);
}
