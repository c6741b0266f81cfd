//===- Push.h - Data files into a data server -------------------*- C++ -*-===//
//
// s2s-data push: the samples of HDF5 data files (the Config.h layout,
// [time, channel, lat, lon] float32) into a data set on a data server
// (store/ServerStore.h), every channel, checked finite as they are read,
// in blocks of about 64 MB pipelined as 8 MB chunks. A time already there
// is replaced (readers see the old sample or the new, whole). Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PREP_PUSH_H
#define S2S_RUNTIME_PREP_PUSH_H

#include "store/ServerStore.h"

#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt {

struct PushSummary {
  int64_t files = 0, samples = 0, bytes = 0;
  int64_t replaced = 0;    ///< index: times replaced; ring: samples dropped
  double readSeconds = 0;  ///< reading the files
  double writeSeconds = 0; ///< sending to the server
};

/// Pushes every sample of `files` (stats files among them skipped) into
/// `store`; the first push sets the data set's channels and grid, later
/// ones must agree (ServerStore::putMeta's error otherwise). Throws Error
/// naming the file on a bad or non-finite one.
/// With ring > 0 the samples go to the set's ring of that capacity
/// (ServerStore::ringAppend, in file and time order) instead of its index.
PushSummary pushFiles(const std::vector<std::string> &files,
                      const std::string &field, ServerStore &store,
                      int64_t ring = 0);

} // namespace s2s::rt

#endif // S2S_RUNTIME_PREP_PUSH_H
