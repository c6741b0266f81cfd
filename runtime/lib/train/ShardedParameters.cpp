//===- ShardedParameters.cpp - zero3/fsdp: parameters gathered per unit ---===//

#include "train/ShardedParameters.h"

#include "s2s/runtime/Error.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>

#include <algorithm>

namespace s2s::rt {

using torch::autograd::variable_list;

/// One gather of a unit: its values (a detached alias sharing the storage
/// the handed-out views read) and, with gradients, its place in the
/// forward pass.
struct ShardedParameters::Gathered {
  size_t unit = 0;
  bool withGrad = false;
  torch::Tensor values;
  std::shared_ptr<Gathered> prev; ///< gathered before it in the pass
  bool freed = false;             ///< storage emptied
  bool done = false;              ///< its backward has run
};

namespace {

/// A unit's values from every rank's chunk of it: N·chunk values, the
/// last padding.
torch::Tensor gatherUnit(Communicator &comm, const torch::Tensor &shard,
                         const FlatShards::Segment &seg) {
  torch::NoGradGuard noGrad;
  return comm.allGather(shard.detach().narrow(0, seg.offset, seg.chunk));
}

} // namespace

/// The backward of a unit's gather (see the header).
struct GatherUnit : public torch::autograd::Node {
  ShardedParameters *owner = nullptr;
  std::shared_ptr<ShardedParameters::Gathered> record;

  std::string name() const override { return "s2s::GatherUnitBackward"; }

  variable_list apply(variable_list &&grads) override {
    ShardedParameters &o = *owner;
    const FlatShards::Segment &seg = o.layout_.segments()[record->unit];
    // The previous unit's ops come next: its values back first.
    if (auto &prev = record->prev; prev && prev->freed && !prev->done)
      o.refill(*prev);
    torch::NoGradGuard noGrad;
    const int64_t n = o.comm_.size();
    torch::Tensor g = grads[0].defined()
                          ? grads[0].reshape({-1})
                          : torch::zeros({n * seg.chunk}, o.shard_.options());
    // Rank r's row: the gradient of its chunk (the padding's is zero).
    torch::Tensor mine = o.comm_.reduceScatterSum(g);
    record->done = true;
    o.free(*record);
    return {mine.div_(double(n))};
  }
};

std::vector<ShardedParameters::Unit>
ShardedParameters::unitsOf(const Model &model) {
  std::vector<Unit> units;
  for (size_t i = 0; i < model.namedParameters().size(); ++i) {
    const std::string &unit = model.unitOf(i);
    if (units.empty() || units.back().name != unit)
      units.push_back({unit, i, i});
    units.back().endParam = i + 1;
  }
  return units;
}

ShardedParameters::ShardedParameters(Communicator &comm, const Model &model,
                                     const FlatShards &layout,
                                     torch::Tensor shard)
    : comm_(comm), layout_(layout), shard_(std::move(shard)),
      units_(unitsOf(model)) {
  if (units_.size() != layout_.segments().size())
    throw Error("internal error: " + std::to_string(units_.size()) +
                " units in a layout of " +
                std::to_string(layout_.segments().size()) + " segments");
  for (const Unit &u : units_) {
    int64_t offset = 0; // within the unit
    for (size_t i = u.firstParam; i < u.endParam; ++i) {
      const torch::Tensor &p = model.namedParameters()[i].second;
      shapes_.push_back(p.sizes().vec());
      offsets_.push_back(offset);
      offset += p.numel();
      unitOfParam_.push_back(size_t(&u - units_.data()));
    }
  }
}

ShardedParameters::~ShardedParameters() = default;

const torch::Tensor &ShardedParameters::get(size_t index) {
  const size_t u = unitOfParam_.at(index);
  const bool withGrad = torch::GradMode::is_enabled();
  if (!resident_ || resident_->unit != u || resident_->withGrad != withGrad ||
      resident_->freed)
    gather(u);
  return views_[index - units_[u].firstParam];
}

void ShardedParameters::gather(size_t u) {
  releaseResident();
  const Unit &unit = units_[u];
  auto record = std::make_shared<Gathered>();
  record->unit = u;
  record->withGrad = torch::GradMode::is_enabled();
  const FlatShards::Segment &seg = layout_.segments()[u];
  torch::Tensor flat = gatherUnit(comm_, shard_, seg);
  record->values = flat.detach();
  account(flat.numel() * int64_t(flat.element_size()));
  if (record->withGrad) {
    // The node's edge: this rank's chunk of the unit in the shard.
    torch::Tensor part = shard_.narrow(0, seg.offset, seg.chunk);
    auto node = std::shared_ptr<GatherUnit>(new GatherUnit(),
                                            torch::autograd::deleteNode);
    node->owner = this;
    node->record = record;
    node->set_next_edges(torch::autograd::collect_next_edges(part));
    torch::autograd::create_gradient_edge(flat, node);
    record->prev = lastWithGrad_;
    lastWithGrad_ = record;
  }
  views_.clear();
  for (size_t i = unit.firstParam; i < unit.endParam; ++i) {
    const int64_t numel = c10::multiply_integers(shapes_[i]);
    views_.push_back(flat.narrow(0, offsets_[i], numel).view(shapes_[i]));
  }
  resident_ = std::move(record);
}

void ShardedParameters::free(Gathered &g) {
  if (g.freed)
    return;
  g.freed = true;
  if (!g.withGrad) { // no graph holds it: dropping the references frees it
    account(-g.values.numel() * int64_t(g.values.element_size()));
    g.values = torch::Tensor();
    return;
  }
  // Views of it live on in the graph: empty the storage they share.
  const c10::Storage &s = g.values.storage();
  account(-int64_t(s.nbytes()));
  s.set_data_ptr_noswap(at::DataPtr(nullptr, g.values.device()));
  s.set_nbytes(0);
}

void ShardedParameters::refill(Gathered &g) {
  torch::Tensor fresh = gatherUnit(comm_, shard_, layout_.segments()[g.unit]);
  const size_t nbytes = size_t(fresh.numel()) * fresh.element_size();
  if (fresh.storage_offset() != 0 || fresh.storage().nbytes() != nbytes)
    throw Error("internal error: a gathered unit does not own its storage");
  // Move the fresh values into the storage the graph's views share,
  // without an in-place write (which would trip their version check).
  const c10::Storage &s = g.values.storage();
  s.set_data_ptr_noswap(
      fresh.storage().set_data_ptr(at::DataPtr(nullptr, fresh.device())));
  s.set_nbytes(nbytes);
  g.freed = false;
  account(int64_t(nbytes));
}

void ShardedParameters::releaseResident() {
  if (resident_)
    free(*resident_);
  resident_.reset();
  views_.clear();
}

void ShardedParameters::endPass() {
  releaseResident();
  lastWithGrad_.reset();
}

void ShardedParameters::account(int64_t bytes) {
  liveBytes_ += bytes;
  peakBytes_ = std::max(peakBytes_, liveBytes_);
}

std::string ShardedParameters::describe() const {
  int64_t largest = 0;
  for (const FlatShards::Segment &s : layout_.segments())
    largest = std::max(largest, s.length);
  return std::to_string(units_.size()) + " unit" +
         (units_.size() == 1 ? "" : "s") + ", the largest " +
         std::to_string(largest) + " values";
}

} // namespace s2s::rt
