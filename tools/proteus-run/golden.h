//===- golden.h - proteus-run's golden-vector checker -----------*- C++ -*-===//
//
// Checks the golden cases of shared/golden (format in golden/README.md)
// against the schedule math and against bundles compiled on demand, with
// the matching rules of SPEC.md section 4 as the oracle applies them
// (shared/oracle/run_all2.py).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RUN_GOLDEN_H
#define PROTEUS_RUN_GOLDEN_H

#include "proteus_rt/proteus_rt.h"

#include <string>
#include <vector>

namespace proteus_run {

struct GoldenOptions {
  std::vector<std::string> dirs; ///< case folders or folders of case folders
  std::string compiler;          ///< "" when none was found
  std::string compilerOrigin;    ///< how `compiler` was chosen, for messages
  std::string workDir;           ///< "" = a temporary folder, removed at exit
  bool verbose = false;
  /// The context's backend. PRT_BACKEND_CPU also compiles CPU-only bundles
  /// (proteus-compile --arch none): the GPU kernels would never run.
  prt_backend backend = PRT_BACKEND_AUTO;
};

/// Runs every case found, printing one line per case and the final
/// "N passed, M failed". Returns the process exit code.
int runGolden(const GoldenOptions &options);

} // namespace proteus_run

#endif // PROTEUS_RUN_GOLDEN_H
