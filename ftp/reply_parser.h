#pragma once
// Sans-IO parser for the control connection (RFC 959 section 4.2): bytes in, complete replies out.
// It never touches a socket, so every framing case can be tested byte by byte.

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "ftp/reply.h"

namespace ftp {

class ReplyParser {
 public:
  // A line longer than this without its line end is garbage or an attack, not a reply.
  static constexpr std::size_t kMaxLineLength = 8192;
  // Bounds the memory one multi-line reply (e.g. a huge STAT or HELP) may take.
  static constexpr std::size_t kMaxLines = 100000;

  // Appends bytes. Returns Errc::protocol_error on an over-long line, a first line that does not
  // start with three digits and ' ' or '-', or too many lines in one reply. After an error the
  // parser stays failed and every later feed() returns the same error; replies completed before
  // the error can still be taken with next().
  std::error_code feed(std::string_view bytes);

  // The next complete reply, in the order received.
  std::optional<Reply> next();

  bool failed() const { return static_cast<bool>(error_); }
  // True while a reply has started but is not yet complete (bytes or lines are pending).
  bool partial() const { return !buffer_.empty() || in_multiline_; }

 private:
  std::error_code take_line(std::string_view line);

  std::string buffer_;  // bytes of the current, not yet terminated line
  std::deque<Reply> ready_;
  Reply current_;
  bool in_multiline_ = false;
  std::error_code error_;
};

}  // namespace ftp
