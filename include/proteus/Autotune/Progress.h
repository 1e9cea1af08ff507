//===- Progress.h - A progress bar with an ETA ------------------*- C++ -*-===//
//
// What proteus-tune's two steps show while they work: on a terminal one bar
// redrawn in place, elsewhere (logs, the device tool) one plain line per step.
// Plain C++: the measuring side links no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_AUTOTUNE_PROGRESS_H
#define PROTEUS_AUTOTUNE_PROGRESS_H

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace proteus_tune {

/// "12s", "3m05s", "1h02m".
std::string formatDuration(double seconds);

class Progress {
public:
  /// `total` steps of `what` written to `out`; `tty`: redraw one line (the
  /// default: whether `out` is a terminal).
  Progress(std::string what, int64_t total, std::FILE *out = stderr);
  Progress(std::string what, int64_t total, std::FILE *out, bool tty);

  /// `n` more steps are done; `label` says what the last one was.
  void step(const std::string &label, int64_t n = 1);
  /// Ends the bar (a newline on a terminal) with a summary line.
  void finish(const std::string &summary);

  /// The text of the current state, e.g.
  /// "measure [=====>      ]  42/120  35%  1m10s, ETA 2m10s  <label>".
  std::string render(const std::string &label, double elapsedSeconds) const;
  int64_t done() const { return done_; }

private:
  std::string what_;
  int64_t total_, done_ = 0;
  std::FILE *out_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

} // namespace proteus_tune

#endif // PROTEUS_AUTOTUNE_PROGRESS_H
