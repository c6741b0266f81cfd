//===- MetricsLog.h - metrics.jsonl -----------------------------*- C++ -*-===//
//
// One JSON object a line (support/Json.h writes the numbers): "train"
// records every --log-every steps, an "epoch" record with the validation
// scores after each epoch. A resumed run first drops the records past its
// checkpoint, so the file reads as one uninterrupted run (the dropped ones
// are kept in a copy of the file as it was).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_METRICS_METRICSLOG_H
#define S2S_RUNTIME_METRICS_METRICSLOG_H

#include <cstdint>
#include <fstream>
#include <string>

namespace s2s::rt {

/// metrics.jsonl: one JSON object a line, flushed after each line so a crash
/// loses nothing already reported.
class MetricsLog {
public:
  MetricsLog() = default;
  /// Opens `path` (creating its folder); append keeps what is there.
  /// Throws s2s::rt::Error naming the path.
  void open(const std::string &path, bool append);
  void write(const std::string &jsonObject);
  const std::string &path() const { return path_; }

private:
  std::string path_;
  std::ofstream out_;
};

/// For a resume from global step `step`: keeps the records of `path` whose
/// "step" is <= step (and drops unreadable lines, e.g. a line a crash cut),
/// rewriting the file through a temp file + rename. When that drops a
/// record, the file as it was is first kept as
/// `<path>.before-resume-<step>[-N]`, whose name it returns; else "".
std::string truncateMetrics(const std::string &path, int64_t step);

} // namespace s2s::rt

#endif // S2S_RUNTIME_METRICS_METRICSLOG_H
