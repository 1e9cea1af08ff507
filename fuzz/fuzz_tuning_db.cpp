//===- fuzz_tuning_db.cpp - Fuzz target: the tuning database reader -------===//
//
// libFuzzer entry point. Any bytes as a tuning database, a tuning bundle's
// tune.json and a journal line: each is read or refused with an error, never
// a crash, an exception or a leak.
//
//===----------------------------------------------------------------------===//

#include "proteus/Autotune/TuningDb.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

using namespace proteus_tune;

namespace {

/// A private folder for the input file (the readers take paths).
const std::string &scratch() {
  static const std::string dir = [] {
    std::string pattern = "/tmp/proteus-fuzz-tuning-XXXXXX";
    return std::string(::mkdtemp(pattern.data()) ? pattern : "/tmp");
  }();
  return dir;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  const std::string path = scratch() + "/" + kTuningBundleFile;
  if (FILE *f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  std::string error;
  Database db;
  if (Database::load(path, db, error))
    (void)db.find("k", "s", "c", "sm_90", "x");
  TuningBundle bundle;
  (void)TuningBundle::load(scratch(), bundle, error);
  (void)parseJournalLine(text);
  return 0;
}
