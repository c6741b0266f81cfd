//===- Push.cpp - Data files into a data server ---------------------------===//
//
// Each file read by hdf5/FieldReader (pread where the layout allows, every
// value checked finite) in blocks, each block put as one pipelined batch.
//
//===----------------------------------------------------------------------===//

#include "prep/Push.h"

#include "hdf5/FieldReader.h"
#include "hdf5/Hdf5.h"
#include "s2s/runtime/Error.h"

#include <algorithm>
#include <chrono>
#include <mutex>

namespace s2s::rt {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}
} // namespace

PushSummary pushFiles(const std::vector<std::string> &files,
                      const std::string &field, ServerStore &store,
                      int64_t ring) {
  PushSummary sum;
  for (const std::string &path : files) {
    hdf5::SampleRuns runs;
    {
      std::lock_guard<std::recursive_mutex> lock(hdf5::hdf5Mutex());
      hdf5::silenceHdf5();
      runs.files.push_back(hdf5::readMeta(path, field));
    }
    const hdf5::FileMeta &m = runs.files.front();
    if (m.isStats)
      continue;
    ServerSetMeta meta;
    meta.channels = m.channels;
    meta.nlat = m.nlat;
    meta.nlon = m.nlon;
    meta.lat = m.lat;
    meta.lon = m.lon;
    store.putMeta(meta); // the ring's samples share the set's layout
    for (int64_t c = 0; c < m.nc; ++c)
      runs.chans.push_back(c);
    runs.parts.push_back({0, 0, m.nt, 0});
    runs.total = m.nt;
    hdf5::FieldReader reader(runs, field);
    const int64_t sampleBytes = meta.sampleBytes();
    const int64_t block =
        std::max<int64_t>(1, (int64_t(64) << 20) / sampleBytes);
    std::vector<float> buf(size_t(std::min(block, m.nt) * sampleBytes / 4));
    for (int64_t t = 0; t < m.nt; t += block) {
      const int64_t n = std::min(block, m.nt - t);
      auto t0 = std::chrono::steady_clock::now();
      reader.read(t, n, buf.data());
      sum.readSeconds += since(t0);
      t0 = std::chrono::steady_clock::now();
      const std::vector<int64_t> times(m.times.begin() + t,
                                       m.times.begin() + t + n);
      const char *bytes = reinterpret_cast<const char *>(buf.data());
      if (ring > 0)
        for (int64_t i = 0; i < n; ++i)
          sum.replaced += store.ringAppend(
              times[size_t(i)], bytes + i * sampleBytes, sampleBytes, ring);
      else
        sum.replaced += store.put(times, bytes, sampleBytes);
      sum.writeSeconds += since(t0);
      sum.samples += n;
      sum.bytes += n * sampleBytes;
    }
    ++sum.files;
  }
  return sum;
}

} // namespace s2s::rt
