//===- LowerToNVVM.cpp - The -proteus-lower-to-nvvm pipeline --------------===//
//
// convert-proteus-to-gpu, then the kernel module through NVVM to PTX
// (gpu-module-to-binary, format isa). The only translation unit of the
// project that includes the NVVM/GPU conversion headers (TOOLCHAIN.md).
//
//===----------------------------------------------------------------------===//

#include "mlir/Conversion/GPUToNVVM/GPUToNVVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Pipelines/Pipelines.h"
#include "proteus/Support/GpuTarget.h"

#include "llvm/Support/TargetSelect.h"

using namespace mlir;
using namespace mlir::proteus;

void mlir::proteus::buildLowerToNVVMPipeline(
    OpPassManager &pm, const LowerToNVVMOptions &options) {
  if (options.convert)
    pm.addPass(createConvertProteusToGPUPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &gm = pm.nest<gpu::GPUModuleOp>();
  gm.addPass(createCanonicalizerPass());
  gm.addPass(createSCFToControlFlowPass());
  gm.addPass(memref::createExpandStridedMetadataPass());
  gm.addPass(createConvertGpuOpsToNVVMOps());
  gm.addPass(createConvertNVVMToLLVMPass());
  gm.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

std::string mlir::proteus::extractPTX(ModuleOp module) {
  std::string ptx;
  module.walk([&](gpu::BinaryOp bin) {
    for (Attribute a : bin.getObjects())
      ptx = cast<gpu::ObjectAttr>(a).getObject().getValue().str();
  });
  return ptx;
}

void mlir::proteus::initializeCodegenBackends() {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTarget();
  LLVMInitializeNVPTXTargetMC();
  LLVMInitializeNVPTXAsmPrinter();
}

void mlir::proteus::registerNVVMLoweringInterfaces(DialectRegistry &registry) {
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect, vector::VectorDialect>();
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  // The kernels' vector loads (tiles with vector > 1).
  vector::registerConvertVectorToLLVMInterface(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  NVVM::registerConvertGpuToNVVMInterface(registry);
}

void mlir::proteus::registerNVVMPipeline() {
  // PassPipelineRegistration's builder cannot fail; this one refuses a chip
  // the NVPTX backend would abort on, before any pass runs.
  registerPassPipeline(
      "proteus-lower-to-nvvm",
      "Lower Proteus attention ops to GPU kernels and the kernel module to PTX "
      "(gpu.binary with format isa)",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        LowerToNVVMOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        if (std::string why = checkGpuArch(options.chip); !why.empty())
          return errorHandler("proteus-lower-to-nvvm: chip: " + why);
        if (std::string why = checkPtxFeatures(options.chip, options.features);
            !why.empty())
          return errorHandler("proteus-lower-to-nvvm: features: " + why);
        buildLowerToNVVMPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> optHandler) {
        optHandler(LowerToNVVMOptions());
      });
}
