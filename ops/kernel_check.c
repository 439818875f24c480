/* ops/kernel_check.c -- the checks that the ops of ops/loss.c and
 * ops/grad_kernels.c share (kernels.h): the inputs an inference rule gets,
 * and the tensors a kernel gets, re-checked against the inference rule run
 * on their concrete shapes. Graph files are untrusted and a kernel trusts
 * nothing about its caller. */
#include "kernels.h"

#define TSTR_LEN 320

static void tstr(const op_type *t, char *buf) { op_type_str(t, NULL, buf, TSTR_LEN); }

int op_check_inputs(const char *op, const op_type *in, int n_in, int want, int n_out, char *err,
                    size_t err_len)
{
    if (n_in != want || !in || n_out != 1) {
        op_set_err(err, err_len, "%s: expects %d inputs and 1 output, got %d and %d", op, want, n_in, n_out);
        return -1;
    }
    for (int i = 0; i < n_in; i++) {
        if (op_dtype_size(in[i].dtype) == 0 || in[i].rank < 0 || in[i].rank > OP_MAX_RANK) {
            op_set_err(err, err_len, "%s: input %d has an invalid dtype or rank", op, i);
            return -1;
        }
        for (int d = 0; d < in[i].rank; d++)
            if (in[i].dims[d].coef < 0) {
                char s[TSTR_LEN];
                tstr(&in[i], s);
                op_set_err(err, err_len, "%s: input %d %s has a negative dim", op, i, s);
                return -1;
            }
    }
    return 0;
}

int op_kernel_check(op_ctx *ctx, op_infer_fn infer, const char *op, const op_attr *attrs,
                    const op_tensor *in, int n_in, const op_tensor *out, int n_out, int max_in)
{
    op_type ti[OP_MAX_INPUTS], to;
    if (max_in > OP_MAX_INPUTS)
        max_in = OP_MAX_INPUTS;
    if (n_in < 1 || n_in > max_in || n_out != 1 || !in || !out) {
        op_set_err(ctx->err, sizeof ctx->err, "%s: bad tensor counts (%d in, %d out)", op, n_in, n_out);
        return -1;
    }
    for (int i = 0; i <= n_in; i++) {
        const op_tensor *t = i < n_in ? &in[i] : &out[0];
        if (t->rank < 0 || t->rank > OP_MAX_RANK || op_tensor_numel(t) < 0) {
            op_set_err(ctx->err, sizeof ctx->err, "%s: tensor %d has a bad shape", op, i);
            return -1;
        }
        if (!t->data && op_tensor_numel(t) > 0) {
            op_set_err(ctx->err, sizeof ctx->err, "%s: tensor %d has no data", op, i);
            return -1;
        }
        if (i < n_in)
            op_type_from_tensor(t, &ti[i]);
    }
    if (infer(attrs, ti, n_in, &to, 1, ctx->err, sizeof ctx->err))
        return -1;
    op_type got;
    op_type_from_tensor(&out[0], &got);
    if (!op_type_eq(&got, &to)) {
        char a[TSTR_LEN], b[TSTR_LEN];
        tstr(&got, a);
        tstr(&to, b);
        op_set_err(ctx->err, sizeof ctx->err, "%s: output is %s, expected %s", op, a, b);
        return -1;
    }
    return 0;
}
