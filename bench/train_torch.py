#!/usr/bin/env python3
"""bench/train_torch.py -- the PyTorch side of `make bench-train`: the networks
of bench/train_lenet.g and bench/train_mlp.g in PyTorch, trained the way
bench/trainbench.c trains ours (random batches of Fashion-MNIST shape, mean
softmax cross-entropy with integer labels, SGD lr 0.01 momentum 0.9, the
loss read back every step), timed the same way, with the same RESULT line.

  python3 bench/train_torch.py lenet --batch 64 --threads 2 --warmup 20 --steps 200
  python3 bench/train_torch.py lenet --check DIR   # replay trainbench --check DIR
"""
import argparse
import os
import sys
import time

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:
    print("train_torch.py: PyTorch is not installed (apt-get install python3-torch)", file=sys.stderr)
    sys.exit(3)


class LeNet(nn.Module):
    """samples/lenet.g: conv5x5 pad 2 6ch, pool, conv5x5 16ch, pool, fc 400-120-84-10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = h.reshape(h.shape[0], -1)
        h = F.relu(self.fc2(F.relu(self.fc1(h))))
        return self.fc3(h)


class MLP(nn.Module):
    """samples/mlp.g: flatten, 784-256-128-10 with ReLU (params net.1.weight ...)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                 nn.Linear(128, 10))

    def forward(self, x):
        return self.net(x)


MODELS = {"lenet": LeNet, "mlp": MLP}


def cpus_busy_s():
    """Seconds all CPUs were busy (/proc/stat, as trainbench); -1 when unknown."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return -1.0


def own_cpu_s():
    t = os.times()
    return t.user + t.system


def blas_name():
    """The BLAS this process loaded (PyTorch's Linear layers run on it when
    built with BLAS_INFO=generic, as Debian's): a short name, from /proc/self/maps."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line or "mkl_" in line}
    except OSError:
        return "unknown"
    # the reference BLAS first: with it on LD_LIBRARY_PATH, OpenBLAS's
    # liblapack may still be mapped, but the sgemm calls go to libblas
    for key, name in (("/blas/libblas", "reference"), ("mkl_", "mkl"), ("openblas-openmp", "openblas-openmp"),
                      ("openblas-pthread", "openblas-pthread"), ("openblas", "openblas"), ("blis", "blis")):
        if any(key in lib for lib in libs):
            return name
    return "none" if not libs else os.path.basename(sorted(libs)[0])


def step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def check(args, model, opt):
    """Loads trainbench --check DIR's params and batches, runs the same steps,
    compares the losses; exit 1 when they differ by more than --tol."""
    import numpy as np
    d = args.check
    with torch.no_grad():
        for name, p in model.state_dict().items():
            p.copy_(torch.from_numpy(np.load(os.path.join(d, name + ".npy"))))
    with open(os.path.join(d, "losses.txt")) as f:
        ours = [float(line) for line in f if line.strip()]
    worst = 0.0
    for i, ref in enumerate(ours):
        x = torch.from_numpy(np.load(os.path.join(d, "images_%d.npy" % i)))
        y = torch.from_numpy(np.load(os.path.join(d, "labels_%d.npy" % i))).long()
        got = step(model, opt, x, y)
        rel = abs(got - ref) / max(abs(got), 1e-30)
        worst = max(worst, rel)
        print("  step %d: loss ours %.7f  PyTorch %.7f  rel diff %.2e" % (i, ref, got, rel))
    ok = worst <= args.tol
    print("CHECK model=%s steps=%d max_rel_diff=%.3e tol=%g %s" % (args.model, len(ours), worst, args.tol,
                                                                  "ok" if ok else "FAIL"))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", choices=sorted(MODELS))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--max-seconds", type=float, default=0,
                    help="stop timing after this many seconds (at least 10 steps; 0: no limit)")
    ap.add_argument("--pool", type=int, default=8, help="distinct random batches, fed in turn")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", metavar="DIR", help="replay trainbench --check DIR, compare the losses")
    ap.add_argument("--tol", type=float, default=1e-4, help="--check: max relative loss difference")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = MODELS[args.model]()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    if args.check:
        return check(args, model, opt)

    xs = [torch.rand(args.batch, 1, 28, 28) for _ in range(args.pool)]
    ys = [torch.randint(0, 10, (args.batch,)) for _ in range(args.pool)]
    loss_first = loss_last = 0.0
    for s in range(args.warmup):
        loss = step(model, opt, xs[s % args.pool], ys[s % args.pool])
        if s == 0:
            loss_first = loss
    times = []
    busy0, own0 = cpus_busy_s(), own_cpu_s()
    t0 = prev = time.perf_counter()
    while len(times) < args.steps and (args.max_seconds <= 0 or len(times) < 10 or prev - t0 < args.max_seconds):
        k = (args.warmup + len(times)) % args.pool
        loss_last = step(model, opt, xs[k], ys[k])
        if not times and args.warmup == 0:
            loss_first = loss_last
        now = time.perf_counter()
        times.append(1e3 * (now - prev))
        prev = now
    secs = prev - t0
    busy1, own1 = cpus_busy_s(), own_cpu_s()
    ncpu = os.cpu_count() or 1
    other = -1.0
    if busy0 >= 0 and busy1 >= 0 and secs >= 0.25:
        other = max(0.0, ((busy1 - busy0) - (own1 - own0)) / (secs * ncpu))
    times.sort()
    n = len(times)
    med = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    eps = n * args.batch / secs
    print("train_torch: %s, PyTorch %s (BLAS: %s), batch %d, threads %d, %d warmup + %d timed steps, "
          "%.0f examples/s, median step %.4g ms" % (args.model, torch.__version__, blas_name(), args.batch,
                                                    torch.get_num_threads(), args.warmup, n, eps, med))
    print("RESULT model=torch_%s batch=%d threads=%d steps=%d seconds=%.6f examples_per_s=%.1f median_step_ms=%.5f "
          "p10_step_ms=%.5f p90_step_ms=%.5f loss_first=%.6g loss_last=%.6g other_load=%.3f blas=%s"
          % (args.model, args.batch, torch.get_num_threads(), n, secs, eps, med, times[int(0.1 * (n - 1))],
             times[int(0.9 * (n - 1))], loss_first, loss_last, other, blas_name()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
