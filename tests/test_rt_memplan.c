/* tests/test_rt_memplan.c -- the runtime's side of the static memory plan:
 * a valid hand-made plan is used (offsets a + b*N at each N, results right),
 * and every kind of malformed plan (overlapping live buffers, also ones that
 * overlap only at large N, offsets past the arena, overflow, misalignment,
 * short buffers, bad ids, bad views) is a clean load error naming the fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphrt.h"
#include "rt_internal.h"
#include "rt_testgraph.h"

/* x: f32[N, 4] input (0); h = relu(x) (1); r = relu(h) (2); y = add(h, r) (3);
 * output y. h is read by r and y, so h and r are alive together; y may run in
 * place over h. The valid plan: h at 0, r at 64*N, y at 0 (in place), arena
 * 128*N. Entries: 0 -> h, 1 -> r, 2 -> y. */
static Graphc__Graph *plan_graph(void)
{
    Graphc__Graph *g = tg_new("p");
    tg_sym(g, "N");
    uint32_t x = tg_value(g, "x", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_F32, "N,4");
    uint32_t h = tg_value(g, "h", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,4");
    uint32_t r = tg_value(g, "r", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,4");
    uint32_t y = tg_value(g, "y", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,4");
    tg_node(g, "relu", "h", 1, &x, 1, &h);
    tg_node(g, "relu", "r", 1, &h, 1, &r);
    tg_node(g, "add", "y", 2, (uint32_t[]){ h, r }, 1, &y);
    TG_PUSH(g->outputs, g->n_outputs, y);
    Graphc__MemoryPlan *p = tg_xalloc(sizeof *p);
    graphc__memory_plan__init(p);
    p->sym = 1;
    p->arena_bytes = 0;
    p->arena_bytes_per_sym = 128;
    const int64_t off_s[3] = { 0, 64, 0 };
    for (uint32_t i = 0; i < 3; i++) {
        TG_PUSH(p->value_ids, p->n_value_ids, h + i);
        TG_PUSH(p->offsets, p->n_offsets, 0);
        TG_PUSH(p->offsets_per_sym, p->n_offsets_per_sym, off_s[i]);
        TG_PUSH(p->bytes, p->n_bytes, 0);
        TG_PUSH(p->bytes_per_sym, p->n_bytes_per_sym, 16);
    }
    g->plan = p;
    return g;
}

static rt_status load_g(Graphc__Graph *g, rt_model **m, char *err, size_t len)
{
    size_t n = graphc__graph__get_packed_size(g);
    uint8_t *buf = tg_xalloc(n + 8);
    memcpy(buf, "GRAPHCB\x01", 8);
    graphc__graph__pack(g, buf + 8);
    rt_status st = rt_model_load_buffer(buf, n + 8, m, err, len);
    free(buf);
    return st;
}

/* The valid plan loads, is used, and gives relu(x) + relu(relu(x)) at two
 * batch sizes with the arena at 128*N. */
static void test_valid_plan(void **state)
{
    (void)state;
    Graphc__Graph *g = plan_graph();
    rt_model *m = NULL;
    char err[512];
    rt_status st = load_g(g, &m, err, sizeof err);
    if (st)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(st, RT_OK);
    tg_free(g);
    rt_plan_info pi;
    assert_int_equal(rt_model_plan_info(m, 3, &pi), RT_OK);
    assert_int_equal(pi.static_plan, 1);
    assert_int_equal(pi.arena_bytes, 384);
    assert_int_equal(pi.n_buffers, 2);        /* y joins h's buffer */
    assert_int_equal(pi.peak_bytes, 2 * 16 * 3);
    rt_session *s = NULL;
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    for (int n = 2; n <= 7; n += 5) {
        float x[7 * 4];
        for (int i = 0; i < n * 4; i++)
            x[i] = (float)(i % 5) - 2.0f;
        rt_tensor feed = { RT_F32, 2, { n, 4 }, x }, out;
        const char *fx[] = { "x" }, *fy[] = { "y" };
        assert_int_equal(rt_session_run(s, 1, fx, &feed, 1, fy, &out), RT_OK);
        assert_int_equal(s->plan_static, 1);
        assert_ptr_equal(out.data, s->arena);  /* y in place over h, at offset 0 */
        assert_ptr_equal(s->slots[2].t.data, (char *)s->arena + 64 * n);
        size_t arena;
        rt_session_memory(s, NULL, &arena, NULL);
        assert_true(arena >= (size_t)(128 * n));
        for (int i = 0; i < n * 4; i++)
            assert_true(((float *)out.data)[i] == 2 * (x[i] > 0 ? x[i] : 0));
    }
    rt_session_free(s);
    rt_model_free(m);
}

typedef void (*mut_fn)(Graphc__Graph *g);

static void m_overlap(Graphc__Graph *g) { g->plan->offsets_per_sym[1] = 0; }  /* r over h, both alive */
/* r at 64 + 0*N: below h's end 16*N only while N < 4 -- must fail for every N */
static void m_overlap_large_n(Graphc__Graph *g)
{
    g->plan->offsets[1] = 64;
    g->plan->offsets_per_sym[1] = 0;
    g->plan->arena_bytes = 128;
}
static void m_past_arena(Graphc__Graph *g) { g->plan->arena_bytes_per_sym = 64; }
static void m_past_arena_c(Graphc__Graph *g) { g->plan->offsets[2] = 64; }
static void m_overflow(Graphc__Graph *g)
{
    g->plan->offsets[1] = INT64_MAX - 63; /* aligned; + bytes wraps */
    g->plan->bytes[1] = 64;
    g->plan->arena_bytes = INT64_MAX;
}
static void m_misaligned(Graphc__Graph *g) { g->plan->offsets_per_sym[1] = 68; g->plan->arena_bytes_per_sym = 256; }
static void m_short(Graphc__Graph *g) { g->plan->bytes_per_sym[1] = 8; }
static void m_wrong_sym(Graphc__Graph *g) { g->plan->sym = 0; }
static void m_sym_range(Graphc__Graph *g) { g->plan->sym = 5; }
static void m_negative(Graphc__Graph *g) { g->plan->bytes[0] = -64; }
static void m_count(Graphc__Graph *g) { g->plan->n_bytes = 2; }
static void m_input(Graphc__Graph *g) { g->plan->value_ids[0] = 0; }
static void m_twice(Graphc__Graph *g) { g->plan->value_ids[1] = 1; }
static void m_range(Graphc__Graph *g) { g->plan->value_ids[2] = 99; }
static void m_view(Graphc__Graph *g)
{
    for (int i = 0; i < 3; i++)
        TG_PUSH(g->plan->views, g->plan->n_views, i == 1);
    g->plan->offsets_per_sym[1] = 0;
    g->plan->bytes_per_sym[1] = 0;
}
/* y over h is in place (add allows it) but y's buffer runs past the arena */
static void m_inplace_bigger(Graphc__Graph *g) { g->plan->bytes_per_sym[2] = 192; }

static void test_malformed(void **state)
{
    (void)state;
    const struct { const char *name; mut_fn fn; const char *msg; } cases[] = {
        { "overlap", m_overlap, "values 'h' [0 + 0*N, 0 + 16*N) and 'r' [0 + 0*N, 0 + 16*N) are alive together "
          "at node 1 (relu 'r') but their buffers overlap" },
        { "overlap at large N", m_overlap_large_n, "are alive together at node 1 (relu 'r') but their buffers overlap" },
        { "past arena", m_past_arena, "value 'r' at offset 0 + 64*N with 0 + 16*N bytes ends past the arena of "
          "0 + 64*N bytes" },
        { "past arena const", m_past_arena_c, "value 'y' at offset 64 + 0*N with 0 + 16*N bytes ends past the arena" },
        { "overflow", m_overflow, "value 'r' at offset 9223372036854775744" },
        { "misaligned", m_misaligned, "value 'r' at offset 0 + 68*N is not aligned" },
        { "short", m_short, "value 'r' is f32[N, 4] (16*N bytes) but its buffer holds 0 + 8*N bytes" },
        { "wrong sym", m_wrong_sym, "value 'h' is f32[N, 4] but the plan scales with no symbol" },
        { "sym range", m_sym_range, "memory plan: names symbol 5, the graph has 1" },
        { "negative", m_negative, "memory plan entry 0 (value 1 'h'): negative offset or size" },
        { "count", m_count, "memory plan: 3 value ids but 3 offsets, 2 sizes" },
        { "input", m_input, "memory plan entry 0: value 0 'x' is an input, not a node value" },
        { "twice", m_twice, "memory plan entry 1: value 1 'h' is planned twice" },
        { "range", m_range, "memory plan entry 2 is value 99, the graph has 4 values" },
        { "view", m_view, "value 'r' is planned as a view of memory outside the arena, but relu is not a view op" },
        { "in place bigger", m_inplace_bigger, "value 'y' at offset 0 + 0*N with 0 + 192*N bytes ends past" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Graphc__Graph *g = plan_graph();
        cases[i].fn(g);
        rt_model *m = (rt_model *)1;
        char err[512] = "";
        rt_status st = load_g(g, &m, err, sizeof err);
        tg_free(g);
        if (st != RT_ERR_FORMAT || !strstr(err, cases[i].msg))
            fprintf(stderr, "case %s: status %d, message: %s\n", cases[i].name, (int)st, err);
        assert_int_equal(st, RT_ERR_FORMAT);
        assert_null(m);
        assert_non_null(strstr(err, cases[i].msg));
    }
}

/* An in-place y whose buffer is larger than h's (inside the arena) is not
 * an alias: it overlaps h, which is alive at y's node. */
static void test_inplace_larger_than_input(void **state)
{
    (void)state;
    Graphc__Graph *g = plan_graph();
    g->plan->bytes_per_sym[2] = 32;       /* y: 32*N at 0, h's buffer is 16*N */
    rt_model *m = NULL;
    char err[512] = "";
    assert_int_equal(load_g(g, &m, err, sizeof err), RT_ERR_FORMAT);
    assert_non_null(strstr(err, "values 'h' [0 + 0*N, 0 + 16*N) and 'y' [0 + 0*N, 0 + 32*N) are alive together at node 2"));
    tg_free(g);
    assert_null(m);
}

/* A plan valid at load whose arena overflows at the fed N: a clean run error. */
static void test_arena_overflow_at_run(void **state)
{
    (void)state;
    Graphc__Graph *g = plan_graph();
    g->plan->arena_bytes_per_sym = (int64_t)1 << 61;
    rt_model *m = NULL;
    char err[512];
    assert_int_equal(load_g(g, &m, err, sizeof err), RT_OK);
    tg_free(g);
    rt_session *s = NULL;
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    float x[16 * 4] = { 0 };
    rt_tensor feed = { RT_F32, 2, { 16, 4 }, x }, out;
    const char *fx[] = { "x" }, *fy[] = { "y" };
    assert_int_equal(rt_session_run(s, 1, fx, &feed, 1, fy, &out), RT_ERR_NOMEM);
    assert_non_null(strstr(rt_session_last_error(s), "memory plan: the arena of 0 + 2305843009213693952*N bytes "
                                                     "overflows at N = 16"));
    rt_session_free(s);
    rt_model_free(m);
}

/* Many values alive to the end (every one a graph output, each its own
 * buffer): the sweep checks them all; one moved onto another is caught. */
static void test_many_outputs(void **state)
{
    (void)state;
    enum { K = 3000 };
    for (int bad = 0; bad <= 1; bad++) {
        Graphc__Graph *g = tg_new("many");
        tg_sym(g, "N");
        uint32_t x = tg_value(g, "x", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_F32, "N,4");
        Graphc__MemoryPlan *p = tg_xalloc(sizeof *p);
        graphc__memory_plan__init(p);
        p->sym = 1;
        for (int k = 0; k < K; k++) {
            char nm[16];
            snprintf(nm, sizeof nm, "o%d", k);
            uint32_t o = tg_value(g, nm, GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,4");
            tg_node(g, "relu", nm, 1, &x, 1, &o);
            TG_PUSH(g->outputs, g->n_outputs, o);
            TG_PUSH(p->value_ids, p->n_value_ids, o);
            TG_PUSH(p->offsets, p->n_offsets, 0);
            /* reverse order of offsets so insertion is not trivially at the end */
            TG_PUSH(p->offsets_per_sym, p->n_offsets_per_sym, (int64_t)(K - 1 - k) * 64);
            TG_PUSH(p->bytes, p->n_bytes, 0);
            TG_PUSH(p->bytes_per_sym, p->n_bytes_per_sym, 16);
        }
        if (bad)
            p->offsets_per_sym[K / 2] = p->offsets_per_sym[K / 3];
        p->arena_bytes_per_sym = (int64_t)K * 64;
        g->plan = p;
        rt_model *m = NULL;
        char err[512] = "";
        rt_status st = load_g(g, &m, err, sizeof err);
        tg_free(g);
        if (bad) {
            assert_int_equal(st, RT_ERR_FORMAT);
            assert_non_null(strstr(err, "are alive together at node 1500"));
        } else {
            assert_int_equal(st, RT_OK);
            rt_plan_info pi;
            assert_int_equal(rt_model_plan_info(m, 2, &pi), RT_OK);
            assert_int_equal(pi.peak_bytes, (int64_t)K * 16 * 2);
            rt_model_free(m);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_plan),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_inplace_larger_than_input),
        cmocka_unit_test(test_arena_overflow_at_run),
        cmocka_unit_test(test_many_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
