//===- Model.cpp - Parameters and per-call context of a generated model ---===//
//
// Parameters are created from the compiler's manifest (or, in an unsealed
// model, on first use). Each one is drawn on the CPU from its own generator
// seeded with FNV-1a(seed, name), in float32 (float64 for a float64 model),
// and then moved to the model's device and dtype: the values depend only on
// (seed, name, shape, init), not on creation order or device.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Model.h"

#include "s2s/runtime/Error.h"
#include "support/Hash.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <sstream>

namespace s2s::rt {

namespace {

/// 64-bit FNV-1a over the seed's 8 bytes (little-endian) and the name.
uint64_t fnv1a(uint64_t seed, const std::string &name) {
  return Fnv1a().littleEndian(seed).text(name).value();
}

torch::Generator makeGenerator(uint64_t seed, torch::Device device) {
  if (device.is_cpu())
    return at::make_generator<at::CPUGeneratorImpl>(seed);
  // Another backend's generator type is only reachable through its hooks;
  // clone the default one so this model's stream is its own.
  torch::Generator g = at::globalContext().defaultGenerator(device).clone();
  g.set_current_seed(seed);
  return g;
}

/// Draw `shape` per `init` on the CPU with generator `g`.
torch::Tensor draw(torch::IntArrayRef shape, const Init &init,
                   torch::ScalarType drawType, torch::Generator &g) {
  auto opts = torch::TensorOptions().dtype(drawType).device(torch::kCPU);
  switch (init.kind) {
  case InitKind::Zeros:
    return torch::zeros(shape, opts);
  case InitKind::Ones:
    return torch::ones(shape, opts);
  case InitKind::Constant:
    return torch::full(shape, init.a, opts);
  case InitKind::Normal:
    return torch::empty(shape, opts).normal_(init.b, init.a, g);
  case InitKind::Uniform:
    return torch::empty(shape, opts).uniform_(init.a, init.b, g);
  case InitKind::FanIn: {
    double bound = init.a > 0 ? 1.0 / std::sqrt(init.a) : 0.0;
    return torch::empty(shape, opts).uniform_(-bound, bound, g);
  }
  case InitKind::TruncNormal: {
    // As torch.nn.init.trunc_normal_(t, mean, std) with its default cut-offs
    // a = -2, b = 2 (absolute values, not multiples of std): inverse-CDF
    // sampling of N(mean, std) restricted to [a, b], i.e. uniform in
    // [cdf(a), cdf(b)] mapped through 2u - 1 -> erfinv -> * std sqrt(2) +
    // mean. With FourCastNet's and ViT's std = 0.02 the cut is 100 std out:
    // a plain normal in effect.
    const double std = init.a, mean = init.b, a = -2.0, b = 2.0;
    auto cdf = [&](double x) {
      return 0.5 * (1.0 + std::erf((x - mean) / (std * std::sqrt(2.0))));
    };
    torch::Tensor t =
        torch::empty(shape, opts).uniform_(2 * cdf(a) - 1, 2 * cdf(b) - 1, g);
    t.erfinv_().mul_(std * std::sqrt(2.0)).add_(mean);
    return t.clamp_(a, b);
  }
  }
  throw Error("unknown parameter initialiser kind " +
              std::to_string(static_cast<int>(init.kind)));
}

} // namespace

std::string shapeStr(torch::IntArrayRef shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

Model::Model(uint64_t seed, torch::Device device, torch::ScalarType dtype)
    : seed_(seed), device_(device), dtype_(dtype),
      gen_(makeGenerator(seed, device)) {}

void declare(Manifest &m, const std::string &path,
             const std::vector<int64_t> &shape, Init init, Sharding sharding) {
  m.push_back(ParameterSpec{path, shape, init, sharding});
}

void Model::materialize(const Manifest &manifest) {
  for (const ParameterSpec &p : manifest) {
    if (index_.count(p.path))
      throw Error("the parameter manifest declares '" + p.path +
                  "' twice (internal error of the generated program)");
    create(p.path, p.shape, p.init);
    if (!p.sharding.unit.empty())
      units_.back() = p.sharding.unit;
  }
  sealed_ = true;
}

const torch::Tensor &Model::param(const std::string &name,
                                  torch::IntArrayRef shape) {
  auto it = index_.find(name);
  if (it != index_.end()) {
    const torch::Tensor &p = params_[it->second].second;
    if (p.sizes() != shape)
      throw Error("parameter '" + name + "' has shape " + shapeStr(p.sizes()) +
                  " but is used with shape " + shapeStr(shape) +
                  (sealed_ ? " (the compiler's manifest and the kernel "
                             "disagree, or the data does not fit the "
                             "model's grid)"
                           : " (a layer's input size changed between calls?)"));
    if (source_) {
      requested_[it->second] = true;
      return source_->get(it->second);
    }
    return p;
  }
  if (sealed_)
    throw Error("a layer asks for parameter '" + name + "' of shape " +
                shapeStr(shape) +
                ", which the model's parameter manifest does not declare: "
                "the compiler and the runtime disagree; rebuild the program "
                "with the s2sc of this runtime");
  return create(name, shape, Init{InitKind::Normal, 0.02, 0.0});
}

const torch::Tensor &Model::create(const std::string &name,
                                   torch::IntArrayRef shape, Init init) {
  if (index_.count(name))
    throw Error("parameter '" + name + "' exists already");
  for (int64_t d : shape)
    if (d < 0)
      throw Error("parameter '" + name + "' has a negative size in " +
                  shapeStr(shape));

  // Parameters must be ordinary autograd leaves even when first created
  // under inference mode or no_grad.
  c10::InferenceMode notInference(false);
  torch::NoGradGuard noGrad;
  uint64_t h = fnv1a(seed_, name);
  // CPU generators seed a 32-bit Mersenne twister: fold the hash.
  torch::Generator g = at::make_generator<at::CPUGeneratorImpl>(h ^ (h >> 32));
  torch::ScalarType drawType =
      dtype_ == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  // (The sampling kernels lock the generator themselves.)
  torch::Tensor t = draw(shape, init, drawType, g).to(device_, dtype_).detach();
  t.set_requires_grad(true);

  index_.emplace(name, params_.size());
  units_.push_back(name);
  params_.emplace_back(name, std::move(t));
  return params_.back().second;
}

ParameterSource::~ParameterSource() = default;

void Model::shard(ParameterSource *source) {
  source_ = source;
  requested_.assign(params_.size(), false);
  for (auto &np : params_)
    np.second = torch::empty(np.second.sizes(),
                             np.second.options().device(torch::kMeta));
}

std::vector<torch::Tensor> Model::parameters() const {
  if (source_)
    return source_->leaves();
  std::vector<torch::Tensor> out;
  out.reserve(params_.size());
  for (const auto &p : params_)
    out.push_back(p.second);
  return out;
}

int64_t Model::parameterCount() const {
  int64_t n = 0;
  for (const auto &p : params_)
    n += p.second.numel();
  return n;
}

void Model::load(const std::string &name, const torch::Tensor &value) {
  auto it = index_.find(name);
  if (it == index_.end())
    throw Error("checkpoint has parameter '" + name +
                "', which this model does not have (was the checkpoint "
                "written by another spec?)");
  torch::Tensor &p = params_[it->second].second;
  if (source_)
    throw Error("parameter '" + name +
                "' is sharded over the processes: load it through the "
                "strategy (internal error)");
  if (p.sizes() != value.sizes())
    throw Error("checkpoint parameter '" + name + "' has shape " +
                shapeStr(value.sizes()) + " but the model's is " +
                shapeStr(p.sizes()));
  c10::InferenceMode notInference(false);
  torch::NoGradGuard noGrad;
  p.copy_(value.to(p.device(), p.scalar_type()));
}

} // namespace s2s::rt
