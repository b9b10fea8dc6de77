"""Data in and latents out agree with the CLI: generate writes the same
bytes, read_video reads PNG folders as the CLI does, encode gives the same
latents, probe the same scores, theory the same checks."""
import json
import struct
import zlib

import numpy as np
import pytest

import ssvae
from conftest import SMALL, cli


def test_generate_same_bytes_as_the_cli(tmp_path):
    for grey in (False, True):
        f, c = ssvae.generate(12, seed=7, grey=grey, **SMALL)
        args = ["generate", "--frames", 12, "--seed", 7, "--width", 32, "--height", 32, "--balls", 2,
                "--radius", 4, "--step", 4, "--out", tmp_path / "g"]
        cli(*(args + (["--grey"] if grey else [])))
        assert np.array_equal(np.load(tmp_path / "g" / "frames.npy"), f)
        assert np.array_equal(np.load(tmp_path / "g" / "centres.npy"), c)


def write_png(path, img):
    """A minimal 8-bit PNG (grey or RGB), standard library only."""
    h, w = img.shape[:2]
    ctype = 0 if img.ndim == 2 else 2
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_read_video_png_folder(tmp_path, small):
    f = small[0][:11]
    d = tmp_path / "pngs"
    d.mkdir()
    for t in range(len(f)):  # natural order: frame_2 before frame_10
        write_png(d / ("frame_%d.png" % t), f[t])
    frames, centres = ssvae.read_video(d)
    assert centres is None
    assert np.array_equal(frames, f)
    with pytest.raises(ssvae.Error) as e:
        ssvae.read_video(tmp_path / "nothing")
    assert "nothing" in str(e.value)


def test_encode_same_as_the_cli(tmp_path, model, small, small_dir):
    model.save(tmp_path / "m.safetensors")
    cli("encode", "--model", tmp_path / "m.safetensors", "--data", small_dir, "--out", tmp_path / "z.npy",
        "--quiet")
    z = model.encode(small[0])
    assert z.dtype == np.float32 and z.shape == (40, 4)
    assert np.array_equal(np.load(tmp_path / "z.npy"), z)


def test_probe_same_as_the_cli(tmp_path, model, small, small_test, small_dir):
    d = tmp_path / "test"
    d.mkdir()
    np.save(d / "frames.npy", small_test[0])
    np.save(d / "centres.npy", small_test[1])
    model.save(tmp_path / "m.safetensors")
    out = cli("probe", "--model", tmp_path / "m.safetensors", "--train", small_dir, "--test", d).stdout
    row = [l for l in out.splitlines() if l.startswith("gaussian")][0].split()
    s = ssvae.probe(model.encode(small[0]), small[1], model.encode(small_test[0]), small_test[1],
                    width=32, height=32)
    assert "%.2f" % s.probe_test == row[1]
    assert "%.2f" % s.direct_test == row[3]
    assert "%.2f" % s.probe_train == row[5]
    assert "%.2f" % s.direct_train == row[7]
    assert str(s.found) == row[9]
    assert s.probe_test < s.chance_test


def test_theory_same_as_the_cli(tmp_path):
    r = ssvae.theory(samples=2000, batch_max=512, reps=2, seed=3)
    cli("theory", "--samples", 2000, "--batch-max", 512, "--reps", 2, "--seed", 3, "--out", tmp_path,
        check=False)
    js = json.loads((tmp_path / "theory.json").read_text())
    assert [x["id"] for x in r["rows"]] == [x["id"] for x in js["rows"]]
    for a, b in zip(r["rows"], js["rows"]):
        assert a["closed"] == pytest.approx(b["closed"], rel=1e-9, abs=1e-12)
        assert a["mc"] == pytest.approx(b["mc"], rel=1e-9, abs=1e-12)
        assert a["passed"] == b["pass"]
    assert r["failures"] == js["failures"]
    assert len(r["curves"]) == len(js["curves"]) and r["curves"][0]["points"]
