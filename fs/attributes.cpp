#include "fs/attributes.h"

#include <chrono>

namespace fs {

cache::FileAttributes to_attributes(const ftp::DirEntry& entry) {
  cache::FileAttributes a;
  switch (entry.type) {
    case ftp::FileType::directory:
      a.kind = cache::FileKind::directory;
      break;
    case ftp::FileType::symlink:
      a.kind = cache::FileKind::symlink;
      break;
    default:
      a.kind = cache::FileKind::file;
      break;
  }
  a.size = entry.size.value_or(0);
  if (entry.mtime)
    a.mtime = *entry.mtime;
  a.mode = entry.mode.value_or(0) & 07777;
  a.link_target = entry.link_target;
  if (a.kind == cache::FileKind::symlink)
    a.size = a.link_target.size();
  return a;
}

struct stat to_stat(const cache::FileAttributes& a, const Ownership& owner, std::size_t io_size) {
  struct stat st {};
  switch (a.kind) {
    case cache::FileKind::directory:
      st.st_mode = S_IFDIR | (a.mode ? a.mode : 0755);
      st.st_nlink = 2;
      break;
    case cache::FileKind::symlink:
      st.st_mode = S_IFLNK | 0777;
      st.st_nlink = 1;
      break;
    case cache::FileKind::file:
      st.st_mode = S_IFREG | (a.mode ? a.mode : 0644);
      st.st_nlink = 1;
      break;
  }
  st.st_uid = owner.uid;
  st.st_gid = owner.gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = static_cast<blksize_t>(io_size);
  st.st_blocks = static_cast<blkcnt_t>((a.size + 511) / 512);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(a.mtime.time_since_epoch()).count();
  st.st_mtim.tv_sec = static_cast<time_t>(ns / 1000000000);
  st.st_mtim.tv_nsec = static_cast<long>(ns % 1000000000);
  st.st_atim = st.st_mtim;
  st.st_ctim = st.st_mtim;
  return st;
}

}  // namespace fs
