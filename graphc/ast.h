/* graphc/ast.h -- the syntax tree the parser builds (in the compile arena).
 * The parser only builds this tree; names, modules, types and shapes are all
 * resolved later by sema. Every node carries the location of its first token
 * (for binary operators: of the operator).
 *
 * The language (docs/language.md has the full reference):
 *   file     := item*
 *   item     := 'import' STRING
 *             | 'graph' NAME '{' stmt* '}'
 *             | 'module' NAME '(' [mparam {',' mparam}] ')' '{' stmt* '}'
 *   mparam   := NAME ['=' expr]
 *   stmt     := 'input' NAME ':' type
 *             | 'param' NAME ':' type ['=' expr] ['frozen']
 *             | 'const' NAME [':' type] '=' expr
 *             | NAME {',' NAME} '=' expr          (several names: multi-output)
 *             | 'output' expr_or_name {',' ...}   (each a NAME, or NAME '=' expr)
 *             | 'return' expr {',' expr}
 *             | 'forward' '(' [NAME {',' NAME}] ')' '{' stmt* '}'
 *             | 'train' expr 'with' expr            (training, later issue)
 *   type     := NAME ['[' [expr {',' expr}] ']']     (f32[N, 1000]; f32 is a scalar)
 *   expr     := the usual precedence, lowest first:
 *               or / and / not (keywords) ; == != < <= > >= ; + - ; * / @ ;
 *               unary - ; ** (right assoc., binds tighter than unary minus
 *               on its left: -x**2 == -(x**2)) ; postfix: call f(a, k=v),
 *               index x[i, a:b, ::2, ...], member a.b
 *   atom     := NUMBER | STRING | NAME | 'true' | 'false' | '(' expr ')'
 *             | '[' [expr {',' expr}] [','] ']'    (list / tensor literal)
 * Statements end at a newline or ';'. Newlines inside () and [] are ignored.
 * '#' starts a comment to the end of the line. */
#ifndef GC_AST_H
#define GC_AST_H

#include <stdint.h>
#include "diag.h"

typedef enum ast_expr_kind {
    AE_INT,      /* ival */
    AE_FLOAT,    /* fval */
    AE_BOOL,     /* ival 0/1 */
    AE_STRING,   /* str (unescaped) */
    AE_NAME,     /* str */
    AE_LIST,     /* items */
    AE_BINARY,   /* op, lhs, rhs */
    AE_UNARY,    /* op ('-' or 'n' for not), lhs */
    AE_CALL,     /* callee (lhs), args (items with arg names in names) */
    AE_INDEX,    /* base (lhs), items: each an index expr or AE_SLICE or AE_ELLIPSIS */
    AE_SLICE,    /* start, stop, step (each may be NULL) */
    AE_ELLIPSIS, /* ... inside an index */
    AE_MEMBER,   /* lhs . str */
} ast_expr_kind;

/* Binary operator codes for AE_BINARY. */
enum {
    AB_ADD = '+', AB_SUB = '-', AB_MUL = '*', AB_DIV = '/', AB_MATMUL = '@',
    AB_POW = 'P', AB_EQ = 'E', AB_NE = 'N', AB_LT = '<', AB_LE = 'L',
    AB_GT = '>', AB_GE = 'G', AB_AND = '&', AB_OR = '|',
};

typedef struct ast_expr ast_expr;
struct ast_expr {
    ast_expr_kind kind;
    gc_loc loc;
    int op;
    int64_t ival;
    double fval;
    const char *str;
    ast_expr *lhs, *rhs;
    ast_expr *start, *stop, *step;
    int n_items;
    ast_expr **items;
    const char **names; /* AE_CALL: names[i] is the keyword of arg i or NULL */
};

typedef struct ast_type {
    gc_loc loc;
    const char *dtype;  /* as written: "f32" (checked by sema) */
    int n_dims;         /* -1: no brackets (a scalar) */
    ast_expr **dims;
} ast_type;

typedef enum ast_stmt_kind {
    AS_INPUT,   /* name, type */
    AS_PARAM,   /* name, type, value (initializer, may be NULL = zeros), frozen */
    AS_CONST,   /* name, type (may be NULL), value */
    AS_ASSIGN,  /* names[n_names], value */
    AS_OUTPUT,  /* names[n_names]; values[i] is NULL or the expr of "name = expr" */
    AS_RETURN,  /* values[n_values] */
    AS_FORWARD, /* names = parameters, body */
    AS_TRAIN,   /* value = loss expr, rhs = optimizer call */
} ast_stmt_kind;

typedef struct ast_stmt ast_stmt;
struct ast_stmt {
    ast_stmt_kind kind;
    gc_loc loc;
    const char *name;
    ast_type *type;
    ast_expr *value;
    ast_expr *rhs;
    int frozen;
    int n_names;
    const char **names;
    gc_loc *name_locs;
    int n_values;
    ast_expr **values;
    int n_body;
    ast_stmt **body;
};

typedef enum ast_item_kind { AI_IMPORT, AI_GRAPH, AI_MODULE } ast_item_kind;

typedef struct ast_item {
    ast_item_kind kind;
    gc_loc loc;
    const char *name;       /* graph/module name, or the import path */
    int n_params;           /* module parameters */
    const char **params;
    ast_expr **defaults;    /* defaults[i] or NULL */
    gc_loc *param_locs;
    int n_body;
    ast_stmt **body;
} ast_item;

typedef struct ast_file {
    int file;               /* source index */
    int n_items;
    ast_item **items;
} ast_file;

/* graphc/parse.c: parses source file `file` of d's table. Syntax errors are
 * reported to d (several per file; the parser recovers at the next
 * statement). Returns the tree (possibly partial) or NULL when the file could
 * not be parsed at all; check d->n_errors. Never crashes or hangs. */
ast_file *gc_parse(gc_diag *d, int file);

/* graphc/ast.c: prints the tree as S-expressions (tests, --emit ast). */
void ast_file_print(FILE *out, const ast_file *f);

#endif
