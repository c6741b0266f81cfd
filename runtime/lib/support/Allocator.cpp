//===- Allocator.cpp - glibc malloc kept like a caching allocator ---------===//

#include "support/Allocator.h"

#include <cstdlib>
#include <malloc.h>

namespace s2s::rt {

/// glibc hands blocks above 128 KiB (at most 32 MiB) straight back to the
/// kernel, so every training step maps its activations and batches afresh
/// and page-faults on them: measured with perf, up to half a small model's
/// step time, and 24 of 38 s of one pass of a 2 GB data set through the
/// eager loader (bench/data). Keep every block on the heap and never trim
/// it, as a caching allocator would; an explicit MALLOC_* setting in the
/// environment, or S2S_DEFAULT_MALLOC=1, wins.
void tuneAllocator() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") ||
      std::getenv("MALLOC_TRIM_THRESHOLD_") ||
      std::getenv("MALLOC_MMAP_MAX_") || std::getenv("GLIBC_TUNABLES") ||
      std::getenv("S2S_DEFAULT_MALLOC"))
    return;
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1); // the largest value: never trim
  mallopt(M_TOP_PAD, 64 * 1024 * 1024);
}

} // namespace s2s::rt
