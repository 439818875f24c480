/* runtime/params.c -- a session's params: their descriptions and views of
 * their live storage in the session's weights allocation (s->const_ptr), so
 * callers (checkpoints, tools, embedders) can read and write them between
 * runs. Nothing here allocates. */
#include "rt_internal.h"

#include <stdio.h>
#include <string.h>

int rt_session_n_params(const rt_session *s) { return s ? s->m->n_params : 0; }

rt_status rt_session_param_info(const rt_session *s, int i, rt_value_info *info)
{
    if (!s)
        return RT_ERR_ARG;
    return rt_model_param(s->m, i, info);
}

static void view_of(const rt_session *s, int v, rt_tensor *view)
{
    const rt_value *val = &s->m->values[v];
    memset(view, 0, sizeof *view);
    view->dtype = (rt_dtype)val->type.dtype;
    view->rank = val->type.rank;
    for (int k = 0; k < val->type.rank; k++)
        view->dims[k] = val->type.dims[k].coef; /* params are concrete (loader) */
    view->data = s->const_ptr[v];
}

rt_status rt_session_param_at(rt_session *s, int i, rt_tensor *view)
{
    if (!s)
        return RT_ERR_ARG;
    if (!view || i < 0 || i >= s->m->n_params) {
        snprintf(s->err, sizeof s->err, "param %d: out of range (the model has %d params)", i, s->m->n_params);
        return RT_ERR_ARG;
    }
    view_of(s, s->m->params[i], view);
    return RT_OK;
}

rt_status rt_session_param(rt_session *s, const char *name, rt_tensor *view)
{
    if (!s)
        return RT_ERR_ARG;
    if (!view || !name) {
        snprintf(s->err, sizeof s->err, "rt_session_param: NULL argument");
        return RT_ERR_ARG;
    }
    int v = rt_model_find_value(s->m, name);
    if (v < 0 || s->m->values[v].kind != RT_VK_PARAM) {
        int k = v < 0 ? 0 : s->m->values[v].kind;
        snprintf(s->err, sizeof s->err, "'%s' is %s, not a param (the model has %d params)", name,
                 k == RT_VK_INPUT ? "an input" : k == RT_VK_CONST ? "a const"
                 : k == RT_VK_NODE ? "a node value" : "unknown", s->m->n_params);
        return RT_ERR_ARG;
    }
    view_of(s, v, view);
    return RT_OK;
}
