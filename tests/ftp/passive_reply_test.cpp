#include "ftp/passive_reply.h"

#include <gtest/gtest.h>

#include "ftp/error.h"

namespace {

ftp::Reply reply(int code, std::string text) {
  return ftp::Reply{code, {std::move(text)}};
}

struct PasvCase {
  const char* text;
  const char* host;
  std::uint16_t port;
};

class PassiveReplyPasvTest : public testing::TestWithParam<PasvCase> {};

TEST_P(PassiveReplyPasvTest, ParsesHostAndPort) {
  auto hp = ftp::parse_pasv_reply(reply(227, GetParam().text));
  ASSERT_TRUE(hp) << GetParam().text;
  EXPECT_EQ(hp->host, GetParam().host);
  EXPECT_EQ(hp->port, GetParam().port);
}

INSTANTIATE_TEST_SUITE_P(
    Variants, PassiveReplyPasvTest,
    testing::Values(PasvCase{"Entering Passive Mode (127,0,0,1,195,80).", "127.0.0.1", 195 * 256 + 80},
                    PasvCase{"Entering Passive Mode 10,1,2,3,4,5", "10.1.2.3", 4 * 256 + 5},
                    PasvCase{"Entering Passive Mode =192,168,0,10,0,21", "192.168.0.10", 21},
                    PasvCase{"Entering Passive Mode (127, 0, 0, 1, 4, 1)", "127.0.0.1", 1025},
                    PasvCase{"Mode 2 of 3: (1,2,3,4,5,6)", "1.2.3.4", 5 * 256 + 6},
                    PasvCase{"(255,255,255,255,255,255)", "255.255.255.255", 65535}));

TEST(PassiveReplyTest, PasvNumberAbove255IsProtocolError) {
  auto hp = ftp::parse_pasv_reply(reply(227, "Entering Passive Mode (127,0,0,256,1,1)"));
  ASSERT_FALSE(hp);
  EXPECT_EQ(hp.code(), ftp::Errc::protocol_error);
  EXPECT_FALSE(ftp::parse_pasv_reply(reply(227, "(127,0,0,1,1,99999999999999999999)")));
}

TEST(PassiveReplyTest, PasvWithoutSixNumbersIsProtocolError) {
  EXPECT_EQ(ftp::parse_pasv_reply(reply(227, "Entering Passive Mode (127,0,0,1,5)")).code(),
            ftp::Errc::protocol_error);
  EXPECT_EQ(ftp::parse_pasv_reply(reply(227, "Entering Passive Mode")).code(), ftp::Errc::protocol_error);
}

TEST(PassiveReplyTest, PasvWrongCodeIsProtocolError) {
  EXPECT_EQ(ftp::parse_pasv_reply(reply(500, "(127,0,0,1,1,1)")).code(), ftp::Errc::protocol_error);
}

TEST(PassiveReplyTest, EpsvStandardForm) {
  auto port = ftp::parse_epsv_reply(reply(229, "Entering Extended Passive Mode (|||50123|)"));
  ASSERT_TRUE(port);
  EXPECT_EQ(*port, 50123);
}

TEST(PassiveReplyTest, EpsvOtherDelimiter) {
  auto port = ftp::parse_epsv_reply(reply(229, "Entering Extended Passive Mode (!!!2121!)"));
  ASSERT_TRUE(port);
  EXPECT_EQ(*port, 2121);
}

TEST(PassiveReplyTest, EpsvWithoutParentheses) {
  auto port = ftp::parse_epsv_reply(reply(229, "Entering Extended Passive Mode... |||6446|"));
  ASSERT_TRUE(port);
  EXPECT_EQ(*port, 6446);
}

TEST(PassiveReplyTest, EpsvBadPortsAreProtocolErrors) {
  for (const char* text : {"(|||0|)", "(|||65536|)", "(|||99999999999|)", "(|||abc|)", "(|||123)", "(||123|)",
                           "(1112221)", "no port here"}) {
    auto port = ftp::parse_epsv_reply(reply(229, text));
    ASSERT_FALSE(port) << text;
    EXPECT_EQ(port.code(), ftp::Errc::protocol_error) << text;
  }
}

TEST(PassiveReplyTest, EpsvWrongCodeIsProtocolError) {
  EXPECT_FALSE(ftp::parse_epsv_reply(reply(500, "(|||50123|)")));
}

TEST(PassiveReplyTest, FormatPort) {
  EXPECT_EQ(ftp::format_port_argument({127, 0, 0, 1}, 50123), "127,0,0,1,195,203");
  EXPECT_EQ(ftp::format_port_argument({10, 20, 30, 40}, 21), "10,20,30,40,0,21");
}

TEST(PassiveReplyTest, FormatEprt) {
  EXPECT_EQ(ftp::format_eprt_argument("127.0.0.1", false, 6446), "|1|127.0.0.1|6446|");
  EXPECT_EQ(ftp::format_eprt_argument("::1", true, 65535), "|2|::1|65535|");
}

TEST(PassiveReplyTest, FormattedPortParsesBack) {
  auto hp = ftp::parse_pasv_reply(reply(227, "(" + ftp::format_port_argument({192, 168, 1, 2}, 40000) + ")"));
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "192.168.1.2");
  EXPECT_EQ(hp->port, 40000);
}

}  // namespace
