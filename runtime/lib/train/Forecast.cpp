//===- Forecast.cpp - Forecasts and scorecards from trained weights -------===//

#include "train/Forecast.h"

#include "data/Loader.h"
#include "data/Split.h"
#include "dist/Launch.h"
#include "hdf5/ForecastFile.h"
#include "metrics/Scores.h"
#include "model/Autocast.h"
#include "plot/Chart.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Ops.h"
#include "support/AtomicFile.h"
#include "support/Calendar.h"
#include "support/Json.h"
#include "support/Text.h"
#include "train/Materialize.h"
#include "train/Options.h"
#include "train/Validation.h"
#include "train/Weights.h"

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>

namespace s2s::rt {

namespace {

/// The checks forecast and evaluate share: one process, --out FILE.<ext>;
/// returns the lead steps.
int64_t checkRun(const Program &p, const Options &o, const char *command,
                 const char *ext) {
  if (rankInfo().worldSize > 1)
    throw UsageError(std::string(command) +
                     " runs in one process; it was "
                     "started as one of " +
                     std::to_string(rankInfo().worldSize) + " (" +
                     rankInfo().source + ")");
  if (o.out.empty() || !endsWith(o.out, ext))
    throw UsageError(std::string(command) + " needs --out FILE" + ext);
  return o.steps > 0 ? o.steps : p.rollout.order;
}

/// forecast: the one start state, read when asked for.
LoaderConfig readOnce() {
  LoaderConfig lc;
  lc.mode = LoaderConfig::Mode::Lazy;
  lc.prefetch = 0;
  return lc;
}

/// evaluate: the spec's (or --memory's) way of holding the data, read by
/// this one process; stream mode reads the split lazily instead, as
/// validation does.
LoaderConfig splitReader(const Settings &s, const Options &o) {
  LoaderConfig lc = loaderConfig(s.data, o);
  if (lc.mode == LoaderConfig::Mode::Stream)
    lc.mode = LoaderConfig::Mode::Lazy;
  lc.rank = 0;
  lc.worldSize = 1;
  return lc;
}

/// The model on `grid`'s coordinates with the weights of --init,
/// --checkpoint or the run's newest checkpoint, in evaluation mode.
std::unique_ptr<Model> inferenceModel(const Program &p, const Settings &s,
                                      const Options &o, const BatchLoader &grid,
                                      std::string &weights) {
  auto m = std::make_unique<Model>(uint64_t(s.train.seed), s.device, s.dtype);
  m->context().latitude = grid.latitude().to(s.device);
  m->context().longitude = grid.longitude().to(s.device);
  m->context().channelOffset = grid.mean().to(s.device);
  m->context().channelScale = grid.stddev().to(s.device);
  materializeModel(p, *m);
  weights = loadInferenceWeights(p, s, o, *m);
  m->setTraining(false);
  return m;
}

/// Leads 1..steps from the normalised states x0 [b, C, H, W] valid at
/// `times` [b], each handed to `each(lead index, state)` as it is made (a
/// long rollout holds one state at a time): the model on its own output,
/// or a lead-time model once per lead on x0; in `precision` (the states
/// handed on in the model's type).
void rollOut(const Program &p, Precision precision, Model &m,
             const torch::Tensor &x0, const torch::Tensor &times, int64_t steps,
             int64_t stepSeconds,
             const std::function<void(int64_t, const torch::Tensor &)> &each) {
  // Inference mode: no autograd bookkeeping at all (version counters,
  // view tracking), ~15% faster than no-grad for FourCastNet-small on a
  // CPU; the model never trains after a forecast or evaluation.
  c10::InferenceMode inference;
  m.context().time = times.to(m.device());
  torch::Tensor x = x0.to(m.device(), m.dtype());
  const torch::Tensor start = x;
  const bool leadTime = !p.rollout.leads.empty();
  for (int64_t k = 1; k <= steps; ++k) {
    m.context().leadSeconds = leadTime ? k * stepSeconds : 0;
    // The input of step k is valid k - 1 steps after the start.
    call_times(m, x, leadTime ? 0 : k - 1, 1, stepSeconds);
    {
      AutocastGuard autocast(precision, m.device());
      x = p.forward(m, leadTime ? start : x);
    }
    x = x.to(m.dtype());
    each(k - 1, x);
  }
  m.context().leadSeconds = 0;
  call_times(m, x, 0, 1, 0);
}

std::vector<double> doubles(const torch::Tensor &t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(),
                             c.data_ptr<double>() + c.numel());
}

/// The window of split `split` whose first frame is valid at `t0`.
int64_t windowAt(const DataConfig &dc, int64_t t0, const std::string &text,
                 int64_t &step) {
  const data_detail::SplitPlan plan =
      data_detail::planSplit(dc, Split::Test, 1);
  step = plan.step;
  for (size_t k = 0; k < plan.times.size(); ++k)
    if (plan.times[k] == t0)
      return int64_t(k);
  throw Error("--start " + text + ": no sample of '" + dc.pattern +
              "' is valid then; its samples of " + std::to_string(yearOf(t0)) +
              " run from " + formatTime(plan.times.front()) + " to " +
              formatTime(plan.times.back()) + " every " +
              formatDuration(plan.step));
}

} // namespace

int forecast(const Program &p, const Options &o) {
  const int64_t steps = checkRun(p, o, "forecast", ".h5");
  if (o.start.empty())
    throw UsageError("forecast needs --start TIME: a time of the data, as "
                     "2009-01-01T06:00 (UTC)");
  int64_t t0 = 0;
  if (!parseTime(o.start, t0))
    throw UsageError("--start '" + o.start +
                     "' is not a time; write it as "
                     "2009-01-01, 2009-01-01T06 or 2009-01-01T06:00 (UTC)");
  const Settings s = settle(p, o);
  // The start's year as the split read, whatever the spec's splits are.
  DataConfig dc = s.data;
  dc.test = {yearOf(t0), yearOf(t0)};
  int64_t step = 0;
  const int64_t k = windowAt(dc, t0, o.start, step);
  std::unique_ptr<BatchLoader> data = BatchLoader::open(
      dc, Split::Test, 1, 1, readOnce(), uint64_t(s.train.seed), false, false);
  const Batch start = data->fetch({k});
  if (start.times[0].item<int64_t>() != t0)
    throw Error("internal error: window " + std::to_string(k) + " of " +
                std::to_string(yearOf(t0)) + " is valid at " +
                formatTime(start.times[0].item<int64_t>()) + ", not " +
                formatTime(t0));
  std::string weights;
  std::unique_ptr<Model> m = inferenceModel(p, s, o, *data, weights);
  hdf5::ForecastMeta meta;
  for (int64_t l = 1; l <= steps; ++l) {
    meta.validTimes.push_back(t0 + l * step);
    meta.leadHours.push_back(double(l * step) / 3600.0);
  }
  meta.initTime = t0;
  meta.channels = data->channelNames();
  meta.latitude = doubles(data->latitude());
  meta.longitude = doubles(data->longitude());
  meta.attributes = {{"program", p.name},           {"spec", p.specFile},
                     {"model", p.modelName},        {"weights", weights},
                     {"data", dc.pattern},          {"start", formatTime(t0)},
                     {"step", formatDuration(step)}};
  hdf5::ForecastWriter out(o.out, meta);
  const int64_t C = int64_t(meta.channels.size());
  const torch::Tensor mean = data->mean().to(torch::kFloat64).view({C, 1, 1}),
                      sd = data->stddev().to(torch::kFloat64).view({C, 1, 1});
  rollOut(p, s.train.precision, *m, start.window.select(1, 0), start.times,
          steps, step, [&](int64_t l, const torch::Tensor &y) {
            const torch::Tensor v =
                (y[0].to(torch::kCPU, torch::kFloat64) * sd + mean)
                    .to(torch::kFloat32)
                    .contiguous();
            out.write(l, v.data_ptr<float>());
          });
  out.finish();
  std::printf("%s: forecast of %lld steps (%s each) from %s written to '%s'\n",
              p.name.c_str(), (long long)steps, formatDuration(step).c_str(),
              formatTime(t0).c_str(), o.out.c_str());
  return 0;
}

namespace {

/// What evaluate measured: per lead, per channel.
struct Scorecard {
  std::vector<std::string> channels;
  std::vector<double> hours; ///< lead times
  /// [lead][channel]: RMSE of the model, persistence and climatology; ACC
  /// of the model and persistence.
  std::vector<std::vector<double>> rmseModel, rmsePersistence, rmseClimatology,
      accModel, accPersistence;
  int64_t windows = 0;
  int64_t timedCalls = 0; ///< model evaluations after the first batch
  double modelSeconds = 0;
};

/// Every window of `data` rolled out `steps` steps and scored at each lead
/// against its truth, next to persistence and the climatology `clim`
/// (physical units, [channel]).
Scorecard scoreSplit(const Program &p, Precision precision, Model &m,
                     BatchLoader &data, const torch::Tensor &clim,
                     int64_t steps, int64_t step) {
  const int64_t C = int64_t(data.channelNames().size());
  const torch::Tensor climNormalised =
      ((clim - data.mean().to(torch::kFloat64)) /
       data.stddev().to(torch::kFloat64))
          .to(torch::kFloat32)
          .view({1, C, 1, 1});
  // One ChannelMetrics made per lead and kind: copies would share their
  // sums' tensors.
  auto scores = [&] {
    std::vector<ChannelMetrics> v;
    for (int64_t l = 0; l < steps; ++l)
      v.emplace_back(data.latitude(), data.mean(), data.stddev(), clim,
                     Weighting::Latitude);
    return v;
  };
  std::vector<ChannelMetrics> model = scores(), persistence = scores(),
                              climatology = scores();
  Scorecard card;
  data.startEpoch(0);
  for (int64_t batches = 0; std::optional<Batch> b = data.next(); ++batches) {
    const torch::Tensor x0 = b->window.select(1, 0);
    const auto t0 = std::chrono::steady_clock::now();
    double scoring = 0;
    rollOut(p, precision, m, x0, b->times, steps, step,
            [&](int64_t l, const torch::Tensor &y) {
              const auto s0 = std::chrono::steady_clock::now();
              const torch::Tensor truth = b->window.select(1, l + 1);
              model[l].add(y.to(torch::kCPU, torch::kFloat32), truth);
              persistence[l].add(x0, truth);
              climatology[l].add(climNormalised.expand_as(truth), truth);
              scoring += std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - s0)
                             .count();
            });
    // The model's speed: its calls after the first batch's (which set up
    // threads, FFT plans and memory), scoring left out.
    if (batches > 0) {
      card.modelSeconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
              .count() -
          scoring;
      card.timedCalls += x0.size(0) * steps;
    }
  }
  card.channels = data.channelNames();
  card.windows = data.size();
  for (int64_t l = 0; l < steps; ++l) {
    card.rmseModel.push_back(model[l].rmse());
    card.rmsePersistence.push_back(persistence[l].rmse());
    card.rmseClimatology.push_back(climatology[l].rmse());
    card.accModel.push_back(model[l].acc());
    card.accPersistence.push_back(persistence[l].acc());
    card.hours.push_back(double((l + 1) * step) / 3600.0);
  }
  return card;
}

/// {"u": [lead 1, lead 2, ...], ...}
std::string perChannel(const Scorecard &card,
                       const std::vector<std::vector<double>> &byLead) {
  std::string s = "{";
  for (size_t c = 0; c < card.channels.size(); ++c) {
    s += (c ? "," : "") + jsonQuote(card.channels[c]) + ":[";
    for (size_t l = 0; l < byLead.size(); ++l)
      s += (l ? "," : "") + jsonNumber(byLead[l][c]);
    s += "]";
  }
  return s + "}";
}

/// The scorecard's JSON; `head` holds its leading fields ("program", ...).
std::string scorecardJson(const Scorecard &card, const std::string &head) {
  std::string hours, channels;
  for (size_t l = 0; l < card.hours.size(); ++l)
    hours += (l ? "," : "") + jsonNumber(card.hours[l]);
  for (size_t c = 0; c < card.channels.size(); ++c)
    channels += (c ? "," : "") + jsonQuote(card.channels[c]);
  return "{" + head + ",\"windows\":" + std::to_string(card.windows) +
         ",\"weighting\":\"latitude\",\"channels\":[" + channels +
         "],\"lead_hours\":[" + hours +
         "],\"rmse\":{\"model\":" + perChannel(card, card.rmseModel) +
         ",\"persistence\":" + perChannel(card, card.rmsePersistence) +
         ",\"climatology\":" + perChannel(card, card.rmseClimatology) +
         "},\"acc\":{\"model\":" + perChannel(card, card.accModel) +
         ",\"persistence\":" + perChannel(card, card.accPersistence) + "}}\n";
}

/// RMSE and ACC against lead time, a row of two panels per channel.
void plotScorecard(const Scorecard &card, const std::string &title,
                   const std::string &png) {
  auto column = [](const std::vector<std::vector<double>> &v, size_t c) {
    std::vector<double> y;
    for (const auto &l : v)
      y.push_back(l[c]);
    return y;
  };
  std::vector<ChartPanel> panels;
  for (size_t c = 0; c < card.channels.size(); ++c) {
    const std::string &n = card.channels[c];
    panels.push_back({"RMSE " + n,
                      {{"model", column(card.rmseModel, c)},
                       {"persistence", column(card.rmsePersistence, c)},
                       {"climatology", column(card.rmseClimatology, c)}}});
    panels.push_back({"ACC " + n,
                      {{"model", column(card.accModel, c)},
                       {"persistence", column(card.accPersistence, c)}}});
  }
  plotLines(card.hours, "lead (h)", panels, 2, title, png);
}

void printScorecard(const Scorecard &card) {
  std::printf("  %-10s %8s   %12s %12s %12s   %9s %9s\n", "channel", "lead",
              "rmse model", "persistence", "climatology", "acc model",
              "persist.");
  for (size_t l = 0; l < card.hours.size(); ++l)
    for (size_t c = 0; c < card.channels.size(); ++c)
      std::printf("  %-10s %7gh   %12.5g %12.5g %12.5g   %9.4f %9.4f\n",
                  card.channels[c].c_str(), card.hours[l], card.rmseModel[l][c],
                  card.rmsePersistence[l][c], card.rmseClimatology[l][c],
                  card.accModel[l][c], card.accPersistence[l][c]);
}

} // namespace

int evaluate(const Program &p, const Options &o) {
  const int64_t steps = checkRun(p, o, "evaluate", ".json");
  const Settings s = settle(p, o);
  const Split split = o.split == "valid" ? Split::Valid : Split::Test;
  const int64_t B = o.batch > 0 ? o.batch : s.train.batch;
  std::unique_ptr<BatchLoader> data =
      BatchLoader::open(s.data, split, steps + 1, B, splitReader(s, o),
                        uint64_t(s.train.seed), false, false);
  // The climatology: z-score's mean, else the training split's mean.
  torch::Tensor clim = data->mean().to(torch::kFloat64);
  if (s.data.normalize != Normalizer::Zscore)
    clim = trainingMean(*BatchLoader::open(s.data, Split::Train, 1, B,
                                           splitReader(s, o), 0, false, false));
  std::string weights;
  std::unique_ptr<Model> m = inferenceModel(p, s, o, *data, weights);
  const int64_t step = s.data.stepSeconds > 0
                           ? s.data.stepSeconds
                           : data_detail::planSplit(s.data, split, 1).step;
  const Scorecard card =
      scoreSplit(p, s.train.precision, *m, *data, clim, steps, step);

  writeFileAtomically(
      o.out,
      scorecardJson(card,
                    "\"program\":" + jsonQuote(p.name) +
                        ",\"weights\":" + jsonQuote(weights) +
                        ",\"data\":" + jsonQuote(s.data.pattern) +
                        ",\"split\":" + jsonQuote(o.split) +
                        ",\"step_hours\":" + jsonNumber(double(step) / 3600.0)),
      "scorecard");
  const std::string png = o.out.substr(0, o.out.size() - 5) + ".png";
  plotScorecard(card,
                p.name + ": " + o.split + " split, " +
                    std::to_string(card.windows) + " starts",
                png);
  std::printf("%s: %lld %s windows rolled out %lld steps (%s each)\n",
              p.name.c_str(), (long long)card.windows, o.split.c_str(),
              (long long)steps, formatDuration(step).c_str());
  if (card.timedCalls > 0)
    std::printf("model evaluations after the first batch: %lld in %.3g s "
                "(%.1f/s, batch %lld)\n",
                (long long)card.timedCalls, card.modelSeconds,
                double(card.timedCalls) / card.modelSeconds, (long long)B);
  printScorecard(card);
  std::printf("scorecard '%s', skill against lead time '%s'\n", o.out.c_str(),
              png.c_str());
  return 0;
}

} // namespace s2s::rt
