//===- RunFolder.cpp - Who writes a run folder, and whether it can --------===//

#include "train/RunFolder.h"

#include "io/Checkpoint.h"
#include "s2s/runtime/Error.h"
#include "support/Text.h"
#include "train/Options.h"
#include "train/Resume.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/statvfs.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace s2s::rt {

std::string runFolderOf(const std::string &dir, const std::string &ckptSubdir,
                        const std::string &defaultOut) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error("--resume: '" + dir + "' is not a folder");
  const fs::path d = fs::absolute(dir, ec).lexically_normal();
  fs::path ckptDir;
  if (fs::is_regular_file(d / "state.json", ec))
    ckptDir = d.parent_path(); // a ckpt-* folder
  else if (!Checkpointer(d.string(), 0).list().empty())
    ckptDir = d; // a checkpoint folder
  else
    return dir; // a run folder
  const fs::path sub(ckptSubdir);
  if (sub.is_absolute()) {
    if (ckptDir == fs::absolute(sub, ec).lexically_normal())
      return defaultOut;
  } else {
    // ckptDir ends with the spec's relative checkpoint dir: strip it.
    fs::path run = ckptDir;
    bool ok = true;
    const fs::path normal = sub.lexically_normal();
    const std::vector<fs::path> parts(normal.begin(), normal.end());
    for (auto it = parts.rbegin(); ok && it != parts.rend(); ++it) {
      if (it->empty() || *it == ".")
        continue;
      ok = run.filename() == *it;
      run = run.parent_path();
    }
    if (ok)
      return run.string();
  }
  throw UsageError("--resume " + dir +
                   ": cannot tell which run folder this checkpoint belongs "
                   "to (the spec's checkpoint dir is '" +
                   ckptSubdir + "'); give --out DIR for the continued run");
}

std::vector<FileLock> lockRunFolders(const Settings &s) {
  std::vector<FileLock> locks;
  const char *advice = "wait for it to end, or give this run another --out";
  locks.push_back(FileLock::acquire((fs::path(s.out) / ".lock").string(),
                                    "the run folder '" + s.out + "'", advice));
  const fs::path ckpt = fs::absolute(checkpointDir(s)).lexically_normal();
  const fs::path out = fs::absolute(s.out).lexically_normal();
  const fs::path rel = ckpt.lexically_relative(out);
  if (rel.empty() || *rel.begin() == "..")
    locks.push_back(FileLock::acquire(
        (ckpt / ".lock").string(),
        "the checkpoint folder '" + ckpt.string() + "'", advice));
  return locks;
}

int64_t checkpointBytesEstimate(const Settings &s, int64_t parameters,
                                int64_t elementSize) {
  const OptimizerConfig &o = s.train.optimizer;
  const int64_t moments =
      o.kind == OptimizerKind::Sgd ? (o.momentum > 0 ? 1 : 0) : 2;
  return parameters * elementSize * (1 + moments);
}

void checkCheckpointRoom(const Settings &s, int64_t bytes) {
  const std::string dir = checkpointDir(s);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || ::access(dir.c_str(), W_OK) != 0)
    throw Error("the checkpoint folder '" + dir + "' cannot be written: " +
                (ec ? ec.message() : std::string(std::strerror(errno))) +
                "; fix its permissions or give another --out (or the "
                "spec's checkpoint dir)");
  struct statvfs fsInfo;
  if (::statvfs(dir.c_str(), &fsInfo) != 0)
    return; // no figure to check against
  const uint64_t room = uint64_t(fsInfo.f_bavail) * fsInfo.f_frsize;
  const uint64_t need = 2 * uint64_t(bytes);
  if (room < need)
    throw Error("the checkpoint folder '" + dir + "' has " +
                describeBytes(room) + " free, less than two checkpoints (" +
                describeBytes(need) +
                " estimated): the run would fail at its first save; free "
                "room or give another --out (or the spec's checkpoint dir)");
}

} // namespace s2s::rt
