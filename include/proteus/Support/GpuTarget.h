//===- GpuTarget.h - The GPU targets the kernels compile for ----*- C++ -*-===//
//
// The one check of a GPU target name that every entry point runs before any
// lowering (proteus-compile --arch, proteus-tune --arch and the chip option
// of -proteus-lower-to-nvvm), and the ptxas that assembles a target's PTX
// into SASS (a cubin) for a bundle.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_SUPPORT_GPUTARGET_H
#define PROTEUS_SUPPORT_GPUTARGET_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir::proteus {

/// The GPU targets the attention kernels compile for, in order: sm_80,
/// sm_86, sm_89, sm_90, sm_90a. Every kernel uses mma.sync and instructions
/// of sm_80, so every target gets the same kernels.
llvm::ArrayRef<llvm::StringLiteral> supportedGpuArchs();

/// "" when `arch` is one of supportedGpuArchs(), else a message that names
/// it and lists what is accepted.
std::string checkGpuArch(llvm::StringRef arch);

/// "" when the PTX features `features` ("+ptx80") can be emitted for the
/// supported target `arch`, else why not (a PTX ISA older than the target's).
std::string checkPtxFeatures(llvm::StringRef arch, llvm::StringRef features);

/// Parses a comma-separated list of targets: each one checked, none empty,
/// none twice. False with the message of the first that is not accepted.
bool parseGpuArchList(llvm::StringRef list,
                      llvm::SmallVectorImpl<std::string> &archs,
                      std::string &error);

/// The targets a bundle carries SASS for when ptxas is at hand: sm_90 and
/// sm_90a (the cards the kernels are tuned on), so that a process on them
/// loads its modules without a JIT.
llvm::ArrayRef<llvm::StringLiteral> sassGpuArchs();

/// The PTX target a cubin for `sass` is assembled from, among `ptxArchs`:
/// `sass` itself, else the newest target of the same major version below it
/// without an arch-specific suffix (ptxas assembles sm_90 PTX for sm_90a).
/// "" when none fits.
std::string ptxSourceFor(llvm::StringRef sass,
                         llvm::ArrayRef<std::string> ptxArchs);

/// The ptxas to run: `option` when given (a path, or a name looked up on
/// PATH; "none": none), else ptxas on PATH, else /usr/local/cuda/bin/ptxas;
/// "" when there is none.
std::string findPtxas(llvm::StringRef option);

/// Assembles the PTX file `ptxPath` for `arch` into `cubinPath` with ptxas
/// at -O3. False with ptxas's exit status and log in `error`.
bool assembleCubin(llvm::StringRef ptxas, llvm::StringRef arch,
                   llvm::StringRef ptxPath, llvm::StringRef cubinPath,
                   std::string &error);

} // namespace mlir::proteus

#endif // PROTEUS_SUPPORT_GPUTARGET_H
