//===- Settings.cpp - A tool's configuration and settings -----------------===//

#include "proteus/Support/Settings.h"

#include "proteus_rt/bundle_integrity.h"
#include "proteus_rt/config_json.h"

#include "llvm/ADT/Twine.h"

using namespace llvm;

namespace {

/// The numbers of a comma-separated list; false with the first that is not.
bool parseNumbers(StringRef text, SmallVectorImpl<double> &out,
                  std::string &bad) {
  SmallVector<StringRef> parts;
  text.split(parts, ',', -1, false);
  for (StringRef p : parts) {
    double v;
    if (p.trim().getAsDouble(v)) {
      bad = p.str();
      return false;
    }
    out.push_back(v);
  }
  return true;
}

} // namespace

bool mlir::proteus::loadToolSettings(StringRef configPath, StringRef alphaList,
                                     StringRef densityList, ToolSettings &out,
                                     std::string &error) {
  out = ToolSettings();
  if (!configPath.empty()) {
    // A regular file of bounded size (a device or a FIFO is refused).
    std::string text, why;
    if (!proteus_rt::readRegularFile(
            configPath.str(), proteus_rt::kMaxConfigFileBytes, text, why)) {
      error = why;
      return false;
    }
    if (!proteus_rt::parseConfigJson(text, out.config, why)) {
      error = (configPath + ": " + why).str();
      return false;
    }
  }
  if (std::string bad = proteus_rt::validateConfig(out.config); !bad.empty()) {
    error = "invalid configuration: " + bad;
    return false;
  }
  std::string bad;
  if (!parseNumbers(alphaList, out.alphas, bad) || out.alphas.empty()) {
    error = "--alpha: '" + bad + "' is not a number";
    return false;
  }
  if (!densityList.empty() && !parseNumbers(densityList, out.densities, bad)) {
    error = "--density: '" + bad + "' is not a number";
    return false;
  }
  if (out.densities.empty())
    out.densities.push_back(out.config.keep_ratio_base);
  if (out.densities.size() != 1 && out.densities.size() != out.alphas.size()) {
    error = ("--density needs one value or one per alpha (" +
             Twine(out.alphas.size()) + "), got " + Twine(out.densities.size()))
                .str();
    return false;
  }
  for (double a : out.alphas)
    if (!(a >= 0.0 && a <= 1.0)) {
      error = "alpha must be in [0, 1], got " + std::to_string(a);
      return false;
    }
  for (double d : out.densities)
    if (!(d > 0.0 && d <= 1.0)) {
      error = "density must be in (0, 1], got " + std::to_string(d);
      return false;
    }
  return true;
}
