#include "cache/file_prefetcher.h"

#include <algorithm>
#include <deque>

#include "cache/block_read.h"

namespace cache {

FilePrefetcher::FilePrefetcher(BlockCache& blocks, BlockSource& source, std::shared_ptr<FetchTable> fetches,
                               PrefetchConfig config)
    : blocks_(blocks), source_(source), fetches_(std::move(fetches)), config_(config) {}

FilePrefetcher::~FilePrefetcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
    for (ByteStream* stream : active_)
      stream->cancel();
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void FilePrefetcher::add(std::vector<PrefetchFile> files) {
  if (files.empty() || config_.streams == 0)
    return;
  {
    std::lock_guard lock(mutex_);
    if (stopping_)
      return;
    for (auto& f : files)
      queue_.push_back(std::move(f));
    if (threads_.empty()) {
      for (unsigned i = 0; i < config_.streams; ++i)
        threads_.emplace_back([this] { run_stream(); });
    }
  }
  cv_.notify_all();
}

bool FilePrefetcher::wait_idle(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, limit, [&] { return queue_.empty() && busy_ == 0; });
}

PrefetchStats FilePrefetcher::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void FilePrefetcher::run_stream() {
  // Sessions stayed busy this many tries in a row (about half a second): the readers and writers
  // need them all, and the queue is dropped rather than polled for ever.
  constexpr int kMaxRefusals = 100;
  int refusals = 0;
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_)
      return;
    PrefetchFile file = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    const bool done = fetch(file);
    lock.lock();
    --busy_;
    refusals = done ? 0 : refusals + 1;
    if (refusals >= kMaxRefusals) {
      stats_.files_skipped += queue_.size() + 1;
      queue_.clear();
      refusals = 0;
    } else if (!done && !stopping_) {
      // Every spare session is in use by readers and writers: they come first. Ask again shortly.
      queue_.push_front(std::move(file));
      cv_.wait_for(lock, config_.spare_retry, [&] { return stopping_; });
    }
    cv_.notify_all();  // wait_idle
  }
}

bool FilePrefetcher::fetch(const PrefetchFile& file) {
  const std::size_t block_size = std::max<std::size_t>(1, blocks_.block_size());
  const std::uint64_t count = (file.version.size + block_size - 1) / block_size;
  const auto skipped = [&] {
    std::lock_guard lock(mutex_);
    ++stats_.files_skipped;
    return true;
  };
  // All blocks or none: a file of which a reader already has or fetches a part is that reader's.
  std::vector<FetchTable::Claim> claims;
  for (std::uint64_t i = 0; i < count; ++i) {
    const BlockKey key{file.path, file.version, i};
    auto joined = fetches_->join_or_claim(key);
    // Looked up after claiming: a fetch that finished just before is in the cache by then.
    if (!joined.claim || blocks_.contains(key))
      return skipped();
    claims.push_back(std::move(joined.claim));
  }
  if (claims.empty())
    return skipped();
  std::deque<QueuedBlock> queued;
  std::unique_ptr<ByteStream> stream;  // destroyed before the buffers it receives into
  if (auto ec = source_.open_if_spare(file.path, 0, stream)) {
    // Dropping the claims abandons them: a reader waiting meanwhile fetches the block itself.
    if (ec == std::errc::resource_unavailable_try_again)
      return false;
    return skipped();  // a failure is the reader's to see, with its own request
  }
  // The destructor cancels waits on active streams, so stopping never waits for a slow server.
  struct Active {
    FilePrefetcher& owner;
    ByteStream* stream;
    ~Active() {
      std::lock_guard lock(owner.mutex_);
      std::erase(owner.active_, stream);
    }
  };
  {
    std::lock_guard lock(mutex_);
    if (stopping_)
      return skipped();
    active_.push_back(stream.get());
  }
  const Active active{*this, stream.get()};
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t length =
        static_cast<std::size_t>(std::min<std::uint64_t>(block_size, file.version.size - i * block_size));
    queued.emplace_back(blocks_, *stream, i, length, i + 1 == count);  // the whole file on the wire
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    BlockRead r = queued[i].collect(*stream);
    if (r.ec || !r.complete)
      return skipped();  // the rest of the claims are abandoned; readers fetch for themselves
    claims[i].finish_and_store(blocks_, BlockKey{file.path, file.version, i}, std::move(r.data));
  }
  std::lock_guard lock(mutex_);
  ++stats_.files_fetched;
  return true;
}

}  // namespace cache
