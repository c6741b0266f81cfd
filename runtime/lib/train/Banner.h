//===- Banner.h - What the training program says before it starts -*- C++
//-*-===//
//
// Two lines (program, model, parameters, data, grid, memory mode; epochs,
// steps, batch, optimizer, schedule, run folder) and a note naming data
// files that are read through HDF5 one read at a time, and why.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_BANNER_H
#define S2S_RUNTIME_TRAIN_BANNER_H

#include "s2s/runtime/Program.h"

#include <cstdint>
#include <string>

namespace s2s::rt {

struct Settings;
struct TrainData;

/// "2000-2007", "2008" or "all years".
std::string yearsText(const YearRange &y);
/// "cosine(min_lr 0.0001), warm-up 3 steps".
std::string scheduleText(const ScheduleConfig &s);
/// "model 'net' (quickstart.s2s)".
std::string modelText(const Program &p);

/// Prints the banner to stdout (and flushes it); `parallel` says how the
/// program trains (the strategy's name()).
void printBanner(const Program &p, const Settings &s, const TrainData &data,
                 int64_t parameters, const std::string &parallel);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_BANNER_H
