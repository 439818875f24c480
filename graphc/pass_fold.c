/* graphc/pass_fold.c -- constant folding: a live node of a foldable op whose
 * inputs are all constants (never params: those are trainable variables) is
 * run at compile time with the runtime's own CPU kernel (ops/, one
 * arithmetic) and replaced by a constant holding its result. Folds that could
 * change results are refused and reported: a failing kernel (integer division
 * by zero), NaN/Inf out of finite inputs, results over ctx->fold_limit, and
 * results much larger than their inputs (broadcasts). */
#include "pass.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "%name", or the number itself for a scalar constant ("2", "0.5"). */
static const char *fold_label(gc_graph *g, int v)
{
    const gc_value *x = g->values[v];
    if (x->kind == GV_CONST && x->data && x->type.rank == 0 && x->nbytes == op_dtype_size(x->type.dtype)) {
        switch (x->type.dtype) {
        case OP_F32: return gc_sprintf(g->arena, "%.9g", (double)*(const float *)x->data);
        case OP_F64: return gc_sprintf(g->arena, "%.17g", *(const double *)x->data);
        case OP_I32: return gc_sprintf(g->arena, "%d", (int)*(const int32_t *)x->data);
        case OP_I64: return gc_sprintf(g->arena, "%lld", (long long)*(const int64_t *)x->data);
        case OP_BOOL: return *(const uint8_t *)x->data ? "true" : "false";
        case OP_U8: return gc_sprintf(g->arena, "%u", (unsigned)*(const uint8_t *)x->data);
        case OP_I8: return gc_sprintf(g->arena, "%d", (int)*(const int8_t *)x->data);
        default: break;
        }
    }
    return gc_sprintf(g->arena, "%%%s", x->name);
}

/* "%out = op(%a, 2)" for a report line. */
static const char *fold_node_str(gc_graph *g, const gc_node *n)
{
    char buf[768];
    size_t len = 0;
    for (int o = 0; o < n->n_outputs && len < sizeof buf; o++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%%%s", o ? ", " : "", g->values[n->outputs[o]]->name);
    if (len < sizeof buf)
        len += (size_t)snprintf(buf + len, sizeof buf - len, " = %s(", op_table[n->op].name);
    for (int j = 0; j < n->n_inputs && len < sizeof buf; j++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", j ? ", " : "", fold_label(g, n->inputs[j]));
    if (len < sizeof buf)
        snprintf(buf + len, sizeof buf - len, ")");
    return gc_strdup(g->arena, buf);
}

/* 1 when a float tensor holds a NaN or an infinity. */
static int has_nonfinite(const op_tensor *t, int64_t numel)
{
    if (t->dtype == OP_F32) {
        const float *p = t->data;
        for (int64_t i = 0; i < numel; i++)
            if (!isfinite(p[i]))
                return 1;
    } else if (t->dtype == OP_F64) {
        const double *p = t->data;
        for (int64_t i = 0; i < numel; i++)
            if (!isfinite(p[i]))
                return 1;
    }
    return 0;
}

/* Tries to fold node n. Returns 1 when folded, 2 when refused (noted), 0
 * when it does not apply, -1 when out of memory. */
static int fold_node(gc_pass_ctx *ctx, gc_node *n)
{
    gc_graph *g = ctx->g;
    const op_def *d = &op_table[n->op];
    if (!(d->flags & OPF_FOLDABLE) || !d->cpu || n->n_inputs < 1 || n->n_inputs > OP_MAX_INPUTS ||
        n->n_outputs < 1 || n->n_outputs > OP_MAX_OUTPUTS)
        return 0;
    op_type in_types[OP_MAX_INPUTS], out_types[OP_MAX_OUTPUTS];
    op_tensor in[OP_MAX_INPUTS], out[OP_MAX_OUTPUTS];
    int64_t out_numel[OP_MAX_OUTPUTS];
    int in_nonfinite = 0;
    int64_t in_total = 0;
    for (int j = 0; j < n->n_inputs; j++) {
        const gc_value *v = g->values[n->inputs[j]];
        if (v->kind != GV_CONST || v->dead || !v->data)
            return 0;
        in_types[j] = v->type;
        if (op_type_eval(&v->type, NULL, 0, &in[j]))
            return 0;
        int64_t ne = op_tensor_numel(&in[j]);
        if (ne < 0 || (size_t)ne * op_dtype_size(v->type.dtype) != v->nbytes)
            return 0; /* inconsistent constant: leave it to the runtime's checks */
        in[j].data = v->data;
        in_total += ne;
        in_nonfinite |= has_nonfinite(&in[j], ne);
    }
    char err[OP_ERR_LEN] = "";
    memset(out_types, 0, sizeof out_types);
    op_set_sym_names(g->symbols, g->n_symbols);
    if (d->infer(n->attrs, in_types, n->n_inputs, out_types, n->n_outputs, err, sizeof err))
        return 0; /* sema checked this node; nothing to gain here */
    const char *what = fold_node_str(g, n);
    for (int o = 0; o < n->n_outputs; o++) {
        if (!op_type_eq(&out_types[o], &g->values[n->outputs[o]]->type) ||
            op_type_eval(&out_types[o], NULL, 0, &out[o]))
            return 0;
        out_numel[o] = op_tensor_numel(&out[o]);
        if (out_numel[o] < 0)
            return 0;
        int64_t limit = ctx->fold_limit > 0 ? ctx->fold_limit : (int64_t)1 << 20;
        if (out_numel[o] > limit) {
            gc_pass_note(ctx, "kept %s: result of %lld elements is over the fold limit (%lld)", what,
                         (long long)out_numel[o], (long long)limit);
            return 2;
        }
        /* a broadcast (expand of a scalar, zeros_like...) is cheaper to run
         * than to store: folding it would only grow the binary */
        if (out_numel[o] > 4096 && out_numel[o] > 2 * in_total) {
            gc_pass_note(ctx, "kept %s: its %lld elements come from %lld (folding would grow the binary)", what,
                         (long long)out_numel[o], (long long)in_total);
            return 2;
        }
        out[o].data = NULL;
    }
    int rc = -1;
    void *ws = NULL;
    op_ctx kc;
    memset(&kc, 0, sizeof kc);
    kc.n_threads = 1;
    for (int o = 0; o < n->n_outputs; o++) {
        size_t nb = (size_t)out_numel[o] * op_dtype_size(out[o].dtype);
        out[o].data = gc_alloc(g->arena, nb ? nb : 1);
        if (!out[o].data)
            goto done;
    }
    if (d->workspace) {
        kc.workspace_size = d->workspace(n->attrs, in, n->n_inputs, out, n->n_outputs);
        if (kc.workspace_size) {
            ws = malloc(kc.workspace_size);
            if (!ws)
                goto done;
            kc.workspace = ws;
        }
    }
    if (d->cpu(&kc, n->attrs, in, n->n_inputs, out, n->n_outputs)) {
        gc_pass_note(ctx, "kept %s: the kernel fails (%s)", what, kc.err[0] ? kc.err : "no message");
        rc = 2;
        goto done;
    }
    if (!in_nonfinite)
        for (int o = 0; o < n->n_outputs; o++)
            if (has_nonfinite(&out[o], out_numel[o])) {
                gc_pass_note(ctx, "kept %s: the result has NaN or Inf but the inputs have none", what);
                rc = 2;
                goto done;
            }
    /* Each output becomes a constant that takes over the value's name (so a
     * graph output keeps its name); the old value is renamed out of the way. */
    for (int o = 0; o < n->n_outputs; o++) {
        int old = n->outputs[o];
        const char *name = g->values[old]->name;
        gc_graph_rename(g, old, gc_sprintf(g->arena, "%s.folded", name));
        int nv = gc_graph_add_value(g, GV_CONST, name, &out_types[o], n->loc);
        if (nv < 0)
            goto done;
        gc_value *c = g->values[nv];
        c->data = out[o].data;
        c->nbytes = (size_t)out_numel[o] * op_dtype_size(out[o].dtype);
        c->user_named = g->values[old]->user_named;
        gc_graph_replace_uses(g, old, nv);
        char ty[320];
        op_type_str(&c->type, g->symbols, ty, sizeof ty);
        gc_pass_note(ctx, "folded %s -> %s%s%s", what, c->type.rank == 0 ? "" : "const ",
                     c->type.rank == 0 ? fold_label(g, nv) : gc_sprintf(g->arena, "%%%s: %s", c->name, ty),
                     c->type.rank == 0 ? gc_sprintf(g->arena, " (const %%%s)", c->name) : "");
    }
    n->dead = 1;
    rc = 1;
done:
    free(ws);
    if (rc < 0)
        gc_error(ctx->d, n->loc, "out of memory while folding %s", what);
    return rc;
}

int gc_pass_fold(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    int n_folded = 0, n_kept = 0;
    /* Nodes are in execution order: a fold makes the constants that let the
     * nodes after it fold in the same sweep. */
    for (int i = 0; i < g->n_nodes; i++) {
        gc_node *n = g->nodes[i];
        if (n->dead)
            continue;
        int r = fold_node(ctx, n);
        if (r < 0)
            return -1;
        n_folded += r == 1;
        n_kept += r == 2;
    }
    if (ctx->rep)
        ctx->rep->summary = gc_sprintf(g->arena, "%d node%s folded, %d kept", n_folded, n_folded == 1 ? "" : "s",
                                       n_kept);
    return 0;
}
