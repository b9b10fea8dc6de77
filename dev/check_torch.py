#!/usr/bin/python3
"""check_torch.py — loads an ssvae checkpoint by tensor name into a PyTorch
model of the same architecture and checks that it gives the latents that
`ssvae encode` writes, to within a tolerance (default 1e-4). Not used by the
tests (the C tests need no Python).

usage: dev/check_torch.py [CHECKPOINT FRAMES] [--ssvae build/ssvae] [--tol 1e-4]
                          [--prior gaussian] [--frames 48] [--width W]
                          [--height H] [--balls K] [--grey] [--keep DIR]

    CHECKPOINT  a model written by `ssvae train` or `ssvae demo` (.safetensors)
    FRAMES      a video as .npy (T, H, W, C) or (T, H, W), or a folder holding
                frames.npy; uint8, or float in [0, 1] (quantised as ssvae does)

Without CHECKPOINT and FRAMES the script makes its own in a temporary folder:
`ssvae generate --frames N [--width --height --balls --grey]`, then
`ssvae train --prior P --epochs 2`. In both cases it runs `ssvae encode` on
FRAMES, loads z.npy, computes the latents with torch.nn (float32, as a
PyTorch user would, and float64 as a reference), prints the largest absolute
difference and PASS or FAIL; the exit status is 1 on FAIL.

Needs the system interpreter with Debian's numpy and torch
(apt-get install python3-numpy python3-torch). The safetensors file is
parsed here (8-byte little-endian header length, JSON header, raw tensors).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn


def read_safetensors(path):
    """Returns ({name: np.ndarray}, {metadata key: string})."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        sys.exit(f"{path}: truncated")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        sys.exit(f"{path}: header length {n} larger than the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name}: dtype {e['dtype']}, expected F32")
        b, t = e["data_offsets"]
        tensors[name] = np.frombuffer(data[b:t], dtype="<f4").reshape(e["shape"]).copy()
    return tensors, meta


class Encoder(nn.Module):
    """The network of src/encoder.c in evaluation mode:
    x = byte / 255, (N, C, H, W)
    conv1 3x3 pad 1 (C -> F) -> bn1 (running stats, eps 1e-5) -> ReLU
    conv2 3x3 pad 1 (F -> K) -> bn2 -> sigmoid -> s (N, K, H, W)
    z[2k]   = (sum_ij s j / sum_ij s + 0.5) / W   (centre of mass of the
    z[2k+1] = (sum_ij s i / sum_ij s + 0.5) / H    pixel centres, normalised)
    """

    def __init__(self, C, F, K):
        super().__init__()
        self.conv1 = nn.Conv2d(C, F, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(F, eps=1e-5)
        self.conv2 = nn.Conv2d(F, K, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(K, eps=1e-5)

    def forward(self, frames):  # frames (N, H, W, C) uint8
        x = frames.permute(0, 3, 1, 2).to(self.conv1.weight.dtype) / 255.0
        h = torch.relu(self.bn1(self.conv1(x)))
        s = torch.sigmoid(self.bn2(self.conv2(h)))
        N, K, H, W = s.shape
        mass = s.sum(dim=(2, 3))
        j = torch.arange(W, dtype=s.dtype)
        i = torch.arange(H, dtype=s.dtype)
        cx = (s.sum(dim=2) * j).sum(dim=2) / mass  # (N, K), pixels
        cy = (s.sum(dim=3) * i).sum(dim=2) / mass
        z = torch.stack(((cx + 0.5) / W, (cy + 0.5) / H), dim=2)  # (N, K, 2)
        return z.reshape(N, 2 * K)


def load_frames(path):
    """(T, H, W, C) uint8 as ssvae reads it (floats quantised as round(255 x),
    ties to even, after checking [0, 1])."""
    if os.path.isdir(path):
        path = os.path.join(path, "frames.npy")
    v = np.load(path)
    if v.ndim == 3:
        v = v[..., None]
    if v.ndim != 4:
        sys.exit(f"{path}: expected (T, H, W, C) or (T, H, W), got {v.shape}")
    if v.dtype != np.uint8:
        x = v.astype(np.float64)
        if not np.all((x >= 0) & (x <= 1)):
            sys.exit(f"{path}: float frames outside [0, 1]")
        v = np.rint(255.0 * x).astype(np.uint8)
    return v


def build_model(ckpt, dtype):
    tensors, meta = read_safetensors(ckpt)
    if meta.get("format") != "ssvae":
        sys.exit(f"{ckpt}: not an ssvae checkpoint")
    C, H, W, F, K = (int(meta[k]) for k in ("C", "H", "W", "F", "K"))
    model = Encoder(C, F, K)
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    res = model.load_state_dict(state, strict=False)
    missing = [k for k in res.missing_keys if not k.endswith("num_batches_tracked")]
    unexpected = [k for k in res.unexpected_keys
                  if not k.startswith(("prior.", "head.", "optim."))]
    if missing or unexpected:
        sys.exit(f"{ckpt}: missing {missing}, unexpected {unexpected}")
    model.eval().to(dtype)
    return model, meta, (C, H, W, F, K)


def torch_latents(model, frames, dtype, chunk=64):
    out = []
    with torch.no_grad():
        for t0 in range(0, len(frames), chunk):
            x = torch.from_numpy(frames[t0:t0 + chunk])
            out.append(model(x).to(torch.float64).numpy())
    return np.concatenate(out)


def run(cmd, env):
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, env=env)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", nargs="?")
    ap.add_argument("frames", nargs="?")
    ap.add_argument("--ssvae", default=os.path.join(os.path.dirname(__file__), "..", "build", "ssvae"))
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--prior", default="gaussian", help="for the generated model")
    ap.add_argument("--frames", dest="nframes", type=int, default=48, help="generated video length")
    ap.add_argument("--width", type=int, default=0)
    ap.add_argument("--height", type=int, default=0)
    ap.add_argument("--balls", type=int, default=3)
    ap.add_argument("--grey", action="store_true")
    ap.add_argument("--keep", help="make the generated files here instead of a temporary folder")
    a = ap.parse_args()
    if (a.checkpoint is None) != (a.frames is None):
        ap.error("give both CHECKPOINT and FRAMES, or neither")

    torch.set_num_threads(1)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    tmp = tempfile.TemporaryDirectory(prefix="check_torch.")
    work = a.keep or tmp.name
    os.makedirs(work, exist_ok=True)
    ssvae = a.ssvae
    if a.checkpoint is None:
        video = os.path.join(work, "video")
        gen = [ssvae, "generate", "--frames", str(a.nframes), "--balls", str(a.balls),
               "--out", video]
        if a.width: gen += ["--width", str(a.width)]
        if a.height: gen += ["--height", str(a.height)]
        if a.grey: gen += ["--grey"]
        run(gen, env)
        a.checkpoint = os.path.join(work, f"{a.prior}.safetensors")
        run([ssvae, "train", "--data", video, "--prior", a.prior, "--epochs", "2",
             "--quiet", "--save", a.checkpoint], env)
        a.frames = video
    zpath = os.path.join(work, "z.npy")
    run([ssvae, "encode", "--model", a.checkpoint, "--data", a.frames, "--out", zpath,
         "--quiet"], env)
    z_c = np.load(zpath).astype(np.float64)
    frames = load_frames(a.frames)

    diffs = {}
    for dtype in (torch.float32, torch.float64):
        model, meta, (C, H, W, F, K) = build_model(a.checkpoint, dtype)
        z_t = torch_latents(model, frames, dtype)
        if z_t.shape != z_c.shape:
            sys.exit(f"shapes differ: torch {z_t.shape}, ssvae {z_c.shape}")
        diffs[dtype] = float(np.max(np.abs(z_t - z_c)))
    print(f"{a.checkpoint}: head {meta.get('head')}, C={C} H={H} W={W} F={F} K={K}; "
          f"{z_c.shape[0]} frames, z {tuple(z_c.shape)} in [{z_c.min():.3f}, {z_c.max():.3f}]")
    print(f"max |z_torch - z_ssvae|: float32 {diffs[torch.float32]:.3g}, "
          f"float64 {diffs[torch.float64]:.3g}")
    ok = all(d <= a.tol for d in diffs.values())
    print(f"{'PASS' if ok else 'FAIL'} at {a.tol:g}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
