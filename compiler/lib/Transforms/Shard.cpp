//===- Shard.cpp - The s2s-shard pass
//--------------------------------------===//
//
// Lays every parameter-owning op out on the mesh of `s2s.parallel`:
// `s2s.sharding = {params, grads, optimizer, tensor}`. The first three say
// whether that state is `replicated` or `sharded` over the data axis (the
// ZeRO stages); `tensor` is the Megatron layout on the `tensor` axis:
// `column` for the first linear of a pair and for attention's QKV, `row` for
// the second of a pair (and attention's output projection, which attention
// owns), so each pair needs one all-reduce; `replicated` otherwise. On a
// tensor axis of size T > 1 the pass then writes that all-reduce and its
// conjugate into the IR: `s2s.tp_copy` (Megatron's f: identity forward,
// all-reduce backward) before each column linear and attention,
// `s2s.tp_all_reduce` (g: all-reduce forward, identity backward) after each
// row linear and attention, holding the layer's bias and activation (a
// row layer on a tensor rank computes only its partial product). The
// shapes in the IR stay the full ones; a rank's parameters are the slices
// runtime/lib/tp/TensorParallel.h's tensorShard takes.
//
//===----------------------------------------------------------------------===//

#include "s2s/Transforms/Passes.h"

#include "s2s/Analysis/TensorRoles.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace s2s {
#define GEN_PASS_DEF_S2SSHARD
#include "s2s/Transforms/Passes.h.inc"
} // namespace s2s

using namespace mlir;
using namespace s2s;

namespace {

/// Megatron's conjugate operators around the tensor-parallel ops: f
/// (`s2s.tp_copy`) on the input of each column-parallel linear and
/// attention, g (`s2s.tp_all_reduce`) on the output of each row-parallel
/// linear and attention, taking over the layer's bias (added once, after
/// the sum) and activation.
void insertCollectives(const llvm::DenseMap<Operation *, TensorLayout> &layout,
                       int64_t tp) {
  for (auto [op, l] : layout) {
    OpBuilder b(op);
    Location loc = op->getLoc();
    IntegerAttr size = b.getI64IntegerAttr(tp);
    op->setAttr(attrs::kTensorParts, size);
    Value in = op->getOperand(0);
    if (l == TensorLayout::column) {
      auto f = TpCopyOp::create(b, loc, in.getType(), in, size);
      op->setOperand(0, f.getResult());
    }
    StringAttr biasOf;
    ActivationKindAttr act;
    if (auto attn = dyn_cast<AttentionOp>(op)) {
      biasOf = b.getStringAttr(attn.getName() + ".proj");
    } else if (auto lin = dyn_cast<LinearOp>(op);
               lin && l == TensorLayout::row) {
      if (lin.getBias())
        biasOf = lin.getNameAttr();
      act = lin.getActivationAttr();
      lin.removeActivationAttr();
    } else {
      continue;
    }
    b.setInsertionPointAfter(op);
    Value out = op->getResult(0);
    auto g =
        TpAllReduceOp::create(b, loc, out.getType(), out, size, biasOf, act);
    out.replaceAllUsesExcept(g.getResult(), g);
  }
}

struct ShardPass : public s2s::impl::S2SShardBase<ShardPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    ParallelOp parallel;
    module.walk([&](ParallelOp p) { parallel = p; });
    if (!parallel)
      return; // one device: nothing to lay out
    int64_t tp = parallel.getAxisSize("tensor");
    Strategy strategy = parallel.getStrategy();
    bool shardOptimizer = strategy != Strategy::ddp;
    bool shardGrads = strategy == Strategy::zero2 ||
                      strategy == Strategy::zero3 || strategy == Strategy::fsdp;
    bool shardParams =
        strategy == Strategy::zero3 || strategy == Strategy::fsdp;
    auto state = [&](bool sharded) {
      return sharded ? StateLayout::sharded : StateLayout::replicated;
    };

    bool failedAny = false;
    module.walk([&](func::FuncOp fn) {
      if (!fn->hasAttr(attrs::kModel) && !fn->hasAttr(attrs::kVariantOf))
        return;
      // Megatron pairs (Analysis/TensorRoles.h).
      llvm::DenseMap<Operation *, TensorLayout> layout;
      if (tp > 1)
        layout = tensorRoles(fn);
      fn.walk([&](ParameterizedOp op) {
        TensorLayout tensor = TensorLayout::replicated;
        auto it = layout.find(op.getOperation());
        if (it != layout.end())
          tensor = it->second;
        if (tensor == TensorLayout::column) {
          if (auto lin = dyn_cast<LinearOp>(op.getOperation()))
            if (lin.getOut() % tp) {
              op->emitError() << "cannot split the " << lin.getOut()
                              << " outputs of this linear over a tensor "
                                 "axis of "
                              << tp;
              failedAny = true;
            }
          if (auto attn = dyn_cast<AttentionOp>(op.getOperation()))
            if (attn.getHeads() % tp) {
              op->emitError()
                  << "cannot split " << attn.getHeads()
                  << " attention heads over a tensor axis of " << tp;
              failedAny = true;
            }
        }
        op->setAttr(attrs::kSharding,
                    ShardingAttr::get(&getContext(), state(shardParams),
                                      state(shardGrads), state(shardOptimizer),
                                      tensor));
      });
      if (tp > 1)
        insertCollectives(layout, tp);
    });
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
