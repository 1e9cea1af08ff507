//===- top_a_demo.h - proteus-run --top-a-demo ------------------*- C++ -*-===//
//
// One decoding step with Top-A: a layer call that returns the head consensus
// at the last position, then prt_top_a on random logits and a random
// embedding (and prt_gpu_top_a on the same inputs on a GPU context).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RUN_TOP_A_DEMO_H
#define PROTEUS_RUN_TOP_A_DEMO_H

#include "proteus_rt/proteus_rt.h"

#include <cstdint>
#include <string>

namespace proteus_run {

struct TopADemoOptions {
  std::string bundle;
  int64_t B = 1, T = 4096, V = 32000;
  uint64_t seed = 0;
  prt_backend backend = PRT_BACKEND_AUTO;
  prt_top_a_mode mode = PRT_TOP_A_BLEND;
  double topP = 0.9, lambda = 0.5, tau = 0.7, threshold = 0.0;
  float uniform = 0.5f;
  double logitScale = 5.0;         ///< logits ~ N(0, scale^2)
  prt_dtype dtype = PRT_DTYPE_F32; ///< of logits and embedding
};

/// prt_gpu_top_a on device copies of the host buffers `host` names (inputs
/// uploaded, outputs copied back into them); throws std::runtime_error with
/// the runtime's message when a call fails.
void runGpuTopA(prt_context *ctx, prt_bundle *bundle,
                const prt_top_a_args &host);

/// Runs the demo and prints what it found; the exit status (0: every call
/// succeeded and, on a GPU context, the GPU sampler agreed with the CPU's).
int runTopADemo(const TopADemoOptions &o);

} // namespace proteus_run

#endif // PROTEUS_RUN_TOP_A_DEMO_H
