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
