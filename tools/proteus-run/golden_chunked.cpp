//===- golden_chunked.cpp - The golden `chunked` kind ----------------===//
//
// The chunked shortlist pipeline (REFERENCE.md 7, SPEC.md 3) against the
// reference's runner: prt_chunked_run with the case's chunk-pass and
// final-pass weights over its x, checked per chunk (importance, promoted
// indices and scores, from the progress callback) and at the end (keep
// indices and scores, final output), with SPEC.md section 5's tolerances.
// The pipeline runs on CPU plans in this release: on a GPU context the case
// runs on a CPU context of its own, and the verdict says so.
//
//===----------------------------------------------------------------------===//

#include "golden_case.h"

#include "proteus_rt/schedule.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace proteus_rt;

namespace proteus_run::golden {
namespace {

/// The weights of one pass, `prefix` "chunk_state" or "final_state";
/// the prototype state copied (the EMA updates it).
struct PassWeights {
  std::vector<float> protos, usage, conf;
  prt_chunked_weights w{};
  PassWeights(const Tensors &t, const std::string &prefix, const Config &c) {
    auto f = [&](const char *name) { return t.at(prefix + name).f.data(); };
    w.w_qkv = f(".qkv.weight");
    w.w_proj = f(".proj.weight");
    w.w_router = f(".head_router.linear.weight");
    if (c.bias) {
      w.b_qkv = f(".qkv.bias");
      w.b_proj = f(".proj.bias");
    }
    if (c.proto_enabled) {
      protos = t.at(prefix + ".routing_prototypes").f;
      usage = t.at(prefix + ".routing_usage_ema").f;
      conf = t.at(prefix + ".routing_confidence").f;
      w.prototypes = protos.data();
      w.usage = usage.data();
      w.confidence = conf.data();
    }
  }
};

/// The per-chunk checks, made as the chunks stream by.
struct ChunkChecks {
  const Tensors *t;
  double maxImportance = 0, maxScore = 0;
  int64_t chunks = 0;
  int64_t nearTies = 0; ///< order swaps within the score tolerance
  std::string mismatch; ///< the first failed exact check
};

int onChunk(const prt_chunk_report *r, void *user) {
  ChunkChecks &k = *static_cast<ChunkChecks *>(user);
  const std::string p = "chunk" + std::to_string(r->index);
  const Tensors &t = *k.t;
  const std::vector<float> &imp = t.at(p + ".importance").f;
  const std::vector<int64_t> &mask = t.at(p + ".token_mask").i,
                             &promoted = t.at(p + ".promoted").i;
  const std::vector<float> &scores = t.at(p + ".scores").f;
  const int64_t n = r->end - r->start;
  auto note = [&](const std::string &what) {
    if (k.mismatch.empty())
      k.mismatch = p + ": " + what;
  };
  if (static_cast<int64_t>(imp.size()) != n)
    note("length " + std::to_string(n) + ", ref " + std::to_string(imp.size()));
  for (int64_t i = 0; i < n && i < static_cast<int64_t>(imp.size()); ++i) {
    k.maxImportance =
        std::max(k.maxImportance, std::fabs(double(r->importance[i]) - imp[i]));
    if (r->token_mask[i] != mask[i])
      note("token_mask differs at " + std::to_string(i));
  }
  if (r->promoted_count != static_cast<int64_t>(promoted.size()))
    note("promoted " + std::to_string(r->promoted_count) + ", ref " +
         std::to_string(promoted.size()));
  // Exactly the reference's tokens, in its order except where two of its
  // scores lie within the score tolerance (1e-6) of each other: an order
  // decided by rounding (counted as near-ties). Scores are matched by index.
  std::map<int64_t, size_t> at;
  for (size_t q = 0; q < promoted.size(); ++q)
    at[promoted[q]] = q;
  for (int64_t j = 0;
       j < r->promoted_count && j < static_cast<int64_t>(promoted.size());
       ++j) {
    auto it = at.find(r->promoted[j]);
    if (it == at.end()) {
      note("promoted " + std::to_string(r->promoted[j]) + " is not the ref's");
      continue;
    }
    const double refScore = scores[it->second];
    if (r->promoted[j] != promoted[j]) {
      if (std::fabs(refScore - scores[j]) <= 1e-6)
        ++k.nearTies;
      else
        note("promoted[" + std::to_string(j) + "] " +
             std::to_string(r->promoted[j]) + ", ref " +
             std::to_string(promoted[j]));
    }
    k.maxScore = std::max(k.maxScore, std::fabs(r->scores[j] - refScore));
  }
  ++k.chunks;
  return 0;
}

struct ContextHandle {
  prt_context *c = nullptr;
  ~ContextHandle() { prt_context_destroy(c); }
};

/// A plan of `bundle` for B 1 at T.
void makePlan(prt_bundle *bundle, const Config &c, int64_t T, bool ema,
              PlanHandle &out) {
  prt_plan_options o;
  prt_plan_options_init(&o);
  o.B = 1;
  o.T = T;
  o.alpha = alphaRamp(c, T, -1.0, -1.0);
  o.update_prototypes = ema ? 1 : 0;
  check(prt_plan_create(bundle, &o, &out.p), "prt_plan_create");
}

} // namespace

Verdict checkChunked(Context &cx, const json &doc, const Tensors &t) {
  const json &p = doc.at("params");
  const json &ccJson = doc.at("chunk_config"), &fcJson = doc.at("final_config");
  const Config cc = parseConfig(ccJson), fc = parseConfig(fcJson);
  const Tensor &x = t.at("x");
  prt_chunked_args a{};
  a.T = x.dim(1);
  a.C = x.dim(2);
  a.chunk_len = p.at("chunk_len").get<int64_t>();
  a.buffer_tokens = p.at("buffer_tokens").get<int64_t>();
  a.per_chunk_budget = p.at("per_chunk_budget").get<int64_t>();
  a.nucleus_top_p = p.at("nucleus_top_p").get<double>();
  a.x = x.f.data();
  a.dtype = PRT_DTYPE_F32;

  // The pipeline runs on CPU plans: a CPU context when the run's is GPU.
  Verdict v;
  Context local = cx;
  ContextHandle cpu;
  prt_backend_info bi;
  check(prt_context_backend(cx.ctx, &bi), "prt_context_backend");
  if (bi.backend == PRT_BACKEND_GPU) {
    prt_context_options co;
    prt_context_options_init(&co);
    co.backend = PRT_BACKEND_CPU;
    check(prt_context_create(&cpu.c, &co), "prt_context_create");
    local.ctx = cpu.c;
    v.add(true, "cpu path (no GPU streaming path yet)");
  }
  std::string note;
  BundleHandle chunkBundle, finalBundle;
  openBundle(local, ccJson.dump(2), alphaRamp(cc, a.chunk_len, -1.0, -1.0),
             chunkBundle, note);
  openBundle(local, fcJson.dump(2), alphaRamp(fc, a.buffer_tokens, -1.0, -1.0),
             finalBundle, note);
  PlanHandle chunkPlan, finalPlan;
  makePlan(chunkBundle.b, cc, a.chunk_len, cc.proto_enabled, chunkPlan);
  makePlan(finalBundle.b, fc, a.buffer_tokens, false, finalPlan);
  PassWeights chunkW(t, "chunk_state", cc), finalW(t, "final_state", fc);
  a.bundle = chunkBundle.b;
  a.chunk_plan = chunkPlan.p;
  a.final_plan = finalPlan.p;
  a.chunk_weights = chunkW.w;
  a.final_weights = finalW.w;
  ChunkChecks k;
  k.t = &t;
  a.progress = onChunk;
  a.progress_user = &k;
  std::vector<int64_t> keep(a.buffer_tokens);
  std::vector<float> keepScores(a.buffer_tokens),
      out(a.buffer_tokens * a.C, std::nanf(""));
  a.keep_indices = keep.data();
  a.keep_scores = keepScores.data();
  a.final_output = out.data();
  check(prt_chunked_run(&a), "prt_chunked_run");

  const int64_t chunks = static_cast<int64_t>(doc.at("chunks").size());
  v.add(k.chunks == chunks, std::to_string(k.chunks) + " chunks");
  v.add(k.mismatch.empty(),
        k.mismatch.empty() ? "promoted exact (" + std::to_string(k.nearTies) +
                                 " in near-tie order)"
                           : k.mismatch);
  v.add(k.maxImportance <= 1e-5,
        "importance max abs " + fmt("%.2e", k.maxImportance));
  v.add(k.maxScore <= 1e-6, "scores max abs " + fmt("%.2e", k.maxScore));
  const std::vector<int64_t> &refKeep = t.at("keep_indices").i;
  const std::vector<float> &refScores = t.at("keep_scores").f;
  const int64_t K = static_cast<int64_t>(refKeep.size());
  bool same = a.keep_count == K;
  double scoreErr = 0;
  for (int64_t j = 0; same && j < K; ++j) {
    same = keep[j] == refKeep[j];
    scoreErr =
        std::max(scoreErr, std::fabs(double(keepScores[j]) - refScores[j]));
  }
  v.add(same,
        "keep_indices " + std::to_string(a.keep_count) +
            (same ? " exact" : " differ (ref " + std::to_string(K) + ")"));
  v.add(scoreErr <= 1e-6, "keep_scores max abs " + fmt("%.2e", scoreErr));
  if (same) {
    out.resize(K * a.C);
    const double rel = relL2(out, t.at("final_output").f);
    v.add(rel <= 1e-5, "final_output relL2 " + fmt("%.2e", rel));
  }
  if (cc.proto_enabled) {
    // The chunk model's EMA state after the last chunk (SPEC.md section 5's
    // state_after tolerances).
    const double pe = relL2(chunkW.protos,
                            t.at("chunk_state_after.routing_prototypes").f),
                 ce = relL2(chunkW.conf,
                            t.at("chunk_state_after.routing_confidence").f),
                 ue = relL2(chunkW.usage,
                            t.at("chunk_state_after.routing_usage_ema").f);
    v.add(pe <= 1e-6 && ce <= 1e-6 && ue <= 2e-6,
          "chunk_state_after rel P " + fmt("%.1e", pe) + ", conf " +
              fmt("%.1e", ce) + ", usage " + fmt("%.1e", ue));
  }
  if (cx.verbose)
    v.note += note;
  return v;
}

} // namespace proteus_run::golden
