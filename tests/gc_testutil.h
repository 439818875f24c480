/* tests/gc_testutil.h -- compiling model sources in the compiler's tests
 * (tests/test_gc_*.c, which link the compiler and the runtime), static
 * inline and header-only: a model file or source text through sema, the
 * passes and emit into a graph binary in memory, optionally loaded by the
 * runtime. */
#ifndef GC_TESTUTIL_H
#define GC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphrt.h"
#include "pass.h"
#include "sema.h"

/* The graph binary (malloc'ed, *len bytes) of the model file path (src NULL)
 * or of the source text src named path, at -O level; the compile must
 * succeed (its diagnostics go to stderr). */
static inline void *gct_emit(const char *path, const char *src, int level, size_t *len)
{
    gc_arena *a = gc_arena_new();
    gc_diag d;
    gc_diag_init(&d, a, stderr);
    int f = src ? gc_source_add(&d, path, src, (int)strlen(src)) : gc_source_load(&d, path, GC_NOLOC);
    assert_true(f >= 0);
    gc_graph *g = gc_sema(&d, a, f, NULL);
    assert_non_null(g);
    gc_opt_opts oo = { .level = level };
    assert_int_equal(gc_optimize(g, &d, &oo, NULL), 0);
    void *buf = NULL;
    assert_int_equal(gc_emit_buffer(g, &d, &buf, len, &d), 0);
    gc_arena_free(a);
    return buf;
}

/* The model file path compiled at -O level and loaded; both must succeed. */
static inline rt_model *gct_compile_file(const char *path, int level)
{
    size_t len;
    void *buf = gct_emit(path, NULL, level, &len);
    rt_model *m = NULL;
    char err[512];
    rt_status st = rt_model_load_buffer(buf, len, &m, err, sizeof err);
    if (st != RT_OK)
        fprintf(stderr, "%s: %s\n", path, err);
    assert_int_equal(st, RT_OK);
    free(buf);
    return m;
}

/* Compiles source text (file name path, for messages and relative paths) at
 * -O level and loads it; NULL when it does not compile or load, with the
 * diagnostics in *diag (malloc'ed, may be NULL) when diag is given, else on
 * stderr. */
static inline rt_model *gct_compile_text(const char *path, const char *src, int level, char **diag)
{
    char *dbuf = NULL;
    size_t dlen = 0;
    FILE *df = open_memstream(&dbuf, &dlen);
    assert_non_null(df);
    gc_arena *a = gc_arena_new();
    gc_diag d;
    gc_diag_init(&d, a, df);
    rt_model *m = NULL;
    int f = gc_source_add(&d, path, src, (int)strlen(src));
    assert_true(f >= 0);
    gc_graph *g = gc_sema(&d, a, f, NULL);
    if (g) {
        gc_opt_opts oo = { .level = level };
        void *buf = NULL;
        size_t len = 0;
        if (gc_optimize(g, &d, &oo, NULL) == 0 && gc_emit_buffer(g, &d, &buf, &len, &d) == 0) {
            char err[512];
            if (rt_model_load_buffer(buf, len, &m, err, sizeof err) != RT_OK)
                fprintf(df, "load: %s\n", err);
        }
        free(buf);
    }
    gc_arena_free(a);
    fclose(df);
    if (diag) {
        *diag = dbuf;
    } else {
        if (!m && dbuf)
            fprintf(stderr, "%s", dbuf);
        free(dbuf);
    }
    return m;
}

#endif
