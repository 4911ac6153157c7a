// SIGUSR1 makes a running mount write a one-line statistics summary to its log.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/support/ftpfs_mount.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"
#include "tests/support/vsftpd_server.h"

namespace {

using namespace std::chrono_literals;

TEST(StatisticsTest, SigusrOneWritesSummaryLine) {
  FTPFS_REQUIRE(testsupport::missing_vsftpd());
  FTPFS_REQUIRE(testsupport::missing_fuse());
  testsupport::VsftpdServer server;
  ASSERT_TRUE(server.started()) << server.error();
  server.write_file("data", std::string(300000, 'd'));
  testsupport::FtpfsMount mount(server.url());
  ASSERT_TRUE(mount.mounted()) << mount.error() << mount.output();
  ASSERT_EQ(testsupport::read_text_file(mount.path() / "data").size(), 300000u);

  ASSERT_EQ(kill(mount.pid(), SIGUSR1), 0);
  std::string out;
  for (int i = 0; i < 50 && out.find("statistics:") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    out = mount.output();
  }
  const auto line_start = out.find("statistics:");
  ASSERT_NE(line_start, std::string::npos) << out;
  const std::string line = out.substr(line_start, out.find('\n', line_start) - line_start);
  EXPECT_NE(line.find("sessions open"), std::string::npos) << line;
  EXPECT_NE(line.find("downloaded 300000 bytes"), std::string::npos) << line;
  EXPECT_NE(line.find("hit ratio"), std::string::npos) << line;
  EXPECT_NE(line.find("pending uploads 0"), std::string::npos) << line;
  EXPECT_TRUE(testsupport::is_fuse_mount(mount.path())) << "the signal must not end the mount";
}

}  // namespace
