/* graphc/ir.c -- building, querying and printing the IR graph (see ir.h). */
#include "ir.h"

#include <string.h>

gc_graph *gc_graph_new(gc_arena *a, const char *name)
{
    gc_graph *g = gc_alloc(a, sizeof *g);
    if (!g)
        return NULL;
    g->arena = a;
    g->name = gc_strdup(a, name ? name : "graph");
    g->train_lr_input = -1;
    return g;
}

int gc_graph_symbol(gc_graph *g, const char *name)
{
    for (int i = 0; i < g->n_symbols; i++)
        if (strcmp(g->symbols[i], name) == 0)
            return i;
    if (gc_grow(g->arena, (void **)&g->symbols, &g->cap_symbols, g->n_symbols + 1, sizeof(char *)))
        return -1;
    g->symbols[g->n_symbols] = gc_strdup(g->arena, name);
    return g->n_symbols++;
}

int gc_graph_find(const gc_graph *g, const char *name)
{
    for (int i = 0; i < g->n_values; i++)
        if (g->values[i]->name && strcmp(g->values[i]->name, name) == 0)
            return i;
    return -1;
}

const char *gc_graph_unique_name(gc_graph *g, const char *name)
{
    if (gc_graph_find(g, name) < 0)
        return gc_strdup(g->arena, name);
    for (int k = 2;; k++) {
        char *n = gc_sprintf(g->arena, "%s_%d", name, k);
        if (!n || gc_graph_find(g, n) < 0)
            return n;
    }
}

void gc_graph_rename(gc_graph *g, int v, const char *name)
{
    gc_value *val = g->values[v];
    if (val->name && strcmp(val->name, name) == 0)
        return;
    val->name = NULL; /* so its own old name does not count as taken */
    val->name = gc_graph_unique_name(g, name);
}

static int new_value(gc_graph *g, gc_value_kind kind, const char *name, const op_type *type, gc_loc loc)
{
    if (gc_grow(g->arena, (void **)&g->values, &g->cap_values, g->n_values + 1, sizeof(gc_value *)))
        return -1;
    gc_value *v = gc_alloc(g->arena, sizeof *v);
    if (!v)
        return -1;
    v->id = g->n_values;
    v->kind = kind;
    v->type = *type;
    v->producer = -1;
    v->loc = loc;
    v->name = name ? gc_graph_unique_name(g, name) : gc_sprintf(g->arena, "v%d", v->id);
    if (!name && gc_graph_find(g, v->name) >= 0)
        v->name = gc_graph_unique_name(g, v->name);
    g->values[g->n_values] = v;
    return g->n_values++;
}

int gc_graph_add_value(gc_graph *g, gc_value_kind kind, const char *name, const op_type *type, gc_loc loc)
{
    return new_value(g, kind, name, type, loc);
}

int gc_graph_add_node(gc_graph *g, op_kind op, const char *name, int n_inputs, const int *inputs,
                      const op_attr *attrs, int n_outputs, const op_type *out_types, gc_loc loc)
{
    if (gc_grow(g->arena, (void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof(gc_node *)))
        return -1;
    gc_node *n = gc_alloc(g->arena, sizeof *n);
    int *ins = gc_alloc(g->arena, sizeof(int) * (size_t)(n_inputs + 1));
    int *outs = gc_alloc(g->arena, sizeof(int) * (size_t)(n_outputs + 1));
    if (!n || !ins || !outs)
        return -1;
    n->id = g->n_nodes;
    n->op = op;
    n->name = gc_strdup(g->arena, name ? name : op_table[op].name);
    n->n_inputs = n_inputs;
    memcpy(ins, inputs, sizeof(int) * (size_t)n_inputs);
    n->inputs = ins;
    if (attrs)
        memcpy(n->attrs, attrs, sizeof n->attrs);
    else
        op_attrs_default(op, n->attrs);
    n->loc = loc;
    n->n_outputs = n_outputs;
    n->outputs = outs;
    g->nodes[g->n_nodes] = n;
    for (int i = 0; i < n_outputs; i++) {
        const char *base = op_table[op].name;
        int v = new_value(g, GV_NODE, gc_sprintf(g->arena, "%s_%d", base, n->id), &out_types[i], loc);
        if (v < 0)
            return -1;
        g->values[v]->producer = n->id;
        g->values[v]->out_index = i;
        outs[i] = v;
    }
    return g->n_nodes++;
}

int gc_graph_add_output(gc_graph *g, int v)
{
    if (gc_grow(g->arena, (void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof(int)))
        return -1;
    g->outputs[g->n_outputs++] = v;
    return 0;
}

int *gc_graph_use_counts(gc_graph *g)
{
    int *uses = gc_alloc(g->arena, sizeof(int) * (size_t)(g->n_values + 1));
    if (!uses)
        return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        const gc_node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_inputs; j++)
            uses[n->inputs[j]]++;
    }
    for (int i = 0; i < g->n_outputs; i++)
        uses[g->outputs[i]]++;
    return uses;
}

static void print_attrs(FILE *out, const gc_node *n)
{
    const op_def *d = &op_table[n->op];
    for (int a = 0; a < d->n_attrs; a++) {
        const op_attr *v = &n->attrs[a];
        const op_attr *def = &d->attrs[a].def;
        switch (d->attrs[a].kind) {
        case OP_ATTR_INT:
            if (v->i != def->i || d->attrs[a].required)
                fprintf(out, ", %s=%lld", d->attrs[a].name, (long long)v->i);
            break;
        case OP_ATTR_FLOAT:
            if (v->f != def->f || d->attrs[a].required)
                fprintf(out, ", %s=%g", d->attrs[a].name, v->f);
            break;
        case OP_ATTR_INTS:
            if (v->n != def->n || memcmp(v->ints, def->ints, sizeof(int64_t) * (size_t)v->n) ||
                d->attrs[a].required) {
                fprintf(out, ", %s=[", d->attrs[a].name);
                for (int k = 0; k < v->n; k++)
                    fprintf(out, "%s%lld", k ? ", " : "", (long long)v->ints[k]);
                fputc(']', out);
            }
            break;
        default:
            break;
        }
    }
}

void gc_ir_print(FILE *out, const gc_graph *g, const gc_diag *d)
{
    char ty[320];
    op_set_sym_names(g->symbols, g->n_symbols);
    fprintf(out, "graph %s {\n", g->name);
    for (int i = 0; i < g->n_values; i++) {
        const gc_value *v = g->values[i];
        if (v->kind == GV_NODE || v->dead)
            continue;
        op_type_str(&v->type, g->symbols, ty, sizeof ty);
        const char *k = v->kind == GV_INPUT ? "input" : v->kind == GV_PARAM ? "param" : "const";
        fprintf(out, "  %s %%%s: %s%s\n", k, v->name, ty,
                v->kind == GV_PARAM && !v->trainable ? " frozen" : "");
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const gc_node *n = g->nodes[i];
        if (n->dead)
            continue;
        fputs("  ", out);
        for (int o = 0; o < n->n_outputs; o++) {
            const gc_value *v = g->values[n->outputs[o]];
            op_type_str(&v->type, g->symbols, ty, sizeof ty);
            fprintf(out, "%s%%%s: %s", o ? ", " : "", v->name, ty);
        }
        fprintf(out, " = %s(", op_table[n->op].name);
        for (int j = 0; j < n->n_inputs; j++)
            fprintf(out, "%s%%%s", j ? ", " : "", g->values[n->inputs[j]]->name);
        print_attrs(out, n);
        fputc(')', out);
        if (d && n->loc.file >= 0 && n->loc.file < d->n_files) {
            int line, col;
            gc_loc_linecol(d, n->loc, &line, &col);
            const char *p = d->files[n->loc.file].path;
            const char *base = strrchr(p, '/');
            fprintf(out, "  @%s:%d:%d", base ? base + 1 : p, line, col);
        }
        fputc('\n', out);
    }
    fputs("  output", out);
    for (int i = 0; i < g->n_outputs; i++)
        fprintf(out, "%s %%%s", i ? "," : "", g->values[g->outputs[i]]->name);
    fputs("\n}\n", out);
}

static void dot_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
}

void gc_ir_dot(FILE *out, const gc_graph *g)
{
    char ty[320];
    fprintf(out, "digraph \"");
    dot_escape(out, g->name);
    fprintf(out, "\" {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n");
    for (int i = 0; i < g->n_values; i++) {
        const gc_value *v = g->values[i];
        if (v->kind == GV_NODE || v->dead)
            continue;
        op_type_str(&v->type, g->symbols, ty, sizeof ty);
        const char *shape = v->kind == GV_INPUT ? "ellipse" : v->kind == GV_PARAM ? "box" : "note";
        fprintf(out, "  v%d [shape=%s, label=\"", i, shape);
        dot_escape(out, v->name);
        fprintf(out, "\\n%s\"];\n", ty);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const gc_node *n = g->nodes[i];
        if (n->dead)
            continue;
        fprintf(out, "  n%d [shape=box, style=\"rounded,filled\", fillcolor=\"#dde8f8\", label=\"%s\"];\n",
                i, op_table[n->op].name);
        for (int j = 0; j < n->n_inputs; j++) {
            const gc_value *v = g->values[n->inputs[j]];
            op_type_str(&v->type, g->symbols, ty, sizeof ty);
            if (v->kind == GV_NODE)
                fprintf(out, "  n%d -> n%d [label=\"%s\"];\n", v->producer, i, ty);
            else
                fprintf(out, "  v%d -> n%d;\n", v->id, i);
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        const gc_value *v = g->values[g->outputs[i]];
        fprintf(out, "  out%d [shape=ellipse, style=bold, label=\"", i);
        dot_escape(out, v->name);
        fprintf(out, "\"];\n");
        if (v->kind == GV_NODE)
            fprintf(out, "  n%d -> out%d;\n", v->producer, i);
        else
            fprintf(out, "  v%d -> out%d;\n", v->id, i);
    }
    fputs("}\n", out);
}

int gc_graph_replace_uses(gc_graph *g, int from, int to)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        gc_node *nd = g->nodes[i];
        if (nd->dead)
            continue;
        for (int j = 0; j < nd->n_inputs; j++)
            if (nd->inputs[j] == from) {
                nd->inputs[j] = to;
                n++;
            }
    }
    for (int i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] == from) {
            g->outputs[i] = to;
            n++;
        }
    return n;
}

int gc_graph_toposort(gc_graph *g)
{
    int nn = g->n_nodes;
    gc_node **order = gc_alloc(g->arena, sizeof(gc_node *) * (size_t)(nn + 1));
    char *ready = gc_alloc(g->arena, (size_t)g->n_values + 1);
    char *placed = gc_alloc(g->arena, (size_t)nn + 1);
    if (!order || !ready || !placed)
        return -1;
    for (int v = 0; v < g->n_values; v++)
        ready[v] = g->values[v]->kind != GV_NODE;
    int n_out = 0, progress = 1;
    /* repeated stable sweeps: linear when the order is already valid */
    while (progress) {
        progress = 0;
        for (int i = 0; i < nn; i++) {
            gc_node *n = g->nodes[i];
            if (placed[i])
                continue;
            if (n->dead) {
                placed[i] = 1;
                continue;
            }
            int ok = 1;
            for (int j = 0; j < n->n_inputs && ok; j++)
                ok = ready[n->inputs[j]];
            if (!ok)
                continue;
            placed[i] = 1;
            order[n_out++] = n;
            for (int j = 0; j < n->n_outputs; j++)
                ready[n->outputs[j]] = 1;
            progress = 1;
        }
    }
    for (int i = 0; i < nn; i++)
        if (!placed[i])
            return -1;
    /* dead nodes go after the live ones */
    for (int i = 0; i < nn; i++)
        if (g->nodes[i]->dead)
            order[n_out++] = g->nodes[i];
    for (int i = 0; i < nn; i++) {
        g->nodes[i] = order[i];
        order[i]->id = i;
        for (int j = 0; j < order[i]->n_outputs; j++)
            g->values[order[i]->outputs[j]]->producer = i;
    }
    return 0;
}
