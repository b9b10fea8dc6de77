"""_arrays.py — every array that goes to the C library is checked here
first, in Python, so that a wrong dtype, layout, rank, size or value is a
ValueError naming the argument, what was expected and what was found. The
library trusts its callers on shapes (a broken invariant aborts the
process), so nothing reaches it unchecked.

Arrays that are already what the library reads (C-contiguous uint8 frames,
float32 latents and centres) are passed without a copy.
"""
import ctypes

import numpy as np

_U8P = ctypes.POINTER(ctypes.c_uint8)
_F32P = ctypes.POINTER(ctypes.c_float)


def _fail(name, what):
    raise ValueError("%s: %s" % (name, what))


def _describe(a):
    order = "C order" if a.flags.c_contiguous else (
        "Fortran order" if a.flags.f_contiguous else "not contiguous")
    return "%s %s (%s)" % (a.dtype, tuple(a.shape), order)


def _as_ndarray(name, a):
    if not isinstance(a, np.ndarray):
        if hasattr(a, "__array__") or isinstance(a, (list, tuple)):
            a = np.asarray(a)
        else:
            _fail(name, "expected a NumPy array, got %s" % type(a).__name__)
    return a


def _contiguous(name, a, hint):
    if not a.flags.c_contiguous:
        if a.flags.f_contiguous:
            _fail(name, "expected a C-order array, got Fortran order %s; pass "
                  "np.ascontiguousarray(%s)" % (tuple(a.shape), hint))
        _fail(name, "expected a C-contiguous array, got a strided view %s; pass "
              "np.ascontiguousarray(%s)" % (tuple(a.shape), hint))


def frames(a, name="frames", min_frames=1, like=None):
    """A video as the library reads it: (T, H, W, C) uint8, C order.

    Takes (T, H, W, C) or (T, H, W) (one channel, viewed as C = 1); uint8 as
    it is, float32/float64 in [0, 1] quantised as round(255 x) with ties to
    even, as ssvae does for float .npy files (docs/own-video.md). like: a
    (C, H, W) the frames must have (a model's)."""
    a = _as_ndarray(name, a)
    if a.ndim == 3:
        a = a[..., None]
    if a.ndim != 4:
        _fail(name, "expected shape (T, H, W, C) or (T, H, W), got %d dimensions %s"
              % (a.ndim, tuple(a.shape)))
    T, H, W, C = a.shape
    if T < min_frames:
        _fail(name, "expected at least %d frame%s, got %d" % (min_frames, "s" if min_frames > 1 else "", T))
    if H < 8 or W < 8:
        _fail(name, "frames must be at least 8 x 8 pixels, got %d x %d (W x H)" % (W, H))
    if C < 1 or C > 32:
        _fail(name, "expected 1 to 32 channels, got %d" % C)
    if H * W > (1 << 26):
        _fail(name, "frames of %d x %d exceed 2^26 pixels" % (W, H))
    if like is not None and (C, H, W) != tuple(like):
        _fail(name, "the model expects frames of %d x %d with %d channel%s, got %d x %d with %d"
              % (like[2], like[1], like[0], "" if like[0] == 1 else "s", W, H, C))
    if a.dtype == np.uint8:
        _contiguous(name, a, name)
        return a
    if a.dtype in (np.float32, np.float64):
        _contiguous(name, a, name)
        bad = ~((a >= 0) & (a <= 1))  # NaN fails both comparisons
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            _fail(name, "float frames must lie in [0, 1] (quantised as round(255 x)); found %r at %s"
                  % (float(a[where]), where))
        return np.rint(a.astype(np.float64) * 255.0).astype(np.uint8)
    _fail(name, "expected uint8 frames, or float32/float64 in [0, 1]; got %s" % _describe(a))


def floats(a, name, shape):
    """A float32 C-order array of the given shape; None in shape matches any
    length, an int must match. Values must be finite."""
    a = _as_ndarray(name, a)
    want = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
    if a.ndim != len(shape):
        _fail(name, "expected float32 of shape %s, got %d dimensions %s" % (want, a.ndim, tuple(a.shape)))
    for got, exp in zip(a.shape, shape):
        if exp is not None and got != exp:
            _fail(name, "expected float32 of shape %s, got %s" % (want, tuple(a.shape)))
    if a.shape[0] < 1:
        _fail(name, "expected at least one row, got shape %s" % (tuple(a.shape),))
    if a.dtype != np.float32:
        if a.dtype == np.float64:
            _fail(name, "expected float32, got float64 %s; pass %s.astype(np.float32)"
                  % (tuple(a.shape), name))
        _fail(name, "expected float32, got %s" % _describe(a))
    _contiguous(name, a, name)
    if not np.isfinite(a).all():
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        _fail(name, "expected finite values, found %r at %s" % (float(a[where]), where))
    return a


def u8p(a):
    return a.ctypes.data_as(_U8P)


def f32p(a):
    return a.ctypes.data_as(_F32P) if a is not None else None
