"""Shared fixtures of the proteus package's tests.

The tests run on the installed package (scripts/python_check.sh: a venv under the build folder,
pip install ./python), or on the source tree with PYTHONPATH=python/src and PROTEUS_RT_LIB naming
a built libproteus_rt.so.0. They need the proteus-compile tool (PATH or $PROTEUS_COMPILE) to make
bundles, or a prepared bundle folder in $PROTEUS_TEST_BUNDLES (the GPU machine has no compiler:
scripts/python_device.sh prepare makes them here); and the golden cases ($PROTEUS_GOLDEN_DIR, else
../shared/golden beside the repository).
"""
import json
import os

import numpy as np
import pytest

import proteus
from proteus import _compile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = os.path.join(REPO, "runtime", "include", "proteus_rt", "proteus_rt.h")
GOLDEN = os.environ.get("PROTEUS_GOLDEN_DIR") or os.path.join(REPO, "..", "shared", "golden")

# The small configuration the tests compile (C 128, H 8, D 16, G 8; prototypes and bias off).
SMALL = {"d_model": 128, "h_total": 8, "attn_gates": 8}
SMALL_ALPHAS = [0.0, 1.0]


def have_compiler():
    try:
        _compile.find_compiler()
        return True
    except FileNotFoundError:
        return False


def prepared(name):
    """A bundle folder prepared in $PROTEUS_TEST_BUNDLES/<name>, or None."""
    root = os.environ.get("PROTEUS_TEST_BUNDLES")
    path = os.path.join(root, name) if root else None
    return path if path and os.path.isfile(os.path.join(path, "manifest.json")) else None


def small_bundle(arch=None):
    """The SMALL bundle: prepared, else compiled (arch None: CPU only), else a visible skip."""
    name = "small-" + (arch or "cpu")
    if prepared(name):
        return proteus.Bundle(prepared(name))
    if not have_compiler():
        pytest.skip("no proteus-compile (PATH or $PROTEUS_COMPILE) and no prepared bundle "
                    f"{name} in $PROTEUS_TEST_BUNDLES")
    return proteus.compile(SMALL, SMALL_ALPHAS, arch=arch)


def small_weights(bundle, seed=0, dtype=np.float32):
    """Random weights of the SMALL layer's shapes (scaled as a trained layer's roughly are)."""
    rng = np.random.default_rng(seed)
    C, G = bundle.d_model, bundle.gates
    s = 1.0 / np.sqrt(C)
    return {"w_qkv": (rng.standard_normal((3 * C, C)) * s).astype(dtype),
            "w_proj": (rng.standard_normal((C, C)) * s).astype(dtype),
            "w_router": (rng.standard_normal((G, C)) * s).astype(dtype)}


def golden_case(name):
    """(case.json, {tensor name: numpy array}) of golden case `name`, or a visible skip."""
    folder = os.path.join(GOLDEN, name)
    if not os.path.isfile(os.path.join(folder, "case.json")):
        pytest.skip(f"no golden case at {folder} (set PROTEUS_GOLDEN_DIR)")
    with open(os.path.join(folder, "case.json"), encoding="utf-8") as f:
        case = json.load(f)
    tensors = {}
    for tname, t in case["tensors"].items():
        dtype = {"f32": np.float32, "i64": np.int64}[t["dtype"]]
        tensors[tname] = np.fromfile(os.path.join(folder, t["file"]), dtype=dtype).reshape(t["shape"])
    return case, tensors


# golden state name -> proteus.Layer weight name
GOLDEN_WEIGHTS = {"qkv.weight": "w_qkv", "qkv.bias": "b_qkv", "proj.weight": "w_proj",
                  "proj.bias": "b_proj", "head_router.linear.weight": "w_router",
                  "routing_prototypes": "prototypes", "routing_usage_ema": "usage",
                  "routing_confidence": "confidence"}


def golden_weights(tensors, prefix="state."):
    return {ours: np.ascontiguousarray(tensors[prefix + theirs]).copy()
            for theirs, ours in GOLDEN_WEIGHTS.items() if prefix + theirs in tensors}


def golden_alpha(case):
    """The alpha the reference ran the case with (its override, else the ramp's, as it reports)."""
    if case.get("alpha_override") is not None:
        return case["alpha_override"]
    return case["sparse_state"]["shortlist_alpha"]


def rel_l2(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))
