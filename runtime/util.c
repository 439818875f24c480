/* runtime/util.c -- small helpers of the runtime: dtype and status names,
 * formatted messages, aligned allocation, and the "where" prefix of a node
 * ("node 3 (matmul 'h' at model.g:4:9)") that every node error starts with. */
#include "rt_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rt_dtype_name(rt_dtype t)
{
    if ((int)t <= 0 || (int)t >= OP_DT_COUNT)
        return "?";
    return op_dtype_name((op_dtype)t);
}

size_t rt_dtype_size(rt_dtype t)
{
    if ((int)t <= 0 || (int)t >= OP_DT_COUNT)
        return 0;
    return op_dtype_size((op_dtype)t);
}

const char *rt_status_name(rt_status s)
{
    switch (s) {
    case RT_OK: return "RT_OK";
    case RT_ERR_IO: return "RT_ERR_IO";
    case RT_ERR_FORMAT: return "RT_ERR_FORMAT";
    case RT_ERR_ARG: return "RT_ERR_ARG";
    case RT_ERR_NOMEM: return "RT_ERR_NOMEM";
    case RT_ERR_UNSUPPORTED: return "RT_ERR_UNSUPPORTED";
    case RT_ERR_KERNEL: return "RT_ERR_KERNEL";
    }
    return "RT_ERR_?";
}

void rt_errf(char *err, size_t len, const char *fmt, ...)
{
    if (!err || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

void rt_err_prefix(char *err, size_t len, const char *prefix)
{
    if (!err || len == 0)
        return;
    char tmp[RT_ERR_MAX];
    snprintf(tmp, sizeof tmp, "%s: %s", prefix, err);
    snprintf(err, len, "%s", tmp);
}

char *rt_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void *rt_aligned_alloc(size_t n)
{
    if (n > SIZE_MAX - RT_ALIGN)
        return NULL;
    n = (n + RT_ALIGN - 1) / RT_ALIGN * RT_ALIGN;
    if (n == 0)
        n = RT_ALIGN;
    void *p = NULL;
    if (posix_memalign(&p, RT_ALIGN, n) != 0)
        return NULL;
    return p;
}

void rt_value_type_str(const rt_model *m, const op_type *t, char *buf, size_t len)
{
    op_type_str(t, (const char *const *)m->syms, buf, len);
}

void rt_node_where(const rt_model *m, int node, char *buf, size_t len)
{
    const rt_node *n = &m->nodes[node];
    const char *nm = n->name;
    if (!nm[0] && n->n_outputs > 0)
        nm = m->values[n->outputs[0]].name;
    if (n->loc_file && n->loc_file[0])
        snprintf(buf, len, "node %d (%s '%s' at %s:%u:%u)", node, n->def->name, nm,
                 n->loc_file, n->loc_line, n->loc_col);
    else
        snprintf(buf, len, "node %d (%s '%s')", node, n->def->name, nm);
}
