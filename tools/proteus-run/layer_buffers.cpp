//===- layer_buffers.cpp - The tensors of layer calls, host or device -----===//
//
// Device copies are made with the runtime's synchronous copies on the legacy
// default stream, which is also the stream args() leaves the call on, so
// uploads, the call and fetch() run in order.
//
//===----------------------------------------------------------------------===//

#include "layer_buffers.h"

#include <limits>
#include <stdexcept>

namespace proteus_run {

void mustSucceed(prt_status status, const std::string &what) {
  if (status != PRT_OK)
    throw std::runtime_error(what + ": " + prt_status_name(status) + ": " +
                             prt_last_error());
}

namespace {

template <typename T> int64_t bytesOf(const std::vector<T> &v) {
  return static_cast<int64_t>(v.size() * sizeof(T));
}

} // namespace

LayerBuffers::LayerBuffers(prt_context *context, bool gpu)
    : context_(context), gpu_(gpu) {}

LayerBuffers::~LayerBuffers() {
  for (Device *d :
       {&dx_, &dwQkv_, &dbQkv_, &dwProj_, &dbProj_, &dwRouter_, &dprotos_,
        &dusage_, &dconf_, &dy_, &dimportance_, &dmask_, &dconsensus_})
    if (d->ptr)
      prt_device_free(context_, d->ptr);
}

void LayerBuffers::put(Device &d, const void *src, int64_t bytes) {
  if (bytes == 0)
    return;
  if (d.bytes < bytes) {
    if (d.ptr)
      mustSucceed(prt_device_free(context_, d.ptr), "prt_device_free");
    d = Device{};
    mustSucceed(prt_device_alloc(context_, bytes, &d.ptr),
                "prt_device_alloc(" + std::to_string(bytes) + ")");
    d.bytes = bytes;
  }
  mustSucceed(prt_memcpy_htod(context_, d.ptr, src, bytes), "prt_memcpy_htod");
}

void LayerBuffers::get(void *dst, const Device &d, int64_t bytes) const {
  if (bytes > 0)
    mustSucceed(prt_memcpy_dtoh(context_, dst, d.ptr, bytes),
                "prt_memcpy_dtoh");
}

template <typename T>
void *LayerBuffers::at(const Device &d, const std::vector<T> &v) const {
  if (v.empty())
    return nullptr;
  if (gpu_)
    return reinterpret_cast<void *>(static_cast<uintptr_t>(d.ptr));
  return const_cast<T *>(v.data());
}

void LayerBuffers::prepare(int64_t B, int64_t T, int64_t C) {
  B_ = B;
  T_ = T;
  const size_t tokens = static_cast<size_t>(B * T);
  y.assign(tokens * static_cast<size_t>(C),
           std::numeric_limits<float>::quiet_NaN());
  importance.assign(tokens, std::numeric_limits<float>::quiet_NaN());
  mask.assign(tokens, int8_t(2));
  consensus.assign(
      consensusMode == 0
          ? 0
          : static_cast<size_t>(B * (consensusMode == 2 ? T : 1) * C),
      std::numeric_limits<float>::quiet_NaN());
  if (!gpu_)
    return;
  put(dx_, x.data(), bytesOf(x));
  put(dwQkv_, wQkv.data(), bytesOf(wQkv));
  put(dbQkv_, bQkv.data(), bytesOf(bQkv));
  put(dwProj_, wProj.data(), bytesOf(wProj));
  put(dbProj_, bProj.data(), bytesOf(bProj));
  put(dwRouter_, wRouter.data(), bytesOf(wRouter));
  put(dprotos_, protos.data(), bytesOf(protos));
  put(dusage_, usage.data(), bytesOf(usage));
  put(dconf_, conf.data(), bytesOf(conf));
  put(dy_, y.data(), bytesOf(y));
  put(dimportance_, importance.data(), bytesOf(importance));
  put(dmask_, mask.data(), bytesOf(mask));
  put(dconsensus_, consensus.data(), bytesOf(consensus));
}

prt_layer_args LayerBuffers::args(prt_layer_stats *stats) const {
  prt_layer_args a{};
  a.B = B_;
  a.T = T_;
  a.x = static_cast<const float *>(at(dx_, x));
  a.w_qkv = static_cast<const float *>(at(dwQkv_, wQkv));
  a.b_qkv = static_cast<const float *>(at(dbQkv_, bQkv));
  a.w_proj = static_cast<const float *>(at(dwProj_, wProj));
  a.b_proj = static_cast<const float *>(at(dbProj_, bProj));
  a.w_router = static_cast<const float *>(at(dwRouter_, wRouter));
  a.prototypes = static_cast<float *>(at(dprotos_, protos));
  a.usage = static_cast<float *>(at(dusage_, usage));
  a.confidence = static_cast<float *>(at(dconf_, conf));
  a.y = static_cast<float *>(at(dy_, y));
  a.token_mask = static_cast<int8_t *>(at(dmask_, mask));
  a.importance = static_cast<float *>(at(dimportance_, importance));
  a.stats = stats;
  a.consensus = static_cast<float *>(at(dconsensus_, consensus));
  a.consensus_all_positions = consensusMode == 2 ? 1 : 0;
  return a;
}

void LayerBuffers::fetch() {
  if (!gpu_)
    return;
  mustSucceed(prt_stream_synchronize(context_, nullptr), "the layer call");
  get(y.data(), dy_, bytesOf(y));
  get(importance.data(), dimportance_, bytesOf(importance));
  get(mask.data(), dmask_, bytesOf(mask));
  get(consensus.data(), dconsensus_, bytesOf(consensus));
  get(protos.data(), dprotos_, bytesOf(protos));
  get(usage.data(), dusage_, bytesOf(usage));
  get(conf.data(), dconf_, bytesOf(conf));
}

} // namespace proteus_run
