#include "cache/block_buffers.h"

namespace cache {

BlockBuffers::BlockBuffers(std::size_t max_free_bytes, std::size_t headroom, BlockBytes::Pages pages)
    : headroom_(headroom), pages_(pages), free_(std::make_shared<FreeList>()) {
  free_->max_bytes = max_free_bytes;
}

std::shared_ptr<BlockBytes> BlockBuffers::make(std::size_t length) {
  std::unique_ptr<BlockBytes> buffer;
  {
    std::lock_guard lock(free_->mutex);
    // A small block (a small file, a file's last block) in a large recycled buffer would hold far
    // more memory than the cache's budget counts: such blocks get buffers of their own size.
    auto& list = free_->buffers;
    if (!list.empty() && length <= list.back()->capacity() && length >= list.back()->capacity() / 2) {
      buffer = std::move(list.back());
      list.pop_back();
      free_->bytes -= buffer->footprint();
    }
  }
  if (buffer)
    buffer->resize(length);
  else
    buffer = std::make_unique<BlockBytes>(length, headroom_, pages_);
  return std::shared_ptr<BlockBytes>(buffer.release(), [free = free_](BlockBytes* released) {
    std::unique_ptr<BlockBytes> owned(released);
    std::lock_guard lock(free->mutex);
    if (free->bytes + owned->footprint() <= free->max_bytes) {
      free->bytes += owned->footprint();
      free->buffers.push_back(std::move(owned));
    }
  });
}

std::size_t BlockBuffers::free_bytes() const {
  std::lock_guard lock(free_->mutex);
  return free_->bytes;
}

}  // namespace cache
