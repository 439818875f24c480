/* graphc/pass_fold_bn.c -- folds inference batch_norm into the conv2d (or the
 * 2-D matmul, optionally through its bias add) that feeds it: with
 * s = scale / sqrt(var + eps), w' = w * s[o] and b' = (b - mean) * s + beta,
 * computed in double and stored as new constants. Params are folded too: a
 * graph binary is for inference, and the original params are left for DCE. */
#include "pass.h"
#include "epilogue.h"

#include <math.h>
#include <string.h>

static int known(const gc_graph *g, int v, op_dtype dt, int64_t numel)
{
    const gc_value *x = g->values[v];
    /* a training graph updates its params: only constants are known */
    return (x->kind == GV_CONST || (x->kind == GV_PARAM && !g->trains)) && !x->dead && x->data && x->type.dtype == dt &&
           numel >= 0 && x->nbytes == (size_t)numel * op_dtype_size(dt);
}

static double rd(const void *p, op_dtype dt, int64_t i)
{
    return dt == OP_F32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

static void wr(void *p, op_dtype dt, int64_t i, double v)
{
    if (dt == OP_F32)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

/* The node consuming v when v has exactly one use, by a live node, and is
 * not a graph output; NULL otherwise. */
static gc_node *sole_consumer(gc_graph *g, const int *uses, int v)
{
    if (uses[v] != 1)
        return NULL;
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v)
            return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        gc_node *n = g->nodes[i];
        for (int j = 0; !n->dead && j < n->n_inputs; j++)
            if (n->inputs[j] == v)
                return n;
    }
    return NULL;
}

static gc_node *producer(gc_graph *g, int v)
{
    const gc_value *x = g->values[v];
    if (x->kind != GV_NODE || x->producer < 0 || g->nodes[x->producer]->dead)
        return NULL;
    return g->nodes[x->producer];
}

/* A new constant of type t named after base with a fresh data block. */
static int new_const(gc_graph *g, const char *base, const op_type *t, gc_loc loc, void **data)
{
    op_dim nd;
    if (op_type_numel(t, &nd) || nd.sym >= 0)
        return -1;
    size_t nb = (size_t)nd.coef * op_dtype_size(t->dtype);
    int v = gc_graph_add_value(g, GV_CONST, gc_sprintf(g->arena, "%s.bn", base), t, loc);
    void *d = v >= 0 ? gc_alloc(g->arena, nb ? nb : 1) : NULL;
    if (!d)
        return -1;
    g->values[v]->data = d;
    g->values[v]->nbytes = nb;
    *data = d;
    return v;
}

/* Node n takes over value `last` (its name and uses). */
static void take_over(gc_graph *g, gc_node *n, int last)
{
    gc_value *lv = g->values[last], *mv = g->values[n->outputs[0]];
    const char *name = lv->name;
    int user_named = lv->user_named;
    lv->name = gc_sprintf(g->arena, "%s.unfolded", name);
    gc_graph_replace_uses(g, last, n->outputs[0]);
    mv->name = name;
    mv->user_named = user_named;
}

/* Sets the inputs of n to (in0, w, b). -1 when out of memory. */
static int set_inputs(gc_graph *g, gc_node *n, int w, int b)
{
    int *ins = gc_alloc(g->arena, sizeof(int) * 3);
    if (!ins)
        return -1;
    ins[0] = n->inputs[0];
    ins[1] = w;
    ins[2] = b;
    n->inputs = ins;
    n->n_inputs = 3;
    return 0;
}

/* Per-channel factor s[c] = scale / sqrt(var + eps) and shift
 * t[c] = (b0[c] - mean[c]) * s[c] + beta[c] (b0 may be NULL: 0). */
static int bn_coefs(gc_graph *g, const gc_node *bn, op_dtype dt, int64_t C, const void *b0, double *s, double *t)
{
    double eps = bn->attrs[0].f;
    const void *sc = g->values[bn->inputs[1]]->data, *be = g->values[bn->inputs[2]]->data;
    const void *mu = g->values[bn->inputs[3]]->data, *var = g->values[bn->inputs[4]]->data;
    for (int64_t c = 0; c < C; c++) {
        double den = sqrt(rd(var, dt, c) + eps);
        s[c] = rd(sc, dt, c) / den;
        t[c] = ((b0 ? rd(b0, dt, c) : 0.0) - rd(mu, dt, c)) * s[c] + rd(be, dt, c);
        if (!isfinite(s[c]) || !isfinite(t[c]))
            return -1; /* var + eps <= 0 or overflow: leave the node alone */
    }
    return 0;
}

/* batch_norm bn over conv2d node cv. 1 folded, 0 not, -1 out of memory. */
static int fold_conv(gc_pass_ctx *ctx, gc_node *bn, gc_node *cv)
{
    gc_graph *g = ctx->g;
    const op_type *wt = &g->values[cv->inputs[1]]->type;
    if (cv->attrs[4].i != OP_ACT_NONE || wt->rank != 4 || wt->dims[0].sym >= 0)
        return 0;
    int64_t O = wt->dims[0].coef, per = 1;
    for (int i = 1; i < 4; i++)
        per *= wt->dims[i].sym < 0 ? wt->dims[i].coef : -1;
    if (per < 0 || !known(g, cv->inputs[1], OP_F32, O * per) ||
        (cv->n_inputs > 2 && !known(g, cv->inputs[2], OP_F32, O)))
        return 0;
    for (int i = 1; i < 5; i++)
        if (!known(g, bn->inputs[i], OP_F32, O))
            return 0;
    double *s = gc_alloc(g->arena, sizeof(double) * (size_t)(2 * O + 1)), *t = s ? s + O : NULL;
    if (!s)
        return -1;
    if (bn_coefs(g, bn, OP_F32, O, cv->n_inputs > 2 ? g->values[cv->inputs[2]]->data : NULL, s, t))
        return 0;
    void *wd, *bd;
    op_type bt = { OP_F32, 1, { op_dim_const(O) } };
    int w2 = new_const(g, g->values[cv->inputs[1]]->name, wt, cv->loc, &wd);
    int b2 = w2 >= 0 ? new_const(g, cv->n_inputs > 2 ? g->values[cv->inputs[2]]->name
                                                     : gc_sprintf(g->arena, "%s.bias", g->values[cv->inputs[1]]->name),
                                 &bt, cv->loc, &bd)
                     : -1;
    if (b2 < 0)
        return -1;
    const float *w = g->values[cv->inputs[1]]->data;
    for (int64_t o = 0; o < O; o++) {
        for (int64_t k = 0; k < per; k++)
            ((float *)wd)[o * per + k] = (float)((double)w[o * per + k] * s[o]);
        ((float *)bd)[o] = (float)t[o];
    }
    const char *wname = g->values[cv->inputs[1]]->name;
    if (set_inputs(g, cv, w2, b2))
        return -1;
    bn->dead = 1;
    const char *x = g->values[cv->outputs[0]]->name;
    take_over(g, cv, bn->outputs[0]);
    gc_pass_note(ctx, "conv2d %%%s + batch_norm %%%s -> conv2d %%%s (weight %s * scale, new bias %s)", x,
                 g->values[cv->outputs[0]]->name, g->values[cv->outputs[0]]->name, wname, g->values[b2]->name);
    return 1;
}

/* batch_norm bn over a 2-D matmul node mm (add: its bias add in between, or
 * NULL). 1 folded, 0 not, -1 out of memory. */
static int fold_matmul(gc_pass_ctx *ctx, gc_node *bn, gc_node *mm, gc_node *add, int *uses)
{
    gc_graph *g = ctx->g;
    int mo = mm->outputs[0];
    const op_type *ot = &g->values[mo]->type, *wt = &g->values[mm->inputs[1]]->type;
    op_dtype dt = ot->dtype;
    if (mm->attrs[2].i != OP_ACT_NONE || ot->rank != 2 || wt->rank != 2 || ot->dims[1].sym >= 0 ||
        wt->dims[0].sym >= 0 || wt->dims[1].sym >= 0 || (dt != OP_F32 && dt != OP_F64))
        return 0;
    int tb = mm->attrs[1].i != 0;
    int64_t C = ot->dims[1].coef, K = tb ? wt->dims[1].coef : wt->dims[0].coef;
    if (!known(g, mm->inputs[1], dt, C * K))
        return 0;
    int bias = -1;
    if (add) {
        if (mm->n_inputs != 2 || add->op != OP_ADD || add->n_inputs != 2 || sole_consumer(g, uses, mo) != add)
            return 0;
        bias = add->inputs[0] == mo ? add->inputs[1] : add->inputs[0];
        if (bias == mo || g->values[bias]->type.rank != 1 || !known(g, bias, dt, C) ||
            !op_type_eq(&g->values[add->outputs[0]]->type, ot))
            return 0;
    } else if (mm->n_inputs > 2) {
        bias = mm->inputs[2];
        if (!known(g, bias, dt, C))
            return 0;
    }
    for (int i = 1; i < 5; i++)
        if (!known(g, bn->inputs[i], dt, C))
            return 0;
    double *s = gc_alloc(g->arena, sizeof(double) * (size_t)(2 * C + 1)), *t = s ? s + C : NULL;
    if (!s)
        return -1;
    if (bn_coefs(g, bn, dt, C, bias >= 0 ? g->values[bias]->data : NULL, s, t))
        return 0;
    void *wd, *bd;
    op_type bt = { dt, 1, { op_dim_const(C) } };
    const char *wname = g->values[mm->inputs[1]]->name;
    int w2 = new_const(g, wname, wt, mm->loc, &wd);
    int b2 = w2 >= 0 ? new_const(g, bias >= 0 ? g->values[bias]->name : gc_sprintf(g->arena, "%s.bias", wname), &bt,
                                 mm->loc, &bd)
                     : -1;
    if (b2 < 0)
        return -1;
    const void *w = g->values[mm->inputs[1]]->data;
    for (int64_t i = 0; i < C * K; i++) {
        int64_t c = tb ? i / K : i % C; /* [C, K] rows or [K, C] columns */
        wr(wd, dt, i, rd(w, dt, i) * s[c]);
    }
    for (int64_t c = 0; c < C; c++)
        wr(bd, dt, c, t[c]);
    if (set_inputs(g, mm, w2, b2))
        return -1;
    const char *x = g->values[mo]->name;
    if (add)
        add->dead = 1;
    bn->dead = 1;
    take_over(g, mm, bn->outputs[0]);
    gc_pass_note(ctx, "matmul %%%s%s%s + batch_norm %%%s -> matmul %%%s (weight %s * scale, bias %s)", x,
                 add ? " + add " : "", add ? g->values[bias]->name : "", g->values[mo]->name, g->values[mo]->name,
                 wname, g->values[b2]->name);
    return 1;
}

int gc_pass_fold_bn(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    int n_folded = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        gc_node *bn = g->nodes[i];
        if (bn->dead || bn->op != OP_BATCH_NORM || bn->n_inputs != 5 || bn->n_outputs != 1)
            continue;
        int *uses = gc_graph_use_counts(g);
        if (!uses)
            return -1;
        int x = bn->inputs[0], r = 0;
        gc_node *p = producer(g, x);
        if (!p || sole_consumer(g, uses, x) != bn || p->n_outputs != 1)
            continue;
        if (p->op == OP_CONV2D) {
            r = fold_conv(ctx, bn, p);
        } else if (p->op == OP_MATMUL) {
            r = fold_matmul(ctx, bn, p, NULL, uses);
        } else if (p->op == OP_ADD && p->n_inputs == 2) {
            for (int k = 0; k < 2 && r == 0; k++) {
                gc_node *mm = producer(g, p->inputs[k]);
                if (mm && mm->op == OP_MATMUL && mm->n_outputs == 1)
                    r = fold_matmul(ctx, bn, mm, p, uses);
            }
        }
        if (r < 0) {
            gc_error(ctx->d, bn->loc, "fold_bn: out of memory");
            return -1;
        }
        n_folded += r;
    }
    if (n_folded && ctx->rep)
        ctx->rep->summary = gc_sprintf(g->arena, "%d batch norm%s folded", n_folded, n_folded == 1 ? "" : "s");
    return 0;
}
