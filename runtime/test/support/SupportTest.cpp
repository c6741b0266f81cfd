//===- SupportTest.cpp - Text, calendar, JSON, hashes, parallelFor --------===//

#include "s2s/runtime/Error.h"
#include "support/AtomicFile.h"
#include "support/Calendar.h"
#include "support/FileLock.h"
#include "support/Grid.h"
#include "support/Hash.h"
#include "support/Json.h"
#include "support/ParallelFor.h"
#include "support/Sha256.h"
#include "support/Text.h"

#include "TestSupport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
namespace rt = s2s::rt;

TEST(Text, JoinNumbersAndCommas) {
  EXPECT_EQ(rt::join({"u", "v", "t"}), "u, v, t");
  EXPECT_EQ(rt::join({"u", "v"}, ","), "u,v");
  EXPECT_EQ(rt::join({}), "");
  EXPECT_EQ(rt::withCommas(10291), "10,291");
  EXPECT_EQ(rt::withCommas(-1234567), "-1,234,567");
  EXPECT_EQ(rt::withCommas(999), "999");
  EXPECT_EQ(rt::formatNumber(0.001), "0.001");
  EXPECT_EQ(rt::formatNumber(1e-5), "1e-05");
  EXPECT_EQ(rt::sanitizeName("a/b c.d-e_f"), "a_b_c.d-e_f");
  EXPECT_EQ(rt::firstLines("a\n\nb\nc\nd", 3), "a b");
}

TEST(Text, EditDistanceAndSuggestions) {
  EXPECT_EQ(rt::editDistance("sead", "seed"), 1u);
  EXPECT_EQ(rt::editDistance("T2M", "t2m"), 2u);
  EXPECT_EQ(rt::editDistance("T2M", "t2m", rt::Case::Ignore), 0u);
  const std::vector<std::string> names = {"u", "v", "t", "fields"};
  EXPECT_EQ(rt::didYouMean("tt", names), " (did you mean 't'?)");
  EXPECT_EQ(rt::didYouMean("feilds", names), " (did you mean 'fields'?)");
  // A whole replacement is no suggestion.
  EXPECT_EQ(rt::didYouMean("q", names), "");
  EXPECT_EQ(rt::didYouMean("t701", {"t700", "t850"}, 2),
            " (did you mean 't700'?)");
  const std::vector<std::string> flags = {"epochs", "steps"};
  const rt::Nearest n = rt::nearest("epoch", flags);
  ASSERT_NE(n.name, nullptr);
  EXPECT_EQ(*n.name, "epochs");
  EXPECT_EQ(n.distance, 1u);
}

TEST(Calendar, DaysYearsAndFormats) {
  EXPECT_EQ(rt::daysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(rt::daysFromCivil(2001, 1, 1), 11323);
  EXPECT_EQ(rt::yearStart(2001), 978307200);
  for (int y : {1600, 1899, 1970, 2000, 2024, 2100})
    EXPECT_EQ(rt::yearOfDays(rt::daysFromCivil(y, 12, 31)), y) << y;
  EXPECT_EQ(rt::yearOf(978307200 - 1), 2000);
  EXPECT_EQ(rt::formatTime(978307200 + 6 * 3600), "2001-01-01T06:00");
  EXPECT_EQ(rt::formatTime(978307200 + 7), "2001-01-01T00:00:07");
  EXPECT_EQ(rt::formatDuration(6 * 3600), "6h");
  EXPECT_EQ(rt::formatDuration(86400), "1d");
  EXPECT_EQ(rt::formatDuration(90), "90s");
  EXPECT_EQ(rt::formatYears(2000, 2007), "2000..2007");
  EXPECT_EQ(rt::formatYears(2008, 2008), "2008");
  EXPECT_EQ(rt::formatYears(1, 0), "(none)");
}

TEST(Calendar, ParseTime) {
  int64_t t = 0;
  ASSERT_TRUE(rt::parseTime("2001-01-01", t));
  EXPECT_EQ(t, 978307200);
  for (const char *s : {"2001-01-01T06", "2001-01-01T06:00", "2001-01-01 06:00",
                        "2001-01-01T06:00:00", "2001-01-01T06:00Z"}) {
    ASSERT_TRUE(rt::parseTime(s, t)) << s;
    EXPECT_EQ(t, 978307200 + 6 * 3600) << s;
  }
  ASSERT_TRUE(rt::parseTime("2000-02-29T23:59:59", t));
  EXPECT_EQ(rt::formatTime(t), "2000-02-29T23:59:59");
  for (const char *s :
       {"", "2001", "2001-1-1", "2001-13-01", "2001-02-29", "2001-04-31",
        "2001-01-01T24", "2001-01-01T06:60", "2001-01-01X06",
        "2001-01-01T06:00:00:00", "2001-01-01T6"})
    EXPECT_FALSE(rt::parseTime(s, t)) << s;
}

TEST(Grid, DefaultCoordinates) {
  EXPECT_EQ(rt::defaultLatitudes(3), (std::vector<double>{90, 0, -90}));
  EXPECT_EQ(rt::defaultLatitudes(2), (std::vector<double>{45, -45}));
  EXPECT_EQ(rt::defaultLongitudes(4), (std::vector<double>{0, 90, 180, 270}));
}

TEST(Hash, Fnv1aAndSplitmix) {
  // The runtime's own values (see Hash.h on the offset basis): they seed
  // every parameter and the synthetic data, so they must never change.
  EXPECT_EQ(rt::Fnv1a().value(), 1469598103934665603ull);
  EXPECT_EQ(rt::Fnv1a().text("a").value(), 4953267810257967366ull);
  EXPECT_EQ(rt::Fnv1a().text("foobar").value(), 9870438755804841970ull);
  EXPECT_EQ(rt::Fnv1a().littleEndian(7).text("w").value(),
            rt::Fnv1a().bytes("\x07\0\0\0\0\0\0\0w", 9).value());
  EXPECT_EQ(rt::hex16(0xabcull), "0000000000000abc");
  EXPECT_EQ(rt::splitmix64(0), 0xe220a8397b1dcdafull);
}

TEST(AtomicFile, AppearsOnlyWhenCommitted) {
  s2s_test::TempDir tmp;
  const std::string path = tmp / "x.txt";
  {
    rt::AtomicFile f(path);
    std::ofstream(f.tempPath()) << "half";
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(tmp.str()));
  {
    rt::AtomicFile f(path);
    std::ofstream(f.tempPath()) << "whole";
    f.commit();
  }
  std::ifstream in(path);
  std::string text;
  in >> text;
  EXPECT_EQ(text, "whole");
  rt::AtomicFile bad(tmp / "no-such-folder/y.txt");
  EXPECT_THROW(bad.commit(), rt::Error);
}

TEST(Json, ParseAndQuote) {
  rt::Json j = rt::Json::parse(
      R"( {"a": [1, -2.5e3, true, null], "s": "x\"\u00e9\n", "n": {"k": 12345678901234}} )");
  ASSERT_EQ(j.kind, rt::Json::Object);
  ASSERT_EQ(j.get("a")->array.size(), 4u);
  EXPECT_TRUE(j.get("a")->array[0].isInteger);
  EXPECT_DOUBLE_EQ(j.get("a")->array[1].number, -2500.0);
  EXPECT_EQ(j.get("s")->string, "x\"\xc3\xa9\n");
  EXPECT_EQ(j.get("n")->get("k")->integer, 12345678901234);
  EXPECT_EQ(rt::jsonQuote("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
  EXPECT_EQ(rt::Json::parse(rt::jsonNumber(0.1)).number, 0.1);
  EXPECT_EQ(rt::Json::parse(rt::jsonNumber(1.0 / 3)).number, 1.0 / 3);
  EXPECT_THROW(rt::Json::parse("{\"a\": }"), rt::Error);
  EXPECT_THROW(rt::Json::parse("[1, 2"), rt::Error);
}

TEST(ParallelFor, TheErrorThrownIsTheFirstInIndexOrder) {
  // Index 3 fails late, index 40 at once: another thread meets 40 first,
  // and still 3's error is the one thrown; nothing is claimed after a
  // failure, and every index before 3 ran.
  for (int rep = 0; rep < 3; ++rep) {
    std::atomic<int> ran{0};
    std::vector<std::atomic<bool>> done(64);
    try {
      s2s::rt::parallelFor(64, 4, [&](int64_t i) {
        ++ran;
        done[size_t(i)] = true;
        if (i == 3) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          throw std::runtime_error("three");
        }
        if (i == 40)
          throw std::runtime_error("forty");
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      });
      ADD_FAILURE() << "no error";
    } catch (const std::runtime_error &e) {
      EXPECT_STREQ(e.what(), "three");
    }
    for (int i = 0; i <= 3; ++i)
      EXPECT_TRUE(done[size_t(i)]) << i;
    EXPECT_LT(ran.load(), 64) << "indices were claimed after the failure";
  }
}

/// Against FIPS 180-4's test vectors and coreutils' sha256sum (another
/// implementation) on a file of 5 MiB + 3 bytes (more than one read).
TEST(Sha256, VectorsAndSha256sum) {
  EXPECT_EQ(rt::sha256Bytes("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(rt::sha256Bytes("", 0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string path = testing::TempDir() + "/sha256-input.bin";
  {
    std::ofstream out(path, std::ios::binary);
    uint64_t x = 1;
    for (size_t i = 0; i < (size_t(5) << 20) + 3; ++i) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      out.put(char(x >> 56));
    }
  }
  std::string expected;
  if (FILE *p = ::popen(("sha256sum '" + path + "'").c_str(), "r")) {
    char buf[128] = {};
    if (std::fgets(buf, sizeof buf, p))
      expected = std::string(buf).substr(0, 64);
    ::pclose(p);
  }
  ASSERT_EQ(expected.size(), 64u) << "sha256sum did not run";
  EXPECT_EQ(rt::sha256File(path), expected);
  EXPECT_THROW(rt::sha256File(path + ".missing"), rt::Error);
}

/// flock is per open file: a second acquire, even in this process, finds
/// the lock held and names the holder; it is free once the holder is gone.
TEST(FileLock, SecondAcquireNamesTheHolder) {
  const std::string dir = testing::TempDir() + "/filelock-test";
  std::filesystem::remove_all(dir);
  const std::string path = dir + "/.lock";
  {
    rt::FileLock held = rt::FileLock::acquire(path, "the test folder", "wait");
    EXPECT_TRUE(held.held());
    try {
      rt::FileLock::acquire(path, "the test folder", "wait for it");
      FAIL() << "expected an error";
    } catch (const rt::Error &e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("the test folder is in use by process " +
                       std::to_string(::getpid()) + " on host "),
                std::string::npos)
          << m;
      EXPECT_NE(m.find("; wait for it"), std::string::npos) << m;
    }
  }
  EXPECT_TRUE(rt::FileLock::acquire(path, "the test folder", "").held());
}
