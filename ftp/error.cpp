#include "ftp/error.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "ftp/reply.h"

namespace ftp {
namespace {

class FtpCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ftp"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::ok:
        return "success";
      case Errc::not_found:
        return "no such file or directory on the server";
      case Errc::permission_denied:
        return "permission denied by the server";
      case Errc::file_unavailable:
        return "file unavailable";
      case Errc::not_logged_in:
        return "not logged in";
      case Errc::login_failed:
        return "login incorrect";
      case Errc::service_unavailable:
        return "service not available, server closing the connection";
      case Errc::too_many_connections:
        return "server allows no more connections";
      case Errc::transfer_aborted:
        return "transfer aborted";
      case Errc::server_error:
        return "server-side error";
      case Errc::insufficient_storage:
        return "insufficient storage on the server";
      case Errc::bad_name:
        return "name contains CR, LF or NUL";
      case Errc::bad_argument:
        return "server rejected the argument";
      case Errc::not_supported:
        return "command not supported by the server";
      case Errc::already_exists:
        return "already exists";
      case Errc::not_empty:
        return "directory not empty";
      case Errc::protocol_error:
        return "FTP protocol error";
      case Errc::timeout:
        return "timed out";
      case Errc::connection_failed:
        return "could not connect";
      case Errc::connection_lost:
        return "connection lost";
      case Errc::cancelled:
        return "cancelled";
    }
    return "unknown ftp error";
  }
};

bool contains_ci(std::string haystack, std::string_view needle) {
  std::transform(haystack.begin(), haystack.end(), haystack.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

const std::error_category& category() noexcept {
  static const FtpCategory instance;  // stateless; function-local so there is no init-order issue
  return instance;
}

std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), category()};
}

bool is_refusal(std::error_code ec) noexcept {
  return ec == Errc::not_supported || ec == Errc::permission_denied || ec == Errc::file_unavailable ||
         ec == Errc::bad_argument;
}

bool is_fatal(std::error_code ec) noexcept {
  if (!ec)
    return false;
  if (ec.category() != category())
    return true;  // socket and system errors: connection state unknown
  switch (static_cast<Errc>(ec.value())) {
    case Errc::service_unavailable:
    case Errc::too_many_connections:
    case Errc::protocol_error:
    case Errc::timeout:
    case Errc::connection_failed:
    case Errc::connection_lost:
    case Errc::cancelled:
    case Errc::not_logged_in:
      return true;
    default:
      return false;
  }
}

std::error_code error_from_reply(const Reply& reply) noexcept {
  const std::string text = reply.text();
  switch (reply.code) {
    case 421:
      if (contains_ci(text, "too many") || contains_ci(text, "connections"))
        return Errc::too_many_connections;
      return Errc::service_unavailable;
    case 425:
    case 426:
      return Errc::transfer_aborted;
    case 450:
    case 451:
      return Errc::server_error;
    case 452:
    case 552:
      return Errc::insufficient_storage;
    case 500:
    case 502:
    case 504:
      return Errc::not_supported;
    case 501:
      return Errc::bad_argument;
    case 530:
      return Errc::not_logged_in;
    case 532:
      return Errc::permission_denied;
    case 553:
      return Errc::permission_denied;
    case 550:
      if (contains_ci(text, "no such") || contains_ci(text, "not found") || contains_ci(text, "not exist") ||
          contains_ci(text, "cannot find"))
        return Errc::not_found;
      if (contains_ci(text, "permission") || contains_ci(text, "denied") || contains_ci(text, "not allowed"))
        return Errc::permission_denied;
      if (contains_ci(text, "exists"))
        return Errc::already_exists;
      if (contains_ci(text, "not empty"))
        return Errc::not_empty;
      return Errc::file_unavailable;
    default:
      if (reply.code >= 400 && reply.code < 500)
        return Errc::server_error;
      if (reply.code >= 500)
        return Errc::file_unavailable;
      return Errc::protocol_error;  // not a negative reply at all: the caller expected something else
  }
}

}  // namespace ftp
