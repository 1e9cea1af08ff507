//===- fake_cuda_testdouble.cpp - A CUDA driver that runs on the host -----===//
//
// TEST DOUBLE of libcuda.so.1 for machines without a GPU: the driver entry
// points proteus_rt opens, with "device" memory on the host and the kernels
// of contract.h ("GPU kernels") emulated in C++ from their documented
// parameters, so that gpu_attention_check's GPU paths (parameter packing,
// launch grids, uploads, comparisons, refusals, timing) run in CTest. It
// checks what a GPU would fault on: launch grids and blocks against the
// contract, and every element a kernel touches against the memref sizes and
// the allocations (CUDA_ERROR_ILLEGAL_ADDRESS, sticky, as on a GPU).
//
// The real modules hold each setting's head dim, anchor stride and INT8 mode
// as constants; here they come from PROTEUS_FAKE_CUDA_MODULES=
// "<module file>=<D>:<stride>[:<int8>],..." (the module whose bytes are that
// file's, PTX or cubin; <int8> "max" or the percentile, for
// proteus_int8_scales_<t>). Both candidate pieces are assumed on. Which
// kernels a module has is read from its .entry lines, or from a cubin's ELF
// symbols and parameter attributes. Nothing here says anything about the real
// code. The device is of compute capability 9.0, or PROTEUS_FAKE_CUDA_CC
// ("8.6"), so that tests see the runtime choose between a cubin and the PTX.
//
// The layer kernels of contract.h ("The layer on the GPU") compute nothing
// here: a launch checks its parameters (each memref inside an allocation, the
// sizes consistent with the indices) and its grid and block against the
// contract. Once a test calls proteus_fake_cuda_record(), the driver records
// the kernels launched and the memory and synchronising calls made, in
// order, for proteus_fake_cuda_calls() to return.
//
//===----------------------------------------------------------------------===//

#include "candidate_rule.h"
#include "float16.h"
#include "int8_quant.h"
#include "proteus_rt/contract.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <elf.h>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Result = int;
constexpr Result kSuccess = 0, kInvalidValue = 1, kInvalidImage = 200,
                 kNotFound = 500, kIllegalAddress = 700, kLaunchFailure = 719;

std::mutex mu;
std::map<uintptr_t, size_t> allocations; // start -> bytes
Result sticky = kSuccess;

struct Module {
  std::set<std::string> kernels;
  /// Each entry's declared .param count (0 where the text declares none, as
  /// the tests' own PTX).
  std::map<std::string, int64_t> paramCount;
  int64_t headDim = 0, stride = 0; ///< 0: not given
  /// proteus_int8_scales_<t>'s percentile (0: max mode; < 0: not given).
  float int8Percentile = -1.0f;
};
struct Function {
  std::string name;
  const Module *module;
};
// Owned here, so that unloading the driver (dlclose) frees them.
std::vector<std::unique_ptr<Module>> modules;
std::vector<std::unique_ptr<Function>> functions;

/// What the runtime asked of the driver, in order, while recording (under
/// `mu`).
bool recording = false;
std::vector<std::string> calls;
void note(const std::string &what) {
  if (recording)
    calls.push_back(what);
}

bool inAllocation(uintptr_t p, size_t bytes) {
  auto it = allocations.upper_bound(p);
  if (it == allocations.begin())
    return false;
  --it;
  return p >= it->first && p + bytes <= it->first + it->second;
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

//===----------------------------------------------------------------------===//
// Kernel emulation
//===----------------------------------------------------------------------===//

struct Fault {};
/// A launch given fewer parameters than the kernel reads (the runtime's
/// KernelParams leaves the pointers past its parameters null).
struct MissingParameter {};

/// A flattened memref parameter (five 8-byte values).
struct Ref {
  uintptr_t ptr = 0;
  int64_t size = 0;
  int elem = 4;
  void check(int64_t i) const {
    if (i < 0 || i >= size)
      throw Fault{};
  }
};

class Params {
public:
  explicit Params(void **p) : p_(p) {}
  Ref memref(int elem) {
    Ref r;
    uint64_t allocated = u64(), aligned = u64(), offset = u64();
    r.size = static_cast<int64_t>(u64());
    uint64_t stride = u64();
    if (allocated != aligned || offset != 0 || stride != 1)
      throw Fault{};
    r.ptr = static_cast<uintptr_t>(aligned);
    r.elem = elem;
    // The whole memref inside one allocation; each access inside the memref.
    if (r.size > 0 && !inAllocation(r.ptr, size_t(r.size) * size_t(elem)))
      throw Fault{};
    return r;
  }
  int64_t index() { return static_cast<int64_t>(u64()); }

private:
  uint64_t u64() {
    if (!p_[i_])
      throw MissingParameter{};
    return *static_cast<uint64_t *>(p_[i_++]);
  }
  void **p_;
  size_t i_ = 0;
};

enum class Type { F32, BF16, F16 };

float load(const Ref &r, Type t, int64_t i) {
  r.check(i);
  const void *p = reinterpret_cast<const void *>(r.ptr);
  if (t == Type::F32)
    return static_cast<const float *>(p)[i];
  uint16_t h = static_cast<const uint16_t *>(p)[i];
  return t == Type::F16 ? proteus_rt_test::floatFromHalf(h)
                        : proteus_rt_test::floatFromBf16(h);
}

void store(const Ref &r, Type t, int64_t i, float v) {
  r.check(i);
  void *p = reinterpret_cast<void *>(r.ptr);
  if (t == Type::F32) {
    static_cast<float *>(p)[i] = v;
    return;
  }
  static_cast<uint16_t *>(p)[i] = t == Type::F16
                                      ? proteus_rt_test::halfFromFloat(v)
                                      : proteus_rt_test::bf16FromFloat(v);
}

int64_t loadIndex(const Ref &r, int64_t i) {
  r.check(i);
  return reinterpret_cast<const int64_t *>(r.ptr)[i];
}

/// Softmax attention of query (row, t) over `count` candidates.
/// With `scales` (the row's q, k, v scales), q, k and v are fake-quantized as
/// they are loaded.
template <typename Candidate>
void attend(const Ref &q, const Ref &k, const Ref &v, const Ref &out, Type t,
            int64_t T, int64_t D, int64_t row, int64_t tok, int64_t count,
            Candidate &&candidate, const float *scales = nullptr) {
  auto get = [&](const Ref &r, Type type, int64_t i) {
    const float x = load(r, type, i);
    if (!scales)
      return x;
    const int which = &r == &q ? 0 : &r == &k ? 1 : 2;
    return proteus_rt::test::fakeQuantize(x, scales[which]);
  };
  const int64_t base = (row * T + tok) * D;
  std::vector<double> scores(static_cast<size_t>(count));
  double m = -INFINITY;
  for (int64_t j = 0; j < count; ++j) {
    const int64_t c = candidate(j);
    double s = 0;
    for (int64_t d = 0; d < D; ++d)
      s += double(get(q, t, base + d)) * get(k, t, (row * T + c) * D + d);
    scores[static_cast<size_t>(j)] = s / std::sqrt(double(D));
    m = std::max(m, scores[static_cast<size_t>(j)]);
  }
  std::vector<double> acc(static_cast<size_t>(D), 0.0);
  double sum = 0;
  for (int64_t j = 0; j < count; ++j) {
    const double p = std::exp(scores[static_cast<size_t>(j)] - m);
    sum += p;
    const int64_t c = candidate(j);
    for (int64_t d = 0; d < D; ++d)
      acc[static_cast<size_t>(d)] += p * get(v, t, (row * T + c) * D + d);
  }
  for (int64_t d = 0; d < D; ++d)
    store(out, t, base + d,
          static_cast<float>(acc[static_cast<size_t>(d)] / sum));
}

/// The candidate rule for local + anchor pieces in closed form (as
/// ProteusToGPU's RuleCandidates).
struct Rule {
  int64_t count, anchorsBefore, iMax, localStart, stride, t;
  bool zeroFirst;
  Rule(int64_t t, int64_t T, int64_t stride, int64_t effL, int64_t window,
       int64_t localCap, int64_t anchorCap)
      : stride(stride), t(t) {
    int64_t w = std::min(std::min(window, effL), localCap);
    int64_t nl = localCap > 0 ? std::min(t + 1, w) : 0;
    nl = std::max<int64_t>(nl, 1);
    localStart = t + 1 - nl;
    int64_t m = std::min(std::min(anchorCap, effL), std::max<int64_t>(1, T));
    m = anchorCap > 0 ? m : 0;
    int64_t iMin = (nl - 1) / stride + 1;
    iMax = std::min(m, t / stride);
    int64_t nAnchor = std::max<int64_t>(iMax + 1 - iMin, 0);
    bool collapsed = m * stride > t;
    bool zeroExact = t % stride == 0 && m >= t / stride;
    zeroFirst = collapsed && !(zeroExact || localStart == 0);
    nAnchor += zeroFirst ? 1 : 0;
    anchorsBefore = nAnchor;
    count = std::min(nAnchor + nl, effL);
  }
  int64_t at(int64_t j) const {
    if (j >= anchorsBefore)
      return localStart + (j - anchorsBefore);
    if (zeroFirst && j == 0)
      return 0;
    return t - (iMax - (j - (zeroFirst ? 1 : 0))) * stride;
  }
};

/// Parameters of the layer kernels, one letter each: a memref of f32 (f),
/// f64 (d), i64 (l) or i8 (b), or an index (i).
const std::map<std::string, std::string> kLayerKernels = {
    {"proteus_route_prep", "ffff"},
    {"proteus_route_scale", "ffii"},
    {"proteus_route_logits", "fffi"},
    {"proteus_route", "ffffffffffii"},
    {"proteus_select_tokens", "fbiiii"},
    {"proteus_head_mass", "fdii"},
    {"proteus_gate", "dll"},
    {"proteus_top_k", "fblbii"},
    {"proteus_pack_count", "blii"},
    {"proteus_pack_scan", "llllii"},
    {"proteus_pack_write", "blllii"},
    {"proteus_project", "fffffflii"},
    {"proteus_project_q", "ffflllfii"},
    {"proteus_combine", "fffbfii"},
    {"proteus_proto_mass", "fdii"},
    {"proteus_proto_partial", "ffdiii"},
    {"proteus_proto_update", "ddfffiii"},
    {"proteus_layer_shortlist_attention_f32", "fffllfliiiii"},
    // With INT8 (its scales after the state), the prototype piece (salience
    // and proto_cap last), or both; told apart by the PTX's parameter count.
    {"proteus_layer_shortlist_attention_f32 int8", "fffllflfiiiii"},
    {"proteus_layer_shortlist_attention_f32 proto", "fffllfliiiiifi"},
    {"proteus_layer_shortlist_attention_f32 int8 proto", "fffllflfiiiiifi"},
    {"proteus_layer_dense_attention_f32", "fffflii"},
};

/// A layer kernel's launch: parameters and geometry against contract.h.
Result launchLayerKernel(const std::string &n, const std::string &spec,
                         unsigned grid, unsigned block, void **raw) {
  Params p(raw);
  std::vector<Ref> m;
  std::vector<int64_t> x;
  for (char c : spec) {
    if (c == 'i')
      x.push_back(p.index());
    else
      m.push_back(p.memref(c == 'b' ? 1 : c == 'f' ? 4 : 8));
  }
  auto ceilDiv = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  const int64_t g = grid, b = block;
  bool ok = false;
  if (n == "proteus_gate") {
    ok = g == 1 && b == 1 && m[2].size == 16;
  } else if (n == "proteus_route_prep") {
    // A block per prototype: prototypes (G*C), usage (G).
    ok = g == m[1].size && b == 256 && m[0].size % m[1].size == 0 &&
         m[2].size == m[0].size;
  } else if (n == "proteus_route_scale") {
    const int64_t bt = x[0] * x[1];
    ok = g == ceilDiv(bt, 256) && b == 256 && m[0].size % bt == 0 &&
         m[1].size == m[0].size;
  } else if (n == "proteus_route_logits") {
    const int64_t c = x[0] > 0 ? m[0].size / x[0] : 0;
    const int64_t gates = c > 0 ? m[1].size / c : 0;
    ok = c > 0 && c * x[0] == m[0].size && gates * c == m[1].size &&
         m[2].size == x[0] * gates && b == 256 &&
         g == ceilDiv(x[0], 64) * ceilDiv(gates, 64);
  } else if (n == "proteus_route") {
    const int64_t bt = x[0] * x[1];
    ok = g == ceilDiv(bt, 256) && b == 256 && m[0].size % bt == 0 &&
         m[5].size % bt == 0 && m[6].size % bt == 0 && m[7].size == bt;
  } else if (n == "proteus_select_tokens") {
    ok = g == x[0] && b == 512 && m[0].size == x[0] * x[1] &&
         m[1].size == x[0] * x[1] && x[2] >= 0 && x[3] >= 0 && x[3] <= x[1];
  } else if (n == "proteus_head_mass" || n == "proteus_proto_mass") {
    ok = g == m[1].size && b == 256 && m[0].size == x[0] * x[1] * m[1].size;
  } else if (n == "proteus_top_k") {
    const int64_t bt = x[0] * x[1];
    ok = g == ceilDiv(bt, 256) && b == 256 && m[1].size == bt &&
         m[2].size == 16 && m[3].size == m[0].size;
  } else if (n == "proteus_pack_count") {
    ok = g == x[0] && b == 256 && m[0].size == x[0] * x[1] && m[1].size == x[0];
  } else if (n == "proteus_pack_scan") {
    ok = g == 1 && b == 1 && m[0].size == x[0] && m[1].size == x[0] + 1 &&
         m[3].size == 16;
  } else if (n == "proteus_pack_write") {
    ok = g == x[0] && b == 256 && m[0].size == x[0] * x[1] &&
         m[1].size == x[0] + 1 && m[2].size == x[0] * x[1] &&
         m[3].size == x[0] * x[1];
  } else if (n == "proteus_project" || n == "proteus_combine") {
    const int64_t bt = x[0] * x[1];
    const bool project = n == "proteus_project";
    const int64_t c = m[project ? 0 : 4].size / bt;
    ok = b == 256 && c * bt == m[project ? 0 : 4].size &&
         g == ceilDiv(bt, 128) * ceilDiv(project ? 3 * c : c, 128) &&
         m[project ? 3 : 0].size == bt * c && (project || m[3].size == bt);
  } else if (n == "proteus_project_q") {
    // Per row, tiles of packed pairs by columns (contract.h: 4096 / D by D
    // at D <= 32, else 64 by 64): offsets (R + 1), packed_token (R*T);
    // q (R*T*D) holds B*T rows of C.
    const int64_t bt = x[0] * x[1], rows = m[3].size - 1,
                  d = rows > 0 && x[1] > 0 ? m[6].size / (rows * x[1]) : 0;
    const int64_t tileRows = d >= 64 ? 64
                             : d > 0 ? 4096 / d
                                     : 1,
                  tileCols = d >= 64 ? 64 : std::max<int64_t>(d, 1);
    ok = b == 256 && m[5].size == 16 && rows > 0 && d > 0 &&
         m[4].size == rows * x[1] &&
         g == rows * ceilDiv(x[1], tileRows) * ceilDiv(d, tileCols) && bt > 0 &&
         m[0].size % bt == 0 && m[6].size == m[0].size;
  } else if (n == "proteus_proto_partial") {
    // Chunks of gpuProtoChunk(B*T) tokens x tiles of 64 gates, by tiles of
    // 64 columns; the partial sums (chunks, G, C).
    const int64_t bt = x[0] * x[1], c = bt > 0 ? m[0].size / bt : 0,
                  gates = bt > 0 ? m[1].size / bt : 0,
                  chunks = ceilDiv(bt, x[2]);
    ok = x[2] == proteus_rt::gpuProtoChunk(bt) && c > 0 && gates > 0 &&
         c * bt == m[0].size && gates * bt == m[1].size &&
         m[2].size == chunks * gates * c && b == 256 &&
         g == ceilDiv(c, 64) * chunks * ceilDiv(gates, 64);
  } else if (n == "proteus_proto_update") {
    const int64_t gates = m[0].size, c = gates > 0 ? m[2].size / gates : 0,
                  chunks = ceilDiv(x[0] * x[1], x[2]);
    ok = x[2] == proteus_rt::gpuProtoChunk(x[0] * x[1]) && c > 0 &&
         c * gates == m[2].size && m[1].size == chunks * gates * c &&
         b == 256 && g == ceilDiv(gates * c, 256);
  } else if (n == "proteus_layer_shortlist_attention_f32") {
    ok = g == 2048 && b == 128 && m[6].size == 16 && m[3].size == m[4].size &&
         m[0].size == m[5].size;
    if (spec.size() > 12 && spec.back() == 'i') {
      // The salience (B*T) divides packed_row's R*T = B*H*T; proto_cap >= 0.
      const Ref &sim = m.back();
      const int64_t T = x[0];
      ok = ok && T > 0 && sim.size % T == 0 && sim.size > 0 &&
           m[3].size % sim.size == 0 && x.back() >= 0;
    }
  } else if (n == "proteus_layer_dense_attention_f32") {
    ok = x[1] > 0 && x[0] % x[1] == 0 && b == 128 && m[4].size == 16 &&
         g == x[0] / x[1] * ceilDiv(x[1], 64) && m[0].size == m[3].size;
  }
  return ok ? kSuccess : kInvalidValue;
}

/// The parameter letters of layer kernel `n` in module `m`: the table's
/// entry, or for the shortlist kernel the variant whose parameter count the
/// module's PTX declares (the plain one where it declares none).
const std::string *layerSpec(const std::string &n, const Module &m) {
  auto it = kLayerKernels.find(n);
  if (it == kLayerKernels.end())
    return nullptr;
  auto count = m.paramCount.find(n);
  if (count == m.paramCount.end() || count->second == 0)
    return &it->second;
  for (const char *suffix : {"", " int8", " proto", " int8 proto"}) {
    auto v = kLayerKernels.find(n + suffix);
    if (v == kLayerKernels.end())
      continue;
    int64_t params = 0;
    for (char c : v->second)
      params += c == 'i' ? 1 : 5;
    if (params == count->second)
      return &v->second;
  }
  return nullptr;
}

Result launch(const Function &f, unsigned grid, unsigned block, void **raw) {
  const std::string &n = f.name;
  if (kLayerKernels.count(n)) {
    const std::string *spec = layerSpec(n, *f.module);
    if (!spec)
      return kInvalidValue;
    return launchLayerKernel(n, *spec, grid, block, raw);
  }
  const size_t us = n.rfind('_');
  const std::string ts = n.substr(us + 1);
  const Type t = ts == "f32"    ? Type::F32
                 : ts == "bf16" ? Type::BF16
                                : Type::F16;
  const int es = t == Type::F32 ? 4 : 2;
  Params p(raw);
  auto ceilDiv = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  if (n.rfind("proteus_fill_zero_", 0) == 0) {
    Ref out = p.memref(es);
    int64_t total = p.index();
    if (block != 256 || grid != ceilDiv(total, 256))
      return kInvalidValue;
    for (int64_t i = 0; i < total; ++i)
      store(out, t, i, 0.0f);
    return kSuccess;
  }
  if (n.rfind("proteus_int8_scales_", 0) == 0) {
    // q, k, v (R*T*D), scales (R*3), R, T; a block per (row, tensor).
    Ref in[3] = {p.memref(es), p.memref(es), p.memref(es)};
    Ref scales = p.memref(4);
    const int64_t R = p.index(), T = p.index();
    const float pct = f.module->int8Percentile;
    if (R < 1 || T < 1 || in[0].size % (R * T) != 0 ||
        in[1].size != in[0].size || in[2].size != in[0].size ||
        scales.size != R * 3 || grid != R * 3 || block != 256)
      return kInvalidValue;
    if (pct < 0.0f) // no mode given: checked only, as the layer kernels
      return kSuccess;
    const int64_t n = in[0].size / R;
    std::vector<float> row(static_cast<size_t>(n));
    for (int64_t r = 0; r < R; ++r)
      for (int w = 0; w < 3; ++w) {
        for (int64_t i = 0; i < n; ++i)
          row[static_cast<size_t>(i)] = load(in[w], t, r * n + i);
        store(scales, Type::F32, r * 3 + w,
              proteus_rt::test::int8Scale(row.data(), n, pct));
      }
    return kSuccess;
  }
  const bool dense = n.rfind("proteus_dense_attention_", 0) == 0;
  const bool listed = n.find("_listed_") != std::string::npos;
  Ref q = p.memref(es), k = p.memref(es), v = p.memref(es), rows, toks, cand,
      lens;
  if (!dense) {
    rows = p.memref(8);
    toks = p.memref(8);
  }
  if (listed) {
    cand = p.memref(8);
    lens = p.memref(8);
  }
  Ref out = p.memref(es);
  // The rule kernel's .params: 36, with INT8's scales (after out) 41, with
  // the prototype piece's scores, proto_cap and rows per item 43, both 48.
  auto count = f.module->paramCount.find(n);
  const int64_t params =
      count == f.module->paramCount.end() ? 0 : count->second;
  const bool int8 = !dense && !listed && (params == 41 || params == 48);
  const bool proto = !dense && !listed && (params == 43 || params == 48);
  Ref scales;
  if (int8)
    scales = p.memref(4);
  const int64_t nq = p.index(), T = p.index();
  if (block != 128 || q.size != k.size || q.size != v.size ||
      q.size != out.size)
    return kInvalidValue;
  if (dense) {
    const int64_t R = nq / T, D = q.size / nq;
    if (nq % T || q.size % nq || grid != R * ceilDiv(T, 64))
      return kInvalidValue;
    for (int64_t r = 0; r < R; ++r)
      for (int64_t tok = 0; tok < T; ++tok)
        attend(q, k, v, out, t, T, D, r, tok, tok + 1,
               [](int64_t j) { return j; });
    return kSuccess;
  }
  if (grid != ceilDiv(nq, 4))
    return kInvalidValue;
  int64_t W = 0, effL = 0, window = 0, localCap = 0, anchorCap = 0;
  if (listed) {
    W = p.index();
  } else {
    effL = p.index();
    window = p.index();
    localCap = p.index();
    anchorCap = p.index();
  }
  // The prototype piece's scores (B*T), proto_cap and rows per batch item.
  Ref scores;
  int64_t protoCap = 0, heads = 0;
  if (proto) {
    scores = p.memref(4);
    protoCap = p.index();
    heads = p.index();
    if (heads < 1 || T < 1 || scores.size % T != 0 || protoCap < 0)
      return kInvalidValue;
  }
  const int64_t D = f.module->headDim;
  if (D < 1 || q.size % (T * D) || (!listed && f.module->stride < 1))
    return kInvalidValue;
  if (int8 && scales.size * T * D != q.size * 3)
    return kInvalidValue;
  for (int64_t i = 0; i < nq; ++i) {
    const int64_t r = loadIndex(rows, i), tok = loadIndex(toks, i);
    float rowScales[3] = {0, 0, 0};
    for (int w = 0; int8 && w < 3; ++w)
      rowScales[w] = load(scales, Type::F32, r * 3 + w);
    const float *qs = int8 ? rowScales : nullptr;
    if (listed) {
      const int64_t count = loadIndex(lens, i);
      attend(q, k, v, out, t, T, D, r, tok, count,
             [&](int64_t j) { return loadIndex(cand, i * W + j); });
    } else if (proto) {
      // The oracle's merge, the picks from row r's batch item's scores.
      const int64_t base = (r / heads) * T;
      if (base + tok >= scores.size)
        return kInvalidValue;
      std::vector<float> sc(static_cast<size_t>(tok + 1));
      for (int64_t j = 0; j <= tok; ++j)
        sc[static_cast<size_t>(j)] = load(scores, Type::F32, base + j);
      const int64_t caps[3] = {localCap, anchorCap, protoCap};
      const std::vector<int64_t> c = proteus_rt::test::candidatesFor(
          {true, true, true, f.module->stride}, tok, T, effL, window, caps,
          sc.data());
      attend(
          q, k, v, out, t, T, D, r, tok, static_cast<int64_t>(c.size()),
          [&](int64_t j) { return c[static_cast<size_t>(j)]; }, qs);
    } else {
      Rule rule(tok, T, f.module->stride, effL, window, localCap, anchorCap);
      attend(
          q, k, v, out, t, T, D, r, tok, rule.count,
          [&](int64_t j) { return rule.at(j); }, qs);
    }
  }
  return kSuccess;
}

double nowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

} // namespace

#define API extern "C" __attribute__((visibility("default"))) Result

API cuInit(unsigned) { return kSuccess; }
API cuDriverGetVersion(int *v) {
  *v = 99990;
  return kSuccess;
}
API cuDeviceGetCount(int *n) {
  *n = 1;
  return kSuccess;
}
API cuDeviceGet(int *d, int) {
  *d = 0;
  return kSuccess;
}
API cuDeviceGetAttribute(int *v, int attr, int) {
  // Compute capability 9.0, or PROTEUS_FAKE_CUDA_CC ("8.6").
  int major = 9, minor = 0;
  if (const char *cc = std::getenv("PROTEUS_FAKE_CUDA_CC"))
    std::sscanf(cc, "%d.%d", &major, &minor);
  *v = attr == 75 ? major : attr == 76 ? minor : 0;
  return kSuccess;
}
API cuDeviceGetName(char *name, int len, int) {
  std::snprintf(name, size_t(len), "fake CUDA device (test double)");
  return kSuccess;
}
API cuDevicePrimaryCtxRetain(void **ctx, int) {
  static int c;
  *ctx = &c;
  return kSuccess;
}
API cuDevicePrimaryCtxRelease_v2(int) { return kSuccess; }
API cuCtxPushCurrent_v2(void *) { return kSuccess; }
API cuCtxPopCurrent_v2(void **) { return kSuccess; }
API cuCtxSynchronize() {
  std::lock_guard<std::mutex> lock(mu);
  note("cuCtxSynchronize");
  return sticky;
}
API cuStreamSynchronize(void *) {
  std::lock_guard<std::mutex> lock(mu);
  note("cuStreamSynchronize");
  return sticky;
}

/// A cubin as ptxas writes it: an ELF image whose global functions are the
/// kernels, each with a .nv.info.<kernel> section holding one
/// EIATTR_KPARAM_INFO attribute per parameter. Fills `m`'s kernels and
/// parameter counts and returns the image's bytes (its size is where its
/// last header or section ends); "" when it is not such an image.
std::string readCubin(const char *image, Module &m) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, image, sizeof(eh));
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_shentsize != sizeof(Elf64_Shdr))
    return "";
  size_t size = std::max<size_t>(eh.e_shoff + eh.e_shnum * sizeof(Elf64_Shdr),
                                 eh.e_phoff + eh.e_phnum * eh.e_phentsize);
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  std::memcpy(sh.data(), image + eh.e_shoff, sh.size() * sizeof(Elf64_Shdr));
  for (const Elf64_Shdr &s : sh)
    if (s.sh_type != SHT_NOBITS)
      size = std::max<size_t>(size, s.sh_offset + s.sh_size);
  if (eh.e_shstrndx >= sh.size())
    return "";
  const char *names = image + sh[eh.e_shstrndx].sh_offset;
  std::map<std::string, int64_t> params; // .nv.info.<kernel> -> KPARAM count
  for (const Elf64_Shdr &s : sh) {
    const std::string name = names + s.sh_name;
    if (name.rfind(".nv.info.", 0) != 0)
      continue;
    int64_t &n = params[name.substr(9)];
    const auto *a =
        reinterpret_cast<const unsigned char *>(image + s.sh_offset);
    for (size_t at = 0; at + 4 <= s.sh_size;) {
      const unsigned format = a[at], attr = a[at + 1];
      n += attr == 0x17; // EIATTR_KPARAM_INFO
      // EIFMT_SVAL (4) carries a 16-bit size and that many bytes; the
      // others (NVAL, BVAL, HVAL) fit in the 4 bytes.
      at += format == 4   ? 4 + (a[at + 2] | a[at + 3] << 8)
            : format == 1 ? 2
                          : 4;
    }
  }
  for (const Elf64_Shdr &s : sh) {
    if (s.sh_type != SHT_SYMTAB || s.sh_link >= sh.size())
      continue;
    const char *strings = image + sh[s.sh_link].sh_offset;
    for (size_t off = 0; off + sizeof(Elf64_Sym) <= s.sh_size;
         off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      std::memcpy(&sym, image + s.sh_offset + off, sizeof(sym));
      if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC ||
          ELF64_ST_BIND(sym.st_info) != STB_GLOBAL)
        continue;
      const std::string name = strings + sym.st_name;
      m.kernels.insert(name);
      m.paramCount[name] = params[name];
    }
  }
  return std::string(image, size);
}

API cuModuleLoadDataEx(void **module, const void *image, unsigned, int *,
                       void **) {
  std::lock_guard<std::mutex> lock(mu);
  const bool cubin = std::memcmp(image, ELFMAG, SELFMAG) == 0;
  note(cubin ? "cuModuleLoadDataEx cubin" : "cuModuleLoadDataEx ptx");
  auto *m = new Module;
  const std::string text = cubin
                               ? readCubin(static_cast<const char *>(image), *m)
                               : std::string(static_cast<const char *>(image));
  if (text.empty()) {
    delete m;
    return kInvalidImage;
  }
  for (size_t at = 0;
       !cubin && (at = text.find(".entry ", at)) != std::string::npos;) {
    at += 7;
    const size_t open = text.find('(', at);
    const std::string name = text.substr(at, open - at);
    m->kernels.insert(name);
    const std::string list = text.substr(open, text.find(')', open) - open);
    int64_t n = 0;
    for (size_t p = 0; (p = list.find(".param", p)) != std::string::npos;
         p += 6)
      ++n;
    m->paramCount[name] = n;
  }
  // "<file>=<D>:<stride>,...": the facts of the file whose text this is.
  if (const char *list = std::getenv("PROTEUS_FAKE_CUDA_MODULES")) {
    std::stringstream ss(list);
    for (std::string item; std::getline(ss, item, ',');) {
      const size_t eq = item.rfind('=');
      if (eq == std::string::npos || readAll(item.substr(0, eq)) != text)
        continue;
      std::vector<std::string> fields;
      std::stringstream fs(item.substr(eq + 1));
      for (std::string f; std::getline(fs, f, ':');)
        fields.push_back(f);
      if (fields.size() < 2)
        continue;
      m->headDim = std::atoll(fields[0].c_str());
      m->stride = std::atoll(fields[1].c_str());
      if (fields.size() > 2)
        m->int8Percentile =
            fields[2] == "max"
                ? 0.0f
                : static_cast<float>(std::atof(fields[2].c_str()));
    }
  }
  modules.emplace_back(m);
  *module = m;
  return kSuccess;
}
API cuModuleUnload(void *) { return kSuccess; }
API cuModuleGetFunction(void **fn, void *module, const char *name) {
  std::lock_guard<std::mutex> lock(mu);
  auto *m = static_cast<Module *>(module);
  if (!m->kernels.count(name)) {
    // A failed lookup is an error compute-sanitizer reports: recorded so
    // that tests can say the runtime never makes one.
    note(std::string("cuModuleGetFunction not found: ") + name);
    return kNotFound;
  }
  auto *f = new Function{name, m};
  functions.emplace_back(f);
  *fn = f;
  return kSuccess;
}

// The JIT linker: the "cubin" is the PTX text itself.
struct Link {
  std::string image;
};
API cuLinkCreate_v2(unsigned, int *, void **, void **state) {
  *state = new Link;
  return kSuccess;
}
API cuLinkAddData_v2(void *state, int, void *data, size_t size, const char *,
                     unsigned, int *, void **) {
  static_cast<Link *>(state)->image.assign(static_cast<const char *>(data),
                                           size);
  return kSuccess;
}
API cuLinkComplete(void *state, void **cubin, size_t *size) {
  {
    std::lock_guard<std::mutex> lock(mu);
    note("cuLinkComplete");
  }
  Link *l = static_cast<Link *>(state);
  *cubin = l->image.data();
  *size = l->image.size();
  return kSuccess;
}
API cuLinkDestroy(void *state) {
  delete static_cast<Link *>(state);
  return kSuccess;
}

namespace {
Result allocate(unsigned long long *p, size_t bytes, const char *what) {
  std::lock_guard<std::mutex> lock(mu);
  note(what);
  void *m = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!m)
    return 2; // CUDA_ERROR_OUT_OF_MEMORY
  allocations[reinterpret_cast<uintptr_t>(m)] = bytes;
  *p = reinterpret_cast<uintptr_t>(m);
  return kSuccess;
}
Result release(unsigned long long p, const char *what) {
  std::lock_guard<std::mutex> lock(mu);
  note(what);
  auto it = allocations.find(static_cast<uintptr_t>(p));
  if (it == allocations.end())
    return kInvalidValue;
  std::free(reinterpret_cast<void *>(it->first));
  allocations.erase(it);
  return kSuccess;
}
} // namespace
API cuMemAlloc_v2(unsigned long long *p, size_t bytes) {
  return allocate(p, bytes, "cuMemAlloc");
}
API cuMemFree_v2(unsigned long long p) { return release(p, "cuMemFree"); }
// Stream-ordered: everything here runs at once, in call order.
API cuMemAllocAsync(unsigned long long *p, size_t bytes, void *) {
  return allocate(p, bytes, "cuMemAllocAsync");
}
API cuMemFreeAsync(unsigned long long p, void *) {
  return release(p, "cuMemFreeAsync");
}
namespace {
Result copyToDevice(unsigned long long dst, const void *src, size_t bytes,
                    const char *what) {
  std::lock_guard<std::mutex> lock(mu);
  note(what);
  if (sticky)
    return sticky;
  if (!inAllocation(static_cast<uintptr_t>(dst), bytes))
    return kInvalidValue;
  std::memcpy(reinterpret_cast<void *>(dst), src, bytes);
  return kSuccess;
}
} // namespace
API cuMemcpyHtoD_v2(unsigned long long dst, const void *src, size_t bytes) {
  return copyToDevice(dst, src, bytes, "cuMemcpyHtoD");
}
API cuMemcpyDtoH_v2(void *dst, unsigned long long src, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu);
  note("cuMemcpyDtoH");
  if (sticky)
    return sticky;
  if (!inAllocation(static_cast<uintptr_t>(src), bytes))
    return kInvalidValue;
  std::memcpy(dst, reinterpret_cast<const void *>(src), bytes);
  return kSuccess;
}
API cuMemcpyHtoDAsync_v2(unsigned long long dst, const void *src, size_t bytes,
                         void *) {
  return copyToDevice(dst, src, bytes, "cuMemcpyHtoDAsync");
}
API cuMemsetD8Async(unsigned long long dst, unsigned char value, size_t bytes,
                    void *) {
  std::lock_guard<std::mutex> lock(mu);
  note("cuMemsetD8Async " + std::to_string(value));
  if (sticky)
    return sticky;
  if (!inAllocation(static_cast<uintptr_t>(dst), bytes))
    return kInvalidValue;
  std::memset(reinterpret_cast<void *>(dst), value, bytes);
  return kSuccess;
}
API cuPointerGetAttribute(void *data, int attr, unsigned long long p) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = allocations.upper_bound(static_cast<uintptr_t>(p));
  if (it == allocations.begin())
    return kInvalidValue;
  --it;
  if (p >= it->first + it->second)
    return kInvalidValue;
  if (attr == 11)
    *static_cast<unsigned long long *>(data) = it->first;
  else if (attr == 12)
    *static_cast<size_t *>(data) = it->second;
  else
    return kInvalidValue;
  return kSuccess;
}

API cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                   unsigned by, unsigned bz, unsigned shared, void *,
                   void **params, void **extra) {
  std::lock_guard<std::mutex> lock(mu);
  if (sticky)
    return sticky;
  note(static_cast<Function *>(fn)->name);
  if (gy != 1 || gz != 1 || by != 1 || bz != 1 || shared != 0 || extra)
    return kInvalidValue;
  try {
    return launch(*static_cast<Function *>(fn), gx, bx, params);
  } catch (const MissingParameter &) {
    return kInvalidValue;
  } catch (const Fault &) {
    sticky = kIllegalAddress;
    return kSuccess; // reported at the next synchronisation, as on a GPU
  } catch (...) {
    sticky = kLaunchFailure;
    return kSuccess;
  }
}

API cuEventCreate(void **e, unsigned) {
  *e = new double(0);
  return kSuccess;
}
API cuEventDestroy_v2(void *e) {
  delete static_cast<double *>(e);
  return kSuccess;
}
API cuEventRecord(void *e, void *) {
  *static_cast<double *>(e) = nowMs();
  return sticky;
}
API cuEventSynchronize(void *) { return sticky; }
API cuEventElapsedTime_v2(float *ms, void *a, void *b) {
  *ms =
      static_cast<float>(*static_cast<double *>(b) - *static_cast<double *>(a));
  return kSuccess;
}

API cuGetErrorName(Result r, const char **s) {
  switch (r) {
  case kSuccess:
    *s = "CUDA_SUCCESS";
    return kSuccess;
  case kInvalidValue:
    *s = "CUDA_ERROR_INVALID_VALUE";
    return kSuccess;
  case kNotFound:
    *s = "CUDA_ERROR_NOT_FOUND";
    return kSuccess;
  case kIllegalAddress:
    *s = "CUDA_ERROR_ILLEGAL_ADDRESS";
    return kSuccess;
  default:
    *s = "CUDA_ERROR_UNKNOWN";
    return kSuccess;
  }
}
API cuGetErrorString(Result r, const char **s) { return cuGetErrorName(r, s); }

/// Starts recording (and forgets what was recorded).
extern "C" __attribute__((visibility("default"))) void
proteus_fake_cuda_record() {
  std::lock_guard<std::mutex> lock(mu);
  recording = true;
  calls.clear();
}

/// The calls recorded since proteus_fake_cuda_record(), one a line.
extern "C" __attribute__((visibility("default"))) const char *
proteus_fake_cuda_calls() {
  std::lock_guard<std::mutex> lock(mu);
  static std::string text;
  text.clear();
  for (const std::string &c : calls)
    text += c + "\n";
  return text.c_str();
}
