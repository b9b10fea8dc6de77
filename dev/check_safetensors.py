#!/usr/bin/env python3
"""check_safetensors.py — an independent reader and writer of .safetensors
files in plain Python (struct, json, numpy), for checking src/io/safetensors.c
by hand against a second implementation. Not used by the tests.

    check_safetensors.py read FILE         print metadata, names, shapes, sums
    check_safetensors.py write FILE        write a small known checkpoint

The writer follows the reference implementation: __metadata__ first, F32
tensors packed in order, the JSON padded with spaces so the data starts
8-byte aligned.
"""
import json
import struct
import sys

import numpy as np


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        sys.exit(f"{path}: truncated")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        sys.exit(f"{path}: header length {n} larger than the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    print(f"{path}: header {n} bytes, data {len(data)} bytes, "
          f"data starts at {8 + n} ({'8-byte aligned' if (8 + n) % 8 == 0 else 'unaligned'})")
    for k, v in header.get("__metadata__", {}).items():
        print(f"  meta {k!r} = {v!r}")
    end = 0
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", f"{name}: dtype {e['dtype']}"
        b, t = e["data_offsets"]
        a = np.frombuffer(data[b:t], dtype="<f4").reshape(e["shape"])
        end = max(end, t)
        print(f"  {name}: shape {list(a.shape)} offsets [{b}, {t}] "
              f"sum {float(a.astype(np.float64).sum())!r} first "
              f"{a.ravel()[:3].tolist()}")
    assert end == len(data), f"{len(data) - end} trailing bytes"


def write(path):
    tensors = {
        "encoder.conv1.weight": np.arange(2 * 3 * 3 * 3, dtype="<f4").reshape(2, 3, 3, 3) / 8,
        "prior.log_L": np.array([-3.75], dtype="<f4"),
        "probe.coef": np.array([[1.5, -2.25], [0.0, 1e-30], [np.inf, -0.0]], dtype="<f4"),
        "empty": np.zeros((0, 4), dtype="<f4"),
        "scalar": np.array(7.0, dtype="<f4"),
    }
    header = {"__metadata__": {"source": "check_safetensors.py", "step": "1200"}}
    offset = 0
    for name, a in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for a in tensors.values():
            f.write(a.tobytes())
    print(f"{path}: wrote {len(tensors)} tensors")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("read", "write"):
        sys.exit(__doc__)
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
