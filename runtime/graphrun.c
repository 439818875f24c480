/* runtime/graphrun.c -- the `graphrun` command: a thin CLI over graphrt.h.
 * Loads a graph binary, feeds .npy files by input name, runs the outputs the
 * feeds can compute (or the --fetch names), writes them as .npy (atomically)
 * or prints them, and with --repeat reports load, first-run and steady-state
 * latency. Every bad argument or file is a "graphrun: ..." message, exit 1. */
#include "graphrt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_ARGS 256

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

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("graphrun: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* mkdir -p; 0 or -1 with errno */
static int mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0)
            continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        buf[i] = c;
    }
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
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

static int parse_int(const char *s, const char *opt, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return die("%s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
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

/* ---- graphrun train ---------------------------------------------------- */

static void train_usage(FILE *f)
{
    fprintf(f,
"usage: graphrun train MODEL.gb --data NAME=FILE.npy... --batch B\n"
"                      [--steps S | --epochs E] [--seed S] [--no-shuffle]\n"
"                      [--lr-input NAME --lr V] [--log-every K] [--threads N]\n"
"Trains a graph compiled with a 'train' statement: runs its 'train' entry\n"
"(forward, backward, update) on batches of B rows along axis 0 of the .npy\n"
"files (one per input, all with the same number of rows), reshuffled every\n"
"epoch with a seeded generator unless --no-shuffle (a last partial batch is\n"
"dropped). --steps S runs S steps (epochs repeat as needed); else E epochs\n"
"(default 1). Prints 'step S  loss L  examples/s X' every K steps (default 1)\n"
"and the last step. --lr-input NAME --lr V feeds V to the scalar input NAME\n"
"(a learning rate declared as a feed).\n");
}

/* splitmix64: the shuffle's generator (seeded, the same on every machine) */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void shuffle(int64_t *perm, int64_t n, uint64_t *rng)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(splitmix64(rng) % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static int train_main(int argc, char **argv)
{
    const char *model_path = NULL, *lr_input = NULL;
    const char *dnames[MAX_ARGS];
    const char *dpaths[MAX_ARGS];
    int n_data = 0, shuffle_on = 1, have_lr = 0;
    long batch = 0, steps = -1, epochs = -1, seed = 0, log_every = 1, threads = 0;
    double lr = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            train_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--no-shuffle") == 0) {
            shuffle_on = 0;
            continue;
        }
        int takes = strcmp(a, "--data") == 0 || strcmp(a, "--batch") == 0 || strcmp(a, "--steps") == 0 ||
                    strcmp(a, "--epochs") == 0 || strcmp(a, "--seed") == 0 || strcmp(a, "--lr-input") == 0 ||
                    strcmp(a, "--lr") == 0 || strcmp(a, "--log-every") == 0 || strcmp(a, "--threads") == 0;
        if (!takes) {
            if (a[0] == '-' && a[1])
                return die("train: unknown option '%s' (see graphrun train --help)", a);
            if (model_path)
                return die("train: more than one model file ('%s' and '%s')", model_path, a);
            model_path = a;
            continue;
        }
        if (i + 1 >= argc)
            return die("train: %s needs a value", a);
        const char *val = argv[++i];
        if (strcmp(a, "--data") == 0) {
            const char *eq = strchr(val, '=');
            if (!eq || eq == val || !eq[1])
                return die("train: --data expects NAME=FILE.npy, got '%s'", val);
            if (n_data >= MAX_ARGS)
                return die("train: too many --data options");
            argv[i][eq - val] = 0;
            dnames[n_data] = argv[i];
            dpaths[n_data++] = eq + 1;
        } else if (strcmp(a, "--lr-input") == 0) {
            lr_input = val;
        } else if (strcmp(a, "--lr") == 0) {
            char *end;
            errno = 0;
            lr = strtod(val, &end);
            if (errno || end == val || *end)
                return die("train: --lr expects a number, got '%s'", val);
            have_lr = 1;
        } else if (parse_int(val, a, strcmp(a, "--seed") == 0 || strcmp(a, "--threads") == 0 ? 0 : 1,
                             strcmp(a, "--threads") == 0 ? 4096 : 1L << 40,
                             strcmp(a, "--batch") == 0 ? &batch : strcmp(a, "--steps") == 0 ? &steps
                             : strcmp(a, "--epochs") == 0 ? &epochs : strcmp(a, "--seed") == 0 ? &seed
                             : strcmp(a, "--threads") == 0 ? &threads : &log_every)) {
            return 1;
        }
    }
    if (!model_path) {
        train_usage(stderr);
        return die("train: no model file given");
    }
    if (n_data == 0 || batch <= 0)
        return die("train: give the data (--data NAME=FILE.npy, one per input) and --batch B");
    if (!lr_input != !have_lr)
        return die("train: --lr-input NAME and --lr V go together");
    if (steps > 0 && epochs > 0)
        return die("train: give --steps or --epochs, not both");

    int rc = 1;
    char err[1024];
    rt_model *m = NULL;
    rt_session *s = NULL;
    rt_tensor data[MAX_ARGS + 1], feeds[MAX_ARGS + 1];
    const char *fnames[MAX_ARGS + 1];
    int64_t *perm = NULL;
    memset(data, 0, sizeof data);
    memset(feeds, 0, sizeof feeds);
    float lr_val = (float)lr;
    rt_status st = rt_model_load_file(model_path, &m, err, sizeof err);
    if (st != RT_OK) {
        die("%s: %s", model_path, err);
        goto out;
    }
    if (rt_model_entry_n_fetches(m, "train") != 1) {
        die("%s: no 'train' entry point (compile a graph with a 'train LOSS with OPT(...)' statement)", model_path);
        goto out;
    }
    int64_t n_rows = -1;
    for (int i = 0; i < n_data; i++) {
        if ((st = rt_npy_load(dpaths[i], &data[i], err, sizeof err)) != RT_OK) {
            die("%s: %s", dpaths[i], err);
            goto out;
        }
        if (data[i].rank < 1) {
            die("%s: a scalar; training data needs a batch axis 0", dpaths[i]);
            goto out;
        }
        if (n_rows >= 0 && data[i].dims[0] != n_rows) {
            die("%s has %lld rows but %s has %lld: every --data file needs the same number", dpaths[i],
                (long long)data[i].dims[0], dpaths[0], (long long)n_rows);
            goto out;
        }
        n_rows = data[i].dims[0];
        feeds[i] = data[i];
        feeds[i].dims[0] = batch;
        size_t row = rt_dtype_size(data[i].dtype);
        for (int d = 1; d < data[i].rank; d++)
            row *= (size_t)data[i].dims[d];
        feeds[i].data = malloc(row * (size_t)batch + 1);
        if (!feeds[i].data) {
            die("out of memory for a batch of %ld rows of %s", batch, dpaths[i]);
            goto out;
        }
        fnames[i] = dnames[i];
    }
    if (n_rows < batch) {
        die("the data has %lld rows, fewer than one batch of %ld", (long long)n_rows, batch);
        goto out;
    }
    int nf = n_data;
    if (lr_input) {
        fnames[nf] = lr_input;
        feeds[nf] = (rt_tensor){ .dtype = RT_F32, .rank = 0, .data = &lr_val };
        nf++;
    }
    int64_t per_epoch = n_rows / batch;
    if (steps < 0)
        steps = (epochs > 0 ? epochs : 1) * per_epoch;
    perm = malloc(sizeof(int64_t) * (size_t)n_rows);
    if (!perm) {
        die("out of memory");
        goto out;
    }
    rt_session_options o = rt_session_options_default();
    o.n_threads = (int)threads;
    if ((st = rt_session_create(m, &o, &s, err, sizeof err)) != RT_OK) {
        die("%s", err);
        goto out;
    }
    uint64_t rng = (uint64_t)seed;
    double t0 = now_ms();
    long seen0 = 0;
    for (long step = 0; step < steps; step++) {
        int64_t b = step % per_epoch;
        if (b == 0) {
            for (int64_t r = 0; r < n_rows; r++)
                perm[r] = r;
            if (shuffle_on)
                shuffle(perm, n_rows, &rng);
        }
        for (int i = 0; i < n_data; i++) {
            size_t row = rt_dtype_size(data[i].dtype);
            for (int d = 1; d < data[i].rank; d++)
                row *= (size_t)data[i].dims[d];
            for (long r = 0; r < batch; r++)
                memcpy((char *)feeds[i].data + (size_t)r * row,
                       (const char *)data[i].data + (size_t)perm[b * batch + r] * row, row);
        }
        rt_tensor loss;
        if ((st = rt_session_run_entry(s, "train", nf, fnames, feeds, 0, NULL, &loss)) != RT_OK) {
            die("step %ld: %s", step + 1, rt_session_last_error(s));
            goto out;
        }
        /* hooks (later): TensorBoard scalars, checkpoints, evaluation, progress bar */
        if ((step + 1) % log_every == 0 || step + 1 == steps) {
            double t1 = now_ms();
            double eps = t1 > t0 ? (double)((step + 1 - seen0) * batch) / ((t1 - t0) / 1000.0) : 0.0;
            printf("step %ld  loss %.6g  examples/s %.1f\n", step + 1,
                   loss.dtype == RT_F32 ? (double)*(const float *)loss.data : NAN, eps);
            fflush(stdout);
            t0 = t1;
            seen0 = step + 1;
        }
    }
    rc = 0;
out:
    for (int i = 0; i < n_data; i++) {
        free(data[i].data);
        free(feeds[i].data);
    }
    free(perm);
    rt_session_free(s);
    rt_model_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "train") == 0)
        return train_main(argc - 1, argv + 1);

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
