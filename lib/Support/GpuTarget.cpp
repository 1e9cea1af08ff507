//===- GpuTarget.cpp - The GPU targets the kernels compile for ------------===//
//
// A target outside the list would reach LLVM's NVPTX backend, which aborts
// on names it does not know (sm_75 lacks the bf16 mma.sync the kernels use;
// "" and "sm_90,sm_80" are no target at all), so every entry point checks
// the name here first.
//
//===----------------------------------------------------------------------===//

#include "proteus/Support/GpuTarget.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

using namespace llvm;

namespace {

constexpr StringLiteral kArchs[] = {"sm_80", "sm_86", "sm_89", "sm_90",
                                    "sm_90a"};
/// The oldest PTX ISA (x10) that NVPTX emits each of kArchs with; below it
/// the backend aborts.
constexpr int kMinPtx[] = {70, 71, 78, 78, 80};
constexpr StringLiteral kSassArchs[] = {"sm_90", "sm_90a"};

/// "sm_90a" -> 90 (suffix 'a' in `specific`).
int computeCapability(StringRef arch, bool &specific) {
  specific = arch.consume_back("a");
  int cc = 0;
  arch.consume_front("sm_");
  return arch.getAsInteger(10, cc) ? -1 : cc;
}

} // namespace

ArrayRef<StringLiteral> mlir::proteus::supportedGpuArchs() { return kArchs; }

ArrayRef<StringLiteral> mlir::proteus::sassGpuArchs() { return kSassArchs; }

std::string mlir::proteus::checkGpuArch(StringRef arch) {
  if (is_contained(kArchs, arch))
    return "";
  return "unsupported GPU target '" + arch.str() + "': accepted are " +
         join(supportedGpuArchs(), ", ");
}

std::string mlir::proteus::checkPtxFeatures(StringRef arch,
                                            StringRef features) {
  const auto *it = find(kArchs, arch);
  if (it == std::end(kArchs))
    return checkGpuArch(arch);
  const int minPtx = kMinPtx[it - std::begin(kArchs)];
  SmallVector<StringRef> parts;
  features.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef f : parts) {
    StringRef digits = f.trim();
    int version = 0;
    if (digits.consume_front("+ptx") && !digits.getAsInteger(10, version) &&
        version < minPtx)
      return "PTX ISA " + std::to_string(version / 10) + "." +
             std::to_string(version % 10) + " ('" + f.trim().str() +
             "') is older than the " + std::to_string(minPtx / 10) + "." +
             std::to_string(minPtx % 10) + " that " + arch.str() + " needs";
  }
  return "";
}

bool mlir::proteus::parseGpuArchList(StringRef list,
                                     SmallVectorImpl<std::string> &archs,
                                     std::string &error) {
  SmallVector<StringRef> parts;
  list.split(parts, ',', -1, /*KeepEmpty=*/true);
  for (StringRef part : parts) {
    StringRef arch = part.trim();
    if (std::string why = checkGpuArch(arch); !why.empty()) {
      error = why;
      return false;
    }
    if (is_contained(archs, arch)) {
      error = "GPU target '" + arch.str() + "' is listed twice";
      return false;
    }
    archs.push_back(arch.str());
  }
  return true;
}

std::string mlir::proteus::ptxSourceFor(StringRef sass,
                                        ArrayRef<std::string> ptxArchs) {
  if (is_contained(ptxArchs, sass))
    return sass.str();
  bool sassSpecific = false;
  const int target = computeCapability(sass, sassSpecific);
  std::string best;
  int bestCc = -1;
  for (const std::string &arch : ptxArchs) {
    bool specific = false;
    int cc = computeCapability(arch, specific);
    if (!specific && cc <= target && cc > bestCc) {
      best = arch;
      bestCc = cc;
    }
  }
  return best;
}

std::string mlir::proteus::findPtxas(StringRef option) {
  if (option == "none")
    return "";
  StringRef name = option.empty() ? StringRef("ptxas") : option;
  if (ErrorOr<std::string> found = sys::findProgramByName(name))
    return *found;
  if (!option.empty())
    return option.str(); // runs and fails with its name in the message
  if (sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  return "";
}

bool mlir::proteus::assembleCubin(StringRef ptxas, StringRef arch,
                                  StringRef ptxPath, StringRef cubinPath,
                                  std::string &error) {
  SmallString<128> log;
  if (std::error_code ec =
          sys::fs::createTemporaryFile("proteus-ptxas", "log", log)) {
    error = "cannot create a temporary file: " + ec.message();
    return false;
  }
  std::string archArg = ("-arch=" + arch).str();
  SmallVector<StringRef> args = {ptxas,   archArg, "-O3",
                                 ptxPath, "-o",    cubinPath};
  std::optional<StringRef> redirects[] = {std::nullopt, log.str(), log.str()};
  std::string execError;
  int rc = sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, 0, 0,
                               &execError);
  if (rc != 0) {
    auto text = MemoryBuffer::getFile(log);
    error = "ptxas -arch=" + arch.str() + " " + ptxPath.str() + " failed (" +
            (rc < 0 ? execError : "exit " + std::to_string(rc)) + ")" +
            (text ? ":\n" + (*text)->getBuffer().rtrim().str() : "");
  }
  sys::fs::remove(log);
  return rc == 0;
}
