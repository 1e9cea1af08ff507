//===- gpu_attention_check.cpp - GPU attention kernels vs the CPU library -===//
//
// Runs the attention kernels of compiled bundles on the GPU (through
// proteus_rt's prt_gpu_* entry points) on fresh random inputs of many shapes
// and compares every output with the same bundle's CPU library:
//   - rule form (candidates computed in the kernel) against CPU attention
//     over candidates materialised by prt_shortlist,
//   - listed form against CPU listed attention over the same random lists,
//   - dense causal attention against prt_dense_attention (T <= 4096) or, on
//     sampled queries, against CPU listed attention over keys 0..t,
// in f32, bf16 and f16 (inputs rounded to the dtype on the host before the
// CPU reference), with the output poisoned with NaN before every launch;
// then the golden shortlist_attention cases, and the refusals that only a
// GPU context reaches (allocation ranges, check_indices).
//
// --time measures the shortlist rule kernel on the reference benchmark's
// setting and the dense kernel, with events, against the floors.
//
// Links proteus_rt alone, so it runs on the GPU machine next to the bundles
// compiled here. Exit code: 0 all passed, 1 a check failed, 2 bad usage, 77
// no GPU (the CPU checks ran; --require-gpu turns this into a failure).
//
//===----------------------------------------------------------------------===//

#include "float16.h"
#include "int8_quant.h"
#include "proteus_rt/config_json.h"
#include "proteus_rt/contract.h"
#include "proteus_rt/proteus_rt.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace proteus_rt;

namespace {

//===----------------------------------------------------------------------===//
// Small utilities
//===----------------------------------------------------------------------===//

/// Throws with the runtime's message when a setup call fails.
void must(prt_status s, const std::string &what) {
  if (s != PRT_OK)
    throw std::runtime_error(what + ": " + prt_status_name(s) + ": " +
                             prt_last_error());
}

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof(buf), f, ap);
  va_end(ap);
  return buf;
}

/// splitmix64: fast, seedable, good enough for test data.
class Rng {
public:
  explicit Rng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
  int64_t below(int64_t n) {
    return static_cast<int64_t>(next() % uint64_t(n));
  }
  /// Approximately N(0, 1) (Irwin-Hall of four uniforms): cheap enough
  /// for hundreds of millions of values.
  float normal() {
    double s = uniform() + uniform() + uniform() + uniform();
    return static_cast<float>((s - 2.0) * 1.7320508075688772);
  }

private:
  uint64_t s_;
};

using namespace proteus_rt_test;

const prt_dtype kDtypes[] = {PRT_DTYPE_F32, PRT_DTYPE_BF16, PRT_DTYPE_F16};

/// `src` in `dtype`'s bytes, and `src` rounded to `dtype` in place.
std::vector<uint8_t> encode(std::vector<float> &src, prt_dtype dtype) {
  const size_t n = src.size();
  std::vector<uint8_t> out(n * static_cast<size_t>(prt_dtype_size(dtype)));
  if (dtype == PRT_DTYPE_F32) {
    std::memcpy(out.data(), src.data(), n * 4);
    return out;
  }
  auto *h = reinterpret_cast<uint16_t *>(out.data());
  for (size_t i = 0; i < n; ++i) {
    if (dtype == PRT_DTYPE_BF16) {
      h[i] = bf16FromFloat(src[i]);
      src[i] = floatFromBf16(h[i]);
    } else {
      h[i] = halfFromFloat(src[i]);
      src[i] = floatFromHalf(h[i]);
    }
  }
  return out;
}

std::vector<float> decode(const std::vector<uint8_t> &bytes, prt_dtype dtype) {
  const size_t n = bytes.size() / static_cast<size_t>(prt_dtype_size(dtype));
  std::vector<float> out(n);
  if (dtype == PRT_DTYPE_F32) {
    std::memcpy(out.data(), bytes.data(), n * 4);
    return out;
  }
  const auto *h = reinterpret_cast<const uint16_t *>(bytes.data());
  for (size_t i = 0; i < n; ++i)
    out[i] =
        dtype == PRT_DTYPE_BF16 ? floatFromBf16(h[i]) : floatFromHalf(h[i]);
  return out;
}

/// `n` NaNs in `dtype`'s bytes: the poison every output starts from.
std::vector<uint8_t> nanBytes(size_t n, prt_dtype dtype) {
  std::vector<float> nan(n, std::numeric_limits<float>::quiet_NaN());
  return encode(nan, dtype);
}

/// Runs body(i) for i in [0, n) on up to hardware_concurrency threads.
void parallelFor(int64_t n, const std::function<void(int64_t)> &body) {
  const int64_t threads = std::max<int64_t>(
      1, std::min<int64_t>(n, std::thread::hardware_concurrency()));
  std::atomic<int64_t> next{0};
  std::vector<std::string> errors(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int64_t w = 0; w < threads; ++w) {
    pool.emplace_back([&, w] {
      try {
        for (int64_t i; (i = next++) < n;)
          body(i);
      } catch (const std::exception &e) {
        errors[static_cast<size_t>(w)] = e.what();
      }
    });
  }
  for (std::thread &t : pool)
    t.join();
  for (const std::string &e : errors)
    if (!e.empty())
      throw std::runtime_error(e);
}

//===----------------------------------------------------------------------===//
// Results
//===----------------------------------------------------------------------===//

class Checks {
public:
  void record(bool ok, const std::string &name, const std::string &detail) {
    (ok ? passed_ : failed_)++;
    std::printf("%s %s  %s\n", ok ? "PASS" : "FAIL", name.c_str(),
                detail.c_str());
    std::fflush(stdout);
  }
  int passed() const { return passed_; }
  int failed() const { return failed_; }

private:
  int passed_ = 0, failed_ = 0;
};

/// What a comparison found: the worst error relative to 1 + |ref| over the
/// compared elements, NaNs anywhere, non-zeros where nothing is packed.
struct Diff {
  double worst = 0.0;
  int64_t worstAt = -1;
  double gotAt = 0.0, refAt = 0.0;
  int64_t compared = 0, nans = 0, nonzeroInactive = 0, firstBad = -1;
  double l2Err = 0.0, l2Ref = 0.0;

  void compare(int64_t i, float g, float r) {
    ++compared;
    if (std::isnan(g)) {
      noteNan(i);
      return;
    }
    double e = std::fabs(double(g) - double(r)) / (1.0 + std::fabs(double(r)));
    l2Err += (double(g) - r) * (double(g) - r);
    l2Ref += double(r) * r;
    if (e > worst || worstAt < 0) {
      worst = e;
      worstAt = i;
      gotAt = g;
      refAt = r;
    }
  }
  void noteNan(int64_t i) {
    if (nans++ == 0 && firstBad < 0)
      firstBad = i;
  }
  void inactive(int64_t i, float g) {
    if (std::isnan(g))
      noteNan(i);
    else if (g != 0.0f && nonzeroInactive++ == 0 && firstBad < 0)
      firstBad = i;
  }
  void written(int64_t i, float g) {
    if (std::isnan(g))
      noteNan(i);
  }
  double relL2() const { return l2Ref > 0 ? std::sqrt(l2Err / l2Ref) : 0.0; }
  bool ok(double tol) const {
    return nans == 0 && nonzeroInactive == 0 && worst <= tol;
  }
  std::string describe(int64_t T, int64_t D) const {
    auto pos = [&](int64_t i) {
      return fmt("(r%lld,t%lld,d%lld)", (long long)(i / (T * D)),
                 (long long)(i / D % T), (long long)(i % D));
    };
    std::string s = fmt(
        "max_err %.3g at %s (got %.6g ref %.6g), rel_l2 %.3g, %lld compared",
        worst, worstAt >= 0 ? pos(worstAt).c_str() : "-", gotAt, refAt, relL2(),
        (long long)compared);
    if (nans)
      s += fmt(", %lld NaN (first %s)", (long long)nans, pos(firstBad).c_str());
    if (nonzeroInactive)
      s += fmt(", %lld non-zero outside the packed queries (first %s)",
               (long long)nonzeroInactive, pos(firstBad).c_str());
    return s;
  }
};

double tolerance(prt_dtype t) { return t == PRT_DTYPE_F32 ? 1e-4 : 1e-2; }

//===----------------------------------------------------------------------===//
// Device buffers
//===----------------------------------------------------------------------===//

class DeviceBuffer {
public:
  DeviceBuffer(prt_context *ctx, int64_t bytes) : ctx_(ctx), bytes_(bytes) {
    if (bytes > 0)
      must(prt_device_alloc(ctx, bytes, &ptr_),
           "prt_device_alloc(" + std::to_string(bytes) + ")");
  }
  ~DeviceBuffer() {
    if (ptr_)
      prt_device_free(ctx_, ptr_);
  }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  uint64_t ptr() const { return ptr_; }
  void upload(const void *src, int64_t bytes) {
    if (bytes > 0)
      must(prt_memcpy_htod(ctx_, ptr_, src, bytes), "prt_memcpy_htod");
  }
  template <typename T> void upload(const std::vector<T> &v) {
    upload(v.data(), static_cast<int64_t>(v.size() * sizeof(T)));
  }
  std::vector<uint8_t> download() const {
    std::vector<uint8_t> v(static_cast<size_t>(bytes_));
    if (bytes_ > 0)
      must(prt_memcpy_dtoh(ctx_, v.data(), ptr_, bytes_), "prt_memcpy_dtoh");
    return v;
  }

private:
  prt_context *ctx_;
  int64_t bytes_;
  uint64_t ptr_ = 0;
};

//===----------------------------------------------------------------------===//
// Bundles
//===----------------------------------------------------------------------===//

struct Bundle {
  std::string dir, name;
  prt_bundle *handle = nullptr;
  Config config;
  int64_t D = 0;
  std::vector<double> alphas;
  bool ruleOnGpu = false;
  std::string gpuNote;
};

std::string baseName(std::string p) {
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

Bundle openBundle(prt_context *ctx, const std::string &dir) {
  Bundle b;
  b.dir = dir;
  b.name = baseName(dir);
  must(prt_bundle_open(ctx, dir.c_str(), &b.handle), "prt_bundle_open " + dir);
  const char *json = nullptr;
  must(prt_bundle_config_json(b.handle, &json), "prt_bundle_config_json");
  std::string error;
  if (!parseConfigJson(json, b.config, error))
    throw std::runtime_error(dir + ": config: " + error);
  prt_bundle_info info;
  must(prt_bundle_get_info(b.handle, &info), "prt_bundle_get_info");
  b.D = info.d_head;
  for (int64_t i = 0; i < info.num_settings; ++i) {
    double a = 0, d = 0;
    must(prt_bundle_get_setting(b.handle, i, &a, &d), "prt_bundle_get_setting");
    b.alphas.push_back(a);
  }
  // The prototype piece keeps each query's list in shared memory.
  b.ruleOnGpu = !b.config.use_proto || b.config.L_max <= kGpuProtoPieceMaxL;
  std::ifstream in(dir + "/" + kManifestFile);
  nlohmann::json m = nlohmann::json::parse(in, nullptr, false);
  if (m.is_object() && m.contains(kManifestGpuNote))
    b.gpuNote = m[kManifestGpuNote].get<std::string>();
  return b;
}

/// The budget vector of setting `setting` at T (through a plan, as a caller
/// would get it).
std::vector<int64_t> budgetFor(const Bundle &b, int64_t setting, int64_t T) {
  prt_plan_options o;
  prt_plan_options_init(&o);
  o.B = 1;
  o.T = T;
  o.alpha = b.alphas[static_cast<size_t>(setting)];
  prt_plan *plan = nullptr;
  must(prt_plan_create(b.handle, &o, &plan), "prt_plan_create");
  std::vector<int64_t> budget(256);
  int64_t size = 0;
  prt_status s = prt_plan_budget(plan, budget.data(), 256, &size);
  prt_plan_destroy(plan);
  must(s, "prt_plan_budget");
  budget.resize(static_cast<size_t>(size));
  return budget;
}

//===----------------------------------------------------------------------===//
// CPU references (the bundle's CPU library), one row per thread
//===----------------------------------------------------------------------===//

/// Query lists grouped by row: tokens, candidates (n x W), lengths.
struct RowQueries {
  std::vector<int64_t> tokens, candidates, lengths;
};

/// CPU listed attention of every row's queries into `out` (R,T,D), whose
/// other positions the library writes with 0.
void cpuListed(const Bundle &b, int64_t R, int64_t T, int64_t D,
               const std::vector<float> &q, const std::vector<float> &k,
               const std::vector<float> &v, std::vector<RowQueries> &rows,
               int64_t W, std::vector<float> &out) {
  parallelFor(R, [&](int64_t r) {
    RowQueries &rq = rows[static_cast<size_t>(r)];
    const int64_t n = static_cast<int64_t>(rq.tokens.size());
    const size_t off = static_cast<size_t>(r * T * D);
    if (n == 0) {
      std::fill(out.begin() + off, out.begin() + off + T * D, 0.0f);
      return;
    }
    std::vector<int64_t> zeros(static_cast<size_t>(n), 0);
    prt_shortlist_attention_args a{};
    a.R = 1;
    a.T = T;
    a.D = D;
    a.q = q.data() + off;
    a.k = k.data() + off;
    a.v = v.data() + off;
    a.N = n;
    a.packed_row = zeros.data();
    a.packed_token = rq.tokens.data();
    a.L = W;
    a.candidates = rq.candidates.data();
    a.lengths = rq.lengths.data();
    a.out = out.data() + off;
    must(prt_shortlist_attention(b.handle, &a), "prt_shortlist_attention");
  });
}

/// The candidate rule materialised on the CPU for each row's tokens.
void cpuShortlist(const Bundle &b, int64_t T,
                  const std::vector<int64_t> &budget,
                  std::vector<RowQueries> &rows,
                  const std::vector<float> *scores = nullptr,
                  int64_t rowsPerItem = 1) {
  const int64_t L = budget[kBudgetEffectiveL];
  parallelFor(static_cast<int64_t>(rows.size()), [&](int64_t r) {
    RowQueries &rq = rows[static_cast<size_t>(r)];
    const int64_t n = static_cast<int64_t>(rq.tokens.size());
    rq.candidates.assign(static_cast<size_t>(n * L), 0);
    rq.lengths.assign(static_cast<size_t>(n), 0);
    if (n == 0)
      return;
    prt_shortlist_args a{};
    a.N = n;
    a.rows = rq.tokens.data();
    a.B = 1;
    a.T = T;
    // Row r's batch item's prototype scores (B = 1 per row here).
    if (scores)
      a.proto_scores = scores->data() + (r / rowsPerItem) * T;
    a.budget = budget.data();
    a.budget_size = static_cast<int64_t>(budget.size());
    a.L = L;
    a.candidates = rq.candidates.data();
    a.lengths = rq.lengths.data();
    must(prt_shortlist(b.handle, &a), "prt_shortlist");
  });
}

void cpuDense(const Bundle &b, int64_t R, int64_t T, int64_t D,
              const std::vector<float> &q, const std::vector<float> &k,
              const std::vector<float> &v, std::vector<float> &out) {
  parallelFor(R, [&](int64_t r) {
    const size_t off = static_cast<size_t>(r * T * D);
    prt_dense_attention_args a{1,
                               T,
                               D,
                               q.data() + off,
                               k.data() + off,
                               v.data() + off,
                               out.data() + off};
    must(prt_dense_attention(b.handle, &a), "prt_dense_attention");
  });
}

//===----------------------------------------------------------------------===//
// The checks
//===----------------------------------------------------------------------===//

struct Options {
  std::vector<std::string> bundles;
  std::string golden, bench;
  std::string cudaLibrary; ///< the driver to open ("": libcuda.so.1)
  bool quick = false, time = false, requireGpu = false;
  uint64_t seed = 20261128;
  int64_t sample = 4096; ///< CPU-checked queries per shortlist case
  int timeRuns = 25;     ///< timed samples per size (--time)
  int64_t timeMaxT = 0;  ///< > 0: clamp the timed lengths (tests)
  /// The timed shortlist's packed queries: scattered tokens (each (row,
  /// token) with probability 0.4 / R), or runs of 64 consecutive tokens
  /// (each (row, 64-token block) with that probability: the same N on
  /// average, in groups the bf16 band takes on tensor cores).
  bool timeRunsOf64 = false;
};

/// Random inputs of one shape, in f32 and rounded to a dtype.
struct Inputs {
  std::vector<float> q, k, v;
  std::vector<uint8_t> qd, kd, vd;
  Inputs(int64_t n, prt_dtype dtype, Rng &rng)
      : q(static_cast<size_t>(n)), k(q.size()), v(q.size()) {
    for (size_t i = 0; i < q.size(); ++i) {
      q[i] = rng.normal() * 1.5f; // peakier softmax than N(0, 1) scores
      k[i] = rng.normal();
      v[i] = rng.normal();
    }
    qd = encode(q, dtype);
    kd = encode(k, dtype);
    vd = encode(v, dtype);
  }
};

class Checker {
public:
  Checker(Options o, prt_context *ctx, bool gpu)
      : opt_(std::move(o)), ctx_(ctx), gpu_(gpu), rng_(opt_.seed) {}
  Checks checks;

  void cpuSelfChecks(const Bundle &b);
  void shortlistCase(const Bundle &b, int64_t setting, prt_dtype dtype,
                     int64_t T, int64_t R, const std::vector<double> &density);
  void denseCase(const Bundle &b, int64_t setting, prt_dtype dtype, int64_t T,
                 int64_t R);
  void goldenCases(const std::vector<Bundle> &bundles);
  void refusals(const Bundle &b);
  void ruleUnsupported(const Bundle &b);
  void timing(const Bundle &bench, const Bundle *dense);

private:
  /// Runs `body`, turning an exception into a failed check.
  void guard(const std::string &name, const std::function<void()> &body) {
    try {
      body();
    } catch (const std::exception &e) {
      checks.record(false, name, std::string("error: ") + e.what());
    }
  }

  Options opt_;
  prt_context *ctx_;
  bool gpu_;
  Rng rng_;
};

/// CPU dense attention equals CPU listed attention over keys 0..t (the
/// dense reference of the GPU check at long T relies on it), on every
/// bundle, no GPU needed.
void Checker::cpuSelfChecks(const Bundle &b) {
  const int64_t R = 2, T = 97, D = b.D;
  const std::string name = b.name + " cpu dense==listed(0..t) T=97";
  guard(name, [&] {
    Inputs in(R * T * D, PRT_DTYPE_F32, rng_);
    std::vector<float> dense(in.q.size()), listed(in.q.size());
    cpuDense(b, R, T, D, in.q, in.k, in.v, dense);
    std::vector<RowQueries> rows(static_cast<size_t>(R));
    for (RowQueries &rq : rows) {
      for (int64_t t = 0; t < T; ++t) {
        rq.tokens.push_back(t);
        rq.lengths.push_back(t + 1);
        for (int64_t j = 0; j < T; ++j)
          rq.candidates.push_back(j <= t ? j : 0);
      }
    }
    cpuListed(b, R, T, D, in.q, in.k, in.v, rows, T, listed);
    Diff d;
    for (size_t i = 0; i < dense.size(); ++i)
      d.compare(static_cast<int64_t>(i), dense[i], listed[i]);
    checks.record(d.ok(1e-5), name, d.describe(T, D));
  });
}

void Checker::shortlistCase(const Bundle &b, int64_t setting, prt_dtype dtype,
                            int64_t T, int64_t R,
                            const std::vector<double> &density) {
  const int64_t D = b.D, total = R * T * D;
  const std::string tag =
      fmt("%s s%lld(a=%g) %s T=%lld R=%lld", b.name.c_str(), (long long)setting,
          b.alphas[static_cast<size_t>(setting)], prt_dtype_name(dtype),
          (long long)T, (long long)R);
  guard(tag + " shortlist", [&] {
    Inputs in(total, dtype, rng_);
    // Packed queries: row-major over a random mask of the given densities.
    std::vector<int64_t> prow, ptok;
    std::vector<uint8_t> state(static_cast<size_t>(R * T), 0); // 1 packed
    for (int64_t r = 0; r < R; ++r)
      for (int64_t t = 0; t < T; ++t)
        if (rng_.uniform() < density[static_cast<size_t>(r)]) {
          prow.push_back(r);
          ptok.push_back(t);
          state[static_cast<size_t>(r * T + t)] = 1;
        }
    const int64_t N = static_cast<int64_t>(prow.size());
    // The queries the CPU checks: all, or a sample with each row's last.
    std::vector<int64_t> sample(static_cast<size_t>(N));
    std::iota(sample.begin(), sample.end(), 0);
    if (N > opt_.sample) {
      for (int64_t i = 0; i < opt_.sample; ++i)
        std::swap(sample[static_cast<size_t>(i)],
                  sample[static_cast<size_t>(i + rng_.below(N - i))]);
      sample.resize(static_cast<size_t>(opt_.sample));
      for (int64_t n = 0; n < N; ++n)
        if (n + 1 == N ||
            prow[static_cast<size_t>(n + 1)] != prow[static_cast<size_t>(n)])
          sample.push_back(n);
      std::sort(sample.begin(), sample.end());
      sample.erase(std::unique(sample.begin(), sample.end()), sample.end());
    }
    for (int64_t n : sample)
      state[static_cast<size_t>(prow[static_cast<size_t>(n)] * T +
                                ptok[static_cast<size_t>(n)])] = 2;
    const std::string sizes = fmt("N=%lld (%lld checked on the CPU)",
                                  (long long)N, (long long)sample.size());

    DeviceBuffer q(ctx_, total * prt_dtype_size(dtype)),
        k(ctx_, total * prt_dtype_size(dtype)),
        v(ctx_, total * prt_dtype_size(dtype)),
        out(ctx_, total * prt_dtype_size(dtype)), dRow(ctx_, N * 8),
        dTok(ctx_, N * 8);
    q.upload(in.qd);
    k.upload(in.kd);
    v.upload(in.vd);
    dRow.upload(prow);
    dTok.upload(ptok);
    const std::vector<uint8_t> poison =
        nanBytes(static_cast<size_t>(total), dtype);

    auto compare = [&](const std::vector<float> &ref) {
      std::vector<float> got = decode(out.download(), dtype);
      Diff d;
      for (int64_t i = 0; i < total; ++i) {
        uint8_t s = state[static_cast<size_t>(i / D)];
        if (s == 0)
          d.inactive(i, got[static_cast<size_t>(i)]);
        else if (s == 1)
          d.written(i, got[static_cast<size_t>(i)]);
        else
          d.compare(i, got[static_cast<size_t>(i)],
                    ref[static_cast<size_t>(i)]);
      }
      return d;
    };
    auto groupByRow = [&] {
      std::vector<RowQueries> rows(static_cast<size_t>(R));
      for (int64_t n : sample)
        rows[static_cast<size_t>(prow[static_cast<size_t>(n)])]
            .tokens.push_back(ptok[static_cast<size_t>(n)]);
      return rows;
    };

    // Rule form: the kernel's candidates against prt_shortlist's.
    if (b.ruleOnGpu) {
      std::vector<int64_t> budget = budgetFor(b, setting, T);
      std::vector<RowQueries> rows = groupByRow();
      // With the prototype piece: scores of B batch items (rows r / (R / B)),
      // drawn from a few values (and -0 and +0) so the picks meet ties.
      const bool proto = b.config.use_proto;
      const int64_t B = proto && R % 2 == 0 ? 2 : 1;
      std::vector<float> scores;
      if (proto)
        for (int64_t i = 0; i < B * T; ++i) {
          const int64_t pick = rng_.below(10);
          scores.push_back(pick == 0   ? -0.0f
                           : pick == 1 ? 0.0f
                                       : static_cast<float>(pick - 5) / 4.0f);
        }
      cpuShortlist(b, T, budget, rows, proto ? &scores : nullptr, R / B);
      std::vector<float> ref(static_cast<size_t>(total));
      if (b.config.quantize_int8) {
        // INT8: the reference attends over q, k, v fake-quantized per row
        // over all T * D values (REFERENCE.md 6.4).
        const float pct = b.config.int8_mode == Int8Mode::Percentile
                              ? static_cast<float>(b.config.int8_percentile)
                              : 0.0f;
        std::vector<float> qq = in.q, kq = in.k, vq = in.v;
        for (std::vector<float> *x : {&qq, &kq, &vq})
          proteus_rt::test::fakeQuantizeRows(*x, R, T * D, pct);
        cpuListed(b, R, T, D, qq, kq, vq, rows, budget[kBudgetEffectiveL], ref);
      } else {
        cpuListed(b, R, T, D, in.q, in.k, in.v, rows, budget[kBudgetEffectiveL],
                  ref);
      }
      out.upload(poison);
      prt_gpu_shortlist_attention_args a{};
      a.setting = setting;
      a.dtype = dtype;
      a.R = R;
      a.T = T;
      a.D = D;
      a.q = q.ptr();
      a.k = k.ptr();
      a.v = v.ptr();
      a.out = out.ptr();
      a.N = N;
      a.packed_row = dRow.ptr();
      a.packed_token = dTok.ptr();
      a.budget = budget.data();
      a.budget_size = static_cast<int64_t>(budget.size());
      DeviceBuffer dScores(ctx_, std::max<int64_t>(1, B * T) * 4);
      if (proto) {
        dScores.upload(scores);
        a.proto_scores = dScores.ptr();
        a.B = B;
      }
      must(prt_gpu_shortlist_attention(b.handle, &a),
           "prt_gpu_shortlist_attention (rule)");
      must(prt_stream_synchronize(ctx_, nullptr), "the rule kernel");
      Diff d = compare(ref);
      checks.record(d.ok(tolerance(dtype)),
                    tag + (b.config.quantize_int8 ? " rule int8" : " rule"),
                    fmt("L=%lld window=%lld local=%lld anchor=%lld %s: ",
                        (long long)budget[kBudgetEffectiveL],
                        (long long)budget[kBudgetWindow],
                        (long long)budget[kBudgetLocalCap],
                        (long long)budget[kBudgetAnchorCap], sizes.c_str()) +
                        d.describe(T, D));
    }

    // Listed form: random lists (repeats allowed, widths up to past T).
    // (T + 3: lists longer than the sequence; capped where N * W would not
    // fit.)
    const int64_t widths[] = {1, 7, 64, T <= 1024 ? T + 3 : 300};
    const int64_t W = std::max<int64_t>(1, widths[rng_.below(4)]);
    std::vector<int64_t> cand(static_cast<size_t>(N * W)),
        lens(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) {
      lens[static_cast<size_t>(n)] = 1 + rng_.below(W);
      for (int64_t j = 0; j < W; ++j)
        cand[static_cast<size_t>(n * W + j)] = rng_.below(T);
    }
    std::vector<RowQueries> rows = groupByRow();
    for (int64_t n : sample) {
      RowQueries &rq = rows[static_cast<size_t>(prow[static_cast<size_t>(n)])];
      rq.lengths.push_back(lens[static_cast<size_t>(n)]);
      rq.candidates.insert(rq.candidates.end(), cand.begin() + n * W,
                           cand.begin() + (n + 1) * W);
    }
    std::vector<float> ref(static_cast<size_t>(total));
    cpuListed(b, R, T, D, in.q, in.k, in.v, rows, W, ref);
    DeviceBuffer dCand(ctx_, std::max<int64_t>(1, N * W) * 8),
        dLen(ctx_, std::max<int64_t>(1, N) * 8);
    dCand.upload(cand);
    dLen.upload(lens);
    out.upload(poison);
    prt_gpu_shortlist_attention_args a{};
    a.setting = setting;
    a.dtype = dtype;
    a.R = R;
    a.T = T;
    a.D = D;
    a.q = q.ptr();
    a.k = k.ptr();
    a.v = v.ptr();
    a.out = out.ptr();
    a.N = N;
    a.packed_row = dRow.ptr();
    a.packed_token = dTok.ptr();
    a.L = W;
    a.candidates = dCand.ptr();
    a.lengths = dLen.ptr();
    must(prt_gpu_shortlist_attention(b.handle, &a),
         "prt_gpu_shortlist_attention (listed)");
    must(prt_stream_synchronize(ctx_, nullptr), "the listed kernel");
    Diff d = compare(ref);
    checks.record(d.ok(tolerance(dtype)), tag + " listed",
                  fmt("W=%lld %s: ", (long long)W, sizes.c_str()) +
                      d.describe(T, D));
  });
}

void Checker::denseCase(const Bundle &b, int64_t setting, prt_dtype dtype,
                        int64_t T, int64_t R) {
  const int64_t D = b.D, total = R * T * D;
  const std::string tag =
      fmt("%s s%lld %s T=%lld R=%lld dense", b.name.c_str(), (long long)setting,
          prt_dtype_name(dtype), (long long)T, (long long)R);
  guard(tag, [&] {
    Inputs in(total, dtype, rng_);
    const int64_t es = prt_dtype_size(dtype);
    DeviceBuffer q(ctx_, total * es), k(ctx_, total * es), v(ctx_, total * es),
        out(ctx_, total * es);
    q.upload(in.qd);
    k.upload(in.kd);
    v.upload(in.vd);
    out.upload(nanBytes(static_cast<size_t>(total), dtype));
    prt_gpu_dense_attention_args a{
        setting, dtype, R, T, D, q.ptr(), k.ptr(), v.ptr(), out.ptr(), nullptr};
    must(prt_gpu_dense_attention(b.handle, &a), "prt_gpu_dense_attention");
    must(prt_stream_synchronize(ctx_, nullptr), "the dense kernel");
    std::vector<float> got = decode(out.download(), dtype);

    std::vector<float> ref(static_cast<size_t>(total));
    std::vector<uint8_t> checked(static_cast<size_t>(R * T), 1);
    std::string how = "all queries";
    if (T <= 4096) {
      cpuDense(b, R, T, D, in.q, in.k, in.v, ref);
    } else {
      // Sampled queries: listed attention over keys 0..t is the definition.
      const int64_t perRow = opt_.quick ? 8 : 24;
      std::fill(checked.begin(), checked.end(), 0);
      std::vector<RowQueries> rows(static_cast<size_t>(R));
      for (int64_t r = 0; r < R; ++r) {
        std::vector<int64_t> ts = {0, T - 1, T / 2};
        while (static_cast<int64_t>(ts.size()) < perRow)
          ts.push_back(rng_.below(T));
        std::sort(ts.begin(), ts.end());
        ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
        RowQueries &rq = rows[static_cast<size_t>(r)];
        for (int64_t t : ts) {
          checked[static_cast<size_t>(r * T + t)] = 1;
          rq.tokens.push_back(t);
          rq.lengths.push_back(t + 1);
          for (int64_t j = 0; j < T; ++j)
            rq.candidates.push_back(j <= t ? j : 0);
        }
      }
      cpuListed(b, R, T, D, in.q, in.k, in.v, rows, T, ref);
      how =
          fmt("%lld sampled queries per row", (long long)rows[0].tokens.size());
    }
    Diff d;
    for (int64_t i = 0; i < total; ++i) {
      if (checked[static_cast<size_t>(i / D)])
        d.compare(i, got[static_cast<size_t>(i)], ref[static_cast<size_t>(i)]);
      else
        d.written(i, got[static_cast<size_t>(i)]);
    }
    checks.record(d.ok(tolerance(dtype)), tag, how + ": " + d.describe(T, D));
  });
}

/// Reads golden/<case>/<name>.bin (f32 or i64).
template <typename T>
std::vector<T> readTensor(const std::string &dir, const nlohmann::json &c,
                          const std::string &name) {
  const nlohmann::json &t = c["tensors"][name];
  std::ifstream in(dir + "/" + t["file"].get<std::string>(), std::ios::binary);
  int64_t n = 1;
  for (const auto &s : t["shape"])
    n *= s.get<int64_t>();
  std::vector<T> v(static_cast<size_t>(n));
  in.read(reinterpret_cast<char *>(v.data()),
          static_cast<std::streamsize>(n * sizeof(T)));
  if (!in)
    throw std::runtime_error("cannot read " + dir + "/" +
                             t["file"].get<std::string>());
  return v;
}

void Checker::goldenCases(const std::vector<Bundle> &bundles) {
  for (int i = 0;; ++i) {
    const std::string dir = opt_.golden + "/attention_" + std::to_string(i);
    std::ifstream cj(dir + "/case.json");
    if (!cj) {
      if (i == 0)
        checks.record(false, "golden", "no attention_0 case in " + opt_.golden);
      return;
    }
    const std::string name = "golden attention_" + std::to_string(i);
    guard(name, [&] {
      nlohmann::json c = nlohmann::json::parse(cj);
      const nlohmann::json &p = c["params"];
      const int64_t R = p["R"], T = p["T"], D = p["D"], L = p["L"];
      const Bundle *b = nullptr;
      for (const Bundle &x : bundles)
        if (x.D == D && !b)
          b = &x;
      if (!b)
        throw std::runtime_error("no bundle of head dim " + std::to_string(D) +
                                 " among --bundle");
      auto q = readTensor<float>(dir, c, "q"),
           k = readTensor<float>(dir, c, "k"),
           v = readTensor<float>(dir, c, "v"),
           expected = readTensor<float>(dir, c, "out");
      auto prow = readTensor<int64_t>(dir, c, "packed_row"),
           ptok = readTensor<int64_t>(dir, c, "packed_token"),
           cand = readTensor<int64_t>(dir, c, "candidates"),
           lens = readTensor<int64_t>(dir, c, "lengths");
      const int64_t N = static_cast<int64_t>(prow.size()), total = R * T * D;
      std::vector<uint8_t> active(static_cast<size_t>(R * T), 0);
      for (int64_t n = 0; n < N; ++n)
        active[static_cast<size_t>(prow[static_cast<size_t>(n)] * T +
                                   ptok[static_cast<size_t>(n)])] = 1;
      auto diff = [&](const std::vector<float> &got) {
        Diff d;
        for (int64_t j = 0; j < total; ++j) {
          if (active[static_cast<size_t>(j / D)])
            d.compare(j, got[static_cast<size_t>(j)],
                      expected[static_cast<size_t>(j)]);
          else
            d.inactive(j, got[static_cast<size_t>(j)]);
        }
        return d;
      };
      const std::string shape = fmt("(%s, R=%lld T=%lld D=%lld L=%lld N=%lld)",
                                    b->name.c_str(), (long long)R, (long long)T,
                                    (long long)D, (long long)L, (long long)N);
      // The CPU library itself, as the reference the other checks use.
      {
        std::vector<float> got(static_cast<size_t>(total), NAN);
        prt_shortlist_attention_args a{
            R,           T,           D, q.data(),    k.data(),    v.data(),  N,
            prow.data(), ptok.data(), L, cand.data(), lens.data(), got.data()};
        must(prt_shortlist_attention(b->handle, &a), "prt_shortlist_attention");
        Diff d = diff(got);
        checks.record(d.ok(1e-5), name + " cpu f32 " + shape, d.describe(T, D));
      }
      if (!gpu_)
        return;
      DeviceBuffer dRow(ctx_, N * 8), dTok(ctx_, N * 8), dCand(ctx_, N * L * 8),
          dLen(ctx_, N * 8);
      dRow.upload(prow);
      dTok.upload(ptok);
      dCand.upload(cand);
      dLen.upload(lens);
      for (prt_dtype dtype : {PRT_DTYPE_F32, PRT_DTYPE_BF16}) {
        std::vector<float> qr = q, kr = k, vr = v;
        const int64_t es = prt_dtype_size(dtype);
        DeviceBuffer dq(ctx_, total * es), dk(ctx_, total * es),
            dv(ctx_, total * es), dout(ctx_, total * es);
        dq.upload(encode(qr, dtype));
        dk.upload(encode(kr, dtype));
        dv.upload(encode(vr, dtype));
        dout.upload(nanBytes(static_cast<size_t>(total), dtype));
        prt_gpu_shortlist_attention_args a{};
        a.setting = 0;
        a.dtype = dtype;
        a.R = R;
        a.T = T;
        a.D = D;
        a.q = dq.ptr();
        a.k = dk.ptr();
        a.v = dv.ptr();
        a.out = dout.ptr();
        a.N = N;
        a.packed_row = dRow.ptr();
        a.packed_token = dTok.ptr();
        a.L = L;
        a.candidates = dCand.ptr();
        a.lengths = dLen.ptr();
        a.check_indices = 1;
        must(prt_gpu_shortlist_attention(b->handle, &a),
             "prt_gpu_shortlist_attention");
        must(prt_stream_synchronize(ctx_, nullptr), "the listed kernel");
        Diff d = diff(decode(dout.download(), dtype));
        // SPEC.md 4: 1e-5 (1 + |ref|) in fp32; bf16 inputs by relative L2.
        const bool ok =
            dtype == PRT_DTYPE_F32
                ? d.ok(1e-5)
                : d.nans == 0 && d.nonzeroInactive == 0 && d.relL2() <= 1e-2;
        checks.record(ok, name + " gpu " + prt_dtype_name(dtype) + " " + shape,
                      d.describe(T, D));
      }
    });
  }
}

/// What only a GPU context can refuse: memory the driver does not know, an
/// allocation too small, bad indices under check_indices.
void Checker::refusals(const Bundle &b) {
  const std::string name = b.name + " gpu refusals";
  guard(name, [&] {
    const int64_t R = 2, T = 64, D = b.D, N = 4, total = R * T * D;
    DeviceBuffer q(ctx_, total * 4), k(ctx_, total * 4), v(ctx_, total * 4),
        out(ctx_, total * 4), rows(ctx_, N * 8), toks(ctx_, N * 8),
        cand(ctx_, N * 2 * 8), lens(ctx_, N * 8);
    std::vector<float> zero(static_cast<size_t>(total), 0.5f);
    for (DeviceBuffer *x : {&q, &k, &v})
      x->upload(zero);
    rows.upload(std::vector<int64_t>{0, 0, 1, 1});
    toks.upload(std::vector<int64_t>{0, 5, 7, 63});
    cand.upload(std::vector<int64_t>{0, 0, 1, 5, 2, 7, 63, 64}); // 64: bad
    lens.upload(std::vector<int64_t>{1, 2, 2, 2});
    prt_gpu_shortlist_attention_args a{};
    a.dtype = PRT_DTYPE_F32;
    a.R = R;
    a.T = T;
    a.D = D;
    a.q = q.ptr();
    a.k = k.ptr();
    a.v = v.ptr();
    a.out = out.ptr();
    a.N = N;
    a.packed_row = rows.ptr();
    a.packed_token = toks.ptr();
    a.L = 2;
    a.candidates = cand.ptr();
    a.lengths = lens.ptr();
    auto expect = [&](const char *what, prt_status want, const char *part) {
      prt_status got = prt_gpu_shortlist_attention(b.handle, &a);
      std::string msg = prt_last_error();
      checks.record(got == want && msg.find(part) != std::string::npos,
                    name + ": " + what,
                    std::string(prt_status_name(got)) + ": " + msg);
    };
    a.check_indices = 1;
    expect("check_indices finds candidates[3, 1] = 64",
           PRT_ERR_INVALID_ARGUMENT, "args.candidates[3, 1] = 64");
    a.check_indices = 0;
    // q's last 256 bytes past the end of an allocation of 2 MiB (a size no
    // allocation granularity rounds up).
    const int64_t big = int64_t(2) << 20;
    DeviceBuffer q2(ctx_, big);
    a.q = q2.ptr() + big - total * 4 + 256;
    expect("a tensor past its allocation", PRT_ERR_INVALID_ARGUMENT,
           "256 bytes short");
    a.q = q.ptr();
    std::vector<float> host(static_cast<size_t>(total));
    a.k = reinterpret_cast<uint64_t>(host.data());
    expect("a host pointer", PRT_ERR_INVALID_ARGUMENT,
           "is not device memory of this context");
    a.k = k.ptr();
    a.setting = static_cast<int64_t>(b.alphas.size());
    expect("an unknown setting", PRT_ERR_NOT_FOUND, "args.setting");
    a.setting = 0;
    // And the same call with a valid list runs.
    cand.upload(std::vector<int64_t>{0, 0, 1, 5, 2, 7, 63, 62});
    a.check_indices = 1;
    expect("the corrected call", PRT_OK, "");
    must(prt_stream_synchronize(ctx_, nullptr), "the listed kernel");
  });
}

void Checker::ruleUnsupported(const Bundle &b) {
  const std::string name = b.name + " rule form refused";
  guard(name, [&] {
    const int64_t R = 1, T = 64, D = b.D;
    DeviceBuffer q(ctx_, R * T * D * 4), k(ctx_, R * T * D * 4),
        v(ctx_, R * T * D * 4), out(ctx_, R * T * D * 4), rows(ctx_, 8),
        toks(ctx_, 8);
    std::vector<int64_t> budget = budgetFor(b, 0, T);
    prt_gpu_shortlist_attention_args a{};
    a.dtype = PRT_DTYPE_F32;
    a.R = R;
    a.T = T;
    a.D = D;
    a.q = q.ptr();
    a.k = k.ptr();
    a.v = v.ptr();
    a.out = out.ptr();
    a.N = 1;
    a.packed_row = rows.ptr();
    a.packed_token = toks.ptr();
    a.budget = budget.data();
    a.budget_size = static_cast<int64_t>(budget.size());
    prt_status s = prt_gpu_shortlist_attention(b.handle, &a);
    std::string msg = prt_last_error();
    checks.record(s == PRT_ERR_UNSUPPORTED && !b.gpuNote.empty() &&
                      msg.find(b.gpuNote) != std::string::npos,
                  name, std::string(prt_status_name(s)) + ": " + msg);
  });
}

//===----------------------------------------------------------------------===//
// Timing
//===----------------------------------------------------------------------===//

constexpr double kBandwidth = 3.0e12;  // B/s, device copy (BASELINES.md)
constexpr double kTensorPeak = 640e12; // FLOP/s, bf16 dense GEMM (BASELINES.md)
constexpr double kFp32Peak = 60e12;    // FLOP/s, CUDA-core fp32 (context)

struct Timing {
  double medianMs, minMs; ///< per launch
  double hostUs;          ///< median host time of one call (checks, enqueue)
};

/// Times `launch` with events: `runs` samples of `batch` back-to-back calls
/// (so that the host-side checks of one call overlap the kernels of the
/// previous), after `warmup` untimed calls; `launch(i)` may rotate inputs.
Timing timeIt(prt_context *ctx, const std::function<void(int)> &launch,
              int runs) {
  const int warmup = std::min(runs, 3), batch = std::min(runs, 10);
  for (int i = 0; i < warmup; ++i)
    launch(i);
  must(prt_stream_synchronize(ctx, nullptr), "warm-up");
  prt_event start = nullptr, end = nullptr;
  must(prt_event_create(ctx, &start), "prt_event_create");
  must(prt_event_create(ctx, &end), "prt_event_create");
  std::vector<double> ms, hostUs;
  for (int i = 0; i < runs; ++i) {
    must(prt_event_record(ctx, start, nullptr), "prt_event_record");
    for (int j = 0; j < batch; ++j) {
      auto t0 = std::chrono::steady_clock::now();
      launch(i * batch + j);
      hostUs.push_back(std::chrono::duration<double, std::micro>(
                           std::chrono::steady_clock::now() - t0)
                           .count());
    }
    must(prt_event_record(ctx, end, nullptr), "prt_event_record");
    float t = 0;
    must(prt_event_elapsed_ms(ctx, start, end, &t), "prt_event_elapsed_ms");
    ms.push_back(t / batch);
  }
  prt_event_destroy(ctx, start);
  prt_event_destroy(ctx, end);
  std::sort(ms.begin(), ms.end());
  std::sort(hostUs.begin(), hostUs.end());
  return {ms[ms.size() / 2], ms.front(), hostUs[hostUs.size() / 2]};
}

struct TimingRow {
  std::string kernel;
  prt_dtype dtype;
  int64_t R, T, N, D, L;
  Timing t;
  double bytes, flops;
};

void printTable(const std::vector<TimingRow> &rows) {
  std::printf("\n%-14s %-5s %3s %7s %7s %4s %5s %10s %10s %8s %8s %9s %9s "
              "%7s %6s\n",
              "kernel", "dtype", "R", "T", "N", "D", "L", "median_ms", "min_ms",
              "host_us", "GB/s", "GFLOP/s", "floor_ms", "x_floor", "%fp32");
  for (const TimingRow &r : rows) {
    const double s = r.t.medianMs * 1e-3;
    const double floorMs =
        std::max(r.bytes / kBandwidth, r.flops / kTensorPeak) * 1e3;
    std::printf("%-14s %-5s %3lld %7lld %7lld %4lld %5lld %10.4f %10.4f %8.1f "
                "%8.1f %9.1f %9.4f %7.1f %6.1f\n",
                r.kernel.c_str(), prt_dtype_name(r.dtype), (long long)r.R,
                (long long)r.T, (long long)r.N, (long long)r.D, (long long)r.L,
                r.t.medianMs, r.t.minMs, r.t.hostUs, r.bytes / s * 1e-9,
                r.flops / s * 1e-9, floorMs, r.t.medianMs / floorMs,
                100.0 * (r.flops / s) / kFp32Peak);
  }
  std::printf(
      "times: per call, events around batches of back-to-back calls (fill + "
      "attention for the shortlist), median of the batches; host_us: one "
      "call's host time. "
      "bytes: q+k+v+out (R*T*D each) read/written once; FLOPs: shortlist "
      "4*D*sum(candidates) (L column: the budget), dense causal 2*R*T^2*D; "
      "floor = max(bytes / %.1f TB/s, FLOPs / %.0f TFLOP/s bf16 dense); "
      "%%fp32 = achieved FLOP/s over a %.0f TFLOP/s CUDA-core fp32 peak "
      "(context)\n",
      kBandwidth * 1e-12, kTensorPeak * 1e-12, kFp32Peak * 1e-12);
}

/// Fills a device tensor of `n` elements with uniform [-1, 1) values.
void fillRandom(DeviceBuffer &buf, int64_t n, prt_dtype dtype, Rng &rng) {
  std::vector<float> host(static_cast<size_t>(n));
  for (float &f : host)
    f = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  buf.upload(encode(host, dtype));
}

void Checker::timing(const Bundle &bench, const Bundle *dense) {
  std::vector<TimingRow> table;
  // Shortlist rule kernel on the benchmark setting: R = 32 heads of one batch
  // item, 2 heads per token and 20% of tokens kept: N = 0.4 T packed queries.
  int64_t setting = -1;
  for (size_t i = 0; i < bench.alphas.size(); ++i)
    if (bench.alphas[i] == 1.0)
      setting = static_cast<int64_t>(i);
  auto lengths = [&](std::vector<int64_t> Ts) {
    if (opt_.timeMaxT > 0) {
      for (int64_t &T : Ts)
        T = std::min(T, opt_.timeMaxT);
      Ts.erase(std::unique(Ts.begin(), Ts.end()), Ts.end());
    }
    return Ts;
  };
  const std::vector<int64_t> Ts =
      lengths(opt_.quick ? std::vector<int64_t>{4096, 16384}
                         : std::vector<int64_t>{4096, 16384, 65536, 524288});
  for (int64_t T : Ts) {
    for (prt_dtype dtype : {PRT_DTYPE_BF16, PRT_DTYPE_F32}) {
      const std::string name =
          fmt("time shortlist %s T=%lld", prt_dtype_name(dtype), (long long)T);
      guard(name, [&] {
        if (setting < 0 || !bench.ruleOnGpu || bench.config.use_proto)
          throw std::runtime_error(bench.name +
                                   " has no alpha 1 setting with the GPU rule "
                                   "(without the prototype piece)");
        const int64_t R = 32, D = bench.D, total = R * T * D;
        const double p = 0.4 / R;
        const int64_t run = opt_.timeRunsOf64 ? 64 : 1;
        std::vector<int64_t> prow, ptok;
        for (int64_t r = 0; r < R; ++r)
          for (int64_t t0 = 0; t0 < T; t0 += run)
            if (rng_.uniform() < p)
              for (int64_t t = t0; t < std::min(T, t0 + run); ++t) {
                prow.push_back(r);
                ptok.push_back(t);
              }
        const int64_t N = static_cast<int64_t>(prow.size());
        std::vector<int64_t> budget = budgetFor(bench, setting, T);
        const int64_t L = budget[kBudgetEffectiveL];
        // The candidates each query really has, for the FLOP count.
        std::atomic<int64_t> candidates{0};
        const int64_t chunk = 4096;
        parallelFor((N + chunk - 1) / chunk, [&](int64_t c) {
          RowQueries rq;
          for (int64_t n = c * chunk; n < std::min(N, (c + 1) * chunk); ++n)
            rq.tokens.push_back(ptok[static_cast<size_t>(n)]);
          std::vector<RowQueries> one(1, rq);
          cpuShortlist(bench, T, budget, one);
          int64_t sum = 0;
          for (int64_t l : one[0].lengths)
            sum += l;
          candidates += sum;
        });
        const int64_t es = prt_dtype_size(dtype);
        // Rotate input sets where one would sit in L2 (50-60 MB).
        const int64_t setBytes = 3 * total * es;
        const int sets = static_cast<int>(
            std::clamp<int64_t>((256ll << 20) / setBytes, 1, 4));
        std::vector<std::unique_ptr<DeviceBuffer>> qkv;
        for (int s = 0; s < 3 * sets; ++s) {
          qkv.push_back(std::make_unique<DeviceBuffer>(ctx_, total * es));
          fillRandom(*qkv.back(), total, dtype, rng_);
        }
        DeviceBuffer out(ctx_, total * es), dRow(ctx_, N * 8),
            dTok(ctx_, N * 8);
        dRow.upload(prow);
        dTok.upload(ptok);
        prt_gpu_shortlist_attention_args a{};
        a.setting = setting;
        a.dtype = dtype;
        a.R = R;
        a.T = T;
        a.D = D;
        a.out = out.ptr();
        a.N = N;
        a.packed_row = dRow.ptr();
        a.packed_token = dTok.ptr();
        a.budget = budget.data();
        a.budget_size = static_cast<int64_t>(budget.size());
        Timing t = timeIt(
            ctx_,
            [&](int i) {
              const int s = i % sets;
              a.q = qkv[static_cast<size_t>(3 * s)]->ptr();
              a.k = qkv[static_cast<size_t>(3 * s + 1)]->ptr();
              a.v = qkv[static_cast<size_t>(3 * s + 2)]->ptr();
              must(prt_gpu_shortlist_attention(bench.handle, &a),
                   "prt_gpu_shortlist_attention");
            },
            opt_.timeRuns);
        must(prt_stream_synchronize(ctx_, nullptr), "the timed kernels");
        table.push_back({run > 1 ? "shortlist_runs" : "shortlist_rule", dtype,
                         R, T, N, D, L, t, 4.0 * double(total) * double(es),
                         4.0 * double(D) * double(candidates.load())});
        checks.record(
            true, name,
            fmt("median %.4f ms per call (%d input sets)", t.medianMs, sets));
      });
    }
  }
  // Dense causal attention: 8 heads of 64, as the cuDNN baseline.
  for (int64_t T : lengths({4096, 16384})) {
    for (prt_dtype dtype : {PRT_DTYPE_BF16, PRT_DTYPE_F32}) {
      const std::string name =
          fmt("time dense %s T=%lld", prt_dtype_name(dtype), (long long)T);
      guard(name, [&] {
        if (!dense)
          throw std::runtime_error("no bundle of head dim 64 among --bundle");
        const int64_t R = 8, D = dense->D, total = R * T * D;
        const int64_t es = prt_dtype_size(dtype);
        const int sets = static_cast<int>(
            std::clamp<int64_t>((256ll << 20) / (3 * total * es), 1, 4));
        std::vector<std::unique_ptr<DeviceBuffer>> qkv;
        for (int s = 0; s < 3 * sets; ++s) {
          qkv.push_back(std::make_unique<DeviceBuffer>(ctx_, total * es));
          fillRandom(*qkv.back(), total, dtype, rng_);
        }
        DeviceBuffer out(ctx_, total * es);
        prt_gpu_dense_attention_args a{0, dtype, R, T,         D,
                                       0, 0,     0, out.ptr(), nullptr};
        Timing t = timeIt(
            ctx_,
            [&](int i) {
              const int s = i % sets;
              a.q = qkv[static_cast<size_t>(3 * s)]->ptr();
              a.k = qkv[static_cast<size_t>(3 * s + 1)]->ptr();
              a.v = qkv[static_cast<size_t>(3 * s + 2)]->ptr();
              must(prt_gpu_dense_attention(dense->handle, &a),
                   "prt_gpu_dense_attention");
            },
            opt_.timeRuns);
        must(prt_stream_synchronize(ctx_, nullptr), "the timed kernels");
        table.push_back({"dense_causal", dtype, R, T, R * T, D, T, t,
                         4.0 * double(total) * double(es),
                         2.0 * double(R) * double(T) * double(T) * double(D)});
        checks.record(
            true, name,
            fmt("median %.4f ms per call (%d input sets)", t.medianMs, sets));
      });
    }
  }
  printTable(table);
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

void usage() {
  std::fprintf(
      stderr,
      "usage: gpu_attention_check --bundle DIR [--bundle DIR ...]\n"
      "         [--golden DIR] [--quick] [--time --bench DIR] [--seed N]\n"
      "         [--sample N] [--require-gpu]\n"
      "  --bundle DIR   a bundle from proteus-compile (one per head dim)\n"
      "  --golden DIR   the golden folder (its attention_* cases)\n"
      "  --quick        T up to 1024 and small samples, no refusal probes (for "
      "the sanitizers)\n"
      "  --time         time the kernels instead of checking shapes; the\n"
      "                 shortlist on --bench (alpha 1), dense on the D=64\n"
      "                 bundle\n"
      "  --sample N     queries per shortlist case checked on the CPU (4096)\n"
      "  --require-gpu  fail (instead of exit 77) when there is no GPU\n"
      "  --time-runs N  timed samples per size (25), batches of min(N, 10)\n"
      "  --time-max-t T clamp the timed lengths to T (tests)\n"
      "  --time-packing scattered|runs  the timed shortlist's packed queries:\n"
      "                 scattered tokens (default) or runs of 64 consecutive\n"
      "                 tokens (same N on average)\n"
      "  --cuda-library PATH  the CUDA driver to open (tests: a test "
      "double)\n");
}

bool parseArgs(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    const char *v = nullptr;
    if (a == "--bundle" && (v = value()))
      o.bundles.push_back(v);
    else if (a == "--golden" && (v = value()))
      o.golden = v;
    else if (a == "--bench" && (v = value()))
      o.bench = v;
    else if (a == "--cuda-library" && (v = value()))
      o.cudaLibrary = v;
    else if (a == "--time-runs" && (v = value()))
      o.timeRuns = std::max(1, std::atoi(v));
    else if (a == "--time-max-t" && (v = value()))
      o.timeMaxT = std::max<int64_t>(1, std::strtoll(v, nullptr, 10));
    else if (a == "--time-packing" && (v = value()) &&
             (std::string(v) == "runs" || std::string(v) == "scattered"))
      o.timeRunsOf64 = std::string(v) == "runs";
    else if (a == "--seed" && (v = value()))
      o.seed = std::strtoull(v, nullptr, 10);
    else if (a == "--sample" && (v = value()))
      o.sample = std::max<int64_t>(1, std::strtoll(v, nullptr, 10));
    else if (a == "--quick")
      o.quick = true;
    else if (a == "--time")
      o.time = true;
    else if (a == "--require-gpu")
      o.requireGpu = true;
    else
      return false;
  }
  return !o.bundles.empty() && (!o.time || !o.bench.empty());
}

} // namespace

int main(int argc, char **argv) {
  Options opt;
  if (!parseArgs(argc, argv, opt)) {
    usage();
    return 2;
  }
  if (opt.quick)
    opt.sample = std::min<int64_t>(opt.sample, 512);
  const auto started = std::chrono::steady_clock::now();

  prt_context *ctx = nullptr;
  prt_context_options options;
  prt_context_options_init(&options);
  if (!opt.cudaLibrary.empty())
    options.cuda_library = opt.cudaLibrary.c_str();
  if (prt_context_create(&ctx, &options) != PRT_OK) {
    std::fprintf(stderr, "prt_context_create: %s\n", prt_last_error());
    return 1;
  }
  prt_backend_info info;
  prt_context_backend(ctx, &info);
  const bool gpu = info.backend == PRT_BACKEND_GPU;
  std::printf("backend: %s (%s)\n", gpu ? "GPU" : "CPU", info.reason);

  Checker checker(opt, ctx, gpu);
  Checks &checks = checker.checks;
  std::vector<Bundle> bundles;
  for (const std::string &dir : opt.bundles) {
    try {
      bundles.push_back(openBundle(ctx, dir));
      const Bundle &b = bundles.back();
      std::printf("bundle %s: D=%lld, %zu settings, rule on GPU: %s%s\n",
                  b.name.c_str(), (long long)b.D, b.alphas.size(),
                  b.ruleOnGpu ? "yes" : "no",
                  b.gpuNote.empty() ? "" : (" (" + b.gpuNote + ")").c_str());
    } catch (const std::exception &e) {
      checks.record(false, "open " + dir, e.what());
    }
  }

  if (opt.time) {
    if (!gpu) {
      std::printf("no usable GPU: nothing to time\n");
    } else {
      try {
        Bundle bench = openBundle(ctx, opt.bench);
        const Bundle *dense = nullptr;
        for (const Bundle &b : bundles)
          if (b.D == 64 && !dense)
            dense = &b;
        checker.timing(bench, dense);
        prt_bundle_close(bench.handle);
      } catch (const std::exception &e) {
        checks.record(false, "timing", e.what());
      }
    }
  } else {
    for (const Bundle &b : bundles)
      checker.cpuSelfChecks(b);
    if (!opt.golden.empty())
      checker.goldenCases(bundles);
    if (gpu) {
      const std::vector<int64_t> Ts =
          opt.quick ? std::vector<int64_t>{1, 7, 64, 257, 1024}
                    : std::vector<int64_t>{1, 7, 64, 257, 1024, 4096, 65536};
      // Row densities: one row of each case is left without a query.
      const std::vector<std::vector<double>> densities = {
          {0.0, 1.0, 0.3, 0.02}, {0.5, 0.0, 0.05, 1.0}, {0.1, 0.7, 0.0, 0.2}};
      int64_t caseIndex = 0;
      for (const Bundle &b : bundles) {
        // The refusals probe host pointers through cuPointerGetAttribute on
        // purpose; the sanitizers would count those answers as API errors.
        if (!opt.quick)
          checker.refusals(b);
        if (!b.ruleOnGpu) { // its listed and dense kernels are the d16 ones
          checker.ruleUnsupported(b);
          checker.shortlistCase(b, 0, PRT_DTYPE_BF16, 257, 4, densities[0]);
          continue;
        }
        for (int64_t s = 0; s < static_cast<int64_t>(b.alphas.size()); ++s) {
          for (prt_dtype dtype : kDtypes) {
            for (int64_t T : Ts) {
              const std::vector<double> &d =
                  densities[static_cast<size_t>(caseIndex++ % 3)];
              const int64_t R = T >= 65536 ? 3 : 4;
              std::vector<double> rows(d.begin(), d.begin() + R);
              if (T >= 65536) // keep the CPU-side sizes in check
                for (double &x : rows)
                  x = std::min(x, 0.25);
              checker.shortlistCase(b, s, dtype, T, R, rows);
            }
          }
        }
        for (prt_dtype dtype : kDtypes)
          for (int64_t T : Ts)
            checker.denseCase(b, T % static_cast<int64_t>(b.alphas.size()),
                              dtype, T, T >= 65536 ? 1 : 2);
      }
    }
  }
  for (Bundle &b : bundles)
    prt_bundle_close(b.handle);
  prt_context_destroy(ctx);

  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  int status = checks.failed() ? 1 : 0;
  std::string note;
  if (!gpu && !opt.time) {
    note = fmt(" (CPU checks only: %s)", info.reason);
    if (opt.requireGpu) {
      checks.record(false, "gpu", "--require-gpu and no usable GPU");
      status = 1;
    } else if (!status) {
      status = 77;
    }
  }
  std::printf("%.1f s\n%d checks passed, %d failed%s\n", secs, checks.passed(),
              checks.failed(), note.c_str());
  return status;
}
