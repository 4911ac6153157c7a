#pragma once
// What the cache remembers about a path. fs/ converts the client's entries into this, so cache/
// needs nothing from ftp/.

#include <chrono>
#include <cstdint>
#include <string>

namespace cache {

enum class FileKind { file, directory, symlink };

struct FileAttributes {
  FileKind kind = FileKind::file;
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point mtime{};
  std::uint32_t mode = 0;  // permission bits; 0 = unknown (fs/ picks a default)
  std::string link_target;

  bool operator==(const FileAttributes&) const = default;
};

// Identifies one version of a file's content: blocks cached for one version are never served for
// another.
struct FileVersion {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;

  bool operator==(const FileVersion&) const = default;
};

inline FileVersion version_of(const FileAttributes& a) {
  return {a.size, std::chrono::duration_cast<std::chrono::nanoseconds>(a.mtime.time_since_epoch()).count()};
}

}  // namespace cache
