//===- Config.h - #proteus.config <-> schedule Config -----------*- C++ -*-===//
//
// Converts between the dialect's #proteus.config and the shared schedule's
// proteus_rt::Config, so that the compiler evaluates the one schedule
// implementation the runtime uses.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_SUPPORT_CONFIG_H
#define PROTEUS_SUPPORT_CONFIG_H

#include "proteus/Dialect/Proteus/ProteusAttrs.h"
#include "proteus_rt/schedule.h"

namespace mlir::proteus {

/// The schedule's view of a config attribute.
proteus_rt::Config toScheduleConfig(ConfigAttr attr);

/// The config attribute of a schedule config; the caller verifies it.
ConfigAttr toConfigAttr(MLIRContext *ctx, const proteus_rt::Config &c);

/// Checks `cfg` as its parser would, reporting at `loc`.
LogicalResult verifyConfig(Location loc, ConfigAttr cfg);

} // namespace mlir::proteus

#endif // PROTEUS_SUPPORT_CONFIG_H
