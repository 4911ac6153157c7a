#pragma once
// Where file data comes from on a cache miss. fs/ implements this on top of the FTP client; tests
// use an in-memory source. Errors are opaque std::error_codes that the cache passes through.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

namespace cache {

// A forward-only stream of a file's bytes from some offset (one REST+RETR on FTP).
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Reads up to buf.size() bytes into buf; n == 0 with no error means a verified end of file.
  virtual std::error_code read(std::span<char> buf, std::size_t& n) = 0;
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
};

}  // namespace cache
