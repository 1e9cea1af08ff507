//===- TopAModule.cpp - The Top-A functions of a bundle -------------------===//

#include "proteus/Target/TopAModule.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus_rt/contract.h"

using namespace mlir;
using namespace mlir::proteus;

void mlir::proteus::buildTopAFuncs(OpBuilder &b, Location loc,
                                   bool cInterface) {
  int64_t dyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  auto mem = [](ArrayRef<int64_t> shape, Type t) {
    return MemRefType::get(shape, t);
  };
  const Type elems[] = {f32, b.getBF16Type()};
  const TopAMode modes[] = {TopAMode::Off, TopAMode::Blend, TopAMode::Filter};
  for (int m = 0; m < 3; ++m) {
    for (int e = 0; e < 2; ++e) {
      SmallVector<Type> args = {mem({dyn, dyn}, elems[e]),
                                mem({dyn, dyn}, f32),
                                mem({dyn, dyn}, elems[e]),
                                mem({dyn}, f32),
                                f32,
                                f32,
                                f32,
                                f32,
                                mem({dyn, dyn}, i64),
                                mem({dyn, dyn}, f32),
                                mem({dyn, 2}, i64),
                                mem({dyn}, i64)};
      auto fn = func::FuncOp::create(b, loc, proteus_rt::topAEntry(m, e),
                                     b.getFunctionType(args, {}));
      if (cInterface)
        fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(fn.addEntryBlock());
      auto a = fn.getArguments();
      TopAOp::create(b, loc, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7],
                     a[8], a[9], a[10], a[11],
                     TopAModeAttr::get(b.getContext(), modes[m]));
      func::ReturnOp::create(b, loc);
    }
  }
}
