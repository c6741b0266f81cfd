//===- TestSupport.h - What several runtime test files share ----*- C++ -*-===//
//
// The build folder (for temporary data), a fresh folder per test or per
// test program, and the check that a call fails with an s2s::rt::Error
// saying given things.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TEST_TESTSUPPORT_H
#define S2S_RUNTIME_TEST_TESTSUPPORT_H

#include "s2s/runtime/Error.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace s2s_test {

/// build/ when the test binary is build/bin/..., else the working folder.
inline std::filesystem::path buildDir() {
  std::error_code ec;
  const std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.parent_path().filename() == "bin")
    return exe.parent_path().parent_path();
  return std::filesystem::current_path();
}

/// A fresh folder build/test-tmp/<suite>.<test>-<pid>, removed at the end.
class TempDir {
public:
  TempDir() {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = buildDir() / "test-tmp" /
            (std::string(info->test_suite_name()) + "." + info->name() + "-" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  std::string operator/(const std::string &s) const {
    return (path_ / s).string();
  }
  std::string str() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

/// build/test-tmp/<name>-<pid>: a folder the tests of one program share
/// (data sets made once), removed when the program ends unless
/// S2S_TEST_KEEP is set. Hold it in a function-local static.
class ProgramTempDir {
public:
  explicit ProgramTempDir(const std::string &name)
      : path_(buildDir() / "test-tmp" /
              (name + "-" + std::to_string(::getpid()))) {}
  ~ProgramTempDir() {
    std::error_code ec;
    if (!std::getenv("S2S_TEST_KEEP"))
      std::filesystem::remove_all(path_, ec);
  }
  ProgramTempDir(const ProgramTempDir &) = delete;
  ProgramTempDir &operator=(const ProgramTempDir &) = delete;
  const std::filesystem::path &path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// The message of the s2s::rt::Error `f` throws, or "no error".
inline std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const s2s::rt::Error &e) {
    return e.what();
  }
  return "no error";
}

/// Runs `f`, expects an s2s::rt::Error whose message contains every one of
/// `parts`; returns the message.
inline std::string expectError(const std::function<void()> &f,
                               const std::vector<std::string> &parts) {
  try {
    f();
  } catch (const s2s::rt::Error &e) {
    const std::string msg = e.what();
    for (const auto &p : parts)
      EXPECT_NE(msg.find(p), std::string::npos)
          << "message: " << msg << "\nlacks: " << p;
    return msg;
  } catch (const std::exception &e) {
    ADD_FAILURE() << "not an s2s::rt::Error: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

} // namespace s2s_test

#endif // S2S_RUNTIME_TEST_TESTSUPPORT_H
