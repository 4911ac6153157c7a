#pragma once
// Fixture for mount tests: a vsftpd of its own per test, and a mount of it made on demand with the
// options the test needs. Skips (or fails under FTPFS_REQUIRE_ALL) without vsftpd or /dev/fuse.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/ftpfs_mount.h"
#include "tests/support/test_env.h"
#include "tests/support/vsftpd_server.h"

namespace testsupport {

class VsftpdMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FTPFS_REQUIRE(missing_vsftpd());
    FTPFS_REQUIRE(missing_fuse());
    server_ = std::make_unique<VsftpdServer>();
    ASSERT_TRUE(server_->started()) << server_->error();
  }

  // Use as ASSERT_NO_FATAL_FAILURE(mount({...})).
  void mount(std::vector<std::string> options = {}) {
    mount_ = std::make_unique<FtpfsMount>(server_->url(), MountOptions{std::move(options)});
    ASSERT_TRUE(mount_->mounted()) << mount_->error() << "\n" << mount_->output();
  }

  std::filesystem::path mnt() const { return mount_->path(); }
  std::filesystem::path srv() const { return server_->root(); }

  std::unique_ptr<VsftpdServer> server_;
  std::unique_ptr<FtpfsMount> mount_;
};

}  // namespace testsupport
