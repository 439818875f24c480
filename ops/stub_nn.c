/* ops/stub_nn.c -- TEMPORARY stubs until ops/nn.c implements these.
 * Delete this file when nn.c is complete. */
#include "kernels.h"

OP_INFER(op_infer_softmax) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_conv2d) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_pool2d) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_global_avg_pool) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_batch_norm) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_INFER(op_infer_layer_norm) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_KERNEL(op_cpu_softmax) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_log_softmax) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_conv2d) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_max_pool2d) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_avg_pool2d) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_global_avg_pool) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_batch_norm) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_KERNEL(op_cpu_layer_norm) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
OP_WORKSPACE(op_ws_conv2d) { return 0; }
