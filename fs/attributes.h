#pragma once
// Conversions between the client's entries, the cache's attributes and struct stat.

#include <sys/stat.h>
#include <sys/types.h>

#include "cache/file_attributes.h"
#include "ftp/dir_entry.h"

namespace fs {

struct Ownership {
  uid_t uid = 0;
  gid_t gid = 0;
};

cache::FileAttributes to_attributes(const ftp::DirEntry& entry);
// Fills a struct stat; modes the server did not tell default to 0644 (files), 0755 (directories).
struct stat to_stat(const cache::FileAttributes& attributes, const Ownership& owner, std::size_t io_size);

}  // namespace fs
