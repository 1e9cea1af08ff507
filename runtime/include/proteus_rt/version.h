//===- version.h - The --version line of every Proteus tool ----*- C++ -*-===//
//
// One convention for every tool (proteus-compile, -opt, -run, -tune,
// -tune-measure): `--version` prints "<tool> (Proteus) <prt_version()>" on
// stdout and exits 0. Header-only and free of exceptions, so the LLVM-based
// tools (built with -fno-exceptions) include it too.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_VERSION_H
#define PROTEUS_RT_VERSION_H

#include "proteus_rt/proteus_rt.h"

#include <string>

namespace prt {

/// The --version line of `tool`: "proteus-run (Proteus) 0.1.0".
inline std::string versionLine(const std::string &tool) {
  return tool + " (Proteus) " + prt_version();
}

} // namespace prt

#endif // PROTEUS_RT_VERSION_H
