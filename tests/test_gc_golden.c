/* tests/test_gc_golden.c -- golden tests of the compiler: every
 * tests/golden/NAME.g is compiled; when NAME.err exists the diagnostics must
 * equal it exactly (file:line:col, message, source line, caret), when
 * NAME.ir exists the IR text must equal it. GOLDEN_UPDATE=1 rewrites the
 * expected files from the current output (review the diff!). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "sema.h"

#define DIR_ "tests/golden"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n] = 0;
    fclose(f);
    return b;
}

static void write_all(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static int compare(const char *path, const char *got, int *n_checked)
{
    char *want = read_all(path);
    if (!want)
        return 0;
    (*n_checked)++;
    int ok = strcmp(want, got) == 0;
    if (!ok && getenv("GOLDEN_UPDATE")) {
        write_all(path, got);
        ok = 1;
    }
    if (!ok)
        fprintf(stderr, "--- %s expected:\n%s--- got:\n%s---\n", path, want, got);
    free(want);
    return ok;
}

static void test_golden_files(void **state)
{
    (void)state;
    DIR *dir = opendir(DIR_);
    assert_non_null(dir);
    struct dirent *e;
    int n_files = 0, n_checked = 0, n_bad = 0;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 2, ".g") != 0)
            continue;
        char path[1024], base[1024];
        snprintf(path, sizeof path, DIR_ "/%s", e->d_name);
        snprintf(base, sizeof base, DIR_ "/%.*s", (int)(len - 2), e->d_name);
        n_files++;
        char *diag = NULL, *ir = NULL;
        size_t dlen = 0, ilen = 0;
        FILE *df = open_memstream(&diag, &dlen);
        gc_arena *a = gc_arena_new();
        gc_diag d;
        gc_diag_init(&d, a, df);
        int f = gc_source_load(&d, path, GC_NOLOC);
        gc_graph *g = f >= 0 ? gc_sema(&d, a, f, NULL) : NULL;
        FILE *irf = open_memstream(&ir, &ilen);
        if (g)
            gc_ir_print(irf, g, &d);
        fclose(irf);
        fclose(df);
        char want_path[1100];
        snprintf(want_path, sizeof want_path, "%s.err", base);
        int has_err = 0;
        FILE *probe = fopen(want_path, "r");
        if (probe) {
            has_err = 1;
            fclose(probe);
        }
        if (has_err) {
            if (g) {
                fprintf(stderr, "%s: compiled, but errors were expected\n", path);
                n_bad++;
            }
            n_bad += !compare(want_path, diag, &n_checked);
        } else if (!g || d.n_errors) {
            fprintf(stderr, "%s: unexpected errors:\n%s", path, diag);
            n_bad++;
        }
        snprintf(want_path, sizeof want_path, "%s.ir", base);
        if (g)
            n_bad += !compare(want_path, ir, &n_checked);
        free(diag);
        free(ir);
        gc_arena_free(a);
    }
    closedir(dir);
    fprintf(stderr, "golden: %d model files, %d expected files compared\n", n_files, n_checked);
    assert_true(n_files >= 10);
    assert_true(n_checked >= n_files);
    assert_int_equal(n_bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
