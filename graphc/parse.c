/* graphc/parse.c -- gc_parse, the driver of the scanner (lexer.l) and the
 * parser (parser.y) for one source file, and the small helpers the grammar's
 * actions share (arena pointer arrays). */
#include <setjmp.h>
#include <string.h>

#include "ast.h"
#include "parser.h"
#include "lexer.h"

gc_pvec *gc_pvec_push(gc_pstate *P, gc_pvec *v, void *x)
{
    if (!v) {
        v = gc_alloc(P->a, sizeof *v);
        if (!v)
            return NULL;
    }
    if (gc_grow(P->a, (void **)&v->v, &v->cap, v->n + 1, sizeof(void *)) == 0)
        v->v[v->n++] = x;
    return v;
}

void **gc_pvec_array(gc_pstate *P, const gc_pvec *v, int *n)
{
    *n = 0;
    if (!v || v->n == 0)
        return NULL;
    void **a = gc_alloc(P->a, (size_t)v->n * sizeof *a);
    if (!a)
        return NULL;
    memcpy(a, v->v, (size_t)v->n * sizeof *a);
    *n = v->n;
    return a;
}

ast_file *gc_parse(gc_diag *d, int file)
{
    if (!d || file < 0 || file >= d->n_files)
        return NULL;
    const gc_source *src = &d->files[file];
    int errors_before = d->n_errors;
    /* In the arena, not on the stack: it is live across the setjmp. */
    gc_pstate *P = gc_alloc(d->arena, sizeof *P);
    jmp_buf *jb = gc_alloc(d->arena, sizeof *jb);
    if (!P || !jb) {
        gc_error(d, GC_NOLOC, "out of memory parsing '%s'", src->path);
        return NULL;
    }
    P->d = d;
    P->a = d->arena;
    P->file = file;
    P->len = src->len;
    P->fatal = jb;

    yyscan_t sc;
    if (yylex_init_extra(P, &sc) != 0) {
        gc_error(d, GC_NOLOC, "out of memory parsing '%s'", src->path);
        return NULL;
    }
    int rc;
    if (setjmp(*jb) == 0) {
        yy_scan_bytes(src->text, src->len, sc);
        rc = yyparse(sc, P);
    } else {
        rc = 3; /* the scanner failed (out of memory) */
    }
    yylex_destroy(sc);

    if (rc == 3 || gc_arena_failed(d->arena)) {
        gc_error(d, GC_NOLOC, "out of memory parsing '%s'", src->path);
        return NULL;
    }
    if (rc != 0 && d->n_errors == errors_before)
        gc_error(d, (gc_loc){ file, src->len }, "syntax error");
    ast_file *f = gc_alloc(d->arena, sizeof *f);
    if (!f) {
        gc_error(d, GC_NOLOC, "out of memory parsing '%s'", src->path);
        return NULL;
    }
    f->file = file;
    f->items = (ast_item **)gc_pvec_array(P, P->items, &f->n_items);
    return f;
}
