/* runtime/rt_pb.h -- what the graph binary loader (loader.c) and the
 * checkpoint reader (checkpoint.c) share to unpack a protobuf message from
 * untrusted bytes (never installed): an allocator for protobuf-c that keeps
 * the unpacked message within a multiple of the input size and tells "no
 * memory" from "corrupt". Implemented in runtime/pb_alloc.c. */
#ifndef RT_PB_H
#define RT_PB_H

#include <protobuf-c/protobuf-c.h>

#include <stddef.h>

typedef struct rt_pb_alloc {
    ProtobufCAllocator base; /* pass &a.base to *__unpack and *__free_unpacked */
    size_t used, limit;
    int failed;              /* an allocation was refused or failed */
} rt_pb_alloc;

/* Sets up a for unpacking a message of body_len bytes: at most
 * 64 * body_len + 64 MiB in all (SIZE_MAX when that overflows). */
void rt_pb_alloc_init(rt_pb_alloc *a, size_t body_len);

#endif
