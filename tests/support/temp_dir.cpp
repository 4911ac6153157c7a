#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace testsupport {

TempDir::TempDir(std::string_view prefix) {
  std::string pattern = "/tmp/";
  pattern.append(prefix);
  pattern.append("-XXXXXX");
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr)
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  path_ = buffer.data();
}

TempDir::~TempDir() {
  // Never follows symlinks out of the tree; errors are ignored because a destructor cannot report them
  // and a leftover directory in /tmp is harmless.
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace testsupport
