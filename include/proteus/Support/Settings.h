//===- Settings.h - A tool's configuration and settings ---------*- C++ -*-===//
//-*-===//
//
// What proteus-compile and proteus-tune both read from their command line:
// the layer configuration (a JSON file of the reference's keys, or the
// defaults) and the settings to specialize it for.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_SUPPORT_SETTINGS_H
#define PROTEUS_SUPPORT_SETTINGS_H

#include "proteus_rt/schedule.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir::proteus {

/// A validated configuration and its settings, alphas[i] with densities[i]
/// (or densities[0] for every alpha).
struct ToolSettings {
  proteus_rt::Config config;
  llvm::SmallVector<double> alphas, densities;
};

/// Reads the configuration at `configPath` (the defaults when empty) and the
/// comma-separated `alphaList` (each in [0, 1]) and `densityList` (each in
/// (0, 1]; one value, or one per alpha; empty: the configuration's
/// keep_ratio_base). False with a message naming the option or file at fault.
bool loadToolSettings(llvm::StringRef configPath, llvm::StringRef alphaList,
                      llvm::StringRef densityList, ToolSettings &out,
                      std::string &error);

} // namespace mlir::proteus

#endif // PROTEUS_SUPPORT_SETTINGS_H
