#include "fs/options.h"

#include <gtest/gtest.h>

#include <filesystem>

#include <algorithm>

namespace {

ftp::Result<fs::Config> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ftpfs");
  return fs::parse_options(args);
}

bool has_arg_containing(const fs::Config& c, const std::string& s) {
  return std::any_of(c.fuse_args.begin(), c.fuse_args.end(),
                     [&](const std::string& a) { return a.find(s) != std::string::npos; });
}

TEST(OptionsTest, ParsesPositionalsAndFtpfsOptions) {
  auto c =
      parse({"ftp://u:p@h:2121/d", "/mnt/x", "-o", "connections=8,cache_timeout=2.5,encoding=GBK", "-f"});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->mountpoint, "/mnt/x");
  EXPECT_EQ(c->session.host, "h");
  EXPECT_EQ(c->session.port, 2121);
  EXPECT_EQ(c->session.user, "u");
  EXPECT_EQ(c->session.password, "p");
  EXPECT_EQ(c->session.max_sessions, 8u);
  EXPECT_EQ(c->cache_timeout.count(), 2500);
  EXPECT_EQ(c->session.encoding, "GBK");
  EXPECT_TRUE(c->foreground);
}

TEST(OptionsTest, RelativeMountPointBecomesAbsolute) {
  auto c = parse({"ftp://h/", "some/dir"});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->mountpoint, (std::filesystem::current_path() / "some/dir").string());
}

TEST(OptionsTest, AcceptsOptionsBeforeArgumentsAsMountFuseDoes) {
  auto c = parse({"-o", "ro,allow_other", "ftp://h/", "/mnt"});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->mountpoint, "/mnt");
  EXPECT_TRUE(has_arg_containing(*c, "allow_other"));
}

TEST(OptionsTest, DropsFstabOnlyWords) {
  auto c =
      parse({"ftp://h/", "/mnt", "-o",
             "_netdev,noauto,nofail,users,user,auto,x-systemd.automount,x-gvfs-show,comment=foo,uid=1000"});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_FALSE(has_arg_containing(*c, "_netdev"));
  EXPECT_FALSE(has_arg_containing(*c, "x-systemd"));
  EXPECT_FALSE(has_arg_containing(*c, "comment"));
  EXPECT_TRUE(has_arg_containing(*c, "uid=1000"));
}

TEST(OptionsTest, UserOptionOverridesUrlUser) {
  auto c = parse({"ftp://h/", "/mnt", "-o", "user=alice"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->session.user, "alice");
}

TEST(OptionsTest, AnonymousWhenNoUser) {
  auto c = parse({"ftp://h/", "/mnt"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->session.user, "anonymous");
}

TEST(OptionsTest, ParsesSizesWithSuffixes) {
  auto c = parse({"ftp://h/", "/mnt", "-o", "cache_size=2G,memory_cache=64M,block_size=128,readahead=8M"});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->disk_cache_bytes, 2ull << 30);
  EXPECT_EQ(c->memory_cache_bytes, 64u << 20);
  EXPECT_EQ(c->block_size, 128u << 10);
  EXPECT_EQ(c->readahead_bytes, 8u << 20);
}

class OptionsRejectTest : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(OptionsRejectTest, RejectsWithMessage) {
  auto c = parse(GetParam());
  ASSERT_FALSE(c);
  EXPECT_FALSE(c.error().detail.empty());
}

INSTANTIATE_TEST_SUITE_P(
    BadInput, OptionsRejectTest,
    ::testing::Values(std::vector<std::string>{"ftp://h/"}, std::vector<std::string>{},
                      std::vector<std::string>{"ftp://h/", "/mnt", "-o", "bogus_option"},
                      std::vector<std::string>{"ftp://h/", "/mnt", "-o", "connections=0"},
                      std::vector<std::string>{"ftp://h/", "/mnt", "-o", "connections=abc"},
                      std::vector<std::string>{"ftp://h/", "/mnt", "-o", "cache_timeout=-1"},
                      std::vector<std::string>{"ftp://h/", "/mnt", "-o", "block_size=1"},
                      std::vector<std::string>{"ftp://h/", "/mnt", "-o", "loglevel=loud"},
                      std::vector<std::string>{"http://h/", "/mnt"},
                      std::vector<std::string>{"ftp://h/", "/mnt", "extra"},
                      std::vector<std::string>{"ftp://h/", "/mnt", "-o", "password=secret"},
                      std::vector<std::string>{"ftp://h/", "/mnt", "-o", "encoding=NO-SUCH-CHARSET"},
                      std::vector<std::string>{"ftp://h/", "/mnt", "-o", "credentials="},
                      std::vector<std::string>{"ftp://h/", "/mnt", "-o", "user="}));

TEST(OptionsTest, PasswordOptionIsRefusedWithoutEchoingTheSecret) {
  auto c = parse({"ftp://h/", "/mnt", "-o", "password=hunter2"});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find("credentials="), std::string::npos) << c.error().detail;
  EXPECT_EQ(c.error().detail.find("hunter2"), std::string::npos) << c.error().detail;
}

TEST(OptionsTest, ParsesCredentialOptions) {
  auto c = parse({"ftp://h/", "/mnt", "-o", "password_stdin,credentials=/etc/ftpfs/h.cred,no_netrc"});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->password_stdin);
  EXPECT_EQ(c->credentials_file, "/etc/ftpfs/h.cred");
  EXPECT_FALSE(c->use_netrc);
  EXPECT_FALSE(has_arg_containing(*c, "credentials"));
}

TEST(OptionsTest, HelpListsEveryFtpfsOption) {
  const std::string help = fs::usage_text("ftpfs");
  for (const char* opt :
       {"connections=", "cache_timeout=", "cache_dir=", "cache_size=", "memory_cache=", "block_size=",
        "readahead=", "connect_timeout=", "timeout=", "user=", "encoding=", "active", "no_epsv", "trust_pasv",
        "loglevel=", "password_stdin", "credentials=", "no_netrc"}) {
    EXPECT_NE(help.find(opt), std::string::npos) << opt;
  }
}

}  // namespace
