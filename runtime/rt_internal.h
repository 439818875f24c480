/* runtime/rt_internal.h -- the runtime's own structures, shared by the loader,
 * the model accessors, the planner and the session (never installed).
 * A model is the validated, protobuf-free form of a graph binary; a session
 * adds the weights, the activation arena, the workspace and the current plan. */
#ifndef RT_INTERNAL_H
#define RT_INTERNAL_H

#include "graphrt.h"
#include "op.h"

#include <stdint.h>
#include <stddef.h>

#define RT_ALIGN 64            /* every buffer in weights and arena starts here */
#define RT_ERR_MAX 1024        /* length of the session's message buffer */

/* Same numbers as graphc.ValueKind. */
enum { RT_VK_INPUT = 1, RT_VK_PARAM = 2, RT_VK_CONST = 3, RT_VK_NODE = 4 };

typedef struct rt_value {
    char *name;          /* never NULL; "" when the binary gave none (VK_NODE only) */
    int kind;            /* RT_VK_* */
    op_type type;        /* symbolic: dims[i].sym indexes rt_model.syms */
    void *data;          /* PARAM/CONST: nbytes of row-major data (owned), else NULL */
    size_t nbytes;       /* PARAM/CONST: data size */
    int producer;        /* VK_NODE: index of the node that makes it, else -1 */
    int trainable;
} rt_value;

typedef struct rt_node {
    op_kind op;
    const op_def *def;
    char *name;                 /* never NULL */
    int n_inputs, n_outputs;
    int *inputs, *outputs;      /* value ids (owned) */
    op_attr attrs[OP_MAX_ATTRS];/* positional, defaults filled in */
    char *loc_file;             /* "" when none */
    unsigned loc_line, loc_col;
} rt_node;

struct rt_model {
    char *name, *producer;
    int n_syms;
    char **syms;                /* symbol names ("N") */
    int n_values;
    rt_value *values;
    int n_nodes;
    rt_node *nodes;
    int n_outputs, n_inputs, n_params;
    int *outputs;               /* value ids of Graph.outputs */
    int *inputs;                /* value ids of the VK_INPUT values, in value order */
    int *params;                /* value ids of the VK_PARAM values, in value order */
    int *hash;                  /* open-addressing table name -> value id (-1 empty) */
    size_t hash_cap;            /* a power of two */
};

/* One value's place in the current plan. */
typedef struct rt_slot {
    op_tensor t;          /* concrete dims, dtype, and data pointer for this run */
    size_t nbytes;
    int64_t offset;       /* arena offset, -1 when the value is not in the arena */
} rt_slot;

struct rt_session {
    const rt_model *m;
    rt_session_options opts;
    int n_threads;
    char err[RT_ERR_MAX];

    void *weights;        /* params and consts, 64-byte aligned each; one allocation */
    size_t weights_size;
    void *arena;          /* activations; one allocation, grows only */
    size_t arena_size;
    void *workspace;      /* kernel scratch; one allocation, grows only */
    size_t workspace_size;

    rt_slot *slots;       /* n_values */
    void **const_ptr;     /* n_values: PARAM/CONST data in weights, else NULL */

    /* scratch of the run, sized at creation so a run allocates nothing */
    uint8_t *needed;      /* n_values: value needed by the fetches */
    uint8_t *node_needed; /* n_nodes */
    int *feed_of_input;   /* n_inputs: feed index or -1 */
    int64_t *syms;        /* n_syms: values bound by this run's feeds (-1: unbound) */
    int *sym_feed, *sym_dim; /* n_syms: which feed and dim bound each symbol */
    const char *const *cur_feed_names; /* this run's feed names (messages) */
    /* planner scratch */
    int *last_use;        /* n_values: last node step that reads it */
    int *block_of;        /* n_values: block id or -1 */
    int64_t *blk_off, *blk_size; /* n_values blocks at most */
    int *blk_refs;
    int *live;            /* live block ids sorted by offset */

    /* the key of the current plan: symbol values and fetch ids */
    int planned;
    int64_t *plan_syms;   /* n_syms */
    int *plan_fetch;      /* plan_fetch_cap */
    int plan_n_fetch, plan_fetch_cap;
    int *fetch_ids;       /* fetch_cap: this run's fetch value ids */
    int fetch_cap;
    size_t plan_arena_bytes, plan_ws_bytes;
    int64_t n_plans;      /* how many times it planned (tests, stats) */
};

/* util.c */
void rt_errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
char *rt_strdup(const char *s);   /* NULL on NULL or no memory */
/* Aligned allocation of n bytes (n rounded up to RT_ALIGN, at least RT_ALIGN);
 * free with free(). NULL on failure. */
void *rt_aligned_alloc(size_t n);
/* "f32[N, 1000]" of value v of model m. */
void rt_value_type_str(const rt_model *m, const op_type *t, char *buf, size_t len);
/* "node 3 (matmul 'h')" or "node 3 (matmul 'h' at f.g:3:5)". */
void rt_node_where(const rt_model *m, int node, char *buf, size_t len);

/* model.c: FNV-1a hash of a name (the model's name table). */
uint64_t rt_name_hash(const char *s);
/* model.c: index of the value named name (any kind), -1 when none. */
int rt_model_find_value(const rt_model *m, const char *name);
/* Marks in needed[n_values] the values, and in node_needed[n_nodes] the nodes,
 * that the n values of ids need (ids included). */
void rt_model_mark_needed(const rt_model *m, int n, const int *ids, uint8_t *needed,
                          uint8_t *node_needed);

/* plan.c: concrete shapes of every needed value from s->syms, validated by
 * the infer rules; liveness-based arena offsets; workspace size. Grows the
 * arena and workspace when they are too small. On error fills s->err. */
rt_status rt_plan(rt_session *s, int n_fetch, const int *fetch_ids);

#endif
