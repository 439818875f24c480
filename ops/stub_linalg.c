/* ops/stub_linalg.c -- TEMPORARY stubs until ops/linalg.c implements these.
 * Delete this file when linalg.c is complete. */
#include "kernels.h"

OP_INFER(op_infer_matmul) { op_set_err(err, err_len, "not implemented"); return -1; }
OP_KERNEL(op_cpu_matmul) { op_set_err(ctx->err, sizeof ctx->err, "not implemented"); return -1; }
