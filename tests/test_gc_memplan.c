/* tests/test_gc_memplan.c -- the static memory plan (graphc/pass_memplan.c,
 * emitted into the binary, used by runtime/plan.c): buffer reuse, in-place,
 * outputs never overwritten, -O0 vs -O2 arena on the samples, outputs equal
 * with and without the plan, one plan for several batch sizes, fallback to
 * the runtime planner for intermediate fetches and non-affine sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphrt.h"
#include "ir.h"
#include "pass.h"
#include "rt_internal.h"
#include "sema.h"

typedef struct cm {
    gc_arena *a;
    gc_diag d;
    gc_graph *g;
    gc_report rep;
    rt_model *m;
} cm;

/* Compiles src (or the file path when src is NULL) at -O`level`; only_memplan
 * disables every other pass; drop_plan removes the plan before emitting. */
static cm *compile(const char *src, const char *path, int level, int only_memplan, int drop_plan)
{
    cm *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->a = gc_arena_new();
    assert_non_null(c->a);
    gc_diag_init(&c->d, c->a, stderr);
    int f = src ? gc_source_add(&c->d, "t.g", src, (int)strlen(src)) : gc_source_load(&c->d, path, GC_NOLOC);
    assert_true(f >= 0);
    c->g = gc_sema(&c->d, c->a, f, NULL);
    assert_non_null(c->g);
    const char *disabled[32];
    int nd = 0;
    for (int i = 0; only_memplan && i < gc_n_passes; i++)
        if (strcmp(gc_passes[i].name, "memplan") != 0)
            disabled[nd++] = gc_passes[i].name;
    gc_opt_opts o = { .level = level, .n_disabled = nd, .disabled = disabled };
    assert_int_equal(gc_optimize(c->g, &c->d, &o, &c->rep), 0);
    if (drop_plan)
        c->g->mplan = NULL;
    void *buf;
    size_t len;
    assert_int_equal(gc_emit_buffer(c->g, &c->d, &buf, &len, &c->d), 0);
    char err[512];
    rt_status st = rt_model_load_buffer(buf, len, &c->m, err, sizeof err);
    if (st != RT_OK)
        fprintf(stderr, "load: %s\n", err);
    assert_int_equal(st, RT_OK);
    free(buf);
    return c;
}

static void cm_free(cm *c)
{
    rt_model_free(c->m);
    gc_arena_free(c->a);
    free(c);
}

static const char *memplan_summary(const cm *c)
{
    for (int i = 0; i < c->rep.n_passes; i++)
        if (strcmp(c->rep.passes[i].name, "memplan") == 0)
            return c->rep.passes[i].summary ? c->rep.passes[i].summary : "";
    return "";
}

/* The IR slot of the value named name. */
static const gc_mem_slot *slot_of(const cm *c, const char *name)
{
    int v = gc_graph_find(c->g, name);
    assert_true(v >= 0);
    assert_non_null(c->g->mplan);
    return &c->g->mplan->slots[v];
}

/* ---- running: every input filled with a deterministic pattern at batch n,
 * every graph output (or the given fetches) copied out ---- */

typedef struct outs {
    int n;
    rt_tensor t[8];
    size_t bytes[8];
} outs;

static void outs_free(outs *o)
{
    for (int i = 0; i < o->n; i++)
        free(o->t[i].data);
    o->n = 0;
}

static void run_model(rt_session *s, const rt_model *m, int64_t batch, int n_fetch, const char *const *fetch,
                      outs *res)
{
    int ni = rt_model_n_inputs(m);
    assert_true(ni <= 8);
    const char *names[8];
    rt_tensor feeds[8];
    void *bufs[8];
    for (int i = 0; i < ni; i++) {
        rt_value_info vi;
        assert_int_equal(rt_model_input(m, i, &vi), RT_OK);
        names[i] = vi.name;
        memset(&feeds[i], 0, sizeof feeds[i]);
        feeds[i].dtype = vi.dtype;
        feeds[i].rank = vi.rank;
        int64_t n = 1;
        for (int d = 0; d < vi.rank; d++) {
            feeds[i].dims[d] = vi.dims[d] >= 0 ? vi.dims[d] : vi.sym_coef[d] * batch;
            n *= feeds[i].dims[d];
        }
        assert_int_equal(vi.dtype, RT_F32);
        float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
        assert_non_null(p);
        for (int64_t k = 0; k < n; k++)
            p[k] = (float)sin(0.37 * (double)k + i) * 2.0f;
        bufs[i] = p;
        feeds[i].data = p;
    }
    const char *onames[8];
    if (!fetch) {
        n_fetch = rt_model_n_outputs(m);
        assert_true(n_fetch <= 8);
        for (int i = 0; i < n_fetch; i++) {
            rt_value_info vi;
            assert_int_equal(rt_model_output(m, i, &vi), RT_OK);
            onames[i] = vi.name;
        }
        fetch = onames;
    }
    rt_tensor got[8];
    rt_status st = rt_session_run(s, ni, names, feeds, n_fetch, fetch, got);
    if (st != RT_OK)
        fprintf(stderr, "run: %s\n", rt_session_last_error(s));
    assert_int_equal(st, RT_OK);
    res->n = n_fetch;
    for (int i = 0; i < n_fetch; i++) {
        res->t[i] = got[i];
        int64_t n = 1;
        for (int d = 0; d < got[i].rank; d++)
            n *= got[i].dims[d];
        res->bytes[i] = (size_t)n * rt_dtype_size(got[i].dtype);
        res->t[i].data = malloc(res->bytes[i] ? res->bytes[i] : 1);
        assert_non_null(res->t[i].data);
        memcpy(res->t[i].data, got[i].data, res->bytes[i]);
    }
    for (int i = 0; i < ni; i++)
        free(bufs[i]);
}

static rt_session *session(const rt_model *m)
{
    rt_session_options o = rt_session_options_default();
    o.n_threads = 1;
    rt_session *s = NULL;
    char err[256];
    assert_int_equal(rt_session_create(m, &o, &s, err, sizeof err), RT_OK);
    return s;
}

static void assert_same(const outs *a, const outs *b)
{
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        assert_int_equal(a->t[i].rank, b->t[i].rank);
        for (int d = 0; d < a->t[i].rank; d++)
            assert_int_equal(a->t[i].dims[d], b->t[i].dims[d]);
        assert_int_equal(a->bytes[i], b->bytes[i]);
        assert_memory_equal(a->t[i].data, b->t[i].data, a->bytes[i]);
    }
}

/* Runs the model with and without its plan at batch n (same kernels, one
 * thread): the outputs must be bit-identical; returns plan_static. */
static int compare_with_runtime_plan(cm *with, cm *without, int64_t n, int n_fetch, const char *const *fetch)
{
    rt_session *s1 = session(with->m), *s2 = session(without->m);
    outs a = { 0 }, b = { 0 };
    run_model(s1, with->m, n, n_fetch, fetch, &a);
    run_model(s2, without->m, n, n_fetch, fetch, &b);
    assert_int_equal(s2->plan_static, 0);
    int ps = s1->plan_static;
    assert_same(&a, &b);
    outs_free(&a);
    outs_free(&b);
    rt_session_free(s1);
    rt_session_free(s2);
    return ps;
}

/* ------------------------------------------------------------- tests */

/* Six relus in a chain: each runs in place over the one before, so the
 * chain needs ONE buffer of 16 floats per N; six matmuls (not in-place
 * capable) ping-pong between exactly two. */
static void test_chains(void **state)
{
    (void)state;
    const char *relus = "graph t {\n  input x: f32[N, 16]\n  param w: f32[16, 16] = normal(seed=1)\n"
                        "  a1 = relu(x @ w)\n  a2 = relu(a1)\n  a3 = relu(a2)\n  a4 = relu(a3)\n"
                        "  a5 = relu(a4)\n  a6 = relu(a5)\n  output a6\n}\n";
    cm *c = compile(relus, NULL, 2, 1, 0);
    const gc_memplan *p = c->g->mplan;
    assert_non_null(p);
    assert_int_equal(p->n_inplace, 6);    /* a1 over x @ w, a2 over a1, ... */
    assert_int_equal(p->n_buffers, 1);
    assert_int_equal(p->arena_c, 0);
    assert_int_equal(p->arena_s, 64);     /* one buffer of 16 floats per N */
    assert_int_equal(slot_of(c, "a6")->off_s, slot_of(c, "a1")->off_s);
    assert_int_equal(slot_of(c, "a6")->bytes_s, 64);
    assert_non_null(strstr(memplan_summary(c), "6 in place"));
    cm *ref = compile(relus, NULL, 2, 1, 1);
    assert_int_equal(compare_with_runtime_plan(c, ref, 3, 0, NULL), 1);
    cm_free(c);
    cm_free(ref);

    const char *mms = "graph t {\n  input x: f32[N, 16]\n  param w: f32[16, 16] = normal(std=0.2, seed=1)\n"
                      "  m1 = x @ w\n  m2 = m1 @ w\n  m3 = m2 @ w\n  m4 = m3 @ w\n  m5 = m4 @ w\n"
                      "  m6 = m5 @ w\n  output m6\n}\n";
    c = compile(mms, NULL, 2, 1, 0);
    p = c->g->mplan;
    assert_int_equal(p->arena_s, 2 * 64);  /* two buffers of 16 floats per N */
    assert_int_equal(p->n_inplace, 0);
    assert_int_equal(p->n_reused, 4);      /* m3..m6 land where a dead one was */
    int64_t o1 = slot_of(c, "m1")->off_s, o2 = slot_of(c, "m2")->off_s;
    assert_true(o1 != o2);
    assert_int_equal(slot_of(c, "m3")->off_s, o1);
    assert_int_equal(slot_of(c, "m6")->off_s, o2);
    ref = compile(mms, NULL, 2, 1, 1);
    assert_int_equal(compare_with_runtime_plan(c, ref, 5, 0, NULL), 1);
    rt_plan_info pi;
    assert_int_equal(rt_model_plan_info(c->m, 5, &pi), RT_OK);
    assert_int_equal(pi.static_plan, 1);
    assert_string_equal(pi.sym, "N");
    assert_int_equal(pi.arena_bytes, 2 * 64 * 5);
    assert_int_equal(pi.n_buffers, 6);
    assert_int_equal(rt_model_plan_info(ref->m, 5, &pi), RT_OK);
    assert_int_equal(pi.static_plan, 0);
    assert_int_equal(pi.peak_bytes, 2 * 64 * 5); /* two alive at once */
    cm_free(c);
    cm_free(ref);
}

/* In place only where the input dies at the node and is a node value: an
 * output, a value read later, or a graph input is never written over. */
static void test_inplace_rules(void **state)
{
    (void)state;
    const char *src = "graph t {\n  input x: f32[N, 8]\n  param w: f32[8, 8] = normal(seed=2)\n"
                      "  h = x @ w\n  r = relu(h)\n  s = sigmoid(r)\n  t2 = tanh(x)\n"
                      "  k = x @ w\n  u = relu(k)\n  v = k + u\n"
                      "  output s, h, t2, v\n}\n";
    cm *c = compile(src, NULL, 2, 1, 0);
    const gc_mem_slot *h = slot_of(c, "h"), *r = slot_of(c, "r"), *s = slot_of(c, "s");
    const gc_mem_slot *k = slot_of(c, "k"), *u = slot_of(c, "u"), *v = slot_of(c, "v");
    /* h is an output: r gets its own buffer; s runs in place over r */
    assert_true(r->off_s != h->off_s);
    assert_int_equal(s->off_s, r->off_s);
    /* t2 = tanh(x): x is an input, so a buffer of its own (never over x) */
    assert_true(slot_of(c, "t2")->bytes_s == 32);
    /* k is read again by v: u not over k; v = k + u in place over k */
    assert_true(u->off_s != k->off_s);
    assert_int_equal(v->off_s, k->off_s);
    assert_int_equal(c->g->mplan->n_inplace, 2);
    cm *ref = compile(src, NULL, 2, 1, 1);
    assert_int_equal(compare_with_runtime_plan(c, ref, 4, 0, NULL), 1);
    cm_free(c);
    cm_free(ref);
}

/* Graph outputs live to the end: no buffer born after an output overlaps it,
 * checked on the emitted plan at several batch sizes. */
static void test_outputs_kept(void **state)
{
    (void)state;
    const char *src = "graph t {\n  input x: f32[N, 32]\n  param w: f32[32, 32] = normal(std=0.2, seed=3)\n"
                      "  a = relu(x @ w)\n  b = a @ w\n  c = relu(b @ w)\n  d = c @ w\n  e = sigmoid(d @ w)\n"
                      "  f = e @ w\n  output first = a, mid = c, last = f\n}\n";
    cm *c = compile(src, NULL, 2, 1, 0);
    const rt_model *m = c->m;
    assert_non_null(m->mplan);
    for (int oi = 0; oi < m->n_outputs; oi++) {
        int o = m->outputs[oi];
        const rt_mem_slot *so = &m->mplan[o];
        for (int v = 0; v < m->n_values; v++) {
            if (v == o || m->values[v].kind != RT_VK_NODE || m->values[v].producer <= m->values[o].producer)
                continue;
            const rt_mem_slot *sv = &m->mplan[v];
            for (int64_t n = 1; n <= 64; n *= 4) {
                int64_t ao = so->off_c + so->off_s * n, ae = ao + so->bytes_c + so->bytes_s * n;
                int64_t bo = sv->off_c + sv->off_s * n, be = bo + sv->bytes_c + sv->bytes_s * n;
                assert_true(ae <= bo || be <= ao);
            }
        }
    }
    cm *ref = compile(src, NULL, 2, 1, 1);
    assert_int_equal(compare_with_runtime_plan(c, ref, 7, 0, NULL), 1);
    cm_free(c);
    cm_free(ref);
}

/* The samples: -O0 gives every value its own buffer; -O2 (fusions, reuse,
 * in place, views) needs at most half of that arena, at N=1 and N=64; the
 * outputs equal those of the runtime planner bit for bit. */
static void test_samples_peak(void **state)
{
    (void)state;
    const char *samples[] = { "samples/mlp.g", "samples/lenet.g", "samples/resnet_block.g" };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        cm *o0 = compile(NULL, samples[i], 0, 0, 0), *o2 = compile(NULL, samples[i], 2, 0, 0);
        assert_non_null(o0->g->mplan);
        assert_non_null(o2->g->mplan);
        /* -O0: one buffer per node value, nothing shared */
        int n_node_values = 0;
        for (int v = 0; v < o0->m->n_values; v++)
            n_node_values += o0->m->values[v].kind == RT_VK_NODE;
        assert_int_equal(o0->g->mplan->n_buffers, n_node_values);
        assert_int_equal(o0->g->mplan->n_reused + o0->g->mplan->n_inplace + o0->g->mplan->n_views, 0);
        for (int64_t n = 1; n <= 64; n *= 64) {
            rt_plan_info p0, p2;
            assert_int_equal(rt_model_plan_info(o0->m, n, &p0), RT_OK);
            assert_int_equal(rt_model_plan_info(o2->m, n, &p2), RT_OK);
            fprintf(stderr, "%-24s N=%-3lld arena -O0 %9lld  -O2 %9lld bytes (%.2f)\n", samples[i], (long long)n,
                    (long long)p0.arena_bytes, (long long)p2.arena_bytes,
                    (double)p2.arena_bytes / (double)p0.arena_bytes);
            assert_true(p0.static_plan && p2.static_plan);
            assert_true(p2.arena_bytes > 0);
            assert_true(2 * p2.arena_bytes <= p0.arena_bytes);
            assert_true(p2.peak_bytes <= p2.arena_bytes);
        }
        cm *ref = compile(NULL, samples[i], 2, 0, 1);
        assert_int_equal(compare_with_runtime_plan(o2, ref, 3, 0, NULL), 1);
        cm_free(ref);
        ref = compile(NULL, samples[i], 0, 0, 1);
        assert_int_equal(compare_with_runtime_plan(o0, ref, 2, 0, NULL), 1);
        cm_free(o0);
        cm_free(o2);
        cm_free(ref);
    }
}

/* One plan, several batch sizes in one session: offsets a + b*N at each new
 * N, the arena grows only when needed, results equal the runtime planner's. */
static void test_batch_sizes(void **state)
{
    (void)state;
    cm *c = compile(NULL, "samples/lenet.g", 2, 0, 0), *ref = compile(NULL, "samples/lenet.g", 2, 0, 1);
    rt_session *s = session(c->m), *r = session(ref->m);
    const int64_t ns[] = { 2, 5, 1, 5 };
    size_t arena_prev = 0;
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        outs a = { 0 }, b = { 0 };
        run_model(s, c->m, ns[i], 0, NULL, &a);
        run_model(r, ref->m, ns[i], 0, NULL, &b);
        assert_same(&a, &b);
        outs_free(&a);
        outs_free(&b);
        assert_int_equal(s->plan_static, 1);
        size_t arena;
        rt_session_memory(s, NULL, &arena, NULL);
        int64_t want = c->m->mplan_arena_c + c->m->mplan_arena_s * ns[i];
        assert_true(arena >= (size_t)want);
        if (ns[i] <= 2 && i > 0)
            assert_int_equal(arena, arena_prev); /* smaller: no new arena */
        arena_prev = arena;
    }
    assert_int_equal(s->n_static_plans, 4); /* 2, 5, 1, 5 */
    rt_session_free(s);
    rt_session_free(r);
    cm_free(c);
    cm_free(ref);
}

/* Fetching an intermediate the plan may overwrite: the session falls back
 * to the runtime planner for that fetch set and gives the right value; the
 * next run with the outputs only is back on the static plan. */
static void test_fetch_intermediate(void **state)
{
    (void)state;
    const char *src = "graph t {\n  input x: f32[N, 16]\n  param w: f32[16, 16] = normal(std=0.3, seed=5)\n"
                      "  m1 = x @ w\n  m2 = m1 @ w\n  m3 = m2 @ w\n  m4 = m3 @ w\n  output y = m4\n}\n";
    cm *c = compile(src, NULL, 2, 1, 0), *ref = compile(src, NULL, 2, 1, 1);
    const char *f[] = { "y", "m1" };
    assert_int_equal(compare_with_runtime_plan(c, ref, 3, 2, f), 0);
    rt_session *s = session(c->m);
    outs a = { 0 };
    run_model(s, c->m, 3, 2, f, &a);
    assert_int_equal(s->plan_static, 0);
    outs_free(&a);
    run_model(s, c->m, 3, 1, f, &a);
    assert_int_equal(s->plan_static, 1);
    outs_free(&a);
    rt_session_free(s);
    cm_free(c);
    cm_free(ref);
}

/* A flatten of the input is a view of the feed: no buffer, no copy. */
static void test_input_view(void **state)
{
    (void)state;
    const char *src = "graph t {\n  input x: f32[N, 2, 4]\n  param w: f32[8, 3] = normal(seed=6)\n"
                      "  f = flatten(x)\n  output y = f @ w, f\n}\n";
    cm *c = compile(src, NULL, 2, 1, 0), *ref = compile(src, NULL, 2, 1, 1);
    assert_int_equal(c->g->mplan->n_views, 1);
    assert_int_equal(slot_of(c, "f")->view, 1);
    assert_int_equal(c->g->mplan->arena_s, 16); /* y only: f32[N, 3] = 12 bytes per N, rounded to 8 */
    assert_int_equal(compare_with_runtime_plan(c, ref, 3, 0, NULL), 1);
    cm_free(c);
    cm_free(ref);
    /* at -O0 it is copied like everything else */
    c = compile(src, NULL, 0, 0, 0);
    assert_int_equal(c->g->mplan->n_views, 0);
    assert_int_equal(c->g->mplan->arena_s, 32 + 16); /* f: 32 bytes per N, y: 12 rounded to 16 */
    cm_free(c);
}

/* Sizes with two symbols: no static plan (the report says why) and the
 * runtime plans as before (a product of symbols is refused by sema; the
 * runtime's check of such a plan is in test_rt_memplan). */
static void test_not_affine(void **state)
{
    (void)state;
    const char *two = "graph t {\n  input x: f32[N, 4]\n  input z: f32[T, 4]\n"
                      "  output a = relu(x), b = relu(z)\n}\n";
    cm *c = compile(two, NULL, 2, 1, 0);
    assert_null(c->g->mplan);
    assert_null(c->m->mplan);
    assert_non_null(strstr(memplan_summary(c), "no static plan"));
    rt_plan_info pi;
    assert_int_equal(rt_model_plan_info(c->m, 2, &pi), RT_OK);
    assert_int_equal(pi.static_plan, 0);
    assert_int_equal(pi.peak_bytes, 2 * 2 * 16);
    cm_free(c);
    /* all sizes constant: a plan with no symbol */
    const char *cst = "graph t {\n  input x: f32[3, 4]\n  output a = sigmoid(relu(x))\n}\n";
    c = compile(cst, NULL, 2, 1, 0);
    assert_non_null(c->g->mplan);
    assert_int_equal(c->g->mplan->sym, -1);
    assert_int_equal(c->g->mplan->arena_c, 64);
    assert_int_equal(c->g->mplan->arena_s, 0);
    cm *ref = compile(cst, NULL, 2, 1, 1);
    assert_int_equal(compare_with_runtime_plan(c, ref, 1, 0, NULL), 1);
    cm_free(c);
    cm_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chains),
        cmocka_unit_test(test_inplace_rules),
        cmocka_unit_test(test_outputs_kept),
        cmocka_unit_test(test_samples_peak),
        cmocka_unit_test(test_batch_sizes),
        cmocka_unit_test(test_fetch_intermediate),
        cmocka_unit_test(test_input_view),
        cmocka_unit_test(test_not_affine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
