"""Training from Python is the CLI's training: the same keywords give the
same bits; the checkpoint is the CLI's file (it resumes there); Ctrl-C
keeps the model of the last whole epoch; a failure in C is ssvae.Error."""
import json
import os
import signal
import threading

import numpy as np
import pytest

import ssvae
from conftest import cli


def same_tensors(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sorted(sa) == sorted(sb)
    for k in sa:
        assert np.array_equal(sa[k], sb[k]), k


def recipe_line(path):
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n])["__metadata__"]["recipe"]


@pytest.mark.parametrize("prior,flags", [
    ("gaussian", {}),
    ("linear", {"optim": "adam", "lr": 0.01, "W0": "data"}),
    ("gaussian", {"momentum": 0.9, "L0": "data", "batch": 8, "offset": 2}),
    ("supervised", {}),
    ("gaussian", {"optim": "adam", "lr": 0.005, "bn2_bias": -8, "bn2_gain": 2}),
    ("student-t", {"nu": 3}),
])
def test_same_bits_as_the_cli(tmp_path, small, small_dir, prior, flags):
    frames, centres = small
    kw = dict(flags)
    m = ssvae.train(frames, prior, centres=centres, epochs=3,
                    seed=5, progress=False, **kw)
    args = ["train", "--data", small_dir, "--prior", prior, "--epochs", 3, "--seed", 5, "--quiet",
            "--save", tmp_path / "cli.safetensors"]
    for k, v in flags.items():
        args += ["--" + k.replace("_", "-"), v]
    cli(*args)
    c = ssvae.load(tmp_path / "cli.safetensors")
    same_tensors(m, c)
    assert m.history == c.history
    assert np.array_equal(m.encode(frames), c.encode(frames))
    # the checkpoint's recipe line is the CLI's
    m.save(tmp_path / "py.safetensors")
    assert recipe_line(tmp_path / "py.safetensors") == recipe_line(tmp_path / "cli.safetensors")


def test_checkpoint_resumes_in_the_cli(tmp_path, small, small_dir):
    frames = small[0]
    m = ssvae.train(frames, maps=2, epochs=2, seed=3, optim="adam", progress=False)
    m.save(tmp_path / "py.safetensors")
    cli("train", "--data", small_dir, "--resume", tmp_path / "py.safetensors", "--epochs", 4, "--quiet")
    cli("train", "--data", small_dir, "--epochs", 4, "--seed", 3, "--optim", "adam", "--quiet",
        "--save", tmp_path / "straight.safetensors")
    same_tensors(ssvae.load(tmp_path / "py.safetensors"), ssvae.load(tmp_path / "straight.safetensors"))
    # and the CLI reads the Python file as a model
    out = cli("encode", "--model", tmp_path / "py.safetensors", "--data", small_dir, "--out",
              tmp_path / "z.npy", "--quiet")
    assert "wrote" in out.stdout


def test_save_load_round_trip(tmp_path, model, small):
    model.save(tmp_path / "m.safetensors")
    back = ssvae.load(tmp_path / "m.safetensors")
    same_tensors(model, back)
    assert back.history == model.history
    assert np.array_equal(back.encode(small[0]), model.encode(small[0]))


def test_ctrl_c_keeps_the_last_whole_epoch(small):
    frames = small[0]
    epoch_done = threading.Event()

    class Hook:  # sends SIGINT from another thread once training is under way
        def __init__(self):
            self.t = threading.Thread(target=self.run, daemon=True)

        def run(self):
            epoch_done.wait(30)
            os.kill(os.getpid(), signal.SIGINT)

    h = Hook()
    h.t.start()
    import ssvae._progress as prog
    real = prog.Bar.epoch

    def epoch(self, st):
        epoch_done.set()
    prog.Bar.epoch = epoch
    try:
        m = ssvae.train(frames, epochs=200, seed=2, progress=True)
    finally:
        prog.Bar.epoch = real
    assert m.interrupted
    e = m.epochs_trained
    assert 1 <= e < 200
    again = ssvae.train(frames, epochs=e, seed=2, progress=False)
    # the model is that of epoch e of the run, bit for bit
    np.testing.assert_array_equal(m.params, again.params)
    assert m.history == again.history
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_c_errors_are_python_exceptions(tmp_path, small):
    with pytest.raises(ssvae.Error) as e:
        ssvae.load(tmp_path / "missing.safetensors")
    assert "missing.safetensors" in str(e.value) and "\n" not in str(e.value)
    (tmp_path / "junk.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{...}")
    with pytest.raises(ssvae.Error):
        ssvae.load(tmp_path / "junk.safetensors")
    with pytest.raises(ssvae.Error) as e:
        ssvae.train(small[0], lr=100, momentum=0.99, epochs=5, progress=False)
    assert "NaN" in str(e.value) or "infinite" in str(e.value)
    with pytest.raises(ssvae.Error):
        ssvae.generate(10, width=8, height=8, radius=16)


def test_threads_keyword_same_numbers(small):
    a = ssvae.train(small[0], epochs=1, seed=4, threads=1, progress=False)
    b = ssvae.train(small[0], epochs=1, seed=4, threads=2, progress=False)
    np.testing.assert_array_equal(a.params, b.params)


def test_params_are_a_view(model):
    p = model.params
    assert p.dtype == np.float32 and p.shape == (model._raw.nparams,)
    assert not p.flags.owndata
