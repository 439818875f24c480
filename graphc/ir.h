/* graphc/ir.h -- the IR: a graph of nodes (ops of the op table) over values
 * (typed tensors: inputs, params, constants, node outputs). Everything lives
 * in the compile arena. Nodes are kept in a valid execution order: a node is
 * only ever appended after the nodes producing its inputs. Passes (later)
 * rewrite the graph IR -> IR. */
#ifndef GC_IR_H
#define GC_IR_H

#include <stdio.h>
#include "arena.h"
#include "diag.h"
#include "op.h"

typedef enum gc_value_kind {
    GV_INPUT = 1, GV_PARAM = 2, GV_CONST = 3, GV_NODE = 4, /* = proto ValueKind */
} gc_value_kind;

typedef struct gc_value {
    int id;
    const char *name;     /* unique in the graph */
    int user_named;       /* the name came from the source (not generated) */
    gc_value_kind kind;
    op_type type;
    void *data;           /* PARAM/CONST: row-major little-endian bytes */
    size_t nbytes;
    int producer;         /* GV_NODE: node id; else -1 */
    int out_index;
    int trainable;        /* PARAM not marked frozen */
    int dead;             /* PARAM/CONST removed by a pass (not emitted) */
    gc_loc loc;
} gc_value;

typedef struct gc_node {
    int id;
    op_kind op;
    const char *name;
    int n_inputs;
    int *inputs;          /* value ids */
    int n_outputs;
    int *outputs;         /* value ids */
    op_attr attrs[OP_MAX_ATTRS];
    gc_loc loc;
    int dead;             /* removed by a pass; skipped by everything */
} gc_node;

/* The static memory plan of the memplan pass (pass_memplan.c), by IR value
 * id: a node value's buffer is [off_c + off_s*S, +bytes_c + bytes_s*S) in an
 * arena of arena_c + arena_s*S bytes, S the value of symbol `sym` (-1: no
 * symbol; then every *_s is 0). bytes_c = bytes_s = -1: not planned (not a
 * live node value). Offsets are multiples of 64 in both coefficients. */
typedef struct gc_mem_slot {
    int64_t off_c, off_s, bytes_c, bytes_s;
    int view;     /* 1: no buffer; shares the memory of its view op's input,
                     which lives outside the arena (input, param, const) */
} gc_mem_slot;

typedef struct gc_memplan {
    int sym;                  /* the batch symbol the plan is affine in, or -1 */
    int64_t arena_c, arena_s; /* arena bytes = arena_c + arena_s * S */
    int n_values;             /* g->n_values when planned (emit checks it) */
    int n_nodes;              /* g->n_nodes when planned */
    gc_mem_slot *slots;       /* n_values */
    int n_buffers;            /* distinct buffers (in-place aliases share one) */
    int n_reused;             /* values placed in memory a dead value used */
    int n_inplace;            /* values written over their input */
    int n_views;              /* views of inputs/params: no buffer, no copy */
} gc_memplan;

/* A named way to run the graph (proto EntryPoint): predict, train, grad,
 * apply. Value references are indices into g->outputs (the entries' values
 * are kept there, after the user's outputs, so every pass keeps them alive
 * and renames them like outputs); emit resolves them. An update copies the
 * value of outputs[upd_value[i]] into param upd_target[i] (a value id: a
 * param is never replaced) after the run. */
typedef struct gc_entry {
    const char *name;
    int n_feeds;
    int *feeds;           /* input value ids */
    int n_fetches;
    int *fetches;         /* indices into g->outputs */
    int n_updates;
    int *upd_target;      /* param value ids */
    int *upd_value;       /* indices into g->outputs */
} gc_entry;

typedef struct gc_graph {
    gc_arena *arena;
    const char *name;
    gc_value **values;
    int n_values, cap_values;
    gc_node **nodes;
    int n_nodes, cap_nodes;
    const char **symbols;
    int n_symbols, cap_symbols;
    int *outputs;         /* value ids, in declaration order */
    int n_outputs, cap_outputs;
    gc_memplan *mplan;    /* set by the memplan pass; NULL: none (runtime plans) */
    /* training (graphc/train.c): trains = the graph updates its params, so
     * passes must not fold params into constants; outputs[n_user_outputs..]
     * are kept for the entries only (not emitted as graph outputs) */
    int trains;
    int n_user_outputs;   /* meaningful when trains */
    gc_entry *entries;
    int n_entries;
    /* what the train statement said (TrainInfo in the binary) */
    const char *train_optimizer; /* "adam(lr=0.001, ...)" (arena), NULL: none */
    double train_lr;
    int train_lr_input;          /* value id of the lr feed, -1: train_lr */
} gc_graph;

gc_graph *gc_graph_new(gc_arena *a, const char *name);
/* Index of symbolic dimension `name`, added if new; -1 when out of memory. */
int gc_graph_symbol(gc_graph *g, const char *name);
/* Adds a source value (input, param, const); returns its id or -1. The name
 * is made unique if taken (see gc_graph_unique_name). */
int gc_graph_add_value(gc_graph *g, gc_value_kind kind, const char *name,
                       const op_type *type, gc_loc loc);
/* Appends a node with its outputs (types already inferred by the caller);
 * returns the node id or -1 when out of memory. */
int gc_graph_add_node(gc_graph *g, op_kind op, const char *name, int n_inputs,
                      const int *inputs, const op_attr *attrs, int n_outputs,
                      const op_type *out_types, gc_loc loc);
/* Finds a value by name; -1 when absent. */
int gc_graph_find(const gc_graph *g, const char *name);
/* Returns name, or name_2, name_3... whichever is free. */
const char *gc_graph_unique_name(gc_graph *g, const char *name);
/* Renames value v to a unique variant of name. */
void gc_graph_rename(gc_graph *g, int v, const char *name);
int gc_graph_add_output(gc_graph *g, int v);
/* Number of uses of each value by live nodes and graph outputs (array of
 * n_values ints in the arena). */
int *gc_graph_use_counts(gc_graph *g);

/* Makes every live use of value `from` (node inputs, graph outputs) use
 * `to` instead; returns the number of uses changed. */
int gc_graph_replace_uses(gc_graph *g, int from, int to);
/* Reorders g->nodes into a valid execution order (stable: keeps the current
 * order where it is valid), renumbering node ids. Passes may append nodes
 * anywhere; the pass manager calls this after each pass. Returns 0, or -1
 * when the live nodes have a cycle. */
int gc_graph_toposort(gc_graph *g);

/* Text form of the IR (--emit ir), one line per node:
 *   %h: f32[N, 100] = relu(%3)        @two_layer_net.g:8:10 */
void gc_ir_print(FILE *out, const gc_graph *g, const gc_diag *d);
/* Graphviz form (--emit dot). */
void gc_ir_dot(FILE *out, const gc_graph *g);

/* graphc/emit.c: serializes the graph to a graph binary at path, atomically
 * (temp file, fsync, rename). Returns 0, or -1 with an error reported to d. */
int gc_emit_file(const gc_graph *g, const gc_diag *dsrc, const char *path, gc_diag *d);
/* The same bytes in memory (malloc'ed; caller frees). */
int gc_emit_buffer(const gc_graph *g, const gc_diag *dsrc, void **buf, size_t *len, gc_diag *d);

#endif
