/* runtime/model.c -- read-only questions about a loaded model: names, the
 * inputs, outputs and params with their (symbolic) types, param data, node
 * ops, the value name table, which inputs a fetch needs, and a simple FLOP
 * count. None of these allocate except rt_model_fetch_inputs' scratch. */
#include "rt_internal.h"

#include <stdlib.h>
#include <string.h>

uint64_t rt_name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int rt_model_find_value(const rt_model *m, const char *name)
{
    if (!m || !name || !name[0] || !m->hash)
        return -1;
    size_t mask = m->hash_cap - 1;
    for (size_t i = rt_name_hash(name) & mask;; i = (i + 1) & mask) {
        int v = m->hash[i];
        if (v < 0)
            return -1;
        if (strcmp(m->values[v].name, name) == 0)
            return v;
    }
}

const char *rt_model_name(const rt_model *m) { return m ? m->name : NULL; }
const char *rt_model_producer(const rt_model *m) { return m ? m->producer : NULL; }
int rt_model_n_inputs(const rt_model *m) { return m ? m->n_inputs : 0; }
int rt_model_n_outputs(const rt_model *m) { return m ? m->n_outputs : 0; }
int rt_model_n_params(const rt_model *m) { return m ? m->n_params : 0; }
int rt_model_n_nodes(const rt_model *m) { return m ? m->n_nodes : 0; }

static void fill_info(const rt_model *m, int v, rt_value_info *info)
{
    const rt_value *val = &m->values[v];
    memset(info, 0, sizeof *info);
    info->name = val->name;
    info->dtype = (rt_dtype)val->type.dtype;
    info->rank = val->type.rank;
    for (int i = 0; i < val->type.rank; i++) {
        op_dim d = val->type.dims[i];
        if (d.sym >= 0) {
            info->dims[i] = -1;
            info->sym_names[i] = m->syms[d.sym];
            info->sym_coef[i] = d.coef;
        } else {
            info->dims[i] = d.coef;
        }
    }
}

rt_status rt_model_input(const rt_model *m, int i, rt_value_info *info)
{
    if (!m || !info || i < 0 || i >= m->n_inputs)
        return RT_ERR_ARG;
    fill_info(m, m->inputs[i], info);
    return RT_OK;
}

rt_status rt_model_output(const rt_model *m, int i, rt_value_info *info)
{
    if (!m || !info || i < 0 || i >= m->n_outputs)
        return RT_ERR_ARG;
    fill_info(m, m->outputs[i], info);
    return RT_OK;
}

rt_status rt_model_param(const rt_model *m, int i, rt_value_info *info)
{
    if (!m || !info || i < 0 || i >= m->n_params)
        return RT_ERR_ARG;
    fill_info(m, m->params[i], info);
    return RT_OK;
}

rt_status rt_model_param_data(const rt_model *m, int i, rt_tensor *out)
{
    if (!m || !out || i < 0 || i >= m->n_params)
        return RT_ERR_ARG;
    const rt_value *v = &m->values[m->params[i]];
    memset(out, 0, sizeof *out);
    out->dtype = (rt_dtype)v->type.dtype;
    out->rank = v->type.rank;
    for (int k = 0; k < v->type.rank; k++)
        out->dims[k] = v->type.dims[k].coef;
    out->data = v->data;
    return RT_OK;
}

const char *rt_model_node_op(const rt_model *m, int i)
{
    if (!m || i < 0 || i >= m->n_nodes)
        return NULL;
    return m->nodes[i].def->name;
}

void rt_model_mark_needed(const rt_model *m, int n, const int *ids, uint8_t *needed,
                          uint8_t *node_needed)
{
    memset(needed, 0, (size_t)m->n_values);
    memset(node_needed, 0, (size_t)m->n_nodes);
    for (int i = 0; i < n; i++)
        needed[ids[i]] = 1;
    /* nodes are in execution order: one backward sweep finds all producers */
    for (int k = m->n_nodes - 1; k >= 0; k--) {
        const rt_node *nd = &m->nodes[k];
        int want = 0;
        for (int j = 0; j < nd->n_outputs && !want; j++)
            want = needed[nd->outputs[j]];
        if (!want)
            continue;
        node_needed[k] = 1;
        for (int j = 0; j < nd->n_inputs; j++)
            needed[nd->inputs[j]] = 1;
    }
}

rt_status rt_model_fetch_inputs(const rt_model *m, const char *name, int *needs)
{
    if (!m || !name || !needs)
        return RT_ERR_ARG;
    int v = rt_model_find_value(m, name);
    if (v < 0)
        return RT_ERR_ARG;
    uint8_t *needed = malloc((size_t)m->n_values + (size_t)m->n_nodes + 1);
    if (!needed)
        return RT_ERR_NOMEM;
    rt_model_mark_needed(m, 1, &v, needed, needed + m->n_values);
    for (int i = 0; i < m->n_inputs; i++)
        needs[i] = needed[m->inputs[i]];
    free(needed);
    return RT_OK;
}

/* a * b, or -1 on overflow or a negative operand */
static int64_t mul_chk(int64_t a, int64_t b)
{
    int64_t r;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
        return -1;
    return r;
}

int64_t rt_model_flops(const rt_model *m, int64_t sym_value)
{
    if (!m || sym_value < 0)
        return -1;
    int64_t *sv = malloc(sizeof(int64_t) * (m->n_syms ? (size_t)m->n_syms : 1));
    if (!sv)
        return -1;
    for (int i = 0; i < m->n_syms; i++)
        sv[i] = sym_value;
    int64_t total = 0;
    for (int k = 0; k < m->n_nodes && total >= 0; k++) {
        const rt_node *nd = &m->nodes[k];
        op_tensor in0, out0;
        if (op_type_eval(&m->values[nd->inputs[0]].type, sv, m->n_syms, &in0) ||
            op_type_eval(&m->values[nd->outputs[0]].type, sv, m->n_syms, &out0)) {
            total = -1;
            break;
        }
        int64_t n_in = op_tensor_numel(&in0), n_out = op_tensor_numel(&out0), f = 0;
        if (nd->op == OP_MATMUL) {
            int64_t kdim = 1;
            if (in0.rank == 1)
                kdim = in0.dims[0];
            else if (in0.rank >= 2)
                kdim = nd->attrs[0].i ? in0.dims[in0.rank - 2] : in0.dims[in0.rank - 1];
            f = mul_chk(mul_chk(n_out, kdim), 2);
        } else if (nd->op == OP_CONV2D) {
            op_tensor w;
            if (op_type_eval(&m->values[nd->inputs[1]].type, sv, m->n_syms, &w) || w.rank != 4)
                f = -1;
            else
                f = mul_chk(mul_chk(mul_chk(mul_chk(n_out, w.dims[1]), w.dims[2]), w.dims[3]), 2);
            if (f >= 0 && nd->n_inputs > 2)
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
        if (f < 0 || n_in < 0 || n_out < 0 || __builtin_add_overflow(total, f, &total))
            total = -1;
    }
    free(sv);
    return total;
}
