"""Proteus sparse attention from Python.

    import proteus
    bundle = proteus.compile({"d_model": 256, "h_total": 8}, alphas=[0, 0.5, 1])
    layer = proteus.Layer(bundle, weights)       # weights: numpy arrays or torch tensors
    y = layer(x)                                 # x: (B, T, C) float32

proteus.compile runs the proteus-compile tool (on PATH, or $PROTEUS_COMPILE) and keeps the bundle
in the runtime's cache folder, keyed by a hash of what went in. proteus.Layer runs a bundle through
the runtime (libproteus_rt, installed with this package): numpy arrays on the CPU, torch tensors
on the CPU or on their CUDA device (a torch.library custom op on the current stream, so
torch.compile and CUDA graph capture work). Inference only.

numpy is imported on first use of these names, torch only where torch tensors are passed: the
ctypes binding (proteus._capi) needs neither.
"""

__all__ = ["compile", "Bundle", "Layer", "LayerOutput", "CompileError", "version"]


def __getattr__(name):
    if name in ("compile", "Bundle", "CompileError"):
        from . import _compile
        return getattr(_compile, name)
    if name in ("Layer", "LayerOutput"):
        from . import _layer
        return getattr(_layer, name)
    raise AttributeError(f"module 'proteus' has no attribute '{name}'")


def version():
    """The runtime's version (prt_version()), which is also the package's."""
    from . import _capi
    return _capi.runtime().version()
