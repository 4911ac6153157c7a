// Unmounting with a file still open for writing: what was written reaches the server (or is kept
// as pending), it is never dropped.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "tests/support/ftpfs_mount.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"
#include "tests/support/vsftpd_server.h"

namespace {

using namespace std::chrono_literals;

TEST(UnmountTest, SigtermUploadsFileStillOpenForWriting) {
  FTPFS_REQUIRE(testsupport::missing_vsftpd());
  FTPFS_REQUIRE(testsupport::missing_fuse());
  testsupport::VsftpdServer server;
  ASSERT_TRUE(server.started()) << server.error();
  testsupport::FtpfsMount mount(server.url());
  ASSERT_TRUE(mount.mounted()) << mount.error() << mount.output();

  // Written in place (not a sequential stream), so nothing reaches the server before a flush.
  const std::string data(100000, 'z');
  const int fd = ::open((mount.path() / "open.bin").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(pwrite(fd, data.data() + 10, data.size() - 10, 10), static_cast<ssize_t>(data.size() - 10));
  ASSERT_EQ(pwrite(fd, data.data(), 10, 0), 10);

  ASSERT_EQ(kill(mount.pid(), SIGTERM), 0);
  for (int i = 0; i < 100 && testsupport::is_fuse_mount(mount.path()); ++i)
    std::this_thread::sleep_for(100ms);
  ::close(fd);  // the mount is gone; this close cannot reach ftpfs any more
  const auto status = mount.unmount();
  EXPECT_EQ(testsupport::read_text_file(server.root() / "open.bin"), data) << mount.output();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << mount.output();
}

}  // namespace
