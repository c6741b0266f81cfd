//===- ParallelFor.h - Indexed jobs over a few threads -----------*- C++
//-*-===//
//
// The eager load's blocks (hdf5/FieldReader) and s2s-data synth's sub-step
// jobs (prep/Synth). Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_PARALLELFOR_H
#define S2S_RUNTIME_SUPPORT_PARALLELFOR_H

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace s2s::rt {

/// Runs body(0) .. body(n - 1) on up to `threads` threads (the calling
/// thread is one of them), each thread claiming the next index in turn.
/// After a body throws no new index is claimed; once all threads stopped,
/// the exception of the smallest failing index is rethrown. Indices are
/// claimed in order, so every index below a failing one was claimed and
/// finished: that is the first error in index order, whatever the timing.
template <typename Body>
void parallelFor(int64_t n, int64_t threads, const Body &body) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex m;
  int64_t errorAt = n;
  std::exception_ptr error;
  auto work = [&] {
    while (!failed.load()) {
      const int64_t i = next++;
      if (i >= n)
        return;
      try {
        body(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (i < errorAt) {
          errorAt = i;
          error = std::current_exception();
        }
        failed = true;
      }
    }
  };
  const int64_t t = std::max<int64_t>(1, std::min(threads, n));
  std::vector<std::thread> pool;
  for (int64_t i = 1; i < t; ++i)
    pool.emplace_back(work);
  work();
  for (std::thread &th : pool)
    th.join();
  if (error)
    std::rethrow_exception(error);
}

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_PARALLELFOR_H
