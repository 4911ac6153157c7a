#include "ftp/pwd_reply.h"

#include "ftp/error.h"

namespace ftp {

Result<std::string> parse_pwd_reply(const Reply& reply) {
  const Error bad{make_error_code(Errc::protocol_error), reply.summary()};
  if (reply.code != 257 || reply.lines.empty())
    return bad;
  const std::string& text = reply.lines.front();
  auto pos = text.find('"');
  if (pos == std::string::npos)
    return bad;
  std::string path;
  for (++pos; pos < text.size(); ++pos) {
    if (text[pos] != '"') {
      path += text[pos];
    } else if (pos + 1 < text.size() && text[pos + 1] == '"') {
      path += '"';
      ++pos;
    } else {
      return path;
    }
  }
  return bad;  // no closing quote
}

}  // namespace ftp
