#include "fs/operations.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <unistd.h>

#include <cerrno>

#include "fs/remote_path.h"
#include "ftp/error.h"

namespace fs {

struct Operations::OpenFile {
  std::string remote_path;
  std::unique_ptr<cache::FileReader> reader;
};

namespace {

ftp::Error errno_error(int e, std::string detail = {}) {
  return {std::error_code(e, std::generic_category()), std::move(detail)};
}

}  // namespace

Operations::Operations(OperationsConfig config, ftp::Client& client, cache::MetadataCache& metadata,
                       cache::BlockCache& blocks)
    : config_(std::move(config)),
      client_(client),
      metadata_(metadata),
      blocks_(blocks),
      source_(client),
      fetches_(cache::make_fetch_table()) {}

Operations::~Operations() = default;

std::string Operations::remote(std::string_view path) const {
  return join_remote(config_.remote_root, path);
}

struct stat Operations::stat_of(const cache::FileAttributes& a) const {
  return to_stat(a, config_.owner, blocks_.block_size());
}

ftp::Result<cache::FileAttributes> Operations::attributes(std::string_view path) {
  const std::string key = remote(path);
  const auto hit = metadata_.lookup(key);
  if (hit.hit == cache::MetadataCache::Hit::found)
    return hit.attributes;
  if (hit.hit == cache::MetadataCache::Hit::absent)
    return ftp::Error{ftp::Errc::not_found, key};
  return fresh_attributes(path);
}

ftp::Result<cache::FileAttributes> Operations::fresh_attributes(std::string_view path) {
  const std::string key = remote(path);
  const auto token = metadata_.fetch_token();
  auto entry = client_.stat(key);
  if (!entry) {
    if (entry.code() == ftp::Errc::not_found)
      metadata_.store_absent(key, token);
    return entry.error();
  }
  auto attrs = to_attributes(*entry);
  // The mount's root is a directory even when the server's answer for it is odd.
  if (path == "/" || path.empty())
    attrs.kind = cache::FileKind::directory;
  metadata_.store_attributes(key, attrs, token);
  return attrs;
}

ftp::Result<std::shared_ptr<const cache::Listing>> Operations::listing(std::string_view path) {
  const std::string key = remote(path);
  if (auto cached = metadata_.listing(key))
    return cached;
  const auto token = metadata_.fetch_token();
  auto entries = client_.list(key);
  if (!entries)
    return entries.error();
  cache::Listing listing;
  listing.reserve(entries->size());
  for (const auto& e : *entries)
    listing.emplace_back(e.name, to_attributes(e));
  auto shared = std::make_shared<const cache::Listing>(listing);
  metadata_.store_listing(key, std::move(listing), token);
  return shared;
}

ftp::Result<struct stat> Operations::getattr(std::string_view path) {
  auto attrs = attributes(path);
  if (!attrs)
    return attrs.error();
  return stat_of(*attrs);
}

ftp::Result<Operations::DirListing> Operations::readdir(std::string_view path) {
  auto entries = listing(path);
  if (!entries) {
    // A listing of something that is not a directory: say so precisely.
    if (auto attrs = attributes(path); attrs && attrs->kind != cache::FileKind::directory)
      return errno_error(ENOTDIR, remote(path));
    return entries.error();
  }
  DirListing out;
  out.reserve((*entries)->size());
  for (const auto& [name, attrs] : **entries)
    out.emplace_back(name, stat_of(attrs));
  return out;
}

ftp::Result<std::string> Operations::readlink(std::string_view path) {
  auto attrs = attributes(path);
  if (!attrs)
    return attrs.error();
  if (attrs->kind != cache::FileKind::symlink)
    return errno_error(EINVAL, remote(path));
  if (attrs->link_target.empty())
    return errno_error(EIO, "the server did not say where " + remote(path) + " points");
  return attrs->link_target;
}

ftp::Status Operations::access(std::string_view path, int mask) {
  auto attrs = attributes(path);
  if (!attrs)
    return attrs.error();
  // The server decides on each operation; here only the obvious is refused.
  if ((mask & X_OK) && attrs->kind == cache::FileKind::file && attrs->mode != 0 && (attrs->mode & 0111) == 0)
    return errno_error(EACCES);
  return {};
}

ftp::Result<struct statvfs> Operations::statfs() {
  // FTP has no way to ask for free space; report a large, stable figure so tools that check for
  // room before writing (cp, rsync) proceed, and the server's 552 reports a real shortage.
  struct statvfs st {};
  st.f_bsize = blocks_.block_size();
  st.f_frsize = st.f_bsize;
  st.f_blocks = (1ull << 50) / st.f_frsize;
  st.f_bfree = st.f_blocks;
  st.f_bavail = st.f_blocks;
  st.f_files = 1u << 30;
  st.f_ffree = 1u << 30;
  st.f_favail = 1u << 30;
  st.f_namemax = 255;
  return st;
}

ftp::Result<std::uint64_t> Operations::open(std::string_view path, int flags) {
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
    return errno_error(EROFS, "writing is not supported yet");
  auto attrs = attributes(path);
  if (!attrs)
    return attrs.error();
  if (attrs->kind == cache::FileKind::directory)
    return errno_error(EISDIR, remote(path));
  auto file = std::make_shared<OpenFile>();
  file->remote_path = remote(path);
  file->reader = std::make_unique<cache::FileReader>(blocks_, source_, fetches_, file->remote_path,
                                                     cache::version_of(*attrs), config_.readahead);
  const std::uint64_t handle = next_handle_++;
  std::lock_guard lock(handles_mutex_);
  handles_.emplace(handle, std::move(file));
  return handle;
}

std::shared_ptr<Operations::OpenFile> Operations::find(std::uint64_t handle) {
  std::lock_guard lock(handles_mutex_);
  auto it = handles_.find(handle);
  return it == handles_.end() ? nullptr : it->second;
}

ftp::Result<std::size_t> Operations::read(std::uint64_t handle, std::uint64_t offset, std::span<char> buf) {
  auto file = find(handle);
  if (!file)
    return errno_error(EBADF);
  std::size_t n = 0;
  if (auto ec = file->reader->read(offset, buf, n))
    return ftp::Error{ec, file->remote_path};
  return n;
}

ftp::Status Operations::release(std::uint64_t handle) {
  std::shared_ptr<OpenFile> file;
  {
    std::lock_guard lock(handles_mutex_);
    auto it = handles_.find(handle);
    if (it == handles_.end())
      return errno_error(EBADF);
    file = std::move(it->second);
    handles_.erase(it);
  }
  return {};
}

ftp::Status Operations::mkdir(std::string_view path, mode_t mode) {
  const std::string key = remote(path);
  auto status = client_.make_directory(key);
  if (!status) {
    metadata_.invalidate(key);
    if (fresh_attributes(path))
      return ftp::Error{ftp::Errc::already_exists, key};
    return status;
  }
  cache::FileAttributes attrs;
  attrs.kind = cache::FileKind::directory;
  attrs.mtime = std::chrono::system_clock::now();
  attrs.mode = mode & 07777;
  metadata_.invalidate(key);
  metadata_.update(key, attrs);
  return {};
}

ftp::Status Operations::unlink(std::string_view path) {
  const std::string key = remote(path);
  auto status = client_.remove_file(key);
  metadata_.invalidate(key);
  blocks_.invalidate(key);
  if (!status) {
    auto attrs = fresh_attributes(path);
    if (!attrs && attrs.code() == ftp::Errc::not_found)
      return ftp::Error{ftp::Errc::not_found, key};
    if (attrs && attrs->kind == cache::FileKind::directory)
      return errno_error(EISDIR, key);
    return status;
  }
  return {};
}

ftp::Status Operations::rmdir(std::string_view path) {
  const std::string key = remote(path);
  auto status = client_.remove_directory(key);
  metadata_.invalidate(key);
  if (!status) {
    // 550 is all most servers say; find out which of the usual reasons it was.
    auto attrs = fresh_attributes(path);
    if (!attrs && attrs.code() == ftp::Errc::not_found)
      return ftp::Error{ftp::Errc::not_found, key};
    if (attrs && attrs->kind != cache::FileKind::directory)
      return errno_error(ENOTDIR, key);
    if (auto entries = listing(path); entries && !(*entries)->empty())
      return ftp::Error{ftp::Errc::not_empty, key};
    return status;
  }
  return {};
}

ftp::Status Operations::rename(std::string_view from, std::string_view to, unsigned flags) {
  if (flags & RENAME_EXCHANGE)
    return errno_error(EINVAL, "FTP cannot exchange two names atomically");
  const std::string src = remote(from);
  const std::string dst = remote(to);
  auto source = attributes(from);
  if (!source)
    return source.error();
  auto target = attributes(to);
  if (flags & RENAME_NOREPLACE) {
    if (target)
      return ftp::Error{ftp::Errc::already_exists, dst};
  }
  if (target && target->kind == cache::FileKind::directory && source->kind != cache::FileKind::directory)
    return errno_error(EISDIR, dst);
  if (target && target->kind != cache::FileKind::directory && source->kind == cache::FileKind::directory)
    return errno_error(ENOTDIR, dst);

  auto status = client_.rename(src, dst);
  if (!status && target && target->kind == cache::FileKind::file) {
    // Some servers refuse to rename over an existing file; POSIX rename replaces it.
    if (client_.remove_file(dst))
      status = client_.rename(src, dst);
  }
  metadata_.invalidate(src);
  metadata_.invalidate(dst);
  blocks_.invalidate(src);
  blocks_.invalidate(dst);
  if (!status)
    return status;
  return {};
}

ftp::Status Operations::chmod(std::string_view path, mode_t mode) {
  const std::string key = remote(path);
  auto attrs = attributes(path);
  if (!attrs)
    return attrs.error();
  if (attrs->kind == cache::FileKind::symlink)
    return {};  // symlinks have no mode of their own
  auto status = client_.set_mode(key, mode & 07777);
  if (!status)
    return status;
  attrs->mode = mode & 07777;
  metadata_.update(key, *attrs);
  return {};
}

ftp::Status Operations::set_mtime(std::string_view path, std::chrono::system_clock::time_point mtime) {
  const std::string key = remote(path);
  auto attrs = attributes(path);
  if (!attrs)
    return attrs.error();
  auto status = client_.set_mtime(key, mtime);
  if (!status)
    return status;
  attrs->mtime = std::chrono::time_point_cast<std::chrono::seconds>(mtime);
  metadata_.update(key, *attrs);
  blocks_.invalidate(key);
  return {};
}

}  // namespace fs
