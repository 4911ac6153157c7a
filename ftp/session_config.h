#pragma once
// Everything needed to open and log in a control connection, and the limits the pool keeps.

#include <chrono>
#include <cstdint>
#include <string>

namespace ftp {

enum class DataMode { passive, active };
enum class TlsMode { none, explicit_tls, implicit_tls };

struct SessionConfig {
  std::string host;  // name, IPv4, or IPv6 literal without brackets
  std::uint16_t port = 21;
  std::string user = "anonymous";
  std::string password = "anonymous@";
  std::string account;  // ACCT, only when the server asks (332)

  DataMode data_mode = DataMode::passive;
  bool use_epsv = true;             // try EPSV first; fall back to PASV for the session once it fails
  bool trust_pasv_address = false;  // default: connect to the control peer with the 227 port (NAT)
  std::string active_address;       // address to advertise in PORT/EPRT; default the control socket's own

  TlsMode tls = TlsMode::none;
  std::string encoding;  // server name encoding (iconv name); empty = UTF-8

  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds command_timeout{30000};  // a reply must start arriving within this
  std::chrono::milliseconds data_timeout{60000};     // no progress on a data connection for this long
  std::chrono::milliseconds idle_timeout{60000};     // idle sessions older than this get NOOP or close

  unsigned max_sessions = 4;  // pool size; lowered at run time by a 421 "too many connections"
};

}  // namespace ftp
