/* graphc/pass_layout.c -- weight layout: an f32 matmul whose B operand is a
 * 2-D constant or param used with trans_b=1 (every Linear layer: x @ W^T,
 * W [out, in]) gets B pre-transposed into a new constant [in, out] and runs
 * with trans_b=0. The param itself is left untouched (its other uses and its
 * name keep working; DCE drops it when nothing else uses it).
 *
 * Measured (dnnl_sgemm, oneDNN 2.6, 2-core Zen 5 VM; median of 3x20 runs of
 * 10 calls, /tmp bench `sgemm('N','T') vs sgemm('N','N')`, ratio = time with
 * trans_b=T / time with N):
 *   M x N x K           1 thread  2 threads
 *   64 x 100 x 1000       1.33      1.30     (two-layer net)
 *   128 x 1024 x 784      0.99      1.14     (MLP layer 1)
 *   128 x 1024 x 1024     1.17      2.02     (MLP layer 2)
 *   128 x 10 x 1024       1.13      1.29
 *   64 x 120 x 400        1.19      1.35     (LeNet fc)
 *   64 x 84 x 120         1.33      1.36
 *   1024 x 256 x 1024     1.07      1.28     (transformer ffn down)
 *   1024 x 1024 x 256     1.01      1.00
 *   1 x 1000 x 512        1.01      0.96     (tie: GEMV)
 * trans_b=N is never measurably slower and up to 2x faster, so the pass
 * always pre-transposes. f64 (our blocked loop) was not measured: left alone. */
#include "pass.h"

#include <string.h>

int gc_pass_layout(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    int n0 = g->n_values, n_done = 0;
    /* one transposed copy per source value, shared by all its uses */
    int *made = gc_alloc(g->arena, sizeof(int) * (size_t)(n0 + 1));
    if (!made)
        return -1;
    for (int i = 0; i < n0; i++)
        made[i] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        gc_node *n = g->nodes[i];
        if (n->dead || n->op != OP_MATMUL || n->n_inputs < 2 || n->attrs[1].i != 1)
            continue;
        int b = n->inputs[1];
        gc_value *bv = g->values[b];
        const op_type *t = &bv->type;
        if (b >= n0 || (bv->kind != GV_CONST && (bv->kind != GV_PARAM || g->trains)) || bv->dead || !bv->data ||
            t->dtype != OP_F32 || t->rank != 2 || t->dims[0].sym >= 0 || t->dims[1].sym >= 0)
            continue;
        int64_t R = t->dims[0].coef, C = t->dims[1].coef;
        if (bv->nbytes != (size_t)(R * C) * sizeof(float))
            continue;
        if (made[b] < 0) {
            op_type tt = { OP_F32, 2, { op_dim_const(C), op_dim_const(R) } };
            int v = gc_graph_add_value(g, GV_CONST, gc_sprintf(g->arena, "%s.T", bv->name), &tt, bv->loc);
            float *d = v >= 0 ? gc_alloc(g->arena, sizeof(float) * (size_t)(R * C > 0 ? R * C : 1)) : NULL;
            if (!d) {
                gc_error(ctx->d, n->loc, "layout: out of memory");
                return -1;
            }
            bv = g->values[b]; /* the value array may have moved */
            const float *s = bv->data;
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < C; c++)
                    d[c * R + r] = s[r * C + c];
            g->values[v]->data = d;
            g->values[v]->nbytes = sizeof(float) * (size_t)(R * C);
            made[b] = v;
        }
        n->inputs[1] = made[b];
        n->attrs[1].i = 0;
        n_done++;
        gc_pass_note(ctx, "matmul %%%s: %s [%lld, %lld] with trans_b=1 -> %s [%lld, %lld] pre-transposed, trans_b=0",
                     g->values[n->outputs[0]]->name, bv->name, (long long)R, (long long)C, g->values[made[b]]->name,
                     (long long)C, (long long)R);
    }
    if (n_done && ctx->rep)
        ctx->rep->summary = gc_sprintf(g->arena, "%d weight%s pre-transposed", n_done, n_done == 1 ? "" : "s");
    return 0;
}
