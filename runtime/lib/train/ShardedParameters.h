//===- ShardedParameters.h - zero3/fsdp: parameters gathered per unit
//-*-C++-*-//
//
// ZeRO stage 3 (FSDP): no process holds the whole model. The parameters,
// in model order, are the flat vector of ZeroShards.h cut into one segment
// per unit (io/FlatShards.h): rank r holds chunk r of every unit — the
// shard its optimizer updates — and nothing else between calls.
//
// A unit is a block of the model: consecutive parameters of the same
// Sharding::unit, which the compiler sets to the top-level component of
// the path ("ResBlock.3.conv.weight" is in unit "ResBlock.3"; "head.weight"
// in "head"), the same units its memory plan pads. When a kernel asks for
// a parameter of a unit that is not resident, the unit is all-gathered
// (every rank sends its chunk), the previous unit released, and views of
// the gathered values handed out. With gradients enabled the gather is an
// autograd node:
//
//   forward    the all-gather; the values are freed (their storage emptied,
//              the views kept) as soon as the next unit is gathered
//   backward   first the previous unit of the same forward pass is gathered
//              again into its storage — the engine runs nodes in reverse
//              creation order, so this happens before any of that unit's
//              ops needs its values — then the unit's gradient is
//              reduce-scattered (summed, divided by N) onto this rank's
//              chunk of it, and the unit's values freed again
//
// So at most two units are resident in the backward and one (plus the one
// being gathered) in the forward; a step moves 3 times the model's values
// through collectives (two all-gathers, one reduce-scatter). Under
// checkpoint_activations the step's forward runs without gradients
// (gathers without nodes) and the recomputation in the backward gathers
// again, as the forward did.
//
// Every process runs the same model on the same shapes, so the gathers and
// reduce-scatters happen in the same order on every rank.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_SHARDEDPARAMETERS_H
#define S2S_RUNTIME_TRAIN_SHARDEDPARAMETERS_H

#include "comm/Communicator.h"
#include "io/FlatShards.h"
#include "s2s/runtime/Model.h"

#include <memory>
#include <string>
#include <vector>

namespace s2s::rt {

class ShardedParameters final : public ParameterSource {
public:
  struct Unit {
    std::string name;
    size_t firstParam = 0, endParam = 0; ///< [first, end) in model order
  };
  /// The units of `model`'s parameters (see the header), in order.
  static std::vector<Unit> unitsOf(const Model &model);

  /// `model`: its parameters in order (names and shapes) and units;
  /// `layout`: one segment per unit; `shard`: this rank's values of the
  /// layout, a leaf the optimizer updates.
  ShardedParameters(Communicator &comm, const Model &model,
                    const FlatShards &layout, torch::Tensor shard);
  ~ShardedParameters() override;

  const torch::Tensor &get(size_t index) override;
  std::vector<torch::Tensor> leaves() const override { return {shard_}; }

  /// Ends a forward/backward pass: drops the resident unit and the pass's
  /// chain (after each backward, before the shard changes).
  void endPass();

  /// The units, for messages: "3 units, largest 12,345 values".
  std::string describe() const;
  /// Peak bytes of gathered parameter values this process held at once.
  int64_t peakBytes() const { return peakBytes_; }

  struct Gathered;

private:
  void gather(size_t unit);
  /// Frees the resident unit's values (a gather with gradients keeps the
  /// views, with an empty storage, for its backward).
  void releaseResident();
  void free(Gathered &g);
  /// Gathers `g`'s unit again into the storage its views share.
  void refill(Gathered &g);
  void account(int64_t bytes);

  Communicator &comm_;
  FlatShards layout_;
  torch::Tensor shard_;
  std::vector<std::vector<int64_t>> shapes_;
  std::vector<int64_t> offsets_; ///< each parameter's offset in its unit
  std::vector<size_t> unitOfParam_;
  std::vector<Unit> units_;
  std::shared_ptr<Gathered> resident_;
  std::vector<torch::Tensor> views_;       ///< the resident unit's parameters
  std::shared_ptr<Gathered> lastWithGrad_; ///< the forward pass's chain
  int64_t liveBytes_ = 0, peakBytes_ = 0;

  friend struct GatherUnit;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_SHARDEDPARAMETERS_H
