//===- MetricsLog.cpp - metrics.jsonl
//--------------------------------------===//

#include "metrics/MetricsLog.h"

#include "s2s/runtime/Error.h"
#include "support/Json.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace fs = std::filesystem;

namespace s2s::rt {

void MetricsLog::open(const std::string &path, bool append) {
  path_ = path;
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty())
    fs::create_directories(parent, ec);
  if (ec)
    throw Error("cannot create the folder '" + parent.string() +
                "' for the metrics: " + ec.message());
  out_.open(path, append ? std::ios::app : std::ios::trunc);
  if (!out_)
    throw Error("cannot write the metrics file '" + path +
                "': " + std::strerror(errno));
}

void MetricsLog::write(const std::string &jsonObject) {
  if (!out_.is_open())
    return;
  out_ << jsonObject << '\n';
  out_.flush();
  if (!out_)
    throw Error("cannot write the metrics file '" + path_ + "' (disk full?)");
}

std::string truncateMetrics(const std::string &path, int64_t step) {
  std::ifstream in(path);
  if (!in)
    return "";
  std::ostringstream kept;
  std::string line;
  bool dropped = false;
  while (std::getline(in, line)) {
    try {
      Json j = Json::parse(line);
      const Json *s = j.get("step");
      if (s && s->kind == Json::Number && s->number <= double(step)) {
        kept << line << '\n';
        continue;
      }
    } catch (const Error &) {
      // a line cut by a crash
    }
    dropped = dropped || !line.empty();
  }
  in.close();
  if (!dropped)
    return "";
  std::string before = path + ".before-resume-" + std::to_string(step);
  for (int n = 2; fs::exists(before); ++n)
    before = path + ".before-resume-" + std::to_string(step) + "-" +
             std::to_string(n);
  std::error_code ec;
  fs::copy_file(path, before, ec);
  if (ec)
    throw Error("cannot keep the metrics file '" + path + "' as '" + before +
                "' before cutting it back to step " + std::to_string(step) +
                ": " + ec.message());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << kept.str();
    out.flush();
    if (!out)
      throw Error("cannot rewrite the metrics file '" + path + "' (via '" +
                  tmp + "')");
  }
  fs::rename(tmp, path, ec);
  if (ec)
    throw Error("cannot rewrite the metrics file '" + path +
                "': " + ec.message());
  return before;
}

} // namespace s2s::rt
