//===- StorageCounter.cpp - Tensor storage bytes, now and at peak ---------===//

#include "train/StorageCounter.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <atomic>
#include <mutex>

namespace s2s::rt {
namespace {

std::atomic<int64_t> gNow{0}, gPeak{0};

void add(int64_t n) {
  const int64_t now = gNow.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = gPeak.load(std::memory_order_relaxed);
  while (now > peak &&
         !gPeak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

/// c10's alloc_cpu/free_cpu, counting. Each block carries its size in a
/// header of kHeader bytes before the data (which stays 64-byte aligned),
/// so the data pointer is its own context, as raw_allocate (oneDNN)
/// requires.
class CountingAllocator final : public c10::Allocator {
public:
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
  static void release(void *data) {
    char *block = static_cast<char *>(data) - kHeader;
    add(-int64_t(*reinterpret_cast<size_t *>(block)));
    c10::free_cpu(block);
  }
};

} // namespace

void installStorageCounter() {
  static std::once_flag once;
  std::call_once(once, [] {
    static CountingAllocator counting;
    c10::SetCPUAllocator(&counting, /*priority=*/100);
  });
}

int64_t storageBytesNow() { return gNow.load(std::memory_order_relaxed); }

int64_t resetStoragePeak() {
  const int64_t now = gNow.load(std::memory_order_relaxed);
  gPeak.store(now, std::memory_order_relaxed);
  return now;
}

int64_t storagePeak() { return gPeak.load(std::memory_order_relaxed); }

} // namespace s2s::rt
