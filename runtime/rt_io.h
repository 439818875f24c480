/* runtime/rt_io.h -- file input and output for the runtime (never
 * installed). Atomic writes: a temp file next to the destination, written,
 * fsync'ed, renamed over it, then the directory fsync'ed, so a crash at any
 * moment leaves either the old file or the new one, never a torn one. Used by
 * checkpoints and by the public rt_file_write_atomic; tests inject failures
 * through rt_io_test_hook. Reads: a whole regular file into memory (graph
 * binaries, checkpoints). Implemented in runtime/fileio.c. */
#ifndef RT_IO_H
#define RT_IO_H

#include "graphrt.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rt_afile {
    int fd;              /* -1 when closed */
    char *path;          /* destination (owned copy) */
    char *tmp;           /* "<path>.tmp.<pid>.<n>", same directory (owned) */
    int failed;          /* a write failed: commit refuses */
    int saved_errno;
    const char *failed_stage;
    uint64_t written;
} rt_afile;

/* Test hook (NULL normally): called before each stage ("open", "write",
 * "fsync", "rename") with the temp and destination paths; a non-zero return
 * makes that stage fail as if the system call had failed with EIO. */
extern int (*rt_io_test_hook)(const char *stage, const char *tmp, const char *path);

/* Creates the temp file for path. RT_ERR_IO / RT_ERR_NOMEM with a message. */
rt_status rt_afile_open(rt_afile *f, const char *path, char *err, size_t err_len);
/* Appends n bytes; on failure marks f failed (commit then reports it) and
 * returns -1. */
int rt_afile_write(rt_afile *f, const void *data, size_t n);
/* fsync, close, rename over path, fsync of the directory. On any failure
 * the temp file is removed and path is left as it was. Frees f's strings
 * either way. */
rt_status rt_afile_commit(rt_afile *f, char *err, size_t err_len);
/* Closes and removes the temp file; path is untouched. */
void rt_afile_abort(rt_afile *f);

/* fsync of the directory that holds path, so a rename into it survives a
 * crash (best effort: some file systems refuse to fsync a directory). */
void rt_fsync_dir(const char *path);

/* Reads the regular file path whole into *buf (malloc'ed, at least 1 byte;
 * free with free()) and its size into *len. A file over max_bytes is refused
 * with RT_ERR_FORMAT and "PATH: N bytes is too large for WHAT" (what, e.g.
 * "a graph binary (limit 4 GiB)"); RT_ERR_IO when it cannot be opened, is not
 * a regular file or does not read whole; RT_ERR_NOMEM. The message starts
 * with the path. */
rt_status rt_read_file(const char *path, uint64_t max_bytes, const char *what, unsigned char **buf,
                       size_t *len, char *err, size_t err_len);

#endif
