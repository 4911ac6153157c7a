#include "cache/file_reader.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "cache/block_read.h"
#include "cache/fetch_table.h"

namespace cache {

namespace {

constexpr std::uint64_t kNoBlock = std::numeric_limits<std::uint64_t>::max();

// Kernel readahead and a multithreaded FUSE loop deliver a sequential reader's requests slightly
// out of order; a read this far behind the previous one's end still counts as sequential.
constexpr std::uint64_t kReorderSlack = 8u << 20;

}  // namespace

struct FileReader::Impl {
  struct Job {
    std::uint64_t index = 0;
    FetchTable::Claim claim;
    // The block was in the cache when queued (likely the disk tier after a remount): load it into
    // memory ahead of the reader instead of fetching it.
    bool cached = false;
  };
  struct Worker {
    std::deque<Job> queue;
    std::uint64_t queued_end = kNoBlock;  // the block after the last queued one
    std::thread thread;
  };

  Impl(BlockCache& b, BlockSource& s, std::shared_ptr<FetchTable> f, std::string p, FileVersion v,
       ReadaheadConfig c)
      : blocks(b),
        source(s),
        fetches(std::move(f)),
        path(std::move(p)),
        version(v),
        config(c),
        block_size(std::max<std::size_t>(1, b.block_size())),
        block_count((v.size + block_size - 1) / block_size) {
    // Readahead that does not fit in the memory tier would be evicted before it is read.
    const std::size_t window_bytes = std::min(config.max_window, blocks.memory_budget() / 4);
    max_window_blocks = std::max<std::uint64_t>(1, window_bytes / block_size);
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
      ++generation;
      for (auto& w : workers)
        w->queue.clear();  // abandons the claims: waiters retry
    }
    work_cv.notify_all();
    for (auto& w : workers)
      w->thread.join();
  }

  BlockKey key(std::uint64_t index) const { return {path, version, index}; }
  std::size_t length_of(std::uint64_t index) const {
    return static_cast<std::size_t>(std::min<std::uint64_t>(block_size, version.size - index * block_size));
  }

  // Hands a fetched block to the cache (when whole) and to everyone waiting for it.
  void publish(FetchTable::Claim& claim, std::uint64_t index, const BlockRead& r) {
    if (r.canceled)
      return;  // the claim is abandoned when dropped
    if (r.ec) {
      claim.finish(FetchResult::failed(r.ec));
      return;
    }
    if (r.complete)
      claim.finish_and_store(blocks, key(index), r.data);
    else
      claim.finish(FetchResult::fetched(r.data));
  }

  // --- scheduling (caller holds mutex) ---

  void ensure_workers_locked() {
    if (!workers.empty())
      return;
    const unsigned count = std::max(1u, config.parallel_streams);
    for (unsigned i = 0; i < count; ++i)
      workers.push_back(std::make_unique<Worker>());
    for (auto& w : workers)
      w->thread = std::thread([this, worker = w.get()] { run_worker(*worker); });
  }

  void cancel_locked() {
    ++generation;
    for (auto& w : workers) {
      w->queue.clear();
      w->queued_end = kNoBlock;
    }
    frontier = 0;
    window = 0;
  }

  // Claims the blocks of [first, last) that are neither cached nor being fetched by someone else
  // and queues them on one worker, whose stream will read them in order.
  void enqueue_locked(Worker& w, std::uint64_t first, std::uint64_t last) {
    for (std::uint64_t i = first; i < last; ++i) {
      const bool cached = blocks.contains(key(i));
      auto joined = fetches->join_or_claim(key(i));
      if (joined.claim)
        w.queue.push_back({i, std::move(joined.claim), cached});
    }
    w.queued_end = last;
  }

  void schedule_locked(std::uint64_t first, std::uint64_t last) {
    if (first >= last)
      return;
    ensure_workers_locked();
    Worker* next = workers.front().get();
    for (auto& w : workers) {
      if (w->queued_end == first)
        next = w.get();
    }
    const std::uint64_t parts = workers.size();
    const std::uint64_t segment_blocks = std::max<std::uint64_t>(1, config.parallel_segment / block_size);
    const std::uint64_t count = last - first;
    if (parts < 2 || count < 2 * segment_blocks) {
      enqueue_locked(*next, first, last);
    } else {
      // Far-ahead ranges go to other streams; the first part continues the stream already open.
      const std::uint64_t split = std::min(parts, count / segment_blocks);
      const std::uint64_t part = (count + split - 1) / split;
      std::vector<Worker*> order{next};
      for (auto& w : workers) {
        if (w.get() != next)
          order.push_back(w.get());
      }
      for (std::uint64_t k = 0; k < split; ++k) {
        const std::uint64_t a = first + k * part;
        enqueue_locked(*order[k], a, std::min(last, a + part));
      }
    }
    work_cv.notify_all();
  }

  // Updates the sequential state for a read of blocks [b0, b1] and queues readahead.
  void on_read_locked(std::uint64_t offset, std::uint64_t end, std::uint64_t b0, std::uint64_t b1) {
    const bool reordered =
        window > 0 && offset < last_end && offset >= run_start && last_end - offset <= kReorderSlack;
    const bool sequential = offset == last_end || reordered ||
                            (window > 0 && offset > last_end && offset < frontier * block_size);
    last_end = std::max(last_end, end);
    if (!sequential) {
      cancel_locked();
      last_end = end;
      run_start = offset;
      return;
    }
    window = window == 0 ? 1 : std::min(window * 2, max_window_blocks);
    frontier = std::max(frontier, b0);
    const std::uint64_t refill_below = std::min(b1 + 1 + window / 2, block_count);
    if (frontier > b1 && frontier >= refill_below)
      return;
    const std::uint64_t target = std::min(b1 + 1 + window, block_count);
    if (frontier <= b0 && target <= b1 + 1)
      return;  // nothing beyond this read's own blocks (a small file): fetch them here, no threads
    schedule_locked(frontier, target);
    frontier = std::max(frontier, target);
  }

  // --- background streams ---

  void run_worker(Worker& w) {
    std::unique_ptr<ByteStream> stream;
    std::uint64_t stream_block = kNoBlock;  // the block the stream delivers next
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex);
    seen = generation;
    const auto has_work = [&] { return stopping || !w.queue.empty() || generation != seen; };
    while (true) {
      if (stream && !wait_with_open_stream(lock, has_work)) {
        // An open stream holds a pooled session. Without giving idle ones back, the readahead of a
        // few open files could hold every session while another reader waits for one: a deadlock.
        lock.unlock();
        stream.reset();
        stream_block = kNoBlock;
        lock.lock();
        continue;
      }
      work_cv.wait(lock, has_work);
      if (stopping)
        break;
      if (generation != seen) {
        seen = generation;
        lock.unlock();
        stream.reset();  // a seek: this stream's position is no longer useful
        stream_block = kNoBlock;
        lock.lock();
        continue;
      }
      Job job = std::move(w.queue.front());
      w.queue.pop_front();
      const std::uint64_t gen = generation;
      lock.unlock();

      const auto canceled = [&] { return generation.load() != gen; };
      if (job.cached) {
        // get() promotes a disk block to memory; the reader then finds it there.
        if (auto data = blocks.get(key(job.index))) {
          job.claim.finish(FetchResult::fetched(std::move(data)));
          lock.lock();
          continue;
        }
      }
      if (!stream || stream_block != job.index) {
        stream.reset();
        if (auto ec = source.open(path, job.index * block_size, stream)) {
          job.claim.finish(FetchResult::failed(ec));
          stream.reset();
          stream_block = kNoBlock;
          lock.lock();
          continue;
        }
        stream_block = job.index;
      }
      BlockRead r = read_block(blocks, *stream, length_of(job.index), job.index + 1 == block_count, canceled);
      publish(job.claim, job.index, r);
      if (r.complete && stream_block + 1 < block_count) {
        ++stream_block;
      } else {  // short, failed, or at the end of the file: nothing more to read from this stream
        stream.reset();
        stream_block = kNoBlock;
      }
      lock.lock();
    }
    lock.unlock();
    stream.reset();
  }

  // Waits for work while keeping the worker's stream open; false when the stream should be closed
  // instead (someone else wants a stream, or it sat idle for config.idle_stream_close).
  template <typename HasWork>
  bool wait_with_open_stream(std::unique_lock<std::mutex>& lock, HasWork has_work) {
    constexpr auto kPoll = std::chrono::milliseconds(20);
    const auto deadline = std::chrono::steady_clock::now() + config.idle_stream_close;
    while (!has_work()) {
      if (source.contended() || std::chrono::steady_clock::now() >= deadline)
        return false;
      work_cv.wait_for(lock, kPoll);
    }
    return true;
  }

  // --- foreground fetch of a run of missing blocks ---

  // Claims `first` (already claimed by the caller) and the following blocks up to `last` that
  // nobody has, reads them through one stream and drops it (aborting the transfer).
  std::error_code fetch_run(FetchTable::Claim first_claim, std::uint64_t first, std::uint64_t last,
                            std::map<std::uint64_t, BlockData>& got) {
    std::vector<Job> jobs;
    jobs.push_back({first, std::move(first_claim)});
    for (std::uint64_t i = first + 1; i <= last; ++i) {
      if (blocks.contains(key(i)))
        break;
      auto joined = fetches->join_or_claim(key(i));
      if (!joined.claim)
        break;
      jobs.push_back({i, std::move(joined.claim)});
    }
    std::unique_ptr<ByteStream> stream;
    if (auto ec = source.open(path, first * block_size, stream)) {
      for (auto& job : jobs)
        job.claim.finish(FetchResult::failed(ec));
      return ec;
    }
    for (auto& job : jobs) {
      BlockRead r = read_block(blocks, *stream, length_of(job.index), job.index + 1 == block_count,
                               [] { return false; });
      publish(job.claim, job.index, r);
      if (r.ec)
        return r.ec;
      got[job.index] = r.data;
      if (!r.complete)
        break;  // the rest are abandoned; the reader stops at this short block
    }
    return {};
  }

  std::error_code obtain(std::uint64_t index, std::uint64_t last, std::map<std::uint64_t, BlockData>& got) {
    while (true) {
      if (auto it = got.find(index); it != got.end())
        return {};
      if (auto data = blocks.get(key(index))) {
        got[index] = std::move(data);
        return {};
      }
      auto joined = fetches->join_or_claim(key(index));
      if (joined.fetch) {
        FetchResult r = FetchTable::wait(joined.fetch);
        if (r.abandoned)
          continue;
        if (r.ec)
          return r.ec;
        got[index] = std::move(r.data);
        return {};
      }
      // It may have landed between the lookup and the claim.
      if (auto data = blocks.get(key(index))) {
        joined.claim.finish(FetchResult::fetched(data));
        got[index] = std::move(data);
        return {};
      }
      return fetch_run(std::move(joined.claim), index, last, got);
    }
  }

  std::error_code read(std::uint64_t offset, std::span<char> buf, std::size_t& n) {
    n = 0;
    if (buf.empty() || offset >= version.size)
      return {};
    const std::uint64_t end = std::min<std::uint64_t>(offset + buf.size(), version.size);
    const std::uint64_t b0 = offset / block_size;
    const std::uint64_t b1 = (end - 1) / block_size;
    {
      std::lock_guard lock(mutex);
      on_read_locked(offset, end, b0, b1);
    }
    std::map<std::uint64_t, BlockData> got;
    for (std::uint64_t i = b0; i <= b1; ++i) {
      if (auto ec = obtain(i, b1, got))
        return ec;
      const BlockData& data = got[i];
      const std::uint64_t block_start = i * block_size;
      const std::uint64_t from = std::max(offset, block_start);
      const std::uint64_t to = std::min<std::uint64_t>(end, block_start + data->size());
      if (to > from) {
        std::memcpy(buf.data() + n, data->data() + (from - block_start), to - from);
        n += to - from;
      }
      if (data->size() < length_of(i))
        break;  // the file ended early on the server
    }
    return {};
  }

  BlockCache& blocks;
  BlockSource& source;
  const std::shared_ptr<FetchTable> fetches;
  const std::string path;
  const FileVersion version;
  const ReadaheadConfig config;
  const std::size_t block_size;
  const std::uint64_t block_count;
  std::uint64_t max_window_blocks = 1;

  std::mutex mutex;
  std::condition_variable work_cv;
  bool stopping = false;
  // Bumped on a seek and at close: queued readahead is dropped. Changed under the mutex; atomic so
  // that a worker can poll it in the middle of a block.
  std::atomic<std::uint64_t> generation{0};
  std::uint64_t last_end = 0;   // where the furthest read of the current run ended
  std::uint64_t run_start = 0;  // where the current sequential run began
  std::uint64_t window = 0;     // readahead in blocks; 0 while not sequential
  std::uint64_t frontier = 0;   // readahead is queued up to this block
  std::vector<std::unique_ptr<Worker>> workers;
};

FileReader::FileReader(BlockCache& blocks, BlockSource& source, std::shared_ptr<FetchTable> fetches,
                       std::string path, FileVersion version, ReadaheadConfig config)
    : impl_(std::make_unique<Impl>(blocks, source, std::move(fetches), std::move(path), version, config)) {}

FileReader::~FileReader() = default;

std::error_code FileReader::read(std::uint64_t offset, std::span<char> buf, std::size_t& n) {
  return impl_->read(offset, buf, n);
}

}  // namespace cache
