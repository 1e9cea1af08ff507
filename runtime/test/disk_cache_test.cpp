//===- disk_cache_test.cpp - The on-disk JIT cache, without a GPU ---------===//
//
// Store/load with fake payloads, every kind of damage, and many writers
// (threads and processes) racing on one key while readers never see a torn
// entry.
//
//===----------------------------------------------------------------------===//

#include "test_util.h"

#include <gtest/gtest.h>

#include <atomic>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace proteus_rt;
using namespace proteus_rt::test;

namespace {

/// A payload that proves its own integrity: a length-prefixed pattern.
std::string makePayload(uint32_t writer, size_t size) {
  std::string p(size, '\0');
  std::memcpy(p.data(), &writer, sizeof(writer));
  for (size_t i = sizeof(writer); i < size; ++i)
    p[i] = static_cast<char>((writer * 131 + i * 7) & 0xff);
  return p;
}

bool payloadIsWhole(const std::string &p) {
  if (p.size() < sizeof(uint32_t))
    return false;
  uint32_t writer;
  std::memcpy(&writer, p.data(), sizeof(writer));
  if (p.size() != 4096 + (writer % 16) * 8192)
    return false;
  for (size_t i = sizeof(writer); i < p.size(); ++i)
    if (p[i] != static_cast<char>((writer * 131 + i * 7) & 0xff))
      return false;
  return true;
}

/// Sets an environment variable for a scope, restoring the old value.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name_(name) {
    if (const char *old = std::getenv(name))
      old_ = old, had_ = true;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_, old_.c_str(), 1);
    else
      ::unsetenv(name_);
  }

private:
  const char *name_;
  std::string old_;
  bool had_ = false;
};

constexpr uint64_t kKey = 0x1234abcd5678ef00ull;

} // namespace

TEST(DiskCache, StoreLoadMiss) {
  TempDir tmp;
  DiskCache cache(tmp / "a/b/cache");
  std::string payload, detail;
  EXPECT_EQ(cache.load(kKey, payload, detail), DiskCache::Lookup::Miss);
  cache.store(kKey, "cubin bytes\0with a NUL");
  EXPECT_EQ(cache.entryPath(kKey), tmp / "a/b/cache/1234abcd5678ef00.cubin");
  ASSERT_EQ(cache.load(kKey, payload, detail), DiskCache::Lookup::Hit)
      << detail;
  EXPECT_EQ(payload, std::string("cubin bytes\0with a NUL"));
  EXPECT_EQ(fs::file_size(cache.entryPath(kKey)),
            DiskCache::kHeaderSize + payload.size());

  // Replacing an entry; no temporary file is left behind.
  cache.store(kKey, "newer");
  ASSERT_EQ(cache.load(kKey, payload, detail), DiskCache::Lookup::Hit);
  EXPECT_EQ(payload, "newer");
  int files = 0;
  for (const auto &e : fs::directory_iterator(cache.dir()))
    files += e.is_regular_file();
  EXPECT_EQ(files, 1);

  cache.store(kKey + 1, "");
  ASSERT_EQ(cache.load(kKey + 1, payload, detail), DiskCache::Lookup::Hit);
  EXPECT_EQ(payload, "");
}

TEST(DiskCache, DamageIsDetectedAndNamed) {
  TempDir tmp;
  DiskCache cache(tmp.path());
  const std::string good = makePayload(3, 4096 + 3 * 8192);
  auto damaged = [&](auto edit) {
    cache.store(kKey, good);
    std::string bytes = readFile(cache.entryPath(kKey));
    edit(bytes);
    writeFile(cache.entryPath(kKey), bytes);
    std::string payload, detail;
    EXPECT_EQ(cache.load(kKey, payload, detail), DiskCache::Lookup::Corrupt);
    EXPECT_NE(detail.find(cache.entryPath(kKey)), std::string::npos) << detail;
    return detail;
  };
  EXPECT_NE(damaged([](std::string &b) {
              b.resize(20);
            }).find("shorter than the 40-byte header"),
            std::string::npos);
  EXPECT_NE(
      damaged([](std::string &b) {
        b.resize(b.size() - 1);
      }).find("the header records 28672 payload bytes, the file has 28671"),
      std::string::npos);
  EXPECT_NE(damaged([](std::string &b) {
              b[DiskCache::kHeaderSize + 100] ^= 1;
            }).find("payload checksum mismatch"),
            std::string::npos);
  EXPECT_NE(damaged([](std::string &b) { b[0] = 'X'; }).find("bad magic"),
            std::string::npos);
  EXPECT_NE(damaged([](std::string &b) { b[8] = 7; }).find("entry format 7"),
            std::string::npos);
  EXPECT_NE(damaged([](std::string &b) { b[16] ^= 0xff; }).find("holds key"),
            std::string::npos);
  EXPECT_NE(
      damaged([](std::string &b) { b += "trailing"; }).find("payload bytes"),
      std::string::npos);

  // A rebuild (store) replaces the damaged entry.
  cache.store(kKey, good);
  std::string payload, detail;
  EXPECT_EQ(cache.load(kKey, payload, detail), DiskCache::Lookup::Hit);
  EXPECT_EQ(payload, good);
}

TEST(DiskCache, EntriesThatAreNotFilesAreIgnored) {
  TempDir tmp;
  DiskCache cache(tmp.path());
  const std::string good = makePayload(5, 4096 + 5 * 8192);
  // A FIFO is noted and ignored at once (never read, so never a hang), and
  // the rebuild's store replaces it.
  ASSERT_EQ(::mkfifo(cache.entryPath(kKey).c_str(), 0600), 0);
  std::string payload, detail;
  EXPECT_EQ(cache.load(kKey, payload, detail), DiskCache::Lookup::Corrupt);
  EXPECT_NE(detail.find("ignored: " + cache.entryPath(kKey) +
                        " is a FIFO, not a regular file"),
            std::string::npos)
      << detail;
  cache.store(kKey, good);
  EXPECT_EQ(cache.load(kKey, payload, detail), DiskCache::Lookup::Hit);
  EXPECT_EQ(payload, good);
  // A folder in an entry's place is ignored too.
  fs::remove(cache.entryPath(kKey));
  fs::create_directory(cache.entryPath(kKey));
  EXPECT_EQ(cache.load(kKey, payload, detail), DiskCache::Lookup::Corrupt);
  EXPECT_NE(detail.find("is a folder"), std::string::npos) << detail;
}

TEST(DiskCache, StoreFailureIsAnIoError) {
  TempDir tmp;
  writeFile(tmp / "file", "x");
  DiskCache cache(tmp / "file/sub");
  try {
    cache.store(kKey, "payload");
    FAIL() << "store under a regular file succeeded";
  } catch (const Error &e) {
    EXPECT_EQ(e.status, PRT_ERR_IO);
    EXPECT_NE(std::string(e.what()).find("cannot create the cache folder"),
              std::string::npos)
        << e.what();
  }
}

TEST(DiskCache, KeyCoversPtxArchAndDriver) {
  const uint64_t k = DiskCache::key("ptx", "sm_90", 13000);
  EXPECT_EQ(k, DiskCache::key("ptx", "sm_90", 13000));
  EXPECT_NE(k, DiskCache::key("ptx ", "sm_90", 13000));
  EXPECT_NE(k, DiskCache::key("ptx", "sm_90a", 13000));
  EXPECT_NE(k, DiskCache::key("ptx", "sm_90", 12080));
}

TEST(DiskCache, ConcurrentThreadsNeverTear) {
  TempDir tmp;
  DiskCache cache(tmp.path());
  std::atomic<bool> stop{false};
  std::atomic<int> hits{0}, torn{0}, corrupt{0};
  std::vector<std::thread> threads;
  for (uint32_t w = 0; w < 6; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < 40; ++i) {
        uint32_t id = w * 100 + static_cast<uint32_t>(i);
        cache.store(kKey, makePayload(id, 4096 + (id % 16) * 8192));
      }
    });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      while (!stop) {
        std::string payload, detail;
        switch (cache.load(kKey, payload, detail)) {
        case DiskCache::Lookup::Hit:
          ++hits;
          torn += !payloadIsWhole(payload);
          break;
        case DiskCache::Lookup::Corrupt:
          ++corrupt;
          break;
        case DiskCache::Lookup::Miss:
          break;
        }
      }
    });
  for (auto &t : threads)
    t.join();
  stop = true;
  for (auto &t : readers)
    t.join();
  EXPECT_EQ(corrupt.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(hits.load(), 0);
  std::string payload, detail;
  ASSERT_EQ(cache.load(kKey, payload, detail), DiskCache::Lookup::Hit);
  EXPECT_TRUE(payloadIsWhole(payload));
  int files = 0;
  for (const auto &e : fs::directory_iterator(cache.dir()))
    files += e.is_regular_file();
  EXPECT_EQ(files, 1) << "temporary files left behind";
}

TEST(DiskCache, ConcurrentProcessesNeverTear) {
  TempDir tmp;
  DiskCache cache(tmp.path());
  std::vector<pid_t> children;
  for (uint32_t w = 0; w < 4; ++w) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 0;
      try {
        for (uint32_t i = 0; i < 30; ++i) {
          uint32_t id = 1000 + w * 100 + i;
          cache.store(kKey, makePayload(id, 4096 + (id % 16) * 8192));
        }
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  int hits = 0, bad = 0;
  for (int i = 0; i < 3000 && hits < 500; ++i) {
    std::string payload, detail;
    DiskCache::Lookup l = cache.load(kKey, payload, detail);
    if (l == DiskCache::Lookup::Hit) {
      ++hits;
      bad += !payloadIsWhole(payload);
    } else if (l == DiskCache::Lookup::Corrupt) {
      ++bad;
    }
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(bad, 0);
  std::string payload, detail;
  ASSERT_EQ(cache.load(kKey, payload, detail), DiskCache::Lookup::Hit);
  EXPECT_TRUE(payloadIsWhole(payload));
}

TEST(DiskCache, FolderResolution) {
  ScopedEnv off("PROTEUS_DISABLE_CACHE", nullptr);
  ScopedEnv dir("PROTEUS_CACHE_DIR", nullptr);
  ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
  ScopedEnv home("HOME", "/home/someone");
  std::string why;
  EXPECT_EQ(resolveCacheDir(nullptr, false, why),
            "/home/someone/.cache/proteus");
  {
    ScopedEnv x("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(resolveCacheDir(nullptr, false, why), "/xdg/proteus");
    ScopedEnv relative("XDG_CACHE_HOME", "relative");
    EXPECT_EQ(resolveCacheDir(nullptr, false, why),
              "/home/someone/.cache/proteus");
    ScopedEnv p("PROTEUS_CACHE_DIR", "/explicit");
    EXPECT_EQ(resolveCacheDir(nullptr, false, why), "/explicit");
    EXPECT_EQ(resolveCacheDir("/option", false, why), "/option");
  }
  EXPECT_EQ(resolveCacheDir("/option", true, why), "");
  EXPECT_NE(why.find("disabled by the context options"), std::string::npos);
  {
    ScopedEnv d("PROTEUS_DISABLE_CACHE", "1");
    EXPECT_EQ(resolveCacheDir("/option", false, why), "");
    EXPECT_NE(why.find("PROTEUS_DISABLE_CACHE=1"), std::string::npos);
  }
  {
    ScopedEnv d("PROTEUS_DISABLE_CACHE", "0");
    EXPECT_EQ(resolveCacheDir(nullptr, false, why),
              "/home/someone/.cache/proteus");
  }
}
