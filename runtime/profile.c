/* runtime/profile.c -- per-node profiling of a session: when it is on, the
 * executor calls rt_profile_call instead of the kernel, which times the call
 * and counts the node's FLOPs (the rules of rt_model_flops, on the concrete
 * shapes of this call) and the bytes its inputs and outputs occupy. Off, the
 * executor pays one branch per node and this file is never entered. */
#include "rt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct rt_profile_node {
    int64_t calls;
    int64_t ns;
    int64_t flops, bytes; /* of the last call */
} rt_profile_node;

struct rt_profile {
    int n_nodes;
    rt_profile_node *nodes;
};

void rt_profile_free(struct rt_profile *p)
{
    if (!p)
        return;
    free(p->nodes);
    free(p);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mul_chk(int64_t a, int64_t b)
{
    int64_t r;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
        return -1;
    return r;
}

/* FLOPs of one call of node nd on these concrete tensors: the counting rules
 * of rt_model_flops (model.c), plus the fused bias/activation epilogue of
 * matmul and conv2d (one FLOP per output element each). -1 when unknown. */
static int64_t node_flops(const rt_node *nd, const op_tensor *in, const op_tensor *out)
{
    int64_t n_in = op_tensor_numel(&in[0]), n_out = op_tensor_numel(&out[0]), f = 0;
    int act;
    if (n_in < 0 || n_out < 0)
        return -1;
    if (nd->op == OP_MATMUL) {
        int64_t kdim = 1;
        if (in[0].rank == 1)
            kdim = in[0].dims[0];
        else if (in[0].rank >= 2)
            kdim = nd->attrs[0].i ? in[0].dims[in[0].rank - 2] : in[0].dims[in[0].rank - 1];
        f = mul_chk(mul_chk(n_out, kdim), 2);
        if (f >= 0 && nd->n_inputs > 2)
            f += n_out;
        if (f >= 0 && (act = op_attr_index(nd->op, "activation")) >= 0 && nd->attrs[act].i)
            f += n_out;
    } else if (nd->op == OP_CONV2D) {
        const op_tensor *w = &in[1];
        if (w->rank != 4)
            return -1;
        f = mul_chk(mul_chk(mul_chk(mul_chk(n_out, w->dims[1]), w->dims[2]), w->dims[3]), 2);
        if (f >= 0 && nd->n_inputs > 2)
            f += n_out;
        if (f >= 0 && (act = op_attr_index(nd->op, "activation")) >= 0 && nd->attrs[act].i)
            f += n_out;
    } else if (nd->op == OP_MAX_POOL2D || nd->op == OP_AVG_POOL2D) {
        f = mul_chk(mul_chk(n_out, nd->attrs[0].ints[0]), nd->attrs[0].ints[1]);
    } else if (nd->def->flags & OPF_ELEMENTWISE) {
        f = n_out;
    } else if (nd->def->flags & OPF_VIEW) {
        f = 0;
    } else {
        switch (nd->op) {
        case OP_SUM: case OP_MEAN: case OP_MAX: case OP_MIN: case OP_ARGMAX:
        case OP_GLOBAL_AVG_POOL:
            f = n_in;
            break;
        case OP_SOFTMAX: case OP_LOG_SOFTMAX:
            f = mul_chk(n_in, 4);
            break;
        case OP_BATCH_NORM: case OP_LAYER_NORM:
            f = mul_chk(n_in, 5);
            break;
        default: /* data movement: transpose, concat, slice, gather, pad, ... */
            f = 0;
            break;
        }
    }
    return f;
}

static int64_t tensor_bytes(const op_tensor *t)
{
    int64_t n = op_tensor_numel(t);
    return n < 0 ? 0 : n * (int64_t)op_dtype_size(t->dtype);
}

int rt_profile_call(rt_session *s, int k, op_ctx *ctx, const op_tensor *in, op_tensor *out)
{
    const rt_node *nd = &s->m->nodes[k];
    int64_t t0 = now_ns();
    int rc = nd->def->cpu(ctx, nd->attrs, in, nd->n_inputs, out, nd->n_outputs);
    int64_t t1 = now_ns();
    rt_profile_node *p = &s->prof->nodes[k];
    p->calls++;
    p->ns += t1 - t0;
    int64_t b = 0;
    for (int j = 0; j < nd->n_inputs; j++)
        b += tensor_bytes(&in[j]);
    for (int j = 0; j < nd->n_outputs; j++)
        b += tensor_bytes(&out[j]);
    p->bytes = b;
    p->flops = node_flops(nd, in, out);
    return rc;
}

rt_status rt_session_set_profiling(rt_session *s, int on)
{
    if (!s)
        return RT_ERR_ARG;
    if (!on) {
        s->profiling = 0;
        return RT_OK;
    }
    if (!s->prof) {
        s->prof = calloc(1, sizeof *s->prof);
        if (s->prof)
            s->prof->nodes = calloc((size_t)s->m->n_nodes + 1, sizeof *s->prof->nodes);
        if (!s->prof || !s->prof->nodes) {
            rt_profile_free(s->prof);
            s->prof = NULL;
            snprintf(s->err, sizeof s->err, "out of memory for the profile");
            return RT_ERR_NOMEM;
        }
        s->prof->n_nodes = s->m->n_nodes;
    }
    memset(s->prof->nodes, 0, sizeof *s->prof->nodes * (size_t)s->prof->n_nodes);
    s->profiling = 1;
    return RT_OK;
}

int rt_session_profile(const rt_session *s, rt_node_profile *out, int cap)
{
    if (!s || !s->prof)
        return 0;
    const rt_model *m = s->m;
    for (int k = 0; k < s->prof->n_nodes && k < cap && out; k++) {
        const rt_profile_node *p = &s->prof->nodes[k];
        out[k].node = k;
        out[k].op = m->nodes[k].def->name;
        out[k].name = m->nodes[k].name;
        out[k].value = m->nodes[k].n_outputs > 0 ? m->values[m->nodes[k].outputs[0]].name : "";
        out[k].calls = p->calls;
        out[k].total_ms = (double)p->ns * 1e-6;
        out[k].flops = p->calls ? p->flops : 0;
        out[k].bytes = p->calls ? p->bytes : 0;
    }
    return s->prof->n_nodes;
}
