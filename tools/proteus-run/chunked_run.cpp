//===- chunked_run.cpp - proteus-run --chunked ----------------------------===//
//
// Opens the chunk-pass and final-pass bundles, draws each pass's weights from
// the seed (scaled like an initialised layer), and runs prt_chunked_run over
// a random sequence or a file of raw rows. On a terminal a progress bar is
// redrawn after every chunk; otherwise about twenty plain lines are printed.
//
//===----------------------------------------------------------------------===//

#include "chunked_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace proteus_run {
namespace {

bool ok(prt_status s, const char *what) {
  if (s == PRT_OK)
    return true;
  std::fprintf(stderr, "proteus-run: %s: %s: %s\n", what, prt_status_name(s),
               prt_last_error());
  return false;
}

/// One pass's weights and prototype state, drawn from `rng`.
struct Weights {
  std::vector<float> qkv, bqkv, proj, bproj, router, protos, usage, conf;
  prt_chunked_weights w{};
  Weights(int64_t C, int64_t G, std::mt19937_64 &rng) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto fill = [&](std::vector<float> &v, int64_t n, float scale) {
      v.resize(n);
      for (float &f : v)
        f = normal(rng) * scale;
    };
    const float s = 1.0f / std::sqrt(static_cast<float>(C));
    fill(qkv, 3 * C * C, s);
    fill(bqkv, 3 * C, 0.02f);
    fill(proj, C * C, s);
    fill(bproj, C, 0.02f);
    fill(router, G * C, s);
    fill(protos, G * C, 1.0f);
    usage.assign(G, 0.0f);
    conf.assign(G, 1.0f);
    w = {qkv.data(),    bqkv.data(),   proj.data(),  bproj.data(),
         router.data(), protos.data(), usage.data(), conf.data()};
  }
};

struct Progress {
  bool tty = ::isatty(::fileno(stdout)) == 1;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
};

int onChunk(const prt_chunk_report *r, void *user) {
  const Progress &p = *static_cast<Progress *>(user);
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - p.t0)
          .count();
  const double frac = double(r->index + 1) / double(r->chunks);
  const double rate = double(r->end) / std::max(s, 1e-9);
  if (p.tty) {
    const int width = 30, done = static_cast<int>(frac * width);
    std::printf("\r[%.*s%*s] %5.1f%%  chunk %lld/%lld  %.3g tok/s ", done,
                "##############################", width - done, "",
                100.0 * frac, static_cast<long long>(r->index + 1),
                static_cast<long long>(r->chunks), rate);
    if (r->index + 1 == r->chunks)
      std::printf("\n");
  } else {
    const int64_t every = std::max<int64_t>(1, r->chunks / 20);
    if ((r->index + 1) % every == 0 || r->index + 1 == r->chunks)
      std::printf("chunk %lld/%lld [%lld, %lld): %lld promoted, %.3g tok/s\n",
                  static_cast<long long>(r->index + 1),
                  static_cast<long long>(r->chunks),
                  static_cast<long long>(r->start),
                  static_cast<long long>(r->end),
                  static_cast<long long>(r->promoted_count), rate);
  }
  std::fflush(stdout);
  return 0;
}

struct Handles {
  prt_context *ctx = nullptr;
  prt_bundle *chunk = nullptr, *fin = nullptr;
  prt_plan *chunkPlan = nullptr, *finalPlan = nullptr;
  ~Handles() {
    prt_plan_destroy(chunkPlan);
    prt_plan_destroy(finalPlan);
    if (fin != chunk)
      prt_bundle_close(fin);
    prt_bundle_close(chunk);
    prt_context_destroy(ctx);
  }
};

bool makePlan(prt_bundle *bundle, int64_t T, bool ema, prt_plan **plan) {
  prt_plan_options o;
  prt_plan_options_init(&o);
  o.B = 1;
  o.T = T;
  o.update_prototypes = ema ? 1 : 0;
  return ok(prt_plan_create(bundle, &o, plan), "prt_plan_create");
}

} // namespace

int runChunked(const ChunkedRunOptions &o) {
  Handles h;
  prt_context_options co;
  prt_context_options_init(&co);
  co.backend = o.backend;
  if (!ok(prt_context_create(&h.ctx, &co), "prt_context_create") ||
      !ok(prt_bundle_open(h.ctx, o.bundle.c_str(), &h.chunk), "chunk bundle"))
    return 1;
  h.fin = h.chunk;
  if (!o.finalBundle.empty() &&
      !ok(prt_bundle_open(h.ctx, o.finalBundle.c_str(), &h.fin),
          "final bundle"))
    return 1;
  prt_bundle_info ci, fi;
  if (!ok(prt_bundle_get_info(h.chunk, &ci), "prt_bundle_get_info") ||
      !ok(prt_bundle_get_info(h.fin, &fi), "prt_bundle_get_info"))
    return 1;
  if (ci.d_model != fi.d_model) {
    std::fprintf(
        stderr, "proteus-run: the chunk bundle has C %lld, the final %lld\n",
        static_cast<long long>(ci.d_model), static_cast<long long>(fi.d_model));
    return 1;
  }
  const int64_t C = ci.d_model;
  int64_t T = o.T;
  struct stat st;
  if (T == 0 && !o.input.empty() && ::stat(o.input.c_str(), &st) == 0)
    T = st.st_size / (C * prt_dtype_size(o.inputDtype));
  else if (T == 0)
    T = o.input.empty() ? int64_t(1) << 20 : 1; // 1: the runtime says why
  const int64_t chunkLen = std::min(o.chunkLen, T);
  if (!makePlan(h.chunk, chunkLen, true, &h.chunkPlan) ||
      !makePlan(h.fin, o.buffer, false, &h.finalPlan))
    return 1;
  std::mt19937_64 rng(o.seed);
  Weights cw(C, ci.gates, rng), fw(C, fi.gates, rng);
  std::vector<float> x;
  if (o.input.empty()) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    x.resize(T * C);
    for (float &f : x)
      f = normal(rng);
  }
  prt_chunked_args a{};
  a.T = T;
  a.C = C;
  a.chunk_len = chunkLen;
  a.buffer_tokens = o.buffer;
  a.per_chunk_budget = o.budget;
  a.nucleus_top_p = o.topP;
  a.x = o.input.empty() ? x.data() : nullptr;
  a.path = o.input.empty() ? nullptr : o.input.c_str();
  a.dtype = o.input.empty() ? PRT_DTYPE_F32 : o.inputDtype;
  a.bundle = h.chunk;
  a.chunk_plan = h.chunkPlan;
  a.final_plan = h.finalPlan;
  a.chunk_weights = cw.w;
  a.final_weights = fw.w;
  prt_chunked_info info;
  if (!ok(prt_chunked_plan_info(&a, &info), "prt_chunked_plan_info"))
    return 1;
  std::printf("chunked: T %lld, C %lld, %lld chunks of %lld, buffer %lld, "
              "budget %lld, top_p %g; input %s; working memory %.1f MiB\n",
              static_cast<long long>(a.T), static_cast<long long>(C),
              static_cast<long long>(info.chunks),
              static_cast<long long>(chunkLen),
              static_cast<long long>(a.buffer_tokens),
              static_cast<long long>(a.per_chunk_budget), a.nucleus_top_p,
              o.input.empty() ? "random rows in host memory" : o.input.c_str(),
              double(info.working_bytes) / (1 << 20));
  std::vector<int64_t> keep(o.buffer);
  std::vector<float> scores(o.buffer), out(o.buffer * C);
  a.keep_indices = keep.data();
  a.keep_scores = scores.data();
  a.final_output = out.data();
  Progress progress;
  a.progress = onChunk;
  a.progress_user = &progress;
  if (!ok(prt_chunked_run(&a), "prt_chunked_run"))
    return 1;
  const double s = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - progress.t0)
                       .count();
  bool finite = true;
  for (int64_t i = 0; i < a.keep_count * C; ++i)
    finite = finite && std::isfinite(out[i]);
  std::printf(
      "kept %lld tokens (first %lld, last %lld); %.3f s, %.3g "
      "tokens/s; final output %s\n",
      static_cast<long long>(a.keep_count),
      static_cast<long long>(a.keep_count ? keep[0] : -1),
      static_cast<long long>(a.keep_count ? keep[a.keep_count - 1] : -1), s,
      double(a.T) / s, finite ? "finite" : "NOT FINITE");
  return finite ? 0 : 1;
}

} // namespace proteus_run
