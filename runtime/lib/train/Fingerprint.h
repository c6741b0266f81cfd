//===- Fingerprint.h - What a resume must match -----------------*- C++ -*-===//
//
// A checkpoint records the fingerprint of the run that wrote it
// (state.json's "fingerprint"): the parameter manifest (names and shapes,
// as a count and a SHA-256), the optimizer's kind, the data's channels in
// order, its grid, and each channel's normalisation (mean and standard
// deviation). A resume whose program or data differs in any of them is
// refused with the list of differences: continuing would train the
// weights on other inputs than they were trained on, silently. `--init
// CKPT` starts a new run from the checkpoint's weights only.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_FINGERPRINT_H
#define S2S_RUNTIME_TRAIN_FINGERPRINT_H

#include "s2s/runtime/Program.h"

#include <string>
#include <utility>
#include <vector>

namespace s2s::rt {

struct Settings;
struct TrainData;

using Fingerprint = std::vector<std::pair<std::string, std::string>>;

/// This run's fingerprint.
Fingerprint runFingerprint(const Program &p, const Settings &s,
                           const TrainData &data);

/// One line per difference ("channels: the checkpoint's 'u,v,t', this
/// run's 'v,u,t'"); empty when they agree or `checkpoint` is empty (a
/// checkpoint written before fingerprints).
std::vector<std::string> fingerprintDifferences(const Fingerprint &checkpoint,
                                                const Fingerprint &now);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_FINGERPRINT_H
