#include "ftp/ftp_time.h"

#include <gtest/gtest.h>

#include <chrono>

namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

system_clock::time_point at(long long unix_seconds) {
  return system_clock::time_point(seconds(unix_seconds));
}

TEST(FtpTimeTest, ParsesKnownInstant) {
  auto t = ftp::parse_ftp_time("20240229123456");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, at(1709210096));  // 2024-02-29T12:34:56Z
}

TEST(FtpTimeTest, ParsesEpochAndFraction) {
  EXPECT_EQ(ftp::parse_ftp_time("19700101000000"), at(0));
  auto t = ftp::parse_ftp_time("19700101000001.25");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t - at(0), std::chrono::milliseconds(1250));
}

TEST(FtpTimeTest, SurroundingSpacesIgnored) {
  EXPECT_EQ(ftp::parse_ftp_time(" 19700101000010 "), at(10));
}

TEST(FtpTimeTest, FormatsKnownInstant) {
  EXPECT_EQ(ftp::format_ftp_time(at(1709210096)), "20240229123456");
  EXPECT_EQ(ftp::format_ftp_time(at(0)), "19700101000000");
  EXPECT_EQ(ftp::format_ftp_time(at(-1)), "19691231235959");
}

TEST(FtpTimeTest, RoundTrip) {
  for (long long s : {0LL, 951782400LL, 1709210096LL, 4102444799LL, 9000000000LL, -2000000000LL}) {
    const auto text = ftp::format_ftp_time(at(s));
    EXPECT_EQ(ftp::parse_ftp_time(text), at(s)) << text;
  }
}

TEST(FtpTimeTest, FormatTruncatesFraction) {
  EXPECT_EQ(ftp::format_ftp_time(at(5) + std::chrono::milliseconds(999)), "19700101000005");
}

TEST(FtpTimeTest, InvalidValuesRejected) {
  for (const char* bad :
       {"", "2024", "2024022912345", "20241301000000", "20240001000000", "20230229000000", "20240431000000",
        "20240101240000", "20240101236000", "20240101000061", "2024010100000x", "20240101000000.",
        "20240101000000.1a", "20240101000000Z", "191000101000000", "00000101000000", "99991231235959"}) {
    EXPECT_FALSE(ftp::parse_ftp_time(bad)) << bad;
  }
}

TEST(FtpTimeTest, MakeUtcTimeValidates) {
  EXPECT_EQ(ftp::make_utc_time(2000, 2, 29, 0, 0, 0), at(951782400));
  EXPECT_FALSE(ftp::make_utc_time(1900, 2, 29, 0, 0, 0));
}

}  // namespace
