/* graphc/init.c -- param initializers (see init.h). */
#include "init.h"
#include "graphrt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *name; gc_init_kind kind; } inits[] = {
    { "zeros", GI_ZEROS }, { "ones", GI_ONES }, { "fill", GI_FILL },
    { "normal", GI_NORMAL }, { "uniform", GI_UNIFORM }, { "trunc_normal", GI_TRUNC_NORMAL },
    { "glorot_uniform", GI_GLOROT_UNIFORM }, { "xavier_uniform", GI_GLOROT_UNIFORM },
    { "glorot_normal", GI_GLOROT_NORMAL }, { "xavier_normal", GI_GLOROT_NORMAL },
    { "he_uniform", GI_HE_UNIFORM }, { "kaiming_uniform", GI_HE_UNIFORM },
    { "he_normal", GI_HE_NORMAL }, { "kaiming_normal", GI_HE_NORMAL },
    { "load", GI_LOAD },
};

int gc_init_find(const char *name)
{
    for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++)
        if (strcmp(inits[i].name, name) == 0)
            return (int)inits[i].kind;
    return -1;
}

const char *gc_init_names(void)
{
    return "zeros, ones, fill, normal, uniform, trunc_normal, glorot_uniform (xavier_uniform), "
           "glorot_normal (xavier_normal), he_uniform (kaiming_uniform), he_normal (kaiming_normal), load";
}

typedef struct rng { uint64_t s[4]; } rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* Uniform in [0, 1) with 53 bits. */
static double next_double(rng *r) { return (double)(next_u64(r) >> 11) * 0x1.0p-53; }

static double next_normal(rng *r)
{
    double u1 = next_double(r), u2 = next_double(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void fans(const op_type *t, double *fan_in, double *fan_out)
{
    /* PyTorch: fan_in = size(1) * receptive field, fan_out = size(0) * receptive field. */
    if (t->rank == 0) {
        *fan_in = *fan_out = 1;
        return;
    }
    if (t->rank == 1) {
        *fan_in = *fan_out = (double)t->dims[0].coef;
        return;
    }
    double rf = 1;
    for (int i = 2; i < t->rank; i++)
        rf *= (double)t->dims[i].coef;
    *fan_in = (double)t->dims[1].coef * rf;
    *fan_out = (double)t->dims[0].coef * rf;
}

static void store(op_dtype dt, void *data, int64_t i, double v)
{
    switch (dt) {
    case OP_F32: ((float *)data)[i] = (float)v; break;
    case OP_F64: ((double *)data)[i] = v; break;
    case OP_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    case OP_I64: ((int64_t *)data)[i] = (int64_t)v; break;
    case OP_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    case OP_U8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case OP_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    default: break;
    }
}

static int load_npy(const gc_init *spec, const op_type *t, void *data, int64_t n, char *err, size_t err_len)
{
    rt_tensor x;
    char msg[400];
    if (rt_npy_load(spec->path, &x, msg, sizeof msg) != RT_OK) {
        op_set_err(err, err_len, "%s", msg);
        return -1;
    }
    int same = (int)x.dtype == (int)t->dtype && x.rank == t->rank;
    for (int i = 0; same && i < t->rank; i++)
        same = x.dims[i] == t->dims[i].coef;
    if (!same) {
        char want[300], got[300];
        op_type_str(t, NULL, want, sizeof want);
        op_type gt = { (op_dtype)x.dtype, x.rank, { { 0, 0 } } };
        for (int i = 0; i < x.rank && i < OP_MAX_RANK; i++)
            gt.dims[i] = op_dim_const(x.dims[i]);
        op_type_str(&gt, NULL, got, sizeof got);
        op_set_err(err, err_len, "'%s' holds %s but the param is declared %s", spec->path, got, want);
        free(x.data);
        return -1;
    }
    memcpy(data, x.data, (size_t)n * op_dtype_size(t->dtype));
    free(x.data);
    return 0;
}

int gc_init_fill(const gc_init *spec, const op_type *t, const char *name, void *data, char *err, size_t err_len)
{
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= t->dims[i].coef;
    if (spec->kind == GI_LOAD)
        return load_npy(spec, t, data, n, err, err_len);
    rng r;
    uint64_t seed = spec->seed;
    if (!spec->has_seed) { /* FNV-1a of the full name */
        seed = 1469598103934665603ull;
        for (const char *p = name; *p; p++)
            seed = (seed ^ (uint8_t)*p) * 1099511628211ull;
    }
    for (int i = 0; i < 4; i++)
        r.s[i] = splitmix(&seed);
    double fi, fo;
    fans(t, &fi, &fo);
    int is_float = op_dtype_is_float(t->dtype);
    if (!is_float && spec->kind != GI_ZEROS && spec->kind != GI_ONES && spec->kind != GI_FILL) {
        op_set_err(err, err_len, "random initializers need a float param (f32 or f64), not %s",
                   op_dtype_name(t->dtype));
        return -1;
    }
    double lo = 0, hi = 0, mean = 0, std = 0;
    int normal = 0;
    switch (spec->kind) {
    case GI_ZEROS: case GI_ONES: case GI_FILL: {
        double v = spec->kind == GI_ZEROS ? 0 : spec->kind == GI_ONES ? 1 : spec->a;
        for (int64_t i = 0; i < n; i++)
            store(t->dtype, data, i, v);
        return 0;
    }
    case GI_NORMAL: case GI_TRUNC_NORMAL: normal = 1; mean = spec->a; std = spec->b; break;
    case GI_UNIFORM: lo = spec->a; hi = spec->b; break;
    case GI_GLOROT_UNIFORM: hi = spec->a * sqrt(6.0 / (fi + fo)); lo = -hi; break;
    case GI_GLOROT_NORMAL: normal = 1; std = spec->a * sqrt(2.0 / (fi + fo)); break;
    case GI_HE_UNIFORM: case GI_HE_NORMAL: {
        double gain = sqrt(2.0 / (1.0 + spec->a * spec->a));
        double fan = spec->fan_out_mode ? fo : fi;
        std = gain / sqrt(fan > 0 ? fan : 1);
        if (spec->kind == GI_HE_UNIFORM) {
            hi = sqrt(3.0) * std;
            lo = -hi;
        } else {
            normal = 1;
        }
        break;
    }
    case GI_LOAD: break;
    }
    if (std < 0 || hi < lo) {
        op_set_err(err, err_len, "initializer needs std >= 0 and low <= high");
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        double v;
        if (normal) {
            v = next_normal(&r);
            if (spec->kind == GI_TRUNC_NORMAL)
                while (v < -2 || v > 2)
                    v = next_normal(&r);
            v = mean + std * v;
        } else {
            v = lo + (hi - lo) * next_double(&r);
        }
        store(t->dtype, data, i, v);
    }
    return 0;
}
