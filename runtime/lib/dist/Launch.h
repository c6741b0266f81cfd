//===- Launch.h - This process's place in the job ---------------*- C++ -*-===//
//
// What the launcher (torchrun, srun, mpirun) tells a process through its
// environment: its rank and the world size, its rank among the processes
// on this node, where the processes meet (master address and port, or
// torchrun's agent store), which attempt of an elastic job this is, and an
// id shared by the processes of one job. Every room that asks where it
// runs asks here (the sampler, the shared-memory loader, the process
// group of comm/). Torch-free.
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

/// Where the processes of a job meet, and which attempt this is.
struct Rendezvous {
  std::string masterAddr;   ///< "" when the launcher gives none (mpirun)
  int64_t masterPort = 0;   ///< 0 when unknown
  int64_t restartCount = 0; ///< launcher restarts before this attempt
  bool agentStore = false;  ///< torchrun's agent serves the TCPStore
  std::string source;       ///< the variables it came from
};

/// MASTER_ADDR/MASTER_PORT when set (torchrun, or passed with mpirun -x);
/// else under Slurm the first host of SLURM_JOB_NODELIST
/// ("node[03-05,9]" -> "node03") and port 15000 + the last four digits of
/// SLURM_JOB_ID. The restart count from TORCHELASTIC_RESTART_COUNT or
/// SLURM_RESTART_COUNT; agentStore from TORCHELASTIC_USE_AGENT_STORE=True.
/// Throws Error naming the variable for a port outside 1..65535 or a value
/// that is not a number.
Rendezvous rendezvous();
Rendezvous rendezvous(const EnvLookup &env);

/// Everything the launcher says, read once.
struct LaunchEnv {
  RankInfo ranks;
  LocalRanks local;
  Rendezvous meet;
};
LaunchEnv launchEnv();
LaunchEnv launchEnv(const EnvLookup &env);

/// The first host of a Slurm node list: "a[01-03],b" -> "a01".
std::string firstSlurmHost(const std::string &nodeList);

} // namespace s2s::rt

#endif // S2S_RUNTIME_DIST_LAUNCH_H
