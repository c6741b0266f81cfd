//===- Slice.h - One channel at one time of a data file ---------*- C++ -*-===//
//
// What `s2s-data plot` draws. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PREP_SLICE_H
#define S2S_RUNTIME_PREP_SLICE_H

#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt {

/// One [lat, lon] slice of a data file with the file's /lat and /lon
/// (empty when absent or of another length).
struct FieldSlice {
  std::vector<float> values;
  int64_t nlat = 0, nlon = 0;
  std::vector<double> lat, lon;
};

/// Channel `channel` at time index `t` of dataset `field` of `path`.
/// Throws s2s::rt::Error naming the file, channel or index.
FieldSlice readFieldSlice(const std::string &path, const std::string &field,
                          const std::string &channel, int64_t t);

} // namespace s2s::rt

#endif // S2S_RUNTIME_PREP_SLICE_H
