#pragma once
// Where file data comes from on a cache miss. fs/ implements this on top of the FTP client; tests
// use an in-memory source. Errors are opaque std::error_codes that the cache passes through.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace cache {

// A forward-only stream of a file's bytes from some offset (one REST+RETR on FTP), read through
// buffers handed over ahead of time: queue() gives it a buffer to fill with its next bytes, next()
// waits for the oldest queued buffer. A stream on a network connection receives into the queued
// buffers while the caller handles earlier ones, so a caller that keeps a few queued never lets the
// transfer pause between blocks.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // The buffer must stay valid until next() returned it, or until the stream is destroyed.
  virtual void queue(std::span<char> buf) = 0;
  // Like queue(), but filling this buffer need not wake a next() that waits for it: the fill of a
  // later buffer queued with queue(), or of the last one queued, the end and an error do.
  virtual void queue_quiet(std::span<char> buf) { queue(buf); }
  // The oldest queued buffer's byte count: its size, or less at the verified end of the data (0 for
  // a buffer queued after the end).
  virtual std::error_code next(std::size_t& n) = 0;
  // Makes a waiting next(), and every later one, fail at once (a reader seeked away or closed).
  // Callable from any thread.
  virtual void cancel() = 0;
};

class BlockSource {
 public:
  virtual ~BlockSource() = default;
  virtual std::error_code open(const std::string& path, std::uint64_t offset,
                               std::unique_ptr<ByteStream>& out) = 0;
  // Like open(), for work nobody waits for yet (prefetch): succeeds only when a stream can be had
  // without taking the last one free, and otherwise fails at once with
  // std::errc::resource_unavailable_try_again instead of waiting. A source without shared streams
  // simply opens.
  virtual std::error_code open_if_spare(const std::string& path, std::uint64_t offset,
                                        std::unique_ptr<ByteStream>& out) {
    return open(path, offset, out);
  }
  // True while another caller waits for a stream (on FTP: for a pooled session). A reader that
  // holds an idle stream gives it back then, so that idle readahead never starves other readers.
  virtual bool contended() const { return false; }

  // A whole-file fetch running in the background.
  class WholeFetch {
   public:
    virtual ~WholeFetch() = default;
    // Ends the wait for a stream or the transfer soon; the completion still comes, once.
    virtual void cancel() = 0;
  };
  // Reads a whole small file into `buffers`, in order, in the background, on a stream that does not
  // take the last one free (the rule of open_if_spare), waiting up to `patience` for one. done gets
  // the bytes received (fewer than the buffers hold when the file ended early) or the error,
  // std::errc::resource_unavailable_try_again when no stream was spare in time. done runs once, on
  // the source's thread or the caller's (before this returns), and must not block; the buffers must
  // stay valid until then. The result may be null when there is nothing left to cancel.
  virtual std::shared_ptr<WholeFetch> fetch_whole_if_spare(
      const std::string& path, std::vector<std::span<char>> buffers, std::chrono::milliseconds patience,
      std::function<void(std::error_code, std::size_t)> done) = 0;
};

}  // namespace cache
