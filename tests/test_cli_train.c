/* tests/test_cli_train.c -- `graphrun train` end to end, as a user runs it:
 * the binaries in BUILD (next to this test's directory) on a small
 * classification graph and synthetic data written here as .npy and IDX.
 * Checks resume == uninterrupted (by --steps and by a real SIGINT), the
 * same seed giving the same losses bit for bit, the printed test accuracy
 * against one computed here through the C API from the saved checkpoint,
 * the TensorBoard file's scalars, learning-rate schedules, and the errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "graphrt.h"
#include "testutil.h"

#define tmpdir tu_tmpdir
static char graphc[1100], graphrun[1100];

#define N_ROWS 96
#define N_TEST 40

static const char *tiny_src =
    "graph tiny {\n"
    "  input x: f32[N, 1, 2, 2]\n"
    "  input y: i32[N]\n"
    "  param w: f32[4, 3] = normal(std=0.1, seed=1)\n"
    "  param b: f32[3]\n"
    "  logits = reshape(x, [0, -1]) @ w + b\n"
    "  loss = cross_entropy(logits, y)\n"
    "  output logits\n"
    "  train loss with adam(lr=0.05)\n"
    "}\n";

static const char *lr_src =
    "graph tiny_lr {\n"
    "  input x: f32[N, 1, 2, 2]\n"
    "  input y: i32[N]\n"
    "  input lr: f32\n"
    "  param w: f32[4, 3] = normal(std=0.1, seed=1)\n"
    "  logits = reshape(x, [0, -1]) @ w\n"
    "  loss = cross_entropy(logits, y)\n"
    "  output logits\n"
    "  train loss with sgd(lr=lr, momentum=0.9)\n"
    "}\n";

static const char *infer_src = "graph plain {\n  input x: f32[N, 4]\n  output y = relu(x)\n}\n";

static void path_in(char *buf, size_t len, const char *name) { tu_tmp_path(buf, len, name); }

static char *slurp(const char *path, size_t *len_out)
{
    size_t n;
    char *b = (char *)tu_read_file(path, &n);
    if (len_out)
        *len_out = n;
    return b;
}

static void expect_err(tu_result r, const char *needle) { tu_expect_rc(r, 1, needle); }

/* The synthetic task: class = argmax of three fixed linear functions of the
 * 4 pixels (u8 in the IDX files, [0,1] floats in the .npy files). */
static void make_data(int n, uint64_t seed, uint8_t *pix, int32_t *lab)
{
    static const int wt[3][4] = { { 3, -1, 0, 1 }, { -2, 2, 1, 0 }, { 0, 0, -1, 3 } };
    for (int r = 0; r < n; r++) {
        for (int k = 0; k < 4; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            pix[r * 4 + k] = (uint8_t)(seed >> 56);
        }
        int best = 0;
        long bv = -(1L << 40);
        for (int c = 0; c < 3; c++) {
            long v = 0;
            for (int k = 0; k < 4; k++)
                v += (long)wt[c][k] * pix[r * 4 + k];
            if (v > bv) {
                bv = v;
                best = c;
            }
        }
        lab[r] = best;
    }
}

static void write_idx(const char *path, int rank, const int *dims, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char hdr[4] = { 0, 0, 0x08, (unsigned char)rank };
    fwrite(hdr, 1, 4, f);
    for (int i = 0; i < rank; i++) {
        unsigned char d[4] = { (unsigned char)(dims[i] >> 24), (unsigned char)(dims[i] >> 16),
                               (unsigned char)(dims[i] >> 8), (unsigned char)dims[i] };
        fwrite(d, 1, 4, f);
    }
    fwrite(data, 1, n, f);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    if (tu_build_tool(graphc, sizeof graphc, "graphc") || tu_build_tool(graphrun, sizeof graphrun, "graphrun"))
        return -1;
    if (tu_tmpdir_make("cli_train"))
        return -1;

    /* graphs */
    char p[512], gb[512], cmd[2400];
    const char *srcs[3] = { tiny_src, lr_src, infer_src }, *names[3] = { "tiny", "tiny_lr", "plain" };
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s.g", tmpdir, names[i]);
        snprintf(gb, sizeof gb, "%s/%s.gb", tmpdir, names[i]);
        tu_write_file(p, srcs[i], strlen(srcs[i]));
        snprintf(cmd, sizeof cmd, "%s compile %s -o %s", graphc, p, gb);
        if (system(cmd) != 0)
            return -1;
    }
    /* data: .npy (f32 [N,1,2,2], i32 [N]) and IDX (u8 [N,2,2], u8 [N]) */
    uint8_t pix[N_ROWS * 4], tpix[N_TEST * 4], lab8[N_ROWS], tlab8[N_TEST];
    int32_t lab[N_ROWS], tlab[N_TEST];
    float xf[N_ROWS * 4];
    make_data(N_ROWS, 7, pix, lab);
    make_data(N_TEST, 99, tpix, tlab);
    for (int i = 0; i < N_ROWS * 4; i++)
        xf[i] = (float)pix[i] / 255.0f;
    for (int i = 0; i < N_ROWS; i++)
        lab8[i] = (uint8_t)lab[i];
    for (int i = 0; i < N_TEST; i++)
        tlab8[i] = (uint8_t)tlab[i];
    char err[512];
    rt_tensor x = { .dtype = RT_F32, .rank = 4, .dims = { N_ROWS, 1, 2, 2 }, .data = xf };
    rt_tensor y = { .dtype = RT_I32, .rank = 1, .dims = { N_ROWS }, .data = lab };
    path_in(p, sizeof p, "x.npy");
    if (rt_npy_save(p, &x, err, sizeof err) != RT_OK)
        return -1;
    path_in(p, sizeof p, "y.npy");
    if (rt_npy_save(p, &y, err, sizeof err) != RT_OK)
        return -1;
    int d3[3] = { N_ROWS, 2, 2 }, d1[1] = { N_ROWS }, t3[3] = { N_TEST, 2, 2 }, t1[1] = { N_TEST };
    path_in(p, sizeof p, "train-images-idx3-ubyte");
    write_idx(p, 3, d3, pix, sizeof pix);
    path_in(p, sizeof p, "train-labels-idx1-ubyte");
    write_idx(p, 1, d1, lab8, sizeof lab8);
    path_in(p, sizeof p, "t10k-images-idx3-ubyte");
    write_idx(p, 3, t3, tpix, sizeof tpix);
    path_in(p, sizeof p, "t10k-labels-idx1-ubyte");
    write_idx(p, 1, t1, tlab8, sizeof tlab8);
    snprintf(cmd, sizeof cmd, "gzip -k %s/t10k-images-idx3-ubyte", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_tmpdir_remove();
    return 0;
}

/* Every param of two checkpoints, bit for bit (and the same step). */
static void assert_same_checkpoint(const char *a, const char *b)
{
    char err[512];
    rt_checkpoint *ca, *cb;
    if (rt_checkpoint_load_file(a, &ca, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    if (rt_checkpoint_load_file(b, &cb, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    assert_int_equal(rt_checkpoint_step(ca), rt_checkpoint_step(cb));
    assert_int_equal(rt_checkpoint_n_entries(ca), rt_checkpoint_n_entries(cb));
    for (int i = 0; i < rt_checkpoint_n_entries(ca); i++) {
        const char *name;
        rt_tensor ta, tb;
        assert_int_equal(rt_checkpoint_entry(ca, i, &name, &ta, NULL), RT_OK);
        int j = rt_checkpoint_find(cb, name);
        assert_true(j >= 0);
        assert_int_equal(rt_checkpoint_entry(cb, j, NULL, &tb, NULL), RT_OK);
        size_t n = rt_dtype_size(ta.dtype);
        for (int d = 0; d < ta.rank; d++)
            n *= (size_t)ta.dims[d];
        if (memcmp(ta.data, tb.data, n) != 0)
            fail_msg("param '%s' differs between %s and %s", name, a, b);
    }
    rt_checkpoint_free(ca);
    rt_checkpoint_free(cb);
}

static int64_t checkpoint_step(const char *path)
{
    char err[512];
    rt_checkpoint *c;
    if (rt_checkpoint_load_file(path, &c, err, sizeof err) != RT_OK)
        fail_msg("%s", err);
    int64_t s = rt_checkpoint_step(c);
    rt_checkpoint_free(c);
    return s;
}

#define TRAIN_NPY "%s train %s/tiny.gb --data x=%s/x.npy --data y=%s/y.npy --batch 16 --seed 5 --threads 1"

static void test_resume_equals_uninterrupted(void **state)
{
    (void)state;
    char *out, a[512], b[512];
    path_in(a, sizeof a, "resume_a.gbc");
    path_in(b, sizeof b, "resume_b.gbc");
    /* 6 steps per epoch: stop mid-epoch (step 10), resume to 40 */
    out = tu_expect_ok("first part",
            tu_run(TRAIN_NPY " --steps 10 --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir, a));
    free(out);
    assert_int_equal(checkpoint_step(a), 10);
    out = tu_expect_ok("resumed part",
            tu_run(TRAIN_NPY " --steps 40 --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir, a));
    if (!strstr(out, "resuming from") || !strstr(out, "at step 10"))
        fail_msg("no resume message:\n%s", out);
    free(out);
    out = tu_expect_ok("uninterrupted",
            tu_run(TRAIN_NPY " --steps 40 --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir, b));
    free(out);
    assert_int_equal(checkpoint_step(b), 40);
    assert_same_checkpoint(a, b);
    /* the same command again: nothing to do, the checkpoint unchanged */
    out = tu_expect_ok("again", tu_run(TRAIN_NPY " --steps 40 --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir, b));
    assert_non_null(strstr(out, "already at step 40"));
    free(out);
    assert_same_checkpoint(a, b);
    /* --fresh starts over: after 10 steps it equals the first part */
    path_in(b, sizeof b, "resume_c.gbc");
    out = tu_expect_ok("c", tu_run(TRAIN_NPY " --steps 10 --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir, b));
    free(out);
    out = tu_expect_ok("fresh",
            tu_run(TRAIN_NPY " --steps 10 --checkpoint %s --fresh", graphrun, tmpdir, tmpdir, tmpdir, a));
    free(out);
    assert_same_checkpoint(a, b);
}

static void test_sigint_then_resume(void **state)
{
    (void)state;
    char ck[512], ref[512], log[512], gb[512];
    path_in(ck, sizeof ck, "sig.gbc");
    path_in(ref, sizeof ref, "sig_ref.gbc");
    path_in(log, sizeof log, "sig.log");
    path_in(gb, sizeof gb, "tiny.gb");
    char dx[600], dy[600];
    snprintf(dx, sizeof dx, "x=%s/x.npy", tmpdir);
    snprintf(dy, sizeof dy, "y=%s/y.npy", tmpdir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        (void)f;
        execl(graphrun, graphrun, "train", gb, "--data", dx, "--data", dy, "--batch", "16", "--seed", "5", "--threads",
              "1", "--steps", "100000000", "--checkpoint", ck, (char *)NULL);
        _exit(127);
    }
    /* wait until it has saved once (end of the first epoch), then Ctrl-C */
    struct timespec ms50 = { 0, 50 * 1000 * 1000 };
    for (int i = 0; i < 400 && access(ck, R_OK) != 0; i++)
        nanosleep(&ms50, NULL);
    assert_int_equal(access(ck, R_OK), 0);
    nanosleep(&ms50, NULL);
    assert_int_equal(kill(pid, SIGINT), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    char *out = slurp(log, NULL);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 130 || !strstr(out, "interrupted at step"))
        fail_msg("expected exit 130 and 'interrupted at step', got status %d:\n%s", status, out);
    free(out);
    int64_t k = checkpoint_step(ck);
    assert_true(k >= 6);
    /* an uninterrupted run to the same step: the same state */
    out = tu_expect_ok("reference",
            tu_run(TRAIN_NPY " --steps %lld --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir,
                   (long long)k, ref));
    free(out);
    assert_same_checkpoint(ck, ref);
    /* and both resumed 13 more steps */
    out = tu_expect_ok("resume interrupted",
            tu_run(TRAIN_NPY " --steps %lld --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir,
                   (long long)k + 13, ck));
    free(out);
    out = tu_expect_ok("resume reference",
            tu_run(TRAIN_NPY " --steps %lld --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir,
                   (long long)k + 13, ref));
    free(out);
    assert_same_checkpoint(ck, ref);
}

/* The same seed: the same loss at every step, to the last printed digit
 * (%.6g; the checkpoint test compares the weights bit for bit). */
static void test_same_seed_same_losses(void **state)
{
    (void)state;
    char *o1, *o2, *o3;
    o1 = tu_expect_ok("1", tu_run(TRAIN_NPY " --steps 30 --log-every 1", graphrun, tmpdir, tmpdir, tmpdir));
    o2 = tu_expect_ok("2", tu_run(TRAIN_NPY " --steps 30 --log-every 1", graphrun, tmpdir, tmpdir, tmpdir));
    o3 = tu_expect_ok("3",
            tu_run("%s train %s/tiny.gb --data x=%s/x.npy --data y=%s/y.npy --batch 16 --seed 6 --threads 1"
                   " --steps 30 --log-every 1", graphrun, tmpdir, tmpdir, tmpdir));
    /* compare "loss <v>" fields of every step line */
    int lines = 0;
    char *p1 = o1, *p2 = o2, *p3 = o3;
    int differs_from_other_seed = 0;
    for (;;) {
        p1 = strstr(p1, "\nstep ");
        p2 = strstr(p2, "\nstep ");
        p3 = strstr(p3, "\nstep ");
        if (!p1 || !p2 || !p3)
            break;
        p1 = strstr(p1, " loss ");
        p2 = strstr(p2, " loss ");
        p3 = strstr(p3, " loss ");
        double a = strtod(p1 + 6, &p1), b = strtod(p2 + 6, &p2), c = strtod(p3 + 6, &p3);
        if (a != b)
            fail_msg("line %d: loss %.9g vs %.9g with the same seed", lines, a, b);
        differs_from_other_seed |= a != c;
        lines++;
    }
    assert_true(p1 == NULL && p2 == NULL);
    assert_int_equal(lines, 30);
    assert_true(differs_from_other_seed);
    free(o1);
    free(o2);
    free(o3);
}

static double field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p)
        fail_msg("no '%s' in:\n%s", key, text);
    return strtod(p + strlen(key), NULL);
}

/* IDX data (one file gzip), test evaluation, TensorBoard: the printed test
 * accuracy equals the one computed here from the saved checkpoint. */
static void test_idx_eval_tensorboard(void **state)
{
    (void)state;
    char ck[512], logdir[512], *out;
    path_in(ck, sizeof ck, "idx.gbc");
    path_in(logdir, sizeof logdir, "runs");
    out = tu_expect_ok("idx", tu_run(
                 "%s train %s/tiny.gb --data x=%s/train-images-idx3-ubyte --data y=%s/train-labels-idx1-ubyte"
                 " --test-data x=%s/t10k-images-idx3-ubyte.gz --test-data y=%s/t10k-labels-idx1-ubyte"
                 " --batch 16 --epochs 8 --seed 1 --threads 1 --checkpoint %s --logdir %s",
                 graphrun, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, ck, logdir));
    if (!strstr(out, "u8 -> f32 scaled by 1/255") || !strstr(out, "rows [2, 2] as [1, 2, 2]") ||
        !strstr(out, "epoch 8  step 48"))
        fail_msg("conversion notes or epoch lines missing:\n%s", out);
    double acc = field(strstr(out, "epoch 8  step 48"), "accuracy ");
    double tloss = field(strstr(out, "epoch 8  step 48"), "test_loss ");
    double acc1 = field(strstr(out, "epoch 1  step 6"), "accuracy ");
    free(out);

    /* recompute through the API: restore the checkpoint, run predict */
    char gb[512], err[512];
    path_in(gb, sizeof gb, "tiny.gb");
    rt_model *m;
    rt_session *s;
    assert_int_equal(rt_model_load_file(gb, &m, err, sizeof err), RT_OK);
    assert_int_equal(rt_session_create(m, NULL, &s, err, sizeof err), RT_OK);
    int64_t step;
    assert_int_equal(rt_checkpoint_restore(s, ck, &step, err, sizeof err), RT_OK);
    assert_int_equal(step, 48);
    uint8_t tpix[N_TEST * 4];
    int32_t tlab[N_TEST];
    float xf[N_TEST * 4];
    make_data(N_TEST, 99, tpix, tlab);
    for (int i = 0; i < N_TEST * 4; i++)
        xf[i] = (float)tpix[i] / 255.0f;
    rt_tensor feeds[2] = { { .dtype = RT_F32, .rank = 4, .dims = { N_TEST, 1, 2, 2 }, .data = xf },
                           { .dtype = RT_I32, .rank = 1, .dims = { N_TEST }, .data = tlab } };
    const char *fn[2] = { "x", "y" }, *fetch[2] = { "logits", "loss" };
    rt_tensor got[2];
    assert_int_equal(rt_session_run_entry(s, "predict", 2, fn, feeds, 2, fetch, got), RT_OK);
    int correct = 0;
    const float *lg = got[0].data;
    for (int r = 0; r < N_TEST; r++) {
        int best = 0;
        for (int c = 1; c < 3; c++)
            if (lg[r * 3 + c] > lg[r * 3 + best])
                best = c;
        correct += best == tlab[r];
    }
    double want = (double)correct / N_TEST;
    if (acc < want - 1e-4 || acc > want + 1e-4)
        fail_msg("printed accuracy %.4f, recomputed %.4f", acc, want);
    /* 40 rows in batches of 16, 16 and 8: the row-weighted mean of 3 batch
     * losses; here one batch of 40 */
    double lv = *(const float *)got[1].data;
    if (tloss < lv - 1e-4 * (1 + lv) || tloss > lv + 1e-4 * (1 + lv))
        fail_msg("printed test loss %.6g, recomputed %.6g", tloss, lv);
    assert_true(acc > acc1 || acc >= 0.9); /* it learned */
    rt_session_free(s);
    rt_model_free(m);

    /* the event file: one, with the scalars TensorBoard shows */
    DIR *d = opendir(logdir);
    assert_non_null(d);
    struct dirent *e;
    char ev[1024] = "";
    int n_files = 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "events.out.tfevents.", 20) == 0) {
            snprintf(ev, sizeof ev, "%s/%s", logdir, e->d_name);
            n_files++;
        }
    closedir(d);
    assert_int_equal(n_files, 1);
    size_t len;
    char *bytes = slurp(ev, &len);
    const char *tags[] = { "loss", "learning_rate", "test_loss", "accuracy", "examples_per_sec" };
    for (int t = 0; t < 5; t++) {
        int found = 0;
        size_t tl = strlen(tags[t]);
        /* a Summary.Value tag: field 1, length tl, then the bytes */
        for (size_t i = 0; i + tl + 2 <= len && !found; i++)
            found = (unsigned char)bytes[i] == 0x0a && (size_t)(unsigned char)bytes[i + 1] == tl &&
                    memcmp(bytes + i + 2, tags[t], tl) == 0;
        if (!found)
            fail_msg("no scalar '%s' in %s", tags[t], ev);
    }
    free(bytes);
}

/* 96 rows in batches of 40: steps of 40, 40 and 16 rows per epoch (as
 * PyTorch's DataLoader), or 2 steps with --drop-last; the weights equal
 * train steps run here through the C API on the same rows. */
static void test_partial_batch(void **state)
{
    (void)state;
    char ck[512], gb[512], x[512], y[512], err[512], *out;
    path_in(ck, sizeof ck, "partial.gbc");
    out = tu_expect_ok("partial",
            tu_run("%s train %s/tiny.gb --data x=%s/x.npy --data y=%s/y.npy --batch 40 --epochs 2 "
                   "--no-shuffle --threads 1 --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir, ck));
    if (!strstr(out, "3 steps per epoch (batch 40, the last of 16 rows), 6 steps in all"))
        fail_msg("%s", out);
    free(out);
    path_in(gb, sizeof gb, "tiny.gb");
    path_in(x, sizeof x, "x.npy");
    path_in(y, sizeof y, "y.npy");
    rt_model *m;
    rt_session *s;
    rt_tensor tx, ty;
    assert_int_equal(rt_model_load_file(gb, &m, err, sizeof err), RT_OK);
    rt_session_options o = rt_session_options_default();
    o.n_threads = 1;
    assert_int_equal(rt_session_create(m, &o, &s, err, sizeof err), RT_OK);
    assert_int_equal(rt_npy_load(x, &tx, err, sizeof err), RT_OK);
    assert_int_equal(rt_npy_load(y, &ty, err, sizeof err), RT_OK);
    static const int first[3] = { 0, 40, 80 }, count[3] = { 40, 40, 16 };
    for (int step = 0; step < 6; step++) {
        int k = step % 3;
        rt_tensor f[2] = { tx, ty };
        f[0].dims[0] = f[1].dims[0] = count[k];
        f[0].data = (float *)tx.data + first[k] * 4;
        f[1].data = (int32_t *)ty.data + first[k];
        const char *names[2] = { "x", "y" };
        rt_tensor loss;
        assert_int_equal(rt_session_run_entry(s, "train", 2, names, f, 0, NULL, &loss), RT_OK);
    }
    char mine[512];
    path_in(mine, sizeof mine, "partial_api.gbc");
    assert_int_equal(rt_checkpoint_save(s, mine, 6, err, sizeof err), RT_OK);
    assert_same_checkpoint(ck, mine);
    free(tx.data);
    free(ty.data);
    rt_session_free(s);
    rt_model_free(m);
    out = tu_expect_ok("drop last",
            tu_run("%s train %s/tiny.gb --data x=%s/x.npy --data y=%s/y.npy --batch 40 --epochs 2 "
                   "--drop-last --threads 1", graphrun, tmpdir, tmpdir, tmpdir));
    if (!strstr(out, "2 steps per epoch (batch 40, 16 rows left out per epoch), 4 steps in all"))
        fail_msg("%s", out);
    free(out);
}

static void test_lr_schedule(void **state)
{
    (void)state;
    char *out;
    /* 6 steps per epoch; step:1:0.5 halves each epoch */
    out = tu_expect_ok("step schedule",
            tu_run("%s train %s/tiny_lr.gb --data x=%s/x.npy --data y=%s/y.npy --batch 16 --steps 18 "
                   "--log-every 6 --lr 0.2 --lr-schedule step:1:0.5 --threads 1",
                   graphrun, tmpdir, tmpdir, tmpdir));
    if (!strstr(out, "step 6  epoch 1  ") || field(strstr(out, "step 6  "), "lr ") != 0.2 ||
        field(strstr(out, "step 12  "), "lr ") != 0.1 || field(strstr(out, "step 18  "), "lr ") != 0.05)
        fail_msg("lr not halved per epoch:\n%s", out);
    free(out);
    /* cosine: lr of the last logged step is small, the first is near base */
    out = tu_expect_ok("cosine",
            tu_run("%s train %s/tiny_lr.gb --data x=%s/x.npy --data y=%s/y.npy --batch 16 --steps 20 "
                   "--log-every 1 --lr 0.2 --lr-schedule cosine --threads 1",
                   graphrun, tmpdir, tmpdir, tmpdir));
    double first = field(strstr(out, "step 1  "), "lr "), last = field(strstr(out, "step 20  "), "lr ");
    assert_true(first > 0.19 && first <= 0.2);
    assert_true(last > 0 && last < 0.01);
    free(out);
    /* a graph whose lr is compiled in refuses --lr; a fed lr needs it */
    expect_err(tu_run(TRAIN_NPY " --steps 2 --lr 0.1", graphrun, tmpdir, tmpdir, tmpdir),
               "learning rate 0.05 compiled in");
    expect_err(tu_run("%s train %s/tiny_lr.gb --data x=%s/x.npy --data y=%s/y.npy --batch 16", graphrun, tmpdir,
                   tmpdir, tmpdir), "feeds its learning rate from input 'lr'");
}

static void test_errors(void **state)
{
    (void)state;
    char *out, p[512];
    expect_err(tu_run("%s train %s/tiny.gb --data x=%s/x.npy --batch 16", graphrun, tmpdir, tmpdir),
               "needs input 'y': give --data y=FILE");
    expect_err(tu_run("%s train %s/tiny.gb --data x=%s/x.npy --data z=%s/y.npy --batch 16", graphrun, tmpdir,
                   tmpdir, tmpdir), "the model has no input 'z' (its inputs: x, y)");
    expect_err(tu_run("%s train %s/tiny.gb --data x=%s/y.npy --data y=%s/y.npy --batch 16", graphrun, tmpdir,
                   tmpdir, tmpdir), "cannot feed input 'x'");
    expect_err(tu_run("%s train %s/tiny.gb --data x=%s/x.npy --data y=%s/x.npy --batch 16", graphrun, tmpdir,
                   tmpdir, tmpdir), "cannot feed input 'y'");
    expect_err(tu_run("%s train %s/tiny.gb --data x=%s/x.npy --data y=%s/t10k-labels-idx1-ubyte --batch 16",
                   graphrun, tmpdir, tmpdir, tmpdir), "has 40 rows but");
    expect_err(tu_run("%s train %s/tiny.gb --data x=%s/x.npy --data y=%s/y.npy --batch 500 --drop-last", graphrun,
                   tmpdir, tmpdir, tmpdir), "fewer than one batch");
    expect_err(tu_run("%s train %s/plain.gb --data x=%s/x.npy --batch 16", graphrun, tmpdir, tmpdir),
               "has no training");
    /* a file that is neither .npy nor IDX; a missing file */
    path_in(p, sizeof p, "junk.bin");
    tu_write_file(p, "this is not a tensor file at all", 32);
    expect_err(tu_run("%s train %s/tiny.gb --data x=%s --data y=%s/y.npy --batch 16", graphrun, tmpdir, p, tmpdir),
               "is a .npy file or an IDX file");
    expect_err(tu_run("%s train %s/tiny.gb --data x=%s/nope.npy --data y=%s/y.npy --batch 16", graphrun, tmpdir,
                   tmpdir, tmpdir), "No such file");
    /* a checkpoint of another graph: refused, names the param, not replaced */
    char ck[512], err[512];
    path_in(ck, sizeof ck, "other.gbc");
    out = tu_expect_ok("lr ck",
            tu_run("%s train %s/tiny_lr.gb --data x=%s/x.npy --data y=%s/y.npy --batch 16 --steps 3 "
                   "--lr 0.1 --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir, ck));
    free(out);
    size_t len0;
    char *before = slurp(ck, &len0);
    expect_err(tu_run(TRAIN_NPY " --steps 3 --checkpoint %s", graphrun, tmpdir, tmpdir, tmpdir, ck),
               "param 'b'");
    size_t len1;
    char *after = slurp(ck, &len1);
    assert_true(len0 == len1 && memcmp(before, after, len0) == 0);
    free(before);
    free(after);
    rt_checkpoint *c;
    assert_int_equal(rt_checkpoint_load_file(ck, &c, err, sizeof err), RT_OK);
    rt_checkpoint_free(c);
    /* bad options */
    expect_err(tu_run(TRAIN_NPY " --steps 3 --epochs 1", graphrun, tmpdir, tmpdir, tmpdir),
               "--steps or --epochs, not both");
    expect_err(tu_run(TRAIN_NPY " --lr-schedule linear", graphrun, tmpdir, tmpdir, tmpdir),
               "expected constant, cosine or step");
    expect_err(tu_run(TRAIN_NPY " --batch 0", graphrun, tmpdir, tmpdir, tmpdir), "--batch: expected");
    expect_err(tu_run(TRAIN_NPY " --fresh", graphrun, tmpdir, tmpdir, tmpdir), "--fresh goes with");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_equals_uninterrupted),
        cmocka_unit_test(test_sigint_then_resume),
        cmocka_unit_test(test_same_seed_same_losses),
        cmocka_unit_test(test_idx_eval_tensorboard),
        cmocka_unit_test(test_partial_batch),
        cmocka_unit_test(test_lr_schedule),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
