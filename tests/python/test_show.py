"""`ssvae show` and ssvae.show: the pictures of what a model learned, on
colour and grey videos of any size and number of maps, with and without
true centres."""
import os

import numpy as np
import pytest

import ssvae
from conftest import cli

PNG = b"\x89PNG\r\n\x1a\n"


def pngs(paths):
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == PNG, p


def test_show_colour_with_centres(tmp_path, model, small):
    out = model.show(small[0], tmp_path / "a", small[1])
    assert [os.path.basename(p) for p in out] == ["maps.png", "tracks.png", "predictive.png", "decoded.png"]
    pngs(out)
    assert sorted(os.listdir(tmp_path / "a")) == sorted(os.path.basename(p) for p in out)


def test_show_grey_any_size_no_truth(tmp_path):
    f, _ = ssvae.generate(20, seed=1, width=40, height=24, balls=3, radius=3, step=3, grey=True)
    m = ssvae.train(f, maps=5, epochs=1, progress=False)
    out = ssvae.show(m, f[..., 0], tmp_path / "g", nframes=3)
    assert [os.path.basename(p) for p in out] == ["maps.png", "tracks.png", "predictive.png"]
    pngs(out)


def test_show_supervised_has_no_predictive(tmp_path, small):
    m = ssvae.train(small[0], "supervised", centres=small[1], epochs=1, progress=False)
    out = m.show(small[0], tmp_path / "s", small[1], frame=5, nframes=2)
    assert [os.path.basename(p) for p in out] == ["maps.png", "tracks.png", "decoded.png"]


def test_cli_show(tmp_path, model, small_dir):
    model.save(tmp_path / "m.safetensors")
    p = cli("show", "--model", tmp_path / "m.safetensors", "--data", small_dir, "--out", tmp_path / "c")
    assert "wrote 4 pictures" in p.stdout
    pngs(str(tmp_path / "c" / n) for n in ("maps.png", "tracks.png", "predictive.png", "decoded.png"))
    assert not [n for n in os.listdir(tmp_path / "c") if ".tmp." in n]
    bad = cli("show", "--model", tmp_path / "m.safetensors", "--data", tmp_path / "none", "--out",
              tmp_path / "d", check=False)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "none" in bad.stderr
    assert not os.path.exists(tmp_path / "d")


def test_show_bad_input(tmp_path, model, small):
    with pytest.raises(ValueError):
        model.show(small[0][:, :16], tmp_path / "x")
    with pytest.raises(ValueError):
        model.show(small[0], tmp_path / "x", nframes=0)
    with pytest.raises(ssvae.Error) as e:  # too few frames for the probe of decoded.png
        model.show(small[0][:3], tmp_path / "x", small[1][:3])
    assert "decoded.png" in str(e.value)
    assert not os.path.exists(tmp_path / "x")
