//===- test_util.h - Helpers shared by the runtime's unit tests -*- C++ -*-===//
//
// Temporary folders, and bundles written on the fly around the test doubles
// with correct (or deliberately wrong) manifests.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_TEST_UTIL_H
#define PROTEUS_RT_TEST_UTIL_H

#include "internal.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace proteus_rt::test {

namespace fs = std::filesystem;

/// A fresh folder under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
public:
  TempDir() {
    const char *base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base && *base ? base : "/tmp") + "/prt-test-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()))
      path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty())
      fs::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &rel) const {
    return path_ + "/" + rel;
  }

private:
  std::string path_;
};

inline void writeFile(const std::string &path, const std::string &bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string checksumOf(const std::string &path) {
  std::string bytes = readFile(path);
  return toHex16(xxh3(bytes.data(), bytes.size()));
}

/// A test double built next to the test executable (the build folder may
/// have moved, e.g. to a GPU machine).
inline std::string testDouble(const std::string &fileName) {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return (exe.parent_path() / fileName).string();
}

/// What makeBundle writes.
struct BundleSpec {
  nlohmann::json config =
      nlohmann::json::object(); ///< golden keys; {} = defaults
  std::vector<std::pair<double, double>> settings = {{0.0, 1.0}};
  std::string cpuLibrary =
      testDouble(PROTEUS_TESTDOUBLE_KERNELS); ///< "" = none
  std::vector<std::string> ptxArchs;          ///< dummy PTX text
  std::string cpuTarget;
};

/// The manifest for the files already in `dir`, with their true checksums.
inline nlohmann::json manifestFor(const std::string &dir,
                                  const BundleSpec &spec) {
  nlohmann::json m = {{"format_version", kBundleFormatVersion},
                      {"config", spec.config},
                      {"settings", nlohmann::json::array()},
                      {"files", nlohmann::json::object()}};
  for (auto [a, d] : spec.settings)
    m["settings"].push_back({{"alpha", a}, {"density", d}});
  for (const auto &entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file())
      continue;
    std::string rel = fs::relative(entry.path(), dir).string();
    if (rel != kManifestFile)
      m["files"][rel] = checksumOf(entry.path().string());
  }
  if (!spec.cpuTarget.empty())
    m["cpu_target"] = spec.cpuTarget;
  return m;
}

inline void writeManifest(const std::string &dir, const nlohmann::json &m) {
  writeFile(dir + "/" + kManifestFile, m.dump(2));
}

/// Writes a complete, valid bundle into `dir`.
inline void makeBundle(const std::string &dir, const BundleSpec &spec = {}) {
  if (!spec.cpuLibrary.empty()) {
    fs::create_directories(dir + "/cpu");
    fs::copy_file(spec.cpuLibrary, dir + "/" + kCpuLibrary,
                  fs::copy_options::overwrite_existing);
  }
  for (const std::string &arch : spec.ptxArchs)
    for (size_t i = 0; i < spec.settings.size(); ++i)
      writeFile(dir + "/" + ptxFile(arch, static_cast<int64_t>(i)),
                "// dummy PTX for " + arch + "\n");
  writeManifest(dir, manifestFor(dir, spec));
}

/// The golden folder: $PROTEUS_GOLDEN_DIR, else the path fixed at configure
/// time.
inline std::string goldenDir() {
  const char *env = std::getenv("PROTEUS_GOLDEN_DIR");
  return env && *env ? env : PROTEUS_GOLDEN_DIR_DEFAULT;
}

} // namespace proteus_rt::test

#endif // PROTEUS_RT_TEST_UTIL_H
