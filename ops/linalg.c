/* ops/linalg.c -- matrix multiplication: shape inference (2-D and batched,
 * NumPy-broadcast batch dims, symbolic dims) and the CPU kernel. f32 goes
 * through oneDNN's dnnl_sgemm (row-major, OpenMP threads); f64 uses a blocked
 * C loop. Rank-1 operands are rejected (no NumPy vector promotion). Also the
 * fused epilogue (bias + activation, ops/epilogue.h) shared with conv2d. */
#include "kernels.h"
#include "epilogue.h"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <string.h>

#define TSTR_LEN 300

/* Below this many flops per matrix product a batch is split over threads,
 * one product per thread; above it one product uses all threads. */
#define MM_SMALL_FLOPS (1 << 23)
#define MM_PAR_FLOPS (1 << 18) /* f64 loop: smaller products stay serial */

const char *const op_act_names[] = { "none", "relu", "gelu", "gelu_tanh", "sigmoid", "tanh", NULL };

int op_act_check(const char *op, int64_t act, char *err, size_t err_len)
{
    if (act < 0 || act >= OP_ACT_COUNT) {
        op_set_err(err, err_len,
                   "%s: activation must be 0..%d (none, relu, gelu, gelu_tanh, sigmoid, tanh), got %lld",
                   op, OP_ACT_COUNT - 1, (long long)act);
        return -1;
    }
    return 0;
}

int op_epilogue(op_dtype dt, void *y, int64_t rows, int64_t cols, const void *bias,
                int bias_per_row, int act, char *err, size_t err_len)
{
    if (rows <= 0 || cols <= 0 || (!bias && act == OP_ACT_NONE))
        return 0;
    if ((dt != OP_F32 && dt != OP_F64) || op_act_check("epilogue", act, err, err_len))
        return -1;
    op_ctx c;
    memset(&c, 0, sizeof c);
    c.n_threads = 1;
    op_tensor t = { .dtype = dt, .rank = 2, .dims = { rows, cols }, .data = y };
    int rc = 0;
    if (bias) {
        op_tensor in[2] = { t, { .dtype = dt, .data = (void *)(uintptr_t)bias } };
        if (bias_per_row) {
            in[1].rank = 2;
            in[1].dims[0] = rows;
            in[1].dims[1] = 1;
        } else {
            in[1].rank = 1;
            in[1].dims[0] = cols;
        }
        rc = op_cpu_add(&c, NULL, in, 2, &t, 1);
    }
    op_attr ga[OP_MAX_ATTRS];
    memset(ga, 0, sizeof ga);
    ga[0].i = act == OP_ACT_GELU_TANH;
    if (rc == 0)
        switch (act) {
        case OP_ACT_RELU: rc = op_cpu_relu(&c, NULL, &t, 1, &t, 1); break;
        case OP_ACT_GELU:
        case OP_ACT_GELU_TANH: rc = op_cpu_gelu(&c, ga, &t, 1, &t, 1); break;
        case OP_ACT_SIGMOID: rc = op_cpu_sigmoid(&c, NULL, &t, 1, &t, 1); break;
        case OP_ACT_TANH: rc = op_cpu_tanh(&c, NULL, &t, 1, &t, 1); break;
        default: break;
        }
    if (rc != 0)
        op_set_err(err, err_len, "%s", c.err);
    return rc ? -1 : 0;
}

/* About 32 KiB: the add and the activation pass over a block in L1. */
#define EPI_BLOCK_ELEMS 8192

/* op_epilogue over y[rows, cols] in row blocks spread over nt threads
 * (bias per column). Returns 0, or -1 with err set. */
static int epilogue_par(op_dtype dt, void *y, int64_t rows, int64_t cols, const void *bias, int act,
                        int nt, char *err, size_t err_len)
{
    if (rows <= 0 || cols <= 0 || (!bias && act == OP_ACT_NONE))
        return 0;
    size_t esz = op_dtype_size(dt);
    int64_t rb = cols >= EPI_BLOCK_ELEMS ? 1 : EPI_BLOCK_ELEMS / cols;
    int64_t n_blocks = (rows + rb - 1) / rb;
    int par = nt > 1 && n_blocks > 1 && rows * cols >= 4 * EPI_BLOCK_ELEMS;
    int status = 0;
#pragma omp parallel for num_threads(nt) if (par) schedule(static)
    for (int64_t b = 0; b < n_blocks; b++) {
        int64_t r0 = b * rb, r1 = r0 + rb < rows ? r0 + rb : rows;
        char e[OP_ERR_LEN];
        if (op_epilogue(dt, (char *)y + (size_t)(r0 * cols) * esz, r1 - r0, cols, bias, 0, act, e,
                        sizeof e) != 0) {
#pragma omp critical(op_epilogue_err)
            {
                if (!status)
                    op_set_err(err, err_len, "matmul: %s", e);
                status = -1;
            }
        }
    }
    return status;
}

OP_INFER(op_infer_matmul)
{
    if (n_in < 2 || n_in > 3 || n_out != 1) {
        op_set_err(err, err_len, "matmul: expects a, b, optional bias and 1 output (got %d and %d)", n_in,
                   n_out);
        return -1;
    }
    const op_type *a = &in[0], *b = &in[1];
    char sa[TSTR_LEN], sb[TSTR_LEN];
    op_type_str(a, NULL, sa, sizeof sa);
    op_type_str(b, NULL, sb, sizeof sb);
    int64_t ta = attrs[0].i, tb = attrs[1].i;
    if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1)) {
        op_set_err(err, err_len, "matmul: trans_a and trans_b must be 0 or 1 (got %lld and %lld)",
                   (long long)ta, (long long)tb);
        return -1;
    }
    if (a->dtype != b->dtype) {
        op_set_err(err, err_len, "matmul: operand dtypes differ: %s @ %s", sa, sb);
        return -1;
    }
    if (a->dtype != OP_F32 && a->dtype != OP_F64) {
        op_set_err(err, err_len, "matmul supports f32 and f64, got %s @ %s", sa, sb);
        return -1;
    }
    if (a->rank < 2 || b->rank < 2 || a->rank > OP_MAX_RANK || b->rank > OP_MAX_RANK) {
        op_set_err(err, err_len,
                   "matmul: operands need rank 2 to %d (vectors are not promoted; reshape them): %s @ %s",
                   OP_MAX_RANK, sa, sb);
        return -1;
    }
    int ra = a->rank, rb = b->rank;
    op_dim m = ta ? a->dims[ra - 1] : a->dims[ra - 2];
    op_dim ka = ta ? a->dims[ra - 2] : a->dims[ra - 1];
    op_dim kb = tb ? b->dims[rb - 1] : b->dims[rb - 2];
    op_dim n = tb ? b->dims[rb - 2] : b->dims[rb - 1];
    if (!op_dim_eq(ka, kb)) {
        op_set_err(err, err_len, "matmul: inner dimensions differ: %s @ %s%s%s", sa, sb,
                   ta ? " (trans_a)" : "", tb ? " (trans_b)" : "");
        return -1;
    }
    op_type o;
    memset(&o, 0, sizeof o);
    o.dtype = a->dtype;
    int ba = ra - 2, bb = rb - 2, r = ba > bb ? ba : bb;
    o.rank = r + 2;
    for (int i = 0; i < r; i++) {
        int ia = ba - r + i, ib = bb - r + i;
        op_dim da = ia >= 0 ? a->dims[ia] : op_dim_const(1);
        op_dim db = ib >= 0 ? b->dims[ib] : op_dim_const(1);
        if (op_dim_eq(da, db) || op_dim_is(db, 1))
            o.dims[i] = da;
        else if (op_dim_is(da, 1))
            o.dims[i] = db;
        else {
            op_set_err(err, err_len, "matmul: batch dimensions cannot be broadcast: %s @ %s", sa, sb);
            return -1;
        }
    }
    o.dims[r] = m;
    o.dims[r + 1] = n;
    if (n_in > 2) {
        const op_type *bias = &in[2];
        if (bias->dtype != a->dtype || bias->rank != 1 || !op_dim_eq(bias->dims[0], n)) {
            char sbias[TSTR_LEN], so[TSTR_LEN];
            op_type want = { a->dtype, 1, { n } };
            op_type_str(bias, NULL, sbias, sizeof sbias);
            op_type_str(&want, NULL, so, sizeof so);
            op_set_err(err, err_len, "matmul: bias must be %s (the last output dim) for %s @ %s, got %s", so, sa,
                       sb, sbias);
            return -1;
        }
    }
    if (op_act_check("matmul", attrs[2].i, err, err_len) != 0)
        return -1;
    out[0] = o;
    return 0;
}

/* The kernel re-runs inference on the concrete shapes: a caller that passes
 * tensors not matching the op gets an error, never an out-of-bounds access. */
static int mm_check(op_ctx *ctx, const op_attr *attrs, const op_tensor *in, int n_in,
                    const op_tensor *out, int n_out)
{
    if (n_in < 2 || n_in > 3 || n_out != 1) {
        op_set_err(ctx->err, sizeof ctx->err, "matmul: expects 2 or 3 inputs and 1 output");
        return -1;
    }
    for (int i = 0; i <= n_in; i++) {
        const op_tensor *t = i < n_in ? &in[i] : &out[0];
        if (t->rank < 0 || t->rank > OP_MAX_RANK) {
            op_set_err(ctx->err, sizeof ctx->err, "matmul: bad tensor rank %d", t->rank);
            return -1;
        }
    }
    op_type ti[3], to;
    for (int i = 0; i < n_in; i++)
        op_type_from_tensor(&in[i], &ti[i]);
    if (op_infer_matmul(attrs, ti, n_in, &to, 1, ctx->err, sizeof ctx->err) != 0)
        return -1;
    op_type got;
    op_type_from_tensor(&out[0], &got);
    if (!op_type_eq(&to, &got)) {
        char se[TSTR_LEN], sg[TSTR_LEN];
        op_type_str(&to, NULL, se, sizeof se);
        op_type_str(&got, NULL, sg, sizeof sg);
        op_set_err(ctx->err, sizeof ctx->err, "matmul: output is %s, expected %s", sg, se);
        return -1;
    }
    return 0;
}

/* Batch layout: out batch dims od[0..r-1]; element offsets of the a and b
 * matrices for each out batch dim (0 where that operand is broadcast). */
typedef struct mm_plan {
    int64_t M, N, K, nb;
    int ta, tb, r;
    int64_t od[OP_MAX_RANK], sa[OP_MAX_RANK], sb[OP_MAX_RANK];
} mm_plan;

static void mm_plan_make(const op_attr *attrs, const op_tensor *a, const op_tensor *b,
                         const op_tensor *o, mm_plan *p)
{
    memset(p, 0, sizeof *p);
    p->ta = attrs[0].i != 0;
    p->tb = attrs[1].i != 0;
    p->M = o->dims[o->rank - 2];
    p->N = o->dims[o->rank - 1];
    p->K = p->ta ? a->dims[a->rank - 2] : a->dims[a->rank - 1];
    p->r = o->rank - 2;
    p->nb = 1;
    int64_t step_a = p->M * p->K, step_b = p->K * p->N;
    for (int i = p->r - 1; i >= 0; i--) {
        int ia = a->rank - 2 - p->r + i, ib = b->rank - 2 - p->r + i;
        p->od[i] = o->dims[i];
        p->nb *= o->dims[i];
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        p->sa[i] = da == 1 ? 0 : step_a;
        p->sb[i] = db == 1 ? 0 : step_b;
        step_a *= da;
        step_b *= db;
    }
}

static void mm_offsets(const mm_plan *p, int64_t t, int64_t *oa, int64_t *ob)
{
    int64_t a = 0, b = 0;
    for (int i = p->r - 1; i >= 0; i--) {
        int64_t idx = t % p->od[i];
        t /= p->od[i];
        a += idx * p->sa[i];
        b += idx * p->sb[i];
    }
    *oa = a;
    *ob = b;
}

/* C[M,N] = op(A) @ op(B), overwriting C, in double precision. A is [M,K]
 * ([K,M] when ta), B is [K,N] ([N,K] when tb), all row-major. Blocked so the
 * B block in use stays in L2; row blocks are spread over nt threads. */
#define DMB 32
#define DKB 128
#define DNB 256
static void dgemm_blocked(int ta, int tb, int64_t M, int64_t N, int64_t K, const double *A,
                          const double *B, double *C, int nt)
{
#define AIK(i, k) (ta ? A[(k) * M + (i)] : A[(i) * K + (k)])
    int64_t n_mb = (M + DMB - 1) / DMB;
    int par = nt > 1 && n_mb > 1 && (double)M * (double)N * (double)K > MM_PAR_FLOPS;
    if (!tb) {
#pragma omp parallel for num_threads(nt) if (par) schedule(static)
        for (int64_t mb = 0; mb < n_mb; mb++) {
            int64_t i0 = mb * DMB, i1 = i0 + DMB < M ? i0 + DMB : M;
            for (int64_t i = i0; i < i1; i++)
                memset(C + i * N, 0, (size_t)N * sizeof *C);
            for (int64_t k0 = 0; k0 < K; k0 += DKB) {
                int64_t k1 = k0 + DKB < K ? k0 + DKB : K;
                for (int64_t j0 = 0; j0 < N; j0 += DNB) {
                    int64_t j1 = j0 + DNB < N ? j0 + DNB : N;
                    for (int64_t i = i0; i < i1; i++) {
                        double *restrict c = C + i * N;
                        for (int64_t k = k0; k < k1; k++) {
                            double aik = AIK(i, k);
                            const double *restrict brow = B + k * N;
#pragma omp simd
                            for (int64_t j = j0; j < j1; j++)
                                c[j] += aik * brow[j];
                        }
                    }
                }
            }
        }
    } else {
#pragma omp parallel for num_threads(nt) if (par) schedule(static)
        for (int64_t mb = 0; mb < n_mb; mb++) {
            int64_t i0 = mb * DMB, i1 = i0 + DMB < M ? i0 + DMB : M;
            for (int64_t j0 = 0; j0 < N; j0 += DMB) {
                int64_t j1 = j0 + DMB < N ? j0 + DMB : N;
                for (int64_t i = i0; i < i1; i++)
                    for (int64_t j = j0; j < j1; j++) {
                        const double *brow = B + j * K;
                        double s = 0.0;
                        if (ta) {
                            for (int64_t k = 0; k < K; k++)
                                s += A[k * M + i] * brow[k];
                        } else {
                            const double *arow = A + i * K;
#pragma omp simd reduction(+ : s)
                            for (int64_t k = 0; k < K; k++)
                                s += arow[k] * brow[k];
                        }
                        C[i * N + j] = s;
                    }
            }
        }
    }
#undef AIK
}

/* One f32 product through oneDNN; 0 or the dnnl status. */
static int sgemm_one(const mm_plan *p, int64_t M, const float *A, const float *B, float *C)
{
    dnnl_status_t st = dnnl_sgemm(p->ta ? 'T' : 'N', p->tb ? 'T' : 'N', M, p->N, p->K, 1.0f, A,
                                  p->ta ? M : p->K, B, p->tb ? p->K : p->N, 0.0f, C, p->N);
    return st == dnnl_success ? 0 : (int)st;
}

/* The epilogue runs after the sgemm of a whole product, in L1-sized row
 * blocks. Splitting a large product into ~1 MiB row chunks (sgemm, then the
 * epilogue on the chunk still in L2) was measured slower, 0.69-0.90x at
 * 1024-4096 rows on 2 threads (oneDNN re-packs B per call and loses its own
 * partitioning; /tmp bench of op_cpu_matmul, fused vs matmul + add + act
 * kernels), and changed the bits of the sum: not done. */

/* matmul: out[..., M, N] = act(op(a)[..., M, K] @ op(b)[..., K, N] + bias[N])
 * where op transposes the last two dims when trans_a / trans_b (attrs 0, 1)
 * is 1; bias (optional 3rd input, [N]) is broadcast over the rows and
 * act = attrs[2] (ops/epilogue.h; 0: none) is applied after it. Batch dims
 * broadcast as NumPy. f32: dnnl_sgemm (float accumulation, blocked by
 * oneDNN); f64: blocked loop, double accumulation. K == 0 gives zeros (then
 * the epilogue). The epilogue runs on each product right after its gemm with the unfused add / activation kernels, so
 * fused and unfused graphs give the same bits.
 * Threads: one big product uses ctx->n_threads; a batch of small products
 * is split over threads, one serial product each. */
OP_KERNEL(op_cpu_matmul)
{
    if (mm_check(ctx, attrs, in, n_in, out, n_out) != 0)
        return -1;
    mm_plan p;
    mm_plan_make(attrs, &in[0], &in[1], &out[0], &p);
    int64_t total = p.nb * p.M * p.N;
    size_t esz = op_dtype_size(out[0].dtype);
    const void *bias = n_in > 2 ? in[2].data : NULL;
    int act = (int)attrs[2].i, epi = bias || act != OP_ACT_NONE;
    int nt = ctx->n_threads > 0 ? ctx->n_threads : 1;
    if (total == 0)
        return 0;
    if (p.K == 0) {
        memset(out[0].data, 0, (size_t)total * esz);
        return epilogue_par(out[0].dtype, out[0].data, total / p.N, p.N, bias, act, nt, ctx->err,
                            sizeof ctx->err);
    }
    /* b shared by the whole batch and a not transposed: one product with
     * the batch folded into M (the common x[B, T, D] @ w[D, E]). */
    int fold = 1;
    for (int i = 0; i < p.r; i++)
        if (p.sb[i] != 0)
            fold = 0;
    if (p.ta)
        fold = 0;
    int64_t nb = fold ? 1 : p.nb, M = fold ? p.M * p.nb : p.M;
    double flops = 2.0 * (double)M * (double)p.N * (double)p.K;
    int batch_par = nt > 1 && nb > 1 && flops < MM_SMALL_FLOPS;
    int status = 0, epi_status = 0;

    if (out[0].dtype == OP_F32) {
        const float *a = in[0].data, *b = in[1].data;
        float *c = out[0].data;
        /* oneDNN runs on the OpenMP pool: it gets nt threads outside any
         * parallel region (even an inactive one, where it slows down) and
         * runs serially inside ours. */
        omp_set_num_threads(nt);
        if (batch_par) {
#pragma omp parallel for num_threads(nt) schedule(static)
            for (int64_t t = 0; t < nb; t++) {
                int64_t oa, ob;
                mm_offsets(&p, t, &oa, &ob);
                float *ct = c + t * M * p.N;
                int st = sgemm_one(&p, M, a + oa, b + ob, ct);
                char e[OP_ERR_LEN];
                if (st == 0 && epi && op_epilogue(OP_F32, ct, M, p.N, bias, 0, act, e, sizeof e) != 0)
                    st = -1;
                if (st != 0) {
#pragma omp atomic write
                    status = st;
                }
            }
        } else {
            for (int64_t t = 0; t < nb && status == 0 && epi_status == 0; t++) {
                int64_t oa, ob;
                mm_offsets(&p, t, &oa, &ob);
                float *ct = c + t * M * p.N;
                status = sgemm_one(&p, M, a + oa, b + ob, ct);
                if (status == 0 && epi)
                    epi_status = epilogue_par(OP_F32, ct, M, p.N, bias, act, nt, ctx->err, sizeof ctx->err);
            }
        }
        if (epi_status != 0)
            return -1;
        if (status != 0) {
            op_set_err(ctx->err, sizeof ctx->err, "matmul: dnnl_sgemm failed (status %d)", status);
            return -1;
        }
    } else {
        const double *a = in[0].data, *b = in[1].data;
        double *c = out[0].data;
        if (batch_par) {
#pragma omp parallel for num_threads(nt) schedule(static)
            for (int64_t t = 0; t < nb; t++) {
                int64_t oa, ob;
                mm_offsets(&p, t, &oa, &ob);
                dgemm_blocked(p.ta, p.tb, M, p.N, p.K, a + oa, b + ob, c + t * M * p.N, 1);
            }
        } else {
            for (int64_t t = 0; t < nb; t++) {
                int64_t oa, ob;
                mm_offsets(&p, t, &oa, &ob);
                dgemm_blocked(p.ta, p.tb, M, p.N, p.K, a + oa, b + ob, c + t * M * p.N, nt);
            }
        }
        if (epi && epilogue_par(OP_F64, c, total / p.N, p.N, bias, act, nt, ctx->err, sizeof ctx->err) != 0)
            return -1;
    }
    return 0;
}
