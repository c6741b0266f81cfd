//===- FileLock.cpp - A kernel-held lock on a file ------------------------===//

#include "support/FileLock.h"

#include "s2s/runtime/Error.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

namespace fs = std::filesystem;

namespace s2s::rt {

FileLock::FileLock(FileLock &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

FileLock &FileLock::operator=(FileLock &&other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0)
    ::close(fd_); // releases the lock
}

namespace {

/// What the holder wrote into the lock file ("PID HOST"), or "".
std::string holderOf(int fd) {
  char buf[256] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text = n > 0 ? std::string(buf, size_t(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

} // namespace

FileLock FileLock::acquire(const std::string &path, const std::string &what,
                           const std::string &advice) {
  std::error_code ec;
  if (fs::path(path).has_parent_path())
    fs::create_directories(fs::path(path).parent_path(), ec);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error("cannot create the lock file '" + path + "' of " + what + ": " +
                std::strerror(errno) + " (is the folder writable?)");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    const std::string holder = holderOf(fd);
    ::close(fd);
    if (e != EWOULDBLOCK)
      throw Error("cannot lock '" + path + "' of " + what + ": " +
                  std::strerror(e));
    const size_t space = holder.find(' ');
    throw Error(
        what + " is in use by process " +
        (holder.empty() ? std::string("(unknown)") : holder.substr(0, space)) +
        (space == std::string::npos ? std::string()
                                    : " on host " + holder.substr(space + 1)) +
        " (it holds '" + path + "'); " + advice);
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string text =
      std::to_string(::getpid()) + " " + std::string(host) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, text.data(), text.size(), 0) != ssize_t(text.size())) {
    const int e = errno;
    ::close(fd);
    throw Error("cannot write the lock file '" + path + "' of " + what + ": " +
                std::strerror(e));
  }
  FileLock lock;
  lock.fd_ = fd;
  lock.path_ = path;
  return lock;
}

} // namespace s2s::rt
