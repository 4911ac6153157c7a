#include "cache/block_bytes.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace cache {

BlockBytes::BlockBytes(std::size_t capacity, std::size_t headroom)
    : size_(capacity),
      capacity_((capacity + kAlignment - 1) / kAlignment * kAlignment),
      headroom_((headroom + kAlignment - 1) / kAlignment * kAlignment) {
  if (capacity_ == 0)
    capacity_ = kAlignment;
  allocation_ = static_cast<char*>(std::aligned_alloc(kAlignment, headroom_ + capacity_));
  if (allocation_ == nullptr)
    throw std::bad_alloc();
  data_ = allocation_ + headroom_;
  zero_padding();
}

void BlockBytes::zero_padding() noexcept {
  // Only the rest of the last page: whole pages are the caller's to fill.
  const std::size_t padded = (size_ + kAlignment - 1) / kAlignment * kAlignment;
  std::memset(data_ + size_, 0, std::min(padded, capacity_) - size_);
}

BlockBytes::~BlockBytes() {
  std::free(allocation_);
}

void BlockBytes::resize(std::size_t size) {
  if (size > capacity_)
    throw std::length_error("BlockBytes::resize beyond capacity");
  size_ = size;
  zero_padding();
}

}  // namespace cache
