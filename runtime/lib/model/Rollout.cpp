//===- Rollout.cpp - The rollout's plugins: Jacobian, patches, recompute --===//
//
// Kernels the unrolled rollout calls besides the model's own (Ops.h has the
// contracts, docs/language.md the definitions): the Jacobian penalty of a
// model step, the patch split and merge of patch-wise prediction, and the
// recomputed step of checkpoint_activations.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Error.h"
#include "s2s/runtime/Ops.h"
#include "s2s/runtime/PatchGeometry.h"

#include <torch/csrc/autograd/custom_function.h>

#include <string>

namespace s2s::rt {

Tensor stop_gradient(const Tensor &x) { return x.detach(); }

Tensor jacobian_input(Model &m, const Tensor &x) {
  if (m.source()) // s2sc refuses it at the jacobian line
    throw Error("a Jacobian penalty with parameters sharded per unit (zero3, "
                "fsdp) is not implemented yet: use zero2 or ddp");
  if (!torch::GradMode::is_enabled() || x.requires_grad())
    return x;
  return x.detach().requires_grad_(true);
}

namespace {

/// The largest sample exact(...) runs on (s2sc's UnrollRollout.cpp states
/// the same limit at compile time).
constexpr int64_t kMaxExactJacobian = 4096;

/// ||J_n^T v_n||^2 for each sample n: one vector-Jacobian product.
Tensor vjpNormSq(const Tensor &input, const Tensor &output, const Tensor &v) {
  Tensor g = torch::autograd::grad({output}, {input}, {v},
                                   /*retain_graph=*/true,
                                   /*create_graph=*/true)[0];
  return g.pow(2).reshape({g.size(0), -1}).sum(1);
}

Tensor probeLike(Model &m, const Tensor &y, ProbeDist dist) {
  auto opts = y.options().requires_grad(false);
  if (dist == ProbeDist::Gaussian)
    return torch::randn(y.sizes(), m.generator(), opts);
  return torch::randint(0, 2, y.sizes(), m.generator(), opts) * 2 - 1;
}

} // namespace

Tensor jacobian_penalty(Model &m, const Tensor &input, const Tensor &output,
                        JacobianKind kind, int64_t samples, ProbeDist probe,
                        double weight) {
  if (input.dim() < 1 || output.dim() < 1 || input.size(0) != output.size(0))
    throw Error("jacobian penalty: input " + shapeStr(input.sizes()) +
                " and output " + shapeStr(output.sizes()) +
                " do not have one batch");
  Tensor zero = torch::zeros({}, output.options().requires_grad(false));
  if (!torch::GradMode::is_enabled() || !input.requires_grad() ||
      !output.requires_grad())
    return zero;
  const int64_t n = input.size(0);
  const double dim = double(input.numel() / std::max<int64_t>(n, 1));
  Tensor sumSq; // [n]: ||J_n||_F^2 (exact) or its estimate
  if (kind == JacobianKind::Exact) {
    // Row i of every sample's Jacobian at once: the probe is one at output
    // value i of each sample.
    const int64_t outDim = output.numel() / std::max<int64_t>(n, 1);
    // s2sc refuses larger frames when it knows the grid; this is the same
    // limit for a grid only the data tells.
    if (outDim > kMaxExactJacobian)
      throw Error("exact Jacobian penalty: a sample of " +
                  shapeStr(output.sizes().slice(1)) + " has " +
                  std::to_string(outDim) +
                  " values, one backward pass each, every one keeping its "
                  "graph; exact(...) is offered up to " +
                  std::to_string(kMaxExactJacobian) +
                  " values per sample: use hutchinson(samples = n)");
    Tensor onehot = torch::zeros({n, outDim}, output.options());
    for (int64_t i = 0; i < outDim; ++i) {
      onehot.zero_();
      onehot.select(1, i).fill_(1.0);
      Tensor r = vjpNormSq(input, output, onehot.view(output.sizes()).clone());
      sumSq = sumSq.defined() ? sumSq + r : r;
    }
  } else {
    if (samples < 1)
      throw Error("hutchinson: samples must be at least 1, got " +
                  std::to_string(samples));
    for (int64_t s = 0; s < samples; ++s) {
      Tensor r = vjpNormSq(input, output, probeLike(m, output, probe));
      sumSq = sumSq.defined() ? sumSq + r : r;
    }
    sumSq = sumSq / double(samples);
  }
  return (sumSq / dim).mean() * weight;
}

// --- patches -------------------------------------------------------------

namespace {

PatchLayout layoutFor(const Ints &grid, const Ints &size, const Ints &stride,
                      const Ints &halo, const char *what) {
  if (grid.size() != 2 || size.size() != 2 || stride.size() != 2 ||
      halo.size() != 2)
    throw Error(std::string(what) +
                ": grid, size, stride and halo are [lat, lon] pairs");
  PatchLayout l =
      patchLayout(grid.data(), size.data(), stride.data(), halo.data());
  if (!l.problem.empty())
    throw Error(std::string(what) + ": " + l.problem);
  return l;
}

/// x with its first `extra` longitudes appended after the last (periodic).
Tensor wrapLon(const Tensor &x, int64_t extra) {
  if (extra <= 0)
    return x;
  return torch::cat({x, x.narrow(-1, 0, extra)}, -1);
}

} // namespace

Tensor extract_patches(const Tensor &x, const Ints &size, const Ints &stride) {
  if (x.dim() != 4)
    throw Error("extract_patches: expected [batch, channel, lat, lon], got " +
                shapeStr(x.sizes()));
  const Ints grid{x.size(2), x.size(3)};
  PatchLayout l = layoutFor(grid, size, stride, {0, 0}, "extract_patches");
  Tensor wide = wrapLon(x, size[1] < grid[1] ? size[1] : 0);
  std::vector<Tensor> parts;
  for (int64_t i : l.latStarts)
    for (int64_t j : l.lonStarts)
      parts.push_back(wide.narrow(2, i, size[0]).narrow(3, j, size[1]));
  // [n, P, c, s0, s1] -> [n * P, c, s0, s1]: sample-major.
  return torch::stack(parts, 1).reshape(
      {x.size(0) * l.count(), x.size(1), size[0], size[1]});
}

Tensor merge_patches(const Tensor &x, const Ints &grid, const Ints &size,
                     const Ints &stride, const Ints &halo) {
  PatchLayout l = layoutFor(grid, size, stride, halo, "merge_patches");
  const int64_t P = l.count();
  if (x.dim() != 4 || x.size(0) % P != 0 || x.size(2) != size[0] ||
      x.size(3) != size[1])
    throw Error("merge_patches: expected [batch * " + std::to_string(P) +
                ", channel, " + std::to_string(size[0]) + ", " +
                std::to_string(size[1]) + "], got " + shapeStr(x.sizes()));
  const int64_t n = x.size(0) / P, c = x.size(1);
  const int64_t extra = size[1] < grid[1] ? size[1] : 0;
  Tensor y = x.reshape({n, P, c, size[0], size[1]});
  Tensor sum = torch::zeros({n, c, grid[0], grid[1] + extra}, x.options());
  Tensor wsum = torch::zeros({grid[0], grid[1] + extra}, x.options());
  int64_t p = 0;
  for (int64_t i : l.latStarts) {
    Tensor wLat = torch::empty({size[0], 1}, torch::kFloat64);
    for (int64_t k = 0; k < size[0]; ++k)
      wLat[k][0] = patchWeight(grid[0], size[0], i, halo[0], false, k);
    for (int64_t j : l.lonStarts) {
      Tensor wLon = torch::empty({1, size[1]}, torch::kFloat64);
      for (int64_t k = 0; k < size[1]; ++k)
        wLon[0][k] = patchWeight(grid[1], size[1], j, halo[1], true, k);
      Tensor w = (wLat * wLon).to(x.options().requires_grad(false));
      sum.narrow(2, i, size[0]).narrow(3, j, size[1]).add_(y.select(1, p) * w);
      wsum.narrow(0, i, size[0]).narrow(1, j, size[1]).add_(w);
      ++p;
    }
  }
  if (extra > 0) {
    sum = sum.narrow(3, 0, grid[1]) +
          torch::nn::functional::pad(
              sum.narrow(3, grid[1], extra),
              torch::nn::functional::PadFuncOptions({0, grid[1] - extra}));
    wsum = wsum.narrow(1, 0, grid[1]) +
           torch::nn::functional::pad(
               wsum.narrow(1, grid[1], extra).unsqueeze(0),
               torch::nn::functional::PadFuncOptions({0, grid[1] - extra}))
               .squeeze(0);
  }
  return sum / wsum;
}

// --- recomputation -------------------------------------------------------

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// The step runs without a graph; its backward runs it again, with the
/// generator and batch context of the first run, and differentiates that.
struct RecomputeStep : torch::autograd::Function<RecomputeStep> {
  static variable_list forward(AutogradContext *ctx, Model *m, StepFn fn,
                               const Tensor &x, torch::TensorList params) {
    ctx->saved_data["model"] = reinterpret_cast<int64_t>(m);
    ctx->saved_data["fn"] = reinterpret_cast<int64_t>(fn);
    ctx->saved_data["rng"] = m->generator().get_state();
    ctx->saved_data["lead"] = m->context().leadSeconds;
    const Tensor &callTimes = m->cache(kCallTimesSlot);
    ctx->saved_data["has_call_times"] = callTimes.defined();
    if (callTimes.defined())
      ctx->saved_data["call_times"] = callTimes.clone();
    ctx->saved_data["has_time"] = m->context().time.defined();
    if (m->context().time.defined())
      ctx->saved_data["time"] = m->context().time;
    ctx->saved_data["x_grad"] = x.requires_grad();
    ctx->save_for_backward({x});
    (void)params;
    return {fn(*m, x)};
  }

  static variable_list backward(AutogradContext *ctx, variable_list gradOut) {
    auto *m = reinterpret_cast<Model *>(ctx->saved_data["model"].toInt());
    auto fn = reinterpret_cast<StepFn>(ctx->saved_data["fn"].toInt());
    Tensor x = ctx->get_saved_variables()[0];
    // What the later steps left, put back after the recomputation.
    Tensor rngNow = m->generator().get_state();
    BatchContext ctxNow = m->context();
    m->generator().set_state(ctx->saved_data["rng"].toTensor());
    m->context().leadSeconds = ctx->saved_data["lead"].toInt();
    Tensor callTimesNow = m->cache(kCallTimesSlot);
    m->cache(kCallTimesSlot) = ctx->saved_data["has_call_times"].toBool()
                                   ? ctx->saved_data["call_times"].toTensor()
                                   : Tensor();
    m->context().time = ctx->saved_data["has_time"].toBool()
                            ? ctx->saved_data["time"].toTensor()
                            : Tensor();
    const bool xGrad = ctx->saved_data["x_grad"].toBool();
    std::vector<Tensor> params = m->parameters();
    variable_list grads;
    {
      torch::AutoGradMode on(true);
      Tensor xr = x.detach().requires_grad_(xGrad);
      Tensor y = fn(*m, xr);
      variable_list inputs;
      if (xGrad)
        inputs.push_back(xr);
      inputs.insert(inputs.end(), params.begin(), params.end());
      grads = torch::autograd::grad({y}, inputs, {gradOut[0]},
                                    /*retain_graph=*/false,
                                    /*create_graph=*/false,
                                    /*allow_unused=*/true);
    }
    m->generator().set_state(rngNow);
    m->context() = ctxNow;
    m->cache(kCallTimesSlot) = callTimesNow;
    variable_list out{Tensor(), Tensor(), xGrad ? grads[0] : Tensor()};
    out.insert(out.end(), grads.begin() + (xGrad ? 1 : 0), grads.end());
    return out;
  }
};

} // namespace

Tensor recompute(Model &m, StepFn fn, const Tensor &x) {
  if (!torch::GradMode::is_enabled())
    return fn(m, x);
  std::vector<Tensor> params = m.parameters();
  return RecomputeStep::apply(&m, fn, x, torch::TensorList(params))[0];
}

} // namespace s2s::rt
