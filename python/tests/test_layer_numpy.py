"""proteus.Layer on numpy arrays (the CPU path): the golden cases of the reference
implementation, the optional outputs, and every refusal naming its argument."""
import numpy as np
import pytest

import proteus
from conftest import (golden_alpha, golden_case, golden_weights, have_compiler, prepared, rel_l2,
                      small_bundle, small_weights)


def golden_bundle(name, case):
    path = prepared("golden-" + name)
    if path:
        return proteus.Bundle(path)
    if not have_compiler():
        pytest.skip("no proteus-compile and no prepared golden bundle")
    return proteus.compile(case["config"], [golden_alpha(case)], arch=None)


# y within the golden runner's CPU tolerance (relative L2 1e-5, tools/proteus-run/golden.cpp), the
# token mask exact, the prototype state after the EMA within 1e-6 (relative L2).
@pytest.mark.parametrize("name", ["layer_shortlist_tokens", "layer2_proto_state_boost",
                                  "layer2_bias_log_schedule"])
def test_golden_layer_case(name):
    case, t = golden_case(name)
    bundle = golden_bundle(name, case)
    weights = golden_weights(t)
    update = "state_after.routing_prototypes" in t
    layer = proteus.Layer(bundle, weights, alpha=golden_alpha(case), update_prototypes=update)
    out = layer(np.ascontiguousarray(t["x"]), details=True)
    assert out.y.dtype == np.float32 and out.y.shape == t["y"].shape
    assert rel_l2(out.y, t["y"]) <= 1e-5
    assert out.stats["mode_name"] == case["sparse_state"]["mode"]
    if "token_mask" in t:
        np.testing.assert_array_equal(out.token_mask, t["token_mask"].astype(np.int8))
    if "token_importance" in t:
        assert rel_l2(out.importance, t["token_importance"]) <= 1e-5
    if update:
        after = golden_weights(t, "state_after.")
        for name_ in ("prototypes", "usage", "confidence"):
            assert rel_l2(weights[name_], after[name_]) <= 1e-6, name_


@pytest.fixture(scope="module")
def small():
    bundle = small_bundle()
    return bundle, small_weights(bundle)


def x_for(bundle, B=2, T=48, seed=1, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((B, T, bundle.d_model)).astype(dtype)


def test_calls_are_repeatable_and_each_shape_gets_its_plan(small):
    bundle, w = small
    layer = proteus.Layer(bundle, w, alpha=1.0)
    x = x_for(bundle)
    y1, y2 = layer(x), layer(x)
    assert np.isfinite(y1).all() and np.abs(y1).sum() > 0
    np.testing.assert_array_equal(y1, y2)
    y3 = layer(x_for(bundle, B=1, T=20))
    assert y3.shape == (1, 20, bundle.d_model)
    assert set(layer._plans) == {(2, 48), (1, 20)}


def test_details_give_every_output_and_the_statistics(small):
    bundle, w = small
    out = proteus.Layer(bundle, w, alpha=0.0)(x_for(bundle), details=True)
    assert out.token_mask.shape == (2, 48) and out.token_mask.dtype == np.int8
    assert out.importance.shape == (2, 48) and out.importance.dtype == np.float32
    assert out.stats["setting_index"] == 0 and out.stats["alpha"] == 0.0
    assert isinstance(out.stats["mode_name"], str)


def test_the_alpha_must_be_a_setting(small):
    bundle, w = small
    with pytest.raises(ValueError, match=r"alpha=0.5 is not a setting of the bundle \(it has 0, 1\)"):
        proteus.Layer(bundle, w, alpha=0.5)


@pytest.mark.parametrize("change, error, message", [
    (lambda x: x.astype(np.float64), TypeError,
     r"x has dtype float64; this bundle's layer takes float32 \(precision 'exact'\)"),
    (lambda x: x.astype(np.float16), TypeError, r"x has dtype float16; this bundle's layer takes float32"),
    (lambda x: x[:, :, :32].copy(), ValueError, r"x has shape \(2, 48, 32\), expected \(2, 48, 128\)"),
    (lambda x: x[0], ValueError, r"x has shape \(48, 128\), expected \(B, T, 128\)"),
    (lambda x: x[:, ::2], ValueError, r"x is not contiguous \(row-major\): pass np.ascontiguousarray"),
    (lambda x: x.tolist(), TypeError, r"x must be a numpy array or a torch tensor, not a list"),
])
def test_a_bad_x_is_refused_by_name(small, change, error, message):
    bundle, w = small
    layer = proteus.Layer(bundle, w)
    with pytest.raises(error, match=message):
        layer(change(x_for(bundle)))


@pytest.mark.parametrize("change, error, message", [
    (lambda w: {k: v for k, v in w.items() if k != "w_proj"}, ValueError,
     r"weights\['w_proj'\] is missing"),
    (lambda w: {**w, "w_qkv": w["w_qkv"].T.copy()}, ValueError,
     r"weights\['w_qkv'\] has shape \(128, 384\), expected \(384, 128\)"),
    (lambda w: {**w, "w_router": w["w_router"].astype(np.float64)}, TypeError,
     r"weights\['w_router'\] has dtype float64; this bundle's layer takes float32"),
    (lambda w: {**w, "w_proj": np.asfortranarray(w["w_proj"])}, ValueError,
     r"weights\['w_proj'\] is not contiguous"),
    (lambda w: {**w, "b_qkv": np.zeros(384, np.float32)}, ValueError,
     r"weights\['b_qkv'\] is given but not used: the configuration has no bias"),
    (lambda w: {**w, "prototypes": np.zeros((8, 128), np.float32)}, ValueError,
     r"weights\['prototypes'\] is given but not used: the configuration has no proto_enabled"),
    (lambda w: {**w, "w_qkvv": w["w_qkv"]}, ValueError, r"weights has unknown name\(s\) w_qkvv"),
    (lambda w: list(w.values()), TypeError, r"weights must be a dict of arrays, not list"),
])
def test_bad_weights_are_refused_by_name(small, change, error, message):
    bundle, w = small
    with pytest.raises(error, match=message):
        proteus.Layer(bundle, change(w))


def test_backward_is_refused():
    with pytest.raises(RuntimeError, match="forward-only"):
        proteus.Layer.backward(None)
