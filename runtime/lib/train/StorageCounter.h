//===- StorageCounter.h - Tensor storage bytes, now and at peak -*- C++ -*-===//
//
// For S2S_STATS=1 (RunStats.h) and the benchmarks' peak-memory figures
// (bench/rollout): installStorageCounter() makes a counting allocator
// (c10's alloc_cpu/free_cpu) LibTorch's CPU allocator (c10::SetCPUAllocator,
// a priority above the default), so every CPU tensor storage allocated from
// then on is counted while it lives, independent of malloc's caching and
// of RSS. resetStoragePeak() starts a new peak
// at the current count (a training step's start); storagePeak() is the
// most bytes live at once since. Storages allocated before the counter was
// installed are not counted (and freed as before).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_STORAGECOUNTER_H
#define S2S_RUNTIME_TRAIN_STORAGECOUNTER_H

#include <cstdint>

namespace s2s::rt {

/// Idempotent; call before the model and the data are made.
void installStorageCounter();
/// Bytes of counted storages alive now.
int64_t storageBytesNow();
/// The peak restarts at storageBytesNow(), which it returns.
int64_t resetStoragePeak();
/// The most bytes alive at once since the last resetStoragePeak().
int64_t storagePeak();

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_STORAGECOUNTER_H
