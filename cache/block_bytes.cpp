#include "cache/block_bytes.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace cache {
namespace {

// `length` bytes (a multiple of kHugePage) at a huge-page boundary, marked for huge pages; null
// when no memory can be mapped. mmap aligns to small pages only: map a huge page more, then give
// back the ends.
char* map_huge(std::size_t length) {
  const std::size_t over = length + BlockBytes::kHugePage;
  void* mapped = ::mmap(nullptr, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED)
    return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(mapped);
  const auto aligned = (start + BlockBytes::kHugePage - 1) / BlockBytes::kHugePage * BlockBytes::kHugePage;
  if (aligned > start)
    ::munmap(mapped, aligned - start);
  if (const auto end = start + over; end > aligned + length)
    ::munmap(reinterpret_cast<void*>(aligned + length), end - (aligned + length));
  // Refused (a kernel without transparent huge pages): the memory works in small pages all the same.
  (void)::madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
  return reinterpret_cast<char*>(aligned);
}

}  // namespace

BlockBytes::BlockBytes(std::size_t capacity, std::size_t headroom, Pages pages)
    : size_(capacity),
      capacity_((capacity + kAlignment - 1) / kAlignment * kAlignment),
      headroom_((headroom + kAlignment - 1) / kAlignment * kAlignment),
      huge_(pages == Pages::huge) {
  if (capacity_ == 0)
    capacity_ = kAlignment;
  if (huge_) {
    mapped_ = (headroom_ + capacity_ + kHugePage - 1) / kHugePage * kHugePage;
    allocation_ = map_huge(mapped_);
  } else {
    mapped_ = headroom_ + capacity_;
    allocation_ = static_cast<char*>(std::aligned_alloc(kAlignment, mapped_));
  }
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
  if (huge_)
    ::munmap(allocation_, mapped_);
  else
    std::free(allocation_);
}

void BlockBytes::resize(std::size_t size) {
  if (size > capacity_)
    throw std::length_error("BlockBytes::resize beyond capacity");
  size_ = size;
  zero_padding();
}

}  // namespace cache
