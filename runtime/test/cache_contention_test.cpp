//===- cache_contention_test.cpp - Processes racing on one JIT cache ------===//
//
// Several processes load the PTX of the same bundle (through the fake CUDA
// driver, whose "cubin" is the PTX text) into one empty disk cache folder at
// once; some are killed mid-write. Each survivor must succeed, none may read
// an entry back damaged, and every entry left on disk must be whole.
//
//===----------------------------------------------------------------------===//

#include "test_util.h"

#include <gtest/gtest.h>

#include <csignal>
#include <random>
#include <sys/wait.h>
#include <unistd.h>

using namespace proteus_rt;
using namespace proteus_rt::test;

namespace {

constexpr int kSettings = 3;

/// The child: opens the bundle on a GPU context over the fake driver, loads
/// each setting's PTX (read and fingerprint-checked from the bundle) through
/// the shared cache. Exit 0: all loaded, no damaged entry seen; else 1-4.
int loadAll(const std::string &bundleDir, const std::string &cacheDir,
            const std::string &fake) {
  prt_context_options o;
  prt_context_options_init(&o);
  o.backend = PRT_BACKEND_GPU;
  o.cuda_library = fake.c_str();
  o.cache_dir = cacheDir.c_str();
  prt_context *ctx = nullptr;
  if (prt_context_create(&ctx, &o) != PRT_OK)
    return 1;
  prt_bundle *bundle = nullptr;
  if (prt_bundle_open(ctx, bundleDir.c_str(), &bundle) != PRT_OK)
    return 2;
  int status = 0;
  try {
    Manifest m = loadManifest(bundleDir);
    for (int64_t s = 0; s < kSettings && status == 0; ++s) {
      const std::string ptx = readBundlePtx(bundleDir, m, "sm_90", s);
      prt_module *module = nullptr;
      if (prt_module_load_ptx(ctx, ptx.data(), static_cast<int64_t>(ptx.size()),
                              "sm_90", &module) != PRT_OK) {
        status = 3;
        break;
      }
      prt_module_info info;
      prt_module_get_info(module, &info);
      // A note means an entry was found damaged (or a store failed).
      if (info.cache_note[0] != '\0')
        status = 4;
      prt_module_unload(module);
    }
  } catch (...) {
    status = 3;
  }
  prt_bundle_close(bundle);
  prt_context_destroy(ctx);
  return status;
}

} // namespace

TEST(CacheContention, KilledWritersNeverLeaveADamagedEntry) {
  TempDir tmp;
  const std::string fake = testDouble(PROTEUS_FAKE_CUDA);
  BundleSpec spec;
  spec.settings = {{0.0, 1.0}, {0.5, 1.0}, {1.0, 1.0}};
  spec.cpuLibrary = "";
  spec.ptxArchs = {"sm_90"};
  const std::string bundleDir = tmp / "bundle";
  makeBundle(bundleDir, spec);
  // Large modules, so that writes take long enough to be killed midway.
  for (int s = 0; s < kSettings; ++s)
    writeFile(bundleDir + "/" + ptxFile("sm_90", s),
              dummyPtx("sm_90", spec, s) + std::string(6 << 20, ' ') + "\n");
  writeManifest(bundleDir, manifestFor(bundleDir, spec));

  std::mt19937 rng(7);
  int survivors = 0, killed = 0;
  for (int round = 0; round < 3; ++round) {
    const std::string cacheDir = tmp / ("cache" + std::to_string(round));
    std::vector<pid_t> children;
    for (int w = 0; w < 6; ++w) {
      pid_t pid = ::fork();
      ASSERT_GE(pid, 0);
      if (pid == 0)
        ::_exit(loadAll(bundleDir, cacheDir, fake));
      children.push_back(pid);
    }
    // Kill every other child at a random moment of its work.
    ::usleep(std::uniform_int_distribution<int>(0, 60000)(rng));
    for (size_t i = 1; i < children.size(); i += 2)
      ::kill(children[i], SIGKILL);
    for (size_t i = 0; i < children.size(); ++i) {
      int status = 0;
      ASSERT_EQ(::waitpid(children[i], &status, 0), children[i]);
      if (WIFSIGNALED(status)) {
        ++killed;
        continue;
      }
      ASSERT_TRUE(WIFEXITED(status));
      EXPECT_EQ(WEXITSTATUS(status), 0)
          << "round " << round << " child " << i
          << " failed (1 context, 2 bundle, 3 load, 4 damaged entry seen)";
      ++survivors;
    }
    // Every entry on disk is whole; temporary files of killed writers may
    // remain, and are never read as entries.
    DiskCache cache(cacheDir);
    int entries = 0;
    for (const auto &e : fs::directory_iterator(cacheDir)) {
      const std::string name = e.path().filename().string();
      if (name.size() != 22 || name.substr(16) != ".cubin")
        continue;
      uint64_t key = 0;
      ASSERT_TRUE(parseHex16(name.substr(0, 16), key)) << name;
      std::string payload, detail;
      EXPECT_EQ(cache.load(key, payload, detail), DiskCache::Lookup::Hit)
          << detail;
      EXPECT_NE(payload.find(kFingerprintSymbol), std::string::npos);
      ++entries;
    }
    EXPECT_EQ(entries, kSettings) << "round " << round;
    // A fresh process now loads everything from the cache, cleanly.
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0)
      ::_exit(loadAll(bundleDir, cacheDir, fake));
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_GT(survivors, 0);
  EXPECT_GT(killed, 0);
}
