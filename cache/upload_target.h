#pragma once
// Where staged file data goes when it is flushed. fs/ implements this on top of the FTP client
// (STOR/APPE, SIZE); tests use an in-memory target, so write staging never includes Asio.
// Errors are opaque std::error_codes that the stage passes through to fs/ (which maps, say, a 552
// to ENOSPC).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

namespace cache {

// One upload in progress (one STOR or APPE). Destroying it without a successful finish() aborts the
// transfer; the remote file may then hold part of the data, which is why the stage verifies sizes.
class UploadStream {
 public:
  virtual ~UploadStream() = default;
  virtual std::error_code write(std::span<const char> data) = 0;
  // Ends the transfer and waits for the server's verdict (226/250, or 451/552/...).
  virtual std::error_code finish() = 0;
};

class UploadTarget {
 public:
  virtual ~UploadTarget() = default;
  // append == false replaces the remote file (STOR), append == true adds to its end (APPE).
  virtual std::error_code open(const std::string& path, bool append, std::unique_ptr<UploadStream>& out) = 0;
  // The size the server now reports for path (SIZE, or a listing), used to verify an upload.
  virtual std::error_code remote_size(const std::string& path, std::uint64_t& size) = 0;
};

}  // namespace cache
