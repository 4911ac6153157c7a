#pragma once
// What ftp/ knows about one directory entry: the only metadata type it exports.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ftp {

enum class FileType { file, directory, symlink, other };

struct DirEntry {
  std::string name;  // one path component, never "", ".", ".." or containing '/' or NUL
  FileType type = FileType::file;
  std::optional<std::uint64_t> size;
  std::optional<std::chrono::system_clock::time_point> mtime;  // UTC
  bool mtime_exact = false;                                    // MLSD/MDTM: to the second; LIST: approximate
  std::optional<std::uint32_t> mode;                           // permission bits (07777) when known
  std::string link_target;                                     // for symlinks, when the listing says
  std::string unique;                                          // MLSx "unique" fact, when offered
};

}  // namespace ftp
