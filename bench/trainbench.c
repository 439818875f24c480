/* bench/trainbench.c -- `trainbench`: training throughput of a graph binary
 * with a `train` entry point (bench/train_*.g, compiled by the Makefile).
 * Loads the .gb (compiles nothing), feeds random batches of Fashion-MNIST
 * shape (images f32 [N,1,28,28] in [0,1), labels i32 [N] in [0,10)), warms
 * up, times K train steps and prints examples/s; bench/train.sh runs it
 * side by side with PyTorch (bench/train_torch.py). --check DIR writes the
 * initial params, a few batches and the losses of the first steps so that
 * train_torch.py can replay them; --profile prints where a step's time goes. */
#include "graphrt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROF_OPS 64

static struct {
    const char *gb;
    long batch;
    int threads, warmup, steps, pool, check_steps, profile_steps;
    double max_seconds;
    unsigned long long seed;
    const char *check_dir;
} opt = { .batch = 64, .threads = 2, .warmup = 20, .steps = 200, .pool = 8, .check_steps = 5, .seed = 1 };

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("trainbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Jiffies all CPUs were busy (/proc/stat), in seconds; -1 when unknown. */
static double cpus_busy_s(void)
{
    unsigned long long u, ni, sy, id, io, irq, sirq, st;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &ni, &sy, &id, &io, &irq, &sirq, &st);
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    return got == 8 ? (double)(u + ni + sy + irq + sirq + st) / (double)(hz > 0 ? hz : 100) : -1;
}

/* CPU seconds this process used (user + system). */
static double own_cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + 1e-6 * (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* splitmix64: a small, seedable generator for the random batches */
static unsigned long long rng_state;
static unsigned long long rng_next(void)
{
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static long arg_long(const char *flag, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "trainbench: %s takes an integer in [%ld, %ld]\n", flag, lo, hi);
        exit(2);
    }
    return v;
}

static void usage(FILE *o)
{
    fputs("usage: trainbench MODEL.gb [options]   time `train` steps of a graph binary\n"
          "  --batch N          batch size (default 64)\n"
          "  --threads N        session threads (default 2; 0: all cores)\n"
          "  --warmup N         untimed steps first (default 20)\n"
          "  --steps N          timed steps (default 200)\n"
          "  --max-seconds S    stop timing after S seconds (at least 10 steps; default: no limit)\n"
          "  --pool N           distinct random batches, fed in turn (default 8)\n"
          "  --seed S           seed of the random batches (default 1)\n"
          "  --check DIR        no timing: write DIR/<param>.npy (initial values), DIR/images_<i>.npy,\n"
          "                     DIR/labels_<i>.npy and DIR/losses.txt (loss of step i on batch i)\n"
          "  --check-steps N    steps of --check (default 5)\n"
          "  --profile N        after the timing, N profiled steps: time per op kind and per node\n"
          "Inputs must be images f32[N, 1, 28, 28] and labels i32[N]. The last line is\n"
          "  RESULT model=... batch=... threads=... steps=... seconds=... examples_per_s=...\n"
          "  median_step_ms=... p10_step_ms=... p90_step_ms=... loss_first=... loss_last=... other_load=...\n",
          o);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (a[0] != '-') {
            if (opt.gb)
                die("one graph binary only ('%s' and '%s')", opt.gb, a);
            opt.gb = a;
            continue;
        }
        i++;
        if (!strcmp(a, "--batch"))
            opt.batch = arg_long(a, v, 1, 1L << 20);
        else if (!strcmp(a, "--threads"))
            opt.threads = (int)arg_long(a, v, 0, 1024);
        else if (!strcmp(a, "--warmup"))
            opt.warmup = (int)arg_long(a, v, 0, 1000000);
        else if (!strcmp(a, "--steps"))
            opt.steps = (int)arg_long(a, v, 1, 1000000);
        else if (!strcmp(a, "--max-seconds"))
            opt.max_seconds = (double)arg_long(a, v, 0, 100000);
        else if (!strcmp(a, "--pool"))
            opt.pool = (int)arg_long(a, v, 1, 1024);
        else if (!strcmp(a, "--seed"))
            opt.seed = (unsigned long long)arg_long(a, v, 0, 1L << 62);
        else if (!strcmp(a, "--check") && v)
            opt.check_dir = v;
        else if (!strcmp(a, "--check-steps"))
            opt.check_steps = (int)arg_long(a, v, 1, 1000);
        else if (!strcmp(a, "--profile"))
            opt.profile_steps = (int)arg_long(a, v, 0, 1000000);
        else {
            usage(stderr);
            exit(2);
        }
    }
    if (!opt.gb) {
        usage(stderr);
        exit(2);
    }
}

/* ---- the model and its batches ---- */

static rt_model *model;
static rt_session *sess;
static const char *feed_names[2] = { "images", "labels" };
static rt_tensor *images, *labels; /* opt.pool batches each */

/* Checks that the binary trains and takes the inputs this benchmark feeds. */
static void check_model(void)
{
    if (rt_model_entry_n_fetches(model, "train") != 1)
        die("%s has no `train` entry point returning the loss (add `train LOSS with ...`)", opt.gb);
    static const int64_t img_dims[4] = { -1, 1, 28, 28 };
    for (int i = 0; i < 2; i++) {
        rt_value_info vi;
        int found = 0;
        for (int k = 0; k < rt_model_n_inputs(model) && !found; k++)
            found = rt_model_input(model, k, &vi) == RT_OK && !strcmp(vi.name, feed_names[i]);
        if (!found)
            die("%s has no input '%s'", opt.gb, feed_names[i]);
        int ok = i == 0 ? vi.dtype == RT_F32 && vi.rank == 4 : vi.dtype == RT_I32 && vi.rank == 1;
        for (int d = 0; ok && d < vi.rank; d++)
            ok = vi.dims[d] == (i == 0 ? img_dims[d] : -1);
        if (!ok)
            die("%s: input '%s' must be %s", opt.gb, feed_names[i], i == 0 ? "f32[N, 1, 28, 28]" : "i32[N]");
    }
}

static void make_batches(void)
{
    images = calloc((size_t)opt.pool, sizeof *images);
    labels = calloc((size_t)opt.pool, sizeof *labels);
    if (!images || !labels)
        die("out of memory");
    rng_state = opt.seed;
    size_t n_px = (size_t)opt.batch * 28 * 28;
    for (int b = 0; b < opt.pool; b++) {
        images[b] = (rt_tensor){ .dtype = RT_F32, .rank = 4, .dims = { opt.batch, 1, 28, 28 } };
        labels[b] = (rt_tensor){ .dtype = RT_I32, .rank = 1, .dims = { opt.batch } };
        float *x = malloc(n_px * sizeof *x);
        int32_t *y = malloc((size_t)opt.batch * sizeof *y);
        if (!x || !y)
            die("out of memory");
        for (size_t i = 0; i < n_px; i++)
            x[i] = (float)(rng_next() >> 40) * 0x1p-24f; /* [0, 1) */
        for (long i = 0; i < opt.batch; i++)
            y[i] = (int32_t)(rng_next() % 10);
        images[b].data = x;
        labels[b].data = y;
    }
}

/* One train step on batch b; returns the loss. */
static float train_step(int b)
{
    rt_tensor feeds[2] = { images[b % opt.pool], labels[b % opt.pool] }, loss;
    if (rt_session_run_entry(sess, "train", 2, feed_names, feeds, 0, NULL, &loss) != RT_OK)
        die("train step failed: %s", rt_session_last_error(sess));
    if (loss.dtype != RT_F32 || loss.rank != 0)
        die("the train entry's fetch is not an f32 scalar");
    return *(const float *)loss.data;
}

static void save_npy(const char *dir, const char *name, const rt_tensor *t)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (rt_npy_save(path, t, err, sizeof err) != RT_OK)
        die("%s", err);
}

/* --check DIR: the params before any step, the batches and the losses of
 * the first opt.check_steps steps (step i on batch i). */
static void write_check(void)
{
    const char *dir = opt.check_dir;
    if (mkdir(dir, 0777) && errno != EEXIST)
        die("cannot create %s: %s", dir, strerror(errno));
    for (int i = 0; i < rt_session_n_params(sess); i++) {
        rt_value_info vi;
        rt_tensor v;
        if (rt_session_param_info(sess, i, &vi) != RT_OK || rt_session_param_at(sess, i, &v) != RT_OK)
            die("param %d: %s", i, rt_session_last_error(sess));
        save_npy(dir, vi.name, &v);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/losses.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write %s: %s", path, strerror(errno));
    for (int s = 0; s < opt.check_steps; s++) {
        char nm[32];
        snprintf(nm, sizeof nm, "images_%d", s);
        save_npy(dir, nm, &images[s % opt.pool]);
        snprintf(nm, sizeof nm, "labels_%d", s);
        save_npy(dir, nm, &labels[s % opt.pool]);
        fprintf(f, "%.9g\n", (double)train_step(s));
    }
    if (fclose(f))
        die("cannot write %s", path);
    printf("trainbench: wrote params, %d batches and their losses to %s\n", opt.check_steps, dir);
}

/* ---- --profile: where a step's time goes ---- */

static int by_ms_desc(const void *a, const void *b)
{
    double x = ((const rt_node_profile *)a)->total_ms, y = ((const rt_node_profile *)b)->total_ms;
    return (x < y) - (x > y);
}

static void profile(void)
{
    if (rt_session_set_profiling(sess, 1) != RT_OK)
        die("profiling: %s", rt_session_last_error(sess));
    double t0 = wall_s();
    for (int s = 0; s < opt.profile_steps; s++)
        train_step(s);
    double wall_ms = 1e3 * (wall_s() - t0) / opt.profile_steps;
    rt_session_set_profiling(sess, 0);
    int n = rt_session_profile(sess, NULL, 0);
    rt_node_profile *p = calloc((size_t)n + 1, sizeof *p);
    rt_node_profile kinds[MAX_PROF_OPS];
    int n_kinds = 0;
    if (!p)
        die("out of memory");
    rt_session_profile(sess, p, n);
    double kern_ms = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < n_kinds && strcmp(kinds[k].op, p[i].op))
            k++;
        if (k == n_kinds && n_kinds < MAX_PROF_OPS)
            kinds[n_kinds++] = (rt_node_profile){ .op = p[i].op };
        if (k < n_kinds) {
            kinds[k].total_ms += p[i].total_ms / opt.profile_steps;
            kinds[k].calls += p[i].calls ? 1 : 0; /* nodes that ran */
        }
        kern_ms += p[i].total_ms / opt.profile_steps;
    }
    qsort(kinds, (size_t)n_kinds, sizeof *kinds, by_ms_desc);
    qsort(p, (size_t)n, sizeof *p, by_ms_desc);
    printf("profile: %d steps, %.4g ms/step wall, %.4g ms/step in kernels (the rest: executor, updates, "
           "timers)\n", opt.profile_steps, wall_ms, kern_ms);
    printf("  %-28s %6s %10s %7s\n", "op", "nodes", "ms/step", "share");
    for (int k = 0; k < n_kinds && kinds[k].total_ms > 0; k++)
        printf("  %-28s %6lld %10.4f %6.1f%%\n", kinds[k].op, (long long)kinds[k].calls, kinds[k].total_ms,
               100 * kinds[k].total_ms / kern_ms);
    printf("  slowest nodes:\n  %-32s %-28s %10s %7s %9s\n", "node (output value)", "op", "ms/step", "share",
           "GFLOP/s");
    for (int i = 0; i < n && i < 12 && p[i].total_ms > 0; i++) {
        double ms = p[i].total_ms / (double)(p[i].calls ? p[i].calls : 1);
        char gf[32] = "-";
        if (p[i].flops > 0)
            snprintf(gf, sizeof gf, "%.1f", (double)p[i].flops / ms / 1e6);
        printf("  %-32.32s %-28s %10.4f %6.1f%% %9s\n", p[i].value && p[i].value[0] ? p[i].value : p[i].name,
               p[i].op, p[i].total_ms / opt.profile_steps, 100 * p[i].total_ms / opt.profile_steps / kern_ms, gf);
    }
    free(p);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    char err[1024];
    if (rt_model_load_file(opt.gb, &model, err, sizeof err) != RT_OK)
        die("%s", err);
    check_model();
    rt_session_options so = rt_session_options_default();
    so.n_threads = opt.threads;
    if (rt_session_create(model, &so, &sess, err, sizeof err) != RT_OK)
        die("%s", err);
    make_batches();
    if (opt.check_dir) {
        write_check();
    } else {
        float loss_first = 0, loss_last = 0;
        for (int s = 0; s < opt.warmup; s++) {
            float l = train_step(s);
            if (s == 0)
                loss_first = l;
        }
        double *t = malloc(sizeof *t * (size_t)opt.steps);
        if (!t)
            die("out of memory");
        double busy0 = cpus_busy_s(), own0 = own_cpu_s(), t0 = wall_s(), prev = t0;
        int n = 0;
        while (n < opt.steps && (opt.max_seconds <= 0 || n < 10 || prev - t0 < opt.max_seconds)) {
            loss_last = train_step(opt.warmup + n);
            if (n == 0 && opt.warmup == 0)
                loss_first = loss_last;
            double now = wall_s();
            t[n++] = 1e3 * (now - prev);
            prev = now;
        }
        double secs = prev - t0, busy1 = cpus_busy_s(), own1 = own_cpu_s();
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        /* share of all CPUs that other processes used while timing; -1 unknown */
        double other = busy0 < 0 || busy1 < 0 || secs < 0.25 ? -1
                       : fmax(0, ((busy1 - busy0) - (own1 - own0)) / (secs * (double)(ncpu > 0 ? ncpu : 1)));
        qsort(t, (size_t)n, sizeof *t, by_value);
        double med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
        if (!isfinite(loss_last))
            die("the loss is not finite (%g) after %d steps", (double)loss_last, opt.warmup + n);
        size_t weights = 0, arena = 0, ws = 0;
        rt_session_memory(sess, &weights, &arena, &ws);
        printf("trainbench: %s (%s), batch %ld, threads %d, %d warmup + %d timed steps, "
               "%.0f examples/s, median step %.4g ms; memory: weights %.1f MiB, arena %.1f MiB, workspace %.1f MiB\n",
               rt_model_name(model), opt.gb, opt.batch, opt.threads, opt.warmup, n, (double)n * (double)opt.batch / secs,
               med, (double)weights / 1048576, (double)arena / 1048576, (double)ws / 1048576);
        if (opt.profile_steps)
            profile();
        printf("RESULT model=%s batch=%ld threads=%d steps=%d seconds=%.6f examples_per_s=%.1f median_step_ms=%.5f "
               "p10_step_ms=%.5f p90_step_ms=%.5f loss_first=%.6g loss_last=%.6g other_load=%.3f\n",
               rt_model_name(model), opt.batch, opt.threads, n, secs, (double)n * (double)opt.batch / secs, med,
               t[(int)(0.1 * (n - 1))], t[(int)(0.9 * (n - 1))], (double)loss_first, (double)loss_last, other);
        free(t);
    }
    for (int b = 0; b < opt.pool; b++) {
        free(images[b].data);
        free(labels[b].data);
    }
    free(images);
    free(labels);
    rt_session_free(sess);
    rt_model_free(model);
    return 0;
}
