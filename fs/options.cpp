#include "fs/options.h"

#include <fuse_opt.h>
#include <iconv.h>
#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include "ftp/error.h"

namespace fs {
namespace {

// What fuse_opt fills in. Strings are malloc'ed by fuse_opt and freed here.
struct RawOptions {
  char* url = nullptr;
  char* mountpoint = nullptr;
  char* connections = nullptr;
  char* cache_timeout = nullptr;
  char* negative_timeout = nullptr;
  char* cache_dir = nullptr;
  char* cache_size = nullptr;
  char* memory_cache = nullptr;
  char* block_size = nullptr;
  char* readahead = nullptr;
  char* connect_timeout = nullptr;
  char* timeout = nullptr;
  char* user = nullptr;
  char* encoding = nullptr;
  char* loglevel = nullptr;
  char* active_address = nullptr;
  char* credentials = nullptr;
  int password_stdin = 0;
  int no_netrc = 0;
  int retry_pending = 0;
  int active = 0;
  int no_epsv = 0;
  int trust_pasv = 0;
  int foreground = 0;
  int single_thread = 0;
  int debug = 0;
  int help = 0;
  int version = 0;
  std::vector<std::string> errors;
  int positional = 0;

  ~RawOptions() {
    for (char* p : {url, mountpoint, connections, cache_timeout, negative_timeout, cache_dir, cache_size,
                    memory_cache, block_size, readahead, connect_timeout, timeout, user, encoding, loglevel,
                    active_address, credentials}) {
      std::free(p);
    }
  }
};

enum Key { kKeyDiscard = 100, kKeyKeepForFuse };

#define FTPFS_OPT(templ, field, value) \
  { templ, offsetof(RawOptions, field), value }
const fuse_opt kOptions[] = {
    FTPFS_OPT("connections=%s", connections, 0),
    FTPFS_OPT("cache_timeout=%s", cache_timeout, 0),
    FTPFS_OPT("negative_cache_timeout=%s", negative_timeout, 0),
    FTPFS_OPT("cache_dir=%s", cache_dir, 0),
    FTPFS_OPT("cache_size=%s", cache_size, 0),
    FTPFS_OPT("memory_cache=%s", memory_cache, 0),
    FTPFS_OPT("block_size=%s", block_size, 0),
    FTPFS_OPT("readahead=%s", readahead, 0),
    FTPFS_OPT("connect_timeout=%s", connect_timeout, 0),
    FTPFS_OPT("timeout=%s", timeout, 0),
    FTPFS_OPT("user=%s", user, 0),
    FTPFS_OPT("encoding=%s", encoding, 0),
    FTPFS_OPT("credentials=%s", credentials, 0),
    FTPFS_OPT("password_stdin", password_stdin, 1),
    FTPFS_OPT("no_netrc", no_netrc, 1),
    FTPFS_OPT("retry_pending", retry_pending, 1),
    FTPFS_OPT("loglevel=%s", loglevel, 0),
    FTPFS_OPT("active", active, 1),
    FTPFS_OPT("active=%s", active_address, 0),
    FTPFS_OPT("no_epsv", no_epsv, 1),
    FTPFS_OPT("trust_pasv", trust_pasv, 1),
    FTPFS_OPT("-f", foreground, 1),
    FTPFS_OPT("-s", single_thread, 1),
    FTPFS_OPT("-d", debug, 1),
    FTPFS_OPT("debug", debug, 1),
    FTPFS_OPT("-h", help, 1),
    FTPFS_OPT("--help", help, 1),
    FTPFS_OPT("-V", version, 1),
    FTPFS_OPT("--version", version, 1),
    // libfuse's own debug switch: keep it for fuse_new too.
    FUSE_OPT_KEY("-d", kKeyKeepForFuse),
    FUSE_OPT_KEY("debug", kKeyKeepForFuse),
    // Words that only mean something to mount(8), fstab or systemd.
    FUSE_OPT_KEY("_netdev", kKeyDiscard),
    FUSE_OPT_KEY("noauto", kKeyDiscard),
    FUSE_OPT_KEY("auto", kKeyDiscard),
    FUSE_OPT_KEY("user", kKeyDiscard),
    FUSE_OPT_KEY("nouser", kKeyDiscard),
    FUSE_OPT_KEY("users", kKeyDiscard),
    FUSE_OPT_KEY("nofail", kKeyDiscard),
    FUSE_OPT_KEY("defaults", kKeyDiscard),
    FUSE_OPT_END,
};
#undef FTPFS_OPT

// Options libfuse understands itself (fuse_new's and the mount's); everything else is an error, so
// that a typo is reported instead of silently ignored.
bool known_to_libfuse(std::string_view opt) {
  static constexpr std::string_view kPrefixes[] = {"allow_other",
                                                   "allow_root",
                                                   "default_permissions",
                                                   "uid=",
                                                   "gid=",
                                                   "umask=",
                                                   "fsname=",
                                                   "subtype=",
                                                   "ro",
                                                   "rw",
                                                   "dev",
                                                   "nodev",
                                                   "suid",
                                                   "nosuid",
                                                   "exec",
                                                   "noexec",
                                                   "atime",
                                                   "noatime",
                                                   "relatime",
                                                   "norelatime",
                                                   "strictatime",
                                                   "sync",
                                                   "async",
                                                   "dirsync",
                                                   "auto_unmount",
                                                   "max_read=",
                                                   "blkdev",
                                                   "blksize=",
                                                   "entry_timeout=",
                                                   "attr_timeout=",
                                                   "negative_timeout=",
                                                   "max_idle_threads=",
                                                   "max_threads=",
                                                   "clone_fd",
                                                   "hard_remove",
                                                   "use_ino",
                                                   "readdir_ino",
                                                   "direct_io",
                                                   "kernel_cache",
                                                   "auto_cache",
                                                   "noauto_cache",
                                                   "ac_attr_timeout=",
                                                   "intr",
                                                   "intr_signal=",
                                                   "modules=",
                                                   "nonempty"};
  for (std::string_view p : kPrefixes) {
    if (p.back() == '=' ? opt.substr(0, p.size()) == p : opt == p)
      return true;
  }
  return false;
}

int process_option(void* data, const char* arg, int key, fuse_args* /*outargs*/) {
  auto* raw = static_cast<RawOptions*>(data);
  const std::string_view opt(arg);
  switch (key) {
    case kKeyDiscard:
      return 0;
    case kKeyKeepForFuse:
      return 1;
    case FUSE_OPT_KEY_NONOPT:
      if (raw->positional == 0) {
        raw->url = strdup(arg);
      } else if (raw->positional == 1) {
        raw->mountpoint = strdup(arg);
      } else {
        raw->errors.push_back("unexpected argument '" + std::string(opt) + "'");
      }
      ++raw->positional;
      return 0;
    case FUSE_OPT_KEY_OPT:
      // x-systemd.automount, x-gvfs-show, comment=...: userspace-only words for other programs.
      if (opt.substr(0, 2) == "x-" || opt.substr(0, 2) == "X-" || opt.substr(0, 8) == "comment=")
        return 0;
      if (known_to_libfuse(opt))
        return 1;
      if (opt.substr(0, 9) == "password=") {
        // Not an option on purpose: the command line is world-readable in /proc and ps.
        raw->errors.push_back(
            "there is no password= option (the command line is visible to every user); use "
            "credentials=FILE, password_stdin, ~/.netrc or the password prompt");
        return 0;
      }
      raw->errors.push_back("unknown option '" + std::string(opt) + "' (see ftpfs --help)");
      return 0;
    default:
      return 1;
  }
}

ftp::Error invalid(std::string message) {
  return {make_error_code(ftp::Errc::bad_argument), std::move(message)};
}

// Seconds, possibly fractional ("2.5"), within [0, max].
bool parse_seconds(const char* text, double max, std::chrono::milliseconds& out) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v >= 0) || v > max)
    return false;
  out = std::chrono::milliseconds(static_cast<long long>(v * 1000));
  return true;
}

// A byte count: plain number in the given default unit, or with a K/M/G suffix.
bool parse_size(const char* text, std::uint64_t default_unit, std::uint64_t& out) {
  std::string_view s(text);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end == s.data())
    return false;
  std::string_view suffix(end, static_cast<std::size_t>(s.data() + s.size() - end));
  std::uint64_t unit = default_unit;
  if (suffix == "K" || suffix == "k" || suffix == "KiB")
    unit = 1ull << 10;
  else if (suffix == "M" || suffix == "m" || suffix == "MiB")
    unit = 1ull << 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB")
    unit = 1ull << 30;
  else if (!suffix.empty())
    return false;
  if (value > (~0ull) / unit)
    return false;
  out = value * unit;
  return true;
}

std::filesystem::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "ftpfs";
  if (geteuid() == 0)
    return "/var/cache/ftpfs";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".cache/ftpfs";
  // mount(8) clears HOME before it runs mount.fuse3; the password database still knows it.
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_dir && *pw->pw_dir)
    return std::filesystem::path(pw->pw_dir) / ".cache/ftpfs";
  return std::filesystem::temp_directory_path() / ("ftpfs-" + std::to_string(geteuid()));
}

}  // namespace

std::string usage_text(const std::string& program) {
  return "usage: " + program + R"( URL MOUNTPOINT [-o option[,option...]] [-f] [-d] [-s]

URL: ftp://[user[:password]@]host[:port][/path]   (path is relative to the login directory)

ftpfs options (-o name=value):
    connections=N            control connections to the server at most (default 4)
    cache_timeout=SECS       trust cached attributes and listings this long (default 10)
    negative_cache_timeout=SECS  trust "no such file" answers this long (default 5)
    cache_dir=DIR            block cache, write staging and pending uploads
                             (default $XDG_CACHE_HOME/ftpfs, /var/cache/ftpfs for root, ~/.cache/ftpfs)
    cache_size=SIZE          disk block cache budget (default 1G; K/M/G suffixes, plain number = MiB)
    memory_cache=SIZE        memory block cache budget (default 256M)
    block_size=SIZE          cache block size (default 256K; plain number = KiB)
    readahead=SIZE           sequential readahead window at most (default 64M)
    connect_timeout=SECS     connecting and logging in (default 10)
    timeout=SECS             a reply or data progress must come within this (default 30)
    user=NAME                login name (default: from the URL, the credentials file or
                             ~/.netrc, else anonymous)
    password_stdin           read the password from the first line of standard input (default off)
    credentials=FILE         file with user=NAME and password=SECRET lines; must not be readable
                             or writable by group or others (default none)
    no_netrc                 do not look up ~/.netrc (default: use it when no password is given)
    retry_pending            upload again what earlier mounts kept in cache_dir/pending (default: only report it)
    encoding=CHARSET         server file name encoding, any iconv name (default UTF-8)
    active[=ADDRESS]         active mode (PORT/EPRT) instead of passive
    no_epsv                  use PASV only
    trust_pasv               connect to the address in the PASV reply (default: the server's address)
    loglevel=LEVEL           trace, debug, info, warn, error (default info)

general options:
    -f                       stay in the foreground
    -d, -o debug             debug output (implies -f)
    -s                       single-threaded
    -h, --help               this text
    -V, --version            version

libfuse options such as allow_other, default_permissions, uid=N, gid=N, umask=M, ro, auto_unmount are
passed on to libfuse. fstab-only words (_netdev, noauto, nofail, user, users, x-*, comment=) are ignored.
)";
}

ftp::Result<Config> parse_options(const std::vector<std::string>& argv) {
  std::vector<char*> raw_argv;
  for (const auto& a : argv)
    raw_argv.push_back(const_cast<char*>(a.c_str()));
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(raw_argv.size()), raw_argv.data());
  RawOptions raw;
  if (fuse_opt_parse(&args, &raw, kOptions, process_option) != 0) {
    fuse_opt_free_args(&args);
    return invalid("could not parse the options");
  }
  Config config;
  for (int i = 0; i < args.argc; ++i)
    config.fuse_args.emplace_back(args.argv[i]);
  fuse_opt_free_args(&args);

  config.show_help = raw.help != 0;
  config.show_version = raw.version != 0;
  if (config.show_help || config.show_version)
    return config;
  if (!raw.errors.empty())
    return invalid(raw.errors.front());
  if (raw.url == nullptr)
    return invalid("missing URL (see ftpfs --help)");
  if (raw.mountpoint == nullptr)
    return invalid("missing mount point (see ftpfs --help)");

  auto url = parse_ftp_url(raw.url);
  if (!url)
    return url.error();
  config.url = std::move(*url);
  // Absolute, because the daemon changes to / before anything else looks at the path again.
  std::error_code absolute_ec;
  const auto absolute = std::filesystem::absolute(raw.mountpoint, absolute_ec);
  config.mountpoint = absolute_ec ? std::string(raw.mountpoint) : absolute.string();

  config.foreground = raw.foreground != 0 || raw.debug != 0;
  config.debug = raw.debug != 0;
  config.single_thread = raw.single_thread != 0;
  if (raw.debug)
    config.loglevel = "debug";
  if (raw.loglevel) {
    const std::string_view l(raw.loglevel);
    if (l != "trace" && l != "debug" && l != "info" && l != "warn" && l != "error" && l != "off")
      return invalid("loglevel must be one of trace, debug, info, warn, error, off");
    config.loglevel = l;
  }

  auto& s = config.session;
  s.host = config.url.host;
  s.port = config.url.port;
  if (raw.user && *raw.user == '\0')
    return invalid("user needs a login name, e.g. user=alice");
  if (raw.user)
    config.url.user = raw.user;
  if (config.url.user) {
    s.user = *config.url.user;
    s.password = config.url.password.value_or("");
  }
  if (raw.connections) {
    std::uint64_t n = 0;
    const std::string_view text(raw.connections);
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n < 1 || n > 64)
      return invalid("connections must be a whole number from 1 to 64");
    s.max_sessions = static_cast<unsigned>(n);
  }
  if (raw.active)
    s.data_mode = ftp::DataMode::active;
  if (raw.active_address) {
    s.data_mode = ftp::DataMode::active;
    s.active_address = raw.active_address;
  }
  s.use_epsv = raw.no_epsv == 0;
  s.trust_pasv_address = raw.trust_pasv != 0;
  if (raw.encoding) {
    if (*raw.encoding == '\0')
      return invalid("encoding needs a character set name, e.g. encoding=GBK");
    // Check the name now: a typo should fail the mount, not every directory listing later.
    const iconv_t cd = iconv_open("UTF-8", raw.encoding);
    if (cd == reinterpret_cast<iconv_t>(-1))
      return invalid("encoding '" + std::string(raw.encoding) +
                     "' is not a character set iconv knows (try iconv -l)");
    iconv_close(cd);
    s.encoding = raw.encoding;
  }
  config.password_stdin = raw.password_stdin != 0;
  config.use_netrc = raw.no_netrc == 0;
  config.retry_pending = raw.retry_pending != 0;
  if (raw.credentials) {
    if (*raw.credentials == '\0')
      return invalid("credentials needs a file name, e.g. credentials=/etc/ftpfs/host.cred");
    config.credentials_file = raw.credentials;
  }

  if (raw.cache_timeout && !parse_seconds(raw.cache_timeout, 86400, config.cache_timeout))
    return invalid("cache_timeout must be a number of seconds from 0 to 86400");
  if (raw.negative_timeout && !parse_seconds(raw.negative_timeout, 86400, config.negative_timeout))
    return invalid("negative_cache_timeout must be a number of seconds from 0 to 86400");
  if (raw.connect_timeout &&
      (!parse_seconds(raw.connect_timeout, 3600, s.connect_timeout) || s.connect_timeout.count() == 0))
    return invalid("connect_timeout must be a number of seconds from 0.001 to 3600");
  if (raw.timeout) {
    if (!parse_seconds(raw.timeout, 3600, s.command_timeout) || s.command_timeout.count() == 0)
      return invalid("timeout must be a number of seconds from 0.001 to 3600");
    s.data_timeout = s.command_timeout;
  }

  std::uint64_t bytes = 0;
  if (raw.cache_size) {
    if (!parse_size(raw.cache_size, 1ull << 20, bytes))
      return invalid("cache_size must be a size like 512M or 2G");
    config.disk_cache_bytes = bytes;
  }
  if (raw.memory_cache) {
    if (!parse_size(raw.memory_cache, 1ull << 20, bytes) || bytes < (1u << 20))
      return invalid("memory_cache must be a size of at least 1M");
    config.memory_cache_bytes = bytes;
  }
  if (raw.block_size) {
    if (!parse_size(raw.block_size, 1ull << 10, bytes) || bytes < (4u << 10) || bytes > (16u << 20))
      return invalid("block_size must be between 4K and 16M");
    config.block_size = bytes;
  }
  if (raw.readahead) {
    if (!parse_size(raw.readahead, 1ull << 20, bytes) || bytes > (1ull << 30))
      return invalid("readahead must be a size of at most 1G");
    config.readahead_bytes = bytes;
  }
  config.cache_dir = raw.cache_dir ? std::filesystem::path(raw.cache_dir) : default_cache_dir();
  return config;
}

}  // namespace fs
