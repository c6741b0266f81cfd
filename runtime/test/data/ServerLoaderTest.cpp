//===- ServerLoaderTest.cpp - The server(...) source against the files ----===//
//
// One real redis-server for the program (store/RedisServer.h), the small
// synthetic data set pushed into it (prep/Push.h); the loaders reading it
// must give the batches the same loaders give from the files, bit for bit,
// and reader processes (this binary re-run as ranks 0..n-1) read disjoint
// shares that together are the epoch.
//
//===----------------------------------------------------------------------===//

#include "data/Dataset.h"
#include "data/Loader.h"
#include "data/Ring.h"
#include "prep/Push.h"
#include "store/RedisServer.h"
#include "store/ServerStore.h"
#include "support/Hash.h"

#include "ChildProcess.h"
#include "TestData.h"
#include "TestSupport.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
namespace rt = s2s::rt;
using rt::BatchLoader;
using rt::LoaderConfig;
using Mode = rt::LoaderConfig::Mode;

namespace {

const char *kPassword = "server-loader-test";

struct ServerData {
  std::string dir;     ///< the files
  std::string address; ///< the server holding them as "small"
  std::unique_ptr<rt::RedisServer> server;
};

/// The data set and the server, made on first use (the children only
/// read the address from their environment).
ServerData &serverData() {
  static s2s_test::ProgramTempDir tmp("SrvLoad");
  static ServerData d = [] {
    ServerData s;
    s.dir = s2s_test::synthOnce((tmp.path() / "d").string(), 8, 16, 4, 16, 3);
    rt::RedisServerConfig c;
    c.dir = (tmp.path() / "r").string();
    c.password = kPassword;
    s.server = std::make_unique<rt::RedisServer>(c);
    s.address = s.server->address();
    rt::RedisClient::Options o;
    o.password = kPassword;
    rt::RedisClient client(s.address, o);
    rt::ServerStore store(client, "small");
    std::vector<std::string> files;
    for (int y = 2000; y <= 2003; ++y)
      files.push_back(s.dir + "/" + std::to_string(y) + ".h5");
    rt::pushFiles(files, "fields", store);
    return s;
  }();
  ::setenv("S2S_REDIS_PASSWORD", kPassword, 1);
  return d;
}

rt::DataConfig filesConfig(const std::string &dir) {
  rt::DataConfig c = s2s_test::config(dir);
  c.normalize = rt::Normalizer::Zscore;
  c.stats = dir + "/stats.h5";
  return c;
}

rt::DataConfig serverConfig(const std::string &dir,
                            const std::string &address) {
  rt::DataConfig c = filesConfig(dir);
  c.pattern.clear();
  c.server = address;
  c.serverSet = "small";
  return c;
}

LoaderConfig loaderConfig(Mode m, int64_t threads, int64_t rank = 0,
                          int64_t world = 1) {
  LoaderConfig lc;
  lc.mode = m;
  lc.prefetch = 2;
  lc.threads = threads;
  lc.rank = rank;
  lc.worldSize = world;
  return lc;
}

uint64_t hashOf(const torch::Tensor &t) {
  torch::Tensor c = t.contiguous();
  rt::Fnv1a h;
  h.bytes(c.data_ptr<float>(), size_t(c.numel()) * sizeof(float));
  return h.value();
}

} // namespace

// Eager (the parallel load) and lazy (reader threads), all channels and a
// subset in another order: the files' batches, bit for bit.
TEST(ServerLoader, SameBatchesAsTheFiles) {
  ServerData &d = serverData();
  for (Mode m : {Mode::Eager, Mode::Lazy})
    for (std::vector<std::string> channels :
         {std::vector<std::string>{"u", "v", "t"},
          std::vector<std::string>{"t", "u"}}) {
      rt::DataConfig fc = filesConfig(d.dir),
                     sc = serverConfig(d.dir, d.address);
      fc.channels = sc.channels = channels;
      auto files = BatchLoader::open(fc, rt::Split::Train, 3, 4,
                                     loaderConfig(m, 2), 11, true, true);
      auto served = BatchLoader::open(sc, rt::Split::Train, 3, 4,
                                      loaderConfig(m, 2), 11, true, true);
      ASSERT_EQ(served->size(), files->size());
      ASSERT_EQ(served->channelNames(), channels);
      EXPECT_TRUE(torch::equal(served->latitude(), files->latitude()));
      EXPECT_TRUE(served->hdf5Files().empty());
      files->startEpoch(1);
      served->startEpoch(1);
      int64_t n = 0;
      while (auto a = files->next()) {
        auto b = served->next();
        ASSERT_TRUE(b.has_value());
        EXPECT_EQ(a->indices, b->indices);
        EXPECT_TRUE(torch::equal(a->times, b->times));
        ASSERT_TRUE(torch::equal(a->window, b->window))
            << LoaderConfig::modeName(m) << " batch " << n;
        ++n;
      }
      EXPECT_FALSE(served->next().has_value());
      EXPECT_GT(n, 5);
      EXPECT_GT(served->stats().bytesRead, 0);
    }
}

TEST(ServerLoader, NoSuchDataSetSaysPushIt) {
  ServerData &d = serverData();
  rt::DataConfig c = serverConfig(d.dir, d.address);
  c.serverSet = "nothing";
  s2s_test::expectError(
      [&] {
        BatchLoader::open(c, rt::Split::Train, 3, 4,
                          loaderConfig(Mode::Lazy, 1), 0, true, true);
      },
      {"data set 'nothing' on data server '" + d.address + "'",
       "holds no samples", "s2s-data push"});
}

/// A reader rank (run by ReaderProcessesReadDisjointShares): rank
/// S2S_TEST_RANK of S2S_TEST_WORLD reads epoch 0 lazily from the server at
/// S2S_TEST_ADDRESS and prints "window INDEX HASH" for each window.
TEST(ServerLoaderChild, DISABLED_Rank) {
  const char *dir = std::getenv("S2S_TEST_DATA");
  const char *address = std::getenv("S2S_TEST_ADDRESS");
  const char *rank = std::getenv("S2S_TEST_RANK");
  const char *world = std::getenv("S2S_TEST_WORLD");
  ASSERT_TRUE(dir && address && rank && world) << "run through startChild()";
  auto l = BatchLoader::open(
      serverConfig(dir, address), rt::Split::Train, 3, 2,
      loaderConfig(Mode::Lazy, 2, std::atoll(rank), std::atoll(world)), 5, true,
      true);
  l->startEpoch(0);
  while (auto b = l->next())
    for (size_t j = 0; j < b->indices.size(); ++j)
      std::printf("window %lld %llu\n", (long long)b->indices[j],
                  (unsigned long long)hashOf(b->window[int64_t(j)]));
}

// 2 and 4 reader processes: each window of the epoch read by exactly one
// rank (dropLast: the epoch's tail beyond a multiple of the ranks'
// batches is dropped), its bytes those of the files' window.
TEST(ServerLoader, ReaderProcessesReadDisjointShares) {
  ServerData &d = serverData();
  auto files = BatchLoader::open(filesConfig(d.dir), rt::Split::Train, 3, 2,
                                 loaderConfig(Mode::Eager, 1), 5, true, true);
  for (int64_t world : {2, 4}) {
    std::vector<s2s_test::Child> kids;
    for (int64_t r = 0; r < world; ++r)
      kids.push_back(s2s_test::startChild(
          fs::path(d.dir).parent_path(), "ServerLoaderChild.DISABLED_Rank",
          {{"S2S_TEST_DATA", d.dir},
           {"S2S_TEST_ADDRESS", d.address},
           {"S2S_TEST_RANK", std::to_string(r)},
           {"S2S_TEST_WORLD", std::to_string(world)}}));
    std::map<int64_t, int64_t> owner;
    int64_t windows = 0;
    for (int64_t r = 0; r < world; ++r) {
      s2s_test::Child &k = kids[size_t(r)].wait();
      ASSERT_EQ(k.status, 0) << k.out;
      std::istringstream in(k.out);
      std::string word;
      while (in >> word)
        if (word == "window") {
          long long i = 0;
          unsigned long long h = 0;
          in >> i >> h;
          ++windows;
          EXPECT_FALSE(owner.count(i)) << "window " << i << " read by ranks "
                                       << owner[i] << " and " << r;
          owner[i] = r;
          EXPECT_EQ(h, hashOf(files->fetch({i}).window[0]))
              << "window " << i << " of rank " << r << " of " << world;
        }
    }
    const int64_t perRank = files->size() / world / 2 * 2;
    EXPECT_EQ(windows, perRank * world) << world << " ranks";
    std::printf("%lld ranks read %lld distinct windows of %lld\n",
                (long long)world, (long long)owner.size(),
                (long long)files->size());
  }
}

// server(..., ring = true): the ring of 20 holds the newest samples of the
// 48 pushed (2001's last 4, 2002's 16); two ranks draw batches of windows
// from it. Every window drawn is inside the ring (its frames consecutive
// samples of it) and equals, bit for bit, the files' window of the same
// start time (Dataset: read eagerly from HDF5, normalised by torch): the
// ring's windows and normalisation are the file modes'. 2003's 16 samples
// appended after an epoch are counted at the next one and drawn.
TEST(ServerLoader, RingDrawsWindowsOfTheNewestSamples) {
  ServerData &d = serverData();
  rt::RedisClient::Options o;
  o.password = kPassword;
  rt::RedisClient client(d.address, o);
  rt::ServerStore store(client, "ring");
  store.clear();
  std::vector<std::string> first, last;
  for (int y = 2000; y <= 2002; ++y)
    first.push_back(d.dir + "/" + std::to_string(y) + ".h5");
  last.push_back(d.dir + "/2003.h5");
  rt::pushFiles(first, "fields", store, 20);
  ASSERT_EQ(store.ringSize(), 20);
  const rt::Dataset files =
      rt::Dataset::open(filesConfig(d.dir), rt::Split::Train, 3);
  std::map<int64_t, int64_t> windowAt; // start time -> files' window
  for (int64_t i = 0; i < files.size(); ++i)
    windowAt[files.times({i}).item<int64_t>()] = i;

  rt::DataConfig rc = serverConfig(d.dir, d.address);
  rc.serverSet = "ring";
  rc.field = "ring"; // server(..., ring = true)
  std::vector<std::unique_ptr<BatchLoader>> ranks;
  for (int64_t r = 0; r < 2; ++r)
    ranks.push_back(BatchLoader::open(rc, rt::Split::Train, 3, 2,
                                      loaderConfig(Mode::Eager, 1, r, 2), 9,
                                      true, true));
  // 20 samples of 2002 (16) and 2001's last 4: 14 + 2 windows of 3.
  EXPECT_EQ(ranks[0]->size(), 16);
  EXPECT_EQ(ranks[0]->batchesPerEpoch(), 4); // 16 windows / global batch 4
  std::set<int64_t> ringTimes;
  for (const rt::ServerSample &e : store.ring())
    ringTimes.insert(e.time);
  std::map<int64_t, int> drawn;
  auto epoch = [&](int64_t e, const std::set<int64_t> &inRing) {
    for (int64_t r = 0; r < 2; ++r) {
      ranks[size_t(r)]->startEpoch(e);
      int64_t n = 0;
      while (auto b = ranks[size_t(r)]->next()) {
        ++n;
        for (int64_t j = 0; j < 2; ++j) {
          const int64_t t = b->times[j].item<int64_t>();
          ++drawn[t];
          EXPECT_TRUE(inRing.count(t) && inRing.count(t + 2 * 6 * 3600))
              << "window at " << t << " is not in the ring";
          ASSERT_TRUE(windowAt.count(t)) << t;
          EXPECT_TRUE(torch::equal(b->window[j], files.batch({windowAt[t]})[0]))
              << "epoch " << e << " rank " << r << " window at " << t;
        }
      }
      EXPECT_EQ(n, 4);
    }
  };
  epoch(0, ringTimes);
  EXPECT_GT(drawn.size(), 4u); // uniform over 16: distinct draws
  // A producer appends 2003 (16 samples): the ring holds 2003 only.
  rt::pushFiles(last, "fields", store, 20);
  EXPECT_EQ(store.ringSize(), 20);
  std::set<int64_t> now;
  for (const rt::ServerSample &e : store.ring())
    now.insert(e.time);
  drawn.clear();
  epoch(1, now);
  EXPECT_EQ(ranks[0]->stats().samplesAdded, 16);
  EXPECT_EQ(rt::ringStats(*ranks[0])->samples, 20);
  EXPECT_EQ(rt::ringStats(*ranks[0])->drawnNew, 0); // epoch 0 drew old ones
  epoch(2, now);
  EXPECT_GT(rt::ringStats(*ranks[0])->drawnNew, 0); // epoch 1 drew 2003's
  for (const auto &[t, k] : drawn)
    EXPECT_GE(t, *now.begin());
  store.clear();
}

TEST(ServerLoader, RingRefusesMemoryModesThatHoldTheSet) {
  ServerData &d = serverData();
  rt::DataConfig rc = serverConfig(d.dir, d.address);
  rc.serverSet = "small";
  rc.field = "ring"; // server(..., ring = true)
  s2s_test::expectError(
      [&] {
        BatchLoader::open(rc, rt::Split::Train, 3, 2,
                          loaderConfig(Mode::Lazy, 1), 0, true, true);
      },
      {"memory mode lazy does not apply", "ring = true"});
  s2s_test::expectError(
      [&] {
        BatchLoader::open(rc, rt::Split::Train, 3, 2,
                          loaderConfig(Mode::Eager, 1), 0, true, true);
      },
      {"has no samples in its ring", "--ring N"});
}
