#include "fs/errno_map.h"

#include <cerrno>

#include "ftp/error.h"

namespace fs {

int to_errno(std::error_code ec) noexcept {
  if (!ec)
    return 0;
  if (ec.category() == std::generic_category() || ec.category() == std::system_category()) {
    return ec.value() > 0 ? ec.value() : EIO;
  }
  if (ec.category() != ftp::category())
    return EIO;
  switch (static_cast<ftp::Errc>(ec.value())) {
    case ftp::Errc::ok:
      return 0;
    case ftp::Errc::not_found:
      return ENOENT;
    case ftp::Errc::permission_denied:
      return EACCES;
    case ftp::Errc::file_unavailable:
      return EACCES;
    case ftp::Errc::not_logged_in:
      return EACCES;
    case ftp::Errc::login_failed:
      return EACCES;
    case ftp::Errc::service_unavailable:
      return EIO;
    case ftp::Errc::too_many_connections:
      return EAGAIN;
    case ftp::Errc::transfer_aborted:
      return EIO;
    case ftp::Errc::server_error:
      return EIO;
    case ftp::Errc::insufficient_storage:
      return ENOSPC;
    case ftp::Errc::bad_name:
      return EINVAL;
    case ftp::Errc::bad_argument:
      return EINVAL;
    case ftp::Errc::not_supported:
      return ENOTSUP;
    case ftp::Errc::already_exists:
      return EEXIST;
    case ftp::Errc::not_empty:
      return ENOTEMPTY;
    case ftp::Errc::protocol_error:
      return EIO;
    case ftp::Errc::timeout:
      return ETIMEDOUT;
    case ftp::Errc::connection_failed:
      return EHOSTUNREACH;
    case ftp::Errc::connection_lost:
      return EIO;
    case ftp::Errc::cancelled:
      return EINTR;
  }
  return EIO;
}

}  // namespace fs
