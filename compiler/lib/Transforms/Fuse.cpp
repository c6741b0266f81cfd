//===- Fuse.cpp - The s2s-fuse pass ---------------------------------------===//
//
// Folds a pointwise activation into the linear or convolution feeding it,
// when the activation is that layer's only user: the runtime has one fused
// kernel (forward and backward) for layer + activation.
//
//===----------------------------------------------------------------------===//

#include "s2s/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace s2s {
#define GEN_PASS_DEF_S2SFUSE
#include "s2s/Transforms/Passes.h.inc"
} // namespace s2s

using namespace mlir;
using namespace s2s;

namespace {
template <typename LayerOp>
struct FuseActivation : public OpRewritePattern<ActivationOp> {
  using OpRewritePattern<ActivationOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(ActivationOp act,
                                PatternRewriter &rewriter) const override {
    auto layer = act.getInput().getDefiningOp<LayerOp>();
    if (!layer || layer.getActivation() || !layer->hasOneUse())
      return rewriter.notifyMatchFailure(act, "no single-use layer to fuse");
    rewriter.modifyOpInPlace(layer, [&] {
      layer.setActivationAttr(act.getKindAttr());
      layer->getResult(0).setType(act.getType());
    });
    rewriter.replaceOp(act, layer->getResults());
    return success();
  }
};

struct FusePass : public s2s::impl::S2SFuseBase<FusePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseActivation<LinearOp>, FuseActivation<Conv2dOp>>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
