//===- reference_kernels_testdouble.cpp - TEST DOUBLE of a CPU library ----===//
//
// NOT the Proteus kernels. A stand-in for the CPU library that
// proteus-compile emits, so that the runtime and proteus-run can be tested
// before (and independently of) the compiler: it exports the contract's
// entry points (contract.h) and computes what the independent oracle
// (shared/oracle/*.py) computes, in plain scalar C++.
//
// Unlike compiled kernels it is not specialised: it reads the configuration
// from its own fingerprint (contract.h, kFingerprintSymbol) on first use,
// which tests write over a placeholder when they copy the double into a
// bundle (test_util.h, patchFingerprint), as the compiler bakes it in.
//
// Built twice: as the full double, and with PROTEUS_TESTDOUBLE_NO_LAYER (no
// layer entry points) for the "missing symbol" tests. The exported
// proteus_testdouble_* globals let tests make the layer report a bad mode.
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/config_json.h"
#include "proteus_rt/contract.h"

#include "candidate_rule.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

using namespace proteus_rt;

extern "C" {
/// When >= 0, the layer reports this value as its mode (tests of bad output).
__attribute__((visibility("default"))) int64_t proteus_testdouble_forced_mode =
    -1;
/// Number of layer calls so far.
__attribute__((visibility("default"))) int64_t proteus_testdouble_layer_calls =
    0;
/// The budget of the last layer call (first 64 values).
__attribute__((visibility("default")))
int64_t proteus_testdouble_last_budget[64];
/// The fingerprint of the bundle (a placeholder until a test patches it).
__attribute__((visibility("default"))) char
    proteus_bundle_fingerprint[proteus_rt::kFingerprintCapacity] =
        "PROTEUS-TESTDOUBLE-FINGERPRINT-PLACEHOLDER";
}

namespace {

struct Loaded {
  Config config;
  bool ok = false;
};

const Config &config() {
  static Loaded loaded;
  static std::once_flag once;
  std::call_once(once, [] {
    auto doc =
        nlohmann::json::parse(proteus_bundle_fingerprint, nullptr, false);
    std::string error;
    if (doc.is_object() && doc.contains("config") &&
        parseConfigJson(doc["config"].dump(), loaded.config, error))
      loaded.ok = true;
  });
  return loaded.config;
}

using f32 = float;

/// Softmax of n floats in place, float arithmetic as numpy's on f32.
void softmax(f32 *v, int64_t n) {
  f32 m = *std::max_element(v, v + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    v[i] = std::exp(v[i] - m);
    sum += v[i];
  }
  for (int64_t i = 0; i < n; ++i)
    v[i] = v[i] / static_cast<f32>(sum);
}

/// out[r, :] = a[r, :] . w[o, :] for r < rows, o < outs (f64 accumulation).
void matmulT(const f32 *a, const f32 *w, f32 *out, int64_t rows, int64_t outs,
             int64_t inner) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < outs; ++o) {
      double s = 0;
      for (int64_t i = 0; i < inner; ++i)
        s += static_cast<double>(a[r * inner + i]) * w[o * inner + i];
      out[r * outs + o] = static_cast<f32>(s);
    }
}

/// The candidate rule of cands.py for one query.
std::vector<int64_t> candidatesFor(const Config &c, int64_t t, int64_t T,
                                   int64_t L, int64_t window,
                                   const int64_t caps[3], const f32 *scores) {
  test::RulePieces pieces{c.use_local, c.use_anchors, c.use_proto,
                          c.anchor_stride};
  return test::candidatesFor(pieces, t, T, L, window, caps, scores);
}

/// attn.py: out[r, t] for one packed query over its candidates.
void attendOne(const f32 *q, const f32 *k, const f32 *v, f32 *out, int64_t r,
               int64_t t, const int64_t *cand, int64_t len, int64_t T,
               int64_t D, double scale) {
  std::vector<double> s(static_cast<size_t>(len));
  double mx = -INFINITY;
  for (int64_t j = 0; j < len; ++j) {
    double acc = 0;
    for (int64_t d = 0; d < D; ++d)
      acc += static_cast<double>(k[(r * T + cand[j]) * D + d]) *
             q[(r * T + t) * D + d];
    s[static_cast<size_t>(j)] = acc * scale;
    mx = std::max(mx, s[static_cast<size_t>(j)]);
  }
  double sum = 0;
  for (double &x : s)
    sum += (x = std::exp(x - mx));
  for (int64_t d = 0; d < D; ++d) {
    double acc = 0;
    for (int64_t j = 0; j < len; ++j)
      acc += s[static_cast<size_t>(j)] / sum * v[(r * T + cand[j]) * D + d];
    out[(r * T + t) * D + d] = static_cast<f32>(acc);
  }
}

/// layer.py's quant_dequant of one (T, D) row in place.
void quantDequant(const Config &c, f32 *x, int64_t n) {
  std::vector<f32> ax(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    ax[static_cast<size_t>(i)] = std::fabs(x[i]);
  f32 mx = *std::max_element(ax.begin(), ax.end());
  f32 base = mx;
  if (c.int8_mode == Int8Mode::Percentile && c.int8_percentile > 0) {
    std::sort(ax.begin(), ax.end());
    f32 rank = static_cast<f32>(c.int8_percentile) * static_cast<f32>(n - 1);
    int64_t lo = static_cast<int64_t>(std::floor(rank));
    int64_t hi = static_cast<int64_t>(std::ceil(rank));
    f32 w = rank - static_cast<f32>(lo);
    f32 a = ax[static_cast<size_t>(lo)], b = ax[static_cast<size_t>(hi)];
    base = w < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
    if (base == 0)
      base = mx;
  }
  f32 scale = std::max(base / 127.0f, 1e-6f);
  for (int64_t i = 0; i < n; ++i) {
    f32 qv = std::clamp(std::nearbyint(x[i] / scale), -127.0f, 127.0f);
    x[i] = qv * scale;
  }
}

/// Causal softmax attention over all keys of one (T, D) row.
void denseCausal(const f32 *q, const f32 *k, const f32 *v, f32 *o, int64_t r,
                 int64_t T, int64_t D) {
  std::vector<int64_t> cand(static_cast<size_t>(T));
  std::iota(cand.begin(), cand.end(), 0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int64_t t = 0; t < T; ++t)
    attendOne(q, k, v, o, r, t, cand.data(), t + 1, T, D, scale);
}

void rope(std::vector<f32> &z, int64_t rows, int64_t T, int64_t D,
          double base) {
  for (int64_t i = 0; i < D / 2; ++i) {
    f32 inv = std::pow(static_cast<f32>(base),
                       -(2.0f * static_cast<f32>(i)) / static_cast<f32>(D));
    for (int64_t t = 0; t < T; ++t) {
      f32 ang = static_cast<f32>(t) * inv;
      f32 cs = std::cos(ang), sn = std::sin(ang);
      for (int64_t r = 0; r < rows; ++r) {
        f32 &x0 = z[static_cast<size_t>((r * T + t) * D + 2 * i)];
        f32 &x1 = z[static_cast<size_t>((r * T + t) * D + 2 * i + 1)];
        f32 a = x0 * cs - x1 * sn, b = x1 * cs + x0 * sn;
        x0 = a;
        x1 = b;
      }
    }
  }
}

/// REFERENCE.md 3.2 on (B,T) importance; every element of `mask` written.
void selectTokens(const Config &c, const f32 *imp, int64_t B, int64_t T,
                  int64_t kk, int64_t guard, int8_t *mask) {
  const f32 thr = static_cast<f32>(c.keep_threshold);
  for (int64_t b = 0; b < B; ++b) {
    const f32 *ib = imp + b * T;
    int8_t *mb = mask + b * T;
    std::vector<int64_t> basis;
    if (c.keep_threshold > 0)
      for (int64_t t = 0; t < T; ++t)
        if (ib[t] >= thr)
          basis.push_back(t);
    int64_t need = std::max<int64_t>(
        1,
        std::min(T, std::max({kk, static_cast<int64_t>(basis.size()), guard})));
    std::fill(mb, mb + T, int8_t(need < T ? 0 : 1));
    if (need < T) {
      std::vector<int64_t> order = test::argsortDesc(ib, T);
      for (int64_t i = 0; i < need; ++i)
        mb[order[static_cast<size_t>(i)]] = 1;
      for (int64_t t : basis)
        mb[t] = 1;
    }
    std::fill(mb, mb + std::min(guard, T), 1);
  }
}

} // namespace

extern "C" __attribute__((visibility("default"))) void
_mlir_ciface_proteus_select_tokens(MemRef<float, 2> *imp,
                                   MemRef<int64_t, 1> *budget,
                                   MemRef<int8_t, 2> *mask) {
  const int64_t *b = budget->aligned;
  selectTokens(config(), imp->aligned, imp->sizes[0], imp->sizes[1],
               b[kBudgetTokenKeep], b[kBudgetGuard], mask->aligned);
}

extern "C" __attribute__((visibility("default"))) void
_mlir_ciface_proteus_shortlist(MemRef<int64_t, 1> *rows,
                               MemRef<float, 2> *scores,
                               MemRef<int64_t, 1> *batchIds,
                               MemRef<int64_t, 1> *budget,
                               MemRef<int64_t, 2> *cand,
                               MemRef<int64_t, 1> *lens) {
  const Config &c = config();
  const int64_t *b = budget->aligned;
  const int64_t T = b[kBudgetT], L = b[kBudgetEffectiveL], N = rows->sizes[0];
  const int64_t caps[3] = {b[kBudgetLocalCap], b[kBudgetAnchorCap],
                           b[kBudgetProtoCap]};
  for (int64_t n = 0; n < N; ++n) {
    int64_t t = rows->aligned[n];
    const f32 *sc = scores->aligned + batchIds->aligned[n] * scores->sizes[1];
    std::vector<int64_t> u =
        candidatesFor(c, t, T, L, b[kBudgetWindow], caps, sc);
    for (int64_t j = 0; j < L; ++j)
      cand->aligned[n * L + j] =
          j < static_cast<int64_t>(u.size()) ? u[static_cast<size_t>(j)] : t;
    lens->aligned[n] = static_cast<int64_t>(u.size());
  }
}

extern "C" __attribute__((visibility("default"))) void
_mlir_ciface_proteus_shortlist_attention(
    MemRef<float, 3> *q, MemRef<float, 3> *k, MemRef<float, 3> *v,
    MemRef<int64_t, 1> *prow, MemRef<int64_t, 1> *ptok,
    MemRef<int64_t, 2> *cand, MemRef<int64_t, 1> *lens, MemRef<float, 3> *out) {
  const int64_t R = q->sizes[0], T = q->sizes[1], D = q->sizes[2];
  std::fill(out->aligned, out->aligned + R * T * D, 0.0f);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int64_t n = 0; n < prow->sizes[0]; ++n)
    attendOne(q->aligned, k->aligned, v->aligned, out->aligned,
              prow->aligned[n], ptok->aligned[n],
              cand->aligned + n * cand->sizes[1], lens->aligned[n], T, D,
              scale);
}

#ifndef PROTEUS_TESTDOUBLE_NO_LAYER

namespace {

void layer(MemRef<float, 3> *xm, MemRef<float, 2> *wqkv, MemRef<float, 1> *bqkv,
           MemRef<float, 2> *wproj, MemRef<float, 1> *bproj,
           MemRef<float, 2> *wr, MemRef<float, 2> *protos,
           MemRef<float, 1> *usageM, MemRef<float, 1> *confM,
           MemRef<int64_t, 1> *budgetM, MemRef<float, 3> *ym,
           MemRef<int8_t, 2> *maskM, MemRef<float, 2> *impM,
           MemRef<int64_t, 1> *statsM, MemRef<float, 3> *consM) {
  const Config &c = config();
  const int64_t *bud = budgetM->aligned;
  const int64_t B = xm->sizes[0], T = xm->sizes[1], C = xm->sizes[2];
  const int64_t H = c.h_total, D = C / H, G = c.gates, BT = B * T;
  const f32 *x = xm->aligned;
  int64_t *stats = statsM->aligned;
  ++proteus_testdouble_layer_calls;
  std::copy(bud, bud + std::min<int64_t>(64, budgetM->sizes[0]),
            proteus_testdouble_last_budget);

  // Projections, per head row (b*H + h, t, d).
  std::vector<f32> qkv(static_cast<size_t>(BT * 3 * C));
  matmulT(x, wqkv->aligned, qkv.data(), BT, 3 * C, C);
  if (c.bias)
    for (int64_t r = 0; r < BT; ++r)
      for (int64_t o = 0; o < 3 * C; ++o)
        qkv[static_cast<size_t>(r * 3 * C + o)] += bqkv->aligned[o];
  std::vector<f32> q(static_cast<size_t>(BT * C)), k(q.size()), v(q.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t d = 0; d < D; ++d) {
          size_t dst = static_cast<size_t>(((b * H + h) * T + t) * D + d);
          const f32 *src =
              &qkv[static_cast<size_t>((b * T + t) * 3 * C + h * D + d)];
          q[dst] = src[0];
          k[dst] = src[C];
          v[dst] = src[2 * C];
        }
  if (c.use_rope && D % 2 == 0) {
    rope(q, B * H, T, D, c.rope_base);
    rope(k, B * H, T, D, c.rope_base);
  }
  std::vector<f32> o(q.size(), 0.0f);
  auto finish = [&](const std::vector<int8_t> *mask) {
    std::vector<f32> heads(static_cast<size_t>(BT * C));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t d = 0; d < D; ++d) {
            f32 val = o[static_cast<size_t>(((b * H + h) * T + t) * D + d)];
            if (mask)
              val *= static_cast<f32>((*mask)[static_cast<size_t>(b * T + t)]);
            heads[static_cast<size_t>((b * T + t) * C + h * D + d)] = val;
          }
    // The head consensus of the last Tc positions (none when its B is 0).
    const int64_t Tc = consM->sizes[1];
    for (int64_t b = 0; b < consM->sizes[0]; ++b)
      for (int64_t j = 0; j < Tc; ++j)
        std::copy_n(&heads[static_cast<size_t>((b * T + T - Tc + j) * C)], C,
                    &consM->aligned[(b * Tc + j) * C]);
    matmulT(heads.data(), wproj->aligned, ym->aligned, BT, C, C);
    if (c.bias)
      for (int64_t r = 0; r < BT; ++r)
        for (int64_t j = 0; j < C; ++j)
          ym->aligned[r * C + j] += bproj->aligned[j];
  };
  std::fill(stats, stats + kStatsSize, 0);

  if (bud[kBudgetFastPath]) {
    for (int64_t r = 0; r < B * H; ++r)
      denseCausal(q.data(), k.data(), v.data(), o.data(), r, T, D);
    finish(nullptr);
    stats[kStatsMode] = static_cast<int64_t>(Mode::DenseFastPath);
    stats[kStatsTopK] = H;
    stats[kStatsNucleusK] = -1;
    stats[kStatsKAdapt] = H;
    stats[kStatsMaxActiveRows] = T;
    stats[kStatsActiveRows] = B * H;
    stats[kStatsPacked] = B * H * T;
    if (proteus_testdouble_forced_mode >= 0)
      stats[kStatsMode] = proteus_testdouble_forced_mode;
    return;
  }

  // Router and prototype-guided gates.
  std::vector<f32> gate(static_cast<size_t>(BT * G));
  matmulT(x, wr->aligned, gate.data(), BT, G, C);
  for (int64_t r = 0; r < BT; ++r)
    softmax(&gate[static_cast<size_t>(r * G)], G);
  std::vector<f32> sim, beta;
  if (c.proto_enabled) {
    const f32 *P = protos->aligned, *conf = confM->aligned,
              *usage = usageM->aligned;
    auto l2n = [](const f32 *in, f32 *out, int64_t n) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i)
        s += static_cast<double>(in[i]) * in[i];
      f32 norm = std::max(static_cast<f32>(std::sqrt(s)), 1e-6f);
      for (int64_t i = 0; i < n; ++i)
        out[i] = in[i] / norm;
    };
    std::vector<f32> xn(static_cast<size_t>(BT * C)),
        pn(static_cast<size_t>(G * C));
    for (int64_t r = 0; r < BT; ++r)
      l2n(x + r * C, &xn[static_cast<size_t>(r * C)], C);
    for (int64_t g = 0; g < G; ++g)
      l2n(P + g * C, &pn[static_cast<size_t>(g * C)], C);
    std::vector<f32> s(static_cast<size_t>(BT * G));
    matmulT(xn.data(), pn.data(), s.data(), BT, G, C);
    std::vector<f32> boost(static_cast<size_t>(G));
    for (int64_t g = 0; g < G; ++g)
      boost[static_cast<size_t>(g)] = -(usage[g] + 1e-6f);
    softmax(boost.data(), G);
    sim.resize(static_cast<size_t>(BT));
    beta.resize(static_cast<size_t>(BT));
    const f32 th = static_cast<f32>(c.proto_threshold);
    const f32 den = static_cast<f32>(std::max(1e-6, 1.0 - c.proto_threshold));
    for (int64_t r = 0; r < BT; ++r) {
      f32 *sr = &s[static_cast<size_t>(r * G)];
      f32 *gr = &gate[static_cast<size_t>(r * G)];
      f32 mx = *std::max_element(sr, sr + G);
      std::vector<f32> pi(sr, sr + G);
      for (f32 &p : pi)
        p = p / static_cast<f32>(c.proto_temp);
      softmax(pi.data(), G);
      double ps = 0;
      for (int64_t g = 0; g < G; ++g)
        ps += (pi[static_cast<size_t>(g)] *= conf[g] + 1e-6f);
      for (f32 &p : pi)
        p = p / std::max(static_cast<f32>(ps), 1e-6f);
      f32 bt = std::clamp((mx - th) / den, 0.0f, 1.0f);
      f32 bl = static_cast<f32>(c.proto_blend) * bt;
      double gs = 0;
      for (int64_t g = 0; g < G; ++g) {
        f32 val = (1 - bl) * gr[g] + bl * pi[static_cast<size_t>(g)];
        if (c.proto_usage_boost > 0)
          val = val + boost[static_cast<size_t>(g)] * (1 - bt) *
                          static_cast<f32>(c.proto_usage_boost);
        gr[g] = std::max(val, 0.0f);
        gs += gr[g];
      }
      for (int64_t g = 0; g < G; ++g)
        gr[g] = gr[g] / std::max(static_cast<f32>(gs), 1e-6f);
      sim[static_cast<size_t>(r)] = mx;
      beta[static_cast<size_t>(r)] = bt;
    }
  }
  std::vector<f32> imp(static_cast<size_t>(BT));
  for (int64_t r = 0; r < BT; ++r) {
    const f32 *gr = &gate[static_cast<size_t>(r * G)];
    f32 gmax = *std::max_element(gr, gr + G);
    imp[static_cast<size_t>(r)] =
        c.proto_enabled
            ? gmax * (1 - beta[static_cast<size_t>(r)]) +
                  sim[static_cast<size_t>(r)] * beta[static_cast<size_t>(r)]
            : gmax;
  }
  std::copy(imp.begin(), imp.end(), impM->aligned);

  // Token selection.
  std::vector<int8_t> tokenMask(static_cast<size_t>(BT), 1);
  const bool tokenSparse = bud[kBudgetTokenMode] != 0;
  if (bud[kBudgetTokenMode] == 2)
    selectTokens(c, imp.data(), B, T, bud[kBudgetTokenKeep], bud[kBudgetGuard],
                 tokenMask.data());
  std::copy(tokenMask.begin(), tokenMask.end(), maskM->aligned);

  // Heads: probabilities, batch-wide nucleus, per-token top-k.
  std::vector<f32> hp(static_cast<size_t>(BT * H), 0.0f);
  for (int64_t r = 0; r < BT; ++r)
    for (int64_t g = 0; g < G; ++g)
      hp[static_cast<size_t>(r * H + std::min(H - 1, g * H / G))] +=
          gate[static_cast<size_t>(r * G + g)];
  const int64_t kd = bud[kBudgetKDense];
  int64_t knuc = -1, kad = kd;
  if (c.router_top_p > 0) {
    std::vector<f32> m(static_cast<size_t>(H));
    for (int64_t h = 0; h < H; ++h) {
      double s = 0;
      for (int64_t r = 0; r < BT; ++r)
        s += hp[static_cast<size_t>(r * H + h)];
      f32 mean = static_cast<f32>(s / static_cast<double>(BT));
      m[static_cast<size_t>(h)] = std::isfinite(mean) ? mean : 0.0f;
    }
    f32 tot = 0;
    for (f32 mv : m)
      tot += mv;
    std::sort(m.begin(), m.end(), std::greater<f32>());
    f32 cs = 0;
    int64_t keep = 0;
    for (f32 mv : m)
      keep += ((cs += mv) < tot * static_cast<f32>(c.router_top_p)) ? 1 : 0;
    if (keep < H)
      ++keep;
    keep = std::max<int64_t>(1, keep);
    knuc = kd <= 1 ? 1 : std::min(kd, keep);
    kad = std::max(c.h_active_min, std::min(kd, knuc));
  }
  const int64_t topk = bud[kBudgetSize + kad];
  std::vector<int8_t> rows(static_cast<size_t>(B * H * T), 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      if (!tokenMask[static_cast<size_t>(b * T + t)])
        continue;
      std::vector<int64_t> order =
          test::argsortDesc(&hp[static_cast<size_t>((b * T + t) * H)], H);
      for (int64_t i = 0; i < topk; ++i)
        rows[static_cast<size_t>((b * H + order[static_cast<size_t>(i)]) * T +
                                 t)] = 1;
    }
  std::vector<int64_t> counts(static_cast<size_t>(B * H), 0);
  int64_t maxRows = 0, active = 0, packed = 0;
  for (int64_t r = 0; r < B * H; ++r) {
    for (int64_t t = 0; t < T; ++t)
      counts[static_cast<size_t>(r)] += rows[static_cast<size_t>(r * T + t)];
    maxRows = std::max(maxRows, counts[static_cast<size_t>(r)]);
    active += counts[static_cast<size_t>(r)] > 0;
    packed += counts[static_cast<size_t>(r)];
  }
  const double density = static_cast<double>(maxRows) / static_cast<double>(T);

  // Mode.
  bool force = bud[kBudgetPreferDense] != 0;
  DenseReason reason = force ? DenseReason::Alpha : DenseReason::None;
  if (c.has_dense_threshold && density >= c.dense_threshold) {
    force = true;
    if (reason == DenseReason::None)
      reason = DenseReason::Density;
  } else if (packed == B * H * T && c.force_dense_when_full) {
    force = true;
    if (reason == DenseReason::None)
      reason = DenseReason::Full;
  }
  if (bud[kBudgetNoDense])
    force = false;
  Mode mode = Mode::Shortlist;
  if (force) {
    for (int64_t r = 0; r < B * H; ++r)
      denseCausal(q.data(), k.data(), v.data(), o.data(), r, T, D);
    mode = reason == DenseReason::Alpha ? Mode::DenseAlpha
           : active == B * H            ? Mode::Dense
                                        : Mode::DenseAuto;
  } else {
    reason = DenseReason::None;
    const int64_t L = bud[kBudgetEffectiveL];
    const int64_t caps[3] = {bud[kBudgetLocalCap], bud[kBudgetAnchorCap],
                             bud[kBudgetProtoCap]};
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    std::vector<f32> qa = q, ka = k, va = v;
    for (int64_t r = 0; r < B * H; ++r) {
      if (!counts[static_cast<size_t>(r)])
        continue;
      if (c.quantize_int8) {
        quantDequant(c, &qa[static_cast<size_t>(r * T * D)], T * D);
        quantDequant(c, &ka[static_cast<size_t>(r * T * D)], T * D);
        quantDequant(c, &va[static_cast<size_t>(r * T * D)], T * D);
      }
      const f32 *scores = (c.use_proto && c.proto_enabled)
                              ? &sim[static_cast<size_t>((r / H) * T)]
                              : nullptr;
      for (int64_t t = 0; t < T; ++t) {
        if (!rows[static_cast<size_t>(r * T + t)])
          continue;
        std::vector<int64_t> cand =
            candidatesFor(c, t, T, L, bud[kBudgetWindow], caps, scores);
        attendOne(qa.data(), ka.data(), va.data(), o.data(), r, t, cand.data(),
                  static_cast<int64_t>(cand.size()), T, D, scale);
      }
    }
  }
  finish(tokenSparse ? &tokenMask : nullptr);

  // Prototype EMA.
  if (c.proto_enabled && bud[kBudgetUpdatePrototypes]) {
    const f32 d = static_cast<f32>(c.proto_decay);
    const f32 od = static_cast<f32>(1.0 - c.proto_decay);
    for (int64_t g = 0; g < G; ++g) {
      double n = 0;
      for (int64_t r = 0; r < BT; ++r)
        n += gate[static_cast<size_t>(r * G + g)];
      const f32 nf = static_cast<f32>(n);
      const bool upd = nf > 1e-6f;
      if (upd) {
        for (int64_t j = 0; j < C; ++j) {
          double mu = 0;
          for (int64_t r = 0; r < BT; ++r)
            mu += static_cast<double>(gate[static_cast<size_t>(r * G + g)]) *
                  x[r * C + j];
          f32 muf = static_cast<f32>(mu) / std::max(nf, 1e-30f);
          f32 &pv = protos->aligned[g * C + j];
          pv = d * pv + od * muf;
        }
      }
      usageM->aligned[g] = d * usageM->aligned[g] + (upd ? od * nf : 0.0f);
      confM->aligned[g] = d * confM->aligned[g] + (upd ? od : 0.0f);
    }
  }

  stats[kStatsMode] = proteus_testdouble_forced_mode >= 0
                          ? proteus_testdouble_forced_mode
                          : static_cast<int64_t>(mode);
  stats[kStatsDenseReason] = static_cast<int64_t>(reason);
  stats[kStatsTopK] = topk;
  stats[kStatsNucleusK] = knuc;
  stats[kStatsKAdapt] = kad;
  stats[kStatsMaxActiveRows] = maxRows;
  stats[kStatsActiveRows] = active;
  stats[kStatsPacked] = packed;
}

} // namespace

#define LAYER_ENTRY(I)                                                         \
  extern "C" __attribute__((visibility("default"))) void                       \
      _mlir_ciface_proteus_layer_s##I(                                         \
          MemRef<float, 3> *a, MemRef<float, 2> *b, MemRef<float, 1> *c,       \
          MemRef<float, 2> *d, MemRef<float, 1> *e, MemRef<float, 2> *f,       \
          MemRef<float, 2> *g, MemRef<float, 1> *h, MemRef<float, 1> *i,       \
          MemRef<int64_t, 1> *j, MemRef<float, 3> *k, MemRef<int8_t, 2> *l,    \
          MemRef<float, 2> *m, MemRef<int64_t, 1> *n, MemRef<float, 3> *o) {   \
    layer(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o);                        \
  }
LAYER_ENTRY(0)
LAYER_ENTRY(1)
LAYER_ENTRY(2)
LAYER_ENTRY(3)

#endif // PROTEUS_TESTDOUBLE_NO_LAYER
