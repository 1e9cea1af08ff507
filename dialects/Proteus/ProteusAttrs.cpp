//===- ProteusAttrs.cpp - Proteus attributes ------------------------------===//
//
// Parsing helpers and verifiers of #proteus.config, #proteus.budget and
// #proteus.tile.
//
//===----------------------------------------------------------------------===//

#include "proteus/Dialect/Proteus/ProteusAttrs.h"
#include "proteus/Dialect/Proteus/ProteusDialect.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/ADT/bit.h"

#include <charconv>

using namespace mlir;
using namespace mlir::proteus;

#include "proteus/Dialect/Proteus/ProteusEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "proteus/Dialect/Proteus/ProteusAttrs.cpp.inc"

void ProteusDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "proteus/Dialect/Proteus/ProteusAttrs.cpp.inc"
      >();
}

FailureOr<F64> mlir::proteus::parseF64(AsmParser &parser) {
  double value = 0.0;
  if (parser.parseFloat(value))
    return failure();
  return F64(value);
}

void mlir::proteus::printF64(AsmPrinter &printer, double value) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), value);
  std::string text(buf, res.ptr);
  // Keep a decimal point so the value reads as a float.
  if (text.find_first_of(".eEni") == std::string::npos)
    text += ".0";
  printer << text;
}

FailureOr<SmallVector<int64_t>> mlir::proteus::parseI64List(AsmParser &parser) {
  SmallVector<int64_t> values;
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&] {
        return parser.parseInteger(values.emplace_back());
      }))
    return failure();
  return values;
}

FailureOr<bool> mlir::proteus::parseBool(AsmParser &parser) {
  if (succeeded(parser.parseOptionalKeyword("true")))
    return true;
  if (succeeded(parser.parseOptionalKeyword("false")))
    return false;
  return parser.emitError(parser.getCurrentLocation(),
                          "expected 'true' or 'false'");
}

//===----------------------------------------------------------------------===//
// Verifiers
//===----------------------------------------------------------------------===//

namespace {
/// Emits "<name> must be in <range>, got <value>" when `ok` is false.
LogicalResult checkRange(function_ref<InFlightDiagnostic()> emitError, bool ok,
                         StringRef name, StringRef range, double value) {
  if (ok)
    return success();
  return emitError() << name << " must be in " << range << ", got " << value;
}
} // namespace

LogicalResult ConfigAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, int64_t dModel,
    int64_t hTotal, int64_t gates, int64_t hActiveMin, int64_t hActiveMax,
    F64 hActiveCurve, int64_t seqLow, int64_t seqHigh, int64_t smallSeqDense,
    F64 denseAlphaCutoff, F64 denseThreshold, bool forceDenseWhenFull,
    F64 routerTopP, int64_t linearHeadK, int64_t linearSwitchCtx,
    int64_t windowBase, int64_t anchorStride, bool useLocal, bool useAnchors,
    bool useProto, F64 pieceLocalFrac, F64 pieceAnchorFrac, F64 pieceProtoFrac,
    int64_t lBase, int64_t lMin, int64_t lMax, LSchedule lSchedule, F64 lScale,
    F64 memBudgetMb, bool tokenSparse, F64 keepRatioBase,
    KeepSchedule keepSchedule, F64 keepRatioMin, int64_t keepRatioRef,
    int64_t keepGuard, int64_t keepMin, F64 keepThreshold, bool protoEnabled,
    F64 protoDecay, F64 protoThreshold, F64 protoBlend, F64 protoTemp,
    F64 protoUsageBoost, bool useRope, F64 ropeBase, bool bias,
    ModeSetting modeSetting, bool quantizeInt8, Int8Mode int8Mode,
    F64 int8Percentile) {
  if (dModel <= 0)
    return emitError() << "d_model must be positive, got " << dModel;
  if (hTotal <= 0)
    return emitError() << "h_total must be positive, got " << hTotal;
  if (dModel % hTotal != 0)
    return emitError() << "d_model (" << dModel
                       << ") must be divisible by h_total (" << hTotal << ")";
  if (gates < hTotal)
    return emitError() << "gates (" << gates << ") must be >= h_total ("
                       << hTotal << ")";
  // Like the reference, h_active_max is clamped to h_total (schedule config).
  if (hActiveMax < 1)
    return emitError() << "h_active_max must be >= 1, got " << hActiveMax;
  if (hActiveMin < 1 || hActiveMin > hActiveMax)
    return emitError() << "h_active_min must be in [1, h_active_max = "
                       << hActiveMax << "], got " << hActiveMin;
  if (seqLow < 1 || seqHigh < seqLow)
    return emitError() << "need 1 <= seq_low <= seq_high, got seq_low = "
                       << seqLow << ", seq_high = " << seqHigh;
  if (smallSeqDense < 0)
    return emitError() << "small_seq_dense must be >= 0, got " << smallSeqDense;
  if (failed(checkRange(emitError,
                        denseAlphaCutoff >= 0.0 && denseAlphaCutoff <= 0.95,
                        "dense_alpha_cutoff", "[0, 0.95]", denseAlphaCutoff)) ||
      failed(checkRange(emitError,
                        denseThreshold == -1.0 ||
                            (denseThreshold > 0.0 && denseThreshold <= 1.0),
                        "dense_threshold", "(0, 1] (or -1 for unset)",
                        denseThreshold)) ||
      failed(checkRange(emitError, routerTopP >= 0.0 && routerTopP <= 1.0,
                        "router_top_p", "[0, 1]", routerTopP)))
    return failure();
  if (linearHeadK < 1)
    return emitError() << "linear_head_k must be >= 1, got " << linearHeadK;
  if (linearSwitchCtx < 0)
    return emitError() << "linear_switch_ctx must be >= 0, got "
                       << linearSwitchCtx;
  if (windowBase < 1)
    return emitError() << "window_base must be positive, got " << windowBase;
  if (anchorStride < 0)
    return emitError() << "anchor_stride must be >= 0, got " << anchorStride;
  if (!useLocal && !useAnchors && !useProto)
    return emitError()
           << "at least one candidate piece (local, anchors, proto) must be on";
  for (auto [name, frac] :
       {std::pair<StringRef, double>{"piece_local_frac", pieceLocalFrac},
        {"piece_anchor_frac", pieceAnchorFrac},
        {"piece_proto_frac", pieceProtoFrac}})
    if (failed(checkRange(emitError, frac >= 0.0 && frac <= 1.0, name, "[0, 1]",
                          frac)))
      return failure();
  if (lBase < 1 || lMin < 1 || lMax < lMin)
    return emitError()
           << "need L_base >= 1 and 1 <= L_min <= L_max, got L_base = " << lBase
           << ", L_min = " << lMin << ", L_max = " << lMax;
  if (failed(
          checkRange(emitError, lScale > 0.0, "L_scale", "(0, inf)", lScale)) ||
      failed(checkRange(emitError, keepRatioBase > 0.0 && keepRatioBase <= 1.0,
                        "keep_ratio_base (density)", "(0, 1]",
                        keepRatioBase)) ||
      failed(checkRange(emitError, keepRatioMin >= 0.0 && keepRatioMin <= 1.0,
                        "keep_ratio_min", "[0, 1]", keepRatioMin)) ||
      failed(checkRange(emitError, keepThreshold >= 0.0, "keep_threshold",
                        "[0, inf)", keepThreshold)))
    return failure();
  if (keepRatioRef < 1)
    return emitError() << "keep_ratio_ref must be positive, got "
                       << keepRatioRef;
  if (keepGuard < 0 || keepMin < 0)
    return emitError() << "keep_guard and keep_min must be >= 0, got "
                       << keepGuard << " and " << keepMin;
  if (failed(checkRange(emitError, protoDecay >= 0.0 && protoDecay <= 1.0,
                        "proto_decay", "[0, 1]", protoDecay)) ||
      failed(checkRange(emitError, protoTemp > 0.0, "proto_temp", "(0, inf)",
                        protoTemp)) ||
      failed(checkRange(emitError,
                        int8Percentile > 0.0 && int8Percentile <= 1.0,
                        "int8_percentile", "(0, 1]", int8Percentile)))
    return failure();
  if (useProto && !protoEnabled)
    return emitError()
           << "the proto candidate piece needs proto_enabled = true";
  if (useRope && (dModel / hTotal) % 2 != 0)
    return emitError() << "use_rope needs an even head dim, got "
                       << dModel / hTotal;
  return success();
}

LogicalResult BudgetAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 F64 alpha, F64 density, LayerMode mode,
                                 int64_t seqLen, int64_t kDense,
                                 int64_t tokenKeep, int64_t effectiveL,
                                 int64_t window, int64_t localCap,
                                 int64_t anchorCap, int64_t protoCap,
                                 ArrayRef<int64_t> topk) {
  if (failed(checkRange(emitError, alpha >= 0.0 && alpha <= 1.0, "alpha",
                        "[0, 1]", alpha)) ||
      failed(checkRange(emitError, density > 0.0 && density <= 1.0, "density",
                        "(0, 1]", density)))
    return failure();
  for (auto [name, v] : {std::pair<StringRef, int64_t>{"seq_len", seqLen},
                         {"k_dense", kDense},
                         {"effective_l", effectiveL},
                         {"window", window}})
    if (v != -1 && v < 1)
      return emitError() << name
                         << " must be positive (or -1 for dynamic), got " << v;
  for (auto [name, v] : {std::pair<StringRef, int64_t>{"token_keep", tokenKeep},
                         {"local_cap", localCap},
                         {"anchor_cap", anchorCap},
                         {"proto_cap", protoCap}})
    if (v < -1)
      return emitError() << name << " must be >= 0 (or -1 for dynamic), got "
                         << v;
  if (effectiveL > 0 && window > effectiveL)
    return emitError() << "window (" << window
                       << ") must not exceed effective_l (" << effectiveL
                       << ")";
  for (int64_t k : topk)
    if (k < 0)
      return emitError() << "topk entries must be >= 0, got " << k;
  return success();
}

LogicalResult TileAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t blockM, int64_t blockN, int64_t warps,
                               int64_t stages, int64_t lanes, int64_t unroll,
                               int64_t vector, int64_t pad) {
  auto powerOfTwo = [](int64_t v) {
    return v >= 1 && llvm::has_single_bit(static_cast<uint64_t>(v));
  };
  for (auto [name, v] :
       {std::pair<StringRef, int64_t>{"block_m", blockM}, {"block_n", blockN}})
    if (!powerOfTwo(v))
      return emitError() << name << " must be a positive power of two, got "
                         << v;
  if (!powerOfTwo(warps) || warps > 16)
    return emitError() << "warps must be 1, 2, 4, 8 or 16, got " << warps;
  if (stages < 1)
    return emitError() << "stages must be positive, got " << stages;
  if (!powerOfTwo(lanes) || lanes > 32)
    return emitError() << "lanes must be 1, 2, 4, 8, 16 or 32, got " << lanes;
  if (unroll < 1 || unroll > 8)
    return emitError() << "unroll must be in [1, 8], got " << unroll;
  if (!powerOfTwo(vector) || vector > 8)
    return emitError() << "vector must be 1, 2, 4 or 8 elements, got "
                       << vector;
  if (pad < 0 || pad > 64)
    return emitError() << "pad must be in [0, 64], got " << pad;
  return success();
}
