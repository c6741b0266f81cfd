//===- FileLock.h - A kernel-held lock on a file ----------------*- C++ -*-===//
//
// flock(2) on a lock file: held by the open file, so the kernel releases it
// when the process ends, however it ends. The file records the holder's
// PID and host, for the message of the process that finds it held.
// Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_FILELOCK_H
#define S2S_RUNTIME_SUPPORT_FILELOCK_H

#include <string>

namespace s2s::rt {

class FileLock {
public:
  FileLock() = default;
  FileLock(FileLock &&other) noexcept;
  FileLock &operator=(FileLock &&other) noexcept;
  FileLock(const FileLock &) = delete;
  FileLock &operator=(const FileLock &) = delete;
  ~FileLock();

  /// Takes the lock of `path` (created with its folder, mode 0644) without
  /// waiting and writes "PID HOST" into it. Throws s2s::rt::Error when
  /// another process holds it, naming `what`, the holder's PID and host
  /// and `advice`; or when the file cannot be created.
  static FileLock acquire(const std::string &path, const std::string &what,
                          const std::string &advice);

  bool held() const { return fd_ >= 0; }
  const std::string &path() const { return path_; }

private:
  int fd_ = -1;
  std::string path_;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_FILELOCK_H
