//===- RedisServer.h - A redis-server process this process owns -*- C++ -*-===//
//
// What `s2s-data serve` runs and the tests start: a real redis-server
// (Debian's package) configured for a data job, as a child process:
//
//   - a Unix socket (default, mode 0700: this user only) or a TCP port on a
//     given interface; never without a password: requirepass is always
//     set, and the password goes into the config file (mode 0600, in the
//     server's folder), never onto a command line;
//   - maxmemory as given, with policy noeviction: a full server refuses
//     writes (the push fails, saying so) instead of silently evicting
//     samples a reader needs;
//   - no persistence (save "", appendonly no) unless asked: the files the
//     data came from are the copy that lasts.
//
// start() returns once the server answers an authenticated PING (or throws
// an Error with the end of its log); stop() sends SIGTERM and waits; the
// destructor stops it. If the thread that made it ends without (the owner
// killed or crashed), the server gets SIGTERM too (PR_SET_PDEATHSIG): make
// it on a thread that lives as long as it should. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_STORE_REDISSERVER_H
#define S2S_RUNTIME_STORE_REDISSERVER_H

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace s2s::rt {

struct RedisServerConfig {
  std::string dir;            ///< its folder: config, socket, log (created)
  std::string bind;           ///< TCP interface; empty: a Unix socket in dir
  int port = 0;               ///< TCP port (with bind)
  std::string password;       ///< required
  int64_t maxmemoryBytes = 0; ///< 0: no limit
  bool persist = false;       ///< RDB snapshots into dir
  std::string executable = "redis-server";
};

class RedisServer {
public:
  /// Writes dir/redis.conf, starts the server and waits (up to 20 s) until
  /// it answers. Throws Error naming the executable, the folder and the
  /// end of its log.
  explicit RedisServer(const RedisServerConfig &config);
  ~RedisServer();
  RedisServer(const RedisServer &) = delete;
  RedisServer &operator=(const RedisServer &) = delete;

  /// "unix:///dir/redis.sock" or "host:port".
  const std::string &address() const { return address_; }
  pid_t pid() const { return pid_; }
  /// SIGTERM, then waits for it to exit (SIGKILL after 10 s).
  void stop();
  /// SIGKILL and wait: a server that dies (tests of faults).
  void kill();
  /// Blocks until the server exits or `interrupted` becomes true (checked
  /// every 100 ms); returns whether it exited by itself.
  bool waitUntil(const volatile int &interrupted);
  /// The last lines of its log, for messages.
  std::string logTail() const;

private:
  void reap(int signal, double graceSeconds);
  RedisServerConfig config_;
  std::string address_;
  pid_t pid_ = -1;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_STORE_REDISSERVER_H
