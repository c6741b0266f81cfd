//===- Redis.h - A small client of a Redis data server ----------*- C++ -*-===//
//
// What the server store (store/ServerStore.h) talks through: one hiredis
// connection, owned (RAII), to "unix:///path/redis.sock", "host:port" or
// "redis://host:port", authenticated (AUTH password, or AUTH user password)
// and with a time limit on every read and write, so that a server that dies
// or hangs becomes an s2s::rt::Error naming its address within
// timeoutSeconds instead of a hang. Commands are sent one at a time
// (command) or pipelined (append ... then reply for each). After a
// connection error the client is unusable (hiredis's rule): every later
// call throws the same error. The first client makes the process ignore
// SIGPIPE (unless it handles it), so that writing to a server that died is
// an error, not the end of the process. Torch-free.
//
// The password never goes on a command line (ps shows argv to every user):
// passwordFromEnvironment() reads $S2S_REDIS_PASSWORD, else the first line
// of the file named by $S2S_REDIS_PASSWORD_FILE (what `s2s-data serve`
// writes, mode 0600).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_STORE_REDIS_H
#define S2S_RUNTIME_STORE_REDIS_H

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace s2s::rt {

/// Where a Redis server listens.
struct RedisAddress {
  std::string text; ///< as written, for messages
  std::string path; ///< Unix socket; empty for TCP
  std::string host;
  int port = 0;
  /// Parses "unix:///abs/path.sock", "/abs/path.sock", "host:port" or
  /// "redis://host:port"; throws Error saying what is expected.
  static RedisAddress parse(const std::string &text);
};

/// $S2S_REDIS_PASSWORD, else the first line of $S2S_REDIS_PASSWORD_FILE
/// (an Error when that file cannot be read), else empty.
std::string passwordFromEnvironment();
/// Seconds a server may take to answer before it counts as dead:
/// $S2S_REDIS_TIMEOUT when set (> 0), else 10.
double timeoutFromEnvironment();

/// One reply, owned.
class RedisReply {
public:
  explicit RedisReply(redisReply *r = nullptr);
  bool isNil() const;
  bool isError() const;
  std::string_view text() const; ///< string, status or error replies
  int64_t integer() const;
  size_t size() const; ///< elements of an array reply
  const redisReply *element(size_t i) const;
  const redisReply *raw() const { return r_.get(); }

private:
  struct Free {
    void operator()(redisReply *r) const;
  };
  std::unique_ptr<redisReply, Free> r_;
};

/// The string of an array element (empty for nil).
std::string_view replyText(const redisReply *r);

class RedisClient {
public:
  struct Options {
    std::string user;     ///< ACL user; empty: the default user
    std::string password; ///< empty: no AUTH
    double timeoutSeconds = 10;
  };

  /// Connects, authenticates and PINGs. Throws Error naming the address:
  /// nobody listening, a timeout, a wrong password, a server that wants
  /// one.
  RedisClient(const std::string &address, const Options &options);
  ~RedisClient();
  RedisClient(const RedisClient &) = delete;
  RedisClient &operator=(const RedisClient &) = delete;

  /// Sends one command and returns its reply; an error reply throws Error
  /// (the command's name and the server's words) unless allowError.
  RedisReply command(const std::vector<std::string_view> &args,
                     bool allowError = false);
  /// Queues a command of a pipeline (sent when the first reply is read).
  void append(const std::vector<std::string_view> &args);
  /// The reply of the oldest queued command (error replies as command()).
  RedisReply reply(bool allowError = false);

  const std::string &address() const { return address_.text; }
  double timeoutSeconds() const { return options_.timeoutSeconds; }

private:
  [[noreturn]] void fail(const std::string &what);

  RedisAddress address_;
  Options options_;
  redisContext *c_ = nullptr;
  size_t pending_ = 0;
  std::string broken_; ///< the error that made the connection unusable
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_STORE_REDIS_H
