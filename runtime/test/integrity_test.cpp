//===- integrity_test.cpp - A bundle that cannot lie ----------------------===//
//
// The manifest's integrity, the fingerprints of the CPU library and of each
// PTX module, the bundle as a boundary (symlinks out, size caps, FIFOs) and
// the bounded, non-blocking reads of untrusted files.
//
//===----------------------------------------------------------------------===//

#include "test_util.h"

#include "proteus_rt/bundle_integrity.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <memory>
#include <sys/stat.h>

using namespace proteus_rt;
using namespace proteus_rt::test;
using nlohmann::json;

namespace {

/// Opens `dir` and resolves the CPU library's first layer entry point; the
/// error message, or "" when both worked.
std::string cpuLoadError(const std::string &dir) {
  try {
    BundleImpl b;
    b.dir = dir;
    b.manifest = loadManifest(dir);
    b.cpuSymbol(std::string(kLayerEntryPrefix) + "0");
  } catch (const Error &e) {
    EXPECT_EQ(e.status, PRT_ERR_BUNDLE) << e.what();
    return e.what();
  }
  return "";
}

std::string loadError(const std::string &dir) {
  try {
    loadManifest(dir);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

/// Rewrites the manifest of `dir` with `edit` applied, sealed again (as one
/// who knows the format would).
template <typename Edit> void editManifest(const std::string &dir, Edit edit) {
  json m = json::parse(readFile(dir + "/" + kManifestFile));
  edit(m);
  writeManifest(dir, m);
}

class IntegrityTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(tmp.path().empty());
    dir = tmp / "bundle";
    spec.settings = {{0.0, 1.0}, {1.0, 0.5}};
    spec.ptxArchs = {"sm_90"};
    makeBundle(dir, spec);
  }
  TempDir tmp;
  std::string dir;
  BundleSpec spec;
};

} // namespace

TEST_F(IntegrityTest, ValidBundleLoadsFromMemory) {
  BundleImpl b;
  b.dir = dir;
  b.manifest = loadManifest(dir);
  void *fn = b.cpuSymbol(std::string(kLayerEntryPrefix) + "0");
  ASSERT_NE(fn, nullptr);
  // Loaded from the checked bytes (a sealed memfd), not from the path.
  Dl_info info;
  ASSERT_NE(dladdr(fn, &info), 0);
  EXPECT_EQ(std::string(info.dli_fname).rfind("/proc/self/fd/", 0), 0u)
      << info.dli_fname;
  Manifest m = loadManifest(dir);
  EXPECT_NE(readBundlePtx(dir, m, "sm_90", 1).find(kFingerprintSymbol),
            std::string::npos);
}

TEST_F(IntegrityTest, BundlesOfOtherConfigsLoadSideBySide) {
  // dlopen finds a loaded object by its name ("/proc/self/fd/N"): each
  // bundle must get its own library, open at once or one after another.
  BundleSpec other = spec;
  other.config = {{"d_model", 256}, {"h_total", 4}, {"h_active_max", 4}};
  makeBundle(tmp / "other", other);
  for (int round = 0; round < 3; ++round) {
    auto a = std::make_unique<BundleImpl>(), b = std::make_unique<BundleImpl>();
    a->dir = dir, b->dir = tmp / "other";
    a->manifest = loadManifest(a->dir);
    b->manifest = loadManifest(b->dir);
    const std::string entry = std::string(kLayerEntryPrefix) + "0";
    EXPECT_NE(a->cpuSymbol(entry), nullptr);
    EXPECT_NE(b->cpuSymbol(entry), nullptr);
    EXPECT_NE(a->cpuSymbol(entry), b->cpuSymbol(entry));
    a.reset();
    EXPECT_EQ(cpuLoadError(tmp / "other"), "") << "round " << round;
    EXPECT_EQ(cpuLoadError(dir), "") << "round " << round;
  }
}

TEST_F(IntegrityTest, EditedManifestIsRefused) {
  json m = json::parse(readFile(dir + "/" + kManifestFile));
  m["config"]["d_model"] = 1024;
  writeFile(dir + "/" + kManifestFile, m.dump(2)); // not sealed again
  std::string err = loadError(dir);
  EXPECT_HAS(err, "'integrity' is \"");
  EXPECT_HAS(err, "manifest.json was edited after proteus-compile wrote it");
  m.erase("integrity");
  writeFile(dir + "/" + kManifestFile, m.dump(2));
  EXPECT_HAS(loadError(dir), "missing key 'integrity'");
}

TEST_F(IntegrityTest, ConfigMismatchNamesTheKey) {
  // Sealed again, the manifest passes; the library's fingerprint does not.
  editManifest(dir, [](json &m) { m["config"]["d_model"] = 1024; });
  EXPECT_EQ(loadError(dir), "");
  std::string err = cpuLoadError(dir);
  EXPECT_HAS(err, "the CPU library cpu/libproteus_kernels.so does not match "
                  "manifest.json: config key 'd_head': compiled for 64, the "
                  "manifest says 128");
  editManifest(dir, [](json &m) {
    m["config"]["d_model"] = 512;
    m["config"]["attn_gates"] = 4;
  });
  EXPECT_HAS(cpuLoadError(dir),
             "config key 'attn_gates': compiled for 16, the manifest says 4");
  Manifest m = loadManifest(dir);
  try {
    readBundlePtx(dir, m, "sm_90", 0);
    ADD_FAILURE() << "a PTX module of another configuration was accepted";
  } catch (const Error &e) {
    EXPECT_HAS(std::string(e.what()),
               "ptx/sm_90/s0.ptx does not match manifest.json: config key "
               "'attn_gates'");
  }
}

TEST_F(IntegrityTest, SwappedSettingsAreDetected) {
  editManifest(dir,
               [](json &m) { std::swap(m["settings"][0], m["settings"][1]); });
  EXPECT_HAS(cpuLoadError(dir),
             "settings[0] (alpha, density): compiled for [0.0,1.0], the "
             "manifest says [1.0,0.5]");
  // Two PTX modules swapped (manifest resealed with their checksums): each
  // is refused under the other's label.
  makeBundle(dir, spec);
  std::string s0 = readFile(dir + "/" + ptxFile("sm_90", 0));
  writeFile(dir + "/" + ptxFile("sm_90", 0),
            readFile(dir + "/" + ptxFile("sm_90", 1)));
  writeFile(dir + "/" + ptxFile("sm_90", 1), s0);
  writeManifest(dir, manifestFor(dir, spec));
  Manifest m = loadManifest(dir);
  try {
    readBundlePtx(dir, m, "sm_90", 0);
    ADD_FAILURE() << "setting 1's PTX ran as setting 0";
  } catch (const Error &e) {
    EXPECT_HAS(std::string(e.what()), "setting: compiled as 1, loaded as 0");
  }
}

TEST_F(IntegrityTest, ModulesWithoutFingerprintAreRefused) {
  writeFile(dir + "/" + ptxFile("sm_90", 0), "// PTX of an older release\n");
  writeManifest(dir, manifestFor(dir, spec));
  Manifest m = loadManifest(dir);
  try {
    readBundlePtx(dir, m, "sm_90", 0);
    ADD_FAILURE() << "PTX without a fingerprint was accepted";
  } catch (const Error &e) {
    EXPECT_HAS(std::string(e.what()), "declares no proteus_bundle_fingerprint");
  }
}

TEST_F(IntegrityTest, FileChangedAfterOpenIsNotLoaded) {
  BundleImpl b;
  b.dir = dir;
  b.manifest = loadManifest(dir);
  std::string bytes = readFile(dir + "/" + kCpuLibrary);
  bytes[bytes.size() / 3] ^= 0x20;
  writeFile(dir + "/" + kCpuLibrary, bytes);
  try {
    b.cpuSymbol(std::string(kLayerEntryPrefix) + "0");
    ADD_FAILURE() << "a library changed after the bundle was opened loaded";
  } catch (const Error &e) {
    EXPECT_HAS(std::string(e.what()), "has the wrong checksum");
  }
}

TEST_F(IntegrityTest, SymlinkOutOfTheBundleIsRefused) {
  const std::string outside = tmp / "outside.so";
  fs::rename(dir + "/" + kCpuLibrary, outside);
  fs::create_symlink(outside, dir + "/" + kCpuLibrary);
  std::string err = loadError(dir);
  EXPECT_HAS(err, "'cpu/libproteus_kernels.so' resolves to " +
                      fs::canonical(outside).string() +
                      ", outside the bundle folder");
  // A symlink that stays inside is fine.
  fs::remove(dir + "/" + kCpuLibrary);
  fs::rename(outside, dir + "/cpu/real.so");
  fs::create_symlink("real.so", dir + "/" + kCpuLibrary);
  EXPECT_EQ(cpuLoadError(dir), "");
  // The manifest itself, too.
  fs::rename(dir + "/" + kManifestFile, tmp / "manifest.json");
  fs::create_symlink(tmp / "manifest.json", dir + "/" + kManifestFile);
  EXPECT_HAS(loadError(dir), "outside the bundle folder");
}

TEST_F(IntegrityTest, FifosNeverHang) {
  fs::remove(dir + "/" + kManifestFile);
  ASSERT_EQ(::mkfifo((dir + "/" + kManifestFile).c_str(), 0600), 0);
  EXPECT_HAS(loadError(dir), "manifest.json is a FIFO, not a regular file");
  fs::remove(dir + "/" + kManifestFile);
  ASSERT_EQ(::mkfifo((dir + "/notes").c_str(), 0600), 0);
  writeManifest(dir, manifestFor(dir, spec));
  editManifest(dir, [](json &m) {
    m["files"]["notes"] = {{"xxh3", "0123456789abcdef"}, {"bytes", 0}};
  });
  EXPECT_HAS(loadError(dir), "'notes' cannot be read: " + dir +
                                 "/notes is a FIFO, not a regular file");
}

TEST(ReadRegularFile, RefusesDevicesAndCapsTheSize) {
  std::string data, error;
  EXPECT_FALSE(readRegularFile("/dev/zero", 1 << 20, data, error));
  EXPECT_HAS(error, "/dev/zero is a character device, not a regular file");
  TempDir t;
  writeFile(t / "f", std::string(100, 'x'));
  EXPECT_FALSE(readRegularFile(t / "f", 99, data, error));
  EXPECT_HAS(error, "is 100 bytes, more than the 99 allowed");
  ASSERT_TRUE(readRegularFile(t / "f", 100, data, error)) << error;
  EXPECT_EQ(data, std::string(100, 'x'));
  EXPECT_FALSE(readRegularFile(t.path(), 100, data, error));
  EXPECT_HAS(error, "is a folder");
}

TEST(Fingerprint, PtxDirectiveRoundTrips) {
  Config c;
  const std::string fp = bundleFingerprint(c, {{0.5, 0.25}}, 0);
  std::string back;
  ASSERT_TRUE(
      ptxFingerprint(".version 8.0\n" + ptxFingerprintDirective(fp), back));
  EXPECT_EQ(back, fp);
  EXPECT_EQ(fingerprintMismatch(back, c, {{0.5, 0.25}}, 0), "");
  EXPECT_HAS(fingerprintMismatch(back, c, {{0.5, 0.25}, {1, 1}}, 0),
             "settings: compiled for 1 setting(s), the manifest lists 2");
  EXPECT_HAS(fingerprintMismatch("{", c, {{0.5, 0.25}}, 0),
             "its fingerprint is malformed");
  // Malformed declarations are not read.
  const std::string head = ".b8 proteus_bundle_fingerprint[";
  for (const std::string &bad :
       {head + "3] = {65, 66};", head + "2] = {65, 66};", head + "2] = {0, 0};",
        head + "2] = {300, 0};", head + "999999999] = {0};", head + "] = {0};"})
    EXPECT_FALSE(ptxFingerprint(bad, back)) << bad;
}
