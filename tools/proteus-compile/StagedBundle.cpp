//===- StagedBundle.cpp - A bundle folder written aside, then moved -------===//
//
// The replacement of an existing bundle exchanges the two folders with
// renameat2(RENAME_EXCHANGE) where the filesystem supports it, so a reader
// sees the old bundle or the new one, never a mix; elsewhere the old folder
// is renamed aside first (a short window with no bundle at the target).
//
//===----------------------------------------------------------------------===//

#include "StagedBundle.h"

#include "proteus_rt/contract.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

using namespace llvm;

namespace proteus_compile {
namespace {

std::string errnoText() { return std::strerror(errno); }

/// "" when `target` may be replaced by a bundle, else why not.
std::string unwritableTarget(StringRef target) {
  sys::fs::file_status st;
  if (sys::fs::status(target, st, /*follow=*/false))
    return ""; // absent
  if (!sys::fs::is_directory(st))
    return target.str() + " exists and is not a folder";
  if (sys::fs::exists(target + "/" + proteus_rt::kManifestFile))
    return "";
  std::error_code ec;
  sys::fs::directory_iterator it(target, ec);
  if (ec)
    return "cannot read the folder " + target.str() + ": " + ec.message();
  if (it != sys::fs::directory_iterator())
    return target.str() + " is a folder that holds no bundle (no " +
           proteus_rt::kManifestFile + "): refusing to replace it";
  return "";
}

} // namespace

StagedBundle::~StagedBundle() {
  if (!dir_.empty() && !committed_)
    sys::fs::remove_directories(dir_);
}

bool StagedBundle::create(StringRef target, std::string &error) {
  // Absolute: createUniqueDirectory puts a relative model under the system
  // temporary folder, not beside the target.
  SmallString<128> path(target);
  if (std::error_code ec = sys::fs::make_absolute(path)) {
    error = "cannot resolve -o '" + target.str() + "': " + ec.message();
    return false;
  }
  sys::path::remove_dots(path, /*remove_dot_dot=*/false);
  while (path.size() > 1 && sys::path::is_separator(path.back()))
    path.pop_back();
  target_ = std::string(path);
  if (target_.empty() || sys::path::filename(target_) == "." ||
      sys::path::filename(target_) == "..") {
    error = "-o '" + target.str() + "' does not name a bundle folder";
    return false;
  }
  if (std::string why = unwritableTarget(target_); !why.empty()) {
    error = why;
    return false;
  }
  StringRef parent = sys::path::parent_path(target_);
  if (!parent.empty())
    if (std::error_code ec = sys::fs::create_directories(parent)) {
      error = "cannot create " + parent.str() + ": " + ec.message();
      return false;
    }
  SmallString<128> model(parent);
  sys::path::append(model, "." + sys::path::filename(target_) + ".tmp");
  if (std::error_code ec = sys::fs::createUniqueDirectory(model, dir_)) {
    dir_.clear();
    error = "cannot create a temporary folder beside " + target_ + ": " +
            ec.message();
    return false;
  }
  return true;
}

bool StagedBundle::commit(std::string &error) {
  if (::rename(dir_.c_str(), target_.c_str()) == 0) {
    committed_ = true;
    return true;
  }
  if (errno != EEXIST && errno != ENOTEMPTY) {
    error = "cannot move " + std::string(dir_) + " to " + target_ + ": " +
            errnoText();
    return false;
  }
  // The target holds a bundle (create() checked): swap the two folders, then
  // remove the old one, now at dir_.
  if (::renameat2(AT_FDCWD, dir_.c_str(), AT_FDCWD, target_.c_str(),
                  RENAME_EXCHANGE) == 0) {
    committed_ = true;
    sys::fs::remove_directories(dir_);
    return true;
  }
  SmallString<128> old;
  if (std::error_code ec = sys::fs::createUniqueDirectory(
          sys::path::parent_path(dir_) + "/." + sys::path::filename(target_) +
              ".old",
          old)) {
    error = "cannot replace " + target_ + ": " + ec.message();
    return false;
  }
  sys::fs::remove(old);
  if (::rename(target_.c_str(), old.c_str()) != 0) {
    error = "cannot move the old bundle " + target_ + " aside: " + errnoText();
    return false;
  }
  if (::rename(dir_.c_str(), target_.c_str()) != 0) {
    error = "cannot move " + std::string(dir_) + " to " + target_ + ": " +
            errnoText();
    ::rename(old.c_str(), target_.c_str()); // the old bundle back
    return false;
  }
  committed_ = true;
  sys::fs::remove_directories(old);
  return true;
}

void exitOnOutOfMemory() {
  // The handler allocates nothing: fixed texts, write(2), _exit.
  llvm::install_bad_alloc_error_handler([](void *, const char *reason, bool) {
    static const char head[] = "proteus-compile: out of memory (";
    static const char tail[] = "); nothing was written at -o\n";
    ssize_t ignored = ::write(2, head, sizeof(head) - 1);
    ignored = ::write(2, reason, std::strlen(reason));
    ignored = ::write(2, tail, sizeof(tail) - 1);
    (void)ignored;
    ::_exit(1);
  });
}

} // namespace proteus_compile
