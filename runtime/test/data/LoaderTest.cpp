//===- LoaderTest.cpp - BatchLoader in every memory mode ------------------===//
//
// Real files from synthesize() in build/test-tmp/LoaderTest-<pid>, made once
// per process and removed at the end: a small set (equality of modes,
// sharding, errors), one year and eight years of 32x64 (50 MB of fields:
// bytes read and time to the first batch, prefetch, stream memory).
// The measured figures are printed ("[figures] ...").
//
//===----------------------------------------------------------------------===//

#include "data/Loader.h"
#include "data/Dataset.h"
#include "data/Sampler.h"
#include "prep/Synth.h"
#include "s2s/runtime/Error.h"
#include "support/Proc.h"

#include "ChildProcess.h"
#include "TestData.h"
#include "TestSupport.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

namespace fs = std::filesystem;
namespace rt = s2s::rt;
using rt::BatchLoader;
using rt::DataConfig;
using rt::LoaderConfig;
using Mode = rt::LoaderConfig::Mode;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

using s2s_test::buildDir;
using s2s_test::Child;
using s2s_test::startChild;

/// Removed at the end (S2S_TEST_KEEP=1 keeps it).
const fs::path &root() {
  static const s2s_test::ProgramTempDir dir("LoaderTest");
  return dir.path();
}

std::string synth(const std::string &name, int64_t lat, int64_t lon, int years,
                  int64_t steps) {
  return s2s_test::synthOnce((root() / name).string(), lat, lon, years, steps,
                             5);
}

/// 4 years of 16 samples, 8x16: 56 windows of 3 frames (no window crosses
/// the gap between years).
const std::string &smallSet() {
  static const std::string d = synth("small", 8, 16, 4, 16);
  return d;
}
/// 32x64, 256 samples a year: 6.3 MB of fields per year.
const std::string &oneYear() {
  static const std::string d = synth("one", 32, 64, 1, 256);
  return d;
}
const std::string &eightYears() {
  static const std::string d = synth("eight", 32, 64, 8, 256);
  return d;
}

DataConfig config(const std::string &dir) {
  return s2s_test::zscoreConfig(dir);
}

LoaderConfig mode(Mode m, int64_t prefetch, int64_t threads = 1,
                  bool shared = false) {
  LoaderConfig c;
  c.mode = m;
  c.prefetch = prefetch;
  c.threads = threads;
  c.shared = shared;
  return c;
}

int64_t fieldBytes(const std::string &dir) {
  int64_t total = 0;
  for (const auto &e : fs::directory_iterator(dir)) {
    if (e.path().filename() == "stats.h5")
      continue;
    hid_t f = H5Fopen(e.path().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "fields", H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    total += int64_t(H5Sget_simple_extent_npoints(s)) * 4;
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
  }
  return total;
}

/// Every batch of an epoch.
std::vector<rt::Batch> epoch(BatchLoader &l, int64_t e, int64_t first = 0) {
  std::vector<rt::Batch> out;
  l.startEpoch(e, first);
  while (auto b = l.next())
    out.push_back(std::move(*b));
  return out;
}

std::string describe(const LoaderConfig &c) { return c.describe(); }

} // namespace

//===----------------------------------------------------------------------===//
// Configuration
//===----------------------------------------------------------------------===//

/// A MemoryConfig as the generated program's configure() fills it.
static rt::MemoryConfig memory(Mode mode, bool shared, int64_t prefetch,
                               int64_t buffer = 0, double refresh = 0.25) {
  rt::MemoryConfig m;
  m.mode = mode;
  m.shared = shared;
  m.prefetch = prefetch;
  m.buffer = buffer;
  m.refresh = refresh;
  return m;
}

TEST(LoaderConfig, FromSpecAsTheCompilerWritesIt) {
  LoaderConfig a = LoaderConfig::fromSpec(rt::MemoryConfig());
  EXPECT_EQ(a.mode, Mode::Eager);
  EXPECT_EQ(a.prefetch, 2);
  EXPECT_FALSE(a.shared);
  LoaderConfig b = LoaderConfig::fromSpec(memory(Mode::Lazy, false, 3));
  EXPECT_EQ(b.mode, Mode::Lazy);
  EXPECT_EQ(b.prefetch, 3);
  EXPECT_EQ(b.name(), "lazy");
  LoaderConfig c = LoaderConfig::fromSpec(memory(Mode::Stream, false, 2, 512));
  EXPECT_EQ(c.mode, Mode::Stream);
  EXPECT_EQ(c.buffer, 512);
  EXPECT_DOUBLE_EQ(c.refresh, 0.25);
  EXPECT_EQ(describe(c),
            "stream, buffer 512 samples, refresh 0.25, prefetch 2, 1 thread, "
            "rank 0 of 1");
  LoaderConfig d = LoaderConfig::fromSpec(memory(Mode::Eager, true, 2));
  EXPECT_TRUE(d.shared);
  EXPECT_EQ(d.name(), "shared");
  EXPECT_EQ(describe(b), "lazy, prefetch 3, 1 thread, rank 0 of 1");
}

// The same checks as s2sc's (a spec cannot carry these values), for a
// MemoryConfig built otherwise and the command line's overrides.
TEST(LoaderConfig, BadMemoryArgumentsNameTheArgument) {
  struct Case {
    rt::MemoryConfig memory;
    std::string message;
  } cases[] = {
      {memory(Mode::Eager, false, -1),
       "memory = in_memory(shared = false, lazy = false, prefetch = -1): "
       "prefetch must be an integer >= 0 (batches assembled ahead; 0: none), "
       "got -1"},
      {memory(Mode::Lazy, true, 2),
       "shared = true and lazy = true cannot be combined"},
      {memory(Mode::Stream, false, 2, 0),
       "memory = stream(buffer = 0, prefetch = 2, refresh = 0.25): stream "
       "needs buffer = N >= 1"},
      {memory(Mode::Stream, false, 2, 8, 1.5),
       "refresh must be a number in (0, 1]"},
      {memory(Mode::Stream, false, 2, 8, 0.0),
       "refresh must be a number in (0, 1]"},
      {memory(Mode::Stream, true, 2, 8), "it cannot be shared"},
  };
  for (const Case &c : cases) {
    try {
      LoaderConfig::fromSpec(c.memory);
      ADD_FAILURE() << "no error for " << c.message;
    } catch (const rt::Error &e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(c.message), std::string::npos)
          << "expected: " << c.message << "\ngot: " << m;
    }
  }
}

TEST(LoaderConfig, BadOpenArguments) {
  const DataConfig cfg = config(smallSet());
  auto expectError = [&](const LoaderConfig &lc, int64_t batch,
                         const std::string &needle) {
    try {
      BatchLoader::open(cfg, rt::Split::Train, 3, batch, lc, 0, true, true);
      ADD_FAILURE() << "no error: " << needle;
    } catch (const rt::Error &e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
          << e.what();
    }
  };
  LoaderConfig s = mode(Mode::Stream, 2);
  s.buffer = 4;
  expectError(s, 8, "buffer of 4 samples is smaller than a batch of 8");
  expectError(mode(Mode::Eager, 0), 0, "a batch of 0 windows");
  LoaderConfig r = mode(Mode::Lazy, 0);
  r.rank = 2;
  r.worldSize = 2;
  expectError(r, 4, "rank 2 of 2 processes");
  expectError(mode(Mode::Lazy, 0, 1, true), 4, "works with eager loading only");
  // Dataset's messages, in every mode.
  DataConfig bad = cfg;
  bad.channels = {"u", "w"};
  for (Mode m : {Mode::Eager, Mode::Lazy}) {
    try {
      BatchLoader::open(bad, rt::Split::Train, 3, 4, mode(m, 0), 0, true, true);
      ADD_FAILURE();
    } catch (const rt::Error &e) {
      EXPECT_NE(std::string(e.what()).find("channel 'w' is not in file"),
                std::string::npos)
          << e.what();
    }
  }
}

//===----------------------------------------------------------------------===//
// Every mode gives eager's batches
//===----------------------------------------------------------------------===//

TEST(Loader, EveryModeGivesTheDatasetsBatches) {
  const DataConfig cfg = config(smallSet());
  const rt::Dataset ds = rt::Dataset::open(cfg, rt::Split::Train, 3);
  ASSERT_EQ(ds.size(), 56);
  struct Variant {
    const char *name;
    LoaderConfig lc;
  } variants[] = {
      {"eager", mode(Mode::Eager, 0)},
      {"eager prefetch 2", mode(Mode::Eager, 2, 2)},
      {"lazy", mode(Mode::Lazy, 0)},
      {"lazy prefetch 3, 3 threads", mode(Mode::Lazy, 3, 3)},
      {"shared", mode(Mode::Eager, 0, 1, true)},
      {"shared prefetch 2", mode(Mode::Eager, 2, 2, true)},
  };
  for (const Variant &v : variants) {
    SCOPED_TRACE(v.name);
    for (int64_t world : {1, 3}) {
      for (int64_t rank = 0; rank < world; ++rank) {
        LoaderConfig lc = v.lc;
        lc.rank = rank;
        lc.worldSize = world;
        auto l =
            BatchLoader::open(cfg, rt::Split::Train, 3, 4, lc, 11, true, true);
        EXPECT_EQ(l->size(), 56);
        EXPECT_TRUE(torch::equal(l->mean(), ds.mean()));
        EXPECT_TRUE(torch::equal(l->latitude(), ds.latitude()));
        for (int64_t e : {0, 1}) {
          const std::vector<int64_t> want =
              rt::epochIndices(56, rank, world, 11, e, true, true);
          std::vector<rt::Batch> bs = epoch(*l, e);
          ASSERT_EQ(int64_t(bs.size()), l->batchesPerEpoch());
          ASSERT_EQ(int64_t(bs.size()), int64_t(want.size()) / 4);
          for (size_t i = 0; i < bs.size(); ++i) {
            const std::vector<int64_t> idx(want.begin() + i * 4,
                                           want.begin() + (i + 1) * 4);
            ASSERT_EQ(bs[i].indices, idx) << "batch " << i;
            ASSERT_TRUE(torch::equal(bs[i].window, ds.batch(idx)))
                << "epoch " << e << " batch " << i << " rank " << rank;
            ASSERT_TRUE(torch::equal(bs[i].times, ds.times(idx)));
          }
          // Resume at batch 2: the rest of the same epoch.
          std::vector<rt::Batch> rest = epoch(*l, e, 2);
          ASSERT_EQ(rest.size(), bs.size() - 2);
          for (size_t i = 0; i < rest.size(); ++i)
            ASSERT_TRUE(torch::equal(rest[i].window, bs[i + 2].window));
        }
        // Random access.
        rt::Batch f = l->fetch({55, 0, 7});
        EXPECT_TRUE(torch::equal(f.window, ds.batch({55, 0, 7})));
        EXPECT_THROW(l->fetch({56}), rt::Error);
      }
    }
    // Validation style: in order, the last batch partial.
    auto l =
        BatchLoader::open(cfg, rt::Split::Train, 3, 5, v.lc, 11, false, false);
    std::vector<rt::Batch> bs = epoch(*l, 0);
    ASSERT_EQ(bs.size(), 12u);
    EXPECT_EQ(bs.back().indices, (std::vector<int64_t>{55}));
    for (size_t i = 0; i < bs.size(); ++i) {
      std::vector<int64_t> idx;
      for (int64_t k = int64_t(i) * 5; k < std::min<int64_t>(56, (i + 1) * 5);
           ++k)
        idx.push_back(k);
      ASSERT_EQ(bs[i].indices, idx);
      ASSERT_TRUE(torch::equal(bs[i].window, ds.batch(idx)));
    }
  }
}

TEST(Loader, StopsCleanlyInTheMiddleOfAnEpoch) {
  const DataConfig cfg = config(smallSet());
  for (Mode m : {Mode::Eager, Mode::Lazy}) {
    auto l = BatchLoader::open(cfg, rt::Split::Train, 3, 2, mode(m, 4, 3), 1,
                               true, true);
    for (int e = 0; e < 5; ++e) {
      l->startEpoch(e);
      ASSERT_TRUE(l->next().has_value());
    }
    l->startEpoch(5);
    // Destroyed with workers running.
  }
  // A stream stopped while its buffer is still filling does not wait for
  // the fill (here 2040 windows, 100 MB).
  LoaderConfig s = mode(Mode::Stream, 2, 1);
  s.buffer = 4096;
  auto l = BatchLoader::open(config(eightYears()), rt::Split::Train, 2, 8, s, 1,
                             true, true);
  const auto t0 = Clock::now();
  l->startEpoch(0);
  l->startEpoch(1);
  l.reset();
  const double stopped = since(t0);
  std::printf("[figures] a stream stopped while filling its buffer: %.1f ms\n",
              stopped * 1e3);
  EXPECT_LT(stopped, 0.25);
}

//===----------------------------------------------------------------------===//
// Sharding
//===----------------------------------------------------------------------===//

TEST(Loader, ShardsCoverEveryWindowOnceAcrossRanks) {
  const DataConfig cfg = config(smallSet());
  const int64_t n = 56;
  for (bool dropLast : {false, true}) {
    for (int64_t world = 1; world <= 4; ++world) {
      SCOPED_TRACE("world " + std::to_string(world) +
                   (dropLast ? ", drop last" : ", padded"));
      std::map<int64_t, int> seen;
      std::vector<std::set<int64_t>> perRank(static_cast<size_t>(world));
      for (int64_t rank = 0; rank < world; ++rank) {
        LoaderConfig lc = mode(rank % 2 ? Mode::Lazy : Mode::Eager, 2);
        lc.rank = rank;
        lc.worldSize = world;
        auto l = BatchLoader::open(cfg, rt::Split::Train, 3, 3, lc, 4, true,
                                   dropLast);
        int64_t count = 0;
        for (const rt::Batch &b : epoch(*l, 2))
          for (int64_t i : b.indices) {
            ++seen[i];
            ++count;
            perRank[size_t(rank)].insert(i);
          }
        // Every rank gets the same number (Sampler.h's padding/dropping).
        const int64_t per = rt::samplesPerRank(n, world, dropLast);
        EXPECT_EQ(count, dropLast ? per / 3 * 3 : per);
        EXPECT_EQ(int64_t(perRank[size_t(rank)].size()), count)
            << "a rank sees a window twice";
        // Reproducible.
        auto again = BatchLoader::open(cfg, rt::Split::Train, 3, 3, lc, 4, true,
                                       dropLast);
        std::vector<rt::Batch> a = epoch(*l, 2), b = epoch(*again, 2);
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i)
          EXPECT_EQ(a[i].indices, b[i].indices);
      }
      if (!dropLast) {
        // The union covers every window; exactly once when world divides
        // n, else the (world - n % world) padding windows twice.
        EXPECT_EQ(int64_t(seen.size()), n);
        int twice = 0;
        for (auto &[i, c] : seen) {
          EXPECT_LE(c, 2) << i;
          twice += c == 2;
        }
        EXPECT_EQ(twice, n % world ? world - n % world : 0);
        if (n % world == 0) {
          for (int64_t a = 0; a < world; ++a)
            for (int64_t b = a + 1; b < world; ++b)
              for (int64_t i : perRank[size_t(a)]) {
                EXPECT_EQ(perRank[size_t(b)].count(i), 0u)
                    << "ranks " << a << " and " << b << " share " << i;
              }
        }
      } else {
        // Disjoint: no window twice in the epoch.
        for (auto &[i, c] : seen)
          EXPECT_EQ(c, 1) << i;
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Lazy mode: the first batch reads only its own bytes
//===----------------------------------------------------------------------===//

TEST(Loader, LazyFirstBatchReadsASmallFractionOfTheFiles) {
  const DataConfig cfg = config(eightYears());
  const int64_t total = fieldBytes(eightYears());
  ASSERT_GT(total, 20 << 20);
  const int64_t frame = 3 * 32 * 64 * 4, batch = 8, window = 3;
  for (int64_t prefetch : {0, 2}) {
    auto l = BatchLoader::open(cfg, rt::Split::Train, window, batch,
                               mode(Mode::Lazy, prefetch, 2), 0, true, true);
    EXPECT_EQ(l->stats().bytesRead, 0) << "open reads no field values";
    l->startEpoch(0);
    ASSERT_TRUE(l->next().has_value());
    const int64_t read = l->stats().bytesRead;
    std::printf("[figures] lazy, prefetch %lld: %.3f MB read before the "
                "first batch of %lld windows, of %.1f MB of fields (%.2f%%)\n",
                (long long)prefetch, read / 1e6, (long long)batch, total / 1e6,
                100.0 * double(read) / double(total));
    EXPECT_GT(read, 0);
    EXPECT_LT(double(read), 0.10 * double(total));
    // At most the batches built so far: the first and `prefetch` ahead.
    EXPECT_LE(read, (1 + prefetch) * batch * window * frame);
  }
}

/// Bytes this process has read with read(2)/pread(2) so far (rchar of
/// /proc/self/io): field values, HDF5 metadata, everything.
int64_t bytesReadByProcess() {
  std::ifstream f("/proc/self/io");
  std::string key;
  int64_t v = 0;
  while (f >> key >> v)
    if (key == "rchar:")
      return v;
  return -1;
}

TEST(Loader, LazyStartUpDoesNotGrowWithTheDataSize) {
  // What the process reads from its files (every byte: HDF5's metadata,
  // field values) to open the loader, start the epoch and hand out the
  // first batch of 32 windows, for 1 and for 8 years of data. Lazy: the
  // batch's frames and each file's metadata, whatever the data size;
  // eager: all of it. Timings are printed, not asserted (a shared machine).
  struct Start {
    int64_t bytes;
    double seconds;
  };
  auto firstBatch = [](const std::string &dir, Mode m) {
    const int64_t b0 = bytesReadByProcess();
    const auto t0 = Clock::now();
    auto l = BatchLoader::open(config(dir), rt::Split::Train, 3, 32, mode(m, 0),
                               0, true, true);
    l->startEpoch(0);
    EXPECT_TRUE(l->next().has_value());
    return Start{bytesReadByProcess() - b0, since(t0)};
  };
  const std::string &one = oneYear(), &eight = eightYears();
  ASSERT_GE(bytesReadByProcess(), 0) << "no /proc/self/io";
  const Start lazy1 = firstBatch(one, Mode::Lazy);
  const Start lazy8 = firstBatch(eight, Mode::Lazy);
  const Start eager1 = firstBatch(one, Mode::Eager);
  const Start eager8 = firstBatch(eight, Mode::Eager);
  const int64_t batchBytes = 32 * 3 * 3 * 32 * 64 * 4; // 2.4 MB
  const int64_t extraFields = fieldBytes(eight) - fieldBytes(one);
  std::printf("[figures] read before the first batch of 32 windows: lazy "
              "%.2f MB (1 year, 6.3 MB of fields) vs %.2f MB (8 years, 50 "
              "MB), eager %.1f MB vs %.1f MB; time lazy %.1f vs %.1f ms, "
              "eager %.1f vs %.1f ms\n",
              lazy1.bytes / 1e6, lazy8.bytes / 1e6, eager1.bytes / 1e6,
              eager8.bytes / 1e6, lazy1.seconds * 1e3, lazy8.seconds * 1e3,
              eager1.seconds * 1e3, eager8.seconds * 1e3);
  // Lazy: the batch's frames (at most 96 of them) plus metadata; seven
  // more files add their metadata only (well under 1% of their fields).
  EXPECT_LE(lazy1.bytes, batchBytes + (1 << 20));
  EXPECT_LE(lazy8.bytes, batchBytes + (1 << 20));
  EXPECT_LT(lazy8.bytes - lazy1.bytes, extraFields / 100);
  // Eager reads the fields of every file of the split.
  EXPECT_GE(eager8.bytes - eager1.bytes, extraFields * 9 / 10);
}

//===----------------------------------------------------------------------===//
// Prefetch
//===----------------------------------------------------------------------===//

TEST(Loader, PrefetchHidesTheReadsBehindASlowConsumer) {
  const DataConfig cfg = config(eightYears());
  auto run = [&](int64_t prefetch, double &first, double &rest) {
    auto l = BatchLoader::open(cfg, rt::Split::Train, 3, 16,
                               mode(Mode::Lazy, prefetch, 1), 0, true, true);
    l->startEpoch(0);
    ASSERT_TRUE(l->next().has_value());
    first = l->stats().waitSeconds;
    for (int i = 0; i < 12; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(15)); // a step
      ASSERT_TRUE(l->next().has_value());
    }
    rest = l->stats().waitSeconds - first;
    EXPECT_EQ(l->stats().batches, 13);
  };
  double f0 = 0, r0 = 0, f2 = 0, r2 = 0;
  run(0, f0, r0);
  run(2, f2, r2);
  std::printf("[figures] data wait over 12 batches after the first, 15 ms "
              "per step: prefetch 0: %.1f ms, prefetch 2: %.2f ms (first "
              "batch %.1f / %.1f ms)\n",
              r0 * 1e3, r2 * 1e3, f0 * 1e3, f2 * 1e3);
  EXPECT_GT(r0, 0.0);
  EXPECT_LT(r2, 0.25 * r0);
}

//===----------------------------------------------------------------------===//
// Stream mode
//===----------------------------------------------------------------------===//

/// The child of StreamHoldsTheBufferNotTheData: iterates two epochs of
/// S2S_LOADER_DATA in mode S2S_LOADER_MODE (stream or eager) in a fresh
/// process and prints how much its anonymous memory grew.
TEST(LoaderChild, DISABLED_Memory) {
  const char *dir = std::getenv("S2S_LOADER_DATA");
  const char *how = std::getenv("S2S_LOADER_MODE");
  ASSERT_TRUE(dir && how) << "run through startChild()";
  const bool stream = std::string(how) == "stream";
  LoaderConfig lc = mode(stream ? Mode::Stream : Mode::Eager, 2, 2);
  lc.buffer = 64;
  lc.refresh = 0.5;
  // Anonymous memory (RssAnon): what the process allocated, without the
  // pages of the shared libraries, which grow as new code runs.
  const long rss0 = s2s::rt::procStatusKb("RssAnon:");
  auto l =
      BatchLoader::open(config(dir), rt::Split::Train, 2, 8, lc, 9, true, true);
  long peak = s2s::rt::procStatusKb("RssAnon:");
  int64_t maxResident = 0, batches = 0;
  std::set<int64_t> distinct;
  for (int64_t e = 0; e < 2; ++e) {
    l->startEpoch(e);
    while (auto b = l->next()) {
      ++batches;
      ASSERT_EQ(b->window.sizes(), (std::vector<int64_t>{8, 2, 3, 32, 64}));
      std::set<int64_t> inBatch(b->indices.begin(), b->indices.end());
      ASSERT_EQ(inBatch.size(), 8u) << "a window twice in a batch";
      distinct.insert(b->indices.begin(), b->indices.end());
      maxResident = std::max(maxResident, l->stats().residentSamples);
      peak = std::max(peak, s2s::rt::procStatusKb("RssAnon:"));
    }
  }
  EXPECT_EQ(batches, 2 * (l->size() / 8));
  std::printf("growth_kb=%ld windows=%lld distinct=%zu resident=%lld "
              "read_mb=%.1f\n",
              peak - rss0, (long long)l->size(), distinct.size(),
              (long long)maxResident, l->stats().bytesRead / 1e6);
}

namespace {

/// `key`=value of a child's output.
double field(const std::string &out, const std::string &key) {
  const size_t at = out.find(key + "=");
  return at == std::string::npos ? -1
                                 : std::atof(out.c_str() + at + key.size() + 1);
}

} // namespace

TEST(Loader, StreamHoldsTheBufferNotTheData) {
  // Each run in a fresh process: 2 epochs, windows of 2 frames (49 kB),
  // batches of 8, prefetch 2, 2 threads; stream: a buffer of 64 windows.
  struct Measure {
    double growthMb, windows, distinct, resident, readMb;
  };
  auto start = [](const std::string &dir, const char *how) {
    return startChild(root(), "LoaderChild.DISABLED_Memory",
                      {{"S2S_LOADER_DATA", dir}, {"S2S_LOADER_MODE", how}});
  };
  auto measure = [](Child &c) {
    c.wait();
    EXPECT_EQ(c.status, 0) << c.out;
    return Measure{field(c.out, "growth_kb") / 1024, field(c.out, "windows"),
                   field(c.out, "distinct"), field(c.out, "resident"),
                   field(c.out, "read_mb")};
  };
  const double data8 = fieldBytes(eightYears()) / 1e6;
  const double data1 = fieldBytes(oneYear()) / 1e6;
  // At once: each measures its own memory.
  Child c1 = start(oneYear(), "stream"), c8 = start(eightYears(), "stream"),
        ce = start(eightYears(), "eager");
  const Measure s1 = measure(c1), s8 = measure(c8), e8 = measure(ce);
  const double windowMb = 2 * 3 * 32 * 64 * 4 / 1048576.0;
  // The buffer and a window per reader, 4 batches (2 queued, 1 being built,
  // 1 in use), HDF5's state of each open file (about 0.6 MB, 8 files) and
  // 16 MB for what any mode costs (the first use of HDF5 and LibTorch, the
  // threads' malloc arenas: eager's growth beyond its data).
  const double bound = (64 + 2) * windowMb + 4 * 8 * windowMb + 8 * 0.6 + 16;
  std::printf("[figures] stream (buffer 64 windows = %.1f MB): RssAnon grew "
              "%.1f MB over 1 year (%.1f MB of fields), %.1f MB over 8 years "
              "(%.1f MB; %.0f windows, %.0f distinct drawn, %.1f MB read; at "
              "most %.0f windows resident), bound %.1f MB; eager over 8 "
              "years: %.1f MB\n",
              64 * windowMb, s1.growthMb, data1, s8.growthMb, data8, s8.windows,
              s8.distinct, s8.readMb, s8.resident, bound, e8.growthMb);
  EXPECT_GE(s8.windows, 4 * 64);
  EXPECT_LE(s8.resident, 64 + 2);
  EXPECT_LT(s8.growthMb, bound);
  EXPECT_LT(bound, data8);
  // Eager's memory holds the data (the measurement sees it); the stream's
  // grows from 1 to 8 years by HDF5's state of 7 more open files and the
  // blocks the runtime's allocator keeps for reuse (tuneAllocator), far
  // less than the 44 MB more data.
  EXPECT_GT(e8.growthMb, data8 / 1.048576);
  EXPECT_LT(s8.growthMb - s1.growthMb, 0.35 * (data8 - data1));
  // The refresh brought in far more windows than the buffer holds.
  EXPECT_GT(s8.distinct, 4 * 64);
}

TEST(Loader, StreamBatchesAreTheDatasetsWindows) {
  const DataConfig cfg = config(smallSet());
  const rt::Dataset ds = rt::Dataset::open(cfg, rt::Split::Train, 3);
  LoaderConfig lc = mode(Mode::Stream, 1, 2);
  lc.buffer = 10;
  lc.refresh = 1;
  lc.rank = 1;
  lc.worldSize = 2;
  auto l = BatchLoader::open(cfg, rt::Split::Train, 3, 4, lc, 3, true, true);
  EXPECT_EQ(l->batchesPerEpoch(), 56 / 4 / 2);
  const std::vector<int64_t> mine =
      rt::epochIndices(56, 1, 2, 0, 0, false, false);
  const std::set<int64_t> rankWindows(mine.begin(), mine.end());
  for (const rt::Batch &b : epoch(*l, 0)) {
    EXPECT_TRUE(torch::equal(b.window, ds.batch(b.indices)));
    EXPECT_TRUE(torch::equal(b.times, ds.times(b.indices)));
    for (int64_t i : b.indices)
      EXPECT_TRUE(rankWindows.count(i)) << "window " << i << " is rank 0's";
  }
}

//===----------------------------------------------------------------------===//
// Errors in the workers
//===----------------------------------------------------------------------===//

namespace {

void poke(const std::string &path, int64_t channel, int64_t time, float v) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0) << path;
  hid_t d = H5Dopen2(f, "fields", H5P_DEFAULT);
  hid_t space = H5Dget_space(d);
  hsize_t start[4] = {hsize_t(time), hsize_t(channel), 3, 5};
  hsize_t count[4] = {1, 1, 1, 1};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  hid_t mem = H5Screate_simple(4, count, nullptr);
  ASSERT_GE(H5Dwrite(d, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, &v), 0);
  H5Sclose(mem);
  H5Sclose(space);
  H5Dclose(d);
  H5Fclose(f);
}

std::string copySmall(const std::string &name) {
  const fs::path dir = root() / name;
  fs::remove_all(dir);
  fs::copy(smallSet(), dir);
  return dir.string();
}

} // namespace

TEST(Loader, NanReadByAWorkerSurfacesFromNext) {
  const std::string dir = copySmall("nan");
  const std::string file = dir + "/2001.h5";
  const std::string want =
      "file '" + file + "': channel 't' has NaN at time index 5 (";
  struct Variant {
    const char *name;
    LoaderConfig lc;
  } variants[] = {{"lazy, prefetch 2, 2 threads", mode(Mode::Lazy, 2, 2)},
                  {"lazy, synchronous", mode(Mode::Lazy, 0)},
                  {"stream", mode(Mode::Stream, 2, 2)}};
  variants[2].lc.buffer = 56;
  for (Variant &v : variants) {
    SCOPED_TRACE(v.name);
    auto l = BatchLoader::open(config(dir), rt::Split::Train, 3, 4, v.lc, 0,
                               true, true);
    poke(file, 2, 5, std::nanf("")); // after open: the loader has read nothing
    l->startEpoch(0);
    std::string message;
    int64_t good = 0;
    try {
      while (l->next())
        ++good;
    } catch (const rt::Error &e) {
      message = e.what();
    }
    EXPECT_NE(message.find(want), std::string::npos) << message;
    EXPECT_NE(message.find("fix or drop that sample"), std::string::npos);
    EXPECT_LT(good, l->batchesPerEpoch());
    // And again from the next next(), not a hang or a silent end.
    if (v.lc.prefetch > 0) {
      EXPECT_THROW(l->next(), rt::Error);
    }
    l.reset(); // closes the files
    poke(file, 2, 5, 1.0f);
  }
  // Eager finds it at open, with Dataset's message.
  poke(file, 2, 5, std::nanf(""));
  try {
    BatchLoader::open(config(dir), rt::Split::Train, 3, 4, mode(Mode::Eager, 2),
                      0, true, true);
    ADD_FAILURE() << "no error";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
}
