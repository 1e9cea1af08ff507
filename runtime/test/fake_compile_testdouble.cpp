//===- fake_compile_testdouble.cpp - TEST DOUBLE of proteus-compile -------===//
//
// NOT the compiler. Accepts proteus-compile's command line as proteus-run
// uses it (--config FILE --alpha A -o DIR) and writes a valid bundle whose
// CPU library is the reference-kernels test double, so that proteus-run's
// golden mode can be tested without the compiler. Exits 1 with a message on
// a bad command line or configuration.
//
//===----------------------------------------------------------------------===//

// test_util.h's golden folder is not used here.
#define PROTEUS_GOLDEN_DIR_DEFAULT ""
#include "test_util.h"

#include "proteus_rt/bundle_integrity.h"
#include "proteus_rt/config_json.h"
#include "proteus_rt/contract.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;

static std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int main(int argc, char **argv) {
  std::string configPath, out, alphaText;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--config")
      configPath = argv[i + 1];
    else if (flag == "--alpha")
      alphaText = argv[i + 1];
    else if (flag == "-o")
      out = argv[i + 1];
    else {
      std::cerr << "fake-compile: unknown flag " << flag << "\n";
      return 1;
    }
  }
  if (configPath.empty() || out.empty() || alphaText.empty()) {
    std::cerr << "usage: fake-compile --config FILE --alpha A -o DIR\n";
    return 1;
  }
  const std::string text = slurp(configPath);
  proteus_rt::Config config;
  std::string error;
  if (!proteus_rt::parseConfigJson(text, config, error)) {
    std::cerr << "fake-compile: " << configPath << ": " << error << "\n";
    return 1;
  }
  const double alpha = std::strtod(alphaText.c_str(), nullptr);
  fs::create_directories(out + "/cpu");
  const std::string lib = out + "/" + proteus_rt::kCpuLibrary;
  fs::copy_file(PROTEUS_TESTDOUBLE_KERNELS, lib,
                fs::copy_options::overwrite_existing);
  proteus_rt::test::patchFingerprint(
      lib, proteus_rt::bundleFingerprint(
               config, {{alpha, config.keep_ratio_base}}, -1));
  nlohmann::json manifest = {
      {"format_version", proteus_rt::kBundleFormatVersion},
      {"generator", "fake-compile (test double)"},
      {"config", nlohmann::json::parse(text)},
      {"settings", {{{"alpha", alpha}, {"density", config.keep_ratio_base}}}},
      {"files", {{proteus_rt::kCpuLibrary, nullptr}}},
  };
  std::string manifestText = manifest.dump(2);
  if (!proteus_rt::finishManifest(out, manifestText, error)) {
    std::cerr << "fake-compile: " << error << "\n";
    return 1;
  }
  std::ofstream(out + "/manifest.json") << manifestText;
  return 0;
}
