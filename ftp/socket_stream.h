#pragma once
// The byte stream under a control or data connection. Only plain TCP today; TLS (AUTH TLS, PROT P)
// will add an ssl::stream alternative here without touching the protocol code above it.

#include <cstddef>
#include <span>
#include <system_error>

#include "ftp/asio.h"

namespace ftp {

class SocketStream {
 public:
  explicit SocketStream(tcp::socket socket) : socket_(std::move(socket)) {}

  tcp::socket& lowest_layer() { return socket_; }

  // Reads some bytes; 0 with asio::error::eof at a clean end of stream.
  Awaitable<std::size_t> read_some(std::span<char> buf, boost::system::error_code& ec) {
    co_return co_await socket_.async_read_some(asio::buffer(buf.data(), buf.size()),
                                               asio::redirect_error(asio::use_awaitable, ec));
  }

  // Writes some bytes (at least one unless there is an error).
  Awaitable<std::size_t> write_some(std::span<const char> data, boost::system::error_code& ec) {
    co_return co_await socket_.async_write_some(asio::buffer(data.data(), data.size()),
                                                asio::redirect_error(asio::use_awaitable, ec));
  }

  Awaitable<std::size_t> write_all(std::span<const char> data, boost::system::error_code& ec) {
    co_return co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()),
                                         asio::redirect_error(asio::use_awaitable, ec));
  }

  // Sends FIN after the last byte, so the peer sees a clean end of an upload.
  void shutdown_send() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }

  void cancel() {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  bool is_open() const { return socket_.is_open(); }

 private:
  tcp::socket socket_;
};

}  // namespace ftp
