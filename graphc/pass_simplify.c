/* graphc/pass_simplify.c -- algebraic simplification, each rewrite exact (or
 * more accurate, x**2 -> x*x): x*1, 1*x, x+0, 0+x, x-0, x/1, x**1 -> x when
 * the result type is x's type; identity removal; transpose of transpose ->
 * one or none; chains of reshape/flatten/squeeze/unsqueeze -> one reshape;
 * a last-two-dims transpose feeding matmul -> trans_a/trans_b; x**2 -> x*x.
 * Graph outputs keep their names (a rewrite that cannot keep one is skipped). */
#include "pass.h"

#include <stdio.h>
#include <string.h>

static int simp_is_output(const gc_graph *g, int v)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v)
            return 1;
    return 0;
}

/* Makes every use of `from` (a node value about to die) use `to`. When
 * `from` is a graph output, `to` takes over its name, which is only possible
 * when `to` is a node value that is not an output itself; otherwise nothing
 * changes and -1 is returned. */
static int simp_redirect(gc_graph *g, int from, int to)
{
    if (simp_is_output(g, from)) {
        gc_value *t = g->values[to];
        if (t->kind != GV_NODE || simp_is_output(g, to))
            return -1;
        const char *name = g->values[from]->name;
        gc_graph_rename(g, from, gc_sprintf(g->arena, "%s.replaced", name));
        gc_graph_rename(g, to, name);
        t->user_named = 1;
    }
    gc_graph_replace_uses(g, from, to);
    return 0;
}

/* "%name", or the number of a scalar constant. */
static const char *simp_label(gc_graph *g, int v)
{
    const gc_value *x = g->values[v];
    if (x->kind == GV_CONST && x->data && x->type.rank == 0 && x->nbytes == op_dtype_size(x->type.dtype)) {
        switch (x->type.dtype) {
        case OP_F32: return gc_sprintf(g->arena, "%.9g", (double)*(const float *)x->data);
        case OP_F64: return gc_sprintf(g->arena, "%.17g", *(const double *)x->data);
        case OP_I32: return gc_sprintf(g->arena, "%d", (int)*(const int32_t *)x->data);
        case OP_I64: return gc_sprintf(g->arena, "%lld", (long long)*(const int64_t *)x->data);
        default: break;
        }
    }
    return gc_sprintf(g->arena, "%%%s", x->name);
}

static const char *simp_ints(gc_graph *g, int n, const int64_t *v)
{
    char buf[256];
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", i ? ", " : "", (long long)v[i]);
    return gc_sprintf(g->arena, "[%s]", buf);
}

/* 1 when v is a constant whose every element equals `want` (floats compare
 * with ==, so -0 counts as 0). */
static int const_all(const gc_graph *g, int v, double want)
{
    const gc_value *x = g->values[v];
    op_tensor t;
    if (x->kind != GV_CONST || x->dead || !x->data || op_type_eval(&x->type, NULL, 0, &t))
        return 0;
    int64_t n = op_tensor_numel(&t);
    if (n <= 0 || (size_t)n * op_dtype_size(t.dtype) != x->nbytes)
        return 0;
    for (int64_t i = 0; i < n; i++) {
        double e;
        switch (t.dtype) {
        case OP_F32: e = ((const float *)x->data)[i]; break;
        case OP_F64: e = ((const double *)x->data)[i]; break;
        case OP_I32: e = ((const int32_t *)x->data)[i]; break;
        case OP_I64: e = (double)((const int64_t *)x->data)[i]; break;
        case OP_U8: e = ((const uint8_t *)x->data)[i]; break;
        case OP_I8: e = ((const int8_t *)x->data)[i]; break;
        default: return 0; /* bool: no arithmetic */
        }
        if (e != want)
            return 0;
    }
    return 1;
}

static int same_type(const gc_graph *g, int a, int b)
{
    return op_type_eq(&g->values[a]->type, &g->values[b]->type);
}

/* The live node producing v, or NULL. */
static gc_node *producer(const gc_graph *g, int v)
{
    const gc_value *x = g->values[v];
    if (x->kind != GV_NODE || x->producer < 0 || x->producer >= g->n_nodes)
        return NULL;
    gc_node *n = g->nodes[x->producer];
    return n->dead ? NULL : n;
}

/* The permutation of a transpose node (empty attribute: reversed dims). */
static int transpose_perm(const gc_graph *g, const gc_node *n, int64_t *perm)
{
    int rank = g->values[n->inputs[0]]->type.rank;
    const op_attr *a = &n->attrs[0];
    if (a->n == 0) {
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
        return rank;
    }
    if (a->n != rank || rank > OP_MAX_RANK)
        return -1;
    unsigned seen = 0;
    for (int i = 0; i < rank; i++) {
        int ax = op_axis(a->ints[i], rank); /* negative entries count from the end */
        if (ax < 0 || (seen & (1u << ax)))
            return -1;
        seen |= 1u << ax;
        perm[i] = ax;
    }
    return rank;
}

/* Replaces the output of n by value x and kills n; 1 done, 0 skipped. */
static int drop_node(gc_pass_ctx *ctx, gc_node *n, int x, const char *before)
{
    gc_graph *g = ctx->g;
    int out = n->outputs[0];
    const char *oname = g->values[out]->name, *xlabel = simp_label(g, x);
    if (simp_redirect(g, out, x))
        return 0;
    n->dead = 1;
    if (strcmp(g->values[x]->name, oname) == 0)
        gc_pass_note(ctx, "%%%s = %s -> %s (renamed %%%s: an output keeps its name)", oname, before, xlabel, oname);
    else
        gc_pass_note(ctx, "%%%s = %s -> %s", oname, before, xlabel);
    return 1;
}

static void set_op(gc_node *n, op_kind k)
{
    if (strcmp(n->name, op_table[n->op].name) == 0)
        n->name = op_table[k].name;
    n->op = k;
}

/* A rewrite that leaves x unchanged but cannot drop the node (its output
 * is a graph output and x an input, param, const or another output):
 * n becomes identity(x), the cheapest node that keeps the name. */
static int to_identity(gc_pass_ctx *ctx, gc_node *n, int x, const char *before)
{
    gc_graph *g = ctx->g;
    if (n->op == OP_IDENTITY)
        return 0;
    set_op(n, OP_IDENTITY);
    n->n_inputs = 1;
    n->inputs[0] = x;
    op_attrs_default(OP_IDENTITY, n->attrs);
    gc_pass_note(ctx, "%%%s = %s -> identity(%s)", g->values[n->outputs[0]]->name, before, simp_label(g, x));
    return 1;
}

static int simplify_binary(gc_pass_ctx *ctx, gc_node *n)
{
    gc_graph *g = ctx->g;
    int out = n->outputs[0], a = n->inputs[0], b = n->inputs[1];
    const char *nm = op_table[n->op].name;
    const char *before = gc_sprintf(g->arena, "%s(%s, %s)", nm, simp_label(g, a), simp_label(g, b));
    switch (n->op) {
    case OP_ADD:
    case OP_MUL: {
        double unit = n->op == OP_ADD ? 0.0 : 1.0;
        if (const_all(g, b, unit) && same_type(g, a, out))
            return drop_node(ctx, n, a, before);
        if (const_all(g, a, unit) && same_type(g, b, out))
            return drop_node(ctx, n, b, before);
        return 0;
    }
    case OP_SUB:
        if (const_all(g, b, 0.0) && same_type(g, a, out))
            return drop_node(ctx, n, a, before);
        return 0;
    case OP_DIV:
        if (const_all(g, b, 1.0) && same_type(g, a, out))
            return drop_node(ctx, n, a, before);
        return 0;
    case OP_POW:
        if (const_all(g, b, 1.0) && same_type(g, a, out))
            return drop_node(ctx, n, a, before);
        if (const_all(g, b, 2.0) && same_type(g, a, out)) {
            set_op(n, OP_MUL);
            n->inputs[1] = a;
            op_attrs_default(OP_MUL, n->attrs);
            gc_pass_note(ctx, "%%%s = %s -> mul(%s, %s)", g->values[out]->name, before, simp_label(g, a),
                         simp_label(g, a));
            return 1;
        }
        return 0;
    default:
        return 0;
    }
}

static int simplify_transpose(gc_pass_ctx *ctx, gc_node *n)
{
    gc_graph *g = ctx->g;
    int64_t p2[OP_MAX_RANK], p1[OP_MAX_RANK], q[OP_MAX_RANK];
    int r = transpose_perm(g, n, p2);
    if (r < 0)
        return 0;
    const char *outer = simp_ints(g, r, p2);
    gc_node *inner = producer(g, n->inputs[0]);
    int src = n->inputs[0];
    const char *before = gc_sprintf(g->arena, "transpose(%s, %s)", simp_label(g, src), outer);
    if (inner && inner->op == OP_TRANSPOSE && transpose_perm(g, inner, p1) == r) {
        for (int i = 0; i < r; i++)
            q[i] = p1[p2[i]];
        src = inner->inputs[0];
        before = gc_sprintf(g->arena, "transpose(transpose(%s, %s), %s)", simp_label(g, src), simp_ints(g, r, p1),
                            outer);
    } else {
        memcpy(q, p2, sizeof(int64_t) * (size_t)r);
    }
    int ident = 1;
    for (int i = 0; i < r; i++)
        ident &= q[i] == i;
    if (ident && same_type(g, src, n->outputs[0])) {
        if (drop_node(ctx, n, src, before))
            return 1;
        return to_identity(ctx, n, src, before);
    }
    if (src == n->inputs[0])
        return 0; /* a single transpose that has to stay */
    n->inputs[0] = src;
    n->attrs[0].n = r;
    memcpy(n->attrs[0].ints, q, sizeof(int64_t) * (size_t)r);
    gc_pass_note(ctx, "%%%s = %s -> transpose(%s, %s)", g->values[n->outputs[0]]->name, before, simp_label(g, src),
                 simp_ints(g, r, q));
    return 1;
}

static int is_view_op(op_kind k)
{
    return k == OP_RESHAPE || k == OP_FLATTEN || k == OP_SQUEEZE || k == OP_UNSQUEEZE;
}

static int simplify_view(gc_pass_ctx *ctx, gc_node *n)
{
    gc_graph *g = ctx->g;
    int out = n->outputs[0];
    const op_type *ft = &g->values[out]->type;
    int src = n->inputs[0], steps = 0;
    char chain[512];
    snprintf(chain, sizeof chain, "%s", op_table[n->op].name);
    for (gc_node *p = producer(g, src); p && is_view_op(p->op); p = producer(g, src)) {
        src = p->inputs[0];
        steps++;
        size_t l = strlen(chain);
        snprintf(chain + l, sizeof chain - l, "(%s", op_table[p->op].name);
    }
    {
        size_t l = strlen(chain);
        snprintf(chain + l, sizeof chain - l, "(%s", simp_label(g, src));
        for (int i = 0; i <= steps; i++) {
            l = strlen(chain);
            snprintf(chain + l, sizeof chain - l, ")");
        }
    }
    const char *before = gc_strdup(g->arena, chain);
    if (same_type(g, src, out)) {
        if (drop_node(ctx, n, src, before))
            return 1;
        return steps ? to_identity(ctx, n, src, before) : 0;
    }
    if (steps == 0)
        return 0;
    /* One reshape to the final shape: concrete dims as numbers, a symbolic
     * dim copied from the same position of the source as 0, at most one
     * other symbolic dim as -1; the inference rule must give back exactly
     * the final type. */
    const op_type *st = &g->values[src]->type;
    op_attr attrs[OP_MAX_ATTRS];
    op_attrs_default(OP_RESHAPE, attrs);
    int neg = 0;
    attrs[0].n = ft->rank;
    for (int i = 0; i < ft->rank; i++) {
        op_dim d = ft->dims[i];
        int copies = i < st->rank && op_dim_eq(st->dims[i], d);
        if (d.sym < 0 && d.coef != 0)
            attrs[0].ints[i] = d.coef;
        else if (copies)
            attrs[0].ints[i] = 0;
        else if (d.sym >= 0 && !neg++)
            attrs[0].ints[i] = -1;
        else
            return 0;
    }
    op_type it;
    char err[OP_ERR_LEN];
    memset(&it, 0, sizeof it);
    if (op_table[OP_RESHAPE].infer(attrs, st, 1, &it, 1, err, sizeof err) || !op_type_eq(&it, ft))
        return 0;
    set_op(n, OP_RESHAPE);
    n->inputs[0] = src;
    memcpy(n->attrs, attrs, sizeof n->attrs);
    gc_pass_note(ctx, "%%%s = %s -> reshape(%s, %s)", g->values[out]->name, before, simp_label(g, src),
                 simp_ints(g, attrs[0].n, attrs[0].ints));
    return 1;
}

/* matmul(transpose(x) swapping the last two dims, b) -> matmul(x, b,
 * trans_a = !trans_a); the same for b. */
static int simplify_matmul(gc_pass_ctx *ctx, gc_node *n)
{
    gc_graph *g = ctx->g;
    int changed = 0;
    for (int s = 0; s < 2; s++) {
        gc_node *t = producer(g, n->inputs[s]);
        int64_t p[OP_MAX_RANK];
        if (!t || t->op != OP_TRANSPOSE)
            continue;
        int r = transpose_perm(g, t, p);
        if (r < 2 || p[r - 2] != r - 1 || p[r - 1] != r - 2)
            continue;
        int ok = 1;
        for (int i = 0; i < r - 2; i++)
            ok &= p[i] == i;
        if (!ok || (n->attrs[s].i != 0 && n->attrs[s].i != 1))
            continue;
        op_attr attrs[OP_MAX_ATTRS];
        memcpy(attrs, n->attrs, sizeof attrs);
        attrs[s].i ^= 1;
        op_type in[2] = { g->values[n->inputs[0]]->type, g->values[n->inputs[1]]->type }, ot;
        in[s] = g->values[t->inputs[0]]->type;
        char err[OP_ERR_LEN];
        memset(&ot, 0, sizeof ot);
        if (op_table[OP_MATMUL].infer(attrs, in, 2, &ot, 1, err, sizeof err) ||
            !op_type_eq(&ot, &g->values[n->outputs[0]]->type))
            continue;
        const char *before = gc_sprintf(g->arena, "matmul(%s%s%s, %s%s%s)", s == 0 ? "transpose(" : "",
                                        simp_label(g, s == 0 ? t->inputs[0] : n->inputs[0]), s == 0 ? ")" : "",
                                        s == 1 ? "transpose(" : "",
                                        simp_label(g, s == 1 ? t->inputs[0] : n->inputs[1]), s == 1 ? ")" : "");
        n->inputs[s] = t->inputs[0];
        memcpy(n->attrs, attrs, sizeof attrs);
        gc_pass_note(ctx, "%%%s = %s -> matmul(%s, %s, trans_a=%lld, trans_b=%lld)", g->values[n->outputs[0]]->name,
                     before, simp_label(g, n->inputs[0]), simp_label(g, n->inputs[1]), (long long)attrs[0].i,
                     (long long)attrs[1].i);
        changed = 1;
    }
    return changed;
}

static int simplify_node(gc_pass_ctx *ctx, gc_node *n)
{
    gc_graph *g = ctx->g;
    switch (n->op) {
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_POW:
        return n->n_inputs == 2 ? simplify_binary(ctx, n) : 0;
    case OP_IDENTITY:
        if (n->n_inputs != 1 || !same_type(g, n->inputs[0], n->outputs[0]))
            return 0;
        return drop_node(ctx, n, n->inputs[0], gc_sprintf(g->arena, "identity(%s)", simp_label(g, n->inputs[0])));
    case OP_TRANSPOSE:
        return n->n_inputs == 1 ? simplify_transpose(ctx, n) : 0;
    case OP_RESHAPE:
    case OP_FLATTEN:
    case OP_SQUEEZE:
    case OP_UNSQUEEZE:
        return n->n_inputs == 1 ? simplify_view(ctx, n) : 0;
    case OP_MATMUL:
        return n->n_inputs == 2 ? simplify_matmul(ctx, n) : 0;
    default:
        return 0;
    }
}

int gc_pass_simplify(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    /* In execution order, so a node sees its inputs already simplified;
     * sweep again while something changed (bounded). */
    for (int sweep = 0; sweep < 8; sweep++) {
        int changed = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            gc_node *n = g->nodes[i];
            if (!n->dead && n->n_outputs == 1)
                changed += simplify_node(ctx, n);
        }
        if (!changed)
            break;
    }
    return gc_arena_failed(g->arena) ? (gc_error(ctx->d, GC_NOLOC, "out of memory in simplify"), -1) : 0;
}
