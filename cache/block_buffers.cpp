#include "cache/block_buffers.h"

namespace cache {

BlockBuffers::BlockBuffers(std::size_t max_free) : free_(std::make_shared<FreeList>()) {
  free_->max_free = max_free;
}

std::shared_ptr<std::vector<char>> BlockBuffers::make(std::size_t length) {
  std::unique_ptr<std::vector<char>> buffer;
  {
    std::lock_guard lock(free_->mutex);
    // A small block (a small file, a file's last block) in a large recycled buffer would hold far
    // more memory than the cache's budget counts: such blocks get buffers of their own size.
    if (!free_->buffers.empty() && length <= free_->buffers.back()->capacity() &&
        length >= free_->buffers.back()->capacity() / 2) {
      buffer = std::move(free_->buffers.back());
      free_->buffers.pop_back();
    }
  }
  if (!buffer)
    buffer = std::make_unique<std::vector<char>>();
  // Only bytes beyond the buffer's previous size are zeroed; blocks mostly have one size.
  buffer->resize(length);
  return std::shared_ptr<std::vector<char>>(buffer.release(), [free = free_](std::vector<char>* released) {
    std::unique_ptr<std::vector<char>> owned(released);
    std::lock_guard lock(free->mutex);
    if (free->buffers.size() < free->max_free)
      free->buffers.push_back(std::move(owned));
  });
}

}  // namespace cache
