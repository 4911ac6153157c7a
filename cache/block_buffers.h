#pragma once
// Recycled memory for cache blocks. A fresh block-sized allocation per block means page faults
// and zeroing of every byte before the network data overwrites it: in a cold sequential read that
// was a sixth of the CPU time. Freed blocks go back to a bounded free list instead.

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace cache {

class BlockBuffers {
 public:
  // Keeps at most max_free unused buffers.
  explicit BlockBuffers(std::size_t max_free);

  // A buffer of `length` bytes. Its content is unspecified (a recycled buffer keeps old bytes):
  // callers overwrite it. When the last reference goes, the buffer returns to the free list.
  std::shared_ptr<std::vector<char>> make(std::size_t length);

 private:
  struct FreeList {
    std::mutex mutex;
    std::vector<std::unique_ptr<std::vector<char>>> buffers;
    std::size_t max_free = 0;
  };
  // Shared with every buffer's deleter, so buffers may outlive this object.
  std::shared_ptr<FreeList> free_;
};

}  // namespace cache
