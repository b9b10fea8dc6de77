"""_lib.py — the C library, loaded with ctypes: where libssvae.so is found,
the public structs of include/ssvae.h mirrored field for field, and the
argument and result types of every function the package calls.

Why ctypes and not a C extension: docs/python.md. In short, nothing here
needs compiling against Python's headers, the library stays the one place
where the work is done, and every foreign call releases the GIL.

The mirrors must match the header byte for byte. At import every one is
compared with the size the library reports (ssvae_struct_size); a library
built from another version of the header is refused with a message, never
read with the wrong layout.
"""
import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_int,
                    c_int64, c_long, c_size_t, c_uint8, c_uint64, c_void_p)

SSVAE_ERRLEN = 512
SSVAE_MAXDIM = 8
SSVAE_MAXBALLS = 8


class Error(Structure):
    _fields_ = [("msg", c_char * SSVAE_ERRLEN)]


class Rng(Structure):
    _fields_ = [("s", c_uint64 * 4)]


class Array(Structure):
    _fields_ = [("dtype", c_int), ("ndim", c_int), ("shape", c_int64 * SSVAE_MAXDIM),
                ("data", c_void_p), ("map", c_void_p), ("map_len", c_size_t)]


class BallsConfig(Structure):
    _fields_ = [("frames", c_int), ("height", c_int), ("width", c_int), ("nballs", c_int),
                ("radius", c_double), ("step", c_double), ("noise_deg", c_double),
                ("colours", (c_uint8 * 3) * SSVAE_MAXBALLS), ("seed", c_uint64)]


DESCRIBE_FN = CFUNCTYPE(None, c_char_p, c_size_t, POINTER(ctypes.c_float), c_int)
NPARAMS_FN = CFUNCTYPE(c_int, c_int)


class PriorOps(Structure):
    _fields_ = [("name", c_char_p), ("density", c_char_p), ("choose", c_char_p),
                ("nparams", NPARAMS_FN), ("init", c_void_p), ("freeze", c_void_p),
                ("logits", c_void_p), ("logits_backward", c_void_p), ("describe", DESCRIBE_FN),
                ("loss", c_void_p)]


class ModelConfig(Structure):
    _fields_ = [("C", c_int), ("H", c_int), ("W", c_int), ("F", c_int), ("K", c_int),
                ("supervised", c_int), ("prior", c_int), ("units", c_double)]


_f = POINTER(ctypes.c_float)


class Model(Structure):
    _fields_ = [("cfg", ModelConfig), ("D", c_int), ("nparams", c_size_t),
                ("params", _f), ("grads", _f), ("frozen", POINTER(c_uint8)),
                ("conv1_w", _f), ("conv1_b", _f), ("bn1_w", _f), ("bn1_b", _f),
                ("conv2_w", _f), ("conv2_b", _f), ("bn2_w", _f), ("bn2_b", _f),
                ("head", _f), ("nhead", c_size_t), ("stats", _f),
                ("bn1_mean", _f), ("bn1_var", _f), ("bn2_mean", _f), ("bn2_var", _f),
                ("acts", c_void_p)]


class TrainConfig(Structure):
    _fields_ = [("optim", c_int), ("lr", c_double), ("momentum", c_double), ("epochs", c_int),
                ("batch", c_int), ("offset", c_int), ("seed", c_uint64), ("L0", c_double),
                ("learn_L", c_int), ("W0", c_double), ("nu", c_double),
                ("bn2_gain", c_double), ("bn2_bias", c_double)]


class EpochStats(Structure):
    _fields_ = [("epoch", c_int), ("epochs", c_int), ("loss", c_double), ("elbo", c_double),
                ("log_b", c_double), ("seconds", c_double), ("elapsed", c_double)]


class TrainResult(Structure):
    _fields_ = [("epochs", c_int), ("loss", POINTER(c_double)), ("elbo", POINTER(c_double)),
                ("init_value", c_double), ("seconds", c_double),
                ("steps", c_int64), ("exchanged", c_uint64)]


class TrainData(Structure):
    _fields_ = [("video", c_void_p), ("partners", c_void_p), ("T", c_int), ("centres", c_void_p),
                ("moments", c_void_p), ("partner_moments", c_void_p), ("mapped", c_int)]


class TrainState(Structure):
    _fields_ = [("epoch", c_int), ("step", c_int64), ("n", c_size_t), ("m", _f), ("v", _f),
                ("shuffle", Rng), ("init_value", c_double), ("loss", POINTER(c_double)),
                ("elbo", POINTER(c_double))]


class Eval(Structure):
    _fields_ = [("probe_train", c_double), ("probe_test", c_double),
                ("direct_train", c_double), ("direct_test", c_double),
                ("chance_test", c_double), ("perm", c_int * SSVAE_MAXBALLS),
                ("direct_ball", c_double * SSVAE_MAXBALLS), ("found", c_int)]


class ShowOptions(Structure):
    _fields_ = [("nframes", c_int), ("frame", c_int), ("scale", c_double)]


class Meta(Structure):
    _fields_ = [("key", c_char_p), ("value", c_char_p)]


class TheoryRow(Structure):
    _fields_ = [("id", c_char * 16), ("label", c_char * 48), ("setting", c_char * 48),
                ("detail", c_char * 96), ("closed", c_double), ("closed2", c_double),
                ("mc", c_double), ("se", c_double), ("tol", c_double), ("pass_", c_int)]


class TheoryCurvePoint(Structure):
    _fields_ = [("B", c_int), ("log_b", c_double), ("mean", c_double), ("se", c_double),
                ("max", c_double), ("diff", c_double), ("se_diff", c_double), ("pass_", c_int)]


class TheoryCurve(Structure):
    _fields_ = [("critic", c_char * 16), ("setting", c_char * 48), ("mi", c_double),
                ("eq33", c_double), ("npts", c_int), ("pts", TheoryCurvePoint * 16)]


class TheoryReport(Structure):
    _fields_ = [("nrows", c_int), ("rows", TheoryRow * 32), ("ncurves", c_int),
                ("curves", TheoryCurve * 2), ("failures", c_int)]


# The structs checked against the library, by their C names.
MIRRORS = {
    "ssvae_error": Error, "ssvae_rng": Rng, "ssvae_array": Array,
    "ssvae_balls_config": BallsConfig, "ssvae_prior_ops": PriorOps,
    "ssvae_model_config": ModelConfig, "ssvae_model": Model,
    "ssvae_train_config": TrainConfig, "ssvae_epoch_stats": EpochStats,
    "ssvae_train_result": TrainResult, "ssvae_train_data": TrainData,
    "ssvae_train_state": TrainState, "ssvae_eval": Eval, "ssvae_show_options": ShowOptions,
    "theory_row": TheoryRow, "theory_curve_point": TheoryCurvePoint,
    "theory_curve": TheoryCurve, "theory_report": TheoryReport,
}

PROGRESS_FN = CFUNCTYPE(None, c_void_p, POINTER(EpochStats))
EPOCH_FN = CFUNCTYPE(c_int, c_void_p, POINTER(Model), POINTER(TrainState), POINTER(Error))
THEORY_ROW_FN = CFUNCTYPE(None, c_void_p, POINTER(TheoryRow))

_u8 = POINTER(c_uint8)
_err = POINTER(Error)

# name: (result type, argument types)
_SIGNATURES = {
    "ssvae_struct_size": (c_size_t, [c_char_p]),
    "ssvae_prior_get": (POINTER(PriorOps), [c_int]),
    "ssvae_prior_lookup": (c_int, [c_char_p, POINTER(c_int)]),
    "ssvae_prior_count": (c_int, []),
    "ssvae_optim_lookup": (c_int, [c_char_p, POINTER(c_int)]),
    "ssvae_balls_default": (None, [POINTER(BallsConfig)]),
    "ssvae_balls_generate": (c_int, [POINTER(BallsConfig), _u8, _f, _u8, _err]),
    "ssvae_video_read": (c_int, [c_char_p, POINTER(Array), POINTER(c_int), _err]),
    "ssvae_array_free": (None, [POINTER(Array)]),
    "ssvae_model_config_default": (None, [POINTER(ModelConfig)]),
    "ssvae_model_init": (c_int, [POINTER(Model), POINTER(ModelConfig), c_uint64, _err]),
    "ssvae_model_free": (None, [POINTER(Model)]),
    "ssvae_model_encode": (None, [POINTER(Model), _u8, c_int, _f]),
    "ssvae_model_maps": (None, [POINTER(Model), _u8, _f, _f]),
    "ssvae_model_save": (c_int, [POINTER(Model), c_char_p, POINTER(Meta), c_int, _err]),
    "ssvae_model_load": (c_int, [POINTER(Model), c_char_p, _err]),
    "ssvae_predictive_map": (c_int, [POINTER(Model), _f, c_int, _f, _err]),
    "ssvae_train_config_default": (None, [POINTER(TrainConfig)]),
    "ssvae_train_run": (c_int, [POINTER(Model), POINTER(TrainConfig), POINTER(TrainData),
                                POINTER(TrainState), PROGRESS_FN, EPOCH_FN, c_void_p,
                                POINTER(TrainResult), _err]),
    "ssvae_train_result_free": (None, [POINTER(TrainResult)]),
    "ssvae_train_save": (c_int, [c_char_p, POINTER(Model), POINTER(TrainConfig),
                                 POINTER(TrainState), POINTER(Meta), c_int, _err]),
    "ssvae_train_load": (c_int, [c_char_p, POINTER(Model), POINTER(TrainConfig),
                                 POINTER(TrainState), _err]),
    "ssvae_train_state_free": (None, [POINTER(TrainState)]),
    "ssvae_evaluate_latents": (c_int, [_f, _f, c_int, _f, _f, c_int, c_int, c_int, c_int,
                                       POINTER(Eval), _err]),
    "ssvae_show_options_default": (None, [POINTER(ShowOptions)]),
    "ssvae_show": (c_int, [POINTER(Model), _u8, c_int, _f, c_int, c_char_p,
                           POINTER(ShowOptions), POINTER(c_int), _err]),
    "theory_run": (c_int, [POINTER(TheoryReport), c_long, c_int, c_int, c_uint64,
                           THEORY_ROW_FN, c_void_p, _err]),
    # OpenMP's, from the libgomp the library links: the thread count keyword
    "omp_get_max_threads": (c_int, []),
    "omp_set_num_threads": (None, [c_int]),
}


def _find_library():
    """SSVAE_LIB if set, else libssvae.so beside this file (make python puts
    it there), else the build folder of the checkout this package is in."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get("SSVAE_LIB"), os.path.join(here, "libssvae.so"),
                  os.path.join(here, "..", "..", "build", "libssvae.so")]
    for path in candidates:
        if path and os.path.isfile(path):
            return path
    raise ImportError("ssvae: libssvae.so not found beside the package (%s); run `make python` "
                      "in the ssvae checkout, or set SSVAE_LIB to its path" % here)


def _load():
    path = _find_library()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError("ssvae: cannot load %s: %s" % (path, e)) from None
    for name, (restype, argtypes) in _SIGNATURES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise ImportError("ssvae: %s lacks %s(): rebuild it with `make python`" % (path, name)) from None
        fn.restype = restype
        fn.argtypes = argtypes
    for cname, mirror in MIRRORS.items():
        want = lib.ssvae_struct_size(cname.encode())
        if want != ctypes.sizeof(mirror):
            raise ImportError("ssvae: %s has %s of %d bytes, the package expects %d: the library and "
                              "python/ssvae come from different versions; run `make python`"
                              % (path, cname, want, ctypes.sizeof(mirror)))
    return lib, path


lib, path = _load()


def message(err):
    """The library's one-line message from an Error."""
    return err.msg.decode("utf-8", "replace")
