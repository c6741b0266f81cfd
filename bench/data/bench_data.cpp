//===- bench_data.cpp - Samples/s and GB/s of each loader mode
//-------------===//
//
//   s2s-bench-data --data 'DIR/*.h5' --stats DIR/stats.h5 --channels a,b,c
//                  --mode eager|lazy|stream|shared|raw|raw-fresh|raw-get|
//                         store-read
//                  [--server ADDR --name NAME] [--prefetch N]
//                  [--threads N] [--buffer N] [--batches N] [--batch N]
//                  [--window N] [--step-ms N]     (--batches 0: one epoch)
//                  [--depth N]                    (raw-get's pipeline)
//
// Iterates --batches batches of --batch windows of --window frames through
// s2s::rt::BatchLoader in the given mode (raw: plain sequential read() of
// the files' bytes, the machine's limit) and prints one line: samples/s,
// (--server: the loader reads data set NAME from the data server at ADDR,
// s2s-data push's, instead of the files; raw-get: plain pipelined hiredis
// GETs (--depth at a time) of every chunk of that data set by --threads
// connections, bytes dropped, the server's limit; with RANK and
// WORLD_SIZE set, a rank's share of either, for several processes;
// store-read: the same samples through ServerStore::read, --batch a call,
// with its copy and CRC check but not the loader's normalisation)
// GB/s of field data delivered, time to the first batch, and the process's
// memory (anonymous and shared resident). --step-ms simulates a training
// step's compute between batches (what prefetch hides).
//
//===----------------------------------------------------------------------===//

#include "data/Loader.h"
#include "dist/Launch.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Runtime.h"
#include "store/Redis.h"
#include "store/ServerStore.h"
#include "support/Allocator.h"
#include "support/Proc.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <glob.h>
#include <sstream>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, sep))
    if (!x.empty())
      out.push_back(x);
  return out;
}

/// Runs work(t, bytes) on `threads` threads, each adding the bytes it
/// moved to its own counter; prints "WHAT: X GB in S s: R GB/s".
template <typename Work>
void timedThreads(int64_t threads, const std::string &what, Work work) {
  std::vector<double> bytes(size_t(threads), 0.0);
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { work(size_t(t), bytes[size_t(t)]); });
  for (std::thread &t : pool)
    t.join();
  const double s = since(t0);
  double total = 0;
  for (double b : bytes)
    total += b;
  std::printf("%s: %.3f GB in %.2f s: %.3f GB/s\n", what.c_str(), total / 1e9,
              s, total / 1e9 / s);
}

/// "N connection(s), rank R of W".
std::string connectionsText(int64_t threads, const s2s::rt::RankInfo &ri) {
  return std::to_string(threads) + " connection" + (threads == 1 ? "" : "s") +
         ", rank " + std::to_string(ri.rank) + " of " +
         std::to_string(ri.worldSize);
}

/// raw-get: every chunk of data set `name` (this rank's share: every
/// world-th, from RANK/WORLD_SIZE) fetched with pipelined GETs (`depth`
/// at a time) by `threads` connections, the bytes dropped.
int rawGet(const std::string &address, const std::string &name, int64_t threads,
           int64_t depth) {
  const s2s::rt::RankInfo ri = s2s::rt::rankInfo();
  s2s::rt::RedisClient::Options o;
  o.password = s2s::rt::passwordFromEnvironment();
  o.timeoutSeconds = s2s::rt::timeoutFromEnvironment();
  std::vector<std::string> keys;
  {
    s2s::rt::RedisClient c(address, o);
    s2s::rt::ServerStore store(c, name);
    int64_t at = 0;
    for (const s2s::rt::ServerSample &e : store.index())
      for (int64_t k = 0; k < e.chunks; ++k) // ServerStore.h's layout
        if (at++ % ri.worldSize == ri.rank)
          keys.push_back("s2s:" + name + ":c:" + std::to_string(e.time) + ":" +
                         std::to_string(e.version) + ":" + std::to_string(k));
  }
  timedThreads(threads,
               "raw-get (hiredis GET, pipelined " + std::to_string(depth) +
                   " deep, " + connectionsText(threads, ri) + ")",
               [&](size_t t, double &bytes) {
                 s2s::rt::RedisClient c(address, o);
                 for (size_t at = t; at < keys.size();
                      at += size_t(depth) * size_t(threads)) {
                   size_t n = 0;
                   for (size_t i = at; n < size_t(depth) && i < keys.size();
                        i += size_t(threads), ++n)
                     c.append({"GET", keys[i]});
                   for (size_t j = 0; j < n; ++j)
                     bytes += double(c.reply().text().size());
                 }
               });
  return 0;
}

/// store-read: every sample of data set `name` (this rank's share) read
/// through ServerStore::read, `per` consecutive samples a call (as the
/// loader's reads), by `threads` connections: the store's GETs, copy into
/// place and CRC-32C check, without the loader's normalisation.
int storeRead(const std::string &address, const std::string &name,
              int64_t threads, int64_t per) {
  const s2s::rt::RankInfo ri = s2s::rt::rankInfo();
  s2s::rt::RedisClient::Options o;
  o.password = s2s::rt::passwordFromEnvironment();
  o.timeoutSeconds = s2s::rt::timeoutFromEnvironment();
  std::vector<std::vector<s2s::rt::ServerSample>> calls;
  {
    s2s::rt::RedisClient c(address, o);
    s2s::rt::ServerStore store(c, name);
    const std::vector<s2s::rt::ServerSample> index = store.index();
    for (size_t at = 0, n = 0; at < index.size(); at += size_t(per), ++n)
      if (int64_t(n) % ri.worldSize == ri.rank)
        calls.emplace_back(index.begin() + at,
                           index.begin() +
                               std::min(index.size(), at + size_t(per)));
  }
  timedThreads(threads,
               "store-read (ServerStore::read, " + std::to_string(per) +
                   " samples a call, " + connectionsText(threads, ri) + ")",
               [&](size_t t, double &bytes) {
                 s2s::rt::RedisClient c(address, o);
                 s2s::rt::ServerStore store(c, name);
                 std::vector<char> buf;
                 for (size_t i = t; i < calls.size(); i += size_t(threads)) {
                   std::vector<s2s::rt::ServerSample> e = calls[i];
                   buf.resize(size_t(e.size() * e.front().bytes));
                   store.read(e, buf.data());
                   bytes += double(buf.size());
                 }
               });
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string data, stats, mode = "eager", channels = "u,v,t", server, name;
  int64_t prefetch = 0, threads = 1, buffer = 0, batches = 0, batch = 8,
          window = 3, stepMs = 0, depth = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--data")
      data = v;
    else if (k == "--stats")
      stats = v;
    else if (k == "--server")
      server = v;
    else if (k == "--name")
      name = v;
    else if (k == "--channels")
      channels = v;
    else if (k == "--mode")
      mode = v;
    else if (k == "--prefetch")
      prefetch = std::atoll(v.c_str());
    else if (k == "--threads")
      threads = std::atoll(v.c_str());
    else if (k == "--buffer")
      buffer = std::atoll(v.c_str());
    else if (k == "--batches")
      batches = std::atoll(v.c_str());
    else if (k == "--batch")
      batch = std::atoll(v.c_str());
    else if (k == "--window")
      window = std::atoll(v.c_str());
    else if (k == "--depth")
      depth = std::atoll(v.c_str());
    else if (k == "--step-ms")
      stepMs = std::atoll(v.c_str());
    else {
      std::fprintf(stderr, "s2s-bench-data: unknown option '%s'\n", k.c_str());
      return 2;
    }
  }
  s2s::rt::tuneAllocator(); // what a generated program does (run())
  try {
    auto t0 = Clock::now();
    if (mode == "store-read")
      return storeRead(server, name, threads, std::max<int64_t>(1, batch));
    if (mode == "raw-get")
      return rawGet(server, name, threads, std::max<int64_t>(1, depth));
    if (mode == "raw" || mode == "raw-fresh") {
      // raw: read(2) of every file into one 8 MiB buffer, the page cache's
      // limit. raw-fresh: the same bytes into fresh memory (one mapping
      // the size of the files, huge pages asked for), as any loader that
      // keeps them must: the kernel zeroes each new page first.
      glob_t g{};
      if (glob(data.c_str(), 0, nullptr, &g) != 0)
        throw s2s::rt::Error("no files match '" + data + "'");
      const bool fresh = mode == "raw-fresh";
      size_t total = 0;
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        struct stat st {};
        if (::stat(g.gl_pathv[i], &st) == 0)
          total += size_t(st.st_size);
      }
      char *dst = nullptr;
      std::vector<char> buf;
      if (fresh) {
        void *p = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
          throw s2s::rt::Error("cannot map " + std::to_string(total) +
                               " bytes");
        madvise(p, total, MADV_HUGEPAGE);
        dst = static_cast<char *>(p);
      } else {
        buf.resize(8 << 20);
      }
      t0 = Clock::now();
      double bytes = 0;
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        int fd = open(g.gl_pathv[i], O_RDONLY);
        ssize_t n;
        while (
            (n = read(fd, fresh ? dst + size_t(bytes) : buf.data(),
                      fresh ? std::min<size_t>(8 << 20, total - size_t(bytes))
                            : buf.size())) > 0)
          bytes += double(n);
        close(fd);
      }
      globfree(&g);
      double s = since(t0);
      std::printf("%s: %.3f GB in %.2f s: %.3f GB/s\n",
                  fresh ? "raw sequential read into fresh memory"
                        : "raw sequential read",
                  bytes / 1e9, s, bytes / 1e9 / s);
      if (fresh)
        munmap(dst, total);
      return 0;
    }
    const long anonBefore = s2s::rt::procStatusKb("RssAnon:");
    s2s::rt::DataConfig cfg;
    cfg.name = "bench";
    cfg.pattern = data;
    cfg.server = server;
    cfg.serverSet = name;
    cfg.channels = split(channels, ',');
    cfg.normalize =
        stats.empty() ? s2s::rt::Normalizer::None : s2s::rt::Normalizer::Zscore;
    cfg.stats = stats;
    s2s::rt::MemoryConfig mem;
    mem.prefetch = prefetch;
    if (mode == "stream") {
      mem.mode = s2s::rt::MemoryMode::Stream;
      mem.buffer = buffer;
    } else {
      mem.mode = mode == "lazy" ? s2s::rt::MemoryMode::Lazy
                                : s2s::rt::MemoryMode::Eager;
      mem.shared = mode == "shared";
    }
    s2s::rt::LoaderConfig lc = s2s::rt::LoaderConfig::fromSpec(mem);
    lc.threads = threads;
    // This rank's part of each epoch, as the training program takes it.
    const s2s::rt::RankInfo ri = s2s::rt::rankInfo();
    lc.rank = ri.rank;
    lc.worldSize = ri.worldSize;
    auto loader = s2s::rt::BatchLoader::open(cfg, s2s::rt::Split::Train, window,
                                             batch, lc, 0, true, true);
    double openSeconds = since(t0);
    if (batches <= 0) // one pass over the split
      batches = loader->batchesPerEpoch();
    int64_t n = 0, epoch = 0;
    double first = -1;
    long peakAnon = s2s::rt::procStatusKb("RssAnon:");
    loader->startEpoch(epoch);
    while (n < batches) {
      auto b = loader->next();
      if (!b) {
        loader->startEpoch(++epoch);
        continue;
      }
      if (first < 0)
        first = since(t0);
      ++n;
      // While the batch is held, as a training step holds it.
      peakAnon = std::max(peakAnon, s2s::rt::procStatusKb("RssAnon:"));
      if (stepMs > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(stepMs));
    }
    double s = since(t0);
    double frameBytes =
        4.0 * cfg.channels.size() * loader->lat() * loader->lon();
    double samples = double(n) * batch;
    double gb = samples * window * frameBytes / 1e9;
    auto st = loader->stats();
    // After the first batch: the rate a training loop sees once running
    // (eager's load and the stream's fill are in "first batch after").
    const double steady =
        n > 1 ? double(n - 1) * batch * window * frameBytes / 1e9 / (s - first)
              : 0;
    std::printf("%s%s (%s): %.0f samples in %.2f s: %.1f samples/s, %.3f GB/s "
                "delivered (%.3f GB/s after the first batch); open %.2f s, "
                "first batch after %.2f s, data wait %.2f s; read %.3f GB "
                "(%.3f GB/s); "
                "rss anon %ld MiB (%ld MiB before opening, peak %ld MiB), "
                "shmem %ld MiB; one copy %.0f MiB; batch %.1f MiB\n",
                server.empty() ? "" : "server ", mode.c_str(),
                lc.describe().c_str(), samples, s, samples / s, gb / s, steady,
                openSeconds, first, st.waitSeconds, st.bytesRead / 1e9,
                st.bytesRead / 1e9 / s,
                s2s::rt::procStatusKb("RssAnon:") / 1024, anonBefore / 1024,
                peakAnon / 1024, s2s::rt::procStatusKb("RssShmem:") / 1024,
                double(mode == "eager" || mode == "shared"
                           ? st.residentSamples // the split's samples
                           : loader->size() + window - 1) *
                    frameBytes / 1048576.0,
                double(batch) * window * frameBytes / 1048576.0);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "s2s-bench-data: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
