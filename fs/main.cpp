// ftpfs: mount an FTP server as a local directory.
//
// Startup order (design.md §4): parse options, log in once in the foreground so that a wrong
// password or an unreachable host fails here with a clear message and a non-zero exit, then mount,
// daemonize, and start the I/O thread in FUSE init (threads do not survive the fork).

#include <malloc.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fs/credentials.h"
#include "fs/fuse_adapter.h"
#include "fs/logging.h"
#include "fs/mounted_filesystem.h"
#include "fs/options.h"

namespace {

enum ExitStatus { kOk = 0, kUsage = 1, kConnect = 2, kMount = 3 };

// Overwrites a password in the URL argument so it does not show in /proc/PID/cmdline.
void scrub_password(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    char* arg = argv[i];
    if (std::strncmp(arg, "ftp://", 6) != 0)
      continue;
    char* authority = arg + 6;
    char* slash = std::strchr(authority, '/');
    char* end = slash ? slash : authority + std::strlen(authority);
    char* at = nullptr;
    for (char* p = authority; p < end; ++p) {
      if (*p == '@')
        at = p;
    }
    if (!at)
      continue;
    char* colon = static_cast<char*>(std::memchr(authority, ':', static_cast<std::size_t>(at - authority)));
    if (!colon)
      continue;
    for (char* p = colon + 1; p < at; ++p)
      *p = '*';
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Cache blocks are allocated and freed all the time. Above glibc's default thresholds each one is
  // a fresh mmap (page faults, zeroing) and freeing gives it straight back to the kernel.
  mallopt(M_MMAP_THRESHOLD, 8 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  std::vector<std::string> args(argv, argv + argc);
  const std::string program = "ftpfs";
  auto parsed = fs::parse_options(args);
  if (!parsed) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), parsed.error().detail.c_str());
    return kUsage;
  }
  fs::Config config = std::move(*parsed);
  if (config.show_help) {
    std::fputs(fs::usage_text(program).c_str(), stdout);
    return kOk;
  }
  if (config.show_version) {
    std::printf("ftpfs %s\n", FTPFS_VERSION);
    return kOk;
  }
  scrub_password(argc, argv);
  if (auto login = fs::resolve_credentials(config, fs::system_credential_io()); !login) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), login.error().detail.c_str());
    return kUsage;
  }
  fs::setup_logging(config.loglevel, /*to_syslog=*/false);

  {
    auto preflight = fs::MountedFilesystem::start(config);
    if (!preflight) {
      std::fprintf(stderr, "%s: %s: %s\n", program.c_str(), config.url.display().c_str(),
                   preflight.error().message().c_str());
      return kConnect;
    }
  }
  const int status = fs::run_fuse(config);
  return status == 3 ? kMount : status;
}
