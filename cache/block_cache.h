#pragma once
// File data in fixed-size blocks keyed by path, version and block index, so a file changed on the
// server is never served from old blocks. A memory tier with a byte budget, and an optional disk
// tier under the cache directory that survives remounts; least recently used blocks go first.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/file_attributes.h"

namespace cache {

struct BlockKey {
  std::string path;
  FileVersion version;
  std::uint64_t index = 0;

  bool operator==(const BlockKey&) const = default;
};

struct BlockCacheConfig {
  std::size_t block_size = 256 * 1024;
  std::size_t memory_budget = 256u << 20;
  std::filesystem::path disk_dir;  // empty: no disk tier
  std::uint64_t disk_budget = 1ull << 30;
};

struct BlockCacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t memory_bytes = 0;
  std::uint64_t disk_bytes = 0;
};

using BlockData = std::shared_ptr<const std::vector<char>>;

class BlockCache {
 public:
  explicit BlockCache(BlockCacheConfig config);
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  std::size_t block_size() const;
  std::size_t memory_budget() const;
  // The block, from memory or disk (promoted to memory), or null.
  BlockData get(const BlockKey& key);
  // Whether either tier holds the block; does not count as a hit or miss or change LRU order.
  bool contains(const BlockKey& key) const;
  // A block is block_size() bytes except the file's last one. With to_disk false it goes to the
  // memory tier only.
  void put(const BlockKey& key, BlockData data, bool to_disk = true);
  // Memory for a block of `length` bytes (recycled; content unspecified, to be overwritten).
  std::shared_ptr<std::vector<char>> new_block(std::size_t length);
  // Drops every version of the path's blocks, from both tiers.
  void invalidate(std::string_view path);
  BlockCacheStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cache
