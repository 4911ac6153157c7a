#include "ftp/name_codec.h"

#include <iconv.h>

#include <cctype>
#include <cerrno>
#include <mutex>

#include "ftp/error.h"

namespace ftp {

// iconv_t carries conversion state and is not thread-safe, so each direction is guarded.
struct NameCodec::State {
  std::string charset;
  iconv_t decode = reinterpret_cast<iconv_t>(-1);  // server charset -> UTF-8
  iconv_t encode = reinterpret_cast<iconv_t>(-1);  // UTF-8 -> server charset
  std::mutex decode_mutex;
  std::mutex encode_mutex;

  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (decode != reinterpret_cast<iconv_t>(-1))
      iconv_close(decode);
    if (encode != reinterpret_cast<iconv_t>(-1))
      iconv_close(encode);
  }
};

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

bool is_escape_at(std::string_view s, std::size_t i) {
  return i + 2 < s.size() && s[i] == '%' && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0;
}

bool has_escape(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (is_escape_at(s, i))
      return true;
  }
  return false;
}

void append_escape(std::string& out, unsigned char byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[byte >> 4];
  out += kHex[byte & 0xf];
}

bool is_utf8_name(std::string_view s) {
  std::string l;
  for (char c : s) {
    if (c != '-' && c != '_')
      l += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return l.empty() || l == "UTF8";
}

// Converts as much of `in` as possible, appending to `out`. Returns false on the first byte
// sequence the converter rejects (EILSEQ, or EINVAL: incomplete at the end), leaving `in` there.
bool convert(iconv_t cd, std::string_view& in, std::string& out) {
  char buf[256];
  auto* src = const_cast<char*>(in.data());
  std::size_t src_left = in.size();
  bool ok = true;
  while (src_left > 0) {
    char* dst = buf;
    std::size_t dst_left = sizeof buf;
    const auto rc = iconv(cd, &src, &src_left, &dst, &dst_left);
    out.append(buf, static_cast<std::size_t>(dst - buf));
    if (rc == static_cast<std::size_t>(-1)) {
      if (errno == E2BIG)
        continue;
      ok = false;
      break;
    }
  }
  if (ok) {
    // Flush any shift state (stateful encodings such as ISO-2022-JP).
    char* dst = buf;
    std::size_t dst_left = sizeof buf;
    iconv(cd, nullptr, nullptr, &dst, &dst_left);
    out.append(buf, static_cast<std::size_t>(dst - buf));
  }
  in = in.substr(in.size() - src_left);
  return ok;
}

}  // namespace

Result<NameCodec> NameCodec::create(std::string_view charset) {
  if (is_utf8_name(charset))
    return NameCodec{};
  auto state = std::make_shared<State>();
  state->charset = std::string(charset);
  state->decode = iconv_open("UTF-8", state->charset.c_str());
  state->encode = iconv_open(state->charset.c_str(), "UTF-8");
  if (state->decode == reinterpret_cast<iconv_t>(-1) || state->encode == reinterpret_cast<iconv_t>(-1)) {
    return Error{make_error_code(Errc::bad_argument), "unknown charset " + state->charset};
  }
  return NameCodec{std::move(state)};
}

const std::string& NameCodec::charset() const {
  static const std::string kUtf8 = "UTF-8";
  return state_ ? state_->charset : kUtf8;
}

std::string NameCodec::to_local(std::string_view server_name) const {
  if (!state_)
    return std::string(server_name);
  std::string plain;    // decodable text only (valid when nothing needed escaping)
  std::string escaped;  // the escaped form
  bool undecodable = false;
  std::lock_guard lock(state_->decode_mutex);
  iconv(state_->decode, nullptr, nullptr, nullptr, nullptr);  // reset state
  std::string_view in = server_name;
  while (!in.empty()) {
    std::string piece;
    const bool ok = convert(state_->decode, in, piece);
    plain += piece;
    for (char c : piece) {
      if (c == '%') {
        escaped += "%25";
      } else {
        escaped += c;
      }
    }
    if (ok)
      break;
    undecodable = true;
    append_escape(escaped, static_cast<unsigned char>(in.front()));
    in.remove_prefix(1);
    iconv(state_->decode, nullptr, nullptr, nullptr, nullptr);
  }
  if (!undecodable && !has_escape(plain))
    return plain;
  return escaped;
}

Result<std::string> NameCodec::to_server(std::string_view local_name) const {
  if (!state_)
    return std::string(local_name);
  const Error bad{make_error_code(Errc::bad_name), std::string(local_name)};
  std::lock_guard lock(state_->encode_mutex);
  std::string out;
  const bool escaped = has_escape(local_name);
  std::size_t pos = 0;
  while (pos <= local_name.size()) {
    std::size_t next = local_name.size();
    if (escaped) {
      for (std::size_t i = pos; i < local_name.size(); ++i) {
        if (is_escape_at(local_name, i)) {
          next = i;
          break;
        }
      }
    }
    std::string_view text = local_name.substr(pos, next - pos);
    iconv(state_->encode, nullptr, nullptr, nullptr, nullptr);
    if (!text.empty() && !convert(state_->encode, text, out))
      return bad;
    if (next >= local_name.size())
      break;
    out += static_cast<char>(hex_value(local_name[next + 1]) * 16 + hex_value(local_name[next + 2]));
    pos = next + 3;
  }
  return out;
}

}  // namespace ftp
