/* graphc/arena.c -- a bump allocator over a list of blocks (see arena.h). */
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct block {
    struct block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} block;

struct gc_arena {
    block *head;
    size_t total;
    int failed;
};

gc_arena *gc_arena_new(void) { return calloc(1, sizeof(gc_arena)); }

void gc_arena_free(gc_arena *a)
{
    if (!a)
        return;
    block *b = a->head;
    while (b) {
        block *n = b->next;
        free(b);
        b = n;
    }
    free(a);
}

void *gc_alloc(gc_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t bs = size > 65536 ? size : 65536;
        b = malloc(sizeof(block) + bs);
        if (!b) {
            a->failed = 1;
            return NULL;
        }
        b->size = bs;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    a->total += size;
    memset(p, 0, size);
    return p;
}

char *gc_strndup(gc_arena *a, const char *s, size_t n)
{
    char *p = gc_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

char *gc_strdup(gc_arena *a, const char *s) { return gc_strndup(a, s, strlen(s)); }

char *gc_sprintf(gc_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n >= 0 ? gc_alloc(a, (size_t)n + 1) : NULL;
    if (p)
        vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

int gc_grow(gc_arena *a, void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int nc = *cap ? *cap * 2 : 8;
    while (nc < need)
        nc *= 2;
    void *n = gc_alloc(a, (size_t)nc * elem);
    if (!n)
        return -1;
    if (*arr && *cap)
        memcpy(n, *arr, (size_t)*cap * elem);
    *arr = n;
    *cap = nc;
    return 0;
}

int gc_arena_failed(const gc_arena *a) { return a->failed; }
size_t gc_arena_used(const gc_arena *a) { return a->total; }
