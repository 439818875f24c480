/* ops/stub_reduce.c -- TEMPORARY stubs until ops/reduce.c implements these.
 * Delete this file when reduce.c is complete. */
#include "kernels.h"

OP_INFER(op_infer_reduce) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_argmax) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_KERNEL(op_cpu_sum) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_mean) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_max) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_min) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_argmax) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
