#pragma once
// Test data and writes through a file descriptor, shared by the mount tests.

#include <fcntl.h>

#include <cstddef>
#include <filesystem>
#include <string>

namespace testsupport {

// n pseudo-random bytes, the same for the same seed.
std::string random_bytes(std::size_t n, unsigned seed);

// The errno of each step of open, write everything, close; 0 where the step succeeded.
struct WriteOutcome {
  int open_errno = 0;
  int write_errno = 0;
  int close_errno = 0;
};

// open(path, flags | O_CLOEXEC, 0644), write all of data in chunks, close.
WriteOutcome write_through(const std::filesystem::path& path, const std::string& data,
                           int flags = O_WRONLY | O_CREAT | O_TRUNC, std::size_t chunk = 128 * 1024);

}  // namespace testsupport
