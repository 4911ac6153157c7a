#pragma once
// Filesystem semantics, free of FUSE: what getattr, readdir, open, read, ... mean on an FTP server.
// fs/fuse_adapter.cpp is a thin table of trampolines over this class; tests drive it directly
// against a fake client. Paths are FUSE paths ("/a/b", relative to the mount).

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

#include "cache/block_cache.h"
#include "cache/file_prefetcher.h"
#include "cache/file_reader.h"
#include "cache/metadata_cache.h"
#include "cache/write_stage.h"
#include "fs/attributes.h"
#include "fs/client_block_source.h"
#include "fs/client_upload_target.h"
#include "fs/directory_scan.h"
#include "ftp/client.h"

namespace fs {

struct OperationsConfig {
  std::string remote_root = "/";  // server directory shown at the mount point
  Ownership owner;
  cache::ReadaheadConfig readahead;
  // Small files of a directory being read file by file are fetched ahead of the reader, on this
  // many sessions at most (0: never); see fs/directory_scan.h.
  DirectoryScanLimits scan;
  unsigned prefetch_streams = 0;
  cache::WriteStageConfig staging;  // where writes are staged and failed uploads are kept
  // Told (FUSE path) when content changed through the mount, so kernel caches can be dropped.
  std::function<void(const std::string&)> on_content_changed;
};

class Operations {
 public:
  using DirListing = std::vector<std::pair<std::string, struct stat>>;

  Operations(OperationsConfig config, ftp::Client& client, cache::MetadataCache& metadata,
             cache::BlockCache& blocks);
  ~Operations();
  Operations(const Operations&) = delete;
  Operations& operator=(const Operations&) = delete;

  ftp::Result<struct stat> getattr(std::string_view path);
  // A GETATTR that comes with a handle and without a path: the file was unlinked while open (the
  // kernel sends one for lseek to SEEK_END; plain fstat comes without the handle, and libfuse answers
  // it ESTALE). What the handle knows; st_nlink 0 for a file unlinked while open for writing.
  ftp::Result<struct stat> getattr_open(std::uint64_t handle);
  ftp::Result<DirListing> readdir(std::string_view path);
  ftp::Result<std::string> readlink(std::string_view path);
  ftp::Status access(std::string_view path, int mask);
  ftp::Result<struct statvfs> statfs();

  // open() with write access or O_TRUNC stages the file locally; create() makes a new one, or opens
  // and truncates an existing one when O_EXCL is absent (*made_new tells which).
  ftp::Result<std::uint64_t> open(std::string_view path, int flags);
  ftp::Result<std::uint64_t> create(std::string_view path, mode_t mode, int flags, bool* made_new = nullptr);
  // The bytes of [offset, offset + size) as pieces of cached blocks, handed to the kernel without a
  // copy (cache::FileReader::read); a file being written through this mount is read from its stage.
  // Fewer bytes only at the end of the file.
  ftp::Result<std::vector<cache::BlockSlice>> read(std::uint64_t handle, std::uint64_t offset,
                                                   std::size_t size);
  // The same bytes copied into buf.
  ftp::Result<std::size_t> read(std::uint64_t handle, std::uint64_t offset, std::span<char> buf);
  // `received`, when given, is a block whose bytes are `data` (the memory the request arrived in):
  // the stage may keep it instead of copying the bytes.
  ftp::Result<std::size_t> write(std::uint64_t handle, std::uint64_t offset, std::span<const char> data,
                                 std::shared_ptr<cache::BlockBytes> received = nullptr);
  // flush (each close) and fsync bring the server up to date and report an upload's failure.
  ftp::Status flush(std::uint64_t handle);
  ftp::Status fsync(std::uint64_t handle);
  ftp::Status release(std::uint64_t handle);
  // handle is 0 for a truncate by path.
  ftp::Status truncate(std::string_view path, std::uint64_t size, std::uint64_t handle);

  ftp::Status mkdir(std::string_view path, mode_t mode);
  ftp::Status unlink(std::string_view path);
  ftp::Status rmdir(std::string_view path);
  ftp::Status rename(std::string_view from, std::string_view to, unsigned flags);
  ftp::Status chmod(std::string_view path, mode_t mode);
  ftp::Status set_mtime(std::string_view path, std::chrono::system_clock::time_point mtime);
  // Only a "change" to the owner already shown succeeds: FTP has no owners.
  ftp::Status chown(std::string_view path, std::optional<std::uint32_t> uid,
                    std::optional<std::uint32_t> gid);

 private:
  struct OpenFile;
  struct StagedFile;

  std::string remote(std::string_view path) const;
  // Attributes from the metadata cache, or from the server (MLST/SIZE+MDTM) on a miss.
  ftp::Result<cache::FileAttributes> attributes(std::string_view path);
  ftp::Result<std::shared_ptr<const cache::Listing>> listing(std::string_view path);
  // The path's entry in its parent's listing (fetched once if not cached), or nothing. `listed`
  // tells whether there was a listing to look in.
  std::optional<cache::FileAttributes> from_parent_listing(std::string_view path, bool* listed = nullptr);
  struct stat stat_of(const cache::FileAttributes& a) const;
  std::shared_ptr<OpenFile> find(std::uint64_t handle);
  void notify_changed(std::string_view path);
  // A read-only open: when it continues a scan of its directory, prefetch what comes next.
  void prefetch_siblings(std::string_view path);
  std::shared_ptr<cache::FileReader> current_reader(OpenFile& file);
  // After a failed change, ask the server what is really there (the cache may be stale).
  // `unlisted`: the parent's listing was just searched for the name (Client::stat_unlisted).
  ftp::Result<cache::FileAttributes> fresh_attributes(std::string_view path, bool unlisted = false);
  // The stage of a path open for writing, made on first use and shared by its writers.
  ftp::Result<std::shared_ptr<StagedFile>> stage_for(std::string_view fuse_path,
                                                     const cache::FileAttributes* existing, bool truncate);
  std::shared_ptr<StagedFile> staged(const std::string& remote_path);
  // One handle of the stage is gone; the last one uploads what was not, and ends the stage.
  void drop_stage_if_unused(const std::shared_ptr<StagedFile>& staged);
  // A DELE or RMD of `key` ended: the cache drops the name from its parent's listing when the
  // server confirmed it, and otherwise forgets what it knew.
  void note_removal(const std::string& key, bool confirmed);
  // The stage's file was unlinked while open: its handles keep it, without a name.
  void forget_stage(const std::shared_ptr<StagedFile>& staged);
  ftp::Status flush_stage(StagedFile& staged);
  ftp::Result<std::uint64_t> add_handle(std::shared_ptr<OpenFile> file);

  OperationsConfig config_;
  ftp::Client& client_;
  cache::MetadataCache& metadata_;
  cache::BlockCache& blocks_;
  ClientBlockSource source_;
  ClientUploadTarget target_;
  std::shared_ptr<cache::FetchTable> fetches_;
  DirectoryScan scan_;
  cache::FilePrefetcher prefetcher_;  // after source_ and fetches_: stops before they go

  std::mutex handles_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<OpenFile>> handles_;
  std::unordered_map<std::string, std::shared_ptr<StagedFile>> staged_;  // by remote path
  std::atomic<std::uint64_t> next_handle_{1};
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace fs
