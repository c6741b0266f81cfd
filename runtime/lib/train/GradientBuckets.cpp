//===- GradientBuckets.cpp - zero2: gradients sent in the backward ------===//

#include "train/GradientBuckets.h"

#include "s2s/runtime/Error.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <algorithm>

namespace s2s::rt {

using torch::autograd::variable_list;

GradientBuckets::GradientBuckets(
    Communicator &comm, std::vector<torch::Tensor> params,
    const std::vector<std::pair<size_t, size_t>> &units,
    torch::Tensor shardGrad)
    : comm_(comm), params_(std::move(params)),
      shardGrad_(std::move(shardGrad)) {
  shardBegin_ = comm_.rank() * shardGrad_.numel();
  int64_t offset = 0;
  for (const torch::Tensor &p : params_) {
    offsets_.push_back(offset);
    offset += p.numel();
  }
  bucketOf_.assign(params_.size(), 0);
  arrived_.assign(params_.size(), false);
  reached_.assign(params_.size(), false);
  const int64_t itemBytes = int64_t(shardGrad_.element_size());
  for (const auto &[first, end] : units)
    for (size_t i = first; i < end; ++i) {
      const int64_t n = params_[i].numel();
      const bool fresh =
          i == first ||
          (buckets_.back().end - buckets_.back().begin + n) * itemBytes >
              kCapBytes;
      if (fresh)
        buckets_.push_back({i, i, offsets_[i], offsets_[i], 0, {}});
      Bucket &b = buckets_.back();
      b.endParam = i + 1;
      b.end += n;
      ++b.pending;
      bucketOf_[i] = buckets_.size() - 1;
    }
  // A post hook on each parameter's AccumulateGrad: its gradient is final.
  for (size_t i = 0; i < params_.size(); ++i) {
    accumulators_.push_back(
        torch::autograd::impl::grad_accumulator(params_[i]));
    hooks_.push_back(accumulators_.back()->add_post_hook(
        std::make_unique<torch::autograd::utils::LambdaPostHook>(
            [this, i](const variable_list &outputs, const variable_list &) {
              ready(i);
              return outputs;
            })));
  }
}

GradientBuckets::~GradientBuckets() {
  for (size_t i = 0; i < accumulators_.size(); ++i)
    accumulators_[i]->del_post_hook(hooks_[i]);
}

void GradientBuckets::account(int64_t bytes) {
  liveBytes_ += bytes;
  peakBytes_ = std::max(peakBytes_, liveBytes_);
}

void GradientBuckets::ready(size_t index) {
  if (arrived_[index])
    throw Error("internal error: zero2: the gradient of parameter " +
                std::to_string(index) +
                " was finished twice in one backward (it would be lost)");
  arrived_[index] = true;
  torch::NoGradGuard noGrad;
  torch::Tensor &p = params_[index];
  Bucket &b = buckets_[bucketOf_[index]];
  allocate(b);
  if (const torch::Tensor grad = p.grad(); grad.defined()) {
    reached_[index] = true;
    const int64_t bytes = grad.numel() * int64_t(grad.element_size());
    account(bytes);
    b.buffer.narrow(0, offsets_[index] - b.begin, p.numel())
        .add_(grad.reshape({-1}));
    p.mutable_grad().reset();
    account(-bytes);
  }
  --b.pending;
  sendInOrder(false);
}

void GradientBuckets::allocate(Bucket &b) {
  if (b.buffer.defined())
    return;
  b.buffer = torch::zeros({b.end - b.begin}, shardGrad_.options());
  account(b.buffer.numel() * int64_t(b.buffer.element_size()));
}

void GradientBuckets::sendInOrder(bool all) {
  // In the fixed order only, so every rank's collectives line up.
  while (sent_ < buckets_.size()) {
    Bucket &next = buckets_[buckets_.size() - 1 - sent_];
    if (!all && next.pending != 0)
      break;
    send(next);
    ++sent_;
  }
}

void GradientBuckets::send(Bucket &b) {
  torch::NoGradGuard noGrad;
  allocate(b); // zeros when the backward reached none of its parameters
  // Rank q's part: the bucket's values inside [q·S, (q+1)·S).
  const int64_t S = shardGrad_.numel(), n = comm_.size();
  std::vector<int64_t> lengths;
  for (int64_t q = 0; q < n; ++q)
    lengths.push_back(std::max<int64_t>(0, std::min(b.end, (q + 1) * S) -
                                               std::max(b.begin, q * S)));
  torch::Tensor mine = comm_.reduceScatterSum(b.buffer, lengths);
  if (mine.numel() > 0)
    shardGrad_
        .narrow(0, std::max(b.begin, shardBegin_) - shardBegin_, mine.numel())
        .add_(mine.div_(double(n)));
  account(-b.buffer.numel() * int64_t(b.buffer.element_size()));
  b.buffer.reset();
  b.pending = b.endParam - b.firstParam;
}

void GradientBuckets::finish() {
  sendInOrder(true);
  sent_ = 0;
  std::fill(arrived_.begin(), arrived_.end(), false);
}

} // namespace s2s::rt
