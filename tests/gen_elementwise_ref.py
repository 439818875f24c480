#!/usr/bin/env python3
"""tests/gen_elementwise_ref.py -- writes tests/ref/elementwise_ref.h, the
NumPy reference cases of the elementwise ops (inputs, attributes, expected
output) that tests/test_ops_elementwise.c runs through the CPU kernels.

Run from the repository root:  python3 tests/gen_elementwise_ref.py
Needs only NumPy and the standard library. Float references are computed in
float64 from the (float32) inputs and rounded once to the output dtype; erf
and GELU use math.erf/math.erfc (no SciPy), GELU from its exact formulas.
"""
import math
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref", "elementwise_ref.h")

# op_dtype values of ops/op.h
DT = {"f32": 1, "f64": 2, "i32": 3, "i64": 4, "bool": 5, "u8": 6, "i8": 7}
NP = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64,
      "bool": np.bool_, "u8": np.uint8, "i8": np.int8}
CT = {"f32": "float", "f64": "double", "i32": "int32_t", "i64": "int64_t",
      "bool": "uint8_t", "u8": "uint8_t", "i8": "int8_t"}
INTS = ("i32", "i64")
FLOATS = ("f32", "f64")
ARITH = FLOATS + INTS
ALL = ("f32", "f64", "i32", "i64", "bool", "u8", "i8")

RTOL = {"f32": 1e-6, "f64": 1e-12}
RTOL_TRANSC = {"f32": 1e-5, "f64": 1e-12}  # gelu, tanh, erf

rng = np.random.default_rng(20240611)
cases = []


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def add_case(name, op, ins, out, rtol=0.0, attrs=None):
    """ins: list of (dtype, np array); out: (dtype, np array); attrs: list of
    (int, float) per attribute position."""
    cases.append(dict(name=name, op=op, ins=ins, out=out, rtol=rtol, attrs=attrs or []))


# ---- value generators -------------------------------------------------------

def rand(dt, shape, lo=-5.0, hi=5.0):
    n = numel(shape)
    if dt in FLOATS:
        v = rng.uniform(lo, hi, n)
    elif dt == "bool":
        v = rng.integers(0, 2, n)
    else:
        v = rng.integers(int(lo), int(hi) + 1, n)
    return np.array(v, dtype=NP[dt]).reshape(shape)


def nonzero(dt, shape, lo, hi):
    """Values of magnitude at least 0.5 (floats) or 1 (integers), random signs."""
    if dt in FLOATS:
        n = numel(shape)
        v = rng.uniform(0.5, hi, n) * rng.choice([-1.0, 1.0], n)
        return np.array(v, dtype=NP[dt]).reshape(shape)
    a = rand(dt, shape, lo, hi)
    return np.where(a == 0, 1, a).astype(NP[dt])


def as_out(dt, v):
    """Rounds a float64 (or exact integer) reference to the output dtype
    (values past the f32 range become inf, as IEEE rounding does)."""
    with np.errstate(over="ignore"):
        return np.asarray(v).astype(NP[dt])


# ---- binary arithmetic ------------------------------------------------------

SHAPES_BIN = [
    ("same", [5, 7], [5, 7]),
    ("bcast", [2, 3, 4], [3, 1]),
    ("outer", [3, 1, 5], [1, 4, 1]),
    ("scal_r", [4], []),
    ("scal_l", [], [4]),
    ("rank0", [], []),
    ("empty", [2, 0, 3], [3]),
]
SHAPES_ADD_EXTRA = [
    ("bias", [2, 3, 4], [1, 1, 4]),
    ("mid", [2, 1, 4], [2, 3, 4]),
    ("col", [3, 4], [3, 1]),
    ("rank8", [2, 1, 2, 1, 2, 1, 2, 1], [1, 2, 1, 2, 1, 2, 1, 2]),
]


def trunc_div(a, b):
    q = abs(int(a)) // abs(int(b))
    return q if (a < 0) == (b < 0) else -q


def binary_ref(op, dt, a, b):
    if dt in FLOATS:
        x, y = a.astype(np.float64), b.astype(np.float64)
        f = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
             "pow": np.power, "minimum": np.minimum, "maximum": np.maximum}[op]
        return as_out(dt, f(x, y))
    x, y = np.broadcast_arrays(a.astype(object), b.astype(object))
    shape = x.shape
    x, y = x.ravel(), y.ravel()
    bits = 32 if dt == "i32" else 64

    def wrap(v):
        v &= (1 << bits) - 1
        return v - (1 << bits) if v >> (bits - 1) else v
    f = {"add": lambda p, q: p + q, "sub": lambda p, q: p - q, "mul": lambda p, q: p * q,
         "div": trunc_div, "pow": lambda p, q: p ** q, "minimum": min, "maximum": max}[op]
    r = [wrap(int(f(int(p), int(q)))) for p, q in zip(x, y)]
    return np.array(r, dtype=NP[dt]).reshape(shape)


def binary_inputs(op, dt, sa, sb):
    if op == "div":
        return rand(dt, sa, -50, 50), nonzero(dt, sb, -9, 9)
    if op == "pow":
        if dt in FLOATS:
            return rand(dt, sa, 0.1, 4.0), rand(dt, sb, -3.0, 3.0)
        return rand(dt, sa, -4, 4), rand(dt, sb, 0, 6)
    if op in ("minimum", "maximum") and dt in FLOATS:
        # small integers: ties happen
        return (rand("i32", sa, -3, 3).astype(NP[dt]), rand("i32", sb, -3, 3).astype(NP[dt]))
    if dt in INTS:
        return rand(dt, sa, -50, 50), rand(dt, sb, -50, 50)
    return rand(dt, sa), rand(dt, sb)


for op in ("add", "sub", "mul", "div", "pow", "minimum", "maximum"):
    for dt in ARITH:
        shapes = SHAPES_BIN + (SHAPES_ADD_EXTRA if op == "add" else [])
        for tag, sa, sb in shapes:
            a, b = binary_inputs(op, dt, sa, sb)
            add_case(f"{op}_{dt}_{tag}", op, [(dt, a), (dt, b)], (dt, binary_ref(op, dt, a, b)),
                     RTOL.get(dt, 0.0))

# integer wrap-around (two's complement, as NumPy)
for dt, lim in (("i32", 2**31 - 1), ("i64", 2**63 - 1)):
    a = np.array([lim, -lim - 1, lim, 12345], dtype=NP[dt])
    b = np.array([1, -1, 2, -3], dtype=NP[dt])
    for op in ("add", "sub", "mul"):
        add_case(f"{op}_{dt}_wrap", op, [(dt, a), (dt, b)], (dt, binary_ref(op, dt, a, b)))
    b = np.array([1, 2, -1, 7], dtype=NP[dt])
    add_case(f"div_{dt}_limits", "div", [(dt, a), (dt, b)], (dt, binary_ref("div", dt, a, b)))
    add_case(f"pow_{dt}_wrap", "pow", [(dt, np.array([3, -2, 0, 1, 7], dtype=NP[dt])),
                                       (dt, np.array([40, 63, 0, 100, 0], dtype=NP[dt]))],
             (dt, binary_ref("pow", dt, np.array([3, -2, 0, 1, 7]), np.array([40, 63, 0, 100, 0]))))

# nan propagation of minimum/maximum, IEEE division by zero
for dt in FLOATS:
    a = np.array([np.nan, 1.0, np.nan, -np.inf, 2.0], dtype=NP[dt])
    b = np.array([2.0, np.nan, np.nan, 3.0, np.inf], dtype=NP[dt])
    for op, f in (("minimum", np.minimum), ("maximum", np.maximum)):
        add_case(f"{op}_{dt}_nan", op, [(dt, a), (dt, b)], (dt, f(a, b)), RTOL[dt])
    a = np.array([1.0, -1.0, 0.0, 3.0], dtype=NP[dt])
    b = np.array([0.0, 0.0, 0.0, -0.0], dtype=NP[dt])
    with np.errstate(all="ignore"):
        add_case(f"div_{dt}_by_zero", "div", [(dt, a), (dt, b)], (dt, a / b), RTOL[dt])

# ---- comparisons and logic --------------------------------------------------

CMP = {"equal": np.equal, "not_equal": np.not_equal, "less": np.less,
       "less_equal": np.less_equal, "greater": np.greater, "greater_equal": np.greater_equal}
for op, f in CMP.items():
    for dt in ALL:
        for tag, sa, sb in (("bcast", [2, 3, 4], [3, 1]), ("scal", [6], []), ("empty", [0, 2], [2])):
            lo, hi = (0, 1) if dt == "bool" else (0, 3) if dt == "u8" else (-2, 2)
            a = rand(dt, sa, lo, hi) if dt not in FLOATS else rand("i32", sa, -2, 2).astype(NP[dt])
            b = rand(dt, sb, lo, hi) if dt not in FLOATS else rand("i32", sb, -2, 2).astype(NP[dt])
            add_case(f"{op}_{dt}_{tag}", op, [(dt, a), (dt, b)], ("bool", f(a, b)))
    a = np.array([np.nan, 1.0, np.nan, 2.0], dtype=np.float32)
    b = np.array([np.nan, np.nan, 1.0, 2.0], dtype=np.float32)
    add_case(f"{op}_f32_nan", op, [("f32", a), ("f32", b)], ("bool", f(a, b)))

for op, f in (("logical_and", np.logical_and), ("logical_or", np.logical_or)):
    for tag, sa, sb in (("bcast", [2, 3, 4], [3, 1]), ("scal", [5], []), ("same", [7], [7])):
        a, b = rand("bool", sa), rand("bool", sb)
        add_case(f"{op}_{tag}", op, [("bool", a), ("bool", b)], ("bool", f(a, b)))
for tag, s in (("vec", [3, 5]), ("rank0", [])):
    a = rand("bool", s)
    add_case(f"logical_not_{tag}", "logical_not", [("bool", a)], ("bool", np.logical_not(a)))

# ---- unary ------------------------------------------------------------------

UN_SHAPES = (("vec", [3, 5]), ("rank0", []), ("empty", [0, 2]))
for op, f in (("neg", np.negative), ("abs", np.abs), ("relu", lambda v: np.maximum(v, 0)),
              ("identity", lambda v: v.copy())):
    for dt in ARITH:
        for tag, s in UN_SHAPES:
            a = rand(dt, s, -50, 50) if dt in INTS else rand(dt, s)
            add_case(f"{op}_{dt}_{tag}", op, [(dt, a)], (dt, f(a)), RTOL.get(dt, 0.0))
    for dt, lim in (("i32", 2**31), ("i64", 2**63)):
        a = np.array([-lim, -lim + 1, lim - 1, 0, -7], dtype=NP[dt])
        add_case(f"{op}_{dt}_limits", op, [(dt, a)], (dt, f(a)))
    for dt in FLOATS:  # nan propagates (relu(nan) = nan, as np.maximum)
        a = np.array([np.nan, -np.inf, np.inf, -0.0, 1.5, -2.5], dtype=NP[dt])
        add_case(f"{op}_{dt}_special", op, [(dt, a)], (dt, f(a)), RTOL[dt])
for dt in ("u8", "i8"):  # bool is not numeric: identity rejects it
    a = rand(dt, [4, 3], 0, 100)
    add_case(f"identity_{dt}", "identity", [(dt, a)], (dt, a.copy()))


def sigmoid64(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def gelu_erf64(x):
    # 0.5 x (1 + erf(x / sqrt 2)) == 0.5 x erfc(-x / sqrt 2), without cancellation
    return 0.5 * x * math.erfc(-x / math.sqrt(2.0))


def gelu_tanh64(x):
    # 0.5 x (1 + tanh(u)) == x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)
    u = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)
    return x * sigmoid64(2.0 * u)


# the rewritten formulas agree with the textbook ones where those do not cancel
for x in np.linspace(-2.0, 6.0, 41):
    x = float(x)
    t1 = 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))
    u = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)
    t2 = 0.5 * x * (1.0 + math.tanh(u))
    assert abs(t1 - gelu_erf64(x)) <= 1e-14 * max(1.0, abs(t1)), x
    assert abs(t2 - gelu_tanh64(x)) <= 1e-14 * max(1.0, abs(t2)), x


def vec(f):
    return lambda a: np.array([f(float(v)) for v in a.ravel()], dtype=np.float64).reshape(a.shape)


FLOAT_UN = {
    # op: (reference on float64, input generator(dt, shape), rtol table, specials f32, specials f64)
    "exp": (np.exp, lambda dt, s: rand(dt, s, -20, 20), RTOL,
            [0.0, -87.0, 88.0, 88.7, 89.0, -100.0, -104.0, 1e-7, -np.inf, np.inf, np.nan],
            [0.0, -700.0, 700.0, -np.inf, np.inf, np.nan]),
    "log": (np.log, lambda dt, s: rand(dt, s, 0.01, 100), RTOL,
            [1.0, 1.0000001, 0.99999994, 1e-30, 3e38, 1e-40, 0.0, -1.0, np.inf, np.nan],
            [1.0, 1e-300, 1e300, 0.0, -1.0, np.inf]),
    "sqrt": (np.sqrt, lambda dt, s: rand(dt, s, 0, 100), RTOL, [0.0, 1e-30, 4.0], [0.0, 1e-300, 4.0]),
    "rsqrt": (lambda v: 1.0 / np.sqrt(v), lambda dt, s: rand(dt, s, 0.01, 100), RTOL,
              [1e-30, 4.0, 3e38], [1e-300, 4.0, 1e300]),
    "reciprocal": (lambda v: 1.0 / v, lambda dt, s: nonzero(dt, s, -5, 5), RTOL, [1e-30, -3.0], [1e-300, -3.0]),
    "tanh": (np.tanh, lambda dt, s: rand(dt, s, -10, 10), RTOL_TRANSC,
             [0.0, 1e-6, -1e-6, 0.62, 0.63, -0.63, 20.0, -20.0, np.inf, -np.inf, np.nan],
             [0.0, 1e-9, -1e-9, 40.0, -40.0, np.inf, np.nan]),
    "sigmoid": (vec(sigmoid64), lambda dt, s: rand(dt, s, -10, 10), RTOL,
                [-80.0, -30.0, -5.0, 0.0, 5.0, 30.0, 1000.0, -1000.0, np.inf, -np.inf, np.nan],
                [-700.0, -100.0, -5.0, 0.0, 5.0, 40.0, 1000.0, -1000.0]),
    "erf": (vec(math.erf), lambda dt, s: rand(dt, s, -4, 4), RTOL_TRANSC,
            [0.0, 1e-6, -3.0, 5.0, 0.74, 0.76, -0.76, np.inf, -np.inf, np.nan], [0.0, 1e-9, -3.0, 7.0]),
}
np.seterr(divide="ignore", invalid="ignore")  # log(0), log(-1) in the specials
for op, (f, gen, rt, sp32, sp64) in FLOAT_UN.items():
    for dt in FLOATS:
        for tag, s in UN_SHAPES:
            a = gen(dt, s)
            add_case(f"{op}_{dt}_{tag}", op, [(dt, a)], (dt, as_out(dt, f(a.astype(np.float64)))), rt[dt])
        a = np.array(sp32 if dt == "f32" else sp64, dtype=NP[dt])
        add_case(f"{op}_{dt}_special", op, [(dt, a)], (dt, as_out(dt, f(a.astype(np.float64)))), rt[dt])

GELU_SPECIAL = [-8.0, -5.0, -3.0, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.0, 3.0, 5.0, 8.0]
for mode, g in ((0, gelu_erf64), (1, gelu_tanh64)):
    name = "erf" if mode == 0 else "tanh"
    for dt in FLOATS:
        for tag, s in (("vec", [4, 6]), ("rank0", []), ("empty", [0])):
            a = rand(dt, s, -8, 8)
            add_case(f"gelu_{name}_{dt}_{tag}", "gelu", [(dt, a)],
                     (dt, as_out(dt, vec(g)(a.astype(np.float64)))), RTOL_TRANSC[dt], [(mode, 0.0)])
        sp = GELU_SPECIAL + ([-20.0, -30.0, 20.0] if dt == "f64" else [])
        a = np.array(sp, dtype=NP[dt])
        add_case(f"gelu_{name}_{dt}_special", "gelu", [(dt, a)],
                 (dt, as_out(dt, vec(g)(a.astype(np.float64)))), RTOL_TRANSC[dt], [(mode, 0.0)])

for alpha in (0.01, 0.2):
    for dt in FLOATS:
        a = rand(dt, [3, 5])
        al = np.float32(alpha) if dt == "f32" else alpha
        ref = np.where(a > 0, a, al * a)
        add_case(f"leaky_relu_{dt}_{alpha}", "leaky_relu", [(dt, a)], (dt, as_out(dt, ref)), RTOL[dt],
                 [(0, alpha)])

# clip: float bounds rounded to f32 for f32; integers use ceil(min), floor(max)
for lo, hi, tag in ((-1.5, 2.5, "mid"), (-math.inf, math.inf, "none"), (3.0, -3.0, "crossed"),
                    (-2.5, math.inf, "lo"), (-math.inf, 0.7, "hi")):
    for dt in ARITH:
        a = rand(dt, [3, 5], -5, 5)
        if dt in FLOATS:
            l, h = NP[dt](lo), NP[dt](hi)
        else:
            l, h = (math.ceil(lo) if lo != -math.inf else np.iinfo(NP[dt]).min,
                    math.floor(hi) if hi != math.inf else np.iinfo(NP[dt]).max)
        ref = np.minimum(np.maximum(a, l), h).astype(NP[dt])
        add_case(f"clip_{dt}_{tag}", "clip", [(dt, a)], (dt, ref), RTOL.get(dt, 0.0), [(0, lo), (0, hi)])
a = np.array([np.nan, -np.inf, np.inf, 0.0], dtype=np.float32)
add_case("clip_f32_nan", "clip", [("f32", a)], ("f32", np.minimum(np.maximum(a, -1.0), 1.0).astype(np.float32)),
         RTOL["f32"], [(0, -1.0), (0, 1.0)])

# ---- cast -------------------------------------------------------------------

CAST_SRC = {
    "f32": [0.0, 1.5, -1.5, 2.9, -2.9, 100.25, 127.0, -0.0, 0.5, -127.9],
    "f64": [0.0, 1.5, -1.5, 2.9, -2.9, 100.25, 127.0, -0.0, 0.5, -127.9],
    "i32": [0, 1, -1, 2, 127, -128, 300, -300, 65537, 2**31 - 1, -2**31],
    "i64": [0, 1, -1, 2, 127, -128, 300, -300, 65537, 2**31 - 1, 2**40 + 3, -2**63, 2**53 + 1],
    "bool": [0, 1, 1, 0],
    "u8": [0, 1, 127, 128, 200, 255],
    "i8": [0, 1, -1, 127, -128],
}
for src in ALL:
    for dst in ALL:
        vals = list(CAST_SRC[src])
        if src in FLOATS and dst == "u8":
            vals = [v for v in vals if v >= 0]  # negatives saturate here, wrap in NumPy
        if src in FLOATS and dst == "bool":
            vals = vals + [math.nan, math.inf]
        a = np.array(vals, dtype=NP[src])
        ref = a.astype(NP[dst])
        add_case(f"cast_{src}_{dst}", "cast", [(src, a)], (dst, ref), RTOL.get(dst, 0.0), [(DT[dst], 0.0)])
a = rand("f32", [2, 0, 3])
add_case("cast_f32_i32_empty", "cast", [("f32", a)], ("i32", a.astype(np.int32)), 0.0, [(DT["i32"], 0.0)])

# ---- where ------------------------------------------------------------------

for tag, sc, sa, sb, dt in (("bcast3", [2, 1, 3], [4, 1], [3], "f32"),
                            ("same", [3, 4], [3, 4], [3, 4], "i64"),
                            ("bool", [5], [5], [], "bool"),
                            ("cond0", [], [5], [], "f64"),
                            ("i32", [2, 3], [1, 3], [2, 1], "i32"),
                            ("i8", [4], [4], [4], "i8"),
                            ("empty", [0, 3], [3], [1], "f32")):
    c = rand("bool", sc)
    a = rand(dt, sa, 0, 1) if dt == "bool" else rand(dt, sa, -9, 9)
    b = rand(dt, sb, 0, 1) if dt == "bool" else rand(dt, sb, -9, 9)
    add_case(f"where_{tag}", "where", [("bool", c), (dt, a), (dt, b)], (dt, np.where(c, a, b)),
             RTOL.get(dt, 0.0))

# ---- emit -------------------------------------------------------------------


def c_float(v, dt):
    v = float(v)
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    if dt == "f32":
        return repr(float(np.float32(v))) + "f"
    return repr(v)


def c_int(v, dt):
    v = int(v)
    if dt == "i64":
        if v == -2**63:
            return "INT64_MIN"
        return f"INT64_C({v})"
    if dt == "i32" and v == -2**31:
        return "INT32_MIN"
    return str(v)


def c_values(dt, arr):
    flat = arr.ravel()
    if dt in FLOATS:
        return [c_float(v, dt) for v in flat]
    if dt == "bool":
        return ["1" if v else "0" for v in flat]
    return [c_int(v, dt) for v in flat]


def emit():
    lines = []
    w = lines.append
    w("/* tests/ref/elementwise_ref.h -- GENERATED by tests/gen_elementwise_ref.py from NumPy")
    w(" * " + np.__version__ + "; do not edit. Reference cases of the elementwise ops: inputs,")
    w(" * attributes and the expected output, run by tests/test_ops_elementwise.c. */")
    w("#ifndef TESTS_REF_ELEMENTWISE_REF_H")
    w("#define TESTS_REF_ELEMENTWISE_REF_H")
    w("")
    w("#include <math.h>")
    w("#include <stdint.h>")
    w("")
    w("typedef struct ew_ref_tensor {")
    w("    int dtype; /* op_dtype */")
    w("    int rank;")
    w("    int64_t dims[8];")
    w("    const void *data; /* NULL when empty */")
    w("} ew_ref_tensor;")
    w("")
    w("typedef struct ew_ref_case {")
    w("    const char *name;")
    w("    const char *op;      /* op table name */")
    w("    int n_attrs;         /* attrs by position: .i = attr_i, .f = attr_f */")
    w("    int64_t attr_i[2];")
    w("    double attr_f[2];")
    w("    int n_in;")
    w("    ew_ref_tensor in[3];")
    w("    ew_ref_tensor out;")
    w("    double rtol;         /* relative tolerance; 0: exact */")
    w("} ew_ref_case;")
    w("")

    def arr(name, dt, a):
        if a.size == 0:
            return "NULL"
        vals = c_values(dt, a)
        w(f"static const {CT[dt]} {name}[{len(vals)}] = {{")
        for i in range(0, len(vals), 8):
            w("    " + ", ".join(vals[i:i + 8]) + ",")
        w("};")
        return name

    def tensor(dt, a, data):
        dims = list(a.shape) + [0] * (8 - a.ndim)
        return f"{{ {DT[dt]}, {a.ndim}, {{ {', '.join(str(d) for d in dims)} }}, {data} }}"

    entries = []
    for idx, c in enumerate(cases):
        ins = []
        for k, (dt, a) in enumerate(c["ins"]):
            a = np.asarray(a, dtype=NP[dt])
            ins.append(tensor(dt, a, arr(f"ew_ref_{idx}_in{k}", dt, a)))
        dt, o = c["out"]
        o = np.asarray(o, dtype=NP[dt])
        out = tensor(dt, o, arr(f"ew_ref_{idx}_out", dt, o))
        while len(ins) < 3:
            ins.append("{ 0, 0, { 0 }, NULL }")
        at = c["attrs"] + [(0, 0.0)] * (2 - len(c["attrs"]))
        ai = ", ".join(str(int(x[0])) for x in at)
        af = ", ".join(c_float(x[1], "f64") for x in at)
        entries.append(f'    {{ "{c["name"]}", "{c["op"]}", {len(c["attrs"])}, {{ {ai} }}, {{ {af} }}, '
                       f'{len(c["ins"])},\n      {{ {", ".join(ins)} }},\n      {out}, {c["rtol"]!r} }},')
    w("")
    w("static const ew_ref_case ew_ref_cases[] = {")
    lines.extend(entries)
    w("};")
    w("#define EW_REF_N_CASES ((int)(sizeof ew_ref_cases / sizeof ew_ref_cases[0]))")
    w("")
    w("#endif")
    return "\n".join(lines) + "\n"


def main():
    text = emit()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        fh.write(text)
    print(f"{OUT}: {len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
