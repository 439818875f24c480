/* graphc/train.c -- builds training into the IR (train.h): backward nodes
 * with gc_gradients, the update of each trainable param with PyTorch's
 * formulas (torch.optim.SGD, Adam, AdamW, single-tensor path) as ordinary
 * nodes, optimizer state as params, and the entries predict / train / grad /
 * apply. The Adam bias corrections are computed in f64 as PyTorch does. */
#include "train.h"

#include <stdio.h>
#include <string.h>

#include "autodiff.h"

typedef struct tb {
    gc_graph *g;
    gc_diag *d;
    gc_grad_ctx c;
    const gc_train_spec *sp;
    /* the updates of the entry being built */
    int n_upd, cap_t, cap_v;
    int *upd_target, *upd_value; /* value ids until the entry is made */
} tb;

static int num(tb *b, double v) { return gc_gb_scalar(&b->c, OP_F32, v); }
static int bin(tb *b, op_kind k, int x, int y) { return gc_gb_binary(&b->c, k, x, y); }

/* A zero-initialised, non-trainable param named after p. */
static int state_param(tb *b, const char *name, const op_type *t)
{
    int v = gc_graph_add_value(b->g, GV_PARAM, name, t, b->sp->loc);
    if (v < 0)
        return gc_gb_fail(&b->c, "out of memory");
    gc_value *pv = b->g->values[v];
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i].coef;
    pv->nbytes = (size_t)n * op_dtype_size(t->dtype);
    pv->data = gc_alloc(b->g->arena, pv->nbytes ? pv->nbytes : 1); /* zeroed */
    pv->trainable = 0;
    pv->user_named = 1;
    if (!pv->data)
        return gc_gb_fail(&b->c, "out of memory");
    return v;
}

static int add_update(tb *b, int target, int value)
{
    if (value < 0)
        return -1;
    if (gc_grow(b->g->arena, (void **)&b->upd_target, &b->cap_t, b->n_upd + 1, sizeof(int)) ||
        gc_grow(b->g->arena, (void **)&b->upd_value, &b->cap_v, b->n_upd + 1, sizeof(int)))
        return gc_gb_fail(&b->c, "out of memory");
    b->upd_target[b->n_upd] = target;
    b->upd_value[b->n_upd++] = value;
    return 0;
}

/* The learning rate as an f32 scalar value. */
static int lr_value(tb *b) { return b->sp->lr_input >= 0 ? b->sp->lr_input : num(b, b->sp->lr); }

/* Optimizer state shared by train and apply: per param, made once. */
typedef struct pstate {
    int p, buf, m, v, acc;
} pstate;

/* Appends the update of param st->p from gradient gr (PyTorch's formulas);
 * Adam also takes step_size = lr / bc1 and sqrt(bc2), f32 scalars. */
static int sgd_update(tb *b, const pstate *st, int gr, int lr)
{
    const gc_train_spec *sp = b->sp;
    int d = gr;
    if (sp->weight_decay != 0)
        d = bin(b, OP_ADD, d, bin(b, OP_MUL, num(b, sp->weight_decay), st->p));
    if (sp->momentum != 0) {
        /* buf = momentum * buf + d (dampening 0; the first step's buf = d) */
        int nb = bin(b, OP_ADD, bin(b, OP_MUL, st->buf, num(b, sp->momentum)), d);
        if (add_update(b, st->buf, nb))
            return -1;
        d = sp->nesterov ? bin(b, OP_ADD, d, bin(b, OP_MUL, nb, num(b, sp->momentum))) : nb;
    }
    return add_update(b, st->p, bin(b, OP_SUB, st->p, bin(b, OP_MUL, d, lr)));
}

static int adam_update(tb *b, const pstate *st, int gr, int lr, int step_size, int bc2_sqrt)
{
    const gc_train_spec *sp = b->sp;
    int p = st->p;
    if (sp->weight_decay != 0 && sp->opt == GC_OPT_ADAM)
        gr = bin(b, OP_ADD, gr, bin(b, OP_MUL, st->p, num(b, sp->weight_decay)));
    if (sp->weight_decay != 0 && sp->opt == GC_OPT_ADAMW) /* p *= 1 - lr * wd */
        p = bin(b, OP_MUL, p, bin(b, OP_SUB, num(b, 1.0), bin(b, OP_MUL, lr, num(b, sp->weight_decay))));
    /* m.lerp_(g, 1 - beta1) = m + (1 - beta1) * (g - m) */
    int m = bin(b, OP_ADD, st->m, bin(b, OP_MUL, num(b, 1.0 - sp->beta1), bin(b, OP_SUB, gr, st->m)));
    /* v.mul_(beta2).addcmul_(g, g, value=1 - beta2) */
    int v = bin(b, OP_ADD, bin(b, OP_MUL, st->v, num(b, sp->beta2)),
                bin(b, OP_MUL, bin(b, OP_MUL, num(b, 1.0 - sp->beta2), gr), gr));
    /* denom = sqrt(v) / sqrt(bc2) + eps; p.addcdiv_(m, denom, value=-step_size) */
    int denom = bin(b, OP_ADD, bin(b, OP_DIV, gc_gb_unary(&b->c, OP_SQRT, v), bc2_sqrt), num(b, sp->eps));
    int np = bin(b, OP_SUB, p, bin(b, OP_MUL, step_size, bin(b, OP_DIV, m, denom)));
    if (add_update(b, st->m, m) || add_update(b, st->v, v))
        return -1;
    return add_update(b, st->p, np);
}

/* The optimizer step for every param from grads[i]: one entry's updates. */
static int optimizer_step(tb *b, const pstate *sts, int n, const int *grads, int step)
{
    const gc_train_spec *sp = b->sp;
    int lr = lr_value(b);
    if (lr < 0)
        return -1;
    int step_size = -1, bc2_sqrt = -1;
    if (sp->opt != GC_OPT_SGD) {
        /* step += 1; bias corrections in f64 as torch (python floats) */
        int ns = bin(b, OP_ADD, step, num(b, 1.0));
        if (add_update(b, step, ns))
            return -1;
        int s64 = gc_gb_cast(&b->c, ns, OP_F64);
        int one = gc_gb_scalar(&b->c, OP_F64, 1.0);
        int bc1 = bin(b, OP_SUB, one, bin(b, OP_POW, gc_gb_scalar(&b->c, OP_F64, sp->beta1), s64));
        int bc2 = bin(b, OP_SUB, one, bin(b, OP_POW, gc_gb_scalar(&b->c, OP_F64, sp->beta2), s64));
        step_size = gc_gb_cast(&b->c, bin(b, OP_DIV, gc_gb_cast(&b->c, lr, OP_F64), bc1), OP_F32);
        bc2_sqrt = gc_gb_cast(&b->c, gc_gb_unary(&b->c, OP_SQRT, bc2), OP_F32);
        if (step_size < 0 || bc2_sqrt < 0)
            return -1;
    }
    for (int i = 0; i < n; i++) {
        int rc = sp->opt == GC_OPT_SGD ? sgd_update(b, &sts[i], grads[i], lr)
                                       : adam_update(b, &sts[i], grads[i], lr, step_size, bc2_sqrt);
        if (rc)
            return -1;
    }
    return 0;
}

/* Index of value v among g->outputs, appending it (a kept value) if new. */
static int keep(gc_graph *g, int v)
{
    for (int i = g->n_user_outputs; i < g->n_outputs; i++)
        if (g->outputs[i] == v)
            return i;
    return gc_graph_add_output(g, v) < 0 ? -1 : g->n_outputs - 1;
}

/* Makes entry `name` from n_fetch value ids and b's updates; feeds are the
 * inputs those need. Resets b's updates. */
static int make_entry(tb *b, const char *name, int n_fetch, const int *fetch_vals, int user_fetch)
{
    gc_graph *g = b->g;
    gc_entry *e = &g->entries[g->n_entries];
    memset(e, 0, sizeof *e);
    e->name = name;
    e->fetches = gc_alloc(g->arena, sizeof(int) * (size_t)(n_fetch + 1));
    e->upd_target = gc_alloc(g->arena, sizeof(int) * (size_t)(b->n_upd + 1));
    e->upd_value = gc_alloc(g->arena, sizeof(int) * (size_t)(b->n_upd + 1));
    char *need = gc_alloc(g->arena, (size_t)g->n_values + 1);
    e->feeds = gc_alloc(g->arena, sizeof(int) * (size_t)(g->n_values + 1));
    if (!e->fetches || !e->upd_target || !e->upd_value || !need || !e->feeds)
        return gc_gb_fail(&b->c, "out of memory");
    for (int i = 0; i < n_fetch; i++) {
        int v = fetch_vals[i];
        e->fetches[i] = user_fetch ? i : keep(g, v);
        if (e->fetches[i] < 0)
            return gc_gb_fail(&b->c, "out of memory");
        need[v] = 1;
    }
    e->n_fetches = n_fetch;
    for (int i = 0; i < b->n_upd; i++) {
        e->upd_target[i] = b->upd_target[i];
        e->upd_value[i] = keep(g, b->upd_value[i]);
        if (e->upd_value[i] < 0)
            return gc_gb_fail(&b->c, "out of memory");
        need[b->upd_value[i]] = 1;
    }
    e->n_updates = b->n_upd;
    b->n_upd = 0;
    for (int k = g->n_nodes - 1; k >= 0; k--) {
        const gc_node *n = g->nodes[k];
        int used = 0;
        for (int j = 0; j < n->n_outputs; j++)
            used |= need[n->outputs[j]];
        for (int j = 0; used && j < n->n_inputs; j++)
            need[n->inputs[j]] = 1;
    }
    for (int v = 0; v < g->n_values; v++)
        if (need[v] && g->values[v]->kind == GV_INPUT)
            e->feeds[e->n_feeds++] = v;
    g->n_entries++;
    return 0;
}

int gc_train_build(gc_graph *g, gc_diag *d, const gc_train_spec *sp)
{
    tb b;
    memset(&b, 0, sizeof b);
    b.g = g;
    b.d = d;
    b.sp = sp;
    b.c = (gc_grad_ctx){ .g = g, .d = d, .loc = sp->loc, .call_loc = sp->loc, .node = NULL };
    const gc_value *lv = g->values[sp->loss];
    if (lv->type.dtype != OP_F32 || lv->type.rank != 0) {
        char ts[128];
        op_type_str(&lv->type, NULL, ts, sizeof ts);
        gc_error(d, sp->loc, "train: the loss must be an f32 scalar, not %s", ts);
        return -1;
    }
    g->trains = 1;
    g->n_user_outputs = g->n_outputs;
    g->train_lr = sp->lr;
    g->train_lr_input = sp->lr_input;
    const char *lrs = sp->lr_input >= 0 ? g->values[sp->lr_input]->name : NULL;
    char lrbuf[32];
    snprintf(lrbuf, sizeof lrbuf, "%.9g", sp->lr);
    if (!lrs)
        lrs = lrbuf;
    if (sp->opt == GC_OPT_SGD)
        g->train_optimizer = gc_sprintf(g->arena, "sgd(lr=%s, momentum=%g, nesterov=%s, weight_decay=%g)", lrs,
                                        sp->momentum, sp->nesterov ? "true" : "false", sp->weight_decay);
    else
        g->train_optimizer = gc_sprintf(g->arena, "%s(lr=%s, beta1=%g, beta2=%g, eps=%g, weight_decay=%g)",
                                        sp->opt == GC_OPT_ADAM ? "adam" : "adamw", lrs, sp->beta1, sp->beta2, sp->eps,
                                        sp->weight_decay);
    if (!g->train_optimizer)
        return gc_gb_fail(&b.c, "out of memory");
    g->entries = gc_alloc(g->arena, sizeof(gc_entry) * 4); /* predict, train, grad, apply */
    if (!g->entries)
        return gc_gb_fail(&b.c, "out of memory");

    /* the trainable params the loss depends on (as torch: no grad, no step) */
    int nv0 = g->n_values;
    char *anc = gc_alloc(g->arena, (size_t)nv0 + 1);
    int *params = gc_alloc(g->arena, sizeof(int) * (size_t)(nv0 + 1));
    if (!anc || !params)
        return gc_gb_fail(&b.c, "out of memory");
    anc[sp->loss] = 1;
    for (int k = g->n_nodes - 1; k >= 0; k--) {
        const gc_node *n = g->nodes[k];
        int used = 0;
        for (int j = 0; j < n->n_outputs; j++)
            used |= anc[n->outputs[j]];
        for (int j = 0; used && j < n->n_inputs; j++)
            anc[n->inputs[j]] = 1;
    }
    int np = 0;
    for (int v = 0; v < nv0; v++) {
        const gc_value *x = g->values[v];
        if (x->kind == GV_PARAM && x->trainable && anc[v] && op_dtype_is_float(x->type.dtype))
            params[np++] = v;
    }
    if (np == 0) {
        gc_error(d, sp->loc, "train: no trainable param influences the loss (params marked 'frozen' are not trained)");
        return -1;
    }
    for (int i = 0; i < np; i++) {
        const op_type *t = &g->values[params[i]]->type;
        for (int j = 0; j < t->rank; j++)
            if (t->dims[j].sym >= 0) {
                gc_error(d, sp->loc, "train: param '%s' has a symbolic shape", g->values[params[i]]->name);
                return -1;
            }
        if (t->dtype != OP_F32) {
            gc_error(d, sp->loc, "train: param '%s' is %s; training supports f32 params", g->values[params[i]]->name,
                     op_dtype_name(t->dtype));
            return -1;
        }
    }
    int *grads = gc_alloc(g->arena, sizeof(int) * (size_t)np);
    pstate *sts = gc_alloc(g->arena, sizeof(pstate) * (size_t)np);
    int *accs = gc_alloc(g->arena, sizeof(int) * (size_t)np);
    if (!grads || !sts || !accs)
        return gc_gb_fail(&b.c, "out of memory");
    if (gc_gradients(g, d, sp->loss, np, params, grads, sp->loc))
        return -1;

    /* optimizer state (zeros) */
    int step = -1;
    if (sp->opt != GC_OPT_SGD) {
        op_type st = { .dtype = OP_F32, .rank = 0 };
        if ((step = state_param(&b, "optimizer.step", &st)) < 0)
            return -1;
    }
    for (int i = 0; i < np; i++) {
        const gc_value *pv = g->values[params[i]];
        op_type t = pv->type;
        const char *nm = pv->name;
        sts[i] = (pstate){ .p = params[i], .buf = -1, .m = -1, .v = -1, .acc = -1 };
        if (sp->opt == GC_OPT_SGD && sp->momentum != 0 &&
            (sts[i].buf = state_param(&b, gc_sprintf(g->arena, "%s.momentum", nm), &t)) < 0)
            return -1;
        if (sp->opt != GC_OPT_SGD &&
            ((sts[i].m = state_param(&b, gc_sprintf(g->arena, "%s.adam_m", nm), &t)) < 0 ||
             (sts[i].v = state_param(&b, gc_sprintf(g->arena, "%s.adam_v", nm), &t)) < 0))
            return -1;
        if ((sts[i].acc = state_param(&b, gc_sprintf(g->arena, "%s.grad", nm), &t)) < 0)
            return -1;
        accs[i] = sts[i].acc;
    }

    /* predict: the user's outputs */
    if (make_entry(&b, "predict", g->n_user_outputs, g->outputs, 1))
        return -1;
    /* train: one step from this batch's gradients */
    if (optimizer_step(&b, sts, np, grads, step) || make_entry(&b, "train", 1, &sp->loss, 0))
        return -1;
    /* grad: acc += gradient */
    for (int i = 0; i < np; i++)
        if (add_update(&b, sts[i].acc, bin(&b, OP_ADD, sts[i].acc, grads[i])))
            return -1;
    if (make_entry(&b, "grad", 1, &sp->loss, 0))
        return -1;
    /* apply: one step from the accumulated gradients, then acc = 0 */
    if (optimizer_step(&b, sts, np, accs, step))
        return -1;
    for (int i = 0; i < np; i++)
        if (add_update(&b, sts[i].acc, gc_gb_fill_like(&b.c, sts[i].acc, 0.0)))
            return -1;
    return make_entry(&b, "apply", 0, NULL, 0);
}
