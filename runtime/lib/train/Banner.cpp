//===- Banner.cpp - What the training program says before it starts -------===//

#include "train/Banner.h"

#include "data/Ring.h"
#include "hdf5/FieldReader.h"
#include "support/Text.h"
#include "train/Options.h"
#include "train/TrainData.h"

#include <cstdio>

namespace s2s::rt {

std::string yearsText(const YearRange &y) {
  if (y.empty())
    return "all years";
  if (y.first == y.last)
    return std::to_string(y.first);
  return std::to_string(y.first) + "-" + std::to_string(y.last);
}

std::string scheduleText(const ScheduleConfig &s) {
  std::string t = rt::name(s.kind);
  if (s.kind == ScheduleKind::Step)
    t += "(every " + std::to_string(s.every) + " epochs, gamma " +
         formatNumber(s.gamma) + ")";
  else if (s.kind == ScheduleKind::Cosine)
    t += "(min_lr " + formatNumber(s.minLr) + ")";
  if (s.warmup > 0)
    t += ", warm-up " + std::to_string(s.warmup) + " steps";
  return t;
}

std::string modelText(const Program &p) {
  return "model '" + p.modelName + "'" +
         (p.specFile.empty() ? std::string() : " (" + p.specFile + ")");
}

namespace {

/// The files of the data set read through HDF5 one read at a time, and
/// why, when there are any.
void printHdf5Note(const DataConfig &dc, const BatchLoader &train) {
  const auto slow = train.hdf5Files();
  if (slow.empty())
    return;
  if (hdf5::hdf5ReadsForced()) {
    std::printf("note: S2S_HDF5_READS is set: every file of data set '%s' "
                "is read through HDF5, one read at a time\n",
                dc.name.c_str());
    return;
  }
  std::string list;
  for (size_t i = 0; i < slow.size() && i < 3; ++i)
    list += std::string(i ? ", " : "") + "'" + slow[i].first + "' (" +
            slow[i].second + ")";
  if (slow.size() > 3)
    list += ", ...";
  std::printf("note: %zu of %zu files of data set '%s' are read through "
              "HDF5, one read at a time: %s; the loader reads float32 "
              "files, uncompressed or deflated, chunked in whole lat-lon "
              "planes, in parallel (s2s-data import writes them)\n",
              slow.size(), train.files().size(), dc.name.c_str(), list.c_str());
}

} // namespace

void printBanner(const Program &p, const Settings &s, const TrainData &data,
                 int64_t parameters, const std::string &parallel) {
  const DataConfig &dc = s.data;
  const TrainConfig &tc = s.train;
  const BatchLoader *valid = data.valid.get();
  const bool ring = ringSplit(dc, Split::Train);
  const std::string from = dc.server.empty()
                               ? std::string()
                               : std::string(ring ? " (the ring of " : " (") +
                                     "data set '" + dc.serverSet +
                                     "' on data server '" + dc.server + "')";
  const std::string memory =
      ring ? "drawn from the ring batch by batch, prefetch " +
                 std::to_string(data.config.prefetch)
           : data.config.describe();
  std::printf("%s: %s, %s parameters; data %s%s: train %lld windows (%s), "
              "valid %lld (%s); grid %s; memory %s\n",
              p.name.c_str(), modelText(p).c_str(),
              withCommas(parameters).c_str(), dc.name.c_str(), from.c_str(),
              (long long)data.windows, yearsText(dc.train).c_str(),
              (long long)(valid ? valid->size() : 0),
              valid ? yearsText(dc.valid).c_str() : "none",
              data.gridText().c_str(), memory.c_str());
  printHdf5Note(dc, *data.train);
  std::printf(
      "%s: %lld epoch%s x %lld steps, batch %lld, %s lr %s, schedule "
      "%s; %s; out %s\n",
      p.name.c_str(), (long long)tc.epochs, tc.epochs == 1 ? "" : "s",
      (long long)data.stepsPerEpoch, (long long)tc.batch,
      rt::name(tc.optimizer.kind), formatNumber(tc.optimizer.lr).c_str(),
      scheduleText(tc.schedule).c_str(), parallel.c_str(), s.out.c_str());
  std::fflush(stdout);
}

} // namespace s2s::rt
