#!/usr/bin/python3
"""train_pngs.py — your own video from Python: a folder of PNG frames
(ffmpeg -i clip.mp4 -vf scale=128:96 frames/%05d.png), trained with the
prior you choose, its latents saved for NumPy, and the pictures of what
each map learned.

    PYTHONPATH=python examples/train_pngs.py FRAMES_DIR [--prior gaussian] [--maps 2]
        [--epochs 30] [--out OUT] [--make]

--make first writes FRAMES_DIR as a folder of PNG frames of a grey
128 x 96 video of two balls (standard library only), to try the script
without a recording of your own. Writes OUT/model.safetensors (the CLI's
checkpoint: `ssvae train --resume` continues it), OUT/z.npy (T, 2K) and
OUT/pictures/*.png (ssvae show).
"""
import argparse
import os
import struct
import zlib

import numpy as np

import ssvae


def write_png(path, img):
    """An 8-bit grey (H, W) or RGB (H, W, 3) PNG."""
    h, w = img.shape[:2]
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0 if img.ndim == 2 else 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
                + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("frames_dir")
    ap.add_argument("--prior", default="gaussian", help="one of %s" % ", ".join(ssvae.priors()))
    ap.add_argument("--maps", type=int, default=2, help="K, one map per object")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="own-video-out")
    ap.add_argument("--make", action="store_true", help="write a demo PNG folder first")
    a = ap.parse_args()

    if a.make:
        os.makedirs(a.frames_dir, exist_ok=True)
        frames, _ = ssvae.generate(300, seed=a.seed, width=128, height=96, balls=2, radius=8, step=8,
                                   colours=[(255, 127, 80), (60, 179, 113)], grey=True)
        for t, f in enumerate(frames):
            write_png(os.path.join(a.frames_dir, "frame_%d.png" % t), f[..., 0])
        print("wrote %d PNG frames to %s" % (len(frames), a.frames_dir))

    frames, centres = ssvae.read_video(a.frames_dir)   # (T, H, W, C) uint8, in natural name order
    print("%s: %d frames of %dx%d, %d channel(s)" % (a.frames_dir, frames.shape[0], frames.shape[2],
                                                    frames.shape[1], frames.shape[3]))
    model = ssvae.train(frames, a.prior, maps=a.maps, epochs=a.epochs, seed=a.seed,
                        data_name=a.frames_dir)
    os.makedirs(a.out, exist_ok=True)
    model.save(os.path.join(a.out, "model.safetensors"))
    z = model.encode(frames)
    np.save(os.path.join(a.out, "z.npy"), z)
    pictures = model.show(frames, os.path.join(a.out, "pictures"), centres)
    print("%r\nwrote %s, %s and %s" % (model, os.path.join(a.out, "model.safetensors"),
                                       os.path.join(a.out, "z.npy"), ", ".join(pictures)))


if __name__ == "__main__":
    main()
