/* tests/test_rt_idx.c -- the IDX reader (runtime/idx.c): every data type,
 * plain and gzip (files made here, gzip through zlib), int16 widened to
 * int32, empty and scalar arrays; every rejection (magic, type, rank,
 * truncation, trailing bytes, overflow, corrupt and truncated gzip); every
 * truncation and bit flip of small files without a crash; and, when Debian's
 * dataset-fashion-mnist is installed, the real Fashion-MNIST files (skipped
 * otherwise). */
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
#include <zlib.h>
#include <cmocka.h>

#include "graphrt.h"
#include "testutil.h"

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_make("rt_idx");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove();
    return 0;
}

/* ---- building IDX bytes ---- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_be(buf *b, uint64_t v, int n)
{
    unsigned char t[8];
    for (int i = 0; i < n; i++)
        t[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
    put(b, t, (size_t)n);
}

/* header: 00 00 type rank, then rank big-endian uint32 sizes */
static void idx_header(buf *b, int type, int rank, const uint32_t *dims)
{
    unsigned char h[4] = { 0, 0, (unsigned char)type, (unsigned char)rank };
    put(b, h, 4);
    for (int i = 0; i < rank; i++)
        put_be(b, dims[i], 4);
}

static void write_gz(const char *path, const void *d, size_t n)
{
    gzFile g = gzopen(path, "wb9");
    assert_non_null(g);
    if (n)
        assert_int_equal(gzwrite(g, d, (unsigned)n), (int)n);
    assert_int_equal(gzclose(g), Z_OK);
}

/* Loads path expecting failure with status st and a message containing want. */
static void expect_fail(const char *path, rt_status st, const char *want)
{
    rt_tensor t;
    char err[512] = "";
    rt_status got = rt_idx_load(path, &t, err, sizeof err);
    if (got != st || !strstr(err, want))
        fail_msg("%s: expected %s with \"%s\", got %s: \"%s\"", path, rt_status_name(st), want,
                 rt_status_name(got), err);
    assert_null(t.data);
    assert_int_equal(t.rank, 0);
}

/* Writes bytes as name (plain) and name.gz, expects both to fail alike. */
static void expect_fail_both(const char *name, const buf *b, const char *want)
{
    char p[512];
    tu_tmp_path(p, sizeof p, name);
    tu_write_file(p, b->p, b->n);
    expect_fail(p, RT_ERR_FORMAT, want);
    char gz[600];
    snprintf(gz, sizeof gz, "%s.gz", p);
    write_gz(gz, b->p, b->n);
    expect_fail(gz, RT_ERR_FORMAT, want);
}

/* ---- reading every type, plain and gzip ---- */

static void load_both(const buf *b, const char *name, rt_tensor *plain, rt_tensor *gz)
{
    char p[512], e[512] = "";
    tu_tmp_path(p, sizeof p, name);
    tu_write_file(p, b->p, b->n);
    if (rt_idx_load(p, plain, e, sizeof e) != RT_OK)
        fail_msg("%s: %s", p, e);
    char g[600];
    snprintf(g, sizeof g, "%s.gz", p);
    write_gz(g, b->p, b->n);
    if (rt_idx_load(g, gz, e, sizeof e) != RT_OK)
        fail_msg("%s: %s", g, e);
}

static void test_u8_images(void **state)
{
    (void)state;
    uint32_t dims[3] = { 3, 2, 2 };
    buf b = { 0 };
    idx_header(&b, 0x08, 3, dims);
    unsigned char px[12];
    for (int i = 0; i < 12; i++)
        px[i] = (unsigned char)(i * 23);
    put(&b, px, 12);
    rt_tensor t[2];
    load_both(&b, "u8.idx", &t[0], &t[1]);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(t[k].dtype, RT_U8);
        assert_int_equal(t[k].rank, 3);
        assert_int_equal(t[k].dims[0], 3);
        assert_int_equal(t[k].dims[1], 2);
        assert_int_equal(t[k].dims[2], 2);
        assert_memory_equal(t[k].data, px, 12);
        free(t[k].data);
    }
    free(b.p);
}

static void test_i8(void **state)
{
    (void)state;
    uint32_t dims[1] = { 4 };
    buf b = { 0 };
    idx_header(&b, 0x09, 1, dims);
    int8_t v[4] = { -128, -1, 0, 127 };
    put(&b, v, 4);
    rt_tensor t[2];
    load_both(&b, "i8.idx", &t[0], &t[1]);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(t[k].dtype, RT_I8);
        assert_int_equal(t[k].rank, 1);
        assert_int_equal(t[k].dims[0], 4);
        assert_memory_equal(t[k].data, v, 4);
        free(t[k].data);
    }
    free(b.p);
}

static void test_i16_widened(void **state)
{
    (void)state;
    uint32_t dims[2] = { 2, 3 };
    buf b = { 0 };
    idx_header(&b, 0x0B, 2, dims);
    int32_t v[6] = { -32768, -2, -1, 0, 258, 32767 };
    for (int i = 0; i < 6; i++)
        put_be(&b, (uint16_t)(int16_t)v[i], 2);
    rt_tensor t[2];
    load_both(&b, "i16.idx", &t[0], &t[1]);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(t[k].dtype, RT_I32); /* widened: the runtime has no int16 */
        assert_int_equal(t[k].rank, 2);
        assert_int_equal(t[k].dims[0], 2);
        assert_int_equal(t[k].dims[1], 3);
        assert_memory_equal(t[k].data, v, sizeof v);
        free(t[k].data);
    }
    free(b.p);
}

static void test_i32(void **state)
{
    (void)state;
    uint32_t dims[1] = { 4 };
    buf b = { 0 };
    idx_header(&b, 0x0C, 1, dims);
    int32_t v[4] = { INT32_MIN, -5, 0x01020304, INT32_MAX };
    for (int i = 0; i < 4; i++)
        put_be(&b, (uint32_t)v[i], 4);
    rt_tensor t[2];
    load_both(&b, "i32.idx", &t[0], &t[1]);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(t[k].dtype, RT_I32);
        assert_memory_equal(t[k].data, v, sizeof v);
        free(t[k].data);
    }
    free(b.p);
}

static void test_f32_f64(void **state)
{
    (void)state;
    uint32_t dims[2] = { 1, 3 };
    float f[3] = { 1.5f, -0.25f, 3.0e-38f };
    double d[3] = { 1.0 / 3.0, -1e300, 0.0 };
    buf bf = { 0 }, bd = { 0 };
    idx_header(&bf, 0x0D, 2, dims);
    idx_header(&bd, 0x0E, 2, dims);
    for (int i = 0; i < 3; i++) {
        uint32_t u;
        uint64_t w;
        memcpy(&u, &f[i], 4);
        memcpy(&w, &d[i], 8);
        put_be(&bf, u, 4);
        put_be(&bd, w, 8);
    }
    rt_tensor t[2];
    load_both(&bf, "f32.idx", &t[0], &t[1]);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(t[k].dtype, RT_F32);
        assert_int_equal(t[k].rank, 2);
        assert_memory_equal(t[k].data, f, sizeof f);
        free(t[k].data);
    }
    load_both(&bd, "f64.idx", &t[0], &t[1]);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(t[k].dtype, RT_F64);
        assert_memory_equal(t[k].data, d, sizeof d);
        free(t[k].data);
    }
    free(bf.p);
    free(bd.p);
}

static void test_empty_and_scalar(void **state)
{
    (void)state;
    /* a 0 x 28 x 28 image set: no data, still a valid tensor */
    uint32_t dims[3] = { 0, 28, 28 };
    buf b = { 0 };
    idx_header(&b, 0x08, 3, dims);
    rt_tensor t[2];
    load_both(&b, "empty.idx", &t[0], &t[1]);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(t[k].rank, 3);
        assert_int_equal(t[k].dims[0], 0);
        assert_int_equal(t[k].dims[2], 28);
        assert_non_null(t[k].data);
        free(t[k].data);
    }
    free(b.p);
    /* zero dims with a huge neighbour: still empty, not an overflow */
    uint32_t big[3] = { 0xFFFFFFFFu, 0, 0xFFFFFFFFu };
    buf z = { 0 };
    idx_header(&z, 0x0E, 3, big);
    load_both(&z, "empty_big.idx", &t[0], &t[1]);
    free(t[0].data);
    free(t[1].data);
    free(z.p);
    /* rank 0: one element */
    buf s = { 0 };
    idx_header(&s, 0x0C, 0, NULL);
    put_be(&s, 7, 4);
    load_both(&s, "scalar.idx", &t[0], &t[1]);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(t[k].rank, 0);
        assert_int_equal(*(int32_t *)t[k].data, 7);
        free(t[k].data);
    }
    free(s.p);
}

/* A file with the gzip magic is read through zlib even if named .idx. */
static void test_detects_gzip_by_magic(void **state)
{
    (void)state;
    uint32_t dims[1] = { 3 };
    buf b = { 0 };
    idx_header(&b, 0x08, 1, dims);
    put(&b, "\x01\x02\x03", 3);
    char p[512], e[256];
    tu_tmp_path(p, sizeof p, "really_gzip.idx");
    write_gz(p, b.p, b.n);
    rt_tensor t;
    assert_int_equal(rt_idx_load(p, &t, e, sizeof e), RT_OK);
    assert_memory_equal(t.data, "\x01\x02\x03", 3);
    free(t.data);
    /* and a plain file named .gz is read plain */
    tu_tmp_path(p, sizeof p, "plain.gz");
    tu_write_file(p, b.p, b.n);
    assert_int_equal(rt_idx_load(p, &t, e, sizeof e), RT_OK);
    free(t.data);
    free(b.p);
}

/* ---- rejections ---- */

static void test_rejects_header(void **state)
{
    (void)state;
    buf b = { 0 };
    expect_fail_both("empty", &b, "empty");
    put(&b, "\x00\x00\x08", 3);
    expect_fail_both("short_hdr", &b, "truncated IDX header");
    b.n = 0;
    put(&b, "\x00\x01\x08\x01\x00\x00\x00\x01\x05", 9);
    expect_fail_both("bad_magic", &b, "not an IDX file");
    b.n = 0;
    put(&b, "\x00\x00\x0A\x01\x00\x00\x00\x01\x05", 9);
    expect_fail_both("bad_type", &b, "unknown IDX data type 0x0A");
    b.n = 0;
    put(&b, "\x00\x00\x08\x09", 4);
    expect_fail_both("rank9", &b, "9 dimensions");
    b.n = 0;
    put(&b, "\x00\x00\x08\xFF", 4);
    expect_fail_both("rank255", &b, "255 dimensions");
    b.n = 0;
    put(&b, "\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00", 10);
    expect_fail_both("short_dims", &b, "truncated IDX header: 3 dimension sizes");
    /* a text file */
    char p[512];
    tu_tmp_path(p, sizeof p, "text");
    tu_write_file(p, "hello world\n", 12);
    expect_fail(p, RT_ERR_FORMAT, "not an IDX file");
    free(b.p);
}

static void test_rejects_sizes(void **state)
{
    (void)state;
    uint32_t dims[2] = { 2, 3 };
    buf b = { 0 };
    idx_header(&b, 0x0C, 2, dims);
    for (int i = 0; i < 6; i++)
        put_be(&b, (uint32_t)i, 4);
    size_t full = b.n;
    b.n = full - 1;
    expect_fail_both("trunc1", &b, "truncated IDX");
    b.n = full - 24;
    expect_fail_both("nodata", &b, "truncated IDX");
    b.n = full;
    put(&b, "\x00", 1);
    expect_fail_both("trailing", &b, "trailing bytes");
    /* the plain message gives the exact counts */
    char p[512];
    tu_tmp_path(p, sizeof p, "trunc_counts");
    tu_write_file(p, b.p, full - 5);
    expect_fail(p, RT_ERR_FORMAT, "announces 24 bytes of i32 data, the file holds 19");
    tu_tmp_path(p, sizeof p, "trail_counts");
    tu_write_file(p, b.p, full + 1);
    expect_fail(p, RT_ERR_FORMAT, "1 trailing bytes");
    free(b.p);
}

static void test_rejects_absurd_dims(void **state)
{
    (void)state;
    uint32_t dims[8];
    for (int i = 0; i < 8; i++)
        dims[i] = 0xFFFFFFFFu;
    buf b = { 0 };
    idx_header(&b, 0x08, 8, dims);
    put(&b, "\x01\x02", 2);
    expect_fail_both("overflow8", &b, "overflow");
    /* 2^31 x 2^31 x f64: 2^62 elements, 2^65 bytes */
    uint32_t d3[3] = { 0x80000000u, 0x80000000u, 1 };
    b.n = 0;
    idx_header(&b, 0x0E, 3, d3);
    expect_fail_both("overflow_bytes", &b, "overflow");
    /* int16 widened: 2^61 elements fit 2 bytes each... but not 4 */
    uint32_t d4[2] = { 0x80000000u, 0x40000000u };
    b.n = 0;
    idx_header(&b, 0x0B, 2, d4);
    expect_fail_both("overflow_i16", &b, "overflow");
    /* no overflow but far more than the file holds: refused before any huge
       allocation (plain: from the file length; gzip: the buffer grows only
       as data really comes) */
    uint32_t d2[2] = { 0x7FFFFFFFu, 0x7FFFFFFFu };
    b.n = 0;
    idx_header(&b, 0x08, 2, d2);
    put(&b, "\x01\x02\x03", 3);
    expect_fail_both("huge", &b, "truncated IDX");
    free(b.p);
}

static void test_rejects_bad_gzip(void **state)
{
    (void)state;
    uint32_t dims[2] = { 40, 40 };
    buf b = { 0 };
    idx_header(&b, 0x08, 2, dims);
    unsigned char px[1600];
    for (int i = 0; i < 1600; i++)
        px[i] = (unsigned char)((i * 7919) >> 3);
    put(&b, px, sizeof px);
    char p[512], q[512];
    tu_tmp_path(p, sizeof p, "good.gz");
    write_gz(p, b.p, b.n);
    size_t n;
    unsigned char *gz = tu_read_file(p, &n);
    rt_tensor t;
    char e[512];
    assert_int_equal(rt_idx_load(p, &t, e, sizeof e), RT_OK);
    assert_memory_equal(t.data, px, sizeof px);
    free(t.data);

    /* cut in the middle of the deflate stream, and just before the trailer */
    tu_tmp_path(q, sizeof q, "cut.gz");
    tu_write_file(q, gz, n / 2);
    expect_fail(q, RT_ERR_FORMAT, "gzip");
    tu_write_file(q, gz, n - 8);
    expect_fail(q, RT_ERR_FORMAT, "truncated gzip stream");
    tu_write_file(q, gz, n - 3);
    expect_fail(q, RT_ERR_FORMAT, "truncated gzip stream");
    tu_write_file(q, gz, 2); /* the magic alone */
    expect_fail(q, RT_ERR_FORMAT, "");
    /* a wrong CRC in the trailer */
    gz[n - 6] ^= 0x40;
    tu_write_file(q, gz, n);
    expect_fail(q, RT_ERR_FORMAT, "corrupt gzip data");
    gz[n - 6] ^= 0x40;
    /* a wrong length in the trailer */
    gz[n - 2] ^= 0x01;
    tu_write_file(q, gz, n);
    expect_fail(q, RT_ERR_FORMAT, "corrupt gzip data");
    gz[n - 2] ^= 0x01;
    /* a bad compression method in the gzip header */
    gz[2] = 7;
    tu_write_file(q, gz, n);
    expect_fail(q, RT_ERR_FORMAT, "");
    free(gz);
    free(b.p);
}

static void test_rejects_args_and_io(void **state)
{
    (void)state;
    rt_tensor t;
    char e[512] = "";
    assert_int_equal(rt_idx_load(NULL, &t, e, sizeof e), RT_ERR_ARG);
    assert_int_equal(rt_idx_load("x", NULL, e, sizeof e), RT_ERR_ARG);
    char p[512];
    tu_tmp_path(p, sizeof p, "does_not_exist.idx");
    expect_fail(p, RT_ERR_IO, "cannot open");
    expect_fail(tu_tmpdir, RT_ERR_IO, "directory");
    /* no error buffer: still a status, no crash */
    assert_int_equal(rt_idx_load(p, &t, NULL, 0), RT_ERR_IO);
}

/* Every truncation and every single-bit flip of a small file, plain and
 * gzip: never a crash, either a valid tensor or an error with a message. */
static void check_robust(const char *path, const unsigned char *d, size_t n)
{
    unsigned char *m = malloc(n ? n : 1);
    assert_non_null(m);
    int n_ok = 0, n_bad = 0;
    for (size_t len = 0; len <= n; len++) {
        tu_write_file(path, d, len);
        rt_tensor t;
        char e[512] = "";
        rt_status st = rt_idx_load(path, &t, e, sizeof e);
        if (st == RT_OK) {
            n_ok++;
            free(t.data);
        } else {
            n_bad++;
            assert_true(e[0] != 0);
            assert_null(t.data);
        }
    }
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(m, d, n);
            m[i] ^= (unsigned char)(1u << bit);
            tu_write_file(path, m, n);
            rt_tensor t;
            char e[512] = "";
            rt_status st = rt_idx_load(path, &t, e, sizeof e);
            if (st == RT_OK) {
                n_ok++;
                assert_true(t.rank >= 0 && t.rank <= RT_MAX_RANK);
                free(t.data);
            } else {
                n_bad++;
                assert_true(e[0] != 0);
            }
        }
    assert_true(n_bad > 0);
    (void)n_ok;
    free(m);
}

static void test_truncations_and_bit_flips(void **state)
{
    (void)state;
    uint32_t dims[3] = { 2, 3, 2 };
    buf b = { 0 };
    idx_header(&b, 0x0B, 3, dims);
    for (int i = 0; i < 12; i++)
        put_be(&b, (uint16_t)(i * 3000), 2);
    char p[512];
    tu_tmp_path(p, sizeof p, "fuzz.idx");
    check_robust(p, b.p, b.n);
    /* the gzip form of it */
    char g[512];
    tu_tmp_path(g, sizeof g, "fuzz_src.gz");
    write_gz(g, b.p, b.n);
    size_t n;
    unsigned char *gz = tu_read_file(g, &n);
    tu_tmp_path(p, sizeof p, "fuzz.gz");
    check_robust(p, gz, n);
    free(gz);
    free(b.p);
}

/* ---- the real Fashion-MNIST (Debian's dataset-fashion-mnist), when installed ---- */

#ifndef FMNIST_DIR
#define FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#endif

static void check_fmnist(const char *images, const char *labels, int64_t n)
{
    char p[512], e[512] = "";
    snprintf(p, sizeof p, "%s/%s", FMNIST_DIR, images);
    rt_tensor x, y;
    if (rt_idx_load(p, &x, e, sizeof e) != RT_OK)
        fail_msg("%s", e);
    assert_int_equal(x.dtype, RT_U8);
    assert_int_equal(x.rank, 3);
    assert_int_equal(x.dims[0], n);
    assert_int_equal(x.dims[1], 28);
    assert_int_equal(x.dims[2], 28);
    const unsigned char *px = x.data;
    int maxv = 0;
    for (int64_t i = 0; i < n * 28 * 28; i++)
        if (px[i] > maxv)
            maxv = px[i];
    assert_int_equal(maxv, 255);
    free(x.data);
    snprintf(p, sizeof p, "%s/%s", FMNIST_DIR, labels);
    if (rt_idx_load(p, &y, e, sizeof e) != RT_OK)
        fail_msg("%s", e);
    assert_int_equal(y.dtype, RT_U8);
    assert_int_equal(y.rank, 1);
    assert_int_equal(y.dims[0], n);
    int64_t count[10] = { 0 };
    const unsigned char *lb = y.data;
    for (int64_t i = 0; i < n; i++) {
        assert_true(lb[i] < 10);
        count[lb[i]]++;
    }
    for (int c = 0; c < 10; c++) /* Fashion-MNIST is balanced */
        assert_int_equal(count[c], n / 10);
    free(y.data);
}

static void test_fashion_mnist(void **state)
{
    (void)state;
    char p[512];
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", FMNIST_DIR);
    if (access(p, R_OK) != 0) {
        printf("skipped: %s not installed (apt-get install dataset-fashion-mnist)\n", FMNIST_DIR);
        skip();
    }
    check_fmnist("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000);
    check_fmnist("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u8_images),
        cmocka_unit_test(test_i8),
        cmocka_unit_test(test_i16_widened),
        cmocka_unit_test(test_i32),
        cmocka_unit_test(test_f32_f64),
        cmocka_unit_test(test_empty_and_scalar),
        cmocka_unit_test(test_detects_gzip_by_magic),
        cmocka_unit_test(test_rejects_header),
        cmocka_unit_test(test_rejects_sizes),
        cmocka_unit_test(test_rejects_absurd_dims),
        cmocka_unit_test(test_rejects_bad_gzip),
        cmocka_unit_test(test_rejects_args_and_io),
        cmocka_unit_test(test_truncations_and_bit_flips),
        cmocka_unit_test(test_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
