//===- Progress.h - Training progress on stderr -----------------*- C++ -*-===//
//
// On a terminal: one line redrawn with \r (at most ~10 times a second) with
// a bar, step/total, loss, steps/s and ETA. Otherwise (a log file, a pipe):
// a plain line each time another ~10% of the steps is done.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_METRICS_PROGRESS_H
#define S2S_RUNTIME_METRICS_PROGRESS_H

#include <chrono>
#include <cstdint>
#include <string>

namespace s2s::rt {

class Progress {
public:
  /// `label` starts each line ("epoch 3/10"); `total` steps, of which
  /// `start` are already done (a resumed epoch). `terminal` -1: ask
  /// isatty(stderr).
  Progress(std::string label, int64_t total, int64_t start = 0,
           int terminal = -1);
  /// `done` steps are done; `loss` is what to show.
  void update(int64_t done, double loss);
  /// Ends the line on a terminal.
  void finish();

  static std::string formatDuration(double seconds);

private:
  std::string label_;
  int64_t total_, start_;
  bool tty_;
  int64_t nextDecile_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point t0_, lastDraw_;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_METRICS_PROGRESS_H
