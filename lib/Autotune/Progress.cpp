//===- Progress.cpp - A progress bar with an ETA --------------------------===//

#include "proteus/Autotune/Progress.h"

#include <algorithm>
#include <unistd.h>

namespace proteus_tune {

std::string formatDuration(double seconds) {
  long s = seconds < 0 ? 0 : static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof(buf), "%lds", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  return buf;
}

Progress::Progress(std::string what, int64_t total, std::FILE *out)
    : Progress(std::move(what), total, out, ::isatty(::fileno(out)) == 1) {}

Progress::Progress(std::string what, int64_t total, std::FILE *out, bool tty)
    : what_(std::move(what)), total_(std::max<int64_t>(total, 1)), out_(out),
      tty_(tty), start_(std::chrono::steady_clock::now()) {}

std::string Progress::render(const std::string &label,
                             double elapsedSeconds) const {
  constexpr int kWidth = 24;
  const double frac = std::min(1.0, double(done_) / double(total_));
  std::string bar(kWidth, ' ');
  int filled = static_cast<int>(frac * kWidth);
  for (int i = 0; i < filled; ++i)
    bar[i] = '=';
  if (filled < kWidth && done_ > 0)
    bar[filled] = '>';
  std::string eta =
      done_ == 0 ? "?"
                 : formatDuration(elapsedSeconds / double(done_) *
                                  double(std::max<int64_t>(total_ - done_, 0)));
  char head[160];
  std::snprintf(head, sizeof(head), "%s [%s] %*lld/%lld %3d%%  %s, ETA %s",
                what_.c_str(), bar.c_str(),
                static_cast<int>(std::to_string(total_).size()),
                static_cast<long long>(done_), static_cast<long long>(total_),
                static_cast<int>(frac * 100.0),
                formatDuration(elapsedSeconds).c_str(), eta.c_str());
  return label.empty() ? std::string(head) : std::string(head) + "  " + label;
}

void Progress::step(const std::string &label, int64_t n) {
  done_ += n;
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
          .count();
  std::string text = render(label, elapsed);
  if (tty_) {
    // Redraw in place; clip so that the line never wraps.
    if (text.size() > 150)
      text.resize(150);
    std::fprintf(out_, "\r\033[K%s", text.c_str());
  } else {
    std::fprintf(out_, "%s\n", text.c_str());
  }
  std::fflush(out_);
}

void Progress::finish(const std::string &summary) {
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
          .count();
  if (tty_)
    std::fprintf(out_, "\n");
  std::fprintf(out_, "%s: %s in %s\n", what_.c_str(), summary.c_str(),
               formatDuration(elapsed).c_str());
  std::fflush(out_);
}

} // namespace proteus_tune
