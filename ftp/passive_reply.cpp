#include "ftp/passive_reply.h"

#include <optional>

#include "ftp/error.h"

namespace ftp {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads a decimal number at `pos`, capped so a long digit run cannot overflow.
std::optional<unsigned long> read_number(std::string_view s, std::size_t& pos) {
  if (pos >= s.size() || !is_digit(s[pos]))
    return std::nullopt;
  unsigned long value = 0;
  while (pos < s.size() && is_digit(s[pos])) {
    if (value < 1000000)
      value = value * 10 + static_cast<unsigned long>(s[pos] - '0');
    ++pos;
  }
  return value;
}

void skip_spaces(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && s[pos] == ' ')
    ++pos;
}

// Six numbers separated by commas (spaces allowed around them) starting at `pos`.
std::optional<std::array<unsigned long, 6>> read_six(std::string_view s, std::size_t pos) {
  std::array<unsigned long, 6> out{};
  for (std::size_t i = 0; i < 6; ++i) {
    if (i > 0) {
      skip_spaces(s, pos);
      if (pos >= s.size() || s[pos] != ',')
        return std::nullopt;
      ++pos;
      skip_spaces(s, pos);
    }
    auto n = read_number(s, pos);
    if (!n)
      return std::nullopt;
    out[i] = *n;
  }
  return out;
}

Error protocol_error(const Reply& reply) {
  return Error{make_error_code(Errc::protocol_error), reply.summary()};
}

}  // namespace

Result<HostPort> parse_pasv_reply(const Reply& reply) {
  if (reply.code != 227)
    return protocol_error(reply);
  const std::string text = reply.text();
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    if (!is_digit(text[pos]) || (pos > 0 && is_digit(text[pos - 1])))
      continue;
    const auto six = read_six(text, pos);
    if (!six)
      continue;
    for (auto n : *six) {
      if (n > 255)
        return protocol_error(reply);
    }
    const auto& v = *six;
    HostPort out;
    out.host = std::to_string(v[0]) + '.' + std::to_string(v[1]) + '.' + std::to_string(v[2]) + '.' +
               std::to_string(v[3]);
    out.port = static_cast<std::uint16_t>(v[4] * 256 + v[5]);
    return out;
  }
  return protocol_error(reply);
}

Result<std::uint16_t> parse_epsv_reply(const Reply& reply) {
  if (reply.code != 229)
    return protocol_error(reply);
  const std::string text = reply.text();
  // Prefer the parenthesised form; fall back to the first "ddd<port>d" anywhere in the text.
  const auto open = text.find('(');
  for (std::size_t start = open == std::string::npos ? 0 : open + 1; start + 3 < text.size(); ++start) {
    const char d = text[start];
    if (d < 33 || d > 126 || is_digit(d) || text[start + 1] != d || text[start + 2] != d) {
      if (open != std::string::npos)
        break;
      continue;
    }
    std::size_t pos = start + 3;
    const auto port = read_number(text, pos);
    if (!port || pos >= text.size() || text[pos] != d) {
      if (open != std::string::npos)
        break;
      continue;
    }
    if (*port < 1 || *port > 65535)
      return protocol_error(reply);
    return static_cast<std::uint16_t>(*port);
  }
  return protocol_error(reply);
}

std::string format_port_argument(std::array<std::uint8_t, 4> ipv4, std::uint16_t port) {
  std::string out;
  for (auto octet : ipv4) {
    out += std::to_string(octet);
    out += ',';
  }
  out += std::to_string(port >> 8);
  out += ',';
  out += std::to_string(port & 0xff);
  return out;
}

std::string format_eprt_argument(std::string_view address, bool ipv6, std::uint16_t port) {
  std::string out = ipv6 ? "|2|" : "|1|";
  out.append(address);
  out += '|';
  out += std::to_string(port);
  out += '|';
  return out;
}

}  // namespace ftp
