#include "fs/credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "fs/options.h"
#include "tests/support/temp_dir.h"

namespace {

namespace stdfs = std::filesystem;

fs::Config parse(std::vector<std::string> args) {
  args.insert(args.begin(), "ftpfs");
  auto c = fs::parse_options(args);
  EXPECT_TRUE(c) << c.error().detail;
  return c ? *c : fs::Config{};
}

stdfs::path write_file(const stdfs::path& p, const std::string& text, mode_t mode) {
  std::ofstream(p, std::ios::binary) << text;
  ::chmod(p.c_str(), mode);
  return p;
}

// No stdin, no terminal, no netrc unless a test sets one.
struct FakeIo {
  std::optional<std::string> stdin_line;
  bool terminal = false;
  std::optional<std::string> typed;
  std::vector<std::string> prompts;
  stdfs::path netrc;

  fs::CredentialIo io() {
    fs::CredentialIo io;
    io.read_stdin_line = [this] { return stdin_line; };
    io.stdin_is_terminal = [this] { return terminal; };
    io.prompt_password = [this](const std::string& prompt) {
      prompts.push_back(prompt);
      return typed;
    };
    io.netrc_file = netrc;
    return io;
  }
};

class CredentialsTest : public ::testing::Test {
 protected:
  testsupport::TempDir dir_{"ftpfs-cred"};
  FakeIo fake_;

  ftp::Status resolve(fs::Config& c) { return fs::resolve_credentials(c, fake_.io()); }
};

TEST_F(CredentialsTest, AnonymousWhenNothingIsGiven) {
  auto c = parse({"ftp://h/", "/mnt"});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.user, "anonymous");
  EXPECT_EQ(c.session.password, "anonymous@");
  EXPECT_EQ(c.url.display().find('@'), std::string::npos);
}

TEST_F(CredentialsTest, UrlPasswordWinsOverEverything) {
  fake_.stdin_line = "from-stdin";
  auto c = parse({"ftp://u:url@h/", "/mnt", "-o", "password_stdin"});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.password, "url");
}

TEST_F(CredentialsTest, PasswordStdinReadsOneLine) {
  fake_.stdin_line = "s3cret";
  auto c = parse({"ftp://alice@h/", "/mnt", "-o", "password_stdin"});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.user, "alice");
  EXPECT_EQ(c.session.password, "s3cret");
}

TEST_F(CredentialsTest, PasswordStdinWithEmptyInputIsAnError) {
  auto c = parse({"ftp://alice@h/", "/mnt", "-o", "password_stdin"});
  auto s = resolve(c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail.find("password_stdin"), std::string::npos);
}

TEST_F(CredentialsTest, CredentialsFileGivesUserAndPassword) {
  const auto file =
      write_file(dir_.path() / "host.cred", "# comment\nuser=bob\npassword= spaced pw \n", 0600);
  auto c = parse({"ftp://h/dir", "/mnt", "-o", "credentials=" + file.string()});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.user, "bob");
  EXPECT_EQ(c.session.password, " spaced pw ");
  EXPECT_EQ(c.url.display(), "ftp://bob@h/dir");
}

TEST_F(CredentialsTest, CredentialsFileReadableByOthersIsRefused) {
  const auto file = write_file(dir_.path() / "host.cred", "user=bob\npassword=pw\n", 0644);
  auto c = parse({"ftp://h/", "/mnt", "-o", "credentials=" + file.string()});
  auto s = resolve(c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail.find("0644"), std::string::npos) << s.error().detail;
  EXPECT_NE(s.error().detail.find("chmod 600"), std::string::npos) << s.error().detail;
  EXPECT_EQ(s.error().detail.find("pw\n"), std::string::npos);
}

TEST_F(CredentialsTest, CredentialsFileWritableByGroupIsRefused) {
  const auto file = write_file(dir_.path() / "host.cred", "user=bob\npassword=pw\n", 0620);
  auto c = parse({"ftp://h/", "/mnt", "-o", "credentials=" + file.string()});
  EXPECT_FALSE(resolve(c));
}

TEST_F(CredentialsTest, MissingCredentialsFileIsAnError) {
  auto c = parse({"ftp://h/", "/mnt", "-o", "credentials=" + (dir_.path() / "nope").string()});
  auto s = resolve(c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail.find("nope"), std::string::npos);
}

TEST_F(CredentialsTest, UnknownLineInCredentialsFileIsRefusedWithoutEchoingIt) {
  const auto file = write_file(dir_.path() / "c", "user=bob\npasword=topsecret\n", 0600);
  auto c = parse({"ftp://h/", "/mnt", "-o", "credentials=" + file.string()});
  auto s = resolve(c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail.find("line 2"), std::string::npos) << s.error().detail;
  EXPECT_EQ(s.error().detail.find("topsecret"), std::string::npos);
}

TEST_F(CredentialsTest, CredentialsFileForAnotherUserIsRefused) {
  const auto file = write_file(dir_.path() / "c", "user=bob\npassword=pw\n", 0600);
  auto c = parse({"ftp://alice@h/", "/mnt", "-o", "credentials=" + file.string()});
  EXPECT_FALSE(resolve(c));
}

TEST_F(CredentialsTest, PasswordStdinWinsOverCredentialsFile) {
  const auto file = write_file(dir_.path() / "c", "user=bob\npassword=file\n", 0600);
  fake_.stdin_line = "stdin";
  auto c = parse({"ftp://h/", "/mnt", "-o", "password_stdin,credentials=" + file.string()});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.user, "bob");
  EXPECT_EQ(c.session.password, "stdin");
}

TEST_F(CredentialsTest, NetrcMachineEntryGivesLoginAndPassword) {
  fake_.netrc = write_file(dir_.path() / ".netrc",
                           "machine other login x password y\n"
                           "machine ftp.example.org\n  login carol\n  password \"c p\"\n"
                           "default login anonymous password me@\n",
                           0600);
  auto c = parse({"ftp://ftp.example.org/", "/mnt"});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.user, "carol");
  EXPECT_EQ(c.session.password, "c p");
}

TEST_F(CredentialsTest, NetrcDefaultEntryAppliesToOtherHosts) {
  fake_.netrc = write_file(dir_.path() / ".netrc",
                           "machine other login x password y\ndefault login d password dp\n", 0600);
  auto c = parse({"ftp://h/", "/mnt"});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.user, "d");
  EXPECT_EQ(c.session.password, "dp");
}

TEST_F(CredentialsTest, NetrcIsSkippedWhenUserDiffers) {
  fake_.netrc = write_file(dir_.path() / ".netrc", "machine h login carol password cp\n", 0600);
  auto c = parse({"ftp://dave@h/", "/mnt"});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.user, "dave");
  EXPECT_EQ(c.session.password, "");
}

TEST_F(CredentialsTest, NetrcUsedWhenUserMatches) {
  fake_.netrc = write_file(dir_.path() / ".netrc", "machine h login carol password cp\n", 0600);
  auto c = parse({"ftp://h/", "/mnt", "-o", "user=carol"});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.password, "cp");
}

TEST_F(CredentialsTest, NoNetrcOptionTurnsItOff) {
  fake_.netrc = write_file(dir_.path() / ".netrc", "machine h login carol password cp\n", 0600);
  auto c = parse({"ftp://h/", "/mnt", "-o", "no_netrc"});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.user, "anonymous");
}

TEST_F(CredentialsTest, NetrcWithPasswordReadableByOthersIsRefused) {
  fake_.netrc = write_file(dir_.path() / ".netrc", "machine h login carol password cp\n", 0644);
  auto c = parse({"ftp://h/", "/mnt"});
  auto s = resolve(c);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail.find(".netrc"), std::string::npos);
}

TEST_F(CredentialsTest, CredentialsFileWinsOverNetrc) {
  fake_.netrc = write_file(dir_.path() / ".netrc", "machine h login bob password netrc\n", 0600);
  const auto file = write_file(dir_.path() / "c", "user=bob\npassword=file\n", 0600);
  auto c = parse({"ftp://h/", "/mnt", "-o", "credentials=" + file.string()});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.password, "file");
}

TEST_F(CredentialsTest, PromptsOnTerminalWhenUserHasNoPassword) {
  fake_.terminal = true;
  fake_.typed = "typed";
  auto c = parse({"ftp://erin@h/", "/mnt"});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.password, "typed");
  ASSERT_EQ(fake_.prompts.size(), 1u);
  EXPECT_NE(fake_.prompts[0].find("erin@h"), std::string::npos);
}

TEST_F(CredentialsTest, NoPromptWithoutTerminalOrForAnonymous) {
  fake_.typed = "typed";
  auto c = parse({"ftp://erin@h/", "/mnt"});
  ASSERT_TRUE(resolve(c));
  EXPECT_EQ(c.session.password, "");
  fake_.terminal = true;
  auto anon = parse({"ftp://anonymous@h/", "/mnt"});
  ASSERT_TRUE(resolve(anon));
  EXPECT_EQ(anon.session.password, "anonymous@");
  auto nouser = parse({"ftp://h/", "/mnt"});
  ASSERT_TRUE(resolve(nouser));
  EXPECT_TRUE(fake_.prompts.empty());
}

TEST(NetrcTest, SkipsMacdefBodiesAndFirstMachineWins) {
  const auto e = fs::find_netrc_entry(
      "macdef init\nmachine h login evil password evil\n\nmachine h login a password b\nmachine h login c\n",
      "h");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->login, "a");
  EXPECT_EQ(e->password, "b");
}

TEST(NetrcTest, NothingForUnknownHostWithoutDefault) {
  EXPECT_FALSE(fs::find_netrc_entry("machine a login x password y", "b"));
}

}  // namespace
