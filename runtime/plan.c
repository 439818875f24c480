/* runtime/plan.c -- the per-shape plan of a session: concrete shapes of the
 * needed values (checked again by the infer rules), then the buffers: the
 * binary's static plan (offsets a + b*S, validated at load by rt_mplan_check)
 * when it has one and every fetch is a graph output, else liveness-based
 * best-fit offsets in ONE 64-byte-aligned arena (freed after the last read,
 * fetches kept to the end, OPF_INPLACE ops in place); and the workspace size.
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

/* ---- the static plan of the binary ---- */

/* lo lies entirely below hi for every value S >= 0 of the symbol: both
 * coefficients of lo's end are at most those of hi's start. */
static int below(const rt_mem_block *lo, const rt_mem_block *hi)
{
    return lo->off_c + lo->bytes_c <= hi->off_c && lo->off_s + lo->bytes_s <= hi->off_s;
}

static int block_empty(const rt_mem_block *b) { return b->bytes_c == 0 && b->bytes_s == 0; }

typedef struct mp_key {
    int64_t c, s;
    int b;
} mp_key;

static int key_cmp(const void *pa, const void *pb)
{
    const mp_key *a = pa, *b = pb;
    if (a->c != b->c)
        return a->c < b->c ? -1 : 1;
    if (a->s != b->s)
        return a->s < b->s ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

/* Fenwick tree over ranks 1..n: counts of live blocks. */
static void fw_add(int *fw, int n, int i, int d)
{
    for (; i <= n; i += i & -i)
        fw[i] += d;
}

static int fw_prefix(const int *fw, int i)
{
    int r = 0;
    for (; i > 0; i -= i & -i)
        r += fw[i];
    return r;
}

/* The rank holding the k-th live block (1-based k, k <= live count). */
static int fw_kth(const int *fw, int n, int k)
{
    int pos = 0, step = 1;
    while (step * 2 <= n)
        step *= 2;
    for (; step; step /= 2)
        if (pos + step <= n && fw[pos + step] < k) {
            pos += step;
            k -= fw[pos];
        }
    return pos + 1;
}

static void mp_span(const rt_mem_block *b, const char *sym, char *buf, size_t len)
{
    snprintf(buf, len, "[%lld + %lld*%s, %lld + %lld*%s)", (long long)b->off_c, (long long)b->off_s, sym,
             (long long)(b->off_c + b->bytes_c), (long long)(b->off_s + b->bytes_s), sym);
}

static rt_status mp_overlap(rt_model *m, const rt_mem_block *a, int va, const rt_mem_block *b, int vb,
                            int k, char *err, size_t err_len)
{
    const char *sym = m->mplan_sym >= 0 ? m->syms[m->mplan_sym] : "S";
    char sa[160], sb[160], where[320];
    mp_span(a, sym, sa, sizeof sa);
    mp_span(b, sym, sb, sizeof sb);
    if (k < m->n_nodes)
        rt_node_where(m, k, where, sizeof where);
    else
        snprintf(where, sizeof where, "the end of the run");
    rt_errf(err, err_len,
            "memory plan: values '%s' %s and '%s' %s are alive together at %s but their buffers overlap",
            m->values[va].name, sa, m->values[vb].name, sb, where);
    return RT_ERR_FORMAT;
}

rt_status rt_mplan_check(rt_model *m, char *err, size_t err_len)
{
    const char *sym = m->mplan_sym >= 0 ? m->syms[m->mplan_sym] : "S";
    int nv = m->n_values, nn = m->n_nodes;
    rt_status st = RT_ERR_FORMAT;
    size_t nvs = (size_t)nv + 1, nns = (size_t)nn + 2;
    int *end = malloc(sizeof(int) * nvs), *first = malloc(sizeof(int) * nvs);
    int *next_start = malloc(sizeof(int) * nvs), *next_end = malloc(sizeof(int) * nvs);
    int *head_start = malloc(sizeof(int) * nns), *head_end = malloc(sizeof(int) * nns);
    int *rank = malloc(sizeof(int) * nvs), *at_rank = malloc(sizeof(int) * nvs);
    int *fw = calloc(nvs, sizeof(int));
    mp_key *keys = malloc(sizeof(mp_key) * nvs);
    rt_mem_block *blk = malloc(sizeof(rt_mem_block) * nvs);
    int64_t *act = malloc(sizeof(int64_t) * nvs); /* true bytes (per S when scaled) */
    char *act_sc = malloc(nvs);
    if (!act || !act_sc || !end || !first || !next_start || !next_end || !head_start || !head_end || !rank || !at_rank || !fw
        || !keys || !blk) {
        st = RT_ERR_NOMEM;
        goto out;
    }

    /* 1. every entry: aligned, inside the arena for every S, big enough */
    for (int v = 0; v < nv; v++) {
        const rt_value *val = &m->values[v];
        if (val->kind != RT_VK_NODE)
            continue;
        const rt_mem_slot *ms = &m->mplan[v];
        int64_t ec, es;
        if (ms->view) {
            const rt_node *pn = &m->nodes[val->producer];
            int in0 = pn->inputs[0];
            if (!(pn->def->flags & OPF_VIEW) || pn->outputs[0] != v
                || (m->values[in0].kind == RT_VK_NODE && !m->mplan[in0].view)) {
                rt_errf(err, err_len, "memory plan: value '%s' is planned as a view of memory outside the "
                        "arena, but %s is not a view op of an input, param, const or such a view",
                        val->name, pn->def->name);
                goto out;
            }
            if (ms->off_c || ms->off_s || ms->bytes_c || ms->bytes_s) {
                rt_errf(err, err_len, "memory plan: value '%s' is a view but has an offset or size", val->name);
                goto out;
            }
            act[v] = -1;
            act_sc[v] = 0;
            continue;
        }
        /* the constant part is 64-byte aligned, the per-symbol part at
         * least 8 (natural alignment of every dtype, for every N) */
        if (ms->off_c % RT_ALIGN || ms->off_s % 8) {
            rt_errf(err, err_len, "memory plan: value '%s' at offset %lld + %lld*%s is not aligned "
                    "(%d bytes + a multiple of 8 per %s)",
                    val->name, (long long)ms->off_c, (long long)ms->off_s, sym, RT_ALIGN, sym);
            goto out;
        }
        if (__builtin_add_overflow(ms->off_c, ms->bytes_c, &ec) || __builtin_add_overflow(ms->off_s, ms->bytes_s, &es)
            || ec > m->mplan_arena_c || es > m->mplan_arena_s) {
            rt_errf(err, err_len,
                    "memory plan: value '%s' at offset %lld + %lld*%s with %lld + %lld*%s bytes ends past "
                    "the arena of %lld + %lld*%s bytes", val->name, (long long)ms->off_c, (long long)ms->off_s,
                    sym, (long long)ms->bytes_c, (long long)ms->bytes_s, sym, (long long)m->mplan_arena_c,
                    (long long)m->mplan_arena_s, sym);
            goto out;
        }
        op_dim d;
        char ts[256];
        if (op_type_numel(&val->type, &d) != 0) {
            rt_value_type_str(m, &val->type, ts, sizeof ts);
            rt_errf(err, err_len, "memory plan: value '%s' is %s, whose size is not a multiple of one symbol",
                    val->name, ts);
            goto out;
        }
        int64_t b = d.coef * (int64_t)op_dtype_size(val->type.dtype); /* fits: checked at load */
        int scaled = d.sym >= 0 && b > 0;
        act[v] = b;
        act_sc[v] = (char)scaled;
        if (scaled && d.sym != m->mplan_sym) {
            rt_value_type_str(m, &val->type, ts, sizeof ts);
            rt_errf(err, err_len, "memory plan: value '%s' is %s but the plan scales with %s", val->name, ts,
                    m->mplan_sym >= 0 ? sym : "no symbol");
            goto out;
        }
        if ((scaled ? ms->bytes_s : ms->bytes_c) < b) {
            rt_value_type_str(m, &val->type, ts, sizeof ts);
            rt_errf(err, err_len, "memory plan: value '%s' is %s (%lld%s%s bytes) but its buffer holds "
                    "%lld + %lld*%s bytes", val->name, ts, (long long)b, scaled ? "*" : "", scaled ? sym : "",
                    (long long)ms->bytes_c, (long long)ms->bytes_s, sym);
            goto out;
        }
    }

    /* 2. liveness: from the producing step to the last read (graph outputs:
     * to the end, step nn); in-place chains become one block */
    for (int v = 0; v < nv; v++)
        end[v] = -1;
    for (int k = 0; k < nn; k++)
        for (int j = 0; j < m->nodes[k].n_inputs; j++)
            end[m->nodes[k].inputs[j]] = k;
    for (int i = 0; i < m->n_outputs; i++)
        end[m->outputs[i]] = nn;
    int nb = 0;
    for (int k = 0; k < nn; k++) {
        const rt_node *nd = &m->nodes[k];
        for (int j = 0; j < nd->n_outputs; j++) {
            int v = nd->outputs[j];
            rt_mem_slot *ms = &m->mplan[v];
            if (end[v] < k)
                end[v] = k;
            ms->block = -1;
            if (ms->view)
                continue;   /* no buffer; never written (no block to join) */
            int in0 = nd->n_inputs ? nd->inputs[0] : v;
            if (j == 0 && (nd->def->flags & OPF_INPLACE) && in0 != v && m->values[in0].kind == RT_VK_NODE
                && end[in0] == k && m->mplan[in0].block >= 0 && act[in0] == act[v] && act_sc[in0] == act_sc[v]) {
                rt_mem_block *b = &blk[m->mplan[in0].block];
                if (b->end == k && b->off_c == ms->off_c && b->off_s == ms->off_s && ms->bytes_c <= b->bytes_c
                    && ms->bytes_s <= b->bytes_s && !block_empty(b)) {
                    ms->block = m->mplan[in0].block;
                    b->end = end[v];
                    continue;
                }
            }
            ms->block = nb;
            first[nb] = v;
            blk[nb] = (rt_mem_block){ ms->off_c, ms->off_s, ms->bytes_c, ms->bytes_s, k, end[v] };
            nb++;
        }
    }

    /* 3. sweep the steps; the live blocks, ordered by offset, must form a
     * chain each below the next: a new block is checked against its two
     * neighbours in offset order (Fenwick tree over the sorted offsets) */
    int nk = 0;
    for (int b = 0; b < nb; b++)
        if (!block_empty(&blk[b]))
            keys[nk++] = (mp_key){ blk[b].off_c, blk[b].off_s, b };
    qsort(keys, (size_t)nk, sizeof *keys, key_cmp);
    for (int b = 0; b < nb; b++)
        rank[b] = 0;
    for (int i = 0; i < nk; i++) {
        rank[keys[i].b] = i + 1;
        at_rank[i + 1] = keys[i].b;
    }
    for (int k = 0; k <= nn; k++)
        head_start[k] = head_end[k] = -1;
    for (int b = nb - 1; b >= 0; b--) {
        if (!rank[b])
            continue;
        next_start[b] = head_start[blk[b].start];
        head_start[blk[b].start] = b;
        next_end[b] = head_end[blk[b].end];
        head_end[blk[b].end] = b;
    }
    for (int k = 0; k <= nn; k++) {
        for (int b = head_start[k]; b >= 0; b = next_start[b]) {
            int r = rank[b];
            int lo = fw_prefix(fw, r - 1), total = fw_prefix(fw, nk);
            if (lo > 0) {
                int p = at_rank[fw_kth(fw, nk, lo)];
                if (!below(&blk[p], &blk[b])) {
                    st = mp_overlap(m, &blk[p], first[p], &blk[b], first[b], k, err, err_len);
                    goto out;
                }
            }
            if (lo < total) {
                int q = at_rank[fw_kth(fw, nk, lo + 1)];
                if (!below(&blk[b], &blk[q])) {
                    st = mp_overlap(m, &blk[b], first[b], &blk[q], first[q], k, err, err_len);
                    goto out;
                }
            }
            fw_add(fw, nk, r, 1);
        }
        for (int b = head_end[k]; b >= 0; b = next_end[b])
            fw_add(fw, nk, rank[b], -1);
    }
    m->mplan_blocks = realloc(blk, sizeof(rt_mem_block) * (size_t)(nb ? nb : 1));
    if (!m->mplan_blocks) {
        m->mplan_blocks = blk;
    }
    blk = NULL;
    m->mplan_n_blocks = nb;
    st = RT_OK;
out:
    free(end);
    free(first);
    free(next_start);
    free(next_end);
    free(head_start);
    free(head_end);
    free(rank);
    free(at_rank);
    free(fw);
    free(keys);
    free(blk);
    free(act);
    free(act_sc);
    return st;
}

static int all_outputs(const rt_model *m, int n, const int *ids)
{
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int j = 0; j < m->n_outputs && !found; j++)
            found = m->outputs[j] == ids[i];
        if (!found)
            return 0;
    }
    return 1;
}

/* Offsets of the needed node values from the static plan at this run's
 * value of its symbol (0 when no needed feed binds it: then no needed value
 * scales with it); *need = the arena bytes. */
static rt_status place_static(rt_session *s, int64_t *need)
{
    const rt_model *m = s->m;
    int64_t S = 0, arena;
    if (m->mplan_sym >= 0 && s->syms[m->mplan_sym] > 0)
        S = s->syms[m->mplan_sym];
    if (__builtin_mul_overflow(m->mplan_arena_s, S, &arena) || __builtin_add_overflow(arena, m->mplan_arena_c, &arena)
        || (uint64_t)arena > SIZE_MAX / 2) {
        rt_errf(s->err, sizeof s->err, "memory plan: the arena of %lld + %lld*%s bytes overflows at %s = %lld",
                (long long)m->mplan_arena_c, (long long)m->mplan_arena_s, m->syms[m->mplan_sym],
                m->syms[m->mplan_sym], (long long)S);
        return RT_ERR_NOMEM;
    }
    for (int k = 0; k < m->n_nodes; k++) {
        if (!s->node_needed[k])
            continue;
        const rt_node *nd = &m->nodes[k];
        for (int j = 0; j < nd->n_outputs; j++) {
            int v = nd->outputs[j];
            const rt_mem_slot *ms = &m->mplan[v];
            int64_t off, bytes, end;
            if (ms->view) {
                s->live[s->n_views++] = v; /* bound to its input at each run */
                continue;
            }
            /* the load check bounds both by the arena, so these cannot wrap */
            if (__builtin_mul_overflow(ms->off_s, S, &off) || __builtin_add_overflow(off, ms->off_c, &off)
                || __builtin_mul_overflow(ms->bytes_s, S, &bytes) || __builtin_add_overflow(bytes, ms->bytes_c, &bytes)
                || (uint64_t)bytes < s->slots[v].nbytes || __builtin_add_overflow(off, (int64_t)s->slots[v].nbytes, &end)
                || end > arena) {
                rt_errf(s->err, sizeof s->err, "memory plan: value '%s' does not fit its planned buffer",
                        m->values[v].name);
                return RT_ERR_FORMAT;
            }
            s->slots[v].offset = off;
        }
    }
    *need = arena;
    return RT_OK;
}

/* ---- summary (graphc inspect) ---- */

static int64_t sat_add(int64_t a, int64_t b) { return a < 0 || b < 0 || a > INT64_MAX - b ? -1 : a + b; }

static int64_t sat_affine(int64_t c, int64_t k, int64_t x)
{
    int64_t r;
    if (__builtin_mul_overflow(k, x, &r))
        return -1;
    return sat_add(c, r);
}

rt_status rt_model_plan_info(const rt_model *m, int64_t sym_value, rt_plan_info *out)
{
    if (!m || !out || sym_value < 0)
        return RT_ERR_ARG;
    memset(out, 0, sizeof *out);
    int nn = m->n_nodes;
    int64_t *born = calloc((size_t)nn + 2, sizeof(int64_t)); /* bytes that start living at step k */
    int64_t *gone = calloc((size_t)nn + 2, sizeof(int64_t)); /* bytes no longer alive at step k */
    int64_t *syms = calloc((size_t)m->n_syms + 1, sizeof(int64_t));
    int *end = malloc(sizeof(int) * ((size_t)m->n_values + 1));
    if (!born || !gone || !syms || !end) {
        free(born);
        free(gone);
        free(syms);
        free(end);
        return RT_ERR_NOMEM;
    }
    for (int i = 0; i < m->n_syms; i++)
        syms[i] = sym_value;
    int overflow = 0;
    out->static_plan = m->mplan != NULL;
    out->arena_bytes = -1;
    for (int v = 0; v < m->n_values; v++)
        out->n_values += m->values[v].kind == RT_VK_NODE;
    if (m->mplan) {
        out->sym = m->mplan_sym >= 0 ? m->syms[m->mplan_sym] : NULL;
        out->arena_const = m->mplan_arena_c;
        out->arena_per_sym = m->mplan_arena_s;
        out->arena_bytes = sat_affine(m->mplan_arena_c, m->mplan_arena_s, sym_value);
        out->n_buffers = m->mplan_n_blocks;
        for (int v = 0; v < m->n_values; v++)
            out->n_views += m->values[v].kind == RT_VK_NODE && m->mplan[v].view;
        for (int b = 0; b < m->mplan_n_blocks; b++) {
            const rt_mem_block *bk = &m->mplan_blocks[b];
            int64_t sz = sat_affine(bk->bytes_c, bk->bytes_s, sym_value);
            overflow |= sz < 0 || (born[bk->start] = sat_add(born[bk->start], sz)) < 0
                        || (gone[bk->end + 1] = sat_add(gone[bk->end + 1], sz)) < 0;
        }
    } else {
        out->n_buffers = out->n_values;
        for (int v = 0; v < m->n_values; v++)
            end[v] = -1;
        for (int k = 0; k < nn; k++)
            for (int j = 0; j < m->nodes[k].n_inputs; j++)
                end[m->nodes[k].inputs[j]] = k;
        for (int i = 0; i < m->n_outputs; i++)
            end[m->outputs[i]] = nn;
        for (int v = 0; v < m->n_values; v++) {
            const rt_value *val = &m->values[v];
            if (val->kind != RT_VK_NODE)
                continue;
            op_tensor t;
            int64_t n = op_type_eval(&val->type, syms, m->n_syms, &t) ? -1 : op_tensor_numel(&t), sz;
            if (n < 0 || __builtin_mul_overflow(n, (int64_t)op_dtype_size(val->type.dtype), &sz)) {
                overflow = 1;
                continue;
            }
            int e = end[v] < val->producer ? val->producer : end[v];
            overflow |= (born[val->producer] = sat_add(born[val->producer], sz)) < 0
                        || (gone[e + 1] = sat_add(gone[e + 1], sz)) < 0;
        }
    }
    int64_t cur = 0, peak = 0;
    for (int k = 0; k <= nn && !overflow; k++) {
        cur -= gone[k];                 /* never below 0: only what was born */
        overflow |= (cur = sat_add(cur, born[k])) < 0;
        if (cur > peak)
            peak = cur;
    }
    out->peak_bytes = overflow ? -1 : peak;
    free(born);
    free(gone);
    free(syms);
    free(end);
    return RT_OK;
}

void rt_plan_bind_views(rt_session *s)
{
    for (int i = 0; i < s->n_views; i++) {
        int v = s->live[i];
        const rt_node *nd = &s->m->nodes[s->m->values[v].producer];
        s->slots[v].t.data = s->slots[nd->inputs[0]].t.data;
    }
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

    /* 2. buffers: the binary's static plan when it has one and only graph
     * outputs are fetched (an intermediate may be overwritten after its last
     * read in that plan); else outputs are placed while the inputs are still
     * live, then inputs read for the last time here are released */
    int n_live = 0, n_blk = 0;
    int64_t peak = 0;
    s->n_views = 0;
    s->plan_static = m->mplan && all_outputs(m, n_fetch, fetch_ids);
    if (s->plan_static && (st = place_static(s, &peak)))
        return st;
    for (int k = 0; k < m->n_nodes && !s->plan_static; k++) {
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
        if (s->plan_static) {
            if (s->slots[v].offset >= 0)
                s->slots[v].t.data = (char *)s->arena + (s->slots[v].nbytes ? s->slots[v].offset : 0);
        } else if (s->block_of[v] >= 0) {
            s->slots[v].offset = s->blk_off[s->block_of[v]];
            s->slots[v].t.data = (char *)s->arena + s->slots[v].offset;
        } else if (s->slots[v].offset == 0 && m->values[v].kind == RT_VK_NODE) {
            s->slots[v].t.data = s->arena; /* empty tensor */
        }
    }
    s->plan_arena_bytes = need;
    s->plan_ws_bytes = ws;
    s->n_plans++;
    s->n_static_plans += s->plan_static;
    s->planned = 1;
    return RT_OK;
}
