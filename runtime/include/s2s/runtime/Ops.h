//===- Ops.h - Layer kernels generated code calls ---------------*- C++ -*-===//
//
// One function per s2s dialect op, named after it, on LibTorch ops. The
// code s2sc generates (EmitC, printed by MLIR's C++ emitter) calls these with
// the op's attributes as arguments, in the order the op declares them.
//
// Conventions:
//  - Kernels that own parameters take the model and the op's `name` (the
//    spec's parameter path, e.g. "ResBlock.0.conv") and ask the model for
//    "<name>.<param>" with exactly the shapes S2SOps.cpp's getParameters
//    gives; the program created them from the compiler's manifest (with
//    their initialisers), so the kernels know no initialisation.
//  - Kinds are the enums of Config.h, spelled as the dialect's enums.
//  - Lists are std::vector<int64_t> (generated code writes `{8, 90, -1}`).
//  - Activation::None means none (s2s-fuse sets one on linear/conv2d).
//  - Shapes are [batch, channel, lat, lon] for fields, [batch, tokens, embed]
//    for token sequences.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_OPS_H
#define S2S_RUNTIME_OPS_H

#include "s2s/runtime/Model.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace s2s::rt {

using Tensor = torch::Tensor;
using Ints = std::vector<int64_t>;

// --- arithmetic ------------------------------------------------------------
/// A scalar as a rank-0 tensor of the model's dtype and device.
Tensor constant(Model &m, double value);
Tensor add(const Tensor &a, const Tensor &b);
Tensor sub(const Tensor &a, const Tensor &b);
Tensor mul(const Tensor &a, const Tensor &b);
Tensor div(const Tensor &a, const Tensor &b);
Tensor neg(const Tensor &x);

// --- pointwise -------------------------------------------------------------
/// gelu (exact erf form), relu, silu, tanh, sigmoid; None: identity.
Tensor activation(const Tensor &x, Activation kind);
Tensor softmax(const Tensor &x, int64_t dim);
/// Identity unless m.isTraining(); draws from m.generator().
Tensor dropout(Model &m, const Tensor &x, double p);
/// Drops whole samples (dim 0) with probability p, scales the rest 1/(1-p).
Tensor drop_path(Model &m, const Tensor &x, double p);

// --- layers with parameters -------------------------------------------------
/// weight [in, out], bias [out].
Tensor linear(Model &m, const char *name, const Tensor &x, int64_t out,
              bool bias, Activation activation);
/// weight [out, in, kh, kw], bias [out].
/// padMode: zeros, circular, reflect, replicate (padding is applied first,
/// then an unpadded convolution, as torch's padding_mode does).
Tensor conv2d(Model &m, const char *name, const Tensor &x, int64_t out,
              const Ints &kernel, const Ints &stride, const Ints &padding,
              PadMode padMode, bool bias, Activation activation);
/// Over the last dim; weight [d], bias [d].
Tensor layer_norm(Model &m, const char *name, const Tensor &x, double eps);
/// Over dim 1; weight [c], bias [c].
Tensor group_norm(Model &m, const char *name, const Tensor &x, int64_t groups,
                  double eps);
Tensor instance_norm(const Tensor &x, double eps);
/// Self-attention on [b, n, e]: qkv.weight [e, 3e], qkv.bias [3e] when
/// qkvBias, proj.weight [e, e], proj.bias [e].
Tensor attention(Model &m, const char *name, const Tensor &x, int64_t heads,
                 bool qkvBias, double dropout);

// --- tensor parallel (Megatron; s2s-shard writes these on a tensor axis of
// size T > 1, and the model holds this rank's slices of the parameters:
// runtime/lib/tp/TensorParallel.h) -------------------------------------------
/// A column-parallel linear: weight [in, out/T], bias [out/T]; the output
/// is this rank's out/T columns.
Tensor linear_column(Model &m, const char *name, const Tensor &x, int64_t out,
                     bool bias, Activation activation, int64_t parts);
/// A row-parallel linear's partial product: weight [in/T, out] on an input
/// split on its last dim; its bias and activation follow tp_all_reduce.
Tensor linear_row(Model &m, const char *name, const Tensor &x, int64_t out);
/// Attention on heads/T of its heads: qkv [e, 3e/T] (this rank's q, k and
/// v columns), proj [e/T, e] row-parallel; returns the partial product of
/// the output projection (its bias follows tp_all_reduce). Attention
/// dropout is refused (each rank would draw its own mask).
Tensor attention_heads(Model &m, const char *name, const Tensor &x,
                       int64_t heads, bool qkvBias, double dropout,
                       int64_t parts);
/// Megatron's f: identity forward, the gradient summed over the model's
/// tensor group backward. `parts` is the compiler's T, checked against the
/// group.
Tensor tp_copy(Model &m, const Tensor &x, int64_t parts);
/// Megatron's g: the sum over the tensor group forward, identity
/// backward; then layer `biasOf`'s bias (nullptr: none) and `activation`.
Tensor tp_all_reduce(Model &m, const Tensor &x, int64_t parts,
                     const char *biasOf, Activation activation);
/// q.weight [e,e], q.bias [e], kv.weight [ce,2e], kv.bias [2e],
/// proj.weight [e,e], proj.bias [e].
Tensor cross_attention(Model &m, const char *name, const Tensor &x,
                       const Tensor &context, int64_t heads);
/// [b, c, h, w] -> [b, (h/p0)*(w/p1), embed]; weight [embed, c, p0, p1],
/// bias [embed].
Tensor patch_embed(Model &m, const char *name, const Tensor &x,
                   const Ints &patch, int64_t embed);
/// [b, (g0/p0)*(g1/p1), channels*p0*p1] -> [b, channels, g0, g1].
Tensor unpatch(const Tensor &x, const Ints &patch, const Ints &grid,
               int64_t channels);
/// FourCastNet's AFNO2D on [b, h, w, e]: w1,w2 [2, nb, e/nb, e/nb], b1,b2
/// [2, nb, e/nb]; the input added back (its skip); `cutoff` picks the kept
/// modes (see the op).
Tensor afno2d(Model &m, const char *name, const Tensor &x, int64_t blocks,
              double sparsity, double modes,
              AfnoCutoff cutoff = AfnoCutoff::Fourcastnet);
/// One message-passing round; see the op. Params msg.fc1/fc2, node.fc1/fc2.
Tensor graph_message(Model &m, const char *name, const Tensor &nodes,
                     const Tensor &edgeFeatures, const Tensor &edges,
                     int64_t hidden, int64_t out);
/// A learnable tensor declared with `param` in a model (its initialiser
/// is in the manifest).
Tensor param(Model &m, const char *name, const Ints &shape);

// --- memory ------------------------------------------------------------------
/// Generated code drops each local right after its last use (S2SToEmitC's
/// liveness), so its storage goes then unless autograd saved it for the
/// backward: a function does not hold all its values until it returns.
inline void release(Tensor &x) { x = Tensor(); }

// --- shape -------------------------------------------------------------------
Tensor reshape(const Tensor &x, const Ints &shape);
/// reshape with shape[0] replaced by x.size(0): the compiler uses it where a
/// reshape keeps the batch, so a forward compiled for batch B also takes a
/// smaller last batch.
inline Tensor reshape_keep_batch(const Tensor &x, Ints shape) {
  shape[0] = x.size(0);
  return reshape(x, shape);
}
Tensor permute(const Tensor &x, const Ints &dims);
Tensor flatten(const Tensor &x, int64_t start, int64_t end);
Tensor concat(const std::vector<Tensor> &xs, int64_t dim);
/// concat of its arguments, as generated code calls it.
template <typename... Ts> Tensor concat_n(int64_t dim, const Ts &...xs) {
  return concat(std::vector<Tensor>{xs...}, dim);
}
Tensor slice(const Tensor &x, int64_t dim, int64_t start, int64_t end);
/// Batches first..last (exclusive) of x stacked along dim 0, each of the
/// batch size of `like`: the unrolled rollout's slices, so a program built
/// for one batch size trains with another (--batch).
inline Tensor slice_batches(const Tensor &x, const Tensor &like, int64_t first,
                            int64_t last) {
  int64_t b = like.size(0);
  return slice(x, 0, first * b, last * b);
}
Tensor mean(const Tensor &x, int64_t dim, bool keep);
/// pad: (before, after) pairs from the last dim backwards (torch's pad).
Tensor pad(const Tensor &x, const Ints &pad, PadMode mode);
/// pad = [lat, lon]: periodic in longitude; across a pole row i maps to the
/// mirrored row shifted half way round the globe.
Tensor pad_sphere(const Tensor &x, const Ints &pad);

// --- spectral ----------------------------------------------------------------
Tensor rfft2(const Tensor &x);
Tensor irfft2(const Tensor &x, const Ints &size);
Tensor fft2(const Tensor &x);
Tensor ifft2(const Tensor &x);

// --- static inputs and physics
// --------------------------------------------------
/// GraphCast's graphs on the grid of `like` [b, c, lat, lon] (its
/// latitudes and longitudes from m.context(), else the defaults) and the
/// icosahedral mesh refined `refinement` times, as GraphGeometry.h states
/// them: `graph` is "multimesh", "grid2mesh" or "mesh2grid". [2, E] int64
/// (sender, receiver) indices, each into its own node set (grid points
/// row-major, mesh nodes); cached in the model. Error when the data's
/// coordinates give another edge count than the default coordinates the
/// compiler planned with.
Tensor graph_edges(Model &m, const Tensor &like, const char *graph,
                   int64_t refinement);
/// [1, E, 4]: length and local displacement of each edge of graph_edges.
Tensor graph_edge_features(Model &m, const Tensor &like, const char *graph,
                           int64_t refinement);
/// [1, N, 3]: cos colatitude, cos and sin longitude of each "mesh" node
/// (N = 10 * 4^refinement + 2) or "grid" point (N = lat * lon).
Tensor graph_node_features(Model &m, const Tensor &like, const char *nodes,
                           int64_t refinement);
/// [b, N, d] -> [b, E, d]: the row of each edge's `end` ("sender" or
/// "receiver").
Tensor graph_gather(const Tensor &nodes, const Tensor &edges, const char *end);
/// [b, E, d] -> [b, N, d]: each edge's row added onto its receiver,
/// N = like.size(1).
Tensor graph_scatter_sum(const Tensor &messages, const Tensor &edges,
                         const Tensor &like);
/// Marks the input of a batched model call of the unrolled rollout: its
/// `blocks` stacked start times are valid `first`, first + 1, ... data
/// steps (of `stepSeconds`) after the batch's times (BatchContext::time).
/// Records them in the model's cache slot kCallTimesSlot, where
/// time_features reads them, and returns x. Training steps, validation and
/// forecasts set it before their calls (call_times(m, x, 0, 1, 0) for a
/// call on the batch's own times).
Tensor call_times(Model &m, const Tensor &x, int64_t first, int64_t blocks,
                  int64_t stepSeconds);
inline constexpr const char *kCallTimesSlot = "call_times";
/// [b, 4, h, w]: sin/cos latitude, sin/cos longitude (from m.context()).
Tensor grid_coords(Model &m, const Tensor &like);
/// [b, 4, h, w]: sin/cos day of year, sin/cos time of day at each sample's
/// valid time + leadSeconds (m.context().time moved by the steps
/// call_times recorded; zeros when the data has no times).
Tensor time_features(Model &m, const Tensor &like, int64_t leadSeconds);
/// [b] or [b, 1] -> [b, dim] sinusoidal embedding.
Tensor lead_embed(const Tensor &lead, int64_t dim);
/// Convective adjustment (lib/model/Convection.cpp; the dialect's
/// s2s.convective_adjust has the physics). x, before: [b, C, h, w] in the
/// data's normalised units (m.context()'s channelOffset/channelScale).
/// Channels temperature[k] (K) and humidity[k] (kg/kg) are the column at
/// levels[k] hPa, from the top down. Unstable columns relax towards the
/// neutral reference at rate min(1, dt / tau), dt = the call's lead time,
/// else stepSeconds; each column's moist enthalpy then equals the same
/// column's of `before`. Other channels are x's. Throws Error on a shape,
/// channel or level out of range.
Tensor convective_adjust(Model &m, const Tensor &x, const Tensor &before,
                         const Ints &temperature, const Ints &humidity,
                         const Ints &levels, int64_t stepSeconds,
                         int64_t tauSeconds, double threshold);

// --- losses
// ---------------------------------------------------------------------
/// mse, mae, or huber (quadratic below `delta`, linear above, as torch's
/// huber_loss); weight: uniform or latitude (cos-latitude over dim -2
/// normalised to mean 1, from m.context().latitude). Scalar.
Tensor loss(Model &m, LossKind kind, const Tensor &prediction,
            const Tensor &target, Weighting weight, double delta);

// --- the rollout's plugins (lib/model/Rollout.cpp; docs/language.md has
// the definitions) -----------------------------------------------------------
/// x with no gradient flowing back through it (the pseudo-future target).
Tensor stop_gradient(const Tensor &x);
/// Marks the input of a model step whose Jacobian is penalised: x itself
/// when it is part of the graph already, else a leaf copy requiring grad.
Tensor jacobian_input(Model &m, const Tensor &x);
/// weight * mean over the batch of ||d output_n / d input_n||_F^2 / D, D the
/// number of values of one input sample. `output` must be computed from
/// `input` (a jacobian_input) sample by sample. Exact: one vector-Jacobian
/// product per output value of a sample (all samples at once);
/// Hutchinson: the mean of ||J^T v||^2 over `samples` probes v (Rademacher
/// +-1 or standard normal, from m.generator()). Differentiable (the VJPs
/// are taken with create_graph), so its gradient reaches the parameters.
/// Zero without grad mode (there is no graph to differentiate).
Tensor jacobian_penalty(Model &m, const Tensor &input, const Tensor &output,
                        JacobianKind kind, int64_t samples, ProbeDist probe,
                        double weight);
/// [n, c, lat, lon] -> [n * P, c, size0, size1], patch p of sample i at
/// i * P + p, where the patches lie as PatchGeometry.h says.
Tensor extract_patches(const Tensor &x, const Ints &size, const Ints &stride);
/// The inverse: [n * P, c, size0, size1] -> [n, c, grid0, grid1], each point
/// the weighted mean of the patches covering it (PatchGeometry.h's halo
/// weights).
Tensor merge_patches(const Tensor &x, const Ints &grid, const Ints &size,
                     const Ints &stride, const Ints &halo);
/// A model step whose activations are not kept: `fn(m, x)` runs without a
/// graph, and again in the backward (with m.generator() and the batch
/// context as they were, so dropout draws the same) to get the gradients
/// of x and of every parameter.
using StepFn = Tensor (*)(Model &, Tensor);
Tensor recompute(Model &m, StepFn fn, const Tensor &x);

// --- lead-time (on-stamp) training (runtime/lib/model/LeadTime.cpp;
// docs/language.md, `leads`) ---------------------------------------------
/// For a window [b, frames, ...]: [b] lead times in data steps (as values
/// of the window's dtype), sample n's drawn uniformly from `leads` with
/// m.generator(), independently per sample. Error on an empty set, a lead
/// below 1 or a window with no frame at the largest lead.
Tensor sample_leads(Model &m, const Tensor &window, const Ints &leads);
/// window[n, leads[n]] for each sample n: [b, ...]. Error on a lead that is
/// not a frame of the window, or a leads tensor that is not [b].
Tensor select_lead(const Tensor &window, const Tensor &leads);
/// [b] (b = like.size(0)) filled with this call's lead time in hours:
/// m.context().leadSeconds, or `defaultSeconds` when that is 0.
Tensor context_lead(Model &m, const Tensor &like, int64_t defaultSeconds);

} // namespace s2s::rt

#endif // S2S_RUNTIME_OPS_H
