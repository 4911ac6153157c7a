#include "ftp/reply_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ftp/error.h"

namespace {

using ftp::Reply;
using ftp::ReplyParser;

std::vector<Reply> drain(ReplyParser& p) {
  std::vector<Reply> out;
  while (auto r = p.next())
    out.push_back(std::move(*r));
  return out;
}

std::vector<Reply> parse_whole(std::string_view bytes) {
  ReplyParser p;
  EXPECT_FALSE(p.feed(bytes));
  return drain(p);
}

std::vector<Reply> parse_bytewise(std::string_view bytes) {
  ReplyParser p;
  for (char c : bytes)
    EXPECT_FALSE(p.feed(std::string_view(&c, 1)));
  return drain(p);
}

void expect_same(const std::vector<Reply>& a, const std::vector<Reply>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].code, b[i].code);
    EXPECT_EQ(a[i].lines, b[i].lines);
  }
}

TEST(ReplyParserTest, SingleLineReply) {
  const auto replies = parse_whole("220 Welcome\r\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code, 220);
  EXPECT_EQ(replies[0].lines, std::vector<std::string>{"Welcome"});
}

TEST(ReplyParserTest, IncompleteLineYieldsNothingYet) {
  ReplyParser p;
  EXPECT_FALSE(p.feed("220 Wel"));
  EXPECT_FALSE(p.next());
  EXPECT_TRUE(p.partial());
  EXPECT_FALSE(p.feed("come\r\n"));
  auto r = p.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lines, std::vector<std::string>{"Welcome"});
  EXPECT_FALSE(p.partial());
}

TEST(ReplyParserTest, BareLineFeedAccepted) {
  const auto replies = parse_whole("200 OK\n331 Password\n");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].code, 200);
  EXPECT_EQ(replies[1].code, 331);
  EXPECT_EQ(replies[1].lines[0], "Password");
}

TEST(ReplyParserTest, MultiLineWithDigitLedAndOtherCodeLines) {
  const std::string bytes =
      "230-Welcome\r\n"
      "123 not the end\r\n"
      "230-still inside\r\n"
      "  indented\r\n"
      "2300 also text\r\n"
      "230 Login successful\r\n";
  const auto replies = parse_whole(bytes);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code, 230);
  const std::vector<std::string> want = {"Welcome",    "123 not the end", "230-still inside",
                                         "  indented", "2300 also text",  "Login successful"};
  EXPECT_EQ(replies[0].lines, want);
}

TEST(ReplyParserTest, ByteByByteGivesSameRepliesAsWhole) {
  const std::string bytes =
      "220-Banner line one\r\n"
      "220-Banner line two\r\n"
      " 220 inner text\r\n"
      "220 ready\r\n"
      "331 Please specify the password.\n"
      "211-Features:\r\n"
      " MLST type*;size*;\r\n"
      " UTF8\r\n"
      "211 End\r\n";
  const auto whole = parse_whole(bytes);
  EXPECT_EQ(whole.size(), 3u);
  expect_same(whole, parse_bytewise(bytes));
}

TEST(ReplyParserTest, EverySplitPointGivesSameReplies) {
  const std::string bytes = "150-Opening\r\n226 x\r\n150 Opening\r\n226 Done\r\n";
  const auto whole = parse_whole(bytes);
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    ReplyParser p;
    EXPECT_FALSE(p.feed(std::string_view(bytes).substr(0, cut)));
    EXPECT_FALSE(p.feed(std::string_view(bytes).substr(cut)));
    expect_same(whole, drain(p));
  }
}

TEST(ReplyParserTest, SeveralRepliesInOneFeedComeOutInOrder) {
  const auto replies = parse_whole("150 Opening\r\n226 Transfer complete\r\n250 OK\r\n");
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].code, 150);
  EXPECT_EQ(replies[1].code, 226);
  EXPECT_EQ(replies[2].code, 250);
}

TEST(ReplyParserTest, EmptyTextAndBareCodeAccepted) {
  const auto replies = parse_whole("200 \r\n200\r\n");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].lines, std::vector<std::string>{""});
  EXPECT_EQ(replies[1].lines, std::vector<std::string>{""});
}

TEST(ReplyParserTest, OverLongLineIsProtocolError) {
  ReplyParser p;
  const std::string chunk(1000, 'a');
  EXPECT_FALSE(p.feed("220 "));
  std::error_code ec;
  for (int i = 0; i < 20 && !ec; ++i)
    ec = p.feed(chunk);
  EXPECT_EQ(ec, ftp::Errc::protocol_error);
  EXPECT_TRUE(p.failed());
  EXPECT_EQ(p.feed("\r\n220 ok\r\n"), ftp::Errc::protocol_error);
  EXPECT_FALSE(p.next());
}

TEST(ReplyParserTest, OverLongLineInOneFeedIsProtocolError) {
  ReplyParser p;
  const std::string line = "220 " + std::string(ReplyParser::kMaxLineLength, 'x') + "\r\n";
  EXPECT_EQ(p.feed(line), ftp::Errc::protocol_error);
  EXPECT_FALSE(p.next());
}

TEST(ReplyParserTest, LineAtTheLimitIsAccepted) {
  ReplyParser p;
  const std::string text(ReplyParser::kMaxLineLength - 4, 'x');
  EXPECT_FALSE(p.feed("220 " + text + "\r\n"));
  auto r = p.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->lines[0], text);
}

TEST(ReplyParserTest, GarbageFirstLineIsProtocolError) {
  for (std::string_view bad : {"hello\r\n", "22 short\r\n", "220x\r\n", "SSH-2.0-OpenSSH\r\n", "\r\n"}) {
    ReplyParser p;
    EXPECT_EQ(p.feed(bad), ftp::Errc::protocol_error) << bad;
    EXPECT_EQ(p.feed("220 ok\r\n"), ftp::Errc::protocol_error) << bad;
    EXPECT_FALSE(p.next()) << bad;
  }
}

TEST(ReplyParserTest, ReplyBeforeGarbageIsStillDelivered) {
  ReplyParser p;
  EXPECT_EQ(p.feed("200 ok\r\nnonsense\r\n"), ftp::Errc::protocol_error);
  auto r = p.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 200);
}

TEST(ReplyParserTest, TooManyLinesIsProtocolError) {
  ReplyParser p;
  EXPECT_FALSE(p.feed("214-help\r\n"));
  std::string many;
  for (int i = 0; i < 1000; ++i)
    many += "x\r\n";
  std::error_code ec;
  for (std::size_t i = 0; i <= ReplyParser::kMaxLines / 1000 && !ec; ++i)
    ec = p.feed(many);
  EXPECT_EQ(ec, ftp::Errc::protocol_error);
}

}  // namespace
