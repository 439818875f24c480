/* ops/stub_shape_ops.c -- TEMPORARY stubs until ops/shape_ops.c implements these.
 * Delete this file when shape_ops.c is complete. */
#include "kernels.h"

OP_INFER(op_infer_transpose) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_reshape) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_flatten) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_squeeze) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_unsqueeze) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_expand) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_concat) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_split) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_slice) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_gather) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_pad) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_KERNEL(op_cpu_transpose) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_reshape) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_expand) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_concat) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_split) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_slice) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_gather) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_pad) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
