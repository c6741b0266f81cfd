//===- Prefetch.cpp - Batches assembled ahead by background threads --------===//

#include "Prefetch.h"

#include <chrono>

namespace s2s::rt::loader_detail {

namespace {
double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}
} // namespace

void Prefetcher::start(int64_t first, int64_t end, int64_t depth,
                       int64_t threads, Make make) {
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

void Prefetcher::stop() {
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

void Prefetcher::work() {
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

std::optional<Batch> Prefetcher::next(double &waited) {
  if (depth_ <= 0) {
    if (next_ >= end_)
      return std::nullopt;
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t b = next_++;
    try {
      Batch batch = make_(b);
      waited += seconds(t0);
      return batch;
    } catch (...) {
      waited += seconds(t0);
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
  waited += seconds(t0);
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

int64_t Prefetcher::queued() const {
  std::lock_guard<std::mutex> lock(m_);
  return int64_t(ready_.size());
}

} // namespace s2s::rt::loader_detail
