#pragma once
// The block cache's files on disk: one sparse data file per (path, version) with each block at
// index * block_size, and beside it a journal naming the path, the version and the blocks the
// data file holds. A cold read of a large file then costs one file creation, not one per block
// (creating a file per block took an eighth of the CPU time of a cold sequential read).
//
// A block is journaled only after its bytes are written, and a removed block's range is punched
// out of the data file and journaled as removed; a data file whose blocks are all gone is deleted
// with its journal. The journal's header also records the block size, so a cache directory used
// with another block size is discarded rather than misread. Thread-safe; LRU order and the budget
// are the caller's business (BlockCache).
//
// Data files are written and read with O_DIRECT where the filesystem allows it (block sizes that are
// a multiple of the page size; BlockBytes are page-aligned): the bytes go between the block's memory
// and the disk without a copy into the page cache, which cost a cold sequential read as much CPU
// time as receiving the data, and the page cache keeps room for what the system reads. A file's last
// block is padded to a whole page on disk; the journal records its real length.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "cache/block_cache.h"

namespace cache {

class DiskTier {
 public:
  DiskTier(std::filesystem::path dir, std::size_t block_size);

  struct Found {
    BlockKey key;
    std::uint64_t bytes = 0;
  };
  // Blocks a previous mount left, least recently used file first; removes what it cannot use
  // (unreadable journals, data files without one, files of another block size, temporary files).
  std::vector<Found> scan();

  // Writes consecutive blocks of one version, `first` and those after it, with one system call:
  // a cold read stores its blocks in runs, and each disk request has a cost of its own (on a
  // virtual disk, an exit to the hypervisor). All but the last block are block_size long.
  std::error_code write_run(const BlockKey& first, std::span<const BlockBytes* const> blocks);
  // Reads a block that write_run() or scan() reported; data.size() is its length.
  std::error_code read(const BlockKey& key, BlockBytes& data);
  void remove(const BlockKey& key);

 private:
  struct VersionFiles {
    std::filesystem::path data;
    std::filesystem::path journal;
  };
  VersionFiles files_for(const BlockKey& key) const;

  // A version's files, open. Shared, so a reader can use them while another thread closes the cache
  // entry.
  struct OpenVersion {
    int data = -1;
    int journal = -1;  // opened for appending by the writer only
    bool direct = false;
    ~OpenVersion();
  };
  // The version's files from the cache of open ones (opening them, and for `create` creating them);
  // null when they cannot be opened. Caller holds mutex_.
  std::shared_ptr<OpenVersion> open_version_locked(const VersionFiles& files, const BlockKey& key,
                                                   bool create, std::error_code& ec);
  void forget_open_locked(const VersionFiles& files);
  std::error_code append_records(OpenVersion& files, std::uint64_t first_index,
                                 std::span<const std::uint64_t> lengths, bool removed);

  const std::filesystem::path dir_;
  const std::size_t block_size_;
  // Cleared when the filesystem refuses O_DIRECT (tmpfs, some FUSE and network filesystems).
  std::atomic<bool> direct_;
  std::mutex mutex_;
  // Live blocks per version (keyed by the journal's path), to delete a version's files with its
  // last block.
  std::unordered_map<std::string, std::size_t> live_;
  // The versions used last, with their files open (keyed by the journal's path, most recent first):
  // a block costs a write, not two open() and close() calls with it.
  static constexpr std::size_t kOpenVersions = 8;
  std::list<std::pair<std::string, std::shared_ptr<OpenVersion>>> open_;
};

}  // namespace cache
