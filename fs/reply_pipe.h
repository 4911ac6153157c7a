#pragma once
// Hands the data of a read reply to libfuse through a pipe (read_buf with a FUSE_BUF_IS_FD buffer),
// so that the bytes go from the cache's blocks to the kernel in kernel copies only: a write() into
// the pipe, then a splice into /dev/fuse (or libfuse's read() and writev() where splicing is off).
//
// The alternative, libfuse's read op, has us memcpy the blocks into its buffer. Besides being a copy
// more, that is the first user-space read of memory the kernel filled (recv, O_DIRECT reads); on
// virtual machines with shadow page tables each such first touch traps to the hypervisor, which
// made that memcpy run at 650 MB/s here, a fifth of a cold read's CPU time.
//
// One pipe per FUSE worker thread: libfuse answers a request on the thread that took it and empties
// the pipe before that thread takes its next request (libfuse keeps its own splice pipe per thread
// for the same reason).

#include <cstddef>
#include <vector>

#include "cache/block_cache.h"

namespace fs {

class ReplyPipe {
 public:
  // The calling thread's pipe, made on first use; null when no pipe can be had (the caller copies).
  static ReplyPipe* for_this_thread();

  ReplyPipe() = default;
  ~ReplyPipe();
  ReplyPipe(const ReplyPipe&) = delete;
  ReplyPipe& operator=(const ReplyPipe&) = delete;

  // Puts exactly `total` bytes of slices into the pipe, which must be empty of earlier replies;
  // false when it cannot (a pipe too small for total, an error), leaving the pipe empty.
  bool fill(const std::vector<cache::BlockSlice>& slices, std::size_t total);
  int read_end() const { return fds_[0]; }

 private:
  bool open_pipe();
  void close_pipe();

  int fds_[2] = {-1, -1};
  std::size_t capacity_ = 0;
};

}  // namespace fs
