"""Shared fixtures of the Python tests: the package from python/, the CLI
from SSVAE_BIN (tests/python.sh sets it), small videos that train in a
fraction of a second."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

import ssvae  # noqa: E402

BIN = os.path.abspath(os.environ.get("SSVAE_BIN", os.path.join(ROOT, "build", "ssvae")))


def cli(*args, check=True):
    """Runs the ssvae program; returns the CompletedProcess (text)."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    p = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise AssertionError("ssvae %s: exit %d: %s" % (" ".join(map(str, args)), p.returncode, p.stderr))
    return p


# the small video of every test: 40 frames of 32 x 32, 2 balls
SMALL = dict(width=32, height=32, balls=2, radius=4.0, step=4.0)


@pytest.fixture(scope="session")
def small():
    frames, centres = ssvae.generate(40, seed=1, **SMALL)
    return frames, centres


@pytest.fixture(scope="session")
def small_test():
    return ssvae.generate(20, seed=2, **SMALL)


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory, small):
    """The same video as a folder frames.npy + centres.npy, for the CLI."""
    d = tmp_path_factory.mktemp("small")
    np.save(d / "frames.npy", small[0])
    np.save(d / "centres.npy", small[1])
    return d


@pytest.fixture(scope="session")
def model(small):
    return ssvae.train(small[0], maps=2, epochs=2, seed=1, progress=False)
