#pragma once
// What the environment allows: tests that need /dev/fuse or vsftpd skip where those are missing,
// except under CI (FTPFS_REQUIRE_ALL=1), where a missing prerequisite is a failure.

#include <string>

namespace testsupport {

// True when CI asked that nothing be skipped for a missing prerequisite.
bool require_all();

// Empty when the prerequisite is there; otherwise why not.
std::string missing_fuse();
std::string missing_vsftpd();

}  // namespace testsupport

// Skips the test (or fails it under FTPFS_REQUIRE_ALL) when `why` is non-empty.
#define FTPFS_REQUIRE(why_expr)                           \
  do {                                                    \
    const std::string ftpfs_why_ = (why_expr);            \
    if (!ftpfs_why_.empty()) {                            \
      if (::testsupport::require_all())                   \
        FAIL() << "prerequisite missing: " << ftpfs_why_; \
      GTEST_SKIP() << ftpfs_why_;                         \
    }                                                     \
  } while (0)
