#include "cache/file_reader.h"

#include <pthread.h>

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

// How far ahead of a sequential reader's furthest read a request may come and still continue its
// run: one the kernel sent later overtook those before it. The kernel sends at most its readahead
// window (1 MiB, fs/fuse_adapter.cpp) at once; a jump further ahead is a seek, whose gap a stream
// would otherwise download for nothing.
constexpr std::uint64_t kOvertakeSlack = 2u << 20;

// How far behind its furthest read a sequential reader's blocks leave the memory tier. Requests in
// flight at once (the kernel's readahead) are rarely further apart; a block released too early is
// only read again from the disk tier.
constexpr std::uint64_t kReleaseLag = 4u << 20;

// The largest read request the kernel sends (fs/fuse_adapter.cpp): its readahead window.
constexpr std::uint64_t kKernelRequest = 1u << 20;

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
    ByteStream* active = nullptr;         // the worker's open stream, to cancel a wait on it
    std::thread thread;
  };
  // A job whose block is queued on the worker's stream.
  struct InFlight {
    Job job;
    std::unique_ptr<QueuedBlock> block;
    std::uint64_t generation = 0;
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
      for (auto& w : workers) {
        w->queue.clear();  // abandons the claims: waiters retry
        if (w->active)
          w->active->cancel();
      }
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
      w->thread = std::thread([this, worker = w.get()] {
        pthread_setname_np(pthread_self(), "ftpfs-readahead");
        run_worker(*worker);
      });
  }

  void cancel_locked() {
    ++generation;
    for (auto& w : workers) {
      w->queue.clear();
      w->queued_end = kNoBlock;
      if (w->active)
        w->active->cancel();  // its blocks are not wanted any more: stop waiting for them
    }
    frontier = 0;
    window = 0;
  }

  // Claims the blocks of [first, last) that nobody else is fetching and queues them on one worker,
  // whose stream reads them in order; cached ones are loaded from the cache instead. A few blocks
  // found only on disk between missing ones (a disk tier with gaps) come from the stream as well:
  // taking them from a transfer that is running anyway costs less than a new REST+RETR after each.
  void enqueue_locked(Worker& w, std::uint64_t first, std::uint64_t last) {
    const std::size_t from = w.queue.size();
    for (std::uint64_t i = first; i < last; ++i) {
      auto joined = fetches->join_or_claim(key(i));
      // Looked up after claiming: a fetch that finished just before is in the cache by then.
      if (joined.claim)
        w.queue.push_back({i, std::move(joined.claim), blocks.contains(key(i))});
    }
    const std::size_t min_cached_run = pipeline_blocks();
    for (std::size_t k = from; k < w.queue.size();) {
      std::size_t end = k;
      while (end < w.queue.size() && w.queue[end].cached && !blocks.in_memory(key(w.queue[end].index)) &&
             (end == k || w.queue[end].index == w.queue[end - 1].index + 1))
        ++end;
      const bool between_fetches = k > from || end < w.queue.size();
      if (end - k > 0 && end - k < min_cached_run && between_fetches) {
        for (std::size_t j = k; j < end; ++j)
          w.queue[j].cached = false;
      }
      k = std::max(end, k + 1);
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
    // Within a run, the kernel's concurrent requests may come a little behind the furthest read, or
    // a little ahead of it when one sent later overtook the ones before.
    const bool reordered =
        window > 0 && offset < last_end && offset >= run_start && last_end - offset <= kReorderSlack;
    const bool overtaken = window > 0 && offset > last_end && offset - last_end <= kOvertakeSlack;
    const bool sequential = offset == last_end || reordered || overtaken ||
                            (window > 0 && offset > last_end && offset < frontier * block_size);
    last_end = std::max(last_end, end);
    if (!sequential) {
      cancel_locked();
      last_end = end;
      run_start = offset;
      release_from = b0;
      counted_to = b0;
      return;
    }
    release_consumed_locked();
    // The window grows only while reads find their blocks still on the way: the stream is slower
    // than the reader and needs to be further ahead (or split into parallel streams). A reader
    // slower than the network keeps a small window, so few blocks are in memory at once.
    if (window == 0)
      window = 1;
    else if (stalled)
      window = std::min(window * 2, max_window_blocks);
    stalled = false;
    // Blocks an overtaking request skipped are still to be read, by the requests it overtook: the
    // readahead goes through them instead of jumping.
    if (!overtaken)
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

  // A sequential reader's blocks, once it is past them, are in the kernel's page cache: they leave
  // the memory tier (BlockCache::release) instead of filling it, and their buffers are reused while
  // still warm. Reads arrive a little out of order, so only blocks kReleaseLag behind go.
  void release_consumed_locked() {
    if (last_end <= kReleaseLag)
      return;
    const std::uint64_t behind = (last_end - kReleaseLag) / block_size;
    for (; release_from < behind; ++release_from)
      blocks.release(key(release_from));
  }

  // A file read from its start to its end in one sequential run (cp, cat, tar of small files): all
  // of it is in the kernel's page cache now, the blocks still held for late reads included.
  void release_finished_run() {
    std::lock_guard lock(mutex);
    if (window == 0 || run_start != 0)
      return;
    for (; release_from < block_count; ++release_from)
      blocks.release(key(release_from));
  }

  // --- background streams ---

  // Blocks a worker keeps queued on its stream, so the connection is received into while the
  // worker hands the oldest one on.
  std::size_t pipeline_blocks() const { return std::max<std::size_t>(2, (1u << 20) / block_size); }
  std::size_t wake_group_blocks() const { return std::max<std::size_t>(1, kKernelRequest / block_size); }

  void run_worker(Worker& w) {
    std::unique_ptr<ByteStream> stream;
    std::uint64_t stream_block = kNoBlock;  // the block the stream delivers after those in flight
    std::deque<InFlight> in_flight;         // in stream order
    std::unique_lock lock(mutex);
    std::uint64_t seen = generation;
    const auto has_work = [&] { return stopping || !w.queue.empty() || generation != seen; };
    // Ends the stream and abandons what is in flight on it (waiters then fetch for themselves).
    const auto drop_stream = [&] {
      w.active = nullptr;
      lock.unlock();
      stream.reset();  // before the buffers it may be receiving into
      in_flight.clear();
      stream_block = kNoBlock;
      lock.lock();
    };
    while (true) {
      if (in_flight.empty()) {
        if (stream && !wait_with_open_stream(lock, has_work)) {
          // An open stream holds a pooled session. Without giving idle ones back, the readahead of a
          // few open files could hold every session while another reader waits for one: a deadlock.
          drop_stream();
          continue;
        }
        work_cv.wait(lock, has_work);
      }
      if (stopping)
        break;
      if (generation != seen) {
        seen = generation;
        drop_stream();  // a seek: this stream's position is no longer useful
        continue;
      }
      // Keep the pipeline full with the jobs that continue the stream.
      while (in_flight.size() < pipeline_blocks() && !w.queue.empty() && !w.queue.front().cached &&
             (in_flight.empty() || w.queue.front().index == stream_block)) {
        Job job = std::move(w.queue.front());
        w.queue.pop_front();
        if (!stream || stream_block != job.index) {
          drop_stream();
          std::unique_ptr<ByteStream> opened;
          lock.unlock();
          const std::error_code ec = source.open(path, job.index * block_size, opened);
          lock.lock();
          if (ec) {
            job.claim.finish(FetchResult::failed(ec));
            continue;
          }
          if (generation != seen || stopping) {
            lock.unlock();
            opened.reset();  // a seek came meanwhile: the job is abandoned with its claim
            lock.lock();
            break;
          }
          stream = std::move(opened);
          w.active = stream.get();
          stream_block = job.index;
        }
        const std::uint64_t index = job.index;
        // Blocks are handed on in groups of a kernel request's size, which a reader waits for as a
        // whole anyway: one wake-up of this thread per group, not per block (each costs the I/O
        // thread a system call). A block queued when none is in flight wakes alone: a reader may be
        // waiting for just that one.
        const bool quiet = !in_flight.empty() && (index + 1) % wake_group_blocks() != 0;
        auto block = std::make_unique<QueuedBlock>(blocks, *stream, index, length_of(index),
                                                   index + 1 == block_count, quiet);
        in_flight.push_back({std::move(job), std::move(block), generation});
        ++stream_block;
      }
      if (!in_flight.empty()) {
        InFlight& front = in_flight.front();
        lock.unlock();
        BlockRead r = front.block->collect(*stream);
        // A wait cancelled by a seek or a close is no answer: the claim is abandoned, not failed.
        const bool cancelled = r.ec && generation.load() != front.generation;
        if (!cancelled)
          publish(front.job.claim, front.job.index, r);
        lock.lock();
        if (r.ec || !r.complete || front.job.index + 1 == block_count) {
          // Failed, short, or at the file's end: nothing more to read from this stream.
          drop_stream();
        } else {
          in_flight.pop_front();
        }
        continue;
      }
      if (!w.queue.empty() && w.queue.front().cached) {
        Job job = std::move(w.queue.front());
        w.queue.pop_front();
        lock.unlock();
        // get() promotes a disk block to memory; the reader then finds it there.
        auto data = blocks.get(key(job.index), BlockCache::Access::ahead);
        const bool found = data != nullptr;
        if (found)
          job.claim.finish(FetchResult::fetched(std::move(data)));
        lock.lock();
        if (!found && generation == seen) {
          job.cached = false;  // evicted meanwhile: fetch it after all
          w.queue.push_front(std::move(job));
        }
      }
    }
    drop_stream();
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
      auto joined = fetches->join_or_claim(key(i));
      // Looked up after claiming: a fetch that finished just before is in the cache by then.
      if (!joined.claim || blocks.contains(key(i)))
        break;
      jobs.push_back({i, std::move(joined.claim)});
    }
    std::deque<QueuedBlock> queued;      // all of the run's blocks on the wire at once
    std::unique_ptr<ByteStream> stream;  // destroyed before the buffers it receives into
    if (auto ec = source.open(path, first * block_size, stream)) {
      for (auto& job : jobs)
        job.claim.finish(FetchResult::failed(ec));
      return ec;
    }
    for (auto& job : jobs)
      queued.emplace_back(blocks, *stream, job.index, length_of(job.index), job.index + 1 == block_count);
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      BlockRead r = queued[k].collect(*stream);
      publish(jobs[k].claim, jobs[k].index, r);
      if (r.ec)
        return r.ec;
      got[jobs[k].index] = r.data;
      if (!r.complete)
        break;  // the rest are abandoned; the reader stops at this short block
    }
    return {};
  }

  // Sets `waited` when the block was not at hand (someone was fetching it, or this read had to).
  // Blocks from `counted_from` on count as this reader's use of them (BlockCache::release).
  std::error_code obtain(std::uint64_t index, std::uint64_t last, std::uint64_t counted_from,
                         std::map<std::uint64_t, BlockData>& got, bool& waited) {
    const auto access = index >= counted_from ? BlockCache::Access::use : BlockCache::Access::ahead;
    while (true) {
      if (auto it = got.find(index); it != got.end())
        return {};
      if (auto data = blocks.get(key(index), access)) {
        got[index] = std::move(data);
        return {};
      }
      auto joined = fetches->join_or_claim(key(index));
      if (joined.fetch) {
        waited = true;
        FetchResult r = FetchTable::wait(joined.fetch);
        if (r.abandoned)
          continue;
        if (r.ec)
          return r.ec;
        got[index] = std::move(r.data);
        if (index >= counted_from)
          blocks.count_use(key(index));
        return {};
      }
      // It may have landed between the lookup and the claim.
      if (auto data = blocks.get(key(index), access)) {
        joined.claim.finish(FetchResult::fetched(data));
        got[index] = std::move(data);
        return {};
      }
      waited = true;
      const std::error_code ec = fetch_run(std::move(joined.claim), index, last, got);
      for (std::uint64_t i = std::max(index, counted_from); i <= last; ++i) {
        if (got.contains(i))
          blocks.count_use(key(i));
      }
      return ec;
    }
  }

  std::error_code read(std::uint64_t offset, std::size_t length, std::vector<BlockSlice>& out) {
    out.clear();
    if (length == 0 || offset >= version.size)
      return {};
    const std::uint64_t end = std::min<std::uint64_t>(offset + length, version.size);
    const std::uint64_t b0 = offset / block_size;
    const std::uint64_t b1 = (end - 1) / block_size;
    // A block larger than the kernel's requests is read by several of them: it counts as one use
    // by this reader, or a block only this reader read would never leave the memory tier.
    std::uint64_t counted_from = b0;
    {
      std::lock_guard lock(mutex);
      on_read_locked(offset, end, b0, b1);
      counted_from = std::max(b0, counted_to);
      counted_to = std::max(counted_to, b1 + 1);
    }
    std::map<std::uint64_t, BlockData> got;
    bool waited = false;
    const auto note_stall = [&] {
      if (waited) {
        std::lock_guard lock(mutex);
        stalled = true;
      }
    };
    for (std::uint64_t i = b0; i <= b1; ++i) {
      if (auto ec = obtain(i, b1, counted_from, got, waited)) {
        note_stall();
        return ec;
      }
      BlockData& data = got[i];
      const std::uint64_t block_start = i * block_size;
      const std::uint64_t from = std::max(offset, block_start);
      const std::uint64_t to = std::min<std::uint64_t>(end, block_start + data->size());
      const bool short_block = data->size() < length_of(i);
      if (to > from) {
        out.push_back({std::move(data), static_cast<std::size_t>(from - block_start),
                       static_cast<std::size_t>(to - from)});
      }
      if (short_block)
        break;  // the file ended early on the server
    }
    note_stall();
    if (end == version.size)
      release_finished_run();  // `out` keeps the blocks of this read alive
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
  std::uint64_t last_end = 0;      // where the furthest read of the current run ended
  std::uint64_t run_start = 0;     // where the current sequential run began
  std::uint64_t window = 0;        // readahead in blocks; 0 while not sequential
  bool stalled = false;            // a read since the window last changed had to wait for its blocks
  std::uint64_t frontier = 0;      // readahead is queued up to this block
  std::uint64_t release_from = 0;  // the first block of the run not yet released
  std::uint64_t counted_to = 0;    // blocks of the run before this one counted a use by this reader
  std::vector<std::unique_ptr<Worker>> workers;
};

FileReader::FileReader(BlockCache& blocks, BlockSource& source, std::shared_ptr<FetchTable> fetches,
                       std::string path, FileVersion version, ReadaheadConfig config)
    : impl_(std::make_unique<Impl>(blocks, source, std::move(fetches), std::move(path), version, config)) {}

FileReader::~FileReader() = default;

std::error_code FileReader::read(std::uint64_t offset, std::size_t length, std::vector<BlockSlice>& out) {
  return impl_->read(offset, length, out);
}

std::error_code FileReader::read(std::uint64_t offset, std::span<char> buf, std::size_t& n) {
  std::vector<BlockSlice> slices;
  n = 0;
  if (auto ec = impl_->read(offset, buf.size(), slices))
    return ec;
  n = copy_slices(slices, buf);
  return {};
}

}  // namespace cache
