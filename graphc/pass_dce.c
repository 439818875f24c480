/* graphc/pass_dce.c -- dead code elimination: marks dead every node none of
 * whose outputs reaches a graph output (walking back from the outputs), and
 * drops params and constants nothing uses any more (emit skips them). */
#include "pass.h"

#include <string.h>

int gc_pass_dce(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    char *live = gc_alloc(g->arena, (size_t)g->n_values + 1);
    if (!live)
        return -1;
    for (int i = 0; i < g->n_outputs; i++)
        live[g->outputs[i]] = 1;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        gc_node *n = g->nodes[i];
        if (n->dead)
            continue;
        int used = 0;
        for (int j = 0; j < n->n_outputs; j++)
            used |= live[n->outputs[j]];
        if (!used) {
            n->dead = 1;
            gc_pass_note(ctx, "removed %s %s (unused)", op_table[n->op].name, g->values[n->outputs[0]]->name);
            continue;
        }
        for (int j = 0; j < n->n_inputs; j++)
            live[n->inputs[j]] = 1;
    }
    for (int i = 0; i < g->n_values; i++) {
        gc_value *v = g->values[i];
        if ((v->kind == GV_CONST || v->kind == GV_PARAM) && !live[i] && !v->dead) {
            v->dead = 1;
            gc_pass_note(ctx, "removed %s %s (unused)", v->kind == GV_PARAM ? "param" : "const", v->name);
        }
    }
    return 0;
}
