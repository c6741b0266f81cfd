//===- ZeroShards.cpp - zero1/zero2: the optimizer state sharded ----------===//

#include "train/ZeroShards.h"

#include "s2s/runtime/Error.h"
#include "train/DataParallel.h"

#include <cmath>
#include <cstdio>
#include <map>

namespace s2s::rt {
namespace {

/// The optimizer's name for the shard it updates.
const std::string kShard = "zero.shard";

/// "adamw.m.zero.shard" -> "adamw.m."; "" for the step counter.
std::string statePrefix(const std::string &name) {
  const size_t at = name.size() - kShard.size();
  if (name.size() < kShard.size() || name.compare(at, kShard.size(), kShard))
    return "";
  return name.substr(0, at);
}

} // namespace

ZeroShards::ZeroShards(const ParallelConfig &parallel,
                       std::shared_ptr<Communicator> comm, int stage)
    : parallel_(parallel), comm_(std::move(comm)), stage_(stage) {}

ZeroShards::~ZeroShards() = default;

std::string ZeroShards::name() const {
  return std::string(rt::name(parallel_.strategy)) + " over " +
         std::to_string(comm_->size()) + " processes (" + comm_->backendName() +
         ", timeout " + std::to_string(comm_->timeout().count()) + " s)";
}

void ZeroShards::prepareModel(Model &model) {
  params_ = model.namedParameters();
  std::vector<torch::Tensor> ps;
  for (const auto &np : params_) {
    np.second.requires_grad_(true);
    ps.push_back(np.second);
  }
  broadcastParameters(*comm_, ps);
  const std::vector<ShardedParameters::Unit> units =
      ShardedParameters::unitsOf(model);
  // zero3: a segment per unit, so a unit's gather takes a chunk from every
  // rank; zero1/2: one segment (the whole vector moves at once).
  const std::vector<ShardedParameters::Unit> segments =
      stage_ == 3 ? units
                  : std::vector<ShardedParameters::Unit>{{"", 0, ps.size()}};
  std::vector<int64_t> lengths;
  for (const ShardedParameters::Unit &u : segments) {
    lengths.push_back(0);
    for (size_t i = u.firstParam; i < u.endParam; ++i)
      lengths.back() += ps[i].numel();
  }
  layout_ = FlatShards(lengths, comm_->size());
  torch::NoGradGuard noGrad;
  std::vector<torch::Tensor> flat;
  for (const torch::Tensor &p : ps)
    flat.push_back(p.detach().reshape({-1}));
  const torch::Tensor whole = torch::cat(flat);
  flat.clear();
  if (stage_ == 3) {
    // The model keeps names and shapes; the values live in the shards.
    shard_ = shardOf(whole).clone().requires_grad_(true);
    sharded_ =
        std::make_unique<ShardedParameters>(*comm_, model, layout_, shard_);
    model.shard(sharded_.get());
    params_ = model.namedParameters();
    return;
  }
  flatten(ps, whole, units);
}

void ZeroShards::flatten(std::vector<torch::Tensor> &ps,
                         const torch::Tensor &whole,
                         const std::vector<ShardedParameters::Unit> &units) {
  // The parameters become views of one padded flat buffer whose slice
  // [rank·S, (rank+1)·S) is this rank's shard, so the optimizer's update
  // of the shard is the update of those parameters and the all-gather
  // writes into the parameters themselves.
  const int64_t S = layout_.shardValues();
  flat_ = torch::zeros({comm_->size() * S}, ps.front().options());
  flat_.narrow(0, 0, layout_.total()).copy_(whole);
  int64_t offset = 0;
  for (torch::Tensor &p : ps) {
    p.set_data(flat_.narrow(0, offset, p.numel()).view(p.sizes()));
    offset += p.numel();
  }
  shard_ = flat_.narrow(0, comm_->rank() * S, S);
  if (stage_ == 1) {
    // The gradients too, as views of one buffer the backward adds into.
    flatGrad_ = torch::zeros_like(flat_);
    shard_.mutable_grad() = flatGrad_.narrow(0, comm_->rank() * S, S);
    return;
  }
  shard_.mutable_grad() = torch::zeros({S}, flat_.options());
  std::vector<std::pair<size_t, size_t>> ranges;
  for (const ShardedParameters::Unit &u : units)
    ranges.emplace_back(u.firstParam, u.endParam);
  buckets_ =
      std::make_unique<GradientBuckets>(*comm_, ps, ranges, shard_.grad());
}

torch::Tensor ZeroShards::shardOf(const torch::Tensor &flat) const {
  return layout_.shardOf(flat, comm_->rank());
}

std::unique_ptr<Optimizer> ZeroShards::makeOptimizer(const OptimizerConfig &c,
                                                     Model &) {
  return std::make_unique<Optimizer>(c, NamedTensors{{kShard, shard_}});
}

void ZeroShards::zeroGrad(Model &, Optimizer &optim) {
  torch::NoGradGuard noGrad;
  if (stage_ == 1) {
    bindGradients();
    flatGrad_.zero_();
  } else if (stage_ == 2) { // the buckets add into it
    shard_.mutable_grad().zero_();
  } else { // the gathers' backward nodes give it afresh
    optim.zeroGrad();
  }
}

void ZeroShards::bindGradients() {
  int64_t offset = 0;
  for (auto &[name, p] : params_) {
    torch::Tensor view = flatGrad_.narrow(0, offset, p.numel()).view(p.sizes());
    offset += p.numel();
    if (p.grad().defined() && p.grad().is_alias_of(view) &&
        p.grad().data_ptr() == view.data_ptr())
      continue;
    // A backward with create_graph (a Jacobian penalty) assigns a new
    // gradient instead of adding into the view.
    if (p.grad().defined())
      view.copy_(p.grad());
    p.mutable_grad() = view;
  }
}

void ZeroShards::backward(const torch::Tensor &loss, bool sync) {
  Strategy::backward(loss, sync);
  if (sharded_) // its gradient is on the shard already
    sharded_->endPass();
  if (buckets_) // zero2: every micro-batch's gradients go out in its backward
    buckets_->finish();
}

bool ZeroShards::reached(const Model &model, size_t index) const {
  // zero2 drops each gradient as it moves into its bucket.
  return buckets_ ? buckets_->reached(index) : Strategy::reached(model, index);
}

void ZeroShards::afterBackward(Model &) {
  if (stage_ != 1) // reduce-scattered in the backward
    return;
  torch::NoGradGuard noGrad;
  bindGradients();
  // The whole padded flat gradient reduce-scattered; this rank's part
  // lands in its own slice of the buffer, the shard's gradient.
  torch::Tensor mine = comm_->reduceScatterSum(flatGrad_);
  shard_.mutable_grad().copy_(mine.div_(double(comm_->size())));
}

double ZeroShards::clipGradients(Model &, double maxNorm) {
  torch::NoGradGuard noGrad;
  const torch::Tensor &g = shard_.grad();
  std::vector<double> sq = {g.to(torch::kFloat64).pow(2).sum().item<double>()};
  sumDoubles(*comm_, sq);
  const double norm = std::sqrt(sq[0]);
  if (maxNorm > 0.0 && std::isfinite(norm)) {
    // As clipGradNorm (torch's clip_grad_norm_).
    const double coef = maxNorm / (norm + 1e-6);
    if (coef < 1.0)
      shard_.mutable_grad().mul_(coef);
  }
  return norm;
}

void ZeroShards::optimizerStep(Optimizer &optim, double lr) {
  if (sharded_)
    sharded_->endPass();
  optim.step(lr);
  if (stage_ == 3)
    return; // the units are gathered from the shards as they are used
  gatherParameters();
}

void ZeroShards::gatherParameters() {
  // The shard is a slice of the parameters' flat buffer: gather into it.
  torch::NoGradGuard noGrad;
  flat_.copy_(comm_->allGather(shard_.detach()));
}

ShardLayout ZeroShards::shardLayout() const {
  ShardLayout layout;
  layout.world = comm_->size();
  layout.shardValues = layout_.shardValues();
  layout.total = layout_.total();
  layout.segments = layout_.lengths();
  for (const auto &[name, p] : params_)
    layout.parameters.emplace_back(name, p.sizes().vec());
  layout.flat.emplace_back(kShardParameters, "");
  return layout;
}

std::string ZeroShards::saveCheckpoint(Checkpointer &ckpt, Model &model,
                                       const Optimizer &optim,
                                       const TrainState &state) {
  // Sharded: every rank writes its shard of the parameters and of each
  // optimizer moment (and the scalars), rank 0 the manifest and state.
  ShardLayout layout = shardLayout();
  NamedTensors mine = {{kShardParameters, shard_.detach()}};
  for (const auto &[name, t] : optim.state()) {
    if (const std::string prefix = statePrefix(name); !prefix.empty())
      layout.flat.emplace_back(name, prefix);
    mine.emplace_back(name, t);
  }
  // Each phase ends with every rank knowing whether all did their part;
  // a failed phase leaves the temp folder to rank 0 to remove.
  const bool first = comm_->rank() == 0;
  agreeOnPart(*comm_, [&] {
    if (first)
      ckpt.beginSharded(state.globalStep);
    return std::string();
  });
  try {
    agreeOnPart(*comm_, [&] {
      ckpt.writeShard(state.globalStep, comm_->rank(), comm_->size(), mine,
                      state.program);
      return std::string();
    });
  } catch (const Error &) {
    if (first)
      ckpt.abandonSharded(state.globalStep);
    throw;
  }
  // No process runs ahead of a checkpoint the job may restart from.
  return agreeOnPart(*comm_, [&] {
    return first ? ckpt.commitSharded(layout, stateWithRng(model, state))
                 : std::string();
  });
}

Checkpoint ZeroShards::readCheckpoint(const std::string &from) const {
  // The shard file is checked for every flat tensor its manifest lists;
  // the optimizer's state names are checked when it loads them.
  if (std::optional<Checkpoint> c =
          rt::loadOwnShard(from, comm_->rank(), shardLayout()))
    return std::move(*c);
  return rt::loadCheckpoint(from);
}

void ZeroShards::loadOwnShard(const Checkpoint &c, const std::string &from,
                              Model &model, Optimizer &optim) {
  {
    torch::NoGradGuard noGrad;
    shard_.copy_(c.shard.at(kShardParameters).reshape({-1}));
  }
  if (stage_ < 3) // every rank holds the whole parameters
    gatherParameters();
  loadRng(c, model);
  std::map<std::string, torch::Tensor> state = c.shard;
  state.erase(kShardParameters);
  try {
    optim.loadState(state);
  } catch (const Error &e) {
    throw Error("'" + from + "': " + e.what());
  }
  std::printf("rank %lld: resumed from its own shard of '%s' only\n",
              (long long)comm_->rank(), from.c_str());
}

void ZeroShards::loadCheckpoint(const Checkpoint &c, const std::string &from,
                                Model &model, Optimizer &optim,
                                const std::string &modelText) {
  if (!c.shard.empty())
    return loadOwnShard(c, from, model, optim);
  checkCheckpointParameters(c, from, params_, modelText);
  {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> flat;
    for (const auto &np : params_) {
      torch::Tensor value = c.model.at(np.first).to(shard_.scalar_type());
      if (stage_ < 3)
        model.load(np.first, value);
      flat.push_back(value.reshape({-1}));
    }
    shard_.copy_(shardOf(torch::cat(flat).to(shard_.device())));
  }
  loadRng(c, model);
  // This rank's shard of each whole state tensor, under the shard's names.
  std::map<std::string, torch::Tensor> mine;
  for (const auto &[name, t] : optim.state()) {
    const std::string prefix = statePrefix(name);
    if (prefix.empty()) {
      auto it = c.optimizer.find(name);
      if (it != c.optimizer.end())
        mine[name] = it->second;
      continue;
    }
    std::vector<torch::Tensor> flat;
    for (const auto &[pname, p] : params_) {
      auto it = c.optimizer.find(prefix + pname);
      if (it == c.optimizer.end())
        break; // loadState names what is missing
      if (it->second.numel() != p.numel())
        throw Error("'" + from + "': the checkpoint's optimizer tensor '" +
                    prefix + pname + "' has shape " +
                    c10::str(it->second.sizes()) +
                    ", the model's parameter has " + c10::str(p.sizes()));
      flat.push_back(it->second.reshape({-1}).to(p.dtype()));
    }
    if (flat.size() == params_.size())
      mine[name] = shardOf(torch::cat(flat));
  }
  try {
    optim.loadState(mine);
  } catch (const Error &e) {
    throw Error("'" + from + "': " + e.what());
  }
}

void ZeroShards::sumOverProcesses(std::vector<double> &values) {
  sumDoubles(*comm_, values);
}

std::string ZeroShards::placement(const Optimizer &optim) const {
  return "rank " + std::to_string(comm_->rank()) + " of " +
         std::to_string(comm_->size()) + ": optimizer state of " +
         std::to_string(layout_.shardValues()) + " of " +
         std::to_string(layout_.total()) + " values (" +
         std::to_string(optimizerStateBytes(optim)) + " bytes)" +
         (stage_ >= 2 ? ", gradients sharded" : "") +
         (stage_ == 3 ? ", parameters sharded (" +
                            std::to_string(layout_.shardValues() *
                                           shard_.element_size()) +
                            " bytes held; gathered per unit: " +
                            sharded_->describe() + ")"
                      : "");
}

HeldBytes ZeroShards::held(const Optimizer &optim) const {
  HeldBytes h = Strategy::held(optim);
  if (buckets_)
    h.bucketPeak = buckets_->peakBytes();
  return h;
}

std::string ZeroShards::finalReport() const {
  if (!sharded_)
    return "";
  return "rank " + std::to_string(comm_->rank()) + ": at most " +
         std::to_string(sharded_->peakBytes()) +
         " bytes of gathered parameters at once (the whole model: " +
         std::to_string(layout_.total() * shard_.element_size()) + " bytes)";
}

} // namespace s2s::rt
