//===- Text.cpp - Words, lists and numbers in messages --------------------===//

#include "support/Text.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <sstream>

namespace s2s::rt {

std::string join(const std::vector<std::string> &names, const char *sep) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i)
      s += sep;
    s += names[i];
  }
  return s;
}

std::string inQuotes(const std::string &s) { return "'" + s + "'"; }

std::string sanitizeName(const std::string &s) {
  std::string out = s;
  for (char &c : out)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      c = '_';
  return out;
}

bool endsWith(const std::string &s, const std::string &tail) {
  return s.size() >= tail.size() &&
         s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string lower(std::string s) {
  for (char &c : s)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

size_t editDistance(const std::string &a, const std::string &b, Case c) {
  auto same = [c](char x, char y) {
    if (c == Case::Ignore)
      return std::tolower(static_cast<unsigned char>(x)) ==
             std::tolower(static_cast<unsigned char>(y));
    return x == y;
  };
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                         prev[j - 1] + (same(a[i - 1], b[j - 1]) ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

Nearest nearest(const std::string &name,
                const std::vector<std::string> &candidates, Case c) {
  Nearest best;
  for (const std::string &candidate : candidates) {
    const size_t d = editDistance(name, candidate, c);
    if (d < best.distance) {
      best.distance = d;
      best.name = &candidate;
    }
  }
  return best;
}

size_t suggestionDistance(size_t length) {
  return std::max<size_t>(1, std::min(length, size_t(6)) / 2);
}

std::string didYouMean(const std::string &name,
                       const std::vector<std::string> &candidates,
                       size_t maxDistance) {
  const Nearest best = nearest(name, candidates, Case::Ignore);
  if (!best.name || best.distance > maxDistance ||
      best.distance >= std::max(name.size(), best.name->size()))
    return "";
  return " (did you mean " + inQuotes(*best.name) + "?)";
}

std::string didYouMean(const std::string &name,
                       const std::vector<std::string> &candidates) {
  return didYouMean(name, candidates, suggestionDistance(name.size()));
}

std::string withCommas(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0)
      out += ',';
    out += s[i];
  }
  return (v < 0 ? "-" : "") + out;
}

std::string formatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string firstLines(const std::string &s, int n) {
  std::string out;
  std::istringstream in(s);
  std::string line;
  for (int i = 0; i < n && std::getline(in, line); ++i) {
    if (line.empty())
      continue;
    if (!out.empty())
      out += " ";
    out += line;
  }
  return out;
}

std::string describeBytes(uint64_t n) {
  char buf[64];
  if (n >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%" PRIu64 " bytes, %.2f GiB", n,
                  double(n) / double(1ull << 30));
  else if (n >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%" PRIu64 " bytes, %.1f MiB", n,
                  double(n) / double(1ull << 20));
  else
    std::snprintf(buf, sizeof buf, "%" PRIu64 " bytes", n);
  return buf;
}

} // namespace s2s::rt
