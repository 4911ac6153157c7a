#include "cache/fetch_table.h"

#include <pthread.h>

#include <sys/resource.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "cache/block_key.h"
#include "cache/file_reader.h"

namespace cache {

class FetchTable::Fetch {
 public:
  explicit Fetch(std::string key) : key(std::move(key)) {}

  const std::string key;
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  FetchResult result;
};

FetchTable::Claim::Claim(Claim&& other) noexcept
    : table_(std::exchange(other.table_, nullptr)), fetch_(std::move(other.fetch_)) {}

FetchTable::Claim& FetchTable::Claim::operator=(Claim&& other) noexcept {
  if (this != &other) {
    if (fetch_)
      finish(FetchResult::gave_up());
    table_ = std::exchange(other.table_, nullptr);
    fetch_ = std::move(other.fetch_);
  }
  return *this;
}

FetchTable::Claim::~Claim() {
  if (fetch_)
    finish(FetchResult::gave_up());
}

void FetchTable::Claim::finish(FetchResult result) {
  if (!fetch_)
    return;
  table_->finish(fetch_, std::move(result));
  fetch_.reset();
}

void FetchTable::Claim::finish_and_store(BlockCache& blocks, BlockKey key, BlockData data) {
  if (!fetch_)
    return;
  // In memory before the fetch is forgotten: a reader that comes later finds it there.
  const std::uint64_t epoch = blocks.epoch();
  blocks.put(key, data, /*to_disk=*/false);
  finish(FetchResult::fetched(data));
  if (blocks.has_disk_tier())
    table_->store(blocks, std::move(key), std::move(data), epoch);
}

FetchTable::~FetchTable() {
  {
    std::lock_guard lock(store_mutex_);
    stopping_ = true;
  }
  store_cv_.notify_all();
  if (store_thread_.joinable())
    store_thread_.join();
}

FetchTable::Joined FetchTable::join_or_claim(const BlockKey& key) {
  std::string key_string = block_key_string(key);
  std::lock_guard lock(mutex_);
  auto [it, inserted] = in_flight_.try_emplace(key_string);
  if (!inserted)
    return {Claim(), it->second};
  it->second = std::make_shared<Fetch>(std::move(key_string));
  return {Claim(this, it->second), nullptr};
}

FetchResult FetchTable::wait(const std::shared_ptr<Fetch>& fetch) {
  std::unique_lock lock(fetch->mutex);
  fetch->done_cv.wait(lock, [&] { return fetch->done; });
  return fetch->result;
}

void FetchTable::finish(const std::shared_ptr<Fetch>& fetch, FetchResult result) {
  forget(fetch);
  deliver(fetch, std::move(result));
}

void FetchTable::deliver(const std::shared_ptr<Fetch>& fetch, FetchResult result) {
  {
    std::lock_guard lock(fetch->mutex);
    fetch->result = std::move(result);
    fetch->done = true;
  }
  fetch->done_cv.notify_all();
}

void FetchTable::forget(const std::shared_ptr<Fetch>& fetch) {
  std::lock_guard lock(mutex_);
  if (auto it = in_flight_.find(fetch->key); it != in_flight_.end() && it->second == fetch)
    in_flight_.erase(it);
}

void FetchTable::store(BlockCache& blocks, BlockKey key, BlockData data, std::uint64_t epoch) {
  std::unique_lock lock(store_mutex_);
  if (stopping_ || queued_bytes_ + data->size() > kMaxQueuedBytes)
    return;
  queued_bytes_ += data->size();
  stores_.push_back({&blocks, std::move(key), std::move(data), epoch});
  if (!store_thread_.joinable())
    store_thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "ftpfs-store");
      run_stores();
    });
  lock.unlock();
  store_cv_.notify_one();
}

void FetchTable::run_stores() {
  // Writing the disk tier is background work; a reader must never wait for it. The writes are
  // O_DIRECT (cache/disk_tier.h): little CPU, mostly waiting for the disk. The lowest normal
  // priority still gets a turn now and then on busy CPUs, where SCHED_IDLE would starve it.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
  // Whether `next` is the block after `last`, of the same version in the same cache, put in memory
  // in the same epoch.
  const auto continues = [](const Store& last, const Store& next) {
    return next.blocks == last.blocks && next.epoch == last.epoch && next.key.index == last.key.index + 1 &&
           next.key.version == last.key.version && next.key.path == last.key.path;
  };
  std::unique_lock lock(store_mutex_);
  while (true) {
    store_cv_.wait(lock, [&] { return stopping_ || !stores_.empty(); });
    if (stores_.empty())
      return;  // stopping, and everything queued is stored
    // What is queued of consecutive blocks goes to disk in one write: a reader faster than the
    // disk (or than the CPU time this thread gets) leaves a run of them here.
    std::vector<Store> run;
    std::size_t run_bytes = 0;
    while (!stores_.empty() && run_bytes < kMaxRunBytes &&
           (run.empty() || continues(run.back(), stores_.front()))) {
      run_bytes += stores_.front().data->size();
      run.push_back(std::move(stores_.front()));
      stores_.pop_front();
    }
    lock.unlock();
    std::vector<BlockData> data;
    for (auto& s : run)
      data.push_back(std::move(s.data));
    run.front().blocks->put_run_on_disk(run.front().key, data, run.front().epoch);
    data.clear();  // the buffers go back before the lock is taken again
    lock.lock();
    queued_bytes_ -= run_bytes;
  }
}

std::shared_ptr<FetchTable> make_fetch_table() {
  return std::make_shared<FetchTable>();
}

}  // namespace cache
