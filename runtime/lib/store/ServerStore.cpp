//===- ServerStore.cpp - A data set held by a Redis server ----------------===//
//
// The key layout and the versioned write/read protocol of ServerStore.h.
//
//===----------------------------------------------------------------------===//

#include "store/ServerStore.h"

#include "s2s/runtime/Error.h"
#include "support/Calendar.h"
#include "support/Crc32c.h"
#include "support/Text.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>

namespace s2s::rt {

uint32_t sampleChecksum(const void *data, size_t n) { return crc32c(data, n); }

namespace {

std::string entryText(const ServerSample &s) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%" PRIu64 " %" PRId64 " %" PRId64 " %08x",
                s.version, s.bytes, s.chunks, unsigned(s.crc));
  return buf;
}

std::optional<ServerSample> parseEntry(int64_t time, std::string_view text) {
  ServerSample s;
  s.time = time;
  unsigned crc = 0;
  const std::string t(text);
  if (std::sscanf(t.c_str(), "%" SCNu64 " %" SCNd64 " %" SCNd64 " %8x",
                  &s.version, &s.bytes, &s.chunks, &crc) != 4)
    return std::nullopt;
  s.crc = crc;
  return s;
}

std::string doublesBytes(const std::vector<double> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()),
                     v.size() * sizeof(double));
}

std::vector<double> bytesDoubles(std::string_view b) {
  std::vector<double> v(b.size() / sizeof(double));
  std::memcpy(v.data(), b.data(), v.size() * sizeof(double));
  return v;
}

int64_t chunksOf(int64_t bytes) {
  return std::max<int64_t>(1, (bytes + ServerStore::kChunkBytes - 1) /
                                  ServerStore::kChunkBytes);
}

} // namespace

ServerStore::ServerStore(RedisClient &client, std::string name)
    : client_(client), name_(std::move(name)) {
  if (name_.empty() || name_.find_first_of(": \n") != std::string::npos)
    throw Error("data set name '" + name_ +
                "' on a data server must be non-empty, without ':', spaces "
                "or newlines");
}

std::string ServerStore::describe() const {
  return "data set '" + name_ + "' on data server '" + client_.address() + "'";
}

std::string ServerStore::key(const std::string &suffix) const {
  return "s2s:" + name_ + ":" + suffix;
}

std::string ServerStore::chunkKey(int64_t time, uint64_t version,
                                  int64_t k) const {
  return key("c:" + std::to_string(time) + ":" + std::to_string(version) + ":" +
             std::to_string(k));
}

std::optional<ServerSetMeta> ServerStore::meta() {
  const std::string mk = key("meta");
  RedisReply r = client_.command({"HMGET", mk, "channels", "lat", "lon",
                                  "dtype", "latitudes", "longitudes"});
  if (r.size() != 6 || replyText(r.element(0)).empty())
    return std::nullopt;
  ServerSetMeta m;
  const std::string ch(replyText(r.element(0)));
  size_t s = 0;
  for (;;) {
    const size_t e = ch.find('\n', s);
    m.channels.push_back(ch.substr(s, e == std::string::npos ? e : e - s));
    if (e == std::string::npos)
      break;
    s = e + 1;
  }
  m.nlat =
      std::strtoll(std::string(replyText(r.element(1))).c_str(), nullptr, 10);
  m.nlon =
      std::strtoll(std::string(replyText(r.element(2))).c_str(), nullptr, 10);
  m.dtype = std::string(replyText(r.element(3)));
  m.lat = bytesDoubles(replyText(r.element(4)));
  m.lon = bytesDoubles(replyText(r.element(5)));
  return m;
}

void ServerStore::putMeta(const ServerSetMeta &m) {
  if (std::optional<ServerSetMeta> old = meta()) {
    auto differ = [&](const std::string &what, const std::string &a,
                      const std::string &b) {
      throw Error(describe() + " holds " + what + " " + a +
                  "; the samples pushed now have " + b +
                  "; push them under another name (--name) or clear the set "
                  "first (s2s-data push --clear)");
    };
    if (old->channels != m.channels)
      differ("channels", join(old->channels), join(m.channels));
    if (old->nlat != m.nlat || old->nlon != m.nlon)
      differ("grid",
             std::to_string(old->nlat) + "x" + std::to_string(old->nlon),
             std::to_string(m.nlat) + "x" + std::to_string(m.nlon));
    if (old->lat != m.lat || old->lon != m.lon)
      differ("coordinates", "(its /lat, /lon)", "other /lat, /lon values");
    return;
  }
  std::string ch;
  for (size_t i = 0; i < m.channels.size(); ++i)
    ch += (i ? "\n" : "") + m.channels[i];
  const std::string lat = std::to_string(m.nlat), lon = std::to_string(m.nlon);
  const std::string la = doublesBytes(m.lat), lo = doublesBytes(m.lon);
  client_.command({"HSET", key("meta"), "channels", ch, "lat", lat, "lon", lon,
                   "dtype", m.dtype, "latitudes", la, "longitudes", lo});
}

std::vector<ServerSample>
ServerStore::writeVersions(const std::vector<int64_t> &times, const char *data,
                           int64_t sampleBytes) {
  const int64_t n = int64_t(times.size()), chunks = chunksOf(sampleBytes);
  const uint64_t last = uint64_t(
      client_.command({"INCRBY", key("version"), std::to_string(n)}).integer());
  std::vector<ServerSample> fresh;
  // A sliding pipeline, as fetch's: a reply read whenever more than
  // kInFlightBytes of SETs are unanswered.
  std::vector<int64_t> unanswered;
  size_t answered = 0;
  int64_t inFlight = 0;
  for (int64_t i = 0; i < n; ++i) {
    ServerSample s;
    s.time = times[size_t(i)];
    s.version = last - uint64_t(n) + 1 + uint64_t(i);
    s.bytes = sampleBytes;
    s.chunks = chunks;
    const char *p = data + i * sampleBytes;
    s.crc = sampleChecksum(p, size_t(sampleBytes));
    for (int64_t k = 0; k < chunks; ++k) {
      const int64_t at = k * kChunkBytes;
      const int64_t size = std::min(kChunkBytes, sampleBytes - at);
      const std::string ck = chunkKey(s.time, s.version, k);
      client_.append({"SET", ck, std::string_view(p + at, size_t(size))});
      unanswered.push_back(size);
      for (inFlight += size;
           inFlight > kInFlightBytes && answered + 1 < unanswered.size();) {
        client_.reply();
        inFlight -= unanswered[answered++];
      }
    }
    fresh.push_back(s);
  }
  for (; answered < unanswered.size(); ++answered)
    client_.reply();
  return fresh;
}

void ServerStore::deleteChunks(const std::vector<ServerSample> &dead) {
  std::vector<std::string> keys;
  for (const ServerSample &e : dead)
    for (int64_t k = 0; k < e.chunks; ++k)
      keys.push_back(chunkKey(e.time, e.version, k));
  if (keys.empty())
    return;
  std::vector<std::string_view> del = {"UNLINK"};
  for (const std::string &d : keys)
    del.push_back(d);
  client_.command(del);
}

namespace {
/// Runs `commands` as one MULTI/EXEC transaction, pipelined, and returns
/// EXEC's reply (one element per command); `what` names it in the error.
RedisReply
transaction(RedisClient &client,
            const std::vector<std::vector<std::string_view>> &commands,
            const std::string &what) {
  client.append({"MULTI"});
  for (const auto &c : commands)
    client.append(c);
  client.append({"EXEC"});
  for (size_t i = 0; i <= commands.size(); ++i)
    client.reply(); // OK and QUEUED
  RedisReply exec = client.reply();
  if (exec.size() != commands.size())
    throw Error("data server '" + client.address() + "' did not carry out " +
                what);
  return exec;
}
} // namespace

int64_t ServerStore::put(const std::vector<int64_t> &times, const char *data,
                         int64_t sampleBytes) {
  if (times.empty())
    return 0;
  const std::vector<ServerSample> fresh =
      writeVersions(times, data, sampleBytes);

  // The swap: the old entries read and the new ones written atomically.
  const std::string ik = key("index");
  std::vector<std::string> ts, es;
  for (const ServerSample &s : fresh) {
    ts.push_back(std::to_string(s.time));
    es.push_back(entryText(s));
  }
  std::vector<std::string_view> hmget = {"HMGET", ik}, hset = {"HSET", ik};
  for (size_t i = 0; i < fresh.size(); ++i) {
    hmget.push_back(ts[i]);
    hset.push_back(ts[i]);
    hset.push_back(es[i]);
  }
  RedisReply exec =
      transaction(client_, {hmget, hset}, "the index swap of " + describe());

  // The replaced versions' chunks, deleted once no index names them.
  const redisReply *old = exec.element(0);
  std::vector<ServerSample> dead;
  for (size_t i = 0; i < old->elements; ++i)
    if (auto e = parseEntry(fresh[i].time, replyText(old->element[i])))
      dead.push_back(*e);
  deleteChunks(dead);
  return int64_t(dead.size());
}

namespace {
std::string ringEntryText(const ServerSample &s) {
  return std::to_string(s.time) + " " + entryText(s);
}
std::optional<ServerSample> parseRingEntry(std::string_view text) {
  const size_t sp = text.find(' ');
  if (sp == std::string_view::npos)
    return std::nullopt;
  return parseEntry(
      std::strtoll(std::string(text.substr(0, sp)).c_str(), nullptr, 10),
      text.substr(sp + 1));
}
} // namespace

int64_t ServerStore::ringAppend(int64_t time, const char *data, int64_t bytes,
                                int64_t capacity) {
  if (capacity < 1)
    throw Error(describe() + ": a ring needs a capacity of at least 1");
  const ServerSample s = writeVersions({time}, data, bytes).front();
  const std::string rk = key("ring"), entry = ringEntryText(s);
  const std::string from = std::to_string(capacity),
                    to = std::to_string(capacity - 1);
  RedisReply exec = transaction(client_,
                                {{"LPUSH", rk, entry},
                                 {"LRANGE", rk, from, "-1"},
                                 {"LTRIM", rk, "0", to},
                                 {"HSET", key("meta"), "ring", from}},
                                "the ring append of " + describe());
  const redisReply *dropped = exec.element(1);
  std::vector<ServerSample> dead;
  for (size_t i = 0; i < dropped->elements; ++i)
    if (auto e = parseRingEntry(replyText(dropped->element[i])))
      dead.push_back(*e);
  deleteChunks(dead);
  return int64_t(dead.size());
}

int64_t ServerStore::ringSize() {
  return client_.command({"LLEN", key("ring")}).integer();
}

int64_t ServerStore::ringCapacity() {
  RedisReply r = client_.command({"HGET", key("meta"), "ring"});
  return r.isNil() ? 0
                   : std::strtoll(std::string(r.text()).c_str(), nullptr, 10);
}

std::vector<ServerSample> ServerStore::ring() {
  RedisReply r = client_.command({"LRANGE", key("ring"), "0", "-1"});
  std::vector<ServerSample> out;
  for (size_t i = 0; i < r.size(); ++i) {
    auto e = parseRingEntry(replyText(r.element(i)));
    if (!e)
      throw Error(describe() + ": ring entry '" +
                  std::string(replyText(r.element(i))) +
                  "' is malformed; clear the set (s2s-data push --clear) "
                  "and push again");
    out.push_back(*e);
  }
  return out;
}

std::vector<size_t>
ServerStore::readListed(const std::vector<ServerSample> &entries, char *out) {
  std::vector<char *> dst;
  std::vector<size_t> which;
  for (size_t i = 0; i < entries.size(); ++i) {
    dst.push_back(out);
    out += entries[i].bytes;
    which.push_back(i);
  }
  return fetch(entries, which, dst);
}

std::vector<ServerSample> ServerStore::index() {
  RedisReply r = client_.command({"HGETALL", key("index")});
  std::vector<ServerSample> out;
  for (size_t i = 0; i + 1 < r.size(); i += 2) {
    const std::string t(replyText(r.element(i)));
    auto e = parseEntry(std::strtoll(t.c_str(), nullptr, 10),
                        replyText(r.element(i + 1)));
    if (!e)
      throw Error(describe() + ": index entry '" + t + "' is malformed ('" +
                  std::string(replyText(r.element(i + 1))) +
                  "'); push the data again");
    out.push_back(*e);
  }
  std::sort(out.begin(), out.end(),
            [](const ServerSample &a, const ServerSample &b) {
              return a.time < b.time;
            });
  return out;
}

std::vector<size_t> ServerStore::fetch(const std::vector<ServerSample> &entries,
                                       const std::vector<size_t> &which,
                                       const std::vector<char *> &dst) {
  std::vector<std::string> keys;
  std::vector<int64_t> sizes; // of each chunk, as pushed
  for (size_t i : which)
    for (int64_t k = 0; k < entries[i].chunks; ++k) {
      keys.push_back(chunkKey(entries[i].time, entries[i].version, k));
      sizes.push_back(
          std::min(kChunkBytes, entries[i].bytes - k * kChunkBytes));
    }
  // A sliding pipeline: the next GET goes out as soon as a reply is read,
  // with at most kInFlightBytes of replies outstanding (one GET at least).
  size_t sent = 0, got = 0;
  int64_t inFlight = 0;
  auto pump = [&] {
    while (sent < keys.size() &&
           (sent == got || inFlight + sizes[sent] <= kInFlightBytes)) {
      client_.append({"GET", keys[sent]});
      inFlight += sizes[sent++];
    }
  };
  pump();
  std::vector<size_t> missing;
  std::string corrupt; // thrown once every reply is read: the connection
                       // stays in step
  for (size_t i : which) {
    const ServerSample &s = entries[i];
    bool gone = false;
    int64_t at = 0;
    for (int64_t k = 0; k < s.chunks; ++k) {
      RedisReply r = client_.reply();
      inFlight -= sizes[got++];
      pump();
      const std::string_view v = r.text();
      if (r.isNil() || at + int64_t(v.size()) > s.bytes) {
        gone = true;
        continue;
      }
      std::memcpy(dst[i] + at, v.data(), v.size());
      at += int64_t(v.size());
    }
    if (gone || at != s.bytes) {
      missing.push_back(i);
      continue;
    }
    if (corrupt.empty() && sampleChecksum(dst[i], size_t(s.bytes)) != s.crc)
      corrupt = describe() + ": sample at " + formatTime(s.time) + " (time " +
                std::to_string(s.time) + ", version " +
                std::to_string(s.version) +
                ") fails its CRC-32C check: its bytes are not the ones "
                "pushed; push it again (s2s-data push)";
  }
  if (!corrupt.empty())
    throw Error(corrupt);
  return missing;
}

void ServerStore::read(std::vector<ServerSample> &entries, char *out) {
  std::vector<char *> dst;
  std::vector<size_t> which;
  char *p = out;
  for (size_t i = 0; i < entries.size(); ++i) {
    dst.push_back(p);
    p += entries[i].bytes;
    which.push_back(i);
  }
  for (int attempt = 0; !which.empty(); ++attempt) {
    which = fetch(entries, which, dst);
    if (which.empty())
      return;
    // Replaced meanwhile: the current entries, then those versions.
    std::vector<std::string> ts;
    std::vector<std::string_view> hmget = {"HMGET", key("index")};
    for (size_t i : which)
      ts.push_back(std::to_string(entries[i].time));
    for (const std::string &t : ts)
      hmget.push_back(t);
    RedisReply r = client_.command(hmget);
    for (size_t j = 0; j < which.size(); ++j) {
      ServerSample &s = entries[which[j]];
      auto e = parseEntry(s.time, replyText(r.element(j)));
      if (!e || e->bytes != s.bytes)
        throw Error(describe() + ": sample at " + formatTime(s.time) +
                    " was removed or changed size while being read; push it "
                    "again with the set's grid and channels");
      if (e->version == s.version && attempt > 0)
        throw Error(describe() + ": chunks of sample at " + formatTime(s.time) +
                    " (version " + std::to_string(s.version) +
                    ") are missing from the server (evicted? check its "
                    "maxmemory); push the data again");
      s = *e;
    }
    if (attempt >= 8)
      throw Error(describe() + ": sample at " +
                  formatTime(entries[which.front()].time) +
                  " was replaced more than 8 times while being read");
  }
}

int64_t ServerStore::clear() {
  int64_t removed = 0;
  std::string cursor = "0";
  const std::string pattern = "s2s:" + name_ + ":*";
  do {
    RedisReply r =
        client_.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    cursor = std::string(replyText(r.element(0)));
    const redisReply *keys = r.element(1);
    if (keys->elements == 0)
      continue;
    std::vector<std::string_view> del = {"UNLINK"};
    for (size_t i = 0; i < keys->elements; ++i)
      del.push_back(replyText(keys->element[i]));
    removed += client_.command(del).integer();
  } while (cursor != "0");
  return removed;
}

} // namespace s2s::rt
