/* ops/kernels.h -- declarations of every op's inference rule and CPU kernel,
 * grouped by the file that implements them. ops/ops.c puts them in op_table. */
#ifndef OPS_KERNELS_H
#define OPS_KERNELS_H

#include "op.h"

#define OP_INFER(fn) int fn(const op_attr *attrs, const op_type *in, int n_in, \
                            op_type *out, int n_out, char *err, size_t err_len)
#define OP_KERNEL(fn) int fn(op_ctx *ctx, const op_attr *attrs, const op_tensor *in, \
                             int n_in, op_tensor *out, int n_out)
#define OP_WORKSPACE(fn) size_t fn(const op_attr *attrs, const op_tensor *in, int n_in, \
                                   const op_tensor *out, int n_out)

/* ops/elementwise.c */
OP_INFER(op_infer_binary);      /* same dtype (numeric), broadcast */
OP_INFER(op_infer_compare);     /* same dtype, broadcast, out bool */
OP_INFER(op_infer_logical);     /* bool inputs, broadcast, out bool */
OP_INFER(op_infer_unary);       /* numeric, same type out */
OP_INFER(op_infer_unary_float); /* f32/f64 only, same type out */
OP_INFER(op_infer_cast);
OP_INFER(op_infer_where);
OP_INFER(op_infer_leaky_relu);  /* unary_float + attribute checks */
OP_INFER(op_infer_gelu);
OP_INFER(op_infer_clip);        /* unary + attribute checks */
OP_INFER(op_infer_dropout);
OP_KERNEL(op_cpu_add); OP_KERNEL(op_cpu_sub); OP_KERNEL(op_cpu_mul);
OP_KERNEL(op_cpu_div); OP_KERNEL(op_cpu_pow); OP_KERNEL(op_cpu_minimum);
OP_KERNEL(op_cpu_maximum); OP_KERNEL(op_cpu_equal); OP_KERNEL(op_cpu_not_equal);
OP_KERNEL(op_cpu_less); OP_KERNEL(op_cpu_less_equal); OP_KERNEL(op_cpu_greater);
OP_KERNEL(op_cpu_greater_equal); OP_KERNEL(op_cpu_logical_and);
OP_KERNEL(op_cpu_logical_or); OP_KERNEL(op_cpu_logical_not);
OP_KERNEL(op_cpu_neg); OP_KERNEL(op_cpu_abs); OP_KERNEL(op_cpu_exp);
OP_KERNEL(op_cpu_log); OP_KERNEL(op_cpu_sqrt); OP_KERNEL(op_cpu_rsqrt);
OP_KERNEL(op_cpu_reciprocal); OP_KERNEL(op_cpu_tanh); OP_KERNEL(op_cpu_sigmoid);
OP_KERNEL(op_cpu_relu); OP_KERNEL(op_cpu_leaky_relu); OP_KERNEL(op_cpu_gelu);
OP_KERNEL(op_cpu_erf); OP_KERNEL(op_cpu_clip); OP_KERNEL(op_cpu_cast);
OP_KERNEL(op_cpu_identity); OP_KERNEL(op_cpu_where);
OP_KERNEL(op_cpu_dropout); /* identity unless ctx->training */

/* ops/shape_ops.c */
OP_INFER(op_infer_transpose); OP_INFER(op_infer_reshape); OP_INFER(op_infer_flatten);
OP_INFER(op_infer_squeeze); OP_INFER(op_infer_unsqueeze); OP_INFER(op_infer_expand);
OP_INFER(op_infer_concat); OP_INFER(op_infer_split); OP_INFER(op_infer_slice);
OP_INFER(op_infer_gather); OP_INFER(op_infer_pad);
OP_KERNEL(op_cpu_transpose); OP_KERNEL(op_cpu_reshape); /* reshape/flatten/squeeze/unsqueeze: copy */
OP_KERNEL(op_cpu_expand); OP_KERNEL(op_cpu_concat); OP_KERNEL(op_cpu_split);
OP_KERNEL(op_cpu_slice); OP_KERNEL(op_cpu_gather); OP_KERNEL(op_cpu_pad);

/* ops/reduce.c */
OP_INFER(op_infer_reduce); OP_INFER(op_infer_argmax);
OP_INFER(op_infer_reduce_float); /* mean: float dtypes only */
OP_KERNEL(op_cpu_sum); OP_KERNEL(op_cpu_mean); OP_KERNEL(op_cpu_max);
OP_KERNEL(op_cpu_min); OP_KERNEL(op_cpu_argmax);

/* ops/linalg.c */
OP_INFER(op_infer_matmul);
OP_KERNEL(op_cpu_matmul);

/* ops/nn.c */
OP_INFER(op_infer_softmax); OP_INFER(op_infer_conv2d); OP_INFER(op_infer_pool2d);
OP_INFER(op_infer_global_avg_pool); OP_INFER(op_infer_batch_norm);
OP_INFER(op_infer_layer_norm);
OP_KERNEL(op_cpu_softmax); OP_KERNEL(op_cpu_log_softmax); OP_KERNEL(op_cpu_conv2d);
OP_KERNEL(op_cpu_max_pool2d); OP_KERNEL(op_cpu_avg_pool2d);
OP_KERNEL(op_cpu_global_avg_pool); OP_KERNEL(op_cpu_batch_norm);
OP_KERNEL(op_cpu_layer_norm);
OP_WORKSPACE(op_ws_conv2d);

/* conv2d's geometry and its im2col, shared with the conv2d backward kernels
 * of ops/grad_kernels.c. NCHW; C = G*Cg input and O = G*Og output channels,
 * stride s, padding p, dilation d as [h, w]. */
typedef struct op_conv_geom {
    int64_t N, C, H, W, O, kh, kw, OH, OW, G, Cg, Og;
    int64_t s[2], p[2], d[2];
} op_conv_geom;
/* col[((c*kh + i)*kw + j)*ld + oh*OW + ow] = xg[c][oh*sh - ph + i*dh][ow*sw - pw + j*dw]
 * (0 outside x) for the Cg channel planes at xg; ld >= OH*OW (larger ld puts
 * several images side by side). Rows split over nt threads. */
void op_conv_im2col(const op_conv_geom *g, const float *restrict xg, float *restrict col, int64_t ld,
                    int nt);
/* First and one-past-last output index o in [0, n_out) whose input position
 * o*s + off lies in [0, n_in) (s >= 1); lo == hi when there is none. */
void op_conv_valid_range(int64_t off, int64_t s, int64_t n_in, int64_t n_out, int64_t *lo,
                         int64_t *hi);

/* ops/kernel_check.c: checks shared by the ops of ops/loss.c and
 * ops/grad_kernels.c. */
/* Inference side: n_in == want inputs and 1 output, each input a valid type
 * (known dtype, rank in range, no negative dim). -1 with a message in err. */
int op_check_inputs(const char *op, const op_type *in, int n_in, int want, int n_out, char *err,
                    size_t err_len);
/* Kernel side: 1 to max_in inputs and one output, each tensor with a valid
 * shape and data; runs infer on the inputs' concrete types and checks the
 * output's type against it. -1 with a message in ctx->err. */
int op_kernel_check(op_ctx *ctx, op_infer_fn infer, const char *op, const op_attr *attrs,
                    const op_tensor *in, int n_in, const op_tensor *out, int n_out, int max_in);

/* ops/fused.c: fused_elementwise (program in attributes prog..prog3) */
OP_INFER(op_infer_fused_elementwise);
OP_KERNEL(op_cpu_fused_elementwise);
OP_WORKSPACE(op_ws_fused_elementwise);

#endif
