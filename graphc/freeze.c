/* graphc/freeze.c -- `graphc freeze` (freeze.h): unpacks the graph binary,
 * keeps what the outputs and the inference entry points need (dropping the
 * training entries, their nodes, optimizer state and training-only inputs),
 * turns every kept param into a const holding the checkpoint's value, remaps
 * value ids (and the static memory plan), packs, and has the runtime's
 * loader validate the result before anything is written. */
#include "freeze.h"
#include "arena.h"
#include "graph.pb-c.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GB_MAGIC "GRAPHCB\x01"
#define GB_MAGIC_LEN 8
#define CHUNK ((size_t)64 << 20)

static void errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t len, const char *fmt, ...)
{
    if (!err || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* Problems are collected, then reported together: "a; b; c". */
typedef struct probs {
    char buf[2048];
    size_t used;
    int n;
} probs;

static void prob(probs *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void prob(probs *p, const char *fmt, ...)
{
    p->n++;
    if (p->used + 8 >= sizeof p->buf)
        return;
    if (p->n > 1)
        p->used += (size_t)snprintf(p->buf + p->used, sizeof p->buf - p->used, "; ");
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(p->buf + p->used, sizeof p->buf - p->used, fmt, ap);
    va_end(ap);
    if (w > 0)
        p->used += (size_t)w;
    if (p->used >= sizeof p->buf)
        p->used = sizeof p->buf - 1;
}

static int is_training_entry(const Graphc__EntryPoint *e)
{
    const char *n = e->name ? e->name : "";
    return e->n_updates > 0 || strcmp(n, "train") == 0 || strcmp(n, "grad") == 0 || strcmp(n, "apply") == 0;
}

/* name -> value id lookup over the unpacked graph (sorted ids, bsearch) */
typedef struct name_index {
    const Graphc__Graph *g;
    int *ids;
    int n;
} name_index;

static const Graphc__Graph *sort_graph;

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(sort_graph->values[*(const int *)a]->name, sort_graph->values[*(const int *)b]->name);
}

static int find_value(const name_index *ix, const char *name)
{
    int lo = 0, hi = ix->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(ix->g->values[ix->ids[mid]]->name, name);
        if (c == 0)
            return ix->ids[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int find_kind(const name_index *ix, const char *name, int kind)
{
    int v = find_value(ix, name);
    return v >= 0 && (int)ix->g->values[v]->kind == kind ? v : -1;
}

/* Optimizer state or other training bookkeeping: "optimizer.*", or
 * "<param>.<suffix>" for a param of the graph (w.momentum, w.adam_m, w.grad). */
static int is_state_name(const name_index *ix, const char *name)
{
    if (strncmp(name, "optimizer.", 10) == 0)
        return 1;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    char buf[1024];
    size_t n = (size_t)(dot - name);
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, name, n);
    buf[n] = 0;
    return find_kind(ix, buf, GRAPHC__VALUE_KIND__VK_PARAM) >= 0;
}

static void shape_str(const int64_t *dims, int rank, char *buf, size_t len)
{
    size_t u = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && u < len; i++)
        u += (size_t)snprintf(buf + u, len - u, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (u < len)
        snprintf(buf + u, len - u, "]");
}

static uint8_t *pack_graph(const Graphc__Graph *g, size_t *len)
{
    size_t n = graphc__graph__get_packed_size(g);
    uint8_t *buf = malloc(n + GB_MAGIC_LEN);
    if (!buf)
        return NULL;
    memcpy(buf, GB_MAGIC, GB_MAGIC_LEN);
    graphc__graph__pack(g, buf + GB_MAGIC_LEN);
    *len = n + GB_MAGIC_LEN;
    return buf;
}

int gc_freeze_buffer(const void *gb, size_t len, const rt_checkpoint *ck, void **out, size_t *out_len,
                     gc_freeze_stats *stats, char *err, size_t err_len)
{
    gc_freeze_stats local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    if (err && err_len)
        err[0] = 0;
    if (!gb || !ck || !out || !out_len) {
        errf(err, err_len, "gc_freeze_buffer: NULL argument");
        return -1;
    }
    *out = NULL;
    *out_len = 0;
    stats->step = rt_checkpoint_step(ck);

    /* the runtime's loader validates every field first */
    char msg[1024];
    rt_model *m = NULL;
    if (rt_model_load_buffer(gb, len, &m, msg, sizeof msg) != RT_OK) {
        errf(err, err_len, "graph binary: %s", msg);
        return -1;
    }
    rt_model_free(m);
    Graphc__Graph *g = graphc__graph__unpack(NULL, len - GB_MAGIC_LEN, (const uint8_t *)gb + GB_MAGIC_LEN);
    gc_arena *a = gc_arena_new();
    int rc = -1;
    if (!g || !a) {
        errf(err, err_len, "out of memory reading the graph binary");
        goto done;
    }
    int nv = (int)g->n_values, nn = (int)g->n_nodes;
    uint8_t *need = gc_alloc(a, (size_t)nv + 1), *node_need = gc_alloc(a, (size_t)nn + 1);
    int *producer = gc_alloc(a, sizeof(int) * ((size_t)nv + 1));
    int *remap = gc_alloc(a, sizeof(int) * ((size_t)nv + 1));
    name_index ix = { g, gc_alloc(a, sizeof(int) * ((size_t)nv + 1)), 0 };
    if (!need || !node_need || !producer || !remap || !ix.ids)
        goto oom;
    for (int v = 0; v < nv; v++) {
        producer[v] = -1;
        if (g->values[v]->name && g->values[v]->name[0])
            ix.ids[ix.n++] = v;
    }
    sort_graph = g;
    qsort(ix.ids, (size_t)ix.n, sizeof(int), cmp_ids);
    for (int k = 0; k < nn; k++)
        for (size_t j = 0; j < g->nodes[k]->n_outputs; j++)
            producer[g->nodes[k]->outputs[j]] = k;

    /* roots: the graph outputs and what the inference entries feed and fetch */
    for (size_t i = 0; i < g->n_outputs; i++)
        need[g->outputs[i]] = 1;
    for (size_t e = 0; e < g->n_entries; e++) {
        const Graphc__EntryPoint *ep = g->entries[e];
        if (is_training_entry(ep)) {
            stats->n_dropped_entries++;
            continue;
        }
        for (size_t i = 0; i < ep->n_feeds; i++)
            need[ep->feeds[i]] = 1;
        for (size_t i = 0; i < ep->n_fetches; i++)
            need[ep->fetches[i]] = 1;
    }
    /* nodes are in execution order: one backward sweep */
    for (int k = nn - 1; k >= 0; k--) {
        const Graphc__Node *nd = g->nodes[k];
        int want = 0;
        for (size_t j = 0; j < nd->n_outputs && !want; j++)
            want = need[nd->outputs[j]];
        if (!want) {
            stats->n_dropped_nodes++;
            continue;
        }
        node_need[k] = 1;
        for (size_t j = 0; j < nd->n_outputs; j++)
            need[nd->outputs[j]] = 1;
        for (size_t j = 0; j < nd->n_inputs; j++)
            need[nd->inputs[j]] = 1;
    }

    /* every kept param against the checkpoint */
    probs pr;
    int folded = 0;
    pr.buf[0] = 0;
    pr.used = 0;
    pr.n = 0;
    char sa[8 * 24 + 4], sb[8 * 24 + 4];
    for (int v = 0; v < nv; v++) {
        const Graphc__Value *pv = g->values[v];
        if (pv->kind == GRAPHC__VALUE_KIND__VK_INPUT && !need[v])
            stats->n_dropped_inputs++;
        if (pv->kind != GRAPHC__VALUE_KIND__VK_PARAM)
            continue;
        if (!need[v]) {
            stats->n_dropped_params++;
            continue;
        }
        int k = rt_checkpoint_find(ck, pv->name);
        if (k < 0) {
            prob(&pr, "param '%s' is missing in the checkpoint", pv->name);
            continue;
        }
        rt_tensor t;
        rt_checkpoint_entry(ck, k, NULL, &t, NULL);
        int64_t dims[8];
        int rank = (int)pv->type->n_dims;
        for (int d = 0; d < rank; d++)
            dims[d] = pv->type->dims[d] ? pv->type->dims[d]->coef : 0;
        int same_shape = t.rank == rank && memcmp(t.dims, dims, sizeof(int64_t) * (size_t)rank) == 0;
        int same_dtype = (int)t.dtype == (int)pv->type->dtype;
        if (!same_shape || !same_dtype) {
            shape_str(dims, rank, sa, sizeof sa);
            shape_str(t.dims, t.rank, sb, sizeof sb);
            const char *dm = rt_dtype_name((rt_dtype)pv->type->dtype), *dc = rt_dtype_name(t.dtype);
            if (!same_dtype && same_shape)
                prob(&pr, "param '%s': dtype %s in the binary, %s in the checkpoint", pv->name, dm, dc);
            else if (same_dtype)
                prob(&pr, "param '%s': shape %s in the binary, %s in the checkpoint", pv->name, sa, sb);
            else
                prob(&pr, "param '%s': %s%s in the binary, %s%s in the checkpoint", pv->name, dm, sa, dc, sb);
        }
    }
    /* every checkpoint entry: a param of the binary, or training state */
    for (int k = 0; k < rt_checkpoint_n_entries(ck); k++) {
        const char *name;
        rt_checkpoint_entry(ck, k, &name, NULL, NULL);
        int v = find_value(&ix, name);
        if (v >= 0 && g->values[v]->kind == GRAPHC__VALUE_KIND__VK_PARAM)
            continue;
        if (is_state_name(&ix, name) || (v < 0 && strncmp(name, "optimizer.", 10) == 0)) {
            stats->n_ignored++;
            continue;
        }
        folded++;
        prob(&pr, "checkpoint entry '%s' is not a param of the binary (%s)", name,
             v < 0 ? "no value of that name"
             : g->values[v]->kind == GRAPHC__VALUE_KIND__VK_CONST ? "a const there" : "a value of another kind there");
    }
    /* consts the compiler derived from a checkpointed param (w.T, w.fused,
     * w.bn, ...) would keep the param's old value */
    for (int v = 0; v < nv; v++) {
        const Graphc__Value *pv = g->values[v];
        if (pv->kind != GRAPHC__VALUE_KIND__VK_CONST || !need[v] || !pv->name)
            continue;
        const char *dot = strrchr(pv->name, '.');
        char base[1024];
        size_t n = dot ? (size_t)(dot - pv->name) : 0;
        if (!dot || n == 0 || n >= sizeof base)
            continue;
        memcpy(base, pv->name, n);
        base[n] = 0;
        if (rt_checkpoint_find(ck, base) >= 0) {
            folded++;
            prob(&pr, "const '%s' was derived from param '%s' by the compiler and would keep its old value",
                 pv->name, base);
        }
    }
    if (pr.n) {
        errf(err, err_len, "the checkpoint does not match the graph binary '%s' (%d problem%s): %s%s",
             g->name ? g->name : "", pr.n, pr.n == 1 ? "" : "s", pr.buf,
             folded ? ". A binary compiled at -O1/-O2 without training may have folded params into "
                      "constants: freeze the training binary or one compiled with -O0" : "");
        goto done;
    }

    /* the new graph: kept values (params -> consts), nodes, outputs, entries */
    Graphc__Graph ng = *g;
    ng.n_values = ng.n_nodes = ng.n_outputs = ng.n_entries = 0;
    ng.train = NULL; /* inference only */
    ng.values = gc_alloc(a, sizeof(Graphc__Value *) * ((size_t)nv + 1));
    ng.nodes = gc_alloc(a, sizeof(Graphc__Node *) * ((size_t)nn + 1));
    ng.outputs = gc_alloc(a, sizeof(uint32_t) * (g->n_outputs + 1));
    ng.entries = gc_alloc(a, sizeof(Graphc__EntryPoint *) * (g->n_entries + 1));
    if (!ng.values || !ng.nodes || !ng.outputs || !ng.entries)
        goto oom;
    for (int v = 0; v < nv; v++) {
        remap[v] = -1;
        if (!need[v])
            continue;
        Graphc__Value *cv = gc_alloc(a, sizeof *cv);
        if (!cv)
            goto oom;
        *cv = *g->values[v];
        if (cv->kind == GRAPHC__VALUE_KIND__VK_PARAM) {
            rt_tensor t;
            rt_checkpoint_entry(ck, rt_checkpoint_find(ck, cv->name), NULL, &t, NULL);
            size_t nbytes = rt_dtype_size(t.dtype);
            for (int d = 0; d < t.rank; d++)
                nbytes *= (size_t)t.dims[d];
            size_t nch = nbytes ? (nbytes + CHUNK - 1) / CHUNK : 0;
            cv->kind = GRAPHC__VALUE_KIND__VK_CONST;
            cv->trainable = 0;
            cv->zeros = 0;
            cv->n_data = nch;
            cv->data = gc_alloc(a, sizeof(ProtobufCBinaryData) * (nch + 1));
            if (!cv->data)
                goto oom;
            for (size_t c = 0; c < nch; c++) {
                size_t off = c * CHUNK;
                cv->data[c].data = (uint8_t *)t.data + off;
                cv->data[c].len = nbytes - off < CHUNK ? nbytes - off : CHUNK;
            }
            stats->n_frozen++;
        }
        remap[v] = (int)ng.n_values;
        ng.values[ng.n_values++] = cv;
    }
    for (int k = 0; k < nn; k++) {
        if (!node_need[k])
            continue;
        const Graphc__Node *nd = g->nodes[k];
        Graphc__Node *cn = gc_alloc(a, sizeof *cn);
        if (!cn)
            goto oom;
        *cn = *nd;
        cn->inputs = gc_alloc(a, sizeof(uint32_t) * (nd->n_inputs + 1));
        cn->outputs = gc_alloc(a, sizeof(uint32_t) * (nd->n_outputs + 1));
        if (!cn->inputs || !cn->outputs)
            goto oom;
        for (size_t j = 0; j < nd->n_inputs; j++)
            cn->inputs[j] = (uint32_t)remap[nd->inputs[j]];
        for (size_t j = 0; j < nd->n_outputs; j++)
            cn->outputs[j] = (uint32_t)remap[nd->outputs[j]];
        ng.nodes[ng.n_nodes++] = cn;
    }
    for (size_t i = 0; i < g->n_outputs; i++)
        ng.outputs[ng.n_outputs++] = (uint32_t)remap[g->outputs[i]];
    for (size_t e = 0; e < g->n_entries; e++) {
        const Graphc__EntryPoint *ep = g->entries[e];
        if (is_training_entry(ep))
            continue;
        Graphc__EntryPoint *ce = gc_alloc(a, sizeof *ce);
        if (!ce)
            goto oom;
        *ce = *ep;
        ce->feeds = gc_alloc(a, sizeof(uint32_t) * (ep->n_feeds + 1));
        ce->fetches = gc_alloc(a, sizeof(uint32_t) * (ep->n_fetches + 1));
        if (!ce->feeds || !ce->fetches)
            goto oom;
        for (size_t i = 0; i < ep->n_feeds; i++)
            ce->feeds[i] = (uint32_t)remap[ep->feeds[i]];
        for (size_t i = 0; i < ep->n_fetches; i++)
            ce->fetches[i] = (uint32_t)remap[ep->fetches[i]];
        ng.entries[ng.n_entries++] = ce;
    }
    /* the static memory plan, restricted to the kept node values */
    Graphc__MemoryPlan mp;
    if (g->plan && g->plan->n_value_ids) {
        const Graphc__MemoryPlan *op = g->plan;
        size_t n = op->n_value_ids;
        mp = *op;
        mp.n_value_ids = 0;
        mp.value_ids = gc_alloc(a, sizeof(uint32_t) * (n + 1));
        mp.offsets = gc_alloc(a, sizeof(int64_t) * (n + 1));
        mp.offsets_per_sym = gc_alloc(a, sizeof(int64_t) * (n + 1));
        mp.bytes = gc_alloc(a, sizeof(int64_t) * (n + 1));
        mp.bytes_per_sym = gc_alloc(a, sizeof(int64_t) * (n + 1));
        mp.views = gc_alloc(a, sizeof(protobuf_c_boolean) * (n + 1));
        if (!mp.value_ids || !mp.offsets || !mp.offsets_per_sym || !mp.bytes || !mp.bytes_per_sym || !mp.views)
            goto oom;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t v = op->value_ids[i];
            if (v >= (uint32_t)nv || remap[v] < 0)
                continue;
            mp.value_ids[k] = (uint32_t)remap[v];
            mp.offsets[k] = i < op->n_offsets ? op->offsets[i] : 0;
            mp.offsets_per_sym[k] = i < op->n_offsets_per_sym ? op->offsets_per_sym[i] : 0;
            mp.bytes[k] = i < op->n_bytes ? op->bytes[i] : 0;
            mp.bytes_per_sym[k] = i < op->n_bytes_per_sym ? op->bytes_per_sym[i] : 0;
            mp.views[k] = i < op->n_views ? op->views[i] : 0;
            k++;
        }
        mp.n_value_ids = k;
        mp.n_offsets = op->n_offsets ? k : 0;
        mp.n_offsets_per_sym = op->n_offsets_per_sym ? k : 0;
        mp.n_bytes = op->n_bytes ? k : 0;
        mp.n_bytes_per_sym = op->n_bytes_per_sym ? k : 0;
        mp.n_views = op->n_views ? k : 0;
        ng.plan = k ? &mp : NULL;
    } else {
        ng.plan = NULL;
    }

    /* pack; the runtime must load it (without the plan if the plan no longer fits) */
    size_t blen;
    uint8_t *buf = pack_graph(&ng, &blen);
    if (!buf)
        goto oom;
    m = NULL;
    rt_status st = rt_model_load_buffer(buf, blen, &m, msg, sizeof msg);
    if (st != RT_OK && ng.plan) {
        free(buf);
        ng.plan = NULL;
        buf = pack_graph(&ng, &blen);
        if (!buf)
            goto oom;
        st = rt_model_load_buffer(buf, blen, &m, msg, sizeof msg);
    }
    if (st != RT_OK) {
        free(buf);
        errf(err, err_len, "internal error: the frozen graph binary does not load: %s", msg);
        goto done;
    }
    rt_model_free(m);
    stats->plan = ng.plan != NULL;
    *out = buf;
    *out_len = blen;
    rc = 0;
    goto done;
oom:
    errf(err, err_len, "out of memory freezing the graph");
done:
    if (g)
        graphc__graph__free_unpacked(g, NULL);
    gc_arena_free(a);
    return rc;
}

static uint8_t *read_file(const char *path, size_t *len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        errf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        errf(err, err_len, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        errf(err, err_len, "%s: out of memory reading %zu bytes", path, n);
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, n, f);
    int bad = ferror(f);
    fclose(f);
    if (got != n || bad) {
        errf(err, err_len, "%s: read error", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int gc_freeze_file(const char *gb_path, const char *ckpt_path, const char *out_path,
                   gc_freeze_stats *stats, char *err, size_t err_len)
{
    if (!gb_path || !ckpt_path || !out_path) {
        errf(err, err_len, "gc_freeze_file: NULL argument");
        return -1;
    }
    char msg[1536];
    size_t len;
    uint8_t *gb = read_file(gb_path, &len, err, err_len);
    if (!gb)
        return -1;
    rt_checkpoint *ck = NULL;
    if (rt_checkpoint_load_file(ckpt_path, &ck, msg, sizeof msg) != RT_OK) {
        errf(err, err_len, "%s", msg);
        free(gb);
        return -1;
    }
    void *out = NULL;
    size_t out_len = 0;
    int rc = gc_freeze_buffer(gb, len, ck, &out, &out_len, stats, msg, sizeof msg);
    if (rc)
        errf(err, err_len, "%s: %s", gb_path, msg);
    else if (rt_file_write_atomic(out_path, out, out_len, msg, sizeof msg) != RT_OK) {
        errf(err, err_len, "%s", msg);
        rc = -1;
    }
    free(out);
    free(gb);
    rt_checkpoint_free(ck);
    return rc;
}
