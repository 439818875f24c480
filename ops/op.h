/* ops/op.h -- the types every layer shares: dtypes, symbolic shapes, concrete
 * tensors, attributes, and the op table entry (op_def).
 * The compiler uses op_type (shapes that may hold symbols such as N) for
 * shape inference; the runtime uses the same inference on concrete shapes and
 * calls the CPU kernels with op_tensor. Nothing here allocates. */
#ifndef OPS_OP_H
#define OPS_OP_H

#include <stddef.h>
#include <stdint.h>

/* Values match the DType enum of proto/graph.proto and rt_dtype. */
typedef enum op_dtype {
    OP_DT_INVALID = 0,
    OP_F32 = 1,
    OP_F64 = 2,
    OP_I32 = 3,
    OP_I64 = 4,
    OP_BOOL = 5, /* one byte, 0 or 1 */
    OP_U8 = 6,
    OP_I8 = 7,
    OP_DT_COUNT
} op_dtype;

#define OP_MAX_RANK 8
#define OP_MAX_ATTRS 6
#define OP_MAX_INTS 16
#define OP_MAX_INPUTS 64 /* concat is variadic up to this */
#define OP_MAX_OUTPUTS 16 /* split */
#define OP_ERR_LEN 512

/* One dimension of a symbolic shape: coef * symbol[sym] when sym >= 0,
 * the plain number coef when sym < 0. "N" is {1, 0}; "2N" is {2, 0}. */
typedef struct op_dim {
    int64_t coef;
    int32_t sym;
} op_dim;

/* The static type of a tensor: dtype and (possibly symbolic) shape. */
typedef struct op_type {
    op_dtype dtype;
    int rank;
    op_dim dims[OP_MAX_RANK];
} op_type;

/* A concrete tensor: row-major, contiguous, data owned by whoever made it. */
typedef struct op_tensor {
    op_dtype dtype;
    int rank;
    int64_t dims[OP_MAX_RANK];
    void *data;
} op_tensor;

typedef enum op_attr_kind {
    OP_ATTR_NONE = 0,
    OP_ATTR_INT = 1,   /* also bools and dtypes */
    OP_ATTR_FLOAT = 2,
    OP_ATTR_INTS = 3,
} op_attr_kind;

/* An attribute value. Attributes of a node are stored by position, in the
 * order of the op's attribute specs (op_def.attrs). */
typedef struct op_attr {
    int64_t i;
    double f;
    int n;                    /* number of ints used */
    int64_t ints[OP_MAX_INTS];
} op_attr;

typedef struct op_attr_spec {
    const char *name;
    op_attr_kind kind;
    op_attr def;      /* default value */
    int required;     /* no default: the user must give it */
    int count;        /* INTS: exact length when > 0 (a scalar given by the
                         user is repeated count times, as PyTorch's padding=1) */
    const char *const *enum_names; /* INT: names the user may write instead
                         of 0, 1, ... (NULL-terminated), e.g. gelu "none","tanh" */
} op_attr_spec;

/* What a CPU kernel gets besides its tensors. */
typedef struct op_ctx {
    int n_threads;          /* honour this; 1 means serial */
    void *workspace;        /* scratch, at least op_def.workspace() bytes */
    size_t workspace_size;
    int training;           /* dropout etc. (later) */
    char err[OP_ERR_LEN];   /* message when a kernel returns non-zero */
} op_ctx;

/* Shape and dtype inference. Fills out[0..n_out-1] from the inputs and the
 * attributes; returns 0, or -1 with a message in err naming what was expected
 * and what was found (shapes in full). Works on symbolic and concrete shapes. */
typedef int (*op_infer_fn)(const op_attr *attrs, const op_type *in, int n_in,
                           op_type *out, int n_out, char *err, size_t err_len);

/* CPU kernel: computes out from in. Output buffers are allocated by the
 * caller with the inferred shapes. Returns 0, or -1 with ctx->err set. */
typedef int (*op_kernel_fn)(op_ctx *ctx, const op_attr *attrs,
                            const op_tensor *in, int n_in,
                            op_tensor *out, int n_out);

/* Scratch bytes a kernel needs for these shapes (NULL: none). */
typedef size_t (*op_workspace_fn)(const op_attr *attrs, const op_tensor *in,
                                  int n_in, const op_tensor *out, int n_out);

enum {
    OPF_ELEMENTWISE = 1u << 0, /* out[i] depends on in[i] only (with broadcasting) */
    OPF_INPLACE = 1u << 1,     /* out may alias in[0] */
    OPF_FOLDABLE = 1u << 2,    /* constant folding may run it */
    OPF_DIFFERENTIABLE = 1u << 3,
    OPF_COMMUTATIVE = 1u << 4,
    OPF_VIEW = 1u << 5,        /* pure data movement with same bytes (reshape) */
};

/* The op kinds: enum derived from ops/ops.def. */
typedef enum op_kind {
#define OP(ID, name) OP_##ID,
#include "ops.def"
#undef OP
    OP_COUNT
} op_kind;

/* Number of outputs: n_out >= 0 fixed; OP_NOUT_ATTR0 means "the number of
 * ints in attribute 0" (split). */
#define OP_NOUT_ATTR0 (-1)

typedef struct op_def {
    const char *name;
    int min_inputs, max_inputs;
    int n_outputs;
    unsigned flags;
    int n_attrs;
    const op_attr_spec *attrs;
    op_infer_fn infer;
    op_kernel_fn cpu;
    op_workspace_fn workspace;
    const char *doc; /* one line: what the op computes */
} op_def;

extern const op_def op_table[OP_COUNT];

/* ops/ops.c */
const op_def *op_get(op_kind k);
int op_find(const char *name); /* op_kind or -1 */
int op_attr_index(op_kind k, const char *name); /* position or -1 */
/* Fills attrs with the defaults of op k. */
void op_attrs_default(op_kind k, op_attr *attrs);
/* Number of outputs a node of op k with these attrs has. */
int op_n_outputs(op_kind k, const op_attr *attrs);

/* ops/types.c: dtype and shape helpers */
const char *op_dtype_name(op_dtype t);      /* "f32"; "?" when invalid */
int op_dtype_from_name(const char *name);   /* op_dtype or -1 */
size_t op_dtype_size(op_dtype t);           /* 0 when invalid */
int op_dtype_is_float(op_dtype t);
int op_dim_eq(op_dim a, op_dim b);
int op_dim_is(op_dim a, int64_t v);         /* concrete and equal to v */
op_dim op_dim_const(int64_t v);
/* Names used for symbols when a shape is printed with sym_names NULL (by
 * inference messages): set per thread by the compiler; NULL gives "s0". */
void op_set_sym_names(const char *const *names, int n);
/* Writes "f32[N, 1000]"; symbol names may be NULL (see above). */
void op_type_str(const op_type *t, const char *const *sym_names, char *buf, size_t len);
void op_shape_str(const op_type *t, const char *const *sym_names, char *buf, size_t len); /* "[N, 1000]" */
int op_type_eq(const op_type *a, const op_type *b);
/* Product of dims; fails (returns -1) when two symbolic dims multiply or on
 * overflow. On success *out is coef*sym (sym may be -1). */
int op_type_numel(const op_type *t, op_dim *out);
/* Concrete tensor helpers: element count with overflow check (-1 on overflow). */
int64_t op_tensor_numel(const op_tensor *t);
int64_t op_dims_numel(int rank, const int64_t *dims);
/* Concrete type from a tensor, and back (fails if the type is symbolic). */
void op_type_from_tensor(const op_tensor *t, op_type *out);
int op_type_eval(const op_type *t, const int64_t *sym_values, int n_syms, op_tensor *out);
/* Broadcast two shapes NumPy style; -1 with message if incompatible. */
int op_broadcast(const op_type *a, const op_type *b, op_type *out, char *err, size_t err_len);
/* Normalises an axis in [-rank, rank) to [0, rank); -1 if out of range. */
int op_axis(int64_t axis, int rank);

void op_set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
