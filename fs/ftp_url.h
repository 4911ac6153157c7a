#pragma once
// The mount source: ftp://[user[:password]@]host[:port][/path], percent-decoded, IPv6 literals in
// brackets. Parsing is strict so that a typo fails the mount with a clear message.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ftp/result.h"

namespace fs {

struct FtpUrl {
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::string host;  // without brackets
  std::uint16_t port = 21;
  std::string path;  // decoded, without the leading '/' ("" = the login directory)

  // ftp://user@host[:port]/path, never the password: safe for /proc/mounts and logs.
  std::string display() const;
};

// On failure the error's detail says what is wrong with the URL.
ftp::Result<FtpUrl> parse_ftp_url(std::string_view text);

}  // namespace fs
