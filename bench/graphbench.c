/* bench/graphbench.c -- `graphbench`: optimized-vs-unoptimized comparisons of
 * one graph. Compiles a model file at several -O levels (or loads graph
 * binaries), feeds every config the same inputs, checks that their outputs
 * agree, times them interleaved (round robin, one session each), profiles
 * the slowest nodes, and with --bisect measures each pass's effect. */
#include "graphrt.h"
#include "ir.h"
#include "pass.h"
#include "sema.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONFIGS 48
#define MAX_DISABLED 16
#define MAX_OUTPUTS 64
#define MAX_INPUTS 64
#define NOISE 0.15 /* differences under this are ties on the shared machines */

typedef struct pass_info {
    char name[32];
    int ran, ops_before, ops_after, n_rewrites;
} pass_info;

typedef struct config {
    char label[96];          /* "-O2", "-O2 no fuse_ew", "a.gb" */
    char key[96];            /* JSON key: "O2", "O2-fuse_ew", "a.gb" */
    const char *gb_path;     /* a graph binary, else compiled from the model file */
    int level;
    int n_disabled;
    const char *disabled[MAX_DISABLED];
    int is_bisect;           /* one pass disabled, shown in the bisect table */
    int same_as_base;        /* bisect: same binary as the full level (not timed) */

    void *gb;                /* the graph binary (compiled configs) */
    size_t gb_len;
    pass_info passes[32];
    int n_passes;
    rt_model *m;
    rt_session *s;
    double compile_ms, load_ms, first_ms; /* load_ms: compile + load + session */
    int64_t flops;
    int n_feeds;
    const char *feed_names[MAX_INPUTS];
    rt_tensor feeds[MAX_INPUTS];
    rt_tensor fetch[MAX_OUTPUTS];
    void *first_out[MAX_OUTPUTS];  /* copies of the first run's outputs */
    double out_abs[MAX_OUTPUTS], out_rel[MAX_OUTPUTS];
    double max_abs, max_rel;
    int mismatch, nondet;
    double last_rel;         /* --entry: the last step's fetches vs the reference's */
    double first_loss, last_loss; /* --entry: fetch 0 when a scalar (nan otherwise) */
    double *samples;
    int n_samples;
    double min, median, p90, p99, mean;
    size_t weights, arena, workspace;
    long rss_kb, rss_base_kb;
    int cold;                /* compile/load/first run timed in a fresh process */
    rt_node_profile *prof;
    int n_prof, prof_runs;
    double prof_wall_ms;
} config;

typedef struct input {
    char name[128];
    rt_tensor t;
    int from_file;
} input;

static struct {
    const char *model;       /* .g path, or NULL */
    const char *graph;
    int threads, warmup, runs, prof_runs, top, bisect, rss, seed_set, quiet;
    long batch;
    uint64_t seed;
    double tol;
    const char *json, *summary;
    const char *entry;       /* --entry: a training graph's entry point */
    int steps;               /* --entry other than predict: every run updates the params */
    double lr;               /* --lr: fed to a learning-rate input */
    int n_levels, levels[8];
    int n_user_dis;
    const char *user_dis[MAX_DISABLED];
    int n_in_args;
    const char *in_args[MAX_INPUTS];
} opt;

static config cfgs[MAX_CONFIGS];
static int n_cfgs;
static input inputs[MAX_INPUTS];
static int n_inputs;
static const char *out_names[MAX_OUTPUTS];
static int n_outs;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("graphbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* CPU seconds the whole machine has been busy (user, nice, system, irq,
 * softirq, steal of /proc/stat), and that this process has used: their
 * difference over the timed runs is other work, which makes OpenMP
 * barriers wait for the scheduler. -1 when unknown. */
static double machine_busy_s(void)
{
    unsigned long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 4)
        return -1;
    double hz = (double)sysconf(_SC_CLK_TCK);
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (hz > 0 ? hz : 100);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec
           + 1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void usage(FILE *o)
{
    fputs("usage: graphbench MODEL.g [options]      compile at each level, compare, time\n"
          "       graphbench A.gb [B.gb ...] [options]  the same over graph binaries (A is the reference)\n"
          "options:\n"
          "  --levels L,L,...   -O levels to compare (default 0,2); the first is the reference\n"
          "  --graph NAME       which graph of the model file\n"
          "  --disable-pass P   disable pass P at every level (repeatable)\n"
          "  --batch N          value of every symbolic dimension of random inputs (default 1)\n"
          "  --input NAME=F.npy feed input NAME from a .npy file (repeatable); others random\n"
          "  --seed S           seed of the random inputs (default 1): uniform [-1,1), ints [0,10)\n"
          "  --threads N        session threads (default 0: all cores)\n"
          "  --warmup N         untimed runs per config before timing (default 3)\n"
          "  --runs N           timed runs per config (default 50), interleaved round robin\n"
          "  --profile-runs N   profiled runs per config (default runs/5, 3..20; 0: no profile)\n"
          "  --top N            slowest nodes shown per config (default 6)\n"
          "  --tol T            max relative difference allowed vs the reference (default 1e-4)\n"
          "  --entry E          time entry point E of a training graph (train, grad, apply, predict)\n"
          "                     instead of the outputs: each config starts from the binary's params\n"
          "                     and takes the same steps on the same batches; the entry's fetches\n"
          "                     (the loss) are compared at the first step and reported after the\n"
          "                     last\n"
          "  --lr X             value fed to the learning-rate input of such a graph (default 0.001)\n"
          "  --bisect           from the highest level, disable each pass in turn: its effect\n"
          "                     on median time and on the output difference vs the reference\n"
          "  --no-rss           skip the per-config peak RSS (one child process per config)\n"
          "  --json FILE        machine-readable results\n"
          "  --summary FILE     append one Markdown table row (reference vs optimized) to FILE\n"
          "  --quiet            leave out the inputs, the passes and the per-op profile\n"
          "Outputs are compared to the reference config: max abs = max |a - ref|; max rel =\n"
          "max |a - ref| / max |ref| per output (relative to the output's magnitude, so entries\n"
          "near zero do not blow it up). A disagreement over --tol prints FAIL and exits 1.\n",
          o);
}

static long parse_long(const char *s, const char *what, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "graphbench: %s needs an integer in [%ld, %ld], not '%s'\n", what, lo, hi, s);
        exit(2);
    }
    return v;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* ---- compile and load ---- */

/* Compiles opt.model at c's level and disabled passes into c->gb. */
static int compile_config(config *c)
{
    gc_arena *a = gc_arena_new();
    if (!a)
        return -1;
    gc_diag d;
    gc_diag_init(&d, a, stderr);
    int rc = -1;
    int f = gc_source_load(&d, opt.model, GC_NOLOC);
    if (f < 0)
        goto done;
    gc_sema_opts so = { .graph_name = opt.graph, .no_prelude = 0 };
    gc_graph *g = gc_sema(&d, a, f, &so);
    if (!g)
        goto done;
    gc_opt_opts oo = { .level = c->level, .n_disabled = c->n_disabled, .disabled = c->disabled };
    gc_report rep;
    memset(&rep, 0, sizeof rep);
    if (gc_optimize(g, &d, &oo, &rep))
        goto done;
    c->n_passes = 0;
    for (int i = 0; i < rep.n_passes && i < 32; i++) {
        pass_info *p = &c->passes[c->n_passes++];
        snprintf(p->name, sizeof p->name, "%s", rep.passes[i].name ? rep.passes[i].name : "?");
        p->ran = rep.passes[i].ran;
        p->ops_before = rep.passes[i].ops_before;
        p->ops_after = rep.passes[i].ops_after;
        p->n_rewrites = rep.passes[i].n_rewrites;
    }
    if (gc_emit_buffer(g, &d, &c->gb, &c->gb_len, &d))
        goto done;
    rc = 0;
done:
    gc_arena_free(a);
    return rc;
}

/* Compile (or read) + load + session: c->m, c->s, timings. Exits on error. */
static void prepare_config(config *c)
{
    char err[1024];
    double t0 = now_ms(), compile_ms = 0;
    rt_status st;
    if (c->gb_path) {
        st = rt_model_load_file(c->gb_path, &c->m, err, sizeof err);
    } else {
        if (compile_config(c))
            die("%s: compiling at %s failed", opt.model, c->label);
        compile_ms = now_ms() - t0;
        st = rt_model_load_buffer(c->gb, c->gb_len, &c->m, err, sizeof err);
    }
    if (st != RT_OK)
        die("%s: %s", c->label, err);
    rt_session_options so = rt_session_options_default();
    so.n_threads = opt.threads;
    if (rt_session_create(c->m, &so, &c->s, err, sizeof err) != RT_OK)
        die("%s: creating the session: %s", c->label, err);
    if (!c->cold) {
        c->compile_ms = compile_ms;
        c->load_ms = now_ms() - t0;
    }
    c->flops = rt_model_flops(c->m, opt.batch);
}

/* ---- inputs ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void random_input(const rt_value_info *vi, input *in, uint64_t *seed)
{
    rt_tensor *t = &in->t;
    memset(t, 0, sizeof *t);
    t->dtype = vi->dtype;
    t->rank = vi->rank;
    int64_t n = 1;
    for (int i = 0; i < vi->rank; i++) {
        int64_t d = vi->sym_names[i] ? vi->sym_coef[i] * opt.batch : vi->dims[i];
        if (d < 0 || (d && n > ((int64_t)1 << 40) / d))
            die("input %s: too large for --batch %ld", vi->name, opt.batch);
        t->dims[i] = d;
        n *= d;
    }
    size_t es = rt_dtype_size(vi->dtype);
    t->data = malloc((size_t)n * es + 1);
    if (!t->data)
        die("out of memory for input %s", vi->name);
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(rng_next(seed) >> 11) * 0x1.0p-53;
        switch (vi->dtype) {
        case RT_F32: ((float *)t->data)[i] = (float)(2 * u - 1); break;
        case RT_F64: ((double *)t->data)[i] = 2 * u - 1; break;
        case RT_I32: ((int32_t *)t->data)[i] = (int32_t)(u * 10); break;
        case RT_I64: ((int64_t *)t->data)[i] = (int64_t)(u * 10); break;
        case RT_I8: ((int8_t *)t->data)[i] = (int8_t)(u * 10); break;
        default: ((uint8_t *)t->data)[i] = (uint8_t)(vi->dtype == RT_BOOL ? u < 0.5 : u * 10); break;
        }
    }
}

static int find_input(const char *name)
{
    for (int i = 0; i < n_inputs; i++)
        if (strcmp(inputs[i].name, name) == 0)
            return i;
    return -1;
}

static void load_input_files(void)
{
    char err[1024];
    for (int i = 0; i < opt.n_in_args; i++) {
        const char *a = opt.in_args[i], *eq = strchr(a, '=');
        if (!eq || eq == a || !eq[1] || (size_t)(eq - a) >= sizeof inputs[0].name) {
            fprintf(stderr, "graphbench: --input needs NAME=FILE.npy, not '%s'\n", a);
            exit(2);
        }
        if (n_inputs >= MAX_INPUTS)
            die("too many inputs");
        input *in = &inputs[n_inputs++];
        memcpy(in->name, a, (size_t)(eq - a));
        in->name[eq - a] = 0;
        in->from_file = 1;
        if (rt_npy_load(eq + 1, &in->t, err, sizeof err) != RT_OK)
            die("--input %s: %s", in->name, err);
    }
}

/* Every input of c's model gets a feed: a shared input of that name (made
 * random on first sight, in the order of the model's inputs). */
static void bind_feeds(config *c)
{
    uint64_t seed = opt.seed;
    c->n_feeds = 0;
    for (int i = 0; i < rt_model_n_inputs(c->m); i++) {
        rt_value_info vi;
        rt_model_input(c->m, i, &vi);
        int k = find_input(vi.name);
        if (k < 0) {
            if (n_inputs >= MAX_INPUTS || strlen(vi.name) >= sizeof inputs[0].name)
                die("too many inputs or name too long: %s", vi.name);
            k = n_inputs++;
            snprintf(inputs[k].name, sizeof inputs[k].name, "%s", vi.name);
            /* each input's stream depends on the seed and its name only */
            seed = opt.seed;
            for (const char *p = vi.name; *p; p++)
                seed = (seed ^ (unsigned char)*p) * 1099511628211ull;
            if (!seed)
                seed = 1;
            random_input(&vi, &inputs[k], &seed);
            rt_train_info ti;
            if (opt.entry && rt_model_train_info(c->m, &ti) == RT_OK && ti.lr_input &&
                strcmp(ti.lr_input, vi.name) == 0 && vi.rank == 0) {
                if (vi.dtype == RT_F32)
                    *(float *)inputs[k].t.data = (float)opt.lr;
                else if (vi.dtype == RT_F64)
                    *(double *)inputs[k].t.data = opt.lr;
            }
        }
        if (c->n_feeds >= MAX_INPUTS)
            die("too many inputs");
        c->feed_names[c->n_feeds] = inputs[k].name;
        c->feeds[c->n_feeds++] = inputs[k].t;
    }
}

/* The fetches: every output of c's model (the reference's, cfgs[0], in the
 * parent; the names are owned by its model, which lives to the end). */
static void set_outputs(const config *c)
{
    if (opt.entry) {
        n_outs = rt_model_entry_n_fetches(c->m, opt.entry);
        if (n_outs < 0) {
            char names[512] = "";
            for (int e = 0; e < rt_model_n_entries(c->m); e++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", e ? ", " : "",
                         rt_model_entry_name(c->m, e));
            die("%s has no entry point '%s' (%s)", c->label, opt.entry,
                names[0] ? names : "it is an inference graph: no --entry");
        }
        if (n_outs > MAX_OUTPUTS)
            die("too many fetches (%d)", n_outs);
        for (int o = 0; o < n_outs; o++)
            out_names[o] = rt_model_entry_fetch_name(c->m, opt.entry, o);
        return;
    }
    n_outs = rt_model_n_outputs(c->m);
    if (n_outs > MAX_OUTPUTS)
        die("too many outputs (%d)", n_outs);
    for (int o = 0; o < n_outs; o++) {
        rt_value_info vi;
        rt_model_output(c->m, o, &vi);
        out_names[o] = vi.name;
    }
}

static void run_once(config *c)
{
    rt_status st = opt.entry ? rt_session_run_entry(c->s, opt.entry, c->n_feeds, c->feed_names, c->feeds, 0, NULL,
                                                    c->fetch)
                             : rt_session_run(c->s, c->n_feeds, c->feed_names, c->feeds, n_outs, out_names, c->fetch);
    if (st != RT_OK)
        die("%s: run failed: %s", c->label, rt_session_last_error(c->s));
}

/* ---- peak RSS: one fresh child process per config ---- */

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Forked before the parent has started any OpenMP threads: the child
 * compiles, loads, creates the session and runs three times, then sends its
 * ru_maxrss (and the one it had before that work) and its cold-start times
 * (compile, load, first run in a fresh process) through a pipe. */
static void measure_rss(config *c)
{
    int fd[2];
    if (pipe(fd))
        return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return;
    }
    if (pid == 0) {
        close(fd[0]);
        double v[5];
        v[0] = (double)maxrss_kb();
        prepare_config(c);
        set_outputs(c);
        bind_feeds(c);
        double t0 = now_ms();
        run_once(c);
        v[4] = now_ms() - t0;
        for (int i = 0; i < 2; i++)
            run_once(c);
        v[1] = (double)maxrss_kb();
        v[2] = c->compile_ms;
        v[3] = c->load_ms;
        ssize_t w = write(fd[1], v, sizeof v);
        _exit(w == (ssize_t)sizeof v ? 0 : 1);
    }
    close(fd[1]);
    double v[5] = { 0, 0, 0, 0, 0 };
    ssize_t r = read(fd[0], v, sizeof v);
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (r == (ssize_t)sizeof v && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        c->rss_base_kb = (long)v[0];
        c->rss_kb = (long)v[1];
        c->cold = 1;
        c->compile_ms = v[2];
        c->load_ms = v[3];
        c->first_ms = v[4];
    } else {
        c->rss_kb = -1;
    }
}

/* ---- output comparison ---- */

static double elem(const rt_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case RT_F32: return ((const float *)t->data)[i];
    case RT_F64: return ((const double *)t->data)[i];
    case RT_I32: return ((const int32_t *)t->data)[i];
    case RT_I64: return (double)((const int64_t *)t->data)[i];
    case RT_I8: return ((const int8_t *)t->data)[i];
    default: return ((const uint8_t *)t->data)[i];
    }
}

static int64_t numel(const rt_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

static void shape_str(const rt_tensor *t, char *buf, size_t len)
{
    size_t u = (size_t)snprintf(buf, len, "%s[", rt_dtype_name(t->dtype));
    for (int i = 0; i < t->rank && u < len; i++)
        u += (size_t)snprintf(buf + u, len - u, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
    if (u < len)
        snprintf(buf + u, len - u, "]");
}

/* max |a - r| and that over max |r| (inf when shapes differ or NaN appears
 * on one side only). */
static void compare(const rt_tensor *a, const rt_tensor *r, double *abs_out, double *rel_out)
{
    int same = a->dtype == r->dtype && a->rank == r->rank;
    for (int i = 0; same && i < a->rank; i++)
        same = a->dims[i] == r->dims[i];
    if (!same) {
        *abs_out = *rel_out = INFINITY;
        return;
    }
    double mx = 0, scale = 0;
    int64_t n = numel(r);
    for (int64_t i = 0; i < n; i++) {
        double x = elem(a, i), y = elem(r, i);
        if (isnan(x) || isnan(y)) {
            if (!(isnan(x) && isnan(y)))
                mx = INFINITY;
            continue;
        }
        if (isinf(x) || isinf(y)) {
            if (x != y)
                mx = INFINITY;
            continue;
        }
        double d = fabs(x - y);
        if (d > mx)
            mx = d;
        if (fabs(y) > scale)
            scale = fabs(y);
    }
    *abs_out = mx;
    *rel_out = mx == 0 ? 0 : scale > 0 ? mx / scale : INFINITY;
}

static void save_first_outputs(config *c)
{
    for (int o = 0; o < n_outs; o++) {
        size_t nb = (size_t)numel(&c->fetch[o]) * rt_dtype_size(c->fetch[o].dtype);
        c->first_out[o] = malloc(nb + 1);
        if (!c->first_out[o])
            die("out of memory");
        memcpy(c->first_out[o], c->fetch[o].data, nb);
    }
}

/* Compares c's first outputs with the reference's (cfgs[0]). */
static void check_outputs(config *c)
{
    const config *ref = &cfgs[0];
    c->max_abs = c->max_rel = 0;
    for (int o = 0; o < n_outs; o++) {
        rt_tensor a = c->fetch[o], r = ref->fetch[o];
        a.data = c->first_out[o];
        r.data = ref->first_out[o];
        compare(&a, &r, &c->out_abs[o], &c->out_rel[o]);
        if (c->out_abs[o] > c->max_abs || isnan(c->out_abs[o]))
            c->max_abs = c->out_abs[o];
        if (c->out_rel[o] > c->max_rel || isnan(c->out_rel[o]))
            c->max_rel = c->out_rel[o];
    }
    c->mismatch = !(c->max_rel <= opt.tol);
}

/* After the timed steps of --entry (opt.steps): the last step's fetches
 * against the reference's, and fetch 0 at the first and last step when it
 * is a scalar (the loss). */
static void compare_last_step(config *c)
{
    const config *ref = &cfgs[0];
    c->last_rel = 0;
    c->first_loss = c->last_loss = NAN;
    if (n_outs > 0 && numel(&c->fetch[0]) == 1) {
        rt_tensor first = c->fetch[0];
        first.data = c->first_out[0];
        c->first_loss = elem(&first, 0);
        c->last_loss = elem(&c->fetch[0], 0);
    }
    for (int o = 0; o < n_outs; o++) {
        double ab, rel;
        compare(&c->fetch[o], &ref->fetch[o], &ab, &rel);
        if (rel > c->last_rel || isnan(rel))
            c->last_rel = rel;
    }
}

/* After the timed runs: the last outputs must equal the first (bit for bit). */
static void check_determinism(config *c)
{
    for (int o = 0; o < n_outs; o++) {
        size_t nb = (size_t)numel(&c->fetch[o]) * rt_dtype_size(c->fetch[o].dtype);
        if (memcmp(c->first_out[o], c->fetch[o].data, nb) != 0)
            c->nondet = 1;
    }
}

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* nearest-rank percentile of sorted v[n], p in [0, 1] */
static double pct(const double *v, int n, double p)
{
    if (n <= 0)
        return NAN;
    int k = (int)ceil(p * n) - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return v[k];
}

static double median_of(double *v, int n)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void stats(config *c)
{
    int n = c->n_samples;
    double *v = malloc(sizeof(double) * (size_t)(n + 1));
    if (!v)
        die("out of memory");
    memcpy(v, c->samples, sizeof(double) * (size_t)n);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    c->median = median_of(v, n);
    c->min = n ? v[0] : NAN;
    c->p90 = pct(v, n, 0.90);
    c->p99 = pct(v, n, 0.99);
    c->mean = n ? sum / n : NAN;
    free(v);
}

/* Paired speed-up of b over a: median, p10 and p90 of a[i] / b[i] over the
 * rounds where both ran (they ran back to back). */
static void paired(const config *a, const config *b, double *med, double *p10, double *p90)
{
    int n = a->n_samples < b->n_samples ? a->n_samples : b->n_samples;
    double *r = malloc(sizeof(double) * (size_t)(n + 1));
    if (!r)
        die("out of memory");
    for (int i = 0; i < n; i++)
        r[i] = a->samples[i] / b->samples[i];
    *med = median_of(r, n);
    *p10 = pct(r, n, 0.10);
    *p90 = pct(r, n, 0.90);
    free(r);
}

/* How b compares with a (b's speed-up = a's median / b's median): a tie
 * under NOISE; "unclear" when the paired rounds (p10..p90 of a[i] / b[i])
 * straddle 1, i.e. the rounds themselves disagree; else faster / SLOWER.
 * Short words (table cells) or long ones. */
static const char *verdict(const config *a, const config *b, int longer)
{
    double med, p10, p90;
    paired(a, b, &med, &p10, &p90);
    double s = a->median / b->median;
    if (fabs(s - 1) < NOISE)
        return longer ? "a tie (under 15%: noise on this machine)" : "tie";
    if (p10 <= 1 && p90 >= 1)
        return longer ? "UNCLEAR: the paired rounds disagree (p10..p90 straddles 1x; noisy machine)" : "unclear";
    return s > 1 ? "faster" : "SLOWER";
}

/* ---- printing ---- */

static void human_bytes(double b, char *buf, size_t len)
{
    if (b < 0)
        snprintf(buf, len, "-");
    else if (b < 1024)
        snprintf(buf, len, "%.0f B", b);
    else if (b < 1024 * 1024)
        snprintf(buf, len, "%.1f KiB", b / 1024);
    else if (b < 1024.0 * 1024 * 1024)
        snprintf(buf, len, "%.1f MiB", b / (1024 * 1024));
    else
        snprintf(buf, len, "%.2f GiB", b / (1024.0 * 1024 * 1024));
}

static void fmt_ms(double ms, char *buf, size_t len)
{
    if (isnan(ms))
        snprintf(buf, len, "-");
    else if (ms < 1)
        snprintf(buf, len, "%.4f", ms);
    else if (ms < 100)
        snprintf(buf, len, "%.3f", ms);
    else
        snprintf(buf, len, "%.1f", ms);
}

static void fmt_num(double v, char *buf, size_t len)
{
    if (isnan(v) || v < 0)
        snprintf(buf, len, "-");
    else if (v >= 1e9)
        snprintf(buf, len, "%.2f G", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, len, "%.2f M", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, len, "%.1f K", v / 1e3);
    else if (v >= 100)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.2f", v);
}

static void fmt_diff(double d, char *buf, size_t len)
{
    if (d == 0)
        snprintf(buf, len, "0");
    else
        snprintf(buf, len, "%.2e", d);
}

enum { COLW = 14 };

/* One row of the side-by-side table: a label and one cell per shown config. */
static void row(const char *label, int n, char cells[][48])
{
    printf("  %-22s", label);
    for (int i = 0; i < n; i++)
        printf(" %*s", COLW, cells[i]);
    printf("\n");
}

static int shown[MAX_CONFIGS], n_shown;

static void print_table(void)
{
    char cells[MAX_CONFIGS][48];
    int n = n_shown;
#define ROW(label, ...)                                                     \
    do {                                                                    \
        for (int i_ = 0; i_ < n; i_++) {                                    \
            const config *c = &cfgs[shown[i_]];                             \
            (void)c;                                                        \
            __VA_ARGS__;                                                    \
        }                                                                   \
        row(label, n, cells);                                               \
    } while (0)
    ROW("", snprintf(cells[i_], 48, "%s", c->label));
    ROW("nodes", snprintf(cells[i_], 48, "%d", rt_model_n_nodes(c->m)));
    ROW("load ms (compile+load)", fmt_ms(c->load_ms, cells[i_], 48));
    ROW("  of it compile ms", c->gb_path ? snprintf(cells[i_], 48, "-") : (fmt_ms(c->compile_ms, cells[i_], 48), 0));
    ROW("first run ms (cold)", fmt_ms(c->first_ms, cells[i_], 48));
    ROW("min ms", fmt_ms(c->min, cells[i_], 48));
    ROW("median ms", fmt_ms(c->median, cells[i_], 48));
    ROW("p90 ms", fmt_ms(c->p90, cells[i_], 48));
    ROW("p99 ms", fmt_ms(c->p99, cells[i_], 48));
    ROW("runs/s", fmt_num(1e3 / c->mean, cells[i_], 48));
    ROW("examples/s", fmt_num(1e3 / c->mean * (double)opt.batch, cells[i_], 48));
    ROW("GFLOP/s at median *", cfgs[0].flops > 0 ? snprintf(cells[i_], 48, "%.1f", (double)cfgs[0].flops / c->median / 1e6)
                                                   : snprintf(cells[i_], 48, "-"));
    ROW("arena (peak)", human_bytes((double)c->arena, cells[i_], 48));
    ROW("workspace", human_bytes((double)c->workspace, cells[i_], 48));
    ROW("weights", human_bytes((double)c->weights, cells[i_], 48));
    ROW("peak RSS **", human_bytes(c->rss_kb > 0 ? (double)c->rss_kb * 1024 : -1, cells[i_], 48));
    ROW("max rel diff vs ref", i_ == 0 ? snprintf(cells[i_], 48, "(ref)") : (fmt_diff(c->max_rel, cells[i_], 48), 0));
#undef ROW
}

static int cmp_prof(const void *a, const void *b)
{
    const rt_node_profile *x = a, *y = b;
    return x->total_ms < y->total_ms ? 1 : x->total_ms > y->total_ms ? -1 : 0;
}

static void print_profile(const config *c)
{
    if (!c->prof || c->prof_runs <= 0)
        return;
    int n = c->n_prof;
    rt_node_profile *p = malloc(sizeof *p * (size_t)(n + 1));
    if (!p)
        die("out of memory");
    memcpy(p, c->prof, sizeof *p * (size_t)n);
    double total = 0;
    for (int i = 0; i < n; i++)
        total += p[i].total_ms;
    qsort(p, (size_t)n, sizeof *p, cmp_prof);
    double runs = c->prof_runs;
    printf("\nprofile %s: %d profiled runs, kernels %.4g ms/run of %.4g ms/run wall (rest: executor, "
           "timers)\n", c->label, c->prof_runs, total / runs, c->prof_wall_ms / runs);
    printf("  %-30s %-18s %10s %6s %6s %9s %8s\n", "node (output value)", "op", "ms/run", "share", "calls", "GFLOP/s",
           "GB/s");
    for (int i = 0; i < n && i < opt.top; i++) {
        if (p[i].calls == 0)
            break;
        double per = p[i].total_ms / (double)p[i].calls;
        char gf[32] = "-", gb[32] = "-";
        if (p[i].flops > 0)
            snprintf(gf, sizeof gf, "%.1f", (double)p[i].flops / per / 1e6);
        if (p[i].bytes > 0)
            snprintf(gb, sizeof gb, "%.1f", (double)p[i].bytes / per / 1e6);
        char nm[31];
        snprintf(nm, sizeof nm, "%s", p[i].value && p[i].value[0] ? p[i].value : p[i].name);
        printf("  %-30s %-18s %10.4f %5.1f%% %6lld %9s %8s\n", nm, p[i].op, p[i].total_ms / runs,
               total > 0 ? 100 * p[i].total_ms / total : 0, (long long)p[i].calls, gf, gb);
    }
    /* by op kind */
    const char *ops[64];
    double t[64];
    int n_ops = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < n_ops && strcmp(ops[k], p[i].op) != 0)
            k++;
        if (k == n_ops) {
            if (n_ops == 64)
                continue;
            ops[n_ops] = p[i].op;
            t[n_ops++] = 0;
        }
        t[k] += p[i].total_ms;
    }
    printf("  by op:");
    for (int shown_ops = 0; shown_ops < n_ops; shown_ops++) {
        int best = -1;
        for (int k = 0; k < n_ops; k++)
            if (t[k] >= 0 && (best < 0 || t[k] > t[best]))
                best = k;
        if (best < 0 || t[best] <= 0 || total <= 0)
            break;
        printf("%s %s %.1f%%", shown_ops ? "," : "", ops[best], 100 * t[best] / total);
        t[best] = -1;
    }
    printf("\n");
    free(p);
}

static void print_passes(const config *c)
{
    if (c->gb_path || c->n_passes == 0)
        return;
    printf("  passes at %s:", c->label);
    int any = 0;
    for (int i = 0; i < c->n_passes; i++) {
        const pass_info *p = &c->passes[i];
        if (!p->ran || (p->n_rewrites == 0 && p->ops_before == p->ops_after))
            continue;
        printf("%s %s (%d rewrites, %d -> %d ops)", any ? "," : "", p->name, p->n_rewrites, p->ops_before,
               p->ops_after);
        any = 1;
    }
    printf("%s\n", any ? "" : " none changed the graph");
}

/* ---- JSON ---- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fprintf(f, "null");
    else
        fprintf(f, "%.6g", v);
}

static void json_config(FILE *f, const config *c, const char *ind)
{
    fprintf(f, "{\n%s  \"label\": ", ind);
    json_str(f, c->label);
    fprintf(f, ",\n%s  \"level\": %d,\n%s  \"disabled\": [", ind, c->gb_path ? -1 : c->level, ind);
    for (int i = 0; i < c->n_disabled; i++) {
        fprintf(f, "%s", i ? ", " : "");
        json_str(f, c->disabled[i]);
    }
    fprintf(f, "],\n%s  \"nodes\": %d,\n", ind, rt_model_n_nodes(c->m));
    struct { const char *k; double v; } nums[] = {
        { "median_ms", c->median }, { "p90_ms", c->p90 }, { "p99_ms", c->p99 }, { "min_ms", c->min },
        { "mean_ms", c->mean }, { "load_ms", c->load_ms }, { "compile_ms", c->compile_ms },
        { "first_run_ms", c->first_ms }, { "runs_per_s", 1e3 / c->mean },
        { "examples_per_s", 1e3 / c->mean * (double)opt.batch },
        { "peak_arena_bytes", (double)c->arena }, { "workspace_bytes", (double)c->workspace },
        { "weights_bytes", (double)c->weights },
        { "peak_rss_bytes", c->rss_kb > 0 ? (double)c->rss_kb * 1024 : NAN },
        { "flops", c->flops >= 0 ? (double)c->flops : NAN },
        { "max_abs_diff", c->max_abs }, { "max_rel_diff", c->max_rel },
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        fprintf(f, "%s  \"%s\": ", ind, nums[i].k);
        json_num(f, nums[i].v);
        fprintf(f, ",\n");
    }
    if (opt.steps) {
        fprintf(f, "%s  \"last_step_max_rel_diff\": ", ind);
        json_num(f, c->last_rel);
        fprintf(f, ",\n%s  \"first_loss\": ", ind);
        json_num(f, c->first_loss);
        fprintf(f, ",\n%s  \"last_loss\": ", ind);
        json_num(f, c->last_loss);
        fprintf(f, ",\n");
    }
    fprintf(f, "%s  \"deterministic\": %s,\n%s  \"samples_ms\": [", ind, c->nondet ? "false" : "true", ind);
    for (int i = 0; i < c->n_samples; i++) {
        fprintf(f, "%s", i ? ", " : "");
        json_num(f, c->samples[i]);
    }
    fprintf(f, "],\n%s  \"profile\": [", ind);
    int first = 1;
    for (int i = 0; c->prof && i < c->n_prof; i++) {
        const rt_node_profile *p = &c->prof[i];
        if (!p->calls)
            continue;
        fprintf(f, "%s\n%s    {\"node\": ", first ? "" : ",", ind);
        json_str(f, p->name);
        fprintf(f, ", \"value\": ");
        json_str(f, p->value);
        fprintf(f, ", \"op\": ");
        json_str(f, p->op);
        fprintf(f, ", \"ms_per_call\": ");
        json_num(f, p->total_ms / (double)p->calls);
        fprintf(f, ", \"calls\": %lld, \"flops\": %lld, \"bytes\": %lld}", (long long)p->calls,
                (long long)p->flops, (long long)p->bytes);
        first = 0;
    }
    fprintf(f, "%s]\n%s}", first ? "" : "\n" , ind);
    (void)ind;
}

static void write_json(const char *path, int ref, int tgt, double speedup, int failed, double other)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write %s: %s", path, strerror(errno));
    fprintf(f, "{\n  \"graph\": ");
    json_str(f, rt_model_name(cfgs[0].m));
    fprintf(f, ",\n  \"source\": ");
    json_str(f, opt.model ? opt.model : cfgs[0].gb_path);
    fprintf(f, ",\n  \"batch\": %ld,\n  \"threads\": %d,\n  \"warmup\": %d,\n  \"runs\": %d,\n", opt.batch,
            opt.threads, opt.warmup, opt.runs);
    fprintf(f, "  \"tol\": %g,\n  \"ok\": %s,\n  \"other_cpu_share\": ", opt.tol, failed ? "false" : "true");
    json_num(f, other);
    fprintf(f, ",\n  \"entry\": ");
    if (opt.entry)
        json_str(f, opt.entry);
    else
        fprintf(f, "null");
    fprintf(f, ",\n  \"speedup_of\": ");
    char buf[256];
    snprintf(buf, sizeof buf, "%s / %s", cfgs[ref].key, cfgs[tgt].key);
    json_str(f, buf);
    fprintf(f, ",\n  \"speedup\": ");
    json_num(f, speedup);
    double ma = 0, mr = 0;
    for (int i = 0; i < n_shown; i++) {
        const config *c = &cfgs[shown[i]];
        if (c->max_abs > ma || isnan(c->max_abs))
            ma = c->max_abs;
        if (c->max_rel > mr || isnan(c->max_rel))
            mr = c->max_rel;
    }
    fprintf(f, ",\n  \"max_abs_diff\": ");
    json_num(f, ma);
    fprintf(f, ",\n  \"max_rel_diff\": ");
    json_num(f, mr);
    fprintf(f, ",\n  \"outputs\": [");
    for (int o = 0; o < n_outs; o++) {
        double a = 0, r = 0;
        for (int i = 1; i < n_shown; i++) {
            const config *c = &cfgs[shown[i]];
            if (c->out_abs[o] > a || isnan(c->out_abs[o]))
                a = c->out_abs[o];
            if (c->out_rel[o] > r || isnan(c->out_rel[o]))
                r = c->out_rel[o];
        }
        fprintf(f, "%s\n    {\"name\": ", o ? "," : "");
        json_str(f, out_names[o]);
        fprintf(f, ", \"max_abs_diff\": ");
        json_num(f, a);
        fprintf(f, ", \"max_rel_diff\": ");
        json_num(f, r);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n  \"levels\": {");
    for (int i = 0; i < n_shown; i++) {
        fprintf(f, "%s\n    ", i ? "," : "");
        json_str(f, cfgs[shown[i]].key);
        fprintf(f, ": ");
        json_config(f, &cfgs[shown[i]], "    ");
    }
    fprintf(f, "\n  }");
    if (opt.bisect) {
        fprintf(f, ",\n  \"bisect\": {");
        int first = 1;
        for (int i = 0; i < n_cfgs; i++) {
            const config *c = &cfgs[i];
            if (!c->is_bisect)
                continue;
            fprintf(f, "%s\n    ", first ? "" : ",");
            json_str(f, c->disabled[c->n_disabled - 1]);
            fprintf(f, ": {\"same_binary\": %s, \"median_ms\": ", c->same_as_base ? "true" : "false");
            json_num(f, c->same_as_base ? NAN : c->median);
            fprintf(f, ", \"nodes\": %d, \"max_rel_diff\": ", rt_model_n_nodes(c->m));
            json_num(f, c->max_rel);
            fprintf(f, ", \"max_abs_diff\": ");
            json_num(f, c->max_abs);
            fprintf(f, "}");
            first = 0;
        }
        fprintf(f, "\n  }");
    }
    fprintf(f, "\n}\n");
    if (fclose(f) != 0)
        die("error writing %s", path);
}

/* ---- main ---- */

static void add_config(config *c)
{
    if (n_cfgs >= MAX_CONFIGS)
        die("too many configs");
    cfgs[n_cfgs++] = *c;
}

static void parse_args(int argc, char **argv, const char **gbs, int *n_gbs)
{
    opt.batch = 1;
    opt.warmup = 3;
    opt.runs = 50;
    opt.prof_runs = -1;
    opt.top = 6;
    opt.tol = 1e-4;
    opt.seed = 1;
    opt.rss = 1;
    opt.lr = 1e-3;
    *n_gbs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        const char *v = has_val ? argv[i + 1] : NULL;
#define NEED_VAL()                                                                  \
    do {                                                                            \
        if (!has_val) {                                                             \
            fprintf(stderr, "graphbench: %s needs a value\n", a);                   \
            exit(2);                                                                \
        }                                                                           \
        i++;                                                                        \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--levels") == 0) {
            NEED_VAL();
            opt.n_levels = 0;
            for (const char *p = v; *p;) {
                if (*p < '0' || *p > '2' || opt.n_levels >= 8 || (p[1] && p[1] != ',')) {
                    fprintf(stderr, "graphbench: --levels takes a list like 0,1,2, not '%s'\n", v);
                    exit(2);
                }
                opt.levels[opt.n_levels++] = *p - '0';
                p += p[1] ? 2 : 1;
            }
        } else if (strcmp(a, "--graph") == 0) {
            NEED_VAL();
            opt.graph = v;
        } else if (strcmp(a, "--disable-pass") == 0) {
            NEED_VAL();
            if (opt.n_user_dis >= MAX_DISABLED - 1)
                die("too many --disable-pass");
            opt.user_dis[opt.n_user_dis++] = v;
        } else if (strcmp(a, "--batch") == 0) {
            NEED_VAL();
            opt.batch = parse_long(v, a, 1, 1L << 40);
        } else if (strcmp(a, "--input") == 0) {
            NEED_VAL();
            if (opt.n_in_args >= MAX_INPUTS)
                die("too many --input");
            opt.in_args[opt.n_in_args++] = v;
        } else if (strcmp(a, "--seed") == 0) {
            NEED_VAL();
            opt.seed = (uint64_t)parse_long(v, a, 1, 1L << 62);
        } else if (strcmp(a, "--threads") == 0) {
            NEED_VAL();
            opt.threads = (int)parse_long(v, a, 0, 1024);
        } else if (strcmp(a, "--warmup") == 0) {
            NEED_VAL();
            opt.warmup = (int)parse_long(v, a, 0, 1000000);
        } else if (strcmp(a, "--runs") == 0) {
            NEED_VAL();
            opt.runs = (int)parse_long(v, a, 1, 10000000);
        } else if (strcmp(a, "--profile-runs") == 0) {
            NEED_VAL();
            opt.prof_runs = (int)parse_long(v, a, 0, 1000000);
        } else if (strcmp(a, "--top") == 0) {
            NEED_VAL();
            opt.top = (int)parse_long(v, a, 0, 100000);
        } else if (strcmp(a, "--tol") == 0) {
            NEED_VAL();
            char *end;
            opt.tol = strtod(v, &end);
            if (*end || end == v || !(opt.tol >= 0)) {
                fprintf(stderr, "graphbench: --tol needs a number >= 0, not '%s'\n", v);
                exit(2);
            }
        } else if (strcmp(a, "--entry") == 0) {
            NEED_VAL();
            opt.entry = v;
            opt.steps = strcmp(v, "predict") != 0;
        } else if (strcmp(a, "--lr") == 0) {
            NEED_VAL();
            char *end;
            opt.lr = strtod(v, &end);
            if (*end || end == v || !isfinite(opt.lr)) {
                fprintf(stderr, "graphbench: --lr needs a number, not '%s'\n", v);
                exit(2);
            }
        } else if (strcmp(a, "--json") == 0) {
            NEED_VAL();
            opt.json = v;
        } else if (strcmp(a, "--summary") == 0) {
            NEED_VAL();
            opt.summary = v;
        } else if (strcmp(a, "--bisect") == 0) {
            opt.bisect = 1;
        } else if (strcmp(a, "--no-rss") == 0) {
            opt.rss = 0;
        } else if (strcmp(a, "--quiet") == 0) {
            opt.quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "graphbench: unknown option '%s' (see graphbench --help)\n", a);
            exit(2);
        } else if (ends_with(a, ".gb")) {
            if (*n_gbs >= MAX_CONFIGS)
                die("too many graph binaries");
            gbs[(*n_gbs)++] = a;
        } else {
            if (opt.model) {
                fprintf(stderr, "graphbench: one model file at a time ('%s' and '%s')\n", opt.model, a);
                exit(2);
            }
            opt.model = a;
        }
#undef NEED_VAL
    }
    if (!opt.model && *n_gbs == 0) {
        usage(stderr);
        exit(2);
    }
    if (opt.model && *n_gbs) {
        fprintf(stderr, "graphbench: give a model file or graph binaries, not both\n");
        exit(2);
    }
    if (*n_gbs && (opt.n_levels || opt.bisect || opt.n_user_dis || opt.graph)) {
        fprintf(stderr, "graphbench: --levels, --bisect, --disable-pass and --graph need a model file\n");
        exit(2);
    }
    if (opt.n_levels == 0) {
        opt.levels[0] = 0;
        opt.levels[1] = 2;
        opt.n_levels = 2;
    }
    if (opt.prof_runs < 0) {
        opt.prof_runs = opt.runs / 5;
        if (opt.prof_runs < 3)
            opt.prof_runs = 3;
        if (opt.prof_runs > 20)
            opt.prof_runs = 20;
    }
}

int main(int argc, char **argv)
{
    const char *gbs[MAX_CONFIGS];
    int n_gbs;
    parse_args(argc, argv, gbs, &n_gbs);

    /* the configs: levels (or files), then the bisect variants */
    config c;
    if (opt.model) {
        for (int i = 0; i < opt.n_levels; i++) {
            memset(&c, 0, sizeof c);
            c.level = opt.levels[i];
            for (int k = 0; k < opt.n_user_dis; k++)
                c.disabled[c.n_disabled++] = opt.user_dis[k];
            snprintf(c.label, sizeof c.label, "-O%d", c.level);
            snprintf(c.key, sizeof c.key, "O%d", c.level);
            add_config(&c);
        }
        if (opt.bisect) {
            int top = 0;
            for (int i = 1; i < opt.n_levels; i++)
                if (opt.levels[i] > opt.levels[top])
                    top = i;
            for (int p = 0; p < gc_n_passes; p++) {
                if (gc_passes[p].min_level > opt.levels[top])
                    continue;
                memset(&c, 0, sizeof c);
                c.level = opt.levels[top];
                for (int k = 0; k < opt.n_user_dis; k++)
                    c.disabled[c.n_disabled++] = opt.user_dis[k];
                c.disabled[c.n_disabled++] = gc_passes[p].name;
                c.is_bisect = 1;
                snprintf(c.label, sizeof c.label, "-O%d no %s", c.level, gc_passes[p].name);
                snprintf(c.key, sizeof c.key, "O%d-%s", c.level, gc_passes[p].name);
                add_config(&c);
            }
        }
    } else {
        for (int i = 0; i < n_gbs; i++) {
            memset(&c, 0, sizeof c);
            c.gb_path = gbs[i];
            snprintf(c.label, sizeof c.label, "%.*s", COLW, base_name(gbs[i]));
            snprintf(c.key, sizeof c.key, "%s", base_name(gbs[i]));
            add_config(&c);
        }
    }
    load_input_files();

    /* peak RSS first, in child processes, before this process starts threads */
    if (opt.rss)
        for (int i = 0; i < n_cfgs; i++)
            if (!cfgs[i].is_bisect)
                measure_rss(&cfgs[i]);

    /* compile, load, bind feeds, first run, outputs */
    for (int i = 0; i < n_cfgs; i++) {
        config *k = &cfgs[i];
        prepare_config(k);
        if (i == 0)
            set_outputs(k);
        bind_feeds(k);
        double t0 = now_ms();
        run_once(k);
        if (!k->cold)
            k->first_ms = now_ms() - t0;
        save_first_outputs(k);
    }
    for (int i = 0; i < n_cfgs; i++) {
        config *k = &cfgs[i];
        check_outputs(k);
        if (k->is_bisect) {
            const config *base = NULL;
            for (int j = 0; j < n_cfgs; j++)
                if (!cfgs[j].is_bisect && cfgs[j].level == k->level)
                    base = &cfgs[j];
            k->same_as_base = base && base->gb_len == k->gb_len && memcmp(base->gb, k->gb, k->gb_len) == 0;
        } else {
            shown[n_shown++] = i;
        }
    }

    /* header */
    printf("graphbench: %s", rt_model_name(cfgs[0].m));
    printf(" (%s)", opt.model ? opt.model : cfgs[0].gb_path);
    printf(", batch %ld, threads %d%s, %d warmup + %d timed runs per config, interleaved\n", opt.batch,
           opt.threads, opt.threads ? "" : " (all cores)", opt.warmup, opt.runs);
    if (opt.entry)
        printf("  entry point '%s'%s\n", opt.entry,
               opt.steps ? ": every run is one step that updates the params; every config "
                                              "takes the same steps on the same batches" : "");
    if (!opt.quiet) {
        printf("  inputs:");
        for (int i = 0; i < n_inputs; i++) {
            char sh[128];
            shape_str(&inputs[i].t, sh, sizeof sh);
            printf("%s %s %s%s", i ? "," : "", inputs[i].name, sh, inputs[i].from_file ? " (file)" : "");
        }
        int any_random = 0;
        for (int i = 0; i < n_inputs; i++)
            any_random |= !inputs[i].from_file;
        if (any_random)
            printf(" (random: seed %llu)", (unsigned long long)opt.seed);
        printf("\n");
        if (cfgs[0].flops >= 0)
            printf("  FLOPs per run (reference graph): %.4g M\n", (double)cfgs[0].flops / 1e6);
        for (int i = 0; i < n_shown; i++)
            print_passes(&cfgs[shown[i]]);
    }
    fflush(stdout);

    /* timing: warmup then rounds; round r starts at config r % n so that no
     * config always runs right after the same neighbour */
    int timed[MAX_CONFIGS], n_timed = 0;
    for (int i = 0; i < n_cfgs; i++)
        if (!cfgs[i].same_as_base)
            timed[n_timed++] = i;
    for (int i = 0; i < n_cfgs; i++) {
        cfgs[i].samples = calloc((size_t)opt.runs + 1, sizeof(double));
        if (!cfgs[i].samples)
            die("out of memory");
    }
    for (int w = 0; w < opt.warmup; w++)
        for (int j = 0; j < n_timed; j++)
            run_once(&cfgs[timed[j]]);
    double busy0 = machine_busy_s(), self0 = self_cpu_s(), wall0 = now_ms();
    for (int r = 0; r < opt.runs; r++)
        for (int j = 0; j < n_timed; j++) {
            config *k = &cfgs[timed[(j + r) % n_timed]];
            double t0 = now_ms();
            run_once(k);
            k->samples[k->n_samples++] = now_ms() - t0;
        }
    double busy1 = machine_busy_s(), self1 = self_cpu_s(), wall1 = now_ms();
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    /* share of the machine's CPUs that other processes used while timing */
    double other = busy0 < 0 || busy1 < 0 || wall1 - wall0 < 500 ? -1 /* jiffies: too coarse */
                   : ((busy1 - busy0) - (self1 - self0)) / ((wall1 - wall0) * 1e-3 * (double)(ncpu > 0 ? ncpu : 1));
    if (other != -1 && other < 0)
        other = 0;
    for (int i = 0; i < n_cfgs; i++) {
        config *k = &cfgs[i];
        if (k->same_as_base)
            continue;
        if (opt.steps)
            compare_last_step(k);
        else
            check_determinism(k);
        stats(k);
        rt_session_memory(k->s, &k->weights, &k->arena, &k->workspace);
    }

    /* the profiled pass, separate from the timing */
    for (int j = 0; j < n_shown && opt.prof_runs > 0; j++) {
        config *k = &cfgs[shown[j]];
        if (rt_session_set_profiling(k->s, 1) != RT_OK)
            die("%s: %s", k->label, rt_session_last_error(k->s));
        double t0 = now_ms();
        for (int r = 0; r < opt.prof_runs; r++)
            run_once(k);
        k->prof_wall_ms = now_ms() - t0;
        k->prof_runs = opt.prof_runs;
        rt_session_set_profiling(k->s, 0);
        k->n_prof = rt_session_profile(k->s, NULL, 0);
        k->prof = calloc((size_t)k->n_prof + 1, sizeof *k->prof);
        if (!k->prof)
            die("out of memory");
        rt_session_profile(k->s, k->prof, k->n_prof);
    }

    /* the table */
    printf("\n");
    print_table();
    int ref = shown[0], tgt = shown[n_shown - 1];
    for (int i = 0; i < n_shown; i++) {
        if (!cfgs[shown[i]].gb_path && cfgs[shown[i]].level == 0)
            ref = shown[i];
        if (!cfgs[shown[i]].gb_path && cfgs[shown[i]].level == 2)
            tgt = shown[i];
    }
    if (cfgs[ref].gb_path || cfgs[tgt].gb_path) {
        ref = shown[0];
        tgt = shown[n_shown - 1];
    }
    printf("  * FLOPs of the reference graph / median time (the same useful work for every config)\n");
    if (!opt.rss)
        printf("  load and first run: timed in this process, in config order (the first config also pays\n"
               "     the process's one-time start-up: thread pool, library init)\n");
    if (opt.rss) {
        long base = 0;
        for (int i = 0; i < n_shown; i++)
            if (cfgs[shown[i]].rss_base_kb > base)
                base = cfgs[shown[i]].rss_base_kb;
        char bb[32];
        human_bytes((double)base * 1024, bb, sizeof bb);
        printf("  ** RSS is process-wide: each config's is the ru_maxrss of its own fresh child process that\n"
               "     %s, loaded, created the session, fed the inputs and ran 3 times (%s before any work);\n"
               "     load and first run are timed in that fresh process too (cold start)\n",
               opt.model ? "compiled" : "read", bb);
    }
    double speedup = cfgs[ref].median / cfgs[tgt].median;
    for (int i = 0; i < n_shown; i++) {
        const config *k = &cfgs[shown[i]];
        if (shown[i] == ref)
            continue;
        double med, p10, p90;
        paired(&cfgs[ref], k, &med, &p10, &p90);
        double s = cfgs[ref].median / k->median;
        printf("\n  speed-up %s vs %s: %.2fx (median %s / median %s); paired rounds %.2fx, p10 %.2fx, "
               "p90 %.2fx: %s\n", k->label, cfgs[ref].label, s, cfgs[ref].label, k->label, med, p10, p90,
               verdict(&cfgs[ref], k, 1));
    }

    /* outputs */
    int failed = 0;
    printf("\n  outputs vs %s (tol %g relative):\n", cfgs[shown[0]].label, opt.tol);
    for (int o = 0; o < n_outs; o++) {
        char sh[128];
        shape_str(&cfgs[shown[0]].fetch[o], sh, sizeof sh);
        printf("    %-16s %-22s", out_names[o], sh);
        for (int i = 1; i < n_shown; i++) {
            const config *k = &cfgs[shown[i]];
            char a[32], r[32];
            fmt_diff(k->out_abs[o], a, sizeof a);
            fmt_diff(k->out_rel[o], r, sizeof r);
            printf("  %s: abs %s rel %s%s", k->label, a, r, k->out_rel[o] <= opt.tol ? "" : " <-- FAIL");
        }
        printf("\n");
    }
    for (int i = 0; i < n_cfgs; i++) {
        const config *k = &cfgs[i];
        if (k->mismatch) {
            failed = 1;
            printf("\n  FAIL: %s disagrees with %s: max rel diff %.3g > tol %g\n", k->label,
                   cfgs[shown[0]].label, k->max_rel, opt.tol);
        }
        if (k->nondet)
            printf("\n  WARNING: %s is not deterministic: its outputs after the timed runs differ from its "
                   "first run's\n", k->label);
    }
    if (!failed)
        printf("  all outputs agree within tol\n");
    if (opt.steps && n_outs > 0) {
        printf("  after %d steps each (first, warmup, timed), the last step's fetches vs %s: max rel diff",
               1 + opt.warmup + opt.runs, cfgs[0].label);
        for (int i = 0; i < n_shown; i++)
            if (shown[i] != 0)
                printf("%s %s %.3g", i > 1 ? "," : "", cfgs[shown[i]].label, cfgs[shown[i]].last_rel);
        printf("\n    (reported, not checked: rounding differences between levels grow over the steps)\n");
        if (!isnan(cfgs[0].first_loss)) {
            printf("  %s at the first step -> the last:", out_names[0]);
            for (int i = 0; i < n_shown; i++)
                printf("%s %s %.6g -> %.6g", i ? "," : "", cfgs[shown[i]].label, cfgs[shown[i]].first_loss,
                       cfgs[shown[i]].last_loss);
            printf("\n");
        }
    }

    /* bisect */
    if (opt.bisect) {
        const config *base = &cfgs[tgt];
        printf("\n  bisect from %s: each pass switched off alone (median vs %s %.4g ms; "
               "differences under 15%% are noise)\n", base->label, base->label, base->median);
        printf("    %-12s %6s %8s %12s %10s %12s  %s\n", "pass", "nodes", "rewrites", "median ms", "effect",
               "rel diff", "");
        for (int i = 0; i < n_cfgs; i++) {
            const config *k = &cfgs[i];
            if (!k->is_bisect)
                continue;
            const char *pn = k->disabled[k->n_disabled - 1];
            int rw = 0;
            for (int p = 0; p < base->n_passes; p++)
                if (strcmp(base->passes[p].name, pn) == 0)
                    rw = base->passes[p].n_rewrites;
            char rd[32];
            fmt_diff(k->max_rel, rd, sizeof rd);
            if (k->same_as_base) {
                printf("    %-12s %6d %8d %12s %10s %12s  %s\n", pn, rt_model_n_nodes(k->m), rw, "-", "none", rd,
                       "same binary: the pass changes nothing here");
                continue;
            }
            /* effect of the pass = time without it / time with it */
            double e = k->median / base->median;
            char eff[32];
            snprintf(eff, sizeof eff, "%.2fx", e);
            const char *v = verdict(k, base, 0);
            printf("    %-12s %6d %8d %12.4f %10s %12s  %s%s\n", pn, rt_model_n_nodes(k->m), rw, k->median, eff,
                   rd, strcmp(v, "faster") == 0 ? "the pass speeds it up" : strcmp(v, "SLOWER") == 0
                   ? "the pass SLOWS it down" : v, k->mismatch ? "; FAIL without it" : "");
        }
        printf("    effect = median without the pass / median of %s (>1: the pass helps)\n", base->label);
    }

    /* profile */
    if (!opt.quiet)
        for (int i = 0; i < n_shown; i++)
            print_profile(&cfgs[shown[i]]);

    if (opt.summary) {
        FILE *f = fopen(opt.summary, "a");
        if (!f)
            die("cannot write %s: %s", opt.summary, strerror(errno));
        const config *a = &cfgs[ref], *b = &cfgs[tgt];
        double med, p10, p90;
        paired(a, b, &med, &p10, &p90);
        char ma[32], mb[32], aa[32], ab[32], rd[32], ot[32] = "-";
        if (other >= 0)
            snprintf(ot, sizeof ot, "%.0f%%", 100 * other);
        fmt_ms(a->median, ma, sizeof ma);
        fmt_ms(b->median, mb, sizeof mb);
        human_bytes((double)a->arena, aa, sizeof aa);
        human_bytes((double)b->arena, ab, sizeof ab);
        fmt_diff(b->max_rel, rd, sizeof rd);
        fprintf(f, "| %s | %ld | %s | %s | %.2fx | %.2f-%.2fx | %s | %s -> %s | %s | %s | %s |\n",
                rt_model_name(a->m), opt.batch, ma, mb, speedup, p10, p90,
                verdict(a, b, 0), aa, ab, rd,
                failed ? "**FAIL**" : "ok", ot);
        fclose(f);
    }
    if (opt.json)
        write_json(opt.json, ref, tgt, speedup, failed, other);
    if (failed)
        fprintf(stderr, "graphbench: FAIL: outputs disagree beyond --tol %g\n", opt.tol);
    if (other >= 0)
        printf("\n  other processes used %.0f%% of the machine's %ld CPUs during the timed runs (/proc/stat)%s\n",
               100 * other, ncpu, other > 0.10 ? ": OTHER WORK WAS RUNNING, timings are unreliable" : "");
    else
        printf("\n  other work on the machine: not measured (timed runs took under 0.5 s; /proc/stat counts "
               "in clock ticks)\n");

    for (int i = 0; i < n_cfgs; i++) {
        config *k = &cfgs[i];
        for (int o = 0; o < n_outs; o++)
            free(k->first_out[o]);
        free(k->samples);
        free(k->prof);
        free(k->gb);
    }
    for (int i = n_cfgs - 1; i >= 0; i--) {
        rt_session_free(cfgs[i].s);
        if (i > 0)
            rt_model_free(cfgs[i].m);
    }
    rt_model_free(cfgs[0].m);
    for (int i = 0; i < n_inputs; i++)
        free(inputs[i].t.data);
    return failed ? 1 : 0;
}
