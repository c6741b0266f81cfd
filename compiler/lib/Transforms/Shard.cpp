//===- Shard.cpp - The s2s-shard pass --------------------------------------===//
//
// Lays every parameter-owning op out on the mesh of `s2s.parallel`:
// `s2s.sharding = {params, grads, optimizer, tensor}`. The first three say
// whether that state is `replicated` or `sharded` over the data axis (the
// ZeRO stages); `tensor` is the Megatron layout on the `tensor` axis:
// `column` for the first linear of a pair and for attention's QKV, `row` for
// the second of a pair (and attention's output projection, which attention
// owns), so each pair needs one all-reduce; `replicated` otherwise.
//
//===----------------------------------------------------------------------===//

#include "s2s/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace s2s {
#define GEN_PASS_DEF_S2SSHARD
#include "s2s/Dialect/Passes.h.inc"
} // namespace s2s

using namespace mlir;
using namespace s2s;

namespace {

/// The linear this value reaches through pointwise ops only, if it is the
/// value's single user chain.
LinearOp nextLinear(Value v) {
  while (v.hasOneUse()) {
    Operation *user = *v.getUsers().begin();
    if (auto lin = dyn_cast<LinearOp>(user))
      return lin;
    if (!isa<ActivationOp, DropoutOp>(user))
      return nullptr;
    v = user->getResult(0);
  }
  return nullptr;
}

struct ShardPass : public s2s::impl::S2SShardBase<ShardPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    ParallelOp parallel;
    module.walk([&](ParallelOp p) { parallel = p; });
    if (!parallel)
      return; // one device: nothing to lay out
    int64_t tp = 1;
    for (auto [axis, size] :
         llvm::zip(parallel.getAxes(), parallel.getSizes()))
      if (cast<StringAttr>(axis).getValue() == "tensor")
        tp = size;
    StringRef strategy = parallel.getStrategy();
    bool shardOptimizer = strategy != "ddp";
    bool shardGrads = strategy == "zero2" || strategy == "zero3" ||
                      strategy == "fsdp";
    bool shardParams = strategy == "zero3" || strategy == "fsdp";
    Builder b(&getContext());
    auto state = [&](bool sharded) {
      return b.getStringAttr(sharded ? "sharded" : "replicated");
    };

    bool failedAny = false;
    module.walk([&](func::FuncOp fn) {
      if (!fn->hasAttr(kModelAttrName) && !fn->hasAttr("s2s.variant_of"))
        return;
      // Megatron pairs: a linear whose result reaches another linear through
      // pointwise ops only.
      llvm::DenseMap<Operation *, StringRef> layout;
      if (tp > 1) {
        fn.walk([&](LinearOp first) {
          if (layout.count(first))
            return;
          if (LinearOp second = nextLinear(first.getResult())) {
            layout[first] = "column";
            layout[second] = "row";
          }
        });
        fn.walk([&](AttentionOp attn) { layout[attn] = "column"; });
      }
      fn.walk([&](ParameterizedOp op) {
        StringRef tensor = "replicated";
        auto it = layout.find(op.getOperation());
        if (it != layout.end())
          tensor = it->second;
        if (tensor == "column") {
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
              op->emitError() << "cannot split " << attn.getHeads()
                              << " attention heads over a tensor axis of "
                              << tp;
              failedAny = true;
            }
        }
        op->setAttr("s2s.sharding",
                    b.getDictionaryAttr({
                        b.getNamedAttr("grads", state(shardGrads)),
                        b.getNamedAttr("optimizer", state(shardOptimizer)),
                        b.getNamedAttr("params", state(shardParams)),
                        b.getNamedAttr("tensor", b.getStringAttr(tensor)),
                    }));
      });
    });
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
