/* graphc/pass_memplan.c -- the static memory plan (runs last, at every -O
 * level): liveness over the node order, best-fit buffer reuse and in-place
 * writes, in TWO regions of one arena -- a constant-size region and a region
 * that scales with the batch symbol S -- so every offset is a + b*S and one
 * plan serves every batch size. A view op (reshape, flatten...) of an input
 * or param gets no buffer at all: it shares the caller's memory. -O0 plans
 * every value its own buffer (docs/memory.md). */
#include "pass.h"

#include <limits.h>
#include <string.h>

#define MP_ALIGN 64
#define LIVE_END INT_MAX

typedef struct mp_block {
    int64_t off, size;   /* in bytes (const region) or bytes per unit of S */
    int region;          /* 0: constant, 1: per S */
    int refs;            /* live values using it (in-place aliases) */
} mp_block;

typedef struct mp_state {
    mp_block *blk;
    int n_blk;
    int *live[2];        /* live block ids of each region, sorted by offset */
    int n_live[2];
    int64_t peak[2];     /* end of the highest block ever placed */
} mp_state;

static int64_t round_up64(int64_t n) { return (n + MP_ALIGN - 1) / MP_ALIGN * MP_ALIGN; }

/* Best fit among the gaps between the live blocks of its region (the
 * runtime planner's rule), or on top; reuse=0 always puts it on top of the
 * highest block ever placed. Returns 1 when it landed in memory some earlier
 * (now dead) block used, 0 when in fresh memory, -1 on overflow. */
static int mp_place(mp_state *st, int b, int reuse)
{
    mp_block *bk = &st->blk[b];
    int r = bk->region;
    int *live = st->live[r];
    int n = st->n_live[r];
    int64_t best = -1, best_gap = INT64_MAX, prev_end = 0;
    int pos = n;
    for (int i = 0; reuse && i < n; i++) {
        const mp_block *o = &st->blk[live[i]];
        int64_t gap = o->off - prev_end;
        if (gap >= bk->size && gap < best_gap) {
            best = prev_end;
            best_gap = gap;
            pos = i;
        }
        if (o->off + o->size > prev_end)
            prev_end = o->off + o->size;
    }
    if (best < 0) {
        best = reuse ? prev_end : st->peak[r];
        pos = n;
    }
    int64_t end;
    if (__builtin_add_overflow(best, bk->size, &end))
        return -1;
    memmove(&live[pos + 1], &live[pos], sizeof(int) * (size_t)(n - pos));
    live[pos] = b;
    st->n_live[r]++;
    bk->off = best;
    int reused = best < st->peak[r];
    if (end > st->peak[r])
        st->peak[r] = end;
    return reused;
}

static void mp_release(mp_state *st, int b)
{
    mp_block *bk = &st->blk[b];
    if (--bk->refs > 0)
        return;
    int r = bk->region;
    for (int i = 0; i < st->n_live[r]; i++)
        if (st->live[r][i] == b) {
            memmove(&st->live[r][i], &st->live[r][i + 1], sizeof(int) * (size_t)(st->n_live[r] - i - 1));
            st->n_live[r]--;
            return;
        }
}

static void bytes_str(int64_t c, int64_t s, const char *sym, char *buf, size_t len)
{
    if (s && c)
        snprintf(buf, len, "%lld + %lld*%s bytes", (long long)c, (long long)s, sym);
    else if (s)
        snprintf(buf, len, "%lld*%s bytes", (long long)s, sym);
    else
        snprintf(buf, len, "%lld bytes", (long long)c);
}

/* Leaves the graph without a plan and says why in the report. */
static int no_plan(gc_pass_ctx *ctx, const char *why)
{
    ctx->g->mplan = NULL;
    if (ctx->rep)
        ctx->rep->summary = gc_sprintf(ctx->g->arena, "no static plan (%s): the runtime plans at run time", why);
    return 0;
}

int gc_pass_memplan(gc_pass_ctx *ctx)
{
    gc_graph *g = ctx->g;
    int nv = g->n_values;
    g->mplan = NULL;

    /* 1. byte size of every live node value: c, or c*S for one symbol S */
    int64_t *sz = gc_alloc(g->arena, sizeof(int64_t) * (size_t)(nv + 1));
    char *per_s = gc_alloc(g->arena, (size_t)nv + 1);
    char *ext = gc_alloc(g->arena, (size_t)nv + 1); /* a view of memory outside the arena */
    int *last = gc_alloc(g->arena, sizeof(int) * (size_t)(nv + 1));
    int *block_of = gc_alloc(g->arena, sizeof(int) * (size_t)(nv + 1));
    if (!sz || !per_s || !ext || !last || !block_of)
        return -1;
    int sym = -1;
    for (int v = 0; v < nv; v++) {
        last[v] = -1;
        block_of[v] = -1;
        sz[v] = -1;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const gc_node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_outputs; j++) {
            const gc_value *v = g->values[n->outputs[j]];
            op_dim d;
            int64_t b;
            if (op_type_numel(&v->type, &d) != 0)
                return no_plan(ctx, gc_sprintf(g->arena, "value '%s' has a size that is not a multiple of "
                                               "one symbol", v->name));
            if (__builtin_mul_overflow(d.coef, (int64_t)op_dtype_size(v->type.dtype), &b) || b > INT64_MAX / 4)
                return no_plan(ctx, gc_sprintf(g->arena, "value '%s' is too large", v->name));
            if (d.sym >= 0 && b > 0) {
                if (sym >= 0 && sym != d.sym)
                    return no_plan(ctx, gc_sprintf(g->arena, "value '%s' scales with %s, others with %s",
                                                   v->name, g->symbols[d.sym], g->symbols[sym]));
                sym = d.sym;
            }
            sz[v->id] = b;
            per_s[v->id] = d.sym >= 0 && b > 0;
        }
        for (int j = 0; j < n->n_inputs; j++)
            last[n->inputs[j]] = i;
    }
    for (int i = 0; i < g->n_outputs; i++)
        last[g->outputs[i]] = LIVE_END;

    /* 2. walk the schedule: outputs are placed while the inputs are live,
     * then what was read for the last time here is released */
    mp_state st;
    memset(&st, 0, sizeof st);
    st.blk = gc_alloc(g->arena, sizeof(mp_block) * (size_t)(nv + 1));
    st.live[0] = gc_alloc(g->arena, sizeof(int) * (size_t)(nv + 1));
    st.live[1] = gc_alloc(g->arena, sizeof(int) * (size_t)(nv + 1));
    if (!st.blk || !st.live[0] || !st.live[1])
        return -1;
    int reuse = ctx->level > 0;
    int n_reused = 0, n_inplace = 0, n_views = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const gc_node *n = g->nodes[i];
        if (n->dead)
            continue;
        for (int j = 0; j < n->n_outputs; j++) {
            int o = n->outputs[j];
            if (last[o] < 0)
                last[o] = i; /* written, never read: free right after */
            if (sz[o] == 0)
                continue;    /* empty: no buffer */
            int in0 = n->n_inputs > 0 ? n->inputs[0] : o;
            if (reuse && j == 0 && in0 != o && (op_table[n->op].flags & OPF_VIEW)
                && (g->values[in0]->kind != GV_NODE || ext[in0])) {
                ext[o] = 1;  /* never written: in-place needs a buffer */
                n_views++;
                continue;
            }
            if (reuse && j == 0 && in0 != o && (op_table[n->op].flags & OPF_INPLACE) && g->values[in0]->kind == GV_NODE
                && last[in0] == i && block_of[in0] >= 0 && st.blk[block_of[in0]].refs == 1
                && sz[in0] == sz[o] && per_s[in0] == per_s[o]) {
                block_of[o] = block_of[in0];
                st.blk[block_of[o]].refs++;
                n_inplace++;
                continue;
            }
            int b = st.n_blk++;
            st.blk[b].region = per_s[o];
            /* constant-size blocks are 64-byte aligned; per-N blocks are
             * rounded to 64 bytes per N only when that wastes little (a
             * f32[N] value would take 16x its size), else to 8, which keeps
             * every offset naturally aligned for every N */
            st.blk[b].size = !per_s[o] || sz[o] >= 1024 ? round_up64(sz[o]) : (sz[o] + 7) / 8 * 8;
            st.blk[b].refs = 1;
            block_of[o] = b;
            int r = mp_place(&st, b, reuse);
            if (r < 0)
                return no_plan(ctx, "the activations overflow 64-bit offsets");
            n_reused += r;
        }
        for (int j = 0; j < n->n_inputs; j++) {
            int v = n->inputs[j];
            int dup = 0;
            for (int k = 0; k < j && !dup; k++)
                dup = n->inputs[k] == v;
            if (!dup && last[v] == i && block_of[v] >= 0)
                mp_release(&st, block_of[v]);
        }
        for (int j = 0; j < n->n_outputs; j++) {
            int o = n->outputs[j];
            if (last[o] == i && block_of[o] >= 0)
                mp_release(&st, block_of[o]);
        }
    }

    /* 3. the plan: constant region first, then the per-S region */
    gc_memplan *p = gc_alloc(g->arena, sizeof *p);
    if (!p || !(p->slots = gc_alloc(g->arena, sizeof(gc_mem_slot) * (size_t)(nv + 1))))
        return -1;
    p->sym = sym;
    p->arena_c = st.peak[0];
    p->arena_s = st.peak[1];
    p->n_values = nv;
    p->n_nodes = g->n_nodes;
    p->n_buffers = st.n_blk;
    p->n_reused = n_reused;
    p->n_inplace = n_inplace;
    p->n_views = n_views;
    for (int v = 0; v < nv; v++) {
        gc_mem_slot *s = &p->slots[v];
        if (sz[v] < 0) {
            s->off_c = s->off_s = s->bytes_c = s->bytes_s = -1;
            continue;
        }
        s->off_c = s->off_s = s->bytes_c = s->bytes_s = 0;
        s->view = ext[v];
        if (ext[v])
            continue;
        if (block_of[v] < 0) {     /* empty value */
            s->off_c = per_s[v] ? p->arena_c : 0;
            continue;
        }
        const mp_block *bk = &st.blk[block_of[v]];
        if (bk->region == 0) {
            s->off_c = bk->off;
            s->bytes_c = sz[v];
        } else {
            s->off_c = p->arena_c;
            s->off_s = bk->off;
            s->bytes_s = sz[v];
        }
    }
    g->mplan = p;
    if (ctx->rep) {
        const char *sn = sym >= 0 ? g->symbols[sym] : "N";
        char arena[96];
        bytes_str(p->arena_c, p->arena_s, sn, arena, sizeof arena);
        ctx->rep->summary = gc_sprintf(g->arena,
                                       "arena %s (%lld at %s=1), %d buffers%s, %d reused, %d in place, "
                                       "%d views of inputs",
                                       arena, (long long)(p->arena_c + p->arena_s), sn, p->n_buffers,
                                       reuse ? "" : " (-O0: no reuse)", n_reused, n_inplace, n_views);
    }
    return 0;
}
