#pragma once
// Where the login comes from when the URL does not carry a password. Precedence, first wins:
// URL password > -o password_stdin > -o credentials=FILE > ~/.netrc > terminal prompt > anonymous.
// None of these put the password on the command line, so it never shows in /proc/PID/cmdline.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "fs/config.h"
#include "ftp/result.h"

namespace fs {

// One machine (or the default) entry of a netrc file.
struct NetrcEntry {
  std::optional<std::string> login;
  std::optional<std::string> password;
};

// The entry for `host` in netrc text: its "machine" entry, else the "default" entry. Nothing when
// neither exists. macdef bodies are skipped; tokens may be double-quoted.
std::optional<NetrcEntry> find_netrc_entry(std::string_view text, std::string_view host);

struct FileCredentials {
  std::optional<std::string> user;
  std::optional<std::string> password;
};

// Reads a credentials file: "user=NAME" and "password=SECRET" lines; blank lines and lines starting
// with '#' are ignored. Refused (with a message naming the file) when group or others may read or
// write it, when it is not a regular file, or when a line is not understood.
ftp::Result<FileCredentials> read_credentials_file(const std::filesystem::path& path);

// What resolve_credentials needs from the outside world, replaceable in tests.
struct CredentialIo {
  // One line from standard input without its line ending; nothing at end of input.
  std::function<std::optional<std::string>()> read_stdin_line;
  std::function<bool()> stdin_is_terminal;
  // Asks on the terminal without echo; nothing when there is no terminal or input ended.
  std::function<std::optional<std::string>(const std::string& prompt)> prompt_password;
  // Where ~/.netrc is looked for; empty: no netrc.
  std::filesystem::path netrc_file;
};

// The real process: stdin, /dev/tty and $HOME/.netrc.
CredentialIo system_credential_io();

// Fills config.session.user/password (and config.url.user, so fsname shows the login name) from the
// sources above. The error's detail is a message for the user (bad file mode, no password on stdin).
ftp::Status resolve_credentials(Config& config, const CredentialIo& io);

}  // namespace fs
