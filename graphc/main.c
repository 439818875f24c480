/* graphc/main.c -- the `graphc` command: compile a model file to a graph
 * binary (or to IR text, Graphviz, the AST), and inspect a graph binary
 * (summary, FLOPs, --dump-params). Inspection goes through the runtime's
 * public API, so it sees exactly what the runtime will load. */
#include "ast.h"
#include "freeze.h"
#include "graphrt.h"
#include "ir.h"
#include "pass.h"
#include "sema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *o)
{
    fputs("usage:\n"
          "  graphc compile MODEL.g [-o OUT.gb] [--graph NAME] [--emit gb|ir|dot|ast]\n"
          "                 [-O0|-O1|-O2] [--disable-pass NAME]... [--report] [--report-json FILE]\n"
          "      compile a model file; without -o the binary is written to ./<graph>.gb\n"
          "      (--emit ir|dot|ast print to stdout, or to -o FILE); -O2 is the default;\n"
          "      --report prints what each pass did (to stderr)\n"
          "  graphc passes\n"
          "      list the optimization passes and their levels\n"
          "  graphc inspect GRAPH.gb [--dump-params DIR] [--batch N]\n"
          "      summary of a graph binary: inputs, outputs, params, ops, sizes, FLOPs;\n"
          "      --dump-params writes DIR/<param name>.npy for every param\n"
          "  graphc inspect CKPT.gbc [--dump-params DIR]\n"
          "      summary of a checkpoint (graph, step, entries); --dump-params writes\n"
          "      DIR/<name>.npy for every entry\n"
          "  graphc freeze GRAPH.gb CKPT.gbc -o FROZEN.gb\n"
          "      inference-only graph binary: params become consts with the checkpoint's\n"
          "      values; training entry points, optimizer state and what only they need\n"
          "      are dropped (TF1 freeze_graph)\n"
          "  graphc --help | --version\n",
          o);
}

static int cmd_compile(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *emit = "gb", *graph = NULL, *report_json = NULL;
    int no_prelude = 0, level = 2, report = 0, n_disabled = 0;
    const char *disabled[64];
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-o") == 0 || strcmp(a, "--emit") == 0 || strcmp(a, "--graph") == 0 ||
             strcmp(a, "--disable-pass") == 0 || strcmp(a, "--report-json") == 0) && i + 1 >= argc) {
            fprintf(stderr, "graphc: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "-o") == 0)
            out = argv[++i];
        else if (strcmp(a, "--emit") == 0)
            emit = argv[++i];
        else if (strcmp(a, "--graph") == 0)
            graph = argv[++i];
        else if (strcmp(a, "-O0") == 0 || strcmp(a, "-O1") == 0 || strcmp(a, "-O2") == 0)
            level = a[2] - '0';
        else if (strcmp(a, "--report") == 0)
            report = 1;
        else if (strcmp(a, "--report-json") == 0)
            report_json = argv[++i];
        else if (strcmp(a, "--disable-pass") == 0) {
            if (n_disabled >= 64) {
                fprintf(stderr, "graphc: too many --disable-pass\n");
                return 2;
            }
            disabled[n_disabled++] = argv[++i];
        } else if (strcmp(a, "--no-prelude") == 0)
            no_prelude = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "graphc: unknown option '%s' (see graphc --help)\n", a);
            return 2;
        } else if (in) {
            fprintf(stderr, "graphc: more than one model file given ('%s' and '%s')\n", in, a);
            return 2;
        } else
            in = a;
    }
    if (!in) {
        fprintf(stderr, "graphc: compile needs a model file (see graphc --help)\n");
        return 2;
    }
    if (strcmp(emit, "gb") && strcmp(emit, "ir") && strcmp(emit, "dot") && strcmp(emit, "ast")) {
        fprintf(stderr, "graphc: --emit takes gb, ir, dot or ast, not '%s'\n", emit);
        return 2;
    }
    gc_arena *arena = gc_arena_new();
    if (!arena) {
        fprintf(stderr, "graphc: out of memory\n");
        return 1;
    }
    gc_diag d;
    gc_diag_init(&d, arena, stderr);
    int rc = 1;
    int f = gc_source_load(&d, in, GC_NOLOC);
    if (f < 0)
        goto done;
    if (strcmp(emit, "ast") == 0) {
        ast_file *af = gc_parse(&d, f);
        if (af && d.n_errors == 0) {
            FILE *o = out ? fopen(out, "w") : stdout;
            if (!o) {
                fprintf(stderr, "graphc: cannot write '%s': %s\n", out, strerror(errno));
                goto done;
            }
            ast_file_print(o, af);
            if (out)
                fclose(o);
            rc = 0;
        }
        goto done;
    }
    gc_sema_opts so = { .graph_name = graph, .no_prelude = no_prelude };
    gc_graph *g = gc_sema(&d, arena, f, &so);
    if (!g)
        goto done;
    gc_opt_opts oo = { .level = level, .n_disabled = n_disabled, .disabled = disabled };
    gc_report rep;
    if (gc_optimize(g, &d, &oo, &rep))
        goto done;
    if (report)
        gc_report_print(stderr, &rep);
    if (report_json) {
        FILE *jf = fopen(report_json, "w");
        if (!jf) {
            fprintf(stderr, "graphc: cannot write '%s': %s\n", report_json, strerror(errno));
            goto done;
        }
        gc_report_json(jf, &rep);
        fclose(jf);
    }
    if (strcmp(emit, "gb") == 0) {
        const char *path = out ? out : gc_sprintf(arena, "%s.gb", g->name);
        if (gc_emit_file(g, &d, path, &d) == 0) {
            rc = 0;
            if (!out)
                fprintf(stderr, "graphc: wrote %s\n", path);
        }
        goto done;
    }
    FILE *o = out ? fopen(out, "w") : stdout;
    if (!o) {
        fprintf(stderr, "graphc: cannot write '%s': %s\n", out, strerror(errno));
        goto done;
    }
    if (strcmp(emit, "ir") == 0)
        gc_ir_print(o, g, &d);
    else
        gc_ir_dot(o, g);
    if (out && fclose(o) != 0)
        fprintf(stderr, "graphc: error writing '%s'\n", out);
    else
        rc = 0;
done:
    if (d.n_errors > 0)
        fprintf(stderr, "graphc: %d error%s\n", d.n_errors, d.n_errors == 1 ? "" : "s");
    gc_arena_free(arena);
    return rc;
}

static void print_info(const rt_value_info *vi, int width)
{
    printf("  %-*s %s[", width, vi->name, rt_dtype_name(vi->dtype));
    for (int i = 0; i < vi->rank; i++) {
        if (i)
            printf(", ");
        if (vi->sym_names[i]) {
            if (vi->sym_coef[i] != 1)
                printf("%lld*", (long long)vi->sym_coef[i]);
            printf("%s", vi->sym_names[i]);
        } else {
            printf("%lld", (long long)vi->dims[i]);
        }
    }
    printf("]");
}

static void human(double v, const char *unit, char *buf, size_t len)
{
    const char *pre[] = { "", " K", " M", " G", " T" };
    int k = 0;
    while (v >= 1000 && k < 4) {
        v /= 1000;
        k++;
    }
    snprintf(buf, len, k ? "%.1f%s%s" : "%.0f%s%s", v, pre[k], unit);
}

static int mkdir_p(const char *dir)
{
    char tmp[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0777) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0777) && errno != EEXIST)
        return -1;
    return 0;
}

/* inspect of a checkpoint (.gbc): graph, step, entries; --dump-params. */
static int inspect_checkpoint(const char *in, const char *dump)
{
    char err[1536];
    rt_checkpoint *c = NULL;
    if (rt_checkpoint_load_file(in, &c, err, sizeof err) != RT_OK) {
        fprintf(stderr, "graphc: %s\n", err);
        return 1;
    }
    struct stat st;
    char sz[64];
    human(stat(in, &st) == 0 ? (double)st.st_size : 0, "B", sz, sizeof sz);
    printf("checkpoint of graph %s (%s), step %lld, %s\n", rt_checkpoint_graph(c), rt_checkpoint_producer(c),
           (long long)rt_checkpoint_step(c), sz);
    int n = rt_checkpoint_n_entries(c), width = 4;
    long long n_values = 0;
    double bytes = 0;
    for (int i = 0; i < n; i++) {
        const char *name;
        rt_tensor t;
        rt_checkpoint_entry(c, i, &name, &t, NULL);
        if ((int)strlen(name) > width)
            width = (int)strlen(name);
        long long k = 1;
        for (int d = 0; d < t.rank; d++)
            k *= t.dims[d];
        n_values += k;
        bytes += (double)k * (double)rt_dtype_size(t.dtype);
    }
    human(bytes, "B", sz, sizeof sz);
    printf("entries: %d (%lld values, %s)\n", n, n_values, sz);
    for (int i = 0; i < n; i++) {
        const char *name;
        rt_tensor t;
        int trainable;
        rt_checkpoint_entry(c, i, &name, &t, &trainable);
        rt_value_info vi;
        memset(&vi, 0, sizeof vi);
        vi.name = name;
        vi.dtype = t.dtype;
        vi.rank = t.rank;
        for (int d = 0; d < t.rank; d++)
            vi.dims[d] = t.dims[d];
        print_info(&vi, width);
        printf("%s\n", trainable ? "  trainable" : "");
    }
    int rc = 0;
    if (dump) {
        if (mkdir_p(dump)) {
            fprintf(stderr, "graphc: cannot create '%s': %s\n", dump, strerror(errno));
            rc = 1;
        }
        for (int i = 0; !rc && i < n; i++) {
            const char *name;
            rt_tensor t;
            rt_checkpoint_entry(c, i, &name, &t, NULL);
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.npy", dump, name);
            if (strchr(name, '/')) {
                fprintf(stderr, "graphc: entry '%s': a name with '/' cannot be a file name\n", name);
                rc = 1;
            } else if (rt_npy_save(path, &t, err, sizeof err) != RT_OK) {
                fprintf(stderr, "graphc: %s\n", err);
                rc = 1;
            }
        }
        if (!rc)
            printf("wrote %d params to %s%s\n", n, dump, dump[0] && dump[strlen(dump) - 1] == '/' ? "" : "/");
    }
    rt_checkpoint_free(c);
    return rc;
}

/* 1 when the file at path starts with the checkpoint magic. */
static int file_is_checkpoint(const char *path)
{
    unsigned char head[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return rt_checkpoint_is_checkpoint(head, n);
}

static int cmd_freeze(int argc, char **argv)
{
    const char *gb = NULL, *ck = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "graphc: -o needs a value\n");
                return 2;
            }
            out = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "graphc: unknown option '%s' (see graphc --help)\n", argv[i]);
            return 2;
        } else if (!gb) {
            gb = argv[i];
        } else if (!ck) {
            ck = argv[i];
        } else {
            fprintf(stderr, "graphc: freeze takes one graph binary and one checkpoint\n");
            return 2;
        }
    }
    if (!gb || !ck || !out) {
        fprintf(stderr, "graphc: usage: graphc freeze GRAPH.gb CKPT.gbc -o FROZEN.gb\n");
        return 2;
    }
    char err[4096];
    gc_freeze_stats st;
    if (gc_freeze_file(gb, ck, out, &st, err, sizeof err)) {
        fprintf(stderr, "graphc: %s\n", err);
        return 1;
    }
    printf("froze %s with %s (step %lld) into %s: %d params -> consts", gb, ck, (long long)st.step, out,
           st.n_frozen);
    if (st.n_dropped_entries || st.n_dropped_nodes || st.n_dropped_params || st.n_dropped_inputs)
        printf("; dropped %d training entr%s, %d nodes, %d params, %d inputs", st.n_dropped_entries,
               st.n_dropped_entries == 1 ? "y" : "ies", st.n_dropped_nodes, st.n_dropped_params,
               st.n_dropped_inputs);
    if (st.n_ignored)
        printf("; ignored %d optimizer-state entr%s of the checkpoint", st.n_ignored,
               st.n_ignored == 1 ? "y" : "ies");
    printf("\n");
    return 0;
}

static int cmd_inspect(int argc, char **argv)
{
    const char *in = NULL, *dump = NULL;
    long long batch = 1;
    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "--dump-params") == 0 || strcmp(argv[i], "--batch") == 0) && i + 1 >= argc) {
            fprintf(stderr, "graphc: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--dump-params") == 0)
            dump = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0) {
            char *end;
            batch = strtoll(argv[++i], &end, 10);
            if (*end || batch < 1) {
                fprintf(stderr, "graphc: --batch needs a positive integer\n");
                return 2;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "graphc: unknown option '%s' (see graphc --help)\n", argv[i]);
            return 2;
        } else if (in) {
            fprintf(stderr, "graphc: more than one file given\n");
            return 2;
        } else
            in = argv[i];
    }
    if (!in) {
        fprintf(stderr, "graphc: inspect needs a graph binary (see graphc --help)\n");
        return 2;
    }
    if (file_is_checkpoint(in))
        return inspect_checkpoint(in, dump);
    char err[1024];
    rt_model *m = NULL;
    if (rt_model_load_file(in, &m, err, sizeof err) != RT_OK) {
        fprintf(stderr, "graphc: %s\n", err);
        return 1;
    }
    struct stat st;
    char sz[64];
    human(stat(in, &st) == 0 ? (double)st.st_size : 0, "B", sz, sizeof sz);
    printf("graph %s (%s), %s\n", rt_model_name(m), rt_model_producer(m), sz);
    int width = 4;
    rt_value_info vi;
    for (int i = 0; i < rt_model_n_inputs(m); i++)
        if (rt_model_input(m, i, &vi) == RT_OK && (int)strlen(vi.name) > width)
            width = (int)strlen(vi.name);
    for (int i = 0; i < rt_model_n_outputs(m); i++)
        if (rt_model_output(m, i, &vi) == RT_OK && (int)strlen(vi.name) > width)
            width = (int)strlen(vi.name);
    for (int i = 0; i < rt_model_n_params(m); i++)
        if (rt_model_param(m, i, &vi) == RT_OK && (int)strlen(vi.name) > width)
            width = (int)strlen(vi.name);
    printf("inputs:\n");
    for (int i = 0; i < rt_model_n_inputs(m); i++)
        if (rt_model_input(m, i, &vi) == RT_OK) {
            print_info(&vi, width);
            printf("\n");
        }
    printf("outputs:\n");
    for (int i = 0; i < rt_model_n_outputs(m); i++)
        if (rt_model_output(m, i, &vi) == RT_OK) {
            print_info(&vi, width);
            printf("\n");
        }
    rt_train_info ti;
    if (rt_model_train_info(m, &ti) == RT_OK) {
        printf("training: %s on loss '%s'\nentry points:", ti.optimizer, ti.loss ? ti.loss : "?");
        for (int i = 0; i < rt_model_n_entries(m); i++)
            printf(" %s", rt_model_entry_name(m, i));
        printf("\n");
    }
    long long n_values = 0;
    double bytes = 0;
    for (int i = 0; i < rt_model_n_params(m); i++) {
        rt_tensor t;
        if (rt_model_param_data(m, i, &t) != RT_OK)
            continue;
        long long n = 1;
        for (int k = 0; k < t.rank; k++)
            n *= t.dims[k];
        n_values += n;
        bytes += (double)n * (double)rt_dtype_size(t.dtype);
    }
    human(bytes, "B", sz, sizeof sz);
    printf("params: %d (%lld values, %s)\n", rt_model_n_params(m), n_values, sz);
    for (int i = 0; i < rt_model_n_params(m); i++)
        if (rt_model_param(m, i, &vi) == RT_OK) {
            print_info(&vi, width);
            printf("\n");
        }
    /* op histogram in order of first appearance */
    int n_nodes = rt_model_n_nodes(m);
    printf("ops: %d nodes:", n_nodes);
    const char *seen[128];
    int counts[128], n_seen = 0;
    for (int i = 0; i < n_nodes; i++) {
        const char *op = rt_model_node_op(m, i);
        int j = 0;
        while (j < n_seen && strcmp(seen[j], op) != 0)
            j++;
        if (j == n_seen && n_seen < 128) {
            seen[n_seen] = op;
            counts[n_seen++] = 0;
        }
        if (j < 128)
            counts[j]++;
    }
    for (int j = 0; j < n_seen; j++)
        printf("%s %s x%d", j ? "," : "", seen[j], counts[j]);
    printf("\n");
    int64_t fl = rt_model_flops(m, batch);
    if (fl >= 0) {
        human((double)fl, "FLOP", sz, sizeof sz);
        printf("FLOPs: %s per run with every symbolic dimension = %lld\n", sz, batch);
    }
    rt_plan_info pi;
    if (rt_model_plan_info(m, batch, &pi) == RT_OK) {
        char ab[64], pb[64], cb[64], sb[64];
        human((double)pi.peak_bytes, "B", pb, sizeof pb);
        if (pi.static_plan) {
            const char *sn = pi.sym ? pi.sym : "N";
            human((double)pi.arena_bytes, "B", ab, sizeof ab);
            human((double)pi.arena_const, "B", cb, sizeof cb);
            human((double)pi.arena_per_sym, "B", sb, sizeof sb);
            printf("memory plan: static (made by graphc, one plan for every %s): arena %s + %s*%s "
                   "(%lld + %lld*%s bytes)\n", sn, cb, sb, sn, (long long)pi.arena_const,
                   (long long)pi.arena_per_sym, sn);
            printf("  at %s = %lld: arena %s, peak activations %s; %d node values in %d buffers, %d views "
                   "of inputs\n", sn, batch, pi.arena_bytes < 0 ? "overflows" : ab,
                   pi.peak_bytes < 0 ? "overflows" : pb, pi.n_values, pi.n_buffers, pi.n_views);
        } else {
            printf("memory plan: made by the runtime at the first run of each batch size (none in the binary)\n");
            printf("  with every symbolic dimension = %lld: peak activations %s (live at once, before "
                   "reuse packing); %d node values\n", batch, pi.peak_bytes < 0 ? "overflows" : pb, pi.n_values);
        }
    }
    int rc = 0;
    if (dump) {
        if (mkdir_p(dump)) {
            fprintf(stderr, "graphc: cannot create '%s': %s\n", dump, strerror(errno));
            rc = 1;
        }
        for (int i = 0; !rc && i < rt_model_n_params(m); i++) {
            rt_tensor t;
            if (rt_model_param(m, i, &vi) != RT_OK || rt_model_param_data(m, i, &t) != RT_OK)
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.npy", dump, vi.name);
            if (rt_npy_save(path, &t, err, sizeof err) != RT_OK) {
                fprintf(stderr, "graphc: %s\n", err);
                rc = 1;
            }
        }
        if (!rc)
            printf("wrote %d params to %s%s\n", rt_model_n_params(m), dump, dump[0] && dump[strlen(dump) - 1] == '/' ? "" : "/");
    }
    rt_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("graphc 0.1\n");
        return 0;
    }
    if (strcmp(argv[1], "compile") == 0)
        return cmd_compile(argc - 2, argv + 2);
    if (strcmp(argv[1], "passes") == 0) {
        for (int i = 0; i < gc_n_passes; i++)
            printf("  %-12s -O%d  %s\n", gc_passes[i].name, gc_passes[i].min_level, gc_passes[i].doc);
        return 0;
    }
    if (strcmp(argv[1], "inspect") == 0)
        return cmd_inspect(argc - 2, argv + 2);
    if (strcmp(argv[1], "freeze") == 0)
        return cmd_freeze(argc - 2, argv + 2);
    fprintf(stderr, "graphc: unknown command '%s' (see graphc --help)\n", argv[1]);
    return 2;
}
