/* tests/test_gc_freeze.c -- `graphc freeze`: samples compiled at -O0, their
 * params changed through rt_session_param, saved as a checkpoint, frozen;
 * the frozen binary has no params and gives the changed session's outputs.
 * A hand-built training graph (predict + train entries, updates, optimizer
 * state) freezes to its inference part. Mismatches, folded params of an -O2
 * binary and corrupt input are errors that leave the output file alone; the
 * graphc command line (freeze, inspect of a checkpoint with --dump-params). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "freeze.h"
#include "gc_testutil.h"
#include "graphrt.h"
#include "ir.h"
#include "pass.h"
#include "rt_testgraph.h"
#include "sema.h"
#include "testutil.h"

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_make("gc_freeze");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove();
    return 0;
}

/* Changes every float param: w -> w * 1.25 + small ripple; variance-like
 * params stay positive (scaled only). */
static void perturb(rt_session *s)
{
    for (int i = 0; i < rt_session_n_params(s); i++) {
        rt_tensor t;
        rt_value_info vi;
        assert_int_equal(rt_session_param_at(s, i, &t), RT_OK);
        assert_int_equal(rt_session_param_info(s, i, &vi), RT_OK);
        if (t.dtype != RT_F32)
            continue;
        int64_t n = 1;
        for (int d = 0; d < t.rank; d++)
            n *= t.dims[d];
        float *p = t.data;
        int positive = strstr(vi.name, "var") != NULL;
        for (int64_t k = 0; k < n; k++)
            p[k] = positive ? p[k] * 1.5f : p[k] * 1.25f + 0.01f * (float)sin((double)k + i);
    }
}

static float *random_input(int64_t n, unsigned seed)
{
    float *x = malloc(sizeof(float) * (size_t)n);
    srand(seed);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)rand() / (float)RAND_MAX;
    return x;
}

/* Runs fetch of model m (one input `in` of dims) and copies the result. */
static float *run_one(rt_session *s, const char *in, const rt_tensor *x, const char *fetch, int64_t *n_out)
{
    rt_tensor out;
    const char *fn[1] = { in }, *on[1] = { fetch };
    if (rt_session_run(s, 1, fn, x, 1, on, &out) != RT_OK)
        fail_msg("run: %s", rt_session_last_error(s));
    int64_t n = 1;
    for (int d = 0; d < out.rank; d++)
        n *= out.dims[d];
    float *r = malloc(sizeof(float) * (size_t)n);
    memcpy(r, out.data, sizeof(float) * (size_t)n);
    *n_out = n;
    return r;
}

/* The whole story on one sample: compile at -O0, change the params through
 * the session, checkpoint, freeze, and the frozen binary must give the
 * changed session's outputs. */
static void freeze_sample(const char *model, const char *input, const int64_t *dims, int rank, const char *fetch)
{
    size_t len;
    uint8_t *gb = gct_emit(model, NULL, 0, &len);
    char err[4096], gb_path[512], ck_path[512], fz_path[512];
    tu_tmp_path(gb_path, sizeof gb_path, "model.gb");
    tu_tmp_path(ck_path, sizeof ck_path, "model.gbc");
    tu_tmp_path(fz_path, sizeof fz_path, "frozen.gb");
    tu_write_file(gb_path, gb, len);
    rt_model *m;
    rt_session *s;
    assert_int_equal(rt_model_load_buffer(gb, len, &m, err, sizeof err), RT_OK);
    assert_true(rt_model_n_params(m) > 0);
    rt_session_options o = rt_session_options_default();
    o.n_threads = 1;
    assert_int_equal(rt_session_create(m, &o, &s, err, sizeof err), RT_OK);
    rt_tensor x = { RT_F32, rank, { 0 }, NULL };
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
        x.dims[d] = dims[d];
        n *= dims[d];
    }
    x.data = random_input(n, 7);
    int64_t n0, n1, n2;
    float *y0 = run_one(s, input, &x, fetch, &n0);
    perturb(s);
    float *y1 = run_one(s, input, &x, fetch, &n1);
    assert_int_equal(n0, n1);
    assert_true(memcmp(y0, y1, sizeof(float) * (size_t)n0) != 0);
    if (rt_checkpoint_save(s, ck_path, 42, err, sizeof err) != RT_OK)
        fail_msg("%s", err);

    gc_freeze_stats st;
    if (gc_freeze_file(gb_path, ck_path, fz_path, &st, err, sizeof err))
        fail_msg("freeze: %s", err);
    assert_int_equal(st.n_frozen, rt_model_n_params(m));
    assert_int_equal(st.step, 42);
    assert_int_equal(st.n_dropped_nodes, 0);
    assert_int_equal(st.n_ignored, 0);
    rt_model *fm;
    if (rt_model_load_file(fz_path, &fm, err, sizeof err) != RT_OK)
        fail_msg("frozen: %s", err);
    assert_int_equal(rt_model_n_params(fm), 0);
    assert_int_equal(rt_model_n_nodes(fm), rt_model_n_nodes(m));
    assert_int_equal(rt_model_n_inputs(fm), rt_model_n_inputs(m));
    assert_int_equal(rt_model_n_outputs(fm), rt_model_n_outputs(m));
    rt_session *fs;
    assert_int_equal(rt_session_create(fm, &o, &fs, err, sizeof err), RT_OK);
    float *y2 = run_one(fs, input, &x, fetch, &n2);
    assert_int_equal(n1, n2);
    for (int64_t i = 0; i < n1; i++)
        if (fabsf(y1[i] - y2[i]) > 1e-6f * (1 + fabsf(y1[i])))
            fail_msg("%s: output %lld: session %g, frozen %g", model, (long long)i, y1[i], y2[i]);

    /* the in-memory entry point gives the same bytes */
    rt_checkpoint *ck;
    assert_int_equal(rt_checkpoint_load_file(ck_path, &ck, err, sizeof err), RT_OK);
    void *fb;
    size_t flen, dlen;
    assert_int_equal(gc_freeze_buffer(gb, len, ck, &fb, &flen, NULL, err, sizeof err), 0);
    uint8_t *disk = tu_read_file(fz_path, &dlen);
    assert_int_equal(flen, dlen);
    assert_memory_equal(fb, disk, flen);
    free(fb);
    free(disk);
    rt_checkpoint_free(ck);

    free(y0);
    free(y1);
    free(y2);
    free(x.data);
    free(gb);
    rt_session_free(fs);
    rt_model_free(fm);
    rt_session_free(s);
    rt_model_free(m);
}

static void test_freeze_lenet(void **state)
{
    (void)state;
    int64_t dims[4] = { 3, 1, 28, 28 };
    freeze_sample("samples/lenet.g", "images", dims, 4, "logits");
}

static void test_freeze_mlp(void **state)
{
    (void)state;
    int64_t dims[4] = { 2, 1, 28, 28 };
    freeze_sample("samples/mlp.g", "images", dims, 4, "probs");
}

static void test_freeze_resnet_block(void **state)
{
    (void)state;
    /* find the input of the sample */
    size_t len;
    uint8_t *gb = gct_emit("samples/resnet_block.g", NULL, 0, &len);
    rt_model *m;
    char err[512];
    assert_int_equal(rt_model_load_buffer(gb, len, &m, err, sizeof err), RT_OK);
    free(gb);
    rt_value_info in, out;
    assert_int_equal(rt_model_input(m, 0, &in), RT_OK);
    assert_int_equal(rt_model_output(m, 0, &out), RT_OK);
    int64_t dims[RT_MAX_RANK];
    for (int d = 0; d < in.rank; d++)
        dims[d] = in.dims[d] < 0 ? 2 * in.sym_coef[d] : in.dims[d];
    char iname[128], oname[128];
    snprintf(iname, sizeof iname, "%s", in.name);
    snprintf(oname, sizeof oname, "%s", out.name);
    int rank = in.rank;
    rt_model_free(m);
    freeze_sample("samples/resnet_block.g", iname, dims, rank, oname);
}

/* A training-shaped graph made by hand: entries predict and train (with an
 * update), optimizer state, a label input and nodes only train needs. */
static Graphc__Graph *train_graph(void)
{
    Graphc__Graph *g = tg_new("trainnet");
    tg_sym(g, "N");
    uint32_t x = tg_value(g, "x", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_F32, "N,4");
    uint32_t y = tg_value(g, "y", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_F32, "N,3");
    uint32_t w = tg_value(g, "w", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_F32, "4,3");
    tg_data(g, w, TG_W, sizeof TG_W, 0);
    g->values[w]->trainable = 1;
    uint32_t mo = tg_value(g, "w.momentum", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_F32, "4,3");
    float zeros[12] = { 0 };
    tg_data(g, mo, zeros, sizeof zeros, 0);
    uint32_t stp = tg_value(g, "optimizer.step", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_I64, "");
    int64_t z = 0;
    tg_data(g, stp, &z, sizeof z, 0);
    uint32_t pred = tg_value(g, "pred", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,3");
    uint32_t diff = tg_value(g, "diff", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,3");
    uint32_t sq = tg_value(g, "sq", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,3");
    uint32_t loss = tg_value(g, "loss", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "");
    uint32_t nw = tg_value(g, "w.new", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "4,3");
    tg_node(g, "matmul", "pred", 2, (uint32_t[]){ x, w }, 1, &pred);
    tg_node(g, "sub", "diff", 2, (uint32_t[]){ pred, y }, 1, &diff);
    tg_node(g, "mul", "sq", 2, (uint32_t[]){ diff, diff }, 1, &sq);
    tg_node(g, "sum", "loss", 1, &sq, 1, &loss);
    tg_node(g, "sub", "w.new", 2, (uint32_t[]){ w, mo }, 1, &nw);
    tg_output(g, pred);
    Graphc__EntryPoint *pe = tg_xalloc(sizeof *pe), *te = tg_xalloc(sizeof *te);
    graphc__entry_point__init(pe);
    graphc__entry_point__init(te);
    pe->name = tg_str("predict");
    TG_PUSH(pe->feeds, pe->n_feeds, x);
    TG_PUSH(pe->fetches, pe->n_fetches, pred);
    te->name = tg_str("train");
    TG_PUSH(te->feeds, te->n_feeds, x);
    TG_PUSH(te->feeds, te->n_feeds, y);
    TG_PUSH(te->fetches, te->n_fetches, loss);
    Graphc__Update *u = tg_xalloc(sizeof *u);
    graphc__update__init(u);
    u->target = w;
    u->value = nw;
    TG_PUSH(te->updates, te->n_updates, u);
    TG_PUSH(g->entries, g->n_entries, te);
    TG_PUSH(g->entries, g->n_entries, pe);
    return g;
}

static void test_freeze_training_graph(void **state)
{
    (void)state;
    Graphc__Graph *g = train_graph();
    size_t len;
    uint8_t *gb = tg_pack(g, &len);
    tg_free(g);
    rt_model *m;
    rt_session *s;
    char err[2048];
    if (rt_model_load_buffer(gb, len, &m, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    rt_tensor t;
    assert_int_equal(rt_session_param(s, "w", &t), RT_OK);
    float *w = t.data;
    for (int i = 0; i < 12; i++)
        w[i] = (float)(i - 5) * 0.5f;
    assert_int_equal(rt_session_param(s, "w.momentum", &t), RT_OK);
    ((float *)t.data)[0] = 3;
    char ck_path[512];
    tu_tmp_path(ck_path, sizeof ck_path, "train.gbc");
    assert_int_equal(rt_checkpoint_save(s, ck_path, 100, err, sizeof err), RT_OK);
    rt_checkpoint *ck;
    assert_int_equal(rt_checkpoint_load_file(ck_path, &ck, err, sizeof err), RT_OK);
    assert_int_equal(rt_checkpoint_n_entries(ck), 3);
    void *fb;
    size_t flen;
    gc_freeze_stats st;
    if (gc_freeze_buffer(gb, len, ck, &fb, &flen, &st, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(st.n_frozen, 1);
    assert_int_equal(st.n_dropped_params, 2);
    assert_int_equal(st.n_dropped_inputs, 1);
    assert_int_equal(st.n_dropped_nodes, 4);
    assert_int_equal(st.n_dropped_entries, 1);
    rt_model *fm;
    if (rt_model_load_buffer(fb, flen, &fm, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    assert_int_equal(rt_model_n_params(fm), 0);
    assert_int_equal(rt_model_n_inputs(fm), 1);
    assert_int_equal(rt_model_n_nodes(fm), 1);
    assert_string_equal(rt_model_node_op(fm, 0), "matmul");
    rt_session *fs;
    assert_int_equal(rt_session_create(fm, NULL, &fs, err, sizeof err), RT_OK);
    float xv[8] = { 1, 2, 3, 4, 0, -1, 0.5f, 2 };
    rt_tensor x = { RT_F32, 2, { 2, 4 }, xv };
    int64_t n1, n2;
    float *a = run_one(s, "x", &x, "pred", &n1), *b = run_one(fs, "x", &x, "pred", &n2);
    assert_int_equal(n1, 6);
    assert_memory_equal(a, b, sizeof(float) * 6);
    for (int j = 0; j < 3; j++) {
        float acc = 0;
        for (int k = 0; k < 4; k++)
            acc += xv[k] * w[k * 3 + j];
        assert_float_equal(b[j], acc, 1e-5);
    }
    /* the frozen binary keeps the predict entry, and freezing with an
     * inference-only checkpoint of it (no optimizer state) works too */
    Graphc__Graph *fg = graphc__graph__unpack(NULL, flen - 8, (uint8_t *)fb + 8);
    assert_non_null(fg);
    assert_int_equal(fg->n_entries, 1);
    assert_string_equal(fg->entries[0]->name, "predict");
    assert_int_equal(fg->entries[0]->n_feeds, 1);
    graphc__graph__free_unpacked(fg, NULL);
    free(a);
    free(b);
    free(fb);
    rt_checkpoint_free(ck);
    rt_session_free(fs);
    rt_model_free(fm);
    rt_session_free(s);
    rt_model_free(m);
    free(gb);
}

/* A real training binary (`train ... with adam`, -O2): train a few steps
 * through the train entry, checkpoint, freeze; the frozen binary predicts
 * what the trained session predicts, without params, optimizer state,
 * labels or training entries. The same checkpoint also freezes the -O0
 * inference binary of the model (optimizer state ignored). */
static void test_freeze_trained(void **state)
{
    (void)state;
    const char *body =
        "graph tnet {\n"
        "  input x: f32[N, 8]\n"
        "  input y: f32[N, 3]\n"
        "  param w1: f32[8, 16] = normal(std=0.3, seed=1)\n"
        "  param w2: f32[16, 3] = normal(std=0.3, seed=2)\n"
        "  h = relu(x @ w1)\n"
        "  y_pred = h @ w2\n"
        "  loss = sum((y_pred - y) ** 2)\n"
        "  output y_pred\n"
        "%s"
        "}\n";
    char src[1024];
    snprintf(src, sizeof src, body, "  train loss with adam(lr=0.01)\n");
    size_t len, ilen;
    uint8_t *gb = gct_emit("tnet.g", src, 2, &len);
    snprintf(src, sizeof src, body, "");
    uint8_t *igb = gct_emit("tnet.g", src, 0, &ilen);
    rt_model *m;
    rt_session *s;
    char err[2048];
    if (rt_model_load_buffer(gb, len, &m, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    assert_true(rt_model_n_params(m) > 2); /* optimizer state too */
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    float *xv = random_input(4 * 8, 3), *yv = random_input(4 * 3, 4);
    rt_tensor feeds[2] = { { RT_F32, 2, { 4, 8 }, xv }, { RT_F32, 2, { 4, 3 }, yv } };
    const char *names[2] = { "x", "y" };
    int64_t n0, n1, n2;
    float *y0 = run_one(s, "x", &feeds[0], "y_pred", &n0);
    for (int step = 0; step < 5; step++) {
        rt_tensor out;
        if (rt_session_run_entry(s, "train", 2, names, feeds, 0, NULL, &out) != RT_OK)
            fail_msg("train: %s", rt_session_last_error(s));
    }
    float *y1 = run_one(s, "x", &feeds[0], "y_pred", &n1);
    assert_true(memcmp(y0, y1, sizeof(float) * (size_t)n0) != 0);
    char ck_path[512];
    tu_tmp_path(ck_path, sizeof ck_path, "trained.gbc");
    assert_int_equal(rt_checkpoint_save(s, ck_path, 5, err, sizeof err), RT_OK);
    rt_checkpoint *ck;
    assert_int_equal(rt_checkpoint_load_file(ck_path, &ck, err, sizeof err), RT_OK);
    assert_int_equal(rt_checkpoint_n_entries(ck), rt_model_n_params(m));

    for (int which = 0; which < 2; which++) {
        void *fb;
        size_t flen;
        gc_freeze_stats st;
        if (gc_freeze_buffer(which ? igb : gb, which ? ilen : len, ck, &fb, &flen, &st, err, sizeof err))
            fail_msg("%s", err);
        assert_int_equal(st.n_frozen, 2);
        if (which == 0) {
            assert_int_equal(st.n_dropped_params, rt_model_n_params(m) - 2);
            assert_true(st.n_dropped_entries >= 1);
            assert_true(st.n_dropped_nodes > 0);
            assert_int_equal(st.n_ignored, 0);
        } else {
            assert_int_equal(st.n_ignored, rt_model_n_params(m) - 2);
        }
        assert_int_equal(st.n_dropped_inputs, 1); /* y */
        rt_model *fm;
        if (rt_model_load_buffer(fb, flen, &fm, err, sizeof err) != RT_OK)
            fail_msg("%s", err);
        assert_int_equal(rt_model_n_params(fm), 0);
        assert_int_equal(rt_model_n_inputs(fm), 1);
        for (int e = 0; e < rt_model_n_entries(fm); e++) {
            const char *en = rt_model_entry_name(fm, e);
            assert_true(strcmp(en, "train") && strcmp(en, "grad") && strcmp(en, "apply"));
        }
        rt_session *fs;
        assert_int_equal(rt_session_create(fm, NULL, &fs, err, sizeof err), RT_OK);
        float *y2 = run_one(fs, "x", &feeds[0], "y_pred", &n2);
        assert_int_equal(n1, n2);
        for (int64_t i = 0; i < n1; i++)
            assert_float_equal(y1[i], y2[i], 1e-6 * (1 + fabsf(y1[i])));
        free(y2);
        rt_session_free(fs);
        rt_model_free(fm);
        free(fb);
    }
    rt_checkpoint_free(ck);
    free(y0);
    free(y1);
    free(xv);
    free(yv);
    rt_session_free(s);
    rt_model_free(m);
    free(gb);
    free(igb);
}

static void expect_freeze_error(const char *gb_path, const char *ck_path, const char *out_path, const char *want)
{
    char err[4096];
    gc_freeze_stats st;
    assert_int_equal(gc_freeze_file(gb_path, ck_path, out_path, &st, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("message lacks \"%s\": %s", want, err);
}

static void test_freeze_errors(void **state)
{
    (void)state;
    char mlp_gb[512], mlp_ck[512], lenet_gb[512], lenet2_gb[512], out[512], bad[512], err[1024];
    tu_tmp_path(mlp_gb, sizeof mlp_gb, "e_mlp.gb");
    tu_tmp_path(mlp_ck, sizeof mlp_ck, "e_mlp.gbc");
    tu_tmp_path(lenet_gb, sizeof lenet_gb, "e_lenet.gb");
    tu_tmp_path(lenet2_gb, sizeof lenet2_gb, "e_lenet2.gb");
    tu_tmp_path(out, sizeof out, "e_out.gb");
    tu_tmp_path(bad, sizeof bad, "e_bad.gbc");
    size_t len;
    uint8_t *gb = gct_emit("samples/mlp.g", NULL, 0, &len);
    tu_write_file(mlp_gb, gb, len);
    rt_model *m;
    rt_session *s;
    assert_int_equal(rt_model_load_buffer(gb, len, &m, err, sizeof err), RT_OK);
    free(gb);
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    assert_int_equal(rt_checkpoint_save(s, mlp_ck, 1, err, sizeof err), RT_OK);
    rt_session_free(s);
    rt_model_free(m);
    tu_write_file(out, "previous", 8);

    /* a checkpoint of another model: names and shapes */
    gb = gct_emit("samples/lenet.g", NULL, 0, &len);
    tu_write_file(lenet_gb, gb, len);
    free(gb);
    expect_freeze_error(lenet_gb, mlp_ck, out, "does not match the graph binary 'lenet'");
    expect_freeze_error(lenet_gb, mlp_ck, out, "is missing in the checkpoint");
    expect_freeze_error(lenet_gb, mlp_ck, out, "is not a param of the binary");
    /* an -O2 binary of the same model: the compiler pre-transposed the weights */
    gb = gct_emit("samples/mlp.g", NULL, 2, &len);
    tu_write_file(lenet2_gb, gb, len);
    free(gb);
    expect_freeze_error(lenet2_gb, mlp_ck, out, "-O0");
    /* shapes: the checkpoint's w has another shape */
    Graphc__Graph *g = train_graph();
    /* values: x y w w.momentum optimizer.step pred diff sq loss w.new */
    g->values[2]->data[0].len = 32; /* w f32[4,2] */
    g->values[3]->data[0].len = 32;
    const int narrow[] = { 1, 2, 3, 5, 6, 7, 9 };
    for (int i = 0; i < 7; i++)
        g->values[narrow[i]]->type->dims[1]->coef = 2;
    uint8_t *b2 = tg_pack(g, &len);
    tg_free(g);
    rt_model *m2;
    if (rt_model_load_buffer(b2, len, &m2, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    assert_int_equal(rt_session_create(m2, NULL, &s, err, sizeof err), RT_OK);
    char small_ck[512], train_gb[512];
    tu_tmp_path(small_ck, sizeof small_ck, "e_small.gbc");
    tu_tmp_path(train_gb, sizeof train_gb, "e_train.gb");
    assert_int_equal(rt_checkpoint_save(s, small_ck, 1, err, sizeof err), RT_OK);
    rt_session_free(s);
    rt_model_free(m2);
    free(b2);
    g = train_graph();
    b2 = tg_pack(g, &len);
    tg_free(g);
    tu_write_file(train_gb, b2, len);
    free(b2);
    expect_freeze_error(train_gb, small_ck, out, "param 'w': shape [4, 3] in the binary, [4, 2] in the checkpoint");

    /* corrupt inputs */
    size_t cl;
    uint8_t *ck = tu_read_file(mlp_ck, &cl);
    tu_write_file(bad, ck, cl / 2);
    expect_freeze_error(mlp_gb, bad, out, "truncated or corrupt checkpoint");
    ck[cl / 2] ^= 4;
    tu_write_file(bad, ck, cl);
    expect_freeze_error(mlp_gb, bad, out, "checksum mismatch");
    free(ck);
    expect_freeze_error(mlp_ck, mlp_ck, out, "graph binary: not a graph binary");
    expect_freeze_error(mlp_gb, mlp_gb, out, "a graph binary, not a checkpoint");
    expect_freeze_error("/nonexistent.gb", mlp_ck, out, "cannot open");
    /* none of that touched the output file */
    size_t ol;
    uint8_t *prev = tu_read_file(out, &ol);
    assert_int_equal(ol, 8);
    assert_memory_equal(prev, "previous", 8);
    free(prev);
    /* a good freeze replaces it */
    gc_freeze_stats st;
    assert_int_equal(gc_freeze_file(mlp_gb, mlp_ck, out, &st, err, sizeof err), 0);
    rt_model *fm;
    assert_int_equal(rt_model_load_file(out, &fm, err, sizeof err), RT_OK);
    rt_model_free(fm);
}

/* The command line: graphc freeze, graphc inspect CKPT --dump-params. */
static void test_cli(void **state)
{
    (void)state;
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        skip();
    exe[n] = 0;
    char *slash = strrchr(exe, '/'); /* BUILD/tests/test_gc_freeze */
    *slash = 0;
    slash = strrchr(exe, '/');
    *slash = 0;
    char graphc[1100];
    snprintf(graphc, sizeof graphc, "%s/graphc", exe);
    if (access(graphc, X_OK) != 0)
        skip();
    char gb[512], ck[512], fz[512], dump[512], cmd[4096], err[1024];
    tu_tmp_path(gb, sizeof gb, "cli.gb");
    tu_tmp_path(ck, sizeof ck, "cli.gbc");
    tu_tmp_path(fz, sizeof fz, "cli_frozen.gb");
    tu_tmp_path(dump, sizeof dump, "params");
    snprintf(cmd, sizeof cmd, "%s compile samples/two_layer_net.g -O0 -o %s", graphc, gb);
    assert_int_equal(system(cmd), 0);
    rt_model *m;
    rt_session *s;
    assert_int_equal(rt_model_load_file(gb, &m, err, sizeof err), RT_OK);
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    rt_tensor w2;
    assert_int_equal(rt_session_param(s, "w2", &w2), RT_OK);
    ((float *)w2.data)[5] = 123.5f;
    assert_int_equal(rt_checkpoint_save(s, ck, 17, err, sizeof err), RT_OK);

    char log[600];
    tu_tmp_path(log, sizeof log, "cli.log");
    snprintf(cmd, sizeof cmd, "%s inspect %s --dump-params %s > %s 2>&1", graphc, ck, dump, log);
    assert_int_equal(system(cmd), 0);
    size_t ll;
    char *text = (char *)tu_read_file(log, &ll);
    text[ll] = 0;
    if (!strstr(text, "checkpoint of graph two_layer_net") || !strstr(text, "step 17")
        || !strstr(text, "entries: 4") || !strstr(text, "w1.grad") || !strstr(text, "wrote 4 params"))
        fail_msg("inspect output: %s", text);
    free(text);
    char p[700];
    snprintf(p, sizeof p, "%s/w2.npy", dump);
    rt_tensor t;
    assert_int_equal(rt_npy_load(p, &t, err, sizeof err), RT_OK);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.dims[0], 100);
    assert_int_equal(t.dims[1], 10);
    assert_memory_equal(t.data, w2.data, sizeof(float) * 1000);
    free(t.data);
    snprintf(p, sizeof p, "%s/w1.npy", dump);
    assert_int_equal(access(p, R_OK), 0);

    snprintf(cmd, sizeof cmd, "%s freeze %s %s -o %s > %s 2>&1", graphc, gb, ck, fz, log);
    assert_int_equal(system(cmd), 0);
    rt_model *fm;
    assert_int_equal(rt_model_load_file(fz, &fm, err, sizeof err), RT_OK);
    assert_int_equal(rt_model_n_params(fm), 0);
    rt_model_free(fm);
    /* the frozen binary inspects as a graph with no params */
    snprintf(cmd, sizeof cmd, "%s inspect %s > %s 2>&1", graphc, fz, log);
    assert_int_equal(system(cmd), 0);
    text = (char *)tu_read_file(log, &ll);
    text[ll] = 0;
    assert_non_null(strstr(text, "params: 0"));
    assert_null(strstr(text, "training:")); /* inference only: no optimizer, no entries */
    free(text);
    /* errors exit non-zero */
    snprintf(cmd, sizeof cmd, "%s freeze %s %s -o %s > %s 2>&1", graphc, gb, gb, fz, log);
    assert_int_not_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s freeze %s > %s 2>&1", graphc, gb, log);
    assert_int_not_equal(system(cmd), 0);
    rt_session_free(s);
    rt_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_freeze_lenet),
        cmocka_unit_test(test_freeze_mlp),
        cmocka_unit_test(test_freeze_resnet_block),
        cmocka_unit_test(test_freeze_training_graph),
        cmocka_unit_test(test_freeze_trained),
        cmocka_unit_test(test_freeze_errors),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
