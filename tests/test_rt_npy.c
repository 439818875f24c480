/* tests/test_rt_npy.c -- the .npy reader and writer (runtime/npy.c): round
 * trips of every dtype for shapes (), (3,), (2,3), (0,5) with the exact
 * header bytes; files written by numpy.save (tests/gen_npy_data.py, committed
 * under tests/data/npy); versions 2.0 and 3.0; a hand-made header; and every
 * rejection (fortran order, big-endian, pickles, structured, truncation...). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "graphrt.h"
#include "testutil.h"

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_make("rt_npy");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove();
    return 0;
}

/* tests/data/npy/<name>, found next to this source file */
static void data_path(char *buf, size_t len, const char *name)
{
    const char *f = __FILE__;
    const char *slash = strrchr(f, '/');
    if (slash)
        snprintf(buf, len, "%.*s/data/npy/%s", (int)(slash - f), f, name);
    else
        snprintf(buf, len, "data/npy/%s", name);
}

/* Writes a .npy file with the given version, header text (padded with
 * spaces and '\n' to align) and data. */
static void write_npy_raw(const char *path, int major, const char *hdr, size_t align, const void *data,
                          size_t n)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t hl = strlen(hdr) + 1;
    while ((pre + hl) % align)
        hl++;
    unsigned char *buf = calloc(1, pre + hl + n + 1);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (unsigned char)(hl >> (8 * i));
    memset(buf + pre, ' ', hl);
    memcpy(buf + pre, hdr, strlen(hdr));
    buf[pre + hl - 1] = '\n';
    if (n)
        memcpy(buf + pre + hl, data, n);
    tu_write_file(path, buf, pre + hl + n);
    free(buf);
}

static void expect_reject(const char *path, rt_status want, const char *substr)
{
    rt_tensor t;
    char err[512] = "";
    rt_status st = rt_npy_load(path, &t, err, sizeof err);
    if (st != want || !strstr(err, substr))
        fail_msg("%s: got %s '%s', want %s containing '%s'", path, rt_status_name(st), err,
                 rt_status_name(want), substr);
    assert_null(t.data);
}

static const rt_dtype all_dtypes[] = { RT_F32, RT_F64, RT_I32, RT_I64, RT_BOOL, RT_U8, RT_I8 };

static void test_round_trip_all(void **state)
{
    (void)state;
    const struct { int rank; int64_t dims[2]; const char *spelled; } shapes[] = {
        { 0, { 0, 0 }, "'shape': ()" },
        { 1, { 3, 0 }, "'shape': (3,)" },
        { 2, { 2, 3 }, "'shape': (2, 3)" },
        { 2, { 0, 5 }, "'shape': (0, 5)" },
    };
    for (size_t d = 0; d < sizeof all_dtypes / sizeof all_dtypes[0]; d++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            rt_dtype dt = all_dtypes[d];
            size_t esz = rt_dtype_size(dt);
            rt_tensor t = { .dtype = dt, .rank = shapes[s].rank };
            int64_t n = 1;
            for (int i = 0; i < t.rank; i++) {
                t.dims[i] = shapes[s].dims[i];
                n *= t.dims[i];
            }
            unsigned char data[64];
            for (size_t i = 0; i < sizeof data; i++)
                data[i] = (unsigned char)(dt == RT_BOOL ? i % 2 : i * 37 + d + 1);
            t.data = data;
            char path[512], err[256];
            tu_tmp_path(path, sizeof path, "rt.npy");
            assert_int_equal(rt_npy_save(path, &t, err, sizeof err), RT_OK);

            /* the exact header: v1.0, 64-byte aligned, ends in \n, spelled shape */
            size_t len;
            unsigned char *raw = tu_read_file(path, &len);
            assert_memory_equal(raw, "\x93NUMPY\x01\x00", 8);
            size_t hl = raw[8] | (size_t)raw[9] << 8;
            assert_int_equal((10 + hl) % 64, 0);
            assert_int_equal(raw[10 + hl - 1], '\n');
            assert_int_equal(len, 10 + hl + (size_t)n * esz);
            assert_non_null(strstr((char *)raw + 10, shapes[s].spelled));
            assert_non_null(strstr((char *)raw + 10, "'fortran_order': False"));
            free(raw);

            rt_tensor back;
            assert_int_equal(rt_npy_load(path, &back, err, sizeof err), RT_OK);
            assert_int_equal(back.dtype, dt);
            assert_int_equal(back.rank, t.rank);
            for (int i = 0; i < t.rank; i++)
                assert_int_equal(back.dims[i], t.dims[i]);
            assert_non_null(back.data);
            if (n)
                assert_memory_equal(back.data, data, (size_t)n * esz);
            free(back.data);
        }
    /* no temp file is left behind */
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/rt.npy.tmp.%ld", tu_tmpdir, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
}

static void test_descr_strings(void **state)
{
    (void)state;
    const char *want[] = { "'<f4'", "'<f8'", "'<i4'", "'<i8'", "'|b1'", "'|u1'", "'|i1'" };
    for (size_t d = 0; d < 7; d++) {
        int64_t v = 1;
        rt_tensor t = { .dtype = all_dtypes[d], .rank = 1, .dims = { 1 }, .data = &v };
        char path[512], err[256];
        tu_tmp_path(path, sizeof path, "d.npy");
        assert_int_equal(rt_npy_save(path, &t, err, sizeof err), RT_OK);
        size_t len;
        char *raw = (char *)tu_read_file(path, &len);
        assert_non_null(strstr(raw + 10, want[d]));
        free(raw);
    }
}

static void load_ok(const char *name, rt_dtype dt, int rank, const int64_t *dims, rt_tensor *out)
{
    char path[512], err[512] = "";
    data_path(path, sizeof path, name);
    rt_status st = rt_npy_load(path, out, err, sizeof err);
    if (st != RT_OK)
        fail_msg("%s: %s", path, err);
    assert_int_equal(out->dtype, dt);
    assert_int_equal(out->rank, rank);
    for (int i = 0; i < rank; i++)
        assert_int_equal(out->dims[i], dims[i]);
}

static void test_numpy_files(void **state)
{
    (void)state;
    rt_tensor t;
    load_ok("f32_2x3.npy", RT_F32, 2, (int64_t[]){ 2, 3 }, &t);
    const float f32[6] = { -1, -0.5f, 0, 0.5f, 1, 1.5f };
    assert_memory_equal(t.data, f32, sizeof f32);
    free(t.data);
    load_ok("f64_scalar.npy", RT_F64, 0, NULL, &t);
    assert_true(*(double *)t.data == 3.25);
    free(t.data);
    load_ok("i64_3.npy", RT_I64, 1, (int64_t[]){ 3 }, &t);
    assert_int_equal(((int64_t *)t.data)[0], -1);
    assert_int_equal(((int64_t *)t.data)[2], (int64_t)1 << 40);
    free(t.data);
    load_ok("i32_0x5.npy", RT_I32, 2, (int64_t[]){ 0, 5 }, &t);
    free(t.data);
    load_ok("bool_4.npy", RT_BOOL, 1, (int64_t[]){ 4 }, &t);
    assert_memory_equal(t.data, "\1\0\0\1", 4);
    free(t.data);
    load_ok("u8_2x2.npy", RT_U8, 2, (int64_t[]){ 2, 2 }, &t);
    assert_memory_equal(t.data, "\0\377\7\200", 4);
    free(t.data);
    load_ok("i8_3.npy", RT_I8, 1, (int64_t[]){ 3 }, &t);
    assert_int_equal(((int8_t *)t.data)[0], -128);
    assert_int_equal(((int8_t *)t.data)[2], 127);
    free(t.data);
}

static void test_versions_and_handmade(void **state)
{
    (void)state;
    rt_tensor t;
    load_ok("v2_f32_2x2.npy", RT_F32, 2, (int64_t[]){ 2, 2 }, &t);
    const float v2[4] = { 1.5f, -2, 3, 4 };
    assert_memory_equal(t.data, v2, sizeof v2);
    free(t.data);
    load_ok("v3_i32_3.npy", RT_I32, 1, (int64_t[]){ 3 }, &t);
    assert_int_equal(((int32_t *)t.data)[2], 9);
    free(t.data);
    load_ok("handmade_16.npy", RT_I32, 2, (int64_t[]){ 2, 2 }, &t);
    const int32_t hm[4] = { 1, -2, 3, 40000 };
    assert_memory_equal(t.data, hm, sizeof hm);
    free(t.data);

    /* more spellings made here: whitespace, Python 2 longs, native order,
     * no trailing comma, tabs; fortran_order True is fine for 1-D */
    const int32_t v[3] = { 5, 6, 7 };
    const char *ok[] = {
        "{'descr':'<i4','fortran_order':False,'shape':(3,)}",
        "{ 'shape' : ( 3L , ) , 'descr' : '=i4' , 'fortran_order' : False , }",
        "{\t\"descr\": \"<i4\",\t\"fortran_order\": True, \"shape\": (3,)}",
    };
    char path[512], err[512];
    tu_tmp_path(path, sizeof path, "hm.npy");
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        write_npy_raw(path, i == 2 ? 2 : 1, ok[i], 16, v, sizeof v);
        if (rt_npy_load(path, &t, err, sizeof err) != RT_OK)
            fail_msg("header %zu: %s", i, err);
        assert_int_equal(t.rank, 1);
        assert_int_equal(t.dims[0], 3);
        assert_memory_equal(t.data, v, sizeof v);
        free(t.data);
    }
}

static void test_rejects_numpy_made(void **state)
{
    (void)state;
    char path[512];
    const struct { const char *file, *msg; rt_status st; } cases[] = {
        { "fortran_2x3.npy", "fortran_order True", RT_ERR_FORMAT },
        { "bigendian_f4.npy", "big-endian dtype '>f4'", RT_ERR_FORMAT },
        { "object.npy", "object arrays", RT_ERR_FORMAT },
        { "structured.npy", "structured dtypes", RT_ERR_FORMAT },
        { "f16.npy", "'<f2' (float16) is not supported", RT_ERR_FORMAT },
        { "i2.npy", "'<i2' (int16) is not supported", RT_ERR_FORMAT },
        { "truncated.npy", "truncated payload: expected 24 bytes of data, found 20", RT_ERR_FORMAT },
        { "no_such_file.npy", "cannot open", RT_ERR_IO },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        data_path(path, sizeof path, cases[i].file);
        expect_reject(path, cases[i].st, cases[i].msg);
    }
}

static void test_rejects_crafted(void **state)
{
    (void)state;
    char path[512];
    tu_tmp_path(path, sizeof path, "bad.npy");
    const float d6[6] = { 0 };

    tu_write_file(path, "\x93NUMPX\x01\x00\x00\x00", 10);
    expect_reject(path, RT_ERR_FORMAT, "bad magic");
    tu_write_file(path, "\x93NUM", 4);
    expect_reject(path, RT_ERR_FORMAT, "bad magic");
    tu_write_file(path, "\x93NUMPY\x04\x00\x10\x00", 10);
    expect_reject(path, RT_ERR_FORMAT, "unsupported .npy version 4.0");
    /* header longer than 1 MiB (v2 length field) */
    tu_write_file(path, "\x93NUMPY\x02\x00\x00\x00\x20\x00", 12);
    expect_reject(path, RT_ERR_FORMAT, "too long");
    /* header length beyond the end of the file */
    tu_write_file(path, "\x93NUMPY\x01\x00\xff\x00{'descr'", 17);
    expect_reject(path, RT_ERR_FORMAT, "truncated .npy header");

    const struct { const char *hdr, *msg; } cases[] = {
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", "not a tuple" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", "unknown key 'x'" },
        { "{'descr': '<f4', 'shape': (6,), }", "missing key 'fortran_order'" },
        { "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", "twice" },
        { "{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}", "True or False" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}", "non-negative" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x", "after the dict" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", "expected '}'" },
        { "{'descr': '<f4, 'fortran_order': False, 'shape': (6,)}", "bad .npy header" },
        { "{'descr': '|O', 'fortran_order': False, 'shape': (6,)}", "object arrays" },
        { "{'descr': '<c8', 'fortran_order': False, 'shape': (6,)}", "complex" },
        { "{'descr': '<U3', 'fortran_order': False, 'shape': (6,)}", "not supported" },
        { "{'descr': 'zz', 'fortran_order': False, 'shape': (6,)}", "unsupported dtype" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,6)}", "more than 8" },
        { "{'descr': '<f4', 'fortran_order': False, "
          "'shape': (4294967296, 4294967296, 4294967296)}", "overflow" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "overflow" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (7,)}", "truncated payload" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (5,)}", "trailing bytes" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_npy_raw(path, 1, cases[i].hdr, 64, d6, sizeof d6);
        expect_reject(path, RT_ERR_FORMAT, cases[i].msg);
    }
    /* a NUL inside the header */
    write_npy_raw(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", 64, d6, sizeof d6);
    size_t len;
    unsigned char *raw = tu_read_file(path, &len);
    raw[12] = 0;
    tu_write_file(path, raw, len);
    free(raw);
    expect_reject(path, RT_ERR_FORMAT, "NUL");
}

static void test_save_errors_and_atomic(void **state)
{
    (void)state;
    char path[512], err[256];
    float v[3] = { 1, 2, 3 };
    rt_tensor t = { .dtype = RT_F32, .rank = 1, .dims = { 3 }, .data = v };

    /* replacing an existing file */
    tu_tmp_path(path, sizeof path, "a.npy");
    tu_write_file(path, "old", 3);
    assert_int_equal(rt_npy_save(path, &t, err, sizeof err), RT_OK);
    rt_tensor back;
    assert_int_equal(rt_npy_load(path, &back, err, sizeof err), RT_OK);
    assert_memory_equal(back.data, v, sizeof v);
    free(back.data);

    /* a missing directory: an I/O error, and no file appears */
    tu_tmp_path(path, sizeof path, "nodir/a.npy");
    assert_int_equal(rt_npy_save(path, &t, err, sizeof err), RT_ERR_IO);
    assert_non_null(strstr(err, "nodir"));
    assert_int_not_equal(access(path, F_OK), 0);

    /* bad tensors */
    tu_tmp_path(path, sizeof path, "b.npy");
    rt_tensor bad = t;
    bad.dtype = (rt_dtype)42;
    assert_int_equal(rt_npy_save(path, &bad, err, sizeof err), RT_ERR_ARG);
    assert_non_null(strstr(err, "dtype"));
    bad = t;
    bad.rank = 9;
    assert_int_equal(rt_npy_save(path, &bad, err, sizeof err), RT_ERR_ARG);
    bad = t;
    bad.dims[0] = -1;
    assert_int_equal(rt_npy_save(path, &bad, err, sizeof err), RT_ERR_ARG);
    bad = t;
    bad.data = NULL;
    assert_int_equal(rt_npy_save(path, &bad, err, sizeof err), RT_ERR_ARG);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(rt_npy_save(NULL, &t, err, sizeof err), RT_ERR_ARG);
    assert_int_equal(rt_npy_load(NULL, &back, err, sizeof err), RT_ERR_ARG);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(rt_dtype_name(RT_F32), "f32");
    assert_string_equal(rt_dtype_name(RT_BOOL), "bool");
    assert_string_equal(rt_dtype_name((rt_dtype)99), "?");
    assert_int_equal(rt_dtype_size(RT_I64), 8);
    assert_int_equal(rt_dtype_size((rt_dtype)0), 0);
    assert_string_equal(rt_status_name(RT_ERR_FORMAT), "RT_ERR_FORMAT");
    assert_string_equal(rt_status_name(RT_OK), "RT_OK");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_all),
        cmocka_unit_test(test_descr_strings),
        cmocka_unit_test(test_numpy_files),
        cmocka_unit_test(test_versions_and_handmade),
        cmocka_unit_test(test_rejects_numpy_made),
        cmocka_unit_test(test_rejects_crafted),
        cmocka_unit_test(test_save_errors_and_atomic),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
