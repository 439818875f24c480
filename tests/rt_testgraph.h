/* tests/rt_testgraph.h -- builds graph binaries in tests with the protobuf-c
 * generated API (static helpers, header-only). tg_mlp() makes the standard
 * test graph; tests mutate the Graphc__Graph it returns, pack it with
 * tg_pack() and free it with tg_free(). Everything is malloc'ed, so
 * graphc__graph__free_unpacked(g, NULL) frees it all. */
#ifndef RT_TESTGRAPH_H
#define RT_TESTGRAPH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.pb-c.h"

/* every helper is optional for a test file */
#define TG_FN static __attribute__((unused))

TG_FN void *tg_xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fprintf(stderr, "tg: out of memory\n");
        exit(2);
    }
    return p;
}

TG_FN char *tg_str(const char *s)
{
    char *d = tg_xalloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

#define TG_PUSH(arr, n, item) do { \
        (arr) = realloc((arr), sizeof(*(arr)) * ((n) + 1)); \
        if (!(arr)) { fprintf(stderr, "tg: out of memory\n"); exit(2); } \
        (arr)[(n)++] = (item); \
    } while (0)

TG_FN Graphc__Graph *tg_new(const char *name)
{
    Graphc__Graph *g = tg_xalloc(sizeof *g);
    graphc__graph__init(g);
    g->format_version = 1;
    g->name = tg_str(name);
    g->producer = tg_str("rt_testgraph");
    return g;
}

TG_FN void tg_free(Graphc__Graph *g) { graphc__graph__free_unpacked(g, NULL); }

/* Declares a symbol; returns its proto number (1-based). */
TG_FN int tg_sym(Graphc__Graph *g, const char *name)
{
    TG_PUSH(g->symbols, g->n_symbols, tg_str(name));
    return (int)g->n_symbols;
}

/* A type from a dims spec such as "N,4", "2*N,3", "" (scalar). */
TG_FN Graphc__TensorType *tg_type(const Graphc__Graph *g, Graphc__DType dt, const char *spec)
{
    Graphc__TensorType *t = tg_xalloc(sizeof *t);
    graphc__tensor_type__init(t);
    t->dtype = dt;
    const char *p = spec;
    while (*p) {
        Graphc__Dim *d = tg_xalloc(sizeof *d);
        graphc__dim__init(d);
        char tok[64];
        size_t n = strcspn(p, ",");
        snprintf(tok, sizeof tok, "%.*s", (int)n, p);
        p += n;
        if (*p == ',')
            p++;
        char *star = strchr(tok, '*');
        const char *sym = tok;
        d->coef = 1;
        if (star) {
            *star = 0;
            d->coef = strtoll(tok, NULL, 10);
            sym = star + 1;
        }
        if (sym[0] >= '0' && sym[0] <= '9') {
            d->coef = strtoll(sym, NULL, 10);
        } else if (sym[0] == '-') {
            d->coef = strtoll(sym, NULL, 10);
        } else {
            for (size_t i = 0; i < g->n_symbols; i++)
                if (strcmp(g->symbols[i], sym) == 0)
                    d->sym = (int32_t)i + 1;
            if (!d->sym) {
                fprintf(stderr, "tg: unknown symbol %s\n", sym);
                exit(2);
            }
        }
        TG_PUSH(t->dims, t->n_dims, d);
    }
    return t;
}

/* Adds a value; returns its id. */
TG_FN uint32_t tg_value(Graphc__Graph *g, const char *name, Graphc__ValueKind kind,
                         Graphc__DType dt, const char *dims)
{
    Graphc__Value *v = tg_xalloc(sizeof *v);
    graphc__value__init(v);
    v->name = tg_str(name);
    v->kind = kind;
    v->type = tg_type(g, dt, dims);
    TG_PUSH(g->values, g->n_values, v);
    return (uint32_t)(g->n_values - 1);
}

/* Sets the data of value id, cut into chunks of chunk bytes (0: one chunk). */
TG_FN void tg_data(Graphc__Graph *g, uint32_t id, const void *data, size_t n, size_t chunk)
{
    Graphc__Value *v = g->values[id];
    if (!chunk)
        chunk = n ? n : 1;
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        ProtobufCBinaryData b;
        b.len = len;
        b.data = tg_xalloc(len);
        memcpy(b.data, (const uint8_t *)data + off, len);
        TG_PUSH(v->data, v->n_data, b);
    }
}

TG_FN Graphc__Node *tg_node(Graphc__Graph *g, const char *op, const char *name, int n_in,
                             const uint32_t *in, int n_out, const uint32_t *out)
{
    Graphc__Node *n = tg_xalloc(sizeof *n);
    graphc__node__init(n);
    n->op = tg_str(op);
    n->name = tg_str(name);
    for (int i = 0; i < n_in; i++)
        TG_PUSH(n->inputs, n->n_inputs, in[i]);
    for (int i = 0; i < n_out; i++)
        TG_PUSH(n->outputs, n->n_outputs, out[i]);
    TG_PUSH(g->nodes, g->n_nodes, n);
    return n;
}

TG_FN Graphc__Attr *tg_attr(Graphc__Node *n, const char *name, Graphc__AttrKind kind)
{
    Graphc__Attr *a = tg_xalloc(sizeof *a);
    graphc__attr__init(a);
    a->name = tg_str(name);
    a->kind = kind;
    TG_PUSH(n->attrs, n->n_attrs, a);
    return a;
}

TG_FN void tg_attr_int(Graphc__Node *n, const char *name, int64_t v)
{
    tg_attr(n, name, GRAPHC__ATTR_KIND__AK_INT)->i = v;
}

TG_FN void tg_attr_float(Graphc__Node *n, const char *name, double v)
{
    tg_attr(n, name, GRAPHC__ATTR_KIND__AK_FLOAT)->f = v;
}

TG_FN void tg_attr_ints(Graphc__Node *n, const char *name, int cnt, const int64_t *v)
{
    Graphc__Attr *a = tg_attr(n, name, GRAPHC__ATTR_KIND__AK_INTS);
    for (int i = 0; i < cnt; i++)
        TG_PUSH(a->ints, a->n_ints, v[i]);
}

TG_FN void tg_output(Graphc__Graph *g, uint32_t id) { TG_PUSH(g->outputs, g->n_outputs, id); }

/* The graph binary: magic + packed message; malloc'ed, length in *len. */
TG_FN uint8_t *tg_pack(const Graphc__Graph *g, size_t *len)
{
    size_t n = graphc__graph__get_packed_size(g);
    uint8_t *buf = tg_xalloc(n + 8);
    memcpy(buf, "GRAPHCB\x01", 8);
    graphc__graph__pack(g, buf + 8);
    *len = n + 8;
    return buf;
}

/* The standard test graph, symbols [N]:
 *   0 x  input f32[N,4]        1 z  input f32[N,3]
 *   2 w  param f32[4,3] = TG_W 3 b  const f32[3] = TG_B
 *   4 h = matmul(x, w)  f32[N,3]     node 0 "h"
 *   5 r = relu(h)       f32[N,3]     node 1 "r"
 *   6 y = add(r, b)     f32[N,3]     node 2 "y" (broadcast)
 *   7 s = add(y, z)     f32[N,3]     node 3 "s"
 * outputs: y, s.  y needs only x; s needs x and z. */
static const float TG_W[12] = { 1, -1, 0.5f, 2, 0, -1, -3, 1, 1, 0.25f, 2, -2 };
static const float TG_B[3] = { 0.5f, -1, 2 };

TG_FN Graphc__Graph *tg_mlp(void)
{
    Graphc__Graph *g = tg_new("mlp");
    tg_sym(g, "N");
    uint32_t x = tg_value(g, "x", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_F32, "N,4");
    uint32_t z = tg_value(g, "z", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_F32, "N,3");
    uint32_t w = tg_value(g, "w", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_F32, "4,3");
    tg_data(g, w, TG_W, sizeof TG_W, 20); /* three chunks */
    uint32_t b = tg_value(g, "b", GRAPHC__VALUE_KIND__VK_CONST, GRAPHC__DTYPE__DT_F32, "3");
    tg_data(g, b, TG_B, sizeof TG_B, 0);
    uint32_t h = tg_value(g, "h", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,3");
    uint32_t r = tg_value(g, "r", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,3");
    uint32_t y = tg_value(g, "y", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,3");
    uint32_t s = tg_value(g, "s", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,3");
    tg_node(g, "matmul", "h", 2, (uint32_t[]){ x, w }, 1, &h);
    tg_node(g, "relu", "r", 1, (uint32_t[]){ h }, 1, &r);
    tg_node(g, "add", "y", 2, (uint32_t[]){ r, b }, 1, &y);
    tg_node(g, "add", "s", 2, (uint32_t[]){ y, z }, 1, &s);
    tg_output(g, y);
    tg_output(g, s);
    return g;
}

/* Reference of y for one row x[4]: relu(x @ TG_W) + TG_B. */
TG_FN void tg_mlp_ref_row(const float *x, float *y)
{
    for (int j = 0; j < 3; j++) {
        float acc = 0;
        for (int k = 0; k < 4; k++)
            acc += x[k] * TG_W[k * 3 + j];
        y[j] = (acc > 0 ? acc : 0) + TG_B[j];
    }
}

#endif
