//===- SharedMemoryTest.cpp - One copy of a data set per node -------------===//
//
// Real processes: the "local ranks" are fork()ed children of the test. They
// only run SharedSegment code (no LibTorch, whose thread pools do not
// survive a fork) and report through pipes and their exit status. The test
// process itself never calls SharedSegment::acquire, so every child runs
// acquire's once-per-process stale-segment sweep itself.
//
// Every test uses its own job id ("test-<pid>-<n>") and removes what is
// left of it under /dev/shm, whatever happens.
//
//===----------------------------------------------------------------------===//

#include "store/SharedMemory.h"
#include "s2s/runtime/Error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace rt = s2s::rt;

namespace {

constexpr size_t kMiB = size_t(1) << 20;

std::string uniqueJob() {
  static std::atomic<int> counter{0};
  return "test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

/// /dev/shm entries of `job` (segments and loaders' private files).
std::vector<std::string> jobFiles(const std::string &job) {
  std::vector<std::string> out;
  std::string prefix = rt::userSegmentPrefix() + job + "-";
  if (DIR *d = ::opendir("/dev/shm")) {
    while (dirent *e = ::readdir(d))
      if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0)
        out.push_back(std::string("/dev/shm/") + e->d_name);
    ::closedir(d);
  }
  return out;
}

/// Memory the files of `job` occupy in /dev/shm (allocated blocks).
uint64_t jobAllocatedBytes(const std::string &job) {
  uint64_t total = 0;
  for (const std::string &f : jobFiles(job)) {
    struct stat st;
    if (::stat(f.c_str(), &st) == 0)
      total += uint64_t(st.st_blocks) * 512;
  }
  return total;
}

/// "Shmem:" of /proc/meminfo in bytes.
uint64_t meminfoShmem() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "Shmem:")
      return kb * 1024;
  }
  return 0;
}

/// Rss and Pss (bytes) of the mapping of `pid` that starts at `addr`.
std::pair<uint64_t, uint64_t> mappingRssPss(pid_t pid, uintptr_t addr) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::string line;
  bool inside = false;
  uint64_t rss = 0, pss = 0;
  while (std::getline(in, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 &&
        line.find(':') > line.find(' ')) {
      inside = lo == addr;
      continue;
    }
    if (!inside)
      continue;
    uint64_t kb = 0;
    if (std::sscanf(line.c_str(), "Rss: %lu kB", &kb) == 1)
      rss = kb * 1024;
    else if (std::sscanf(line.c_str(), "Pss: %lu kB", &kb) == 1)
      pss = kb * 1024;
  }
  return {rss, pss};
}

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// The test pattern: word i is mix(i ^ salt).
void fillPattern(void *p, size_t bytes, uint64_t salt) {
  auto *w = static_cast<uint64_t *>(p);
  for (size_t i = 0; i < bytes / 8; ++i)
    w[i] = mix(i ^ salt);
}

uint64_t checksum(const void *p, size_t bytes) {
  const auto *w = static_cast<const uint64_t *>(p);
  uint64_t h = 0;
  for (size_t i = 0; i < bytes / 8; ++i)
    h = h * 31 + w[i];
  return h;
}

uint64_t expectedChecksum(size_t bytes, uint64_t salt) {
  uint64_t h = 0;
  for (size_t i = 0; i < bytes / 8; ++i)
    h = h * 31 + mix(i ^ salt);
  return h;
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe");
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    closeRead();
    closeWrite();
  }
  void closeRead() {
    if (r >= 0)
      ::close(r);
    r = -1;
  }
  void closeWrite() {
    if (w >= 0)
      ::close(w);
    w = -1;
  }
  void put(const void *p, size_t n) const {
    const char *c = static_cast<const char *>(p);
    while (n) {
      ssize_t k = ::write(w, c, n);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return;
      c += k;
      n -= size_t(k);
    }
  }
  void putString(const std::string &s) const { put(s.data(), s.size()); }
  /// Reads exactly n bytes; false at EOF.
  bool get(void *p, size_t n) const {
    char *c = static_cast<char *>(p);
    while (n) {
      ssize_t k = ::read(r, c, n);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return false;
      c += k;
      n -= size_t(k);
    }
    return true;
  }
  /// Everything until EOF (all write ends closed).
  std::string drain() const {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t k = ::read(r, buf, sizeof buf);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return out;
      out.append(buf, size_t(k));
    }
  }
};

/// Children of one test; killed and reaped whatever happens, and the job's
/// files removed.
class Children {
public:
  explicit Children(std::string job) : job_(std::move(job)) {}
  ~Children() {
    for (pid_t p : pids_)
      if (p > 0) {
        ::kill(p, SIGKILL);
        ::waitpid(p, nullptr, 0);
      }
    for (const std::string &f : jobFiles(job_))
      ::unlink(f.c_str());
  }
  /// Runs `body` in a child; its return value is the exit status, an
  /// exception prints and exits with 99.
  pid_t spawn(const std::function<int()> &body) {
    std::fflush(stdout);
    std::fflush(stderr);
    pid_t pid = ::fork();
    if (pid < 0)
      throw std::runtime_error("fork");
    if (pid == 0) {
      // The first acquire's sweep: this job only, so that test processes
      // running side by side do not remove each other's deliberately
      // orphaned segments while they look at them.
      ::setenv("S2S_SHM_SWEEP", "job", 1);
      int rc = 98;
      try {
        rc = body();
      } catch (const std::exception &e) {
        std::fprintf(stderr, "child %d: %s\n", int(::getpid()), e.what());
        rc = 99;
      }
      std::fflush(stdout);
      std::fflush(stderr);
      ::_exit(rc);
    }
    pids_.push_back(pid);
    return pid;
  }
  /// Exit status, or 128 + signal.
  int wait(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    for (pid_t &p : pids_)
      if (p == pid)
        p = -1;
    if (WIFEXITED(status))
      return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
  }
  void kill(pid_t pid) { ::kill(pid, SIGKILL); }

private:
  std::string job_;
  std::vector<pid_t> pids_;
};

/// Polls `cond` for up to `seconds`.
bool eventually(const std::function<bool()> &cond, double seconds = 30) {
  auto end =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (cond())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

bool contains(const std::vector<int> &v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

//===----------------------------------------------------------------------===//
// N local ranks share one copy
//===----------------------------------------------------------------------===//

struct RankReport {
  int pid;
  int loaded;
  uint64_t sum;
  uint64_t addr;
};

void shareAcross(int ranks) {
  const std::string job = uniqueJob();
  const size_t bytes = 64 * kMiB;
  const uint64_t salt = 0x5eed0000u + unsigned(ranks);
  Children kids(job);
  Pipe fills, reports, go;
  const uint64_t shmemBefore = meminfoShmem();

  std::vector<pid_t> pids;
  for (int r = 0; r < ranks; ++r)
    pids.push_back(kids.spawn([&] {
      fills.closeRead();
      reports.closeRead();
      go.closeWrite();
      auto seg = rt::SharedSegment::acquire(
          job, "fields", bytes,
          [&](void *p, size_t n) {
            fills.put("F", 1);
            // Slow enough that the other ranks arrive while it fills.
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            fillPattern(p, n, salt);
          },
          60);
      RankReport rep{int(::getpid()), seg.loaded() ? 1 : 0,
                     checksum(seg.data(), seg.size()),
                     uint64_t(reinterpret_cast<uintptr_t>(seg.data()))};
      reports.put(&rep, sizeof rep);
      char c;
      (void)::read(go.r, &c, 1); // until the parent closes it
      return seg.size() == bytes ? 0 : 3;
    }));
  fills.closeWrite();
  reports.closeWrite();
  go.closeRead();

  std::vector<RankReport> reps(static_cast<size_t>(ranks));
  for (int r = 0; r < ranks; ++r)
    ASSERT_TRUE(reports.get(&reps[size_t(r)], sizeof(RankReport)))
        << "a rank died before attaching";

  // All attached: measure.
  const uint64_t shmemDuring = meminfoShmem();
  const std::vector<std::string> files = jobFiles(job);
  const uint64_t allocated = jobAllocatedBytes(job);
  uint64_t rssSum = 0, pssSum = 0;
  for (const RankReport &rep : reps) {
    auto [rss, pss] = mappingRssPss(rep.pid, uintptr_t(rep.addr));
    rssSum += rss;
    pssSum += pss;
  }
  auto info = rt::SharedSegment::inspect(job, "fields");
  std::printf("[ shared  ] %d ranks, one segment of %zu MiB: %zu file(s) in "
              "/dev/shm holding %.2f MiB; Shmem in /proc/meminfo %+.2f MiB; "
              "data mapping summed over ranks: Rss %.2f MiB, Pss %.2f MiB\n",
              ranks, bytes / kMiB, files.size(), double(allocated) / kMiB,
              (double(shmemDuring) - double(shmemBefore)) / kMiB,
              double(rssSum) / kMiB, double(pssSum) / kMiB);

  EXPECT_EQ(files.size(), 1u);
  EXPECT_GE(allocated, bytes);
  EXPECT_LE(allocated, bytes + kMiB) << "more than one copy";
  // Every rank maps every page (it read all of them) but the pages are
  // shared: proportional shares add up to one copy.
  EXPECT_GE(rssSum, uint64_t(ranks) * bytes * 99 / 100);
  EXPECT_LE(pssSum, bytes + kMiB);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->state, "ready");
  EXPECT_TRUE(info->inUse);
  EXPECT_EQ(info->pids.size(), size_t(ranks));

  go.closeWrite();
  for (pid_t p : pids)
    EXPECT_EQ(kids.wait(p), 0);
  const uint64_t shmemAfter = meminfoShmem();
  std::printf("[ shared  ] after all %d ranks exited: Shmem %+.2f MiB from "
              "before, %zu file(s) left\n",
              ranks, (double(shmemAfter) - double(shmemBefore)) / kMiB,
              jobFiles(job).size());

  std::string fillCalls = fills.drain();
  EXPECT_EQ(fillCalls, "F") << "fill must run exactly once";
  int loaders = 0;
  const uint64_t want = expectedChecksum(bytes, salt);
  for (const RankReport &rep : reps) {
    loaders += rep.loaded;
    EXPECT_EQ(rep.sum, want) << "rank " << rep.pid << " saw other bytes";
  }
  EXPECT_EQ(loaders, 1);
  EXPECT_TRUE(jobFiles(job).empty()) << "the last rank must unlink it";
}

TEST(SharedMemory, TwoRanksShareOneCopy) { shareAcross(2); }
TEST(SharedMemory, FourRanksShareOneCopy) { shareAcross(4); }

/// Many rounds of ranks arriving at once with no delay in fill: the
/// create/attach race and the detach race, exactly one fill per round and
/// nothing left behind.
TEST(SharedMemory, RacingRanks) {
  const std::string job = uniqueJob();
  const int ranks = 4, rounds = 25;
  Children kids(job);
  for (int round = 0; round < rounds; ++round) {
    Pipe fills, start, reports, hold;
    std::vector<pid_t> pids;
    const std::string name = "round" + std::to_string(round);
    for (int r = 0; r < ranks; ++r)
      pids.push_back(kids.spawn([&] {
        fills.closeRead();
        start.closeWrite();
        reports.closeRead();
        hold.closeWrite();
        char c;
        (void)::read(start.r, &c, 1);
        auto seg = rt::SharedSegment::acquire(
            job, name, 64 * 1024,
            [&](void *p, size_t n) {
              fills.put("F", 1);
              fillPattern(p, n, uint64_t(round));
            },
            60);
        uint64_t sum = checksum(seg.data(), seg.size());
        reports.put(&sum, sizeof sum);
        // Hold it until every rank has it, then let go all at once.
        (void)::read(hold.r, &c, 1);
        return 0;
      }));
    fills.closeWrite();
    start.closeRead();
    reports.closeWrite();
    hold.closeRead();
    start.closeWrite(); // all ranks start at once
    const uint64_t want = expectedChecksum(64 * 1024, uint64_t(round));
    for (int r = 0; r < ranks; ++r) {
      uint64_t sum = 0;
      ASSERT_TRUE(reports.get(&sum, sizeof sum)) << "round " << round;
      EXPECT_EQ(sum, want);
    }
    hold.closeWrite();
    for (pid_t p : pids)
      EXPECT_EQ(kids.wait(p), 0);
    EXPECT_EQ(fills.drain(), "F") << "round " << round;
    EXPECT_TRUE(jobFiles(job).empty()) << "round " << round;
  }
}

//===----------------------------------------------------------------------===//
// Crashes
//===----------------------------------------------------------------------===//

/// A rank killed while attached (the last one) leaves its segment; the next
/// run's sweep removes it and loads afresh.
TEST(SharedMemory, KilledWhileAttachedIsCleanedUp) {
  const std::string job = uniqueJob();
  Children kids(job);
  Pipe ready;
  pid_t victim = kids.spawn([&] {
    ready.closeRead();
    auto seg = rt::SharedSegment::acquire(
        job, "fields", kMiB, [](void *p, size_t n) { fillPattern(p, n, 1); },
        60);
    ready.put("R", 1);
    ::pause();
    return 0;
  });
  ready.closeWrite();
  char c;
  ASSERT_TRUE(ready.get(&c, 1));
  kids.kill(victim);
  EXPECT_EQ(kids.wait(victim), 128 + SIGKILL);

  ASSERT_EQ(jobFiles(job).size(), 1u) << "a SIGKILLed rank cannot unlink";
  auto info = rt::SharedSegment::inspect(job, "fields");
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->inUse);
  EXPECT_EQ(info->state, "ready");
  EXPECT_TRUE(contains(info->pids, victim));

  // Another job's sweep leaves it alone...
  EXPECT_TRUE(rt::cleanupStaleSegments(uniqueJob()).empty());
  ASSERT_EQ(jobFiles(job).size(), 1u);
  // ...this job's removes it.
  std::vector<std::string> removed = rt::cleanupStaleSegments(job);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], info->path);
  EXPECT_TRUE(jobFiles(job).empty());
}

/// A rank killed while another stays attached: the survivor is the last to
/// let go and removes the segment.
TEST(SharedMemory, SurvivorOfKilledRankRemovesIt) {
  const std::string job = uniqueJob();
  Children kids(job);
  Pipe ready, go;
  auto rank = [&] {
    ready.closeRead();
    go.closeWrite();
    auto seg = rt::SharedSegment::acquire(
        job, "fields", kMiB, [](void *p, size_t n) { fillPattern(p, n, 1); },
        60);
    ready.put("R", 1);
    char c;
    (void)::read(go.r, &c, 1);
    return seg.release() ? 0 : 7; // 0: it removed the name
  };
  pid_t victim = kids.spawn(rank);
  pid_t survivor = kids.spawn(rank);
  ready.closeWrite();
  go.closeRead();
  char c[2];
  ASSERT_TRUE(ready.get(c, 2));
  kids.kill(victim);
  EXPECT_EQ(kids.wait(victim), 128 + SIGKILL);
  ASSERT_EQ(jobFiles(job).size(), 1u);
  go.closeWrite();
  EXPECT_EQ(kids.wait(survivor), 0);
  EXPECT_TRUE(jobFiles(job).empty());
}

/// The same, left to the next acquire (its once-per-process sweep).
TEST(SharedMemory, KilledWhileAttachedNextAcquireSweeps) {
  const std::string job = uniqueJob();
  Children kids(job);
  Pipe ready, fills;
  pid_t victim = kids.spawn([&] {
    ready.closeRead();
    auto seg = rt::SharedSegment::acquire(
        job, "fields", kMiB, [](void *p, size_t n) { fillPattern(p, n, 1); },
        60);
    ready.put("R", 1);
    ::pause();
    return 0;
  });
  ready.closeWrite();
  char c;
  ASSERT_TRUE(ready.get(&c, 1));
  kids.kill(victim);
  kids.wait(victim);
  ASSERT_EQ(jobFiles(job).size(), 1u);

  pid_t next = kids.spawn([&] {
    fills.closeRead();
    auto seg = rt::SharedSegment::acquire(
        job, "fields", kMiB,
        [&](void *p, size_t n) {
          fills.put("F", 1);
          fillPattern(p, n, 2);
        },
        60);
    return checksum(seg.data(), seg.size()) == expectedChecksum(kMiB, 2) ? 0
                                                                         : 3;
  });
  fills.closeWrite();
  EXPECT_EQ(kids.wait(next), 0);
  EXPECT_EQ(fills.drain(), "F") << "the stale copy must not be reused";
  EXPECT_TRUE(jobFiles(job).empty());
}

/// A loader killed mid-fill: a rank waiting on it gets an Error naming the
/// segment and the loader's PID at once (no hang); with nobody waiting, the
/// half-filled segment stays, and the next acquire of that name (in a
/// process that already did its sweep) removes it and loads afresh.
TEST(SharedMemory, LoaderKilledMidFill) {
  const std::string job = uniqueJob();
  Children kids(job);
  const size_t bytes = 4 * kMiB;

  // 1. A waiter sees its loader die.
  {
    Pipe filling, errors, fills;
    pid_t loader = kids.spawn([&] {
      filling.closeRead();
      auto seg = rt::SharedSegment::acquire(
          job, "fields", bytes,
          [&](void *, size_t) {
            filling.put("S", 1);
            for (;;)
              ::pause();
          },
          60);
      return 0;
    });
    filling.closeWrite();
    char c;
    ASSERT_TRUE(filling.get(&c, 1));
    pid_t waiter = kids.spawn([&] {
      errors.closeRead();
      fills.closeRead();
      try {
        auto seg = rt::SharedSegment::acquire(
            job, "fields", bytes, [&](void *, size_t) { fills.put("W", 1); },
            60);
      } catch (const rt::Error &e) {
        errors.putString(e.what());
        return 0;
      }
      return 4;
    });
    errors.closeWrite();
    fills.closeWrite();
    // Kill the loader once the waiter is attached (and waiting).
    ASSERT_TRUE(eventually([&] {
      auto info = rt::SharedSegment::inspect(job, "fields");
      return info && contains(info->pids, waiter);
    }));
    auto t0 = std::chrono::steady_clock::now();
    kids.kill(loader);
    kids.wait(loader);
    EXPECT_EQ(kids.wait(waiter), 0);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    std::string message = errors.drain();
    std::printf("[ message ] %s\n[ timing  ] the waiter gave up %.3f s after "
                "the kill\n",
                message.c_str(), seconds);
    EXPECT_NE(message.find("died while filling"), std::string::npos);
    EXPECT_NE(message.find("PID " + std::to_string(loader)), std::string::npos);
    EXPECT_NE(
        message.find("/dev/shm/" + rt::userSegmentPrefix() + job + "-fields"),
        std::string::npos);
    EXPECT_LT(seconds, 5.0);
    EXPECT_EQ(fills.drain(), "") << "a waiter must not load";
    EXPECT_TRUE(jobFiles(job).empty()) << "the waiter was the last holder";
  }

  // 2. Nobody waits: the half-filled segment stays until the next acquire.
  {
    Pipe swept, go, filling, fills;
    pid_t next = kids.spawn([&] {
      swept.closeRead();
      go.closeWrite();
      fills.closeRead();
      // The once-per-process sweep runs now, before the stale segment
      // exists: what removes it below is acquire's own check.
      auto other = rt::SharedSegment::acquire(
          job, "other", 4096, [](void *, size_t) {}, 60);
      swept.put("S", 1);
      char c;
      if (::read(go.r, &c, 1) != 1)
        return 5;
      auto seg = rt::SharedSegment::acquire(
          job, "fields", bytes,
          [&](void *p, size_t n) {
            fills.put("F", 1);
            fillPattern(p, n, 3);
          },
          60);
      return checksum(seg.data(), seg.size()) == expectedChecksum(bytes, 3) ? 0
                                                                            : 3;
    });
    swept.closeWrite();
    go.closeRead();
    fills.closeWrite();
    char c;
    ASSERT_TRUE(swept.get(&c, 1));
    pid_t loader = kids.spawn([&] {
      filling.closeRead();
      auto seg = rt::SharedSegment::acquire(
          job, "fields", bytes,
          [&](void *, size_t) {
            filling.put("S", 1);
            for (;;)
              ::pause();
          },
          60);
      return 0;
    });
    filling.closeWrite();
    ASSERT_TRUE(filling.get(&c, 1));
    kids.kill(loader);
    kids.wait(loader);
    auto info = rt::SharedSegment::inspect(job, "fields");
    ASSERT_TRUE(info.has_value()) << "a loader killed mid-fill leaves it";
    EXPECT_EQ(info->state, "filling");
    EXPECT_FALSE(info->inUse);
    EXPECT_EQ(info->loaderPid, loader);
    go.put("G", 1);
    EXPECT_EQ(kids.wait(next), 0);
    EXPECT_EQ(fills.drain(), "F");
    EXPECT_TRUE(jobFiles(job).empty());
  }
}

/// fill throws: the loader gets its own exception, a waiter an Error that
/// quotes it, and nothing is left.
TEST(SharedMemory, FillThrows) {
  const std::string job = uniqueJob();
  Children kids(job);
  Pipe filling, release, errors;
  pid_t loader = kids.spawn([&] {
    filling.closeRead();
    release.closeWrite();
    errors.closeRead();
    try {
      auto seg = rt::SharedSegment::acquire(
          job, "fields", kMiB,
          [&](void *, size_t) {
            filling.put("S", 1);
            char c;
            (void)::read(release.r, &c, 1);
            throw rt::Error("file era5_1990.h5: channel 't2m' not found");
          },
          60);
    } catch (const rt::Error &e) {
      errors.putString(std::string("loader: ") + e.what() + "\n");
      return 0;
    }
    return 4;
  });
  filling.closeWrite();
  char c;
  ASSERT_TRUE(filling.get(&c, 1));
  pid_t waiter = kids.spawn([&] {
    errors.closeRead();
    release.closeWrite();
    try {
      auto seg = rt::SharedSegment::acquire(
          job, "fields", kMiB, [](void *, size_t) {}, 60);
    } catch (const rt::Error &e) {
      errors.putString(std::string("waiter: ") + e.what() + "\n");
      return 0;
    }
    return 4;
  });
  errors.closeWrite();
  release.closeRead();
  ASSERT_TRUE(eventually([&] {
    auto info = rt::SharedSegment::inspect(job, "fields");
    return info && contains(info->pids, waiter);
  }));
  release.closeWrite();
  EXPECT_EQ(kids.wait(loader), 0);
  EXPECT_EQ(kids.wait(waiter), 0);
  std::string out = errors.drain();
  std::printf("[ message ] %s", out.c_str());
  EXPECT_NE(out.find("loader: file era5_1990.h5: channel 't2m' not found"),
            std::string::npos);
  EXPECT_NE(out.find("waiter: shared-memory segment /dev/shm/" +
                     rt::userSegmentPrefix() + job +
                     "-fields: the process that loads it (PID " +
                     std::to_string(loader) +
                     ") failed: file era5_1990.h5: channel 't2m' not found"),
            std::string::npos);
  EXPECT_TRUE(jobFiles(job).empty());
}

/// A loader that is alive but slower than the waiter's timeout.
TEST(SharedMemory, WaitTimesOut) {
  const std::string job = uniqueJob();
  Children kids(job);
  Pipe filling, release, errors;
  pid_t loader = kids.spawn([&] {
    filling.closeRead();
    release.closeWrite();
    errors.closeRead();
    auto seg = rt::SharedSegment::acquire(
        job, "fields", kMiB,
        [&](void *, size_t) {
          filling.put("S", 1);
          char c;
          (void)::read(release.r, &c, 1);
        },
        60);
    return 0;
  });
  filling.closeWrite();
  char c;
  ASSERT_TRUE(filling.get(&c, 1));
  pid_t waiter = kids.spawn([&] {
    release.closeWrite();
    errors.closeRead();
    try {
      auto seg = rt::SharedSegment::acquire(
          job, "fields", kMiB, [](void *, size_t) {}, 0.25);
    } catch (const rt::Error &e) {
      errors.putString(e.what());
      return 0;
    }
    return 4;
  });
  errors.closeWrite();
  release.closeRead();
  EXPECT_EQ(kids.wait(waiter), 0);
  release.closeWrite();
  EXPECT_EQ(kids.wait(loader), 0);
  std::string message = errors.drain();
  std::printf("[ message ] %s\n", message.c_str());
  EXPECT_EQ(message.rfind("timed out after 0.25 s waiting for process " +
                              std::to_string(loader) +
                              " to fill shared-memory segment /dev/shm/" +
                              rt::userSegmentPrefix() + job + "-fields",
                          0),
            0u);
  EXPECT_TRUE(jobFiles(job).empty());
}

//===----------------------------------------------------------------------===//
// Errors and small things
//===----------------------------------------------------------------------===//

/// Runs `body` in a child and returns what it wrote; its exit status must
/// be 0.
std::string inChild(Children &kids, const std::function<std::string()> &body) {
  Pipe out;
  pid_t pid = kids.spawn([&] {
    out.closeRead();
    out.putString(body());
    return 0;
  });
  out.closeWrite();
  std::string s = out.drain();
  EXPECT_EQ(kids.wait(pid), 0);
  return s;
}

TEST(SharedMemory, NotEnoughSpaceInDevShm) {
  struct statvfs sv;
  ASSERT_EQ(::statvfs("/dev/shm", &sv), 0);
  const uint64_t avail = uint64_t(sv.f_bavail) * sv.f_frsize;
  const uint64_t ask = avail + (uint64_t(1) << 30);
  if (ask > uint64_t(SIZE_MAX) / 2)
    GTEST_SKIP() << "/dev/shm reports " << avail << " bytes free";
  const std::string job = uniqueJob();
  Children kids(job);
  std::string message = inChild(kids, [&] {
    try {
      rt::SharedSegment::acquire(
          job, "huge", size_t(ask), [](void *, size_t) {}, 60);
    } catch (const rt::Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  });
  std::printf("[ message ] %s\n", message.c_str());
  EXPECT_NE(message.find("not enough shared memory in /dev/shm for segment "
                         "/dev/shm/" +
                         rt::userSegmentPrefix() + job + "-huge (" +
                         std::to_string(ask) + " bytes"),
            std::string::npos);
  EXPECT_NE(message.find("memory = in_memory(shared = false)"),
            std::string::npos);
  EXPECT_TRUE(jobFiles(job).empty());
}

TEST(SharedMemory, SizeMismatchAndInspectAndMove) {
  const std::string job = uniqueJob();
  Children kids(job);
  std::string out = inChild(kids, [&] {
    std::ostringstream os;
    auto a = rt::SharedSegment::acquire(
        job, "x", 8192, [](void *p, size_t n) { fillPattern(p, n, 9); }, 60);
    os << "loaded=" << a.loaded() << " name=" << a.name() << "\n";
    // The same name with another size.
    try {
      rt::SharedSegment::acquire(
          job, "x", 4096, [](void *, size_t) {}, 60);
      os << "no error\n";
    } catch (const rt::Error &e) {
      os << "mismatch: " << e.what() << "\n";
    }
    // A second handle in the same process shares it.
    auto b = rt::SharedSegment::acquire(
        job, "x", 8192, [&](void *, size_t) { os << "second fill\n"; }, 60);
    os << "same="
       << (checksum(b.data(), b.size()) == checksum(a.data(), a.size()))
       << " b.loaded=" << b.loaded() << "\n";
    // Moves keep one attachment.
    rt::SharedSegment c = std::move(a);
    os << "moved=" << bool(c) << " from=" << bool(a) << "\n";
    auto info = rt::SharedSegment::inspect(job, "x");
    os << "pids=" << (info ? info->pids.size() : 0)
       << " state=" << (info ? info->state : "") << "\n";
    os << "release b=" << b.release() << " files=" << jobFiles(job).size()
       << "\n";
    os << "release c=" << c.release() << " files=" << jobFiles(job).size()
       << "\n";
    // Empty segments are fine; odd characters are replaced.
    auto e = rt::SharedSegment::acquire(
        job, "a/b c", 0, [](void *, size_t n) { (void)n; }, 60);
    os << "empty name=" << e.name() << " size=" << e.size() << "\n";
    return os.str();
  });
  std::printf("%s", out.c_str());
  EXPECT_NE(
      out.find("loaded=1 name=/" + rt::userSegmentPrefix() + job + "-x\n"),
      std::string::npos);
  EXPECT_NE(out.find("mismatch: shared-memory segment /dev/shm/" +
                     rt::userSegmentPrefix() + job +
                     "-x holds 8192 bytes but this process expects 4096 "
                     "bytes"),
            std::string::npos);
  EXPECT_EQ(out.find("second fill"), std::string::npos);
  EXPECT_NE(out.find("same=1 b.loaded=0"), std::string::npos);
  EXPECT_NE(out.find("moved=1 from=0"), std::string::npos);
  EXPECT_NE(out.find("pids=2 state=ready"), std::string::npos);
  EXPECT_NE(out.find("release b=0 files=1"), std::string::npos);
  EXPECT_NE(out.find("release c=1 files=0"), std::string::npos);
  EXPECT_NE(out.find("empty name=/" + rt::userSegmentPrefix() + job +
                     "-a_b_c size=0"),
            std::string::npos);
  EXPECT_TRUE(jobFiles(job).empty());
}

/// The data pages are read-only after fill, in the loader too.
TEST(SharedMemory, DataIsReadOnly) {
  const std::string job = uniqueJob();
  Children kids(job);
  pid_t pid = kids.spawn([&] {
    struct rlimit none = {0, 0};
    ::setrlimit(RLIMIT_CORE, &none); // no core file
    auto seg = rt::SharedSegment::acquire(
        job, "ro", 4096, [](void *p, size_t n) { std::memset(p, 1, n); }, 60);
    *static_cast<volatile char *>(const_cast<void *>(seg.data())) = 2;
    return 0;
  });
  int status = kids.wait(pid);
  EXPECT_TRUE(status == 128 + SIGSEGV || status == 128 + SIGBUS) << status;
}

/// A segment another user could write (or owns) is refused before its
/// header is read: it could feed the run poisoned data (issue 17, 6).
TEST(SharedMemory, ForeignOrOpenSegmentIsRefused) {
  const std::string job = uniqueJob();
  const std::string path =
      "/dev/shm/" + rt::userSegmentPrefix() + job + "-poisoned";
  auto plant = [&](mode_t mode, uid_t owner) {
    ::unlink(path.c_str());
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fchmod(fd, mode), 0);
    if (owner != ::geteuid())
      ASSERT_EQ(::fchown(fd, owner, ::getegid()), 0);
    ASSERT_EQ(::ftruncate(fd, 1 << 16), 0);
    ::close(fd);
  };
  auto attempt = [&] {
    bool filled = false;
    std::string message = "no error";
    try {
      auto seg = rt::SharedSegment::acquire(
          job, "poisoned", 4096, [&](void *, size_t) { filled = true; }, 5);
    } catch (const rt::Error &e) {
      message = e.what();
    }
    std::printf("[ message ] %s\n", message.c_str());
    EXPECT_FALSE(filled);
    return message;
  };
  plant(0644, ::geteuid()); // this user's, but others may read it
  std::string m = attempt();
  EXPECT_NE(m.find(path), std::string::npos);
  EXPECT_NE(m.find("with mode 0644"), std::string::npos);
  EXPECT_NE(m.find("mode 0600"), std::string::npos);
  plant(0666, ::geteuid()); // anyone may write it
  EXPECT_NE(attempt().find("with mode 0666"), std::string::npos);
  if (::geteuid() == 0) { // only root can plant a file of another uid
    plant(0600, 65534);
    m = attempt();
    EXPECT_NE(m.find("belongs to uid 65534"), std::string::npos);
  }
  ::unlink(path.c_str());
  EXPECT_EQ(rt::userSegmentPrefix(),
            "s2s-u" + std::to_string(::geteuid()) + "-");
}

} // namespace
