#include "tests/support/test_env.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace testsupport {

bool require_all() {
  const char* v = std::getenv("FTPFS_REQUIRE_ALL");
  return v != nullptr && std::strcmp(v, "0") != 0 && *v != '\0';
}

std::string missing_fuse() {
  if (access("/dev/fuse", R_OK | W_OK) != 0)
    return "/dev/fuse is not accessible";
  if (access("/usr/bin/fusermount3", X_OK) != 0 && access("/bin/fusermount3", X_OK) != 0)
    return "fusermount3 is not installed (package fuse3)";
  return {};
}

std::string missing_vsftpd() {
  if (access("/usr/sbin/vsftpd", X_OK) != 0)
    return "vsftpd is not installed (/usr/sbin/vsftpd)";
  if (geteuid() != 0)
    return "vsftpd needs root to run";
  return {};
}

}  // namespace testsupport
