/* runtime/session.c -- sessions and the executor: creation copies params and
 * consts into ONE weights allocation and sizes all run scratch; a run matches
 * fetches and feeds by name, checks feeds and binds the symbols, re-plans
 * (plan.c) only when sizes or fetches changed, then calls the CPU kernels of
 * the needed nodes in order. A run at sizes already seen allocates nothing. */
#include "rt_internal.h"

#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rt_session_options rt_session_options_default(void)
{
    rt_session_options o = { RT_DEVICE_CPU, 0 };
    return o;
}

static size_t round_up(size_t n) { return (n + RT_ALIGN - 1) / RT_ALIGN * RT_ALIGN; }

void rt_session_free(rt_session *s)
{
    if (!s)
        return;
    free(s->weights);
    free(s->arena);
    free(s->workspace);
    free(s->slots);
    free(s->const_ptr);
    free(s->needed);
    free(s->node_needed);
    free(s->feed_of_input);
    free(s->syms);
    free(s->sym_feed);
    free(s->sym_dim);
    free(s->last_use);
    free(s->block_of);
    free(s->blk_off);
    free(s->blk_size);
    free(s->blk_refs);
    free(s->live);
    free(s->plan_syms);
    free(s->plan_fetch);
    free(s->fetch_ids);
    rt_profile_free(s->prof);
    free(s);
}

rt_status rt_session_create(const rt_model *m, const rt_session_options *opts, rt_session **out,
                            char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!out || !m) {
        rt_errf(err, err_len, "rt_session_create: NULL argument");
        return RT_ERR_ARG;
    }
    *out = NULL;
    rt_session_options o = opts ? *opts : rt_session_options_default();
    if (o.device == RT_DEVICE_CUDA) {
        rt_errf(err, err_len, "CUDA backend not built/available");
        return RT_ERR_UNSUPPORTED;
    }
    if (o.device != RT_DEVICE_CPU) {
        rt_errf(err, err_len, "unknown device %d", (int)o.device);
        return RT_ERR_ARG;
    }
    if (o.n_threads < 0) {
        rt_errf(err, err_len, "n_threads is %d (0 means all cores)", o.n_threads);
        return RT_ERR_ARG;
    }
    rt_session *s = calloc(1, sizeof *s);
    if (!s)
        goto nomem;
    s->m = m;
    s->opts = o;
    s->n_threads = o.n_threads ? o.n_threads : omp_get_num_procs();
    if (s->n_threads < 1)
        s->n_threads = 1;
    size_t nv = (size_t)m->n_values + 1, nn = (size_t)m->n_nodes + 1, ns = (size_t)m->n_syms + 1;
    s->slots = calloc(nv, sizeof *s->slots);
    s->const_ptr = calloc(nv, sizeof *s->const_ptr);
    s->needed = calloc(nv, 1);
    s->node_needed = calloc(nn, 1);
    s->feed_of_input = calloc((size_t)m->n_inputs + 1, sizeof(int));
    s->syms = calloc(ns, sizeof(int64_t));
    s->sym_feed = calloc(ns, sizeof(int));
    s->sym_dim = calloc(ns, sizeof(int));
    s->plan_syms = calloc(ns, sizeof(int64_t));
    s->last_use = calloc(nv, sizeof(int));
    s->block_of = calloc(nv, sizeof(int));
    s->blk_off = calloc(nv, sizeof(int64_t));
    s->blk_size = calloc(nv, sizeof(int64_t));
    s->blk_refs = calloc(nv, sizeof(int));
    s->live = calloc(nv, sizeof(int));
    s->fetch_cap = m->n_outputs > 16 ? m->n_outputs : 16;
    s->fetch_ids = calloc((size_t)s->fetch_cap, sizeof(int));
    s->plan_fetch_cap = s->fetch_cap;
    s->plan_fetch = calloc((size_t)s->plan_fetch_cap, sizeof(int));
    if (!s->slots || !s->const_ptr || !s->needed || !s->node_needed || !s->feed_of_input || !s->syms
        || !s->sym_feed || !s->sym_dim || !s->plan_syms || !s->last_use || !s->block_of
        || !s->blk_off || !s->blk_size || !s->blk_refs || !s->live || !s->fetch_ids || !s->plan_fetch)
        goto nomem;

    /* one weights allocation: params and consts, each 64-byte aligned */
    size_t total = 0;
    for (int v = 0; v < m->n_values; v++) {
        const rt_value *val = &m->values[v];
        if (val->kind != RT_VK_PARAM && val->kind != RT_VK_CONST)
            continue;
        size_t r = round_up(val->nbytes);
        if (r < val->nbytes || total > SIZE_MAX - r) {
            rt_errf(err, err_len, "weights do not fit in memory");
            rt_session_free(s);
            return RT_ERR_NOMEM;
        }
        total += r;
    }
    s->weights = rt_aligned_alloc(total);
    if (!s->weights)
        goto nomem;
    s->weights_size = total;
    size_t off = 0;
    for (int v = 0; v < m->n_values; v++) {
        const rt_value *val = &m->values[v];
        if (val->kind != RT_VK_PARAM && val->kind != RT_VK_CONST)
            continue;
        s->const_ptr[v] = (char *)s->weights + off;
        if (val->nbytes)
            memcpy(s->const_ptr[v], val->data, val->nbytes);
        off += round_up(val->nbytes);
    }
    *out = s;
    return RT_OK;
nomem:
    rt_errf(err, err_len, "out of memory creating the session");
    rt_session_free(s);
    return RT_ERR_NOMEM;
}

const char *rt_session_last_error(const rt_session *s)
{
    return s ? s->err : "no session";
}

void rt_session_memory(const rt_session *s, size_t *weights, size_t *arena, size_t *workspace)
{
    if (weights)
        *weights = s ? s->weights_size : 0;
    if (arena)
        *arena = s ? s->arena_size : 0;
    if (workspace)
        *workspace = s ? s->workspace_size : 0;
}

/* "x, z" (names of the model's inputs) into buf. */
static void list_names(const rt_model *m, const int *ids, int n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", m->values[ids[i]].name);
    if (n == 0)
        snprintf(buf, len, "none");
}

static int is_output(const rt_model *m, int v)
{
    for (int i = 0; i < m->n_outputs; i++)
        if (m->outputs[i] == v)
            return 1;
    return 0;
}

static int input_index(const rt_model *m, int v)
{
    for (int i = 0; i < m->n_inputs; i++)
        if (m->inputs[i] == v)
            return i;
    return -1;
}

static rt_status grow_ints(int **p, int *cap, int want)
{
    if (want <= *cap)
        return RT_OK;
    int *q = realloc(*p, sizeof(int) * (size_t)want);
    if (!q)
        return RT_ERR_NOMEM;
    *p = q;
    *cap = want;
    return RT_OK;
}

static rt_status fail(rt_session *s, rt_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static rt_status fail(rt_session *s, rt_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return st;
}

/* The feed's shape in "f32[64, 999]" form (the dtype may be invalid). */
static void feed_str(const rt_tensor *t, char *buf, size_t len)
{
    op_type ty;
    memset(&ty, 0, sizeof ty);
    ty.dtype = (op_dtype)t->dtype;
    ty.rank = t->rank;
    for (int i = 0; i < t->rank; i++)
        ty.dims[i] = op_dim_const(t->dims[i]);
    op_type_str(&ty, NULL, buf, len);
}

/* Checks feed f (of input value v) and, when bind, binds its symbols. */
static rt_status check_feed(rt_session *s, int f, const char *name, const rt_tensor *t, int v, int bind)
{
    const rt_model *m = s->m;
    const op_type *ty = &m->values[v].type;
    char want[256], got[256];
    if (t->rank < 0 || t->rank > RT_MAX_RANK)
        return fail(s, RT_ERR_ARG, "feed '%s': invalid rank %d", name, t->rank);
    rt_value_type_str(m, ty, want, sizeof want);
    feed_str(t, got, sizeof got);
    if ((int)t->dtype != (int)ty->dtype || t->rank != ty->rank)
        return fail(s, RT_ERR_ARG, "feed '%s': expected %s, got %s", name, want, got);
    for (int i = 0; i < t->rank; i++) {
        op_dim d = ty->dims[i];
        int64_t x = t->dims[i];
        if (x < 0 || (d.sym < 0 && x != d.coef) || (d.sym >= 0 && x % d.coef != 0))
            return fail(s, RT_ERR_ARG, "feed '%s': expected %s, got %s", name, want, got);
    }
    if (op_dims_numel(t->rank, t->dims) < 0)
        return fail(s, RT_ERR_ARG, "feed '%s': size %s overflows", name, got);
    if (!t->data && op_dims_numel(t->rank, t->dims) > 0)
        return fail(s, RT_ERR_ARG, "feed '%s': data is NULL", name);
    if (!bind)
        return RT_OK;
    for (int i = 0; i < t->rank; i++) {
        op_dim d = ty->dims[i];
        if (d.sym < 0)
            continue;
        int64_t val = t->dims[i] / d.coef;
        if (s->syms[d.sym] < 0) {
            s->syms[d.sym] = val;
            s->sym_feed[d.sym] = f;
            s->sym_dim[d.sym] = i;
        } else if (s->syms[d.sym] != val) {
            int pf = s->sym_feed[d.sym];
            return fail(s, RT_ERR_ARG,
                        "feed '%s': expected %s, got %s: dim %d gives %s = %lld, but %s '%s' dim %d "
                        "gave %s = %lld", name, want, got, i, m->syms[d.sym], (long long)val,
                        pf == f ? "the same feed" : "feed", s->cur_feed_names[pf], s->sym_dim[d.sym],
                        m->syms[d.sym], (long long)s->syms[d.sym]);
        }
    }
    return RT_OK;
}

/* Names the first fetch that needs input v (error path only: allocates). */
static const char *fetch_needing(rt_session *s, int n_fetches, const char *const *fetch_names, int v)
{
    const rt_model *m = s->m;
    uint8_t *tmp = malloc((size_t)m->n_values + (size_t)m->n_nodes + 1);
    const char *who = NULL;
    if (!tmp)
        return NULL;
    for (int i = 0; i < n_fetches && !who; i++) {
        rt_model_mark_needed(m, 1, &s->fetch_ids[i], tmp, tmp + m->n_values);
        if (tmp[v])
            who = fetch_names[i];
    }
    free(tmp);
    return who;
}

static int plan_matches(const rt_session *s, int n_fetches)
{
    if (!s->planned || s->plan_n_fetch != n_fetches)
        return 0;
    if (memcmp(s->plan_syms, s->syms, sizeof(int64_t) * (size_t)s->m->n_syms) != 0)
        return 0;
    return memcmp(s->plan_fetch, s->fetch_ids, sizeof(int) * (size_t)n_fetches) == 0;
}

/* The run of rt_session_run (e NULL) and rt_session_run_entry: with an
 * entry, fetch_names NULL means the entry's fetches, and the entry's update
 * values are computed too (kept to the end of the run like fetches) and
 * then copied into their params. */
static rt_status run_core(rt_session *s, const rt_entry *e, int n_feeds, const char *const *feed_names,
                          const rt_tensor *feeds, int n_fetches, const char *const *fetch_names,
                          rt_tensor *fetches)
{
    const rt_model *m = s->m;
    rt_status st;
    char list[512], where[320];
    int by_entry = e && !fetch_names;
    if (by_entry)
        n_fetches = e->n_fetches;
    int n_upd = e ? e->n_updates : 0;
    if (n_feeds < 0 || n_fetches < 0 || (n_feeds && (!feed_names || !feeds))
        || (n_fetches && ((!fetch_names && !by_entry) || !fetches)))
        return fail(s, RT_ERR_ARG, "rt_session_run: bad feed or fetch arrays");
    if (grow_ints(&s->fetch_ids, &s->fetch_cap, n_fetches + n_upd))
        return fail(s, RT_ERR_NOMEM, "out of memory");

    /* fetches: graph outputs, or any node value by name; an entry's own */
    for (int i = 0; i < n_fetches && by_entry; i++)
        s->fetch_ids[i] = e->fetches[i];
    for (int i = 0; i < n_upd; i++)
        s->fetch_ids[n_fetches + i] = e->upd_value[i];
    for (int i = 0; i < n_fetches && !by_entry; i++) {
        const char *nm = fetch_names[i] ? fetch_names[i] : "";
        int v = rt_model_find_value(m, nm);
        if (v < 0 || (!is_output(m, v) && m->values[v].kind != RT_VK_NODE)) {
            list_names(m, m->outputs, m->n_outputs, list, sizeof list);
            if (v < 0)
                return fail(s, RT_ERR_ARG, "fetch '%s': no output or node value of that name (outputs: %s)",
                            nm, list);
            int k = m->values[v].kind;
            return fail(s, RT_ERR_ARG, "fetch '%s': %s, not a graph output or a node value (outputs: %s)",
                        nm, k == RT_VK_INPUT ? "an input" : k == RT_VK_PARAM ? "a param" : "a const", list);
        }
        s->fetch_ids[i] = v;
    }
    int n_all = n_fetches + n_upd;
    rt_model_mark_needed(m, n_all, s->fetch_ids, s->needed, s->node_needed);

    /* feeds: by input name */
    for (int i = 0; i < m->n_inputs; i++)
        s->feed_of_input[i] = -1;
    for (int i = 0; i < m->n_syms; i++)
        s->syms[i] = -1;
    s->cur_feed_names = feed_names;
    for (int f = 0; f < n_feeds; f++) {
        const char *nm = feed_names[f] ? feed_names[f] : "";
        int v = rt_model_find_value(m, nm);
        int ii = v >= 0 && m->values[v].kind == RT_VK_INPUT ? input_index(m, v) : -1;
        if (ii < 0) {
            list_names(m, m->inputs, m->n_inputs, list, sizeof list);
            return fail(s, RT_ERR_ARG, "feed '%s': the model has no input of that name (inputs: %s)", nm,
                        list);
        }
        if (s->feed_of_input[ii] >= 0)
            return fail(s, RT_ERR_ARG, "feed '%s' is given twice", nm);
        s->feed_of_input[ii] = f;
    }
    /* needed feeds first bind the symbols, in the order the caller gave them */
    for (int f = 0; f < n_feeds; f++) {
        int v = rt_model_find_value(m, feed_names[f]);
        if (s->needed[v] && (st = check_feed(s, f, feed_names[f], &feeds[f], v, 1)))
            return st;
    }
    for (int f = 0; f < n_feeds; f++) {
        int v = rt_model_find_value(m, feed_names[f]);
        if (!s->needed[v] && (st = check_feed(s, f, feed_names[f], &feeds[f], v, 0)))
            return st;
    }
    for (int i = 0; i < m->n_inputs; i++) {
        int v = m->inputs[i];
        if (s->needed[v] && s->feed_of_input[i] < 0) {
            const char *who = fetch_names ? fetch_needing(s, n_fetches, fetch_names, v) : NULL;
            if (e)
                return fail(s, RT_ERR_ARG, "input '%s' is needed by entry '%s'%s%s%s but was not fed",
                            m->values[v].name, e->name, who ? " (fetch '" : "", who ? who : "", who ? "')" : "");
            return fail(s, RT_ERR_ARG, "input '%s' is needed by fetch '%s' but was not fed",
                        m->values[v].name, who ? who : "?");
        }
    }

    /* (re)plan when the sizes or the fetches changed */
    if (!plan_matches(s, n_all)) {
        if (grow_ints(&s->plan_fetch, &s->plan_fetch_cap, n_all))
            return fail(s, RT_ERR_NOMEM, "out of memory");
        if ((st = rt_plan(s, n_all, s->fetch_ids)))
            return st;
        memcpy(s->plan_syms, s->syms, sizeof(int64_t) * (size_t)m->n_syms);
        memcpy(s->plan_fetch, s->fetch_ids, sizeof(int) * (size_t)n_all);
        s->plan_n_fetch = n_all;
    }
    for (int i = 0; i < m->n_inputs; i++) {
        int f = s->feed_of_input[i], v = m->inputs[i];
        if (f < 0 || !s->needed[v])
            continue;
        s->slots[v].t.data = feeds[f].data;
    }
    rt_plan_bind_views(s); /* static plan: views of the feeds share their memory */

    /* execute */
    omp_set_num_threads(s->n_threads);
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_threads = s->n_threads;
    ctx.workspace = s->workspace;
    ctx.workspace_size = s->workspace_size;
    op_tensor in[OP_MAX_INPUTS], out[OP_MAX_OUTPUTS];
    for (int k = 0; k < m->n_nodes; k++) {
        if (!s->node_needed[k])
            continue;
        const rt_node *nd = &m->nodes[k];
        for (int j = 0; j < nd->n_inputs; j++)
            in[j] = s->slots[nd->inputs[j]].t;
        for (int j = 0; j < nd->n_outputs; j++)
            out[j] = s->slots[nd->outputs[j]].t;
        /* a view op planned in place has nothing to move */
        if ((nd->def->flags & OPF_VIEW) && out[0].data == in[0].data)
            continue;
        ctx.err[0] = 0;
        int krc = __builtin_expect(s->profiling, 0) ? rt_profile_call(s, k, &ctx, in, out)
                  : nd->def->cpu(&ctx, nd->attrs, in, nd->n_inputs, out, nd->n_outputs);
        if (krc != 0) {
            rt_node_where(m, k, where, sizeof where);
            return fail(s, RT_ERR_KERNEL, "%s: %s", where, ctx.err[0] ? ctx.err : "kernel failed");
        }
    }
    /* updates: every value was computed from this run's state; now assign
     * (a value that is itself a param is read before any write lands only
     * when it is not an earlier target: graphc never emits that) */
    for (int i = 0; i < n_upd; i++) {
        int tv = e->upd_target[i], uv = e->upd_value[i];
        const rt_slot *src = &s->slots[uv];
        void *dst = s->const_ptr[tv];
        if (src->t.data != dst && src->nbytes)
            memmove(dst, src->t.data, src->nbytes);
    }
    for (int i = 0; i < n_fetches; i++) {
        const op_tensor *t = &s->slots[s->fetch_ids[i]].t;
        memset(&fetches[i], 0, sizeof fetches[i]);
        fetches[i].dtype = (rt_dtype)t->dtype;
        fetches[i].rank = t->rank;
        for (int d = 0; d < t->rank; d++)
            fetches[i].dims[d] = t->dims[d];
        fetches[i].data = t->data;
    }
    return RT_OK;
}

rt_status rt_session_run(rt_session *s, int n_feeds, const char *const *feed_names,
                         const rt_tensor *feeds, int n_fetches, const char *const *fetch_names,
                         rt_tensor *fetches)
{
    if (!s)
        return RT_ERR_ARG;
    return run_core(s, NULL, n_feeds, feed_names, feeds, n_fetches, fetch_names, fetches);
}

static const rt_entry *find_entry(const rt_model *m, const char *name)
{
    for (int i = 0; i < m->n_entries && name; i++)
        if (strcmp(m->entries[i].name, name) == 0)
            return &m->entries[i];
    return NULL;
}

rt_status rt_session_run_entry(rt_session *s, const char *entry, int n_feeds, const char *const *feed_names,
                               const rt_tensor *feeds, int n_fetches, const char *const *fetch_names,
                               rt_tensor *fetches)
{
    if (!s)
        return RT_ERR_ARG;
    const rt_entry *e = find_entry(s->m, entry);
    if (!e) {
        char list[512];
        size_t used = 0;
        list[0] = 0;
        for (int i = 0; i < s->m->n_entries && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", s->m->entries[i].name);
        return fail(s, RT_ERR_ARG, "no entry point '%s' (the binary has: %s)", entry ? entry : "(null)",
                    s->m->n_entries ? list : "none; compile a graph with a 'train' statement");
    }
    return run_core(s, e, n_feeds, feed_names, feeds, fetch_names ? n_fetches : e->n_fetches, fetch_names,
                    fetches);
}

int rt_model_n_entries(const rt_model *m) { return m ? m->n_entries : 0; }

const char *rt_model_entry_name(const rt_model *m, int i)
{
    return m && i >= 0 && i < m->n_entries ? m->entries[i].name : NULL;
}

int rt_model_entry_n_fetches(const rt_model *m, const char *entry)
{
    const rt_entry *e = m ? find_entry(m, entry) : NULL;
    return e ? e->n_fetches : -1;
}

const char *rt_model_entry_fetch_name(const rt_model *m, const char *entry, int i)
{
    const rt_entry *e = m ? find_entry(m, entry) : NULL;
    return e && i >= 0 && i < e->n_fetches ? m->values[e->fetches[i]].name : NULL;
}

int rt_model_entry_needs(const rt_model *m, const char *entry, const char *input)
{
    const rt_entry *e = m ? find_entry(m, entry) : NULL;
    for (int i = 0; e && input && i < e->n_feeds; i++)
        if (strcmp(m->values[e->feeds[i]].name, input) == 0)
            return 1;
    return 0;
}

rt_status rt_model_train_info(const rt_model *m, rt_train_info *out)
{
    if (!m || !out)
        return RT_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!m->train_optimizer)
        return RT_ERR_ARG;
    out->optimizer = m->train_optimizer;
    out->lr = m->train_lr;
    out->lr_input = m->train_lr_input >= 0 ? m->values[m->train_lr_input].name : NULL;
    const rt_entry *e = find_entry(m, "train");
    out->loss = e && e->n_fetches ? m->values[e->fetches[0]].name : NULL;
    return RT_OK;
}
