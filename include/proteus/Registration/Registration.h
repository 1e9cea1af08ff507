//===- Registration.h - The one registration point --------------*- C++ -*-===//
//
// Everything the Proteus tools register: the proteus dialect, the upstream
// dialects its lowerings produce, the proteus passes and pipelines.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_REGISTRATION_REGISTRATION_H
#define PROTEUS_REGISTRATION_REGISTRATION_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mlir::proteus {

/// Adds the proteus dialect and every dialect, interface and translation the
/// Proteus lowerings need.
void registerProteusDialects(DialectRegistry &registry);

/// Registers the proteus passes, the pipelines and the upstream passes that
/// proteus-opt exposes.
void registerProteusPasses();

} // namespace mlir::proteus

#endif // PROTEUS_REGISTRATION_REGISTRATION_H
