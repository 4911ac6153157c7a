#include "cache/file_prefetcher.h"

#include <algorithm>

namespace cache {

// One file being fetched: the right to each of its blocks, and the buffers they arrive in.
struct FilePrefetcher::Job {
  PrefetchFile file;
  std::vector<FetchTable::Claim> claims;
  std::vector<std::shared_ptr<BlockBytes>> blocks;
  std::shared_ptr<BlockSource::WholeFetch> fetch;  // set once started, for cancel()
  bool starting = true;                            // start_more() is still in fetch_whole_if_spare() for it
  bool cancelled = false;
};

FilePrefetcher::FilePrefetcher(BlockCache& blocks, BlockSource& source, std::shared_ptr<FetchTable> fetches,
                               PrefetchConfig config)
    : blocks_(blocks), source_(source), fetches_(std::move(fetches)), config_(config) {}

FilePrefetcher::~FilePrefetcher() {
  std::vector<std::shared_ptr<BlockSource::WholeFetch>> running;
  std::unique_lock lock(mutex_);
  stopping_ = true;
  queue_.clear();
  for (const auto& job : in_flight_) {
    job->cancelled = true;
    if (job->fetch)
      running.push_back(job->fetch);
  }
  lock.unlock();
  for (auto& fetch : running)
    fetch->cancel();
  lock.lock();
  // Their completions still come, and use this object until they are out of finish().
  idle_cv_.wait(lock, [&] { return in_flight_.empty() && completing_ == 0; });
}

void FilePrefetcher::add(std::vector<PrefetchFile> files) {
  if (config_.streams == 0)
    return;
  {
    std::lock_guard lock(mutex_);
    if (stopping_)
      return;
    for (auto& f : files)
      queue_.push_back(std::move(f));
  }
  start_more();
}

bool FilePrefetcher::wait_idle(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return idle_cv_.wait_for(lock, limit,
                           [&] { return queue_.empty() && in_flight_.empty() && completing_ == 0; });
}

PrefetchStats FilePrefetcher::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void FilePrefetcher::start_more() {
  const std::size_t block_size = std::max<std::size_t>(1, blocks_.block_size());
  for (;;) {
    auto job = std::make_shared<Job>();
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.empty() || in_flight_.size() >= config_.streams) {
        idle_cv_.notify_all();
        return;
      }
      job->file = std::move(queue_.front());
      queue_.pop_front();
    }
    const PrefetchFile& file = job->file;
    const std::uint64_t count = (file.version.size + block_size - 1) / block_size;
    // All blocks or none: a file of which a reader already has or fetches a part is that reader's.
    bool claimable = count > 0;
    for (std::uint64_t i = 0; i < count && claimable; ++i) {
      const BlockKey key{file.path, file.version, i};
      auto joined = fetches_->join_or_claim(key);
      // Looked up after claiming: a fetch that finished just before is in the cache by then.
      claimable = joined.claim && !blocks_.contains(key);
      if (claimable)
        job->claims.push_back(std::move(joined.claim));
    }
    if (!claimable) {
      std::lock_guard lock(mutex_);
      ++stats_.files_skipped;
      continue;  // dropping the claims abandons them: waiting readers fetch for themselves
    }
    std::vector<std::span<char>> buffers;
    for (std::uint64_t i = 0; i < count; ++i) {
      const auto length =
          static_cast<std::size_t>(std::min<std::uint64_t>(block_size, file.version.size - i * block_size));
      job->blocks.push_back(blocks_.new_block(length));
      buffers.emplace_back(job->blocks.back()->data(), length);
    }
    {
      std::lock_guard lock(mutex_);
      in_flight_.insert(job);
    }
    auto fetch = source_.fetch_whole_if_spare(
        file.path, std::move(buffers), config_.spare_patience,
        [this, job](std::error_code ec, std::size_t bytes) { finish(job, ec, bytes); });
    std::unique_lock lock(mutex_);
    job->starting = false;
    if (in_flight_.contains(job)) {
      job->fetch = std::move(fetch);
      if (job->cancelled && job->fetch) {
        auto f = job->fetch;
        lock.unlock();
        f->cancel();  // the destructor ran while this one was starting
      }
    }
  }
}

void FilePrefetcher::finish(const std::shared_ptr<Job>& job, std::error_code ec, std::size_t bytes) {
  {
    std::lock_guard lock(mutex_);
    ++completing_;
  }
  const bool whole = !ec && bytes == job->file.version.size;
  if (whole) {
    for (std::size_t i = 0; i < job->claims.size(); ++i)
      job->claims[i].finish_and_store(blocks_, BlockKey{job->file.path, job->file.version, i},
                                      std::move(job->blocks[i]));
  }
  // Otherwise the claims are abandoned with the job: readers fetch for themselves and see any error
  // with their own request (a file shorter than listed is never cached short).
  job->claims.clear();
  bool from_start_more = false;
  {
    std::lock_guard lock(mutex_);
    in_flight_.erase(job);
    from_start_more = job->starting;
    if (whole) {
      ++stats_.files_fetched;
    } else {
      ++stats_.files_skipped;
      if (ec == std::errc::resource_unavailable_try_again) {
        // No session was spare for a while: readers and writers need them all.
        stats_.files_skipped += queue_.size();
        queue_.clear();
      }
    }
  }
  // A completion that came before fetch_whole_if_spare() returned is inside start_more(), whose
  // loop goes on by itself; calling it again here would nest one level per file.
  if (!from_start_more)
    start_more();
  std::lock_guard lock(mutex_);
  --completing_;
  // Under the lock, and the last thing done here: once it is released the destructor may return.
  idle_cv_.notify_all();
}

}  // namespace cache
