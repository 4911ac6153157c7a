#pragma once
// One FTP data connection (RFC 959 section 3.2). Passive: we connect to the port the server opened.
// Active: we listen and the server connects to us after the transfer command. Every read and write
// has a no-progress deadline (data_timeout); a clean end of stream (FIN) is told apart from a reset,
// since only a clean end may count as a complete transfer.

#include <chrono>
#include <memory>
#include <optional>
#include <span>

#include "ftp/asio.h"
#include "ftp/deadline.h"
#include "ftp/result.h"
#include "ftp/socket_stream.h"
#include "ftp/stall_watch.h"

namespace ftp {

class DataConnection {
 public:
  // Passive mode: connects to `endpoint` within `connect_timeout`.
  static Awaitable<Result<std::unique_ptr<DataConnection>>> connect(asio::any_io_executor ex,
                                                                    tcp::endpoint endpoint,
                                                                    std::chrono::milliseconds connect_timeout,
                                                                    std::chrono::milliseconds data_timeout);
  // Active mode: listens on `local` (port 0 = any); the server connects after the transfer command,
  // see accept().
  static Result<std::unique_ptr<DataConnection>> listen(asio::any_io_executor ex,
                                                        const asio::ip::address& local,
                                                        std::chrono::milliseconds data_timeout);

  ~DataConnection();
  DataConnection(const DataConnection&) = delete;
  DataConnection& operator=(const DataConnection&) = delete;

  // The listening port in active mode.
  std::uint16_t listen_port() const;
  // Active mode: waits for the server's connection. Passive mode: nothing to do.
  Awaitable<Status> accept(std::chrono::milliseconds timeout);

  // Up to buf.size() bytes; 0 means the server closed the connection cleanly (end of data). A reset
  // or a stall longer than data_timeout is an error (transfer_aborted / timeout).
  Awaitable<Result<std::size_t>> read_some(std::span<char> buf);
  Awaitable<Status> write_all(std::span<const char> data);
  // Makes a pending read or write fail with operation_aborted at once.
  void cancel() { stream_.cancel(); }
  // Ends an upload: FIN after the last byte, then close.
  void finish_send();
  void close();
  // Closes with a reset (RST) instead of FIN, so an upload that is being abandoned can never look
  // complete to the server.
  void reset();
  bool eof() const { return eof_; }
  // For a connection opened ahead of its transfer: true when the server already closed or reset it
  // (it gave up waiting), or sent something; such a connection cannot carry the transfer.
  bool unusable();

 private:
  DataConnection(asio::any_io_executor ex, std::chrono::milliseconds data_timeout);
  // Bytes of this connection the peer has acknowledged, for the stall watch.
  std::uint64_t bytes_acked();

  asio::any_io_executor ex_;
  std::chrono::milliseconds data_timeout_;
  SocketStream stream_;
  std::optional<tcp::acceptor> acceptor_;
  Deadline deadline_;  // connecting and accepting
  StallWatch watch_;   // reads and writes
  std::uint64_t bytes_written_ = 0;
  bool eof_ = false;
};

}  // namespace ftp
