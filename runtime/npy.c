/* runtime/npy.c -- NumPy .npy files (shared/notes/formats.md section 1).
 * The reader takes versions 1.0, 2.0 and 3.0, parses the header dict as a
 * small Python literal (any key order, either quote, trailing commas) and
 * rejects what it cannot represent with a message; the writer writes
 * version 1.0, 64-byte aligned, atomically (temp file, fsync, rename). */
#include "rt_internal.h"
#include "rt_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAX_HEADER (1u << 20) /* 1 MiB; NumPy itself stops at 10000 bytes */

static const unsigned char npy_magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

static int host_is_le(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Swaps each element of size sz in place (little-endian file on a big-endian host). */
static void swap_bytes(void *data, int64_t n, size_t sz)
{
    unsigned char *p = data;
    if (sz < 2)
        return;
    for (int64_t i = 0; i < n; i++, p += sz)
        for (size_t a = 0, b = sz - 1; a < b; a++, b--) {
            unsigned char c = p[a];
            p[a] = p[b];
            p[b] = c;
        }
}

/* ---- the header dict parser ---- */

typedef struct hdr_parser {
    const char *p, *end;
    const char *path;
    char *err;
    size_t err_len;
} hdr_parser;

static void skip_ws(hdr_parser *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static int expect(hdr_parser *h, char c, const char *what)
{
    skip_ws(h);
    if (h->p >= h->end || *h->p != c) {
        rt_errf(h->err, h->err_len, "%s: bad .npy header: expected '%c' %s", h->path, c, what);
        return -1;
    }
    h->p++;
    return 0;
}

/* A quoted Python string ('...' or "...") without escapes, copied into buf. */
static int parse_str(hdr_parser *h, char *buf, size_t len, const char *what)
{
    skip_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) {
        rt_errf(h->err, h->err_len, "%s: bad .npy header: expected a quoted string %s", h->path, what);
        return -1;
    }
    char q = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\' || *h->p == '\n') {
            rt_errf(h->err, h->err_len, "%s: bad .npy header: unsupported character in string %s",
                    h->path, what);
            return -1;
        }
        if (n + 1 >= len) {
            rt_errf(h->err, h->err_len, "%s: bad .npy header: string too long %s", h->path, what);
            return -1;
        }
        buf[n++] = *h->p++;
    }
    if (h->p >= h->end) {
        rt_errf(h->err, h->err_len, "%s: bad .npy header: unterminated string %s", h->path, what);
        return -1;
    }
    h->p++;
    buf[n] = 0;
    return 0;
}

static int starts(hdr_parser *h, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(h->end - h->p) >= n && memcmp(h->p, word, n) == 0;
}

/* shape tuple: (), (3,), (2, 3), (2, 3,); Python 2's 3L is accepted. */
static int parse_shape(hdr_parser *h, int *rank, int64_t *dims)
{
    skip_ws(h);
    if (h->p >= h->end || *h->p != '(') {
        rt_errf(h->err, h->err_len, "%s: bad .npy header: 'shape' must be a tuple such as (2, 3)",
                h->path);
        return -1;
    }
    h->p++;
    int r = 0, saw_comma = 0;
    for (;;) {
        skip_ws(h);
        if (h->p < h->end && *h->p == ')') {
            h->p++;
            break;
        }
        if (h->p >= h->end || *h->p < '0' || *h->p > '9') {
            rt_errf(h->err, h->err_len,
                    "%s: bad .npy header: 'shape' holds something other than non-negative integers",
                    h->path);
            return -1;
        }
        int64_t v = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            int d = *h->p++ - '0';
            if (v > (INT64_MAX - d) / 10) {
                rt_errf(h->err, h->err_len, "%s: bad .npy header: shape dimension overflows int64",
                        h->path);
                return -1;
            }
            v = v * 10 + d;
        }
        if (h->p < h->end && (*h->p == 'L' || *h->p == 'l'))
            h->p++;
        if (r >= RT_MAX_RANK) {
            rt_errf(h->err, h->err_len, "%s: array has more than %d dimensions (not supported)",
                    h->path, RT_MAX_RANK);
            return -1;
        }
        dims[r++] = v;
        skip_ws(h);
        if (h->p < h->end && *h->p == ',') {
            h->p++;
            saw_comma = 1;
            continue;
        }
        saw_comma = 0;
        skip_ws(h);
        if (h->p < h->end && *h->p == ')') {
            h->p++;
            break;
        }
        rt_errf(h->err, h->err_len, "%s: bad .npy header: expected ',' or ')' in 'shape'", h->path);
        return -1;
    }
    if (r == 1 && !saw_comma) {
        rt_errf(h->err, h->err_len, "%s: bad .npy header: shape (%lld) is not a tuple (write (%lld,))",
                h->path, (long long)dims[0], (long long)dims[0]);
        return -1;
    }
    *rank = r;
    return 0;
}

/* Maps a descr such as "<f4" to a dtype, or explains why not. */
static int parse_descr(const char *d, const char *path, rt_dtype *out, char *err, size_t err_len)
{
    size_t n = strlen(d);
    if (n < 2) {
        rt_errf(err, err_len, "%s: unsupported dtype '%s'", path, d);
        return -1;
    }
    char order = d[0];
    const char *ks = d + 1;
    if (order != '<' && order != '>' && order != '|' && order != '=') {
        order = '='; /* NumPy also accepts "f4" */
        ks = d;
    }
    char kind = ks[0];
    char *endp = NULL;
    long size = strtol(ks + 1, &endp, 10);
    if (kind == 'O') {
        rt_errf(err, err_len, "%s: object arrays ('%s') are not supported: they hold Python pickles",
                path, d);
        return -1;
    }
    if (!endp || endp == ks + 1 || *endp != 0 || size <= 0) {
        rt_errf(err, err_len, "%s: unsupported dtype '%s'", path, d);
        return -1;
    }
    if (order == '>' && size > 1) {
        rt_errf(err, err_len, "%s: big-endian dtype '%s' is not supported (save it as '<%c%ld')",
                path, d, kind, size);
        return -1;
    }
    if (order == '=' && !host_is_le() && size > 1) {
        rt_errf(err, err_len, "%s: native-order dtype '%s' on a big-endian host is not supported",
                path, d);
        return -1;
    }
    rt_dtype t = 0;
    if (kind == 'f' && size == 4) t = RT_F32;
    else if (kind == 'f' && size == 8) t = RT_F64;
    else if (kind == 'i' && size == 4) t = RT_I32;
    else if (kind == 'i' && size == 8) t = RT_I64;
    else if (kind == 'i' && size == 1) t = RT_I8;
    else if (kind == 'u' && size == 1) t = RT_U8;
    else if (kind == 'b' && size == 1) t = RT_BOOL;
    if (!t) {
        const char *what = kind == 'f' ? "float" : kind == 'i' ? "int" : kind == 'u' ? "uint"
                         : kind == 'c' ? "complex" : kind == 'U' || kind == 'S' ? "string" : NULL;
        if (what && kind != 'U' && kind != 'S')
            rt_errf(err, err_len, "%s: dtype '%s' (%s%ld) is not supported "
                    "(supported: <f4 <f8 <i4 <i8 |i1 |u1 |b1)", path, d, what, size * 8);
        else
            rt_errf(err, err_len, "%s: dtype '%s' is not supported (supported: <f4 <f8 <i4 <i8 |i1 |u1 |b1)",
                    path, d);
        return -1;
    }
    *out = t;
    return 0;
}

/* Parses the header text; fills dtype, rank and dims. */
static int parse_header(const char *text, size_t len, const char *path, rt_tensor *t,
                        char *err, size_t err_len)
{
    hdr_parser h = { text, text + len, path, err, err_len };
    char descr[64] = "";
    int have_descr = 0, have_fortran = 0, have_shape = 0, fortran = 0;
    int rank = 0;
    int64_t dims[RT_MAX_RANK] = { 0 };

    if (expect(&h, '{', "at the start of the header dict"))
        return -1;
    for (;;) {
        skip_ws(&h);
        if (h.p < h.end && *h.p == '}') {
            h.p++;
            break;
        }
        char key[32];
        if (parse_str(&h, key, sizeof key, "(a key)") || expect(&h, ':', "after a key"))
            return -1;
        skip_ws(&h);
        if (strcmp(key, "descr") == 0) {
            if (have_descr++) goto dup;
            if (h.p < h.end && *h.p == '[') {
                rt_errf(err, err_len, "%s: structured dtypes (a list of fields) are not supported", path);
                return -1;
            }
            if (parse_str(&h, descr, sizeof descr, "for 'descr'"))
                return -1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_fortran++) goto dup;
            if (starts(&h, "True")) {
                fortran = 1;
                h.p += 4;
            } else if (starts(&h, "False")) {
                h.p += 5;
            } else {
                rt_errf(err, err_len, "%s: bad .npy header: 'fortran_order' must be True or False", path);
                return -1;
            }
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape++) goto dup;
            if (parse_shape(&h, &rank, dims))
                return -1;
        } else {
            rt_errf(err, err_len, "%s: bad .npy header: unknown key '%s'", path, key);
            return -1;
        }
        skip_ws(&h);
        if (h.p < h.end && *h.p == ',') {
            h.p++;
            continue;
        }
        if (expect(&h, '}', "or ',' after a value"))
            return -1;
        break;
    }
    skip_ws(&h);
    if (h.p != h.end) {
        rt_errf(err, err_len, "%s: bad .npy header: unexpected text after the dict", path);
        return -1;
    }
    if (!have_descr || !have_fortran || !have_shape) {
        rt_errf(err, err_len, "%s: bad .npy header: missing key '%s'", path,
                !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
        return -1;
    }
    rt_dtype dt;
    if (parse_descr(descr, path, &dt, err, err_len))
        return -1;
    if (fortran && rank > 1) {
        rt_errf(err, err_len, "%s: fortran_order True (column-major) arrays are not supported; "
                "save with numpy.ascontiguousarray", path);
        return -1;
    }
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    return 0;
dup:
    rt_errf(err, err_len, "%s: bad .npy header: a key appears twice", path);
    return -1;
}

static int read_exact(FILE *f, void *buf, size_t n)
{
    return fread(buf, 1, n, f) == n ? 0 : -1;
}

rt_status rt_npy_load(const char *path, rt_tensor *out, char *err, size_t err_len)
{
    if (!path || !out) {
        rt_errf(err, err_len, "rt_npy_load: NULL argument");
        return RT_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        rt_errf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return RT_ERR_IO;
    }
    rt_status st = RT_ERR_FORMAT;
    char *hdr = NULL;
    void *data = NULL;
    unsigned char pre[12];
    if (read_exact(f, pre, 8) || memcmp(pre, npy_magic, 6) != 0) {
        rt_errf(err, err_len, "%s: not a .npy file (bad magic)", path);
        goto out;
    }
    int major = pre[6], minor = pre[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0) {
        rt_errf(err, err_len, "%s: unsupported .npy version %d.%d (1.0, 2.0, 3.0 are)", path, major, minor);
        goto out;
    }
    size_t hlen;
    if (major == 1) {
        if (read_exact(f, pre + 8, 2)) {
            rt_errf(err, err_len, "%s: truncated .npy header", path);
            goto out;
        }
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else {
        if (read_exact(f, pre + 8, 4)) {
            rt_errf(err, err_len, "%s: truncated .npy header", path);
            goto out;
        }
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    if (hlen > NPY_MAX_HEADER) {
        rt_errf(err, err_len, "%s: .npy header of %zu bytes is too long (limit %u)", path, hlen,
                NPY_MAX_HEADER);
        goto out;
    }
    hdr = malloc(hlen + 1);
    if (!hdr) {
        rt_errf(err, err_len, "%s: out of memory", path);
        st = RT_ERR_NOMEM;
        goto out;
    }
    if (read_exact(f, hdr, hlen)) {
        rt_errf(err, err_len, "%s: truncated .npy header (%zu bytes announced)", path, hlen);
        goto out;
    }
    hdr[hlen] = 0;
    if (memchr(hdr, 0, hlen)) {
        rt_errf(err, err_len, "%s: bad .npy header: contains a NUL byte", path);
        goto out;
    }
    rt_tensor t;
    memset(&t, 0, sizeof t);
    if (parse_header(hdr, hlen, path, &t, err, err_len))
        goto out;
    int64_t numel = op_dims_numel(t.rank, t.dims);
    size_t esz = rt_dtype_size(t.dtype);
    if (numel < 0 || (uint64_t)numel > SIZE_MAX / esz || (uint64_t)numel > (uint64_t)INT64_MAX / esz) {
        rt_errf(err, err_len, "%s: array size overflows", path);
        goto out;
    }
    size_t nbytes = (size_t)numel * esz;
    struct stat sb;
    long pos = ftell(f);
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) && pos >= 0
        && (uint64_t)sb.st_size - (uint64_t)pos < (uint64_t)nbytes) {
        rt_errf(err, err_len, "%s: truncated payload: expected %zu bytes of data, found %llu",
                path, nbytes, (unsigned long long)((uint64_t)sb.st_size - (uint64_t)pos));
        goto out;
    }
    data = malloc(nbytes ? nbytes : 1);
    if (!data) {
        rt_errf(err, err_len, "%s: out of memory for %zu bytes of data", path, nbytes);
        st = RT_ERR_NOMEM;
        goto out;
    }
    size_t got = fread(data, 1, nbytes, f);
    if (got != nbytes) {
        if (ferror(f)) {
            rt_errf(err, err_len, "%s: read error: %s", path, strerror(errno));
            st = RT_ERR_IO;
        } else {
            rt_errf(err, err_len, "%s: truncated payload: expected %zu bytes of data, found %zu",
                    path, nbytes, got);
        }
        goto out;
    }
    if (fgetc(f) != EOF) {
        rt_errf(err, err_len, "%s: trailing bytes after the %zu bytes of data", path, nbytes);
        goto out;
    }
    if (!host_is_le())
        swap_bytes(data, numel, esz);
    if (t.dtype == RT_BOOL) {
        unsigned char *b = data;
        for (int64_t i = 0; i < numel; i++)
            b[i] = b[i] != 0;
    }
    t.data = data;
    data = NULL;
    *out = t;
    st = RT_OK;
out:
    free(hdr);
    free(data);
    fclose(f);
    return st;
}

static const char *descr_of(rt_dtype t)
{
    switch (t) {
    case RT_F32: return "<f4";
    case RT_F64: return "<f8";
    case RT_I32: return "<i4";
    case RT_I64: return "<i8";
    case RT_BOOL: return "|b1";
    case RT_U8: return "|u1";
    case RT_I8: return "|i1";
    }
    return NULL;
}

/* Writes n bytes of data converted to little-endian elements of size esz. */
static int write_le(FILE *f, const void *data, size_t nbytes, size_t esz)
{
    if (host_is_le() || esz < 2)
        return fwrite(data, 1, nbytes, f) == nbytes ? 0 : -1;
    unsigned char tmp[4096];
    const unsigned char *p = data;
    size_t chunk = sizeof tmp / esz * esz;
    for (size_t off = 0; off < nbytes; off += chunk) {
        size_t n = nbytes - off < chunk ? nbytes - off : chunk;
        memcpy(tmp, p + off, n);
        swap_bytes(tmp, (int64_t)(n / esz), esz);
        if (fwrite(tmp, 1, n, f) != n)
            return -1;
    }
    return 0;
}

rt_status rt_npy_save(const char *path, const rt_tensor *t, char *err, size_t err_len)
{
    if (!path || !t) {
        rt_errf(err, err_len, "rt_npy_save: NULL argument");
        return RT_ERR_ARG;
    }
    const char *descr = descr_of(t->dtype);
    if (!descr) {
        rt_errf(err, err_len, "%s: cannot save: invalid dtype %d", path, (int)t->dtype);
        return RT_ERR_ARG;
    }
    if (t->rank < 0 || t->rank > RT_MAX_RANK) {
        rt_errf(err, err_len, "%s: cannot save: invalid rank %d", path, t->rank);
        return RT_ERR_ARG;
    }
    int64_t numel = op_dims_numel(t->rank, t->dims);
    size_t esz = rt_dtype_size(t->dtype);
    if (numel < 0 || (uint64_t)numel > SIZE_MAX / esz) {
        rt_errf(err, err_len, "%s: cannot save: negative or overflowing shape", path);
        return RT_ERR_ARG;
    }
    size_t nbytes = (size_t)numel * esz;
    if (nbytes > 0 && !t->data) {
        rt_errf(err, err_len, "%s: cannot save: tensor has no data", path);
        return RT_ERR_ARG;
    }

    char shape[RT_MAX_RANK * 24 + 8];
    size_t sl = 0;
    shape[sl++] = '(';
    for (int i = 0; i < t->rank; i++)
        sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "%s%lld", i ? ", " : "",
                               (long long)t->dims[i]);
    if (t->rank == 1)
        shape[sl++] = ',';
    shape[sl++] = ')';
    shape[sl] = 0;

    char hdr[512];
    int hl = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      descr, shape);
    /* pad with spaces so that 10 + len is a multiple of 64, ending in '\n' */
    size_t total = 10 + (size_t)hl + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    memset(hdr + hl, ' ', hlen - (size_t)hl - 1);
    hdr[hlen - 1] = '\n';
    unsigned char pre[10];
    memcpy(pre, npy_magic, 6);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) {
        rt_errf(err, err_len, "%s: out of memory", path);
        return RT_ERR_NOMEM;
    }
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        rt_errf(err, err_len, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return RT_ERR_IO;
    }
    int bad = fwrite(pre, 1, 10, f) != 10 || fwrite(hdr, 1, hlen, f) != hlen
           || write_le(f, t->data, nbytes, esz) || fflush(f) != 0 || fsync(fileno(f)) != 0;
    int saved = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (bad) {
        rt_errf(err, err_len, "%s: write failed: %s", tmp, strerror(saved));
        unlink(tmp);
        free(tmp);
        return RT_ERR_IO;
    }
    if (rename(tmp, path) != 0) {
        rt_errf(err, err_len, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return RT_ERR_IO;
    }
    free(tmp);
    rt_fsync_dir(path); /* make the rename durable (best effort) */
    return RT_OK;
}
