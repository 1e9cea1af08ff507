//===- proteus-opt.cpp - The Proteus optimizer driver ---------------------===//
//
// Runs any proteus pass or pipeline on an .mlir file and prints the result;
// --mlir-print-ir-after-all shows every stage of a lowering.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "proteus/Registration/Registration.h"

int main(int argc, char **argv) {
  mlir::proteus::registerProteusPasses();
  mlir::DialectRegistry registry;
  mlir::proteus::registerProteusDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Proteus optimizer driver\n", registry));
}
