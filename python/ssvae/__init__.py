"""ssvae — self-supervised learning as variational inference, from Python.

The C library (libssvae.so, through ctypes) does the work; this package
takes and returns NumPy arrays (docs/python.md):

    frames, centres = ssvae.generate(900, seed=1)
    model = ssvae.train(frames, prior="gaussian", epochs=30, seed=1)
    z = model.encode(frames)                       # (T, 2K) float32
    scores = ssvae.probe(z, centres, z_test, centres_test)
    model.save("gaussian.safetensors"); model = ssvae.load("gaussian.safetensors")
    net = model.to_torch()                         # torch.nn.Module, same latents
    model.show(frames, "pictures/")                # what the maps learned, PNG
    checks = ssvae.theory()                        # the paper's identities

Errors: a bad array or keyword is a ValueError naming it; a failure inside
the library (a bad file, a NaN loss) is ssvae.Error with the library's
one-line message. Neither ever ends the interpreter.
"""
import ctypes
import os
import signal
import threading
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from . import _arrays
from ._lib import lib, message
from . import _lib as C
from ._progress import Bar

__version__ = "0.1.0"
__all__ = ["Error", "Model", "Scores", "generate", "read_video", "train", "untrained", "load", "probe",
           "priors", "theory", "show"]


class Error(RuntimeError):
    """A failure reported by the C library, with its one-line message."""


def _check(rc, err):
    if rc != 0:
        raise Error(message(err))


# ---- threads ------------------------------------------------------------


class _threads:
    """OpenMP threads for one call: threads=None follows OMP_NUM_THREADS (as
    the CLI does); a number sets it for the call and restores it after."""

    def __init__(self, n):
        if n is not None and (not isinstance(n, (int, np.integer)) or n < 1):
            raise ValueError("threads: expected a positive integer, got %r" % (n,))
        self.n = n

    def __enter__(self):
        if self.n is not None:
            self.old = lib.omp_get_max_threads()
            lib.omp_set_num_threads(int(self.n))

    def __exit__(self, *exc):
        if self.n is not None:
            lib.omp_set_num_threads(self.old)


# ---- the prior table -------------------------------------------------------


def priors():
    """The priors the library's table holds, as {name: the P(z'|z) it
    stands for}; 'supervised' (the baseline) is not a prior."""
    out = {}
    for k in range(lib.ssvae_prior_count()):
        ops = lib.ssvae_prior_get(k).contents
        out[ops.name.decode()] = ops.density.decode()
    return out


def _prior_kind(name):
    kind = ctypes.c_int()
    if not isinstance(name, str) or lib.ssvae_prior_lookup(name.encode(), ctypes.byref(kind)):
        raise ValueError("prior: unknown prior %r (%s, supervised)" % (name, ", ".join(priors())))
    return kind.value


# ---- data -----------------------------------------------------------------


def generate(frames=900, seed=1, *, width=256, height=256, balls=3, radius=16.0, step=32.0,
             noise_deg=2.0, colours=None, grey=False):
    """The moving-balls video (SPEC section 1): frames (T, H, W, 3) uint8
    ((T, H, W, 1) with grey=True, each pixel the rounded mean of R, G, B, as
    `ssvae generate --grey`) and centres (T, K, 2) float32 pixels. The same
    bytes as `ssvae generate` for the same arguments."""
    cfg = C.BallsConfig()
    lib.ssvae_balls_default(ctypes.byref(cfg))
    for name, v, lo, hi in (("frames", frames, 1, 1000000), ("width", width, 8, 8192),
                            ("height", height, 8, 8192), ("balls", balls, 1, C.SSVAE_MAXBALLS)):
        if not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            raise ValueError("%s: expected an integer in [%d, %d], got %r" % (name, lo, hi, v))
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError("seed: expected a non-negative integer, got %r" % (seed,))
    cfg.frames, cfg.width, cfg.height, cfg.nballs = int(frames), int(width), int(height), int(balls)
    cfg.radius, cfg.step, cfg.noise_deg, cfg.seed = float(radius), float(step), float(noise_deg), int(seed)
    if colours is not None:
        col = np.asarray(colours)
        if col.shape != (balls, 3) or not np.issubdtype(col.dtype, np.integer) or \
                col.min() < 0 or col.max() > 255 or (col.sum(axis=1) == 0).any():
            raise ValueError("colours: expected %d (R, G, B) integers in 0..255, none black, got %r"
                             % (balls, colours))
        for b in range(balls):
            for ch in range(3):
                cfg.colours[b][ch] = int(col[b, ch])
    if frames * width * height * 3 > 64e9:
        raise ValueError("frames: the video would exceed 64 GB")
    video = np.empty((frames, height, width, 3), np.uint8)
    centres = np.empty((frames, balls, 2), np.float32)
    err = C.Error()
    _check(lib.ssvae_balls_generate(ctypes.byref(cfg), _arrays.u8p(video), _arrays.f32p(centres),
                                    None, ctypes.byref(err)), err)
    if grey:
        s = video.astype(np.uint16).sum(axis=3, keepdims=True)
        video = ((s + 1) // 3).astype(np.uint8)
    return video, centres


def read_video(path):
    """A video as ssvae reads it (docs/own-video.md): a .npy file, a folder
    holding frames.npy, or a folder of PNG frames, as (T, H, W, C) uint8;
    and centres.npy (T, K, 2) float32 from the folder if it has one, else
    None. Returns (frames, centres)."""
    path = os.fspath(path)
    arr = C.Array()
    quantised = ctypes.c_int()
    err = C.Error()
    _check(lib.ssvae_video_read(path.encode(), ctypes.byref(arr), ctypes.byref(quantised),
                                ctypes.byref(err)), err)
    try:
        shape = tuple(arr.shape[i] for i in range(arr.ndim))
        n = int(np.prod(shape))
        buf = (ctypes.c_uint8 * n).from_address(arr.data)
        frames = np.frombuffer(buf, np.uint8).reshape(shape).copy()
    finally:
        lib.ssvae_array_free(ctypes.byref(arr))
    centres = None
    cpath = os.path.join(path, "centres.npy")
    if os.path.isdir(path) and os.path.exists(cpath):
        centres = np.load(cpath)
        if centres.dtype != np.float32 or centres.ndim != 3 or centres.shape[0] != shape[0] \
                or centres.shape[2] != 2 or not 1 <= centres.shape[1] <= C.SSVAE_MAXBALLS:
            raise Error("%s: expected float32 centres of shape (%d, K<=%d, 2), got %s %s"
                        % (cpath, shape[0], C.SSVAE_MAXBALLS, centres.dtype, centres.shape))
    return frames, centres


# ---- the model ---------------------------------------------------------------


class Model:
    """A trained (or loaded) encoder and its head. Its parameters live in
    the C library's buffers; `params` and the named views read them without
    a copy."""

    def __init__(self, _raw, train_cfg=None, state=None, history=None, meta=None):
        self._raw = _raw          # C.Model, filled by ssvae_model_init / _load
        self._train_cfg = train_cfg
        self._state = state       # dict: the training state of the last epoch
        self.history = history or {"loss": [], "elbo": []}
        self._meta = meta or []
        self.interrupted = False
        self.seconds = 0.0        # training time of ssvae.train (C side)

    def __del__(self):
        raw = getattr(self, "_raw", None)
        if raw is not None and lib is not None:
            lib.ssvae_model_free(ctypes.byref(raw))
            self._raw = None

    # shapes and names
    @property
    def config(self):
        c = self._raw.cfg
        return {"C": c.C, "H": c.H, "W": c.W, "F": c.F, "K": c.K, "D": self._raw.D,
                "head": self.head_name, "units": c.units}

    @property
    def head_name(self):
        c = self._raw.cfg
        return "supervised" if c.supervised else lib.ssvae_prior_get(c.prior).contents.name.decode()

    @property
    def K(self):
        return self._raw.cfg.K

    @property
    def D(self):
        return self._raw.D

    @property
    def frame_shape(self):
        """(H, W, C) of the frames the model reads."""
        c = self._raw.cfg
        return (c.H, c.W, c.C)

    @property
    def epochs_trained(self):
        return len(self.history["loss"])

    @property
    def params(self):
        """Every trained parameter as one float32 view (no copy) of the
        library's flat buffer: conv1, bn1, conv2, bn2, then the head."""
        return np.ctypeslib.as_array(self._raw.params, (self._raw.nparams,))

    def _view(self, ptr, shape):
        return np.ctypeslib.as_array(ptr, shape)

    def state_dict(self):
        """The tensors under their PyTorch names (NumPy copies), as in the
        checkpoint."""
        r, c = self._raw, self._raw.cfg
        F, K, Cc, D = c.F, c.K, c.C, r.D
        out = {"conv1.weight": (r.conv1_w, (F, Cc, 3, 3)), "conv1.bias": (r.conv1_b, (F,)),
               "bn1.weight": (r.bn1_w, (F,)), "bn1.bias": (r.bn1_b, (F,)),
               "bn1.running_mean": (r.bn1_mean, (F,)), "bn1.running_var": (r.bn1_var, (F,)),
               "conv2.weight": (r.conv2_w, (K, F, 3, 3)), "conv2.bias": (r.conv2_b, (K,)),
               "bn2.weight": (r.bn2_w, (K,)), "bn2.bias": (r.bn2_b, (K,)),
               "bn2.running_mean": (r.bn2_mean, (K,)), "bn2.running_var": (r.bn2_var, (K,))}
        out = {k: self._view(p, s).copy() for k, (p, s) in out.items()}
        if c.supervised:
            out["head.weight"] = self._view(r.head, (D, D)).copy()
            out["head.bias"] = (self._view(r.head, (D * D + D,))[D * D:]).copy()
        else:
            out["prior.theta"] = self._view(r.head, (r.nhead,)).copy()
        return out

    def describe(self):
        """The learned head in one line ("L=0.0034", "|W|=2.45"), as the CLI prints it."""
        c = self._raw.cfg
        if c.supervised:
            return "-"
        buf = ctypes.create_string_buffer(64)
        lib.ssvae_prior_get(c.prior).contents.describe(buf, 64, self._raw.head, self._raw.D)
        return buf.value.decode()

    def __repr__(self):
        c = self._raw.cfg
        return "<ssvae.Model %s prior, K=%d, %dx%dx%d frames, %d epochs, %s>" % (
            self.head_name, c.K, c.W, c.H, c.C, self.epochs_trained, self.describe())

    # using it
    def _frames(self, frames, name="frames"):
        H, W, Cc = self.frame_shape
        return _arrays.frames(frames, name, min_frames=1, like=(Cc, H, W))

    def encode(self, frames, threads=None):
        """The latents z (T, 2K) float32 of every frame (evaluation mode):
        for each map the x, then the y of its centre of mass, normalised to
        [0, 1]. The same numbers as `ssvae encode`."""
        v = self._frames(frames)
        z = np.empty((v.shape[0], self.D), np.float32)
        with _threads(threads):
            lib.ssvae_model_encode(ctypes.byref(self._raw), _arrays.u8p(v), v.shape[0], _arrays.f32p(z))
        return z

    def maps(self, frame):
        """The K maps (K, H, W) float32 in (0, 1) of one frame (H, W, C) or
        (H, W): the planes whose centres of mass are the latents."""
        v = self._frames(np.asarray(frame)[None], "frame")
        H, W, _ = self.frame_shape
        out = np.empty((self.K, H, W), np.float32)
        lib.ssvae_model_maps(ctypes.byref(self._raw), _arrays.u8p(v), _arrays.f32p(out), None)
        return out

    def predictive(self, z, k=0):
        """The prior's predictive map P(z'|z) (H, W) of map k's next position,
        z (2K,) normalised latents of one frame (Fig. 1D/E)."""
        z = _arrays.floats(np.asarray(z).reshape(1, -1) if np.ndim(z) == 1 else z, "z", (1, self.D))
        H, W, _ = self.frame_shape
        out = np.empty((H, W), np.float32)
        err = C.Error()
        _check(lib.ssvae_predictive_map(ctypes.byref(self._raw), _arrays.f32p(z), int(k),
                                        _arrays.f32p(out), ctypes.byref(err)), err)
        return out

    def show(self, frames, out, centres=None, *, nframes=4, frame=-1, scale=1.0, threads=None):
        """`ssvae show` from Python: pictures of what the model learned on
        a video (maps.png, tracks.png, predictive.png for a prior,
        decoded.png with centres) in the folder out. Returns their paths."""
        return show(self, frames, out, centres, nframes=nframes, frame=frame, scale=scale,
                    threads=threads)

    def save(self, path):
        """Writes the checkpoint `ssvae train` writes (safetensors): the
        model, and after ssvae.train also the optimiser state and recipe,
        so `ssvae train --resume` continues it. Through a temporary file."""
        path = os.fspath(path)
        err = C.Error()
        meta = (C.Meta * max(len(self._meta), 1))(*[C.Meta(k.encode(), v.encode()) for k, v in self._meta])
        if self._state is not None:
            st, keep = self._state_struct()
            rc = lib.ssvae_train_save(path.encode(), ctypes.byref(self._raw), ctypes.byref(self._train_cfg),
                                      ctypes.byref(st), meta, len(self._meta), ctypes.byref(err))
            del keep
        else:
            rc = lib.ssvae_model_save(ctypes.byref(self._raw), path.encode(), meta, len(self._meta),
                                      ctypes.byref(err))
        _check(rc, err)

    def _state_struct(self):
        s = self._state
        st = C.TrainState()
        st.epoch, st.step, st.n = s["epoch"], s["step"], self._raw.nparams
        st.m = _arrays.f32p(s["m"]) if s["m"] is not None else None
        st.v = _arrays.f32p(s["v"]) if s["v"] is not None else None
        for i in range(4):
            st.shuffle.s[i] = s["shuffle"][i]
        st.init_value = s["init_value"]
        loss = np.ascontiguousarray(self.history["loss"], np.float64)
        elbo = np.ascontiguousarray(self.history["elbo"], np.float64)
        st.loss = loss.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        st.elbo = elbo.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        return st, (loss, elbo)

    def to_torch(self):
        """A torch.nn.Module (evaluation mode, float32) of the same encoder,
        loaded from the same tensors: module(frames) with frames (N, H, W, C)
        uint8 gives the latents encode gives. Needs PyTorch."""
        from ._torch import encoder_module
        return encoder_module(self)


def _new_raw(cfg, seed):
    raw = C.Model()
    err = C.Error()
    _check(lib.ssvae_model_init(ctypes.byref(raw), ctypes.byref(cfg), int(seed), ctypes.byref(err)), err)
    return raw


def untrained(frame_shape=(256, 256, 3), maps=3, prior="gaussian", seed=1, units="norm"):
    """A model as training starts it (PyTorch's initialisation, seed), never
    trained: the demo's 'untrained' row. frame_shape is (H, W, C)."""
    supervised = prior == "supervised"
    kind = 0 if supervised else _prior_kind(prior)
    if len(frame_shape) != 3:
        raise ValueError("frame_shape: expected (H, W, C), got %r" % (frame_shape,))
    H, W, Cc = (_number("frame_shape", v, 1, 1 << 26, True) for v in frame_shape)
    if units not in ("norm", "px"):
        raise ValueError("units: %r must be 'norm' or 'px'" % (units,))
    mc = C.ModelConfig()
    lib.ssvae_model_config_default(ctypes.byref(mc))
    mc.C, mc.H, mc.W, mc.K = Cc, H, W, _number("maps", maps, 1, C.SSVAE_MAXBALLS, True)
    mc.supervised, mc.prior, mc.units = int(supervised), kind, 1.0 if units == "norm" else float(W)
    return Model(_new_raw(mc, _number("seed", seed, 0, 2 ** 64 - 1, True)))


def load(path):
    """A model from a checkpoint written by `ssvae train`, `ssvae demo` or
    Model.save. A resumable checkpoint keeps its recipe and training state,
    so saving it again writes a file `ssvae train --resume` accepts."""
    path = os.fspath(path)
    raw, cfg, st, err = C.Model(), C.TrainConfig(), C.TrainState(), C.Error()
    if lib.ssvae_train_load(path.encode(), ctypes.byref(raw), ctypes.byref(cfg), ctypes.byref(st),
                            ctypes.byref(err)) == 0:
        try:
            n = st.n
            state = {"epoch": st.epoch, "step": st.step, "init_value": st.init_value,
                     "shuffle": [st.shuffle.s[i] for i in range(4)],
                     "m": np.ctypeslib.as_array(st.m, (n,)).copy() if st.m else None,
                     "v": np.ctypeslib.as_array(st.v, (n,)).copy() if st.v else None}
            hist = {"loss": [st.loss[i] for i in range(st.epoch)] if st.loss else [],
                    "elbo": [st.elbo[i] for i in range(st.epoch)] if st.elbo else []}
        finally:
            lib.ssvae_train_state_free(ctypes.byref(st))
        return Model(raw, cfg, state, hist)
    if "not a resumable checkpoint" not in message(err):
        raise Error(message(err))
    raw, err = C.Model(), C.Error()
    _check(lib.ssvae_model_load(ctypes.byref(raw), path.encode(), ctypes.byref(err)), err)
    return Model(raw)


# ---- training ----------------------------------------------------------------

# The CLI's presets (src/cli/recipe.c); tests/python/test_train.py checks
# that a run from here equals the CLI's bit for bit.
PRESETS = {
    "default": dict(optim="sgd", lr=0.005, epochs=30, batch=30, L0=0.01, W0=1.0, units="norm"),
    "paper": dict(optim="sgd", lr=0.005, epochs=30, batch=30, L0=1.0, W0=1.0, units="norm"),
}


def _number(name, v, lo, hi, integer=False):
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(v, bool) or not isinstance(v, kinds) or not (lo <= v <= hi):
        raise ValueError("%s: expected %s in [%g, %g], got %r"
                         % (name, "an integer" if integer else "a number", lo, hi, v))
    return int(v) if integer else float(v)


def _scale(name, v):
    if isinstance(v, str) and v == "data":
        return 0.0
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or \
            not (0 < v <= 1e6):
        raise ValueError("%s: expected 'data' or a positive number, got %r" % (name, v))
    return float(v)


def _recipe(preset, optim, lr, momentum, epochs, batch, L0, fix_L, W0, units, seed, offset, W,
            nu=None, bn2_gain=None, bn2_bias=None):
    if preset not in PRESETS:
        raise ValueError("preset: unknown preset %r (%s)" % (preset, ", ".join(PRESETS)))
    p = PRESETS[preset]
    tc = C.TrainConfig()
    lib.ssvae_train_config_default(ctypes.byref(tc))
    optim = p["optim"] if optim is None else optim
    kind = ctypes.c_int()
    if not isinstance(optim, str) or lib.ssvae_optim_lookup(optim.encode(), ctypes.byref(kind)):
        raise ValueError("optim: unknown optimiser %r (sgd, adam)" % (optim,))
    tc.optim = kind.value
    tc.lr = p["lr"] if lr is None else _number("lr", lr, 1e-12, 100)
    tc.momentum = 0.0 if momentum is None else _number("momentum", momentum, 0, 0.999999)
    tc.epochs = p["epochs"] if epochs is None else _number("epochs", epochs, 0, 100000, True)
    tc.batch = p["batch"] if batch is None else _number("batch", batch, 2, 4096, True)
    tc.seed = _number("seed", seed, 0, 2 ** 64 - 1, True)
    tc.learn_L = 0 if fix_L else 1
    tc.L0 = _scale("L0", p["L0"] if L0 is None else L0)
    tc.W0 = _scale("W0", p["W0"] if W0 is None else W0)
    if fix_L and tc.L0 <= 0:
        raise ValueError("fix_L: needs a number for L0")
    tc.offset = 1 if offset is None else _number("offset", offset, 1, 1000000, True)
    if nu is not None:
        tc.nu = _number("nu", nu, 1e-3, 1e6)
    tc.bn2_gain = p.get("bn2_gain", 1.0) if bn2_gain is None else _number("bn2_gain", bn2_gain, -100, 100)
    tc.bn2_bias = p.get("bn2_bias", 0.0) if bn2_bias is None else _number("bn2_bias", bn2_bias, -100, 100)
    u = p["units"] if units is None else units
    if u not in ("norm", "px"):
        raise ValueError("units: %r must be 'norm' or 'px'" % (u,))
    scale = 1.0 if u == "norm" else float(W)
    return tc, scale


def _describe(tc, units):
    """The recipe line of the checkpoint's metadata, as cli_recipe_describe
    writes it."""
    L0 = "%g" % tc.L0 if tc.L0 > 0 else "data"
    W0 = "%g" % tc.W0 if tc.W0 > 0 else "data"
    return "%s lr=%g%s epochs=%d batch=%d L0=%s%s W0=%s bn2_gain=%g bn2_bias=%g units=%s seed=%d" % (
        "adam" if tc.optim == 1 else "sgd", tc.lr, " momentum" if tc.momentum > 0 else "",
        tc.epochs, tc.batch, L0, "" if tc.learn_L else " (fixed)", W0, tc.bn2_gain, tc.bn2_bias,
        "norm" if units == 1.0 else "px", tc.seed)


class _Stop:
    """SIGINT while training: a flag the per-epoch hook reads, so Ctrl-C
    ends the run after the epoch in progress with that epoch's model. The
    handler only sets the flag (it runs whenever the hook runs Python code),
    so the interrupt is never lost in a ctypes callback."""

    def __init__(self):
        self.requested = False
        self.old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            try:
                self.old = signal.signal(signal.SIGINT, self._handler)
            except ValueError:
                self.old = None
        return self

    def _handler(self, signum, frame):
        if self.requested and callable(self.old):  # a second Ctrl-C: the usual one
            self.old(signum, frame)
        self.requested = True

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)


def train(frames, prior="gaussian", *, centres=None, pairs=None, maps=None, preset="default",
          optim=None, lr=None, momentum=None, epochs=None, batch=None, L0=None, fix_L=False,
          W0=None, units=None, seed=1, offset=None, threads=None, progress=True, data_name=None,
          nu=None, bn2_gain=None, bn2_bias=None):
    """Trains the encoder of Fig. 2 on the pairs of a video and returns the
    Model. frames (T, H, W, C) uint8 (or float in [0, 1]); prior: a name in
    ssvae.priors() or 'supervised' (needs centres (T, K, 2) float32 px);
    pairs: a second video aligned with frames (pair t is frames[t],
    pairs[t]). The recipe keywords are `ssvae train`'s flags (preset,
    optim, lr, momentum, epochs, batch, L0, fix_L, W0, units, seed, offset,
    maps, nu, bn2_gain, bn2_bias); the same keywords give the same bits as
    the CLI.

    progress: a bar on stderr (in place on a terminal; in a notebook, one
    output updated in place); False for silence. Ctrl-C stops after the
    epoch in progress and returns the model of the last whole epoch, with
    model.interrupted = True."""
    supervised = prior == "supervised"
    kind = 0 if supervised else _prior_kind(prior)
    v = _arrays.frames(frames, "frames", min_frames=2)
    T, H, W, Cc = v.shape
    pv = None
    if pairs is not None:
        if supervised:
            raise ValueError("pairs: the supervised baseline trains on single frames, not pairs")
        if offset is not None:
            raise ValueError("offset: pairs and offset exclude each other (a pair is frames[t], pairs[t])")
        pv = _arrays.frames(pairs, "pairs", min_frames=2, like=(Cc, H, W))
        if pv.shape[0] != T:
            raise ValueError("pairs: expected %d frames like frames, got %d" % (T, pv.shape[0]))
    c = None
    if centres is not None:
        c = _arrays.floats(centres, "centres", (T, None, 2))
        if not 1 <= c.shape[1] <= C.SSVAE_MAXBALLS:
            raise ValueError("centres: expected 1 to %d objects, got %d" % (C.SSVAE_MAXBALLS, c.shape[1]))
    if supervised and c is None:
        raise ValueError("centres: the supervised baseline needs the true centres (T, K, 2) float32 px")
    K = _number("maps", maps, 1, C.SSVAE_MAXBALLS, True) if maps is not None else (c.shape[1] if c is not None else 3)
    if supervised and K != c.shape[1]:
        raise ValueError("maps: %d, but the centres hold %d objects" % (K, c.shape[1]))
    tc, scale = _recipe(preset, optim, lr, momentum, epochs, batch, L0, fix_L, W0, units, seed,
                        offset, W, nu, bn2_gain, bn2_bias)
    if tc.batch > T - tc.offset and T - tc.offset < 2:
        raise ValueError("frames: %d frames give fewer than 2 pairs %d apart" % (T, tc.offset))

    mc = C.ModelConfig()
    lib.ssvae_model_config_default(ctypes.byref(mc))
    mc.C, mc.H, mc.W, mc.K = Cc, H, W, K
    mc.supervised, mc.prior, mc.units = int(supervised), kind, scale
    raw = _new_raw(mc, tc.seed)
    model = Model(raw, tc)
    recipe = _describe(tc, scale) + (" pairs=aligned" if pv is not None else " offset=%d" % tc.offset)
    model._meta = [("recipe", recipe), ("data", data_name or "array (%d, %d, %d, %d) from Python" % v.shape),
                   ("pairs", "" if pv is None else "array from Python")]

    data = C.TrainData(v.ctypes.data, pv.ctypes.data if pv is not None else None, T,
                       c.ctypes.data if c is not None else None)
    bar = Bar("ssvae train", supervised) if progress else None
    stop = _Stop()
    failure = []

    def on_progress(ctx, st):
        try:
            if bar is not None:
                bar.epoch(st.contents)
        except BaseException as e:  # never let an exception escape into C
            failure.append(e)

    def on_epoch(ctx, m, st, err):
        try:
            s = st.contents
            n = s.n
            model._state = {"epoch": s.epoch, "step": s.step, "init_value": s.init_value,
                            "shuffle": [s.shuffle.s[i] for i in range(4)],
                            "m": np.ctypeslib.as_array(s.m, (n,)).copy() if s.m else None,
                            "v": np.ctypeslib.as_array(s.v, (n,)).copy() if s.v else None}
            model.history = {"loss": [s.loss[i] for i in range(s.epoch)],
                             "elbo": [s.elbo[i] for i in range(s.epoch)]}
        except BaseException as e:
            failure.append(e)
        if failure or stop.requested:
            msg = b"stopped by the caller"
            ctypes.memmove(err.contents.msg, msg, len(msg) + 1)
            return 1
        return 0

    progress_fn, epoch_fn = C.PROGRESS_FN(on_progress), C.EPOCH_FN(on_epoch)
    res, err = C.TrainResult(), C.Error()
    with _threads(threads), stop:
        rc = lib.ssvae_train_run(ctypes.byref(raw), ctypes.byref(tc), ctypes.byref(data), None,
                                 progress_fn, epoch_fn, None, ctypes.byref(res), ctypes.byref(err))
    try:
        model.seconds = res.seconds
        model.init_value = res.init_value
    finally:
        lib.ssvae_train_result_free(ctypes.byref(res))
    if failure:
        raise failure[0]
    if rc != 0 and stop.requested:
        model.interrupted = True
        if bar is not None:
            bar.note("ssvae train: stopped by Ctrl-C; the model is that of epoch %d of %d"
                     % (model.epochs_trained, tc.epochs))
        return model
    _check(rc, err)
    if tc.epochs == 0:
        model._state = None  # nothing trained: a plain model checkpoint, as the CLI writes
    return model


# ---- scoring -----------------------------------------------------------------


@dataclass
class Scores:
    """The paper's scores (README, 'What the numbers mean'), in pixels."""
    probe_train: float
    probe_test: float
    direct_train: float
    direct_test: float
    chance_test: float
    found: int
    perm: List[int] = field(default_factory=list)        # map k -> object perm[k]
    direct_per_object: List[float] = field(default_factory=list)


def probe(z_train, centres_train, z_test, centres_test, *, width=256, height=256):
    """Scores latents against true centres as `ssvae probe` and the demo do:
    the linear probe fitted on (z_train, centres_train) and scored on both,
    the direct error (map k's centre of mass read as an object, the pairing
    chosen on the training video), chance, and the objects found. z (T, 2K)
    float32 normalised, centres (T, K, 2) float32 px of frames width x
    height (the direct error reads z in pixels of that size)."""
    ctr = _arrays.floats(centres_train, "centres_train", (None, None, 2))
    K = ctr.shape[1]
    if not 1 <= K <= C.SSVAE_MAXBALLS:
        raise ValueError("centres_train: expected 1 to %d objects, got %d" % (C.SSVAE_MAXBALLS, K))
    ztr = _arrays.floats(z_train, "z_train", (ctr.shape[0], 2 * K))
    cte = _arrays.floats(centres_test, "centres_test", (None, K, 2))
    zte = _arrays.floats(z_test, "z_test", (cte.shape[0], 2 * K))
    W = _number("width", width, 1, 1 << 26, True)
    H = _number("height", height, 1, 1 << 26, True)
    ev, err = C.Eval(), C.Error()
    _check(lib.ssvae_evaluate_latents(_arrays.f32p(ztr), _arrays.f32p(ctr), ztr.shape[0],
                                      _arrays.f32p(zte), _arrays.f32p(cte), zte.shape[0], K, W, H,
                                      ctypes.byref(ev), ctypes.byref(err)), err)
    return Scores(ev.probe_train, ev.probe_test, ev.direct_train, ev.direct_test, ev.chance_test,
                  ev.found, [ev.perm[k] for k in range(K)], [ev.direct_ball[b] for b in range(K)])


# ---- pictures ------------------------------------------------------------------


_SHOW_FILES = ("maps.png", "tracks.png", "predictive.png", "decoded.png")


def show(model, frames, out, centres=None, *, nframes=4, frame=-1, scale=1.0, threads=None):
    """Pictures of what model learned on frames (any video of its frame
    size): maps.png, tracks.png, predictive.png (a prior) and decoded.png
    (centres given), in the folder out, as `ssvae show`. Returns the paths
    written."""
    v = model._frames(frames)
    T = v.shape[0]
    c = None
    if centres is not None:
        c = _arrays.floats(centres, "centres", (T, None, 2))
        if not 1 <= c.shape[1] <= C.SSVAE_MAXBALLS:
            raise ValueError("centres: expected 1 to %d objects, got %d" % (C.SSVAE_MAXBALLS, c.shape[1]))
    opt = C.ShowOptions()
    lib.ssvae_show_options_default(ctypes.byref(opt))
    opt.nframes = _number("nframes", nframes, 1, 16, True)
    opt.frame = _number("frame", frame, -1, T - 1, True)
    opt.scale = _number("scale", scale, 0.25, 4)
    out = os.fspath(out)
    written, err = ctypes.c_int(), C.Error()
    with _threads(threads):
        rc = lib.ssvae_show(ctypes.byref(model._raw), _arrays.u8p(v), T, _arrays.f32p(c),
                            c.shape[1] if c is not None else 0, out.encode(), ctypes.byref(opt),
                            ctypes.byref(written), ctypes.byref(err))
    _check(rc, err)
    names = [n for n in _SHOW_FILES if (n != "predictive.png" or model.head_name != "supervised")
             and (n != "decoded.png" or c is not None)]
    return [os.path.join(out, n) for n in names]


# ---- theory ------------------------------------------------------------------


def theory(samples=200000, batch_max=4096, reps=16, seed=1):
    """The checks of `ssvae theory` (the paper's section 3 on jointly
    Gaussian latents) as records: a dict with 'rows' (one dict per
    identity: id, label, setting, detail, closed, closed2, mc, se, tol,
    passed), 'curves' (the finite-batch InfoNCE curves, each with its
    'points') and 'failures'."""
    samples = _number("samples", samples, 100, 100000000, True)
    reps = _number("reps", reps, 2, 100000, True)
    nmax = _number("batch_max", batch_max, 2, 8192, True)
    if nmax & (nmax - 1):
        raise ValueError("batch_max: expected a power of two, got %d" % nmax)
    seed = _number("seed", seed, 0, 2 ** 64 - 1, True)
    rep, err = C.TheoryReport(), C.Error()
    _check(lib.theory_run(ctypes.byref(rep), samples, nmax, reps, seed, C.THEORY_ROW_FN(), None,
                          ctypes.byref(err)), err)
    rows = []
    for i in range(rep.nrows):
        r = rep.rows[i]
        rows.append({"id": r.id.decode(), "label": r.label.decode(), "setting": r.setting.decode(),
                     "detail": r.detail.decode(), "closed": r.closed, "closed2": r.closed2,
                     "mc": r.mc, "se": r.se, "tol": r.tol, "passed": bool(r.pass_)})
    curves = []
    for i in range(rep.ncurves):
        cv = rep.curves[i]
        pts = [{"B": p.B, "log_b": p.log_b, "mean": p.mean, "se": p.se, "max": p.max,
                "diff": p.diff, "se_diff": p.se_diff, "passed": bool(p.pass_)}
               for p in (cv.pts[j] for j in range(cv.npts))]
        curves.append({"critic": cv.critic.decode(), "setting": cv.setting.decode(), "mi": cv.mi,
                       "eq33": cv.eq33, "points": pts})
    return {"rows": rows, "curves": curves, "failures": rep.failures}
