#pragma once
// One FTP control channel: connect (with a deadline), the banner, and command/reply exchanges.
// Every read and write has a deadline set inside the coroutine; a deadline that fires closes the
// socket, so the connection is unusable afterwards (the caller discards the session). The wire
// transcript goes to the "ftp.wire" logger at trace level with the PASS argument masked.

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "ftp/asio.h"
#include "ftp/deadline.h"
#include "ftp/reply.h"
#include "ftp/reply_parser.h"
#include "ftp/result.h"
#include "ftp/socket_stream.h"

namespace ftp {

class ControlConnection {
 public:
  ControlConnection(asio::any_io_executor ex, std::chrono::milliseconds command_timeout,
                    std::shared_ptr<spdlog::logger> wire);
  ~ControlConnection();
  ControlConnection(const ControlConnection&) = delete;
  ControlConnection& operator=(const ControlConnection&) = delete;

  // Resolves `host` (name, IPv4 or IPv6 literal without brackets) and connects, all within `timeout`.
  Awaitable<Status> connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);
  // The greeting: 220, possibly after 120 "wait" replies. Any other reply is an error.
  Awaitable<Result<Reply>> read_banner();

  // Sends "VERB arg" and reads the next reply (which may be a 1xx preliminary one). An argument with
  // CR, LF or NUL is refused with bad_name before anything is sent.
  Awaitable<Result<Reply>> command(std::string_view verb, std::string_view arg = {});
  Awaitable<Status> send(std::string_view verb, std::string_view arg = {});
  // The next complete reply, waiting at most `timeout` (default: the command timeout).
  Awaitable<Result<Reply>> read_reply(std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  bool is_open() const { return stream_.is_open() && !failed_; }
  void close();
  std::chrono::milliseconds command_timeout() const { return command_timeout_; }
  tcp::endpoint remote_endpoint() const { return remote_; }
  tcp::endpoint local_endpoint() const { return local_; }

 private:
  void log_reply(const Reply& reply) const;

  asio::any_io_executor ex_;
  std::chrono::milliseconds command_timeout_;
  std::shared_ptr<spdlog::logger> wire_;
  SocketStream stream_;
  Deadline deadline_;
  ReplyParser parser_;
  std::array<char, 4096> buf_{};
  tcp::endpoint remote_;
  tcp::endpoint local_;
  bool failed_ = false;  // a read or write failed or timed out: the stream is in an unknown state
};

}  // namespace ftp
