// Mount tests for failed uploads: the scriptable fake server refuses or cuts a STOR, and the writer
// must learn of it at close() with nothing it wrote lost.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/fakes/fake_ftp_server.h"
#include "tests/support/file_data.h"
#include "tests/support/ftpfs_mount.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace {

namespace stdfs = std::filesystem;

using testsupport::random_bytes;

using testsupport::write_through;
using testsupport::WriteOutcome;

// Pending copies under the cache directory: data file -> the remote path its ".path" sidecar names.
std::vector<std::pair<stdfs::path, std::string>> pending_copies(const stdfs::path& cache_dir) {
  std::vector<std::pair<stdfs::path, std::string>> out;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(cache_dir, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    const auto& p = it->path();
    if (p.extension() != ".path" || p.parent_path().filename() != "pending")
      continue;
    std::string remote = testsupport::read_text_file(p);
    if (!remote.empty() && remote.back() == '\n')
      remote.pop_back();
    auto data = p;
    data.replace_extension();
    out.emplace_back(data, remote);
  }
  return out;
}

class MountWriteFaultTest : public ::testing::Test {
 protected:
  void SetUp() override { FTPFS_REQUIRE(testsupport::missing_fuse()); }

  void mount() {
    const std::string url = "ftp://tester:secret@127.0.0.1:" + std::to_string(server_.port()) + "/";
    mount_ = std::make_unique<testsupport::FtpfsMount>(url, testsupport::MountOptions{{"connections=2"}});
    ASSERT_TRUE(mount_->mounted()) << mount_->error() << "\n" << mount_->output();
  }

  std::string diagnostics() const {
    std::string out = "--- commands seen by the fake server (last 40) ---\n";
    const auto commands = server_.commands();
    for (std::size_t i = commands.size() > 40 ? commands.size() - 40 : 0; i < commands.size(); ++i)
      out += commands[i] + "\n";
    const std::string log = mount_ ? mount_->output() : "";
    out += "--- ftpfs output (tail) ---\n" + (log.size() > 4000 ? log.substr(log.size() - 4000) : log);
    return out;
  }

  testsupport::FakeFtpServer server_;
  std::unique_ptr<testsupport::FtpfsMount> mount_;
};

TEST_F(MountWriteFaultTest, FullServerFailsCloseWithEnospcAndKeepsData) {
  testsupport::FakeFtpServer::Faults faults;
  faults.stor_552 = true;
  server_.set_faults(faults);
  ASSERT_NO_FATAL_FAILURE(mount());

  const std::string data = random_bytes(300 * 1024 + 5, 1);
  const auto outcome = write_through(mount_->path() / "full.bin", data);
  EXPECT_EQ(outcome.open_errno, 0) << std::strerror(outcome.open_errno) << diagnostics();
  EXPECT_EQ(outcome.write_errno, 0) << std::strerror(outcome.write_errno);
  EXPECT_EQ(outcome.close_errno, ENOSPC) << std::strerror(outcome.close_errno) << "\n" << diagnostics();

  const auto pending = pending_copies(mount_->cache_dir());
  bool found = false;
  for (const auto& [file, remote] : pending) {
    if (remote != "/full.bin")
      continue;
    found = true;
    EXPECT_EQ(stdfs::file_size(file), data.size()) << file;
    EXPECT_TRUE(testsupport::read_text_file(file) == data) << file << " differs from what was written";
  }
  EXPECT_TRUE(found) << "no pending copy for /full.bin under " << mount_->cache_dir() << " ("
                     << pending.size() << " pending entries)\n"
                     << diagnostics();
  // The log names the kept file, so a user can find it.
  if (found) {
    EXPECT_NE(mount_->output().find("pending"), std::string::npos) << mount_->output();
  }
}

TEST_F(MountWriteFaultTest, CutUploadEndsByteExactOrFailsClose) {
  testsupport::FakeFtpServer::Faults faults;
  faults.drop_stor_after_bytes = 256 * 1024;
  server_.set_faults(faults);
  ASSERT_NO_FATAL_FAILURE(mount());

  const std::string data = random_bytes(3 * 1024 * 1024 + 11, 2);
  const auto outcome = write_through(mount_->path() / "cut.bin", data);
  EXPECT_EQ(outcome.open_errno, 0) << std::strerror(outcome.open_errno) << diagnostics();
  const auto on_server = server_.file("/cut.bin");
  int stors = 0;
  for (const auto& command : server_.commands())
    stors += command.rfind("STOR ", 0) == 0 || command.rfind("APPE ", 0) == 0;
  ASSERT_GE(stors, 1) << "no upload reached the server\n" << diagnostics();
  if (outcome.write_errno == 0 && outcome.close_errno == 0) {
    // The first upload was cut, so a success needs a second one.
    EXPECT_GE(stors, 2) << diagnostics();
    // Success claimed: the retry must have put every byte on the server.
    ASSERT_TRUE(on_server.has_value()) << "close() succeeded but the server has no file\n" << diagnostics();
    EXPECT_EQ(on_server->size(), data.size()) << "close() succeeded with a short file\n" << diagnostics();
    EXPECT_TRUE(*on_server == data) << "close() succeeded but the server file differs";
    EXPECT_TRUE(testsupport::read_text_file(mount_->path() / "cut.bin") == data);
  } else {
    // Failure reported: acceptable, as long as the data is kept for a later retry.
    RecordProperty("outcome", "close failed: " + std::string(std::strerror(outcome.close_errno)));
    bool kept = false;
    for (const auto& [file, remote] : pending_copies(mount_->cache_dir()))
      kept = kept || (remote == "/cut.bin" && testsupport::read_text_file(file) == data);
    EXPECT_TRUE(kept) << "the upload failed (write: " << std::strerror(outcome.write_errno)
                      << ", close: " << std::strerror(outcome.close_errno)
                      << ") and no pending copy holds the data\n"
                      << diagnostics();
  }
}

}  // namespace

namespace {

TEST(MountPendingRetryTest, NextMountWithRetryPendingUploadsKeptData) {
  FTPFS_REQUIRE(testsupport::missing_fuse());
  testsupport::FakeFtpServer server;
  testsupport::FakeFtpServer::Faults full;
  full.stor_552 = true;
  server.set_faults(full);
  testsupport::TempDir cache("pending-cache");
  const std::string url = "ftp://tester:secret@127.0.0.1:" + std::to_string(server.port()) + "/";
  const std::vector<std::string> options = {"cache_dir=" + cache.path().string()};
  const std::string data = random_bytes(200 * 1024 + 3, 9);
  {
    testsupport::FtpfsMount mount(url, testsupport::MountOptions{options});
    ASSERT_TRUE(mount.mounted()) << mount.error() << mount.output();
    EXPECT_EQ(write_through(mount.path() / "kept.bin", data).close_errno, ENOSPC);
  }
  ASSERT_EQ(pending_copies(cache.path()).size(), 1u);
  server.set_faults({});
  {
    // Without retry_pending the kept file is only reported.
    testsupport::FtpfsMount mount(url, testsupport::MountOptions{options});
    ASSERT_TRUE(mount.mounted()) << mount.error() << mount.output();
    EXPECT_NE(mount.output().find("/kept.bin"), std::string::npos) << mount.output();
    EXPECT_FALSE(server.file("/kept.bin")) << "uploaded without being asked to";
  }
  {
    auto retry = options;
    retry.push_back("retry_pending");
    testsupport::FtpfsMount mount(url, testsupport::MountOptions{retry});
    ASSERT_TRUE(mount.mounted()) << mount.error() << mount.output();
    ASSERT_TRUE(server.file("/kept.bin"));
    EXPECT_TRUE(*server.file("/kept.bin") == data);
    EXPECT_EQ(testsupport::read_text_file(mount.path() / "kept.bin").size(), data.size());
  }
  EXPECT_TRUE(pending_copies(cache.path()).empty()) << "the pending copy must go once uploaded";
}

}  // namespace
