#pragma once
// The bytes of one cache block. Page-aligned, so that the disk tier can move them with O_DIRECT (no
// copy through the page cache) and the kernel copies whole pages; allocated without zeroing, since
// the network or the disk overwrites every byte. The capacity is fixed at allocation; the size may
// be anything up to it (a file's last block, a block cut short by a file that shrank).

#include <cstddef>
#include <span>

namespace cache {

class BlockBytes {
 public:
  static constexpr std::size_t kAlignment = 4096;
  static constexpr std::size_t kHugePage = 2u << 20;

  // How the memory is mapped. `huge` asks the kernel for transparent huge pages (MADV_HUGEPAGE) and
  // takes whole 2 MiB pages, headroom included, however little of them the block needs: for buffers
  // the kernel walks page by page (fs/session_loop.h), where the saving outweighs the memory.
  enum class Pages { normal, huge };

  // Room for `capacity` bytes (rounded up to kAlignment); size() starts at `capacity`, with
  // unspecified content. `headroom` more bytes (rounded up to kAlignment) come right before data():
  // they are not part of the block, but a writer may put a header there that must precede the bytes
  // (the FUSE request headers in front of a write's data, fs/session_loop.h). Throws std::bad_alloc.
  explicit BlockBytes(std::size_t capacity, std::size_t headroom = 0, Pages pages = Pages::normal);
  ~BlockBytes();
  BlockBytes(const BlockBytes&) = delete;
  BlockBytes& operator=(const BlockBytes&) = delete;

  char* data() noexcept { return data_; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t headroom() const noexcept { return headroom_; }
  // The memory the block takes: headroom and capacity, or whole huge pages.
  std::size_t footprint() const noexcept { return mapped_; }
  // Up to capacity(); bytes that become part of the block are unspecified until written. The rest
  // of the page after the last byte reads as zeros (the disk tier writes whole pages).
  void resize(std::size_t size);

  char* begin() noexcept { return data_; }
  char* end() noexcept { return data_ + size_; }
  const char* begin() const noexcept { return data_; }
  const char* end() const noexcept { return data_ + size_; }
  std::span<const char> bytes() const noexcept { return {data_, size_}; }

 private:
  void zero_padding() noexcept;

  char* allocation_ = nullptr;
  char* data_ = nullptr;  // allocation_ + headroom_
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::size_t headroom_ = 0;
  std::size_t mapped_ = 0;
  bool huge_ = false;
};

}  // namespace cache
