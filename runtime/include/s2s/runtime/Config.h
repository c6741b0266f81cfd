//===- Config.h - What a spec says, as the runtime reads it -----*- C++ -*-===//
//
// The typed contract between s2sc and the runtime: the generated
// `s2s::rt::Spec configure()` assigns every value of the spec's data,
// rollout, parallel and train sections to a field here
// (`v1.train.optimizer.kind = s2s::rt::OptimizerKind::Adam;`), one field per
// argument of the dialect's section attributes (compiler/include/s2s/
// Dialect/S2SAttrs.td). A field renamed or removed here, or of another type,
// makes the generated program fail to compile; every field is read by the
// runtime (no value is carried and then ignored). The defaults below are
// the prelude's, for programs and tests that build a Spec by hand.
//
// Enums spell the dialect's enums in CamelCase (`trunc_normal` ->
// `TruncNormal`); name() gives the spec's spelling back for messages.
// Torch-free: the data-preparation tools include it alone.
//
// The data files DataConfig describes (what `s2s-data synth` writes and
// `s2s-data import` converts ERA5 NetCDF into), one or many files matched by
// a glob pattern, e.g. one per year:
//
//   /fields    float32 [time, channel, lat, lon]  (dataset name configurable)
//     attribute "channels": variable-length strings, one per channel
//   /time      int64 [time]  seconds since 1970-01-01 UTC, increasing
//   /lat       float64 [lat] degrees north (optional; default: equally spaced
//              from +90 to -90, poles included when lat is odd, cell centres
//              otherwise)
//   /lon       float64 [lon] degrees east (optional; default 0, 360/lon, ...)
//
// Files are ordered by their first time; times must increase across files.
//
// A stats file (HDF5) holds /mean and /std float64 [channel] with the same
// "channels" attribute on each; z-score normalisation divides by std after
// subtracting the mean, per channel, selected by name (minmax: /min, /max).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_CONFIG_H
#define S2S_RUNTIME_CONFIG_H

#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt {

// --- kinds
// ---------------------------------------------------------------------
enum class Activation { None, Gelu, Relu, Silu, Tanh, Sigmoid };
enum class PadMode { Zeros, Circular, Reflect, Replicate };
/// Which Fourier modes afno2d keeps (see the op).
enum class AfnoCutoff { Fourcastnet, Lowpass };
enum class LossKind { Mse, Mae, Huber };
enum class Weighting { Uniform, Latitude };
enum class StrategyKind { Ddp, Zero1, Zero2, Zero3, Fsdp };
enum class Backend { Auto, Nccl, Gloo };
enum class Precision { Fp32, Bf16, Fp16 };
enum class MemoryMode { Eager, Lazy, Stream };
enum class Normalizer { None, Zscore, Minmax };
enum class OptimizerKind { Sgd, Adam, Adamw };
enum class ScheduleKind { Constant, Step, Cosine };
enum class MetricKind { Rmse, Acc };
enum class JacobianKind { Exact, Hutchinson };
enum class ProbeDist { Rademacher, Gaussian };

/// The spec's spelling of each kind ("gelu", "zero3"), for messages,
/// banners and --help.
inline const char *name(Activation v) {
  const char *n[] = {"none", "gelu", "relu", "silu", "tanh", "sigmoid"};
  return n[static_cast<int>(v)];
}
inline const char *name(PadMode v) {
  const char *n[] = {"zeros", "circular", "reflect", "replicate"};
  return n[static_cast<int>(v)];
}
inline const char *name(LossKind v) {
  const char *n[] = {"mse", "mae", "huber"};
  return n[static_cast<int>(v)];
}
inline const char *name(Weighting v) {
  const char *n[] = {"uniform", "latitude"};
  return n[static_cast<int>(v)];
}
inline const char *name(StrategyKind v) {
  const char *n[] = {"ddp", "zero1", "zero2", "zero3", "fsdp"};
  return n[static_cast<int>(v)];
}
inline const char *name(Backend v) {
  const char *n[] = {"auto", "nccl", "gloo"};
  return n[static_cast<int>(v)];
}
inline const char *name(Precision v) {
  const char *n[] = {"fp32", "bf16", "fp16"};
  return n[static_cast<int>(v)];
}
inline const char *name(MemoryMode v) {
  const char *n[] = {"eager", "lazy", "stream"};
  return n[static_cast<int>(v)];
}
inline const char *name(Normalizer v) {
  const char *n[] = {"none", "zscore", "minmax"};
  return n[static_cast<int>(v)];
}
inline const char *name(OptimizerKind v) {
  const char *n[] = {"sgd", "adam", "adamw"};
  return n[static_cast<int>(v)];
}
inline const char *name(ScheduleKind v) {
  const char *n[] = {"constant", "step", "cosine"};
  return n[static_cast<int>(v)];
}
inline const char *name(MetricKind v) {
  const char *n[] = {"rmse", "acc"};
  return n[static_cast<int>(v)];
}

// --- data
// ------------------------------------------------------------------------

/// An inclusive range of calendar years (UTC) of valid times; {0, -1} is
/// empty.
struct YearRange {
  int first = 0, last = -1;
  bool empty() const { return last < first; }
  bool contains(int year) const { return year >= first && year <= last; }
};

/// `memory = in_memory(shared, lazy, prefetch)` or `stream(buffer,
/// prefetch, refresh)`.
struct MemoryConfig {
  MemoryMode mode = MemoryMode::Eager;
  bool shared = false;   ///< one copy per node (eager only)
  int64_t prefetch = 2;  ///< batches assembled ahead; 0: none
  int64_t buffer = 0;    ///< stream: windows held in memory
  double refresh = 0.25; ///< stream: fraction replaced per pass over it
};

struct DataConfig {
  std::string name;             ///< the spec's data set name
  std::string pattern;          ///< hdf5(pattern): a glob
  std::string field = "fields"; ///< hdf5(field); server: "ring" (Ring.h)
  /// server(address, name): the data server's address ("unix:///...sock"
  /// or "host:port") and the data set's name there; empty for files.
  std::string server, serverSet;
  std::vector<std::string> channels; ///< names, in model order
  std::vector<int64_t> grid;         ///< [lat, lon] or empty (the files')
  int64_t stepSeconds = 0;           ///< 0: the files' own spacing
  int64_t history = 1;               ///< input time steps per sample
  YearRange train, valid, test;      ///< an empty train split: all years
  Normalizer normalize = Normalizer::None;
  std::string stats; ///< the normaliser's statistics file
  MemoryConfig memory;
};

// --- rollout
// -----------------------------------------------------------------------

struct LossConfig {
  LossKind kind = LossKind::Mse;
  Weighting weight = Weighting::Uniform;
  double delta = 1.0; ///< huber: quadratic below, linear above
};

struct RolloutConfig {
  int64_t order = 1; ///< frames predicted per window
  LossConfig loss;   ///< compiled into the rollout; here for --help and logs
  /// Lead-time training: the lead times (in data steps) a sample is trained
  /// at, one drawn per sample; empty for a rollout of one-step calls. The
  /// windows hold max(order, max lead) + 1 frames, and validation scores
  /// the model at each lead.
  std::vector<int64_t> leads;
};

/// Frames of a training window: max(order, largest lead) + 1.
inline int64_t windowFrames(const RolloutConfig &r) {
  int64_t n = r.order > 1 ? r.order : 1;
  for (int64_t l : r.leads)
    n = l > n ? l : n;
  return n + 1;
}

// --- parallel
// ------------------------------------------------------------------------

struct ParallelConfig {
  std::vector<std::string> axes = {"data"};
  std::vector<int64_t> sizes = {1};
  StrategyKind strategy = StrategyKind::Ddp;
  Backend backend = Backend::Auto;
  /// A collective or rendezvous waiting longer than this fails the run
  /// (a peer that died or hangs).
  int64_t timeoutSeconds = 600;
};

// --- train
// ---------------------------------------------------------------------------

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Adam;
  double lr = 1e-3;
  double momentum = 0.0;                         ///< sgd
  bool nesterov = false;                         ///< sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8; ///< adam, adamw
  double weightDecay = 0.0;
};

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::Constant;
  int64_t every = 0;  ///< step: epochs between decays
  double gamma = 0.1; ///< step: decay factor
  int64_t warmup = 0; ///< linear warm-up, in optimizer steps
  double minLr = 0.0; ///< cosine: final learning rate
};

struct CheckpointConfig {
  int64_t everyEpochs = 1;
  int64_t everySteps = 0; ///< 0: only at epoch ends
  std::string dir = "checkpoints";
  int64_t keep = 3;
};

struct MetricConfig {
  MetricKind kind = MetricKind::Rmse;
  Weighting weight = Weighting::Latitude;
};

struct TrainConfig {
  int64_t epochs = 1;
  int64_t batch = 1;      ///< global batch
  int64_t accumulate = 1; ///< micro-batches per process and optimizer step
  Precision precision = Precision::Fp32;
  int64_t seed = 0;
  double gradClip = 0.0; ///< 0: no clipping
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  CheckpointConfig checkpoint;
  std::vector<MetricConfig> metrics = {{MetricKind::Rmse, Weighting::Latitude},
                                       {MetricKind::Acc, Weighting::Latitude}};
};

/// Everything the spec says that the runtime needs.
struct Spec {
  std::string name;      ///< the program: the spec's file stem
  std::string specFile;  ///< the spec, as given to s2sc
  std::string modelName; ///< the model instance (`model net = ...`)
  DataConfig data;
  RolloutConfig rollout;
  ParallelConfig parallel;
  TrainConfig train;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_CONFIG_H
