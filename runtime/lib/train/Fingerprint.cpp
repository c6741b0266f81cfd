//===- Fingerprint.cpp - What a resume must match -------------------------===//

#include "train/Fingerprint.h"

#include "support/Sha256.h"
#include "support/Text.h"
#include "train/Options.h"
#include "train/TrainData.h"

#include <cstdio>

namespace s2s::rt {
namespace {

/// Round-trip text of a float32 value.
std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

const std::string *find(const Fingerprint &f, const std::string &key) {
  for (const auto &[k, v] : f)
    if (k == key)
      return &v;
  return nullptr;
}

} // namespace

Fingerprint runFingerprint(const Program &p, const Settings &s,
                           const TrainData &data) {
  Fingerprint f;
  std::string manifest;
  for (const ParameterSpec &spec : p.parameters) {
    manifest += spec.path + ":";
    for (int64_t d : spec.shape)
      manifest += std::to_string(d) + ",";
    manifest += "\n";
  }
  f.emplace_back(
      "parameters",
      std::to_string(p.parameters.size()) + " tensors, sha256 " +
          sha256Bytes(manifest.data(), manifest.size()).substr(0, 16));
  f.emplace_back("optimizer", name(s.train.optimizer.kind));
  const BatchLoader &train = *data.train;
  f.emplace_back("channels", join(train.channelNames(), ","));
  f.emplace_back("grid",
                 std::to_string(data.lat) + "x" + std::to_string(data.lon));
  const torch::Tensor mean = train.mean().to(torch::kDouble).reshape({-1});
  const torch::Tensor std = train.stddev().to(torch::kDouble).reshape({-1});
  const auto &names = train.channelNames();
  for (size_t c = 0; c < names.size() && int64_t(c) < mean.numel(); ++c)
    f.emplace_back("normalisation of " + names[c],
                   "mean " + exact(mean[int64_t(c)].item<double>()) + ", std " +
                       exact(std[int64_t(c)].item<double>()));
  return f;
}

std::vector<std::string> fingerprintDifferences(const Fingerprint &checkpoint,
                                                const Fingerprint &now) {
  std::vector<std::string> out;
  if (checkpoint.empty())
    return out;
  for (const auto &[key, value] : now) {
    const std::string *then = find(checkpoint, key);
    if (!then)
      out.push_back(key + ": not in the checkpoint; this run's '" + value +
                    "'");
    else if (*then != value)
      out.push_back(key + ": the checkpoint's '" + *then + "', this run's '" +
                    value + "'");
  }
  for (const auto &[key, value] : checkpoint)
    if (!find(now, key))
      out.push_back(key + ": the checkpoint's '" + value +
                    "', not in this run");
  return out;
}

} // namespace s2s::rt
