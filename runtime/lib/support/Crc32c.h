//===- Crc32c.h - CRC-32C (Castagnoli) of a run of bytes --------*- C++ -*-===//
//
// The data server's per-sample checksum (store/ServerStore.h): CRC-32C, the
// polynomial of iSCSI and ext4 (0x1EDC6F41, reflected 0x82F63B78), which
// x86-64's SSE 4.2 computes in hardware (the crc32 instruction, 8 bytes a
// step): several GB/s, faster than the server delivers the bytes, where
// zlib's CRC-32 ran at a third of memcpy's speed (bench/data). Other CPUs
// take a table-driven loop. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_CRC32C_H
#define S2S_RUNTIME_SUPPORT_CRC32C_H

#include <cstddef>
#include <cstdint>

namespace s2s::rt {

/// CRC-32C of n bytes, continuing from `crc` (0 to start): crc32c of a
/// whole equals crc32c of its second part continued from its first's.
uint32_t crc32c(const void *data, size_t n, uint32_t crc = 0);

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_CRC32C_H
