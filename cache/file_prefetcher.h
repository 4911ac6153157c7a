#pragma once
// Fetches whole small files into the block cache ahead of a program that reads a directory's files
// one after another (cp -r, tar, rsync, grep -r). Such a program reads one file at a time, and each
// file costs it a few round trips to the server; fetched here in parallel on sessions nobody else
// is using, the files are in the cache by the time it opens them. Which files to fetch is the
// caller's choice (fs/DirectoryScan); this class only fetches.
//
// Prefetch never takes the last free session (BlockSource::open_if_spare), never fetches a block
// that is cached or already being fetched, and shares its fetches with readers through the
// FetchTable: a reader that opens a file being prefetched waits for that one transfer.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cache/block_cache.h"
#include "cache/block_source.h"
#include "cache/fetch_table.h"
#include "cache/file_attributes.h"

namespace cache {

struct PrefetchFile {
  std::string path;
  FileVersion version;
};

struct PrefetchConfig {
  unsigned streams = 2;  // files fetched at once at most
  // How long a stream waits before asking again for a session when none was spare.
  std::chrono::milliseconds spare_retry{5};
};

struct PrefetchStats {
  std::uint64_t files_fetched = 0;
  std::uint64_t files_skipped = 0;  // cached, being fetched by a reader, or gone from the server
};

class FilePrefetcher {
 public:
  FilePrefetcher(BlockCache& blocks, BlockSource& source, std::shared_ptr<FetchTable> fetches,
                 PrefetchConfig config = {});
  ~FilePrefetcher();  // drops the queue, ends the transfers in progress
  FilePrefetcher(const FilePrefetcher&) = delete;
  FilePrefetcher& operator=(const FilePrefetcher&) = delete;

  // Queues files after those already queued.
  void add(std::vector<PrefetchFile> files);
  // Waits until nothing is queued or being fetched, at most `limit`; true if idle (for tests).
  bool wait_idle(std::chrono::milliseconds limit);
  PrefetchStats stats() const;

 private:
  void run_stream();
  // Fetches every block of the file on one stream; false when no session was spare.
  bool fetch(const PrefetchFile& file);

  BlockCache& blocks_;
  BlockSource& source_;
  const std::shared_ptr<FetchTable> fetches_;
  const PrefetchConfig config_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<PrefetchFile> queue_;
  unsigned busy_ = 0;  // streams fetching a file right now
  bool stopping_ = false;
  PrefetchStats stats_;
  std::vector<ByteStream*> active_;   // streams being read, cancelled when stopping
  std::vector<std::thread> threads_;  // started with the first add()
};

}  // namespace cache
