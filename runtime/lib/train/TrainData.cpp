//===- TrainData.cpp - The training and validation data of a run ----------===//

#include "train/TrainData.h"

#include "train/Strategy.h"

#include "train/Banner.h"

#include <algorithm>
#include <cstdio>

namespace s2s::rt {

std::string TrainData::gridText() const {
  return std::to_string(lat) + "x" + std::to_string(lon) + " with " +
         std::to_string(channels) + " channel" + (channels == 1 ? "" : "s");
}

int64_t validationFrames(const RolloutConfig &r) {
  int64_t n = 1;
  for (int64_t l : r.leads)
    n = std::max(n, l);
  return n + 1;
}

TrainData openData(const Program &p, const Settings &s, const Options &o) {
  const DataConfig &dc = s.data;
  // A window holds the frames the rollout reaches: order + 1, or the
  // largest lead + 1 for lead-time training.
  const int64_t frames = windowFrames(p.rollout);
  const int64_t B = s.train.batch;
  TrainData d;
  LoaderConfig &lc = d.config;
  lc = loaderConfig(dc, o);
  d.ranks = rankInfo();
  // The tensor ranks of one data index (rank / T) read the same windows.
  const int64_t tensor = meshAxisSize(s.parallel, "tensor");
  lc.rank = d.ranks.rank / tensor;
  lc.worldSize = std::max<int64_t>(d.ranks.worldSize / tensor, 1);
  if (B % lc.worldSize != 0)
    throw Error("the global batch " + std::to_string(B) +
                " is not a multiple of the " + std::to_string(lc.worldSize) +
                " processes (" + d.ranks.source +
                "); each process takes batch / processes windows");
  const int64_t local = B / lc.worldSize, n = s.train.accumulate;
  if (local % n != 0)
    throw Error("the batch of each process, " + std::to_string(local) +
                " (global batch " + std::to_string(B) + " over " +
                std::to_string(lc.worldSize) + " process" +
                (lc.worldSize == 1 ? "" : "es") +
                "), is not a multiple of accumulate = " + std::to_string(n) +
                "; each micro-batch takes batch / processes / accumulate "
                "windows");
  d.train = BatchLoader::open(dc, Split::Train, frames, B / lc.worldSize, lc,
                              uint64_t(s.train.seed),
                              /*shuffle=*/true, /*dropLast=*/true);
  BatchLoader &train = *d.train;
  d.channels = int64_t(train.channelNames().size());
  d.lat = train.lat();
  d.lon = train.lon();
  d.firstFile = train.files().empty() ? dc.pattern : train.files().front();
  // Validation: every process validates the whole split, in order; stream
  // mode reads it lazily.
  if (!dc.valid.empty()) {
    LoaderConfig vc = lc;
    if (vc.mode == LoaderConfig::Mode::Stream)
      vc.mode = LoaderConfig::Mode::Lazy;
    vc.rank = 0;
    vc.worldSize = 1;
    d.valid = BatchLoader::open(dc, Split::Valid, validationFrames(p.rollout),
                                B, vc, uint64_t(s.train.seed),
                                /*shuffle=*/false, /*dropLast=*/false);
  }

  d.windows = train.size();
  if (train.batchesPerEpoch() == 0)
    throw Error("the training split (" + yearsText(dc.train) + " of '" +
                dc.pattern + "') has " + std::to_string(d.windows) + " window" +
                (d.windows == 1 ? "" : "s") + " of " + std::to_string(frames) +
                " frames, fewer than one batch of " + std::to_string(B) +
                "; lower --batch or add data");
  d.stepsPerEpoch = o.steps > 0 ? std::min(o.steps, train.batchesPerEpoch())
                                : train.batchesPerEpoch();
  d.totalSteps = s.train.epochs * d.stepsPerEpoch;
  return d;
}

} // namespace s2s::rt
