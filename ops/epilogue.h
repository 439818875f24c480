/* ops/epilogue.h -- the fused epilogue of matmul and conv2d: bias add and one
 * activation applied to an output block right after its sgemm, while the
 * block is still in cache. The activation codes are the `activation`
 * attribute of both ops; the compiler's fuse_gemm pass uses them too. */
#ifndef OPS_EPILOGUE_H
#define OPS_EPILOGUE_H

#include "op.h"

enum {
    OP_ACT_NONE = 0,
    OP_ACT_RELU = 1,
    OP_ACT_GELU = 2,      /* erf form */
    OP_ACT_GELU_TANH = 3, /* tanh approximation */
    OP_ACT_SIGMOID = 4,
    OP_ACT_TANH = 5,
    OP_ACT_COUNT
};

/* "none", "relu", ... NULL-terminated (the attribute's enum_names). */
extern const char *const op_act_names[];

/* 0 when act is a valid activation code, else -1 with a message naming op. */
int op_act_check(const char *op, int64_t act, char *err, size_t err_len);

/* y[rows, cols] (f32 or f64, contiguous) = act(y + bias), in place, serial.
 * bias (may be NULL) has cols elements (bias_per_row 0: broadcast over the
 * rows, the matmul case) or rows elements (bias_per_row 1: one per row, the
 * conv case where a row is an output channel plane). The arithmetic is the
 * unfused add and activation kernels' (ops/elementwise.c), so the result is
 * bit for bit that of matmul -> add -> act. Returns 0, or -1 with err set. */
int op_epilogue(op_dtype dt, void *y, int64_t rows, int64_t cols, const void *bias,
                int bias_per_row, int act, char *err, size_t err_len);

#endif
