//===- Communicator.h - The processes of a run, over c10d ------*- C++ -*-===//
//
// One object per process for everything collective: the rendezvous store
// (torchrun's agent store, a TCPStore served by rank 0, or a FileStore when
// the launcher names no address), the c10d process group (Gloo on CPU;
// NCCL when built against a CUDA LibTorch, #ifdef USE_C10D_NCCL), and the
// collectives the strategies use, in the forms Gloo 1.13 lacks built from
// ones it has:
//
//   reduceScatterSum   alltoall_base + a local sum (Gloo has no
//                      reduce_scatter; the same bytes on the wire as a ring);
//                      with per-rank lengths, alltoall_base's split sizes
//   allGather          alltoall_base of the shard repeated `size` times (no
//                      flat _allgather_base in Gloo)
//   average            SUM then a division (no ReduceOp::AVG)
//
// Every collective waits at most the run's timeout. A failure (a peer that
// died, or hangs past the timeout) throws Error naming the operation, the
// ranks that did not answer (asked through the store, which each survivor
// tells that it failed) and what to do; the group is unusable afterwards,
// so the caller exits and lets the launcher restart the job.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_COMM_COMMUNICATOR_H
#define S2S_RUNTIME_COMM_COMMUNICATOR_H

#include "dist/Launch.h"
#include "s2s/runtime/Config.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace s2s::rt {

/// Bytes this process handed to collectives (what a ring moves per rank is
/// a fixed multiple of it: an all-reduce sends 2(n-1)/n of its input, an
/// alltoall (n-1)/n); for benchmarks and tests.
struct CommStats {
  int64_t calls = 0;
  int64_t bytes = 0;
};

class Communicator {
public:
  /// Joins the job the launcher started (`env`), with `backend` (Auto:
  /// NCCL for a CUDA device when built with it, else Gloo) and `timeout`
  /// for the rendezvous and every collective. `device` is where the
  /// tensors live. Throws Error when the rendezvous fails or times out,
  /// or NCCL is asked for and not built.
  static std::unique_ptr<Communicator> connect(const LaunchEnv &env,
                                               Backend backend,
                                               std::chrono::seconds timeout,
                                               torch::Device device);
  ~Communicator();

  int64_t rank() const { return rank_; }
  int64_t size() const { return size_; }
  /// "gloo" or "nccl".
  const std::string &backendName() const { return backendName_; }
  std::chrono::seconds timeout() const { return timeout_; }

  /// In place: each tensor becomes its sum over the processes.
  void allReduceSum(std::vector<torch::Tensor> &tensors);
  /// In place: every process gets `root`'s values.
  void broadcast(torch::Tensor &tensor, int64_t root = 0);
  /// `flat` (numel divisible by size()) is cut into size() equal shards;
  /// returns this rank's shard summed over the processes.
  torch::Tensor reduceScatterSum(const torch::Tensor &flat);
  /// `flat` cut into size() consecutive parts, part q of `lengths[q]`
  /// values (some may be 0); returns this rank's part summed over the
  /// processes.
  torch::Tensor reduceScatterSum(const torch::Tensor &flat,
                                 const std::vector<int64_t> &lengths);
  /// Every rank's `shard` (all the same numel), concatenated in rank order.
  torch::Tensor allGather(const torch::Tensor &shard);
  void barrier();
  /// Point to point, all at once: receives into each `recvs[i].second`
  /// from rank `recvs[i].first` and sends each `sends[i].second` to rank
  /// `sends[i].first`. Every receive is posted before any send (Gloo's
  /// pairs can deadlock otherwise); returns when all have completed. A
  /// rank's messages to one peer arrive in the order they were listed.
  using Message = std::pair<int64_t, torch::Tensor>;
  void exchange(const std::vector<Message> &sends, std::vector<Message> &recvs);
  /// alltoall_base of flat tensors: part q of `in` (inLengths[q] values)
  /// goes to rank q; part p of the result (outLengths[p] values) came
  /// from rank p.
  torch::Tensor allToAll(const torch::Tensor &in,
                         const std::vector<int64_t> &inLengths,
                         const std::vector<int64_t> &outLengths);

  /// A group of the processes `ranks` (ranks of this group, ascending,
  /// this process among them) on the same store under prefix `name`, for
  /// a mesh axis (comm/Mesh.h); only its members call it. Its rank() is
  /// this process's index in `ranks`. Throws Error as connect() does.
  std::unique_ptr<Communicator> subgroup(const std::string &name,
                                         const std::vector<int64_t> &ranks);

  /// The c10d group, for c10d's Reducer.
  c10::intrusive_ptr<c10d::ProcessGroup> group() const;
  const CommStats &stats() const { return stats_; }
  /// Counts a collective of `bytes` launched on group() directly (c10d's
  /// Reducer), so stats() covers every collective of the run.
  void record(int64_t bytes);
  /// The sum of stats() over this process's Communicators (a run has one),
  /// for what the program reports without a handle on its strategy.
  static CommStats processTotals();

  /// Throws the Error for collective `op` having failed with `what`, after
  /// asking the store which ranks did not fail with it (see the header).
  [[noreturn]] void fail(const char *op, const std::string &what);

private:
  Communicator() = default;
  template <typename Launch> void run(const char *op, Launch &&launch);
  std::string silentRanks();

  int64_t rank_ = 0, size_ = 1;
  std::string backendName_;
  std::chrono::seconds timeout_{600};
  Rendezvous meet_; ///< where Gloo's device comes from (subgroup())
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  CommStats stats_;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_COMM_COMMUNICATOR_H
