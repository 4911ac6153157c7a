#pragma once
// File data in fixed-size blocks keyed by path, version and block index, so a file changed on the
// server is never served from old blocks. A memory tier with a byte budget, and an optional disk
// tier under the cache directory that survives remounts; least recently used blocks go first.
//
// A block that a sequential reader has consumed is usually in the kernel's page cache by then, and
// keeping it in memory as well would fill the budget with copies (and the process with memory new
// to it, which costs a page fault per page). release() drops such a block from memory unless some
// other reader used it too; the disk tier keeps its copy.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/block_bytes.h"
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
  std::uint64_t disk_writes = 0;  // write requests to the disk tier (a run of blocks is one)
};

using BlockData = std::shared_ptr<const BlockBytes>;

// Part of a block, kept alive by holding the block.
struct BlockSlice {
  BlockData block;
  std::size_t offset = 0;
  std::size_t length = 0;

  std::span<const char> bytes() const { return block->bytes().subspan(offset, length); }
};

// Copies slices into buf (which must hold them all); returns the bytes copied.
std::size_t copy_slices(const std::vector<BlockSlice>& slices, std::span<char> buf);

class BlockCache {
 public:
  explicit BlockCache(BlockCacheConfig config);
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  std::size_t block_size() const;
  std::size_t memory_budget() const;
  // How a get() counts for release(): a reader's use, or a load ahead of the reader (readahead from
  // the disk tier), which the reader's own get() follows.
  enum class Access { use, ahead };
  // The block, from memory or disk (promoted to memory), or null.
  BlockData get(const BlockKey& key, Access access = Access::use);
  // Whether either tier holds the block; does not count as a hit or miss or change LRU order.
  bool contains(const BlockKey& key) const;
  // Whether the memory tier holds it (same rules).
  bool in_memory(const BlockKey& key) const;
  // A block is block_size() bytes except the file's last one. With to_disk false it goes to the
  // memory tier only.
  void put(const BlockKey& key, BlockData data, bool to_disk = true);
  // Changes when invalidate() runs: read before put(key, data, false), it lets a later
  // put_on_disk() of the same block see whether its path may have been invalidated meanwhile.
  std::uint64_t epoch() const;
  // Writes a block to the disk tier only (the memory tier got it earlier), unless an invalidate()
  // happened since `epoch` was read; then the copy might be of a replaced file and is not kept.
  void put_on_disk(const BlockKey& key, const BlockData& data, std::uint64_t epoch);
  // The same for blocks `first`, first.index + 1, ... of one version, written to disk together.
  void put_run_on_disk(const BlockKey& first, std::span<const BlockData> run, std::uint64_t epoch);
  bool has_disk_tier() const;
  // A reader used the block without get() (it fetched it, or waited for the fetch): counts like a
  // get() for release().
  void count_use(const BlockKey& key);
  // The reader that brought the block in is done with it: it leaves the memory tier unless it was
  // used more than once there (the disk tier keeps its copy).
  void release(const BlockKey& key);
  // Memory for a block of `length` bytes (recycled; content unspecified, to be overwritten).
  std::shared_ptr<BlockBytes> new_block(std::size_t length);
  // Drops every version of the path's blocks, from both tiers.
  void invalidate(std::string_view path);
  BlockCacheStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cache
