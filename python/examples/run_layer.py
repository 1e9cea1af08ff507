"""Compile a Proteus layer into a bundle and run it on the CPU (numpy), and on the GPU through
PyTorch where torch and a CUDA device are present.

    pip install ./python
    PATH=$PWD/build/bin:$PATH python python/examples/run_layer.py     # or PROTEUS_COMPILE=...
"""
import sys
import time

import numpy as np

import proteus

try:
    import torch
except ImportError:
    torch = None
gpu = torch is not None and torch.cuda.is_available()

config = {"d_model": 256, "h_total": 8}                  # the reference's names; others default
started = time.perf_counter()
# Cached by content hash; the GPU kernels (PTX and SASS for sm_90) only where a GPU will run them.
bundle = proteus.compile(config, alphas=[0.0, 0.5, 1.0], arch="sm_90" if gpu else None)
print(f"{bundle} ready in {time.perf_counter() - started:.2f} s")

rng = np.random.default_rng(0)
C, G = bundle.d_model, bundle.gates
scale = C ** -0.5  # a Python float: keeps float32 arrays float32 (numpy 2 promotes by np.float64)
weights = {"w_qkv": rng.standard_normal((3 * C, C), np.float32) * scale,
           "w_proj": rng.standard_normal((C, C), np.float32) * scale,
           "w_router": rng.standard_normal((G, C), np.float32) * scale}
x = rng.standard_normal((1, 4096, C), np.float32)

# alpha=None: the schedule's alpha for each T (dense at this T for the default configuration);
# alpha=1.0: the sparsest setting, shortlist attention.
for alpha in (None, 1.0):
    layer = proteus.Layer(bundle, weights, alpha=alpha)
    out = layer(x, details=True)
    s = out.stats
    print(f"cpu: y {out.y.shape}, mode {s['mode_name']}, alpha {s['alpha']:g}, "
          f"top_k {s['top_k']}, {s['packed']} (row, token) pairs, kept "
          f"{int(out.token_mask.sum())}/{out.token_mask.size} tokens, "
          f"|y| mean {np.abs(out.y).mean():.4f}")
    if not np.isfinite(out.y).all():
        sys.exit("y has a non-finite element")

if gpu:
    layer = proteus.Layer(bundle, {k: torch.from_numpy(v).cuda() for k, v in weights.items()},
                          alpha=1.0)
    y = layer(torch.from_numpy(x).cuda())
    err = float((y.cpu() - torch.from_numpy(out.y)).norm() / torch.from_numpy(out.y).norm())
    print(f"gpu: y {tuple(y.shape)} on {y.device}, relative L2 to the CPU path {err:.2e}")
