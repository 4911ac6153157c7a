#include "tests/support/vsftpd_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/process.h"

namespace testsupport {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kVsftpd = "/usr/sbin/vsftpd";
constexpr int kStartAttempts = 5;
constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr int kPassivePorts = 100;

// A port that was free a moment ago. vsftpd may still lose a race for it; the caller retries.
std::uint16_t pick_free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

int connect_loopback(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until `done(text)` or EOF or the deadline; returns what was read.
template <typename Done>
std::string read_until(int fd, Clock::time_point deadline, Done done) {
  std::string text;
  while (!done(text)) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0)
      break;
    pollfd pfd{fd, POLLIN, 0};
    const int n = poll(&pfd, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    char buffer[512];
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got <= 0)
      break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  return text;
}

// True once the server greets with a final "220 " line. Logs out again and waits for the server to
// close, so the probe's session is gone before a test that limits clients starts.
bool greets_with_220(std::uint16_t port, Clock::time_point deadline) {
  const int fd = connect_loopback(port);
  if (fd < 0)
    return false;
  const std::string banner = read_until(fd, deadline, [](const std::string& t) {
    const auto pos = t.rfind("220 ");
    return pos != std::string::npos && (pos == 0 || t[pos - 1] == '\n') &&
           t.find("\r\n", pos) != std::string::npos;
  });
  const bool ok = banner.find("220 ") != std::string::npos;
  if (ok) {
    const char quit[] = "QUIT\r\n";
    (void)!write(fd, quit, sizeof quit - 1);
    read_until(fd, Clock::now() + std::chrono::seconds(2), [](const std::string&) { return false; });
  }
  close(fd);
  return ok;
}

void write_text(const std::filesystem::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

}  // namespace

VsftpdServer::VsftpdServer(VsftpdOptions options) : options_(std::move(options)) {
  if (const passwd* pw = getpwnam("ftp")) {
    ftp_uid_ = pw->pw_uid;
    ftp_gid_ = pw->pw_gid;
  } else {
    error_ = "user \"ftp\" does not exist (it comes with the vsftpd package)";
    return;
  }
  // vsftpd refuses to serve an anonymous chroot root the ftp user can write to; the writable tree is
  // one level down.
  chroot_ = dir_.path() / "chroot";
  root_ = chroot_ / "pub";
  std::error_code ec;
  std::filesystem::permissions(dir_.path(), std::filesystem::perms(0755), ec);
  std::filesystem::create_directories(dir_.path() / "empty", ec);
  std::filesystem::create_directories(root_, ec);
  if (ec) {
    error_ = "cannot create " + root_.string() + ": " + ec.message();
    return;
  }
  std::filesystem::permissions(chroot_, std::filesystem::perms(0755), ec);
  if (chown(root_.c_str(), ftp_uid_, ftp_gid_) != 0) {
    error_ = "chown " + root_.string() + ": " + std::strerror(errno);
    return;
  }

  std::string why;
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    const std::uint16_t port = pick_free_port();
    if (port == 0)
      continue;
    if (start_once(port, why)) {
      error_.clear();
      return;
    }
    error_ += "attempt on port " + std::to_string(port) + ": " + why + "\n";
  }
}

VsftpdServer::~VsftpdServer() {
  if (pid_ > 0)
    stop_process(pid_, std::chrono::seconds(5));
}

std::string VsftpdServer::url() const {
  return "ftp://anonymous@127.0.0.1:" + std::to_string(port_) + remote_root();
}

std::string VsftpdServer::log() const {
  return read_text_file(dir_.path() / "vsftpd.log");
}

std::string VsftpdServer::write_config(std::uint16_t port) const {
  // Passive ports: a private range next to the listen port, so parallel servers rarely share ports.
  // vsftpd retries another port in the range when one is taken.
  const int pasv_min = port > 65535 - kPassivePorts - 1 ? port - kPassivePorts : port + 1;
  const int pasv_max = pasv_min + kPassivePorts - 1;
  std::ostringstream conf;
  conf << "listen=YES\n"
       << "listen_ipv6=NO\n"
       << "background=NO\n"
       << "listen_address=127.0.0.1\n"
       << "listen_port=" << port << "\n"
       << "pasv_enable=YES\n"
       << "pasv_min_port=" << pasv_min << "\n"
       << "pasv_max_port=" << pasv_max << "\n"
       << "port_enable=YES\n"
       << "connect_from_port_20=NO\n"
       << "secure_chroot_dir=" << (dir_.path() / "empty").string() << "\n"
       << "seccomp_sandbox=NO\n"
       << "anonymous_enable=YES\n"
       << "anon_root=" << chroot_.string() << "\n"
       << "no_anon_password=YES\n"
       << "ftp_username=ftp\n"
       << "write_enable=YES\n"
       << "anon_upload_enable=YES\n"
       << "anon_mkdir_write_enable=YES\n"
       << "anon_other_write_enable=YES\n"
       << "anon_world_readable_only=NO\n"
       << "anon_umask=022\n"
       << "local_enable=NO\n"
       << "force_dot_files=YES\n"
       << "mdtm_write=YES\n"
       << "use_localtime=NO\n"
       << "xferlog_enable=YES\n"
       << "log_ftp_protocol=YES\n"
       << "vsftpd_log_file=" << (dir_.path() / "vsftpd.log").string() << "\n"
       << "max_clients=" << options_.max_clients << "\n"
       << "max_per_ip=" << options_.max_per_ip << "\n";
  for (const auto& line : options_.extra_config)
    conf << line << "\n";
  const auto path = dir_.path() / ("vsftpd-" + std::to_string(port) + ".conf");
  write_text(path, conf.str());
  return path.string();
}

bool VsftpdServer::start_once(std::uint16_t port, std::string& why) {
  const std::string config = write_config(port);
  const auto output = dir_.path() / ("vsftpd-" + std::to_string(port) + ".out");
  const pid_t pid = spawn_process({kVsftpd, config}, output, output);
  if (pid < 0) {
    why = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  const auto deadline = Clock::now() + kStartTimeout;
  while (Clock::now() < deadline) {
    if (auto code = wait_for_exit(pid, milliseconds(0))) {
      why = "vsftpd exited with " + std::to_string(*code) + ": " + read_text_file(output);
      return false;
    }
    if (greets_with_220(port, deadline)) {
      pid_ = pid;
      port_ = port;
      // The probe's session processes exit just after the server closed; give the listener time to
      // count them out so max_clients tests start from zero.
      if (options_.max_clients > 0 || options_.max_per_ip > 0)
        std::this_thread::sleep_for(milliseconds(200));
      return true;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  stop_process(pid, std::chrono::seconds(2));
  why = "no 220 greeting within 10 s; output: " + read_text_file(output);
  return false;
}

std::filesystem::path VsftpdServer::write_file(std::string_view relative, std::string_view content) const {
  const auto path = root_ / relative;
  const auto parent = std::filesystem::path(relative).parent_path();
  if (!parent.empty())
    make_dir(parent.string());
  write_text(path, content);
  give_to_ftp_user(path);
  return path;
}

std::filesystem::path VsftpdServer::make_dir(std::string_view relative) const {
  const auto path = root_ / relative;
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  // Hand over every level below root_, not just the leaf, so FTP can create entries at each level.
  for (auto p = path; p != root_ && p.has_parent_path() && p.string().size() > root_.string().size();
       p = p.parent_path())
    (void)!chown(p.c_str(), ftp_uid_, ftp_gid_);
  return path;
}

void VsftpdServer::give_to_ftp_user(const std::filesystem::path& path) const {
  (void)!lchown(path.c_str(), ftp_uid_, ftp_gid_);
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::symlink_status(path, ec)))
    return;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    (void)!lchown(it->path().c_str(), ftp_uid_, ftp_gid_);
}

}  // namespace testsupport
