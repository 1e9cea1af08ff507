//===- StagedBundle.h - A bundle folder written aside, then moved -*- C++
//-*-===//
//
// proteus-compile writes a bundle into a temporary folder beside its target
// and moves it into place only once every file is written, so that a failed
// compile leaves no half-written bundle and an existing bundle at the target
// is replaced only on success.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_COMPILE_STAGEDBUNDLE_H
#define PROTEUS_COMPILE_STAGEDBUNDLE_H

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace proteus_compile {

/// A temporary folder `.<name>.tmp-XXXXXX` beside the target, removed with
/// everything in it on destruction unless commit() moved it into place.
class StagedBundle {
public:
  StagedBundle() = default;
  StagedBundle(const StagedBundle &) = delete;
  StagedBundle &operator=(const StagedBundle &) = delete;
  ~StagedBundle();

  /// Checks that `target` may be written (absent, an empty folder, or a
  /// folder holding a bundle's manifest.json) and creates the temporary
  /// folder. False with the reason in `error`; nothing is created then.
  bool create(llvm::StringRef target, std::string &error);

  /// The temporary folder the bundle is written into.
  llvm::StringRef dir() const { return dir_; }

  /// Moves the temporary folder to the target, replacing (atomically where
  /// the filesystem can exchange two folders) what was there.
  bool commit(std::string &error);

private:
  std::string target_;
  llvm::SmallString<128> dir_;
  bool committed_ = false;
};

/// Running out of memory, in LLVM or in our code (InitLLVM routes a failed
/// operator new there too), ends the process with exit code 1 and a message
/// instead of LLVM's abort. A bundle being staged stays in its temporary
/// folder beside -o, never at -o. Call once, after llvm::InitLLVM.
void exitOnOutOfMemory();

} // namespace proteus_compile

#endif // PROTEUS_COMPILE_STAGEDBUNDLE_H
