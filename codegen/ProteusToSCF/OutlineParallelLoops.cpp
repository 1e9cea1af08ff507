//===- OutlineParallelLoops.cpp - scf.parallel -> the runtime's threads ---===//
//
// -proteus-outline-parallel-loops: every outermost 1-D scf.parallel of the
// CPU path becomes a call of the library's parallel-loop hook with its body
// outlined (Passes.td). The captured values travel in a stack struct of their
// LLVM types (unrealized casts that -reconcile-unrealized-casts removes once
// everything is in the LLVM dialect).
//
//===----------------------------------------------------------------------===//

#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "proteus/Conversion/Passes.h"
#include "proteus_rt/contract.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::proteus {
#define GEN_PASS_DEF_PROTEUSOUTLINEPARALLELLOOPSPASS
#include "proteus/Conversion/Passes.h.inc"
} // namespace mlir::proteus

using namespace mlir;

namespace {

/// `v` as type `t` through an unrealized cast (none when equal).
Value castTo(OpBuilder &b, Location loc, Value v, Type t) {
  if (v.getType() == t)
    return v;
  return UnrealizedConversionCastOp::create(b, loc, t, v).getResult(0);
}

/// The global function pointer the runtime sets (null until then).
void createHook(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = module.getLoc();
  auto global = LLVM::GlobalOp::create(
      b, loc, ptr, /*isConstant=*/false, LLVM::Linkage::External,
      proteus_rt::kCpuParallelForHook, Attribute());
  Block *init = b.createBlock(&global.getInitializerRegion());
  b.setInsertionPointToStart(init);
  LLVM::ReturnOp::create(b, loc, LLVM::ZeroOp::create(b, loc, ptr));
}

/// The values the loop's body (and its bounds' use in the body) reads from
/// above, split into constants (cloned) and the rest (passed).
struct Captures {
  SmallVector<Value> passed;
  SmallVector<Operation *> constants;
};

Captures collectCaptures(scf::ParallelOp loop) {
  llvm::SetVector<Value> above;
  getUsedValuesDefinedAbove(loop.getRegion(), above);
  above.insert(loop.getLowerBound()[0]);
  above.insert(loop.getStep()[0]);
  Captures c;
  for (Value v : above) {
    Operation *def = v.getDefiningOp();
    if (def && def->hasTrait<OpTrait::ConstantLike>() &&
        def->getNumResults() == 1)
      c.constants.push_back(def);
    else
      c.passed.push_back(v);
  }
  return c;
}

/// func.func @name(%ctx: !llvm.ptr, %lo: i64, %hi: i64) running iterations
/// [lo, hi) of `loop`.
func::FuncOp outlineBody(scf::ParallelOp loop, const Captures &c,
                         LLVM::LLVMStructType frame, StringRef name) {
  MLIRContext *ctx = loop.getContext();
  Location loc = loop.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = IntegerType::get(ctx, 64), index = IndexType::get(ctx);
  auto module = loop->getParentOfType<ModuleOp>();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto fn = func::FuncOp::create(b, loc, name,
                                 FunctionType::get(ctx, {ptr, i64, i64}, {}));
  fn.setPrivate();
  // Not exported from the library: only its address is handed out.
  fn->setAttr("llvm.linkage",
              LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  IRMapping map;
  for (Operation *op : c.constants)
    map.map(op->getResult(0), b.clone(*op)->getResult(0));
  for (auto [i, v] : llvm::enumerate(c.passed)) {
    Value at =
        LLVM::GEPOp::create(b, loc, ptr, frame, entry->getArgument(0),
                            ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(0),
                                                   static_cast<int32_t>(i)});
    Value field = LLVM::LoadOp::create(b, loc, frame.getBody()[i], at);
    map.map(v, castTo(b, loc, field, v.getType()));
  }
  Value lo = arith::IndexCastOp::create(b, loc, index, entry->getArgument(1));
  Value hi = arith::IndexCastOp::create(b, loc, index, entry->getArgument(2));
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value lb = map.lookup(loop.getLowerBound()[0]);
  Value step = map.lookup(loop.getStep()[0]);
  scf::ForOp::create(
      b, loc, lo, hi, one, ValueRange{},
      [&](OpBuilder &fb, Location l, Value i, ValueRange) {
        Value iv = arith::AddIOp::create(fb, l, lb,
                                         arith::MulIOp::create(fb, l, i, step));
        map.map(loop.getInductionVars()[0], iv);
        for (Operation &op : loop.getBody()->without_terminator())
          fb.clone(op, map);
        scf::YieldOp::create(fb, l);
      });
  func::ReturnOp::create(b, loc);
  return fn;
}

/// Replaces `loop` by a call of the hook (or of `body` on this thread).
void replaceByDispatch(scf::ParallelOp loop, const Captures &c,
                       LLVM::LLVMStructType frame, func::FuncOp body) {
  MLIRContext *ctx = loop.getContext();
  Location loc = loop.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type i64 = IntegerType::get(ctx, 64);
  // The frame lives in the entry block: one slot however often the loop runs.
  auto parent = loop->getParentOfType<FunctionOpInterface>();
  OpBuilder eb = OpBuilder::atBlockBegin(&parent.getFunctionBody().front());
  Value oneSlot =
      LLVM::ConstantOp::create(eb, loc, i64, eb.getI64IntegerAttr(1));
  Value buf = LLVM::AllocaOp::create(eb, loc, ptr, frame, oneSlot);

  OpBuilder b(loop);
  for (auto [i, v] : llvm::enumerate(c.passed)) {
    Value at =
        LLVM::GEPOp::create(b, loc, ptr, frame, buf,
                            ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(0),
                                                   static_cast<int32_t>(i)});
    LLVM::StoreOp::create(b, loc, castTo(b, loc, v, frame.getBody()[i]), at);
  }
  Value lb = loop.getLowerBound()[0], ub = loop.getUpperBound()[0],
        step = loop.getStep()[0];
  // Trip count ceil((ub - lb) / step), 0 when ub <= lb.
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value span = arith::MaxSIOp::create(
      b, loc, arith::SubIOp::create(b, loc, ub, lb), zero);
  Value n = arith::CeilDivSIOp::create(b, loc, span, step);
  Value n64 = arith::IndexCastOp::create(b, loc, i64, n);
  Value hookAddr =
      LLVM::AddressOfOp::create(b, loc, ptr, proteus_rt::kCpuParallelForHook);
  Value hook = LLVM::LoadOp::create(b, loc, ptr, hookAddr);
  Value null = LLVM::ZeroOp::create(b, loc, ptr);
  Value serial =
      LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, hook, null);
  scf::IfOp::create(
      b, loc, serial,
      [&](OpBuilder &tb, Location l) {
        Value zero64 =
            LLVM::ConstantOp::create(tb, l, i64, tb.getI64IntegerAttr(0));
        func::CallOp::create(tb, l, body, ValueRange{buf, zero64, n64});
        scf::YieldOp::create(tb, l);
      },
      [&](OpBuilder &fb, Location l) {
        Value fnValue = func::ConstantOp::create(
            fb, l, body.getFunctionType(),
            FlatSymbolRefAttr::get(ctx, body.getSymName()));
        Value fnPtr = castTo(fb, l, fnValue, ptr);
        auto dispatchType = LLVM::LLVMFunctionType::get(
            LLVM::LLVMVoidType::get(ctx), {i64, ptr, ptr});
        LLVM::CallOp::create(fb, l, dispatchType,
                             ValueRange{hook, n64, fnPtr, buf});
        scf::YieldOp::create(fb, l);
      });
  loop.erase();
}

struct OutlineParallelLoopsPass
    : public mlir::proteus::impl::ProteusOutlineParallelLoopsPassBase<
          OutlineParallelLoopsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<scf::ParallelOp> loops;
    module.walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>())
        loops.push_back(op);
    });
    if (loops.empty())
      return;
    LLVMTypeConverter converter(&getContext());
    createHook(module);
    for (auto [i, loop] : llvm::enumerate(loops)) {
      if (loop.getNumLoops() != 1 || loop.getNumResults() != 0) {
        loop.emitError("only 1-D scf.parallel loops without reductions can "
                       "run on the runtime's threads");
        return signalPassFailure();
      }
      Captures c = collectCaptures(loop);
      SmallVector<Type> fields;
      for (Value v : c.passed) {
        Type t = converter.convertType(v.getType());
        if (!t) {
          loop.emitError("a parallel loop captures a value of type ")
              << v.getType() << " that has no LLVM type";
          return signalPassFailure();
        }
        fields.push_back(t);
      }
      auto frame = LLVM::LLVMStructType::getLiteral(&getContext(), fields);
      auto parent = loop->getParentOfType<FunctionOpInterface>();
      std::string name =
          ("__proteus_parallel_" + parent.getName() + "_" + llvm::Twine(i))
              .str();
      func::FuncOp body = outlineBody(loop, c, frame, name);
      replaceByDispatch(loop, c, frame, body);
    }
  }
};

} // namespace
