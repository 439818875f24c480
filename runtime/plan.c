/* runtime/plan.c -- the per-shape plan of a session: concrete shapes of the
 * needed values (checked again by the infer rules), then liveness-based
 * best-fit offsets in ONE 64-byte-aligned arena (freed after the last read,
 * fetches kept to the end, OPF_INPLACE ops in place) and the workspace size.
 * Scratch is preallocated: planning at sizes already seen allocates nothing. */
#include "rt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_FOREVER INT32_MAX

static size_t round_up(size_t n) { return (n + RT_ALIGN - 1) / RT_ALIGN * RT_ALIGN; }

/* Evaluates value v's type at the bound symbols into its slot. */
static rt_status eval_slot(rt_session *s, int v)
{
    const rt_model *m = s->m;
    const rt_value *val = &m->values[v];
    rt_slot *sl = &s->slots[v];
    sl->offset = -1;
    for (int i = 0; i < val->type.rank; i++) {
        int sym = val->type.dims[i].sym;
        if (sym >= 0 && s->syms[sym] < 0) {
            rt_errf(s->err, sizeof s->err,
                    "value '%s' needs symbol %s, which none of the needed feeds binds", val->name,
                    m->syms[sym]);
            return RT_ERR_ARG;
        }
    }
    if (op_type_eval(&val->type, s->syms, m->n_syms, &sl->t) != 0) {
        rt_errf(s->err, sizeof s->err, "value '%s': shape overflows at the fed sizes", val->name);
        return RT_ERR_ARG;
    }
    int64_t numel = op_tensor_numel(&sl->t);
    size_t esz = op_dtype_size(val->type.dtype);
    if (numel < 0 || (uint64_t)numel > (SIZE_MAX / 2) / esz) {
        rt_errf(s->err, sizeof s->err, "value '%s': size overflows at the fed sizes", val->name);
        return RT_ERR_ARG;
    }
    sl->nbytes = (size_t)numel * esz;
    sl->t.data = s->const_ptr[v];
    return RT_OK;
}

/* Re-runs node k's inference on the concrete shapes. */
static rt_status check_concrete(rt_session *s, int k)
{
    const rt_model *m = s->m;
    const rt_node *nd = &m->nodes[k];
    op_type in[OP_MAX_INPUTS], out[OP_MAX_OUTPUTS];
    for (int j = 0; j < nd->n_inputs; j++)
        op_type_from_tensor(&s->slots[nd->inputs[j]].t, &in[j]);
    memset(out, 0, sizeof out);
    char msg[OP_ERR_LEN] = "";
    char where[320];
    if (nd->def->infer(nd->attrs, in, nd->n_inputs, out, nd->n_outputs, msg, sizeof msg) != 0) {
        rt_node_where(m, k, where, sizeof where);
        rt_errf(s->err, sizeof s->err, "%s: at the fed sizes: %s", where, msg[0] ? msg : "inference failed");
        return RT_ERR_ARG;
    }
    for (int j = 0; j < nd->n_outputs; j++) {
        op_type want;
        op_type_from_tensor(&s->slots[nd->outputs[j]].t, &want);
        if (!op_type_eq(&want, &out[j])) {
            char a[256], b[256];
            rt_node_where(m, k, where, sizeof where);
            op_type_str(&want, NULL, a, sizeof a);
            op_type_str(&out[j], NULL, b, sizeof b);
            rt_errf(s->err, sizeof s->err, "%s: at the fed sizes the stored type is %s but inputs give %s",
                    where, a, b);
            return RT_ERR_ARG;
        }
    }
    return RT_OK;
}

/* Best-fit placement of a block of size sz among the live blocks (sorted by
 * offset); returns the offset and inserts the block into the live list. */
static int64_t place_block(rt_session *s, int *n_live, int blk, int64_t sz, int64_t *peak)
{
    int64_t best = -1, best_gap = INT64_MAX, prev_end = 0;
    int best_pos = *n_live;
    for (int i = 0; i < *n_live; i++) {
        int b = s->live[i];
        int64_t gap = s->blk_off[b] - prev_end;
        if (gap >= sz && gap < best_gap) {
            best = prev_end;
            best_gap = gap;
            best_pos = i;
        }
        int64_t end = s->blk_off[b] + s->blk_size[b];
        if (end > prev_end)
            prev_end = end;
    }
    if (best < 0) {
        best = prev_end;
        best_pos = *n_live;
    }
    int64_t end;
    if (__builtin_add_overflow(best, sz, &end))
        return -1;
    memmove(&s->live[best_pos + 1], &s->live[best_pos], sizeof(int) * (size_t)(*n_live - best_pos));
    s->live[best_pos] = blk;
    (*n_live)++;
    s->blk_off[blk] = best;
    s->blk_size[blk] = sz;
    if (end > *peak)
        *peak = end;
    return best;
}

static void release_block(rt_session *s, int *n_live, int blk)
{
    if (--s->blk_refs[blk] > 0)
        return;
    for (int i = 0; i < *n_live; i++)
        if (s->live[i] == blk) {
            memmove(&s->live[i], &s->live[i + 1], sizeof(int) * (size_t)(*n_live - i - 1));
            (*n_live)--;
            return;
        }
}

static int can_alias(const rt_session *s, const rt_node *nd, int k)
{
    if (!(nd->def->flags & OPF_INPLACE))
        return 0;
    int in0 = nd->inputs[0], o = nd->outputs[0];
    return s->block_of[in0] >= 0 && s->last_use[in0] == k && s->blk_refs[s->block_of[in0]] == 1
        && s->slots[in0].nbytes == s->slots[o].nbytes && s->slots[o].nbytes > 0;
}

rt_status rt_plan(rt_session *s, int n_fetch, const int *fetch_ids)
{
    const rt_model *m = s->m;
    rt_status st;
    s->planned = 0;

    /* 1. concrete shapes of what the needed nodes read and write, and fetches */
    for (int v = 0; v < m->n_values; v++) {
        s->slots[v].offset = -1;
        s->last_use[v] = -1;
        s->block_of[v] = -1;
    }
    for (int i = 0; i < n_fetch; i++)
        if ((st = eval_slot(s, fetch_ids[i])))
            return st;
    for (int k = 0; k < m->n_nodes; k++) {
        if (!s->node_needed[k])
            continue;
        const rt_node *nd = &m->nodes[k];
        for (int j = 0; j < nd->n_inputs; j++)
            if ((st = eval_slot(s, nd->inputs[j])))
                return st;
        for (int j = 0; j < nd->n_outputs; j++)
            if ((st = eval_slot(s, nd->outputs[j])))
                return st;
        if ((st = check_concrete(s, k)))
            return st;
        for (int j = 0; j < nd->n_inputs; j++)
            s->last_use[nd->inputs[j]] = k;
    }
    for (int i = 0; i < n_fetch; i++)
        s->last_use[fetch_ids[i]] = LIVE_FOREVER;

    /* 2. buffers: outputs are placed while the inputs are still live, then
     * inputs read for the last time here are released */
    int n_live = 0, n_blk = 0;
    int64_t peak = 0;
    for (int k = 0; k < m->n_nodes; k++) {
        if (!s->node_needed[k])
            continue;
        const rt_node *nd = &m->nodes[k];
        for (int j = 0; j < nd->n_outputs; j++) {
            int o = nd->outputs[j];
            if (s->last_use[o] < 0)
                s->last_use[o] = k; /* written, never read: free right after */
            if (s->slots[o].nbytes == 0) {
                s->slots[o].offset = 0;
                continue;
            }
            if (j == 0 && can_alias(s, nd, k)) {
                int b = s->block_of[nd->inputs[0]];
                s->block_of[o] = b;
                s->blk_refs[b]++;
                continue;
            }
            int b = n_blk++;
            s->blk_refs[b] = 1;
            s->block_of[o] = b;
            if (place_block(s, &n_live, b, (int64_t)round_up(s->slots[o].nbytes), &peak) < 0) {
                rt_errf(s->err, sizeof s->err, "the activations do not fit in 64-bit offsets");
                return RT_ERR_NOMEM;
            }
        }
        for (int j = 0; j < nd->n_inputs; j++) {
            int v = nd->inputs[j];
            int dup = 0;
            for (int i = 0; i < j && !dup; i++)
                dup = nd->inputs[i] == v;
            if (!dup && s->last_use[v] == k && s->block_of[v] >= 0)
                release_block(s, &n_live, s->block_of[v]);
        }
        for (int j = 0; j < nd->n_outputs; j++) {
            int o = nd->outputs[j];
            if (s->last_use[o] == k && s->block_of[o] >= 0)
                release_block(s, &n_live, s->block_of[o]);
        }
    }

    /* 3. workspace */
    size_t ws = 0;
    for (int k = 0; k < m->n_nodes; k++) {
        const rt_node *nd = &m->nodes[k];
        if (!s->node_needed[k] || !nd->def->workspace)
            continue;
        op_tensor in[OP_MAX_INPUTS], out[OP_MAX_OUTPUTS];
        for (int j = 0; j < nd->n_inputs; j++)
            in[j] = s->slots[nd->inputs[j]].t;
        for (int j = 0; j < nd->n_outputs; j++)
            out[j] = s->slots[nd->outputs[j]].t;
        size_t w = nd->def->workspace(nd->attrs, in, nd->n_inputs, out, nd->n_outputs);
        if (w > ws)
            ws = w;
    }

    /* 4. grow the arena and the workspace when they are too small */
    size_t need = (size_t)peak;
    if (need > s->arena_size || !s->arena) {
        free(s->arena);
        s->arena = rt_aligned_alloc(need);
        s->arena_size = 0;
        if (!s->arena) {
            rt_errf(s->err, sizeof s->err, "out of memory for an activation arena of %zu bytes", need);
            return RT_ERR_NOMEM;
        }
        s->arena_size = round_up(need ? need : 1);
        memset(s->arena, 0, s->arena_size); /* touch the pages now, not in the first run */
    }
    if (ws > s->workspace_size || !s->workspace) {
        free(s->workspace);
        s->workspace = rt_aligned_alloc(ws);
        s->workspace_size = 0;
        if (!s->workspace) {
            rt_errf(s->err, sizeof s->err, "out of memory for a workspace of %zu bytes", ws);
            return RT_ERR_NOMEM;
        }
        s->workspace_size = round_up(ws ? ws : 1);
        memset(s->workspace, 0, s->workspace_size);
    }

    /* 5. pointers */
    for (int v = 0; v < m->n_values; v++) {
        if (s->block_of[v] >= 0) {
            s->slots[v].offset = s->blk_off[s->block_of[v]];
            s->slots[v].t.data = (char *)s->arena + s->slots[v].offset;
        } else if (s->slots[v].offset == 0 && m->values[v].kind == RT_VK_NODE) {
            s->slots[v].t.data = s->arena; /* empty tensor */
        }
    }
    s->plan_arena_bytes = need;
    s->plan_ws_bytes = ws;
    s->n_plans++;
    s->planned = 1;
    return RT_OK;
}
