/* graphc/diag.h -- sources and diagnostics. Every loaded file is kept in the
 * source table; a location is (file index, byte offset), turned into
 * line:col only when a message is printed in GNU style:
 *   file:line:col: error: message
 *     <source line>
 *     ^                                                                 */
#ifndef GC_DIAG_H
#define GC_DIAG_H

#include <stdio.h>
#include "arena.h"

typedef struct gc_loc {
    int file; /* index in the source table; -1: no location */
    int off;  /* byte offset in that file */
} gc_loc;

typedef struct gc_source {
    const char *path;   /* as given by the user (or relative to the importer) */
    const char *text;   /* NUL-terminated contents */
    int len;
} gc_source;

typedef struct gc_diag {
    gc_arena *arena;
    FILE *out;          /* where messages go (stderr by default) */
    gc_source *files;
    int n_files, cap_files;
    int n_errors, n_warnings;
    int max_errors;     /* stop printing after this many (default 50) */
} gc_diag;

void gc_diag_init(gc_diag *d, gc_arena *a, FILE *out);
/* Reads path into the source table; returns its index or -1 (with an error
 * reported at `from`, which may be {-1, 0}). */
int gc_source_load(gc_diag *d, const char *path, gc_loc from);
/* Adds text already in memory (tests, fuzzing); returns its index or -1. */
int gc_source_add(gc_diag *d, const char *path, const char *text, int len);
/* 1-based line and column of loc. */
void gc_loc_linecol(const gc_diag *d, gc_loc loc, int *line, int *col);

void gc_error(gc_diag *d, gc_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void gc_warning(gc_diag *d, gc_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void gc_note(gc_diag *d, gc_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define GC_NOLOC ((gc_loc){ -1, 0 })

#endif
