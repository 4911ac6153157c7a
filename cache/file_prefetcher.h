#pragma once
// Fetches whole small files into the block cache ahead of a program that reads a directory's files
// one after another (cp -r, tar, rsync, grep -r). Such a program reads one file at a time, and each
// file costs it a few round trips to the server; fetched here in parallel on sessions nobody else
// is using, the files are in the cache by the time it opens them. Which files to fetch is the
// caller's choice (fs/DirectoryScan); this class only fetches.
//
// Prefetch never takes the last free session (BlockSource::fetch_whole_if_spare), never fetches a
// block that is cached or already being fetched, and shares its fetches with readers through the
// FetchTable: a reader that opens a file being prefetched waits for that one transfer. The fetches
// run on the source's own thread (the FTP client's I/O thread), each a single trip from the
// session to the cache, with no thread of this class in between.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
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
  // How long a fetch waits for a session to become spare before the queue is dropped (readers and
  // writers need every session then; they fetch for themselves).
  std::chrono::milliseconds spare_patience{500};
};

struct PrefetchStats {
  std::uint64_t files_fetched = 0;
  std::uint64_t files_skipped = 0;  // cached, being fetched by a reader, gone from the server, or no
                                    // session to spare
};

class FilePrefetcher {
 public:
  FilePrefetcher(BlockCache& blocks, BlockSource& source, std::shared_ptr<FetchTable> fetches,
                 PrefetchConfig config = {});
  ~FilePrefetcher();  // drops the queue, cancels the transfers in progress and waits for them
  FilePrefetcher(const FilePrefetcher&) = delete;
  FilePrefetcher& operator=(const FilePrefetcher&) = delete;

  // Queues files after those already queued.
  void add(std::vector<PrefetchFile> files);
  // Waits until nothing is queued or being fetched, at most `limit`; true if idle (for tests).
  bool wait_idle(std::chrono::milliseconds limit);
  PrefetchStats stats() const;

 private:
  struct Job;
  // Starts queued files while fewer than config_.streams are in flight.
  void start_more();
  void finish(const std::shared_ptr<Job>& job, std::error_code ec, std::size_t bytes);

  BlockCache& blocks_;
  BlockSource& source_;
  const std::shared_ptr<FetchTable> fetches_;
  const PrefetchConfig config_;

  mutable std::mutex mutex_;
  std::condition_variable idle_cv_;
  std::deque<PrefetchFile> queue_;
  std::unordered_set<std::shared_ptr<Job>> in_flight_;
  unsigned completing_ = 0;  // finish() calls still running
  bool stopping_ = false;
  PrefetchStats stats_;
};

}  // namespace cache
