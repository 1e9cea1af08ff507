//===- raw_enum.h - The int a C caller stored in an enum --------*- C++ -*-===//
//
// The C API's enum fields and arguments hold whatever int a C caller stored;
// read as the C++ enum type, a value outside the enumerators' range is
// undefined behaviour (UBSan's -fsanitize=enum), so the runtime validates
// the raw int instead.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_SRC_RAW_ENUM_H
#define PROTEUS_RT_SRC_RAW_ENUM_H

#include <cstring>

namespace proteus_rt {

/// The int stored in `e`, read without the enum type.
template <typename E> int rawEnum(const E &e) {
  static_assert(sizeof(E) == sizeof(int), "a C enum is an int");
  int v;
  std::memcpy(&v, &e, sizeof(v));
  return v;
}

} // namespace proteus_rt

#endif // PROTEUS_RT_SRC_RAW_ENUM_H
