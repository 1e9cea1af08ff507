//===- ProteusAttrs.h - Proteus attributes ----------------------*- C++ -*-===//
//
// #proteus.config, #proteus.budget, #proteus.tile and the dialect's enums.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_DIALECT_PROTEUS_PROTEUSATTRS_H
#define PROTEUS_DIALECT_PROTEUS_PROTEUSATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/bit.h"

#include "proteus/Dialect/Proteus/ProteusEnums.h.inc"

namespace mlir::proteus {
/// A binary64 attribute parameter: converts to and from double, and hashes by
/// bit pattern (llvm::hash_value has no overload for double).
struct F64 {
  F64(double value = 0.0) : value(value) {}
  operator double() const { return value; }
  double value;
};
inline llvm::hash_code hash_value(F64 f) {
  return llvm::hash_value(llvm::bit_cast<uint64_t>(f.value));
}

/// Parses a binary64 literal (integer literals are accepted).
FailureOr<F64> parseF64(AsmParser &parser);
/// Prints a binary64 value in the shortest form that parses back exactly.
void printF64(AsmPrinter &printer, double value);
/// Parses `[i, j, ...]`.
FailureOr<SmallVector<int64_t>> parseI64List(AsmParser &parser);
/// Parses `true` or `false`.
FailureOr<bool> parseBool(AsmParser &parser);
} // namespace mlir::proteus

#define GET_ATTRDEF_CLASSES
#include "proteus/Dialect/Proteus/ProteusAttrs.h.inc"

#endif // PROTEUS_DIALECT_PROTEUS_PROTEUSATTRS_H
