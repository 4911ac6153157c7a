#pragma once
// Turns a socket error into the ftp error vocabulary, so callers above the sockets only ever see
// ftp::Errc values (plus the system message as detail).

#include <string>

#include "ftp/asio.h"
#include "ftp/error.h"
#include "ftp/result.h"

namespace ftp {

// `timed_out` is true when our own deadline cancelled the operation.
inline Error io_error(const boost::system::error_code& ec, bool timed_out, std::string_view what) {
  std::string detail(what);
  if (timed_out)
    return Error(make_error_code(Errc::timeout), detail);
  detail += ": " + ec.message();
  if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == asio::error::connection_aborted || ec == asio::error::not_connected ||
      ec == asio::error::bad_descriptor)
    return Error(make_error_code(Errc::connection_lost), detail);
  if (ec == asio::error::operation_aborted)
    return Error(make_error_code(Errc::cancelled), detail);
  return Error(make_error_code(Errc::connection_lost), detail);
}

}  // namespace ftp
