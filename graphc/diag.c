/* graphc/diag.c -- the source table and GNU-style diagnostics (see diag.h). */
#include "diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void gc_diag_init(gc_diag *d, gc_arena *a, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->arena = a;
    d->out = out ? out : stderr;
    d->max_errors = 50;
}

int gc_source_add(gc_diag *d, const char *path, const char *text, int len)
{
    if (gc_grow(d->arena, (void **)&d->files, &d->cap_files, d->n_files + 1, sizeof(gc_source)))
        return -1;
    gc_source *s = &d->files[d->n_files];
    s->path = gc_strdup(d->arena, path);
    s->text = gc_strndup(d->arena, text, (size_t)len);
    s->len = len;
    if (!s->path || !s->text)
        return -1;
    return d->n_files++;
}

int gc_source_load(gc_diag *d, const char *path, gc_loc from)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        gc_error(d, from, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            if (cap > ((size_t)64 << 20)) {
                fclose(f);
                free(buf);
                gc_error(d, from, "'%s' is larger than 64 MiB; not a model file", path);
                return -1;
            }
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                fclose(f);
                free(buf);
                gc_error(d, from, "out of memory reading '%s'", path);
                return -1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        gc_error(d, from, "cannot read '%s'", path);
        return -1;
    }
    if (memchr(buf, 0, len)) {
        free(buf);
        gc_error(d, from, "'%s' contains NUL bytes; not a model file", path);
        return -1;
    }
    int id = gc_source_add(d, path, buf, (int)len);
    free(buf);
    return id;
}

void gc_loc_linecol(const gc_diag *d, gc_loc loc, int *line, int *col)
{
    *line = 0;
    *col = 0;
    if (loc.file < 0 || loc.file >= d->n_files)
        return;
    const gc_source *s = &d->files[loc.file];
    int off = loc.off < 0 ? 0 : (loc.off > s->len ? s->len : loc.off);
    int l = 1, c = 1;
    for (int i = 0; i < off; i++) {
        if (s->text[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static void vreport(gc_diag *d, const char *kind, gc_loc loc, const char *fmt, va_list ap)
{
    FILE *o = d->out;
    if (loc.file >= 0 && loc.file < d->n_files) {
        int line, col;
        gc_loc_linecol(d, loc, &line, &col);
        fprintf(o, "%s:%d:%d: %s: ", d->files[loc.file].path, line, col, kind);
        vfprintf(o, fmt, ap);
        fputc('\n', o);
        const gc_source *s = &d->files[loc.file];
        int off = loc.off < 0 ? 0 : (loc.off > s->len ? s->len : loc.off);
        int start = off;
        while (start > 0 && s->text[start - 1] != '\n')
            start--;
        int end = off;
        while (end < s->len && s->text[end] != '\n')
            end++;
        fprintf(o, "  %.*s\n  ", end - start, s->text + start);
        for (int i = start; i < off; i++)
            fputc(s->text[i] == '\t' ? '\t' : ' ', o);
        fputs("^\n", o);
    } else {
        fprintf(o, "graphc: %s: ", kind);
        vfprintf(o, fmt, ap);
        fputc('\n', o);
    }
}

void gc_error(gc_diag *d, gc_loc loc, const char *fmt, ...)
{
    d->n_errors++;
    if (d->n_errors > d->max_errors)
        return;
    va_list ap;
    va_start(ap, fmt);
    vreport(d, "error", loc, fmt, ap);
    va_end(ap);
    if (d->n_errors == d->max_errors)
        fprintf(d->out, "graphc: too many errors; stopping\n");
}

void gc_warning(gc_diag *d, gc_loc loc, const char *fmt, ...)
{
    d->n_warnings++;
    va_list ap;
    va_start(ap, fmt);
    vreport(d, "warning", loc, fmt, ap);
    va_end(ap);
}

void gc_note(gc_diag *d, gc_loc loc, const char *fmt, ...)
{
    if (d->n_errors > d->max_errors)
        return;
    va_list ap;
    va_start(ap, fmt);
    vreport(d, "note", loc, fmt, ap);
    va_end(ap);
}
