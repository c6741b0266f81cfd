//===- S2SAttrs.td - Enums and attributes of the s2s dialect -*- tablegen -*-===//
//
// The typed form of everything a spec's sections say, and of the kinds the
// layer ops take: one enum per kind (loss, activation, strategy, precision,
// memory mode, ...) and one attribute per section value (optimizer,
// schedule, memory, checkpoint, ...). Each value the compiler accepts has a
// field here, a C++ field in the runtime's config structs (Config.h), and
// the section lowering writes one into the other: a value cannot be lost on
// the way without the generated program failing to compile.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_ATTRS_TD
#define S2S_ATTRS_TD

include "s2s/Dialect/S2SDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

/// A double (held as an APFloat, which can be hashed), printed so that it
/// reads back exactly.
def S2S_F64Param : AttrParameter<"::llvm::APFloat", "a double"> {
  let parser = [{ [&]() -> ::mlir::FailureOr<::llvm::APFloat> {
    double v;
    if ($_parser.parseFloat(v))
      return ::mlir::failure();
    return ::llvm::APFloat(v);
  }() }];
  let printer = [{ $_printer.printFloat($_self) }];
}

/// `true` or `false`.
def S2S_BoolParam : AttrParameter<"bool", "a flag"> {
  let parser = [{ [&]() -> ::mlir::FailureOr<bool> {
    if (::mlir::succeeded($_parser.parseOptionalKeyword("true")))
      return true;
    if (::mlir::succeeded($_parser.parseOptionalKeyword("false")))
      return false;
    return $_parser.emitError($_parser.getCurrentLocation(),
                              "expected true or false");
  }() }];
  let printer = [{ $_printer << ($_self ? "true" : "false") }];
}

/// `[a, b]`: a pair of integers such as a year range or a patch size.
def S2S_PairParam : ArrayRefParameter<"int64_t", "a pair of integers"> {
  let parser = [{ [&]() -> ::mlir::FailureOr<::llvm::SmallVector<int64_t>> {
    ::llvm::SmallVector<int64_t> v;
    if ($_parser.parseCommaSeparatedList(
            ::mlir::AsmParser::Delimiter::Square, [&]() {
              return $_parser.parseInteger(v.emplace_back());
            }))
      return ::mlir::failure();
    return v;
  }() }];
  let printer = [{ $_printer << "[" << $_self[0] << ", " << $_self[1] << "]" }];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

// Case values are their position; only the spelling is part of the IR.
class S2S_EnumOf<string name, string summary, list<string> cases>
    : I32EnumAttr<name, summary, !foreach(i, !range(!size(cases)),
                                          I32EnumAttrCase<!if(!eq(cases[i], "auto"), "automatic", cases[i]),
                                                          i, cases[i]>)> {
  let cppNamespace = "::s2s";
  let genSpecializedAttr = 0;
}

def S2S_ActivationKind : S2S_EnumOf<"ActivationKind", "a pointwise nonlinearity",
    ["gelu", "relu", "silu", "tanh", "sigmoid"]>;
def S2S_PadMode : S2S_EnumOf<"PadMode", "how a border is padded",
    ["zeros", "circular", "reflect", "replicate"]>;
def S2S_LossKind : S2S_EnumOf<"LossKind", "a pointwise loss",
    ["mse", "mae", "huber"]>;
def S2S_Weighting : S2S_EnumOf<"Weighting", "a spatial weighting",
    ["uniform", "latitude"]>;
def S2S_InitKind : S2S_EnumOf<"InitKind", "a parameter initialiser",
    ["normal", "trunc_normal", "uniform", "zeros", "ones", "constant",
     "fan_in"]>;
def S2S_Strategy : S2S_EnumOf<"Strategy", "a data-parallel strategy",
    ["ddp", "zero1", "zero2", "zero3", "fsdp"]>;
def S2S_Backend : S2S_EnumOf<"Backend", "a collective backend",
    ["auto", "nccl", "gloo"]>;
def S2S_Precision : S2S_EnumOf<"Precision", "an arithmetic precision",
    ["fp32", "bf16", "fp16"]>;
def S2S_MemoryMode : S2S_EnumOf<"MemoryMode", "how a data set is held",
    ["eager", "lazy", "stream"]>;
def S2S_SourceKind : S2S_EnumOf<"SourceKind", "where samples are read from",
    ["hdf5", "server"]>;
def S2S_NormalizerKind : S2S_EnumOf<"NormalizerKind",
    "a per-channel normalisation", ["zscore", "minmax"]>;
def S2S_OptimizerKind : S2S_EnumOf<"OptimizerKind", "an optimizer",
    ["sgd", "adam", "adamw"]>;
def S2S_ScheduleKind : S2S_EnumOf<"ScheduleKind", "a learning-rate schedule",
    ["constant", "step", "cosine"]>;
def S2S_MetricKind : S2S_EnumOf<"MetricKind", "a validation score",
    ["rmse", "acc"]>;
def S2S_AlignKind : S2S_EnumOf<"AlignKind", "a pseudo-future alignment loss",
    ["mlse", "mase"]>;
def S2S_JacobianKind : S2S_EnumOf<"JacobianKind",
    "a Jacobian regularisation estimate", ["exact", "hutchinson"]>;
def S2S_ProbeDist : S2S_EnumOf<"ProbeDist",
    "the distribution of Hutchinson's probe vectors", ["rademacher", "gaussian"]>;
def S2S_JacobianAt : S2S_EnumOf<"JacobianAt",
    "the model steps a Jacobian penalty is taken at", ["first", "all"]>;
def S2S_LinearInit : S2S_EnumOf<"LinearInit",
    "how a linear layer's parameters start", ["fan_in", "trunc_normal"]>;
def S2S_AfnoCutoff : S2S_EnumOf<"AfnoCutoff",
    "which Fourier modes afno2d keeps", ["fourcastnet", "lowpass"]>;
def S2S_StateLayout : S2S_EnumOf<"StateLayout",
    "how training state is laid out over the data axis",
    ["replicated", "sharded"]>;
def S2S_TensorLayout : S2S_EnumOf<"TensorLayout",
    "the Megatron layout of a layer on the tensor axis",
    ["replicated", "column", "row"]>;

/// An enum attribute spelled `#s2s.strategy<zero3>` in attribute
/// dictionaries.
class S2S_EnumAttr<EnumInfo e, string mnemonic>
    : EnumAttr<S2S_Dialect, e, mnemonic> {
  let assemblyFormat = "`<` $value `>`";
}
/// An enum attribute an op's assembly format spells as a bare keyword
/// (`s2s.activation gelu %x`).
class S2S_KeywordEnumAttr<EnumInfo e, string mnemonic>
    : EnumAttr<S2S_Dialect, e, mnemonic>;

def S2S_ActivationKindAttr
    : S2S_KeywordEnumAttr<S2S_ActivationKind, "activation">;
def S2S_PadModeAttr : S2S_EnumAttr<S2S_PadMode, "pad_mode">;
def S2S_LossKindAttr : S2S_KeywordEnumAttr<S2S_LossKind, "loss_kind">;
def S2S_WeightingAttr : S2S_EnumAttr<S2S_Weighting, "weighting">;
def S2S_InitKindAttr : S2S_EnumAttr<S2S_InitKind, "init">;
def S2S_StrategyAttr : S2S_EnumAttr<S2S_Strategy, "strategy">;
def S2S_BackendAttr : S2S_EnumAttr<S2S_Backend, "backend">;
def S2S_PrecisionAttr : S2S_EnumAttr<S2S_Precision, "precision">;
def S2S_JacobianKindAttr : S2S_EnumAttr<S2S_JacobianKind, "jacobian_kind">;
def S2S_ProbeAttr : S2S_EnumAttr<S2S_ProbeDist, "probe">;
def S2S_AfnoCutoffAttr : S2S_EnumAttr<S2S_AfnoCutoff, "afno_cutoff">;
def S2S_LinearInitAttr : S2S_EnumAttr<S2S_LinearInit, "linear_init">;

//===----------------------------------------------------------------------===//
// Section values
//===----------------------------------------------------------------------===//

class S2S_Attr<string name, string mnemonic_, list<Trait> traits = []>
    : AttrDef<S2S_Dialect, name, traits> {
  let mnemonic = mnemonic_;
  let assemblyFormat = "`<` struct(params) `>`";
}

def S2S_SourceAttr : S2S_Attr<"Source", "source"> {
  let summary = "where a data set's samples come from";
  let description = [{
    `hdf5(pattern, field)`: files matched by a glob, the field dataset
    `[time, channel, lat, lon]` in each. `server(address, name)`: a data
    set held by a server (`address` and `name`; `pattern` is empty and
    `field` is "" for the set's index or "ring" for its ring, written
    `server(..., ring = true)`).

    ```mlir
    #s2s.source<kind = hdf5, pattern = "data/*.h5", field = "fields", address = "", name = "">
    ```
  }];
  let parameters = (ins EnumParameter<S2S_SourceKind>:$kind,
                        StringRefParameter<>:$pattern,
                        StringRefParameter<>:$field,
                        StringRefParameter<>:$address,
                        StringRefParameter<>:$name);
  let genVerifyDecl = 1;
}

def S2S_SplitAttr : S2S_Attr<"Split", "split"> {
  let summary = "the years of the train, valid and test splits";
  let description = [{
    Inclusive ranges of calendar years; an absent split is `[0, -1]`
    (empty). An empty train split means every year of the files.

    ```mlir
    #s2s.split<train = [1979, 2015], valid = [2016, 2017], test = [2018, 2018]>
    ```
  }];
  let parameters = (ins S2S_PairParam:$train, S2S_PairParam:$valid,
                        S2S_PairParam:$test);
  let genVerifyDecl = 1;
}

def S2S_NormalizeAttr : S2S_Attr<"Normalize", "normalize"> {
  let summary = "per-channel normalisation from a statistics file";
  let description = [{
    ```mlir
    #s2s.normalize<kind = zscore, stats = "data/stats.h5">
    ```
  }];
  let parameters = (ins EnumParameter<S2S_NormalizerKind>:$kind,
                        StringRefParameter<>:$stats);
}

def S2S_MemoryAttr : S2S_Attr<"Memory", "memory"> {
  let summary = "how the samples are held in memory";
  let description = [{
    `eager`: the split is read before training; `lazy`: each batch is read
    when needed; `stream`: a buffer of `buffer` windows refreshed in the
    background (a fraction `refresh` of it per pass over the buffer).
    `shared` keeps one copy per node (eager only); `prefetch` batches are
    assembled ahead by background threads.

    ```mlir
    #s2s.memory<mode = stream, shared = false, prefetch = 4, buffer = 512, refresh = 2.500000e-01>
    ```
  }];
  let parameters = (ins EnumParameter<S2S_MemoryMode>:$mode,
                        S2S_BoolParam:$shared, "int64_t":$prefetch,
                        "int64_t":$buffer, S2S_F64Param:$refresh);
  let genVerifyDecl = 1;
}

def S2S_LossAttr : S2S_Attr<"Loss", "loss"> {
  let summary = "a loss against the truth";
  let description = [{
    `delta` is Huber's threshold between the quadratic and linear parts
    (used by `huber` only).

    ```mlir
    #s2s.loss<kind = huber, weight = latitude, delta = 1.000000e+00>
    ```
  }];
  let parameters = (ins EnumParameter<S2S_LossKind>:$kind,
                        EnumParameter<S2S_Weighting>:$weight,
                        S2S_F64Param:$delta);
  let genVerifyDecl = 1;
}

def S2S_AlignAttr : S2S_Attr<"Align", "align"> {
  let summary = "a pseudo-future alignment loss";
  let description = [{
    For every time of the window and every pair of orders (j, j - lag)
    with lag < j <= order, both present in that time's column of the
    tableau: `weight` times the mean, over the batch and the grid, of the
    squared (`mlse`) or absolute (`mase`) difference between the order-j
    prediction and the order-(j - lag) one, spatially weighted by
    `spatial`. With `stop_gradient` the lower order is the target (no
    gradient flows into it); without, both sides move.

    ```mlir
    #s2s.align<kind = mlse, order = 2, weight = 1.000000e+00, lag = 1, spatial = uniform, stop_gradient = true>
    ```
  }];
  let parameters = (ins EnumParameter<S2S_AlignKind>:$kind, "int64_t":$order,
                        S2S_F64Param:$weight, "int64_t":$lag,
                        EnumParameter<S2S_Weighting>:$spatial,
                        S2S_BoolParam:$stop_gradient);
  let genVerifyDecl = 1;
}

def S2S_JacobianAttr : S2S_Attr<"Jacobian", "jacobian"> {
  let summary = "Jacobian regularisation of the one-step map";
  let description = [{
    `weight` times ||J_f(x)||_F^2 / dim(x) at the inputs of the model
    steps `at` selects (`first`: the first step of every start time;
    `all`: every step of the tableau), averaged over the batch. `exact`
    builds the norm from one vector-Jacobian product per output element;
    `hutchinson` estimates it from `samples` probes drawn from `dist`.

    ```mlir
    #s2s.jacobian<kind = hutchinson, samples = 1, weight = 1.000000e-03, dist = rademacher, at = first>
    ```
  }];
  let parameters = (ins EnumParameter<S2S_JacobianKind>:$kind,
                        "int64_t":$samples, S2S_F64Param:$weight,
                        EnumParameter<S2S_ProbeDist>:$dist,
                        EnumParameter<S2S_JacobianAt>:$at);
  let genVerifyDecl = 1;
}

def S2S_PatchingAttr : S2S_Attr<"Patching", "patching"> {
  let summary = "patch-wise prediction with overlapping patches";
  let description = [{
    The model runs on patches of `size` every `stride` (longitude
    periodic, the last latitude patch moved up to the last row), all
    patches of a batch in one call; each point of the prediction averages
    the patches that cover it, points within `halo` of a patch edge inside
    the grid excluded.

    ```mlir
    #s2s.patching<size = [180, 360], stride = [150, 300], halo = [0, 0]>
    ```
  }];
  let parameters = (ins S2S_PairParam:$size, S2S_PairParam:$stride,
                        S2S_PairParam:$halo);
  let genVerifyDecl = 1;
}

def S2S_OptimizerAttr : S2S_Attr<"Optimizer", "optimizer"> {
  let summary = "an optimizer and its hyper-parameters";
  let description = [{
    Every hyper-parameter is present; those the kind does not use hold the
    prelude's defaults (`momentum` and `nesterov` are SGD's, the betas and
    `eps` Adam's).

    ```mlir
    #s2s.optimizer<kind = adamw, lr = 5.000000e-04, momentum = 0.000000e+00, nesterov = false, beta1 = 9.000000e-01, beta2 = 9.990000e-01, eps = 1.000000e-08, weight_decay = 5.000000e-02>
    ```
  }];
  let parameters = (ins EnumParameter<S2S_OptimizerKind>:$kind,
                        S2S_F64Param:$lr, S2S_F64Param:$momentum,
                        S2S_BoolParam:$nesterov, S2S_F64Param:$beta1,
                        S2S_F64Param:$beta2, S2S_F64Param:$eps,
                        S2S_F64Param:$weight_decay);
  let genVerifyDecl = 1;
}

def S2S_ScheduleAttr : S2S_Attr<"Schedule", "schedule"> {
  let summary = "a learning-rate schedule";
  let description = [{
    `every` and `gamma` are `step`'s, `min_lr` is `cosine`'s; `warmup` is
    a linear warm-up in optimizer steps for any kind.

    ```mlir
    #s2s.schedule<kind = cosine, every = 0, gamma = 1.000000e-01, warmup = 1000, min_lr = 0.000000e+00>
    ```
  }];
  let parameters = (ins EnumParameter<S2S_ScheduleKind>:$kind,
                        "int64_t":$every, S2S_F64Param:$gamma,
                        "int64_t":$warmup, S2S_F64Param:$min_lr);
  let genVerifyDecl = 1;
}

def S2S_CheckpointAttr : S2S_Attr<"Checkpoint", "checkpoint"> {
  let summary = "when and where checkpoints are written";
  let description = [{
    Every `epochs` epochs and, when `steps` > 0, every `steps` optimizer
    steps, into `dir`, keeping the newest `keep`.

    ```mlir
    #s2s.checkpoint<epochs = 1, steps = 0, dir = "ckpt", keep = 3>
    ```
  }];
  let parameters = (ins "int64_t":$epochs, "int64_t":$steps,
                        StringRefParameter<>:$dir, "int64_t":$keep);
  let genVerifyDecl = 1;
}

def S2S_MetricAttr : S2S_Attr<"Metric", "metric"> {
  let summary = "a validation score and its spatial weighting";
  let description = [{
    ```mlir
    #s2s.metric<kind = rmse, weight = latitude>
    ```
  }];
  let parameters = (ins EnumParameter<S2S_MetricKind>:$kind,
                        EnumParameter<S2S_Weighting>:$weight);
}

//===----------------------------------------------------------------------===//
// Attributes the passes attach
//===----------------------------------------------------------------------===//

def S2S_ShardingAttr : S2S_Attr<"Sharding", "sharding"> {
  let summary = "how a layer's parameters and training state are laid out";
  let description = [{
    Set by `s2s-shard` on every op that owns parameters, as
    `s2s.sharding`. `params`, `grads` and `optimizer` say whether that
    state is replicated or sharded over the data axis (the ZeRO stages);
    `tensor` is the Megatron layout on the tensor axis.

    ```mlir
    #s2s.sharding<params = sharded, grads = sharded, optimizer = sharded, tensor = column>
    ```
  }];
  let parameters = (ins EnumParameter<S2S_StateLayout>:$params,
                        EnumParameter<S2S_StateLayout>:$grads,
                        EnumParameter<S2S_StateLayout>:$optimizer,
                        EnumParameter<S2S_TensorLayout>:$tensor);
}

def S2S_MemoryPlanAttr : S2S_Attr<"MemoryPlan", "memory_plan"> {
  let summary = "bytes per rank of one model's training state";
  let description = [{
    Set by `s2s-plan-memory` on each model forward, as `s2s.memory`:
    what a rank holds between steps (parameters, gradients, optimizer
    state) and the training step's peak above that (`step`: activations
    and what is in flight, docs/plan.md); `total` is their sum.

    ```mlir
    #s2s.memory_plan<params = 41164, grads = 41164, optimizer = 82328, step = 1048576, total = 1213232>
    ```
  }];
  let parameters = (ins "int64_t":$params, "int64_t":$grads,
                        "int64_t":$optimizer, "int64_t":$step,
                        "int64_t":$total);
  let genVerifyDecl = 1;
}

#endif // S2S_ATTRS_TD
