#include "fs/credentials.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "ftp/error.h"

namespace fs {
namespace {

ftp::Error invalid(std::string message) {
  return {make_error_code(ftp::Errc::bad_argument), std::move(message)};
}

bool is_anonymous(const std::string& user) {
  return user == "anonymous" || user == "ftp";
}

// Splits netrc text into tokens, dropping macdef bodies (they run until an empty line).
std::vector<std::string> netrc_tokens(std::string_view text) {
  std::vector<std::string> tokens;
  std::size_t i = 0;
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  bool skip_macro_after_name = false;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i]))
      ++i;
    if (i >= text.size())
      break;
    std::string token;
    if (text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size())
          ++i;
        token += text[i];
      }
      ++i;  // the closing quote
    } else {
      for (; i < text.size() && !is_space(text[i]); ++i) {
        if (text[i] == '\\' && i + 1 < text.size())
          ++i;
        token += text[i];
      }
    }
    if (skip_macro_after_name) {
      // The macro name was this token; the body follows on the next line until a blank line.
      skip_macro_after_name = false;
      const auto end = text.find("\n\n", i);
      i = end == std::string_view::npos ? text.size() : end + 2;
      continue;
    }
    if (token == "macdef") {
      skip_macro_after_name = true;
      continue;
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

bool private_mode(const struct stat& st) {
  return (st.st_mode & 077) == 0;
}

std::string mode_text(const struct stat& st) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return buf;
}

ftp::Result<std::string> read_whole(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return invalid("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

std::optional<std::string> stdin_line() {
  std::string line;
  if (!std::getline(std::cin, line))
    return std::nullopt;
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

std::optional<std::string> tty_prompt(const std::string& prompt) {
  const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return std::nullopt;
  termios saved{};
  const bool have_termios = ::tcgetattr(fd, &saved) == 0;
  if (have_termios) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  [[maybe_unused]] auto written = ::write(fd, prompt.data(), prompt.size());
  std::string line;
  bool ended = true;
  char c = 0;
  while (::read(fd, &c, 1) == 1) {
    if (c == '\n') {
      ended = false;
      break;
    }
    line += c;
  }
  if (have_termios)
    ::tcsetattr(fd, TCSAFLUSH, &saved);
  ::close(fd);
  if (ended && line.empty())
    return std::nullopt;
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

std::filesystem::path home_netrc() {
  if (const char* netrc = std::getenv("NETRC"); netrc && *netrc)
    return netrc;
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".netrc";
  if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_dir)
    return std::filesystem::path(pw->pw_dir) / ".netrc";
  return {};
}

}  // namespace

std::optional<NetrcEntry> find_netrc_entry(std::string_view text, std::string_view host) {
  const auto tokens = netrc_tokens(text);
  std::optional<NetrcEntry> machine;
  std::optional<NetrcEntry> fallback;
  NetrcEntry* current = nullptr;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    const bool has_value = i + 1 < tokens.size();
    if (t == "machine" && has_value) {
      const std::string& name = tokens[++i];
      // The first matching machine wins, as in ftp(1) and curl.
      current = (name == host && !machine) ? &machine.emplace() : nullptr;
    } else if (t == "default") {
      current = !fallback ? &fallback.emplace() : nullptr;
    } else if (t == "login" && has_value) {
      if (current)
        current->login = tokens[i + 1];
      ++i;
    } else if ((t == "password" || t == "passwd") && has_value) {
      if (current)
        current->password = tokens[i + 1];
      ++i;
    } else if (t == "account" && has_value) {
      ++i;
    }
  }
  return machine ? machine : fallback;
}

ftp::Result<FileCredentials> read_credentials_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return invalid("credentials file " + path.string() + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return invalid("credentials file " + path.string() + " is not a regular file");
  if (!private_mode(st)) {
    return invalid("credentials file " + path.string() + " has mode " + mode_text(st) +
                   ": group or others may read or change it; make it private with chmod 600 " +
                   path.string());
  }
  auto text = read_whole(path);
  if (!text)
    return invalid("credentials file " + path.string() + " cannot be read");
  FileCredentials out;
  std::istringstream lines(*text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    const std::string t = trim(line);
    if (t.empty() || t.front() == '#')
      continue;
    const auto eq = t.find('=');
    const std::string key = eq == std::string::npos ? t : trim(std::string_view(t).substr(0, eq));
    // The value is taken as written after '=' (a password may begin or end with spaces), minus CR.
    std::string value = eq == std::string::npos ? "" : line.substr(line.find('=') + 1);
    if (!value.empty() && value.back() == '\r')
      value.pop_back();
    if (key == "user" || key == "username" || key == "login") {
      if (value.empty())
        return invalid("credentials file " + path.string() + " line " + std::to_string(number) +
                       ": empty user name");
      out.user = value;
    } else if (key == "password" || key == "pass") {
      out.password = value;
    } else {
      // Never echo the line: it may be a password with a typo in its key.
      return invalid("credentials file " + path.string() + " line " + std::to_string(number) +
                     ": expected user=NAME or password=SECRET");
    }
  }
  if (!out.user && !out.password)
    return invalid("credentials file " + path.string() + " has neither a user= nor a password= line");
  return out;
}

CredentialIo system_credential_io() {
  CredentialIo io;
  io.read_stdin_line = stdin_line;
  io.stdin_is_terminal = [] { return ::isatty(STDIN_FILENO) == 1; };
  io.prompt_password = tty_prompt;
  io.netrc_file = home_netrc();
  return io;
}

ftp::Status resolve_credentials(Config& config, const CredentialIo& io) {
  std::optional<std::string> user = config.url.user;
  std::optional<std::string> password = config.url.password;

  if (config.password_stdin && !password) {
    auto line = io.read_stdin_line ? io.read_stdin_line() : std::nullopt;
    if (!line)
      return invalid("password_stdin: standard input ended before a password line");
    password = std::move(*line);
  }

  if (!config.credentials_file.empty()) {
    auto file = read_credentials_file(config.credentials_file);
    if (!file)
      return file.error();
    if (file->user) {
      if (user && *user != *file->user) {
        return invalid("credentials file " + config.credentials_file.string() + " is for user '" +
                       *file->user + "' but the URL or -o user= says '" + *user + "'");
      }
      user = file->user;
    }
    if (!password)
      password = file->password;
  }

  if (!password && config.use_netrc && !io.netrc_file.empty()) {
    struct stat st {};
    if (::stat(io.netrc_file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      auto text = read_whole(io.netrc_file);
      if (!text)
        return text.error();
      auto entry = find_netrc_entry(*text, config.url.host);
      if (entry && (!user || !entry->login || *entry->login == *user)) {
        // As ftp(1) does: a password in a file others can read is a leak waiting to happen.
        if (entry->password && !private_mode(st)) {
          return invalid(io.netrc_file.string() + " has mode " + mode_text(st) +
                         " and holds a password: group or others may read it; chmod 600 " +
                         io.netrc_file.string() + " (or use -o no_netrc)");
        }
        if (!user && entry->login)
          user = entry->login;
        password = entry->password;
      }
    }
  }

  if (!password && user && !is_anonymous(*user) && io.stdin_is_terminal && io.stdin_is_terminal() &&
      io.prompt_password) {
    auto typed = io.prompt_password("Password for " + *user + "@" + config.url.host + ": ");
    if (!typed)
      return invalid("no password entered");
    password = std::move(*typed);
  }

  auto& s = config.session;
  if (user) {
    config.url.user = user;
    s.user = *user;
    s.password = password.value_or(is_anonymous(*user) ? "anonymous@" : "");
  } else {
    s.user = "anonymous";
    s.password = password.value_or("anonymous@");
  }
  return {};
}

}  // namespace fs
