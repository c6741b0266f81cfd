//===- Ops.cpp - Layer kernels generated code calls -----------------------===//
//
// One function per s2s dialect op on LibTorch ops. Parameter names and
// shapes follow S2SOps.cpp's getParameters exactly. Static tensors (graph
// edges, coordinate grids, latitude weights, constants) are built once and
// kept in Model::cache.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Ops.h"

#include "model/Autocast.h"
#include "model/Fused.h"
#include "model/Kernels.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/GraphGeometry.h"
#include "support/Calendar.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

namespace s2s::rt {

namespace F = torch::nn::functional;

namespace {

const double kPi = 3.14159265358979323846;

bool is(const char *s, const char *what) {
  return std::strcmp(s ? s : "", what) == 0;
}

/// The parameter by value: Model::param returns a reference into a vector
/// that the next new parameter may reallocate.
Tensor getParam(Model &m, const char *name, const char *suffix,
                torch::IntArrayRef shape) {
  return m.param(std::string(name) + "." + suffix, shape);
}

/// Integer inputs (an edge list embedded as features) become the weights'
/// floating type.
Tensor floating(const Tensor &x, const Tensor &like) {
  return x.is_floating_point() || x.is_complex() ? x : x.to(like.scalar_type());
}

/// A static tensor kept in the model's cache under `key`, built by `make`
/// on first use outside inference mode and without autograd history, so it
/// can be used in training graphs later.
template <typename Make>
Tensor cached(Model &m, const std::string &key, Make make) {
  Tensor &slot = m.cache(key);
  if (!slot.defined()) {
    c10::InferenceMode notInference(false);
    torch::NoGradGuard noGrad;
    slot = make();
  }
  return slot;
}

/// x @ w (+ b) over the last dimension, w [in, out].
Tensor affine(const Tensor &x, const Tensor &w, const Tensor &b) {
  int64_t in = w.size(0), out = w.size(1);
  if (x.dim() == 0 || x.size(-1) != in)
    throw Error("linear layer of input size " + std::to_string(in) +
                " applied to a tensor of shape " + shapeStr(x.sizes()));
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = out;
  Tensor x2 = x.reshape({-1, in});
  // Evaluation: float32 products on oneDNN's GEMM (model/Fused.h).
  Tensor y = fused::fusable({x2, w}) ? fused::affine(x2, w, b) : Tensor();
  if (!y.defined())
    y = b.defined() ? at::addmm(b, x2, w) : at::mm(x2, w);
  return y.view(shape);
}

/// Latitudes (degrees) of `n` rows: the context's when it has `n`, else
/// equally spaced from north to south (odd n: including both poles; even
/// n: cell centres).
Tensor latitudes(const Model &m, int64_t n) {
  const Tensor &lat = m.context().latitude;
  if (lat.defined()) {
    if (lat.numel() != n)
      throw Error("the grid has " + std::to_string(n) +
                  " latitude rows but the data's latitude has " +
                  std::to_string(lat.numel()) + " values");
    return lat.to(torch::kCPU, torch::kFloat64).reshape({n});
  }
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  if (n % 2 == 1)
    return n == 1 ? torch::zeros({1}, opts)
                  : torch::linspace(90.0, -90.0, n, opts);
  return 90.0 - (torch::arange(n, opts) + 0.5) * (180.0 / n);
}

/// Longitudes (degrees) of `n` columns: the context's, else 360*j/n.
Tensor longitudes(const Model &m, int64_t n) {
  const Tensor &lon = m.context().longitude;
  if (lon.defined()) {
    if (lon.numel() != n)
      throw Error("the grid has " + std::to_string(n) +
                  " longitude columns but the data's longitude has " +
                  std::to_string(lon.numel()) + " values");
    return lon.to(torch::kCPU, torch::kFloat64).reshape({n});
  }
  return torch::arange(n, torch::TensorOptions().dtype(torch::kFloat64)) *
         (360.0 / n);
}

std::vector<double> toVector(const Tensor &t) {
  Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(),
                             c.data_ptr<double>() + c.numel());
}

Tensor multiHead(Model &m, const Tensor &q, const Tensor &k, const Tensor &v,
                 double dropoutP) {
  // q [b, h, n, d], k/v [b, h, s, d] -> [b, h, n, d]
  if (dropoutP > 0 && m.isTraining()) {
    // Dropout on the attention weights must draw from the model's
    // generator, which the fused kernel does not take.
    Tensor a =
        at::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(-1)));
    a = dropout(m, a.softmax(-1), dropoutP);
    return at::matmul(a, v);
  }
  // Fused when nothing needs gradients; LibTorch 1.13 falls back to the
  // math path (matmul + softmax) otherwise.
  return std::get<0>(at::_scaled_dot_product_attention(q, k, v));
}

/// [b, n, e] -> [b, heads, n, e/heads]
Tensor splitHeads(const Tensor &x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads})
      .transpose(1, 2);
}

/// [b, heads, n, d] -> [b, n, heads*d]
Tensor mergeHeads(const Tensor &x) {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), -1});
}

void checkHeads(const char *op, const Tensor &x, int64_t heads) {
  if (x.dim() != 3)
    throw Error(std::string(op) + " needs [batch, tokens, embed], got " +
                shapeStr(x.sizes()));
  if (heads < 1 || x.size(2) % heads)
    throw Error(std::string(op) + ": embedding " + std::to_string(x.size(2)) +
                " does not divide into " + std::to_string(heads) + " heads");
}

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

} // namespace

// --- arithmetic ------------------------------------------------------------

Tensor constant(Model &m, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return cached(m, "constant:" + std::to_string(bits), [&] {
    return torch::scalar_tensor(
        value, torch::TensorOptions().dtype(m.dtype()).device(m.device()));
  });
}
Tensor add(const Tensor &a, const Tensor &b) { return a + b; }
Tensor sub(const Tensor &a, const Tensor &b) { return a - b; }
Tensor mul(const Tensor &a, const Tensor &b) { return a * b; }
Tensor div(const Tensor &a, const Tensor &b) { return a / b; }
Tensor neg(const Tensor &x) { return -x; }

// --- pointwise -------------------------------------------------------------

namespace {
/// activation(x, kind), written over x when `inPlace` (a fresh x no graph
/// records).
Tensor applyActivation(Tensor x, Activation kind, bool inPlace) {
  switch (kind) {
  case Activation::None:
    return x;
  case Activation::Gelu:
    return inPlace ? at::gelu_(x) : at::gelu(x);
  case Activation::Relu:
    return inPlace ? at::relu_(x) : at::relu(x);
  case Activation::Silu:
    return inPlace ? at::silu_(x) : at::silu(x);
  case Activation::Tanh:
    return inPlace ? at::tanh_(x) : at::tanh(x);
  case Activation::Sigmoid:
    return inPlace ? at::sigmoid_(x) : at::sigmoid(x);
  }
  throw Error("unknown activation kind " +
              std::to_string(static_cast<int>(kind)));
}

Tensor activationInPlace(Tensor x, Activation kind) {
  return applyActivation(std::move(x), kind, true);
}
} // namespace

Tensor activation(const Tensor &x, Activation kind) {
  return applyActivation(x, kind, false);
}

Tensor softmax(const Tensor &x, int64_t dim) { return x.softmax(dim); }

Tensor dropout(Model &m, const Tensor &x, double p) {
  if (!m.isTraining() || p <= 0)
    return x;
  if (p >= 1)
    return x * 0;
  Tensor keep = at::empty_like(x, at::MemoryFormat::Contiguous)
                    .bernoulli_(1.0 - p, m.generator())
                    .div_(1.0 - p);
  return x * keep;
}

Tensor drop_path(Model &m, const Tensor &x, double p) {
  if (!m.isTraining() || p <= 0 || x.dim() == 0)
    return x;
  if (p >= 1)
    return x * 0;
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  Tensor keep = at::empty(shape, x.options())
                    .bernoulli_(1.0 - p, m.generator())
                    .div_(1.0 - p);
  return x * keep;
}

// --- layers with parameters -------------------------------------------------

Tensor linear(Model &m, const char *name, const Tensor &x, int64_t out,
              bool bias, Activation act) {
  if (x.dim() == 0)
    throw Error(std::string("linear '") + name +
                "' needs at least one "
                "dimension, got a scalar");
  int64_t in = x.size(-1);
  Tensor w = getParam(m, name, "weight", {in, out});
  Tensor b = bias ? getParam(m, name, "bias", {out}) : Tensor();
  Tensor y = affine(floating(x, w), w, b);
  // Evaluation: the activation over the product's own fresh buffer.
  if (act != Activation::None && fused::fusable({y}))
    return activationInPlace(y, act);
  return activation(y, act);
}

Tensor conv2d(Model &m, const char *name, const Tensor &x, int64_t out,
              const Ints &kernel, const Ints &stride, const Ints &padding,
              PadMode padMode, bool bias, Activation act) {
  if (x.dim() != 4)
    throw Error(std::string("conv2d '") + name +
                "' needs [batch, channel, lat, lon], got " +
                shapeStr(x.sizes()));
  if (kernel.size() != 2 || stride.size() != 2 || padding.size() != 2)
    throw Error(std::string("conv2d '") + name +
                "': kernel, stride and padding need two values each");
  int64_t in = x.size(1);
  Tensor w = getParam(m, name, "weight", {out, in, kernel[0], kernel[1]});
  Tensor b = bias ? getParam(m, name, "bias", {out}) : Tensor();
  Tensor xin = floating(x, w);
  Tensor y;
  if (padMode == PadMode::Zeros || (padding[0] == 0 && padding[1] == 0)) {
    y = at::conv2d(xin, w, b, stride, padding);
  } else {
    y = at::conv2d(
        pad(xin, {padding[1], padding[1], padding[0], padding[0]}, padMode), w,
        b, stride);
  }
  return activation(y, act);
}

Tensor layer_norm(Model &m, const char *name, const Tensor &x, double eps) {
  int64_t d = x.size(-1);
  Tensor w = getParam(m, name, "weight", {d});
  Tensor b = getParam(m, name, "bias", {d});
  // Norms in fp32 under autocast, as CUDA's autocast runs them (1.13's CPU
  // autocast would cast the input back to bf16 and fail on fp32 weights).
  AutocastOff fp32;
  return at::layer_norm(atLeastFloat(x), {d}, w, b, eps);
}

Tensor group_norm(Model &m, const char *name, const Tensor &x, int64_t groups,
                  double eps) {
  if (x.dim() < 2 || groups < 1 || x.size(1) % groups)
    throw Error(std::string("group_norm '") + name +
                "': " + shapeStr(x.sizes()) +
                " does not have channels (dim 1) "
                "divisible into " +
                std::to_string(groups) + " groups");
  int64_t c = x.size(1);
  Tensor w = getParam(m, name, "weight", {c});
  Tensor b = getParam(m, name, "bias", {c});
  AutocastOff fp32; // as layer_norm
  return at::group_norm(atLeastFloat(x), groups, w, b, eps);
}

Tensor instance_norm(const Tensor &x, double eps) {
  if (x.dim() < 3)
    throw Error("instance_norm needs [batch, channel, ...], got " +
                shapeStr(x.sizes()));
  // One group per channel: normalised over the spatial dims of each
  // (sample, channel), for any number of spatial dims.
  AutocastOff fp32; // as layer_norm
  return at::group_norm(atLeastFloat(x), x.size(1), {}, {}, eps);
}

namespace {

/// Self-attention on `heads / parts` of `heads` heads: the whole layer for
/// parts = 1; a tensor rank's heads (its slices of qkv and proj) otherwise,
/// returning the output projection's partial product without its bias.
Tensor headsAttention(Model &m, const char *name, const Tensor &x,
                      int64_t heads, bool qkvBias, double dropoutP,
                      int64_t parts) {
  checkHeads("attention", x, heads);
  if (parts < 1 || heads % parts != 0)
    throw Error(std::string("attention '") + name + "': its " +
                std::to_string(heads) + " heads do not split over " +
                std::to_string(parts) + " tensor ranks");
  if (parts > 1 && dropoutP > 0 && m.isTraining())
    throw Error(std::string("attention '") + name +
                "': attention dropout is not implemented under tensor "
                "parallel yet (each rank would draw its own mask); set its "
                "dropout to 0 or the tensor axis to 1");
  int64_t e = x.size(2), h = heads / parts, d = e / heads;
  Tensor wqkv = getParam(m, name, "qkv.weight", {e, 3 * h * d});
  Tensor bqkv = qkvBias ? getParam(m, name, "qkv.bias", {3 * h * d}) : Tensor();
  Tensor wp = getParam(m, name, "proj.weight", {h * d, e});
  Tensor bp = parts == 1 ? getParam(m, name, "proj.bias", {e}) : Tensor();
  int64_t b = x.size(0), n = x.size(1);
  Tensor packed = affine(x, wqkv, bqkv);
  if ((dropoutP <= 0 || !m.isTraining()) && fused::fusable({packed}))
    return affine(fused::attention(packed, h), wp, bp);
  // [b, n, 3hd] -> [3, b, h, n, d]
  Tensor qkv = packed.view({b, n, 3, h, d}).permute({2, 0, 3, 1, 4});
  Tensor o = multiHead(m, qkv[0], qkv[1], qkv[2], dropoutP);
  return affine(mergeHeads(o), wp, bp);
}

} // namespace

Tensor attention(Model &m, const char *name, const Tensor &x, int64_t heads,
                 bool qkvBias, double dropoutP) {
  return headsAttention(m, name, x, heads, qkvBias, dropoutP, 1);
}

Tensor attention_heads(Model &m, const char *name, const Tensor &x,
                       int64_t heads, bool qkvBias, double dropoutP,
                       int64_t parts) {
  return headsAttention(m, name, x, heads, qkvBias, dropoutP, parts);
}

Tensor linear_column(Model &m, const char *name, const Tensor &x, int64_t out,
                     bool bias, Activation act, int64_t parts) {
  if (parts < 1 || out % parts != 0)
    throw Error(std::string("linear '") + name + "': its " +
                std::to_string(out) + " outputs do not split over " +
                std::to_string(parts) + " tensor ranks");
  return linear(m, name, x, out / parts, bias, act);
}

Tensor linear_row(Model &m, const char *name, const Tensor &x, int64_t out) {
  return linear(m, name, x, out, /*bias=*/false, Activation::None);
}

Tensor cross_attention(Model &m, const char *name, const Tensor &x,
                       const Tensor &context, int64_t heads) {
  checkHeads("cross_attention", x, heads);
  if (context.dim() != 3 || context.size(0) != x.size(0))
    throw Error("cross_attention: context " + shapeStr(context.sizes()) +
                " does not fit input " + shapeStr(x.sizes()) +
                " (expected [batch, tokens, embed] with the same batch)");
  int64_t e = x.size(2), ce = context.size(2);
  Tensor wq = getParam(m, name, "q.weight", {e, e});
  Tensor bq = getParam(m, name, "q.bias", {e});
  Tensor wkv = getParam(m, name, "kv.weight", {ce, 2 * e});
  Tensor bkv = getParam(m, name, "kv.bias", {2 * e});
  Tensor wp = getParam(m, name, "proj.weight", {e, e});
  Tensor bp = getParam(m, name, "proj.bias", {e});
  int64_t b = x.size(0), s = context.size(1), d = e / heads;
  Tensor q = splitHeads(affine(x, wq, bq), heads);
  Tensor kv = affine(context, wkv, bkv)
                  .view({b, s, 2, heads, d})
                  .permute({2, 0, 3, 1, 4});
  Tensor o = multiHead(m, q, kv[0], kv[1], 0.0);
  return affine(mergeHeads(o), wp, bp);
}

Tensor patch_embed(Model &m, const char *name, const Tensor &x,
                   const Ints &patch, int64_t embed) {
  if (x.dim() != 4 || patch.size() != 2 || x.size(2) % patch[0] ||
      x.size(3) % patch[1])
    throw Error(std::string("patch_embed '") + name + "': patch " +
                shapeStr(patch) + " does not divide the grid of " +
                shapeStr(x.sizes()) + " ([batch, channel, lat, lon])");
  int64_t c = x.size(1);
  Tensor w = getParam(m, name, "weight", {embed, c, patch[0], patch[1]});
  Tensor b = getParam(m, name, "bias", {embed});
  // [b, embed, h/p0, w/p1] -> [b, tokens, embed], tokens row-major.
  return at::conv2d(floating(x, w), w, b, patch).flatten(2).transpose(1, 2);
}

Tensor unpatch(const Tensor &x, const Ints &patch, const Ints &grid,
               int64_t channels) {
  if (patch.size() != 2 || grid.size() != 2 || grid[0] % patch[0] ||
      grid[1] % patch[1])
    throw Error("unpatch: patch " + shapeStr(patch) + " does not divide grid " +
                shapeStr(grid));
  int64_t gh = grid[0] / patch[0], gw = grid[1] / patch[1];
  if (x.dim() != 3 || x.size(1) != gh * gw ||
      x.size(2) != channels * patch[0] * patch[1])
    throw Error("unpatch of grid " + shapeStr(grid) + " by patch " +
                shapeStr(patch) + " to " + std::to_string(channels) +
                " channels needs [batch, " + std::to_string(gh * gw) + ", " +
                std::to_string(channels * patch[0] * patch[1]) + "], got " +
                shapeStr(x.sizes()));
  // Token features are ordered (p0, p1, channel), as FourCastNet's and
  // ClimaX's heads: "b (h w) (p q c) -> b c (h p) (w q)".
  return x.reshape({x.size(0), gh, gw, patch[0], patch[1], channels})
      .permute({0, 5, 1, 3, 2, 4})
      .reshape({x.size(0), channels, grid[0], grid[1]});
}

std::pair<std::vector<int64_t>, int64_t>
afnoModes(int64_t h, int64_t wr, double modes, AfnoCutoff cutoff) {
  std::vector<int64_t> rows;
  const int64_t total = h / 2 + 1;
  if (cutoff == AfnoCutoff::Fourcastnet) {
    // FourCastNet: kept = int(total * fraction) on both axes, rows
    // [total - kept, total + kept) (a slice, clipped to the axis).
    const int64_t kept = (int64_t)(total * modes);
    for (int64_t i = std::max<int64_t>(0, total - kept);
         i < std::min(h, total + kept); ++i)
      rows.push_back(i);
    return {rows, std::min(wr, kept)};
  }
  // lowpass: |k_h| < kh of the full axis, k_w < kw of the half axis.
  const int64_t kh = std::min(total, (int64_t)(total * modes));
  for (int64_t i = 0; i < h; ++i)
    if (i < kh || h - i < kh)
      rows.push_back(i);
  return {rows, std::min(wr, (int64_t)(wr * modes))};
}

Tensor afnoMlp(Model &m, const char *name, const Tensor &z, int64_t blocks,
               double sparsity) {
  const int64_t C = z.size(-1), bs = C / blocks;
  Tensor w1 = getParam(m, name, "w1", {2, blocks, bs, bs});
  Tensor b1 = getParam(m, name, "b1", {2, blocks, bs});
  Tensor w2 = getParam(m, name, "w2", {2, blocks, bs, bs});
  Tensor b2 = getParam(m, name, "b2", {2, blocks, bs});
  // Evaluation in float32: the fused kernel (model/Fused.h); z is often a
  // narrowed view of the spectrum, which the kernel gathers.
  if (fused::fusable({w1, b1, w2, b2})) {
    Tensor y = fused::afnoMlp(z, w1, b1, w2, b2, sparsity);
    if (y.defined())
      return y;
  }
  // As FourCastNet, the spectral part runs in float32 (float64 stays).
  auto ct = z.scalar_type() == torch::kComplexDouble ? torch::kFloat64
                                                     : torch::kFloat32;
  auto complexOf = [&](const Tensor &p) {
    return at::complex(p[0].to(ct), p[1].to(ct));
  };
  // Block-diagonal complex MLP: (a + ib)(c + id) with ReLU applied to the
  // real and imaginary parts separately, as FourCastNet.
  auto mlp = [](const Tensor &v, const Tensor &w, const Tensor &b) {
    return at::einsum("...bi,bio->...bo", {v, w}) + b;
  };
  // ReLU of both parts at once, on the complex tensor's real view.
  auto crelu = [](const Tensor &v) {
    return at::view_as_complex(at::relu(at::view_as_real(v.contiguous())));
  };
  std::vector<int64_t> split(z.sizes().begin(), z.sizes().end() - 1);
  split.insert(split.end(), {blocks, bs});
  Tensor Y = mlp(crelu(mlp(z.reshape(split), complexOf(w1), complexOf(b1))),
                 complexOf(w2), complexOf(b2));
  if (sparsity > 0)
    Y = at::view_as_complex(
        at::softshrink(at::view_as_real(Y), sparsity).contiguous());
  return Y.reshape(z.sizes());
}

Tensor afno2d(Model &m, const char *name, const Tensor &x, int64_t blocks,
              double sparsity, double modes, AfnoCutoff cutoff) {
  if (x.dim() != 4 || blocks < 1 || x.size(3) % blocks)
    throw Error(std::string("afno2d '") + name +
                "' needs [batch, h, w, "
                "embed] with embed divisible into " +
                std::to_string(blocks) + " blocks, got " + shapeStr(x.sizes()));
  int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3),
          Wr = W / 2 + 1;
  auto ct =
      x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  // The kept frequencies; the MLP (biases included) acts on them only.
  auto [kept, kw] = afnoModes(H, Wr, modes, cutoff);
  if (kept.empty() || kw <= 0)
    return x.clone(); // no mode kept: the skip alone
  // rfft2 as its two 1-D passes (the same sums): the real transform along
  // w, then the complex one along h over the kept kw columns only
  // (FourCastNet's cut keeps 5 of 9 at 32x64, patch 4); the inverse the
  // same way round.
  Tensor X = at::fft_rfft(x.to(ct), c10::nullopt, 2, "ortho");
  if (kw < Wr)
    X = X.narrow(2, 0, kw);
  X = at::fft_fft(X, c10::nullopt, 1, "ortho");
  const bool allRows = int64_t(kept.size()) == H;
  // FourCastNet's rows are one run: a view, padded back with zeros below;
  // lowpass's two runs (both ends of the axis) are gathered and scattered.
  const int64_t r0 = kept.front(), nr = int64_t(kept.size());
  const bool oneRun = kept.back() - r0 + 1 == nr;
  Tensor rows;
  if (!allRows && oneRun) {
    X = X.narrow(1, r0, nr);
  } else if (!allRows) {
    rows = torch::tensor(kept, torch::TensorOptions().dtype(torch::kInt64))
               .to(x.device());
    X = X.index_select(1, rows);
  }
  Tensor Y = afnoMlp(m, name, X, blocks, sparsity);
  if (!allRows && oneRun) {
    // (channel: none), (columns: none), (rows: r0 before, the rest after),
    // as torch's pad lists them from the last dim.
    Y = at::constant_pad_nd(Y, {0, 0, 0, 0, r0, H - r0 - nr}, 0);
  } else if (!allRows) {
    Tensor full = at::zeros({B, H, kw, C}, Y.options());
    full.index_put_({torch::indexing::Slice(), rows}, Y);
    Y = full;
  }
  Y = at::fft_ifft(Y, c10::nullopt, 1, "ortho");
  if (kw < Wr)
    Y = at::constant_pad_nd(Y, {0, 0, 0, Wr - kw}, 0);
  // FourCastNet's AFNO2D returns the filtered field plus its input (its
  // `bias = x ... return x + bias`), the skip inside the spectral mixer.
  return at::fft_irfft(Y, W, 2, "ortho").to(x.scalar_type()) + x;
}

Tensor graph_message(Model &m, const char *name, const Tensor &nodes,
                     const Tensor &edgeFeatures, const Tensor &edges,
                     int64_t hidden, int64_t out) {
  if (nodes.dim() != 3 || edgeFeatures.dim() != 3 || edges.dim() != 2 ||
      edges.size(0) != 2 || edgeFeatures.size(1) != edges.size(1) ||
      (edgeFeatures.size(0) != 1 && edgeFeatures.size(0) != nodes.size(0)))
    throw Error(std::string("graph_message '") + name + "': nodes " +
                shapeStr(nodes.sizes()) + ", edge features " +
                shapeStr(edgeFeatures.sizes()) + " and edges " +
                shapeStr(edges.sizes()) +
                " do not fit (expected [batch, N, "
                "D], [batch or 1, E, De], [2, E])");
  int64_t B = nodes.size(0), N = nodes.size(1), D = nodes.size(2),
          De = edgeFeatures.size(2);
  Tensor mw1 = getParam(m, name, "msg.fc1.weight", {2 * D + De, hidden});
  Tensor mb1 = getParam(m, name, "msg.fc1.bias", {hidden});
  Tensor mw2 = getParam(m, name, "msg.fc2.weight", {hidden, out});
  Tensor mb2 = getParam(m, name, "msg.fc2.bias", {out});
  Tensor nw1 = getParam(m, name, "node.fc1.weight", {D + out, hidden});
  Tensor nb1 = getParam(m, name, "node.fc1.bias", {hidden});
  Tensor nw2 = getParam(m, name, "node.fc2.weight", {hidden, out});
  Tensor nb2 = getParam(m, name, "node.fc2.bias", {out});

  Tensor x = floating(nodes, mw1), ef = floating(edgeFeatures, mw1);
  Tensor idx = edges.to(x.device(), torch::kInt64);
  Tensor senders = idx[0], receivers = idx[1];
  // fc1 of concat(sender, receiver, edge) = sender@Ws + receiver@Wr + edge@We
  // + b: the node terms are computed per node (N rows) and gathered, not
  // per edge (E rows, E ~ 6N on a mesh).
  Tensor hs = affine(x, mw1.narrow(0, 0, D), Tensor());
  Tensor hr = affine(x, mw1.narrow(0, D, D), Tensor());
  Tensor he = affine(ef, mw1.narrow(0, 2 * D, De), mb1);
  Tensor h = hs.index_select(1, senders) + hr.index_select(1, receivers) + he;
  Tensor msg = affine(at::silu(h), mw2, mb2); // [B, E, out]
  Tensor agg =
      at::zeros({B, N, out}, msg.options()).index_add(1, receivers, msg);
  Tensor u = affine(at::cat({x, agg}, -1), nw1, nb1);
  return affine(at::silu(u), nw2, nb2);
}

Tensor param(Model &m, const char *name, const Ints &shape) {
  // A parameter taken as a value outlives the kernel that asked for it;
  // in a sharded model (zero3) its unit's values are freed when the next
  // unit is gathered, so the value is a (differentiable) copy.
  if (m.source())
    return m.param(name, shape).clone();
  return m.param(name, shape);
}

// --- shape -------------------------------------------------------------------

Tensor reshape(const Tensor &x, const Ints &shape) { return x.reshape(shape); }
Tensor permute(const Tensor &x, const Ints &dims) { return x.permute(dims); }
Tensor flatten(const Tensor &x, int64_t start, int64_t end) {
  return x.flatten(start, end);
}
Tensor concat(const std::vector<Tensor> &xs, int64_t dim) {
  return at::cat(xs, dim);
}
Tensor slice(const Tensor &x, int64_t dim, int64_t start, int64_t end) {
  return x.slice(dim, start, end);
}
Tensor mean(const Tensor &x, int64_t dim, bool keep) {
  return x.mean(dim, keep);
}

Tensor pad(const Tensor &x, const Ints &p, PadMode mode) {
  if (p.size() % 2 || (int64_t)p.size() / 2 > x.dim())
    throw Error("pad " + shapeStr(p) + " does not fit a tensor of shape " +
                shapeStr(x.sizes()) +
                " ((before, after) pairs from the last "
                "dimension backwards)");
  bool any = false;
  for (int64_t v : p)
    any |= v != 0;
  if (!any)
    return x;
  if (mode == PadMode::Zeros)
    return at::constant_pad_nd(x, p, 0.0);
  int64_t k = p.size() / 2;
  if (mode == PadMode::Circular) {
    // Any number of dimensions: wrap each padded dimension in turn.
    Tensor y = x;
    for (int64_t i = 0; i < k; ++i) {
      int64_t dim = x.dim() - 1 - i, n = y.size(dim), b = p[2 * i],
              a = p[2 * i + 1];
      if (b < 0 || a < 0 || b > n || a > n)
        throw Error("circular padding " + shapeStr(p) +
                    " is larger than the tensor " + shapeStr(x.sizes()));
      if (b || a)
        y = at::cat({y.narrow(dim, n - b, b), y, y.narrow(dim, 0, a)}, dim);
    }
    return y;
  }
  bool reflect = mode == PadMode::Reflect;
  if (k > 3)
    throw Error(std::string(name(mode)) +
                " padding of more than 3 dimensions " +
                "is not supported (pad " + shapeStr(p) + ")");
  // LibTorch pads the last k dims of a (k+2)-dim tensor: fold the leading
  // dims into one batch dimension and add a channel dimension.
  std::vector<int64_t> lead(x.sizes().begin(), x.sizes().end() - k);
  std::vector<int64_t> folded = {-1, 1};
  folded.insert(folded.end(), x.sizes().end() - k, x.sizes().end());
  Tensor y =
      F::pad(x.reshape(folded),
             F::PadFuncOptions(p).mode(
                 reflect ? F::PadFuncOptions::mode_t(torch::kReflect)
                         : F::PadFuncOptions::mode_t(torch::kReplicate)));
  lead.insert(lead.end(), y.sizes().end() - k, y.sizes().end());
  return y.view(lead);
}

Tensor pad_sphere(const Tensor &x, const Ints &p) {
  if (x.dim() != 4 || p.size() != 2 || p[0] < 0 || p[1] < 0)
    throw Error("pad_sphere needs [batch, channel, lat, lon] and pad = [lat, "
                "lon], got " +
                shapeStr(x.sizes()) + " and " + shapeStr(p));
  int64_t H = x.size(2), W = x.size(3), pl = p[0], pw = p[1];
  // Odd row counts include both poles (the pole row is not repeated); even
  // ones are cell centres (the edge row is its own mirror image).
  int64_t skip = H % 2;
  if (pl + skip > H || pw > W)
    throw Error("pad_sphere of " + shapeStr(p) + " is larger than the grid " +
                shapeStr(x.sizes()));
  Tensor y = x;
  if (pl > 0) {
    int64_t half = W / 2;
    Tensor north = x.narrow(2, skip, pl).flip(2).roll(half, 3);
    Tensor south = x.narrow(2, H - skip - pl, pl).flip(2).roll(half, 3);
    y = at::cat({north, x, south}, 2);
  }
  if (pw > 0)
    y = at::cat({y.narrow(3, W - pw, pw), y, y.narrow(3, 0, pw)}, 3);
  return y;
}

// --- spectral ----------------------------------------------------------------

// LibTorch has no bf16 FFTs (and cuFFT's fp16 ones need powers of two):
// under autocast they run in fp32.
Tensor rfft2(const Tensor &x) { return at::fft_rfft2(atLeastFloat(x)); }
Tensor irfft2(const Tensor &x, const Ints &size) {
  return at::fft_irfft2(atLeastFloat(x), size);
}
Tensor fft2(const Tensor &x) { return at::fft_fft2(atLeastFloat(x)); }
Tensor ifft2(const Tensor &x) { return at::fft_ifft2(atLeastFloat(x)); }

// --- static inputs and physics
// --------------------------------------------------

namespace {

/// The grid of `like` [b, c, lat, lon]: its coordinates (the context's,
/// else the defaults) and a cache key naming them.
struct GraphGrid {
  std::vector<double> lat, lon;
  std::string key;
};
GraphGrid graphGrid(Model &m, const Tensor &like, const char *what) {
  if (like.dim() != 4)
    throw Error(std::string(what) +
                " needs a field [batch, channel, lat, lon] for its grid, got " +
                shapeStr(like.sizes()));
  int64_t H = like.size(2), W = like.size(3);
  GraphGrid g{toVector(latitudes(m, H)), toVector(longitudes(m, W)), ""};
  g.key = std::to_string(H) + "x" + std::to_string(W) +
          (m.context().latitude.defined() || m.context().longitude.defined()
               ? ":data"
               : ":derived");
  for (double la : g.lat)
    if (!(la >= -90.0 && la <= 90.0))
      throw Error(std::string(what) + ": the grid's latitude " +
                  std::to_string(la) + " is outside -90..90 degrees");
  return g;
}

void checkRefinement(const char *what, int64_t refinement) {
  if (refinement < 0 || refinement > geometry::kMaxRefinement)
    throw Error(std::string(what) + ": refinement must be in 0..12, got " +
                std::to_string(refinement));
}

Tensor pairsTensor(const geometry::Edges &e) {
  Tensor t = torch::empty({2, (int64_t)e.size()},
                          torch::TensorOptions().dtype(torch::kInt64));
  auto a = t.accessor<int64_t, 2>();
  for (size_t i = 0; i < e.size(); ++i) {
    a[0][i] = e[i].first;
    a[1][i] = e[i].second;
  }
  return t;
}

geometry::Edges tensorPairs(const Tensor &t) {
  Tensor c = t.to(torch::kCPU).contiguous();
  auto a = c.accessor<int64_t, 2>();
  geometry::Edges e(size_t(c.size(1)));
  for (int64_t i = 0; i < c.size(1); ++i)
    e[size_t(i)] = {a[0][i], a[1][i]};
  return e;
}

/// Rows of `n` values per item as a [1, items, n] tensor like `like`.
Tensor rowsTensor(const std::vector<double> &v, int64_t n, const Tensor &like) {
  return torch::tensor(v, torch::TensorOptions().dtype(torch::kFloat64))
      .view({1, -1, n})
      .to(like.device(), like.scalar_type());
}

} // namespace

Tensor graph_edges(Model &m, const Tensor &like, const char *graph,
                   int64_t refinement) {
  std::string g = graph ? graph : "";
  if (!geometry::isGraphName(g))
    throw Error("unknown graph '" + g + "' (multimesh, grid2mesh, mesh2grid)");
  checkRefinement("graph_edges", refinement);
  GraphGrid grid = graphGrid(m, like, "graph_edges");
  std::string key = "graph_edges:" + g + ":" + std::to_string(refinement) +
                    (g == "multimesh" ? std::string() : ":" + grid.key);
  return cached(m, key, [&] {
    geometry::Icosphere ico = geometry::icosphere(refinement);
    geometry::Edges e = geometry::graphEdges(g, ico, grid.lat, grid.lon);
    int64_t H = like.size(2), W = like.size(3);
    if (grid.lat != defaultLatitudes(H) || grid.lon != defaultLongitudes(W)) {
      int64_t planned = geometry::defaultGridEdgeCount(g, refinement, H, W);
      if ((int64_t)e.size() != planned)
        throw Error("graph_edges(\"" + g +
                    "\"): the data's latitudes and "
                    "longitudes give " +
                    std::to_string(e.size()) +
                    " edges, but the program was compiled for the " +
                    std::to_string(planned) + " of the default " +
                    std::to_string(H) + "x" + std::to_string(W) +
                    " grid (equally spaced, from 90 north and 0 east); "
                    "regrid the data or give it those coordinates");
    }
    return pairsTensor(e).to(m.device());
  });
}

Tensor graph_edge_features(Model &m, const Tensor &like, const char *graph,
                           int64_t refinement) {
  Tensor edges = graph_edges(m, like, graph, refinement);
  GraphGrid grid = graphGrid(m, like, "graph_edge_features");
  std::string g = graph;
  return cached(
      m,
      "graph_edge_features:" + g + ":" + std::to_string(refinement) + ":" +
          grid.key,
      [&] {
        geometry::Icosphere ico = geometry::icosphere(refinement);
        geometry::Nodes mesh = geometry::meshNodes(ico);
        geometry::Nodes points = g == "multimesh"
                                     ? geometry::Nodes()
                                     : geometry::gridNodes(grid.lat, grid.lon);
        const geometry::Nodes &senders = g == "grid2mesh" ? points : mesh;
        const geometry::Nodes &receivers = g == "mesh2grid" ? points : mesh;
        return rowsTensor(
            geometry::edgeFeatures(senders, receivers, tensorPairs(edges)), 4,
            like);
      });
}

Tensor graph_node_features(Model &m, const Tensor &like, const char *nodes,
                           int64_t refinement) {
  bool mesh = is(nodes, "mesh");
  if (!mesh && !is(nodes, "grid"))
    throw Error(std::string("unknown node set '") + (nodes ? nodes : "") +
                "' (mesh, grid)");
  checkRefinement("graph_node_features", refinement);
  GraphGrid grid = graphGrid(m, like, "graph_node_features");
  std::string key = mesh ? "graph_nodes:mesh:" + std::to_string(refinement)
                         : "graph_nodes:grid:" + grid.key;
  return cached(m, key, [&] {
    geometry::Nodes n =
        mesh ? geometry::meshNodes(geometry::icosphere(refinement))
             : geometry::gridNodes(grid.lat, grid.lon);
    return rowsTensor(geometry::nodeFeatures(n), 3, like);
  });
}

Tensor graph_gather(const Tensor &nodes, const Tensor &edges, const char *end) {
  bool sender = is(end, "sender");
  if (!sender && !is(end, "receiver"))
    throw Error(std::string("graph_gather: end must be sender or receiver, "
                            "got '") +
                (end ? end : "") + "'");
  if (nodes.dim() != 3 || edges.dim() != 2 || edges.size(0) != 2)
    throw Error("graph_gather needs nodes [batch, N, dim] and edges [2, E], "
                "got " +
                shapeStr(nodes.sizes()) + " and " + shapeStr(edges.sizes()));
  return nodes.index_select(1, edges[sender ? 0 : 1]);
}

Tensor graph_scatter_sum(const Tensor &messages, const Tensor &edges,
                         const Tensor &like) {
  if (messages.dim() != 3 || edges.dim() != 2 || edges.size(0) != 2 ||
      edges.size(1) != messages.size(1) || like.dim() != 3)
    throw Error("graph_scatter_sum needs messages [batch, E, dim], edges [2, "
                "E] and nodes [batch, N, dim], got " +
                shapeStr(messages.sizes()) + ", " + shapeStr(edges.sizes()) +
                " and " + shapeStr(like.sizes()));
  return at::zeros({messages.size(0), like.size(1), messages.size(2)},
                   messages.options())
      .index_add(1, edges[1], messages);
}

Tensor call_times(Model &m, const Tensor &x, int64_t first, int64_t blocks,
                  int64_t stepSeconds) {
  if (first < 0 || blocks < 1 || stepSeconds < 0)
    throw Error("call_times: first " + std::to_string(first) + ", blocks " +
                std::to_string(blocks) + ", step " +
                std::to_string(stepSeconds) + " s (internal error)");
  m.cache(kCallTimesSlot) =
      torch::tensor({first, blocks, stepSeconds}, torch::kInt64);
  return x;
}

Tensor grid_coords(Model &m, const Tensor &like) {
  if (like.dim() != 4)
    throw Error("grid_coords needs [batch, channel, lat, lon], got " +
                shapeStr(like.sizes()));
  int64_t H = like.size(2), W = like.size(3);
  Tensor g =
      cached(m,
             "grid_coords:" + std::to_string(H) + "x" + std::to_string(W) +
                 (m.context().latitude.defined() ? ":data" : ":derived") +
                 // per type: under autocast an input may be reduced
                 ":" + c10::toString(like.scalar_type()),
             [&] {
               Tensor lat = latitudes(m, H) * (kPi / 180.0);
               Tensor lon = longitudes(m, W) * (kPi / 180.0);
               Tensor la = lat.view({H, 1}).expand({H, W}),
                      lo = lon.view({1, W}).expand({H, W});
               return at::stack({la.sin(), la.cos(), lo.sin(), lo.cos()})
                   .unsqueeze(0)
                   .to(like.device(), like.scalar_type());
             });
  return g.expand({like.size(0), 4, H, W});
}

Tensor time_features(Model &m, const Tensor &like, int64_t leadSeconds) {
  if (like.dim() != 4)
    throw Error("time_features needs [batch, channel, lat, lon], got " +
                shapeStr(like.sizes()));
  int64_t B = like.size(0), H = like.size(2), W = like.size(3);
  const Tensor &time = m.context().time;
  if (!time.defined())
    return at::zeros({B, 4, H, W}, like.options());
  // A batched rollout call stacks `blocks` start times of the batch, block
  // s valid first + s steps after the batch's times (call_times).
  int64_t first = 0, blocks = 1, stepSeconds = 0;
  if (const Tensor &ct = m.cache(kCallTimesSlot); ct.defined()) {
    first = ct[0].item<int64_t>();
    blocks = ct[1].item<int64_t>();
    stepSeconds = ct[2].item<int64_t>();
  }
  const int64_t T = time.numel();
  if (B != blocks * T && !(T == 1 && blocks == 1))
    throw Error("time_features: the call has " + std::to_string(B) +
                " samples but the batch's context has " + std::to_string(T) +
                " times in " + std::to_string(blocks) +
                " block(s); time features under patches are not "
                "implemented yet");
  if (stepSeconds == 0 && (first > 0 || blocks > 1))
    throw Error("time_features in a rollout needs the data's time step "
                "(`step = 6h` in the data section)");
  Tensor t0 = time.to(torch::kCPU, torch::kInt64).contiguous().view({-1});
  auto t0a = t0.accessor<int64_t, 1>();
  Tensor t = torch::empty({B}, torch::TensorOptions().dtype(torch::kInt64));
  auto tw = t.accessor<int64_t, 1>();
  const int64_t perBlock = B / blocks;
  for (int64_t i = 0; i < B; ++i)
    tw[i] = t0a[i % T] + (first + i / perBlock) * stepSeconds;
  Tensor f = torch::empty({t.numel(), 4},
                          torch::TensorOptions().dtype(torch::kFloat64));
  auto ta = t.accessor<int64_t, 1>();
  auto fa = f.accessor<double, 2>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t s = ta[i] + leadSeconds;
    int64_t day = floorDiv(s, 86400), sod = s - day * 86400;
    int64_t year = yearOfDays(day);
    int64_t start = daysFromCivil(year, 1, 1),
            length = daysFromCivil(year + 1, 1, 1) - start;
    double yearPhase =
        2 * kPi * ((day - start) * 86400.0 + sod) / (length * 86400.0);
    double dayPhase = 2 * kPi * sod / 86400.0;
    fa[i][0] = std::sin(yearPhase);
    fa[i][1] = std::cos(yearPhase);
    fa[i][2] = std::sin(dayPhase);
    fa[i][3] = std::cos(dayPhase);
  }
  return f.to(like.device(), like.scalar_type())
      .view({-1, 4, 1, 1})
      .expand({B, 4, H, W});
}

Tensor lead_embed(const Tensor &lead, int64_t dim) {
  if (lead.dim() == 0 || lead.dim() > 2 ||
      (lead.dim() == 2 && lead.size(1) != 1))
    throw Error("lead_embed expects lead times [batch] or [batch, 1], got " +
                shapeStr(lead.sizes()));
  if (dim < 2 || dim % 2)
    throw Error("lead_embed: dim must be even and at least 2, got " +
                std::to_string(dim));
  int64_t half = dim / 2;
  auto ft = lead.is_floating_point() ? lead.scalar_type() : torch::kFloat32;
  // Transformer embedding: frequencies 10000^(-k/half), k = 0..half-1.
  Tensor freqs = at::exp(torch::arange(half, lead.options().dtype(ft)) *
                         (-std::log(10000.0) / half));
  Tensor a = lead.reshape({-1, 1}).to(ft) * freqs.view({1, half});
  return at::cat({a.sin(), a.cos()}, 1);
}

// --- losses
// ---------------------------------------------------------------------

Tensor pointwiseLoss(LossKind kind, const Tensor &prediction,
                     const Tensor &target, double delta, int64_t reduction) {
  if (prediction.sizes() != target.sizes())
    throw Error("loss: prediction " + shapeStr(prediction.sizes()) +
                " and target " + shapeStr(target.sizes()) + " differ");
  if (kind == LossKind::Huber && !(delta > 0))
    throw Error("huber loss: delta must be > 0, got " + std::to_string(delta));
  switch (kind) {
  case LossKind::Mse:
    return at::mse_loss(prediction, target, reduction);
  case LossKind::Mae:
    return at::l1_loss(prediction, target, reduction);
  case LossKind::Huber:
    return at::huber_loss(prediction, target, reduction, delta);
  }
  throw Error("internal error: unknown loss kind");
}

Tensor loss(Model &m, LossKind kind, const Tensor &predictionIn,
            const Tensor &targetIn, Weighting weight, double delta) {
  // In fp32 at least, whatever precision the forward ran in.
  const Tensor prediction = atLeastFloat(predictionIn),
               target = atLeastFloat(targetIn);
  bool latitude = weight == Weighting::Latitude;
  Tensor l =
      pointwiseLoss(kind, prediction, target, delta,
                    latitude ? at::Reduction::None : at::Reduction::Mean);
  if (!latitude)
    return l;
  if (prediction.dim() < 2)
    throw Error("a latitude-weighted loss needs [..., lat, lon], got " +
                shapeStr(prediction.sizes()));
  return (l * latitudeWeights(m, prediction.size(-2), prediction)).mean();
}

Tensor latitudeWeights(Model &m, int64_t h, const Tensor &like) {
  return cached(m,
                "latitude_weights:" + std::to_string(h) +
                    (m.context().latitude.defined() ? ":data" : ":derived"),
                [&] {
                  Tensor c =
                      at::cos(latitudes(m, h) * (kPi / 180.0)).clamp_min(0.0);
                  return (c / c.mean())
                      .view({h, 1})
                      .to(like.device(), like.scalar_type());
                });
}

} // namespace s2s::rt
