#pragma once
// Recycled memory for cache blocks. Memory new to the process costs a page fault per page and the
// kernel's zeroing of it before the network data overwrites it: in a cold sequential read that was
// a sixth of the CPU time, and far more on virtual machines where each fault also exits to the
// hypervisor. Freed blocks go back to a free list bounded in bytes instead, and are handed out again.

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "cache/block_bytes.h"

namespace cache {

class BlockBuffers {
 public:
  // Keeps at most max_free_bytes of unused buffers (counted as the memory they take). Every buffer
  // has `headroom` bytes before its data and is mapped in `pages` (BlockBytes).
  explicit BlockBuffers(std::size_t max_free_bytes, std::size_t headroom = 0,
                        BlockBytes::Pages pages = BlockBytes::Pages::normal);

  // A buffer of `length` bytes. Its content is unspecified (a recycled buffer keeps old bytes):
  // callers overwrite it. When the last reference goes, the buffer returns to the free list.
  std::shared_ptr<BlockBytes> make(std::size_t length);

  // Bytes of unused buffers kept right now.
  std::size_t free_bytes() const;

 private:
  struct FreeList {
    mutable std::mutex mutex;
    std::vector<std::unique_ptr<BlockBytes>> buffers;
    std::size_t bytes = 0;
    std::size_t max_bytes = 0;
  };
  std::size_t headroom_ = 0;
  BlockBytes::Pages pages_ = BlockBytes::Pages::normal;
  // Shared with every buffer's deleter, so buffers may outlive this object.
  std::shared_ptr<FreeList> free_;
};

}  // namespace cache
