#pragma once
// Formatting of control-connection commands. Refusing CR, LF and NUL here is what keeps a file
// name from smuggling a second command onto the connection.

#include <string>
#include <string_view>

#include "ftp/result.h"

namespace ftp {

// "VERB arg\r\n", or "VERB\r\n" when the argument is empty. Errc::bad_name if the verb or the
// argument contains CR, LF or NUL. The argument is sent verbatim (leading/trailing spaces kept,
// since they can be part of a file name).
Result<std::string> format_command(std::string_view verb, std::string_view argument = {});

// The line as it may appear in a log: the argument of PASS (any case) is replaced by "****".
// A trailing CRLF is kept as it was.
std::string redact_command(std::string_view line);

}  // namespace ftp
