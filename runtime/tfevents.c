/* runtime/tfevents.c -- a TensorBoard event-file writer
 * (shared/notes/formats.md section 2): TFRecord framing with masked CRC-32C,
 * and tensorflow.Event messages encoded by hand (file_version, scalar
 * summaries with simple_value), one record per call, flushed at once. */
#include "rt_internal.h"
#include "tfevents.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- CRC-32C, table of the reflected polynomial 0x82F63B78 ---- */

static const uint32_t crc32c_table[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu,
    0x26a1e7e8u, 0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
    0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu,
    0xf165b798u, 0x030e349bu, 0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
    0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u, 0x5d1d08bfu, 0xaf768bbcu,
    0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
    0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
    0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
    0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu,
    0x1642ae59u, 0xe4292d5au, 0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
    0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu,
    0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
    0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu, 0xfe53516fu,
    0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
    0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu,
    0x3ac7f2ebu, 0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
    0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu,
    0x4767748au, 0xb50cf789u, 0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
    0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u, 0x7198540du, 0x83f3d70eu,
    0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
    0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
    0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
    0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u,
    0xe9141340u, 0x1b7f9043u, 0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
    0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u, 0x55326b08u, 0xa759e80bu,
    0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
    0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u, 0x502036a5u,
    0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
    0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u,
    0x0e330a81u, 0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
    0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u,
    0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
    0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u, 0x0417b1dbu, 0xf67c32d8u,
    0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
    0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
    0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
    0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u,
    0x7fab5e8cu, 0x8dc0dd8fu, 0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
    0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u,
    0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
    0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au, 0xc69f7b69u,
    0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
    0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

uint32_t rt_crc32c(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc32c_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

uint32_t rt_crc32c_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

/* ---- protobuf encoding (wire types 0 varint, 1 fixed64, 2 bytes, 5 fixed32) ---- */

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- the writer ---- */

struct rt_events {
    FILE *f;
    char *path;
    int broken;          /* a write failed: the file may end in a partial record */
    char err[RT_ERR_MAX];
};

/* Frames data as one TFRecord, writes it and flushes. */
static rt_status write_record(rt_events *w, const unsigned char *data, size_t n)
{
    if (w->broken) {
        rt_errf(w->err, sizeof w->err, "%s: an earlier write failed; no more records are written",
                w->path);
        return RT_ERR_IO;
    }
    unsigned char *rec = malloc(n + 16);
    if (!rec) {
        rt_errf(w->err, sizeof w->err, "%s: out of memory for a record of %zu bytes", w->path, n);
        return RT_ERR_NOMEM;
    }
    put_le(rec, (uint64_t)n, 8);
    put_le(rec + 8, rt_crc32c_mask(rt_crc32c(rec, 8)), 4);
    memcpy(rec + 12, data, n);
    put_le(rec + 12 + n, rt_crc32c_mask(rt_crc32c(data, n)), 4);
    errno = 0;
    int bad = fwrite(rec, 1, n + 16, w->f) != n + 16 || fflush(w->f) != 0;
    int saved = errno;
    free(rec);
    if (bad) {
        w->broken = 1;
        rt_errf(w->err, sizeof w->err, "%s: write failed: %s", w->path,
                saved ? strerror(saved) : "short write");
        return RT_ERR_IO;
    }
    return RT_OK;
}

/* Event fields 1 and 2 (left out when zero, as proto3 does) into p. */
static size_t put_time_step(unsigned char *p, double wall_time, int64_t step)
{
    size_t n = 0;
    uint64_t bits;
    memcpy(&bits, &wall_time, 8);
    if (bits != 0) {
        p[n++] = 0x09; /* wall_time: field 1, fixed64 */
        put_le(p + n, bits, 8);
        n += 8;
    }
    if (step != 0) {
        p[n++] = 0x10; /* step: field 2, varint (a negative step takes 10 bytes) */
        n += put_varint(p + n, (uint64_t)step);
    }
    return n;
}

/* 1 when s is well-formed UTF-8 (no overlongs, surrogates or code points
 * over U+10FFFF): protobuf parsers reject a string field that is not. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned min, cp;
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

rt_status rt_events_scalar_at(rt_events *w, const char *tag, int64_t step, float value,
                              double wall_time)
{
    if (!w)
        return RT_ERR_ARG;
    if (!tag || !tag[0]) {
        rt_errf(w->err, sizeof w->err, "rt_events_scalar: the tag is %s", tag ? "empty" : "NULL");
        return RT_ERR_ARG;
    }
    size_t tl = strlen(tag);
    if (!utf8_ok((const unsigned char *)tag, tl)) {
        rt_errf(w->err, sizeof w->err, "rt_events_scalar: the tag is not valid UTF-8");
        return RT_ERR_ARG;
    }
    if (!isfinite(wall_time)) {
        rt_errf(w->err, sizeof w->err, "rt_events_scalar: the wall time is not finite");
        return RT_ERR_ARG;
    }
    if (tl > SIZE_MAX / 2 - 64) {
        rt_errf(w->err, sizeof w->err, "rt_events_scalar: the tag is too long");
        return RT_ERR_ARG;
    }
    /* Summary.Value { tag = 1; simple_value = 2 (in a oneof: written even when 0) } */
    size_t value_len = 1 + varint_len(tl) + tl + 5;
    size_t summary_len = 1 + varint_len(value_len) + value_len;
    unsigned char *ev = malloc(20 + 1 + varint_len(summary_len) + summary_len);
    if (!ev) {
        rt_errf(w->err, sizeof w->err, "%s: out of memory for a record", w->path);
        return RT_ERR_NOMEM;
    }
    size_t n = put_time_step(ev, wall_time, step);
    ev[n++] = 0x2A; /* Event.summary: field 5, bytes */
    n += put_varint(ev + n, summary_len);
    ev[n++] = 0x0A; /* Summary.value: field 1, bytes */
    n += put_varint(ev + n, value_len);
    ev[n++] = 0x0A; /* Value.tag: field 1, bytes */
    n += put_varint(ev + n, tl);
    memcpy(ev + n, tag, tl);
    n += tl;
    ev[n++] = 0x15; /* Value.simple_value: field 2, fixed32 */
    uint32_t vb;
    memcpy(&vb, &value, 4);
    put_le(ev + n, vb, 4);
    n += 4;
    rt_status st = write_record(w, ev, n);
    free(ev);
    return st;
}

static double now_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (double)time(NULL);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

rt_status rt_events_scalar(rt_events *w, const char *tag, int64_t step, float value)
{
    return rt_events_scalar_at(w, tag, step, value, now_seconds());
}

/* mkdir -p: creates every missing directory of path. */
static rt_status make_dirs(const char *path, char *err, size_t err_len)
{
    size_t n = strlen(path);
    char *p = malloc(n + 1);
    if (!p) {
        rt_errf(err, err_len, "%s: out of memory", path);
        return RT_ERR_NOMEM;
    }
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && p[i] != '/')
            continue;
        if (p[i - 1] == '/')
            continue; /* "a//b", or a trailing slash */
        char saved = p[i];
        p[i] = 0;
        if (mkdir(p, 0777) != 0) {
            int e = errno;
            struct stat sb;
            if (e != EEXIST || stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                rt_errf(err, err_len, "%s: cannot create directory %s: %s", path, p,
                        e == EEXIST ? "exists and is not a directory" : strerror(e));
                free(p);
                return RT_ERR_IO;
            }
        }
        p[i] = saved;
    }
    free(p);
    return RT_OK;
}

/* The host name with '/' and non-printable bytes made '_'; "localhost" when unknown. */
static void host_name(char *buf, size_t len)
{
    if (gethostname(buf, len) != 0 || !buf[0]) {
        snprintf(buf, len, "localhost");
        return;
    }
    buf[len - 1] = 0;
    for (char *c = buf; *c; c++)
        if (*c == '/' || (unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7F)
            *c = '_';
}

rt_status rt_events_open_at(const char *logdir, double wall_time, rt_events **out,
                            char *err, size_t err_len)
{
    if (out)
        *out = NULL;
    if (!logdir || !out) {
        rt_errf(err, err_len, "rt_events_open: NULL argument");
        return RT_ERR_ARG;
    }
    if (!logdir[0]) {
        rt_errf(err, err_len, "rt_events_open: empty log directory name");
        return RT_ERR_ARG;
    }
    if (!isfinite(wall_time) || wall_time < 0 || wall_time >= 1e16) {
        rt_errf(err, err_len, "rt_events_open: bad wall time %g", wall_time);
        return RT_ERR_ARG;
    }
    rt_status st = make_dirs(logdir, err, err_len);
    if (st != RT_OK)
        return st;
    char host[256];
    host_name(host, sizeof host);
    size_t cap = strlen(logdir) + strlen(host) + 80;
    rt_events *w = calloc(1, sizeof *w);
    char *path = malloc(cap);
    if (!w || !path) {
        free(w);
        free(path);
        rt_errf(err, err_len, "%s: out of memory", logdir);
        return RT_ERR_NOMEM;
    }
    long long secs = (long long)floor(wall_time);
    int fd = -1;
    for (int k = 0; k < 1000 && fd < 0; k++) {
        int len = k == 0
            ? snprintf(path, cap, "%s/events.out.tfevents.%010lld.%s.graphc", logdir, secs, host)
            : snprintf(path, cap, "%s/events.out.tfevents.%010lld.%s.graphc.%d", logdir, secs,
                       host, k);
        (void)len;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) {
            rt_errf(err, err_len, "%s: cannot create: %s", path, strerror(errno));
            free(path);
            free(w);
            return RT_ERR_IO;
        }
    }
    if (fd < 0) {
        rt_errf(err, err_len, "%s: cannot create a new event file: too many with this name", path);
        free(path);
        free(w);
        return RT_ERR_IO;
    }
    w->f = fdopen(fd, "wb");
    if (!w->f) {
        rt_errf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        free(path);
        free(w);
        return RT_ERR_IO;
    }
    w->path = path;
    /* Event { wall_time = 1; file_version = 3 "brain.Event:2" } */
    static const char version[] = "brain.Event:2";
    unsigned char ev[64];
    size_t n = put_time_step(ev, wall_time, 0);
    ev[n++] = 0x1A;
    ev[n++] = (unsigned char)(sizeof version - 1);
    memcpy(ev + n, version, sizeof version - 1);
    n += sizeof version - 1;
    st = write_record(w, ev, n);
    if (st != RT_OK) {
        rt_errf(err, err_len, "%s", w->err);
        fclose(w->f);
        unlink(path);
        free(path);
        free(w);
        return st;
    }
    *out = w;
    return RT_OK;
}

rt_status rt_events_open(const char *logdir, rt_events **out, char *err, size_t err_len)
{
    return rt_events_open_at(logdir, now_seconds(), out, err, err_len);
}

const char *rt_events_path(const rt_events *w)
{
    return w ? w->path : "";
}

const char *rt_events_last_error(const rt_events *w)
{
    return w ? w->err : "";
}

rt_status rt_events_close(rt_events *w)
{
    if (!w)
        return RT_OK;
    int bad = fflush(w->f) != 0;
    if (fclose(w->f) != 0)
        bad = 1;
    free(w->path);
    free(w);
    return bad ? RT_ERR_IO : RT_OK;
}
