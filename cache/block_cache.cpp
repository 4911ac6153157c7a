#include "cache/block_cache.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>

#include "cache/block_buffers.h"
#include "cache/block_key.h"
#include "cache/disk_tier.h"

namespace cache {

namespace {

template <typename... Args>
void log_debug(spdlog::format_string_t<Args...> format, Args&&... args) {
  if (auto log = spdlog::get("cache"))
    log->debug(format, std::forward<Args>(args)...);
}

}  // namespace

std::size_t copy_slices(const std::vector<BlockSlice>& slices, std::span<char> buf) {
  std::size_t n = 0;
  for (const auto& slice : slices) {
    std::memcpy(buf.data() + n, slice.block->data() + slice.offset, slice.length);
    n += slice.length;
  }
  return n;
}

struct BlockCache::Impl {
  struct MemoryEntry {
    std::string key;
    std::string path;
    BlockData data;
    unsigned uses = 0;  // get() hits since it came into memory
  };
  struct DiskEntry {
    std::string key_string;
    BlockKey key;
    std::uint64_t bytes = 0;
  };

  explicit Impl(BlockCacheConfig c)
      : config(std::move(c)),
        // Enough for a readahead window's worth of blocks between their release and their reuse.
        buffers(std::max<std::size_t>(config.memory_budget / 4, 4 * config.block_size)),
        disk(config.disk_dir, config.block_size) {
    if (!config.disk_dir.empty())
      scan_disk();
  }

  // Rebuilds the disk index from what a previous mount left, oldest first in LRU order.
  void scan_disk() {
    for (auto& found : disk.scan()) {
      std::string key_string = block_key_string(found.key);
      if (disk_index.contains(key_string))
        continue;
      disk_bytes += found.bytes;
      disk_lru.push_front({std::move(key_string), std::move(found.key), found.bytes});
      disk_index[disk_lru.front().key_string] = disk_lru.begin();
    }
    remove_from_disk(evict_disk_locked());
  }

  void insert_memory_locked(const std::string& key, const std::string& path, BlockData data, unsigned uses) {
    erase_memory_locked(key);
    memory_bytes += data->size();
    memory_lru.push_front({key, path, std::move(data), uses});
    memory_index[key] = memory_lru.begin();
    while (memory_bytes > config.memory_budget && !memory_lru.empty()) {
      memory_bytes -= memory_lru.back().data->size();
      memory_index.erase(memory_lru.back().key);
      memory_lru.pop_back();
    }
  }

  void erase_memory_locked(const std::string& key) {
    if (auto it = memory_index.find(key); it != memory_index.end()) {
      memory_bytes -= it->second->data->size();
      memory_lru.erase(it->second);
      memory_index.erase(it);
    }
  }

  std::vector<BlockKey> evict_disk_locked() {
    std::vector<BlockKey> doomed;
    while (disk_bytes > config.disk_budget && !disk_lru.empty()) {
      disk_bytes -= disk_lru.back().bytes;
      disk_index.erase(disk_lru.back().key_string);
      doomed.push_back(std::move(disk_lru.back().key));
      disk_lru.pop_back();
    }
    return doomed;
  }

  void drop_disk_locked(const std::string& key) {
    auto it = disk_index.find(key);
    if (it == disk_index.end())
      return;
    disk_bytes -= it->second->bytes;
    disk_lru.erase(it->second);
    disk_index.erase(it);
  }

  void remove_from_disk(const std::vector<BlockKey>& keys) {
    for (const auto& key : keys)
      disk.remove(key);
  }

  const BlockCacheConfig config;
  BlockBuffers buffers;
  DiskTier disk;
  mutable std::mutex mutex;
  std::list<MemoryEntry> memory_lru;  // front: most recently used
  std::unordered_map<std::string, std::list<MemoryEntry>::iterator> memory_index;
  std::uint64_t memory_bytes = 0;
  std::list<DiskEntry> disk_lru;
  std::unordered_map<std::string, std::list<DiskEntry>::iterator> disk_index;
  std::uint64_t disk_bytes = 0;
  std::uint64_t disk_writes = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  // Bumped by invalidate(), so work done outside the lock can tell it may have raced one.
  std::uint64_t epoch = 0;
};

BlockCache::BlockCache(BlockCacheConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

BlockCache::~BlockCache() = default;

std::size_t BlockCache::block_size() const {
  return impl_->config.block_size;
}

std::size_t BlockCache::memory_budget() const {
  return impl_->config.memory_budget;
}

BlockData BlockCache::get(const BlockKey& key, Access access) {
  const unsigned use = access == Access::use ? 1 : 0;
  const std::string key_string = block_key_string(key);
  std::uint64_t bytes = 0;
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(impl_->mutex);
    if (auto it = impl_->memory_index.find(key_string); it != impl_->memory_index.end()) {
      impl_->memory_lru.splice(impl_->memory_lru.begin(), impl_->memory_lru, it->second);
      it->second->uses += use;
      ++impl_->hits;
      return it->second->data;
    }
    auto it = impl_->disk_index.find(key_string);
    if (it == impl_->disk_index.end()) {
      ++impl_->misses;
      return nullptr;
    }
    impl_->disk_lru.splice(impl_->disk_lru.begin(), impl_->disk_lru, it->second);
    bytes = it->second->bytes;
    epoch = impl_->epoch;
  }

  auto data = impl_->buffers.make(static_cast<std::size_t>(bytes));
  const std::error_code ec = impl_->disk.read(key, *data);
  std::lock_guard lock(impl_->mutex);
  if (ec) {
    log_debug("reading cached block {} #{}: {}", key.path, key.index, ec.message());
    if (auto it = impl_->disk_index.find(key_string); it != impl_->disk_index.end()) {
      impl_->disk_bytes -= it->second->bytes;
      impl_->disk_lru.erase(it->second);
      impl_->disk_index.erase(it);
      impl_->disk.remove(key);
    }
    ++impl_->misses;
    return nullptr;
  }
  ++impl_->hits;
  BlockData shared = std::move(data);
  if (epoch == impl_->epoch)
    impl_->insert_memory_locked(key_string, key.path, shared, use);
  return shared;
}

std::shared_ptr<BlockBytes> BlockCache::new_block(std::size_t length) {
  return impl_->buffers.make(length);
}

bool BlockCache::contains(const BlockKey& key) const {
  const std::string key_string = block_key_string(key);
  std::lock_guard lock(impl_->mutex);
  return impl_->memory_index.contains(key_string) || impl_->disk_index.contains(key_string);
}

bool BlockCache::in_memory(const BlockKey& key) const {
  const std::string key_string = block_key_string(key);
  std::lock_guard lock(impl_->mutex);
  return impl_->memory_index.contains(key_string);
}

void BlockCache::put(const BlockKey& key, BlockData data, bool to_disk) {
  if (!data)
    return;
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->insert_memory_locked(block_key_string(key), key.path, data, 0);
    epoch = impl_->epoch;
  }
  if (to_disk)
    put_on_disk(key, data, epoch);
}

std::uint64_t BlockCache::epoch() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->epoch;
}

bool BlockCache::has_disk_tier() const {
  return !impl_->config.disk_dir.empty();
}

void BlockCache::put_on_disk(const BlockKey& key, const BlockData& data, std::uint64_t epoch) {
  put_run_on_disk(key, std::span<const BlockData>(&data, 1), epoch);
}

void BlockCache::put_run_on_disk(const BlockKey& first, std::span<const BlockData> run, std::uint64_t epoch) {
  if (impl_->config.disk_dir.empty())
    return;
  // Blocks already on disk are skipped: the rest go in runs of consecutive ones. A block shorter
  // than block_size (the file's last) ends a run, as the next one would not start where it ends.
  std::vector<std::pair<BlockKey, std::vector<const BlockBytes*>>> writes;
  {
    std::lock_guard lock(impl_->mutex);
    if (epoch != impl_->epoch)
      return;
    for (std::size_t i = 0; i < run.size(); ++i) {
      BlockKey key{first.path, first.version, first.index + i};
      if (!run[i] || impl_->disk_index.contains(block_key_string(key))) {
        writes.emplace_back();  // ends the current run
        continue;
      }
      if (writes.empty() || writes.back().second.empty())
        writes.emplace_back(std::move(key), std::vector<const BlockBytes*>{});
      writes.back().second.push_back(run[i].get());
      if (run[i]->size() < impl_->config.block_size)
        writes.emplace_back();
    }
  }
  for (const auto& [key, blocks] : writes) {
    if (blocks.empty())
      continue;
    if (const std::error_code ec = impl_->disk.write_run(key, blocks)) {
      log_debug("writing cached blocks {} #{}..{}: {}", key.path, key.index, key.index + blocks.size() - 1,
                ec.message());
      continue;
    }
    std::vector<BlockKey> doomed;
    {
      std::lock_guard lock(impl_->mutex);
      ++impl_->disk_writes;
      for (std::size_t i = 0; i < blocks.size(); ++i) {
        BlockKey block{key.path, key.version, key.index + i};
        std::string key_string = block_key_string(block);
        // An invalidate() during the write may have been for this path: the copy is not kept then.
        if (epoch != impl_->epoch) {
          doomed.push_back(std::move(block));
        } else if (!impl_->disk_index.contains(key_string)) {
          impl_->disk_lru.push_front({std::move(key_string), std::move(block), blocks[i]->size()});
          impl_->disk_index[impl_->disk_lru.front().key_string] = impl_->disk_lru.begin();
          impl_->disk_bytes += blocks[i]->size();
        }
      }
      auto evicted = impl_->evict_disk_locked();
      std::move(evicted.begin(), evicted.end(), std::back_inserter(doomed));
    }
    impl_->remove_from_disk(doomed);
  }
}

void BlockCache::count_use(const BlockKey& key) {
  const std::string key_string = block_key_string(key);
  std::lock_guard lock(impl_->mutex);
  if (auto it = impl_->memory_index.find(key_string); it != impl_->memory_index.end())
    ++it->second->uses;
}

void BlockCache::release(const BlockKey& key) {
  const std::string key_string = block_key_string(key);
  std::lock_guard lock(impl_->mutex);
  if (auto it = impl_->memory_index.find(key_string);
      it != impl_->memory_index.end() && it->second->uses <= 1)
    impl_->erase_memory_locked(key_string);
}

void BlockCache::invalidate(std::string_view path) {
  std::vector<BlockKey> doomed;
  {
    std::lock_guard lock(impl_->mutex);
    ++impl_->epoch;
    for (auto it = impl_->memory_lru.begin(); it != impl_->memory_lru.end();) {
      if (it->path == path) {
        impl_->memory_bytes -= it->data->size();
        impl_->memory_index.erase(it->key);
        it = impl_->memory_lru.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = impl_->disk_lru.begin(); it != impl_->disk_lru.end();) {
      if (it->key.path == path) {
        impl_->disk_bytes -= it->bytes;
        impl_->disk_index.erase(it->key_string);
        doomed.push_back(std::move(it->key));
        it = impl_->disk_lru.erase(it);
      } else {
        ++it;
      }
    }
  }
  impl_->remove_from_disk(doomed);
}

BlockCacheStats BlockCache::stats() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->hits, impl_->misses, impl_->memory_bytes, impl_->disk_bytes, impl_->disk_writes};
}

}  // namespace cache
