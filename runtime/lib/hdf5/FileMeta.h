//===- FileMeta.h - What a data file holds, read and checked ----*- C++ -*-===//
//
// The layout of the data files (Config.h describes it) as read from one
// file's metadata, without its field values: shape, channels, times,
// coordinates, and how its values can be read (FieldReader.h). Every
// problem throws s2s::rt::Error naming the file and what to do. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_HDF5_FILEMETA_H
#define S2S_RUNTIME_HDF5_FILEMETA_H

#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt::hdf5 {

/// What one data file holds (no field values).
struct FileMeta {
  std::string path;
  bool isStats = false; ///< no field but /mean and /std: a stats file
  std::vector<std::string> channels;
  int64_t nt = 0, nc = 0, nlat = 0, nlon = 0;
  std::vector<int64_t> times;
  std::vector<double> lat, lon; ///< empty when the file has none
  std::string typeName;         ///< float32, float64, ...
  std::vector<int64_t> chunk;   ///< empty: contiguous
  /// Where the field's bytes are, for reads that bypass HDF5
  /// (FieldReader.h): float32 in the machine's byte order, no filters, no
  /// external storage, contiguous (and allocated) or chunked with chunks
  /// spanning whole lat-lon planes.
  bool rawFloat32 = false;
  /// Chunked, float32 in the machine's byte order, chunks spanning whole
  /// lat-lon planes, compressed by HDF5's deflate filter, with its shuffle
  /// filter before it or not and no other: FieldReader inflates the chunks
  /// itself. The filters' places in the pipeline (bits of a chunk's filter
  /// mask); shuffleFilter -1 without shuffle.
  bool deflate = false;
  int deflateFilter = -1, shuffleFilter = -1;
  /// Deflated chunks larger than this (inflated) are left to HDF5.
  static constexpr int64_t kMaxInflatedChunk = int64_t(64) << 20;
  int64_t userblock = 0; ///< bytes before HDF5's own (its addresses count them)
  /// Neither of the above: why HDF5 reads this file ("float64 values").
  std::string hdf5Why;
  int64_t address = -1; ///< contiguous: file offset of the first value
};

/// Reads and checks one file's layout (field rank and type, channels
/// attribute, /time increasing, /lat, /lon).
FileMeta readMeta(const std::string &path, const std::string &field);
/// Globs `pattern`, reads every file's layout, skips stats files, sorts by
/// first time and checks the files agree (grid, channels, coordinates) and
/// that times increase across files.
std::vector<FileMeta> scanFiles(const std::string &pattern,
                                const std::string &field);

} // namespace s2s::rt::hdf5

#endif // S2S_RUNTIME_HDF5_FILEMETA_H
