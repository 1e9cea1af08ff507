//===- candidate_rule.h - TEST DOUBLES' candidate rule ----------*- C++ -*-===//
//
// NOT the Proteus kernels. The candidate rule of the oracle's cands.py
// (REFERENCE.md 5.1) for one query, in plain C++, shared by the test doubles
// that stand in for the CPU library (reference_kernels_testdouble.cpp) and
// for the GPU kernels (fake_cuda_testdouble.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_TEST_CANDIDATE_RULE_H
#define PROTEUS_RT_TEST_CANDIDATE_RULE_H

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace proteus_rt::test {

/// Indices 0..n-1 sorted by descending value, ties (-0 and +0 among them) by
/// the lower index.
inline std::vector<int64_t> argsortDesc(const float *v, int64_t n) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int64_t a, int64_t b) { return v[a] > v[b]; });
  return idx;
}

/// The pieces a configuration turns on.
struct RulePieces {
  bool local = false, anchors = false, proto = false;
  int64_t anchorStride = 0;
};

/// Query t's candidates (ascending, at most L): the local window, the
/// anchors, the prototype top-c over positions 0..t of `scores` (when given)
/// and t itself; caps = {local, anchor, proto}.
inline std::vector<int64_t> candidatesFor(const RulePieces &p, int64_t t,
                                          int64_t T, int64_t L, int64_t window,
                                          const int64_t caps[3],
                                          const float *scores) {
  std::vector<int64_t> all;
  if (p.local && caps[0] > 0) {
    int64_t w = std::min({window, L, caps[0]});
    int64_t n = std::min(t + 1, w);
    for (int64_t s = t - n + 1; s <= t; ++s)
      all.push_back(s);
  }
  if (p.anchors && p.anchorStride > 0 && caps[1] > 0) {
    int64_t m = std::min({caps[1], L, std::max<int64_t>(1, T)});
    for (int64_t j = 1; j <= m; ++j)
      all.push_back(std::max<int64_t>(t - j * p.anchorStride, 0));
  }
  if (p.proto && scores && caps[2] > 0) {
    int64_t cnt = std::min({L, caps[2], T});
    std::vector<int64_t> order = argsortDesc(scores, t + 1);
    for (int64_t i = 0; i < std::min(t + 1, cnt); ++i)
      all.push_back(order[static_cast<size_t>(i)]);
  }
  all.push_back(t);
  for (int64_t &v : all)
    v = std::min(std::clamp<int64_t>(v, 0, T - 1), t);
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  if (static_cast<int64_t>(all.size()) > L)
    all.resize(static_cast<size_t>(L));
  return all;
}

} // namespace proteus_rt::test

#endif // PROTEUS_RT_TEST_CANDIDATE_RULE_H
