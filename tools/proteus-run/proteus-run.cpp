//===- proteus-run.cpp - Run a Proteus kernel bundle, or check goldens ----===//
//
// Two modes: run one bundle's layer on random inputs and report the
// schedule, statistics and timings; or check golden vectors (compiling the
// bundles they need with proteus-compile). Links only proteus_rt.
//
//===----------------------------------------------------------------------===//

#include "chunked_run.h"
#include "golden.h"
#include "layer_buffers.h"
#include "top_a_demo.h"

#include "proteus_rt/proteus_rt.h"
#include "proteus_rt/version.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace {

const char kHelp[] =
    R"(proteus-run: run a Proteus kernel bundle, or check golden vectors.

USAGE
  proteus-run --bundle DIR [--B N] [--T N] [--alpha auto|X] [--prev-alpha X]
              [--seed S] [--backend auto|cpu|gpu] [--repeat N] [--threads N]
  proteus-run --bundle DIR --top-a-demo [--V N] [--top-a-mode M] [--top-p X]
              [--threshold X] [--top-a-dtype f32|bf16] [--logit-scale X]
              [--B N] [--T N] [--seed S] [--backend B]
  proteus-run --bundle DIR --chunked [--final-bundle DIR] [--T N]
              [--chunk-len N] [--buffer N] [--budget N] [--top-p X]
              [--input FILE [--input-dtype f32|bf16]] [--seed S]
  proteus-run --golden DIR [DIR...] [--compiler PATH] [--work DIR]
              [--backend auto|cpu|gpu] [-v]
  proteus-run --help | --version

RUN A BUNDLE (--bundle)
  Opens the bundle (manifest.json, checksums), plans one layer call and runs
  it on random input and weights drawn from a fixed seed, then prints the
  backend and why it was chosen (on a GPU: the cubin or PTX it loaded), the
  time the context, the bundle and the first plan took, the setting, the
  host schedule (budgets and mode hints), the statistics the kernels report,
  a summary of y (with the xxh64 of its bytes, so that two runs can be
  compared bit for bit), and the median time. On a GPU plan (--backend gpu,
  or auto when the bundle has the GPU layer for the device) the tensors are
  copied to device buffers
  (prt_device_alloc), the timed calls are measured with events on the
  default stream (and their host enqueue time separately), and y is copied
  back. Exit status 1 when a call fails or y has a non-finite element.
    --B N             batch size (default 1)
    --T N             sequence length (default 4096)
    --alpha auto|X    auto (default): alpha from the T ramp, rounded to the
                      nearest compiled setting; X: must be a compiled setting
    --prev-alpha X    the alpha left by an earlier call (hysteresis history)
    --seed S          random seed (default 0)
    --backend B       the context: auto (default), cpu or gpu
    --repeat N        timed runs after one warm-up (default 5)
    --threads N       threads of the CPU path (default 0: the machine's cores)

TOP-A DEMO (--bundle DIR --top-a-demo)
  One decoding step: a layer call on random input (--B, --T) that
  returns the head consensus at the last position, then the Top-A sampler
  (prt_top_a) on random logits (normal, --logit-scale, default 5) over V
  tokens and a random embedding, lambda 0.5, tau 0.7, u = 0.5: prints the
  nucleus size, the kept count, the sample and the most probable kept
  tokens. On a GPU context the layer runs on the GPU and prt_gpu_top_a runs
  on the same inputs; exit status 1 unless every row agrees with prt_top_a
  (kept, counts and sample exactly, probs within 1e-6) or is one the kernel
  refuses as documented (more than 2048 candidates).
    --V N             vocabulary size (default 32000)
    --top-a-mode M    off, blend (default) or filter
    --top-p X         in [0, 1] (default 0.9)
    --threshold X     filter threshold (default 0)
    --top-a-dtype T   f32 (default) or bf16 logits and embedding
    --logit-scale X   the logits' standard deviation (default 5)

CHUNKED SHORTLIST PIPELINE (--bundle DIR --chunked)
  prt_chunked_run on the CPU: the sequence (--T random N(0, 1) rows, or the
  raw (T, C) rows of --input, read chunk by chunk) streams through the
  bundle's layer in chunks (prototype EMA on), each chunk promotes the
  nucleus of its token importance, the best --buffer tokens are kept in
  position order and the --final-bundle's layer (default: the same bundle)
  runs over them; weights are drawn from --seed. Prints the plan's working
  memory, a progress bar (on a terminal; plain lines otherwise), the time
  and the kept tokens. Exit status 1 when a call fails or the output is not
  finite.
    --T N             tokens (default: the rows of --input, else 1048576)
    --chunk-len N     tokens per chunk, at most 65536 (default 65536)
    --buffer N        tokens kept for the final pass (default 32768)
    --budget N        tokens a chunk may promote (default 4096)
    --top-p X         the chunk nucleus's top_p, in (0, 1] (default 0.9)
    --input FILE      raw little-endian rows; --input-dtype f32 (default)
                      or bf16

CHECK GOLDEN VECTORS (--golden)
  Each DIR is a case folder (with case.json) or a folder of case folders
  (e.g. shared/golden). Every case is checked as SPEC.md section 4 says:
    schedule             alpha ramp, k(T), keep ratios and candidate budgets,
                         exactly (the runtime's schedule math, no kernels)
    candidates           candidate lists and lengths exactly (proteus_shortlist)
    shortlist_attention  max abs error <= 1e-5 (1 + |ref|), inactive rows 0
    top_a                the layer's head consensus rel L2 <= 1e-5; the
                         sampler (prt_top_a) on the case's consensus: the
                         nucleus size, kept ids exactly, probs max abs
                         <= 1e-6, the argmax and the inverse-CDF draw
    chunked              prt_chunked_run on a CPU context: per chunk the
                         importance (max abs <= 1e-5), the promoted tokens
                         exactly (two may swap only where their reference
                         scores are within 1e-6) and their scores (<= 1e-6);
                         keep indices exactly, keep scores <= 1e-6, final
                         output rel L2 <= 1e-5, the chunk model's prototype
                         state after the last chunk (rel L2 1e-6, usage 2e-6)
    layer                y relative L2 <= 1e-5 (CPU; 1e-4 GPU), token mask,
                         mode, dense reason, alpha, keep ratio and statistics
                         exactly, prototype state after the EMA (rel L2 1e-6,
                         usage 2e-6)
  Outputs are poisoned (NaN) before each call. A layer case runs on the
  plan's backend: on a GPU machine, the GPU wherever the bundle has the
  GPU layer kernels (-v says which), through device buffers. Cases other
  than schedule need kernels: the case's configuration is written to the
  work folder and compiled with
      <compiler> --config <cfg.json> --alpha <alpha, %.17g> -o <bundle>
  (with --arch none under --backend cpu) once per (configuration, alpha,
  CPU-only or not, compiler binary); bundles are reused.
  Without a compiler, the bundles already in --work are used as they are
  (a work folder prepared on another machine: scripts/prepare_device.sh).
    --compiler PATH   the compiler; default $PROTEUS_COMPILE, else
                      proteus-compile next to proteus-run
    --work DIR        keep configs, bundles and compile logs here (reused
                      across runs); default a temporary folder, removed
    --backend B       the context: auto (default), gpu, or cpu, which
                      also compiles CPU-only bundles (quicker: no PTX)
    -v                also print compile commands, bundles and backends
  Prints one line per case, "PASS name: details" or "FAIL name: details",
  then "N passed, M failed". Exit status 1 when M > 0 or N = 0.

ENVIRONMENT
  PROTEUS_COMPILE        the compiler for --golden
  PROTEUS_CACHE_DIR      the runtime's JIT cache folder (GPU)
  PROTEUS_DISABLE_CACHE  1: no on-disk JIT cache
)";

int usage(const std::string &why) {
  std::cerr << "proteus-run: " << why
            << "\n(run proteus-run --help for usage)\n";
  return 2;
}

bool parseInt(const char *text, int64_t &out) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (errno || !*text || *end)
    return false;
  out = v;
  return true;
}

bool parseDouble(const char *text, double &out) {
  char *end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (errno || !*text || *end)
    return false;
  out = v;
  return true;
}

std::string selfDir() {
  std::vector<char> buf(4096);
  ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0)
    return ".";
  std::string path(buf.data(), static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

const char *backendName(prt_backend b) {
  return b == PRT_BACKEND_GPU ? "gpu" : b == PRT_BACKEND_CPU ? "cpu" : "auto";
}

/// Prints the failed call and returns the exit code.
int failed(const char *what, prt_status s) {
  std::cerr << "proteus-run: " << what << ": " << prt_status_name(s) << ": "
            << prt_last_error() << "\n";
  return 1;
}

struct RunOptions {
  std::string bundle;
  int64_t B = 1, T = 4096, repeat = 5, threads = 0;
  uint64_t seed = 0;
  double alpha = -1.0, prevAlpha = -1.0;
  prt_backend backend = PRT_BACKEND_AUTO;
};

int runBundle(const RunOptions &o) {
  prt_context_options co;
  prt_context_options_init(&co);
  co.backend = o.backend;
  co.cpu_threads = static_cast<int32_t>(o.threads);
  prt_context *ctx = nullptr;
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  const Clock::time_point t0 = Clock::now();
  if (prt_status s = prt_context_create(&ctx, &co))
    return failed("prt_context_create", s);
  const Clock::time_point t1 = Clock::now();
  prt_backend_info bi;
  prt_context_backend(ctx, &bi);
  std::printf("context: %s (%s)\n", backendName(bi.backend), bi.reason);

  prt_bundle *bundle = nullptr;
  prt_plan *plan = nullptr;
  // The call's device buffers, freed before the context goes.
  std::unique_ptr<proteus_run::LayerBuffers> buffers;
  auto cleanup = [&](int code) {
    buffers.reset();
    prt_plan_destroy(plan);
    prt_bundle_close(bundle);
    prt_context_destroy(ctx);
    return code;
  };
  if (prt_status s = prt_bundle_open(ctx, o.bundle.c_str(), &bundle))
    return cleanup(failed("prt_bundle_open", s));
  const Clock::time_point t2 = Clock::now();
  prt_bundle_info bn;
  prt_bundle_get_info(bundle, &bn);
  std::printf(
      "bundle: %s (format %lld, %lld settings, C %lld, H %lld, D %lld, G %lld, "
      "CPU library %s, %d PTX archs)\n",
      o.bundle.c_str(), static_cast<long long>(bn.format_version),
      static_cast<long long>(bn.num_settings),
      static_cast<long long>(bn.d_model), static_cast<long long>(bn.h_total),
      static_cast<long long>(bn.d_head), static_cast<long long>(bn.gates),
      bn.has_cpu_library ? "yes" : "no", bn.num_ptx_archs);

  prt_plan_options po;
  prt_plan_options_init(&po);
  po.B = o.B;
  po.T = o.T;
  po.alpha = o.alpha;
  po.prev_alpha = o.prevAlpha;
  if (prt_status s = prt_plan_create(bundle, &po, &plan))
    return cleanup(failed("prt_plan_create", s));
  const Clock::time_point t3 = Clock::now();
  prt_plan_info pi;
  prt_plan_get_info(plan, &pi);
  std::printf("plan: backend %s (%s)\n", backendName(pi.backend),
              pi.backend_reason);
  // The plan loads the setting's module (a cubin, or PTX through the JIT
  // and its caches): the time a fresh process waits before its first call.
  std::printf("startup: context %.2f ms, bundle open %.2f ms, first plan "
              "%.2f ms\n",
              ms(t0, t1), ms(t1, t2), ms(t2, t3));
  std::printf(
      "setting: %lld, alpha %.17g (schedule %.17g, stored %.17g), density %g\n",
      static_cast<long long>(pi.setting_index), pi.alpha, pi.alpha_schedule,
      pi.alpha_state, pi.density);
  std::printf(
      "schedule: B %lld, T %lld, fast path %s, prefer dense %s, no dense %s, "
      "k_dense %lld, top_k %lld\n",
      static_cast<long long>(pi.B), static_cast<long long>(pi.T),
      pi.fast_path ? "yes" : "no", pi.prefer_dense ? "yes" : "no",
      pi.no_dense ? "yes" : "no", static_cast<long long>(pi.k_dense),
      static_cast<long long>(pi.top_k));
  std::printf(
      "tokens: sparse %s, keep ratio %.17g, mode %lld, keep %lld per item\n",
      pi.token_sparse ? "yes" : "no", pi.keep_ratio,
      static_cast<long long>(pi.token_mode),
      static_cast<long long>(pi.token_keep));
  std::printf(
      "budgets: effective_L %lld, window %lld, caps local %lld anchor %lld "
      "proto %lld\n",
      static_cast<long long>(pi.effective_L), static_cast<long long>(pi.window),
      static_cast<long long>(pi.local_cap),
      static_cast<long long>(pi.anchor_cap),
      static_cast<long long>(pi.proto_cap));

  const bool gpu = pi.backend == PRT_BACKEND_GPU;
  if (gpu)
    std::printf("scratch: %.1f MiB of device memory, allocated with the plan\n",
                static_cast<double>(pi.scratch_bytes) / (1 << 20));

  // Random input and weights, scaled like an initialised layer; on a GPU
  // plan they are copied to device buffers, which the call takes.
  const int64_t C = bn.d_model, G = bn.gates, B = o.B, T = o.T;
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto fill = [&](std::vector<float> &v, size_t n, float scale) {
    v.resize(n);
    for (float &f : v)
      f = normal(rng) * scale;
  };
  const float w = 1.0f / std::sqrt(static_cast<float>(C));
  buffers = std::make_unique<proteus_run::LayerBuffers>(ctx, gpu);
  proteus_run::LayerBuffers &io = *buffers;
  fill(io.x, static_cast<size_t>(B * T * C), 1.0f);
  fill(io.wQkv, static_cast<size_t>(3 * C * C), w);
  fill(io.bQkv, static_cast<size_t>(3 * C), 0.02f);
  fill(io.wProj, static_cast<size_t>(C * C), w);
  fill(io.bProj, static_cast<size_t>(C), 0.02f);
  fill(io.wRouter, static_cast<size_t>(G * C), w);
  fill(io.protos, static_cast<size_t>(G * C), 1.0f);
  io.usage.assign(static_cast<size_t>(G), 0.0f);
  io.conf.assign(static_cast<size_t>(G), 1.0f);

  // One warm-up call that returns the statistics, then timed calls without
  // them: on the GPU those only enqueue, and events on the default stream
  // time the kernels.
  prt_layer_stats st{};
  prt_event start = nullptr, end = nullptr;
  auto destroyEvents = [&] {
    if (start)
      prt_event_destroy(ctx, start);
    if (end)
      prt_event_destroy(ctx, end);
  };
  std::vector<double> hostMs, deviceMs;
  try {
    io.prepare(B, T, C);
    const prt_layer_args withStats = io.args(&st);
    const prt_layer_args timed = io.args(nullptr);
    proteus_run::mustSucceed(prt_layer_forward(plan, &withStats),
                             "prt_layer_forward");
    if (gpu) {
      proteus_run::mustSucceed(prt_event_create(ctx, &start),
                               "prt_event_create");
      proteus_run::mustSucceed(prt_event_create(ctx, &end), "prt_event_create");
    }
    for (int64_t r = 0; r < o.repeat; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      if (gpu)
        proteus_run::mustSucceed(prt_event_record(ctx, start, nullptr),
                                 "prt_event_record");
      proteus_run::mustSucceed(prt_layer_forward(plan, &timed),
                               "prt_layer_forward");
      auto t1 = std::chrono::steady_clock::now();
      hostMs.push_back(
          std::chrono::duration<double, std::milli>(t1 - t0).count());
      if (gpu) {
        float ms = 0;
        proteus_run::mustSucceed(prt_event_record(ctx, end, nullptr),
                                 "prt_event_record");
        proteus_run::mustSucceed(prt_event_elapsed_ms(ctx, start, end, &ms),
                                 "prt_event_elapsed_ms");
        deviceMs.push_back(ms);
      }
    }
    io.fetch();
  } catch (const std::exception &e) {
    destroyEvents();
    std::cerr << "proteus-run: " << e.what() << "\n";
    return cleanup(1);
  }
  destroyEvents();

  int64_t kept = std::count(io.mask.begin(), io.mask.end(), int8_t(1));
  std::printf(
      "stats: mode %s, dense reason %s, top_k %lld, nucleus_k %lld, k_adapt "
      "%lld, "
      "max_active_rows %lld, active_rows %lld, packed %lld, tokens kept "
      "%lld/%lld\n",
      st.mode_name, st.dense_reason_name, static_cast<long long>(st.top_k),
      static_cast<long long>(st.nucleus_k), static_cast<long long>(st.k_adapt),
      static_cast<long long>(st.max_active_rows),
      static_cast<long long>(st.active_rows), static_cast<long long>(st.packed),
      static_cast<long long>(kept), static_cast<long long>(B * T));
  int64_t finite = 0;
  double sumAbs = 0;
  for (float v : io.y) {
    if (std::isfinite(v)) {
      ++finite;
      sumAbs += std::fabs(v);
    }
  }
  // The hash of y's bytes tells two runs (thread counts, instruction sets,
  // backends of an exact bundle, compiler versions) apart bit for bit.
  std::printf("y: %lld/%zu finite, mean |y| %.6g, xxh64 %016llx\n",
              static_cast<long long>(finite), io.y.size(),
              finite ? sumAbs / static_cast<double>(finite) : 0.0,
              static_cast<unsigned long long>(
                  XXH64(io.y.data(), io.y.size() * sizeof(float), 0)));
  auto report = [](const char *what, std::vector<double> ms) {
    if (ms.empty())
      return;
    std::sort(ms.begin(), ms.end());
    std::printf("%s: median %.3f ms over %zu runs (min %.3f, max %.3f) after "
                "1 warm-up\n",
                what, ms[ms.size() / 2], ms.size(), ms.front(), ms.back());
  };
  if (gpu) {
    report("time (GPU, events)", deviceMs);
    report("time (host, enqueue)", hostMs);
  } else {
    report("time", hostMs);
  }
  return cleanup(finite == static_cast<int64_t>(io.y.size()) ? 0 : 1);
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty())
    return usage("give --bundle DIR or --golden DIR");
  RunOptions run;
  proteus_run::TopADemoOptions demo;
  bool demoMode = false;
  proteus_run::ChunkedRunOptions chunked;
  bool chunkedMode = false;
  proteus_run::GoldenOptions golden;
  std::string compilerFlag;
  bool tGiven = false, backendGiven = false;
  bool bundleMode = false, goldenMode = false, runFlags = false,
       goldenFlags = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &f = args[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= args.size())
        return nullptr;
      return args[++i].c_str();
    };
    const char *v = nullptr;
    if (f == "--help" || f == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (f == "--version") {
      std::cout << prt::versionLine("proteus-run") << "\n";
      return 0;
    } else if (f == "--top-a-demo") {
      demoMode = runFlags = true;
    } else if (f == "--chunked") {
      chunkedMode = runFlags = true;
    } else if (f == "-v") {
      golden.verbose = true;
      goldenFlags = true;
    } else if (f == "--golden") {
      goldenMode = true;
      while (i + 1 < args.size() && args[i + 1].rfind("-", 0) != 0)
        golden.dirs.push_back(args[++i]);
      if (golden.dirs.empty())
        return usage("--golden needs at least one folder");
    } else if (!(v = value())) {
      return usage(f.rfind("-", 0) == 0 ? f + " needs a value (or is unknown)"
                                        : "unexpected argument '" + f + "'");
    } else if (f == "--bundle") {
      bundleMode = true;
      run.bundle = v;
    } else if (f == "--final-bundle" || f == "--input") {
      runFlags = true;
      (f == "--input" ? chunked.input : chunked.finalBundle) = v;
    } else if (f == "--input-dtype") {
      runFlags = true;
      const std::string t = v;
      if (t != "f32" && t != "bf16")
        return usage("--input-dtype takes f32 or bf16, not '" + t + "'");
      chunked.inputDtype = t == "f32" ? PRT_DTYPE_F32 : PRT_DTYPE_BF16;
    } else if (f == "--chunk-len" || f == "--buffer" || f == "--budget") {
      runFlags = true;
      int64_t n = 0;
      if (!parseInt(v, n) || n < 1)
        return usage(f + " takes an integer >= 1, not '" + v + "'");
      (f == "--chunk-len" ? chunked.chunkLen
       : f == "--buffer"  ? chunked.buffer
                          : chunked.budget) = n;
    } else if (f == "--compiler" || f == "--work") {
      goldenFlags = true;
      (f == "--compiler" ? compilerFlag : golden.workDir) = v;
    } else if (f == "--B" || f == "--T" || f == "--repeat" || f == "--seed" ||
               f == "--threads") {
      runFlags = true;
      int64_t n = 0;
      const bool zeroOk = f == "--repeat" || f == "--seed" || f == "--threads";
      if (!parseInt(v, n) || n < (zeroOk ? 0 : 1) ||
          (f == "--threads" && n > 4096))
        return usage(f + " takes " +
                     (f == "--threads" ? "an integer in [0, 4096]"
                      : zeroOk         ? "an integer >= 0"
                                       : "an integer >= 1") +
                     ", not '" + v + "'");
      tGiven = tGiven || f == "--T";
      if (f == "--seed")
        run.seed = static_cast<uint64_t>(n);
      else if (f == "--threads")
        run.threads = n;
      else
        (f == "--B" ? run.B : f == "--T" ? run.T : run.repeat) = n;
    } else if (f == "--alpha" || f == "--prev-alpha") {
      runFlags = true;
      double x = -1.0;
      if (f == "--alpha" && std::strcmp(v, "auto") == 0)
        x = -1.0;
      else if (!parseDouble(v, x) || x < 0.0 || x > 1.0)
        return usage(f + " takes " + (f == "--alpha" ? "auto or " : "") +
                     "a number in [0, 1], not '" + v + "'");
      (f == "--alpha" ? run.alpha : run.prevAlpha) = x;
    } else if (f == "--V") {
      runFlags = true;
      if (!parseInt(v, demo.V) || demo.V < 1)
        return usage(std::string("--V takes an integer >= 1, not '") + v + "'");
    } else if (f == "--top-p" || f == "--threshold") {
      runFlags = true;
      double x = 0;
      if (!parseDouble(v, x) || !std::isfinite(x) ||
          (f == "--top-p" && (x < 0.0 || x > 1.0)))
        return usage(f + " takes " +
                     (f == "--top-p" ? "a number in [0, 1]" : "a number") +
                     ", not '" + v + "'");
      (f == "--top-p" ? demo.topP : demo.threshold) = x;
    } else if (f == "--top-a-dtype" || f == "--logit-scale") {
      runFlags = true;
      std::string t = v;
      double x = 0;
      if (f == "--logit-scale") {
        if (!parseDouble(v, x) || !(x > 0.0) || !std::isfinite(x))
          return usage("--logit-scale takes a positive number, not '" + t +
                       "'");
        demo.logitScale = x;
      } else if (t == "f32" || t == "bf16") {
        demo.dtype = t == "f32" ? PRT_DTYPE_F32 : PRT_DTYPE_BF16;
      } else {
        return usage("--top-a-dtype takes f32 or bf16, not '" + t + "'");
      }
    } else if (f == "--top-a-mode") {
      runFlags = true;
      std::string m = v;
      if (m == "off")
        demo.mode = PRT_TOP_A_OFF;
      else if (m == "blend")
        demo.mode = PRT_TOP_A_BLEND;
      else if (m == "filter")
        demo.mode = PRT_TOP_A_FILTER;
      else
        return usage("--top-a-mode takes off, blend or filter, not '" + m +
                     "'");
    } else if (f == "--backend") {
      std::string b = v;
      backendGiven = true;
      if (b == "auto")
        run.backend = PRT_BACKEND_AUTO;
      else if (b == "cpu")
        run.backend = PRT_BACKEND_CPU;
      else if (b == "gpu")
        run.backend = PRT_BACKEND_GPU;
      else
        return usage("--backend takes auto, cpu or gpu, not '" + b + "'");
      golden.backend = run.backend;
    } else {
      return usage("unknown option '" + f + "'");
    }
  }
  if (chunkedMode && (!bundleMode || demoMode))
    return usage("--chunked needs --bundle DIR and excludes --top-a-demo");
  if (bundleMode == goldenMode)
    return usage(bundleMode ? "--bundle and --golden exclude each other"
                            : "give --bundle DIR or --golden DIR");
  if (bundleMode && goldenFlags)
    return usage("--compiler, --work and -v belong to --golden");
  if (goldenMode && runFlags)
    return usage("--B, --T, --alpha, --prev-alpha, --seed, --threads, "
                 "--repeat and the --top-a-demo flags belong to --bundle");
  if (demoMode && !bundleMode)
    return usage("--top-a-demo needs --bundle DIR");
  if (bundleMode) {
    // The host buffers of a shape the runtime accepts may still not fit.
    try {
      if (chunkedMode) {
        chunked.bundle = run.bundle;
        chunked.T = tGiven ? run.T : 0;
        chunked.topP = demo.topP;
        chunked.seed = run.seed;
        chunked.backend = backendGiven ? run.backend : PRT_BACKEND_CPU;
        return proteus_run::runChunked(chunked);
      }
      if (!demoMode)
        return runBundle(run);
      demo.bundle = run.bundle;
      demo.B = run.B;
      demo.T = run.T;
      demo.seed = run.seed;
      demo.backend = run.backend;
      return proteus_run::runTopADemo(demo);
    } catch (const std::bad_alloc &) {
      std::cerr << "proteus-run: out of memory allocating the buffers for B "
                << run.B << ", T " << run.T << " (use a smaller --B or --T)\n";
      return 1;
    } catch (const std::length_error &) {
      std::cerr << "proteus-run: the buffers for B " << run.B << ", T " << run.T
                << " are too large to allocate\n";
      return 1;
    }
  }

  // The compiler: --compiler, else $PROTEUS_COMPILE, else next to us.
  std::string origin;
  if (!compilerFlag.empty()) {
    golden.compiler = compilerFlag;
    origin = "--compiler";
  } else if (const char *env = std::getenv("PROTEUS_COMPILE"); env && *env) {
    golden.compiler = env;
    origin = "PROTEUS_COMPILE";
  } else {
    golden.compiler = selfDir() + "/proteus-compile";
    origin = "next to proteus-run";
  }
  if (::access(golden.compiler.c_str(), X_OK) != 0) {
    golden.compilerOrigin =
        golden.compiler + " from " + origin + " is not an executable";
    golden.compiler.clear();
  } else {
    golden.compilerOrigin = "from " + origin;
  }
  return proteus_run::runGolden(golden);
}
