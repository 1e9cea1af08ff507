//===- DeviceMath.h - exp/sin/cos/sqrt for the GPU kernels ------*- C++ -*-===//
//
// The GPU kernels have no libm (and no libdevice). The layer kernels need the
// binary32 exp, sin and cos of the CPU path to the last bit where possible
// (routing decides token masks by rank), so they are evaluated in binary64
// (range reduction + polynomial, about 1e-16 relative) and rounded once to
// binary32: the correctly rounded result except in rare double-rounding cases.
// Private to codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CODEGEN_PROTEUSTOGPU_DEVICEMATH_H
#define PROTEUS_CODEGEN_PROTEUSTOGPU_DEVICEMATH_H

#include "../ProteusToSCF/LoopBuilder.h"

namespace mlir::proteus {

class DeviceMath : public MathProvider {
public:
  Value exp(OpBuilder &b, Location loc, Value x) const override;
  Value sin(OpBuilder &b, Location loc, Value x) const override;
  Value cos(OpBuilder &b, Location loc, Value x) const override;
  Value sqrt(OpBuilder &b, Location loc, Value x) const override;
  /// a * b + c rounded once (fma.rn), binary32 or binary64, no libdevice.
  Value fma(OpBuilder &b, Location loc, Value x, Value y, Value z) const;
};

} // namespace mlir::proteus

#endif // PROTEUS_CODEGEN_PROTEUSTOGPU_DEVICEMATH_H
