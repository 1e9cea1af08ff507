//===- ProteusOps.cpp - Proteus operations --------------------------------===//
//
// Verifiers of the proteus ops: ranks, shapes that must agree, element types
// and attribute ranges, each with a precise message.
//
//===----------------------------------------------------------------------===//

#include "proteus/Dialect/Proteus/ProteusOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;
using namespace mlir::proteus;

namespace {
/// Shape checks shared by the verifiers. Each check emits one message naming
/// the operands involved; dynamic dimensions are never compared.
class ShapeCheck {
public:
  explicit ShapeCheck(Operation *op) : op(op) {}

  LogicalResult rank(Value v, StringRef name, int64_t expected) {
    int64_t r = cast<MemRefType>(v.getType()).getRank();
    if (r == expected)
      return success();
    return op->emitOpError() << "operand '" << name << "' must have rank "
                             << expected << ", got " << r;
  }

  /// dim(a, ad) == dim(b, bd) where both are static.
  LogicalResult sameDim(Value a, StringRef an, unsigned ad, Value b,
                        StringRef bn, unsigned bd) {
    int64_t sa = dim(a, ad), sb = dim(b, bd);
    if (ShapedType::isDynamic(sa) || ShapedType::isDynamic(sb) || sa == sb)
      return success();
    return op->emitOpError()
           << "'" << an << "' dim " << ad << " (" << sa << ") must equal '"
           << bn << "' dim " << bd << " (" << sb << ")";
  }

  /// dim(v, d) == expected where static; `what` names the expected quantity.
  LogicalResult dimIs(Value v, StringRef name, unsigned d, int64_t expected,
                      StringRef what) {
    int64_t s = dim(v, d);
    if (ShapedType::isDynamic(s) || ShapedType::isDynamic(expected) ||
        s == expected)
      return success();
    return op->emitOpError() << "'" << name << "' dim " << d << " must be "
                             << what << " (" << expected << "), got " << s;
  }

  LogicalResult sameElementType(Value a, StringRef an, Value b, StringRef bn) {
    if (mlir::getElementTypeOrSelf(a.getType()) ==
        mlir::getElementTypeOrSelf(b.getType()))
      return success();
    return op->emitOpError() << "'" << an << "' and '" << bn
                             << "' must have the same element type";
  }

  /// Every dimension of a and b agrees (same rank assumed checked).
  LogicalResult sameShape(Value a, StringRef an, Value b, StringRef bn) {
    auto ta = cast<MemRefType>(a.getType());
    for (unsigned d = 0, e = ta.getRank(); d < e; ++d)
      if (failed(sameDim(a, an, d, b, bn, d)))
        return failure();
    return success();
  }

private:
  static int64_t dim(Value v, unsigned d) {
    return cast<MemRefType>(v.getType()).getDimSize(d);
  }
  Operation *op;
};

/// Size of dimension d of a memref value.
int64_t dimOf(Value v, unsigned d) {
  return cast<MemRefType>(v.getType()).getDimSize(d);
}

/// The product of two static sizes, or dynamic.
int64_t mulStatic(int64_t a, int64_t b) {
  if (ShapedType::isDynamic(a) || ShapedType::isDynamic(b))
    return ShapedType::kDynamic;
  return a * b;
}

/// Operands of an optional group must come together (the generic form can
/// supply part of one).
LogicalResult checkTogether(Operation *op, ArrayRef<Value> group,
                            StringRef names) {
  bool any = llvm::any_of(group, [](Value v) { return static_cast<bool>(v); });
  bool all = llvm::all_of(group, [](Value v) { return static_cast<bool>(v); });
  if (any && !all)
    return op->emitOpError()
           << "operands " << names << " must be given together";
  return success();
}

/// (B,T,C) activations x and a (B,T) per-token buffer.
LogicalResult checkPerToken(ShapeCheck &c, Value x, StringRef xn, Value v,
                            StringRef vn) {
  if (failed(c.rank(v, vn, 2)) || failed(c.sameDim(v, vn, 0, x, xn, 0)) ||
      failed(c.sameDim(v, vn, 1, x, xn, 1)))
    return failure();
  return success();
}

/// Prototype state: prototypes (G,C), usage (G), confidence (G).
LogicalResult checkPrototypeState(ShapeCheck &c, Value p, Value u, Value conf,
                                  int64_t g, int64_t cDim) {
  if (failed(c.rank(p, "prototypes", 2)) ||
      failed(c.dimIs(p, "prototypes", 0, g, "gates")) ||
      failed(c.dimIs(p, "prototypes", 1, cDim, "d_model")) ||
      failed(c.rank(u, "usage", 1)) ||
      failed(c.dimIs(u, "usage", 0, g, "gates")) ||
      failed(c.rank(conf, "confidence", 1)) ||
      failed(c.dimIs(conf, "confidence", 0, g, "gates")))
    return failure();
  return success();
}

/// The optional head consensus (B or 0, Tc <= T, C) of (B,T,C) activations x.
LogicalResult checkConsensus(Operation *op, ShapeCheck &c, Value x,
                             StringRef xn, Value cons) {
  if (!cons)
    return success();
  if (failed(c.rank(cons, "consensus", 3)) ||
      failed(c.sameDim(cons, "consensus", 2, x, xn, 2)))
    return failure();
  int64_t bc = dimOf(cons, 0), tc = dimOf(cons, 1), t = dimOf(x, 1);
  if (bc != 0 && failed(c.sameDim(cons, "consensus", 0, x, xn, 0)))
    return failure();
  if (!ShapedType::isDynamic(tc) && !ShapedType::isDynamic(t) && tc > t)
    return op->emitOpError()
           << "'consensus' holds " << tc << " positions, more than the " << t
           << " of '" << xn << "'";
  return success();
}

/// Three (R,T,D) attention operands with one shape and element type.
LogicalResult checkQKV(ShapeCheck &c, Value q, Value k, Value v, Value out) {
  if (failed(c.rank(q, "q", 3)) || failed(c.rank(k, "k", 3)) ||
      failed(c.rank(v, "v", 3)) || failed(c.rank(out, "out", 3)) ||
      failed(c.sameShape(k, "k", q, "q")) ||
      failed(c.sameShape(v, "v", q, "q")) ||
      failed(c.sameShape(out, "out", q, "q")) ||
      failed(c.sameElementType(k, "k", q, "q")) ||
      failed(c.sameElementType(v, "v", q, "q")) ||
      failed(c.sameElementType(out, "out", q, "q")))
    return failure();
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// LayerOp
//===----------------------------------------------------------------------===//

LogicalResult LayerOp::verify() {
  if (failed(checkTogether(*this, {getBQkv(), getBProj()},
                           "'b_qkv' and 'b_proj'")) ||
      failed(checkTogether(*this,
                           {getPrototypes(), getUsage(), getConfidence()},
                           "'prototypes', 'usage' and 'confidence'")))
    return failure();
  ShapeCheck c(*this);
  ConfigAttr cfg = getConfig();
  int64_t cDim = cfg.getDModel(), g = cfg.getGates();
  Value x = getX();
  if (failed(c.rank(x, "x", 3)) ||
      failed(c.dimIs(x, "x", 2, cDim, "d_model")) ||
      failed(c.rank(getWQkv(), "w_qkv", 2)) ||
      failed(c.dimIs(getWQkv(), "w_qkv", 0, 3 * cDim, "3 * d_model")) ||
      failed(c.dimIs(getWQkv(), "w_qkv", 1, cDim, "d_model")) ||
      failed(c.rank(getWProj(), "w_proj", 2)) ||
      failed(c.dimIs(getWProj(), "w_proj", 0, cDim, "d_model")) ||
      failed(c.dimIs(getWProj(), "w_proj", 1, cDim, "d_model")) ||
      failed(c.rank(getWRouter(), "w_router", 2)) ||
      failed(c.dimIs(getWRouter(), "w_router", 0, g, "gates")) ||
      failed(c.dimIs(getWRouter(), "w_router", 1, cDim, "d_model")))
    return failure();
  for (auto [v, n] : {std::pair<Value, StringRef>{getWQkv(), "w_qkv"},
                      {getWProj(), "w_proj"},
                      {getWRouter(), "w_router"},
                      {getY(), "y"}})
    if (failed(c.sameElementType(v, n, x, "x")))
      return failure();

  if (static_cast<bool>(getBQkv()) != cfg.getBias())
    return emitOpError()
           << "bias operands must be given exactly when the config has bias = "
              "true";
  if (getBQkv() &&
      (failed(c.rank(getBQkv(), "b_qkv", 1)) ||
       failed(c.dimIs(getBQkv(), "b_qkv", 0, 3 * cDim, "3 * d_model")) ||
       failed(c.rank(getBProj(), "b_proj", 1)) ||
       failed(c.dimIs(getBProj(), "b_proj", 0, cDim, "d_model"))))
    return failure();
  if (static_cast<bool>(getPrototypes()) != cfg.getProtoEnabled())
    return emitOpError()
           << "prototype state must be given exactly when the config has "
              "proto_enabled = true";
  if (getPrototypes() &&
      failed(checkPrototypeState(c, getPrototypes(), getUsage(),
                                 getConfidence(), g, cDim)))
    return failure();

  if (failed(c.rank(getY(), "y", 3)) ||
      failed(c.sameShape(getY(), "y", x, "x")) ||
      failed(checkPerToken(c, x, "x", getTokenMask(), "token_mask")) ||
      failed(checkPerToken(c, x, "x", getImportance(), "importance")) ||
      failed(c.rank(getBudgetVec(), "budget_vec", 1)) ||
      failed(c.rank(getStats(), "stats", 1)) ||
      failed(checkConsensus(*this, c, x, "x", getConsensus())))
    return failure();
  int64_t statsSize = dimOf(getStats(), 0);
  if (!ShapedType::isDynamic(statsSize) && statsSize < 16)
    return emitOpError() << "'stats' needs at least 16 elements, got "
                         << statsSize;
  if (BudgetAttr budget = getBudgetAttr()) {
    size_t n = budget.getTopk().size();
    if (n != 0 && static_cast<int64_t>(n) != cfg.getHTotal() + 1)
      return emitOpError() << "budget topk must list h_total + 1 = "
                           << cfg.getHTotal() + 1 << " entries, got " << n;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Routing and gating
//===----------------------------------------------------------------------===//

LogicalResult RouteOp::verify() {
  if (failed(checkTogether(*this,
                           {getPrototypes(), getUsage(), getConfidence()},
                           "'prototypes', 'usage' and 'confidence'")))
    return failure();
  ShapeCheck c(*this);
  ConfigAttr cfg = getConfig();
  int64_t cDim = cfg.getDModel(), g = cfg.getGates(), h = cfg.getHTotal();
  Value x = getX();
  if (failed(c.rank(x, "x", 3)) ||
      failed(c.dimIs(x, "x", 2, cDim, "d_model")) ||
      failed(c.rank(getWRouter(), "w_router", 2)) ||
      failed(c.dimIs(getWRouter(), "w_router", 0, g, "gates")) ||
      failed(c.dimIs(getWRouter(), "w_router", 1, cDim, "d_model")) ||
      failed(c.sameElementType(getWRouter(), "w_router", x, "x")))
    return failure();
  if (static_cast<bool>(getPrototypes()) != cfg.getProtoEnabled())
    return emitOpError()
           << "prototype state must be given exactly when the config has "
              "proto_enabled = true";
  if (static_cast<bool>(getSimilarity()) != cfg.getProtoEnabled())
    return emitOpError()
           << "'similarity' must be given exactly when prototypes are on";
  if (getPrototypes() &&
      failed(checkPrototypeState(c, getPrototypes(), getUsage(),
                                 getConfidence(), g, cDim)))
    return failure();
  if (failed(c.rank(getGates(), "gates", 3)) ||
      failed(c.sameDim(getGates(), "gates", 0, x, "x", 0)) ||
      failed(c.sameDim(getGates(), "gates", 1, x, "x", 1)) ||
      failed(c.dimIs(getGates(), "gates", 2, g, "gates")) ||
      failed(c.rank(getHeadProbs(), "head_probs", 3)) ||
      failed(c.sameDim(getHeadProbs(), "head_probs", 0, x, "x", 0)) ||
      failed(c.sameDim(getHeadProbs(), "head_probs", 1, x, "x", 1)) ||
      failed(c.dimIs(getHeadProbs(), "head_probs", 2, h, "h_total")) ||
      failed(checkPerToken(c, x, "x", getImportance(), "importance")))
    return failure();
  if (getSimilarity() &&
      failed(checkPerToken(c, x, "x", getSimilarity(), "similarity")))
    return failure();
  return success();
}

LogicalResult TopPOp::verify() {
  ShapeCheck c(*this);
  if (failed(c.rank(getHeadProbs(), "head_probs", 3)))
    return failure();
  double p = getTopP().convertToDouble();
  if (!(p > 0.0 && p <= 1.0))
    return emitOpError() << "top_p must be in (0, 1], got " << p;
  if (getHMin() < 1)
    return emitOpError() << "h_min must be >= 1, got " << getHMin();
  int64_t h = dimOf(getHeadProbs(), 2);
  if (!ShapedType::isDynamic(h) && getHMin() > h)
    return emitOpError() << "h_min (" << getHMin()
                         << ") must not exceed the head count (" << h << ")";
  return success();
}

LogicalResult TopKOp::verify() {
  ShapeCheck c(*this);
  Value hp = getHeadProbs();
  if (failed(c.rank(hp, "head_probs", 3)) ||
      failed(c.rank(getRowMask(), "row_mask", 2)))
    return failure();
  int64_t rows = mulStatic(dimOf(hp, 0), dimOf(hp, 2));
  if (!ShapedType::isDynamic(rows) &&
      failed(c.dimIs(getRowMask(), "row_mask", 0, rows, "batch * heads")))
    return failure();
  if (failed(c.sameDim(getRowMask(), "row_mask", 1, hp, "head_probs", 1)))
    return failure();
  if (Value tm = getTokenMask())
    if (failed(c.rank(tm, "token_mask", 2)) ||
        failed(c.sameDim(tm, "token_mask", 0, hp, "head_probs", 0)) ||
        failed(c.sameDim(tm, "token_mask", 1, hp, "head_probs", 1)))
      return failure();
  return success();
}

LogicalResult SelectTokensOp::verify() {
  ShapeCheck c(*this);
  if (failed(c.rank(getImportance(), "importance", 2)) ||
      failed(c.rank(getTokenMask(), "token_mask", 2)) ||
      failed(c.sameShape(getTokenMask(), "token_mask", getImportance(),
                         "importance")))
    return failure();
  double thr = getThreshold().convertToDouble();
  if (!(thr >= 0.0))
    return emitOpError() << "threshold must be >= 0, got " << thr;
  return success();
}

LogicalResult PackOp::verify() {
  ShapeCheck c(*this);
  if (failed(c.rank(getRowMask(), "row_mask", 2)) ||
      failed(c.rank(getPackedRow(), "packed_row", 1)) ||
      failed(c.rank(getPackedToken(), "packed_token", 1)) ||
      failed(c.rank(getRowOffsets(), "row_offsets", 1)) ||
      failed(c.sameDim(getPackedToken(), "packed_token", 0, getPackedRow(),
                       "packed_row", 0)))
    return failure();
  int64_t r = dimOf(getRowMask(), 0);
  if (!ShapedType::isDynamic(r) &&
      failed(c.dimIs(getRowOffsets(), "row_offsets", 0, r + 1, "rows + 1")))
    return failure();
  int64_t cap = mulStatic(dimOf(getRowMask(), 0), dimOf(getRowMask(), 1));
  int64_t n = dimOf(getPackedRow(), 0);
  if (!ShapedType::isDynamic(cap) && !ShapedType::isDynamic(n) && n < cap)
    return emitOpError() << "'packed_row' holds " << n
                         << " pairs but the mask can activate " << cap;
  return success();
}

//===----------------------------------------------------------------------===//
// Projections and combination
//===----------------------------------------------------------------------===//

LogicalResult ProjectOp::verify() {
  ShapeCheck c(*this);
  Value x = getX();
  if (failed(c.rank(x, "x", 3)) || failed(c.rank(getWeight(), "weight", 2)))
    return failure();
  int64_t heads = getHeads();
  if (heads < 1)
    return emitOpError() << "heads must be >= 1, got " << heads;
  int64_t cDim = dimOf(x, 2);
  if (ShapedType::isDynamic(cDim))
    return emitOpError() << "'x' needs a static model width (dim 2)";
  if (cDim % heads != 0)
    return emitOpError() << "model width " << cDim
                         << " must be divisible by heads (" << heads << ")";
  int64_t d = cDim / heads;
  if (failed(c.dimIs(getWeight(), "weight", 0, 3 * cDim, "3 * d_model")) ||
      failed(c.dimIs(getWeight(), "weight", 1, cDim, "d_model")) ||
      failed(c.sameElementType(getWeight(), "weight", x, "x")))
    return failure();
  if (Value b = getBias())
    if (failed(c.rank(b, "bias", 1)) ||
        failed(c.dimIs(b, "bias", 0, 3 * cDim, "3 * d_model")))
      return failure();
  int64_t rows = mulStatic(dimOf(x, 0), heads);
  for (auto [v, n] : {std::pair<Value, StringRef>{getQ(), "q"},
                      {getK(), "k"},
                      {getV(), "v"}}) {
    if (failed(c.rank(v, n, 3)) || failed(c.dimIs(v, n, 2, d, "head dim")) ||
        failed(c.sameDim(v, n, 1, x, "x", 1)) ||
        failed(c.sameElementType(v, n, x, "x")))
      return failure();
    if (!ShapedType::isDynamic(rows) &&
        failed(c.dimIs(v, n, 0, rows, "batch * heads")))
      return failure();
  }
  if (!getQOffsets() != !getQTokens())
    return emitOpError() << "packed_q needs both 'q_offsets' and 'q_tokens'";
  if (getQWhole() && !getQOffsets())
    return emitOpError() << "whole_q_if needs packed_q";
  if (Value off = getQOffsets()) {
    if (failed(c.rank(off, "q_offsets", 1)) ||
        failed(c.rank(getQTokens(), "q_tokens", 1)))
      return failure();
    if (!ShapedType::isDynamic(rows) &&
        failed(c.dimIs(off, "q_offsets", 0, rows + 1, "batch * heads + 1")))
      return failure();
  }
  if (getRopeBase() && d % 2 != 0)
    return emitOpError() << "RoPE needs an even head dim, got " << d;
  if (getRopeBase() && !(getRopeBase()->convertToDouble() > 0.0))
    return emitOpError() << "rope_base must be positive, got "
                         << getRopeBase()->convertToDouble();
  return success();
}

LogicalResult CombineOp::verify() {
  ShapeCheck c(*this);
  Value o = getHeadsOut(), y = getY();
  if (failed(c.rank(o, "heads_out", 3)) ||
      failed(c.rank(getWeight(), "weight", 2)) || failed(c.rank(y, "y", 3)))
    return failure();
  int64_t cDim = dimOf(y, 2), d = dimOf(o, 2);
  if (ShapedType::isDynamic(cDim) || ShapedType::isDynamic(d))
    return emitOpError()
           << "'y' model width and 'heads_out' head dim must be static";
  if (cDim % d != 0)
    return emitOpError() << "model width " << cDim
                         << " must be a multiple of the head dim " << d;
  int64_t rows = mulStatic(dimOf(y, 0), cDim / d);
  if ((!ShapedType::isDynamic(rows) &&
       failed(c.dimIs(o, "heads_out", 0, rows, "batch * heads"))) ||
      failed(c.sameDim(o, "heads_out", 1, y, "y", 1)) ||
      failed(c.dimIs(getWeight(), "weight", 0, cDim, "d_model")) ||
      failed(c.dimIs(getWeight(), "weight", 1, cDim, "d_model")) ||
      failed(c.sameElementType(o, "heads_out", y, "y")) ||
      failed(c.sameElementType(getWeight(), "weight", y, "y")))
    return failure();
  if (Value b = getBias())
    if (failed(c.rank(b, "bias", 1)) ||
        failed(c.dimIs(b, "bias", 0, cDim, "d_model")))
      return failure();
  if (Value tm = getTokenMask())
    if (failed(checkPerToken(c, y, "y", tm, "token_mask")))
      return failure();
  if (getAllHeads() && !getHeadMask())
    return emitOpError() << "all_heads_if needs head_mask";
  if (Value hm = getHeadMask())
    if (failed(c.rank(hm, "head_mask", 2)) ||
        failed(c.sameDim(hm, "head_mask", 0, o, "heads_out", 0)) ||
        failed(c.sameDim(hm, "head_mask", 1, y, "y", 1)))
      return failure();
  return checkConsensus(*this, c, y, "y", getConsensus());
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

namespace {
/// Checks shared by the two ops that evaluate the candidate rule.
LogicalResult checkCandidateRule(Operation *op, ShapeCheck &c, bool local,
                                 bool anchors, bool proto, int64_t stride,
                                 Value scores) {
  if (!local && !anchors && !proto)
    return op->emitOpError()
           << "needs at least one candidate piece (use_local, use_anchors, "
              "use_proto)";
  if (stride < 0)
    return op->emitOpError() << "anchor_stride must be >= 0, got " << stride;
  if (proto != static_cast<bool>(scores))
    return op->emitOpError()
           << "'scores' must be given exactly when use_proto is set";
  if (scores && failed(c.rank(scores, "scores", 2)))
    return failure();
  return success();
}
} // namespace

LogicalResult ShortlistOp::verify() {
  if (failed(checkTogether(*this, {getScores(), getBatchIds()},
                           "'scores' and 'batch_ids'")))
    return failure();
  ShapeCheck c(*this);
  if (failed(c.rank(getRows(), "rows", 1)) ||
      failed(c.rank(getCandidates(), "candidates", 2)) ||
      failed(c.rank(getLengths(), "lengths", 1)) ||
      failed(
          c.sameDim(getCandidates(), "candidates", 0, getRows(), "rows", 0)) ||
      failed(c.sameDim(getLengths(), "lengths", 0, getRows(), "rows", 0)))
    return failure();
  if (failed(checkCandidateRule(*this, c, getUseLocal(), getUseAnchors(),
                                getUseProto(), getAnchorStride(), getScores())))
    return failure();
  if (getBatchIds() &&
      (failed(c.rank(getBatchIds(), "batch_ids", 1)) ||
       failed(c.sameDim(getBatchIds(), "batch_ids", 0, getRows(), "rows", 0))))
    return failure();
  return success();
}

LogicalResult ShortlistAttentionOp::verify() {
  if (failed(checkTogether(*this, {getCandidates(), getLengths()},
                           "'candidates' and 'lengths'")))
    return failure();
  ShapeCheck c(*this);
  if (failed(checkQKV(c, getQ(), getK(), getV(), getOut())) ||
      failed(c.rank(getPackedRow(), "packed_row", 1)) ||
      failed(c.rank(getPackedToken(), "packed_token", 1)) ||
      failed(c.sameDim(getPackedToken(), "packed_token", 0, getPackedRow(),
                       "packed_row", 0)))
    return failure();
  bool materialised = static_cast<bool>(getCandidates());
  if (materialised == !getBudget().empty())
    return emitOpError()
           << "needs exactly one candidate source: 'candidates' or 'budget'";
  if (materialised) {
    if (failed(c.rank(getCandidates(), "candidates", 2)) ||
        failed(c.rank(getLengths(), "lengths", 1)) ||
        failed(c.sameDim(getCandidates(), "candidates", 0, getPackedRow(),
                         "packed_row", 0)) ||
        failed(c.sameDim(getLengths(), "lengths", 0, getPackedRow(),
                         "packed_row", 0)))
      return failure();
    if (getScores())
      return emitOpError()
             << "'scores' only feed the in-kernel candidate rule ('budget')";
  } else {
    if (getBudget().size() != 5)
      return emitOpError()
             << "'budget' lists (effective_l, window, local_cap, anchor_cap, "
                "proto_cap), got "
             << getBudget().size() << " values";
    if (failed(checkCandidateRule(*this, c, getUseLocal(), getUseAnchors(),
                                  getUseProto(), getAnchorStride(),
                                  getScores())))
      return failure();
  }
  double p = getPercentile().convertToDouble();
  if (!(p > 0.0 && p <= 1.0))
    return emitOpError() << "percentile must be in (0, 1], got " << p;
  return success();
}

LogicalResult DenseAttentionOp::verify() {
  ShapeCheck c(*this);
  return checkQKV(c, getQ(), getK(), getV(), getOut());
}

//===----------------------------------------------------------------------===//
// State
//===----------------------------------------------------------------------===//

LogicalResult ProtoUpdateOp::verify() {
  ShapeCheck c(*this);
  Value x = getX();
  if (failed(c.rank(x, "x", 3)) || failed(c.rank(getGates(), "gates", 3)) ||
      failed(c.sameDim(getGates(), "gates", 0, x, "x", 0)) ||
      failed(c.sameDim(getGates(), "gates", 1, x, "x", 1)))
    return failure();
  int64_t g = dimOf(getGates(), 2), cDim = dimOf(x, 2);
  if (failed(checkPrototypeState(c, getPrototypes(), getUsage(),
                                 getConfidence(), g, cDim)))
    return failure();
  double d = getDecay().convertToDouble();
  if (!(d >= 0.0 && d <= 1.0))
    return emitOpError() << "decay must be in [0, 1], got " << d;
  return success();
}

#define GET_OP_CLASSES
#include "proteus/Dialect/Proteus/ProteusOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

namespace {
/// A constant operand's value, when it has one.
std::optional<double> constantF32(Value v) {
  FloatAttr attr;
  if (matchPattern(v, m_Constant(&attr)))
    return attr.getValueAsDouble();
  return std::nullopt;
}
} // namespace

LogicalResult TopAOp::verify() {
  ShapeCheck c(*this);
  Value logits = getLogits(), cons = getConsensus(), emb = getEmbedding();
  if (failed(c.rank(logits, "logits", 2)) ||
      failed(c.rank(cons, "consensus", 2)) ||
      failed(c.rank(emb, "embedding", 2)) ||
      failed(c.rank(getUniform(), "uniform", 1)) ||
      failed(c.rank(getKept(), "kept", 2)) ||
      failed(c.rank(getProbs(), "probs", 2)) ||
      failed(c.rank(getCounts(), "counts", 2)) ||
      failed(c.rank(getSample(), "sample", 1)) ||
      failed(c.sameDim(cons, "consensus", 0, logits, "logits", 0)) ||
      failed(c.sameDim(emb, "embedding", 0, logits, "logits", 1)) ||
      failed(c.sameDim(emb, "embedding", 1, cons, "consensus", 1)) ||
      failed(c.sameDim(getUniform(), "uniform", 0, logits, "logits", 0)) ||
      failed(c.sameShape(getKept(), "kept", logits, "logits")) ||
      failed(c.sameShape(getProbs(), "probs", logits, "logits")) ||
      failed(c.sameDim(getCounts(), "counts", 0, logits, "logits", 0)) ||
      failed(c.dimIs(getCounts(), "counts", 1, 2, "2 (nucleus, kept)")) ||
      failed(c.sameDim(getSample(), "sample", 0, logits, "logits", 0)))
    return failure();
  // Runtime parameters are checked by the caller; constants here.
  if (std::optional<double> p = constantF32(getTopP()))
    if (!(*p >= 0.0 && *p <= 1.0))
      return emitOpError() << "top_p must be in [0, 1], got " << *p;
  if (std::optional<double> t = constantF32(getTau()))
    if (!(*t > 0.0) || std::isinf(*t))
      return emitOpError() << "tau must be positive and finite, got " << *t;
  if (std::optional<double> l = constantF32(getLambda()))
    if (!std::isfinite(*l))
      return emitOpError() << "lambda must be finite, got " << *l;
  if (std::optional<double> th = constantF32(getThreshold()))
    if (std::isnan(*th))
      return emitOpError() << "threshold must not be NaN";
  return success();
}

//===----------------------------------------------------------------------===//
// The chunked shortlist pipeline
//===----------------------------------------------------------------------===//

LogicalResult ChunkNucleusOp::verify() {
  ShapeCheck c(*this);
  Value imp = getImportance();
  if (failed(c.rank(imp, "importance", 1)) ||
      failed(c.rank(getPromoted(), "promoted", 1)) ||
      failed(c.rank(getScores(), "scores", 1)) ||
      failed(c.rank(getCount(), "count", 1)) ||
      failed(c.sameShape(getScores(), "scores", getPromoted(), "promoted")) ||
      failed(c.dimIs(getCount(), "count", 0, 1, "1")))
    return failure();
  if (Value tm = getTokenMask())
    if (failed(c.rank(tm, "token_mask", 1)) ||
        failed(c.sameDim(tm, "token_mask", 0, imp, "importance", 0)))
      return failure();
  // Runtime parameters are checked by the caller; constants here.
  if (std::optional<double> p = constantF32(getTopP()))
    if (!(*p > 0.0 && *p <= 1.0))
      return emitOpError() << "top_p must be in (0, 1], got " << *p;
  return success();
}

LogicalResult ShortlistMergeOp::verify() {
  ShapeCheck c(*this);
  if (failed(c.rank(getIndices(), "indices", 1)) ||
      failed(c.rank(getScores(), "scores", 1)) ||
      failed(c.rank(getKeep(), "keep", 1)) ||
      failed(c.rank(getKeepScores(), "keep_scores", 1)) ||
      failed(c.rank(getCount(), "count", 1)) ||
      failed(c.sameShape(getScores(), "scores", getIndices(), "indices")) ||
      failed(c.sameShape(getKeepScores(), "keep_scores", getKeep(), "keep")) ||
      failed(c.dimIs(getCount(), "count", 0, 1, "1")))
    return failure();
  return success();
}
