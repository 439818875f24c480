/* runtime/fileio.c -- atomic file writes (rt_io.h): temp file in the same
 * directory (O_EXCL, so two writers never share one), write, fsync, close,
 * rename over the destination, fsync of the directory. A failure at any
 * step removes the temp file and leaves the destination as it was. And the
 * whole-file read the loader and the checkpoint reader start with. */
#include "rt_io.h"
#include "rt_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int (*rt_io_test_hook)(const char *stage, const char *tmp, const char *path);

static int hook(rt_afile *f, const char *stage)
{
    if (rt_io_test_hook && rt_io_test_hook(stage, f->tmp, f->path)) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static void afile_release(rt_afile *f)
{
    free(f->path);
    free(f->tmp);
    f->path = f->tmp = NULL;
}

rt_status rt_afile_open(rt_afile *f, const char *path, char *err, size_t err_len)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (!path || !path[0]) {
        rt_errf(err, err_len, "no file name given");
        return RT_ERR_ARG;
    }
    size_t plen = strlen(path) + 48;
    f->path = rt_strdup(path);
    f->tmp = malloc(plen);
    if (!f->path || !f->tmp) {
        afile_release(f);
        rt_errf(err, err_len, "%s: out of memory", path);
        return RT_ERR_NOMEM;
    }
    static unsigned counter;
    for (int tries = 0; tries < 100; tries++) {
        snprintf(f->tmp, plen, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
        if (hook(f, "open") == 0)
            f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (f->fd >= 0 || errno != EEXIST)
            break;
    }
    if (f->fd < 0) {
        rt_errf(err, err_len, "%s: cannot create the temp file %s: %s", path, f->tmp, strerror(errno));
        afile_release(f);
        return RT_ERR_IO;
    }
    return RT_OK;
}

int rt_afile_write(rt_afile *f, const void *data, size_t n)
{
    if (f->failed || f->fd < 0)
        return -1;
    const char *p = data;
    if (n && hook(f, "write")) {
        f->failed = 1;
        f->saved_errno = errno;
        f->failed_stage = "write";
        return -1;
    }
    while (n > 0) {
        size_t part = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t w = write(f->fd, p, part);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            f->failed = 1;
            f->saved_errno = w < 0 ? errno : ENOSPC;
            f->failed_stage = "write";
            return -1;
        }
        p += w;
        n -= (size_t)w;
        f->written += (uint64_t)w;
    }
    return 0;
}

void rt_afile_abort(rt_afile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp)
        unlink(f->tmp);
    afile_release(f);
}

void rt_fsync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (slash && (size_t)(slash - path) < sizeof dir) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = 0;
        if (!dir[0])
            strcpy(dir, "/");
    } else {
        strcpy(dir, ".");
    }
    int dfd = open(dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

rt_status rt_afile_commit(rt_afile *f, char *err, size_t err_len)
{
    if (f->fd < 0) {
        rt_errf(err, err_len, "%s: file is not open", f->path ? f->path : "?");
        afile_release(f);
        return RT_ERR_IO;
    }
    if (f->failed) {
        rt_errf(err, err_len, "%s: %s failed: %s (the previous file, if any, is unchanged)", f->tmp,
                f->failed_stage ? f->failed_stage : "write", strerror(f->saved_errno));
        rt_afile_abort(f);
        return RT_ERR_IO;
    }
    if (hook(f, "fsync") || fsync(f->fd) != 0) {
        rt_errf(err, err_len, "%s: fsync failed: %s (the previous file, if any, is unchanged)", f->tmp,
                strerror(errno));
        rt_afile_abort(f);
        return RT_ERR_IO;
    }
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        rt_errf(err, err_len, "%s: close failed: %s (the previous file, if any, is unchanged)", f->tmp,
                strerror(errno));
        rt_afile_abort(f);
        return RT_ERR_IO;
    }
    if (hook(f, "rename") || rename(f->tmp, f->path) != 0) {
        rt_errf(err, err_len, "%s: cannot rename %s into place: %s (the previous file, if any, is unchanged)",
                f->path, f->tmp, strerror(errno));
        rt_afile_abort(f);
        return RT_ERR_IO;
    }
    rt_fsync_dir(f->path);
    afile_release(f);
    return RT_OK;
}

rt_status rt_file_write_atomic(const char *path, const void *buf, size_t len, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!path || (!buf && len)) {
        rt_errf(err, err_len, "rt_file_write_atomic: NULL argument");
        return RT_ERR_ARG;
    }
    rt_afile f;
    rt_status st = rt_afile_open(&f, path, err, err_len);
    if (st)
        return st;
    rt_afile_write(&f, buf, len);
    return rt_afile_commit(&f, err, err_len);
}

rt_status rt_read_file(const char *path, uint64_t max_bytes, const char *what, unsigned char **buf,
                       size_t *len, char *err, size_t err_len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        rt_errf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return RT_ERR_IO;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rt_errf(err, err_len, "%s: not a regular file", path);
        fclose(f);
        return RT_ERR_IO;
    }
    if ((uint64_t)sb.st_size > max_bytes) {
        rt_errf(err, err_len, "%s: %lld bytes is too large for %s", path, (long long)sb.st_size,
                what ? what : "this reader");
        fclose(f);
        return RT_ERR_FORMAT;
    }
    if ((uint64_t)sb.st_size > SIZE_MAX - 1) {
        rt_errf(err, err_len, "%s: too large", path);
        fclose(f);
        return RT_ERR_NOMEM;
    }
    size_t n = (size_t)sb.st_size;
    unsigned char *p = malloc(n ? n : 1);
    if (!p) {
        rt_errf(err, err_len, "%s: out of memory reading %zu bytes", path, n);
        fclose(f);
        return RT_ERR_NOMEM;
    }
    size_t got = fread(p, 1, n, f);
    int rerr = ferror(f);
    fclose(f);
    if (got != n || rerr) {
        rt_errf(err, err_len, "%s: read error (%zu of %zu bytes)", path, got, n);
        free(p);
        return RT_ERR_IO;
    }
    *buf = p;
    *len = n;
    return RT_OK;
}
