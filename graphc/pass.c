/* graphc/pass.c -- the pass table, the pass manager and the report printers
 * (see pass.h). */
#include "pass.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

const gc_pass gc_passes[] = {
    { "simplify", 1, gc_pass_simplify, "algebraic identities: x*1, x+0, double transpose, reshape chains, transpose into matmul" },
    { "fold", 1, gc_pass_fold, "constant folding with the runtime's CPU kernels" },
    { "cse", 1, gc_pass_cse, "common subexpression elimination" },
    { "dce", 1, gc_pass_dce, "remove nodes no output needs" },
    { "fold_bn", 2, gc_pass_fold_bn, "fold inference batch norm into the preceding conv or matmul" },
    { "fuse_gemm", 2, gc_pass_fuse_gemm, "matmul/conv + bias + activation into one kernel" },
    { "fuse_ew", 2, gc_pass_fuse_ew, "chains and trees of elementwise ops into one tiled kernel" },
    { "layout", 2, gc_pass_layout, "pre-transpose / pack constant weights where it pays" },
    { "dce2", 1, gc_pass_dce, "remove what the fusions left unused" },
    { "memplan", 0, gc_pass_memplan, "static memory plan: liveness, buffer reuse, in-place; offsets in the binary" },
};
const int gc_n_passes = (int)(sizeof gc_passes / sizeof gc_passes[0]);

const gc_pass *gc_pass_find(const char *name)
{
    for (int i = 0; i < gc_n_passes; i++)
        if (strcmp(gc_passes[i].name, name) == 0)
            return &gc_passes[i];
    return NULL;
}

static int live_nodes(const gc_graph *g)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i]->dead;
    return n;
}

void gc_pass_note(gc_pass_ctx *ctx, const char *fmt, ...)
{
    gc_pass_report *r = ctx->rep;
    if (!r)
        return;
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    gc_rewrite *w = gc_alloc(ctx->g->arena, sizeof *w);
    if (!w)
        return;
    w->text = gc_strdup(ctx->g->arena, buf);
    if (r->last)
        r->last->next = w;
    else
        r->rewrites = w;
    r->last = w;
    r->n_rewrites++;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int gc_optimize(gc_graph *g, gc_diag *d, const gc_opt_opts *opts, gc_report *report)
{
    gc_report local;
    if (!report)
        report = &local;
    memset(report, 0, sizeof *report);
    report->level = opts ? opts->level : 0;
    for (int i = 0; opts && i < opts->n_disabled; i++)
        if (!gc_pass_find(opts->disabled[i])) {
            char names[512] = "";
            for (int k = 0; k < gc_n_passes; k++) {
                size_t l = strlen(names);
                snprintf(names + l, sizeof names - l, "%s%s", k ? ", " : "", gc_passes[k].name);
            }
            gc_error(d, GC_NOLOC, "--disable-pass: no pass named '%s' (passes: %s)", opts->disabled[i], names);
            return -1;
        }
    for (int i = 0; i < gc_n_passes && i < 32; i++) {
        const gc_pass *p = &gc_passes[i];
        gc_pass_report *r = &report->passes[report->n_passes++];
        r->name = p->name;
        int run = opts && opts->level >= p->min_level;
        for (int k = 0; run && opts && k < opts->n_disabled; k++)
            if (strcmp(opts->disabled[k], p->name) == 0)
                run = 0;
        r->ops_before = r->ops_after = live_nodes(g);
        if (!run)
            continue;
        r->ran = 1;
        gc_pass_ctx ctx = { .g = g, .d = d, .level = opts->level, .rep = r,
                            .fold_limit = opts->fold_limit ? opts->fold_limit : (1 << 20) };
        double t0 = now_ms();
        int errs = d->n_errors;
        if (p->run(&ctx) || d->n_errors > errs)
            return -1;
        if (gc_graph_toposort(g)) {
            gc_error(d, GC_NOLOC, "pass %s left a cycle in the graph (internal error)", p->name);
            return -1;
        }
        r->ms = now_ms() - t0;
        r->ops_after = live_nodes(g);
    }
    return 0;
}

void gc_report_print(FILE *out, const gc_report *r)
{
    fprintf(out, "optimization report (-O%d)\n", r->level);
    for (int i = 0; i < r->n_passes; i++) {
        const gc_pass_report *p = &r->passes[i];
        if (!p->ran) {
            fprintf(out, "  %-12s skipped\n", p->name);
            continue;
        }
        fprintf(out, "  %-12s ops %d -> %d, %d rewrite%s (%.2f ms)%s%s\n", p->name, p->ops_before, p->ops_after,
                p->n_rewrites, p->n_rewrites == 1 ? "" : "s", p->ms, p->summary ? "; " : "",
                p->summary ? p->summary : "");
        for (const gc_rewrite *w = p->rewrites; w; w = w->next)
            fprintf(out, "      %s\n", w->text);
    }
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void gc_report_json(FILE *out, const gc_report *r)
{
    fprintf(out, "{\"level\": %d, \"passes\": [", r->level);
    for (int i = 0; i < r->n_passes; i++) {
        const gc_pass_report *p = &r->passes[i];
        fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
        json_str(out, p->name);
        fprintf(out, ", \"ran\": %s, \"ops_before\": %d, \"ops_after\": %d, \"ms\": %.3f, \"rewrites\": [",
                p->ran ? "true" : "false", p->ops_before, p->ops_after, p->ms);
        int k = 0;
        for (const gc_rewrite *w = p->rewrites; w; w = w->next, k++) {
            fputs(k ? ", " : "", out);
            json_str(out, w->text);
        }
        fputs("]}", out);
    }
    fputs("\n]}\n", out);
}
