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

/* A node value's place in the binary's static memory plan (docs/memory.md):
 * bytes [off_c + off_s*S, + bytes_c + bytes_s*S) of an arena of
 * arena_c + arena_s*S bytes, S the value of the plan's symbol. */
typedef struct rt_mem_slot {
    int64_t off_c, off_s, bytes_c, bytes_s;
    int block;                  /* buffer id (in-place chains share one); -1: view */
    int view;                   /* no buffer: shares its view op's input, which is
                                   outside the arena (input, param, const, view) */
} rt_mem_slot;

/* One buffer of the static plan: the values of an in-place chain, alive
 * from node step `start` to `end` (n_nodes: to the end of the run). */
typedef struct rt_mem_block {
    int64_t off_c, off_s, bytes_c, bytes_s;
    int start, end;
} rt_mem_block;

/* A validated entry point (predict, train, grad, apply): after the nodes the
 * fetches and update values need ran, each update value is copied into its
 * target param's storage in the session. */
typedef struct rt_entry {
    char *name;
    int n_feeds, n_fetches, n_updates;
    int *feeds, *fetches;       /* value ids (owned) */
    int *upd_target, *upd_value;/* value ids (owned): params; same-typed values */
} rt_entry;

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
    int n_entries;
    rt_entry *entries;          /* the binary's entry points (training graphs) */
    char *train_optimizer;      /* TrainInfo (NULL: none) */
    double train_lr;
    int train_lr_input;         /* value id of the lr feed, -1: train_lr */
    int *hash;                  /* open-addressing table name -> value id (-1 empty) */
    size_t hash_cap;            /* a power of two */
    /* the static memory plan of the binary, validated (NULL: none) */
    rt_mem_slot *mplan;         /* n_values; entries of non-node values unused */
    rt_mem_block *mplan_blocks; /* mplan_n_blocks */
    int mplan_n_blocks;
    int mplan_sym;              /* symbol S, or -1 */
    int64_t mplan_arena_c, mplan_arena_s;
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
    int *live;            /* live block ids sorted by offset; under the static
                             plan: the needed views (n_views), bound each run */
    int n_views;

    /* the key of the current plan: symbol values and fetch ids */
    int planned;
    int64_t *plan_syms;   /* n_syms */
    int *plan_fetch;      /* plan_fetch_cap */
    int plan_n_fetch, plan_fetch_cap;
    int *fetch_ids;       /* fetch_cap: this run's fetch value ids */
    int fetch_cap;
    size_t plan_arena_bytes, plan_ws_bytes;
    int64_t n_plans;      /* how many times it planned (tests, stats) */
    int plan_static;      /* the current plan is the binary's static plan */
    int64_t n_static_plans; /* how many of n_plans used it */
    struct rt_profile *prof; /* per-node counters (profile.c); NULL when never on */
    int profiling;        /* rt_session_set_profiling: time every kernel call */
};

/* util.c */
void rt_errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Puts "PREFIX: " before the message in err (cut at RT_ERR_MAX - 1). */
void rt_err_prefix(char *err, size_t len, const char *prefix);
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

/* plan.c: checks the static memory plan the loader copied into m->mplan
 * (per value; every node value has an entry) for every possible value of its
 * symbol: alignment, bounds, sizes against the value types, overflow, and
 * that no two buffers alive at the same node step overlap (O(n log n)).
 * Builds m->mplan_blocks. RT_ERR_FORMAT with a message on a bad plan. */
rt_status rt_mplan_check(rt_model *m, char *err, size_t err_len);
/* plan.c: under the static plan, points the needed views at the memory of
 * their input (the feeds of this run); call after binding the feeds. */
void rt_plan_bind_views(rt_session *s);

/* profile.c: runs node k's CPU kernel like the executor does, timing it and
 * counting its FLOPs and bytes into s->prof (only called when s->profiling).
 * Returns the kernel's result. */
int rt_profile_call(rt_session *s, int k, op_ctx *ctx, const op_tensor *in, op_tensor *out);
void rt_profile_free(struct rt_profile *p);

#endif
