//===- Weights.cpp - A program's weights in and out -----------------------===//

#include "train/Weights.h"

#include "io/Weights.h"
#include "s2s/runtime/Error.h"
#include "train/Options.h"
#include "train/Resume.h"

#include <cstdio>
#include <filesystem>

namespace s2s::rt {

namespace {

std::vector<WeightSlot> slotsOf(const Model &model) {
  std::vector<WeightSlot> slots;
  for (const auto &[name, t] : model.namedParameters())
    slots.push_back({name, t.sizes().vec()});
  return slots;
}

std::string importInto(const Options &o, Model &model) {
  const ImportedWeights w = importWeights(o.initFile, slotsOf(model),
                                          NameMap::load(o.map), o.initPartial);
  for (const auto &[name, value] : w.tensors)
    model.load(name, value);
  std::printf("imported %s\n", w.summary.c_str());
  return "--init " + o.initFile + (o.map.empty() ? "" : " --map " + o.map);
}

/// The parameters of checkpoint `from` into `model`.
void loadCheckpointWeights(const Program &p, const std::string &from,
                           Model &model) {
  for (const auto &[name, value] : checkpointParameters(p, from))
    model.load(name, value);
  std::printf("weights of checkpoint %s\n", from.c_str());
}

} // namespace

void loadInitialWeights(const Program &p, const Settings &s, const Options &o,
                        Model &model) {
  if (o.initFile.empty())
    return;
  if (!std::filesystem::is_directory(o.initFile)) {
    importInto(o, model);
    return;
  }
  if (!o.map.empty() || o.initPartial)
    throw UsageError("--init " + o.initFile +
                     " is a checkpoint folder, whose names are s2s's own: "
                     "--map and --init-partial apply to weight files");
  loadCheckpointWeights(p, checkpointToRead(s, o.initFile, "--init"), model);
  std::printf("note: a new run from those weights: the checkpoint's "
              "optimizer state and position are not read\n");
}

int exportWeights(const Program &p, const Options &o) {
  const Settings s = settle(p, o);
  const std::string from = checkpointToRead(s, o.resumeDir, "--resume");
  const NamedTensors params = checkpointParameters(p, from);
  int64_t values = 0;
  for (const auto &np : params)
    values += np.second.numel();
  const NameMap map = NameMap::load(o.map);
  writeWeights(o.exportFile, params, map,
               {{"format", "pt"}, {"program", p.name}, {"checkpoint", from}});
  std::printf("%s: wrote the %zu parameters (%lld values) of %s to '%s'%s\n",
              p.name.c_str(), params.size(), (long long)values, from.c_str(),
              o.exportFile.c_str(),
              map.identity() ? "" : (" through " + map.origin()).c_str());
  return 0;
}

std::string loadInferenceWeights(const Program &p, const Settings &s,
                                 const Options &o, Model &model) {
  if (!o.initFile.empty()) {
    if (!o.checkpoint.empty())
      throw UsageError("give the weights once: --init FILE or --checkpoint "
                       "DIR, not both");
    return importInto(o, model);
  }
  const std::string from = checkpointToRead(s, o.checkpoint, "--checkpoint");
  loadCheckpointWeights(p, from, model);
  return from;
}

} // namespace s2s::rt
