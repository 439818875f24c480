/* graphc/pass.h -- the pass manager: every optimization is a named pass
 * (IR -> IR) with the lowest -O level that runs it; each can be disabled by
 * name, and each reports what it did (ops before/after and every rewrite)
 * for `graphc compile --report` / `--report-json`. Passes live one per file
 * (graphc/pass_<name>.c) and are listed in the table of pass.c. */
#ifndef GC_PASS_H
#define GC_PASS_H

#include <stdio.h>
#include "ir.h"

typedef struct gc_rewrite {
    const char *text;          /* "mul_3(x, 1) -> x" */
    struct gc_rewrite *next;
} gc_rewrite;

typedef struct gc_pass_report {
    const char *name;
    int ran;                   /* 0: skipped (level or --disable-pass) */
    int ops_before, ops_after; /* live nodes */
    int n_rewrites;
    gc_rewrite *rewrites, *last;
    double ms;
    const char *summary;       /* optional one-line summary by the pass */
} gc_pass_report;

typedef struct gc_report {
    int level;
    int n_passes;
    gc_pass_report passes[32];
} gc_report;

typedef struct gc_pass_ctx {
    gc_graph *g;
    gc_diag *d;
    int level;                 /* 0, 1, 2 */
    gc_pass_report *rep;       /* of the running pass */
    int64_t fold_limit;        /* constant folding: largest result in elements */
} gc_pass_ctx;

/* A pass returns 0, or -1 after reporting an error to ctx->d. */
typedef int (*gc_pass_fn)(gc_pass_ctx *ctx);

typedef struct gc_pass {
    const char *name;
    int min_level;             /* runs at -O<min_level> and above */
    gc_pass_fn run;
    const char *doc;
} gc_pass;

/* Pass entry points, one file each (graphc/pass_<name>.c). */
int gc_pass_simplify(gc_pass_ctx *ctx);  /* pass_simplify.c */
int gc_pass_fold(gc_pass_ctx *ctx);      /* pass_fold.c */
int gc_pass_cse(gc_pass_ctx *ctx);       /* pass_cse.c */
int gc_pass_fold_bn(gc_pass_ctx *ctx);   /* pass_fold_bn.c */
int gc_pass_fuse_gemm(gc_pass_ctx *ctx); /* pass_fuse_gemm.c */
int gc_pass_fuse_ew(gc_pass_ctx *ctx);   /* pass_fuse_ew.c */
int gc_pass_layout(gc_pass_ctx *ctx);    /* pass_layout.c */
int gc_pass_dce(gc_pass_ctx *ctx);       /* pass_dce.c */
int gc_pass_memplan(gc_pass_ctx *ctx);   /* pass_memplan.c */

/* The passes in the order they run (pass.c). */
extern const gc_pass gc_passes[];
extern const int gc_n_passes;
const gc_pass *gc_pass_find(const char *name);

typedef struct gc_opt_opts {
    int level;                 /* -O level */
    int n_disabled;
    const char *const *disabled; /* pass names */
    int64_t fold_limit;        /* 0: default (1 << 20 elements) */
} gc_opt_opts;

/* Runs the passes for opts on g, filling report (may be NULL). Returns 0 or
 * -1 (errors reported to d). The graph stays in a valid execution order. */
int gc_optimize(gc_graph *g, gc_diag *d, const gc_opt_opts *opts, gc_report *report);

/* Records one rewrite of the running pass (printf style). */
void gc_pass_note(gc_pass_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void gc_report_print(FILE *out, const gc_report *r);
void gc_report_json(FILE *out, const gc_report *r);

#endif
