//===- proteus-tune-measure.cpp - The autotuner's GPU side ----------------===//
//
// Times the variants of the tuning bundles `proteus-tune generate` wrote and
// records the best tile of every kernel, setting and shape class in the
// tuning database. Each variant is a small kernel bundle run through the
// runtime's own entry points (prt_gpu_shortlist_attention,
// prt_gpu_dense_attention), so what is timed is what a user's call launches.
// Links proteus_rt only (no LLVM): it runs on the GPU machine next to the
// bundles compiled elsewhere.
//
// Per kernel and shape class: random inputs (several sets, rotated so that
// the L2 cache does not flatter); the default tile's outputs on the first set
// and at T = 777 (which no tile divides) are the references every other
// variant must match (outputs poisoned with NaN before each checked run)
// before it is timed; timing: warm-up calls, then the median over repeated
// batches of back-to-back calls between CUDA events.
// The default tile is timed first and again last. Every result is appended
// to the journal as it comes, so a rerun continues where the last one
// stopped.
//
// Exit code: 0 done, 1 error, 2 bad usage, 3 stopped at --time-limit (run
// the same command again to continue), 77 no usable GPU.
//
//===----------------------------------------------------------------------===//

#include "proteus/Autotune/Progress.h"
#include "proteus/Autotune/TuningDb.h"
#include "proteus_rt/config_json.h"
#include "proteus_rt/contract.h"
#include "proteus_rt/proteus_rt.h"
#include "proteus_rt/version.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tune = proteus_tune;

namespace {

constexpr const char *kUsage =
    R"(usage: proteus-tune-measure [options] TUNING_BUNDLE [TUNING_BUNDLE ...]

Step 2 of proteus-tune (proteus-tune --help): times the variants of tuning
bundles from `proteus-tune generate` on this machine's GPU and writes the
tuning database that proteus-compile --tuning-db reads.

  --db FILE          the database to extend (default: $PROTEUS_TUNING_DB, else
                     tuning.json in the runtime's cache folder)
  --journal FILE     per-variant results, for resuming (default: FILE.journal)
  --classes LIST     only these shape classes (default: each kernel's)
  --kernels LIST     only kernels whose name contains one of these words
  --repeats N        timed batches per variant (default 15)
  --warmup N         untimed calls first (default 3)
  --batch-ms X       each timed batch spans at least X ms (default 2)
  --time-limit S     start no variant after S seconds; exit 3 (rerun to go on)
  --check-only       check every variant against the default; time nothing
  --remeasure        measure groups the database already has for this device
  --seed N           input seed (default 1)
  --cuda-library P   the CUDA driver to open (default libcuda.so.1)

Exit code: 0 done, 1 error, 2 bad usage, 3 time limit (resume), 77 no GPU.
)";

struct Options {
  std::vector<std::string> bundles, classes, kernels;
  std::string db, journal, cudaLibrary;
  int repeats = 15, warmup = 3;
  double batchMs = 2.0, timeLimit = 0.0;
  bool checkOnly = false, remeasure = false;
  uint64_t seed = 1;
};

/// A failed runtime call, with the runtime's words.
struct CallError : std::runtime_error {
  prt_status status;
  CallError(prt_status s, const std::string &what)
      : std::runtime_error(what + ": " + prt_status_name(s) + ": " +
                           prt_last_error()),
        status(s) {}
};

void must(prt_status s, const std::string &what) {
  if (s != PRT_OK)
    throw CallError(s, what);
}

std::vector<std::string> splitList(const std::string &text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty())
      out.push_back(part);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

uint64_t splitmix(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int64_t elemBytes(prt_dtype t) { return prt_dtype_size(t); }

/// m / 256 for m in [-256, 256): exact in f32, bf16 and f16.
void encodeSixteenths(int m, prt_dtype t, uint8_t *dst) {
  float x = static_cast<float>(m) / 256.0f;
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if (t == PRT_DTYPE_F32) {
    std::memcpy(dst, &bits, 4);
    return;
  }
  uint16_t h;
  if (t == PRT_DTYPE_BF16) {
    h = static_cast<uint16_t>(bits >> 16);
  } else if (m == 0) {
    h = 0;
  } else {
    // |m| = 1.f * 2^e, e in [0, 7]: the value's exponent is e - 8 (normal).
    uint32_t a = static_cast<uint32_t>(std::abs(m));
    int e = 31 - __builtin_clz(a);
    h = static_cast<uint16_t>((m < 0 ? 0x8000u : 0u) | ((e + 7) << 10) |
                              ((a << (10 - e)) & 0x3ffu));
  }
  std::memcpy(dst, &h, 2);
}

float decode(const uint8_t *src, prt_dtype t) {
  if (t == PRT_DTYPE_F32) {
    float f;
    std::memcpy(&f, src, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, src, 2);
  uint32_t bits;
  if (t == PRT_DTYPE_BF16) {
    bits = static_cast<uint32_t>(h) << 16;
  } else {
    uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f,
             man = h & 0x3ffu;
    if (exp == 0x1f)
      bits = sign | 0x7f800000u | (man << 13);
    else if (exp != 0)
      bits = sign | ((exp + 112) << 23) | (man << 13);
    else if (man == 0)
      bits = sign;
    else {
      // Subnormal: normalise.
      int shift = 0;
      while (!(man & 0x400u)) {
        man <<= 1;
        ++shift;
      }
      bits = sign | ((113 - shift) << 23) | ((man & 0x3ffu) << 13);
    }
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// Fills `n` elements with values m / 256 on every core.
std::vector<uint8_t> randomTensor(int64_t n, prt_dtype t, uint64_t seed) {
  const int64_t es = elemBytes(t);
  std::vector<uint8_t> out(static_cast<size_t>(n * es));
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  const int64_t chunk = (n + threads - 1) / threads;
  for (unsigned w = 0; w < threads; ++w)
    pool.emplace_back([&, w] {
      uint64_t state = seed * 0x100000001b3ull + w;
      for (int64_t i = w * chunk; i < std::min(n, (w + 1) * chunk); ++i) {
        int m = static_cast<int>(splitmix(state) % 512) - 256;
        encodeSixteenths(m, t, &out[static_cast<size_t>(i * es)]);
      }
    });
  for (std::thread &th : pool)
    th.join();
  return out;
}

class DeviceBuffer {
public:
  DeviceBuffer(prt_context *ctx, int64_t bytes) : ctx_(ctx), bytes_(bytes) {
    must(prt_device_alloc(ctx, std::max<int64_t>(bytes, 1), &ptr_),
         "prt_device_alloc(" + std::to_string(bytes) + ")");
  }
  ~DeviceBuffer() { prt_device_free(ctx_, ptr_); }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  uint64_t ptr() const { return ptr_; }
  void upload(const void *data, int64_t bytes) {
    must(prt_memcpy_htod(ctx_, ptr_, data, bytes), "prt_memcpy_htod");
  }
  std::vector<uint8_t> download() const {
    std::vector<uint8_t> host(static_cast<size_t>(bytes_));
    must(prt_memcpy_dtoh(ctx_, host.data(), ptr_, bytes_), "prt_memcpy_dtoh");
    return host;
  }

private:
  prt_context *ctx_;
  int64_t bytes_;
  uint64_t ptr_ = 0;
};

class Bundle {
public:
  Bundle(prt_context *ctx, const std::string &dir) {
    must(prt_bundle_open(ctx, dir.c_str(), &handle_),
         "prt_bundle_open(" + dir + ")");
  }
  ~Bundle() { prt_bundle_close(handle_); }
  Bundle(const Bundle &) = delete;
  Bundle &operator=(const Bundle &) = delete;
  prt_bundle *get() const { return handle_; }

private:
  prt_bundle *handle_ = nullptr;
};

//===----------------------------------------------------------------------===//
// One kernel at one shape
//===----------------------------------------------------------------------===//

/// The shape, inputs and launch of one kernel in one shape class.
struct Workload {
  prt_context *ctx;
  const tune::KernelVariants &group;
  prt_dtype dtype;
  int64_t B, T, R, D, N = 0;
  int sets = 1;
  std::vector<std::unique_ptr<DeviceBuffer>> qkv; ///< 3 per set
  std::unique_ptr<DeviceBuffer> out, packedRow, packedToken;
  std::vector<int64_t> budget;
  std::vector<uint8_t> poison;

  int64_t outBytes() const { return R * T * D * elemBytes(dtype); }

  /// Launches the kernel of `bundle` on input set `set` (asynchronous).
  void launch(prt_bundle *bundle, int set) const {
    const size_t s = static_cast<size_t>(set % sets) * 3;
    // The fields both kernels' arguments have.
    auto common = [&](auto &a) {
      a.setting = 0;
      a.dtype = dtype;
      a.R = R;
      a.T = T;
      a.D = D;
      a.q = qkv[s]->ptr();
      a.k = qkv[s + 1]->ptr();
      a.v = qkv[s + 2]->ptr();
      a.out = out->ptr();
    };
    if (group.role == "dense") {
      prt_gpu_dense_attention_args a{};
      common(a);
      must(prt_gpu_dense_attention(bundle, &a), "prt_gpu_dense_attention");
      return;
    }
    prt_gpu_shortlist_attention_args a{};
    common(a);
    a.N = N;
    a.packed_row = packedRow->ptr();
    a.packed_token = packedToken->ptr();
    a.budget = budget.data();
    a.budget_size = static_cast<int64_t>(budget.size());
    must(prt_gpu_shortlist_attention(bundle, &a),
         "prt_gpu_shortlist_attention");
  }

  /// The output of one run on set 0, the output poisoned first.
  std::vector<uint8_t> run(prt_bundle *bundle) const {
    out->upload(poison.data(), outBytes());
    launch(bundle, 0);
    must(prt_stream_synchronize(ctx, nullptr), "the checked run");
    return out->download();
  }
};

prt_dtype dtypeOf(const std::string &name) {
  if (name == "bf16")
    return PRT_DTYPE_BF16;
  if (name == "f16")
    return PRT_DTYPE_F16;
  if (name == "f32")
    return PRT_DTYPE_F32;
  throw std::runtime_error("unknown dtype '" + name + "'");
}

/// Dense causal attention is O(T^2): its long class is measured at 32K.
constexpr int64_t kDenseMaxT = 32768;
/// Besides the class's shape, every variant is checked at this length, which
/// no tile divides (partial key tiles, the last query block half full).
constexpr int64_t kTailT = 777;

/// The shape measure runs for kernel `g` in class `cls`.
std::pair<int64_t, int64_t> measureShape(const tune::KernelVariants &g,
                                         const tune::ShapeClass &cls) {
  return {cls.measureB, g.role == "dense" ? std::min(cls.measureT, kDenseMaxT)
                                          : cls.measureT};
}

/// Inputs of shape (B * heads, T, D); `timed`: enough input sets that their
/// rotation overflows the L2 cache (50 MB on H100), else one.
std::unique_ptr<Workload> makeWorkload(prt_context *ctx,
                                       const tune::TuningBundle &tb,
                                       const tune::KernelVariants &g, int64_t B,
                                       int64_t T, bool timed, uint64_t seed) {
  auto w = std::unique_ptr<Workload>(new Workload{ctx, g, dtypeOf(g.dtype)});
  w->B = B;
  w->T = T;
  w->R = w->B * g.heads;
  w->D = g.headDim;
  const int64_t es = elemBytes(w->dtype), total = w->R * w->T * w->D;
  const int64_t setBytes = 3 * total * es;
  w->sets = timed ? static_cast<int>(std::clamp<int64_t>(
                        ((256ll << 20) + setBytes - 1) / setBytes, 2, 64))
                  : 1;
  for (int s = 0; s < 3 * w->sets; ++s) {
    w->qkv.push_back(std::make_unique<DeviceBuffer>(ctx, total * es));
    std::vector<uint8_t> host =
        randomTensor(total, w->dtype, seed * 1000003ull + s);
    w->qkv.back()->upload(host.data(), total * es);
  }
  w->out = std::make_unique<DeviceBuffer>(ctx, total * es);
  w->poison.assign(static_cast<size_t>(total * es), 0xff);
  if (g.role == "shortlist") {
    // 2 heads of every token, 20% of tokens kept: each (row, token) with
    // probability 0.4 / H, in (row, token) order as the runtime packs them.
    std::vector<int64_t> rows, tokens;
    uint64_t state = seed ^ 0x5eedull;
    const uint64_t threshold = static_cast<uint64_t>(
        0.4 / static_cast<double>(g.heads) * 18446744073709551615.0);
    for (int64_t r = 0; r < w->R; ++r)
      for (int64_t t = 0; t < w->T; ++t)
        if (splitmix(state) < threshold) {
          rows.push_back(r);
          tokens.push_back(t);
        }
    w->N = static_cast<int64_t>(rows.size());
    w->packedRow = std::make_unique<DeviceBuffer>(ctx, w->N * 8);
    w->packedToken = std::make_unique<DeviceBuffer>(ctx, w->N * 8);
    w->packedRow->upload(rows.data(), w->N * 8);
    w->packedToken->upload(tokens.data(), w->N * 8);
    proteus_rt::Config c;
    std::string error;
    if (!proteus_rt::parseConfigJson(tb.config, c, error))
      throw std::runtime_error("tune.json config: " + error);
    c.keep_ratio_base = g.density;
    // The setting's budget at T, as the runtime checks it (B = 1).
    w->budget = proteus_rt::makeBudget(c, 1, w->T, g.alpha, false).budget;
  }
  return w;
}

struct Comparison {
  int64_t bad = 0, first = -1;
  double maxError = 0.0;
  float want = 0, got = 0;
};

/// |got - want| <= tol (1 + |want|) everywhere, NaN never.
Comparison compare(const std::vector<uint8_t> &want,
                   const std::vector<uint8_t> &got, prt_dtype t) {
  const double tol = t == PRT_DTYPE_BF16  ? 2e-2
                     : t == PRT_DTYPE_F16 ? 2e-3
                                          : 1e-4;
  const int64_t es = elemBytes(t), n = static_cast<int64_t>(want.size()) / es;
  Comparison c;
  for (int64_t i = 0; i < n; ++i) {
    float a = decode(&want[static_cast<size_t>(i * es)], t);
    float b = decode(&got[static_cast<size_t>(i * es)], t);
    double err = std::fabs(double(a) - double(b));
    bool ok = !std::isnan(b) && err <= tol * (1.0 + std::fabs(double(a)));
    if (!std::isnan(err))
      c.maxError = std::max(c.maxError, err);
    if (!ok) {
      if (c.bad++ == 0) {
        c.first = i;
        c.want = a;
        c.got = b;
      }
    }
  }
  if (c.bad)
    c.maxError = std::isnan(c.got) ? NAN : c.maxError;
  return c;
}

struct Timing {
  double medianMs = 0, minMs = 0, hostUs = 0;
};

/// Warm-up calls, then `repeats` batches of back-to-back calls between
/// events; each batch spans at least `batchMs`.
Timing timeCalls(prt_context *ctx, const Workload &w, prt_bundle *bundle,
                 const Options &o) {
  int call = 0;
  for (int i = 0; i < o.warmup; ++i)
    w.launch(bundle, call++);
  must(prt_stream_synchronize(ctx, nullptr), "the warm-up calls");
  prt_event start = nullptr, end = nullptr;
  must(prt_event_create(ctx, &start), "prt_event_create");
  must(prt_event_create(ctx, &end), "prt_event_create");
  struct Events {
    prt_context *ctx;
    prt_event a, b;
    ~Events() {
      prt_event_destroy(ctx, a);
      prt_event_destroy(ctx, b);
    }
  } guard{ctx, start, end};
  auto batchOf = [&](int n, double *hostUs) {
    must(prt_event_record(ctx, start, nullptr), "prt_event_record");
    auto t0 = std::chrono::steady_clock::now();
    for (int j = 0; j < n; ++j)
      w.launch(bundle, call++);
    if (hostUs)
      *hostUs = std::chrono::duration<double, std::micro>(
                    std::chrono::steady_clock::now() - t0)
                    .count() /
                n;
    must(prt_event_record(ctx, end, nullptr), "prt_event_record");
    float ms = 0;
    must(prt_event_elapsed_ms(ctx, start, end, &ms), "prt_event_elapsed_ms");
    return double(ms) / n;
  };
  const double estimate = batchOf(1, nullptr);
  const int batch = static_cast<int>(
      std::clamp(std::ceil(o.batchMs / std::max(estimate, 1e-3)), 1.0, 64.0));
  std::vector<double> ms, host;
  for (int r = 0; r < o.repeats; ++r) {
    double h = 0;
    ms.push_back(batchOf(batch, &h));
    host.push_back(h);
  }
  std::sort(ms.begin(), ms.end());
  std::sort(host.begin(), host.end());
  return {ms[ms.size() / 2], ms.front(), host[host.size() / 2]};
}

std::string nowUtc() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string fmt(const char *f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

//===----------------------------------------------------------------------===//
// The run
//===----------------------------------------------------------------------===//

struct Device {
  std::string name, arch;
  int64_t driver = 0;
};

/// One kernel of one tuning bundle in one shape class.
struct Group {
  const tune::TuningBundle *tb;
  std::string dir;
  const tune::KernelVariants *kernel;
  const tune::ShapeClass *cls;
  std::string key;
};

class Measure {
public:
  Measure(const Options &o, prt_context *ctx, Device dev, tune::Database &db,
          std::string dbPath, tune::Journal &journal)
      : o_(o), ctx_(ctx), dev_(std::move(dev)), db_(db),
        dbPath_(std::move(dbPath)), journal_(journal),
        started_(std::chrono::steady_clock::now()) {}

  /// The variants of `g` still to run (the default is run twice).
  int64_t pending(const Group &g) const {
    int64_t n = 0;
    for (const std::string &id : runOrder(g))
      n += !journal_.find(g.key, id, dev_.name, dev_.driver) || o_.checkOnly;
    return n;
  }

  /// false: the time limit stopped it.
  bool run(const Group &g, tune::Progress &progress, int &mismatches) {
    const tune::KernelVariants &k = *g.kernel;
    auto [B, T] = measureShape(k, *g.cls);
    std::unique_ptr<Workload> w =
        makeWorkload(ctx_, *g.tb, k, B, T, true, o_.seed);
    std::unique_ptr<Workload> tail =
        makeWorkload(ctx_, *g.tb, k, 1, kTailT, false, o_.seed + 1);
    const std::string what = k.kernel + " " + g.cls->name;
    std::fprintf(stderr,
                 "measure: %s [%s]: R=%lld T=%lld N=%lld, %d input sets\n",
                 what.c_str(), k.setting.c_str(), (long long)w->R,
                 (long long)w->T, (long long)w->N, w->sets);
    std::map<std::string, const tune::Variant *> byId;
    for (const tune::Variant &v : k.variants)
      byId[v.id] = &v;
    const tune::Variant &def = *byId.at(k.defaultId);
    std::vector<uint8_t> reference, tailReference;
    {
      Bundle b(ctx_, g.dir + "/" + def.dir);
      reference = w->run(b.get());
      tailReference = tail->run(b.get());
    }
    const int64_t es = elemBytes(w->dtype);
    for (const std::vector<uint8_t> *ref : {&reference, &tailReference})
      for (int64_t i = 0; i < static_cast<int64_t>(ref->size()) / es; ++i)
        if (std::isnan(decode(&(*ref)[static_cast<size_t>(i * es)], w->dtype)))
          throw std::runtime_error(what + ": the default tile wrote NaN at " +
                                   std::to_string(i) +
                                   ": nothing to check against");
    std::map<std::string, tune::JournalRecord> results;
    for (const std::string &id : runOrder(g)) {
      const tune::Variant &v = *byId.at(baseId(id));
      if (const tune::JournalRecord *r =
              journal_.find(g.key, id, dev_.name, dev_.driver);
          r && !o_.checkOnly) {
        results[id] = *r;
        continue;
      }
      if (o_.timeLimit > 0 && elapsed() > o_.timeLimit)
        return false;
      tune::JournalRecord rec{g.key, id, dev_.name, dev_.driver};
      const std::string label = what + " " + id + " " + tune::toString(v.tile);
      try {
        Bundle b(ctx_, g.dir + "/" + v.dir);
        if (v.id != k.defaultId || o_.checkOnly) {
          Comparison c = compare(reference, w->run(b.get()), w->dtype);
          std::string at = "T=" + std::to_string(w->T);
          if (!c.bad) {
            Comparison ct =
                compare(tailReference, tail->run(b.get()), tail->dtype);
            c.maxError = std::max(c.maxError, ct.maxError);
            if (ct.bad) {
              c = ct;
              at = "T=" + std::to_string(kTailT);
            }
          }
          rec.maxError = c.maxError;
          if (c.bad) {
            rec.status = "mismatch";
            rec.note = at + ": " + std::to_string(c.bad) +
                       " elements off, first at " + std::to_string(c.first) +
                       ": " + fmt("%g", c.got) + " instead of " +
                       fmt("%g", c.want);
            ++mismatches;
            std::fprintf(stderr, "measure: MISMATCH %s: %s\n", label.c_str(),
                         rec.note.c_str());
          }
        }
        if (rec.status.empty() && !o_.checkOnly) {
          Timing t = timeCalls(ctx_, *w, b.get(), o_);
          rec.status = "ok";
          rec.ms = t.medianMs;
          rec.minMs = t.minMs;
          rec.note = "host " + fmt("%.1f", t.hostUs) + " us/call";
          if (t.hostUs * 1e-3 >= 0.9 * t.medianMs)
            rec.note += " (host-bound: the GPU waits for the calls)";
        } else if (rec.status.empty()) {
          rec.status = "ok";
          rec.note = "checked";
        }
      } catch (const CallError &e) {
        rec.status = "error";
        rec.note = e.what();
        std::fprintf(stderr, "measure: ERROR %s: %s\n", label.c_str(),
                     e.what());
        // A fault inside a kernel leaves the context unusable.
        if (prt_stream_synchronize(ctx_, nullptr) != PRT_OK) {
          std::string error;
          journal_.append(rec, error);
          throw std::runtime_error(
              "the GPU context is unusable after " + label +
              " (journaled as an error; a rerun continues after it)");
        }
      }
      if (!o_.checkOnly) {
        std::string error;
        if (!journal_.append(rec, error))
          throw std::runtime_error(error);
      }
      results[id] = rec;
      progress.step(label + ": " + rec.status +
                    (rec.status == "ok" && !o_.checkOnly
                         ? " " + fmt("%.4f", rec.ms) + " ms"
                         : std::string()));
    }
    if (!o_.checkOnly)
      record(g, *w, results, byId);
    return true;
  }

  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         started_)
        .count();
  }

  std::vector<tune::Entry> written;

private:
  /// The default first, every other variant, the default again.
  std::vector<std::string> runOrder(const Group &g) const {
    std::vector<std::string> ids = {g.kernel->defaultId};
    for (const tune::Variant &v : g.kernel->variants)
      if (v.id != g.kernel->defaultId)
        ids.push_back(v.id);
    if (!o_.checkOnly)
      ids.push_back(g.kernel->defaultId + "@end");
    return ids;
  }
  static std::string baseId(const std::string &id) {
    return id.substr(0, id.find('@'));
  }

  void record(const Group &g, const Workload &w,
              const std::map<std::string, tune::JournalRecord> &results,
              const std::map<std::string, const tune::Variant *> &byId) {
    const tune::KernelVariants &k = *g.kernel;
    // The default's time: the better of its two runs (no flattering of the
    // others by a slow first run).
    std::map<std::string, double> ms;
    int64_t rejected = 0;
    for (const auto &[id, r] : results) {
      if (r.status != "ok") {
        rejected += baseId(id) == id;
        continue;
      }
      const std::string base = baseId(id);
      ms[base] = ms.count(base) ? std::min(ms[base], r.ms) : r.ms;
    }
    if (!ms.count(k.defaultId))
      throw std::runtime_error(k.kernel + " " + g.cls->name +
                               ": the default tile has no time");
    std::vector<std::pair<double, std::string>> ranked;
    for (const auto &[id, t] : ms)
      ranked.push_back({t, id});
    std::sort(ranked.begin(), ranked.end());
    tune::Entry e;
    e.kernel = k.kernel;
    e.setting = k.setting;
    e.shapeClass = g.cls->name;
    e.arch = g.tb->arch;
    e.compiler = g.tb->compiler;
    e.device = dev_.name;
    e.driver = dev_.driver;
    e.best = {byId.at(ranked[0].second)->tile, ranked[0].first};
    if (ranked.size() > 1)
      e.runnerUp =
          tune::Measured{byId.at(ranked[1].second)->tile, ranked[1].first};
    e.defaults = {byId.at(k.defaultId)->tile, ms.at(k.defaultId)};
    e.measured = static_cast<int64_t>(ms.size());
    e.rejected = rejected;
    e.B = w.B;
    e.T = w.T;
    e.R = w.R;
    e.N = w.N;
    e.measuredAt = nowUtc();
    db_.put(e);
    std::string error;
    if (!db_.save(dbPath_, error))
      throw std::runtime_error(error);
    written.push_back(e);
    std::fprintf(
        stderr,
        "measure: %s %s: default %.4f ms, best %.4f ms (%.2fx) %s%s; %lld "
        "timed, %lld rejected\n",
        k.kernel.c_str(), g.cls->name.c_str(), e.defaults.ms, e.best.ms,
        e.defaults.ms / e.best.ms, tune::toString(e.best.tile).c_str(),
        e.runnerUp
            ? (", runner-up " + fmt("%.4f", e.runnerUp->ms) + " ms").c_str()
            : "",
        (long long)e.measured, (long long)e.rejected);
  }

  const Options &o_;
  prt_context *ctx_;
  Device dev_;
  tune::Database &db_;
  std::string dbPath_;
  tune::Journal &journal_;
  std::chrono::steady_clock::time_point started_;
};

int usage(const std::string &error) {
  std::fprintf(stderr, "proteus-tune-measure: %s\n\n%s", error.c_str(), kUsage);
  return 2;
}

int run(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (a == "--version") {
      std::printf("%s\n", prt::versionLine("proteus-tune-measure").c_str());
      return 0;
    }
    if (a == "--db")
      o.db = value();
    else if (a == "--journal")
      o.journal = value();
    else if (a == "--classes")
      o.classes = splitList(value());
    else if (a == "--kernels")
      o.kernels = splitList(value());
    else if (a == "--repeats")
      o.repeats = std::max(1, std::atoi(value().c_str()));
    else if (a == "--warmup")
      o.warmup = std::max(0, std::atoi(value().c_str()));
    else if (a == "--batch-ms")
      o.batchMs = std::max(0.0, std::atof(value().c_str()));
    else if (a == "--time-limit")
      o.timeLimit = std::atof(value().c_str());
    else if (a == "--check-only")
      o.checkOnly = true;
    else if (a == "--remeasure")
      o.remeasure = true;
    else if (a == "--seed")
      o.seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--cuda-library")
      o.cudaLibrary = value();
    else if (!a.empty() && a[0] == '-')
      return usage("unknown option " + a);
    else
      o.bundles.push_back(a);
  }
  if (o.bundles.empty())
    return usage("no tuning bundle given");
  for (const std::string &c : o.classes)
    if (!tune::findShapeClass(c))
      return usage("--classes: no shape class '" + c + "'");

  std::vector<tune::TuningBundle> bundles(o.bundles.size());
  for (size_t i = 0; i < o.bundles.size(); ++i) {
    std::string error;
    if (!tune::TuningBundle::load(o.bundles[i], bundles[i], error)) {
      std::fprintf(stderr, "proteus-tune-measure: %s\n", error.c_str());
      return 1;
    }
  }
  if (o.db.empty()) {
    std::string why;
    o.db = tune::defaultDatabasePath(why);
    if (o.db.empty())
      return usage("no --db and no default location: " + why);
  }
  if (o.journal.empty())
    o.journal = o.db + ".journal";
  tune::Database db;
  if (FILE *f = std::fopen(o.db.c_str(), "r")) {
    std::fclose(f);
    std::string error;
    if (!tune::Database::load(o.db, db, error)) {
      std::fprintf(stderr, "proteus-tune-measure: %s\n", error.c_str());
      return 1;
    }
  }
  tune::Journal journal;
  {
    std::string error;
    if (!journal.open(o.journal, error)) {
      std::fprintf(stderr, "proteus-tune-measure: %s\n", error.c_str());
      return 1;
    }
  }

  prt_context_options copts;
  prt_context_options_init(&copts);
  copts.backend = PRT_BACKEND_GPU;
  if (!o.cudaLibrary.empty())
    copts.cuda_library = o.cudaLibrary.c_str();
  prt_context *ctx = nullptr;
  if (prt_status s = prt_context_create(&ctx, &copts); s != PRT_OK) {
    std::fprintf(stderr, "proteus-tune-measure: no usable GPU: %s: %s\n",
                 prt_status_name(s), prt_last_error());
    return s == PRT_ERR_UNSUPPORTED ? 77 : 1;
  }
  struct CtxGuard {
    prt_context *c;
    ~CtxGuard() { prt_context_destroy(c); }
  } ctxGuard{ctx};
  prt_backend_info info{};
  must(prt_context_backend(ctx, &info), "prt_context_backend");
  Device dev{info.device_name, info.arch, info.driver_version};
  std::fprintf(stderr, "measure: %s (%s, driver %lld); database %s\n",
               dev.name.c_str(), dev.arch.c_str(), (long long)dev.driver,
               o.db.c_str());

  std::vector<Group> groups;
  int64_t done = 0;
  for (size_t i = 0; i < bundles.size(); ++i) {
    const tune::TuningBundle &tb = bundles[i];
    if (tb.arch != dev.arch)
      std::fprintf(stderr,
                   "measure: note: %s holds PTX for %s, this device is %s "
                   "(the driver JIT compiles it; entries are recorded for "
                   "%s)\n",
                   o.bundles[i].c_str(), tb.arch.c_str(), dev.arch.c_str(),
                   tb.arch.c_str());
    for (const tune::KernelVariants &k : tb.kernels) {
      if (!o.kernels.empty() && std::none_of(o.kernels.begin(), o.kernels.end(),
                                             [&](const std::string &w) {
                                               return k.kernel.find(w) !=
                                                      std::string::npos;
                                             }))
        continue;
      for (const std::string &c : k.classes) {
        if (!o.classes.empty() &&
            std::find(o.classes.begin(), o.classes.end(), c) == o.classes.end())
          continue;
        Group g{&tb, o.bundles[i], &k, tune::findShapeClass(c),
                tune::groupKey(k.kernel, k.setting, c, tb.arch, tb.compiler)};
        bool have = false;
        for (const tune::Entry &e : db.entries)
          have |= tune::groupKey(e.kernel, e.setting, e.shapeClass, e.arch,
                                 e.compiler) == g.key &&
                  e.device == dev.name && e.driver == dev.driver;
        if (have && !o.remeasure && !o.checkOnly) {
          ++done;
          continue;
        }
        groups.push_back(g);
      }
    }
  }
  Measure m(o, ctx, dev, db, o.db, journal);
  int64_t total = 0;
  for (const Group &g : groups)
    total += m.pending(g);
  if (done)
    std::fprintf(stderr,
                 "measure: %lld kernel/class groups already in the database "
                 "for this device (--remeasure to redo)\n",
                 (long long)done);
  tune::Progress progress(o.checkOnly ? "check" : "measure", total);
  int mismatches = 0;
  size_t finished = 0;
  for (const Group &g : groups) {
    if (!m.run(g, progress, mismatches)) {
      progress.finish("stopped at the time limit (" + fmt("%g", o.timeLimit) +
                      " s) with " + std::to_string(finished) + " of " +
                      std::to_string(groups.size()) +
                      " groups done; run the same command again to continue");
      return 3;
    }
    ++finished;
  }
  progress.finish(std::to_string(groups.size()) + " groups " +
                  (o.checkOnly ? "checked" : "measured") + ", " +
                  std::to_string(mismatches) + " variants rejected");
  if (!o.checkOnly) {
    std::printf("%-36s %-8s %7s %9s %9s %7s %9s  %s\n", "kernel", "class", "T",
                "default", "best", "speedup", "2nd", "best tile");
    for (const tune::Entry &e : m.written)
      std::printf("%-36s %-8s %7lld %9.4f %9.4f %6.2fx %9s  %s\n",
                  e.kernel.c_str(), e.shapeClass.c_str(), (long long)e.T,
                  e.defaults.ms, e.best.ms, e.defaults.ms / e.best.ms,
                  e.runnerUp ? fmt("%.4f", e.runnerUp->ms).c_str() : "-",
                  tune::toString(e.best.tile).c_str());
    std::printf("database: %s (%zu entries); journal: %s\n", o.db.c_str(),
                db.entries.size(), o.journal.c_str());
  }
  return o.checkOnly && mismatches ? 1 : 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const std::invalid_argument &e) {
    return usage(e.what());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "proteus-tune-measure: error: %s\n", e.what());
    return 1;
  }
}
