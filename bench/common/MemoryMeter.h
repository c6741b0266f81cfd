//===- MemoryMeter.h - Bytes of CPU tensor memory in use and at peak -*- C++
//-*-//
//
// For the benchmarks' peak-memory figures: installs, once, a CPU allocator
// (c10's alloc_cpu/free_cpu) that counts the bytes of live tensor storage,
// so a benchmark measures the peak growth over a stretch of code (what the
// autograd graph keeps), independent of malloc's caching and of RSS.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_BENCH_MEMORYMETER_H
#define S2S_BENCH_MEMORYMETER_H

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace s2s::bench {

class MemoryMeter final : public c10::Allocator {
public:
  /// The meter, installed as the CPU allocator on first use.
  static MemoryMeter &get() {
    static MemoryMeter *m = [] {
      auto *meter = new MemoryMeter();
      c10::SetCPUAllocator(meter, /*priority=*/100);
      return meter;
    }();
    return *m;
  }

  /// Starts a measurement: the peak is reset to what is live now.
  int64_t start() {
    int64_t now = live_.load();
    peak_.store(now);
    return now;
  }
  /// Peak bytes since start(), minus what was live at start().
  int64_t peakGrowth(int64_t atStart) const { return peak_.load() - atStart; }

  // Each block carries its size in a header of kHeader bytes before the
  // data (which stays 64-byte aligned), so the data pointer is its own
  // context, as raw_allocate (oneDNN) requires.
  c10::DataPtr allocate(size_t n) const override {
    auto *block = static_cast<char *>(c10::alloc_cpu(n + kHeader));
    *reinterpret_cast<size_t *>(block) = n;
    add(int64_t(n));
    void *data = block + kHeader;
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

private:
  static constexpr size_t kHeader = 64;
  explicit MemoryMeter() = default;
  static void release(void *data) {
    char *block = static_cast<char *>(data) - kHeader;
    get().add(-int64_t(*reinterpret_cast<size_t *>(block)));
    c10::free_cpu(block);
  }
  void add(int64_t n) const {
    int64_t now = live_.fetch_add(n) + n;
    int64_t old = peak_.load();
    while (now > old && !peak_.compare_exchange_weak(old, now)) {
    }
  }

  mutable std::atomic<int64_t> live_{0}, peak_{0};
};

} // namespace s2s::bench

#endif // S2S_BENCH_MEMORYMETER_H
