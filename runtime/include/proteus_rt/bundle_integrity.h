//===- bundle_integrity.h - Bundle fingerprints and safe reads --*- C++ -*-===//
//
// What makes a bundle unable to lie (contract.h, format 2): the fingerprint
// of the configuration and settings a compiled library or PTX module was
// built for, the canonical "integrity" checksum of manifest.json, and the
// bounded read of a regular file that every reader of untrusted files uses.
// Shared by the compiler (which writes bundles) and the runtime (which checks
// them), so that both sides compute each of these one way.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_BUNDLE_INTEGRITY_H
#define PROTEUS_RT_BUNDLE_INTEGRITY_H

#include "proteus_rt/proteus_rt.h"
#include "proteus_rt/schedule.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace proteus_rt {

/// (alpha, density) of each setting, in manifest order.
using SettingList = std::vector<std::pair<double, double>>;

/// Reads the regular file `path` whole into `data`. The file is opened
/// without blocking (a FIFO or a device is refused at once, never read) and
/// checked with fstat on the same descriptor: it must be a regular file of
/// at most `maxBytes` bytes. On failure returns false with `error` saying
/// why (naming the path); never throws.
PRT_API bool readRegularFile(const std::string &path, int64_t maxBytes,
                             std::string &data, std::string &error);

/// The fingerprint text of a library or module compiled for `config` and
/// `settings`: compact JSON {"format_version", "config" (configToJson),
/// "settings" ([[alpha, density], ...]), "setting" (the module's setting, or
/// -1 for the CPU library, which holds them all)}.
PRT_API std::string bundleFingerprint(const Config &config,
                                      const SettingList &settings,
                                      int64_t setting);

/// "" when `fingerprint` (read from a library or module) says it was
/// compiled for `config`, `settings` and `setting`; else what differs,
/// naming the first differing field ("config key 'd_model': compiled for
/// 512, the manifest says 1024").
PRT_API std::string fingerprintMismatch(const std::string &fingerprint,
                                        const Config &config,
                                        const SettingList &settings,
                                        int64_t setting);

/// The PTX module-scope declaration of kFingerprintSymbol holding
/// `fingerprint` (a .visible .global .b8 array with its NUL), appended to
/// each PTX module by the compiler.
PRT_API std::string ptxFingerprintDirective(const std::string &fingerprint);

/// Reads the fingerprint back from a PTX text; false when the PTX declares
/// none or the declaration is malformed.
PRT_API bool ptxFingerprint(const std::string &ptx, std::string &fingerprint);

/// The "integrity" value of a manifest: XXH3-64 (16 hex digits) of the
/// document without its "integrity" key, serialised compactly with sorted
/// keys. False with `error` when `manifestText` is not a JSON object.
PRT_API bool manifestIntegrity(const std::string &manifestText,
                               std::string &value, std::string &error);

/// Completes the manifest of the bundle folder `dir` as a writer leaves it:
/// "files" (an object whose keys are the paths written; values ignored) gets
/// each file's {"xxh3", "bytes"} read back from `dir`, then "integrity" is
/// set. Rewrites `manifestText` (indented); false with `error` on an
/// unreadable file or a malformed document.
PRT_API bool finishManifest(const std::string &dir, std::string &manifestText,
                            std::string &error);

} // namespace proteus_rt

#endif // PROTEUS_RT_BUNDLE_INTEGRITY_H
