#!/usr/bin/env python3
"""The layer configurations the benchmark runs, in one place: scripts/bench_bundles.sh compiles
them (`python3 benchmarks/bench_configs.py --write DIR` writes one JSON per bundle) and
benchmarks/bench_layer.py picks the bundle for each T.

Configurations (proteus-compile keys, runtime/src/config_json.cpp):
  h32d16  the reference benchmark's layer (REFERENCE.md 9.1, tinytoy): d_model 512, 32 heads of 16,
          64 gates, prototypes on (threshold 0.3, blend 0.6, temp 0.2, usage boost 0.15), token
          sparsity with the sqrt keep schedule (min 0.2), L 512 / 128 / 2048 with the sqrt schedule,
          router_top_p 0 (its namespace default), no fast path, alpha ramp from 256 to 8192.
  h8d64   the same layer with 8 heads of 64 (the shape of the dense baselines in BASELINES.md).

tinytoy changes some keys with T; two brackets cover the benchmark's lengths:
  le4k (T <= 4096): keep ratio 0.6, keep min 192, keep threshold 0.06, force-dense threshold 0.60
  gt4k (T >  4096): keep ratio 0.45, keep min 224, keep threshold 0.08, force-dense threshold 0.90
with dense_alpha_cutoff 0.20 (T > 2048). One deviation: tinytoy's guard is max(4, T // 128) at each
T; a bundle holds one value, the bracket's at its shortest benchmarked T (32 for le4k, 64 for gt4k),
so at T = 524K the reference force-keeps up to 4,032 more leading tokens (<= 4% of the 104,858 kept).
Each bundle has the alpha settings 0, 0.25, 0.5, 0.75, 1; the runtime rounds the ramp's alpha to the
nearest (T = 4096: 0.484 -> 0.5; T >= 8192: 1).
"""
import argparse
import json
import os

T_LIST = [4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288]
ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]
D_MODEL = 512
# tinytoy's seq_high (= n_ctx): 128 doubled up to its 2,000,000 cap, taken before filtering.
SEQ_HIGH = 1048576

HEADS = {"h32d16": 32, "h8d64": 8}
LABELS = {"h32d16": "reference configuration, 32 heads x 16", "h8d64": "8 heads x 64"}

# Keys every bundle shares (REFERENCE.md 9.1).
BASE = {
    "d_model": D_MODEL,
    "attn_gates": 64,
    "h_active_min": 2,
    "h_active_max": 8,
    "h_active_curve": 0.25,
    "seq_low": 256,
    "seq_high": SEQ_HIGH,
    "small_seq_dense": 0,
    "dense_alpha_cutoff": 0.20,
    "router_top_p": 0.0,
    "linear_head_k": 2,
    "linear_switch_ctx": 8192,
    "linear_window_base": 512,
    "linear_anchor_stride": 256,
    "linear_use_local": True,
    "linear_use_anchors": True,
    "linear_use_proto": False,
    "linear_L_base": 512,
    "linear_L_min": 128,
    "linear_L_max": 2048,
    "linear_L_schedule": "sqrt",
    "token_sparse": True,
    "linear_token_keep_schedule": "sqrt",
    "linear_token_keep_ratio_min": 0.2,
    "linear_token_keep_ratio_ref": 2048,
    "proto_enabled": True,
    "proto_decay": 0.97,
    "proto_threshold": 0.3,
    "proto_blend": 0.6,
    "proto_temp": 0.2,
    "proto_usage_boost": 0.15,
    "use_rope": True,
    "rope_base": 10000.0,
    "bias": False,
}

# (name, longest T it covers or None, the keys tinytoy sets for that bracket)
BRACKETS = [
    ("le4k", 4096, {"token_keep_ratio_base": 0.6, "token_keep_min": 192,
                    "token_keep_threshold": 0.06, "_dense_threshold": 0.60, "token_keep_guard": 32}),
    ("gt4k", None, {"token_keep_ratio_base": 0.45, "token_keep_min": 224,
                    "token_keep_threshold": 0.08, "_dense_threshold": 0.90, "token_keep_guard": 64}),
]


def batch_for(T):
    """The reference benchmark's batch: 4 below 8K tokens, else 1."""
    return 4 if T < 8192 else 1


def bracket_for(T):
    """The name of the bracket whose keys apply at T."""
    for name, longest, _ in BRACKETS:
        if longest is None or T <= longest:
            return name
    raise AssertionError("the last bracket covers every T")


def layer_config(config, bracket):
    """The proteus-compile configuration of one (configuration, bracket)."""
    keys = dict(BASE, h_total=HEADS[config])
    keys.update(next(k for name, _, k in BRACKETS if name == bracket))
    return keys


def bundle_name(config, bracket):
    return f"{config}-{bracket}"


def bundles():
    """[(bundle name, configuration name, bracket, config dict)] for every bundle the run needs."""
    return [(bundle_name(c, b), c, b, layer_config(c, b)) for c in HEADS for b, _, _ in BRACKETS]


def alpha_list():
    """The settings as proteus-compile's --alpha takes them: "0,0.25,0.5,0.75,1"."""
    return ",".join(f"{a:g}" for a in ALPHAS)


def write_configs(out_dir):
    """Writes <bundle>.json for every bundle into out_dir; prints 'name alphas path' for each."""
    os.makedirs(out_dir, exist_ok=True)
    for name, _, _, keys in bundles():
        path = os.path.join(out_dir, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(keys, f, indent=1, sort_keys=True)
            f.write("\n")
        print(name, alpha_list(), path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", metavar="DIR", required=True, help="write one JSON per bundle here")
    args = ap.parse_args()
    write_configs(args.write)


if __name__ == "__main__":
    main()
