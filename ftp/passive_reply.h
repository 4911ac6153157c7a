#pragma once
// Parsing of the answers to PASV/EPSV and formatting of PORT/EPRT arguments (RFC 959, RFC 2428).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ftp/reply.h"
#include "ftp/result.h"

namespace ftp {

struct HostPort {
  std::string host;  // dotted IPv4 as the server wrote it ("192,168,0,1" -> "192.168.0.1")
  std::uint16_t port = 0;
};

// A 227 reply. Servers write the six numbers as "(h1,h2,h3,h4,p1,p2)", without parentheses, after
// '=', or with spaces around the commas; the first run of six comma-separated numbers is taken.
// Errc::protocol_error for another code, no such run, or a number above 255.
Result<HostPort> parse_pasv_reply(const Reply& reply);

// A 229 reply: "(|||port|)", where the delimiter is whatever printable character (33..126) comes
// first. Errc::protocol_error for another code, a malformed text, or a port outside 1..65535.
Result<std::uint16_t> parse_epsv_reply(const Reply& reply);

// "h1,h2,h3,h4,p1,p2" for PORT.
std::string format_port_argument(std::array<std::uint8_t, 4> ipv4, std::uint16_t port);

// "|1|address|port|" (IPv4) or "|2|address|port|" (IPv6) for EPRT.
std::string format_eprt_argument(std::string_view address, bool ipv6, std::uint16_t port);

}  // namespace ftp
