//===- DeviceMath.cpp - exp/sin/cos/sqrt for the GPU kernels --------------===//
//
// binary64 evaluation rounded once to the operand's type (DeviceMath.h).
// Constants are fdlibm's (ln 2 and pi/2 split so that k * hi is exact).
//
//===----------------------------------------------------------------------===//

#include "DeviceMath.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include <cmath>

using namespace mlir;
using namespace mlir::proteus;

namespace {

Value toF64(OpBuilder &b, Location loc, Value x) {
  return x.getType().isF64()
             ? x
             : Value(arith::ExtFOp::create(b, loc, b.getF64Type(), x));
}

Value back(OpBuilder &b, Location loc, Value r, Type type) {
  return type.isF64() ? r : Value(arith::TruncFOp::create(b, loc, type, r));
}

/// Nearest integer of a binary64 value (half away from zero), as i64.
Value nearest(LoopBuilder &lb, Value x) {
  Value half = lb.select(lb.lt(x, lb.f64(0.0)), lb.f64(-0.5), lb.f64(0.5));
  return arith::FPToSIOp::create(lb.builder(), lb.getLoc(),
                                 lb.builder().getI64Type(), lb.add(x, half));
}

/// sum_n c[n] r^n by Horner.
Value horner(LoopBuilder &lb, Value r, ArrayRef<double> c) {
  Value p = lb.f64(c.back());
  for (int64_t n = static_cast<int64_t>(c.size()) - 2; n >= 0; --n)
    p = lb.add(lb.mul(p, r), lb.f64(c[n]));
  return p;
}

/// 1/n! for n in [0, count).
SmallVector<double> inverseFactorials(int64_t count) {
  SmallVector<double> c;
  double f = 1.0;
  for (int64_t n = 0; n < count; ++n) {
    if (n > 0)
      f *= static_cast<double>(n);
    c.push_back(1.0 / f);
  }
  return c;
}

Value expF64(LoopBuilder &lb, Value x) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  const double ln2Hi = 6.93147180369123816490e-01,
               ln2Lo = 1.90821492927058770002e-10;
  Value xc = lb.min(lb.max(x, lb.f64(-708.0)), lb.f64(709.0));
  Value k = nearest(lb, lb.mul(xc, lb.f64(M_LOG2E)));
  Value kd = arith::SIToFPOp::create(b, loc, b.getF64Type(), k);
  Value r =
      lb.sub(lb.sub(xc, lb.mul(kd, lb.f64(ln2Hi))), lb.mul(kd, lb.f64(ln2Lo)));
  // |r| <= ln2/2: the Taylor series to r^13 leaves < 1e-17 relative.
  Value p = horner(lb, r, inverseFactorials(14));
  Value bits =
      arith::ShLIOp::create(b, loc, lb.add(k, lb.i64(1023)), lb.i64(52));
  Value scale = arith::BitcastOp::create(b, loc, b.getF64Type(), bits);
  Value res = lb.mul(p, scale);
  res = lb.select(lb.lt(x, lb.f64(-708.0)), lb.f64(0.0), res);
  return lb.select(lb.gt(x, lb.f64(709.0)),
                   lb.f64(std::numeric_limits<double>::infinity()), res);
}

/// sin(x) or cos(x) in binary64 for |x| < 2^20 pi/2 (RoPE angles).
Value sinCosF64(LoopBuilder &lb, Value x, bool wantCos) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  const double pio2_1 = 1.57079632673412561417e+00,
               pio2_2 = 6.07710050630396597660e-11,
               pio2_3 = 2.02226624871116645580e-21;
  Value k = nearest(lb, lb.mul(x, lb.f64(M_2_PI)));
  Value kd = arith::SIToFPOp::create(b, loc, b.getF64Type(), k);
  Value r = lb.sub(
      lb.sub(lb.sub(x, lb.mul(kd, lb.f64(pio2_1))), lb.mul(kd, lb.f64(pio2_2))),
      lb.mul(kd, lb.f64(pio2_3)));
  Value r2 = lb.mul(r, r);
  // |r| <= pi/4: sin to r^17, cos to r^18 (< 1e-19).
  SmallVector<double> f = inverseFactorials(20), sc, cc;
  for (int64_t n = 0; n <= 8; ++n)
    sc.push_back((n % 2 ? -1.0 : 1.0) * f[2 * n + 1]);
  for (int64_t n = 0; n <= 9; ++n)
    cc.push_back((n % 2 ? -1.0 : 1.0) * f[2 * n]);
  Value s = lb.mul(r, horner(lb, r2, sc));
  Value c = horner(lb, r2, cc);
  Value q = arith::AndIOp::create(b, loc, k, lb.i64(3));
  // sin: s, c, -s, -c; cos: c, -s, -c, s for quadrants 0..3.
  Value first = wantCos ? c : s, second = wantCos ? lb.neg(s) : c;
  Value res = lb.select(
      lb.eq(q, lb.i64(0)), first,
      lb.select(lb.eq(q, lb.i64(1)), second,
                lb.select(lb.eq(q, lb.i64(2)), lb.neg(first), lb.neg(second))));
  return res;
}

} // namespace

Value DeviceMath::exp(OpBuilder &b, Location loc, Value x) const {
  LoopBuilder lb(b, loc);
  return back(b, loc, expF64(lb, toF64(b, loc, x)), x.getType());
}

Value DeviceMath::sin(OpBuilder &b, Location loc, Value x) const {
  LoopBuilder lb(b, loc);
  return back(b, loc, sinCosF64(lb, toF64(b, loc, x), false), x.getType());
}

Value DeviceMath::cos(OpBuilder &b, Location loc, Value x) const {
  LoopBuilder lb(b, loc);
  return back(b, loc, sinCosF64(lb, toF64(b, loc, x), true), x.getType());
}

Value DeviceMath::sqrt(OpBuilder &b, Location loc, Value x) const {
  // sqrt.rn: correctly rounded, no libdevice (the NVVM conversion refuses
  // llvm.sqrt in favour of libdevice's __nv_sqrt).
  StringRef name =
      x.getType().isF64() ? "llvm.nvvm.sqrt.rn.d" : "llvm.nvvm.sqrt.rn.f";
  return LLVM::CallIntrinsicOp::create(b, loc, x.getType(),
                                       b.getStringAttr(name), ValueRange{x})
      .getResult(0);
}

Value DeviceMath::fma(OpBuilder &b, Location loc, Value x, Value y,
                      Value z) const {
  StringRef name =
      x.getType().isF64() ? "llvm.nvvm.fma.rn.d" : "llvm.nvvm.fma.rn.f";
  return LLVM::CallIntrinsicOp::create(
             b, loc, x.getType(), b.getStringAttr(name), ValueRange{x, y, z})
      .getResult(0);
}
