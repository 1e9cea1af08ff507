//===- test_util.h - Helpers shared by the runtime's unit tests -*- C++ -*-===//
//
// Temporary folders, and bundles written on the fly around the test doubles
// with correct (or deliberately wrong) manifests.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_TEST_UTIL_H
#define PROTEUS_RT_TEST_UTIL_H

#include "internal.h"

#include "proteus_rt/bundle_integrity.h"
#include "proteus_rt/config_json.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <elf.h>
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
  std::vector<std::string> sassArchs;         ///< fingerprinted fakeCubin({})
  std::string cpuTarget;
};

/// `call` returns `status` and prt_last_error() contains `part`.
#define EXPECT_STATUS(call, status, part)                                      \
  do {                                                                         \
    prt_status got_ = (call);                                                  \
    EXPECT_EQ(got_, status)                                                    \
        << prt_status_name(got_) << ": " << prt_last_error();                  \
    EXPECT_NE(std::string(prt_last_error()).find(part), std::string::npos)     \
        << "message: " << prt_last_error();                                    \
  } while (0)

/// `call` returns PRT_OK; otherwise prints the status and the message.
#define ASSERT_OK(call)                                                        \
  do {                                                                         \
    prt_status got_ = (call);                                                  \
    ASSERT_EQ(got_, PRT_OK)                                                    \
        << #call << ": " << prt_status_name(got_) << ": " << prt_last_error(); \
  } while (0)

/// `text` (a std::string) contains `part`; otherwise prints `text`.
#define EXPECT_HAS(text, part)                                                 \
  EXPECT_NE((text).find(part), std::string::npos) << (text)

/// The placeholder the test double's kFingerprintSymbol holds until a test
/// writes the fingerprint of its bundle over it (patchFingerprint).
inline constexpr const char *kFingerprintPlaceholder =
    "PROTEUS-TESTDOUBLE-FINGERPRINT-PLACEHOLDER";

/// The fingerprint of `spec`'s config (as given when it does not parse) and
/// settings, for `setting` (-1: the CPU library).
inline std::string fingerprintOf(const BundleSpec &spec, int64_t setting) {
  Config config;
  std::string error;
  if (parseConfigJson(spec.config.dump(), config, error))
    return bundleFingerprint(config, spec.settings, setting);
  return nlohmann::json{{"format_version", kBundleFormatVersion},
                        {"config", spec.config},
                        {"settings", spec.settings},
                        {"setting", setting}}
      .dump();
}

/// Writes `fingerprint` over the test double's placeholder in the library
/// `path` (as the compiler bakes it into the libraries it emits).
inline void patchFingerprint(const std::string &path,
                             const std::string &fingerprint) {
  std::string lib = readFile(path);
  size_t at = lib.find(kFingerprintPlaceholder);
  if (at == std::string::npos ||
      fingerprint.size() >= static_cast<size_t>(kFingerprintCapacity))
    throw std::runtime_error("cannot patch the fingerprint of " + path);
  std::string field(kFingerprintCapacity, '\0');
  field.replace(0, fingerprint.size(), fingerprint);
  lib.replace(at, field.size(), field);
  writeFile(path, lib);
}

/// Sets "integrity" as the compiler does (after any edit a test makes).
inline void seal(nlohmann::json &m) {
  std::string value, error;
  if (manifestIntegrity(m.dump(), value, error))
    m[kManifestIntegrity] = value;
}

/// An ELF image laid out as ptxas writes a cubin, as far as the runtime and
/// the fake driver read one: a global function symbol per kernel, each with
/// a .nv.info.<kernel> section of `params` EIATTR_KPARAM_INFO attributes,
/// and, unless `fingerprint` is empty, kFingerprintSymbol holding it in
/// .nv.global.init.
inline std::string fakeCubin(const std::vector<std::string> &kernels,
                             int params = 0,
                             const std::string &fingerprint = "") {
  std::string shstr(1, '\0'), str(1, '\0'), syms(sizeof(Elf64_Sym), '\0');
  std::vector<std::pair<size_t, std::string>> infos; // name offset, bytes
  const size_t shstrName = shstr.size();
  shstr += std::string(".shstrtab") + '\0';
  const size_t strName = shstr.size();
  shstr += std::string(".strtab") + '\0';
  const size_t symName = shstr.size();
  shstr += std::string(".symtab") + '\0';
  for (const std::string &k : kernels) {
    Elf64_Sym sym{};
    sym.st_name = static_cast<uint32_t>(str.size());
    sym.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
    sym.st_other = 0x10; // STO_CUDA_ENTRY
    str += k + '\0';
    syms.append(reinterpret_cast<const char *>(&sym), sizeof(sym));
    std::string info;
    for (int p = 0; p < params; ++p)
      info += std::string("\x04\x17\x0c\x00", 4) + std::string(12, '\0');
    infos.emplace_back(shstr.size(), info);
    shstr += ".nv.info." + k + '\0';
  }
  if (!fingerprint.empty()) {
    Elf64_Sym sym{};
    sym.st_name = static_cast<uint32_t>(str.size());
    sym.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
    sym.st_shndx = static_cast<uint16_t>(4 + infos.size());
    sym.st_size = fingerprint.size() + 1;
    str += std::string(kFingerprintSymbol) + '\0';
    syms.append(reinterpret_cast<const char *>(&sym), sizeof(sym));
    infos.emplace_back(shstr.size(), fingerprint + '\0');
    shstr += std::string(".nv.global.init") + '\0';
  }
  std::string body = shstr + str + syms;
  for (const auto &[name, bytes] : infos)
    body += bytes;
  std::vector<Elf64_Shdr> sh(4 + infos.size());
  size_t at = sizeof(Elf64_Ehdr);
  auto place = [&](Elf64_Shdr &s, size_t name, uint32_t type, size_t size) {
    s.sh_name = static_cast<uint32_t>(name);
    s.sh_type = type;
    s.sh_offset = at;
    s.sh_size = size;
    at += size;
  };
  place(sh[1], shstrName, SHT_STRTAB, shstr.size());
  place(sh[2], strName, SHT_STRTAB, str.size());
  place(sh[3], symName, SHT_SYMTAB, syms.size());
  sh[3].sh_link = 2;
  sh[3].sh_entsize = sizeof(Elf64_Sym);
  for (size_t i = 0; i < infos.size(); ++i)
    place(sh[4 + i], infos[i].first,
          !fingerprint.empty() && i + 1 == infos.size() ? SHT_PROGBITS
                                                        : SHT_LOPROC,
          infos[i].second.size());
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = 190; // EM_CUDA
  eh.e_version = EV_CURRENT;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_shoff = at;
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = static_cast<uint16_t>(sh.size());
  eh.e_shstrndx = 1;
  std::string image(reinterpret_cast<const char *>(&eh), sizeof(eh));
  image += body;
  image.append(reinterpret_cast<const char *>(sh.data()),
               sh.size() * sizeof(Elf64_Shdr));
  return image;
}

/// The manifest for the files already in `dir`, with their true checksums
/// and sizes, sealed.
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
      m["files"][rel] = {{"xxh3", checksumOf(entry.path().string())},
                         {"bytes", fs::file_size(entry.path())}};
  }
  if (!spec.cpuTarget.empty())
    m["cpu_target"] = spec.cpuTarget;
  seal(m);
  return m;
}

/// Writes `m`, sealed (so that a test's edit reaches the check it aims at).
inline void writeManifest(const std::string &dir, nlohmann::json m) {
  seal(m);
  writeFile(dir + "/" + kManifestFile, m.dump(2));
}

/// Dummy PTX text for setting `setting` of `spec`, with its fingerprint.
inline std::string dummyPtx(const std::string &arch, const BundleSpec &spec,
                            int64_t setting) {
  return "// dummy PTX for " + arch + "\n" +
         ptxFingerprintDirective(fingerprintOf(spec, setting));
}

/// Writes a complete, valid bundle into `dir`.
inline void makeBundle(const std::string &dir, const BundleSpec &spec = {}) {
  if (!spec.cpuLibrary.empty()) {
    fs::create_directories(dir + "/cpu");
    fs::copy_file(spec.cpuLibrary, dir + "/" + kCpuLibrary,
                  fs::copy_options::overwrite_existing);
    if (readFile(dir + "/" + kCpuLibrary).find(kFingerprintPlaceholder) !=
        std::string::npos)
      patchFingerprint(dir + "/" + kCpuLibrary, fingerprintOf(spec, -1));
  }
  for (const std::string &arch : spec.ptxArchs)
    for (size_t i = 0; i < spec.settings.size(); ++i)
      writeFile(dir + "/" + ptxFile(arch, static_cast<int64_t>(i)),
                dummyPtx(arch, spec, static_cast<int64_t>(i)));
  for (const std::string &arch : spec.sassArchs)
    for (size_t i = 0; i < spec.settings.size(); ++i)
      writeFile(dir + "/" + cubinFile(arch, static_cast<int64_t>(i)),
                fakeCubin({}, 0, fingerprintOf(spec, static_cast<int64_t>(i))));
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
