//===- chunked_run.h - proteus-run --chunked --------------------*- C++ -*-===//
//
// The chunked shortlist pipeline (prt_chunked_run) on random weights over a
// random sequence or the rows of a file, with a progress bar on a terminal.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RUN_CHUNKED_RUN_H
#define PROTEUS_RUN_CHUNKED_RUN_H

#include "proteus_rt/proteus_rt.h"

#include <cstdint>
#include <string>

namespace proteus_run {

struct ChunkedRunOptions {
  std::string bundle;      ///< the chunk pass's bundle
  std::string finalBundle; ///< the final pass's ("": the chunk pass's)
  std::string input;       ///< raw (T, C) rows; "": random N(0, 1) rows
  prt_dtype inputDtype = PRT_DTYPE_F32;
  int64_t T = 0; ///< 0: the rows of `input`, else 1 << 20
  int64_t chunkLen = 65536, buffer = 32768, budget = 4096;
  double topP = 0.9;
  uint64_t seed = 0;
  prt_backend backend = PRT_BACKEND_CPU;
};

/// Runs the pipeline and prints the plan, the progress, the timings and the
/// kept tokens; the exit status (0: it ran and the output is finite).
int runChunked(const ChunkedRunOptions &o);

} // namespace proteus_run

#endif // PROTEUS_RUN_CHUNKED_RUN_H
