//===- LeadTime.cpp - Kernels of lead-time (on-stamp) training ------------===//
//
// The unrolled rollout of a spec with `leads` draws one lead time per
// sample, takes each sample's target frame at its lead, and gives the model
// its lead in hours; the one-step function validation calls reads the lead
// from the call's context. Ops.h has the contracts.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Error.h"
#include "s2s/runtime/Ops.h"

#include <algorithm>
#include <string>

namespace s2s::rt {

Tensor sample_leads(Model &m, const Tensor &window, const Ints &leads) {
  if (leads.empty())
    throw Error("sample_leads: the set of lead times is empty");
  if (window.dim() < 2)
    throw Error("sample_leads: expected a window [batch, frames, ...], got " +
                std::to_string(window.dim()) + " dimensions");
  for (int64_t l : leads)
    if (l < 1 || l >= window.size(1))
      throw Error("sample_leads: lead " + std::to_string(l) +
                  " is not a frame after the first of a window of " +
                  std::to_string(window.size(1)) + " frames");
  Tensor set = torch::tensor(leads, torch::kInt64).to(window.device());
  Tensor pick = torch::randint(
      0, int64_t(leads.size()), {window.size(0)}, m.generator(),
      torch::TensorOptions().dtype(torch::kInt64).device(window.device()));
  return set.index_select(0, pick).to(window.scalar_type());
}

Tensor select_lead(const Tensor &window, const Tensor &leads) {
  if (window.dim() < 2 || leads.dim() != 1 || leads.size(0) != window.size(0))
    throw Error("select_lead: expected a window [batch, frames, ...] and one "
                "lead per sample");
  Tensor idx = leads.detach().round().to(torch::kInt64);
  if (idx.numel() == 0)
    return window.select(1, 0);
  const int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
  if (lo < 0 || hi >= window.size(1))
    throw Error("select_lead: lead " + std::to_string(lo < 0 ? lo : hi) +
                " is not a frame of a window of " +
                std::to_string(window.size(1)) + " frames");
  Tensor rows = torch::arange(window.size(0), idx.options());
  return window.index({rows, idx});
}

Tensor context_lead(Model &m, const Tensor &like, int64_t defaultSeconds) {
  const int64_t s =
      m.context().leadSeconds > 0 ? m.context().leadSeconds : defaultSeconds;
  return torch::full({like.size(0)}, double(s) / 3600.0, like.options());
}

} // namespace s2s::rt
