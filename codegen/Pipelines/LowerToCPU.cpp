//===- LowerToCPU.cpp - The -proteus-lower-to-cpu pipeline ----------------===//
//
// specialize -> decompose -> convert-proteus-to-scf -> outline the parallel
// loops -> LLVM dialect, built in C++ from an options struct.
//
//===----------------------------------------------------------------------===//

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/ConvertToLLVM/ToLLVMPass.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Pipelines/Pipelines.h"
#include "proteus/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::proteus;

void mlir::proteus::buildLowerToCPUPipeline(OpPassManager &pm,
                                            const LowerToCPUOptions &options) {
  OpPassManager &fpm = pm.nest<func::FuncOp>();
  ProteusSpecializePassOptions spec;
  spec.alpha = options.alpha;
  spec.density = options.density;
  fpm.addPass(createProteusSpecializePass(spec));
  fpm.addPass(createProteusDecomposePass());
  fpm.addPass(createConvertProteusToSCFPass());
  fpm.addPass(createCanonicalizerPass());
  fpm.addPass(createCSEPass());
  if (!options.toLLVM)
    return;
  pm.addPass(createProteusOutlineParallelLoopsPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::proteus::registerProteusPipelines() {
  PassPipelineRegistration<LowerToCPUOptions>(
      "proteus-lower-to-cpu",
      "Specialize, decompose and lower Proteus programs to scalar loops and "
      "the LLVM dialect "
      "(the CPU reference path)",
      buildLowerToCPUPipeline);
}

void mlir::proteus::registerCPULoweringInterfaces(DialectRegistry &registry) {
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  index::registerConvertIndexToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
  vector::registerConvertVectorToLLVMInterface(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}
