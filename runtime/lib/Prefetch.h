//===- Prefetch.h - Batches assembled ahead by background threads -*- C++ -*-===//
//
// Private to libs2s_runtime. A Prefetcher hands out batches first..end-1 of
// an epoch in order; `threads` workers build them ahead with `make(b)` (b =
// the batch's number in the epoch), at most `depth` beyond the one the
// consumer asks for next, so memory stays bounded by depth + 1 batches.
// Workers fill slots by batch number, so the i-th batch is the same whatever
// the threads' timing. An exception thrown by `make` for batch b is
// re-thrown by next() when the consumer reaches b (batches before it are
// handed out first) and by every next() after it. depth 0: no threads,
// next() builds the batch itself.
//
// start() and stop() are called by the consumer's thread only; stop() (and
// the destructor) waits for the workers to finish the batch they are
// building and joins them.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_LIB_PREFETCH_H
#define S2S_RUNTIME_LIB_PREFETCH_H

#include "s2s/runtime/Loader.h"

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace s2s::rt::loader_detail {

class Prefetcher {
public:
  using Make = std::function<Batch(int64_t)>;

  Prefetcher() = default;
  Prefetcher(const Prefetcher &) = delete;
  Prefetcher &operator=(const Prefetcher &) = delete;
  ~Prefetcher() { stop(); }

  /// Stops a running epoch, then hands out batches [first, end) built by
  /// `make`, `depth` ahead by `threads` workers (depth 0: synchronously).
  void start(int64_t first, int64_t end, int64_t depth, int64_t threads,
             Make make);
  /// The next batch, or nullopt after the last; adds the seconds it blocked
  /// (or, synchronously, spent building it) to `waited`.
  std::optional<Batch> next(double &waited);
  /// Stops and joins the workers; drops the batches built ahead.
  void stop();
  /// Batches built and not yet handed out.
  int64_t queued() const;

private:
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  void work();

  Make make_;
  int64_t next_ = 0, claim_ = 0, end_ = 0, depth_ = 0;
  bool stop_ = false, failed_ = false;
  std::exception_ptr sticky_;
  std::map<int64_t, Slot> ready_;
  std::vector<std::thread> threads_;
  mutable std::mutex m_;
  std::condition_variable work_, ready_cv_;
};

} // namespace s2s::rt::loader_detail

#endif // S2S_RUNTIME_LIB_PREFETCH_H
