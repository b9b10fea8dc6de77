"""Bad arrays: each is a ValueError with one line that names the argument
and says what was expected and what was found; nothing reaches the C
library (which aborts on a shape it was not promised)."""
import numpy as np
import pytest

import ssvae


def one_line(excinfo, *words):
    msg = str(excinfo.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


def test_wrong_dtype(model, small):
    with pytest.raises(ValueError) as e:
        model.encode(small[0].astype(np.int16))
    one_line(e, "frames", "uint8", "int16")


def test_fortran_order(model, small):
    with pytest.raises(ValueError) as e:
        model.encode(np.asfortranarray(small[0]))
    one_line(e, "frames", "Fortran", "np.ascontiguousarray")


def test_strided_view(model, small):
    with pytest.raises(ValueError) as e:
        model.encode(small[0][::2, :, :, :][:, :, :, :].transpose(0, 2, 1, 3))
    one_line(e, "frames")


def test_wrong_rank(model, small):
    with pytest.raises(ValueError) as e:
        model.encode(small[0][0, :, :, 0].copy().reshape(32, 32)[None, None])
    one_line(e, "frames")
    with pytest.raises(ValueError) as e:
        model.encode(np.zeros((32, 32), np.uint8))
    one_line(e, "frames", "(T, H, W, C)", "2 dimensions")


def test_nan_frames(model, small):
    f = small[0].astype(np.float32) / 255
    f[3, 4, 5, 1] = np.nan
    with pytest.raises(ValueError) as e:
        model.encode(f)
    one_line(e, "frames", "[0, 1]", "nan", "(3, 4, 5, 1)")
    with pytest.raises(ValueError) as e:
        ssvae.train(f, epochs=1, progress=False)
    one_line(e, "frames", "nan")


def test_zero_frames(model, small):
    with pytest.raises(ValueError) as e:
        model.encode(small[0][:0])
    one_line(e, "frames", "at least 1 frame", "got 0")
    with pytest.raises(ValueError) as e:
        ssvae.train(small[0][:1], epochs=1, progress=False)
    one_line(e, "frames", "at least 2 frames", "got 1")


def test_wrong_frame_size(model):
    with pytest.raises(ValueError) as e:
        model.encode(np.zeros((3, 40, 32, 3), np.uint8))
    one_line(e, "frames", "the model expects frames of 32 x 32 with 3 channels", "32 x 40")


def test_float_frames_are_quantised_as_the_cli(model, small):
    f = small[0].astype(np.float32) / 255
    assert np.array_equal(model.encode(f), model.encode(small[0]))


def test_probe_arrays(small):
    z = np.zeros((40, 4), np.float32)
    c = small[1]
    with pytest.raises(ValueError) as e:
        ssvae.probe(z.astype(np.float64), c, z, c)
    one_line(e, "z_train", "float32", "float64")
    with pytest.raises(ValueError) as e:
        ssvae.probe(z[:, :3].copy(), c, z, c)
    one_line(e, "z_train", "(40, 4)", "(40, 3)")
    bad = c.copy()
    bad[0, 0, 0] = np.inf
    with pytest.raises(ValueError) as e:
        ssvae.probe(z, bad, z, c)
    one_line(e, "centres_train", "finite")
    with pytest.raises(ValueError) as e:
        ssvae.probe(z[:0], c[:0], z, c)
    one_line(e, "centres_train", "at least one row")


def test_bad_keywords(small):
    for kw, words in [({"prior": "student"}, ["prior", "gaussian", "linear", "supervised"]),
                      ({"lr": -1}, ["lr"]), ({"optim": "rmsprop"}, ["optim", "sgd"]),
                      ({"batch": 1}, ["batch"]), ({"L0": "auto"}, ["L0", "data"]),
                      ({"units": "mm"}, ["units"]), ({"preset": "fast"}, ["preset"]),
                      ({"threads": 0}, ["threads"]), ({"maps": 9}, ["maps"])]:
        with pytest.raises(ValueError) as e:
            ssvae.train(small[0], epochs=1, progress=False, **kw)
        one_line(e, *words)
    with pytest.raises(ValueError) as e:
        ssvae.train(small[0], prior="supervised", epochs=1, progress=False)
    one_line(e, "centres", "supervised")


def test_prior_names_come_from_the_library():
    names = ssvae.priors()
    assert "gaussian" in names and "linear" in names
    assert all(isinstance(v, str) and "P(z'|z)" in v for v in names.values())
