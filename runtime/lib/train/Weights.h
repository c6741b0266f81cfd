//===- Weights.h - A program's weights in and out ---------------*- C++ -*-===//
//
// The program's side of io/Weights.h: --init FILE starts a training run
// (or a forecast) from imported weights, --export FILE writes a
// checkpoint's weights for PyTorch, both through --map's name map; and the
// weights forecast and evaluate run with (--init, --checkpoint DIR or the
// run's newest checkpoint).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_WEIGHTS_H
#define S2S_RUNTIME_TRAIN_WEIGHTS_H

#include "s2s/runtime/Model.h"
#include "s2s/runtime/Program.h"

#include <string>

namespace s2s::rt {

struct Options;
struct Settings;

/// --init FILE: the file's weights, through --map, into `model` (made,
/// not yet sharded); prints what was imported. --init DIR: the weights of
/// a checkpoint (a ckpt-* folder, a folder of them or a run folder) only,
/// for a new run. Nothing without --init. Throws Error listing every
/// mismatch (io/Weights.h).
void loadInitialWeights(const Program &p, const Settings &s, const Options &o,
                        Model &model);

/// --export FILE: the parameters of the run's newest checkpoint (or of
/// --resume DIR's) written under --map's names and layouts; returns the
/// exit status.
int exportWeights(const Program &p, const Options &o);

/// forecast and evaluate: the weights of --init, else of --checkpoint DIR,
/// else of the run's newest checkpoint, into `model`. Returns where they
/// came from, for the output's metadata.
std::string loadInferenceWeights(const Program &p, const Settings &s,
                                 const Options &o, Model &model);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_WEIGHTS_H
