//===- fuzz_manifest.cpp - Fuzz target: manifest reader, fingerprints -----===//
//
// libFuzzer entry point. Any text goes through the manifest reader and
// bundle validator (without the file checks), the integrity hash and the
// PTX fingerprint reader: each either accepts it or throws the runtime's
// Error; nothing else may escape, crash or leak.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include "proteus_rt/bundle_integrity.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

using namespace proteus_rt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  std::string value, error, fingerprint;
  (void)manifestIntegrity(text, value, error);
  if (ptxFingerprint(text, fingerprint))
    (void)fingerprintMismatch(fingerprint, Config{}, {{0.0, 1.0}}, 0);
  // As given (mostly stopped by the integrity check), then sealed, so that
  // mutations reach the validator behind it.
  try {
    (void)parseManifest(text, "");
  } catch (const Error &) {
  }
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object() || !manifestIntegrity(text, value, error))
    return 0;
  doc[kManifestIntegrity] = value;
  try {
    Manifest m = parseManifest(doc.dump(), "");
    (void)selectPtxArch(m.ptxArchs, 9, 0);
    SettingList settings;
    for (const Setting &s : m.settings)
      settings.emplace_back(s.alpha, s.density);
    if (fingerprintMismatch(bundleFingerprint(m.config, settings, -1), m.config,
                            settings, -1) != "")
      __builtin_trap();
  } catch (const Error &) {
  }
  return 0;
}
