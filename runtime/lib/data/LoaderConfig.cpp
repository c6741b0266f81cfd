//===- LoaderConfig.cpp - The spec's memory = ... as loader settings ------===//

#include "data/Loader.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"

#include <cmath>

namespace s2s::rt {

const char *LoaderConfig::modeName(Mode m) { return rt::name(m); }

std::string LoaderConfig::name() const {
  return shared ? "shared" : modeName(mode);
}

std::string memoryText(const MemoryConfig &m) {
  if (m.mode == MemoryMode::Stream)
    return "stream(buffer = " + std::to_string(m.buffer) +
           ", prefetch = " + std::to_string(m.prefetch) +
           ", refresh = " + formatNumber(m.refresh) + ")";
  return std::string("in_memory(shared = ") + (m.shared ? "true" : "false") +
         ", lazy = " + (m.mode == MemoryMode::Lazy ? "true" : "false") +
         ", prefetch = " + std::to_string(m.prefetch) + ")";
}

LoaderConfig LoaderConfig::fromSpec(const MemoryConfig &memory) {
  const std::string where = "memory = " + memoryText(memory);
  if (memory.prefetch < 0)
    throw Error(where +
                ": prefetch must be an integer >= 0 (batches "
                "assembled ahead; 0: none), got " +
                std::to_string(memory.prefetch));
  LoaderConfig c;
  c.mode = memory.mode;
  c.shared = memory.shared;
  c.prefetch = memory.prefetch;
  if (memory.mode == MemoryMode::Stream) {
    if (memory.buffer < 1)
      throw Error(where + ": stream needs buffer = N >= 1, the samples held "
                          "in memory (e.g. stream(buffer = 4096))");
    if (!(std::isfinite(memory.refresh) && memory.refresh > 0 &&
          memory.refresh <= 1))
      throw Error(where +
                  ": refresh must be a number in (0, 1] (the "
                  "fraction of the buffer replaced per pass over "
                  "it), got " +
                  formatNumber(memory.refresh));
    if (memory.shared)
      throw Error(where + ": stream mode holds a buffer per process; it "
                          "cannot be shared");
    c.buffer = memory.buffer;
    c.refresh = memory.refresh;
  } else if (memory.shared && memory.mode == MemoryMode::Lazy) {
    throw Error(where + ": shared = true and lazy = true cannot be "
                        "combined (shared holds the whole split, loaded "
                        "once per node); choose one");
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
