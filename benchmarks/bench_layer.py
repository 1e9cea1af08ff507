#!/usr/bin/env python3
"""The whole layer, side by side, in one process on the GPU machine (issue 7).

For each configuration of benchmarks/bench_configs.py (h32d16: the reference benchmark's layer,
32 heads of 16; h8d64: 8 heads of 64) and each T of 4K ... 524K (batch 4 below 8K, else 1):
  proteus        our layer through the runtime (libproteus_rt, ctypes on torch tensors), alpha
                 from the runtime's ramp; f32 activations and weights (--proteus-dtype)
  proteus-dense  the same forced to the alpha 0 setting (dense mode), at --dense-T only
  cudnn, flash   the dense baseline: x @ Wqkv^T, PyTorch SDPA causal (that backend), @ Wproj^T, bf16
  reference      the original implementation (Zen-Sherbert/Proteus-Attention, its tinytoy
                 configuration for T, bf16), when its source is present ($PROTEUS_REFERENCE_DIR,
                 else third_party_ref/Proteus-Attention)
Timing: CUDA events on torch's current stream (the runtime gets the same stream) after warm-up,
the median of repeats; peak device memory of everything the variant allocates (input, weights,
output, scratch; for the runtime, whose memory torch does not see, the drop in free device
memory it causes). Also: the card's ceilings (device copy TB/s; bf16, f32 and f64 GEMM TFLOP/s),
per-kernel times of our layer from the runtime's CUDA events (PROTEUS_PROFILE; torch.profiler
where that fails) with their byte and FLOP counts
(kernel_model.py), the runtime's plan and launch overhead, and the compile times from
scripts/bench_bundles.sh. A variant that fails records its error; the run goes on. The JSON is
rewritten after every measurement; benchmarks/report.py turns it into the table and the plot.

  python3 benchmarks/bench_layer.py [--quick] [--json PATH]     (on the GPU machine)
  python3 benchmarks/bench_layer.py --dry-run                   (here: configs, structs, bundles)
"""
import argparse
import datetime
import faulthandler
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "python", "src"))  # the package's ctypes mirror

import bench_configs as configs  # noqa: E402
import kernel_model  # noqa: E402
from proteus import _capi as proteus_rt  # noqa: E402
import bench_variants  # noqa: E402
from bench_variants import DenseLayer, ProteusLayer, ReferenceLayer  # noqa: E402

HEADER = os.path.join(REPO, "runtime", "include", "proteus_rt", "proteus_rt.h")
DEFAULT_REFERENCE = os.path.join(REPO, "third_party_ref", "Proteus-Attention")
VARIANTS = ["proteus", "proteus-dense", "cudnn", "flash", "reference"]
QUICK_T = [4096, 65536, 524288]
OVERHEAD_T = 256  # the "tiny T" of the launch-overhead figures


# ------------------------------------------------------------------------------------------------
# Arguments and paths
# ------------------------------------------------------------------------------------------------

def int_list(text):
    return [int(v) for v in text.split(",") if v]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-dir", default=os.environ.get("PROTEUS_BENCH_DIR",
                                                          os.path.join(REPO, ".device", "bench")),
                    help="what scripts/bench_bundles.sh made (bundles/, lib/, compile.json)")
    ap.add_argument("--lib", help="libproteus_rt.so.0 (default: BENCH_DIR/lib/)")
    ap.add_argument("--reference-dir", default=os.environ.get("PROTEUS_REFERENCE_DIR", DEFAULT_REFERENCE),
                    help="the reference's source tree, holding src/proteus_attention (default: "
                         "$PROTEUS_REFERENCE_DIR, else third_party_ref/Proteus-Attention)")
    ap.add_argument("--json", help="results file (default: $OUT/bench_layer.json, else "
                                   "benchmarks/results/bench_layer.json)")
    ap.add_argument("--T", type=int_list, help="sequence lengths (default: 4K ... 524K)")
    ap.add_argument("--configs", default=",".join(configs.HEADS), help="configurations to run")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="variants to run")
    ap.add_argument("--proteus-dtype", default="f32", choices=sorted(proteus_rt.PRT_DTYPE),
                    help="activation and weight dtype of our layer (the runtime takes f32 today)")
    ap.add_argument("--dense-T", type=int_list, default=[4096, 8192],
                    help="T at which proteus-dense runs")
    ap.add_argument("--kernel-T", type=int_list, help="T at which the per-kernel profile is taken "
                                                      "(default: every T)")
    ap.add_argument("--baseline-kernel-T", type=int_list, default=[4096, 65536],
                    help="T at which the dense baselines are profiled too")
    ap.add_argument("--reference-configs",
                    help="configurations the reference runs on (default: both; --quick: h32d16)")
    ap.add_argument("--reference-autotune", default="auto", choices=("auto", "on", "off"),
                    help="the reference's Triton block-size autotune on its first call at each "
                         "shape. auto (default): on where the head dimension is below 64, off "
                         "(its default blocks) from 64 on, where it compiled Triton kernels for over "
                         "500 s on the H200 before its first h8d64 call returned. "
                         "PROTEUS_TUNE_DISABLE=1 in the environment turns it off everywhere")
    ap.add_argument("--quick", action="store_true",
                    help=f"T {QUICK_T}, 1 warm-up and 3 timed calls, reference on h32d16 only")
    ap.add_argument("--dry-run", action="store_true", help="check configs, structs and bundles; no GPU")
    args = ap.parse_args(argv)
    args.lib = args.lib or os.path.join(args.bench_dir, "lib", "libproteus_rt.so.0")
    args.configs = args.configs.split(",")
    args.variants = args.variants.split(",")
    for v in args.variants:
        if v not in VARIANTS:
            ap.error(f"unknown variant '{v}' (known: {', '.join(VARIANTS)})")
    for c in args.configs:
        if c not in configs.HEADS:
            ap.error(f"unknown configuration '{c}' (known: {', '.join(configs.HEADS)})")
    if args.reference_configs:
        args.reference_configs = args.reference_configs.split(",")
    else:
        args.reference_configs = ["h32d16"] if args.quick else list(configs.HEADS)
    if args.quick:
        args.T = args.T or QUICK_T
    args.T = args.T or configs.T_LIST
    args.kernel_T = args.kernel_T or args.T
    if not args.json:
        out = os.environ.get("OUT")
        args.json = os.path.join(out, "bench_layer.json") if out else \
            os.path.join(HERE, "results", "bench_layer.json")
    return args


def bundle_dir(args, config, T):
    return os.path.join(args.bench_dir, "bundles",
                        configs.bundle_name(config, configs.bracket_for(T)))


def tune_disabled_by_environment():
    return os.environ.get("PROTEUS_TUNE_DISABLE", "").strip().lower() in {"1", "true", "yes", "disable"}


def reference_autotune(policy, config):
    """Whether the reference's block autotune runs for `config` under --reference-autotune."""
    if tune_disabled_by_environment() or policy == "off":
        return False
    return policy == "on" or configs.D_MODEL // configs.HEADS[config] < 64


def reference_autotune_text(policy, config):
    if tune_disabled_by_environment():
        return "off (PROTEUS_TUNE_DISABLE)"
    on = reference_autotune(policy, config)
    if policy == "auto" and not on:
        return "off (--reference-autotune auto: head dim >= 64, where its Triton compile outlasts the run)"
    return ("on" if on else "off") + f" (--reference-autotune {policy})"


def reps(T, quick):
    """(warm-up calls after the first, timed calls) at T."""
    if quick:
        return 1, 3
    if T <= 16384:
        return 3, 10
    if T <= 131072:
        return 2, 5
    return 0, 3


def git_commit():
    stamp = os.path.join(REPO, ".device", "COMMIT")
    if os.path.exists(stamp):
        return open(stamp).read().strip()
    try:
        return subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def reference_revision(ref_dir):
    try:
        return subprocess.run(["git", "-C", ref_dir, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def reference_present(ref_dir):
    return bool(ref_dir) and os.path.exists(
        os.path.join(ref_dir, "src", "proteus_attention", "kernels", "tinytoy.py"))


# ------------------------------------------------------------------------------------------------
# Dry run (no GPU, no torch)
# ------------------------------------------------------------------------------------------------

def dry_run(args):
    """Checks the struct mirror, the bundles against bench_configs, and the schedule each T gets
    (on a CPU context: the same host schedule code the GPU plan runs). Returns an exit status."""
    problems = []
    proteus_rt.check_header(HEADER)
    print(f"structs: python/src/proteus/_capi.py mirrors {os.path.relpath(HEADER, REPO)}")
    rt = proteus_rt.Runtime(args.lib)
    ctx = rt.context(proteus_rt.PRT_BACKEND_CPU)
    print(f"library: {args.lib}")
    for config in args.configs:
        for T in args.T:
            path = bundle_dir(args, config, T)
            if not os.path.exists(os.path.join(path, "manifest.json")):
                problems.append(f"{path}: no bundle (run scripts/bench_bundles.sh)")
                continue
            manifest = json.load(open(os.path.join(path, "manifest.json")))
            want = configs.layer_config(config, configs.bracket_for(T))
            for key, value in want.items():
                if manifest["config"].get(key) != value:
                    problems.append(f"{path}: config {key} is {manifest['config'].get(key)}, "
                                    f"bench_configs.py says {value}")
            if manifest.get("gpu_note"):
                print(f"  note: {path}: gpu_note: {manifest['gpu_note']}")
            bundle = ctx.open_bundle(path)
            plan = bundle.plan(configs.batch_for(T), T, update_prototypes=True)
            info = plan.info()
            print(f"  {config} T={T:>6} B={configs.batch_for(T)} {os.path.basename(path)}: "
                  f"alpha {info['alpha_schedule']:.3f} -> setting {info['setting_index']} "
                  f"(alpha {info['alpha']:g}), keep {info['keep_ratio']:.3f} "
                  f"({info['token_keep']} tokens), top_k {info['top_k']}, L {info['effective_L']}, "
                  f"window {info['window']}, anchors {info['anchor_cap']}, "
                  f"prefer_dense {info['prefer_dense']}")
            plan.close()
            if T in args.dense_T:
                plan = bundle.plan(configs.batch_for(T), T, alpha=0.0, update_prototypes=True)
                dense = plan.info()["prefer_dense"]
                print(f"  {config} T={T:>6} proteus-dense: setting {plan.info()['setting_index']}, "
                      f"prefer_dense {dense}")
                if not dense:
                    problems.append(f"{config} T={T}: the alpha 0 setting does not choose dense")
                plan.close()
            bundle.close()
    compile_json = os.path.join(args.bench_dir, "compile.json")
    if not os.path.exists(compile_json):
        problems.append(f"{compile_json}: missing (run scripts/bench_bundles.sh)")
    if reference_present(args.reference_dir):
        print(f"reference: {args.reference_dir} (revision {reference_revision(args.reference_dir)})")
    else:
        print("reference: not present (set PROTEUS_REFERENCE_DIR; benchmarks/README.md)")
    ctx.close()
    for p in problems:
        print("problem:", p)
    print("dry run:", "ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------

class Results:
    """The results document, written to disk after every change so a cut-off run keeps its rows."""

    def __init__(self, path, meta):
        self.path = path
        self.doc = {"meta": meta, "ceilings": {}, "compile": None, "overhead": {}, "rows": [],
                    "kernels": [], "notes": []}

    def save(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.doc, f, indent=1)
            f.write("\n")
        os.replace(tmp, self.path)

    def add(self, key, value):
        self.doc[key].append(value)
        self.save()

    def set(self, key, value):
        self.doc[key] = value
        self.save()


def error_text(exc):
    """One line: the exception's type and message (the runtime's prt_last_error for PrtError)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"[:600]


# ------------------------------------------------------------------------------------------------
# The GPU run
# ------------------------------------------------------------------------------------------------

def run(args):
    # The reference's tinytoy sets expandable segments on import; keep one allocator for all.
    os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:False")
    import torch  # imported here so that --dry-run needs no torch

    if not torch.cuda.is_available():
        print("bench_layer: no CUDA device (torch.cuda.is_available() is False); "
              "--dry-run checks what can be checked without one", file=sys.stderr)
        return 2
    bench = Bench(args)
    bench.run()
    return 0


class Bench:
    """One benchmark run: every variant, configuration and T, into Results."""

    def __init__(self, args):
        import torch
        self.torch = torch
        self.args = args
        self.dev = torch.device("cuda")
        torch.cuda.init()
        compile_times = self.load_compile()
        self.results = Results(args.json, self.meta(compile_times.get("commit")))
        self.results.set("compile", compile_times)
        self.lost = None  # set when the CUDA context is unusable
        self.rt = None
        self.rt_error = None
        self.ctx = None
        self.reference = None
        self.reference_error = None

    # -- metadata ------------------------------------------------------------------------------

    def meta(self, built_from):
        """The card, the software, and the commit the bundles and the library were built from
        (compile.json; else this tree's)."""
        torch = self.torch
        props = torch.cuda.get_device_properties(0)
        meta = {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "card": torch.cuda.get_device_name(0),
            "memory_gib": round(props.total_memory / 2**30, 1),
            "sm_count": props.multi_processor_count,
            "driver": self.nvidia_smi("driver_version"),
            "clocks_max_sm_mhz": self.nvidia_smi("clocks.max.sm"),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "python": platform.python_version(),
            "commit": built_from or git_commit(),
            "argv": sys.argv[1:],
            "quick": self.args.quick,
            "proteus_dtype": self.args.proteus_dtype,
            "T": self.args.T,
            "configs": {c: {"heads": configs.HEADS[c], "d_head": configs.D_MODEL // configs.HEADS[c],
                            "label": configs.LABELS[c]} for c in self.args.configs},
        }
        try:
            import triton
            meta["triton"] = triton.__version__
        except ImportError:
            meta["triton"] = None
        return meta

    @staticmethod
    def nvidia_smi(field):
        try:
            out = subprocess.run(["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20)
            return out.stdout.strip().splitlines()[0] if out.returncode == 0 else None
        except (OSError, subprocess.SubprocessError, IndexError):
            return None

    def load_compile(self):
        path = os.path.join(self.args.bench_dir, "compile.json")
        if not os.path.exists(path):
            return {"error": f"{path} missing (scripts/bench_bundles.sh)"}
        return json.load(open(path))

    # -- the run -------------------------------------------------------------------------------

    def run(self):
        args = self.args
        self.results.set("ceilings", self.measure_ceilings())
        self.open_runtime()
        if "reference" in args.variants:
            self.open_reference()
        if self.ctx is not None:
            self.results.set("overhead", self.guarded(self.measure_overhead))
        # The reference last: its first call at each T compiles Triton kernels (11 s at 4K on
        # the H200) and a row of it can take minutes, so a run cut off by its time limit keeps
        # every row of ours and of the dense baselines.
        ours = [v for v in args.variants if v != "reference"]
        passes = [ours] + ([["reference"]] if "reference" in args.variants else [])
        for variants in passes:
            for config in args.configs:
                for T in args.T:
                    for variant in variants:
                        if variant == "proteus-dense" and T not in args.dense_T:
                            continue
                        if variant == "reference" and config not in args.reference_configs:
                            continue
                        self.results.add("rows", self.measure_row(config, T, variant))
                        print(self.summary(self.results.doc["rows"][-1]), flush=True)
        self.close()

    def guarded(self, fn):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001  (recorded, the run goes on)
            traceback.print_exc()
            return {"error": error_text(exc)}

    @staticmethod
    def summary(row):
        head = f"{row['config']} T={row['T']:>6} {row['variant']:<13}"
        if row["status"] != "ok":
            return f"{head} {row['status']}: {row.get('error', '')}"
        return f"{head} {row['ms']:9.3f} ms  {row['peak_mib']:9.1f} MiB  {row.get('mode', '')}"

    def close(self):
        if self.ctx is not None:
            self.ctx.close()

    # -- opening the runtime and the reference -------------------------------------------------

    def open_runtime(self):
        try:
            self.rt = proteus_rt.Runtime(self.args.lib, HEADER)
            self.cache_dir = tempfile.mkdtemp(prefix="proteus-bench-cache-")
            self.ctx = self.rt.context(proteus_rt.PRT_BACKEND_GPU, cache_dir=self.cache_dir)
            self.results.doc["meta"]["runtime"] = {"lib": self.args.lib,
                                                   "backend": self.ctx.backend_info()}
        except Exception as exc:  # noqa: BLE001
            self.rt_error = error_text(exc)
            self.results.add("notes", f"runtime unavailable: {self.rt_error}")

    def open_reference(self):
        ref_dir = self.args.reference_dir
        if not reference_present(ref_dir):
            self.reference_error = ("reference source not present (set PROTEUS_REFERENCE_DIR to a "
                                    "checkout of Zen-Sherbert/Proteus-Attention)")
            return
        try:
            sys.path.insert(0, os.path.join(ref_dir, "src"))
            from proteus_attention.kernels import tinytoy
            from proteus_attention.models.aspa import AdaptiveSparseAttention
            self.reference = (tinytoy, AdaptiveSparseAttention)
            # Its block-size autotune (kernels/sparse_attn.py), per configuration; the table's
            # header says which way each ran.
            self.results.doc["meta"]["reference"] = {
                "dir": ref_dir, "revision": reference_revision(ref_dir),
                "autotune": {c: reference_autotune_text(self.args.reference_autotune, c)
                             for c in self.args.reference_configs}}
        except Exception as exc:  # noqa: BLE001
            self.reference_error = f"reference import failed: {error_text(exc)}"

    # -- ceilings ------------------------------------------------------------------------------

    def measure_ceilings(self):
        """Device copy bandwidth (read + write) and GEMM throughput per precision, this card."""
        torch = self.torch
        out = {}
        n = 1 << 30  # bytes per copy buffer
        src = torch.empty(n, dtype=torch.uint8, device=self.dev)
        dst = torch.empty_like(src)
        ms = self.time_events(lambda: dst.copy_(src), 3, 10)["ms"]
        out["copy_tbs"] = 2 * n / (ms * 1e-3) / 1e12
        del src, dst
        size = 8192
        prev_tf32 = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        for name, dtype, repeat in [("bf16", torch.bfloat16, 10), ("f32", torch.float32, 5),
                                    ("f64", torch.float64, 5)]:
            a = torch.randn(size, size, device=self.dev, dtype=dtype)
            b = torch.randn(size, size, device=self.dev, dtype=dtype)
            ms = self.time_events(lambda: torch.mm(a, b), 2, repeat)["ms"]
            out[f"{name}_tflops"] = 2 * size**3 / (ms * 1e-3) / 1e12
            del a, b
        torch.backends.cuda.matmul.allow_tf32 = prev_tf32
        torch.cuda.empty_cache()
        out["how"] = ("copy: 1 GiB device-to-device torch copy_, (read + write) bytes / median time; "
                      "GEMM: torch.mm of 8192 x 8192 matrices (f32 without TF32), 2*8192^3 / median")
        print("ceilings:", {k: round(v, 2) for k, v in out.items() if isinstance(v, float)}, flush=True)
        return out

    # -- timing --------------------------------------------------------------------------------

    def time_events(self, fn, warmup, repeat):
        """Median ms of `repeat` calls bracketed by CUDA events on the current stream, after
        `warmup` calls; also the host wall time per call (which includes the event wait)."""
        torch = self.torch
        for _ in range(warmup):
            fn()
        torch.cuda.synchronize()
        times, walls = [], []
        for _ in range(repeat):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            t0 = time.perf_counter()
            start.record()
            fn()
            end.record()
            end.synchronize()
            walls.append((time.perf_counter() - t0) * 1e3)
            times.append(start.elapsed_time(end))
        return {"ms": statistics.median(times), "ms_runs": [round(t, 4) for t in times],
                "wall_ms": statistics.median(walls)}

    def wall_ms(self, fn):
        torch = self.torch
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        return (time.perf_counter() - t0) * 1e3

    # -- one row -------------------------------------------------------------------------------

    def measure_row(self, config, T, variant):
        torch = self.torch
        B = configs.batch_for(T)
        row = {"config": config, "T": T, "B": B, "variant": variant}
        if self.lost:
            row.update(status="skipped", error=f"CUDA context lost earlier: {self.lost}")
            return row
        setup_error = self.setup_error(variant)
        if setup_error:
            row.update(status="error", error=setup_error)
            return row
        layer = None
        try:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            base_alloc = torch.cuda.memory_allocated()
            base_free = torch.cuda.mem_get_info()[0]
            base_reserved = torch.cuda.memory_reserved()
            t0 = time.perf_counter()
            layer = self.make_layer(config, T, B, variant)
            row["setup_ms"] = (time.perf_counter() - t0) * 1e3
            row["first_call_ms"] = self.wall_ms(layer)
            warmup, repeat = reps(T, self.args.quick)
            torch.cuda.reset_peak_memory_stats()
            row.update(self.time_events(layer, warmup, repeat))
            torch.cuda.synchronize()
            torch_peak = torch.cuda.max_memory_allocated() - base_alloc
            # Memory torch does not see (the runtime's cuMemAlloc): the plan's scratch, checked
            # against the fall in free memory beyond what torch reserved meanwhile.
            outside = (base_free - torch.cuda.mem_get_info()[0]) - \
                (torch.cuda.memory_reserved() - base_reserved)
            row["memory"] = {"torch_peak_mib": torch_peak / 2**20,
                             "free_memory_drop_mib": outside / 2**20}
            runtime = 0
            if variant.startswith("proteus"):
                runtime = layer.runtime_bytes() or max(0, outside)
                row["memory"]["runtime_mib"] = runtime / 2**20
                row["memory"]["runtime_from"] = ("prt_plan_info.scratch_bytes" if layer.runtime_bytes()
                                                 else "free-memory drop (no scratch_bytes)")
            row["peak_mib"] = (torch_peak + runtime) / 2**20
            row.update(layer.describe())
            row["status"] = "ok"
            if variant.startswith("proteus") and T in self.args.kernel_T:
                self.results.add("kernels", self.profile_proteus(config, T, variant, layer, row))
            if variant in ("cudnn", "flash") and T in self.args.baseline_kernel_T:
                self.results.add("kernels", self.profile_baseline(config, T, variant, layer))
        except Exception as exc:  # noqa: BLE001  (recorded, the run goes on)
            traceback.print_exc()
            row.update(status="error", error=error_text(exc))
            self.check_context(exc)
        finally:
            if layer is not None:
                self.guarded(layer.close)
            del layer
            torch.cuda.empty_cache()
        return row

    def setup_error(self, variant):
        if variant.startswith("proteus") and self.ctx is None:
            return f"runtime unavailable: {self.rt_error}"
        if variant == "reference" and self.reference is None:
            return self.reference_error
        return None

    def check_context(self, exc):
        """After a failure: is CUDA still usable? If not, later rows are skipped, not run."""
        torch = self.torch
        try:
            torch.cuda.synchronize()
            torch.ones(1, device=self.dev).add_(1).item()
        except Exception:  # noqa: BLE001
            self.lost = error_text(exc)

    def make_layer(self, config, T, B, variant):
        if variant.startswith("proteus"):
            return ProteusLayer(self.torch, self.ctx, bundle_dir(self.args, config, T), T, B,
                                self.args.proteus_dtype,
                                alpha=0.0 if variant == "proteus-dense" else -1.0, device=self.dev)
        if variant in ("cudnn", "flash"):
            return DenseLayer(self.torch, configs.HEADS[config], T, B, variant, device=self.dev)
        return ReferenceLayer(self.torch, self.reference, configs.HEADS[config], T, B, device=self.dev,
                              autotune=reference_autotune(self.args.reference_autotune, config))

    # -- per-kernel profiles -------------------------------------------------------------------

    def kernel_times(self, fn):
        """[(kernel name, total µs, launches)] of one call, in launch order, from torch.profiler
        (CUPTI sees every kernel of the process, the runtime's driver launches included): its
        device events, else the kernel, memcpy and memset records of its Chrome trace."""
        torch = self.torch
        from torch.profiler import ProfilerActivity, profile
        fn()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        spans = [(e.time_range.start, e.name, e.time_range.elapsed_us()) for e in prof.events()
                 if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA]
        if not spans:
            with tempfile.TemporaryDirectory() as tmp:
                trace = os.path.join(tmp, "trace.json")
                prof.export_chrome_trace(trace)
                with open(trace, encoding="utf-8") as f:
                    events = json.load(f).get("traceEvents", [])
            spans = [(e["ts"], e["name"], float(e.get("dur", 0))) for e in events
                     if e.get("ph") == "X" and e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
        if not spans:
            raise RuntimeError("torch.profiler recorded no GPU kernels (CUPTI unavailable?)")
        return bench_variants.per_kernel(
            [(name, us) for _, name, us in sorted(spans, key=lambda span: span[0])])

    def profile_proteus(self, config, T, variant, layer, row):
        entry = {"config": config, "T": T, "variant": variant, "call_ms": row["ms"]}
        try:
            shape = layer.shape()
            entry["shape"] = shape
            # The runtime's CUDA events around each launch; torch.profiler where they fail.
            try:
                times, packed = layer.kernel_times()
                entry["source"] = "runtime CUDA events (PROTEUS_PROFILE)"
                # The kernels' byte and FLOP counts follow the profiled call's selection.
                entry["timed_packed"], entry["profiled_packed"] = shape["N"], packed
                shape["N"] = packed
            except Exception as exc:  # noqa: BLE001
                entry["source"] = f"torch.profiler (runtime events unavailable: {error_text(exc)})"
                times = self.kernel_times(layer)
            kernels = []
            for name, us, launches in times:
                k = {"name": name, "us": us, "count": launches}
                figures = kernel_model.kernel_figures(name, shape, shape["mode"], launches)
                if figures:
                    k.update(zip(("bytes", "flops", "precision", "bytes_formula", "flops_formula",
                                  "note"), figures))
                kernels.append(k)
            entry["kernels"] = kernels
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            entry["error"] = f"per-kernel figures unavailable ({error_text(exc)}); whole call only"
        return entry

    def profile_baseline(self, config, T, variant, layer):
        entry = {"config": config, "T": T, "variant": variant}
        try:
            entry["kernels"] = [{"name": n, "us": us, "count": c}
                                for n, us, c in self.kernel_times(layer)]
            entry["attention_flops"] = 2 * layer.B * layer.H * T * T * layer.D
        except Exception as exc:  # noqa: BLE001
            entry["error"] = f"per-kernel figures unavailable ({error_text(exc)})"
        return entry

    # -- plan and launch overhead --------------------------------------------------------------

    def measure_overhead(self):
        """prt_plan_create with the JIT, from the disk cache (a new context) and from the memory
        cache; prt_layer_forward's host time and device time per call at a tiny T."""
        torch = self.torch
        out = {"bundle": "h32d16-gt4k", "T": OVERHEAD_T}
        path = os.path.join(self.args.bench_dir, "bundles", "h32d16-gt4k")

        def plan_ms(ctx):
            bundle = ctx.open_bundle(path)
            t0 = time.perf_counter()
            plan = bundle.plan(1, 8192, update_prototypes=True)
            ms = (time.perf_counter() - t0) * 1e3
            plan.close()
            bundle.close()
            return ms

        cache_dir = tempfile.mkdtemp(prefix="proteus-bench-jit-")
        jit_ctx = self.rt.context(proteus_rt.PRT_BACKEND_GPU, cache_dir=cache_dir)
        out["plan_create_jit_ms"] = plan_ms(jit_ctx)
        out["plan_create_memory_ms"] = plan_ms(jit_ctx)
        jit_ctx.close()
        disk_ctx = self.rt.context(proteus_rt.PRT_BACKEND_GPU, cache_dir=cache_dir)
        out["plan_create_disk_ms"] = plan_ms(disk_ctx)
        disk_ctx.close()

        layer = ProteusLayer(torch, self.ctx, path, OVERHEAD_T, 1, self.args.proteus_dtype,
                             alpha=-1.0, device=self.dev)
        try:
            for _ in range(20):
                layer()
            torch.cuda.synchronize()
            host = []
            for _ in range(200):
                t0 = time.perf_counter()
                layer()
                host.append((time.perf_counter() - t0) * 1e6)
            torch.cuda.synchronize()
            out["forward_host_us"] = statistics.median(host)
            out["forward_device_us"] = self.time_events(layer, 5, 50)["ms"] * 1e3
            t0 = time.perf_counter()
            for _ in range(20):
                layer.stats()
            out["forward_with_stats_us"] = (time.perf_counter() - t0) / 20 * 1e6
            try:
                out["kernels_per_call"] = sum(c for _, _, c in self.kernel_times(layer))
            except Exception as exc:  # noqa: BLE001
                out["kernels_per_call"] = f"unavailable ({error_text(exc)})"
        finally:
            layer.close()
        return out


def main(argv=None):
    args = parse_args(argv)
    # A run cut off by scripts/bench.sh's timeout (SIGTERM) says where it was.
    faulthandler.register(signal.SIGTERM, all_threads=True, chain=True)
    if args.dry_run:
        return dry_run(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
