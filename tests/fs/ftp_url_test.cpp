#include "fs/ftp_url.h"

#include <gtest/gtest.h>

namespace {

TEST(FtpUrlTest, ParsesFullUrlWithPercentEscapes) {
  auto url = fs::parse_ftp_url("ftp://us%40er:p%3Ass%40w@ftp.example.org:2121/pub/my%20dir/");
  ASSERT_TRUE(url) << url.error().message();
  EXPECT_EQ(url->user, "us@er");
  EXPECT_EQ(url->password, "p:ss@w");
  EXPECT_EQ(url->host, "ftp.example.org");
  EXPECT_EQ(url->port, 2121);
  EXPECT_EQ(url->path, "pub/my dir");
}

TEST(FtpUrlTest, DefaultsToPort21AndLoginDirectory) {
  auto url = fs::parse_ftp_url("ftp://127.0.0.1");
  ASSERT_TRUE(url);
  EXPECT_FALSE(url->user);
  EXPECT_EQ(url->port, 21);
  EXPECT_EQ(url->path, "");
}

TEST(FtpUrlTest, ParsesBracketedIpv6Literal) {
  auto url = fs::parse_ftp_url("ftp://anonymous@[::1]:2100/x");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 2100);
  EXPECT_EQ(url->display(), "ftp://anonymous@[::1]:2100/x");
}

TEST(FtpUrlTest, PasswordContainingAtSignUsesLastAt) {
  auto url = fs::parse_ftp_url("ftp://bob:a@b@host/");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->user, "bob");
  EXPECT_EQ(url->password, "a@b");
}

TEST(FtpUrlTest, DisplayNeverShowsPassword) {
  auto url = fs::parse_ftp_url("ftp://bob:secret@host:21/dir");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->display().find("secret"), std::string::npos);
  EXPECT_EQ(url->display(), "ftp://bob@host/dir");
}

class FtpUrlRejectsTest : public ::testing::TestWithParam<const char*> {};

TEST_P(FtpUrlRejectsTest, RejectsMalformedUrl) {
  auto url = fs::parse_ftp_url(GetParam());
  EXPECT_FALSE(url);
  if (!url) {
    EXPECT_FALSE(url.error().detail.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Malformed, FtpUrlRejectsTest,
                         ::testing::Values("http://host/", "host/dir", "ftp://", "ftp://:21/",
                                           "ftp://host:0/", "ftp://host:65536/", "ftp://host:12ab/",
                                           "ftp://[::1/", "ftp://[abc]/", "ftp://host/a%zz",
                                           "ftp://host/a%00b", "ftp://@host/", "ftp://host:/"));

}  // namespace
