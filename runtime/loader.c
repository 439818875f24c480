/* runtime/loader.c -- loads a graph binary (.gb) and validates every field:
 * magic, version, protobuf unpack under a memory-limiting allocator, then an
 * immediate conversion to rt_model (types, weights, ops, arity, attributes,
 * node order, which rules out cycles, and each node's infer rule against its
 * stored output types). Any byte string gives a model or a message. */
#include "rt_internal.h"
#include "rt_io.h"
#include "rt_pb.h"
#include "graph.pb-c.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GB_MAGIC "GRAPHCB\x01"
#define GB_MAGIC_LEN 8
#define GB_MAX_BYTES ((uint64_t)4 << 30) /* 4 GiB */
#define GB_MAX_COUNT (1 << 28)            /* values, nodes, symbols */

/* ---- conversion ---- */

typedef struct conv {
    rt_model *m;
    char *err;
    size_t err_len;
    /* name -> value id hash (open addressing), for the uniqueness check */
    int *hash;
    size_t hash_cap;
    size_t file_len;     /* the binary's size, to bound all-zero values */
    uint64_t zero_bytes; /* bytes of values marked all-zero so far */
} conv;


static const char *kind_name(int k)
{
    switch (k) {
    case RT_VK_INPUT: return "input";
    case RT_VK_PARAM: return "param";
    case RT_VK_CONST: return "const";
    case RT_VK_NODE: return "node value";
    }
    return "?";
}

static const char *kind_article(int k) { return k == RT_VK_INPUT ? "an" : "a"; }

static void vwhere(const rt_model *m, int v, char *buf, size_t len)
{
    if (m->values[v].name && m->values[v].name[0])
        snprintf(buf, len, "value %d '%s'", v, m->values[v].name);
    else
        snprintf(buf, len, "value %d", v);
}

static rt_status conv_symbols(conv *c, const Graphc__Graph *g)
{
    rt_model *m = c->m;
    if (g->n_symbols > GB_MAX_COUNT) {
        rt_errf(c->err, c->err_len, "too many symbols (%zu)", g->n_symbols);
        return RT_ERR_FORMAT;
    }
    m->n_syms = (int)g->n_symbols;
    if (m->n_syms) {
        m->syms = calloc((size_t)m->n_syms, sizeof *m->syms);
        if (!m->syms)
            return RT_ERR_NOMEM;
    }
    for (int i = 0; i < m->n_syms; i++) {
        const char *s = g->symbols[i];
        if (!s || !s[0]) {
            rt_errf(c->err, c->err_len, "symbol %d has an empty name", i + 1);
            return RT_ERR_FORMAT;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(m->syms[j], s) == 0) {
                rt_errf(c->err, c->err_len, "symbol '%s' is declared twice (%d and %d)", s, j + 1, i + 1);
                return RT_ERR_FORMAT;
            }
        if (!(m->syms[i] = rt_strdup(s)))
            return RT_ERR_NOMEM;
    }
    return RT_OK;
}

/* Converts a TensorType; what says where for messages. */
static rt_status conv_type(conv *c, const Graphc__TensorType *pt, op_type *t, const char *what)
{
    if (!pt) {
        rt_errf(c->err, c->err_len, "%s: has no type", what);
        return RT_ERR_FORMAT;
    }
    memset(t, 0, sizeof *t);
    if ((int)pt->dtype <= 0 || (int)pt->dtype >= OP_DT_COUNT) {
        rt_errf(c->err, c->err_len, "%s: invalid dtype %d", what, (int)pt->dtype);
        return RT_ERR_FORMAT;
    }
    if (pt->n_dims > OP_MAX_RANK) {
        rt_errf(c->err, c->err_len, "%s: rank %zu exceeds the limit %d", what, pt->n_dims, OP_MAX_RANK);
        return RT_ERR_FORMAT;
    }
    t->dtype = (op_dtype)pt->dtype;
    t->rank = (int)pt->n_dims;
    int64_t acc = (int64_t)op_dtype_size(t->dtype);
    for (int i = 0; i < t->rank; i++) {
        const Graphc__Dim *d = pt->dims[i];
        int64_t coef = d ? d->coef : 0;
        int32_t sym = d ? d->sym : 0;
        if (sym < 0 || sym > c->m->n_syms) {
            rt_errf(c->err, c->err_len, "%s: dim %d names symbol %d, the graph has %d", what, i,
                    (int)sym, c->m->n_syms);
            return RT_ERR_FORMAT;
        }
        if (coef < 0 || (sym > 0 && coef < 1)) {
            rt_errf(c->err, c->err_len, "%s: dim %d has invalid size %lld", what, i, (long long)coef);
            return RT_ERR_FORMAT;
        }
        if (coef != 0 && acc > INT64_MAX / coef) {
            rt_errf(c->err, c->err_len, "%s: size overflows int64", what);
            return RT_ERR_FORMAT;
        }
        acc *= coef;
        t->dims[i].coef = coef;
        t->dims[i].sym = sym > 0 ? sym - 1 : -1;
    }
    return RT_OK;
}

static int type_is_concrete(const op_type *t)
{
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i].sym >= 0)
            return 0;
    return 1;
}

static rt_status hash_insert(conv *c, int v)
{
    const char *name = c->m->values[v].name;
    if (!name[0])
        return RT_OK;
    size_t mask = c->hash_cap - 1;
    for (size_t i = rt_name_hash(name) & mask;; i = (i + 1) & mask) {
        int o = c->hash[i];
        if (o < 0) {
            c->hash[i] = v;
            return RT_OK;
        }
        if (strcmp(c->m->values[o].name, name) == 0) {
            rt_errf(c->err, c->err_len, "value %d: name '%s' is already used by value %d", v, name, o);
            return RT_ERR_FORMAT;
        }
    }
}

static rt_status conv_values(conv *c, const Graphc__Graph *g)
{
    rt_model *m = c->m;
    if (g->n_values > GB_MAX_COUNT) {
        rt_errf(c->err, c->err_len, "too many values (%zu)", g->n_values);
        return RT_ERR_FORMAT;
    }
    m->n_values = (int)g->n_values;
    m->values = calloc(m->n_values ? (size_t)m->n_values : 1, sizeof *m->values);
    c->hash_cap = 16;
    while (c->hash_cap < 2 * (size_t)m->n_values)
        c->hash_cap *= 2;
    c->hash = malloc(c->hash_cap * sizeof *c->hash);
    if (!m->values || !c->hash)
        return RT_ERR_NOMEM;
    memset(c->hash, 0xff, c->hash_cap * sizeof *c->hash);
    char what[160];
    for (int v = 0; v < m->n_values; v++) {
        const Graphc__Value *pv = g->values[v];
        rt_value *rv = &m->values[v];
        rv->producer = -1;
        if (!(rv->name = rt_strdup(pv && pv->name ? pv->name : "")))
            return RT_ERR_NOMEM;
        vwhere(m, v, what, sizeof what);
        if (!pv) {
            rt_errf(c->err, c->err_len, "%s: missing", what);
            return RT_ERR_FORMAT;
        }
        rv->kind = (int)pv->kind;
        rv->trainable = pv->trainable != 0;
        if (rv->kind < RT_VK_INPUT || rv->kind > RT_VK_NODE) {
            rt_errf(c->err, c->err_len, "%s: invalid kind %d", what, rv->kind);
            return RT_ERR_FORMAT;
        }
        if (!rv->name[0] && rv->kind != RT_VK_NODE) {
            rt_errf(c->err, c->err_len, "%s: %s %s needs a name", what, kind_article(rv->kind),
                    kind_name(rv->kind));
            return RT_ERR_FORMAT;
        }
        rt_status st = conv_type(c, pv->type, &rv->type, what);
        if (st)
            return st;
        if ((st = hash_insert(c, v)))
            return st;
        int has_data = rv->kind == RT_VK_PARAM || rv->kind == RT_VK_CONST;
        if (!has_data) {
            if (pv->n_data) {
                rt_errf(c->err, c->err_len, "%s: %s %s cannot carry data", what, kind_article(rv->kind),
                        kind_name(rv->kind));
                return RT_ERR_FORMAT;
            }
            continue;
        }
        if (!type_is_concrete(&rv->type)) {
            char ts[256];
            rt_value_type_str(m, &rv->type, ts, sizeof ts);
            rt_errf(c->err, c->err_len, "%s: a %s must have a concrete shape, not %s", what,
                    kind_name(rv->kind), ts);
            return RT_ERR_FORMAT;
        }
        int64_t numel = 1;
        for (int i = 0; i < rv->type.rank; i++)
            numel *= rv->type.dims[i].coef; /* no overflow: checked by conv_type */
        uint64_t want = (uint64_t)numel * op_dtype_size(rv->type.dtype);
        uint64_t have = 0;
        if (pv->zeros) {
            /* data left out: all zeros. A corrupt file must not make us
             * allocate without bound, so zero-filled values are limited to
             * a multiple of the file's size (Adam state is 3x the params). */
            if (pv->n_data) {
                rt_errf(c->err, c->err_len, "%s: marked all-zero but carries data", what);
                return RT_ERR_FORMAT;
            }
            c->zero_bytes += want;
            if (c->zero_bytes > (uint64_t)16 * c->file_len + ((uint64_t)256 << 20)) {
                rt_errf(c->err, c->err_len, "%s: %llu bytes of all-zero values in a file of %zu bytes: corrupt "
                        "or not made by graphc", what, (unsigned long long)c->zero_bytes, c->file_len);
                return RT_ERR_FORMAT;
            }
            have = want;
        }
        for (size_t k = 0; k < pv->n_data; k++) {
            if (pv->data[k].len && !pv->data[k].data) {
                rt_errf(c->err, c->err_len, "%s: data chunk %zu is missing", what, k);
                return RT_ERR_FORMAT;
            }
            have += pv->data[k].len; /* each <= the input size: cannot wrap */
        }
        if (have != want) {
            char ts[256];
            rt_value_type_str(m, &rv->type, ts, sizeof ts);
            rt_errf(c->err, c->err_len, "%s: %s %s needs %llu bytes of data, the file has %llu", what,
                    kind_name(rv->kind), ts, (unsigned long long)want, (unsigned long long)have);
            return RT_ERR_FORMAT;
        }
        if (want > SIZE_MAX)
            return RT_ERR_NOMEM;
        rv->nbytes = (size_t)want;
        rv->data = pv->zeros ? calloc(1, rv->nbytes ? rv->nbytes : 1) : malloc(rv->nbytes ? rv->nbytes : 1);
        if (!rv->data)
            return RT_ERR_NOMEM;
        size_t off = 0;
        for (size_t k = 0; k < pv->n_data; k++) {
            if (pv->data[k].len)
                memcpy((char *)rv->data + off, pv->data[k].data, pv->data[k].len);
            off += pv->data[k].len;
        }
        if (rv->type.dtype == OP_BOOL) {
            unsigned char *b = rv->data;
            for (size_t i = 0; i < rv->nbytes; i++)
                if (b[i] > 1) {
                    rt_errf(c->err, c->err_len, "%s: bool data holds byte %u at %zu (must be 0 or 1)",
                            what, b[i], i);
                    return RT_ERR_FORMAT;
                }
        }
    }
    return RT_OK;
}

static int enum_count(const char *const *names)
{
    int n = 0;
    while (names[n])
        n++;
    return n;
}

static const char *attr_kind_name(int k)
{
    switch (k) {
    case OP_ATTR_INT: return "an int";
    case OP_ATTR_FLOAT: return "a float";
    case OP_ATTR_INTS: return "a list of ints";
    }
    return "of no valid kind";
}

/* Op, arity, attributes, outputs of node i (inputs are checked later). */
static rt_status conv_node(conv *c, const Graphc__Node *pn, int i)
{
    rt_model *m = c->m;
    rt_node *n = &m->nodes[i];
    char where[256];
    if (!(n->name = rt_strdup(pn && pn->name ? pn->name : "")) || !(n->loc_file = rt_strdup("")))
        return RT_ERR_NOMEM;
    if (!pn) {
        rt_errf(c->err, c->err_len, "node %d: missing", i);
        return RT_ERR_FORMAT;
    }
    if (pn->loc) {
        free(n->loc_file);
        if (!(n->loc_file = rt_strdup(pn->loc->file ? pn->loc->file : "")))
            return RT_ERR_NOMEM;
        n->loc_line = pn->loc->line;
        n->loc_col = pn->loc->col;
    }
    int k = op_find(pn->op ? pn->op : "");
    if (k < 0) {
        rt_errf(c->err, c->err_len, "node %d ('%s'): unknown op '%s'", i, n->name, pn->op ? pn->op : "");
        return RT_ERR_FORMAT;
    }
    n->op = (op_kind)k;
    n->def = op_get(n->op);
    const op_def *d = n->def;
    snprintf(where, sizeof where, "node %d (%s '%s')", i, d->name, n->name);
    if (pn->n_inputs < (size_t)d->min_inputs || pn->n_inputs > (size_t)d->max_inputs) {
        if (d->min_inputs == d->max_inputs)
            rt_errf(c->err, c->err_len, "%s: has %zu inputs, %s takes %d", where, pn->n_inputs,
                    d->name, d->min_inputs);
        else
            rt_errf(c->err, c->err_len, "%s: has %zu inputs, %s takes %d to %d", where, pn->n_inputs,
                    d->name, d->min_inputs, d->max_inputs);
        return RT_ERR_FORMAT;
    }
    /* attributes by name */
    op_attrs_default(n->op, n->attrs);
    int seen[OP_MAX_ATTRS] = { 0 };
    for (size_t a = 0; a < pn->n_attrs; a++) {
        const Graphc__Attr *pa = pn->attrs[a];
        const char *an = pa && pa->name ? pa->name : "";
        int idx = op_attr_index(n->op, an);
        if (idx < 0) {
            char list[256] = "";
            size_t used = 0;
            for (int j = 0; j < d->n_attrs && used < sizeof list; j++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "",
                                         d->attrs[j].name);
            rt_errf(c->err, c->err_len, "%s: unknown attribute '%s' (%s has %s)", where, an, d->name,
                    d->n_attrs ? list : "none");
            return RT_ERR_FORMAT;
        }
        const op_attr_spec *sp = &d->attrs[idx];
        if (seen[idx]++) {
            rt_errf(c->err, c->err_len, "%s: attribute '%s' is given twice", where, an);
            return RT_ERR_FORMAT;
        }
        if ((int)pa->kind != (int)sp->kind) {
            rt_errf(c->err, c->err_len, "%s: attribute '%s' is %s, %s wants %s", where, an,
                    attr_kind_name((int)pa->kind), d->name, attr_kind_name(sp->kind));
            return RT_ERR_FORMAT;
        }
        op_attr *at = &n->attrs[idx];
        memset(at, 0, sizeof *at);
        switch (sp->kind) {
        case OP_ATTR_INT:
            at->i = pa->i;
            if (sp->enum_names && (pa->i < 0 || pa->i >= enum_count(sp->enum_names))) {
                rt_errf(c->err, c->err_len, "%s: attribute '%s' = %lld is out of range [0, %d)", where,
                        an, (long long)pa->i, enum_count(sp->enum_names));
                return RT_ERR_FORMAT;
            }
            break;
        case OP_ATTR_FLOAT:
            at->f = pa->f;
            break;
        case OP_ATTR_INTS:
            /* an empty list is allowed where the default is empty (pool stride) */
            if (pa->n_ints > OP_MAX_INTS || (sp->count > 0 && pa->n_ints != (size_t)sp->count &&
                                             !(pa->n_ints == 0 && sp->def.n == 0 && !sp->required))) {
                if (sp->count > 0)
                    rt_errf(c->err, c->err_len, "%s: attribute '%s' has %zu ints, %s wants %d", where,
                            an, pa->n_ints, d->name, sp->count);
                else
                    rt_errf(c->err, c->err_len, "%s: attribute '%s' has %zu ints (at most %d)", where,
                            an, pa->n_ints, OP_MAX_INTS);
                return RT_ERR_FORMAT;
            }
            at->n = (int)pa->n_ints;
            for (size_t j = 0; j < pa->n_ints; j++)
                at->ints[j] = pa->ints[j];
            break;
        default:
            break;
        }
    }
    for (int j = 0; j < d->n_attrs; j++)
        if (d->attrs[j].required && !seen[j]) {
            rt_errf(c->err, c->err_len, "%s: required attribute '%s' is missing", where, d->attrs[j].name);
            return RT_ERR_FORMAT;
        }
    /* outputs */
    int n_out = op_n_outputs(n->op, n->attrs);
    if (n_out < 1 || n_out > OP_MAX_OUTPUTS) {
        rt_errf(c->err, c->err_len, "%s: the attributes give %d outputs (1 to %d allowed)", where, n_out,
                OP_MAX_OUTPUTS);
        return RT_ERR_FORMAT;
    }
    if (pn->n_outputs != (size_t)n_out) {
        rt_errf(c->err, c->err_len, "%s: has %zu outputs, %s makes %d", where, pn->n_outputs, d->name,
                n_out);
        return RT_ERR_FORMAT;
    }
    n->n_inputs = (int)pn->n_inputs;
    n->n_outputs = n_out;
    n->inputs = malloc(sizeof(int) * (size_t)n->n_inputs);
    n->outputs = malloc(sizeof(int) * (size_t)n->n_outputs);
    if (!n->inputs || !n->outputs)
        return RT_ERR_NOMEM;
    for (int j = 0; j < n->n_inputs; j++) {
        if (pn->inputs[j] >= (uint32_t)m->n_values) {
            rt_errf(c->err, c->err_len, "%s: input %d is value %u, the graph has %d values", where, j,
                    pn->inputs[j], m->n_values);
            return RT_ERR_FORMAT;
        }
        n->inputs[j] = (int)pn->inputs[j];
    }
    for (int j = 0; j < n_out; j++) {
        uint32_t o = pn->outputs[j];
        if (o >= (uint32_t)m->n_values) {
            rt_errf(c->err, c->err_len, "%s: output %d is value %u, the graph has %d values", where, j, o,
                    m->n_values);
            return RT_ERR_FORMAT;
        }
        rt_value *v = &m->values[o];
        char vw[160];
        vwhere(m, (int)o, vw, sizeof vw);
        if (v->kind != RT_VK_NODE) {
            rt_errf(c->err, c->err_len, "%s: output %d is %s, %s %s, not a node value", where, j, vw,
                    kind_article(v->kind), kind_name(v->kind));
            return RT_ERR_FORMAT;
        }
        if (v->producer >= 0) {
            rt_errf(c->err, c->err_len, "%s: output %d is %s, already produced by node %d", where, j, vw,
                    v->producer);
            return RT_ERR_FORMAT;
        }
        v->producer = i;
        n->outputs[j] = (int)o;
    }
    return RT_OK;
}

/* Inputs defined before use, then the inference rule against the stored types. */
static rt_status check_node(conv *c, int i)
{
    rt_model *m = c->m;
    rt_node *n = &m->nodes[i];
    char where[320];
    rt_node_where(m, i, where, sizeof where);
    op_type in[OP_MAX_INPUTS], out[OP_MAX_OUTPUTS];
    for (int j = 0; j < n->n_inputs; j++) {
        const rt_value *v = &m->values[n->inputs[j]];
        char vw[160];
        vwhere(m, n->inputs[j], vw, sizeof vw);
        if (v->kind == RT_VK_NODE) {
            if (v->producer < 0) {
                rt_errf(c->err, c->err_len, "%s: input %d is %s, which no node produces", where, j, vw);
                return RT_ERR_FORMAT;
            }
            if (v->producer == i) {
                rt_errf(c->err, c->err_len, "%s: input %d is %s, its own output (a cycle)", where, j, vw);
                return RT_ERR_FORMAT;
            }
            if (v->producer > i) {
                rt_errf(c->err, c->err_len,
                        "%s: input %d is %s, produced later by node %d (nodes must be in execution "
                        "order; a cycle cannot be)", where, j, vw, v->producer);
                return RT_ERR_FORMAT;
            }
        }
        in[j] = v->type;
    }
    memset(out, 0, sizeof out);
    char msg[OP_ERR_LEN];
    msg[0] = 0;
    if (n->def->infer(n->attrs, in, n->n_inputs, out, n->n_outputs, msg, sizeof msg) != 0) {
        rt_errf(c->err, c->err_len, "%s: %s", where, msg[0] ? msg : "inference failed");
        return RT_ERR_FORMAT;
    }
    for (int j = 0; j < n->n_outputs; j++) {
        const rt_value *v = &m->values[n->outputs[j]];
        if (!op_type_eq(&out[j], &v->type)) {
            char st[256], gt[256];
            rt_value_type_str(m, &v->type, st, sizeof st);
            if (out[j].rank < 0 || out[j].rank > OP_MAX_RANK)
                snprintf(gt, sizeof gt, "an invalid type");
            else
                rt_value_type_str(m, &out[j], gt, sizeof gt);
            if (n->n_outputs == 1)
                rt_errf(c->err, c->err_len, "%s: stored type %s but inputs give %s", where, st, gt);
            else
                rt_errf(c->err, c->err_len, "%s: output %d '%s': stored type %s but inputs give %s",
                        where, j, v->name, st, gt);
            return RT_ERR_FORMAT;
        }
    }
    return RT_OK;
}

static rt_status check_ids(conv *c, const uint32_t *ids, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= (uint32_t)c->m->n_values) {
            rt_errf(c->err, c->err_len, "%s %zu is value %u, the graph has %d values", what, i, ids[i],
                    c->m->n_values);
            return RT_ERR_FORMAT;
        }
    return RT_OK;
}

static rt_status copy_ids(int **dst, const uint32_t *ids, size_t n)
{
    *dst = malloc(sizeof(int) * (n ? n : 1));
    if (!*dst)
        return RT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        (*dst)[i] = (int)ids[i];
    return RT_OK;
}

/* Entry points: unique non-empty names, ids in range, feeds are inputs,
 * update targets are params (each at most once per entry) and update values
 * have exactly the target's type. */
static rt_status conv_entries(conv *c, const Graphc__Graph *g)
{
    rt_model *m = c->m;
    rt_status st;
    if (g->n_entries > GB_MAX_COUNT) {
        rt_errf(c->err, c->err_len, "too many entry points (%zu)", g->n_entries);
        return RT_ERR_FORMAT;
    }
    m->entries = calloc(g->n_entries ? g->n_entries : 1, sizeof *m->entries);
    if (!m->entries)
        return RT_ERR_NOMEM;
    for (size_t e = 0; e < g->n_entries; e++) {
        const Graphc__EntryPoint *ep = g->entries[e];
        if (!ep || !ep->name || !ep->name[0]) {
            rt_errf(c->err, c->err_len, "entry point %zu has no name", e);
            return RT_ERR_FORMAT;
        }
        for (size_t f = 0; f < e; f++)
            if (strcmp(m->entries[f].name, ep->name) == 0) {
                rt_errf(c->err, c->err_len, "entry point '%s' is defined twice", ep->name);
                return RT_ERR_FORMAT;
            }
        rt_entry *en = &m->entries[m->n_entries++];
        if (!(en->name = rt_strdup(ep->name)))
            return RT_ERR_NOMEM;
        if ((st = check_ids(c, ep->feeds, ep->n_feeds, "entry point feed")) ||
            (st = check_ids(c, ep->fetches, ep->n_fetches, "entry point fetch")))
            return st;
        if (ep->n_feeds > GB_MAX_COUNT || ep->n_fetches > GB_MAX_COUNT || ep->n_updates > GB_MAX_COUNT) {
            rt_errf(c->err, c->err_len, "entry point '%s': too many feeds, fetches or updates", ep->name);
            return RT_ERR_FORMAT;
        }
        for (size_t i = 0; i < ep->n_feeds; i++)
            if (m->values[ep->feeds[i]].kind != RT_VK_INPUT) {
                rt_errf(c->err, c->err_len, "entry point '%s': feed %zu is value %u, not an input", ep->name, i,
                        ep->feeds[i]);
                return RT_ERR_FORMAT;
            }
        if ((st = copy_ids(&en->feeds, ep->feeds, ep->n_feeds)) ||
            (st = copy_ids(&en->fetches, ep->fetches, ep->n_fetches)))
            return st;
        en->n_feeds = (int)ep->n_feeds;
        en->n_fetches = (int)ep->n_fetches;
        en->upd_target = malloc(sizeof(int) * (ep->n_updates ? ep->n_updates : 1));
        en->upd_value = malloc(sizeof(int) * (ep->n_updates ? ep->n_updates : 1));
        if (!en->upd_target || !en->upd_value)
            return RT_ERR_NOMEM;
        for (size_t i = 0; i < ep->n_updates; i++) {
            const Graphc__Update *u = ep->updates[i];
            if (!u || u->target >= (uint32_t)m->n_values || u->value >= (uint32_t)m->n_values) {
                rt_errf(c->err, c->err_len, "entry point '%s': update %zu refers to a value out of range "
                        "(the graph has %d values)", ep->name, i, m->n_values);
                return RT_ERR_FORMAT;
            }
            const rt_value *t = &m->values[u->target], *v = &m->values[u->value];
            if (t->kind != RT_VK_PARAM) {
                rt_errf(c->err, c->err_len, "entry point '%s': update %zu targets value '%s', which is not a param",
                        ep->name, i, t->name);
                return RT_ERR_FORMAT;
            }
            if (!op_type_eq(&t->type, &v->type)) {
                char a[256], b[256];
                rt_value_type_str(m, &t->type, a, sizeof a);
                rt_value_type_str(m, &v->type, b, sizeof b);
                rt_errf(c->err, c->err_len, "entry point '%s': update %zu writes '%s' (%s) into param '%s' (%s)",
                        ep->name, i, v->name, b, t->name, a);
                return RT_ERR_FORMAT;
            }
            for (size_t j = 0; j < i; j++)
                if (ep->updates[j]->target == u->target) {
                    rt_errf(c->err, c->err_len, "entry point '%s': param '%s' is updated twice", ep->name, t->name);
                    return RT_ERR_FORMAT;
                }
            en->upd_target[i] = (int)u->target;
            en->upd_value[i] = (int)u->value;
            en->n_updates++;
        }
    }
    return RT_OK;
}

/* The static memory plan: structure here (counts, ids, one entry per node
 * value, no negative numbers), then rt_mplan_check (plan.c) for bounds and
 * overlaps at every value of the symbol. */
static rt_status conv_plan(conv *c, const Graphc__MemoryPlan *p)
{
    rt_model *m = c->m;
    size_t n = p->n_value_ids;
    if (p->n_offsets != n || p->n_bytes != n || (p->n_offsets_per_sym && p->n_offsets_per_sym != n)
        || (p->n_bytes_per_sym && p->n_bytes_per_sym != n) || (p->n_views && p->n_views != n)) {
        rt_errf(c->err, c->err_len,
                "memory plan: %zu value ids but %zu offsets, %zu sizes, %zu and %zu per-symbol coefficients, "
                "%zu view flags", n, p->n_offsets, p->n_bytes, p->n_offsets_per_sym, p->n_bytes_per_sym,
                p->n_views);
        return RT_ERR_FORMAT;
    }
    if (p->arena_bytes < 0 || p->arena_bytes_per_sym < 0) {
        rt_errf(c->err, c->err_len, "memory plan: negative arena size %lld + %lld per symbol",
                (long long)p->arena_bytes, (long long)p->arena_bytes_per_sym);
        return RT_ERR_FORMAT;
    }
    if (p->sym < 0 || p->sym > m->n_syms) {
        rt_errf(c->err, c->err_len, "memory plan: names symbol %d, the graph has %d", (int)p->sym, m->n_syms);
        return RT_ERR_FORMAT;
    }
    rt_status st = check_ids(c, p->value_ids, n, "memory plan entry");
    if (st)
        return st;
    m->mplan = malloc(sizeof *m->mplan * (size_t)(m->n_values ? m->n_values : 1));
    if (!m->mplan)
        return RT_ERR_NOMEM;
    m->mplan_sym = p->sym - 1;
    m->mplan_arena_c = p->arena_bytes;
    m->mplan_arena_s = p->arena_bytes_per_sym;
    for (int v = 0; v < m->n_values; v++)
        m->mplan[v].block = -2; /* no entry yet */
    for (size_t i = 0; i < n; i++) {
        int v = (int)p->value_ids[i];
        rt_mem_slot *ms = &m->mplan[v];
        char vw[160];
        vwhere(m, v, vw, sizeof vw);
        if (m->values[v].kind != RT_VK_NODE) {
            rt_errf(c->err, c->err_len, "memory plan entry %zu: %s is %s %s, not a node value", i, vw,
                    kind_article(m->values[v].kind), kind_name(m->values[v].kind));
            return RT_ERR_FORMAT;
        }
        if (ms->block != -2) {
            rt_errf(c->err, c->err_len, "memory plan entry %zu: %s is planned twice", i, vw);
            return RT_ERR_FORMAT;
        }
        ms->block = -1;
        ms->off_c = p->offsets[i];
        ms->bytes_c = p->bytes[i];
        ms->off_s = p->n_offsets_per_sym ? p->offsets_per_sym[i] : 0;
        ms->bytes_s = p->n_bytes_per_sym ? p->bytes_per_sym[i] : 0;
        ms->view = p->n_views ? p->views[i] != 0 : 0;
        if (ms->off_c < 0 || ms->off_s < 0 || ms->bytes_c < 0 || ms->bytes_s < 0) {
            rt_errf(c->err, c->err_len, "memory plan entry %zu (%s): negative offset or size", i, vw);
            return RT_ERR_FORMAT;
        }
    }
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == RT_VK_NODE && m->mplan[v].block == -2) {
            char vw[160];
            vwhere(m, v, vw, sizeof vw);
            rt_errf(c->err, c->err_len, "memory plan: %s has no entry (a plan covers every node value)", vw);
            return RT_ERR_FORMAT;
        }
    return rt_mplan_check(m, c->err, c->err_len);
}

static rt_status conv_graph(conv *c, const Graphc__Graph *g)
{
    rt_model *m = c->m;
    rt_status st;
    if (g->format_version != 1) {
        rt_errf(c->err, c->err_len, "graph format version %u is not supported (this runtime reads 1)",
                g->format_version);
        return RT_ERR_FORMAT;
    }
    if (!(m->name = rt_strdup(g->name ? g->name : "")) ||
        !(m->producer = rt_strdup(g->producer ? g->producer : "")))
        return RT_ERR_NOMEM;
    if ((st = conv_symbols(c, g)) || (st = conv_values(c, g)))
        return st;
    if (g->n_nodes > GB_MAX_COUNT) {
        rt_errf(c->err, c->err_len, "too many nodes (%zu)", g->n_nodes);
        return RT_ERR_FORMAT;
    }
    m->n_nodes = (int)g->n_nodes;
    m->nodes = calloc(m->n_nodes ? (size_t)m->n_nodes : 1, sizeof *m->nodes);
    if (!m->nodes)
        return RT_ERR_NOMEM;
    for (int i = 0; i < m->n_nodes; i++)
        if ((st = conv_node(c, g->nodes[i], i))) {
            m->n_nodes = i + 1; /* free what was made */
            return st;
        }
    for (int v = 0; v < m->n_values; v++)
        if (m->values[v].kind == RT_VK_NODE && m->values[v].producer < 0) {
            char vw[160];
            vwhere(m, v, vw, sizeof vw);
            rt_errf(c->err, c->err_len, "%s: a node value that no node produces", vw);
            return RT_ERR_FORMAT;
        }
    op_set_sym_names((const char *const *)m->syms, m->n_syms);
    for (int i = 0; i < m->n_nodes; i++)
        if ((st = check_node(c, i)))
            break;
    op_set_sym_names(NULL, 0);
    if (st)
        return st;

    /* outputs, entry points, the (optional) memory plan */
    if ((st = check_ids(c, g->outputs, g->n_outputs, "output")))
        return st;
    if (g->n_outputs > GB_MAX_COUNT) {
        rt_errf(c->err, c->err_len, "too many outputs (%zu)", g->n_outputs);
        return RT_ERR_FORMAT;
    }
    m->n_outputs = (int)g->n_outputs;
    m->outputs = malloc(sizeof(int) * (m->n_outputs ? (size_t)m->n_outputs : 1));
    if (!m->outputs)
        return RT_ERR_NOMEM;
    for (int i = 0; i < m->n_outputs; i++) {
        m->outputs[i] = (int)g->outputs[i];
        if (!m->values[m->outputs[i]].name[0]) {
            rt_errf(c->err, c->err_len, "output %d is value %d, which has no name", i, m->outputs[i]);
            return RT_ERR_FORMAT;
        }
    }
    if ((st = conv_entries(c, g)))
        return st;
    m->train_lr_input = -1;
    if (g->train) {
        const Graphc__TrainInfo *ti = g->train;
        if (!m->n_entries) {
            rt_errf(c->err, c->err_len, "training info but no entry points");
            return RT_ERR_FORMAT;
        }
        if (!(m->train_optimizer = rt_strdup(ti->optimizer ? ti->optimizer : "")))
            return RT_ERR_NOMEM;
        if (!isfinite(ti->lr)) {
            rt_errf(c->err, c->err_len, "training info: learning rate is not finite");
            return RT_ERR_FORMAT;
        }
        m->train_lr = ti->lr;
        if (ti->lr_input && ti->lr_input[0]) {
            int v = -1; /* (the model's name table is built after conversion) */
            for (int k = 0; k < m->n_values && v < 0; k++)
                if (strcmp(m->values[k].name, ti->lr_input) == 0)
                    v = k;
            if (v < 0 || m->values[v].kind != RT_VK_INPUT || m->values[v].type.dtype != OP_F32 ||
                m->values[v].type.rank != 0) {
                rt_errf(c->err, c->err_len, "training info: learning-rate feed '%s' is not an f32 scalar input",
                        ti->lr_input);
                return RT_ERR_FORMAT;
            }
            m->train_lr_input = v;
        }
    }
    if (g->plan && g->plan->n_value_ids && (st = conv_plan(c, g->plan)))
        return st;
    /* the inputs and params, in value order */
    m->inputs = malloc(sizeof(int) * (m->n_values ? (size_t)m->n_values : 1));
    m->params = malloc(sizeof(int) * (m->n_values ? (size_t)m->n_values : 1));
    if (!m->inputs || !m->params)
        return RT_ERR_NOMEM;
    for (int v = 0; v < m->n_values; v++) {
        if (m->values[v].kind == RT_VK_INPUT)
            m->inputs[m->n_inputs++] = v;
        else if (m->values[v].kind == RT_VK_PARAM)
            m->params[m->n_params++] = v;
    }
    return RT_OK;
}

void rt_model_free(rt_model *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->producer);
    for (int i = 0; i < m->n_syms && m->syms; i++)
        free(m->syms[i]);
    free(m->syms);
    for (int v = 0; v < m->n_values && m->values; v++) {
        free(m->values[v].name);
        free(m->values[v].data);
    }
    free(m->values);
    for (int i = 0; i < m->n_nodes && m->nodes; i++) {
        free(m->nodes[i].name);
        free(m->nodes[i].loc_file);
        free(m->nodes[i].inputs);
        free(m->nodes[i].outputs);
    }
    free(m->nodes);
    free(m->outputs);
    free(m->inputs);
    free(m->params);
    free(m->hash);
    free(m->mplan);
    free(m->mplan_blocks);
    for (int i = 0; i < m->n_entries && m->entries; i++) {
        free(m->entries[i].name);
        free(m->entries[i].feeds);
        free(m->entries[i].fetches);
        free(m->entries[i].upd_target);
        free(m->entries[i].upd_value);
    }
    free(m->entries);
    free(m->train_optimizer);
    free(m);
}

rt_status rt_model_load_buffer(const void *buf, size_t len, rt_model **out, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!out) {
        rt_errf(err, err_len, "rt_model_load_buffer: NULL out");
        return RT_ERR_ARG;
    }
    *out = NULL;
    if (!buf && len) {
        rt_errf(err, err_len, "rt_model_load_buffer: NULL buffer");
        return RT_ERR_ARG;
    }
    if ((uint64_t)len > GB_MAX_BYTES) {
        rt_errf(err, err_len, "graph binary of %zu bytes is too large (limit 4 GiB)", len);
        return RT_ERR_FORMAT;
    }
    if (len < GB_MAGIC_LEN || memcmp(buf, GB_MAGIC, GB_MAGIC_LEN - 1) != 0) {
        rt_errf(err, err_len, "not a graph binary (the magic \"GRAPHCB\\x01\" is missing)");
        return RT_ERR_FORMAT;
    }
    if (((const unsigned char *)buf)[GB_MAGIC_LEN - 1] != 1) {
        rt_errf(err, err_len, "graph binary container version %u is not supported (this runtime reads 1)",
                ((const unsigned char *)buf)[GB_MAGIC_LEN - 1]);
        return RT_ERR_FORMAT;
    }
    size_t body = len - GB_MAGIC_LEN;
    rt_pb_alloc la;
    rt_pb_alloc_init(&la, body);
    Graphc__Graph *g = graphc__graph__unpack(&la.base, body, (const uint8_t *)buf + GB_MAGIC_LEN);
    if (!g) {
        if (la.failed) {
            rt_errf(err, err_len, "out of memory unpacking the graph binary (%zu bytes)", len);
            return RT_ERR_NOMEM;
        }
        rt_errf(err, err_len, "corrupt graph binary: the protobuf message does not parse");
        return RT_ERR_FORMAT;
    }
    rt_model *m = calloc(1, sizeof *m);
    conv c = { m, err, err_len, NULL, 0, len, 0 };
    rt_status st = m ? conv_graph(&c, g) : RT_ERR_NOMEM;
    graphc__graph__free_unpacked(g, &la.base);
    if (m) {
        m->hash = c.hash;
        m->hash_cap = c.hash_cap;
    } else {
        free(c.hash);
    }
    if (st != RT_OK) {
        if (st == RT_ERR_NOMEM)
            rt_errf(err, err_len, "out of memory loading the graph binary");
        rt_model_free(m);
        return st;
    }
    *out = m;
    return RT_OK;
}

rt_status rt_model_load_file(const char *path, rt_model **out, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!out || !path) {
        rt_errf(err, err_len, "rt_model_load_file: NULL argument");
        return RT_ERR_ARG;
    }
    *out = NULL;
    unsigned char *buf;
    size_t len;
    rt_status st = rt_read_file(path, GB_MAX_BYTES, "a graph binary (limit 4 GiB)", &buf, &len, err,
                                err_len);
    if (st != RT_OK)
        return st;
    st = rt_model_load_buffer(buf, len, out, err, err_len);
    free(buf);
    if (st != RT_OK)
        rt_err_prefix(err, err_len, path);
    return st;
}
