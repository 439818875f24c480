/* tests/test_gc_fuse_gemm.c -- the passes fold_bn, fuse_gemm and layout on
 * small graphs: what fuses (Linear + each activation, conv + bias + relu,
 * conv + bn + relu, Linear + bn), what must not (an intermediate with two
 * uses or that is a graph output, two biases not both known), the names and
 * report lines, and numerical equality of -O0 and the optimized graph through
 * the runtime API (bitwise for the epilogue fusion alone; 1e-5 of the output's
 * scale for the batch-norm fold and pre-transposed weights), samples included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epilogue.h"
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

/* Compiles src (or the file at path when src is NULL) at -O`level` with only
 * the passes in `enabled` (comma separated; NULL: all of the level), emits
 * it with gc_emit_buffer and loads it with rt_model_load_buffer. */
static compiled *compile_src(const char *src, const char *path, int level, const char *enabled)
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
    const char *disabled[32];
    int n_disabled = 0;
    for (int i = 0; enabled && i < gc_n_passes; i++) {
        const char *nm = gc_passes[i].name;
        size_t l = strlen(nm);
        int on = 0;
        for (const char *p = enabled; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
            if (strncmp(p, nm, l) == 0 && (p[l] == ',' || p[l] == 0))
                on = 1;
        if (!on && strcmp(nm, "memplan") != 0)
            disabled[n_disabled++] = nm;
    }
    gc_opt_opts o = { .level = level, .n_disabled = n_disabled, .disabled = disabled };
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

/* The only live node of op k. */
static const gc_node *only(const compiled *c, op_kind k)
{
    assert_int_equal(count_op(c, k), 1);
    for (int i = 0; i < c->g->n_nodes; i++)
        if (!c->g->nodes[i]->dead && c->g->nodes[i]->op == k)
            return c->g->nodes[i];
    return NULL;
}

static const char *out_name(const compiled *c, const gc_node *n) { return c->g->values[n->outputs[0]]->name; }

static const gc_pass_report *pass_rep(const compiled *c, const char *name)
{
    for (int i = 0; i < c->rep.n_passes; i++)
        if (strcmp(c->rep.passes[i].name, name) == 0)
            return &c->rep.passes[i];
    fail_msg("no pass %s in the report", name);
    return NULL;
}

static void assert_noted(const compiled *c, const char *pass, const char *line)
{
    for (const gc_rewrite *w = pass_rep(c, pass)->rewrites; w; w = w->next)
        if (strcmp(w->text, line) == 0)
            return;
    fprintf(stderr, "no rewrite '%s' by %s; it noted:\n", line, pass);
    for (const gc_rewrite *w = pass_rep(c, pass)->rewrites; w; w = w->next)
        fprintf(stderr, "  %s\n", w->text);
    fail();
}

/* ------------------------------------------------ running both models */

#define MAX_T 8

typedef struct feeds {
    int n;
    const char *names[MAX_T];
    rt_tensor t[MAX_T];
} feeds;

/* Deterministic inputs in [-2, 2) for every (f32) input of m, symbols = 3. */
static void make_feeds(const rt_model *m, feeds *f)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    f->n = rt_model_n_inputs(m);
    assert_true(f->n <= MAX_T);
    for (int i = 0; i < f->n; i++) {
        rt_value_info info;
        assert_int_equal(rt_model_input(m, i, &info), RT_OK);
        assert_int_equal(info.dtype, RT_F32);
        f->names[i] = info.name;
        rt_tensor *t = &f->t[i];
        t->dtype = info.dtype;
        t->rank = info.rank;
        int64_t n = 1;
        for (int d = 0; d < info.rank; d++) {
            t->dims[d] = info.dims[d] >= 0 ? info.dims[d] : 3 * info.sym_coef[d];
            n *= t->dims[d];
        }
        float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
        assert_non_null(p);
        for (int64_t k = 0; k < n; k++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            p[k] = (float)(((double)(s >> 11) / 9007199254740992.0 - 0.5) * 4.0);
        }
        t->data = p;
    }
}

/* Runs ref and got on the same inputs (threads nt) and compares every output
 * by name: tol 0 bitwise, else |a - b| <= tol * max|a| over the output.
 * Returns the number of elements not bitwise equal. */
static int64_t compare_models(const rt_model *ref, const rt_model *got, double tol, int nt)
{
    feeds f;
    make_feeds(ref, &f);
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
    rt_status st = rt_session_run(s2, f.n, f.names, f.t, n_out, names, b);
    if (st != RT_OK)
        fprintf(stderr, "optimized run: %s\n", rt_session_last_error(s2));
    assert_int_equal(st, RT_OK);
    int64_t n_diff = 0;
    for (int k = 0; k < n_out; k++) {
        assert_int_equal(a[k].dtype, b[k].dtype);
        assert_int_equal(a[k].rank, b[k].rank);
        int64_t n = 1;
        for (int d = 0; d < a[k].rank; d++) {
            assert_int_equal(a[k].dims[d], b[k].dims[d]);
            n *= a[k].dims[d];
        }
        if (a[k].dtype != RT_F32) {
            assert_memory_equal(a[k].data, b[k].data, (size_t)n * rt_dtype_size(a[k].dtype));
            continue;
        }
        const float *x = a[k].data, *y = b[k].data;
        double scale = 0;
        for (int64_t i = 0; i < n; i++)
            scale = fmax(scale, fabs(x[i]));
        assert_true(scale > 0); /* a dead output would prove nothing */
        for (int64_t i = 0; i < n; i++) {
            if (memcmp(&x[i], &y[i], sizeof(float)) == 0)
                continue;
            n_diff++;
            if (tol == 0 || !(fabs((double)x[i] - y[i]) <= tol * scale))
                fail_msg("output %s[%lld]: -O0 %.9g, optimized %.9g (scale %.3g)", names[k], (long long)i, x[i], y[i],
                         scale);
        }
    }
    rt_session_free(s1);
    rt_session_free(s2);
    for (int i = 0; i < f.n; i++)
        free(f.t[i].data);
    return n_diff;
}

/* ---------------------------------------------------------------- tests */

static const char *act_src[] = { NULL, "relu(%s)", "gelu(%s)", "gelu(%s, approximate=\"tanh\")", "sigmoid(%s)",
                                 "tanh(%s)" };

/* Linear + each activation: one matmul (x, W, b, activation), the output
 * keeps its name, the note says what happened, and the result is the same
 * bits as -O0 on 1 and 2 threads. */
static void test_linear_act_fuses(void **state)
{
    (void)state;
    for (int act = 1; act < OP_ACT_COUNT; act++) {
        char expr[64], src[512];
        snprintf(expr, sizeof expr, act_src[act], "fc(x)");
        snprintf(src, sizeof src,
                 "graph t {\n"
                 "  input x: f32[N, 24]\n"
                 "  fc = Linear(24, 40)\n"
                 "  output y = %s\n"
                 "}\n",
                 expr);
        compiled *ref = compile_src(src, NULL, 0, NULL);
        compiled *c = compile_src(src, NULL, 2, "fuse_gemm,dce2");
        const gc_node *mm = only(c, OP_MATMUL);
        assert_int_equal(mm->n_inputs, 3);
        assert_string_equal(c->g->values[mm->inputs[2]]->name, "fc.bias");
        assert_int_equal(mm->attrs[2].i, act);
        assert_int_equal(count_op(c, OP_ADD), 0);
        assert_int_equal(pass_rep(c, "fuse_gemm")->ops_after, 1);
        assert_string_equal(out_name(c, mm), "y");
        char line[256];
        snprintf(line, sizeof line, "matmul %%matmul_0 + add %%add_1 + %s %%y -> matmul %%y (bias fc.bias, %s)",
                 act == OP_ACT_GELU || act == OP_ACT_GELU_TANH ? "gelu" : op_act_names[act], op_act_names[act]);
        assert_noted(c, "fuse_gemm", line);
        for (int nt = 1; nt <= 2; nt++)
            assert_int_equal(compare_models(ref->m, c->m, 0.0, nt), 0);
        compiled_free(ref);
        compiled_free(c);
    }
}

/* Batched matmul [B, T, D] @ W^T + b [out] fuses (bias on the last dim); a
 * bias add that broadcasts over another axis ([T, 1]) does not. */
static void test_batched_and_wrong_axis(void **state)
{
    (void)state;
    const char *src = "graph t {\n"
                      "  input x: f32[N, 5, 16]\n"
                      "  param w: f32[12, 16] = normal(seed=3)\n"
                      "  param b: f32[12] = normal(seed=4)\n"
                      "  param r: f32[5, 1] = normal(seed=5)\n"
                      "  output y = tanh(matmul(x, w, trans_b=true) + b), z = matmul(x, w, trans_b=true) + r\n"
                      "}\n";
    compiled *ref = compile_src(src, NULL, 0, NULL);
    compiled *c = compile_src(src, NULL, 2, "fuse_gemm,dce2");
    assert_int_equal(count_op(c, OP_MATMUL), 2);
    assert_int_equal(count_op(c, OP_ADD), 1); /* the [5, 1] add stays */
    assert_int_equal(count_op(c, OP_TANH), 0);
    assert_int_equal(pass_rep(c, "fuse_gemm")->n_rewrites, 1);
    assert_int_equal(compare_models(ref->m, c->m, 0.0, 2), 0);
    compiled_free(ref);
    compiled_free(c);
}

/* No fusion through an intermediate with two uses; through an output only
 * up to the output (the rest keeps its node and name). */
static void test_no_fusion_across_uses_and_outputs(void **state)
{
    (void)state;
    const char *src = "graph t {\n"
                      "  input x: f32[N, 8]\n"
                      "  param w: f32[8, 6] = normal(seed=1)\n"
                      "  param w2: f32[8, 6] = normal(seed=3)\n"
                      "  param b: f32[6] = normal(seed=2)\n"
                      "  t1 = matmul(x, w)\n"
                      "  h = relu(t1 + b)\n"
                      "  u = matmul(x, w2) + b\n"
                      "  output y = h, z = t1 * 2, pre = u, post = sigmoid(u)\n"
                      "}\n";
    compiled *ref = compile_src(src, NULL, 0, NULL);
    compiled *c = compile_src(src, NULL, 2, "simplify,fuse_gemm,dce2");
    /* t1 has two uses: matmul, add and relu stay; u is an output: its add
     * fuses, the sigmoid does not */
    assert_int_equal(count_op(c, OP_MATMUL), 2);
    assert_int_equal(count_op(c, OP_RELU), 1);
    assert_int_equal(count_op(c, OP_SIGMOID), 1);
    assert_int_equal(count_op(c, OP_ADD), 1);
    assert_int_equal(pass_rep(c, "fuse_gemm")->n_rewrites, 1);
    int seen = 0;
    for (int i = 0; i < c->g->n_nodes; i++) {
        const gc_node *n = c->g->nodes[i];
        if (n->dead || n->op != OP_MATMUL || n->n_inputs != 3)
            continue;
        seen++;
        assert_string_equal(out_name(c, n), "pre");
        assert_int_equal(n->attrs[2].i, OP_ACT_NONE);
    }
    assert_int_equal(seen, 1);
    assert_int_equal(compare_models(ref->m, c->m, 0.0, 1), 0);
    compiled_free(ref);
    compiled_free(c);
}

/* Non-trivial batch norm parameters for C channels, as DSL param lines. */
#define BN_PARAMS(C)                                                             \
    "  param s: f32[" #C "] = uniform(low=0.5, high=1.5, seed=11)\n"            \
    "  param beta: f32[" #C "] = normal(seed=12)\n"                             \
    "  param mu: f32[" #C "] = normal(std=0.3, seed=13)\n"                      \
    "  param var: f32[" #C "] = uniform(low=0.2, high=2, seed=14) frozen\n"

/* conv + bn + relu: one conv2d with folded weights, a new bias and relu; the
 * output keeps its name; -O2 matches -O0 to 1e-5. Also with a conv without
 * bias and with a trailing [1, O, 1, 1] bias add. */
static void test_conv_bn_relu(void **state)
{
    (void)state;
    const char *src = "graph t {\n"
                      "  input x: f32[N, 3, 10, 9]\n"
                      "  param w: f32[6, 3, 3, 3] = normal(seed=9)\n"
                      "  param b: f32[6] = normal(seed=10)\n" BN_PARAMS(6)
                      "  output y = relu(batch_norm(conv2d(x, w, b, padding=1), s, beta, mu, var, eps=0.001))\n"
                      "}\n";
    compiled *ref = compile_src(src, NULL, 0, NULL);
    compiled *c = compile_src(src, NULL, 2, NULL);
    const gc_node *cv = only(c, OP_CONV2D);
    assert_int_equal(count_op(c, OP_BATCH_NORM), 0);
    assert_int_equal(count_op(c, OP_RELU), 0);
    assert_int_equal(cv->n_inputs, 3);
    assert_int_equal(cv->attrs[4].i, OP_ACT_RELU);
    assert_int_equal(c->g->values[cv->inputs[1]]->kind, GV_CONST);
    assert_string_equal(out_name(c, cv), "y");
    assert_noted(c, "fold_bn", "conv2d %conv2d_0 + batch_norm %batch_norm_1 -> conv2d %batch_norm_1 "
                               "(weight w * scale, new bias b.bn)");
    assert_noted(c, "fuse_gemm", "conv2d %batch_norm_1 + relu %y -> conv2d %y (relu)");
    /* the params are gone from the binary: folded into constants */
    assert_int_equal(rt_model_n_params(c->m), 0);
    assert_true(compare_models(ref->m, c->m, 1e-5, 1) > 0); /* folded: not the same bits */
    compare_models(ref->m, c->m, 1e-5, 2);
    compiled_free(ref);
    compiled_free(c);

    const char *src2 = "graph t {\n"
                       "  input x: f32[N, 4, 7, 7]\n"
                       "  param w: f32[5, 4, 1, 1] = normal(seed=9)\n"
                       "  param b4: f32[1, 5, 1, 1] = normal(seed=10)\n"
                       "  output y = sigmoid(conv2d(x, w) + b4)\n"
                       "}\n";
    ref = compile_src(src2, NULL, 0, NULL);
    c = compile_src(src2, NULL, 2, "fuse_gemm,dce2");
    cv = only(c, OP_CONV2D);
    assert_int_equal(cv->n_inputs, 3);
    assert_int_equal(c->g->values[cv->inputs[2]]->type.rank, 1);
    assert_int_equal(cv->attrs[4].i, OP_ACT_SIGMOID);
    assert_int_equal(count_op(c, OP_ADD) + count_op(c, OP_SIGMOID), 0);
    assert_int_equal(compare_models(ref->m, c->m, 0.0, 2), 0);
    compiled_free(ref);
    compiled_free(c);
}

/* A conv that has a bias followed by an add of an input: two biases, one not
 * known at compile time: the add stays (the relu cannot fuse past it). With
 * a constant second bias both are summed into one. */
static void test_conv_two_biases(void **state)
{
    (void)state;
    const char *src = "graph t {\n"
                      "  input x: f32[N, 2, 6, 6]\n"
                      "  input extra: f32[3, 1, 1]\n"
                      "  param w: f32[3, 2, 3, 3] = normal(seed=1)\n"
                      "  param b: f32[3] = normal(seed=2)\n"
                      "  param b2: f32[3, 1, 1] = normal(seed=3)\n"
                      "  output y = relu(conv2d(x, w, b) + extra), z = tanh(conv2d(x, w, b) + b2)\n"
                      "}\n";
    compiled *ref = compile_src(src, NULL, 0, NULL);
    compiled *c = compile_src(src, NULL, 2, "fuse_gemm,dce2");
    assert_int_equal(count_op(c, OP_CONV2D), 2);
    assert_int_equal(count_op(c, OP_ADD), 1);
    assert_int_equal(count_op(c, OP_RELU), 1);
    assert_int_equal(count_op(c, OP_TANH), 0);
    assert_int_equal(pass_rep(c, "fuse_gemm")->n_rewrites, 1);
    /* (conv + b) + b2 vs conv + (b + b2): rounding only */
    compare_models(ref->m, c->m, 1e-6, 1);
    compiled_free(ref);
    compiled_free(c);
}

/* Linear + batch norm on [N, C] folds through the bias add (fold_bn), the
 * weight is pre-transposed (layout), and the relu fuses (fuse_gemm). */
static void test_linear_bn(void **state)
{
    (void)state;
    const char *src = "graph t {\n"
                      "  input x: f32[N, 20]\n"
                      "  fc = Linear(20, 7)\n" BN_PARAMS(7)
                      "  output y = relu(batch_norm(fc(x), s, beta, mu, var))\n"
                      "}\n";
    compiled *ref = compile_src(src, NULL, 0, NULL);
    compiled *c = compile_src(src, NULL, 2, NULL);
    const gc_node *mm = only(c, OP_MATMUL);
    assert_int_equal(count_op(c, OP_BATCH_NORM), 0);
    assert_int_equal(count_op(c, OP_ADD), 0);
    assert_int_equal(mm->n_inputs, 3);
    assert_int_equal(mm->attrs[1].i, 0); /* pre-transposed */
    assert_int_equal(mm->attrs[2].i, OP_ACT_RELU);
    assert_string_equal(out_name(c, mm), "y");
    assert_int_equal(pass_rep(c, "fold_bn")->n_rewrites, 1);
    compare_models(ref->m, c->m, 1e-5, 1);
    compiled_free(ref);
    compiled_free(c);
}

/* layout: a param used by two matmuls with trans_b=1 gets one transposed
 * constant; the param stays while another op still uses it. */
static void test_layout(void **state)
{
    (void)state;
    const char *src = "graph t {\n"
                      "  input x: f32[N, 9]\n"
                      "  param w: f32[9, 9] = normal(seed=1)\n"
                      "  output y = matmul(x, w, trans_b=true), z = matmul(exp(x), w, trans_b=true), v = w * 2\n"
                      "}\n";
    compiled *ref = compile_src(src, NULL, 0, NULL);
    compiled *c = compile_src(src, NULL, 2, "layout,dce2");
    assert_int_equal(pass_rep(c, "layout")->n_rewrites, 2);
    int t_const = -1;
    for (int i = 0; i < c->g->n_nodes; i++) {
        const gc_node *n = c->g->nodes[i];
        if (n->dead || n->op != OP_MATMUL)
            continue;
        assert_int_equal(n->attrs[1].i, 0);
        assert_string_equal(c->g->values[n->inputs[1]]->name, "w.T");
        if (t_const >= 0)
            assert_int_equal(n->inputs[1], t_const);
        t_const = n->inputs[1];
    }
    assert_int_equal(rt_model_n_params(c->m), 1); /* w: still used by v */
    /* transposed once: element [r][c] of w is element [c][r] of w.T */
    const gc_value *w = c->g->values[gc_graph_find(c->g, "w")], *wt = c->g->values[t_const];
    for (int r = 0; r < 9; r++)
        for (int k = 0; k < 9; k++)
            assert_true(((const float *)w->data)[r * 9 + k] == ((const float *)wt->data)[k * 9 + r]);
    compare_models(ref->m, c->m, 1e-5, 2);
    compiled_free(ref);
    compiled_free(c);
}

/* The samples: -O2 against -O0 on 1 and 2 threads, and the rewrites that
 * must have happened. */
static void test_samples(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        int fused_min, bn_folded;
    } s[] = {
        { "samples/lenet.g", 5, 0 },
        { "samples/resnet_block.g", 4, 4 },
        { "samples/mlp.g", 3, 0 },
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        compiled *ref = compile_src(NULL, s[i].path, 0, NULL);
        compiled *c = compile_src(NULL, s[i].path, 2, NULL);
        assert_true(pass_rep(c, "fuse_gemm")->n_rewrites >= s[i].fused_min);
        assert_int_equal(pass_rep(c, "fold_bn")->n_rewrites, s[i].bn_folded);
        assert_int_equal(count_op(c, OP_BATCH_NORM), 0);
        for (int nt = 1; nt <= 2; nt++)
            compare_models(ref->m, c->m, 1e-5, nt);
        compiled_free(ref);
        compiled_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_act_fuses),
        cmocka_unit_test(test_batched_and_wrong_axis),
        cmocka_unit_test(test_no_fusion_across_uses_and_outputs),
        cmocka_unit_test(test_conv_bn_relu),
        cmocka_unit_test(test_conv_two_biases),
        cmocka_unit_test(test_linear_bn),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_samples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
