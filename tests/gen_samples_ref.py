#!/usr/bin/env python3
"""tests/gen_samples_ref.py -- NumPy reference data for the end-to-end tests.

For every sample (samples/*.g) it compiles the sample with build/graphc,
dumps the params with `graphc inspect --dump-params`, makes deterministic
inputs, computes the outputs with an independent NumPy implementation of the
model (float64), and writes tests/data/samples/<name>/{inputs,expected}/*.npy.
It also makes the params and expected outputs of tests/data/e2e/model.g.
Run from the repository root after `make`; commit what it writes.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRAPHC = os.path.join(ROOT, "build", "graphc")


def conv2d(x, w, b=None, stride=1, padding=0):
    n, c, h, wd = x.shape
    o, ci, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (h + 2 * padding - kh) // stride + 1
    ow = (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    if b is not None:
        out += b[None, :, None, None]
    return out


def pool(x, k, fn):
    n, c, h, w = x.shape
    return fn(x[:, :, :h // k * k, :w // k * k].reshape(n, c, h // k, k, w // k, k), axis=(3, 5))


def relu(x):
    return np.maximum(x, 0)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def linear(p, name, x):
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def batchnorm(p, name, x, eps=1e-5):
    s = p[name + ".weight"] / np.sqrt(p[name + ".running_var"] + eps)
    return (x - p[name + ".running_mean"][None, :, None, None]) * s[None, :, None, None] \
        + p[name + ".bias"][None, :, None, None]


def two_layer_net(p, inp):
    h = relu(inp["x"] @ p["w1"])
    y_pred = h @ p["w2"]
    return {"y_pred": y_pred, "loss": np.sum((y_pred - inp["y"]) ** 2)}


def mlp(p, inp):
    h = inp["images"].reshape(inp["images"].shape[0], -1)
    h = relu(linear(p, "net.1", h))
    h = relu(linear(p, "net.3", h))
    logits = linear(p, "net.5", h)
    return {"logits": logits, "probs": softmax(logits, 1)}


def lenet(p, inp):
    x = inp["images"]
    h = pool(relu(conv2d(x, p["model.conv1.weight"], p["model.conv1.bias"], padding=2)), 2, np.max)
    h = pool(relu(conv2d(h, p["model.conv2.weight"], p["model.conv2.bias"])), 2, np.max)
    h = h.reshape(h.shape[0], -1)
    h = relu(linear(p, "model.fc1", h))
    h = relu(linear(p, "model.fc2", h))
    logits = linear(p, "model.fc3", h)
    return {"logits": logits, "classes": np.argmax(logits, axis=1)}


def resnet_block(p, inp):
    def conv(name, x):
        return conv2d(x, p[name + ".weight"], p[name + ".bias"], padding=1)

    def block(name, x):
        h = relu(batchnorm(p, name + ".bn1", conv(name + ".conv1", x)))
        h = batchnorm(p, name + ".bn2", conv(name + ".conv2", h))
        return relu(h + x)

    h = relu(conv("stem", inp["images"]))
    h = block("block2", block("block1", h))
    pooled = h.mean(axis=(2, 3))
    return {"logits": linear(p, "head", pooled)}


SAMPLES = {
    "two_layer_net": (two_layer_net, {"x": (5, 1000), "y": (5, 10)}),
    "mlp": (mlp, {"images": (3, 1, 28, 28)}),
    "lenet": (lenet, {"images": (3, 1, 28, 28)}),
    "resnet_block": (resnet_block, {"images": (2, 3, 32, 32)}),
}


def dump_params(gb):
    d = tempfile.mkdtemp()
    subprocess.run([GRAPHC, "inspect", gb, "--dump-params", d], check=True, stdout=subprocess.DEVNULL)
    return {f[:-4]: np.load(os.path.join(d, f)).astype(np.float64) for f in os.listdir(d)}


def save(path, a):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, a)


def main():
    rng = np.random.default_rng(1234)
    for name, (fn, shapes) in SAMPLES.items():
        gb = os.path.join(tempfile.mkdtemp(), name + ".gb")
        subprocess.run([GRAPHC, "compile", os.path.join(ROOT, "samples", name + ".g"), "-o", gb], check=True)
        p = dump_params(gb)
        inp = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
        if name in ("mlp", "lenet"):
            inp = {k: rng.random(s).astype(np.float32) for k, s in shapes.items()}
        out = fn(p, {k: v.astype(np.float64) for k, v in inp.items()})
        base = os.path.join(ROOT, "tests", "data", "samples", name)
        for k, v in inp.items():
            save(os.path.join(base, "inputs", k + ".npy"), v)
        for k, v in out.items():
            v = np.asarray(v)
            save(os.path.join(base, "expected", k + ".npy"),
                 v.astype(np.int64) if v.dtype.kind in "iu" else v.astype(np.float32))
        print("wrote", base)

    # tests/data/e2e: params made here, outputs computed here
    d = os.path.join(ROOT, "tests", "data", "e2e")
    r = np.random.default_rng(99)
    prm = {
        "conv_w": r.standard_normal((4, 2, 3, 3)) * 0.3, "conv_b": r.standard_normal(4) * 0.1,
        "d1_w": r.standard_normal((16, 16)) * 0.3, "d1_b": r.standard_normal(16) * 0.1,
        "d2_w": r.standard_normal((16, 16)) * 0.3, "d2_b": r.standard_normal(16) * 0.1,
    }
    prm = {k: v.astype(np.float32) for k, v in prm.items()}
    for k, v in prm.items():
        np.save(os.path.join(d, k + ".npy"), v)
    x = r.standard_normal((3, 2, 8, 8)).astype(np.float32)
    P = {k: v.astype(np.float64) for k, v in prm.items()}
    h = relu(conv2d(x.astype(np.float64), P["conv_w"], P["conv_b"], padding=1))
    h = pool(h, 2, np.max)
    h = pool(h, 2, np.mean)
    flat = h.reshape(3, -1)
    z = (relu(flat @ P["d1_w"] + P["d1_b"]) @ P["d2_w"] + P["d2_b"]) + flat
    save(os.path.join(d, "inputs", "images.npy"), x)
    save(os.path.join(d, "expected", "z.npy"), z.astype(np.float32))
    save(os.path.join(d, "expected", "probs.npy"), softmax(z, 1).astype(np.float32))
    print("wrote", d)


if __name__ == "__main__":
    sys.exit(main())
