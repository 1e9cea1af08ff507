//===- jit_cache.cpp - Time the first module load of a process ------------===//
//
// Loads every PTX file named on the command line once, in a fresh process,
// through proteus_rt, and prints how long each load took and where the module
// came from (JIT or the on-disk cache). Run it twice with the same
// PROTEUS_CACHE_DIR: the second process's loads should come from the disk.
//
//   jit_cache FILE.ptx [FILE.ptx ...]
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/proteus_rt.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: jit_cache FILE.ptx [FILE.ptx ...]\n");
    return 2;
  }
  prt_context_options options;
  prt_context_options_init(&options);
  options.backend = PRT_BACKEND_GPU;
  prt_context *ctx = nullptr;
  if (prt_context_create(&ctx, &options) != PRT_OK) {
    std::fprintf(stderr, "jit_cache: %s\n", prt_last_error());
    return 1;
  }
  static const char *sources[] = {"jit", "memory cache", "disk cache"};
  int failures = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::string ptx = text.str();
    if (!in || ptx.empty()) {
      std::fprintf(stderr, "jit_cache: cannot read %s\n", argv[i]);
      ++failures;
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    prt_module *module = nullptr;
    prt_status st = prt_module_load_ptx(
        ctx, ptx.data(), static_cast<int64_t>(ptx.size()), nullptr, &module);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    if (st != PRT_OK) {
      std::fprintf(stderr, "jit_cache: %s: %s\n", argv[i], prt_last_error());
      ++failures;
      continue;
    }
    prt_module_info info;
    prt_module_get_info(module, &info);
    std::printf("%-40s %9.2f ms  %s%s%s\n", argv[i], ms, sources[info.source],
                info.cache_note[0] ? "  note: " : "", info.cache_note);
    prt_module_unload(module);
  }
  prt_context_destroy(ctx);
  return failures ? 1 : 0;
}
