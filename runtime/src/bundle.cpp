//===- bundle.cpp - Manifest, checksums and the CPU library --------------===//
//
// A bundle is trusted only after its manifest has been validated key by key
// and every file it lists has the checksum the manifest records.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include "proteus_rt/bundle_integrity.h"
#include "proteus_rt/config_json.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <set>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using nlohmann::json;

namespace proteus_rt {

uint64_t xxh3(const void *data, size_t size) { return XXH3_64bits(data, size); }

std::string toHex16(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, value);
  return buf;
}

bool parseHex16(const std::string &text, uint64_t &value) {
  if (text.size() != 16)
    return false;
  uint64_t v = 0;
  for (char ch : text) {
    int digit;
    if (ch >= '0' && ch <= '9')
      digit = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
      digit = ch - 'a' + 10;
    else
      return false;
    v = (v << 4) | static_cast<uint64_t>(digit);
  }
  value = v;
  return true;
}

std::string readFile(const std::string &path) {
  std::string data, error;
  if (!readRegularFile(path, kMaxBundleFileBytes, data, error))
    fail(PRT_ERR_IO, error);
  return data;
}

bool isRegularFile(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string formatDouble(double value) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  return buf;
}

void copyString(char *dst, size_t capacity, const std::string &src) {
  std::strncpy(dst, src.c_str(), capacity - 1);
  dst[capacity - 1] = '\0';
}

const char *hostArch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

std::string missingCpuFeatures(const std::string &isa) {
  if (isa != kCpuIsaV3)
    return "";
  std::string missing;
#if defined(__x86_64__)
  __builtin_cpu_init();
  const std::pair<bool, const char *> features[] = {
      {__builtin_cpu_supports("avx2"), "avx2"},
      {__builtin_cpu_supports("fma"), "fma"},
      {__builtin_cpu_supports("bmi"), "bmi"},
      {__builtin_cpu_supports("bmi2"), "bmi2"},
      {__builtin_cpu_supports("f16c"), "f16c"},
      {__builtin_cpu_supports("lzcnt"), "lzcnt"},
      {__builtin_cpu_supports("movbe"), "movbe"}};
  for (auto [has, name] : features)
    if (!has)
      missing += std::string(missing.empty() ? "" : ", ") + name;
#else
  missing = "x86-64";
#endif
  return missing;
}

namespace {

/// "sm_90" -> 90 with suffix "", "sm_90a" -> 90 with "a"; false otherwise.
bool parseArch(const std::string &arch, int &cc, std::string &suffix) {
  if (arch.rfind("sm_", 0) != 0)
    return false;
  size_t i = 3;
  int v = 0;
  while (i < arch.size() && arch[i] >= '0' && arch[i] <= '9' && v < 10000)
    v = v * 10 + (arch[i++] - '0');
  if (i == 3)
    return false;
  suffix = arch.substr(i);
  if (!(suffix.empty() || suffix == "a" || suffix == "f"))
    return false;
  cc = v;
  return true;
}

/// A relative path inside the bundle: no absolute path, no "..", no empty
/// component.
bool safeRelativePath(const std::string &p) {
  if (p.empty() || p.front() == '/')
    return false;
  std::stringstream ss(p);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == "." || part == "..")
      return false;
  }
  return p.back() != '/';
}

/// The kernel names of a PTX text: the identifier after each `.entry`
/// directive (PTX identifiers: letters, digits, `_`, `$`, `.`... not `(`).
std::set<std::string> ptxEntries(const std::string &ptx) {
  std::set<std::string> names;
  const std::string directive = ".entry";
  for (size_t at = 0; (at = ptx.find(directive, at)) != std::string::npos;) {
    at += directive.size();
    if (at >= ptx.size() || (ptx[at] != ' ' && ptx[at] != '\t'))
      continue;
    while (at < ptx.size() && (ptx[at] == ' ' || ptx[at] == '\t'))
      ++at;
    size_t end = at;
    while (end < ptx.size() &&
           (std::isalnum(static_cast<unsigned char>(ptx[end])) ||
            ptx[end] == '_' || ptx[end] == '$' || ptx[end] == '.'))
      ++end;
    if (end > at)
      names.insert(ptx.substr(at, end - at));
    at = end;
  }
  return names;
}

/// Refuses a manifest whose "integrity" is absent or not the hash of the
/// rest of the document.
template <typename Bad>
void checkIntegrity(const json &doc, const std::string &text, const Bad &bad) {
  if (!doc.contains(kManifestIntegrity))
    bad(std::string("missing key '") + kManifestIntegrity + "'");
  const json &stored = doc[kManifestIntegrity];
  std::string actual, error;
  if (!manifestIntegrity(text, actual, error))
    bad(error);
  if (!stored.is_string() || stored.get<std::string>() != actual)
    bad(std::string("'") + kManifestIntegrity + "' is " + stored.dump() +
        " but the manifest hashes to \"" + actual +
        "\": manifest.json was edited after proteus-compile wrote it "
        "(recompile the bundle)");
}

/// One "files" entry: {"xxh3": 16 hex digits, "bytes": size}.
template <typename Bad>
Manifest::File parseFileEntry(const std::string &path, const json &v,
                              const Bad &bad) {
  if (!safeRelativePath(path))
    bad("files: '" + path + "' is not a relative path inside the bundle");
  const std::string where = "files: '" + path + "'";
  if (!v.is_object())
    bad(where + " must be an object {\"" + kManifestFileChecksum +
        "\": ..., \"" + kManifestFileBytes + "\": ...}, found " + v.dump());
  Manifest::File f;
  const json sum = v.value(kManifestFileChecksum, json());
  if (!sum.is_string() || !parseHex16(sum.get<std::string>(), f.xxh3))
    bad(where + "." + kManifestFileChecksum +
        " must be 16 lowercase hex digits (XXH3-64), found " + sum.dump());
  const json size = v.value(kManifestFileBytes, json());
  if (!size.is_number_integer() || size.get<int64_t>() < 0 ||
      size.get<int64_t>() > kMaxBundleFileBytes)
    bad(where + "." + kManifestFileBytes + " must be an integer in [0, " +
        std::to_string(kMaxBundleFileBytes) + "], found " + size.dump());
  f.bytes = size.get<int64_t>();
  return f;
}

/// Refuses a file that resolves outside the bundle folder (a symlink out).
void checkInside(const std::string &dir, const OpenFile &file,
                 const std::string &rel) {
  char root[PATH_MAX];
  if (!::realpath(dir.c_str(), root))
    fail(PRT_ERR_BUNDLE, "bundle " + dir + ": cannot resolve the folder: " +
                             std::strerror(errno));
  const std::string prefix = std::string(root) + "/";
  if (file.resolved.compare(0, prefix.size(), prefix) != 0)
    fail(PRT_ERR_BUNDLE,
         "bundle " + dir + ": '" + rel + "' resolves to " +
             (file.resolved.empty() ? "an unknown path" : file.resolved) +
             ", outside the bundle folder " + root +
             " (symlinks out of a bundle are refused)");
}

SettingList settingList(const Manifest &m) {
  SettingList out;
  for (const Setting &s : m.settings)
    out.emplace_back(s.alpha, s.density);
  return out;
}

/// Loads `bytes` (checked already) with dlopen from a sealed memfd, so that
/// the code that runs is the code that was checked. The memfd stays open
/// (returned in `fd`) while the library is loaded.
void *dlopenBytes(const std::string &bytes, const std::string &label, int &fd) {
  fd = ::memfd_create("proteus-kernels", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    fail(PRT_ERR_IO, "memfd_create for " + label + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      fd = -1;
      fail(PRT_ERR_IO, "cannot copy " + label + " to memory: " + why);
    }
    done += static_cast<size_t>(n);
  }
  ::fcntl(fd, F_ADD_SEALS,
          F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  ::dlerror();
  void *handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  const char *why = handle ? nullptr : ::dlerror();
  if (!handle) {
    ::close(fd);
    fd = -1;
  }
  if (!handle)
    fail(PRT_ERR_BUNDLE, "cannot load the CPU library " + label + ": " +
                             (why ? why : "unknown dlopen error"));
  return handle;
}

/// The archs under `prefix` ("ptx/") in the manifest's files, each with the
/// file `fileOf(arch, i)` (prefix + arch + "/s" + i + `ext`) for every
/// setting i and no other; `bad` throws.
template <typename FileOf, typename Bad>
std::vector<std::string>
archsWithEveryFile(const Manifest &m, const std::string &prefix,
                   const std::string &ext, const std::string &kind,
                   FileOf fileOf, Bad bad) {
  std::set<std::string> archs;
  for (const auto &[path, sum] : m.files) {
    if (path.rfind(prefix, 0) != 0)
      continue;
    size_t slash = path.find('/', prefix.size());
    if (slash == std::string::npos || slash == prefix.size())
      bad("files: '" + path + "' is not of the form " + prefix +
          "<arch>/s<setting>" + ext);
    archs.insert(path.substr(prefix.size(), slash - prefix.size()));
  }
  std::vector<std::string> out;
  for (const std::string &arch : archs) {
    if (jitTargetOf(arch) < 0)
      bad("files: " + prefix + arch +
          "/ is not named after an arch (sm_XY or sm_XYa)");
    for (size_t i = 0; i < m.settings.size(); ++i) {
      if (!m.files.count(fileOf(arch, static_cast<int64_t>(i))))
        bad("files: " + kind + " for " + arch + " lacks " +
            fileOf(arch, static_cast<int64_t>(i)) + " (setting " +
            std::to_string(i) + ")");
    }
    out.push_back(arch);
  }
  for (const auto &[path, sum] : m.files) {
    if (path.rfind(prefix, 0) != 0)
      continue;
    bool known = false;
    for (const std::string &arch : out)
      for (size_t i = 0; i < m.settings.size() && !known; ++i)
        known = path == fileOf(arch, static_cast<int64_t>(i));
    if (!known)
      bad("files: '" + path + "' names no setting (the bundle has " +
          std::to_string(m.settings.size()) + ")");
  }
  return out;
}

} // namespace

int jitTargetOf(const std::string &arch) {
  int cc = 0;
  std::string suffix;
  if (!parseArch(arch, cc, suffix) || suffix == "f")
    return -1;
  return suffix == "a" ? cu::kAcceleratedTargetBase + cc : cc;
}

std::string selectPtxArch(const std::vector<std::string> &available, int major,
                          int minor) {
  const int device = major * 10 + minor;
  std::string best;
  int bestCc = -1;
  for (const std::string &a : available) {
    int cc = 0;
    std::string suffix;
    if (!parseArch(a, cc, suffix))
      continue;
    if (cc == device && suffix.empty())
      return a;
    if (cc == device && suffix == "a")
      best = a, bestCc = 1 << 30;
    else if (suffix.empty() && cc < device && cc > bestCc)
      best = a, bestCc = cc;
  }
  return best;
}

std::string selectSassArch(const std::vector<std::string> &available, int major,
                           int minor) {
  const std::string exact = "sm_" + std::to_string(major * 10 + minor);
  for (const char *suffix : {"a", ""})
    if (std::find(available.begin(), available.end(), exact + suffix) !=
        available.end())
      return exact + suffix;
  return "";
}

CubinImage parseCubin(std::string_view cubin) {
  auto bad = [](const std::string &what) {
    fail(PRT_ERR_BUNDLE, "the cubin is not a valid ELF image: " + what);
  };
  Elf64_Ehdr eh;
  if (cubin.size() < sizeof(eh))
    bad("shorter than an ELF header");
  std::memcpy(&eh, cubin.data(), sizeof(eh));
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    bad("no 64-bit little-endian ELF magic");
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > cubin.size() ||
      (cubin.size() - eh.e_shoff) / sizeof(Elf64_Shdr) < eh.e_shnum)
    bad("section headers outside the image");
  auto section = [&](size_t i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, cubin.data() + eh.e_shoff + i * sizeof(sh), sizeof(sh));
    if (sh.sh_type != SHT_NOBITS && (sh.sh_offset > cubin.size() ||
                                     sh.sh_size > cubin.size() - sh.sh_offset))
      bad("section " + std::to_string(i) + " outside the image");
    return sh;
  };
  // The fingerprint: an object in a section with contents, at st_value.
  auto objectText = [&](const Elf64_Sym &sym) {
    if (sym.st_shndx >= eh.e_shnum)
      bad(std::string(kFingerprintSymbol) + " in no section");
    Elf64_Shdr in = section(sym.st_shndx);
    if (in.sh_type == SHT_NOBITS || sym.st_value > in.sh_size ||
        sym.st_size > in.sh_size - sym.st_value)
      bad(std::string(kFingerprintSymbol) + " outside its section");
    std::string_view text =
        cubin.substr(in.sh_offset + sym.st_value, sym.st_size);
    return std::string(text.substr(0, text.find('\0')));
  };
  CubinImage image;
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr symtab = section(i);
    if (symtab.sh_type != SHT_SYMTAB)
      continue;
    if (symtab.sh_link >= eh.e_shnum)
      bad("the symbol table's string table is out of range");
    Elf64_Shdr strtab = section(symtab.sh_link);
    std::string_view strings = cubin.substr(strtab.sh_offset, strtab.sh_size);
    for (size_t off = 0; off + sizeof(Elf64_Sym) <= symtab.sh_size;
         off += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      std::memcpy(&sym, cubin.data() + symtab.sh_offset + off, sizeof(sym));
      const int type = ELF64_ST_TYPE(sym.st_info);
      if ((type != STT_FUNC && type != STT_OBJECT) ||
          ELF64_ST_BIND(sym.st_info) != STB_GLOBAL)
        continue;
      if (sym.st_name >= strings.size())
        bad("a symbol name outside the string table");
      std::string_view rest = strings.substr(sym.st_name);
      std::string_view name = rest.substr(0, rest.find('\0'));
      if (type == STT_FUNC) {
        image.entries.emplace(name);
      } else if (name == kFingerprintSymbol) {
        image.fingerprint = objectText(sym);
        image.hasFingerprint = true;
      }
    }
  }
  return image;
}

Manifest parseManifest(const std::string &text, const std::string &dir) {
  const std::string prefix =
      (dir.empty() ? std::string() : "bundle " + dir + ": ") + kManifestFile +
      ": ";
  auto bad = [&](const std::string &what) {
    fail(PRT_ERR_BUNDLE, prefix + what);
  };
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception &e) {
    bad(std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object())
    bad(std::string("the top level must be an object, found ") +
        doc.type_name());

  Manifest m;
  // Format version first: nothing else can be read in another format.
  if (!doc.contains(kManifestFormatVersion))
    bad(std::string("missing key '") + kManifestFormatVersion + "'");
  const json &fv = doc[kManifestFormatVersion];
  if (!fv.is_number_integer())
    bad(std::string("'") + kManifestFormatVersion +
        "' must be an integer, found " + fv.dump());
  m.formatVersion = fv.get<int64_t>();
  if (m.formatVersion != kBundleFormatVersion)
    bad(std::string("format_version is ") + std::to_string(m.formatVersion) +
        ", this runtime reads format " + std::to_string(kBundleFormatVersion) +
        ": recompile the bundle with this release's proteus-compile");
  checkIntegrity(doc, text, bad);

  // Config.
  if (!doc.contains(kManifestConfig))
    bad(std::string("missing key '") + kManifestConfig + "'");
  const json &cfg = doc[kManifestConfig];
  if (!cfg.is_object())
    bad(std::string("'config' must be an object, found ") + cfg.type_name());
  std::string error;
  if (!parseConfigJson(cfg.dump(), m.config, error))
    bad("config: " + error);
  std::string inconsistent = validateConfig(m.config);
  if (!inconsistent.empty())
    bad("config is inconsistent: " + inconsistent);
  m.configJson = configToJson(m.config);

  // Settings.
  if (!doc.contains(kManifestSettings))
    bad(std::string("missing key '") + kManifestSettings + "'");
  const json &settings = doc[kManifestSettings];
  if (!settings.is_array())
    bad(std::string("'settings' must be an array, found ") +
        settings.type_name());
  if (settings.empty())
    bad("'settings' is empty: a bundle needs at least one (alpha, density)");
  for (size_t i = 0; i < settings.size(); ++i) {
    const json &s = settings[i];
    const std::string where = "settings[" + std::to_string(i) + "]";
    if (!s.is_object())
      bad(where + " must be an object, found " + s.type_name());
    for (const char *key : {kManifestSettingAlpha, kManifestSettingDensity}) {
      if (!s.contains(key))
        bad(where + ": missing key '" + key + "'");
      if (!s[key].is_number())
        bad(where + "." + key + " must be a number, found " + s[key].dump());
    }
    Setting st{s[kManifestSettingAlpha].get<double>(),
               s[kManifestSettingDensity].get<double>()};
    if (!(st.alpha >= 0.0 && st.alpha <= 1.0))
      bad(where + ".alpha = " + formatDouble(st.alpha) + " is outside [0, 1]");
    if (!(st.density > 0.0 && st.density <= 1.0))
      bad(where + ".density = " + formatDouble(st.density) +
          " is outside (0, 1]");
    m.settings.push_back(st);
  }

  // Files.
  if (!doc.contains(kManifestFiles))
    bad(std::string("missing key '") + kManifestFiles + "'");
  const json &files = doc[kManifestFiles];
  if (!files.is_object())
    bad(std::string("'files' must be an object (path -> checksum), found ") +
        files.type_name());
  for (auto it = files.begin(); it != files.end(); ++it)
    m.files[it.key()] = parseFileEntry(it.key(), it.value(), bad);

  if (doc.contains(kManifestCpuTarget)) {
    const json &t = doc[kManifestCpuTarget];
    if (!t.is_string() || t.get<std::string>().empty())
      bad(std::string("'") + kManifestCpuTarget +
          "' must be a non-empty target triple, found " + t.dump());
    m.cpuTarget = t.get<std::string>();
  }

  if (doc.contains(kManifestCpuIsa)) {
    const json &t = doc[kManifestCpuIsa];
    if (!t.is_string() || (t.get<std::string>() != kCpuIsaBaseline &&
                           t.get<std::string>() != kCpuIsaV3))
      bad(std::string("'") + kManifestCpuIsa + "' must be \"" +
          kCpuIsaBaseline + "\" or \"" + kCpuIsaV3 + "\", found " + t.dump());
    m.cpuIsa = t.get<std::string>();
  }

  if (doc.contains(kManifestGpuNote)) {
    const json &n = doc[kManifestGpuNote];
    if (!n.is_string())
      bad(std::string("'") + kManifestGpuNote + "' must be a string, found " +
          n.dump());
    m.gpuNote = n.get<std::string>();
  }
  if (doc.contains(kManifestGpuLayer)) {
    const json &n = doc[kManifestGpuLayer];
    if (!n.is_boolean())
      bad(std::string("'") + kManifestGpuLayer +
          "' must be true or false, found " + n.dump());
    m.gpuLayer = n.get<bool>();
  }

  // What the listed files provide: the CPU library and complete PTX and
  // SASS sets.
  m.hasCpuLibrary = m.files.count(kCpuLibrary) != 0;
  m.ptxArchs = archsWithEveryFile(m, "ptx/", ".ptx", "PTX", ptxFile, bad);
  m.sassArchs =
      archsWithEveryFile(m, "sass/", ".cubin", "SASS", cubinFile, bad);
  if (!m.sassArchs.empty() && m.ptxArchs.empty())
    bad("files: SASS (" + m.sassArchs.front() +
        ") without any PTX for the runtime to fall back on");
  if (!m.hasCpuLibrary && m.ptxArchs.empty())
    bad(std::string("'files' lists neither the CPU library (") + kCpuLibrary +
        ") nor any PTX: nothing to run");

  if (dir.empty())
    return m;
  for (const auto &entry : m.files)
    readBundleFile(dir, m, entry.first);
  return m;
}

Manifest loadManifest(const std::string &dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail(PRT_ERR_BUNDLE, "bundle " + dir + " is not a folder");
  const std::string path = dir + "/" + kManifestFile;
  OpenFile file;
  std::string error, text;
  if (!openRegular(path, kMaxManifestBytes, file, error)) {
    if (file.openErrno == ENOENT)
      fail(PRT_ERR_BUNDLE, "bundle " + dir + " has no " + kManifestFile);
    fail(PRT_ERR_BUNDLE, "bundle " + dir + ": " + error);
  }
  checkInside(dir, file, kManifestFile);
  if (!readOpen(file, path, text, error))
    fail(PRT_ERR_BUNDLE, "bundle " + dir + ": " + error);
  return parseManifest(text, dir);
}

std::string readBundleFile(const std::string &dir, const Manifest &m,
                           const std::string &rel) {
  const Manifest::File &want = m.files.at(rel);
  const std::string path = dir + "/" + rel;
  auto bad = [&](const std::string &what) {
    fail(PRT_ERR_BUNDLE, "bundle " + dir + ": '" + rel + "' " + what);
  };
  OpenFile file;
  std::string error, bytes;
  if (!openRegular(path, kMaxBundleFileBytes, file, error)) {
    if (file.openErrno == ENOENT)
      bad("is listed in manifest.json but " + path + " does not exist");
    bad("cannot be read: " + error);
  }
  checkInside(dir, file, rel);
  if (file.size != want.bytes)
    bad("is " + std::to_string(file.size) + " bytes, manifest.json says " +
        std::to_string(want.bytes));
  if (!readOpen(file, path, bytes, error))
    bad("cannot be read: " + error);
  const uint64_t actual = xxh3(bytes.data(), bytes.size());
  if (actual != want.xxh3)
    bad("has the wrong checksum: manifest.json says " + toHex16(want.xxh3) +
        ", the file's XXH3-64 is " + toHex16(actual));
  return bytes;
}

/// Fails (PRT_ERR_BUNDLE) unless the GPU module `rel` (PTX or cubin) of
/// `setting` declares a fingerprint (`declared`: `fingerprint`) of `m`'s
/// configuration and settings.
static void checkModuleFingerprint(const std::string &dir, const Manifest &m,
                                   const std::string &rel, int64_t setting,
                                   bool declared,
                                   const std::string &fingerprint) {
  if (!declared)
    fail(PRT_ERR_BUNDLE, "bundle " + dir + ": " + rel + " declares no " +
                             kFingerprintSymbol +
                             " (not written by this release's "
                             "proteus-compile: recompile the bundle)");
  std::string why =
      fingerprintMismatch(fingerprint, m.config, settingList(m), setting);
  if (!why.empty())
    fail(PRT_ERR_BUNDLE, "bundle " + dir + ": " + rel +
                             " does not match manifest.json: " + why);
}

std::string readBundlePtx(const std::string &dir, const Manifest &m,
                          const std::string &arch, int64_t setting) {
  const std::string rel = ptxFile(arch, setting);
  std::string ptx = readBundleFile(dir, m, rel);
  std::string fingerprint;
  const bool declared = ptxFingerprint(ptx, fingerprint);
  checkModuleFingerprint(dir, m, rel, setting, declared, fingerprint);
  return ptx;
}

BundleImpl::~BundleImpl() {
  if (cpuHandle_) {
    ::dlclose(cpuHandle_);
    // A library that stays loaded (GNU unique symbols make C++ libraries
    // undeletable) keeps its name, so its memfd, whose number is in that
    // name, stays open: a later library must not be found under it.
    const std::string name = "/proc/self/fd/" + std::to_string(cpuFd_);
    if (void *still = ::dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD)) {
      ::dlclose(still);
      cpuFd_ = -1;
    }
  }
  if (cpuFd_ >= 0)
    ::close(cpuFd_);
}

void *BundleImpl::cpuSymbol(const std::string &entry) {
  std::lock_guard<std::mutex> lock(cpuMutex_);
  if (!cpuHandle_) {
    if (!manifest.hasCpuLibrary)
      fail(PRT_ERR_NOT_FOUND, "bundle " + dir +
                                  " has no CPU library (manifest.json "
                                  "lists no " +
                                  kCpuLibrary + ")");
    if (!manifest.cpuTarget.empty()) {
      const std::string arch =
          manifest.cpuTarget.substr(0, manifest.cpuTarget.find('-'));
      if (arch != hostArch())
        fail(PRT_ERR_UNSUPPORTED,
             "bundle " + dir + ": the CPU library targets " +
                 manifest.cpuTarget + ", this host is " + hostArch());
    }
    if (const std::string missing = missingCpuFeatures(manifest.cpuIsa);
        !missing.empty())
      fail(PRT_ERR_UNSUPPORTED,
           "bundle " + dir + ": the CPU library is compiled for " +
               manifest.cpuIsa + " and this CPU lacks " + missing +
               "; recompile the bundle with proteus-compile --cpu " +
               kCpuIsaBaseline);
    const std::string path = dir + "/" + kCpuLibrary;
    int fd = -1;
    void *handle =
        dlopenBytes(readBundleFile(dir, manifest, kCpuLibrary), path, fd);
    const char *fp =
        static_cast<const char *>(::dlsym(handle, kFingerprintSymbol));
    std::string why =
        !fp ? std::string("it exports no ") + kFingerprintSymbol +
                  " (not written by this release's proteus-compile: "
                  "recompile the bundle)"
        : ::strnlen(fp, kFingerprintCapacity) ==
                static_cast<size_t>(kFingerprintCapacity)
            ? std::string("its fingerprint is not a string")
            : fingerprintMismatch(fp, manifest.config, settingList(manifest),
                                  -1);
    if (!why.empty()) {
      ::dlclose(handle);
      ::close(fd);
      fail(PRT_ERR_BUNDLE, "bundle " + dir + ": the CPU library " +
                               kCpuLibrary +
                               " does not match manifest.json: " + why);
    }
    // Loops of the library run on the runtime's thread pool (contract.h).
    if (void *hook = ::dlsym(handle, kCpuParallelForHook))
      *static_cast<CpuParallelFor *>(hook) = &cpuParallelFor;
    cpuHandle_ = handle;
    cpuFd_ = fd;
  }
  const std::string symbol = std::string(kCInterfacePrefix) + entry;
  ::dlerror();
  void *fn = ::dlsym(cpuHandle_, symbol.c_str());
  if (!fn)
    fail(PRT_ERR_NOT_FOUND,
         "the CPU library of bundle " + dir + " has no symbol " + symbol);
  return fn;
}

bool BundleImpl::loadCubin(int64_t setting, const std::string &sass,
                           GpuModule &gm, std::string &refused) {
  // Checked again (size, checksum): the file is read long after
  // prt_bundle_open verified it.
  const std::string rel = cubinFile(sass, setting);
  const std::string cubin = readBundleFile(dir, manifest, rel);
  CubinImage image;
  try {
    image = parseCubin(cubin);
  } catch (const Error &e) {
    refused = std::string("; the ") + sass + " cubin was refused: " + e.what();
    return false;
  }
  // A cubin the driver would run must say what it was compiled for.
  checkModuleFingerprint(dir, manifest, rel, setting, image.hasFingerprint,
                         image.fingerprint);
  try {
    gm.module = context->loadCubin(cubin, sass);
  } catch (const Error &e) {
    if (e.status != PRT_ERR_CUDA)
      throw;
    refused = std::string("; the ") + sass + " cubin was refused: " + e.what();
    return false;
  }
  gm.entries = std::move(image.entries);
  gm.origin = "SASS for " + sass;
  return true;
}

void BundleImpl::loadGpuModule(int64_t setting, GpuModule &gm) {
  ContextImpl &ctx = *context;
  const int major = ctx.info.cc_major, minor = ctx.info.cc_minor;
  std::string refused;
  if (std::string sass = selectSassArch(manifest.sassArchs, major, minor);
      !sass.empty() && loadCubin(setting, sass, gm, refused))
    return;
  const std::string note =
      manifest.gpuNote.empty() ? "" : " (gpu_note: " + manifest.gpuNote + ")";
  const std::string arch = selectPtxArch(manifest.ptxArchs, major, minor);
  if (arch.empty()) {
    std::string archs;
    for (const std::string &a : manifest.ptxArchs)
      archs += (archs.empty() ? "" : ", ") + a;
    fail(PRT_ERR_UNSUPPORTED,
         "bundle " + dir + " has no PTX for " + ctx.info.arch + " (it has: " +
             (archs.empty() ? "none" : archs) + ")" + note + refused);
  }
  // Read once and checked again (size, checksum, fingerprint).
  const std::string ptx = readBundlePtx(dir, manifest, arch, setting);
  prt_module_info info{};
  gm.module = ctx.loadPtx(ptx, arch, info);
  gm.entries = ptxEntries(ptx);
  static const char *sources[] = {"JIT", "memory cache", "disk cache"};
  gm.origin = "PTX for " + arch + " (" + sources[info.source] + ")" + refused;
}

std::shared_ptr<LoadedModule> BundleImpl::gpuModule(int64_t setting,
                                                    std::string *origin) {
  std::lock_guard<std::mutex> lock(gpuMutex_);
  GpuModule &gm = gpuModules_[setting];
  if (!gm.module)
    loadGpuModule(setting, gm);
  if (origin)
    *origin = gm.origin;
  return gm.module;
}

cu::Function BundleImpl::gpuKernel(int64_t setting, const std::string &name) {
  ContextImpl &ctx = *context;
  std::lock_guard<std::mutex> lock(gpuMutex_);
  GpuModule &gm = gpuModules_[setting];
  if (auto it = gm.kernels.find(name); it != gm.kernels.end())
    return it->second;
  if (!gm.module)
    loadGpuModule(setting, gm);
  auto missing = [&] {
    fail(PRT_ERR_NOT_FOUND, "the module of setting " + std::to_string(setting) +
                                " in bundle " + dir + " (" + gm.origin +
                                ") has no kernel '" + name + "'");
  };
  if (!gm.entries.count(name))
    missing();
  ScopedCuContext scope(ctx);
  cu::Function fn = nullptr;
  cu::Result r =
      ctx.cuda->moduleGetFunction(&fn, gm.module->module, name.c_str());
  if (r == cu::kErrorNotFound)
    missing();
  ctx.check(r, "cuModuleGetFunction");
  gm.kernels[name] = fn;
  return fn;
}

} // namespace proteus_rt
