//===- ServerStoreTest.cpp - A data set held by a real redis-server -------===//
//
// Every test starts its own redis-server (Debian's, as s2s-data serve runs
// it) on a Unix socket in a fresh folder, with a password, and stops it at
// the end. Samples are checked against the bytes pushed (memcmp), not
// against a second reading of the same code.
//
//===----------------------------------------------------------------------===//

#include "store/ServerStore.h"
#include "store/Redis.h"
#include "store/RedisServer.h"

#include "TestSupport.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <random>
#include <thread>

namespace rt = s2s::rt;
using s2s_test::expectError;
using s2s_test::TempDir;

namespace {

const char *kPassword = "test-password-1234";

rt::RedisServerConfig serverConfig(const TempDir &dir) {
  rt::RedisServerConfig c;
  c.dir = dir / "r";
  c.password = kPassword;
  c.maxmemoryBytes = int64_t(256) << 20;
  return c;
}

rt::RedisClient::Options options(double timeout = 10) {
  rt::RedisClient::Options o;
  o.password = kPassword;
  o.timeoutSeconds = timeout;
  return o;
}

/// A fresh redis-server, a client and data set `name` on it.
struct Served {
  explicit Served(const std::string &name) : store(client, name) {}
  TempDir dir;
  rt::RedisServer server{serverConfig(dir)};
  rt::RedisClient client{server.address(), options()};
  rt::ServerStore store;
};

std::vector<float> randomSamples(int64_t n, int64_t frame, uint32_t seed) {
  std::vector<float> v(size_t(n * frame));
  std::mt19937 g(seed);
  std::normal_distribution<float> d;
  for (float &x : v)
    x = d(g);
  return v;
}

int64_t countKeys(rt::RedisClient &c, const std::string &pattern) {
  return int64_t(c.command({"KEYS", pattern}).size());
}

} // namespace

TEST(ServerStore, AddressForms) {
  EXPECT_EQ(rt::RedisAddress::parse("unix:///tmp/r.sock").path, "/tmp/r.sock");
  EXPECT_EQ(rt::RedisAddress::parse("10.0.0.5:6379").port, 6379);
  EXPECT_EQ(rt::RedisAddress::parse("redis://node1:7000").host, "node1");
  expectError([] { rt::RedisAddress::parse("node1"); },
              {"'node1'", "unix:///path/to/redis.sock", "host:port"});
}

// Samples of two chunks (the second a quarter full), pushed and read back
// bit for bit; the index in time order with the sizes.
TEST(ServerStore, RoundTripIsBitExact) {
  Served s("era5");
  rt::ServerStore &store = s.store;
  rt::ServerSetMeta m;
  m.channels = {"u", "v", "t", "q", "z"};
  m.nlat = 256;
  m.nlon = 2048; // 5*256*2048*4 = 10 MiB = 1.25 chunks
  m.lat = {1, 2};
  m.lon = {3};
  store.putMeta(m);
  const int64_t frame = m.sampleBytes() / 4;
  const std::vector<float> data = randomSamples(3, frame, 1);
  EXPECT_EQ(store.put({300, 100, 200},
                      reinterpret_cast<const char *>(data.data()),
                      m.sampleBytes()),
            0);

  auto meta = store.meta();
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->channels, m.channels);
  EXPECT_EQ(meta->nlat, 256);
  EXPECT_EQ(meta->lat, m.lat);
  EXPECT_EQ(meta->lon, m.lon);
  std::vector<rt::ServerSample> idx = store.index();
  ASSERT_EQ(idx.size(), 3u);
  EXPECT_EQ(idx[0].time, 100);
  EXPECT_EQ(idx[2].time, 300);
  EXPECT_EQ(idx[0].chunks, 2);
  EXPECT_EQ(idx[0].bytes, m.sampleBytes());

  std::vector<float> back(size_t(3 * frame), -1.f);
  store.read(idx, reinterpret_cast<char *>(back.data()));
  // idx is by time: 100, 200, 300 were pushed as samples 1, 2, 0.
  const size_t fb = size_t(m.sampleBytes());
  EXPECT_EQ(std::memcmp(back.data(), data.data() + frame, fb), 0);
  EXPECT_EQ(std::memcmp(back.data() + frame, data.data() + 2 * frame, fb), 0);
  EXPECT_EQ(std::memcmp(back.data() + 2 * frame, data.data(), fb), 0);

  // A second push must agree with the set's channels and grid.
  rt::ServerSetMeta other = m;
  other.channels = {"u", "v"};
  expectError([&] { store.putMeta(other); },
              {"data set 'era5'", "holds channels u, v, t, q, z", "u, v"});
}

// A replaced sample: the new bytes are read, the index keeps one entry and
// the old version's chunks are gone.
TEST(ServerStore, ReplacementSwapsVersionsAndDeletesTheOld) {
  Served s("s");
  rt::RedisClient &client = s.client;
  rt::ServerStore &store = s.store;
  const int64_t bytes = (int64_t(9) << 20); // 2 chunks
  std::vector<char> a(size_t(bytes), 'a'), b(size_t(bytes), 'b');
  EXPECT_EQ(store.put({7}, a.data(), bytes), 0);
  EXPECT_EQ(store.put({7}, b.data(), bytes), 1);
  auto idx = store.index();
  ASSERT_EQ(idx.size(), 1u);
  EXPECT_EQ(idx[0].version, 2u);
  EXPECT_EQ(countKeys(client, "s2s:s:c:*"), 2); // version 2's two chunks
  std::vector<char> back(static_cast<size_t>(bytes));
  store.read(idx, back.data());
  EXPECT_EQ(back, b);
  EXPECT_GT(store.clear(), 0);
  EXPECT_EQ(countKeys(client, "s2s:s:*"), 0);
}

// A producer replaces a two-chunk sample over and over (every byte of a
// version the same value) while a reader reads it: every read is one
// whole version, never chunks of two.
TEST(ServerStore, ReadersNeverSeeATornSample) {
  TempDir dir;
  rt::RedisServer server(serverConfig(dir));
  rt::RedisClient writerClient(server.address(), options());
  rt::RedisClient readerClient(server.address(), options());
  rt::ServerStore writer(writerClient, "x"), reader(readerClient, "x");
  const int64_t bytes = (int64_t(8) << 20) + 4096; // 2 chunks
  std::vector<char> v(size_t(bytes), 0);
  writer.put({1}, v.data(), bytes);
  // A producer replacing the sample as each read starts, so every read
  // races a replacement (its chunks written, the index swapped, the old
  // chunks deleted). A read retries when the version it started on goes
  // meanwhile and gives up, saying so, after 8 replacements during one
  // read: a writer in a tight loop on a loaded machine (ctest -j2) starved
  // it that way, a clear error rather than a torn sample, so the writer
  // here keeps pace with the reader. Errors on either side fail the test
  // with the producer joined.
  std::atomic<bool> done{false};
  std::atomic<int> writes{0}, readsStarted{0};
  std::atomic<bool> producerFailed{false};
  std::exception_ptr producerError; // read once the producer is joined
  std::thread producer([&] {
    try {
      rt::RedisClient c(server.address(), options());
      rt::ServerStore w(c, "x");
      std::vector<char> p(static_cast<size_t>(bytes));
      for (int i = 1, seen = 0; !done; ++i) {
        while (!done && readsStarted.load() == seen)
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        seen = readsStarted.load();
        std::memset(p.data(), i % 100 + 1, p.size());
        w.put({1}, p.data(), bytes);
        ++writes;
      }
    } catch (...) {
      producerError = std::current_exception();
      producerFailed = true;
    }
  });
  struct Joined {
    std::atomic<bool> &done;
    std::thread &t;
    ~Joined() {
      done = true;
      if (t.joinable())
        t.join();
    }
  } joined{done, producer};
  std::vector<char> back(static_cast<size_t>(bytes));
  int distinct = 0;
  char last = -1;
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  int reads = 0;
  std::string torn;
  while (torn.empty() && !producerFailed &&
         (std::chrono::steady_clock::now() < until || writes < 5)) {
    auto idx = reader.index();
    ++readsStarted;
    ASSERT_NO_THROW(reader.read(idx, back.data()))
        << "after " << reads << " reads";
    ++reads;
    for (size_t i = 0; i < back.size() && torn.empty(); i += 4096)
      if (back[i] != back[0])
        torn = "torn sample at byte " + std::to_string(i);
    if (back.back() != back[0])
      torn = "torn sample at its last byte";
    distinct += back[0] != last;
    last = back[0];
  }
  EXPECT_EQ(torn, "");
  done = true;
  producer.join();
  EXPECT_FALSE(producerError) << "the producer failed";
  EXPECT_GT(writes.load(), 4);
  EXPECT_GT(distinct, 1) << reads << " reads saw one version only";
}

TEST(ServerStore, WrongOrMissingPasswordIsAClearError) {
  TempDir dir;
  rt::RedisServer server(serverConfig(dir));
  rt::RedisClient::Options wrong = options();
  wrong.password = "nope";
  expectError([&] { rt::RedisClient c(server.address(), wrong); },
              {server.address(), "refused the password", "S2S_REDIS_PASSWORD"});
  rt::RedisClient::Options none = options();
  none.password.clear();
  expectError([&] { rt::RedisClient c(server.address(), none); },
              {server.address(), "wants a password"});
}

// Killed: the next request fails at once, naming the address; stopped
// (SIGSTOP: a hung server): within the stated time limit.
TEST(ServerStore, DeadOrHungServerFailsInTime) {
  TempDir dir;
  rt::RedisServer server(serverConfig(dir));
  {
    rt::RedisClient client(server.address(), options(1.0));
    rt::ServerStore store(client, "h");
    std::vector<char> v(1000, 1);
    store.put({1}, v.data(), 1000);
    ::kill(server.pid(), SIGSTOP);
    const auto t0 = std::chrono::steady_clock::now();
    expectError([&] { store.index(); },
                {server.address(), "did not answer", "within 1 s"});
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    EXPECT_LT(s, 3.0);
    ::kill(server.pid(), SIGCONT);
  }
  rt::RedisClient client(server.address(), options(1.0));
  rt::ServerStore store(client, "h");
  server.kill();
  expectError([&] { store.index(); },
              {"data server '" + server.address() + "'"});
  expectError([&] { rt::RedisClient c(server.address(), options(1.0)); },
              {"cannot connect to data server '" + server.address() + "'",
               "s2s-data serve"});
}

// A sample whose bytes changed behind the store's back is named.
TEST(ServerStore, ChecksumMismatchNamesTheSample) {
  Served s("c");
  rt::RedisClient &client = s.client;
  rt::ServerStore &store = s.store;
  std::vector<char> v(4096, 3);
  store.put({86400}, v.data(), 4096);
  client.command({"SETRANGE", "s2s:c:c:86400:1:0", "100", "X"});
  auto idx = store.index();
  expectError([&] { store.read(idx, v.data()); },
              {"data set 'c'", "1970-01-02", "version 1", "CRC-32C"});
}

TEST(ServerStore, ServerRefusesToStartWithoutAPassword) {
  TempDir dir;
  rt::RedisServerConfig c = serverConfig(dir);
  c.password.clear();
  expectError([&] { rt::RedisServer s(c); }, {"needs a password"});
}

namespace {
int64_t usedMemory(rt::RedisClient &c) {
  const std::string info(c.command({"INFO", "memory"}).text());
  const size_t at = info.find("used_memory:");
  return std::strtoll(info.c_str() + at + 12, nullptr, 10);
}
} // namespace

// An unbounded stream through a ring of N: after 10N appends it holds
// exactly the newest N (their chunks and nothing else), and the server's
// memory after 10N appends is what it was after N, give or take a sample.
TEST(ServerStore, RingHoldsExactlyNAndMemoryStaysBounded) {
  Served s("stream");
  rt::RedisClient &client = s.client;
  rt::ServerStore &store = s.store;
  const int64_t N = 8, bytes = int64_t(1) << 20; // 1 MiB samples
  std::vector<char> v(static_cast<size_t>(bytes));
  int64_t dropped = 0, memAfterN = 0, memMax = 0;
  for (int64_t i = 0; i < 10 * N; ++i) {
    std::memset(v.data(), int(i % 251), v.size());
    dropped += store.ringAppend(1000 + i, v.data(), bytes, N);
    EXPECT_EQ(store.ringSize(), std::min(i + 1, N));
    const int64_t mem = usedMemory(client);
    if (i + 1 == N)
      memAfterN = mem;
    if (i + 1 > N)
      memMax = std::max(memMax, mem);
  }
  EXPECT_EQ(dropped, 9 * N);
  EXPECT_EQ(store.ringSize(), N);
  EXPECT_EQ(store.ringCapacity(), N);
  EXPECT_EQ(countKeys(client, "s2s:stream:c:*"), N);
  std::printf("used_memory after N = %lld, max after N..10N = %lld (samples "
              "of %lld bytes)\n",
              (long long)memAfterN, (long long)memMax, (long long)bytes);
  EXPECT_LT(memMax, memAfterN + bytes + (int64_t(1) << 20));

  // The listing: the newest N, newest first, bytes as appended.
  const std::vector<rt::ServerSample> ring = store.ring();
  ASSERT_EQ(int64_t(ring.size()), N);
  for (int64_t j = 0; j < N; ++j)
    EXPECT_EQ(ring[size_t(j)].time, 1000 + 10 * N - 1 - j);
  std::vector<char> out(static_cast<size_t>(N * bytes));
  EXPECT_TRUE(store.readListed(ring, out.data()).empty());
  for (int64_t j = 0; j < N; ++j) {
    const char want = char((ring[size_t(j)].time - 1000) % 251);
    EXPECT_EQ(out[size_t(j * bytes)], want);
    EXPECT_EQ(out[size_t((j + 1) * bytes - 1)], want);
  }
  // One more append trims the oldest listed: reading the old listing
  // names it as gone (the ring loader lists again), the rest are read.
  store.ringAppend(1000 + 10 * N, v.data(), bytes, N);
  const std::vector<size_t> gone = store.readListed(ring, out.data());
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0], size_t(N - 1));
}
