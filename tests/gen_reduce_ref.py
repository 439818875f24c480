#!/usr/bin/env python3
"""tests/gen_reduce_ref.py -- NumPy reference data for the reductions
(ops/reduce.c): sum, mean, max, min, argmax. Writes tests/ref/reduce_ref.h,
which is committed so CI needs no Python: run `python3 tests/gen_reduce_ref.py`
after changing a case. Float sums are computed in float64 and rounded once."""
import os
import sys
import warnings

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_shape_ref import Emitter  # noqa: E402

rng = np.random.default_rng(20240611)


def rnd(shape, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return (rng.standard_normal(shape) * 4).astype(dtype)
    return rng.integers(-1000, 1000, size=shape).astype(dtype)


def axes_arg(x, axes):
    return tuple(axes) if axes else tuple(range(x.ndim))


def red(fn, x, axes, keep):
    ax = axes_arg(x, axes)
    if fn in ("sum", "mean") and x.dtype.kind == "f":
        r = getattr(np, fn)(x.astype(np.float64), axis=ax, keepdims=keep)
    elif fn == "sum":
        r = np.sum(x, axis=ax, keepdims=keep, dtype=x.dtype)  # integers wrap
    else:
        r = getattr(np, fn)(x, axis=ax, keepdims=keep)
    return np.asarray(r).astype(x.dtype)


def main():
    np.seterr(all="ignore")  # the mean of nothing is NaN, quietly
    warnings.simplefilter("ignore", RuntimeWarning)
    e = Emitter("reduce")
    f32, f64, i32, i64 = np.float32, np.float64, np.int32, np.int64

    def case(name, fn, x, axes=(), keep=0):
        at = {"keepdims": keep}
        if axes:
            at["axes"] = list(axes)
        e.case(name, fn, at, [x], [red(fn, x, list(axes), bool(keep))])

    x = rnd((3, 4, 5), f32)
    case("sum_f32_mid_axis", "sum", x, [1])
    case("sum_f32_all", "sum", x)
    case("sum_f32_first_last_keep", "sum", x, [0, -1], 1)
    case("sum_f32_leading", "sum", x, [0, 1])
    case("sum_f32_general", "sum", rnd((2, 3, 4, 5), f32), [1, 3])
    xi = rnd((4, 5), i32)
    xi[:, 2] = 1_500_000_000  # the column sum wraps in int32, as NumPy's
    case("sum_i32_axis0_wrap", "sum", xi, [0])
    case("sum_i64_all", "sum", rnd((2, 3, 4), i64))
    case("sum_f64_last_keep", "sum", rnd((3, 4), f64), [-1], 1)
    case("sum_size1_axis", "sum", rnd((3, 1, 4), f32), [1])
    case("sum_scalar", "sum", np.array(2.5, f32))
    case("sum_empty_axis", "sum", np.zeros((0, 3), f32), [0])
    case("mean_empty_axis", "mean", np.zeros((0, 3), f64), [0])

    case("mean_f32_two_axes", "mean", rnd((2, 3, 4), f32), [0, 2])
    case("mean_f64_all", "mean", rnd((3, 5), f64))
    case("mean_f32_keep", "mean", rnd((4, 6), f32), [1], 1)

    xn = rnd((3, 4), f32)
    xn[1, 2] = np.nan
    xn[2, 0] = np.inf
    case("max_f32_nan_row", "max", xn, [1])
    case("min_f32_nan_col", "min", xn, [0])
    case("max_i32_keep", "max", rnd((2, 3, 4), i32), [1], 1)
    xl = rnd((3, 5), i64)
    xl[1, 3] = -(2**62)
    case("min_i64_axis1", "min", xl, [1])
    case("min_f64_general", "min", rnd((2, 3, 2, 3), f64), [0, 2])
    case("max_f64_all", "max", rnd((4, 3), f64))

    def argmax(name, x, axis, keep=0):
        r = np.argmax(x, axis=axis, keepdims=bool(keep)).astype(np.int64)
        e.case(name, "argmax", {"axis": axis, "keepdims": keep}, [x], [r])

    xa = np.array([[1, 3, 3, 2], [np.nan, 5, np.nan, 9], [-1, -1, -1, -1]], f32)
    argmax("argmax_f32_ties_nan", xa, 1)
    argmax("argmax_f32_axis0", xa, 0)
    xb = rnd((2, 3, 4), i32)
    xb[1, :, :2] = xb[0, :, :2]  # ties along the axis: the first wins
    argmax("argmax_i32_axis0_keep", xb, 0, 1)
    argmax("argmax_f64_neg_axis", rnd((2, 3, 4), f64), -2)
    argmax("argmax_i64_rank1", np.array([4, 9, -2, 9], np.int64), 0)

    e.write("tests/ref/reduce_ref.h", "tests/gen_reduce_ref.py")


if __name__ == "__main__":
    sys.exit(main())
