//===- FieldReaderTest.cpp - Direct reads against HDF5's own
//---------------===//
//
// Files in every layout a writer may choose (contiguous, chunked whole
// samples, one chunk per channel, chunks over several samples and
// channels with edge chunks, chunks cutting the planes, compressed, big
// endian, float64, a user block, unallocated chunks), values that name
// their own place. Each is read by Dataset::open (the eager path) and by a
// lazy BatchLoader, for a subset of channels out of file order, and must
// equal what H5Dread gives, through FieldReader's own reads and with
// S2S_HDF5_READS=1; the layouts it reads with pread (and inflates) are those
// FileMeta says, and a file cut short under a running lazy loader, or a
// corrupt compressed chunk, is an error naming the file and sample.
//
//===----------------------------------------------------------------------===//

#include "hdf5/FieldReader.h"

#include "TestSupport.h"
#include "data/Dataset.h"
#include "data/Loader.h"
#include "data/Split.h"
#include "hdf5/FileMeta.h"
#include "hdf5/Hdf5.h"
#include "prep/Synth.h"
#include "s2s/runtime/Error.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
namespace rt = s2s::rt;
namespace dd = s2s::rt::data_detail;
namespace h5 = s2s::rt::hdf5;

namespace {

using s2s_test::expectError;
using s2s_test::TempDir;

constexpr int64_t NT = 5, NC = 3, NLAT = 4, NLON = 6;
constexpr int64_t kT0 = 946684800; // 2000-01-01

/// The value at (t, c, y, x) of file `file`: exact in float32.
float valueAt(int file, int64_t t, int64_t c, int64_t y, int64_t x) {
  return float(file * 10000 + t * 1000 + c * 100 + y * 10 + x) * 0.5f;
}

/// How FieldReader reads a layout.
enum class Access { Raw, Inflate, Hdf5 };

struct Layout {
  std::string name;
  std::vector<hsize_t> chunk; ///< empty: contiguous
  bool deflate = false;
  hid_t type = H5T_IEEE_F32LE;
  hsize_t userblock = 0;
  std::vector<int64_t> skip; ///< samples never written (chunked: unallocated)
  Access access = Access::Raw;
  bool shuffle = false; ///< with deflate
};

/// One file of the layout: /fields [NT, NC, NLAT, NLON], /time, channels.
void writeFile(const std::string &path, const Layout &l, int file) {
  hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
  if (l.userblock)
    H5Pset_userblock(fcpl, l.userblock);
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
  H5Pclose(fcpl);
  const hsize_t d[4] = {NT, NC, NLAT, NLON};
  hid_t sp = H5Screate_simple(4, d, nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (!l.chunk.empty()) {
    H5Pset_chunk(dcpl, 4, l.chunk.data());
    if (l.shuffle)
      H5Pset_shuffle(dcpl);
    if (l.deflate)
      H5Pset_deflate(dcpl, 4);
  }
  hid_t ds =
      H5Dcreate2(f, "fields", l.type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  H5Pclose(dcpl);
  std::vector<float> v(size_t(NC * NLAT * NLON));
  for (int64_t t = 0; t < NT; ++t) {
    if (std::find(l.skip.begin(), l.skip.end(), t) != l.skip.end())
      continue;
    for (int64_t c = 0; c < NC; ++c)
      for (int64_t y = 0; y < NLAT; ++y)
        for (int64_t x = 0; x < NLON; ++x)
          v[size_t((c * NLAT + y) * NLON + x)] = valueAt(file, t, c, y, x);
    const hsize_t start[4] = {hsize_t(t), 0, 0, 0};
    const hsize_t count[4] = {1, NC, NLAT, NLON};
    hid_t fs = H5Dget_space(ds);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, count, nullptr);
    hid_t ms = H5Screate_simple(4, count, nullptr);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, v.data());
    H5Sclose(ms);
    H5Sclose(fs);
  }
  h5::writeStringsAttr(ds, "channels", {"a", "b", "c"});
  H5Dclose(ds);
  H5Sclose(sp);
  const hsize_t nt = NT;
  hid_t tsp = H5Screate_simple(1, &nt, nullptr);
  hid_t td = H5Dcreate2(f, "time", H5T_STD_I64LE, tsp, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT);
  std::vector<int64_t> times;
  for (int64_t t = 0; t < NT; ++t)
    times.push_back(kT0 + file * 86400 * 366 + t * 6 * 3600);
  H5Dwrite(td, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, times.data());
  H5Dclose(td);
  H5Sclose(tsp);
  H5Fclose(f);
}

/// What H5Dread gives for the file's sample t, channel c (fill value 0
/// where never written).
std::vector<float> hdf5Plane(const std::string &path, int64_t t, int64_t c) {
  std::vector<float> out(size_t(NLAT * NLON), -1.f);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, "fields", H5P_DEFAULT);
  hid_t fs = H5Dget_space(ds);
  const hsize_t start[4] = {hsize_t(t), hsize_t(c), 0, 0};
  const hsize_t count[4] = {1, 1, NLAT, NLON};
  H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, count, nullptr);
  hid_t ms = H5Screate_simple(4, count, nullptr);
  EXPECT_GE(H5Dread(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out.data()), 0);
  H5Sclose(ms);
  H5Sclose(fs);
  H5Dclose(ds);
  H5Fclose(f);
  return out;
}

std::vector<Layout> layouts() {
  using A = Access;
  const hid_t f32 = H5T_IEEE_F32LE;
  const std::vector<hsize_t> sample = {1, NC, NLAT, NLON};
  std::vector<Layout> l;
  l.push_back({"contiguous", {}, false, f32, 0, {}, A::Raw});
  l.push_back({"sample-chunks", sample, false, f32, 0, {}, A::Raw});
  l.push_back(
      {"channel-chunks", {1, 1, NLAT, NLON}, false, f32, 0, {}, A::Raw});
  // 2 samples x 2 channels a chunk: edge chunks in time (5 = 2+2+1) and
  // channel (3 = 2+1).
  l.push_back({"block-chunks", {2, 2, NLAT, NLON}, false, f32, 0, {}, A::Raw});
  l.push_back({"user-block", {}, false, f32, 512, {}, A::Raw});
  // Chunk addresses and a user block: HDF5 releases disagree, so HDF5.
  l.push_back(
      {"user-block-chunks", {1, 1, NLAT, NLON}, false, f32, 1024, {}, A::Hdf5});
  // Samples 1 and 3 never written: their chunks are not allocated and
  // hold the fill value (0), which only HDF5 knows.
  l.push_back({"unallocated", sample, false, f32, 0, {1, 3}, A::Raw});
  l.push_back({"half-planes", {1, NC, 2, NLON}, false, f32, 0, {}, A::Hdf5});
  l.push_back({"deflate", sample, true, f32, 0, {}, A::Inflate});
  l.push_back({"shuffle-deflate", sample, true, f32, 0, {}, A::Inflate, true});
  l.push_back({"shuffle-deflate-blocks",
               {2, 2, NLAT, NLON},
               true,
               f32,
               0,
               {},
               A::Inflate,
               true});
  l.push_back({"deflate-unallocated",
               {1, 1, NLAT, NLON},
               true,
               f32,
               0,
               {2},
               A::Inflate,
               true});
  l.push_back(
      {"deflate-half-planes", {1, NC, 2, NLON}, true, f32, 0, {}, A::Hdf5});
  l.push_back({"big-endian", {}, false, H5T_IEEE_F32BE, 0, {}, A::Hdf5});
  l.push_back({"float64", sample, false, H5T_IEEE_F64LE, 0, {}, A::Hdf5});
  return l;
}

rt::DataConfig config(const std::string &dir) {
  rt::DataConfig c;
  c.name = "layouts";
  c.pattern = dir + "/*.h5";
  c.channels = {"c", "a"}; // a subset, out of file order
  return c;
}

} // namespace

TEST(FieldReader, EveryLayoutReadsWhatHdf5Reads) {
  for (const Layout &l : layouts()) {
    SCOPED_TRACE(l.name);
    TempDir tmp;
    const std::string dir = tmp / l.name;
    fs::create_directories(dir);
    std::vector<std::string> paths;
    for (int file = 0; file < 2; ++file) {
      paths.push_back(dir + "/" + std::to_string(2000 + file) + ".h5");
      writeFile(paths.back(), l, file);
    }
    const h5::FileMeta meta = h5::readMeta(paths[0], "fields");
    EXPECT_EQ(meta.rawFloat32, l.access == Access::Raw);
    EXPECT_EQ(meta.deflate, l.access == Access::Inflate);
    EXPECT_EQ(meta.userblock, int64_t(l.userblock));
    // Through FieldReader's own reads, then through HDF5 alone.
    for (const char *hdf5Only : {"0", "1"}) {
      SCOPED_TRACE(std::string("S2S_HDF5_READS=") + hdf5Only);
      ::setenv("S2S_HDF5_READS", hdf5Only, 1);

      const rt::DataConfig cfg = config(dir);
      {
        // What the training program's note lists: the files HDF5 reads.
        rt::LoaderConfig lc;
        lc.mode = rt::LoaderConfig::Mode::Lazy;
        auto loader = rt::BatchLoader::open(cfg, rt::Split::Train, 1, 1, lc, 0,
                                            false, false);
        const auto slow = loader->hdf5Files();
        if (l.access == Access::Hdf5 || std::string(hdf5Only) == "1") {
          ASSERT_EQ(slow.size(), 2u);
          EXPECT_EQ(slow[0].first, paths[0]);
          EXPECT_FALSE(slow[0].second.empty());
          if (std::string(hdf5Only) == "1")
            EXPECT_EQ(slow[0].second, "S2S_HDF5_READS is set");
          else
            std::printf("  [hdf5] %s: %s\n", l.name.c_str(),
                        slow[0].second.c_str());
        } else {
          EXPECT_TRUE(slow.empty()) << slow[0].second;
        }
      }
      const rt::Dataset ds = rt::Dataset::open(cfg, rt::Split::Train, 1);
      ASSERT_EQ(ds.size(), 2 * NT);
      rt::LoaderConfig lc;
      lc.mode = rt::LoaderConfig::Mode::Lazy;
      lc.prefetch = 0;
      auto lazy = rt::BatchLoader::open(cfg, rt::Split::Train, 1, 4, lc, 0,
                                        false, false);
      const std::vector<int64_t> chans = {2, 0};
      for (int64_t i = 0; i < 2 * NT; ++i) {
        const int file = int(i / NT);
        const int64_t t = i % NT;
        const torch::Tensor e = ds.batch({i});
        const torch::Tensor z = lazy->fetch({i}).window;
        for (size_t j = 0; j < chans.size(); ++j) {
          const std::vector<float> want =
              hdf5Plane(paths[size_t(file)], t, chans[j]);
          const float *eager =
              e[0][0][int64_t(j)].contiguous().data_ptr<float>();
          const float *lz = z[0][0][int64_t(j)].contiguous().data_ptr<float>();
          for (int64_t p = 0; p < NLAT * NLON; ++p) {
            ASSERT_EQ(eager[p], want[size_t(p)])
                << "eager, sample " << i << " channel " << chans[j] << " at "
                << p;
            ASSERT_EQ(lz[p], want[size_t(p)])
                << "lazy, sample " << i << " channel " << chans[j] << " at "
                << p;
          }
          const bool skipped =
              std::find(l.skip.begin(), l.skip.end(), t) != l.skip.end();
          EXPECT_EQ(want[1], skipped ? 0.f : valueAt(file, t, chans[j], 0, 1));
        }
      }
    }
    ::unsetenv("S2S_HDF5_READS");
  }
}

TEST(FieldReader, HugeDeflatedChunksAreLeftToHdf5) {
  // 17 samples of a 1024x1024 plane a chunk: 68 MiB inflated, over what a
  // reader thread may keep. Nothing written: the layout is what counts.
  TempDir tmp;
  const std::string path = tmp / "big.h5";
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t d[4] = {17, 1, 1024, 1024};
  hid_t sp = H5Screate_simple(4, d, nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 4, d);
  H5Pset_deflate(dcpl, 1);
  hid_t ds = H5Dcreate2(f, "fields", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl,
                        H5P_DEFAULT);
  h5::writeStringsAttr(ds, "channels", {"a"});
  const hsize_t nt = 17;
  hid_t tsp = H5Screate_simple(1, &nt, nullptr);
  hid_t td = H5Dcreate2(f, "time", H5T_STD_I64LE, tsp, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT);
  std::vector<int64_t> times;
  for (int64_t t = 0; t < 17; ++t)
    times.push_back(kT0 + t * 3600);
  H5Dwrite(td, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, times.data());
  H5Dclose(td);
  H5Sclose(tsp);
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Fclose(f);
  const h5::FileMeta m = h5::readMeta(path, "fields");
  EXPECT_FALSE(m.deflate);
  EXPECT_FALSE(m.rawFloat32);
  EXPECT_EQ(m.hdf5Why, "deflated chunks of 68 MiB (over 64 MiB, which the "
                       "loader's threads would each keep)");
}

TEST(FieldReader, ACorruptCompressedChunkIsNamed) {
  TempDir tmp;
  Layout l{"deflate", {1, NC, NLAT, NLON}, true, H5T_IEEE_F32LE, 0,
           {},        Access::Inflate,     true};
  fs::create_directories(tmp / "d");
  const std::string path = tmp / "d/2000.h5";
  writeFile(path, l, 0);
  // Sample 2's chunk: its compressed bytes overwritten in the middle.
  haddr_t addr = 0;
  hsize_t size = 0;
  {
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "fields", H5P_DEFAULT);
    const hsize_t coord[4] = {2, 0, 0, 0};
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info_by_coord(ds, coord, &mask, &addr, &size), 0);
    H5Dclose(ds);
    H5Fclose(f);
  }
  ASSERT_GT(size, 8u);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(addr + size / 2));
    const std::string junk(size / 4, '\x5a');
    f.write(junk.data(), std::streamsize(junk.size()));
  }
  rt::LoaderConfig lc;
  lc.mode = rt::LoaderConfig::Mode::Lazy;
  lc.prefetch = 0;
  auto lazy = rt::BatchLoader::open(config(tmp / "d"), rt::Split::Train, 1, 1,
                                    lc, 0, false, false);
  EXPECT_NO_THROW(lazy->fetch({1}));
  const std::string msg =
      expectError([&] { lazy->fetch({2}); },
                  {"file '" + path + "'", "sample 2", "corrupt"});
  std::printf("  [message] %s\n", msg.c_str());
}

TEST(FieldReader, ParallelReadOfAWholeSplitEqualsOneThread) {
  // Several blocks (a block is 8 MiB: 32 samples of 256 KiB here; 120
  // samples) over 3 parts, read by 1 and by 4 threads, normalised on the
  // way.
  TempDir tmp;
  rt::SynthConfig c;
  c.dir = tmp / "d";
  c.lat = 64;
  c.lon = 128;
  c.channels = {"u", "v", "t", "q", "z", "r", "w", "s"};
  c.firstYear = 2000;
  c.lastYear = 2002;
  c.stepsPerYear = 40;
  rt::synthesize(c);
  rt::DataConfig cfg;
  cfg.pattern = c.dir + "/*.h5";
  cfg.channels = {"q", "u", "t"};
  cfg.normalize = rt::Normalizer::Zscore;
  cfg.stats = c.dir + "/stats.h5";
  const dd::SplitPlan plan = dd::planSplit(cfg, rt::Split::Train, 1);
  ASSERT_EQ(plan.parts.size(), 3u);
  const h5::Normalization norm = dd::loadNormalization(cfg, plan.names);
  const size_t n = size_t(plan.total * plan.frame());
  std::vector<float> one(n), four(n);
  std::atomic<int64_t> bytes1{0}, bytes4{0};
  h5::FieldReader(plan, "fields", &norm, &bytes1).readAll(one.data(), 1);
  h5::FieldReader(plan, "fields", &norm, &bytes4).readAll(four.data(), 4);
  EXPECT_EQ(std::memcmp(one.data(), four.data(), n * sizeof(float)), 0);
  EXPECT_EQ(bytes1.load(), int64_t(n * sizeof(float)));
  EXPECT_EQ(bytes4.load(), bytes1.load());
  // The same bits as Dataset's torch normalisation.
  const rt::Dataset ds = rt::Dataset::open(cfg, rt::Split::Train, 1);
  std::vector<int64_t> all;
  for (int64_t i = 0; i < ds.size(); ++i)
    all.push_back(i);
  const torch::Tensor b = ds.batch(all).contiguous();
  ASSERT_EQ(size_t(b.numel()), n);
  EXPECT_EQ(std::memcmp(b.data_ptr<float>(), four.data(), n * sizeof(float)),
            0);
}

TEST(FieldReader, NaNInTwoSamplesNamesTheEarlier) {
  // NaN in samples 1 and 4; the error names sample 1 (readAll's order of
  // errors across threads is parallelFor's, tested above).
  TempDir tmp;
  Layout l{"contiguous", {}, false, H5T_IEEE_F32LE, 0, {}, Access::Raw};
  fs::create_directories(tmp / "d");
  const std::string path = tmp / "d/2000.h5";
  writeFile(path, l, 0);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, "fields", H5P_DEFAULT);
  for (int64_t t : {1, 4}) {
    hid_t fs = H5Dget_space(ds);
    const hsize_t start[4] = {hsize_t(t), 2, 1, 1}, count[4] = {1, 1, 1, 1};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, count, nullptr);
    hid_t ms = H5Screate_simple(4, count, nullptr);
    const float nan = std::nanf("");
    H5Dwrite(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, &nan);
    H5Sclose(ms);
    H5Sclose(fs);
  }
  H5Dclose(ds);
  H5Fclose(f);
  rt::DataConfig cfg = config(tmp / "d");
  const dd::SplitPlan plan = dd::planSplit(cfg, rt::Split::Train, 1);
  std::vector<float> out(size_t(plan.total * plan.frame()));
  for (int rep = 0; rep < 5; ++rep) {
    expectError([&] { h5::FieldReader(plan, "fields").readAll(out.data(), 4); },
                {"channel 'c' has NaN at time index 1"});
  }
}

TEST(FieldReader, AFileCutShortUnderALazyLoaderIsNamed) {
  TempDir tmp;
  Layout l{"contiguous", {}, false, H5T_IEEE_F32LE, 0, {}, Access::Raw};
  fs::create_directories(tmp / "d");
  for (int file = 0; file < 2; ++file)
    writeFile(tmp / ("d/" + std::to_string(2000 + file) + ".h5"), l, file);
  rt::LoaderConfig lc;
  lc.mode = rt::LoaderConfig::Mode::Lazy;
  lc.prefetch = 0;
  auto lazy = rt::BatchLoader::open(config(tmp / "d"), rt::Split::Train, 1, 2,
                                    lc, 0, false, false);
  EXPECT_NO_THROW(lazy->fetch({NT + 4}));
  // Cut inside the field's data: the metadata read at open still holds,
  // the last samples are gone.
  const std::string cut = tmp / "d/2001.h5";
  const h5::FileMeta meta = h5::readMeta(cut, "fields");
  ASSERT_TRUE(meta.rawFloat32);
  const int64_t end =
      meta.address + (3 * NC * NLAT * NLON) * int64_t(sizeof(float));
  ASSERT_EQ(::truncate(cut.c_str(), off_t(end)), 0);
  const std::string msg =
      expectError([&] { lazy->fetch({NT + 4}); },
                  {"file '" + cut + "'", "sample 4", "truncated"});
  std::printf("  [message] %s\n", msg.c_str());
  EXPECT_NO_THROW(lazy->fetch({1}));
}
