//===- LoaderConfig.cpp - The spec's memory = ... as loader settings ------===//

#include "data/Loader.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

namespace s2s::rt {

const char *LoaderConfig::modeName(Mode m) {
  switch (m) {
  case Mode::Eager:
    return "eager";
  case Mode::Lazy:
    return "lazy";
  case Mode::Stream:
    return "stream";
  }
  return "?";
}

std::string LoaderConfig::name() const {
  return shared ? "shared" : modeName(mode);
}

namespace {

/// The spec's call as written, for messages: "in_memory(lazy = true, ...)".
std::string callText(const std::map<std::string, std::string> &memory,
                     const std::string &callee) {
  std::string s = callee + "(";
  bool first = true;
  for (const auto &[k, v] : memory) {
    if (k == "callee")
      continue;
    s += (first ? "" : ", ") + k + " = " + v;
    first = false;
  }
  return s + ")";
}

} // namespace

LoaderConfig
LoaderConfig::fromSpec(const std::map<std::string, std::string> &memory) {
  LoaderConfig c;
  auto it = memory.find("callee");
  const std::string callee = it == memory.end() ? "in_memory" : it->second;
  const std::string where =
      "the data section's memory = " + callText(memory, callee);
  if (callee != "in_memory" && callee != "stream")
    throw Error(where + ": unknown memory mode '" + callee +
                "'; use in_memory(...) or stream(buffer = N)");
  const bool stream = callee == "stream";
  const std::set<std::string> allowed =
      stream ? std::set<std::string>{"callee", "buffer", "prefetch", "refresh",
                                     "threads"}
             : std::set<std::string>{"callee", "shared", "lazy", "prefetch",
                                     "threads"};
  for (const auto &kv : memory)
    if (!allowed.count(kv.first))
      throw Error(where + ": " + callee + " has no argument '" + kv.first +
                  "' (" +
                  (stream ? "stream(buffer, prefetch, refresh)"
                          : "in_memory(shared, lazy, prefetch)") +
                  ")");

  auto integer = [&](const char *key, int64_t min, int64_t def,
                     const char *what) -> int64_t {
    auto i = memory.find(key);
    if (i == memory.end())
      return def;
    const std::string &v = i->second;
    errno = 0;
    char *end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || errno || x < min)
      throw Error(where + ": " + key + " must be an integer >= " +
                  std::to_string(min) + " (" + what + "), got '" + v + "'");
    return x;
  };
  auto flag = [&](const char *key) {
    auto i = memory.find(key);
    if (i == memory.end())
      return false;
    if (i->second == "true" || i->second == "1")
      return true;
    if (i->second == "false" || i->second == "0")
      return false;
    throw Error(where + ": " + key + " must be true or false, got '" +
                i->second + "'");
  };

  c.prefetch = integer("prefetch", 0, 2, "batches assembled ahead; 0: none");
  c.threads = integer("threads", 1, 1, "reader threads");
  if (stream) {
    c.mode = Mode::Stream;
    if (!memory.count("buffer"))
      throw Error(where + ": stream needs buffer = N, the samples held in "
                          "memory (e.g. stream(buffer = 4096))");
    c.buffer = integer("buffer", 1, 0, "samples held in memory");
    if (auto r = memory.find("refresh"); r != memory.end()) {
      const std::string &v = r->second;
      errno = 0;
      char *end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || errno || !std::isfinite(x) || !(x > 0) ||
          x > 1)
        throw Error(where + ": refresh must be a number in (0, 1] (the "
                            "fraction of the buffer replaced per pass over "
                            "it), got '" +
                    v + "'");
      c.refresh = x;
    }
  } else {
    const bool lazy = flag("lazy");
    c.shared = flag("shared");
    if (lazy && c.shared)
      throw Error(where + ": shared = true and lazy = true cannot be "
                          "combined (shared holds the whole split, loaded "
                          "once per node); choose one");
    c.mode = lazy ? Mode::Lazy : Mode::Eager;
  }
  return c;
}

std::string LoaderConfig::describe() const {
  std::string s = shared ? "shared (one copy per node)" : modeName(mode);
  if (mode == Mode::Stream)
    s += ", buffer " + std::to_string(buffer) + " samples, refresh " +
         formatNumber(refresh);
  s += ", prefetch " + std::to_string(prefetch);
  if (mode != Mode::Eager || prefetch > 0)
    s += ", " + std::to_string(threads) + " thread" + (threads == 1 ? "" : "s");
  s += ", rank " + std::to_string(rank) + " of " + std::to_string(worldSize);
  return s;
}

} // namespace s2s::rt
