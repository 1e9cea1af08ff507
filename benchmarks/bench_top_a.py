#!/usr/bin/env python3
"""One Top-A decoding step on the GPU (issue 21), against the reference's own sampler.

The step: the layer (a bundle of d_model C) runs on a context of T tokens and returns its head
consensus at the last position (prt_layer_forward with args.consensus), then the Top-A sampler
(prt_gpu_top_a) draws from V logits with a bf16 embedding (V, C). In the same process the
reference's `_sample_with_top_a` (examples/common.py of Zen-Sherbert/Proteus-Attention, loaded
from $PROTEUS_REFERENCE_DIR, never copied here) runs on the same values on torch: the logits as
f32 (an lm_head output upcast), the embedding and the consensus in bf16. Times are medians of
CUDA-event times on torch's current stream after warm-up. Ours is device time with the GPU the
bottleneck (the host enqueues ten calls behind a sleep kernel; its enqueue time per call is
reported beside it). The reference's function ends in `.item()` (a host synchronisation), so it
is timed call by call as a user sees it, its host gaps included. Correctness in the same run: our GPU sampler against our CPU sampler (prt_top_a) on the same
bf16 values (kept ids exactly, probs within 1e-6) and against the reference run in f32 (the
embedding and logits upcast: the reference's own bf16 path normalises in bf16).

Target (issue 21, H100): the sampler step <= 50 us of device time and >= 10x the reference's.

  python3 benchmarks/bench_top_a.py --dry-run        # here: no torch, no GPU
  python3 benchmarks/bench_top_a.py                  # the GPU machine (scripts/bench_top_a.sh)

Output: a JSON document (--out, default .device/top_a/results/bench_top_a.json) and a Markdown
summary on stdout, to commit into benchmarks/results/ with the card and date.
"""
import argparse
import ast
import datetime
import importlib.util
import json
import os
import pathlib
import re
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "python" / "src"))  # the package's ctypes mirror
from proteus import _capi as proteus_rt  # noqa: E402

DEFAULT_DIR = REPO / ".device" / "top_a"
REFERENCE_FUNCS = ("_sample_with_top_a", "_build_nucleus_from_logits", "_compute_agreement_scores")
MAX_CANDIDATES = 2048  # contract.h kGpuTopAMaxCandidates


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bundle", default=str(DEFAULT_DIR / "bundle"),
                   help="bundle of the C-wide layer (scripts/bench_top_a.sh makes it)")
    p.add_argument("--lib", default=str(DEFAULT_DIR / "lib" / "libproteus_rt.so"))
    p.add_argument("--header", default=str(REPO / "runtime/include/proteus_rt/proteus_rt.h"))
    p.add_argument("--reference", default=os.environ.get(
        "PROTEUS_REFERENCE_DIR", str(REPO / "third_party_ref" / "Proteus-Attention")))
    p.add_argument("--V", type=int, default=131072)
    p.add_argument("--T", type=int, default=1024, help="context length of the layer call")
    p.add_argument("--logit-scale", type=float, default=5.0,
                   help="logits ~ N(0, scale^2): 5 gives a nucleus of about a hundred at V 128K")
    p.add_argument("--top-p", type=float, default=0.9)
    p.add_argument("--mode", choices=["off", "blend", "filter"], default="blend")
    p.add_argument("--lambda", dest="lam", type=float, default=0.5)
    p.add_argument("--tau", type=float, default=0.7)
    p.add_argument("--threshold", type=float, default=0.0)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(os.environ.get("OUT", str(DEFAULT_DIR / "results")),
                                                 "bench_top_a.json"))
    p.add_argument("--dry-run", action="store_true",
                   help="check here: the ctypes mirror, the bundle, the CPU sampler, the reference "
                        "source; no torch, no GPU")
    return p.parse_args()


def load_reference(ref_dir):
    """The reference's examples/common.py as a module (needs torch)."""
    path = pathlib.Path(ref_dir) / "examples" / "common.py"
    spec = importlib.util.spec_from_file_location("proteus_reference_common", path)
    module = importlib.util.module_from_spec(spec)
    # Registered first: its dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def reference_source_check(ref_dir):
    """Which of the sampler functions the reference source defines (parsed, not imported)."""
    path = pathlib.Path(ref_dir) / "examples" / "common.py"
    if not path.exists():
        return f"no reference source at {path} (benchmarks/README.md: third_party_ref)"
    names = {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}
    missing = [f for f in REFERENCE_FUNCS if f not in names]
    return f"{path} lacks {missing}" if missing else f"{path}: defines {', '.join(REFERENCE_FUNCS)}"


def bundle_check(bundle):
    """d_model from the manifest and the Top-A kernels in setting 0's PTX."""
    manifest = json.loads((pathlib.Path(bundle) / "manifest.json").read_text())
    ptx = pathlib.Path(bundle) / "ptx" / "sm_90" / "s0.ptx"
    kernels = sorted(set(re.findall(r"\.entry (proteus_top_a_\w+)", ptx.read_text()))) if ptx.exists() else []
    return manifest["config"]["d_model"], kernels


def make_args(**fields):
    a = proteus_rt.prt_top_a_args()
    for k, v in fields.items():
        setattr(a, k, v)
    return a


def dry_run(o):
    import ctypes
    import random
    proteus_rt.check_header(o.header)
    print("proteus_rt.py mirrors", o.header)
    C, kernels = bundle_check(o.bundle)
    print(f"bundle {o.bundle}: d_model {C}; setting 0's PTX has {len(kernels)} Top-A kernels {kernels}")
    # contract.h kTopAStages: five shared stages and the three modes' kernels, per element type.
    if len(kernels) != 16:
        raise SystemExit("the bundle's setting 0 PTX lacks Top-A kernels (proteus-compile too old?)")
    rt = proteus_rt.Runtime(o.lib, o.header)
    ctx = rt.context(backend=proteus_rt.PRT_BACKEND_CPU)
    bundle = ctx.open_bundle(o.bundle)
    # The CPU sampler on a small case of the benchmark's shape (V 1024, C of the bundle).
    B, V = 1, 1024
    rng = random.Random(o.seed)
    logits = (ctypes.c_float * (B * V))(*[rng.gauss(0, o.logit_scale) for _ in range(B * V)])
    cons = (ctypes.c_float * (B * C))(*[rng.gauss(0, 1) for _ in range(B * C)])
    emb = (ctypes.c_float * (V * C))(*[rng.gauss(0, 1) for _ in range(V * C)])
    u = (ctypes.c_float * B)(0.5)
    kept = (ctypes.c_int64 * (B * V))()
    probs = (ctypes.c_float * (B * V))()
    counts = (ctypes.c_int64 * (B * 2))()
    sample = (ctypes.c_int64 * B)()
    args = make_args(B=B, V=V, C=C, dtype=proteus_rt.PRT_DTYPE["f32"],
                     logits=ctypes.addressof(logits), consensus=ctypes.addressof(cons),
                     embedding=ctypes.addressof(emb), uniform=ctypes.addressof(u),
                     mode=proteus_rt.PRT_TOP_A_MODE[o.mode], top_p=o.top_p,
                     tau=o.tau, threshold=o.threshold, kept=ctypes.addressof(kept),
                     probs=ctypes.addressof(probs), counts=ctypes.addressof(counts),
                     sample=ctypes.addressof(sample))
    setattr(args, "lambda", o.lam)
    t0 = time.perf_counter()
    bundle.top_a(args, gpu=False)
    ms = (time.perf_counter() - t0) * 1e3
    k = counts[1]
    total = sum(probs[j] for j in range(k))
    if not (1 <= k <= counts[0] <= V) or abs(total - 1.0) > 1e-5 or sample[0] not in kept[:k]:
        raise SystemExit(f"the CPU sampler gave counts {counts[:]}, probs sum {total}, sample {sample[0]}")
    print(f"prt_top_a (CPU, V {V}, C {C}, {o.mode}): nucleus {counts[0]}, kept {k}, "
          f"probs sum {total:.7f}, sample {sample[0]}, {ms:.1f} ms")
    bundle.close()
    ctx.close()
    print("reference:", reference_source_check(o.reference))
    print("dry run OK")


def cuda_median_ms(torch, fn, warmup, iters, inner=1, prefill=True):
    """Median device time of one fn() and median host time to enqueue one (no synchronisation).

    The device time is taken with the GPU as the bottleneck: a sleep kernel holds the stream
    (three times as long as the host needs to enqueue `inner` calls) while the host enqueues them,
    and the events after the sleep and after the last call time the calls' kernels back to back.
    Without it, a call whose kernels take less time than the host's enqueue would be timed at the
    host's rate. prefill=False for a call that synchronises (the host waits for the GPU inside
    it): the sleep cannot fill its queue, and its host time would include the sleep."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    host_ms = (time.perf_counter() - t0) * 1e3
    torch.cuda.synchronize()
    sleep_cycles = int(max(3 * host_ms, 0.1) * 2e6) if prefill else 0  # 2e6 cycles/ms at 2 GHz
    dev, host = [], []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        if sleep_cycles:
            torch.cuda._sleep(sleep_cycles)
        start.record()
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        host.append((time.perf_counter() - t0) * 1e3 / inner)
        end.record()
        end.synchronize()
        dev.append(start.elapsed_time(end) / inner)
    return statistics.median(dev), statistics.median(host)


def kernel_times_us(torch, fn, calls=20):
    """Mean device time (us) of each kernel whose name starts with proteus_top_a over `calls`
    calls, from the profiler's CUDA activity trace (CUPTI sees the runtime's driver launches)."""
    from torch.profiler import ProfilerActivity, profile
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
    times = {}
    for e in prof.events():
        if e.name.startswith("proteus_top_a") and e.device_type.name == "CUDA":
            times.setdefault(e.name, []).append(e.device_time)
    return {k: statistics.mean(v) for k, v in sorted(times.items())}


def run(o):
    import torch
    proteus_rt.check_header(o.header)
    torch.manual_seed(o.seed)
    dev = torch.device("cuda")
    card = torch.cuda.get_device_name()
    C, kernels = bundle_check(o.bundle)
    rt = proteus_rt.Runtime(o.lib, o.header)
    ctx = rt.context(backend=proteus_rt.PRT_BACKEND_GPU)
    bundle = ctx.open_bundle(o.bundle)
    info = bundle.info()
    G = info["gates"]
    stream = torch.cuda.current_stream().cuda_stream
    result = {"card": card, "date": datetime.date.today().isoformat(), "V": o.V, "C": C, "T": o.T,
              "mode": o.mode, "top_p": o.top_p, "lambda": o.lam, "tau": o.tau,
              "logit_scale": o.logit_scale, "embedding": "bf16", "logits": "bf16"}

    # The layer call that gives the consensus at the last position (a failure is recorded and
    # the sampler runs on a random consensus).
    consensus = torch.randn(1, C, device=dev)
    try:
        plan = bundle.plan(1, o.T)
        w = 1.0 / C ** 0.5
        x = torch.randn(1, o.T, C, device=dev)
        w_qkv = torch.randn(3 * C, C, device=dev) * w
        w_proj = torch.randn(C, C, device=dev) * w
        w_router = torch.randn(G, C, device=dev) * w
        protos = torch.randn(G, C, device=dev)
        usage = torch.zeros(G, device=dev)
        conf = torch.ones(G, device=dev)
        y = torch.empty(1, o.T, C, device=dev)
        la = proteus_rt.prt_layer_args(B=1, T=o.T, x=x.data_ptr(), w_qkv=w_qkv.data_ptr(),
                                       w_proj=w_proj.data_ptr(), w_router=w_router.data_ptr(),
                                       y=y.data_ptr(), stream=stream,
                                       consensus=consensus.data_ptr())
        # Read only where the configuration enables prototypes.
        la.prototypes, la.usage, la.confidence = protos.data_ptr(), usage.data_ptr(), conf.data_ptr()
        layer_ms, _ = cuda_median_ms(torch, lambda: plan.forward(la), 3, 10)
        result["layer_ms"] = layer_ms
        plan.close()
        del x, w_qkv, w_proj, y
    except Exception as e:
        layer_ms = float("nan")
        result["layer_error"] = f"{type(e).__name__}: {e}"

    # The sampler's inputs: bf16 logits and embedding, the layer's f32 consensus.
    logits = (torch.randn(1, o.V, device=dev) * o.logit_scale).to(torch.bfloat16)
    emb = torch.randn(o.V, C, device=dev).to(torch.bfloat16)
    uniform = torch.full((1,), 0.5, device=dev)
    kept = torch.empty(1, o.V, dtype=torch.int64, device=dev)
    probs = torch.empty(1, o.V, device=dev)
    counts = torch.empty(1, 2, dtype=torch.int64, device=dev)
    sample = torch.empty(1, dtype=torch.int64, device=dev)
    args = make_args(B=1, V=o.V, C=C, dtype=proteus_rt.PRT_DTYPE["bf16"], logits=logits.data_ptr(),
                     consensus=consensus.data_ptr(), embedding=emb.data_ptr(),
                     uniform=uniform.data_ptr(), mode=proteus_rt.PRT_TOP_A_MODE[o.mode],
                     top_p=o.top_p, tau=o.tau, threshold=o.threshold, kept=kept.data_ptr(),
                     probs=probs.data_ptr(), counts=counts.data_ptr(), sample=sample.data_ptr(),
                     stream=stream)
    setattr(args, "lambda", o.lam)
    ours_ms, ours_wall = cuda_median_ms(torch, lambda: bundle.top_a(args), o.warmup, o.iters,
                                        inner=10)
    result.update(top_a_ms=ours_ms, top_a_host_ms=ours_wall, step_ms=layer_ms + ours_ms)
    try:
        result["top_a_kernels_us"] = kernel_times_us(torch, lambda: bundle.top_a(args))
    except Exception as e:  # no CUPTI: the totals above stand
        result["top_a_kernels_error"] = f"{type(e).__name__}: {e}"
    n, k = counts[0].tolist()
    result.update(nucleus=n, kept=k)
    if n < 0:
        result["note"] = (f"the GPU kernel refused the row: more than {MAX_CANDIDATES} candidates "
                          "(lower --logit-scale's flatness)")

    # Our CPU sampler on the same values (host copies).
    import ctypes
    h = {name: t.cpu().contiguous() for name, t in
         dict(logits=logits, cons=consensus, emb=emb, u=uniform).items()}
    hk, hp = torch.empty(1, o.V, dtype=torch.int64), torch.empty(1, o.V)
    hc, hs = torch.empty(1, 2, dtype=torch.int64), torch.empty(1, dtype=torch.int64)
    cargs = make_args(B=1, V=o.V, C=C, dtype=proteus_rt.PRT_DTYPE["bf16"],
                      logits=h["logits"].data_ptr(), consensus=h["cons"].data_ptr(),
                      embedding=h["emb"].data_ptr(), uniform=h["u"].data_ptr(),
                      mode=args.mode, top_p=o.top_p, tau=o.tau, threshold=o.threshold,
                      kept=hk.data_ptr(), probs=hp.data_ptr(), counts=hc.data_ptr(),
                      sample=hs.data_ptr())
    setattr(cargs, "lambda", o.lam)
    bundle.top_a(cargs, gpu=False)
    same = (hc.tolist() == counts.cpu().tolist() and torch.equal(hk, kept.cpu())
            and hs.tolist() == sample.cpu().tolist())
    err = (hp - probs.cpu()).abs().max().item()
    result["gpu_vs_cpu"] = {"kept_counts_sample_equal": same, "probs_max_abs": err}

    # The reference's sampler on the same inputs (bf16 model: consensus in bf16 too).
    ref_note = reference_source_check(o.reference)
    try:
        ref = load_reference(o.reference)
        thr = o.threshold if o.mode == "filter" else None
        # f32 logits (an lm_head's output upcast), the bf16 embedding and consensus.
        cons_bf16 = consensus[0].to(torch.bfloat16)
        l1 = logits[0].float()
        call = lambda: ref._sample_with_top_a(l1, o.top_p, o.mode, cons_bf16, emb, o.lam, o.tau, thr)  # noqa: E731
        ref_ms, ref_wall = cuda_median_ms(torch, call, o.warmup, o.iters, prefill=False)
        result.update(reference_ms=ref_ms, reference_host_ms=ref_wall,
                      speedup_device=ref_ms / ours_ms, speedup_host=ref_wall / ours_wall)
        # Its distribution in f32 (the values upcast) against ours.
        idx, nl = ref._build_nucleus_from_logits(l1, o.top_p)
        adj = nl.clone()
        if o.mode != "off":
            ag = ref._compute_agreement_scores(consensus[0], emb.float(), idx, o.tau)
            if o.mode == "filter":
                mask = ag >= o.threshold
                if not mask.any():
                    mask = torch.ones_like(mask)
                idx, adj, ag = idx[mask], adj[mask], ag[mask]
            adj = adj + o.lam * ag
        rp = torch.softmax(adj, dim=-1)
        ours_k = kept[0, :max(k, 0)].cpu()
        result["vs_reference_f32"] = {
            "kept_equal": bool(k == idx.numel() and torch.equal(ours_k, idx.cpu())),
            "probs_max_abs": (rp.cpu() - probs[0, :max(k, 0)].cpu()).abs().max().item()
            if k == idx.numel() else None}
    except Exception as e:  # the reference's cells say why
        result["reference_error"] = f"{type(e).__name__}: {e} ({ref_note})"

    bundle.close()
    ctx.close()
    out = pathlib.Path(o.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"# Top-A step, {card}, {result['date']}\n")
    print(f"V {o.V}, C {C}, bf16 logits and embedding, mode {o.mode}, top_p {o.top_p}, "
          f"lambda {o.lam}, tau {o.tau}; nucleus {n}, kept {k}\n")
    print("| what | device ms (median, CUDA events, GPU-bound) | host ms to enqueue |")
    print("| --- | --- | --- |")
    print(f"| layer call at T {o.T} with the consensus | {layer_ms:.4f} | |")
    print(f"| prt_gpu_top_a | {ours_ms:.4f} | {ours_wall:.4f} |")
    if "reference_ms" in result:
        print(f"| reference _sample_with_top_a | {result['reference_ms']:.4f} | "
              f"{result['reference_host_ms']:.4f} |")
        print(f"\nspeedup {result['speedup_device']:.1f}x (device), {result['speedup_host']:.1f}x (host); "
              f"target <= 0.050 ms and >= 10x: "
              f"{'met' if ours_ms <= 0.05 and result['speedup_device'] >= 10 else 'NOT met'}")
    else:
        print("\nreference: " + result.get("reference_error", "not run"))
    for name, us in result.get("top_a_kernels_us", {}).items():
        print(f"kernel {name}: {us:.2f} us")
    if "top_a_kernels_error" in result:
        print("per-kernel times: " + result["top_a_kernels_error"])
    if "layer_error" in result:
        print("layer: " + result["layer_error"] + " (the sampler ran on a random consensus)")
    print(f"GPU vs CPU sampler: {result['gpu_vs_cpu']}; vs the reference in f32: "
          f"{result.get('vs_reference_f32')}")
    print(f"\nwrote {out}")


def main():
    o = parse_args()
    if o.dry_run:
        dry_run(o)
    else:
        run(o)


if __name__ == "__main__":
    main()
