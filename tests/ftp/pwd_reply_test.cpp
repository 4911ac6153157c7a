#include "ftp/pwd_reply.h"

#include <gtest/gtest.h>

#include "ftp/error.h"

namespace {

ftp::Reply reply(int code, std::string text) {
  return ftp::Reply{code, {std::move(text)}};
}

TEST(PwdReplyTest, PlainPath) {
  auto p = ftp::parse_pwd_reply(reply(257, "\"/home/user\" is the current directory"));
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "/home/user");
}

TEST(PwdReplyTest, DoubledQuotesUnquoted) {
  auto p = ftp::parse_pwd_reply(reply(257, "\"/a \"\"quoted\"\" dir\" created"));
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "/a \"quoted\" dir");
}

TEST(PwdReplyTest, QuoteAtEndOfPath) {
  auto p = ftp::parse_pwd_reply(reply(257, "\"/x\"\"\""));
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "/x\"");
}

TEST(PwdReplyTest, PathWithSpaces) {
  auto p = ftp::parse_pwd_reply(reply(257, "\"/my files/sub dir\""));
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, "/my files/sub dir");
}

TEST(PwdReplyTest, NoQuotedStringIsProtocolError) {
  EXPECT_EQ(ftp::parse_pwd_reply(reply(257, "/home/user is current")).code(), ftp::Errc::protocol_error);
  EXPECT_EQ(ftp::parse_pwd_reply(reply(257, "\"/unterminated")).code(), ftp::Errc::protocol_error);
}

TEST(PwdReplyTest, WrongCodeIsProtocolError) {
  EXPECT_EQ(ftp::parse_pwd_reply(reply(550, "\"/x\"")).code(), ftp::Errc::protocol_error);
}

}  // namespace
