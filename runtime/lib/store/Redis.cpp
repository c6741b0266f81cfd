//===- Redis.cpp - A small client of a Redis data server ------------------===//
//
// hiredis's blocking API with a socket time limit (redisSetTimeout): a read
// that waits longer fails with EAGAIN, which becomes the "did not answer
// within N s" error; a server that died fails at once (connection reset or
// end of file).
//
//===----------------------------------------------------------------------===//

#include "store/Redis.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"

#include <hiredis/hiredis.h>
#include <signal.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace s2s::rt {

RedisAddress RedisAddress::parse(const std::string &text) {
  RedisAddress a;
  a.text = text;
  std::string rest = text;
  if (rest.rfind("unix://", 0) == 0) {
    a.path = rest.substr(7);
  } else if (!rest.empty() && rest[0] == '/') {
    a.path = rest;
  } else {
    if (rest.rfind("redis://", 0) == 0)
      rest = rest.substr(8);
    const size_t colon = rest.rfind(':');
    if (colon != std::string::npos && colon > 0) {
      a.host = rest.substr(0, colon);
      const std::string port = rest.substr(colon + 1);
      char *end = nullptr;
      const long p = std::strtol(port.c_str(), &end, 10);
      if (!port.empty() && !*end && p > 0 && p < 65536)
        a.port = int(p);
    }
  }
  if (a.path.empty() && (a.host.empty() || a.port == 0))
    throw Error("data server address '" + text +
                "' is neither unix:///path/to/redis.sock nor host:port "
                "(e.g. 10.0.0.5:6379)");
  if (!a.path.empty() && a.path[0] != '/')
    throw Error("data server address '" + text +
                "': the socket path must be absolute (unix:///path/to.sock)");
  return a;
}

std::string passwordFromEnvironment() {
  if (const char *p = std::getenv("S2S_REDIS_PASSWORD"); p && *p)
    return p;
  const char *file = std::getenv("S2S_REDIS_PASSWORD_FILE");
  if (!file || !*file)
    return "";
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line))
    throw Error(std::string("cannot read the data server's password from "
                            "S2S_REDIS_PASSWORD_FILE '") +
                file + "': " + std::strerror(errno));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

double timeoutFromEnvironment() {
  if (const char *t = std::getenv("S2S_REDIS_TIMEOUT"); t && *t) {
    char *end = nullptr;
    const double v = std::strtod(t, &end);
    if (*end || !(v > 0) || !std::isfinite(v))
      throw Error(std::string("S2S_REDIS_TIMEOUT '") + t +
                  "' is not a number of seconds > 0");
    return v;
  }
  return 10;
}

//===----------------------------------------------------------------------===//
// Replies
//===----------------------------------------------------------------------===//

void RedisReply::Free::operator()(redisReply *r) const { freeReplyObject(r); }
RedisReply::RedisReply(redisReply *r) : r_(r) {}
bool RedisReply::isNil() const { return !r_ || r_->type == REDIS_REPLY_NIL; }
bool RedisReply::isError() const { return r_ && r_->type == REDIS_REPLY_ERROR; }
std::string_view RedisReply::text() const { return replyText(r_.get()); }
int64_t RedisReply::integer() const {
  if (!r_)
    return 0;
  if (r_->type == REDIS_REPLY_INTEGER)
    return r_->integer;
  return std::strtoll(std::string(text()).c_str(), nullptr, 10);
}
size_t RedisReply::size() const {
  return r_ && r_->type == REDIS_REPLY_ARRAY ? r_->elements : 0;
}
const redisReply *RedisReply::element(size_t i) const { return r_->element[i]; }

std::string_view replyText(const redisReply *r) {
  if (!r || !r->str)
    return {};
  return {r->str, r->len};
}

//===----------------------------------------------------------------------===//
// The client
//===----------------------------------------------------------------------===//

namespace {
timeval toTimeval(double s) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(s);
  tv.tv_usec = static_cast<suseconds_t>((s - double(tv.tv_sec)) * 1e6);
  return tv;
}
} // namespace

namespace {
/// hiredis writes with write(2): a server that died would kill this process
/// with SIGPIPE instead of failing the write with EPIPE. Ignored once,
/// unless the program handles SIGPIPE itself.
void ignoreSigpipe() {
  static const bool once = [] {
    struct sigaction old {};
    if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
      signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)once;
}
} // namespace

RedisClient::RedisClient(const std::string &address, const Options &options)
    : address_(RedisAddress::parse(address)), options_(options) {
  ignoreSigpipe();
  const timeval tv = toTimeval(options_.timeoutSeconds);
  c_ = address_.path.empty()
           ? redisConnectWithTimeout(address_.host.c_str(), address_.port, tv)
           : redisConnectUnixWithTimeout(address_.path.c_str(), tv);
  if (!c_)
    throw Error("cannot allocate a connection to data server '" +
                address_.text + "'");
  if (c_->err) {
    const std::string why = c_->errstr;
    redisFree(c_);
    c_ = nullptr;
    throw Error("cannot connect to data server '" + address_.text + "': " +
                why + "; is it running? (start one with s2s-data serve)");
  }
  redisSetTimeout(c_, tv);
  if (!options_.password.empty()) {
    std::vector<std::string_view> auth = {"AUTH"};
    if (!options_.user.empty())
      auth.push_back(options_.user);
    auth.push_back(options_.password);
    RedisReply r = command(auth, /*allowError=*/true);
    if (r.isError()) {
      const std::string why(r.text());
      redisFree(c_);
      c_ = nullptr;
      throw Error("data server '" + address_.text +
                  "' refused the password: " + why +
                  "; set S2S_REDIS_PASSWORD or S2S_REDIS_PASSWORD_FILE to "
                  "the one s2s-data serve printed");
    }
  }
  RedisReply pong = command({"PING"}, /*allowError=*/true);
  if (pong.isError()) {
    const std::string why(pong.text());
    redisFree(c_);
    c_ = nullptr;
    throw Error("data server '" + address_.text + "' refused us: " + why +
                (why.find("NOAUTH") != std::string::npos
                     ? "; it wants a password: set S2S_REDIS_PASSWORD or "
                       "S2S_REDIS_PASSWORD_FILE"
                     : std::string()));
  }
}

RedisClient::~RedisClient() {
  if (c_)
    redisFree(c_);
}

void RedisClient::fail(const std::string &what) {
  std::string why = c_ && c_->errstr[0] ? c_->errstr : "unknown error";
  const bool timedOut = c_ && c_->err == REDIS_ERR_IO &&
                        (errno == EAGAIN || errno == EWOULDBLOCK);
  if (timedOut || why.find("temporarily unavailable") != std::string::npos)
    broken_ = "data server '" + address_.text + "' did not answer " + what +
              " within " + formatNumber(options_.timeoutSeconds) +
              " s (S2S_REDIS_TIMEOUT); is it running and reachable?";
  else
    broken_ = "lost the connection to data server '" + address_.text +
              "' during " + what + ": " + why +
              "; is it still running? (restart it, push the data again and "
              "resume from the last checkpoint)";
  throw Error(broken_);
}

RedisReply RedisClient::command(const std::vector<std::string_view> &args,
                                bool allowError) {
  append(args);
  return reply(allowError);
}

void RedisClient::append(const std::vector<std::string_view> &args) {
  if (!broken_.empty())
    throw Error(broken_);
  std::vector<const char *> argv;
  std::vector<size_t> lens;
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(c_, int(argv.size()), argv.data(), lens.data()) !=
      REDIS_OK)
    fail(std::string(args.empty() ? "" : args[0]));
  ++pending_;
}

RedisReply RedisClient::reply(bool allowError) {
  if (!broken_.empty())
    throw Error(broken_);
  void *raw = nullptr;
  errno = 0;
  if (pending_ == 0)
    throw Error("internal: a reply was asked of data server '" + address_.text +
                "' with no command pending");
  --pending_;
  if (redisGetReply(c_, &raw) != REDIS_OK || !raw)
    fail("a request");
  RedisReply r(static_cast<redisReply *>(raw));
  if (r.isError() && !allowError) {
    // The rest of the pipeline is read and dropped: the connection stays
    // in step with its commands.
    for (; pending_ > 0; --pending_)
      if (redisGetReply(c_, &raw) != REDIS_OK)
        fail("a request");
      else
        freeReplyObject(raw);
    throw Error("data server '" + address_.text +
                "' answered with an error: " + std::string(r.text()));
  }
  return r;
}

} // namespace s2s::rt
