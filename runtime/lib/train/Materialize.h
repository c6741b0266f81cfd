//===- Materialize.h - The model's parameters, made and checked -*- C++ -*-===//
//
// One small function between the program and a model ready to train:
// today the generated forward is run once on a zero batch of the data's
// grid, so each kernel creates its parameters (Model::param); a parameter
// manifest from the compiler will take its place.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_MATERIALIZE_H
#define S2S_RUNTIME_TRAIN_MATERIALIZE_H

#include "s2s/runtime/Model.h"
#include "s2s/runtime/Program.h"

namespace s2s::rt {

struct TrainData;

/// Creates every parameter of `model` for the data's grid and channels,
/// then checks them: some exist, all are leaves, and their count is the
/// one s2sc computed. Throws Error naming the grid, the file and the model
/// when the forward does not fit the data.
void materializeModel(const Program &p, Model &model, const TrainData &data);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_MATERIALIZE_H
