#pragma once
// A scriptable FTP server for tests, listening on 127.0.0.1 with an ephemeral port. It produces on
// demand what real servers only do by accident: replies split into single bytes, 421 in the middle
// of a session, data connections that end early, a server that stops answering, a full disk, a
// connection limit. Files live in memory. Each control connection is served by its own thread;
// everything stops and is joined in the destructor.
//
// Defaults behave like a small, well-mannered server: any user and password log in, FEAT lists
// MLST/SIZE/MDTM/REST STREAM/EPSV/UTF8, and MLSD, LIST, MLST, SIZE, MDTM, RETR (with REST), STOR,
// APPE, MKD, RMD, DELE, RNFR/RNTO, CWD, PWD, SITE CHMOD, MFMT, NOOP, ABOR and QUIT work on the
// in-memory tree. A handler can replace the answer to any command.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace testsupport {

class FakeFtpServer {
 public:
  struct Faults {
    bool byte_at_a_time = false;   // every reply is sent one byte per send()
    int reply_421_at_command = 0;  // the Nth command (counted over all connections, from 1)
                                   // gets "421" and the connection closes; once only
    std::optional<std::size_t> drop_data_after_bytes;  // RETR/listings: close data after N bytes,
                                                       // then answer 426
    std::string hang_at_verb;  // from this verb on, the connection never answers again
    bool stor_552 = false;     // STOR/APPE: take the data, then answer 552
    // STOR/APPE: keep the first N bytes (as a real server keeps a partial file), close the data
    // connection and answer 426; once only, later uploads work.
    std::optional<std::size_t> drop_stor_after_bytes;
    // STOR/APPE: read the data no faster than this (a slow link or disk); 0 = as fast as it comes.
    std::size_t slow_stor_bytes_per_second = 0;
    // RETR: send the data no faster than this; 0 = as fast as the client takes it.
    std::size_t slow_retr_bytes_per_second = 0;
    // Address written into 227 replies, e.g. a private one as a server behind NAT sends.
    std::string pasv_host = "127,0,0,1";
    int max_connections = 0;  // more concurrent control connections get
                              // "421 Too many connections" (0 = no limit)
  };

  // Returns the full raw reply ("200 OK\r\n", may be multi-line) for a command line (without CRLF),
  // or "" to let the default behaviour answer.
  using Handler = std::function<std::string(const std::string& command_line)>;

  FakeFtpServer();
  ~FakeFtpServer();
  FakeFtpServer(const FakeFtpServer&) = delete;
  FakeFtpServer& operator=(const FakeFtpServer&) = delete;

  std::uint16_t port() const { return port_; }

  // Raw banner, e.g. "220-Welcome\r\n220 Ready\r\n" (default "220 fake FTP server ready\r\n").
  void set_banner(std::string raw);
  // Raw FEAT reply; "" makes FEAT answer 502.
  void set_features(std::string raw);
  // Only this user/password pair logs in (default: anyone).
  void set_credentials(std::string user, std::string password);
  void set_handler(Handler handler);
  void set_faults(const Faults& faults);

  void add_file(const std::string& path, std::string contents);
  void add_directory(const std::string& path);
  std::optional<std::string> file(const std::string& path) const;
  bool has_directory(const std::string& path) const;

  // Every command line received so far, over all connections, in order.
  std::vector<std::string> commands() const;
  int connections_accepted() const { return accepted_.load(); }
  int max_concurrent_connections() const { return max_concurrent_.load(); }
  int current_connections() const { return current_.load(); }

 private:
  struct Connection;

  void accept_loop();
  void serve(int fd);
  bool send_reply(int fd, const std::string& raw);
  std::string dispatch(Connection& c, const std::string& line, bool& close_after);
  std::string transfer(Connection& c, const std::string& verb, const std::string& arg, bool& close_after);
  std::string listing(const std::string& dir, bool mlsd) const;
  std::string mlst_facts(const std::string& path) const;

  mutable std::mutex mutex_;
  std::string banner_ = "220 fake FTP server ready\r\n";
  std::string features_ =
      "211-Features:\r\n MLST type*;size*;modify*;\r\n SIZE\r\n MDTM\r\n REST STREAM\r\n EPSV\r\n "
      "UTF8\r\n211 End\r\n";
  std::optional<std::pair<std::string, std::string>> credentials_;
  Handler handler_;
  Faults faults_;
  bool fired_421_ = false;
  bool fired_stor_drop_ = false;
  int command_count_ = 0;
  std::map<std::string, std::string> files_;
  std::set<std::string> dirs_{"/"};
  std::vector<std::string> commands_;

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> current_{0};
  std::atomic<int> max_concurrent_{0};
  std::thread acceptor_;
  std::mutex threads_mutex_;
  std::vector<std::thread> threads_;
  std::set<int> open_fds_;  // control sockets, shut down on stop to unblock their threads
};

}  // namespace testsupport
