//===- ChunkedModule.h - The chunked pipeline's functions -------*- C++ -*-===//
//
// The functions around proteus.chunk_nucleus and proteus.shortlist_merge that
// a bundle's CPU library ships (chunked_contract.h).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_TARGET_CHUNKEDMODULE_H
#define PROTEUS_TARGET_CHUNKEDMODULE_H

#include "mlir/IR/Builders.h"

namespace mlir::proteus {

/// Appends func.func @proteus_chunk_nucleus and @proteus_shortlist_merge at
/// the builder's insertion point, each one op over its arguments in
/// chunked_contract.h's order, with llvm.emit_c_interface.
void buildChunkedFuncs(OpBuilder &b, Location loc);

} // namespace mlir::proteus

#endif // PROTEUS_TARGET_CHUNKEDMODULE_H
