//===- Launch.cpp - This process's place in the job -----------------------===//

#include "dist/Launch.h"

#include "s2s/runtime/Error.h"
#include "support/Hash.h"
#include "support/Text.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace s2s::rt {

namespace {

const char *stdGetenv(const char *name) { return std::getenv(name); }

/// The value of `var` as a whole number (surrounding blanks allowed);
/// throws naming the variable.
int64_t envInt(const EnvLookup &env, const char *var) {
  const char *v = env(var);
  std::string s = v ? v : "";
  const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
  errno = 0;
  char *end = nullptr;
  const long long x = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || errno || *end)
    throw Error(std::string("environment variable ") + var + "='" +
                (v ? v : "") + "' is not a whole number");
  return int64_t(x);
}

/// "4(x2),3" -> {4, 4, 3}.
std::vector<int64_t> expandTasksPerNode(const char *var, const std::string &s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  auto bad = [&] {
    return Error(std::string("environment variable ") + var + "='" + s +
                 "' is not a SLURM task count list such as '4(x2),3'");
  };
  while (std::getline(ss, item, ',')) {
    char *end = nullptr;
    long long n = std::strtoll(item.c_str(), &end, 10);
    if (end == item.c_str() || n < 0)
      throw bad();
    long long times = 1;
    if (*end == '(') {
      if (end[1] != 'x')
        throw bad();
      char *end2 = nullptr;
      times = std::strtoll(end + 2, &end2, 10);
      if (end2 == end + 2 || *end2 != ')' || end2[1] || times < 1 ||
          times > 1000000)
        throw bad();
    } else if (*end) {
      throw bad();
    }
    out.insert(out.end(), size_t(times), int64_t(n));
  }
  if (out.empty())
    throw bad();
  return out;
}

} // namespace

LocalRanks localRanks() { return localRanks(stdGetenv); }

LocalRanks localRanks(const EnvLookup &env) {
  auto pair = [&](const char *rankVar, const char *sizeVar) -> LocalRanks {
    LocalRanks r;
    if (!env(sizeVar))
      throw Error(std::string("environment variable ") + rankVar +
                  " is set but " + sizeVar + " is not; set both or neither");
    r.rank = envInt(env, rankVar);
    r.size = envInt(env, sizeVar);
    r.source = std::string(rankVar) + "/" + sizeVar;
    return r;
  };
  LocalRanks r;
  if (env("LOCAL_RANK")) {
    r = pair("LOCAL_RANK", "LOCAL_WORLD_SIZE");
  } else if (env("SLURM_LOCALID")) {
    r.rank = envInt(env, "SLURM_LOCALID");
    if (env("SLURM_NTASKS_PER_NODE")) {
      r.size = envInt(env, "SLURM_NTASKS_PER_NODE");
      r.source = "SLURM_LOCALID/SLURM_NTASKS_PER_NODE";
    } else {
      const char *var = env("SLURM_STEP_TASKS_PER_NODE")
                            ? "SLURM_STEP_TASKS_PER_NODE"
                            : "SLURM_TASKS_PER_NODE";
      if (!env(var))
        throw Error("environment variable SLURM_LOCALID is set but none of "
                    "SLURM_NTASKS_PER_NODE, SLURM_STEP_TASKS_PER_NODE and "
                    "SLURM_TASKS_PER_NODE is; cannot tell how many tasks "
                    "share this node");
      std::vector<int64_t> counts = expandTasksPerNode(var, env(var));
      int64_t node = env("SLURM_NODEID") ? envInt(env, "SLURM_NODEID") : 0;
      if (counts.size() > 1 && !env("SLURM_NODEID"))
        throw Error(std::string("environment variable ") + var + "='" +
                    env(var) +
                    "' lists several nodes but SLURM_NODEID is "
                    "not set");
      if (node < 0 || node >= int64_t(counts.size()))
        throw Error(
            "environment variable SLURM_NODEID=" + std::to_string(node) +
            " is outside " + var + "='" + env(var) + "' (" +
            std::to_string(counts.size()) + " nodes)");
      r.size = counts[size_t(node)];
      r.source = std::string("SLURM_LOCALID/") + var;
    }
  } else if (env("OMPI_COMM_WORLD_LOCAL_RANK")) {
    r = pair("OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE");
  } else {
    return r;
  }
  if (r.size < 1)
    throw Error("local world size " + std::to_string(r.size) + " (from " +
                r.source + ") must be at least 1");
  if (r.rank < 0 || r.rank >= r.size)
    throw Error("local rank " + std::to_string(r.rank) + " (from " + r.source +
                ") must be in 0.." + std::to_string(r.size - 1));
  return r;
}

std::string jobId(const std::string &configKey) {
  return jobId(configKey, stdGetenv);
}

std::string jobId(const std::string &configKey, const EnvLookup &env) {
  auto set = [&](const char *v) { return env(v) && *env(v); };
  std::string id;
  if (set("S2S_JOB_ID"))
    id = env("S2S_JOB_ID");
  else if (set("SLURM_JOB_ID"))
    id = std::string(env("SLURM_JOB_ID")) +
         (set("SLURM_STEP_ID") ? std::string(".") + env("SLURM_STEP_ID") : "");
  else if (set("TORCHELASTIC_RUN_ID"))
    id = std::string(env("TORCHELASTIC_RUN_ID")) + "-" +
         std::to_string(::getppid());
  else
    id = "p" + std::to_string(::getppid()) + "-" +
         hex16(Fnv1a().text(configKey).value()).substr(0, 12);
  return sanitizeName(id);
}

std::string firstSlurmHost(const std::string &nodeList) {
  // The first entry ends at a comma outside brackets.
  std::string first;
  int depth = 0;
  for (char c : nodeList) {
    if (c == ',' && depth == 0)
      break;
    depth += c == '[' ? 1 : c == ']' ? -1 : 0;
    first += c;
  }
  const size_t open = first.find('[');
  if (open == std::string::npos)
    return first;
  // "node[03-05,9]": the prefix and the first number of the range list.
  std::string range = first.substr(open + 1);
  const size_t end = range.find_first_of("-,]");
  return first.substr(0, open) + range.substr(0, end);
}

Rendezvous rendezvous() { return rendezvous(stdGetenv); }

Rendezvous rendezvous(const EnvLookup &env) {
  auto set = [&](const char *v) { return env(v) && *env(v); };
  Rendezvous r;
  if (set("MASTER_ADDR")) {
    r.masterAddr = env("MASTER_ADDR");
    if (!set("MASTER_PORT"))
      throw Error("environment variable MASTER_ADDR is set but MASTER_PORT "
                  "is not; set both or neither");
    r.masterPort = envInt(env, "MASTER_PORT");
    r.source = "MASTER_ADDR/MASTER_PORT";
  } else if (set("SLURM_JOB_NODELIST") && set("SLURM_JOB_ID")) {
    r.masterAddr = firstSlurmHost(env("SLURM_JOB_NODELIST"));
    const std::string id = env("SLURM_JOB_ID");
    const std::string last4 = id.size() > 4 ? id.substr(id.size() - 4) : id;
    r.masterPort = set("MASTER_PORT")
                       ? envInt(env, "MASTER_PORT")
                       : 15000 + std::strtoll(last4.c_str(), nullptr, 10);
    r.source = "SLURM_JOB_NODELIST/SLURM_JOB_ID";
  }
  if (!r.masterAddr.empty() && (r.masterPort < 1 || r.masterPort > 65535))
    throw Error("the master port " + std::to_string(r.masterPort) + " (from " +
                r.source + ") is not in 1..65535");
  if (set("TORCHELASTIC_RESTART_COUNT"))
    r.restartCount = envInt(env, "TORCHELASTIC_RESTART_COUNT");
  else if (set("SLURM_RESTART_COUNT"))
    r.restartCount = envInt(env, "SLURM_RESTART_COUNT");
  r.agentStore = set("TORCHELASTIC_USE_AGENT_STORE") &&
                 std::string(env("TORCHELASTIC_USE_AGENT_STORE")) == "True";
  return r;
}

LaunchEnv launchEnv() { return launchEnv(stdGetenv); }

LaunchEnv launchEnv(const EnvLookup &env) {
  return LaunchEnv{rankInfo(env), localRanks(env), rendezvous(env)};
}

RankInfo rankInfo() { return rankInfo(stdGetenv); }

RankInfo rankInfo(const EnvLookup &env) {
  static const char *const pairs[][2] = {
      {"RANK", "WORLD_SIZE"},
      {"SLURM_PROCID", "SLURM_NTASKS"},
      {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
      {"PMI_RANK", "PMI_SIZE"},
  };
  for (const auto &p : pairs) {
    if (!env(p[0]))
      continue;
    if (!env(p[1]))
      throw Error(std::string("environment variable ") + p[0] + " is set but " +
                  p[1] + " is not; set both or neither");
    RankInfo r;
    r.rank = envInt(env, p[0]);
    r.worldSize = envInt(env, p[1]);
    r.source = std::string(p[0]) + "/" + p[1];
    if (r.worldSize < 1)
      throw Error(std::string("environment variable ") + p[1] + "=" +
                  std::to_string(r.worldSize) + " must be at least 1");
    if (r.rank < 0 || r.rank >= r.worldSize)
      throw Error(std::string("environment variable ") + p[0] + "=" +
                  std::to_string(r.rank) + " must be in 0.." +
                  std::to_string(r.worldSize - 1) + " (" + p[1] + "=" +
                  std::to_string(r.worldSize) + ")");
    return r;
  }
  return RankInfo{};
}

} // namespace s2s::rt
