/* tests/test_gc_train.c -- `train LOSS with OPT(...)` end to end: the two-
 * layer net compiled with the library, trained through the runtime's entry
 * points, against a NumPy implementation of PyTorch's optimizers
 * (tests/gen_train_ref.py, data in tests/data/train/): 100 SGD steps, then a
 * few steps of momentum, nesterov + weight decay, Adam and AdamW; the grad /
 * apply accumulate pattern against train steps; frozen params; identical
 * losses for identical runs; lr as a feed; compile and load errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.pb-c.h"
#include "graphrt.h"
#include "pass.h"
#include "sema.h"
#include "gc_testutil.h"

#define DATA "tests/data/train/"

#include "alloc_count.h" /* n_allocs; linked with --wrap (Makefile) */

/* Source text compiled as if it were DATA "net.g" (so load("w1.npy") finds
 * the data; gct_compile_text). */
static rt_model *compile_text(const char *src, int level, char **diag)
{
    return gct_compile_text(DATA "net.g", src, level, diag);
}

/* The two-layer net with `train loss with <opt>`; w2 frozen when asked;
 * outputs w1_now, w2_now read the params back. */
static char *net_src(const char *opt, int frozen_w2, int lr_input)
{
    static char buf[2048];
    snprintf(buf, sizeof buf,
             "graph two_layer_net {\n"
             "  input x: f32[N, 100]\n"
             "  input y: f32[N, 10]\n"
             "%s"
             "  param w1: f32[100, 30] = load(\"w1.npy\")\n"
             "  param w2: f32[30, 10] = load(\"w2.npy\")%s\n"
             "  h = relu(x @ w1)\n"
             "  y_pred = h @ w2\n"
             "  loss = sum((y_pred - y) ** 2)\n"
             "  output y_pred, loss\n"
             "  output w1_now = w1, w2_now = w2\n"
             "  train loss with %s\n"
             "}\n",
             lr_input ? "  input lr: f32\n" : "", frozen_w2 ? " frozen" : "", opt);
    return buf;
}

typedef struct data {
    rt_tensor x, y;
} data;

static void load_npy(const char *name, rt_tensor *t)
{
    char path[256], err[256];
    snprintf(path, sizeof path, DATA "%s", name);
    rt_status st = rt_npy_load(path, t, err, sizeof err);
    if (st != RT_OK)
        fail_msg("%s: %s", path, err);
}

static data load_data(void)
{
    data d;
    load_npy("x.npy", &d.x);
    load_npy("y.npy", &d.y);
    return d;
}

static void free_data(data *d)
{
    free(d->x.data);
    free(d->y.data);
}

/* rows [r0, r1) of t, a view */
static rt_tensor rows(const rt_tensor *t, int64_t r0, int64_t r1)
{
    rt_tensor v = *t;
    int64_t row = 1;
    for (int i = 1; i < t->rank; i++)
        row *= t->dims[i];
    v.dims[0] = r1 - r0;
    v.data = (float *)t->data + r0 * row;
    return v;
}

/* One run of entry e on (x, y) rows [r0, r1) (and lr when lr >= 0); returns
 * the loss (NAN for apply). */
static float run_entry(rt_session *s, const char *e, const data *d, int64_t r0, int64_t r1, float lr)
{
    const char *names[3] = { "x", "y", "lr" };
    rt_tensor feeds[3] = { rows(&d->x, r0, r1), rows(&d->y, r0, r1) };
    feeds[2] = (rt_tensor){ .dtype = RT_F32, .rank = 0, .data = &lr };
    int nf = lr >= 0 ? 3 : 2;
    rt_tensor out;
    int want = strcmp(e, "apply") ? 1 : 0;
    rt_status st = rt_session_run_entry(s, e, nf, names, feeds, 0, NULL, &out);
    if (st != RT_OK)
        fail_msg("%s: %s", e, rt_session_last_error(s));
    if (!want)
        return NAN;
    assert_int_equal(out.dtype, RT_F32);
    assert_int_equal(out.rank, 0);
    return *(float *)out.data;
}

/* copies param `name` (fetched through the output <name>_now) into out */
static void read_param(rt_session *s, const data *d, const char *name, float *out, size_t n)
{
    char fetch[64];
    snprintf(fetch, sizeof fetch, "%s_now", name);
    const char *names[2] = { "x", "y" };
    rt_tensor feeds[2] = { d->x, d->y };
    const char *fn[1] = { fetch };
    rt_tensor t;
    rt_status st = rt_session_run(s, 2, names, feeds, 1, fn, &t);
    if (st != RT_OK)
        fail_msg("%s", rt_session_last_error(s));
    int64_t numel = 1;
    for (int i = 0; i < t.rank; i++)
        numel *= t.dims[i];
    assert_int_equal(numel, (int64_t)n);
    memcpy(out, t.data, n * sizeof(float));
}

/* |got - want| <= tol * (|want| + mean |want|) everywhere; returns the
 * largest |want - init| (how far training moved the weights) */
static double check_close(const char *what, const float *got, const float *want, const float *init, size_t n,
                          double tol)
{
    double mean = 0, moved = 0;
    for (size_t i = 0; i < n; i++)
        mean += fabs(want[i]);
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        if (!(err <= tol * (fabs(want[i]) + mean)))
            fail_msg("%s[%zu]: got %.9g, want %.9g (err %.3g, tol %.3g)", what, i, got[i], want[i], err,
                     tol * (fabs(want[i]) + mean));
        if (init && fabs((double)want[i] - init[i]) > moved)
            moved = fabs((double)want[i] - init[i]);
    }
    return moved / mean;
}

/* Trains with `opt` for the reference's number of steps and compares the
 * weights (and losses) with <ref>_*.npy. */
static void check_against_ref(const char *opt, const char *ref, int level)
{
    rt_model *m = compile_text(net_src(opt, 0, 0), level, NULL);
    assert_non_null(m);
    rt_session *s;
    char err[256];
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    data d = load_data();
    char name[64];
    rt_tensor losses, w1r, w2r, w1i, w2i;
    snprintf(name, sizeof name, "%s_loss.npy", ref);
    load_npy(name, &losses);
    snprintf(name, sizeof name, "%s_w1.npy", ref);
    load_npy(name, &w1r);
    snprintf(name, sizeof name, "%s_w2.npy", ref);
    load_npy(name, &w2r);
    load_npy("w1.npy", &w1i);
    load_npy("w2.npy", &w2i);
    int steps = (int)losses.dims[0];
    float *want_loss = losses.data;
    for (int i = 0; i < steps; i++) {
        float l = run_entry(s, "train", &d, 0, 32, -1);
        if (!(fabs(l - want_loss[i]) <= 1e-5 * fabs(want_loss[i])))
            fail_msg("%s step %d: loss %.9g, want %.9g", opt, i, l, want_loss[i]);
    }
    float w1[3000], w2[300];
    read_param(s, &d, "w1", w1, 3000);
    read_param(s, &d, "w2", w2, 300);
    double moved1 = check_close("w1", w1, w1r.data, w1i.data, 3000, 1e-5);
    double moved2 = check_close("w2", w2, w2r.data, w2i.data, 300, 1e-5);
    /* the updates are far larger than the tolerance: a wrong one fails */
    assert_true(moved1 > 1e-3 && moved2 > 1e-3);
    free(losses.data);
    free(w1r.data);
    free(w2r.data);
    free(w1i.data);
    free(w2i.data);
    free_data(&d);
    rt_session_free(s);
    rt_model_free(m);
}

static void test_sgd_100_steps(void **st)
{
    (void)st;
    check_against_ref("sgd(lr=1e-5)", "sgd", 2);
    check_against_ref("sgd(1e-5)", "sgd", 0);
}

static void test_momentum_nesterov(void **st)
{
    (void)st;
    check_against_ref("sgd(lr=1e-5, momentum=0.9)", "momentum", 2);
    check_against_ref("sgd(lr=1e-5, momentum=0.9, nesterov=true, weight_decay=0.01)", "nesterov", 2);
}

static void test_adam_adamw(void **st)
{
    (void)st;
    check_against_ref("adam(lr=1e-3)", "adam", 2);
    check_against_ref("adam(lr=1e-3)", "adam", 0);
    check_against_ref("adamw(lr=1e-3, weight_decay=0.1)", "adamw", 2);
}

/* grad on two halves + apply equals train on the whole batch (sum loss,
 * sgd with momentum), twice: the accumulators were zeroed by apply. */
static void test_grad_apply(void **st)
{
    (void)st;
    const char *src = net_src("sgd(lr=1e-5, momentum=0.9)", 0, 0);
    rt_model *m = compile_text(src, 2, NULL);
    assert_non_null(m);
    assert_int_equal(rt_model_n_entries(m), 4);
    const char *want[4] = { "predict", "train", "grad", "apply" };
    for (int i = 0; i < 4; i++)
        assert_string_equal(rt_model_entry_name(m, i), want[i]);
    assert_null(rt_model_entry_name(m, 4));
    assert_int_equal(rt_model_entry_n_fetches(m, "train"), 1);
    assert_int_equal(rt_model_entry_n_fetches(m, "grad"), 1);
    assert_int_equal(rt_model_entry_n_fetches(m, "apply"), 0);
    assert_int_equal(rt_model_entry_n_fetches(m, "predict"), 4);
    rt_session *a, *b;
    char err[256];
    assert_int_equal(rt_session_create(m, NULL, &a, err, sizeof err), RT_OK);
    assert_int_equal(rt_session_create(m, NULL, &b, err, sizeof err), RT_OK);
    data d = load_data();
    for (int rep = 0; rep < 2; rep++) {
        float lt = run_entry(a, "train", &d, 0, 32, -1);
        float l0 = run_entry(b, "grad", &d, 0, 16, -1);
        float l1 = run_entry(b, "grad", &d, 16, 32, -1);
        run_entry(b, "apply", &d, 0, 0, -1);
        assert_true(fabs((double)l0 + l1 - lt) <= 1e-5 * fabs(lt));
    }
    float wa[3000], wb[3000];
    read_param(a, &d, "w1", wa, 3000);
    read_param(b, &d, "w1", wb, 3000);
    check_close("w1 (grad/apply)", wb, wa, NULL, 3000, 1e-5);
    read_param(a, &d, "w2", wa, 300);
    read_param(b, &d, "w2", wb, 300);
    check_close("w2 (grad/apply)", wb, wa, NULL, 300, 1e-5);
    /* unknown entry: an error naming the ones there are */
    rt_tensor out;
    assert_int_equal(rt_session_run_entry(a, "nope", 0, NULL, NULL, 0, NULL, &out), RT_ERR_ARG);
    assert_non_null(strstr(rt_session_last_error(a), "predict, train, grad, apply"));
    /* train without its feeds */
    assert_int_equal(rt_session_run_entry(a, "train", 0, NULL, NULL, 0, NULL, &out), RT_ERR_ARG);
    assert_non_null(strstr(rt_session_last_error(a), "entry 'train'"));
    free_data(&d);
    rt_session_free(a);
    rt_session_free(b);
    rt_model_free(m);
}

static void test_frozen(void **st)
{
    (void)st;
    rt_model *m = compile_text(net_src("adam(lr=1e-2)", 1, 0), 2, NULL);
    assert_non_null(m);
    rt_session *s;
    char err[256];
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    data d = load_data();
    rt_tensor w1i, w2i;
    load_npy("w1.npy", &w1i);
    load_npy("w2.npy", &w2i);
    float l0 = run_entry(s, "train", &d, 0, 32, -1), l = l0;
    for (int i = 0; i < 10; i++)
        l = run_entry(s, "train", &d, 0, 32, -1);
    assert_true(l < l0);
    float w1[3000], w2[300];
    read_param(s, &d, "w1", w1, 3000);
    read_param(s, &d, "w2", w2, 300);
    assert_memory_equal(w2, w2i.data, sizeof w2);
    assert_memory_not_equal(w1, w1i.data, sizeof w1);
    /* no optimizer state for the frozen param */
    rt_value_info info;
    for (int i = 0; i < rt_model_n_params(m); i++) {
        assert_int_equal(rt_model_param(m, i, &info), RT_OK);
        assert_null(strstr(info.name, "w2."));
    }
    free(w1i.data);
    free(w2i.data);
    free_data(&d);
    rt_session_free(s);
    rt_model_free(m);
}

/* two sessions, same binary, same data: bit-identical losses */
static void test_deterministic(void **st)
{
    (void)st;
    rt_model *m = compile_text(net_src("adam(lr=1e-3)", 0, 0), 2, NULL);
    assert_non_null(m);
    data d = load_data();
    float losses[2][20];
    for (int r = 0; r < 2; r++) {
        rt_session *s;
        char err[256];
        rt_session_options o = rt_session_options_default();
        o.n_threads = 2;
        assert_int_equal(rt_session_create(m, &o, &s, err, sizeof err), RT_OK);
        for (int i = 0; i < 20; i++)
            losses[r][i] = run_entry(s, "train", &d, (i % 4) * 8, (i % 4) * 8 + 8, -1);
        rt_session_free(s);
    }
    assert_memory_equal(losses[0], losses[1], sizeof losses[0]);
    free_data(&d);
    rt_model_free(m);
}

/* Training steps at batch sizes already seen allocate nothing: train, grad,
 * apply and predict alternating, two batch sizes (as graphrun train does
 * with its evaluation batches). */
static void test_entries_allocate_nothing(void **st)
{
    (void)st;
    rt_model *m = compile_text(net_src("adam(lr=1e-3)", 0, 0), 2, NULL);
    assert_non_null(m);
    data d = load_data();
    rt_session *s;
    char err[256];
    long c0 = n_allocs;
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    assert_true(n_allocs > c0); /* the counter sees the runtime */
    static const char *const entries[4] = { "train", "grad", "apply", "predict" };
    for (int round = 0; round < 2; round++) {
        long before = n_allocs;
        for (int i = 0; i < 8; i++) {
            int64_t r0 = (i % 2) * 8, r1 = r0 + (i % 2 ? 8 : 5);
            const char *e = entries[i % 4];
            if (strcmp(e, "predict") == 0) {
                const char *names[2] = { "x", "y" };
                rt_tensor feeds[2] = { rows(&d.x, r0, r1), rows(&d.y, r0, r1) };
                const char *fn[1] = { "y_pred" };
                rt_tensor out;
                assert_int_equal(rt_session_run_entry(s, e, 2, names, feeds, 1, fn, &out), RT_OK);
                assert_int_equal(out.dims[0], r1 - r0);
            } else {
                run_entry(s, e, &d, r0, r1, -1);
            }
        }
        /* round 0 sees every (entry, size) once; round 1 must not allocate */
        if (round == 1)
            assert_int_equal(n_allocs - before, 0);
    }
    rt_session_free(s);
    free_data(&d);
    rt_model_free(m);
}

/* lr as a feed: the same result as the constant, and lr = 0 changes nothing */
static void test_lr_feed(void **st)
{
    (void)st;
    rt_model *m = compile_text(net_src("sgd(lr, momentum=0.5)", 0, 1), 2, NULL);
    assert_non_null(m);
    rt_model *mc = compile_text(net_src("sgd(lr=1e-5, momentum=0.5)", 0, 0), 2, NULL);
    assert_non_null(mc);
    rt_session *s, *sc;
    char err[256];
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    assert_int_equal(rt_session_create(mc, NULL, &sc, err, sizeof err), RT_OK);
    data d = load_data();
    rt_tensor w1i;
    load_npy("w1.npy", &w1i);
    float w1[3000], w1c[3000];
    run_entry(s, "train", &d, 0, 32, 0.0f);
    read_param(s, &d, "w1", w1, 3000);
    assert_memory_equal(w1, w1i.data, sizeof w1);
    rt_session_free(s);
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    for (int i = 0; i < 3; i++) {
        float l = run_entry(s, "train", &d, 0, 32, 1e-5f);
        float lc = run_entry(sc, "train", &d, 0, 32, -1);
        assert_true(fabs((double)l - lc) <= 1e-6 * fabs(lc));
    }
    read_param(s, &d, "w1", w1, 3000);
    read_param(sc, &d, "w1", w1c, 3000);
    check_close("w1 (lr feed)", w1, w1c, NULL, 3000, 1e-6);
    assert_memory_not_equal(w1, w1i.data, sizeof w1);
    /* the train entry needs the lr feed */
    const char *names[2] = { "x", "y" };
    rt_tensor feeds[2] = { d.x, d.y }, out;
    assert_int_equal(rt_session_run_entry(s, "train", 2, names, feeds, 0, NULL, &out), RT_ERR_ARG);
    assert_non_null(strstr(rt_session_last_error(s), "'lr'"));
    free(w1i.data);
    free_data(&d);
    rt_session_free(s);
    rt_session_free(sc);
    rt_model_free(m);
    rt_model_free(mc);
}

static void expect_error(const char *src, const char *msg)
{
    char *diag = NULL;
    rt_model *m = compile_text(src, 2, &diag);
    assert_null(m);
    assert_non_null(diag);
    if (!strstr(diag, msg))
        fail_msg("expected '%s' in:\n%s", msg, diag);
    free(diag);
}

static void test_errors(void **st)
{
    (void)st;
    const char *head = "graph g {\n  input x: f32[N, 3]\n  input k: f32[3]\n  param w: f32[3, 2]\n"
                       "  param f: f32[3, 2] frozen\n  y = x @ w\n  output y\n";
    char src[1024];
    snprintf(src, sizeof src, "%s  train y with sgd(lr=0.1)\n}\n", head);
    expect_error(src, "net.g:8:3: error: train: the loss must be an f32 scalar, not f32[N, 2]");
    snprintf(src, sizeof src, "%s  train sum(y) with rmsprop(0.1)\n}\n", head);
    expect_error(src, "the optimizer is sgd(...), adam(...) or adamw(...)");
    snprintf(src, sizeof src, "%s  train sum(y) with sgd(momentum=0.9)\n}\n", head);
    expect_error(src, "sgd needs a learning rate");
    snprintf(src, sizeof src, "%s  train sum(y) with adam(lr=k)\n}\n", head);
    expect_error(src, "lr is a number or the name of a scalar f32 input");
    snprintf(src, sizeof src, "%s  train sum(y) with adam(betas=1)\n}\n", head);
    expect_error(src, "adam has no argument 'betas'");
    snprintf(src, sizeof src, "%s  train sum(x @ f) with sgd(0.1)\n}\n", head);
    expect_error(src, "train: no trainable param influences the loss");
    snprintf(src, sizeof src, "%s  train sum(y) with sgd(0.1)\n  train sum(y) with sgd(0.1)\n}\n", head);
    expect_error(src, "a graph has one 'train' statement");
    /* a graph without train has no entries and no param folding limits */
    snprintf(src, sizeof src, "%s}\n", head);
    rt_model *m = compile_text(src, 2, NULL);
    assert_non_null(m);
    assert_int_equal(rt_model_n_entries(m), 0);
    assert_int_equal(rt_model_entry_n_fetches(m, "train"), -1);
    rt_model_free(m);
}

/* The compiled graph binary of src (malloc'ed). */
static void *compile_buf(const char *src, size_t *len)
{
    return gct_emit(DATA "net.g", src, 2, len);
}

/* Loads buf after mut(graph) changed it; expects RT_ERR_FORMAT and msg. */
static void expect_bad_entry(const void *buf, size_t len, void (*mut)(Graphc__Graph *), const char *msg)
{
    Graphc__Graph *g = graphc__graph__unpack(NULL, len - 8, (const uint8_t *)buf + 8);
    assert_non_null(g);
    mut(g);
    size_t n = graphc__graph__get_packed_size(g);
    uint8_t *out = malloc(n + 8);
    assert_non_null(out);
    memcpy(out, buf, 8);
    graphc__graph__pack(g, out + 8);
    rt_model *m = NULL;
    char err[512];
    assert_int_equal(rt_model_load_buffer(out, n + 8, &m, err, sizeof err), RT_ERR_FORMAT);
    assert_null(m);
    if (!strstr(err, msg))
        fail_msg("expected '%s' in: %s", msg, err);
    free(out);
    graphc__graph__free_unpacked(g, NULL);
}

static Graphc__EntryPoint *entry_of(Graphc__Graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_entries; i++)
        if (strcmp(g->entries[i]->name, name) == 0)
            return g->entries[i];
    fail_msg("no entry %s", name);
    return NULL;
}

static uint32_t value_named(Graphc__Graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i]->name, name) == 0)
            return (uint32_t)i;
    fail_msg("no value %s", name);
    return 0;
}

static void mut_target_input(Graphc__Graph *g) { entry_of(g, "train")->updates[0]->target = value_named(g, "x"); }
static void mut_value_range(Graphc__Graph *g) { entry_of(g, "train")->updates[0]->value = (uint32_t)g->n_values; }
static void mut_type(Graphc__Graph *g)
{
    Graphc__EntryPoint *e = entry_of(g, "train");
    e->updates[0]->value = value_named(g, "loss"); /* a scalar into a matrix */
}
static void mut_twice(Graphc__Graph *g)
{
    Graphc__EntryPoint *e = entry_of(g, "train");
    e->updates[1]->target = e->updates[0]->target;
    e->updates[1]->value = e->updates[0]->value;
}
static void mut_dup_name(Graphc__Graph *g)
{
    free(g->entries[1]->name); /* unpacked with the default (malloc) allocator */
    g->entries[1]->name = strdup(g->entries[0]->name);
}
static void mut_fetch_range(Graphc__Graph *g) { entry_of(g, "grad")->fetches[0] = 1u << 30; }
static void mut_feed_kind(Graphc__Graph *g) { entry_of(g, "train")->feeds[0] = value_named(g, "w1"); }
/* all-zero values: no data with the flag, and never more than the file can justify */
static void mut_zeros_with_data(Graphc__Graph *g) { g->values[value_named(g, "w1")]->zeros = 1; }
static void mut_zeros_huge(Graphc__Graph *g)
{
    Graphc__Value *v = g->values[value_named(g, "w1.grad")];
    assert_true(v->zeros && v->n_data == 0);
    v->type->dims[0]->coef = (int64_t)1 << 28; /* 1 GiB of zeros */
}
static void mut_training_lr(Graphc__Graph *g)
{
    assert_string_equal(g->train->lr_input, ""); /* protobuf-c's static default: not ours to free */
    g->train->lr_input = strdup("y");          /* freed with the message */
}

/* the loader validates every entry point field */
static void test_loader_entries(void **st)
{
    (void)st;
    size_t len;
    void *buf = compile_buf(net_src("sgd(lr=1e-5)", 0, 0), &len);
    rt_model *m = NULL;
    char err[512];
    assert_int_equal(rt_model_load_buffer(buf, len, &m, err, sizeof err), RT_OK);
    rt_model_free(m);
    expect_bad_entry(buf, len, mut_target_input, "targets value 'x', which is not a param");
    expect_bad_entry(buf, len, mut_value_range, "refers to a value out of range");
    expect_bad_entry(buf, len, mut_type, "writes 'loss' (f32[])");
    expect_bad_entry(buf, len, mut_twice, "is updated twice");
    expect_bad_entry(buf, len, mut_dup_name, "is defined twice");
    expect_bad_entry(buf, len, mut_fetch_range, "entry point fetch 0 is value 1073741824");
    expect_bad_entry(buf, len, mut_feed_kind, "feed 0 is value");
    expect_bad_entry(buf, len, mut_zeros_with_data, "marked all-zero but carries data");
    expect_bad_entry(buf, len, mut_zeros_huge, "bytes of all-zero values in a file of");
    expect_bad_entry(buf, len, mut_training_lr, "learning-rate feed 'y' is not an f32 scalar input");
    /* the accumulators travel as a flag and load as zeros */
    Graphc__Graph *g = graphc__graph__unpack(NULL, len - 8, (const uint8_t *)buf + 8);
    assert_non_null(g);
    Graphc__Value *acc = g->values[value_named(g, "w1.grad")];
    assert_true(acc->zeros);
    assert_int_equal(acc->n_data, 0);
    graphc__graph__free_unpacked(g, NULL);
    assert_int_equal(rt_model_load_buffer(buf, len, &m, err, sizeof err), RT_OK);
    for (int i = 0; i < rt_model_n_params(m); i++) {
        rt_value_info vi;
        rt_tensor t;
        assert_int_equal(rt_model_param(m, i, &vi), RT_OK);
        if (strcmp(vi.name, "w1.grad"))
            continue;
        assert_int_equal(rt_model_param_data(m, i, &t), RT_OK);
        for (int k = 0; k < 3000; k++)
            assert_true(((const float *)t.data)[k] == 0.0f);
    }
    rt_model_free(m);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_100_steps),
        cmocka_unit_test(test_momentum_nesterov),
        cmocka_unit_test(test_adam_adamw),
        cmocka_unit_test(test_grad_apply),
        cmocka_unit_test(test_frozen),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_lr_feed),
        cmocka_unit_test(test_entries_allocate_nothing),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_loader_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
