//===- Materialize.h - The model's parameters, made and checked -*- C++ -*-===//
//
// Between the program and a model ready to train: every parameter of the
// compiler's manifest is created (with its initialiser), the model sealed,
// and the result checked. No forward runs: a rank can later create only
// its shard of each parameter from the same manifest.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_MATERIALIZE_H
#define S2S_RUNTIME_TRAIN_MATERIALIZE_H

#include "s2s/runtime/Model.h"
#include "s2s/runtime/Program.h"

namespace s2s::rt {

/// Creates every parameter of `p.parameters` in `model` and seals it.
/// Throws Error when the manifest is empty or malformed.
void materializeModel(const Program &p, Model &model);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_MATERIALIZE_H
