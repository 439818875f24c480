/* ops/stub_elementwise.c -- TEMPORARY stubs until ops/elementwise.c implements these.
 * Delete this file when elementwise.c is complete. */
#include "kernels.h"

OP_INFER(op_infer_binary) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_compare) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_logical) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_unary) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_unary_float) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_cast) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_where) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_KERNEL(op_cpu_add) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_sub) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_mul) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_div) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_pow) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_minimum) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_maximum) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_equal) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_not_equal) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_less) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_less_equal) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_greater) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_greater_equal) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_logical_and) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_logical_or) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_logical_not) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_neg) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_abs) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_exp) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_log) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_sqrt) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_rsqrt) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_reciprocal) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_tanh) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_sigmoid) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_relu) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_leaky_relu) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_gelu) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_erf) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_clip) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_cast) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_identity) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_where) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_dropout) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
