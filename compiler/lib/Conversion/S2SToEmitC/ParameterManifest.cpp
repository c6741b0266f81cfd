//===- ParameterManifest.cpp - The learnable tensors of a model, for C++ --===//
//
// For each model forward, a function the runtime calls before training:
//
//   void net_parameters(s2s::rt::Manifest &v1) {
//     s2s::rt::declare(v1, "ResBlock.0.conv2d.0.weight", {16, 3, 3, 3},
//         s2s::rt::Init{s2s::rt::InitKind::FanIn, 27.0, 0.0},
//         s2s::rt::Sharding{..., "ResBlock.0"});
//     ...
//   }
//
// The runtime creates every parameter from it (no forward on a zero batch),
// so a rank can later create only its shard, and the kernels find them by
// path. Shapes and initialisers come from ParameterizedOpInterface, the
// same source as --emit=summary's counts.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"
#include "RuntimeABI.h"

#include "s2s/Analysis/ParameterCount.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"

using namespace mlir;
using namespace s2s;

static std::string initLiteral(const ParameterInit &init) {
  return "s2s::rt::Init{" + abi::cxxEnum(init.kind) + ", " +
         abi::cxxDouble(init.a) + ", " + abi::cxxDouble(init.b) + "}";
}

/// The s2s.sharding annotation (replicated without one) and the unit
/// zero3/fsdp gathers the parameter with.
static std::string shardingLiteral(ShardingAttr s, const std::string &unit) {
  std::string layouts = s ? abi::cxxEnum(s.getParams()) + ", " +
                                abi::cxxEnum(s.getGrads()) + ", " +
                                abi::cxxEnum(s.getOptimizer()) + ", " +
                                abi::cxxEnum(s.getTensor())
                          : abi::cxxEnum(StateLayout::replicated) + ", " +
                                abi::cxxEnum(StateLayout::replicated) + ", " +
                                abi::cxxEnum(StateLayout::replicated) + ", " +
                                abi::cxxEnum(TensorLayout::replicated);
  return "s2s::rt::Sharding{" + layouts + ", " + abi::cxxString(unit) + "}";
}

LogicalResult s2s::buildParameterManifest(OpBuilder &b, func::FuncOp model) {
  FailureOr<SmallVector<ModelParameter>> params = collectParameters(model);
  if (failed(params))
    return model.emitError()
           << "the parameter shapes of model '" << model.getSymName()
           << "' depend on sizes known only at run time; give the data "
              "section a grid = [lat, lon] so the program can create them";
  MLIRContext *ctx = b.getContext();
  Location loc = model.getLoc();
  Type manifestTy = emitc::OpaqueType::get(ctx, abi::kManifestRef);
  auto fn =
      emitc::FuncOp::create(b, loc, (model.getSymName() + "_parameters").str(),
                            b.getFunctionType({manifestTy}, {}));
  Block *entry = fn.addEntryBlock();
  OpBuilder body = OpBuilder::atBlockEnd(entry);
  Type index = IndexType::get(ctx);
  for (const ModelParameter &p : *params) {
    auto sharding = p.owner->getAttrOfType<ShardingAttr>(attrs::kSharding);
    SmallVector<Attribute> args = {
        IntegerAttr::get(index, 0),
        emitc::OpaqueAttr::get(ctx, abi::cxxString(p.path)),
        emitc::OpaqueAttr::get(ctx, abi::cxxInts(p.info.shape)),
        emitc::OpaqueAttr::get(ctx, initLiteral(p.info.init)),
        emitc::OpaqueAttr::get(ctx, shardingLiteral(sharding, p.unit))};
    emitc::CallOpaqueOp::create(body, p.owner->getLoc(), TypeRange(),
                                body.getStringAttr("s2s::rt::declare"),
                                entry->getArguments(), body.getArrayAttr(args),
                                ArrayAttr());
  }
  emitc::ReturnOp::create(body, loc, Value());
  return success();
}
