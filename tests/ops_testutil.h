/* tests/ops_testutil.h -- what the op kernel tests (tests/test_ops_*.c,
 * which link only the op library) share, static inline and header-only:
 * tensors over given data, types for inference, running one op the way the
 * runtime does (inference, an output full of garbage, the workspace the op
 * asks for), reading elements, and the sizes of the NumPy reference arrays
 * of tests/ref/ (NAME, NAME_shape). */
#ifndef OPS_TESTUTIL_H
#define OPS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"

/* rank and element count of a reference array NAME with NAME_shape */
#define RANK(name) ((int)(sizeof name##_shape / sizeof(int64_t)))
#define NEL(name) (sizeof name / sizeof name[0])

/* A tensor of the given type and shape over data (not copied). */
static inline op_tensor tensor(op_dtype dt, int rank, const int64_t *dims, void *data)
{
    op_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    t.data = data;
    return t;
}

/* Infers the output, allocates it filled with garbage and the workspace the
 * op asks for, runs the kernel on nt threads. Returns the kernel's result
 * (-2 if inference failed); err gets the message; the caller frees o->data. */
static inline int run_op(op_kind k, const op_attr *at, const op_tensor *in, int n_in, int nt, op_tensor *o,
                         char *err, size_t err_len)
{
    const op_def *d = op_get(k);
    op_type ti[8], to;
    for (int i = 0; i < n_in; i++)
        op_type_from_tensor(&in[i], &ti[i]);
    memset(o, 0, sizeof *o);
    if (d->infer(at, ti, n_in, &to, 1, err, err_len) != 0)
        return -2;
    assert_int_equal(op_type_eval(&to, NULL, 0, o), 0);
    size_t bytes = (size_t)op_tensor_numel(o) * op_dtype_size(o->dtype);
    o->data = malloc(bytes ? bytes : 1);
    assert_non_null(o->data);
    memset(o->data, 0xA5, bytes);
    op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.n_threads = nt;
    size_t ws = d->workspace ? d->workspace(at, in, n_in, o, 1) : 0;
    ctx.workspace = ws ? malloc(ws) : NULL;
    ctx.workspace_size = ws;
    int rc = d->cpu(&ctx, at, in, n_in, o, 1);
    free(ctx.workspace);
    snprintf(err, err_len, "%s", ctx.err);
    return rc;
}

/* A type of the given dtype and (possibly symbolic) dims, for inference. */
static inline op_type ty(op_dtype dt, int rank, const op_dim *dims)
{
    op_type t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    return t;
}

/* Element i of an f32 or f64 tensor, as a double. */
static inline double elem(const op_tensor *t, int64_t i)
{
    return t->dtype == OP_F32 ? (double)((const float *)t->data)[i] : ((const double *)t->data)[i];
}

#endif
