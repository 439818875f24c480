/* tests/test_rt_profile.c -- per-node profiling of a session
 * (rt_session_set_profiling / rt_session_profile): call counts, FLOPs and
 * bytes per call on the test MLP, pruned nodes not counted, counters kept
 * when turned off and reset when turned on again, results unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "graphrt.h"
#include "rt_testgraph.h"

static rt_model *load_mlp(void)
{
    size_t len;
    Graphc__Graph *g = tg_mlp();
    uint8_t *buf = tg_pack(g, &len);
    rt_model *m = NULL;
    char err[512];
    rt_status st = rt_model_load_buffer(buf, len, &m, err, sizeof err);
    free(buf);
    tg_free(g);
    if (st != RT_OK)
        fail_msg("load: %s", err);
    return m;
}

/* Runs the MLP at batch n fetching y (and s when both); returns y[0]. */
static float run(rt_session *s, int n, int both)
{
    float x[8 * 4], z[8 * 3];
    for (int i = 0; i < n * 4; i++)
        x[i] = (float)(i % 5) - 2.0f;
    for (int i = 0; i < n * 3; i++)
        z[i] = 0.5f;
    const char *fn[] = { "x", "z" }, *on[] = { "y", "s" };
    rt_tensor feeds[2] = { { .dtype = RT_F32, .rank = 2, .dims = { n, 4 }, .data = x },
                           { .dtype = RT_F32, .rank = 2, .dims = { n, 3 }, .data = z } };
    rt_tensor out[2];
    if (rt_session_run(s, 2, fn, feeds, both ? 2 : 1, on, out) != RT_OK)
        fail_msg("run: %s", rt_session_last_error(s));
    return ((const float *)out[0].data)[0];
}

static const rt_node_profile *find(const rt_node_profile *p, int n, const char *value)
{
    for (int i = 0; i < n; i++)
        if (strcmp(p[i].value, value) == 0)
            return &p[i];
    fail_msg("no node making '%s'", value);
    return NULL;
}

static void test_profile(void **state)
{
    (void)state;
    rt_model *m = load_mlp();
    rt_session *s = NULL;
    rt_session_options o = rt_session_options_default();
    o.n_threads = 1;
    char err[256];
    assert_int_equal(rt_session_create(m, &o, &s, err, sizeof err), RT_OK);
    rt_node_profile p[8];

    /* never turned on: nothing to report */
    float y0 = run(s, 5, 1);
    assert_int_equal(rt_session_profile(s, p, 8), 0);

    assert_int_equal(rt_session_set_profiling(s, 1), RT_OK);
    for (int r = 0; r < 3; r++)
        assert_true(run(s, 5, 1) == y0); /* same results while profiling */
    run(s, 5, 0);                         /* y only: node s is pruned */
    int n = rt_session_profile(s, p, 8);
    assert_int_equal(n, rt_model_n_nodes(m));
    assert_int_equal(n, 4);
    const rt_node_profile *h = find(p, n, "h"), *r = find(p, n, "r"), *sv = find(p, n, "s");
    assert_string_equal(h->op, "matmul");
    assert_string_equal(r->op, "relu");
    assert_int_equal(h->calls, 4);
    assert_int_equal(r->calls, 4);
    assert_int_equal(sv->calls, 3);
    assert_true(h->total_ms >= 0);
    assert_int_equal(h->flops, 2 * 5 * 3 * 4);              /* 2 N M K */
    assert_int_equal(h->bytes, (5 * 4 + 4 * 3 + 5 * 3) * 4); /* x, w in; h out */
    assert_int_equal(r->flops, 5 * 3);
    assert_int_equal(r->bytes, 2 * 5 * 3 * 4);

    /* off: counters kept, not advanced */
    assert_int_equal(rt_session_set_profiling(s, 0), RT_OK);
    run(s, 5, 1);
    rt_session_profile(s, p, 8);
    assert_int_equal(find(p, n, "h")->calls, 4);

    /* on again: reset; shapes of the last call */
    assert_int_equal(rt_session_set_profiling(s, 1), RT_OK);
    rt_session_profile(s, p, 8);
    assert_int_equal(find(p, n, "h")->calls, 0);
    run(s, 2, 1);
    rt_session_profile(s, p, 8);
    assert_int_equal(find(p, n, "h")->calls, 1);
    assert_int_equal(find(p, n, "h")->flops, 2 * 2 * 3 * 4);

    /* a short array gets a prefix; the count is still the node count */
    assert_int_equal(rt_session_profile(s, p, 1), 4);
    assert_int_equal(rt_session_profile(s, NULL, 0), 4);
    assert_int_equal(rt_session_set_profiling(NULL, 1), RT_ERR_ARG);
    assert_int_equal(rt_session_profile(NULL, p, 8), 0);

    rt_session_free(s);
    rt_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
