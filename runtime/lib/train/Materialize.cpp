//===- Materialize.cpp - The model's parameters, made and checked ---------===//

#include "train/Materialize.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"
#include "train/Banner.h"
#include "train/TrainData.h"

namespace s2s::rt {

namespace {

/// The forward on a zero batch of one sample, in evaluation mode.
void runOnZeros(const Program &p, Model &model, const TrainData &data) {
  const std::string modelText = rt::modelText(p);
  const std::string gridText = data.gridText();
  torch::NoGradGuard noGrad;
  model.setTraining(false);
  model.context().time = data.train->fetch({0}).times.to(model.device());
  model.context().leadSeconds = 0;
  torch::Tensor x =
      torch::zeros({1, data.channels, data.lat, data.lon},
                   torch::dtype(model.dtype()).device(model.device()));
  torch::Tensor y;
  try {
    y = p.forward(model, x);
  } catch (const c10::Error &e) {
    throw Error("the data's grid " + gridText + " (file '" + data.firstFile +
                "') does not fit " + modelText + ": " +
                firstLines(e.what_without_backtrace()) +
                "; check the spec's data grid and channels against the "
                "model's sizes");
  } catch (const Error &e) {
    throw Error("building " + modelText + " for the data's grid " + gridText +
                " (file '" + data.firstFile + "'): " + e.what());
  }
  if (!y.defined() || y.sizes() != x.sizes())
    throw Error(modelText + " maps a [1, " + std::to_string(data.channels) +
                ", " + std::to_string(data.lat) + ", " +
                std::to_string(data.lon) + "] field to " +
                (y.defined() ? c10::str(y.sizes()) : std::string("nothing")) +
                "; it must return the next frame, of the same shape (the "
                "data's grid " + gridText + ", file '" + data.firstFile +
                "')");
  model.setTraining(true);
}

} // namespace

void materializeModel(const Program &p, Model &model, const TrainData &data) {
  const std::string modelText = rt::modelText(p);
  runOnZeros(p, model, data);
  if (model.namedParameters().empty())
    throw Error(modelText + " has no parameters to train");
  for (const auto &[name, param] : model.namedParameters())
    if (!param.is_leaf())
      throw Error("internal error: parameter '" + name +
                  "' is not a leaf tensor after materialisation");
  const int64_t n = model.parameterCount();
  if (p.expectedParameters >= 0 && n != p.expectedParameters)
    throw Error("internal error: s2sc counted " +
                withCommas(p.expectedParameters) + " parameters for " +
                modelText + ", the runtime made " + withCommas(n) + " (in " +
                std::to_string(model.namedParameters().size()) +
                " tensors); the kernels and the compiler's shape rules "
                "disagree - please report this");
}

} // namespace s2s::rt
