//===- layer_buffers.h - Layer call tensors, host or device ---*- C++ -*-===//
//
// A layer call takes host buffers on a CPU plan and device buffers on a GPU
// plan (proteus_rt.h, prt_layer_args). LayerBuffers holds the tensors on the
// host, where the caller fills and reads them, and on a GPU plan mirrors them
// in device memory of the plan's context, so that one piece of code runs a
// call on either backend (proteus-run --bundle and --golden).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RUN_LAYER_BUFFERS_H
#define PROTEUS_RUN_LAYER_BUFFERS_H

#include "proteus_rt/proteus_rt.h"

#include <cstdint>
#include <string>
#include <vector>

namespace proteus_run {

/// Throws std::runtime_error "<what>: <status>: <prt_last_error()>" unless
/// `status` is PRT_OK.
void mustSucceed(prt_status status, const std::string &what);

class LayerBuffers {
public:
  /// `gpu`: the calls run on a GPU plan of `context`, whose device holds the
  /// copies args() points at.
  LayerBuffers(prt_context *context, bool gpu);
  ~LayerBuffers();
  LayerBuffers(const LayerBuffers &) = delete;
  LayerBuffers &operator=(const LayerBuffers &) = delete;

  bool gpu() const { return gpu_; }

  /// Inputs (f32), filled by the caller: x (B,T,C), w_qkv (3C,C), b_qkv (3C),
  /// w_proj (C,C), b_proj (C), w_router (G,C), and the prototype state
  /// protos (G,C), usage (G), conf (G), updated in place when the plan
  /// applies the EMA. An empty vector is passed as NULL.
  std::vector<float> x, wQkv, bQkv, wProj, bProj, wRouter, protos, usage, conf;
  /// Outputs: y (B,T,C), token mask and importance (B,T).
  std::vector<float> y, importance;
  std::vector<int8_t> mask;
  /// Set before prepare(): 0 no consensus, 1 the head consensus (B,C) at the
  /// last position, 2 at every position (B,T,C) (prt_layer_args.consensus).
  int consensusMode = 0;
  std::vector<float> consensus;

  /// Sizes the outputs for (B, T, C) and poisons them (NaN, mask 2) so that
  /// an element the call leaves unwritten shows; on a GPU plan uploads the
  /// inputs and the poisoned outputs.
  void prepare(int64_t B, int64_t T, int64_t C);
  /// The arguments of one call on the default stream: the host vectors, or
  /// their device copies.
  prt_layer_args args(prt_layer_stats *stats) const;
  /// On a GPU plan: waits for the default stream and copies the outputs and
  /// the prototype state back into the host vectors.
  void fetch();

private:
  struct Device {
    uint64_t ptr = 0;
    int64_t bytes = 0;
  };
  void put(Device &d, const void *src, int64_t bytes);
  void get(void *dst, const Device &d, int64_t bytes) const;
  template <typename T>
  void *at(const Device &d, const std::vector<T> &v) const;

  prt_context *context_;
  bool gpu_;
  int64_t B_ = 0, T_ = 0;
  Device dx_, dwQkv_, dbQkv_, dwProj_, dbProj_, dwRouter_, dprotos_, dusage_,
      dconf_, dy_, dimportance_, dmask_, dconsensus_;
};

} // namespace proteus_run

#endif // PROTEUS_RUN_LAYER_BUFFERS_H
