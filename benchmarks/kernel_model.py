"""What each kernel of one GPU layer call must move and compute, from the shapes and the call's
statistics (the kernels and their buffers: runtime/include/proteus_rt/contract.h, "the layer on
the GPU"). The harness stores these next to the measured kernel times; the report divides.

Symbols of the formulas (per launch; route_logits runs twice with prototypes): B batch, T tokens,
C d_model, H heads, D head dim, G gates, R = B*H rows, N packed (row, token) queries, A active
rows, P = 1 with prototypes (else 0), e bytes per activation element, cbar mean candidates per
packed query (mean_candidates below).
Bytes: each tensor read or written once (the unique-byte floor); FLOPs: 2 per multiply-add.
The precision names the measured ceiling the FLOPs are held against: "f64" (the routing and
prototype reductions run in binary64), the activation dtype for projections and attention.
"""
import re

# kernel base name -> (bytes formula, FLOPs formula, precision: "f64", "act" or "-"), per launch
KERNELS = {
    "proteus_route_prep": ("4*(2*G*C + 4*G)", "3*G*C", "f64"),
    "proteus_route_scale": ("2*e*B*T*C", "3*B*T*C", "f64"),
    "proteus_route_logits": ("e*B*T*C + 4*G*C + 4*B*T*G", "2*B*T*G*C", "f64"),
    "proteus_route": ("4*B*T*G*(2+P) + 4*B*T*(H+2)", "0", "-"),
    "proteus_select_tokens": ("4*4*B*T + B*T", "0", "-"),
    "proteus_head_mass": ("4*B*T*H + 8*H", "B*T*H", "f64"),
    "proteus_gate": ("8*H", "0", "-"),
    "proteus_top_k": ("4*B*T*H + B*T + R*T", "0", "-"),
    "proteus_pack_count": ("R*T + 8*R", "0", "-"),
    "proteus_pack_scan": ("8*(2*R+1)", "0", "-"),
    "proteus_pack_write": ("R*T + 8*(R+1) + 16*N", "0", "-"),
    "proteus_project": ("e*B*T*C + e*3*C*C + e*3*B*T*C", "2*B*T*C*3*C", "act"),
    # Q of the packed pairs (shortlist mode): each pair's x row and q row; the
    # weights' Q rows once (they stay in cache); fp32 tiles (at D <= 32 tall
    # ones, 4096/D pairs by the D columns, so no zero columns are computed).
    "proteus_project_q": ("e*N*C + e*C*C + e*N*D", "2*N*D*C", "act"),
    "proteus_fill_zero": ("e*R*T*D", "0", "-"),
    "proteus_int8_scales_f32": ("3*e*R*T*D", "0", "-"),
    "proteus_layer_shortlist_attention": ("e*D*(2*N + 2*A*T)", "4*D*N*cbar", "act"),
    "proteus_layer_dense_attention": ("4*e*R*T*D", "2*R*T*T*D", "act"),
    "proteus_dense_attention": ("4*e*R*T*D", "2*R*T*T*D", "act"),
    "proteus_combine": ("e*B*T*C + e*C*C + B*T + e*B*T*C", "2*B*T*C*C", "act"),
    "proteus_proto_mass": ("4*B*T*G + 8*G", "B*T*G", "f64"),
    # The EMA: split-T partial sums (S chunks, proto_chunks), then their sum.
    "proteus_proto_partial": ("e*B*T*C + 4*B*T*G + 8*S*G*C", "2*B*T*G*C", "f64"),
    "proteus_proto_update": ("8*S*G*C + 4*(2*G*C + 4*G)", "S*G*C", "f64"),
}

# Attention kernels of the layer that return at once unless the call is in their mode.
_MODE_KERNELS = {"proteus_layer_shortlist_attention": "shortlist",
                 "proteus_project_q": "shortlist",
                 "proteus_layer_dense_attention": "dense"}

# Per-mode formulas where a kernel does less in shortlist mode: the projection
# leaves Q to proteus_project_q (configurations without INT8, as the
# benchmark's).
_SHORTLIST_FORMULAS = {
    "proteus_project": ("e*B*T*C + e*2*C*C + e*2*B*T*C", "2*B*T*C*2*C"),
}


def base_name(kernel):
    """proteus_project -> proteus_project; proteus_fill_zero_f32 -> proteus_fill_zero."""
    return re.sub(r"_(f32|bf16|f16)$", "", kernel)


def mean_candidates(T, window, local_cap, anchor_cap, stride, L, samples=4096):
    """Mean number of candidates of a query at a position drawn uniformly from [0, T): the size of
    the de-duplicated union of its local window and its anchors (REFERENCE.md 5.1), at most L.

    Closed form per position t: the window holds n = min(t+1, w) tokens; anchor j (1 <= j <= m)
    is t - j*stride, clamped to 0; it adds a token when it lies left of the window and is >= 0,
    and the clamped ones add token 0 once unless the window or an exact anchor already has it.
    """
    w = min(window, L, local_cap)
    m = min(anchor_cap, L, max(1, T))
    total = 0.0
    count = min(samples, T)
    for i in range(count):
        t = (i * T) // count
        n = min(t + 1, w)
        left = 0
        if stride > 0 and m > 0:
            first = -(-n // stride)  # smallest j with j*stride >= n
            last = min(m, t // stride)
            left = max(0, last - first + 1)
            collapsed = m > t // stride
            zero_present = t - n + 1 <= 0 or (t % stride == 0 and first <= t // stride <= m)
            if collapsed and not zero_present:
                left += 1
        total += min(n + left, L)
    return total / count


def proto_chunks(tokens):
    """The EMA's chunk count for B*T = tokens: contract.h's gpuProtoChunk (the longest power of
    two from 256 to 4096 tokens that still makes 64 chunks)."""
    chunk = 4096
    while chunk > 256 and tokens // chunk < 64:
        chunk //= 2
    return -(-tokens // chunk)


def kernel_figures(kernel, shape, mode, launches=1):
    """(bytes, flops, precision, bytes formula, flops formula, note) of `launches` launches of one
    kernel of the layer (the formulas are per launch), or None for a kernel the model does not
    know (a memcpy, a memset, another library's kernel). `mode` is "shortlist" or "dense"."""
    base = base_name(kernel)
    if base not in KERNELS:
        return None
    bytes_f, flops_f, precision = KERNELS[base]
    if mode == "shortlist" and base in _SHORTLIST_FORMULAS:
        bytes_f, flops_f = _SHORTLIST_FORMULAS[base]
    note = ""
    if _MODE_KERNELS.get(base, mode) != mode:
        bytes_f, flops_f, note = "0", "0", f"returns at once in {mode} mode"
    values = dict(shape)
    values["S"] = proto_chunks(shape["B"] * shape["T"])
    if precision == "act":
        precision = shape["dtype"]
    if launches != 1:
        note = (note + "; " if note else "") + f"formulas per launch, x {launches}"
    return (launches * int(eval(bytes_f, {}, values)), launches * int(eval(flops_f, {}, values)),
            precision, bytes_f, flops_f, note)


def floor_ms(nbytes, flops, precision, ceilings):
    """max(bytes / copy bandwidth, FLOPs / the precision's GEMM ceiling), in ms; ceilings in
    TB/s and TFLOP/s ({"copy_tbs": .., "f32_tflops": ..}). Unknown ceilings count as infinite."""
    t_bytes = nbytes / (ceilings["copy_tbs"] * 1e12) if ceilings.get("copy_tbs") else 0.0
    peak = ceilings.get(f"{precision}_tflops")
    t_flops = flops / (peak * 1e12) if flops and peak else 0.0
    return 1e3 * max(t_bytes, t_flops)
