#include "ftp/control_connection.h"

#include "ftp/command.h"
#include "ftp/error.h"
#include "ftp/io_error.h"

namespace ftp {

ControlConnection::ControlConnection(asio::any_io_executor ex, std::chrono::milliseconds command_timeout,
                                     std::shared_ptr<spdlog::logger> wire)
    : ex_(ex),
      command_timeout_(command_timeout),
      wire_(std::move(wire)),
      stream_(tcp::socket(ex)),
      deadline_(ex) {}

ControlConnection::~ControlConnection() {
  close();
}

void ControlConnection::close() {
  deadline_.disarm();
  stream_.close();
}

Awaitable<Status> ControlConnection::connect(const std::string& host, std::uint16_t port,
                                             std::chrono::milliseconds timeout) {
  tcp::resolver resolver(ex_);
  auto& socket = stream_.lowest_layer();
  DeadlineScope scope(deadline_, timeout, [&resolver, &socket] {
    resolver.cancel();
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  boost::system::error_code ec;
  auto endpoints = co_await resolver.async_resolve(host, std::to_string(port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return Error(make_error_code(deadline_.expired() ? Errc::timeout : Errc::connection_failed),
                    "resolve " + host + ": " + ec.message());
  }
  co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return Error(make_error_code(deadline_.expired() ? Errc::timeout : Errc::connection_failed),
                    "connect " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  socket.set_option(tcp::no_delay(true), ec);
  remote_ = socket.remote_endpoint(ec);
  local_ = socket.local_endpoint(ec);
  if (wire_)
    wire_->trace("connected to {}:{}", remote_.address().to_string(), remote_.port());
  co_return Status{};
}

Awaitable<Result<Reply>> ControlConnection::read_banner() {
  for (;;) {
    auto reply = co_await read_reply();
    if (!reply)
      co_return reply;
    if (reply->code == 120)
      continue;  // "service ready in nnn minutes": the real greeting follows
    if (reply->code == 220)
      co_return reply;
    // 421 (busy, too many users) and friends keep their meaning; anything else is nonsense here.
    const auto ec = reply->is_negative() ? error_from_reply(*reply) : make_error_code(Errc::protocol_error);
    co_return Error(ec, "banner: " + reply->summary());
  }
}

Awaitable<Status> ControlConnection::send(std::string_view verb, std::string_view arg) {
  auto line = format_command(verb, arg);
  if (!line)
    co_return line.error();
  std::string bytes = std::move(*line);
  if (bytes.size() < 2 || bytes.compare(bytes.size() - 2, 2, "\r\n") != 0)
    bytes += "\r\n";
  if (failed_ || !stream_.is_open()) {
    co_return Error(make_error_code(Errc::connection_lost),
                    std::string(verb) + ": connection already closed");
  }
  if (wire_ && wire_->should_log(spdlog::level::trace)) {
    wire_->trace("-> {}", redact_command(std::string_view(bytes).substr(0, bytes.size() - 2)));
  }
  DeadlineScope scope(deadline_, command_timeout_, [this] { stream_.close(); });
  boost::system::error_code ec;
  co_await stream_.write_all(bytes, ec);
  if (ec) {
    failed_ = true;
    co_return io_error(ec, deadline_.expired(), "sending " + std::string(verb));
  }
  co_return Status{};
}

Awaitable<Result<Reply>> ControlConnection::read_reply(std::optional<std::chrono::milliseconds> timeout) {
  for (;;) {
    if (auto reply = parser_.next()) {
      log_reply(*reply);
      co_return std::move(*reply);
    }
    if (failed_ || !stream_.is_open()) {
      co_return Error(make_error_code(Errc::connection_lost), "control connection already closed");
    }
    boost::system::error_code ec;
    std::size_t n = 0;
    {
      DeadlineScope scope(deadline_, timeout.value_or(command_timeout_), [this] { stream_.close(); });
      n = co_await stream_.read_some(buf_, ec);
    }
    if (ec) {
      failed_ = true;
      co_return io_error(ec, deadline_.expired(), "waiting for a reply");
    }
    if (auto perr = parser_.feed(std::string_view(buf_.data(), n))) {
      failed_ = true;
      close();
      co_return Error(make_error_code(Errc::protocol_error), "unparsable reply: " + perr.message());
    }
  }
}

Awaitable<Result<Reply>> ControlConnection::command(std::string_view verb, std::string_view arg) {
  auto sent = co_await send(verb, arg);
  if (!sent)
    co_return sent.error();
  co_return co_await read_reply();
}

void ControlConnection::log_reply(const Reply& reply) const {
  if (!wire_ || !wire_->should_log(spdlog::level::trace))
    return;
  for (const auto& line : reply.lines)
    wire_->trace("<- {} {}", reply.code, line);
}

}  // namespace ftp
