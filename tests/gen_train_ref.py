#!/usr/bin/env python3
"""tests/gen_train_ref.py -- NumPy reference for tests/test_gc_train.c.

The two-layer net  loss = sum((relu(x @ w1) @ w2 - y)^2)  trained on one fixed
batch with PyTorch's optimizer formulas (torch.optim.SGD, Adam, AdamW; the
single-tensor path), computed in float64 from the float32 data. Writes the
data and, per run, the weights after the steps and the loss of every step as
.npy files in tests/data/train/. Run from the repository root; commit what
it writes.
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "train")


def loss_grads(x, y, w1, w2):
    z = x @ w1
    h = np.maximum(z, 0)
    d = h @ w2 - y
    gy = 2 * d
    return (d ** 2).sum(), x.T @ ((gy @ w2.T) * (z > 0)), h.T @ gy


def sgd(ps, gs, st, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    for i, (p, g) in enumerate(zip(ps, gs)):
        d = g + weight_decay * p if weight_decay else g
        if momentum:
            buf = st.get(i)
            buf = d.copy() if buf is None else momentum * buf + d
            st[i] = buf
            d = d + momentum * buf if nesterov else buf
        p -= lr * d


def adam(ps, gs, st, lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False):
    st["step"] = st.get("step", 0) + 1
    t = st["step"]
    for i, (p, g) in enumerate(zip(ps, gs)):
        if weight_decay and decoupled:
            p *= 1 - lr * weight_decay
        elif weight_decay:
            g = g + weight_decay * p
        m = st.get(("m", i), np.zeros_like(p))
        v = st.get(("v", i), np.zeros_like(p))
        m = m + (1 - b1) * (g - m)
        v = v * b2 + (1 - b2) * g * g
        st[("m", i)], st[("v", i)] = m, v
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        p -= (lr / bc1) * (m / (np.sqrt(v) / np.sqrt(bc2) + eps))


RUNS = {
    # name: (steps, optimizer step function)
    "sgd": (100, lambda ps, gs, st: sgd(ps, gs, st, 1e-5)),
    "momentum": (5, lambda ps, gs, st: sgd(ps, gs, st, 1e-5, momentum=0.9)),
    "nesterov": (5, lambda ps, gs, st: sgd(ps, gs, st, 1e-5, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam": (5, lambda ps, gs, st: adam(ps, gs, st, 1e-3)),
    "adamw": (5, lambda ps, gs, st: adam(ps, gs, st, 1e-3, weight_decay=0.1, decoupled=True)),
}


def main():
    rng = np.random.default_rng(11)
    n, d, h, o = 32, 100, 30, 10
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.standard_normal((n, o)).astype(np.float32)
    w1 = (rng.standard_normal((d, h)) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((h, o)) * 0.1).astype(np.float32)
    os.makedirs(OUT, exist_ok=True)
    for name, a in (("x", x), ("y", y), ("w1", w1), ("w2", w2)):
        np.save(os.path.join(OUT, name + ".npy"), a)
    for name, (steps, step) in RUNS.items():
        ps = [w1.astype(np.float64), w2.astype(np.float64)]
        st, losses = {}, []
        xs, ys = x.astype(np.float64), y.astype(np.float64)
        for _ in range(steps):
            loss, g1, g2 = loss_grads(xs, ys, *ps)
            losses.append(loss)
            step(ps, [g1, g2], st)
        np.save(os.path.join(OUT, name + "_w1.npy"), ps[0].astype(np.float32))
        np.save(os.path.join(OUT, name + "_w2.npy"), ps[1].astype(np.float32))
        np.save(os.path.join(OUT, name + "_loss.npy"), np.array(losses, dtype=np.float32))


if __name__ == "__main__":
    main()
