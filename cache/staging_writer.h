#pragma once
// Writes staged bytes into staging files on a thread of its own. The stage writes whole pages with
// O_DIRECT (cache/write_stage.h), and an O_DIRECT write waits for the disk: done in the writer's own
// write() it took half the time of copying a file into the mount. Here the writer goes on while the
// disk works; the stage waits for its writes only before it reads its file back, changes it other
// than by appending, or is destroyed.
//
// The queue is bounded. When it is full the disk is slower than the upload, and a writer that waited
// for it would upload at the disk's speed although the staging copy is only needed if the upload
// fails. The stage then writes through the page cache itself (one copy more, no wait for the disk);
// a staging file removed after a good upload never reaches the disk at all.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "cache/block_bytes.h"

namespace cache {

// The writes of one staging file that the writer still has, and the first that failed.
class StagedWrites {
 public:
  void begin();
  void end(std::error_code ec);
  // Waits until none is outstanding; returns the first failure of any of them (it stays).
  std::error_code wait();
  // The first failure so far, without waiting.
  std::error_code failed();

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t outstanding_ = 0;
  std::error_code error_;
};

class StagingWriter {
 public:
  // Queued bytes are bounded by max_queued_bytes: past it, write() refuses. With nothing queued one
  // write of any size is taken, unless max_queued_bytes is 0 (every write refused, as by a disk that
  // never keeps up).
  explicit StagingWriter(std::size_t max_queued_bytes);
  ~StagingWriter();  // finishes what is queued
  StagingWriter(const StagingWriter&) = delete;
  StagingWriter& operator=(const StagingWriter&) = delete;

  // Writes the first `length` bytes of data at offset of fd (which must stay open until `writes`
  // says they are done). An O_DIRECT descriptor that refuses a write (EINVAL) is written through
  // `fallback_fd`, the same file without O_DIRECT. Returns false, taking nothing, when the queue is
  // full: the caller writes the bytes itself.
  [[nodiscard]] bool write(std::shared_ptr<StagedWrites> writes, int fd, int fallback_fd,
                           std::uint64_t offset, std::shared_ptr<const BlockBytes> data, std::size_t length);

 private:
  struct Job {
    std::shared_ptr<StagedWrites> writes;
    int fd = -1;
    int fallback_fd = -1;
    std::uint64_t offset = 0;
    std::shared_ptr<const BlockBytes> data;
    std::size_t length = 0;
  };
  void run();

  const std::size_t max_queued_bytes_;
  std::mutex mutex_;
  std::condition_variable work_;
  std::deque<Job> jobs_;
  std::size_t queued_bytes_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // started with the first write
};

}  // namespace cache
