/* tests/test_rt_checkpoint.c -- session params and checkpoints (runtime
 * only): views of a session's live params; save/restore round trips of
 * every param (trainable, frozen, optimizer state, other dtypes, a param
 * over one 64 MiB chunk); mismatches named param by param with the session
 * left unchanged; every prefix, every bit flip and random byte changes of a
 * checkpoint give a clean error; checksum-valid but invalid fields; and the
 * atomic write protocol (temp file next to the target, fsync, rename) under
 * injected failures, which must leave the previous checkpoint intact. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "graphrt.h"
#include "rt_io.h"
#include "rt_testgraph.h"
#include "testutil.h"
#include "checkpoint.pb-c.h"


static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_make("rt_ckpt");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove();
    return 0;
}

/* Files in tu_tmpdir whose name contains ".tmp." */
static int count_temp_files(void)
{
    int n = 0;
    DIR *d = opendir(tu_tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp."))
            n++;
    if (d)
        closedir(d);
    return n;
}

/* ---- the test model ----
 * x input f32[N,4]; params: w f32[4,3] (trainable), b f32[3] (frozen),
 * w.momentum f32[4,3], optimizer.step i64[], mask bool[2] (frozen),
 * idx i32[2]; y = matmul(x, w) + b. Variants change one param. */
enum { V_BASE, V_SHAPE, V_DTYPE, V_MISSING, V_EXTRA, V_MANY };

static Graphc__Graph *ck_graph(int variant)
{
    Graphc__Graph *g = tg_new("ckpt_net");
    tg_sym(g, "N");
    uint32_t x = tg_value(g, "x", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_F32, "N,4");
    uint32_t w = tg_value(g, "w", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_F32, "4,3");
    tg_data(g, w, TG_W, sizeof TG_W, 0);
    g->values[w]->trainable = 1;
    uint32_t b = tg_value(g, "b", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_F32, "3");
    tg_data(g, b, TG_B, sizeof TG_B, 0);
    if (variant != V_MISSING) {
        uint32_t mo = tg_value(g, "w.momentum", GRAPHC__VALUE_KIND__VK_PARAM,
                               variant == V_DTYPE ? GRAPHC__DTYPE__DT_F64 : GRAPHC__DTYPE__DT_F32,
                               variant == V_SHAPE ? "3,4" : "4,3");
        double zeros[12] = { 0 };
        tg_data(g, mo, zeros, variant == V_DTYPE ? sizeof zeros : sizeof(float) * 12, 0);
    }
    uint32_t st = tg_value(g, "optimizer.step", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_I64, "");
    int64_t zero = 0;
    tg_data(g, st, &zero, sizeof zero, 0);
    uint32_t mk = tg_value(g, "mask", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_BOOL, "2");
    uint8_t mv[2] = { 1, 0 };
    tg_data(g, mk, mv, 2, 0);
    uint32_t ix = tg_value(g, "idx", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_I32, "2");
    int32_t iv[2] = { 7, -3 };
    tg_data(g, ix, iv, sizeof iv, 0);
    if (variant == V_EXTRA) {
        uint32_t ex = tg_value(g, "extra", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_F32, "2");
        float e2[2] = { 1, 2 };
        tg_data(g, ex, e2, sizeof e2, 0);
    }
    if (variant == V_MANY) { /* three problems at once */
        g->values[w]->type->dims[0]->coef = 2;
        g->values[w]->type->dims[1]->coef = 6;
        uint32_t ex = tg_value(g, "extra", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_F32, "2");
        float e2[2] = { 1, 2 };
        tg_data(g, ex, e2, sizeof e2, 0);
    }
    uint32_t h = tg_value(g, "h", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32,
                          variant == V_MANY ? "N,6" : "N,3");
    uint32_t y = tg_value(g, "y", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "N,3");
    if (variant == V_MANY) {
        /* x f32[N,4] cannot meet w [2,6]: make x [N,2] and y = h (no bias) */
        g->values[x]->type->dims[1]->coef = 2;
        tg_node(g, "matmul", "h", 2, (uint32_t[]){ x, w }, 1, &h);
        tg_output(g, h);
        /* y unused: drop it by making it an output of a copy node is overkill;
         * instead give it a producer */
        tg_node(g, "relu", "y", 1, (uint32_t[]){ h }, 1, &y);
        g->values[y]->type->dims[1]->coef = 6;
        return g;
    }
    tg_node(g, "matmul", "h", 2, (uint32_t[]){ x, w }, 1, &h);
    tg_node(g, "add", "y", 2, (uint32_t[]){ h, b }, 1, &y);
    tg_output(g, y);
    return g;
}

typedef struct fixture {
    rt_model *m;
    rt_session *s;
} fixture;

static void fx_open(fixture *f, int variant)
{
    Graphc__Graph *g = ck_graph(variant);
    size_t len;
    uint8_t *buf = tg_pack(g, &len);
    tg_free(g);
    char err[1024];
    if (rt_model_load_buffer(buf, len, &f->m, err, sizeof err) != RT_OK)
        fail_msg("load: %s", err);
    free(buf);
    rt_session_options o = rt_session_options_default();
    o.n_threads = 1;
    if (rt_session_create(f->m, &o, &f->s, err, sizeof err) != RT_OK)
        fail_msg("session: %s", err);
}

static void fx_close(fixture *f)
{
    rt_session_free(f->s);
    rt_model_free(f->m);
}

static float *param_f32(rt_session *s, const char *name)
{
    rt_tensor t;
    if (rt_session_param(s, name, &t) != RT_OK)
        fail_msg("param %s: %s", name, rt_session_last_error(s));
    return t.data;
}

/* Copies every param's bytes into one buffer (a snapshot to compare). */
static uint8_t *snapshot(rt_session *s, size_t *len)
{
    size_t total = 0;
    rt_tensor t;
    for (int i = 0; i < rt_session_n_params(s); i++) {
        assert_int_equal(rt_session_param_at(s, i, &t), RT_OK);
        size_t n = rt_dtype_size(t.dtype);
        for (int d = 0; d < t.rank; d++)
            n *= (size_t)t.dims[d];
        total += n;
    }
    uint8_t *b = malloc(total + 1), *p = b;
    for (int i = 0; i < rt_session_n_params(s); i++) {
        rt_session_param_at(s, i, &t);
        size_t n = rt_dtype_size(t.dtype);
        for (int d = 0; d < t.rank; d++)
            n *= (size_t)t.dims[d];
        memcpy(p, t.data, n);
        p += n;
    }
    *len = total;
    return b;
}

/* Changes every param of the base model to distinct values. */
static void scramble(rt_session *s, int seed)
{
    float *w = param_f32(s, "w"), *b = param_f32(s, "b"), *mo = param_f32(s, "w.momentum");
    for (int i = 0; i < 12; i++) {
        w[i] = (float)(seed * 100 + i) * 0.25f;
        mo[i] = (float)(seed - i) * 0.5f;
    }
    for (int i = 0; i < 3; i++)
        b[i] = (float)(seed + i);
    rt_tensor t;
    assert_int_equal(rt_session_param(s, "optimizer.step", &t), RT_OK);
    *(int64_t *)t.data = seed * 1000;
    assert_int_equal(rt_session_param(s, "mask", &t), RT_OK);
    ((uint8_t *)t.data)[0] = (uint8_t)(seed & 1);
    ((uint8_t *)t.data)[1] = (uint8_t)!(seed & 1);
    assert_int_equal(rt_session_param(s, "idx", &t), RT_OK);
    ((int32_t *)t.data)[0] = seed;
}

static void run_y(rt_session *s, float *y)
{
    float x[8] = { 1, 2, 3, 4, -1, 0.5f, 0, 2 };
    rt_tensor feed = { RT_F32, 2, { 2, 4 }, x };
    const char *fn[1] = { "x" }, *on[1] = { "y" };
    rt_tensor out;
    if (rt_session_run(s, 1, fn, &feed, 1, on, &out) != RT_OK)
        fail_msg("run: %s", rt_session_last_error(s));
    memcpy(y, out.data, sizeof(float) * 6);
}

/* ---- tests ---- */

static void test_param_views(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, V_BASE);
    assert_int_equal(rt_session_n_params(f.s), 6);
    rt_value_info info;
    assert_int_equal(rt_session_param_info(f.s, 0, &info), RT_OK);
    assert_string_equal(info.name, "w");
    assert_int_equal(rt_session_param_info(f.s, 6, &info), RT_ERR_ARG);
    rt_tensor t;
    assert_int_equal(rt_session_param(f.s, "w", &t), RT_OK);
    assert_int_equal(t.dtype, RT_F32);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.dims[0], 4);
    assert_int_equal(t.dims[1], 3);
    assert_memory_equal(t.data, TG_W, sizeof TG_W);
    rt_tensor t0;
    assert_int_equal(rt_session_param_at(f.s, 0, &t0), RT_OK);
    assert_ptr_equal(t0.data, t.data);
    assert_int_equal(rt_session_param(f.s, "optimizer.step", &t), RT_OK);
    assert_int_equal(t.dtype, RT_I64);
    assert_int_equal(t.rank, 0);

    /* writes through the view change later runs */
    float y0[6], y1[6];
    run_y(f.s, y0);
    float *b = param_f32(f.s, "b");
    b[1] += 10;
    run_y(f.s, y1);
    assert_float_equal(y1[1], y0[1] + 10, 1e-5);
    assert_float_equal(y1[4], y0[4] + 10, 1e-5);
    assert_float_equal(y1[0], y0[0], 0);

    /* errors name the value and leave a message */
    assert_int_equal(rt_session_param(f.s, "nope", &t), RT_ERR_ARG);
    assert_non_null(strstr(rt_session_last_error(f.s), "'nope' is unknown, not a param"));
    assert_int_equal(rt_session_param(f.s, "x", &t), RT_ERR_ARG);
    assert_non_null(strstr(rt_session_last_error(f.s), "'x' is an input"));
    assert_int_equal(rt_session_param(f.s, "h", &t), RT_ERR_ARG);
    assert_int_equal(rt_session_param_at(f.s, -1, &t), RT_ERR_ARG);
    assert_int_equal(rt_session_param_at(f.s, 6, &t), RT_ERR_ARG);
    assert_int_equal(rt_session_param(f.s, NULL, &t), RT_ERR_ARG);
    assert_int_equal(rt_session_param(NULL, "w", &t), RT_ERR_ARG);
    assert_int_equal(rt_session_n_params(NULL), 0);
    fx_close(&f);
}

static void test_round_trip(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, V_BASE);
    char path[512], err[1024];
    tu_tmp_path(path, sizeof path, "a.gbc");
    scramble(f.s, 3);
    float ya[6], yb[6];
    run_y(f.s, ya);
    size_t la, lb;
    uint8_t *sa = snapshot(f.s, &la);
    if (rt_checkpoint_save(f.s, path, 1234, err, sizeof err) != RT_OK)
        fail_msg("save: %s", err);
    assert_int_equal(count_temp_files(), 0);

    scramble(f.s, 8);
    run_y(f.s, yb);
    assert_true(memcmp(ya, yb, sizeof ya) != 0);
    int64_t step = -1;
    if (rt_checkpoint_restore(f.s, path, &step, err, sizeof err) != RT_OK)
        fail_msg("restore: %s", err);
    assert_int_equal(step, 1234);
    uint8_t *sb = snapshot(f.s, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(sa, sb, la);
    run_y(f.s, yb);
    assert_memory_equal(ya, yb, sizeof ya);
    assert_int_equal(rt_checkpoint_restore(f.s, path, NULL, err, sizeof err), RT_OK);

    /* a second session of the same model restores the same values */
    rt_session *s2;
    assert_int_equal(rt_session_create(f.m, NULL, &s2, err, sizeof err), RT_OK);
    assert_int_equal(rt_checkpoint_restore(s2, path, &step, NULL, 0), RT_OK);
    free(sb);
    sb = snapshot(s2, &lb);
    assert_memory_equal(sa, sb, la);
    rt_session_free(s2);

    /* the reader API sees every param, in model order, with its flag */
    rt_checkpoint *c;
    if (rt_checkpoint_load_file(path, &c, err, sizeof err) != RT_OK)
        fail_msg("load: %s", err);
    assert_string_equal(rt_checkpoint_graph(c), "ckpt_net");
    assert_string_equal(rt_checkpoint_producer(c), "graphrt 0.1");
    assert_int_equal(rt_checkpoint_step(c), 1234);
    assert_int_equal(rt_checkpoint_n_entries(c), 6);
    const char *names[6] = { "w", "b", "w.momentum", "optimizer.step", "mask", "idx" };
    for (int i = 0; i < 6; i++) {
        const char *nm;
        rt_tensor t;
        int tr = -1;
        assert_int_equal(rt_checkpoint_entry(c, i, &nm, &t, &tr), RT_OK);
        assert_string_equal(nm, names[i]);
        assert_int_equal(tr, i == 0);
        assert_int_equal(rt_checkpoint_find(c, names[i]), i);
        rt_tensor live;
        assert_int_equal(rt_session_param(f.s, nm, &live), RT_OK);
        assert_int_equal(t.dtype, live.dtype);
        assert_int_equal(t.rank, live.rank);
        size_t n = rt_dtype_size(t.dtype);
        for (int d = 0; d < t.rank; d++) {
            assert_int_equal(t.dims[d], live.dims[d]);
            n *= (size_t)t.dims[d];
        }
        assert_memory_equal(t.data, live.data, n);
    }
    assert_int_equal(rt_checkpoint_entry(c, 6, NULL, NULL, NULL), RT_ERR_ARG);
    assert_int_equal(rt_checkpoint_find(c, "zz"), -1);
    rt_checkpoint_free(c);

    /* saving again over the file replaces it */
    scramble(f.s, 5);
    assert_int_equal(rt_checkpoint_save(f.s, path, 99, err, sizeof err), RT_OK);
    assert_int_equal(rt_checkpoint_restore(f.s, path, &step, err, sizeof err), RT_OK);
    assert_int_equal(step, 99);
    assert_float_equal(param_f32(f.s, "w")[1], (5 * 100 + 1) * 0.25f, 0);
    assert_int_equal(count_temp_files(), 0);
    free(sa);
    free(sb);
    fx_close(&f);
}

/* A param larger than one 64 MiB chunk. */
static void test_big_param(void **state)
{
    (void)state;
    const int64_t n = ((int64_t)64 << 20) / 4 + 1000; /* two chunks */
    Graphc__Graph *g = tg_new("big");
    uint32_t x = tg_value(g, "x", GRAPHC__VALUE_KIND__VK_INPUT, GRAPHC__DTYPE__DT_F32, "1");
    char dims[32];
    snprintf(dims, sizeof dims, "%lld", (long long)n);
    uint32_t w = tg_value(g, "w", GRAPHC__VALUE_KIND__VK_PARAM, GRAPHC__DTYPE__DT_F32, dims);
    float *data = calloc((size_t)n, sizeof(float));
    tg_data(g, w, data, sizeof(float) * (size_t)n, (size_t)32 << 20);
    free(data);
    uint32_t y = tg_value(g, "y", GRAPHC__VALUE_KIND__VK_NODE, GRAPHC__DTYPE__DT_F32, "1");
    tg_node(g, "relu", "y", 1, &x, 1, &y);
    tg_output(g, y);
    size_t len;
    uint8_t *buf = tg_pack(g, &len);
    tg_free(g);
    rt_model *m;
    rt_session *s;
    char err[1024], path[512];
    assert_int_equal(rt_model_load_buffer(buf, len, &m, err, sizeof err), RT_OK);
    free(buf);
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    float *p = param_f32(s, "w");
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)(i % 1009);
    tu_tmp_path(path, sizeof path, "big.gbc");
    if (rt_checkpoint_save(s, path, 7, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    memset(p, 0, sizeof(float) * (size_t)n);
    int64_t step;
    if (rt_checkpoint_restore(s, path, &step, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    for (int64_t i = 0; i < n; i += 4099)
        assert_float_equal(p[i], (float)(i % 1009), 0);
    assert_float_equal(p[n - 1], (float)((n - 1) % 1009), 0);
    unlink(path);
    rt_session_free(s);
    rt_model_free(m);
}

/* Restoring into a model whose params differ: one message naming each
 * param and what differs; the session keeps every value. */
static void expect_mismatch(int variant, const char *path, const char **parts, int n_parts)
{
    fixture f;
    fx_open(&f, variant);
    size_t l0, l1;
    uint8_t *s0 = snapshot(f.s, &l0);
    char err[1024];
    int64_t step = -5;
    assert_int_equal(rt_checkpoint_restore(f.s, path, &step, err, sizeof err), RT_ERR_ARG);
    for (int i = 0; i < n_parts; i++)
        if (!strstr(err, parts[i]))
            fail_msg("message lacks \"%s\": %s", parts[i], err);
    assert_string_equal(rt_session_last_error(f.s), err);
    assert_int_equal(step, -5);
    uint8_t *s1 = snapshot(f.s, &l1);
    assert_int_equal(l0, l1);
    assert_memory_equal(s0, s1, l0);
    free(s0);
    free(s1);
    fx_close(&f);
}

static void test_mismatch(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, V_BASE);
    char path[512], err[1024];
    tu_tmp_path(path, sizeof path, "base.gbc");
    scramble(f.s, 2);
    assert_int_equal(rt_checkpoint_save(f.s, path, 1, err, sizeof err), RT_OK);
    fx_close(&f);

    const char *shape[] = { "does not match the model 'ckpt_net' (1 problem)",
                            "param 'w.momentum': shape [3, 4] in the model, [4, 3] in the checkpoint" };
    expect_mismatch(V_SHAPE, path, shape, 2);
    const char *dtype[] = { "param 'w.momentum': dtype f64 in the model, f32 in the checkpoint" };
    expect_mismatch(V_DTYPE, path, dtype, 1);
    const char *unknown[] = { "checkpoint entry 'w.momentum' is unknown in the model (no param of that name)" };
    expect_mismatch(V_MISSING, path, unknown, 1);
    const char *missing[] = { "param 'extra' is missing in the checkpoint" };
    expect_mismatch(V_EXTRA, path, missing, 1);
    const char *many[] = { "(2 problems)", "param 'w': shape [2, 6] in the model, [4, 3] in the checkpoint",
                           "param 'extra' is missing in the checkpoint" };
    expect_mismatch(V_MANY, path, many, 3);
    (void)err;
}

/* Every prefix, every single-bit flip and random byte changes: an error
 * (RT_ERR_FORMAT), never a crash, and a session restored from such a file
 * is unchanged. */
static void test_corruption(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, V_BASE);
    char path[512], bad[512], err[1024];
    tu_tmp_path(path, sizeof path, "good.gbc");
    tu_tmp_path(bad, sizeof bad, "bad.gbc");
    scramble(f.s, 4);
    assert_int_equal(rt_checkpoint_save(f.s, path, 77, err, sizeof err), RT_OK);
    size_t len;
    uint8_t *good = tu_read_file(path, &len);
    assert_non_null(good);
    scramble(f.s, 6);
    size_t l0, l1;
    uint8_t *s0 = snapshot(f.s, &l0);
    rt_checkpoint *c = NULL;
    for (size_t n = 0; n < len; n++) {
        rt_status st = rt_checkpoint_load_buffer(good, n, &c, err, sizeof err);
        if (st != RT_ERR_FORMAT)
            fail_msg("prefix %zu of %zu: status %d (%s)", n, len, (int)st, err);
        assert_null(c);
        assert_true(err[0] != 0);
    }
    /* a few prefixes through the file path and restore */
    for (size_t n = 0; n < len; n += len / 7 + 1) {
        FILE *o = fopen(bad, "wb");
        assert_int_equal(fwrite(good, 1, n, o), n);
        fclose(o);
        assert_int_equal(rt_checkpoint_restore(f.s, bad, NULL, err, sizeof err), RT_ERR_FORMAT);
        assert_non_null(strstr(err, bad));
    }
    uint8_t *buf = malloc(len);
    int n_flip = 0;
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(buf, good, len);
            buf[i] ^= (uint8_t)(1u << bit);
            rt_status st = rt_checkpoint_load_buffer(buf, len, &c, err, sizeof err);
            if (st != RT_ERR_FORMAT)
                fail_msg("flip of bit %d of byte %zu: status %d (%s)", bit, i, (int)st, err);
            n_flip++;
        }
    assert_int_equal(n_flip, (int)len * 8);
    srand(12345);
    for (int trial = 0; trial < 3000; trial++) {
        memcpy(buf, good, len);
        int k = 1 + rand() % 4;
        for (int j = 0; j < k; j++)
            buf[(size_t)rand() % len] = (uint8_t)rand();
        if (memcmp(buf, good, len) == 0)
            continue;
        rt_status st = rt_checkpoint_load_buffer(buf, len, &c, err, sizeof err);
        if (st != RT_ERR_FORMAT)
            fail_msg("trial %d: status %d (%s)", trial, (int)st, err);
    }
    /* the same damage through restore: the session keeps its values */
    for (size_t i = 0; i < len; i += 5) {
        memcpy(buf, good, len);
        buf[i] ^= 0x10;
        FILE *o = fopen(bad, "wb");
        assert_int_equal(fwrite(buf, 1, len, o), len);
        fclose(o);
        assert_int_equal(rt_checkpoint_restore(f.s, bad, NULL, err, sizeof err), RT_ERR_FORMAT);
    }
    uint8_t *s1 = snapshot(f.s, &l1);
    assert_memory_equal(s0, s1, l0);
    /* the good file still loads */
    assert_int_equal(rt_checkpoint_load_buffer(good, len, &c, err, sizeof err), RT_OK);
    rt_checkpoint_free(c);
    free(buf);
    free(good);
    free(s0);
    free(s1);
    fx_close(&f);
}

/* ---- hand-made checkpoints with a valid checksum ---- */

static uint8_t *pack_ckpt(const Graphc__Checkpoint *ck, const char *magic, size_t *len)
{
    size_t n = graphc__checkpoint__get_packed_size(ck);
    uint8_t *buf = malloc(n + 8 + 5);
    memcpy(buf, magic, 8);
    graphc__checkpoint__pack(ck, buf + 8);
    uint32_t crc = (uint32_t)crc32(0, buf + 8, (uInt)n);
    uint8_t tail[5] = { 15 << 3 | 5, (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24) };
    memcpy(buf + 8 + n, tail, 5);
    *len = n + 13;
    return buf;
}

static void expect_bad(const Graphc__Checkpoint *ck, const char *magic, const char *want)
{
    size_t len;
    uint8_t *buf = pack_ckpt(ck, magic, &len);
    rt_checkpoint *c = NULL;
    char err[1024];
    rt_status st = rt_checkpoint_load_buffer(buf, len, &c, err, sizeof err);
    free(buf);
    if (st == RT_OK) {
        rt_checkpoint_free(c);
        fail_msg("expected an error with \"%s\"", want);
    }
    assert_int_equal(st, RT_ERR_FORMAT);
    if (!strstr(err, want))
        fail_msg("message lacks \"%s\": %s", want, err);
}

static void test_invalid_fields(void **state)
{
    (void)state;
    float data[6] = { 1, 2, 3, 4, 5, 6 };
    uint8_t bools[2] = { 1, 2 };
    int64_t dims[9] = { 2, 3, 1, 1, 1, 1, 1, 1, 1 };
    ProtobufCBinaryData chunk = { sizeof data, (uint8_t *)data };
    Graphc__Checkpoint__Entry e1, e2;
    Graphc__Checkpoint__Entry *ents[2] = { &e1, &e2 };
    Graphc__Checkpoint ck;
#define RESET() do { \
        graphc__checkpoint__init(&ck); ck.format_version = 1; ck.graph = "g"; ck.step = 3; \
        ck.n_entries = 1; ck.entries = ents; \
        graphc__checkpoint__entry__init(&e1); e1.name = "w"; e1.dtype = GRAPHC__DTYPE__DT_F32; \
        e1.n_dims = 2; e1.dims = dims; e1.n_data = 1; e1.data = &chunk; \
        graphc__checkpoint__entry__init(&e2); e2.name = "v"; e2.dtype = GRAPHC__DTYPE__DT_F32; \
        e2.n_dims = 2; e2.dims = dims; e2.n_data = 1; e2.data = &chunk; \
    } while (0)

    RESET();
    size_t len;
    uint8_t *buf = pack_ckpt(&ck, "GRAPHCK\x01", &len);
    rt_checkpoint *c;
    char err[1024];
    if (rt_checkpoint_load_buffer(buf, len, &c, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    assert_int_equal(rt_checkpoint_step(c), 3);
    rt_checkpoint_free(c);
    free(buf);

    RESET();
    expect_bad(&ck, "GRAPHCK\x02", "checkpoint container version 2 is not supported");
    expect_bad(&ck, "GRAPHCB\x01", "a graph binary, not a checkpoint");
    expect_bad(&ck, "NOTACKPT", "not a checkpoint");
    ck.format_version = 2;
    expect_bad(&ck, "GRAPHCK\x01", "checkpoint format version 2 is not supported");
    RESET();
    e1.name = "";
    expect_bad(&ck, "GRAPHCK\x01", "entry 0 has no name");
    RESET();
    e1.dtype = (Graphc__DType)99;
    expect_bad(&ck, "GRAPHCK\x01", "entry 0 'w' has invalid dtype 99");
    RESET();
    e1.n_dims = 9;
    expect_bad(&ck, "GRAPHCK\x01", "has rank 9 (limit 8)");
    RESET();
    dims[1] = -3;
    expect_bad(&ck, "GRAPHCK\x01", "invalid size -3 in dim 1");
    dims[1] = INT64_MAX / 2;
    expect_bad(&ck, "GRAPHCK\x01", "invalid size");
    dims[1] = 3;
    RESET();
    e1.n_dims = 1; /* 2 values, 24 bytes given */
    expect_bad(&ck, "GRAPHCK\x01", "entry 'w' f32[2] needs 8 bytes of data, it has 24");
    RESET();
    ck.n_entries = 2;
    e2.name = "w";
    expect_bad(&ck, "GRAPHCK\x01", "entry 'w' appears twice");
    RESET();
    ProtobufCBinaryData bchunk = { 2, bools };
    e1.dtype = GRAPHC__DTYPE__DT_BOOL;
    e1.n_dims = 1;
    e1.data = &bchunk;
    expect_bad(&ck, "GRAPHCK\x01", "bool data holds byte 2 at 1");

    /* no checksum at all */
    RESET();
    size_t n = graphc__checkpoint__get_packed_size(&ck);
    buf = malloc(n + 8);
    memcpy(buf, "GRAPHCK\x01", 8);
    graphc__checkpoint__pack(&ck, buf + 8);
    assert_int_equal(rt_checkpoint_load_buffer(buf, n + 8, &c, err, sizeof err), RT_ERR_FORMAT);
    assert_non_null(strstr(err, "the checksum (the last field) is missing"));
    free(buf);
    assert_int_equal(rt_checkpoint_load_buffer(NULL, 0, &c, err, sizeof err), RT_ERR_FORMAT);
    assert_int_equal(rt_checkpoint_load_buffer(NULL, 5, &c, err, sizeof err), RT_ERR_ARG);
    assert_int_equal(rt_checkpoint_load_buffer("x", 1, NULL, err, sizeof err), RT_ERR_ARG);
    assert_int_equal(rt_checkpoint_load_file("/nonexistent/dir/x.gbc", &c, err, sizeof err), RT_ERR_IO);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(rt_checkpoint_load_file(tu_tmpdir, &c, err, sizeof err), RT_ERR_IO);
    assert_true(rt_checkpoint_is_checkpoint("GRAPHCK\x01", 8));
    assert_false(rt_checkpoint_is_checkpoint("GRAPHCB\x01", 8));
#undef RESET
}

/* ---- the atomic write protocol ---- */

static int hook_fail_stage_n;   /* fail the n-th call of hook_stage (1-based) */
static const char *hook_stage;
static int hook_calls;
static int hook_checked;
static char hook_old_path[512];
static uint8_t *hook_old;
static size_t hook_old_len;

static int fail_hook(const char *stage, const char *tmp, const char *path)
{
    (void)tmp;
    (void)path;
    if (strcmp(stage, hook_stage) != 0)
        return 0;
    return ++hook_calls == hook_fail_stage_n;
}

/* At "rename": the temp file is complete and next to the target, and the
 * target still holds the previous checkpoint. */
static int check_hook(const char *stage, const char *tmp, const char *path)
{
    if (strcmp(stage, "rename") != 0)
        return 0;
    const char *ts = strrchr(tmp, '/'), *ps = strrchr(path, '/');
    assert_non_null(ts);
    assert_non_null(ps);
    assert_int_equal(ts - tmp, ps - path);
    assert_memory_equal(tmp, path, (size_t)(ps - path)); /* same directory */
    size_t n;
    uint8_t *now = tu_read_file(path, &n);
    assert_non_null(now);
    assert_int_equal(n, hook_old_len);
    assert_memory_equal(now, hook_old, n);
    free(now);
    rt_checkpoint *c;
    char err[1024];
    assert_int_equal(rt_checkpoint_load_file(tmp, &c, err, sizeof err), RT_OK);
    assert_int_equal(rt_checkpoint_step(c), 2);
    rt_checkpoint_free(c);
    hook_checked++;
    return 0;
}

static void test_atomic_write(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f, V_BASE);
    char path[512], err[1024];
    tu_tmp_path(path, sizeof path, "atomic.gbc");
    scramble(f.s, 1);
    assert_int_equal(rt_checkpoint_save(f.s, path, 1, err, sizeof err), RT_OK);
    size_t len;
    uint8_t *old = tu_read_file(path, &len);
    scramble(f.s, 9);

    /* the temp-file protocol, observed from the hook */
    snprintf(hook_old_path, sizeof hook_old_path, "%s", path);
    hook_old = old;
    hook_old_len = len;
    rt_io_test_hook = check_hook;
    assert_int_equal(rt_checkpoint_save(f.s, path, 2, err, sizeof err), RT_OK);
    rt_io_test_hook = NULL;
    assert_int_equal(hook_checked, 1);
    assert_int_equal(count_temp_files(), 0);
    rt_checkpoint *c;
    assert_int_equal(rt_checkpoint_load_file(path, &c, err, sizeof err), RT_OK);
    assert_int_equal(rt_checkpoint_step(c), 2);
    rt_checkpoint_free(c);
    /* back to the old one for the failure cases */
    FILE *o = fopen(path, "wb");
    assert_int_equal(fwrite(old, 1, len, o), len);
    fclose(o);

    /* a failure at each stage (and mid-way through the data) keeps the old file */
    struct { const char *stage; int nth; const char *msg; } cases[] = {
        { "open", 1, "cannot create the temp file" },
        { "write", 1, "write failed" },
        { "write", 3, "write failed" },
        { "fsync", 1, "fsync failed" },
        { "rename", 1, "cannot rename" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hook_stage = cases[i].stage;
        hook_fail_stage_n = cases[i].nth;
        hook_calls = 0;
        rt_io_test_hook = fail_hook;
        rt_status st = rt_checkpoint_save(f.s, path, 3, err, sizeof err);
        rt_io_test_hook = NULL;
        assert_int_equal(st, RT_ERR_IO);
        if (!strstr(err, cases[i].msg))
            fail_msg("case %zu: message lacks \"%s\": %s", i, cases[i].msg, err);
        assert_string_equal(rt_session_last_error(f.s), err);
        size_t n;
        uint8_t *now = tu_read_file(path, &n);
        assert_int_equal(n, len);
        assert_memory_equal(now, old, len);
        free(now);
        assert_int_equal(count_temp_files(), 0);
    }

    /* a directory that does not exist, and (unless root) a read-only one */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.gbc", tu_tmpdir);
    assert_int_equal(rt_checkpoint_save(f.s, bad, 1, err, sizeof err), RT_ERR_IO);
    assert_non_null(strstr(err, "cannot create the temp file"));
    char ro[600], rop[700];
    snprintf(ro, sizeof ro, "%s/ro", tu_tmpdir);
    assert_int_equal(mkdir(ro, 0755), 0);
    snprintf(rop, sizeof rop, "%s/c.gbc", ro);
    assert_int_equal(rt_checkpoint_save(f.s, rop, 1, err, sizeof err), RT_OK);
    size_t rlen;
    uint8_t *rold = tu_read_file(rop, &rlen);
    chmod(ro, 0555);
    if (geteuid() != 0) {
        scramble(f.s, 12);
        assert_int_equal(rt_checkpoint_save(f.s, rop, 2, err, sizeof err), RT_ERR_IO);
        size_t n;
        uint8_t *now = tu_read_file(rop, &n);
        assert_int_equal(n, rlen);
        assert_memory_equal(now, rold, n);
        free(now);
    }
    chmod(ro, 0755);
    free(rold);

    /* the public helper */
    char plain[600];
    snprintf(plain, sizeof plain, "%s/plain.bin", tu_tmpdir);
    assert_int_equal(rt_file_write_atomic(plain, "hello", 5, err, sizeof err), RT_OK);
    size_t n;
    uint8_t *got = tu_read_file(plain, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(got, "hello", 5);
    free(got);
    assert_int_equal(rt_file_write_atomic(NULL, "x", 1, err, sizeof err), RT_ERR_ARG);
    assert_int_equal(rt_checkpoint_save(f.s, "", 1, err, sizeof err), RT_ERR_ARG);
    assert_int_equal(rt_checkpoint_save(NULL, path, 1, err, sizeof err), RT_ERR_ARG);
    assert_int_equal(rt_checkpoint_restore(f.s, NULL, NULL, err, sizeof err), RT_ERR_ARG);
    free(old);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_views),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_big_param),
        cmocka_unit_test(test_mismatch),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_invalid_fields),
        cmocka_unit_test(test_atomic_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
