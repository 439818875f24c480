/* tests/test_gc_autodiff.c -- gradients(y, [x...]) end to end: every op
 * flagged differentiable has a rule (and no other op has one); a finite-
 * difference check of every differentiable op (a tiny graph per op compiled
 * with the library, run through the runtime at x +- h); the two-layer net's
 * gradients against NumPy (tests/gen_autodiff_ref.py) at two batch sizes of
 * one compiled graph; accumulation over a module used twice; the error for
 * an op without gradient on the path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "graphrt.h"
#include "pass.h"
#include "sema.h"
#include "gc_testutil.h"

static double get(const rt_tensor *t, int64_t i)
{
    return t->dtype == RT_F32 ? ((const float *)t->data)[i] : ((const double *)t->data)[i];
}

static void set(rt_tensor *t, int64_t i, double v)
{
    if (t->dtype == RT_F32)
        ((float *)t->data)[i] = (float)v;
    else
        ((double *)t->data)[i] = v;
}

static int64_t numel(const rt_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= t->dims[d];
    return n;
}

/* ------------------------------------------------------------ the rule table */

static void test_rules_match_flags(void **state)
{
    (void)state;
    for (int k = 0; k < OP_COUNT; k++) {
        int flagged = (op_table[k].flags & OPF_DIFFERENTIABLE) != 0;
        if (flagged != (gc_grad_rules[k] != NULL))
            fprintf(stderr, "op %s: differentiable %d, rule %s\n", op_table[k].name, flagged,
                    gc_grad_rules[k] ? "yes" : "no");
        assert_int_equal(flagged, gc_grad_rules[k] != NULL);
    }
    /* spot checks: comparisons and argmax have none, cast (float->float) has one */
    assert_null(gc_grad_rules[OP_ARGMAX]);
    assert_null(gc_grad_rules[OP_GREATER]);
    assert_non_null(gc_grad_rules[OP_CAST]);
    assert_non_null(gc_grad_rules[OP_CONV2D]);
}

/* ------------------------------------------------------------ finite differences */

typedef struct fd_case {
    const char *name;
    const char *inputs;  /* input declarations, one per line: "x: f64[3, 4]" */
    const char *body;    /* statements defining y */
    const char *yshape;  /* "f64[3, 4]": the type of y (and of the weights r) */
    double lo, hi;       /* inputs are drawn from [lo, hi] */
    double avoid;        /* ... at least 0.05 away from +-avoid and 0 when avoid >= 0 */
} fd_case;

#define ANY -1.0

static const fd_case fd_cases[] = {
    { "add", "x: f64[3, 4]\nu: f64[4]", "y = x + u", "f64[3, 4]", -2, 2, ANY },
    { "sub", "x: f64[3, 4]\nu: f64[3, 1]", "y = x - u", "f64[3, 4]", -2, 2, ANY },
    { "mul", "x: f64[2, 3, 4]\nu: f64[3, 1]", "y = x * u", "f64[2, 3, 4]", -2, 2, ANY },
    { "div", "x: f64[3, 4]\nu: f64[1, 4]", "y = x / u", "f64[3, 4]", 0.5, 2, ANY },
    { "pow", "x: f64[3, 4]\nu: f64[3, 4]", "y = x ** u", "f64[3, 4]", 0.5, 2, ANY },
    { "pow_const", "x: f64[3, 4]", "y = x ** 3", "f64[3, 4]", -2, 2, ANY },
    { "minimum", "x: f64[3, 4]\nu: f64[3, 4]", "y = minimum(x, u)", "f64[3, 4]", -2, 2, ANY },
    { "maximum", "x: f64[3, 4]\nu: f64[4]", "y = maximum(x, u)", "f64[3, 4]", -2, 2, ANY },
    { "neg", "x: f64[3, 4]", "y = -x", "f64[3, 4]", -2, 2, ANY },
    { "abs", "x: f64[3, 4]", "y = abs(x)", "f64[3, 4]", -2, 2, 0 },
    { "exp", "x: f64[3, 4]", "y = exp(x)", "f64[3, 4]", -2, 2, ANY },
    { "log", "x: f64[3, 4]", "y = log(x)", "f64[3, 4]", 0.5, 3, ANY },
    { "sqrt", "x: f64[3, 4]", "y = sqrt(x)", "f64[3, 4]", 0.5, 3, ANY },
    { "rsqrt", "x: f64[3, 4]", "y = rsqrt(x)", "f64[3, 4]", 0.5, 3, ANY },
    { "reciprocal", "x: f64[3, 4]", "y = reciprocal(x)", "f64[3, 4]", 0.5, 3, ANY },
    { "tanh", "x: f64[3, 4]", "y = tanh(x)", "f64[3, 4]", -2, 2, ANY },
    { "sigmoid", "x: f64[3, 4]", "y = sigmoid(x)", "f64[3, 4]", -3, 3, ANY },
    { "relu", "x: f64[3, 4]", "y = relu(x)", "f64[3, 4]", -2, 2, 0 },
    { "leaky_relu", "x: f64[3, 4]", "y = leaky_relu(x, 0.1)", "f64[3, 4]", -2, 2, 0 },
    { "gelu", "x: f64[3, 4]", "y = gelu(x)", "f64[3, 4]", -3, 3, ANY },
    { "gelu_tanh", "x: f64[3, 4]", "y = gelu(x, approximate=\"tanh\")", "f64[3, 4]", -3, 3, ANY },
    { "gelu_f32", "x: f32[3, 4]", "y = gelu(x)", "f32[3, 4]", -3, 3, ANY },
    { "erf", "x: f64[3, 4]", "y = erf(x)", "f64[3, 4]", -2, 2, ANY },
    { "clip", "x: f64[3, 4]", "y = clip(x, -0.5, 0.5)", "f64[3, 4]", -1, 1, 0.5 },
    { "identity", "x: f64[3, 4]", "y = identity(x)", "f64[3, 4]", -2, 2, ANY },
    { "dropout", "x: f64[3, 4]", "y = dropout(x, 0.3)", "f64[3, 4]", -2, 2, ANY },
    { "cast", "x: f32[3, 4]", "y = cast(x, \"f64\") * 3", "f64[3, 4]", -2, 2, ANY },
    { "where_mask", "x: f64[3, 4]\nu: f64[4]", "y = where(x > 0, x * x, u)", "f64[3, 4]", -2, 2, 0 },
    { "matmul", "x: f64[3, 4]\nu: f64[4, 5]", "y = x @ u", "f64[3, 5]", -1, 1, ANY },
    { "matmul_tb", "x: f64[3, 4]\nu: f64[5, 4]", "y = matmul(x, u, trans_b=true)", "f64[3, 5]", -1, 1, ANY },
    { "matmul_ta", "x: f64[4, 3]\nu: f64[4, 5]", "y = matmul(x, u, trans_a=true)", "f64[3, 5]", -1, 1, ANY },
    { "matmul_tab", "x: f64[4, 3]\nu: f64[5, 4]", "y = matmul(x, u, trans_a=true, trans_b=true)", "f64[3, 5]",
      -1, 1, ANY },
    { "matmul_batch", "x: f64[2, 3, 4]\nu: f64[4, 5]", "y = x @ u", "f64[2, 3, 5]", -1, 1, ANY },
    { "matmul_bcast", "x: f64[2, 1, 3, 4]\nu: f64[3, 4, 2]", "y = x @ u", "f64[2, 3, 3, 2]", -1, 1, ANY },
    { "linear", "x: f64[3, 4]\nu: f64[5, 4]\nb: f64[5]", "y = linear(x, u, b)", "f64[3, 5]", -1, 1, ANY },
    { "transpose", "x: f64[2, 3, 4]", "y = transpose(x, [1, 2, 0])", "f64[3, 4, 2]", -1, 1, ANY },
    { "T", "x: f64[3, 4]", "y = x.T", "f64[4, 3]", -1, 1, ANY },
    { "reshape", "x: f64[2, 3, 4]", "y = reshape(x, [4, -1])", "f64[4, 6]", -1, 1, ANY },
    { "flatten", "x: f64[2, 3, 4]", "y = flatten(x)", "f64[2, 12]", -1, 1, ANY },
    { "squeeze", "x: f64[3, 1, 4]", "y = squeeze(x, [1])", "f64[3, 4]", -1, 1, ANY },
    { "unsqueeze", "x: f64[3, 4]", "y = unsqueeze(x, [0])", "f64[1, 3, 4]", -1, 1, ANY },
    { "expand", "x: f64[3, 1]", "y = expand(x, [2, 3, 4])", "f64[2, 3, 4]", -1, 1, ANY },
    { "concat", "x: f64[3, 2]\nu: f64[3, 4]", "y = concat([x, u, x], 1)", "f64[3, 8]", -1, 1, ANY },
    { "split", "x: f64[3, 4]", "a, b = split(x, [1, 3], 1)\ny = b * sum(a)", "f64[3, 3]", -1, 1, ANY },
    { "split_unused", "x: f64[3, 4]", "a, b, e = split(x, [1, 2, 1], 1)\ny = b", "f64[3, 2]", -1, 1, ANY },
    { "slice", "x: f64[4, 5]", "y = x[1:3, -4:]", "f64[2, 4]", -1, 1, ANY },
    { "index", "x: f64[4, 5]", "y = x[:, 2]", "f64[4]", -1, 1, ANY },
    { "gather", "x: f64[4, 3]", "const idx: i64[4] = [2, 0, 2, -1]\ny = gather(x, idx, 0)", "f64[4, 3]",
      -1, 1, ANY },
    { "gather_axis1", "x: f64[2, 4]", "const idx: i32[2, 2] = [[1, 1], [3, 0]]\ny = gather(x, idx, 1)",
      "f64[2, 2, 2]", -1, 1, ANY },
    { "pad", "x: f64[3, 4]", "y = pad(x, [1, 0, 2, 1])", "f64[6, 5]", -1, 1, ANY },
    { "sum", "x: f64[3, 4]", "y = sum(x, 1)", "f64[3]", -1, 1, ANY },
    { "sum_keep", "x: f64[2, 3, 4]", "y = sum(x, [0, 2], keepdims=true)", "f64[1, 3, 1]", -1, 1, ANY },
    { "sum_all", "x: f64[2, 3]", "y = sum(x) * x", "f64[2, 3]", -1, 1, ANY },
    { "mean", "x: f64[3, 4]", "y = mean(x, 0)", "f64[4]", -1, 1, ANY },
    { "mean_all", "x: f64[2, 3, 4]", "y = mean(x)", "f64", -1, 1, ANY },
    { "max", "x: f64[3, 4]", "y = max(x, 1)", "f64[3]", -1, 1, ANY },
    { "min", "x: f64[2, 3, 4]", "y = min(x, [0, 2], keepdims=true)", "f64[1, 3, 1]", -1, 1, ANY },
    { "softmax", "x: f64[3, 4]", "y = softmax(x, 1)", "f64[3, 4]", -2, 2, ANY },
    { "log_softmax", "x: f64[3, 4]", "y = log_softmax(x, 0)", "f64[3, 4]", -2, 2, ANY },
    { "conv2d", "x: f32[2, 4, 6, 6]\nu: f32[6, 2, 3, 3]\nb: f32[6]",
      "y = conv2d(x, u, b, stride=2, padding=1, groups=2)", "f32[2, 6, 3, 3]", -1, 1, ANY },
    { "conv2d_dil", "x: f32[1, 3, 7, 7]\nu: f32[4, 3, 2, 3]", "y = conv2d(x, u, stride=[1, 2], padding=[2, 1], dilation=2)",
      "f32[1, 4, 9, 3]", -1, 1, ANY },
    { "conv2d_dw", "x: f32[1, 3, 5, 5]\nu: f32[6, 1, 3, 3]", "y = conv2d(x, u, padding=1, groups=3)",
      "f32[1, 6, 5, 5]", -1, 1, ANY },
    { "max_pool2d", "x: f64[1, 2, 6, 6]", "y = max_pool2d(x, 3, 2, 1)", "f64[1, 2, 3, 3]", -1, 1, ANY },
    { "max_pool2d_f32", "x: f32[2, 1, 5, 5]", "y = max_pool2d(x, 2, ceil_mode=true)", "f32[2, 1, 3, 3]", -1, 1, ANY },
    { "avg_pool2d", "x: f64[1, 2, 6, 6]", "y = avg_pool2d(x, 3, 2, 1)", "f64[1, 2, 3, 3]", -1, 1, ANY },
    { "avg_pool2d_nopad", "x: f64[1, 2, 5, 5]", "y = avg_pool2d(x, 3, 2, 1, ceil_mode=true, count_include_pad=false)",
      "f64[1, 2, 3, 3]", -1, 1, ANY },
    { "global_avg_pool", "x: f64[2, 3, 4, 4]", "y = global_avg_pool(x)", "f64[2, 3, 1, 1]", -1, 1, ANY },
    { "batch_norm", "x: f64[2, 3, 2, 2]\ns: f64[3]\nb: f64[3]\nm: f64[3]\nv: f64[3]",
      "y = batch_norm(x, s, b, m, v, 0.01)", "f64[2, 3, 2, 2]", 0.5, 2, ANY },
    { "layer_norm", "x: f64[3, 4]\ns: f64[4]\nb: f64[4]", "y = layer_norm(x, s, b)", "f64[3, 4]", -2, 2, ANY },
    { "layer_norm_ax", "x: f64[2, 3, 4]", "y = layer_norm(x, axis=1)", "f64[2, 3, 4]", -2, 2, ANY },
    { "reshape_as", "x: f64[3, 4]\nu: f64[2, 6]", "y = reshape_as(x, u)", "f64[2, 6]", -1, 1, ANY },
    { "expand_as", "x: f64[4]\nu: f64[3, 4]", "y = expand_as(x, u) * u", "f64[3, 4]", -1, 1, ANY },
    { "sum_to", "x: f64[2, 3, 4]\nu: f64[3, 1]", "y = sum_to(x, u)", "f64[3, 1]", -1, 1, ANY },
    { "softmax_cross_entropy", "x: f64[4, 5]", "const lab: i64[4] = [1, 0, 4, 1]\ny = softmax_cross_entropy(x, lab)",
      "f64", -3, 3, ANY },
    { "sce_sum_i32", "x: f64[3, 4]", "const lab: i32[3] = [3, 0, 2]\ny = softmax_cross_entropy(x, lab, reduction=\"sum\")",
      "f64", -3, 3, ANY },
    { "sce_none", "x: f64[3, 4]", "const lab: i64[3] = [2, 2, 0]\ny = cross_entropy(x, lab, \"none\")", "f64[3]",
      -3, 3, ANY },
    { "sce_f32", "x: f32[3, 4]", "const lab: i64[3] = [1, 3, 0]\ny = softmax_cross_entropy(x, lab) * 3", "f32",
      -3, 3, ANY },
    { "bce_with_logits", "x: f64[3, 4]\nu: f64[3, 4]", "y = binary_cross_entropy_with_logits(x, u)", "f64", -3, 3, ANY },
    { "bce_none", "x: f64[2, 3]\nu: f64[2, 3]", "y = binary_cross_entropy_with_logits(x, u, \"none\")", "f64[2, 3]",
      -3, 3, ANY },
    { "bce_sum", "x: f64[5]\nu: f64[5]", "y = binary_cross_entropy_with_logits(x, u, reduction=\"sum\")", "f64",
      -3, 3, ANY },
    { "mse_loss", "x: f64[3, 4]\nu: f64[3, 4]", "y = mse_loss(x, u)", "f64", -2, 2, ANY },
    { "mse_none", "x: f64[2, 3]\nu: f64[2, 3]", "y = mse_loss(x, u, \"none\")", "f64[2, 3]", -2, 2, ANY },
    { "mse_sum", "x: f64[2, 3]\nu: f64[2, 3]", "y = mse_loss(x, u, reduction=\"sum\")", "f64", -2, 2, ANY },
    { "chain", "x: f64[3, 4]\nu: f64[4, 4]", "h = tanh(x @ u)\ny = h * x + sigmoid(h @ u) / (1 + x * x)",
      "f64[3, 4]", -1, 1, ANY },
};

static unsigned long long rng_state = 88172645463325252ull;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double draw(const fd_case *c)
{
    for (;;) {
        double v = c->lo + (c->hi - c->lo) * urand();
        if (c->avoid < 0 || (fabs(v) > 0.05 && fabs(fabs(v) - c->avoid) > 0.05))
            return v;
    }
}

static double run_loss(rt_session *s, int n, const char **names, const rt_tensor *feeds)
{
    const char *fetch[1] = { "loss" };
    rt_tensor out;
    rt_status st = rt_session_run(s, n, names, feeds, 1, fetch, &out);
    if (st != RT_OK)
        fprintf(stderr, "%s\n", rt_session_last_error(s));
    assert_int_equal(st, RT_OK);
    return get(&out, 0);
}

/* Compiles y = <case>, loss = sum(y * r), the gradients of loss w.r.t. every
 * input, and compares them with central differences at each element. */
static void fd_check(const fd_case *c)
{
    char names[8][16];
    int n_x = 0;
    char src[4096];
    size_t used = (size_t)snprintf(src, sizeof src, "graph t {\n");
    const char *p = c->inputs;
    while (*p && n_x < 8) {
        const char *nl = strchr(p, '\n'), *colon = strchr(p, ':');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(names[n_x], sizeof names[n_x], "%.*s", (int)(colon - p), p);
        used += (size_t)snprintf(src + used, sizeof src - used, "  input %.*s\n", (int)len, p);
        n_x++;
        p += len + (nl ? 1 : 0);
    }
    used += (size_t)snprintf(src + used, sizeof src - used, "  input r: %s\n  %s\n  loss = sum(y * r)\n  ", c->yshape,
                             c->body);
    for (int i = 0; i < n_x; i++)
        used += (size_t)snprintf(src + used, sizeof src - used, "%sg%d", i ? ", " : "", i);
    used += (size_t)snprintf(src + used, sizeof src - used, " = gradients(loss, %s", n_x > 1 ? "[" : "");
    for (int i = 0; i < n_x; i++)
        used += (size_t)snprintf(src + used, sizeof src - used, "%s%s", i ? ", " : "", names[i]);
    used += (size_t)snprintf(src + used, sizeof src - used, "%s)\n  output loss", n_x > 1 ? "]" : "");
    for (int i = 0; i < n_x; i++)
        used += (size_t)snprintf(src + used, sizeof src - used, ", g%d", i);
    snprintf(src + used, sizeof src - used, "\n}\n");

    rt_model *m = gct_compile_text("fd.g", src, 0, NULL);
    if (!m)
        fprintf(stderr, "case %s:\n%s", c->name, src);
    assert_non_null(m);
    int n_in = rt_model_n_inputs(m);
    assert_int_equal(n_in, n_x + 1);
    const char *feed_names[9];
    rt_tensor feeds[9];
    int is32 = 0;
    for (int i = 0; i < n_in; i++) {
        rt_value_info info;
        assert_int_equal(rt_model_input(m, i, &info), RT_OK);
        feed_names[i] = info.name;
        memset(&feeds[i], 0, sizeof feeds[i]);
        feeds[i].dtype = info.dtype;
        feeds[i].rank = info.rank;
        memcpy(feeds[i].dims, info.dims, sizeof info.dims);
        int64_t k = numel(&feeds[i]);
        feeds[i].data = calloc((size_t)k + 1, 8);
        int is_r = strcmp(info.name, "r") == 0;
        for (int64_t e = 0; e < k; e++)
            set(&feeds[i], e, is_r ? 2 * urand() - 1 : draw(c));
        is32 |= !is_r && info.dtype == RT_F32;
    }
    rt_session_options o = rt_session_options_default();
    o.n_threads = 2;
    rt_session *s = NULL;
    char err[512];
    assert_int_equal(rt_session_create(m, &o, &s, err, sizeof err), RT_OK);
    const double h = is32 ? 1e-2 : 1e-6, tol = is32 ? 1e-2 : 1e-6;
    int checked = 0;
    for (int i = 0; i < n_in; i++) {
        if (strcmp(feed_names[i], "r") == 0)
            continue;
        int gi = -1;
        for (int j = 0; j < n_x; j++)
            if (strcmp(names[j], feed_names[i]) == 0)
                gi = j;
        assert_true(gi >= 0);
        char gname[16];
        snprintf(gname, sizeof gname, "g%d", gi);
        const char *fetch[1] = { gname };
        rt_tensor gt;
        rt_status st = rt_session_run(s, n_in, feed_names, feeds, 1, fetch, &gt);
        if (st != RT_OK)
            fprintf(stderr, "case %s: %s\n", c->name, rt_session_last_error(s));
        assert_int_equal(st, RT_OK);
        assert_int_equal(gt.rank, feeds[i].rank);
        for (int d = 0; d < gt.rank; d++)
            assert_int_equal(gt.dims[d], feeds[i].dims[d]);
        int64_t k = numel(&gt);
        double *ana = malloc(sizeof(double) * (size_t)(k + 1));
        for (int64_t e = 0; e < k; e++)
            ana[e] = get(&gt, e);
        for (int64_t e = 0; e < k; e++) {
            double x0 = get(&feeds[i], e);
            set(&feeds[i], e, x0 + h);
            double lp = run_loss(s, n_in, feed_names, feeds);
            set(&feeds[i], e, x0 - h);
            double lm = run_loss(s, n_in, feed_names, feeds);
            set(&feeds[i], e, x0);
            double num = (lp - lm) / (2 * h);
            double scale = 1 + fmax(fabs(num), fabs(ana[e]));
            if (!(fabs(num - ana[e]) <= tol * scale)) {
                fprintf(stderr, "case %s: d loss / d %s[%lld]: gradient %.10g, finite difference %.10g\n",
                        c->name, feed_names[i], (long long)e, ana[e], num);
                fail();
            }
            checked++;
        }
        free(ana);
    }
    assert_true(checked > 0);
    rt_session_free(s);
    for (int i = 0; i < n_in; i++)
        free(feeds[i].data);
    rt_model_free(m);
}

static void test_finite_differences(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fd_cases / sizeof fd_cases[0]; i++)
        fd_check(&fd_cases[i]);
}

/* Every op flagged differentiable appears in some finite-difference case
 * (by its name in the case's body), so a new op cannot skip the check. */
static void test_every_op_checked(void **state)
{
    (void)state;
    static const char *const implicit[][2] = { /* op: spelled in the cases as */
        { "add", "+" }, { "sub", "-" }, { "mul", "*" }, { "div", "/" }, { "pow", "**" }, { "neg", "-x" },
        { "matmul", "@" }, { "transpose", ".T" }, { "slice", "[" }, { "squeeze", "x[:, 2]" },
    };
    for (int k = 0; k < OP_COUNT; k++) {
        if (!(op_table[k].flags & OPF_DIFFERENTIABLE))
            continue;
        const char *spell = op_table[k].name;
        for (size_t j = 0; j < sizeof implicit / sizeof implicit[0]; j++)
            if (strcmp(implicit[j][0], spell) == 0)
                spell = implicit[j][1];
        int found = 0;
        for (size_t i = 0; i < sizeof fd_cases / sizeof fd_cases[0] && !found; i++)
            found = strstr(fd_cases[i].body, spell) != NULL;
        if (!found)
            fprintf(stderr, "op %s has no finite-difference case\n", op_table[k].name);
        assert_true(found);
    }
}

/* ------------------------------------------------------------ two-layer net */

static rt_tensor load_npy(const char *name)
{
    char path[256], err[256];
    snprintf(path, sizeof path, "tests/data/autodiff/%s.npy", name);
    rt_tensor t;
    rt_status st = rt_npy_load(path, &t, err, sizeof err);
    if (st != RT_OK)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(st, RT_OK);
    return t;
}

/* One compiled graph, run at N = 5 and N = 3: loss and both gradients of
 * the sum and the mean (a run-time element count) against NumPy. */
static void check_two_layer(int level)
{
    rt_model *m = gct_compile_file("tests/data/autodiff/two_layer_grad.g", level);
    rt_tensor x = load_npy("x"), y = load_npy("y");
    rt_session_options o = rt_session_options_default();
    o.n_threads = 2;
    rt_session *s = NULL;
    char err[512];
    assert_int_equal(rt_session_create(m, &o, &s, err, sizeof err), RT_OK);
    static const char *const outs[] = { "loss", "gw1", "gw2", "mw1", "mw2" };
    for (int rep = 0; rep < 2; rep++) {
        int n = rep == 0 ? 5 : 3;
        rt_tensor xf = x, yf = y;
        xf.dims[0] = yf.dims[0] = n;
        const char *feed_names[2] = { "x", "y" };
        rt_tensor feeds[2] = { xf, yf }, got[5];
        rt_status st = rt_session_run(s, 2, feed_names, feeds, 5, (const char *const *)outs, got);
        if (st != RT_OK)
            fprintf(stderr, "%s\n", rt_session_last_error(s));
        assert_int_equal(st, RT_OK);
        for (int k = 0; k < 5; k++) {
            char name[64];
            snprintf(name, sizeof name, "n%d_%s", n, outs[k]);
            rt_tensor e = load_npy(name);
            assert_int_equal(got[k].rank, e.rank);
            for (int d = 0; d < e.rank; d++)
                assert_int_equal(got[k].dims[d], e.dims[d]);
            double scale = 0;
            for (int64_t i = 0; i < numel(&e); i++)
                scale = fmax(scale, fabs(get(&e, i)));
            for (int64_t i = 0; i < numel(&e); i++) {
                double a = get(&got[k], i), b = get(&e, i);
                if (!(fabs(a - b) <= 1e-5 * fabs(b) + 1e-6 * scale)) {
                    fprintf(stderr, "-O%d N=%d %s[%lld] = %.9g, NumPy %.9g\n", level, n, outs[k], (long long)i, a, b);
                    fail();
                }
            }
            free(e.data);
        }
    }
    rt_session_free(s);
    free(x.data);
    free(y.data);
    rt_model_free(m);
}

static void test_two_layer_net(void **state)
{
    (void)state;
    check_two_layer(0);
    check_two_layer(2);
}

/* ------------------------------------------------------------ accumulation */

/* A module instance called twice: its weight gets the sum of both uses'
 * gradients. y = tanh(tanh(x @ w) @ w); d sum(y) / dw computed here. */
static void test_module_used_twice(void **state)
{
    (void)state;
    const char *src =
        "module Layer(n) {\n"
        "  param w: f64[n, n] = normal(std=0.7, seed=5)\n"
        "  forward(x) { return tanh(x @ w) }\n"
        "}\n"
        "graph t {\n"
        "  input x: f64[N, 2]\n"
        "  layer = Layer(2)\n"
        "  y = layer(layer(x))\n"
        "  g = gradients(y, layer.w)\n"
        "  output y, g\n"
        "}\n";
    rt_model *m = gct_compile_text("twice.g", src, 1, NULL);
    assert_non_null(m);
    assert_int_equal(rt_model_n_params(m), 1);
    rt_tensor wt;
    assert_int_equal(rt_model_param_data(m, 0, &wt), RT_OK);
    const double *w = wt.data;
    double x[3][2] = { { 0.3, -1.2 }, { 0.8, 0.5 }, { -0.4, 0.1 } };
    double want[2][2] = { { 0 } }, one_use[2][2] = { { 0 } };
    for (int r = 0; r < 3; r++) {
        double h[2], z[2], d2[2], d1[2];
        for (int j = 0; j < 2; j++)
            h[j] = tanh(x[r][0] * w[j] + x[r][1] * w[2 + j]);
        for (int j = 0; j < 2; j++) {
            z[j] = tanh(h[0] * w[j] + h[1] * w[2 + j]);
            d2[j] = 1 - z[j] * z[j]; /* d y / d (h @ w) */
        }
        for (int i = 0; i < 2; i++)
            d1[i] = (d2[0] * w[i * 2] + d2[1] * w[i * 2 + 1]) * (1 - h[i] * h[i]);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                want[i][j] += h[i] * d2[j] + x[r][i] * d1[j];
                one_use[i][j] += h[i] * d2[j];
            }
    }
    rt_session *s = NULL;
    char err[512];
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    rt_tensor feed = { .dtype = RT_F64, .rank = 2, .dims = { 3, 2 }, .data = x }, g;
    const char *fn[1] = { "x" }, *fe[1] = { "g" };
    assert_int_equal(rt_session_run(s, 1, fn, &feed, 1, fe, &g), RT_OK);
    assert_int_equal(g.rank, 2);
    for (int i = 0; i < 4; i++) {
        assert_true(fabs(get(&g, i) - want[i / 2][i % 2]) < 1e-12);
        assert_true(fabs(get(&g, i) - one_use[i / 2][i % 2]) > 1e-6); /* both uses counted */
    }
    rt_session_free(s);
    rt_model_free(m);
}

/* x that does not influence y: zeros of x's shape; y itself: ones. */
static void test_unrelated_and_self(void **state)
{
    (void)state;
    const char *src =
        "graph t {\n"
        "  input x: f32[N, 3]\n"
        "  input z: f32[2]\n"
        "  y = x * 2\n"
        "  gz, gy = gradients(y, [z, y])\n"
        "  output gz, gy\n"
        "}\n";
    rt_model *m = gct_compile_text("self.g", src, 2, NULL);
    assert_non_null(m);
    rt_session *s = NULL;
    char err[512];
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    float xv[12] = { 1 }, zv[2] = { 5, 6 };
    rt_tensor feeds[2] = { { .dtype = RT_F32, .rank = 2, .dims = { 4, 3 }, .data = xv },
                           { .dtype = RT_F32, .rank = 1, .dims = { 2 }, .data = zv } }, got[2];
    const char *fn[2] = { "x", "z" }, *fe[2] = { "gz", "gy" };
    assert_int_equal(rt_session_run(s, 2, fn, feeds, 2, fe, got), RT_OK);
    assert_int_equal(got[0].rank, 1);
    assert_int_equal(got[0].dims[0], 2);
    assert_true(get(&got[0], 0) == 0 && get(&got[0], 1) == 0);
    assert_int_equal(got[1].dims[0], 4);
    for (int i = 0; i < 12; i++)
        assert_true(get(&got[1], i) == 1.0);
    rt_session_free(s);
    rt_model_free(m);
}

/* ------------------------------------------------------------ errors */

static void expect_error(const char *src, const char *want)
{
    char *diag = NULL;
    rt_model *m = gct_compile_text("bad.g", src, 0, &diag);
    assert_null(m);
    assert_non_null(diag);
    if (!strstr(diag, want))
        fprintf(stderr, "expected:\n%s\ngot:\n%s", want, diag);
    assert_non_null(strstr(diag, want));
    free(diag);
}

static void test_no_gradient_error(void **state)
{
    (void)state;
    expect_error("graph t {\n"
                 "  input x: f32[N, 4]\n"
                 "  param w: f32[4, 3] = ones()\n"
                 "  z = x @ w\n"
                 "  i = argmax(z, 1)\n"
                 "  loss = sum(gather(w, i, 0))\n"
                 "  g = gradients(loss, w)\n"
                 "  output g\n"
                 "}\n",
                 "bad.g:7:7: error: gradients: op 'argmax' (at bad.g:5:7) has no gradient\n"
                 "    g = gradients(loss, w)\n"
                 "        ^\n"
                 "bad.g:5:7: note: 'argmax' is on the path from the differentiated values to 'loss'\n"
                 "    i = argmax(z, 1)\n"
                 "        ^\n");
    expect_error("graph t {\n"
                 "  input x: f32[N, 4]\n"
                 "  input k: i64[N]\n"
                 "  g = gradients(sum(x), k)\n"
                 "  output g\n"
                 "}\n",
                 "bad.g:4:7: error: gradients: 'k' is i64: only f32 and f64 tensors have gradients");
    expect_error("graph t {\n"
                 "  input x: f32[N, 4]\n"
                 "  g = gradients(x, 3)\n"
                 "  output g\n"
                 "}\n",
                 "gradients takes (y, [x1, x2, ...]) or (y, x) with tensors y and x");
    expect_error("graph t {\n"
                 "  input x: f32[4, 4]\n"
                 "  g = gradients(sum(x[::2]), x)\n"
                 "  output g\n"
                 "}\n",
                 "gradients: op 'slice' (at bad.g:3:21): slices with step 2 have no gradient yet");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_match_flags),
        cmocka_unit_test(test_every_op_checked),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_two_layer_net),
        cmocka_unit_test(test_module_used_twice),
        cmocka_unit_test(test_unrelated_and_self),
        cmocka_unit_test(test_no_gradient_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
