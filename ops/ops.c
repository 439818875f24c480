/* ops/ops.c -- the op table: for every op kind of ops/ops.def its arity,
 * attributes (in positional order: kernels read attrs[i] by this order),
 * flags, inference rule, CPU kernel and scratch-size function.
 * The compiler, the runtime's validator and the tests all read this table. */
#include "op.h"
#include "kernels.h"
#include "epilogue.h"
#include "grad_kernels.h"
#include "loss.h"

#include <math.h>
#include <string.h>

#define A_INT(nm, d) { .name = nm, .kind = OP_ATTR_INT, .def = { .i = (d) } }
#define A_ENUM(nm, d, names) { .name = nm, .kind = OP_ATTR_INT, .def = { .i = (d) }, .enum_names = names }
#define A_FLOAT(nm, d) { .name = nm, .kind = OP_ATTR_FLOAT, .def = { .f = (d) } }
#define A_INTS(nm, cnt, nv, ...) { .name = nm, .kind = OP_ATTR_INTS, .count = (cnt), .def = { .n = (nv), .ints = { __VA_ARGS__ } } }
#define A_REQ_INTS(nm, cnt) { .name = nm, .kind = OP_ATTR_INTS, .count = (cnt), .required = 1 }
#define A_REQ_INT(nm) { .name = nm, .kind = OP_ATTR_INT, .required = 1 }
#define ATTRS(...) .attrs = (const op_attr_spec[]){ __VA_ARGS__ }, \
    .n_attrs = (int)(sizeof((const op_attr_spec[]){ __VA_ARGS__ }) / sizeof(op_attr_spec))

static const char *const gelu_modes[] = { "none", "tanh", NULL };
static const char *const dtype_names[] = { "invalid", "f32", "f64", "i32", "i64", "bool", "u8", "i8", NULL };

#define EW (OPF_ELEMENTWISE | OPF_INPLACE | OPF_FOLDABLE)
#define EWD (EW | OPF_DIFFERENTIABLE)
#define BINARY(id, nm, fl, inf, doc_) [OP_##id] = { .name = nm, .min_inputs = 2, .max_inputs = 2, \
    .n_outputs = 1, .flags = (fl), .infer = inf, .cpu = op_cpu_##id##_k, .doc = doc_ }

/* Map the upper-case ids to the kernel names (op_cpu_<name>). */
#define op_cpu_ADD_k op_cpu_add
#define op_cpu_SUB_k op_cpu_sub
#define op_cpu_MUL_k op_cpu_mul
#define op_cpu_DIV_k op_cpu_div
#define op_cpu_POW_k op_cpu_pow
#define op_cpu_MINIMUM_k op_cpu_minimum
#define op_cpu_MAXIMUM_k op_cpu_maximum
#define op_cpu_EQUAL_k op_cpu_equal
#define op_cpu_NOT_EQUAL_k op_cpu_not_equal
#define op_cpu_LESS_k op_cpu_less
#define op_cpu_LESS_EQUAL_k op_cpu_less_equal
#define op_cpu_GREATER_k op_cpu_greater
#define op_cpu_GREATER_EQUAL_k op_cpu_greater_equal
#define op_cpu_LOGICAL_AND_k op_cpu_logical_and
#define op_cpu_LOGICAL_OR_k op_cpu_logical_or

#define UNARY(id, nm, fl, inf, kern, doc_) [OP_##id] = { .name = nm, .min_inputs = 1, .max_inputs = 1, \
    .n_outputs = 1, .flags = (fl), .infer = inf, .cpu = kern, .doc = doc_ }

const op_def op_table[OP_COUNT] = {
    BINARY(ADD, "add", EWD | OPF_COMMUTATIVE, op_infer_binary, "a + b"),
    BINARY(SUB, "sub", EWD, op_infer_binary, "a - b"),
    BINARY(MUL, "mul", EWD | OPF_COMMUTATIVE, op_infer_binary, "a * b"),
    BINARY(DIV, "div", EWD, op_infer_binary, "a / b (integers: C truncation; x/0 is an error)"),
    BINARY(POW, "pow", EWD, op_infer_binary, "a ** b"),
    BINARY(MINIMUM, "minimum", EWD | OPF_COMMUTATIVE, op_infer_binary, "elementwise min(a, b)"),
    BINARY(MAXIMUM, "maximum", EWD | OPF_COMMUTATIVE, op_infer_binary, "elementwise max(a, b)"),
    BINARY(EQUAL, "equal", EW | OPF_COMMUTATIVE, op_infer_compare, "a == b (bool)"),
    BINARY(NOT_EQUAL, "not_equal", EW | OPF_COMMUTATIVE, op_infer_compare, "a != b (bool)"),
    BINARY(LESS, "less", EW, op_infer_compare, "a < b (bool)"),
    BINARY(LESS_EQUAL, "less_equal", EW, op_infer_compare, "a <= b (bool)"),
    BINARY(GREATER, "greater", EW, op_infer_compare, "a > b (bool)"),
    BINARY(GREATER_EQUAL, "greater_equal", EW, op_infer_compare, "a >= b (bool)"),
    BINARY(LOGICAL_AND, "logical_and", EW | OPF_COMMUTATIVE, op_infer_logical, "a and b (bool)"),
    BINARY(LOGICAL_OR, "logical_or", EW | OPF_COMMUTATIVE, op_infer_logical, "a or b (bool)"),

    UNARY(LOGICAL_NOT, "logical_not", EW, op_infer_logical, op_cpu_logical_not, "not a (bool)"),
    UNARY(NEG, "neg", EWD, op_infer_unary, op_cpu_neg, "-x"),
    UNARY(ABS, "abs", EWD, op_infer_unary, op_cpu_abs, "|x|"),
    UNARY(EXP, "exp", EWD, op_infer_unary_float, op_cpu_exp, "e^x"),
    UNARY(LOG, "log", EWD, op_infer_unary_float, op_cpu_log, "natural log"),
    UNARY(SQRT, "sqrt", EWD, op_infer_unary_float, op_cpu_sqrt, "square root"),
    UNARY(RSQRT, "rsqrt", EWD, op_infer_unary_float, op_cpu_rsqrt, "1 / sqrt(x)"),
    UNARY(RECIPROCAL, "reciprocal", EWD, op_infer_unary_float, op_cpu_reciprocal, "1 / x"),
    UNARY(TANH, "tanh", EWD, op_infer_unary_float, op_cpu_tanh, "hyperbolic tangent"),
    UNARY(SIGMOID, "sigmoid", EWD, op_infer_unary_float, op_cpu_sigmoid, "1 / (1 + e^-x)"),
    UNARY(RELU, "relu", EWD, op_infer_unary, op_cpu_relu, "max(x, 0)"),
    [OP_LEAKY_RELU] = { .name = "leaky_relu", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = EWD, ATTRS(A_FLOAT("alpha", 0.01)),
        .infer = op_infer_leaky_relu, .cpu = op_cpu_leaky_relu, .doc = "x if x > 0 else alpha * x" },
    [OP_GELU] = { .name = "gelu", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = EWD, ATTRS(A_ENUM("approximate", 0, gelu_modes)),
        .infer = op_infer_gelu, .cpu = op_cpu_gelu,
        .doc = "x * Phi(x); approximate=\"tanh\" uses the tanh formula" },
    UNARY(ERF, "erf", EWD, op_infer_unary_float, op_cpu_erf, "error function"),
    [OP_CLIP] = { .name = "clip", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = EWD, ATTRS(A_FLOAT("min", -INFINITY), A_FLOAT("max", INFINITY)),
        .infer = op_infer_clip, .cpu = op_cpu_clip, .doc = "min(max(x, min), max)" },
    [OP_CAST] = { .name = "cast", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_ELEMENTWISE | OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        ATTRS({ .name = "to", .kind = OP_ATTR_INT, .required = 1, .enum_names = dtype_names }),
        .infer = op_infer_cast, .cpu = op_cpu_cast, .doc = "convert to dtype `to` (float->int truncates)" },
    UNARY(IDENTITY, "identity", EWD, op_infer_unary, op_cpu_identity, "copy of x"),
    [OP_WHERE] = { .name = "where", .min_inputs = 3, .max_inputs = 3, .n_outputs = 1,
        .flags = OPF_ELEMENTWISE | OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        .infer = op_infer_where, .cpu = op_cpu_where, .doc = "cond ? a : b, broadcast" },

    [OP_MATMUL] = { .name = "matmul", .min_inputs = 2, .max_inputs = 3, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        ATTRS(A_INT("trans_a", 0), A_INT("trans_b", 0), A_ENUM("activation", 0, op_act_names)),
        .infer = op_infer_matmul, .cpu = op_cpu_matmul,
        .doc = "act(a @ b + bias); batched with broadcast batch dims; trans_a/trans_b transpose the last two "
               "dims; optional bias[N] on the last dim; activation none/relu/gelu/gelu_tanh/sigmoid/tanh" },
    [OP_TRANSPOSE] = { .name = "transpose", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_INTS("perm", 0, 0, 0)),
        .infer = op_infer_transpose, .cpu = op_cpu_transpose,
        .doc = "permute dims by perm (empty: reverse them)" },

    [OP_RESHAPE] = { .name = "reshape", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE | OPF_VIEW | OPF_INPLACE,
        ATTRS(A_REQ_INTS("shape", 0)), .infer = op_infer_reshape, .cpu = op_cpu_reshape,
        .doc = "new shape; 0 copies the input dim, one -1 is inferred" },
    [OP_FLATTEN] = { .name = "flatten", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE | OPF_VIEW | OPF_INPLACE,
        ATTRS(A_INT("start_dim", 1), A_INT("end_dim", -1)),
        .infer = op_infer_flatten, .cpu = op_cpu_reshape, .doc = "merge dims start_dim..end_dim" },
    [OP_SQUEEZE] = { .name = "squeeze", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE | OPF_VIEW | OPF_INPLACE,
        ATTRS(A_INTS("axes", 0, 0, 0)), .infer = op_infer_squeeze, .cpu = op_cpu_reshape,
        .doc = "drop size-1 dims (the given axes, or all)" },
    [OP_UNSQUEEZE] = { .name = "unsqueeze", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE | OPF_VIEW | OPF_INPLACE,
        ATTRS(A_REQ_INTS("axes", 0)), .infer = op_infer_unsqueeze, .cpu = op_cpu_reshape,
        .doc = "insert size-1 dims at axes (of the output)" },
    [OP_EXPAND] = { .name = "expand", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        ATTRS(A_REQ_INTS("shape", 0)), .infer = op_infer_expand, .cpu = op_cpu_expand,
        .doc = "broadcast to shape; -1 keeps the input dim" },
    [OP_CONCAT] = { .name = "concat", .min_inputs = 1, .max_inputs = OP_MAX_INPUTS, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_INT("axis", 0)),
        .infer = op_infer_concat, .cpu = op_cpu_concat, .doc = "join along axis" },
    [OP_SPLIT] = { .name = "split", .min_inputs = 1, .max_inputs = 1, .n_outputs = OP_NOUT_ATTR0,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        ATTRS(A_REQ_INTS("sizes", 0), A_INT("axis", 0)),
        .infer = op_infer_split, .cpu = op_cpu_split, .doc = "cut along axis into pieces of the given sizes" },
    [OP_SLICE] = { .name = "slice", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        ATTRS(A_REQ_INTS("starts", 0), A_REQ_INTS("ends", 0), A_INTS("axes", 0, 0, 0),
              A_INTS("steps", 0, 0, 0)),
        .infer = op_infer_slice, .cpu = op_cpu_slice,
        .doc = "x[start:end:step] on axes (NumPy clamping, negative indices from the end)" },
    [OP_GATHER] = { .name = "gather", .min_inputs = 2, .max_inputs = 2, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_INT("axis", 0)),
        .infer = op_infer_gather, .cpu = op_cpu_gather,
        .doc = "take(x, indices, axis) as NumPy; out-of-range index is an error" },
    [OP_PAD] = { .name = "pad", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        ATTRS(A_REQ_INTS("pads", 0), A_FLOAT("value", 0.0)),
        .infer = op_infer_pad, .cpu = op_cpu_pad,
        .doc = "constant padding; pads = [begin_0..begin_r-1, end_0..end_r-1] (ONNX order)" },

    [OP_SUM] = { .name = "sum", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_INTS("axes", 0, 0, 0), A_INT("keepdims", 0)),
        .infer = op_infer_reduce, .cpu = op_cpu_sum, .doc = "sum over axes (empty: all)" },
    [OP_MEAN] = { .name = "mean", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_INTS("axes", 0, 0, 0), A_INT("keepdims", 0)),
        .infer = op_infer_reduce_float, .cpu = op_cpu_mean, .doc = "mean over axes (empty: all)" },
    [OP_MAX] = { .name = "max", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_INTS("axes", 0, 0, 0), A_INT("keepdims", 0)),
        .infer = op_infer_reduce, .cpu = op_cpu_max, .doc = "max over axes (empty: all)" },
    [OP_MIN] = { .name = "min", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_INTS("axes", 0, 0, 0), A_INT("keepdims", 0)),
        .infer = op_infer_reduce, .cpu = op_cpu_min, .doc = "min over axes (empty: all)" },
    [OP_ARGMAX] = { .name = "argmax", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE, ATTRS(A_INT("axis", -1), A_INT("keepdims", 0)),
        .infer = op_infer_argmax, .cpu = op_cpu_argmax, .doc = "index (i64) of the first max along axis" },

    [OP_SOFTMAX] = { .name = "softmax", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_INT("axis", -1)),
        .infer = op_infer_softmax, .cpu = op_cpu_softmax, .doc = "exp(x - max) / sum, along axis" },
    [OP_LOG_SOFTMAX] = { .name = "log_softmax", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_INT("axis", -1)),
        .infer = op_infer_softmax, .cpu = op_cpu_log_softmax, .doc = "x - max - log(sum exp(x - max))" },
    [OP_CONV2D] = { .name = "conv2d", .min_inputs = 2, .max_inputs = 3, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        ATTRS(A_INTS("stride", 2, 2, 1, 1), A_INTS("padding", 2, 2, 0, 0),
              A_INTS("dilation", 2, 2, 1, 1), A_INT("groups", 1), A_ENUM("activation", 0, op_act_names)),
        .infer = op_infer_conv2d, .cpu = op_cpu_conv2d, .workspace = op_ws_conv2d,
        .doc = "act(x[N,C,H,W] * w[O,C/groups,kh,kw] (+ b[O])), NCHW, symmetric padding; activation as matmul" },
    [OP_MAX_POOL2D] = { .name = "max_pool2d", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        ATTRS(A_REQ_INTS("kernel", 2), A_INTS("stride", 2, 0, 0), A_INTS("padding", 2, 2, 0, 0),
              A_INTS("dilation", 2, 2, 1, 1), A_INT("ceil_mode", 0)),
        .infer = op_infer_pool2d, .cpu = op_cpu_max_pool2d,
        .doc = "max over kernel windows, NCHW; stride defaults to kernel; padding is -inf" },
    [OP_AVG_POOL2D] = { .name = "avg_pool2d", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        ATTRS(A_REQ_INTS("kernel", 2), A_INTS("stride", 2, 0, 0), A_INTS("padding", 2, 2, 0, 0),
              A_INTS("dilation", 2, 2, 1, 1), A_INT("ceil_mode", 0), A_INT("count_include_pad", 1)),
        .infer = op_infer_pool2d, .cpu = op_cpu_avg_pool2d,
        .doc = "mean over kernel windows, NCHW (PyTorch semantics)" },
    [OP_GLOBAL_AVG_POOL] = { .name = "global_avg_pool", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE,
        .infer = op_infer_global_avg_pool, .cpu = op_cpu_global_avg_pool,
        .doc = "[N,C,H,W] -> [N,C,1,1] mean over H,W" },
    [OP_BATCH_NORM] = { .name = "batch_norm", .min_inputs = 5, .max_inputs = 5, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_FLOAT("eps", 1e-5)),
        .infer = op_infer_batch_norm, .cpu = op_cpu_batch_norm,
        .doc = "inference: (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c], channel axis 1" },
    [OP_LAYER_NORM] = { .name = "layer_norm", .min_inputs = 1, .max_inputs = 3, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_INT("axis", -1), A_FLOAT("eps", 1e-5)),
        .infer = op_infer_layer_norm, .cpu = op_cpu_layer_norm,
        .doc = "normalise over dims axis..rank-1, then * scale + bias (shape of those dims)" },
    [OP_DROPOUT] = { .name = "dropout", .min_inputs = 1, .max_inputs = 1, .n_outputs = 1,
        .flags = OPF_DIFFERENTIABLE, ATTRS(A_FLOAT("p", 0.5)),
        .infer = op_infer_dropout, .cpu = op_cpu_dropout,
        .doc = "identity at inference" },

    /* emitted by automatic differentiation (graphc/autodiff.c; ops/grad_kernels.c) */
    [OP_RESHAPE_AS] = { .name = "reshape_as", .min_inputs = 2, .max_inputs = 2, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE | OPF_VIEW | OPF_INPLACE,
        .infer = op_infer_reshape_as, .cpu = op_cpu_reshape_as,
        .doc = "x's elements in the shape of ref (ref gives only its shape)" },
    [OP_EXPAND_AS] = { .name = "expand_as", .min_inputs = 2, .max_inputs = 2, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, .infer = op_infer_expand_as, .cpu = op_cpu_expand_as,
        .doc = "x broadcast to the shape of ref (ref gives only its shape)" },
    [OP_SUM_TO] = { .name = "sum_to", .min_inputs = 2, .max_inputs = 2, .n_outputs = 1,
        .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, .infer = op_infer_sum_to, .cpu = op_cpu_sum_to,
        .doc = "x summed over its broadcast dims down to the shape of ref (NumPy unbroadcast)" },
    [OP_GELU_GRAD] = { .name = "gelu_grad", .min_inputs = 2, .max_inputs = 2, .n_outputs = 1,
        .flags = OPF_FOLDABLE, ATTRS(A_ENUM("approximate", 0, gelu_modes)),
        .infer = op_infer_gelu_grad, .cpu = op_cpu_gelu_grad, .doc = "gy * gelu'(x) (inputs x, gy)" },
    [OP_CONV2D_BACKWARD_DATA] = { .name = "conv2d_backward_data", .min_inputs = 2, .max_inputs = 2,
        .n_outputs = 1, .flags = OPF_FOLDABLE,
        ATTRS(A_INTS("stride", 2, 2, 1, 1), A_INTS("padding", 2, 2, 0, 0),
              A_INTS("dilation", 2, 2, 1, 1), A_INT("groups", 1), A_REQ_INTS("input_hw", 2)),
        .infer = op_infer_conv2d_backward_data, .cpu = op_cpu_conv2d_backward_data,
        .workspace = op_ws_conv2d_backward_data,
        .doc = "gradient of conv2d w.r.t. x (inputs gy, w); input_hw = x's [H, W]" },
    [OP_CONV2D_BACKWARD_FILTER] = { .name = "conv2d_backward_filter", .min_inputs = 2, .max_inputs = 2,
        .n_outputs = 1, .flags = OPF_FOLDABLE,
        ATTRS(A_INTS("stride", 2, 2, 1, 1), A_INTS("padding", 2, 2, 0, 0),
              A_INTS("dilation", 2, 2, 1, 1), A_INT("groups", 1), A_REQ_INTS("kernel", 2)),
        .infer = op_infer_conv2d_backward_filter, .cpu = op_cpu_conv2d_backward_filter,
        .workspace = op_ws_conv2d_backward_filter,
        .doc = "gradient of conv2d w.r.t. w (inputs x, gy); kernel = w's [kh, kw]" },
    [OP_MAX_POOL2D_GRAD] = { .name = "max_pool2d_grad", .min_inputs = 2, .max_inputs = 2, .n_outputs = 1,
        .flags = OPF_FOLDABLE,
        ATTRS(A_REQ_INTS("kernel", 2), A_INTS("stride", 2, 0, 0), A_INTS("padding", 2, 2, 0, 0),
              A_INTS("dilation", 2, 2, 1, 1), A_INT("ceil_mode", 0)),
        .infer = op_infer_max_pool2d_grad, .cpu = op_cpu_max_pool2d_grad,
        .doc = "gradient of max_pool2d (inputs x, gy): gy routed to each window's max" },
    [OP_AVG_POOL2D_GRAD] = { .name = "avg_pool2d_grad", .min_inputs = 2, .max_inputs = 2, .n_outputs = 1,
        .flags = OPF_FOLDABLE,
        ATTRS(A_REQ_INTS("kernel", 2), A_INTS("stride", 2, 0, 0), A_INTS("padding", 2, 2, 0, 0),
              A_INTS("dilation", 2, 2, 1, 1), A_INT("ceil_mode", 0), A_INT("count_include_pad", 1)),
        .infer = op_infer_avg_pool2d_grad, .cpu = op_cpu_avg_pool2d_grad,
        .doc = "gradient of avg_pool2d (inputs x for its shape, gy)" },
    [OP_GATHER_GRAD] = { .name = "gather_grad", .min_inputs = 3, .max_inputs = 3, .n_outputs = 1,
        .flags = OPF_FOLDABLE, ATTRS(A_INT("axis", 0)),
        .infer = op_infer_gather_grad, .cpu = op_cpu_gather_grad,
        .doc = "adjoint of gather (inputs gy, indices, ref): scatter-add into zeros of ref's shape" },

    /* made by the fuse_ew pass (graphc/pass_fuse_ew.c); the program format is in ops/fused.c */
    [OP_FUSED_ELEMENTWISE] = { .name = "fused_elementwise", .min_inputs = 1, .max_inputs = OP_MAX_INPUTS,
        .n_outputs = 1, .flags = OPF_FOLDABLE, /* not OPF_ELEMENTWISE: no single-op reference */
        ATTRS(A_REQ_INTS("prog", 0), A_INTS("prog1", 0, 0, 0), A_INTS("prog2", 0, 0, 0), A_INTS("prog3", 0, 0, 0)),
        .infer = op_infer_fused_elementwise, .cpu = op_cpu_fused_elementwise, .workspace = op_ws_fused_elementwise,
        .doc = "a program of elementwise f32/f64 ops over broadcast inputs (prog..prog3 concatenated), run tile by tile" },

    /* losses (ops/loss.c); reduction "none" | "mean" | "sum" as PyTorch */
    [OP_SOFTMAX_CROSS_ENTROPY] = { .name = "softmax_cross_entropy", .min_inputs = 2, .max_inputs = 2,
        .n_outputs = 1, .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_ENUM("reduction", 1, op_loss_reductions)),
        .infer = op_infer_softmax_cross_entropy, .cpu = op_cpu_softmax_cross_entropy,
        .workspace = op_ws_softmax_cross_entropy,
        .doc = "logsumexp(logits[n]) - logits[n, labels[n]] for logits[N, C], labels[N] i32/i64 in [0, C); "
               "reduced over N (none: [N])" },
    [OP_SOFTMAX_CROSS_ENTROPY_GRAD] = { .name = "softmax_cross_entropy_grad", .min_inputs = 3, .max_inputs = 3,
        .n_outputs = 1, .flags = OPF_FOLDABLE, ATTRS(A_ENUM("reduction", 1, op_loss_reductions)),
        .infer = op_infer_softmax_cross_entropy_grad, .cpu = op_cpu_softmax_cross_entropy_grad,
        .doc = "gradient of softmax_cross_entropy w.r.t. logits (inputs logits, labels, gy): "
               "(softmax(logits) - onehot(labels)) * gy, / N for mean" },
    [OP_BCE_WITH_LOGITS] = { .name = "binary_cross_entropy_with_logits", .min_inputs = 2, .max_inputs = 2,
        .n_outputs = 1, .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_ENUM("reduction", 1, op_loss_reductions)),
        .infer = op_infer_bce_with_logits, .cpu = op_cpu_bce_with_logits, .workspace = op_ws_loss_elementwise,
        .doc = "max(x, 0) - x * t + log(1 + exp(-|x|)) for logits x, targets t of one shape; "
               "reduced over all elements (none: x's shape)" },
    [OP_MSE_LOSS] = { .name = "mse_loss", .min_inputs = 2, .max_inputs = 2,
        .n_outputs = 1, .flags = OPF_FOLDABLE | OPF_DIFFERENTIABLE, ATTRS(A_ENUM("reduction", 1, op_loss_reductions)),
        .infer = op_infer_mse_loss, .cpu = op_cpu_mse_loss, .workspace = op_ws_loss_elementwise,
        .doc = "(a - b)^2 for a, b of one shape; reduced over all elements (none: a's shape)" },
};

const op_def *op_get(op_kind k)
{
    if ((int)k < 0 || k >= OP_COUNT)
        return NULL;
    return &op_table[k];
}

int op_find(const char *name)
{
    for (int k = 0; k < OP_COUNT; k++)
        if (op_table[k].name && strcmp(op_table[k].name, name) == 0)
            return k;
    return -1;
}

int op_attr_index(op_kind k, const char *name)
{
    const op_def *d = op_get(k);
    if (!d)
        return -1;
    for (int i = 0; i < d->n_attrs; i++)
        if (strcmp(d->attrs[i].name, name) == 0)
            return i;
    return -1;
}

void op_attrs_default(op_kind k, op_attr *attrs)
{
    memset(attrs, 0, sizeof(op_attr) * OP_MAX_ATTRS);
    const op_def *d = op_get(k);
    if (!d)
        return;
    for (int i = 0; i < d->n_attrs && i < OP_MAX_ATTRS; i++)
        attrs[i] = d->attrs[i].def;
}

int op_n_outputs(op_kind k, const op_attr *attrs)
{
    const op_def *d = op_get(k);
    if (!d)
        return -1;
    if (d->n_outputs == OP_NOUT_ATTR0)
        return attrs[0].n;
    return d->n_outputs;
}
