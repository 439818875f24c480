#!/usr/bin/env python3
"""tests/gen_npy_data.py -- writes the .npy files that tests/test_rt_npy.c
loads (tests/data/npy/). Run from the repository root:
    python3 tests/gen_npy_data.py
The outputs are committed, so the C tests need no Python. Values here must
match the expectations written in tests/test_rt_npy.c."""
import os
import numpy as np
from numpy.lib import format as npf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "npy")
os.makedirs(OUT, exist_ok=True)


def path(name):
    return os.path.join(OUT, name)


# files written by numpy.save (version 1.0 as numpy chooses)
np.save(path("f32_2x3.npy"), (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3))
np.save(path("f64_scalar.npy"), np.array(3.25, dtype=np.float64))
np.save(path("i64_3.npy"), np.array([-1, 0, 2**40], dtype=np.int64))
np.save(path("i32_0x5.npy"), np.zeros((0, 5), dtype=np.int32))
np.save(path("bool_4.npy"), np.array([True, False, False, True]))
np.save(path("u8_2x2.npy"), np.array([[0, 255], [7, 128]], dtype=np.uint8))
np.save(path("i8_3.npy"), np.array([-128, 0, 127], dtype=np.int8))

# versions 2.0 and 3.0
with open(path("v2_f32_2x2.npy"), "wb") as f:
    npf.write_array(f, np.array([[1.5, -2], [3, 4]], dtype=np.float32), version=(2, 0))
with open(path("v3_i32_3.npy"), "wb") as f:
    npf.write_array(f, np.array([7, 8, 9], dtype=np.int32), version=(3, 0))

# hand-made: keys reordered, double quotes, trailing comma, 16-byte alignment
hdr = b'{"shape": (2, 2), "fortran_order": False, "descr": "<i4",}'
total = 10 + len(hdr) + 1
pad = (16 - total % 16) % 16
hdr = hdr + b" " * pad + b"\n"
assert (10 + len(hdr)) % 16 == 0 and (10 + len(hdr)) % 64 != 0
with open(path("handmade_16.npy"), "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr)
    f.write(np.array([[1, -2], [3, 40000]], dtype="<i4").tobytes())

# files the reader must reject with a message
np.save(path("fortran_2x3.npy"), np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.save(path("bigendian_f4.npy"), np.array([1, 2, 3], dtype=">f4"))
np.save(path("object.npy"), np.array([1, "a", None], dtype=object), allow_pickle=True)
np.save(path("structured.npy"), np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")]))
np.save(path("f16.npy"), np.array([1, 2], dtype=np.float16))
np.save(path("i2.npy"), np.array([1, 2], dtype=np.int16))
good = open(path("f32_2x3.npy"), "rb").read()
with open(path("truncated.npy"), "wb") as f:
    f.write(good[:-4])
print("wrote", OUT)
