//===- RedisServer.cpp - A redis-server process this process owns ---------===//
//
// fork + execvp of `redis-server <dir>/redis.conf`; the child gets its own
// process group so that a terminal's Ctrl-C reaches the owner, which then
// stops the server in order (SIGTERM: redis-server closes its socket and
// exits). An owner that dies without stopping it (SIGKILL, a crash) takes
// it along (PR_SET_PDEATHSIG), and it inherits none of the owner's open
// files but stderr (a test runner waiting on the owner's output pipe is
// not kept waiting by an orphaned server).
//
//===----------------------------------------------------------------------===//

#include "store/RedisServer.h"

#include "s2s/runtime/Error.h"
#include "store/Redis.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace s2s::rt {

namespace {

std::string configText(const RedisServerConfig &c, const std::string &dir) {
  std::ostringstream o;
  o << "# written by s2s (store/RedisServer.cpp): a data server for one job\n"
    << "daemonize no\n"
    << "dir " << dir << "\n"
    << "logfile " << dir << "/redis.log\n"
    << "pidfile " << dir << "/redis.pid\n"
    << "requirepass " << c.password << "\n"
    << "protected-mode yes\n"
    << "maxmemory-policy noeviction\n"
    << "proto-max-bulk-len 512mb\n";
  if (c.maxmemoryBytes > 0)
    o << "maxmemory " << c.maxmemoryBytes << "\n";
  if (c.persist)
    o << "save 3600 1 300 100\nappendonly no\n";
  else
    o << "save \"\"\nappendonly no\n";
  if (c.bind.empty())
    o << "port 0\nunixsocket " << dir << "/redis.sock\nunixsocketperm 700\n";
  else
    o << "bind " << c.bind << "\nport " << c.port << "\n";
  return o.str();
}

} // namespace

RedisServer::RedisServer(const RedisServerConfig &config) : config_(config) {
  if (config_.password.empty())
    throw Error("a data server needs a password (it never runs without "
                "one); set S2S_REDIS_PASSWORD or --password-file");
  if (config_.password.find_first_of(" \n\r\t\"'") != std::string::npos)
    throw Error("the data server's password must not contain spaces, quotes "
                "or newlines");
  std::error_code ec;
  std::filesystem::create_directories(config_.dir, ec);
  const std::string dir = std::filesystem::absolute(config_.dir).string();
  if (ec)
    throw Error("cannot create the data server's folder '" + dir +
                "': " + ec.message());
  config_.dir = dir;
  address_ = config_.bind.empty()
                 ? "unix://" + dir + "/redis.sock"
                 : config_.bind + ":" + std::to_string(config_.port);

  if (config_.bind.empty() && dir.size() + 11 >= 104) // sun_path's limit
    throw Error("the data server's socket '" + dir +
                "/redis.sock' has a path too long for a Unix socket (" +
                std::to_string(dir.size() + 11) +
                " characters; at most 103): use a shorter --dir");
  const std::string conf = dir + "/redis.conf";
  {
    const int fd = ::open(conf.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
      throw Error("cannot write '" + conf + "': " + std::strerror(errno));
    ::fchmod(fd, 0600);
    const std::string text = configText(config_, dir);
    const bool ok =
        ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    ::close(fd);
    if (!ok)
      throw Error("cannot write '" + conf + "'");
  }
  std::filesystem::remove(dir + "/redis.log", ec);

  const pid_t owner = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0)
    throw Error(std::string("cannot start redis-server: fork: ") +
                std::strerror(errno));
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != owner) // the owner died before prctl
      _exit(1);
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
    }
    for (int fd = 3; fd < 1024; ++fd)
      ::close(fd);
    execlp(config_.executable.c_str(), config_.executable.c_str(), conf.c_str(),
           static_cast<char *>(nullptr));
    const std::string msg = "s2s: cannot run '" + config_.executable +
                            "': " + std::strerror(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    _exit(127);
  }

  // Up when an authenticated PING works.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string last;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw Error("redis-server ('" + config_.executable + "', config '" +
                  conf + "') exited at start" +
                  (WIFEXITED(status) && WEXITSTATUS(status) == 127
                       ? std::string(": it is not installed (Debian: apt "
                                     "install redis-server)")
                       : ": " + logTail()));
    }
    try {
      RedisClient::Options o;
      o.password = config_.password;
      o.timeoutSeconds = 2;
      RedisClient probe(address_, o);
      return;
    } catch (const Error &e) {
      last = e.what();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      reap(SIGKILL, 0);
      throw Error("redis-server at '" + address_ +
                  "' did not answer within 20 s of starting (" + last +
                  "); its log: " + logTail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

RedisServer::~RedisServer() {
  try {
    stop();
  } catch (...) {
  }
}

void RedisServer::reap(int signal, double graceSeconds) {
  if (pid_ <= 0)
    return;
  ::kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(int64_t(graceSeconds * 1e3));
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD))
      break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

void RedisServer::stop() { reap(SIGTERM, 10); }
void RedisServer::kill() { reap(SIGKILL, 0); }

bool RedisServer::waitUntil(const volatile int &interrupted) {
  while (pid_ > 0 && !interrupted) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pid_ <= 0;
}

std::string RedisServer::logTail() const {
  std::ifstream in(config_.dir + "/redis.log");
  std::string line, tail;
  std::vector<std::string> lines;
  while (std::getline(in, line))
    lines.push_back(line);
  for (size_t i = lines.size() > 5 ? lines.size() - 5 : 0; i < lines.size();
       ++i)
    tail += (tail.empty() ? "" : " | ") + lines[i];
  return tail.empty() ? "(its log is empty)" : tail;
}

} // namespace s2s::rt
