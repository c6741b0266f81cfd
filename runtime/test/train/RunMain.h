//===- RunMain.h - The training program's main in the test's process -*- C++
//-*-===//

#ifndef S2S_RUNTIME_TEST_TRAIN_RUNMAIN_H
#define S2S_RUNTIME_TEST_TRAIN_RUNMAIN_H

#include "s2s/runtime/Program.h"
#include "support/Json.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace s2s_test {

struct MainResult {
  int status = -1;
  std::string out, err;
};

/// s2s::rt::main(p) as program `name` with `args`, stdout/stderr captured.
inline MainResult runMain(const s2s::rt::Program &p, const std::string &name,
                          std::vector<std::string> args) {
  args.insert(args.begin(), name);
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  MainResult r;
  r.status = s2s::rt::main(p, int(args.size()), argv.data());
  std::fflush(stdout);
  r.out = ::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  return r;
}

/// The records of a metrics.jsonl.
inline std::vector<s2s::rt::Json> readMetrics(const std::string &path) {
  std::vector<s2s::rt::Json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    out.push_back(s2s::rt::Json::parse(line, path));
  return out;
}

} // namespace s2s_test

#endif // S2S_RUNTIME_TEST_TRAIN_RUNMAIN_H
