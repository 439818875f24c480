/* tests/test_gc_fuse_ew.c -- the fuse_ew pass on small graphs: which groups
 * fuse (chains, trees, a value read several times inside a group, broadcast
 * params, f64), which must not (an intermediate that is a graph output or
 * is read outside, integer ops, lone ops, a disabled pass), groups split at
 * the program and input limits, the names and report lines, and the outputs
 * at -O2 against -O0 through the runtime API (gc_emit_buffer,
 * rt_model_load_buffer, rt_session_run): bitwise equal, with 1 and 2 threads. */
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
#include "sema.h"

typedef struct compiled {
    gc_arena *a;
    gc_diag d;
    gc_graph *g;
    gc_report rep;
    rt_model *m;
} compiled;

/* Compiles src (or the file at path when src is NULL) at -O`level`, with
 * pass `disable` switched off (NULL: none), emits it with gc_emit_buffer and
 * loads it with rt_model_load_buffer. */
static compiled *compile_src(const char *src, const char *path, int level, const char *disable)
{
    compiled *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->a = gc_arena_new();
    assert_non_null(c->a);
    gc_diag_init(&c->d, c->a, stderr);
    int f = src ? gc_source_add(&c->d, "t.g", src, (int)strlen(src)) : gc_source_load(&c->d, path, GC_NOLOC);
    assert_true(f >= 0);
    c->g = gc_sema(&c->d, c->a, f, NULL);
    assert_non_null(c->g);
    const char *disabled[1] = { disable };
    gc_opt_opts o = { .level = level, .n_disabled = disable ? 1 : 0, .disabled = disabled };
    assert_int_equal(gc_optimize(c->g, &c->d, &o, &c->rep), 0);
    assert_int_equal(c->d.n_errors, 0);
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

static void compiled_free(compiled *c)
{
    rt_model_free(c->m);
    gc_arena_free(c->a);
    free(c);
}

static int count_op(const compiled *c, op_kind k)
{
    int n = 0;
    for (int i = 0; i < c->g->n_nodes; i++)
        n += !c->g->nodes[i]->dead && c->g->nodes[i]->op == k;
    return n;
}

static int count_live(const compiled *c)
{
    int n = 0;
    for (int i = 0; i < c->g->n_nodes; i++)
        n += !c->g->nodes[i]->dead;
    return n;
}

/* The live node making value `name`. */
static const gc_node *producer_of(const compiled *c, const char *name)
{
    int v = gc_graph_find(c->g, name);
    assert_true(v >= 0);
    int p = c->g->values[v]->producer;
    assert_true(p >= 0);
    assert_false(c->g->nodes[p]->dead);
    return c->g->nodes[p];
}

static const gc_pass_report *pass_rep(const compiled *c, const char *name)
{
    for (int i = 0; i < c->rep.n_passes; i++)
        if (strcmp(c->rep.passes[i].name, name) == 0)
            return &c->rep.passes[i];
    fail_msg("no pass %s in the report", name);
    return NULL;
}

static void assert_noted(const compiled *c, const char *line)
{
    for (const gc_rewrite *w = pass_rep(c, "fuse_ew")->rewrites; w; w = w->next)
        if (strcmp(w->text, line) == 0)
            return;
    fprintf(stderr, "no rewrite '%s'; fuse_ew noted:\n", line);
    for (const gc_rewrite *w = pass_rep(c, "fuse_ew")->rewrites; w; w = w->next)
        fprintf(stderr, "  %s\n", w->text);
    fail();
}

/* ------------------------------------------------ running both models */

#define MAX_T 80

typedef struct feeds {
    int n;
    const char *names[MAX_T];
    rt_tensor t[MAX_T];
} feeds;

/* Deterministic inputs in [-4, 4) (every 97th element 0) for every float
 * input of m, symbols = sym. */
static void make_feeds(const rt_model *m, feeds *f, int64_t sym)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    f->n = rt_model_n_inputs(m);
    assert_true(f->n <= MAX_T);
    for (int i = 0; i < f->n; i++) {
        rt_value_info info;
        assert_int_equal(rt_model_input(m, i, &info), RT_OK);
        assert_true(info.dtype == RT_F32 || info.dtype == RT_F64);
        f->names[i] = info.name;
        rt_tensor *t = &f->t[i];
        t->dtype = info.dtype;
        t->rank = info.rank;
        int64_t n = 1;
        for (int d = 0; d < info.rank; d++) {
            t->dims[d] = info.dims[d] >= 0 ? info.dims[d] : sym * info.sym_coef[d];
            n *= t->dims[d];
        }
        t->data = malloc((size_t)(n ? n : 1) * rt_dtype_size(info.dtype));
        assert_non_null(t->data);
        for (int64_t k = 0; k < n; k++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            double v = k % 97 == 5 ? 0.0 : ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 8.0;
            if (info.dtype == RT_F32)
                ((float *)t->data)[k] = (float)v;
            else
                ((double *)t->data)[k] = v;
        }
    }
}

/* Runs ref and got on the same inputs with nt threads; every output (by
 * name, both models have it) must be bitwise equal. Output 0 is copied to
 * *first (malloc'ed) when first is not NULL. */
static void compare_models(const rt_model *ref, const rt_model *got, int64_t sym, int nt, rt_tensor *first)
{
    feeds f;
    make_feeds(ref, &f, sym);
    int n_out = rt_model_n_outputs(ref);
    assert_true(n_out >= 1 && n_out <= MAX_T);
    assert_int_equal(rt_model_n_outputs(got), n_out);
    const char *names[MAX_T];
    for (int i = 0; i < n_out; i++) {
        rt_value_info info;
        assert_int_equal(rt_model_output(ref, i, &info), RT_OK);
        names[i] = info.name;
        assert_int_equal(rt_model_output(got, i, &info), RT_OK);
        assert_string_equal(info.name, names[i]); /* outputs keep their names */
    }
    rt_session *s1 = NULL, *s2 = NULL;
    rt_session_options o = rt_session_options_default();
    o.n_threads = nt;
    char err[512];
    assert_int_equal(rt_session_create(ref, &o, &s1, err, sizeof err), RT_OK);
    assert_int_equal(rt_session_create(got, &o, &s2, err, sizeof err), RT_OK);
    rt_tensor a[MAX_T], b[MAX_T];
    assert_int_equal(rt_session_run(s1, f.n, f.names, f.t, n_out, names, a), RT_OK);
    for (int rep = 0; rep < 2; rep++) { /* a second run reuses the plan */
        rt_status st = rt_session_run(s2, f.n, f.names, f.t, n_out, names, b);
        if (st != RT_OK)
            fprintf(stderr, "optimized run: %s\n", rt_session_last_error(s2));
        assert_int_equal(st, RT_OK);
        for (int k = 0; k < n_out; k++) {
            assert_int_equal(a[k].dtype, b[k].dtype);
            assert_int_equal(a[k].rank, b[k].rank);
            int64_t n = 1;
            for (int d = 0; d < a[k].rank; d++) {
                assert_int_equal(a[k].dims[d], b[k].dims[d]);
                n *= a[k].dims[d];
            }
            size_t esz = rt_dtype_size(a[k].dtype);
            int nonzero = 0;
            for (int64_t i = 0; i < n; i++) {
                const char *x = (const char *)a[k].data + i * esz, *y = (const char *)b[k].data + i * esz;
                double xv = esz == 4 ? *(const float *)(const void *)x : *(const double *)(const void *)x;
                double yv = esz == 4 ? *(const float *)(const void *)y : *(const double *)(const void *)y;
                nonzero |= xv != 0;
                if (memcmp(x, y, esz) != 0)
                    fail_msg("output %s[%lld]: -O0 %.17g, -O2 %.17g", names[k], (long long)i, xv, yv);
            }
            assert_true(nonzero || n == 0); /* an all-zero output would prove little */
        }
    }
    if (first) {
        size_t bytes = rt_dtype_size(b[0].dtype);
        for (int d = 0; d < b[0].rank; d++)
            bytes *= (size_t)b[0].dims[d];
        *first = b[0];
        first->data = malloc(bytes ? bytes : 1);
        assert_non_null(first->data);
        memcpy(first->data, b[0].data, bytes);
    }
    rt_session_free(s1);
    rt_session_free(s2);
    for (int i = 0; i < f.n; i++)
        free(f.t[i].data);
}

/* -O0 vs -O2 of src (or path) at symbol values 7 and 70000, 1 and 2 threads. */
static void check_same(const char *src, const char *path)
{
    compiled *c0 = compile_src(src, path, 0, NULL), *c2 = compile_src(src, path, 2, NULL);
    for (int nt = 1; nt <= 2; nt++) {
        compare_models(c0->m, c2->m, 7, nt, NULL);
        compare_models(c0->m, c2->m, 70000, nt, NULL);
    }
    compiled_free(c0);
    compiled_free(c2);
}

/* ---------------------------------------------------------------- tests */

/* The sample: 8 ops -> 1 node named y, the report line, -O0 == -O2, and the
 * values against double precision math. */
static void test_sample_chain(void **state)
{
    (void)state;
    compiled *c = compile_src(NULL, "samples/ew_chain.g", 2, NULL);
    assert_int_equal(count_live(c), 1);
    const gc_node *n = producer_of(c, "y");
    assert_int_equal(n->op, OP_FUSED_ELEMENTWISE);
    assert_int_equal(n->n_inputs, 4);
    assert_noted(c, "fused mul_0, add_1, gelu_2, sigmoid_3, mul_4, mul_5, tanh_6, y -> fused_elementwise_8 %y "
                    "(8 ops, 4 inputs)");
    assert_int_equal(pass_rep(c, "fuse_ew")->ops_before, 8);
    assert_int_equal(pass_rep(c, "fuse_ew")->ops_after, 1);
    compiled *c0 = compile_src(NULL, "samples/ew_chain.g", 0, NULL);
    assert_int_equal(count_op(c0, OP_FUSED_ELEMENTWISE), 0);
    rt_tensor y;
    compare_models(c0->m, c->m, 50000, 2, &y);
    /* the same inputs again, to compare with double precision */
    feeds f;
    make_feeds(c->m, &f, 50000);
    const float *x = f.t[0].data, *yv = y.data;
    for (int64_t i = 0; i < 50000; i++) {
        double xi = x[i], v = xi * 1.5 + 0.25;
        double want = 0.5 * v * (1 + erf(v / sqrt(2.0))) / (1 + exp(-xi)) + tanh(xi * 0.5);
        if (!(fabs(yv[i] - want) <= 4e-6 * fabs(want) + 1e-6))
            fail_msg("y[%lld] = %.9g, double precision gives %.9g", (long long)i, yv[i], want);
    }
    free(f.t[0].data);
    free(y.data);
    compiled_free(c0);
    compiled_free(c);
    check_same(NULL, "samples/ew_chain.g");
}

/* An intermediate that is a graph output, or that a non-group node reads,
 * ends a group; a value read three times inside a group does not. */
static void test_group_boundaries(void **state)
{
    (void)state;
    const char *src =
        "graph g {\n"
        "  input x: f32[N, 3]\n"
        "  h = x * 2.0\n"                         /* a graph output: stays a mul */
        "  s = sigmoid(h)\n"
        "  t = s * s + s\n"                       /* s read 3 times inside the group */
        "  m = sum(t, 1)\n"                       /* not elementwise */
        "  output h, y = exp(t) - 1.0, z = relu(m) * 3.0\n"
        "}\n";
    compiled *c = compile_src(src, NULL, 2, NULL);
    assert_int_equal(producer_of(c, "h")->op, OP_MUL);
    const gc_node *t = producer_of(c, "t");
    assert_int_equal(t->op, OP_FUSED_ELEMENTWISE); /* sigmoid, mul, add */
    assert_int_equal(t->n_inputs, 1);
    /* t is read by sum and by exp: the group ends at t */
    assert_int_equal(producer_of(c, "y")->op, OP_FUSED_ELEMENTWISE);
    assert_int_equal(producer_of(c, "z")->op, OP_FUSED_ELEMENTWISE);
    assert_int_equal(count_op(c, OP_FUSED_ELEMENTWISE), 3);
    assert_int_equal(count_op(c, OP_SUM), 1);
    assert_int_equal(count_live(c), 5);
    assert_noted(c, "fused s, mul_2, t -> fused_elementwise_11 %t (3 ops, 1 input)");
    compiled_free(c);
    check_same(src, NULL);
}

/* Broadcast params and constants of several shapes; the gelu tanh form,
 * clip and leaky_relu attributes carried into the program. */
static void test_broadcast_and_attrs(void **state)
{
    (void)state;
    const char *src =
        "graph g {\n"
        "  input x: f32[N, 4, 5]\n"
        "  param b: f32[4, 1] = normal(std=1, seed=3)\n"
        "  param r: f32[5] = uniform(low=-2, high=2, seed=4)\n"
        "  h = gelu(x * r + b, approximate=\"tanh\")\n"
        "  k = leaky_relu(h - x, alpha=0.1) / (abs(r) + 0.5)\n"
        "  output y = clip(k, -1.3, 2.7) + maximum(x, b) * rsqrt(abs(x) + 1.0)\n"
        "}\n";
    compiled *c = compile_src(src, NULL, 2, NULL);
    assert_int_equal(count_live(c), 1);
    assert_int_equal(producer_of(c, "y")->op, OP_FUSED_ELEMENTWISE);
    compiled_free(c);
    check_same(src, NULL);
}

/* f64 graphs fuse too (libm's f64 math, the same calls as the unfused ops). */
static void test_f64(void **state)
{
    (void)state;
    const char *src =
        "graph g {\n"
        "  input x: f64[N]\n"
        "  input w: f64[N]\n"
        "  output y = exp(-x * x) * erf(w) + log(sigmoid(w) + 1.0) ** 0.5\n"
        "}\n";
    compiled *c = compile_src(src, NULL, 2, NULL);
    assert_int_equal(count_live(c), 1);
    const gc_node *n = producer_of(c, "y");
    assert_int_equal(n->op, OP_FUSED_ELEMENTWISE);
    assert_int_equal(c->g->values[n->outputs[0]]->type.dtype, OP_F64);
    compiled_free(c);
    check_same(src, NULL);
}

/* Nothing to fuse: integer ops, lone float ops, ops between compare/where,
 * and the pass switched off. */
static void test_not_fused(void **state)
{
    (void)state;
    const char *isrc =
        "graph g {\n"
        "  input i: i32[N]\n"
        "  input x: f32[N]\n"
        "  output j = (i + 1) * 3, y = tanh(x), z = where(x > 0.0, x * 2.0, x * 3.0)\n"
        "}\n";
    compiled *c = compile_src(isrc, NULL, 2, NULL);
    assert_int_equal(count_op(c, OP_FUSED_ELEMENTWISE), 0);
    assert_int_equal(pass_rep(c, "fuse_ew")->n_rewrites, 0);
    compiled_free(c);
    c = compile_src(NULL, "samples/ew_chain.g", 2, "fuse_ew");
    assert_int_equal(count_op(c, OP_FUSED_ELEMENTWISE), 0);
    assert_int_equal(count_live(c), 8);
    compiled_free(c);
    c = compile_src(NULL, "samples/ew_chain.g", 1, NULL); /* fuse_ew is -O2 */
    assert_int_equal(count_op(c, OP_FUSED_ELEMENTWISE), 0);
    compiled_free(c);
}

/* A chain of 80 ops is split where the program is full (64 words); a sum of
 * 70 inputs where the inputs are (64). Both still give -O0's bits. */
static void test_limits(void **state)
{
    (void)state;
    char *src = malloc(16384);
    assert_non_null(src);
    int l = sprintf(src, "graph g {\n  input x: f32[N]\n  h0 = x\n");
    for (int i = 1; i <= 40; i++)
        l += sprintf(src + l, "  h%d = h%d * 0.99 + 0.01\n", i, i - 1);
    sprintf(src + l, "  output y = h40\n}\n");
    compiled *c = compile_src(src, NULL, 2, NULL);
    assert_int_equal(count_op(c, OP_FUSED_ELEMENTWISE), 2);
    assert_int_equal(count_live(c), 2);
    compiled_free(c);
    check_same(src, NULL);

    l = sprintf(src, "graph g {\n");
    for (int i = 0; i < 70; i++)
        l += sprintf(src + l, "  input x%d: f32[N]\n", i);
    l += sprintf(src + l, "  output y = x0");
    for (int i = 1; i < 70; i++)
        l += sprintf(src + l, " + x%d", i);
    sprintf(src + l, "\n}\n");
    c = compile_src(src, NULL, 2, NULL);
    assert_true(count_op(c, OP_FUSED_ELEMENTWISE) >= 2);
    for (int i = 0; i < c->g->n_nodes; i++)
        assert_true(c->g->nodes[i]->dead || c->g->nodes[i]->n_inputs <= OP_MAX_INPUTS);
    compiled_free(c);
    check_same(src, NULL);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_chain),
        cmocka_unit_test(test_group_boundaries),
        cmocka_unit_test(test_broadcast_and_attrs),
        cmocka_unit_test(test_f64),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
