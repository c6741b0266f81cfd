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
    torch::Tensor x = train.fetch(idx).window.select(1, 0).to(torch::kFloat64);
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
    metrics_ = TrainConfig().metrics;
  // z-score: the normalisation mean (0 in normalised units); otherwise the
  // training data's own per-channel mean.
  if (data.valid && s.data.normalize != Normalizer::Zscore)
    climatology_ = trainingMean(data);
}

bool Validation::enabled() const {
  return data_.valid && data_.valid->size() > 0;
}

const MetricConfig *Validation::metric(MetricKind kind) const {
  for (const MetricConfig &m : metrics_)
    if (m.kind == kind)
      return &m;
  return nullptr;
}

Weighting Validation::weighting(MetricKind kind) const {
  const MetricConfig *m = metric(kind);
  return m ? m->weight : Weighting::Latitude;
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
  const bool rmse = metric(MetricKind::Rmse), acc = metric(MetricKind::Acc);
  if (rmse)
    head += "   rmse model  persistence";
  if (acc)
    head += "    acc model  persistence";
  std::printf("%s   (%lld windows)\n", head.c_str(),
              (long long)data_.valid->size());
  for (size_t c = 0; c < names.size(); ++c) {
    std::string row = "  " + names[c];
    row.append(wName - names[c].size(), ' ');
    char buf[64];
    if (rmse) {
      std::snprintf(buf, sizeof buf, " %12.5g %12.5g", rm[c], rp[c]);
      row += buf;
    }
    if (acc) {
      std::snprintf(buf, sizeof buf, " %12.4f %12.4f", am[c], ap[c]);
      row += buf;
    }
    std::printf("%s\n", row.c_str());
  }
  for (const MetricConfig &m : metrics_)
    if (m.weight == Weighting::Uniform)
      std::printf("  (%s: every grid point weighted alike, not by "
                  "latitude)\n",
                  name(m.kind));
}

std::string Validation::run(Model &model, Strategy &strategy, int64_t epoch) {
  BatchLoader &valid = *data_.valid;
  // One pair of accumulators (model, persistence) per weighting a score
  // needs: RMSE and ACC may ask for different ones.
  auto scores = [&](Weighting w) {
    return ChannelMetrics(valid.latitude(), valid.mean(), valid.stddev(),
                          climatology_, w);
  };
  const Weighting wr = weighting(MetricKind::Rmse),
                  wa = weighting(MetricKind::Acc);
  std::vector<ChannelMetrics> ofModel, ofPersistence;
  ofModel.push_back(scores(wr));
  ofPersistence.push_back(scores(wr));
  if (wa != wr) {
    ofModel.push_back(scores(wa));
    ofPersistence.push_back(scores(wa));
  }
  ChannelMetrics &mModel = ofModel.front(), &mPersist = ofPersistence.front();
  ChannelMetrics &aModel = ofModel.back(), &aPersist = ofPersistence.back();
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
      for (size_t i = 0; i < ofModel.size(); ++i) {
        ofModel[i].add(pred, x1);
        ofPersistence[i].add(x0, x1);
      }
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
  for (size_t i = 0; i < ofModel.size(); ++i) {
    strategy.reduceValidation(ofModel[i]);
    strategy.reduceValidation(ofPersistence[i]);
  }
  const std::vector<double> rm = mModel.rmse(), rp = mPersist.rmse(),
                            am = aModel.acc(), ap = aPersist.acc();
  printTable(rm, rp, am, ap);
  const std::vector<std::string> &names = valid.channelNames();
  auto perChannel = [&](const std::vector<double> &v) {
    std::string s = "{";
    for (size_t c = 0; c < names.size(); ++c)
      s += (c ? "," : "") + jsonQuote(names[c]) + ":" + jsonNumber(v[c]);
    return s + "}";
  };
  std::string record = ",\"valid_windows\":" + std::to_string(valid.size()) +
                       ",\"rmse\":" + perChannel(rm) +
                       ",\"acc\":" + perChannel(am) +
                       ",\"rmse_persistence\":" + perChannel(rp) +
                       ",\"acc_persistence\":" + perChannel(ap);
  // Latitude weighting is the default; say so only when it is not.
  if (wr == Weighting::Uniform)
    record += ",\"rmse_weight\":\"uniform\"";
  if (wa == Weighting::Uniform)
    record += ",\"acc_weight\":\"uniform\"";
  return record;
}

} // namespace s2s::rt
