/* runtime/cli/graphrun.c -- the `graphrun` command: a thin CLI over graphrt.h.
 * Loads a graph binary, feeds .npy files by input name, runs the outputs the
 * feeds can compute (or the --fetch names), writes them as .npy (atomically)
 * or prints them, and with --repeat reports load, first-run and steady-state
 * latency. Every bad argument or file is a "graphrun: ..." message, exit 1. */
#include "cli.h"
#include "graphrt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>


static void usage(FILE *f)
{
    fprintf(f,
"usage: graphrun MODEL.gb [options]\n"
"       graphrun train MODEL.gb --data NAME=FILE.npy... --batch B ... (see\n"
"       graphrun train --help)\n"
"Runs a graph binary made by graphc on the CPU.\n"
"\n"
"inputs (by the model's input names):\n"
"  --input NAME=FILE.npy   feed input NAME from FILE.npy (repeatable)\n"
"  --inputs DIR            feed every input NAME that has DIR/NAME.npy\n"
"  --random-inputs         feed every input not given otherwise with random\n"
"                          data (seeded: the same on every run)\n"
"  --batch N               value of every symbolic dimension for\n"
"                          --random-inputs (default 1)\n"
"outputs:\n"
"  --output-dir DIR        write DIR/NAME.npy for each fetched value\n"
"  --outputs DIR           the same as --output-dir\n"
"  --fetch NAME            fetch NAME (a graph output or any node value;\n"
"                          repeatable); default: every output the feeds\n"
"                          can compute\n"
"running:\n"
"  --repeat N              after the first run, run N more times and print\n"
"                          latency min/median/max\n"
"  --threads N             threads (default: all cores)\n"
"  -h, --help              this text\n"
"\n"
"Without an output directory the fetched tensors' shapes and first values\n"
"are printed. Names with characters other than letters, digits, '.', '-'\n"
"and '_' map to files with those characters replaced by '_'.\n");
}

/* DIR/NAME.npy with NAME made safe for a file name. */
static void npy_path(const char *dir, const char *name, char *buf, size_t len)
{
    char safe[512];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof safe; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
              || c == '_' || (c == '.' && i > 0);
        safe[i] = ok ? c : '_';
    }
    safe[i] = 0;
    snprintf(buf, len, "%s/%s.npy", dir, safe);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_tensor(const char *name, const rt_tensor *t)
{
    printf("%s: %s[", name, rt_dtype_name(t->dtype));
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        printf("%s%lld", i ? ", " : "", (long long)t->dims[i]);
        n *= t->dims[i];
    }
    printf("] =");
    int64_t show = n < 8 ? n : 8;
    for (int64_t i = 0; i < show; i++) {
        switch (t->dtype) {
        case RT_F32: printf(" %.6g", (double)((const float *)t->data)[i]); break;
        case RT_F64: printf(" %.6g", ((const double *)t->data)[i]); break;
        case RT_I32: printf(" %d", ((const int32_t *)t->data)[i]); break;
        case RT_I64: printf(" %lld", (long long)((const int64_t *)t->data)[i]); break;
        case RT_BOOL: printf(" %s", ((const uint8_t *)t->data)[i] ? "true" : "false"); break;
        case RT_U8: printf(" %u", ((const uint8_t *)t->data)[i]); break;
        case RT_I8: printf(" %d", ((const int8_t *)t->data)[i]); break;
        }
    }
    if (n > show)
        printf(" ... (%lld values)", (long long)n);
    printf("\n");
}

/* Random data for input `info` with every symbolic dim = batch: floats
 * uniform in [-1, 1), integers in [0, 10), bools 0/1. xorshift64*, seeded. */
static int random_tensor(const rt_value_info *info, long batch, uint64_t *seed, rt_tensor *t)
{
    memset(t, 0, sizeof *t);
    t->dtype = info->dtype;
    t->rank = info->rank;
    int64_t n = 1;
    for (int i = 0; i < info->rank; i++) {
        int64_t d = info->sym_names[i] ? info->sym_coef[i] * batch : info->dims[i];
        if (d < 0 || (d && n > ((int64_t)1 << 40) / d))
            return -1;
        t->dims[i] = d;
        n *= d;
    }
    size_t es = rt_dtype_size(info->dtype);
    t->data = malloc((size_t)n * es + 1);
    if (!t->data)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        uint64_t x = *seed;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *seed = x;
        uint64_t r = x * 0x2545F4914F6CDD1Dull;
        double u = (double)(r >> 11) * 0x1.0p-53;
        switch (info->dtype) {
        case RT_F32: ((float *)t->data)[i] = (float)(2 * u - 1); break;
        case RT_F64: ((double *)t->data)[i] = 2 * u - 1; break;
        case RT_I32: ((int32_t *)t->data)[i] = (int32_t)(u * 10); break;
        case RT_I64: ((int64_t *)t->data)[i] = (int64_t)(u * 10); break;
        case RT_I8: ((int8_t *)t->data)[i] = (int8_t)(u * 10); break;
        default: ((uint8_t *)t->data)[i] = (uint8_t)(info->dtype == RT_BOOL ? u < 0.5 : u * 10); break;
        }
    }
    return 0;
}

typedef struct feed_arg {
    const char *name;
    const char *path;
} feed_arg;

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "train") == 0)
        return graphrun_train(argc - 1, argv + 1);

    const char *model_path = NULL, *inputs_dir = NULL, *out_dir = NULL;
    feed_arg fa[MAX_ARGS];
    const char *fetch_arg[MAX_ARGS];
    int n_fa = 0, n_fetch_arg = 0;
    long repeat = 0, threads = 0, batch = 1;
    int random_inputs = 0;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        int takes = strcmp(a, "--input") == 0 || strcmp(a, "--inputs") == 0
                 || strcmp(a, "--output-dir") == 0 || strcmp(a, "--outputs") == 0
                 || strcmp(a, "--fetch") == 0 || strcmp(a, "--repeat") == 0
                 || strcmp(a, "--threads") == 0 || strcmp(a, "--batch") == 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (takes) {
            if (i + 1 >= argc)
                return die("%s needs a value (see --help)", a);
            val = argv[++i];
        } else if (strcmp(a, "--random-inputs") == 0) {
            random_inputs = 1;
            continue;
        } else if (a[0] == '-' && a[1]) {
            return die("unknown option '%s' (see --help)", a);
        }
        if (!takes) {
            if (model_path)
                return die("more than one model file ('%s' and '%s')", model_path, a);
            model_path = a;
        } else if (strcmp(a, "--input") == 0) {
            const char *eq = strchr(val, '=');
            if (!eq || eq == val || !eq[1])
                return die("--input expects NAME=FILE.npy, got '%s'", val);
            if (n_fa >= MAX_ARGS)
                return die("too many --input options (at most %d)", MAX_ARGS);
            argv[i][eq - val] = 0; /* argv strings are ours to split */
            fa[n_fa].name = argv[i];
            fa[n_fa].path = eq + 1;
            n_fa++;
        } else if (strcmp(a, "--inputs") == 0) {
            if (inputs_dir)
                return die("--inputs given twice");
            inputs_dir = val;
        } else if (strcmp(a, "--output-dir") == 0 || strcmp(a, "--outputs") == 0) {
            if (out_dir)
                return die("output directory given twice");
            out_dir = val;
        } else if (strcmp(a, "--fetch") == 0) {
            if (n_fetch_arg >= MAX_ARGS)
                return die("too many --fetch options (at most %d)", MAX_ARGS);
            fetch_arg[n_fetch_arg++] = val;
        } else if (strcmp(a, "--repeat") == 0) {
            if (parse_int(val, a, 0, 10000000, &repeat))
                return 1;
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_int(val, a, 0, 4096, &threads))
                return 1;
        } else if (strcmp(a, "--batch") == 0) {
            if (parse_int(val, a, 1, 1L << 40, &batch))
                return 1;
        }
    }
    if (!model_path) {
        usage(stderr);
        return die("no model file given");
    }
    if (inputs_dir) {
        struct stat sb;
        if (stat(inputs_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return die("--inputs %s: not a directory", inputs_dir);
    }

    char err[1024];
    rt_model *m = NULL;
    rt_session *s = NULL;
    int n_in = 0, n_feeds = 0, n_fetch = 0;
    const char **feed_names = NULL, **fetch_names = NULL;
    rt_tensor *feeds = NULL, *fetches = NULL;
    double *lat = NULL;
    int *needs = NULL;

    double t0 = now_ms();
    if (rt_model_load_file(model_path, &m, err, sizeof err) != RT_OK) {
        die("%s", err);
        goto out;
    }
    double t_load = now_ms() - t0;
    n_in = rt_model_n_inputs(m);
    int n_out = rt_model_n_outputs(m);
    feed_names = calloc((size_t)n_in + 1, sizeof *feed_names);
    feeds = calloc((size_t)n_in + 1, sizeof *feeds);
    needs = calloc((size_t)n_in + 1, sizeof *needs);
    fetch_names = calloc((size_t)(n_out + n_fetch_arg) + 1, sizeof *fetch_names);
    fetches = calloc((size_t)(n_out + n_fetch_arg) + 1, sizeof *fetches);
    lat = calloc((size_t)repeat + 1, sizeof *lat);
    if (!feed_names || !feeds || !needs || !fetch_names || !fetches || !lat) {
        die("out of memory");
        goto out;
    }

    /* feeds: --input pairs, then --inputs DIR for the inputs not given */
    for (int i = 0; i < n_fa; i++) {
        int found = -1;
        for (int k = 0; k < n_in; k++) {
            rt_value_info info;
            rt_model_input(m, k, &info);
            if (strcmp(info.name, fa[i].name) == 0)
                found = k;
        }
        if (found < 0) {
            char list[512] = "";
            size_t used = 0;
            for (int k = 0; k < n_in && used < sizeof list; k++) {
                rt_value_info info;
                rt_model_input(m, k, &info);
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", info.name);
            }
            die("--input %s: the model has no input '%s' (inputs: %s)", fa[i].name, fa[i].name,
                n_in ? list : "none");
            goto out;
        }
        for (int f = 0; f < n_feeds; f++)
            if (strcmp(feed_names[f], fa[i].name) == 0) {
                die("--input %s given twice", fa[i].name);
                goto out;
            }
        if (rt_npy_load(fa[i].path, &feeds[n_feeds], err, sizeof err) != RT_OK) {
            die("--input %s: %s", fa[i].name, err);
            goto out;
        }
        feed_names[n_feeds++] = fa[i].name;
    }
    if (inputs_dir) {
        for (int k = 0; k < n_in; k++) {
            rt_value_info info;
            rt_model_input(m, k, &info);
            int dup = 0;
            for (int f = 0; f < n_feeds; f++)
                dup |= strcmp(feed_names[f], info.name) == 0;
            if (dup)
                continue;
            char path[4096];
            npy_path(inputs_dir, info.name, path, sizeof path);
            struct stat sb;
            if (stat(path, &sb) != 0)
                continue;
            if (rt_npy_load(path, &feeds[n_feeds], err, sizeof err) != RT_OK) {
                die("input %s: %s", info.name, err);
                goto out;
            }
            feed_names[n_feeds++] = info.name;
        }
    }

    if (random_inputs) {
        uint64_t seed = 0x9E3779B97F4A7C15ull;
        for (int k = 0; k < n_in; k++) {
            rt_value_info info;
            rt_model_input(m, k, &info);
            int dup = 0;
            for (int f = 0; f < n_feeds; f++)
                dup |= strcmp(feed_names[f], info.name) == 0;
            if (dup)
                continue;
            if (random_tensor(&info, batch, &seed, &feeds[n_feeds])) {
                die("input %s: too large for --batch %ld", info.name, batch);
                goto out;
            }
            feed_names[n_feeds++] = info.name;
        }
    }

    /* fetches: the --fetch names, else every output whose inputs are all fed */
    if (n_fetch_arg) {
        for (int i = 0; i < n_fetch_arg; i++)
            fetch_names[n_fetch++] = fetch_arg[i];
    } else {
        char missing[512] = "";
        for (int o = 0; o < n_out; o++) {
            rt_value_info info;
            rt_model_output(m, o, &info);
            if (rt_model_fetch_inputs(m, info.name, needs) != RT_OK) {
                die("output %s: cannot find its inputs", info.name);
                goto out;
            }
            int ok = 1;
            for (int k = 0; k < n_in; k++) {
                if (!needs[k])
                    continue;
                rt_value_info ii;
                rt_model_input(m, k, &ii);
                int fed = 0;
                for (int f = 0; f < n_feeds; f++)
                    fed |= strcmp(feed_names[f], ii.name) == 0;
                if (!fed && ok && !missing[0])
                    snprintf(missing, sizeof missing, " (output '%s' needs input '%s')", info.name, ii.name);
                ok &= fed;
            }
            int dup = 0;
            for (int f = 0; f < n_fetch; f++)
                dup |= strcmp(fetch_names[f], info.name) == 0;
            if (ok && !dup)
                fetch_names[n_fetch++] = info.name;
        }
        if (n_fetch == 0) {
            die("no output can be computed from the given inputs%s", n_out ? missing : " (the model has no outputs)");
            goto out;
        }
    }

    rt_session_options opts = rt_session_options_default();
    opts.n_threads = (int)threads;
    if (rt_session_create(m, &opts, &s, err, sizeof err) != RT_OK) {
        die("%s", err);
        goto out;
    }
    t0 = now_ms();
    if (rt_session_run(s, n_feeds, feed_names, feeds, n_fetch, fetch_names, fetches) != RT_OK) {
        die("%s", rt_session_last_error(s));
        goto out;
    }
    double t_first = now_ms() - t0;
    for (long r = 0; r < repeat; r++) {
        t0 = now_ms();
        if (rt_session_run(s, n_feeds, feed_names, feeds, n_fetch, fetch_names, fetches) != RT_OK) {
            die("%s", rt_session_last_error(s));
            goto out;
        }
        lat[r] = now_ms() - t0;
    }
    if (repeat > 0 || !out_dir) {
        size_t wb, ab, wsb;
        rt_session_memory(s, &wb, &ab, &wsb);
        printf("model %s: %d nodes, load %.3f ms, first run %.3f ms; memory: weights %zu B, "
               "activations %zu B, workspace %zu B\n",
               model_path, rt_model_n_nodes(m), t_load, t_first, wb, ab, wsb);
    }
    if (repeat > 0) {
        qsort(lat, (size_t)repeat, sizeof *lat, cmp_double);
        double med = repeat % 2 ? lat[repeat / 2] : (lat[repeat / 2 - 1] + lat[repeat / 2]) / 2;
        printf("latency over %ld runs: min %.4f ms, median %.4f ms, max %.4f ms\n", repeat, lat[0], med,
               lat[repeat - 1]);
    }
    if (out_dir) {
        if (mkdir_p(out_dir) != 0) {
            die("cannot create output directory %s: %s", out_dir, strerror(errno));
            goto out;
        }
        for (int i = 0; i < n_fetch; i++) {
            char path[4096];
            npy_path(out_dir, fetch_names[i], path, sizeof path);
            if (rt_npy_save(path, &fetches[i], err, sizeof err) != RT_OK) {
                die("%s", err);
                goto out;
            }
            printf("wrote %s\n", path);
        }
    } else {
        for (int i = 0; i < n_fetch; i++)
            print_tensor(fetch_names[i], &fetches[i]);
    }
    rc = 0;
out:
    rt_session_free(s);
    for (int f = 0; f < n_feeds; f++)
        free(feeds[f].data);
    free(feeds);
    free(feed_names);
    free(fetch_names);
    free(fetches);
    free(needs);
    free(lat);
    rt_model_free(m);
    return rc;
}
