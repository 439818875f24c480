/* tests/testutil.h -- helpers that tests of every layer share (static
 * inline, header-only; the library a test links does not matter): a temp
 * directory per test binary, made in the group setup and removed with all
 * it holds in the teardown, and whole-file reads and writes that fail the
 * test instead of returning errors. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The test binary's temp directory (tu_tmpdir_make). */
static char tu_tmpdir[256] __attribute__((unused));

/* Makes tu_tmpdir: $TMPDIR/<prefix>_XXXXXX (/tmp without TMPDIR). 0 or -1,
 * the return value of a cmocka group setup. */
static inline int tu_tmpdir_make(const char *prefix)
{
    const char *base = getenv("TMPDIR");
    snprintf(tu_tmpdir, sizeof tu_tmpdir, "%s/%s_XXXXXX", base && base[0] ? base : "/tmp", prefix);
    return mkdtemp(tu_tmpdir) ? 0 : -1;
}

/* Removes path and, for a directory, all it holds (directories a test made
 * read-only included). Symbolic links are removed, not followed. */
static inline void tu_rm_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        unlink(path);
        return;
    }
    chmod(path, 0700);
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                int n = snprintf(p, sizeof p, "%s/%s", path, e->d_name);
                if (n > 0 && (size_t)n < sizeof p)
                    tu_rm_tree(p);
            }
        closedir(d);
    }
    rmdir(path);
}

/* Removes tu_tmpdir and everything in it (a cmocka group teardown's work). */
static inline void tu_tmpdir_remove(void) { tu_rm_tree(tu_tmpdir); }

/* "<tu_tmpdir>/<name>" */
static inline void tu_tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tu_tmpdir, name);
}

/* The whole file (malloc'ed, with a 0 byte after the *len bytes of it);
 * fails the test when it cannot be read. */
static inline unsigned char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    assert_true(n >= 0);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

/* Writes n bytes to path (created or truncated); fails the test on error. */
static inline void tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("%s: cannot create", path);
    if (n)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

#endif
