"""Unit tests of the benchmark's GPU-free parts (standard library only; CTest runs them):
the kernel model, the configurations, and the report (the ctypes mirror of proteus_rt.h, which
the harness takes from the proteus package, is tested in python/tests/test_capi.py).

  python3 -m unittest -v test_bench_tools        (from benchmarks/)
"""
import contextlib
import copy
import ctypes
import json
import os
import re
import tempfile
import unittest

import bench_configs
import bench_variants
import kernel_model
import report
from proteus import _capi as proteus_rt  # bench_variants put python/src on the path

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
HEADER = os.path.join(REPO, "runtime", "include", "proteus_rt", "proteus_rt.h")


class KernelModel(unittest.TestCase):
    @staticmethod
    def brute(T, window, local_cap, anchor_cap, stride, L, samples):
        """REFERENCE.md 5.1 as sets: window, anchors, causality, de-duplication, the L smallest."""
        w, m = min(window, L, local_cap), min(anchor_cap, L, max(1, T))
        count = min(samples, T)
        total = 0
        for i in range(count):
            t = (i * T) // count
            n = min(t + 1, w)
            cands = set(range(t - n + 1, t + 1)) | {max(t - j * stride, 0) for j in range(1, m + 1)}
            total += min(len({min(c, t) for c in cands} | {t}), L)
        return total / count

    def test_mean_candidates_matches_the_rule(self):
        for case in [(4096, 512, 512, 299, 256, 1344), (65536, 512, 512, 683, 256, 2048),
                     (1000, 64, 64, 10, 32, 70), (300, 16, 5, 50, 7, 40), (777, 100, 100, 0, 256, 100)]:
            self.assertAlmostEqual(kernel_model.mean_candidates(*case, samples=300),
                                   self.brute(*case, samples=300), places=9, msg=str(case))

    def test_figures_follow_the_mode_and_the_launch_count(self):
        shape = {"B": 1, "T": 1024, "C": 512, "H": 32, "D": 16, "G": 64, "R": 32, "N": 100,
                 "A": 20, "P": 1, "e": 4, "cbar": 300.0, "dtype": "f32"}
        b, f, prec, _, _, note = kernel_model.kernel_figures("proteus_project", shape, "dense")
        self.assertEqual((f, prec), (2 * 1024 * 512 * 3 * 512, "f32"))
        self.assertEqual(b, 4 * 1024 * 512 + 4 * 3 * 512 * 512 + 4 * 3 * 1024 * 512)
        # In shortlist mode it projects K and V; proteus_project_q the N pairs' Q.
        b, f, _, _, _, _ = kernel_model.kernel_figures("proteus_project", shape, "shortlist")
        self.assertEqual(f, 2 * 1024 * 512 * 2 * 512)
        b, f, prec, _, _, _ = kernel_model.kernel_figures("proteus_project_q", shape, "shortlist")
        self.assertEqual((f, prec), (2 * 100 * 16 * 512, "f32"))
        self.assertEqual(kernel_model.kernel_figures("proteus_project_q", shape, "dense")[:2], (0, 0))
        idle = kernel_model.kernel_figures("proteus_layer_dense_attention_f32", shape, "shortlist")
        self.assertEqual(idle[:2], (0, 0))
        self.assertIn("returns at once", idle[5])
        one = kernel_model.kernel_figures("proteus_route_logits", shape, "shortlist")
        two = kernel_model.kernel_figures("proteus_route_logits", shape, "shortlist", launches=2)
        self.assertEqual(two[:2], (2 * one[0], 2 * one[1]))
        self.assertIsNone(kernel_model.kernel_figures("Memcpy HtoD (Pageable -> Device)", shape, "dense"))

    def test_the_ema_chunks_follow_the_contract(self):
        # contract.h's gpuProtoChunk: 256 tokens up to 16K (64 chunks there), 1024 at 64K,
        # 4096 from 256K on.
        cases = {1: 1, 1000: 4, 16384: 64, 16385: 65, 65536: 64, 524288: 128}
        for tokens, chunks in cases.items():
            self.assertEqual(kernel_model.proto_chunks(tokens), chunks, msg=str(tokens))
        shape = {"B": 4, "T": 4096, "C": 512, "G": 64, "e": 4}
        b, f, _, _, _, _ = kernel_model.kernel_figures("proteus_proto_update", shape, "shortlist")
        self.assertEqual(f, 64 * 64 * 512)

    def test_floor_is_the_larger_of_bytes_and_flops(self):
        ceilings = {"copy_tbs": 2.0, "f32_tflops": 10.0}
        self.assertAlmostEqual(kernel_model.floor_ms(2e9, 0, "-", ceilings), 1.0)
        self.assertAlmostEqual(kernel_model.floor_ms(2e9, 1e11, "f32", ceilings), 10.0)


class RuntimeProfile(unittest.TestCase):
    @staticmethod
    def block(B, T, launches):
        """Text in the runtime's format (layer_gpu.cpp: "  %-40s %9.4f ms")."""
        lines = [f"proteus_rt profile: B {B} T {T}"]
        lines += [f"  {name:<40s} {ms:9.4f} ms" for name, ms in launches]
        lines.append(f"  {'(sum of kernels)':<40s} {sum(ms for _, ms in launches):9.4f} ms")
        return "\n".join(lines) + "\n"

    def test_the_last_block_counts_and_launches_add_up(self):
        first = self.block(1, 64, [("proteus_route_logits", 9.0)])
        second = self.block(1, 64, [("proteus_route_logits", 0.25), ("proteus_route", 0.5),
                                    ("proteus_route_logits", 0.125), ("proteus_project", 2.0)])
        got = bench_variants.parse_runtime_profile("noise\n" + first + second + "after\n")
        self.assertEqual(got, [("proteus_route_logits", 375.0, 2), ("proteus_route", 500.0, 1),
                               ("proteus_project", 2000.0, 1)])

    def test_a_missing_or_empty_block_is_an_error(self):
        with self.assertRaisesRegex(ValueError, "no 'proteus_rt profile:' block"):
            bench_variants.parse_runtime_profile("proteus_rt: something else\n")
        with self.assertRaisesRegex(ValueError, "empty"):
            bench_variants.parse_runtime_profile(self.block(1, 1, []))

    def test_the_profiled_call_closest_to_the_timed_selection_counts(self):
        block = self.block

        class Plan:
            """Calls that pack 120 (the warm-up, not a candidate), 500, 100 and 5000 pairs (the
            EMA moving the selection); the warm-up call is given no stats."""
            def __init__(self):
                self.calls, self.closed = 0, False

            def forward(self, args):
                packed = (120, 500, 100, 5000)[self.calls]
                self.calls += 1
                if args.stats:
                    proteus_rt.prt_layer_stats.from_address(args.stats).packed = packed
                os.write(2, block(1, 64, [("proteus_project", packed / 1000)]).encode())

            def close(self):
                self.closed = True

        class Bundle:
            def plan(self, B, T, alpha, update_prototypes):
                self.profile_env = os.environ.get("PROTEUS_PROFILE")
                self.made = Plan()
                return self.made

        layer = object.__new__(bench_variants.ProteusLayer)
        layer.B, layer.T, layer.alpha_arg, layer.proto = 1, 64, -1.0, True
        layer.bundle, layer.args = Bundle(), proteus_rt.prt_layer_args()
        layer.last_stats = {"packed": 120}
        times, packed = layer.kernel_times()
        self.assertEqual((times, packed), ([("proteus_project", 100.0, 1)], 100))
        self.assertEqual(layer.bundle.profile_env, "1")
        self.assertNotIn("PROTEUS_PROFILE", os.environ)
        self.assertTrue(layer.bundle.made.closed)
        self.assertEqual(layer.bundle.made.calls, 4)
        self.assertIsNone(layer.args.stats)

    def test_stderr_of_c_code_is_captured_and_restored(self):
        got = bench_variants.capture_stderr(lambda: os.write(2, b"from fd 2\n"))
        self.assertEqual(got, "from fd 2\n")
        # File descriptor 2 is the original again: writing to it is not captured.
        self.assertEqual(bench_variants.capture_stderr(lambda: None), "")


class ReferenceAutotune(unittest.TestCase):
    def setUp(self):
        self.saved = os.environ.pop("PROTEUS_TUNE_DISABLE", None)

    def tearDown(self):
        os.environ.pop("PROTEUS_TUNE_DISABLE", None)
        if self.saved is not None:
            os.environ["PROTEUS_TUNE_DISABLE"] = self.saved

    def test_auto_tunes_below_head_dim_64_only_and_the_environment_wins(self):
        import bench_layer
        policy = bench_layer.reference_autotune
        self.assertEqual([policy("auto", "h32d16"), policy("auto", "h8d64")], [True, False])
        self.assertEqual([policy("on", "h8d64"), policy("off", "h32d16")], [True, False])
        self.assertIn("head dim >= 64", bench_layer.reference_autotune_text("auto", "h8d64"))
        os.environ["PROTEUS_TUNE_DISABLE"] = "1"
        self.assertFalse(policy("on", "h32d16"))
        self.assertEqual(bench_layer.reference_autotune_text("on", "h32d16"),
                         "off (PROTEUS_TUNE_DISABLE)")

    def test_the_call_sets_the_reference_switch_and_restores_it(self):
        seen = []

        class Torch:
            @staticmethod
            def inference_mode():
                return contextlib.nullcontext()

        layer = object.__new__(bench_variants.ReferenceLayer)
        layer.torch, layer.x = Torch(), None
        layer.model = lambda x: seen.append(os.environ.get("PROTEUS_TUNE_DISABLE"))
        for autotune in (False, True):
            layer.autotune = autotune
            layer()
            self.assertNotIn("PROTEUS_TUNE_DISABLE", os.environ)
        self.assertEqual(seen, ["1", None])

    def test_the_header_names_each_configuration(self):
        doc = {"meta": {"reference": {"revision": "abc", "autotune": {"h32d16": "on (x)", "h8d64": "off (y)"}}}}
        self.assertIn("its block autotune h32d16: on (x); h8d64: off (y).",
                      "\n".join(report.section_header(doc)))


class Configs(unittest.TestCase):
    def test_brackets_and_batches(self):
        self.assertEqual(bench_configs.bracket_for(4096), "le4k")
        self.assertEqual(bench_configs.bracket_for(8192), "gt4k")
        self.assertEqual([bench_configs.batch_for(t) for t in (4096, 8192)], [4, 1])

    def test_every_key_is_one_the_compiler_accepts(self):
        with open(os.path.join(REPO, "runtime", "src", "config_json.cpp"), encoding="utf-8") as f:
            known = set(re.findall(r'"([a-z_A-Z0-9]+)"', f.read()))
        for name, _, _, keys in bench_configs.bundles():
            self.assertEqual(set(keys) - known, set(), name)
            self.assertEqual(keys["d_model"] % keys["h_total"], 0)


def fake_results():
    """A small results document: h32d16 at two T, one failed variant, one kernel profile."""
    rows = []

    def row(config, T, variant, ms, mib, **extra):
        r = {"config": config, "T": T, "B": bench_configs.batch_for(T), "variant": variant,
             "status": "ok", "ms": ms, "peak_mib": mib}
        r.update(extra)
        rows.append(r)

    for T, ours, ref, cudnn in ((4096, 2.0, 16.7, 0.5), (524288, 40.0, 118.0, 700.0)):
        row("h32d16", T, "proteus", ours, 9000.0, dtype="f32", mode="shortlist", alpha=1.0, top_k=2,
            packed=1000, memory={"torch_peak_mib": 2100.0, "runtime_mib": 6900.0})
        row("h32d16", T, "reference", ref, 1000.0, dtype="bf16")
        row("h32d16", T, "cudnn", cudnn, 800.0)
        rows.append({"config": "h32d16", "T": T, "B": 1, "variant": "flash", "status": "error",
                     "error": "RuntimeError: No available kernel"})
    row("h32d16", 4096, "proteus-dense", 10.0, 900.0, dtype="f32", mode="dense_alpha")
    shape = {"B": 1, "T": 524288, "C": 512, "H": 32, "D": 16, "G": 64, "R": 32, "N": 209715,
             "A": 32, "P": 1, "e": 4, "cbar": 1078.4, "dtype": "f32", "mode": "shortlist"}
    kernels = []
    for name, us in (("proteus_project", 30000.0), ("proteus_layer_shortlist_attention_f32", 8000.0),
                     ("proteus_layer_dense_attention_f32", 5.0), ("Memset (Device)", 3.0)):
        k = {"name": name, "us": us, "count": 1}
        figures = kernel_model.kernel_figures(name, shape, "shortlist")
        if figures:
            k.update(zip(("bytes", "flops", "precision", "bytes_formula", "flops_formula", "note"), figures))
        kernels.append(k)
    return {"meta": {"card": "NVIDIA H100 80GB HBM3", "date": "2026-11-28 09:00 UTC", "driver": "580",
                     "proteus_dtype": "f32", "configs": {"h32d16": {"label": "reference configuration"}}},
            "ceilings": {"copy_tbs": 3.0, "bf16_tflops": 640.0, "f32_tflops": 50.0, "f64_tflops": 55.0},
            "compile": {"one_setting_ms": [1700], "five_settings_ms": [7800], "cold_config": "h32d16-gt4k",
                        "host": {"cpu": "test", "cores": 2}, "bundles": {}},
            "overhead": {"T": 256, "plan_create_jit_ms": 900.0, "forward_host_us": 40.0},
            "rows": rows, "notes": [],
            "kernels": [{"config": "h32d16", "T": 524288, "variant": "proteus", "call_ms": 40.0,
                         "shape": shape, "kernels": kernels}]}


class Report(unittest.TestCase):
    def test_goals_are_judged_with_their_numbers(self):
        verdicts = {g[0]: g for g in report.goals(fake_results())}
        speed = next(g for name, g in verdicts.items() if name.startswith("Layer"))
        self.assertEqual(speed[3], "**not met**")
        self.assertIn("min 2.95× at T = 524,288", speed[2])
        self.assertIn("`proteus_project`", speed[4])
        time_goal = next(g for name, g in verdicts.items() if name.startswith("T = 524K"))
        self.assertEqual((time_goal[2], time_goal[3]), ("40.00 ms", "**not met**"))
        memory = next(g for name, g in verdicts.items() if name.startswith("Peak memory"))
        self.assertIn("runtime scratch 6,900 MiB", memory[4])
        dense = next(g for name, g in verdicts.items() if name.startswith("Dense mode"))
        self.assertIn("0.05", dense[2])
        never = next(g for name, g in verdicts.items() if name.startswith("Never"))
        self.assertIn("T = 4,096 (4.0×)", never[2])

    def test_met_goals_say_so(self):
        doc = fake_results()
        for r in doc["rows"]:
            if r["variant"] == "proteus" and r["status"] == "ok":
                r["ms"], r["peak_mib"] = 0.4 if r["T"] == 4096 else 10.0, 1000.0
            if r["variant"] == "proteus-dense":
                r["ms"] = 0.6
        verdicts = [g[3] for g in report.goals(doc)]
        self.assertEqual(verdicts, ["**met**"] * 5)

    def test_markdown_has_every_section_and_the_errors(self):
        md = report.markdown(fake_results(), kernel_T=[524288], png_name="x.png")
        for text in ("## Goals", "## h32d16", "## Per-kernel figures", "## Compile and launch",
                     "RuntimeError: No available kernel", "error¹", "![latency", "`2*B*T*C*2*C`",
                     "returns at once in shortlist mode", "Slowest relative to its floor"):
            self.assertIn(text, md)

    def test_partial_documents_render(self):
        doc = fake_results()
        for key in ("kernels", "overhead", "compile", "ceilings"):
            doc.pop(key)
        doc["rows"] = [r for r in doc["rows"] if r["variant"] != "reference"]
        md = report.markdown(doc)
        self.assertIn("**not measured**", md)
        self.assertIn("no per-kernel profile", md)
        report.markdown({"meta": {}, "rows": []})

    def test_main_writes_the_table_and_a_copy_of_the_json(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "bench.json")
            with open(src, "w") as f:
                json.dump(fake_results(), f)
            out = os.path.join(tmp, "results")
            self.assertEqual(report.main([src, "--out-dir", out]), 0)
            self.assertTrue(os.path.exists(os.path.join(out, "2026-11-28-h100-layer.md")))
            with open(os.path.join(out, "2026-11-28-h100-layer.json")) as f:
                self.assertEqual(json.load(f), fake_results())

    def test_a_profile_that_sums_past_its_call_is_flagged(self):
        kernels = [{"ms": 60.0}, {"ms": 40.0}]
        self.assertEqual(report.profile_caveat({"call_ms": 100.0}, kernels), "")
        caveat = report.profile_caveat({"call_ms": 80.0}, kernels)
        self.assertIn("sum to 100.0 ms against the timed call's 80.00 ms (one stream", caveat)
        self.assertEqual(report.profile_caveat({}, kernels), "")
        # A profiled call that selected more pairs than the timed one: that is the reason given.
        caveat = report.profile_caveat({"call_ms": 80.0, "timed_packed": 209818,
                                        "profiled_packed": 1048576}, kernels)
        self.assertIn("the profiled call packed 1,048,576 (row, token) pairs, the timed plan's "
                      "last call 209,818", caveat)
        self.assertNotIn("unreliable", caveat)

    def test_runs_of_two_calls_merge_into_one_table(self):
        first, second = fake_results(), fake_results()
        # The first call stopped after T = 4096; the second ran the rest.
        cut = [r for r in first["rows"] if r["T"] == 4096]
        self.assertTrue(cut and len(cut) < len(first["rows"]))
        first["rows"] = cut
        second["rows"] = [r for r in second["rows"] if r["T"] != 4096]
        second["meta"] = dict(second["meta"], argv=["--T", "524288"])
        merged = report.merge([first, second])
        self.assertEqual(len(merged["rows"]), len(fake_results()["rows"]))
        self.assertEqual(merged["meta"]["card"], first["meta"]["card"])
        self.assertEqual(merged["meta"]["merged_from"][1], ["--T", "524288"])
        # A later run's row replaces an earlier one of the same config, T and variant.
        again = report.merge([first, {"rows": [dict(cut[0], ms=123.0)]}])
        key = (cut[0]["config"], cut[0]["T"], cut[0]["variant"])
        rows = {(r["config"], r["T"], r["variant"]): r for r in again["rows"]}
        self.assertEqual(rows[key]["ms"], 123.0)
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i, doc in enumerate((first, second)):
                paths.append(os.path.join(tmp, f"run{i}.json"))
                with open(paths[-1], "w") as f:
                    json.dump(doc, f)
            self.assertEqual(report.main(paths + ["--out-dir", tmp, "--name", "both"]), 0)
            with open(os.path.join(tmp, "both.json")) as f:
                self.assertEqual(len(json.load(f)["rows"]), len(merged["rows"]))


if __name__ == "__main__":
    unittest.main()
