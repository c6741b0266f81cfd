//===- SharedMemory.h - One copy of a data set per node ---------*- C++ -*-===//
//
// `memory = in_memory(shared = true)`: the local ranks of one job on one node
// share one read-only copy of a data set in POSIX shared memory
// (/dev/shm/s2s-u<uid>-<job>-<name>) instead of loading one copy each.
//
//   auto seg = SharedSegment::acquire(jobId(), "era5-train-3f2a...", bytes,
//                                     [&](void *p, size_t n) { load(p, n); });
//   const float *x = static_cast<const float *>(seg.data());
//
// (jobId() and the local ranks come from the launch environment,
// dist/Launch.h.) Torch-free.
//
// The first local process to arrive creates the segment, calls `fill` and
// publishes it as ready; the others attach and wait for it. After `fill` the
// data pages are mapped read-only in every process. The segment's name is
// removed when the last attached process lets go of it, so its memory is
// freed when the last mapping goes away.
//
// Liveness does not depend on counts that a crash leaves wrong: every
// attached process holds a shared open-file-description lock (F_OFD_SETLK)
// on byte 0 of the segment, and the loader holds an exclusive one on byte 1
// while it fills. The kernel drops these locks when a process exits for any
// reason (SIGKILL, OOM kill, segfault), and they are immune to PID reuse and
// PID namespaces. Hence:
//  - the last process to detach sees nobody else holding byte 0 (detachers
//    are serialised by a third lock) and unlinks the name;
//  - a waiter sees byte 1 free while the state is still "filling": the
//    loader died mid-fill, and the waiter throws an Error naming the
//    segment and the loader's PID instead of hanging;
//  - a segment nobody holds is stale (its processes crashed):
//    cleanupStaleSegments() removes it (the first acquire() of every
//    process runs it), and acquire() of a name whose loader died mid-fill
//    or failed before this process came removes it and loads afresh.
// The header also records the loader's PID and the PIDs of the attached
// processes, for messages only.
//
// Protocol details: the loader builds the header in a private file
// (/dev/shm/s2s-u<uid>-<job>-<name>.tmp<pid>-<n>), takes its locks and link()s
// it to the public name, so a process that finds the name always finds an
// initialised header. Only then does it reserve the data pages with
// posix_fallocate (so a full /dev/shm is an Error, not a SIGBUS on first
// touch) and fill them.
//
// Linux only (OFD locks, /dev/shm).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_STORE_SHAREDMEMORY_H
#define S2S_RUNTIME_STORE_SHAREDMEMORY_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace s2s::rt {

/// What the header of an existing segment says (SharedSegment::inspect).
struct SegmentInfo {
  std::string path;      ///< /dev/shm/s2s-u<uid>-<job>-<name>
  uint64_t bytes = 0;    ///< payload size
  std::string state;     ///< "filling", "ready" or "failed"
  int loaderPid = 0;     ///< the process that ran (runs) fill
  std::vector<int> pids; ///< processes attached (as recorded)
  bool inUse = false;    ///< some live process holds it
  std::string message;   ///< the loader's error when "failed"
};

/// A named, sized buffer in POSIX shared memory, shared by the local ranks
/// of one job: filled once, then read-only. Move-only; the destructor
/// detaches (and unlinks the name when this was the last process attached).
class SharedSegment {
public:
  using Fill = std::function<void(void *data, size_t bytes)>;

  /// Seconds acquire() waits by default for another process to finish
  /// filling (it stops waiting at once when that process dies): the
  /// environment variable S2S_SHM_TIMEOUT, else 3600.
  static double defaultTimeout();

  /// Attaches to /dev/shm/s2s-u<uid>-<jobId>-<name>, creating and filling it
  /// when this process is the first. `jobId` and `name` may hold letters,
  /// digits, '.', '_' and '-' (others are replaced by '_'); `name` must
  /// identify the content (e.g. data set, split and a hash of the data
  /// configuration): a segment of the same name with another size is an
  /// Error. `fill` runs in exactly one process; if it throws, the waiting
  /// processes throw an Error quoting its message. Throws Error when
  /// /dev/shm lacks the room, the wait times out, or the loader dies
  /// mid-fill.
  static SharedSegment acquire(const std::string &jobId,
                               const std::string &name, size_t bytes,
                               const Fill &fill,
                               double timeoutSeconds = defaultTimeout());

  /// The header of /dev/shm/s2s-u<uid>-<jobId>-<name> without attaching to it;
  /// nullopt when there is no such segment.
  static std::optional<SegmentInfo> inspect(const std::string &jobId,
                                            const std::string &name);

  SharedSegment() = default;
  SharedSegment(SharedSegment &&other) noexcept;
  SharedSegment &operator=(SharedSegment &&other) noexcept;
  SharedSegment(const SharedSegment &) = delete;
  SharedSegment &operator=(const SharedSegment &) = delete;
  ~SharedSegment();

  const void *data() const { return data_; }
  size_t size() const { return bytes_; }
  explicit operator bool() const { return fd_ >= 0; }
  /// The POSIX shm name, "/s2s-u<uid>-<job>-<name>".
  const std::string &name() const { return name_; }
  /// True in the one process that ran `fill`.
  bool loaded() const { return loaded_; }

  /// Detaches now (what the destructor does). Returns true when this
  /// process was the last one attached and removed the name.
  bool release();

private:
  friend struct SegmentAccess;
  int fd_ = -1;
  void *header_ = nullptr;
  void *data_ = nullptr;
  size_t bytes_ = 0;
  size_t headerBytes_ = 0;
  std::string name_, path_;
  bool loaded_ = false;
  int slot_ = -1; ///< this process's entry in the header's PID table
};

/// The folder of POSIX shared memory ("/dev/shm").
const char *sharedMemoryDir();

/// "s2s-u<uid>-": how this user's segment names start (the effective uid).
/// A segment is attached only when this user owns it with mode 0600 (a
/// segment another user could write could feed the run poisoned data);
/// acquire() refuses any other, naming its owner and mode.
std::string userSegmentPrefix();

/// Removes every /dev/shm/s2s-* segment of this user that no process holds
/// (left by crashed runs), and private files of loaders that died before
/// publishing. Prints one line per removed segment to stderr ("s2s: removed
/// stale shared-memory segment ...: N bytes, loader PID ..., last attached
/// PIDs ...") and returns their /dev/shm paths. When `jobId` is not empty,
/// only that job's segments are considered. The first acquire() of a
/// process calls this: for all jobs (S2S_SHM_SWEEP=all, the default: the
/// segments of crashed runs carry other job ids), for its own job only
/// (S2S_SHM_SWEEP=job) or not at all (S2S_SHM_SWEEP=off).
std::vector<std::string> cleanupStaleSegments(const std::string &jobId = "");

} // namespace s2s::rt

#endif // S2S_RUNTIME_STORE_SHAREDMEMORY_H
