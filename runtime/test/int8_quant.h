//===- int8_quant.h - INT8 fake quantization for the test doubles -*- C++
//-*-===//
//
// REFERENCE.md 6.4 on the host, for the tests only: the per-row scale of a
// tensor row (max |x|, or torch.quantile of |x| in binary32, replaced by the
// max where it is 0) and the fake quantization clamp(rint(x / s), +-127) s.
// The fake CUDA driver emulates proteus_int8_scales_<t> and the quantizing
// shortlist kernels with it; gpu_attention_check quantizes its CPU
// reference's inputs with it. The same arithmetic in binary32 as the
// compiled paths (Primitives.cpp emitInt8Scale).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_TEST_INT8_QUANT_H
#define PROTEUS_RT_TEST_INT8_QUANT_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace proteus_rt::test {

/// The scale of one row's n values. `percentile` > 0: torch.quantile at that
/// rank (position p (n - 1) in binary32, linear interpolation as torch's
/// lerp); otherwise the max.
inline float int8Scale(const float *x, int64_t n, float percentile) {
  std::vector<float> a(static_cast<size_t>(n));
  float mx = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    a[static_cast<size_t>(i)] = std::fabs(x[i]);
    mx = std::max(mx, a[static_cast<size_t>(i)]);
  }
  float base = mx;
  if (percentile > 0.0f && n > 0) {
    std::sort(a.begin(), a.end());
    const float rank = percentile * static_cast<float>(n - 1);
    const float lo = std::floor(rank), hi = std::ceil(rank);
    const float av = a[static_cast<size_t>(lo)],
                bv = a[static_cast<size_t>(hi)];
    const float w = rank - lo, diff = bv - av;
    // Written out so that no multiply-add is fused (the kernels' order).
    volatile float lowTerm = w * diff, highTerm = diff * (1.0f - w);
    base = w < 0.5f ? av + lowTerm : bv - highTerm;
    if (base == 0.0f)
      base = mx;
  }
  return std::max(base / 127.0f, 1e-6f);
}

/// clamp(rint(x / s), -127, 127) * s, rint to nearest even.
inline float fakeQuantize(float x, float s) {
  const float q = std::min(std::max(x / s, -127.0f), 127.0f);
  return std::nearbyint(q) * s;
}

/// Quantizes each of the `rows` rows of `n` values of x in place.
inline void fakeQuantizeRows(std::vector<float> &x, int64_t rows, int64_t n,
                             float percentile) {
  for (int64_t r = 0; r < rows; ++r) {
    float *row = x.data() + r * n;
    const float s = int8Scale(row, n, percentile);
    for (int64_t i = 0; i < n; ++i)
      row[i] = fakeQuantize(row[i], s);
  }
}

} // namespace proteus_rt::test

#endif // PROTEUS_RT_TEST_INT8_QUANT_H
