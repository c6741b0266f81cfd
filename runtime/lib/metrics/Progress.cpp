//===- Progress.cpp - Training progress on stderr -------------------------===//

#include "metrics/Progress.h"

#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace s2s::rt {

Progress::Progress(std::string label, int64_t total, int64_t start,
                   int terminal)
    : label_(std::move(label)), total_(total), start_(start),
      tty_(terminal < 0 ? ::isatty(STDERR_FILENO) != 0 : terminal != 0) {
  t0_ = lastDraw_ = std::chrono::steady_clock::now();
  // The first plain line at the first multiple of 10% past `start`.
  nextDecile_ = total_ > 0 ? start_ * 10 / total_ + 1 : 11;
}

std::string Progress::formatDuration(double s) {
  if (!std::isfinite(s) || s < 0)
    return "?";
  long t = long(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60,
                  t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

void Progress::update(int64_t done, double loss) {
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - t0_).count();
  double rate = elapsed > 0 ? double(done - start_) / elapsed : 0.0;
  double eta = rate > 0 ? double(total_ - done) / rate : NAN;
  if (tty_) {
    bool last = done >= total_;
    if (!last && std::chrono::duration<double>(now - lastDraw_).count() < 0.1 &&
        drawn_)
      return;
    lastDraw_ = now;
    const int width = 24;
    int fill =
        total_ > 0 ? int(double(width) * double(done) / double(total_)) : width;
    std::string bar(size_t(fill), '#');
    bar.append(size_t(width - fill), '.');
    std::fprintf(stderr,
                 "\r%s [%s] %lld/%lld  loss %.4g  %.1f steps/s  ETA %s\x1b[K",
                 label_.c_str(), bar.c_str(), (long long)done,
                 (long long)total_, loss, rate, formatDuration(eta).c_str());
    std::fflush(stderr);
    drawn_ = true;
    return;
  }
  if (total_ <= 0 || done * 10 < nextDecile_ * total_)
    return;
  while (nextDecile_ * total_ <= done * 10)
    ++nextDecile_;
  std::fprintf(stderr, "%s: step %lld/%lld  loss %.4g  %.1f steps/s  ETA %s\n",
               label_.c_str(), (long long)done, (long long)total_, loss, rate,
               formatDuration(eta).c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_ && drawn_) {
    std::fputc('\n', stderr);
    std::fflush(stderr);
  }
  drawn_ = false;
}

} // namespace s2s::rt
