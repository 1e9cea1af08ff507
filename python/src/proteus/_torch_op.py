"""The torch side of proteus.Layer: the custom ops proteus::layer_forward (pure) and
proteus::layer_forward_update (applies the prototype EMA to its prototypes, usage and confidence
arguments in place), each with a fake (meta) kernel, so torch.compile traces through them and CUDA
graphs capture them.

The real kernel calls prt_layer_forward on the tensors' addresses: on the GPU on torch's current
stream, asynchronously, allocating nothing but the outputs (through torch's allocator, so a graph's
memory pool holds them). The layer is forward-only: the pure op's backward raises a clear error
(the in-place op, like any mutating op, has no autograd formula).
"""
from typing import Optional, Tuple

import torch

from . import _layer

_SIGNATURE_DOC = "(layer_id, x, w_qkv, b_qkv, w_proj, b_proj, w_router, prototypes, usage, confidence)"
_OUTPUT_NAMES = ("token_mask", "importance")  # beside y, in _layer._OUTPUTS order


def _outputs(x):
    B, T, C = x.shape
    y = torch.empty_like(x)
    extra = [torch.empty(_layer._output_shape(name, B, T, C),
                         dtype=getattr(torch, _layer._OUTPUTS[name][1].__name__), device=x.device)
             for name in _OUTPUT_NAMES]
    return y, extra


def _run(layer_id, x, weights):
    layer = _layer.layer_by_id(layer_id)
    y, extra = _outputs(x)
    stream = torch.cuda.current_stream(x.device).cuda_stream if x.is_cuda else None
    B, T = x.shape[0], x.shape[1]
    given = {name: t.data_ptr() for name, t in weights.items() if t is not None}
    outs = {"y": y.data_ptr(), **{n: t.data_ptr() for n, t in zip(_OUTPUT_NAMES, extra)}}
    layer.run(x.data_ptr(), B, T, given, outs, stream=stream)
    return (y, *extra)


def _weights(w_qkv, b_qkv, w_proj, b_proj, w_router, prototypes, usage, confidence):
    return {"w_qkv": w_qkv, "b_qkv": b_qkv, "w_proj": w_proj, "b_proj": b_proj,
            "w_router": w_router, "prototypes": prototypes, "usage": usage,
            "confidence": confidence}


@torch.library.custom_op("proteus::layer_forward", mutates_args=())
def layer_forward(layer_id: int, x: torch.Tensor, w_qkv: torch.Tensor, b_qkv: Optional[torch.Tensor],
                  w_proj: torch.Tensor, b_proj: Optional[torch.Tensor], w_router: torch.Tensor,
                  prototypes: Optional[torch.Tensor], usage: Optional[torch.Tensor],
                  confidence: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """y, token_mask, importance of proteus.Layer `layer_id` for x."""
    return _run(layer_id, x, _weights(w_qkv, b_qkv, w_proj, b_proj, w_router, prototypes, usage,
                                      confidence))


@torch.library.custom_op("proteus::layer_forward_update",
                         mutates_args=("prototypes", "usage", "confidence"))
def layer_forward_update(layer_id: int, x: torch.Tensor, w_qkv: torch.Tensor,
                         b_qkv: Optional[torch.Tensor], w_proj: torch.Tensor,
                         b_proj: Optional[torch.Tensor], w_router: torch.Tensor,
                         prototypes: Optional[torch.Tensor], usage: Optional[torch.Tensor],
                         confidence: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """As layer_forward, then the prototype EMA in place (a layer made with update_prototypes)."""
    return _run(layer_id, x, _weights(w_qkv, b_qkv, w_proj, b_proj, w_router, prototypes, usage,
                                      confidence))


def _fake(layer_id, x, w_qkv, b_qkv, w_proj, b_proj, w_router, prototypes, usage, confidence):
    y, extra = _outputs(x)
    return (y, *extra)


layer_forward.register_fake(_fake)
layer_forward_update.register_fake(_fake)


def _no_backward(ctx, *grads):
    raise RuntimeError(_layer.BACKWARD_ERROR)


layer_forward.register_autograd(_no_backward, setup_context=lambda ctx, inputs, output: None)


def _capturing_or_compiling():
    compiling = getattr(torch.compiler, "is_compiling", lambda: False)()
    return compiling or (torch.cuda.is_available() and torch.cuda.is_current_stream_capturing())


def forward(layer, x, details):
    """proteus.Layer.__call__ on torch tensors (arguments already checked)."""
    w = layer.weights
    args = (layer.id, x, w["w_qkv"], w.get("b_qkv"), w["w_proj"], w.get("b_proj"), w["w_router"],
            w.get("prototypes"), w.get("usage"), w.get("confidence"))
    if details and not _capturing_or_compiling():
        # Eager, with the statistics: a direct call (on the GPU it waits for the layer to copy
        # them back), outside the op since a dict is no tensor.
        y, extra = _outputs(x)
        stream = torch.cuda.current_stream(x.device).cuda_stream if x.is_cuda else None
        outs = {"y": y.data_ptr(), **{n: t.data_ptr() for n, t in zip(_OUTPUT_NAMES, extra)}}
        stats = layer.run(x.data_ptr(), x.shape[0], x.shape[1],
                          {n: t.data_ptr() for n, t in w.items()}, outs, stream=stream, stats=True)
        return _layer.LayerOutput(y, stats, **dict(zip(_OUTPUT_NAMES, extra)))
    op = torch.ops.proteus.layer_forward_update if layer.update_prototypes else torch.ops.proteus.layer_forward
    y, *extra = op(*args)
    return _layer.LayerOutput(y, None, **dict(zip(_OUTPUT_NAMES, extra))) if details else y
