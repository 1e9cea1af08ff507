//===- proteus-opt.cpp - The Proteus optimizer driver ---------------------===//
//
// Runs any proteus pass or pipeline on an .mlir file and prints the result;
// --mlir-print-ir-after-all shows every stage of a lowering.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "proteus/Registration/Registration.h"
#include "proteus_rt/version.h"

#include "llvm/Support/CommandLine.h"

int main(int argc, char **argv) {
  llvm::cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << prt::versionLine("proteus-opt") << "\n";
  });
  mlir::proteus::registerProteusPasses();
  mlir::DialectRegistry registry;
  mlir::proteus::registerProteusDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Proteus optimizer driver\n", registry));
}
