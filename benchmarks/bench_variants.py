"""The variants benchmarks/bench_layer.py times. Each is made for one (configuration, T, batch),
is callable (one forward of the whole batch), describes itself for the results row, and is
closed after use. Tensors are made on `device` with seeded generators, so every variant of a
configuration sees the same input distribution and weight initialisation.
"""
import json
import os
import re
import sys
import tempfile

import bench_configs as configs
import kernel_model

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "python", "src"))  # the package's ctypes mirror
from proteus import _capi as proteus_rt  # noqa: E402

TORCH_DTYPES = {"f32": "float32", "bf16": "bfloat16", "f16": "float16"}


def init_weights(torch, C, G, dtype, device, seed):
    """The reference's initialisation: nn.Linear's U(-1/sqrt(C), 1/sqrt(C)) for qkv, proj and the
    router; prototypes N(0, 1) * 0.02; usage and confidence 0."""
    gen = torch.Generator(device=device).manual_seed(seed)
    bound = C ** -0.5

    def uniform(*shape):
        return (torch.rand(*shape, generator=gen, device=device) * 2 - 1).mul_(bound).to(dtype)

    return {
        "w_qkv": uniform(3 * C, C), "w_proj": uniform(C, C), "w_router": uniform(G, C),
        "prototypes": (torch.randn(G, C, generator=gen, device=device) * 0.02).to(dtype),
        "usage": torch.zeros(G, device=device, dtype=dtype),
        "confidence": torch.zeros(G, device=device, dtype=dtype),
    }


def make_input(torch, B, T, C, dtype, device, seed=0):
    """x ~ randn(B, T, C), as the reference benchmark feeds it."""
    gen = torch.Generator(device=device).manual_seed(seed)
    return torch.randn(B, T, C, generator=gen, device=device, dtype=torch.float32).to(dtype)


class ProteusLayer:
    """Our layer: a GPU plan of `bundle_path` for (B, T) at `alpha` (< 0: the runtime's ramp) and
    device tensors from torch, passed to prt_layer_forward on torch's current stream. The
    prototype EMA runs after every call, as the reference's forward does."""

    def __init__(self, torch, ctx, bundle_path, T, B, dtype, alpha, device="cuda"):
        self.torch, self.T, self.B, self.dtype, self.path = torch, T, B, dtype, bundle_path
        self.alpha_arg = alpha
        if dtype != "f32":
            # prt_layer_args has no dtype field: the runtime's GPU layer takes f32 only. Where it
            # gains one, set it below and drop this check.
            raise RuntimeError(f"the runtime's layer takes f32 activations and weights only, not {dtype}")
        tdtype = getattr(torch, TORCH_DTYPES[dtype])
        with open(os.path.join(bundle_path, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        cfg = self.manifest["config"]
        self.C, self.H, self.G = cfg["d_model"], cfg["h_total"], cfg["attn_gates"]
        self.stride = cfg["linear_anchor_stride"]
        self.proto = bool(cfg["proto_enabled"])
        self.bundle, self.plan = ctx.open_bundle(bundle_path), None
        try:
            self.plan = self.bundle.plan(B, T, alpha=alpha, update_prototypes=self.proto)
            self.info = self.plan.info()
            if self.info["backend"] != "gpu":
                raise RuntimeError(f"the plan runs on {self.info['backend']}: {self.info['backend_reason']}")
        except Exception:
            self.close()
            raise
        self.w = w = init_weights(torch, self.C, self.G, tdtype, device, seed=1)
        self.x = make_input(torch, B, T, self.C, tdtype, device)
        self.y = torch.empty_like(self.x)
        self.args = proteus_rt.prt_layer_args(
            B=B, T=T, x=self.x.data_ptr(), w_qkv=w["w_qkv"].data_ptr(), b_qkv=None,
            w_proj=w["w_proj"].data_ptr(), b_proj=None, w_router=w["w_router"].data_ptr(),
            prototypes=w["prototypes"].data_ptr(), usage=w["usage"].data_ptr(),
            confidence=w["confidence"].data_ptr(), y=self.y.data_ptr(), token_mask=None,
            importance=None, stats=None, stream=torch.cuda.current_stream().cuda_stream)
        self.last_stats = None

    def __call__(self):
        self.plan.forward(self.args)

    def stats(self):
        """One call that also returns its prt_layer_stats (the call then waits for the GPU)."""
        st = proteus_rt.prt_layer_stats()
        self.args.stats = proteus_rt.ctypes.addressof(st)
        try:
            self.plan.forward(self.args)
        finally:
            self.args.stats = None
        self.last_stats = proteus_rt.stats_dict(st)
        return self.last_stats

    def runtime_bytes(self):
        """Device memory the runtime holds for the plan (prt_plan_info.scratch_bytes)."""
        return self.info.get("scratch_bytes", 0)

    def describe(self):
        i, s = self.info, self.stats()
        return {"dtype": self.dtype, "mode": s["mode_name"], "alpha": i["alpha"],
                "alpha_schedule": i["alpha_schedule"], "setting": i["setting_index"],
                "top_k": s["top_k"], "packed": s["packed"], "active_rows": s["active_rows"],
                "keep_ratio": i["keep_ratio"], "token_keep": i["token_keep"],
                "effective_L": i["effective_L"], "bundle": os.path.basename(self.path),
                "gpu_note": self.manifest.get("gpu_note", "")}

    def shape(self):
        """The symbols of kernel_model's formulas for this call."""
        i, s = self.info, self.last_stats or self.stats()
        cbar = kernel_model.mean_candidates(self.T, i["window"], i["local_cap"], i["anchor_cap"],
                                            self.stride, i["effective_L"])
        return {"B": self.B, "T": self.T, "C": self.C, "H": self.H, "D": self.C // self.H,
                "G": self.G, "R": self.B * self.H, "N": s["packed"], "A": s["active_rows"],
                "P": 1 if self.proto else 0, "e": 4 if self.dtype == "f32" else 2,
                "cbar": round(cbar, 1), "dtype": self.dtype,
                "mode": "shortlist" if s["mode_name"] == "shortlist" else "dense"}

    def kernel_times(self, calls=3):
        """([(kernel name, total µs, launches)], packed pairs) of one call, in launch order, from
        the runtime's own CUDA events around each launch (PROTEUS_PROFILE=1, read when a plan is
        created: a second plan of the same bundle and shape, so the timed plan stays unprofiled);
        the runtime prints the times to stderr, read here from file descriptor 2.

        With the prototype EMA on, every call moves the importance of each token and with it how
        many tokens pass the keep threshold, so two calls of one plan can select very different
        numbers of (row, token) pairs (at 524K on the H200: 209,814 and 1,048,576). After one
        warm-up call, of `calls` calls the one whose packed count is closest to the timed plan's
        last call is kept, and its count is returned beside its times."""
        before = os.environ.get("PROTEUS_PROFILE")
        os.environ["PROTEUS_PROFILE"] = "1"
        try:
            plan = self.bundle.plan(self.B, self.T, alpha=self.alpha_arg,
                                    update_prototypes=self.proto)
        finally:
            if before is None:
                del os.environ["PROTEUS_PROFILE"]
            else:
                os.environ["PROTEUS_PROFILE"] = before
        target = (self.last_stats or {}).get("packed", 0)
        best = None
        try:
            capture_stderr(lambda: plan.forward(self.args))
            for _ in range(max(calls, 1)):
                st = proteus_rt.prt_layer_stats()
                self.args.stats = proteus_rt.ctypes.addressof(st)
                try:
                    text = capture_stderr(lambda: plan.forward(self.args))
                finally:
                    self.args.stats = None
                packed = proteus_rt.stats_dict(st)["packed"]
                if best is None or abs(packed - target) < abs(best[1] - target):
                    best = (text, packed)
        finally:
            plan.close()
        return parse_runtime_profile(best[0]), best[1]

    def close(self):
        if self.plan is not None:
            self.plan.close()
            self.plan = None
        if self.bundle is not None:
            self.bundle.close()
            self.bundle = None


def capture_stderr(fn):
    """What `fn` writes to file descriptor 2 (C stdio included), which is restored after."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode("utf-8", "replace")


_PROFILE_LINE = re.compile(r"^\s+(\S+)\s+([0-9.]+) ms$")


def parse_runtime_profile(text):
    """[(kernel name, total µs, launches)] in first-launch order from the runtime's
    PROTEUS_PROFILE block (a "proteus_rt profile: B .. T .." line, then "  <kernel> <ms> ms" per
    launch and a "(sum of kernels)" line); the last block in `text` counts. Raises ValueError
    when there is none."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("proteus_rt profile:")]
    if not starts:
        raise ValueError("no 'proteus_rt profile:' block (is the plan on the GPU?)")
    launches = []
    for line in lines[starts[-1] + 1:]:
        m = _PROFILE_LINE.match(line)
        if not m:
            break
        launches.append((m.group(1), float(m.group(2)) * 1e3))
    if not launches:
        raise ValueError("an empty 'proteus_rt profile:' block")
    return per_kernel(launches)


def per_kernel(launches):
    """[(kernel name, total µs, launches)] in first-launch order of [(name, µs)] in launch order."""
    order, total, count = [], {}, {}
    for name, us in launches:
        if name not in total:
            order.append(name)
            total[name], count[name] = 0.0, 0
        total[name] += us
        count[name] += 1
    return [(name, total[name], count[name]) for name in order]


class DenseLayer:
    """The dense baseline: x @ Wqkv^T, SDPA causal on one backend ("cudnn", "flash"),
    @ Wproj^T; bf16, no RoPE (a lower bound on a dense layer's time)."""

    def __init__(self, torch, heads, T, B, backend, device="cuda"):
        from torch.nn.attention import SDPBackend
        self.torch, self.T, self.B, self.H = torch, T, B, heads
        self.C = configs.D_MODEL
        self.D = self.C // heads
        self.backend_name = backend
        self.backend = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION}[backend]
        w = init_weights(torch, self.C, 1, torch.bfloat16, device, seed=1)
        self.w_qkv, self.w_proj = w["w_qkv"], w["w_proj"]
        self.x = make_input(torch, B, T, self.C, torch.bfloat16, device)

    def __call__(self):
        import torch.nn.functional as F
        from torch.nn.attention import sdpa_kernel
        B, T, H, D = self.B, self.T, self.H, self.D
        with self.torch.inference_mode(), sdpa_kernel(self.backend):
            qkv = F.linear(self.x, self.w_qkv).view(B, T, 3, H, D).permute(2, 0, 3, 1, 4)  # (3,B,H,T,D)
            o = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)  # (B,H,T,D)
            return F.linear(o.transpose(1, 2).reshape(B, T, self.C), self.w_proj)  # (B,T,C)

    def describe(self):
        return {"dtype": "bf16", "mode": f"dense ({self.backend_name})"}

    def close(self):
        pass


class ReferenceLayer:
    """The original implementation, configured as its tinytoy benchmark does for T (its own
    _prepare_aspa_config and alpha rule), with `heads` heads, bf16, eval, inference mode.
    `reference` is (the tinytoy module, AdaptiveSparseAttention)."""

    def __init__(self, torch, reference, heads, T, B, device="cuda", autotune=True):
        tinytoy, AdaptiveSparseAttention = reference
        self.torch, self.T, self.B, self.autotune = torch, T, B, autotune
        prev = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16)
        try:
            conf = tinytoy._prepare_aspa_config(T, configs.SEQ_HIGH, d_model=configs.D_MODEL,
                                                quantize=False, memory_guard=False,
                                                allow_sdpa_fastpath=False)
            conf.attn_track_latency = False
            conf.attn_h_total = heads
            self.model = AdaptiveSparseAttention(conf).to(device).eval()
            self.alpha = tinytoy._shortlist_alpha_from_seq(T, seq_low=256, switch_ctx=8192)
            self.model.set_shortlist_alpha(self.alpha)
        finally:
            torch.set_default_dtype(prev)
        self.x = make_input(torch, B, T, configs.D_MODEL, torch.bfloat16, device)

    def __call__(self):
        # Its block-size autotune (kernels/sparse_attn.py) reads PROTEUS_TUNE_DISABLE at each call.
        before = os.environ.get("PROTEUS_TUNE_DISABLE")
        if not self.autotune:
            os.environ["PROTEUS_TUNE_DISABLE"] = "1"
        try:
            with self.torch.inference_mode():
                return self.model(self.x)
        finally:
            if before is None:
                os.environ.pop("PROTEUS_TUNE_DISABLE", None)
            else:
                os.environ["PROTEUS_TUNE_DISABLE"] = before

    def describe(self):
        state = getattr(self.model, "_last_sparse_state", None)
        mode = state.get("mode") if isinstance(state, dict) else None
        return {"dtype": "bf16", "alpha": self.alpha, "mode": str(mode) if mode else "",
                "autotune": "on" if self.autotune else "off"}

    def close(self):
        self.model = None
