#pragma once
// Reads one open file through the block cache. A sequential reader is served by one streaming
// source (REST+RETR) whose readahead window grows while reads stay sequential and resets on a seek
// (the mountpoint-s3 prefetcher model); a random read fetches only the missing blocks; readers of
// the same block share one fetch (FetchTable); large sequential reads may run several streams at
// different offsets at once.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "cache/block_cache.h"
#include "cache/block_source.h"

namespace cache {

struct ReadaheadConfig {
  std::size_t max_window = 64u << 20;  // bytes read ahead of a sequential reader at most
  unsigned parallel_streams = 2;       // streams at different offsets for one sequential reader
  // A readahead range is split among the parallel streams only when each part gets at least this
  // much, so that an extra RETR is worth its setup.
  std::size_t parallel_segment = 8u << 20;
  // A stream with nothing queued is kept this long for a reader that comes back, then closed; it
  // is closed at once when BlockSource::contended() says someone else waits for one.
  std::chrono::milliseconds idle_stream_close{1000};
};

// Blocks being fetched right now, shared by all readers so that two readers of the same block
// wait for one fetch.
class FetchTable;

class FileReader {
 public:
  FileReader(BlockCache& blocks, BlockSource& source, std::shared_ptr<FetchTable> fetches, std::string path,
             FileVersion version, ReadaheadConfig config);
  ~FileReader();  // stops readahead and closes streams
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // The bytes of [offset, offset + length) as pieces of cached blocks, in order, without copying
  // them: a reply to the kernel hands them over as they are. Fewer than `length` bytes only at the
  // end of the file (version.size).
  std::error_code read(std::uint64_t offset, std::size_t length, std::vector<BlockSlice>& out);
  // The same bytes copied into buf; n < buf.size() only at the end of the file.
  std::error_code read(std::uint64_t offset, std::span<char> buf, std::size_t& n);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::shared_ptr<FetchTable> make_fetch_table();

}  // namespace cache
