#include "tests/support/file_data.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

namespace testsupport {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i < n; i += 8) {
    const auto v = rng();
    std::memcpy(s.data() + i, &v, std::min<std::size_t>(8, n - i));
  }
  return s;
}

WriteOutcome write_through(const std::filesystem::path& path, const std::string& data, int flags,
                           std::size_t chunk) {
  WriteOutcome out;
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) {
    out.open_errno = errno;
    return out;
  }
  for (std::size_t off = 0; off < data.size();) {
    const ssize_t n = ::write(fd, data.data() + off, std::min(chunk, data.size() - off));
    if (n < 0) {
      out.write_errno = errno;
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0)
    out.close_errno = errno;
  return out;
}

}  // namespace testsupport
