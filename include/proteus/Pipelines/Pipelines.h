//===- Pipelines.h - Proteus lowering pipelines -----------------*- C++ -*-===//
//
// -proteus-lower-to-cpu and the host object emission behind proteus-compile.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_PIPELINES_PIPELINES_H
#define PROTEUS_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir {
class DialectRegistry;
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace mlir::proteus {

/// Options of -proteus-lower-to-cpu.
struct LowerToCPUOptions : public PassPipelineOptions<LowerToCPUOptions> {
  PassOptions::Option<double> alpha{
      *this, "alpha", llvm::cl::desc("alpha setting to specialize for"),
      llvm::cl::init(1.0)};
  PassOptions::Option<double> density{
      *this, "density",
      llvm::cl::desc("density setting (default: the config's keep_ratio_base)"),
      llvm::cl::init(-1.0)};
  PassOptions::Option<bool> toLLVM{
      *this, "to-llvm", llvm::cl::desc("continue down to the LLVM dialect"),
      llvm::cl::init(true)};
};

/// Options of -proteus-lower-to-nvvm.
struct LowerToNVVMOptions : public PassPipelineOptions<LowerToNVVMOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("target SM"), llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{*this, "features",
                                            llvm::cl::desc("PTX features"),
                                            llvm::cl::init("+ptx80")};
  PassOptions::Option<bool> convert{
      *this, "convert",
      llvm::cl::desc("start with -convert-proteus-to-gpu (off: the module "
                     "holds the converted gpu.module already)"),
      llvm::cl::init(true)};
};

/// convert-proteus-to-gpu -> NVVM -> PTX in a gpu.binary (format isa).
void buildLowerToNVVMPipeline(OpPassManager &pm,
                              const LowerToNVVMOptions &options);

/// Registers -proteus-lower-to-nvvm.
void registerNVVMPipeline();

/// The GPU/NVVM dialects, target interface and translations the PTX path needs.
void registerNVVMLoweringInterfaces(DialectRegistry &registry);

/// Registers the host and NVPTX backends with LLVM's target registry, which
/// is not thread-safe: call it once before lowering modules on several
/// threads (each with its own MLIRContext).
void initializeCodegenBackends();

/// The PTX text of the (last) gpu.binary in `module`, or "".
std::string extractPTX(ModuleOp module);

/// specialize -> decompose -> convert-proteus-to-scf -> (LLVM dialect).
void buildLowerToCPUPipeline(OpPassManager &pm,
                             const LowerToCPUOptions &options);

/// Registers -proteus-lower-to-cpu.
void registerProteusPipelines();

/// The ConvertToLLVM interfaces and LLVM IR translations the CPU path needs.
void registerCPULoweringInterfaces(DialectRegistry &registry);

/// Translates an LLVM-dialect module to an x86-64 (host) object file at -O3
/// for the instruction set `cpu` (an LLVM CPU name: "x86-64", "x86-64-v3").
/// On failure returns false with the reason in `error`.
bool emitHostObject(ModuleOp module, StringRef cpu,
                    SmallVectorImpl<char> &object, std::string &error);

} // namespace mlir::proteus

#endif // PROTEUS_PIPELINES_PIPELINES_H
