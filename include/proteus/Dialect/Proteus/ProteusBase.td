//===- ProteusBase.td - Proteus dialect definition ---------*- tablegen -*-===//
//
// The dialect, the base op class and the enums of the proteus dialect.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_BASE_TD
#define PROTEUS_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Proteus_Dialect : Dialect {
  let name = "proteus";
  let cppNamespace = "::mlir::proteus";
  let summary = "Proteus sparse attention: routing, gating, selection, shortlist attention";
  let description = [{
    The proteus dialect expresses one Proteus (Dynamic Mixture-of-Attention-Heads)
    attention layer: prototype-guided per-token head routing, top-p gating of heads
    and tokens, and linear-time shortlist attention, with one alpha slider between
    dense and shortlist attention. `proteus.layer` is the composite; the other ops
    are the primitives it decomposes into. Every op works on memrefs in
    destination-passing style (see docs/DESIGN-NOTES.md).
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect"];
}

class Proteus_Op<string mnemonic, list<Trait> traits = []>
    : Op<Proteus_Dialect, mnemonic, traits>;

class Proteus_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Proteus_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Proteus_LSchedule : I32EnumAttr<"LSchedule", "candidate budget schedule", [
    I32EnumAttrCase<"Fixed", 0, "fixed">, I32EnumAttrCase<"Sqrt", 1, "sqrt">,
    I32EnumAttrCase<"Log", 2, "log">, I32EnumAttrCase<"MemCap", 3, "mem_cap">]> {
  let cppNamespace = "::mlir::proteus";
}

def Proteus_KeepSchedule : I32EnumAttr<"KeepSchedule", "token keep-ratio schedule", [
    I32EnumAttrCase<"Fixed", 0, "fixed">, I32EnumAttrCase<"Sqrt", 1, "sqrt">, I32EnumAttrCase<"Log", 2, "log">]> {
  let cppNamespace = "::mlir::proteus";
}

def Proteus_ModeSetting : I32EnumAttr<"ModeSetting", "configured attention mode", [
    I32EnumAttrCase<"Auto", 0, "auto">, I32EnumAttrCase<"Linear", 1, "linear">, I32EnumAttrCase<"Subquad", 2, "subquad">]> {
  let cppNamespace = "::mlir::proteus";
}

def Proteus_Int8Mode : I32EnumAttr<"Int8Mode", "INT8 per-row scale rule", [
    I32EnumAttrCase<"Max", 0, "max">, I32EnumAttrCase<"Percentile", 1, "percentile">]> {
  let cppNamespace = "::mlir::proteus";
  let genSpecializedAttr = 0;
}

def Proteus_TopAMode : I32EnumAttr<"TopAMode", "Top-A sampler mode", [
    I32EnumAttrCase<"Off", 0, "off">, I32EnumAttrCase<"Blend", 1, "blend">,
    I32EnumAttrCase<"Filter", 2, "filter">]> {
  let cppNamespace = "::mlir::proteus";
  let genSpecializedAttr = 0;
}

def Proteus_LayerMode : I32EnumAttr<"LayerMode", "attention mode chosen by specialization", [
    I32EnumAttrCase<"Auto", 0, "auto">, I32EnumAttrCase<"Dense", 1, "dense">,
    I32EnumAttrCase<"Shortlist", 2, "shortlist">, I32EnumAttrCase<"Fastpath", 3, "fastpath">]> {
  let cppNamespace = "::mlir::proteus";
}

#endif // PROTEUS_BASE_TD
