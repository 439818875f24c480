/* runtime/graphrt.h -- the public API of the graphc runtime.
 * Load a graph binary (.gb) made by graphc, create a session on a device,
 * then run it again and again with named feeds and fetches, as a TF1 session.
 * Every function returns a status; messages go to the caller's buffer (load,
 * create) or stay in the session (rt_session_last_error). Nothing here aborts. */
#ifndef GRAPHRT_H
#define GRAPHRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rt_status {
    RT_OK = 0,
    RT_ERR_IO = 1,          /* cannot read or write a file */
    RT_ERR_FORMAT = 2,      /* not a valid graph binary / .npy file */
    RT_ERR_ARG = 3,         /* bad argument: unknown name, wrong dtype or shape */
    RT_ERR_NOMEM = 4,
    RT_ERR_UNSUPPORTED = 5, /* device or feature not available */
    RT_ERR_KERNEL = 6,      /* a kernel failed at run time (e.g. index out of range) */
} rt_status;

/* Same numbers as the DType of proto/graph.proto. */
typedef enum rt_dtype {
    RT_F32 = 1, RT_F64 = 2, RT_I32 = 3, RT_I64 = 4, RT_BOOL = 5, RT_U8 = 6, RT_I8 = 7,
} rt_dtype;

#define RT_MAX_RANK 8

/* A dense row-major tensor. The caller owns data for feeds; for fetches the
 * session owns it and it stays valid until the next run or rt_session_free. */
typedef struct rt_tensor {
    rt_dtype dtype;
    int rank;
    int64_t dims[RT_MAX_RANK];
    void *data;
} rt_tensor;

/* Static description of an input, output or param. dims[i] is -1 where the
 * dimension is symbolic; sym_names[i] then names it ("N"), else NULL. */
typedef struct rt_value_info {
    const char *name;
    rt_dtype dtype;
    int rank;
    int64_t dims[RT_MAX_RANK];
    const char *sym_names[RT_MAX_RANK];
    int64_t sym_coef[RT_MAX_RANK]; /* dims[i] = sym_coef[i] * value of sym_names[i] */
} rt_value_info;

typedef struct rt_model rt_model;
typedef struct rt_session rt_session;

/* Loads and fully validates a graph binary. On success *out is a model the
 * caller frees with rt_model_free. On error *out is NULL and err (if given)
 * holds a message that says what is wrong. */
rt_status rt_model_load_file(const char *path, rt_model **out, char *err, size_t err_len);
rt_status rt_model_load_buffer(const void *buf, size_t len, rt_model **out, char *err, size_t err_len);
void rt_model_free(rt_model *m);

const char *rt_model_name(const rt_model *m);
const char *rt_model_producer(const rt_model *m);
int rt_model_n_inputs(const rt_model *m);
int rt_model_n_outputs(const rt_model *m);
int rt_model_n_params(const rt_model *m);
int rt_model_n_nodes(const rt_model *m);
/* i in [0, n): fills info; returns RT_ERR_ARG when i is out of range. */
rt_status rt_model_input(const rt_model *m, int i, rt_value_info *info);
rt_status rt_model_output(const rt_model *m, int i, rt_value_info *info);
rt_status rt_model_param(const rt_model *m, int i, rt_value_info *info);
/* The data of param i as stored in the binary (a tensor view into the model). */
rt_status rt_model_param_data(const rt_model *m, int i, rt_tensor *out);
/* Op name of node i, for summaries ("matmul"). NULL when out of range. */
const char *rt_model_node_op(const rt_model *m, int i);
/* Which inputs the value `name` (a graph output or any node value) depends
 * on: needs[i] (for i < rt_model_n_inputs(m)) becomes 1 when input i is
 * needed, else 0. RT_ERR_ARG when no value has that name. */
rt_status rt_model_fetch_inputs(const rt_model *m, const char *name, int *needs);
/* Floating-point operations of one run when the symbols take sym_value
 * (the same value for every symbol, e.g. the batch size); -1 if unknown. */
int64_t rt_model_flops(const rt_model *m, int64_t sym_value);

typedef enum rt_device { RT_DEVICE_CPU = 0, RT_DEVICE_CUDA = 1 } rt_device;

typedef struct rt_session_options {
    rt_device device;  /* RT_DEVICE_CPU; CUDA: RT_ERR_UNSUPPORTED for now */
    int n_threads;     /* 0: all cores */
} rt_session_options;

/* Default options: CPU, all cores. */
rt_session_options rt_session_options_default(void);

/* Creates a session: copies the params in, allocates its buffers. The model
 * must outlive the session. */
rt_status rt_session_create(const rt_model *m, const rt_session_options *opts,
                            rt_session **out, char *err, size_t err_len);
void rt_session_free(rt_session *s);

/* Runs the part of the graph that the fetches need. Feeds are matched by
 * input name; only the inputs that part needs are required (extra feeds of
 * known inputs are ignored, unknown names are an error). fetches[i] is
 * filled with a view of the session's memory, valid until the next run
 * (a fetched input that is a graph output is a view of its feed; so is,
 * under the binary's static memory plan, a fetched reshape/flatten of one).
 * The first run at a new value of a symbolic dimension (re)plans buffers;
 * later runs at the same sizes allocate nothing.
 * Fetch names are graph outputs or any node value: fetching an intermediate
 * value keeps its buffer alive to the end of the run (more arena memory).
 * Extra feeds are checked against their input's dtype and static dims but
 * bind no symbols. Feeds are read in place (never copied, never written).
 * A session is not thread-safe: one run at a time. On error the message is
 * in rt_session_last_error. */
rt_status rt_session_run(rt_session *s, int n_feeds, const char *const *feed_names,
                         const rt_tensor *feeds, int n_fetches,
                         const char *const *fetch_names, rt_tensor *fetches);
/* Runs entry point `entry` of a training graph ("predict", "train", "grad",
 * "apply"; see docs/language.md): the nodes its fetches and updates need,
 * then copies each update value into its param's storage in the session
 * (params and optimizer state persist across runs, as TF1 variables).
 * fetch_names NULL: the entry's own fetches (n_fetches is then ignored and
 * fetches must hold rt_model_entry_n_fetches entries: the loss for train and
 * grad, none for apply). Feeds and fetches otherwise as rt_session_run; at
 * sizes already seen a run allocates nothing. RT_ERR_ARG for an unknown
 * entry. On error no param is written. */
rt_status rt_session_run_entry(rt_session *s, const char *entry, int n_feeds, const char *const *feed_names,
                               const rt_tensor *feeds, int n_fetches, const char *const *fetch_names,
                               rt_tensor *fetches);
/* Entry points of the binary (0 for an inference graph) and their names. */
int rt_model_n_entries(const rt_model *m);
const char *rt_model_entry_name(const rt_model *m, int i);
/* Default fetches of the entry, -1 when there is no such entry. */
int rt_model_entry_n_fetches(const rt_model *m, const char *entry);
/* Name of default fetch i of the entry (the loss for train), NULL if none. */
const char *rt_model_entry_fetch_name(const rt_model *m, const char *entry, int i);
/* 1 when the entry needs input `input` fed, else 0. */
int rt_model_entry_needs(const rt_model *m, const char *entry, const char *input);
/* What the graph's train statement said (strings owned by the model). */
typedef struct rt_train_info {
    const char *optimizer; /* "adam(lr=0.001, beta1=0.9, ...)" */
    double lr;             /* the learning-rate attribute (when lr_input is NULL) */
    const char *lr_input;  /* the input that feeds the learning rate, or NULL */
    const char *loss;      /* the loss value (train's fetch) */
} rt_train_info;
/* RT_ERR_ARG when the binary has no training (an inference graph). */
rt_status rt_model_train_info(const rt_model *m, rt_train_info *out);
/* The message of the last failed call on this session ("" if none). */
const char *rt_session_last_error(const rt_session *s);
/* Bytes held by the session now: weights, activation arena, workspace
 * (any pointer may be NULL). The arena and workspace only grow. */
void rt_session_memory(const rt_session *s, size_t *weights, size_t *arena, size_t *workspace);

/* ---- per-node profiling (runtime/profile.c) ----
 * While on, every kernel call is timed (wall clock, CLOCK_MONOTONIC) and its
 * FLOPs and bytes are counted; off (the default) costs one branch per node.
 * View ops planned in place run no kernel and record no call. */
typedef struct rt_node_profile {
    int node;               /* index in the model's node list */
    const char *op;         /* "matmul" (owned by the model) */
    const char *name;       /* node name (owned by the model) */
    const char *value;      /* name of its first output value (owned by the model) */
    int64_t calls;          /* kernel calls since profiling was turned on */
    double total_ms;        /* wall time of those calls, summed */
    int64_t flops;          /* per call, at the shapes of the last call; -1 unknown */
    int64_t bytes;          /* per call: input bytes read + output bytes written */
} rt_node_profile;

/* on != 0: turns profiling on and resets every counter (allocates the table
 * once; RT_ERR_NOMEM if it cannot). on == 0: turns it off and keeps the
 * counters for rt_session_profile. */
rt_status rt_session_set_profiling(rt_session *s, int on);
/* Copies the counters of the first min(cap, nodes) nodes into out (caller's
 * array; may be NULL when cap is 0) in execution order and returns the number
 * of nodes of the model (call with cap 0 to size the array); 0 when profiling
 * was never turned on. Pointers in out stay valid while the model lives. */
int rt_session_profile(const rt_session *s, rt_node_profile *out, int cap);

/* ---- the memory plan (docs/memory.md) ---- */
typedef struct rt_plan_info {
    int static_plan;        /* 1: the binary carries graphc's static plan (one plan,
                               offsets a + b*S, for every batch size); 0: the
                               runtime plans at the first run of each size */
    const char *sym;        /* the symbol S the static arena scales with; NULL: none */
    int64_t arena_const, arena_per_sym; /* static: arena bytes = const + per_sym*S */
    int64_t arena_bytes;    /* static: at the asked S; -1 when runtime-made or on overflow */
    int64_t peak_bytes;     /* most node-value bytes alive at one node step with every
                               symbol = the asked value (an in-place chain counted
                               once, views of inputs not at all); -1 on overflow */
    int n_values;           /* node values */
    int n_buffers;          /* static: buffers (an in-place chain is one); else n_values */
    int n_views;            /* static: views of inputs/params/consts with no buffer */
} rt_plan_info;

/* Summary of m's memory plan at symbol value sym_value (>= 0) into *out.
 * RT_ERR_ARG on NULL or a negative value; RT_ERR_NOMEM. */
rt_status rt_model_plan_info(const rt_model *m, int64_t sym_value, rt_plan_info *out);

/* ---- a session's params (runtime/params.c) ----
 * Params (trainable, frozen and optimizer state alike) live in the session
 * and persist across runs; these give views of that live storage. */
int rt_session_n_params(const rt_session *s);
/* Static description of param i in [0, n) (as rt_model_param). */
rt_status rt_session_param_info(const rt_session *s, int i, rt_value_info *info);
/* view: the live storage of param i (or of the param called name) in the
 * session, writable; valid until rt_session_free. Writing it changes what
 * later runs compute. RT_ERR_ARG when there is no such param (the message
 * is in rt_session_last_error). */
rt_status rt_session_param_at(rt_session *s, int i, rt_tensor *view);
rt_status rt_session_param(rt_session *s, const char *name, rt_tensor *view);

/* ---- checkpoints (.gbc, proto/checkpoint.proto; runtime/checkpoint.c) ---- */
/* Writes every param of s and step to path atomically: a temp file in the
 * same directory, fsync, rename, fsync of the directory; on any error the
 * previous file at path is left as it was. The message goes to err (if
 * given) and to rt_session_last_error. RT_ERR_IO, RT_ERR_NOMEM, RT_ERR_ARG. */
rt_status rt_checkpoint_save(rt_session *s, const char *path, int64_t step, char *err, size_t err_len);
/* Reads path, validates it entirely (magic, version, checksum, every entry)
 * and checks it against s's params: every param must be in the checkpoint
 * with the same dtype and shape, and every entry must be a param. Only
 * then copies the values in and sets *step (may be NULL). On any error the
 * session is unchanged and the message names each param and what differs
 * (missing in the checkpoint, unknown in the model, dtype, both shapes).
 * RT_ERR_FORMAT (corrupt or not a checkpoint), RT_ERR_ARG (mismatch),
 * RT_ERR_IO, RT_ERR_NOMEM. */
rt_status rt_checkpoint_restore(rt_session *s, const char *path, int64_t *step, char *err, size_t err_len);

/* A checkpoint read into memory, for tools (graphc inspect / freeze). */
typedef struct rt_checkpoint rt_checkpoint;
/* Reads and fully validates a checkpoint file or buffer; *out is freed with
 * rt_checkpoint_free. On error *out is NULL and err says what is wrong. */
rt_status rt_checkpoint_load_file(const char *path, rt_checkpoint **out, char *err, size_t err_len);
rt_status rt_checkpoint_load_buffer(const void *buf, size_t len, rt_checkpoint **out, char *err,
                                    size_t err_len);
void rt_checkpoint_free(rt_checkpoint *c);
/* 1 when buf starts with the checkpoint magic "GRAPHCK" (any version). */
int rt_checkpoint_is_checkpoint(const void *buf, size_t len);
const char *rt_checkpoint_graph(const rt_checkpoint *c);    /* the saving graph's name */
const char *rt_checkpoint_producer(const rt_checkpoint *c);
int64_t rt_checkpoint_step(const rt_checkpoint *c);
int rt_checkpoint_n_entries(const rt_checkpoint *c);
/* Entry i in [0, n): its name (owned by c), a view of its data (owned by c)
 * and its trainable flag (any out pointer may be NULL). */
rt_status rt_checkpoint_entry(const rt_checkpoint *c, int i, const char **name, rt_tensor *view,
                              int *trainable);
/* Index of the entry called name, -1 when none. */
int rt_checkpoint_find(const rt_checkpoint *c, const char *name);
/* rt_checkpoint_restore from a loaded checkpoint (same checks; c unchanged). */
rt_status rt_checkpoint_apply(rt_session *s, const rt_checkpoint *c, char *err, size_t err_len);

/* Writes len bytes of buf to path atomically (as rt_checkpoint_save). */
rt_status rt_file_write_atomic(const char *path, const void *buf, size_t len, char *err, size_t err_len);

/* ---- .npy files (NumPy format 1.0/2.0/3.0; see shared/notes/formats.md) ---- */
/* Reads a .npy file; data is malloc'ed and owned by the caller (free()). */
rt_status rt_npy_load(const char *path, rt_tensor *out, char *err, size_t err_len);
/* Writes t as a .npy version 1.0 file, atomically (temp file, fsync, rename). */
rt_status rt_npy_save(const char *path, const rt_tensor *t, char *err, size_t err_len);

const char *rt_dtype_name(rt_dtype t);   /* "f32" */
size_t rt_dtype_size(rt_dtype t);        /* 0 if invalid */
const char *rt_status_name(rt_status s); /* "RT_ERR_FORMAT" */

/* ---- IDX files (MNIST, Fashion-MNIST; runtime/idx.c, shared/notes/formats.md 3) ---- */
/* Reads an IDX file, plain or gzip-compressed (told apart by the gzip magic).
 * Types: 0x08 -> RT_U8, 0x09 -> RT_I8, 0x0B int16 -> RT_I32 (widened, exact),
 * 0x0C -> RT_I32, 0x0D -> RT_F32, 0x0E -> RT_F64; big-endian data become host
 * order. Rank = the file's dimension count (0..RT_MAX_RANK). out->data is
 * malloc'ed and owned by the caller (free()). RT_ERR_FORMAT with a message
 * on a bad magic or type, too many dims, sizes that overflow, a truncated
 * file or trailing bytes, a corrupt or truncated gzip stream; RT_ERR_IO when
 * it cannot be read; RT_ERR_NOMEM. On error *out is zeroed. */
rt_status rt_idx_load(const char *path, rt_tensor *out, char *err, size_t err_len);

/* ---- TensorBoard event files (runtime/tfevents.c, shared/notes/formats.md 2) ---- */
typedef struct rt_events rt_events;
/* Creates logdir (like mkdir -p) and a new file
 * <logdir>/events.out.tfevents.<10-digit Unix seconds>.<hostname>.graphc
 * (".1", ".2", ... appended if that name exists: never appends to an old
 * file) and writes its first record, file_version "brain.Event:2". On
 * success *out is a writer the caller ends with rt_events_close; on error
 * *out is NULL, err holds a message (RT_ERR_IO, RT_ERR_ARG, RT_ERR_NOMEM). */
rt_status rt_events_open(const char *logdir, rt_events **out, char *err, size_t err_len);
/* Appends Event{wall_time = now, step, summary{value{tag, simple_value}}}
 * and flushes it, so TensorBoard sees it at once. tag: non-empty UTF-8
 * (RT_ERR_ARG otherwise). RT_ERR_IO when the write fails; after a failed
 * write the writer refuses further records (the file would be corrupt).
 * The message is in rt_events_last_error. */
rt_status rt_events_scalar(rt_events *w, const char *tag, int64_t step, float value);
/* The file's path (owned by the writer), "" for NULL. */
const char *rt_events_path(const rt_events *w);
/* The message of the last failed call on w ("" if none). */
const char *rt_events_last_error(const rt_events *w);
/* Flushes, closes and frees w (NULL is fine). RT_ERR_IO when the final
 * flush or close fails; w is freed either way. */
rt_status rt_events_close(rt_events *w);

#ifdef __cplusplus
}
#endif
#endif
