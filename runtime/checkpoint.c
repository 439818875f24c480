/* runtime/checkpoint.c -- checkpoints (.gbc, proto/checkpoint.proto): the
 * magic "GRAPHCK\x01" and one Checkpoint message holding every param of a
 * session by name, with a CRC-32 over the message. Saving streams the
 * session's live params straight into an atomic file (rt_io.h); reading
 * checks the magic, the checksum, then every field, into an rt_checkpoint;
 * restoring matches it against the session's params completely before the
 * first byte is copied, so a failed restore leaves the session unchanged. */
#include "rt_internal.h"
#include "rt_io.h"
#include "rt_pb.h"
#include "checkpoint.pb-c.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define CK_MAGIC "GRAPHCK\x01"
#define CK_MAGIC_LEN 8
#define CK_VERSION 1
#define CK_CHUNK ((size_t)64 << 20)   /* data chunks of at most 64 MiB */
#define CK_CRC_FIELD 15
#define CK_MAX_ENTRIES (1 << 28)

typedef struct ck_entry {
    char *name;
    rt_dtype dtype;
    int rank;
    int64_t dims[RT_MAX_RANK];
    void *data;          /* nbytes, owned */
    size_t nbytes;
    int trainable;
} ck_entry;

struct rt_checkpoint {
    char *graph, *producer;
    int64_t step;
    int n;
    ck_entry *e;
    int *hash;           /* open addressing, name -> entry (-1 empty) */
    size_t hash_cap;
};

static uint32_t crc_update(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        uInt part = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, part);
        b += part;
        n -= part;
    }
    return crc;
}

/* ---- reading ---- */

/* Reads a varint at *pos; -1 when it runs past end or is over 10 bytes. */
static int read_varint(const uint8_t *b, size_t end, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*pos >= end)
            return -1;
        uint8_t c = b[(*pos)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Walks the top-level fields of the message body b[0, n): the CRC-32 of
 * every field but crc32 (field 15) must equal the stored one. */
static rt_status check_crc(const uint8_t *b, size_t n, char *err, size_t err_len)
{
    uint32_t crc = 0, stored = 0;
    int have = 0;
    size_t pos = 0;
    while (pos < n) {
        size_t start = pos;
        uint64_t tag, x;
        if (read_varint(b, n, &pos, &tag)) {
            rt_errf(err, err_len, "truncated or corrupt checkpoint: bad field tag at byte %zu",
                    start + CK_MAGIC_LEN);
            return RT_ERR_FORMAT;
        }
        uint64_t field = tag >> 3;
        unsigned wt = (unsigned)(tag & 7);
        size_t need = 0;
        switch (wt) {
        case 0:
            if (read_varint(b, n, &pos, &x)) {
                rt_errf(err, err_len, "truncated or corrupt checkpoint: field %llu at byte %zu runs past the end",
                        (unsigned long long)field, start + CK_MAGIC_LEN);
                return RT_ERR_FORMAT;
            }
            break;
        case 1: need = 8; break;
        case 5: need = 4; break;
        case 2:
            if (read_varint(b, n, &pos, &x) || x > n - pos) {
                rt_errf(err, err_len, "truncated or corrupt checkpoint: field %llu at byte %zu runs past the end",
                        (unsigned long long)field, start + CK_MAGIC_LEN);
                return RT_ERR_FORMAT;
            }
            need = (size_t)x;
            break;
        default:
            rt_errf(err, err_len, "corrupt checkpoint: field %llu at byte %zu has invalid wire type %u",
                    (unsigned long long)field, start + CK_MAGIC_LEN, wt);
            return RT_ERR_FORMAT;
        }
        if (need > n - pos) {
            rt_errf(err, err_len, "truncated or corrupt checkpoint: field %llu at byte %zu runs past the end",
                    (unsigned long long)field, start + CK_MAGIC_LEN);
            return RT_ERR_FORMAT;
        }
        if (field == CK_CRC_FIELD) {
            if (wt != 5) {
                rt_errf(err, err_len, "corrupt checkpoint: the checksum field has wire type %u", wt);
                return RT_ERR_FORMAT;
            }
            stored = (uint32_t)b[pos] | (uint32_t)b[pos + 1] << 8 | (uint32_t)b[pos + 2] << 16
                     | (uint32_t)b[pos + 3] << 24;
            have = 1;
        }
        pos += need;
        if (field != CK_CRC_FIELD)
            crc = crc_update(crc, b + start, pos - start);
    }
    if (!have) {
        rt_errf(err, err_len, "truncated or corrupt checkpoint: the checksum (the last field) is missing");
        return RT_ERR_FORMAT;
    }
    if (crc != stored) {
        rt_errf(err, err_len, "corrupt checkpoint: checksum mismatch (stored %08x, computed %08x): "
                "the file was damaged or cut short", stored, crc);
        return RT_ERR_FORMAT;
    }
    return RT_OK;
}

void rt_checkpoint_free(rt_checkpoint *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n && c->e; i++) {
        free(c->e[i].name);
        free(c->e[i].data);
    }
    free(c->e);
    free(c->hash);
    free(c->graph);
    free(c->producer);
    free(c);
}

int rt_checkpoint_is_checkpoint(const void *buf, size_t len)
{
    return buf && len >= CK_MAGIC_LEN - 1 && memcmp(buf, CK_MAGIC, CK_MAGIC_LEN - 1) == 0;
}

static void shape_str(const int64_t *dims, int rank, char *buf, size_t len)
{
    size_t u = 0;
    u += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < rank && u < len; i++)
        u += (size_t)snprintf(buf + u, len - u, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (u < len)
        snprintf(buf + u, len - u, "]");
}

/* Converts and checks the unpacked message into c. */
static rt_status ck_convert(rt_checkpoint *c, const Graphc__Checkpoint *pc, char *err, size_t err_len)
{
    if (pc->format_version != CK_VERSION) {
        rt_errf(err, err_len, "checkpoint format version %u is not supported (this runtime reads %d)",
                pc->format_version, CK_VERSION);
        return RT_ERR_FORMAT;
    }
    if (pc->n_entries > CK_MAX_ENTRIES) {
        rt_errf(err, err_len, "corrupt checkpoint: too many entries (%zu)", pc->n_entries);
        return RT_ERR_FORMAT;
    }
    c->step = pc->step;
    c->graph = rt_strdup(pc->graph ? pc->graph : "");
    c->producer = rt_strdup(pc->producer ? pc->producer : "");
    c->e = calloc(pc->n_entries + 1, sizeof *c->e);
    c->hash_cap = 16;
    while (c->hash_cap < 2 * pc->n_entries)
        c->hash_cap *= 2;
    c->hash = malloc(c->hash_cap * sizeof *c->hash);
    if (!c->graph || !c->producer || !c->e || !c->hash)
        return RT_ERR_NOMEM;
    memset(c->hash, 0xff, c->hash_cap * sizeof *c->hash);
    for (size_t i = 0; i < pc->n_entries; i++) {
        const Graphc__Checkpoint__Entry *pe = pc->entries[i];
        ck_entry *e = &c->e[i];
        c->n = (int)i + 1; /* freed by rt_checkpoint_free from here on */
        if (!pe || !pe->name || !pe->name[0]) {
            rt_errf(err, err_len, "corrupt checkpoint: entry %zu has no name", i);
            return RT_ERR_FORMAT;
        }
        if (!(e->name = rt_strdup(pe->name)))
            return RT_ERR_NOMEM;
        size_t esz = rt_dtype_size((rt_dtype)pe->dtype);
        if (esz == 0) {
            rt_errf(err, err_len, "corrupt checkpoint: entry %zu '%s' has invalid dtype %d", i, e->name,
                    (int)pe->dtype);
            return RT_ERR_FORMAT;
        }
        e->dtype = (rt_dtype)pe->dtype;
        e->trainable = pe->trainable != 0;
        if (pe->n_dims > RT_MAX_RANK) {
            rt_errf(err, err_len, "corrupt checkpoint: entry %zu '%s' has rank %zu (limit %d)", i, e->name,
                    pe->n_dims, RT_MAX_RANK);
            return RT_ERR_FORMAT;
        }
        e->rank = (int)pe->n_dims;
        uint64_t want = esz;
        for (int d = 0; d < e->rank; d++) {
            int64_t x = pe->dims[d];
            if (x < 0 || (x > 0 && want > UINT64_MAX / (uint64_t)x) || (uint64_t)x * want > ((uint64_t)1 << 62)) {
                rt_errf(err, err_len, "corrupt checkpoint: entry %zu '%s' has invalid size %lld in dim %d", i,
                        e->name, (long long)x, d);
                return RT_ERR_FORMAT;
            }
            e->dims[d] = x;
            want *= (uint64_t)x;
        }
        uint64_t have = 0;
        for (size_t k = 0; k < pe->n_data; k++) {
            if (pe->data[k].len && !pe->data[k].data) {
                rt_errf(err, err_len, "corrupt checkpoint: entry '%s': data chunk %zu is missing", e->name, k);
                return RT_ERR_FORMAT;
            }
            have += pe->data[k].len; /* each <= the input size: cannot wrap */
        }
        if (have != want) {
            char sh[RT_MAX_RANK * 24 + 4];
            shape_str(e->dims, e->rank, sh, sizeof sh);
            rt_errf(err, err_len, "corrupt checkpoint: entry '%s' %s%s needs %llu bytes of data, it has %llu",
                    e->name, rt_dtype_name(e->dtype), sh, (unsigned long long)want, (unsigned long long)have);
            return RT_ERR_FORMAT;
        }
        if (want > SIZE_MAX)
            return RT_ERR_NOMEM;
        e->nbytes = (size_t)want;
        if (!(e->data = malloc(e->nbytes ? e->nbytes : 1)))
            return RT_ERR_NOMEM;
        size_t off = 0;
        for (size_t k = 0; k < pe->n_data; k++) {
            if (pe->data[k].len)
                memcpy((char *)e->data + off, pe->data[k].data, pe->data[k].len);
            off += pe->data[k].len;
        }
        if (e->dtype == RT_BOOL) {
            const unsigned char *b = e->data;
            for (size_t j = 0; j < e->nbytes; j++)
                if (b[j] > 1) {
                    rt_errf(err, err_len, "corrupt checkpoint: entry '%s': bool data holds byte %u at %zu",
                            e->name, b[j], j);
                    return RT_ERR_FORMAT;
                }
        }
        size_t mask = c->hash_cap - 1;
        for (size_t h = rt_name_hash(e->name) & mask;; h = (h + 1) & mask) {
            int o = c->hash[h];
            if (o < 0) {
                c->hash[h] = (int)i;
                break;
            }
            if (strcmp(c->e[o].name, e->name) == 0) {
                rt_errf(err, err_len, "corrupt checkpoint: entry '%s' appears twice (entries %d and %zu)",
                        e->name, o, i);
                return RT_ERR_FORMAT;
            }
        }
    }
    return RT_OK;
}

rt_status rt_checkpoint_load_buffer(const void *buf, size_t len, rt_checkpoint **out, char *err,
                                    size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!out) {
        rt_errf(err, err_len, "rt_checkpoint_load_buffer: NULL out");
        return RT_ERR_ARG;
    }
    *out = NULL;
    if (!buf && len) {
        rt_errf(err, err_len, "rt_checkpoint_load_buffer: NULL buffer");
        return RT_ERR_ARG;
    }
    if (len >= 7 && memcmp(buf, "GRAPHCB", 7) == 0) {
        rt_errf(err, err_len, "a graph binary, not a checkpoint (the magic \"GRAPHCK\\x01\" is missing)");
        return RT_ERR_FORMAT;
    }
    if (len < CK_MAGIC_LEN || memcmp(buf, CK_MAGIC, CK_MAGIC_LEN - 1) != 0) {
        rt_errf(err, err_len, "not a checkpoint (the magic \"GRAPHCK\\x01\" is missing%s)",
                len < CK_MAGIC_LEN ? ": the file is shorter than the magic" : "");
        return RT_ERR_FORMAT;
    }
    if (((const unsigned char *)buf)[CK_MAGIC_LEN - 1] != 1) {
        rt_errf(err, err_len, "checkpoint container version %u is not supported (this runtime reads 1)",
                ((const unsigned char *)buf)[CK_MAGIC_LEN - 1]);
        return RT_ERR_FORMAT;
    }
    const uint8_t *body = (const uint8_t *)buf + CK_MAGIC_LEN;
    size_t n = len - CK_MAGIC_LEN;
    rt_status st = check_crc(body, n, err, err_len);
    if (st)
        return st;
    /* the loader's memory-limiting allocator: a corrupt length can not make
     * protobuf-c allocate without bound */
    rt_pb_alloc la;
    rt_pb_alloc_init(&la, n);
    Graphc__Checkpoint *pc = graphc__checkpoint__unpack(&la.base, n, body);
    if (!pc) {
        if (la.failed) {
            rt_errf(err, err_len, "out of memory unpacking the checkpoint (%zu bytes)", len);
            return RT_ERR_NOMEM;
        }
        rt_errf(err, err_len, "corrupt checkpoint: the protobuf message does not parse");
        return RT_ERR_FORMAT;
    }
    rt_checkpoint *c = calloc(1, sizeof *c);
    st = c ? ck_convert(c, pc, err, err_len) : RT_ERR_NOMEM;
    graphc__checkpoint__free_unpacked(pc, &la.base);
    if (st) {
        if (st == RT_ERR_NOMEM)
            rt_errf(err, err_len, "out of memory reading the checkpoint");
        rt_checkpoint_free(c);
        return st;
    }
    *out = c;
    return RT_OK;
}

rt_status rt_checkpoint_load_file(const char *path, rt_checkpoint **out, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!out || !path) {
        rt_errf(err, err_len, "rt_checkpoint_load_file: NULL argument");
        return RT_ERR_ARG;
    }
    *out = NULL;
    unsigned char *buf;
    size_t len;
    rt_status st = rt_read_file(path, UINT64_MAX, "a checkpoint", &buf, &len, err, err_len);
    if (st != RT_OK)
        return st;
    st = rt_checkpoint_load_buffer(buf, len, out, err, err_len);
    free(buf);
    if (st != RT_OK)
        rt_err_prefix(err, err_len, path);
    return st;
}

const char *rt_checkpoint_graph(const rt_checkpoint *c) { return c ? c->graph : NULL; }
const char *rt_checkpoint_producer(const rt_checkpoint *c) { return c ? c->producer : NULL; }
int64_t rt_checkpoint_step(const rt_checkpoint *c) { return c ? c->step : 0; }
int rt_checkpoint_n_entries(const rt_checkpoint *c) { return c ? c->n : 0; }

rt_status rt_checkpoint_entry(const rt_checkpoint *c, int i, const char **name, rt_tensor *view,
                              int *trainable)
{
    if (!c || i < 0 || i >= c->n)
        return RT_ERR_ARG;
    const ck_entry *e = &c->e[i];
    if (name)
        *name = e->name;
    if (view) {
        memset(view, 0, sizeof *view);
        view->dtype = e->dtype;
        view->rank = e->rank;
        memcpy(view->dims, e->dims, sizeof(int64_t) * (size_t)e->rank);
        view->data = e->data;
    }
    if (trainable)
        *trainable = e->trainable;
    return RT_OK;
}

int rt_checkpoint_find(const rt_checkpoint *c, const char *name)
{
    if (!c || !name || !name[0] || !c->hash)
        return -1;
    size_t mask = c->hash_cap - 1;
    for (size_t h = rt_name_hash(name) & mask;; h = (h + 1) & mask) {
        int o = c->hash[h];
        if (o < 0)
            return -1;
        if (strcmp(c->e[o].name, name) == 0)
            return o;
    }
}

/* ---- matching and restoring ---- */

typedef struct msgbuf {
    char buf[RT_ERR_MAX];
    size_t used;
    int n;
} msgbuf;

static void msg_add(msgbuf *mb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void msg_add(msgbuf *mb, const char *fmt, ...)
{
    mb->n++;
    if (mb->used >= sizeof mb->buf - 1)
        return;
    if (mb->n > 1)
        mb->used += (size_t)snprintf(mb->buf + mb->used, sizeof mb->buf - mb->used, "; ");
    if (mb->used >= sizeof mb->buf - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    mb->used += (size_t)vsnprintf(mb->buf + mb->used, sizeof mb->buf - mb->used, fmt, ap);
    va_end(ap);
}

static void set_err(rt_session *s, char *err, size_t err_len, const char *msg)
{
    if (err && err_len && err != msg)
        snprintf(err, err_len, "%s", msg);
    if (s && s->err != msg)
        snprintf(s->err, sizeof s->err, "%s", msg);
}

rt_status rt_checkpoint_apply(rt_session *s, const rt_checkpoint *c, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!s || !c) {
        rt_errf(err, err_len, "rt_checkpoint_apply: NULL argument");
        if (s)
            snprintf(s->err, sizeof s->err, "rt_checkpoint_apply: NULL argument");
        return RT_ERR_ARG;
    }
    const rt_model *m = s->m;
    msgbuf mb;
    mb.buf[0] = 0;
    mb.used = 0;
    mb.n = 0;
    char a[RT_MAX_RANK * 24 + 4], b[RT_MAX_RANK * 24 + 4];
    /* every param of the model: present, same dtype, same shape */
    for (int i = 0; i < m->n_params; i++) {
        const rt_value *v = &m->values[m->params[i]];
        int k = rt_checkpoint_find(c, v->name);
        if (k < 0) {
            msg_add(&mb, "param '%s' is missing in the checkpoint", v->name);
            continue;
        }
        const ck_entry *e = &c->e[k];
        int64_t dims[RT_MAX_RANK];
        for (int d = 0; d < v->type.rank; d++)
            dims[d] = v->type.dims[d].coef;
        int same_shape = e->rank == v->type.rank && memcmp(e->dims, dims, sizeof(int64_t) * (size_t)e->rank) == 0;
        if ((int)e->dtype != (int)v->type.dtype || !same_shape) {
            shape_str(dims, v->type.rank, a, sizeof a);
            shape_str(e->dims, e->rank, b, sizeof b);
            if ((int)e->dtype != (int)v->type.dtype && same_shape)
                msg_add(&mb, "param '%s': dtype %s in the model, %s in the checkpoint", v->name,
                        rt_dtype_name((rt_dtype)v->type.dtype), rt_dtype_name(e->dtype));
            else if ((int)e->dtype == (int)v->type.dtype)
                msg_add(&mb, "param '%s': shape %s in the model, %s in the checkpoint", v->name, a, b);
            else
                msg_add(&mb, "param '%s': dtype and shape %s%s in the model, %s%s in the checkpoint", v->name,
                        rt_dtype_name((rt_dtype)v->type.dtype), a, rt_dtype_name(e->dtype), b);
            continue;
        }
        if (e->nbytes != v->nbytes) /* cannot happen after the checks above */
            msg_add(&mb, "param '%s': %zu bytes in the model, %zu in the checkpoint", v->name, v->nbytes,
                    e->nbytes);
    }
    /* every entry of the checkpoint: a param of the model */
    for (int k = 0; k < c->n; k++) {
        int v = rt_model_find_value(m, c->e[k].name);
        if (v >= 0 && m->values[v].kind == RT_VK_PARAM)
            continue;
        int kind = v < 0 ? 0 : m->values[v].kind;
        msg_add(&mb, "checkpoint entry '%s' is unknown in the model (%s)", c->e[k].name,
                kind == RT_VK_INPUT ? "an input there, not a param" : kind == RT_VK_CONST ? "a const there, not a param"
                : kind == RT_VK_NODE ? "a node value there, not a param" : "no param of that name");
    }
    if (mb.n) {
        char msg[sizeof mb.buf + 512]; /* set_err truncates to the caller's buffer */
        snprintf(msg, sizeof msg, "checkpoint (graph '%s', step %lld) does not match the model '%s' "
                 "(%d problem%s): %s", c->graph, (long long)c->step, m->name, mb.n, mb.n == 1 ? "" : "s", mb.buf);
        set_err(s, err, err_len, msg);
        return RT_ERR_ARG;
    }
    /* all checked: now copy */
    for (int i = 0; i < m->n_params; i++) {
        int v = m->params[i];
        const ck_entry *e = &c->e[rt_checkpoint_find(c, m->values[v].name)];
        if (e->nbytes)
            memcpy(s->const_ptr[v], e->data, e->nbytes);
    }
    return RT_OK;
}

rt_status rt_checkpoint_restore(rt_session *s, const char *path, int64_t *step, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!s || !path) {
        rt_errf(err, err_len, "rt_checkpoint_restore: NULL argument");
        if (s)
            snprintf(s->err, sizeof s->err, "rt_checkpoint_restore: NULL argument");
        return RT_ERR_ARG;
    }
    char msg[RT_ERR_MAX];
    rt_checkpoint *c = NULL;
    rt_status st = rt_checkpoint_load_file(path, &c, msg, sizeof msg);
    if (st) {
        set_err(s, err, err_len, msg);
        return st;
    }
    st = rt_checkpoint_apply(s, c, msg, sizeof msg);
    if (st) {
        char full[RT_ERR_MAX + 256];
        snprintf(full, sizeof full, "%s: %s", path, msg);
        set_err(s, err, err_len, full);
    } else if (step) {
        *step = c->step;
    }
    rt_checkpoint_free(c);
    return st;
}

/* ---- saving ---- */

typedef struct ck_writer {
    ProtobufCBuffer base;
    rt_afile *f;
    uint32_t crc;
} ck_writer;

static void ck_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
    ck_writer *w = (ck_writer *)buffer;
    if (!len)
        return;
    w->crc = crc_update(w->crc, data, len);
    rt_afile_write(w->f, data, len);
}

rt_status rt_checkpoint_save(rt_session *s, const char *path, int64_t step, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!s || !path || !path[0]) {
        rt_errf(err, err_len, "rt_checkpoint_save: NULL argument or empty path");
        if (s)
            snprintf(s->err, sizeof s->err, "rt_checkpoint_save: NULL argument or empty path");
        return RT_ERR_ARG;
    }
    const rt_model *m = s->m;
    char msg[RT_ERR_MAX];
    rt_status st = RT_ERR_NOMEM;
    Graphc__Checkpoint ck;
    graphc__checkpoint__init(&ck);
    ck.format_version = CK_VERSION;
    ck.graph = m->name;
    ck.producer = "graphrt 0.1";
    ck.step = step;
    ck.n_entries = (size_t)m->n_params;
    Graphc__Checkpoint__Entry *ents = calloc((size_t)m->n_params + 1, sizeof *ents);
    Graphc__Checkpoint__Entry **eptr = calloc((size_t)m->n_params + 1, sizeof *eptr);
    int64_t *dims = calloc((size_t)m->n_params * RT_MAX_RANK + 1, sizeof *dims);
    size_t n_chunks = 0;
    for (int i = 0; i < m->n_params; i++) {
        size_t nb = m->values[m->params[i]].nbytes;
        n_chunks += nb ? (nb + CK_CHUNK - 1) / CK_CHUNK : 0;
    }
    ProtobufCBinaryData *chunks = calloc(n_chunks + 1, sizeof *chunks);
    if (!ents || !eptr || !dims || !chunks) {
        snprintf(msg, sizeof msg, "%s: out of memory saving the checkpoint", path);
        goto out;
    }
    ck.entries = eptr;
    size_t ci = 0;
    for (int i = 0; i < m->n_params; i++) {
        int v = m->params[i];
        const rt_value *val = &m->values[v];
        Graphc__Checkpoint__Entry *e = &ents[i];
        graphc__checkpoint__entry__init(e);
        e->name = val->name;
        e->dtype = (Graphc__DType)val->type.dtype;
        e->trainable = val->trainable != 0;
        e->n_dims = (size_t)val->type.rank;
        e->dims = dims + (size_t)i * RT_MAX_RANK;
        for (int d = 0; d < val->type.rank; d++)
            e->dims[d] = val->type.dims[d].coef;
        e->data = chunks + ci;
        for (size_t off = 0; off < val->nbytes; off += CK_CHUNK) {
            chunks[ci].data = (uint8_t *)s->const_ptr[v] + off;
            chunks[ci].len = val->nbytes - off < CK_CHUNK ? val->nbytes - off : CK_CHUNK;
            ci++;
            e->n_data++;
        }
        eptr[i] = e;
    }
    rt_afile f;
    if ((st = rt_afile_open(&f, path, msg, sizeof msg)))
        goto out;
    ck_writer w;
    memset(&w, 0, sizeof w);
    w.base.append = ck_append;
    w.f = &f;
    rt_afile_write(&f, CK_MAGIC, CK_MAGIC_LEN);
    graphc__checkpoint__pack_to_buffer(&ck, &w.base);
    /* the checksum, appended as the last field (fixed32, field 15) */
    uint8_t tail[5] = { (uint8_t)(CK_CRC_FIELD << 3 | 5), (uint8_t)w.crc, (uint8_t)(w.crc >> 8),
                        (uint8_t)(w.crc >> 16), (uint8_t)(w.crc >> 24) };
    rt_afile_write(&f, tail, sizeof tail);
    st = rt_afile_commit(&f, msg, sizeof msg);
out:
    free(ents);
    free(eptr);
    free(dims);
    free(chunks);
    if (st)
        set_err(s, err, err_len, msg);
    return st;
}
