/* tests/testutil.h -- helpers that tests of every layer share (static
 * inline, header-only; the library a test links does not matter): a temp
 * directory per test binary, made in the group setup and removed with all
 * it holds in the teardown, whole-file reads and writes that fail the
 * test instead of returning errors, and running the project's commands
 * (BUILD/graphc, ...) as a user does. */
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
#include <sys/wait.h>
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

/* buf = "<BUILD>/<tool>", BUILD being the parent of the test binary's
 * directory (BUILD/tests); 0 when it is an executable, else -1 (said on
 * stderr: build it first). */
static inline int tu_build_tool(char *buf, size_t len, const char *tool)
{
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    for (int up = 0; up < 2; up++) { /* BUILD/tests/test_x -> BUILD */
        char *slash = strrchr(exe, '/');
        if (!slash)
            return -1;
        *slash = 0;
    }
    snprintf(buf, len, "%s/%s", exe, tool);
    if (access(buf, X_OK) != 0) {
        fprintf(stderr, "%s must be built first (make)\n", buf);
        return -1;
    }
    return 0;
}

/* A command's exit status and its stdout+stderr (the caller frees out). */
typedef struct tu_result {
    int rc;
    char *out;
} tu_result;

/* Runs the shell command made from fmt, its output captured in
 * <tu_tmpdir>/cmd.log. */
static inline tu_result tu_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline tu_result tu_run(const char *fmt, ...)
{
    char cmd[4096], log[512];
    tu_tmp_path(log, sizeof log, "cmd.log");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd - 600);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " > %s 2>&1", log);
    int rc = system(cmd);
    size_t len;
    return (tu_result){ WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, (char *)tu_read_file(log, &len) };
}

/* Fails unless r succeeded; returns its output (the caller frees it). */
static inline char *tu_expect_ok(const char *what, tu_result r)
{
    if (r.rc != 0)
        fail_msg("%s: exit %d:\n%s", what, r.rc, r.out);
    return r.out;
}

/* Fails unless r exited with rc and its output holds needle. */
static inline void tu_expect_rc(tu_result r, int rc, const char *needle)
{
    if (r.rc != rc || !strstr(r.out, needle))
        fail_msg("expected exit %d and '%s', got exit %d:\n%s", rc, needle, r.rc, r.out);
    free(r.out);
}

#endif
