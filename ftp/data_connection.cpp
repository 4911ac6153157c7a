#include "ftp/data_connection.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "ftp/error.h"
#include "ftp/io_error.h"

namespace ftp {

DataConnection::DataConnection(asio::any_io_executor ex, std::chrono::milliseconds data_timeout)
    : ex_(ex),
      data_timeout_(data_timeout),
      stream_(tcp::socket(ex)),
      deadline_(ex),
      watch_(ex, data_timeout) {}

DataConnection::~DataConnection() {
  close();
}

Awaitable<Result<std::unique_ptr<DataConnection>>> DataConnection::connect(
    asio::any_io_executor ex, tcp::endpoint endpoint, std::chrono::milliseconds connect_timeout,
    std::chrono::milliseconds data_timeout) {
  std::unique_ptr<DataConnection> conn(new DataConnection(ex, data_timeout));
  auto& socket = conn->stream_.lowest_layer();
  boost::system::error_code ec;
  {
    DeadlineScope scope(conn->deadline_, connect_timeout, [&socket] {
      boost::system::error_code ignored;
      socket.close(ignored);
    });
    co_await socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  }
  if (ec) {
    co_return Error(make_error_code(conn->deadline_.expired() ? Errc::timeout : Errc::transfer_aborted),
                    "data connection to " + endpoint.address().to_string() + ":" +
                        std::to_string(endpoint.port()) + ": " + ec.message());
  }
  co_return std::move(conn);
}

Result<std::unique_ptr<DataConnection>> DataConnection::listen(asio::any_io_executor ex,
                                                               const asio::ip::address& local,
                                                               std::chrono::milliseconds data_timeout) {
  std::unique_ptr<DataConnection> conn(new DataConnection(ex, data_timeout));
  boost::system::error_code ec;
  tcp::acceptor acceptor(ex);
  const tcp::endpoint ep(local, 0);
  acceptor.open(ep.protocol(), ec);
  if (!ec)
    acceptor.bind(ep, ec);
  if (!ec)
    acceptor.listen(1, ec);
  if (ec)
    return Error(make_error_code(Errc::transfer_aborted),
                 "listen for active data connection: " + ec.message());
  conn->acceptor_.emplace(std::move(acceptor));
  return conn;
}

std::uint16_t DataConnection::listen_port() const {
  if (!acceptor_)
    return 0;
  boost::system::error_code ec;
  return acceptor_->local_endpoint(ec).port();
}

Awaitable<Status> DataConnection::accept(std::chrono::milliseconds timeout) {
  if (!acceptor_)
    co_return Status{};
  boost::system::error_code ec;
  {
    DeadlineScope scope(deadline_, timeout, [this] {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
    });
    co_await acceptor_->async_accept(stream_.lowest_layer(), asio::redirect_error(asio::use_awaitable, ec));
  }
  acceptor_.reset();  // one connection per transfer
  if (ec) {
    co_return Error(make_error_code(deadline_.expired() ? Errc::timeout : Errc::transfer_aborted),
                    "accepting the active data connection: " + ec.message());
  }
  co_return Status{};
}

Awaitable<Result<std::size_t>> DataConnection::read_some(std::span<char> buf) {
  if (eof_)
    co_return std::size_t{0};
  boost::system::error_code ec;
  watch_.begin([this] { stream_.close(); });
  const std::size_t n = co_await stream_.read_some(buf, ec);
  watch_.end();
  if (ec == asio::error::eof) {
    eof_ = true;
    co_return std::size_t{0};
  }
  if (ec) {
    if (watch_.stalled())
      co_return Error(make_error_code(Errc::timeout), "data connection stalled");
    co_return Error(make_error_code(Errc::transfer_aborted), "data connection: " + ec.message());
  }
  co_return n;
}

Awaitable<Status> DataConnection::write_all(std::span<const char> data) {
  boost::system::error_code ec;
  // Piece by piece, and with the bytes the peer acknowledged as progress, so that a slow link that
  // keeps moving never counts as stalled.
  watch_.begin([this] { stream_.close(); }, [this] { return bytes_acked(); });
  while (!data.empty() && !ec) {
    const std::size_t n = co_await stream_.write_some(data, ec);
    data = data.subspan(n);
    bytes_written_ += n;
    watch_.progress();
  }
  watch_.end();
  if (ec) {
    if (watch_.stalled())
      co_return Error(make_error_code(Errc::timeout), "data connection stalled");
    co_return Error(make_error_code(Errc::transfer_aborted), "data connection: " + ec.message());
  }
  co_return Status{};
}

std::uint64_t DataConnection::bytes_acked() {
  int queued = 0;  // written to the socket and not yet acknowledged by the peer
  if (!stream_.is_open() || ::ioctl(stream_.lowest_layer().native_handle(), SIOCOUTQ, &queued) != 0)
    return bytes_written_;
  return bytes_written_ - std::min<std::uint64_t>(bytes_written_, static_cast<std::uint64_t>(queued));
}

bool DataConnection::unusable() {
  if (acceptor_ || !stream_.is_open())
    return acceptor_ == std::nullopt;
  char probe = 0;
  const ssize_t n = ::recv(stream_.lowest_layer().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
  return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

void DataConnection::finish_send() {
  stream_.shutdown_send();
  stream_.close();
}

void DataConnection::reset() {
  boost::system::error_code ignored;
  if (stream_.is_open())
    stream_.lowest_layer().set_option(asio::socket_base::linger(true, 0), ignored);
  close();
}

void DataConnection::close() {
  deadline_.disarm();
  watch_.stop();
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);
  }
  stream_.close();
}

}  // namespace ftp
