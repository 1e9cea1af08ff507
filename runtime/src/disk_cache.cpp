//===- disk_cache.cpp - The on-disk cache of JIT-compiled modules ---------===//
//
// Entries are immutable once renamed into place; a damaged one (a crash
// mid-write on a filesystem without ordered renames, a truncation, an edit)
// is recognised by its header and payload checksum and rebuilt by the caller.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <pwd.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace proteus_rt {
namespace {

std::string errnoText() { return std::strerror(errno); }

/// Creates `dir` and its missing parents (mode 0700 for new folders).
void makeDirs(const std::string &dir) {
  std::string path;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty())
      continue;
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
      fail(PRT_ERR_IO,
           "cannot create the cache folder " + path + ": " + errnoText());
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail(PRT_ERR_IO, "the cache folder " + dir + " is not a folder");
}

void writeAll(int fd, const char *data, size_t size, const std::string &path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      fail(PRT_ERR_IO, "cannot write " + path + ": " + errnoText());
    data += n;
    size -= static_cast<size_t>(n);
  }
}

template <typename T> T readScalar(const std::string &buf, size_t offset) {
  T v;
  std::memcpy(&v, buf.data() + offset, sizeof(T));
  return v;
}

template <typename T> void putScalar(char *buf, size_t offset, T v) {
  std::memcpy(buf + offset, &v, sizeof(T));
}

} // namespace

uint64_t DiskCache::key(std::string_view ptx, std::string_view arch,
                        int driverVersion) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  const std::string head = "proteus-cubin-v" + std::to_string(kVersion) + '\0' +
                           std::string(arch) + '\0' +
                           std::to_string(driverVersion) + '\0';
  XXH3_64bits_update(&state, head.data(), head.size());
  XXH3_64bits_update(&state, ptx.data(), ptx.size());
  return XXH3_64bits_digest(&state);
}

std::string DiskCache::entryPath(uint64_t key) const {
  return dir_ + "/" + toHex16(key) + ".cubin";
}

DiskCache::Lookup DiskCache::load(uint64_t key, std::string &payload,
                                  std::string &detail) const {
  const std::string path = entryPath(key);
  // Opened without blocking and checked on the same descriptor: an entry
  // that is a FIFO, a device or a folder is ignored (and replaced by the
  // caller's store), never read.
  OpenFile file;
  std::string buf, error;
  if (!openRegular(path, kMaxEntryBytes, file, error)) {
    if (file.openErrno == ENOENT)
      return Lookup::Miss;
    detail = "cache entry " + path + " ignored: " + error;
    return Lookup::Corrupt;
  }
  if (!readOpen(file, path, buf, error)) {
    detail = "cache entry " + path + " ignored: " + error;
    return Lookup::Corrupt;
  }

  auto corrupt = [&](const std::string &what) {
    detail = "cache entry " + path + " is damaged: " + what;
    return Lookup::Corrupt;
  };
  if (buf.size() < kHeaderSize)
    return corrupt("truncated to " + std::to_string(buf.size()) +
                   " bytes, shorter than the " + std::to_string(kHeaderSize) +
                   "-byte header");
  if (std::memcmp(buf.data(), kMagic, sizeof(kMagic)) != 0)
    return corrupt("bad magic (not a proteus cache entry)");
  if (uint32_t v = readScalar<uint32_t>(buf, 8); v != kVersion)
    return corrupt("entry format " + std::to_string(v) + ", expected " +
                   std::to_string(kVersion));
  if (uint32_t h = readScalar<uint32_t>(buf, 12); h != kHeaderSize)
    return corrupt("header size " + std::to_string(h) + ", expected " +
                   std::to_string(kHeaderSize));
  if (uint64_t k = readScalar<uint64_t>(buf, 16); k != key)
    return corrupt("holds key " + toHex16(k) + ", expected " + toHex16(key));
  const uint64_t size = readScalar<uint64_t>(buf, 24);
  if (size != buf.size() - kHeaderSize)
    return corrupt("the header records " + std::to_string(size) +
                   " payload bytes, the file has " +
                   std::to_string(buf.size() - kHeaderSize));
  const uint64_t expected = readScalar<uint64_t>(buf, 32);
  const uint64_t actual =
      xxh3(buf.data() + kHeaderSize, buf.size() - kHeaderSize);
  if (expected != actual)
    return corrupt("payload checksum mismatch: the header records " +
                   toHex16(expected) + ", the payload hashes to " +
                   toHex16(actual));
  payload = buf.substr(kHeaderSize);
  return Lookup::Hit;
}

void DiskCache::store(uint64_t key, std::string_view payload) const {
  makeDirs(dir_);
  static std::atomic<uint64_t> counter{0};
  const std::string tmp =
      dir_ + "/.tmp-" + toHex16(key) + "-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id())) +
      "-" + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    fail(PRT_ERR_IO, "cannot create " + tmp + ": " + errnoText());
  char header[kHeaderSize];
  std::memcpy(header, kMagic, sizeof(kMagic));
  putScalar<uint32_t>(header, 8, kVersion);
  putScalar<uint32_t>(header, 12, static_cast<uint32_t>(kHeaderSize));
  putScalar<uint64_t>(header, 16, key);
  putScalar<uint64_t>(header, 24, payload.size());
  putScalar<uint64_t>(header, 32, xxh3(payload.data(), payload.size()));
  try {
    writeAll(fd, header, sizeof(header), tmp);
    writeAll(fd, payload.data(), payload.size(), tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    std::string why = errnoText();
    ::unlink(tmp.c_str());
    fail(PRT_ERR_IO, "cannot write " + tmp + ": " + why);
  }
  const std::string path = entryPath(key);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = errnoText();
    ::unlink(tmp.c_str());
    fail(PRT_ERR_IO, "cannot rename " + tmp + " to " + path + ": " + why);
  }
}

std::string resolveCacheDir(const char *option, bool disabled,
                            std::string &why) {
  auto env = [](const char *name) -> std::string {
    const char *v = std::getenv(name);
    return v ? v : "";
  };
  if (disabled) {
    why = "the disk cache is disabled by the context options";
    return "";
  }
  if (std::string off = env("PROTEUS_DISABLE_CACHE");
      !off.empty() && off != "0") {
    why = "the disk cache is disabled by PROTEUS_DISABLE_CACHE=" + off;
    return "";
  }
  why.clear();
  if (option && *option)
    return option;
  if (std::string dir = env("PROTEUS_CACHE_DIR"); !dir.empty())
    return dir;
  if (std::string xdg = env("XDG_CACHE_HOME");
      !xdg.empty() && xdg.front() == '/')
    return xdg + "/proteus";
  std::string home = env("HOME");
  if (home.empty()) {
    if (const passwd *pw = ::getpwuid(::getuid()); pw && pw->pw_dir)
      home = pw->pw_dir;
  }
  if (home.empty()) {
    why =
        "no cache folder: PROTEUS_CACHE_DIR, XDG_CACHE_HOME and HOME are unset";
    return "";
  }
  return home + "/.cache/proteus";
}

} // namespace proteus_rt
