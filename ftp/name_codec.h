#pragma once
// File-name conversion for servers that do not speak UTF-8 (GBK, Shift_JIS, Latin-1, ...), with
// glibc iconv.
//
// Escaping rule (what makes to_server(to_local(x)) == x for every server name x):
//  - A server name that decodes cleanly and whose decoded text contains no "%XX" (a '%' followed
//    by two hex digits) is shown as the decoded text, '%' characters included.
//  - Otherwise the name is shown "escaped": each byte that cannot be decoded becomes "%XX"
//    (uppercase hex of the raw byte), each '%' of the decodable text becomes "%25", and the rest
//    is decoded text.
//  - to_server treats a local name that contains any "%XX" as escaped: every "%XX" becomes the raw
//    byte XX and the text between escapes is encoded. A local name without "%XX" is encoded as is.
// So a user who creates a name containing e.g. "%41" gets the byte 'A'; to get a literal "%41"
// they write "%2541".

#include <memory>
#include <string>
#include <string_view>

#include "ftp/result.h"

namespace ftp {

class NameCodec {
 public:
  // "" or "UTF-8" (any case, with or without the dash) is the identity codec. An unknown charset
  // is Errc::bad_argument.
  static Result<NameCodec> create(std::string_view charset);

  // Identity codec.
  NameCodec() = default;

  // Server bytes to UTF-8, escaping as described above. Never fails.
  std::string to_local(std::string_view server_name) const;
  // UTF-8 to server bytes, undoing the escapes. Errc::bad_name when the name is not valid UTF-8
  // or has a character the server charset cannot represent.
  Result<std::string> to_server(std::string_view local_name) const;

  bool identity() const { return !state_; }
  const std::string& charset() const;

 private:
  struct State;
  explicit NameCodec(std::shared_ptr<State> state) : state_(std::move(state)) {}

  // Shared and immutable apart from the mutex-guarded iconv descriptors, so copies are cheap.
  std::shared_ptr<State> state_;
};

}  // namespace ftp
