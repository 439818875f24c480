#!/usr/bin/env python3
"""tests/gen_loss_ref.py -- makes tests/ref/loss_ref.h, the NumPy reference
values of the loss ops (tests/test_ops_loss.c): softmax_cross_entropy and its
gradient, binary_cross_entropy_with_logits and mse_loss, each with
reduction "none", "mean" and "sum" as PyTorch defines them, plus extreme
logits (+-1e4) that must give finite results. Inputs are float32 draws from
a fixed seed; references are computed in float64 from those exact values.

    python3 tests/gen_loss_ref.py > tests/ref/loss_ref.h
"""
import numpy as np

rng = np.random.default_rng(20240917)
out = []


def emit(name, arr, ctype):
    arr = np.asarray(arr)
    out.append("static const int64_t %s_shape[] = { %s };" %
               (name, ", ".join(str(d) for d in arr.shape) or "1"))
    if ctype == "int64_t":
        vals = ["%d" % v for v in arr.ravel()]
    else:
        fmt = "%.9g" if ctype == "float" else "%.17g"
        vals = [fmt % v for v in arr.astype(np.float64).ravel()]
        if ctype == "float":
            vals = [v + "f" if ("." in v or "e" in v) else v + ".0f" for v in vals]
    lines = ["    " + ", ".join(vals[i:i + 8]) + "," for i in range(0, len(vals), 8)]
    out.append("static const %s %s[] = {\n%s\n};" % (ctype, name, "\n".join(lines)))


def reduce3(name, per):
    emit(name + "_none", per, "double")
    emit(name + "_mean", np.array(per.mean()), "double")
    emit(name + "_sum", np.array(per.sum()), "double")


def ce(x, y):
    x = x.astype(np.float64)
    m = x.max(axis=1, keepdims=True)
    # (max - x[y]) + log(sum exp(x - max)): logsumexp(x) - x[y] without
    # subtracting two numbers near 1e4 (which would lose 12 bits)
    return (m[:, 0] - x[np.arange(len(y)), y]) + np.log(np.exp(x - m).sum(axis=1))


def ce_grad(x, y, g):  # g: per-row scale
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p * g[:, None]


def bce(x, t):
    x = x.astype(np.float64)
    t = t.astype(np.float64)
    return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))


out.append("/* tests/ref/loss_ref.h -- made by tests/gen_loss_ref.py; do not edit. */")
out.append("#include <stdint.h>")

# softmax_cross_entropy: [5, 7], labels in [0, 7)
x = (rng.standard_normal((5, 7)) * 3).astype(np.float32)
y = rng.integers(0, 7, size=5)
emit("ce_x", x, "float")
emit("ce_y", y, "int64_t")
reduce3("ce", ce(x, y))
gy = rng.standard_normal(5).astype(np.float32)
emit("ce_gy", gy, "float")
emit("ce_grad_none", ce_grad(x, y, gy.astype(np.float64)), "double")
emit("ce_grad_mean", ce_grad(x, y, np.full(5, 1.0 / 5)), "double")   # gy = 1
emit("ce_grad_sum", ce_grad(x, y, np.full(5, 2.5)), "double")        # gy = 2.5

# extreme logits: one-hot-like rows at +-1e4, the label on the max, on the min, ties
xb = np.array([[1e4, 0, -1e4],
               [1e4, 0, -1e4],
               [-1e4, -1e4, -1e4],
               [1e4, 1e4, 0],
               [-1e4, 1e4, 3]], dtype=np.float32)
yb = np.array([0, 2, 1, 1, 2])
emit("ceb_x", xb, "float")
emit("ceb_y", yb, "int64_t")
reduce3("ceb", ce(xb, yb))
emit("ceb_grad_sum", ce_grad(xb, yb, np.ones(5)), "double")

# binary_cross_entropy_with_logits: [3, 5], targets in [0, 1]
xl = (rng.standard_normal((3, 5)) * 4).astype(np.float32)
t = rng.uniform(0, 1, size=(3, 5)).astype(np.float32)
emit("bce_x", xl, "float")
emit("bce_t", t, "float")
reduce3("bce", bce(xl, t))
xe = np.array([1e4, -1e4, 0, 50, -50, 1e4, -1e4, 88.5], dtype=np.float32)
te = np.array([0, 1, 0.5, 1, 0, 1, 0, 0.25], dtype=np.float32)
emit("bceb_x", xe, "float")
emit("bceb_t", te, "float")
reduce3("bceb", bce(xe, te))

# mse_loss: [4, 6]
a = rng.standard_normal((4, 6)).astype(np.float32)
b = rng.standard_normal((4, 6)).astype(np.float32)
emit("mse_a", a, "float")
emit("mse_b", b, "float")
reduce3("mse", (a.astype(np.float64) - b.astype(np.float64)) ** 2)

# end to end (tests/test_gc_loss.c): one graph with a symbolic batch N,
# loss = cross_entropy(z, lab) + bce(z, t) + mse_loss(z, t) (all "mean"),
# run on the first 5 and the first 3 rows; gradients w.r.t. z and t
z = rng.standard_normal((5, 4)) * 2
lab = rng.integers(0, 4, size=5)
tt = rng.uniform(0, 1, size=(5, 4))
emit("e2e_z", z, "double")
emit("e2e_lab", lab, "int64_t")
emit("e2e_t", tt, "double")
for n in (5, 3):
    zn, ln, tn = z[:n], lab[:n], tt[:n]
    m = zn.size
    loss = ce(zn, ln).mean() + bce(zn, tn).mean() + ((zn - tn) ** 2).mean()
    gz = ce_grad(zn, ln, np.full(n, 1.0 / n)) + (1 / (1 + np.exp(-zn)) - tn) / m + 2 * (zn - tn) / m
    gt = -zn / m - 2 * (zn - tn) / m
    emit("e2e_loss%d" % n, np.array(loss), "double")
    emit("e2e_gz%d" % n, gz, "double")
    emit("e2e_gt%d" % n, gt, "double")

for v in [ce(xb, yb), bce(xe, te)]:
    assert np.all(np.isfinite(v))
print("\n".join(out))
