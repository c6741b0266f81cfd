//===- Allocator.h - glibc malloc kept like a caching allocator --*- C++
//-*-===//
//
// Torch-free. tuneAllocator is part of the public API too (Runtime.h
// declares it for generated programs and tools); this header is for the
// rooms, which do not include the public Runtime.h.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_ALLOCATOR_H
#define S2S_RUNTIME_SUPPORT_ALLOCATOR_H

namespace s2s::rt {

/// Keeps freed memory in the process for reuse (glibc: no mmap'd blocks, no
/// trimming) so steps do not page-fault on fresh activations and batches.
/// An explicit MALLOC_* setting in the environment, or
/// S2S_DEFAULT_MALLOC=1, wins.
void tuneAllocator();

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_ALLOCATOR_H
