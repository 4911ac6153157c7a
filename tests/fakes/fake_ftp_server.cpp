#include "tests/fakes/fake_ftp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>

namespace testsupport {
namespace {

constexpr int kPollMs = 50;
constexpr int kDataWaitMs = 5000;

int listen_loopback(std::uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void set_timeouts(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0)
    return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

struct FakeFtpServer::Connection {
  int fd = -1;
  std::string cwd = "/";
  int data_listen_fd = -1;
  std::uint64_t rest = 0;
  std::string rename_from;
  std::string user;
  bool hung = false;

  std::string absolute(std::string arg) const {
    if (arg.empty())
      return cwd;
    std::string path = arg.front() == '/' ? arg : (cwd == "/" ? "/" + arg : cwd + "/" + arg);
    while (path.size() > 1 && path.back() == '/')
      path.pop_back();
    return path;
  }
  void close_data_listener() {
    if (data_listen_fd >= 0)
      ::close(data_listen_fd);
    data_listen_fd = -1;
  }
};

FakeFtpServer::FakeFtpServer() {
  listen_fd_ = listen_loopback(&port_);
  if (listen_fd_ < 0)
    throw std::runtime_error("fake FTP server: cannot listen on 127.0.0.1");
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeFtpServer::~FakeFtpServer() {
  stopping_ = true;
  acceptor_.join();
  {
    std::lock_guard lock(threads_mutex_);
    for (int fd : open_fds_)
      ::shutdown(fd, SHUT_RDWR);
  }
  // No new threads can appear once the acceptor has stopped.
  for (auto& t : threads_)
    t.join();
  ::close(listen_fd_);
}

void FakeFtpServer::set_banner(std::string raw) {
  std::lock_guard lock(mutex_);
  banner_ = std::move(raw);
}
void FakeFtpServer::set_features(std::string raw) {
  std::lock_guard lock(mutex_);
  features_ = std::move(raw);
}
void FakeFtpServer::set_credentials(std::string user, std::string password) {
  std::lock_guard lock(mutex_);
  credentials_.emplace(std::move(user), std::move(password));
}
void FakeFtpServer::set_handler(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}
void FakeFtpServer::set_faults(const Faults& faults) {
  std::lock_guard lock(mutex_);
  faults_ = faults;
  fired_421_ = false;
  command_count_ = 0;
}
void FakeFtpServer::add_file(const std::string& path, std::string contents) {
  std::lock_guard lock(mutex_);
  files_[path] = std::move(contents);
}
void FakeFtpServer::add_directory(const std::string& path) {
  std::lock_guard lock(mutex_);
  dirs_.insert(path);
}
std::optional<std::string> FakeFtpServer::file(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = files_.find(path);
  if (it == files_.end())
    return std::nullopt;
  return it->second;
}
bool FakeFtpServer::has_directory(const std::string& path) const {
  std::lock_guard lock(mutex_);
  return dirs_.count(path) > 0;
}
std::vector<std::string> FakeFtpServer::commands() const {
  std::lock_guard lock(mutex_);
  return commands_;
}

void FakeFtpServer::accept_loop() {
  while (!stopping_) {
    if (!wait_readable(listen_fd_, kPollMs))
      continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0)
      continue;
    ++accepted_;
    std::lock_guard lock(threads_mutex_);
    open_fds_.insert(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

bool FakeFtpServer::send_reply(int fd, const std::string& raw) {
  bool one_byte = false;
  {
    std::lock_guard lock(mutex_);
    one_byte = faults_.byte_at_a_time;
  }
  if (!one_byte)
    return send_all(fd, raw.data(), raw.size());
  for (char c : raw) {
    if (!send_all(fd, &c, 1))
      return false;
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  return true;
}

void FakeFtpServer::serve(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  Connection c;
  c.fd = fd;
  const int now = ++current_;
  int limit = 0;
  std::string banner;
  {
    std::lock_guard lock(mutex_);
    limit = faults_.max_connections;
    banner = banner_;
  }
  bool open = true;
  if (limit > 0 && now > limit) {
    send_reply(fd, "421 Too many connections (" + std::to_string(limit) + ")\r\n");
    open = false;
  } else {
    int seen = max_concurrent_.load();
    while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
    }
    open = send_reply(fd, banner);
  }

  std::string buffer;
  while (open && !stopping_) {
    const auto eol = buffer.find("\r\n");
    if (eol == std::string::npos) {
      if (!wait_readable(fd, kPollMs))
        continue;
      char chunk[4096];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0)
        break;
      buffer.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    const std::string line = buffer.substr(0, eol);
    buffer.erase(0, eol + 2);
    bool close_after = false;
    const std::string reply = dispatch(c, line, close_after);
    if (!reply.empty() && !send_reply(fd, reply))
      break;
    if (close_after)
      break;
  }
  c.close_data_listener();
  {
    std::lock_guard lock(threads_mutex_);
    open_fds_.erase(fd);
  }
  ::close(fd);
  --current_;
}

std::string FakeFtpServer::dispatch(Connection& c, const std::string& line, bool& close_after) {
  const auto space = line.find(' ');
  const std::string verb = upper(line.substr(0, space));
  const std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
  Handler handler;
  {
    std::lock_guard lock(mutex_);
    commands_.push_back(line);
    ++command_count_;
    if (c.hung)
      return "";
    if (faults_.reply_421_at_command > 0 && command_count_ == faults_.reply_421_at_command && !fired_421_) {
      fired_421_ = true;
      close_after = true;
      return "421 Service not available, closing control connection.\r\n";
    }
    if (!faults_.hang_at_verb.empty() && upper(faults_.hang_at_verb) == verb) {
      c.hung = true;
      return "";
    }
    handler = handler_;
  }
  if (handler) {
    std::string custom = handler(line);
    if (!custom.empty())
      return custom;
  }

  std::unique_lock lock(mutex_);
  if (verb == "USER") {
    c.user = arg;
    return "331 Please specify the password.\r\n";
  }
  if (verb == "PASS") {
    if (credentials_ && (credentials_->first != c.user || credentials_->second != arg))
      return "530 Login incorrect.\r\n";
    return "230 Login successful.\r\n";
  }
  if (verb == "FEAT")
    return features_.empty() ? "502 FEAT not implemented.\r\n" : features_;
  if (verb == "OPTS" || verb == "TYPE" || verb == "SITE")
    return "200 OK.\r\n";
  if (verb == "NOOP")
    return "200 NOOP ok.\r\n";
  if (verb == "PWD")
    return "257 \"" + c.cwd + "\" is the current directory\r\n";
  if (verb == "CWD") {
    const auto dir = c.absolute(arg);
    if (!dirs_.count(dir))
      return "550 Failed to change directory.\r\n";
    c.cwd = dir;
    return "250 Directory successfully changed.\r\n";
  }
  if (verb == "QUIT") {
    close_after = true;
    return "221 Goodbye.\r\n";
  }
  if (verb == "ABOR")
    return "225 No transfer to ABOR.\r\n";
  if (verb == "EPSV" || verb == "PASV") {
    c.close_data_listener();
    std::uint16_t port = 0;
    c.data_listen_fd = listen_loopback(&port);
    if (c.data_listen_fd < 0)
      return "425 Cannot open data connection.\r\n";
    if (verb == "EPSV")
      return "229 Entering Extended Passive Mode (|||" + std::to_string(port) + "|)\r\n";
    return "227 Entering Passive Mode (" + faults_.pasv_host + "," + std::to_string(port / 256) + "," +
           std::to_string(port % 256) + ").\r\n";
  }
  if (verb == "REST") {
    c.rest = std::stoull(arg);
    return "350 Restart position accepted (" + arg + ").\r\n";
  }
  if (verb == "SIZE") {
    auto it = files_.find(c.absolute(arg));
    if (it == files_.end())
      return "550 Could not get file size.\r\n";
    return "213 " + std::to_string(it->second.size()) + "\r\n";
  }
  if (verb == "MDTM" || verb == "MFMT") {
    // "MDTM path" reads; "MDTM time path" / "MFMT time path" set (accepted, not stored).
    const auto sp = arg.find(' ');
    const bool setting =
        verb == "MFMT" || (sp == 14 && std::all_of(arg.begin(), arg.begin() + 14, ::isdigit));
    const auto path = c.absolute(setting ? arg.substr(sp + 1) : arg);
    if (!files_.count(path))
      return "550 Could not get file modification time.\r\n";
    return setting ? "213 Modify=" + arg.substr(0, 14) + "; " + path + "\r\n" : "213 20240102030405\r\n";
  }
  if (verb == "MLST") {
    const auto path = c.absolute(arg);
    if (!files_.count(path) && !dirs_.count(path))
      return "550 No such file or directory.\r\n";
    return "250-Listing " + path + "\r\n " + mlst_facts(path) + " " + path + "\r\n250 End\r\n";
  }
  if (verb == "MKD") {
    const auto path = c.absolute(arg);
    if (dirs_.count(path) || files_.count(path))
      return "550 Create directory operation failed.\r\n";
    if (!dirs_.count(parent_of(path)))
      return "550 Create directory operation failed.\r\n";
    dirs_.insert(path);
    return "257 \"" + path + "\" created\r\n";
  }
  if (verb == "RMD") {
    const auto path = c.absolute(arg);
    if (!dirs_.count(path))
      return "550 Remove directory operation failed.\r\n";
    dirs_.erase(path);
    return "250 Remove directory operation successful.\r\n";
  }
  if (verb == "DELE") {
    if (!files_.erase(c.absolute(arg)))
      return "550 Delete operation failed: no such file.\r\n";
    return "250 Delete operation successful.\r\n";
  }
  if (verb == "RNFR") {
    const auto path = c.absolute(arg);
    if (!files_.count(path) && !dirs_.count(path))
      return "550 RNFR command failed: no such file.\r\n";
    c.rename_from = path;
    return "350 Ready for RNTO.\r\n";
  }
  if (verb == "RNTO") {
    if (c.rename_from.empty())
      return "503 RNFR required first.\r\n";
    const auto to = c.absolute(arg);
    if (auto it = files_.find(c.rename_from); it != files_.end()) {
      files_[to] = std::move(it->second);
      files_.erase(it);
    } else {
      dirs_.erase(c.rename_from);
      dirs_.insert(to);
    }
    c.rename_from.clear();
    return "250 Rename successful.\r\n";
  }
  if (verb == "RETR" || verb == "STOR" || verb == "APPE" || verb == "LIST" || verb == "NLST" ||
      verb == "MLSD") {
    lock.unlock();
    return transfer(c, verb, arg, close_after);
  }
  return "502 Command not implemented.\r\n";
}

std::string FakeFtpServer::mlst_facts(const std::string& path) const {
  if (auto it = files_.find(path); it != files_.end()) {
    return "type=file;size=" + std::to_string(it->second.size()) + ";modify=20240102030405;";
  }
  return "type=dir;modify=20240102030405;";
}

std::string FakeFtpServer::listing(const std::string& dir, bool mlsd) const {
  std::string out;
  auto line = [&](const std::string& path, bool is_dir, std::size_t size) {
    if (mlsd) {
      out += mlst_facts(path) + " " + base_of(path) + "\r\n";
    } else {
      out += std::string(is_dir ? "drwxr-xr-x" : "-rw-r--r--") + " 1 ftp ftp " + std::to_string(size) +
             " Jan 02  2024 " + base_of(path) + "\r\n";
    }
  };
  for (const auto& d : dirs_) {
    if (d != "/" && parent_of(d) == dir)
      line(d, true, 0);
  }
  for (const auto& [path, data] : files_) {
    if (parent_of(path) == dir)
      line(path, false, data.size());
  }
  return out;
}

std::string FakeFtpServer::transfer(Connection& c, const std::string& verb, const std::string& arg,
                                    bool& close_after) {
  (void)close_after;
  const std::uint64_t rest = std::exchange(c.rest, 0);
  std::string path_arg = arg;
  while (!path_arg.empty() && path_arg.front() == '-') {  // "LIST -a dir"
    const auto sp = path_arg.find(' ');
    path_arg = sp == std::string::npos ? "" : path_arg.substr(sp + 1);
  }
  const std::string path = c.absolute(path_arg);
  std::string payload;
  std::optional<std::size_t> drop_after;
  std::optional<std::size_t> drop_upload_after;
  std::size_t upload_rate = 0;
  std::size_t download_rate = 0;
  bool full = false;
  {
    std::lock_guard lock(mutex_);
    drop_after = faults_.drop_data_after_bytes;
    upload_rate = faults_.slow_stor_bytes_per_second;
    download_rate = verb == "RETR" ? faults_.slow_retr_bytes_per_second : 0;
    full = faults_.stor_552;
    if ((verb == "STOR" || verb == "APPE") && faults_.drop_stor_after_bytes && !fired_stor_drop_) {
      drop_upload_after = faults_.drop_stor_after_bytes;
      fired_stor_drop_ = true;
    }
    if (verb == "RETR") {
      auto it = files_.find(path);
      if (it == files_.end()) {
        c.close_data_listener();
        return "550 Failed to open file.\r\n";
      }
      payload = it->second.substr(std::min<std::size_t>(rest, it->second.size()));
    } else if (verb == "LIST" || verb == "NLST" || verb == "MLSD") {
      if (!dirs_.count(path)) {
        c.close_data_listener();
        return "550 Failed to open directory.\r\n";
      }
      payload = listing(path, verb == "MLSD");
    }
  }
  if (c.data_listen_fd < 0)
    return "425 Use PORT or PASV first.\r\n";
  if (!wait_readable(c.data_listen_fd, kDataWaitMs)) {
    c.close_data_listener();
    return "425 Failed to establish connection.\r\n";
  }
  const int data = ::accept4(c.data_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  c.close_data_listener();
  if (data < 0)
    return "425 Failed to establish connection.\r\n";
  set_timeouts(data);
  if (!send_reply(c.fd, "150 Opening BINARY mode data connection.\r\n")) {
    ::close(data);
    return "";
  }

  if (verb == "STOR" || verb == "APPE") {
    std::string received;
    bool clean = true;
    char chunk[65536];
    // A slow reader takes small pieces at a steady pace, so the client's socket buffers fill up and
    // its writes progress only that fast.
    const std::size_t piece =
        upload_rate > 0 ? std::min<std::size_t>(sizeof chunk, upload_rate / 100 + 1) : sizeof chunk;
    if (upload_rate > 0) {
      const int small = 16 * 1024;
      ::setsockopt(data, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    for (;;) {
      const ssize_t n = ::recv(data, chunk, piece, 0);
      if (n == 0)
        break;
      if (n < 0) {
        clean = false;
        break;
      }
      received.append(chunk, static_cast<std::size_t>(n));
      if (upload_rate > 0)
        std::this_thread::sleep_for(
            std::chrono::microseconds(1000000ull * static_cast<std::size_t>(n) / upload_rate));
      if (drop_upload_after && received.size() >= *drop_upload_after) {
        received.resize(*drop_upload_after);
        clean = false;
        break;
      }
    }
    ::close(data);
    if (full)
      return "552 Insufficient storage space.\r\n";
    std::lock_guard lock(mutex_);
    auto& file = files_[path];
    if (verb == "STOR")
      file.clear();
    file += received;
    return clean ? "226 Transfer complete.\r\n" : "426 Connection closed; transfer aborted.\r\n";
  }

  const bool dropping = drop_after && *drop_after < payload.size();
  const std::size_t to_send = dropping ? *drop_after : payload.size();
  bool sent = true;
  if (download_rate == 0) {
    sent = send_all(data, payload.data(), to_send);
  } else {
    // Small pieces at a steady pace, as over a slow link.
    const std::size_t piece = download_rate / 100 + 1;
    for (std::size_t at = 0; sent && at < to_send; at += piece) {
      const std::size_t n = std::min(piece, to_send - at);
      sent = send_all(data, payload.data() + at, n);
      std::this_thread::sleep_for(std::chrono::microseconds(1000000ull * n / download_rate));
    }
  }
  ::shutdown(data, SHUT_WR);
  ::close(data);
  if (!sent || dropping)
    return "426 Connection closed; transfer aborted.\r\n";
  return "226 Transfer complete.\r\n";
}

}  // namespace testsupport
