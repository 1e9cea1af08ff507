//===- integrity.cpp - Fingerprints, manifest integrity, bounded reads ----===//
//
// Every untrusted file (a manifest, a bundle file, a configuration, a cache
// entry) is opened once without blocking, checked with fstat on the same
// descriptor and read up to a cap; the fingerprint and integrity formats of
// contract.h are written and checked here only.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include "proteus_rt/bundle_integrity.h"
#include "proteus_rt/config_json.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/stat.h>
#include <unistd.h>

using nlohmann::json;

namespace proteus_rt {

namespace {

const char *fileKind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a folder";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

/// The path a descriptor resolves to, symlinks followed ("" if unknown).
std::string resolvedPath(int fd) {
  char buf[4096];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

} // namespace

OpenFile::~OpenFile() {
  if (fd >= 0)
    ::close(fd);
}

bool openRegular(const std::string &path, int64_t maxBytes, OpenFile &out,
                 std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    out.openErrno = errno;
    error = "cannot read " + path + ": " + std::strerror(out.openErrno);
    return false;
  }
  if (out.fd >= 0)
    ::close(out.fd);
  out.fd = fd;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    error = "cannot stat " + path + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = path + " is " + fileKind(st.st_mode) + ", not a regular file";
    return false;
  }
  if (st.st_size > maxBytes) {
    error = path + " is " + std::to_string(st.st_size) +
            " bytes, more than the " + std::to_string(maxBytes) + " allowed";
    return false;
  }
  out.size = st.st_size;
  out.resolved = resolvedPath(fd);
  return true;
}

bool readOpen(const OpenFile &file, const std::string &path, std::string &data,
              std::string &error) {
  try {
    data.assign(static_cast<size_t>(file.size), '\0');
  } catch (const std::bad_alloc &) {
    error = "cannot allocate " + std::to_string(file.size) + " bytes to read " +
            path;
    return false;
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(file.fd, &data[done], data.size() - done,
                        static_cast<off_t>(done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      error = "cannot read " + path + ": " + std::strerror(errno);
      return false;
    }
    if (n == 0) {
      error = path + " shrank while it was read (" + std::to_string(done) +
              " of " + std::to_string(data.size()) + " bytes)";
      return false;
    }
    done += static_cast<size_t>(n);
  }
  char extra;
  if (::pread(file.fd, &extra, 1, static_cast<off_t>(done)) > 0) {
    error = path + " grew while it was read";
    return false;
  }
  return true;
}

bool readRegularFile(const std::string &path, int64_t maxBytes,
                     std::string &data, std::string &error) {
  OpenFile file;
  return openRegular(path, maxBytes, file, error) &&
         readOpen(file, path, data, error);
}

std::string bundleFingerprint(const Config &config, const SettingList &settings,
                              int64_t setting) {
  json s = json::array();
  for (const auto &[alpha, density] : settings)
    s.push_back({alpha, density});
  json fp = {{"format_version", kBundleFormatVersion},
             {"config", json::parse(configToJson(config))},
             {"settings", std::move(s)},
             {"setting", setting}};
  return fp.dump();
}

std::string fingerprintMismatch(const std::string &fingerprint,
                                const Config &config,
                                const SettingList &settings, int64_t setting) {
  json fp = json::parse(fingerprint, nullptr, /*allow_exceptions=*/false);
  if (!fp.is_object() || !fp.contains("config") || !fp["config"].is_object() ||
      !fp.contains("settings") || !fp["settings"].is_array())
    return "its fingerprint is malformed";
  if (fp.value("format_version", json()) != json(kBundleFormatVersion))
    return "it was compiled for bundle format " +
           fp.value("format_version", json()).dump() + ", not " +
           std::to_string(kBundleFormatVersion);
  const json want = json::parse(configToJson(config));
  const json &have = fp["config"];
  for (auto it = want.begin(); it != want.end(); ++it)
    if (!have.contains(it.key()) || have[it.key()] != it.value())
      return "config key '" + it.key() + "': compiled for " +
             (have.contains(it.key()) ? have[it.key()].dump() : "(absent)") +
             ", the manifest says " + it.value().dump();
  for (auto it = have.begin(); it != have.end(); ++it)
    if (!want.contains(it.key()))
      return "config key '" + it.key() + "': compiled with it, the manifest " +
             "has none";
  const json &s = fp["settings"];
  if (s.size() != settings.size())
    return "settings: compiled for " + std::to_string(s.size()) +
           " setting(s), the manifest lists " + std::to_string(settings.size());
  for (size_t i = 0; i < settings.size(); ++i) {
    const json expect = {settings[i].first, settings[i].second};
    if (s[i] != expect)
      return "settings[" + std::to_string(i) + "] (alpha, density): compiled " +
             "for " + s[i].dump() + ", the manifest says " + expect.dump();
  }
  if (fp.value("setting", json()) != json(setting))
    return "setting: compiled as " + fp.value("setting", json()).dump() +
           ", loaded as " + std::to_string(setting);
  return "";
}

std::string ptxFingerprintDirective(const std::string &fingerprint) {
  std::string out = "\n.visible .global .align 1 .b8 " +
                    std::string(kFingerprintSymbol) + "[" +
                    std::to_string(fingerprint.size() + 1) + "] = {";
  for (size_t i = 0; i <= fingerprint.size(); ++i) {
    unsigned char c =
        i < fingerprint.size() ? static_cast<unsigned char>(fingerprint[i]) : 0;
    out += (i == 0 ? "" : i % 32 == 0 ? ",\n  " : ", ") + std::to_string(c);
  }
  return out + "};\n";
}

bool ptxFingerprint(const std::string &ptx, std::string &fingerprint) {
  const std::string head = ".b8 " + std::string(kFingerprintSymbol) + "[";
  size_t at = ptx.find(head);
  if (at == std::string::npos)
    return false;
  at += head.size();
  int64_t count = 0;
  while (at < ptx.size() && ptx[at] >= '0' && ptx[at] <= '9' &&
         count <= kFingerprintCapacity)
    count = count * 10 + (ptx[at++] - '0');
  if (count < 1 || count > kFingerprintCapacity ||
      ptx.compare(at, 5, "] = {") != 0)
    return false;
  at += 5;
  std::string text;
  for (int64_t i = 0; i < count; ++i) {
    while (at < ptx.size() && (ptx[at] == ' ' || ptx[at] == '\n' ||
                               ptx[at] == '\t' || ptx[at] == ','))
      ++at;
    int v = 0, digits = 0;
    while (at < ptx.size() && ptx[at] >= '0' && ptx[at] <= '9' && digits < 4)
      v = v * 10 + (ptx[at++] - '0'), ++digits;
    if (digits == 0 || v > 255)
      return false;
    if (i + 1 < count && v == 0)
      return false;
    if (i + 1 == count && v != 0)
      return false;
    if (v != 0)
      text += static_cast<char>(v);
  }
  fingerprint = text;
  return true;
}

bool manifestIntegrity(const std::string &manifestText, std::string &value,
                       std::string &error) {
  json doc = json::parse(manifestText, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    error = "the manifest is not a JSON object";
    return false;
  }
  doc.erase(kManifestIntegrity);
  const std::string canonical = doc.dump();
  value = toHex16(xxh3(canonical.data(), canonical.size()));
  return true;
}

bool finishManifest(const std::string &dir, std::string &manifestText,
                    std::string &error) {
  json doc = json::parse(manifestText, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains(kManifestFiles) ||
      !doc[kManifestFiles].is_object()) {
    error = "the manifest has no 'files' object";
    return false;
  }
  for (auto it = doc[kManifestFiles].begin(); it != doc[kManifestFiles].end();
       ++it) {
    std::string bytes;
    if (!readRegularFile(dir + "/" + it.key(), kMaxBundleFileBytes, bytes,
                         error))
      return false;
    it.value() = {
        {kManifestFileChecksum, toHex16(xxh3(bytes.data(), bytes.size()))},
        {kManifestFileBytes, static_cast<int64_t>(bytes.size())}};
  }
  std::string value;
  if (!manifestIntegrity(doc.dump(), value, error))
    return false;
  doc[kManifestIntegrity] = value;
  manifestText = doc.dump(2) + "\n";
  return true;
}

} // namespace proteus_rt
