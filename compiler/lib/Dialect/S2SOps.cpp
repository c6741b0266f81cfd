//===- S2SOps.cpp - Verifiers, shape functions and parameters of s2s ops -===//
//
// Every shape rule lives here once: `inferShapes` sets result types (used by
// the s2s-infer-shapes pass and by MLIRGen's callers through it), the
// verifiers check attributes and, where types are known, shapes, and
// `getParameters` gives the learnable tensors each layer owns.
//
//===----------------------------------------------------------------------===//

#include "s2s/Dialect/S2SOps.h"

#include "s2s/runtime/GraphGeometry.h"
#include "s2s/runtime/PatchGeometry.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <mutex>
#include <tuple>

using namespace mlir;
using namespace s2s;

#include "s2s/Dialect/S2SInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "s2s/Dialect/S2SOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// `[8, 3, 32, 64]`, with `?` for a dynamic size.
std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += ShapedType::isDynamic(shape[i]) ? "?" : std::to_string(shape[i]);
  }
  return s + "]";
}

RankedTensorType ranked(Value v) {
  return dyn_cast<RankedTensorType>(v.getType());
}

void setResult(Operation *op, ArrayRef<int64_t> shape, Type element) {
  op->getResult(0).setType(RankedTensorType::get(shape, element));
}

/// Same shape and element type as the input.
LogicalResult sameAsInput(Operation *op) {
  if (auto t = ranked(op->getOperand(0)))
    op->getResult(0).setType(t);
  return success();
}

/// Non-negative dimension index, or failure with a message.
FailureOr<int64_t> normaliseDim(Operation *op, int64_t dim, int64_t rank) {
  int64_t d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank)
    return op->emitOpError()
           << "dimension " << dim << " is out of range for rank " << rank;
  return d;
}

Type complexOf(Type t) {
  if (isa<ComplexType>(t))
    return t;
  return ComplexType::get(t);
}

Type realOf(Type t) {
  if (auto c = dyn_cast<ComplexType>(t))
    return c.getElementType();
  return t;
}

LogicalResult checkPositive(Operation *op, StringRef what, int64_t v) {
  if (v < 1)
    return op->emitOpError()
           << "'" << what << "' must be at least 1, got " << v;
  return success();
}

LogicalResult checkPair(Operation *op, StringRef what, ArrayRef<int64_t> v,
                        int64_t min) {
  if (v.size() != 2)
    return op->emitOpError()
           << "'" << what << "' needs 2 values, got " << v.size();
  for (int64_t x : v)
    if (x < min)
      return op->emitOpError() << "'" << what << "' values must be at least "
                               << min << ", got " << shapeStr(v);
  return success();
}

LogicalResult checkOneOf(Operation *op, StringRef what, StringRef value,
                         ArrayRef<StringRef> allowed) {
  if (llvm::is_contained(allowed, value))
    return success();
  std::string list;
  for (StringRef a : allowed)
    list += (list.empty() ? "" : ", ") + a.str();
  return op->emitOpError() << "'" << what << "' must be one of " << list
                           << ", got '" << value << "'";
}

LogicalResult checkProbability(Operation *op, StringRef what, double p) {
  if (p < 0 || p >= 1)
    return op->emitOpError() << "'" << what << "' must be in [0, 1), got " << p;
  return success();
}

/// The rank a layer needs, with a message naming the shape it got.
LogicalResult needRank(Operation *op, RankedTensorType t, int64_t rank,
                       StringRef layout) {
  if (t.getRank() == rank)
    return success();
  return op->emitError() << op->getName().stripDialect() << " expects "
                         << layout << ", got " << shapeStr(t.getShape());
}

ParameterInit ones() { return {InitKind::ones, 0.0, 0.0}; }
ParameterInit zeros() { return {InitKind::zeros, 0.0, 0.0}; }
ParameterInit fanIn(int64_t fan) { return ParameterInit::fanIn(fan); }

} // namespace

//===----------------------------------------------------------------------===//
// Constants and elementwise
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::verify() {
  auto t = dyn_cast<RankedTensorType>(getType());
  if (!t || t.getRank() != 0)
    return emitOpError() << "result must be a rank-0 tensor, got " << getType();
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValueAttr(); }

/// Numpy broadcasting of two shapes; failure if they do not broadcast.
static FailureOr<SmallVector<int64_t>> broadcast(ArrayRef<int64_t> a,
                                                 ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (ShapedType::isDynamic(x) || ShapedType::isDynamic(y))
      out[i] = x == 1 ? y : (y == 1 ? x : ShapedType::kDynamic);
    else if (x == y || y == 1)
      out[i] = x;
    else if (x == 1)
      out[i] = y;
    else
      return failure();
  }
  return out;
}

static LogicalResult inferBroadcast(Operation *op) {
  auto l = ranked(op->getOperand(0)), r = ranked(op->getOperand(1));
  if (!l || !r)
    return success();
  auto shape = broadcast(l.getShape(), r.getShape());
  if (failed(shape))
    return op->emitError() << "shapes " << shapeStr(l.getShape()) << " and "
                           << shapeStr(r.getShape())
                           << " do not broadcast for '"
                           << op->getName().stripDialect() << "'";
  setResult(op, *shape, l.getElementType());
  return success();
}

LogicalResult AddOp::inferShapes() { return inferBroadcast(*this); }
LogicalResult SubOp::inferShapes() { return inferBroadcast(*this); }
LogicalResult MulOp::inferShapes() { return inferBroadcast(*this); }
LogicalResult DivOp::inferShapes() { return inferBroadcast(*this); }
LogicalResult NegOp::inferShapes() { return sameAsInput(*this); }

LogicalResult ActivationOp::inferShapes() { return sameAsInput(*this); }

LogicalResult SoftmaxOp::verify() {
  if (auto t = ranked(getInput()))
    if (failed(normaliseDim(*this, getDim(), t.getRank())))
      return failure();
  return success();
}
LogicalResult SoftmaxOp::inferShapes() { return sameAsInput(*this); }

LogicalResult DropoutOp::verify() {
  return checkProbability(*this, "p", getP().convertToDouble());
}
LogicalResult DropoutOp::inferShapes() { return sameAsInput(*this); }
LogicalResult TpCopyOp::inferShapes() { return sameAsInput(*this); }
LogicalResult TpAllReduceOp::inferShapes() { return sameAsInput(*this); }
LogicalResult DropPathOp::verify() {
  return checkProbability(*this, "p", getP().convertToDouble());
}
LogicalResult DropPathOp::inferShapes() { return sameAsInput(*this); }

//===----------------------------------------------------------------------===//
// Layers with parameters
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  return checkPositive(*this, "out", getOut());
}
LogicalResult LinearOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (t.getRank() < 1)
    return emitError() << "linear needs at least one dimension, got a scalar";
  SmallVector<int64_t> shape(t.getShape());
  shape.back() = getOut();
  setResult(*this, shape, t.getElementType());
  return success();
}
LogicalResult LinearOp::getParameters(SmallVectorImpl<ParameterInfo> &params) {
  auto t = ranked(getInput());
  if (!t || t.getRank() < 1 || t.isDynamicDim(t.getRank() - 1))
    return failure();
  int64_t in = t.getShape().back();
  if (getWeightInit() == LinearInit::trunc_normal) {
    // As timm's ViT and FourCastNet's _init_weights: trunc_normal(std
    // 0.02) weights, zero biases.
    params.push_back({"weight",
                      {in, int64_t(getOut())},
                      {InitKind::trunc_normal, 0.02, 0.0}});
    if (getBias())
      params.push_back({"bias", {int64_t(getOut())}, {InitKind::zeros}});
    return success();
  }
  params.push_back({"weight", {in, int64_t(getOut())}, fanIn(in)});
  if (getBias())
    params.push_back({"bias", {int64_t(getOut())}, fanIn(in)});
  return success();
}

LogicalResult Conv2dOp::verify() {
  if (failed(checkPositive(*this, "out", getOut())) ||
      failed(checkPair(*this, "kernel", getKernel(), 1)) ||
      failed(checkPair(*this, "stride", getStride(), 1)) ||
      failed(checkPair(*this, "padding", getPadding(), 0)))
    return failure();
  return success();
}
LogicalResult Conv2dOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (failed(needRank(*this, t, 4, "[batch, channel, lat, lon]")))
    return failure();
  SmallVector<int64_t> shape = {t.getDimSize(0), int64_t(getOut()), 0, 0};
  for (int i = 0; i < 2; ++i) {
    int64_t in = t.getDimSize(2 + i);
    if (ShapedType::isDynamic(in)) {
      shape[2 + i] = ShapedType::kDynamic;
      continue;
    }
    int64_t span = in + 2 * getPadding()[i] - getKernel()[i];
    if (span < 0)
      return emitError() << "conv2d kernel " << shapeStr(getKernel())
                         << " is larger than the padded input "
                         << shapeStr(t.getShape());
    shape[2 + i] = span / getStride()[i] + 1;
  }
  setResult(*this, shape, t.getElementType());
  return success();
}
LogicalResult Conv2dOp::getParameters(SmallVectorImpl<ParameterInfo> &params) {
  auto t = ranked(getInput());
  if (!t || t.getRank() != 4 || t.isDynamicDim(1))
    return failure();
  int64_t in = t.getDimSize(1), k0 = getKernel()[0], k1 = getKernel()[1];
  params.push_back(
      {"weight", {int64_t(getOut()), in, k0, k1}, fanIn(in * k0 * k1)});
  if (getBias())
    params.push_back({"bias", {int64_t(getOut())}, fanIn(in * k0 * k1)});
  return success();
}

LogicalResult LayerNormOp::verify() {
  if (getEps().convertToDouble() <= 0)
    return emitOpError() << "'eps' must be positive";
  return success();
}
LogicalResult LayerNormOp::inferShapes() { return sameAsInput(*this); }
LogicalResult
LayerNormOp::getParameters(SmallVectorImpl<ParameterInfo> &params) {
  auto t = ranked(getInput());
  if (!t || t.getRank() < 1 || t.isDynamicDim(t.getRank() - 1))
    return failure();
  params.push_back({"weight", {t.getShape().back()}, ones()});
  params.push_back({"bias", {t.getShape().back()}, zeros()});
  return success();
}

LogicalResult GroupNormOp::verify() {
  return checkPositive(*this, "groups", getGroups());
}
LogicalResult GroupNormOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (t.getRank() < 2)
    return emitError() << "group_norm needs [batch, channel, ...], got "
                       << shapeStr(t.getShape());
  int64_t c = t.getDimSize(1);
  if (!ShapedType::isDynamic(c) && c % getGroups() != 0)
    return emitError() << "group_norm: " << c << " channels do not divide into "
                       << getGroups() << " groups (input "
                       << shapeStr(t.getShape()) << ")";
  return sameAsInput(*this);
}
LogicalResult
GroupNormOp::getParameters(SmallVectorImpl<ParameterInfo> &params) {
  auto t = ranked(getInput());
  if (!t || t.getRank() < 2 || t.isDynamicDim(1))
    return failure();
  params.push_back({"weight", {t.getDimSize(1)}, ones()});
  params.push_back({"bias", {t.getDimSize(1)}, zeros()});
  return success();
}

LogicalResult InstanceNormOp::inferShapes() { return sameAsInput(*this); }

LogicalResult AttentionOp::verify() {
  if (failed(checkPositive(*this, "heads", getHeads())))
    return failure();
  return checkProbability(*this, "dropout", getDropout().convertToDouble());
}
LogicalResult AttentionOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (failed(needRank(*this, t, 3, "[batch, tokens, embed]")))
    return failure();
  int64_t e = t.getDimSize(2);
  if (!ShapedType::isDynamic(e) && e % getHeads() != 0)
    return emitError() << "attention: embedding " << e
                       << " does not divide into " << getHeads()
                       << " heads (input " << shapeStr(t.getShape()) << ")";
  return sameAsInput(*this);
}
LogicalResult
AttentionOp::getParameters(SmallVectorImpl<ParameterInfo> &params) {
  auto t = ranked(getInput());
  if (!t || t.getRank() != 3 || t.isDynamicDim(2))
    return failure();
  int64_t e = t.getDimSize(2);
  params.push_back({"qkv.weight", {e, 3 * e}, fanIn(e)});
  if (getQkvBias())
    params.push_back({"qkv.bias", {3 * e}, fanIn(e)});
  params.push_back({"proj.weight", {e, e}, fanIn(e)});
  params.push_back({"proj.bias", {e}, fanIn(e)});
  return success();
}

LogicalResult CrossAttentionOp::verify() {
  return checkPositive(*this, "heads", getHeads());
}
LogicalResult CrossAttentionOp::inferShapes() {
  auto t = ranked(getInput()), c = ranked(getContext());
  if (!t || !c)
    return success();
  if (failed(needRank(*this, t, 3, "[batch, tokens, embed]")) ||
      failed(needRank(*this, c, 3, "a context [batch, tokens, embed]")))
    return failure();
  if (!t.isDynamicDim(0) && !c.isDynamicDim(0) &&
      t.getDimSize(0) != c.getDimSize(0))
    return emitError() << "cross_attention: batch of " << shapeStr(t.getShape())
                       << " and context " << shapeStr(c.getShape())
                       << " differ";
  int64_t e = t.getDimSize(2);
  if (!ShapedType::isDynamic(e) && e % getHeads() != 0)
    return emitError() << "cross_attention: embedding " << e
                       << " does not divide into " << getHeads() << " heads";
  return sameAsInput(*this);
}
LogicalResult
CrossAttentionOp::getParameters(SmallVectorImpl<ParameterInfo> &params) {
  auto t = ranked(getInput()), c = ranked(getContext());
  if (!t || !c || t.getRank() != 3 || c.getRank() != 3 || t.isDynamicDim(2) ||
      c.isDynamicDim(2))
    return failure();
  int64_t e = t.getDimSize(2), ce = c.getDimSize(2);
  params.push_back({"q.weight", {e, e}, fanIn(e)});
  params.push_back({"q.bias", {e}, fanIn(e)});
  params.push_back({"kv.weight", {ce, 2 * e}, fanIn(ce)});
  params.push_back({"kv.bias", {2 * e}, fanIn(ce)});
  params.push_back({"proj.weight", {e, e}, fanIn(e)});
  params.push_back({"proj.bias", {e}, fanIn(e)});
  return success();
}

LogicalResult PatchEmbedOp::verify() {
  if (failed(checkPair(*this, "patch", getPatch(), 1)))
    return failure();
  return checkPositive(*this, "embed", getEmbed());
}
LogicalResult PatchEmbedOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (failed(needRank(*this, t, 4, "[batch, channel, lat, lon]")))
    return failure();
  ArrayRef<int64_t> p = getPatch();
  int64_t h = t.getDimSize(2), w = t.getDimSize(3);
  if ((!ShapedType::isDynamic(h) && h % p[0] != 0) ||
      (!ShapedType::isDynamic(w) && w % p[1] != 0))
    return emitError() << "patch " << shapeStr(p) << " does not divide grid "
                       << shapeStr({h, w}) << " (input "
                       << shapeStr(t.getShape()) << ")";
  int64_t tokens = ShapedType::isDynamic(h) || ShapedType::isDynamic(w)
                       ? ShapedType::kDynamic
                       : (h / p[0]) * (w / p[1]);
  setResult(*this, {t.getDimSize(0), tokens, int64_t(getEmbed())},
            t.getElementType());
  return success();
}
LogicalResult
PatchEmbedOp::getParameters(SmallVectorImpl<ParameterInfo> &params) {
  auto t = ranked(getInput());
  if (!t || t.getRank() != 4 || t.isDynamicDim(1))
    return failure();
  int64_t c = t.getDimSize(1), p0 = getPatch()[0], p1 = getPatch()[1];
  params.push_back(
      {"weight", {int64_t(getEmbed()), c, p0, p1}, fanIn(c * p0 * p1)});
  params.push_back({"bias", {int64_t(getEmbed())}, fanIn(c * p0 * p1)});
  return success();
}

LogicalResult UnpatchOp::verify() {
  if (failed(checkPair(*this, "patch", getPatch(), 1)) ||
      failed(checkPair(*this, "grid", getGrid(), 1)) ||
      failed(checkPositive(*this, "channels", getChannels())))
    return failure();
  if (getGrid()[0] % getPatch()[0] || getGrid()[1] % getPatch()[1])
    return emitOpError() << "patch " << shapeStr(getPatch())
                         << " does not divide grid " << shapeStr(getGrid());
  return success();
}
LogicalResult UnpatchOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (failed(needRank(*this, t, 3, "[batch, tokens, channels*p0*p1]")))
    return failure();
  ArrayRef<int64_t> p = getPatch(), g = getGrid();
  int64_t tokens = (g[0] / p[0]) * (g[1] / p[1]);
  int64_t width = getChannels() * p[0] * p[1];
  if (!ShapedType::isDynamic(t.getDimSize(1)) && t.getDimSize(1) != tokens)
    return emitError() << "unpatch of grid " << shapeStr(g) << " by patch "
                       << shapeStr(p) << " needs " << tokens << " tokens, got "
                       << shapeStr(t.getShape());
  if (!ShapedType::isDynamic(t.getDimSize(2)) && t.getDimSize(2) != width)
    return emitError() << "unpatch to " << getChannels()
                       << " channels by patch " << shapeStr(p) << " needs "
                       << width << " features per token, got "
                       << shapeStr(t.getShape());
  setResult(*this, {t.getDimSize(0), int64_t(getChannels()), g[0], g[1]},
            t.getElementType());
  return success();
}

LogicalResult Afno2dOp::verify() {
  if (failed(checkPositive(*this, "blocks", getBlocks())))
    return failure();
  double m = getModes().convertToDouble();
  if (m <= 0 || m > 1)
    return emitOpError() << "'modes' must be in (0, 1], got " << m;
  if (getSparsity().convertToDouble() < 0)
    return emitOpError() << "'sparsity' must not be negative";
  return success();
}
LogicalResult Afno2dOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (failed(needRank(*this, t, 4, "[batch, h, w, embed]")))
    return failure();
  int64_t e = t.getDimSize(3);
  if (!ShapedType::isDynamic(e) && e % getBlocks() != 0)
    return emitError() << "afno2d: embedding " << e << " does not divide into "
                       << getBlocks() << " blocks (input "
                       << shapeStr(t.getShape()) << ")";
  return sameAsInput(*this);
}
LogicalResult Afno2dOp::getParameters(SmallVectorImpl<ParameterInfo> &params) {
  auto t = ranked(getInput());
  if (!t || t.getRank() != 4 || t.isDynamicDim(3))
    return failure();
  int64_t nb = getBlocks(), bs = t.getDimSize(3) / nb;
  ParameterInit normal{InitKind::normal, 0.02, 0.0};
  params.push_back({"w1", {2, nb, bs, bs}, normal});
  params.push_back({"b1", {2, nb, bs}, normal});
  params.push_back({"w2", {2, nb, bs, bs}, normal});
  params.push_back({"b2", {2, nb, bs}, normal});
  return success();
}

LogicalResult GraphMessageOp::verify() {
  if (failed(checkPositive(*this, "hidden", getHidden())))
    return failure();
  return checkPositive(*this, "out", getOut());
}
LogicalResult GraphMessageOp::inferShapes() {
  auto n = ranked(getNodes()), ef = ranked(getEdgeFeatures()),
       e = ranked(getEdges());
  if (!n || !ef || !e)
    return success();
  if (failed(needRank(*this, n, 3, "nodes [batch, nodes, dim]")) ||
      failed(needRank(*this, ef, 3, "edge features [batch, edges, dim]")) ||
      failed(needRank(*this, e, 2, "edges [2, edges]")))
    return failure();
  if ((!e.isDynamicDim(0) && e.getDimSize(0) != 2) ||
      (!ef.isDynamicDim(1) && !e.isDynamicDim(1) &&
       ef.getDimSize(1) != e.getDimSize(1)))
    return emitError() << "graph_message: edges " << shapeStr(e.getShape())
                       << " and edge features " << shapeStr(ef.getShape())
                       << " disagree (edges are [2, E], features [batch, E, "
                          "dim])";
  setResult(*this, {n.getDimSize(0), n.getDimSize(1), int64_t(getOut())},
            n.getElementType());
  return success();
}
LogicalResult
GraphMessageOp::getParameters(SmallVectorImpl<ParameterInfo> &params) {
  auto n = ranked(getNodes()), ef = ranked(getEdgeFeatures());
  if (!n || !ef || n.getRank() != 3 || ef.getRank() != 3 || n.isDynamicDim(2) ||
      ef.isDynamicDim(2))
    return failure();
  int64_t d = n.getDimSize(2), de = ef.getDimSize(2), h = getHidden(),
          o = getOut();
  params.push_back({"msg.fc1.weight", {2 * d + de, h}, fanIn(2 * d + de)});
  params.push_back({"msg.fc1.bias", {h}, fanIn(2 * d + de)});
  params.push_back({"msg.fc2.weight", {h, o}, fanIn(h)});
  params.push_back({"msg.fc2.bias", {o}, fanIn(h)});
  params.push_back({"node.fc1.weight", {d + o, h}, fanIn(d + o)});
  params.push_back({"node.fc1.bias", {h}, fanIn(d + o)});
  params.push_back({"node.fc2.weight", {h, o}, fanIn(h)});
  params.push_back({"node.fc2.bias", {o}, fanIn(h)});
  return success();
}

LogicalResult ParamOp::verify() {
  size_t most = 0;
  switch (getInit()) {
  case InitKind::normal:
  case InitKind::uniform:
    most = 2;
    break;
  case InitKind::trunc_normal:
  case InitKind::constant:
    most = 1;
    break;
  case InitKind::zeros:
  case InitKind::ones:
    break;
  case InitKind::fan_in:
    return emitOpError() << "'fan_in' is a layer's initialiser; a param "
                            "takes normal, trunc_normal, uniform, zeros, "
                            "ones or constant";
  }
  if (getInitArgs().size() > most)
    return emitOpError() << "initialiser '" << stringifyInitKind(getInit())
                         << "' takes at most " << most << " numbers, got "
                         << getInitArgs().size();
  return success();
}
LogicalResult ParamOp::getParameters(SmallVectorImpl<ParameterInfo> &params) {
  auto t = cast<RankedTensorType>(getType());
  ArrayRef<double> args = getInitArgs();
  auto arg = [&](size_t i, double dflt) {
    return i < args.size() ? args[i] : dflt;
  };
  // The prelude's defaults: normal(std 0.02, mean 0), trunc_normal(std
  // 0.02), uniform(-0.1, 0.1), constant(0).
  ParameterInit init{getInit(), 0.0, 0.0};
  switch (getInit()) {
  case InitKind::normal:
  case InitKind::trunc_normal:
    init.a = arg(0, 0.02);
    init.b = arg(1, 0.0);
    break;
  case InitKind::uniform:
    init.a = arg(0, -0.1);
    init.b = arg(1, 0.1);
    break;
  case InitKind::constant:
    init.a = arg(0, 0.0);
    break;
  default:
    break;
  }
  params.push_back({"", SmallVector<int64_t>(t.getShape()), init});
  return success();
}

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  int unknown = 0;
  for (int64_t d : getShape()) {
    if (d == -1)
      ++unknown;
    else if (d < 1)
      return emitOpError() << "sizes must be positive or -1, got "
                           << shapeStr(getShape());
  }
  if (unknown > 1)
    return emitOpError() << "at most one size may be -1, got "
                         << shapeStr(getShape());
  return success();
}
LogicalResult ReshapeOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  SmallVector<int64_t> shape(getShape());
  if (!t.hasStaticShape()) {
    // The rank is known even when a size is not: the sizes as written, -1
    // (to be inferred at run time) dynamic.
    for (int64_t &d : shape)
      if (d == -1)
        d = ShapedType::kDynamic;
    setResult(*this, shape, t.getElementType());
    return success();
  }
  int64_t known = 1, total = t.getNumElements();
  int unknownAt = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1)
      unknownAt = i;
    else
      known *= shape[i];
  }
  if (unknownAt >= 0 && known != 0 && total % known == 0)
    shape[unknownAt] = total / known;
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  if (count != total || (unknownAt >= 0 && known != 0 && total % known != 0))
    return emitError() << "cannot reshape " << shapeStr(t.getShape()) << " ("
                       << total << " elements) to " << shapeStr(getShape());
  setResult(*this, shape, t.getElementType());
  return success();
}

LogicalResult PermuteOp::verify() {
  SmallVector<bool> seen(getDims().size(), false);
  for (int64_t d : getDims()) {
    if (d < 0 || d >= static_cast<int64_t>(seen.size()) || seen[d])
      return emitOpError() << "'dims' must be a permutation of 0.."
                           << seen.size() - 1 << ", got "
                           << shapeStr(getDims());
    seen[d] = true;
  }
  if (auto t = ranked(getInput()))
    if (t.getRank() != static_cast<int64_t>(getDims().size()))
      return emitOpError() << "permutes " << getDims().size()
                           << " dimensions of a rank-" << t.getRank()
                           << " tensor";
  return success();
}
LogicalResult PermuteOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (t.getRank() != static_cast<int64_t>(getDims().size()))
    return emitError() << "permute " << shapeStr(getDims()) << " does not fit "
                       << shapeStr(t.getShape());
  SmallVector<int64_t> shape;
  for (int64_t d : getDims())
    shape.push_back(t.getDimSize(d));
  setResult(*this, shape, t.getElementType());
  return success();
}

LogicalResult FlattenOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  auto s = normaliseDim(*this, getStart(), t.getRank());
  auto e = normaliseDim(*this, getEnd(), t.getRank());
  if (failed(s) || failed(e))
    return failure();
  if (*s > *e)
    return emitError() << "flatten: start " << int64_t(getStart())
                       << " is after end " << int64_t(getEnd()) << " for "
                       << shapeStr(t.getShape());
  SmallVector<int64_t> shape;
  int64_t merged = 1;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (i < *s || i > *e) {
      shape.push_back(t.getDimSize(i));
      continue;
    }
    merged =
        ShapedType::isDynamic(t.getDimSize(i)) || ShapedType::isDynamic(merged)
            ? ShapedType::kDynamic
            : merged * t.getDimSize(i);
    if (i == *e)
      shape.push_back(merged);
  }
  setResult(*this, shape, t.getElementType());
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "needs at least one input";
  return success();
}
LogicalResult ConcatOp::inferShapes() {
  SmallVector<RankedTensorType> ts;
  for (Value v : getInputs()) {
    auto t = ranked(v);
    if (!t)
      return success();
    ts.push_back(t);
  }
  int64_t rank = ts[0].getRank();
  auto d = normaliseDim(*this, getDim(), rank);
  if (failed(d))
    return failure();
  SmallVector<int64_t> shape(ts[0].getShape());
  for (size_t k = 1; k < ts.size(); ++k) {
    bool fits = ts[k].getRank() == rank;
    for (int64_t i = 0; fits && i < rank; ++i)
      if (i != *d && ts[k].getDimSize(i) != shape[i])
        fits = false;
    if (!fits)
      return emitError() << "concat along dimension " << int64_t(getDim())
                         << ": " << shapeStr(ts[0].getShape()) << " and "
                         << shapeStr(ts[k].getShape()) << " do not fit";
    shape[*d] = ShapedType::isDynamic(shape[*d]) || ts[k].isDynamicDim(*d)
                    ? ShapedType::kDynamic
                    : shape[*d] + ts[k].getDimSize(*d);
  }
  setResult(*this, shape, ts[0].getElementType());
  return success();
}

LogicalResult SliceOp::verify() {
  // I64Attr getters are unsigned: compare the values as the signed
  // numbers written.
  int64_t start = getStart(), end = getEnd();
  if (start < 0 || end <= start)
    return emitOpError() << "needs 0 <= start < end, got " << start << ".."
                         << end;
  return success();
}
LogicalResult SliceOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  auto d = normaliseDim(*this, getDim(), t.getRank());
  if (failed(d))
    return failure();
  if (!t.isDynamicDim(*d) && getEnd() > t.getDimSize(*d))
    return emitError() << "slice " << getStart() << ".." << getEnd()
                       << " of dimension " << int64_t(getDim())
                       << " is out of range for " << shapeStr(t.getShape());
  SmallVector<int64_t> shape(t.getShape());
  shape[*d] = getEnd() - getStart();
  setResult(*this, shape, t.getElementType());
  return success();
}

LogicalResult MeanOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  auto d = normaliseDim(*this, getDim(), t.getRank());
  if (failed(d))
    return failure();
  SmallVector<int64_t> shape(t.getShape());
  if (getKeep())
    shape[*d] = 1;
  else
    shape.erase(shape.begin() + *d);
  setResult(*this, shape, t.getElementType());
  return success();
}

LogicalResult PadOp::verify() {
  if (getPad().size() % 2)
    return emitOpError() << "'pad' lists (before, after) pairs, got "
                         << getPad().size() << " values";
  for (int64_t p : getPad())
    if (p < 0)
      return emitOpError() << "padding must not be negative";
  return success();
}
LogicalResult PadOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  int64_t pairs = getPad().size() / 2;
  if (pairs > t.getRank())
    return emitError() << "pad of " << pairs << " dimensions on "
                       << shapeStr(t.getShape());
  SmallVector<int64_t> shape(t.getShape());
  for (int64_t i = 0; i < pairs; ++i) {
    int64_t dim = t.getRank() - 1 - i;
    if (!ShapedType::isDynamic(shape[dim]))
      shape[dim] += getPad()[2 * i] + getPad()[2 * i + 1];
  }
  setResult(*this, shape, t.getElementType());
  return success();
}

LogicalResult PadSphereOp::verify() {
  return checkPair(*this, "pad", getPad(), 0);
}
LogicalResult PadSphereOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (failed(needRank(*this, t, 4, "[batch, channel, lat, lon]")))
    return failure();
  SmallVector<int64_t> shape(t.getShape());
  for (int i = 0; i < 2; ++i)
    if (!ShapedType::isDynamic(shape[2 + i]))
      shape[2 + i] += 2 * getPad()[i];
  setResult(*this, shape, t.getElementType());
  return success();
}

//===----------------------------------------------------------------------===//
// FFTs
//===----------------------------------------------------------------------===//

static LogicalResult needTwoDims(Operation *op, RankedTensorType t) {
  if (t.getRank() >= 2)
    return success();
  return op->emitError() << op->getName().stripDialect()
                         << " transforms the last two dimensions, got "
                         << shapeStr(t.getShape());
}

LogicalResult Rfft2Op::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (failed(needTwoDims(*this, t)))
    return failure();
  SmallVector<int64_t> shape(t.getShape());
  if (!ShapedType::isDynamic(shape.back()))
    shape.back() = shape.back() / 2 + 1;
  setResult(*this, shape, complexOf(t.getElementType()));
  return success();
}

LogicalResult Irfft2Op::verify() {
  return checkPair(*this, "size", getSize(), 1);
}
LogicalResult Irfft2Op::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (failed(needTwoDims(*this, t)))
    return failure();
  SmallVector<int64_t> shape(t.getShape());
  int64_t r = t.getRank();
  if (!ShapedType::isDynamic(shape[r - 1]) &&
      shape[r - 1] != getSize()[1] / 2 + 1)
    return emitError() << "irfft2 to size " << shapeStr(getSize())
                       << " needs a last dimension of " << getSize()[1] / 2 + 1
                       << ", got " << shapeStr(t.getShape());
  shape[r - 2] = getSize()[0];
  shape[r - 1] = getSize()[1];
  setResult(*this, shape, realOf(t.getElementType()));
  return success();
}

/// Complex FFTs keep the shape and make the elements complex.
static LogicalResult complexSameShape(Operation *op) {
  auto t = ranked(op->getOperand(0));
  if (!t)
    return success();
  if (failed(needTwoDims(op, t)))
    return failure();
  setResult(op, t.getShape(), complexOf(t.getElementType()));
  return success();
}
LogicalResult Fft2Op::inferShapes() { return complexSameShape(*this); }
LogicalResult Ifft2Op::inferShapes() { return complexSameShape(*this); }

//===----------------------------------------------------------------------===//
// Runtime inputs and physics
//===----------------------------------------------------------------------===//

static LogicalResult checkRefinement(Operation *op, int64_t refinement) {
  if (refinement < 0 || refinement > rt::geometry::kMaxRefinement)
    return op->emitOpError()
           << "'refinement' must be in 0..12, got " << refinement;
  return success();
}

/// The edge count of a graph (GraphGeometry.h) at refinement r on the
/// default H x W grid; dynamic when a grid graph's grid is not static.
/// Computed once per process for each (graph, r, H, W): a model's forward
/// is re-inferred for every batch clone.
static int64_t graphEdgeCount(StringRef graph, int64_t refinement,
                              RankedTensorType like) {
  bool grid = graph != "multimesh";
  if (grid && (!like || like.getRank() != 4 || like.isDynamicDim(2) ||
               like.isDynamicDim(3)))
    return ShapedType::kDynamic;
  int64_t H = grid ? like.getDimSize(2) : 0, W = grid ? like.getDimSize(3) : 0;
  static std::mutex mutex;
  static std::map<std::tuple<std::string, int64_t, int64_t, int64_t>, int64_t>
      counts;
  std::lock_guard<std::mutex> lock(mutex);
  auto key = std::make_tuple(graph.str(), refinement, H, W);
  auto it = counts.find(key);
  if (it == counts.end())
    it = counts
             .emplace(key, rt::geometry::defaultGridEdgeCount(graph.str(),
                                                              refinement, H, W))
             .first;
  return it->second;
}

static LogicalResult needGrid(Operation *op, Value like) {
  auto t = ranked(like);
  if (!t)
    return success();
  return needRank(op, t, 4, "a field [batch, channel, lat, lon] for its grid");
}

/// A graph's name and refinement (graph_edges, graph_edge_features).
static LogicalResult checkGraph(Operation *op, StringRef graph,
                                int64_t refinement) {
  if (failed(checkRefinement(op, refinement)))
    return failure();
  return checkOneOf(op, "graph", graph,
                    {"multimesh", "grid2mesh", "mesh2grid"});
}

LogicalResult GraphEdgesOp::verify() {
  return checkGraph(*this, getGraph(), getRefinement());
}
LogicalResult GraphEdgesOp::inferShapes() {
  if (failed(needGrid(*this, getLike())))
    return failure();
  setResult(*this,
            {2, graphEdgeCount(getGraph(), getRefinement(), ranked(getLike()))},
            IntegerType::get(getContext(), 64));
  return success();
}

LogicalResult GraphEdgeFeaturesOp::verify() {
  return checkGraph(*this, getGraph(), getRefinement());
}
LogicalResult GraphEdgeFeaturesOp::inferShapes() {
  auto t = ranked(getLike());
  if (!t)
    return success();
  if (failed(needGrid(*this, getLike())))
    return failure();
  setResult(*this, {1, graphEdgeCount(getGraph(), getRefinement(), t), 4},
            t.getElementType());
  return success();
}

LogicalResult GraphNodeFeaturesOp::verify() {
  if (failed(checkRefinement(*this, getRefinement())))
    return failure();
  return checkOneOf(*this, "nodes", getNodes(), {"mesh", "grid"});
}
LogicalResult GraphNodeFeaturesOp::inferShapes() {
  auto t = ranked(getLike());
  if (!t)
    return success();
  if (failed(needGrid(*this, getLike())))
    return failure();
  int64_t n = rt::geometry::meshNodeCount(getRefinement());
  if (getNodes() == "grid")
    n = t.isDynamicDim(2) || t.isDynamicDim(3)
            ? ShapedType::kDynamic
            : t.getDimSize(2) * t.getDimSize(3);
  setResult(*this, {1, n, 3}, t.getElementType());
  return success();
}

LogicalResult GraphGatherOp::verify() {
  return checkOneOf(*this, "end", getEnd(), {"sender", "receiver"});
}
LogicalResult GraphGatherOp::inferShapes() {
  auto n = ranked(getNodes()), e = ranked(getEdges());
  if (!n || !e)
    return success();
  if (failed(needRank(*this, n, 3, "nodes [batch, nodes, dim]")) ||
      failed(needRank(*this, e, 2, "edges [2, edges]")))
    return failure();
  setResult(*this, {n.getDimSize(0), e.getDimSize(1), n.getDimSize(2)},
            n.getElementType());
  return success();
}

LogicalResult GraphScatterSumOp::inferShapes() {
  auto m = ranked(getMessages()), e = ranked(getEdges()), l = ranked(getLike());
  if (!m || !e || !l)
    return success();
  if (failed(needRank(*this, m, 3, "messages [batch, edges, dim]")) ||
      failed(needRank(*this, e, 2, "edges [2, edges]")) ||
      failed(needRank(*this, l, 3, "nodes [batch, nodes, dim]")))
    return failure();
  if (!m.isDynamicDim(1) && !e.isDynamicDim(1) &&
      m.getDimSize(1) != e.getDimSize(1))
    return emitError() << "graph_scatter_sum: messages "
                       << shapeStr(m.getShape()) << " and edges "
                       << shapeStr(e.getShape())
                       << " disagree (edges are [2, E], messages [batch, E, "
                          "dim])";
  setResult(*this, {m.getDimSize(0), l.getDimSize(1), m.getDimSize(2)},
            m.getElementType());
  return success();
}

static LogicalResult fieldFeatures(Operation *op, int64_t count) {
  auto t = ranked(op->getOperand(0));
  if (!t)
    return success();
  if (failed(needRank(op, t, 4, "[batch, channel, lat, lon]")))
    return failure();
  setResult(op, {t.getDimSize(0), count, t.getDimSize(2), t.getDimSize(3)},
            t.getElementType());
  return success();
}
LogicalResult GridCoordsOp::inferShapes() { return fieldFeatures(*this, 4); }
LogicalResult TimeFeaturesOp::inferShapes() { return fieldFeatures(*this, 4); }

LogicalResult LeadEmbedOp::verify() {
  int64_t dim = getDim();
  if (dim < 2 || dim % 2)
    return emitOpError() << "'dim' must be even and at least 2, got " << dim;
  return success();
}
LogicalResult LeadEmbedOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (t.getRank() == 0 || t.getRank() > 2 ||
      (t.getRank() == 2 && !t.isDynamicDim(1) && t.getDimSize(1) != 1))
    return emitError() << "lead_embed expects lead times [batch] or "
                          "[batch, 1], got "
                       << shapeStr(t.getShape());
  setResult(*this, {t.getDimSize(0), int64_t(getDim())}, t.getElementType());
  return success();
}

LogicalResult ConvectiveAdjustOp::verify() {
  int64_t tau = getTau();
  if (tau <= 0)
    return emitOpError() << "'tau' must be positive, got " << tau;
  if (getStep() <= 0)
    return emitOpError() << "'step' must be positive, got " << getStep();
  ArrayRef<int64_t> t = getTemperature(), q = getHumidity(), p = getLevels();
  if (t.size() < 2 || q.size() != t.size() || p.size() != t.size())
    return emitOpError() << "needs one temperature and one humidity channel "
                            "at each of at least 2 levels, got "
                         << t.size() << " temperature, " << q.size()
                         << " humidity channels and " << p.size() << " levels";
  llvm::SmallSet<int64_t, 16> channels, levels;
  for (size_t k = 0; k < t.size(); ++k) {
    if (p[k] < 1)
      return emitOpError() << "level " << p[k] << " hPa is not positive";
    if (!levels.insert(p[k]).second)
      return emitOpError() << "level " << p[k] << " hPa appears twice";
    for (int64_t c : {t[k], q[k]})
      if (c < 0 || !channels.insert(c).second)
        return emitOpError() << "channel " << c << " is negative or used twice";
  }
  return success();
}
LogicalResult ConvectiveAdjustOp::inferShapes() {
  auto x = ranked(getInput()), b = ranked(getBefore());
  if (!x)
    return success();
  if (failed(needRank(*this, x, 4, "[batch, channels, lat, lon]")))
    return failure();
  for (int64_t c : llvm::concat<const int64_t>(getTemperature(), getHumidity()))
    if (!x.isDynamicDim(1) && c >= x.getDimSize(1))
      return emitError() << "convective_adjust: channel " << c
                         << " is beyond the " << x.getDimSize(1)
                         << " channels of " << shapeStr(x.getShape());
  if (b && b.hasStaticShape() && x.hasStaticShape() &&
      b.getShape() != x.getShape())
    return emitError() << "convective_adjust: 'before' "
                       << shapeStr(b.getShape()) << " and the input "
                       << shapeStr(x.getShape()) << " differ";
  return sameAsInput(*this);
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

LogicalResult LossOp::verify() {
  double delta = getDelta().convertToDouble();
  if (!(delta > 0))
    return emitOpError() << "'delta' must be positive, got " << delta;
  auto p = ranked(getPrediction()), t = ranked(getTarget());
  if (p && t && failed(verifyCompatibleShape(p.getShape(), t.getShape())))
    return emitOpError() << "prediction " << shapeStr(p.getShape())
                         << " and target " << shapeStr(t.getShape())
                         << " differ";
  return success();
}
LogicalResult LossOp::inferShapes() {
  auto p = ranked(getPrediction()), t = ranked(getTarget());
  if (p && t && failed(verifyCompatibleShape(p.getShape(), t.getShape())))
    return emitError() << "loss: prediction " << shapeStr(p.getShape())
                       << " and target " << shapeStr(t.getShape()) << " differ";
  Type elem = p ? p.getElementType() : Float32Type::get(getContext());
  setResult(*this, {}, elem);
  return success();
}

//===----------------------------------------------------------------------===//
// The rollout's plugins
//===----------------------------------------------------------------------===//

LogicalResult StopGradientOp::inferShapes() { return sameAsInput(*this); }
LogicalResult JacobianInputOp::inferShapes() { return sameAsInput(*this); }

LogicalResult JacobianPenaltyOp::verify() {
  if (failed(checkPositive(*this, "samples", getSamples())))
    return failure();
  double w = getWeight().convertToDouble();
  if (!(w >= 0))
    return emitOpError() << "'weight' must be >= 0, got " << w;
  auto x = ranked(getInput()), y = ranked(getOutput());
  if (x && y && x.getRank() > 0 && y.getRank() > 0 &&
      failed(verifyCompatibleShape(x.getShape().take_front(1),
                                   y.getShape().take_front(1))))
    return emitOpError() << "input " << shapeStr(x.getShape()) << " and output "
                         << shapeStr(y.getShape()) << " have different batches";
  return success();
}
LogicalResult JacobianPenaltyOp::inferShapes() {
  auto x = ranked(getInput());
  Type elem = x ? x.getElementType() : Float32Type::get(getContext());
  setResult(*this, {}, elem);
  return success();
}

/// The patch layout of patches `size`/`stride`/`halo` on `grid`, or an
/// error at `op` when they do not cover it.
static FailureOr<rt::PatchLayout>
layoutOf(Operation *op, ArrayRef<int64_t> grid, ArrayRef<int64_t> size,
         ArrayRef<int64_t> stride, ArrayRef<int64_t> halo) {
  const int64_t g[2] = {grid[0], grid[1]}, sz[2] = {size[0], size[1]},
                st[2] = {stride[0], stride[1]}, h[2] = {halo[0], halo[1]};
  rt::PatchLayout l = rt::patchLayout(g, sz, st, h);
  if (!l.problem.empty())
    return op->emitError() << l.problem << " (grid " << shapeStr(grid) << ")";
  return l;
}

LogicalResult ExtractPatchesOp::verify() {
  if (failed(checkPair(*this, "size", getSize(), 1)) ||
      failed(checkPair(*this, "stride", getStride(), 1)))
    return failure();
  return success();
}
LogicalResult ExtractPatchesOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (failed(needRank(*this, t, 4, "[batch, channel, lat, lon]")))
    return failure();
  if (t.isDynamicDim(2) || t.isDynamicDim(3))
    return emitError() << "patches need the grid's size at compile time; "
                          "give the data section a grid = [lat, lon]";
  const int64_t zero[2] = {0, 0};
  FailureOr<rt::PatchLayout> l =
      layoutOf(*this, t.getShape().drop_front(2), getSize(), getStride(), zero);
  if (failed(l))
    return failure();
  int64_t b = t.getDimSize(0);
  setResult(*this,
            {ShapedType::isDynamic(b) ? b : b * l->count(), t.getDimSize(1),
             getSize()[0], getSize()[1]},
            t.getElementType());
  return success();
}

LogicalResult MergePatchesOp::verify() {
  if (failed(checkPair(*this, "grid", getGrid(), 1)) ||
      failed(checkPair(*this, "size", getSize(), 1)) ||
      failed(checkPair(*this, "stride", getStride(), 1)) ||
      failed(checkPair(*this, "halo", getHalo(), 0)))
    return failure();
  return success();
}
LogicalResult MergePatchesOp::inferShapes() {
  auto t = ranked(getInput());
  if (!t)
    return success();
  if (failed(needRank(*this, t, 4, "[batch * patches, channel, lat, lon]")))
    return failure();
  FailureOr<rt::PatchLayout> l =
      layoutOf(*this, getGrid(), getSize(), getStride(), getHalo());
  if (failed(l))
    return failure();
  ArrayRef<int64_t> size = getSize();
  if ((!t.isDynamicDim(2) && t.getDimSize(2) != size[0]) ||
      (!t.isDynamicDim(3) && t.getDimSize(3) != size[1]))
    return emitError() << "merge_patches of patches " << shapeStr(size)
                       << " got " << shapeStr(t.getShape());
  int64_t n = t.getDimSize(0), p = l->count();
  if (!ShapedType::isDynamic(n) && n % p != 0)
    return emitError() << "merge_patches: " << n
                       << " patches are not a multiple of the " << p
                       << " patches of a sample";
  setResult(*this,
            {ShapedType::isDynamic(n) ? n : n / p, t.getDimSize(1),
             getGrid()[0], getGrid()[1]},
            t.getElementType());
  return success();
}

//===----------------------------------------------------------------------===//
// Lead-time training
//===----------------------------------------------------------------------===//

/// An error about section entry `key`, at the entry's own spec line when
/// the op came from a spec (the op's location names each entry).
static InFlightDiagnostic entryError(Operation *op, StringRef key) {
  return emitError(sectionKeyLoc(op, key));
}

/// Lead times in data steps: at least one, each from 1 to the order's
/// bound, none twice.
static LogicalResult checkLeads(Operation *op, ArrayRef<int64_t> leads) {
  if (leads.empty())
    return entryError(op, "leads") << "'leads' needs at least one lead time";
  llvm::SmallSet<int64_t, 8> seen;
  for (int64_t l : leads) {
    // A window holds max(order, lead) + 1 frames: the order's bound holds.
    if (l < 1 || l > kMaxRolloutOrder)
      return entryError(op, "leads")
             << "lead times are in data steps, from 1 to " << kMaxRolloutOrder
             << ", got " << l;
    if (!seen.insert(l).second)
      return entryError(op, "leads") << "lead time " << l << " is listed twice";
  }
  return success();
}

LogicalResult SampleLeadsOp::verify() { return checkLeads(*this, getLeads()); }
LogicalResult SampleLeadsOp::inferShapes() {
  auto t = ranked(getWindow());
  if (!t)
    return success();
  if (t.getRank() < 2)
    return emitError() << "sample_leads expects a window [batch, frames, "
                          "...], got "
                       << shapeStr(t.getShape());
  int64_t maxLead = *llvm::max_element(getLeads());
  if (!t.isDynamicDim(1) && t.getDimSize(1) <= maxLead)
    return emitError() << "sample_leads: a window of " << t.getDimSize(1)
                       << " frames has no frame at lead " << maxLead;
  setResult(*this, {t.getDimSize(0)}, t.getElementType());
  return success();
}

LogicalResult SelectLeadOp::inferShapes() {
  auto w = ranked(getWindow()), l = ranked(getLeads());
  if (!w)
    return success();
  if (w.getRank() < 2)
    return emitError() << "select_lead expects a window [batch, frames, "
                          "...], got "
                       << shapeStr(w.getShape());
  if (l && (l.getRank() != 1 || failed(verifyCompatibleShape(
                                    l.getShape(), w.getShape().take_front(1)))))
    return emitError() << "select_lead expects one lead per sample, "
                       << shapeStr(w.getShape().take_front(1)) << ", got "
                       << shapeStr(l.getShape());
  SmallVector<int64_t> shape{w.getDimSize(0)};
  llvm::append_range(shape, w.getShape().drop_front(2));
  setResult(*this, shape, w.getElementType());
  return success();
}

LogicalResult CallTimesOp::verify() {
  if (getFirst() < 0)
    return emitOpError() << "'first' must be at least 0, got " << getFirst();
  if (getStepSeconds() < 0)
    return emitOpError() << "'step_seconds' must be at least 0, got "
                         << getStepSeconds();
  return checkPositive(*this, "blocks", getBlocks());
}
LogicalResult CallTimesOp::inferShapes() { return sameAsInput(*this); }

LogicalResult ContextLeadOp::verify() {
  return checkPositive(*this, "default_seconds", getDefaultSeconds());
}
LogicalResult ContextLeadOp::inferShapes() {
  auto t = ranked(getLike());
  if (!t)
    return success();
  if (t.getRank() < 1)
    return emitError() << "context_lead expects a batch first, got "
                       << shapeStr(t.getShape());
  setResult(*this, {t.getDimSize(0)}, t.getElementType());
  return success();
}

//===----------------------------------------------------------------------===//
// Sections
//===----------------------------------------------------------------------===//

LogicalResult DataOp::verify() {
  if (getChannels().empty())
    return entryError(*this, "channels") << "needs at least one channel";
  llvm::SmallSet<StringRef, 16> seen;
  for (Attribute a : getChannels()) {
    StringRef c = cast<StringAttr>(a).getValue();
    if (!seen.insert(c).second)
      return entryError(*this, "channels")
             << "channel '" << c << "' is listed twice";
  }
  if (std::optional<ArrayRef<int64_t>> grid = getGrid())
    if (grid->size() != 2 || llvm::any_of(*grid, [](int64_t n) {
          return n < 1 || n > kMaxGridSize;
        }))
      return entryError(*this, "grid")
             << "'grid' is [lat, lon], each from 1 to " << kMaxGridSize
             << ", got " << shapeStr(*grid);
  if (getStep() && static_cast<int64_t>(*getStep()) <= 0)
    return entryError(*this, "step") << "'step' must be positive, got "
                                     << static_cast<int64_t>(*getStep());
  if (NormalizeAttr n = getNormalizeAttr(); n && n.getStats().empty())
    return entryError(*this, "normalize")
           << stringifyNormalizerKind(n.getKind())
           << "(stats) needs the path of a statistics file";
  if (getHistory() < 1)
    return entryError(*this, "history")
           << "'history' must be at least 1, got " << getHistory();
  return success();
}

/// The op a flat symbol reference names, checked to be a model forward or a
/// data set.
static LogicalResult verifyModelAndData(Operation *op,
                                        SymbolTableCollection &symbols,
                                        FlatSymbolRefAttr model,
                                        FlatSymbolRefAttr data) {
  auto fn = symbols.lookupNearestSymbolFrom<func::FuncOp>(op, model);
  if (!fn || !fn->hasAttr(kModelAttrName))
    return op->emitOpError() << "'" << model.getValue()
                             << "' is not a model forward (a func.func with "
                                "the s2s.model attribute)";
  if (!symbols.lookupNearestSymbolFrom<DataOp>(op, data))
    return op->emitOpError()
           << "'" << data.getValue() << "' is not an s2s.data";
  return success();
}

LogicalResult RolloutOp::verify() {
  int64_t order = getOrder();
  if (order < 1 || order > kMaxRolloutOrder)
    return entryError(*this, "order")
           << "'order' must be from 1 to " << kMaxRolloutOrder << ", got "
           << order << " (the unrolled tableau grows with its square)";
  if (auto w = getWeights()) {
    if (static_cast<int64_t>(w->size()) != order)
      return entryError(*this, "weights")
             << "'weights' has " << w->size() << " entries for order " << order;
    for (double x : *w)
      if (!std::isfinite(x) || x < 0)
        return entryError(*this, "weights")
               << "loss weights must be finite numbers >= 0, got " << x;
    if (llvm::all_of(*w, [](double x) { return x == 0; }))
      return entryError(*this, "weights")
             << "every loss weight is 0: nothing would be trained";
  }
  if (AlignAttr align = getAlignAttr(); align && align.getOrder() > order)
    return entryError(*this, "align")
           << "alignment of order " << align.getOrder()
           << " needs a rollout of at least that order, got " << order;
  if (std::optional<ArrayRef<int64_t>> leads = getLeads())
    return checkLeads(*this, *leads);
  return success();
}
LogicalResult RolloutOp::verifySymbolUses(SymbolTableCollection &symbols) {
  return verifyModelAndData(*this, symbols, getModelAttr(), getDataAttr());
}

LogicalResult ParallelOp::verify() {
  if (getAxes().size() != getSizes().size())
    return emitOpError() << getAxes().size() << " axes but "
                         << getSizes().size() << " sizes";
  llvm::SmallSet<StringRef, 4> seen;
  int64_t processes = 1;
  for (auto [a, n] : llvm::zip(getAxes(), getSizes())) {
    StringRef axis = cast<StringAttr>(a).getValue();
    if (!seen.insert(axis).second)
      return entryError(*this, "mesh")
             << "mesh axis '" << axis << "' is listed twice";
    if (n < 1)
      return entryError(*this, "mesh")
             << "mesh axis '" << axis << "' must have at least 1 device, got "
             << n;
    if (n > kMaxProcesses || processes * n > kMaxProcesses)
      return entryError(*this, "mesh")
             << "the mesh has more than " << kMaxProcesses
             << " processes (axis '" << axis << "' has " << n << ")";
    processes *= n;
  }
  // Beyond a week a collective is not slow but stuck, and the seconds
  // would overflow once the backends count them in finer units.
  constexpr int64_t week = 7 * 24 * 3600;
  if (getTimeout() < 1 || getTimeout() > week)
    return entryError(*this, "timeout")
           << "'timeout' must be from 1 to " << week
           << " seconds (a week), got " << getTimeout();
  return success();
}

int64_t ParallelOp::getNumProcesses() {
  int64_t n = 1;
  for (int64_t s : getSizes())
    n *= s;
  return n;
}

int64_t ParallelOp::getAxisSize(StringRef name) {
  for (auto [a, n] : llvm::zip(getAxes(), getSizes()))
    if (cast<StringAttr>(a).getValue() == name)
      return n;
  return 1;
}

LogicalResult TrainOp::verify() {
  for (auto [key, v] : {std::pair<StringRef, int64_t>{"epochs", getEpochs()},
                        {"batch", getBatch()},
                        {"accumulate", getAccumulate()}})
    if (v < 1)
      return entryError(*this, key)
             << "'" << key << "' must be at least 1, got " << v;
  if (auto seed = static_cast<int64_t>(getSeed()); seed < 0)
    return entryError(*this, "seed")
           << "'seed' must not be negative, got " << seed;
  double clip = getGradClip().convertToDouble();
  if (!(clip >= 0) || !std::isfinite(clip))
    return entryError(*this, "grad_clip")
           << "'grad_clip' must be a finite number >= 0 (0: no clipping), got "
           << clip;
  ScheduleAttr schedule = getSchedule();
  double lr = getOptimizer().getLr().convertToDouble();
  double minLr = schedule.getMinLr().convertToDouble();
  if (schedule.getKind() == ScheduleKind::cosine && minLr > lr)
    return entryError(*this, "schedule")
           << "cosine's min_lr " << minLr << " is above the optimizer's lr "
           << lr << ": the schedule would raise the rate; use a min_lr "
           << "from 0 to lr";
  return success();
}
LogicalResult TrainOp::verifySymbolUses(SymbolTableCollection &symbols) {
  return verifyModelAndData(*this, symbols, getModelAttr(), getDataAttr());
}
