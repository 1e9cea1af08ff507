//===- golden_case.h - What proteus-run's golden kinds share ---*- C++ -*-===//
//
// The case data (tensors read from case.json), the verdict, the runtime
// objects a case uses and the helpers of golden.cpp, shared with the kinds
// that live in their own files (golden_top_a.cpp, golden_chunked.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RUN_GOLDEN_CASE_H
#define PROTEUS_RUN_GOLDEN_CASE_H

#include "proteus_rt/config_json.h"
#include "proteus_rt/proteus_rt.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace proteus_run {
class LayerBuffers;
}

namespace proteus_run::golden {

using nlohmann::json;

/// A case that cannot be checked (bad data, a failed compile or call).
struct CaseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A regular file of at most 4 GiB (golden tensors), never a FIFO.
std::string readAll(const std::string &path);
/// printf of one double.
std::string fmt(const char *format, double v);
/// Throws CaseError with the runtime's message unless `s` is PRT_OK.
void check(prt_status s, const char *what);
/// ||a - ref|| / ||ref|| (the denominator at least 1e-30).
double relL2(const std::vector<float> &a, const std::vector<float> &ref);

/// One tensor of a case: f32 or i64 data.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> f;   ///< dtype f32
  std::vector<int64_t> i; ///< dtype i64
  int64_t dim(size_t k) const { return k < shape.size() ? shape[k] : 0; }
};

/// The tensors case.json lists, read from the case folder.
class Tensors {
public:
  Tensors(const std::string &dir, const json &doc);
  bool has(const std::string &name) const { return tensors_.count(name) != 0; }
  const Tensor &at(const std::string &name) const;

private:
  std::map<std::string, Tensor> tensors_;
};

/// A case's outcome: the parts checked, joined with "; ".
struct Verdict {
  bool ok = true;
  std::string details;
  std::string note; ///< -v only
  void add(bool good, const std::string &part) {
    ok = ok && good;
    details += (details.empty() ? "" : "; ") + part;
  }
};

class BundleCache;

struct BundleHandle {
  prt_bundle *b = nullptr;
  ~BundleHandle() { prt_bundle_close(b); }
};
struct PlanHandle {
  prt_plan *p = nullptr;
  ~PlanHandle() { prt_plan_destroy(p); }
};

/// What every case of one run shares.
struct Context {
  prt_context *ctx = nullptr;
  BundleCache *bundles = nullptr;
  bool verbose = false;
};

/// The configuration of a case.json `config` object.
proteus_rt::Config parseConfig(const json &cfg);
/// Compiles and opens the bundle for `config` at `alpha`.
void openBundle(Context &cx, const std::string &config, double alpha,
                BundleHandle &out, std::string &note);

/// The layer's weights and prototype state of a case (the reference's
/// state_dict names) into `io`.
void bindLayerState(LayerBuffers &io, const Tensors &t,
                    const proteus_rt::Config &c);

/// The `top_a` kind (golden_top_a.cpp).
Verdict checkTopA(Context &cx, const json &doc, const Tensors &t);
/// The `chunked` kind (golden_chunked.cpp).
Verdict checkChunked(Context &cx, const json &doc, const Tensors &t);

} // namespace proteus_run::golden

#endif // PROTEUS_RUN_GOLDEN_CASE_H
