/* tests/test_gc_parser.c -- the lexer and parser of graphc: the sample
 * models parse to the expected tree (checked through ast_file_print),
 * operator precedence, every statement kind, slices, locations, the exact
 * text of syntax diagnostics, the limits, and ~2000 mutated inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ast.h"

/* One parse: the arena, the diagnostics (captured in memory) and the tree. */
typedef struct parsed {
    gc_arena *a;
    gc_diag d;
    FILE *out;
    char *diag;
    size_t diag_len;
    ast_file *f;
} parsed;

static void parse_n(parsed *p, const char *path, const char *src, int len)
{
    memset(p, 0, sizeof *p);
    p->a = gc_arena_new();
    assert_non_null(p->a);
    p->out = open_memstream(&p->diag, &p->diag_len);
    assert_non_null(p->out);
    gc_diag_init(&p->d, p->a, p->out);
    int id = gc_source_add(&p->d, path, src, len);
    assert_true(id >= 0);
    p->f = gc_parse(&p->d, id);
    fflush(p->out);
}

static void parse(parsed *p, const char *path, const char *src)
{
    parse_n(p, path, src, (int)strlen(src));
}

static void done(parsed *p)
{
    fclose(p->out);
    free(p->diag);
    gc_arena_free(p->a);
}

/* The printed tree, malloc'ed. */
static char *tree_text(const ast_file *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    assert_non_null(o);
    ast_file_print(o, f);
    fclose(o);
    return buf;
}

/* src parses without any diagnostic to exactly the tree `want`. */
static void check_tree(const char *src, const char *want)
{
    parsed p;
    parse(&p, "t.g", src);
    if (p.d.n_errors)
        fprintf(stderr, "unexpected diagnostics:\n%s", p.diag);
    assert_int_equal(p.d.n_errors, 0);
    assert_int_equal(p.diag_len, 0);
    assert_non_null(p.f);
    char *got = tree_text(p.f);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", got, want);
    assert_string_equal(got, want);
    free(got);
    done(&p);
}

/* The expression `expr` (in `y = expr`) prints as `want`. */
static void check_expr(const char *expr, const char *want)
{
    char src[1024], tree[1024];
    snprintf(src, sizeof src, "graph g {\n  y = %s\n}\n", expr);
    snprintf(tree, sizeof tree, "(file\n  (graph g\n    (assign y %s)))\n", want);
    check_tree(src, tree);
}

/* src gives exactly the diagnostics `want`. */
static void check_diag(const char *src, const char *want, int n_errors)
{
    parsed p;
    parse(&p, "err.g", src);
    if (strcmp(p.diag, want) != 0)
        fprintf(stderr, "got:\n%s\nwant:\n%s\n", p.diag, want);
    assert_string_equal(p.diag, want);
    assert_int_equal(p.d.n_errors, n_errors);
    done(&p);
}

static const char sample_net[] =
    "# The two-layer network: relu(x @ w1) @ w2 with a squared loss.\n"
    "graph two_layer_net {\n"
    "  input x: f32[N, 1000]              # N is a symbolic dimension, bound when the graph runs\n"
    "  input y: f32[N, 10]\n"
    "\n"
    "  param w1: f32[1000, 100] = normal(std=0.01, seed=1)\n"
    "  param w2: f32[100, 10]   = load(\"w2.npy\")      # path relative to the model file\n"
    "\n"
    "  h      = relu(x @ w1)\n"
    "  y_pred = h @ w2\n"
    "  loss   = sum((y_pred - y) ** 2)\n"
    "\n"
    "  output y_pred, loss\n"
    "}\n";

static const char sample_module[] =
    "import \"nn.g\"\n"
    "module Block(c, stride=1) {\n"
    "  conv1 = Conv2d(c, c, 3, padding=1, bias=false)\n"
    "  param scale: f32[c] = ones()\n"
    "  forward(x) {\n"
    "    h = relu(conv1(x)[:, :, 1:-1, ::2])\n"
    "    a, b = split(h, [2, 2], axis=1)\n"
    "    return h + x * scale.T, not (a >= b) and true\n"
    "  }\n"
    "}\n";

static void test_sample_net(void **state)
{
    (void)state;
    check_tree(sample_net,
               "(file\n"
               "  (graph two_layer_net\n"
               "    (input x (f32 N 1000))\n"
               "    (input y (f32 N 10))\n"
               "    (param w1 (f32 1000 100) (call normal (kw std 0.01) (kw seed 1)))\n"
               "    (param w2 (f32 100 10) (call load \"w2.npy\"))\n"
               "    (assign h (call relu (@ x w1)))\n"
               "    (assign y_pred (@ h w2))\n"
               "    (assign loss (call sum (** (- y_pred y) 2)))\n"
               "    (output y_pred loss)))\n");
}

static void test_sample_module(void **state)
{
    (void)state;
    check_tree(sample_module,
               "(file\n"
               "  (import \"nn.g\")\n"
               "  (module Block (c (= stride 1))\n"
               "    (assign conv1 (call Conv2d c c 3 (kw padding 1) (kw bias false)))\n"
               "    (param scale (f32 c) (call ones))\n"
               "    (forward (x)\n"
               "      (assign h (call relu (index (call conv1 x) (slice _ _ _) (slice _ _ _)"
               " (slice 1 (neg 1) _) (slice _ _ 2))))\n"
               "      (assign (a b) (call split h (list 2 2) (kw axis 1)))\n"
               "      (return (+ h (* x (. scale T))) (and (not (>= a b)) true)))))\n");
}

static void test_tree_fields(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "m.g", sample_module);
    assert_int_equal(p.d.n_errors, 0);
    ast_file *f = p.f;
    assert_int_equal(f->n_items, 2);
    assert_int_equal(f->items[0]->kind, AI_IMPORT);
    assert_string_equal(f->items[0]->name, "nn.g");
    ast_item *m = f->items[1];
    assert_int_equal(m->kind, AI_MODULE);
    assert_int_equal(m->n_params, 2);
    assert_string_equal(m->params[1], "stride");
    assert_null(m->defaults[0]);
    assert_int_equal(m->defaults[1]->kind, AE_INT);
    assert_int_equal(m->defaults[1]->ival, 1);
    assert_int_equal(m->n_body, 3);
    ast_expr *conv = m->body[0]->value;
    assert_int_equal(conv->kind, AE_CALL);
    assert_int_equal(conv->n_items, 5);
    assert_null(conv->names[2]);
    assert_string_equal(conv->names[3], "padding");
    assert_int_equal(conv->items[4]->kind, AE_BOOL);
    assert_int_equal(conv->items[4]->ival, 0);
    ast_stmt *fw = m->body[2];
    assert_int_equal(fw->kind, AS_FORWARD);
    assert_int_equal(fw->n_names, 1);
    assert_string_equal(fw->names[0], "x");
    assert_int_equal(fw->n_body, 3);
    ast_stmt *ret = fw->body[2];
    assert_int_equal(ret->kind, AS_RETURN);
    assert_int_equal(ret->n_values, 2);
    assert_int_equal(ret->values[1]->kind, AE_BINARY);
    assert_int_equal(ret->values[1]->op, AB_AND);
    assert_int_equal(ret->values[1]->lhs->kind, AE_UNARY);
    assert_int_equal(ret->values[1]->lhs->op, 'n');
    ast_stmt *split = fw->body[1];
    assert_int_equal(split->kind, AS_ASSIGN);
    assert_int_equal(split->n_names, 2);
    assert_string_equal(split->names[1], "b");
    ast_stmt *scale = m->body[1];
    assert_int_equal(scale->type->n_dims, 1);
    assert_string_equal(scale->type->dtype, "f32");
    done(&p);
}

/* Locations are byte offsets of the first token; binary operators carry
 * the operator's. */
static void test_locations(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "n.g", sample_net);
    assert_int_equal(p.d.n_errors, 0);
    ast_item *g = p.f->items[0];
    int line, col;
    gc_loc_linecol(&p.d, g->loc, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 1);
    ast_stmt *in = g->body[0];
    gc_loc_linecol(&p.d, in->loc, &line, &col);
    assert_int_equal(line * 100 + col, 303);
    gc_loc_linecol(&p.d, in->type->loc, &line, &col);
    assert_int_equal(line * 100 + col, 312); /* f32 */
    gc_loc_linecol(&p.d, in->type->dims[1]->loc, &line, &col);
    assert_int_equal(line * 100 + col, 319); /* 1000 */
    ast_stmt *h = g->body[4];
    gc_loc_linecol(&p.d, h->loc, &line, &col);
    assert_int_equal(line * 100 + col, 903);
    gc_loc_linecol(&p.d, h->name_locs[0], &line, &col);
    assert_int_equal(line * 100 + col, 903);
    ast_expr *call = h->value;
    gc_loc_linecol(&p.d, call->loc, &line, &col);
    assert_int_equal(line * 100 + col, 912); /* relu */
    gc_loc_linecol(&p.d, call->items[0]->loc, &line, &col);
    assert_int_equal(line * 100 + col, 919); /* @ */
    ast_expr *pow = g->body[6]->value->items[0];
    assert_int_equal(pow->op, AB_POW);
    gc_loc_linecol(&p.d, pow->loc, &line, &col);
    assert_int_equal(line * 100 + col, 1129);
    ast_stmt *out = g->body[7];
    gc_loc_linecol(&p.d, out->name_locs[1], &line, &col);
    assert_int_equal(line * 100 + col, 1318); /* loss */
    assert_int_equal(out->n_values, 2);
    assert_null(out->values[0]);
    done(&p);
}

static void test_precedence(void **state)
{
    (void)state;
    check_expr("a + b * c", "(+ a (* b c))");
    check_expr("a * b + c", "(+ (* a b) c)");
    check_expr("a - b - c", "(- (- a b) c)");
    check_expr("a / b / c", "(/ (/ a b) c)");
    check_expr("a @ b + c", "(+ (@ a b) c)");
    check_expr("a / b @ c", "(@ (/ a b) c)");
    check_expr("a ** b ** c", "(** a (** b c))");
    check_expr("-x**2", "(neg (** x 2))");
    check_expr("2**-1", "(** 2 (neg 1))");
    check_expr("x ** -y ** z", "(** x (neg (** y z)))");
    check_expr("-x * y", "(* (neg x) y)");
    check_expr("- - x", "(neg (neg x))");
    check_expr("-a.b", "(neg (. a b))");
    check_expr("(a + b) * c", "(* (+ a b) c)");
    check_expr("a < b + 1", "(< a (+ b 1))");
    check_expr("a == (b != c)", "(== a (!= b c))");
    check_expr("not a == b", "(not (== a b))");
    check_expr("not a and b or c", "(or (and (not a) b) c)");
    check_expr("a or b and c", "(or a (and b c))");
    check_expr("a and not b", "(and a (not b))");
    check_expr("a <= b or a >= b and a > b", "(or (<= a b) (and (>= a b) (> a b)))");
    check_expr("a.b.c(x)[0]", "(index (call (. (. a b) c) x) 0)");
    check_expr("f(x)(y)", "(call (call f x) y)");
    check_expr("f()", "(call f)");
    check_expr("2 * f(x) ** 2", "(* 2 (** (call f x) 2))");
}

static void test_literals(void **state)
{
    (void)state;
    check_expr("[1, 1000, 1e-5, 0.01, 1.5e3, .5, 1e300, 2.5e-7, 9223372036854775807]",
               "(list 1 1000 1e-5 0.01 1500.0 0.5 1e300 2.5e-7 9223372036854775807)");
    check_expr("[\"a\\\"b\\\\c\\n\", true, false, [], [1,], [[1, 2], [3, 4]]]",
               "(list \"a\\\"b\\\\c\\n\" true false (list) (list 1) (list (list 1 2) (list 3 4)))");
    check_expr("x_1 + _y", "(+ x_1 _y)");
    check_expr("f(a,\n      b,\n   k = [1,\n 2],\n)", "(call f a b (kw k (list 1 2)))");
}

static void test_slices(void **state)
{
    (void)state;
    check_expr("x[0]", "(index x 0)");
    check_expr("x[:]", "(index x (slice _ _ _))");
    check_expr("x[::]", "(index x (slice _ _ _))");
    check_expr("x[1:]", "(index x (slice 1 _ _))");
    check_expr("x[:-1]", "(index x (slice _ (neg 1) _))");
    check_expr("x[::2]", "(index x (slice _ _ 2))");
    check_expr("x[1:n:2]", "(index x (slice 1 n 2))");
    check_expr("x[..., 0]", "(index x ... 0)");
    check_expr("x[:, ..., i + 1:]", "(index x (slice _ _ _) ... (slice (+ i 1) _ _))");
    check_expr("x[i][j]", "(index (index x i) j)");
}

static void test_statement_kinds(void **state)
{
    (void)state;
    check_tree("graph g {\n"
               "  input s: f32\n"
               "  input e: f32[]\n"
               "  param w: f32[3] frozen\n"
               "  param v: f32[3, k] = zeros() frozen\n"
               "  param u: f32[2]\n"
               "  const c = 3\n"
               "  const d: f32 = 3.0\n"
               "  y = s * d\n"
               "  a, b, c2 = split(v, 3)\n"
               "  output probs = softmax(y), a\n"
               "  output b\n"
               "  train y with sgd(lr=0.1)\n"
               "  forward() {\n"
               "    return s, 1\n"
               "  }\n"
               "}\n",
               "(file\n"
               "  (graph g\n"
               "    (input s f32)\n"
               "    (input e (f32))\n"
               "    (param w (f32 3) _ frozen)\n"
               "    (param v (f32 3 k) (call zeros) frozen)\n"
               "    (param u (f32 2) _)\n"
               "    (const c _ 3)\n"
               "    (const d f32 3.0)\n"
               "    (assign y (* s d))\n"
               "    (assign (a b c2) (call split v 3))\n"
               "    (output (= probs (call softmax y)) a)\n"
               "    (output b)\n"
               "    (train y (call sgd (kw lr 0.1)))\n"
               "    (forward ()\n"
               "      (return s 1))))\n");
}

static void test_separators(void **state)
{
    (void)state;
    /* Blank lines, comments, ';', CRLF, braces on one line, no final newline. */
    check_tree("\n\n# c\ngraph g {}\n"
               "graph h { x = 1; y = 2 }\r\n"
               "graph k {\r\n\r\n  # comment\r\n  z = f(a,  # inside\r\n b)\r\n\r\n}\n\n"
               "module M() {\n  forward(x, y) { return x; }\n}",
               "(file\n"
               "  (graph g)\n"
               "  (graph h\n"
               "    (assign x 1)\n"
               "    (assign y 2))\n"
               "  (graph k\n"
               "    (assign z (call f a b)))\n"
               "  (module M ()\n"
               "    (forward (x y)\n"
               "      (return x))))\n");
    check_tree("", "(file)\n");
    check_tree("# nothing\n\n", "(file)\n");
}

/* Eight and more kinds of syntax error, each with its exact text. */
static void test_diag_golden(void **state)
{
    (void)state;
    check_diag("graph g {\n  h = relu(x @ w1;\n}\n",
               "err.g:2:18: error: expected ')' or ',' but found ';'\n"
               "    h = relu(x @ w1;\n"
               "                   ^\n", 1);
    check_diag("graph g {\n  h = relu(x @ w1\n  y = 2\n}\n",
               "err.g:3:3: error: expected ')' or ',' but found name 'y'\n"
               "    y = 2\n"
               "    ^\n", 1);
    check_diag("graph g {\n  input x f32[3]\n}\n",
               "err.g:2:11: error: expected ':' but found name 'f32'\n"
               "    input x f32[3]\n"
               "            ^\n", 1);
    check_diag("graph g {\n  3 = x\n}\n",
               "err.g:2:3: error: expected a statement or '}' but found number '3'\n"
               "    3 = x\n"
               "    ^\n", 1);
    check_diag("x = 1\n",
               "err.g:1:1: error: expected 'import', 'graph' or 'module' but found name 'x'\n"
               "  x = 1\n"
               "  ^\n", 1);
    check_diag("graph g {\n  y = a b\n}\n",
               "err.g:2:9: error: expected end of line but found name 'b'\n"
               "    y = a b\n"
               "          ^\n", 1);
    check_diag("graph g {\n  y = \n}\n",
               "err.g:2:7: error: expected an expression but found end of line\n"
               "    y = \n"
               "        ^\n", 1);
    check_diag("graph g {\n  y = a < b < c\n}\n",
               "err.g:2:13: error: comparisons cannot be chained: found '<' after a comparison\n"
               "    y = a < b < c\n"
               "              ^\n", 1);
    check_diag("graph g {\n  y = f(k=1, 2)\n}\n",
               "err.g:2:14: error: positional argument after keyword argument 'k'\n"
               "    y = f(k=1, 2)\n"
               "               ^\n", 1);
    check_diag("graph {\n  y = 1\n}\n",
               "err.g:1:7: error: expected name but found '{'\n"
               "  graph {\n"
               "        ^\n", 1);
    check_diag("graph g {\n  output y z\n}\n",
               "err.g:2:12: error: expected end of line, ',' or '=' but found name 'z'\n"
               "    output y z\n"
               "             ^\n", 1);
    check_diag("graph g {\n  y = x[]\n}\n",
               "err.g:2:9: error: expected an expression, '...' or ':' but found ']'\n"
               "    y = x[]\n"
               "          ^\n", 1);
    check_diag("graph g {\n  x = 1\n",
               "err.g:3:1: error: expected a statement or '}' but found end of file\n"
               "  \n"
               "  ^\n", 1);
    check_diag("graph g(x) {\n  y = 1\n}\n",
               "err.g:1:8: error: expected '{' but found '('\n"
               "  graph g(x) {\n"
               "         ^\n", 1);
    check_diag("graph g {\n\ty = )\n}\n",
               "err.g:2:6: error: expected an expression but found ')'\n"
               "  \ty = )\n"
               "  \t    ^\n", 1);
    check_diag("graph g {\n  import = 1\n}\n",
               "err.g:2:3: error: expected a statement or '}' but found keyword 'import'\n"
               "    import = 1\n"
               "    ^\n", 1);
}

static void test_diag_lexical(void **state)
{
    (void)state;
    check_diag("graph g {\n  y = $x + 1\n}\n",
               "err.g:2:7: error: unexpected character '$'\n"
               "    y = $x + 1\n"
               "        ^\n", 1);
    /* One report for a run of stray bytes (0xFE is a second one). */
    check_diag("graph g {\n  y = x \xff\xfe 1\n}\n",
               "err.g:2:9: error: unexpected character '\\xFF'\n"
               "    y = x \xff\xfe 1\n"
               "          ^\n", 1);
    check_diag("graph g {\n  y = x \xc3\xa9\n}\n",
               "err.g:2:9: error: unexpected character '\xc3\xa9'\n"
               "    y = x \xc3\xa9\n"
               "          ^\n", 1);
    check_diag("graph g {\n  y = \"abc\n}\n",
               "err.g:2:7: error: unterminated string\n"
               "    y = \"abc\n"
               "        ^\n", 1);
    check_diag("graph g {\n  y = 99999999999999999999\n}\n",
               "err.g:2:7: error: integer literal '99999999999999999999' is too large"
               " (the limit is 9223372036854775807)\n"
               "    y = 99999999999999999999\n"
               "        ^\n", 1);
    /* Lexical errors are reported even while the parser recovers. */
    check_diag("graph g {\n  y = 2x + 1e\n}\n",
               "err.g:2:7: error: invalid number '2x'\n"
               "    y = 2x + 1e\n"
               "        ^\n"
               "err.g:2:12: error: invalid number '1e'\n"
               "    y = 2x + 1e\n"
               "             ^\n", 2);
    check_diag("graph g {\n  y = \"a\\qb\"\n  z = 1e999\n}\n",
               "err.g:2:9: error: unknown escape sequence '\\q' in string\n"
               "    y = \"a\\qb\"\n"
               "          ^\n"
               "err.g:3:7: error: floating-point literal '1e999' is out of range\n"
               "    z = 1e999\n"
               "        ^\n", 2);
}

/* One run reports every error and recovers at the next statement. */
static void test_diag_three_errors(void **state)
{
    (void)state;
    const char *src = "graph g {\n"
                      "  input x: f32[N, 4]\n"
                      "  y = x + * 2\n"
                      "  z = relu(y\n"
                      "}\n"
                      "graph h {\n"
                      "  forward(a b) {\n"
                      "    return a\n"
                      "  }\n"
                      "  w = 1\n"
                      "}\n";
    parsed p;
    parse(&p, "three.g", src);
    assert_string_equal(p.diag,
                        "three.g:3:11: error: expected an expression but found '*'\n"
                        "    y = x + * 2\n"
                        "            ^\n"
                        "three.g:5:1: error: expected ')' or ',' but found '}'\n"
                        "  }\n"
                        "  ^\n"
                        "three.g:7:13: error: expected ')' or ',' but found name 'b'\n"
                        "    forward(a b) {\n"
                        "              ^\n");
    assert_int_equal(p.d.n_errors, 3);
    /* The tree keeps what parsed: both graphs and their good statements. */
    char *t = tree_text(p.f);
    assert_string_equal(t, "(file\n"
                           "  (graph g\n"
                           "    (input x (f32 N 4)))\n"
                           "  (graph h\n"
                           "    (assign w 1)))\n");
    free(t);
    done(&p);
}

/* Consecutive lines with errors are each reported (yyerrok at resync). */
static void test_diag_every_line(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "e.g", "graph g {\n  a = )\n  b = )\n  c = )\n  d = 1\n}\n");
    assert_int_equal(p.d.n_errors, 3);
    assert_non_null(strstr(p.diag, "e.g:2:7:"));
    assert_non_null(strstr(p.diag, "e.g:3:7:"));
    assert_non_null(strstr(p.diag, "e.g:4:7:"));
    char *t = tree_text(p.f);
    assert_string_equal(t, "(file\n  (graph g\n    (assign d 1)))\n");
    free(t);
    done(&p);
}

static char *repeat(const char *head, const char *unit, int n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * (size_t)n + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (int i = 0; i < n; i++)
        memcpy(s + hl + ul * (size_t)i, unit, ul);
    memcpy(s + hl + ul * (size_t)n, tail, tl + 1);
    return s;
}

static void test_limits(void **state)
{
    (void)state;
    parsed p;
    /* 200 nested parentheses are fine, 201 are not. */
    char *open = repeat("graph g {\n  y = ", "(", 200, "x");
    char *src = repeat(open, ")", 200, "\n}\n");
    parse(&p, "deep.g", src);
    assert_int_equal(p.d.n_errors, 0);
    done(&p);
    free(open);
    free(src);
    open = repeat("graph g {\n  y = ", "[", 201, "x");
    src = repeat(open, "]", 201, "\n  z = 1\n}\n");
    parse(&p, "deep.g", src);
    assert_int_equal(p.d.n_errors, 1);
    assert_non_null(strstr(p.diag, "deep.g:2:207: error: parentheses and brackets nested too deeply"));
    char *t = tree_text(p.f);
    assert_string_equal(t, "(file\n  (graph g\n    (assign z 1)))\n");
    free(t);
    done(&p);
    free(open);
    free(src);
    /* Unclosed: a million '(' end in one error, not a stack overflow. */
    src = repeat("graph g {\n  y = ", "(", 1000000, "\n}\n");
    parse(&p, "open.g", src);
    assert_true(p.d.n_errors >= 1);
    assert_non_null(p.f);
    done(&p);
    free(src);
    /* Unary chains. */
    src = repeat("graph g {\n  y = ", "- ", 100000, "x\n  z = 1\n}\n");
    parse(&p, "neg.g", src);
    assert_int_equal(p.d.n_errors, 1);
    assert_non_null(strstr(p.diag, "too many unary operators in a row"));
    done(&p);
    free(src);
    src = repeat("graph g {\n  y = ", "not ", 150, "x\n}\n");
    parse(&p, "not.g", src);
    assert_int_equal(p.d.n_errors, 0);
    done(&p);
    free(src);
    /* An expression tree deeper than the limit: 250 terms of a sum. */
    src = repeat("graph g {\n  y = x", " + x", 250, "\n  z = 1\n}\n");
    parse(&p, "sum.g", src);
    assert_int_equal(p.d.n_errors, 1);
    assert_non_null(strstr(p.diag, "expression nested too deeply (the limit is 200 levels)"));
    t = tree_text(p.f);
    assert_string_equal(t, "(file\n  (graph g\n    (assign z 1)))\n");
    free(t);
    done(&p);
    free(src);
    /* A right-associative chain that fills the parser's stack. */
    src = repeat("graph g {\n  y = x", " ** x", 100000, "\n}\n");
    parse(&p, "pow.g", src);
    assert_true(p.d.n_errors >= 1);
    assert_non_null(p.f);
    done(&p);
    free(src);
    /* Nested blocks. */
    src = repeat("graph g {\n", "forward() {\n", 300, "}\n");
    parse(&p, "blocks.g", src);
    assert_true(p.d.n_errors >= 1);
    assert_non_null(strstr(p.diag, "blocks nested too deeply"));
    done(&p);
    free(src);
}

/* Big inputs parse in linear time: 100000 statements. */
static void test_big_input(void **state)
{
    (void)state;
    char *src = repeat("graph g {\n", "  y = relu(x @ w + b)[0, :] * 2\n", 100000, "}\n");
    parsed p;
    parse(&p, "big.g", src);
    assert_int_equal(p.d.n_errors, 0);
    assert_int_equal(p.f->n_items, 1);
    assert_int_equal(p.f->items[0]->n_body, 100000);
    done(&p);
    free(src);
    /* 100000 errors: counted, only the first 50 printed. */
    src = repeat("graph g {\n", "  y = )\n", 100000, "}\n");
    parse(&p, "bad.g", src);
    assert_int_equal(p.d.n_errors, 100000);
    assert_non_null(strstr(p.diag, "too many errors"));
    done(&p);
    free(src);
}

/* Bytes gc_source_load would reject still do not crash the parser. */
static void test_binary_junk(void **state)
{
    (void)state;
    static const char junk[] = "graph g {\n  y = \0\x01\x7f\x80 x\n}\n";
    parsed p;
    parse_n(&p, "junk.g", junk, (int)sizeof junk - 1);
    assert_int_equal(p.d.n_errors, 1);
    assert_non_null(strstr(p.diag, "unexpected character '\\x00'"));
    done(&p);
    parse(&p, "bad.g", "graph g {\n  y = \"\\\n}\n");
    assert_true(p.d.n_errors >= 1);
    done(&p);
    /* A file index outside the table: NULL, no crash. */
    gc_arena *a = gc_arena_new();
    gc_diag d;
    gc_diag_init(&d, a, stderr);
    assert_null(gc_parse(&d, 0));
    assert_null(gc_parse(&d, -1));
    assert_null(gc_parse(NULL, 0));
    gc_arena_free(a);
}

/* xorshift64*: a deterministic PRNG for the mutation loop. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static void test_mutations(void **state)
{
    (void)state;
    static const char *const dict[] = {
        "(", ")", "[", "]", "{", "}", "\n", ",", ":", ";", "=", "==", "**", "-", "not ",
        "\"", "#", "...", "graph g {", "forward(x) {", "return ", "output ", "1e", ".5",
        "99999999999999999999", "\\", "\xff", "module M(a=", "import ", "@", " and ",
    };
    size_t base_len = strlen(sample_net) + strlen(sample_module);
    char *base = malloc(base_len + 1);
    assert_non_null(base);
    strcpy(base, sample_net);
    strcat(base, sample_module);
    char *buf = malloc(base_len * 2 + 4096);
    assert_non_null(buf);
    int with_errors = 0;
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = base_len;
        memcpy(buf, base, len);
        int n_mut = 1 + (int)(rnd() % 8);
        for (int m = 0; m < n_mut && len > 0; m++) {
            size_t at = rnd() % len;
            switch (rnd() % 5) {
            case 0: /* random byte, never NUL */
                buf[at] = (char)(1 + rnd() % 255);
                break;
            case 1: /* delete a run */
            {
                size_t n = 1 + rnd() % 16;
                if (n > len - at)
                    n = len - at;
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
                break;
            }
            case 2: /* insert a token */
            {
                const char *w = dict[rnd() % (sizeof dict / sizeof dict[0])];
                size_t wl = strlen(w);
                if (len + wl < base_len * 2 + 4000) {
                    memmove(buf + at + wl, buf + at, len - at);
                    memcpy(buf + at, w, wl);
                    len += wl;
                }
                break;
            }
            case 3: /* truncate */
                len = at;
                break;
            default: /* duplicate a slice */
            {
                size_t n = rnd() % 64;
                if (n > len - at)
                    n = len - at;
                if (len + n < base_len * 2 + 4000) {
                    memmove(buf + at + n, buf + at, len - at);
                    len += n;
                }
                break;
            }
            }
        }
        parsed p1, p2;
        parse_n(&p1, "fuzz.g", buf, (int)len);
        assert_true(p1.f != NULL || p1.d.n_errors > 0);
        if (p1.d.n_errors == 0)
            assert_int_equal(p1.diag_len, 0);
        else
            with_errors++;
        char *t1 = tree_text(p1.f);
        /* Deterministic: the same input gives the same messages and tree. */
        parse_n(&p2, "fuzz.g", buf, (int)len);
        char *t2 = tree_text(p2.f);
        assert_int_equal(p1.d.n_errors, p2.d.n_errors);
        assert_string_equal(p1.diag, p2.diag);
        assert_string_equal(t1, t2);
        free(t1);
        free(t2);
        done(&p1);
        done(&p2);
    }
    /* The mutations do break most inputs (the loop tests error paths). */
    assert_true(with_errors > 1000);
    free(buf);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_net),
        cmocka_unit_test(test_sample_module),
        cmocka_unit_test(test_tree_fields),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_statement_kinds),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_diag_golden),
        cmocka_unit_test(test_diag_lexical),
        cmocka_unit_test(test_diag_three_errors),
        cmocka_unit_test(test_diag_every_line),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_big_input),
        cmocka_unit_test(test_binary_junk),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
