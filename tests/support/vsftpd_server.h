#pragma once
// A real vsftpd on 127.0.0.1 for one test or suite, with a writable anonymous tree in a temporary
// directory. Needs root (vsftpd does); check FTPFS_REQUIRE(testsupport::missing_vsftpd()) first.
//
// Layout: vsftpd refuses an anonymous chroot root that the ftp user can write to, so the chroot root
// is a read-only directory and the served, writable tree is its subdirectory "/pub". url() and
// remote_root() point there; root() is that directory on local disk. Files written through FTP appear
// under root() owned by the "ftp" user; files a test writes under root() are visible through FTP
// (dotfiles included). A test file that FTP should be able to overwrite must belong to the ftp user:
// create it with write_file()/make_dir(), or call give_to_ftp_user() afterwards.
//
// vsftpd 3.0.3 facts tests can rely on: MDTM with a time argument sets mtime (mdtm_write=YES);
// there is no MFMT, and anonymous users can never use SITE CHMOD.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/temp_dir.h"

namespace testsupport {

struct VsftpdOptions {
  int max_clients = 0;  // 0: unlimited
  int max_per_ip = 0;   // 0: unlimited
  // Appended to the generated vsftpd.conf, e.g. "idle_session_timeout=2". A later line wins.
  std::vector<std::string> extra_config{};
};

class VsftpdServer {
 public:
  explicit VsftpdServer(VsftpdOptions options = {});
  ~VsftpdServer();

  VsftpdServer(const VsftpdServer&) = delete;
  VsftpdServer& operator=(const VsftpdServer&) = delete;

  // False when vsftpd did not come up; error() then says why (including vsftpd's own output).
  bool started() const { return pid_ > 0; }
  const std::string& error() const { return error_; }

  std::string host() const { return "127.0.0.1"; }
  std::uint16_t port() const { return port_; }
  std::string user() const { return "anonymous"; }
  // The served tree as an FTP path: "/pub".
  std::string remote_root() const { return "/pub"; }
  // "ftp://anonymous@127.0.0.1:PORT/pub", usable by curl and ftpfs alike.
  std::string url() const;
  // The served tree on local disk.
  const std::filesystem::path& root() const { return root_; }
  pid_t pid() const { return pid_; }

  // vsftpd's log (protocol transcript and transfers), for failure messages.
  std::string log() const;

  // Writes `content` to root()/relative (creating parent directories), owned by the ftp user.
  std::filesystem::path write_file(std::string_view relative, std::string_view content) const;
  // Creates root()/relative and its parents, owned by the ftp user.
  std::filesystem::path make_dir(std::string_view relative) const;
  // Makes `path` (recursively) belong to the ftp user so FTP clients may change or replace it.
  void give_to_ftp_user(const std::filesystem::path& path) const;

 private:
  std::string write_config(std::uint16_t port) const;
  bool start_once(std::uint16_t port, std::string& why);

  VsftpdOptions options_;
  TempDir dir_{"ftpfs-vsftpd"};
  std::filesystem::path chroot_;
  std::filesystem::path root_;
  uid_t ftp_uid_ = 0;
  gid_t ftp_gid_ = 0;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace testsupport
