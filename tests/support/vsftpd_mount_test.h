#pragma once
// Fixture for mount tests: a vsftpd of its own per test, and a mount of it made on demand with the
// options the test needs. Skips (or fails under FTPFS_REQUIRE_ALL) without vsftpd or /dev/fuse.

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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

  // Runs each body on a thread of its own and waits at most `limit` for all of them. Threads stuck
  // in a hung mount cannot be stopped, so on a timeout the daemon is killed (by its pid): the kernel
  // then fails their pending file operations, they end, and the test fails instead of hanging.
  void run_concurrently(const std::vector<std::function<void()>>& bodies,
                        std::chrono::seconds limit = std::chrono::seconds(120)) {
    std::mutex mutex;
    std::condition_variable done_cv;
    std::size_t done = 0;
    std::vector<std::thread> threads;
    for (const auto& body : bodies) {
      threads.emplace_back([&, body] {
        body();
        std::lock_guard lock(mutex);
        ++done;
        done_cv.notify_all();
      });
    }
    bool finished = false;
    {
      std::unique_lock lock(mutex);
      finished = done_cv.wait_for(lock, limit, [&] { return done == bodies.size(); });
    }
    if (!finished) {
      ADD_FAILURE() << "file operations through the mount still blocked after " << limit.count()
                    << " s; killing ftpfs\n"
                    << mount_->output();
      ::kill(mount_->pid(), SIGKILL);
    }
    for (auto& t : threads)
      t.join();
  }

  std::filesystem::path mnt() const { return mount_->path(); }
  std::filesystem::path srv() const { return server_->root(); }

  std::unique_ptr<VsftpdServer> server_;
  std::unique_ptr<FtpfsMount> mount_;
};

}  // namespace testsupport
