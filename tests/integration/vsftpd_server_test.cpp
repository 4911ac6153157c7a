// Proves the vsftpd fixture serves a writable tree that tests can see from both sides, using curl as
// an independent FTP client.

#include "tests/support/vsftpd_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_env.h"

namespace {

using std::chrono::seconds;
using testsupport::run_command;

std::string curl_missing() {
  auto r = run_command({"curl", "--version"}, seconds(10));
  return r.exit_code == 0 ? std::string() : "curl is not installed";
}

class VsftpdServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FTPFS_REQUIRE(testsupport::missing_vsftpd());
    FTPFS_REQUIRE(curl_missing());
  }
};

TEST_F(VsftpdServerTest, ListsFilesCreatedOnDiskIncludingDotfiles) {
  testsupport::VsftpdServer server;
  ASSERT_TRUE(server.started()) << server.error();
  server.write_file("hello.txt", "hello\n");
  server.write_file(".hidden", "dot\n");
  server.make_dir("sub dir");

  auto r = run_command({"curl", "-sS", "--list-only", server.url() + "/"}, seconds(20));
  ASSERT_EQ(r.exit_code, 0) << r.err << server.log();
  EXPECT_NE(r.out.find("hello.txt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(".hidden"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sub dir"), std::string::npos) << r.out;
}

TEST_F(VsftpdServerTest, DownloadsTheBytesOnDisk) {
  testsupport::VsftpdServer server;
  ASSERT_TRUE(server.started()) << server.error();
  std::string content;
  for (int i = 0; i < 100000; ++i)
    content += static_cast<char>(i * 7 % 251);
  server.write_file("dir/data.bin", content);

  auto r = run_command({"curl", "-sS", server.url() + "/dir/data.bin"}, seconds(20));
  ASSERT_EQ(r.exit_code, 0) << r.err << server.log();
  EXPECT_EQ(r.out, content);
}

TEST_F(VsftpdServerTest, UploadsLandUnderRootAndCanBeReplaced) {
  testsupport::VsftpdServer server;
  ASSERT_TRUE(server.started()) << server.error();
  testsupport::TempDir local;
  const auto source = local.path() / "up.txt";
  { std::ofstream(source) << "uploaded\n"; }
  auto r = run_command(
      {"curl", "-sS", "--ftp-create-dirs", "-T", source.string(), server.url() + "/new/up.txt"}, seconds(20));
  ASSERT_EQ(r.exit_code, 0) << r.err << server.log();
  EXPECT_EQ(testsupport::read_text_file(server.root() / "new" / "up.txt"), "uploaded\n");

  // A file the test created through write_file belongs to the ftp user, so FTP may overwrite it.
  server.write_file("existing.txt", "old content\n");
  r = run_command({"curl", "-sS", "-T", source.string(), server.url() + "/existing.txt"}, seconds(20));
  ASSERT_EQ(r.exit_code, 0) << r.err << server.log();
  EXPECT_EQ(testsupport::read_text_file(server.root() / "existing.txt"), "uploaded\n");
}

TEST_F(VsftpdServerTest, DeletesAndRenamesThroughFtp) {
  testsupport::VsftpdServer server;
  ASSERT_TRUE(server.started()) << server.error();
  server.write_file("a.txt", "a");
  server.write_file("b.txt", "b");
  const std::string dir = server.remote_root();
  auto r = run_command({"curl", "-sS", "-Q", "DELE " + dir + "/a.txt", "-Q", "RNFR " + dir + "/b.txt", "-Q",
                        "RNTO " + dir + "/c.txt", server.url() + "/"},
                       seconds(20));
  ASSERT_EQ(r.exit_code, 0) << r.err << server.log();
  EXPECT_FALSE(std::filesystem::exists(server.root() / "a.txt"));
  EXPECT_FALSE(std::filesystem::exists(server.root() / "b.txt"));
  EXPECT_EQ(testsupport::read_text_file(server.root() / "c.txt"), "b");
}

TEST_F(VsftpdServerTest, TwoServersGetDifferentPortsAndTrees) {
  testsupport::VsftpdServer first;
  testsupport::VsftpdServer second;
  ASSERT_TRUE(first.started()) << first.error();
  ASSERT_TRUE(second.started()) << second.error();
  EXPECT_NE(first.port(), second.port());
  EXPECT_NE(first.root(), second.root());
}

TEST_F(VsftpdServerTest, RefusesASecondClientBeyondMaxClients) {
  testsupport::VsftpdServer server({.max_clients = 1});
  ASSERT_TRUE(server.started()) << server.error();
  server.write_file("f.txt", "x");

  const int held = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(held, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(server.port());
  ASSERT_EQ(connect(held, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  char banner[64];
  ASSERT_GT(read(held, banner, sizeof banner), 0);  // the session is established

  auto refused = run_command({"curl", "-sS", server.url() + "/f.txt"}, seconds(20));
  EXPECT_NE(refused.exit_code, 0) << "second client was served: " << refused.out;
  close(held);

  // Once the held session is gone, a client is served again.
  testsupport::RunResult served;
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  do {
    served = run_command({"curl", "-sS", server.url() + "/f.txt"}, seconds(20));
  } while (served.exit_code != 0 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(served.exit_code, 0) << served.err;
  EXPECT_EQ(served.out, "x");
}

TEST_F(VsftpdServerTest, StopsItsProcessOnDestruction) {
  pid_t pid = -1;
  std::uint16_t port = 0;
  {
    testsupport::VsftpdServer server;
    ASSERT_TRUE(server.started()) << server.error();
    pid = server.pid();
    port = server.port();
  }
  EXPECT_NE(kill(pid, 0), 0) << "vsftpd pid " << pid << " still exists";
  auto r =
      run_command({"curl", "-sS", "--connect-timeout", "5", "ftp://127.0.0.1:" + std::to_string(port) + "/"},
                  seconds(20));
  EXPECT_NE(r.exit_code, 0) << "something still answers on port " << port;
}

}  // namespace
