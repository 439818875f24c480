/* graphc/init.h -- param initializers: zeros, ones, fill, normal, uniform,
 * glorot/xavier and he/kaiming (PyTorch's fan rules), and load(".npy").
 * Random ones use a counter-free xoshiro256** stream seeded from the given
 * seed, or from a hash of the param's full name, so a model compiles to the
 * same weights on every machine. */
#ifndef GC_INIT_H
#define GC_INIT_H

#include <stdint.h>
#include "op.h"

typedef enum gc_init_kind {
    GI_ZEROS, GI_ONES, GI_FILL, GI_NORMAL, GI_UNIFORM, GI_GLOROT_UNIFORM, GI_GLOROT_NORMAL,
    GI_HE_UNIFORM, GI_HE_NORMAL, GI_TRUNC_NORMAL, GI_LOAD,
} gc_init_kind;

typedef struct gc_init {
    gc_init_kind kind;
    double a, b;         /* fill: value; normal: mean, std; uniform: low, high;
                            glorot: gain; he: a (negative slope) */
    int fan_out_mode;    /* he: 1 for mode="fan_out" */
    int has_seed;
    uint64_t seed;
    const char *path;    /* load: resolved path */
} gc_init;

/* Looks up an initializer by name ("normal", "xavier_uniform", ...); -1 if unknown. */
int gc_init_find(const char *name);
const char *gc_init_names(void); /* "zeros, ones, ..." for messages */
/* Fills data (numel elements of type t) per spec. name seeds the stream when
 * the spec has no seed. Returns 0, or -1 with a message in err. */
int gc_init_fill(const gc_init *spec, const op_type *t, const char *name, void *data,
                 char *err, size_t err_len);

#endif
