//===- LoopBuilder.h - Terse scalar loop construction -----------*- C++ -*-===//
//
// A thin layer over OpBuilder for the scalar CPU kernels: constants,
// arithmetic that dispatches on the operand type (index/integer vs float),
// loads/stores and structured loops with body lambdas. Private to codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CODEGEN_PROTEUSTOSCF_LOOPBUILDER_H
#define PROTEUS_CODEGEN_PROTEUSTOSCF_LOOPBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

#include <functional>

namespace mlir::proteus {

/// The transcendental functions of a target without libm (the GPU kernels):
/// LoopBuilder calls these instead of emitting math dialect ops.
class MathProvider {
public:
  virtual ~MathProvider() = default;
  virtual Value exp(OpBuilder &b, Location loc, Value x) const = 0;
  virtual Value sin(OpBuilder &b, Location loc, Value x) const = 0;
  virtual Value cos(OpBuilder &b, Location loc, Value x) const = 0;
  virtual Value sqrt(OpBuilder &b, Location loc, Value x) const = 0;
};

class LoopBuilder {
public:
  LoopBuilder(OpBuilder &b, Location loc, const MathProvider *math = nullptr)
      : b(b), loc(loc), provider(math) {}

  OpBuilder &builder() { return b; }
  Location getLoc() const { return loc; }

  // Constants.
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i64(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
  }
  Value i8(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI8Type(), v);
  }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc,
                                     b.getF32FloatAttr(static_cast<float>(v)));
  }
  Value f64(double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  }
  Value boolean(bool v) {
    return arith::ConstantIntOp::create(b, loc, b.getI1Type(), v);
  }

  // Arithmetic on index/integers or floats, by operand type.
  Value add(Value x, Value y) {
    return isFloat(x) ? Value(arith::AddFOp::create(b, loc, x, y))
                      : Value(arith::AddIOp::create(b, loc, x, y));
  }
  Value sub(Value x, Value y) {
    return isFloat(x) ? Value(arith::SubFOp::create(b, loc, x, y))
                      : Value(arith::SubIOp::create(b, loc, x, y));
  }
  Value mul(Value x, Value y) {
    return isFloat(x) ? Value(arith::MulFOp::create(b, loc, x, y))
                      : Value(arith::MulIOp::create(b, loc, x, y));
  }
  Value div(Value x, Value y) {
    return isFloat(x) ? Value(arith::DivFOp::create(b, loc, x, y))
                      : Value(arith::DivSIOp::create(b, loc, x, y));
  }
  Value rem(Value x, Value y) { return arith::RemSIOp::create(b, loc, x, y); }
  Value min(Value x, Value y) {
    return isFloat(x) ? Value(arith::MinimumFOp::create(b, loc, x, y))
                      : Value(arith::MinSIOp::create(b, loc, x, y));
  }
  Value max(Value x, Value y) {
    return isFloat(x) ? Value(arith::MaximumFOp::create(b, loc, x, y))
                      : Value(arith::MaxSIOp::create(b, loc, x, y));
  }
  Value neg(Value x) { return arith::NegFOp::create(b, loc, x); }

  // Comparisons (ordered for floats, signed for integers).
  Value lt(Value x, Value y) {
    return cmp(x, y, arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt);
  }
  Value le(Value x, Value y) {
    return cmp(x, y, arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle);
  }
  Value gt(Value x, Value y) {
    return cmp(x, y, arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt);
  }
  Value ge(Value x, Value y) {
    return cmp(x, y, arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge);
  }
  Value eq(Value x, Value y) {
    return cmp(x, y, arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq);
  }
  Value ne(Value x, Value y) {
    return cmp(x, y, arith::CmpFPredicate::UNE, arith::CmpIPredicate::ne);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value notI(Value x) {
    return arith::XOrIOp::create(b, loc, x, boolean(true));
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }

  // Conversions.
  Value toF64(Value v) {
    if (v.getType().isF64())
      return v;
    if (isFloat(v))
      return arith::ExtFOp::create(b, loc, b.getF64Type(), v);
    return arith::SIToFPOp::create(b, loc, b.getF64Type(), toI64(v));
  }
  Value toF32(Value v) {
    if (v.getType().isF32())
      return v;
    if (auto ft = dyn_cast<FloatType>(v.getType()))
      return ft.getWidth() < 32
                 ? Value(arith::ExtFOp::create(b, loc, b.getF32Type(), v))
                 : Value(arith::TruncFOp::create(b, loc, b.getF32Type(), v));
    return arith::SIToFPOp::create(b, loc, b.getF32Type(), toI64(v));
  }
  Value toI64(Value v) {
    if (v.getType().isInteger(64))
      return v;
    if (v.getType().isIndex())
      return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
    return arith::ExtSIOp::create(b, loc, b.getI64Type(), v);
  }
  /// An index or integer value as integer type `t` (sign-extended or
  /// truncated).
  Value toInt(Value v, Type t) {
    if (v.getType() == t)
      return v;
    if (v.getType().isIndex())
      return arith::IndexCastOp::create(b, loc, t, v);
    if (v.getType().getIntOrFloatBitWidth() < t.getIntOrFloatBitWidth())
      return arith::ExtSIOp::create(b, loc, t, v);
    return arith::TruncIOp::create(b, loc, t, v);
  }
  Value toIndex(Value v) {
    if (v.getType().isIndex())
      return v;
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), toI64(v));
  }
  /// Nonzero i8 / integer -> i1.
  Value truthy(Value v) {
    return arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ne, v,
        arith::ConstantIntOp::create(b, loc, v.getType(), 0));
  }

  // Math.
  Value exp(Value v) {
    return provider ? provider->exp(b, loc, v) : math::ExpOp::create(b, loc, v);
  }
  Value sqrt(Value v) {
    return provider ? provider->sqrt(b, loc, v)
                    : math::SqrtOp::create(b, loc, v);
  }
  Value abs(Value v) { return math::AbsFOp::create(b, loc, v); }
  Value floor(Value v) { return math::FloorOp::create(b, loc, v); }
  Value ceil(Value v) { return math::CeilOp::create(b, loc, v); }
  Value roundEven(Value v) { return math::RoundEvenOp::create(b, loc, v); }
  Value powf(Value x, Value y) { return math::PowFOp::create(b, loc, x, y); }
  Value cos(Value v) {
    return provider ? provider->cos(b, loc, v) : math::CosOp::create(b, loc, v);
  }
  Value sin(Value v) {
    return provider ? provider->sin(b, loc, v) : math::SinOp::create(b, loc, v);
  }

  // Memory.
  Value load(Value mem, ValueRange indices) {
    return memref::LoadOp::create(b, loc, mem, indices);
  }
  void store(Value v, Value mem, ValueRange indices) {
    memref::StoreOp::create(b, loc, v, mem, indices);
  }
  Value dim(Value mem, int64_t d) {
    return memref::DimOp::create(b, loc, mem, d);
  }
  /// A heap buffer of the given element type and (dynamic) sizes.
  Value alloc(Type elem, ValueRange sizes) {
    SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
    return memref::AllocOp::create(b, loc, MemRefType::get(shape, elem), sizes);
  }
  void dealloc(Value mem) { memref::DeallocOp::create(b, loc, mem); }

  // Control flow.
  void forLoop(Value lo, Value hi, function_ref<void(Value)> body) {
    scf::ForOp::create(b, loc, lo, hi, idx(1), ValueRange{},
                       [&](OpBuilder &, Location, Value iv, ValueRange) {
                         body(iv);
                         scf::YieldOp::create(b, loc);
                       });
  }
  /// A loop carrying values; `body` returns the next values.
  SmallVector<Value>
  forAcc(Value lo, Value hi, ValueRange init,
         function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto op = scf::ForOp::create(
        b, loc, lo, hi, idx(1), init,
        [&](OpBuilder &, Location, Value iv, ValueRange args) {
          scf::YieldOp::create(b, loc, body(iv, args));
        });
    return SmallVector<Value>(op.getResults());
  }
  Value forAcc1(Value lo, Value hi, Value init,
                function_ref<Value(Value, Value)> body) {
    return forAcc(lo, hi, init, [&](Value iv, ValueRange a) {
      return SmallVector<Value>{body(iv, a[0])};
    })[0];
  }
  void ifThen(Value cond, function_ref<void()> thenBody) {
    scf::IfOp::create(b, loc, cond, [&](OpBuilder &, Location) {
      thenBody();
      scf::YieldOp::create(b, loc);
    });
  }
  void ifThenElse(Value cond, function_ref<void()> thenBody,
                  function_ref<void()> elseBody) {
    scf::IfOp::create(
        b, loc, cond,
        [&](OpBuilder &, Location) {
          thenBody();
          scf::YieldOp::create(b, loc);
        },
        [&](OpBuilder &, Location) {
          elseBody();
          scf::YieldOp::create(b, loc);
        });
  }
  /// while (cond(state)) state = body(state); returns the final state.
  SmallVector<Value>
  whileLoop(ValueRange init, function_ref<Value(ValueRange)> cond,
            function_ref<SmallVector<Value>(ValueRange)> body) {
    TypeRange types = init.getTypes();
    auto op = scf::WhileOp::create(
        b, loc, types, init,
        [&](OpBuilder &, Location, ValueRange args) {
          scf::ConditionOp::create(b, loc, cond(args), args);
        },
        [&](OpBuilder &, Location, ValueRange args) {
          scf::YieldOp::create(b, loc, body(args));
        });
    return SmallVector<Value>(op.getResults());
  }

  /// Sets every element of a memref of any rank to `v`.
  void fill(Value mem, Value v) {
    auto type = cast<MemRefType>(mem.getType());
    SmallVector<Value> ivs;
    std::function<void(int64_t)> rec = [&](int64_t d) {
      if (d == type.getRank()) {
        store(v, mem, ivs);
        return;
      }
      forLoop(idx(0), dim(mem, d), [&](Value iv) {
        ivs.push_back(iv);
        rec(d + 1);
        ivs.pop_back();
      });
    };
    rec(0);
  }

private:
  static bool isFloat(Value v) { return isa<FloatType>(v.getType()); }
  Value cmp(Value x, Value y, arith::CmpFPredicate fp,
            arith::CmpIPredicate ip) {
    if (isFloat(x))
      return arith::CmpFOp::create(b, loc, fp, x, y);
    return arith::CmpIOp::create(b, loc, ip, x, y);
  }

  OpBuilder &b;
  Location loc;
  const MathProvider *provider;
};

} // namespace mlir::proteus

#endif // PROTEUS_CODEGEN_PROTEUSTOSCF_LOOPBUILDER_H
