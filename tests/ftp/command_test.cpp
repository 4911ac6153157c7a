#include "ftp/command.h"

#include <gtest/gtest.h>

#include <string>

#include "ftp/error.h"

namespace {

TEST(CommandTest, VerbAndArgument) {
  auto c = ftp::format_command("RETR", "dir/a file.txt");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "RETR dir/a file.txt\r\n");
}

TEST(CommandTest, NoSpaceWithoutArgument) {
  auto c = ftp::format_command("PWD");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "PWD\r\n");
}

TEST(CommandTest, ArgumentSpacesKept) {
  auto c = ftp::format_command("DELE", " lead and trail ");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, "DELE  lead and trail \r\n");
}

TEST(CommandTest, RefusesLineBreaksAndNulInArgument) {
  for (std::string bad :
       {std::string("a\r\nDELE x"), std::string("a\nb"), std::string("a\rb"), std::string("a\0b", 3)}) {
    auto c = ftp::format_command("RETR", bad);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.code(), ftp::Errc::bad_name);
  }
}

TEST(CommandTest, RefusesLineBreaksAndNulInVerb) {
  for (std::string bad : {std::string("RE\nTR"), std::string("RETR\r"), std::string("RE\0TR", 5)}) {
    auto c = ftp::format_command(bad, "x");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.code(), ftp::Errc::bad_name);
  }
}

TEST(CommandTest, RedactMasksPassword) {
  EXPECT_EQ(ftp::redact_command("PASS s3cret\r\n"), "PASS ****\r\n");
  EXPECT_EQ(ftp::redact_command("pass with space"), "pass ****");
  EXPECT_EQ(ftp::redact_command("PASS s3cret").find("s3cret"), std::string::npos);
}

TEST(CommandTest, RedactLeavesOtherCommandsAlone) {
  EXPECT_EQ(ftp::redact_command("USER anonymous\r\n"), "USER anonymous\r\n");
  EXPECT_EQ(ftp::redact_command("PASSIVE x"), "PASSIVE x");
  EXPECT_EQ(ftp::redact_command("RETR PASS x"), "RETR PASS x");
}

}  // namespace
