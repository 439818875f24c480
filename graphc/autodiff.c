/* graphc/autodiff.c -- reverse-mode automatic differentiation on the IR
 * (gc_gradients, see autodiff.h): finds the nodes between the xs and y,
 * walks them in reverse execution order running each op's gradient rule
 * (grad_rules.c), sums the gradients of values used several times, and
 * provides the node builder the rules compose their gradients with. */
#include "autodiff.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- builder */

const op_type *gc_gb_type(gc_grad_ctx *c, int v) { return &c->g->values[v]->type; }

static const char *loc_str(gc_grad_ctx *c, gc_loc l)
{
    if (l.file < 0 || l.file >= c->d->n_files)
        return "unknown location";
    int line, col;
    gc_loc_linecol(c->d, l, &line, &col);
    return gc_sprintf(c->g->arena, "%s:%d:%d", c->d->files[l.file].path, line, col);
}

int gc_gb_fail(gc_grad_ctx *c, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const gc_node *n = c->node;
    gc_loc at = c->call_loc.file >= 0 ? c->call_loc : n ? n->loc : GC_NOLOC;
    if (n)
        gc_error(c->d, at, "gradients: op '%s' (at %s): %s", op_table[n->op].name, loc_str(c, n->loc), msg);
    else
        gc_error(c->d, at, "gradients: %s", msg);
    return -1;
}

int gc_gb_op_n(gc_grad_ctx *c, op_kind k, const int *ins, int n_in, const op_attr *attrs, int *outs, int n_out)
{
    op_attr def[OP_MAX_ATTRS];
    if (!attrs) {
        op_attrs_default(k, def);
        attrs = def;
    }
    op_type in_t[OP_MAX_INPUTS], out_t[OP_MAX_OUTPUTS];
    if (n_in < 1 || n_in > OP_MAX_INPUTS || n_out < 1 || n_out > OP_MAX_OUTPUTS ||
        op_n_outputs(k, attrs) != n_out)
        return gc_gb_fail(c, "internal error: bad %s node", op_table[k].name);
    for (int i = 0; i < n_in; i++) {
        if (ins[i] < 0 || ins[i] >= c->g->n_values)
            return -1; /* an earlier step failed and reported */
        in_t[i] = c->g->values[ins[i]]->type;
    }
    char err[OP_ERR_LEN] = "";
    op_set_sym_names(c->g->symbols, c->g->n_symbols);
    memset(out_t, 0, sizeof out_t);
    if (op_table[k].infer(attrs, in_t, n_in, out_t, n_out, err, sizeof err))
        return gc_gb_fail(c, "internal error building %s: %s", op_table[k].name, err);
    int nid = gc_graph_add_node(c->g, k, NULL, n_in, ins, attrs, n_out, out_t, c->loc);
    if (nid < 0)
        return gc_gb_fail(c, "out of memory");
    for (int j = 0; j < n_out; j++)
        outs[j] = c->g->nodes[nid]->outputs[j];
    return 0;
}

int gc_gb_op(gc_grad_ctx *c, op_kind k, const int *ins, int n_in, const op_attr *attrs)
{
    int out;
    return gc_gb_op_n(c, k, ins, n_in, attrs, &out, 1) ? -1 : out;
}

int gc_gb_unary(gc_grad_ctx *c, op_kind k, int x) { return x < 0 ? -1 : gc_gb_op(c, k, &x, 1, NULL); }

int gc_gb_binary(gc_grad_ctx *c, op_kind k, int a, int b)
{
    if (a < 0 || b < 0)
        return -1;
    int ins[2] = { a, b };
    return gc_gb_op(c, k, ins, 2, NULL);
}

int gc_gb_scalar(gc_grad_ctx *c, op_dtype dt, double v)
{
    op_type t = { .dtype = dt, .rank = 0 };
    int id = gc_graph_add_value(c->g, GV_CONST, "const", &t, c->loc);
    if (id < 0)
        return gc_gb_fail(c, "out of memory");
    gc_value *cv = c->g->values[id];
    cv->nbytes = op_dtype_size(dt);
    cv->data = gc_alloc(c->g->arena, cv->nbytes ? cv->nbytes : 1);
    if (!cv->data)
        return gc_gb_fail(c, "out of memory");
    if (dt == OP_F32) {
        float f = (float)v;
        memcpy(cv->data, &f, sizeof f);
    } else if (dt == OP_F64) {
        memcpy(cv->data, &v, sizeof v);
    } else {
        return gc_gb_fail(c, "internal error: a %s constant", op_dtype_name(dt));
    }
    return id;
}

int gc_gb_mul_num(gc_grad_ctx *c, int x, double v)
{
    if (x < 0)
        return -1;
    return gc_gb_binary(c, OP_MUL, x, gc_gb_scalar(c, gc_gb_type(c, x)->dtype, v));
}

int gc_gb_cast(gc_grad_ctx *c, int x, op_dtype dt)
{
    if (x < 0)
        return -1;
    if (gc_gb_type(c, x)->dtype == dt)
        return x;
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_CAST, a);
    a[0].i = dt;
    return gc_gb_op(c, OP_CAST, &x, 1, a);
}

static int same_shape(const op_type *a, const op_type *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (!op_dim_eq(a->dims[i], b->dims[i]))
            return 0;
    return 1;
}

int gc_gb_sum_to(gc_grad_ctx *c, int x, int ref)
{
    if (x < 0 || ref < 0)
        return -1;
    if (same_shape(gc_gb_type(c, x), gc_gb_type(c, ref)))
        return x;
    return gc_gb_binary(c, OP_SUM_TO, x, ref);
}

int gc_gb_expand_to(gc_grad_ctx *c, int x, int ref)
{
    if (x < 0 || ref < 0)
        return -1;
    const op_type *tx = gc_gb_type(c, x), *tr = gc_gb_type(c, ref);
    if (same_shape(tx, tr))
        return x;
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_EXPAND, a);
    int static_ok = tx->rank <= tr->rank;
    for (int i = 0; i < tr->rank && static_ok; i++) {
        int k = i - (tr->rank - tx->rank);
        if (k >= 0 && op_dim_eq(tx->dims[k], tr->dims[i]))
            a[0].ints[i] = -1;
        else if (tr->dims[i].sym < 0)
            a[0].ints[i] = tr->dims[i].coef;
        else
            static_ok = 0;
    }
    a[0].n = tr->rank;
    if (static_ok)
        return gc_gb_op(c, OP_EXPAND, &x, 1, a);
    return gc_gb_binary(c, OP_EXPAND_AS, x, ref);
}

int gc_gb_reshape_to(gc_grad_ctx *c, int x, int ref)
{
    if (x < 0 || ref < 0)
        return -1;
    const op_type *tx = gc_gb_type(c, x), *tr = gc_gb_type(c, ref);
    if (same_shape(tx, tr))
        return x;
    /* a static reshape when ref has at most one symbolic dim (written -1) */
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(OP_RESHAPE, a);
    int n_sym = 0;
    for (int i = 0; i < tr->rank; i++) {
        n_sym += tr->dims[i].sym >= 0;
        a[0].ints[i] = tr->dims[i].sym >= 0 ? -1 : tr->dims[i].coef;
    }
    a[0].n = tr->rank;
    op_type o;
    char err[8];
    if (n_sym <= 1 && op_table[OP_RESHAPE].infer(a, tx, 1, &o, 1, err, sizeof err) == 0 && same_shape(&o, tr))
        return gc_gb_op(c, OP_RESHAPE, &x, 1, a);
    return gc_gb_binary(c, OP_RESHAPE_AS, x, ref);
}

int gc_gb_reduce(gc_grad_ctx *c, op_kind k, int x, const int *axes, int n_axes, int keepdims)
{
    if (x < 0)
        return -1;
    if (n_axes < 1 || n_axes > OP_MAX_INTS)
        return gc_gb_fail(c, "internal error: reduction over %d axes", n_axes);
    op_attr a[OP_MAX_ATTRS];
    op_attrs_default(k, a);
    a[0].n = n_axes;
    for (int i = 0; i < n_axes; i++)
        a[0].ints[i] = axes[i];
    a[1].i = keepdims;
    return gc_gb_op(c, k, &x, 1, a);
}

int gc_gb_fill_like(gc_grad_ctx *c, int v, double value)
{
    int s = gc_gb_scalar(c, gc_gb_type(c, v)->dtype, value);
    if (s < 0 || gc_gb_type(c, v)->rank == 0)
        return s;
    return gc_gb_expand_to(c, s, v);
}

/* --------------------------------------------------------------- driver */

static int is_float_value(const gc_graph *g, int v) { return op_dtype_is_float(g->values[v]->type.dtype); }

static int all_outputs_bool(const gc_graph *g, const gc_node *n)
{
    for (int j = 0; j < n->n_outputs; j++)
        if (g->values[n->outputs[j]]->type.dtype != OP_BOOL)
            return 0;
    return 1;
}

int gc_gradients(gc_graph *g, gc_diag *d, int y, int n_xs, const int *xs, int *grads_out, gc_loc loc)
{
    gc_grad_ctx c = { .g = g, .d = d, .loc = loc, .call_loc = loc, .node = NULL };
    const int nv = g->n_values, nn = g->n_nodes;
    if (y < 0 || y >= nv || n_xs < 0 || (n_xs > 0 && (!xs || !grads_out)))
        return gc_gb_fail(&c, "bad arguments");
    for (int i = 0; i < n_xs; i++) {
        if (xs[i] < 0 || xs[i] >= nv)
            return gc_gb_fail(&c, "bad arguments");
        if (!is_float_value(g, xs[i]))
            return gc_gb_fail(&c, "'%s' is %s: only f32 and f64 tensors have gradients",
                              g->values[xs[i]]->name, op_dtype_name(g->values[xs[i]]->type.dtype));
    }
    if (!is_float_value(g, y))
        return gc_gb_fail(&c, "'%s' is %s: only f32 and f64 tensors can be differentiated",
                          g->values[y]->name, op_dtype_name(g->values[y]->type.dtype));
    char *from_x = gc_alloc(g->arena, (size_t)nv + 1), *to_y = gc_alloc(g->arena, (size_t)nv + 1);
    int *grad = gc_alloc(g->arena, sizeof(int) * ((size_t)nv + 1));
    if (!from_x || !to_y || !grad)
        return gc_gb_fail(&c, "out of memory");
    for (int v = 0; v < nv; v++)
        grad[v] = -1;
    for (int i = 0; i < n_xs; i++)
        from_x[xs[i]] = 1;
    for (int k = 0; k < nn; k++) {
        const gc_node *n = g->nodes[k];
        int any = 0;
        for (int i = 0; i < n->n_inputs && !n->dead; i++)
            any |= from_x[n->inputs[i]];
        for (int j = 0; j < n->n_outputs && any; j++)
            from_x[n->outputs[j]] = 1;
    }
    to_y[y] = 1;
    for (int k = nn - 1; k >= 0; k--) {
        const gc_node *n = g->nodes[k];
        int any = 0;
        for (int j = 0; j < n->n_outputs && !n->dead; j++)
            any |= to_y[n->outputs[j]];
        for (int i = 0; i < n->n_inputs && any; i++)
            to_y[n->inputs[i]] = 1;
    }
    grad[y] = gc_gb_fill_like(&c, y, 1.0);
    if (grad[y] < 0)
        return -1;
    for (int k = nn - 1; k >= 0; k--) {
        const gc_node *n = g->nodes[k];
        if (n->dead)
            continue;
        int in_x = 0, out_y = 0, has_g = 0;
        for (int i = 0; i < n->n_inputs; i++)
            in_x |= from_x[n->inputs[i]];
        for (int j = 0; j < n->n_outputs; j++) {
            out_y |= to_y[n->outputs[j]];
            has_g |= grad[n->outputs[j]] >= 0;
        }
        if (!in_x || !out_y)
            continue;
        c.node = n;
        c.loc = n->loc;
        gc_grad_fn rule = gc_grad_rules[n->op];
        if (!rule) {
            if (all_outputs_bool(g, n))
                continue; /* a mask: no gradient flows through it */
            gc_error(d, loc.file >= 0 ? loc : n->loc, "gradients: op '%s' (at %s) has no gradient",
                     op_table[n->op].name, loc_str(&c, n->loc));
            gc_note(d, n->loc, "'%s' is on the path from the differentiated values to '%s'",
                    op_table[n->op].name, g->values[y]->name);
            return -1;
        }
        if (!has_g)
            continue;
        int need[OP_MAX_INPUTS], gin[OP_MAX_INPUTS], gout[OP_MAX_OUTPUTS], any_need = 0;
        for (int i = 0; i < n->n_inputs; i++) {
            need[i] = from_x[n->inputs[i]] && is_float_value(g, n->inputs[i]);
            any_need |= need[i];
            gin[i] = -1;
        }
        if (!any_need)
            continue;
        for (int j = 0; j < n->n_outputs; j++)
            gout[j] = grad[n->outputs[j]];
        if (rule(&c, n, gout, need, gin))
            return -1;
        for (int i = 0; i < n->n_inputs; i++) {
            int v = n->inputs[i];
            if (!need[i] || gin[i] < 0)
                continue;
            const op_type *tv = &g->values[v]->type, *tg = &g->values[gin[i]]->type;
            if (!op_type_eq(tv, tg)) {
                char a[300], b[300];
                op_type_str(tv, g->symbols, a, sizeof a);
                op_type_str(tg, g->symbols, b, sizeof b);
                return gc_gb_fail(&c, "internal error: the gradient of input %d is %s, expected %s", i, b, a);
            }
            grad[v] = grad[v] < 0 ? gin[i] : gc_gb_binary(&c, OP_ADD, grad[v], gin[i]);
            if (grad[v] < 0)
                return -1;
        }
    }
    c.node = NULL;
    c.loc = loc;
    for (int i = 0; i < n_xs; i++) {
        int gx = grad[xs[i]];
        if (gx < 0 && (gx = gc_gb_fill_like(&c, xs[i], 0.0)) < 0)
            return -1;
        grads_out[i] = gx;
    }
    return 0;
}
