/* graphc/autodiff.h -- symbolic reverse-mode differentiation on the IR, as
 * TF1's tf.gradients: gc_gradients appends the backward nodes of y with
 * respect to a list of values to the graph. Each differentiable op has a
 * gradient rule (graphc/grad_rules.c) built from the ops of the table with
 * the small builder below. */
#ifndef GC_AUTODIFF_H
#define GC_AUTODIFF_H

#include "ir.h"

/* Appends to g the nodes computing d sum(y) / d x for each x of xs (the seed
 * is ones of y's shape) and writes the gradient value ids to grads_out (an
 * array of n_xs). y and the xs are float values (inputs, params, constants
 * or node outputs). Gradients of values with several uses are summed; an x
 * that does not influence y gets zeros of its shape. Walks only the nodes on
 * a path from an x to y; values that are not f32/f64 stop the walk (indices,
 * masks). An op on such a path with no gradient rule is an error reported at
 * loc (naming the op and its location, with a note there). Returns 0, or -1
 * with errors reported to d (the nodes added so far stay, unused). */
int gc_gradients(gc_graph *g, gc_diag *d, int y, int n_xs, const int *xs, int *grads_out, gc_loc loc);

/* ---- for the gradient rules ---- */

typedef struct gc_grad_ctx {
    gc_graph *g;
    gc_diag *d;
    gc_loc loc;          /* where new nodes point: the forward node's location */
    gc_loc call_loc;     /* the gradients(...) call, for errors */
    const gc_node *node; /* the forward node whose rule runs */
} gc_grad_ctx;

/* A gradient rule: gout[j] is the gradient of output j (-1: none; a
 * single-output op always has one), need[i] says whether input i wants a
 * gradient; the rule writes gin[i] (preset to -1) with a value of input i's
 * exact type. Returns 0, or -1 after reporting an error. */
typedef int (*gc_grad_fn)(gc_grad_ctx *c, const gc_node *n, const int *gout, const int *need, int *gin);

/* Indexed by op kind; NULL for ops with no gradient (exactly the ops without
 * OPF_DIFFERENTIABLE, which tests/test_gc_autodiff.c checks). */
extern const gc_grad_fn gc_grad_rules[OP_COUNT];

/* Builder: each returns the new value id, or -1 after reporting an error
 * (an inference failure here is a bug in a rule: the message says which). */
const op_type *gc_gb_type(gc_grad_ctx *c, int v);
int gc_gb_op(gc_grad_ctx *c, op_kind k, const int *ins, int n_in, const op_attr *attrs);
/* Several outputs: writes n_out value ids to outs. Returns 0 or -1. */
int gc_gb_op_n(gc_grad_ctx *c, op_kind k, const int *ins, int n_in, const op_attr *attrs, int *outs, int n_out);
int gc_gb_unary(gc_grad_ctx *c, op_kind k, int x);
int gc_gb_binary(gc_grad_ctx *c, op_kind k, int a, int b);
/* A rank-0 constant of dtype dt holding v. */
int gc_gb_scalar(gc_grad_ctx *c, op_dtype dt, double v);
/* x * v, x + v with v a number of x's dtype. */
int gc_gb_mul_num(gc_grad_ctx *c, int x, double v);
int gc_gb_cast(gc_grad_ctx *c, int x, op_dtype dt);
/* x reduced (NumPy unbroadcast) / broadcast / reshaped to ref's shape; x
 * itself when the shapes already agree. Static ops when the shape can be
 * written as attributes, else sum_to / expand_as / reshape_as. */
int gc_gb_sum_to(gc_grad_ctx *c, int x, int ref);
int gc_gb_expand_to(gc_grad_ctx *c, int x, int ref);
int gc_gb_reshape_to(gc_grad_ctx *c, int x, int ref);
/* sum / mean over axes (n_axes >= 1; ints normalised by the caller). */
int gc_gb_reduce(gc_grad_ctx *c, op_kind k, int x, const int *axes, int n_axes, int keepdims);
/* Zeros / ones of v's type. */
int gc_gb_fill_like(gc_grad_ctx *c, int v, double value);
/* Reports "gradients: <op> (at file:l:c): <msg>" at the call location. */
int gc_gb_fail(gc_grad_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
