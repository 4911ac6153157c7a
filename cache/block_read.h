#pragma once
// Reading one block's bytes from a stream positioned at the block's start. Shared by a file's
// readahead (FileReader) and by the prefetch of whole small files (FilePrefetcher).

#include <cstddef>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

#include "cache/block_cache.h"
#include "cache/block_source.h"

namespace cache {

struct BlockRead {
  std::error_code ec;
  std::shared_ptr<std::vector<char>> data;
  bool complete = false;  // all `length` bytes arrived
  bool canceled = false;
};

// `canceled` is polled between reads so a reader that seeks away or closes does not wait for a
// whole block. For the file's last block (`last`) the stream is read once more to see its end: the
// transfer then completes with the server's 226 instead of an ABOR when the stream is dropped.
template <typename Canceled>
BlockRead read_block(BlockCache& blocks, ByteStream& stream, std::size_t length, bool last,
                     Canceled canceled) {
  BlockRead r;
  r.data = blocks.new_block(length);
  std::size_t filled = 0;
  while (filled < length) {
    if (canceled()) {
      r.canceled = true;
      return r;
    }
    std::size_t n = 0;
    r.ec = stream.read(std::span<char>(r.data->data() + filled, length - filled), n);
    if (r.ec)
      return r;
    if (n == 0)
      break;  // the server's file is shorter than the version we expected
    filled += n;
  }
  r.data->resize(filled);
  r.complete = filled == length;
  if (r.complete && last) {
    char probe[1];
    std::size_t n = 0;
    // A failure or extra bytes here only mean the transfer is aborted as before.
    (void)stream.read(std::span<char>(probe, sizeof probe), n);
  }
  return r;
}

}  // namespace cache
