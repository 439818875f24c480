/* graphc/grad_rules.c -- the gradient rule of every differentiable op, by op
 * kind (gc_grad_rules), composed from table ops with the builder of
 * autodiff.h: broadcast operands get their gradient summed back (sum_to),
 * shapes holding a symbolic dim come from a reference tensor (expand_as,
 * reshape_as); conv, pooling, gather, gelu use ops/grad_kernels.c. */
#include "autodiff.h"
#include "loss.h"

#include <math.h>
#include <string.h>

#define RULE(name) static int name(gc_grad_ctx *c, const gc_node *n, const int *gout, const int *need, int *gin)
#define X0 (n->inputs[0])
#define X1 (n->inputs[1])
#define Y0 (n->outputs[0])
#define GY (gout[0])

static op_dtype dt_of(gc_grad_ctx *c, int v) { return gc_gb_type(c, v)->dtype; }
static int rank_of(gc_grad_ctx *c, int v) { return gc_gb_type(c, v)->rank; }
static int num(gc_grad_ctx *c, int like, double v) { return gc_gb_scalar(c, dt_of(c, like), v); }
static int add(gc_grad_ctx *c, int a, int b) { return gc_gb_binary(c, OP_ADD, a, b); }
static int sub(gc_grad_ctx *c, int a, int b) { return gc_gb_binary(c, OP_SUB, a, b); }
static int mul(gc_grad_ctx *c, int a, int b) { return gc_gb_binary(c, OP_MUL, a, b); }
static int dvd(gc_grad_ctx *c, int a, int b) { return gc_gb_binary(c, OP_DIV, a, b); }
static int neg(gc_grad_ctx *c, int a) { return gc_gb_unary(c, OP_NEG, a); }

/* where(cond, a, b); a or b may be a scalar of the other's dtype. */
static int where(gc_grad_ctx *c, int cond, int a, int b)
{
    if (cond < 0 || a < 0 || b < 0)
        return -1;
    int ins[3] = { cond, a, b };
    return gc_gb_op(c, OP_WHERE, ins, 3, NULL);
}

/* cast(cmp(a, b)) to dtype dt: 1 where the comparison holds, else 0. */
static int mask(gc_grad_ctx *c, op_kind cmp, int a, int b, op_dtype dt)
{
    return gc_gb_cast(c, gc_gb_binary(c, cmp, a, b), dt);
}

/* Copies of a node's attributes. */
static void attrs_of(const gc_node *n, op_attr *a) { memcpy(a, n->attrs, sizeof(op_attr) * OP_MAX_ATTRS); }

/* Fused activations (set by the fuse_gemm pass, which runs after this) have
 * no gradient here. */
static int no_fused_act(gc_grad_ctx *c, const gc_node *n)
{
    int ai = op_attr_index(n->op, "activation");
    if (ai >= 0 && n->attrs[ai].i != 0)
        return gc_gb_fail(c, "a fused activation has no gradient (take gradients before optimization)");
    return 0;
}

/* ------------------------------------------------------------ unary */

RULE(g_neg) { (void)need; gin[0] = neg(c, GY); return gin[0] < 0 ? -1 : 0; }
RULE(g_identity) { (void)c; (void)n; (void)need; gin[0] = GY; return 0; }

RULE(g_abs)
{
    (void)need;
    op_dtype dt = dt_of(c, X0);
    int s = sub(c, mask(c, OP_GREATER, X0, num(c, X0, 0), dt), mask(c, OP_LESS, X0, num(c, X0, 0), dt));
    gin[0] = mul(c, GY, s);
    return gin[0] < 0 ? -1 : 0;
}

RULE(g_exp) { (void)need; gin[0] = mul(c, GY, Y0); return gin[0] < 0 ? -1 : 0; }
RULE(g_log) { (void)need; gin[0] = dvd(c, GY, X0); return gin[0] < 0 ? -1 : 0; }
RULE(g_sqrt) { (void)need; gin[0] = dvd(c, gc_gb_mul_num(c, GY, 0.5), Y0); return gin[0] < 0 ? -1 : 0; }

/* y = x^-1/2: dy/dx = -y / (2x) */
RULE(g_rsqrt) { (void)need; gin[0] = mul(c, gc_gb_mul_num(c, GY, -0.5), dvd(c, Y0, X0)); return gin[0] < 0 ? -1 : 0; }
RULE(g_reciprocal) { (void)need; gin[0] = neg(c, mul(c, GY, mul(c, Y0, Y0))); return gin[0] < 0 ? -1 : 0; }
RULE(g_tanh) { (void)need; gin[0] = mul(c, GY, sub(c, num(c, Y0, 1), mul(c, Y0, Y0))); return gin[0] < 0 ? -1 : 0; }
RULE(g_sigmoid) { (void)need; gin[0] = mul(c, GY, mul(c, Y0, sub(c, num(c, Y0, 1), Y0))); return gin[0] < 0 ? -1 : 0; }

RULE(g_relu)
{
    (void)need;
    gin[0] = where(c, gc_gb_binary(c, OP_GREATER, X0, num(c, X0, 0)), GY, num(c, X0, 0));
    return gin[0] < 0 ? -1 : 0;
}

RULE(g_leaky_relu)
{
    (void)need;
    gin[0] = where(c, gc_gb_binary(c, OP_GREATER, X0, num(c, X0, 0)), GY, gc_gb_mul_num(c, GY, n->attrs[0].f));
    return gin[0] < 0 ? -1 : 0;
}

RULE(g_gelu)
{
    (void)need;
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_GELU_GRAD, a);
    a[0].i = n->attrs[0].i;
    int ins[2] = { X0, GY };
    gin[0] = gc_gb_op(c, OP_GELU_GRAD, ins, 2, a);
    return gin[0] < 0 ? -1 : 0;
}

/* d erf(x) = 2/sqrt(pi) exp(-x^2) */
RULE(g_erf)
{
    (void)need;
    int e = gc_gb_unary(c, OP_EXP, neg(c, mul(c, X0, X0)));
    gin[0] = mul(c, GY, gc_gb_mul_num(c, e, 1.12837916709551257390));
    return gin[0] < 0 ? -1 : 0;
}

/* gradient where min <= x <= max (as PyTorch's clamp) */
RULE(g_clip)
{
    (void)need;
    int lo = gc_gb_binary(c, OP_GREATER_EQUAL, X0, num(c, X0, n->attrs[0].f));
    int hi = gc_gb_binary(c, OP_LESS_EQUAL, X0, num(c, X0, n->attrs[1].f));
    gin[0] = where(c, gc_gb_binary(c, OP_LOGICAL_AND, lo, hi), GY, num(c, X0, 0));
    return gin[0] < 0 ? -1 : 0;
}

/* float -> float: the gradient cast back; to or from other dtypes: none */
RULE(g_cast)
{
    (void)need;
    if (!op_dtype_is_float(dt_of(c, X0)) || !op_dtype_is_float(dt_of(c, Y0)))
        return 0;
    gin[0] = gc_gb_cast(c, GY, dt_of(c, X0));
    return gin[0] < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ binary */

RULE(g_add)
{
    if (need[0] && (gin[0] = gc_gb_sum_to(c, GY, X0)) < 0)
        return -1;
    if (need[1] && (gin[1] = gc_gb_sum_to(c, GY, X1)) < 0)
        return -1;
    return 0;
}

RULE(g_sub)
{
    if (need[0] && (gin[0] = gc_gb_sum_to(c, GY, X0)) < 0)
        return -1;
    if (need[1] && (gin[1] = neg(c, gc_gb_sum_to(c, GY, X1))) < 0)
        return -1;
    return 0;
}

RULE(g_mul)
{
    if (need[0] && (gin[0] = gc_gb_sum_to(c, mul(c, GY, X1), X0)) < 0)
        return -1;
    if (need[1] && (gin[1] = gc_gb_sum_to(c, mul(c, GY, X0), X1)) < 0)
        return -1;
    return 0;
}

/* y = a / b: da = gy / b, db = -gy * y / b */
RULE(g_div)
{
    if (need[0] && (gin[0] = gc_gb_sum_to(c, dvd(c, GY, X1), X0)) < 0)
        return -1;
    if (need[1] && (gin[1] = neg(c, gc_gb_sum_to(c, dvd(c, mul(c, GY, Y0), X1), X1))) < 0)
        return -1;
    return 0;
}

/* y = a^b: da = gy * b * a^(b-1), db = gy * y * log(a) */
RULE(g_pow)
{
    if (need[0]) {
        int p = gc_gb_binary(c, OP_POW, X0, sub(c, X1, num(c, X1, 1)));
        if ((gin[0] = gc_gb_sum_to(c, mul(c, GY, mul(c, X1, p)), X0)) < 0)
            return -1;
    }
    if (need[1]) {
        int l = gc_gb_unary(c, OP_LOG, X0);
        if ((gin[1] = gc_gb_sum_to(c, mul(c, GY, mul(c, Y0, l)), X1)) < 0)
            return -1;
    }
    return 0;
}

/* The gradient goes to the chosen operand; ties split it in half (PyTorch). */
static int minmax(gc_grad_ctx *c, const gc_node *n, const int *gout, const int *need, int *gin, op_kind pick)
{
    op_dtype dt = dt_of(c, Y0);
    int w = add(c, mask(c, pick, X0, X1, dt), gc_gb_mul_num(c, mask(c, OP_EQUAL, X0, X1, dt), 0.5));
    int ga = mul(c, GY, w);
    if (need[0] && (gin[0] = gc_gb_sum_to(c, ga, X0)) < 0)
        return -1;
    if (need[1] && (gin[1] = gc_gb_sum_to(c, sub(c, GY, ga), X1)) < 0)
        return -1;
    return 0;
}
RULE(g_minimum) { return minmax(c, n, gout, need, gin, OP_LESS); }
RULE(g_maximum) { return minmax(c, n, gout, need, gin, OP_GREATER); }

RULE(g_where)
{
    int zero = num(c, Y0, 0);
    if (need[1] && (gin[1] = gc_gb_sum_to(c, where(c, X0, GY, zero), X1)) < 0)
        return -1;
    if (need[2] && (gin[2] = gc_gb_sum_to(c, where(c, X0, zero, GY), n->inputs[2])) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ linear algebra */

static int matmul(gc_grad_ctx *c, int a, int b, int ta, int tb)
{
    if (a < 0 || b < 0)
        return -1;
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_MATMUL, at);
    at[0].i = ta;
    at[1].i = tb;
    int ins[2] = { a, b };
    return gc_gb_op(c, OP_MATMUL, ins, 2, at);
}

/* y = op(a) @ op(b) (+ bias): the four transpose cases, batch dims summed
 * back where an operand was broadcast. */
RULE(g_matmul)
{
    if (no_fused_act(c, n))
        return -1;
    int a = X0, b = X1, ta = (int)n->attrs[0].i, tb = (int)n->attrs[1].i;
    if (need[0]) {
        int ga = !ta ? matmul(c, GY, b, 0, !tb) : tb ? matmul(c, b, GY, 1, 1) : matmul(c, b, GY, 0, 1);
        if ((gin[0] = gc_gb_sum_to(c, ga, a)) < 0)
            return -1;
    }
    if (need[1]) {
        int gb = !tb ? matmul(c, a, GY, !ta, 0) : ta ? matmul(c, GY, a, 1, 1) : matmul(c, GY, a, 1, 0);
        if ((gin[1] = gc_gb_sum_to(c, gb, b)) < 0)
            return -1;
    }
    if (n->n_inputs > 2 && need[2] && (gin[2] = gc_gb_sum_to(c, GY, n->inputs[2])) < 0)
        return -1;
    return 0;
}

RULE(g_transpose)
{
    (void)need;
    op_attr a[OP_MAX_ATTRS];
    attrs_of(n, a);
    int r = rank_of(c, X0);
    if (a[0].n != 0) { /* empty: reversal, its own inverse */
        if (a[0].n != r)
            return gc_gb_fail(c, "perm has %d entries for rank %d", a[0].n, r);
        for (int i = 0; i < r; i++) {
            int p = op_axis(n->attrs[0].ints[i], r);
            if (p < 0)
                return gc_gb_fail(c, "bad perm");
            a[0].ints[p] = i;
        }
    }
    gin[0] = gc_gb_op(c, OP_TRANSPOSE, &GY, 1, a);
    return gin[0] < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ shape */

RULE(g_reshape) { (void)need; gin[0] = gc_gb_reshape_to(c, GY, X0); return gin[0] < 0 ? -1 : 0; }
RULE(g_expand) { (void)need; gin[0] = gc_gb_sum_to(c, GY, X0); return gin[0] < 0 ? -1 : 0; }
RULE(g_sum_to) { (void)need; gin[0] = gc_gb_expand_to(c, GY, X0); return gin[0] < 0 ? -1 : 0; }

/* a slice [start, start + len) of v along axis ax */
static int slice1(gc_grad_ctx *c, int v, int ax, int64_t start, int64_t len)
{
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_SLICE, a);
    a[0].n = a[1].n = a[2].n = 1;
    a[0].ints[0] = start;
    a[1].ints[0] = start + len;
    a[2].ints[0] = ax;
    return gc_gb_op(c, OP_SLICE, &v, 1, a);
}

RULE(g_concat)
{
    int r = rank_of(c, Y0), ax = op_axis(n->attrs[0].i, r);
    if (ax < 0)
        return gc_gb_fail(c, "bad axis");
    int64_t off = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        op_dim d = gc_gb_type(c, n->inputs[i])->dims[ax];
        if (d.sym >= 0)
            return gc_gb_fail(c, "concat along a dimension of run-time size has no gradient");
        if (need[i] && (gin[i] = n->n_inputs == 1 ? GY : slice1(c, GY, ax, off, d.coef)) < 0)
            return -1;
        off += d.coef;
    }
    return 0;
}

RULE(g_split)
{
    (void)need;
    int ins[OP_MAX_OUTPUTS];
    for (int j = 0; j < n->n_outputs; j++)
        if ((ins[j] = gout[j] >= 0 ? gout[j] : gc_gb_fill_like(c, n->outputs[j], 0.0)) < 0)
            return -1;
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_CONCAT, a);
    a[0].i = n->attrs[1].i;
    gin[0] = n->n_outputs == 1 ? ins[0] : gc_gb_op(c, OP_CONCAT, ins, n->n_outputs, a);
    return gin[0] < 0 ? -1 : 0;
}

/* step 1 only: the gradient is gy padded back with zeros */
RULE(g_slice)
{
    (void)need;
    const op_type *tx = gc_gb_type(c, X0), *ty = gc_gb_type(c, Y0);
    int r = tx->rank, k = n->attrs[0].n;
    op_attr p[OP_MAX_ATTRS];
    op_attrs_default(OP_PAD, p);
    p[0].n = 2 * r;
    for (int i = 0; i < 2 * r; i++)
        p[0].ints[i] = 0;
    for (int i = 0; i < k; i++) {
        int ax = n->attrs[2].n ? op_axis(n->attrs[2].ints[i], r) : i;
        int64_t step = n->attrs[3].n ? n->attrs[3].ints[i] : 1;
        if (ax < 0)
            return gc_gb_fail(c, "bad axes");
        if (tx->dims[ax].sym >= 0)
            continue; /* a full slice of a run-time sized dim */
        if (step != 1 && ty->dims[ax].coef > 1)
            return gc_gb_fail(c, "slices with step %lld have no gradient yet (only step 1)", (long long)step);
        int64_t d = tx->dims[ax].coef, s = n->attrs[0].ints[i];
        if (step < 0) { /* one element or none: its position */
            s = s < 0 ? s + d : s;
            s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
        } else {
            s = s < 0 ? s + d : s;
            s = s < 0 ? 0 : s > d ? d : s;
        }
        int64_t len = ty->dims[ax].coef;
        if (len == 0)
            s = 0;
        p[0].ints[ax] = s;
        p[0].ints[r + ax] = d - s - len;
    }
    gin[0] = gc_gb_op(c, OP_PAD, &GY, 1, p);
    return gin[0] < 0 ? -1 : 0;
}

RULE(g_gather)
{
    (void)need;
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_GATHER_GRAD, a);
    a[0].i = n->attrs[0].i;
    int ins[3] = { GY, X1, X0 };
    gin[0] = gc_gb_op(c, OP_GATHER_GRAD, ins, 3, a);
    return gin[0] < 0 ? -1 : 0;
}

RULE(g_pad)
{
    (void)need;
    const op_type *tx = gc_gb_type(c, X0);
    int r = tx->rank, v = GY;
    for (int i = 0; i < r && v >= 0; i++) {
        int64_t b = n->attrs[0].ints[i], e = n->attrs[0].ints[r + i];
        if (b != 0 || e != 0)
            v = slice1(c, v, i, b, tx->dims[i].coef);
    }
    gin[0] = v;
    return v < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ reductions */

/* The reduced axes of a reduction node, normalised and sorted (all when its
 * axes attribute is empty). Returns the count, or -1. */
static int reduced_axes(gc_grad_ctx *c, const op_attr *axes, int r, int *out)
{
    unsigned m = 0;
    if (axes->n == 0)
        m = r ? (1u << r) - 1 : 0;
    for (int i = 0; i < axes->n; i++) {
        int ax = op_axis(axes->ints[i], r);
        if (ax < 0)
            return gc_gb_fail(c, "bad axes");
        m |= 1u << ax;
    }
    int k = 0;
    for (int i = 0; i < r; i++)
        if (m & (1u << i))
            out[k++] = i;
    return k;
}

/* v (the reduced result) with the reduced dims put back as 1s. */
static int keep_dims(gc_grad_ctx *c, int v, int keepdims, const int *axes, int k)
{
    if (v < 0 || keepdims || k == 0 || rank_of(c, v) == 0)
        return v;
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_UNSQUEEZE, a);
    a[0].n = k;
    for (int i = 0; i < k; i++)
        a[0].ints[i] = axes[i];
    return gc_gb_op(c, OP_UNSQUEEZE, &v, 1, a);
}

/* gk (keepdims shape) / the number of elements averaged over axes of x;
 * a symbolic count is measured at run time by summing ones over those dims. */
static int div_count(gc_grad_ctx *c, int gk, int x, const int *axes, int k)
{
    const op_type *tx = gc_gb_type(c, x);
    double cnt = 1;
    int sym_axes[OP_MAX_RANK], n_sym = 0;
    for (int i = 0; i < k; i++) {
        if (tx->dims[axes[i]].sym >= 0)
            sym_axes[n_sym++] = axes[i]; /* coef * N: counted by the ones below */
        else
            cnt *= (double)tx->dims[axes[i]].coef;
    }
    if (n_sym == 0)
        return gc_gb_mul_num(c, gk, cnt > 0 ? 1.0 / cnt : NAN);
    /* ones over x sliced to one element on every concrete dim */
    int small = x;
    for (int i = 0; i < tx->rank && small >= 0; i++)
        if (tx->dims[i].sym < 0 && tx->dims[i].coef > 1)
            small = slice1(c, small, i, 0, 1);
    int ones = gc_gb_fill_like(c, small, 1.0);
    int s = gc_gb_reduce(c, OP_SUM, ones, sym_axes, n_sym, 1);
    return dvd(c, gk, gc_gb_mul_num(c, s, cnt));
}

static int reduce_grad(gc_grad_ctx *c, const gc_node *n, const int *gout, int *gin, int mean)
{
    int axes[OP_MAX_RANK], r = rank_of(c, X0);
    int k = reduced_axes(c, &n->attrs[0], r, axes);
    if (k < 0)
        return -1;
    int gk = keep_dims(c, GY, (int)n->attrs[1].i, axes, k);
    if (mean && k > 0)
        gk = div_count(c, gk, X0, axes, k);
    gin[0] = gc_gb_expand_to(c, gk, X0);
    return gin[0] < 0 ? -1 : 0;
}
RULE(g_sum) { (void)need; return reduce_grad(c, n, gout, gin, 0); }
RULE(g_mean) { (void)need; return reduce_grad(c, n, gout, gin, 1); }

/* The gradient goes to the elements equal to the result, shared by ties. */
RULE(g_maxmin)
{
    (void)need;
    int axes[OP_MAX_RANK], r = rank_of(c, X0);
    int k = reduced_axes(c, &n->attrs[0], r, axes);
    if (k < 0)
        return -1;
    int keep = (int)n->attrs[1].i;
    int yk = keep_dims(c, Y0, keep, axes, k), gk = keep_dims(c, GY, keep, axes, k);
    int m = mask(c, OP_EQUAL, X0, yk, dt_of(c, X0));
    int cnt = k > 0 ? gc_gb_reduce(c, OP_SUM, m, axes, k, 1) : m;
    gin[0] = gc_gb_expand_to(c, mul(c, m, dvd(c, gk, cnt)), X0);
    return gin[0] < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ nn */

RULE(g_softmax)
{
    (void)need;
    int ax = op_axis(n->attrs[0].i, rank_of(c, X0));
    int s = gc_gb_reduce(c, OP_SUM, mul(c, GY, Y0), &ax, 1, 1);
    gin[0] = mul(c, Y0, sub(c, GY, s));
    return gin[0] < 0 ? -1 : 0;
}

RULE(g_log_softmax)
{
    (void)need;
    int ax = op_axis(n->attrs[0].i, rank_of(c, X0));
    int s = gc_gb_reduce(c, OP_SUM, GY, &ax, 1, 1);
    gin[0] = sub(c, GY, mul(c, gc_gb_unary(c, OP_EXP, Y0), s));
    return gin[0] < 0 ? -1 : 0;
}

RULE(g_conv2d)
{
    if (no_fused_act(c, n))
        return -1;
    const op_type *tx = gc_gb_type(c, X0), *tw = gc_gb_type(c, X1);
    op_attr a[OP_MAX_ATTRS];
    if (need[0]) {
        op_attrs_default(OP_CONV2D_BACKWARD_DATA, a);
        for (int i = 0; i < 4; i++)
            a[i] = n->attrs[i];
        a[4].n = 2;
        a[4].ints[0] = tx->dims[2].coef;
        a[4].ints[1] = tx->dims[3].coef;
        int ins[2] = { GY, X1 };
        if ((gin[0] = gc_gb_op(c, OP_CONV2D_BACKWARD_DATA, ins, 2, a)) < 0)
            return -1;
    }
    if (need[1]) {
        op_attrs_default(OP_CONV2D_BACKWARD_FILTER, a);
        for (int i = 0; i < 4; i++)
            a[i] = n->attrs[i];
        a[4].n = 2;
        a[4].ints[0] = tw->dims[2].coef;
        a[4].ints[1] = tw->dims[3].coef;
        int ins[2] = { X0, GY };
        if ((gin[1] = gc_gb_op(c, OP_CONV2D_BACKWARD_FILTER, ins, 2, a)) < 0)
            return -1;
    }
    if (n->n_inputs > 2 && need[2]) {
        int axes[3] = { 0, 2, 3 };
        if ((gin[2] = gc_gb_reduce(c, OP_SUM, GY, axes, 3, 0)) < 0)
            return -1;
    }
    return 0;
}

static int pool_grad(gc_grad_ctx *c, const gc_node *n, int gy, op_kind k)
{
    op_attr a[OP_MAX_ATTRS];
    attrs_of(n, a);
    int ins[2] = { X0, gy };
    return gc_gb_op(c, k, ins, 2, a);
}
RULE(g_max_pool2d) { (void)need; gin[0] = pool_grad(c, n, GY, OP_MAX_POOL2D_GRAD); return gin[0] < 0 ? -1 : 0; }
RULE(g_avg_pool2d) { (void)need; gin[0] = pool_grad(c, n, GY, OP_AVG_POOL2D_GRAD); return gin[0] < 0 ? -1 : 0; }

RULE(g_global_avg_pool)
{
    (void)need;
    int axes[OP_MAX_RANK], r = rank_of(c, X0), k = 0;
    for (int i = 2; i < r; i++)
        axes[k++] = i;
    gin[0] = gc_gb_expand_to(c, div_count(c, GY, X0, axes, k), X0);
    return gin[0] < 0 ? -1 : 0;
}

/* A per-channel vector [C] shaped to broadcast against x [N, C, ...]. */
static int per_channel(gc_grad_ctx *c, int v, int x_rank)
{
    if (v < 0 || x_rank <= 2)
        return v;
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_UNSQUEEZE, a);
    a[0].n = x_rank - 2;
    for (int i = 0; i < x_rank - 2; i++)
        a[0].ints[i] = i + 1;
    return gc_gb_op(c, OP_UNSQUEEZE, &v, 1, a);
}

/* y = (x - mean) * inv * scale + bias, inv = 1 / sqrt(var + eps), per channel */
RULE(g_batch_norm)
{
    int x = X0, scale = X1, mean = n->inputs[3], var = n->inputs[4], r = rank_of(c, x);
    int red[OP_MAX_RANK], k = 0;
    for (int i = 0; i < r; i++)
        if (i != 1)
            red[k++] = i;
    int inv = gc_gb_unary(c, OP_RSQRT, add(c, var, num(c, var, n->attrs[0].f)));
    int a = mul(c, scale, inv);
    if (need[0] && (gin[0] = mul(c, GY, per_channel(c, a, r))) < 0)
        return -1;
    int gsum = (need[2] || need[3]) ? gc_gb_reduce(c, OP_SUM, GY, red, k, 0) : -1;
    if (need[2] && (gin[2] = gsum) < 0)
        return -1;
    if (need[3] && (gin[3] = neg(c, mul(c, gsum, a))) < 0)
        return -1;
    if (need[1] || need[4]) {
        int xc = sub(c, x, per_channel(c, mean, r));
        int gxc = gc_gb_reduce(c, OP_SUM, mul(c, GY, xc), red, k, 0);
        if (need[1] && (gin[1] = mul(c, gxc, inv)) < 0)
            return -1;
        if (need[4]) {
            int inv3 = mul(c, inv, mul(c, inv, inv));
            if ((gin[4] = mul(c, gxc, mul(c, scale, gc_gb_mul_num(c, inv3, -0.5)))) < 0)
                return -1;
        }
    }
    return 0;
}

/* xhat = (x - mu) * rstd over dims axis..; y = xhat * scale + bias */
RULE(g_layer_norm)
{
    int x = X0, r = rank_of(c, x), ax = op_axis(n->attrs[0].i, r);
    if (ax < 0)
        return gc_gb_fail(c, "bad axis");
    int dax[OP_MAX_RANK], lax[OP_MAX_RANK], nd = 0, nl = 0;
    for (int i = 0; i < r; i++) {
        if (i >= ax)
            dax[nd++] = i;
        else
            lax[nl++] = i;
    }
    int mu = gc_gb_reduce(c, OP_MEAN, x, dax, nd, 1);
    int xc = sub(c, x, mu);
    int var = gc_gb_reduce(c, OP_MEAN, mul(c, xc, xc), dax, nd, 1);
    int rstd = gc_gb_unary(c, OP_RSQRT, add(c, var, num(c, x, n->attrs[1].f)));
    int xhat = mul(c, xc, rstd);
    if (need[0]) {
        int gh = n->n_inputs > 1 ? mul(c, GY, X1) : GY;
        int m1 = gc_gb_reduce(c, OP_MEAN, gh, dax, nd, 1);
        int m2 = gc_gb_reduce(c, OP_MEAN, mul(c, gh, xhat), dax, nd, 1);
        if ((gin[0] = mul(c, rstd, sub(c, sub(c, gh, m1), mul(c, xhat, m2)))) < 0)
            return -1;
    }
    if (n->n_inputs > 1 && need[1]) {
        int p = mul(c, GY, xhat);
        if ((gin[1] = nl ? gc_gb_reduce(c, OP_SUM, p, lax, nl, 0) : p) < 0)
            return -1;
    }
    if (n->n_inputs > 2 && need[2] && (gin[2] = nl ? gc_gb_reduce(c, OP_SUM, GY, lax, nl, 0) : GY) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ losses */

/* The gradient of a loss per element of x: gy as it is for reduction "none"
 * (x's shape) and "sum" (a scalar, broadcast by the caller's mul), divided
 * by x's element count for "mean" (counted at run time when symbolic). */
static int loss_scale(gc_grad_ctx *c, const gc_node *n, int gy, int x)
{
    int r = rank_of(c, x), axes[OP_MAX_RANK];
    if (n->attrs[0].i != OP_LOSS_MEAN || r == 0)
        return gy;
    for (int i = 0; i < r; i++)
        axes[i] = i;
    return div_count(c, gy, x, axes, r);
}

/* logits only (labels are indices): (softmax - onehot) * gy, one kernel */
RULE(g_softmax_cross_entropy)
{
    if (!need[0])
        return 0;
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_SOFTMAX_CROSS_ENTROPY_GRAD, a);
    a[0].i = n->attrs[0].i;
    int ins[3] = { X0, X1, GY };
    gin[0] = gc_gb_op(c, OP_SOFTMAX_CROSS_ENTROPY_GRAD, ins, 3, a);
    return gin[0] < 0 ? -1 : 0;
}

/* l = max(x, 0) - x t + log(1 + e^-|x|): dl/dx = sigmoid(x) - t, dl/dt = -x */
RULE(g_bce_with_logits)
{
    int gs = loss_scale(c, n, GY, X0);
    if (need[0] && (gin[0] = mul(c, sub(c, gc_gb_unary(c, OP_SIGMOID, X0), X1), gs)) < 0)
        return -1;
    if (need[1] && (gin[1] = neg(c, mul(c, X0, gs))) < 0)
        return -1;
    return 0;
}

/* l = (a - b)^2: dl/da = 2 (a - b) = -dl/db */
RULE(g_mse_loss)
{
    int g = gc_gb_mul_num(c, mul(c, sub(c, X0, X1), loss_scale(c, n, GY, X0)), 2.0);
    if (need[0] && (gin[0] = g) < 0)
        return -1;
    if (need[1] && (gin[1] = neg(c, g)) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ the table */

const gc_grad_fn gc_grad_rules[OP_COUNT] = {
    [OP_ADD] = g_add, [OP_SUB] = g_sub, [OP_MUL] = g_mul, [OP_DIV] = g_div, [OP_POW] = g_pow,
    [OP_MINIMUM] = g_minimum, [OP_MAXIMUM] = g_maximum,
    [OP_NEG] = g_neg, [OP_ABS] = g_abs, [OP_EXP] = g_exp, [OP_LOG] = g_log, [OP_SQRT] = g_sqrt,
    [OP_RSQRT] = g_rsqrt, [OP_RECIPROCAL] = g_reciprocal, [OP_TANH] = g_tanh, [OP_SIGMOID] = g_sigmoid,
    [OP_RELU] = g_relu, [OP_LEAKY_RELU] = g_leaky_relu, [OP_GELU] = g_gelu, [OP_ERF] = g_erf,
    [OP_CLIP] = g_clip, [OP_CAST] = g_cast, [OP_IDENTITY] = g_identity, [OP_WHERE] = g_where,
    [OP_MATMUL] = g_matmul, [OP_TRANSPOSE] = g_transpose,
    [OP_RESHAPE] = g_reshape, [OP_FLATTEN] = g_reshape, [OP_SQUEEZE] = g_reshape, [OP_UNSQUEEZE] = g_reshape,
    [OP_EXPAND] = g_expand, [OP_CONCAT] = g_concat, [OP_SPLIT] = g_split, [OP_SLICE] = g_slice,
    [OP_GATHER] = g_gather, [OP_PAD] = g_pad,
    [OP_SUM] = g_sum, [OP_MEAN] = g_mean, [OP_MAX] = g_maxmin, [OP_MIN] = g_maxmin,
    [OP_SOFTMAX] = g_softmax, [OP_LOG_SOFTMAX] = g_log_softmax, [OP_CONV2D] = g_conv2d,
    [OP_MAX_POOL2D] = g_max_pool2d, [OP_AVG_POOL2D] = g_avg_pool2d, [OP_GLOBAL_AVG_POOL] = g_global_avg_pool,
    [OP_BATCH_NORM] = g_batch_norm, [OP_LAYER_NORM] = g_layer_norm, [OP_DROPOUT] = g_identity,
    [OP_RESHAPE_AS] = g_reshape, [OP_EXPAND_AS] = g_expand, [OP_SUM_TO] = g_sum_to,
    [OP_SOFTMAX_CROSS_ENTROPY] = g_softmax_cross_entropy, [OP_BCE_WITH_LOGITS] = g_bce_with_logits,
    [OP_MSE_LOSS] = g_mse_loss,
};
