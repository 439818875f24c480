/* runtime/idx.c -- IDX files (MNIST, Fashion-MNIST; shared/notes/formats.md
 * section 3), plain or gzip-compressed (detected by the gzip magic, read with
 * zlib). Big-endian header and data; every size is checked against the bytes
 * that are really there (truncation, trailing bytes, overflow), and int16
 * data is widened to int32 (the runtime has no 16-bit integer type). */
#include "rt_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_FIRST_CHUNK ((size_t)64 << 20) /* first allocation when the size is not known */
#define IDX_MAX_READ ((size_t)1 << 30)     /* gzread takes an unsigned int */

/* A plain file (f) or a gzip stream (gz): exactly one is set. */
typedef struct idx_src {
    FILE *f;
    gzFile gz;
    const char *path;
    char *err;
    size_t err_len;
    rt_status st;   /* status of the last failure */
} idx_src;

/* Reads up to n bytes into buf; *got is what came (short only at the end of
 * the data). Returns 0, or -1 with a message (I/O error, corrupt or
 * truncated gzip stream). */
static int src_read(idx_src *s, void *buf, size_t n, size_t *got)
{
    unsigned char *p = buf;
    *got = 0;
    while (*got < n) {
        size_t want = n - *got < IDX_MAX_READ ? n - *got : IDX_MAX_READ;
        if (s->f) {
            size_t k = fread(p + *got, 1, want, s->f);
            *got += k;
            if (k < want) {
                if (ferror(s->f)) {
                    rt_errf(s->err, s->err_len, "%s: read error: %s", s->path, strerror(errno));
                    s->st = RT_ERR_IO;
                    return -1;
                }
                return 0;
            }
        } else {
            int k = gzread(s->gz, p + *got, (unsigned)want);
            int errnum = Z_OK;
            const char *msg = gzerror(s->gz, &errnum);
            if (k < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR)) {
                if (errnum == Z_ERRNO) {
                    rt_errf(s->err, s->err_len, "%s: read error: %s", s->path, strerror(errno));
                    s->st = RT_ERR_IO;
                } else if (errnum == Z_MEM_ERROR) {
                    rt_errf(s->err, s->err_len, "%s: out of memory in zlib", s->path);
                    s->st = RT_ERR_NOMEM;
                } else {
                    rt_errf(s->err, s->err_len, "%s: corrupt gzip data: %s", s->path,
                            msg && msg[0] ? msg : "unknown zlib error");
                    s->st = RT_ERR_FORMAT;
                }
                return -1;
            }
            if (errnum == Z_BUF_ERROR) {
                rt_errf(s->err, s->err_len, "%s: truncated gzip stream (%s)", s->path,
                        msg && msg[0] ? msg : "unexpected end of file");
                s->st = RT_ERR_FORMAT;
                return -1;
            }
            *got += (size_t)k;
            if ((size_t)k < want)
                return 0;
        }
    }
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const char *idx_type_name(int t)
{
    switch (t) {
    case 0x08: return "u8";
    case 0x09: return "i8";
    case 0x0B: return "i16";
    case 0x0C: return "i32";
    case 0x0D: return "f32";
    case 0x0E: return "f64";
    }
    return NULL;
}

/* Converts n big-endian elements of size esz in place to host order. */
static void from_be(unsigned char *p, int64_t n, size_t esz)
{
    if (esz < 2)
        return;
    for (int64_t i = 0; i < n; i++, p += esz) {
        uint64_t v = 0;
        for (size_t k = 0; k < esz; k++)
            v = v << 8 | p[k];
        if (esz == 4) {
            uint32_t w = (uint32_t)v;
            memcpy(p, &w, 4);
        } else {
            memcpy(p, &v, 8);
        }
    }
}

static rt_status load(idx_src *s, rt_tensor *out, int is_gz, int64_t file_size)
{
    const char *path = s->path;
    char *err = s->err;
    size_t err_len = s->err_len;
    unsigned char hdr[4 + 4 * 255];
    size_t got;
    unsigned char *data = NULL;

    if (src_read(s, hdr, 4, &got))
        return s->st;
    if (got < 4) {
        if (got == 0)
            rt_errf(err, err_len, "%s: empty %sIDX file", path, is_gz ? "(decompressed) " : "");
        else
            rt_errf(err, err_len, "%s: truncated IDX header (%zu of 4 bytes)", path, got);
        return RT_ERR_FORMAT;
    }
    if (hdr[0] != 0 || hdr[1] != 0) {
        rt_errf(err, err_len, "%s: not an IDX file (starts with bytes %02x %02x, not 00 00)",
                path, hdr[0], hdr[1]);
        return RT_ERR_FORMAT;
    }
    int type = hdr[2], rank = hdr[3];
    const char *tname = idx_type_name(type);
    if (!tname) {
        rt_errf(err, err_len, "%s: unknown IDX data type 0x%02X (known: 0x08 u8, 0x09 i8, "
                "0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)", path, type);
        return RT_ERR_FORMAT;
    }
    if (rank > RT_MAX_RANK) {
        rt_errf(err, err_len, "%s: IDX file has %d dimensions (at most %d are supported)",
                path, rank, RT_MAX_RANK);
        return RT_ERR_FORMAT;
    }
    size_t hlen = 4 + 4 * (size_t)rank;
    if (src_read(s, hdr + 4, hlen - 4, &got))
        return s->st;
    if (got < hlen - 4) {
        rt_errf(err, err_len, "%s: truncated IDX header: %d dimension sizes announced, "
                "%zu bytes of them found", path, rank, got);
        return RT_ERR_FORMAT;
    }
    rt_tensor t;
    memset(&t, 0, sizeof t);
    t.rank = rank;
    size_t esz;
    switch (type) {
    case 0x08: t.dtype = RT_U8; esz = 1; break;
    case 0x09: t.dtype = RT_I8; esz = 1; break;
    case 0x0B: t.dtype = RT_I32; esz = 2; break; /* widened below */
    case 0x0C: t.dtype = RT_I32; esz = 4; break;
    case 0x0D: t.dtype = RT_F32; esz = 4; break;
    default:   t.dtype = RT_F64; esz = 8; break;
    }
    /* element count and byte size, with overflow checks (8 dims of up to 2^32-1 each) */
    uint64_t numel = 1;
    int overflow = 0;
    for (int i = 0; i < rank; i++) {
        uint64_t d = be32(hdr + 4 + 4 * (size_t)i);
        t.dims[i] = (int64_t)d;
        if (d != 0 && numel > (uint64_t)INT64_MAX / d)
            overflow = 1;
        else
            numel *= d;
    }
    /* a zero dimension makes the array empty even after an overflowing product */
    for (int i = 0; i < rank; i++)
        if (t.dims[i] == 0) {
            numel = 0;
            overflow = 0;
        }
    size_t out_esz = type == 0x0B ? 4 : esz;
    if (overflow || numel > (uint64_t)(SIZE_MAX / out_esz) || numel > (uint64_t)INT64_MAX / out_esz) {
        char shape[RT_MAX_RANK * 12 + 2] = "";
        size_t sl = 0;
        for (int i = 0; i < rank; i++)
            sl += (size_t)snprintf(shape + sl, sizeof shape - sl, "%s%lld", i ? "x" : "",
                                   (long long)t.dims[i]);
        rt_errf(err, err_len, "%s: IDX sizes %s (%s) overflow: absurd dimensions", path, shape, tname);
        return RT_ERR_FORMAT;
    }
    size_t nbytes = (size_t)numel * esz;
    size_t cap;
    if (file_size >= 0) {
        /* a plain regular file: its length must be exactly header + data */
        uint64_t have = (uint64_t)file_size > hlen ? (uint64_t)file_size - hlen : 0;
        if (have < (uint64_t)nbytes) {
            rt_errf(err, err_len, "%s: truncated IDX file: the header announces %zu bytes of "
                    "%s data, the file holds %llu", path, nbytes, tname, (unsigned long long)have);
            return RT_ERR_FORMAT;
        }
        if (have > (uint64_t)nbytes) {
            rt_errf(err, err_len, "%s: %llu trailing bytes after the %zu bytes of %s data "
                    "the IDX header announces", path, (unsigned long long)(have - nbytes),
                    nbytes, tname);
            return RT_ERR_FORMAT;
        }
        cap = nbytes;
    } else {
        /* size unknown (gzip, pipe): grow as the data really comes, so that a
         * header announcing absurd sizes cannot make us allocate them */
        cap = nbytes < IDX_FIRST_CHUNK ? nbytes : IDX_FIRST_CHUNK;
    }
    data = malloc(cap ? cap : 1);
    if (!data) {
        rt_errf(err, err_len, "%s: out of memory for %zu bytes of data", path, cap);
        return RT_ERR_NOMEM;
    }
    size_t have = 0;
    while (have < nbytes) {
        if (have == cap) {
            size_t ncap = cap > nbytes / 2 ? nbytes : cap * 2;
            unsigned char *nd = realloc(data, ncap);
            if (!nd) {
                rt_errf(err, err_len, "%s: out of memory for %zu bytes of data", path, ncap);
                free(data);
                return RT_ERR_NOMEM;
            }
            data = nd;
            cap = ncap;
        }
        if (src_read(s, data + have, cap - have, &got)) {
            free(data);
            return s->st;
        }
        have += got;
        if (have < cap)
            break;
    }
    if (have < nbytes) {
        rt_errf(err, err_len, "%s: truncated IDX %s: the header announces %zu bytes of %s "
                "data, only %zu follow", path, is_gz ? "data (decompressed)" : "file", nbytes,
                tname, have);
        free(data);
        return RT_ERR_FORMAT;
    }
    /* nothing may follow (for gzip this read also checks the CRC and length) */
    unsigned char extra;
    if (src_read(s, &extra, 1, &got)) {
        free(data);
        return s->st;
    }
    if (got) {
        rt_errf(err, err_len, "%s: trailing bytes after the %zu bytes of %s data the IDX "
                "header announces%s", path, nbytes, tname, is_gz ? " (decompressed)" : "");
        free(data);
        return RT_ERR_FORMAT;
    }
    if (type == 0x0B) {
        int32_t *wide = malloc(numel ? (size_t)numel * 4 : 1);
        if (!wide) {
            rt_errf(err, err_len, "%s: out of memory for %zu bytes of data", path,
                    (size_t)numel * 4);
            free(data);
            return RT_ERR_NOMEM;
        }
        for (uint64_t i = 0; i < numel; i++)
            wide[i] = (int16_t)(uint16_t)((unsigned)data[2 * i] << 8 | data[2 * i + 1]);
        free(data);
        t.data = wide;
    } else {
        from_be(data, (int64_t)numel, esz);
        t.data = data;
    }
    *out = t;
    return RT_OK;
}

rt_status rt_idx_load(const char *path, rt_tensor *out, char *err, size_t err_len)
{
    if (!path || !out) {
        rt_errf(err, err_len, "rt_idx_load: NULL argument");
        return RT_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        rt_errf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return RT_ERR_IO;
    }
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    int have_stat = fstat(fileno(f), &sb) == 0;
    if (have_stat && S_ISDIR(sb.st_mode)) {
        rt_errf(err, err_len, "%s: is a directory, not an IDX file", path);
        fclose(f);
        return RT_ERR_IO;
    }
    unsigned char magic[2];
    size_t nm = fread(magic, 1, 2, f);
    if (nm < 2 && ferror(f)) {
        rt_errf(err, err_len, "%s: read error: %s", path, strerror(errno));
        fclose(f);
        return RT_ERR_IO;
    }
    idx_src s = { NULL, NULL, path, err, err_len, RT_ERR_FORMAT };
    rt_status st;
    if (nm == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        fclose(f);
        s.gz = gzopen(path, "rb");
        if (!s.gz) {
            rt_errf(err, err_len, "%s: cannot open: %s", path,
                    errno ? strerror(errno) : "zlib could not open it");
            return RT_ERR_IO;
        }
        st = load(&s, out, 1, -1);
        gzclose_r(s.gz);
    } else {
        if (fseek(f, 0, SEEK_SET) != 0) {
            /* not seekable (a pipe): the two bytes are gone */
            rt_errf(err, err_len, "%s: cannot rewind: %s", path, strerror(errno));
            fclose(f);
            return RT_ERR_IO;
        }
        s.f = f;
        int64_t size = have_stat && S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : -1;
        st = load(&s, out, 0, size);
        fclose(f);
    }
    if (st != RT_OK)
        memset(out, 0, sizeof *out);
    return st;
}
