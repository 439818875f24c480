/* graphc/ast.c -- constructors of syntax tree nodes (in the compile arena)
 * and ast_file_print, the deterministic S-expression dump of a whole tree
 * used by the golden tests and `graphc compile --emit ast`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "parser.h"

ast_stmt *ast_stmt_new(gc_arena *a, ast_stmt_kind kind, gc_loc loc)
{
    ast_stmt *s = gc_alloc(a, sizeof *s);
    if (s) {
        s->kind = kind;
        s->loc = loc;
    }
    return s;
}

ast_item *ast_item_new(gc_arena *a, ast_item_kind kind, gc_loc loc)
{
    ast_item *it = gc_alloc(a, sizeof *it);
    if (it) {
        it->kind = kind;
        it->loc = loc;
    }
    return it;
}

ast_type *ast_type_new(gc_arena *a, gc_loc loc)
{
    ast_type *t = gc_alloc(a, sizeof *t);
    if (t) {
        t->loc = loc;
        t->n_dims = -1;
    }
    return t;
}

/* ---- printing ---- */

static void print_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", o);
        else if (*p == '\t')
            fputs("\\t", o);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(o, "\\x%02X", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

/* The shortest form that reads back as the same double: integral values
 * below 1e16 as "1500.0", others in %g style with a plain exponent
 * ("1e-5", "2.5e300"); always with a '.' or an exponent. */
static void print_float(FILE *o, double v)
{
    if (isnan(v)) {
        fputs("nan", o);
        return;
    }
    if (isinf(v)) {
        fputs(v < 0 ? "-inf" : "inf", o);
        return;
    }
    char buf[48];
    if (v == floor(v) && fabs(v) < 1e16) {
        snprintf(buf, sizeof buf, "%.1f", v);
        fputs(buf, o);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    char *e = strchr(buf, 'e');
    if (e) { /* e+05 -> e5, e-05 -> e-5 */
        char *d = e + 1, *src = e + 1;
        if (*src == '+')
            src++;
        else if (*src == '-')
            *d++ = *src++;
        while (*src == '0' && src[1])
            src++;
        memmove(d, src, strlen(src) + 1);
    } else if (!strchr(buf, '.')) {
        strcat(buf, ".0");
    }
    fputs(buf, o);
}

static const char *binop_name(int op)
{
    switch (op) {
    case AB_ADD: return "+";
    case AB_SUB: return "-";
    case AB_MUL: return "*";
    case AB_DIV: return "/";
    case AB_MATMUL: return "@";
    case AB_POW: return "**";
    case AB_EQ: return "==";
    case AB_NE: return "!=";
    case AB_LT: return "<";
    case AB_LE: return "<=";
    case AB_GT: return ">";
    case AB_GE: return ">=";
    case AB_AND: return "and";
    case AB_OR: return "or";
    default: return "?";
    }
}

static void print_name(FILE *o, const char *s) { fputs(s ? s : "_", o); }

static void print_expr(FILE *o, const ast_expr *e)
{
    if (!e) {
        fputc('_', o);
        return;
    }
    switch (e->kind) {
    case AE_INT: fprintf(o, "%lld", (long long)e->ival); return;
    case AE_FLOAT: print_float(o, e->fval); return;
    case AE_BOOL: fputs(e->ival ? "true" : "false", o); return;
    case AE_STRING: print_str(o, e->str); return;
    case AE_NAME: print_name(o, e->str); return;
    case AE_ELLIPSIS: fputs("...", o); return;
    case AE_LIST: fputs("(list", o); break;
    case AE_BINARY:
        fprintf(o, "(%s ", binop_name(e->op));
        print_expr(o, e->lhs);
        fputc(' ', o);
        print_expr(o, e->rhs);
        fputc(')', o);
        return;
    case AE_UNARY:
        fputs(e->op == 'n' ? "(not " : "(neg ", o);
        print_expr(o, e->lhs);
        fputc(')', o);
        return;
    case AE_CALL:
        fputs("(call ", o);
        print_expr(o, e->lhs);
        break;
    case AE_INDEX:
        fputs("(index ", o);
        print_expr(o, e->lhs);
        break;
    case AE_SLICE:
        fputs("(slice ", o);
        print_expr(o, e->start);
        fputc(' ', o);
        print_expr(o, e->stop);
        fputc(' ', o);
        print_expr(o, e->step);
        fputc(')', o);
        return;
    case AE_MEMBER:
        fputs("(. ", o);
        print_expr(o, e->lhs);
        fputc(' ', o);
        print_name(o, e->str);
        fputc(')', o);
        return;
    default:
        fprintf(o, "(?kind%d)", (int)e->kind);
        return;
    }
    /* AE_LIST, AE_CALL, AE_INDEX: the items. */
    for (int i = 0; i < e->n_items; i++) {
        fputc(' ', o);
        const char *kw = e->kind == AE_CALL && e->names ? e->names[i] : NULL;
        if (kw) {
            fprintf(o, "(kw %s ", kw);
            print_expr(o, e->items ? e->items[i] : NULL);
            fputc(')', o);
        } else {
            print_expr(o, e->items ? e->items[i] : NULL);
        }
    }
    fputc(')', o);
}

static void print_type(FILE *o, const ast_type *t)
{
    if (!t) {
        fputc('_', o);
        return;
    }
    if (t->n_dims < 0) {
        print_name(o, t->dtype);
        return;
    }
    fputc('(', o);
    print_name(o, t->dtype);
    for (int i = 0; i < t->n_dims; i++) {
        fputc(' ', o);
        print_expr(o, t->dims ? t->dims[i] : NULL);
    }
    fputc(')', o);
}

static void print_body(FILE *o, int n, ast_stmt *const *body, int indent);

static void print_stmt(FILE *o, const ast_stmt *s, int indent)
{
    fprintf(o, "\n%*s", indent, "");
    if (!s) {
        fputc('_', o);
        return;
    }
    switch (s->kind) {
    case AS_INPUT:
        fputs("(input ", o);
        print_name(o, s->name);
        fputc(' ', o);
        print_type(o, s->type);
        break;
    case AS_PARAM:
        fputs("(param ", o);
        print_name(o, s->name);
        fputc(' ', o);
        print_type(o, s->type);
        fputc(' ', o);
        print_expr(o, s->value);
        if (s->frozen)
            fputs(" frozen", o);
        break;
    case AS_CONST:
        fputs("(const ", o);
        print_name(o, s->name);
        fputc(' ', o);
        print_type(o, s->type);
        fputc(' ', o);
        print_expr(o, s->value);
        break;
    case AS_ASSIGN:
        fputs("(assign ", o);
        if (s->n_names == 1) {
            print_name(o, s->names[0]);
        } else {
            fputc('(', o);
            for (int i = 0; i < s->n_names; i++) {
                if (i)
                    fputc(' ', o);
                print_name(o, s->names[i]);
            }
            fputc(')', o);
        }
        fputc(' ', o);
        print_expr(o, s->value);
        break;
    case AS_OUTPUT:
        fputs("(output", o);
        for (int i = 0; i < s->n_names; i++) {
            const ast_expr *v = s->values && i < s->n_values ? s->values[i] : NULL;
            fputc(' ', o);
            if (v) {
                fputs("(= ", o);
                print_name(o, s->names[i]);
                fputc(' ', o);
                print_expr(o, v);
                fputc(')', o);
            } else {
                print_name(o, s->names[i]);
            }
        }
        break;
    case AS_RETURN:
        fputs("(return", o);
        for (int i = 0; i < s->n_values; i++) {
            fputc(' ', o);
            print_expr(o, s->values[i]);
        }
        break;
    case AS_FORWARD:
        fputs("(forward (", o);
        for (int i = 0; i < s->n_names; i++) {
            if (i)
                fputc(' ', o);
            print_name(o, s->names[i]);
        }
        fputc(')', o);
        print_body(o, s->n_body, s->body, indent + 2);
        break;
    case AS_TRAIN:
        fputs("(train ", o);
        print_expr(o, s->value);
        fputc(' ', o);
        print_expr(o, s->rhs);
        break;
    default:
        fprintf(o, "(?stmt%d", (int)s->kind);
        break;
    }
    fputc(')', o);
}

static void print_body(FILE *o, int n, ast_stmt *const *body, int indent)
{
    for (int i = 0; i < n; i++)
        print_stmt(o, body ? body[i] : NULL, indent);
}

static void print_item(FILE *o, const ast_item *it)
{
    fputs("\n  ", o);
    if (!it) {
        fputc('_', o);
        return;
    }
    switch (it->kind) {
    case AI_IMPORT:
        fputs("(import ", o);
        print_str(o, it->name);
        break;
    case AI_GRAPH:
        fputs("(graph ", o);
        print_name(o, it->name);
        break;
    case AI_MODULE:
        fputs("(module ", o);
        print_name(o, it->name);
        fputs(" (", o);
        for (int i = 0; i < it->n_params; i++) {
            const ast_expr *def = it->defaults ? it->defaults[i] : NULL;
            if (i)
                fputc(' ', o);
            if (def) {
                fputs("(= ", o);
                print_name(o, it->params[i]);
                fputc(' ', o);
                print_expr(o, def);
                fputc(')', o);
            } else {
                print_name(o, it->params[i]);
            }
        }
        fputc(')', o);
        break;
    default:
        fprintf(o, "(?item%d", (int)it->kind);
        break;
    }
    print_body(o, it->n_body, it->body, 4);
    fputc(')', o);
}

void ast_file_print(FILE *out, const ast_file *f)
{
    if (!f) {
        fputs("(file)\n", out);
        return;
    }
    fputs("(file", out);
    for (int i = 0; i < f->n_items; i++)
        print_item(out, f->items ? f->items[i] : NULL);
    fputs(")\n", out);
}
