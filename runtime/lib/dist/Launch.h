//===- Launch.h - This process's place in the job ---------------*- C++ -*-===//
//
// What the launcher (torchrun, srun, mpirun) tells a process through its
// environment: its rank and the world size, its rank among the processes
// on this node, and an id shared by the processes of one job. Parallel
// training will add process groups and the device mesh here. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_DIST_LAUNCH_H
#define S2S_RUNTIME_DIST_LAUNCH_H

#include <cstdint>
#include <functional>
#include <string>

namespace s2s::rt {

/// Looks up an environment variable; nullptr when unset. Tests pass their
/// own; the default is std::getenv.
using EnvLookup = std::function<const char *(const char *)>;

/// This process's place in the job.
struct RankInfo {
  int64_t rank = 0;
  int64_t worldSize = 1;
  std::string source; ///< the variables it came from, "" for the default
};

/// From RANK/WORLD_SIZE (torchrun), SLURM_PROCID/SLURM_NTASKS (srun),
/// OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE (Open MPI) or PMI_RANK/PMI_SIZE
/// (MPICH, Intel MPI), the first pair whose rank variable is set; 0/1 when
/// none is. Throws Error naming the variable when a value is not a whole
/// number, the size variable of the pair is missing, the world size is
/// below 1 or the rank is not in 0..size-1.
RankInfo rankInfo();
/// The same with another environment (tests).
RankInfo rankInfo(const EnvLookup &env);

/// The rank of this process among the processes of the job on this node.
struct LocalRanks {
  int64_t rank = 0;   ///< 0 .. size-1
  int64_t size = 1;   ///< processes of this job on this node
  std::string source; ///< the variables it came from, "" for the default
};

/// From LOCAL_RANK/LOCAL_WORLD_SIZE (torchrun), SLURM_LOCALID with
/// SLURM_NTASKS_PER_NODE (or this node's entry of SLURM_STEP_TASKS_PER_NODE
/// / SLURM_TASKS_PER_NODE, e.g. "4(x2),3", picked by SLURM_NODEID), or
/// OMPI_COMM_WORLD_LOCAL_RANK/OMPI_COMM_WORLD_LOCAL_SIZE (Open MPI), the
/// first family present; 0/1 when none is set. Throws Error naming the
/// variable when a value is not a number, one of a pair is missing, or the
/// rank is not below the size.
LocalRanks localRanks();
LocalRanks localRanks(const EnvLookup &env);

/// The job id that names this job's shared-memory segments, sanitised to
/// [A-Za-z0-9._-]: S2S_JOB_ID; else SLURM_JOB_ID (with ".<SLURM_STEP_ID>"
/// when set, so two steps of one allocation do not share); else
/// TORCHELASTIC_RUN_ID with "-<parent pid>" (torchrun's default run id is
/// "none" for every job; the local ranks share the agent as parent); else
/// "p<parent pid>-<hash of configKey>" (mpirun's local ranks share their
/// parent too).
std::string jobId(const std::string &configKey = "");
std::string jobId(const std::string &configKey, const EnvLookup &env);

} // namespace s2s::rt

#endif // S2S_RUNTIME_DIST_LAUNCH_H
