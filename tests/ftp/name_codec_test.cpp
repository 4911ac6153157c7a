#include "ftp/name_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "ftp/error.h"

namespace {

// "中文.txt" in GBK and in UTF-8.
const std::string kGbk = "\xD6\xD0\xCE\xC4.txt";
const std::string kUtf8 = "\xE4\xB8\xAD\xE6\x96\x87.txt";

ftp::NameCodec gbk() {
  auto c = ftp::NameCodec::create("GBK");
  EXPECT_TRUE(c);
  return c ? *c : ftp::NameCodec{};
}

TEST(NameCodecTest, IdentityForEmptyAndUtf8) {
  for (const char* cs : {"", "UTF-8", "utf8", "Utf-8"}) {
    auto c = ftp::NameCodec::create(cs);
    ASSERT_TRUE(c) << cs;
    EXPECT_TRUE(c->identity()) << cs;
    EXPECT_EQ(c->to_local("a%41\xFF"), "a%41\xFF");
    auto s = c->to_server("a%41");
    ASSERT_TRUE(s);
    EXPECT_EQ(*s, "a%41");
  }
}

TEST(NameCodecTest, UnknownCharsetIsBadArgument) {
  auto c = ftp::NameCodec::create("NO-SUCH-CHARSET-42");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.code(), ftp::Errc::bad_argument);
}

TEST(NameCodecTest, GbkRoundTrip) {
  const auto c = gbk();
  EXPECT_FALSE(c.identity());
  EXPECT_EQ(c.to_local(kGbk), kUtf8);
  auto s = c.to_server(kUtf8);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, kGbk);
}

TEST(NameCodecTest, UndecodableBytesEscapedAndReversible) {
  const auto c = gbk();
  // 0xFF is never a valid GBK byte.
  const std::string server = "a\xFF" + kGbk + "\xFF";
  const auto local = c.to_local(server);
  EXPECT_EQ(local, "a%FF" + kUtf8 + "%FF");
  auto back = c.to_server(local);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, server);
}

TEST(NameCodecTest, TruncatedMultibyteAtEndEscaped) {
  const auto c = gbk();
  const std::string server = "x\xD6";
  const auto local = c.to_local(server);
  EXPECT_EQ(local, "x%D6");
  EXPECT_EQ(c.to_server(local).value(), server);
}

TEST(NameCodecTest, PercentInEscapedNameIsEscaped) {
  const auto c = gbk();
  const std::string server = "100%\xFF";
  const auto local = c.to_local(server);
  EXPECT_EQ(local, "100%25%FF");
  EXPECT_EQ(c.to_server(local).value(), server);
}

TEST(NameCodecTest, PercentInCleanNameKeptUnlessItLooksLikeEscape) {
  const auto c = gbk();
  EXPECT_EQ(c.to_local("50% off"), "50% off");
  EXPECT_EQ(c.to_server("50% off").value(), "50% off");
  // A clean name that would read as an escape is escaped itself, so it maps back exactly.
  const std::string server = "a%FF";
  const auto local = c.to_local(server);
  EXPECT_EQ(local, "a%25FF");
  EXPECT_EQ(c.to_server(local).value(), server);
}

TEST(NameCodecTest, RoundTripOfManyByteStrings) {
  const auto c = gbk();
  const std::vector<std::string> names = {"plain",
                                          "%",
                                          "%%",
                                          "%2",
                                          "%zz",
                                          "\x81",
                                          "\x81\x40",
                                          "\xFE\xFE%41",
                                          kGbk + "%25",
                                          "a\x80%b",
                                          std::string("\xD6\xD0%\xCE")};
  for (const auto& n : names) {
    auto back = c.to_server(c.to_local(n));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, n);
  }
}

TEST(NameCodecTest, UnrepresentableNameIsBadName) {
  const auto c = gbk();
  auto s = c.to_server("\xF0\x9F\x98\x80");  // an emoji; GBK has none
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), ftp::Errc::bad_name);
  EXPECT_EQ(c.to_server("\xFF not utf8").code(), ftp::Errc::bad_name);
}

TEST(NameCodecTest, MovedAndCopiedCodecsKeepWorking) {
  auto c = gbk();
  ftp::NameCodec copy = c;
  ftp::NameCodec moved = std::move(c);
  EXPECT_EQ(copy.to_local(kGbk), kUtf8);
  EXPECT_EQ(moved.to_local(kGbk), kUtf8);
}

TEST(NameCodecTest, ConcurrentUseGivesCorrectResults) {
  const auto c = gbk();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (c.to_local(kGbk) != kUtf8 || c.to_server(kUtf8).value() != kGbk)
          ++failures[t];
      }
    });
  }
  for (auto& th : threads)
    th.join();
  for (int f : failures)
    EXPECT_EQ(f, 0);
}

}  // namespace
