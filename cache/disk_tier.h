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

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
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

  std::error_code write(const BlockKey& key, const std::vector<char>& data);
  // Reads a block that write() or scan() reported; `length` is its size.
  std::error_code read(const BlockKey& key, std::size_t length, std::vector<char>& data);
  void remove(const BlockKey& key);

 private:
  struct VersionFiles {
    std::filesystem::path data;
    std::filesystem::path journal;
  };
  VersionFiles files_for(const BlockKey& key) const;
  std::error_code append_record(const VersionFiles& files, const BlockKey& key, std::uint64_t index,
                                std::uint64_t length, bool removed);

  const std::filesystem::path dir_;
  const std::size_t block_size_;
  std::mutex mutex_;
  // Live blocks per version (keyed by the journal's path), to delete a version's files with its
  // last block.
  std::unordered_map<std::string, std::size_t> live_;
};

}  // namespace cache
