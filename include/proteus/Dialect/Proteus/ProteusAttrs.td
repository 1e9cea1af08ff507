//===- ProteusAttrs.td - Proteus attributes ----------------*- tablegen -*-===//
//
// #proteus.config (every knob of a layer), #proteus.budget (what
// -proteus-specialize derives for one alpha/density setting) and #proteus.tile
// (kernel block sizes).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_ATTRS_TD
#define PROTEUS_ATTRS_TD

include "proteus/Dialect/Proteus/ProteusBase.td"

/// A binary64 parameter printed in shortest round-trip form.
class Proteus_F64Param<string default>
    : AttrOrTypeParameter<"::mlir::proteus::F64", "a binary64 value"> {
  let parser = "::mlir::proteus::parseF64($_parser)";
  let printer = "::mlir::proteus::printF64($_printer, $_self)";
  let defaultValue = default;
}

class Proteus_I64Param<string default>
    : AttrOrTypeParameter<"int64_t", "a 64-bit integer"> {
  let defaultValue = default;
}

class Proteus_BoolParam<string default>
    : AttrOrTypeParameter<"bool", "a boolean"> {
  let parser = "::mlir::proteus::parseBool($_parser)";
  let printer = "$_printer << ($_self ? \"true\" : \"false\")";
  let defaultValue = default;
}

/// A bracketed list of integers, `[0, 1, 2]`, omitted when empty.
def Proteus_I64ListParam : OptionalArrayRefParameter<"int64_t"> {
  let parser = "::mlir::proteus::parseI64List($_parser)";
  let printer = "$_printer << '[' << $_self << ']'";
}

class Proteus_EnumParam<EnumAttrInfo info, string default>
    : EnumParameter<info> {
  let defaultValue = default;
}

def Proteus_Int8ModeAttr : EnumAttr<Proteus_Dialect, Proteus_Int8Mode, "int8_mode"> {
  let assemblyFormat = "`<` $value `>`";
}

def Proteus_TopAModeAttr : EnumAttr<Proteus_Dialect, Proteus_TopAMode, "top_a_mode"> {
  let assemblyFormat = "`<` $value `>`";
}

def Proteus_ConfigAttr : Proteus_Attr<"Config", "config"> {
  let summary = "every knob of one Proteus layer (SPEC.md section 1)";
  let description = [{
    The resolved configuration of a layer, with the reference's defaults for
    every field that is omitted. Names follow the reference's attributes
    (golden/README.md); see runtime/include/proteus_rt/schedule.h for each field.

    ```mlir
    #proteus.config<d_model = 512, h_total = 32, gates = 64, token_sparse = true>
    ```
  }];
  let parameters = (ins
    Proteus_I64Param<"512">:$d_model,
    Proteus_I64Param<"8">:$h_total,
    Proteus_I64Param<"16">:$gates,
    Proteus_I64Param<"2">:$h_active_min,
    Proteus_I64Param<"8">:$h_active_max,
    Proteus_F64Param<"0.25">:$h_active_curve,
    Proteus_I64Param<"64">:$seq_low,
    Proteus_I64Param<"256">:$seq_high,
    Proteus_I64Param<"32">:$small_seq_dense,
    Proteus_F64Param<"0.0">:$dense_alpha_cutoff,
    Proteus_F64Param<"-1.0">:$dense_threshold,
    Proteus_BoolParam<"false">:$force_dense_when_full,
    Proteus_F64Param<"0.9">:$router_top_p,
    Proteus_I64Param<"2">:$linear_head_k,
    Proteus_I64Param<"20000">:$linear_switch_ctx,
    Proteus_I64Param<"512">:$window_base,
    Proteus_I64Param<"256">:$anchor_stride,
    Proteus_BoolParam<"true">:$use_local,
    Proteus_BoolParam<"true">:$use_anchors,
    Proteus_BoolParam<"false">:$use_proto,
    Proteus_F64Param<"2.0 / 3.0">:$piece_local_frac,
    Proteus_F64Param<"1.0 / 3.0">:$piece_anchor_frac,
    Proteus_F64Param<"0.0">:$piece_proto_frac,
    Proteus_I64Param<"512">:$L_base,
    Proteus_I64Param<"64">:$L_min,
    Proteus_I64Param<"512">:$L_max,
    Proteus_EnumParam<Proteus_LSchedule, "LSchedule::Fixed">:$L_schedule,
    Proteus_F64Param<"1.0">:$L_scale,
    Proteus_F64Param<"0.0">:$mem_budget_mb,
    Proteus_BoolParam<"false">:$token_sparse,
    Proteus_F64Param<"1.0">:$keep_ratio_base,
    Proteus_EnumParam<Proteus_KeepSchedule, "KeepSchedule::Sqrt">:$keep_schedule,
    Proteus_F64Param<"0.2">:$keep_ratio_min,
    Proteus_I64Param<"2048">:$keep_ratio_ref,
    Proteus_I64Param<"1">:$keep_guard,
    Proteus_I64Param<"0">:$keep_min,
    Proteus_F64Param<"0.0">:$keep_threshold,
    Proteus_BoolParam<"false">:$proto_enabled,
    Proteus_F64Param<"0.97">:$proto_decay,
    Proteus_F64Param<"0.25">:$proto_threshold,
    Proteus_F64Param<"0.6">:$proto_blend,
    Proteus_F64Param<"0.2">:$proto_temp,
    Proteus_F64Param<"0.0">:$proto_usage_boost,
    Proteus_BoolParam<"true">:$use_rope,
    Proteus_F64Param<"10000.0">:$rope_base,
    Proteus_BoolParam<"false">:$bias,
    Proteus_EnumParam<Proteus_ModeSetting, "ModeSetting::Auto">:$mode_setting,
    Proteus_BoolParam<"false">:$quantize_int8,
    Proteus_EnumParam<Proteus_Int8Mode, "Int8Mode::Max">:$int8_mode,
    Proteus_F64Param<"1.0">:$int8_percentile
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Head dimension D = d_model / h_total.
    int64_t getHeadDim() const { return getDModel() / getHTotal(); }
  }];
}

def Proteus_BudgetAttr : Proteus_Attr<"Budget", "budget"> {
  let summary = "the integers -proteus-specialize derives for one setting";
  let description = [{
    The (alpha, density) setting a program is specialized for, the attention
    mode that setting implies (`auto`: decided per call from the routed
    density), and every budget that does not depend on the sequence length or
    that a static sequence length fixes. A budget of -1 is dynamic: the kernels
    read it from the budget vector the runtime computes per call (contract.h).
    `topk` lists topk(alpha) for k_adapt = 0..H.

    ```mlir
    #proteus.budget<alpha = 1.0, density = 0.45, mode = shortlist,
                    effective_l = 2048, window = 512, local_cap = 512,
                    anchor_cap = 683, proto_cap = 0, topk = [0, 1, 2, 2, 2]>
    ```
  }];
  let parameters = (ins
    Proteus_F64Param<"1.0">:$alpha,
    Proteus_F64Param<"1.0">:$density,
    Proteus_EnumParam<Proteus_LayerMode, "LayerMode::Auto">:$mode,
    Proteus_I64Param<"-1">:$seq_len,
    Proteus_I64Param<"-1">:$k_dense,
    Proteus_I64Param<"-1">:$token_keep,
    Proteus_I64Param<"-1">:$effective_l,
    Proteus_I64Param<"-1">:$window,
    Proteus_I64Param<"-1">:$local_cap,
    Proteus_I64Param<"-1">:$anchor_cap,
    Proteus_I64Param<"-1">:$proto_cap,
    Proteus_I64ListParam:$topk
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Proteus_TileAttr : Proteus_Attr<"Tile", "tile"> {
  let summary = "kernel configuration: block sizes, warps, stages, lanes, loads";
  let description = [{
    How an attention op's GPU kernel is laid out, chosen by the autotuner's
    database (`proteus-compile --tuning-db`) or, without one, the kernel's
    default (codegen/ProteusToGPU/AttentionTiles.cpp, which also holds each
    kernel's search space and the constraints a tile must meet; the launch
    geometry of contract.h is fixed, so `block_m` and `warps` must match it).

    - `block_m`: queries per thread block;
    - `block_n`: keys per step (dense on tensor cores: keys staged in shared
      memory per stage; warp-per-query kernels: candidates a warp scores per
      step, 32 / lanes * unroll);
    - `warps`: warps per block;
    - `stages`: shared-memory buffers of the tensor-core kernel (2: the next
      key tile is loaded while the current one is computed);
    - `lanes`: lanes sharing one candidate in a warp-per-query kernel;
    - `unroll`: candidates each lane group scores per loop step;
    - `vector`: elements per global load, each lane owning contiguous
      elements (1: scalar loads, lanes interleaved);
    - `pad`: elements of padding per shared-memory row.

    ```mlir
    #proteus.tile<block_m = 64, block_n = 32, warps = 4, stages = 2, vector = 8,
                  pad = 8>
    ```
  }];
  let parameters = (ins
    Proteus_I64Param<"64">:$block_m,
    Proteus_I64Param<"64">:$block_n,
    Proteus_I64Param<"4">:$warps,
    Proteus_I64Param<"1">:$stages,
    Proteus_I64Param<"1">:$lanes,
    Proteus_I64Param<"1">:$unroll,
    Proteus_I64Param<"1">:$vector,
    Proteus_I64Param<"0">:$pad
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // PROTEUS_ATTRS_TD
