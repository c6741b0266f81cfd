//===- Processes.h - Real processes for the multi-process tests -*- C++ -*-===//
//
// What the parallel, tensor-parallel and spatial tests share to start their
// ranks as real processes: a temp folder per test process, a free loopback
// port, fork/exec with a chosen environment (other launchers' variables
// removed), the exit status, a file's text.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TEST_PROCESSES_H
#define S2S_RUNTIME_TEST_PROCESSES_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

extern char **environ;

namespace s2s_test {

namespace fs = std::filesystem;

inline std::string tempRoot() {
  static std::string root = [] {
    fs::path p = fs::temp_directory_path() /
                 ("s2s-parallel-test-" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
  }();
  return root;
}

inline std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

inline int freePort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr *>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr *>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

/// A rank started by a test: its process, exit status and output files.
struct Rank {
  pid_t pid = -1;
  int status = -1;
  std::string out, err;
};

/// Forks and execs `argv` with this environment plus `vars` (minus other
/// launchers' variables), stdout and stderr into `log`.out/.err.
inline pid_t spawn(std::vector<std::string> argv,
                   const std::map<std::string, std::string> &vars,
                   const std::string &log) {
  std::vector<std::string> strings;
  for (char **e = environ; *e; ++e) {
    std::string s = *e, key = s.substr(0, s.find('='));
    if (!vars.count(key) && key != "RANK" && key != "WORLD_SIZE" &&
        key.rfind("SLURM_", 0) && key.rfind("OMPI_", 0) &&
        key.rfind("MASTER_", 0) && key.rfind("LOCAL_", 0) &&
        key.rfind("TORCHELASTIC_", 0))
      strings.push_back(s);
  }
  for (const auto &[k, v] : vars)
    strings.push_back(k + "=" + v);
  std::vector<char *> envp, args;
  for (std::string &s : strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  for (std::string &a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0); // a launcher's whole tree can be killed
    int o = ::open((log + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open((log + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execvpe(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

/// The exit status of `pid`, waited for.
inline int waitStatus(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// A fresh folder for a run; `out` is its output folder.
inline std::string freshRun(std::string &out) {
  static int serial = 0;
  const std::string base =
      (fs::path(tempRoot()) / ("run-" + std::to_string(++serial))).string();
  out = base + "/out";
  fs::create_directories(out);
  return base;
}

/// Removes tempRoot() when the test process ends, unless S2S_TEST_KEEP is
/// set or this process is a rank (`rankVariable` set): register one per
/// test binary with ::testing::AddGlobalTestEnvironment.
class TempRootCleanup : public ::testing::Environment {
public:
  explicit TempRootCleanup(const char *rankVariable)
      : rankVariable_(rankVariable) {}
  void TearDown() override {
    if (!std::getenv("S2S_TEST_KEEP") && !std::getenv(rankVariable_))
      fs::remove_all(tempRoot());
  }

private:
  const char *rankVariable_;
};

} // namespace s2s_test

#endif // S2S_RUNTIME_TEST_PROCESSES_H
