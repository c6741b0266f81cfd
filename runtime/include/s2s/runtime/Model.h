//===- Model.h - Parameters and per-call context of a generated model -*- C++ -*-===//
//
// A generated forward function takes a `Model &` and calls the layer kernels
// of Ops.h with the spec's parameter paths ("ResBlock.0.conv"). A kernel asks
// the model for its parameters by full name ("ResBlock.0.conv.weight"); the
// first call creates them, later calls look them up. The runtime makes them
// all by running the forward once on a zero batch (`materialize`) before
// the optimizer is built.
//
// Initialisation is deterministic and independent of creation order: each
// parameter draws from a generator seeded with hash(seed, name).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_MODEL_H
#define S2S_RUNTIME_MODEL_H

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace s2s::rt {

/// `[8, 3, 32, 64]`: a shape as messages write it.
std::string shapeStr(torch::IntArrayRef shape);

/// How a parameter is initialised. `a`, `b` are the initialiser's numbers:
///   Normal: std a, mean b          TruncNormal: std a (cut at +-2 std)
///   Uniform: low a, high b         Constant: value a
///   Zeros, Ones: none              FanIn: uniform(+-1/sqrt(a)) (a = fan-in,
///                                  torch's default for linear/conv layers)
struct Init {
  enum Kind { Normal, TruncNormal, Uniform, Zeros, Ones, Constant, FanIn };
  Kind kind = Zeros;
  double a = 0.0, b = 0.0;
};

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
};

class Model {
public:
  explicit Model(uint64_t seed = 0,
                 torch::Device device = torch::kCPU,
                 torch::ScalarType dtype = torch::kFloat32);

  /// The parameter `name` with `shape`: created with `init` on first use.
  /// A later call with another shape throws s2s::rt::Error.
  const torch::Tensor &param(const std::string &name,
                             torch::IntArrayRef shape, Init init);

  /// Parameters in creation order, with their names.
  const std::vector<std::pair<std::string, torch::Tensor>> &
  namedParameters() const { return params_; }
  std::vector<torch::Tensor> parameters() const;
  int64_t parameterCount() const;

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

  /// Cached static tensors kernels build once (graph edges, coordinate
  /// grids, latitude weights), keyed by a string the kernel chooses.
  torch::Tensor &cache(const std::string &key) { return cache_[key]; }

private:
  uint64_t seed_;
  torch::Device device_;
  torch::ScalarType dtype_;
  bool training_ = true;
  torch::Generator gen_;
  BatchContext ctx_;
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::unordered_map<std::string, size_t> index_;
  std::unordered_map<std::string, torch::Tensor> cache_;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_MODEL_H
