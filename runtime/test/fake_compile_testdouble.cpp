//===- fake_compile_testdouble.cpp - TEST DOUBLE of proteus-compile -------===//
//
// NOT the compiler. Accepts proteus-compile's command line as proteus-run
// uses it (--config FILE --alpha A -o DIR) and writes a valid bundle whose
// CPU library is the reference-kernels test double, so that proteus-run's
// golden mode can be tested without the compiler. Exits 1 with a message on
// a bad command line or configuration.
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/config_json.h"
#include "proteus_rt/contract.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <nlohmann/json.hpp>

#include <cinttypes>
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
  fs::create_directories(out + "/cpu");
  fs::copy_file(PROTEUS_TESTDOUBLE_KERNELS, out + "/" + proteus_rt::kCpuLibrary,
                fs::copy_options::overwrite_existing);
  const std::string lib = slurp(out + "/" + proteus_rt::kCpuLibrary);
  char sum[17];
  std::snprintf(sum, sizeof(sum), "%016" PRIx64,
                static_cast<uint64_t>(XXH3_64bits(lib.data(), lib.size())));
  nlohmann::json manifest = {
      {"format_version", proteus_rt::kBundleFormatVersion},
      {"generator", "fake-compile (test double)"},
      {"config", nlohmann::json::parse(text)},
      {"settings",
       {{{"alpha", std::strtod(alphaText.c_str(), nullptr)},
         {"density", config.keep_ratio_base}}}},
      {"files", {{proteus_rt::kCpuLibrary, sum}}},
  };
  std::ofstream(out + "/manifest.json") << manifest.dump(2) << "\n";
  return 0;
}
