"""proteus.Layer on torch tensors: the custom op (CPU and CUDA), torch.compile, CUDA graph
capture, forward-only, and the dtype/device refusals. Skipped, with the reason, where torch is not
installed (the CI machine); the GPU tests also where CUDA is not available. On the GPU machine
(no compiler there) the bundles come from $PROTEUS_TEST_BUNDLES (scripts/python_device.sh prepare).
"""
import numpy as np
import pytest

import proteus
from conftest import rel_l2, small_bundle, small_weights

torch = pytest.importorskip("torch", reason="torch is not installed: the torch tests run where it is")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def tensors(weights, device):
    return {k: torch.from_numpy(v).to(device) for k, v in weights.items()}


def x_numpy(bundle, B=2, T=48, seed=3):
    return np.random.default_rng(seed).standard_normal((B, T, bundle.d_model)).astype(np.float32)


@pytest.fixture(scope="module")
def cpu_small():
    bundle = small_bundle()
    return bundle, small_weights(bundle)


@pytest.fixture(scope="module")
def gpu_small():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    bundle = small_bundle(arch="sm_90")
    return bundle, small_weights(bundle)


def test_the_op_on_cpu_tensors_is_the_numpy_path(cpu_small):
    bundle, w = cpu_small
    x = x_numpy(bundle)
    expected = proteus.Layer(bundle, w, alpha=1.0)(x)
    layer = proteus.Layer(bundle, tensors(w, "cpu"), alpha=1.0)
    y = layer(torch.from_numpy(x))
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    np.testing.assert_array_equal(y.numpy(), expected)
    out = layer(torch.from_numpy(x), details=True)
    assert out.stats["alpha"] == 1.0 and out.token_mask.dtype == torch.int8


def test_torch_compile_matches_eager_on_cpu(cpu_small):
    bundle, w = cpu_small
    layer = proteus.Layer(bundle, tensors(w, "cpu"), alpha=1.0)
    x = torch.from_numpy(x_numpy(bundle))
    eager = layer(x)
    # aot_eager: the fake kernel and functionalization, without a C++ compiler for the CPU code
    compiled = torch.compile(lambda t: layer(t) * 2.0, backend="aot_eager")
    torch.testing.assert_close(compiled(x), eager * 2.0, rtol=0, atol=0)
    full = torch.compile(lambda t: torch.ops.proteus.layer_forward(
        layer.id, t, layer.weights["w_qkv"], None, layer.weights["w_proj"], None,
        layer.weights["w_router"], None, None, None)[0], fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(full(x), eager, rtol=0, atol=0)


def test_the_op_passes_torch_library_opcheck(cpu_small):
    bundle, w = cpu_small
    layer = proteus.Layer(bundle, tensors(w, "cpu"), alpha=1.0)
    x = torch.from_numpy(x_numpy(bundle))
    args = (layer.id, x, layer.weights["w_qkv"], None, layer.weights["w_proj"], None,
            layer.weights["w_router"], None, None, None)
    torch.library.opcheck(torch.ops.proteus.layer_forward.default, args,
                          test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_static"))


def test_backward_raises_a_clear_error(cpu_small):
    bundle, w = cpu_small
    layer = proteus.Layer(bundle, {k: v.requires_grad_() for k, v in tensors(w, "cpu").items()},
                          alpha=1.0)
    y = layer(torch.from_numpy(x_numpy(bundle)).requires_grad_())
    with pytest.raises(RuntimeError, match="forward-only"):
        y.sum().backward()


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float64"])
def test_other_dtypes_are_refused_saying_what_the_bundle_takes(cpu_small, dtype):
    bundle, w = cpu_small
    layer = proteus.Layer(bundle, tensors(w, "cpu"))
    x = torch.from_numpy(x_numpy(bundle)).to(getattr(torch, dtype))
    with pytest.raises(TypeError, match=f"x has dtype {dtype}; this bundle's layer takes float32 "
                                        r"\(precision 'exact'\)"):
        layer(x)


def test_numpy_and_torch_do_not_mix(cpu_small):
    bundle, w = cpu_small
    with pytest.raises(TypeError, match="x is a float32 numpy array, the layer's weights are torch"):
        proteus.Layer(bundle, tensors(w, "cpu"))(x_numpy(bundle))
    with pytest.raises(TypeError, match="weights mixes numpy arrays and torch tensors"):
        proteus.Layer(bundle, {**w, "w_proj": torch.from_numpy(w["w_proj"])})


@cuda
def test_the_gpu_layer_matches_the_cpu_path(gpu_small):
    bundle, w = gpu_small
    x = x_numpy(bundle, B=2, T=300)
    for alpha in (0.0, 1.0):
        expected = proteus.Layer(bundle, w, alpha=alpha)(x)
        layer = proteus.Layer(bundle, tensors(w, "cuda"), alpha=alpha)
        y = layer(torch.from_numpy(x).cuda())
        assert y.is_cuda and y.dtype == torch.float32
        assert rel_l2(y.cpu().numpy(), expected) <= 1e-4, alpha  # the golden runner's GPU bound
        out = layer(torch.from_numpy(x).cuda(), details=True)
        assert out.stats["setting_index"] == (0 if alpha == 0.0 else 1)


@cuda
def test_the_gpu_layer_runs_on_the_current_stream(gpu_small):
    bundle, w = gpu_small
    layer = proteus.Layer(bundle, tensors(w, "cuda"), alpha=1.0)
    x = torch.from_numpy(x_numpy(bundle, T=256)).cuda()
    reference = layer(x)
    torch.cuda.synchronize()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        ys = [layer(x) for _ in range(4)]
    torch.cuda.current_stream().wait_stream(side)
    for y in ys:
        torch.testing.assert_close(y, reference, rtol=0, atol=0)


@cuda
def test_cuda_graph_capture_replays_the_layer(gpu_small):
    bundle, w = gpu_small
    layer = proteus.Layer(bundle, tensors(w, "cuda"), alpha=1.0)
    static_x = torch.from_numpy(x_numpy(bundle, T=256)).cuda()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        layer(static_x)  # the warm-up call makes the plan (a capture cannot)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_y = layer(static_x)
    for seed in (5, 6):
        new_x = torch.from_numpy(x_numpy(bundle, T=256, seed=seed)).cuda()
        static_x.copy_(new_x)
        graph.replay()
        torch.testing.assert_close(static_y, layer(new_x), rtol=0, atol=0)


@cuda
def test_a_capture_without_a_plan_says_to_warm_up(gpu_small):
    bundle, w = gpu_small
    layer = proteus.Layer(bundle, tensors(w, "cuda"), alpha=1.0)
    x = torch.from_numpy(x_numpy(bundle, T=200)).cuda()
    graph = torch.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="call the layer once at this shape before capturing"):
        with torch.cuda.graph(graph):
            layer(x)


@cuda
def test_torch_compile_on_the_gpu(gpu_small):
    bundle, w = gpu_small
    layer = proteus.Layer(bundle, tensors(w, "cuda"), alpha=1.0)
    x = torch.from_numpy(x_numpy(bundle, T=256)).cuda()
    eager = layer(x)
    compiled = torch.compile(lambda t: layer(t) + 1.0)
    torch.testing.assert_close(compiled(x), eager + 1.0, rtol=0, atol=0)
    graphs = torch.compile(lambda t: layer(t) + 1.0, mode="reduce-overhead")
    for _ in range(3):
        torch.testing.assert_close(graphs(x), eager + 1.0, rtol=0, atol=0)


@cuda
def test_tensors_on_two_devices_are_refused(gpu_small):
    bundle, w = gpu_small
    layer = proteus.Layer(bundle, tensors(w, "cuda"))
    with pytest.raises(ValueError, match="x is on cpu, the layer's weights on cuda:0"):
        layer(torch.from_numpy(x_numpy(bundle)))
    with pytest.raises(TypeError, match="x has dtype bfloat16; this bundle's layer takes float32"):
        layer(torch.from_numpy(x_numpy(bundle)).cuda().bfloat16())
