#pragma once
// One FTP reply (RFC 959 section 4.2): a three-digit code and its text lines.

#include <string>
#include <vector>

namespace ftp {

struct Reply {
  int code = 0;
  // Text of every line with the leading "123-"/"123 " removed from the first and last lines;
  // lines in between are kept verbatim.
  std::vector<std::string> lines;

  bool is_preliminary() const { return code >= 100 && code < 200; }
  bool is_completion() const { return code >= 200 && code < 300; }
  bool is_intermediate() const { return code >= 300 && code < 400; }
  bool is_transient_negative() const { return code >= 400 && code < 500; }
  bool is_permanent_negative() const { return code >= 500 && code < 600; }
  bool is_negative() const { return code >= 400; }

  // All lines joined with '\n'; the first line alone for single-line replies.
  std::string text() const;
  // "550 No such file" style one-liner for error context and logs.
  std::string summary() const;
};

}  // namespace ftp
