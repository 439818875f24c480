/* graphc/freeze.h -- `graphc freeze` (TF1's freeze_graph): a graph binary
 * plus a checkpoint -> a deployable inference-only graph binary whose params
 * are constants holding the checkpoint's values. Works on the protobuf of
 * the binary (every field it does not touch is kept), reads the checkpoint
 * through the runtime's public API. */
#ifndef GC_FREEZE_H
#define GC_FREEZE_H

#include "graphrt.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gc_freeze_stats {
    int n_frozen;          /* params turned into consts with checkpoint values */
    int n_dropped_params;  /* params only training needs (optimizer state, ...) */
    int n_dropped_inputs;  /* inputs only training needs (labels, learning rate) */
    int n_dropped_nodes;   /* nodes only training entries need */
    int n_dropped_entries; /* training entry points (train, grad, apply, any with updates) */
    int n_ignored;         /* checkpoint entries with no param in the binary: optimizer state */
    int plan;              /* 1: the static memory plan was kept; 0: none or dropped */
    int64_t step;          /* the checkpoint's step */
} gc_freeze_stats;

/* Freezes the graph binary gb[0, len) with checkpoint ck. Keeps what the
 * graph outputs and the non-training entry points need; every kept param
 * must be in ck with the same dtype and shape and becomes a const with ck's
 * values; training entries and what only they need are dropped. Checkpoint
 * entries that are not params of the binary are an error unless they are
 * optimizer state ("optimizer.*" or "<param>.<suffix>"), and so is a const
 * of the binary derived from a checkpointed param (the compiler folded it
 * at -O1/-O2, so it would keep the old value). The result is validated by
 * the runtime's loader. On success *out (malloc'ed, the caller frees it)
 * and *out_len hold the new binary; on error -1 and err says why. */
int gc_freeze_buffer(const void *gb, size_t len, const rt_checkpoint *ck, void **out, size_t *out_len,
                     gc_freeze_stats *stats, char *err, size_t err_len);

/* The same from files; out_path is written atomically (temp file, fsync,
 * rename), and left untouched on any error. Returns 0 or -1 (err). */
int gc_freeze_file(const char *gb_path, const char *ckpt_path, const char *out_path,
                   gc_freeze_stats *stats, char *err, size_t err_len);

#endif
