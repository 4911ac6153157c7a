#pragma once
// Receiving blocks from a stream positioned at the first one's start, with the next blocks already
// queued on the stream while one is handed on. Shared by a file's readahead (FileReader) and by the
// prefetch of whole small files (FilePrefetcher).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>

#include "cache/block_cache.h"
#include "cache/block_source.h"

namespace cache {

struct BlockRead {
  std::error_code ec;
  std::shared_ptr<BlockBytes> data;
  bool complete = false;  // all `length` bytes arrived
};

// One block queued on a stream. Its address must not change until it is collected (a deque or a
// heap allocation keeps it in place).
class QueuedBlock {
 public:
  // Queues a buffer of `length` bytes on the stream. For the file's last block (`last`) a one-byte
  // probe follows, which sees the data's end: the transfer then completes with the server's 226
  // instead of an ABOR when the stream is dropped. A `quiet` block's arrival alone does not wake a
  // collect() waiting for it (ByteStream::queue_quiet).
  QueuedBlock(BlockCache& blocks, ByteStream& stream, std::uint64_t index, std::size_t length, bool last,
              bool quiet = false)
      : index_(index), length_(length), last_(last), data_(blocks.new_block(length)) {
    if (quiet && !last)
      stream.queue_quiet({data_->data(), length_});
    else
      stream.queue({data_->data(), length_});
    if (last_)
      stream.queue({probe_, sizeof probe_});
  }
  QueuedBlock(const QueuedBlock&) = delete;
  QueuedBlock& operator=(const QueuedBlock&) = delete;

  std::uint64_t index() const { return index_; }

  // Waits for the block; a short one means the server's file ended early.
  BlockRead collect(ByteStream& stream) {
    BlockRead r;
    std::size_t n = 0;
    r.ec = stream.next(n);
    if (r.ec)
      return r;
    data_->resize(n);
    r.complete = n == length_;
    if (last_) {
      std::size_t ignored = 0;
      // A failure or extra bytes here only mean the transfer is aborted as before.
      (void)stream.next(ignored);
    }
    r.data = std::move(data_);
    return r;
  }

 private:
  std::uint64_t index_;
  std::size_t length_;
  bool last_;
  std::shared_ptr<BlockBytes> data_;
  char probe_[1] = {};
};

// One block, queued and collected.
inline BlockRead read_block(BlockCache& blocks, ByteStream& stream, std::size_t length, bool last) {
  QueuedBlock block(blocks, stream, 0, length, last);
  return block.collect(stream);
}

}  // namespace cache
