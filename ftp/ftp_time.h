#pragma once
// The FTP timestamp "YYYYMMDDHHMMSS[.fff]" (RFC 3659 section 2.3), always UTC: MDTM replies, the
// MLSx modify fact, and the MFMT argument. Calendar arithmetic is done by hand so the process
// time zone (TZ) never matters.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ftp {

// Surrounding spaces are ignored; anything else that is not a valid date and time yields nullopt.
// Fractional seconds (any number of digits) are kept to the microsecond.
std::optional<std::chrono::system_clock::time_point> parse_ftp_time(std::string_view text);

// "YYYYMMDDHHMMSS" (fraction truncated).
std::string format_ftp_time(std::chrono::system_clock::time_point time);

// Civil date/time (UTC) to a time point; nullopt when a field is out of range (February 30th,
// hour 24, a year system_clock cannot represent). Seconds may be 60 for a leap second. Shared with the
// listing parser.
std::optional<std::chrono::system_clock::time_point> make_utc_time(int year, int month, int day, int hour,
                                                                   int minute, int second);

}  // namespace ftp
