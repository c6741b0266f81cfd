//===- ShardedParameters.cpp - zero3/fsdp: parameters gathered per unit ---===//

#include "train/ShardedParameters.h"

#include "s2s/runtime/Error.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>

#include <algorithm>
#include <cctype>

namespace s2s::rt {

using torch::autograd::variable_list;

std::string unitOf(const std::string &path) {
  size_t start = 0;
  while (start < path.size()) {
    size_t dot = path.find('.', start);
    const std::string part =
        path.substr(start, dot == std::string::npos ? dot : dot - start);
    const bool numeric =
        !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        });
    if (numeric || dot == std::string::npos)
      return path.substr(0, dot);
    start = dot + 1;
  }
  return path;
}

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

/// Rank r's part of the flat range [begin, end) of a layout of `shardSize`
/// values per rank: its first flat offset and its length (0: none of it).
struct Part {
  int64_t lo = 0, len = 0;
};
Part partOf(int64_t r, int64_t shardSize, int64_t begin, int64_t end) {
  const int64_t lo = std::max(begin, r * shardSize),
                hi = std::min(end, (r + 1) * shardSize);
  return {lo, std::max<int64_t>(hi - lo, 0)};
}

/// The longest of the n ranks' parts of [begin, end).
int64_t longestPart(int64_t n, int64_t shardSize, int64_t begin, int64_t end) {
  int64_t longest = 0;
  for (int64_t r = 0; r < n; ++r)
    longest = std::max(longest, partOf(r, shardSize, begin, end).len);
  return longest;
}

/// The unit's values from every rank's part of it: each rank sends its part
/// padded to the longest, and the parts are cut back out in rank order.
/// `begin`, `end`: the unit's flat offsets; a fresh contiguous tensor.
torch::Tensor gatherFlat(Communicator &comm, const torch::Tensor &shard,
                         int64_t shardSize, int64_t begin, int64_t end) {
  torch::NoGradGuard noGrad;
  const int64_t n = comm.size();
  const int64_t longest = longestPart(n, shardSize, begin, end);
  torch::Tensor mine = torch::zeros({longest}, shard.options());
  const Part me = partOf(comm.rank(), shardSize, begin, end);
  if (me.len > 0)
    mine.narrow(0, 0, me.len)
        .copy_(
            shard.detach().narrow(0, me.lo - comm.rank() * shardSize, me.len));
  torch::Tensor all = comm.allGather(mine);
  std::vector<torch::Tensor> pieces;
  for (int64_t r = 0; r < n; ++r)
    if (const Part p = partOf(r, shardSize, begin, end); p.len > 0)
      pieces.push_back(all.narrow(0, r * longest, p.len));
  return torch::cat(pieces);
}

} // namespace

/// The backward of a unit's gather (see the header).
struct GatherUnit : public torch::autograd::Node {
  ShardedParameters *owner = nullptr;
  std::shared_ptr<ShardedParameters::Gathered> record;

  std::string name() const override { return "s2s::GatherUnitBackward"; }

  variable_list apply(variable_list &&grads) override {
    ShardedParameters &o = *owner;
    const ShardedParameters::Unit &u = o.units_[record->unit];
    // The previous unit's ops come next: its values back first.
    if (auto &prev = record->prev; prev && prev->freed && !prev->done)
      o.refill(*prev);
    torch::NoGradGuard noGrad;
    const int64_t n = o.comm_.size(), S = o.shardSize_;
    torch::Tensor g = grads[0].defined()
                          ? grads[0].reshape({-1})
                          : torch::zeros({u.end - u.begin}, o.shard_.options());
    // Row r: the gradient of rank r's part, padded to the longest.
    torch::Tensor rows =
        torch::zeros({n, longestPart(n, S, u.begin, u.end)}, g.options());
    for (int64_t r = 0; r < n; ++r)
      if (const Part p = partOf(r, S, u.begin, u.end); p.len > 0)
        rows[r].narrow(0, 0, p.len).copy_(g.narrow(0, p.lo - u.begin, p.len));
    torch::Tensor mine = o.comm_.reduceScatterSum(rows.reshape({-1}));
    record->done = true;
    o.free(*record);
    const int64_t myLen = partOf(o.comm_.rank(), S, u.begin, u.end).len;
    return {mine.narrow(0, 0, myLen).div(double(n))};
  }
};

ShardedParameters::ShardedParameters(
    Communicator &comm,
    const std::vector<std::pair<std::string, torch::Tensor>> &params,
    torch::Tensor shard, int64_t shardSize)
    : comm_(comm), shard_(std::move(shard)), shardSize_(shardSize) {
  int64_t offset = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto &[name, p] = params[i];
    shapes_.push_back(p.sizes().vec());
    offsets_.push_back(offset);
    const std::string unit = unitOf(name);
    if (units_.empty() || units_.back().name != unit)
      units_.push_back({unit, i, i, offset, offset});
    units_.back().endParam = i + 1;
    offset += p.numel();
    units_.back().end = offset;
    unitOfParam_.push_back(units_.size() - 1);
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
  torch::Tensor flat =
      gatherFlat(comm_, shard_, shardSize_, unit.begin, unit.end);
  record->values = flat.detach();
  account(flat.numel() * int64_t(flat.element_size()));
  if (record->withGrad) {
    // The node's edge: this rank's part of the shard (possibly empty).
    const Part me = partOf(comm_.rank(), shardSize_, unit.begin, unit.end);
    torch::Tensor part =
        me.len > 0 ? shard_.narrow(0, me.lo - comm_.rank() * shardSize_, me.len)
                   : shard_.narrow(0, 0, 0);
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
    views_.push_back(
        flat.narrow(0, offsets_[i] - unit.begin, numel).view(shapes_[i]));
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
  const Unit &unit = units_[g.unit];
  torch::Tensor fresh =
      gatherFlat(comm_, shard_, shardSize_, unit.begin, unit.end);
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
  for (const Unit &u : units_)
    largest = std::max(largest, u.end - u.begin);
  return std::to_string(units_.size()) + " unit" +
         (units_.size() == 1 ? "" : "s") + ", the largest " +
         std::to_string(largest) + " values";
}

} // namespace s2s::rt
