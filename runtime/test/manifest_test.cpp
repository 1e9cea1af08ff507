//===- manifest_test.cpp - Bundle manifest validation ---------------------===//
//
// Every way a bundle can be wrong is reported as PRT_ERR_BUNDLE with a
// message that names the key or file, and the expected and actual values.
//
//===----------------------------------------------------------------------===//

#include "test_util.h"

#include <gtest/gtest.h>

using namespace proteus_rt;
using namespace proteus_rt::test;
using nlohmann::json;

namespace {

/// Loads `dir` and returns the error message ("" when it loaded).
std::string loadError(const std::string &dir,
                      prt_status expected = PRT_ERR_BUNDLE) {
  try {
    loadManifest(dir);
  } catch (const Error &e) {
    EXPECT_EQ(e.status, expected) << e.what();
    return e.what();
  }
  return "";
}

class ManifestTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(tmp.path().empty());
    dir = tmp / "bundle";
    makeBundle(dir, spec);
    manifest = json::parse(readFile(dir + "/manifest.json"));
  }
  /// Rewrites the manifest with `edit` applied, then returns the load error.
  template <typename Edit> std::string errorAfter(Edit edit) {
    json m = manifest;
    edit(m);
    writeManifest(dir, m);
    return loadError(dir);
  }

  TempDir tmp;
  std::string dir;
  BundleSpec spec;
  json manifest;
};

} // namespace

TEST_F(ManifestTest, ValidBundleLoads) {
  Manifest m = loadManifest(dir);
  EXPECT_EQ(m.formatVersion, kBundleFormatVersion);
  EXPECT_TRUE(m.hasCpuLibrary);
  ASSERT_EQ(m.settings.size(), 1u);
  EXPECT_EQ(m.settings[0].alpha, 0.0);
  EXPECT_TRUE(m.ptxArchs.empty());
  EXPECT_EQ(m.config.d_model, Config{}.d_model);
}

TEST_F(ManifestTest, MissingManifestOrFolder) {
  EXPECT_HAS(loadError(tmp / "nowhere"), "is not a folder");
  fs::remove(dir + "/manifest.json");
  EXPECT_HAS(loadError(dir), "has no manifest.json");
}

TEST_F(ManifestTest, NotJson) {
  writeFile(dir + "/manifest.json", "{\"format_version\": 1,");
  EXPECT_HAS(loadError(dir), "manifest.json: not valid JSON");
  writeFile(dir + "/manifest.json", "[]");
  EXPECT_HAS(loadError(dir), "the top level must be an object");
}

TEST_F(ManifestTest, FormatVersion) {
  EXPECT_HAS(errorAfter([](json &m) { m.erase("format_version"); }),
             "missing key 'format_version'");
  // A format-1 bundle (no sizes, no integrity, no fingerprints) is refused
  // with the way out.
  std::string old = errorAfter([](json &m) { m["format_version"] = 1; });
  EXPECT_HAS(old, "format_version is 1, this runtime reads format 3");
  EXPECT_HAS(old, "recompile the bundle");
  EXPECT_HAS(errorAfter([](json &m) { m["format_version"] = "2"; }),
             "'format_version' must be an integer");
}

TEST_F(ManifestTest, Config) {
  EXPECT_HAS(errorAfter([](json &m) { m.erase("config"); }),
             "missing key 'config'");
  EXPECT_HAS(errorAfter([](json &m) { m["config"] = 3; }),
             "'config' must be an object");
  EXPECT_HAS(errorAfter([](json &m) { m["config"]["h_totl"] = 8; }),
             "config: unknown config key 'h_totl'");
  EXPECT_HAS(
      errorAfter([](json &m) { m["config"]["d_model"] = 100; }),
      "config is inconsistent: d_model 100 is not a multiple of h_total 8");
}

TEST_F(ManifestTest, Settings) {
  EXPECT_HAS(errorAfter([](json &m) { m.erase("settings"); }),
             "missing key 'settings'");
  EXPECT_HAS(errorAfter([](json &m) { m["settings"] = json::array(); }),
             "'settings' is empty");
  EXPECT_HAS(errorAfter([](json &m) { m["settings"][0]["alpha"] = 1.5; }),
             "settings[0].alpha = 1.5 is outside [0, 1]");
  EXPECT_HAS(errorAfter([](json &m) { m["settings"][0]["alpha"] = -0.25; }),
             "settings[0].alpha = -0.25 is outside [0, 1]");
  EXPECT_HAS(errorAfter([](json &m) { m["settings"][0]["density"] = 0.0; }),
             "settings[0].density = 0 is outside (0, 1]");
  EXPECT_HAS(errorAfter([](json &m) { m["settings"][0]["density"] = 1.25; }),
             "settings[0].density = 1.25 is outside (0, 1]");
  EXPECT_HAS(errorAfter([](json &m) { m["settings"][0].erase("density"); }),
             "settings[0]: missing key 'density'");
  EXPECT_HAS(errorAfter([](json &m) { m["settings"][0]["alpha"] = "auto"; }),
             "settings[0].alpha must be a number");
}

TEST_F(ManifestTest, FilesAndChecksums) {
  EXPECT_HAS(errorAfter([](json &m) { m.erase("files"); }),
             "missing key 'files'");
  EXPECT_HAS(errorAfter([](json &m) { m["files"] = json::array(); }),
             "'files' must be an object");
  EXPECT_HAS(
      errorAfter([](json &m) { m["files"][kCpuLibrary] = "0123456789abcdef"; }),
      "files: 'cpu/libproteus_kernels.so' must be an object");
  EXPECT_HAS(
      errorAfter([](json &m) {
        m["files"][kCpuLibrary]["xxh3"] = "ABCDEF0123456789";
      }),
      "files: 'cpu/libproteus_kernels.so'.xxh3 must be 16 lowercase hex");
  EXPECT_HAS(errorAfter([](json &m) {
               m["files"][kCpuLibrary]["bytes"] = int64_t(1) << 40;
             }),
             "'cpu/libproteus_kernels.so'.bytes must be an integer in [0, "
             "1073741824]");
  const json entry = {{"xxh3", "0123456789abcdef"}, {"bytes", 1}};
  EXPECT_HAS(errorAfter([&](json &m) { m["files"]["../outside.so"] = entry; }),
             "'../outside.so' is not a relative path inside the bundle");
  EXPECT_HAS(errorAfter([&](json &m) { m["files"]["notes.txt"] = entry; }),
             "'notes.txt' is listed in manifest.json but " + dir +
                 "/notes.txt does not exist");

  // A wrong checksum names the file, the recorded and the actual value.
  const std::string actual = checksumOf(dir + "/" + kCpuLibrary);
  std::string err = errorAfter(
      [](json &m) { m["files"][kCpuLibrary]["xxh3"] = "0123456789abcdef"; });
  EXPECT_HAS(err, "'cpu/libproteus_kernels.so' has the wrong checksum");
  EXPECT_HAS(err, "manifest.json says 0123456789abcdef");
  EXPECT_HAS(err, "the file's XXH3-64 is " + actual);

  // The recorded size is the read cap: a larger file is refused unread.
  err = errorAfter([](json &m) { m["files"][kCpuLibrary]["bytes"] = 10; });
  EXPECT_HAS(err, "'cpu/libproteus_kernels.so' is " +
                      std::to_string(fs::file_size(dir + "/" + kCpuLibrary)) +
                      " bytes, manifest.json says 10");
}

TEST_F(ManifestTest, EditedFileIsDetected) {
  std::string bytes = readFile(dir + "/" + kCpuLibrary);
  bytes[bytes.size() / 2] ^= 0x5a;
  writeFile(dir + "/" + kCpuLibrary, bytes);
  EXPECT_HAS(loadError(dir),
             "'cpu/libproteus_kernels.so' has the wrong checksum");
  fs::remove(dir + "/" + kCpuLibrary);
  EXPECT_HAS(loadError(dir),
             "'cpu/libproteus_kernels.so' is listed in manifest.json but");
}

TEST_F(ManifestTest, PtxSets) {
  TempDir t2;
  BundleSpec s;
  s.settings = {{0.0, 1.0}, {1.0, 1.0}};
  s.ptxArchs = {"sm_90", "sm_80"};
  makeBundle(t2.path(), s);
  Manifest m = loadManifest(t2.path());
  EXPECT_EQ(m.ptxArchs, (std::vector<std::string>{"sm_80", "sm_90"}));

  fs::remove(t2 / ptxFile("sm_90", 1));
  writeManifest(t2.path(), manifestFor(t2.path(), s));
  EXPECT_HAS(loadError(t2.path()),
             "PTX for sm_90 lacks ptx/sm_90/s1.ptx (setting 1)");

  writeFile(t2 / ptxFile("sm_90", 1), "x");
  writeFile(t2 / ptxFile("sm_90", 2), "x");
  writeManifest(t2.path(), manifestFor(t2.path(), s));
  EXPECT_HAS(loadError(t2.path()), "'ptx/sm_90/s2.ptx' names no setting");

  fs::remove(t2 / ptxFile("sm_90", 2));
  writeFile(t2 / "ptx/volta/s0.ptx", "x");
  writeManifest(t2.path(), manifestFor(t2.path(), s));
  EXPECT_HAS(loadError(t2.path()), "ptx/volta/ is not named after an arch");
}

TEST_F(ManifestTest, SassSets) {
  TempDir t2;
  BundleSpec s;
  s.settings = {{0.0, 1.0}, {1.0, 1.0}};
  s.ptxArchs = {"sm_90"};
  s.sassArchs = {"sm_90a", "sm_90"};
  makeBundle(t2.path(), s);
  Manifest m = loadManifest(t2.path());
  EXPECT_EQ(m.sassArchs, (std::vector<std::string>{"sm_90", "sm_90a"}));
  EXPECT_EQ(m.ptxArchs, (std::vector<std::string>{"sm_90"}));

  fs::remove(t2 / cubinFile("sm_90a", 1));
  writeManifest(t2.path(), manifestFor(t2.path(), s));
  EXPECT_HAS(loadError(t2.path()),
             "SASS for sm_90a lacks sass/sm_90a/s1.cubin (setting 1)");
  writeFile(t2 / cubinFile("sm_90a", 1), fakeCubin({}));
  writeFile(t2 / "sass/sm_90a/s1.ptx", "x");
  writeManifest(t2.path(), manifestFor(t2.path(), s));
  EXPECT_HAS(loadError(t2.path()), "'sass/sm_90a/s1.ptx' names no setting");
  fs::remove(t2 / "sass/sm_90a/s1.ptx");
  writeFile(t2 / "sass/hopper/s0.cubin", "x");
  writeManifest(t2.path(), manifestFor(t2.path(), s));
  EXPECT_HAS(loadError(t2.path()), "sass/hopper/ is not named after an arch");
  fs::remove_all(t2 / "sass/hopper");

  // A cubin loads only on its exact target: PTX must be there to fall back
  // on.
  fs::remove_all(t2 / "ptx");
  writeManifest(t2.path(), manifestFor(t2.path(), s));
  EXPECT_HAS(loadError(t2.path()),
             "SASS (sm_90) without any PTX for the runtime to fall back on");
}

TEST(SassArch, SelectionIsExact) {
  EXPECT_EQ(selectSassArch({"sm_90", "sm_90a"}, 9, 0), "sm_90a");
  EXPECT_EQ(selectSassArch({"sm_90"}, 9, 0), "sm_90");
  EXPECT_EQ(selectSassArch({"sm_90", "sm_90a"}, 8, 6), "");
  EXPECT_EQ(selectSassArch({"sm_80"}, 8, 6), "");
  EXPECT_EQ(selectSassArch({"sm_90"}, 10, 0), "");
}

TEST(SassArch, CubinEntries) {
  CubinImage image = parseCubin(fakeCubin({"proteus_a", "proteus_b"}, 3));
  EXPECT_EQ(image.entries, (std::set<std::string>{"proteus_a", "proteus_b"}));
  EXPECT_FALSE(image.hasFingerprint);
  image = parseCubin(fakeCubin({"k"}, 1, "{\"setting\": 2}"));
  EXPECT_EQ(image.entries, std::set<std::string>{"k"});
  EXPECT_TRUE(image.hasFingerprint);
  EXPECT_EQ(image.fingerprint, "{\"setting\": 2}");
  EXPECT_TRUE(parseCubin(fakeCubin({})).entries.empty());
  for (const std::string &bad : {std::string("// PTX, not ELF"),
                                 std::string("\x7f"
                                             "ELF"),
                                 fakeCubin({"k"}).substr(0, 100)}) {
    try {
      parseCubin(bad);
      ADD_FAILURE() << "accepted " << bad.size() << " bytes";
    } catch (const Error &e) {
      EXPECT_EQ(e.status, PRT_ERR_BUNDLE);
      EXPECT_HAS(std::string(e.what()), "the cubin is not a valid ELF image");
    }
  }
}

TEST_F(ManifestTest, NothingToRun) {
  EXPECT_HAS(errorAfter([](json &m) { m["files"] = json::object(); }),
             "lists neither the CPU library");
}

TEST_F(ManifestTest, CpuTarget) {
  EXPECT_HAS(errorAfter([](json &m) { m["cpu_target"] = 64; }),
             "'cpu_target' must be a non-empty target triple");
  json m = manifest;
  m["cpu_target"] = "x86_64-unknown-linux-gnu";
  m["generator"] = "informational keys are ignored";
  writeManifest(dir, m);
  EXPECT_EQ(loadError(dir), "");
}

TEST_F(ManifestTest, CpuIsa) {
  EXPECT_HAS(errorAfter([](json &m) { m["cpu_isa"] = "x86-64-v4"; }),
             "'cpu_isa' must be \"x86-64\" or \"x86-64-v3\", found "
             "\"x86-64-v4\"");
  EXPECT_HAS(errorAfter([](json &m) { m["cpu_isa"] = 3; }),
             "'cpu_isa' must be \"x86-64\" or \"x86-64-v3\", found 3");
  json m = manifest;
  m["cpu_isa"] = "x86-64-v3";
  writeManifest(dir, m);
  EXPECT_EQ(loadError(dir), "");
  // The baseline needs nothing; x86-64-v3 needs what this CPU has or lacks.
  EXPECT_EQ(missingCpuFeatures("x86-64"), "");
#if defined(__x86_64__)
  EXPECT_EQ(missingCpuFeatures("x86-64-v3").empty(),
            __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                __builtin_cpu_supports("bmi2"));
#endif
}

TEST(PtxArch, Selection) {
  const std::vector<std::string> avail = {"sm_80", "sm_90a", "sm_86", "sm_100"};
  EXPECT_EQ(selectPtxArch(avail, 9, 0), "sm_90a");
  EXPECT_EQ(selectPtxArch({"sm_80", "sm_90", "sm_90a"}, 9, 0), "sm_90");
  EXPECT_EQ(selectPtxArch(avail, 8, 9), "sm_86");
  EXPECT_EQ(selectPtxArch(avail, 7, 5), "");
  EXPECT_EQ(selectPtxArch({"sm_100"}, 9, 0), "");
  EXPECT_EQ(selectPtxArch({"sm_90a"}, 10, 0), "");
  EXPECT_EQ(jitTargetOf("sm_90"), 90);
  EXPECT_EQ(jitTargetOf("sm_90a"), 0x10000 + 90);
  EXPECT_EQ(jitTargetOf("compute_90"), -1);
  EXPECT_EQ(jitTargetOf("sm_"), -1);
}

TEST(Checksums, HexRoundTrip) {
  uint64_t v = 0;
  EXPECT_TRUE(parseHex16("00ff00ff00ff00ff", v));
  EXPECT_EQ(toHex16(v), "00ff00ff00ff00ff");
  EXPECT_FALSE(parseHex16("00FF00FF00FF00FF", v));
  EXPECT_FALSE(parseHex16("00ff00ff00ff00f", v));
  EXPECT_FALSE(parseHex16("00ff00ff00ff00fg", v));
  // XXH3-64 of the empty input (xxhash's published test vector).
  EXPECT_EQ(toHex16(xxh3("", 0)), "2d06800538d394c2");
}
