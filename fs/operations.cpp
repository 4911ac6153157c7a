#include "fs/operations.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "fs/remote_path.h"
#include "ftp/error.h"

namespace fs {

// A file open for writing: its local stage, shared by every handle that writes the path, and a
// reader of the server's version it started from (to fill in-place changes).
struct Operations::StagedFile {
  std::string remote_path;
  cache::FileAttributes attributes;  // as last known; size follows the stage
  std::shared_ptr<cache::FileReader> original;
  std::unique_ptr<cache::WriteStage> stage;
  int handles = 0;
  bool upload_failed = false;  // the last flush failed and kept the data as pending
  std::string fuse_path;
  // chmod/utimens that arrived before the data reached the server (cp -p, rsync, tar set them on
  // the open file); an upload would undo them, so they are applied after it.
  std::optional<std::uint32_t> pending_mode;
  std::optional<std::chrono::system_clock::time_point> pending_mtime;
  // Unlinked while open: no longer under its path in staged_, never uploaded, gone at the last
  // release.
  std::atomic<bool> unlinked{false};
};

struct Operations::OpenFile {
  std::string remote_path;
  std::shared_ptr<StagedFile> staged;  // opens with write access
  bool append = false;

  // Read-only opens: a reader of the version seen at open, replaced when the mount itself changed
  // the file (an upload through another handle); see current_reader().
  std::mutex reader_mutex;
  cache::FileVersion version;
  std::shared_ptr<cache::FileReader> reader;
};

namespace {

// A server that refuses to change a mode or a time (vsftpd's anonymous users, most Windows
// servers) does not make cp -p, tar or rsync fail: the change is skipped, as documented in
// ftpfs(1). Data is never at stake here.
bool refused_metadata_change(const ftp::Status& s) {
  return ftp::is_refusal(s.code());
}

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
      target_(client,
              [this](const std::string& path, const ftp::DirEntry& entry) {
                // The size check after an upload told us the server's new attributes. Without MLST
                // it asked for the size alone (a round trip less per file): the server set the
                // mtime just now, and the next listing brings its exact value.
                auto attributes = to_attributes(entry);
                if (!entry.mtime)
                  attributes.mtime = std::chrono::system_clock::now();
                metadata_.update(path, attributes);
              }),
      fetches_(cache::make_fetch_table()),
      scan_(config_.scan),
      prefetcher_(blocks_, source_, fetches_, cache::PrefetchConfig{.streams = config_.prefetch_streams}),
      log_(spdlog::get("fs")) {
  if (!config_.staging.buffers)
    config_.staging.buffers = std::make_shared<cache::BlockBuffers>(16u << 20);
  if (!config_.staging.writer)
    config_.staging.writer = std::make_shared<cache::StagingWriter>(32u << 20);
  if (!log_)
    log_ = std::make_shared<spdlog::logger>("fs");  // no sinks: tests without logging setup
}

Operations::~Operations() {
  // Unmounting (umount, SIGTERM) with files still open for writing: upload what they wrote, or keep
  // it in the pending area when the upload fails. Nothing written is dropped with the stage.
  std::unordered_map<std::string, std::shared_ptr<StagedFile>> left;
  {
    std::lock_guard lock(handles_mutex_);
    left.swap(staged_);
  }
  for (auto& [path, staged] : left) {
    if (!staged->stage->dirty() || staged->upload_failed)
      continue;
    if (auto s = flush_stage(*staged); !s)
      log_->error("at unmount: {}", s.error().message());
    else
      log_->info("at unmount: uploaded {}, which was still open for writing", path);
  }
}

std::string Operations::remote(std::string_view path) const {
  return join_remote(config_.remote_root, path);
}

struct stat Operations::stat_of(const cache::FileAttributes& a) const {
  // The preferred I/O size tools take for their buffers (cp, cat): one FUSE request of the largest
  // size the kernel sends us (max_write) rather than several smaller ones.
  constexpr std::size_t kPreferredIo = 1u << 20;
  return to_stat(a, config_.owner, std::max(blocks_.block_size(), kPreferredIo));
}

ftp::Result<cache::FileAttributes> Operations::attributes(std::string_view path) {
  const std::string key = remote(path);
  const auto hit = metadata_.lookup(key);
  if (hit.hit == cache::MetadataCache::Hit::found)
    return hit.attributes;
  if (hit.hit == cache::MetadataCache::Hit::absent)
    return ftp::Error{ftp::Errc::not_found, key};
  // One listing of the parent answers this lookup and every sibling's (find, ls -l, cp -r into an
  // existing directory), where a stat per name would cost round trips each.
  if (path != "/" && !path.empty()) {
    bool listed = false;
    if (auto found = from_parent_listing(path, &listed))
      return *found;
    // The name may be one the listing does not show (servers hide some names from listings): ask
    // for it, without the listing once more (on a server without MLST, a new name's lookup cost
    // SIZE, CWD and that listing).
    if (listed)
      return fresh_attributes(path, true);
  }
  return fresh_attributes(path);
}

ftp::Result<cache::FileAttributes> Operations::fresh_attributes(std::string_view path, bool unlisted) {
  const std::string key = remote(path);
  const auto token = metadata_.fetch_token();
  const bool root = path == "/" || path.empty();
  if (root && !client_.features().mlst) {
    // Without MLST a server tells no more about the mount's root than that it is a directory, which
    // the mount checked: SIZE, CWD and CWD back cost three round trips for nothing new.
    ftp::DirEntry dir;
    dir.type = ftp::FileType::directory;
    auto attrs = to_attributes(dir);
    metadata_.store_attributes(key, attrs, token);
    return attrs;
  }
  auto entry = unlisted ? client_.stat_unlisted(key) : client_.stat(key);
  if (!entry) {
    if (entry.code() == ftp::Errc::not_found)
      metadata_.store_absent(key, token);
    return entry.error();
  }
  auto attrs = to_attributes(*entry);
  // The mount's root is a directory even when the server's answer for it is odd.
  if (root)
    attrs.kind = cache::FileKind::directory;
  if (!entry->mtime && !root) {
    // Without MLST a directory has no MDTM on most servers; its parent's listing has a time.
    if (auto listed = from_parent_listing(path))
      return *listed;
  }
  metadata_.store_attributes(key, attrs, token);
  return attrs;
}

std::optional<cache::FileAttributes> Operations::from_parent_listing(std::string_view path, bool* listed) {
  auto siblings = listing(parent_path(path));
  if (!siblings)
    return std::nullopt;
  if (listed != nullptr)
    *listed = true;
  const std::string_view name = base_name(path);
  for (const auto& [n, a] : **siblings) {
    if (n == name)
      return a;
  }
  return std::nullopt;
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

ftp::Result<struct stat> Operations::getattr_open(std::uint64_t handle) {
  auto file = find(handle);
  if (!file)
    return errno_error(EBADF);
  if (file->staged) {
    cache::FileAttributes a = file->staged->attributes;
    a.size = file->staged->stage->size();
    struct stat st = stat_of(a);
    if (file->staged->unlinked)
      st.st_nlink = 0;
    return st;
  }
  cache::FileAttributes a;
  a.kind = cache::FileKind::file;
  {
    std::lock_guard lock(file->reader_mutex);
    a.size = file->version.size;
    a.mtime =
        std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(file->version.mtime_ns)));
  }
  return stat_of(a);
}

ftp::Result<struct stat> Operations::getattr(std::string_view path) {
  // A file being written has the size of what was written, not of the server's copy.
  if (auto s = staged(remote(path))) {
    cache::FileAttributes a = s->attributes;
    a.size = s->stage->size();
    return stat_of(a);
  }
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
  const bool writing = (flags & O_ACCMODE) != O_RDONLY;
  const bool truncating = (flags & O_TRUNC) != 0 && writing;
  auto attrs = attributes(path);
  if (!attrs)
    return attrs.error();
  if (attrs->kind == cache::FileKind::directory)
    return errno_error(EISDIR, remote(path));
  auto file = std::make_shared<OpenFile>();
  file->remote_path = remote(path);
  if (!writing) {
    // Readers see the server's version as of the open (close-to-open), even while a writer stages.
    file->version = cache::version_of(*attrs);
    file->reader = std::make_shared<cache::FileReader>(blocks_, source_, fetches_, file->remote_path,
                                                       cache::version_of(*attrs), config_.readahead);
    if (attrs->kind == cache::FileKind::file)
      prefetch_siblings(path);
    return add_handle(std::move(file));
  }
  auto staged = stage_for(path, &*attrs, truncating);
  if (!staged)
    return staged.error();
  file->staged = std::move(*staged);
  file->append = (flags & O_APPEND) != 0;
  return add_handle(std::move(file));
}

ftp::Result<std::uint64_t> Operations::create(std::string_view path, mode_t mode, int flags, bool* made_new) {
  const std::string key = remote(path);
  if (made_new != nullptr)
    *made_new = false;
  auto existing = attributes(path);
  if (existing) {
    if (flags & O_EXCL)
      return ftp::Error{ftp::Errc::already_exists, key};
    return open(path, flags | O_TRUNC);
  }
  if (existing.code() != ftp::Errc::not_found)
    return existing.error();
  auto parent = attributes(parent_path(path));
  if (!parent)
    return parent.error();
  if (parent->kind != cache::FileKind::directory)
    return errno_error(ENOTDIR, key);

  cache::FileAttributes attrs;
  attrs.kind = cache::FileKind::file;
  attrs.mode = mode & 07777;
  attrs.mtime = std::chrono::system_clock::now();
  auto staged = stage_for(path, nullptr, true);
  if (!staged)
    return staged.error();
  (*staged)->attributes = attrs;
  // The new name shows in listings at once; it reaches the server at the first flush (close).
  metadata_.update(key, attrs);
  auto file = std::make_shared<OpenFile>();
  file->remote_path = key;
  file->staged = std::move(*staged);
  file->append = (flags & O_APPEND) != 0;
  if (made_new != nullptr)
    *made_new = true;
  return add_handle(std::move(file));
}

ftp::Result<std::uint64_t> Operations::add_handle(std::shared_ptr<OpenFile> file) {
  const std::uint64_t handle = next_handle_++;
  std::lock_guard lock(handles_mutex_);
  handles_.emplace(handle, std::move(file));
  return handle;
}

ftp::Result<std::shared_ptr<Operations::StagedFile>> Operations::stage_for(
    std::string_view fuse_path, const cache::FileAttributes* existing, bool truncate) {
  const std::string key = remote(fuse_path);
  std::lock_guard lock(handles_mutex_);
  auto it = staged_.find(key);
  if (it != staged_.end()) {
    if (truncate) {
      if (auto ec = it->second->stage->truncate(0))
        return ftp::Error{ec, key};
    }
    ++it->second->handles;
    return it->second;
  }
  auto staged = std::make_shared<StagedFile>();
  staged->remote_path = key;
  staged->fuse_path = fuse_path;
  const std::uint64_t remote_size = existing ? existing->size : 0;
  if (existing) {
    staged->attributes = *existing;
    staged->original = std::make_shared<cache::FileReader>(blocks_, source_, fetches_, key,
                                                           cache::version_of(*existing), config_.readahead);
  }
  std::weak_ptr<cache::FileReader> original = staged->original;
  cache::ContentSource fill = [original](std::uint64_t offset, std::span<char> buf, std::size_t& n) {
    auto reader = original.lock();
    if (!reader) {
      n = 0;
      return std::error_code{};
    }
    return reader->read(offset, buf, n);
  };
  if (auto ec = cache::WriteStage::create(config_.staging, key, remote_size, truncate || !existing, target_,
                                          std::move(fill), staged->stage)) {
    return ftp::Error{ec, "cannot stage " + key + " under " + config_.staging.staging_dir.string()};
  }
  staged->handles = 1;
  staged_.emplace(key, staged);
  return staged;
}

void Operations::note_removal(const std::string& key, bool confirmed) {
  // Gone for sure only when the server said so; otherwise ask again next time.
  if (confirmed)
    metadata_.remove(key);
  else
    metadata_.invalidate(key);
}

void Operations::forget_stage(const std::shared_ptr<StagedFile>& staged) {
  {
    std::lock_guard lock(handles_mutex_);
    if (auto it = staged_.find(staged->remote_path); it != staged_.end() && it->second == staged)
      staged_.erase(it);
    staged->unlinked = true;
  }
  staged->stage->abandon();
}

std::shared_ptr<Operations::StagedFile> Operations::staged(const std::string& key) {
  std::lock_guard lock(handles_mutex_);
  auto it = staged_.find(key);
  return it == staged_.end() ? nullptr : it->second;
}

std::shared_ptr<Operations::OpenFile> Operations::find(std::uint64_t handle) {
  std::lock_guard lock(handles_mutex_);
  auto it = handles_.find(handle);
  return it == handles_.end() ? nullptr : it->second;
}

ftp::Result<std::vector<cache::BlockSlice>> Operations::read(std::uint64_t handle, std::uint64_t offset,
                                                             std::size_t size) {
  auto file = find(handle);
  if (!file)
    return errno_error(EBADF);
  std::vector<cache::BlockSlice> slices;
  // While the path is being written through this mount, every reader sees the written data.
  if (auto staged_file = file->staged ? file->staged : staged(file->remote_path)) {
    auto block = blocks_.new_block(size);
    std::size_t n = 0;
    if (auto ec = staged_file->stage->read(offset, {block->data(), size}, n))
      return ftp::Error{ec, file->remote_path};
    block->resize(n);
    if (n > 0)
      slices.push_back({std::move(block), 0, n});
    return slices;
  }
  if (auto ec = current_reader(*file)->read(offset, size, slices))
    return ftp::Error{ec, file->remote_path};
  return slices;
}

ftp::Result<std::size_t> Operations::read(std::uint64_t handle, std::uint64_t offset, std::span<char> buf) {
  auto slices = read(handle, offset, buf.size());
  if (!slices)
    return slices.error();
  return cache::copy_slices(*slices, buf);
}

std::shared_ptr<cache::FileReader> Operations::current_reader(OpenFile& file) {
  // A file rewritten while this handle was open (through this mount, or seen changed on the server
  // after the cache timeout): read the new version, as a local filesystem would, rather than old
  // bytes cut at the old size, which the kernel would take as the file having shrunk. An FTP server
  // serves only its current content anyway, so uncached blocks of the old version cannot be had.
  const auto known = metadata_.lookup(file.remote_path);
  std::lock_guard lock(file.reader_mutex);
  if (known.hit == cache::MetadataCache::Hit::found && known.attributes.kind == cache::FileKind::file &&
      cache::version_of(known.attributes) != file.version) {
    file.version = cache::version_of(known.attributes);
    file.reader = std::make_shared<cache::FileReader>(blocks_, source_, fetches_, file.remote_path,
                                                      file.version, config_.readahead);
  }
  return file.reader;
}

ftp::Result<std::size_t> Operations::write(std::uint64_t handle, std::uint64_t offset,
                                           std::span<const char> data,
                                           std::shared_ptr<cache::BlockBytes> received) {
  auto file = find(handle);
  if (!file)
    return errno_error(EBADF);
  if (!file->staged)
    return errno_error(EBADF, "not open for writing");
  auto& stage = *file->staged->stage;
  // O_APPEND writes go to the end as the stage knows it, whatever offset the kernel computed.
  if (file->append)
    offset = stage.size();
  if (auto ec = stage.write(offset, data, std::move(received)))
    return ftp::Error{ec, file->remote_path};
  return data.size();
}

ftp::Status Operations::flush_stage(StagedFile& staged) {
  if (staged.unlinked)
    return {};  // the file was removed: what its writers still write has no name to go to
  if (auto ec = staged.stage->flush()) {
    std::string detail = "upload of " + staged.remote_path + " failed";
    const std::string kept = staged.stage->pending_file();
    if (!kept.empty())
      detail += "; the data is kept in " + kept;
    staged.upload_failed = true;
    return ftp::Error{ec, detail};
  }
  staged.upload_failed = false;
  if (staged.pending_mode) {
    if (auto st = client_.set_mode(staged.remote_path, *staged.pending_mode);
        !st && !refused_metadata_change(st))
      return ftp::Error{st.code(),
                        "chmod of " + staged.remote_path + " after upload: " + st.error().message()};
    staged.pending_mode.reset();
  }
  if (staged.pending_mtime) {
    const auto mtime = *staged.pending_mtime;
    auto st = client_.set_mtime(staged.remote_path, mtime);
    if (!st && !refused_metadata_change(st))
      return ftp::Error{st.code(), "setting the time of " + staged.remote_path + ": " + st.error().message()};
    staged.pending_mtime.reset();
    // The server now has the time asked for: the cached entry (and the parent's listing) say so. A
    // server that refused keeps the upload's time, which the size check after the upload noted.
    // (Forgetting the entry instead dropped the parent's listing: tar -x then listed the directory
    // again, and probed the next name, for every file it set a time on.)
    if (st) {
      if (auto now = metadata_.lookup(staged.remote_path); now.hit == cache::MetadataCache::Hit::found) {
        now.attributes.mtime = mtime;
        metadata_.update(staged.remote_path, now.attributes);
      } else {
        metadata_.invalidate(staged.remote_path);
      }
    }
  }
  // Old blocks can never match the new version, but they would take room until evicted.
  blocks_.invalidate(staged.remote_path);
  notify_changed(staged.fuse_path);
  if (auto fresh = metadata_.lookup(staged.remote_path); fresh.hit == cache::MetadataCache::Hit::found) {
    staged.attributes = fresh.attributes;
  }
  return {};
}

ftp::Status Operations::flush(std::uint64_t handle) {
  auto file = find(handle);
  if (!file)
    return errno_error(EBADF);
  if (!file->staged)
    return {};
  return flush_stage(*file->staged);
}

ftp::Status Operations::fsync(std::uint64_t handle) {
  return flush(handle);
}

ftp::Status Operations::truncate(std::string_view path, std::uint64_t size, std::uint64_t handle) {
  const std::string key = remote(path);
  if (handle != 0) {
    auto file = find(handle);
    if (!file)
      return errno_error(EBADF);
    if (file->staged) {
      if (auto ec = file->staged->stage->truncate(size))
        return ftp::Error{ec, key};
      return {};
    }
  }
  if (auto s = staged(key)) {
    if (auto ec = s->stage->truncate(size))
      return ftp::Error{ec, key};
    return {};
  }
  // truncate(2) on a path nobody has open for writing: stage, change and upload at once.
  auto attrs = attributes(path);
  if (!attrs)
    return attrs.error();
  if (attrs->kind == cache::FileKind::directory)
    return errno_error(EISDIR, key);
  if (attrs->size == size)
    return {};
  auto staged_file = stage_for(path, &*attrs, size == 0);
  if (!staged_file)
    return staged_file.error();
  ftp::Status status;
  if (auto ec = (*staged_file)->stage->truncate(size)) {
    status = ftp::Error{ec, key};
  } else {
    status = flush_stage(**staged_file);
  }
  drop_stage_if_unused(*staged_file);
  return status;
}

void Operations::drop_stage_if_unused(const std::shared_ptr<StagedFile>& staged) {
  std::shared_ptr<StagedFile> last;
  {
    std::lock_guard lock(handles_mutex_);
    if (--staged->handles > 0)
      return;
    last = staged;
    // An unlinked stage is no longer in the map, and a new file of the same name may be.
    if (auto it = staged_.find(staged->remote_path); it != staged_.end() && it->second == staged)
      staged_.erase(it);
  }
  // close() already flushed; this catches a writer that never called it (e.g. killed). A failure
  // here keeps the data in the pending area (WriteStage does that) since nobody can be told. After a
  // failed close() the data is already pending and the writer was told: no third attempt.
  if (last->stage->dirty() && !last->upload_failed) {
    if (auto s = flush_stage(*last); !s)
      log_->error("{}", s.error().message());
  }
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
  if (file->staged)
    drop_stage_if_unused(file->staged);
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
  // The parent's cached listing gains the name (mkdir -p, cp -r, tar -x make one directory after
  // another, each inside the last), and a directory just made is empty: lookups of new names in it
  // need no round trip.
  metadata_.created(key, attrs);
  metadata_.store_listing(key, {}, metadata_.fetch_token());
  return {};
}

ftp::Status Operations::unlink(std::string_view path) {
  const std::string key = remote(path);
  // A file still open for writing: stop streaming into it first, so the server does not complete
  // (or, on some servers, re-create) a file being deleted.
  auto open_stage = staged(key);
  if (open_stage)
    open_stage->stage->stop_stream();
  auto status = client_.remove_file(key);
  // A file made here and not uploaded yet exists only in its stage: removing it is done.
  if (!status && open_stage && status.code() == ftp::Errc::not_found)
    status = {};
  if (open_stage && status)
    forget_stage(open_stage);
  note_removal(key, static_cast<bool>(status));
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
  note_removal(key, static_cast<bool>(status));
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
  // A file still being written must exist on the server before it can be renamed there.
  if (auto s = staged(src)) {
    if (auto flushed = flush_stage(*s); !flushed)
      return flushed;
  }
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
  // After a rename the server confirmed, both directories' cached listings stay valid with the
  // names patched: rsync and editors rename a temporary file into place for every file they write,
  // and each new listing would cost a round trip and a data connection.
  if (status) {
    metadata_.moved(src, dst, *source);
  } else {
    metadata_.invalidate(src);
    metadata_.invalidate(dst);
  }
  blocks_.invalidate(src);
  blocks_.invalidate(dst);
  if (!status)
    return status;
  return {};
}

ftp::Status Operations::chmod(std::string_view path, mode_t mode) {
  const std::string key = remote(path);
  if (auto s = staged(key); s && s->stage->dirty()) {
    s->pending_mode = mode & 07777;
    s->attributes.mode = mode & 07777;
    return {};
  }
  auto attrs = attributes(path);
  if (!attrs)
    return attrs.error();
  if (attrs->kind == cache::FileKind::symlink)
    return {};  // symlinks have no mode of their own
  auto status = client_.set_mode(key, mode & 07777);
  if (!status) {
    if (!refused_metadata_change(status))
      return status;
    log_->debug("chmod {}: the server refused SITE CHMOD ({}); mode unchanged", key,
                status.error().message());
    return {};
  }
  attrs->mode = mode & 07777;
  metadata_.update(key, *attrs);
  if (auto s = staged(key))
    s->attributes.mode = attrs->mode;
  return {};
}

ftp::Status Operations::set_mtime(std::string_view path, std::chrono::system_clock::time_point mtime) {
  const std::string key = remote(path);
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(mtime);
  if (auto s = staged(key); s && s->stage->dirty()) {
    s->pending_mtime = seconds;
    s->attributes.mtime = seconds;
    return {};
  }
  auto attrs = attributes(path);
  if (!attrs)
    return attrs.error();
  auto status = client_.set_mtime(key, mtime);
  if (!status) {
    if (!refused_metadata_change(status))
      return status;
    log_->debug("utimens {}: the server cannot set this time ({}); left unchanged", key,
                status.error().message());
    return {};
  }
  attrs->mtime = seconds;
  metadata_.update(key, *attrs);
  if (auto s = staged(key))
    s->attributes.mtime = seconds;
  blocks_.invalidate(key);
  notify_changed(path);
  return {};
}

ftp::Status Operations::chown(std::string_view path, std::optional<std::uint32_t> uid,
                              std::optional<std::uint32_t> gid) {
  auto attrs = getattr(path);
  if (!attrs)
    return attrs.error();
  // FTP has no owners to change; asking for the owner already shown changes nothing (tar, cp -a).
  if ((uid && *uid != attrs->st_uid) || (gid && *gid != attrs->st_gid))
    return errno_error(EPERM, "FTP cannot change a file's owner");
  return {};
}

void Operations::prefetch_siblings(std::string_view path) {
  if (config_.prefetch_streams == 0)
    return;
  // Only a listing already at hand: a scan lists its directory first (readdir), and a lone open
  // must not cost a listing.
  const std::string dir = remote(parent_path(path));
  auto siblings = metadata_.listing(dir);
  if (!siblings)
    return;
  const auto picked = scan_.on_open(dir, base_name(path), *siblings);
  if (picked.empty())
    return;
  std::vector<cache::PrefetchFile> files;
  files.reserve(picked.size());
  for (const auto& [name, attributes] : picked) {
    std::string remote_path = join_remote(dir, "/" + name);
    if (staged(remote_path))
      continue;  // being written here: the server's copy is about to change
    files.push_back({std::move(remote_path), cache::version_of(attributes)});
  }
  prefetcher_.add(std::move(files));
}

void Operations::notify_changed(std::string_view path) {
  if (config_.on_content_changed)
    config_.on_content_changed(std::string(path));
}

}  // namespace fs
