#pragma once
// Parsing of the 257 reply to PWD and MKD (RFC 959 appendix II).

#include <string>

#include "ftp/reply.h"
#include "ftp/result.h"

namespace ftp {

// The quoted path in a 257 reply, with doubled quotes ("") turned back into one.
// Errc::protocol_error for another code or a text with no complete quoted string.
Result<std::string> parse_pwd_reply(const Reply& reply);

}  // namespace ftp
