//===- Precision.h - What the banner says about mixed precision -*- C++ -*-===//
//
// Under `precision = bf16 | fp16` the banner says what runs in which type
// and, on a CPU (where bf16 matrix products are fast only with native
// bf16 instructions), how long the model's forward takes in fp32 and in
// bf16, measured at start-up: a CPU without them runs bf16 slower than
// fp32, and the user should know before a long run.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_PRECISION_H
#define S2S_RUNTIME_TRAIN_PRECISION_H

#include "s2s/runtime/Model.h"
#include "s2s/runtime/Program.h"

#include <string>

namespace s2s::rt {

struct Settings;

/// Forward passes timed per precision (milliseconds, the fastest of a few
/// after a warm-up).
struct ForwardTimes {
  double fp32 = 0, reduced = 0;
};

/// Times the model's forward on a batch of `batch` normalised states
/// [batch, channels, lat, lon] drawn from a generator of its own, in fp32
/// and in `precision`, in evaluation mode without gradients; the model's
/// mode, context and the random generators are left as they were. A
/// zero3 forward gathers parameters: every process must call it.
ForwardTimes timeForward(const Program &p, Precision precision, Model &model,
                         int64_t batch, int64_t channels, int64_t lat,
                         int64_t lon);

/// The banner's precision line ("" for fp32): autocast's type, fp32 master
/// weights and optimizer state, fp16's loss scaling and, on a CPU, the
/// forward's times from timeForward() with a note when the reduced type is
/// the slower.
std::string precisionLine(const Program &p, const Settings &s, Model &model,
                          int64_t batch, int64_t channels, int64_t lat,
                          int64_t lon);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_PRECISION_H
