//===- float16.h - bf16 / binary16 conversions for the tests ---*- C++ -*-===//
//
// Host-side rounding of f32 to bfloat16 and IEEE binary16 (round to nearest
// even, subnormals included) and back, shared by the GPU check program and the
// fake CUDA driver test double.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_TEST_FLOAT16_H
#define PROTEUS_RT_TEST_FLOAT16_H

#include <cmath>
#include <cstdint>
#include <cstring>

namespace proteus_rt_test {

inline uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float floatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// float -> bfloat16, round to nearest even.
inline uint16_t bf16FromFloat(float f) {
  uint32_t x = bitsOf(f);
  if ((x & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>((x >> 16) | 0x40);
  return static_cast<uint16_t>((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}
inline float floatFromBf16(uint16_t h) { return floatOf(uint32_t(h) << 16); }

/// float -> IEEE binary16, round to nearest even, subnormals included.
inline uint16_t halfFromFloat(float f) {
  uint32_t x = bitsOf(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t e = (x >> 23) & 0xff, mant = x & 0x7fffff;
  if (e == 0xff)
    return sign | 0x7c00 | (mant ? 0x200 : 0);
  int32_t exp = static_cast<int32_t>(e) - 127 + 15;
  if (exp >= 31)
    return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10)
      return sign;
    mant |= 0x800000;
    int shift = 14 - exp;
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1),
             halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (h & 1)))
      ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (uint32_t(exp) << 10) | (mant >> 13), rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
    ++h; // a carry into the exponent is the correct rounding, up to inf
  return static_cast<uint16_t>(sign | h);
}
inline float floatFromHalf(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f,
           mant = h & 0x3ff;
  if (exp == 0) {
    float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 31)
    return floatOf(sign | 0x7f800000 | (mant << 13));
  return floatOf(sign | ((exp + 112) << 23) | (mant << 13));
}

} // namespace proteus_rt_test

#endif // PROTEUS_RT_TEST_FLOAT16_H
