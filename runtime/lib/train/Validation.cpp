//===- Validation.cpp - One-step scores of the model and of persistence ---===//

#include "train/Validation.h"

#include "metrics/Maps.h"
#include "metrics/Scores.h"
#include "support/Json.h"
#include "train/Options.h"
#include "train/Strategy.h"
#include "train/TrainData.h"

#include <algorithm>
#include <cstdio>

namespace s2s::rt {

namespace {

/// The per-channel mean of the training data (first frames of its
/// windows), in physical units.
torch::Tensor trainingMean(const TrainData &data) {
  torch::NoGradGuard noGrad;
  BatchLoader &train = *data.train;
  torch::Tensor sum = torch::zeros({data.channels}, torch::kFloat64);
  int64_t n = 0;
  for (int64_t i = 0; i < data.windows; i += 64) {
    std::vector<int64_t> idx;
    for (int64_t k = i; k < std::min(data.windows, i + 64); ++k)
      idx.push_back(k);
    torch::Tensor x =
        train.fetch(idx).window.select(1, 0).to(torch::kFloat64);
    sum += x.sum({0, 2, 3});
    n += x.size(0) * data.lat * data.lon;
  }
  return (sum / double(n)) * train.stddev().to(torch::kFloat64) +
         train.mean().to(torch::kFloat64);
}

} // namespace

Validation::Validation(const Program &p, const Settings &s,
                       const TrainData &data, std::string mapsDir)
    : p_(p), data_(data), mapsDir_(std::move(mapsDir)),
      metrics_(s.train.metrics) {
  if (metrics_.empty())
    metrics_ = {"rmse", "acc"};
  // z-score: the normalisation mean (0 in normalised units); otherwise the
  // training data's own per-channel mean.
  if (data.valid && s.data.normalize != "zscore")
    climatology_ = trainingMean(data);
}

bool Validation::enabled() const {
  return data_.valid && data_.valid->size() > 0;
}

bool Validation::wants(const char *metric) const {
  return std::find(metrics_.begin(), metrics_.end(), metric) != metrics_.end();
}

void Validation::printTable(const std::vector<double> &rm,
                            const std::vector<double> &rp,
                            const std::vector<double> &am,
                            const std::vector<double> &ap) const {
  const std::vector<std::string> &names = data_.valid->channelNames();
  size_t wName = 8;
  for (const std::string &n : names)
    wName = std::max(wName, n.size() + 2);
  std::string head = "  " + std::string("valid").append(wName - 5, ' ');
  if (wants("rmse"))
    head += "   rmse model  persistence";
  if (wants("acc"))
    head += "    acc model  persistence";
  std::printf("%s   (%lld windows)\n", head.c_str(),
              (long long)data_.valid->size());
  for (size_t c = 0; c < names.size(); ++c) {
    std::string row = "  " + names[c];
    row.append(wName - names[c].size(), ' ');
    char buf[64];
    if (wants("rmse")) {
      std::snprintf(buf, sizeof buf, " %12.5g %12.5g", rm[c], rp[c]);
      row += buf;
    }
    if (wants("acc")) {
      std::snprintf(buf, sizeof buf, " %12.4f %12.4f", am[c], ap[c]);
      row += buf;
    }
    std::printf("%s\n", row.c_str());
  }
}

std::string Validation::run(Model &model, Strategy &strategy, int64_t epoch) {
  BatchLoader &valid = *data_.valid;
  ChannelMetrics mModel(valid.latitude(), valid.mean(), valid.stddev(),
                        climatology_);
  ChannelMetrics mPersist(valid.latitude(), valid.mean(), valid.stddev(),
                          climatology_);
  {
    torch::NoGradGuard noGrad;
    const torch::Device device = model.device();
    model.setTraining(false);
    valid.startEpoch(0);
    bool mapped = mapsDir_.empty() || !strategy.writesOutput();
    while (std::optional<Batch> vb = valid.next()) {
      torch::Tensor w = vb->window.to(device, model.dtype());
      torch::Tensor x0 = w.select(1, 0), x1 = w.select(1, 1);
      model.context().time = vb->times.to(device);
      model.context().leadSeconds = 0;
      torch::Tensor pred = p_.forward(model, x0);
      mModel.add(pred, x1);
      mPersist.add(x0, x1);
      // Truth / prediction / error maps of the first validation window.
      if (!mapped) {
        mapped = true;
        writeValidationMaps(mapsDir_, epoch, x1[0], pred[0],
                            valid.channelNames(), valid.latitude(),
                            valid.longitude(), valid.mean(), valid.stddev());
      }
    }
    model.setTraining(true);
  }
  strategy.reduceValidation(mModel);
  strategy.reduceValidation(mPersist);
  const std::vector<double> rm = mModel.rmse(), rp = mPersist.rmse(),
                            am = mModel.acc(), ap = mPersist.acc();
  printTable(rm, rp, am, ap);
  const std::vector<std::string> &names = valid.channelNames();
  auto perChannel = [&](const std::vector<double> &v) {
    std::string s = "{";
    for (size_t c = 0; c < names.size(); ++c)
      s += (c ? "," : "") + jsonQuote(names[c]) + ":" + jsonNumber(v[c]);
    return s + "}";
  };
  return ",\"valid_windows\":" + std::to_string(valid.size()) +
         ",\"rmse\":" + perChannel(rm) + ",\"acc\":" + perChannel(am) +
         ",\"rmse_persistence\":" + perChannel(rp) +
         ",\"acc_persistence\":" + perChannel(ap);
}

} // namespace s2s::rt
