//===- Registration.cpp - The one registration point ----------------------===//

#include "proteus/Registration/Registration.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Dialect/Proteus/ProteusDialect.h"
#include "proteus/Pipelines/Pipelines.h"
#include "proteus/Transforms/Passes.h"

using namespace mlir;

void mlir::proteus::registerProteusDialects(DialectRegistry &registry) {
  registry.insert<ProteusDialect, arith::ArithDialect, func::FuncDialect,
                  math::MathDialect, memref::MemRefDialect, scf::SCFDialect,
                  LLVM::LLVMDialect>();
  registerCPULoweringInterfaces(registry);
  registerNVVMLoweringInterfaces(registry);
}

void mlir::proteus::registerProteusPasses() {
  registerProteusTransformsPasses();
  registerProteusConversionPasses();
  registerProteusPipelines();
  registerNVVMPipeline();
  // The generic upstream passes a user needs beside ours.
  registerCanonicalizerPass();
  registerCSEPass();
  registerInlinerPass();
}
