/* graphc/pass_fuse_gemm.c -- epilogue fusion: matmul / conv2d followed by a
 * bias add and/or one activation (relu, gelu in either form, sigmoid, tanh)
 * become one matmul / conv2d node whose kernel applies bias and activation
 * right after its sgemm (ops/epilogue.h). Only through intermediates with
 * exactly one use that are not graph outputs; the fused node's output takes
 * the name of the last value it replaces. */
#include "pass.h"
#include "epilogue.h"

#include <string.h>

/* The node consuming value v when v has exactly one use, by a live node,
 * and is not a graph output; NULL otherwise. */
static gc_node *sole_consumer(gc_graph *g, const int *uses, int v)
{
    if (uses[v] != 1)
        return NULL;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v)
            return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        gc_node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            if (n->inputs[j] == v)
                return n;
    }
    return NULL;
}

/* The activation code of node a applied to its input, or -1. */
static int act_of(const gc_node *a)
{
    if (a->n_inputs != 1 || a->n_outputs != 1)
        return -1;
    switch (a->op) {
    case OP_RELU: return OP_ACT_RELU;
    case OP_SIGMOID: return OP_ACT_SIGMOID;
    case OP_TANH: return OP_ACT_TANH;
    case OP_GELU:
        if (a->attrs[0].i == 0)
            return OP_ACT_GELU;
        return a->attrs[0].i == 1 ? OP_ACT_GELU_TANH : -1;
    default: return -1;
    }
}

/* data known at compile time (params only when the graph does not train) */
static int known_data(const gc_graph *g, const gc_value *v)
{
    return (v->kind == GV_CONST || (v->kind == GV_PARAM && !g->trains)) && !v->dead && v->data;
}

/* Node n takes over the value `last` (name and all uses): the values from
 * n's output up to last are computed by n alone now. */
static void take_over(gc_graph *g, gc_node *n, int last)
{
    int mine = n->outputs[0];
    if (mine == last)
        return;
    gc_value *lv = g->values[last], *mv = g->values[mine];
    const char *name = lv->name;
    int user_named = lv->user_named;
    lv->name = gc_sprintf(g->arena, "%s.unfused", name);
    gc_graph_replace_uses(g, last, mine);
    mv->name = name;
    mv->user_named = user_named;
}

/* Appends value b as the 3rd input of n (n has 2). Returns 0 or -1 (OOM). */
static int add_input(gc_graph *g, gc_node *n, int b)
{
    int *ins = gc_alloc(g->arena, sizeof(int) * 3);
    if (!ins)
        return -1;
    ins[0] = n->inputs[0];
    ins[1] = n->inputs[1];
    ins[2] = b;
    n->inputs = ins;
    n->n_inputs = 3;
    return 0;
}

/* A new f32 [O] constant holding (a ? a : 0) + (b ? b : 0). */
static int bias_const(gc_graph *g, const char *name, int64_t O, const float *a, const float *b, gc_loc loc)
{
    op_type t = { OP_F32, 1, { op_dim_const(O) } };
    int v = gc_graph_add_value(g, GV_CONST, name, &t, loc);
    if (v < 0)
        return -1;
    float *d = gc_alloc(g->arena, sizeof(float) * (size_t)(O ? O : 1));
    if (!d)
        return -1;
    for (int64_t i = 0; i < O; i++)
        d[i] = (a ? a[i] : 0.0f) + (b ? b[i] : 0.0f);
    g->values[v]->data = d;
    g->values[v]->nbytes = sizeof(float) * (size_t)O;
    return v;
}

/* The bias operand of add node a for the output `x` of a matmul: a 1-D value
 * [N] (N = last dim of x) of x's dtype whose add keeps x's type; -1 if not. */
static int matmul_bias_of(gc_graph *g, const gc_node *a, int x)
{
    if (a->op != OP_ADD || a->n_inputs != 2 || a->inputs[0] == a->inputs[1])
        return -1;
    int b = a->inputs[0] == x ? a->inputs[1] : a->inputs[0];
    const op_type *xt = &g->values[x]->type, *bt = &g->values[b]->type;
    if (bt->dtype != xt->dtype || bt->rank != 1 || !op_dim_eq(bt->dims[0], xt->dims[xt->rank - 1]) ||
        !op_type_eq(&g->values[a->outputs[0]]->type, xt))
        return -1;
    return b;
}

/* The bias operand of add node a for conv output x [N, O, H, W]: shaped
 * [O, 1, 1] or [1, O, 1, 1], f32, keeping x's type; -1 if not. */
static int conv_bias_of(gc_graph *g, const gc_node *a, int x)
{
    if (a->op != OP_ADD || a->n_inputs != 2 || a->inputs[0] == a->inputs[1])
        return -1;
    int b = a->inputs[0] == x ? a->inputs[1] : a->inputs[0];
    const op_type *xt = &g->values[x]->type, *bt = &g->values[b]->type;
    if (bt->dtype != OP_F32 || !op_type_eq(&g->values[a->outputs[0]]->type, xt))
        return -1;
    if (bt->rank == 3 && op_dim_eq(bt->dims[0], xt->dims[1]) && op_dim_is(bt->dims[1], 1) &&
        op_dim_is(bt->dims[2], 1))
        return b;
    if (bt->rank == 4 && op_dim_is(bt->dims[0], 1) && op_dim_eq(bt->dims[1], xt->dims[1]) &&
        op_dim_is(bt->dims[2], 1) && op_dim_is(bt->dims[3], 1))
        return b;
    return -1;
}

/* A 1-D [O] value with the data of the [O,1,1] / [1,O,1,1] bias b: a new
 * constant when b is known, else a reshape node. -1 on failure. */
static int conv_bias_1d(gc_graph *g, int b, int64_t O, const float *other, gc_loc loc)
{
    gc_value *bv = g->values[b];
    if (known_data(g, bv) && bv->nbytes == sizeof(float) * (size_t)O)
        return bias_const(g, gc_sprintf(g->arena, "%s.fused", bv->name), O, bv->data, other, loc);
    if (other)
        return -1;
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_RESHAPE, at);
    at[0].n = 1;
    at[0].ints[0] = O;
    op_type t = { OP_F32, 1, { op_dim_const(O) } };
    int nid = gc_graph_add_node(g, OP_RESHAPE, NULL, 1, &b, at, 1, &t, loc);
    return nid < 0 ? -1 : g->nodes[nid]->outputs[0];
}

static const char *label(gc_graph *g, int v) { return g->values[v]->name; }

/* Tries to fuse what follows node n (matmul or conv2d). 1 when fused, 0 when
 * not, -1 on out of memory. */
static int fuse_one(gc_pass_ctx *ctx, gc_node *n, int *uses)
{
    gc_graph *g = ctx->g;
    int is_mm = n->op == OP_MATMUL, act_idx = is_mm ? 2 : 4;
    int x = n->outputs[0];
    const op_type *xt = &g->values[x]->type;
    if (n->n_outputs != 1 || n->attrs[act_idx].i != OP_ACT_NONE)
        return 0;
    if (is_mm ? (xt->dtype != OP_F32 && xt->dtype != OP_F64) : xt->dtype != OP_F32)
        return 0;
    char text[768];
    size_t tl = (size_t)snprintf(text, sizeof text, "%s %%%s", op_table[n->op].name, label(g, x));
    gc_node *add = NULL, *act = NULL;
    int last = x, bias = -1, new_bias = -1, act_code = OP_ACT_NONE;

    gc_node *c = sole_consumer(g, uses, x);
    if (c && c->op == OP_ADD) {
        int b = is_mm ? (n->n_inputs == 2 ? matmul_bias_of(g, c, x) : -1) : conv_bias_of(g, c, x);
        if (b >= 0 && !is_mm) {
            const int64_t O = xt->dims[1].coef;
            const gc_value *old = n->n_inputs > 2 ? g->values[n->inputs[2]] : NULL;
            if (old && !(known_data(g, old) && old->nbytes == sizeof(float) * (size_t)O &&
                         known_data(g, g->values[b])))
                b = -1; /* two biases, not both known: keep the add */
            if (b >= 0) {
                new_bias = conv_bias_1d(g, b, O, old ? old->data : NULL, n->loc);
                if (new_bias < 0)
                    return -1;
            }
        } else if (b >= 0) {
            new_bias = b;
        }
        if (b >= 0) {
            bias = b;
            add = c;
            last = c->outputs[0];
            c = sole_consumer(g, uses, last);
        } else {
            c = NULL;
        }
    }
    if (c && (act_code = act_of(c)) > 0 && c->inputs[0] == last &&
        op_type_eq(&g->values[c->outputs[0]]->type, xt)) {
        act = c;
        last = c->outputs[0];
    } else {
        act_code = OP_ACT_NONE;
    }
    if (!add && !act)
        return 0;

    /* rewrite */
    if (add) {
        tl += (size_t)snprintf(text + tl, sizeof text - tl, " + add %%%s", label(g, add->outputs[0]));
        if (n->n_inputs == 2) {
            if (add_input(g, n, new_bias))
                return -1;
        } else {
            n->inputs[2] = new_bias;
        }
        add->dead = 1;
    }
    if (act) {
        tl += (size_t)snprintf(text + tl, sizeof text - tl, " + %s %%%s", op_table[act->op].name,
                               label(g, act->outputs[0]));
        n->attrs[act_idx].i = act_code;
        act->dead = 1;
    }
    take_over(g, n, last);
    if (tl < sizeof text)
        snprintf(text + tl, sizeof text - tl, " -> %s %%%s (%s%s%s%s)", op_table[n->op].name, label(g, x),
                 add ? "bias " : "", add ? label(g, bias) : "", add && act ? ", " : "",
                 act ? op_act_names[act_code] : "");
    gc_pass_note(ctx, "%s", text);
    return 1;
}

int gc_pass_fuse_gemm(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    int n_fused = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        gc_node *n = g->nodes[i];
        if (n->dead || (n->op != OP_MATMUL && n->op != OP_CONV2D))
            continue;
        /* counts are recomputed per candidate: rewrites add values */
        int *uses = gc_graph_use_counts(g);
        if (!uses)
            return -1;
        int r = fuse_one(ctx, n, uses);
        if (r < 0) {
            gc_error(ctx->d, n->loc, "fuse_gemm: out of memory");
            return -1;
        }
        n_fused += r;
    }
    if (n_fused && ctx->rep)
        ctx->rep->summary = gc_sprintf(g->arena, "%d node%s fused", n_fused, n_fused == 1 ? "" : "s");
    return 0;
}
