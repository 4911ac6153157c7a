#include "ftp/command.h"

#include <cctype>

#include "ftp/error.h"

namespace ftp {
namespace {

bool has_forbidden_byte(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

Result<std::string> format_command(std::string_view verb, std::string_view argument) {
  if (verb.empty() || has_forbidden_byte(verb) || has_forbidden_byte(argument)) {
    return Error{make_error_code(Errc::bad_name), std::string(verb)};
  }
  std::string out;
  out.reserve(verb.size() + argument.size() + 3);
  out.append(verb);
  if (!argument.empty()) {
    out += ' ';
    out.append(argument);
  }
  out += "\r\n";
  return out;
}

std::string redact_command(std::string_view line) {
  std::string_view body = line;
  std::string_view ending;
  const auto end = body.find_first_of("\r\n");
  if (end != std::string_view::npos) {
    ending = body.substr(end);
    body = body.substr(0, end);
  }
  const auto space = body.find(' ');
  const auto verb = body.substr(0, space);
  if (!iequals(verb, "PASS") || space == std::string_view::npos)
    return std::string(line);
  std::string out(verb);
  out += " ****";
  out.append(ending);
  return out;
}

}  // namespace ftp
