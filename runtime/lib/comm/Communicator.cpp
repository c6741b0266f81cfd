//===- Communicator.cpp - The processes of a run, talking over c10d -------===//

#include "comm/Communicator.h"

#include "comm/CollectiveBytes.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace s2s::rt {
namespace {

using Millis = std::chrono::milliseconds;

/// Communicator::processTotals(): every instance's record() adds here too.
CommStats gProcessTotals;
/// collectiveBytes(): the same by kind (but all-reduces).
int64_t gByKind[kCollectives] = {};

/// A collective of `kind` and `bytes`, besides record()'s count.
void countKind(Collective kind, int64_t bytes) { gByKind[int(kind)] += bytes; }

/// The store the ranks meet at (see the header).
c10::intrusive_ptr<c10d::Store> openStore(const LaunchEnv &env,
                                          Millis timeout) {
  const Rendezvous &m = env.meet;
  const std::string attempt = "attempt_" + std::to_string(m.restartCount);
  if (!m.masterAddr.empty()) {
    c10d::TCPStoreOptions o;
    o.port = uint16_t(m.masterPort);
    o.timeout = timeout;
    // Under torchrun's static rendezvous the agent already serves the
    // store on MASTER_PORT: every rank is a client, under its prefix.
    o.isServer = !m.agentStore && env.ranks.rank == 0;
    if (o.isServer)
      o.numWorkers = size_t(env.ranks.worldSize);
    o.waitWorkers = false;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(m.masterAddr, o);
    return c10::make_intrusive<c10d::PrefixStore>(
        m.agentStore ? "/worker/" + attempt : "s2s/" + attempt, tcp);
  }
  // No address (mpirun without -x MASTER_ADDR): a file every rank can
  // reach; S2S_STORE_FILE for a shared file system across nodes.
  const char *file = std::getenv("S2S_STORE_FILE");
  std::string path = file && *file ? std::string(file)
                                   : (std::filesystem::temp_directory_path() /
                                      ("s2s-store-" + jobId() + "-" + attempt))
                                         .string();
  auto fs =
      c10::make_intrusive<c10d::FileStore>(path, int(env.ranks.worldSize));
  fs->setTimeout(timeout);
  return fs;
}

/// Gloo's device: GLOO_SOCKET_IFNAME when set, loopback for a local
/// master, else the address this machine's hostname resolves to.
std::shared_ptr<::gloo::transport::Device> glooDevice(const Rendezvous &m) {
  if (const char *ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (m.masterAddr.empty() || m.masterAddr == "localhost" ||
      m.masterAddr.rfind("127.", 0) == 0)
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

bool useNccl(Backend backend, torch::Device device) {
#ifdef USE_C10D_NCCL
  return backend == Backend::Nccl ||
         (backend == Backend::Auto && device.is_cuda());
#else
  (void)device;
  if (backend == Backend::Nccl)
    throw Error("backend = nccl: this runtime was built against a LibTorch "
                "without NCCL (CPU only); use backend = gloo or auto, or "
                "build the runtime against a CUDA LibTorch");
  return false;
#endif
}

} // namespace

std::unique_ptr<Communicator>
Communicator::connect(const LaunchEnv &env, Backend backend,
                      std::chrono::seconds timeout, torch::Device device) {
  std::unique_ptr<Communicator> c(new Communicator());
  c->rank_ = env.ranks.rank;
  c->size_ = env.ranks.worldSize;
  c->timeout_ = timeout;
  c->meet_ = env.meet;
  const Millis ms = std::chrono::duration_cast<Millis>(timeout);
  const std::string where =
      env.meet.masterAddr.empty()
          ? std::string("a file store (no MASTER_ADDR)")
          : env.meet.masterAddr + ":" + std::to_string(env.meet.masterPort) +
                (env.meet.agentStore ? " (torchrun's agent store)" : "");
  try {
    c->store_ = openStore(env, ms);
    if (useNccl(backend, device)) {
#ifdef USE_C10D_NCCL
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = ms;
      c->group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          c->store_, int(c->rank_), int(c->size_), o);
      c->backendName_ = "nccl";
#endif
    } else {
      auto o = c10d::ProcessGroupGloo::Options::create(ms);
      o->devices.push_back(glooDevice(env.meet));
      c->group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(
          c->store_, int(c->rank_), int(c->size_), o);
      c->backendName_ = "gloo";
    }
  } catch (const Error &) {
    throw;
  } catch (const std::exception &e) {
    throw Error("rank " + std::to_string(c->rank_) + " of " +
                std::to_string(c->size_) + " could not meet the others at " +
                where + " within " + std::to_string(timeout.count()) +
                " s: " + firstLines(e.what(), 2) +
                "; check that every process was started with the same "
                "world size and master address, or raise parallel's "
                "timeout (--timeout)");
  }
  return c;
}

Communicator::~Communicator() = default;

std::unique_ptr<Communicator>
Communicator::subgroup(const std::string &name,
                       const std::vector<int64_t> &ranks) {
  auto at = std::find(ranks.begin(), ranks.end(), rank_);
  if (at == ranks.end())
    throw Error("internal error: rank " + std::to_string(rank_) +
                " asked for group '" + name + "' it is not a member of");
  std::unique_ptr<Communicator> c(new Communicator());
  c->rank_ = at - ranks.begin();
  c->size_ = int64_t(ranks.size());
  c->timeout_ = timeout_;
  c->meet_ = meet_;
  c->backendName_ = backendName_;
  const Millis ms = std::chrono::duration_cast<Millis>(timeout_);
  try {
    c->store_ = c10::make_intrusive<c10d::PrefixStore>(name + "/", store_);
#ifdef USE_C10D_NCCL
    if (backendName_ == "nccl") {
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = ms;
      c->group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          c->store_, int(c->rank_), int(c->size_), o);
      return c;
    }
#endif
    auto o = c10d::ProcessGroupGloo::Options::create(ms);
    o->devices.push_back(glooDevice(meet_));
    c->group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(
        c->store_, int(c->rank_), int(c->size_), o);
  } catch (const std::exception &e) {
    throw Error("rank " + std::to_string(rank_) + " could not form group '" +
                name + "' of " + std::to_string(ranks.size()) +
                " processes within " + std::to_string(timeout_.count()) +
                " s: " + firstLines(e.what(), 2) +
                "; every member must start it (check the mesh sizes)");
  }
  return c;
}

c10::intrusive_ptr<c10d::ProcessGroup> Communicator::group() const {
  return group_;
}

/// The ranks that did not say, within a few seconds, that their
/// collective failed too: the ones that died or hang. Every survivor
/// writes its key; a store that does not answer was served by the
/// failed process (rank 0 without torchrun).
std::string Communicator::silentRanks() {
  try {
    store_->setTimeout(Millis(3000));
    store_->set("s2s/failed/" + std::to_string(rank_), {'1'});
    // The survivors fail within moments of each other (a reset connection)
    // or at the same timeout; wait a little for theirs, not a whole timeout.
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::min<std::chrono::milliseconds>(Millis(2000), timeout_ / 20);
    std::vector<std::string> silent;
    while (true) {
      silent.clear();
      for (int64_t r = 0; r < size_; ++r)
        if (r != rank_ && !store_->check({"s2s/failed/" + std::to_string(r)}))
          silent.push_back(std::to_string(r));
      if (silent.empty() || std::chrono::steady_clock::now() > deadline)
        break;
      std::this_thread::sleep_for(Millis(100));
    }
    if (silent.empty())
      return "";
    return std::string(silent.size() == 1 ? "rank " : "ranks ") +
           join(silent, ", ");
  } catch (const std::exception &) {
    return "rank 0 (it serves the rendezvous store, which stopped "
           "answering)";
  }
}

void Communicator::fail(const char *op, const std::string &what) {
  const std::string who = silentRanks();
  throw Error("rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
              ": the collective " + op + " failed" +
              (who.empty() ? std::string()
                           : " because " + who +
                                 " stopped answering (died, or hung past "
                                 "the timeout of " +
                                 std::to_string(timeout_.count()) + " s)") +
              ": " + firstLines(what, 2) +
              "; the process group cannot go on: restart the job (torchrun "
              "--max_restarts resumes from the newest checkpoint)");
}

template <typename Launch>
void Communicator::run(const char *op, Launch &&launch) {
  try {
    c10::intrusive_ptr<c10d::Work> work = launch();
    work->wait(std::chrono::duration_cast<Millis>(timeout_));
  } catch (const c10::Error &e) {
    fail(op, e.what_without_backtrace());
  } catch (const std::exception &e) {
    fail(op, e.what());
  }
}

void Communicator::allReduceSum(std::vector<torch::Tensor> &tensors) {
  int64_t bytes = 0;
  for (const torch::Tensor &t : tensors)
    bytes += t.numel() * t.element_size();
  record(bytes);
  run("allreduce", [&] { return group_->allreduce(tensors); });
}

void Communicator::broadcast(torch::Tensor &tensor, int64_t root) {
  std::vector<torch::Tensor> ts = {tensor};
  c10d::BroadcastOptions o;
  o.rootRank = root;
  record(tensor.numel() * tensor.element_size());
  countKind(Collective::Broadcast, tensor.numel() * tensor.element_size());
  run("broadcast", [&] { return group_->broadcast(ts, o); });
}

torch::Tensor Communicator::reduceScatterSum(const torch::Tensor &flat) {
  if (flat.numel() % size_ != 0)
    throw Error("internal error: reduce-scatter of " +
                std::to_string(flat.numel()) + " values over " +
                std::to_string(size_) + " ranks");
  return reduceScatterSum(
      flat, std::vector<int64_t>(size_t(size_), flat.numel() / size_));
}

torch::Tensor
Communicator::reduceScatterSum(const torch::Tensor &flat,
                               const std::vector<int64_t> &lengths) {
  int64_t sum = 0;
  for (int64_t l : lengths)
    sum += l;
  if (int64_t(lengths.size()) != size_ || sum != flat.numel())
    throw Error(
        "internal error: reduce-scatter of " + std::to_string(flat.numel()) +
        " values in " + std::to_string(lengths.size()) + " parts of " +
        std::to_string(sum) + " over " + std::to_string(size_) + " ranks");
  const int64_t mine = lengths[size_t(rank_)];
  torch::Tensor in = flat.contiguous();
  torch::Tensor out = torch::empty({size_ * mine}, in.options());
  std::vector<int64_t> outLengths(size_t(size_), mine), inLengths = lengths;
  record(in.numel() * in.element_size());
  countKind(Collective::ReduceScatter, in.numel() * in.element_size());
  run("reduce-scatter (alltoall)",
      [&] { return group_->alltoall_base(out, in, outLengths, inLengths); });
  return out.view({size_, mine}).sum(0);
}

torch::Tensor Communicator::allGather(const torch::Tensor &shard) {
  torch::Tensor in = shard.contiguous().repeat({size_});
  torch::Tensor out = torch::empty_like(in);
  std::vector<int64_t> splits;
  record(in.numel() * in.element_size());
  countKind(Collective::AllGather, in.numel() * in.element_size());
  run("all-gather (alltoall)",
      [&] { return group_->alltoall_base(out, in, splits, splits); });
  return out;
}

void Communicator::exchange(const std::vector<Message> &sends,
                            std::vector<Message> &recvs) {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  std::vector<std::vector<torch::Tensor>> bufs;
  bufs.reserve(sends.size() + recvs.size());
  int64_t bytes = 0;
  try {
    // Tags count each peer's messages, so several to one peer pair up in
    // order.
    std::vector<int> recvTag(size_t(size_), 0), sendTag(size_t(size_), 0);
    for (Message &m : recvs) {
      bufs.push_back({m.second});
      works.push_back(
          group_->recv(bufs.back(), int(m.first), recvTag[size_t(m.first)]++));
    }
    for (const Message &m : sends) {
      bufs.push_back({m.second.contiguous()});
      bytes += m.second.numel() * m.second.element_size();
      works.push_back(
          group_->send(bufs.back(), int(m.first), sendTag[size_t(m.first)]++));
    }
    for (auto &w : works)
      w->wait(std::chrono::duration_cast<Millis>(timeout_));
  } catch (const c10::Error &e) {
    fail("halo exchange (send/recv)", e.what_without_backtrace());
  } catch (const std::exception &e) {
    fail("halo exchange (send/recv)", e.what());
  }
  record(bytes);
}

torch::Tensor Communicator::allToAll(const torch::Tensor &in,
                                     const std::vector<int64_t> &inLengths,
                                     const std::vector<int64_t> &outLengths) {
  int64_t total = 0;
  for (int64_t l : outLengths)
    total += l;
  torch::Tensor src = in.contiguous();
  torch::Tensor out = torch::empty({total}, src.options());
  std::vector<int64_t> o = outLengths, i = inLengths;
  record(src.numel() * src.element_size());
  run("all-to-all", [&] { return group_->alltoall_base(out, src, o, i); });
  return out;
}

void Communicator::record(int64_t bytes) {
  stats_.bytes += bytes;
  ++stats_.calls;
  gProcessTotals.bytes += bytes;
  ++gProcessTotals.calls;
}

int64_t collectiveBytes(Collective kind) {
  if (kind != Collective::AllReduce)
    return gByKind[int(kind)];
  // What record() counted and no other kind did: c10d's Reducer's buckets
  // and allReduceSum.
  int64_t rest = gProcessTotals.bytes;
  for (int k = 1; k < kCollectives; ++k)
    rest -= gByKind[k];
  return rest;
}

CommStats Communicator::processTotals() { return gProcessTotals; }

void Communicator::barrier() {
  record(0);
  run("barrier", [&] { return group_->barrier(); });
}

} // namespace s2s::rt
