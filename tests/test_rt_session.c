/* tests/test_rt_session.c -- sessions and the executor: results against hand
 * computations, feed and fetch errors, pruning, symbol binding, alternating
 * batch sizes allocating nothing (the Makefile links this test with
 * -Wl,--wrap=malloc,... to count), buffer reuse and in-place, threads,
 * devices and kernel errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <omp.h>
#include <cmocka.h>

#include "graphrt.h"
#include "rt_internal.h"
#include "rt_testgraph.h"

#include "alloc_count.h" /* n_allocs; linked with --wrap (Makefile) */

/* ---- helpers ---- */

typedef struct fixture {
    rt_model *m;
    rt_session *s;
} fixture;

static rt_model *load(Graphc__Graph *g)
{
    size_t len;
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

static rt_session *session(const rt_model *m, int threads)
{
    rt_session_options o = rt_session_options_default();
    o.n_threads = threads;
    rt_session *s = NULL;
    char err[512];
    if (rt_session_create(m, &o, &s, err, sizeof err) != RT_OK)
        fail_msg("session: %s", err);
    return s;
}

static int setup_mlp(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->m = load(tg_mlp());
    f->s = session(f->m, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rt_session_free(f->s);
    rt_model_free(f->m);
    free(f);
    return 0;
}

static void fill(float *p, int n, int seed)
{
    for (int i = 0; i < n; i++)
        p[i] = (float)((i * 7 + seed * 13) % 11) - 5.0f + 0.25f * (float)seed;
}

static rt_tensor t2(rt_dtype dt, int64_t a, int64_t b, void *data)
{
    rt_tensor t = { .dtype = dt, .rank = 2, .dims = { a, b }, .data = data };
    return t;
}

/* Runs y and s at batch n, checks them against the hand computation. */
static void run_and_check(rt_session *s, int n, int seed)
{
    float x[64 * 4], z[64 * 3];
    assert_true(n <= 64);
    fill(x, n * 4, seed);
    fill(z, n * 3, seed + 1);
    const char *fn[] = { "x", "z" }, *on[] = { "y", "s" };
    rt_tensor feeds[2] = { t2(RT_F32, n, 4, x), t2(RT_F32, n, 3, z) }, out[2];
    rt_status st = rt_session_run(s, 2, fn, feeds, 2, on, out);
    if (st != RT_OK)
        fail_msg("run: %s", rt_session_last_error(s));
    for (int k = 0; k < 2; k++) {
        assert_int_equal(out[k].dtype, RT_F32);
        assert_int_equal(out[k].rank, 2);
        assert_int_equal(out[k].dims[0], n);
        assert_int_equal(out[k].dims[1], 3);
    }
    const float *y = out[0].data, *sv = out[1].data;
    for (int i = 0; i < n; i++) {
        float ref[3];
        tg_mlp_ref_row(x + i * 4, ref);
        for (int j = 0; j < 3; j++) {
            assert_float_equal(y[i * 3 + j], ref[j], 1e-5);
            assert_float_equal(sv[i * 3 + j], ref[j] + z[i * 3 + j], 1e-5);
        }
    }
}

/* ---- tests ---- */

static void test_values(void **state)
{
    fixture *f = *state;
    assert_string_equal(rt_session_last_error(f->s), "");
    run_and_check(f->s, 2, 1);
    run_and_check(f->s, 2, 2);
    run_and_check(f->s, 1, 3);
    /* a batch of zero rows */
    const char *fn[] = { "x", "z" }, *on[] = { "s" };
    rt_tensor feeds[2] = { t2(RT_F32, 0, 4, NULL), t2(RT_F32, 0, 3, NULL) }, out[1];
    assert_int_equal(rt_session_run(f->s, 2, fn, feeds, 1, on, out), RT_OK);
    assert_int_equal(out[0].dims[0], 0);
    assert_int_equal(out[0].dims[1], 3);
}

static void expect_run_error(rt_session *s, int nf, const char *const *fn, const rt_tensor *feeds, int no,
                             const char *const *on, const char *msg)
{
    rt_tensor out[4];
    rt_status st = rt_session_run(s, nf, fn, feeds, no, on, out);
    const char *e = rt_session_last_error(s);
    if (st != RT_ERR_ARG || !strstr(e, msg))
        fail_msg("got %s '%s', want RT_ERR_ARG with '%s'", rt_status_name(st), e, msg);
}

static void test_feed_errors(void **state)
{
    fixture *f = *state;
    float x[64 * 4] = { 0 }, z[64 * 3] = { 0 };
    double xd[8] = { 0 };
    const char *fx[] = { "x" }, *fxz[] = { "x", "z" }, *fxx[] = { "x", "x" }, *oy[] = { "y" },
               *os[] = { "s" };
    rt_tensor good = t2(RT_F32, 2, 4, x);

    rt_tensor bad = t2(RT_F64, 2, 4, xd);
    expect_run_error(f->s, 1, fx, &bad, 1, oy, "feed 'x': expected f32[N, 4], got f64[2, 4]");
    bad = t2(RT_F32, 64, 5, x);
    expect_run_error(f->s, 1, fx, &bad, 1, oy, "feed 'x': expected f32[N, 4], got f32[64, 5]");
    bad = (rt_tensor){ .dtype = RT_F32, .rank = 1, .dims = { 8 }, .data = x };
    expect_run_error(f->s, 1, fx, &bad, 1, oy, "feed 'x': expected f32[N, 4], got f32[8]");
    bad = t2(RT_F32, -2, 4, x);
    expect_run_error(f->s, 1, fx, &bad, 1, oy, "feed 'x': expected f32[N, 4], got f32[-2, 4]");
    bad = (rt_tensor){ .dtype = RT_F32, .rank = 12, .data = x };
    expect_run_error(f->s, 1, fx, &bad, 1, oy, "feed 'x': invalid rank 12");
    bad = t2(RT_F32, 2, 4, NULL);
    expect_run_error(f->s, 1, fx, &bad, 1, oy, "feed 'x': data is NULL");

    const char *fq[] = { "q" };
    expect_run_error(f->s, 1, fq, &good, 1, oy,
                     "feed 'q': the model has no input of that name (inputs: x, z)");
    const char *fw[] = { "w" };
    expect_run_error(f->s, 1, fw, &good, 1, oy, "feed 'w': the model has no input of that name");
    rt_tensor two[2] = { good, good };
    expect_run_error(f->s, 2, fxx, two, 1, oy, "feed 'x' is given twice");

    /* missing needed feed: s needs z */
    expect_run_error(f->s, 1, fx, &good, 1, os, "input 'z' is needed by fetch 's' but was not fed");
    expect_run_error(f->s, 0, NULL, NULL, 1, oy, "input 'x' is needed by fetch 'y' but was not fed");

    /* fetches */
    const char *onope[] = { "nope" }, *ow[] = { "w" }, *ox[] = { "x" };
    expect_run_error(f->s, 1, fx, &good, 1, onope,
                     "fetch 'nope': no output or node value of that name (outputs: y, s)");
    expect_run_error(f->s, 1, fx, &good, 1, ow, "fetch 'w': a param, not a graph output or a node value");
    expect_run_error(f->s, 1, fx, &good, 1, ox, "fetch 'x': an input, not a graph output");

    /* a symbol bound inconsistently: x says N = 2, z says N = 3 */
    rt_tensor xz[2] = { t2(RT_F32, 2, 4, x), t2(RT_F32, 3, 3, z) };
    expect_run_error(f->s, 2, fxz, xz, 1, os,
                     "feed 'z': expected f32[N, 3], got f32[3, 3]: dim 0 gives N = 3, but feed 'x' dim 0 "
                     "gave N = 2");
    /* bad argument arrays */
    expect_run_error(f->s, -1, fx, &good, 1, oy, "bad feed or fetch arrays");
    expect_run_error(f->s, 1, fx, &good, 1, NULL, "bad feed or fetch arrays");
    assert_int_equal(rt_session_run(NULL, 0, NULL, NULL, 0, NULL, NULL), RT_ERR_ARG);

    /* the session still works, and the last message stays until the next failure */
    run_and_check(f->s, 3, 4);
    assert_non_null(strstr(rt_session_last_error(f->s), "bad feed or fetch arrays"));
}

static void test_pruning(void **state)
{
    fixture *f = *state;
    float x[8], z[15];
    fill(x, 8, 5);
    fill(z, 15, 6);
    const char *fx[] = { "x" }, *oy[] = { "y" };
    rt_tensor feed = t2(RT_F32, 2, 4, x), out[2];
    /* y does not need z: no z feed needed */
    assert_int_equal(rt_session_run(f->s, 1, fx, &feed, 1, oy, out), RT_OK);
    float ref[3];
    tg_mlp_ref_row(x + 4, ref);
    assert_float_equal(((float *)out[0].data)[3 + 2], ref[2], 1e-5);
    /* an extra feed of a known input is checked but binds nothing: z at N=5 */
    const char *fxz[] = { "x", "z" };
    rt_tensor feeds[2] = { feed, t2(RT_F32, 5, 3, z) };
    assert_int_equal(rt_session_run(f->s, 2, fxz, feeds, 1, oy, out), RT_OK);
    assert_int_equal(out[0].dims[0], 2);
    feeds[1] = t2(RT_F32, 5, 4, z);
    expect_run_error(f->s, 2, fxz, feeds, 1, oy, "feed 'z': expected f32[N, 3], got f32[5, 4]");
    /* any node value can be fetched: h = x @ w */
    const char *oh[] = { "h", "y" };
    assert_int_equal(rt_session_run(f->s, 1, fx, &feed, 2, oh, out), RT_OK);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            float acc = 0;
            for (int k = 0; k < 4; k++)
                acc += x[i * 4 + k] * TG_W[k * 3 + j];
            assert_float_equal(((float *)out[0].data)[i * 3 + j], acc, 1e-5);
            assert_float_equal(((float *)out[1].data)[i * 3 + j], (acc > 0 ? acc : 0) + TG_B[j], 1e-5);
        }
    /* no fetches: nothing runs, nothing fails */
    assert_int_equal(rt_session_run(f->s, 0, NULL, NULL, 0, NULL, NULL), RT_OK);
}

static void test_alternating_batches_allocate_nothing(void **state)
{
    fixture *f = *state;
    /* the counters see the runtime's allocations at all */
    long c0 = n_allocs;
    rt_session *tmp = session(f->m, 1);
    assert_true(n_allocs > c0 + 10);
    rt_session_free(tmp);

    run_and_check(f->s, 5, 1);
    run_and_check(f->s, 2, 2);
    size_t arena0, ws0;
    rt_session_memory(f->s, NULL, &arena0, &ws0);
    int64_t plans0 = f->s->n_plans;
    long before = n_allocs;
    for (int i = 0; i < 6; i++)
        run_and_check(f->s, i % 2 ? 2 : 5, i);
    long during = n_allocs - before;
    size_t arena1, ws1;
    rt_session_memory(f->s, NULL, &arena1, &ws1);
    assert_int_equal(arena1, arena0); /* the arena only grows, and did not need to */
    assert_int_equal(ws1, ws0);
    assert_int_equal(f->s->n_plans, plans0 + 6); /* re-planned, without allocating */
    /* the same size again (the loop ended at 2) does not even re-plan */
    run_and_check(f->s, 2, 9);
    run_and_check(f->s, 2, 9);
    assert_int_equal(f->s->n_plans, plans0 + 6);
    /* a larger batch grows the arena once */
    run_and_check(f->s, 40, 3);
    size_t arena2;
    rt_session_memory(f->s, NULL, &arena2, NULL);
    assert_true(arena2 > arena1);
    before = n_allocs;
    run_and_check(f->s, 40, 4);
    run_and_check(f->s, 5, 4);
    long after_grow = n_allocs - before;
    /* under ASan too: --wrap redirects the runtime's own calls, and
     * __real_malloc is ASan's interceptor, so the count holds there. */
    assert_int_equal(during, 0);
    assert_int_equal(after_grow, 0);
}

/* Liveness: a chain of matmuls needs two buffers whatever its length; relu
 * and add run in place; fetched values survive to the end. */
static void test_buffer_plan(void **state)
{
    (void)state;
    Graphc__Graph *g = tg_new("chain");
    tg_sym(g, "N");
    uint32_t cur = tg_value(g, "x", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_F32, "N,4");
    float eye2[16] = { 0 };
    for (int i = 0; i < 4; i++)
        eye2[i * 5] = 2;
    uint32_t w = tg_value(g, "w", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_F32, "4,4");
    tg_data(g, w, eye2, sizeof eye2, 0);
    uint32_t first = 0;
    for (int k = 0; k < 6; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "m%d", k);
        uint32_t o = tg_value(g, nm, GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,4");
        tg_node(g, "matmul", nm, 2, (uint32_t[]){ cur, w }, 1, &o);
        if (k == 0)
            first = o;
        cur = o;
    }
    uint32_t r = tg_value(g, "r", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,4");
    tg_node(g, "relu", "r", 1, &cur, 1, &r);
    tg_output(g, r);
    tg_output(g, first);
    rt_model *m = load(g);

    float x[16];
    fill(x, 16, 2);
    const char *fx[] = { "x" }, *o_r[] = { "r" }, *both[] = { "r", "m0" };
    rt_tensor feed = t2(RT_F32, 4, 4, x), out[2];

    /* fetch r only: two 64-byte buffers ping-pong, relu in place */
    rt_session *s = session(m, 1);
    assert_int_equal(rt_session_run(s, 1, fx, &feed, 1, o_r, out), RT_OK);
    size_t arena;
    rt_session_memory(s, NULL, &arena, NULL);
    assert_int_equal(arena, 128);
    for (int i = 0; i < 16; i++)
        assert_float_equal(((float *)out[0].data)[i], x[i] > 0 ? 64 * x[i] : 0, 1e-4);
    rt_session_free(s);

    /* fetch r and m0: m0 lives to the end, a third buffer */
    s = session(m, 1);
    assert_int_equal(rt_session_run(s, 1, fx, &feed, 2, both, out), RT_OK);
    rt_session_memory(s, NULL, &arena, NULL);
    assert_int_equal(arena, 192);
    for (int i = 0; i < 16; i++) {
        assert_float_equal(((float *)out[0].data)[i], x[i] > 0 ? 64 * x[i] : 0, 1e-4);
        assert_float_equal(((float *)out[1].data)[i], 2 * x[i], 1e-6);
    }
    assert_true(out[0].data != out[1].data);
    rt_session_free(s);
    rt_model_free(m);

    /* the mlp fetching s only: h, r, y, s all share one buffer in place */
    m = load(tg_mlp());
    s = session(m, 1);
    float xm[8], zm[6];
    fill(xm, 8, 1);
    fill(zm, 6, 2);
    const char *fxz[] = { "x", "z" }, *os[] = { "s" };
    rt_tensor feeds[2] = { t2(RT_F32, 2, 4, xm), t2(RT_F32, 2, 3, zm) };
    assert_int_equal(rt_session_run(s, 2, fxz, feeds, 1, os, out), RT_OK);
    rt_session_memory(s, NULL, &arena, NULL);
    assert_int_equal(arena, 64);
    for (int i = 0; i < 2; i++) {
        float ref[3];
        tg_mlp_ref_row(xm + i * 4, ref);
        for (int j = 0; j < 3; j++)
            assert_float_equal(((float *)out[0].data)[i * 3 + j], ref[j] + zm[i * 3 + j], 1e-5);
    }
    /* fetching y too keeps y alive: y and s differ and are both right */
    run_and_check(s, 2, 7);
    rt_session_free(s);
    rt_model_free(m);
}

/* A node with two outputs of which one is never read (split), a view op run
 * in place (reshape: no copy at all), and a concat reading both halves. */
static void test_multi_output_and_views(void **state)
{
    (void)state;
    Graphc__Graph *g = tg_new("split");
    tg_sym(g, "N");
    uint32_t x = tg_value(g, "x", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_F32, "N,4");
    uint32_t e = tg_value(g, "e", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,4");
    uint32_t a = tg_value(g, "a", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,1");
    uint32_t b = tg_value(g, "b", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,3");
    uint32_t f = tg_value(g, "f", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "3,N");
    uint32_t c = tg_value(g, "c", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,4");
    tg_node(g, "exp", "e", 1, &x, 1, &e);
    Graphc__Node *sp = tg_node(g, "split", "sp", 1, &e, 2, (uint32_t[]){ a, b });
    tg_attr_ints(sp, "sizes", 2, (int64_t[]){ 1, 3 });
    tg_attr_int(sp, "axis", 1);
    Graphc__Node *rs = tg_node(g, "reshape", "f", 1, &b, 1, &f);
    tg_attr_ints(rs, "shape", 2, (int64_t[]){ 3, -1 });
    tg_attr_int(tg_node(g, "concat", "c", 2, (uint32_t[]){ b, a }, 1, &c), "axis", 1);
    tg_output(g, f);
    tg_output(g, c);
    rt_model *m = load(g);
    rt_session *s = session(m, 1);
    float xv[8] = { 0, 1, -1, 0.5f, 2, -2, 0.25f, 1 };
    const char *fx[] = { "x" }, *of[] = { "f" }, *oc[] = { "c", "f" };
    rt_tensor feed = t2(RT_F32, 2, 4, xv), out[2];
    /* f only: a is written by split but never read */
    if (rt_session_run(s, 1, fx, &feed, 1, of, out) != RT_OK)
        fail_msg("%s", rt_session_last_error(s));
    assert_int_equal(out[0].dims[0], 3);
    assert_int_equal(out[0].dims[1], 2);
    const float *fv = out[0].data;
    const float want_b[6] = { 1, -1, 0.5f, -2, 0.25f, 1 }; /* rows of x without column 0 */
    for (int i = 0; i < 6; i++)
        assert_float_equal(fv[i], expf(want_b[i]), 1e-5);
    /* c = concat(b, a): b's row then a's element */
    if (rt_session_run(s, 1, fx, &feed, 2, oc, out) != RT_OK)
        fail_msg("%s", rt_session_last_error(s));
    const float *cv = out[0].data;
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 3; j++)
            assert_float_equal(cv[i * 4 + j], expf(xv[i * 4 + 1 + j]), 1e-5);
        assert_float_equal(cv[i * 4 + 3], expf(xv[i * 4]), 1e-5);
    }
    for (int i = 0; i < 6; i++)
        assert_float_equal(((const float *)out[1].data)[i], expf(want_b[i]), 1e-5);
    rt_session_free(s);
    rt_model_free(m);
}

static void test_threads(void **state)
{
    (void)state;
    rt_model *m = load(tg_mlp());
    float x[64 * 4], z[64 * 3];
    fill(x, 64 * 4, 3);
    fill(z, 64 * 3, 4);
    const char *fn[] = { "x", "z" }, *on[] = { "s" };
    rt_tensor feeds[2] = { t2(RT_F32, 64, 4, x), t2(RT_F32, 64, 3, z) }, out[1];
    float res[2][64 * 3];
    for (int t = 1; t <= 2; t++) {
        rt_session *s = session(m, t);
        assert_int_equal(rt_session_run(s, 2, fn, feeds, 1, on, out), RT_OK);
        assert_int_equal(omp_get_max_threads(), t); /* applied at run start */
        memcpy(res[t - 1], out[0].data, sizeof res[0]);
        run_and_check(s, 64, 5);
        rt_session_free(s);
    }
    assert_memory_equal(res[0], res[1], sizeof res[0]);
    /* 0 means all cores */
    rt_session *s = session(m, 0);
    assert_int_equal(rt_session_run(s, 2, fn, feeds, 1, on, out), RT_OK);
    assert_int_equal(omp_get_max_threads(), omp_get_num_procs());
    rt_session_free(s);
    rt_model_free(m);
}

static void test_create_errors(void **state)
{
    (void)state;
    rt_model *m = load(tg_mlp());
    rt_session *s = (rt_session *)1;
    char err[256];
    rt_session_options o = rt_session_options_default();
    assert_int_equal(o.device, RT_DEVICE_CPU);
    assert_int_equal(o.n_threads, 0);
    o.device = RT_DEVICE_CUDA;
    assert_int_equal(rt_session_create(m, &o, &s, err, sizeof err), RT_ERR_UNSUPPORTED);
    assert_null(s);
    assert_string_equal(err, "CUDA backend not built/available");
    o.device = RT_DEVICE_CPU;
    o.n_threads = -1;
    assert_int_equal(rt_session_create(m, &o, &s, err, sizeof err), RT_ERR_ARG);
    assert_non_null(strstr(err, "n_threads"));
    assert_int_equal(rt_session_create(NULL, &o, &s, err, sizeof err), RT_ERR_ARG);
    /* NULL options: defaults; weights are one copy, 64-byte aligned each */
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    size_t wb;
    rt_session_memory(s, &wb, NULL, NULL);
    assert_int_equal(wb, 64 + 64); /* w (48 B) and b (12 B) */
    rt_session_free(s);
    rt_session_free(NULL);
    rt_model_free(m);
}

/* A kernel failure is RT_ERR_KERNEL naming the node; 2*N dims bind N. */
static void test_kernel_error_and_coef(void **state)
{
    (void)state;
    Graphc__Graph *g = tg_new("div");
    tg_sym(g, "N");
    uint32_t a = tg_value(g, "a", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_I32, "2*N");
    uint32_t b = tg_value(g, "b", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_I32, "2*N");
    uint32_t c = tg_value(g, "c", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_I32, "2*N");
    tg_node(g, "div", "c", 2, (uint32_t[]){ a, b }, 1, &c);
    tg_output(g, c);
    tg_output(g, a); /* an input may be an output: fetched as the feed */
    rt_model *m = load(g);
    rt_session *s = session(m, 1);
    int32_t av[4] = { 7, -9, 8, 1 }, bv[4] = { 2, 3, 0, 1 };
    const char *fn[] = { "a", "b" }, *on[] = { "c", "a" };
    rt_tensor feeds[2] = { { RT_I32, 1, { 4 }, av }, { RT_I32, 1, { 4 }, bv } }, out[2];
    assert_int_equal(rt_session_run(s, 2, fn, feeds, 2, on, out), RT_ERR_KERNEL);
    assert_true(strncmp(rt_session_last_error(s), "node 0 (div 'c'): ", 18) == 0);
    bv[2] = 4;
    assert_int_equal(rt_session_run(s, 2, fn, feeds, 2, on, out), RT_OK);
    assert_int_equal(((int32_t *)out[0].data)[0], 3);
    assert_int_equal(((int32_t *)out[0].data)[1], -3);
    assert_int_equal(((int32_t *)out[0].data)[2], 2);
    assert_ptr_equal(out[1].data, av);
    /* an odd length is not 2*N */
    feeds[0].dims[0] = feeds[1].dims[0] = 3;
    expect_run_error(s, 2, fn, feeds, 1, on, "feed 'a': expected i32[2*N], got i32[3]");
    rt_session_free(s);
    rt_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_values, setup_mlp, teardown),
        cmocka_unit_test_setup_teardown(test_feed_errors, setup_mlp, teardown),
        cmocka_unit_test_setup_teardown(test_pruning, setup_mlp, teardown),
        cmocka_unit_test_setup_teardown(test_alternating_batches_allocate_nothing, setup_mlp, teardown),
        cmocka_unit_test(test_buffer_plan),
        cmocka_unit_test(test_multi_output_and_views),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_kernel_error_and_coef),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
