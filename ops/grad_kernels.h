/* ops/grad_kernels.h -- inference rules and CPU kernels of the ops that
 * automatic differentiation (graphc/autodiff.c) emits: shape helpers that
 * take their target shape from a reference tensor (so symbolic dims such as
 * the batch N work), and the backward kernels of conv, pooling, gather and
 * gelu. Implemented in ops/grad_kernels.c; listed in op_table (ops/ops.c). */
#ifndef OPS_GRAD_KERNELS_H
#define OPS_GRAD_KERNELS_H

#include "kernels.h"

OP_INFER(op_infer_reshape_as); OP_INFER(op_infer_expand_as); OP_INFER(op_infer_sum_to);
OP_INFER(op_infer_gelu_grad);
OP_INFER(op_infer_conv2d_backward_data); OP_INFER(op_infer_conv2d_backward_filter);
OP_INFER(op_infer_max_pool2d_grad); OP_INFER(op_infer_avg_pool2d_grad);
OP_INFER(op_infer_gather_grad);

OP_KERNEL(op_cpu_reshape_as); OP_KERNEL(op_cpu_expand_as); OP_KERNEL(op_cpu_sum_to);
OP_KERNEL(op_cpu_gelu_grad);
OP_KERNEL(op_cpu_conv2d_backward_data); OP_KERNEL(op_cpu_conv2d_backward_filter);
OP_KERNEL(op_cpu_max_pool2d_grad); OP_KERNEL(op_cpu_avg_pool2d_grad);
OP_KERNEL(op_cpu_gather_grad);

OP_WORKSPACE(op_ws_conv2d_backward_data);
OP_WORKSPACE(op_ws_conv2d_backward_filter);

#endif
