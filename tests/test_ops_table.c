/* tests/test_ops_table.c -- the op table is complete and consistent: every
 * op kind of ops/ops.def has a name equal to its .def spelling, arity, an
 * inference rule and a CPU kernel; names are unique; attribute specs fit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "op.h"

static const char *const def_names[] = {
#define OP(ID, name) name,
#include "ops.def"
#undef OP
};

static void test_every_op_complete(void **state)
{
    (void)state;
    assert_int_equal(sizeof def_names / sizeof def_names[0], OP_COUNT);
    for (int k = 0; k < OP_COUNT; k++) {
        const op_def *d = op_get((op_kind)k);
        assert_non_null(d->name);
        assert_string_equal(d->name, def_names[k]);
        assert_non_null(d->infer);
        assert_non_null(d->cpu);
        assert_non_null(d->doc);
        assert_true(d->min_inputs >= 1);
        assert_true(d->max_inputs >= d->min_inputs);
        assert_true(d->max_inputs <= OP_MAX_INPUTS);
        assert_true(d->n_outputs == OP_NOUT_ATTR0 || d->n_outputs >= 1);
        assert_true(d->n_attrs >= 0 && d->n_attrs <= OP_MAX_ATTRS);
        for (int a = 0; a < d->n_attrs; a++) {
            assert_non_null(d->attrs[a].name);
            assert_true(d->attrs[a].kind >= OP_ATTR_INT && d->attrs[a].kind <= OP_ATTR_INTS);
            assert_true(d->attrs[a].def.n <= OP_MAX_INTS);
            assert_int_equal(op_attr_index((op_kind)k, d->attrs[a].name), a);
        }
        assert_int_equal(op_find(d->name), k);
    }
}

static void test_names_unique(void **state)
{
    (void)state;
    for (int a = 0; a < OP_COUNT; a++)
        for (int b = a + 1; b < OP_COUNT; b++)
            assert_true(strcmp(op_table[a].name, op_table[b].name) != 0);
    assert_int_equal(op_find("no_such_op"), -1);
}

static void test_defaults_and_outputs(void **state)
{
    (void)state;
    op_attr at[OP_MAX_ATTRS];
    op_attrs_default(OP_CONV2D, at);
    int s = op_attr_index(OP_CONV2D, "stride");
    assert_int_equal(at[s].n, 2);
    assert_int_equal(at[s].ints[0], 1);
    op_attrs_default(OP_SPLIT, at);
    at[0].n = 3;
    assert_int_equal(op_n_outputs(OP_SPLIT, at), 3);
    assert_int_equal(op_n_outputs(OP_ADD, at), 1);
}

static void test_types(void **state)
{
    (void)state;
    op_type a = { OP_F32, 2, { { 1, 0 }, { 1000, -1 } } };
    char buf[128];
    const char *syms[] = { "N" };
    op_type_str(&a, syms, buf, sizeof buf);
    assert_string_equal(buf, "f32[N, 1000]");
    op_type b = { OP_F32, 1, { { 1000, -1 } } }, o;
    char err[256];
    assert_int_equal(op_broadcast(&a, &b, &o, err, sizeof err), 0);
    assert_true(op_type_eq(&o, &a));
    op_type c = { OP_F32, 1, { { 999, -1 } } };
    assert_int_equal(op_broadcast(&a, &c, &o, err, sizeof err), -1);
    assert_non_null(strstr(err, "[999]"));
    op_dim n;
    assert_int_equal(op_type_numel(&a, &n), 0);
    assert_int_equal(n.coef, 1000);
    assert_int_equal(n.sym, 0);
    int64_t big[3] = { INT64_MAX / 2, 3, 1 };
    assert_int_equal(op_dims_numel(3, big), -1);
    int64_t nv = 7;
    op_tensor t;
    assert_int_equal(op_type_eval(&a, &nv, 1, &t), 0);
    assert_int_equal(t.dims[0], 7);
    assert_int_equal(op_type_eval(&a, NULL, 0, &t), -1);
    assert_int_equal(op_axis(-1, 3), 2);
    assert_int_equal(op_axis(3, 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_complete),
        cmocka_unit_test(test_names_unique),
        cmocka_unit_test(test_defaults_and_outputs),
        cmocka_unit_test(test_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
