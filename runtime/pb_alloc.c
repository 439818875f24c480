/* runtime/pb_alloc.c -- the memory-limiting allocator for protobuf-c
 * (rt_pb.h) that the loader and the checkpoint reader unpack with: a corrupt
 * length can not make protobuf-c allocate without bound, and "no memory" is
 * told from "corrupt". Each block carries its size in a 16-byte header. */
#include "rt_pb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LA_HDR 16

static void *la_alloc(void *ud, size_t n)
{
    rt_pb_alloc *a = ud;
    if (n > a->limit - a->used || n > SIZE_MAX - LA_HDR) {
        a->failed = 1;
        return NULL;
    }
    unsigned char *p = malloc(n + LA_HDR);
    if (!p) {
        a->failed = 1;
        return NULL;
    }
    memcpy(p, &n, sizeof n);
    a->used += n;
    return p + LA_HDR;
}

static void la_free(void *ud, void *ptr)
{
    rt_pb_alloc *a = ud;
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - LA_HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    a->used -= n;
    free(p);
}

void rt_pb_alloc_init(rt_pb_alloc *a, size_t body_len)
{
    a->base.alloc = la_alloc;
    a->base.free = la_free;
    a->base.allocator_data = a;
    a->used = 0;
    a->failed = 0;
    a->limit = body_len > (SIZE_MAX - (64u << 20)) / 64 ? SIZE_MAX : body_len * 64 + (64u << 20);
}
