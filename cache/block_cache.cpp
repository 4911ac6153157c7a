#include "cache/block_cache.h"

#include <unistd.h>

#include <algorithm>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>

#include "cache/block_buffers.h"
#include "cache/block_file.h"
#include "cache/block_key.h"

namespace cache {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBlockExtension = ".blk";

template <typename... Args>
void log_debug(spdlog::format_string_t<Args...> format, Args&&... args) {
  if (auto log = spdlog::get("cache"))
    log->debug(format, std::forward<Args>(args)...);
}

}  // namespace

struct BlockCache::Impl {
  struct MemoryEntry {
    std::string key;
    std::string path;
    BlockData data;
  };
  struct DiskEntry {
    std::string key;
    std::string path;
    fs::path file;
    std::uint64_t bytes = 0;
  };

  explicit Impl(BlockCacheConfig c) : config(std::move(c)), buffers(kFreeBuffers) {
    if (!config.disk_dir.empty())
      scan_disk();
  }

  fs::path file_for(const std::string& key_string) const {
    const std::string hash = block_key_hash(key_string);
    return config.disk_dir / hash.substr(0, 2) / (hash + std::string(kBlockExtension));
  }

  // Rebuilds the disk index from the files a previous mount left, oldest first in LRU order.
  void scan_disk() {
    std::error_code ec;
    fs::create_directories(config.disk_dir, ec);
    struct Found {
      DiskEntry entry;
      fs::file_time_type mtime;
    };
    std::vector<Found> found;
    std::vector<fs::path> junk;
    for (auto it = fs::recursive_directory_iterator(config.disk_dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec))
        continue;
      const fs::path& file = it->path();
      const std::string name = file.filename().string();
      if (name.find(".tmp.") != std::string::npos) {
        junk.push_back(file);  // an interrupted write
        continue;
      }
      if (file.extension() != kBlockExtension)
        continue;
      BlockKey key;
      if (read_block_header(file, key)) {
        junk.push_back(file);
        continue;
      }
      std::string key_string = block_key_string(key);
      if (file_for(key_string) != file) {
        junk.push_back(file);
        continue;
      }
      std::error_code size_ec, time_ec;
      const auto bytes = it->file_size(size_ec);
      const auto mtime = it->last_write_time(time_ec);
      if (size_ec || time_ec)
        continue;
      found.push_back({DiskEntry{std::move(key_string), key.path, file, bytes}, mtime});
    }
    if (ec)
      log_debug("scanning cache directory {}: {}", config.disk_dir.string(), ec.message());
    for (const auto& file : junk)
      fs::remove(file, ec);
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
    for (auto& f : found) {
      disk_bytes += f.entry.bytes;
      disk_lru.push_front(std::move(f.entry));
      disk_index[disk_lru.front().key] = disk_lru.begin();
    }
    remove_files(evict_disk_locked());
  }

  void insert_memory_locked(const std::string& key, const std::string& path, BlockData data) {
    if (auto it = memory_index.find(key); it != memory_index.end()) {
      memory_bytes -= it->second->data->size();
      memory_lru.erase(it->second);
      memory_index.erase(it);
    }
    memory_bytes += data->size();
    memory_lru.push_front({key, path, std::move(data)});
    memory_index[key] = memory_lru.begin();
    while (memory_bytes > config.memory_budget && !memory_lru.empty()) {
      memory_bytes -= memory_lru.back().data->size();
      memory_index.erase(memory_lru.back().key);
      memory_lru.pop_back();
    }
  }

  std::vector<fs::path> evict_disk_locked() {
    std::vector<fs::path> doomed;
    while (disk_bytes > config.disk_budget && !disk_lru.empty()) {
      disk_bytes -= disk_lru.back().bytes;
      disk_index.erase(disk_lru.back().key);
      doomed.push_back(std::move(disk_lru.back().file));
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

  static void remove_files(const std::vector<fs::path>& files) {
    for (const auto& file : files) {
      std::error_code ec;
      fs::remove(file, ec);
      if (ec)
        log_debug("removing cached block {}: {}", file.string(), ec.message());
    }
  }

  // Enough for a few readers' worth of blocks in flight between eviction and reuse.
  static constexpr std::size_t kFreeBuffers = 64;

  const BlockCacheConfig config;
  BlockBuffers buffers;
  mutable std::mutex mutex;
  std::list<MemoryEntry> memory_lru;  // front: most recently used
  std::unordered_map<std::string, std::list<MemoryEntry>::iterator> memory_index;
  std::uint64_t memory_bytes = 0;
  std::list<DiskEntry> disk_lru;
  std::unordered_map<std::string, std::list<DiskEntry>::iterator> disk_index;
  std::uint64_t disk_bytes = 0;
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  // Bumped by invalidate(), so work done outside the lock can tell it may have raced one.
  std::uint64_t epoch = 0;
  std::uint64_t writes = 0;  // names temporary files
};

BlockCache::BlockCache(BlockCacheConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

BlockCache::~BlockCache() = default;

std::size_t BlockCache::block_size() const {
  return impl_->config.block_size;
}

std::size_t BlockCache::memory_budget() const {
  return impl_->config.memory_budget;
}

BlockData BlockCache::get(const BlockKey& key) {
  const std::string key_string = block_key_string(key);
  fs::path file;
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(impl_->mutex);
    if (auto it = impl_->memory_index.find(key_string); it != impl_->memory_index.end()) {
      impl_->memory_lru.splice(impl_->memory_lru.begin(), impl_->memory_lru, it->second);
      ++impl_->hits;
      return it->second->data;
    }
    auto it = impl_->disk_index.find(key_string);
    if (it == impl_->disk_index.end()) {
      ++impl_->misses;
      return nullptr;
    }
    impl_->disk_lru.splice(impl_->disk_lru.begin(), impl_->disk_lru, it->second);
    file = it->second->file;
    epoch = impl_->epoch;
  }

  auto data = std::make_shared<std::vector<char>>();
  const std::error_code ec = read_block_file(file, key, *data);
  std::lock_guard lock(impl_->mutex);
  if (ec) {
    log_debug("reading cached block {}: {}", file.string(), ec.message());
    impl_->drop_disk_locked(key_string);
    Impl::remove_files({file});
    ++impl_->misses;
    return nullptr;
  }
  ++impl_->hits;
  std::error_code touch_ec;  // keeps LRU order across remounts; failure only costs accuracy
  fs::last_write_time(file, fs::file_time_type::clock::now(), touch_ec);
  BlockData shared = std::move(data);
  if (epoch == impl_->epoch)
    impl_->insert_memory_locked(key_string, key.path, shared);
  return shared;
}

std::shared_ptr<std::vector<char>> BlockCache::new_block(std::size_t length) {
  return impl_->buffers.make(length);
}

bool BlockCache::contains(const BlockKey& key) const {
  const std::string key_string = block_key_string(key);
  std::lock_guard lock(impl_->mutex);
  return impl_->memory_index.contains(key_string) || impl_->disk_index.contains(key_string);
}

void BlockCache::put(const BlockKey& key, BlockData data, bool to_disk) {
  if (!data)
    return;
  const std::string key_string = block_key_string(key);
  std::uint64_t epoch = 0;
  std::uint64_t unique = 0;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->insert_memory_locked(key_string, key.path, data);
    if (!to_disk || impl_->config.disk_dir.empty() || impl_->disk_index.contains(key_string))
      return;
    epoch = impl_->epoch;
    unique = (static_cast<std::uint64_t>(::getpid()) << 32) ^ impl_->writes++;
  }

  const fs::path file = impl_->file_for(key_string);
  if (const std::error_code ec = write_block_file(file, key, *data, unique)) {
    log_debug("writing cached block {}: {}", file.string(), ec.message());
    return;
  }
  std::error_code size_ec;
  const std::uint64_t bytes = fs::file_size(file, size_ec);
  std::vector<fs::path> doomed;
  {
    std::lock_guard lock(impl_->mutex);
    // An invalidate() during the write may have been for this path: keep the file only if the
    // block is still in memory (invalidate removes it there too).
    const bool raced = epoch != impl_->epoch && !impl_->memory_index.contains(key_string);
    if (raced || size_ec) {
      doomed.push_back(file);
    } else if (!impl_->disk_index.contains(key_string)) {
      impl_->disk_lru.push_front({key_string, key.path, file, bytes});
      impl_->disk_index[key_string] = impl_->disk_lru.begin();
      impl_->disk_bytes += bytes;
      doomed = impl_->evict_disk_locked();
    }
  }
  Impl::remove_files(doomed);
}

void BlockCache::invalidate(std::string_view path) {
  std::vector<fs::path> doomed;
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
      if (it->path == path) {
        impl_->disk_bytes -= it->bytes;
        impl_->disk_index.erase(it->key);
        doomed.push_back(std::move(it->file));
        it = impl_->disk_lru.erase(it);
      } else {
        ++it;
      }
    }
  }
  Impl::remove_files(doomed);
}

BlockCacheStats BlockCache::stats() const {
  std::lock_guard lock(impl_->mutex);
  return {impl_->hits, impl_->misses, impl_->memory_bytes, impl_->disk_bytes};
}

}  // namespace cache
