#!/usr/bin/env python3
"""tests/gen_autodiff_ref.py -- NumPy reference for tests/test_gc_autodiff.c.

Makes the weights and inputs of tests/data/autodiff/two_layer_grad.g and the
loss and gradients an independent NumPy implementation of the backward pass
gives (float64 from the float32 data), at batch sizes 5 and 3 (the first 3
rows), as .npy files in tests/data/autodiff/. Run from the repository root;
commit what it writes.
"""
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "autodiff")


def grads(x, y, w1, w2):
    """loss = sum((relu(x @ w1) @ w2 - y)^2) and mean(...); d/dw1, d/dw2."""
    x, y, w1, w2 = (a.astype(np.float64) for a in (x, y, w1, w2))
    z = x @ w1
    h = np.maximum(z, 0)
    d = h @ w2 - y
    out = {"loss": np.array((d ** 2).sum())}
    for prefix, scale in (("g", 1.0), ("m", 1.0 / d.size)):
        gy = 2 * d * scale
        out[prefix + "w2"] = h.T @ gy
        out[prefix + "w1"] = x.T @ ((gy @ w2.T) * (z > 0))
    return out


def main():
    rng = np.random.default_rng(7)
    w1 = (rng.standard_normal((30, 20)) * 0.3).astype(np.float32)
    w2 = (rng.standard_normal((20, 10)) * 0.3).astype(np.float32)
    x = rng.standard_normal((5, 30)).astype(np.float32)
    y = rng.standard_normal((5, 10)).astype(np.float32)
    os.makedirs(OUT, exist_ok=True)
    for name, a in (("w1", w1), ("w2", w2), ("x", x), ("y", y)):
        np.save(os.path.join(OUT, name + ".npy"), a)
    for n in (5, 3):
        for name, a in grads(x[:n], y[:n], w1, w2).items():
            np.save(os.path.join(OUT, "n%d_%s.npy" % (n, name)), a.astype(np.float32))


if __name__ == "__main__":
    main()
