/* tests/test_gc_fuzz.c -- robustness of the whole compiler on broken model
 * files: every sample and golden model is mutated thousands of times
 * (deterministic PRNG: byte flips, deletions, duplicated and swapped lines,
 * truncation, inserted tokens) and compiled through sema, the passes and
 * emit, and any result is loaded by the runtime. Each must end in a graph or
 * in reported errors -- never a crash, hang or sanitizer report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graphrt.h"
#include "ir.h"
#include "pass.h"
#include "sema.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

static const char *const tokens[] = {
    "(", ")", "[", "]", "{", "}", ",", ":", "=", "@", "**", "-", "...", "\n", "x", "N", "f32",
    "param", "input", "output", "module", "forward", "return", "graph", "1e400", "99999999999999999999",
    "-1", "0", "Linear(", "relu", "[[1,2],[3]]", "\"s", "::", "not", "Sequential(", "reshape(x, [0, -1])",
};

/* One mutation of src into out (at most cap bytes). */
static size_t mutate(const char *src, size_t len, char *out, size_t cap)
{
    size_t n = len < cap ? len : cap;
    memcpy(out, src, n);
    int kind = (int)(next() % 6);
    size_t at = n ? next() % n : 0;
    switch (kind) {
    case 0: /* flip a byte (never to NUL: sources with NUL are rejected earlier) */
        if (n)
            out[at] = (char)(1 + next() % 255);
        break;
    case 1: { /* delete a span */
        size_t k = next() % 16;
        if (at + k > n)
            k = n - at;
        memmove(out + at, out + at + k, n - at - k);
        n -= k;
        break;
    }
    case 2: /* truncate */
        n = at;
        break;
    case 3: { /* insert a token */
        const char *t = tokens[next() % (sizeof tokens / sizeof tokens[0])];
        size_t tl = strlen(t);
        if (n + tl < cap) {
            memmove(out + at + tl, out + at, n - at);
            memcpy(out + at, t, tl);
            n += tl;
        }
        break;
    }
    case 4: { /* duplicate a span */
        size_t k = next() % 64;
        if (at + k > n)
            k = n - at;
        if (n + k < cap) {
            memmove(out + at + k, out + at, n - at);
            n += k;
        }
        break;
    }
    default: { /* swap two bytes far apart */
        size_t b = n ? next() % n : 0;
        if (n) {
            char c = out[at];
            out[at] = out[b];
            out[b] = c;
        }
        break;
    }
    }
    return n;
}

static int compile_one(const char *path, const char *text, size_t len, int *compiled)
{
    gc_arena *a = gc_arena_new();
    FILE *sink = fopen("/dev/null", "w");
    gc_diag d;
    gc_diag_init(&d, a, sink);
    int f = gc_source_add(&d, path, text, (int)len);
    gc_graph *g = f >= 0 ? gc_sema(&d, a, f, NULL) : NULL;
    int ok = 1;
    if (g) {
        gc_opt_opts o = { .level = 2 };
        if (gc_optimize(g, &d, &o, NULL) == 0) {
            void *buf;
            size_t blen;
            if (gc_emit_buffer(g, &d, &buf, &blen, &d) == 0) {
                rt_model *m = NULL;
                char err[256];
                /* what the compiler writes, the runtime must accept */
                ok = rt_model_load_buffer(buf, blen, &m, err, sizeof err) == RT_OK;
                if (!ok)
                    fprintf(stderr, "runtime rejected a compiled mutant of %s: %s\n", path, err);
                rt_model_free(m);
                free(buf);
                (*compiled)++;
            }
        }
    } else if (d.n_errors == 0) {
        fprintf(stderr, "%s: no graph and no error\n", path);
        ok = 0;
    }
    fclose(sink);
    gc_arena_free(a);
    return ok;
}

static void test_mutated_models(void **state)
{
    (void)state;
    const char *dirs[] = { "samples", "tests/golden" };
    int n_models = 0, n_runs = 0, compiled = 0, bad = 0;
    char *buf = malloc(1 << 16);
    for (size_t di = 0; di < 2; di++) {
        DIR *dir = opendir(dirs[di]);
        assert_non_null(dir);
        struct dirent *e;
        while ((e = readdir(dir))) {
            size_t l = strlen(e->d_name);
            if (l < 3 || strcmp(e->d_name + l - 2, ".g"))
                continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dirs[di], e->d_name);
            size_t len = 0;
            char *src = read_all(path, &len);
            assert_non_null(src);
            n_models++;
            int per = di == 0 ? 300 : 60;
            for (int k = 0; k < per; k++) {
                size_t n = mutate(src, len, buf, (1 << 16) - 1);
                if (k % 3 == 2) /* stack mutations */
                    n = mutate(buf, n, buf, (1 << 16) - 1);
                bad += !compile_one(path, buf, n, &compiled);
                n_runs++;
            }
            free(src);
        }
        closedir(dir);
    }
    free(buf);
    fprintf(stderr, "fuzz: %d models, %d mutants, %d compiled and loaded\n", n_models, n_runs, compiled);
    assert_true(n_models >= 10);
    assert_true(compiled > 0);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutated_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
