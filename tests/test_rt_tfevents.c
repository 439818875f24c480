/* tests/test_rt_tfevents.c -- the TensorBoard event writer (runtime/tfevents.c):
 * the CRC-32C vectors of shared/notes/formats.md (and a bitwise CRC written
 * here, independent of the writer's table), the exact bytes of the two
 * example records there, and a reader written here that parses the files
 * back (TFRecord framing, both CRCs, the Event/Summary protobuf) for steps,
 * values and tags of every awkward kind; file naming, mkdir -p, and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "graphrt.h"
#include "tfevents.h"
#include "testutil.h"

static int setup(void **state)
{
    (void)state;
    return tu_tmpdir_make("rt_tfev");
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove();
    return 0;
}

/* ---- CRC-32C ---- */

/* Bit by bit, straight from the definition: independent of the table. */
static uint32_t crc32c_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}

static uint32_t unmask(uint32_t m)
{
    uint32_t rot = m - 0xA282EAD8u;
    return (rot >> 17) | (rot << 15);
}

static void test_crc32c_vectors(void **state)
{
    (void)state;
    assert_int_equal(rt_crc32c("123456789", 9), 0xE3069283u);
    unsigned char b[32];
    memset(b, 0, 32);
    assert_int_equal(rt_crc32c(b, 32), 0x8A9136AAu);
    memset(b, 0xFF, 32);
    assert_int_equal(rt_crc32c(b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (unsigned char)i;
    assert_int_equal(rt_crc32c(b, 32), 0x46DD794Eu);
    unsigned char len24[8] = { 24, 0, 0, 0, 0, 0, 0, 0 };
    assert_int_equal(rt_crc32c(len24, 8), 0x4A65BFE4u);
    assert_int_equal(rt_crc32c_mask(0x4A65BFE4u), 0x224B7FA3u);
    assert_int_equal(unmask(0x224B7FA3u), 0x4A65BFE4u);
    assert_int_equal(rt_crc32c("", 0), 0);
    /* the table against the definition on pseudo-random data of every length */
    unsigned char r[300];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof r; i++) {
        x = x * 1103515245u + 12345u;
        r[i] = (unsigned char)(x >> 16);
    }
    for (size_t n = 0; n <= sizeof r; n++)
        assert_int_equal(rt_crc32c(r, n), crc32c_bitwise(r, n));
    assert_int_equal(crc32c_bitwise((const unsigned char *)"123456789", 9), 0xE3069283u);
}

/* ---- a reader: framing, CRCs and the protobuf of Event ---- */

typedef struct event {
    int has_wall_time;
    double wall_time;
    int64_t step;
    char *file_version;      /* malloc'ed or NULL */
    int has_summary, n_values;
    char *tag;               /* of the first value, malloc'ed */
    int has_simple_value;
    float simple_value;
} event;

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end)
            return -1;
        unsigned char c = *(*p)++;
        *v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80))
            return 0;
    }
    return -1;
}

/* Walks one message: for each field calls back with its number, wire type,
 * varint/fixed value or bytes. Fails the test on malformed data. */
typedef void (*field_fn)(void *ctx, int num, int wt, uint64_t v, const unsigned char *b, size_t n);

static void walk(const unsigned char *p, size_t n, field_fn fn, void *ctx)
{
    const unsigned char *end = p + n;
    while (p < end) {
        uint64_t key, v = 0;
        assert_int_equal(get_varint(&p, end, &key), 0);
        int num = (int)(key >> 3), wt = (int)(key & 7);
        const unsigned char *b = NULL;
        size_t bn = 0;
        switch (wt) {
        case 0:
            assert_int_equal(get_varint(&p, end, &v), 0);
            break;
        case 1:
            assert_true(end - p >= 8);
            v = get_le(p, 8);
            p += 8;
            break;
        case 5:
            assert_true(end - p >= 4);
            v = get_le(p, 4);
            p += 4;
            break;
        case 2:
            assert_int_equal(get_varint(&p, end, &v), 0);
            assert_true(v <= (uint64_t)(end - p));
            b = p;
            bn = (size_t)v;
            p += bn;
            break;
        default:
            fail_msg("unexpected wire type %d", wt);
        }
        fn(ctx, num, wt, v, b, bn);
    }
}

static char *dup_bytes(const unsigned char *b, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, b, n);
    s[n] = 0;
    return s;
}

static void value_field(void *ctx, int num, int wt, uint64_t v, const unsigned char *b, size_t n)
{
    event *e = ctx;
    if (num == 1 && wt == 2) {
        assert_null(e->tag);
        e->tag = dup_bytes(b, n);
    } else if (num == 2 && wt == 5) {
        uint32_t u = (uint32_t)v;
        memcpy(&e->simple_value, &u, 4);
        e->has_simple_value = 1;
    } else {
        fail_msg("unexpected Summary.Value field %d", num);
    }
}

static void summary_field(void *ctx, int num, int wt, uint64_t v, const unsigned char *b, size_t n)
{
    event *e = ctx;
    assert_int_equal(num, 1);
    assert_int_equal(wt, 2);
    e->n_values++;
    walk(b, n, value_field, e);
}

static void event_field(void *ctx, int num, int wt, uint64_t v, const unsigned char *b, size_t n)
{
    event *e = ctx;
    if (num == 1 && wt == 1) {
        memcpy(&e->wall_time, &v, 8);
        e->has_wall_time = 1;
    } else if (num == 2 && wt == 0) {
        e->step = (int64_t)v;
    } else if (num == 3 && wt == 2) {
        e->file_version = dup_bytes(b, n);
    } else if (num == 5 && wt == 2) {
        e->has_summary = 1;
        walk(b, n, summary_field, e);
    } else {
        fail_msg("unexpected Event field %d", num);
    }
}

/* Parses every record of the file at path into events (at most cap);
 * checks the framing and both CRCs of each. Returns the count. */
static int read_events(const char *path, event *ev, int cap)
{
    size_t n;
    unsigned char *d = tu_read_file(path, &n);
    size_t off = 0;
    int k = 0;
    while (off < n) {
        assert_true(n - off >= 12);
        uint64_t len = get_le(d + off, 8);
        assert_int_equal(get_le(d + off + 8, 4), rt_crc32c_mask(crc32c_bitwise(d + off, 8)));
        assert_true(len <= n - off - 16);
        const unsigned char *data = d + off + 12;
        assert_int_equal(get_le(data + len, 4), rt_crc32c_mask(crc32c_bitwise(data, (size_t)len)));
        assert_true(k < cap);
        memset(&ev[k], 0, sizeof ev[k]);
        walk(data, (size_t)len, event_field, &ev[k]);
        k++;
        off += 16 + (size_t)len;
    }
    free(d);
    return k;
}

static void free_events(event *ev, int n)
{
    for (int i = 0; i < n; i++) {
        free(ev[i].file_version);
        free(ev[i].tag);
    }
}

/* ---- exact bytes ---- */

static const unsigned char rec_version[] = {
    0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa3, 0x7f, 0x4b, 0x22,
    0x09, 0x00, 0x00, 0x00, 0x40, 0xfc, 0x54, 0xd9, 0x41, 0x1a, 0x0d, 0x62, 0x72, 0x61, 0x69,
    0x6e, 0x2e, 0x45, 0x76, 0x65, 0x6e, 0x74, 0x3a, 0x32,
    0xec, 0xed, 0x8f, 0x9d,
};
static const unsigned char rec_scalar[] = {
    0x1a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x9b, 0xd8, 0x2d,
    0x09, 0x00, 0x00, 0x60, 0x40, 0xfc, 0x54, 0xd9, 0x41, 0x10, 0x01, 0x2a, 0x0d, 0x0a, 0x0b,
    0x0a, 0x04, 0x6c, 0x6f, 0x73, 0x73, 0x15, 0x00, 0x00, 0x00, 0x3f,
    0x2e, 0xe4, 0x2f, 0x0f,
};

static void test_exact_bytes(void **state)
{
    (void)state;
    char dir[512], err[512] = "";
    snprintf(dir, sizeof dir, "%s/exact", tu_tmpdir);
    rt_events *w = NULL;
    if (rt_events_open_at(dir, 1700000000.0, &w, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    assert_int_equal(rt_events_scalar_at(w, "loss", 1, 0.5f, 1700000001.5), RT_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s", rt_events_path(w));
    /* flushed after each record: the bytes are there before close */
    size_t n;
    unsigned char *d = tu_read_file(path, &n);
    assert_int_equal(n, sizeof rec_version + sizeof rec_scalar);
    assert_memory_equal(d, rec_version, sizeof rec_version);
    assert_memory_equal(d + sizeof rec_version, rec_scalar, sizeof rec_scalar);
    free(d);
    assert_int_equal(rt_events_close(w), RT_OK);

    /* the name: <dir>/events.out.tfevents.1700000000.<host>.graphc */
    char want[600];
    snprintf(want, sizeof want, "%s/events.out.tfevents.1700000000.", dir);
    assert_int_equal(strncmp(path, want, strlen(want)), 0);
    size_t pl = strlen(path);
    assert_true(pl > strlen(want) + 7);
    assert_string_equal(path + pl - 7, ".graphc");
    const char *host = path + strlen(want);
    assert_null(memchr(host, '/', pl - strlen(want)));
    assert_true(host[0] != '.');
}

/* ---- round trips ---- */

/* The wall clock the writer stamps events with (CLOCK_REALTIME). Not
 * time(NULL): glibc's time() reads the kernel's coarse clock, another clock
 * than the writer's, so bounds taken from it are not guaranteed to hold. */
static double wall_now(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9; /* as the writer computes it */
}

static void test_round_trip(void **state)
{
    (void)state;
    char dir[512], err[512] = "";
    snprintf(dir, sizeof dir, "%s/rt", tu_tmpdir);
    rt_events *w = NULL;
    if (rt_events_open_at(dir, 1234567890.25, &w, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    char long_tag[301];
    memset(long_tag, 'a', 300); /* a 300-byte tag: two-byte length varints */
    long_tag[0] = 'L';
    long_tag[300] = 0;
    struct { const char *tag; int64_t step; float v; double t; } in[] = {
        { "loss", 0, 2.5f, 1234567891.0 },          /* step 0: left out, reads back as 0 */
        { "train/accuracy", 1, 0.0f, 1234567892.5 }, /* 0.0: must still be written (oneof) */
        { "x", -1, -0.0f, 1234567893.0 },            /* negative step: 10-byte varint */
        { "x", INT64_MIN, 1e-45f, 1.0 },
        { "x", INT64_MAX, -3.4028235e38f, 0.0 },     /* wall time 0: left out */
        { "\xce\xbb/loss \xe2\x9c\x93", 300, 1.0f, 1234567894.0 }, /* UTF-8 */
        { long_tag, 1u << 20, INFINITY, 1234567895.0 },
        { "nan", 7, NAN, 1234567896.0 },
    };
    int n_in = (int)(sizeof in / sizeof in[0]);
    for (int i = 0; i < n_in; i++)
        if (rt_events_scalar_at(w, in[i].tag, in[i].step, in[i].v, in[i].t) != RT_OK)
            fail_msg("record %d: %s", i, rt_events_last_error(w));
    /* with the real clock */
    double before = wall_now();
    assert_int_equal(rt_events_scalar(w, "clock", 99, 4.0f), RT_OK);
    double after = wall_now();
    char path[1024];
    snprintf(path, sizeof path, "%s", rt_events_path(w));
    assert_int_equal(rt_events_close(w), RT_OK);

    event ev[16];
    int n = read_events(path, ev, 16);
    assert_int_equal(n, n_in + 2);
    assert_true(ev[0].has_wall_time);
    assert_true(ev[0].wall_time == 1234567890.25);
    assert_string_equal(ev[0].file_version, "brain.Event:2");
    assert_false(ev[0].has_summary);
    for (int i = 0; i < n_in; i++) {
        event *e = &ev[i + 1];
        assert_null(e->file_version);
        assert_true(e->has_summary);
        assert_int_equal(e->n_values, 1);
        assert_string_equal(e->tag, in[i].tag);
        assert_true(e->has_simple_value);
        assert_true(e->step == in[i].step);
        assert_int_equal(e->has_wall_time, in[i].t != 0.0);
        if (e->has_wall_time)
            assert_true(e->wall_time == in[i].t);
        if (isnan(in[i].v))
            assert_true(isnan(e->simple_value));
        else
            assert_memory_equal(&e->simple_value, &in[i].v, 4);
    }
    event *c = &ev[n_in + 1];
    assert_string_equal(c->tag, "clock");
    assert_true(c->step == 99 && c->simple_value == 4.0f);
    assert_true(c->wall_time >= before && c->wall_time <= after);
    free_events(ev, n);
}

/* rt_events_open: real clock, nested directories, a second file in the same second. */
static void test_open_naming(void **state)
{
    (void)state;
    char dir[512], err[512] = "";
    snprintf(dir, sizeof dir, "%s/a/b//c/", tu_tmpdir);
    double t0 = wall_now();
    rt_events *w = NULL;
    if (rt_events_open(dir, &w, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    double t1 = wall_now();
    const char *p = rt_events_path(w);
    const char *base = strrchr(p, '/') + 1;
    assert_int_equal(strncmp(base, "events.out.tfevents.", 20), 0);
    char digits[11];
    memcpy(digits, base + 20, 10);
    digits[10] = 0;
    assert_int_equal(base[30], '.');
    long long secs = atoll(digits);
    assert_true(secs >= (long long)floor(t0) && secs <= (long long)floor(t1));
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_size, 40); /* the file_version record, flushed */
    event ev[2];
    assert_int_equal(read_events(p, ev, 2), 1);
    assert_string_equal(ev[0].file_version, "brain.Event:2");
    assert_true(ev[0].wall_time >= t0 && ev[0].wall_time <= t1);
    free_events(ev, 1);
    assert_int_equal(rt_events_close(w), RT_OK);

    /* two writers at the same wall time: two files, never an append */
    rt_events *w1 = NULL, *w2 = NULL;
    snprintf(dir, sizeof dir, "%s/same", tu_tmpdir);
    assert_int_equal(rt_events_open_at(dir, 1700000000.0, &w1, err, sizeof err), RT_OK);
    assert_int_equal(rt_events_open_at(dir, 1700000000.9, &w2, err, sizeof err), RT_OK);
    assert_string_not_equal(rt_events_path(w1), rt_events_path(w2));
    size_t l1 = strlen(rt_events_path(w1));
    assert_int_equal(strncmp(rt_events_path(w1), rt_events_path(w2), l1), 0);
    assert_string_equal(rt_events_path(w2) + l1, ".1");
    assert_int_equal(rt_events_scalar(w1, "a", 1, 1.0f), RT_OK);
    assert_int_equal(rt_events_scalar(w2, "b", 1, 2.0f), RT_OK);
    event e1[4], e2[4];
    assert_int_equal(read_events(rt_events_path(w1), e1, 4), 2);
    assert_int_equal(read_events(rt_events_path(w2), e2, 4), 2);
    assert_string_equal(e1[1].tag, "a");
    assert_string_equal(e2[1].tag, "b");
    free_events(e1, 2);
    free_events(e2, 2);
    assert_int_equal(rt_events_close(w1), RT_OK);
    assert_int_equal(rt_events_close(w2), RT_OK);
}

static void test_errors(void **state)
{
    (void)state;
    char dir[512], err[512] = "";
    rt_events *w = (rt_events *)&err; /* must be reset to NULL on error */
    assert_int_equal(rt_events_open(NULL, &w, err, sizeof err), RT_ERR_ARG);
    assert_null(w);
    assert_int_equal(rt_events_open("x", NULL, err, sizeof err), RT_ERR_ARG);
    assert_int_equal(rt_events_open("", &w, err, sizeof err), RT_ERR_ARG);
    assert_int_equal(rt_events_open_at("x", NAN, &w, err, sizeof err), RT_ERR_ARG);
    assert_int_equal(rt_events_open_at("x", -1.0, &w, err, sizeof err), RT_ERR_ARG);

    /* a path component that is a regular file */
    snprintf(dir, sizeof dir, "%s/file", tu_tmpdir);
    FILE *f = fopen(dir, "wb");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(rt_events_open(dir, &w, err, sizeof err), RT_ERR_IO);
    assert_null(w);
    assert_non_null(strstr(err, "not a directory"));
    snprintf(dir, sizeof dir, "%s/file/sub", tu_tmpdir);
    assert_int_equal(rt_events_open(dir, &w, err, sizeof err), RT_ERR_IO);
    assert_non_null(strstr(err, "cannot create directory"));
    assert_int_equal(rt_events_open(dir, &w, NULL, 0), RT_ERR_IO);

    /* bad tags: refused without writing anything */
    snprintf(dir, sizeof dir, "%s/tags", tu_tmpdir);
    assert_int_equal(rt_events_open_at(dir, 5.0, &w, err, sizeof err), RT_OK);
    assert_string_equal(rt_events_last_error(w), "");
    assert_int_equal(rt_events_scalar(w, NULL, 1, 1.0f), RT_ERR_ARG);
    assert_non_null(strstr(rt_events_last_error(w), "NULL"));
    assert_int_equal(rt_events_scalar(w, "", 1, 1.0f), RT_ERR_ARG);
    assert_non_null(strstr(rt_events_last_error(w), "empty"));
    const char *bad_utf8[] = { "\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                               "\xe2\x28\xa1" };
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        assert_int_equal(rt_events_scalar(w, bad_utf8[i], 1, 1.0f), RT_ERR_ARG);
        assert_non_null(strstr(rt_events_last_error(w), "UTF-8"));
    }
    assert_int_equal(rt_events_scalar_at(w, "t", 1, 1.0f, INFINITY), RT_ERR_ARG);
    assert_int_equal(rt_events_scalar(w, "ok", 2, 3.0f), RT_OK);
    event ev[4];
    assert_int_equal(read_events(rt_events_path(w), ev, 4), 2);
    assert_string_equal(ev[1].tag, "ok");
    free_events(ev, 2);
    assert_int_equal(rt_events_close(w), RT_OK);

    assert_int_equal(rt_events_scalar(NULL, "a", 1, 1.0f), RT_ERR_ARG);
    assert_int_equal(rt_events_close(NULL), RT_OK);
    assert_string_equal(rt_events_path(NULL), "");
    assert_string_equal(rt_events_last_error(NULL), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_open_naming),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
