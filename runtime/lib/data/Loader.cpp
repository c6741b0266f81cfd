//===- Loader.cpp - Batches of windows, in every memory mode --------------===//
//
// BatchLoader::open plans the split from the files' metadata (Split.h's
// planSplit: the same checks and messages as Dataset::open), then builds
//
//   EagerLoader   the split read into one float32 tensor (Dataset's load),
//                 or, shared, into a POSIX shared-memory segment per node;
//   LazyLoader    nothing read until a batch asks for its frames;
//   StreamLoader  a buffer of windows refreshed by reader threads.
//
// The first two hand out the batches of epochIndices (Sampler.h) through a
// Prefetcher (Prefetch.h); the stream draws its batches from the buffer
// through one. Field values are read by hdf5/FieldReader.h (pread where the
// layout allows, in parallel); every HDF5 call holds hdf5::hdf5Mutex().
//
//===----------------------------------------------------------------------===//

#include "data/Loader.h"

#include "data/Prefetch.h"
#include "data/Ring.h"
#include "data/Sampler.h"
#include "data/ServerSource.h"
#include "data/Split.h"
#include "dist/Launch.h"
#include "s2s/runtime/Error.h"
#include "store/SharedMemory.h"
#include "support/Hash.h"
#include "support/Text.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <thread>

namespace s2s::rt {

using namespace data_detail;
using hdf5::FieldReader;
using Prefetcher = loader_detail::Prefetcher<Batch>;

BatchLoader::~BatchLoader() = default;

//===----------------------------------------------------------------------===//
// The loaders
//===----------------------------------------------------------------------===//

namespace {

/// What every mode knows about the split before reading field values.
struct Core {
  DataConfig cfg;
  Split split = Split::Train;
  SplitPlan plan;
  Normalization norm;
  std::vector<int64_t> starts; ///< first sample of each window
  int64_t window = 1;
  torch::Tensor lat, lon, mean, std;
  std::vector<std::string> files;

  int64_t frame() const { return plan.frame(); }
  /// Split sample of frame k of window i.
  int64_t sample(int64_t i, int64_t k) const {
    return starts[size_t(i)] + k * plan.stride;
  }
  void finish() {
    lat = torch::tensor(latitudes(plan), torch::kFloat64);
    lon = torch::tensor(longitudes(plan), torch::kFloat64);
    mean = torch::tensor(norm.a, torch::kFloat64);
    std = torch::tensor(norm.b, torch::kFloat64);
    for (const auto &f : plan.files)
      files.push_back(f.path);
  }
};

/// Reads windows from the files on demand (lazy and stream modes); thread-
/// safe. FieldReader does the reading (pread where the layout allows it,
/// in parallel across threads; HDF5 otherwise), the finiteness check and
/// the normalisation, frame by frame while it is in cache.
class FileReader {
public:
  FileReader(const Core &core, std::atomic<int64_t> &bytes)
      : core_(core), reader_(core.plan, core.cfg.field, &core.norm, &bytes) {}

  /// Windows `idx` normalised into out ([idx.size(), window, C, H, W]).
  /// Each frame is read once: a frame that an earlier window of the batch
  /// holds too is copied from there; consecutive frames (windows of a
  /// stride of 1) are read by one call.
  void windows(const std::vector<int64_t> &idx, float *out) {
    const int64_t W = core_.window;
    const size_t frame = size_t(core_.frame());
    std::vector<std::pair<int64_t, size_t>> seen; // (sample, slot), sorted
    seen.reserve(idx.size() * size_t(W));
    int64_t runSample = -1, runLen = 0;
    size_t runSlot = 0;
    auto flush = [&] {
      if (runLen > 0)
        reader_.read(runSample, runLen, out + runSlot * frame);
      runLen = 0;
    };
    size_t slot = 0;
    for (int64_t i : idx)
      for (int64_t k = 0; k < W; ++k, ++slot) {
        const int64_t s = core_.sample(i, k);
        auto at = std::lower_bound(seen.begin(), seen.end(),
                                   std::make_pair(s, size_t(0)));
        if (at != seen.end() && at->first == s) {
          flush(); // the earlier slot may be in the pending run
          std::memcpy(out + slot * frame, out + at->second * frame,
                      frame * sizeof(float));
          continue;
        }
        seen.insert(at, {s, slot});
        if (runLen > 0 && s == runSample + runLen &&
            slot == runSlot + size_t(runLen)) {
          ++runLen;
          continue;
        }
        flush();
        runSample = s;
        runSlot = slot;
        runLen = 1;
      }
    flush();
  }

private:
  const Core &core_;
  FieldReader reader_;
};

/// Batch tensors reused once their consumer dropped them: the memory of a
/// loader is a fixed set of batch buffers (about prefetch + threads + the
/// batches the consumer holds), not whatever the allocator keeps of the
/// batches freed so far, and no batch page-faults fresh memory. A buffer
/// is free when only the pool refers to its storage (the batch handed out
/// is an alias of it, so views and copies of the batch keep it taken).
class BufferPool {
public:
  torch::Tensor take(const std::vector<int64_t> &sizes) {
    std::lock_guard<std::mutex> lock(m_);
    for (torch::Tensor &t : buffers_)
      if (t.storage().use_count() == 1 && t.sizes() == sizes)
        return t.alias();
    torch::Tensor t = torch::empty(sizes, torch::kFloat32);
    // Beyond kMax (a consumer that keeps its batches), plain tensors.
    if (buffers_.size() < kMax)
      buffers_.push_back(t);
    return t.alias();
  }

private:
  static constexpr size_t kMax = 16;
  std::mutex m_;
  std::vector<torch::Tensor> buffers_;
};

class LoaderBase : public BatchLoader {
public:
  LoaderBase(Core core, const LoaderConfig &config, int64_t batch,
             uint64_t seed, bool shuffle, bool dropLast)
      : core_(std::move(core)), config_(config), batch_(batch), seed_(seed),
        shuffle_(shuffle), dropLast_(dropLast) {}

  int64_t size() const override { return int64_t(core_.starts.size()); }
  const std::vector<std::string> &channelNames() const override {
    return core_.plan.names;
  }
  int64_t lat() const override { return core_.plan.lat(); }
  int64_t lon() const override { return core_.plan.lon(); }
  torch::Tensor latitude() const override { return core_.lat; }
  torch::Tensor longitude() const override { return core_.lon; }
  torch::Tensor mean() const override { return core_.mean; }
  torch::Tensor stddev() const override { return core_.std; }
  const std::vector<std::string> &files() const override { return core_.files; }
  std::vector<std::pair<std::string, std::string>> hdf5Files() const override {
    std::vector<std::pair<std::string, std::string>> out;
    if (core_.plan.external) // a data server: no file
      return out;
    for (const FileMeta &f : core_.plan.files)
      if (!hdf5::readsItself(f))
        out.emplace_back(f.path, hdf5::hdf5ReadsForced()
                                     ? "S2S_HDF5_READS is set"
                                     : f.hdf5Why);
    return out;
  }
  const LoaderConfig &config() const override { return config_; }
  int64_t window() const override { return core_.window; }
  int64_t batch() const override { return batch_; }

  LoaderStats stats() const override {
    LoaderStats s;
    s.bytesRead = bytesRead_.load();
    s.batches = batches_.load();
    s.waitSeconds = waitSeconds_;
    s.residentSamples = resident();
    return s;
  }

  Batch fetch(const std::vector<int64_t> &indices) override {
    for (int64_t i : indices)
      if (i < 0 || i >= size())
        throw Error("window index " + std::to_string(i) +
                    " is out of range: the split has " +
                    std::to_string(size()) + " windows (0.." +
                    std::to_string(size() - 1) + ")");
    return make(indices);
  }

protected:
  /// Windows `idx` into out ([idx.size(), window, C, H, W]); thread-safe.
  virtual void assemble(const std::vector<int64_t> &idx, float *out) = 0;
  virtual int64_t resident() const = 0;

  Batch make(const std::vector<int64_t> &idx) {
    Batch b;
    const SplitPlan &p = core_.plan;
    b.window = pool_.take(
        {int64_t(idx.size()), core_.window, p.channels(), p.lat(), p.lon()});
    assemble(idx, b.window.data_ptr<float>());
    b.times = torch::empty({int64_t(idx.size())}, torch::kInt64);
    int64_t *t = b.times.data_ptr<int64_t>();
    for (size_t j = 0; j < idx.size(); ++j)
      t[j] = p.times[size_t(core_.starts[size_t(idx[j])])];
    b.indices = idx;
    return b;
  }

  /// The consumer's side of a Prefetcher: counts and times.
  std::optional<Batch> take(Prefetcher &pf) {
    double waited = 0;
    std::optional<Batch> b;
    try {
      b = pf.next(waited);
    } catch (...) {
      waitSeconds_ += waited;
      throw;
    }
    waitSeconds_ += waited;
    if (b)
      ++batches_;
    return b;
  }

  int64_t prefetchThreads() const {
    return std::max<int64_t>(1, config_.threads);
  }

  Core core_;
  LoaderConfig config_;
  BufferPool pool_;
  int64_t batch_;
  uint64_t seed_;
  bool shuffle_, dropLast_;
  std::atomic<int64_t> bytesRead_{0}, batches_{0};
  double waitSeconds_ = 0; ///< the consumer's thread only
};

/// Eager, shared and lazy: the epochs of epochIndices, cut into batches.
class EpochLoader : public LoaderBase {
public:
  using LoaderBase::LoaderBase;

  int64_t batchesPerEpoch() const override {
    return firstBatches_ >= 0 ? firstBatches_ : batchesPerEpochNow();
  }

  void startEpoch(int64_t epoch, int64_t first) override {
    pf_.stop();
    if (epoch < 0 || first < 0)
      throw Error("startEpoch(" + std::to_string(epoch) + ", " +
                  std::to_string(first) +
                  "): the epoch and first batch must be >= 0");
    added_ = pickUpNewSamples();
    order_ = epochIndices(size(), config_.rank, config_.worldSize, seed_, epoch,
                          shuffle_, dropLast_);
    const int64_t n = batchesPerEpoch();
    pf_.start(std::min(first, n), n, config_.prefetch, prefetchThreads(),
              [this](int64_t b) {
                const int64_t lo = b * batch_;
                const int64_t hi =
                    std::min<int64_t>(lo + batch_, int64_t(order_.size()));
                return make(std::vector<int64_t>(order_.begin() + lo,
                                                 order_.begin() + hi));
              });
  }

  std::optional<Batch> next() override { return take(pf_); }

  LoaderStats stats() const override {
    LoaderStats s = LoaderBase::stats();
    s.samplesAdded = added_;
    return s;
  }

protected:
  int64_t queuedWindows() const { return pf_.queued() * batch_; }
  /// A data server's split planned again from its index (lazy mode, no
  /// read in flight), so that this epoch draws from the samples pushed
  /// since; returns how many were added. An epoch keeps the first one's
  /// number of batches (the schedule and checkpoints count on it), drawn
  /// from all the windows present now.
  int64_t pickUpNewSamples() {
    if (!core_.plan.external || config_.mode != LoaderConfig::Mode::Lazy)
      return 0;
    if (firstBatches_ < 0)
      firstBatches_ = batchesPerEpochNow();
    SplitPlan plan = planSplit(core_.cfg, core_.split, core_.window);
    const int64_t added = plan.total - core_.plan.total;
    core_.plan = std::move(plan); // in place: the reader refers to it
    core_.starts = windowStarts(core_.plan, core_.window);
    return added;
  }
  int64_t batchesPerEpochNow() const {
    const int64_t per = samplesPerRank(size(), config_.worldSize, dropLast_);
    return dropLast_ ? per / batch_ : (per + batch_ - 1) / batch_;
  }
  std::vector<int64_t> order_;
  int64_t added_ = 0, firstBatches_ = -1;
  Prefetcher pf_;
};

class EagerLoader final : public EpochLoader {
public:
  EagerLoader(Core core, const LoaderConfig &config, int64_t batch,
              uint64_t seed, bool shuffle, bool dropLast)
      : EpochLoader(std::move(core), config, batch, seed, shuffle, dropLast) {}
  ~EagerLoader() override { pf_.stop(); }

  /// The stats first (a stats file that does not fit fails before the
  /// read), then the read, normalised block by block as it arrives
  /// (NaN errors), then the windows.
  void load(const DataConfig &cfg, Split split) {
    const SplitPlan &plan = core_.plan;
    const int64_t total = plan.total;
    if (!config_.shared) {
      core_.norm = loadNormalization(cfg, plan.names);
      store_ =
          emptySplitTensor({total, plan.channels(), plan.lat(), plan.lon()});
      readSplit(plan, cfg.field, store_.data_ptr<float>(), &core_.norm,
                &bytesRead_);
      core_.starts = windowStarts(plan, core_.window);
      core_.finish();
      return;
    }
    // Shared: everything that can fail without reading first, so that the
    // segment is filled only with a split that will be used.
    core_.norm = loadNormalization(cfg, plan.names);
    core_.starts = windowStarts(plan, core_.window);
    const std::string key = segmentKey(cfg, split);
    const std::string name =
        (cfg.name.empty() ? std::string("data") : cfg.name) + "-" +
        splitName(split) + "-" + key;
    const size_t bytes = size_t(total * plan.frame()) * sizeof(float);
    segment_ =
        SharedSegment::acquire(jobId(key), name, bytes, [&](void *p, size_t) {
          readSplit(plan, cfg.field, static_cast<float *>(p), &core_.norm,
                    &bytesRead_);
        });
    store_ = torch::from_blob(const_cast<void *>(segment_.data()),
                              {total, plan.channels(), plan.lat(), plan.lon()},
                              torch::kFloat32);
    core_.finish();
  }

protected:
  void assemble(const std::vector<int64_t> &idx, float *out) override {
    const float *base = store_.data_ptr<float>();
    const int64_t frame = core_.frame();
    for (size_t j = 0; j < idx.size(); ++j)
      for (int64_t k = 0; k < core_.window; ++k)
        std::memcpy(out + (int64_t(j) * core_.window + k) * frame,
                    base + core_.sample(idx[j], k) * frame,
                    size_t(frame) * sizeof(float));
  }
  int64_t resident() const override { return core_.plan.total; }

private:
  /// What identifies the segment's content, the same in every rank: FNV-1a
  /// of the files (path, size, modification time), the channels, the
  /// split's samples, the field and the normalisation.
  std::string segmentKey(const DataConfig &cfg, Split split) const {
    Fnv1a h;
    auto str = [&](const std::string &s) { h.bytes(s.c_str(), s.size() + 1); };
    auto num = [&](int64_t v) { h.littleEndian(uint64_t(v)); };
    const SplitPlan &plan = core_.plan;
    for (const auto &f : plan.files) {
      str(f.path);
      struct stat st {};
      if (::stat(f.path.c_str(), &st) == 0) {
        num(int64_t(st.st_size));
        num(int64_t(st.st_mtim.tv_sec));
        num(int64_t(st.st_mtim.tv_nsec));
      }
    }
    str(cfg.field);
    for (const auto &n : plan.names)
      str(n);
    str(splitName(split));
    for (const auto &p : plan.parts) {
      num(int64_t(p.file));
      num(p.t0);
      num(p.n);
    }
    str(name(cfg.normalize));
    str(cfg.stats);
    h.bytes(core_.norm.a.data(), core_.norm.a.size() * sizeof(double));
    h.bytes(core_.norm.b.data(), core_.norm.b.size() * sizeof(double));
    return hex16(h.value());
  }

  SharedSegment segment_; ///< before store_: outlives the view of it
  torch::Tensor store_;   ///< [total, C, H, W] normalised
};

class LazyLoader final : public EpochLoader {
public:
  LazyLoader(Core core, const LoaderConfig &config, int64_t batch,
             uint64_t seed, bool shuffle, bool dropLast)
      : EpochLoader(std::move(core), config, batch, seed, shuffle, dropLast),
        reader_(core_, bytesRead_) {}
  ~LazyLoader() override { pf_.stop(); }

protected:
  void assemble(const std::vector<int64_t> &idx, float *out) override {
    reader_.windows(idx, out);
  }
  int64_t resident() const override { return queuedWindows(); }

private:
  FileReader reader_;
};

/// uint64 from (seed, n) for the stream's generators.
uint64_t mix(uint64_t seed, uint64_t n) {
  uint64_t x = seed ^ (n * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class StreamLoader final : public LoaderBase {
public:
  StreamLoader(Core core, const LoaderConfig &config, int64_t batch,
               uint64_t seed, bool shuffle, bool dropLast)
      : LoaderBase(std::move(core), config, batch, seed, shuffle, dropLast),
        reader_(core_, bytesRead_) {
    // This rank's windows (every worldSize-th, as epochIndices without
    // shuffling deals them): the ranks' parts are disjoint for the whole
    // run. No more slots than windows.
    mine_ = epochIndices(size(), config_.rank, config_.worldSize, 0, 0, false,
                         false);
    std::sort(mine_.begin(), mine_.end()); // (padding may repeat a window)
    mine_.erase(std::unique(mine_.begin(), mine_.end()), mine_.end());
    capacity_ = std::min(config_.buffer, int64_t(mine_.size()));
    slots_.resize(size_t(capacity_));
    held_.assign(size_t(size()), 0);
  }
  ~StreamLoader() override {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true; // a draw waiting for the first fill gives up
    }
    readerCv_.notify_all();
    drawCv_.notify_all();
    pf_.stop();
    for (std::thread &t : readers_)
      t.join();
  }

  int64_t batchesPerEpoch() const override {
    return size() / batch_ / config_.worldSize;
  }

  void startEpoch(int64_t epoch, int64_t first) override {
    {
      std::lock_guard<std::mutex> lock(m_);
      cancel_ = true; // a draw waiting for the first fill gives up
    }
    drawCv_.notify_all();
    pf_.stop();
    if (epoch < 0 || first < 0)
      throw Error("startEpoch(" + std::to_string(epoch) + ", " +
                  std::to_string(first) +
                  "): the epoch and first batch must be >= 0");
    {
      std::lock_guard<std::mutex> lock(m_);
      cancel_ = false;
      draw_.seed(mix(seed_, uint64_t(epoch) * 2 + 1));
    }
    if (readers_.empty())
      for (int64_t i = 0; i < std::max<int64_t>(1, config_.threads); ++i)
        readers_.emplace_back([this] { read(); });
    const int64_t n = batchesPerEpoch();
    // One assembling thread: drawing is a copy, the readers do the I/O.
    pf_.start(std::min(first, n), n, config_.prefetch, 1,
              [this](int64_t) { return drawBatch(); });
  }

  std::optional<Batch> next() override { return take(pf_); }

protected:
  void assemble(const std::vector<int64_t> &idx, float *out) override {
    reader_.windows(idx, out);
  }
  int64_t resident() const override {
    std::lock_guard<std::mutex> lock(m_);
    return filled_ + reading_;
  }

private:
  struct Slot {
    std::shared_ptr<const float[]> data; ///< [window, C, H, W]
    int64_t index = -1;
  };

  /// The next window of this rank's walk (m_ held): its windows in a new
  /// seeded order each pass, skipping those in the buffer (or being read
  /// into it) now, so the buffer never holds a window twice. Some window is
  /// not held: the buffer has fewer slots than the rank has windows when
  /// this is called (see read()).
  int64_t nextWindow() {
    for (;;) {
      if (walkAt_ >= int64_t(walk_.size())) {
        walk_ = epochIndices(int64_t(mine_.size()), 0, 1, mix(seed_, 0),
                             pass_++, true, false);
        for (int64_t &i : walk_)
          i = mine_[size_t(i)];
        walkAt_ = 0;
      }
      const int64_t i = walk_[size_t(walkAt_++)];
      if (!held_[size_t(i)])
        return i;
    }
  }

  /// A reader thread: fills the buffer, then replaces windows as the
  /// consumer's draws allow.
  void read() {
    const int64_t frames = core_.window * core_.frame();
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      // Once the buffer holds every window of this rank (a buffer as large
      // as the rank's part), there is nothing to refresh.
      const bool all = capacity_ == int64_t(mine_.size());
      readerCv_.wait(lock, [&] {
        return stop_ || error_ || assigned_ < capacity_ ||
               (!all && budget_ >= 1.0);
      });
      if (stop_ || error_)
        return;
      int64_t slot;
      if (assigned_ < capacity_) {
        slot = assigned_++;
      } else {
        budget_ -= 1.0;
        slot = replaceAt_;
        replaceAt_ = (replaceAt_ + 1) % capacity_;
      }
      const int64_t index = nextWindow();
      ++held_[size_t(index)];
      ++reading_;
      lock.unlock();
      std::shared_ptr<float[]> data;
      std::exception_ptr err;
      try {
        data.reset(new float[size_t(frames)]);
        reader_.windows({index}, data.get());
      } catch (...) {
        err = std::current_exception();
      }
      lock.lock();
      --reading_;
      if (err) {
        error_ = err;
        drawCv_.notify_all();
        readerCv_.notify_all();
        return;
      }
      Slot &s = slots_[size_t(slot)];
      if (!s.data)
        ++filled_;
      else
        --held_[size_t(s.index)];
      s.data = std::move(data);
      s.index = index;
      drawCv_.notify_all();
    }
  }

  /// A batch of `batch_` distinct windows drawn uniformly from the buffer.
  Batch drawBatch() {
    std::vector<std::shared_ptr<const float[]>> picked;
    std::vector<int64_t> idx;
    {
      std::unique_lock<std::mutex> lock(m_);
      // The first draw waits for a full buffer; later ones never wait.
      drawCv_.wait(lock, [&] {
        return stop_ || cancel_ || error_ || filled_ == capacity_;
      });
      if (error_)
        std::rethrow_exception(error_);
      if (stop_ || cancel_)
        throw Error("the stream loader was stopped");
      if (batch_ > capacity_)
        throw Error("stream mode: this rank has " + std::to_string(capacity_) +
                    " windows, fewer than a batch of " +
                    std::to_string(batch_));
      std::vector<int64_t> ids(static_cast<size_t>(capacity_));
      for (int64_t i = 0; i < capacity_; ++i)
        ids[size_t(i)] = i;
      for (int64_t j = 0; j < batch_; ++j) {
        std::uniform_int_distribution<int64_t> pick(j, capacity_ - 1);
        std::swap(ids[size_t(j)], ids[size_t(pick(draw_))]);
        const Slot &s = slots_[size_t(ids[size_t(j)])];
        picked.push_back(s.data);
        idx.push_back(s.index);
      }
      budget_ = std::min(budget_ + config_.refresh * double(batch_),
                         double(capacity_));
    }
    readerCv_.notify_all();
    Batch b;
    const SplitPlan &p = core_.plan;
    b.window =
        pool_.take({batch_, core_.window, p.channels(), p.lat(), p.lon()});
    float *out = b.window.data_ptr<float>();
    const size_t n = size_t(core_.window * core_.frame());
    for (size_t j = 0; j < picked.size(); ++j)
      std::memcpy(out + j * n, picked[j].get(), n * sizeof(float));
    b.times = torch::empty({batch_}, torch::kInt64);
    for (int64_t j = 0; j < batch_; ++j)
      b.times.data_ptr<int64_t>()[j] =
          p.times[size_t(core_.starts[size_t(idx[size_t(j)])])];
    b.indices = std::move(idx);
    return b;
  }

  FileReader reader_;
  std::vector<int64_t> mine_; ///< this rank's windows
  int64_t capacity_ = 0;

  mutable std::mutex m_;
  std::condition_variable readerCv_, drawCv_;
  std::vector<Slot> slots_;
  int64_t assigned_ = 0, filled_ = 0, reading_ = 0, replaceAt_ = 0;
  double budget_ = 0;
  std::vector<int64_t> walk_;
  int64_t walkAt_ = 0, pass_ = 0;
  std::vector<uint8_t> held_; ///< per window: in a slot or being read
  std::mt19937_64 draw_;
  bool stop_ = false, cancel_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> readers_;
  Prefetcher pf_; ///< last: stopped (in the destructor) before the rest
};

/// server(..., ring = true), the train split: each batch drawn from the
/// data server's ring as it is when the batch is made (Ring.h's rule).
class RingLoader final : public LoaderBase {
public:
  RingLoader(Core core, const LoaderConfig &config, int64_t batch,
             uint64_t seed)
      : LoaderBase(std::move(core), config, batch, seed, true, true),
        reader_(core_, bytesRead_) {
    // The windows of the full ring (the same on every rank, however the
    // ring moves while they start), else those of the ring as it is.
    const int64_t full =
        ringCapacity(core_.cfg) - (core_.window - 1) * core_.plan.stride;
    perEpoch_ = std::max(full, size()) / (batch_ * config_.worldSize);
    atOpen_.insert(core_.plan.times.begin(), core_.plan.times.end());
    listed_ = atOpen_;
  }
  ~RingLoader() override { pf_.stop(); }

  int64_t batchesPerEpoch() const override { return perEpoch_; }

  void startEpoch(int64_t epoch, int64_t first) override {
    pf_.stop();
    {
      std::lock_guard<std::mutex> lock(m_);
      usedLast_ = int64_t(used_.size());
      usedNewLast_ = 0;
      for (int64_t t : used_)
        usedNewLast_ += atOpen_.count(t) ? 0 : 1;
      used_.clear();
    }
    // The samples appended since the last epoch started (or training).
    const SplitPlan now = planSplit(core_.cfg, core_.split, core_.window);
    std::set<int64_t> listed(now.times.begin(), now.times.end());
    added_ = 0;
    for (int64_t t : listed)
      added_ += listed_.count(t) ? 0 : 1;
    listed_ = std::move(listed);
    const int64_t n = batchesPerEpoch();
    pf_.start(std::min(first, n), n, config_.prefetch, prefetchThreads(),
              [this, epoch](int64_t b) { return draw(epoch, b); });
  }

  std::optional<Batch> next() override { return take(pf_); }

  LoaderStats stats() const override {
    LoaderStats s = LoaderBase::stats();
    s.samplesAdded = added_;
    return s;
  }
  RingStats ringStats() const {
    RingStats s;
    s.samples = int64_t(listed_.size());
    s.appended = added_;
    s.drawn = usedLast_;
    s.drawnNew = usedNewLast_;
    return s;
  }

protected:
  /// fetch(): the ring's windows as listed when training started.
  void assemble(const std::vector<int64_t> &idx, float *out) override {
    reader_.windows(idx, out);
  }
  int64_t resident() const override {
    return pf_.queued() * batch_ * core_.window;
  }

private:
  /// Batch b of epoch `epoch`: batch_ distinct windows, uniformly over the
  /// windows of the ring as listed now (a seeded shuffle's first batch_
  /// of them, the seed from (seed, rank, epoch, b)). A window trimmed off
  /// before it was read: the ring listed again and the batch drawn anew.
  Batch draw(int64_t epoch, int64_t b) {
    const uint64_t seed = splitmix64(
        seed_ ^ splitmix64(uint64_t(config_.rank) ^ splitmix64(uint64_t(b))));
    for (int attempt = 0; attempt < 8; ++attempt) {
      Core now;
      now.cfg = core_.cfg;
      now.split = core_.split;
      now.window = core_.window;
      now.plan = planSplit(now.cfg, now.split, now.window);
      now.norm = core_.norm;
      now.starts = windowStarts(now.plan, now.window);
      const int64_t n = int64_t(now.starts.size());
      if (n < batch_)
        throw Error("the ring of " + ringText() + " holds " +
                    std::to_string(n) + " windows of " +
                    std::to_string(now.window) + " consecutive samples, " +
                    "fewer than a batch of " + std::to_string(batch_) +
                    "; push more (s2s-data push --ring N) or lower --batch");
      std::vector<int64_t> order =
          epochIndices(n, 0, 1, seed + uint64_t(attempt), epoch, true, false);
      order.resize(size_t(batch_));
      Batch out;
      const SplitPlan &p = now.plan;
      out.window =
          pool_.take({batch_, now.window, p.channels(), p.lat(), p.lon()});
      try {
        FileReader(now, bytesRead_)
            .windows(order, out.window.data_ptr<float>());
      } catch (const RingMoved &) {
        continue;
      }
      out.times = torch::empty({batch_}, torch::kInt64);
      std::lock_guard<std::mutex> lock(m_);
      for (int64_t j = 0; j < batch_; ++j) {
        out.times.data_ptr<int64_t>()[j] =
            p.times[size_t(now.starts[size_t(order[size_t(j)])])];
        for (int64_t k = 0; k < now.window; ++k)
          used_.insert(p.times[size_t(now.sample(order[size_t(j)], k))]);
      }
      out.indices = std::move(order);
      return out;
    }
    throw Error("the ring of " + ringText() +
                " was trimmed faster than a batch could be read (8 tries); "
                "give it a larger capacity (s2s-data push --ring N)");
  }

  std::string ringText() const {
    return "data set '" + core_.cfg.serverSet + "' on data server '" +
           core_.cfg.server + "'";
  }

  FileReader reader_;
  int64_t perEpoch_ = 0;
  std::set<int64_t> atOpen_, listed_; ///< sample times in the ring
  int64_t added_ = 0, usedLast_ = 0, usedNewLast_ = 0;
  std::mutex m_;
  std::set<int64_t> used_; ///< sample times drawn this epoch
  Prefetcher pf_;          ///< last: stopped before the rest
};

} // namespace

std::optional<RingStats> ringStats(const BatchLoader &loader) {
  if (const auto *r = dynamic_cast<const RingLoader *>(&loader))
    return r->ringStats();
  return std::nullopt;
}

std::unique_ptr<BatchLoader>
BatchLoader::open(const DataConfig &data, Split split, int64_t window,
                  int64_t batch, const LoaderConfig &config, uint64_t seed,
                  bool shuffle, bool dropLast) {
  const std::string setName = data.name.empty()
                                  ? std::string("the data set")
                                  : "data set '" + data.name + "'";
  if (batch < 1)
    throw Error("a batch of " + std::to_string(batch) +
                " windows was asked of " + setName + "; it must be at least 1");
  if (config.worldSize < 1 || config.rank < 0 ||
      config.rank >= config.worldSize)
    throw Error("rank " + std::to_string(config.rank) + " of " +
                std::to_string(config.worldSize) +
                " processes: the rank must be in 0..world size - 1");
  if (config.prefetch < 0 || config.threads < 1)
    throw Error("the loader's prefetch (" + std::to_string(config.prefetch) +
                ") must be >= 0 and its threads (" +
                std::to_string(config.threads) + ") >= 1");
  if (config.mode == LoaderConfig::Mode::Stream) {
    if (config.buffer < 1)
      throw Error("stream mode needs a buffer of at least 1 sample (got " +
                  std::to_string(config.buffer) +
                  "); write memory = stream(buffer = N) or pass --buffer N");
    if (!(config.refresh > 0 && config.refresh <= 1))
      throw Error("stream mode's refresh " + formatNumber(config.refresh) +
                  " must be in (0, 1]");
    if (config.buffer < batch)
      throw Error("stream mode's buffer of " + std::to_string(config.buffer) +
                  " samples is smaller than a batch of " +
                  std::to_string(batch) +
                  " windows; raise the buffer (stream(buffer = N) or "
                  "--buffer N) to at least the batch");
  }
  if (config.shared && config.mode != LoaderConfig::Mode::Eager)
    throw Error(std::string("shared memory holds the whole split: it works "
                            "with eager loading only, not ") +
                LoaderConfig::modeName(config.mode));

  if (ringSplit(data, split) &&
      (config.mode != LoaderConfig::Mode::Eager || config.shared))
    throw Error("memory mode " + config.name() +
                " does not apply to a server(..., ring = true) source: "
                "training draws each batch from the ring as it is then; "
                "leave --memory out (prefetch applies)");

  Core core;
  core.cfg = data;
  core.split = split;
  core.window = window;
  // planSplit and loadNormalization take hdf5Mutex() themselves; the eager
  // load's threads need it free.
  core.plan = planSplit(data, split, window);
  std::unique_ptr<BatchLoader> out;
  if (ringSplit(data, split)) {
    core.norm = loadNormalization(data, core.plan.names);
    core.starts = windowStarts(core.plan, window);
    core.finish();
    out = std::make_unique<RingLoader>(std::move(core), config, batch, seed);
  } else if (config.mode == LoaderConfig::Mode::Eager) {
    auto e = std::make_unique<EagerLoader>(std::move(core), config, batch, seed,
                                           shuffle, dropLast);
    e->load(data, split);
    out = std::move(e);
  } else {
    core.norm = loadNormalization(data, core.plan.names);
    core.starts = windowStarts(core.plan, window);
    core.finish();
    if (config.mode == LoaderConfig::Mode::Lazy)
      out = std::make_unique<LazyLoader>(std::move(core), config, batch, seed,
                                         shuffle, dropLast);
    else
      out = std::make_unique<StreamLoader>(std::move(core), config, batch, seed,
                                           shuffle, dropLast);
  }
  return out;
}

} // namespace s2s::rt
