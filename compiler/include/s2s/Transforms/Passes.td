//===- Passes.td - Transforms of the s2s dialect -----------*- tablegen -*-===//
//
// The passes s2sc's pipeline runs on s2s IR (buildS2SPipeline), each one
// file in lib/Transforms named after its def.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_TRANSFORMS_PASSES_TD
#define S2S_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def S2SInferShapes : Pass<"s2s-infer-shapes", "::mlir::ModuleOp"> {
  let summary = "Infer static tensor shapes through every model forward";
  let description = [{
    Walks each model forward (`func.func` with `s2s.model`) in order and
    asks every op implementing `ShapeInferenceOpInterface` for its result
    types, then sets the function's result types from its returns. A layer
    whose operands do not fit (a patch that does not divide the grid, a
    residual add of two shapes that do not broadcast, ...) is an error at
    the spec line it came from, naming both shapes.

    Before:
    ```mlir
    func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<*xf32> attributes {s2s.model = "Net"} {
      %y = s2s.linear %x {out = 16 : i64, bias = true, name = "fc"} : tensor<8x3x32x64xf32> -> tensor<*xf32>
      return %y : tensor<*xf32>
    }
    ```
    After:
    ```mlir
    func.func @net(%x: tensor<8x3x32x64xf32>) -> tensor<8x3x32x16xf32> attributes {s2s.model = "Net"} {
      %y = s2s.linear %x {out = 16 : i64, bias = true, name = "fc"} : tensor<8x3x32x64xf32> -> tensor<8x3x32x16xf32>
      return %y : tensor<8x3x32x16xf32>
    }
    ```
  }];
  let dependentDialects = ["::s2s::S2SDialect", "::mlir::func::FuncDialect"];
}

def S2SUnrollRollout : Pass<"s2s-unroll-rollout", "::mlir::ModuleOp"> {
  let summary = "Unroll the autoregressive tableau into batched model calls";
  let description = [{
    For each `s2s.rollout` of order K on a model whose input is
    `[B, C, H, W]`, builds `func.func @<model>_rollout(%window:
    [B, K+1, C, H, W]) -> tensor<f32>`: order k's predictions for all
    start times are one batched call of the model (K calls, not K(K+1)/2),
    and each order's predictions are compared with the truth by the
    rollout's loss (`s2s.loss`), summed with the per-order `weights`.

    Before:
    ```mlir
    s2s.rollout @net on @d {order = 2 : i64, loss = #s2s.loss<kind = mse, weight = latitude, delta = 1.0>}
    ```
    After (schematically): `@net_rollout` slices the window, calls `@net`
    on the 2 start frames stacked along the batch, then on the first
    prediction, and adds the two `s2s.loss` values.
  }];
  let dependentDialects = ["::s2s::S2SDialect", "::mlir::func::FuncDialect"];
}

def S2SFuse : Pass<"s2s-fuse", "::mlir::ModuleOp"> {
  let summary = "Fuse chains that have one fused runtime kernel";
  let description = [{
    Folds an activation into the `s2s.linear` or `s2s.conv2d` that feeds
    it when that is its only use (`activation` attribute), so the runtime
    runs one fused kernel forward and backward.

    Before:
    ```mlir
    %h = s2s.linear %x {out = 64 : i64, bias = true, name = "fc1"} : tensor<8x32xf32> -> tensor<8x64xf32>
    %a = s2s.activation gelu %h : tensor<8x64xf32> -> tensor<8x64xf32>
    ```
    After:
    ```mlir
    %a = s2s.linear %x {activation = #s2s<activation gelu>, out = 64 : i64, bias = true, name = "fc1"} : tensor<8x32xf32> -> tensor<8x64xf32>
    ```
  }];
  let dependentDialects = ["::s2s::S2SDialect"];
}

def S2SShard : Pass<"s2s-shard", "::mlir::ModuleOp"> {
  let summary = "Lay parameters out on the device mesh of `s2s.parallel`";
  let description = [{
    Annotates every op that owns parameters with `s2s.sharding` (a
    `#s2s.sharding<params, grads, optimizer, tensor>`):
    `replicated` under `ddp`, `zero1`/`zero2` (parameters replicated,
    optimizer state or gradients sharded over the `data` axis), `sharded`
    over `data` under `zero3`/`fsdp`; with a `tensor` axis of size > 1,
    Megatron layouts: attention and the first linear of a pair `column`,
    the second linear of the pair `row`, so one all-reduce per pair.
  }];
  let dependentDialects = ["::s2s::S2SDialect"];
}

def S2SPlanMemory : Pass<"s2s-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Bytes per rank for parameters, gradients, optimizer state and activations";
  let description = [{
    From the inferred shapes, the precision and batch of `s2s.train` and
    the mesh and strategy of `s2s.parallel`, computes for each model the
    bytes each rank holds and attaches them as `s2s.memory` to the model's
    forward: `params`, `grads`, `optimizer` (Adam-style: two fp32 moments;
    all three fp32 in every precision, as the runtime's autocast keeps
    them), `activations` (every forward result kept for the backward, per
    rank's micro-batch; under bf16/fp16 at 2 bytes for the layers autocast
    runs in the reduced type and what follows them, 4 for norms, FFTs,
    losses and promoted sums, plus a 2-byte copy of the parameters) and
    `total`. Counts saturate rather than wrap.

    With `max-rank-bytes` above 0, a model whose plan needs more than that
    per rank is an error at the model instance, with the plan's figures: a
    spec that could only be killed for lack of memory once it runs is
    refused when it is compiled (`s2sc --max-rank-memory`).
  }];
  let options = [
    Option<"maxRankBytes", "max-rank-bytes", "int64_t", /*default=*/"0",
           "Refuse a plan above this many bytes per rank (0: no bound)">,
  ];
  let dependentDialects = ["::s2s::S2SDialect"];
}

#endif // S2S_TRANSFORMS_PASSES_TD
