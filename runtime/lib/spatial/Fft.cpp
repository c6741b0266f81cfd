//===- Fft.cpp - AFNO's 2-D FFT distributed over latitude bands
//------------===//
//
// FourCastNet's filter is a 2-D FFT over the token grid, a channel MLP per
// mode (block-diagonal: no mixing across modes) and the inverse FFT. On
// bands of token rows: the rfft along longitude is local; an all-to-all
// transpose gives each rank every row for a slice of the frequency
// columns, so the fft along latitude, the MLP on the kept modes of the
// slice and the inverse fft are local too; a second transpose brings the
// bands back for the inverse rfft. Equal to model/Ops.cpp's afno2d on the
// whole grid (its "ortho" 2-D transforms are these 1-D ones in sequence).
//
//===----------------------------------------------------------------------===//

#include "spatial/Spatial.h"

#include "model/Kernels.h"
#include "s2s/runtime/Error.h"

namespace s2s::rt::spatial {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

/// The all-to-all transpose of transpose() (see Spatial.h), without
/// autograd.
torch::Tensor exchangeParts(Communicator *c, const torch::Tensor &x,
                            int64_t splitDim,
                            const std::vector<int64_t> &splitSizes,
                            int64_t catDim,
                            const std::vector<int64_t> &catSizes) {
  const int64_t n = c->size(), r = c->rank();
  std::vector<torch::Tensor> parts;
  std::vector<int64_t> inLengths, outLengths;
  int64_t at = 0;
  for (int64_t q = 0; q < n; ++q) {
    parts.push_back(
        x.narrow(splitDim, at, splitSizes[size_t(q)]).contiguous().flatten());
    inLengths.push_back(parts.back().numel());
    at += splitSizes[size_t(q)];
  }
  std::vector<std::vector<int64_t>> shapes;
  for (int64_t p = 0; p < n; ++p) {
    std::vector<int64_t> shape = x.sizes().vec();
    shape[size_t(splitDim)] = splitSizes[size_t(r)];
    shape[size_t(catDim)] = catSizes[size_t(p)];
    int64_t numel = 1;
    for (int64_t d : shape)
      numel *= d;
    shapes.push_back(shape);
    outLengths.push_back(numel);
  }
  torch::Tensor all = c->allToAll(torch::cat(parts), inLengths, outLengths);
  std::vector<torch::Tensor> pieces;
  at = 0;
  for (int64_t p = 0; p < n; ++p) {
    pieces.push_back(
        all.narrow(0, at, outLengths[size_t(p)]).view(shapes[size_t(p)]));
    at += outLengths[size_t(p)];
  }
  return torch::cat(pieces, catDim);
}

struct Transpose : torch::autograd::Function<Transpose> {
  static torch::Tensor
  forward(AutogradContext *ctx, const torch::Tensor &x, int64_t splitDim,
          const std::vector<int64_t> &splitSizes, int64_t catDim,
          const std::vector<int64_t> &catSizes, Communicator *c) {
    ctx->saved_data["comm"] = reinterpret_cast<int64_t>(c);
    ctx->saved_data["splitDim"] = splitDim;
    ctx->saved_data["catDim"] = catDim;
    ctx->saved_data["splitSizes"] = splitSizes;
    ctx->saved_data["catSizes"] = catSizes;
    return exchangeParts(c, x, splitDim, splitSizes, catDim, catSizes);
  }
  static variable_list backward(AutogradContext *ctx, variable_list g) {
    auto *c = reinterpret_cast<Communicator *>(ctx->saved_data["comm"].toInt());
    // The gradient goes back the other way: split where the forward
    // concatenated, concatenated where it split.
    torch::Tensor gx =
        exchangeParts(c, g[0].contiguous(), ctx->saved_data["catDim"].toInt(),
                      ctx->saved_data["catSizes"].toIntVector(),
                      ctx->saved_data["splitDim"].toInt(),
                      ctx->saved_data["splitSizes"].toIntVector());
    return {gx,
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

} // namespace

torch::Tensor transpose(const Space &s, const torch::Tensor &x,
                        int64_t splitDim,
                        const std::vector<int64_t> &splitSizes, int64_t catDim,
                        const std::vector<int64_t> &catSizes) {
  return Transpose::apply(x, splitDim, splitSizes, catDim, catSizes, s.comm);
}

torch::Tensor afno2d(Model &m, const char *name, const Space &s,
                     const torch::Tensor &x, int64_t blocks, double sparsity,
                     double modes, AfnoCutoff cutoff) {
  if (x.dim() != 4 || blocks < 1 || x.size(3) % blocks)
    throw Error(std::string("afno2d '") + name +
                "' needs [batch, h, w, embed] with embed divisible into " +
                std::to_string(blocks) + " blocks, got " + shapeStr(x.sizes()));
  const int64_t B = x.size(0), W = x.size(2), C = x.size(3), H = s.bands.rows,
                Wr = W / 2 + 1;
  auto [kept, kw] = afnoModes(H, Wr, modes, cutoff);
  if (kept.empty() || kw <= 0)
    return x.clone(); // no mode kept: the skip alone, as the serial op
  const Bands columns{Wr, s.bands.count};
  const int64_t c0 = columns.begin(s.rank()), wr = columns.size(s.rank());
  auto ct =
      x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  // Along longitude on the band, then to full columns of a frequency slice
  // (complex values travel as pairs of reals), then along latitude.
  torch::Tensor X = at::fft_rfft(x.to(ct), c10::nullopt, 2, "ortho");
  torch::Tensor T =
      transpose(s, at::view_as_real(X), 2, columns.sizes(), 1, s.bands.sizes());
  torch::Tensor Z = at::fft_fft(at::view_as_complex(T.contiguous()),
                                c10::nullopt, 1, "ortho");
  // The kept modes of this slice: rows `kept`, columns below kw.
  const int64_t nk = std::max<int64_t>(0, std::min(c0 + wr, kw) - c0);
  // A slice without kept modes still hands a (zero) gradient back through
  // the first transpose: every rank must take part in its backward.
  torch::Tensor Y = nk > 0 ? torch::zeros({B, H, wr, C}, Z.options()) : Z * 0.0;
  if (nk > 0) {
    torch::Tensor rows =
        torch::tensor(kept, torch::TensorOptions().dtype(torch::kInt64))
            .to(x.device());
    torch::Tensor mixed = afnoMlp(
        m, name, Z.index_select(1, rows).narrow(2, 0, nk), blocks, sparsity);
    Y.index_put_(
        {torch::indexing::Slice(), rows, torch::indexing::Slice(0, nk)}, mixed);
  }
  torch::Tensor back =
      transpose(s, at::view_as_real(at::fft_ifft(Y, c10::nullopt, 1, "ortho")),
                1, s.bands.sizes(), 2, columns.sizes());
  return at::fft_irfft(at::view_as_complex(back.contiguous()), W, 2, "ortho")
             .to(x.scalar_type()) +
         x;
}

} // namespace s2s::rt::spatial
