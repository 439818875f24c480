/* graphc/pass_cse.c -- common subexpression elimination: constants with the
 * same type and bytes merge into the first one, then a live node with the
 * same op, inputs (either order for commutative binary ops) and attributes
 * as an earlier node is replaced by it. Params never merge (variables);
 * dropout never merges (random in training). Graph outputs keep their names. */
#include "pass.h"

#include <string.h>

static int cse_is_output(const gc_graph *g, int v)
{
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == v)
            return 1;
    return 0;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0x100000001b3ull;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* ------------------------------------------------------------ constants */

static int const_ok(const gc_value *v)
{
    return v->kind == GV_CONST && !v->dead && v->data;
}

static uint64_t const_hash(const gc_value *v)
{
    uint64_t h = mix(0xcbf29ce484222325ull, (uint64_t)v->type.dtype);
    h = mix(h, (uint64_t)v->type.rank);
    for (int i = 0; i < v->type.rank; i++)
        h = mix(mix(h, (uint64_t)v->type.dims[i].coef), (uint64_t)(int64_t)v->type.dims[i].sym);
    return hash_bytes(h, v->data, v->nbytes);
}

static int const_same(const gc_value *a, const gc_value *b)
{
    return op_type_eq(&a->type, &b->type) && a->nbytes == b->nbytes && memcmp(a->data, b->data, a->nbytes) == 0;
}

/* ---------------------------------------------------------------- nodes */

static int commutes(const gc_node *n)
{
    return (op_table[n->op].flags & OPF_COMMUTATIVE) && n->n_inputs == 2;
}

static uint64_t node_hash(const gc_node *n)
{
    const op_def *d = &op_table[n->op];
    uint64_t h = mix(0xcbf29ce484222325ull, (uint64_t)n->op);
    h = mix(h, (uint64_t)n->n_inputs);
    if (commutes(n)) {
        int a = n->inputs[0], b = n->inputs[1];
        h = mix(mix(h, (uint64_t)(a < b ? a : b)), (uint64_t)(a < b ? b : a));
    } else {
        for (int j = 0; j < n->n_inputs; j++)
            h = mix(h, (uint64_t)n->inputs[j]);
    }
    for (int k = 0; k < d->n_attrs && k < OP_MAX_ATTRS; k++) {
        const op_attr *a = &n->attrs[k];
        switch (d->attrs[k].kind) {
        case OP_ATTR_INT: h = mix(h, (uint64_t)a->i); break;
        case OP_ATTR_FLOAT: h = hash_bytes(h, &a->f, sizeof a->f); break;
        case OP_ATTR_INTS:
            h = mix(h, (uint64_t)a->n);
            for (int i = 0; i < a->n && i < OP_MAX_INTS; i++)
                h = mix(h, (uint64_t)a->ints[i]);
            break;
        default: break;
        }
    }
    return h;
}

static int node_same(const gc_node *a, const gc_node *b)
{
    if (a->op != b->op || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs)
        return 0;
    if (commutes(a)) {
        int same = a->inputs[0] == b->inputs[0] && a->inputs[1] == b->inputs[1];
        int swapped = a->inputs[0] == b->inputs[1] && a->inputs[1] == b->inputs[0];
        if (!same && !swapped)
            return 0;
    } else {
        for (int j = 0; j < a->n_inputs; j++)
            if (a->inputs[j] != b->inputs[j])
                return 0;
    }
    const op_def *d = &op_table[a->op];
    for (int k = 0; k < d->n_attrs && k < OP_MAX_ATTRS; k++) {
        const op_attr *x = &a->attrs[k], *y = &b->attrs[k];
        switch (d->attrs[k].kind) {
        case OP_ATTR_INT:
            if (x->i != y->i)
                return 0;
            break;
        case OP_ATTR_FLOAT:
            if (memcmp(&x->f, &y->f, sizeof x->f) != 0)
                return 0;
            break;
        case OP_ATTR_INTS:
            if (x->n != y->n || x->n < 0 || x->n > OP_MAX_INTS ||
                memcmp(x->ints, y->ints, sizeof(int64_t) * (size_t)x->n) != 0)
                return 0;
            break;
        default:
            break;
        }
    }
    return 1;
}

/* Open-addressing table of ids (values or nodes), -1 = empty. */
typedef struct cse_table {
    int *slot;
    uint64_t *hash;
    size_t mask;
} cse_table;

static int table_init(gc_arena *a, cse_table *t, int n)
{
    size_t cap = 16;
    while (cap < (size_t)n * 2 + 16)
        cap <<= 1;
    t->slot = gc_alloc(a, sizeof(int) * cap);
    t->hash = gc_alloc(a, sizeof(uint64_t) * cap);
    if (!t->slot || !t->hash)
        return -1;
    for (size_t i = 0; i < cap; i++)
        t->slot[i] = -1;
    t->mask = cap - 1;
    return 0;
}

static const char *cse_node_str(gc_graph *g, const gc_node *n)
{
    char buf[768];
    size_t len = (size_t)snprintf(buf, sizeof buf, "%s(", op_table[n->op].name);
    for (int j = 0; j < n->n_inputs && len < sizeof buf; j++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%%%s", j ? ", " : "", g->values[n->inputs[j]]->name);
    if (len < sizeof buf)
        snprintf(buf + len, sizeof buf - len, ")");
    return gc_strdup(g->arena, buf);
}

static int merge_consts(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    cse_table t;
    if (table_init(g->arena, &t, g->n_values))
        return -1;
    int merged = 0;
    for (int v = 0; v < g->n_values; v++) {
        gc_value *x = g->values[v];
        if (!const_ok(x))
            continue;
        uint64_t h = const_hash(x);
        size_t i = (size_t)h & t.mask;
        for (; t.slot[i] >= 0; i = (i + 1) & t.mask)
            if (t.hash[i] == h && const_same(g->values[t.slot[i]], x))
                break;
        if (t.slot[i] < 0) {
            t.slot[i] = v;
            t.hash[i] = h;
            continue;
        }
        int keep = t.slot[i];
        if (cse_is_output(g, v))
            continue; /* a constant cannot take over an output's name */
        char ty[320];
        op_type_str(&x->type, g->symbols, ty, sizeof ty);
        gc_graph_replace_uses(g, v, keep);
        x->dead = 1;
        gc_pass_note(ctx, "const %%%s -> %%%s (same %s data)", x->name, g->values[keep]->name, ty);
        merged++;
    }
    return merged;
}

static int merge_nodes(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    cse_table t;
    if (table_init(g->arena, &t, g->n_nodes))
        return -1;
    int merged = 0;
    /* In execution order: a merge rewires later nodes' inputs at once, so
     * their duplicates become equal too. */
    for (int ni = 0; ni < g->n_nodes; ni++) {
        gc_node *n = g->nodes[ni];
        if (n->dead || n->op == OP_DROPOUT)
            continue;
        uint64_t h = node_hash(n);
        size_t i = (size_t)h & t.mask;
        for (; t.slot[i] >= 0; i = (i + 1) & t.mask)
            if (t.hash[i] == h && node_same(g->nodes[t.slot[i]], n))
                break;
        if (t.slot[i] < 0) {
            t.slot[i] = ni;
            t.hash[i] = h;
            continue;
        }
        gc_node *k = g->nodes[t.slot[i]];
        /* An output of n that is a graph output moves its name to k's
         * output, which must then not be an output itself. */
        int ok = 1;
        for (int o = 0; o < n->n_outputs; o++)
            if (cse_is_output(g, n->outputs[o]) && cse_is_output(g, k->outputs[o]))
                ok = 0;
        if (!ok)
            continue;
        const char *what = cse_node_str(g, n);
        for (int o = 0; o < n->n_outputs; o++) {
            int from = n->outputs[o], to = k->outputs[o];
            const char *fname = g->values[from]->name, *tname = g->values[to]->name;
            if (cse_is_output(g, from)) {
                gc_graph_rename(g, from, gc_sprintf(g->arena, "%s.replaced", fname));
                gc_graph_rename(g, to, fname);
                g->values[to]->user_named = 1;
                gc_pass_note(ctx, "%%%s = %s -> %%%s (renamed %%%s: an output keeps its name)", fname, what, tname,
                             fname);
            } else {
                gc_pass_note(ctx, "%%%s = %s -> %%%s", fname, what, tname);
            }
            gc_graph_replace_uses(g, from, to);
        }
        n->dead = 1;
        merged++;
    }
    return merged;
}

int gc_pass_cse(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    int nc = merge_consts(ctx);
    int nn = nc < 0 ? -1 : merge_nodes(ctx);
    if (nc < 0 || nn < 0) {
        gc_error(ctx->d, GC_NOLOC, "out of memory in cse");
        return -1;
    }
    if (ctx->rep)
        ctx->rep->summary = gc_sprintf(g->arena, "%d const%s, %d node%s merged", nc, nc == 1 ? "" : "s", nn,
                                       nn == 1 ? "" : "s");
    return 0;
}
