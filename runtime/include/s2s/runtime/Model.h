//===- Model.h - Parameters and per-call context of a generated model -*- C++
//-*-===//
//
// A generated forward function takes a `Model &` and calls the layer kernels
// of Ops.h with the spec's parameter paths ("ResBlock.0.conv"). A kernel asks
// the model for its parameters by full name ("ResBlock.0.conv.weight") and
// shape. The program creates them all before training from the compiler's
// parameter manifest (`declare`, then `seal`): a kernel asking for a
// parameter the manifest does not have, or with another shape, is an error
// naming it. An unsealed model (kernel tests) creates what it is asked for.
//
// Initialisation is deterministic and independent of creation order: each
// parameter draws from a generator seeded with hash(seed, name).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_MODEL_H
#define S2S_RUNTIME_MODEL_H

#include "s2s/runtime/Config.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace s2s::rt {

class Communicator; // runtime/lib/comm: a tensor-parallel run's group

/// `[8, 3, 32, 64]`: a shape as messages write it.
std::string shapeStr(torch::IntArrayRef shape);

enum class InitKind {
  Normal,
  TruncNormal,
  Uniform,
  Zeros,
  Ones,
  Constant,
  FanIn
};

/// How a parameter is initialised. `a`, `b` are the initialiser's numbers:
///   Normal: std a, mean b          TruncNormal: std a, mean b (cut at
///   Uniform: low a, high b                       mean +- 2 std)
///   Zeros, Ones: none              Constant: value a
///   FanIn: uniform(+-1/sqrt(a)), a = fan-in (torch's default for
///          linear/conv layers)
struct Init {
  InitKind kind = InitKind::Zeros;
  double a = 0.0, b = 0.0;
};

enum class StateLayout { Replicated, Sharded };
enum class TensorLayout { Replicated, Column, Row };

/// How a parameter and its training state are laid out (s2s-shard): over
/// the data axis (the ZeRO stages) and, Megatron-style, the tensor axis.
struct Sharding {
  StateLayout params = StateLayout::Replicated;
  StateLayout grads = StateLayout::Replicated;
  StateLayout optimizer = StateLayout::Replicated;
  TensorLayout tensor = TensorLayout::Replicated;
  /// The block zero3/fsdp gathers it with: the compiler's top-level
  /// component of its path ("ResBlock.3"); consecutive parameters of one
  /// unit are gathered together. Empty: a unit of its own.
  std::string unit;
};

/// One learnable tensor of a model, as the compiler lists it.
struct ParameterSpec {
  std::string path; ///< "ResBlock.0.conv.weight"
  std::vector<int64_t> shape;
  Init init;
  Sharding sharding;
};
using Manifest = std::vector<ParameterSpec>;

/// What a generated `<model>_parameters(Manifest &)` calls, once per
/// learnable tensor.
void declare(Manifest &m, const std::string &path,
             const std::vector<int64_t> &shape, Init init, Sharding sharding);

/// What a forward call knows about its batch besides the fields.
struct BatchContext {
  /// Valid time of each sample of the batch (seconds since 1970-01-01 UTC),
  /// [batch] int64; undefined when the data has no times.
  torch::Tensor time;
  /// Latitude of each grid row in degrees, [lat] float64.
  torch::Tensor latitude;
  /// Longitude of each grid column in degrees, [lon] float64.
  torch::Tensor longitude;
  /// Lead time of this call in seconds (for lead-time models).
  int64_t leadSeconds = 0;
  /// The data's normalisation, [channel] float64: a field's physical value
  /// is channelOffset + channelScale * its normalised value (z-score: mean
  /// and std). Undefined: the fields are in physical units.
  torch::Tensor channelOffset, channelScale;
};

/// Where the parameters of a model sharded over processes come from
/// (zero3, fsdp; train/ShardedParameters.h): the model keeps each
/// parameter's name and shape, and a kernel's param() returns what the
/// source gathers for it.
class ParameterSource {
public:
  virtual ~ParameterSource();
  /// The values of parameter `index` (creation order) for this call.
  virtual const torch::Tensor &get(size_t index) = 0;
  /// The tensors the parameters' gradients reach and the optimizer
  /// updates (this process's shard).
  virtual std::vector<torch::Tensor> leaves() const = 0;
};

class Model {
public:
  explicit Model(uint64_t seed = 0, torch::Device device = torch::kCPU,
                 torch::ScalarType dtype = torch::kFloat32);

  /// Creates every parameter of `manifest` (in its order), then seals the
  /// model. Throws Error on a path declared twice or a negative size.
  void materialize(const Manifest &manifest);

  /// The parameter `name`, which must have `shape`. Sealed: it must be
  /// declared (else Error: the compiler and the runtime disagree);
  /// unsealed: created on first use from a normal(0, 0.02) draw.
  const torch::Tensor &param(const std::string &name, torch::IntArrayRef shape);

  /// Creates one parameter; Error if it exists.
  const torch::Tensor &create(const std::string &name, torch::IntArrayRef shape,
                              Init init);
  bool sealed() const { return sealed_; }

  /// Parameters in creation order, with their names. In a sharded model
  /// (shard()) these are meta tensors: names and shapes, no values.
  const std::vector<std::pair<std::string, torch::Tensor>> &
  namedParameters() const {
    return params_;
  }
  /// The tensors gradients reach: the parameters, or in a sharded model
  /// the source's leaves.
  std::vector<torch::Tensor> parameters() const;
  int64_t parameterCount() const;
  /// The gather unit of parameter `index` (Sharding::unit, else its name).
  const std::string &unitOf(size_t index) const { return units_.at(index); }

  /// Hands the parameters' values to `source` (which must outlive the
  /// model's use): from now on param() returns source.get(), and the model
  /// keeps meta tensors of the parameters' shapes.
  void shard(ParameterSource *source);
  ParameterSource *source() const { return source_; }
  /// Whether a kernel asked for parameter `index` since shard().
  bool requested(size_t index) const {
    return index < requested_.size() && requested_[index];
  }

  /// Training mode enables dropout and drop-path.
  bool isTraining() const { return training_; }
  void setTraining(bool t) { training_ = t; }

  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }
  uint64_t seed() const { return seed_; }

  /// The generator dropout and drop-path draw from (seeded from `seed`,
  /// saved in checkpoints).
  torch::Generator &generator() { return gen_; }

  BatchContext &context() { return ctx_; }
  const BatchContext &context() const { return ctx_; }

  /// Replace a parameter's values (checkpoint restore); shape must match.
  void load(const std::string &name, const torch::Tensor &value);

  /// The tensor axis' process group of a tensor-parallel run, which
  /// Megatron's f and g (tp_copy, tp_all_reduce) run over; null in a run
  /// without one. The parameters are then this rank's slices.
  Communicator *tensorGroup() const { return tensorGroup_; }
  void setTensorGroup(Communicator *group) { tensorGroup_ = group; }

  /// Cached static tensors kernels build once (graph edges, coordinate
  /// grids, latitude weights), keyed by a string the kernel chooses.
  torch::Tensor &cache(const std::string &key) { return cache_[key]; }

private:
  uint64_t seed_;
  torch::Device device_;
  torch::ScalarType dtype_;
  bool training_ = true;
  bool sealed_ = false;
  torch::Generator gen_;
  BatchContext ctx_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<std::string> units_; ///< per parameter
  std::unordered_map<std::string, size_t> index_;
  std::unordered_map<std::string, torch::Tensor> cache_;
  ParameterSource *source_ = nullptr;
  Communicator *tensorGroup_ = nullptr;
  std::vector<bool> requested_;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_MODEL_H
