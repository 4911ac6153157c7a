#pragma once
// A real ftpfs mount for one test: runs the built ftpfs binary in the foreground as a child process
// on a private mountpoint, and unmounts and stops it (by its pid) at the end. Needs /dev/fuse; check
// FTPFS_REQUIRE(testsupport::missing_fuse()) first.
//
//   testsupport::VsftpdServer server;
//   ASSERT_TRUE(server.started()) << server.error();
//   testsupport::FtpfsMount mount(server.url(), {.options = {"attr_timeout=0"}});
//   ASSERT_TRUE(mount.mounted()) << mount.error();
//   auto listing = testsupport::run_command({"ls", "-la", mount.path()}, std::chrono::seconds(10));

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace testsupport {

struct MountOptions {
  // Items for -o, e.g. "connections=2", "dir_timeout=0". Without a cache_dir=... item the mount gets
  // a fresh cache directory of its own (cache_dir()).
  std::vector<std::string> options{};
  // Arguments added after the options (e.g. "-d").
  std::vector<std::string> extra_args{};
  // How long ftpfs may take to show up in /proc/self/mountinfo.
  std::chrono::seconds timeout{15};
};

class FtpfsMount {
 public:
  explicit FtpfsMount(std::string url, MountOptions options = {});
  // Unmounts if still mounted, then stops the process.
  ~FtpfsMount();

  FtpfsMount(const FtpfsMount&) = delete;
  FtpfsMount& operator=(const FtpfsMount&) = delete;

  // False when the mount did not appear; error() then has the exit code and ftpfs's stderr.
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

  const std::filesystem::path& path() const { return mountpoint_; }
  const std::filesystem::path& cache_dir() const { return cache_dir_; }
  pid_t pid() const { return pid_; }
  // The exact command line used, for messages.
  const std::vector<std::string>& argv() const { return argv_; }
  // What ftpfs printed so far (stdout and stderr, in one file).
  std::string output() const;

  // Unmounts (fusermount3 -u, then a lazy unmount as a fallback) and waits for ftpfs to exit.
  // Returns ftpfs's exit code, or nothing when it had to be killed. Safe to call twice.
  std::optional<int> unmount();

 private:
  TempDir dir_{"ftpfs-mount"};
  std::filesystem::path mountpoint_;
  std::filesystem::path cache_dir_;
  std::filesystem::path output_file_;
  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  bool mounted_ = false;
  std::optional<int> exit_code_;
  std::string error_;
};

// True when `mountpoint` is currently a FUSE mount (fstype "fuse" or "fuse.*") in /proc/self/mountinfo.
bool is_fuse_mount(const std::filesystem::path& mountpoint);

// Lowercase hex SHA-256 of a file's content; empty when the file cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace testsupport
