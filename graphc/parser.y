/* graphc/parser.y -- the grammar of the model language (see the comment of
 * ast.h). Pure Bison parser over the reentrant scanner of lexer.l; it only
 * builds the AST in the compile arena. Syntax errors say what was expected
 * and what was found; the parser recovers at the next statement (newline,
 * ';' or '}') so that one run reports several errors. */

%code requires {
#include <setjmp.h>
#include <stdint.h>

#include "ast.h"

/* Limits: () and [] nesting, {} nesting, and the depth of one expression
 * tree. Beyond them the input is rejected with an error (never a crash). */
#define GC_PARSE_MAX_NEST 200
#define GC_PARSE_MAX_DEPTH 200

/* Internal to the parser (parser.y, lexer.l, parse.c, ast.c). */

/* A growable array of pointers in the arena; NULL is the empty array. */
typedef struct gc_pvec {
    void **v;
    int n, cap;
} gc_pvec;

/* A name with an optional expression: an element of a name list, a call
 * argument (name NULL: positional), a module parameter, an output. */
typedef struct gc_named {
    const char *name;
    gc_loc loc;
    ast_expr *value;
} gc_named;

/* The state shared by the scanner and the parser of one file. */
typedef struct gc_pstate {
    gc_diag *d;
    gc_arena *a;
    int file;
    int len;             /* bytes of source */
    int off;             /* offset of the next byte to scan */
    int nest;            /* () and [] depth: newlines are ignored inside */
    int braces;          /* {} depth */
    int stray;           /* a stray character was reported; more are quiet */
    int unary;           /* '-' and 'not' tokens in a row */
    int tok_off, tok_len; /* the last token scanned (the lookahead) */
    jmp_buf *fatal;      /* where a scanner failure (out of memory) jumps */
    gc_pvec *items;      /* the items parsed so far */
} gc_pstate;

/* parse.c */
gc_pvec *gc_pvec_push(gc_pstate *P, gc_pvec *v, void *x);
/* Copies v's elements to a fresh arena array; *n gets the count. */
void **gc_pvec_array(gc_pstate *P, const gc_pvec *v, int *n);

/* ast.c: zeroed nodes in the arena; NULL when out of memory. (Expression
 * nodes are made by the parser itself, which records their depth.) */
ast_stmt *ast_stmt_new(gc_arena *a, ast_stmt_kind kind, gc_loc loc);
ast_item *ast_item_new(gc_arena *a, ast_item_kind kind, gc_loc loc);
ast_type *ast_type_new(gc_arena *a, gc_loc loc);
}

%code provides {
int yylex(YYSTYPE *lvalp, YYLTYPE *llocp, void *scanner);
int yyparse(void *scanner, gc_pstate *P);
}

%code {
#include <string.h>

#define YYLLOC_DEFAULT(Cur, Rhs, N)                     \
    do {                                                \
        if (N)                                          \
            (Cur) = YYRHSLOC(Rhs, 1);                   \
        else                                            \
            (Cur) = YYRHSLOC(Rhs, 0);                   \
    } while (0)

static void yyerror(YYLTYPE *loc, void *scanner, gc_pstate *P, const char *msg);
static gc_named *named(gc_pstate *P, const char *name, gc_loc loc, ast_expr *value);
/* An expression node and its depth (leaves: 1). The parser stops a
 * statement whose expression gets deeper than GC_PARSE_MAX_DEPTH at once,
 * before it builds more of it; later passes may recurse on the tree. */
typedef struct gc_pexpr {
    ast_expr e;
    int depth;
} gc_pexpr;

static int depth(const ast_expr *e)
{
    return e ? ((const gc_pexpr *)(const void *)e)->depth : 0;
}

static int max2(int a, int b) { return a > b ? a : b; }

/* In an action: rejects the statement when its expression e is too deep. */
#define CHECK_DEPTH(e)                                                              \
    do {                                                                            \
        if (depth(e) > GC_PARSE_MAX_DEPTH) {                                        \
            gc_error(P->d, (e)->loc, "expression nested too deeply (the limit is %d levels)", \
                     GC_PARSE_MAX_DEPTH);                                           \
            YYERROR;                                                                \
        }                                                                           \
    } while (0)

static ast_expr *enode(gc_pstate *P, ast_expr_kind kind, gc_loc loc, int depth);
static ast_expr *leaf(gc_pstate *P, ast_expr_kind kind, gc_loc loc);
static ast_expr *binary(gc_pstate *P, int op, gc_loc loc, ast_expr *l, ast_expr *r);
static ast_expr *unary(gc_pstate *P, int op, gc_loc loc, ast_expr *x);
static ast_expr *with_items(gc_pstate *P, ast_expr_kind kind, gc_loc loc, ast_expr *lhs, gc_pvec *items);
static ast_expr *call(gc_pstate *P, ast_expr *callee, gc_pvec *args);
static ast_expr *slice(gc_pstate *P, gc_loc loc, ast_expr *a, ast_expr *b, ast_expr *c);
static gc_pvec *push_arg(gc_pstate *P, gc_pvec *args, gc_named *arg);
static ast_type *type(gc_pstate *P, const char *dtype, gc_loc loc, gc_pvec *dims, int n_dims);
static ast_stmt *stmt_new(gc_pstate *P, ast_stmt_kind kind, gc_loc loc);
static void stmt_names(gc_pstate *P, ast_stmt *s, gc_pvec *names);
static void stmt_outputs(gc_pstate *P, ast_stmt *s, gc_pvec *outs);
static ast_item *item_new(gc_pstate *P, ast_item_kind kind, gc_loc loc, const char *name, gc_pvec *body);
static void item_params(gc_pstate *P, ast_item *it, gc_pvec *params);
}

%define api.pure full
%define api.location.type {gc_loc}
%define parse.error custom
%define parse.lac full
%locations
%param {void *scanner}
%parse-param {gc_pstate *P}

%initial-action {
    @$.file = P->file;
    @$.off = 0;
}

%union {
    int64_t ival;
    double fval;
    const char *str;
    ast_expr *expr;
    ast_stmt *stmt;
    ast_item *item;
    ast_type *type;
    gc_pvec *vec;
    gc_named *named;
}

%token <str>  NAME     "name"
%token <ival> INT      "integer"
%token <fval> FLOAT    "float"
%token <str>  STRING   "string"
%token IMPORT   "'import'"
%token GRAPH    "'graph'"
%token MODULE   "'module'"
%token INPUT    "'input'"
%token PARAM    "'param'"
%token CONST    "'const'"
%token OUTPUT   "'output'"
%token RETURN   "'return'"
%token FORWARD  "'forward'"
%token TRAIN    "'train'"
%token WITH     "'with'"
%token FROZEN   "'frozen'"
%token TRUE     "'true'"
%token FALSE    "'false'"
%token AND      "'and'"
%token OR       "'or'"
%token NOT      "'not'"
%token POW      "'**'"
%token EQ       "'=='"
%token NE       "'!='"
%token LE       "'<='"
%token GE       "'>='"
%token ELLIPSIS "'...'"
%token NEWLINE  "end of line"
%token LEXERROR "invalid token"

%left OR
%left AND
%precedence NOT
%nonassoc EQ NE '<' LE '>' GE
%left '+' '-'
%left '*' '/' '@'
%precedence UMINUS
%right POW

%type <item> item
%type <vec> body stmts names outs exprs fparams mparams mplist list args arglist idxs
%type <stmt> stmt
%type <expr> expr postfix atom init idx slice_part
%type <type> type
%type <named> out mparam arg
%type <ival> frozen

%%

file:
      %empty
    | file sep
    | file item             { if ($2) P->items = gc_pvec_push(P, P->items, $2); }
    | file error sep        { yyerrok; }
    ;

sep: NEWLINE | ';' ;

item:
      IMPORT STRING         { $$ = item_new(P, AI_IMPORT, @1, $2, NULL); }
    | GRAPH NAME body       { $$ = item_new(P, AI_GRAPH, @1, $2, $3); }
    | GRAPH error body      { $$ = NULL; }
    | MODULE NAME '(' mparams ')' body
                            { $$ = item_new(P, AI_MODULE, @1, $2, $6); item_params(P, $$, $4); }
    | MODULE error body     { $$ = NULL; }
    ;

mparams:
      %empty                { $$ = NULL; }
    | mplist
    | mplist ','
    ;

mplist:
      mparam                { $$ = gc_pvec_push(P, NULL, $1); }
    | mplist ',' mparam     { $$ = gc_pvec_push(P, $1, $3); }
    ;

mparam:
      NAME                  { $$ = named(P, $1, @1, NULL); }
    | NAME '=' expr         { $$ = named(P, $1, @1, $3); }
    ;

body:
      '{' stmts '}'         { $$ = $2; }
    | '{' stmts stmt '}'    { $$ = $3 ? gc_pvec_push(P, $2, $3) : $2; }
    | '{' stmts error '}'   { $$ = $2; yyerrok; }
    ;

stmts:
      %empty                { $$ = NULL; }
    | stmts sep
    | stmts stmt sep        { $$ = $2 ? gc_pvec_push(P, $1, $2) : $1; }
    | stmts error sep       { $$ = $1; yyerrok; }
    ;

stmt:
      INPUT NAME ':' type   {
                                $$ = stmt_new(P, AS_INPUT, @1);
                                if ($$) { $$->name = $2; $$->type = $4; }
                            }
    | PARAM NAME ':' type init frozen {
                                $$ = stmt_new(P, AS_PARAM, @1);
                                if ($$) { $$->name = $2; $$->type = $4; $$->value = $5; $$->frozen = (int)$6; }
                            }
    | CONST NAME ':' type '=' expr {
                                $$ = stmt_new(P, AS_CONST, @1);
                                if ($$) { $$->name = $2; $$->type = $4; $$->value = $6; }
                            }
    | CONST NAME '=' expr   {
                                $$ = stmt_new(P, AS_CONST, @1);
                                if ($$) { $$->name = $2; $$->value = $4; }
                            }
    | names '=' expr        {
                                $$ = stmt_new(P, AS_ASSIGN, @1);
                                if ($$) { stmt_names(P, $$, $1); $$->value = $3; }
                            }
    | OUTPUT outs           {
                                $$ = stmt_new(P, AS_OUTPUT, @1);
                                stmt_outputs(P, $$, $2);
                            }
    | RETURN exprs          {
                                $$ = stmt_new(P, AS_RETURN, @1);
                                if ($$) $$->values = (ast_expr **)gc_pvec_array(P, $2, &$$->n_values);
                            }
    | FORWARD '(' fparams ')' body {
                                $$ = stmt_new(P, AS_FORWARD, @1);
                                if ($$) {
                                    stmt_names(P, $$, $3);
                                    $$->body = (ast_stmt **)gc_pvec_array(P, $5, &$$->n_body);
                                }
                            }
    | FORWARD error body    { $$ = NULL; }
    | TRAIN expr WITH expr  {
                                $$ = stmt_new(P, AS_TRAIN, @1);
                                if ($$) { $$->value = $2; $$->rhs = $4; }
                            }
    ;

init:
      %empty                { $$ = NULL; }
    | '=' expr              { $$ = $2; }
    ;

frozen:
      %empty                { $$ = 0; }
    | FROZEN                { $$ = 1; }
    ;

names:
      NAME                  { $$ = gc_pvec_push(P, NULL, named(P, $1, @1, NULL)); }
    | names ',' NAME        { $$ = gc_pvec_push(P, $1, named(P, $3, @3, NULL)); }
    ;

fparams:
      %empty                { $$ = NULL; }
    | names
    ;

outs:
      out                   { $$ = gc_pvec_push(P, NULL, $1); }
    | outs ',' out          { $$ = gc_pvec_push(P, $1, $3); }
    ;

out:
      NAME                  { $$ = named(P, $1, @1, NULL); }
    | NAME '=' expr         { $$ = named(P, $1, @1, $3); }
    ;

exprs:
      expr                  { $$ = gc_pvec_push(P, NULL, $1); }
    | exprs ',' expr        { $$ = gc_pvec_push(P, $1, $3); }
    ;

type:
      NAME                  { $$ = type(P, $1, @1, NULL, -1); }
    | NAME '[' ']'          { $$ = type(P, $1, @1, NULL, 0); }
    | NAME '[' exprs ']'    { $$ = type(P, $1, @1, $3, 0); }
    ;

expr:
      expr OR expr          { $$ = binary(P, AB_OR, @2, $1, $3); CHECK_DEPTH($$); }
    | expr AND expr         { $$ = binary(P, AB_AND, @2, $1, $3); CHECK_DEPTH($$); }
    | NOT expr              { $$ = unary(P, 'n', @1, $2); CHECK_DEPTH($$); }
    | expr EQ expr          { $$ = binary(P, AB_EQ, @2, $1, $3); CHECK_DEPTH($$); }
    | expr NE expr          { $$ = binary(P, AB_NE, @2, $1, $3); CHECK_DEPTH($$); }
    | expr '<' expr         { $$ = binary(P, AB_LT, @2, $1, $3); CHECK_DEPTH($$); }
    | expr LE expr          { $$ = binary(P, AB_LE, @2, $1, $3); CHECK_DEPTH($$); }
    | expr '>' expr         { $$ = binary(P, AB_GT, @2, $1, $3); CHECK_DEPTH($$); }
    | expr GE expr          { $$ = binary(P, AB_GE, @2, $1, $3); CHECK_DEPTH($$); }
    | expr '+' expr         { $$ = binary(P, AB_ADD, @2, $1, $3); CHECK_DEPTH($$); }
    | expr '-' expr         { $$ = binary(P, AB_SUB, @2, $1, $3); CHECK_DEPTH($$); }
    | expr '*' expr         { $$ = binary(P, AB_MUL, @2, $1, $3); CHECK_DEPTH($$); }
    | expr '/' expr         { $$ = binary(P, AB_DIV, @2, $1, $3); CHECK_DEPTH($$); }
    | expr '@' expr         { $$ = binary(P, AB_MATMUL, @2, $1, $3); CHECK_DEPTH($$); }
    | '-' expr %prec UMINUS { $$ = unary(P, '-', @1, $2); CHECK_DEPTH($$); }
    | expr POW expr         { $$ = binary(P, AB_POW, @2, $1, $3); CHECK_DEPTH($$); }
    | postfix
    ;

postfix:
      atom
    | postfix '(' args ')'  { $$ = call(P, $1, $3); CHECK_DEPTH($$); }
    | postfix '[' idxs ']'  { $$ = with_items(P, AE_INDEX, $1 ? $1->loc : @2, $1, $3); CHECK_DEPTH($$); }
    | postfix '.' NAME      {
                                $$ = enode(P, AE_MEMBER, $1 ? $1->loc : @2, depth($1) + 1);
                                if ($$) { $$->lhs = $1; $$->str = $3; }
                                CHECK_DEPTH($$);
                            }
    ;

atom:
      INT                   { $$ = leaf(P, AE_INT, @1); if ($$) $$->ival = $1; }
    | FLOAT                 { $$ = leaf(P, AE_FLOAT, @1); if ($$) $$->fval = $1; }
    | STRING                { $$ = leaf(P, AE_STRING, @1); if ($$) $$->str = $1; }
    | NAME                  { $$ = leaf(P, AE_NAME, @1); if ($$) $$->str = $1; }
    | TRUE                  { $$ = leaf(P, AE_BOOL, @1); if ($$) $$->ival = 1; }
    | FALSE                 { $$ = leaf(P, AE_BOOL, @1); if ($$) $$->ival = 0; }
    | '(' expr ')'          { $$ = $2; }
    | '[' list ']'          { $$ = with_items(P, AE_LIST, @1, NULL, $2); CHECK_DEPTH($$); }
    ;

list:
      %empty                { $$ = NULL; }
    | exprs
    | exprs ','
    ;

args:
      %empty                { $$ = NULL; }
    | arglist
    | arglist ','
    ;

arglist:
      arg                   { $$ = push_arg(P, NULL, $1); }
    | arglist ',' arg       { $$ = push_arg(P, $1, $3); }
    ;

arg:
      expr                  { $$ = named(P, NULL, $1 ? $1->loc : @1, $1); }
    | NAME '=' expr         { $$ = named(P, $1, @1, $3); }
    ;

idxs:
      idx                   { $$ = gc_pvec_push(P, NULL, $1); }
    | idxs ',' idx          { $$ = gc_pvec_push(P, $1, $3); }
    ;

idx:
      expr
    | ELLIPSIS              { $$ = leaf(P, AE_ELLIPSIS, @1); }
    | slice_part ':' slice_part
                            { $$ = slice(P, $1 ? $1->loc : @2, $1, $3, NULL); CHECK_DEPTH($$); }
    | slice_part ':' slice_part ':' slice_part
                            { $$ = slice(P, $1 ? $1->loc : @2, $1, $3, $5); CHECK_DEPTH($$); }
    ;

slice_part:
      %empty                { $$ = NULL; }
    | expr
    ;

%%

/* ---- syntax error messages ---- */

#define SYM(c) ((yysymbol_kind_t)YYTRANSLATE(c))

/* How a token is named in "expected ..." lists. */
static const char *tok_name(yysymbol_kind_t k)
{
    if (k == YYSYMBOL_INT || k == YYSYMBOL_FLOAT)
        return "number";
    return yysymbol_name(k);
}

/* Writes what the lookahead is ("name 'x'", "end of line", ...) to buf. */
static void found_name(const gc_pstate *P, yysymbol_kind_t k, char *buf, size_t size)
{
    const gc_source *src = &P->d->files[P->file];
    int off = P->tok_off, len = P->tok_len;
    if (off < 0 || off > src->len || len < 0 || len > src->len - off)
        len = 0;
    const char *what = NULL;
    if (k == YYSYMBOL_NAME)
        what = "name";
    else if (k == YYSYMBOL_INT || k == YYSYMBOL_FLOAT)
        what = "number";
    else if (k >= YYSYMBOL_IMPORT && k <= YYSYMBOL_NOT)
        what = "keyword";
    if (!what || len == 0)
        snprintf(buf, size, "%s", yysymbol_name(k));
    else if (len > 32)
        snprintf(buf, size, "%s '%.32s...'", what, src->text + off);
    else
        snprintf(buf, size, "%s '%.*s'", what, len, src->text + off);
}

static void clear(int *has, const yysymbol_kind_t *list, int n)
{
    for (int i = 0; i < n; i++)
        has[list[i]] = 0;
}

/* "expected ')' or ',' but found end of line". The sets that list every
 * token able to start a statement or an expression are summarized, and the
 * operators that could continue an expression are left out. */
static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, gc_pstate *P)
{
    (void)scanner;
    yysymbol_kind_t found = yypcontext_token(ctx);
    gc_loc loc = *yypcontext_location(ctx);
    /* An unclosed '(' must not make the rest of the file one line: from
     * here on newlines end statements again, so recovery finds the next. */
    P->nest = 0;
    if (found == YYSYMBOL_LEXERROR)
        return 0; /* the scanner has said why */
    if (P->d->n_errors >= P->d->max_errors) {
        gc_error(P->d, loc, "syntax error"); /* past the limit: only counted */
        return 0;
    }
    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    int has[YYNTOKENS];
    memset(has, 0, sizeof has);
    for (int i = 0; i < n; i++)
        if (exp[i] >= 0 && exp[i] < YYNTOKENS)
            has[exp[i]] = 1;

    char what[96];
    found_name(P, found, what, sizeof what);
    int cmp = found == YYSYMBOL_EQ || found == YYSYMBOL_NE || found == YYSYMBOL_LE
              || found == YYSYMBOL_GE || found == SYM('<') || found == SYM('>');
    if (cmp && has[SYM('+')]) { /* a < b < c: the comparisons are non-associative */
        gc_error(P->d, loc, "comparisons cannot be chained: found %s after a comparison", what);
        return 0;
    }

    const char *lead = NULL;
    if (has[YYSYMBOL_INPUT]) {
        static const yysymbol_kind_t st[] = {
            YYSYMBOL_INPUT, YYSYMBOL_PARAM, YYSYMBOL_CONST, YYSYMBOL_OUTPUT, YYSYMBOL_RETURN,
            YYSYMBOL_FORWARD, YYSYMBOL_TRAIN, YYSYMBOL_NAME, YYSYMBOL_NEWLINE,
        };
        clear(has, st, (int)(sizeof st / sizeof st[0]));
        has[SYM(';')] = 0;
        lead = "a statement";
    }
    if (has[YYSYMBOL_IMPORT]) /* between items, blank lines are always fine */
        has[YYSYMBOL_NEWLINE] = has[SYM(';')] = has[YYSYMBOL_YYEOF] = 0;
    if (has[YYSYMBOL_INT]) {
        static const yysymbol_kind_t ex[] = {
            YYSYMBOL_NAME, YYSYMBOL_INT, YYSYMBOL_FLOAT, YYSYMBOL_STRING, YYSYMBOL_TRUE,
            YYSYMBOL_FALSE, YYSYMBOL_NOT,
        };
        clear(has, ex, (int)(sizeof ex / sizeof ex[0]));
        has[SYM('(')] = has[SYM('[')] = has[SYM('-')] = 0;
        lead = "an expression";
    }
    if (has[SYM('+')]) {
        static const yysymbol_kind_t op[] = {
            YYSYMBOL_OR, YYSYMBOL_AND, YYSYMBOL_POW, YYSYMBOL_EQ, YYSYMBOL_NE, YYSYMBOL_LE,
            YYSYMBOL_GE,
        };
        clear(has, op, (int)(sizeof op / sizeof op[0]));
        static const char ch[] = "<>+-*/@([.=";
        for (const char *c = ch; *c; c++)
            has[SYM((unsigned char)*c)] = 0;
    }
    if (has[YYSYMBOL_NEWLINE]) {
        has[SYM(';')] = 0;
        if (found != YYSYMBOL_YYEOF)
            has[SYM('}')] = 0;
    }

    const char *names[YYNTOKENS + 1];
    int k = 0;
    if (lead)
        names[k++] = lead;
    for (int s = 0; s < YYNTOKENS; s++)
        if (has[s] && s != YYSYMBOL_YYerror && s != YYSYMBOL_YYUNDEF && s != YYSYMBOL_LEXERROR)
            names[k++] = tok_name((yysymbol_kind_t)s);

    char list[256];
    if (k == 0 || k > 5) {
        gc_error(P->d, loc, "unexpected %s", what);
        return 0;
    }
    size_t len = 0;
    list[0] = 0;
    for (int i = 0; i < k; i++) {
        const char *joint = i == 0 ? "" : i == k - 1 ? " or " : ", ";
        int w = snprintf(list + len, sizeof list - len, "%s%s", joint, names[i]);
        if (w < 0 || (size_t)w >= sizeof list - len)
            break;
        len += (size_t)w;
    }
    gc_error(P->d, loc, "expected %s but found %s", list, what);
    return 0;
}

static void yyerror(YYLTYPE *loc, void *scanner, gc_pstate *P, const char *msg)
{
    (void)scanner;
    if (strcmp(msg, "memory exhausted") == 0)
        gc_error(P->d, *loc, "input nested too deeply (the parser's stack is exhausted)");
    else
        gc_error(P->d, *loc, "%s", msg);
}

/* ---- building the tree (every helper accepts NULL from a failed allocation) ---- */

static gc_named *named(gc_pstate *P, const char *name, gc_loc loc, ast_expr *value)
{
    gc_named *n = gc_alloc(P->a, sizeof *n);
    if (n) {
        n->name = name;
        n->loc = loc;
        n->value = value;
    }
    return n;
}

static ast_expr *enode(gc_pstate *P, ast_expr_kind kind, gc_loc loc, int d)
{
    gc_pexpr *p = gc_alloc(P->a, sizeof *p);
    if (!p)
        return NULL;
    p->e.kind = kind;
    p->e.loc = loc;
    p->depth = d;
    return &p->e;
}

static ast_expr *leaf(gc_pstate *P, ast_expr_kind kind, gc_loc loc)
{
    return enode(P, kind, loc, 1);
}

static ast_expr *binary(gc_pstate *P, int op, gc_loc loc, ast_expr *l, ast_expr *r)
{
    ast_expr *e = enode(P, AE_BINARY, loc, 1 + max2(depth(l), depth(r)));
    if (e) {
        e->op = op;
        e->lhs = l;
        e->rhs = r;
    }
    return e;
}

static ast_expr *unary(gc_pstate *P, int op, gc_loc loc, ast_expr *x)
{
    ast_expr *e = enode(P, AE_UNARY, loc, 1 + depth(x));
    if (e) {
        e->op = op;
        e->lhs = x;
    }
    return e;
}

static ast_expr *with_items(gc_pstate *P, ast_expr_kind kind, gc_loc loc, ast_expr *lhs, gc_pvec *items)
{
    int d = depth(lhs);
    for (int i = 0; items && i < items->n; i++)
        d = max2(d, depth(items->v[i]));
    ast_expr *e = enode(P, kind, loc, d + 1);
    if (e) {
        e->lhs = lhs;
        e->items = (ast_expr **)gc_pvec_array(P, items, &e->n_items);
    }
    return e;
}

static ast_expr *call(gc_pstate *P, ast_expr *callee, gc_pvec *args)
{
    int d = depth(callee);
    for (int i = 0; args && i < args->n; i++)
        d = max2(d, args->v[i] ? depth(((gc_named *)args->v[i])->value) : 0);
    ast_expr *e = enode(P, AE_CALL, callee ? callee->loc : (gc_loc){ P->file, 0 }, d + 1);
    if (!e)
        return NULL;
    e->lhs = callee;
    int n = args ? args->n : 0;
    if (n == 0)
        return e;
    e->items = gc_alloc(P->a, (size_t)n * sizeof *e->items);
    e->names = gc_alloc(P->a, (size_t)n * sizeof *e->names);
    if (!e->items || !e->names)
        return e;
    for (int i = 0; i < n; i++) {
        gc_named *a = args->v[i];
        e->items[i] = a ? a->value : NULL;
        e->names[i] = a ? a->name : NULL;
    }
    e->n_items = n;
    return e;
}

static ast_expr *slice(gc_pstate *P, gc_loc loc, ast_expr *a, ast_expr *b, ast_expr *c)
{
    ast_expr *e = enode(P, AE_SLICE, loc, 1 + max2(depth(a), max2(depth(b), depth(c))));
    if (e) {
        e->start = a;
        e->stop = b;
        e->step = c;
    }
    return e;
}

/* Keyword arguments come after the positional ones. */
static gc_pvec *push_arg(gc_pstate *P, gc_pvec *args, gc_named *arg)
{
    if (args && args->n > 0 && arg && !arg->name) {
        gc_named *last = args->v[args->n - 1];
        if (last && last->name)
            gc_error(P->d, arg->loc, "positional argument after keyword argument '%s'", last->name);
    }
    return gc_pvec_push(P, args, arg);
}

static ast_type *type(gc_pstate *P, const char *dtype, gc_loc loc, gc_pvec *dims, int n_dims)
{
    ast_type *t = ast_type_new(P->a, loc);
    if (t) {
        t->dtype = dtype;
        t->n_dims = n_dims;
        if (dims)
            t->dims = (ast_expr **)gc_pvec_array(P, dims, &t->n_dims);
    }
    return t;
}

static ast_stmt *stmt_new(gc_pstate *P, ast_stmt_kind kind, gc_loc loc)
{
    return ast_stmt_new(P->a, kind, loc);
}

static void stmt_names(gc_pstate *P, ast_stmt *s, gc_pvec *names)
{
    int n = names ? names->n : 0;
    if (!s || n == 0)
        return;
    s->names = gc_alloc(P->a, (size_t)n * sizeof *s->names);
    s->name_locs = gc_alloc(P->a, (size_t)n * sizeof *s->name_locs);
    if (!s->names || !s->name_locs)
        return;
    for (int i = 0; i < n; i++) {
        gc_named *m = names->v[i];
        s->names[i] = m ? m->name : NULL;
        s->name_locs[i] = m ? m->loc : s->loc;
    }
    s->n_names = n;
}

static void stmt_outputs(gc_pstate *P, ast_stmt *s, gc_pvec *outs)
{
    stmt_names(P, s, outs);
    if (!s || s->n_names == 0)
        return;
    s->values = gc_alloc(P->a, (size_t)s->n_names * sizeof *s->values);
    if (!s->values)
        return;
    for (int i = 0; i < s->n_names; i++) {
        gc_named *m = outs->v[i];
        s->values[i] = m ? m->value : NULL;
    }
    s->n_values = s->n_names;
}

static ast_item *item_new(gc_pstate *P, ast_item_kind kind, gc_loc loc, const char *name, gc_pvec *body)
{
    ast_item *it = ast_item_new(P->a, kind, loc);
    if (it) {
        it->name = name;
        it->body = (ast_stmt **)gc_pvec_array(P, body, &it->n_body);
    }
    return it;
}

static void item_params(gc_pstate *P, ast_item *it, gc_pvec *params)
{
    int n = params ? params->n : 0;
    if (!it || n == 0)
        return;
    it->params = gc_alloc(P->a, (size_t)n * sizeof *it->params);
    it->defaults = gc_alloc(P->a, (size_t)n * sizeof *it->defaults);
    it->param_locs = gc_alloc(P->a, (size_t)n * sizeof *it->param_locs);
    if (!it->params || !it->defaults || !it->param_locs)
        return;
    for (int i = 0; i < n; i++) {
        gc_named *m = params->v[i];
        it->params[i] = m ? m->name : NULL;
        it->defaults[i] = m ? m->value : NULL;
        it->param_locs[i] = m ? m->loc : it->loc;
    }
    it->n_params = n;
}
