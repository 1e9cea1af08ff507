#!/usr/bin/env python3
"""Dense-attention baseline on the GPU machine: PyTorch SDPA (cuDNN and Flash
backends), causal, bf16, timed with CUDA events (median of repeats after
warm-up), on the shapes the attention-kernel timings use. Run in the same
device call as the kernel timings so that the ratios compare like with like.

usage: python3 benchmarks/sdpa_baseline.py [--heads 8] [--dim 64] [--T 4096,16384]
"""
import argparse

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel


def median_ms(fn, warmup=5, repeat=25):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--T", default="4096,16384")
    args = ap.parse_args()
    dev = torch.cuda.get_device_name()
    print(f"# PyTorch {torch.__version__} on {dev}")
    print("| T | heads x D | backend | ms | TFLOP/s (causal) |")
    print("|---:|---|---|---:|---:|")
    for T in [int(t) for t in args.T.split(",")]:
        q, k, v = (torch.randn(1, args.heads, T, args.dim, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        flops = 2.0 * args.heads * T * T * args.dim  # causal: half of 4·H·T²·D
        for name, backend in [("cudnn", SDPBackend.CUDNN_ATTENTION), ("flash", SDPBackend.FLASH_ATTENTION)]:
            try:
                with sdpa_kernel(backend):
                    ms = median_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
                print(f"| {T} | {args.heads}x{args.dim} | {name} | {ms:.3f} | {flops / ms / 1e9:.0f} |")
            except RuntimeError as err:
                print(f"| {T} | {args.heads}x{args.dim} | {name} | n/a ({str(err)[:40]}) | |")


if __name__ == "__main__":
    main()
