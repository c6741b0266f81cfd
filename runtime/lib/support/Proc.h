//===- Proc.h - What /proc says of this process -----------------*- C++ -*-===//
//
// Memory figures of the running process for benchmarks and the memory
// tests (RSS, anonymous and shared memory, the high-water mark). Linux
// only; torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_PROC_H
#define S2S_RUNTIME_SUPPORT_PROC_H

namespace s2s::rt {

/// The kB of a /proc/self/status field ("VmRSS:", "RssAnon:", "VmHWM:");
/// -1 when the field is not there.
long procStatusKb(const char *field);
/// The kB of a /proc/self/smaps_rollup field ("Pss_Shmem:": this process's
/// share of the shared memory it maps); -1 when it is not there.
long procRollupKb(const char *field);

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_PROC_H
