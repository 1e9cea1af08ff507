#!/usr/bin/env python3
"""The CPU layer's time per call: the reference configuration (h32d16 of bench_configs.py, 32 heads
x 16, both T brackets) and the demo's default configuration, B = 1, T from 1K to 64K, through
proteus-run (--backend cpu) on bundles this script compiles (--arch none: the CPU library only).

Each (configuration, T) is one proteus-run process: one warm-up call, then --repeat timed calls; the
table gives their median (and min/max). Prints a Markdown table; with --out also writes it there,
headed by this machine's description (lscpu), the load average before and after, the commit and the
thread count.

  python3 benchmarks/bench_cpu.py [--build build] [--T 1024,4096,...] [--repeat 5] [--threads 0]
                                  [--configs h32d16,default] [--cpu x86-64-v3] [--out FILE]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_configs  # noqa: E402

T_DEFAULT = [1024, 2048, 4096, 8192, 16384, 32768, 65536]
MEDIAN = re.compile(r"^time: median ([0-9.]+) ms over (\d+) runs \(min ([0-9.]+), max ([0-9.]+)\)", re.M)
SETTING = re.compile(r"^setting: (\d+), alpha ([0-9.e+-]+)", re.M)


def compile_bundle(build, name, keys, work, cpu):
    """proteus-compile of `keys` (None: the default configuration) into work/name for the
    instruction set `cpu` (proteus-compile --cpu)."""
    out = os.path.join(work, name)
    cmd = [os.path.join(build, "bin", "proteus-compile"), "--alpha", bench_configs.alpha_list(),
           "--arch", "none", "--cpu", cpu, "-o", out]
    if keys is not None:
        cfg = os.path.join(work, name + ".json")
        with open(cfg, "w", encoding="utf-8") as f:
            import json
            json.dump(keys, f)
        cmd[1:1] = ["--config", cfg]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def bundles_for(build, configs, work, cpu):
    """{(config, bracket or None): bundle dir}."""
    out = {}
    for config in configs:
        if config == "default":
            out[(config, None)] = compile_bundle(build, "default", None, work, cpu)
            continue
        for bracket, _, _ in bench_configs.BRACKETS:
            keys = bench_configs.layer_config(config, bracket)
            out[(config, bracket)] = compile_bundle(build, f"{config}-{bracket}", keys, work, cpu)
    return out


def time_call(build, bundle, T, repeat, threads):
    """(median, min, max, setting, alpha) of proteus-run on the CPU."""
    cmd = [os.path.join(build, "bin", "proteus-run"), "--bundle", bundle, "--backend", "cpu",
           "--B", "1", "--T", str(T), "--repeat", str(repeat), "--threads", str(threads)]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = MEDIAN.search(text)
    s = SETTING.search(text)
    if not m or not s:
        raise RuntimeError("unexpected proteus-run output:\n" + text)
    return float(m.group(1)), float(m.group(3)), float(m.group(4)), int(s.group(1)), float(s.group(2))


def machine():
    lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    keep = ("Model name", "CPU(s):", "Thread(s) per core", "L2 cache", "L3 cache")
    return "; ".join(" ".join(l.split()) for l in lines if l.startswith(keep))


def loadavg():
    with open("/proc/loadavg", encoding="utf-8") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--T", default=",".join(map(str, T_DEFAULT)))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="0: the machine's cores")
    ap.add_argument("--configs", default="h32d16,default")
    ap.add_argument("--cpu", default="x86-64-v3",
                    help="the CPU library's instruction set (proteus-compile --cpu)")
    ap.add_argument("--out", help="also write the Markdown here")
    args = ap.parse_args()
    Ts = [int(t) for t in args.T.split(",")]
    configs = args.configs.split(",")
    load_before = loadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as work:
        bundles = bundles_for(args.build, configs, work, args.cpu)
        for config in configs:
            for T in Ts:
                bracket = None if config == "default" else bench_configs.bracket_for(T)
                med, lo, hi, setting, alpha = time_call(args.build, bundles[(config, bracket)], T,
                                                        args.repeat, args.threads)
                label = "default (d_model 512, 8 heads)" if config == "default" else \
                    f"{config} ({bench_configs.LABELS[config]}), {bracket}"
                rows.append(f"| {label} | {T} | {alpha:g} | {med:.1f} | {lo:.1f} | {hi:.1f} |")
                print(rows[-1], flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    head = [f"Machine: {machine()}.",
            f"Commit {commit}; CPU library {args.cpu}; threads {args.threads or os.cpu_count()} "
            f"({'the default, the machine cores' if args.threads == 0 else '--threads'}); B 1; "
            f"{args.repeat} timed calls after one warm-up, per (configuration, T).",
            f"Load average (1, 5, 15 min) before: {load_before}; after: {loadavg()}.", "",
            "| configuration | T | alpha | median ms | min ms | max ms |",
            "|---|---:|---:|---:|---:|---:|"]
    text = "\n".join(head + rows) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
