#include "ftp/reply.h"

namespace ftp {

std::string Reply::text() const {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty())
      out += '\n';
    out += line;
  }
  return out;
}

std::string Reply::summary() const {
  std::string out = std::to_string(code);
  if (!lines.empty()) {
    out += ' ';
    out += lines.back().empty() && lines.size() > 1 ? lines.front() : lines.back();
  }
  return out;
}

}  // namespace ftp
