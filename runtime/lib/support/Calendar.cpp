//===- Calendar.cpp - Times as the data files hold them -------------------===//

#include "support/Calendar.h"

#include <cstdio>
#include <ctime>
#include <limits>

namespace s2s::rt {

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int64_t yearOfDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t month = mp + (mp < 10 ? 3 : -9);
  return yoe + era * 400 + (month <= 2);
}

int64_t yearStart(int year) { return daysFromCivil(year, 1, 1) * 86400; }

static bool utc(int64_t t, std::tm &tm) {
  const auto tt = static_cast<std::time_t>(t);
  return gmtime_r(&tt, &tm) != nullptr;
}

int yearOf(int64_t t) {
  std::tm tm{};
  if (!utc(t, tm))
    return std::numeric_limits<int>::min();
  return tm.tm_year + 1900;
}

std::string formatTime(int64_t t) {
  std::tm tm{};
  if (!utc(t, tm))
    return std::to_string(t) + " s";
  char buf[64];
  if (tm.tm_sec)
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min);
  return buf;
}

bool parseTime(const std::string &text, int64_t &t) {
  std::string s = text;
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z'))
    s.pop_back();
  // Digits at fixed places: YYYY-MM-DD[(T| )HH[:MM[:SS]]].
  auto digits = [&](size_t at, size_t n, int &v) {
    if (at + n > s.size())
      return false;
    v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9')
        return false;
      v = v * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (!digits(0, 4, y) || s.size() < 10 || s[4] != '-' || s[7] != '-' ||
      !digits(5, 2, mo) || !digits(8, 2, d))
    return false;
  size_t n = 10;
  if (s.size() > 10) {
    if ((s[10] != 'T' && s[10] != ' ') || !digits(11, 2, h))
      return false;
    n = 13;
    if (s.size() > 13) {
      if (s[13] != ':' || !digits(14, 2, mi))
        return false;
      n = 16;
    }
    if (s.size() > 16) {
      if (s[16] != ':' || !digits(17, 2, se))
        return false;
      n = 19;
    }
  }
  if (n != s.size() || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 ||
      se > 59)
    return false;
  const int64_t day = daysFromCivil(y, unsigned(mo), unsigned(d));
  if (daysFromCivil(y, unsigned(mo), 1) + 31 <= day ||
      (mo < 12 ? daysFromCivil(y, unsigned(mo + 1), 1)
               : daysFromCivil(y + 1, 1, 1)) <= day)
    return false; // the 31st of a 30-day month, Feb 29 of a common year
  t = day * 86400 + h * 3600 + mi * 60 + se;
  return true;
}

std::string formatDuration(int64_t s) {
  if (s != 0 && s % 86400 == 0)
    return std::to_string(s / 86400) + "d";
  if (s != 0 && s % 3600 == 0)
    return std::to_string(s / 3600) + "h";
  if (s != 0 && s % 60 == 0)
    return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string formatYears(int first, int last) {
  if (last < first)
    return "(none)";
  if (first == last)
    return std::to_string(first);
  return std::to_string(first) + ".." + std::to_string(last);
}

} // namespace s2s::rt
