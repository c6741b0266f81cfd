//===- Checkpoint.cpp - Atomic training checkpoints
//------------------------===//

#include "io/Checkpoint.h"

#include "io/FlatShards.h"
#include "s2s/runtime/Error.h"
#include "support/Json.h"
#include "support/Sha256.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace s2s::rt {

//===----------------------------------------------------------------------===//
// Base64
//===----------------------------------------------------------------------===//

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64Encode(const uint8_t *data, size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    uint32_t v = uint32_t(data[i]) << 16;
    if (i + 1 < size)
      v |= uint32_t(data[i + 1]) << 8;
    if (i + 2 < size)
      v |= data[i + 2];
    out += b64chars[(v >> 18) & 63];
    out += b64chars[(v >> 12) & 63];
    out += i + 1 < size ? b64chars[(v >> 6) & 63] : '=';
    out += i + 2 < size ? b64chars[v & 63] : '=';
  }
  return out;
}

std::vector<uint8_t> base64Decode(const std::string &text) {
  if (text.size() % 4 != 0)
    throw Error("bad base64: length " + std::to_string(text.size()) +
                " is not a multiple of 4");
  auto val = [&](char c) -> int {
    const char *p = std::strchr(b64chars, c);
    if (!p || c == '\0')
      throw Error(std::string("bad base64 character '") + c + "'");
    return int(p - b64chars);
  };
  std::vector<uint8_t> out;
  for (size_t i = 0; i < text.size(); i += 4) {
    int pad = (text[i + 3] == '=') + (text[i + 2] == '=');
    if (pad && i + 4 != text.size())
      throw Error("bad base64: padding inside the text");
    uint32_t v = uint32_t(val(text[i])) << 18 | uint32_t(val(text[i + 1]))
                                                    << 12;
    if (pad < 2)
      v |= uint32_t(val(text[i + 2])) << 6;
    if (pad < 1)
      v |= uint32_t(val(text[i + 3]));
    out.push_back(uint8_t(v >> 16));
    if (pad < 2)
      out.push_back(uint8_t(v >> 8));
    if (pad < 1)
      out.push_back(uint8_t(v));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// state.json
//===----------------------------------------------------------------------===//

namespace {

const char *const kStateFile = "state.json";
const char *const kModelFile = "model.safetensors";
const char *const kOptimFile = "optimizer.safetensors";
const char *const kManifestFile = "manifest.json";

std::string rngToText(const torch::Tensor &t) {
  if (!t.defined())
    return "";
  torch::Tensor c = t.to(torch::kCPU).contiguous();
  return base64Encode(c.data_ptr<uint8_t>(), size_t(c.numel()));
}

torch::Tensor rngFromText(const std::string &s) {
  if (s.empty())
    return {};
  std::vector<uint8_t> bytes = base64Decode(s);
  return torch::from_blob(bytes.data(), {int64_t(bytes.size())}, torch::kUInt8)
      .clone();
}

/// state.json's "files": the SHA-256 of each other file of the folder.
using Checksums = std::vector<std::pair<std::string, std::string>>;

/// A JSON object of strings, one member a line.
std::string
stringsObject(const std::vector<std::pair<std::string, std::string>> &m) {
  std::string o = "{";
  for (size_t i = 0; i < m.size(); ++i)
    o += (i ? ",\n    " : "\n    ") + jsonQuote(m[i].first) + ": " +
         jsonQuote(m[i].second);
  return o + (m.empty() ? "}" : "\n  }");
}

std::string stateToJson(const TrainState &s, const Checksums &files) {
  std::ostringstream o;
  o << "{\n"
    << "  \"format\": \"s2s-checkpoint-2\",\n"
    << "  \"program\": " << jsonQuote(s.program) << ",\n"
    << "  \"spec\": " << jsonQuote(s.spec) << ",\n"
    << "  \"epoch\": " << s.epoch << ",\n"
    << "  \"batch\": " << s.batch << ",\n"
    << "  \"global_step\": " << s.globalStep << ",\n"
    << "  \"schedule_step\": " << s.scheduleStep << ",\n"
    << "  \"shuffle_seed\": " << jsonQuote(std::to_string(s.shuffleSeed))
    << ",\n"
    << "  \"batch_size\": " << s.batchSize << ",\n"
    << "  \"steps_per_epoch\": " << s.stepsPerEpoch << ",\n"
    << "  \"train_windows\": " << s.trainWindows << ",\n"
    << "  \"epoch_loss_sum\": " << jsonNumber(s.epochLossSum) << ",\n"
    << "  \"epoch_loss_count\": " << s.epochLossCount << ",\n"
    << "  \"log_loss_sum\": " << jsonNumber(s.logLossSum) << ",\n"
    << "  \"log_loss_count\": " << s.logLossCount << ",\n"
    << "  \"precision\": " << jsonQuote(s.precision) << ",\n"
    << "  \"loss_scale\": " << jsonNumber(s.lossScale) << ",\n"
    << "  \"loss_scale_good_steps\": " << s.lossScaleGoodSteps << ",\n"
    << "  \"model_rng\": " << jsonQuote(rngToText(s.modelRng)) << ",\n"
    << "  \"torch_rng\": " << jsonQuote(rngToText(s.torchRng)) << ",\n"
    << "  \"fingerprint\": " << stringsObject(s.fingerprint) << ",\n"
    << "  \"files\": " << stringsObject(files) << "\n"
    << "}\n";
  return o.str();
}

/// What state.json holds.
struct StateFile {
  TrainState state;
  Checksums files; ///< empty in format 1
};

StateFile stateFromJson(const std::string &text, const std::string &path) {
  Json j = Json::parse(text, "'" + path + "'");
  auto bad = [&](const std::string &msg) {
    return Error("'" + path + "' is not a valid checkpoint state: " + msg);
  };
  if (j.kind != Json::Object)
    throw bad("not a JSON object");
  auto str = [&](const char *key) {
    const Json *v = j.get(key);
    if (!v || v->kind != Json::String)
      throw bad(std::string("missing string '") + key + "'");
    return v->string;
  };
  auto integer = [&](const char *key) {
    const Json *v = j.get(key);
    if (!v || v->kind != Json::Number || !v->isInteger)
      throw bad(std::string("missing integer '") + key + "'");
    return v->integer;
  };
  auto number = [&](const char *key) {
    const Json *v = j.get(key);
    if (!v || v->kind != Json::Number)
      throw bad(std::string("missing number '") + key + "'");
    return v->number;
  };
  const std::string format = str("format");
  if (format != "s2s-checkpoint-1" && format != "s2s-checkpoint-2")
    throw bad("unknown format '" + format + "'");
  auto strings = [&](const char *key) {
    Checksums out;
    const Json *v = j.get(key);
    if (format == "s2s-checkpoint-1")
      return out;
    if (!v || v->kind != Json::Object)
      throw bad(std::string("missing object '") + key + "'");
    for (const auto &[k, value] : v->object) {
      if (value.kind != Json::String)
        throw bad(std::string("'") + key +
                  "' holds a value that is not a "
                  "string");
      out.emplace_back(k, value.string);
    }
    return out;
  };
  StateFile f;
  f.files = strings("files");
  TrainState &s = f.state;
  s.fingerprint = strings("fingerprint");
  s.program = str("program");
  s.spec = str("spec");
  s.epoch = integer("epoch");
  s.batch = integer("batch");
  s.globalStep = integer("global_step");
  s.scheduleStep = integer("schedule_step");
  try {
    s.shuffleSeed = std::stoull(str("shuffle_seed"));
  } catch (const std::logic_error &) {
    throw bad("bad shuffle_seed");
  }
  s.batchSize = integer("batch_size");
  s.stepsPerEpoch = integer("steps_per_epoch");
  s.trainWindows = integer("train_windows");
  s.epochLossSum = number("epoch_loss_sum");
  s.epochLossCount = integer("epoch_loss_count");
  s.logLossSum = number("log_loss_sum");
  s.logLossCount = integer("log_loss_count");
  // Absent in checkpoints written before mixed precision.
  if (j.get("precision")) {
    s.precision = str("precision");
    s.lossScale = number("loss_scale");
    s.lossScaleGoodSteps = integer("loss_scale_good_steps");
    if (s.lossScale < 0 || s.lossScaleGoodSteps < 0)
      throw bad("negative loss scale");
  }
  try {
    s.modelRng = rngFromText(str("model_rng"));
    s.torchRng = rngFromText(str("torch_rng"));
  } catch (const Error &e) {
    throw bad(e.what());
  }
  if (s.epoch < 0 || s.batch < 0 || s.globalStep < 0)
    throw bad("negative position");
  return f;
}

void writeTextFile(const std::string &path, const std::string &text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error("cannot create '" + path + "': " + std::strerror(errno));
  const char *p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      ::close(fd);
      ::unlink(path.c_str());
      throw Error("cannot write '" + path + "': " + std::strerror(e));
    }
    p += n;
    left -= size_t(n);
  }
  if ((::fsync(fd) != 0 && errno != EINVAL) || ::close(fd) != 0) {
    int e = errno;
    ::unlink(path.c_str());
    throw Error("cannot write '" + path + "': " + std::strerror(e));
  }
}

void syncDir(const std::string &dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string readTextFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot open '" + path + "': " + std::strerror(errno));
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

/// The step of a "ckpt-<step>" name, or -1.
int64_t stepOf(const std::string &name) {
  if (name.rfind("ckpt-", 0) != 0 || name.size() == 5 || name.size() > 24)
    return -1;
  int64_t v = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9')
      return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

std::string shardFileName(int64_t rank, int64_t world) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "shard-%05lld-of-%05lld.safetensors",
                (long long)rank, (long long)world);
  return buf;
}

std::string layoutToJson(const ShardLayout &l) {
  std::ostringstream o;
  o << "{\"format\":\"s2s-shards-1\",\"world\":" << l.world
    << ",\"shard_values\":" << l.shardValues << ",\"total\":" << l.total
    << ",\"segments\":[";
  for (size_t i = 0; i < l.segments.size(); ++i)
    o << (i ? "," : "") << l.segments[i];
  o << "],\"parameters\":[";
  for (size_t i = 0; i < l.parameters.size(); ++i) {
    o << (i ? "," : "") << "{\"name\":" << jsonQuote(l.parameters[i].first)
      << ",\"shape\":[";
    for (size_t d = 0; d < l.parameters[i].second.size(); ++d)
      o << (d ? "," : "") << l.parameters[i].second[d];
    o << "]}";
  }
  o << "],\"flat\":{";
  for (size_t i = 0; i < l.flat.size(); ++i)
    o << (i ? "," : "") << jsonQuote(l.flat[i].first) << ":"
      << jsonQuote(l.flat[i].second);
  o << "}}\n";
  return o.str();
}

ShardLayout layoutFromJson(const std::string &text, const std::string &path) {
  Json j = Json::parse(text, "'" + path + "'");
  auto bad = [&](const std::string &msg) {
    return Error("'" + path + "' is not a valid shard manifest: " + msg);
  };
  auto integer = [&](const char *key) {
    const Json *v = j.get(key);
    if (!v || v->kind != Json::Number || !v->isInteger || v->integer < 0)
      throw bad(std::string("missing count '") + key + "'");
    return v->integer;
  };
  const Json *format = j.get("format");
  if (j.kind != Json::Object || !format || format->string != "s2s-shards-1")
    throw bad("not an s2s-shards-1 manifest");
  ShardLayout l;
  l.world = integer("world");
  l.shardValues = integer("shard_values");
  l.total = integer("total");
  const Json *params = j.get("parameters"), *flat = j.get("flat");
  if (!params || params->kind != Json::Array || !flat ||
      flat->kind != Json::Object || l.world < 1 ||
      l.world * l.shardValues < l.total)
    throw bad("inconsistent world, shard_values, total, parameters or flat");
  if (const Json *segs = j.get("segments"); segs && segs->kind == Json::Array)
    for (const Json &v : segs->array) {
      if (v.kind != Json::Number || !v.isInteger || v.integer < 0)
        throw bad("a segment length that is not a count");
      l.segments.push_back(v.integer);
    }
  if (l.segments.empty())
    l.segments.push_back(l.total);
  if (const FlatShards f(l.segments, l.world);
      f.total() != l.total || f.shardValues() != l.shardValues)
    throw bad("segments of " + std::to_string(f.total()) + " values in " +
              std::to_string(f.shardValues()) +
              " per shard, but total and shard_values say " +
              std::to_string(l.total) + " and " +
              std::to_string(l.shardValues));
  int64_t values = 0;
  for (const Json &p : params->array) {
    const Json *name = p.get("name"), *shape = p.get("shape");
    if (!name || name->kind != Json::String || !shape ||
        shape->kind != Json::Array)
      throw bad("a parameter without name or shape");
    std::vector<int64_t> dims;
    int64_t n = 1;
    for (const Json &d : shape->array) {
      if (d.kind != Json::Number || !d.isInteger || d.integer < 0)
        throw bad("bad shape of '" + name->string + "'");
      dims.push_back(d.integer);
      n *= d.integer;
    }
    values += n;
    l.parameters.emplace_back(name->string, std::move(dims));
  }
  if (values != l.total)
    throw bad("the parameters hold " + std::to_string(values) +
              " values, total says " + std::to_string(l.total));
  for (const auto &[key, v] : flat->object)
    l.flat.emplace_back(key, v.string);
  return l;
}

/// The manifest of a sharded checkpoint folder.
ShardLayout readLayout(const fs::path &folder) {
  const std::string path = (folder / kManifestFile).string();
  return layoutFromJson(readTextFile(path), path);
}

/// The checkpoint folder's state.json.
StateFile readState(const fs::path &folder) {
  const std::string path = (folder / kStateFile).string();
  return stateFromJson(readTextFile(path), path);
}

/// The SHA-256 of `names` in `folder`.
Checksums checksumsOf(const fs::path &folder,
                      const std::vector<std::string> &names) {
  Checksums out;
  for (const std::string &n : names)
    out.emplace_back(n, sha256File((folder / n).string()));
  return out;
}

/// Checks the files of `folder` that state.json lists (those named in
/// `only`, when not empty) against their checksums.
void checkFiles(const fs::path &folder, const StateFile &f,
                const std::vector<std::string> &only = {}) {
  for (const auto &[name, sum] : f.files) {
    if (!only.empty() &&
        std::find(only.begin(), only.end(), name) == only.end())
      continue;
    const std::string path = (folder / name).string();
    std::error_code ec;
    if (name.find('/') != std::string::npos || !fs::is_regular_file(path, ec))
      throw Error("'" + path + "', listed in '" +
                  (folder / kStateFile).string() +
                  "', is missing: the checkpoint is damaged");
    const std::string now = sha256File(path);
    if (now != sum)
      throw Error("'" + path + "' is damaged: its SHA-256 is " +
                  now.substr(0, 16) + "..., the checkpoint recorded " +
                  sum.substr(0, 16) +
                  "... when it was saved (overwritten or truncated since)");
  }
}

/// The message of a shard file without flat tensor `name` of `values`.
Error missingFlat(const fs::path &folder, int64_t rank, const ShardLayout &l,
                  const std::string &name) {
  return Error("'" + (folder / shardFileName(rank, l.world)).string() +
               "' has no tensor '" + name + "' of " +
               std::to_string(l.shardValues) + " values, as '" +
               (folder / kManifestFile).string() + "' says");
}

/// The whole model and optimizer state of a sharded checkpoint folder:
/// each flat tensor is the ranks' shards in order, cut to `total` values
/// and split into the parameters' shapes; a tensor not in the manifest's
/// `flat` is the same on every rank and read from rank 0's file.
void assembleShards(const fs::path &folder, Checkpoint &c) {
  const ShardLayout l = readLayout(folder);
  std::vector<std::map<std::string, torch::Tensor>> shards;
  for (int64_t r = 0; r < l.world; ++r)
    shards.push_back(
        readSafetensors((folder / shardFileName(r, l.world)).string())
            .byName());
  for (const auto &[name, prefix] : l.flat) {
    std::vector<torch::Tensor> parts;
    for (int64_t r = 0; r < l.world; ++r) {
      auto it = shards[size_t(r)].find(name);
      if (it == shards[size_t(r)].end() || it->second.numel() != l.shardValues)
        throw missingFlat(folder, r, l, name);
      parts.push_back(it->second.reshape({-1}));
    }
    torch::Tensor flat =
        FlatShards(l.segments, l.world).unshard(torch::cat(parts));
    auto &into = name == kShardParameters ? c.model : c.optimizer;
    int64_t offset = 0;
    for (const auto &[pname, shape] : l.parameters) {
      const int64_t n = c10::multiply_integers(shape);
      into[prefix + pname] = flat.narrow(0, offset, n).view(shape).clone();
      offset += n;
    }
  }
  for (const auto &[name, t] : shards.front()) {
    bool isFlat = false;
    for (const auto &f : l.flat)
      isFlat = isFlat || f.first == name;
    if (!isFlat)
      c.optimizer[name] = t;
  }
}

bool isComplete(const fs::path &folder) {
  std::error_code ec;
  if (!fs::is_regular_file(folder / kStateFile, ec))
    return false;
  if (fs::is_regular_file(folder / kManifestFile, ec)) {
    try {
      const ShardLayout l = readLayout(folder);
      for (int64_t r = 0; r < l.world; ++r)
        if (!fs::is_regular_file(folder / shardFileName(r, l.world), ec))
          return false;
      return true;
    } catch (const Error &) {
      return false;
    }
  }
  return fs::is_regular_file(folder / kModelFile, ec) &&
         fs::is_regular_file(folder / kOptimFile, ec);
}

[[noreturn]] void crashForTest(const char *where) {
  std::fprintf(stderr, "S2S_CRASH_IN_CHECKPOINT: exiting in the middle of %s\n",
               where);
  std::fflush(stderr);
  std::_Exit(3);
}

} // namespace

namespace {

/// Throws unless `folder` holds the files of a checkpoint.
void requireComplete(const fs::path &folder) {
  if (!isComplete(folder))
    throw Error("'" + folder.string() +
                "' is not a complete checkpoint (it needs " + kStateFile +
                ", and " + kModelFile + " and " + kOptimFile + " or " +
                kManifestFile + " and the shard files it names)");
}

} // namespace

void verifyCheckpoint(const std::string &folder) {
  requireComplete(folder);
  checkFiles(folder, readState(folder));
}

Checkpoint loadCheckpoint(const std::string &folder) {
  fs::path p(folder);
  requireComplete(p);
  Checkpoint c;
  c.path = folder;
  const StateFile f = readState(p);
  checkFiles(p, f);
  c.state = f.state;
  if (fs::exists(p / kManifestFile)) {
    assembleShards(p, c);
    return c;
  }
  c.model = readSafetensors((p / kModelFile).string()).byName();
  c.optimizer = readSafetensors((p / kOptimFile).string()).byName();
  return c;
}

std::optional<Checkpoint> loadOwnShard(const std::string &folder, int64_t rank,
                                       const ShardLayout &layout) {
  const fs::path p(folder);
  if (!isComplete(p) || !fs::exists(p / kManifestFile))
    return std::nullopt;
  const ShardLayout l = readLayout(p);
  if (l.world != layout.world || l.segments != layout.segments ||
      l.parameters != layout.parameters || rank < 0 || rank >= l.world)
    return std::nullopt;
  Checkpoint c;
  c.path = folder;
  const StateFile f = readState(p);
  checkFiles(p, f, {kManifestFile, shardFileName(rank, l.world)});
  c.state = f.state;
  c.shard =
      readSafetensors((p / shardFileName(rank, l.world)).string()).byName();
  for (const auto &[name, prefix] : l.flat) {
    auto it = c.shard.find(name);
    if (it == c.shard.end() || it->second.numel() != l.shardValues)
      throw missingFlat(p, rank, l, name);
  }
  return c;
}

Checkpointer::Checkpointer(std::string dir, int64_t keep)
    : dir_(std::move(dir)), keep_(keep) {}

int Checkpointer::removeIncomplete() {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec))
    return 0;
  int removed = 0;
  for (const auto &entry : fs::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0) {
      std::error_code rec;
      fs::remove_all(entry.path(), rec);
      if (!rec)
        ++removed;
    }
  }
  return removed;
}

std::vector<std::string> Checkpointer::list() const {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec))
    return {};
  for (const auto &entry : fs::directory_iterator(dir_, ec)) {
    int64_t step = stepOf(entry.path().filename().string());
    if (step >= 0 && isComplete(entry.path()))
      found.emplace_back(step, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto &f : found)
    out.push_back(f.second);
  return out;
}

std::string Checkpointer::newest() const {
  fs::path latest = fs::path(dir_) / "latest";
  std::error_code ec;
  if (fs::is_regular_file(latest, ec)) {
    std::ifstream in(latest);
    std::string name;
    std::getline(in, name);
    if (stepOf(name) >= 0 && isComplete(fs::path(dir_) / name))
      return (fs::path(dir_) / name).string();
  }
  std::vector<std::string> all = list();
  return all.empty() ? "" : all.back();
}

std::string
Checkpointer::newestIntact(std::vector<std::string> &damaged) const {
  std::vector<std::string> candidates = list();
  if (const std::string n = newest(); !n.empty())
    candidates.push_back(n); // `latest` first
  for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
    try {
      verifyCheckpoint(*it);
      return *it;
    } catch (const Error &e) {
      if (std::find(damaged.begin(), damaged.end(), e.what()) == damaged.end())
        damaged.push_back(e.what());
    }
  }
  return "";
}

void Checkpointer::publish(const fs::path &tmp, const std::string &name) {
  std::error_code ec;
  const fs::path final = fs::path(dir_) / name;
  syncDir(tmp.string());
  if (fs::exists(final, ec)) {
    // The same step saved twice (e.g. a step and an epoch checkpoint):
    // move the old one aside first so the name never points at a partial
    // folder.
    fs::path old = fs::path(dir_) /
                   (".tmp-old-" + name + "-" + std::to_string(::getpid()));
    fs::rename(final, old);
    fs::rename(tmp, final);
    fs::remove_all(old, ec);
  } else {
    fs::rename(tmp, final);
  }
  syncDir(dir_);
  const fs::path latestTmp =
      fs::path(dir_) / (".tmp-latest-" + std::to_string(::getpid()));
  writeTextFile(latestTmp.string(), name + "\n");
  fs::rename(latestTmp, fs::path(dir_) / "latest");
  syncDir(dir_);
}

void Checkpointer::prune() {
  if (keep_ <= 0)
    return;
  std::error_code ec;
  std::vector<std::string> all = list();
  for (size_t i = 0; i + size_t(keep_) < all.size(); ++i)
    fs::remove_all(all[i], ec);
}

std::string Checkpointer::failed(const fs::path &tmp, const std::string &what) {
  std::error_code ec;
  fs::remove_all(tmp, ec);
  const std::string prev = newest();
  return what + "; the checkpoint was not saved" +
         (prev.empty() ? std::string()
                       : "; the previous one, '" + prev + "', is kept");
}

std::string Checkpointer::save(const NamedTensors &model,
                               const NamedTensors &optimizer,
                               const TrainState &state) {
  ++saves_;
  int64_t crashAt = 0;
  if (const char *env = std::getenv("S2S_CRASH_IN_CHECKPOINT"))
    crashAt = std::atoll(env);

  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw Error("cannot create the checkpoint folder '" + dir_ +
                "': " + ec.message());
  const std::string name = "ckpt-" + std::to_string(state.globalStep);
  const fs::path final = fs::path(dir_) / name;
  const fs::path tmp =
      fs::path(dir_) / (".tmp-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec) || ec)
    throw Error(
        "cannot write a checkpoint in '" + dir_ + "': " +
        (ec ? ec.message() : std::string("cannot create ") + tmp.string()));
  try {
    writeSafetensors((tmp / kModelFile).string(), model,
                     {{"format", "pt"}, {"program", state.program}});
    if (crashAt > 0 && saves_ == crashAt)
      crashForTest(("writing " + tmp.string()).c_str());
    writeSafetensors((tmp / kOptimFile).string(), optimizer,
                     {{"format", "pt"}, {"program", state.program}});
    writeTextFile(
        (tmp / kStateFile).string(),
        stateToJson(state, checksumsOf(tmp, {kModelFile, kOptimFile})));
    publish(tmp, name);
  } catch (const Error &e) {
    throw Error(failed(tmp, e.what()));
  } catch (const fs::filesystem_error &e) {
    throw Error(failed(tmp, "cannot write the checkpoint '" + final.string() +
                                "': " + e.code().message()));
  }
  prune();
  return final.string();
}

fs::path Checkpointer::shardedTemp(int64_t step) const {
  return fs::path(dir_) / (".tmp-ckpt-" + std::to_string(step) + "-shards");
}

void Checkpointer::beginSharded(int64_t step) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  const fs::path tmp = shardedTemp(step);
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec) || ec)
    throw Error(
        "cannot write a checkpoint in '" + dir_ + "': " +
        (ec ? ec.message() : std::string("cannot create ") + tmp.string()));
}

void Checkpointer::abandonSharded(int64_t step) {
  std::error_code ec;
  fs::remove_all(shardedTemp(step), ec);
}

void Checkpointer::writeShard(int64_t step, int64_t rank, int64_t world,
                              const NamedTensors &tensors,
                              const std::string &program) {
  const fs::path file = shardedTemp(step) / shardFileName(rank, world);
  try {
    writeSafetensors(file.string(), tensors,
                     {{"format", "pt"}, {"program", program}});
  } catch (const Error &e) {
    throw Error(std::string(e.what()) + "; the checkpoint of step " +
                std::to_string(step) + " was not saved");
  }
}

std::string Checkpointer::commitSharded(const ShardLayout &layout,
                                        const TrainState &state) {
  ++saves_;
  const std::string name = "ckpt-" + std::to_string(state.globalStep);
  const fs::path tmp = shardedTemp(state.globalStep);
  try {
    for (int64_t r = 0; r < layout.world; ++r)
      if (!fs::is_regular_file(tmp / shardFileName(r, layout.world)))
        throw Error("rank " + std::to_string(r) + "'s shard '" +
                    (tmp / shardFileName(r, layout.world)).string() +
                    "' is missing");
    writeTextFile((tmp / kManifestFile).string(), layoutToJson(layout));
    std::vector<std::string> files = {kManifestFile};
    for (int64_t r = 0; r < layout.world; ++r)
      files.push_back(shardFileName(r, layout.world));
    writeTextFile((tmp / kStateFile).string(),
                  stateToJson(state, checksumsOf(tmp, files)));
    publish(tmp, name);
  } catch (const Error &e) {
    throw Error(failed(tmp, e.what()));
  } catch (const fs::filesystem_error &e) {
    throw Error(failed(tmp, "cannot write the checkpoint '" +
                                (fs::path(dir_) / name).string() +
                                "': " + e.code().message()));
  }
  prune();
  return (fs::path(dir_) / name).string();
}

} // namespace s2s::rt
