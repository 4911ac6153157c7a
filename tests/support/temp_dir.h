#pragma once
// A private directory under /tmp for one test, removed with everything in it when the test ends.

#include <filesystem>
#include <string_view>

namespace testsupport {

class TempDir {
 public:
  // Creates /tmp/<prefix>-XXXXXX (mode 0700). Throws std::runtime_error when mkdtemp fails.
  explicit TempDir(std::string_view prefix = "ftpfs-test");
  ~TempDir();

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace testsupport
