/* runtime/rt_io.h -- atomic file writes for the runtime (never installed):
 * a temp file next to the destination, written, fsync'ed, renamed over it,
 * then the directory fsync'ed, so a crash at any moment leaves either the
 * old file or the new one, never a torn one. Used by checkpoints and by the
 * public rt_file_write_atomic; tests inject failures through rt_io_test_hook. */
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

#endif
