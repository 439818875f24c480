/* ops/loss.h -- inference rules, CPU kernels and scratch sizes of the loss
 * ops (ops/loss.c): softmax_cross_entropy and its backward op,
 * binary_cross_entropy_with_logits, mse_loss. All take PyTorch's reduction
 * attribute, listed in op_table (ops/ops.c) with op_loss_reductions. */
#ifndef OPS_LOSS_H
#define OPS_LOSS_H

#include "kernels.h"

/* Values of the "reduction" attribute (attribute 0 of every loss op). */
enum { OP_LOSS_NONE = 0, OP_LOSS_MEAN = 1, OP_LOSS_SUM = 2 };
/* "none", "mean", "sum", NULL: the attribute's enum_names. */
extern const char *const op_loss_reductions[];

OP_INFER(op_infer_softmax_cross_entropy);
OP_INFER(op_infer_softmax_cross_entropy_grad);
OP_INFER(op_infer_bce_with_logits);
OP_INFER(op_infer_mse_loss);

OP_KERNEL(op_cpu_softmax_cross_entropy);
OP_KERNEL(op_cpu_softmax_cross_entropy_grad);
OP_KERNEL(op_cpu_bce_with_logits);
OP_KERNEL(op_cpu_mse_loss);

OP_WORKSPACE(op_ws_softmax_cross_entropy);
OP_WORKSPACE(op_ws_loss_elementwise); /* bce_with_logits, mse_loss */

#endif
