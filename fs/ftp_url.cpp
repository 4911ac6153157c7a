#include "fs/ftp_url.h"

#include <charconv>

#include "ftp/error.h"

namespace fs {
namespace {

ftp::Error bad_url(std::string why) {
  return {make_error_code(ftp::Errc::bad_argument), std::move(why)};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Percent-decodes; a NUL (%00) or a malformed escape is refused, because names go to the server.
std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size())
      return std::nullopt;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0')
      return std::nullopt;
    out += c;
    i += 2;
  }
  return out;
}

std::string percent_encode_user(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (c == '@' || c == ':' || c == '/' || c == '%' || c <= 0x20 || c >= 0x7f) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

std::string FtpUrl::display() const {
  std::string out = "ftp://";
  if (user)
    out += percent_encode_user(*user) + "@";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 21)
    out += ":" + std::to_string(port);
  out += "/" + path;
  return out;
}

ftp::Result<FtpUrl> parse_ftp_url(std::string_view text) {
  constexpr std::string_view kScheme = "ftp://";
  if (text.size() < kScheme.size() || text.substr(0, kScheme.size()) != kScheme) {
    return bad_url("the URL must start with ftp:// (got '" + std::string(text) + "')");
  }
  std::string_view rest = text.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

  FtpUrl url;
  // The password may contain '@' in the wild; the last '@' ends the user info.
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    if (!user || user->empty())
      return bad_url("bad or empty user name in the URL");
    url.user = std::move(*user);
    if (colon != std::string_view::npos) {
      auto password = percent_decode(userinfo.substr(colon + 1));
      if (!password)
        return bad_url("bad percent-escape in the URL's password");
      url.password = std::move(*password);
    }
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return bad_url("unterminated IPv6 address in the URL");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return bad_url("unexpected text after the IPv6 address in the URL");
      port_text = after.substr(1);
    }
    if (url.host.find(':') == std::string::npos)
      return bad_url("not an IPv6 address in brackets: " + url.host);
  } else {
    const std::size_t colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos)
      port_text = authority.substr(colon + 1);
  }
  if (url.host.empty())
    return bad_url("the URL has no host name");
  for (char c : url.host) {
    if (c == '%' || c == ' ' || c == '\\' || c == '?' || c == '#')
      return bad_url("bad character in host name");
  }
  if (!port_text.empty() || (authority.size() > 0 && authority.back() == ':')) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      return bad_url("bad port in the URL: '" + std::string(port_text) + "'");
    }
    url.port = static_cast<std::uint16_t>(value);
  }

  auto decoded = percent_decode(path);
  if (!decoded)
    return bad_url("bad percent-escape in the URL's path");
  // A trailing slash names the same directory.
  while (!decoded->empty() && decoded->back() == '/')
    decoded->pop_back();
  url.path = std::move(*decoded);
  return url;
}

}  // namespace fs
