"""proteus.Layer: a bundle's attention layer on numpy arrays or torch tensors (forward only).

    layer = proteus.Layer(bundle, weights)     # weights: {name: array}, names as in _WEIGHTS
    y = layer(x)                               # (B, T, C) -> (B, T, C)
    out = layer(x, details=True)               # LayerOutput: y, token_mask, importance, stats

numpy arrays run on the CPU path of the bundle. torch tensors run where they are: CPU tensors on
the CPU path, CUDA tensors on the GPU path on torch's current stream, through the custom op
proteus::layer_forward (proteus/_torch_op.py) so that torch.compile and CUDA graph capture see
it. Every argument is checked before the runtime is called: its type, dtype (what the bundle's
precision takes, Bundle.layer_dtypes), device, shape and contiguity, with the argument's name in
the message.
"""
import ctypes
import weakref

import numpy as np

from . import _capi
from ._compile import Bundle


# The weights prt_layer_args takes: name -> (shape from C and G, when the configuration needs it).
# The same names are the fields of prt_layer_args.
def _always(config):
    return True


def _bias(config):
    return bool(config.get("bias", False))


def _prototypes(config):
    return bool(config.get("proto_enabled", False))


_WEIGHTS = {
    "w_qkv": (lambda C, G: (3 * C, C), _always),
    "b_qkv": (lambda C, G: (3 * C,), _bias),
    "w_proj": (lambda C, G: (C, C), _always),
    "b_proj": (lambda C, G: (C,), _bias),
    "w_router": (lambda C, G: (G, C), _always),
    "prototypes": (lambda C, G: (G, C), _prototypes),
    "usage": (lambda C, G: (G,), _prototypes),
    "confidence": (lambda C, G: (G,), _prototypes),
}
_WHY = {_bias: "the configuration has bias", _prototypes: "the configuration has proto_enabled"}

# The optional outputs beside y: name -> (prt_layer_args field, numpy dtype). Each is a (B, T)
# tensor the runtime fills where its pointer is given. The consensus output of Top-A (being added
# to the C API by another issue) is one more row here, with its field in _capi.prt_layer_args,
# its shape in _output_shape and a field in LayerOutput.
_OUTPUTS = {
    "token_mask": ("token_mask", np.int8),
    "importance": ("importance", np.float32),
}


def _output_shape(name, B, T, C):
    return (B, T)


class LayerOutput:
    """What a call with details=True returns: y and every optional output, and the statistics
    (prt_layer_stats as a dict: mode_name, top_k, k_adapt, packed, setting_index, alpha, ...;
    None inside torch.compile or CUDA graph capture, where reading them back cannot be done)."""

    __slots__ = ("y", "stats") + tuple(_OUTPUTS)

    def __init__(self, y, stats=None, **outputs):
        self.y, self.stats = y, stats
        for name in _OUTPUTS:
            setattr(self, name, outputs.get(name))

    def __repr__(self):
        return f"LayerOutput(y={tuple(self.y.shape)}, stats={self.stats})"


def _is_torch(value):
    return type(value).__module__.startswith("torch")


def _describe(value):
    if _is_torch(value):
        return f"a {str(value.dtype).replace('torch.', '')} torch tensor on {value.device}"
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} numpy array"
    return f"a {type(value).__name__}"


class Layer:
    """The attention layer of `bundle` with `weights`; call it on x (B, T, C).

    bundle             a proteus.Bundle or the path of a bundle folder
    weights            {name: array}: w_qkv (3C, C), w_proj (C, C), w_router (G, C); b_qkv (3C)
                       and b_proj (C) iff the configuration has bias; prototypes (G, C), usage (G)
                       and confidence (G) iff it has proto_enabled. All numpy arrays, or all
                       torch tensors on one device; of a dtype in bundle.layer_dtypes, contiguous.
    alpha              None: the schedule's alpha for each T (the compiled setting nearest it);
                       a number: one of the bundle's settings
    update_prototypes  apply the prototype/usage/confidence EMA after each call, in place in the
                       given arrays (numpy arrays and torch tensors outside torch.compile)
    """

    def __init__(self, bundle, weights, *, alpha=None, update_prototypes=False):
        self.bundle = bundle if isinstance(bundle, Bundle) else Bundle(bundle)
        self.alpha = -1.0 if alpha is None else float(alpha)
        if alpha is not None and not any(abs(a - self.alpha) <= 1e-12 for a, _ in self.bundle.settings):
            have = ", ".join(f"{a:g}" for a, _ in self.bundle.settings)
            raise ValueError(f"alpha={alpha} is not a setting of the bundle (it has {have})")
        self.update_prototypes = bool(update_prototypes)
        self.weights = self._check_weights(weights)
        first = next(iter(self.weights.values()))
        self.is_torch = _is_torch(first)
        self.device = first.device if self.is_torch else "cpu"
        self._plans = {}        # (B, T) -> _capi.Plan
        self._alpha_state = -1.0  # the alpha the last call left (the ramp's hysteresis)
        self._handles = {}      # context kind -> _capi.Bundle
        self.id = _register(self)

    # -- checks ---------------------------------------------------------------------------------

    def _dtype_words(self):
        return (f"this bundle's layer takes {' or '.join(self.bundle.layer_dtypes)} "
                f"(precision '{self.bundle.precision}')")

    def _check_array(self, name, value, shape, device=None):
        """Type, dtype, device, shape and contiguity of one argument, in that order."""
        if _is_torch(value):
            dtype, contiguous = str(value.dtype).replace("torch.", ""), value.is_contiguous()
            if device is not None and value.device != device:
                raise ValueError(f"{name} is on {value.device}, the layer's weights on {device}: "
                                 "move it with .to(device)")
        elif isinstance(value, np.ndarray):
            dtype, contiguous = str(value.dtype), value.flags.c_contiguous
            if device is not None and device != "cpu":
                raise TypeError(f"{name} is a numpy array, the layer's weights are torch tensors "
                                f"on {device}: pass a torch tensor")
        else:
            raise TypeError(f"{name} must be a numpy array or a torch tensor, not {_describe(value)}")
        if dtype not in self.bundle.layer_dtypes:
            raise TypeError(f"{name} has dtype {dtype}; {self._dtype_words()}")
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"{name} has shape {tuple(value.shape)}, expected {tuple(shape)}")
        if not contiguous:
            raise ValueError(f"{name} is not contiguous (row-major): pass "
                             f"{'.contiguous()' if _is_torch(value) else 'np.ascontiguousarray(...)'}")

    def _check_weights(self, weights):
        if not isinstance(weights, dict):
            raise TypeError(f"weights must be a dict of arrays, not {type(weights).__name__}")
        unknown = sorted(set(weights) - set(_WEIGHTS))
        if unknown:
            raise ValueError(f"weights has unknown name(s) {', '.join(unknown)}; the layer takes "
                             f"{', '.join(_WEIGHTS)}")
        if len({_is_torch(v) for v in weights.values() if v is not None}) > 1:
            raise TypeError("weights mixes numpy arrays and torch tensors: pass one kind")
        C, G, config = self.bundle.d_model, self.bundle.gates, self.bundle.config
        out, device = {}, None
        for name, (shape, needed) in _WEIGHTS.items():
            value = weights.get(name)
            if needed(config) and value is None:
                raise ValueError(f"weights['{name}'] is missing: {_WHY.get(needed, 'the layer needs it')}")
            if not needed(config):
                if value is not None:
                    raise ValueError(f"weights['{name}'] is given but not used: "
                                     f"{_WHY[needed].replace('has', 'has no')}")
                continue
            self._check_array(f"weights['{name}']", value, shape(C, G), device)
            if _is_torch(value):
                device = value.device
            out[name] = value
        return out

    def _check_x(self, x):
        C = self.bundle.d_model
        if not (_is_torch(x) or isinstance(x, np.ndarray)):
            raise TypeError(f"x must be a numpy array or a torch tensor, not {_describe(x)}")
        if x.ndim != 3 or x.shape[0] < 1 or x.shape[1] < 1:
            raise ValueError(f"x has shape {tuple(x.shape)}, expected (B, T, {C}) with B, T >= 1")
        if self.is_torch != _is_torch(x):
            raise TypeError(f"x is {_describe(x)}, the layer's weights are "
                            f"{'torch tensors' if self.is_torch else 'numpy arrays'}")
        self._check_array("x", x, (x.shape[0], x.shape[1], C), self.device)

    # -- the runtime ----------------------------------------------------------------------------

    def _context_kind(self):
        if self.is_torch and self.device.type == "cuda":
            return "gpu", self.device.index or 0
        return "cpu", 0

    def plan(self, B, T):
        """The runtime plan for (B, T) (made on first use and kept)."""
        plan = self._plans.get((B, T))
        if plan is None:
            kind, index = self._context_kind()
            if self.is_torch and kind == "gpu":
                import torch
                if torch.cuda.is_current_stream_capturing():
                    raise RuntimeError(
                        f"proteus.Layer: no plan for B={B}, T={T} yet, and a plan cannot be made "
                        "while a CUDA graph is being captured: call the layer once at this shape "
                        "before capturing")
            handle = self._handles.get(kind)
            if handle is None:
                handle = _capi.shared_context(kind, index).open_bundle(self.bundle.path)
                self._handles[kind] = handle
            plan = handle.plan(B, T, alpha=self.alpha, update_prototypes=self.update_prototypes,
                               prev_alpha=self._alpha_state)
            info = plan.info()
            if info["backend"] != kind:
                plan.close()
                raise RuntimeError(f"proteus.Layer: the bundle's layer cannot run on the {kind} "
                                   f"here: {info['backend_reason']}")
            self._plans[(B, T)] = plan
        return plan

    def run(self, x_ptr, B, T, weights, outputs, stream=None, stats=False):
        """One prt_layer_forward on addresses (host or device): weights and outputs are
        {name: address}; returns the statistics as a dict when `stats`, else None."""
        plan = self.plan(B, T)
        args = _capi.prt_layer_args(B=B, T=T, x=x_ptr, stream=stream)
        for name, ptr in weights.items():
            setattr(args, name, ptr)
        for name, ptr in outputs.items():
            setattr(args, name if name == "y" else _OUTPUTS[name][0], ptr)
        st = _capi.prt_layer_stats() if stats else None
        if st is not None:
            args.stats = ctypes.addressof(st)
        plan.forward(args)
        self._alpha_state = plan.info()["alpha_state"]
        return _capi.stats_dict(st) if st is not None else None

    # -- calls ----------------------------------------------------------------------------------

    def __call__(self, x, *, details=False):
        """y (B, T, C) for x (B, T, C); with details=True a LayerOutput."""
        self._check_x(x)
        if self.is_torch:
            from . import _torch_op
            return _torch_op.forward(self, x, details)
        B, T = x.shape[0], x.shape[1]
        y = np.empty_like(x)
        extra = {name: np.empty(_output_shape(name, B, T, x.shape[2]), dtype=dt)
                 for name, (_, dt) in _OUTPUTS.items()} if details else {}
        outs = {"y": y.ctypes.data, **{n: a.ctypes.data for n, a in extra.items()}}
        stats = self.run(x.ctypes.data, B, T, {n: w.ctypes.data for n, w in self.weights.items()},
                         outs, stats=details)
        return LayerOutput(y, stats, **extra) if details else y

    def backward(self, *args, **kwargs):
        raise RuntimeError(BACKWARD_ERROR)

    def close(self):
        """Frees the plans and bundle handles now (otherwise when the layer is collected)."""
        for plan in self._plans.values():
            plan.close()
        for handle in self._handles.values():
            handle.close()
        self._plans, self._handles = {}, {}

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return (f"proteus.Layer({self.bundle!r}, on {self.device}, "
                f"alpha={'auto' if self.alpha < 0 else self.alpha})")


BACKWARD_ERROR = ("proteus.Layer is forward-only (inference): it has no backward, so no gradient "
                  "flows through it; run it under torch.no_grad() / torch.inference_mode()")

_layers = weakref.WeakValueDictionary()
_next_id = [0]


def _register(layer):
    _next_id[0] += 1
    _layers[_next_id[0]] = layer
    return _next_id[0]


def layer_by_id(layer_id):
    layer = _layers.get(layer_id)
    if layer is None:
        raise RuntimeError(f"proteus.Layer {layer_id} no longer exists")
    return layer
