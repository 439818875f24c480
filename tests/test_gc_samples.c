/* tests/test_gc_samples.c -- end to end: every sample (and the independent
 * model of tests/data/e2e) is compiled with the compiler library, written as
 * a graph binary in memory, loaded by the runtime, run on the inputs of
 * tests/data/.../inputs, and compared with the NumPy results in .../expected
 * (made by tests/gen_samples_ref.py), with 1 and 2 threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphrt.h"
#include "ir.h"
#include "pass.h"
#include "sema.h"
#include "gc_testutil.h"

typedef struct named { char name[256]; rt_tensor t; } named;

static int load_dir(const char *dir, named *out, int max)
{
    DIR *dd = opendir(dir);
    assert_non_null(dd);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dd)) && n < max) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".npy"))
            continue;
        snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)(len - 4), e->d_name);
        char path[1024], err[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        rt_status st = rt_npy_load(path, &out[n].t, err, sizeof err);
        if (st != RT_OK)
            fprintf(stderr, "%s\n", err);
        assert_int_equal(st, RT_OK);
        n++;
    }
    closedir(dd);
    return n;
}

static double get(const rt_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case RT_F32: return ((const float *)t->data)[i];
    case RT_F64: return ((const double *)t->data)[i];
    case RT_I32: return ((const int32_t *)t->data)[i];
    case RT_I64: return (double)((const int64_t *)t->data)[i];
    default: return NAN;
    }
}

static void check_model_at(const char *model, const char *dir, int level)
{
    rt_model *m = gct_compile_file(model, level);
    char path[1024];
    named ins[8], exp[8];
    snprintf(path, sizeof path, "%s/inputs", dir);
    int n_in = load_dir(path, ins, 8);
    snprintf(path, sizeof path, "%s/expected", dir);
    int n_exp = load_dir(path, exp, 8);
    assert_true(n_in >= 1 && n_exp >= 1);
    const char *feed_names[8], *fetch_names[8];
    rt_tensor feeds[8], got[8];
    for (int i = 0; i < n_in; i++) {
        feed_names[i] = ins[i].name;
        feeds[i] = ins[i].t;
    }
    for (int i = 0; i < n_exp; i++)
        fetch_names[i] = exp[i].name;
    for (int threads = 1; threads <= 2; threads++) {
        rt_session_options o = rt_session_options_default();
        o.n_threads = threads;
        rt_session *s = NULL;
        char err[512];
        assert_int_equal(rt_session_create(m, &o, &s, err, sizeof err), RT_OK);
        for (int rep = 0; rep < 2; rep++) {
            rt_status st = rt_session_run(s, n_in, feed_names, feeds, n_exp, fetch_names, got);
            if (st != RT_OK)
                fprintf(stderr, "%s: %s\n", model, rt_session_last_error(s));
            assert_int_equal(st, RT_OK);
            for (int k = 0; k < n_exp; k++) {
                const rt_tensor *e = &exp[k].t, *g = &got[k];
                assert_int_equal(g->rank, e->rank);
                int64_t n = 1;
                for (int d = 0; d < e->rank; d++) {
                    assert_int_equal(g->dims[d], e->dims[d]);
                    n *= e->dims[d];
                }
                double scale = 0;
                for (int64_t i = 0; i < n; i++)
                    scale = fmax(scale, fabs(get(e, i)));
                double worst = 0;
                for (int64_t i = 0; i < n; i++) {
                    double a = get(g, i), b = get(e, i);
                    double tol = 1e-5 * fabs(b) + 1e-6 * scale;
                    if (e->dtype == RT_I64 || e->dtype == RT_I32)
                        tol = 0;
                    if (!(fabs(a - b) <= tol)) {
                        fprintf(stderr, "%s: %s[%lld] = %.9g, NumPy %.9g\n", model, exp[k].name, (long long)i, a, b);
                        fail();
                    }
                    worst = fmax(worst, fabs(a - b) / (fabs(b) + 1e-30));
                }
                if (rep == 0 && threads == 1)
                    fprintf(stderr, "%-28s -O%d %-8s max rel diff %.2e\n", model, level, exp[k].name, worst);
            }
        }
        rt_session_free(s);
    }
    for (int i = 0; i < n_in; i++)
        free(ins[i].t.data);
    for (int i = 0; i < n_exp; i++)
        free(exp[i].t.data);
    rt_model_free(m);
}

/* Every optimization level must give the NumPy results. */
static void check_model(const char *model, const char *dir)
{
    for (int level = 0; level <= 2; level++)
        check_model_at(model, dir, level);
}

static void test_two_layer_net(void **s) { (void)s; check_model("samples/two_layer_net.g", "tests/data/samples/two_layer_net"); }
static void test_mlp(void **s) { (void)s; check_model("samples/mlp.g", "tests/data/samples/mlp"); }
static void test_lenet(void **s) { (void)s; check_model("samples/lenet.g", "tests/data/samples/lenet"); }
static void test_resnet_block(void **s) { (void)s; check_model("samples/resnet_block.g", "tests/data/samples/resnet_block"); }
static void test_independent_model(void **s) { (void)s; check_model("tests/data/e2e/model.g", "tests/data/e2e"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_layer_net),
        cmocka_unit_test(test_mlp),
        cmocka_unit_test(test_lenet),
        cmocka_unit_test(test_resnet_block),
        cmocka_unit_test(test_independent_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
