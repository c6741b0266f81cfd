//===- ServerSource.cpp - The server(address, name) data source -----------===//
//
// ServerSamples: the index snapshot taken when the source was opened and a
// pool of connections; read() fetches whole samples (all channels) and
// keeps the channels wanted.
//
//===----------------------------------------------------------------------===//

#include "data/ServerSource.h"

#include "s2s/runtime/Error.h"
#include "store/ServerStore.h"
#include "support/Calendar.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>

namespace s2s::rt::data_detail {

namespace {

class ServerSamples final : public hdf5::ExternalSamples {
public:
  ServerSamples(std::string address, std::string name,
                RedisClient::Options options, std::vector<ServerSample> index,
                int64_t channels, int64_t plane, bool ring)
      : address_(std::move(address)), name_(std::move(name)),
        options_(std::move(options)), index_(std::move(index)),
        channels_(channels), plane_(plane), ring_(ring) {}

  void read(size_t, int64_t t0, int64_t n, const std::vector<int64_t> &chans,
            float *out) override {
    std::unique_ptr<Connection> c = take();
    std::vector<ServerSample> entries(index_.begin() + t0,
                                      index_.begin() + t0 + n);
    bool all = int64_t(chans.size()) == channels_;
    for (size_t j = 0; all && j < chans.size(); ++j)
      all = chans[j] == int64_t(j);
    std::vector<float> whole(all ? 0 : size_t(n * channels_ * plane_));
    const std::optional<int64_t> trimmed =
        fetch(*c, entries, reinterpret_cast<char *>(all ? out : whole.data()));
    const std::string set = c->store.describe();
    give(std::move(c)); // not after an error: a broken connection is dropped
    if (trimmed)
      throw RingMoved(set + ": ring sample at " + formatTime(*trimmed) +
                      " was trimmed off before it was read");
    if (all)
      return;
    const int64_t k = int64_t(chans.size());
    for (int64_t t = 0; t < n; ++t)
      for (int64_t j = 0; j < k; ++j)
        std::memcpy(out + (t * k + j) * plane_,
                    whole.data() + (t * channels_ + chans[size_t(j)]) * plane_,
                    size_t(plane_) * sizeof(float));
  }

private:
  struct Connection {
    Connection(const std::string &address, const std::string &name,
               const RedisClient::Options &o)
        : client(address, o), store(client, name) {}
    RedisClient client;
    ServerStore store;
  };
  /// The index's samples (replaced ones read in their new version) or
  /// the ring's; returns the time of a ring sample trimmed off meanwhile.
  std::optional<int64_t> fetch(Connection &c,
                               std::vector<ServerSample> &entries, char *out) {
    if (!ring_) {
      c.store.read(entries, out);
      return std::nullopt;
    }
    const std::vector<size_t> gone = c.store.readListed(entries, out);
    if (gone.empty())
      return std::nullopt;
    return entries[gone.front()].time;
  }
  std::unique_ptr<Connection> take() {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (!free_.empty()) {
        std::unique_ptr<Connection> c = std::move(free_.back());
        free_.pop_back();
        return c;
      }
    }
    return std::make_unique<Connection>(address_, name_, options_);
  }
  void give(std::unique_ptr<Connection> c) {
    std::lock_guard<std::mutex> lock(m_);
    free_.push_back(std::move(c));
  }

  std::string address_, name_;
  RedisClient::Options options_;
  std::vector<ServerSample> index_;
  int64_t channels_, plane_;
  bool ring_;
  std::mutex m_;
  std::vector<std::unique_ptr<Connection>> free_;
};

} // namespace

namespace {
/// The ring's samples in time order, the newest version of a time pushed
/// twice.
std::vector<ServerSample> ringByTime(ServerStore &store) {
  std::vector<ServerSample> out;
  for (const ServerSample &e : store.ring()) // newest first
    if (std::none_of(out.begin(), out.end(),
                     [&](const ServerSample &o) { return o.time == e.time; }))
      out.push_back(e);
  std::sort(out.begin(), out.end(),
            [](const ServerSample &a, const ServerSample &b) {
              return a.time < b.time;
            });
  return out;
}
} // namespace

namespace {
RedisClient::Options clientOptions() {
  RedisClient::Options o;
  o.password = passwordFromEnvironment();
  o.timeoutSeconds = timeoutFromEnvironment();
  return o;
}
} // namespace

int64_t ringCapacity(const DataConfig &cfg) {
  RedisClient client(cfg.server, clientOptions());
  return ServerStore(client, cfg.serverSet).ringCapacity();
}

ServerSource openServerSource(const DataConfig &cfg, bool ring) {
  const RedisClient::Options o = clientOptions();
  RedisClient client(cfg.server, o);
  ServerStore store(client, cfg.serverSet);
  std::optional<ServerSetMeta> meta = store.meta();
  std::vector<ServerSample> index = ring ? ringByTime(store) : store.index();
  if (!meta || index.empty())
    throw Error(store.describe() +
                (ring ? " has no samples in its ring" : " holds no samples") +
                "; push them first: s2s-data push --address " + cfg.server +
                " --name " + cfg.serverSet + (ring ? " --ring N" : "") +
                " FILE.h5...");
  if (meta->dtype != "float32")
    throw Error(store.describe() + " holds " + meta->dtype +
                " samples; this runtime reads float32");
  ServerSource s;
  hdf5::FileMeta &m = s.meta;
  m.path = cfg.server + "#" + cfg.serverSet;
  m.channels = meta->channels;
  m.nc = int64_t(m.channels.size());
  m.nlat = meta->nlat;
  m.nlon = meta->nlon;
  m.lat = meta->lat;
  m.lon = meta->lon;
  m.typeName = "float32";
  for (const ServerSample &e : index) {
    if (e.bytes != meta->sampleBytes())
      throw Error(store.describe() + ": the sample at time " +
                  std::to_string(e.time) + " has " + std::to_string(e.bytes) +
                  " bytes, not the set's " +
                  std::to_string(meta->sampleBytes()) + "; push it again");
    m.times.push_back(e.time);
  }
  m.nt = int64_t(m.times.size());
  s.samples = std::make_shared<ServerSamples>(cfg.server, cfg.serverSet, o,
                                              std::move(index), m.nc,
                                              m.nlat * m.nlon, ring);
  return s;
}

} // namespace s2s::rt::data_detail
