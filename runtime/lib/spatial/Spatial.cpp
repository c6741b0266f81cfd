//===- Spatial.cpp - Bands, halos and reductions over the `space` axis ----===//

#include "spatial/Spatial.h"

#include "model/Kernels.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Model.h"

#include <torch/torch.h>

namespace s2s::rt::spatial {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::vector<int64_t> Bands::sizes() const {
  std::vector<int64_t> out;
  for (int64_t r = 0; r < count; ++r)
    out.push_back(size(r));
  return out;
}

torch::Tensor band(const torch::Tensor &x, const Bands &b, int64_t r,
                   int64_t dim) {
  if (x.size(dim) != b.rows)
    throw Error("internal error: a band of " + std::to_string(b.rows) +
                " rows taken from an axis of " + std::to_string(x.size(dim)));
  return x.narrow(dim, b.begin(r), b.size(r));
}

torch::Tensor gather(const Space &s, const torch::Tensor &local, int64_t dim) {
  const int64_t n = s.comm->size();
  torch::NoGradGuard noGrad;
  torch::Tensor flat = local.detach().contiguous().flatten();
  std::vector<int64_t> inLengths(size_t(n), flat.numel()), outLengths;
  for (int64_t r = 0; r < n; ++r)
    outLengths.push_back(flat.numel() / local.size(dim) * s.bands.size(r));
  torch::Tensor all = s.comm->allToAll(flat.repeat({n}), inLengths, outLengths);
  std::vector<torch::Tensor> parts;
  int64_t at = 0;
  for (int64_t r = 0; r < n; ++r) {
    std::vector<int64_t> shape(local.sizes().begin(), local.sizes().end());
    shape[size_t(dim)] = s.bands.size(r);
    parts.push_back(all.narrow(0, at, outLengths[size_t(r)]).view(shape));
    at += outLengths[size_t(r)];
  }
  return torch::cat(parts, dim);
}

namespace {

Communicator *commOf(AutogradContext *ctx) {
  return reinterpret_cast<Communicator *>(ctx->saved_data["comm"].toInt());
}

torch::Tensor summed(Communicator *c, const torch::Tensor &x) {
  std::vector<torch::Tensor> ts = {x.clone(at::MemoryFormat::Contiguous)};
  c->allReduceSum(ts);
  return ts[0];
}

/// Forward: the sum over the ranks; backward: the same of the gradient.
struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &x,
                               Communicator *c) {
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(c);
    return summed(c, x);
  }
  static variable_list backward(AutogradContext *ctx, variable_list g) {
    return {summed(commOf(ctx), g[0]), torch::Tensor()};
  }
};

/// Forward: the sum over the ranks; backward: the gradient itself.
struct SumParts : torch::autograd::Function<SumParts> {
  static torch::Tensor forward(AutogradContext *, const torch::Tensor &x,
                               Communicator *c) {
    return summed(c, x);
  }
  static variable_list backward(AutogradContext *, variable_list g) {
    return {g[0], torch::Tensor()};
  }
};

/// The `count` rows next to this band in its neighbours; the backward
/// returns their gradients to them. Rows are dim -2.
struct HaloRows : torch::autograd::Function<HaloRows> {
  /// Receives `count` rows from r-1 (the first result) and from r+1,
  /// sending `toPrev` to r-1 and `toNext` to r+1; a band at a pole gets
  /// an empty ([..., 0, W]) tensor for its missing neighbour. `shape` is
  /// the band's.
  static std::pair<torch::Tensor, torch::Tensor>
  swap(Communicator *c, const torch::Tensor &toPrev,
       const torch::Tensor &toNext, std::vector<int64_t> shape,
       const torch::TensorOptions &options, int64_t count) {
    const int64_t r = c->rank(), n = c->size();
    shape[shape.size() - 2] = count;
    torch::Tensor fromPrev = torch::empty(shape, options),
                  fromNext = torch::empty(shape, options);
    std::vector<Communicator::Message> sends, recvs;
    if (r > 0) {
      recvs.push_back({r - 1, fromPrev});
      sends.push_back({r - 1, toPrev.contiguous()});
    }
    if (r + 1 < n) {
      recvs.push_back({r + 1, fromNext});
      sends.push_back({r + 1, toNext.contiguous()});
    }
    c->exchange(sends, recvs);
    shape[shape.size() - 2] = 0;
    return {r > 0 ? fromPrev : torch::empty(shape, options),
            r + 1 < n ? fromNext : torch::empty(shape, options)};
  }

  static variable_list forward(AutogradContext *ctx, const torch::Tensor &x,
                               int64_t count, Communicator *c) {
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(c);
    ctx->saved_data["count"] = count;
    ctx->saved_data["shape"] = x.sizes().vec();
    const int64_t h = x.size(-2);
    auto [above, below] =
        swap(c, x.narrow(-2, 0, count), x.narrow(-2, h - count, count),
             x.sizes().vec(), x.options(), count);
    return {above, below};
  }

  static variable_list backward(AutogradContext *ctx, variable_list g) {
    Communicator *c = commOf(ctx);
    const int64_t count = ctx->saved_data["count"].toInt(), r = c->rank(),
                  n = c->size();
    const std::vector<int64_t> shape = ctx->saved_data["shape"].toIntVector();
    const torch::TensorOptions options =
        (g[0].defined() ? g[0] : g[1]).options();
    const int64_t h = shape[shape.size() - 2];
    auto orZeros = [&](const torch::Tensor &t) {
      if (t.defined())
        return t;
      std::vector<int64_t> halo = shape;
      halo[halo.size() - 2] = count;
      return torch::zeros(halo, options);
    };
    // The rows above came from r-1's last rows: their gradient goes back
    // to r-1, which adds it there; those below to r+1's first rows.
    auto [fromPrev, fromNext] =
        swap(c, orZeros(g[0]), orZeros(g[1]), shape, options, count);
    torch::Tensor gx = torch::zeros(shape, options);
    if (r > 0)
      gx.narrow(-2, 0, count).add_(fromPrev);
    if (r + 1 < n)
      gx.narrow(-2, h - count, count).add_(fromNext);
    return {gx, torch::Tensor(), torch::Tensor()};
  }
};

} // namespace

torch::Tensor allReduceSum(const Space &s, const torch::Tensor &x) {
  return AllReduceSum::apply(x, s.comm);
}

torch::Tensor sumParts(const Space &s, const torch::Tensor &x) {
  return SumParts::apply(x, s.comm);
}

std::pair<torch::Tensor, torch::Tensor>
haloRows(const Space &s, const torch::Tensor &x, int64_t count) {
  for (int64_t r = 0; r < s.bands.count; ++r)
    if (s.bands.size(r) < count)
      throw Error("spatial parallel: band " + std::to_string(r) + " has " +
                  std::to_string(s.bands.size(r)) + " of the grid's " +
                  std::to_string(s.bands.rows) +
                  " rows, fewer than the halo of " + std::to_string(count) +
                  " rows a neighbour needs; use fewer ranks on the space "
                  "axis");
  variable_list both = HaloRows::apply(x, count, s.comm);
  return {both[0], both[1]};
}

torch::Tensor padSphere(const Space &s, const torch::Tensor &x, const Ints &p) {
  if (x.dim() != 4 || p.size() != 2 || p[0] < 0 || p[1] < 0)
    throw Error("pad_sphere needs [batch, channel, lat, lon] and pad = [lat, "
                "lon], got " +
                shapeStr(x.sizes()) + " and " + shapeStr(p));
  const int64_t H = s.bands.rows, h = x.size(2), W = x.size(3), pl = p[0],
                pw = p[1], skip = H % 2, r = s.rank(), last = s.bands.count - 1;
  if (h != s.rows())
    throw Error("internal error: pad_sphere on a band of " + std::to_string(h) +
                " rows, rank " + std::to_string(r) + " holds " +
                std::to_string(s.rows()));
  if (pw > W)
    throw Error("pad_sphere of " + shapeStr(p) + " is larger than the grid");
  torch::Tensor y = x;
  if (pl > 0) {
    // A pole band reflects across its pole as the serial op does: it
    // needs the rows it mirrors.
    if (s.bands.size(0) < pl + skip || s.bands.size(last) < pl + skip)
      throw Error("spatial parallel: pad_sphere of " + std::to_string(pl) +
                  " rows needs " + std::to_string(pl + skip) +
                  " rows in the bands at the poles, which have " +
                  std::to_string(s.bands.size(0)) +
                  "; use fewer ranks on the space axis");
    auto [above, below] = haloRows(s, x, pl);
    const int64_t half = W / 2;
    torch::Tensor north =
        r == 0 ? x.narrow(2, skip, pl).flip(2).roll(half, 3) : above;
    torch::Tensor south =
        r == last ? x.narrow(2, h - skip - pl, pl).flip(2).roll(half, 3)
                  : below;
    y = torch::cat({north, x, south}, 2);
  }
  if (pw > 0) // longitude is whole on every band: periodic, locally
    y = torch::cat({y.narrow(3, W - pw, pw), y, y.narrow(3, 0, pw)}, 3);
  return y;
}

torch::Tensor groupNorm(Model &m, const char *name, const Space &s,
                        const torch::Tensor &x, int64_t groups, double eps) {
  if (x.dim() != 4 || groups < 1 || x.size(1) % groups)
    throw Error(std::string("group_norm '") + name +
                "': " + shapeStr(x.sizes()) +
                " does not have channels (dim 1) divisible into " +
                std::to_string(groups) + " groups");
  const int64_t B = x.size(0), C = x.size(1);
  torch::Tensor w = m.param(std::string(name) + ".weight", {C});
  torch::Tensor b = m.param(std::string(name) + ".bias", {C});
  // Two passes, as the serial kernel: the mean, then the variance about it.
  const double n = double(C / groups) * double(s.bands.rows) * x.size(3);
  torch::Tensor xg = x.reshape({B, groups, -1});
  torch::Tensor mean = allReduceSum(s, xg.sum(-1, true)) / n;
  torch::Tensor d = xg - mean;
  torch::Tensor var = allReduceSum(s, (d * d).sum(-1, true)) / n;
  torch::Tensor y = (d * torch::rsqrt(var + eps)).view(x.sizes());
  return y * w.view({1, C, 1, 1}) + b.view({1, C, 1, 1});
}

torch::Tensor loss(Model &m, const Space &s, LossKind kind,
                   const torch::Tensor &prediction, const torch::Tensor &target,
                   Weighting weight, double delta) {
  if (prediction.dim() < 2)
    throw Error("loss: prediction " + shapeStr(prediction.sizes()) +
                " has no [lat, lon]");
  torch::Tensor l =
      pointwiseLoss(kind, prediction, target, delta, at::Reduction::None);
  if (weight == Weighting::Latitude)
    l = l * latitudeWeights(m, s.bands.rows, prediction)
                .narrow(0, s.begin(), s.rows());
  // The whole grid's count: this band's, scaled to all the rows.
  const double count =
      double(l.numel() / prediction.size(-2)) * double(s.bands.rows);
  return sumParts(s, l.sum()) / count;
}

} // namespace s2s::rt::spatial
