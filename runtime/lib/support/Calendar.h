//===- Calendar.h - Times as the data files hold them -----------*- C++ -*-===//
//
// Times are int64 seconds since 1970-01-01 00:00 UTC, on the proleptic
// Gregorian calendar (what ERA5 and the data files use). Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_CALENDAR_H
#define S2S_RUNTIME_SUPPORT_CALENDAR_H

#include <cstdint>
#include <string>

namespace s2s::rt {

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// days_from_civil).
int64_t daysFromCivil(int64_t year, unsigned month, unsigned day);
/// The year of day `days` since 1970-01-01.
int64_t yearOfDays(int64_t days);

/// The UTC year of time `t`; INT_MIN when gmtime cannot represent it.
int yearOf(int64_t t);
/// Jan 1 00:00 UTC of `year`.
int64_t yearStart(int year);
/// 2003-01-05T06:00 (seconds shown only when not 0).
std::string formatTime(int64_t t);
/// The time of "2003-01-05", "2003-01-05T06", "2003-01-05T06:00",
/// "2003-01-05 06:00:00" (UTC; a trailing 'Z' is allowed); false when
/// `text` is none of these or names no real date.
bool parseTime(const std::string &text, int64_t &t);
/// A duration in seconds as a step is written: 6h, 30m, 1d, 45s.
std::string formatDuration(int64_t seconds);
/// Years first..last: "2000..2007", "2008", or "(none)" when last < first.
std::string formatYears(int first, int last);

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_CALENDAR_H
