//===- Validation.cpp - Scores of the model and of persistence -----------===//

#include "train/Validation.h"

#include "metrics/Maps.h"
#include "metrics/Scores.h"
#include "model/Autocast.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Ops.h"
#include "support/Calendar.h"
#include "support/Json.h"
#include "train/Options.h"
#include "train/Strategy.h"
#include "train/TrainData.h"

#include <algorithm>
#include <cstdio>

namespace s2s::rt {

torch::Tensor trainingMean(BatchLoader &train) {
  torch::NoGradGuard noGrad;
  const int64_t windows = train.size();
  torch::Tensor sum =
      torch::zeros({int64_t(train.channelNames().size())}, torch::kFloat64);
  int64_t n = 0;
  for (int64_t i = 0; i < windows; i += 64) {
    std::vector<int64_t> idx;
    for (int64_t k = i; k < std::min(windows, i + 64); ++k)
      idx.push_back(k);
    torch::Tensor x = train.fetch(idx).window.select(1, 0).to(torch::kFloat64);
    sum += x.sum({0, 2, 3});
    n += x.size(0) * train.lat() * train.lon();
  }
  return (sum / double(n)) * train.stddev().to(torch::kFloat64) +
         train.mean().to(torch::kFloat64);
}

Validation::Validation(const Program &p, const Settings &s,
                       const TrainData &data, std::string mapsDir)
    : p_(p), data_(data), mapsDir_(std::move(mapsDir)),
      metrics_(s.train.metrics), precision_(s.train.precision) {
  if (metrics_.empty())
    metrics_ = TrainConfig().metrics;
  // z-score: the normalisation mean (0 in normalised units); otherwise the
  // training data's own per-channel mean.
  if (data.valid && s.data.normalize != Normalizer::Zscore)
    climatology_ = trainingMean(*data.train);
  if (!p.rollout.leads.empty() && s.data.stepSeconds <= 0)
    throw Error("the rollout trains at lead times (in data steps) but the "
                "data's step is unknown; give the data section a step");
  stepSeconds_ = s.data.stepSeconds;
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

void Validation::printTable(const std::string &title,
                            const std::vector<double> &rm,
                            const std::vector<double> &rp,
                            const std::vector<double> &am,
                            const std::vector<double> &ap) const {
  const std::vector<std::string> &names = data_.valid->channelNames();
  size_t wName = 8;
  for (const std::string &n : names)
    wName = std::max(wName, n.size() + 2);
  wName = std::max(wName, title.size() + 1);
  std::string head = "  " + title;
  head.append(wName - title.size(), ' ');
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
  // The leads scored: each of the rollout's (in data steps), or one step of
  // the plain forward (lead 0 in the context: the model's own step).
  const std::vector<int64_t> &spec = p_.rollout.leads;
  const std::vector<int64_t> leads =
      spec.empty() ? std::vector<int64_t>{1} : spec;
  // Per lead, one pair of accumulators (model, persistence) per weighting
  // a score needs: RMSE and ACC may ask for different ones.
  auto scores = [&](Weighting w) {
    return ChannelMetrics(valid.latitude(), valid.mean(), valid.stddev(),
                          climatology_, w);
  };
  const Weighting wr = weighting(MetricKind::Rmse),
                  wa = weighting(MetricKind::Acc);
  struct AtLead {
    std::vector<ChannelMetrics> model, persistence;
  };
  std::vector<AtLead> at(leads.size());
  for (AtLead &a : at) {
    a.model.push_back(scores(wr));
    a.persistence.push_back(scores(wr));
    if (wa != wr) {
      a.model.push_back(scores(wa));
      a.persistence.push_back(scores(wa));
    }
  }
  {
    torch::NoGradGuard noGrad;
    const torch::Device device = model.device();
    model.setTraining(false);
    bool mapped = mapsDir_.empty() || !strategy.writesOutput();
    // One batch's scores at every lead; `count`: false for a batch run
    // only to keep a collective forward in step with the other ranks.
    auto score = [&](const Batch &vb, bool count) {
      torch::Tensor w = vb.window.to(device, model.dtype());
      torch::Tensor x0 = w.select(1, 0);
      model.context().time = vb.times.to(device);
      call_times(model, w, 0, 1, 0);
      for (size_t l = 0; l < leads.size(); ++l) {
        model.context().leadSeconds =
            spec.empty() ? 0 : leads[l] * stepSeconds_;
        torch::Tensor truth = w.select(1, leads[l]);
        torch::Tensor pred;
        {
          AutocastGuard autocast(precision_, device);
          pred = p_.forward(model, x0);
        }
        pred = pred.to(model.dtype());
        if (!count)
          continue;
        for (size_t i = 0; i < at[l].model.size(); ++i) {
          at[l].model[i].add(pred, truth);
          at[l].persistence[i].add(x0, truth);
        }
        // Truth / prediction / error maps of the first validation window,
        // at the first lead.
        if (!mapped) {
          mapped = true;
          writeValidationMaps(mapsDir_, epoch, truth[0], pred[0],
                              valid.channelNames(), valid.latitude(),
                              valid.longitude(), valid.mean(), valid.stddev());
        }
      }
    };
    const int64_t ranks = strategy.dataProcesses();
    if (ranks == 1) {
      valid.startEpoch(0);
      while (std::optional<Batch> vb = valid.next())
        score(*vb, true);
    } else {
      // The split's batches in order, batch b on rank b mod N; the ranks'
      // sums are added (Strategy::reduceValidation), so the scores are the
      // one-process ones. A rank past the last batch runs one uncounted
      // when the forward has collectives (zero3), to keep them in step.
      const int64_t n = valid.size(), B = valid.batch();
      const int64_t batches = (n + B - 1) / B;
      const int64_t rounds = (batches + ranks - 1) / ranks;
      for (int64_t round = 0; round < rounds; ++round) {
        const int64_t b = round * ranks + strategy.dataRank();
        if (b >= batches && !strategy.collectiveForward())
          continue;
        const int64_t from = (b % batches) * B;
        std::vector<int64_t> idx;
        for (int64_t i = from; i < std::min(n, from + B); ++i)
          idx.push_back(i);
        score(valid.fetch(idx), b < batches);
      }
    }
    model.context().leadSeconds = 0;
    model.setTraining(true);
  }
  const std::vector<std::string> &names = valid.channelNames();
  auto perChannel = [&](const std::vector<double> &v) {
    std::string s = "{";
    for (size_t c = 0; c < names.size(); ++c)
      s += (c ? "," : "") + jsonQuote(names[c]) + ":" + jsonNumber(v[c]);
    return s + "}";
  };
  std::string record, byLead;
  for (size_t l = 0; l < leads.size(); ++l) {
    AtLead &a = at[l];
    for (size_t i = 0; i < a.model.size(); ++i) {
      strategy.reduceValidation(a.model[i]);
      strategy.reduceValidation(a.persistence[i]);
    }
    const std::vector<double> rm = a.model.front().rmse(),
                              rp = a.persistence.front().rmse(),
                              am = a.model.back().acc(),
                              ap = a.persistence.back().acc();
    std::string title = "valid";
    if (!spec.empty())
      title += " +" + formatDuration(leads[l] * stepSeconds_);
    printTable(title, rm, rp, am, ap);
    std::string scores = "\"rmse\":" + perChannel(rm) +
                         ",\"acc\":" + perChannel(am) +
                         ",\"rmse_persistence\":" + perChannel(rp) +
                         ",\"acc_persistence\":" + perChannel(ap);
    // The first lead's scores are the record's own (one data step without
    // leads), so readers of one-step scores read them as before.
    if (l == 0)
      record =
          ",\"valid_windows\":" + std::to_string(valid.size()) + "," + scores;
    if (!spec.empty())
      byLead += std::string(l ? "," : "") +
                "{\"lead_steps\":" + std::to_string(leads[l]) +
                ",\"lead_hours\":" +
                jsonNumber(double(leads[l] * stepSeconds_) / 3600.0) + "," +
                scores + "}";
  }
  if (!spec.empty())
    record += ",\"leads\":[" + byLead + "]";
  // Latitude weighting is the default; say so only when it is not.
  if (wr == Weighting::Uniform)
    record += ",\"rmse_weight\":\"uniform\"";
  if (wa == Weighting::Uniform)
    record += ",\"acc_weight\":\"uniform\"";
  return record;
}

} // namespace s2s::rt
