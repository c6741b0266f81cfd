//===- SharedMemory.cpp - One copy of a data set per node
//------------------===//
//
// See SharedMemory.h for the protocol. Lock bytes of every segment (OFD
// locks, owned by the open file description, dropped by the kernel when
// the process dies):
//   0 ATTACH  shared while attached; exclusive (non-blocking) to decide
//             that nobody else is attached, held across the unlink
//   1 FILL    exclusive while the loader fills
//   2 DETACH  exclusive while a process decides whether it is the last
//   3 TABLE   exclusive while the PID table in the header is edited
// A name is unlinked only by a process holding ATTACH exclusively on the
// file the name refers to (checked by device and inode), so a name never
// disappears under a process that holds ATTACH shared, and a process that
// opened a name that was unlinked before it got its lock notices (the
// name no longer refers to its file) and starts over.
//
//===----------------------------------------------------------------------===//

#include "store/SharedMemory.h"

#include "s2s/runtime/Error.h"
#include "support/Hash.h"
#include "support/Text.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <mutex>
#include <pwd.h>
#include <signal.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>

namespace s2s::rt {

namespace {

constexpr uint64_t kMagic = 0x31304d4853533273ull; // "s2SSHM01"
constexpr uint32_t kVersion = 1;
constexpr int kMaxPids = 1024;

enum State : uint32_t { Filling = 0, Ready = 1, Failed = 2 };
enum LockByte : off_t { Attach = 0, FillLock = 1, Detach = 2, Table = 3 };

/// At offset 0 of every segment; the data start at `headerBytes` (a page
/// multiple). `magic` is written last by the loader, before the file gets
/// its public name.
struct Header {
  uint64_t magic;
  uint32_t version;
  uint32_t state; ///< State, accessed atomically
  uint64_t bytes;
  uint64_t headerBytes;
  int32_t loaderPid;
  int32_t npids;          ///< entries of pids in use (some may be 0)
  int32_t pids[kMaxPids]; ///< attached processes; 0 = free entry
  char message[1024];     ///< the loader's error when Failed
};

size_t pageSize() {
  long p = ::sysconf(_SC_PAGESIZE);
  return p > 0 ? size_t(p) : 4096;
}

size_t headerBytes() {
  size_t p = pageSize();
  return (sizeof(Header) + p - 1) / p * p;
}

std::string errnoText(int err) { return std::strerror(err); }

/// "s2s-u<uid>-<job>-<name>", shortened with a hash when too long for a
/// file name.
std::string baseName(const std::string &job, const std::string &name) {
  if (name.empty())
    throw Error("shared-memory segment of job '" + job +
                "': the segment name is empty");
  std::string base =
      userSegmentPrefix() + sanitizeName(job) + "-" + sanitizeName(name);
  if (base.size() > 200)
    base = base.substr(0, 183) + "-" + hex16(Fnv1a().text(base).value());
  return base;
}

std::string pathOf(const std::string &base) {
  return std::string(sharedMemoryDir()) + "/" + base;
}

/// Takes (or with F_UNLCK drops) lock byte `at`. Non-blocking: false when
/// another open file description holds a conflicting lock.
bool ofdLock(int fd, short type, off_t at, bool wait, const std::string &path) {
  struct flock fl;
  std::memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = at;
  fl.l_len = 1;
  for (;;) {
    if (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0)
      return true;
    if (errno == EINTR)
      continue;
    if (!wait && (errno == EAGAIN || errno == EACCES))
      return false;
    throw Error("shared-memory segment " + path + ": cannot lock it (" +
                errnoText(errno) +
                "); the file system under /dev/shm must support open file "
                "description locks (Linux 3.15 or later)");
  }
}

/// Whether another open file description holds lock byte `at` so that a
/// lock of `type` would conflict.
bool ofdHeld(int fd, short type, off_t at, const std::string &path) {
  struct flock fl;
  std::memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = at;
  fl.l_len = 1;
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0)
    throw Error("shared-memory segment " + path + ": cannot query its locks (" +
                errnoText(errno) + ")");
  return fl.l_type != F_UNLCK;
}

/// Throws (closing `fd`) unless the segment open as `fd` is a regular file
/// of this user with mode 0600.
void checkOwner(int fd, const std::string &path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error("shared-memory segment " + path + ": cannot stat it (" +
                errnoText(err) + ")");
  }
  if (S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
      (st.st_mode & 07777) == 0600)
    return;
  ::close(fd);
  char mode[16];
  std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
  std::string owner = std::to_string(st.st_uid);
  struct passwd pw, *found = nullptr;
  char buf[1024];
  if (::getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &found) == 0 && found)
    owner += " (" + std::string(found->pw_name) + ")";
  throw Error("shared-memory segment " + path + " belongs to uid " + owner +
              " with mode " + mode +
              "; s2s attaches only to segments of "
              "this user (uid " +
              std::to_string(::geteuid()) +
              ") with mode 0600, which no other user can write: refusing "
              "it. If it is not a job of yours, have it removed (rm " +
              path + ")");
}

/// Whether `path` still names the file open as `fd`.
bool sameFile(int fd, const std::string &path) {
  struct stat a, b;
  if (::fstat(fd, &a) != 0 || ::stat(path.c_str(), &b) != 0)
    return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

uint32_t loadState(const Header *h) {
  return __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
}
void storeState(Header *h, uint32_t s) {
  __atomic_store_n(&h->state, s, __ATOMIC_RELEASE);
}

const char *stateName(uint32_t s) {
  switch (s) {
  case Filling:
    return "filling";
  case Ready:
    return "ready";
  case Failed:
    return "failed";
  }
  return "unknown";
}

std::string pidList(const Header &h) {
  std::string out;
  int n = std::clamp(h.npids, 0, kMaxPids);
  for (int i = 0; i < n; ++i)
    if (h.pids[i] > 0)
      out += (out.empty() ? "" : ", ") + std::to_string(h.pids[i]);
  return out.empty() ? "none" : out;
}

bool pidAlive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

/// A loader's private file is "<base>+tmp<pid>-<n>" ('+' is never in a
/// sanitised name).
constexpr const char *kTmpMarker = "+tmp";

/// The pid in "<base>+tmp<pid>-<n>", 0 when `file` is not a private file.
pid_t tmpCreator(const std::string &file) {
  size_t at = file.rfind(kTmpMarker);
  if (at == std::string::npos)
    return 0;
  return pid_t(std::strtol(file.c_str() + at + 4, nullptr, 10));
}

/// One line about a stale segment for stderr.
std::string describeStale(const std::string &path, const Header *h) {
  std::string out = "s2s: removed stale shared-memory segment " + path;
  if (!h)
    return out + " (a loader's private file; its process is gone)";
  out += " (" + describeBytes(h->bytes) + ", " + stateName(h->state) +
         ", loader PID " + std::to_string(h->loaderPid) +
         ", last attached PIDs " + pidList(*h) + "; no process holds it)";
  return out;
}

/// Puts this process into the header's PID table; returns its entry or -1
/// when the table is full (the table is for messages only).
int registerPid(int fd, Header *h, const std::string &path) {
  ofdLock(fd, F_WRLCK, Table, true, path);
  int slot = -1;
  pid_t self = ::getpid();
  int n = std::clamp(h->npids, 0, kMaxPids);
  for (int i = 0; i < n && slot < 0; ++i)
    if (h->pids[i] == 0 || !pidAlive(h->pids[i]))
      slot = i;
  if (slot < 0 && n < kMaxPids) {
    h->npids = n + 1;
    slot = n;
  }
  if (slot >= 0)
    h->pids[slot] = self;
  ofdLock(fd, F_UNLCK, Table, true, path);
  return slot;
}

void failSegment(int fd, Header *h, const std::string &message,
                 const std::string &path) {
  std::snprintf(h->message, sizeof h->message, "%s", message.c_str());
  storeState(h, Failed);
  ofdLock(fd, F_UNLCK, FillLock, true, path);
}

} // namespace

std::string userSegmentPrefix() {
  return "s2s-u" + std::to_string(::geteuid()) + "-";
}

const char *sharedMemoryDir() { return "/dev/shm"; }

//===----------------------------------------------------------------------===//
// SharedSegment
//===----------------------------------------------------------------------===//

double SharedSegment::defaultTimeout() {
  if (const char *v = std::getenv("S2S_SHM_TIMEOUT")) {
    char *end = nullptr;
    double t = std::strtod(v, &end);
    if (end == v || *end || !(t > 0))
      throw Error(std::string("environment variable S2S_SHM_TIMEOUT='") + v +
                  "' is not a positive number of seconds");
    return t;
  }
  return 3600;
}

SharedSegment::SharedSegment(SharedSegment &&o) noexcept {
  *this = std::move(o);
}

SharedSegment &SharedSegment::operator=(SharedSegment &&o) noexcept {
  if (this != &o) {
    try {
      release();
    } catch (...) {
    }
    fd_ = o.fd_;
    header_ = o.header_;
    data_ = o.data_;
    bytes_ = o.bytes_;
    headerBytes_ = o.headerBytes_;
    name_ = std::move(o.name_);
    path_ = std::move(o.path_);
    loaded_ = o.loaded_;
    slot_ = o.slot_;
    o.fd_ = -1;
    o.header_ = o.data_ = nullptr;
    o.bytes_ = o.headerBytes_ = 0;
    o.loaded_ = false;
    o.slot_ = -1;
  }
  return *this;
}

SharedSegment::~SharedSegment() {
  try {
    release();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "s2s: warning: %s\n", e.what());
  }
}

bool SharedSegment::release() {
  if (fd_ < 0)
    return false;
  const int fd = fd_;
  fd_ = -1;
  auto *h = static_cast<Header *>(header_);
  std::string error;
  bool removed = false;
  try {
    if (h && slot_ >= 0) {
      ofdLock(fd, F_WRLCK, Table, true, path_);
      if (h->pids[slot_] == ::getpid())
        h->pids[slot_] = 0;
      ofdLock(fd, F_UNLCK, Table, true, path_);
    }
  } catch (const std::exception &e) {
    error = e.what();
  }
  if (data_)
    ::munmap(data_, bytes_);
  if (header_)
    ::munmap(header_, headerBytes_);
  data_ = header_ = nullptr;
  bytes_ = 0;
  slot_ = -1;
  try {
    // Serialised with other detachers: with two detaching at once, each
    // would otherwise see the other still attached and neither unlink.
    ofdLock(fd, F_WRLCK, Detach, true, path_);
    if (ofdLock(fd, F_WRLCK, Attach, false, path_) && sameFile(fd, path_))
      removed = ::unlink(path_.c_str()) == 0;
    ofdLock(fd, F_UNLCK, Attach, true, path_);
    ofdLock(fd, F_UNLCK, Detach, true, path_);
  } catch (const std::exception &e) {
    error = e.what();
  }
  ::close(fd); // drops whatever locks are left
  if (!error.empty())
    throw Error(error);
  return removed;
}

std::optional<SegmentInfo> SharedSegment::inspect(const std::string &jobId,
                                                  const std::string &name) {
  std::string path = pathOf(baseName(jobId, name));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::nullopt;
    throw Error("shared-memory segment " + path + ": cannot open it (" +
                errnoText(errno) + ")");
  }
  Header h;
  std::memset(&h, 0, sizeof h);
  ssize_t got = ::pread(fd, &h, sizeof h, 0);
  SegmentInfo info;
  info.path = path;
  bool inUse = false;
  try {
    inUse = ofdHeld(fd, F_WRLCK, Attach, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (got != ssize_t(sizeof h) || h.magic != kMagic)
    throw Error("/dev/shm file " + path +
                " is not a shared-memory segment of this version of s2s; "
                "remove it (rm " +
                path + ")");
  info.bytes = h.bytes;
  info.state = stateName(h.state);
  info.loaderPid = h.loaderPid;
  for (int i = 0; i < std::clamp(h.npids, 0, kMaxPids); ++i)
    if (h.pids[i] > 0)
      info.pids.push_back(h.pids[i]);
  info.inUse = inUse;
  h.message[sizeof h.message - 1] = 0;
  info.message = h.message;
  return info;
}

/// Access to SharedSegment's members for acquire's two paths.
struct SegmentAccess {
  static void own(SharedSegment &s, int fd, void *header, size_t hb,
                  const std::string &base, const std::string &path) {
    s.fd_ = fd;
    s.header_ = header;
    s.headerBytes_ = hb;
    s.name_ = "/" + base;
    s.path_ = path;
  }

  /// Creates, publishes and fills the segment. False when another process
  /// published it first (or a cleaner removed the private file): start
  /// over.
  static bool create(SharedSegment &out, const std::string &base,
                     const std::string &path, size_t bytes,
                     const SharedSegment::Fill &fill) {
    const size_t hb = headerBytes(), page = pageSize();
    const uint64_t need = hb + (uint64_t(bytes) + page - 1) / page * page;
    auto noRoom = [&](uint64_t avail) {
      return Error("not enough shared memory in " +
                   std::string(sharedMemoryDir()) + " for segment " + path +
                   " (" + describeBytes(bytes) + "; " + describeBytes(avail) +
                   " free); enlarge " + sharedMemoryDir() +
                   " (mount -o remount,size=... /dev/shm; docker run "
                   "--shm-size=...) or use memory = in_memory(shared = "
                   "false)");
    };
    struct statvfs sv;
    if (::statvfs(sharedMemoryDir(), &sv) == 0) {
      uint64_t avail = uint64_t(sv.f_bavail) * uint64_t(sv.f_frsize);
      if (avail < need)
        throw noRoom(avail);
    }

    static std::atomic<unsigned> counter{0};
    std::string tmpBase = base + kTmpMarker + std::to_string(::getpid()) + "-" +
                          std::to_string(counter++);
    std::string tmpPath = pathOf(tmpBase);
    int fd = ::shm_open(("/" + tmpBase).c_str(),
                        O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      throw Error("cannot create shared-memory segment " + tmpPath + " (" +
                  errnoText(errno) + ")");
    void *hp = MAP_FAILED;
    auto abandon = [&] {
      if (hp != MAP_FAILED)
        ::munmap(hp, hb);
      ::unlink(tmpPath.c_str());
      ::close(fd);
    };
    try {
      if (!ofdLock(fd, F_RDLCK, Attach, false, tmpPath) ||
          !ofdLock(fd, F_WRLCK, FillLock, false, tmpPath))
        throw Error("shared-memory segment " + tmpPath +
                    ": another process holds a lock on this new file");
      if (::ftruncate(fd, off_t(hb)) != 0)
        throw Error("cannot size shared-memory segment " + tmpPath + " (" +
                    errnoText(errno) + ")");
      hp = ::mmap(nullptr, hb, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (hp == MAP_FAILED)
        throw Error("cannot map shared-memory segment " + tmpPath + " (" +
                    errnoText(errno) + ")");
      auto *h = static_cast<Header *>(hp);
      h->version = kVersion;
      h->bytes = bytes;
      h->headerBytes = hb;
      h->loaderPid = ::getpid();
      storeState(h, Filling);
      __atomic_store_n(&h->magic, kMagic, __ATOMIC_RELEASE);
      if (::link(tmpPath.c_str(), path.c_str()) != 0) {
        int err = errno;
        if (err == EEXIST || err == ENOENT) {
          abandon();
          return false;
        }
        throw Error("cannot publish shared-memory segment " + path + " (" +
                    errnoText(err) + ")");
      }
    } catch (...) {
      abandon();
      throw;
    }
    ::unlink(tmpPath.c_str());
    own(out, fd, hp, hb, base, path); // from here on `out` cleans up
    auto *h = static_cast<Header *>(hp);
    out.slot_ = registerPid(fd, h, path);

    auto failWith = [&](const std::string &message) {
      failSegment(fd, h, message, path);
    };
    if (::ftruncate(fd, off_t(hb + bytes)) != 0) {
      std::string msg = "cannot size shared-memory segment " + path + " to " +
                        describeBytes(hb + bytes) + " (" + errnoText(errno) +
                        ")";
      failWith(msg);
      throw Error(msg);
    }
    void *data = nullptr;
    if (bytes > 0) {
      // Reserve the pages now: on a full tmpfs, touching an unreserved page
      // of the mapping would raise SIGBUS in the middle of `fill`.
      int err;
      do
        err = ::posix_fallocate(fd, off_t(hb), off_t(bytes));
      while (err == EINTR);
      if (err) {
        struct statvfs sv2;
        uint64_t avail = ::statvfs(sharedMemoryDir(), &sv2) == 0
                             ? uint64_t(sv2.f_bavail) * uint64_t(sv2.f_frsize)
                             : 0;
        std::string msg = err == ENOSPC || err == ENOMEM
                              ? std::string(noRoom(avail).what())
                              : "cannot reserve " + describeBytes(bytes) +
                                    " for shared-memory segment " + path +
                                    " (" + errnoText(err) + ")";
        failWith(msg);
        throw Error(msg);
      }
      data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                    off_t(hb));
      if (data == MAP_FAILED) {
        std::string msg = "cannot map shared-memory segment " + path + " (" +
                          describeBytes(bytes) + "; " + errnoText(errno) + ")";
        failWith(msg);
        throw Error(msg);
      }
    }
    out.data_ = data;
    out.bytes_ = bytes;
    out.loaded_ = true;
    try {
      fill(data, bytes);
    } catch (const std::exception &e) {
      failWith(e.what());
      throw;
    } catch (...) {
      failWith("an exception that is not a std::exception");
      throw;
    }
    if (data && ::mprotect(data, bytes, PROT_READ) != 0) {
      std::string msg = "cannot make shared-memory segment " + path +
                        " read-only (" + errnoText(errno) + ")";
      failWith(msg);
      throw Error(msg);
    }
    storeState(h, Ready);
    ofdLock(fd, F_UNLCK, FillLock, true, path);
    return true;
  }

  /// Attaches to the published segment open as `fd` and waits until it is
  /// ready. False when the name went away or was stale (and removed here):
  /// start over.
  static bool attach(SharedSegment &out, int fd, const std::string &jobId,
                     const std::string &base, const std::string &path,
                     size_t bytes,
                     std::chrono::steady_clock::time_point deadline,
                     double timeoutSeconds) {
    try {
      // Waits only while a process that holds it exclusively decides to
      // unlink it.
      ofdLock(fd, F_RDLCK, Attach, true, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (!sameFile(fd, path)) {
      ::close(fd);
      return false;
    }
    const size_t hb = headerBytes();
    Header probe;
    std::memset(&probe, 0, sizeof probe);
    ssize_t got = ::pread(fd, &probe, sizeof probe, 0);
    if (got != ssize_t(sizeof probe) || probe.magic != kMagic ||
        probe.version != kVersion || probe.headerBytes != hb) {
      ::close(fd);
      throw Error("/dev/shm file " + path +
                  " is not a shared-memory segment of this version of s2s; "
                  "if no job uses it, remove it (rm " +
                  path + ")");
    }
    void *hp = ::mmap(nullptr, hb, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (hp == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw Error("cannot map shared-memory segment " + path + " (" +
                  errnoText(err) + ")");
    }
    own(out, fd, hp, hb, base, path);
    auto *h = static_cast<Header *>(hp);
    const pid_t loader = h->loaderPid;
    if (h->bytes != bytes)
      throw Error("shared-memory segment " + path + " holds " +
                  describeBytes(h->bytes) + " but this process expects " +
                  describeBytes(bytes) +
                  ": another data configuration uses job id '" + jobId +
                  "' and the same segment name; give each configuration "
                  "its own name, or each job its own S2S_JOB_ID");

    // Dead on arrival (its loader failed or died before this process came):
    // left by an earlier run. Remove it when nobody else holds it and load
    // afresh; otherwise wait for the processes that still hold it to give
    // up.
    uint32_t state = loadState(h);
    bool stale = state == Failed;
    if (state == Filling && !ofdHeld(fd, F_RDLCK, FillLock, path))
      stale = loadState(h) == Filling || loadState(h) == Failed;
    // Ready but held by no other process (every process that used it died,
    // after this process's sweep): the sweep's rule, removed and loaded
    // afresh rather than trusted. Every live holder keeps a read lock on
    // Attach, so the upgrade succeeds only when there is none.
    if (!stale && state == Ready && ofdLock(fd, F_WRLCK, Attach, false, path))
      stale = true;
    if (stale) {
      if (ofdLock(fd, F_WRLCK, Attach, false, path) && sameFile(fd, path)) {
        std::string line = describeStale(path, h);
        if (::unlink(path.c_str()) == 0)
          std::fprintf(stderr, "%s\n", line.c_str());
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      out.release();
      return false;
    }

    out.slot_ = registerPid(fd, h, path);
    for (unsigned sleepUs = 100;;) {
      state = loadState(h);
      if (state == Ready)
        break;
      if (state == Failed) {
        h->message[sizeof h->message - 1] = 0;
        throw Error("shared-memory segment " + path +
                    ": the process that loads it (PID " +
                    std::to_string(loader) + ") failed: " + h->message);
      }
      if (!ofdHeld(fd, F_RDLCK, FillLock, path)) {
        state = loadState(h);
        if (state != Filling)
          continue;
        throw Error("shared-memory segment " + path +
                    ": the process that loads it (PID " +
                    std::to_string(loader) + ") died while filling it (" +
                    describeBytes(bytes) +
                    "). Look for that process's error (killed for lack of "
                    "memory? then use memory = in_memory(shared = false) or "
                    "a node with more memory) and start the job again; the "
                    "segment is removed when the last process holding it "
                    "exits");
      }
      if (std::chrono::steady_clock::now() > deadline) {
        char secs[32];
        std::snprintf(secs, sizeof secs, "%g", timeoutSeconds);
        throw Error("timed out after " + std::string(secs) +
                    " s waiting for process " + std::to_string(loader) +
                    " to fill shared-memory segment " + path + " (" +
                    describeBytes(bytes) +
                    "); it is still running: if loading takes longer, raise "
                    "S2S_SHM_TIMEOUT (seconds)");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(sleepUs));
      sleepUs = std::min(sleepUs * 2, 20000u);
    }

    struct stat st;
    if (::fstat(fd, &st) != 0 || uint64_t(st.st_size) < hb + bytes)
      throw Error("shared-memory segment " + path +
                  " is shorter than its "
                  "header says (" +
                  describeBytes(hb + bytes) + "); remove it (rm " + path +
                  ") and start again");
    void *data = nullptr;
    if (bytes > 0) {
      data = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, off_t(hb));
      if (data == MAP_FAILED)
        throw Error("cannot map shared-memory segment " + path + " (" +
                    describeBytes(bytes) + "; " + errnoText(errno) + ")");
    }
    out.data_ = data;
    out.bytes_ = bytes;
    return true;
  }
};

SharedSegment SharedSegment::acquire(const std::string &jobId,
                                     const std::string &name, size_t bytes,
                                     const Fill &fill, double timeoutSeconds) {
  static std::once_flag swept;
  std::call_once(swept, [&] {
    const char *v = std::getenv("S2S_SHM_SWEEP");
    std::string mode = v && *v ? v : "all";
    if (mode != "all" && mode != "job" && mode != "off")
      throw Error("environment variable S2S_SHM_SWEEP='" + mode +
                  "' must be all, job or off");
    if (mode == "off")
      return;
    try {
      cleanupStaleSegments(mode == "job" ? jobId : "");
    } catch (const std::exception &e) {
      std::fprintf(stderr, "s2s: warning: %s\n", e.what());
    }
  });
  if (!(timeoutSeconds > 0))
    throw Error("shared-memory segment '" + name +
                "': the timeout must be a positive number of seconds");
  const std::string base = baseName(jobId, name), path = pathOf(base);
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(std::min(timeoutSeconds, 1e9)));
  for (;;) {
    SharedSegment seg;
    int fd = ::shm_open(("/" + base).c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd >= 0)
      checkOwner(fd, path);
    if (fd < 0) {
      int err = errno;
      if (err != ENOENT)
        throw Error("cannot open shared-memory segment " + path + " (" +
                    errnoText(err) + ")" +
                    (err == EACCES ? "; it belongs to another user: set "
                                     "S2S_JOB_ID to a value of your own"
                                   : ""));
      if (SegmentAccess::create(seg, base, path, bytes, fill))
        return seg;
    } else if (SegmentAccess::attach(seg, fd, jobId, base, path, bytes,
                                     deadline, timeoutSeconds)) {
      return seg;
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw Error("timed out acquiring shared-memory segment " + path +
                  ": stale copies of it are still held by processes that "
                  "are giving up");
  }
}

std::vector<std::string> cleanupStaleSegments(const std::string &jobId) {
  std::vector<std::string> removed;
  const std::string dir = sharedMemoryDir();
  const std::string prefix =
      jobId.empty() ? userSegmentPrefix()
                    : userSegmentPrefix() + sanitizeName(jobId) + "-";
  std::vector<std::string> names;
  if (DIR *d = ::opendir(dir.c_str())) {
    while (dirent *e = ::readdir(d))
      if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0)
        names.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  for (const std::string &file : names) {
    std::string path = dir + "/" + file;
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
      continue; // another user's, or gone
    try {
      struct stat st;
      bool isTmp = file.find(kTmpMarker) != std::string::npos;
      if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
          st.st_uid != ::geteuid() || (isTmp && pidAlive(tmpCreator(file))) ||
          !ofdLock(fd, F_WRLCK, Attach, false, path) || !sameFile(fd, path)) {
        ::close(fd);
        continue;
      }
      Header h;
      std::memset(&h, 0, sizeof h);
      bool ours = ::pread(fd, &h, sizeof h, 0) == ssize_t(sizeof h) &&
                  h.magic == kMagic;
      if ((ours || isTmp) && ::unlink(path.c_str()) == 0) {
        std::fprintf(stderr, "%s\n",
                     describeStale(path, ours ? &h : nullptr).c_str());
        removed.push_back(path);
      }
    } catch (const std::exception &) {
    }
    ::close(fd);
  }
  return removed;
}

} // namespace s2s::rt
