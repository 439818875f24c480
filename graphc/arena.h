/* graphc/arena.h -- the compile arena: every AST node, IR node, string and
 * diagnostic of one compilation is allocated here and freed in one call.
 * Allocation failure is reported through gc_arena_failed(), never by abort. */
#ifndef GC_ARENA_H
#define GC_ARENA_H

#include <stddef.h>

typedef struct gc_arena gc_arena;

gc_arena *gc_arena_new(void);                 /* NULL when out of memory */
void gc_arena_free(gc_arena *a);              /* frees everything; NULL ok */
/* Zeroed memory aligned for any type; NULL when out of memory (the arena
 * then remembers the failure: gc_arena_failed returns 1). */
void *gc_alloc(gc_arena *a, size_t size);
char *gc_strdup(gc_arena *a, const char *s);
char *gc_strndup(gc_arena *a, const char *s, size_t n);
char *gc_sprintf(gc_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Grows *arr (of *cap elements of size elem) to hold at least need elements,
 * copying into new arena memory; returns 0, or -1 when out of memory. */
int gc_grow(gc_arena *a, void **arr, int *cap, int need, size_t elem);
int gc_arena_failed(const gc_arena *a);
size_t gc_arena_used(const gc_arena *a);

#endif
