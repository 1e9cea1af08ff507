//===- golden_top_a.cpp - The golden `top_a` kind ---------------------===//
//
// The Top-A sampler's distribution (REFERENCE.md 8) against the reference's:
// the consensus from the case's layer call, then prt_top_a (and the GPU
// kernel on a GPU context) at several uniform numbers (SPEC.md section 5).
//
//===----------------------------------------------------------------------===//

#include "golden_case.h"

#include "layer_buffers.h"
#include "top_a_demo.h"

#include "proteus_rt/schedule.h"

#include <algorithm>
#include <cmath>

using namespace proteus_rt;

namespace proteus_run::golden {
namespace {

/// The head consensus of the case's layer call (x, state) at the last
/// position: rel L2 against `consensus` (SPEC.md section 5: <= 1e-5).
std::vector<float> topAConsensus(Context &cx, const json &doc, const Tensors &t,
                                 prt_bundle *bundle, Verdict &v) {
  const Config c = parseConfig(doc.at("config"));
  const Tensor &x = t.at("x");
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2);
  prt_plan_options o;
  prt_plan_options_init(&o);
  o.B = B;
  o.T = T;
  o.alpha = alphaRamp(c, T, -1.0, -1.0);
  PlanHandle plan;
  check(prt_plan_create(bundle, &o, &plan.p), "prt_plan_create");
  prt_plan_info info;
  check(prt_plan_get_info(plan.p, &info), "prt_plan_get_info");
  LayerBuffers io(cx.ctx, info.backend == PRT_BACKEND_GPU);
  io.x = x.f;
  bindLayerState(io, t, c);
  io.consensusMode = 1;
  try {
    io.prepare(B, T, C);
    const prt_layer_args a = io.args(nullptr);
    check(prt_layer_forward(plan.p, &a), "prt_layer_forward");
    io.fetch();
  } catch (const std::runtime_error &e) {
    throw CaseError(e.what());
  }
  const double rel = relL2(io.consensus, t.at("consensus").f);
  v.add(rel <= 1e-5, std::string("consensus (") +
                         (info.backend == PRT_BACKEND_GPU ? "gpu" : "cpu") +
                         " layer) relL2 " + fmt("%.2e", rel));
  return io.consensus;
}

/// One prt_top_a call on host buffers (batch 1) with uniform number u.
struct TopAResult {
  std::vector<int64_t> kept;
  std::vector<float> probs;
  int64_t nucleus = 0, sample = -1;
};
TopAResult runTopA(prt_context *gpuCtx, prt_bundle *bundle, const json &params,
                   const Tensors &t, const std::vector<float> &consensus,
                   float u) {
  const Tensor &emb = t.at("embedding");
  const int64_t V = emb.dim(0), C = emb.dim(1);
  const std::string mode = params.at("mode").get<std::string>();
  prt_top_a_args a{};
  a.B = 1;
  a.V = V;
  a.C = C;
  a.dtype = PRT_DTYPE_F32;
  a.logits = t.at("logits").f.data();
  a.consensus = consensus.data();
  a.embedding = emb.f.data();
  a.uniform = &u;
  a.mode = mode == "off"      ? PRT_TOP_A_OFF
           : mode == "filter" ? PRT_TOP_A_FILTER
                              : PRT_TOP_A_BLEND;
  if (mode != "off" && mode != "blend" && mode != "filter")
    throw CaseError("params.mode '" + mode + "' is not off, blend or filter");
  a.top_p = params.at("top_p").get<double>();
  a.lambda = params.at("lambda").get<double>();
  a.tau = params.at("tau").get<double>();
  const json &th = params.at("threshold");
  a.threshold = th.is_null() ? 0.0 : th.get<double>();
  TopAResult r;
  std::vector<int64_t> kept(static_cast<size_t>(V), -7), counts(2, -7);
  std::vector<float> probs(static_cast<size_t>(V),
                           std::numeric_limits<float>::quiet_NaN());
  a.kept = kept.data();
  a.probs = probs.data();
  a.counts = counts.data();
  a.sample = &r.sample;
  if (gpuCtx) {
    try {
      runGpuTopA(gpuCtx, bundle, a);
    } catch (const std::runtime_error &e) {
      throw CaseError(e.what());
    }
    if (counts[0] < 1 || counts[1] < 1)
      throw CaseError("prt_gpu_top_a returned counts (" +
                      std::to_string(counts[0]) + ", " +
                      std::to_string(counts[1]) + ")");
  } else {
    check(prt_top_a(bundle, &a), "prt_top_a");
  }
  r.nucleus = counts[0];
  r.kept.assign(kept.begin(), kept.begin() + counts[1]);
  r.probs.assign(probs.begin(), probs.begin() + counts[1]);
  return r;
}

} // namespace

Verdict checkTopA(Context &cx, const json &doc, const Tensors &t) {
  const json &cfgJson = doc.at("config");
  const Config c = parseConfig(cfgJson);
  const int64_t T = t.at("x").dim(1);
  Verdict v;
  BundleHandle bundle;
  openBundle(cx, cfgJson.dump(2), alphaRamp(c, T, -1.0, -1.0), bundle, v.note);
  const std::vector<float> mine = topAConsensus(cx, doc, t, bundle.b, v);

  // The sampler on the case's own consensus (SPEC.md section 5): prt_top_a,
  // and prt_gpu_top_a on a GPU context.
  const json &params = doc.at("params");
  const float u = 0.5f;
  prt_backend_info bi;
  check(prt_context_backend(cx.ctx, &bi), "prt_context_backend");
  std::vector<prt_context *> samplers = {nullptr};
  if (bi.backend == PRT_BACKEND_GPU)
    samplers.push_back(cx.ctx);
  for (prt_context *gpu : samplers) {
    const std::string on = gpu ? "gpu " : "";
    const TopAResult r =
        runTopA(gpu, bundle.b, params, t, t.at("consensus").f, u);
    const std::vector<int64_t> &refKept = t.at("kept").i;
    const std::vector<float> &refProbs = t.at("probs").f;
    v.add(r.nucleus == doc.at("stats").at("nucleus").get<int64_t>(),
          on + "nucleus " + std::to_string(r.nucleus) + " (ref " +
              doc["stats"]["nucleus"].dump() + ")");
    const bool same = r.kept == refKept;
    v.add(same, on + "kept exact " + (same ? "true" : "false") + " (" +
                    std::to_string(r.kept.size()) + "/" +
                    std::to_string(refKept.size()) + ")");
    double e = same ? 0.0 : std::numeric_limits<double>::infinity();
    for (size_t k = 0; same && k < refProbs.size(); ++k)
      e = std::max(e, std::fabs(static_cast<double>(r.probs[k]) - refProbs[k]));
    v.add(e <= 1e-6, on + "probs maxabs " + fmt("%.1e", e));
    const int64_t argmax =
        r.kept[std::max_element(r.probs.begin(), r.probs.end()) -
               r.probs.begin()];
    v.add(argmax == t.at("argmax_token").i.at(0),
          on + "argmax " + std::to_string(argmax) + " (ref " +
              std::to_string(t.at("argmax_token").i.at(0)) + ")");
    // The draw: the first kept token whose binary64 cumulative probability
    // exceeds u times the total, recomputed here from the returned probs.
    double total = 0, cum = 0;
    for (float p : r.probs)
      total += p;
    size_t j = 0;
    while (j + 1 < r.probs.size() && cum + r.probs[j] <= u * total)
      cum += r.probs[j++];
    v.add(r.sample == r.kept[j],
          on + "sample(u=0.5) " + std::to_string(r.sample) + " (inverse CDF " +
              std::to_string(r.kept[j]) + ")");
  }
  // End to end: the sampler on the consensus this layer computed.
  const std::vector<int64_t> &refKept = t.at("kept").i;
  const std::vector<float> &refProbs = t.at("probs").f;
  const TopAResult own = runTopA(nullptr, bundle.b, params, t, mine, u);
  double e2 = own.kept == refKept ? 0.0 : -1.0;
  for (size_t k = 0; e2 >= 0 && k < refProbs.size(); ++k)
    e2 = std::max(e2,
                  std::fabs(static_cast<double>(own.probs[k]) - refProbs[k]));
  v.add(true, e2 < 0 ? "(on the layer's consensus: kept differ)"
                     : "(on the layer's consensus: kept exact, probs maxabs " +
                           fmt("%.1e", e2) + ")");
  return v;
}

} // namespace proteus_run::golden
