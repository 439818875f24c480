/* graphc/sema.c -- semantic analysis: walks the AST of the main file (and of
 * its imports and the standard prelude), evaluates compile-time values,
 * instantiates modules, and builds the IR, checking every dtype and shape
 * with the op table's inference rules. Errors go to the diagnostics with the
 * location of the offending expression; analysis goes on after an error
 * (the failed value becomes SV_ERROR, which silences follow-up errors). */
#include "sema.h"
#include "init.h"
#include "autodiff.h"
#include "train.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- values */

typedef enum sv_kind {
    SV_NONE, SV_ERROR, SV_INT, SV_FLOAT, SV_BOOL, SV_STR, SV_LIST, SV_TUPLE,
    SV_TENSOR, SV_MODDEF, SV_INST, SV_FUNC, SV_DIM,
} sv_kind;

typedef struct inst inst;
typedef struct sv sv;
struct sv {
    sv_kind k;
    int64_t i;          /* INT, BOOL */
    double f;           /* FLOAT */
    const char *s;      /* STR; FUNC: the name */
    int v;              /* TENSOR: value id */
    int n;              /* LIST, TUPLE */
    sv *items;
    const ast_item *mod;/* MODDEF */
    inst *in;           /* INST */
    op_dim dim;         /* DIM: a symbolic dimension */
};

typedef struct binding {
    const char *name;
    sv val;
    struct binding *next;
} binding;

typedef struct scope {
    binding *head;
    struct scope *parent;
    inst *self;          /* module body / forward: the instance */
    int is_module_body;
    int is_graph;
} scope;

/* A param whose data is made at the end, once every name is final. */
typedef struct pending_param {
    int v;
    gc_init init;
    gc_loc loc;
    struct pending_param *next;
} pending_param;

struct inst {
    const ast_item *mod;     /* NULL: Sequential */
    const char *type_name;
    const char *path;        /* "net.fc1"; auto names until assigned */
    int named;
    scope *sc;
    const ast_stmt *forward;
    int n_params, cap_params;
    int *params;             /* value ids */
    const char **param_local;
    int n_kids, cap_kids;
    inst **kids;
    const char **kid_local;
    int n_seq;               /* Sequential: the stages */
    sv *seq;
};

typedef struct sema {
    gc_diag *d;
    gc_arena *a;
    gc_graph *g;
    scope *global;
    pending_param *pending;
    int n_auto_inst;
    int depth;               /* module instantiation / forward nesting */
    int n_imported;
    int *imported;           /* file ids already imported */
    int cap_imported;
    int has_train;           /* a train statement was seen: train below */
    gc_train_spec train;
} sema;

#define MAX_DEPTH 64

static sv sv_err(void) { return (sv){ .k = SV_ERROR }; }
static sv sv_int(int64_t i) { return (sv){ .k = SV_INT, .i = i }; }
static sv sv_float(double f) { return (sv){ .k = SV_FLOAT, .f = f }; }
static sv sv_tensor(int v) { return (sv){ .k = SV_TENSOR, .v = v }; }

static const char *sv_kind_name(sv_kind k)
{
    switch (k) {
    case SV_NONE: return "nothing";
    case SV_ERROR: return "an error";
    case SV_INT: return "an integer";
    case SV_FLOAT: return "a number";
    case SV_BOOL: return "a bool";
    case SV_STR: return "a string";
    case SV_LIST: return "a list";
    case SV_TUPLE: return "several values";
    case SV_TENSOR: return "a tensor";
    case SV_MODDEF: return "a module definition";
    case SV_INST: return "a module instance";
    case SV_FUNC: return "a function";
    case SV_DIM: return "a symbolic dimension";
    }
    return "?";
}

static gc_value *val(sema *s, int v) { return s->g->values[v]; }

static void type_str(sema *s, const op_type *t, char *buf, size_t len)
{
    op_type_str(t, s->g->symbols, buf, len);
}

/* ---------------------------------------------------------------- scopes */

static scope *scope_new(sema *s, scope *parent)
{
    scope *sc = gc_alloc(s->a, sizeof *sc);
    if (sc)
        sc->parent = parent;
    return sc;
}

static binding *scope_find_local(scope *sc, const char *name)
{
    for (binding *b = sc->head; b; b = b->next)
        if (strcmp(b->name, name) == 0)
            return b;
    return NULL;
}

static binding *scope_lookup(scope *sc, const char *name)
{
    for (; sc; sc = sc->parent) {
        binding *b = scope_find_local(sc, name);
        if (b)
            return b;
    }
    return NULL;
}

static void scope_bind(sema *s, scope *sc, const char *name, sv v)
{
    binding *b = scope_find_local(sc, name);
    if (!b) {
        b = gc_alloc(s->a, sizeof *b);
        if (!b)
            return;
        b->name = name;
        b->next = sc->head;
        sc->head = b;
    }
    b->val = v;
}

/* ------------------------------------------------------------ instances */

static const char *join_path(sema *s, const char *path, const char *local)
{
    if (!path || !*path)
        return gc_strdup(s->a, local);
    return gc_sprintf(s->a, "%s.%s", path, local);
}

static void inst_set_path(sema *s, inst *in, const char *path)
{
    in->path = path;
    for (int i = 0; i < in->n_params; i++)
        gc_graph_rename(s->g, in->params[i], join_path(s, path, in->param_local[i]));
    for (int i = 0; i < in->n_kids; i++)
        inst_set_path(s, in->kids[i], join_path(s, path, in->kid_local[i]));
}

static void inst_add_kid(sema *s, inst *parent, inst *kid, const char *local)
{
    if (gc_grow(s->a, (void **)&parent->kids, &parent->cap_kids, parent->n_kids + 1, sizeof(inst *)))
        return;
    int cap = parent->cap_kids;
    int ncap = parent->n_kids; /* kid_local grows alongside kids */
    (void)ncap;
    const char **nl = gc_alloc(s->a, sizeof(char *) * (size_t)cap);
    if (!nl)
        return;
    if (parent->kid_local)
        memcpy(nl, parent->kid_local, sizeof(char *) * (size_t)parent->n_kids);
    parent->kid_local = nl;
    parent->kids[parent->n_kids] = kid;
    parent->kid_local[parent->n_kids] = local;
    parent->n_kids++;
    kid->named = 1;
    inst_set_path(s, kid, join_path(s, parent->path, local));
}

static inst *inst_new(sema *s, const ast_item *mod, const char *type_name)
{
    inst *in = gc_alloc(s->a, sizeof *in);
    if (!in)
        return NULL;
    in->mod = mod;
    in->type_name = type_name;
    in->path = gc_sprintf(s->a, "%s_%d", type_name, ++s->n_auto_inst);
    return in;
}

/* Names an unnamed instance after the variable it is assigned to. */
static void name_instance(sema *s, scope *sc, const char *name, sv v)
{
    if (v.k != SV_INST || v.in->named)
        return;
    if (sc->is_module_body && sc->self) {
        inst_add_kid(s, sc->self, v.in, name);
        return;
    }
    const char *path = name;
    if (sc->self && sc->self->path) /* inside forward: prefix the instance */
        path = join_path(s, sc->self->path, name);
    v.in->named = 1;
    inst_set_path(s, v.in, path);
}

/* ------------------------------------------------------------ IR helpers */

static void store_num(op_dtype dt, void *data, int64_t i, double f, int64_t iv, int is_int)
{
    switch (dt) {
    case OP_F32: ((float *)data)[i] = is_int ? (float)iv : (float)f; break;
    case OP_F64: ((double *)data)[i] = is_int ? (double)iv : f; break;
    case OP_I32: ((int32_t *)data)[i] = (int32_t)(is_int ? iv : (int64_t)f); break;
    case OP_I64: ((int64_t *)data)[i] = is_int ? iv : (int64_t)f; break;
    case OP_BOOL: ((uint8_t *)data)[i] = is_int ? iv != 0 : f != 0; break;
    case OP_U8: ((uint8_t *)data)[i] = (uint8_t)(is_int ? iv : (int64_t)f); break;
    case OP_I8: ((int8_t *)data)[i] = (int8_t)(is_int ? iv : (int64_t)f); break;
    default: break;
    }
}

static int add_const(sema *s, const op_type *t, const void *data, size_t nbytes, gc_loc loc)
{
    int v = gc_graph_add_value(s->g, GV_CONST, "const", t, loc);
    if (v < 0)
        return -1;
    gc_value *cv = val(s, v);
    cv->data = gc_alloc(s->a, nbytes ? nbytes : 1);
    if (!cv->data)
        return -1;
    memcpy(cv->data, data, nbytes);
    cv->nbytes = nbytes;
    return v;
}

/* Checks a value is a numeric scalar or nested list of them; fills the
 * shape. Returns 0 or -1 (ragged / not numbers). */
static int literal_shape(const sv *x, op_type *t, int depth, int *has_float, int *has_bool)
{
    if (x->k == SV_INT || x->k == SV_FLOAT || x->k == SV_BOOL) {
        if (depth != t->rank && t->rank >= 0)
            return -1;
        *has_float |= x->k == SV_FLOAT;
        *has_bool |= x->k == SV_BOOL;
        return 0;
    }
    if (x->k != SV_LIST || depth >= OP_MAX_RANK)
        return -1;
    if (depth >= t->rank) { /* first time at this depth */
        if (depth != t->rank)
            return -1;
        t->dims[depth] = op_dim_const(x->n);
        t->rank = depth + 1;
        if (x->n == 0)
            return 0;
    } else if (!op_dim_is(t->dims[depth], x->n)) {
        return -1;
    }
    for (int i = 0; i < x->n; i++)
        if (literal_shape(&x->items[i], t, depth + 1, has_float, has_bool))
            return -1;
    return 0;
}

static void literal_fill(const sv *x, op_dtype dt, void *data, int64_t *pos)
{
    if (x->k == SV_LIST) {
        for (int i = 0; i < x->n; i++)
            literal_fill(&x->items[i], dt, data, pos);
        return;
    }
    store_num(dt, data, (*pos)++, x->f, x->i, x->k != SV_FLOAT);
}

/* Turns a compile-time value into a tensor value (a constant), taking the
 * dtype `hint` when given (weak typing of literals, as PyTorch's scalars). */
static sv to_tensor(sema *s, sv x, int hint, gc_loc loc)
{
    if (x.k == SV_TENSOR || x.k == SV_ERROR)
        return x;
    if (x.k != SV_INT && x.k != SV_FLOAT && x.k != SV_BOOL && x.k != SV_LIST) {
        gc_error(s->d, loc, "expected a tensor but found %s", sv_kind_name(x.k));
        return sv_err();
    }
    op_type t;
    memset(&t, 0, sizeof t);
    int has_float = 0, has_bool = 0;
    /* a scalar has rank 0: mark "rank unknown yet" as rank 0 at depth 0 */
    if (x.k == SV_LIST) {
        t.rank = 0;
        if (literal_shape(&x, &t, 0, &has_float, &has_bool)) {
            gc_error(s->d, loc, "a tensor literal must be a rectangular list of numbers");
            return sv_err();
        }
    } else {
        has_float = x.k == SV_FLOAT;
        has_bool = x.k == SV_BOOL;
    }
    op_dtype dt = hint > 0 ? (op_dtype)hint : has_float ? OP_F32 : has_bool ? OP_BOOL : OP_I64;
    if (hint > 0 && has_float && !op_dtype_is_float((op_dtype)hint)) {
        gc_error(s->d, loc, "a float literal cannot be used as %s", op_dtype_name((op_dtype)hint));
        return sv_err();
    }
    t.dtype = dt;
    int64_t n = 1;
    for (int i = 0; i < t.rank; i++)
        n *= t.dims[i].coef;
    size_t nbytes = (size_t)n * op_dtype_size(dt);
    void *data = calloc(1, nbytes ? nbytes : 1);
    if (!data)
        return sv_err();
    int64_t pos = 0;
    literal_fill(&x, dt, data, &pos);
    int v = add_const(s, &t, data, nbytes, loc);
    free(data);
    return v < 0 ? sv_err() : sv_tensor(v);
}

/* Adds a node of op k after checking its inputs with the op's inference
 * rule. Returns the output (a tensor, or a tuple for several outputs). */
static sv emit_op(sema *s, op_kind k, const int *ins, int n_in, const op_attr *attrs, gc_loc loc)
{
    const op_def *d = &op_table[k];
    op_type in_types[OP_MAX_INPUTS], out_types[OP_MAX_OUTPUTS];
    for (int i = 0; i < n_in; i++)
        in_types[i] = val(s, ins[i])->type;
    int n_out = op_n_outputs(k, attrs);
    if (n_out < 1 || n_out > OP_MAX_OUTPUTS) {
        gc_error(s->d, loc, "%s: needs between 1 and %d outputs, got %d", d->name, OP_MAX_OUTPUTS, n_out);
        return sv_err();
    }
    char err[OP_ERR_LEN] = "";
    op_set_sym_names(s->g->symbols, s->g->n_symbols);
    memset(out_types, 0, sizeof out_types);
    if (d->infer(attrs, in_types, n_in, out_types, n_out, err, sizeof err)) {
        size_t nl = strlen(d->name);
        if (strncmp(err, d->name, nl) == 0 && err[nl] == ':')
            gc_error(s->d, loc, "%s", err);
        else
            gc_error(s->d, loc, "%s: %s", d->name, err);
        return sv_err();
    }
    int nid = gc_graph_add_node(s->g, k, NULL, n_in, ins, attrs, n_out, out_types, loc);
    if (nid < 0) {
        gc_error(s->d, loc, "out of memory");
        return sv_err();
    }
    const gc_node *node = s->g->nodes[nid];
    if (n_out == 1)
        return sv_tensor(node->outputs[0]);
    sv t = { .k = SV_TUPLE, .n = n_out };
    t.items = gc_alloc(s->a, sizeof(sv) * (size_t)n_out);
    if (!t.items)
        return sv_err();
    for (int i = 0; i < n_out; i++)
        t.items[i] = sv_tensor(node->outputs[i]);
    return t;
}

static sv emit_simple(sema *s, op_kind k, const int *ins, int n_in, gc_loc loc)
{
    op_attr attrs[OP_MAX_ATTRS];
    op_attrs_default(k, attrs);
    return emit_op(s, k, ins, n_in, attrs, loc);
}

/* ------------------------------------------------------- compile-time math */

static int is_num(sv x) { return x.k == SV_INT || x.k == SV_FLOAT || x.k == SV_BOOL; }
static double num_f(sv x) { return x.k == SV_FLOAT ? x.f : (double)x.i; }

static sv const_binary(sema *s, int op, sv l, sv r, gc_loc loc)
{
    int both_int = l.k != SV_FLOAT && r.k != SV_FLOAT;
    double a = num_f(l), b = num_f(r);
    switch (op) {
    case AB_ADD:
    case AB_SUB:
    case AB_MUL:
        if (both_int) {
            int64_t res;
            int ovf = op == AB_ADD ? __builtin_add_overflow(l.i, r.i, &res)
                    : op == AB_SUB ? __builtin_sub_overflow(l.i, r.i, &res)
                                   : __builtin_mul_overflow(l.i, r.i, &res);
            if (ovf) {
                gc_error(s->d, loc, "integer overflow in a compile-time expression");
                return sv_err();
            }
            return sv_int(res);
        }
        return sv_float(op == AB_ADD ? a + b : op == AB_SUB ? a - b : a * b);
    case AB_DIV:
        if (b == 0) {
            gc_error(s->d, loc, "division by zero in a compile-time expression");
            return sv_err();
        }
        if (both_int && r.i != 0 && l.i % r.i == 0 && !(l.i == INT64_MIN && r.i == -1))
            return sv_int(l.i / r.i); /* exact: stays an integer (dims like c / groups) */
        return sv_float(a / b);
    case AB_POW:
        if (both_int && r.i >= 0 && r.i < 63) {
            int64_t res = 1;
            for (int64_t i = 0; i < r.i; i++)
                if (__builtin_mul_overflow(res, l.i, &res)) {
                    gc_error(s->d, loc, "integer overflow in a compile-time expression");
                    return sv_err();
                }
            return sv_int(res);
        }
        return sv_float(pow(a, b));
    case AB_EQ: return (sv){ .k = SV_BOOL, .i = a == b };
    case AB_NE: return (sv){ .k = SV_BOOL, .i = a != b };
    case AB_LT: return (sv){ .k = SV_BOOL, .i = a < b };
    case AB_LE: return (sv){ .k = SV_BOOL, .i = a <= b };
    case AB_GT: return (sv){ .k = SV_BOOL, .i = a > b };
    case AB_GE: return (sv){ .k = SV_BOOL, .i = a >= b };
    case AB_AND: return (sv){ .k = SV_BOOL, .i = a != 0 && b != 0 };
    case AB_OR: return (sv){ .k = SV_BOOL, .i = a != 0 || b != 0 };
    default:
        gc_error(s->d, loc, "'@' needs tensors");
        return sv_err();
    }
}

static sv dim_binary(sema *s, int op, sv l, sv r, gc_loc loc)
{
    /* Symbolic dims support k*N, N*k and N/k (exact) inside types. */
    if (op == AB_MUL && l.k == SV_DIM && r.k == SV_INT)
        return (sv){ .k = SV_DIM, .dim = { l.dim.coef * r.i, l.dim.sym } };
    if (op == AB_MUL && r.k == SV_DIM && l.k == SV_INT)
        return (sv){ .k = SV_DIM, .dim = { r.dim.coef * l.i, r.dim.sym } };
    if (op == AB_DIV && l.k == SV_DIM && r.k == SV_INT && r.i > 0 && l.dim.coef % r.i == 0)
        return (sv){ .k = SV_DIM, .dim = { l.dim.coef / r.i, l.dim.sym } };
    gc_error(s->d, loc, "unsupported arithmetic on a symbolic dimension (only k*N and N/k are allowed)");
    return sv_err();
}

/* ----------------------------------------------------------- evaluation */

static sv eval(sema *s, scope *sc, const ast_expr *e);
static sv call_value(sema *s, scope *sc, sv callee, const ast_expr *call, gc_loc loc);

static int binary_op_kind(int op)
{
    switch (op) {
    case AB_ADD: return OP_ADD;
    case AB_SUB: return OP_SUB;
    case AB_MUL: return OP_MUL;
    case AB_DIV: return OP_DIV;
    case AB_POW: return OP_POW;
    case AB_MATMUL: return OP_MATMUL;
    case AB_EQ: return OP_EQUAL;
    case AB_NE: return OP_NOT_EQUAL;
    case AB_LT: return OP_LESS;
    case AB_LE: return OP_LESS_EQUAL;
    case AB_GT: return OP_GREATER;
    case AB_GE: return OP_GREATER_EQUAL;
    case AB_AND: return OP_LOGICAL_AND;
    case AB_OR: return OP_LOGICAL_OR;
    }
    return -1;
}

static sv eval_binary(sema *s, scope *sc, const ast_expr *e)
{
    sv l = eval(s, sc, e->lhs), r = eval(s, sc, e->rhs);
    if (l.k == SV_ERROR || r.k == SV_ERROR)
        return sv_err();
    if (is_num(l) && is_num(r))
        return const_binary(s, e->op, l, r, e->loc);
    if ((l.k == SV_DIM && (r.k == SV_INT || r.k == SV_DIM)) || (r.k == SV_DIM && l.k == SV_INT))
        return dim_binary(s, e->op, l, r, e->loc);
    if (l.k == SV_LIST && r.k == SV_LIST && e->op == AB_ADD) { /* list concatenation */
        sv res = { .k = SV_LIST, .n = l.n + r.n };
        res.items = gc_alloc(s->a, sizeof(sv) * (size_t)(res.n + 1));
        if (!res.items)
            return sv_err();
        memcpy(res.items, l.items, sizeof(sv) * (size_t)l.n);
        memcpy(res.items + l.n, r.items, sizeof(sv) * (size_t)r.n);
        return res;
    }
    if (l.k != SV_TENSOR && r.k != SV_TENSOR) {
        gc_error(s->d, e->loc, "operator needs numbers or tensors, found %s and %s",
                 sv_kind_name(l.k), sv_kind_name(r.k));
        return sv_err();
    }
    int hint = l.k == SV_TENSOR ? (int)val(s, l.v)->type.dtype : (int)val(s, r.v)->type.dtype;
    if (e->op == AB_AND || e->op == AB_OR)
        hint = OP_BOOL;
    l = to_tensor(s, l, hint, e->lhs->loc);
    r = to_tensor(s, r, hint, e->rhs->loc);
    if (l.k == SV_ERROR || r.k == SV_ERROR)
        return sv_err();
    int ins[2] = { l.v, r.v };
    return emit_simple(s, (op_kind)binary_op_kind(e->op), ins, 2, e->loc);
}

static sv eval_unary(sema *s, scope *sc, const ast_expr *e)
{
    sv x = eval(s, sc, e->lhs);
    if (x.k == SV_ERROR)
        return x;
    if (e->op == '-') {
        if (x.k == SV_INT) {
            if (x.i == INT64_MIN) {
                gc_error(s->d, e->loc, "integer overflow in a compile-time expression");
                return sv_err();
            }
            return sv_int(-x.i);
        }
        if (x.k == SV_FLOAT)
            return sv_float(-x.f);
        if (x.k == SV_TENSOR)
            return emit_simple(s, OP_NEG, &x.v, 1, e->loc);
    } else { /* not */
        if (x.k == SV_BOOL || x.k == SV_INT)
            return (sv){ .k = SV_BOOL, .i = x.i == 0 };
        if (x.k == SV_TENSOR)
            return emit_simple(s, OP_LOGICAL_NOT, &x.v, 1, e->loc);
    }
    gc_error(s->d, e->loc, "unary '%s' cannot be applied to %s", e->op == '-' ? "-" : "not",
             sv_kind_name(x.k));
    return sv_err();
}

static sv eval_list(sema *s, scope *sc, const ast_expr *e)
{
    sv res = { .k = SV_LIST, .n = e->n_items };
    res.items = gc_alloc(s->a, sizeof(sv) * (size_t)(e->n_items + 1));
    if (!res.items)
        return sv_err();
    for (int i = 0; i < e->n_items; i++) {
        res.items[i] = eval(s, sc, e->items[i]);
        if (res.items[i].k == SV_ERROR)
            return sv_err();
    }
    return res;
}

/* x[...]: integers pick (and drop the dim), slices cut, '...' skips dims. */
static sv eval_index(sema *s, scope *sc, const ast_expr *e)
{
    sv base = eval(s, sc, e->lhs);
    if (base.k == SV_ERROR)
        return base;
    if (base.k == SV_LIST || base.k == SV_TUPLE) { /* compile-time list indexing */
        if (e->n_items != 1 || e->items[0]->kind == AE_SLICE || e->items[0]->kind == AE_ELLIPSIS) {
            gc_error(s->d, e->loc, "a list takes one integer index");
            return sv_err();
        }
        sv ix = eval(s, sc, e->items[0]);
        if (ix.k != SV_INT) {
            if (ix.k != SV_ERROR)
                gc_error(s->d, e->items[0]->loc, "a list index must be an integer, found %s", sv_kind_name(ix.k));
            return sv_err();
        }
        int64_t i = ix.i < 0 ? ix.i + base.n : ix.i;
        if (i < 0 || i >= base.n) {
            gc_error(s->d, e->items[0]->loc, "index %lld out of range for a list of %d", (long long)ix.i, base.n);
            return sv_err();
        }
        return base.items[i];
    }
    if (base.k != SV_TENSOR) {
        gc_error(s->d, e->loc, "cannot index %s", sv_kind_name(base.k));
        return sv_err();
    }
    const op_type *t = &val(s, base.v)->type;
    int rank = t->rank;
    int n_ell = 0, n_real = 0;
    for (int i = 0; i < e->n_items; i++) {
        if (e->items[i]->kind == AE_ELLIPSIS)
            n_ell++;
        else
            n_real++;
    }
    if (n_ell > 1 || n_real > rank) {
        char ts[300];
        type_str(s, t, ts, sizeof ts);
        gc_error(s->d, e->loc, n_ell > 1 ? "only one '...' is allowed in an index"
                                         : "too many indices (%d) for a tensor %s", n_real, ts);
        return sv_err();
    }
    op_attr attrs[OP_MAX_ATTRS];
    op_attrs_default(OP_SLICE, attrs);
    int squeeze[OP_MAX_RANK], n_sq = 0;
    int axis = 0;
    for (int i = 0; i < e->n_items; i++) {
        const ast_expr *it = e->items[i];
        if (it->kind == AE_ELLIPSIS) {
            axis += rank - n_real;
            continue;
        }
        int64_t start, stop, step = 1;
        if (it->kind == AE_SLICE) {
            sv sst = it->step ? eval(s, sc, it->step) : sv_int(1);
            if (sst.k != SV_INT || sst.i == 0) {
                if (sst.k != SV_ERROR)
                    gc_error(s->d, it->step ? it->step->loc : it->loc, "a slice step must be a non-zero integer");
                return sv_err();
            }
            step = sst.i;
            sv a = it->start ? eval(s, sc, it->start) : sv_int(step > 0 ? 0 : INT64_MAX);
            sv b = it->stop ? eval(s, sc, it->stop) : sv_int(step > 0 ? INT64_MAX : INT64_MIN);
            if (a.k != SV_INT || b.k != SV_INT) {
                if (a.k != SV_ERROR && b.k != SV_ERROR)
                    gc_error(s->d, it->loc, "slice bounds must be integers");
                return sv_err();
            }
            start = a.i;
            stop = b.i;
            if (!it->start && !it->stop && step == 1) { /* ':' keeps the dim */
                axis++;
                continue;
            }
        } else {
            sv ix = eval(s, sc, it);
            if (ix.k != SV_INT) {
                if (ix.k != SV_ERROR)
                    gc_error(s->d, it->loc, "an index must be an integer or a slice, found %s", sv_kind_name(ix.k));
                return sv_err();
            }
            start = ix.i;
            stop = ix.i == -1 ? INT64_MAX : ix.i + 1;
            if (t->dims[axis].sym < 0 && (ix.i >= t->dims[axis].coef || ix.i < -t->dims[axis].coef)) {
                gc_error(s->d, it->loc, "index %lld is out of range for dimension %d of size %lld",
                         (long long)ix.i, axis, (long long)t->dims[axis].coef);
                return sv_err();
            }
            squeeze[n_sq++] = axis;
        }
        int k = attrs[0].n;
        attrs[0].ints[k] = start;
        attrs[1].ints[k] = stop;
        attrs[2].ints[k] = axis;
        attrs[3].ints[k] = step;
        attrs[0].n = attrs[1].n = attrs[2].n = attrs[3].n = k + 1;
        axis++;
    }
    sv res = base;
    if (attrs[0].n > 0) {
        res = emit_op(s, OP_SLICE, &base.v, 1, attrs, e->loc);
        if (res.k != SV_TENSOR)
            return res;
    }
    if (n_sq) {
        op_attrs_default(OP_SQUEEZE, attrs);
        for (int i = 0; i < n_sq; i++)
            attrs[0].ints[i] = squeeze[i];
        attrs[0].n = n_sq;
        res = emit_op(s, OP_SQUEEZE, &res.v, 1, attrs, e->loc);
    }
    return res;
}

static sv eval_member(sema *s, scope *sc, const ast_expr *e)
{
    sv base = eval(s, sc, e->lhs);
    if (base.k == SV_ERROR)
        return base;
    if (base.k == SV_TENSOR && strcmp(e->str, "T") == 0) {
        op_attr attrs[OP_MAX_ATTRS];
        op_attrs_default(OP_TRANSPOSE, attrs);
        return emit_op(s, OP_TRANSPOSE, &base.v, 1, attrs, e->loc);
    }
    if (base.k == SV_INST && base.in->sc) {
        binding *b = scope_find_local(base.in->sc, e->str);
        if (b)
            return b->val;
        gc_error(s->d, e->loc, "module %s ('%s') has no member '%s'", base.in->type_name, base.in->path, e->str);
        return sv_err();
    }
    gc_error(s->d, e->loc, "%s has no member '%s'", sv_kind_name(base.k), e->str);
    return sv_err();
}

static sv eval(sema *s, scope *sc, const ast_expr *e)
{
    switch (e->kind) {
    case AE_INT: return sv_int(e->ival);
    case AE_FLOAT: return sv_float(e->fval);
    case AE_BOOL: return (sv){ .k = SV_BOOL, .i = e->ival != 0 };
    case AE_STRING: return (sv){ .k = SV_STR, .s = e->str };
    case AE_NAME: {
        binding *b = scope_lookup(sc, e->str);
        if (b)
            return b->val;
        if (op_find(e->str) >= 0 || strcmp(e->str, "Sequential") == 0 || strcmp(e->str, "linear") == 0)
            return (sv){ .k = SV_FUNC, .s = e->str };
        gc_error(s->d, e->loc, "unknown name '%s'", e->str);
        return sv_err();
    }
    case AE_LIST: return eval_list(s, sc, e);
    case AE_BINARY: return eval_binary(s, sc, e);
    case AE_UNARY: return eval_unary(s, sc, e);
    case AE_CALL: {
        sv callee;
        if (e->lhs->kind == AE_NAME) {
            binding *b = scope_lookup(sc, e->lhs->str);
            callee = b ? b->val : (sv){ .k = SV_FUNC, .s = e->lhs->str };
        } else {
            callee = eval(s, sc, e->lhs);
        }
        if (callee.k == SV_ERROR)
            return callee;
        return call_value(s, sc, callee, e, e->loc);
    }
    case AE_INDEX: return eval_index(s, sc, e);
    case AE_MEMBER: return eval_member(s, sc, e);
    case AE_SLICE:
    case AE_ELLIPSIS:
        gc_error(s->d, e->loc, "a slice is only allowed inside [ ]");
        return sv_err();
    }
    return sv_err();
}

/* ------------------------------------------------------------- op calls */

typedef struct args {
    int n;
    sv vals[OP_MAX_INPUTS + 8];
    const char *names[OP_MAX_INPUTS + 8];
    gc_loc locs[OP_MAX_INPUTS + 8];
} args;

static int eval_args(sema *s, scope *sc, const ast_expr *call, args *a)
{
    a->n = 0;
    if (call->n_items > (int)(sizeof a->vals / sizeof a->vals[0])) {
        gc_error(s->d, call->loc, "too many arguments (%d)", call->n_items);
        return -1;
    }
    int bad = 0;
    for (int i = 0; i < call->n_items; i++) {
        a->vals[i] = eval(s, sc, call->items[i]);
        a->names[i] = call->names ? call->names[i] : NULL;
        a->locs[i] = call->items[i]->loc;
        bad |= a->vals[i].k == SV_ERROR;
    }
    a->n = call->n_items;
    return bad ? -1 : 0;
}

/* PyTorch-style keyword spellings accepted for our attribute names. */
static int find_attr(op_kind k, const char *name)
{
    int i = op_attr_index(k, name);
    if (i >= 0)
        return i;
    static const char *const alias[][2] = {
        { "dim", "axis" }, { "dim", "axes" }, { "axis", "axes" }, { "keepdim", "keepdims" },
        { "kernel_size", "kernel" }, { "dtype", "to" }, { "negative_slope", "alpha" },
        { "start", "start_dim" }, { "end", "end_dim" }, { "eps", "eps" }, { "split_size", "sizes" },
    };
    for (size_t j = 0; j < sizeof alias / sizeof alias[0]; j++)
        if (strcmp(alias[j][0], name) == 0 && (i = op_attr_index(k, alias[j][1])) >= 0)
            return i;
    return -1;
}

static int set_attr(sema *s, op_kind k, int ai, op_attr *attrs, sv x, gc_loc loc)
{
    const op_attr_spec *sp = &op_table[k].attrs[ai];
    op_attr *a = &attrs[ai];
    const char *opn = op_table[k].name;
    switch (sp->kind) {
    case OP_ATTR_INT:
        if (x.k == SV_INT || x.k == SV_BOOL) {
            a->i = x.i;
            return 0;
        }
        if (x.k == SV_STR && sp->enum_names) {
            for (int j = 0; sp->enum_names[j]; j++)
                if (strcmp(sp->enum_names[j], x.s) == 0) {
                    a->i = j;
                    return 0;
                }
            char choices[256] = "";
            for (int j = 0; sp->enum_names[j]; j++) {
                if (strcmp(sp->enum_names[j], "invalid") == 0)
                    continue;
                size_t l = strlen(choices);
                snprintf(choices + l, sizeof choices - l, "%s\"%s\"", l ? ", " : "", sp->enum_names[j]);
            }
            gc_error(s->d, loc, "%s: '%s' must be one of %s, not \"%s\"", opn, sp->name, choices, x.s);
            return -1;
        }
        break;
    case OP_ATTR_FLOAT:
        if (is_num(x)) {
            a->f = num_f(x);
            return 0;
        }
        break;
    case OP_ATTR_INTS:
        if (x.k == SV_INT) {
            int cnt = sp->count > 0 ? sp->count : 1;
            a->n = cnt;
            for (int j = 0; j < cnt; j++)
                a->ints[j] = x.i;
            return 0;
        }
        if (x.k == SV_LIST || x.k == SV_TUPLE) {
            if (x.n > OP_MAX_INTS) {
                gc_error(s->d, loc, "%s: '%s' has %d values; at most %d are allowed", opn, sp->name, x.n, OP_MAX_INTS);
                return -1;
            }
            for (int j = 0; j < x.n; j++) {
                if (x.items[j].k != SV_INT) {
                    gc_error(s->d, loc, "%s: '%s' must be a list of integers", opn, sp->name);
                    return -1;
                }
                a->ints[j] = x.items[j].i;
            }
            a->n = x.n;
            if (sp->count > 0 && x.n != sp->count) {
                gc_error(s->d, loc, "%s: '%s' needs %d values, found %d", opn, sp->name, sp->count, x.n);
                return -1;
            }
            return 0;
        }
        break;
    default:
        break;
    }
    gc_error(s->d, loc, "%s: '%s' must be %s, found %s", opn, sp->name,
             sp->kind == OP_ATTR_INT ? "an integer" : sp->kind == OP_ATTR_FLOAT ? "a number" : "a list of integers",
             sv_kind_name(x.k));
    return -1;
}

/* f(args) where f is an op of the table: positional arguments fill the
 * tensor inputs (numbers and lists become constants of the first tensor's
 * dtype), then the attributes in order; keywords name attributes. */
static sv call_op(sema *s, op_kind k, args *a, gc_loc loc)
{
    const op_def *d = &op_table[k];
    op_attr attrs[OP_MAX_ATTRS];
    op_attrs_default(k, attrs);
    int set[OP_MAX_ATTRS] = { 0 };
    sv ins_sv[OP_MAX_INPUTS];
    gc_loc in_loc[OP_MAX_INPUTS];
    int n_in = 0, next_attr = 0;
    int bad = 0;
    for (int i = 0; i < a->n; i++) {
        sv x = a->vals[i];
        if (a->names[i]) {
            int ai = find_attr(k, a->names[i]);
            if (ai < 0) {
                gc_error(s->d, a->locs[i], "%s has no argument '%s'", d->name, a->names[i]);
                bad = 1;
                continue;
            }
            if (set[ai]) {
                gc_error(s->d, a->locs[i], "%s: '%s' given twice", d->name, d->attrs[ai].name);
                bad = 1;
                continue;
            }
            bad |= set_attr(s, k, ai, attrs, x, a->locs[i]) != 0;
            set[ai] = 1;
            continue;
        }
        /* concat([a, b, c]) takes a list of tensors */
        if (d->max_inputs > 2 && n_in == 0 && x.k == SV_LIST && k == OP_CONCAT) {
            for (int j = 0; j < x.n && n_in < OP_MAX_INPUTS; j++) {
                ins_sv[n_in] = x.items[j];
                in_loc[n_in++] = a->locs[i];
            }
            continue;
        }
        int takes_input = n_in < d->max_inputs && next_attr == 0 &&
                          (x.k == SV_TENSOR || (n_in > 0 && n_in < d->min_inputs) ||
                           (n_in > 0 && is_num(x) && d->max_inputs > 1 && k != OP_CONCAT));
        if (n_in == 0 && x.k != SV_TENSOR)
            takes_input = 1; /* f(3.0): a constant input */
        if (takes_input) {
            ins_sv[n_in] = x;
            in_loc[n_in++] = a->locs[i];
            continue;
        }
        while (next_attr < d->n_attrs && set[next_attr])
            next_attr++;
        if (next_attr >= d->n_attrs) {
            gc_error(s->d, a->locs[i], "%s: too many arguments", d->name);
            bad = 1;
            continue;
        }
        bad |= set_attr(s, k, next_attr, attrs, x, a->locs[i]) != 0;
        set[next_attr++] = 1;
    }
    if (bad)
        return sv_err();
    for (int ai = 0; ai < d->n_attrs; ai++)
        if (d->attrs[ai].required && !set[ai]) {
            gc_error(s->d, loc, "%s: missing argument '%s'", d->name, d->attrs[ai].name);
            return sv_err();
        }
    if (n_in < d->min_inputs || n_in > d->max_inputs) {
        if (d->min_inputs == d->max_inputs)
            gc_error(s->d, loc, "%s takes %d tensor input%s, found %d", d->name, d->min_inputs,
                     d->min_inputs == 1 ? "" : "s", n_in);
        else
            gc_error(s->d, loc, "%s takes %d to %d tensor inputs, found %d", d->name, d->min_inputs,
                     d->max_inputs, n_in);
        return sv_err();
    }
    int hint = 0;
    for (int i = 0; i < n_in; i++)
        if (ins_sv[i].k == SV_TENSOR) {
            hint = (int)val(s, ins_sv[i].v)->type.dtype;
            break;
        }
    if (k == OP_GATHER || k == OP_SOFTMAX_CROSS_ENTROPY)
        hint = 0; /* indices / labels keep their own (integer) type */
    if (k == OP_WHERE && n_in == 3) {
        ins_sv[0] = to_tensor(s, ins_sv[0], OP_BOOL, in_loc[0]);
        int h2 = ins_sv[1].k == SV_TENSOR ? (int)val(s, ins_sv[1].v)->type.dtype
               : ins_sv[2].k == SV_TENSOR ? (int)val(s, ins_sv[2].v)->type.dtype : 0;
        ins_sv[1] = to_tensor(s, ins_sv[1], h2, in_loc[1]);
        ins_sv[2] = to_tensor(s, ins_sv[2], h2, in_loc[2]);
    }
    int ins[OP_MAX_INPUTS];
    for (int i = 0; i < n_in; i++) {
        sv t = to_tensor(s, ins_sv[i], i == 0 && k == OP_GATHER ? 0 : hint, in_loc[i]);
        if (t.k != SV_TENSOR)
            return sv_err();
        ins[i] = t.v;
    }
    return emit_op(s, k, ins, n_in, attrs, loc);
}

/* transpose(x, d0, d1) swaps two dims as torch.transpose does. */
static int rewrite_transpose(sema *s, args *a)
{
    if (a->n != 3 || a->names[1] || a->names[2] || a->vals[0].k != SV_TENSOR ||
        a->vals[1].k != SV_INT || a->vals[2].k != SV_INT)
        return 0;
    int rank = val(s, a->vals[0].v)->type.rank;
    int d0 = op_axis(a->vals[1].i, rank), d1 = op_axis(a->vals[2].i, rank);
    if (d0 < 0 || d1 < 0) {
        gc_error(s->d, a->locs[1], "transpose: dims out of range for rank %d", rank);
        return -1;
    }
    sv perm = { .k = SV_LIST, .n = rank };
    perm.items = gc_alloc(s->a, sizeof(sv) * (size_t)(rank + 1));
    if (!perm.items)
        return -1;
    for (int i = 0; i < rank; i++)
        perm.items[i] = sv_int(i == d0 ? d1 : i == d1 ? d0 : i);
    a->vals[1] = perm;
    a->n = 2;
    return 0;
}

/* gradients(y, [x1, x2, ...]) -> a tuple of d sum(y) / dx (graphc/autodiff.c);
 * gradients(y, x) -> one tensor. */
static sv call_gradients(sema *s, args *a, gc_loc loc)
{
    sv xl = a->n == 2 ? a->vals[1] : sv_err();
    int single = xl.k == SV_TENSOR;
    int n = single ? 1 : (xl.k == SV_LIST || xl.k == SV_TUPLE) ? xl.n : 0;
    if (a->n != 2 || a->names[0] || a->names[1] || a->vals[0].k != SV_TENSOR || n < 1) {
        gc_error(s->d, loc, "gradients takes (y, [x1, x2, ...]) or (y, x) with tensors y and x");
        return sv_err();
    }
    int *xs = gc_alloc(s->a, sizeof(int) * (size_t)(2 * n));
    sv t = { .k = SV_TUPLE, .n = n };
    t.items = gc_alloc(s->a, sizeof(sv) * (size_t)n);
    if (!xs || !t.items)
        return sv_err();
    for (int i = 0; i < n; i++) {
        sv x = single ? xl : xl.items[i];
        if (x.k != SV_TENSOR) {
            gc_error(s->d, a->locs[1], "gradients: item %d of the list is %s, not a tensor", i, sv_kind_name(x.k));
            return sv_err();
        }
        xs[i] = x.v;
    }
    if (gc_gradients(s->g, s->d, a->vals[0].v, n, xs, xs + n, loc))
        return sv_err();
    for (int i = 0; i < n; i++)
        t.items[i] = sv_tensor(xs[n + i]);
    return single ? t.items[0] : t;
}

static sv call_builtin(sema *s, const char *name, args *a, gc_loc loc)
{
    static const char *const alias[][2] = {
        { "cat", "concat" }, { "permute", "transpose" }, { "maximum", "maximum" },
        { "clamp", "clip" }, { "greater", "greater" }, { "amax", "max" }, { "amin", "min" },
        { "cross_entropy", "softmax_cross_entropy" },
    };
    for (size_t j = 0; j < sizeof alias / sizeof alias[0]; j++)
        if (strcmp(alias[j][0], name) == 0)
            name = alias[j][1];
    if (strcmp(name, "linear") == 0) { /* linear(x, w[, b]) = x @ w^T + b, as torch */
        if (a->n < 2 || a->n > 3 || a->vals[0].k != SV_TENSOR || a->vals[1].k != SV_TENSOR) {
            gc_error(s->d, loc, "linear takes (x, weight[, bias]) tensors");
            return sv_err();
        }
        op_attr attrs[OP_MAX_ATTRS];
        op_attrs_default(OP_MATMUL, attrs);
        attrs[1].i = 1;
        int ins[2] = { a->vals[0].v, a->vals[1].v };
        sv y = emit_op(s, OP_MATMUL, ins, 2, attrs, loc);
        if (a->n == 3 && y.k == SV_TENSOR) {
            sv b = to_tensor(s, a->vals[2], (int)val(s, y.v)->type.dtype, a->locs[2]);
            if (b.k != SV_TENSOR)
                return sv_err();
            int ins2[2] = { y.v, b.v };
            y = emit_simple(s, OP_ADD, ins2, 2, loc);
        }
        return y;
    }
    if (strcmp(name, "gradients") == 0)
        return call_gradients(s, a, loc);
    int k = op_find(name);
    if (k < 0) {
        if (gc_init_find(name) >= 0)
            gc_error(s->d, loc, "'%s' is an initializer; it can only follow 'param NAME: TYPE ='", name);
        else
            gc_error(s->d, loc, "unknown function '%s'", name);
        return sv_err();
    }
    if (k == OP_TRANSPOSE && rewrite_transpose(s, a))
        return sv_err();
    return call_op(s, (op_kind)k, a, loc);
}

/* ---------------------------------------------------------- statements */

static int exec_body(sema *s, scope *sc, ast_stmt **body, int n_body, sv *ret, int *returned);

static int eval_type(sema *s, scope *sc, const ast_type *ty, int allow_symbols, op_type *out)
{
    memset(out, 0, sizeof *out);
    int dt = op_dtype_from_name(ty->dtype);
    if (dt < 0) {
        gc_error(s->d, ty->loc, "unknown dtype '%s' (expected f32, f64, i32, i64, bool, u8 or i8)", ty->dtype);
        return -1;
    }
    out->dtype = (op_dtype)dt;
    int n = ty->n_dims < 0 ? 0 : ty->n_dims;
    if (n > OP_MAX_RANK) {
        gc_error(s->d, ty->loc, "rank %d is over the limit of %d", n, OP_MAX_RANK);
        return -1;
    }
    out->rank = n;
    for (int i = 0; i < n; i++) {
        const ast_expr *de = ty->dims[i];
        sv x;
        if (de->kind == AE_NAME && !scope_lookup(sc, de->str)) {
            if (!allow_symbols) {
                gc_error(s->d, de->loc, "unknown name '%s' (symbolic dimensions are only allowed in inputs)", de->str);
                return -1;
            }
            int sym = gc_graph_symbol(s->g, de->str);
            if (sym < 0)
                return -1;
            x = (sv){ .k = SV_DIM, .dim = { 1, sym } };
        } else {
            x = eval(s, sc, de);
        }
        if (x.k == SV_FLOAT && x.f == floor(x.f) && fabs(x.f) < 9e15)
            x = sv_int((int64_t)x.f);
        if (x.k == SV_INT) {
            if (x.i < 0) {
                gc_error(s->d, de->loc, "dimension %d is negative (%lld)", i, (long long)x.i);
                return -1;
            }
            out->dims[i] = op_dim_const(x.i);
        } else if (x.k == SV_DIM) {
            if (!allow_symbols) {
                gc_error(s->d, de->loc, "a param or constant needs concrete dimensions");
                return -1;
            }
            out->dims[i] = x.dim;
        } else {
            if (x.k != SV_ERROR)
                gc_error(s->d, de->loc, "a dimension must be an integer or a name such as N, found %s", sv_kind_name(x.k));
            return -1;
        }
    }
    op_dim total;
    if (op_type_numel(out, &total)) {
        gc_error(s->d, ty->loc, "the tensor is too large (or multiplies two symbolic dimensions)");
        return -1;
    }
    if (!allow_symbols && total.coef > ((int64_t)1 << 40)) {
        gc_error(s->d, ty->loc, "a param of %lld elements is over the limit of 2^40", (long long)total.coef);
        return -1;
    }
    return 0;
}

static const char *dir_of(sema *s, int file)
{
    const char *p = s->d->files[file].path;
    const char *slash = strrchr(p, '/');
    if (!slash)
        return "";
    return gc_strndup(s->a, p, (size_t)(slash - p + 1));
}

static int parse_init(sema *s, scope *sc, const ast_expr *e, gc_init *init)
{
    memset(init, 0, sizeof *init);
    if (!e) {
        init->kind = GI_ZEROS;
        return 0;
    }
    if (e->kind != AE_CALL || e->lhs->kind != AE_NAME) {
        gc_error(s->d, e->loc, "a param initializer must be a call such as normal(std=0.01) (one of: %s)",
                 gc_init_names());
        return -1;
    }
    int kind = gc_init_find(e->lhs->str);
    if (kind < 0) {
        gc_error(s->d, e->lhs->loc, "unknown initializer '%s' (expected one of: %s)", e->lhs->str, gc_init_names());
        return -1;
    }
    init->kind = (gc_init_kind)kind;
    /* defaults, as PyTorch */
    switch (init->kind) {
    case GI_NORMAL: case GI_TRUNC_NORMAL: init->a = 0; init->b = 1; break;
    case GI_UNIFORM: init->a = 0; init->b = 1; break;
    case GI_GLOROT_UNIFORM: case GI_GLOROT_NORMAL: init->a = 1; break;
    default: break;
    }
    static const char *const pos_names[][3] = {
        [GI_FILL] = { "value" }, [GI_NORMAL] = { "mean", "std", "seed" },
        [GI_TRUNC_NORMAL] = { "mean", "std", "seed" }, [GI_UNIFORM] = { "low", "high", "seed" },
        [GI_GLOROT_UNIFORM] = { "gain", "seed" }, [GI_GLOROT_NORMAL] = { "gain", "seed" },
        [GI_HE_UNIFORM] = { "a", "mode", "seed" }, [GI_HE_NORMAL] = { "a", "mode", "seed" },
        [GI_LOAD] = { "path" },
    };
    for (int i = 0; i < e->n_items; i++) {
        const char *nm = e->names ? e->names[i] : NULL;
        if (!nm) {
            nm = i < 3 ? pos_names[init->kind][i] : NULL;
            if (!nm) {
                gc_error(s->d, e->items[i]->loc, "%s: too many arguments", e->lhs->str);
                return -1;
            }
        }
        sv x = eval(s, sc, e->items[i]);
        if (x.k == SV_ERROR)
            return -1;
        gc_loc l = e->items[i]->loc;
        int ok = 1;
        if (strcmp(nm, "seed") == 0) {
            ok = x.k == SV_INT;
            init->has_seed = 1;
            init->seed = (uint64_t)x.i;
        } else if (strcmp(nm, "path") == 0 && init->kind == GI_LOAD) {
            ok = x.k == SV_STR;
            if (ok)
                init->path = x.s[0] == '/' ? x.s : gc_sprintf(s->a, "%s%s", dir_of(s, e->loc.file), x.s);
        } else if (strcmp(nm, "mode") == 0 && (init->kind == GI_HE_UNIFORM || init->kind == GI_HE_NORMAL)) {
            ok = x.k == SV_STR && (strcmp(x.s, "fan_in") == 0 || strcmp(x.s, "fan_out") == 0);
            init->fan_out_mode = ok && strcmp(x.s, "fan_out") == 0;
        } else if (strcmp(nm, "nonlinearity") == 0) {
            ok = x.k == SV_STR; /* gain follows from a; relu == leaky_relu with a = 0 */
        } else {
            int slot = -1;
            if ((init->kind == GI_FILL && strcmp(nm, "value") == 0) ||
                ((init->kind == GI_NORMAL || init->kind == GI_TRUNC_NORMAL) && strcmp(nm, "mean") == 0) ||
                (init->kind == GI_UNIFORM && (strcmp(nm, "low") == 0 || strcmp(nm, "a") == 0)) ||
                ((init->kind == GI_GLOROT_UNIFORM || init->kind == GI_GLOROT_NORMAL) && strcmp(nm, "gain") == 0) ||
                ((init->kind == GI_HE_UNIFORM || init->kind == GI_HE_NORMAL) && strcmp(nm, "a") == 0))
                slot = 0;
            else if (((init->kind == GI_NORMAL || init->kind == GI_TRUNC_NORMAL) && strcmp(nm, "std") == 0) ||
                     (init->kind == GI_UNIFORM && (strcmp(nm, "high") == 0 || strcmp(nm, "b") == 0)))
                slot = 1;
            if (slot < 0) {
                gc_error(s->d, l, "%s has no argument '%s'", e->lhs->str, nm);
                return -1;
            }
            ok = is_num(x);
            if (ok) {
                if (slot == 0)
                    init->a = num_f(x);
                else
                    init->b = num_f(x);
            }
        }
        if (!ok) {
            gc_error(s->d, l, "%s: bad value for '%s' (%s)", e->lhs->str, nm, sv_kind_name(x.k));
            return -1;
        }
    }
    if (init->kind == GI_LOAD && !init->path) {
        gc_error(s->d, e->loc, "load needs a file name: load(\"weights.npy\")");
        return -1;
    }
    return 0;
}

static sv declare_param(sema *s, scope *sc, const ast_stmt *st, const char *name)
{
    op_type t;
    if (eval_type(s, sc, st->type, 0, &t))
        return sv_err();
    gc_init init;
    if (parse_init(s, sc, st->value, &init))
        return sv_err();
    int v = gc_graph_add_value(s->g, GV_PARAM, name, &t, st->loc);
    if (v < 0)
        return sv_err();
    gc_value *pv = val(s, v);
    pv->user_named = 1;
    pv->trainable = !st->frozen;
    pending_param *pp = gc_alloc(s->a, sizeof *pp);
    if (!pp)
        return sv_err();
    pp->v = v;
    pp->init = init;
    pp->loc = st->value ? st->value->loc : st->loc;
    pp->next = s->pending;
    s->pending = pp;
    return sv_tensor(v);
}

static void bind_tensor_name(sema *s, scope *sc, const char *name, sv x)
{
    if (x.k != SV_TENSOR)
        return;
    gc_value *v = val(s, x.v);
    if (v->kind != GV_NODE || v->user_named)
        return;
    const char *full = name;
    if (sc->self && sc->self->path)
        full = join_path(s, sc->self->path, name);
    gc_graph_rename(s->g, x.v, full);
    v->user_named = 1;
}

static void assign(sema *s, scope *sc, const ast_stmt *st, sv x)
{
    if (st->n_names == 1) {
        const char *name = st->names[0];
        name_instance(s, sc, name, x);
        bind_tensor_name(s, sc, name, x);
        scope_bind(s, sc, name, x);
        return;
    }
    if (x.k == SV_ERROR) {
        for (int i = 0; i < st->n_names; i++)
            scope_bind(s, sc, st->names[i], x);
        return;
    }
    if ((x.k != SV_TUPLE && x.k != SV_LIST) || x.n != st->n_names) {
        gc_error(s->d, st->loc, "%d names on the left but the right side gives %s%s", st->n_names,
                 x.k == SV_TUPLE || x.k == SV_LIST ? "" : sv_kind_name(x.k),
                 x.k == SV_TUPLE || x.k == SV_LIST ? gc_sprintf(s->a, "%d values", x.n) : "");
        for (int i = 0; i < st->n_names; i++)
            scope_bind(s, sc, st->names[i], sv_err());
        return;
    }
    for (int i = 0; i < st->n_names; i++) {
        bind_tensor_name(s, sc, st->names[i], x.items[i]);
        name_instance(s, sc, st->names[i], x.items[i]);
        scope_bind(s, sc, st->names[i], x.items[i]);
    }
}

static int add_output(sema *s, const char *name, sv x, gc_loc loc)
{
    if (x.k == SV_ERROR)
        return -1;
    if (x.k != SV_TENSOR) {
        x = to_tensor(s, x, 0, loc);
        if (x.k != SV_TENSOR)
            return -1;
    }
    for (int i = 0; i < s->g->n_outputs; i++)
        if (strcmp(val(s, s->g->outputs[i])->name, name) == 0) {
            gc_error(s->d, loc, "output '%s' is declared twice", name);
            return -1;
        }
    gc_value *v = val(s, x.v);
    int already_output = 0;
    for (int i = 0; i < s->g->n_outputs; i++)
        already_output |= s->g->outputs[i] == x.v;
    if (v->kind == GV_NODE && !already_output && (!v->user_named || strcmp(v->name, name) == 0)) {
        gc_graph_rename(s->g, x.v, name);
        v->user_named = 1;
    } else if (v->kind != GV_NODE || already_output || strcmp(v->name, name) != 0) {
        /* an input, param, const or an already-named output: an identity
         * node gives the output its own name */
        sv y = emit_simple(s, OP_IDENTITY, &x.v, 1, loc);
        if (y.k != SV_TENSOR)
            return -1;
        int taken = gc_graph_find(s->g, name);
        if (taken >= 0 && taken != y.v) {
            gc_error(s->d, loc, "output name '%s' is already the name of %s '%s'", name,
                     val(s, taken)->kind == GV_INPUT ? "input" : val(s, taken)->kind == GV_PARAM ? "param" : "a value",
                     name);
            return -1;
        }
        gc_graph_rename(s->g, y.v, name);
        val(s, y.v)->user_named = 1;
        x = y;
    }
    return gc_graph_add_output(s->g, x.v);
}

/* train LOSS with sgd(lr, momentum=0, nesterov=false, weight_decay=0)
 *                | adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0)
 *                | adamw(... weight_decay=0.01)
 * lr: a number or a scalar f32 input. Recorded here; built (train.c) once
 * the whole graph is known. */
static int exec_train(sema *s, scope *sc, const ast_stmt *st)
{
    static const char *const sgd_args[] = { "lr", "momentum", "nesterov", "weight_decay" };
    static const char *const adam_args[] = { "lr", "beta1", "beta2", "eps", "weight_decay" };
    if (!sc->is_graph || sc->self) {
        gc_error(s->d, st->loc, "'train' is only allowed in a graph");
        return -1;
    }
    if (s->has_train) {
        gc_error(s->d, st->loc, "a graph has one 'train' statement (this is the second)");
        return -1;
    }
    sv loss = eval(s, sc, st->value);
    if (loss.k == SV_ERROR)
        return -1;
    if (loss.k != SV_TENSOR) {
        gc_error(s->d, st->value->loc, "train: the loss is %s, not a tensor", sv_kind_name(loss.k));
        return -1;
    }
    gc_train_spec *t = &s->train;
    memset(t, 0, sizeof *t);
    t->loss = loss.v;
    t->lr_input = -1;
    t->loc = st->loc;
    t->beta1 = 0.9;
    t->beta2 = 0.999;
    t->eps = 1e-8;
    t->lr = 0.001;
    const ast_expr *call = st->rhs;
    const char *opt = call && call->kind == AE_CALL && call->lhs && call->lhs->kind == AE_NAME ? call->lhs->str : NULL;
    const char *const *names;
    int n_names;
    if (opt && strcmp(opt, "sgd") == 0) {
        t->opt = GC_OPT_SGD;
        names = sgd_args;
        n_names = 4;
    } else if (opt && (strcmp(opt, "adam") == 0 || strcmp(opt, "adamw") == 0)) {
        t->opt = opt[4] ? GC_OPT_ADAMW : GC_OPT_ADAM;
        t->weight_decay = opt[4] ? 0.01 : 0.0;
        names = adam_args;
        n_names = 5;
    } else {
        gc_error(s->d, call ? call->loc : st->loc, "train: the optimizer is sgd(...), adam(...) or adamw(...)");
        return -1;
    }
    int seen[8] = { 0 }, rc = 0;
    for (int i = 0; i < call->n_items; i++) {
        const ast_expr *e = call->items[i];
        int k = -1;
        if (call->names && call->names[i]) {
            for (int j = 0; j < n_names; j++)
                if (strcmp(call->names[i], names[j]) == 0)
                    k = j;
            if (k < 0) {
                gc_error(s->d, e->loc, "%s has no argument '%s'", opt, call->names[i]);
                rc = -1;
                continue;
            }
        } else if ((k = i) >= n_names) {
            gc_error(s->d, e->loc, "%s takes at most %d arguments", opt, n_names);
            return -1;
        }
        if (seen[k]++) {
            gc_error(s->d, e->loc, "%s: argument '%s' given twice", opt, names[k]);
            rc = -1;
            continue;
        }
        sv x = eval(s, sc, e);
        if (x.k == SV_ERROR) {
            rc = -1;
            continue;
        }
        if (k == 0 && x.k == SV_TENSOR) {
            const gc_value *v = val(s, x.v);
            if (v->kind != GV_INPUT || v->type.dtype != OP_F32 || v->type.rank != 0) {
                gc_error(s->d, e->loc, "%s: lr is a number or the name of a scalar f32 input (a feed)", opt);
                rc = -1;
            }
            t->lr_input = x.v;
            continue;
        }
        if (!is_num(x)) {
            gc_error(s->d, e->loc, "%s: '%s' is %s, not a number", opt, names[k], sv_kind_name(x.k));
            rc = -1;
            continue;
        }
        double f = num_f(x);
        const char *nm = names[k];
        if (strcmp(nm, "lr") == 0)
            t->lr = f;
        else if (strcmp(nm, "momentum") == 0)
            t->momentum = f;
        else if (strcmp(nm, "nesterov") == 0)
            t->nesterov = f != 0;
        else if (strcmp(nm, "weight_decay") == 0)
            t->weight_decay = f;
        else if (strcmp(nm, "beta1") == 0)
            t->beta1 = f;
        else if (strcmp(nm, "beta2") == 0)
            t->beta2 = f;
        else
            t->eps = f;
        int bad = f != f || (k == 0 ? f < 0 : 0) || (strcmp(nm, "momentum") == 0 && f < 0) ||
                  (strcmp(nm, "weight_decay") == 0 && f < 0) || (strcmp(nm, "eps") == 0 && f < 0) ||
                  ((strcmp(nm, "beta1") == 0 || strcmp(nm, "beta2") == 0) && (f < 0 || f >= 1));
        if (bad) {
            gc_error(s->d, e->loc, "%s: invalid %s %g", opt, nm, f);
            rc = -1;
        }
    }
    if (t->opt == GC_OPT_SGD && !seen[0]) {
        gc_error(s->d, call->loc, "sgd needs a learning rate: sgd(lr=...)");
        rc = -1;
    }
    if (t->nesterov && t->momentum <= 0) {
        gc_error(s->d, call->loc, "sgd: nesterov needs a momentum > 0");
        rc = -1;
    }
    if (rc == 0)
        s->has_train = 1;
    return rc;
}

static int exec_stmt(sema *s, scope *sc, const ast_stmt *st, sv *ret, int *returned)
{
    switch (st->kind) {
    case AS_INPUT: {
        if (!sc->is_graph) {
            gc_error(s->d, st->loc, "'input' is only allowed in a graph (a module takes its inputs in forward)");
            return -1;
        }
        op_type t;
        if (eval_type(s, sc, st->type, 1, &t)) {
            scope_bind(s, sc, st->name, sv_err()); /* no follow-up "unknown name" */
            return -1;
        }
        if (gc_graph_find(s->g, st->name) >= 0) {
            gc_error(s->d, st->loc, "'%s' is already defined", st->name);
            return -1;
        }
        int v = gc_graph_add_value(s->g, GV_INPUT, st->name, &t, st->loc);
        if (v < 0)
            return -1;
        val(s, v)->user_named = 1;
        scope_bind(s, sc, st->name, sv_tensor(v));
        return 0;
    }
    case AS_PARAM: {
        if (!sc->is_graph && !sc->is_module_body) {
            gc_error(s->d, st->loc, "'param' is not allowed inside forward; declare it in the module body");
            return -1;
        }
        if (scope_find_local(sc, st->name)) {
            gc_error(s->d, st->loc, "'%s' is already defined", st->name);
            return -1;
        }
        const char *full = sc->self ? join_path(s, sc->self->path, st->name) : st->name;
        sv p = declare_param(s, sc, st, full);
        if (p.k == SV_TENSOR && sc->self) {
            inst *in = sc->self;
            int cap = in->cap_params;
            if (gc_grow(s->a, (void **)&in->params, &in->cap_params, in->n_params + 1, sizeof(int)))
                return -1;
            if (in->cap_params != cap) {
                const char **nl = gc_alloc(s->a, sizeof(char *) * (size_t)in->cap_params);
                if (!nl)
                    return -1;
                if (in->param_local)
                    memcpy(nl, in->param_local, sizeof(char *) * (size_t)in->n_params);
                in->param_local = nl;
            }
            in->params[in->n_params] = p.v;
            in->param_local[in->n_params++] = st->name;
        }
        scope_bind(s, sc, st->name, p);
        return p.k == SV_ERROR ? -1 : 0;
    }
    case AS_CONST: {
        sv x = eval(s, sc, st->value);
        if (x.k == SV_ERROR) {
            scope_bind(s, sc, st->name, x);
            return -1;
        }
        if (st->type) {
            op_type t;
            if (eval_type(s, sc, st->type, 0, &t))
                return -1;
            if (x.k == SV_TENSOR) {
                gc_error(s->d, st->value->loc, "a const needs a literal value (numbers or lists)");
                return -1;
            }
            x = to_tensor(s, x, (int)t.dtype, st->value->loc);
            if (x.k != SV_TENSOR)
                return -1;
            if (!op_type_eq(&val(s, x.v)->type, &t)) {
                char want[300], got[300];
                type_str(s, &t, want, sizeof want);
                type_str(s, &val(s, x.v)->type, got, sizeof got);
                gc_error(s->d, st->value->loc, "const '%s' is declared %s but its value is %s", st->name, want, got);
                return -1;
            }
        } else if (x.k == SV_LIST) {
            x = to_tensor(s, x, 0, st->value->loc);
        }
        if (x.k == SV_TENSOR && val(s, x.v)->kind == GV_CONST) {
            const char *full = sc->self ? join_path(s, sc->self->path, st->name) : st->name;
            gc_graph_rename(s->g, x.v, full);
            val(s, x.v)->user_named = 1;
        }
        scope_bind(s, sc, st->name, x);
        return 0;
    }
    case AS_ASSIGN: {
        sv x = eval(s, sc, st->value);
        assign(s, sc, st, x);
        return x.k == SV_ERROR ? -1 : 0;
    }
    case AS_OUTPUT: {
        if (!sc->is_graph) {
            gc_error(s->d, st->loc, "'output' is only allowed in a graph (a module returns values from forward)");
            return -1;
        }
        int rc = 0;
        for (int i = 0; i < st->n_names; i++) {
            gc_loc l = st->name_locs ? st->name_locs[i] : st->loc;
            sv x;
            if (st->values && st->values[i]) {
                x = eval(s, sc, st->values[i]);
                if (x.k == SV_TENSOR)
                    bind_tensor_name(s, sc, st->names[i], x);
                scope_bind(s, sc, st->names[i], x);
            } else {
                binding *b = scope_lookup(sc, st->names[i]);
                if (!b) {
                    gc_error(s->d, l, "unknown name '%s'", st->names[i]);
                    rc = -1;
                    continue;
                }
                x = b->val;
            }
            if (add_output(s, st->names[i], x, l))
                rc = -1;
        }
        return rc;
    }
    case AS_RETURN: {
        if (!ret) {
            gc_error(s->d, st->loc, "'return' is only allowed in forward");
            return -1;
        }
        if (st->n_values == 1) {
            *ret = eval(s, sc, st->values[0]);
        } else {
            sv t = { .k = SV_TUPLE, .n = st->n_values };
            t.items = gc_alloc(s->a, sizeof(sv) * (size_t)(st->n_values + 1));
            if (!t.items)
                return -1;
            for (int i = 0; i < st->n_values; i++) {
                t.items[i] = eval(s, sc, st->values[i]);
                if (t.items[i].k == SV_ERROR)
                    t = sv_err();
                if (t.k == SV_ERROR)
                    break;
            }
            *ret = t;
        }
        *returned = 1;
        return ret->k == SV_ERROR ? -1 : 0;
    }
    case AS_FORWARD:
        if (!sc->is_module_body) {
            gc_error(s->d, st->loc, "'forward' is only allowed in a module");
            return -1;
        }
        if (sc->self->forward) {
            gc_error(s->d, st->loc, "module %s has two forward definitions", sc->self->type_name);
            return -1;
        }
        sc->self->forward = st;
        return 0;
    case AS_TRAIN:
        return exec_train(s, sc, st);
    }
    return 0;
}

static int exec_body(sema *s, scope *sc, ast_stmt **body, int n_body, sv *ret, int *returned)
{
    int rc = 0;
    for (int i = 0; i < n_body && !(returned && *returned); i++)
        if (exec_stmt(s, sc, body[i], ret, returned))
            rc = -1;
    return rc;
}

/* ------------------------------------------------------------- modules */

static sv instantiate(sema *s, const ast_item *mod, args *a, gc_loc loc)
{
    if (s->depth >= MAX_DEPTH) {
        gc_error(s->d, loc, "modules nested deeper than %d (a module that instantiates itself?)", MAX_DEPTH);
        return sv_err();
    }
    inst *in = inst_new(s, mod, mod->name);
    if (!in)
        return sv_err();
    in->sc = scope_new(s, s->global);
    if (!in->sc)
        return sv_err();
    in->sc->self = in;
    in->sc->is_module_body = 1;
    /* bind arguments: positional, then keywords, then defaults */
    int bound[256] = { 0 };
    if (mod->n_params > 256) {
        gc_error(s->d, loc, "too many module parameters");
        return sv_err();
    }
    int pos = 0, bad = 0;
    for (int i = 0; i < a->n; i++) {
        int p = -1;
        if (a->names[i]) {
            for (int j = 0; j < mod->n_params; j++)
                if (strcmp(mod->params[j], a->names[i]) == 0)
                    p = j;
            if (p < 0) {
                gc_error(s->d, a->locs[i], "module %s has no parameter '%s'", mod->name, a->names[i]);
                bad = 1;
                continue;
            }
        } else {
            p = pos++;
            if (p >= mod->n_params) {
                gc_error(s->d, a->locs[i], "module %s takes %d argument%s, found %d", mod->name, mod->n_params,
                         mod->n_params == 1 ? "" : "s", a->n);
                bad = 1;
                break;
            }
        }
        if (bound[p]) {
            gc_error(s->d, a->locs[i], "module %s: '%s' given twice", mod->name, mod->params[p]);
            bad = 1;
            continue;
        }
        if (a->vals[i].k == SV_TENSOR) {
            gc_error(s->d, a->locs[i], "module arguments are compile-time values (numbers, strings, lists); "
                                       "tensors go to the instance call, as in %s(...)(x)", mod->name);
            bad = 1;
            continue;
        }
        bound[p] = 1;
        scope_bind(s, in->sc, mod->params[p], a->vals[i]);
    }
    if (bad)
        return sv_err();
    for (int j = 0; j < mod->n_params; j++) {
        if (bound[j])
            continue;
        if (!mod->defaults || !mod->defaults[j]) {
            gc_error(s->d, loc, "module %s: missing argument '%s'", mod->name, mod->params[j]);
            return sv_err();
        }
        sv dv = eval(s, in->sc, mod->defaults[j]);
        if (dv.k == SV_ERROR)
            return dv;
        scope_bind(s, in->sc, mod->params[j], dv);
    }
    s->depth++;
    int errs = s->d->n_errors;
    int rc = exec_body(s, in->sc, mod->body, mod->n_body, NULL, NULL);
    s->depth--;
    if (rc) {
        if (s->d->n_errors > errs && mod->loc.file != loc.file)
            gc_note(s->d, loc, "in module %s, instantiated here", mod->name);
        return sv_err();
    }
    if (!in->forward) {
        gc_error(s->d, mod->loc, "module %s has no forward(...) { ... }", mod->name);
        return sv_err();
    }
    return (sv){ .k = SV_INST, .in = in };
}

static sv apply_stage(sema *s, scope *sc, sv stage, sv x, gc_loc loc);

static sv call_forward(sema *s, inst *in, args *a, gc_loc loc)
{
    if (in->n_seq || !in->mod) { /* Sequential */
        if (a->n != 1 || a->names[0]) {
            gc_error(s->d, loc, "a Sequential takes one input");
            return sv_err();
        }
        sv x = a->vals[0];
        for (int i = 0; i < in->n_seq && x.k != SV_ERROR; i++)
            x = apply_stage(s, NULL, in->seq[i], x, loc);
        return x;
    }
    const ast_stmt *fw = in->forward;
    if (s->depth >= MAX_DEPTH) {
        gc_error(s->d, loc, "module calls nested deeper than %d", MAX_DEPTH);
        return sv_err();
    }
    if (a->n != fw->n_names) {
        gc_error(s->d, loc, "%s.forward takes %d input%s, found %d", in->type_name, fw->n_names,
                 fw->n_names == 1 ? "" : "s", a->n);
        return sv_err();
    }
    scope *fs = scope_new(s, in->sc);
    if (!fs)
        return sv_err();
    fs->self = in;
    for (int i = 0; i < a->n; i++) {
        if (a->names[i]) {
            gc_error(s->d, a->locs[i], "forward inputs are positional");
            return sv_err();
        }
        scope_bind(s, fs, fw->names[i], a->vals[i]);
    }
    sv ret = { .k = SV_NONE };
    int returned = 0;
    s->depth++;
    int errs = s->d->n_errors;
    int rc = exec_body(s, fs, fw->body, fw->n_body, &ret, &returned);
    s->depth--;
    if (rc) {
        if (s->d->n_errors > errs && fw->loc.file != loc.file)
            gc_note(s->d, loc, "in %s.forward ('%s'), called from here", in->type_name, in->path);
        return sv_err();
    }
    if (!returned) {
        gc_error(s->d, fw->loc, "forward of %s does not return a value", in->type_name);
        return sv_err();
    }
    return ret;
}

static sv apply_stage(sema *s, scope *sc, sv stage, sv x, gc_loc loc)
{
    args a = { .n = 1 };
    a.vals[0] = x;
    a.locs[0] = loc;
    if (stage.k == SV_INST)
        return call_forward(s, stage.in, &a, loc);
    if (stage.k == SV_FUNC)
        return call_builtin(s, stage.s, &a, loc);
    gc_error(s->d, loc, "a Sequential stage must be a module or a function, found %s", sv_kind_name(stage.k));
    return sv_err();
}

static sv make_sequential(sema *s, args *a, gc_loc loc)
{
    inst *in = inst_new(s, NULL, "Sequential");
    if (!in)
        return sv_err();
    in->seq = gc_alloc(s->a, sizeof(sv) * (size_t)(a->n + 1));
    in->sc = scope_new(s, s->global);
    if (!in->seq || !in->sc)
        return sv_err();
    for (int i = 0; i < a->n; i++) {
        sv st = a->vals[i];
        if (a->names[i] || (st.k != SV_INST && st.k != SV_FUNC)) {
            gc_error(s->d, a->locs[i], "Sequential takes modules and functions (such as relu), found %s",
                     sv_kind_name(st.k));
            return sv_err();
        }
        if (st.k == SV_FUNC && op_find(st.s) < 0) {
            gc_error(s->d, a->locs[i], "unknown function '%s'", st.s);
            return sv_err();
        }
        in->seq[in->n_seq++] = st;
        const char *local = gc_sprintf(s->a, "%d", i);
        if (st.k == SV_INST) {
            if (!st.in->named)
                inst_add_kid(s, in, st.in, local);
            scope_bind(s, in->sc, local, st);
        }
    }
    in->mod = NULL;
    return (sv){ .k = SV_INST, .in = in };
}

static sv call_value(sema *s, scope *sc, sv callee, const ast_expr *call, gc_loc loc)
{
    args *a = gc_alloc(s->a, sizeof *a);
    if (!a || eval_args(s, sc, call, a))
        return sv_err();
    switch (callee.k) {
    case SV_MODDEF:
        return instantiate(s, callee.mod, a, loc);
    case SV_INST:
        return call_forward(s, callee.in, a, loc);
    case SV_FUNC:
        if (strcmp(callee.s, "Sequential") == 0)
            return make_sequential(s, a, loc);
        return call_builtin(s, callee.s, a, loc);
    default:
        gc_error(s->d, loc, "%s cannot be called", sv_kind_name(callee.k));
        return sv_err();
    }
}

/* ------------------------------------------------------- files, imports */

static int load_file_items(sema *s, int file, int is_main, const ast_item **graph_out, const char *graph_name);

static int already_imported(sema *s, const char *path)
{
    for (int i = 0; i < s->n_imported; i++)
        if (strcmp(s->d->files[s->imported[i]].path, path) == 0)
            return 1;
    return 0;
}

static int do_import(sema *s, const ast_item *it)
{
    const char *path = it->name;
    if (path[0] != '/')
        path = gc_sprintf(s->a, "%s%s", dir_of(s, it->loc.file), it->name);
    if (already_imported(s, path))
        return 0;
    if (s->n_imported > 256) {
        gc_error(s->d, it->loc, "too many imports");
        return -1;
    }
    int f = gc_source_load(s->d, path, it->loc);
    if (f < 0)
        return -1;
    if (gc_grow(s->a, (void **)&s->imported, &s->cap_imported, s->n_imported + 1, sizeof(int)))
        return -1;
    s->imported[s->n_imported++] = f;
    return load_file_items(s, f, 0, NULL, NULL);
}

static int load_file_items(sema *s, int file, int is_main, const ast_item **graph_out, const char *graph_name)
{
    int errs = s->d->n_errors;
    ast_file *af = gc_parse(s->d, file);
    if (!af || s->d->n_errors > errs)
        return -1;
    int rc = 0, n_graphs = 0;
    for (int i = 0; i < af->n_items; i++) {
        const ast_item *it = af->items[i];
        switch (it->kind) {
        case AI_IMPORT:
            if (do_import(s, it))
                rc = -1;
            break;
        case AI_MODULE: {
            binding *b = scope_find_local(s->global, it->name);
            if (b && b->val.k == SV_MODDEF && b->val.mod->loc.file == file) {
                gc_error(s->d, it->loc, "module '%s' is defined twice", it->name);
                rc = -1;
                break;
            }
            scope_bind(s, s->global, it->name, (sv){ .k = SV_MODDEF, .mod = it });
            break;
        }
        case AI_GRAPH:
            if (!is_main)
                break; /* graphs of imported files are not compiled */
            n_graphs++;
            if (graph_name ? strcmp(it->name, graph_name) == 0 : !*graph_out)
                *graph_out = it;
            break;
        }
    }
    if (is_main && graph_name && !*graph_out) {
        gc_error(s->d, GC_NOLOC, "no graph named '%s' in %s", graph_name, s->d->files[file].path);
        return -1;
    }
    if (is_main && !graph_name && n_graphs > 1) {
        gc_error(s->d, (*graph_out)->loc, "%s has %d graphs: choose one with --graph NAME", s->d->files[file].path,
                 n_graphs);
        return -1;
    }
    if (is_main && n_graphs == 0 && rc == 0) {
        gc_error(s->d, GC_NOLOC, "%s has no 'graph NAME { ... }' to compile", s->d->files[file].path);
        return -1;
    }
    return rc;
}

static int materialize_params(sema *s)
{
    int rc = 0;
    for (pending_param *p = s->pending; p; p = p->next) {
        gc_value *v = val(s, p->v);
        int64_t n = 1;
        for (int i = 0; i < v->type.rank; i++)
            n *= v->type.dims[i].coef;
        size_t nbytes = (size_t)n * op_dtype_size(v->type.dtype);
        v->data = gc_alloc(s->a, nbytes ? nbytes : 1);
        if (!v->data) {
            gc_error(s->d, p->loc, "out of memory for param '%s' (%zu bytes)", v->name, nbytes);
            return -1;
        }
        v->nbytes = nbytes;
        char err[600];
        if (gc_init_fill(&p->init, &v->type, v->name, v->data, err, sizeof err)) {
            gc_error(s->d, p->loc, "param '%s': %s", v->name, err);
            rc = -1;
        }
    }
    return rc;
}

gc_graph *gc_sema(gc_diag *d, gc_arena *a, int file, const gc_sema_opts *opts)
{
    sema s;
    memset(&s, 0, sizeof s);
    s.d = d;
    s.a = a;
    s.global = scope_new(&s, NULL);
    if (!s.global)
        return NULL;
    int errs0 = d->n_errors;
    if (!(opts && opts->no_prelude)) {
        int pf = gc_source_add(d, "<std>/nn.g", gc_stdlib_nn, (int)strlen(gc_stdlib_nn));
        if (pf < 0 || load_file_items(&s, pf, 0, NULL, NULL))
            return NULL;
    }
    const ast_item *gi = NULL;
    /* the graph needs the IR before its items run: create it first */
    s.g = gc_graph_new(a, "graph");
    if (!s.g)
        return NULL;
    if (load_file_items(&s, file, 1, &gi, opts ? opts->graph_name : NULL) || !gi)
        return NULL;
    s.g->name = gi->name;
    scope *gs = scope_new(&s, s.global);
    if (!gs)
        return NULL;
    gs->is_graph = 1;
    exec_body(&s, gs, gi->body, gi->n_body, NULL, NULL);
    if (d->n_errors == errs0 && s.g->n_outputs == 0)
        gc_error(d, gi->loc, "graph %s declares no output (add: output NAME, ...)", gi->name);
    if (d->n_errors > errs0)
        return NULL;
    if (s.has_train && gc_train_build(s.g, d, &s.train))
        return NULL;
    if (materialize_params(&s))
        return NULL;
    return s.g;
}
