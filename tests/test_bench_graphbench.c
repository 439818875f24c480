/* tests/test_bench_graphbench.c -- graphbench (bench/graphbench.c) as a user
 * runs it, on small graphs written here: the JSON has the fields the
 * optimizer issue names and they hold what they say (the -O2 graph is the
 * fused one, outputs agree), two binaries that disagree make it print FAIL
 * and exit 1, --bisect shows each pass, --entry benchmarks a training step
 * (feeding a learning-rate input itself), and bad options are errors.
 * Timings are only checked to be positive numbers: speed is the business of
 * `make bench`, not of tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char graphc[1100], graphbench[1100];

static const char *chain_src = "graph chain {\n"
                               "  input x: f32[N, 8]\n"
                               "  y = tanh(x * 0.5) + sigmoid(x) * 2.0\n"
                               "  output y\n"
                               "}\n";
static const char *times2_src = "graph scale {\n  input x: f32[N, 4]\n  output y = x * 2.0\n}\n";
static const char *times3_src = "graph scale {\n  input x: f32[N, 4]\n  output y = x * 3.0\n}\n";
static const char *train_src = "graph tiny_lr {\n"
                               "  input x: f32[N, 4]\n"
                               "  input y: i32[N]\n"
                               "  input lr: f32\n"
                               "  param w: f32[4, 10] = normal(std=0.1, seed=1)\n"
                               "  loss = cross_entropy(x @ w, y)\n"
                               "  output loss\n"
                               "  train loss with sgd(lr=lr, momentum=0.9)\n"
                               "}\n";

/* The number after "key": inside the object that starts at `within` (or
 * anywhere when within is NULL); fails when absent or not a number. */
static double json_num(const char *json, const char *within, const char *key)
{
    const char *p = json;
    if (within) {
        p = strstr(json, within);
        if (!p)
            fail_msg("no %s in:\n%s", within, json);
    }
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    p = strstr(p, pat);
    if (!p)
        fail_msg("no \"%s\" (after %s) in:\n%s", key, within ? within : "the start", json);
    char *end;
    double v = strtod(p + strlen(pat), &end);
    if (end == p + strlen(pat))
        fail_msg("\"%s\" is not a number in:\n%s", key, json);
    return v;
}

/* Writes src to <tmpdir>/<name> and puts that path in g (512 bytes). */
static void model_file(char *g, const char *name, const char *src)
{
    snprintf(g, 512, "%s/%s", tu_tmpdir, name);
    tu_write_file(g, src, strlen(src));
}

static void compile_to(const char *src, const char *name)
{
    char g[512], gb[512], cmd[2400];
    snprintf(g, sizeof g, "%s/%s.g", tu_tmpdir, name);
    snprintf(gb, sizeof gb, "%s/%s.gb", tu_tmpdir, name);
    tu_write_file(g, src, strlen(src));
    snprintf(cmd, sizeof cmd, "%s compile %s -o %s > /dev/null", graphc, g, gb);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    (void)state;
    if (tu_build_tool(graphc, sizeof graphc, "graphc") || tu_build_tool(graphbench, sizeof graphbench, "graphbench"))
        return -1;
    return tu_tmpdir_make("graphbench");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove();
    return 0;
}

/* -O0 vs -O2 of a model file: the JSON fields, per level and at the top. */
static void test_json_levels(void **state)
{
    (void)state;
    char g[512], js[512];
    model_file(g, "chain.g", chain_src);
    tu_tmp_path(js, sizeof js, "chain.json");
    char *out = tu_expect_ok("graphbench",
            tu_run("%s %s --batch 16 --runs 5 --warmup 1 --threads 1 --json %s", graphbench,
                   g, js));
    assert_non_null(strstr(out, "speed-up -O2 vs -O0"));
    assert_non_null(strstr(out, "all outputs agree within tol"));
    assert_non_null(strstr(out, "profile -O2"));
    free(out);
    size_t len;
    char *json = (char *)tu_read_file(js, &len);
    assert_non_null(json);
    const char *keys[] = { "median_ms", "p99_ms", "peak_arena_bytes", "load_ms", "first_run_ms", "peak_rss_bytes" };
    for (int l = 0; l < 2; l++) {
        const char *lv = l ? "\"O2\": {" : "\"O0\": {";
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            assert_true(json_num(json, lv, keys[k]) > 0);
        assert_true(json_num(json, lv, "examples_per_s") > 0);
    }
    /* the -O2 graph is the fused one: one node against five, and a smaller arena */
    assert_true(json_num(json, "\"O0\": {", "nodes") == 5);
    assert_true(json_num(json, "\"O2\": {", "nodes") == 1);
    assert_true(json_num(json, "\"O2\": {", "peak_arena_bytes") < json_num(json, "\"O0\": {", "peak_arena_bytes"));
    double med0 = json_num(json, "\"O0\": {", "median_ms"), med2 = json_num(json, "\"O2\": {", "median_ms");
    double speedup = json_num(json, NULL, "speedup");
    assert_true(speedup > 0.999 * med0 / med2 && speedup < 1.001 * med0 / med2);
    /* fusion keeps the bits here: the diffs are exactly 0 */
    assert_true(json_num(json, NULL, "max_abs_diff") == 0);
    assert_true(json_num(json, NULL, "max_rel_diff") == 0);
    assert_non_null(strstr(json, "\"ok\": true"));
    assert_non_null(strstr(json, "\"entry\": null"));
    free(json);
}

/* Two binaries whose outputs differ: FAIL, exit 1, and the JSON says so. */
static void test_disagreement_fails(void **state)
{
    (void)state;
    compile_to(times2_src, "two");
    compile_to(times3_src, "three");
    char js[512];
    tu_tmp_path(js, sizeof js, "dis.json");
    tu_result r = tu_run("%s %s/two.gb %s/three.gb --batch 4 --runs 3 --warmup 0 --no-rss --json %s", graphbench,
                         tu_tmpdir, tu_tmpdir, js);
    if (r.rc != 1 || !strstr(r.out, "FAIL: three.gb disagrees with two.gb"))
        fail_msg("expected FAIL and exit 1, got exit %d:\n%s", r.rc, r.out);
    free(r.out);
    size_t len;
    char *json = (char *)tu_read_file(js, &len);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"ok\": false"));
    double rel = json_num(json, NULL, "max_rel_diff"); /* |3x - 2x| / max|2x| = 0.5 */
    assert_true(rel > 0.49 && rel < 0.51);
    free(json);
    /* the same binary twice agrees */
    char *out = tu_expect_ok("same",
            tu_run("%s %s/two.gb %s/two.gb --batch 4 --runs 3 --warmup 0 --no-rss", graphbench,
                   tu_tmpdir, tu_tmpdir));
    assert_non_null(strstr(out, "all outputs agree within tol"));
    free(out);
}

/* --bisect: a line per pass, fuse_ew's with its rewrite, the untouched
 * passes recognised as giving the same binary. */
static void test_bisect(void **state)
{
    (void)state;
    char g[512];
    model_file(g, "chain_b.g", chain_src);
    char *out = tu_expect_ok("bisect", tu_run("%s %s --batch 16 --runs 3 --warmup 0 --no-rss --bisect", graphbench, g));
    assert_non_null(strstr(out, "bisect from -O2"));
    const char *l = strstr(out, "    fuse_ew ");
    assert_non_null(l);
    int nodes = 0, rewrites = 0;
    assert_int_equal(sscanf(l, " fuse_ew %d %d", &nodes, &rewrites), 2);
    assert_int_equal(nodes, 5); /* without fusion the five ops stay */
    assert_int_equal(rewrites, 1);
    l = strstr(out, "    fuse_gemm ");
    assert_non_null(l);
    assert_non_null(strstr(l, "same binary"));
    free(out);
}

/* --entry train: a training step per run, the loss compared, the fed
 * learning rate supplied by graphbench; errors for a missing entry. */
static void test_entry_train(void **state)
{
    (void)state;
    char g[512], js[512];
    model_file(g, "tiny_lr.g", train_src);
    tu_tmp_path(js, sizeof js, "train.json");
    char *out = tu_expect_ok("entry",
            tu_run("%s %s --entry train --lr 0.1 --batch 8 --runs 4 --warmup 1 --no-rss --json %s",
                   graphbench, g, js));
    assert_non_null(strstr(out, "entry point 'train'"));
    assert_non_null(strstr(out, "loss "));
    assert_non_null(strstr(out, "after 6 steps each"));
    free(out);
    size_t len;
    char *json = (char *)tu_read_file(js, &len);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"entry\": \"train\""));
    assert_true(json_num(json, "\"O2\": {", "last_step_max_rel_diff") >= 0);
    assert_true(json_num(json, "\"O2\": {", "median_ms") > 0);
    /* every run was an update: 6 SGD steps on the same batch lower its loss,
     * the same way at both levels (the first step is the same math) */
    for (int l = 0; l < 2; l++) {
        const char *lv = l ? "\"O2\": {" : "\"O0\": {";
        double first = json_num(json, lv, "first_loss"), last = json_num(json, lv, "last_loss");
        assert_true(first > 2.0 && first < 2.5); /* about ln 10: small random weights */
        assert_true(last < first - 0.01);
    }
    assert_true(json_num(json, "\"O0\": {", "first_loss") == json_num(json, "\"O2\": {", "first_loss"));
    free(json);
    /* --lr 0 is fed to the lr input: the params do not move */
    out = tu_expect_ok("lr 0",
            tu_run("%s %s --entry train --lr 0 --batch 8 --runs 4 --warmup 1 --no-rss --json %s",
                   graphbench, g, js));
    free(out);
    json = (char *)tu_read_file(js, &len);
    assert_non_null(json);
    assert_true(json_num(json, "\"O2\": {", "first_loss") == json_num(json, "\"O2\": {", "last_loss"));
    free(json);
    tu_expect_rc(tu_run("%s %s --entry bogus --runs 1 --no-rss", graphbench, g), 1,
              "no entry point 'bogus' (predict, train, grad, apply)");
    char c[512];
    model_file(c, "chain_e.g", chain_src);
    tu_expect_rc(tu_run("%s %s --entry train --runs 1 --no-rss", graphbench, c), 1, "it is an inference graph");
    tu_expect_rc(tu_run("%s %s --entry train --lr nan", graphbench, g), 2, "--lr needs a number");
    tu_expect_rc(tu_run("%s %s --runs 0", graphbench, g), 2, "--runs needs an integer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_levels),
        cmocka_unit_test(test_disagreement_fails),
        cmocka_unit_test(test_bisect),
        cmocka_unit_test(test_entry_train),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
