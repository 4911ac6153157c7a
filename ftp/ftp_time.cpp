#include "ftp/ftp_time.h"

#include <cstdint>
#include <cstdio>

namespace ftp {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian, day 0 = 1970-01-01.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int digits(std::string_view s, std::size_t pos, std::size_t n) {
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i)
    v = v * 10 + (s[i] - '0');
  return v;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> make_utc_time(int year, int month, int day, int hour,
                                                                   int minute, int second) {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
      hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second;
  // system_clock counts nanoseconds on glibc, which ends in 2262: refuse rather than overflow.
  using Duration = std::chrono::system_clock::duration;
  constexpr auto kMax = std::chrono::duration_cast<std::chrono::seconds>(Duration::max()).count() - 1;
  constexpr auto kMin = std::chrono::duration_cast<std::chrono::seconds>(Duration::min()).count() + 1;
  if (secs > kMax || secs < kMin)
    return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::seconds(secs)));
}

std::optional<std::chrono::system_clock::time_point> parse_ftp_time(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  if (text.size() < 14)
    return std::nullopt;
  for (std::size_t i = 0; i < 14; ++i) {
    if (!is_digit(text[i]))
      return std::nullopt;
  }
  auto t = make_utc_time(digits(text, 0, 4), digits(text, 4, 2), digits(text, 6, 2), digits(text, 8, 2),
                         digits(text, 10, 2), digits(text, 12, 2));
  if (!t)
    return std::nullopt;
  if (text.size() == 14)
    return t;
  if (text[14] != '.' || text.size() == 15)
    return std::nullopt;
  std::int64_t micros = 0;
  std::int64_t scale = 100000;
  for (std::size_t i = 15; i < text.size(); ++i) {
    if (!is_digit(text[i]))
      return std::nullopt;
    micros += (text[i] - '0') * scale;
    scale /= 10;
  }
  return *t +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(micros));
}

std::string format_ftp_time(std::chrono::system_clock::time_point time) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count();
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civil_from_days(days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld%02u%02u%02lld%02lld%02lld", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

}  // namespace ftp
