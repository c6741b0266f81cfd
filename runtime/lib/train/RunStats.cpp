//===- RunStats.cpp - S2S_STATS=1: what each epoch's steps cost -----------===//

#include "train/RunStats.h"

#include "comm/CollectiveBytes.h"
#include "comm/Communicator.h"
#include "dist/Launch.h"
#include "support/Proc.h"
#include "train/StorageCounter.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace s2s::rt {
namespace {

/// The bytes this process passed to write-like calls (sockets included);
/// -1 when /proc/self/io cannot be read.
int64_t writtenBytes() {
  std::ifstream f("/proc/self/io");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("wchar:", 0) == 0)
      return std::atoll(line.c_str() + 6);
  return -1;
}

} // namespace

std::optional<RunStats> RunStats::fromEnvironment() {
  const char *v = std::getenv("S2S_STATS");
  if (!v || !*v || std::strcmp(v, "0") == 0)
    return std::nullopt;
  RunStats s;
  s.rssBeforeModelKb_ = procStatusKb("VmRSS:");
  installStorageCounter();
  return s;
}

RunSample RunStats::sample() const {
  RunSample s;
  s.seconds = std::chrono::duration<double>(
                  std::chrono::steady_clock::now().time_since_epoch())
                  .count();
  const CommStats comm = Communicator::processTotals();
  s.commBytes = comm.bytes;
  s.commCalls = comm.calls;
  s.written = writtenBytes();
  for (int k = 0; k < kCollectives; ++k)
    s.commByKind[k] = collectiveBytes(Collective(k));
  return s;
}

void RunStats::beginStep() {
  stepStart_ = storageBytesNow();
  resetStoragePeak();
}

void RunStats::endStep() {
  const int64_t above = storagePeak() - stepStart_;
  if (stepsSeen_++ == 0) {
    firstStepPeak_ = above;
    return;
  }
  if (above > stepPeak_) {
    stepPeak_ = above;
    peakStart_ = stepStart_;
  }
}

void RunStats::printEpoch(int64_t epoch, int64_t steps,
                          const RunSample &before) {
  const RunSample now = sample();
  const RankInfo ranks = rankInfo();
  std::printf(
      "s2s-stats epoch=%lld rank=%lld size=%lld steps=%lld "
      "seconds=%.6f comm_bytes=%lld comm_calls=%lld "
      "written_bytes=%lld rss_before_model_kb=%ld hwm_kb=%ld "
      "rss_anon_kb=%ld rss_shmem_kb=%ld pss_shmem_kb=%ld "
      "allreduce_bytes=%lld reduce_scatter_bytes=%lld all_gather_bytes=%lld "
      "broadcast_bytes=%lld step_peak_bytes=%lld step_start_bytes=%lld "
      "first_step_peak_bytes=%lld\n",
      (long long)epoch + 1, (long long)ranks.rank, (long long)ranks.worldSize,
      (long long)steps, now.seconds - before.seconds,
      (long long)(now.commBytes - before.commBytes),
      (long long)(now.commCalls - before.commCalls),
      (long long)(before.written < 0 ? -1 : now.written - before.written),
      rssBeforeModelKb_, procStatusKb("VmHWM:"), procStatusKb("RssAnon:"),
      procStatusKb("RssShmem:"), procRollupKb("Pss_Shmem:"),
      (long long)(now.commByKind[0] - before.commByKind[0]),
      (long long)(now.commByKind[1] - before.commByKind[1]),
      (long long)(now.commByKind[2] - before.commByKind[2]),
      (long long)(now.commByKind[3] - before.commByKind[3]),
      (long long)stepPeak_, (long long)peakStart_, (long long)firstStepPeak_);
  std::fflush(stdout);
  stepPeak_ = peakStart_ = firstStepPeak_ = 0;
}

} // namespace s2s::rt
