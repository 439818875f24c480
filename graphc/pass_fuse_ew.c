/* graphc/pass_fuse_ew.c -- elementwise fusion: each maximal connected group
 * of fusable elementwise f32/f64 nodes (ops/fused.c lists them) whose
 * intermediate values are used only inside the group becomes one
 * fused_elementwise node that reads each outside input once and writes the
 * group's result once. The fused output takes the result's name. */
#include "pass.h"
#include "fused.h"

#include <stdlib.h>
#include <string.h>

/* Node n can join a group: a fusable op on floats with one output of the
 * dtype of all its inputs, and attributes the fused program can hold. */
static int fusable(const gc_graph *g, const gc_node *n)
{
    if (n->dead || n->n_outputs != 1 || fe_op_arity(n->op) == 0 || n->n_inputs != fe_op_arity(n->op))
        return 0;
    op_dtype t = g->values[n->outputs[0]]->type.dtype;
    if (t != OP_F32 && t != OP_F64)
        return 0;
    for (int j = 0; j < n->n_inputs; j++)
        if (g->values[n->inputs[j]]->type.dtype != t)
            return 0;
    if (n->op == OP_GELU && n->attrs[0].i != 0 && n->attrs[0].i != 1)
        return 0;
    return 1;
}

typedef struct fe_group {
    int *members;  /* node ids */
    int n;
    int words;     /* program words */
} fe_group;

static int in_group(const int *grp, int node, int gid) { return node >= 0 && grp[node] == gid; }

/* Distinct values read by the group from outside it. */
static int count_ext(const gc_graph *g, const fe_group *G, const int *grp, int gid, int *ext)
{
    int n = 0;
    for (int m = 0; m < G->n; m++) {
        const gc_node *nd = g->nodes[G->members[m]];
        for (int j = 0; j < nd->n_inputs; j++) {
            int v = nd->inputs[j];
            if (in_group(grp, g->values[v]->producer, gid))
                continue;
            int seen = 0;
            for (int k = 0; k < n && !seen; k++)
                seen = ext[k] == v;
            if (!seen)
                ext[n++] = v;
        }
    }
    return n;
}

/* Grows group gid from its root: adds every fusable producer of a member
 * whose output only group members read (not a graph output), while the
 * program and the inputs fit. */
static void grow(const gc_graph *g, fe_group *G, int *grp, int gid, const int *uses, int *ext)
{
    for (int changed = 1; changed;) {
        changed = 0;
        for (int m = 0; m < G->n; m++) {
            const gc_node *nd = g->nodes[G->members[m]];
            for (int j = 0; j < nd->n_inputs; j++) {
                int v = nd->inputs[j], p = g->values[v]->producer;
                if (p < 0 || grp[p] >= 0 || g->values[v]->kind != GV_NODE)
                    continue;
                const gc_node *pn = g->nodes[p];
                if (!fusable(g, pn) || g->values[pn->outputs[0]]->type.dtype != g->values[v]->type.dtype)
                    continue;
                int inside = 0;
                for (int k = 0; k < G->n; k++) {
                    const gc_node *c = g->nodes[G->members[k]];
                    for (int q = 0; q < c->n_inputs; q++)
                        inside += c->inputs[q] == v;
                }
                if (inside != uses[v])
                    continue; /* read outside the group, or a graph output */
                int w = G->words + 1 + fe_op_n_params(pn->op);
                if (w > FE_MAX_WORDS || G->n + 1 > FE_MAX_INSTR)
                    continue;
                grp[p] = gid;
                G->members[G->n++] = p;
                if (count_ext(g, G, grp, gid, ext) > OP_MAX_INPUTS) {
                    grp[p] = -1;
                    G->n--;
                    continue;
                }
                G->words = w;
                changed = 1;
            }
        }
    }
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Replaces group G (members in execution order, root last) by one fused
 * node. Returns 1 when fused, 0 when the group is left alone, -1 on OOM. */
static int fuse_group(gc_pass_ctx *ctx, fe_group *G, int *grp, int gid, int *ext)
{
    gc_graph *g = ctx->g;
    qsort(G->members, (size_t)G->n, sizeof(int), cmp_int);
    int n_ext = count_ext(g, G, grp, gid, ext);
    fe_prog prog;
    memset(&prog, 0, sizeof prog);
    prog.n_in = n_ext;
    prog.n_instr = G->n;
    for (int m = 0; m < G->n; m++) {
        const gc_node *nd = g->nodes[G->members[m]];
        fe_instr *x = &prog.ins[m];
        int regs[2] = { 0, 0 };
        for (int j = 0; j < nd->n_inputs && j < 2; j++) {
            int v = nd->inputs[j], p = g->values[v]->producer;
            if (in_group(grp, p, gid)) {
                int k = 0;
                while (G->members[k] != p)
                    k++;
                regs[j] = n_ext + k;
            } else {
                int k = 0;
                while (ext[k] != v)
                    k++;
                regs[j] = k;
            }
        }
        x->op = nd->op;
        x->a = regs[0];
        x->b = nd->n_inputs == 2 ? regs[1] : 0;
        x->variant = nd->op == OP_GELU ? (int)nd->attrs[0].i : 0;
        if (nd->op == OP_LEAKY_RELU)
            x->p[0] = nd->attrs[0].f;
        if (nd->op == OP_CLIP) {
            x->p[0] = nd->attrs[0].f;
            x->p[1] = nd->attrs[1].f;
        }
    }
    op_attr attrs[OP_MAX_ATTRS];
    op_attrs_default(OP_FUSED_ELEMENTWISE, attrs);
    if (fe_prog_encode(&prog, attrs) < 0)
        return 0;
    /* the op's own checks: program and types, and the result type kept */
    gc_node *root = g->nodes[G->members[G->n - 1]];
    int rv = root->outputs[0];
    op_type in_t[OP_MAX_INPUTS], out_t;
    for (int k = 0; k < n_ext; k++)
        in_t[k] = g->values[ext[k]]->type;
    char err[OP_ERR_LEN];
    if (op_table[OP_FUSED_ELEMENTWISE].infer(attrs, in_t, n_ext, &out_t, 1, err, sizeof err) ||
        !op_type_eq(&out_t, &g->values[rv]->type)) {
        gc_pass_note(ctx, "kept the group ending at %s: %s", g->values[rv]->name,
                     err[0] ? err : "result type differs");
        return 0;
    }
    /* note text, before names change */
    char text[1024];
    size_t tl = (size_t)snprintf(text, sizeof text, "fused");
    for (int m = 0; m < G->n && tl < sizeof text; m++)
        tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s %s", m ? "," : "",
                               g->values[g->nodes[G->members[m]]->outputs[0]]->name);
    const char *nname = gc_sprintf(g->arena, "fused_elementwise_%d", g->n_nodes);
    if (!nname)
        return -1;
    int nid = gc_graph_add_node(g, OP_FUSED_ELEMENTWISE, nname, n_ext, ext, attrs, 1, &out_t, root->loc);
    if (nid < 0)
        return -1;
    root = g->nodes[G->members[G->n - 1]];
    int fv = g->nodes[nid]->outputs[0];
    for (int m = 0; m < G->n; m++)
        g->nodes[G->members[m]]->dead = 1;
    /* the fused value takes over the result's name and uses */
    gc_value *lv = g->values[rv], *mv = g->values[fv];
    const char *name = lv->name;
    int user_named = lv->user_named;
    lv->name = gc_sprintf(g->arena, "%s.unfused", name);
    gc_graph_replace_uses(g, rv, fv);
    mv->name = name;
    mv->user_named = user_named;
    if (tl < sizeof text)
        snprintf(text + tl, sizeof text - tl, " -> %s %%%s (%d ops, %d input%s)", nname, name, G->n, n_ext,
                 n_ext == 1 ? "" : "s");
    gc_pass_note(ctx, "%s", text);
    return 1;
}

int gc_pass_fuse_ew(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    const int n_nodes = g->n_nodes; /* the fused nodes appended are not revisited */
    int *uses = gc_graph_use_counts(g);
    /* group of each node; room for the fused nodes (at most one per 2 nodes) */
    int *grp = gc_alloc(g->arena, sizeof(int) * (size_t)(2 * n_nodes + 1));
    int *members = gc_alloc(g->arena, sizeof(int) * (size_t)(FE_MAX_INSTR + 1));
    int *ext = gc_alloc(g->arena, sizeof(int) * (size_t)(2 * FE_MAX_INSTR + 2));
    if (!uses || !grp || !members || !ext) {
        gc_error(ctx->d, GC_NOLOC, "fuse_ew: out of memory");
        return -1;
    }
    for (int i = 0; i < 2 * n_nodes + 1; i++)
        grp[i] = -1;
    int n_groups = 0, n_ops = 0;
    for (int i = n_nodes - 1; i >= 0; i--) {
        gc_node *n = g->nodes[i];
        if (grp[i] >= 0 || !fusable(g, n))
            continue;
        fe_group G = { members, 1, 1 + fe_op_n_params(n->op) };
        members[0] = i;
        grp[i] = i;
        grow(g, &G, grp, i, uses, ext);
        if (G.n < 2)
            continue;
        int r = fuse_group(ctx, &G, grp, i, ext);
        if (r < 0) {
            gc_error(ctx->d, n->loc, "fuse_ew: out of memory");
            return -1;
        }
        if (r > 0) {
            n_groups++;
            n_ops += G.n;
        }
    }
    if (n_groups && ctx->rep)
        ctx->rep->summary = gc_sprintf(g->arena, "%d group%s, %d ops fused", n_groups, n_groups == 1 ? "" : "s",
                                       n_ops);
    return 0;
}
