/* graphc/sema.h -- semantic analysis: AST -> IR. Resolves names and imports,
 * expands module instances (params named hierarchically, net.fc1.weight),
 * evaluates compile-time values (module arguments, dims, attributes), infers
 * every dtype and shape with the op table's rules, and reports errors at
 * file:line:col. */
#ifndef GC_SEMA_H
#define GC_SEMA_H

#include "ast.h"
#include "ir.h"

typedef struct gc_sema_opts {
    const char *graph_name; /* which graph of the main file; NULL: the only one */
    int no_prelude;         /* do not load the standard modules (std/nn.g) */
} gc_sema_opts;

/* Compiles source file `file` (already in d's table) to an IR graph in arena
 * a. Returns NULL when there were errors (all reported to d). */
gc_graph *gc_sema(gc_diag *d, gc_arena *a, int file, const gc_sema_opts *opts);

/* The standard module library, compiled into graphc (build/gen/stdlib.c). */
extern const char gc_stdlib_nn[];

#endif
