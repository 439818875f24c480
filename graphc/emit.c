/* graphc/emit.c -- IR -> graph binary: the 8-byte magic "GRAPHCB\x01" and one
 * serialized graphc.Graph (proto/graph.proto). Values of dead nodes are left
 * out and ids renumbered; param/const data is split into 64 MiB chunks. The
 * file is written atomically: temp file, fsync, rename. */
#include "ir.h"
#include "graph.pb-c.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GB_MAGIC "GRAPHCB\x01"
#define CHUNK ((size_t)64 << 20)

static Graphc__TensorType *emit_type(gc_arena *a, const op_type *t)
{
    Graphc__TensorType *tt = gc_alloc(a, sizeof *tt);
    if (!tt)
        return NULL;
    graphc__tensor_type__init(tt);
    tt->dtype = (Graphc__DType)t->dtype;
    tt->n_dims = (size_t)t->rank;
    tt->dims = gc_alloc(a, sizeof(Graphc__Dim *) * (size_t)(t->rank + 1));
    if (!tt->dims)
        return NULL;
    for (int i = 0; i < t->rank; i++) {
        Graphc__Dim *d = gc_alloc(a, sizeof *d);
        if (!d)
            return NULL;
        graphc__dim__init(d);
        d->coef = t->dims[i].coef;
        d->sym = t->dims[i].sym >= 0 ? t->dims[i].sym + 1 : 0;
        tt->dims[i] = d;
    }
    return tt;
}

/* The memory plan of the memplan pass, with value ids remapped; left empty
 * when there is none or the graph changed after planning (then the runtime
 * plans). -1 when out of memory. */
static int emit_plan(const gc_graph *g, gc_arena *a, const int *remap, int n_emitted, Graphc__MemoryPlan *mp)
{
    graphc__memory_plan__init(mp);
    const gc_memplan *p = g->mplan;
    if (!p || p->n_values != g->n_values || p->n_nodes != g->n_nodes)
        return 0;
    size_t n = (size_t)n_emitted + 1;
    mp->value_ids = gc_alloc(a, sizeof(uint32_t) * n);
    mp->offsets = gc_alloc(a, sizeof(int64_t) * n);
    mp->offsets_per_sym = gc_alloc(a, sizeof(int64_t) * n);
    mp->bytes = gc_alloc(a, sizeof(int64_t) * n);
    mp->bytes_per_sym = gc_alloc(a, sizeof(int64_t) * n);
    mp->views = gc_alloc(a, sizeof(protobuf_c_boolean) * n);
    if (!mp->value_ids || !mp->offsets || !mp->offsets_per_sym || !mp->bytes || !mp->bytes_per_sym || !mp->views)
        return -1;
    size_t k = 0, n_views = 0;
    for (int v = 0; v < g->n_values; v++) {
        if (remap[v] < 0 || g->values[v]->kind != GV_NODE)
            continue;
        const gc_mem_slot *s = &p->slots[v];
        if (s->bytes_c < 0) { /* a live value the plan does not know: no plan */
            mp->n_value_ids = 0;
            return 0;
        }
        mp->value_ids[k] = (uint32_t)remap[v];
        mp->offsets[k] = s->off_c;
        mp->offsets_per_sym[k] = s->off_s;
        mp->bytes[k] = s->bytes_c;
        mp->bytes_per_sym[k] = s->bytes_s;
        mp->views[k] = s->view != 0;
        n_views += s->view != 0;
        k++;
    }
    mp->n_value_ids = mp->n_offsets = mp->n_offsets_per_sym = mp->n_bytes = mp->n_bytes_per_sym = k;
    mp->n_views = n_views ? k : 0;
    mp->arena_bytes = p->arena_c;
    mp->arena_bytes_per_sym = p->arena_s;
    mp->sym = p->sym >= 0 ? p->sym + 1 : 0;
    return 0;
}

/* The entry points (values: indices into g->outputs, resolved here). */
static int emit_entries(const gc_graph *g, gc_arena *a, const int *remap, Graphc__Graph *gr, gc_diag *d)
{
    gr->entries = gc_alloc(a, sizeof(Graphc__EntryPoint *) * (size_t)g->n_entries);
    if (!gr->entries)
        return -1;
    for (int e = 0; e < g->n_entries; e++) {
        const gc_entry *en = &g->entries[e];
        Graphc__EntryPoint *ep = gc_alloc(a, sizeof *ep);
        if (!ep)
            return -1;
        graphc__entry_point__init(ep);
        ep->name = (char *)en->name;
        ep->feeds = gc_alloc(a, sizeof(uint32_t) * (size_t)(en->n_feeds + 1));
        ep->fetches = gc_alloc(a, sizeof(uint32_t) * (size_t)(en->n_fetches + 1));
        ep->updates = gc_alloc(a, sizeof(Graphc__Update *) * (size_t)(en->n_updates + 1));
        if (!ep->feeds || !ep->fetches || !ep->updates)
            return -1;
        for (int i = 0; i < en->n_feeds; i++)
            if (remap[en->feeds[i]] >= 0)
                ep->feeds[ep->n_feeds++] = (uint32_t)remap[en->feeds[i]];
        for (int i = 0; i < en->n_fetches; i++)
            ep->fetches[ep->n_fetches++] = (uint32_t)remap[g->outputs[en->fetches[i]]];
        for (int i = 0; i < en->n_updates; i++) {
            int t = remap[en->upd_target[i]], v = remap[g->outputs[en->upd_value[i]]];
            if (t < 0 || v < 0) {
                gc_error(d, GC_NOLOC, "internal error: entry %s: update of param '%s' was removed", en->name,
                         g->values[en->upd_target[i]]->name);
                return -2;
            }
            Graphc__Update *u = gc_alloc(a, sizeof *u);
            if (!u)
                return -1;
            graphc__update__init(u);
            u->target = (uint32_t)t;
            u->value = (uint32_t)v;
            ep->updates[ep->n_updates++] = u;
        }
        gr->entries[gr->n_entries++] = ep;
    }
    return 0;
}

int gc_emit_buffer(const gc_graph *g, const gc_diag *dsrc, void **buf, size_t *len, gc_diag *d)
{
    gc_arena *a = gc_arena_new();
    if (!a) {
        gc_error(d, GC_NOLOC, "out of memory");
        return -1;
    }
    int rc = -1;
    int *remap = gc_alloc(a, sizeof(int) * (size_t)(g->n_values + 1));
    Graphc__Graph gr;
    graphc__graph__init(&gr);
    gr.format_version = 1;
    gr.producer = "graphc 0.1";
    gr.name = (char *)g->name;
    gr.n_symbols = (size_t)g->n_symbols;
    gr.symbols = (char **)g->symbols;
    gr.values = gc_alloc(a, sizeof(Graphc__Value *) * (size_t)(g->n_values + 1));
    gr.nodes = gc_alloc(a, sizeof(Graphc__Node *) * (size_t)(g->n_nodes + 1));
    gr.outputs = gc_alloc(a, sizeof(uint32_t) * (size_t)(g->n_outputs + 1));
    if (!remap || !gr.values || !gr.nodes || !gr.outputs)
        goto oom;

    for (int i = 0; i < g->n_values; i++) {
        const gc_value *v = g->values[i];
        remap[i] = -1;
        if ((v->kind == GV_NODE && g->nodes[v->producer]->dead) || v->dead)
            continue;
        Graphc__Value *pv = gc_alloc(a, sizeof *pv);
        if (!pv)
            goto oom;
        graphc__value__init(pv);
        pv->name = (char *)v->name;
        pv->kind = (Graphc__ValueKind)v->kind;
        pv->type = emit_type(a, &v->type);
        if (!pv->type)
            goto oom;
        pv->trainable = v->kind == GV_PARAM && v->trainable;
        if (v->kind == GV_PARAM || v->kind == GV_CONST) {
            /* all-zero data (optimizer state, accumulators) is a flag, not bytes */
            int zero = v->nbytes >= 64;
            for (size_t k = 0; zero && k < v->nbytes; k++)
                zero = ((const unsigned char *)v->data)[k] == 0;
            pv->zeros = zero;
            size_t nch = v->nbytes && !zero ? (v->nbytes + CHUNK - 1) / CHUNK : 0;
            pv->n_data = nch;
            pv->data = gc_alloc(a, sizeof(ProtobufCBinaryData) * (nch + 1));
            if (!pv->data)
                goto oom;
            for (size_t c = 0; c < nch; c++) {
                size_t off = c * CHUNK;
                pv->data[c].data = (uint8_t *)v->data + off;
                pv->data[c].len = v->nbytes - off < CHUNK ? v->nbytes - off : CHUNK;
            }
        }
        remap[i] = (int)gr.n_values;
        gr.values[gr.n_values++] = pv;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const gc_node *n = g->nodes[i];
        if (n->dead)
            continue;
        const op_def *od = &op_table[n->op];
        Graphc__Node *pn = gc_alloc(a, sizeof *pn);
        if (!pn)
            goto oom;
        graphc__node__init(pn);
        pn->op = (char *)od->name;
        pn->name = (char *)n->name;
        pn->n_inputs = (size_t)n->n_inputs;
        pn->inputs = gc_alloc(a, sizeof(uint32_t) * (size_t)(n->n_inputs + 1));
        pn->n_outputs = (size_t)n->n_outputs;
        pn->outputs = gc_alloc(a, sizeof(uint32_t) * (size_t)(n->n_outputs + 1));
        pn->attrs = gc_alloc(a, sizeof(Graphc__Attr *) * (size_t)(od->n_attrs + 1));
        if (!pn->inputs || !pn->outputs || !pn->attrs)
            goto oom;
        for (int j = 0; j < n->n_inputs; j++)
            pn->inputs[j] = (uint32_t)remap[n->inputs[j]];
        for (int j = 0; j < n->n_outputs; j++)
            pn->outputs[j] = (uint32_t)remap[n->outputs[j]];
        for (int k = 0; k < od->n_attrs; k++) {
            Graphc__Attr *pa = gc_alloc(a, sizeof *pa);
            if (!pa)
                goto oom;
            graphc__attr__init(pa);
            pa->name = (char *)od->attrs[k].name;
            pa->kind = (Graphc__AttrKind)od->attrs[k].kind;
            pa->i = n->attrs[k].i;
            pa->f = n->attrs[k].f;
            if (od->attrs[k].kind == OP_ATTR_INTS) {
                pa->n_ints = (size_t)n->attrs[k].n;
                pa->ints = (int64_t *)n->attrs[k].ints;
            }
            pn->attrs[pn->n_attrs++] = pa;
        }
        if (dsrc && n->loc.file >= 0 && n->loc.file < dsrc->n_files) {
            Graphc__SourceLoc *l = gc_alloc(a, sizeof *l);
            if (!l)
                goto oom;
            graphc__source_loc__init(l);
            int line, col;
            gc_loc_linecol(dsrc, n->loc, &line, &col);
            l->file = (char *)dsrc->files[n->loc.file].path;
            l->line = (uint32_t)line;
            l->col = (uint32_t)col;
            pn->loc = l;
        }
        gr.nodes[gr.n_nodes++] = pn;
    }
    int n_user = g->trains ? g->n_user_outputs : g->n_outputs;
    for (int i = 0; i < n_user; i++)
        gr.outputs[gr.n_outputs++] = (uint32_t)remap[g->outputs[i]];
    int erc = g->n_entries ? emit_entries(g, a, remap, &gr, d) : 0;
    Graphc__TrainInfo ti;
    if (g->train_optimizer) {
        graphc__train_info__init(&ti);
        ti.optimizer = (char *)g->train_optimizer;
        ti.lr = g->train_lr;
        ti.lr_input = g->train_lr_input >= 0 ? (char *)g->values[g->train_lr_input]->name : "";
        gr.train = &ti;
    }
    if (erc == -1)
        goto oom;
    if (erc < 0) {
        gc_arena_free(a);
        return -1;
    }
    Graphc__MemoryPlan mp;
    if (emit_plan(g, a, remap, (int)gr.n_values, &mp) < 0)
        goto oom;
    if (mp.n_value_ids)
        gr.plan = &mp;

    size_t plen = graphc__graph__get_packed_size(&gr);
    uint8_t *out = malloc(plen + 8);
    if (!out)
        goto oom;
    memcpy(out, GB_MAGIC, 8);
    graphc__graph__pack(&gr, out + 8);
    *buf = out;
    *len = plen + 8;
    rc = 0;
    gc_arena_free(a);
    return rc;
oom:
    gc_error(d, GC_NOLOC, "out of memory while writing the graph binary");
    gc_arena_free(a);
    return -1;
}

int gc_emit_file(const gc_graph *g, const gc_diag *dsrc, const char *path, gc_diag *d)
{
    void *buf;
    size_t len;
    if (gc_emit_buffer(g, dsrc, &buf, &len, d))
        return -1;
    size_t plen = strlen(path) + 32;
    char *tmp = malloc(plen);
    if (!tmp) {
        free(buf);
        gc_error(d, GC_NOLOC, "out of memory");
        return -1;
    }
    snprintf(tmp, plen, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int ok = f != NULL;
    if (ok)
        ok = fwrite(buf, 1, len, f) == len;
    if (ok)
        ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0) {
        err = errno;
        ok = 0;
    }
    if (!ok) {
        gc_error(d, GC_NOLOC, "cannot write '%s': %s", path, strerror(err));
        remove(tmp);
    }
    free(tmp);
    free(buf);
    return ok ? 0 : -1;
}
