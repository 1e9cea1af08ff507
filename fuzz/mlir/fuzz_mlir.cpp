//===- fuzz_mlir.cpp - Fuzz target: MLIR parser, verifiers, pipelines -----===//
//
// libFuzzer entry point. Any text is parsed as a module with the Proteus
// dialects; one that parses and verifies runs through each pipeline
// (-proteus-lower-to-cpu, -proteus-lower-to-nvvm) on its own copy. A
// pipeline may fail with a diagnostic; it may not crash.
//
// Built with the compiler's own toolchain (g++) and linked with Debian's
// libFuzzer archive: the libraries under test are not instrumented for
// coverage, so libFuzzer mutates the seeds without coverage feedback.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "proteus/Pipelines/Pipelines.h"
#include "proteus/Registration/Registration.h"

#include <cstddef>
#include <cstdint>
#include <functional>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static DialectRegistry *registry = [] {
    auto *r = new DialectRegistry();
    proteus::registerProteusDialects(*r);
    return r;
  }();
  MLIRContext ctx(*registry, MLIRContext::Threading::DISABLED);
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(
      StringRef(reinterpret_cast<const char *>(data), size), &ctx);
  if (!module || failed(verify(*module)))
    return 0;
  const std::function<void(OpPassManager &)> pipelines[] = {
      [](OpPassManager &pm) {
        proteus::buildLowerToCPUPipeline(pm, proteus::LowerToCPUOptions());
      },
      [](OpPassManager &pm) {
        proteus::buildLowerToNVVMPipeline(pm, proteus::LowerToNVVMOptions());
      }};
  for (const auto &build : pipelines) {
    OwningOpRef<ModuleOp> copy = module->clone();
    PassManager pm(&ctx);
    build(pm);
    (void)pm.run(*copy);
  }
  return 0;
}
