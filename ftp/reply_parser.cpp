#include "ftp/reply_parser.h"

#include "ftp/error.h"

namespace ftp {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool starts_with_code(std::string_view line) {
  return line.size() >= 3 && is_digit(line[0]) && is_digit(line[1]) && is_digit(line[2]);
}

int code_of(std::string_view line) {
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

}  // namespace

std::error_code ReplyParser::feed(std::string_view bytes) {
  if (error_)
    return error_;
  while (!bytes.empty()) {
    const auto lf = bytes.find('\n');
    if (lf == std::string_view::npos) {
      buffer_.append(bytes);
      // +1 leaves room for the CR of a CRLF that has not arrived yet.
      if (buffer_.size() > kMaxLineLength + 1)
        return error_ = make_error_code(Errc::protocol_error);
      return {};
    }
    std::string_view line;
    if (buffer_.empty()) {
      line = bytes.substr(0, lf);
    } else {
      buffer_.append(bytes.substr(0, lf));
      line = buffer_;
    }
    bytes.remove_prefix(lf + 1);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);  // CRLF; a bare LF is accepted too
    const auto ec = line.size() > kMaxLineLength ? make_error_code(Errc::protocol_error) : take_line(line);
    buffer_.clear();
    if (ec)
      return error_ = ec;
  }
  return {};
}

std::error_code ReplyParser::take_line(std::string_view line) {
  if (!in_multiline_) {
    // A bare "220" is not RFC-conformant but unambiguous, so it is taken as a reply with no text.
    if (!starts_with_code(line) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      return make_error_code(Errc::protocol_error);
    }
    current_ = Reply{};
    current_.code = code_of(line);
    current_.lines.emplace_back(line.size() > 3 ? line.substr(4) : std::string_view{});
    if (line.size() > 3 && line[3] == '-') {
      in_multiline_ = true;
    } else {
      ready_.push_back(std::move(current_));
    }
    return {};
  }
  // Only "<same code><space>" ends the reply; other digit-led lines are text (RFC 959 4.2).
  const bool last =
      starts_with_code(line) && code_of(line) == current_.code && (line.size() == 3 || line[3] == ' ');
  if (current_.lines.size() >= kMaxLines)
    return make_error_code(Errc::protocol_error);
  if (last) {
    current_.lines.emplace_back(line.size() > 3 ? line.substr(4) : std::string_view{});
    in_multiline_ = false;
    ready_.push_back(std::move(current_));
    current_ = Reply{};
  } else {
    current_.lines.emplace_back(line);
  }
  return {};
}

std::optional<Reply> ReplyParser::next() {
  if (ready_.empty())
    return std::nullopt;
  Reply reply = std::move(ready_.front());
  ready_.pop_front();
  return reply;
}

}  // namespace ftp
