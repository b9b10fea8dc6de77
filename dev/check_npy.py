#!/usr/bin/env python3
"""check_npy.py — a by-hand cross-check of src/io/npy.c against numpy (not
used by the tests, which must run without Python).

    python3 dev/check_npy.py FILE.npy ...        load each with numpy, print
                                                 shape, dtype, a checksum
    python3 dev/check_npy.py --write DIR         write numpy reference files
                                                 (format 1.0 and 2.0) to DIR
"""
import os
import sys

import numpy as np


def show(path):
    a = np.load(path, allow_pickle=False)  # refuses anything but plain arrays
    total = float(a.astype(np.float64).sum()) if a.size else 0.0
    print(f"{path}: shape {a.shape} dtype {a.dtype.str} "
          f"fortran {np.isfortran(a) and a.ndim > 1} sum {total:.17g}")


def write_references(folder):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    arrays = {
        "u1_4d": rng.integers(0, 256, (3, 4, 5, 3), dtype=np.uint8),
        "f4_2d": rng.standard_normal((6, 7)).astype("<f4"),
        "f8_1d": rng.standard_normal(9),
        "f8_0d": np.array(2.5),
        "f4_empty": np.zeros((3, 0, 2), "<f4"),
    }
    for name, a in arrays.items():
        for version in ((1, 0), (2, 0)):
            path = os.path.join(folder, f"{name}_v{version[0]}.npy")
            with open(path, "wb") as f:
                np.lib.format.write_array(f, a, version=version)
            show(path)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write_references(sys.argv[2])
    elif len(sys.argv) >= 2 and not sys.argv[1].startswith("-"):
        for p in sys.argv[1:]:
            show(p)
    else:
        sys.exit(__doc__)
