//===- Samples.h - Blocks of samples through HDF5, checked finite -*- C++
//-*-===//
//
// Torch-free. The HDF5 path of FieldReader.h and what s2s-data stats and
// inspect stream through.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_HDF5_SAMPLES_H
#define S2S_RUNTIME_HDF5_SAMPLES_H

#include "hdf5/FileMeta.h"

#include <hdf5.h>

#include <cstdint>
#include <vector>

namespace s2s::rt::hdf5 {

/// Reads samples [t0, t0 + n) of channels `chans` (indices into the file's
/// channels, in the order wanted) as float32 into `out`
/// ([n, chans.size(), lat, lon], row major) and checks every value is
/// finite (else an Error naming the file, channel and time index) unless
/// `checkFinite` is false.
void readSamples(const FileMeta &meta, hid_t dataset, int64_t t0, int64_t n,
                 const std::vector<int64_t> &chans, float *out,
                 bool checkFinite = true);

/// Throws the Error naming file, channel and time index for the first
/// non-finite or absurdly large (|x| >= 2^99) value of `data`, which holds
/// samples [t0, t0 + n) of channels `chans` of `meta`'s file ([n, chans.size(),
/// lat, lon], row major).
void checkFinite(const FileMeta &meta, int64_t t0, int64_t n,
                 const std::vector<int64_t> &chans, const float *data);

} // namespace s2s::rt::hdf5

#endif // S2S_RUNTIME_HDF5_SAMPLES_H
