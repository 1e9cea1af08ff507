#!/usr/bin/env python3
"""Turns the results of benchmarks/bench_layer.py into the committed record: a markdown table per
run (card, driver, date, every number, each goal met or not with its number and, where short, the
kernel that holds it back) and a PNG plot of latency and peak memory against T (log-log, every
variant). Needs only the standard library; the plot needs matplotlib and is skipped without it.

  python3 benchmarks/report.py RESULTS.json [--out-dir DIR] [--name NAME]

Writes DIR/NAME.md, DIR/NAME.png and a copy of the JSON as DIR/NAME.json (DIR: the JSON's folder;
NAME: <date>-<card>-layer, e.g. 2026-11-28-h100-layer).
"""
import argparse
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_model  # noqa: E402

VARIANT_LABELS = {
    "proteus": "Proteus",
    "proteus-dense": "Proteus, dense mode (α 0)",
    "reference": "reference",
    "cudnn": "cuDNN SDPA + proj",
    "flash": "Flash SDPA + proj",
}
VARIANT_COLORS = {"proteus": "tab:blue", "proteus-dense": "tab:cyan", "reference": "tab:green",
                  "cudnn": "tab:red", "flash": "tab:purple"}
GOAL_SPEEDUP = 10.0
# A profiled call whose kernels sum to more than this times the call is flagged.
PROFILE_SLACK = 1.15
GOAL_524K_MS = 12.0
GOAL_524K_BYTES = 1.5e9
GOAL_DENSE_SHARE = 0.70
LONGEST = 524288


# ------------------------------------------------------------------------------------------------
# Lookups and formatting
# ------------------------------------------------------------------------------------------------

def ok_rows(doc):
    return [r for r in doc.get("rows", []) if r.get("status") == "ok"]


def row_of(doc, config, T, variant):
    """The row of (config, T, variant), whatever its status, or None."""
    for r in doc.get("rows", []):
        if (r["config"], r["T"], r["variant"]) == (config, T, variant):
            return r
    return None


def ms_of(doc, config, T, variant):
    r = row_of(doc, config, T, variant)
    return r["ms"] if r and r.get("status") == "ok" else None


def configs_of(doc):
    seen = []
    for r in doc.get("rows", []):
        if r["config"] not in seen:
            seen.append(r["config"])
    return seen


def ts_of(doc, config):
    return sorted({r["T"] for r in doc.get("rows", []) if r["config"] == config})


def fmt_ms(v):
    if v is None:
        return "—"
    if v < 1:
        return f"{v:.3f}"
    if v < 100:
        return f"{v:.2f}"
    return f"{v:,.1f}"


def fmt_num(v, digits=3):
    if v is None:
        return "—"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def fmt_si(v):
    """12_300_000 -> 12.3M."""
    if v is None:
        return "—"
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{unit}"
    return f"{v:.3g}"


def cell(doc, config, T, variant, key="ms"):
    """A table cell: the number, or the row's status and error."""
    r = row_of(doc, config, T, variant)
    if r is None:
        return "—"
    if r.get("status") != "ok":
        return f"{r.get('status', 'error')}¹"
    v = r.get(key)
    return fmt_ms(v) if key == "ms" else fmt_num(v, 4)


def ratio(a, b):
    return a / b if a is not None and b else None


# ------------------------------------------------------------------------------------------------
# What holds a number back
# ------------------------------------------------------------------------------------------------

def kernel_entry(doc, config, T, variant="proteus"):
    """The per-kernel profile of (config, T, variant), else the one at the nearest T."""
    entries = [k for k in doc.get("kernels", [])
               if k["config"] == config and k["variant"] == variant and k.get("kernels")]
    if not entries:
        return None
    return min(entries, key=lambda k: abs(k["T"] - T))


def annotate(entry, ceilings):
    """The entry's kernels with ms, share of the call, achieved rates, floor and x floor."""
    kernels = entry.get("kernels", [])
    total_us = sum(k["us"] for k in kernels) or 1.0
    out = []
    for k in kernels:
        a = dict(k)
        a["ms"] = k["us"] / 1e3
        a["share"] = k["us"] / total_us
        if "bytes" in k:
            a["tbs"] = k["bytes"] / (k["us"] * 1e-6) / 1e12 if k["us"] else None
            a["tflops"] = k["flops"] / (k["us"] * 1e-6) / 1e12 if k["us"] and k["flops"] else None
            a["floor_ms"] = kernel_model.floor_ms(k["bytes"], k["flops"], k["precision"], ceilings)
            a["x_floor"] = a["ms"] / a["floor_ms"] if a["floor_ms"] > 0 else None
        out.append(a)
    return out


def holding_back(doc, config, T, variant="proteus"):
    """One sentence: the kernel that takes the most time at (config, T), its share and its distance
    from its floor, and the kernel furthest above its floor."""
    entry = kernel_entry(doc, config, T, variant)
    if entry is None:
        return "no per-kernel profile in this run"
    kernels = annotate(entry, doc.get("ceilings", {}))
    where = f"at T = {entry['T']:,}" + ("" if entry["T"] == T else " (nearest profiled)")
    top = max(kernels, key=lambda k: k["ms"])
    text = f"{where}: `{top['name']}` {fmt_ms(top['ms'])} ms ({100 * top['share']:.0f}% of the kernels' time)"
    if top.get("x_floor"):
        text += f", {top['x_floor']:.1f}× its floor"
        if top.get("flops") and top.get("precision") in ("f32", "f64"):
            bf16 = kernel_model.floor_ms(top["bytes"], top["flops"], "bf16", doc.get("ceilings", {}))
            text += f" ({fmt_ms(bf16)} ms at the bf16 GEMM ceiling)"
    far = [k for k in kernels if k.get("x_floor") and k["ms"] >= 0.02 * top["ms"]]
    if far:
        worst = max(far, key=lambda k: k["x_floor"])
        if worst is not top:
            text += f"; furthest from its floor: `{worst['name']}` {worst['x_floor']:.0f}×"
    caveat = profile_caveat(entry, kernels)
    if caveat:
        text += f" (but {caveat})"
    return text


def profile_caveat(entry, kernels):
    """A warning when a profiled call's kernels add up to more than the timed call took (one
    stream: they cannot). Where the profiled call selected a different number of (row, token)
    pairs than the timed one (the prototype EMA moves tokens across the keep threshold between
    calls), that is the reason; else the profile is not to be trusted kernel by kernel."""
    call = entry.get("call_ms")
    total = sum(k["ms"] for k in kernels)
    if not call or total <= PROFILE_SLACK * call:
        return ""
    text = f"this profile's kernels sum to {fmt_ms(total)} ms against the timed call's {fmt_ms(call)} ms"
    timed, profiled = entry.get("timed_packed"), entry.get("profiled_packed")
    if timed and profiled and abs(profiled - timed) > 0.05 * timed:
        return (text + f": the profiled call packed {profiled:,} (row, token) pairs, the timed "
                f"plan's last call {timed:,} (the prototype EMA moves tokens across the keep "
                "threshold from call to call), so its kernels did more work")
    return text + " (one stream: they cannot), so its per-kernel times are unreliable"


def memory_breakdown(row, d_model=512):
    """Where a Proteus row's peak memory goes: the caller's tensors, the runtime's scratch, and
    the largest scratch buffers by shape (runtime/src/layer_gpu.cpp allocates q, k, v and o for
    every head and token, and the packed index lists for every (row, token))."""
    m = row.get("memory", {})
    e = 4 if row.get("dtype") == "f32" else 2
    btc = row["B"] * row["T"] * d_model
    parts = [f"x, y and weights (torch) {m.get('torch_peak_mib', 0):,.0f} MiB, of which x and y "
             f"{2 * btc * e / 2**20:,.0f} MiB ({row.get('dtype', '?')})"]
    if m.get("runtime_mib") is not None:
        parts.append(f"runtime scratch {m['runtime_mib']:,.0f} MiB, of which q, k, v, o for all "
                     f"heads {4 * btc * e / 2**20:,.0f} MiB")
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------------
# Goals
# ------------------------------------------------------------------------------------------------

def goals(doc):
    """[(goal, target, measured, verdict, what holds it back)]."""
    return [goal_speedup(doc), goal_524k_time(doc), goal_524k_memory(doc), goal_dense_share(doc),
            goal_never_slower(doc)]


def verdict(met):
    return "**met**" if met else "**not met**"


def goal_speedup(doc):
    name = f"Layer ≥ {GOAL_SPEEDUP:g}× faster than the reference at every T (h32d16)"
    target = f"reference / ours ≥ {GOAL_SPEEDUP:g}"
    pairs = []
    for T in ts_of(doc, "h32d16"):
        ours, ref = ms_of(doc, "h32d16", T, "proteus"), ms_of(doc, "h32d16", T, "reference")
        if ours and ref:
            pairs.append((ref / ours, T))
    if not pairs:
        return name, target, "not measured (no T with both rows)", "**not measured**", ""
    worst, T = min(pairs)
    measured = f"min {worst:.2f}× at T = {T:,}; " + ", ".join(f"{r:.2f}×" for r, _ in sorted(pairs, key=lambda p: p[1]))
    missing = len(ts_of(doc, "h32d16")) - len(pairs)
    if missing:
        measured += f" ({missing} T without both rows)"
    met = worst >= GOAL_SPEEDUP and not missing
    back = "" if met else holding_back(doc, "h32d16", T) + \
        f"; the call must drop to {fmt_ms(ms_of(doc, 'h32d16', T, 'reference') / GOAL_SPEEDUP)} ms"
    return name, target, measured, verdict(met), back


def goal_524k_time(doc):
    name = "T = 524K in ≤ 12 ms (h32d16)"
    ours = ms_of(doc, "h32d16", LONGEST, "proteus")
    if ours is None:
        return name, "≤ 12 ms", "not measured", "**not measured**", _row_error(doc, "h32d16", LONGEST)
    met = ours <= GOAL_524K_MS
    back = "" if met else holding_back(doc, "h32d16", LONGEST) + f"; {ours / GOAL_524K_MS:.1f}× the target"
    return name, "≤ 12 ms", f"{fmt_ms(ours)} ms", verdict(met), back


def goal_524k_memory(doc):
    name = "Peak memory at 524K ≤ 1.5 GB (h32d16)"
    target = f"≤ 1.5·10⁹ B = {GOAL_524K_BYTES / 2**20:,.0f} MiB"
    r = row_of(doc, "h32d16", LONGEST, "proteus")
    if not r or r.get("status") != "ok":
        return name, target, "not measured", "**not measured**", _row_error(doc, "h32d16", LONGEST)
    met = r["peak_mib"] * 2**20 <= GOAL_524K_BYTES
    return name, target, f"{r['peak_mib']:,.0f} MiB", verdict(met), "" if met else memory_breakdown(r)


def goal_dense_share(doc):
    name = "Dense mode ≥ 70% of cuDNN's throughput at short T"
    target = "cuDNN+proj ms / ours (dense) ms ≥ 0.70"
    found, backs, met = [], [], True
    for config in configs_of(doc):
        for T in ts_of(doc, config):
            ours, cudnn = ms_of(doc, config, T, "proteus-dense"), ms_of(doc, config, T, "cudnn")
            if ours and cudnn:
                share = cudnn / ours
                found.append(f"{config} T = {T:,}: {share:.2f}")
                if share < GOAL_DENSE_SHARE:
                    met = False
                    backs.append(f"{config}: {dense_kernel_gap(doc, config, T)}")
                break  # the shortest T with both rows
    if not found:
        return name, target, "not measured", "**not measured**", _row_error(doc, "h32d16", 4096, "proteus-dense")
    return name, target, "; ".join(found), verdict(met), "; ".join(backs)


def dense_kernel_gap(doc, config, T):
    """Our dense attention kernel's time against cuDNN's attention kernel at (config, T)."""
    ours = kernel_entry(doc, config, T, "proteus-dense")
    base = kernel_entry(doc, config, T, "cudnn")
    if ours is None or ours["T"] != T:
        return holding_back(doc, config, T, "proteus-dense")
    dense = [k for k in ours["kernels"] if "dense_attention" in k["name"]]
    text = holding_back(doc, config, T, "proteus-dense")
    if dense and base and base["T"] == T:
        attn = [k for k in base["kernels"] if re.search(r"sdpa|fmha|flash|attention", k["name"], re.I)]
        if attn:
            a, b = sum(k["us"] for k in dense), sum(k["us"] for k in attn)
            text += f"; attention kernel {a / 1e3:.3f} ms vs cuDNN's {b / 1e3:.3f} ms ({a / b:.1f}×)"
    return text


def goal_never_slower(doc):
    name = "Never slower than dense attention + projections (any T, both configurations)"
    target = "ours ≤ min(cuDNN, Flash) + proj"
    worst, count, slower = None, 0, []
    for config in configs_of(doc):
        for T in ts_of(doc, config):
            ours = ms_of(doc, config, T, "proteus")
            dense = [v for v in (ms_of(doc, config, T, "cudnn"), ms_of(doc, config, T, "flash")) if v]
            if ours is None or not dense:
                continue
            count += 1
            r = ours / min(dense)
            if worst is None or r > worst[0]:
                worst = (r, config, T)
            if r > 1:
                slower.append((config, T, r))
    slower_text = ", ".join(f"{c} {fmt_T(T)} ({r:.1f}×)" for c, T, r in slower)
    if not count:
        return name, target, "not measured", "**not measured**", ""
    measured = f"worst ours/dense {worst[0]:.2f} ({worst[1]} T = {worst[2]:,})"
    if slower:
        measured += "; slower at " + slower_text
    back = "" if not slower else holding_back(doc, worst[1], worst[2])
    return name, target, measured, verdict(not slower), back


def _row_error(doc, config, T, variant="proteus"):
    r = row_of(doc, config, T, variant)
    return f"{variant} {config} T = {T:,}: {r.get('error', '')}" if r and r.get("status") != "ok" else ""


# ------------------------------------------------------------------------------------------------
# Markdown
# ------------------------------------------------------------------------------------------------

def fmt_T(T):
    """524288 -> "T = 524,288"."""
    return f"T = {T:,}"


def table(header, rows, numeric=True):
    """A markdown table; with `numeric` every column but the first is right-aligned."""
    right = "---:" if numeric else "---"
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else right for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def reference_autotune_text(autotune):
    """meta.reference.autotune: one text (runs before per-configuration policies) or one per
    configuration."""
    if isinstance(autotune, dict):
        return "; ".join(f"{config}: {text}" for config, text in autotune.items())
    return autotune


def section_header(doc):
    m = doc.get("meta", {})
    out = [f"# The Proteus layer side by side — {m.get('card', '?')}, {m.get('date', '?')}", ""]
    out.append(f"Card: {m.get('card', '?')} ({m.get('sm_count', '?')} SMs, {m.get('memory_gib', '?')} GiB, "
               f"max SM clock {m.get('clocks_max_sm_mhz', '?')}), driver {m.get('driver', '?')}, "
               f"CUDA {m.get('cuda', '?')}, PyTorch {m.get('torch', '?')}, cuDNN {m.get('cudnn', '?')}, "
               f"Triton {m.get('triton', '?')}.")
    ref = m.get("reference")
    out.append(f"Code: commit {m.get('commit', '?')}; reference: "
               + (f"Zen-Sherbert/Proteus-Attention @ {ref.get('revision')}, its block autotune "
                  + reference_autotune_text(ref.get("autotune", "on")) if ref else "not present")
               + ".")
    argv = " ".join(m.get("argv", []))
    out.append(f"Command: `scripts/bench.sh{(' ' + argv) if argv else ''}` on the GPU machine "
               "(benchmarks/README.md); raw numbers in the JSON of the same name.")
    out.append("")
    out.append(f"Our layer runs **{m.get('proteus_dtype', 'f32')} activations and weights** (the runtime's GPU "
               "layer takes f32 only so far; fp32 GEMMs on CUDA cores); the reference and the dense "
               "baselines run bf16. Latency: median of CUDA-event times after warm-up (3+10 calls to 16K, "
               "2+5 to 128K, first call + 3 above; `--quick`: 1+3), one forward of the whole batch "
               "(batch 4 below 8K, else 1). Peak memory: everything the variant allocates (input, "
               "weights, output, scratch; the runtime's scratch counted from the plan). Ratios are "
               "ours / baseline latency (< 1: we are faster).")
    return out


def section_goals(doc):
    out = ["", "## Goals (read against, not asserted)", ""]
    out += table(["goal", "target", "measured", "verdict", "what holds it back"],
                 [list(g) for g in goals(doc)], numeric=False)
    return out


def section_config(doc, config):
    m = doc.get("meta", {}).get("configs", {}).get(config, {})
    out = ["", f"## {config}: {m.get('label', '')}", "", "Latency (ms):", ""]
    rows = []
    for T in ts_of(doc, config):
        ours = ms_of(doc, config, T, "proteus")
        r = row_of(doc, config, T, "proteus") or {}
        mode = ""
        if r.get("status") == "ok":
            mode = f"{r.get('mode', '')} α {r.get('alpha', 0):g}, k {r.get('top_k', '')}, N {r.get('packed', 0):,}"
        b = row_of(doc, config, T, "cudnn") or {}
        rows.append([f"{T:,}", b.get("B", r.get("B", "")), cell(doc, config, T, "proteus"), mode,
                     cell(doc, config, T, "reference"), cell(doc, config, T, "cudnn"),
                     cell(doc, config, T, "flash"),
                     fmt_num(ratio(ours, ms_of(doc, config, T, "reference"))),
                     fmt_num(ratio(ours, ms_of(doc, config, T, "cudnn"))),
                     fmt_num(ratio(ours, ms_of(doc, config, T, "flash")))])
    out += table(["T", "B", "Proteus", "mode, α, k, N", "reference", "cuDNN + proj", "Flash + proj",
                  "ours/ref", "ours/cuDNN", "ours/Flash"], rows)
    out += ["", "Peak device memory (MiB):", ""]
    rows = []
    for T in ts_of(doc, config):
        r = row_of(doc, config, T, "proteus") or {}
        scratch = fmt_num(r.get("memory", {}).get("runtime_mib"), 4) if r.get("status") == "ok" else "—"
        rows.append([f"{T:,}", cell(doc, config, T, "proteus", "peak_mib"), scratch,
                     cell(doc, config, T, "reference", "peak_mib"), cell(doc, config, T, "cudnn", "peak_mib"),
                     cell(doc, config, T, "flash", "peak_mib")])
    out += table(["T", "Proteus", "of which runtime scratch", "reference", "cuDNN + proj", "Flash + proj"],
                 rows)
    dense = [T for T in ts_of(doc, config) if row_of(doc, config, T, "proteus-dense")]
    if dense:
        out += ["", "Dense mode (the α 0 setting forced) against cuDNN:", ""]
        rows = []
        for T in dense:
            ours, cudnn = ms_of(doc, config, T, "proteus-dense"), ms_of(doc, config, T, "cudnn")
            rows.append([f"{T:,}", cell(doc, config, T, "proteus-dense"), cell(doc, config, T, "cudnn"),
                         fmt_num(ratio(cudnn, ours))])
        out += table(["T", "Proteus dense ms", "cuDNN + proj ms", "throughput vs cuDNN"], rows)
    return out


def section_kernels(doc, kernel_T):
    c = doc.get("ceilings", {})
    out = ["", "## Per-kernel figures", ""]
    if c.get("copy_tbs"):
        out.append(f"Ceilings measured in this run: device copy {c['copy_tbs']:.2f} TB/s (read + write); "
                   f"GEMM bf16 {c.get('bf16_tflops', 0):.0f}, f32 (no TF32) {c.get('f32_tflops', 0):.1f}, "
                   f"f64 {c.get('f64_tflops', 0):.1f} TFLOP/s. Floor of a kernel = max(bytes / copy "
                   "bandwidth, FLOPs / the GEMM ceiling of its precision); bytes count each tensor once, "
                   "FLOPs 2 per multiply-add (formulas: symbols of benchmarks/kernel_model.py). Times: "
                   "one call after the timed ones; ours from the source each table names, the "
                   "baselines' from torch.profiler (CUPTI).")
    for entry in doc.get("kernels", []):
        if entry["T"] not in kernel_T:
            continue
        head = f"### {entry['config']}, T = {entry['T']:,}, {VARIANT_LABELS.get(entry['variant'], entry['variant'])}"
        if entry.get("error"):
            out += ["", head, "", entry["error"]]
            continue
        if not entry["variant"].startswith("proteus"):
            out += ["", head + ": the slowest kernels", ""]
            top = sorted(entry["kernels"], key=lambda k: -k["us"])[:6]
            total = sum(k["us"] for k in entry["kernels"])
            out += table(["kernel", "launches", "ms", "share"],
                         [[f"`{k['name'][:90]}`", k["count"], fmt_ms(k["us"] / 1e3),
                           f"{100 * k['us'] / total:.0f}%"] for k in top])
            continue
        s = entry.get("shape", {})
        out += ["", head + f" ({s.get('mode', '')}, N = {s.get('N', 0):,}, A = {s.get('A', 0)}, "
                f"c̄ = {s.get('cbar', '')}; call {fmt_ms(entry.get('call_ms'))} ms)", ""]
        out += [f"Times: {entry.get('source', 'torch.profiler (CUPTI)')}.", ""]
        rows = []
        kernels = annotate(entry, c)
        for k in kernels:
            rows.append([f"`{k['name']}`", k["count"], fmt_ms(k["ms"]), f"{100 * k['share']:.0f}%",
                         fmt_si(k.get("bytes")), fmt_si(k.get("flops")), fmt_num(k.get("tbs")),
                         fmt_num(k.get("tflops")), k.get("precision", ""),
                         fmt_ms(k.get("floor_ms")) if "floor_ms" in k else "—",
                         fmt_num(k.get("x_floor")) if k.get("x_floor") else (k.get("note") or "—"),
                         f"`{k['bytes_formula']}`" if "bytes_formula" in k else "",
                         f"`{k['flops_formula']}`" if "flops_formula" in k else ""])
        out += table(["kernel", "launches", "ms", "share", "bytes", "FLOPs", "TB/s", "TFLOP/s", "prec.",
                      "floor ms", "× floor", "bytes =", "FLOPs ="], rows)
        known = [k for k in kernels if k.get("x_floor")]
        if known:
            worst = max(known, key=lambda k: k["x_floor"] * (k["share"] > 0.01))
            floors = sum(k["floor_ms"] for k in known)
            out += ["", f"Slowest relative to its floor: `{worst['name']}`, {worst['x_floor']:.1f}× "
                        f"({fmt_ms(worst['ms'])} ms against {fmt_ms(worst['floor_ms'])} ms). Sum of the "
                        f"floors: {fmt_ms(floors)} ms against {fmt_ms(sum(k['ms'] for k in kernels))} ms of "
                        "kernel time."]
        caveat = profile_caveat(entry, kernels)
        if caveat:
            out += ["", f"**Caution:** {caveat}."]
    return out


def section_compile(doc):
    out = ["", "## Compile and launch", ""]
    comp = doc.get("compile") or {}
    rows = []
    if comp.get("one_setting_ms"):
        host = comp.get("host", {})
        where = f"{host.get('cpu', '?')}, {host.get('cores', '?')} cores (no GPU)"
        if host.get("load_avg"):
            where += f", load average {host['load_avg'][0]:.1f} at the start (a shared machine)"
        for key, label in (("one_setting_ms", "one setting (α 1)"), ("five_settings_ms", "5 settings")):
            runs = comp.get(key, [])
            med = sorted(runs)[len(runs) // 2] if runs else None
            rows.append([f"cold `proteus-compile`, {comp.get('cold_config')}, {label}",
                         f"{med / 1e3:.2f} s" if med else "—",
                         f"runs {', '.join(f'{v / 1e3:.2f}' for v in runs)} s; {where}"])
        for name, b in comp.get("bundles", {}).items():
            rows.append([f"bundle {name} (α {b['alphas']})", f"{b['compile_ms'] / 1e3:.2f} s",
                         f"gpu_layer {b.get('gpu_layer')}" + (f"; gpu_note: {b['gpu_note']}" if b.get("gpu_note") else "")])
    elif comp.get("error"):
        rows.append(["compile times", "—", comp["error"]])
    o = doc.get("overhead") or {}
    if o.get("error"):
        rows.append(["plan + launch overhead", "—", o["error"]])
    for key, label, unit in (("plan_create_jit_ms", "prt_plan_create, PTX JIT (empty caches)", "ms"),
                             ("plan_create_disk_ms", "prt_plan_create, new context, disk cache", "ms"),
                             ("plan_create_memory_ms", "prt_plan_create, memory cache", "ms"),
                             ("forward_host_us", f"prt_layer_forward host time per call, T = {o.get('T')}", "µs"),
                             ("forward_device_us", f"device time per call, T = {o.get('T')}", "µs"),
                             ("forward_with_stats_us", "host time per call with stats (waits)", "µs"),
                             ("kernels_per_call", "kernels per call", "")):
        if key in o:
            v = o[key]
            rows.append([label, f"{fmt_num(v, 4)} {unit}".strip() if isinstance(v, (int, float)) else v, ""])
    for r in ok_rows(doc):
        if r["variant"] in ("reference", "proteus") and r["T"] == min(ts_of(doc, r["config"])):
            rows.append([f"first call in the process, {VARIANT_LABELS[r['variant']]}, {r['config']} T = {r['T']:,}",
                         f"{fmt_ms(r.get('first_call_ms'))} ms",
                         f"setup (plan / model) {fmt_ms(r.get('setup_ms'))} ms"])
    return out + table(["what", "value", "detail"], rows, numeric=False)


def section_notes(doc):
    out = ["", "## Notes", ""]
    errors = [r for r in doc.get("rows", []) if r.get("status") != "ok"]
    if errors:
        out.append("¹ Rows that did not run:")
        out.append("")
        seen = set()
        for r in errors:
            key = (r["variant"], r.get("error"))
            if key in seen:
                continue
            seen.add(key)
            ts = sorted(x["T"] for x in errors if (x["variant"], x.get("error")) == key)
            out.append(f"- {r['variant']} ({r['config']}, T = {', '.join(f'{t:,}' for t in ts)}): "
                       f"{r['status']}: {r.get('error', '')}")
        out.append("")
    notes = list(doc.get("notes", []))
    notes.append("Configurations: benchmarks/bench_configs.py. tinytoy's per-T keys are covered by two "
                 "bundles (T ≤ 4096 and above); its guard max(4, T // 128) is held at the bracket's value "
                 "at 4K / 8K (32 / 64), so at 524K the reference force-keeps up to 4,032 more leading "
                 "tokens (≤ 4% of those kept). The runtime rounds the ramp's α to the nearest setting "
                 "(0.484 → 0.5 at 4K). The reference's α is set by tinytoy's own rule.")
    notes.append("The dense baselines have no RoPE (a lower bound on a dense layer's time).")
    for r in ok_rows(doc):
        if r.get("gpu_note"):
            notes.append(f"Bundle {r.get('bundle')}: gpu_note: {r['gpu_note']}")
            break
    out += [f"- {n}" for n in notes]
    return out


def markdown(doc, kernel_T=(4096, 65536, 524288), png_name=None):
    out = section_header(doc)
    if png_name:
        out += ["", f"![latency and peak memory against T]({png_name})"]
    out += section_goals(doc)
    for config in configs_of(doc):
        out += section_config(doc, config)
    out += section_kernels(doc, kernel_T) + section_compile(doc) + section_notes(doc)
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------------
# Plot
# ------------------------------------------------------------------------------------------------

def plot(doc, path):
    """Latency and peak memory against T, log-log, one panel pair per configuration. Returns the
    path, or None when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    configs = configs_of(doc)
    fig, axes = plt.subplots(len(configs), 2, figsize=(12, 4.2 * len(configs)), squeeze=False)
    for i, config in enumerate(configs):
        for j, (key, label) in enumerate((("ms", "latency (ms)"), ("peak_mib", "peak memory (MiB)"))):
            ax = axes[i][j]
            for variant, name in VARIANT_LABELS.items():
                pts = sorted((r["T"], r[key]) for r in ok_rows(doc)
                             if r["config"] == config and r["variant"] == variant and r.get(key))
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name,
                            color=VARIANT_COLORS[variant])
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("T (tokens)")
            ax.set_ylabel(label)
            ax.set_title(f"{config}: {label}")
            ax.grid(True, which="both", linestyle="--", linewidth=0.4, alpha=0.6)
            if key == "ms" and config == "h32d16":
                ax.axhline(GOAL_524K_MS, color="grey", linestyle=":", linewidth=1,
                           label="goal at 524K: 12 ms")
            if key == "peak_mib" and config == "h32d16":
                ax.axhline(GOAL_524K_BYTES / 2**20, color="grey", linestyle=":", linewidth=1,
                           label="goal at 524K: 1.5 GB")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
    m = doc.get("meta", {})
    fig.suptitle(f"Proteus layer vs reference and dense SDPA — {m.get('card', '')}, {m.get('date', '')}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------------------------

def default_name(doc):
    m = doc.get("meta", {})
    date = (m.get("date") or "undated")[:10]
    card = re.search(r"(H100|H200|A100|B200|L40S?|RTX \w+)", m.get("card", ""))
    return f"{date}-{card.group(1).lower().replace(' ', '') if card else 'gpu'}-layer"


def merge(docs):
    """One result from the runs of several device calls (a run cut off by its time limit and
    the call that ran the rest): meta, ceilings, compile and overhead of the first; rows and
    per-kernel tables of all, a later run's row replacing an earlier one of the same
    (config, T, variant); the notes of all, and the runs' argv in meta.merged_from."""
    if len(docs) == 1:
        return docs[0]
    out = dict(docs[0])
    for key in ("rows", "kernels"):
        merged = {}
        for doc in docs:
            for item in doc.get(key, []):
                merged[(item.get("config"), item.get("T"), item.get("variant"))] = item
        out[key] = list(merged.values())
    out["notes"] = [n for doc in docs for n in doc.get("notes", [])]
    meta = dict(out.get("meta", {}))
    meta["merged_from"] = [d.get("meta", {}).get("argv") for d in docs]
    out["meta"] = meta
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+",
                    help="results of benchmarks/bench_layer.py; several are merged into one table "
                         "(a later file's row replaces the same config, T and variant)")
    ap.add_argument("--out-dir", help="where to write (default: the JSON's folder)")
    ap.add_argument("--name", help="file stem (default: <date>-<card>-layer)")
    ap.add_argument("--kernel-T", default="4096,65536,524288",
                    help="T whose per-kernel tables the markdown shows (all are in the JSON)")
    args = ap.parse_args(argv)
    docs = []
    for path in args.json:
        with open(path, encoding="utf-8") as f:
            docs.append(json.load(f))
    doc = merge(docs)
    out_dir = args.out_dir or os.path.dirname(os.path.abspath(args.json[0]))
    name = args.name or default_name(doc)
    os.makedirs(out_dir, exist_ok=True)
    md = os.path.join(out_dir, name + ".md")
    kernel_T = [int(t) for t in args.kernel_T.split(",") if t]
    raw = os.path.join(out_dir, name + ".json")
    if len(docs) > 1:
        with open(raw, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
    elif os.path.abspath(raw) != os.path.abspath(args.json[0]):
        shutil.copyfile(args.json[0], raw)
    png = plot(doc, os.path.join(out_dir, name + ".png"))
    with open(md, "w", encoding="utf-8") as f:
        f.write(markdown(doc, kernel_T, os.path.basename(png) if png else None))
    print(f"report: {md}")
    print(f"report: {png}" if png else "report: no plot (matplotlib missing: apt-get install "
                                         "python3-matplotlib, then rerun report.py on the JSON)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
