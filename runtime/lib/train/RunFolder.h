//===- RunFolder.h - Who writes a run folder, and whether it can -*- C++
//-*-===//
//
// A run folder (metrics.jsonl, maps/, checkpoints/) has one writer: the
// training process that holds its lock (<out>/.lock; a checkpoint folder
// outside the run folder gets its own). A second process on a locked
// folder refuses, naming the holder. `--resume DIR` without --out writes
// into DIR's run folder; with --out it only reads DIR. Before the first
// step the folders are checked to be writable with room for two
// checkpoints.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_RUNFOLDER_H
#define S2S_RUNTIME_TRAIN_RUNFOLDER_H

#include "support/FileLock.h"

#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt {

struct Settings;

/// The run folder that `--resume DIR` names: DIR when it is a run folder;
/// for a checkpoint folder or a ckpt-* folder in one, the folder that
/// holds the checkpoint folder as `ckptSubdir` (the spec's checkpoint dir),
/// or `defaultOut` when `ckptSubdir` is absolute and DIR is in it. Throws
/// Error when DIR is not a folder;
/// UsageError asking for --out when it cannot tell.
std::string runFolderOf(const std::string &dir, const std::string &ckptSubdir,
                        const std::string &defaultOut);

/// Locks the run folder `s.out` and, when it lies elsewhere, the
/// checkpoint folder. Throws Error naming the holder when another process
/// has either.
std::vector<FileLock> lockRunFolders(const Settings &s);

/// The bytes of a checkpoint of `parameters` values of `elementSize`
/// bytes with the optimizer's moments (estimated from its kind).
int64_t checkpointBytesEstimate(const Settings &s, int64_t parameters,
                                int64_t elementSize);

/// Throws Error when the checkpoint folder of `s` cannot be written or its
/// file system has less free room than two checkpoints of `bytes`.
void checkCheckpointRoom(const Settings &s, int64_t bytes);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_RUNFOLDER_H
