#!/usr/bin/env python3
"""tests/gen_nn_ref.py -- makes tests/ref/nn_ref.h, the NumPy reference values
for the linear-algebra and neural-network ops (tests/test_ops_linalg.c and
tests/test_ops_nn.c). Inputs are float32 draws from a fixed seed; references
are computed in float64 from those exact values. Pooling follows PyTorch's
CPU loops literally. When PyTorch happens to be importable the conv and pool
references are also checked against it (it is not needed to run this).

    python3 tests/gen_nn_ref.py > tests/ref/nn_ref.h
The attributes of each case are repeated in the C tests (see the comments).
"""
import sys

import numpy as np

rng = np.random.default_rng(20240611)
out = []


def f32(*shape, scale=1.0, shift=0.0):
    return (rng.standard_normal(shape) * scale + shift).astype(np.float32)


def emit(name, arr, ctype, comment=None):
    arr = np.asarray(arr)
    if comment:
        out.append("/* %s */" % comment)
    out.append("static const int64_t %s_shape[] = { %s };" %
               (name, ", ".join(str(d) for d in arr.shape) or "1"))
    fmt = "%.9g" if ctype == "float" else "%.17g"
    vals = [fmt % v for v in arr.astype(np.float64).ravel()]
    if ctype == "float":
        vals = [v + "f" if ("." in v or "e" in v) else v + ".0f" for v in vals]
    lines = []
    for i in range(0, len(vals), 8):
        lines.append("    " + ", ".join(vals[i:i + 8]) + ",")
    out.append("static const %s %s[] = {\n%s\n};" % (ctype, name, "\n".join(lines)))


# ---------------------------------------------------------------- matmul
def matmul_ref(a, b, ta, tb):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if ta:
        a = np.swapaxes(a, -1, -2)
    if tb:
        b = np.swapaxes(b, -1, -2)
    return np.matmul(a, b)


MATMUL = [
    # name, a shape, b shape, trans_a, trans_b
    ("mm_2d", (5, 7), (7, 3), 0, 0),
    ("mm_tt", (7, 5), (3, 7), 1, 1),
    ("mm_bcast", (2, 1, 4, 6), (3, 6, 5), 0, 0),
    ("mm_fold_tb", (3, 4, 6), (5, 6), 0, 1),
    ("mm_ta_bcast", (2, 3, 6, 4), (1, 3, 6, 5), 1, 0),
]
for name, sa, sb, ta, tb in MATMUL:
    a, b = f32(*sa), f32(*sb)
    emit(name + "_a", a, "float", "%s: a%s @ b%s, trans_a=%d trans_b=%d" % (name, sa, sb, ta, tb))
    emit(name + "_b", b, "float")
    emit(name + "_out", matmul_ref(a, b, ta, tb), "double")


# --------------------------------------------------------------- softmax
def softmax_ref(x, axis, log):
    x = x.astype(np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    s = np.sum(e, axis=axis, keepdims=True)
    return (x - m - np.log(s)) if log else e / s


x = f32(3, 5, scale=20.0, shift=1000.0)
x[1] = -x[1]  # a row of large negative values
emit("sm_big_x", x, "float", "softmax / log_softmax, axis -1, large values")
emit("sm_big_out", softmax_ref(x, -1, False), "double")
emit("sm_big_log", softmax_ref(x, -1, True), "double")
x = f32(2, 4, 3, scale=3.0)
emit("sm_ax1_x", x, "float", "softmax / log_softmax, axis 1 (strided)")
emit("sm_ax1_out", softmax_ref(x, 1, False), "double")
emit("sm_ax1_log", softmax_ref(x, 1, True), "double")


# ---------------------------------------------------------------- conv2d
def conv_ref(x, w, b, stride, pad, dil, groups):
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    N, C, H, W = x.shape
    O, Cg, kh, kw = w.shape
    sh, sw = stride
    ph, pw = pad
    dh, dw = dil
    OH = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.zeros((N, O, OH, OW))
    Og = O // groups
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, g * Cg:(g + 1) * Cg,
                           i * dh:i * dh + sh * (OH - 1) + 1:sh,
                           j * dw:j * dw + sw * (OW - 1) + 1:sw]
                y[:, g * Og:(g + 1) * Og] += np.einsum(
                    "nchw,oc->nohw", patch, w[g * Og:(g + 1) * Og, :, i, j])
    if b is not None:
        y += b.astype(np.float64)[None, :, None, None]
    return y


CONV = [
    # name, x shape, w shape, bias, stride, padding, dilation, groups
    ("cv_mix", (2, 4, 7, 8), (6, 2, 3, 3), True, (2, 2), (1, 1), (2, 2), 2),
    ("cv_dw", (2, 3, 6, 6), (6, 1, 3, 3), True, (1, 1), (1, 1), (1, 1), 3),
    ("cv_1x1", (2, 5, 4, 3), (4, 5, 1, 1), True, (1, 1), (0, 0), (1, 1), 1),
    ("cv_asym", (1, 3, 5, 6), (4, 3, 3, 2), False, (1, 2), (2, 0), (1, 1), 1),
    ("cv_dw_s2", (1, 4, 7, 7), (4, 1, 3, 3), False, (2, 2), (1, 1), (1, 1), 4),
]
conv_cases = []
for name, sx, sw, hb, st, pd, dl, gr in CONV:
    x, w = f32(*sx), f32(*sw)
    b = f32(sw[0]) if hb else None
    emit(name + "_x", x, "float", "%s: conv2d x%s w%s bias=%d stride=%s padding=%s dilation=%s groups=%d"
         % (name, sx, sw, hb, st, pd, dl, gr))
    emit(name + "_w", w, "float")
    if hb:
        emit(name + "_b", b, "float")
    y = conv_ref(x, w, b, st, pd, dl, gr)
    emit(name + "_out", y, "double")
    conv_cases.append((x, w, b, st, pd, dl, gr, y))


# ----------------------------------------------------------------- pools
def pool_out(n, k, s, p, d, ceil):
    # PyTorch pooling_output_shape
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    o = num // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def max_pool_ref(x, k, s, p, d, ceil):
    # PyTorch's max_pool2d CPU loop
    N, C, H, W = x.shape
    OH, OW = pool_out(H, k[0], s[0], p[0], d[0], ceil), pool_out(W, k[1], s[1], p[1], d[1], ceil)
    y = np.full((N, C, OH, OW), -np.inf)
    for oh in range(OH):
        hs = oh * s[0] - p[0]
        he = min(hs + (k[0] - 1) * d[0] + 1, H)
        while hs < 0:
            hs += d[0]
        for ow in range(OW):
            ws = ow * s[1] - p[1]
            we = min(ws + (k[1] - 1) * d[1] + 1, W)
            while ws < 0:
                ws += d[1]
            win = x[:, :, hs:he:d[0], ws:we:d[1]].astype(np.float64)
            if win.size:
                y[:, :, oh, ow] = win.max(axis=(2, 3))
    return y


def avg_pool_ref(x, k, s, p, ceil, include_pad):
    # PyTorch's avg_pool2d CPU loop (no dilation)
    N, C, H, W = x.shape
    OH, OW = pool_out(H, k[0], s[0], p[0], 1, ceil), pool_out(W, k[1], s[1], p[1], 1, ceil)
    y = np.zeros((N, C, OH, OW))
    for oh in range(OH):
        for ow in range(OW):
            hs, ws = oh * s[0] - p[0], ow * s[1] - p[1]
            he, we = min(hs + k[0], H + p[0]), min(ws + k[1], W + p[1])
            size = (he - hs) * (we - ws)
            hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, H), min(we, W)
            div = size if include_pad else (he - hs) * (we - ws)
            y[:, :, oh, ow] = x[:, :, hs:he, ws:we].astype(np.float64).sum(axis=(2, 3)) / div
    return y


POOL = [
    # name, kind, x shape, kernel, stride, padding, dilation, ceil_mode, count_include_pad
    ("mp_ceil", "max", (2, 3, 7, 7), (3, 3), (2, 2), (1, 1), (1, 1), 1, 0),
    ("mp_dflt", "max", (1, 2, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), 0, 0),
    ("mp_dflt_ceil", "max", (1, 2, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), 1, 0),
    ("mp_dil", "max", (1, 2, 8, 9), (3, 2), (1, 2), (1, 1), (2, 3), 0, 0),
    ("ap_ceil_inc", "avg", (2, 3, 7, 7), (3, 3), (2, 2), (1, 1), (1, 1), 1, 1),
    ("ap_ceil_exc", "avg", (2, 3, 7, 7), (3, 3), (2, 2), (1, 1), (1, 1), 1, 0),
    ("ap_drop", "avg", (1, 2, 5, 6), (2, 3), (2, 3), (1, 1), (1, 1), 1, 1),
    ("ap_grow", "avg", (1, 2, 6, 6), (3, 3), (2, 2), (0, 0), (1, 1), 1, 1),
]
pool_cases = []
for name, kind, sx, k, s, p, d, cm, cip in POOL:
    x = f32(*sx)
    if kind == "max":
        y = max_pool_ref(x, k, s, p, d, cm)
    else:
        y = avg_pool_ref(x, k, s, p, cm, cip)
    emit(name + "_x", x, "float", "%s: %s_pool2d x%s kernel=%s stride=%s padding=%s dilation=%s "
         "ceil_mode=%d count_include_pad=%d" % (name, kind, sx, k, s, p, d, cm, cip))
    emit(name + "_out", y, "double")
    pool_cases.append((kind, x, k, s, p, d, cm, cip, y))

x = f32(2, 3, 4, 5)
emit("gap_x", x, "float", "global_avg_pool x[2, 3, 4, 5]")
emit("gap_out", x.astype(np.float64).mean(axis=(2, 3), keepdims=True), "double")

# ----------------------------------------------------------------- norms
x = f32(2, 3, 4)
sc, bi, mu = f32(3), f32(3), f32(3)
var = (np.abs(f32(3)) + 0.1).astype(np.float32)
emit("bn_x", x, "float", "batch_norm x[2, 3, 4], eps 1e-5")
for nm, v in (("sc", sc), ("bi", bi), ("mu", mu), ("var", var)):
    emit("bn_" + nm, v, "float")
r = lambda v: v.astype(np.float64)[None, :, None]
emit("bn_out", (x - r(mu)) / np.sqrt(r(var) + 1e-5) * r(sc) + r(bi), "double")


def ln_ref(x, axis, sc, bi, eps):
    x = x.astype(np.float64)
    axes = tuple(range(axis, x.ndim))
    m = x.mean(axis=axes, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    y = (x - m) / np.sqrt(v + eps)
    if sc is not None:
        y = y * sc.astype(np.float64)
    if bi is not None:
        y = y + bi.astype(np.float64)
    return y


x = f32(2, 3, 4, scale=2.0, shift=5.0)
sc, bi = f32(4), f32(4)
emit("ln_x", x, "float", "layer_norm x[2, 3, 4]: axis -1 with scale and bias (eps 1e-5); "
     "axis 1 with scale [3, 4] only (eps 1e-3); axis -2 plain (eps 1e-5)")
emit("ln_sc", sc, "float")
emit("ln_bi", bi, "float")
emit("ln_last_out", ln_ref(x, 2, sc, bi, 1e-5), "double")
sc2 = f32(3, 4)
emit("ln_sc2", sc2, "float")
emit("ln_ax1_out", ln_ref(x, 1, sc2, None, 1e-3), "double")
emit("ln_plain_out", ln_ref(x, 1, None, None, 1e-5), "double")

# ------------------------------------------- optional check against PyTorch
try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None
if torch is not None:
    for x, w, b, st, pd, dl, gr, y in conv_cases:
        t = F.conv2d(torch.from_numpy(x).double(), torch.from_numpy(w).double(),
                     None if b is None else torch.from_numpy(b).double(), st, pd, dl, gr)
        assert np.allclose(t.numpy(), y, atol=1e-12), "conv reference disagrees with PyTorch"
    for kind, x, k, s, p, d, cm, cip, y in pool_cases:
        tx = torch.from_numpy(x).double()
        if kind == "max":
            t = F.max_pool2d(tx, k, s, p, d, ceil_mode=bool(cm))
        else:
            t = F.avg_pool2d(tx, k, s, p, ceil_mode=bool(cm), count_include_pad=bool(cip))
        assert t.shape == y.shape and np.allclose(t.numpy(), y, atol=1e-12), \
            "pool reference disagrees with PyTorch"
    print("gen_nn_ref: conv and pool references agree with PyTorch %s" % torch.__version__,
          file=sys.stderr)

print("/* tests/ref/nn_ref.h -- GENERATED by tests/gen_nn_ref.py (NumPy); do not edit.")
print(" * Reference inputs (float32) and outputs (float64) for tests/test_ops_linalg.c")
print(" * and tests/test_ops_nn.c. Each array NAME has a shape NAME_shape. */")
print("#ifndef TESTS_REF_NN_REF_H\n#define TESTS_REF_NN_REF_H\n\n#include <stdint.h>\n")
print("\n".join(out))
print("\n#endif")
