//===- Prefetch.h - Batches assembled ahead by background threads -*- C++
//-*-===//
//
// A Prefetcher<Item> hands out items (the loaders' batches) first..end-1 of
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

#ifndef S2S_RUNTIME_DATA_PREFETCH_H
#define S2S_RUNTIME_DATA_PREFETCH_H

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace s2s::rt::loader_detail {

/// Seconds from t0 to now.
inline double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

template <typename Item> class Prefetcher {
public:
  using Make = std::function<Item(int64_t)>;

  Prefetcher() = default;
  Prefetcher(const Prefetcher &) = delete;
  Prefetcher &operator=(const Prefetcher &) = delete;
  ~Prefetcher() { stop(); }

  /// Stops a running epoch, then hands out batches [first, end) built by
  /// `make`, `depth` ahead by `threads` workers (depth 0: synchronously).
  void start(int64_t first, int64_t end, int64_t depth, int64_t threads,
             Make make) {
    stop();
    make_ = std::move(make);
    next_ = claim_ = first;
    end_ = end;
    depth_ = depth;
    if (depth_ <= 0 || first >= end)
      return;
    const int64_t n = std::max<int64_t>(1, std::min(threads, depth_));
    threads_.reserve(size_t(n));
    for (int64_t i = 0; i < n; ++i)
      threads_.emplace_back([this] { work(); });
  }

  /// The next batch, or nullopt after the last; adds the seconds it blocked
  /// (or, synchronously, spent building it) to `waited`.
  std::optional<Item> next(double &waited) {
    if (depth_ <= 0) {
      if (next_ >= end_)
        return std::nullopt;
      const auto t0 = std::chrono::steady_clock::now();
      const int64_t b = next_++;
      try {
        Item batch = make_(b);
        waited += secondsSince(t0);
        return batch;
      } catch (...) {
        waited += secondsSince(t0);
        throw;
      }
    }
    std::unique_lock<std::mutex> lock(m_);
    if (sticky_)
      std::rethrow_exception(sticky_);
    if (next_ >= end_)
      return std::nullopt;
    const auto t0 = std::chrono::steady_clock::now();
    ready_cv_.wait(lock, [&] { return stop_ || ready_.count(next_) > 0; });
    waited += secondsSince(t0);
    auto it = ready_.find(next_);
    if (it == ready_.end()) // stopped by another thread: nothing more
      return std::nullopt;
    Slot s = std::move(it->second);
    ready_.erase(it);
    if (s.error) {
      sticky_ = s.error;
      std::rethrow_exception(s.error);
    }
    ++next_;
    lock.unlock();
    work_.notify_all();
    return std::move(s.batch);
  }

  /// Stops and joins the workers; drops the batches built ahead.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    work_.notify_all();
    ready_cv_.notify_all();
    for (std::thread &t : threads_)
      t.join();
    threads_.clear();
    std::lock_guard<std::mutex> lock(m_);
    ready_.clear();
    stop_ = failed_ = false;
    sticky_ = nullptr;
    next_ = claim_ = end_ = 0;
  }

  /// Batches built and not yet handed out.
  int64_t queued() const {
    std::lock_guard<std::mutex> lock(m_);
    return int64_t(ready_.size());
  }

private:
  struct Slot {
    std::optional<Item> batch;
    std::exception_ptr error;
  };
  void work() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      work_.wait(lock, [&] {
        return stop_ || (!failed_ && claim_ < end_ && claim_ < next_ + depth_);
      });
      if (stop_)
        return;
      const int64_t b = claim_++;
      lock.unlock();
      Slot s;
      try {
        s.batch = make_(b);
      } catch (...) {
        s.error = std::current_exception();
      }
      lock.lock();
      if (s.error)
        failed_ = true; // claim nothing after a failed batch
      ready_[b] = std::move(s);
      ready_cv_.notify_all();
    }
  }

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

#endif // S2S_RUNTIME_DATA_PREFETCH_H
