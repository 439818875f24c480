/* graphc/train.h -- `train LOSS with OPT(...)`: the gradients of the loss
 * for every trainable param (gc_gradients), the optimizer's update math as
 * ordinary IR nodes (PyTorch's torch.optim.SGD / Adam / AdamW formulas),
 * optimizer state as extra zero-initialised params, and the entry points
 * predict, train, grad and apply (see gc_entry in ir.h). */
#ifndef GC_TRAIN_H
#define GC_TRAIN_H

#include "ir.h"

typedef enum gc_opt_kind { GC_OPT_SGD, GC_OPT_ADAM, GC_OPT_ADAMW } gc_opt_kind;

typedef struct gc_train_spec {
    gc_opt_kind opt;
    int loss;            /* value id of an f32 scalar */
    int lr_input;        /* value id of a scalar f32 input (a feed), or -1: lr below */
    double lr;
    double momentum;     /* sgd */
    int nesterov;        /* sgd */
    double beta1, beta2, eps; /* adam, adamw */
    double weight_decay;
    gc_loc loc;          /* the train statement */
} gc_train_spec;

/* Appends to g the backward nodes, the optimizer state params (named
 * <param>.momentum, <param>.adam_m, <param>.adam_v, optimizer.step, and the
 * gradient accumulators <param>.grad), the update nodes, and the four entry
 * points; sets g->trains. The trainable params are the params not marked
 * frozen that the loss depends on. Call once, after every user output is
 * declared. Returns 0, or -1 with errors reported to d. */
int gc_train_build(gc_graph *g, gc_diag *d, const gc_train_spec *spec);

#endif
