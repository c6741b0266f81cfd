//===- Materialize.cpp - The model's parameters, made and checked ---------===//

#include "train/Materialize.h"

#include "s2s/runtime/Error.h"
#include "train/Banner.h"

namespace s2s::rt {

void materializeModel(const Program &p, Model &model) {
  const std::string modelText = rt::modelText(p);
  if (p.parameters.empty())
    throw Error(modelText + " has no parameters to train");
  try {
    model.materialize(p.parameters);
  } catch (const Error &e) {
    throw Error("building " + modelText + ": " + e.what());
  }
  for (const auto &[name, param] : model.namedParameters())
    if (!param.is_leaf())
      throw Error("internal error: parameter '" + name +
                  "' is not a leaf tensor after materialisation");
}

} // namespace s2s::rt
