/* runtime/cli/train.c -- `graphrun train`: the training loop around a graph
 * binary's entry points (graphrt.h), as Keras' fit() or a TF1
 * MonitoredTrainingSession would run it.
 *
 * - data: one .npy or IDX file (gzip or not) per input, batch along axis 0;
 *   converted once to the input's dtype and shape (uint8 pixels into an f32
 *   input are scaled to [0, 1], as torchvision's ToTensor; integer labels
 *   widen or narrow exactly; rows of the same size are reshaped);
 * - order: a permutation per epoch drawn from (seed, epoch) alone, so a run
 *   resumed at any step sees the same batches as one that never stopped;
 * - the learning rate is fed when the graph declares it as an input
 *   (--lr, --lr-schedule), else it is the compiled attribute;
 * - evaluation of test loss and accuracy (argmax of the output against the
 *   integer labels) through the predict entry after every epoch;
 * - checkpoints (rt_checkpoint_save: atomic) after every epoch, every
 *   --save-every steps, at the end and on SIGINT/SIGTERM; a run whose
 *   --checkpoint exists resumes from it (the global step is in it and
 *   --steps/--epochs count from the start of training, as TF1's last_step);
 * - TensorBoard scalars loss, learning_rate, examples_per_sec (each step or
 *   log point) and test_loss, accuracy (each evaluation) with --logdir;
 * - a progress bar on a terminal, plain lines otherwise.
 * Every error is a "graphrun: ..." message and exit status 1; an interrupt
 * exits 130 after saving. */
#include "cli.h"
#include "graphrt.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void train_usage(FILE *f)
{
    fprintf(f,
"usage: graphrun train MODEL.gb --data NAME=FILE... --batch B [--steps S | --epochs E]\n"
"Trains a graph compiled with a 'train LOSS with OPT(...)' statement: each\n"
"step runs its 'train' entry (forward, backward, update) on B rows.\n"
"\n"
"data:\n"
"  --data NAME=FILE        training data for input NAME: .npy or IDX (MNIST\n"
"                          format, gzip or not); one per input the train entry\n"
"                          needs, all with the same number of rows (axis 0).\n"
"                          uint8 data for an f32 input is scaled to [0, 1];\n"
"                          rows are reshaped to the input's shape when their\n"
"                          sizes agree ([N,28,28] -> [N,1,28,28])\n"
"  --test-data NAME=FILE   evaluation data (same rules); after every epoch the\n"
"                          test loss and the accuracy of argmax(output) against\n"
"                          the integer labels are printed and logged\n"
"  --eval-output NAME      the output the accuracy is taken of (default: the\n"
"                          first output of shape [N, C])\n"
"  --eval-labels NAME      the labels input (default: the integer input)\n"
"schedule:\n"
"  --batch B               rows per step; an epoch ends with a smaller batch\n"
"                          when B does not divide the rows (as PyTorch's\n"
"                          DataLoader and Keras' fit)\n"
"  --drop-last             leave that partial batch out instead\n"
"  --epochs E | --steps S  train until the global step is E epochs' worth or S\n"
"                          (default: 1 epoch); counted from the start of\n"
"                          training, so a resumed run stops at the same step\n"
"  --seed S                shuffle seed (default 0); same seed and threads:\n"
"                          the same losses, bit for bit\n"
"  --no-shuffle            rows in file order every epoch\n"
"  --lr V                  learning rate, when the graph feeds it as an input\n"
"  --lr-schedule K         constant (default), cosine (to 0 at the last step)\n"
"                          or step:E:F (times F every E epochs)\n"
"state and logs:\n"
"  --checkpoint FILE.gbc   saved after every epoch, every --save-every steps,\n"
"                          at the end and on Ctrl-C; when FILE exists training\n"
"                          resumes from it (--fresh: start over)\n"
"  --save-every K          also save every K steps\n"
"  --fresh                 ignore an existing checkpoint (it is replaced at\n"
"                          the first save)\n"
"  --logdir DIR            TensorBoard event file in DIR: loss, learning_rate,\n"
"                          examples_per_sec, test_loss, accuracy\n"
"  --log-every K           a plain progress line every K steps (default 100)\n"
"  --progress | --no-progress  progress bar (default: when stdout is a terminal)\n"
"  --threads N             threads (default: all cores)\n");
}

/* ---- data ---------------------------------------------------------------- */

typedef struct dataset {
    const char *name, *path;
    int input;         /* index in the model's inputs */
    rt_tensor t;       /* converted: the input's dtype, dims [rows, input dims...] */
    size_t row_bytes;
    char note[160];    /* how it was converted, "" if as is */
} dataset;

static int is_int_dtype(rt_dtype d) { return d == RT_I32 || d == RT_I64 || d == RT_U8 || d == RT_I8; }

static int64_t int_at(const rt_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case RT_I32: return ((const int32_t *)t->data)[i];
    case RT_I64: return ((const int64_t *)t->data)[i];
    case RT_U8: return ((const uint8_t *)t->data)[i];
    case RT_I8: return ((const int8_t *)t->data)[i];
    case RT_BOOL: return ((const uint8_t *)t->data)[i] != 0;
    default: return 0;
    }
}

static double num_at(const rt_tensor *t, int64_t i)
{
    if (t->dtype == RT_F32)
        return ((const float *)t->data)[i];
    if (t->dtype == RT_F64)
        return ((const double *)t->data)[i];
    return (double)int_at(t, i);
}

static int64_t numel_from(const int64_t *dims, int from, int rank)
{
    int64_t n = 1;
    for (int d = from; d < rank; d++)
        n *= dims[d];
    return n;
}

static void dims_str(const int64_t *dims, int from, int rank, char *buf, size_t len)
{
    size_t u = (size_t)snprintf(buf, len, "[");
    for (int d = from; d < rank && u < len; d++)
        u += (size_t)snprintf(buf + u, len - u, "%s%lld", d > from ? ", " : "", (long long)dims[d]);
    if (u < len)
        snprintf(buf + u, len - u, "]");
}

/* Reads FILE (.npy by its magic, else IDX) and converts it for the input. */
static int load_dataset(dataset *ds, const rt_model *m)
{
    char err[1024];
    ds->input = -1;
    rt_value_info in = { 0 };
    for (int i = 0; i < rt_model_n_inputs(m); i++) {
        rt_value_info x;
        if (rt_model_input(m, i, &x) == RT_OK && strcmp(x.name, ds->name) == 0) {
            ds->input = i;
            in = x;
        }
    }
    if (ds->input < 0) {
        char names[512] = "";
        size_t u = 0;
        for (int i = 0; i < rt_model_n_inputs(m) && u < sizeof names; i++) {
            rt_value_info x;
            if (rt_model_input(m, i, &x) == RT_OK)
                u += (size_t)snprintf(names + u, sizeof names - u, "%s%s", i ? ", " : "", x.name);
        }
        return die("%s=%s: the model has no input '%s' (its inputs: %s)", ds->name, ds->path, ds->name, names);
    }
    FILE *f = fopen(ds->path, "rb");
    if (!f)
        return die("%s: %s", ds->path, strerror(errno));
    unsigned char magic[6] = { 0 };
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    rt_tensor raw = { 0 };
    rt_status st = got == 6 && memcmp(magic, "\x93NUMPY", 6) == 0 ? rt_npy_load(ds->path, &raw, err, sizeof err)
                                                                   : rt_idx_load(ds->path, &raw, err, sizeof err);
    if (st != RT_OK)
        return die("%s: %s%s", ds->path, err,
                   st == RT_ERR_FORMAT && !(got == 6 && memcmp(magic, "\x93NUMPY", 6) == 0)
                       ? " (training data is a .npy file or an IDX file, gzip or not)" : "");
    int rc = 1;
    if (raw.rank < 1) {
        die("%s: a scalar; training data needs rows along axis 0", ds->path);
        goto out;
    }
    /* the input's per-row shape: every dim after the first must be static */
    if (in.rank < 1 || in.dims[0] >= 0) {
        die("input '%s' has no symbolic batch dimension first; graphrun train feeds rows along axis 0", in.name);
        goto out;
    }
    for (int d = 1; d < in.rank; d++)
        if (in.dims[d] < 0) {
            die("input '%s' has a symbolic dimension after the first; graphrun train needs the others fixed", in.name);
            goto out;
        }
    int64_t rows = raw.dims[0];
    int64_t per_row = numel_from(raw.dims, 1, raw.rank), want_row = numel_from(in.dims, 1, in.rank);
    if (per_row != want_row) {
        char a[128], b[128];
        dims_str(raw.dims, 1, raw.rank, a, sizeof a);
        dims_str(in.dims, 1, in.rank, b, sizeof b);
        die("%s: rows of shape %s (%lld values) cannot feed input '%s', whose rows are %s (%lld values)", ds->path, a,
            (long long)per_row, in.name, b, (long long)want_row);
        goto out;
    }
    int reshaped = raw.rank != in.rank;
    for (int d = 1; !reshaped && d < in.rank; d++)
        reshaped = raw.dims[d] != in.dims[d];
    ds->t.dtype = in.dtype;
    ds->t.rank = in.rank;
    ds->t.dims[0] = rows;
    for (int d = 1; d < in.rank; d++)
        ds->t.dims[d] = in.dims[d];
    ds->row_bytes = rt_dtype_size(in.dtype) * (size_t)want_row;
    int64_t n = rows * want_row;
    if (raw.dtype == in.dtype) {
        ds->t.data = raw.data;
        raw.data = NULL;
    } else {
        ds->t.data = malloc((size_t)n * rt_dtype_size(in.dtype) + 1);
        if (!ds->t.data) {
            die("%s: out of memory converting %lld values", ds->path, (long long)n);
            goto out;
        }
        if (in.dtype == RT_F32 || in.dtype == RT_F64) {
            double scale = raw.dtype == RT_U8 ? 1.0 / 255.0 : 1.0;
            for (int64_t i = 0; i < n; i++) {
                double v = num_at(&raw, i) * scale;
                if (in.dtype == RT_F32)
                    ((float *)ds->t.data)[i] = (float)v;
                else
                    ((double *)ds->t.data)[i] = v;
            }
            snprintf(ds->note, sizeof ds->note, "%s -> %s%s", rt_dtype_name(raw.dtype), rt_dtype_name(in.dtype),
                     raw.dtype == RT_U8 ? " scaled by 1/255" : "");
        } else if ((in.dtype == RT_I32 || in.dtype == RT_I64) && is_int_dtype(raw.dtype)) {
            for (int64_t i = 0; i < n; i++) {
                int64_t v = int_at(&raw, i);
                if (in.dtype == RT_I32) {
                    if (v < INT32_MIN || v > INT32_MAX) {
                        die("%s: value %lld at index %lld does not fit input '%s' (i32)", ds->path, (long long)v,
                            (long long)i, in.name);
                        goto out;
                    }
                    ((int32_t *)ds->t.data)[i] = (int32_t)v;
                } else {
                    ((int64_t *)ds->t.data)[i] = v;
                }
            }
            snprintf(ds->note, sizeof ds->note, "%s -> %s", rt_dtype_name(raw.dtype), rt_dtype_name(in.dtype));
        } else {
            die("%s holds %s; input '%s' is %s (floats feed f32/f64 inputs, integers feed integer inputs)", ds->path,
                rt_dtype_name(raw.dtype), in.name, rt_dtype_name(in.dtype));
            goto out;
        }
    }
    if (reshaped) {
        char a[128], b[128];
        dims_str(raw.dims, 1, raw.rank, a, sizeof a);
        dims_str(in.dims, 1, in.rank, b, sizeof b);
        size_t u = strlen(ds->note);
        snprintf(ds->note + u, sizeof ds->note - u, "%srows %s as %s", u ? ", " : "", a, b);
    }
    rc = 0;
out:
    free(raw.data);
    return rc;
}

/* Gathers rows perm[first..first+count) of ds into buf. */
static void gather(const dataset *ds, const int64_t *perm, int64_t first, int64_t count, void *buf)
{
    for (int64_t r = 0; r < count; r++)
        memcpy((char *)buf + (size_t)r * ds->row_bytes,
               (const char *)ds->t.data + (size_t)(perm ? perm[first + r] : first + r) * ds->row_bytes,
               ds->row_bytes);
}

/* ---- order ---------------------------------------------------------------- */

/* splitmix64: the shuffle's generator (seeded, the same on every machine) */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The row order of epoch `epoch`: a function of (seed, epoch) only. */
static void epoch_order(int64_t *perm, int64_t n, uint64_t seed, int64_t epoch, int shuffle)
{
    for (int64_t r = 0; r < n; r++)
        perm[r] = r;
    if (!shuffle)
        return;
    uint64_t rng = seed ^ ((uint64_t)epoch * 0xD1B54A32D192ED03ull);
    splitmix64(&rng);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(splitmix64(&rng) % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* ---- learning-rate schedule ------------------------------------------------ */

typedef struct schedule {
    enum { LR_CONSTANT, LR_COSINE, LR_STEP } kind;
    long step_epochs;
    double step_factor;
} schedule;

static int parse_schedule(const char *s, schedule *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(s, "constant") == 0)
        return 0;
    if (strcmp(s, "cosine") == 0) {
        out->kind = LR_COSINE;
        return 0;
    }
    char *end;
    if (strncmp(s, "step:", 5) == 0) {
        errno = 0;
        long e = strtol(s + 5, &end, 10);
        if (!errno && e > 0 && *end == ':') {
            double f = strtod(end + 1, &end);
            if (!*end && isfinite(f) && f > 0) {
                out->kind = LR_STEP;
                out->step_epochs = e;
                out->step_factor = f;
                return 0;
            }
        }
    }
    return die("--lr-schedule: expected constant, cosine or step:EPOCHS:FACTOR (e.g. step:10:0.1), got '%s'", s);
}

static double lr_at(const schedule *sc, double base, int64_t step, int64_t total, int64_t per_epoch)
{
    switch (sc->kind) {
    case LR_COSINE:
        return total > 0 ? base * 0.5 * (1.0 + cos(3.14159265358979323846 * (double)step / (double)total)) : base;
    case LR_STEP:
        return base * pow(sc->step_factor, (double)(step / per_epoch / sc->step_epochs));
    default:
        return base;
    }
}

/* ---- signals ------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    g_stop = sig;
    signal(sig, SIG_DFL); /* a second Ctrl-C kills at once (checkpoints are atomic) */
}

/* ---- progress ------------------------------------------------------------- */

static void fmt_duration(double s, char *buf, size_t len)
{
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, len, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

/* ---- evaluation ------------------------------------------------------------ */

typedef struct eval_cfg {
    dataset *data;      /* test datasets */
    int n;
    int out_i;          /* output for accuracy, -1: none */
    const char *out_name;
    int labels_i;       /* index into data of the labels, -1: none */
    const char *loss;   /* loss value name (predict computes it when labels are fed) */
    void **bufs;        /* per dataset: batch buffers */
} eval_cfg;

/* Test loss (mean over batches weighted by rows) and accuracy. */
static int evaluate(rt_session *s, eval_cfg *ev, long batch, double *loss_out, double *acc_out)
{
    int64_t rows = ev->data[0].t.dims[0];
    const char *names[MAX_ARGS];
    rt_tensor feeds[MAX_ARGS];
    for (int i = 0; i < ev->n; i++)
        names[i] = ev->data[i].name;
    const char *fetch_names[2];
    int nf = 0, li = -1, oi = -1;
    if (ev->loss) {
        li = nf;
        fetch_names[nf++] = ev->loss;
    }
    if (ev->out_i >= 0 && ev->labels_i >= 0) {
        oi = nf;
        fetch_names[nf++] = ev->out_name;
    }
    double loss_sum = 0;
    int64_t correct = 0;
    for (int64_t first = 0; first < rows; first += batch) {
        int64_t cnt = rows - first < batch ? rows - first : batch;
        for (int i = 0; i < ev->n; i++) {
            feeds[i] = ev->data[i].t;
            feeds[i].dims[0] = cnt;
            feeds[i].data = ev->bufs[i];
            gather(&ev->data[i], NULL, first, cnt, ev->bufs[i]);
        }
        rt_tensor out[2];
        if (rt_session_run_entry(s, "predict", ev->n, names, feeds, nf, fetch_names, out) != RT_OK)
            return die("evaluation: %s", rt_session_last_error(s));
        if (li >= 0)
            loss_sum += (double)*(const float *)out[li].data * (double)cnt;
        if (oi >= 0) {
            const rt_tensor *o = &out[oi];
            const dataset *lab = &ev->data[ev->labels_i];
            int64_t c = o->dims[1];
            for (int64_t r = 0; r < cnt; r++) {
                int64_t best = 0;
                for (int64_t k = 1; k < c; k++)
                    if (num_at(o, r * c + k) > num_at(o, r * c + best))
                        best = k;
                rt_tensor lt = lab->t;
                lt.data = ev->bufs[ev->labels_i];
                correct += best == int_at(&lt, r);
            }
        }
    }
    *loss_out = li >= 0 ? loss_sum / (double)rows : NAN;
    *acc_out = oi >= 0 ? (double)correct / (double)rows : NAN;
    return 0;
}

/* ---- the command ----------------------------------------------------------- */

typedef struct named_path {
    const char *name, *path;
} named_path;

static int split_named(char *arg, const char *opt, named_path *out)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return die("train: %s expects NAME=FILE, got '%s'", opt, arg);
    *eq = 0;
    out->name = arg;
    out->path = eq + 1;
    return 0;
}

/* The first input the train entry needs (the lr feed aside) that no
 * dataset feeds; NULL when all are fed. */
static const char *missing_input(const rt_model *m, const rt_train_info *ti, const dataset *ds, int n)
{
    for (int i = 0; i < rt_model_n_inputs(m); i++) {
        rt_value_info x;
        rt_model_input(m, i, &x);
        if (!rt_model_entry_needs(m, "train", x.name) || (ti->lr_input && strcmp(x.name, ti->lr_input) == 0))
            continue;
        int have = 0;
        for (int j = 0; j < n; j++)
            have |= strcmp(ds[j].name, x.name) == 0;
        if (!have)
            return x.name;
    }
    return NULL;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

int graphrun_train(int argc, char **argv)
{
    const char *model_path = NULL, *ckpt = NULL, *logdir = NULL, *eval_out = NULL, *eval_labels = NULL;
    named_path dargs[MAX_ARGS], targs[MAX_ARGS];
    int n_d = 0, n_t = 0, shuffle_on = 1, fresh = 0, progress = -1, drop_last = 0;
    long batch = 0, steps = -1, epochs = -1, seed = 0, log_every = 100, threads = 0, save_every = 0;
    double lr = NAN;
    schedule sched = { 0 };

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
        if (strcmp(a, "--fresh") == 0 || strcmp(a, "--drop-last") == 0) {
            *(a[2] == 'f' ? &fresh : &drop_last) = 1;
            continue;
        }
        if (strcmp(a, "--progress") == 0 || strcmp(a, "--no-progress") == 0) {
            progress = a[2] == 'p';
            continue;
        }
        static const char *const takes[] = { "--data", "--test-data", "--batch", "--steps", "--epochs", "--seed",
                                              "--lr", "--lr-schedule", "--checkpoint", "--save-every", "--logdir",
                                              "--log-every", "--threads", "--eval-output", "--eval-labels" };
        int k = -1;
        for (int j = 0; j < (int)(sizeof takes / sizeof *takes); j++)
            if (strcmp(a, takes[j]) == 0)
                k = j;
        if (k < 0) {
            if (a[0] == '-' && a[1])
                return die("train: unknown option '%s' (see graphrun train --help)", a);
            if (model_path)
                return die("train: more than one model file ('%s' and '%s')", model_path, a);
            model_path = a;
            continue;
        }
        if (i + 1 >= argc)
            return die("train: %s needs a value", a);
        char *val = argv[++i];
        int bad = 0;
        switch (k) {
        case 0:
        case 1:
            if ((k == 0 ? n_d : n_t) >= MAX_ARGS)
                return die("train: too many %s options", a);
            bad = split_named(val, a, k == 0 ? &dargs[n_d++] : &targs[n_t++]);
            break;
        case 2: bad = parse_int(val, a, 1, 1L << 30, &batch); break;
        case 3: bad = parse_int(val, a, 0, 1L << 40, &steps); break;
        case 4: bad = parse_int(val, a, 0, 1L << 30, &epochs); break;
        case 5: bad = parse_int(val, a, 0, 1L << 62, &seed); break;
        case 6: bad = parse_double(val, a, &lr); break;
        case 7: bad = parse_schedule(val, &sched); break;
        case 8: ckpt = val; break;
        case 9: bad = parse_int(val, a, 1, 1L << 40, &save_every); break;
        case 10: logdir = val; break;
        case 11: bad = parse_int(val, a, 1, 1L << 40, &log_every); break;
        case 12: bad = parse_int(val, a, 0, 4096, &threads); break;
        case 13: eval_out = val; break;
        case 14: eval_labels = val; break;
        }
        if (bad)
            return 1;
    }
    if (!model_path) {
        train_usage(stderr);
        return die("train: no model file given");
    }
    if (n_d == 0 || batch <= 0)
        return die("train: give the data (--data NAME=FILE, one per input) and --batch B");
    if (steps >= 0 && epochs >= 0)
        return die("train: give --steps or --epochs, not both");
    if (fresh && !ckpt)
        return die("train: --fresh goes with --checkpoint");
    if (progress < 0)
        progress = isatty(STDOUT_FILENO);

    int rc = 1;
    char err[1024];
    rt_model *m = NULL;
    rt_session *s = NULL;
    rt_events *ev_w = NULL;
    dataset data[MAX_ARGS], test[MAX_ARGS];
    void *tbufs[MAX_ARGS];
    rt_tensor feeds[MAX_ARGS + 1];
    const char *fnames[MAX_ARGS + 1];
    int64_t *perm = NULL;
    memset(data, 0, sizeof data);
    memset(test, 0, sizeof test);
    memset(tbufs, 0, sizeof tbufs);
    memset(feeds, 0, sizeof feeds);
    float lr_feed = 0;

    if (rt_model_load_file(model_path, &m, err, sizeof err) != RT_OK) {
        die("%s: %s", model_path, err);
        goto out;
    }
    rt_train_info ti;
    if (rt_model_train_info(m, &ti) != RT_OK || rt_model_entry_n_fetches(m, "train") != 1) {
        die("%s: graph '%s' has no training (compile a graph with a 'train LOSS with OPT(...)' statement)",
            model_path, rt_model_name(m));
        goto out;
    }
    if (ti.lr_input && isnan(lr)) {
        die("graph '%s' feeds its learning rate from input '%s': give --lr V", rt_model_name(m), ti.lr_input);
        goto out;
    }
    if (!ti.lr_input && (!isnan(lr) || sched.kind != LR_CONSTANT)) {
        die("graph '%s' has the learning rate %g compiled in; to set or schedule it, declare it as an input "
            "(input lr: f32 ... train %s with ...(lr=lr)) and pass --lr", rt_model_name(m), ti.lr, ti.loss);
        goto out;
    }
    double base_lr = ti.lr_input ? lr : ti.lr;

    /* training data: every input the train entry needs but the lr */
    int64_t n_rows = -1;
    for (int i = 0; i < n_d; i++) {
        data[i].name = dargs[i].name;
        data[i].path = dargs[i].path;
        for (int j = 0; j < i; j++)
            if (strcmp(data[j].name, data[i].name) == 0) {
                die("train: --data %s given twice", data[i].name);
                goto out;
            }
        if (ti.lr_input && strcmp(data[i].name, ti.lr_input) == 0) {
            die("train: '%s' is the learning-rate input (use --lr), not data", ti.lr_input);
            goto out;
        }
        if (load_dataset(&data[i], m))
            goto out;
        if (n_rows >= 0 && data[i].t.dims[0] != n_rows) {
            die("%s has %lld rows but %s has %lld: every --data file needs the same number", data[i].path,
                (long long)data[i].t.dims[0], data[0].path, (long long)n_rows);
            goto out;
        }
        n_rows = data[i].t.dims[0];
        feeds[i] = data[i].t;
        feeds[i].dims[0] = batch;
        if (!(feeds[i].data = malloc(data[i].row_bytes * (size_t)batch + 1))) {
            die("out of memory for a batch of %ld rows of %s", batch, data[i].path);
            goto out;
        }
        fnames[i] = data[i].name;
    }
    const char *missing = missing_input(m, &ti, data, n_d);
    if (missing) {
        die("train: the train entry needs input '%s': give --data %s=FILE", missing, missing);
        goto out;
    }
    if (drop_last && n_rows < batch) {
        die("the data has %lld rows, fewer than one batch of %ld (and --drop-last leaves out partial batches)",
            (long long)n_rows, batch);
        goto out;
    }
    int nf = n_d;
    if (ti.lr_input) {
        fnames[nf] = ti.lr_input;
        feeds[nf] = (rt_tensor){ .dtype = RT_F32, .rank = 0, .data = &lr_feed };
        nf++;
    }

    /* test data and what to measure on it */
    eval_cfg evc = { .data = test, .n = n_t, .out_i = -1, .labels_i = -1, .bufs = tbufs };
    for (int i = 0; i < n_t; i++) {
        test[i].name = targs[i].name;
        test[i].path = targs[i].path;
        if (load_dataset(&test[i], m))
            goto out;
        if (test[i].t.dims[0] != test[0].t.dims[0]) {
            die("%s has %lld rows but %s has %lld: every --test-data file needs the same number", test[i].path,
                (long long)test[i].t.dims[0], test[0].path, (long long)test[0].t.dims[0]);
            goto out;
        }
        if (!(tbufs[i] = malloc(test[i].row_bytes * (size_t)batch + 1))) {
            die("out of memory");
            goto out;
        }
        if (eval_labels ? strcmp(test[i].name, eval_labels) == 0
                        : (test[i].t.dtype == RT_I32 || test[i].t.dtype == RT_I64) && test[i].t.rank == 1)
            evc.labels_i = i;
    }
    if (n_t) {
        if (eval_labels && evc.labels_i < 0) {
            die("--eval-labels %s: no --test-data %s=FILE given", eval_labels, eval_labels);
            goto out;
        }
        for (int i = 0; i < rt_model_n_outputs(m); i++) {
            rt_value_info o;
            rt_model_output(m, i, &o);
            int match = eval_out ? strcmp(o.name, eval_out) == 0
                                 : o.rank == 2 && o.dims[0] < 0 && o.dims[1] > 1 &&
                                       (o.dtype == RT_F32 || o.dtype == RT_F64);
            if (match && evc.out_i < 0) {
                if (o.rank != 2 || (o.dtype != RT_F32 && o.dtype != RT_F64)) {
                    die("--eval-output %s: accuracy needs a float output of shape [N, C]", eval_out);
                    goto out;
                }
                evc.out_i = i;
                evc.out_name = o.name;
            }
        }
        if (eval_out && evc.out_i < 0) {
            die("--eval-output %s: the model has no output of that name", eval_out);
            goto out;
        }
        /* the test loss when the test data feeds everything the loss needs */
        evc.loss = missing_input(m, &ti, test, n_t) ? NULL : ti.loss;
        if (evc.labels_i < 0)
            evc.out_i = -1;
        if (!evc.loss && evc.out_i < 0) {
            die("--test-data: nothing to evaluate (the loss needs every input the train entry needs; accuracy "
                "needs integer labels and an output of shape [N, C])");
            goto out;
        }
    }

    int64_t per_epoch = drop_last ? n_rows / batch : (n_rows + batch - 1) / batch;
    int64_t total = steps >= 0 ? steps : (epochs >= 0 ? epochs : 1) * per_epoch;
    if (!(perm = malloc(sizeof(int64_t) * (size_t)n_rows))) {
        die("out of memory");
        goto out;
    }
    rt_session_options o = rt_session_options_default();
    o.n_threads = (int)threads;
    if (rt_session_create(m, &o, &s, err, sizeof err) != RT_OK) {
        die("%s", err);
        goto out;
    }

    /* resume */
    int64_t step = 0;
    if (ckpt && !fresh && file_exists(ckpt)) {
        if (rt_checkpoint_restore(s, ckpt, &step, err, sizeof err) != RT_OK) {
            die("%s (pass --fresh to start over and replace it)", err);
            goto out;
        }
        if (step < 0)
            step = 0;
        printf("resuming from %s at step %lld (epoch %lld)\n", ckpt, (long long)step,
               (long long)(step / per_epoch + 1));
    }

    printf("training %s: %s on loss '%s'\n", rt_model_name(m), ti.optimizer, ti.loss);
    for (int i = 0; i < n_d + n_t; i++) {
        const dataset *d = i < n_d ? &data[i] : &test[i - n_d];
        char sh[128];
        dims_str(d->t.dims, 1, d->t.rank, sh, sizeof sh);
        printf("  %s %-10s %lld rows of %s %s  %s%s%s%s\n", i < n_d ? "data" : "test", d->name,
               (long long)d->t.dims[0], rt_dtype_name(d->t.dtype), sh, d->path, d->note[0] ? "  (" : "",
               d->note, d->note[0] ? ")" : "");
    }
    if (n_t)
        printf("  evaluating after every epoch:%s%s%s%s%s\n", evc.loss ? " test_loss" : "", evc.out_i >= 0 ? ", accuracy of argmax(" : "",
               evc.out_i >= 0 ? evc.out_name : "", evc.out_i >= 0 ? ") against " : "",
               evc.out_i >= 0 ? test[evc.labels_i].name : "");
    char tail[96] = "";
    if (n_rows % batch)
        snprintf(tail, sizeof tail, drop_last ? ", %lld rows left out per epoch" : ", the last of %lld rows",
                 (long long)(n_rows % batch));
    printf("  %lld step%s per epoch (batch %ld%s), %lld steps in all, seed %ld, %s\n", (long long)per_epoch,
           per_epoch == 1 ? "" : "s", batch, tail, (long long)total, seed, shuffle_on ? "shuffled" : "not shuffled");
    fflush(stdout);

    if (logdir) {
        if (rt_events_open(logdir, &ev_w, err, sizeof err) != RT_OK) {
            die("--logdir %s: %s", logdir, err);
            goto out;
        }
        printf("  TensorBoard: %s\n", rt_events_path(ev_w));
    }
    g_stop = 0;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    double t_start = now_ms(), t_win = t_start, t_bar = 0;
    int64_t step0 = step, cur_epoch = -1, rows_done = 0, win_rows = 0;
    double win_loss = 0, ep_loss = 0;
    int64_t win_n = 0, ep_n = 0;
    double last_acc = NAN, last_tloss = NAN;
    int saved_at_end = 0, bar_open = 0;
    while (step < total && !g_stop) {
        int64_t epoch = step / per_epoch, b = step % per_epoch;
        if (epoch != cur_epoch) {
            epoch_order(perm, n_rows, (uint64_t)seed, epoch, shuffle_on);
            cur_epoch = epoch;
            ep_loss = 0;
            ep_n = 0;
        }
        int64_t nb = n_rows - b * batch < batch ? n_rows - b * batch : batch; /* a last partial batch */
        for (int i = 0; i < n_d; i++) {
            feeds[i].dims[0] = nb;
            gather(&data[i], perm, b * batch, nb, feeds[i].data);
        }
        double cur_lr = lr_at(&sched, base_lr, step, total, per_epoch);
        lr_feed = (float)cur_lr;
        rt_tensor loss;
        if (rt_session_run_entry(s, "train", nf, fnames, feeds, 0, NULL, &loss) != RT_OK) {
            if (bar_open)
                printf("\n");
            die("step %lld: %s", (long long)step + 1, rt_session_last_error(s));
            goto out;
        }
        step++;
        rows_done += nb;
        win_rows += nb;
        float lv = *(const float *)loss.data;
        if (!isfinite(lv)) {
            if (bar_open)
                printf("\n");
            die("step %lld: the loss is %g; stopping (lower the learning rate?)%s", (long long)step, (double)lv,
                ckpt ? " -- the checkpoint keeps the last good state" : "");
            goto out;
        }
        win_loss += lv;
        win_n++;
        ep_loss += lv;
        ep_n++;
        double t = now_ms();
        if (ev_w && (rt_events_scalar(ev_w, "loss", step, lv) != RT_OK ||
                     rt_events_scalar(ev_w, "learning_rate", step, (float)cur_lr) != RT_OK)) {
            die("--logdir: %s", rt_events_last_error(ev_w));
            goto out;
        }
        int end_epoch = step % per_epoch == 0, last = step == total;
        double done_s = (t - t_start) / 1000.0;
        double eta = (double)(total - step) * done_s / (double)(step - step0);
        char etas[32];
        fmt_duration(eta, etas, sizeof etas);
        if (progress && (t - t_bar > 100 || end_epoch || last)) {
            int w = 24, fill = (int)((double)(step - epoch * per_epoch) * w / (double)per_epoch);
            char bar[32];
            for (int k = 0; k < w; k++)
                bar[k] = k < fill ? '=' : k == fill ? '>' : '.';
            bar[w] = 0;
            printf("\r\033[Kepoch %lld [%s] %lld/%lld  loss %.4f  %.0f ex/s  eta %s", (long long)epoch + 1, bar,
                   (long long)(step - epoch * per_epoch), (long long)per_epoch, ep_loss / (double)ep_n,
                   (double)rows_done / done_s, etas);
            fflush(stdout);
            t_bar = t;
            bar_open = 1;
        }
        if (!progress && (step % log_every == 0 || last)) {
            double eps = (double)win_rows / ((t - t_win) / 1000.0);
            printf("step %lld  epoch %lld  loss %.6g  lr %.4g  examples/s %.1f  eta %s\n", (long long)step,
                   (long long)epoch + 1, win_loss / (double)win_n, cur_lr, eps, etas);
            fflush(stdout);
            if (ev_w && rt_events_scalar(ev_w, "examples_per_sec", step, (float)eps) != RT_OK) {
                die("--logdir: %s", rt_events_last_error(ev_w));
                goto out;
            }
            t_win = t;
            win_rows = 0;
            win_loss = 0;
            win_n = 0;
        }
        /* the epoch summary: with test data, or when epochs are long enough
         * that it does not drown the step lines */
        if ((end_epoch || last) && (n_t || per_epoch >= log_every)) {
            if (bar_open)
                printf("\n");
            bar_open = 0;
            if (n_t) {
                if (evaluate(s, &evc, batch, &last_tloss, &last_acc))
                    goto out;
                if (ev_w && ((evc.loss && rt_events_scalar(ev_w, "test_loss", step, (float)last_tloss) != RT_OK) ||
                             (evc.out_i >= 0 && rt_events_scalar(ev_w, "accuracy", step, (float)last_acc) != RT_OK))) {
                    die("--logdir: %s", rt_events_last_error(ev_w));
                    goto out;
                }
            }
            char line[256];
            int u = snprintf(line, sizeof line, "epoch %lld  step %lld  loss %.6g", (long long)epoch + 1,
                             (long long)step, ep_loss / (double)ep_n);
            if (n_t && evc.loss)
                u += snprintf(line + u, sizeof line - (size_t)u, "  test_loss %.6g", last_tloss);
            if (n_t && evc.out_i >= 0)
                u += snprintf(line + u, sizeof line - (size_t)u, "  accuracy %.4f", last_acc);
            snprintf(line + u, sizeof line - (size_t)u, "  time %.1fs", (now_ms() - t_start) / 1000.0);
            printf("%s%s\n", end_epoch ? "" : "(partial) ", line);
            fflush(stdout);
        }
        if (ckpt && (end_epoch || last || (save_every && step % save_every == 0) || g_stop)) {
            if (rt_checkpoint_save(s, ckpt, step, err, sizeof err) != RT_OK) {
                die("saving the checkpoint: %s", err);
                goto out;
            }
            saved_at_end = last;
        }
    }
    double secs = (now_ms() - t_start) / 1000.0;
    if (bar_open)
        printf("\n");
    bar_open = 0;
    if (g_stop) {
        printf("interrupted at step %lld%s%s%s\n", (long long)step, ckpt ? ": checkpoint saved to " : "",
               ckpt ? ckpt : "", ckpt ? " (run the same command to resume)" : "");
        rc = 130;
        goto out;
    }
    if (step == step0 && step >= total) {
        printf("already at step %lld of %lld: nothing to do%s\n", (long long)step, (long long)total,
               ckpt ? " (raise --steps/--epochs to train on)" : "");
    } else {
        printf("trained %lld steps in %.1f s (%.0f examples/s)", (long long)(step - step0), secs,
               (double)rows_done / secs);
        if (n_t && evc.out_i >= 0)
            printf(", test accuracy %.4f", last_acc);
        if (ckpt && saved_at_end)
            printf(", checkpoint %s", ckpt);
        printf("\n");
    }
    rc = 0;
out:
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (ev_w && rt_events_close(ev_w) != RT_OK && rc == 0)
        rc = die("--logdir: closing the event file failed");
    for (int i = 0; i < MAX_ARGS; i++) {
        free(data[i].t.data);
        free(test[i].t.data);
        free(tbufs[i]);
        if (i < n_d)
            free(feeds[i].data);
    }
    free(perm);
    rt_session_free(s);
    rt_model_free(m);
    return rc;
}
