//===- ChildProcess.h - A test of this binary in a fresh process -*- C++
//-*-===//
//
// Tests that need a clean process (memory measured from the start) or
// several (reader ranks) run a DISABLED_ test of their own binary as a
// child: fork + execve of /proc/self/exe with a --gtest_filter, its output
// captured in a file.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TEST_CHILDPROCESS_H
#define S2S_RUNTIME_TEST_CHILDPROCESS_H

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace s2s_test {

struct Child {
  pid_t pid = -1;
  std::string outPath;
  int status = -1;
  std::string out;

  /// Waits for it; fills status and out.
  Child &wait() {
    int st = 0;
    if (pid > 0 && ::waitpid(pid, &st, 0) == pid)
      status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    pid = -1;
    std::ifstream in(outPath);
    std::ostringstream o;
    o << in.rdbuf();
    out = o.str();
    return *this;
  }
};

/// Starts test `name` of this binary (a DISABLED_ one) in a fresh process,
/// `env` added to ours, its output in `dir`/child-N.out.
inline Child startChild(const std::filesystem::path &dir,
                        const std::string &name,
                        const std::map<std::string, std::string> &env) {
  static int serial = 0;
  Child c;
  c.outPath = (dir / ("child-" + std::to_string(++serial) + ".out")).string();
  std::filesystem::create_directories(dir);
  std::vector<std::string> envStrings;
  for (char **e = environ; *e; ++e)
    envStrings.push_back(*e);
  for (const auto &[k, v] : env)
    envStrings.push_back(k + "=" + v);
  std::vector<char *> envp;
  for (std::string &e : envStrings)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=" + name;
  std::string disabled = "--gtest_also_run_disabled_tests";
  std::vector<char *> argv = {self.data(), filter.data(), disabled.data(),
                              nullptr};
  std::fflush(nullptr);
  c.pid = ::fork();
  if (c.pid == 0) {
    const int fd =
        ::open(c.outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
      ::_exit(126);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execve(self.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  return c;
}

} // namespace s2s_test

#endif // S2S_RUNTIME_TEST_CHILDPROCESS_H
