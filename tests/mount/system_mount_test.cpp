// ftpfs as part of the system: installed with cmake --install, mounted through mount(8) and an fstab
// line, daemonized, with credentials from a file or ~/.netrc, and no password visible in
// /proc/PID/cmdline or /proc/mounts.

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "tests/fakes/fake_ftp_server.h"
#include "tests/support/ftpfs_mount.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_env.h"
#include "tests/support/vsftpd_server.h"

namespace {

using namespace std::chrono_literals;
namespace stdfs = std::filesystem;

std::string missing_root() {
  return geteuid() == 0 ? "" : "mount(8) and fstab mounts need root";
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v)
    out += (out.empty() ? "" : " ") + s;
  return out;
}

// Arguments of a process, from /proc/PID/cmdline.
std::vector<std::string> cmdline_of(pid_t pid) {
  const std::string raw = testsupport::read_text_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> args;
  std::size_t start = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\0') {
      args.push_back(raw.substr(start, i - start));
      start = i + 1;
    }
  }
  return args;
}

// The process (not this one) with `mountpoint` as one of its arguments: the ftpfs daemon.
std::optional<pid_t> find_daemon(const stdfs::path& mountpoint) {
  DIR* proc = ::opendir("/proc");
  if (!proc)
    return std::nullopt;
  std::optional<pid_t> found;
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == ::getpid())
      continue;
    for (const auto& arg : cmdline_of(static_cast<pid_t>(pid))) {
      if (arg == mountpoint.string()) {
        found = static_cast<pid_t>(pid);
        break;
      }
    }
    if (found)
      break;
  }
  ::closedir(proc);
  return found;
}

bool process_alive(pid_t pid) {
  return stdfs::exists("/proc/" + std::to_string(pid));
}

// A mount made by a command that returns once ftpfs has daemonized (ftpfs itself, mount -t, mount
// --fstab). The destructor unmounts it and waits for the daemon, by its pid, to exit.
class DaemonMount {
 public:
  DaemonMount() { stdfs::create_directories(mountpoint_); }
  ~DaemonMount() { unmount(); }
  DaemonMount(const DaemonMount&) = delete;
  DaemonMount& operator=(const DaemonMount&) = delete;

  const stdfs::path& path() const { return mountpoint_; }
  stdfs::path cache_dir() const { return dir_.path() / "cache"; }
  const stdfs::path& dir() const { return dir_.path(); }
  std::optional<pid_t> pid() const { return pid_; }

  // Runs `argv` (bounded); on success the mount must be in place and its daemon found.
  ::testing::AssertionResult run(const std::vector<std::string>& argv) {
    result_ = testsupport::run_command(argv, 60s);
    if (result_.exit_code != 0 || result_.timed_out) {
      return ::testing::AssertionFailure() << join(argv) << " exited with " << result_.exit_code
                                           << (result_.timed_out ? " (timed out)" : "") << ":\n"
                                           << result_.out << result_.err;
    }
    if (!testsupport::is_fuse_mount(mountpoint_))
      return ::testing::AssertionFailure() << join(argv) << " succeeded but nothing is mounted";
    pid_ = find_daemon(mountpoint_);
    if (!pid_)
      return ::testing::AssertionFailure() << "no process has " << mountpoint_ << " in its command line";
    return ::testing::AssertionSuccess();
  }

  const testsupport::RunResult& result() const { return result_; }

  // umount, then a lazy one if needed; the daemon must exit after it (killed after 10 s).
  void unmount() {
    if (testsupport::is_fuse_mount(mountpoint_)) {
      auto r = testsupport::run_command({"umount", mountpoint_.string()}, 15s);
      if (r.exit_code != 0 && testsupport::is_fuse_mount(mountpoint_))
        testsupport::run_command({"umount", "-l", mountpoint_.string()}, 15s);
    }
    if (pid_) {
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (process_alive(*pid_) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(50ms);
      if (process_alive(*pid_)) {
        ADD_FAILURE() << "ftpfs daemon " << *pid_ << " still running 10 s after umount";
        ::kill(*pid_, SIGKILL);
      }
      pid_.reset();
    }
  }

 private:
  testsupport::TempDir dir_{"ftpfs-sys"};
  stdfs::path mountpoint_ = dir_.path() / "mnt";
  std::optional<pid_t> pid_;
  testsupport::RunResult result_;
};

void write_private_file(const stdfs::path& p, const std::string& text, mode_t mode) {
  std::ofstream(p, std::ios::binary) << text;
  ASSERT_EQ(::chmod(p.c_str(), mode), 0);
}

// cmake --install of the build tree into a temporary prefix.
class InstalledPrefix {
 public:
  ::testing::AssertionResult install() {
    auto r = testsupport::run_command(
        {"cmake", "--install", FTPFS_BUILD_DIR, "--prefix", dir_.path().string()}, 120s);
    if (r.exit_code != 0)
      return ::testing::AssertionFailure() << "cmake --install failed:\n" << r.out << r.err;
    return ::testing::AssertionSuccess();
  }
  stdfs::path bin() const { return dir_.path() / "bin"; }
  const stdfs::path& path() const { return dir_.path(); }

 private:
  testsupport::TempDir dir_{"ftpfs-prefix"};
};

// Runs `script` (sh, with `args` as $1...) in a private mount namespace where the installed prefix is
// bind-mounted over /usr/local, as if installed with the default prefix. mount(8) clears PATH before
// it runs mount.fuse3, whose shell then searches only the standard directories, so a PATH pointing
// at the temporary prefix would not reach it; the namespace keeps the real /usr/local untouched and
// the FUSE mount invisible to everything else. The script unmounts on any exit.
testsupport::RunResult run_in_namespace(const InstalledPrefix& prefix, const stdfs::path& mountpoint,
                                        const std::string& script, std::vector<std::string> args) {
  std::vector<std::string> argv = {
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      "set -e\n"
      "prefix=$1; mnt=$2; shift 2\n"
      "mount --bind \"$prefix\" /usr/local\n"
      "trap 'umount \"$mnt\" 2>/dev/null || umount -l \"$mnt\" 2>/dev/null || true' EXIT\n" +
          script,
      "sh",
      prefix.path().string(),
      mountpoint.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return testsupport::run_command(argv, 90s);
}

class SystemMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FTPFS_REQUIRE(testsupport::missing_fuse());
    FTPFS_REQUIRE(missing_root());
  }

  void start_vsftpd() {
    FTPFS_REQUIRE(testsupport::missing_vsftpd());
    vsftpd_ = std::make_unique<testsupport::VsftpdServer>();
    ASSERT_TRUE(vsftpd_->started()) << vsftpd_->error();
    vsftpd_->write_file("hello.txt", "hello from vsftpd\n");
  }

  void install() {
    ASSERT_TRUE(prefix_.install());
    ASSERT_TRUE(stdfs::exists(prefix_.bin() / "ftpfs"));
    ASSERT_TRUE(stdfs::exists(prefix_.path() / "share/man/man1/ftpfs.1"));
  }

  // The fake server with one account; only alice/pw-S3cr3t logs in.
  std::string fake_url_without_login() const {
    return "ftp://127.0.0.1:" + std::to_string(fake_.port()) + "/";
  }

  static constexpr const char* kSecret = "pw-S3cr3t";
  testsupport::FakeFtpServer fake_;
  std::unique_ptr<testsupport::VsftpdServer> vsftpd_;
  InstalledPrefix prefix_;
};

TEST_F(SystemMountTest, MountTypeFuseFtpfsFindsTheInstalledBinaryAndPage) {
  ASSERT_NO_FATAL_FAILURE(start_vsftpd());
  ASSERT_NO_FATAL_FAILURE(install());
  testsupport::TempDir dir("ftpfs-sys");
  const stdfs::path mnt = dir.path() / "mnt";
  stdfs::create_directories(mnt);
  const auto r = run_in_namespace(prefix_, mnt,
                                  "man -w ftpfs\n"
                                  "mount -t fuse.ftpfs \"$1\" \"$mnt\" -o cache_dir=\"$2\"\n"
                                  "grep \" $mnt fuse.ftpfs \" /proc/mounts\n"
                                  "cat \"$mnt/hello.txt\"\n"
                                  "printf 'written through mount -t\\n' > \"$mnt/new.txt\"\n"
                                  "umount \"$mnt\"\n"
                                  "echo unmounted\n",
                                  {vsftpd_->url(), (dir.path() / "cache").string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("/usr/local/share/man/man1/ftpfs.1"), std::string::npos) << r.out;
  EXPECT_NE(
      r.out.find("ftp://anonymous@127.0.0.1:" + std::to_string(vsftpd_->port()) + "/pub " + mnt.string()),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("hello from vsftpd\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unmounted"), std::string::npos) << r.out;
  EXPECT_EQ(testsupport::read_text_file(vsftpd_->root() / "new.txt"), "written through mount -t\n");
}

TEST_F(SystemMountTest, FstabLineWithSystemdWordsMounts) {
  ASSERT_NO_FATAL_FAILURE(start_vsftpd());
  ASSERT_NO_FATAL_FAILURE(install());
  testsupport::TempDir dir("ftpfs-sys");
  const stdfs::path mnt = dir.path() / "mnt";
  stdfs::create_directories(mnt);
  const stdfs::path fstab = dir.path() / "fstab";
  std::ofstream(fstab) << "# test fstab\n"
                       << vsftpd_->url() << " " << mnt.string()
                       << " fuse.ftpfs noauto,_netdev,nofail,x-systemd.automount,comment=x,cache_dir="
                       << (dir.path() / "cache").string() << " 0 0\n";
  const auto r = run_in_namespace(prefix_, mnt,
                                  "mount --fstab \"$1\" \"$mnt\"\n"
                                  "cat \"$mnt/hello.txt\"\n"
                                  "printf 'written through fstab\\n' > \"$mnt/fstab-new.txt\"\n"
                                  "umount \"$mnt\"\n"
                                  "echo unmounted\n",
                                  {fstab.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("hello from vsftpd\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unmounted"), std::string::npos) << r.out;
  EXPECT_EQ(testsupport::read_text_file(vsftpd_->root() / "fstab-new.txt"), "written through fstab\n");
}

TEST_F(SystemMountTest, DaemonShowsNoPasswordInCmdlineOrMounts) {
  fake_.set_credentials("alice", kSecret);
  fake_.add_file("/hello.txt", "hello from fake\n");
  DaemonMount m;
  const std::string url =
      "ftp://alice:" + std::string(kSecret) + "@127.0.0.1:" + std::to_string(fake_.port()) + "/";
  ASSERT_TRUE(m.run({FTPFS_BINARY, url, m.path().string(), "-o", "cache_dir=" + m.cache_dir().string()}));
  EXPECT_EQ(testsupport::read_text_file(m.path() / "hello.txt"), "hello from fake\n");

  const auto args = cmdline_of(*m.pid());
  ASSERT_FALSE(args.empty());
  EXPECT_EQ(join(args).find(kSecret), std::string::npos) << join(args);
  const std::string mounts = testsupport::read_text_file("/proc/mounts");
  EXPECT_EQ(mounts.find(kSecret), std::string::npos) << mounts;
  EXPECT_NE(mounts.find("ftp://alice@127.0.0.1:" + std::to_string(fake_.port()) + "/ " + m.path().string()),
            std::string::npos)
      << mounts;
  EXPECT_EQ(m.result().out.find(kSecret), std::string::npos);
  EXPECT_EQ(m.result().err.find(kSecret), std::string::npos);
}

TEST_F(SystemMountTest, CredentialsFileReadableByOthersIsRefused) {
  fake_.set_credentials("alice", kSecret);
  DaemonMount m;
  const stdfs::path cred = m.dir() / "host.cred";
  ASSERT_NO_FATAL_FAILURE(
      write_private_file(cred, "user=alice\npassword=" + std::string(kSecret) + "\n", 0644));
  const auto r =
      testsupport::run_command({FTPFS_BINARY, fake_url_without_login(), m.path().string(), "-o",
                                "credentials=" + cred.string() + ",cache_dir=" + m.cache_dir().string()},
                               30s);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(kSecret), std::string::npos) << r.err;
  EXPECT_FALSE(testsupport::is_fuse_mount(m.path()));
  EXPECT_EQ(fake_.connections_accepted(), 0);
}

TEST_F(SystemMountTest, PrivateCredentialsFileLogsIn) {
  fake_.set_credentials("alice", kSecret);
  fake_.add_file("/hello.txt", "hello alice\n");
  DaemonMount m;
  const stdfs::path cred = m.dir() / "host.cred";
  ASSERT_NO_FATAL_FAILURE(
      write_private_file(cred, "user=alice\npassword=" + std::string(kSecret) + "\n", 0600));
  ASSERT_TRUE(m.run({FTPFS_BINARY, fake_url_without_login(), m.path().string(), "-o",
                     "credentials=" + cred.string() + ",cache_dir=" + m.cache_dir().string()}));
  EXPECT_EQ(testsupport::read_text_file(m.path() / "hello.txt"), "hello alice\n");
  const std::string mounts = testsupport::read_text_file("/proc/mounts");
  EXPECT_NE(mounts.find("ftp://alice@127.0.0.1"), std::string::npos) << mounts;
}

TEST_F(SystemMountTest, WrongPasswordFailsWithExitStatusTwo) {
  fake_.set_credentials("alice", kSecret);
  DaemonMount m;
  const stdfs::path cred = m.dir() / "host.cred";
  ASSERT_NO_FATAL_FAILURE(write_private_file(cred, "user=alice\npassword=wrong\n", 0600));
  const auto r =
      testsupport::run_command({FTPFS_BINARY, fake_url_without_login(), m.path().string(), "-o",
                                "credentials=" + cred.string() + ",cache_dir=" + m.cache_dir().string()},
                               30s);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.err.find("wrong"), std::string::npos) << r.err;
  EXPECT_FALSE(testsupport::is_fuse_mount(m.path()));
}

TEST_F(SystemMountTest, NetrcLoginWorks) {
  fake_.set_credentials("alice", kSecret);
  fake_.add_file("/hello.txt", "hello via netrc\n");
  DaemonMount m;
  const stdfs::path home = m.dir() / "home";
  stdfs::create_directories(home);
  ASSERT_NO_FATAL_FAILURE(write_private_file(
      home / ".netrc", "machine 127.0.0.1\n  login alice\n  password " + std::string(kSecret) + "\n", 0600));
  ASSERT_TRUE(m.run({"env", "-u", "NETRC", "HOME=" + home.string(), FTPFS_BINARY, fake_url_without_login(),
                     m.path().string(), "-o", "cache_dir=" + m.cache_dir().string()}));
  EXPECT_EQ(testsupport::read_text_file(m.path() / "hello.txt"), "hello via netrc\n");
}

TEST_F(SystemMountTest, PasswordFromStdinLogsIn) {
  fake_.set_credentials("alice", kSecret);
  fake_.add_file("/hello.txt", "hello via stdin\n");
  DaemonMount m;
  const std::string url = "ftp://alice@127.0.0.1:" + std::to_string(fake_.port()) + "/";
  ASSERT_TRUE(
      m.run({"sh", "-c", "printf '%s\\n' \"$0\" | \"$1\" \"$2\" \"$3\" -o password_stdin,cache_dir=\"$4\"",
             kSecret, FTPFS_BINARY, url, m.path().string(), m.cache_dir().string()}));
  EXPECT_EQ(testsupport::read_text_file(m.path() / "hello.txt"), "hello via stdin\n");
}

}  // namespace
